//! `AeronArchive`: the archive client. It speaks Aeron 1.54's archive control protocol, so it works with an
//! Oxeron archive and with Aeron's Java archive alike.
//!
//! ```no_run
//! use oxeron_archive::client::{AeronArchive, Context, ReplayParams};
//! use oxeron_archive::SourceLocation;
//!
//! let mut archive = AeronArchive::connect(
//!     Context::new()
//!         .aeron_dir("/dev/shm/aeron-example")
//!         .control_request_channel("aeron:ipc")
//!         .control_response_channel("aeron:ipc"),
//! )?;
//! let subscription_id = archive.start_recording("aeron:ipc", 1001, SourceLocation::Local, false)?;
//! // ... publish on aeron:ipc stream 1001 ...
//! archive.stop_recording_subscription(subscription_id)?;
//! let recording_id = archive.find_last_matching_recording(0, "aeron:ipc", 1001, -1)?;
//! let replay_session_id =
//!     archive.start_replay(recording_id, "aeron:ipc", 2001, ReplayParams::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod events;
mod persistent_subscription;
mod replay_merge;

pub use events::{RecordingEvent, RecordingEventsPoller};
pub use persistent_subscription::{
    PersistentState, PersistentSubscription, PersistentSubscriptionContext, FROM_LIVE, FROM_START,
};
pub use replay_merge::{MergeState, ReplayMerge, LIVE_ADD_MAX_WINDOW};

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxeron_client::{
    Aeron, AeronError, Context as AeronContext, ExclusivePublication, Header, OfferError,
    Subscription,
};
use oxeron_protocol::archive::{self as codec, ArchiveMessage, BooleanType, ControlResponseCode};
use oxeron_protocol::frame::data::{BEGIN_FLAG, END_FLAG};
use oxeron_protocol::uri::ChannelUri;

pub use oxeron_protocol::archive::{
    ArchiveErrorCode, RecordingSignal, SourceLocation, NULL_POSITION, REPLAY_ALL_AND_FOLLOW,
    REPLAY_ALL_AND_STOP,
};

/// Default control request channel of Java's `AeronArchive`.
pub const CONTROL_REQUEST_CHANNEL_DEFAULT: &str = "aeron:udp?endpoint=localhost:8010";
/// Default control response channel of Java's `AeronArchive`.
pub const CONTROL_RESPONSE_CHANNEL_DEFAULT: &str = "aeron:udp?endpoint=localhost:0";
/// Term length of the control channels the client creates (when the channel does not set one).
pub const CONTROL_TERM_BUFFER_LENGTH_DEFAULT: i32 = 64 * 1024;
/// MTU of the control channels the client creates (when the channel does not set one).
pub const CONTROL_MTU_LENGTH_DEFAULT: i32 = 1408;
/// Null recording id.
pub const NULL_RECORDING_ID: i64 = -1;
/// Null counter id (no bounding counter for a replay).
pub const NULL_COUNTER_ID: i32 = -1;

/// What went wrong in an archive operation.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The archive refused the request: its error code and message.
    #[error("archive error {code:?} (correlation id {correlation_id}): {message}")]
    Archive {
        /// The archive's error code.
        code: ArchiveErrorCode,
        /// The archive's message.
        message: String,
        /// Correlation id of the request.
        correlation_id: i64,
    },
    /// The Aeron client failed (driver timeout, closed client, driver error, ...).
    #[error(transparent)]
    Aeron(#[from] AeronError),
    /// No answer in the message timeout.
    #[error("timed out: {0}")]
    TimedOut(String),
    /// The control request publication is not connected to the archive.
    #[error("not connected: {0}")]
    NotConnected(String),
    /// The client was closed.
    #[error("archive client is closed")]
    Closed,
    /// The archive sent something this client could not use.
    #[error("archive protocol: {0}")]
    Protocol(String),
}

impl ArchiveError {
    /// The error an ERROR control response carries: its code in `relevant_id`.
    fn from_response(relevant_id: i64, message: String, correlation_id: i64) -> Self {
        Self::Archive {
            code: ArchiveErrorCode::from_i64(relevant_id).unwrap_or(ArchiveErrorCode::Generic),
            message,
            correlation_id,
        }
    }

