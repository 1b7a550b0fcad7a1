//! Driver -> client responses, sent by the driver through the to-clients broadcast buffer.
//!
//! Decoders accept bodies longer than the encoding and reject bodies too short for a field.

use super::{put_padded_bytes, start_encode, ErrorCode};
use crate::le::{
    get_i16, get_i32, get_i64, get_string, get_u16, put_i16, put_i32, put_i64, put_string, put_u16,
    require,
};
use crate::{align, DecodeError};

/// ON_ERROR (`aeron_error_response_t`, `ErrorResponseFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorResponse<'a> {
    /// Correlation id of the command that failed.
    pub offending_command_correlation_id: i64,
    /// What went wrong.
    pub error_code: ErrorCode,
    /// The driver's description.
    pub error_message: &'a str,
}

impl<'a> ErrorResponse<'a> {
    /// Offset of `offending_command_correlation_id`.
    pub const OFFENDING_COMMAND_CORRELATION_ID_OFFSET: usize = 0;
    /// Offset of `error_code`.
    pub const ERROR_CODE_OFFSET: usize = 8;
    /// Offset of the message's `i32` length.
    pub const ERROR_MESSAGE_OFFSET: usize = 12;
    /// Length without the message bytes.
    pub const LENGTH: usize = 16;

    /// Reads the response.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "ON_ERROR";
        require(WHAT, body, Self::LENGTH)?;
        let (error_message, _) =
            get_string(WHAT, "error message", body, Self::ERROR_MESSAGE_OFFSET)?;
        Ok(Self {
            offending_command_correlation_id: get_i64(
                body,
                Self::OFFENDING_COMMAND_CORRELATION_ID_OFFSET,
            ),
            error_code: ErrorCode::from_i32(get_i32(body, Self::ERROR_CODE_OFFSET)),
            error_message,
        })
    }

    /// Bytes [`Self::encode`] writes.
    pub fn encoded_length(&self) -> usize {
        Self::LENGTH + self.error_message.len()
    }

    /// Writes the response; returns its length. Panics if `buf` is shorter than [`Self::encoded_length`].
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, self.encoded_length());
        put_i64(
            buf,
            Self::OFFENDING_COMMAND_CORRELATION_ID_OFFSET,
            self.offending_command_correlation_id,
        );
        put_i32(buf, Self::ERROR_CODE_OFFSET, self.error_code.as_i32());
        put_string(buf, Self::ERROR_MESSAGE_OFFSET, self.error_message)
    }
}

/// ON_AVAILABLE_IMAGE (`aeron_image_buffers_ready_t`, `ImageBuffersReadyFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageBuffersReady<'a> {
    /// The image's correlation id.
    pub correlation_id: i64,
    /// Session id of the image.
    pub session_id: i32,
    /// Stream id of the image.
    pub stream_id: i32,
    /// Registration id of the subscription the image is for.
    pub subscription_registration_id: i64,
    /// Counter id of this subscriber's position (`sub-pos`).
    pub subscriber_position_id: i32,
    /// Path of the image's log buffer file.
    pub log_file_name: &'a str,
    /// Where the image comes from (`127.0.0.1:56728`, `aeron:ipc`).
    pub source_identity: &'a str,
}

impl<'a> ImageBuffersReady<'a> {
    /// Offset of `correlation_id`.
    pub const CORRELATION_ID_OFFSET: usize = 0;
    /// Offset of `session_id`.
    pub const SESSION_ID_OFFSET: usize = 8;
    /// Offset of `stream_id`.
    pub const STREAM_ID_OFFSET: usize = 12;
    /// Offset of `subscription_registration_id`.
    pub const SUBSCRIPTION_REGISTRATION_ID_OFFSET: usize = 16;
    /// Offset of `subscriber_position_id`.
    pub const SUBSCRIBER_POSITION_ID_OFFSET: usize = 24;
    /// Offset of the log file name's `i32` length; the source identity's length follows at the next 4-byte
    /// boundary after the name.
    pub const LOG_FILE_NAME_OFFSET: usize = 28;
    /// Length of the fixed part before the log file name length.
    pub const LENGTH: usize = 28;

