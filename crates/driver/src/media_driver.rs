//! Launching and closing a media driver: the Aeron directory, `cnc.dat`, and the conductor's thread.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use oxeron_client::cnc_file::{CncError, CncFile, CncSpec};
use oxeron_concurrent::agent::{
    default_error_handler, Agent, AgentInvoker, AgentRunner, CompositeAgent,
};
use oxeron_concurrent::broadcast::BroadcastTransmitter;
use oxeron_concurrent::clock::{system_epoch_clock, system_epoch_ms};
use oxeron_concurrent::counters::{CountersError, CountersManager};
use oxeron_concurrent::error_log::DistinctErrorLog;
use oxeron_concurrent::idle::IdleStrategyKind;
use oxeron_concurrent::ring_buffer::ManyToOneRingBuffer;

use oxeron_concurrent::process::{process_state, ProcessState};

use crate::aeron_dir::{check_is_aeron_dir, remove_aeron_files, AeronDirError};
use crate::conductor::{DriverConductor, NetworkState};
use crate::context::{Context, InvalidSetting, ThreadingMode};
use crate::loss_report::LossReport;
use crate::receiver::ReceiverAgent;
use crate::sender::SenderAgent;
use crate::system_counters::SystemCounters;

/// Why a driver could not start.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// Another driver is alive in the same directory.
    #[error("an active media driver is using {dir} (heartbeat {age_ms} ms old); stop it or use another aeron dir")]
    AlreadyActive {
        /// The Aeron directory.
        dir: PathBuf,
        /// Age of the other driver's heartbeat.
        age_ms: i64,
    },
    /// A file or directory operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// `cnc.dat` could not be created.
    #[error(transparent)]
    Cnc(#[from] CncError),
    /// A buffer in `cnc.dat` has a length its layout does not allow.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Counters could not be set up.
    #[error(transparent)]
    Counters(#[from] CountersError),
    /// A setting has a value Aeron's drivers refuse.
    #[error("invalid driver setting {0}")]
    InvalidSetting(#[from] InvalidSetting),
    /// The directory holds files that are not Aeron's, so the driver will not recreate or delete it.
    #[error(transparent)]
    AeronDir(#[from] AeronDirError),
}

enum Runner {
    Threads(Vec<AgentRunner>),
    Invoker(Box<AgentInvoker<CompositeAgent>>),
}

/// A running media driver.
///
/// ```no_run
/// use oxeron_driver::{Context, MediaDriver, ThreadingMode};
///
/// let driver = MediaDriver::launch(
///     Context::new().aeron_dir("/dev/shm/example").threading_mode(ThreadingMode::Shared).dir_delete_on_start(true),
/// )?;
/// // ... clients connect to /dev/shm/example ...
/// driver.close();
/// # Ok::<(), oxeron_driver::DriverError>(())
/// ```
pub struct MediaDriver {
    aeron_dir: PathBuf,
    delete_on_shutdown: bool,
    runner: Option<Runner>,
    terminated: Arc<AtomicBool>,
    _cnc: Arc<CncFile>,
}

impl std::fmt::Debug for MediaDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaDriver")
            .field("aeron_dir", &self.aeron_dir)
            .finish_non_exhaustive()
    }
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> DriverError {
    let path = path.to_path_buf();
    move |source| DriverError::Io { what, path, source }
}

/// Heartbeat age of a driver whose `cnc.dat` is in `dir` and whose process may still run: none if there
/// is no readable `cnc.dat`, no heartbeat, or the pid it records is dead (a crashed driver needs no
/// timeout to be replaced).
fn existing_driver_heartbeat_age_ms(dir: &Path) -> Option<i64> {
    let cnc = CncFile::map(dir).ok()?;
    if process_state(cnc.header().pid) == ProcessState::Dead {
        return None;
    }
    let ring = ManyToOneRingBuffer::new(cnc.to_driver_buffer().clone()).ok()?;
    let heartbeat = ring.consumer_heartbeat_time();
    (heartbeat > 0).then(|| system_epoch_ms() - heartbeat)
}

/// A directory name beside the default Aeron directory that nothing uses yet, unique to this process and call.
fn unused_embedded_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = oxeron_client::default_aeron_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut name = base.clone().into_os_string();
        name.push(format!("-embedded-{}-{nanos:x}{n}", std::process::id()));
        let dir = PathBuf::from(name);
        if !dir.exists() {
            return dir;
        }
    }
}