    /// The archive's error code, for an error the archive reported.
    pub fn error_code(&self) -> Option<ArchiveErrorCode> {
        match self {
            Self::Archive { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Settings of an [`AeronArchive`] client, with Java's defaults.
#[derive(Clone)]
pub struct Context {
    aeron: Option<Aeron>,
    aeron_dir: Option<PathBuf>,
    control_request_channel: String,
    control_request_stream_id: i32,
    control_response_channel: String,
    control_response_stream_id: i32,
    message_timeout: Duration,
    credentials: Vec<u8>,
    on_challenge: Option<ChallengeHandler>,
    client_name: String,
}

/// Answers an archive's authentication challenge with credentials.
pub type ChallengeHandler = Arc<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("aeron_dir", &self.aeron_dir)
            .field("control_request_channel", &self.control_request_channel)
            .field("control_request_stream_id", &self.control_request_stream_id)
            .field("control_response_channel", &self.control_response_channel)
            .field(
                "control_response_stream_id",
                &self.control_response_stream_id,
            )
            .field("message_timeout", &self.message_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for Context {
    fn default() -> Self {
        Self {
            aeron: None,
            aeron_dir: None,
            control_request_channel: CONTROL_REQUEST_CHANNEL_DEFAULT.to_string(),
            control_request_stream_id: codec::CONTROL_STREAM_ID_DEFAULT,
            control_response_channel: CONTROL_RESPONSE_CHANNEL_DEFAULT.to_string(),
            control_response_stream_id: codec::CONTROL_RESPONSE_STREAM_ID_DEFAULT,
            message_timeout: Duration::from_secs(10),
            credentials: Vec::new(),
            on_challenge: None,
            client_name: String::new(),
        }
    }
}

impl Context {
    /// Java's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Defaults overridden by Aeron's environment variables (`AERON_DIR`, `AERON_ARCHIVE_CONTROL_CHANNEL`,
    /// `AERON_ARCHIVE_CONTROL_STREAM_ID`, `AERON_ARCHIVE_CONTROL_RESPONSE_CHANNEL`,
    /// `AERON_ARCHIVE_CONTROL_RESPONSE_STREAM_ID`, `AERON_ARCHIVE_MESSAGE_TIMEOUT`).
    pub fn from_env() -> Result<Self, oxeron_client::env::EnvError> {
        use oxeron_client::env;
        let mut c = Self {
            aeron_dir: env::path("AERON_DIR"),
            ..Self::default()
        };
        if let Some(v) = env::string("AERON_ARCHIVE_CONTROL_CHANNEL") {
            c.control_request_channel = v;
        }
        if let Some(v) = env::parsed("AERON_ARCHIVE_CONTROL_STREAM_ID")? {
            c.control_request_stream_id = v;
        }
        if let Some(v) = env::string("AERON_ARCHIVE_CONTROL_RESPONSE_CHANNEL") {
            c.control_response_channel = v;
        }
        if let Some(v) = env::parsed("AERON_ARCHIVE_CONTROL_RESPONSE_STREAM_ID")? {
            c.control_response_stream_id = v;
        }
        if let Some(v) = env::duration("AERON_ARCHIVE_MESSAGE_TIMEOUT")? {
            c.message_timeout = v;
        }
        Ok(c)
    }

    /// Uses an existing Aeron client instead of connecting a new one.
    pub fn aeron(mut self, aeron: Aeron) -> Self {
        self.aeron = Some(aeron);
        self
    }

    /// Aeron directory for the client this context connects (when no client is given).
    pub fn aeron_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.aeron_dir = Some(dir.into());
        self
    }

    /// Channel requests go to the archive on.
    pub fn control_request_channel(mut self, channel: impl Into<String>) -> Self {
        self.control_request_channel = channel.into();
        self
    }

    /// Stream id of the control requests.
    pub fn control_request_stream_id(mut self, stream_id: i32) -> Self {
        self.control_request_stream_id = stream_id;
        self
    }

    /// Channel the archive answers on.
    pub fn control_response_channel(mut self, channel: impl Into<String>) -> Self {
        self.control_response_channel = channel.into();
        self
    }

    /// Stream id of the control responses.
    pub fn control_response_stream_id(mut self, stream_id: i32) -> Self {
        self.control_response_stream_id = stream_id;
        self
    }

    /// How long to wait for each answer.
    pub fn message_timeout(mut self, timeout: Duration) -> Self {
        self.message_timeout = timeout;
        self
    }

    /// Credentials sent in the connect request.
    pub fn credentials(mut self, credentials: impl Into<Vec<u8>>) -> Self {
        self.credentials = credentials.into();
        self
    }

    /// Answers an authentication challenge (without one, a challenged connect fails).
    pub fn on_challenge(
        mut self,
        handler: impl Fn(&[u8]) -> Vec<u8> + Send + Sync + 'static,
    ) -> Self {
        self.on_challenge = Some(Arc::new(handler));
        self
    }

    /// Client name sent to the archive.
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }
}

/// A recording as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingDescriptor {
    /// Control session that asked for it.
    pub control_session_id: i64,
    /// Correlation id of the request.
    pub correlation_id: i64,
    /// Recording id.
    pub recording_id: i64,
    /// Epoch ms the recording started.
    pub start_timestamp: i64,
    /// Epoch ms it stopped (-1 while active).
    pub stop_timestamp: i64,
    /// First recorded position.
    pub start_position: i64,
    /// Position it stopped at (-1 while active).
    pub stop_position: i64,
    /// Initial term id of the recorded stream.
    pub initial_term_id: i32,
    /// Length of the segment files.
    pub segment_file_length: i32,
    /// Term length of the recorded stream.
    pub term_buffer_length: i32,
    /// MTU of the recorded stream.
    pub mtu_length: i32,
    /// Session id of the recorded stream.
    pub session_id: i32,
    /// Stream id of the recorded stream.
    pub stream_id: i32,
    /// Channel without tuning parameters.
    pub stripped_channel: String,
    /// Channel as given to start the recording.
    pub original_channel: String,
    /// Source of the recorded image.
    pub source_identity: String,
}

impl From<&codec::RecordingDescriptor<'_>> for RecordingDescriptor {
    fn from(d: &codec::RecordingDescriptor<'_>) -> Self {
        Self {
            control_session_id: d.control_session_id,
            correlation_id: d.correlation_id,
            recording_id: d.recording_id,
            start_timestamp: d.start_timestamp,
            stop_timestamp: d.stop_timestamp,
            start_position: d.start_position,
            stop_position: d.stop_position,
            initial_term_id: d.initial_term_id,
            segment_file_length: d.segment_file_length,
            term_buffer_length: d.term_buffer_length,
            mtu_length: d.mtu_length,
            session_id: d.session_id,
            stream_id: d.stream_id,
            stripped_channel: d.stripped_channel.to_string(),
            original_channel: d.original_channel.to_string(),
            source_identity: d.source_identity.to_string(),
        }
    }
}

/// A recording subscription the archive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSubscriptionDescriptor {
    /// Registration id of the subscription (what `start_recording` returned).
    pub subscription_id: i64,
    /// Stream id.
    pub stream_id: i32,
    /// Stripped channel.
    pub stripped_channel: String,
}

/// A recording signal sent to the session that started or extended a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingSignalEvent {
    /// Control session.
    pub control_session_id: i64,
    /// Correlation id of the request that caused it.
    pub correlation_id: i64,
    /// Recording.
    pub recording_id: i64,
    /// Recording subscription (-1 when not applicable).
    pub subscription_id: i64,
    /// Position of the signal.
    pub position: i64,
    /// What happened.
    pub signal: RecordingSignal,
}

/// How a replay runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayParams {
    /// Start position ([`NULL_POSITION`]: the recording's start).
    pub position: i64,
    /// Bytes to replay, or [`REPLAY_ALL_AND_FOLLOW`] / [`REPLAY_ALL_AND_STOP`].
    pub length: i64,
    /// Counter whose value bounds the replay ([`NULL_COUNTER_ID`]: none).
    pub bounding_limit_counter_id: i32,
    /// Largest read from the segment files (-1: the archive's default).
    pub file_io_max_length: i32,
    /// Replay token for response channels (-1: none).
    pub replay_token: i64,
}

