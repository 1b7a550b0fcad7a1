//! Segment files: naming (`<recordingId>-<segmentBasePosition>.rec`) and which segment holds a position.

/// Suffix of segment file names.
pub const SEGMENT_FILE_SUFFIX: &str = ".rec";

/// Name of the segment file of `recording_id` that starts at `segment_base_position`.
pub fn segment_file_name(recording_id: i64, segment_base_position: i64) -> String {
    format!("{recording_id}-{segment_base_position}{SEGMENT_FILE_SUFFIX}")
}

/// Recording id and segment base position from a segment file name; `None` for any other name.
pub fn parse_segment_file_name(name: &str) -> Option<(i64, i64)> {
    let stem = name.strip_suffix(SEGMENT_FILE_SUFFIX)?;
    let (id, base) = stem.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(id) || !digits(base) {
        return None;
    }
    Some((id.parse().ok()?, base.parse().ok()?))
}

/// Base position of the segment file that holds `position` of a recording starting at `start_position`.
///
/// Segments are laid out from the start of the start position's term: `term_base(start) + k x
/// segment_file_length`, where `term_base(p) = p - (p & (term_buffer_length - 1))`. Both lengths must be
/// powers of two (as Aeron requires); other values give a meaningless result but never panic.
pub fn segment_file_base_position(
    start_position: i64,
    position: i64,
    term_buffer_length: i32,
    segment_file_length: i32,
) -> i64 {
    let term_mask = i64::from(term_buffer_length).wrapping_sub(1);
    let segment_mask = i64::from(segment_file_length).wrapping_sub(1);
    let start_term_base = start_position.wrapping_sub(start_position & term_mask);
    let from_base = position.wrapping_sub(start_term_base);
    start_term_base.wrapping_add(from_base.wrapping_sub(from_base & segment_mask))
}

/// Offset of `position` within the segment file starting at `segment_base_position`.
pub const fn segment_file_offset(position: i64, segment_base_position: i64) -> i64 {
    position.wrapping_sub(segment_base_position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names() {
        assert_eq!(segment_file_name(0, 786_432), "0-786432.rec");
        assert_eq!(
            parse_segment_file_name("12-262144.rec"),
            Some((12, 262_144))
        );
        for bad in [
            "12-262144.dat",
            "-1-0.rec",
            "1--0.rec",
            "1-.rec",
            "x-0.rec",
            "1-0",
            "1-+2.rec",
        ] {
            assert_eq!(parse_segment_file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn golden_layout() {
        // Recording 0 of the golden archive: start 0, term 64 KiB, segments 256 KiB, stop 927936.
        assert_eq!(
            segment_file_base_position(0, 927_936, 65_536, 262_144),
            786_432
        );
        assert_eq!(segment_file_base_position(0, 262_143, 65_536, 262_144), 0);
        assert_eq!(
            segment_file_base_position(0, 262_144, 65_536, 262_144),
            262_144
        );
        // A recording that starts mid-term: segments begin at that term's base.
        assert_eq!(
            segment_file_base_position(70_000, 70_000, 65_536, 262_144),
            65_536
        );
        assert_eq!(
            segment_file_base_position(70_000, 327_680, 65_536, 262_144),
            327_680
        );
    }

    proptest! {
        #[test]
        fn base_holds_position(
            start in 0i64..1 << 40,
            ahead in 0i64..1 << 40,
            term_shift in 16u32..=30,
            extra_shift in 0u32..=4,
        ) {
            let term = 1i32 << term_shift;
            let segment = 1i32 << (term_shift + extra_shift).min(30);
            let position = start + ahead;
            let base = segment_file_base_position(start, position, term, segment);
            let term_base = start - start % i64::from(term);
            prop_assert!(base <= position && position < base + i64::from(segment));
            prop_assert_eq!((base - term_base) % i64::from(segment), 0);
            let name = segment_file_name(7, base);
            prop_assert_eq!(parse_segment_file_name(&name), Some((7, base)));
            prop_assert_eq!(segment_file_offset(position, base), position - base);
        }
    }
}
