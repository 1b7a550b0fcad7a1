//! Unblocking a log whose publisher died between claiming space and committing it.

use oxeron_client::logbuffer::LogMetadata;
use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::logbuffer::{
    compute_term_count, index_by_position, padding_frame_header, term_id, term_offset,
    PaddingFrame, FRAME_ALIGNMENT,
};

/// What unblocking a term did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnblockStatus {
    /// Nothing to do: the frame at the blocked offset is fine, or the gap is not all zeros.
    NoAction,
    /// The blocking frame (or zeroed gap) became padding up to the next written frame.
    Unblocked,
    /// The rest of the term became padding; the log must rotate.
    UnblockedToEnd,
}

/// Writes a PAD frame of `length` bytes at `offset`, length last with release.
fn pad(term: &AtomicBuffer, default_header: &[u8; 32], term_id: i32, offset: usize, length: usize) {
    let header = padding_frame_header(
        default_header,
        term_id,
        PaddingFrame {
            term_offset: offset as i32,
            frame_length: length as i32,
        },
    );
    term.put_bytes(offset + 4, &header[4..]);
    term.put_i32_release(offset, length as i32);
}

/// Turns a stuck claim (negative frame length) or a zeroed gap at `blocked_offset` into padding, when every
/// byte in between is still zero (so no live publisher is about to write there).
pub(crate) fn unblock_term(
    term: &AtomicBuffer,
    default_header: &[u8; 32],
    term_id: i32,
    blocked_offset: usize,
    tail_offset: usize,
) -> UnblockStatus {
    let frame_length = term.get_i32_acquire(blocked_offset);
    if frame_length < 0 {
        pad(
            term,
            default_header,
            term_id,
            blocked_offset,
            (-frame_length) as usize,
        );
        return UnblockStatus::Unblocked;
    }
    if frame_length > 0 {
        return UnblockStatus::NoAction;
    }
    let capacity = term.capacity();
    let mut offset = blocked_offset + FRAME_ALIGNMENT;
    while offset < tail_offset.min(capacity) {
        if term.get_i32_acquire(offset) != 0 {
            if is_zeroed(term, blocked_offset, offset) {
                pad(
                    term,
                    default_header,
                    term_id,
                    blocked_offset,
                    offset - blocked_offset,
                );
                return UnblockStatus::Unblocked;
            }
            return UnblockStatus::NoAction;
        }
        offset += FRAME_ALIGNMENT;
    }
    if offset >= capacity
        && term.get_i32_acquire(blocked_offset) == 0
        && is_zeroed(term, blocked_offset, capacity)
    {
        pad(
            term,
            default_header,
            term_id,
            blocked_offset,
            capacity - blocked_offset,
        );
        return UnblockStatus::UnblockedToEnd;
    }
    UnblockStatus::NoAction
}

fn is_zeroed(term: &AtomicBuffer, from: usize, to: usize) -> bool {
    (from..to)
        .step_by(FRAME_ALIGNMENT)
        .all(|o| term.get_i32_acquire(o) == 0)
}

/// Unblocks the log at `blocked_position` (the slowest consumer's position) if a frame there is stuck.
/// Returns true if it changed the log.
pub(crate) fn unblock_log(
    terms: &[AtomicBuffer; 3],
    metadata: &LogMetadata,
    blocked_position: i64,
    term_length: i32,
) -> bool {
    let bits = term_length.trailing_zeros();
    let index = index_by_position(blocked_position, bits);
    let raw_tail = metadata.raw_tail(index);
    let tail_term_id = term_id(raw_tail);
    let tail_offset = term_offset(raw_tail, term_length) as usize;
    let blocked_offset = (blocked_position & (term_length as i64 - 1)) as usize;
    let status = unblock_term(
        &terms[index],
        &metadata.default_frame_header(),
        tail_term_id,
        blocked_offset,
        tail_offset,
    );
    if status == UnblockStatus::UnblockedToEnd {
        let term_count = compute_term_count(tail_term_id, metadata.initial_term_id());
        metadata.rotate_log(term_count, tail_term_id);
    }
    status != UnblockStatus::NoAction
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> [u8; 32] {
        oxeron_protocol::logbuffer::default_frame_header(7, 8, 0)
    }

    #[test]
    fn stuck_claim_becomes_padding() {
        let term = AtomicBuffer::new_zeroed(65536);
        term.put_i32(64, -96);
        assert_eq!(
            unblock_term(&term, &header(), 0, 64, 160),
            UnblockStatus::Unblocked
        );
        assert_eq!(term.get_i32(64), 96);
        assert_eq!(term.get_u16(64 + 6), 0, "PAD");
        assert_eq!(term.get_i32(64 + 8), 64, "term offset");
    }

    #[test]
    fn zeroed_gap_before_a_written_frame_becomes_padding() {
        let term = AtomicBuffer::new_zeroed(65536);
        term.put_i32(128, 40);
        assert_eq!(
            unblock_term(&term, &header(), 0, 32, 192),
            UnblockStatus::Unblocked
        );
        assert_eq!(term.get_i32(32), 96);
        assert_eq!(
            unblock_term(&term, &header(), 0, 32, 192),
            UnblockStatus::NoAction
        );
    }

    #[test]
    fn zeroed_rest_of_term_is_padded_to_the_end() {
        let term = AtomicBuffer::new_zeroed(65536);
        assert_eq!(
            unblock_term(&term, &header(), 0, 65536 - 64, 65536 + 100),
            UnblockStatus::UnblockedToEnd
        );
        assert_eq!(term.get_i32(65536 - 64), 64);
    }
}
