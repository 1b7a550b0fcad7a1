//! Client -> driver commands, written by clients into the to-driver ring buffer.
//!
//! Every command starts with [`Correlated`]. Decoders accept bodies longer than the encoding (Java clients
//! size counter commands 4 bytes longer than needed); they reject bodies too short for a field.

use super::{get_bytes, put_bytes, put_padded_bytes, start_encode};
use crate::le::{
    get_i32, get_i64, get_string, get_u64, put_i32, put_i64, put_string, put_u64, require,
};
use crate::{align, DecodeError};

/// The 16-byte header of every command (`aeron_correlated_command_t`, `CorrelatedMessageFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Correlated {
    /// The client's id (the first correlation id it took).
    pub client_id: i64,
    /// This command's correlation id; the driver's response carries it.
    pub correlation_id: i64,
}

impl Correlated {
    /// Offset of `client_id`.
    pub const CLIENT_ID_OFFSET: usize = 0;
    /// Offset of `correlation_id`.
    pub const CORRELATION_ID_OFFSET: usize = 8;
    /// Length of the header.
    pub const LENGTH: usize = 16;

    /// A header for `client_id` and `correlation_id`.
    pub const fn new(client_id: i64, correlation_id: i64) -> Self {
        Self {
            client_id,
            correlation_id,
        }
    }

    /// Reads the header of a `what` command.
    pub fn decode_for(what: &'static str, body: &[u8]) -> Result<Self, DecodeError> {
        require(what, body, Self::LENGTH)?;
        Ok(Self {
            client_id: get_i64(body, Self::CLIENT_ID_OFFSET),
            correlation_id: get_i64(body, Self::CORRELATION_ID_OFFSET),
        })
    }

    /// Reads the header alone (CLIENT_KEEPALIVE, CLIENT_CLOSE).
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_for("correlated command", body)
    }

    /// Bytes [`Correlated::encode`] writes.
    pub const fn encoded_length(&self) -> usize {
        Self::LENGTH
    }

    /// Writes the header at the start of `buf`; returns 16. Panics if `buf` is shorter.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, Self::LENGTH);
        put_i64(buf, Self::CLIENT_ID_OFFSET, self.client_id);
        put_i64(buf, Self::CORRELATION_ID_OFFSET, self.correlation_id);
        Self::LENGTH
    }
}

/// ADD_PUBLICATION and ADD_EXCLUSIVE_PUBLICATION (`aeron_publication_command_t`, `PublicationMessageFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicationCommand<'a> {
    /// Client and correlation id.
    pub correlated: Correlated,
    /// Stream id.
    pub stream_id: i32,
    /// Channel URI.
    pub channel: &'a str,
}

impl<'a> PublicationCommand<'a> {
    /// Offset of `stream_id`.
    pub const STREAM_ID_OFFSET: usize = 16;
    /// Offset of the channel's `i32` length; the channel follows it.
    pub const CHANNEL_OFFSET: usize = 20;
    /// Length without the channel bytes.
    pub const LENGTH: usize = 24;

    /// Reads the command from a ring-buffer message body.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "ADD_PUBLICATION";
        let correlated = Correlated::decode_for(WHAT, body)?;
        require(WHAT, body, Self::LENGTH)?;
        let (channel, _) = get_string(WHAT, "channel", body, Self::CHANNEL_OFFSET)?;
        Ok(Self {
            correlated,
            stream_id: get_i32(body, Self::STREAM_ID_OFFSET),
            channel,
        })
    }

    /// Bytes [`Self::encode`] writes.
    pub fn encoded_length(&self) -> usize {
        Self::LENGTH + self.channel.len()
    }

    /// Writes the command; returns its length. Panics if `buf` is shorter than [`Self::encoded_length`].
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, self.encoded_length());
        self.correlated.encode(buf);
        put_i32(buf, Self::STREAM_ID_OFFSET, self.stream_id);
        put_string(buf, Self::CHANNEL_OFFSET, self.channel)
    }
}

/// The REMOVE_PUBLICATION flag asking the driver to revoke the publication.
pub const REMOVE_PUBLICATION_FLAG_REVOKE: u64 = 0x1;

