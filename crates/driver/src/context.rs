//! Driver configuration: Aeron's settings, defaults and environment variable names.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

pub use oxeron_client::default_aeron_dir;
use oxeron_client::env::{self, EnvError};
use oxeron_concurrent::idle::IdleStrategyKind;
pub use oxeron_protocol::uri::FlowControlStrategy;

use crate::loss::LossPolicy;

/// How the driver's agents (conductor, sender, receiver) are spread over threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThreadingMode {
    /// A thread each for the conductor, sender and receiver.
    #[default]
    Dedicated,
    /// The conductor on one thread, sender and receiver sharing another.
    SharedNetwork,
    /// All agents on one thread.
    Shared,
    /// No threads: the embedding application calls [`crate::MediaDriver::invoke`].
    Invoker,
}

/// A threading mode name Aeron does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown threading mode {0:?} (expected DEDICATED, SHARED_NETWORK, SHARED or INVOKER)")]
pub struct UnknownThreadingMode(pub String);

impl FromStr for ThreadingMode {
    type Err = UnknownThreadingMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "DEDICATED" => Ok(ThreadingMode::Dedicated),
            "SHARED_NETWORK" => Ok(ThreadingMode::SharedNetwork),
            "SHARED" => Ok(ThreadingMode::Shared),
            "INVOKER" => Ok(ThreadingMode::Invoker),
            _ => Err(UnknownThreadingMode(s.to_string())),
        }
    }
}