    /// Reads the response.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "ON_AVAILABLE_IMAGE";
        require(WHAT, body, Self::LENGTH)?;
        let (log_file_name, _) =
            get_string(WHAT, "log file name", body, Self::LOG_FILE_NAME_OFFSET)?;
        let source_offset = Self::LOG_FILE_NAME_OFFSET + 4 + align(log_file_name.len(), 4);
        let (source_identity, _) = get_string(WHAT, "source identity", body, source_offset)?;
        Ok(Self {
            correlation_id: get_i64(body, Self::CORRELATION_ID_OFFSET),
            session_id: get_i32(body, Self::SESSION_ID_OFFSET),
            stream_id: get_i32(body, Self::STREAM_ID_OFFSET),
            subscription_registration_id: get_i64(body, Self::SUBSCRIPTION_REGISTRATION_ID_OFFSET),
            subscriber_position_id: get_i32(body, Self::SUBSCRIBER_POSITION_ID_OFFSET),
            log_file_name,
            source_identity,
        })
    }

    /// Offset of the source identity's `i32` length.
    pub fn source_identity_offset(&self) -> usize {
        Self::LOG_FILE_NAME_OFFSET + 4 + align(self.log_file_name.len(), 4)
    }

    /// Bytes [`Self::encode`] writes.
    pub fn encoded_length(&self) -> usize {
        self.source_identity_offset() + 4 + self.source_identity.len()
    }

    /// Writes the response; returns its length. Panics if `buf` is shorter than [`Self::encoded_length`].
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, self.encoded_length());
        put_i64(buf, Self::CORRELATION_ID_OFFSET, self.correlation_id);
        put_i32(buf, Self::SESSION_ID_OFFSET, self.session_id);
        put_i32(buf, Self::STREAM_ID_OFFSET, self.stream_id);
        put_i64(
            buf,
            Self::SUBSCRIPTION_REGISTRATION_ID_OFFSET,
            self.subscription_registration_id,
        );
        put_i32(
            buf,
            Self::SUBSCRIBER_POSITION_ID_OFFSET,
            self.subscriber_position_id,
        );
        let source_offset = put_padded_bytes(
            buf,
            Self::LOG_FILE_NAME_OFFSET,
            self.log_file_name.as_bytes(),
            4,
        );
        put_string(buf, source_offset, self.source_identity)
    }
}

/// ON_PUBLICATION_READY and ON_EXCLUSIVE_PUBLICATION_READY (`aeron_publication_buffers_ready_t`,
/// `PublicationBuffersReadyFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicationBuffersReady<'a> {
    /// Correlation id of the ADD_PUBLICATION command.
    pub correlation_id: i64,
    /// Registration id of the publication (the first adder's correlation id for a shared publication).
    pub registration_id: i64,
    /// Session id of the publication.
    pub session_id: i32,
    /// Stream id of the publication.
    pub stream_id: i32,
    /// Counter id of the publisher limit (`pub-lmt`).
    pub position_limit_counter_id: i32,
    /// Counter id of the channel status (`snd-channel`); -1 for IPC.
    pub channel_status_indicator_id: i32,
    /// Path of the publication's log buffer file.
    pub log_file_name: &'a str,
}

impl<'a> PublicationBuffersReady<'a> {
    /// Offset of `correlation_id`.
    pub const CORRELATION_ID_OFFSET: usize = 0;
    /// Offset of `registration_id`.
    pub const REGISTRATION_ID_OFFSET: usize = 8;
    /// Offset of `session_id`.
    pub const SESSION_ID_OFFSET: usize = 16;
    /// Offset of `stream_id`.
    pub const STREAM_ID_OFFSET: usize = 20;
    /// Offset of `position_limit_counter_id`.
    pub const POSITION_LIMIT_COUNTER_ID_OFFSET: usize = 24;
    /// Offset of `channel_status_indicator_id`.
    pub const CHANNEL_STATUS_INDICATOR_ID_OFFSET: usize = 28;
    /// Offset of the log file name's `i32` length.
    pub const LOG_FILE_NAME_OFFSET: usize = 32;
    /// Length without the log file name bytes.
    pub const LENGTH: usize = 36;