/// REMOVE_PUBLICATION (`RemovePublicationFlyweight`).
///
/// Older clients send the 24-byte form without `flags`; it decodes with `flags == 0`. Encoding always
/// writes the current 32-byte form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RemovePublication {
    /// Client and correlation id.
    pub correlated: Correlated,
    /// Registration id of the publication.
    pub registration_id: i64,
    /// Flags, see [`REMOVE_PUBLICATION_FLAG_REVOKE`].
    pub flags: u64,
}

impl RemovePublication {
    /// Offset of `registration_id`.
    pub const REGISTRATION_ID_OFFSET: usize = 16;
    /// Offset of `flags`.
    pub const FLAGS_OFFSET: usize = 24;
    /// Length of the older form without flags.
    pub const LEGACY_LENGTH: usize = 24;
    /// Length of the current form.
    pub const LENGTH: usize = 32;

    /// Reads the command, in either form.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "REMOVE_PUBLICATION";
        let correlated = Correlated::decode_for(WHAT, body)?;
        require(WHAT, body, Self::LEGACY_LENGTH)?;
        let flags = if body.len() >= Self::LENGTH {
            get_u64(body, Self::FLAGS_OFFSET)
        } else {
            0
        };
        Ok(Self {
            correlated,
            registration_id: get_i64(body, Self::REGISTRATION_ID_OFFSET),
            flags,
        })
    }

    /// Whether the publication is to be revoked rather than just closed.
    pub const fn revoke(&self) -> bool {
        self.flags & REMOVE_PUBLICATION_FLAG_REVOKE != 0
    }

    /// Bytes [`Self::encode`] writes.
    pub const fn encoded_length(&self) -> usize {
        Self::LENGTH
    }

    /// Writes the 32-byte form; returns 32. Panics if `buf` is shorter.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, Self::LENGTH);
        self.correlated.encode(buf);
        put_i64(buf, Self::REGISTRATION_ID_OFFSET, self.registration_id);
        put_u64(buf, Self::FLAGS_OFFSET, self.flags);
        Self::LENGTH
    }
}

/// ADD_SUBSCRIPTION (`aeron_subscription_command_t`, `SubscriptionMessageFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionCommand<'a> {
    /// Client and correlation id.
    pub correlated: Correlated,
    /// Unused by the driver: Java clients write -1, C clients 0.
    pub registration_correlation_id: i64,
    /// Stream id.
    pub stream_id: i32,
    /// Channel URI.
    pub channel: &'a str,
}

impl<'a> SubscriptionCommand<'a> {
    /// Offset of `registration_correlation_id`.
    pub const REGISTRATION_CORRELATION_ID_OFFSET: usize = 16;
    /// Offset of `stream_id`.
    pub const STREAM_ID_OFFSET: usize = 24;
    /// Offset of the channel's `i32` length.
    pub const CHANNEL_OFFSET: usize = 28;
    /// Length without the channel bytes.
    pub const LENGTH: usize = 32;

    /// Reads the command.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "ADD_SUBSCRIPTION";
        let correlated = Correlated::decode_for(WHAT, body)?;
        require(WHAT, body, Self::LENGTH)?;
        let (channel, _) = get_string(WHAT, "channel", body, Self::CHANNEL_OFFSET)?;
        Ok(Self {
            correlated,
            registration_correlation_id: get_i64(body, Self::REGISTRATION_CORRELATION_ID_OFFSET),
            stream_id: get_i32(body, Self::STREAM_ID_OFFSET),
            channel,
        })
    }

    /// Bytes [`Self::encode`] writes.
    pub fn encoded_length(&self) -> usize {
        Self::LENGTH + self.channel.len()
    }

    /// Writes the command; returns its length. Panics if `buf` is shorter than [`Self::encoded_length`].
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, self.encoded_length());
        self.correlated.encode(buf);
        put_i64(
            buf,
            Self::REGISTRATION_CORRELATION_ID_OFFSET,
            self.registration_correlation_id,
        );
        put_i32(buf, Self::STREAM_ID_OFFSET, self.stream_id);
        put_string(buf, Self::CHANNEL_OFFSET, self.channel)
    }
}