/// Media driver settings, with Aeron's defaults.
///
/// ```
/// use oxeron_driver::{Context, ThreadingMode};
///
/// let ctx = Context::new()
///     .aeron_dir("/dev/shm/my-app")
///     .threading_mode(ThreadingMode::Shared)
///     .dir_delete_on_start(true);
/// assert_eq!(ctx.ipc_term_buffer_length, 64 * 1024 * 1024);
/// ```
#[derive(Debug, Clone)]
pub struct Context {
    /// Aeron directory (`AERON_DIR`).
    pub aeron_dir: PathBuf,
    /// Delete an existing directory at start (`AERON_DIR_DELETE_ON_START`).
    pub dir_delete_on_start: bool,
    /// Delete the directory at shutdown (`AERON_DIR_DELETE_ON_SHUTDOWN`).
    pub dir_delete_on_shutdown: bool,
    /// Threading mode (`AERON_THREADING_MODE`).
    pub threading_mode: ThreadingMode,
    /// Conductor idle strategy (`AERON_CONDUCTOR_IDLE_STRATEGY`).
    pub conductor_idle_strategy: IdleStrategyKind,
    /// Sender idle strategy (`AERON_SENDER_IDLE_STRATEGY`).
    pub sender_idle_strategy: IdleStrategyKind,
    /// Receiver idle strategy (`AERON_RECEIVER_IDLE_STRATEGY`).
    pub receiver_idle_strategy: IdleStrategyKind,
    /// Idle strategy of the single thread in shared mode (`AERON_SHARED_IDLE_STRATEGY`).
    pub shared_idle_strategy: IdleStrategyKind,
    /// Idle strategy of the sender+receiver thread in shared-network mode (`AERON_SHAREDNETWORK_IDLE_STRATEGY`).
    pub shared_network_idle_strategy: IdleStrategyKind,
    /// Term length of network publications (`AERON_TERM_BUFFER_LENGTH`).
    pub term_buffer_length: i32,
    /// Term length of IPC publications (`AERON_IPC_TERM_BUFFER_LENGTH`).
    pub ipc_term_buffer_length: i32,
    /// Create log files sparse (`AERON_TERM_BUFFER_SPARSE_FILE`).
    pub term_buffer_sparse_file: bool,
    /// MTU of network publications (`AERON_MTU_LENGTH`).
    pub mtu_length: i32,
    /// MTU of IPC publications (`AERON_IPC_MTU_LENGTH`).
    pub ipc_mtu_length: i32,
    /// Window a network publication may run ahead of its slowest consumer; 0 means term length / 2
    /// (`AERON_PUBLICATION_TERM_WINDOW_LENGTH`).
    pub publication_term_window_length: i32,
    /// Window an IPC publication may run ahead of its slowest subscriber; 0 means term length / 2
    /// (`AERON_IPC_PUBLICATION_TERM_WINDOW_LENGTH`).
    pub ipc_publication_term_window_length: i32,
    /// How long a removed publication's log lingers (`AERON_PUBLICATION_LINGER_TIMEOUT`).
    pub publication_linger_timeout: Duration,
    /// A client without keepalives for this long is timed out (`AERON_CLIENT_LIVENESS_TIMEOUT`).
    pub client_liveness_timeout: Duration,
    /// Clients consider the driver dead after this long without a heartbeat (`AERON_DRIVER_TIMEOUT`).
    pub driver_timeout: Duration,
    /// An image without data for this long is removed (`AERON_IMAGE_LIVENESS_TIMEOUT`).
    pub image_liveness_timeout: Duration,
    /// A publication blocked by a stuck publisher for this long is unblocked
    /// (`AERON_PUBLICATION_UNBLOCK_TIMEOUT`).
    pub publication_unblock_timeout: Duration,
    /// Period of the conductor's timer checks (`AERON_TIMER_INTERVAL`).
    pub timer_interval: Duration,
    /// How long a freed counter id waits before reuse (`AERON_COUNTERS_FREE_TO_REUSE_TIMEOUT`).
    pub counter_free_to_reuse_timeout: Duration,
    /// To-driver ring buffer length including its trailer (`AERON_CONDUCTOR_BUFFER_LENGTH`).
    pub to_driver_buffer_length: usize,
    /// To-clients broadcast buffer length including its trailer (`AERON_CLIENTS_BUFFER_LENGTH`).
    pub to_clients_buffer_length: usize,
    /// Counters values section length (`AERON_COUNTERS_BUFFER_LENGTH`).
    pub counters_values_buffer_length: usize,
    /// Distinct error log length (`AERON_ERROR_BUFFER_LENGTH`).
    pub error_buffer_length: usize,
    /// Page size log and CnC files are aligned to (`AERON_FILE_PAGE_SIZE`).
    pub file_page_size: usize,
    /// Spy subscriptions count as connected receivers (`AERON_SPIES_SIMULATE_CONNECTION`).
    pub spies_simulate_connection: bool,
    /// Accept TERMINATE_DRIVER commands (`AERON_DRIVER_TERMINATION_VALIDATOR`: `allow` or `deny`, or Java's
    /// `io.aeron.driver.DefaultAllowTerminationValidator` / `DefaultDenyTerminationValidator`).
    pub allow_termination: bool,
    /// A network publication counts as connected while a receiver has sent a status message within this
    /// time (`AERON_PUBLICATION_CONNECTION_TIMEOUT`).
    pub publication_connection_timeout: Duration,
    /// Longest interval between an image's status messages (`AERON_RCV_STATUS_MESSAGE_TIMEOUT`).
    pub status_message_timeout: Duration,
    /// Delay before a unicast image NAKs a gap (`AERON_NAK_UNICAST_DELAY`).
    pub nak_unicast_delay: Duration,
    /// Group tag images send in status messages when the channel has no `gtag` (`AERON_RECEIVER_GROUP_TAG`).
    pub receiver_group_tag: Option<i64>,
    /// Flow control of multicast and MDC publications whose channel has no `fc`
    /// (`AERON_MULTICAST_FLOWCONTROL_SUPPLIER`: Aeron C's `aeron_max_multicast_flow_control_strategy_supplier`,
    /// `aeron_min_flow_control_strategy_supplier` or `aeron_tagged_flow_control_strategy_supplier`).
    pub multicast_flow_control: FlowControlStrategy,
    /// Group tag of tagged flow control when `fc=tagged` names none (`AERON_FLOW_CONTROL_GROUP_TAG`).
    pub flow_control_group_tag: i64,
    /// Receivers min and tagged flow control wait for when `fc` names no group size
    /// (`AERON_FLOW_CONTROL_GROUP_MIN_SIZE`).
    pub flow_control_group_min_size: i32,
    /// Print the configuration to stdout at launch (`AERON_PRINT_CONFIGURATION`).
    pub print_configuration: bool,
    /// Check for free space before creating a log (`AERON_PERFORM_STORAGE_CHECKS`). Oxeron reserves every
    /// non-sparse log with `fallocate`, which fails with "no space" instead of a later SIGBUS either way.
    pub perform_storage_checks: bool,
    /// `SO_RCVBUF` of UDP sockets, 0 for the OS default (`AERON_SOCKET_SO_RCVBUF`); `so-rcvbuf` overrides it.
    pub socket_rcvbuf: usize,
    /// `SO_SNDBUF` of UDP sockets, 0 for the OS default (`AERON_SOCKET_SO_SNDBUF`); `so-sndbuf` overrides it.
    pub socket_sndbuf: usize,
    /// Initial receiver window of images (`AERON_RCV_INITIAL_WINDOW_LENGTH`); `rcv-wnd` overrides it.
    pub initial_window_length: i32,
    /// Most datagrams a network publication sends per sender duty cycle
    /// (`AERON_NETWORK_PUBLICATION_MAX_MESSAGES_PER_SEND`). Aeron's default is 2; Oxeron's is 16, because
    /// the datagrams of one duty cycle leave in one GSO send, so a larger batch costs no more system calls.
    pub network_publication_max_messages_per_send: usize,
    /// Frames to drop on purpose, for loss tests. Only settable in code ([`Context::loss_policy`]); `None`
    /// (the default) drops nothing.
    pub loss_policy: Option<crate::loss::LossPolicy>,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            aeron_dir: default_aeron_dir(),
            dir_delete_on_start: false,
            dir_delete_on_shutdown: false,
            threading_mode: ThreadingMode::Dedicated,
            conductor_idle_strategy: IdleStrategyKind::Backoff,
            sender_idle_strategy: IdleStrategyKind::Backoff,
            receiver_idle_strategy: IdleStrategyKind::Backoff,
            shared_idle_strategy: IdleStrategyKind::Backoff,
            shared_network_idle_strategy: IdleStrategyKind::Backoff,
            term_buffer_length: 16 * 1024 * 1024,
            ipc_term_buffer_length: 64 * 1024 * 1024,
            term_buffer_sparse_file: false,
            mtu_length: 1408,
            ipc_mtu_length: 1408,
            publication_term_window_length: 0,
            ipc_publication_term_window_length: 0,
            publication_linger_timeout: Duration::from_secs(5),
            client_liveness_timeout: Duration::from_secs(10),
            driver_timeout: Duration::from_secs(10),
            image_liveness_timeout: Duration::from_secs(10),
            publication_unblock_timeout: Duration::from_secs(15),
            timer_interval: Duration::from_secs(1),
            counter_free_to_reuse_timeout: Duration::from_secs(1),
            to_driver_buffer_length: 1024 * 1024 + 768,
            to_clients_buffer_length: 1024 * 1024 + 128,
            counters_values_buffer_length: 8 * 1024 * 1024,
            error_buffer_length: 4 * 1024 * 1024,
            file_page_size: 4096,
            spies_simulate_connection: false,
            allow_termination: false,
            publication_connection_timeout: Duration::from_secs(5),
            status_message_timeout: Duration::from_millis(200),
            nak_unicast_delay: Duration::from_micros(100),
            receiver_group_tag: None,
            multicast_flow_control: FlowControlStrategy::Max,
            flow_control_group_tag: -1,
            flow_control_group_min_size: 0,
            print_configuration: false,
            perform_storage_checks: true,
            initial_window_length: 128 * 1024,
            network_publication_max_messages_per_send: 16,
            socket_rcvbuf: 128 * 1024,
            socket_sndbuf: 0,
            loss_policy: None,
        }
    }
}

