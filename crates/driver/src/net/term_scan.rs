//! Scans over term buffers: gaps (receiver), available frames (sender), inserting received frames, cleaning.

use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::align;
use oxeron_protocol::frame::{FRAME_ALIGNMENT, HDR_TYPE_PAD, TYPE_FIELD_OFFSET};
use oxeron_protocol::logbuffer::DATA_HEADER_LENGTH;

/// Where [`scan_for_gap`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GapScan {
    /// Offset of the first missing frame, or where the contiguous frames reached `limit`.
    pub(crate) offset: usize,
    /// Bytes missing from `offset` to the next received frame (or `limit`); 0 when no gap was found.
    pub(crate) gap_length: usize,
}

/// Walks complete frames from `offset` towards `limit`; at the first zero `frame_length` measures the gap up to
/// the next received frame (checked every 32 bytes) or `limit`.
pub(crate) fn scan_for_gap(term: &AtomicBuffer, offset: usize, limit: usize) -> GapScan {
    let mut offset = offset;
    while offset < limit {
        let frame_length = term.get_i32_volatile(offset);
        if frame_length <= 0 {
            break;
        }
        offset += align(frame_length as usize, FRAME_ALIGNMENT);
    }
    if offset >= limit {
        return GapScan {
            offset,
            gap_length: 0,
        };
    }
    let mut end = offset + FRAME_ALIGNMENT;
    while end < limit && term.get_i32_volatile(end) == 0 {
        end += FRAME_ALIGNMENT;
    }
    let end = end.min(limit);
    GapScan {
        offset,
        gap_length: end - offset,
    }
}

/// What the sender may put in one datagram from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Availability {
    /// Bytes of whole frames to send (a PAD frame counts only its 32-byte header).
    pub(crate) available: usize,
    /// Bytes of a PAD frame beyond its header, skipped without sending.
    pub(crate) padding: usize,
}

/// Collects whole frames from `offset` up to `max_length` bytes, stopping after a PAD frame (Aeron's term
/// scanner).
pub(crate) fn scan_for_availability(
    term: &AtomicBuffer,
    offset: usize,
    max_length: usize,
) -> Availability {
    let limit = max_length.min(term.capacity() - offset);
    let mut available = 0;
    let mut padding = 0;
    while available < limit {
        let frame_offset = offset + available;
        let frame_length = term.get_i32_volatile(frame_offset);
        if frame_length <= 0 {
            break;
        }
        let mut aligned = align(frame_length as usize, FRAME_ALIGNMENT);
        if term.get_u16(frame_offset + TYPE_FIELD_OFFSET) == HDR_TYPE_PAD {
            let to_term_end = term.capacity() - frame_offset;
            padding = aligned.min(to_term_end).saturating_sub(DATA_HEADER_LENGTH);
            aligned = DATA_HEADER_LENGTH;
        }
        if available + aligned > limit {
            padding = 0;
            break;
        }
        available += aligned;
        if padding > 0 {
            break;
        }
    }
    Availability { available, padding }
}

/// Writes received frames at `term_offset` unless a frame is already there: everything after the first 8 bytes
/// first, then the first frame's length/version/flags/type with a release store so readers see a whole frame.
pub(crate) fn insert(term: &AtomicBuffer, term_offset: usize, packet: &[u8]) {
    if term.get_i32_volatile(term_offset) != 0 || packet.len() < DATA_HEADER_LENGTH {
        return;
    }
    let len = packet.len().min(term.capacity() - term_offset);
    term.put_bytes(term_offset + 8, &packet[8..len]);
    let mut first = [0u8; 8];
    first.copy_from_slice(&packet[..8]);
    term.put_i64_release(term_offset, i64::from_le_bytes(first));
}

/// Zeroes `length` bytes at `offset`, the first 8 last with a release store.
pub(crate) fn clean(term: &AtomicBuffer, offset: usize, length: usize) {
    if length > 8 {
        term.set_memory(offset + 8, length - 8, 0);
    }
    term.put_i64_release(offset, 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxeron_protocol::frame::data::{DataHeader, UNFRAGMENTED};
    use oxeron_protocol::frame::HDR_TYPE_DATA;

    fn put_frame(term: &AtomicBuffer, offset: usize, frame_length: i32, frame_type: u16) {
        let header = DataHeader {
            frame_length,
            flags: UNFRAGMENTED,
            frame_type,
            term_offset: offset as i32,
            ..DataHeader::default()
        };
        term.put_bytes(offset, &header.to_bytes());
    }

    #[test]
    fn gap_scan_finds_first_gap_and_its_length() {
        let term = AtomicBuffer::new_zeroed(1024);
        put_frame(&term, 0, 40, HDR_TYPE_DATA);
        put_frame(&term, 64, 32, HDR_TYPE_DATA);
        put_frame(&term, 192, 32, HDR_TYPE_DATA);
        let scan = scan_for_gap(&term, 0, 224);
        assert_eq!(
            scan,
            GapScan {
                offset: 96,
                gap_length: 96
            }
        );
        assert_eq!(
            scan_for_gap(&term, 192, 224),
            GapScan {
                offset: 224,
                gap_length: 0
            }
        );
        // A gap running into the limit ends there.
        assert_eq!(
            scan_for_gap(&term, 224, 320),
            GapScan {
                offset: 224,
                gap_length: 96
            }
        );
    }

    #[test]
    fn availability_stops_at_mtu_and_after_padding() {
        let term = AtomicBuffer::new_zeroed(1024);
        put_frame(&term, 0, 100, HDR_TYPE_DATA); // 128 aligned
        put_frame(&term, 128, 100, HDR_TYPE_DATA);
        put_frame(&term, 256, 768, HDR_TYPE_PAD);
        assert_eq!(
            scan_for_availability(&term, 0, 200),
            Availability {
                available: 128,
                padding: 0
            }
        );
        assert_eq!(
            scan_for_availability(&term, 0, 1024),
            Availability {
                available: 288,
                padding: 736
            }
        );
        assert_eq!(
            scan_for_availability(&term, 512, 1024),
            Availability {
                available: 0,
                padding: 0
            }
        );
    }

    #[test]
    fn insert_keeps_existing_frames_and_clean_zeroes() {
        let term = AtomicBuffer::new_zeroed(256);
        let mut packet = vec![7u8; 64];
        packet[..4].copy_from_slice(&64i32.to_le_bytes());
        insert(&term, 64, &packet);
        assert_eq!(term.get_i32(64), 64);
        assert_eq!(term.get_u8(127), 7);
        let mut other = vec![9u8; 64];
        other[..4].copy_from_slice(&64i32.to_le_bytes());
        insert(&term, 64, &other);
        assert_eq!(term.get_u8(127), 7);
        clean(&term, 64, 64);
        assert_eq!(term.to_vec(0, 256), vec![0u8; 256]);
    }
}
