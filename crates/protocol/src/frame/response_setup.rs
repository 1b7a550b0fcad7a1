//! RSP_SETUP: a responder tells the requester's sender which session its response publication uses.

use super::{expect_header, put_header, HDR_TYPE_RSP_SETUP};
use crate::{le, DecodeError};

/// Offset of `session_id` (i32): the requester's publication session.
pub const SESSION_ID_FIELD_OFFSET: usize = 8;
/// Offset of `stream_id` (i32).
pub const STREAM_ID_FIELD_OFFSET: usize = 12;
/// Offset of `response_session_id` (i32).
pub const RESPONSE_SESSION_ID_FIELD_OFFSET: usize = 16;
/// Length of a response setup frame.
pub const HEADER_LENGTH: usize = 20;

/// A response setup frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ResponseSetup {
    /// Flags (Aeron sends 0).
    pub flags: u8,
    /// Session of the requester's publication.
    pub session_id: i32,
    /// Stream of the requester's publication.
    pub stream_id: i32,
    /// Session of the responder's response publication.
    pub response_session_id: i32,
}

impl ResponseSetup {
    /// Decodes a response setup from at least 20 bytes (version 0, type RSP_SETUP).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let header = expect_header("response setup", bytes, HDR_TYPE_RSP_SETUP, HEADER_LENGTH)?;
        Ok(Self {
            flags: header.flags,
            session_id: le::get_i32(bytes, SESSION_ID_FIELD_OFFSET),
            stream_id: le::get_i32(bytes, STREAM_ID_FIELD_OFFSET),
            response_session_id: le::get_i32(bytes, RESPONSE_SESSION_ID_FIELD_OFFSET),
        })
    }

    /// Bytes [`encode`](Self::encode) writes: always 20.
    pub const fn encoded_length(&self) -> usize {
        HEADER_LENGTH
    }

    /// Writes the frame at the start of `buf`; returns 20. Panics if `buf` is shorter.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        put_header(buf, HEADER_LENGTH, self.flags, HDR_TYPE_RSP_SETUP);
        le::put_i32(buf, SESSION_ID_FIELD_OFFSET, self.session_id);
        le::put_i32(buf, STREAM_ID_FIELD_OFFSET, self.stream_id);
        le::put_i32(
            buf,
            RESPONSE_SESSION_ID_FIELD_OFFSET,
            self.response_session_id,
        );
        HEADER_LENGTH
    }

    /// The encoded frame as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut buf = vec![0; HEADER_LENGTH];
        self.encode(&mut buf);
        buf
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_rsp_setup() -> impl Strategy<Value = ResponseSetup> {
        (any::<u8>(), any::<[i32; 3]>()).prop_map(|(flags, f)| ResponseSetup {
            flags,
            session_id: f[0],
            stream_id: f[1],
            response_session_id: f[2],
        })
    }

    #[test]
    fn bytes_match_aeron_layout() {
        #[rustfmt::skip]
        let expected: [u8; 20] = [
            20, 0, 0, 0,            // frame_length
            0, 0, 0x0B, 0x00,       // version, flags, type RSP_SETUP
            0x01, 0x02, 0x03, 0x04, // session_id 0x04030201
            0x0A, 0, 0, 0,          // stream_id 10
            0xFF, 0xFF, 0xFF, 0x7F, // response_session_id i32::MAX
        ];
        let frame = ResponseSetup {
            flags: 0,
            session_id: 0x0403_0201,
            stream_id: 10,
            response_session_id: i32::MAX,
        };
        assert_eq!(frame.to_vec(), expected);
        assert_eq!(ResponseSetup::decode(&expected).unwrap(), frame);
        assert!(matches!(
            ResponseSetup::decode(&expected[..19]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trips(frame in arb_rsp_setup()) {
            prop_assert_eq!(ResponseSetup::decode(&frame.to_vec()).unwrap(), frame);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            let _ = ResponseSetup::decode(&bytes);
        }
    }
}