macro_rules! setter {
    ($name:ident, $t:ty) => {
        #[doc = concat!("Sets [`Context::", stringify!($name), "`].")]
        pub fn $name(mut self, value: $t) -> Self {
            self.$name = value;
            self
        }
    };
}

impl Context {
    /// Aeron's defaults.
    pub fn new() -> Self {
        Context::default()
    }

    /// Aeron's defaults overridden by Aeron's environment variable names (`AERON_DIR`,
    /// `AERON_THREADING_MODE`, `AERON_TERM_BUFFER_LENGTH`, `AERON_IPC_TERM_BUFFER_LENGTH`,
    /// `AERON_CLIENT_LIVENESS_TIMEOUT`, ...; one per field, named in the field's doc). Sizes take `k`/`m`/`g`,
    /// durations `s`/`ms`/`us`/`ns` (a plain number is nanoseconds), as in Aeron.
    pub fn from_env() -> Result<Self, EnvError> {
        let mut c = Context::default();
        if let Some(v) = env::path("AERON_DIR") {
            c.aeron_dir = v;
        }
        macro_rules! set {
            ($field:ident, $reader:ident, $name:literal) => {
                if let Some(v) = env::$reader($name)? {
                    c.$field = v;
                }
            };
        }
        set!(dir_delete_on_start, boolean, "AERON_DIR_DELETE_ON_START");
        set!(
            dir_delete_on_shutdown,
            boolean,
            "AERON_DIR_DELETE_ON_SHUTDOWN"
        );
        set!(threading_mode, parsed, "AERON_THREADING_MODE");
        set!(
            conductor_idle_strategy,
            parsed,
            "AERON_CONDUCTOR_IDLE_STRATEGY"
        );
        set!(sender_idle_strategy, parsed, "AERON_SENDER_IDLE_STRATEGY");
        set!(
            receiver_idle_strategy,
            parsed,
            "AERON_RECEIVER_IDLE_STRATEGY"
        );
        set!(shared_idle_strategy, parsed, "AERON_SHARED_IDLE_STRATEGY");
        set!(
            shared_network_idle_strategy,
            parsed,
            "AERON_SHAREDNETWORK_IDLE_STRATEGY"
        );
        set!(term_buffer_length, size_i32, "AERON_TERM_BUFFER_LENGTH");
        set!(
            ipc_term_buffer_length,
            size_i32,
            "AERON_IPC_TERM_BUFFER_LENGTH"
        );
        set!(
            term_buffer_sparse_file,
            boolean,
            "AERON_TERM_BUFFER_SPARSE_FILE"
        );
        set!(mtu_length, size_i32, "AERON_MTU_LENGTH");
        set!(ipc_mtu_length, size_i32, "AERON_IPC_MTU_LENGTH");
        set!(
            publication_term_window_length,
            size_i32,
            "AERON_PUBLICATION_TERM_WINDOW_LENGTH"
        );
        set!(
            ipc_publication_term_window_length,
            size_i32,
            "AERON_IPC_PUBLICATION_TERM_WINDOW_LENGTH"
        );
        set!(
            publication_linger_timeout,
            duration,
            "AERON_PUBLICATION_LINGER_TIMEOUT"
        );
        set!(
            client_liveness_timeout,
            duration,
            "AERON_CLIENT_LIVENESS_TIMEOUT"
        );
        set!(driver_timeout, duration, "AERON_DRIVER_TIMEOUT");
        set!(
            image_liveness_timeout,
            duration,
            "AERON_IMAGE_LIVENESS_TIMEOUT"
        );
        set!(
            publication_unblock_timeout,
            duration,
            "AERON_PUBLICATION_UNBLOCK_TIMEOUT"
        );
        set!(timer_interval, duration, "AERON_TIMER_INTERVAL");
        set!(
            counter_free_to_reuse_timeout,
            duration,
            "AERON_COUNTERS_FREE_TO_REUSE_TIMEOUT"
        );
        set!(
            to_driver_buffer_length,
            size_usize,
            "AERON_CONDUCTOR_BUFFER_LENGTH"
        );
        set!(
            to_clients_buffer_length,
            size_usize,
            "AERON_CLIENTS_BUFFER_LENGTH"
        );
        set!(
            counters_values_buffer_length,
            size_usize,
            "AERON_COUNTERS_BUFFER_LENGTH"
        );
        set!(error_buffer_length, size_usize, "AERON_ERROR_BUFFER_LENGTH");
        set!(file_page_size, size_usize, "AERON_FILE_PAGE_SIZE");
        set!(
            spies_simulate_connection,
            boolean,
            "AERON_SPIES_SIMULATE_CONNECTION"
        );
        set!(
            initial_window_length,
            size_i32,
            "AERON_RCV_INITIAL_WINDOW_LENGTH"
        );
        set!(
            network_publication_max_messages_per_send,
            size_usize,
            "AERON_NETWORK_PUBLICATION_MAX_MESSAGES_PER_SEND"
        );
        set!(socket_rcvbuf, size_usize, "AERON_SOCKET_SO_RCVBUF");
        set!(socket_sndbuf, size_usize, "AERON_SOCKET_SO_SNDBUF");
        set!(
            publication_connection_timeout,
            duration,
            "AERON_PUBLICATION_CONNECTION_TIMEOUT"
        );
        set!(
            status_message_timeout,
            duration,
            "AERON_RCV_STATUS_MESSAGE_TIMEOUT"
        );
        set!(nak_unicast_delay, duration, "AERON_NAK_UNICAST_DELAY");
        set!(print_configuration, boolean, "AERON_PRINT_CONFIGURATION");
        set!(
            perform_storage_checks,
            boolean,
            "AERON_PERFORM_STORAGE_CHECKS"
        );
        set!(
            flow_control_group_tag,
            parsed,
            "AERON_FLOW_CONTROL_GROUP_TAG"
        );
        set!(
            flow_control_group_min_size,
            parsed,
            "AERON_FLOW_CONTROL_GROUP_MIN_SIZE"
        );
        if let Some(tag) = env::parsed("AERON_RECEIVER_GROUP_TAG")? {
            c.receiver_group_tag = Some(tag);
        }
        if let Some(v) = env::string("AERON_DRIVER_TERMINATION_VALIDATOR") {
            c.allow_termination = termination_validator(&v)?;
        }
        if let Some(v) = env::string("AERON_MULTICAST_FLOWCONTROL_SUPPLIER") {
            c.multicast_flow_control = multicast_flow_control_supplier(&v)?;
        }
        if let Some(v) = env::string("AERON_UNICAST_FLOWCONTROL_SUPPLIER") {
            unicast_flow_control_supplier(&v)?;
        }
        if let Some(incoming) = env::string("AERON_UDP_CHANNEL_INCOMING_INTERCEPTORS") {
            c.loss_policy = Some(LossPolicy::from_interceptors(&incoming, env::string)?);
        }
        crate::settings_without_effect::check()?;
        Ok(c)
    }