/// Options of a replication ([`AeronArchive::replicate_with_params`]), as Java's `ReplicationParams`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationParams {
    /// Recording in this archive to extend, or [`NULL_RECORDING_ID`] for a new one.
    pub dst_recording_id: i64,
    /// Position to stop replicating at, or [`NULL_POSITION`] to follow the source recording.
    pub stop_position: i64,
    /// Destination of the live stream to merge with once caught up; empty for none.
    pub live_destination: String,
    /// Channel the replay from the source archive comes on; empty for the archive's replication channel.
    pub replication_channel: String,
    /// Response channel for the source archive's control session; empty for the default.
    pub src_response_channel: String,
    /// Tag of the replication channel, or -1.
    pub channel_tag_id: i64,
    /// Tag of the replication subscription, or -1.
    pub subscription_tag_id: i64,
    /// Largest read from the source archive's segment files (-1: its default).
    pub file_io_max_length: i32,
    /// Session id for the replicated replay (-1: chosen by the archive).
    pub replication_session_id: i32,
    /// Credentials for the source archive, if it authenticates.
    pub encoded_credentials: Vec<u8>,
}

impl Default for ReplicationParams {
    fn default() -> Self {
        Self {
            dst_recording_id: NULL_RECORDING_ID,
            stop_position: NULL_POSITION,
            live_destination: String::new(),
            replication_channel: String::new(),
            src_response_channel: String::new(),
            channel_tag_id: -1,
            subscription_tag_id: -1,
            file_io_max_length: -1,
            replication_session_id: -1,
            encoded_credentials: Vec::new(),
        }
    }
}

impl Default for ReplayParams {
    fn default() -> Self {
        Self {
            position: NULL_POSITION,
            length: REPLAY_ALL_AND_STOP,
            bounding_limit_counter_id: NULL_COUNTER_ID,
            file_io_max_length: -1,
            replay_token: -1,
        }
    }
}

impl ReplayParams {
    /// From `position` for `length` bytes.
    pub fn new(position: i64, length: i64) -> Self {
        Self {
            position,
            length,
            ..Self::default()
        }
    }
}

#[derive(Debug)]
enum Incoming {
    Response {
        correlation_id: i64,
        relevant_id: i64,
        code: ControlResponseCode,
        message: String,
    },
    Descriptor(RecordingDescriptor),
    SubscriptionDescriptor(i64, RecordingSubscriptionDescriptor),
    Challenge {
        correlation_id: i64,
        control_session_id: i64,
        challenge: Vec<u8>,
    },
}

/// What answered a connect (or any plain) request.
pub(crate) enum ConnectReply {
    Accepted(i64),
    Challenged(i64, Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnectStep {
    AddPublication(i64),
    AddSubscription(i64),
    AwaitPublicationConnected,
    SendConnect,
    AwaitConnectReply(i64),
    AwaitArchiveId(i64),
}

/// A connect in progress ([`AeronArchive::async_connect`]): call [`AsyncConnect::poll`] until it hands
/// over the connected client.
pub struct AsyncConnect {
    ctx: Context,
    aeron: Aeron,
    step: ConnectStep,
    deadline: Instant,
    publication: Option<ExclusivePublication>,
    response_channel: String,
    archive: Option<AeronArchive>,
}

impl std::fmt::Debug for AsyncConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncConnect")
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl AsyncConnect {
    /// Advances the connect without blocking; `Some` once connected.
    pub fn poll(&mut self) -> Result<Option<AeronArchive>, ArchiveError> {
        if Instant::now() > self.deadline {
            return Err(ArchiveError::TimedOut(format!(
                "archive connect timeout: step={:?}, control request channel {} stream {}",
                self.step, self.ctx.control_request_channel, self.ctx.control_request_stream_id
            )));
        }
        match self.step {
            ConnectStep::AddPublication(registration) => {
                if let Some(publication) = self.aeron.poll_exclusive_publication(registration)? {
                    self.response_channel = with_control_defaults(
                        &self.ctx.control_response_channel,
                        Some(publication.session_id()),
                    )?;
                    let registration = self.aeron.async_add_subscription(
                        &self.response_channel,
                        self.ctx.control_response_stream_id,
                    )?;
                    self.publication = Some(publication);
                    self.step = ConnectStep::AddSubscription(registration);
                }
            }
            ConnectStep::AddSubscription(registration) => {
                if let Some(subscription) = self.aeron.poll_subscription(registration)? {
                    let Some(publication) = self.publication.take() else {
                        return Err(ArchiveError::Closed);
                    };
                    self.archive = Some(AeronArchive {
                        aeron: self.aeron.clone(),
                        publication,
                        subscription,
                        control_session_id: codec::NULL_I64,
                        archive_id: codec::NULL_I64,
                        message_timeout: self.ctx.message_timeout,
                        inbox: VecDeque::new(),
                        signals: VecDeque::new(),
                        async_errors: VecDeque::new(),
                        partial: HashMap::new(),
                        closed: false,
                    });
                    self.step = ConnectStep::AwaitPublicationConnected;
                }
            }
            ConnectStep::AwaitPublicationConnected => {
                if self
                    .archive
                    .as_ref()
                    .is_some_and(|a| a.publication.is_connected())
                {
                    self.step = ConnectStep::SendConnect;
                }
            }
            ConnectStep::SendConnect => {
                let Some(archive) = self.archive.as_mut() else {
                    return Err(ArchiveError::Closed);
                };
                let correlation_id = archive.aeron.next_correlation_id();
                let client_info = format!(
                    "name={} version={}",
                    self.ctx.client_name,
                    env!("CARGO_PKG_VERSION")
                );
                let request = codec::AuthConnectRequest {
                    correlation_id,
                    response_stream_id: self.ctx.control_response_stream_id,
                    version: codec::PROTOCOL_SEMANTIC_VERSION,
                    response_channel: &self.response_channel,
                    encoded_credentials: &self.ctx.credentials,
                    client_info: &client_info,
                }
                .to_vec();
                if archive.try_send(&request)? {
                    self.step = ConnectStep::AwaitConnectReply(correlation_id);
                }
            }
            ConnectStep::AwaitConnectReply(correlation_id) => {
                let Some(archive) = self.archive.as_mut() else {
                    return Err(ArchiveError::Closed);
                };
                match archive.take_connect_reply(correlation_id)? {
                    None => {}
                    Some(ConnectReply::Accepted(control_session_id)) => {
                        archive.control_session_id = control_session_id;
                        let correlation_id = archive.aeron.next_correlation_id();
                        let request = codec::ArchiveIdRequest {
                            control_session_id,
                            correlation_id,
                        }
                        .to_vec();
                        archive.send(&request)?;
                        self.step = ConnectStep::AwaitArchiveId(correlation_id);
                    }
                    Some(ConnectReply::Challenged(control_session_id, challenge)) => {
                        let Some(handler) = self.ctx.on_challenge.clone() else {
                            return Err(ArchiveError::Archive {
                                code: ArchiveErrorCode::AuthenticationRejected,
                                message:
                                    "the archive sent a challenge and no challenge handler is set"
                                        .into(),
                                correlation_id,
                            });
                        };
                        let credentials = handler(&challenge);
                        let correlation_id = archive.aeron.next_correlation_id();
                        let response = codec::ChallengeResponse {
                            control_session_id,
                            correlation_id,
                            encoded_credentials: &credentials,
                        }
                        .to_vec();
                        archive.send(&response)?;
                        self.step = ConnectStep::AwaitConnectReply(correlation_id);
                    }
                }
            }
            ConnectStep::AwaitArchiveId(correlation_id) => {
                let Some(archive) = self.archive.as_mut() else {
                    return Err(ArchiveError::Closed);
                };
                if let Some(ConnectReply::Accepted(archive_id)) =
                    archive.take_connect_reply(correlation_id)?
                {
                    archive.archive_id = archive_id;
                    let keep_alive = codec::KeepAliveRequest {
                        control_session_id: archive.control_session_id,
                        correlation_id: NULL_POSITION,
                    }
                    .to_vec();
                    archive.send(&keep_alive)?;
                    return Ok(self.archive.take());
                }
            }
        }
        Ok(None)
    }
}

/// A connected archive client. Operations block until the archive answers or the message timeout passes.
///
/// ```no_run
/// use oxeron_archive::client::{AeronArchive, Context, ReplayParams};
/// use oxeron_archive::SourceLocation;
///
/// // An archive on this host, reached on its local (IPC) control channel.
/// let mut archive = AeronArchive::connect(
///     Context::new().control_request_channel("aeron:ipc").control_response_channel("aeron:ipc"),
/// )?;
/// archive.start_recording("aeron:udp?endpoint=localhost:40123", 1001, SourceLocation::Remote, false)?;
/// archive.list_recordings(0, 100, |recording| {
///     println!("{} {} {}..{}", recording.recording_id, recording.original_channel,
///         recording.start_position, recording.stop_position);
/// })?;
/// let (_replay_session_id, mut replay) = archive.replay(0, "aeron:ipc", 2001, ReplayParams::default())?;
/// replay.poll(|message: &[u8], _header: &_| println!("{message:?}"), 10);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AeronArchive {
    aeron: Aeron,
    publication: ExclusivePublication,
    subscription: Subscription,
    control_session_id: i64,
    archive_id: i64,
    message_timeout: Duration,
    inbox: VecDeque<Incoming>,
    signals: VecDeque<RecordingSignalEvent>,
    async_errors: VecDeque<ArchiveError>,
    partial: HashMap<i32, Vec<u8>>,
    closed: bool,
}

impl std::fmt::Debug for AeronArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AeronArchive")
            .field("control_session_id", &self.control_session_id)
            .field("archive_id", &self.archive_id)
            .finish_non_exhaustive()
    }
}

