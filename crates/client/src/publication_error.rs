//! Why an offer or claim did not append.

/// Why [`crate::Publication::offer`] (or a claim) appended nothing. Aeron's negative return codes, plus the
/// argument errors Aeron's C API reports as `ERROR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// No subscriber or receiver is connected (Aeron's `NOT_CONNECTED`, -1). The message was not sent.
    #[error("publication is not connected")]
    NotConnected,
    /// Subscribers are behind by a full window (`BACK_PRESSURED`, -2). Retry later.
    #[error("publication is back pressured")]
    BackPressured,
    /// The log rotated to a new term while offering (`ADMIN_ACTION`, -3). Retry at once.
    #[error("publication needs an admin action (term rotation); retry")]
    AdminAction,
    /// The publication is closed (`CLOSED`, -4).
    #[error("publication is closed")]
    Closed,
    /// The stream has reached the largest position its term length allows (`MAX_POSITION_EXCEEDED`, -5).
    #[error("publication reached its max position")]
    MaxPositionExceeded,
    /// The message is longer than the publication's max message length (or, for a claim, max payload length).
    #[error("message of {length} bytes exceeds the limit of {max} bytes")]
    MessageTooLong {
        /// Bytes offered.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// A pre-formatted block that does not match the publication's current term, session or stream.
    #[error("invalid block: {0}")]
    InvalidBlock(&'static str),
}

impl OfferError {
    /// Aeron's numeric code for this result (`ERROR`, -6, for argument errors).
    pub fn code(&self) -> i64 {
        match self {
            OfferError::NotConnected => -1,
            OfferError::BackPressured => -2,
            OfferError::AdminAction => -3,
            OfferError::Closed => -4,
            OfferError::MaxPositionExceeded => -5,
            OfferError::MessageTooLong { .. } | OfferError::InvalidBlock(_) => -6,
        }
    }

    /// True for the conditions a publisher normally retries: back pressure and admin action.
    pub fn is_retryable(&self) -> bool {
        matches!(self, OfferError::BackPressured | OfferError::AdminAction)
    }
}