    /// Sets the Aeron directory.
    pub fn aeron_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.aeron_dir = dir.into();
        self
    }

    setter!(dir_delete_on_start, bool);
    setter!(dir_delete_on_shutdown, bool);
    setter!(threading_mode, ThreadingMode);
    setter!(conductor_idle_strategy, IdleStrategyKind);
    setter!(sender_idle_strategy, IdleStrategyKind);
    setter!(receiver_idle_strategy, IdleStrategyKind);
    setter!(shared_idle_strategy, IdleStrategyKind);
    setter!(shared_network_idle_strategy, IdleStrategyKind);
    setter!(term_buffer_length, i32);
    setter!(ipc_term_buffer_length, i32);
    setter!(term_buffer_sparse_file, bool);
    setter!(mtu_length, i32);
    setter!(ipc_mtu_length, i32);
    setter!(publication_term_window_length, i32);
    setter!(ipc_publication_term_window_length, i32);
    setter!(publication_linger_timeout, Duration);
    setter!(client_liveness_timeout, Duration);
    setter!(driver_timeout, Duration);
    setter!(image_liveness_timeout, Duration);
    setter!(publication_unblock_timeout, Duration);
    setter!(timer_interval, Duration);
    setter!(counter_free_to_reuse_timeout, Duration);
    setter!(to_driver_buffer_length, usize);
    setter!(to_clients_buffer_length, usize);
    setter!(counters_values_buffer_length, usize);
    setter!(error_buffer_length, usize);
    setter!(file_page_size, usize);
    setter!(spies_simulate_connection, bool);
    setter!(allow_termination, bool);
    setter!(publication_connection_timeout, Duration);
    setter!(status_message_timeout, Duration);
    setter!(nak_unicast_delay, Duration);
    setter!(multicast_flow_control, FlowControlStrategy);
    setter!(flow_control_group_tag, i64);
    setter!(flow_control_group_min_size, i32);
    setter!(print_configuration, bool);
    setter!(perform_storage_checks, bool);

    /// Sets [`Context::receiver_group_tag`].
    pub fn receiver_group_tag(mut self, tag: i64) -> Self {
        self.receiver_group_tag = Some(tag);
        self
    }
    setter!(initial_window_length, i32);
    setter!(network_publication_max_messages_per_send, usize);
    setter!(socket_rcvbuf, usize);
    setter!(socket_sndbuf, usize);

    /// Drops frames as `policy` says on the driver's send and receive paths (tests only).
    pub fn loss_policy(mut self, policy: crate::loss::LossPolicy) -> Self {
        self.loss_policy = Some(policy);
        self
    }
}

