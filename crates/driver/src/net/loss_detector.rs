//! Receiver-side loss detection: finds gaps between the rebuild position and the high-water mark of an image and
//! decides when each gap is NAKed (Aeron's `aeron_loss_detector.c`).

use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::logbuffer::{
    compute_term_id_from_position, index_by_position, position_bits_to_shift,
};

use super::defaults;
use super::term_scan::scan_for_gap;

/// Most gaps tracked at once; further gaps wait for the next scan.
pub(crate) const MAX_LOSSES: usize = 4096;

/// A range of a term that has not arrived: what a NAK asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gap {
    /// Term of the missing bytes.
    pub(crate) term_id: i32,
    /// Offset of the first missing byte in the term.
    pub(crate) term_offset: i32,
    /// Missing bytes (never beyond the term's end).
    pub(crate) length: i32,
}

/// A small deterministic generator (SplitMix64) for NAK backoff, seeded by the caller.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// How long to wait before NAKing a gap (Aeron's feedback delay generators).
#[derive(Debug, Clone)]
pub(crate) enum FeedbackDelay {
    /// Unicast: a fixed delay for a new gap and a fixed retry delay.
    Static {
        /// Delay before the first NAK of a gap.
        delay_ns: i64,
        /// Delay before each further NAK of the same gap.
        retry_ns: i64,
    },
    /// Multicast: randomised exponential backoff (the same for first NAKs and retries), so that one receiver's
    /// NAK usually covers the others'.
    Optimal {
        rand_max: f64,
        base_x: f64,
        constant_t: f64,
        factor_t: f64,
        rng: SplitMix64,
    },
}

impl FeedbackDelay {
    /// Unicast delay `delay_ns` with Aeron's retry ratio (x100).
    pub(crate) fn unicast(delay_ns: i64) -> Self {
        FeedbackDelay::Static {
            delay_ns,
            retry_ns: delay_ns.saturating_mul(defaults::NAK_UNICAST_RETRY_DELAY_RATIO),
        }
    }

    /// Multicast backoff of at most `max_backoff_ns` for `group_size` receivers, drawing from a generator seeded
    /// with `seed`.
    pub(crate) fn multicast(max_backoff_ns: i64, group_size: u32, seed: u64) -> Self {
        let lambda = f64::from(group_size.max(1)).ln() + 1.0;
        let max_backoff = max_backoff_ns as f64;
        FeedbackDelay::Optimal {
            rand_max: lambda / max_backoff,
            base_x: lambda / (max_backoff * (lambda.exp() - 1.0)),
            constant_t: max_backoff / lambda,
            factor_t: (lambda.exp() - 1.0) * (max_backoff / lambda),
            rng: SplitMix64(seed),
        }
    }

