//! ERR: a receiver reports an error about a stream to its sender (e.g. the image was rejected).

use super::{expect_header, put_header, HDR_TYPE_ERR};
use crate::{le, DecodeError};

/// Offset of `session_id` (i32).
pub const SESSION_ID_FIELD_OFFSET: usize = 8;
/// Offset of `stream_id` (i32).
pub const STREAM_ID_FIELD_OFFSET: usize = 12;
/// Offset of `receiver_id` (i64).
pub const RECEIVER_ID_FIELD_OFFSET: usize = 16;
/// Offset of `group_tag` (i64), meaningful when [`HAS_GROUP_TAG_FLAG`] is set.
pub const GROUP_TAG_FIELD_OFFSET: usize = 24;
/// Offset of `error_code` (i32).
pub const ERROR_CODE_FIELD_OFFSET: usize = 32;
/// Offset of `error_length` (i32): length of the text that follows.
pub const ERROR_STRING_LENGTH_FIELD_OFFSET: usize = 36;
/// Offset of the error text.
pub const ERROR_STRING_FIELD_OFFSET: usize = 40;
/// Length of an error frame without its text.
pub const HEADER_LENGTH: usize = 40;
/// Longest error text Aeron sends and accepts.
pub const MAX_ERROR_MESSAGE_LENGTH: usize = 1023;
/// Longest error frame.
pub const MAX_ERROR_FRAME_LENGTH: usize = HEADER_LENGTH + MAX_ERROR_MESSAGE_LENGTH;

/// `group_tag` holds the receiver's group tag.
pub const HAS_GROUP_TAG_FLAG: u8 = 0x08;

const WHAT: &str = "error frame";

/// An error frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ErrorFrame<'a> {
    /// [`HAS_GROUP_TAG_FLAG`].
    pub flags: u8,
    /// Session of the stream.
    pub session_id: i32,
    /// Stream id.
    pub stream_id: i32,
    /// Id of the receive endpoint.
    pub receiver_id: i64,
    /// Receiver group tag, as sent (see [`group_tag`](Self::group_tag)).
    pub group_tag: i64,
    /// Aeron error code (e.g. 13, image rejected).
    pub error_code: i32,
    /// Error text, at most [`MAX_ERROR_MESSAGE_LENGTH`] bytes.
    pub error_message: &'a str,
}