fn spawn<A: Agent + 'static>(
    agent: A,
    idle: IdleStrategyKind,
    dir: &Path,
) -> Result<AgentRunner, DriverError> {
    AgentRunner::start(agent, idle.build(), default_error_handler())
        .map_err(io_error("starting driver thread", dir))
}

impl MediaDriver {
    /// Starts a driver with `ctx`: prepares the Aeron directory and `cnc.dat`, then runs the conductor as
    /// the threading mode says.
    ///
    /// An existing directory is recreated only if it holds nothing but Aeron's files
    /// ([`DriverError::AeronDir`] otherwise), and only if no live driver uses it: one whose heartbeat is
    /// younger than the driver timeout and whose recorded pid still runs ([`DriverError::AlreadyActive`]).
    pub fn launch(ctx: Context) -> Result<Self, DriverError> {
        ctx.validate()?;
        if ctx.print_configuration {
            println!("{ctx:#?}");
        }
        let dir = ctx.aeron_dir.clone();
        if dir.exists() {
            check_is_aeron_dir(&dir)?;
            if !ctx.dir_delete_on_start {
                if let Some(age_ms) = existing_driver_heartbeat_age_ms(&dir) {
                    if age_ms <= ctx.driver_timeout.as_millis() as i64 {
                        return Err(DriverError::AlreadyActive { dir, age_ms });
                    }
                }
            }
            remove_aeron_files(&dir);
        }
        for sub in ["publications", "images"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path).map_err(io_error("creating", &path))?;
        }
        let cnc = Arc::new(CncFile::create(
            &dir,
            &CncSpec {
                to_driver_buffer_length: ctx.to_driver_buffer_length,
                to_clients_buffer_length: ctx.to_clients_buffer_length,
                counters_values_buffer_length: ctx.counters_values_buffer_length,
                error_log_buffer_length: ctx.error_buffer_length,
                client_liveness_timeout_ns: ctx.client_liveness_timeout.as_nanos() as i64,
                start_timestamp_ms: system_epoch_ms(),
                pid: i64::from(std::process::id()),
                file_page_size: ctx.file_page_size,
            },
        )?);
        let config = |e: &dyn std::fmt::Display| DriverError::Config(e.to_string());
        let to_driver =
            ManyToOneRingBuffer::new(cnc.to_driver_buffer().clone()).map_err(|e| config(&e))?;
        let to_clients =
            BroadcastTransmitter::new(cnc.to_clients_buffer().clone()).map_err(|e| config(&e))?;
        let mut counters = CountersManager::new(
            cnc.counters_metadata_buffer().clone(),
            cnc.counters_values_buffer().clone(),
        )?
        .with_clock(system_epoch_clock())
        .with_free_to_reuse_timeout_ms(ctx.counter_free_to_reuse_timeout.as_millis() as i64);
        let errors = DistinctErrorLog::new(cnc.error_log_buffer().clone(), system_epoch_clock())
            .map_err(|e| config(&e))?;
        let mode_name = match ctx.threading_mode {
            ThreadingMode::Dedicated => "DEDICATED",
            ThreadingMode::SharedNetwork => "SHARED_NETWORK",
            ThreadingMode::Shared => "SHARED",
            ThreadingMode::Invoker => "INVOKER",
        };
        let system_counters = SystemCounters::allocate(&mut counters, mode_name)?;
        to_driver.set_consumer_heartbeat_time(system_epoch_ms());
        cnc.signal_ready();

