//! Settings of an archive server, with the Java archive's defaults and environment variable names.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use oxeron_client::env::{self, EnvError};
use oxeron_concurrent::idle::IdleStrategyKind;
use oxeron_protocol::archive::{CONTROL_STREAM_ID_DEFAULT, RECORDING_EVENTS_STREAM_ID_DEFAULT};
use oxeron_protocol::logbuffer::{check_mtu_length, check_term_length};

pub use super::authenticator::{AcceptAllAuthenticator, AuthDecision, Authenticator};
use super::authorisation_service::{self, AllowAll, AuthorisationService};
use crate::{Checksum, FileSyncLevel};

/// Default control request channel (`aeron.archive.control.channel`).
pub const CONTROL_CHANNEL_DEFAULT: &str = "aeron:udp?endpoint=localhost:8010";
/// Default local (same host) control request channel.
pub const LOCAL_CONTROL_CHANNEL_DEFAULT: &str = "aeron:ipc?term-length=64k";
/// Default recording events channel.
pub const RECORDING_EVENTS_CHANNEL_DEFAULT: &str =
    "aeron:udp?control-mode=dynamic|control=localhost:8030";
/// Default replication channel.
pub const REPLICATION_CHANNEL_DEFAULT: &str = "aeron:udp?endpoint=localhost:0";
/// Default segment file length: 128 MiB.
pub const SEGMENT_FILE_LENGTH_DEFAULT: i32 = 128 * 1024 * 1024;
/// Default directory name of the archive, relative to the working directory.
pub const ARCHIVE_DIR_DEFAULT: &str = "aeron-archive";
/// Default (and least) length of the mark file's error buffer: 1 MiB.
pub const ERROR_BUFFER_LENGTH_DEFAULT: usize = crate::mark::DEFAULT_ERROR_BUFFER_LENGTH;
/// Default low-storage-space threshold: one default segment file, 128 MiB.
pub const LOW_STORAGE_SPACE_THRESHOLD_DEFAULT: u64 = SEGMENT_FILE_LENGTH_DEFAULT as u64;
/// The control streams' term length and MTU defaults are the archive client's.
pub use crate::client::{CONTROL_MTU_LENGTH_DEFAULT, CONTROL_TERM_BUFFER_LENGTH_DEFAULT};
/// Default linger of replay publications: the driver's publication linger, 5 s.
pub const REPLAY_LINGER_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);

/// How the archive's work is spread over threads (`aeron.archive.threading.mode`, as in Java): the
/// conductor (control sessions, catalog), the recorder (every recording) and the replayer (every replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchiveThreadingMode {
    /// Conductor, recorder and replayer each on a thread of its own (`archive-conductor`,
    /// `archive-recorder`, `archive-replayer`).
    #[default]
    Dedicated,
    /// All three on one thread.
    Shared,
    /// No thread: the application drives the archive.
    Invoker,
}

impl ArchiveThreadingMode {
    /// Aeron's name of the mode (`DEDICATED`, `SHARED`, `INVOKER`), as counter labels show it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dedicated => "DEDICATED",
            Self::Shared => "SHARED",
            Self::Invoker => "INVOKER",
        }
    }
}

impl std::str::FromStr for ArchiveThreadingMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "DEDICATED" => Ok(Self::Dedicated),
            "SHARED" => Ok(Self::Shared),
            "INVOKER" => Ok(Self::Invoker),
            other => Err(format!("unknown archive threading mode {other:?}")),
        }
    }
}

