//! Sender flow control: turns status messages into the sender limit (Aeron's `aeron_flow_control.c` and
//! `aeron_min_flow_control.c`).

use oxeron_protocol::frame::status::{StatusMessage, EOS_FLAG as SM_EOS_FLAG};
use oxeron_protocol::logbuffer::{compute_position, position_bits_to_shift};
use oxeron_protocol::uri::{FlowControl as FlowControlOption, FlowControlStrategy};

use super::{defaults, receiver_window_length};

/// Retransmit receiver window multiple of unicast channels.
const UNICAST_RRWM: i64 = 16;
/// Retransmit receiver window multiple of `max` (and the driver default for `min`/`tagged`).
const MULTICAST_RRWM: i64 = 4;

/// Driver-wide settings a strategy falls back on when `fc=` leaves them out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlowControlDefaults {
    /// A `min`/`tagged` receiver is dropped after this long without status messages.
    pub(crate) receiver_timeout_ns: i64,
    /// Group tag of `tagged` (driver `flow_control.group_tag`).
    pub(crate) group_tag: i64,
    /// Receivers `min`/`tagged` need before they advance the limit.
    pub(crate) group_min_size: i32,
    /// Retransmit receiver window multiple of `min`/`tagged`.
    pub(crate) multicast_rrwm: i64,
    /// Strategy of group channels without `fc=` (the driver's multicast flow control supplier).
    pub(crate) strategy: FlowControlStrategy,
}