/// A driver setting whose value Aeron's drivers refuse, named by its environment variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct InvalidSetting {
    /// The setting, by its `AERON_*` name.
    pub setting: &'static str,
    /// What is wrong with its value.
    pub problem: String,
}

impl Context {
    /// Checks the settings as Aeron's drivers do when they start (`MediaDriver.Context.conclude` in Java,
    /// `aeron_driver_init` in C): term lengths, MTUs, the initial window, the page size, buffer lengths and
    /// the timeouts that depend on one another. [`crate::MediaDriver::launch`] calls it first.
    ///
    /// ```
    /// use oxeron_driver::Context;
    ///
    /// let error = Context::new().ipc_term_buffer_length(3).validate().unwrap_err();
    /// assert_eq!(error.setting, "AERON_IPC_TERM_BUFFER_LENGTH");
    /// ```
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let fail = |setting, problem: String| Err(InvalidSetting { setting, problem });
        for (setting, length) in [
            ("AERON_TERM_BUFFER_LENGTH", self.term_buffer_length),
            ("AERON_IPC_TERM_BUFFER_LENGTH", self.ipc_term_buffer_length),
        ] {
            if let Err(e) = oxeron_protocol::logbuffer::check_term_length(length.into()) {
                return fail(setting, e.to_string());
            }
        }
        for (setting, mtu) in [
            ("AERON_MTU_LENGTH", self.mtu_length),
            ("AERON_IPC_MTU_LENGTH", self.ipc_mtu_length),
        ] {
            if mtu <= 32 {
                return fail(
                    setting,
                    format!("{mtu} must be more than the 32-byte data header"),
                );
            }
            if let Err(e) = oxeron_protocol::logbuffer::check_mtu_length(mtu.into()) {
                return fail(setting, e.to_string());
            }
        }
        if self.mtu_length > self.initial_window_length {
            return fail(
                "AERON_RCV_INITIAL_WINDOW_LENGTH",
                format!(
                    "{} is less than AERON_MTU_LENGTH {}",
                    self.initial_window_length, self.mtu_length
                ),
            );
        }
        let page = self.file_page_size;
        if !(4096..=1 << 30).contains(&page) || !page.is_power_of_two() {
            return fail(
                "AERON_FILE_PAGE_SIZE",
                format!("{page} must be a power of two from 4096 to 1 GiB"),
            );
        }
        for (setting, window) in [
            (
                "AERON_PUBLICATION_TERM_WINDOW_LENGTH",
                self.publication_term_window_length,
            ),
            (
                "AERON_IPC_PUBLICATION_TERM_WINDOW_LENGTH",
                self.ipc_publication_term_window_length,
            ),
        ] {
            if window < 0 {
                return fail(setting, format!("{window} is negative"));
            }
        }
        if self.network_publication_max_messages_per_send == 0 {
            return fail(
                "AERON_NETWORK_PUBLICATION_MAX_MESSAGES_PER_SEND",
                "0 sends nothing; at least 1".into(),
            );
        }
        if self.publication_unblock_timeout <= self.client_liveness_timeout {
            return fail(
                "AERON_PUBLICATION_UNBLOCK_TIMEOUT",
                format!(
                    "{:?} must be longer than AERON_CLIENT_LIVENESS_TIMEOUT {:?}",
                    self.publication_unblock_timeout, self.client_liveness_timeout
                ),
            );
        }
        if self.client_liveness_timeout <= self.timer_interval {
            return fail(
                "AERON_CLIENT_LIVENESS_TIMEOUT",
                format!(
                    "{:?} must be longer than AERON_TIMER_INTERVAL {:?}",
                    self.client_liveness_timeout, self.timer_interval
                ),
            );
        }
        for (setting, timeout) in [
            ("AERON_DRIVER_TIMEOUT", self.driver_timeout),
            ("AERON_IMAGE_LIVENESS_TIMEOUT", self.image_liveness_timeout),
            ("AERON_TIMER_INTERVAL", self.timer_interval),
            (
                "AERON_RCV_STATUS_MESSAGE_TIMEOUT",
                self.status_message_timeout,
            ),
            (
                "AERON_PUBLICATION_CONNECTION_TIMEOUT",
                self.publication_connection_timeout,
            ),
        ] {
            if timeout.is_zero() {
                return fail(setting, "must be more than 0".into());
            }
        }
        Ok(())
    }
}