/// Builder-style settings of an [`crate::server::Archive`].
#[derive(Clone)]
pub struct Context {
    pub(crate) archive_dir: PathBuf,
    pub(crate) aeron_dir: Option<PathBuf>,
    pub(crate) delete_archive_on_start: bool,
    pub(crate) control_channel_enabled: bool,
    pub(crate) control_channel: String,
    pub(crate) control_stream_id: i32,
    pub(crate) local_control_channel: String,
    pub(crate) local_control_stream_id: i32,
    pub(crate) recording_events_enabled: bool,
    pub(crate) recording_events_channel: String,
    pub(crate) recording_events_stream_id: i32,
    pub(crate) replication_channel: String,
    pub(crate) segment_file_length: i32,
    pub(crate) file_sync_level: FileSyncLevel,
    pub(crate) catalog_file_sync_level: FileSyncLevel,
    pub(crate) threading_mode: ArchiveThreadingMode,
    pub(crate) archive_id: Option<i64>,
    pub(crate) connect_timeout: Duration,
    pub(crate) session_liveness_timeout: Duration,
    pub(crate) session_liveness_check_interval: Duration,
    pub(crate) conductor_cycle_threshold: Duration,
    pub(crate) recorder_cycle_threshold: Duration,
    pub(crate) replayer_cycle_threshold: Duration,
    pub(crate) mark_file_liveness_timeout: Duration,
    pub(crate) max_concurrent_recordings: usize,
    pub(crate) max_concurrent_replays: usize,
    pub(crate) file_io_max_length: usize,
    pub(crate) record_checksum: Option<Checksum>,
    pub(crate) replay_checksum: Option<Checksum>,
    pub(crate) idle_strategy: IdleStrategyKind,
    pub(crate) recorder_idle_strategy: IdleStrategyKind,
    pub(crate) replayer_idle_strategy: IdleStrategyKind,
    pub(crate) authenticator: Arc<dyn Authenticator>,
    pub(crate) authorisation_service: Arc<dyn AuthorisationService>,
    pub(crate) catalog_capacity: u64,
    pub(crate) mark_file_dir: Option<PathBuf>,
    pub(crate) error_buffer_length: usize,
    pub(crate) low_storage_space_threshold: u64,
    pub(crate) replay_linger_timeout: Duration,
    pub(crate) control_term_buffer_length: i32,
    pub(crate) control_mtu_length: i32,
    pub(crate) control_term_buffer_sparse: bool,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("archive_dir", &self.archive_dir)
            .field("aeron_dir", &self.aeron_dir)
            .field("control_channel_enabled", &self.control_channel_enabled)
            .field("control_channel", &self.control_channel)
            .field("control_stream_id", &self.control_stream_id)
            .field("local_control_channel", &self.local_control_channel)
            .field("local_control_stream_id", &self.local_control_stream_id)
            .field("recording_events_enabled", &self.recording_events_enabled)
            .field("recording_events_channel", &self.recording_events_channel)
            .field("segment_file_length", &self.segment_file_length)
            .field("file_sync_level", &self.file_sync_level)
            .field("threading_mode", &self.threading_mode)
            .field("archive_id", &self.archive_id)
            .field("record_checksum", &self.record_checksum)
            .field("replay_checksum", &self.replay_checksum)
            .field("catalog_capacity", &self.catalog_capacity)
            .field("mark_file_dir", &self.mark_file_dir)
            .field("error_buffer_length", &self.error_buffer_length)
            .field(
                "low_storage_space_threshold",
                &self.low_storage_space_threshold,
            )
            .field("replay_linger_timeout", &self.replay_linger_timeout)
            .field("file_io_max_length", &self.file_io_max_length)
            .field(
                "control_term_buffer_length",
                &self.control_term_buffer_length,
            )
            .field("control_mtu_length", &self.control_mtu_length)
            .field(
                "control_term_buffer_sparse",
                &self.control_term_buffer_sparse,
            )
            .finish_non_exhaustive()
    }
}