/// REMOVE_SUBSCRIPTION and REMOVE_COUNTER (`aeron_remove_command_t`, `RemoveMessageFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RemoveCommand {
    /// Client and correlation id.
    pub correlated: Correlated,
    /// Registration id of the resource to remove.
    pub registration_id: i64,
}

impl RemoveCommand {
    /// Offset of `registration_id`.
    pub const REGISTRATION_ID_OFFSET: usize = 16;
    /// Length of the command.
    pub const LENGTH: usize = 24;

    /// Reads the command.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "remove command";
        let correlated = Correlated::decode_for(WHAT, body)?;
        require(WHAT, body, Self::LENGTH)?;
        Ok(Self {
            correlated,
            registration_id: get_i64(body, Self::REGISTRATION_ID_OFFSET),
        })
    }

    /// Bytes [`Self::encode`] writes.
    pub const fn encoded_length(&self) -> usize {
        Self::LENGTH
    }

    /// Writes the command; returns 24. Panics if `buf` is shorter.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, Self::LENGTH);
        self.correlated.encode(buf);
        put_i64(buf, Self::REGISTRATION_ID_OFFSET, self.registration_id);
        Self::LENGTH
    }
}

/// ADD_DESTINATION, REMOVE_DESTINATION, ADD_RCV_DESTINATION and REMOVE_RCV_DESTINATION
/// (`aeron_destination_command_t`, `DestinationMessageFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DestinationCommand<'a> {
    /// Client and correlation id.
    pub correlated: Correlated,
    /// Registration id of the publication (send destinations) or subscription (receive destinations).
    pub registration_id: i64,
    /// Destination channel URI.
    pub channel: &'a str,
}

impl<'a> DestinationCommand<'a> {
    /// Offset of `registration_id`.
    pub const REGISTRATION_ID_OFFSET: usize = 16;
    /// Offset of the channel's `i32` length.
    pub const CHANNEL_OFFSET: usize = 24;
    /// Length without the channel bytes.
    pub const LENGTH: usize = 28;

    /// Reads the command.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "destination command";
        let correlated = Correlated::decode_for(WHAT, body)?;
        require(WHAT, body, Self::LENGTH)?;
        let (channel, _) = get_string(WHAT, "channel", body, Self::CHANNEL_OFFSET)?;
        Ok(Self {
            correlated,
            registration_id: get_i64(body, Self::REGISTRATION_ID_OFFSET),
            channel,
        })
    }

    /// Bytes [`Self::encode`] writes.
    pub fn encoded_length(&self) -> usize {
        Self::LENGTH + self.channel.len()
    }

    /// Writes the command; returns its length. Panics if `buf` is shorter than [`Self::encoded_length`].
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, self.encoded_length());
        self.correlated.encode(buf);
        put_i64(buf, Self::REGISTRATION_ID_OFFSET, self.registration_id);
        put_string(buf, Self::CHANNEL_OFFSET, self.channel)
    }
}

/// Reads a counter's key and label starting at `key_offset`: key length, key, then the label length at the
/// next 4-byte boundary and the label.
fn decode_key_and_label<'a>(
    what: &'static str,
    body: &'a [u8],
    key_offset: usize,
) -> Result<(&'a [u8], &'a str), DecodeError> {
    let (key, _) = get_bytes(what, "key", body, key_offset)?;
    let label_offset = key_offset + 4 + align(key.len(), 4);
    let (label, _) = get_string(what, "label", body, label_offset)?;
    Ok((key, label))
}

fn key_and_label_length(key: &[u8], label: &str) -> usize {
    4 + align(key.len(), 4) + 4 + label.len()
}

fn encode_key_and_label(buf: &mut [u8], key_offset: usize, key: &[u8], label: &str) -> usize {
    let label_offset = put_padded_bytes(buf, key_offset, key, 4);
    put_string(buf, label_offset, label)
}

/// ADD_COUNTER (`aeron_counter_command_t`, `CounterMessageFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddCounter<'a> {
    /// Client and correlation id.
    pub correlated: Correlated,
    /// Counter type id.
    pub type_id: i32,
    /// Key bytes (the driver keeps at most 112).
    pub key: &'a [u8],
    /// Label (the driver keeps at most 380 bytes).
    pub label: &'a str,
}