fn with_control_defaults(channel: &str, session_id: Option<i32>) -> Result<String, ArchiveError> {
    let mut uri = ChannelUri::parse(channel)
        .map_err(|e| ArchiveError::Protocol(format!("channel {channel:?}: {e}")))?;
    let mut set = |key: &str, value: String| {
        if !uri.contains_key(key) {
            let _ = uri.set(key, &value);
        }
    };
    if let Some(id) = session_id {
        set("session-id", id.to_string());
    }
    set(
        "term-length",
        CONTROL_TERM_BUFFER_LENGTH_DEFAULT.to_string(),
    );
    set("sparse", "true".to_string());
    set("mtu", CONTROL_MTU_LENGTH_DEFAULT.to_string());
    Ok(uri.to_string())
}

impl AeronArchive {
    /// Connects to the archive: creates the request publication and response subscription, sends the
    /// connect request (answering a challenge if the archive's authenticator sends one), waits for the
    /// archive to accept the session, then asks for the archive id. Blocks up to the message timeout.
    pub fn connect(ctx: Context) -> Result<Self, ArchiveError> {
        let mut connect = Self::async_connect(ctx)?;
        loop {
            if let Some(archive) = connect.poll()? {
                return Ok(archive);
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }

    /// Starts connecting without blocking; drive it with [`AsyncConnect::poll`].
    pub fn async_connect(ctx: Context) -> Result<AsyncConnect, ArchiveError> {
        let aeron = match ctx.aeron.clone() {
            Some(aeron) => aeron,
            None => {
                let mut client = AeronContext::new();
                if let Some(dir) = &ctx.aeron_dir {
                    client = client.aeron_dir(dir.clone());
                }
                Aeron::connect(client)?
            }
        };
        let request_channel = with_control_defaults(&ctx.control_request_channel, None)?;
        let registration = aeron
            .async_add_exclusive_publication(&request_channel, ctx.control_request_stream_id)?;
        Ok(AsyncConnect {
            deadline: Instant::now() + ctx.message_timeout,
            ctx,
            aeron,
            step: ConnectStep::AddPublication(registration),
            publication: None,
            response_channel: String::new(),
            archive: None,
        })
    }

    /// The control session id the archive gave this client.
    pub fn control_session_id(&self) -> i64 {
        self.control_session_id
    }

    /// The archive's id.
    pub fn archive_id(&self) -> i64 {
        self.archive_id
    }

    /// The Aeron client used.
    pub fn aeron(&self) -> &Aeron {
        &self.aeron
    }

    /// One attempt to send; `Ok(false)` when the publication can't take it now.
    pub(crate) fn try_send(&mut self, message: &[u8]) -> Result<bool, ArchiveError> {
        match self.publication.offer(message) {
            Ok(_) => Ok(true),
            Err(OfferError::Closed) => Err(ArchiveError::Closed),
            Err(OfferError::BackPressured | OfferError::AdminAction | OfferError::NotConnected) => {
                Ok(false)
            }
            Err(e) => Err(ArchiveError::Protocol(format!("control request: {e}"))),
        }
    }

    /// The connect step's answer to `correlation_id`, if it arrived.
    pub(crate) fn take_connect_reply(
        &mut self,
        correlation_id: i64,
    ) -> Result<Option<ConnectReply>, ArchiveError> {
        self.poll();
        let mut reply = None;
        let mut rest = VecDeque::new();
        while let Some(incoming) = self.inbox.pop_front() {
            match incoming {
                Incoming::Response {
                    correlation_id: c,
                    relevant_id,
                    code,
                    message,
                } if c == correlation_id && reply.is_none() => {
                    reply = Some(match code {
                        ControlResponseCode::Ok => Ok(ConnectReply::Accepted(relevant_id)),
                        _ => Err(ArchiveError::from_response(
                            relevant_id,
                            message,
                            correlation_id,
                        )),
                    });
                }
                Incoming::Challenge {
                    correlation_id: c,
                    control_session_id,
                    challenge,
                } if c == correlation_id && reply.is_none() => {
                    reply = Some(Ok(ConnectReply::Challenged(control_session_id, challenge)));
                }
                other => rest.push_back(other),
            }
        }
        self.inbox = rest;
        reply.transpose()
    }

    /// The descriptor answering a list request `correlation_id`: `Some(None)` when the recording is unknown.
    pub(crate) fn take_descriptor(
        &mut self,
        correlation_id: i64,
    ) -> Result<Option<Option<RecordingDescriptor>>, ArchiveError> {
        self.poll();
        let mut found = None;
        let mut rest = VecDeque::new();
        while let Some(incoming) = self.inbox.pop_front() {
            match incoming {
                Incoming::Descriptor(d)
                    if d.correlation_id == correlation_id && found.is_none() =>
                {
                    found = Some(Ok(Some(d)));
                }
                Incoming::Response {
                    correlation_id: c,
                    relevant_id,
                    code,
                    message,
                } if c == correlation_id && found.is_none() => {
                    found = Some(match code {
                        ControlResponseCode::Error => Err(ArchiveError::from_response(
                            relevant_id,
                            message,
                            correlation_id,
                        )),
                        _ => Ok(None),
                    });
                }
                other => rest.push_back(other),
            }
        }
        self.inbox = rest;
        found.transpose()
    }

    pub(crate) fn send(&mut self, message: &[u8]) -> Result<(), ArchiveError> {
        if self.closed {
            return Err(ArchiveError::Closed);
        }
        let deadline = Instant::now() + self.message_timeout;
        loop {
            match self.publication.offer(message) {
                Ok(_) => return Ok(()),
                Err(OfferError::Closed) => return Err(ArchiveError::Closed),
                Err(OfferError::MaxPositionExceeded) => {
                    return Err(ArchiveError::Protocol(
                        "control publication reached its max position".into(),
                    ))
                }
                Err(OfferError::MessageTooLong { length, max }) => {
                    return Err(ArchiveError::Protocol(format!(
                        "request of {length} bytes exceeds {max}"
                    )))
                }
                Err(e) => {
                    if self.aeron.is_closed() {
                        return Err(ArchiveError::Closed);
                    }
                    if Instant::now() > deadline {
                        return Err(match e {
                            OfferError::NotConnected => {
                                ArchiveError::NotConnected("control request publication".into())
                            }
                            other => ArchiveError::TimedOut(format!("sending a request: {other}")),
                        });
                    }
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
        }
    }

    /// Reads what the archive sent; returns how many messages for this session arrived.
    fn poll(&mut self) -> usize {
        let mut messages: Vec<Vec<u8>> = Vec::new();
        let partial = &mut self.partial;
        self.subscription.poll(
            |payload: &[u8], header: &Header| {
                let flags = header.flags();
                if flags & (BEGIN_FLAG | END_FLAG) == BEGIN_FLAG | END_FLAG {
                    messages.push(payload.to_vec());
                } else if flags & BEGIN_FLAG != 0 {
                    partial.insert(header.session_id(), payload.to_vec());
                } else if let Some(buffer) = partial.get_mut(&header.session_id()) {
                    buffer.extend_from_slice(payload);
                    if flags & END_FLAG != 0 {
                        if let Some(message) = partial.remove(&header.session_id()) {
                            messages.push(message);
                        }
                    }
                }
            },
            16,
        );
        let mut count = 0;
        for bytes in messages {
            let Ok(message) = ArchiveMessage::decode(&bytes) else {
                continue;
            };
            let session = self.control_session_id;
            let mine = |id: i64| session == codec::NULL_I64 || id == session;
            match message {
                ArchiveMessage::ControlResponse(r) if mine(r.control_session_id) => {
                    self.inbox.push_back(Incoming::Response {
                        correlation_id: r.correlation_id,
                        relevant_id: r.relevant_id,
                        code: r.code,
                        message: r.error_message.to_string(),
                    });
                    count += 1;
                }
                ArchiveMessage::RecordingDescriptor(d) if mine(d.control_session_id) => {
                    self.inbox
                        .push_back(Incoming::Descriptor(RecordingDescriptor::from(&d)));
                    count += 1;
                }
                ArchiveMessage::RecordingSubscriptionDescriptor(d)
                    if mine(d.control_session_id) =>
                {
                    self.inbox.push_back(Incoming::SubscriptionDescriptor(
                        d.correlation_id,
                        RecordingSubscriptionDescriptor {
                            subscription_id: d.subscription_id,
                            stream_id: d.stream_id,
                            stripped_channel: d.stripped_channel.to_string(),
                        },
                    ));
                    count += 1;
                }
                ArchiveMessage::Challenge(c) => {
                    self.inbox.push_back(Incoming::Challenge {
                        correlation_id: c.correlation_id,
                        control_session_id: c.control_session_id,
                        challenge: c.encoded_challenge.to_vec(),
                    });
                    count += 1;
                }
                ArchiveMessage::RecordingSignalEvent(s) if mine(s.control_session_id) => {
                    self.signals.push_back(RecordingSignalEvent {
                        control_session_id: s.control_session_id,
                        correlation_id: s.correlation_id,
                        recording_id: s.recording_id,
                        subscription_id: s.subscription_id,
                        position: s.position,
                        signal: s.signal,
                    });
                    count += 1;
                }
                _ => {}
            }
        }
        count
    }

    /// Waits for the response to `correlation_id`; collects descriptors on the way into `collected`.
    fn await_collect(
        &mut self,
        correlation_id: i64,
        mut on_descriptor: impl FnMut(&Incoming) -> bool,
    ) -> Result<(ControlResponseCode, i64), ArchiveError> {
        let deadline = Instant::now() + self.message_timeout;
        loop {
            while let Some(incoming) = self.inbox.pop_front() {
                match incoming {
                    Incoming::Response {
                        correlation_id: c,
                        relevant_id,
                        code,
                        message,
                    } if c == correlation_id => {
                        if code == ControlResponseCode::Error {
                            return Err(ArchiveError::from_response(
                                relevant_id,
                                message,
                                correlation_id,
                            ));
                        }
                        return Ok((code, relevant_id));
                    }
                    Incoming::Descriptor(d)
                        if d.correlation_id == correlation_id
                            && on_descriptor(&Incoming::Descriptor(d.clone())) =>
                    {
                        return Ok((ControlResponseCode::Ok, 0));
                    }
                    Incoming::SubscriptionDescriptor(c, d)
                        if c == correlation_id
                            && on_descriptor(&Incoming::SubscriptionDescriptor(c, d.clone())) =>
                    {
                        return Ok((ControlResponseCode::Ok, 0));
                    }
                    Incoming::Response {
                        correlation_id: c,
                        relevant_id,
                        code: ControlResponseCode::Error,
                        message,
                    } => self.async_errors.push_back(ArchiveError::from_response(
                        relevant_id,
                        message,
                        c,
                    )),
                    _ => {}
                }
            }
            if self.poll() == 0 {
                if self.aeron.is_closed() {
                    return Err(ArchiveError::Closed);
                }
                if !self.subscription.is_connected() && self.control_session_id != codec::NULL_I64 {
                    return Err(ArchiveError::NotConnected(
                        "control response subscription lost the archive".into(),
                    ));
                }
                if Instant::now() > deadline {
                    return Err(ArchiveError::TimedOut(format!(
                        "no response from the archive for correlation id {correlation_id} in {:?}",
                        self.message_timeout
                    )));
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }

    fn await_response(&mut self, correlation_id: i64) -> Result<i64, ArchiveError> {
        let (code, relevant) = self.await_collect(correlation_id, |_| false)?;
        if code != ControlResponseCode::Ok {
            return Err(ArchiveError::Protocol(format!(
                "unexpected response code {code:?}"
            )));
        }
        Ok(relevant)
    }

    fn request(&mut self, build: impl FnOnce(i64, i64) -> Vec<u8>) -> Result<i64, ArchiveError> {
        let correlation_id = self.aeron.next_correlation_id();
        let message = build(self.control_session_id, correlation_id);
        self.send(&message)?;
        self.await_response(correlation_id)
    }

    /// Starts recording `channel`/`stream_id`; returns the recording subscription's id. With `auto_stop`
    /// the subscription is removed when the recorded image ends.
    pub fn start_recording(
        &mut self,
        channel: &str,
        stream_id: i32,
        source_location: SourceLocation,
        auto_stop: bool,
    ) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StartRecordingRequest2 {
                control_session_id,
                correlation_id,
                stream_id,
                source_location,
                auto_stop: BooleanType::from(auto_stop),
                channel,
            }
            .to_vec()
        })
    }

    /// Extends a stopped recording with a new image of `channel`/`stream_id` that joins at its stop position.
    pub fn extend_recording(
        &mut self,
        recording_id: i64,
        channel: &str,
        stream_id: i32,
        source_location: SourceLocation,
        auto_stop: bool,
    ) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::ExtendRecordingRequest2 {
                control_session_id,
                correlation_id,
                recording_id,
                stream_id,
                source_location,
                auto_stop: BooleanType::from(auto_stop),
                channel,
            }
            .to_vec()
        })
    }

    /// Stops recording `channel`/`stream_id`.
    pub fn stop_recording(&mut self, channel: &str, stream_id: i32) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StopRecordingRequest {
                control_session_id,
                correlation_id,
                stream_id,
                channel,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Stops the recording subscription `subscription_id` (what `start_recording` returned).
    pub fn stop_recording_subscription(
        &mut self,
        subscription_id: i64,
    ) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StopRecordingSubscriptionRequest {
                control_session_id,
                correlation_id,
                subscription_id,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Stops the active recording `recording_id`; `false` if it was not active.
    pub fn stop_recording_by_identity(&mut self, recording_id: i64) -> Result<bool, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StopRecordingByIdentityRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
        .map(|stopped| stopped != 0)
    }

    fn collect_descriptors(
        &mut self,
        message: Vec<u8>,
        correlation_id: i64,
        count: i32,
        consumer: &mut dyn FnMut(&RecordingDescriptor),
    ) -> Result<usize, ArchiveError> {
        self.send(&message)?;
        let mut received = 0usize;
        let limit = usize::try_from(count).unwrap_or(0);
        let result = self.await_collect(correlation_id, |incoming| {
            if let Incoming::Descriptor(d) = incoming {
                consumer(d);
                received += 1;
            }
            received >= limit
        });
        match result {
            Ok(_) => Ok(received),
            Err(e) => Err(e),
        }
    }

    /// Lists up to `count` recordings from `from_recording_id`; returns how many were listed.
    pub fn list_recordings(
        &mut self,
        from_recording_id: i64,
        count: i32,
        mut consumer: impl FnMut(&RecordingDescriptor),
    ) -> Result<usize, ArchiveError> {
        let correlation_id = self.aeron.next_correlation_id();
        let message = codec::ListRecordingsRequest {
            control_session_id: self.control_session_id,
            correlation_id,
            from_recording_id,
            record_count: count,
        }
        .to_vec();
        self.collect_descriptors(message, correlation_id, count, &mut consumer)
    }

    /// Lists up to `count` recordings of `stream_id` whose channel contains `channel_fragment`.
    pub fn list_recordings_for_uri(
        &mut self,
        from_recording_id: i64,
        count: i32,
        channel_fragment: &str,
        stream_id: i32,
        mut consumer: impl FnMut(&RecordingDescriptor),
    ) -> Result<usize, ArchiveError> {
        let correlation_id = self.aeron.next_correlation_id();
        let message = codec::ListRecordingsForUriRequest {
            control_session_id: self.control_session_id,
            correlation_id,
            from_recording_id,
            record_count: count,
            stream_id,
            channel: channel_fragment,
        }
        .to_vec();
        self.collect_descriptors(message, correlation_id, count, &mut consumer)
    }

    /// Lists one recording; returns 0 if it does not exist.
    pub fn list_recording(
        &mut self,
        recording_id: i64,
        mut consumer: impl FnMut(&RecordingDescriptor),
    ) -> Result<usize, ArchiveError> {
        let correlation_id = self.aeron.next_correlation_id();
        let message = codec::ListRecordingRequest {
            control_session_id: self.control_session_id,
            correlation_id,
            recording_id,
        }
        .to_vec();
        self.collect_descriptors(message, correlation_id, 1, &mut consumer)
    }

    /// The descriptor of one recording, if it exists.
    pub fn recording_descriptor(
        &mut self,
        recording_id: i64,
    ) -> Result<Option<RecordingDescriptor>, ArchiveError> {
        let mut found = None;
        self.list_recording(recording_id, |d| found = Some(d.clone()))?;
        Ok(found)
    }

    /// Lists the archive's recording subscriptions (`pseudo_index` skips the first ones).
    pub fn list_recording_subscriptions(
        &mut self,
        pseudo_index: i32,
        count: i32,
        channel_fragment: &str,
        stream_id: i32,
        apply_stream_id: bool,
        mut consumer: impl FnMut(&RecordingSubscriptionDescriptor),
    ) -> Result<usize, ArchiveError> {
        let correlation_id = self.aeron.next_correlation_id();
        let message = codec::ListRecordingSubscriptionsRequest {
            control_session_id: self.control_session_id,
            correlation_id,
            pseudo_index,
            subscription_count: count,
            apply_stream_id: BooleanType::from(apply_stream_id),
            stream_id,
            channel: channel_fragment,
        }
        .to_vec();
        self.send(&message)?;
        let mut received = 0usize;
        let limit = usize::try_from(count).unwrap_or(0);
        self.await_collect(correlation_id, |incoming| {
            if let Incoming::SubscriptionDescriptor(_, d) = incoming {
                consumer(d);
                received += 1;
            }
            received >= limit
        })?;
        Ok(received)
    }

    /// The last recording at or above `min_recording_id` matching the channel fragment, stream and session
    /// (matched exactly, as in Aeron); [`NULL_RECORDING_ID`] if none.
    pub fn find_last_matching_recording(
        &mut self,
        min_recording_id: i64,
        channel_fragment: &str,
        stream_id: i32,
        session_id: i32,
    ) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::FindLastMatchingRecordingRequest {
                control_session_id,
                correlation_id,
                min_recording_id,
                session_id,
                stream_id,
                channel: channel_fragment,
            }
            .to_vec()
        })
    }

    /// Position recorded so far by an active recording ([`NULL_POSITION`] if it is not active).
    pub fn get_recording_position(&mut self, recording_id: i64) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::RecordingPositionRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
    }

    /// Stop position of a recording ([`NULL_POSITION`] while active).
    pub fn get_stop_position(&mut self, recording_id: i64) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StopPositionRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
    }

    /// Start position of a recording.
    pub fn get_start_position(&mut self, recording_id: i64) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StartPositionRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
    }

    /// Highest recorded position, active or not.
    pub fn get_max_recorded_position(&mut self, recording_id: i64) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::MaxRecordedPositionRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
    }

    /// Starts replaying a recording on `replay_channel`/`replay_stream_id`; returns the replay session id,
    /// whose low 32 bits are the session id of the replayed image.
    pub fn start_replay(
        &mut self,
        recording_id: i64,
        replay_channel: &str,
        replay_stream_id: i32,
        params: ReplayParams,
    ) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            if params.bounding_limit_counter_id != NULL_COUNTER_ID {
                codec::BoundedReplayRequest {
                    control_session_id,
                    correlation_id,
                    recording_id,
                    position: params.position,
                    length: params.length,
                    limit_counter_id: params.bounding_limit_counter_id,
                    replay_stream_id,
                    file_io_max_length: params.file_io_max_length,
                    replay_token: params.replay_token,
                    replay_channel,
                }
                .to_vec()
            } else {
                codec::ReplayRequest {
                    control_session_id,
                    correlation_id,
                    recording_id,
                    position: params.position,
                    length: params.length,
                    replay_stream_id,
                    file_io_max_length: params.file_io_max_length,
                    replay_token: params.replay_token,
                    replay_channel,
                }
                .to_vec()
            }
        })
    }

    /// Subscribes to the replay's image (its session id in the channel) and starts the replay.
    pub fn replay(
        &mut self,
        recording_id: i64,
        replay_channel: &str,
        replay_stream_id: i32,
        params: ReplayParams,
    ) -> Result<(i64, Subscription), ArchiveError> {
        let replay_session_id =
            self.start_replay(recording_id, replay_channel, replay_stream_id, params)?;
        let mut uri = ChannelUri::parse(replay_channel)
            .map_err(|e| ArchiveError::Protocol(format!("replay channel: {e}")))?;
        let _ = uri.set("session-id", &(replay_session_id as i32).to_string());
        let subscription = self
            .aeron
            .add_subscription(&uri.to_string(), replay_stream_id)?;
        Ok((replay_session_id, subscription))
    }

    /// Stops a replay.
    pub fn stop_replay(&mut self, replay_session_id: i64) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StopReplayRequest {
                control_session_id,
                correlation_id,
                replay_session_id,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Stops every replay of `recording_id` ([`NULL_RECORDING_ID`]: every replay).
    pub fn stop_all_replays(&mut self, recording_id: i64) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StopAllReplaysRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Cuts a stopped recording back to `position`.
    pub fn truncate_recording(
        &mut self,
        recording_id: i64,
        position: i64,
    ) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::TruncateRecordingRequest {
                control_session_id,
                correlation_id,
                recording_id,
                position,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Deletes a stopped recording and its files.
    pub fn purge_recording(&mut self, recording_id: i64) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::PurgeRecordingRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Replicates `src_recording_id` from the archive at `src_control_channel`/`src_control_stream_id` into
    /// this archive, as a new recording ([`NULL_RECORDING_ID`]) or onto the end of `dst_recording_id`;
    /// returns the replication id. Progress comes as recording signals (REPLICATE, EXTEND, STOP, SYNC,
    /// REPLICATE_END). `replication_channel` empty uses the archive's replication channel. See
    /// [`replicate_with_params`](Self::replicate_with_params) for the other options.
    pub fn replicate(
        &mut self,
        src_recording_id: i64,
        dst_recording_id: i64,
        src_control_stream_id: i32,
        src_control_channel: &str,
        replication_channel: &str,
    ) -> Result<i64, ArchiveError> {
        let params = ReplicationParams {
            dst_recording_id,
            replication_channel: replication_channel.to_string(),
            ..ReplicationParams::default()
        };
        self.replicate_with_params(
            src_recording_id,
            src_control_stream_id,
            src_control_channel,
            &params,
        )
    }

    /// Replicates `src_recording_id` from the archive at `src_control_channel`/`src_control_stream_id` with
    /// the options in `params` (Java's `AeronArchive.replicate(..., ReplicationParams)`); returns the
    /// replication id.
    pub fn replicate_with_params(
        &mut self,
        src_recording_id: i64,
        src_control_stream_id: i32,
        src_control_channel: &str,
        params: &ReplicationParams,
    ) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::ReplicateRequest2 {
                control_session_id,
                correlation_id,
                src_recording_id,
                dst_recording_id: params.dst_recording_id,
                stop_position: params.stop_position,
                channel_tag_id: params.channel_tag_id,
                subscription_tag_id: params.subscription_tag_id,
                src_control_stream_id,
                file_io_max_length: params.file_io_max_length,
                replication_session_id: params.replication_session_id,
                src_control_channel,
                live_destination: &params.live_destination,
                replication_channel: &params.replication_channel,
                encoded_credentials: &params.encoded_credentials,
                src_response_channel: &params.src_response_channel,
            }
            .to_vec()
        })
    }

    /// Asks for a replay token for `recording_id` (Java's `requestReplayToken`): it lets a replay requested on
    /// a response channel act for this session, until the archive's connect timeout passes.
    pub fn request_replay_token(&mut self, recording_id: i64) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::ReplayTokenRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
    }

    /// Replaces the channel a recording's descriptor shows (original and stripped), e.g. after the
    /// publisher moved; the recorded data does not change.
    pub fn update_channel(&mut self, recording_id: i64, channel: &str) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::UpdateChannelRequest {
                control_session_id,
                correlation_id,
                recording_id,
                channel,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Moves the segment files of stopped recording `src_recording_id` to `dst_recording_id`, which
    /// continues it (or is continued by it) with the same stream parameters, joined on a segment boundary:
    /// `dst` then covers both and `src` is left empty. Returns how many segment files moved.
    pub fn migrate_segments(
        &mut self,
        src_recording_id: i64,
        dst_recording_id: i64,
    ) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::MigrateSegmentsRequest {
                control_session_id,
                correlation_id,
                src_recording_id,
                dst_recording_id,
            }
            .to_vec()
        })
    }

    /// Stops a replication.
    pub fn stop_replication(&mut self, replication_id: i64) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StopReplicationRequest {
                control_session_id,
                correlation_id,
                replication_id,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Moves a recording's start to `new_start_position` (a segment boundary), detaching the segment files
    /// before it without deleting them.
    pub fn detach_segments(
        &mut self,
        recording_id: i64,
        new_start_position: i64,
    ) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::DetachSegmentsRequest {
                control_session_id,
                correlation_id,
                recording_id,
                new_start_position,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Deletes detached segment files; returns how many were deleted.
    pub fn delete_detached_segments(&mut self, recording_id: i64) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::DeleteDetachedSegmentsRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
    }

    /// Detaches and deletes the segment files before `new_start_position`; returns how many were deleted.
    pub fn purge_segments(
        &mut self,
        recording_id: i64,
        new_start_position: i64,
    ) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::PurgeSegmentsRequest {
                control_session_id,
                correlation_id,
                recording_id,
                new_start_position,
            }
            .to_vec()
        })
    }

    /// Re-attaches detached segment files still on disk; returns how many were attached.
    pub fn attach_segments(&mut self, recording_id: i64) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::AttachSegmentsRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
    }

    /// An error the archive reported for an earlier request after answering it (e.g. a replay whose
    /// subscriber never connected), if one arrived.
    pub fn poll_for_errors(&mut self) -> Option<ArchiveError> {
        self.poll();
        let mut rest = VecDeque::new();
        while let Some(incoming) = self.inbox.pop_front() {
            match incoming {
                Incoming::Response {
                    correlation_id,
                    relevant_id,
                    code: ControlResponseCode::Error,
                    message,
                } => self.async_errors.push_back(ArchiveError::from_response(
                    relevant_id,
                    message,
                    correlation_id,
                )),
                other => rest.push_back(other),
            }
        }
        self.inbox = rest;
        self.async_errors.pop_front()
    }

    /// Hands every recording signal received so far to `handler`; returns how many.
    pub fn poll_for_recording_signals(
        &mut self,
        mut handler: impl FnMut(&RecordingSignalEvent),
    ) -> usize {
        self.poll();
        let mut count = 0;
        while let Some(signal) = self.signals.pop_front() {
            handler(&signal);
            count += 1;
        }
        count
    }

    /// Waits (up to the message timeout) for `signal` on `recording_id`... or any recording when `None`;
    /// returns the event. Other signals seen on the way stay queued, in order, for later calls and for
    /// [`poll_for_recording_signals`](Self::poll_for_recording_signals).
    pub fn await_recording_signal(
        &mut self,
        recording_id: Option<i64>,
        signal: RecordingSignal,
    ) -> Result<RecordingSignalEvent, ArchiveError> {
        let deadline = Instant::now() + self.message_timeout;
        loop {
            self.poll();
            let matching = self.signals.iter().position(|event| {
                event.signal == signal && recording_id.is_none_or(|id| id == event.recording_id)
            });
            if let Some(event) = matching.and_then(|index| self.signals.remove(index)) {
                return Ok(event);
            }
            if Instant::now() > deadline {
                return Err(ArchiveError::TimedOut(format!(
                    "no {signal:?} signal in {:?}",
                    self.message_timeout
                )));
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }

    /// Closes the control session (the archive keeps recording and replaying).
    pub fn close(mut self) {
        self.close_session();
    }

    fn close_session(&mut self) {
        if self.closed {
            return;
        }
        let message = codec::CloseSessionRequest {
            control_session_id: self.control_session_id,
        }
        .to_vec();
        let _ = self.publication.offer(&message);
        self.closed = true;
    }
}

impl Drop for AeronArchive {
    fn drop(&mut self) {
        self.close_session();
    }
}
