//! SM (status message): a receiver reports its consumption position and window to the sender.

use super::{expect_header, put_header, HDR_TYPE_SM};
use crate::{le, DecodeError};

/// Offset of `session_id` (i32).
pub const SESSION_ID_FIELD_OFFSET: usize = 8;
/// Offset of `stream_id` (i32).
pub const STREAM_ID_FIELD_OFFSET: usize = 12;
/// Offset of `consumption_term_id` (i32).
pub const CONSUMPTION_TERM_ID_FIELD_OFFSET: usize = 16;
/// Offset of `consumption_term_offset` (i32).
pub const CONSUMPTION_TERM_OFFSET_FIELD_OFFSET: usize = 20;
/// Offset of `receiver_window` (i32).
pub const RECEIVER_WINDOW_FIELD_OFFSET: usize = 24;
/// Offset of `receiver_id` (i64, on a 4-byte boundary).
pub const RECEIVER_ID_FIELD_OFFSET: usize = 28;
/// Offset of the optional `group_tag` (i64).
pub const GROUP_TAG_FIELD_OFFSET: usize = 36;
/// Length of a status message without a group tag.
pub const HEADER_LENGTH: usize = 36;
/// Length of a status message with a group tag.
pub const HEADER_LENGTH_WITH_GROUP_TAG: usize = 44;

/// The receiver asks the sender to send a SETUP.
pub const SEND_SETUP_FLAG: u8 = 0x80;
/// The receiver is closing or its image is draining.
pub const EOS_FLAG: u8 = 0x40;

const WHAT: &str = "status message";

/// A status message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct StatusMessage {
    /// [`SEND_SETUP_FLAG`], [`EOS_FLAG`].
    pub flags: u8,
    /// Session of the image.
    pub session_id: i32,
    /// Stream of the image.
    pub stream_id: i32,
    /// Term id of the consumption position.
    pub consumption_term_id: i32,
    /// Term offset of the consumption position.
    pub consumption_term_offset: i32,
    /// Bytes the receiver will accept beyond the consumption position.
    pub receiver_window: i32,
    /// Id of the receive endpoint.
    pub receiver_id: i64,
    /// The receiver group tag, sent only when the channel has one (`frame_length` 44).
    pub group_tag: Option<i64>,
}

