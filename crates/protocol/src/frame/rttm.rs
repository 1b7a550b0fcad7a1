//! RTTM: round-trip-time measurement request and reply.

use super::{expect_header, put_header, HDR_TYPE_RTTM};
use crate::{le, DecodeError};

/// Offset of `session_id` (i32).
pub const SESSION_ID_FIELD_OFFSET: usize = 8;
/// Offset of `stream_id` (i32).
pub const STREAM_ID_FIELD_OFFSET: usize = 12;
/// Offset of `echo_timestamp` (i64, ns).
pub const ECHO_TIMESTAMP_FIELD_OFFSET: usize = 16;
/// Offset of `reception_delta` (i64, ns).
pub const RECEPTION_DELTA_FIELD_OFFSET: usize = 24;
/// Offset of `receiver_id` (i64).
pub const RECEIVER_ID_FIELD_OFFSET: usize = 32;
/// Length of an RTTM frame.
pub const HEADER_LENGTH: usize = 40;

/// Set on a request ("please reply"); replies carry flags 0.
pub const REPLY_FLAG: u8 = 0x80;

/// An RTT measurement frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Rttm {
    /// [`REPLY_FLAG`].
    pub flags: u8,
    /// Session of the stream.
    pub session_id: i32,
    /// Stream id.
    pub stream_id: i32,
    /// The requester's clock in ns, echoed back by the reply.
    pub echo_timestamp: i64,
    /// Time the replier held the request, in ns.
    pub reception_delta: i64,
    /// Receiver id of the receive endpoint.
    pub receiver_id: i64,
}

impl Rttm {
    /// Decodes an RTTM from at least 40 bytes (version 0, type RTTM).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let header = expect_header("rttm", bytes, HDR_TYPE_RTTM, HEADER_LENGTH)?;
        Ok(Self {
            flags: header.flags,
            session_id: le::get_i32(bytes, SESSION_ID_FIELD_OFFSET),
            stream_id: le::get_i32(bytes, STREAM_ID_FIELD_OFFSET),
            echo_timestamp: le::get_i64(bytes, ECHO_TIMESTAMP_FIELD_OFFSET),
            reception_delta: le::get_i64(bytes, RECEPTION_DELTA_FIELD_OFFSET),
            receiver_id: le::get_i64(bytes, RECEIVER_ID_FIELD_OFFSET),
        })
    }

    /// Bytes [`encode`](Self::encode) writes: always 40.
    pub const fn encoded_length(&self) -> usize {
        HEADER_LENGTH
    }

    /// Writes the frame at the start of `buf`; returns 40. Panics if `buf` is shorter.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        put_header(buf, HEADER_LENGTH, self.flags, HDR_TYPE_RTTM);
        le::put_i32(buf, SESSION_ID_FIELD_OFFSET, self.session_id);
        le::put_i32(buf, STREAM_ID_FIELD_OFFSET, self.stream_id);
        le::put_i64(buf, ECHO_TIMESTAMP_FIELD_OFFSET, self.echo_timestamp);
        le::put_i64(buf, RECEPTION_DELTA_FIELD_OFFSET, self.reception_delta);
        le::put_i64(buf, RECEIVER_ID_FIELD_OFFSET, self.receiver_id);
        HEADER_LENGTH
    }

    /// The encoded frame as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut buf = vec![0; HEADER_LENGTH];
        self.encode(&mut buf);
        buf
    }

    /// Whether [`REPLY_FLAG`] is set, i.e. this frame asks for a reply.
    pub const fn is_reply_requested(&self) -> bool {
        self.flags & REPLY_FLAG != 0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_rttm() -> impl Strategy<Value = Rttm> {
        (any::<u8>(), any::<[i32; 2]>(), any::<[i64; 3]>()).prop_map(|(flags, i, l)| Rttm {
            flags,
            session_id: i[0],
            stream_id: i[1],
            echo_timestamp: l[0],
            reception_delta: l[1],
            receiver_id: l[2],
        })
    }

    #[test]
    fn bytes_match_aeron_layout() {
        #[rustfmt::skip]
        let expected: [u8; 40] = [
            40, 0, 0, 0,                                    // frame_length
            0, 0x80, 0x06, 0x00,                            // version, REPLY, type RTTM
            5, 0, 0, 0,                                     // session_id 5
            6, 0, 0, 0,                                     // stream_id 6
            0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // echo_timestamp
            0x10, 0x27, 0, 0, 0, 0, 0, 0,                   // reception_delta 10000
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // receiver_id -1
        ];
        let rttm = Rttm {
            flags: REPLY_FLAG,
            session_id: 5,
            stream_id: 6,
            echo_timestamp: 0x1122_3344_5566_7788,
            reception_delta: 10_000,
            receiver_id: -1,
        };
        assert_eq!(rttm.to_vec(), expected);
        assert_eq!(Rttm::decode(&expected).unwrap(), rttm);
        assert!(rttm.is_reply_requested());
    }

    proptest! {
        #[test]
        fn round_trips(rttm in arb_rttm()) {
            prop_assert_eq!(Rttm::decode(&rttm.to_vec()).unwrap(), rttm);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Rttm::decode(&bytes);
        }
    }
}
