//! Frame dropping for loss tests, in the spirit of Aeron's loss generators: a seeded policy the driver applies
//! to datagrams on their way out of (send) or into (receive) its sockets. Off unless a [`LossPolicy`] is set
//! on the [`Context`](crate::Context) in code; no environment variable reaches it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use oxeron_protocol::frame::data::DataHeader;
use oxeron_protocol::frame::setup::Setup;
use oxeron_protocol::frame::{FrameHeader, HDR_TYPE_DATA, HDR_TYPE_SETUP};

/// Which path of the driver a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Datagrams the driver sends (sender and receiver agents alike: data, SETUP, SM, NAK).
    Send,
    /// Datagrams the driver receives.
    Receive,
}

#[derive(Debug, Clone)]
enum Rule {
    /// Drop frames of `frame_type` with probability `rate`.
    Rate {
        direction: Direction,
        frame_type: u16,
        rate: f64,
    },
    /// Drop the first `count` frames of `frame_type`.
    First {
        direction: Direction,
        frame_type: u16,
        count: u64,
    },
    /// Drop the first transmission of DATA frames in term `initial + term_count` at or beyond `from_offset`
    /// (and before `to_offset`); resends of those offsets pass.
    TermRange {
        direction: Direction,
        term_count: i32,
        from_offset: i32,
        to_offset: i32,
    },
}

/// A seeded set of frame-dropping rules (clone it freely; clones share the drop count but not the random
/// sequence or the state of `first`/term-range rules).
///
/// ```
/// use oxeron_driver::loss::{Direction, LossPolicy};
/// use oxeron_protocol::frame::HDR_TYPE_DATA;
///
/// let policy = LossPolicy::new(42).drop_rate(Direction::Receive, HDR_TYPE_DATA, 0.1);
/// assert_eq!(policy.dropped(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct LossPolicy {
    rules: Vec<Rule>,
    rng: u64,
    seen_first: Vec<u64>,
    initial_term_ids: Vec<(i32, i32, i32)>,
    dropped_once: HashSet<(i32, i32, i32, i32)>,
    dropped: Arc<AtomicU64>,
}