impl StatusMessage {
    /// Decodes a status message. `frame_length` must be 36 (no group tag) or 44 (group tag), and the bytes must
    /// hold that many.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let header = expect_header(WHAT, bytes, HDR_TYPE_SM, HEADER_LENGTH)?;
        let group_tag = match usize::try_from(header.frame_length) {
            Ok(HEADER_LENGTH) => None,
            Ok(HEADER_LENGTH_WITH_GROUP_TAG) => {
                le::require(WHAT, bytes, HEADER_LENGTH_WITH_GROUP_TAG)?;
                Some(le::get_i64(bytes, GROUP_TAG_FIELD_OFFSET))
            }
            _ => {
                return Err(DecodeError::BadLength {
                    what: WHAT,
                    field: "frame_length",
                    length: header.frame_length.into(),
                })
            }
        };
        Ok(Self {
            flags: header.flags,
            session_id: le::get_i32(bytes, SESSION_ID_FIELD_OFFSET),
            stream_id: le::get_i32(bytes, STREAM_ID_FIELD_OFFSET),
            consumption_term_id: le::get_i32(bytes, CONSUMPTION_TERM_ID_FIELD_OFFSET),
            consumption_term_offset: le::get_i32(bytes, CONSUMPTION_TERM_OFFSET_FIELD_OFFSET),
            receiver_window: le::get_i32(bytes, RECEIVER_WINDOW_FIELD_OFFSET),
            receiver_id: le::get_i64(bytes, RECEIVER_ID_FIELD_OFFSET),
            group_tag,
        })
    }

    /// Bytes [`encode`](Self::encode) writes: 36, or 44 with a group tag.
    pub const fn encoded_length(&self) -> usize {
        if self.group_tag.is_some() {
            HEADER_LENGTH_WITH_GROUP_TAG
        } else {
            HEADER_LENGTH
        }
    }

    /// Writes the frame at the start of `buf`; returns its length. Panics if `buf` is too short.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        let length = self.encoded_length();
        put_header(buf, length, self.flags, HDR_TYPE_SM);
        le::put_i32(buf, SESSION_ID_FIELD_OFFSET, self.session_id);
        le::put_i32(buf, STREAM_ID_FIELD_OFFSET, self.stream_id);
        le::put_i32(
            buf,
            CONSUMPTION_TERM_ID_FIELD_OFFSET,
            self.consumption_term_id,
        );
        le::put_i32(
            buf,
            CONSUMPTION_TERM_OFFSET_FIELD_OFFSET,
            self.consumption_term_offset,
        );
        le::put_i32(buf, RECEIVER_WINDOW_FIELD_OFFSET, self.receiver_window);
        le::put_i64(buf, RECEIVER_ID_FIELD_OFFSET, self.receiver_id);
        if let Some(tag) = self.group_tag {
            le::put_i64(buf, GROUP_TAG_FIELD_OFFSET, tag);
        }
        length
    }

    /// The encoded frame as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut buf = vec![0; self.encoded_length()];
        self.encode(&mut buf);
        buf
    }

    /// Whether [`SEND_SETUP_FLAG`] is set.
    pub const fn is_send_setup(&self) -> bool {
        self.flags & SEND_SETUP_FLAG != 0
    }

    /// Whether [`EOS_FLAG`] is set.
    pub const fn is_eos(&self) -> bool {
        self.flags & EOS_FLAG != 0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_sm() -> impl Strategy<Value = StatusMessage> {
        (
            any::<u8>(),
            any::<[i32; 5]>(),
            any::<i64>(),
            any::<Option<i64>>(),
        )
            .prop_map(|(flags, f, receiver_id, group_tag)| StatusMessage {
                flags,
                session_id: f[0],
                stream_id: f[1],
                consumption_term_id: f[2],
                consumption_term_offset: f[3],
                receiver_window: f[4],
                receiver_id,
                group_tag,
            })
    }

    fn golden_sm() -> StatusMessage {
        StatusMessage {
            flags: 0,
            session_id: 0x8D7C_34DA_u32 as i32,
            stream_id: 1001,
            consumption_term_id: 0x8B85_45E1_u32 as i32,
            consumption_term_offset: 0,
            receiver_window: 128 * 1024,
            receiver_id: 0x7342_92CA_3609_9A16,
            group_tag: None,
        }
    }

    #[test]
    fn bytes_match_aeron_layout() {
        // The first SM of the golden capture.
        #[rustfmt::skip]
        let expected: [u8; 36] = [
            36, 0, 0, 0,                                    // frame_length
            0, 0, 0x03, 0x00,                               // version, flags, type SM
            0xDA, 0x34, 0x7C, 0x8D,                         // session_id
            0xE9, 0x03, 0, 0,                               // stream_id 1001
            0xE1, 0x45, 0x85, 0x8B,                         // consumption_term_id
            0, 0, 0, 0,                                     // consumption_term_offset
            0, 0, 0x02, 0,                                  // receiver_window 128 KiB
            0x16, 0x9A, 0x09, 0x36, 0xCA, 0x92, 0x42, 0x73, // receiver_id at offset 28
        ];
        assert_eq!(golden_sm().to_vec(), expected);
        assert_eq!(StatusMessage::decode(&expected).unwrap(), golden_sm());
    }

    #[test]
    fn group_tag_bytes_match_aeron_layout() {
        #[rustfmt::skip]
        let expected: [u8; 44] = [
            44, 0, 0, 0,                                    // frame_length with group tag
            0, 0xC0, 0x03, 0x00,                            // version, SEND_SETUP | EOS, type SM
            1, 0, 0, 0,                                     // session_id
            2, 0, 0, 0,                                     // stream_id
            3, 0, 0, 0,                                     // consumption_term_id
            0x20, 0, 0, 0,                                  // consumption_term_offset 32
            0, 0x80, 0, 0,                                  // receiver_window 32768
            0x01, 0, 0, 0, 0, 0, 0, 0,                      // receiver_id 1
            0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // group_tag -2
        ];
        let sm = StatusMessage {
            flags: SEND_SETUP_FLAG | EOS_FLAG,
            session_id: 1,
            stream_id: 2,
            consumption_term_id: 3,
            consumption_term_offset: 32,
            receiver_window: 32768,
            receiver_id: 1,
            group_tag: Some(-2),
        };
        assert_eq!(sm.to_vec(), expected);
        assert_eq!(StatusMessage::decode(&expected).unwrap(), sm);
        assert!(sm.is_send_setup() && sm.is_eos());
    }

    #[test]
    fn rejects_other_lengths() {
        let mut bytes = golden_sm().to_vec();
        bytes.extend_from_slice(&[0; 8]);
        for bad in [0, 35, 37, 40, 45] {
            le::put_i32(&mut bytes, 0, bad);
            assert!(matches!(
                StatusMessage::decode(&bytes),
                Err(DecodeError::BadLength { .. })
            ));
        }
        // frame_length 44 needs 44 bytes.
        le::put_i32(&mut bytes, 0, 44);
        assert!(matches!(
            StatusMessage::decode(&bytes[..40]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trips(sm in arb_sm()) {
            prop_assert_eq!(StatusMessage::decode(&sm.to_vec()).unwrap(), sm);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = StatusMessage::decode(&bytes);
        }
    }
}