    /// Reads the response.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "ON_PUBLICATION_READY";
        require(WHAT, body, Self::LENGTH)?;
        let (log_file_name, _) =
            get_string(WHAT, "log file name", body, Self::LOG_FILE_NAME_OFFSET)?;
        Ok(Self {
            correlation_id: get_i64(body, Self::CORRELATION_ID_OFFSET),
            registration_id: get_i64(body, Self::REGISTRATION_ID_OFFSET),
            session_id: get_i32(body, Self::SESSION_ID_OFFSET),
            stream_id: get_i32(body, Self::STREAM_ID_OFFSET),
            position_limit_counter_id: get_i32(body, Self::POSITION_LIMIT_COUNTER_ID_OFFSET),
            channel_status_indicator_id: get_i32(body, Self::CHANNEL_STATUS_INDICATOR_ID_OFFSET),
            log_file_name,
        })
    }

    /// Bytes [`Self::encode`] writes.
    pub fn encoded_length(&self) -> usize {
        Self::LENGTH + self.log_file_name.len()
    }

    /// Writes the response; returns its length. Panics if `buf` is shorter than [`Self::encoded_length`].
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, self.encoded_length());
        put_i64(buf, Self::CORRELATION_ID_OFFSET, self.correlation_id);
        put_i64(buf, Self::REGISTRATION_ID_OFFSET, self.registration_id);
        put_i32(buf, Self::SESSION_ID_OFFSET, self.session_id);
        put_i32(buf, Self::STREAM_ID_OFFSET, self.stream_id);
        put_i32(
            buf,
            Self::POSITION_LIMIT_COUNTER_ID_OFFSET,
            self.position_limit_counter_id,
        );
        put_i32(
            buf,
            Self::CHANNEL_STATUS_INDICATOR_ID_OFFSET,
            self.channel_status_indicator_id,
        );
        put_string(buf, Self::LOG_FILE_NAME_OFFSET, self.log_file_name)
    }
}