    /// The next delay in ns; `retry` when the gap was NAKed before.
    pub(crate) fn next_delay(&mut self, retry: bool) -> i64 {
        match self {
            FeedbackDelay::Static { delay_ns, retry_ns } => {
                if retry {
                    *retry_ns
                } else {
                    *delay_ns
                }
            }
            FeedbackDelay::Optimal {
                rand_max,
                base_x,
                constant_t,
                factor_t,
                rng,
            } => {
                let x = rng.next_f64() * *rand_max + *base_x;
                (*constant_t * (x * *factor_t).ln()) as i64
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct TrackedGap {
    gap: Gap,
    start: i64,
    expiry_ns: i64,
}

/// Result of one [`LossDetector::scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanOutcome {
    /// The position up to which the image is contiguous: the first gap, or how far complete frames reach.
    pub(crate) rebuild_position: i64,
    /// A gap appeared or grew during this scan.
    pub(crate) loss_found: bool,
}

/// Tracks the gaps of one image and times their NAKs.
#[derive(Debug, Clone)]
pub(crate) struct LossDetector {
    delay: FeedbackDelay,
    gaps: Vec<TrackedGap>,
    scratch: Vec<TrackedGap>,
}

impl LossDetector {
    /// A detector timing NAKs with `delay`.
    pub(crate) fn new(delay: FeedbackDelay) -> Self {
        LossDetector {
            delay,
            gaps: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Scans `terms` (the image's three partitions) from `rebuild_position` to `hwm_position`. Gaps seen for
    /// the first time (or grown) get a timer from the delay generator; every gap whose timer has expired at
    /// `now_ns` is pushed to `naks` and re-armed with the retry delay.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn scan(
        &mut self,
        terms: &[AtomicBuffer],
        rebuild_position: i64,
        hwm_position: i64,
        now_ns: i64,
        term_length: i32,
        initial_term_id: i32,
        naks: &mut Vec<Gap>,
    ) -> ScanOutcome {
        let mut outcome = ScanOutcome {
            rebuild_position,
            loss_found: false,
        };
        if rebuild_position >= hwm_position {
            return outcome;
        }
        let shift = position_bits_to_shift(term_length);
        let Some((first_gap, first_length)) =
            next_gap(terms, rebuild_position, hwm_position, shift, term_length)
        else {
            self.gaps.clear();
            outcome.rebuild_position =
                contiguous_end(terms, rebuild_position, hwm_position, shift, term_length);
            return outcome;
        };
        outcome.rebuild_position = first_gap;

        self.scratch.clear();
        let mut previous = 0;
        let mut gap = Some((first_gap, first_length));
        while let Some((start, length)) = gap {
            if start >= hwm_position || self.scratch.len() >= MAX_LOSSES {
                break;
            }
            let end = start + length as i64;
            while previous < self.gaps.len() {
                let old = &self.gaps[previous];
                if start < old.start + old.gap.length as i64 {
                    break;
                }
                previous += 1;
            }
            let known = self
                .gaps
                .get(previous)
                .filter(|old| end <= old.start + old.gap.length as i64);
            let mut expiry_ns = match known {
                Some(old) => old.expiry_ns,
                None => {
                    outcome.loss_found = true;
                    now_ns + self.delay.next_delay(false)
                }
            };
            let this = Gap {
                term_id: compute_term_id_from_position(start, shift, initial_term_id),
                term_offset: (start & (term_length as i64 - 1)) as i32,
                length,
            };
            if now_ns >= expiry_ns {
                naks.push(this);
                expiry_ns = now_ns + self.delay.next_delay(true);
            }
            self.scratch.push(TrackedGap {
                gap: this,
                start,
                expiry_ns,
            });
            gap = if end >= hwm_position {
                None
            } else {
                next_gap(terms, end, hwm_position, shift, term_length)
            };
        }
        std::mem::swap(&mut self.gaps, &mut self.scratch);
        outcome
    }

    /// Gaps being tracked, oldest position first.
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> Vec<Gap> {
        self.gaps.iter().map(|g| g.gap).collect()
    }
}

fn term_limit(term_start: i64, hwm_position: i64, term_length: i32) -> usize {
    (hwm_position - term_start).min(term_length as i64) as usize
}

/// The next gap at or after `position` and before `hwm_position` (position and length), crossing into later
/// terms when a term is complete. Gaps never span a term boundary.
fn next_gap(
    terms: &[AtomicBuffer],
    mut position: i64,
    hwm_position: i64,
    shift: u32,
    term_length: i32,
) -> Option<(i64, i32)> {
    while position < hwm_position {
        let term_start = position & !(term_length as i64 - 1);
        let limit = term_limit(term_start, hwm_position, term_length);
        let term = &terms[index_by_position(position, shift)];
        let scan = scan_for_gap(term, (position - term_start) as usize, limit);
        if scan.gap_length > 0 {
            return Some((term_start + scan.offset as i64, scan.gap_length as i32));
        }
        position = term_start + scan.offset as i64;
        if scan.offset < term_length as usize {
            return None;
        }
    }
    None
}

/// How far complete frames reach from `position` towards `hwm_position` when there is no gap.
fn contiguous_end(
    terms: &[AtomicBuffer],
    mut position: i64,
    hwm_position: i64,
    shift: u32,
    term_length: i32,
) -> i64 {
    while position < hwm_position {
        let term_start = position & !(term_length as i64 - 1);
        let limit = term_limit(term_start, hwm_position, term_length);
        let term = &terms[index_by_position(position, shift)];
        let scan = scan_for_gap(term, (position - term_start) as usize, limit);
        position = term_start + scan.offset as i64;
        if scan.offset < term_length as usize {
            break;
        }
    }
    position
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxeron_protocol::frame::data::{DataHeader, UNFRAGMENTED};
    use oxeron_protocol::frame::HDR_TYPE_DATA;

    const TERM_LENGTH: i32 = 64 * 1024;
    const INITIAL_TERM_ID: i32 = 7;

    fn terms() -> Vec<AtomicBuffer> {
        (0..3)
            .map(|_| AtomicBuffer::new_zeroed(TERM_LENGTH as usize))
            .collect()
    }

    fn put(terms: &[AtomicBuffer], position: i64, length: i32) {
        let term = &terms[index_by_position(position, position_bits_to_shift(TERM_LENGTH))];
        let offset = (position % TERM_LENGTH as i64) as usize;
        let header = DataHeader {
            frame_length: length,
            flags: UNFRAGMENTED,
            frame_type: HDR_TYPE_DATA,
            term_offset: offset as i32,
            ..DataHeader::default()
        };
        term.put_bytes(offset, &header.to_bytes());
    }

    fn gap(term_id: i32, term_offset: i32, length: i32) -> Gap {
        Gap {
            term_id,
            term_offset,
            length,
        }
    }

    #[test]
    fn no_gap_advances_rebuild_to_hwm() {
        let t = terms();
        let mut detector = LossDetector::new(FeedbackDelay::unicast(1_000));
        for i in 0..4 {
            put(&t, i * 64, 64);
        }
        let mut naks = Vec::new();
        let outcome = detector.scan(&t, 0, 256, 0, TERM_LENGTH, INITIAL_TERM_ID, &mut naks);
        assert_eq!(
            outcome,
            ScanOutcome {
                rebuild_position: 256,
                loss_found: false
            }
        );
        assert!(naks.is_empty());
    }

    #[test]
    fn unicast_gap_is_naked_after_delay_then_after_retry_delay() {
        let t = terms();
        let mut detector = LossDetector::new(FeedbackDelay::unicast(1_000));
        put(&t, 0, 64);
        put(&t, 192, 64);
        let mut naks = Vec::new();
        let o = detector.scan(&t, 0, 256, 10_000, TERM_LENGTH, INITIAL_TERM_ID, &mut naks);
        assert_eq!(
            o,
            ScanOutcome {
                rebuild_position: 64,
                loss_found: true
            }
        );
        assert!(naks.is_empty(), "delay not yet elapsed");

        let o = detector.scan(&t, 64, 256, 10_999, TERM_LENGTH, INITIAL_TERM_ID, &mut naks);
        assert!(!o.loss_found);
        assert!(naks.is_empty());

        detector.scan(&t, 64, 256, 11_000, TERM_LENGTH, INITIAL_TERM_ID, &mut naks);
        assert_eq!(naks, vec![gap(INITIAL_TERM_ID, 64, 128)]);

        // Retry after 100 µs.
        naks.clear();
        detector.scan(
            &t,
            64,
            256,
            110_999,
            TERM_LENGTH,
            INITIAL_TERM_ID,
            &mut naks,
        );
        assert!(naks.is_empty());
        detector.scan(
            &t,
            64,
            256,
            111_000,
            TERM_LENGTH,
            INITIAL_TERM_ID,
            &mut naks,
        );
        assert_eq!(naks, vec![gap(INITIAL_TERM_ID, 64, 128)]);

        // Partly filled: the remaining gap lies within the old one and keeps its timer.
        naks.clear();
        put(&t, 64, 64);
        let o = detector.scan(
            &t,
            64,
            256,
            111_001,
            TERM_LENGTH,
            INITIAL_TERM_ID,
            &mut naks,
        );
        assert_eq!(
            o,
            ScanOutcome {
                rebuild_position: 128,
                loss_found: false
            }
        );
        assert_eq!(detector.tracked(), vec![gap(INITIAL_TERM_ID, 128, 64)]);
        assert!(naks.is_empty());

        // Filled: rebuild reaches the HWM and nothing is tracked.
        put(&t, 128, 64);
        let o = detector.scan(
            &t,
            128,
            256,
            111_002,
            TERM_LENGTH,
            INITIAL_TERM_ID,
            &mut naks,
        );
        assert_eq!(
            o,
            ScanOutcome {
                rebuild_position: 256,
                loss_found: false
            }
        );
        assert!(detector.tracked().is_empty());
    }

    #[test]
    fn several_gaps_are_tracked_independently_and_new_ones_report_loss() {
        let t = terms();
        let mut detector = LossDetector::new(FeedbackDelay::unicast(0));
        put(&t, 0, 32);
        put(&t, 64, 32);
        put(&t, 160, 32);
        let mut naks = Vec::new();
        let o = detector.scan(&t, 0, 192, 5, TERM_LENGTH, INITIAL_TERM_ID, &mut naks);
        assert_eq!(
            o,
            ScanOutcome {
                rebuild_position: 32,
                loss_found: true
            }
        );
        assert_eq!(
            naks,
            vec![gap(INITIAL_TERM_ID, 32, 32), gap(INITIAL_TERM_ID, 96, 64)]
        );
        // HWM grows with a new gap: only that one is new (the others wait for their retry at 5 + 0).
        put(&t, 256, 32);
        naks.clear();
        let o = detector.scan(&t, 32, 288, 5, TERM_LENGTH, INITIAL_TERM_ID, &mut naks);
        assert!(o.loss_found);
        assert_eq!(detector.tracked().len(), 3);
    }

    #[test]
    fn gap_at_a_term_tail_and_the_next_term_head_gives_two_naks() {
        let t = terms();
        let mut detector = LossDetector::new(FeedbackDelay::unicast(0));
        let tl = TERM_LENGTH as i64;
        let mut p = 0;
        while p < tl - 128 {
            put(&t, p, 64);
            p += 64;
        }
        put(&t, tl + 64, 64);
        let mut naks = Vec::new();
        let o = detector.scan(&t, 0, tl + 128, 1, TERM_LENGTH, INITIAL_TERM_ID, &mut naks);
        assert_eq!(o.rebuild_position, tl - 128);
        assert_eq!(
            naks,
            vec![
                gap(INITIAL_TERM_ID, TERM_LENGTH - 128, 128),
                gap(INITIAL_TERM_ID + 1, 0, 64)
            ]
        );
        // Tail filled: the scan crosses into the next term.
        put(&t, tl - 128, 64);
        put(&t, tl - 64, 64);
        naks.clear();
        let o = detector.scan(
            &t,
            tl - 128,
            tl + 128,
            2,
            TERM_LENGTH,
            INITIAL_TERM_ID,
            &mut naks,
        );
        assert_eq!(o.rebuild_position, tl);
        assert_eq!(detector.tracked(), vec![gap(INITIAL_TERM_ID + 1, 0, 64)]);
    }

    #[test]
    fn multicast_delay_is_seeded_and_bounded() {
        let mut a = FeedbackDelay::multicast(10_000_000, 10, 42);
        let mut b = FeedbackDelay::multicast(10_000_000, 10, 42);
        let xs: Vec<i64> = (0..1000).map(|_| a.next_delay(false)).collect();
        let ys: Vec<i64> = (0..1000).map(|_| b.next_delay(true)).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|&d| (0..=10_000_000).contains(&d)), "{xs:?}");
        assert!(xs.iter().any(|&d| d != xs[0]));
    }

    proptest::proptest! {
        #[test]
        fn gaps_are_exactly_the_missing_frames(
            received in proptest::collection::vec(proptest::bool::ANY, 1..96),
            before_boundary in 0i64..48,
        ) {
            let t = terms();
            let base = i64::from(TERM_LENGTH) - before_boundary * 64;
            for (i, &r) in received.iter().enumerate() {
                if r {
                    put(&t, base + 64 * i as i64, 64);
                }
            }
            let hwm = base + 64 * received.len() as i64;
            let mut expected = Vec::new();
            let mut i = 0;
            while i < received.len() {
                if received[i] {
                    i += 1;
                    continue;
                }
                let start = base + 64 * i as i64;
                let mut end = start;
                while i < received.len() && !received[i] {
                    end += 64;
                    i += 1;
                    if end % i64::from(TERM_LENGTH) == 0 {
                        break;
                    }
                }
                expected.push(gap(
                    INITIAL_TERM_ID + (start / i64::from(TERM_LENGTH)) as i32,
                    (start % i64::from(TERM_LENGTH)) as i32,
                    (end - start) as i32,
                ));
            }
            let first_missing = received.iter().position(|&r| !r);
            let mut detector = LossDetector::new(FeedbackDelay::unicast(0));
            let mut naks = Vec::new();
            let outcome = detector.scan(&t, base, hwm, 0, TERM_LENGTH, INITIAL_TERM_ID, &mut naks);
            proptest::prop_assert_eq!(
                outcome.rebuild_position,
                first_missing.map_or(hwm, |i| base + 64 * i as i64)
            );
            proptest::prop_assert_eq!(outcome.loss_found, !expected.is_empty());
            proptest::prop_assert_eq!(&naks, &expected);
            proptest::prop_assert_eq!(detector.tracked(), expected);
        }
    }
}
