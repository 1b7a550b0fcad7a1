use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::align;
use oxeron_protocol::logbuffer::{DATA_HEADER_LENGTH, FRAME_ALIGNMENT};

use super::frame;
use super::Header;

/// What one pass of [`read_term`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermReadOutcome {
    /// Fragments handed to the handler.
    pub fragments_read: usize,
    /// Term offset reading stopped at: the start of the first frame not consumed.
    pub offset: usize,
}

/// Length and aligned length of the committed frame at `offset`, or `None` if there is none yet (zero or
/// negative length) or its length cannot be right (shorter than a header, or past the term's end).
#[inline]
pub(crate) fn committed_frame(term: &AtomicBuffer, offset: usize) -> Option<(usize, usize)> {
    let frame_length = term.get_i32_acquire(offset + frame::FRAME_LENGTH_OFFSET);
    if frame_length <= 0 {
        return None;
    }
    let frame_length = frame_length as usize;
    let aligned = align(frame_length, FRAME_ALIGNMENT);
    if frame_length < DATA_HEADER_LENGTH || aligned > term.capacity() - offset {
        return None;
    }
    Some((frame_length, aligned))
}

/// Borrows `length` bytes of committed frames (or a committed frame's payload) at `offset` in place.
///
/// Callers pass only ranges that [`committed_frame`] vouched for and hand the slice to a handler before the
/// subscriber position moves past it: the driver cleans a term only behind every subscriber's position, and
/// publishers never write into committed frames, so the bytes stay unchanged while borrowed.
#[inline]
pub(crate) fn committed_bytes(term: &AtomicBuffer, offset: usize, length: usize) -> &[u8] {
    // SAFETY: see above; the range is bounds-checked by `as_slice` and nothing writes it while borrowed.
    unsafe { term.as_slice(offset, length) }
}

/// True if the frame at `offset` is padding.
#[inline]
pub(crate) fn is_padding(term: &AtomicBuffer, offset: usize) -> bool {
    term.get_u16(offset + frame::TYPE_OFFSET) == frame::TYPE_PAD
}

/// Reads committed frames from `term` starting at `offset`, handing each DATA frame's payload and header to
/// `handler`, until `fragments_limit` fragments were delivered, an uncommitted frame is reached, or the term
/// ends. PAD frames are consumed but not delivered.
///
/// A frame length that cannot be right (shorter than a header, or running past the term end) stops the read
/// at that frame rather than trusting it.
#[inline]
pub fn read_term<F>(
    term: &AtomicBuffer,
    mut offset: usize,
    fragments_limit: usize,
    initial_term_id: i32,
    position_bits_to_shift: u32,
    handler: &mut F,
) -> TermReadOutcome
where
    F: FnMut(&[u8], &Header) + ?Sized,
{
    let capacity = term.capacity();
    let mut fragments_read = 0;
    while fragments_read < fragments_limit && offset < capacity {
        let Some((frame_length, aligned)) = committed_frame(term, offset) else {
            break;
        };
        let frame_offset = offset;
        offset += aligned;
        if is_padding(term, frame_offset) {
            continue;
        }
        let mut header_bytes = [0u8; DATA_HEADER_LENGTH];
        term.get_bytes(frame_offset, &mut header_bytes);
        let header = Header::new(header_bytes, initial_term_id, position_bits_to_shift);
        let payload = committed_bytes(
            term,
            frame_offset + DATA_HEADER_LENGTH,
            frame_length - DATA_HEADER_LENGTH,
        );
        handler(payload, &header);
        fragments_read += 1;
    }
    TermReadOutcome {
        fragments_read,
        offset,
    }
}
