//! Frame dropping for loss tests, in the spirit of Aeron's loss generators: a seeded policy the driver applies
//! to datagrams on their way out of (send) or into (receive) its sockets. Off unless a [`LossPolicy`] is set
//! on the [`Context`](crate::Context) in code, or Aeron C's incoming interceptors are named in the
//! environment ([`LossPolicy::from_interceptors`]: `loss`, `fixed-loss`, `multi-gap-loss`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use oxeron_client::env::EnvError;
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
    /// Drop the first pass of DATA frames of `term` that overlap one of `gaps` (term offset ranges); frames
    /// behind the furthest offset this rule dropped in their stream (resends) pass.
    TermGaps {
        direction: Direction,
        term: TermRef,
        gaps: Vec<(i32, i32)>,
    },
}

/// The term a gap rule drops in.
#[derive(Debug, Clone, Copy)]
enum TermRef {
    /// A term id, as Aeron C's `fixed-loss` and `multi-gap-loss` name it.
    Id(i32),
    /// So many terms after the stream's initial term (learned from its SETUP on the same path).
    AfterInitial(i32),
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
    /// Per (rule, session, stream): the end of the furthest frame a gap rule dropped.
    dropped_to: Vec<((usize, i32, i32), i32)>,
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
            dropped_to: Vec::new(),
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Drops, once, the DATA frames of term `term_id` (absolute, as Aeron C's `fixed-loss` names it) that
    /// overlap any of the term offset ranges `gaps` (`from..to`), so the receiver has to NAK them.
    pub fn drop_term_gaps_once(
        mut self,
        direction: Direction,
        term_id: i32,
        gaps: Vec<(i32, i32)>,
    ) -> Self {
        self.rules.push(Rule::TermGaps {
            direction,
            term: TermRef::Id(term_id),
            gaps,
        });
        self.seen_first.push(0);
        self
    }

    /// The policy Aeron C's incoming UDP interceptors describe, as its system tests set them:
    /// `incoming` is `AERON_UDP_CHANNEL_INCOMING_INTERCEPTORS` (a comma-separated list of `loss`,
    /// `fixed-loss`, `multi-gap-loss`) and `args(name)` reads each one's arguments
    /// (`AERON_UDP_CHANNEL_TRANSPORT_BINDINGS_LOSS_ARGS=rate=0.1|seed=7|recv-msg-mask=0x2`,
    /// `..._FIXED_LOSS_ARGS=term-id=..|term-offset=..|length=..`,
    /// `..._MULTI_GAP_LOSS_ARGS=term-id=..|gap-radix=..|gap-length=..|total-gaps=..`). Any other interceptor
    /// (transport security, ...) is refused.
    ///
    /// ```
    /// use oxeron_driver::loss::LossPolicy;
    ///
    /// let args = |name: &str| (name == "AERON_UDP_CHANNEL_TRANSPORT_BINDINGS_LOSS_ARGS")
    ///     .then(|| "rate=0.2|seed=7|recv-msg-mask=0x2".to_string());
    /// assert!(LossPolicy::from_interceptors("loss", args).is_ok());
    /// assert!(LossPolicy::from_interceptors("aeron_transport_security_channel_interceptor_load", args).is_err());
    /// ```
    pub fn from_interceptors(
        incoming: &str,
        args: impl Fn(&str) -> Option<String>,
    ) -> Result<LossPolicy, EnvError> {
        const INCOMING: &str = "AERON_UDP_CHANNEL_INCOMING_INTERCEPTORS";
        let refuse = EnvError::new;
        let mut policy = LossPolicy::new(0);
        for interceptor in incoming.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let args_name = match interceptor {
                "loss" => "AERON_UDP_CHANNEL_TRANSPORT_BINDINGS_LOSS_ARGS",
                "fixed-loss" => "AERON_UDP_CHANNEL_TRANSPORT_BINDINGS_FIXED_LOSS_ARGS",
                "multi-gap-loss" => "AERON_UDP_CHANNEL_TRANSPORT_BINDINGS_MULTI_GAP_LOSS_ARGS",
                other => {
                    return Err(refuse(
                        INCOMING,
                        incoming,
                        format!(
                        "interceptor {other:?} is not available in Oxeron (loss, fixed-loss and \
                             multi-gap-loss are)"
                    ),
                    ))
                }
            };
            let text = args(args_name).unwrap_or_default();
            let params =
                InterceptorArgs::parse(&text).map_err(|reason| refuse(args_name, &text, reason))?;
            let bad = |reason: String| refuse(args_name, &text, reason);
            policy = match interceptor {
                "loss" => {
                    let rate: f64 = params.get("rate", 0.0).map_err(bad)?;
                    policy.rng = params.get("seed", 0u64).map_err(bad)?;
                    let mask = params.hex("recv-msg-mask").map_err(bad)?;
                    if !(0.0..=1.0).contains(&rate) {
                        return Err(bad(format!("rate {rate} is not within 0..=1")));
                    }
                    (0..16u16)
                        .filter(|t| mask & (1 << t) != 0)
                        .fold(policy, |p, frame_type| {
                            p.drop_rate(Direction::Receive, frame_type, rate)
                        })
                }
                "fixed-loss" => {
                    let term_id = params.get("term-id", 0i32).map_err(bad)?;
                    let offset = params.get("term-offset", -1i32).map_err(bad)?;
                    let length = params.get("length", 0i32).map_err(bad)?;
                    if offset < 0 {
                        return Err(bad("term-offset is required".into()));
                    }
                    let gap = (offset, offset.saturating_add(length));
                    policy.drop_term_gaps_once(Direction::Receive, term_id, vec![gap])
                }
                _ => {
                    let term_id = params.get("term-id", 0i32).map_err(bad)?;
                    let radix = params.get("gap-radix", 0u32).map_err(bad)?;
                    let gap_length = params.get("gap-length", 0u32).map_err(bad)?;
                    let total = params.get("total-gaps", 0u32).map_err(bad)?;
                    let radix = radix.max(1).checked_next_power_of_two().unwrap_or(0);
                    if radix == 0 || gap_length >= radix {
                        return Err(bad(format!(
                            "gap-length {gap_length} must be smaller than gap-radix {radix}"
                        )));
                    }
                    let gaps = (1..=u64::from(total))
                        .map(|k| k * u64::from(radix))
                        .take_while(|start| *start < i32::MAX as u64)
                        .map(|start| (start as i32, (start + u64::from(gap_length)) as i32))
                        .collect();
                    policy.drop_term_gaps_once(Direction::Receive, term_id, gaps)
                }
            };
        }
        Ok(policy)
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

    /// Drops the first transmission of DATA frames over term offsets `from_offset..to_offset` of the term
    /// `term_count` terms after the initial term (learned from the stream's SETUP on the same path), so the
    /// receiver has to NAK them.
    pub fn drop_term_offsets_once(
        mut self,
        direction: Direction,
        term_count: i32,
        from_offset: i32,
        to_offset: i32,
    ) -> Self {
        self.rules.push(Rule::TermGaps {
            direction,
            term: TermRef::AfterInitial(term_count),
            gaps: vec![(from_offset, to_offset)],
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

    fn is_term(&self, term: TermRef, h: &DataHeader) -> bool {
        match term {
            TermRef::Id(id) => h.term_id == id,
            TermRef::AfterInitial(count) => self
                .initial_term_ids
                .iter()
                .find(|(s, st, _)| *s == h.session_id && *st == h.stream_id)
                .is_some_and(|&(_, _, initial)| h.term_id.wrapping_sub(initial) == count),
        }
    }

    /// Whether the frame at `h` (a datagram of `length` bytes) overlaps one of rule `rule`'s `gaps` on its
    /// first pass; if so it is remembered as dropped, so its resends pass.
    fn first_pass_in_gap(
        &mut self,
        rule: usize,
        h: &DataHeader,
        length: usize,
        gaps: &[(i32, i32)],
    ) -> bool {
        let key = (rule, h.session_id, h.stream_id);
        let limit = h
            .term_offset
            .saturating_add(i32::try_from(length).unwrap_or(i32::MAX));
        let dropped_to = match self.dropped_to.iter_mut().find(|(k, _)| *k == key) {
            Some((_, to)) => to,
            None => {
                self.dropped_to.push((key, 0));
                &mut self.dropped_to.last_mut().expect("just pushed").1
            }
        };
        let in_gap = gaps
            .iter()
            .any(|&(from, to)| h.term_offset < to && limit > from);
        if in_gap && h.term_offset >= *dropped_to {
            *dropped_to = limit;
            true
        } else {
            false
        }
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
        let rules = std::mem::take(&mut self.rules);
        let mut drop = false;
        for (i, rule) in rules.iter().enumerate() {
            drop |= match *rule {
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
                Rule::TermGaps {
                    direction: d,
                    term,
                    ref gaps,
                } => match &data {
                    Some(h) if d == direction && !is_heartbeat && self.is_term(term, h) => {
                        self.first_pass_in_gap(i, h, datagram.len(), gaps)
                    }
                    _ => false,
                },
            };
        }
        self.rules = rules;
        if drop {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        drop
    }
}

/// `key=value|key=value` arguments of an interceptor.
struct InterceptorArgs(Vec<(String, String)>);

impl InterceptorArgs {
    fn parse(text: &str) -> Result<Self, String> {
        let mut pairs = Vec::new();
        for pair in text.split('|').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not key=value"))?;
            pairs.push((key.trim().to_string(), value.trim().to_string()));
        }
        Ok(InterceptorArgs(pairs))
    }

    fn raw(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn get<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        match self.raw(key) {
            Some(v) => v
                .parse()
                .map_err(|_| format!("{key}={v:?} is not a valid value")),
            None => Ok(default),
        }
    }

    fn hex(&self, key: &str) -> Result<u32, String> {
        match self.raw(key) {
            Some(v) => {
                let digits = v.trim_start_matches("0x").trim_start_matches("0X");
                u32::from_str_radix(digits, 16)
                    .map_err(|_| format!("{key}={v:?} is not a hexadecimal mask"))
            }
            None => Ok(0),
        }
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

    #[test]
    fn aeron_c_interceptor_settings_become_rules() {
        let args = |name: &str| match name {
            "AERON_UDP_CHANNEL_TRANSPORT_BINDINGS_LOSS_ARGS" => {
                Some("rate=1.0|seed=3|recv-msg-mask=0x1".to_string())
            }
            "AERON_UDP_CHANNEL_TRANSPORT_BINDINGS_FIXED_LOSS_ARGS" => {
                Some("term-id=11|term-offset=1024|length=100".to_string())
            }
            "AERON_UDP_CHANNEL_TRANSPORT_BINDINGS_MULTI_GAP_LOSS_ARGS" => {
                Some("term-id=12|gap-radix=4000|gap-length=64|total-gaps=2".to_string())
            }
            _ => None,
        };
        // mask 0x1 is the PAD type (0): DATA (1) passes.
        let mut loss = LossPolicy::from_interceptors("loss", args).unwrap();
        assert!(!loss.should_drop(Direction::Receive, &data(11, 0, 64)));
        let mut fixed = LossPolicy::from_interceptors("fixed-loss", args).unwrap();
        assert!(!fixed.should_drop(Direction::Receive, &data(11, 960, 64)));
        assert!(fixed.should_drop(Direction::Receive, &data(11, 1024, 64)));
        assert!(fixed.should_drop(Direction::Receive, &data(11, 1088, 64)));
        assert!(!fixed.should_drop(Direction::Receive, &data(11, 1152, 64)));
        assert!(
            !fixed.should_drop(Direction::Receive, &data(11, 1024, 64)),
            "resend passes"
        );
        assert!(!fixed.should_drop(Direction::Receive, &data(12, 1024, 64)));
        let mut gaps = LossPolicy::from_interceptors("multi-gap-loss", args).unwrap();
        // gap-radix rounds up to 4096: gaps at 4096 and 8192, 64 bytes each.
        assert!(!gaps.should_drop(Direction::Receive, &data(12, 0, 64)));
        assert!(gaps.should_drop(Direction::Receive, &data(12, 4096, 64)));
        assert!(!gaps.should_drop(Direction::Receive, &data(12, 4160, 64)));
        assert!(gaps.should_drop(Direction::Receive, &data(12, 8192, 64)));
        assert!(!gaps.should_drop(Direction::Receive, &data(12, 12288, 64)));
        let err = LossPolicy::from_interceptors("loss,tls", args).unwrap_err();
        assert!(err.reason.contains("\"tls\""), "{err}");
        let bad = |_: &str| Some("rate=lots".to_string());
        let err = LossPolicy::from_interceptors("loss", bad).unwrap_err();
        assert!(err.to_string().contains("LOSS_ARGS"), "{err}");
    }
}
