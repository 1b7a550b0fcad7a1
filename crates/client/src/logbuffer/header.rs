use oxeron_protocol::logbuffer::{compute_position, DATA_HEADER_LENGTH, FRAME_ALIGNMENT};
use oxeron_protocol::{align, le};

use super::frame;

/// The header of the frame a fragment arrived in, handed to fragment handlers beside the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    bytes: [u8; DATA_HEADER_LENGTH],
    initial_term_id: i32,
    position_bits_to_shift: u32,
}

impl Header {
    /// A header from its 32 bytes and the log's initial term id and position shift.
    pub fn new(
        bytes: [u8; DATA_HEADER_LENGTH],
        initial_term_id: i32,
        position_bits_to_shift: u32,
    ) -> Self {
        Header {
            bytes,
            initial_term_id,
            position_bits_to_shift,
        }
    }

    /// The raw 32 header bytes.
    pub fn bytes(&self) -> &[u8; DATA_HEADER_LENGTH] {
        &self.bytes
    }

    /// Frame length: header plus payload, unaligned.
    pub fn frame_length(&self) -> i32 {
        le::get_i32(&self.bytes, frame::FRAME_LENGTH_OFFSET)
    }

    /// Flags: BEGIN (0x80), END (0x40), EOS (0x20).
    pub fn flags(&self) -> u8 {
        self.bytes[frame::FLAGS_OFFSET]
    }

    /// Frame type (DATA = 1, PAD = 0).
    pub fn frame_type(&self) -> u16 {
        le::get_u16(&self.bytes, frame::TYPE_OFFSET)
    }

    /// Offset of the frame in its term.
    pub fn term_offset(&self) -> i32 {
        le::get_i32(&self.bytes, frame::TERM_OFFSET_OFFSET)
    }

    /// Session id of the publication.
    pub fn session_id(&self) -> i32 {
        le::get_i32(&self.bytes, frame::SESSION_ID_OFFSET)
    }

    /// Stream id.
    pub fn stream_id(&self) -> i32 {
        le::get_i32(&self.bytes, frame::STREAM_ID_OFFSET)
    }

    /// Term id the frame is in.
    pub fn term_id(&self) -> i32 {
        le::get_i32(&self.bytes, frame::TERM_ID_OFFSET)
    }

    /// The 64-bit value a reserved-value supplier put in the frame.
    pub fn reserved_value(&self) -> i64 {
        le::get_i64(&self.bytes, frame::RESERVED_VALUE_OFFSET)
    }

    /// Initial term id of the stream.
    pub fn initial_term_id(&self) -> i32 {
        self.initial_term_id
    }

    /// Length of a term of the stream.
    pub fn term_length(&self) -> i32 {
        1 << self.position_bits_to_shift
    }

    /// Stream position just after this frame (where the next frame begins).
    pub fn position(&self) -> i64 {
        let next = self.term_offset() as i64
            + align(self.frame_length().max(0) as usize, FRAME_ALIGNMENT) as i64;
        compute_position(
            self.term_id(),
            0,
            self.position_bits_to_shift,
            self.initial_term_id,
        ) + next
    }

    pub(crate) fn set_frame_length(&mut self, length: i32) {
        le::put_i32(&mut self.bytes, frame::FRAME_LENGTH_OFFSET, length);
    }

    pub(crate) fn set_flags(&mut self, flags: u8) {
        self.bytes[frame::FLAGS_OFFSET] = flags;
    }
}