impl<'a> AddCounter<'a> {
    /// Offset of `type_id`.
    pub const TYPE_ID_OFFSET: usize = 16;
    /// Offset of the key's `i32` length; the key follows, then the label length at the next 4-byte boundary.
    pub const KEY_OFFSET: usize = 20;
    /// Length of the fixed part before the key length.
    pub const LENGTH: usize = 20;

    /// Reads the command, ignoring bytes after the label.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "ADD_COUNTER";
        let correlated = Correlated::decode_for(WHAT, body)?;
        require(WHAT, body, Self::LENGTH)?;
        let (key, label) = decode_key_and_label(WHAT, body, Self::KEY_OFFSET)?;
        Ok(Self {
            correlated,
            type_id: get_i32(body, Self::TYPE_ID_OFFSET),
            key,
            label,
        })
    }

    /// Offset of the label's `i32` length.
    pub fn label_offset(&self) -> usize {
        Self::KEY_OFFSET + 4 + align(self.key.len(), 4)
    }

    /// Bytes [`Self::encode`] writes.
    pub fn encoded_length(&self) -> usize {
        Self::KEY_OFFSET + key_and_label_length(self.key, self.label)
    }

    /// Writes the command; returns its length. Panics if `buf` is shorter than [`Self::encoded_length`].
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, self.encoded_length());
        self.correlated.encode(buf);
        put_i32(buf, Self::TYPE_ID_OFFSET, self.type_id);
        encode_key_and_label(buf, Self::KEY_OFFSET, self.key, self.label)
    }
}

/// ADD_STATIC_COUNTER (`aeron_static_counter_command_t`, `StaticCounterMessageFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddStaticCounter<'a> {
    /// Client and correlation id.
    pub correlated: Correlated,
    /// Registration id the static counter is known by.
    pub registration_id: i64,
    /// Counter type id.
    pub type_id: i32,
    /// Key bytes.
    pub key: &'a [u8],
    /// Label.
    pub label: &'a str,
}

impl<'a> AddStaticCounter<'a> {
    /// Offset of `registration_id`.
    pub const REGISTRATION_ID_OFFSET: usize = 16;
    /// Offset of `type_id`.
    pub const TYPE_ID_OFFSET: usize = 24;
    /// Offset of the key's `i32` length; the label length follows at the next 4-byte boundary after the key.
    pub const KEY_OFFSET: usize = 28;
    /// Length of the fixed part before the key length.
    pub const LENGTH: usize = 28;

    /// Reads the command, ignoring bytes after the label.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "ADD_STATIC_COUNTER";
        let correlated = Correlated::decode_for(WHAT, body)?;
        require(WHAT, body, Self::LENGTH)?;
        let (key, label) = decode_key_and_label(WHAT, body, Self::KEY_OFFSET)?;
        Ok(Self {
            correlated,
            registration_id: get_i64(body, Self::REGISTRATION_ID_OFFSET),
            type_id: get_i32(body, Self::TYPE_ID_OFFSET),
            key,
            label,
        })
    }

    /// Bytes [`Self::encode`] writes.
    pub fn encoded_length(&self) -> usize {
        Self::KEY_OFFSET + key_and_label_length(self.key, self.label)
    }

    /// Writes the command; returns its length. Panics if `buf` is shorter than [`Self::encoded_length`].
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, self.encoded_length());
        self.correlated.encode(buf);
        put_i64(buf, Self::REGISTRATION_ID_OFFSET, self.registration_id);
        put_i32(buf, Self::TYPE_ID_OFFSET, self.type_id);
        encode_key_and_label(buf, Self::KEY_OFFSET, self.key, self.label)
    }
}

/// TERMINATE_DRIVER (`aeron_terminate_driver_command_t`, `TerminateDriverFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TerminateDriver<'a> {
    /// Client and correlation id.
    pub correlated: Correlated,
    /// Token the driver's termination validator checks.
    pub token: &'a [u8],
}

impl<'a> TerminateDriver<'a> {
    /// Offset of the token's `i32` length.
    pub const TOKEN_OFFSET: usize = 16;
    /// Length without the token bytes.
    pub const LENGTH: usize = 20;