/// Defines a response made of one `i64` and optionally one `i32` after it.
macro_rules! id_response {
    (
        $(#[$doc:meta])* $name:ident, $what:literal, $len:literal,
        $(#[$first_doc:meta])* $first:ident
        $(, $(#[$second_doc:meta])* $second:ident, $second_offset:ident)?
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name {
            $(#[$first_doc])*
            pub $first: i64,
            $($(#[$second_doc])* pub $second: i32,)?
        }

        impl $name {
            /// Length of the response.
            pub const LENGTH: usize = $len;
            $(
                #[doc = concat!("Offset of `", stringify!($second), "`.")]
                pub const $second_offset: usize = 8;
            )?

            /// Reads the response.
            pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
                require($what, body, Self::LENGTH)?;
                Ok(Self {
                    $first: get_i64(body, 0),
                    $($second: get_i32(body, Self::$second_offset),)?
                })
            }

            /// Bytes [`Self::encode`] writes.
            pub const fn encoded_length(&self) -> usize {
                Self::LENGTH
            }

            /// Writes the response; returns its length. Panics if `buf` is shorter.
            pub fn encode(&self, buf: &mut [u8]) -> usize {
                start_encode(buf, Self::LENGTH);
                put_i64(buf, 0, self.$first);
                $(put_i32(buf, Self::$second_offset, self.$second);)?
                Self::LENGTH
            }
        }
    };
}

id_response!(
    /// ON_OPERATION_SUCCESS (`aeron_operation_succeeded_t`, `OperationSucceededFlyweight`).
    OperationSucceeded, "ON_OPERATION_SUCCESS", 8,
    /// Correlation id of the command that succeeded.
    correlation_id
);

id_response!(
    /// ON_SUBSCRIPTION_READY (`aeron_subscription_ready_t`, `SubscriptionReadyFlyweight`).
    SubscriptionReady, "ON_SUBSCRIPTION_READY", 12,
    /// Correlation id of the ADD_SUBSCRIPTION command.
    correlation_id,
    /// Counter id of the channel status (`rcv-channel`); -1 for IPC and spies.
    channel_status_indicator_id, CHANNEL_STATUS_INDICATOR_ID_OFFSET
);

id_response!(
    /// ON_COUNTER_READY, ON_UNAVAILABLE_COUNTER and ON_STATIC_COUNTER (`aeron_counter_update_t`,
    /// `CounterUpdateFlyweight`).
    CounterUpdate, "counter update", 12,
    /// Registration (correlation) id of the counter.
    correlation_id,
    /// The counter's id.
    counter_id, COUNTER_ID_OFFSET
);

id_response!(
    /// ON_CLIENT_TIMEOUT (`aeron_client_timeout_t`, `ClientTimeoutFlyweight`).
    ClientTimeout, "ON_CLIENT_TIMEOUT", 8,
    /// Id of the client the driver timed out.
    client_id
);

id_response!(
    /// ON_NEXT_AVAILABLE_SESSION_ID (`NextAvailableSessionIdFlyweight`).
    NextAvailableSessionId, "ON_NEXT_AVAILABLE_SESSION_ID", 12,
    /// Correlation id of the GET_NEXT_AVAILABLE_SESSION_ID command.
    correlation_id,
    /// A session id not in use on the stream.
    next_session_id, NEXT_SESSION_ID_OFFSET
);

/// ON_UNAVAILABLE_IMAGE (`aeron_image_message_t`, `ImageMessageFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageMessage<'a> {
    /// The image's correlation id.
    pub correlation_id: i64,
    /// Registration id of the subscription the image was for.
    pub subscription_registration_id: i64,
    /// Stream id of the image.
    pub stream_id: i32,
    /// The subscription's channel.
    pub channel: &'a str,
}

impl<'a> ImageMessage<'a> {
    /// Offset of `correlation_id`.
    pub const CORRELATION_ID_OFFSET: usize = 0;
    /// Offset of `subscription_registration_id`.
    pub const SUBSCRIPTION_REGISTRATION_ID_OFFSET: usize = 8;
    /// Offset of `stream_id`.
    pub const STREAM_ID_OFFSET: usize = 16;
    /// Offset of the channel's `i32` length.
    pub const CHANNEL_OFFSET: usize = 20;
    /// Length without the channel bytes.
    pub const LENGTH: usize = 24;

    /// Reads the response.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "ON_UNAVAILABLE_IMAGE";
        require(WHAT, body, Self::LENGTH)?;
        let (channel, _) = get_string(WHAT, "channel", body, Self::CHANNEL_OFFSET)?;
        Ok(Self {
            correlation_id: get_i64(body, Self::CORRELATION_ID_OFFSET),
            subscription_registration_id: get_i64(body, Self::SUBSCRIPTION_REGISTRATION_ID_OFFSET),
            stream_id: get_i32(body, Self::STREAM_ID_OFFSET),
            channel,
        })
    }

    /// Bytes [`Self::encode`] writes.
    pub fn encoded_length(&self) -> usize {
        Self::LENGTH + self.channel.len()
    }

    /// Writes the response; returns its length. Panics if `buf` is shorter than [`Self::encoded_length`].
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, self.encoded_length());
        put_i64(buf, Self::CORRELATION_ID_OFFSET, self.correlation_id);
        put_i64(
            buf,
            Self::SUBSCRIPTION_REGISTRATION_ID_OFFSET,
            self.subscription_registration_id,
        );
        put_i32(buf, Self::STREAM_ID_OFFSET, self.stream_id);
        put_string(buf, Self::CHANNEL_OFFSET, self.channel)
    }
}

/// ON_PUBLICATION_ERROR `address_type`: no address known.
pub const ADDRESS_TYPE_UNKNOWN: i16 = 0;
/// ON_PUBLICATION_ERROR `address_type`: IPv4, in the first 4 bytes of `source_address`.
pub const ADDRESS_TYPE_IPV4: i16 = 1;
/// ON_PUBLICATION_ERROR `address_type`: IPv6.
pub const ADDRESS_TYPE_IPV6: i16 = 2;

/// ON_PUBLICATION_ERROR (`aeron_publication_error_t`, `PublicationErrorFrameFlyweight`): an ERR frame a
/// publication received from a receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicationError<'a> {
    /// Registration id of the publication.
    pub registration_id: i64,
    /// Registration id of the destination (multi-destination publications), else the null value.
    pub destination_registration_id: i64,
    /// Session id of the publication.
    pub session_id: i32,
    /// Stream id of the publication.
    pub stream_id: i32,
    /// Receiver id from the ERR frame.
    pub receiver_id: i64,
    /// Group tag from the ERR frame; -1 if it had none.
    pub group_tag: i64,
    /// [`ADDRESS_TYPE_IPV4`], [`ADDRESS_TYPE_IPV6`] or [`ADDRESS_TYPE_UNKNOWN`].
    pub address_type: i16,
    /// Source UDP port (host value).
    pub source_port: u16,
    /// Source address, network byte order; IPv4 uses the first 4 bytes.
    pub source_address: [u8; 16],
    /// Error code from the ERR frame.
    pub error_code: ErrorCode,
    /// Error text from the ERR frame.
    pub error_message: &'a str,
}

impl<'a> PublicationError<'a> {
    /// Offset of `registration_id`.
    pub const REGISTRATION_ID_OFFSET: usize = 0;
    /// Offset of `destination_registration_id`.
    pub const DESTINATION_REGISTRATION_ID_OFFSET: usize = 8;
    /// Offset of `session_id`.
    pub const SESSION_ID_OFFSET: usize = 16;
    /// Offset of `stream_id`.
    pub const STREAM_ID_OFFSET: usize = 20;
    /// Offset of `receiver_id`.
    pub const RECEIVER_ID_OFFSET: usize = 24;
    /// Offset of `group_tag`.
    pub const GROUP_TAG_OFFSET: usize = 32;
    /// Offset of `address_type`.
    pub const ADDRESS_TYPE_OFFSET: usize = 40;
    /// Offset of `source_port`.
    pub const SOURCE_PORT_OFFSET: usize = 42;
    /// Offset of `source_address`.
    pub const SOURCE_ADDRESS_OFFSET: usize = 44;
    /// Length of `source_address`.
    pub const SOURCE_ADDRESS_LENGTH: usize = 16;
    /// Offset of `error_code`.
    pub const ERROR_CODE_OFFSET: usize = 60;
    /// Offset of the message's `i32` length.
    pub const ERROR_MESSAGE_OFFSET: usize = 64;
    /// Length without the message bytes.
    pub const LENGTH: usize = 68;

    /// Reads the response.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "ON_PUBLICATION_ERROR";
        require(WHAT, body, Self::LENGTH)?;
        let (error_message, _) =
            get_string(WHAT, "error message", body, Self::ERROR_MESSAGE_OFFSET)?;
        let mut source_address = [0u8; 16];
        source_address.copy_from_slice(
            &body[Self::SOURCE_ADDRESS_OFFSET
                ..Self::SOURCE_ADDRESS_OFFSET + Self::SOURCE_ADDRESS_LENGTH],
        );
        Ok(Self {
            registration_id: get_i64(body, Self::REGISTRATION_ID_OFFSET),
            destination_registration_id: get_i64(body, Self::DESTINATION_REGISTRATION_ID_OFFSET),
            session_id: get_i32(body, Self::SESSION_ID_OFFSET),
            stream_id: get_i32(body, Self::STREAM_ID_OFFSET),
            receiver_id: get_i64(body, Self::RECEIVER_ID_OFFSET),
            group_tag: get_i64(body, Self::GROUP_TAG_OFFSET),
            address_type: get_i16(body, Self::ADDRESS_TYPE_OFFSET),
            source_port: get_u16(body, Self::SOURCE_PORT_OFFSET),
            source_address,
            error_code: ErrorCode::from_i32(get_i32(body, Self::ERROR_CODE_OFFSET)),
            error_message,
        })
    }

    /// The source address as an [`std::net::IpAddr`], if `address_type` names one.
    pub fn source_ip(&self) -> Option<std::net::IpAddr> {
        match self.address_type {
            ADDRESS_TYPE_IPV4 => {
                let [a, b, c, d, ..] = self.source_address;
                Some(std::net::Ipv4Addr::new(a, b, c, d).into())
            }
            ADDRESS_TYPE_IPV6 => Some(std::net::Ipv6Addr::from(self.source_address).into()),
            _ => None,
        }
    }

    /// Bytes [`Self::encode`] writes.
    pub fn encoded_length(&self) -> usize {
        Self::LENGTH + self.error_message.len()
    }

    /// Writes the response; returns its length. Panics if `buf` is shorter than [`Self::encoded_length`].
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, self.encoded_length());
        put_i64(buf, Self::REGISTRATION_ID_OFFSET, self.registration_id);
        put_i64(
            buf,
            Self::DESTINATION_REGISTRATION_ID_OFFSET,
            self.destination_registration_id,
        );
        put_i32(buf, Self::SESSION_ID_OFFSET, self.session_id);
        put_i32(buf, Self::STREAM_ID_OFFSET, self.stream_id);
        put_i64(buf, Self::RECEIVER_ID_OFFSET, self.receiver_id);
        put_i64(buf, Self::GROUP_TAG_OFFSET, self.group_tag);
        put_i16(buf, Self::ADDRESS_TYPE_OFFSET, self.address_type);
        put_u16(buf, Self::SOURCE_PORT_OFFSET, self.source_port);
        buf[Self::SOURCE_ADDRESS_OFFSET..Self::SOURCE_ADDRESS_OFFSET + Self::SOURCE_ADDRESS_LENGTH]
            .copy_from_slice(&self.source_address);
        put_i32(buf, Self::ERROR_CODE_OFFSET, self.error_code.as_i32());
        put_string(buf, Self::ERROR_MESSAGE_OFFSET, self.error_message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(len: usize, encode: impl FnOnce(&mut [u8]) -> usize) -> Vec<u8> {
        let mut buf = vec![0xAA; len + 8];
        let n = encode(&mut buf);
        assert_eq!(n, len);
        buf.truncate(n);
        buf
    }

    #[test]
    fn on_publication_ready_bytes() {
        let rsp = PublicationBuffersReady {
            correlation_id: 4,
            registration_id: 3,
            session_id: -2,
            stream_id: 1001,
            position_limit_counter_id: 52,
            channel_status_indicator_id: -1,
            log_file_name: "/p/4.lb",
        };
        let expected: Vec<u8> = [
            &[4, 0, 0, 0, 0, 0, 0, 0][..], // correlation_id
            &[3, 0, 0, 0, 0, 0, 0, 0],     // registration_id
            &[0xFE, 0xFF, 0xFF, 0xFF],     // session_id -2
            &[0xE9, 0x03, 0, 0],           // stream_id 1001
            &[52, 0, 0, 0],                // position_limit_counter_id
            &[0xFF, 0xFF, 0xFF, 0xFF],     // channel_status_indicator_id -1
            &[7, 0, 0, 0],                 // log file name length
            b"/p/4.lb",
        ]
        .concat();
        assert_eq!(encoded(43, |b| rsp.encode(b)), expected);
        assert_eq!(PublicationBuffersReady::decode(&expected), Ok(rsp));
    }

    #[test]
    fn on_available_image_bytes_with_aligned_source_identity() {
        let rsp = ImageBuffersReady {
            correlation_id: 5,
            session_id: 7,
            stream_id: 1001,
            subscription_registration_id: 2,
            subscriber_position_id: 61,
            log_file_name: "/i/5.lb",
            source_identity: "aeron:ipc",
        };
        let expected: Vec<u8> = [
            &[5, 0, 0, 0, 0, 0, 0, 0][..], // correlation_id
            &[7, 0, 0, 0],                 // session_id
            &[0xE9, 0x03, 0, 0],           // stream_id
            &[2, 0, 0, 0, 0, 0, 0, 0],     // subscription_registration_id
            &[61, 0, 0, 0],                // subscriber_position_id
            &[7, 0, 0, 0],                 // log file name length
            b"/i/5.lb",
            &[0],          // pad to 4
            &[9, 0, 0, 0], // source identity length @40
            b"aeron:ipc",
        ]
        .concat();
        assert_eq!(rsp.source_identity_offset(), 40);
        assert_eq!(encoded(53, |b| rsp.encode(b)), expected);
        assert_eq!(ImageBuffersReady::decode(&expected), Ok(rsp));
        assert!(matches!(
            ImageBuffersReady::decode(&expected[..43]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn on_error_bytes() {
        let rsp = ErrorResponse {
            offending_command_correlation_id: 9,
            error_code: ErrorCode::InvalidChannel,
            error_message: "bad",
        };
        let expected: Vec<u8> = [
            &[9, 0, 0, 0, 0, 0, 0, 0][..], // offending correlation id
            &[1, 0, 0, 0],                 // INVALID_CHANNEL
            &[3, 0, 0, 0],                 // message length
            b"bad",
        ]
        .concat();
        assert_eq!(encoded(19, |b| rsp.encode(b)), expected);
        assert_eq!(ErrorResponse::decode(&expected), Ok(rsp));
    }

    #[test]
    fn on_counter_ready_bytes() {
        let rsp = CounterUpdate {
            correlation_id: 1,
            counter_id: 48,
        };
        let expected = [1, 0, 0, 0, 0, 0, 0, 0, 48, 0, 0, 0];
        assert_eq!(encoded(12, |b| rsp.encode(b)), expected);
        assert_eq!(CounterUpdate::decode(&expected), Ok(rsp));
        assert!(CounterUpdate::decode(&expected[..11]).is_err());
        assert_eq!(OperationSucceeded::LENGTH, 8);
        assert_eq!(ClientTimeout::LENGTH, 8);
        assert_eq!(NextAvailableSessionId::LENGTH, 12);
    }

    #[test]
    fn on_publication_error_bytes() {
        let rsp = PublicationError {
            registration_id: 1,
            destination_registration_id: -1,
            session_id: 2,
            stream_id: 3,
            receiver_id: 4,
            group_tag: -1,
            address_type: ADDRESS_TYPE_IPV4,
            source_port: 0x5DC0,
            source_address: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            error_code: ErrorCode::GenericError,
            error_message: "e",
        };
        let expected: Vec<u8> = [
            &[1, 0, 0, 0, 0, 0, 0, 0][..],
            &[0xFF; 8],
            &[2, 0, 0, 0],
            &[3, 0, 0, 0],
            &[4, 0, 0, 0, 0, 0, 0, 0],
            &[0xFF; 8],
            &[1, 0],       // address_type
            &[0xC0, 0x5D], // source_port
            &[127, 0, 0, 1],
            &[0; 12],
            &[11, 0, 0, 0], // GENERIC_ERROR
            &[1, 0, 0, 0],
            b"e",
        ]
        .concat();
        assert_eq!(encoded(69, |b| rsp.encode(b)), expected);
        let decoded = PublicationError::decode(&expected).unwrap();
        assert_eq!(decoded, rsp);
        assert_eq!(
            decoded.source_ip(),
            Some(std::net::Ipv4Addr::LOCALHOST.into())
        );
    }
}
