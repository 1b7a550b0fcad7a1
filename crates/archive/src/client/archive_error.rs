//! What an archive operation can fail with: the archive's own error responses, timeouts and the client's.

use super::*;

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
    pub(super) fn from_response(relevant_id: i64, message: String, correlation_id: i64) -> Self {
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