    /// Reads the command.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "TERMINATE_DRIVER";
        let correlated = Correlated::decode_for(WHAT, body)?;
        let (token, _) = get_bytes(WHAT, "token", body, Self::TOKEN_OFFSET)?;
        Ok(Self { correlated, token })
    }

    /// Bytes [`Self::encode`] writes.
    pub fn encoded_length(&self) -> usize {
        Self::LENGTH + self.token.len()
    }

    /// Writes the command; returns its length. Panics if `buf` is shorter than [`Self::encoded_length`].
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, self.encoded_length());
        self.correlated.encode(buf);
        put_bytes(buf, Self::TOKEN_OFFSET, self.token)
    }
}

/// REJECT_IMAGE (`aeron_reject_image_command_t`, `RejectImageFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RejectImage<'a> {
    /// Client and correlation id.
    pub correlated: Correlated,
    /// Correlation id of the image to reject.
    pub image_correlation_id: i64,
    /// Position the client saw when rejecting.
    pub position: i64,
    /// Reason text (clients limit it to [`RejectImage::MAX_REASON_LENGTH`] bytes).
    pub reason: &'a str,
}

impl<'a> RejectImage<'a> {
    /// Offset of `image_correlation_id`.
    pub const IMAGE_CORRELATION_ID_OFFSET: usize = 16;
    /// Offset of `position`.
    pub const POSITION_OFFSET: usize = 24;
    /// Offset of the reason's `i32` length.
    pub const REASON_OFFSET: usize = 32;
    /// Length without the reason bytes.
    pub const LENGTH: usize = 36;
    /// Longest reason clients send.
    pub const MAX_REASON_LENGTH: usize = 1023;

    /// Reads the command.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "REJECT_IMAGE";
        let correlated = Correlated::decode_for(WHAT, body)?;
        require(WHAT, body, Self::LENGTH)?;
        let (reason, _) = get_string(WHAT, "reason", body, Self::REASON_OFFSET)?;
        Ok(Self {
            correlated,
            image_correlation_id: get_i64(body, Self::IMAGE_CORRELATION_ID_OFFSET),
            position: get_i64(body, Self::POSITION_OFFSET),
            reason,
        })
    }

    /// Bytes [`Self::encode`] writes.
    pub fn encoded_length(&self) -> usize {
        Self::LENGTH + self.reason.len()
    }

    /// Writes the command; returns its length. Panics if `buf` is shorter than [`Self::encoded_length`].
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, self.encoded_length());
        self.correlated.encode(buf);
        put_i64(
            buf,
            Self::IMAGE_CORRELATION_ID_OFFSET,
            self.image_correlation_id,
        );
        put_i64(buf, Self::POSITION_OFFSET, self.position);
        put_string(buf, Self::REASON_OFFSET, self.reason)
    }
}

/// REMOVE_DESTINATION_BY_ID (`aeron_destination_by_id_command_t`, `DestinationByIdMessageFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DestinationByIdCommand {
    /// Client and correlation id.
    pub correlated: Correlated,
    /// Registration id of the publication.
    pub resource_registration_id: i64,
    /// Registration id of the destination (the ADD_DESTINATION correlation id).
    pub destination_registration_id: i64,
}

impl DestinationByIdCommand {
    /// Offset of `resource_registration_id`.
    pub const RESOURCE_REGISTRATION_ID_OFFSET: usize = 16;
    /// Offset of `destination_registration_id`.
    pub const DESTINATION_REGISTRATION_ID_OFFSET: usize = 24;
    /// Length of the command.
    pub const LENGTH: usize = 32;

    /// Reads the command.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "REMOVE_DESTINATION_BY_ID";
        let correlated = Correlated::decode_for(WHAT, body)?;
        require(WHAT, body, Self::LENGTH)?;
        Ok(Self {
            correlated,
            resource_registration_id: get_i64(body, Self::RESOURCE_REGISTRATION_ID_OFFSET),
            destination_registration_id: get_i64(body, Self::DESTINATION_REGISTRATION_ID_OFFSET),
        })
    }

    /// Bytes [`Self::encode`] writes.
    pub const fn encoded_length(&self) -> usize {
        Self::LENGTH
    }

    /// Writes the command; returns 32. Panics if `buf` is shorter.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, Self::LENGTH);
        self.correlated.encode(buf);
        put_i64(
            buf,
            Self::RESOURCE_REGISTRATION_ID_OFFSET,
            self.resource_registration_id,
        );
        put_i64(
            buf,
            Self::DESTINATION_REGISTRATION_ID_OFFSET,
            self.destination_registration_id,
        );
        Self::LENGTH
    }
}