impl LossPolicy {
    /// A policy without rules, whose random choices follow `seed`.
    pub fn new(seed: u64) -> Self {
        LossPolicy {
            rules: Vec::new(),
            rng: seed,
            seen_first: Vec::new(),
            initial_term_ids: Vec::new(),
            dropped_once: HashSet::new(),
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Drops frames of `frame_type` (`HDR_TYPE_DATA`, `HDR_TYPE_SM`, ...) on `direction` with probability
    /// `rate` (0..=1). Data rules never drop heartbeats.
    pub fn drop_rate(mut self, direction: Direction, frame_type: u16, rate: f64) -> Self {
        self.rules.push(Rule::Rate {
            direction,
            frame_type,
            rate: rate.clamp(0.0, 1.0),
        });
        self.seen_first.push(0);
        self
    }

    /// Drops the first `count` frames of `frame_type` on `direction`.
    pub fn drop_first(mut self, direction: Direction, frame_type: u16, count: u64) -> Self {
        self.rules.push(Rule::First {
            direction,
            frame_type,
            count,
        });
        self.seen_first.push(0);
        self
    }

    /// Drops the first transmission of DATA frames at term offsets `from_offset..to_offset` of the term
    /// `term_count` terms after the initial term (learned from the stream's SETUP on the same path), so the
    /// receiver has to NAK them.
    pub fn drop_term_offsets_once(
        mut self,
        direction: Direction,
        term_count: i32,
        from_offset: i32,
        to_offset: i32,
    ) -> Self {
        self.rules.push(Rule::TermRange {
            direction,
            term_count,
            from_offset,
            to_offset,
        });
        self.seen_first.push(0);
        self
    }

    /// Datagrams dropped so far by this policy and its clones.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn next_f64(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Whether to drop `datagram` travelling on `direction`.
    pub(crate) fn should_drop(&mut self, direction: Direction, datagram: &[u8]) -> bool {
        let Ok(header) = FrameHeader::decode(datagram) else {
            return false;
        };
        let frame_type = header.frame_type;
        if frame_type == HDR_TYPE_SETUP {
            if let Ok(setup) = Setup::decode(datagram) {
                let key = (setup.session_id, setup.stream_id, setup.initial_term_id);
                if !self.initial_term_ids.contains(&key) {
                    self.initial_term_ids.push(key);
                }
            }
        }
        let data = if frame_type == HDR_TYPE_DATA {
            DataHeader::decode(datagram).ok()
        } else {
            None
        };
        let is_heartbeat = data.as_ref().is_some_and(|d| d.is_heartbeat());
        let mut drop = false;
        for i in 0..self.rules.len() {
            drop |= match self.rules[i].clone() {
                Rule::Rate {
                    direction: d,
                    frame_type: t,
                    rate,
                } => d == direction && t == frame_type && !is_heartbeat && self.next_f64() < rate,
                Rule::First {
                    direction: d,
                    frame_type: t,
                    count,
                } => {
                    if d == direction && t == frame_type && self.seen_first[i] < count {
                        self.seen_first[i] += 1;
                        true
                    } else {
                        false
                    }
                }
                Rule::TermRange {
                    direction: d,
                    term_count,
                    from_offset,
                    to_offset,
                } => match &data {
                    Some(h) if d == direction && !is_heartbeat => {
                        let initial = self
                            .initial_term_ids
                            .iter()
                            .find(|(s, st, _)| *s == h.session_id && *st == h.stream_id)
                            .map(|k| k.2);
                        initial.is_some_and(|initial| {
                            h.term_id.wrapping_sub(initial) == term_count
                                && (from_offset..to_offset).contains(&h.term_offset)
                                && self.dropped_once.insert((
                                    h.session_id,
                                    h.stream_id,
                                    h.term_id,
                                    h.term_offset,
                                ))
                        })
                    }
                    _ => false,
                },
            };
        }
        if drop {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        drop
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxeron_protocol::frame::data::UNFRAGMENTED;
    use oxeron_protocol::frame::HDR_TYPE_SM;

    fn data(term_id: i32, term_offset: i32, length: i32) -> Vec<u8> {
        let mut bytes = DataHeader {
            frame_length: length,
            flags: UNFRAGMENTED,
            frame_type: HDR_TYPE_DATA,
            term_offset,
            session_id: 1,
            stream_id: 2,
            term_id,
            reserved_value: 0,
        }
        .to_bytes()
        .to_vec();
        bytes.resize(length.max(32) as usize, 0);
        bytes
    }

    #[test]
    fn rate_is_seeded_and_roughly_right() {
        let mut a = LossPolicy::new(7).drop_rate(Direction::Receive, HDR_TYPE_DATA, 0.3);
        let mut b = a.clone();
        let frame = data(5, 0, 64);
        let drops_a: Vec<bool> = (0..1000)
            .map(|_| a.should_drop(Direction::Receive, &frame))
            .collect();
        let drops_b: Vec<bool> = (0..1000)
            .map(|_| b.should_drop(Direction::Receive, &frame))
            .collect();
        assert_eq!(drops_a, drops_b);
        let n = drops_a.iter().filter(|d| **d).count();
        assert!((200..400).contains(&n), "{n} drops");
        assert!(!a.should_drop(Direction::Send, &frame));
        assert!(
            !a.should_drop(Direction::Receive, &data(5, 0, 0)),
            "heartbeat"
        );
    }

    #[test]
    fn first_and_term_range_rules() {
        let mut p = LossPolicy::new(1)
            .drop_first(Direction::Send, HDR_TYPE_SM, 2)
            .drop_term_offsets_once(Direction::Receive, 1, 1024, 4096);
        let sm = {
            let mut b = vec![0u8; 36];
            FrameHeader {
                frame_length: 36,
                version: 0,
                flags: 0,
                frame_type: HDR_TYPE_SM,
            }
            .encode(&mut b);
            b
        };
        assert!(p.should_drop(Direction::Send, &sm));
        assert!(p.should_drop(Direction::Send, &sm));
        assert!(!p.should_drop(Direction::Send, &sm));
        let setup = Setup {
            flags: 0,
            term_offset: 0,
            session_id: 1,
            stream_id: 2,
            initial_term_id: 10,
            active_term_id: 10,
            term_length: 65536,
            mtu: 1408,
            ttl: 0,
        }
        .to_vec();
        assert!(
            !p.should_drop(Direction::Receive, &data(11, 1024, 64)),
            "no setup yet"
        );
        assert!(!p.should_drop(Direction::Receive, &setup));
        assert!(p.should_drop(Direction::Receive, &data(11, 2048, 64)));
        assert!(
            !p.should_drop(Direction::Receive, &data(11, 2048, 64)),
            "resend passes"
        );
        assert!(!p.should_drop(Direction::Receive, &data(10, 2048, 64)));
        assert!(!p.should_drop(Direction::Receive, &data(11, 4096, 64)));
        assert_eq!(p.dropped(), 3);
    }
}