/// A Java class name without its package (`io.aeron.driver.X` is `X`); Aeron C's names pass unchanged.
fn class_name(value: &str) -> &str {
    let value = value.trim();
    value.rsplit('.').next().unwrap_or(value)
}

/// Aeron C's termination validator names (`allow`, `deny`) and Java's validator classes.
fn termination_validator(value: &str) -> Result<bool, EnvError> {
    match class_name(value) {
        "allow" | "DefaultAllowTerminationValidator" => Ok(true),
        "deny" | "DefaultDenyTerminationValidator" => Ok(false),
        _ => Err(EnvError::new(
            "AERON_DRIVER_TERMINATION_VALIDATOR",
            value,
            "Oxeron knows allow and deny (or Java's DefaultAllow/DefaultDenyTerminationValidator)",
        )),
    }
}

fn multicast_flow_control_supplier(value: &str) -> Result<FlowControlStrategy, EnvError> {
    match class_name(value) {
        "aeron_max_multicast_flow_control_strategy_supplier"
        | "DefaultMulticastFlowControlSupplier"
        | "MaxMulticastFlowControlSupplier" => Ok(FlowControlStrategy::Max),
        "aeron_min_flow_control_strategy_supplier" | "MinMulticastFlowControlSupplier" => {
            Ok(FlowControlStrategy::Min)
        }
        "aeron_tagged_flow_control_strategy_supplier" | "TaggedMulticastFlowControlSupplier" => {
            Ok(FlowControlStrategy::Tagged)
        }
        _ => Err(EnvError::new(
            "AERON_MULTICAST_FLOWCONTROL_SUPPLIER",
            value,
            "not one of Aeron's max, min or tagged flow control suppliers",
        )),
    }
}

fn unicast_flow_control_supplier(value: &str) -> Result<(), EnvError> {
    match class_name(value) {
        "aeron_unicast_flow_control_strategy_supplier" | "DefaultUnicastFlowControlSupplier" => {
            Ok(())
        }
        _ => Err(EnvError::new(
            "AERON_UNICAST_FLOWCONTROL_SUPPLIER",
            value,
            "unicast publications use Aeron's unicast flow control only",
        )),
    }
}
