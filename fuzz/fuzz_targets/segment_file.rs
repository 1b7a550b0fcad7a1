//! Feeds arbitrary bytes (as lossy UTF-8) as a file name in an archive directory to
//! `parse_segment_file_name`, and arbitrary positions and lengths to the segment arithmetic
//! (`segment_file_base_position`, `segment_file_offset`) that replay and recovery run on catalog values.
//!
//! Asserts: nothing panics; a parsed name has non-negative numbers, and the name built from them parses
//! back to them; for power-of-two lengths (as Aeron requires) and positions at or after the start, the base
//! holds the position and is a whole number of segments after the start's term base.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oxeron_protocol::archive::segment::segment_file_offset;
use oxeron_protocol::archive::{
    parse_segment_file_name, segment_file_base_position, segment_file_name,
};

fn i64_at(data: &[u8], at: usize) -> i64 {
    let mut raw = [0u8; 8];
    for (i, b) in raw.iter_mut().enumerate() {
        *b = data.get(at + i).copied().unwrap_or(0);
    }
    i64::from_le_bytes(raw)
}

fuzz_target!(|data: &[u8]| {
    let name = String::from_utf8_lossy(data);
    if let Some((id, base)) = parse_segment_file_name(&name) {
        assert!(id >= 0 && base >= 0);
        assert_eq!(
            parse_segment_file_name(&segment_file_name(id, base)),
            Some((id, base))
        );
    }

    let start = i64_at(data, 0);
    let position = i64_at(data, 8);
    let term = i64_at(data, 16) as i32;
    let segment = i64_at(data, 20) as i32;
    let base = segment_file_base_position(start, position, term, segment);
    let _ = segment_file_offset(position, base);

    // The same with sane values: lengths 2^16..=2^30, the segment a multiple of the term, positions in
    // 0..2^40 with the position at or after the start.
    let term_shift = 16 + u32::from(data.first().copied().unwrap_or(0) % 15);
    let segment_shift = (term_shift + u32::from(data.get(1).copied().unwrap_or(0) % 5)).min(30);
    let (term, segment) = (1i32 << term_shift, 1i32 << segment_shift);
    let start = start.rem_euclid(1 << 40);
    let position = start + position.rem_euclid(1 << 40);
    let base = segment_file_base_position(start, position, term, segment);
    assert!(base <= position && position < base + i64::from(segment));
    let term_base = start - start % i64::from(term);
    assert_eq!((base - term_base) % i64::from(segment), 0);
    assert_eq!(segment_file_offset(position, base), position - base);
});
