//! NAK: a receiver asks the sender to retransmit part of a term.

use super::{expect_header, put_header, HDR_TYPE_NAK};
use crate::{le, DecodeError};

/// Offset of `session_id` (i32).
pub const SESSION_ID_FIELD_OFFSET: usize = 8;
/// Offset of `stream_id` (i32).
pub const STREAM_ID_FIELD_OFFSET: usize = 12;
/// Offset of `term_id` (i32).
pub const TERM_ID_FIELD_OFFSET: usize = 16;
/// Offset of `term_offset` (i32).
pub const TERM_OFFSET_FIELD_OFFSET: usize = 20;
/// Offset of `length` (i32).
pub const LENGTH_FIELD_OFFSET: usize = 24;
/// Length of a NAK frame.
pub const HEADER_LENGTH: usize = 28;

/// A NAK frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Nak {
    /// Flags (Aeron sends 0).
    pub flags: u8,
    /// Session of the image.
    pub session_id: i32,
    /// Stream of the image.
    pub stream_id: i32,
    /// Term holding the gap.
    pub term_id: i32,
    /// Start of the gap in the term.
    pub term_offset: i32,
    /// Length of the gap in bytes.
    pub length: i32,
}

impl Nak {
    /// Decodes a NAK from at least 28 bytes (version 0, type NAK).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let header = expect_header("nak", bytes, HDR_TYPE_NAK, HEADER_LENGTH)?;
        Ok(Self {
            flags: header.flags,
            session_id: le::get_i32(bytes, SESSION_ID_FIELD_OFFSET),
            stream_id: le::get_i32(bytes, STREAM_ID_FIELD_OFFSET),
            term_id: le::get_i32(bytes, TERM_ID_FIELD_OFFSET),
            term_offset: le::get_i32(bytes, TERM_OFFSET_FIELD_OFFSET),
            length: le::get_i32(bytes, LENGTH_FIELD_OFFSET),
        })
    }

    /// Bytes [`encode`](Self::encode) writes: always 28.
    pub const fn encoded_length(&self) -> usize {
        HEADER_LENGTH
    }

    /// Writes the frame at the start of `buf`; returns 28. Panics if `buf` is shorter.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        put_header(buf, HEADER_LENGTH, self.flags, HDR_TYPE_NAK);
        le::put_i32(buf, SESSION_ID_FIELD_OFFSET, self.session_id);
        le::put_i32(buf, STREAM_ID_FIELD_OFFSET, self.stream_id);
        le::put_i32(buf, TERM_ID_FIELD_OFFSET, self.term_id);
        le::put_i32(buf, TERM_OFFSET_FIELD_OFFSET, self.term_offset);
        le::put_i32(buf, LENGTH_FIELD_OFFSET, self.length);
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

    pub(crate) fn arb_nak() -> impl Strategy<Value = Nak> {
        (any::<u8>(), any::<[i32; 5]>()).prop_map(|(flags, f)| Nak {
            flags,
            session_id: f[0],
            stream_id: f[1],
            term_id: f[2],
            term_offset: f[3],
            length: f[4],
        })
    }

    #[test]
    fn bytes_match_aeron_layout() {
        #[rustfmt::skip]
        let expected: [u8; 28] = [
            28, 0, 0, 0,            // frame_length
            0, 0, 0x02, 0x00,       // version, flags, type NAK
            0x11, 0x22, 0x33, 0x44, // session_id 0x44332211
            0xE9, 0x03, 0, 0,       // stream_id 1001
            0xFE, 0xFF, 0xFF, 0xFF, // term_id -2
            0x40, 0x01, 0, 0,       // term_offset 320
            0x80, 0x05, 0, 0,       // length 1408
        ];
        let nak = Nak {
            flags: 0,
            session_id: 0x4433_2211,
            stream_id: 1001,
            term_id: -2,
            term_offset: 320,
            length: 1408,
        };
        assert_eq!(nak.to_vec(), expected);
        assert_eq!(Nak::decode(&expected).unwrap(), nak);
    }

    #[test]
    fn rejects_short_or_mistyped_bytes() {
        let bytes = Nak::default().to_vec();
        assert!(matches!(
            Nak::decode(&bytes[..27]),
            Err(DecodeError::Truncated { .. })
        ));
        let mut wrong = bytes.clone();
        wrong[6] = 3;
        assert!(matches!(
            Nak::decode(&wrong),
            Err(DecodeError::InvalidValue { field: "type", .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trips(nak in arb_nak()) {
            prop_assert_eq!(Nak::decode(&nak.to_vec()).unwrap(), nak);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Nak::decode(&bytes);
        }
    }
}