impl Default for Context {
    fn default() -> Self {
        Self {
            archive_dir: PathBuf::from(ARCHIVE_DIR_DEFAULT),
            aeron_dir: None,
            delete_archive_on_start: false,
            control_channel_enabled: true,
            control_channel: CONTROL_CHANNEL_DEFAULT.to_string(),
            control_stream_id: CONTROL_STREAM_ID_DEFAULT,
            local_control_channel: LOCAL_CONTROL_CHANNEL_DEFAULT.to_string(),
            local_control_stream_id: CONTROL_STREAM_ID_DEFAULT,
            recording_events_enabled: false,
            recording_events_channel: RECORDING_EVENTS_CHANNEL_DEFAULT.to_string(),
            recording_events_stream_id: RECORDING_EVENTS_STREAM_ID_DEFAULT,
            replication_channel: REPLICATION_CHANNEL_DEFAULT.to_string(),
            segment_file_length: SEGMENT_FILE_LENGTH_DEFAULT,
            file_sync_level: FileSyncLevel::None,
            catalog_file_sync_level: FileSyncLevel::None,
            threading_mode: ArchiveThreadingMode::Dedicated,
            archive_id: None,
            connect_timeout: Duration::from_secs(5),
            session_liveness_timeout: Duration::from_secs(10),
            session_liveness_check_interval: Duration::from_secs(1),
            conductor_cycle_threshold: Duration::from_millis(100),
            recorder_cycle_threshold: Duration::from_millis(100),
            replayer_cycle_threshold: Duration::from_millis(100),
            mark_file_liveness_timeout: Duration::from_secs(10),
            max_concurrent_recordings: 20,
            max_concurrent_replays: 20,
            file_io_max_length: 1024 * 1024,
            record_checksum: None,
            replay_checksum: None,
            idle_strategy: IdleStrategyKind::Backoff,
            recorder_idle_strategy: IdleStrategyKind::Backoff,
            replayer_idle_strategy: IdleStrategyKind::Backoff,
            authenticator: Arc::new(AcceptAllAuthenticator),
            authorisation_service: Arc::new(AllowAll),
            catalog_capacity: crate::DEFAULT_CATALOG_CAPACITY,
            mark_file_dir: None,
            error_buffer_length: ERROR_BUFFER_LENGTH_DEFAULT,
            low_storage_space_threshold: LOW_STORAGE_SPACE_THRESHOLD_DEFAULT,
            replay_linger_timeout: REPLAY_LINGER_TIMEOUT_DEFAULT,
            control_term_buffer_length: CONTROL_TERM_BUFFER_LENGTH_DEFAULT,
            control_mtu_length: CONTROL_MTU_LENGTH_DEFAULT,
            control_term_buffer_sparse: true,
        }
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
    };
}

