//! Settings of an archive client, with Aeron's defaults and environment variables.

use super::*;

/// Settings of an [`AeronArchive`] client, with Java's defaults.
#[derive(Clone)]
pub struct Context {
    pub(super) aeron: Option<Aeron>,
    pub(super) aeron_dir: Option<PathBuf>,
    pub(super) control_request_channel: String,
    pub(super) control_request_stream_id: i32,
    pub(super) control_response_channel: String,
    pub(super) control_response_stream_id: i32,
    pub(super) message_timeout: Duration,
    pub(super) credentials: Vec<u8>,
    pub(super) on_challenge: Option<ChallengeHandler>,
    pub(super) client_name: String,
    pub(super) control_term_buffer_length: i32,
    pub(super) control_mtu_length: i32,
    pub(super) control_term_buffer_sparse: bool,
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
            control_term_buffer_length: CONTROL_TERM_BUFFER_LENGTH_DEFAULT,
            control_mtu_length: CONTROL_MTU_LENGTH_DEFAULT,
            control_term_buffer_sparse: true,
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
    /// `AERON_ARCHIVE_CONTROL_RESPONSE_STREAM_ID`, `AERON_ARCHIVE_MESSAGE_TIMEOUT`,
    /// `AERON_ARCHIVE_CONTROL_TERM_BUFFER_LENGTH`, `AERON_ARCHIVE_CONTROL_MTU_LENGTH`,
    /// `AERON_ARCHIVE_CONTROL_TERM_BUFFER_SPARSE`).
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
        if let Some(v) = env::size_i32("AERON_ARCHIVE_CONTROL_TERM_BUFFER_LENGTH")? {
            c.control_term_buffer_length = v;
        }
        if let Some(v) = env::size_i32("AERON_ARCHIVE_CONTROL_MTU_LENGTH")? {
            c.control_mtu_length = v;
        }
        if let Some(v) = env::boolean("AERON_ARCHIVE_CONTROL_TERM_BUFFER_SPARSE")? {
            c.control_term_buffer_sparse = v;
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

    /// Term length of the control channels where they do not set `term-length` (default 64 KiB).
    pub fn control_term_buffer_length(mut self, length: i32) -> Self {
        self.control_term_buffer_length = length;
        self
    }

    /// MTU of the control channels where they do not set `mtu` (default 1408).
    pub fn control_mtu_length(mut self, mtu: i32) -> Self {
        self.control_mtu_length = mtu;
        self
    }

    /// Whether the control channels' term buffers are sparse where they do not set `sparse` (default true).
    pub fn control_term_buffer_sparse(mut self, sparse: bool) -> Self {
        self.control_term_buffer_sparse = sparse;
        self
    }

    /// Client name sent to the archive.
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }
}