        let terminated = Arc::new(AtomicBool::new(false));
        let start = std::time::Instant::now();
        let (to_sender, sender_commands) = std::sync::mpsc::channel();
        let (to_receiver, receiver_commands) = std::sync::mpsc::channel();
        let (events, conductor_events) = std::sync::mpsc::channel();
        let loss_report =
            LossReport::create(&dir).map_err(io_error("creating loss report", &dir))?;
        let sender = SenderAgent::new(
            sender_commands,
            events.clone(),
            system_counters.clone(),
            ctx.loss_policy.clone(),
            start,
        );
        let receiver = ReceiverAgent::new(
            receiver_commands,
            events,
            system_counters.clone(),
            ctx.loss_policy.clone(),
            start,
        );
        let conductor = DriverConductor::new(
            ctx.clone(),
            to_driver,
            to_clients,
            counters,
            errors,
            system_counters,
            Arc::clone(&terminated),
            start,
            NetworkState::new(to_sender, to_receiver, conductor_events, Some(loss_report)),
        );
        let runner = match ctx.threading_mode {
            ThreadingMode::Invoker => {
                let composite = CompositeAgent::new(vec![
                    Box::new(conductor),
                    Box::new(sender),
                    Box::new(receiver),
                ]);
                let mut invoker = AgentInvoker::new(composite, default_error_handler());
                invoker.start();
                Runner::Invoker(Box::new(invoker))
            }
            ThreadingMode::Dedicated => Runner::Threads(vec![
                spawn(conductor, ctx.conductor_idle_strategy, &dir)?,
                spawn(sender, ctx.sender_idle_strategy, &dir)?,
                spawn(receiver, ctx.receiver_idle_strategy, &dir)?,
            ]),
            ThreadingMode::SharedNetwork => Runner::Threads(vec![
                spawn(conductor, ctx.conductor_idle_strategy, &dir)?,
                spawn(
                    CompositeAgent::new(vec![Box::new(sender), Box::new(receiver)]),
                    ctx.shared_network_idle_strategy,
                    &dir,
                )?,
            ]),
            ThreadingMode::Shared => Runner::Threads(vec![spawn(
                CompositeAgent::new(vec![
                    Box::new(conductor),
                    Box::new(sender),
                    Box::new(receiver),
                ]),
                ctx.shared_idle_strategy,
                &dir,
            )?]),
        };
        Ok(MediaDriver {
            aeron_dir: dir,
            delete_on_shutdown: ctx.dir_delete_on_shutdown,
            runner: Some(runner),
            terminated,
            _cnc: cnc,
        })
    }

    /// Starts a driver for this process alone, with Aeron's defaults, in a new directory of its own that it
    /// deletes when closed or dropped: Java's `MediaDriver.launchEmbedded()`, rusteron's `EmbeddedDriver`.
    ///
    /// ```no_run
    /// use oxeron_driver::MediaDriver;
    ///
    /// let driver = MediaDriver::launch_embedded()?;
    /// println!("clients connect to {}", driver.aeron_dir().display());
    /// # Ok::<(), oxeron_driver::DriverError>(())
    /// ```
    pub fn launch_embedded() -> Result<Self, DriverError> {
        Self::launch_embedded_with(Context::new())
    }

    /// [`launch_embedded`](Self::launch_embedded) with `ctx`'s settings; its Aeron directory is replaced by a
    /// new one beside the default (`/dev/shm/aeron-<user>-embedded-<pid>-<n>`), deleted at shutdown.
    pub fn launch_embedded_with(ctx: Context) -> Result<Self, DriverError> {
        let dir = unused_embedded_dir();
        Self::launch(ctx.aeron_dir(dir).dir_delete_on_shutdown(true))
    }

    /// The Aeron directory clients connect to.
    pub fn aeron_dir(&self) -> &Path {
        &self.aeron_dir
    }

    /// In invoker mode, runs one duty cycle of the driver's agents; returns the work done. Does nothing in
    /// the other modes.
    pub fn invoke(&mut self) -> usize {
        match &mut self.runner {
            Some(Runner::Invoker(invoker)) => invoker.invoke(),
            _ => 0,
        }
    }

    /// True once a client's TERMINATE_DRIVER (allowed by [`Context::allow_termination`]) stopped the driver.
    pub fn is_terminated(&self) -> bool {
        self.terminated.load(Ordering::Acquire)
    }

    /// Stops the driver's agents, marks the driver gone for clients, and deletes the Aeron directory's
    /// files if configured to (anything else found there stays).
    pub fn close(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        match self.runner.take() {
            Some(Runner::Threads(runners)) => runners.into_iter().for_each(AgentRunner::close),
            Some(Runner::Invoker(mut invoker)) => invoker.close(),
            None => return,
        }
        if self.delete_on_shutdown {
            remove_aeron_files(&self.aeron_dir);
        }
    }
}

impl Drop for MediaDriver {
    fn drop(&mut self) {
        self.shutdown();
    }
}