impl Context {
    /// Java's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Defaults overridden by Aeron's environment variables (`AERON_ARCHIVE_DIR`,
    /// `AERON_ARCHIVE_CONTROL_CHANNEL`, `AERON_ARCHIVE_CONTROL_STREAM_ID`, `AERON_ARCHIVE_SEGMENT_FILE_LENGTH`,
    /// `AERON_ARCHIVE_FILE_SYNC_LEVEL`, `AERON_ARCHIVE_ID`, `AERON_DIR`, ...).
    pub fn from_env() -> Result<Self, EnvError> {
        let mut c = Self::default();
        if let Some(dir) = env::path("AERON_ARCHIVE_DIR") {
            c.archive_dir = dir;
        }
        c.aeron_dir = env::path("AERON_DIR");
        macro_rules! read {
            ($field:ident, $reader:ident, $name:literal) => {
                if let Some(v) = env::$reader($name)? {
                    c.$field = v;
                }
            };
        }
        macro_rules! text {
            ($field:ident, $name:literal) => {
                if let Some(v) = env::string($name) {
                    c.$field = v;
                }
            };
        }
        read!(
            delete_archive_on_start,
            boolean,
            "AERON_ARCHIVE_DIR_DELETE_ON_START"
        );
        read!(
            control_channel_enabled,
            boolean,
            "AERON_ARCHIVE_CONTROL_CHANNEL_ENABLED"
        );
        text!(control_channel, "AERON_ARCHIVE_CONTROL_CHANNEL");
        read!(control_stream_id, parsed, "AERON_ARCHIVE_CONTROL_STREAM_ID");
        text!(local_control_channel, "AERON_ARCHIVE_LOCAL_CONTROL_CHANNEL");
        read!(
            local_control_stream_id,
            parsed,
            "AERON_ARCHIVE_LOCAL_CONTROL_STREAM_ID"
        );
        read!(
            recording_events_enabled,
            boolean,
            "AERON_ARCHIVE_RECORDING_EVENTS_ENABLED"
        );
        text!(
            recording_events_channel,
            "AERON_ARCHIVE_RECORDING_EVENTS_CHANNEL"
        );
        read!(
            recording_events_stream_id,
            parsed,
            "AERON_ARCHIVE_RECORDING_EVENTS_STREAM_ID"
        );
        text!(replication_channel, "AERON_ARCHIVE_REPLICATION_CHANNEL");
        read!(
            segment_file_length,
            size_i32,
            "AERON_ARCHIVE_SEGMENT_FILE_LENGTH"
        );
        for (name, target) in [
            ("AERON_ARCHIVE_FILE_SYNC_LEVEL", &mut c.file_sync_level),
            (
                "AERON_ARCHIVE_CATALOG_FILE_SYNC_LEVEL",
                &mut c.catalog_file_sync_level,
            ),
        ] {
            if let Some(level) = env::parsed::<i32>(name)? {
                *target = FileSyncLevel::from_level(level).ok_or_else(|| EnvError {
                    name: name.to_string(),
                    value: level.to_string(),
                    reason: "file sync level must be 0, 1 or 2".to_string(),
                })?;
            }
        }
        read!(threading_mode, parsed, "AERON_ARCHIVE_THREADING_MODE");
        read!(idle_strategy, parsed, "AERON_ARCHIVE_IDLE_STRATEGY");
        read!(
            recorder_idle_strategy,
            parsed,
            "AERON_ARCHIVE_RECORDER_IDLE_STRATEGY"
        );
        read!(
            replayer_idle_strategy,
            parsed,
            "AERON_ARCHIVE_REPLAYER_IDLE_STRATEGY"
        );
        if let Some(id) = env::parsed::<i64>("AERON_ARCHIVE_ID")? {
            c.archive_id = Some(id);
        }
        read!(connect_timeout, duration, "AERON_ARCHIVE_CONNECT_TIMEOUT");
        read!(
            session_liveness_timeout,
            duration,
            "AERON_ARCHIVE_SESSION_LIVENESS_TIMEOUT"
        );
        read!(
            session_liveness_check_interval,
            duration,
            "AERON_ARCHIVE_SESSION_LIVENESS_CHECK_INTERVAL"
        );
        read!(
            conductor_cycle_threshold,
            duration,
            "AERON_ARCHIVE_CONDUCTOR_CYCLE_THRESHOLD"
        );
        read!(
            recorder_cycle_threshold,
            duration,
            "AERON_ARCHIVE_RECORDER_CYCLE_THRESHOLD"
        );
        read!(
            replayer_cycle_threshold,
            duration,
            "AERON_ARCHIVE_REPLAYER_CYCLE_THRESHOLD"
        );
        read!(
            max_concurrent_recordings,
            parsed,
            "AERON_ARCHIVE_MAX_CONCURRENT_RECORDINGS"
        );
        read!(
            max_concurrent_replays,
            parsed,
            "AERON_ARCHIVE_MAX_CONCURRENT_REPLAYS"
        );
        if let Some(checksum) = env::parsed("AERON_ARCHIVE_RECORD_CHECKSUM")? {
            c.record_checksum = Some(checksum);
        }
        if let Some(checksum) = env::parsed("AERON_ARCHIVE_REPLAY_CHECKSUM")? {
            c.replay_checksum = Some(checksum);
        }
        read!(catalog_capacity, size, "AERON_ARCHIVE_CATALOG_CAPACITY");
        c.mark_file_dir = env::path("AERON_ARCHIVE_MARK_FILE_DIR");
        read!(
            error_buffer_length,
            size_usize,
            "AERON_ARCHIVE_ERROR_BUFFER_LENGTH"
        );
        read!(
            low_storage_space_threshold,
            size,
            "AERON_ARCHIVE_LOW_STORAGE_SPACE_THRESHOLD"
        );
        read!(
            replay_linger_timeout,
            duration,
            "AERON_ARCHIVE_REPLAY_LINGER_TIMEOUT"
        );
        read!(
            file_io_max_length,
            size_usize,
            "AERON_ARCHIVE_FILE_IO_MAX_LENGTH"
        );
        read!(
            control_term_buffer_length,
            size_i32,
            "AERON_ARCHIVE_CONTROL_TERM_BUFFER_LENGTH"
        );
        read!(
            control_mtu_length,
            size_i32,
            "AERON_ARCHIVE_CONTROL_MTU_LENGTH"
        );
        read!(
            control_term_buffer_sparse,
            boolean,
            "AERON_ARCHIVE_CONTROL_TERM_BUFFER_SPARSE"
        );
        let supplier = "AERON_ARCHIVE_AUTHORISATION_SERVICE_SUPPLIER";
        if let Some(name) = env::string(supplier) {
            c.authorisation_service = authorisation_service::named(supplier, &name)?;
        }
        refuse_unsupported_env()?;
        Ok(c)
    }