/// GET_NEXT_AVAILABLE_SESSION_ID (`GetNextAvailableSessionIdMessageFlyweight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GetNextAvailableSessionId {
    /// Client and correlation id.
    pub correlated: Correlated,
    /// Stream id the session id is wanted for.
    pub stream_id: i32,
}

impl GetNextAvailableSessionId {
    /// Offset of `stream_id`.
    pub const STREAM_ID_OFFSET: usize = 16;
    /// Length of the command.
    pub const LENGTH: usize = 20;

    /// Reads the command.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "GET_NEXT_AVAILABLE_SESSION_ID";
        let correlated = Correlated::decode_for(WHAT, body)?;
        require(WHAT, body, Self::LENGTH)?;
        Ok(Self {
            correlated,
            stream_id: get_i32(body, Self::STREAM_ID_OFFSET),
        })
    }

    /// Bytes [`Self::encode`] writes.
    pub const fn encoded_length(&self) -> usize {
        Self::LENGTH
    }

    /// Writes the command; returns 20. Panics if `buf` is shorter.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        start_encode(buf, Self::LENGTH);
        self.correlated.encode(buf);
        put_i32(buf, Self::STREAM_ID_OFFSET, self.stream_id);
        Self::LENGTH
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Little-endian bytes of an `i64`, for building expected encodings by hand.
    fn le64(v: i64) -> Vec<u8> {
        v.to_le_bytes().to_vec()
    }

    fn encoded(len: usize, encode: impl FnOnce(&mut [u8]) -> usize) -> Vec<u8> {
        let mut buf = vec![0xAA; len + 8];
        let n = encode(&mut buf);
        assert_eq!(n, len);
        buf.truncate(n);
        buf
    }

    const HEADER: Correlated = Correlated::new(0x0102_0304_0506_0708, 42);

    fn header_bytes() -> Vec<u8> {
        vec![
            0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, // client_id
            42, 0, 0, 0, 0, 0, 0, 0, // correlation_id
        ]
    }

    #[test]
    fn add_publication_bytes() {
        let cmd = PublicationCommand {
            correlated: HEADER,
            stream_id: 1001,
            channel: "aeron:ipc",
        };
        let mut expected = header_bytes();
        expected.extend_from_slice(&[0xE9, 0x03, 0, 0]); // stream_id 1001
        expected.extend_from_slice(&[9, 0, 0, 0]); // channel length
        expected.extend_from_slice(b"aeron:ipc");
        assert_eq!(expected.len(), 33);
        assert_eq!(cmd.encoded_length(), 33);
        assert_eq!(encoded(33, |b| cmd.encode(b)), expected);
        assert_eq!(PublicationCommand::decode(&expected), Ok(cmd));
    }

    #[test]
    fn add_subscription_bytes() {
        let cmd = SubscriptionCommand {
            correlated: HEADER,
            registration_correlation_id: -1,
            stream_id: 10,
            channel: "aeron:udp?endpoint=localhost:24400",
        };
        let mut expected = header_bytes();
        expected.extend_from_slice(&[0xFF; 8]); // registration_correlation_id -1
        expected.extend_from_slice(&[10, 0, 0, 0]); // stream_id
        expected.extend_from_slice(&[34, 0, 0, 0]); // channel length
        expected.extend_from_slice(b"aeron:udp?endpoint=localhost:24400");
        assert_eq!(expected.len(), 66);
        assert_eq!(encoded(66, |b| cmd.encode(b)), expected);
        assert_eq!(SubscriptionCommand::decode(&expected), Ok(cmd));
    }

    #[test]
    fn add_counter_bytes_with_aligned_label() {
        let cmd = AddCounter {
            correlated: HEADER,
            type_id: 1002,
            key: &[1, 2, 3, 4, 5],
            label: "ab",
        };
        let mut expected = header_bytes();
        expected.extend_from_slice(&[0xEA, 0x03, 0, 0]); // type_id 1002
        expected.extend_from_slice(&[5, 0, 0, 0]); // key length
        expected.extend_from_slice(&[1, 2, 3, 4, 5, 0, 0, 0]); // key padded to 8
        expected.extend_from_slice(&[2, 0, 0, 0]); // label length @32
        expected.extend_from_slice(b"ab");
        assert_eq!(expected.len(), 38);
        assert_eq!(cmd.label_offset(), 32);
        assert_eq!(encoded(38, |b| cmd.encode(b)), expected);
        assert_eq!(AddCounter::decode(&expected), Ok(cmd));

        // Java clients size the record 4 bytes longer than the encoding.
        let mut java = expected.clone();
        java.extend_from_slice(&[0; 4]);
        assert_eq!(AddCounter::decode(&java), Ok(cmd));

        // A label that runs past the body is malformed.
        assert!(matches!(
            AddCounter::decode(&expected[..37]),
            Err(DecodeError::BadLength { field: "label", .. })
        ));
    }

    #[test]
    fn add_static_counter_bytes() {
        let cmd = AddStaticCounter {
            correlated: HEADER,
            registration_id: 7,
            type_id: 3,
            key: &[9; 4],
            label: "x",
        };
        let mut expected = header_bytes();
        expected.extend_from_slice(&le64(7));
        expected.extend_from_slice(&[3, 0, 0, 0]);
        expected.extend_from_slice(&[4, 0, 0, 0, 9, 9, 9, 9]);
        expected.extend_from_slice(&[1, 0, 0, 0, b'x']);
        assert_eq!(encoded(41, |b| cmd.encode(b)), expected);
        assert_eq!(AddStaticCounter::decode(&expected), Ok(cmd));
    }

    #[test]
    fn remove_publication_bytes_and_legacy_form() {
        let cmd = RemovePublication {
            correlated: HEADER,
            registration_id: 0x1122,
            flags: REMOVE_PUBLICATION_FLAG_REVOKE,
        };
        let mut expected = header_bytes();
        expected.extend_from_slice(&[0x22, 0x11, 0, 0, 0, 0, 0, 0]); // registration_id
        expected.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // flags: revoke
        assert_eq!(encoded(32, |b| cmd.encode(b)), expected);
        let decoded = RemovePublication::decode(&expected).unwrap();
        assert_eq!(decoded, cmd);
        assert!(decoded.revoke());

        let legacy = RemovePublication::decode(&expected[..24]).unwrap();
        assert_eq!(legacy.registration_id, 0x1122);
        assert_eq!(legacy.flags, 0);
        assert!(!legacy.revoke());
        assert!(RemovePublication::decode(&expected[..23]).is_err());
    }

    #[test]
    fn short_and_bad_lengths_are_errors() {
        assert!(matches!(
            Correlated::decode(&[0; 15]),
            Err(DecodeError::Truncated { needed: 16, .. })
        ));
        let mut body = header_bytes();
        body.extend_from_slice(&[1, 0, 0, 0]);
        body.extend_from_slice(&(-1i32).to_le_bytes());
        assert!(matches!(
            PublicationCommand::decode(&body),
            Err(DecodeError::BadLength {
                field: "channel",
                ..
            })
        ));
        body.truncate(22);
        assert!(matches!(
            PublicationCommand::decode(&body),
            Err(DecodeError::Truncated { needed: 24, .. })
        ));
    }

    #[test]
    fn reject_image_and_terminate_bytes() {
        let cmd = RejectImage {
            correlated: HEADER,
            image_correlation_id: 5,
            position: 4096,
            reason: "no",
        };
        let mut expected = header_bytes();
        expected.extend_from_slice(&le64(5));
        expected.extend_from_slice(&[0, 0x10, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&[2, 0, 0, 0, b'n', b'o']);
        assert_eq!(encoded(38, |b| cmd.encode(b)), expected);

        let term = TerminateDriver {
            correlated: HEADER,
            token: &[0xFF, 0],
        };
        let mut expected = header_bytes();
        expected.extend_from_slice(&[2, 0, 0, 0, 0xFF, 0]);
        assert_eq!(encoded(22, |b| term.encode(b)), expected);
        assert_eq!(TerminateDriver::decode(&expected), Ok(term));
    }
}