impl Default for FlowControlDefaults {
    fn default() -> Self {
        FlowControlDefaults {
            receiver_timeout_ns: defaults::PUBLICATION_CONNECTION_TIMEOUT_NS,
            group_tag: -1,
            group_min_size: 0,
            multicast_rrwm: MULTICAST_RRWM,
            strategy: FlowControlStrategy::Max,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Receiver {
    receiver_id: i64,
    last_position: i64,
    last_position_plus_window: i64,
    time_of_last_status_message_ns: i64,
    eos_flagged: bool,
}

/// State of `min` and `tagged`.
#[derive(Debug, Clone)]
pub(crate) struct MinFlowControl {
    tagged: bool,
    group_tag: i64,
    group_min_size: i32,
    receiver_timeout_ns: i64,
    rrwm: i64,
    receivers: Vec<Receiver>,
    time_of_last_setup_ns: i64,
    last_setup_snd_lmt: i64,
    has_triggered_setup: bool,
}

/// A flow control strategy of one network publication.
#[derive(Debug, Clone)]
pub(crate) enum FlowControl {
    /// Unicast channels: the limit follows the receiver (`max(limit, position + window)`).
    Unicast,
    /// `max`: the limit follows the fastest receiver.
    Max,
    /// `min` (`tagged == false`) or `tagged`: the limit follows the slowest tracked receiver.
    Min(MinFlowControl),
}

impl FlowControl {
    /// The strategy for a publication channel: unicast channels always get [`FlowControl::Unicast`]; multicast and
    /// MDC channels (`group_semantics`) get `fc=` (`option`), or `max` when absent. Like Aeron's C driver, `max`
    /// ignores the options (its retransmit window multiple is fixed at 4).
    pub(crate) fn new(
        option: Option<&FlowControlOption>,
        group_semantics: bool,
        defaults: FlowControlDefaults,
    ) -> Self {
        if !group_semantics {
            return FlowControl::Unicast;
        }
        let default_option = FlowControlOption::new(defaults.strategy);
        let option = option.unwrap_or(&default_option);
        let tagged = match option.strategy {
            FlowControlStrategy::Max => return FlowControl::Max,
            FlowControlStrategy::Min => false,
            FlowControlStrategy::Tagged => true,
        };
        FlowControl::Min(MinFlowControl {
            tagged,
            group_tag: option.group_tag.unwrap_or(defaults.group_tag),
            group_min_size: option.group_min_size.unwrap_or(defaults.group_min_size),
            receiver_timeout_ns: option
                .receiver_timeout
                .map_or(defaults.receiver_timeout_ns, |d| {
                    d.as_nanos().min(i64::MAX as u128) as i64
                }),
            rrwm: option.rrwm.map_or(defaults.multicast_rrwm, i64::from),
            receivers: Vec::new(),
            time_of_last_setup_ns: 0,
            last_setup_snd_lmt: -1,
            has_triggered_setup: false,
        })
    }

    /// The new sender limit after status message `sm` (without SEND_SETUP) arrived at `now_ns`.
    pub(crate) fn on_status_message(
        &mut self,
        sm: &StatusMessage,
        snd_lmt: i64,
        initial_term_id: i32,
        term_length: i32,
        now_ns: i64,
    ) -> i64 {
        let position = compute_position(
            sm.consumption_term_id,
            sm.consumption_term_offset,
            position_bits_to_shift(term_length),
            initial_term_id,
        );
        let window = i64::from(sm.receiver_window);
        match self {
            FlowControl::Unicast | FlowControl::Max => snd_lmt.max(position + window),
            FlowControl::Min(min) => {
                let matches_tag = !min.tagged || sm.group_tag == Some(min.group_tag);
                min.process_sm(sm, position, window, snd_lmt, now_ns, matches_tag)
            }
        }
    }

    /// The sender limit when the sender is idle; `min`/`tagged` drop timed-out and EOS receivers here.
    pub(crate) fn on_idle(&mut self, now_ns: i64, snd_lmt: i64) -> i64 {
        match self {
            FlowControl::Unicast | FlowControl::Max => snd_lmt,
            FlowControl::Min(min) => min.on_idle(now_ns, snd_lmt),
        }
    }

    /// A SETUP is being sent because a receiver asked for one.
    pub(crate) fn on_setup(&mut self, now_ns: i64, snd_lmt: i64) {
        if let FlowControl::Min(min) = self {
            if min.has_triggered_setup && !min.receivers.is_empty() {
                min.time_of_last_setup_ns = now_ns;
                min.last_setup_snd_lmt = snd_lmt;
            }
            min.has_triggered_setup = false;
        }
    }

    /// A status message with SEND_SETUP arrived.
    pub(crate) fn on_trigger_send_setup(&mut self, sm: &StatusMessage) {
        if let FlowControl::Min(min) = self {
            let matches = !min.tagged || sm.group_tag == Some(min.group_tag);
            min.has_triggered_setup |= matches;
        }
    }

    /// An ERR frame from `receiver_id` arrived: `min`/`tagged` drop that receiver at the next idle.
    pub(crate) fn on_error(&mut self, receiver_id: i64) {
        if let FlowControl::Min(min) = self {
            for r in min
                .receivers
                .iter_mut()
                .filter(|r| r.receiver_id == receiver_id)
            {
                r.eos_flagged = true;
            }
        }
    }

    /// Whether enough receivers are known for the publication to count as connected (`g:/<n>`).
    pub(crate) fn has_required_receivers(&self) -> bool {
        match self {
            FlowControl::Unicast | FlowControl::Max => true,
            FlowControl::Min(min) => min.receivers.len() >= min.group_min_size.max(0) as usize,
        }
    }

    /// Receivers `min`/`tagged` track (0 for the others).
    pub(crate) fn receiver_count(&self) -> usize {
        match self {
            FlowControl::Unicast | FlowControl::Max => 0,
            FlowControl::Min(min) => min.receivers.len(),
        }
    }

    /// Bytes to resend for a NAK of `resend_length` at `term_offset`: capped at the term's end and at the
    /// estimated receiver window x the retransmit receiver window multiple.
    pub(crate) fn max_retransmission_length(
        &self,
        term_offset: i32,
        resend_length: i32,
        term_length: i32,
    ) -> i32 {
        let rrwm = match self {
            FlowControl::Unicast => UNICAST_RRWM,
            FlowControl::Max => MULTICAST_RRWM,
            FlowControl::Min(min) => min.rrwm,
        };
        let to_term_end = i64::from(term_length - term_offset);
        let estimate = i64::from(receiver_window_length(
            defaults::RECEIVER_INITIAL_WINDOW_LENGTH,
            term_length,
        )) * rrwm;
        i64::from(resend_length).min(to_term_end.min(estimate)) as i32
    }
}

impl MinFlowControl {
    fn last_setup_snd_lmt(&mut self, now_ns: i64) -> i64 {
        if self.last_setup_snd_lmt != -1 {
            if self.time_of_last_setup_ns + self.receiver_timeout_ns - now_ns < 0 {
                self.last_setup_snd_lmt = -1;
            } else {
                return self.last_setup_snd_lmt;
            }
        }
        i64::MAX
    }

    fn process_sm(
        &mut self,
        sm: &StatusMessage,
        position: i64,
        window: i64,
        snd_lmt: i64,
        now_ns: i64,
        matches_tag: bool,
    ) -> i64 {
        let eos = sm.flags & SM_EOS_FLAG != 0;
        let position_plus_window = position + window;
        let mut min_position = self.last_setup_snd_lmt(now_ns);
        let mut is_existing = false;
        for r in &mut self.receivers {
            if matches_tag && r.receiver_id == sm.receiver_id {
                r.eos_flagged = eos;
                r.last_position = r.last_position.max(position);
                r.last_position_plus_window = position_plus_window;
                r.time_of_last_status_message_ns = now_ns;
                is_existing = true;
            }
            min_position = min_position.min(r.last_position_plus_window);
        }
        if !is_existing
            && !eos
            && matches_tag
            && (self.receivers.is_empty() || position_plus_window >= min_position - window)
        {
            self.receivers.push(Receiver {
                receiver_id: sm.receiver_id,
                last_position: position,
                last_position_plus_window: position_plus_window,
                time_of_last_status_message_ns: now_ns,
                eos_flagged: false,
            });
            min_position = min_position.min(position_plus_window);
            self.last_setup_snd_lmt = -1;
        }
        if self.receivers.len() < self.group_min_size.max(0) as usize {
            snd_lmt
        } else if self.receivers.is_empty() {
            snd_lmt.max(position_plus_window)
        } else {
            snd_lmt.max(min_position)
        }
    }

    fn on_idle(&mut self, now_ns: i64, snd_lmt: i64) -> i64 {
        let mut min_limit = self.last_setup_snd_lmt(now_ns);
        let timeout = self.receiver_timeout_ns;
        self.receivers.retain(|r| {
            !(r.time_of_last_status_message_ns + timeout - now_ns < 0 || r.eos_flagged)
        });
        for r in &self.receivers {
            min_limit = min_limit.min(r.last_position_plus_window);
        }
        if self.receivers.len() < self.group_min_size.max(0) as usize || self.receivers.is_empty() {
            snd_lmt
        } else {
            min_limit
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const TERM: i32 = 64 * 1024;
    const INITIAL: i32 = 100;

    fn sm(receiver_id: i64, position: i64, window: i32, tag: Option<i64>) -> StatusMessage {
        StatusMessage {
            flags: 0,
            session_id: 1,
            stream_id: 2,
            consumption_term_id: INITIAL + (position / TERM as i64) as i32,
            consumption_term_offset: (position % TERM as i64) as i32,
            receiver_window: window,
            receiver_id,
            group_tag: tag,
        }
    }

    fn parse(s: &str) -> FlowControl {
        FlowControl::new(
            Some(&FlowControlOption::parse(s).unwrap()),
            true,
            FlowControlDefaults::default(),
        )
    }

    #[test]
    fn unicast_and_max_follow_the_furthest_window_edge() {
        for mut fc in [
            FlowControl::new(None, false, FlowControlDefaults::default()),
            parse("max"),
        ] {
            let lmt = fc.on_status_message(&sm(1, 1000, 500, None), 0, INITIAL, TERM, 0);
            assert_eq!(lmt, 1500);
            let lmt = fc.on_status_message(&sm(2, 200, 500, None), lmt, INITIAL, TERM, 0);
            assert_eq!(lmt, 1500);
            let lmt =
                fc.on_status_message(&sm(2, TERM as i64 + 8, 500, None), lmt, INITIAL, TERM, 0);
            assert_eq!(lmt, TERM as i64 + 508);
            assert_eq!(fc.on_idle(10_000_000_000, lmt), lmt);
            assert!(fc.has_required_receivers());
        }
        assert!(matches!(
            FlowControl::new(None, true, FlowControlDefaults::default()),
            FlowControl::Max
        ));
        assert!(matches!(parse("min"), FlowControl::Min(_)));
        assert_eq!(
            parse("min").max_retransmission_length(0, 1 << 20, TERM),
            TERM
        );
        let fc = FlowControl::new(None, false, FlowControlDefaults::default());
        assert_eq!(fc.max_retransmission_length(TERM - 64, 4096, TERM), 64);
    }

    #[test]
    fn min_follows_the_slowest_and_drops_timed_out_receivers() {
        let mut fc = parse("min,t:1s");
        let lmt = fc.on_status_message(&sm(1, 1000, 500, None), 0, INITIAL, TERM, 0);
        assert_eq!(lmt, 1500);
        let lmt = fc.on_status_message(&sm(2, 800, 500, None), lmt, INITIAL, TERM, 10);
        assert_eq!(lmt, 1500, "never moves backwards");
        let lmt = fc.on_status_message(&sm(1, 3000, 500, None), lmt, INITIAL, TERM, 20);
        assert_eq!(lmt, 1500, "receiver 2 holds it at 1300");
        let lmt = fc.on_status_message(&sm(2, 2000, 500, None), lmt, INITIAL, TERM, 30);
        assert_eq!(lmt, 2500);
        assert_eq!(fc.receiver_count(), 2);
        // Receiver 1 keeps reporting, receiver 2 goes silent and times out after 1 s.
        let lmt = fc.on_status_message(&sm(1, 4000, 500, None), lmt, INITIAL, TERM, 900_000_000);
        assert_eq!(fc.on_idle(1_000_000_030, lmt), 2500);
        assert_eq!(fc.on_idle(1_000_000_031, lmt), 4500);
        assert_eq!(fc.receiver_count(), 1);
        // An EOS SM removes the receiver at the next idle.
        let mut eos = sm(1, 4000, 500, None);
        eos.flags = SM_EOS_FLAG;
        fc.on_status_message(&eos, lmt, INITIAL, TERM, 1_000_000_040);
        fc.on_idle(1_000_000_041, lmt);
        assert_eq!(fc.receiver_count(), 0);
    }

    #[test]
    fn min_group_size_holds_the_limit_until_enough_receivers() {
        let mut fc = parse("min,g:/2");
        assert!(!fc.has_required_receivers());
        let lmt = fc.on_status_message(&sm(1, 1000, 500, None), 0, INITIAL, TERM, 0);
        assert_eq!(lmt, 0);
        assert!(!fc.has_required_receivers());
        let lmt = fc.on_status_message(&sm(2, 1200, 500, None), lmt, INITIAL, TERM, 0);
        assert_eq!(lmt, 1500);
        assert!(fc.has_required_receivers());
        fc.on_error(1);
        assert_eq!(fc.on_idle(1, lmt), lmt);
        assert!(!fc.has_required_receivers());
    }

    #[test]
    fn tagged_counts_only_matching_tags() {
        let mut fc = parse("tagged,g:7/1,t:2s");
        if let FlowControl::Min(min) = &fc {
            assert_eq!(
                min.receiver_timeout_ns,
                Duration::from_secs(2).as_nanos() as i64
            );
        }
        let lmt = fc.on_status_message(&sm(1, 1000, 500, None), 0, INITIAL, TERM, 0);
        assert_eq!(lmt, 0);
        let lmt = fc.on_status_message(&sm(2, 1000, 500, Some(8)), lmt, INITIAL, TERM, 0);
        assert_eq!(lmt, 0);
        assert_eq!(fc.receiver_count(), 0);
        let lmt = fc.on_status_message(&sm(3, 1000, 500, Some(7)), lmt, INITIAL, TERM, 0);
        assert_eq!(lmt, 1500);
        assert_eq!(fc.receiver_count(), 1);
    }

    #[test]
    fn setup_triggered_by_a_new_receiver_holds_the_limit_for_it() {
        let mut fc = parse("min");
        let lmt = fc.on_status_message(&sm(1, 1000, 500, None), 0, INITIAL, TERM, 0);
        let mut elicit = sm(9, 0, 0, None);
        elicit.flags = oxeron_protocol::frame::status::SEND_SETUP_FLAG;
        fc.on_trigger_send_setup(&elicit);
        fc.on_setup(10, lmt);
        // Receiver 1 moves on, but the limit stays at the SETUP's limit until the new receiver reports or the
        // receiver timeout passes.
        let lmt2 = fc.on_status_message(&sm(1, 5000, 500, None), lmt, INITIAL, TERM, 20);
        assert_eq!(lmt2, 1500);
        assert_eq!(fc.on_idle(5_000_000_011, lmt2), 5500);
    }
}