    /// Directory of the catalog, mark file and segment files.
    pub fn archive_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.archive_dir = dir.into();
        self
    }

    /// Aeron directory of the media driver the archive connects to (Aeron's default when unset).
    pub fn aeron_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.aeron_dir = Some(dir.into());
        self
    }

    /// Control request channel (network clients).
    pub fn control_channel(mut self, channel: impl Into<String>) -> Self {
        self.control_channel = channel.into();
        self
    }

    /// Local control request channel (clients on this host).
    pub fn local_control_channel(mut self, channel: impl Into<String>) -> Self {
        self.local_control_channel = channel.into();
        self
    }

    /// Channel of recording events.
    pub fn recording_events_channel(mut self, channel: impl Into<String>) -> Self {
        self.recording_events_channel = channel.into();
        self
    }

    /// Channel replications receive on.
    pub fn replication_channel(mut self, channel: impl Into<String>) -> Self {
        self.replication_channel = channel.into();
        self
    }

    setter!(
        /// Deletes the archive directory's contents before starting.
        delete_archive_on_start: bool
    );
    setter!(
        /// Whether the (network) control channel is served; the local one always is.
        control_channel_enabled: bool
    );
    setter!(
        /// Stream id of the control channel.
        control_stream_id: i32
    );
    setter!(
        /// Stream id of the local control channel.
        local_control_stream_id: i32
    );
    setter!(
        /// Whether recording events (started, progress, stopped) are published.
        recording_events_enabled: bool
    );
    setter!(
        /// Stream id of recording events.
        recording_events_stream_id: i32
    );
    setter!(
        /// Length of each segment file (a power of two, a multiple of the term length).
        segment_file_length: i32
    );
    setter!(
        /// How recorded data is flushed to storage.
        file_sync_level: FileSyncLevel
    );
    setter!(
        /// How catalog updates are flushed to storage.
        catalog_file_sync_level: FileSyncLevel
    );
    setter!(
        /// Threads of the archive.
        threading_mode: ArchiveThreadingMode
    );
    setter!(
        /// Time a control session's response publication has to connect.
        connect_timeout: Duration
    );
    setter!(
        /// A control session whose response publication stays disconnected this long is closed.
        session_liveness_timeout: Duration
    );
    setter!(
        /// An archive mark file touched within this time belongs to a live archive, and a new archive
        /// refuses the directory (Java uses the driver timeout, 10 s).
        mark_file_liveness_timeout: Duration
    );
    setter!(
        /// How often an active control session is sent a Ping, as Java's archive does
        /// (`AERON_ARCHIVE_SESSION_LIVENESS_CHECK_INTERVAL`, default 1 s).
        session_liveness_check_interval: Duration
    );
    setter!(
        /// A conductor duty cycle longer than this is counted by its "work cycle time exceeded" counter
        /// (`AERON_ARCHIVE_CONDUCTOR_CYCLE_THRESHOLD`, default 100 ms).
        conductor_cycle_threshold: Duration
    );
    setter!(
        /// The same for the recorder, in DEDICATED mode (`AERON_ARCHIVE_RECORDER_CYCLE_THRESHOLD`).
        recorder_cycle_threshold: Duration
    );
    setter!(
        /// The same for the replayer, in DEDICATED mode (`AERON_ARCHIVE_REPLAYER_CYCLE_THRESHOLD`).
        replayer_cycle_threshold: Duration
    );
    setter!(
        /// Most recordings at once.
        max_concurrent_recordings: usize
    );
    setter!(
        /// Most replays at once.
        max_concurrent_replays: usize
    );
    setter!(
        /// How the conductor's thread (every thread, in SHARED mode) waits when it has nothing to do
        /// (Aeron's backoff by default; `AERON_ARCHIVE_IDLE_STRATEGY`).
        idle_strategy: IdleStrategyKind
    );
    setter!(
        /// How the recorder's thread waits in DEDICATED mode (`AERON_ARCHIVE_RECORDER_IDLE_STRATEGY`).
        recorder_idle_strategy: IdleStrategyKind
    );
    setter!(
        /// How the replayer's thread waits in DEDICATED mode (`AERON_ARCHIVE_REPLAYER_IDLE_STRATEGY`).
        replayer_idle_strategy: IdleStrategyKind
    );

    /// Checksum of recorded frames, written into each frame's session id field in the segment files, and of
    /// catalog descriptors (`aeron.archive.record.checksum`, `AERON_ARCHIVE_RECORD_CHECKSUM`; default none).
    pub fn record_checksum(mut self, checksum: impl Into<Option<Checksum>>) -> Self {
        self.record_checksum = checksum.into();
        self
    }

    /// Checksum every replayed frame must match; a replay ends with an error at the first frame that does
    /// not (`aeron.archive.replay.checksum`, `AERON_ARCHIVE_REPLAY_CHECKSUM`; default none).
    pub fn replay_checksum(mut self, checksum: impl Into<Option<Checksum>>) -> Self {
        self.replay_checksum = checksum.into();
        self
    }

    /// Archive id (defaults to the archive's Aeron client id, as in Java).
    pub fn archive_id(mut self, id: i64) -> Self {
        self.archive_id = Some(id);
        self
    }

    /// Authenticator of control sessions (default: accept all).
    pub fn authenticator(mut self, authenticator: impl Authenticator + 'static) -> Self {
        self.authenticator = Arc::new(authenticator);
        self
    }

    /// Which requests each session may make (default: all; `AERON_ARCHIVE_AUTHORISATION_SERVICE_SUPPLIER`
    /// takes Aeron's `ALLOW_ALL` and `DENY_ALL`).
    pub fn authorisation_service(mut self, service: impl AuthorisationService + 'static) -> Self {
        self.authorisation_service = Arc::new(service);
        self
    }

    /// Directory of the mark file `archive-mark.dat` when it is not the archive directory
    /// (`AERON_ARCHIVE_MARK_FILE_DIR`). The archive directory then holds a link file, `archive-mark.lnk`,
    /// naming it, as Java's archive writes, and `oxeron catalog` follows it.
    pub fn mark_file_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.mark_file_dir = Some(dir.into());
        self
    }

    setter!(
        /// Bytes the catalog file is created with, or grown to when it is smaller
        /// (`AERON_ARCHIVE_CATALOG_CAPACITY`, default 1 MiB). It grows on its own when full.
        catalog_capacity: u64
    );
    setter!(
        /// Length of the mark file's error buffer, at least 1 MiB (`AERON_ARCHIVE_ERROR_BUFFER_LENGTH`).
        error_buffer_length: usize
    );
    setter!(
        /// A recording is not started or extended while the archive's file system has this many usable
        /// bytes or fewer (`AERON_ARCHIVE_LOW_STORAGE_SPACE_THRESHOLD`, default 128 MiB); the client gets a
        /// `STORAGE_SPACE` error.
        low_storage_space_threshold: u64
    );
    setter!(
        /// How long a replay publication lingers once drained, unless the replay channel has a `linger`
        /// of its own (`AERON_ARCHIVE_REPLAY_LINGER_TIMEOUT`, default 5 s).
        replay_linger_timeout: Duration
    );
    setter!(
        /// Most bytes read or written by one file call (`AERON_ARCHIVE_FILE_IO_MAX_LENGTH`, default 1 MiB).
        file_io_max_length: usize
    );
    setter!(
        /// Term length of control response streams whose channel has no `term-length`
        /// (`AERON_ARCHIVE_CONTROL_TERM_BUFFER_LENGTH`, default 64 KiB).
        control_term_buffer_length: i32
    );
    setter!(
        /// MTU of control response streams whose channel has no `mtu` (`AERON_ARCHIVE_CONTROL_MTU_LENGTH`).
        control_mtu_length: i32
    );
    setter!(
        /// Whether control streams' term buffers are sparse files unless their channel says
        /// (`AERON_ARCHIVE_CONTROL_TERM_BUFFER_SPARSE`, default true).
        control_term_buffer_sparse: bool
    );

    /// The directory the mark file is in: the mark file directory if set, else the archive directory.
    pub fn mark_file_dir_path(&self) -> &std::path::Path {
        self.mark_file_dir.as_deref().unwrap_or(&self.archive_dir)
    }

    /// The archive directory.
    pub fn archive_dir_path(&self) -> &std::path::Path {
        &self.archive_dir
    }

    /// Checks the settings as Java's `Archive.Context.conclude` does, naming the setting that is wrong:
    /// segment file length, file I/O block length, sync levels, and the media of the control channels.
    /// [`crate::server::Archive::launch`] calls it before it touches the archive directory.
    ///
    /// ```
    /// use oxeron_archive::server::Context;
    ///
    /// let error = Context::new().segment_file_length(1000).validate().unwrap_err();
    /// assert!(error.to_string().contains("AERON_ARCHIVE_SEGMENT_FILE_LENGTH"));
    /// ```
    pub fn validate(&self) -> Result<(), super::ArchiveLaunchError> {
        let fail = |setting: &str, problem: String| {
            Err(super::ArchiveLaunchError::InvalidSetting(format!(
                "{setting}: {problem}"
            )))
        };
        let term_range = 64 * 1024..=1024 * 1024 * 1024;
        let segment = self.segment_file_length;
        if !term_range.contains(&segment) || segment.count_ones() != 1 {
            return fail(
                "AERON_ARCHIVE_SEGMENT_FILE_LENGTH",
                format!("{segment} must be a power of two from 64 KiB to 1 GiB"),
            );
        }
        let io = self.file_io_max_length;
        if io < 64 * 1024 || !io.is_power_of_two() {
            return fail(
                "AERON_ARCHIVE_FILE_IO_MAX_LENGTH",
                format!("{io} must be a power of two of at least 64 KiB"),
            );
        }
        if self.catalog_file_sync_level.level() < self.file_sync_level.level() {
            return fail(
                "AERON_ARCHIVE_CATALOG_FILE_SYNC_LEVEL",
                format!(
                    "{} is below AERON_ARCHIVE_FILE_SYNC_LEVEL {}",
                    self.catalog_file_sync_level.level(),
                    self.file_sync_level.level()
                ),
            );
        }
        if self.control_channel_enabled && !self.control_channel.starts_with("aeron:udp") {
            return fail(
                "AERON_ARCHIVE_CONTROL_CHANNEL",
                format!("{} must be UDP media", self.control_channel),
            );
        }
        if !self.local_control_channel.starts_with("aeron:ipc") {
            return fail(
                "AERON_ARCHIVE_LOCAL_CONTROL_CHANNEL",
                format!("{} must be IPC media", self.local_control_channel),
            );
        }
        // The driver's own checks of a term length and an MTU, as Java's archive applies them.
        if let Err(e) = check_term_length(self.control_term_buffer_length.into()) {
            return fail("AERON_ARCHIVE_CONTROL_TERM_BUFFER_LENGTH", e.to_string());
        }
        if let Err(e) = check_mtu_length(self.control_mtu_length.into()) {
            return fail("AERON_ARCHIVE_CONTROL_MTU_LENGTH", e.to_string());
        }
        let errors = self.error_buffer_length;
        let most = i32::MAX as usize - oxeron_protocol::archive::MARK_FILE_HEADER_LENGTH;
        if !(ERROR_BUFFER_LENGTH_DEFAULT..=most).contains(&errors) {
            return fail(
                "AERON_ARCHIVE_ERROR_BUFFER_LENGTH",
                format!("{errors} must be from {ERROR_BUFFER_LENGTH_DEFAULT} to {most}"),
            );
        }
        let capacity = self.catalog_capacity;
        if !(crate::catalog::MIN_CATALOG_CAPACITY..=crate::catalog::MAX_CATALOG_CAPACITY)
            .contains(&capacity)
        {
            return fail(
                "AERON_ARCHIVE_CATALOG_CAPACITY",
                format!(
                    "{capacity} must be from {} to {}",
                    crate::catalog::MIN_CATALOG_CAPACITY,
                    crate::catalog::MAX_CATALOG_CAPACITY
                ),
            );
        }
        for (setting, timeout) in [
            ("AERON_ARCHIVE_CONNECT_TIMEOUT", self.connect_timeout),
            (
                "AERON_ARCHIVE_SESSION_LIVENESS_TIMEOUT",
                self.session_liveness_timeout,
            ),
        ] {
            if timeout.is_zero() {
                return fail(setting, "must be more than 0".into());
            }
        }
        Ok(())
    }
}

