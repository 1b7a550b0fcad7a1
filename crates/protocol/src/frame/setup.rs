//! SETUP: a sender announces a stream and its log geometry to receivers.

use super::{expect_header, put_header, HDR_TYPE_SETUP};
use crate::{le, DecodeError};

/// Offset of `term_offset` (i32): the sender position's offset in the active term.
pub const TERM_OFFSET_FIELD_OFFSET: usize = 8;
/// Offset of `session_id` (i32).
pub const SESSION_ID_FIELD_OFFSET: usize = 12;
/// Offset of `stream_id` (i32).
pub const STREAM_ID_FIELD_OFFSET: usize = 16;
/// Offset of `initial_term_id` (i32).
pub const INITIAL_TERM_ID_FIELD_OFFSET: usize = 20;
/// Offset of `active_term_id` (i32).
pub const ACTIVE_TERM_ID_FIELD_OFFSET: usize = 24;
/// Offset of `term_length` (i32).
pub const TERM_LENGTH_FIELD_OFFSET: usize = 28;
/// Offset of `mtu` (i32).
pub const MTU_LENGTH_FIELD_OFFSET: usize = 32;
/// Offset of `ttl` (i32).
pub const TTL_FIELD_OFFSET: usize = 36;
/// Length of a setup frame.
pub const HEADER_LENGTH: usize = 40;

/// The publication wants a response channel (`response-correlation-id` set).
pub const SEND_RESPONSE_FLAG: u8 = 0x80;
/// The sender's channel has group semantics (multicast or MDC).
pub const GROUP_FLAG: u8 = 0x40;

/// A setup frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Setup {
    /// [`SEND_RESPONSE_FLAG`], [`GROUP_FLAG`].
    pub flags: u8,
    /// Offset of the sender position in the active term.
    pub term_offset: i32,
    /// Session of the publication.
    pub session_id: i32,
    /// Stream of the publication.
    pub stream_id: i32,
    /// Initial term id of the publication's log.
    pub initial_term_id: i32,
    /// Term id of the sender position.
    pub active_term_id: i32,
    /// Term length of the log.
    pub term_length: i32,
    /// Sender MTU.
    pub mtu: i32,
    /// Multicast TTL of the channel (0 if unset).
    pub ttl: i32,
}

impl Setup {
    /// Decodes a setup from at least 40 bytes (version 0, type SETUP). Like Aeron, `frame_length` is not
    /// checked against the bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let header = expect_header("setup", bytes, HDR_TYPE_SETUP, HEADER_LENGTH)?;
        Ok(Self {
            flags: header.flags,
            term_offset: le::get_i32(bytes, TERM_OFFSET_FIELD_OFFSET),
            session_id: le::get_i32(bytes, SESSION_ID_FIELD_OFFSET),
            stream_id: le::get_i32(bytes, STREAM_ID_FIELD_OFFSET),
            initial_term_id: le::get_i32(bytes, INITIAL_TERM_ID_FIELD_OFFSET),
            active_term_id: le::get_i32(bytes, ACTIVE_TERM_ID_FIELD_OFFSET),
            term_length: le::get_i32(bytes, TERM_LENGTH_FIELD_OFFSET),
            mtu: le::get_i32(bytes, MTU_LENGTH_FIELD_OFFSET),
            ttl: le::get_i32(bytes, TTL_FIELD_OFFSET),
        })
    }

    /// Bytes [`encode`](Self::encode) writes: always 40.
    pub const fn encoded_length(&self) -> usize {
        HEADER_LENGTH
    }

    /// Writes the frame at the start of `buf`; returns 40. Panics if `buf` is shorter.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        put_header(buf, HEADER_LENGTH, self.flags, HDR_TYPE_SETUP);
        le::put_i32(buf, TERM_OFFSET_FIELD_OFFSET, self.term_offset);
        le::put_i32(buf, SESSION_ID_FIELD_OFFSET, self.session_id);
        le::put_i32(buf, STREAM_ID_FIELD_OFFSET, self.stream_id);
        le::put_i32(buf, INITIAL_TERM_ID_FIELD_OFFSET, self.initial_term_id);
        le::put_i32(buf, ACTIVE_TERM_ID_FIELD_OFFSET, self.active_term_id);
        le::put_i32(buf, TERM_LENGTH_FIELD_OFFSET, self.term_length);
        le::put_i32(buf, MTU_LENGTH_FIELD_OFFSET, self.mtu);
        le::put_i32(buf, TTL_FIELD_OFFSET, self.ttl);
        HEADER_LENGTH
    }

    /// The encoded frame as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut buf = vec![0; HEADER_LENGTH];
        self.encode(&mut buf);
        buf
    }

    /// Whether [`SEND_RESPONSE_FLAG`] is set.
    pub const fn is_send_response(&self) -> bool {
        self.flags & SEND_RESPONSE_FLAG != 0
    }

    /// Whether [`GROUP_FLAG`] is set.
    pub const fn is_group(&self) -> bool {
        self.flags & GROUP_FLAG != 0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_setup() -> impl Strategy<Value = Setup> {
        (any::<u8>(), any::<[i32; 8]>()).prop_map(|(flags, f)| Setup {
            flags,
            term_offset: f[0],
            session_id: f[1],
            stream_id: f[2],
            initial_term_id: f[3],
            active_term_id: f[4],
            term_length: f[5],
            mtu: f[6],
            ttl: f[7],
        })
    }

    #[test]
    fn bytes_match_aeron_layout() {
        // The SETUP of the golden capture.
        #[rustfmt::skip]
        let expected: [u8; 40] = [
            40, 0, 0, 0,                // frame_length
            0, 0, 0x05, 0x00,           // version, flags, type SETUP
            0, 0, 0, 0,                 // term_offset 0
            0xDA, 0x34, 0x7C, 0x8D,     // session_id
            0xE9, 0x03, 0, 0,           // stream_id 1001
            0xE1, 0x45, 0x85, 0x8B,     // initial_term_id
            0xE1, 0x45, 0x85, 0x8B,     // active_term_id
            0, 0, 0, 0x01,              // term_length 16 MiB
            0x80, 0x05, 0, 0,           // mtu 1408
            0, 0, 0, 0,                 // ttl 0
        ];
        let setup = Setup {
            flags: 0,
            term_offset: 0,
            session_id: 0x8D7C_34DA_u32 as i32,
            stream_id: 1001,
            initial_term_id: 0x8B85_45E1_u32 as i32,
            active_term_id: 0x8B85_45E1_u32 as i32,
            term_length: 16 * 1024 * 1024,
            mtu: 1408,
            ttl: 0,
        };
        assert_eq!(setup.to_vec(), expected);
        assert_eq!(Setup::decode(&expected).unwrap(), setup);
        assert!(!setup.is_group() && !setup.is_send_response());
    }

    #[test]
    fn flags() {
        let setup = Setup {
            flags: SEND_RESPONSE_FLAG | GROUP_FLAG,
            ..Setup::default()
        };
        assert_eq!(setup.to_vec()[5], 0xC0);
        assert!(setup.is_group() && setup.is_send_response());
    }

    proptest! {
        #[test]
        fn round_trips(setup in arb_setup()) {
            prop_assert_eq!(Setup::decode(&setup.to_vec()).unwrap(), setup);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Setup::decode(&bytes);
        }
    }
}