impl<'a> ErrorFrame<'a> {
    /// Decodes an error frame: at least 40 bytes, `0 <= error_length <= 1023`, `40 + error_length <=
    /// frame_length`, the text inside `bytes` and UTF-8.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let header = expect_header(WHAT, bytes, HDR_TYPE_ERR, HEADER_LENGTH)?;
        let error_length = le::get_i32(bytes, ERROR_STRING_LENGTH_FIELD_OFFSET);
        let fits = usize::try_from(error_length).is_ok_and(|len| {
            len <= MAX_ERROR_MESSAGE_LENGTH
                && i64::from(header.frame_length) >= (HEADER_LENGTH + len) as i64
        });
        if !fits {
            return Err(DecodeError::BadLength {
                what: WHAT,
                field: "error_length",
                length: error_length.into(),
            });
        }
        let (error_message, _) = le::get_string(
            WHAT,
            "error_message",
            bytes,
            ERROR_STRING_LENGTH_FIELD_OFFSET,
        )?;
        Ok(Self {
            flags: header.flags,
            session_id: le::get_i32(bytes, SESSION_ID_FIELD_OFFSET),
            stream_id: le::get_i32(bytes, STREAM_ID_FIELD_OFFSET),
            receiver_id: le::get_i64(bytes, RECEIVER_ID_FIELD_OFFSET),
            group_tag: le::get_i64(bytes, GROUP_TAG_FIELD_OFFSET),
            error_code: le::get_i32(bytes, ERROR_CODE_FIELD_OFFSET),
            error_message,
        })
    }

    /// Bytes [`encode`](Self::encode) writes: 40 plus the text.
    pub const fn encoded_length(&self) -> usize {
        HEADER_LENGTH + self.error_message.len()
    }

    /// Writes the frame at the start of `buf`; returns its length. Panics if `buf` is too short or the text is
    /// longer than [`MAX_ERROR_MESSAGE_LENGTH`] (Aeron truncates before sending).
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        assert!(
            self.error_message.len() <= MAX_ERROR_MESSAGE_LENGTH,
            "error message longer than {MAX_ERROR_MESSAGE_LENGTH} bytes"
        );
        let length = self.encoded_length();
        put_header(buf, length, self.flags, HDR_TYPE_ERR);
        le::put_i32(buf, SESSION_ID_FIELD_OFFSET, self.session_id);
        le::put_i32(buf, STREAM_ID_FIELD_OFFSET, self.stream_id);
        le::put_i64(buf, RECEIVER_ID_FIELD_OFFSET, self.receiver_id);
        le::put_i64(buf, GROUP_TAG_FIELD_OFFSET, self.group_tag);
        le::put_i32(buf, ERROR_CODE_FIELD_OFFSET, self.error_code);
        le::put_string(buf, ERROR_STRING_LENGTH_FIELD_OFFSET, self.error_message)
    }

    /// The encoded frame as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut buf = vec![0; self.encoded_length()];
        self.encode(&mut buf);
        buf
    }

    /// Whether [`HAS_GROUP_TAG_FLAG`] is set.
    pub const fn has_group_tag(&self) -> bool {
        self.flags & HAS_GROUP_TAG_FLAG != 0
    }

    /// The group tag when the flag says it is meaningful.
    pub const fn group_tag(&self) -> Option<i64> {
        if self.has_group_tag() {
            Some(self.group_tag)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bytes_match_aeron_layout() {
        #[rustfmt::skip]
        let expected: [u8; 45] = [
            45, 0, 0, 0,                                    // frame_length 40 + 5
            0, 0x08, 0x04, 0x00,                            // version, HAS_GROUP_TAG, type ERR
            0xDA, 0x34, 0x7C, 0x8D,                         // session_id
            0xE9, 0x03, 0, 0,                               // stream_id 1001
            0x16, 0x9A, 0x09, 0x36, 0xCA, 0x92, 0x42, 0x73, // receiver_id
            0x2A, 0, 0, 0, 0, 0, 0, 0,                      // group_tag 42
            13, 0, 0, 0,                                    // error_code 13 (image rejected)
            5, 0, 0, 0,                                     // error_length 5
            b'n', b'o', b' ', b'p', b'e',                   // text
        ];
        let frame = ErrorFrame {
            flags: HAS_GROUP_TAG_FLAG,
            session_id: 0x8D7C_34DA_u32 as i32,
            stream_id: 1001,
            receiver_id: 0x7342_92CA_3609_9A16,
            group_tag: 42,
            error_code: 13,
            error_message: "no pe",
        };
        assert_eq!(frame.to_vec(), expected);
        assert_eq!(ErrorFrame::decode(&expected).unwrap(), frame);
        assert_eq!(frame.group_tag(), Some(42));
        assert_eq!(ErrorFrame { flags: 0, ..frame }.group_tag(), None);
    }

    #[test]
    fn rejects_bad_text_lengths() {
        let frame = ErrorFrame {
            error_message: "abc",
            ..ErrorFrame::default()
        };
        let good = frame.to_vec();
        let with_len = |len: i32| {
            let mut b = good.clone();
            le::put_i32(&mut b, ERROR_STRING_LENGTH_FIELD_OFFSET, len);
            b
        };
        assert!(matches!(
            ErrorFrame::decode(&with_len(-1)),
            Err(DecodeError::BadLength { .. })
        ));
        assert!(matches!(
            ErrorFrame::decode(&with_len(4)),
            Err(DecodeError::BadLength { .. })
        ));
        let mut long = vec![0u8; MAX_ERROR_FRAME_LENGTH + 1];
        long[..40].copy_from_slice(&good[..40]);
        le::put_i32(&mut long, 0, (MAX_ERROR_FRAME_LENGTH + 1) as i32);
        le::put_i32(&mut long, ERROR_STRING_LENGTH_FIELD_OFFSET, 1024);
        assert!(matches!(
            ErrorFrame::decode(&long),
            Err(DecodeError::BadLength { .. })
        ));
        le::put_i32(&mut long, ERROR_STRING_LENGTH_FIELD_OFFSET, 1023);
        assert!(ErrorFrame::decode(&long).is_ok());
        let mut not_utf8 = good.clone();
        not_utf8[40] = 0xFF;
        assert!(matches!(
            ErrorFrame::decode(&not_utf8),
            Err(DecodeError::NotUtf8 { .. })
        ));
        // frame_length covers the text but the bytes stop early.
        assert!(matches!(
            ErrorFrame::decode(&good[..42]),
            Err(DecodeError::BadLength { .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trips(
            flags in any::<u8>(),
            ids in any::<[i32; 3]>(),
            longs in any::<[i64; 2]>(),
            text in "\\PC{0,200}",
        ) {
            prop_assume!(text.len() <= MAX_ERROR_MESSAGE_LENGTH);
            let frame = ErrorFrame {
                flags,
                session_id: ids[0],
                stream_id: ids[1],
                receiver_id: longs[0],
                group_tag: longs[1],
                error_code: ids[2],
                error_message: &text,
            };
            let bytes = frame.to_vec();
            prop_assert_eq!(ErrorFrame::decode(&bytes).unwrap(), frame);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = ErrorFrame::decode(&bytes);
        }
    }
}
