//! Aeron's error codes, carried by ON_ERROR and ON_PUBLICATION_ERROR responses and by ERR frames.

use std::fmt;

/// An Aeron error code (`io.aeron.ErrorCode`, `AERON_ERROR_CODE_*`).
///
/// [`ErrorCode::from_i32`] keeps values Aeron does not define in [`ErrorCode::Other`], so decoding and
/// re-encoding any value gives back the same `i32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// -1: used by clients for codes they cannot decode.
    UnknownCodeValue,
    /// 0: legacy generic code.
    Unused,
    /// 1: the channel URI is invalid.
    InvalidChannel,
    /// 2: no subscription with the given registration id.
    UnknownSubscription,
    /// 3: no publication with the given registration id.
    UnknownPublication,
    /// 4: the channel endpoint could not be created or used.
    ChannelEndpointError,
    /// 5: no counter with the given registration id.
    UnknownCounter,
    /// 6: the driver does not know the command's type id.
    UnknownCommandTypeId,
    /// 7: the command was too short or its fields were inconsistent.
    MalformedCommand,
    /// 8: the operation is not supported.
    NotSupported,
    /// 9: a host name could not be resolved.
    UnknownHost,
    /// 10: a resource is temporarily unavailable; the operation may be retried.
    ResourceTemporarilyUnavailable,
    /// 11: any other error.
    GenericError,
    /// 12: not enough storage space.
    StorageSpace,
    /// 13: an image was rejected.
    ImageRejected,
    /// 14: the publication was revoked.
    PublicationRevoked,
    /// A value Aeron does not define, kept as received.
    Other(i32),
}

impl ErrorCode {
    /// Every code Aeron defines, in value order.
    pub const KNOWN: [ErrorCode; 16] = [
        ErrorCode::UnknownCodeValue,
        ErrorCode::Unused,
        ErrorCode::InvalidChannel,
        ErrorCode::UnknownSubscription,
        ErrorCode::UnknownPublication,
        ErrorCode::ChannelEndpointError,
        ErrorCode::UnknownCounter,
        ErrorCode::UnknownCommandTypeId,
        ErrorCode::MalformedCommand,
        ErrorCode::NotSupported,
        ErrorCode::UnknownHost,
        ErrorCode::ResourceTemporarilyUnavailable,
        ErrorCode::GenericError,
        ErrorCode::StorageSpace,
        ErrorCode::ImageRejected,
        ErrorCode::PublicationRevoked,
    ];

    /// The code for a wire value; values Aeron does not define become [`ErrorCode::Other`].
    pub const fn from_i32(value: i32) -> Self {
        match value {
            -1 => Self::UnknownCodeValue,
            0 => Self::Unused,
            1 => Self::InvalidChannel,
            2 => Self::UnknownSubscription,
            3 => Self::UnknownPublication,
            4 => Self::ChannelEndpointError,
            5 => Self::UnknownCounter,
            6 => Self::UnknownCommandTypeId,
            7 => Self::MalformedCommand,
            8 => Self::NotSupported,
            9 => Self::UnknownHost,
            10 => Self::ResourceTemporarilyUnavailable,
            11 => Self::GenericError,
            12 => Self::StorageSpace,
            13 => Self::ImageRejected,
            14 => Self::PublicationRevoked,
            other => Self::Other(other),
        }
    }

    /// The wire value.
    pub const fn as_i32(self) -> i32 {
        match self {
            Self::UnknownCodeValue => -1,
            Self::Unused => 0,
            Self::InvalidChannel => 1,
            Self::UnknownSubscription => 2,
            Self::UnknownPublication => 3,
            Self::ChannelEndpointError => 4,
            Self::UnknownCounter => 5,
            Self::UnknownCommandTypeId => 6,
            Self::MalformedCommand => 7,
            Self::NotSupported => 8,
            Self::UnknownHost => 9,
            Self::ResourceTemporarilyUnavailable => 10,
            Self::GenericError => 11,
            Self::StorageSpace => 12,
            Self::ImageRejected => 13,
            Self::PublicationRevoked => 14,
            Self::Other(value) => value,
        }
    }

    /// Aeron's name for the code (`MALFORMED_COMMAND`, ...); `None` for [`ErrorCode::Other`].
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::UnknownCodeValue => "UNKNOWN_CODE_VALUE",
            Self::Unused => "UNUSED",
            Self::InvalidChannel => "INVALID_CHANNEL",
            Self::UnknownSubscription => "UNKNOWN_SUBSCRIPTION",
            Self::UnknownPublication => "UNKNOWN_PUBLICATION",
            Self::ChannelEndpointError => "CHANNEL_ENDPOINT_ERROR",
            Self::UnknownCounter => "UNKNOWN_COUNTER",
            Self::UnknownCommandTypeId => "UNKNOWN_COMMAND_TYPE_ID",
            Self::MalformedCommand => "MALFORMED_COMMAND",
            Self::NotSupported => "NOT_SUPPORTED",
            Self::UnknownHost => "UNKNOWN_HOST",
            Self::ResourceTemporarilyUnavailable => "RESOURCE_TEMPORARILY_UNAVAILABLE",
            Self::GenericError => "GENERIC_ERROR",
            Self::StorageSpace => "STORAGE_SPACE",
            Self::ImageRejected => "IMAGE_REJECTED",
            Self::PublicationRevoked => "PUBLICATION_REVOKED",
            Self::Other(_) => return None,
        })
    }
}

impl From<i32> for ErrorCode {
    fn from(value: i32) -> Self {
        Self::from_i32(value)
    }
}

impl From<ErrorCode> for i32 {
    fn from(code: ErrorCode) -> Self {
        code.as_i32()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "UNKNOWN_CODE_VALUE({})", self.as_i32()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_codes_have_aeron_values_and_names() {
        for (code, value) in ErrorCode::KNOWN.iter().zip(-1..) {
            assert_eq!(code.as_i32(), value);
            assert_eq!(ErrorCode::from_i32(value), *code);
        }
        assert_eq!(ErrorCode::MalformedCommand.as_i32(), 7);
        assert_eq!(ErrorCode::MalformedCommand.to_string(), "MALFORMED_COMMAND");
        assert_eq!(
            ErrorCode::ResourceTemporarilyUnavailable.to_string(),
            "RESOURCE_TEMPORARILY_UNAVAILABLE"
        );
        assert_eq!(ErrorCode::PublicationRevoked.as_i32(), 14);
    }

    #[test]
    fn unknown_values_are_kept() {
        assert_eq!(ErrorCode::from_i32(15), ErrorCode::Other(15));
        assert_eq!(ErrorCode::from_i32(-2).as_i32(), -2);
        assert_eq!(ErrorCode::Other(99).to_string(), "UNKNOWN_CODE_VALUE(99)");
    }

    proptest! {
        #[test]
        fn every_value_round_trips(value in any::<i32>()) {
            prop_assert_eq!(ErrorCode::from_i32(value).as_i32(), value);
            prop_assert_eq!(i32::from(ErrorCode::from(value)), value);
        }
    }
}
