//! The `int32`-encoded enums of the archive schema.
//!
//! Each keeps values it does not know (a newer peer's additions, or the SBE null value `i32::MIN`) in an
//! `Unknown` variant, so decoding never fails on them and re-encoding writes them back unchanged.

use super::sbe::SbeField;
use crate::le;

/// SBE null value of an `int32` enum.
pub const ENUM_NULL_VALUE: i32 = i32::MIN;

macro_rules! sbe_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $value:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this schema version does not define (includes the null value `i32::MIN`).
            Unknown(i32),
        }

        impl $name {
            /// The enum for an encoded value.
            pub const fn from_i32(value: i32) -> Self {
                match value {
                    $( $value => Self::$variant, )*
                    other => Self::Unknown(other),
                }
            }

            /// The encoded value.
            pub const fn value(self) -> i32 {
                match self {
                    $( Self::$variant => $value, )*
                    Self::Unknown(other) => other,
                }
            }
        }

        impl From<i32> for $name {
            fn from(value: i32) -> Self {
                Self::from_i32(value)
            }
        }

        impl From<$name> for i32 {
            fn from(value: $name) -> Self {
                value.value()
            }
        }

        impl SbeField for $name {
            const SIZE: usize = 4;
            fn read(bytes: &[u8], offset: usize) -> Self {
                Self::from_i32(le::get_i32(bytes, offset))
            }
            fn write(self, bytes: &mut [u8], offset: usize) {
                le::put_i32(bytes, offset, self.value())
            }
            fn from_sample(value: i64) -> Self {
                Self::from_i32(value as i32)
            }
        }
    };
}

sbe_enum! {
    /// Outcome of a control request (`ControlResponse.code`).
    ControlResponseCode {
        /// The request succeeded.
        Ok = 0,
        /// The request failed; `relevantId` holds an [`ArchiveErrorCode`] value.
        Error = 1,
        /// The recording id is unknown (also ends a recording listing).
        RecordingUnknown = 2,
        /// The subscription is unknown (also ends a recording-subscription listing).
        SubscriptionUnknown = 3,
    }
}

sbe_enum! {
    /// Whether the archive records through a local spy or a normal subscription.
    SourceLocation {
        /// The publication is on the archive's driver (recorded via spy for UDP).
        Local = 0,
        /// The publication is remote.
        Remote = 1,
    }
}

sbe_enum! {
    /// Language-independent boolean.
    BooleanType {
        /// False.
        False = 0,
        /// True.
        True = 1,
    }
}

sbe_enum! {
    /// What happened to a recording (`RecordingSignalEvent.signal`).
    RecordingSignal {
        /// Recording started.
        Start = 0,
        /// Recording stopped.
        Stop = 1,
        /// Recording started extending.
        Extend = 2,
        /// Descriptor replicated from a source archive.
        Replicate = 3,
        /// Replicated recording merged with the live stream.
        Merge = 4,
        /// Recording synchronised with the source archive.
        Sync = 5,
        /// Segments were deleted.
        Delete = 6,
        /// Replication ended.
        ReplicateEnd = 7,
    }
}

sbe_enum! {
    /// State of a catalog entry (`RecordingDescriptorHeader.state`).
    RecordingState {
        /// Invalidated.
        Invalid = 0,
        /// In use.
        Valid = 1,
        /// Deleted (since schema version 10).
        Deleted = 2,
    }
}

impl From<bool> for BooleanType {
    fn from(value: bool) -> Self {
        if value {
            Self::True
        } else {
            Self::False
        }
    }
}

/// Error codes carried in `ControlResponse.relevantId` when the code is `ERROR` (Java's `ArchiveException`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i64)]
pub enum ArchiveErrorCode {
    /// Unspecified error.
    Generic = 0,
    /// A listing is already in progress.
    ActiveListing = 1,
    /// The recording is active.
    ActiveRecording = 2,
    /// The channel and stream are already being recorded.
    ActiveSubscription = 3,
    /// No such recording subscription.
    UnknownSubscription = 4,
    /// No such recording.
    UnknownRecording = 5,
    /// No such replay.
    UnknownReplay = 6,
    /// Too many concurrent replays.
    MaxReplays = 7,
    /// Too many concurrent recordings.
    MaxRecordings = 8,
    /// The extension does not match the recording.
    InvalidExtension = 9,
    /// Authentication failed.
    AuthenticationRejected = 10,
    /// Storage space is low.
    StorageSpace = 11,
    /// No such replication.
    UnknownReplication = 12,
    /// The session may not perform this action.
    UnauthorisedAction = 13,
    /// The replication source could not be reached.
    ReplicationConnectionFailure = 14,
    /// The recording holds no data.
    EmptyRecording = 15,
    /// The position is not valid for the recording.
    InvalidPosition = 16,
}

impl ArchiveErrorCode {
    /// The error code for a `relevantId`, if it is one.
    pub const fn from_i64(value: i64) -> Option<Self> {
        use ArchiveErrorCode::*;
        Some(match value {
            0 => Generic,
            1 => ActiveListing,
            2 => ActiveRecording,
            3 => ActiveSubscription,
            4 => UnknownSubscription,
            5 => UnknownRecording,
            6 => UnknownReplay,
            7 => MaxReplays,
            8 => MaxRecordings,
            9 => InvalidExtension,
            10 => AuthenticationRejected,
            11 => StorageSpace,
            12 => UnknownReplication,
            13 => UnauthorisedAction,
            14 => ReplicationConnectionFailure,
            15 => EmptyRecording,
            16 => InvalidPosition,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(
            ControlResponseCode::from_i32(2),
            ControlResponseCode::RecordingUnknown
        );
        assert_eq!(RecordingSignal::ReplicateEnd.value(), 7);
        assert_eq!(
            RecordingState::from_i32(ENUM_NULL_VALUE),
            RecordingState::Unknown(i32::MIN)
        );
        assert_eq!(BooleanType::from(true).value(), 1);
        assert_eq!(
            ArchiveErrorCode::from_i64(16),
            Some(ArchiveErrorCode::InvalidPosition)
        );
        assert_eq!(ArchiveErrorCode::from_i64(17), None);
    }

    proptest! {
        #[test]
        fn every_value_round_trips(v in any::<i32>()) {
            prop_assert_eq!(ControlResponseCode::from_i32(v).value(), v);
            prop_assert_eq!(SourceLocation::from_i32(v).value(), v);
            prop_assert_eq!(BooleanType::from_i32(v).value(), v);
            prop_assert_eq!(RecordingSignal::from_i32(v).value(), v);
            prop_assert_eq!(RecordingState::from_i32(v).value(), v);
        }
    }
}