/// Settings of the Java archive that this archive cannot act on, refused rather than ignored: thread CPU
/// affinity (only -1, "no affinity", is taken), the deprecated entry count that catalog capacity replaced,
/// and a Java class as authenticator.
fn refuse_unsupported_env() -> Result<(), EnvError> {
    for name in [
        "AERON_ARCHIVE_CONDUCTOR_CPU_AFFINITY",
        "AERON_ARCHIVE_RECORDER_CPU_AFFINITY",
        "AERON_ARCHIVE_REPLAYER_CPU_AFFINITY",
    ] {
        if let Some(value) = env::string(name) {
            if value.trim() != "-1" {
                return Err(EnvError::new(
                    name,
                    &value,
                    "thread CPU affinity is not supported; use -1 or pin the process with taskset",
                ));
            }
        }
    }
    if let Some(value) = env::string("AERON_ARCHIVE_MAX_CATALOG_ENTRIES") {
        return Err(EnvError::new(
            "AERON_ARCHIVE_MAX_CATALOG_ENTRIES",
            &value,
            "deprecated in Aeron and not supported; set AERON_ARCHIVE_CATALOG_CAPACITY in bytes",
        ));
    }
    let authenticator = "AERON_ARCHIVE_AUTHENTICATOR_SUPPLIER";
    if let Some(value) = env::string(authenticator) {
        if value.trim() != "io.aeron.security.DefaultAuthenticatorSupplier" {
            return Err(EnvError::new(
                authenticator,
                &value,
                "a Java class cannot be loaded; give a Rust Authenticator with Context::authenticator",
            ));
        }
    }
    Ok(())
}
