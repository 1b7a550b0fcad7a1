//! The client's error type.

use oxeron_protocol::command::ErrorCode;

use crate::cnc_file::CncError;
use crate::logbuffer::LogBuffersError;

/// What can go wrong talking to the media driver.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AeronError {
    /// No live driver: `cnc.dat` missing or not ready in time, or the driver's heartbeat is older than the
    /// driver timeout (the driver died or hangs).
    #[error("driver timeout: {0}")]
    DriverTimeout(String),
    /// The driver timed this client out (no keepalive within its client liveness timeout).
    #[error("client timed out by the driver")]
    ClientTimeout,
    /// The client's conductor did not run for longer than the driver's liveness timeout.
    #[error("client conductor service interval exceeded: {0}")]
    ConductorServiceTimeout(String),
    /// The driver did not answer a request in time.
    #[error("timed out waiting for the driver: {0}")]
    TimedOut(String),
    /// The driver refused a request.
    #[error("driver error {code}: {message}")]
    Driver {
        /// Aeron's error code.
        code: ErrorCode,
        /// The driver's message.
        message: String,
    },
    /// The client is closed.
    #[error("client is closed")]
    Closed,
    /// Nothing is connected.
    #[error("not connected")]
    NotConnected,
    /// The command ring buffer to the driver is full.
    #[error("command buffer to the driver is full")]
    BufferFull,
    /// The broadcast from the driver lapped this client: responses were lost.
    #[error("unable to keep up with the driver's broadcast buffer")]
    BroadcastLapped,
    /// `cnc.dat` is unusable.
    #[error("{0}")]
    Cnc(String),
    /// A log buffer named by the driver could not be mapped.
    #[error("{0}")]
    LogBuffer(String),
    /// A request the client refuses before sending it.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl AeronError {
    /// The driver's error code, for errors the driver sent.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            AeronError::Driver { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl From<CncError> for AeronError {
    fn from(e: CncError) -> Self {
        AeronError::Cnc(e.to_string())
    }
}

impl From<LogBuffersError> for AeronError {
    fn from(e: LogBuffersError) -> Self {
        AeronError::LogBuffer(e.to_string())
    }
}
