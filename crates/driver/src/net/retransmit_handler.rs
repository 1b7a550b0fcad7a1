//! Sender-side NAK handling: turns NAKs into resends, delays them, and lingers so duplicate NAKs from other
//! receivers (or retries) do not cause repeated resends (Aeron's `aeron_retransmit_handler.c`).

use oxeron_protocol::frame::FRAME_ALIGNMENT;
use oxeron_protocol::logbuffer::DATA_HEADER_LENGTH;

/// A range of the log to send again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resend {
    /// Term of the range.
    pub(crate) term_id: i32,
    /// Offset of the range in the term.
    pub(crate) term_offset: i32,
    /// Bytes to resend.
    pub(crate) length: i32,
}

/// What [`RetransmitHandler::on_nak`] did with a NAK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NakOutcome {
    /// Resend this range now (no delay); the action now lingers.
    Resend(Resend),
    /// A resend is scheduled after the delay; [`RetransmitHandler::process_timeouts`] will return it.
    Delayed,
    /// The NAK overlaps an action in progress, or asked for 0 bytes.
    Ignored,
    /// Offset outside the term or unaligned, or a negative length (Aeron counts it as an invalid packet).
    Invalid,
    /// Every action slot is busy (group semantics; Aeron counts a retransmit overflow).
    Overflow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Inactive,
    Delayed,
    Lingering,
}

#[derive(Debug, Clone, Copy)]
struct Action {
    state: State,
    resend: Resend,
    expiry_ns: i64,
}

/// Retransmit actions of one network publication.
#[derive(Debug, Clone)]
pub(crate) struct RetransmitHandler {
    delay_ns: i64,
    linger_ns: i64,
    has_group_semantics: bool,
    actions: Vec<Action>,
    active: usize,
}

impl RetransmitHandler {
    /// A handler delaying resends by `delay_ns` and lingering `linger_ns` after each. Unicast publications get
    /// one action slot; with group semantics (multicast, MDC) `max_retransmits` (`max-resend`) slots.
    pub(crate) fn new(
        delay_ns: i64,
        linger_ns: i64,
        has_group_semantics: bool,
        max_retransmits: u32,
    ) -> Self {
        let slots = if has_group_semantics {
            max_retransmits.max(1) as usize
        } else {
            1
        };
        let idle = Action {
            state: State::Inactive,
            resend: Resend {
                term_id: 0,
                term_offset: 0,
                length: 0,
            },
            expiry_ns: 0,
        };
        RetransmitHandler {
            delay_ns,
            linger_ns,
            has_group_semantics,
            actions: vec![idle; slots],
            active: 0,
        }
    }

    /// Whether the channel has group semantics (sent in SETUP's GROUP flag).
    pub(crate) fn has_group_semantics(&self) -> bool {
        self.has_group_semantics
    }

    /// Handles a NAK. `max_length` caps the resend (the flow control's retransmission length for this offset and
    /// length).
    pub(crate) fn on_nak(
        &mut self,
        term_id: i32,
        term_offset: i32,
        length: i32,
        term_length: i32,
        max_length: impl FnOnce(i32) -> i32,
        now_ns: i64,
    ) -> NakOutcome {
        // Aeron's checks, plus alignment: resends read frames at the offset.
        if term_offset > term_length - DATA_HEADER_LENGTH as i32
            || term_offset < 0
            || length < 0
            || term_offset as usize % FRAME_ALIGNMENT != 0
        {
            return NakOutcome::Invalid;
        }
        if length == 0 {
            return NakOutcome::Ignored;
        }
        let resend = Resend {
            term_id,
            term_offset,
            length: max_length(length),
        };
        let slot = match self.find_slot(term_id, term_offset) {
            Ok(Some(slot)) => slot,
            Ok(None) => return NakOutcome::Ignored,
            Err(()) => return NakOutcome::Overflow,
        };
        let action = &mut self.actions[slot];
        action.resend = resend;
        if self.delay_ns == 0 {
            action.state = State::Lingering;
            action.expiry_ns = now_ns + self.linger_ns;
            NakOutcome::Resend(resend)
        } else {
            action.state = State::Delayed;
            action.expiry_ns = now_ns + self.delay_ns;
            NakOutcome::Delayed
        }
    }

    /// Moves actions on at `now_ns`: delayed ones whose time has come are pushed to `resends` and start to
    /// linger; lingering ones past their linger end. Returns how many actions changed.
    pub(crate) fn process_timeouts(&mut self, now_ns: i64, resends: &mut Vec<Resend>) -> usize {
        if self.active == 0 {
            return 0;
        }
        let mut changed = 0;
        for action in &mut self.actions {
            match action.state {
                State::Delayed if now_ns > action.expiry_ns => {
                    resends.push(action.resend);
                    action.state = State::Lingering;
                    action.expiry_ns = now_ns + self.linger_ns;
                    changed += 1;
                }
                State::Lingering if now_ns > action.expiry_ns => {
                    action.state = State::Inactive;
                    self.active -= 1;
                    changed += 1;
                }
                _ => {}
            }
        }
        changed
    }

    /// The slot for a new action: `Ok(None)` if the NAK falls inside an active action's range, `Err` when all
    /// slots are busy. Unicast reuses its single slot for a NAK that does not overlap.
    fn find_slot(&mut self, term_id: i32, term_offset: i32) -> Result<Option<usize>, ()> {
        if self.active == 0 {
            self.active = 1;
            return Ok(Some(0));
        }
        let mut available = None;
        for (i, action) in self.actions.iter().enumerate() {
            match action.state {
                State::Inactive => {
                    available.get_or_insert(i);
                }
                State::Delayed | State::Lingering => {
                    let r = action.resend;
                    if r.term_id == term_id
                        && r.term_offset <= term_offset
                        && term_offset < r.term_offset + r.length
                    {
                        return Ok(None);
                    }
                    if !self.has_group_semantics {
                        available = Some(i);
                    }
                }
            }
        }
        match available {
            Some(i) if self.actions[i].state == State::Inactive => {
                self.active += 1;
                Ok(Some(i))
            }
            Some(i) => Ok(Some(i)),
            None => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TERM: i32 = 64 * 1024;

    fn resend(term_id: i32, term_offset: i32, length: i32) -> Resend {
        Resend {
            term_id,
            term_offset,
            length,
        }
    }

    #[test]
    fn unicast_resends_immediately_and_lingers() {
        let mut h = RetransmitHandler::new(0, 10_000_000, false, 16);
        assert_eq!(
            h.on_nak(3, 64, 128, TERM, |l| l, 1_000),
            NakOutcome::Resend(resend(3, 64, 128))
        );
        // Overlapping NAK during the linger: ignored.
        assert_eq!(h.on_nak(3, 96, 32, TERM, |l| l, 2_000), NakOutcome::Ignored);
        let mut out = Vec::new();
        assert_eq!(h.process_timeouts(10_001_000, &mut out), 0);
        assert_eq!(h.process_timeouts(10_001_001, &mut out), 1);
        assert!(out.is_empty());
        assert_eq!(
            h.on_nak(3, 96, 32, TERM, |l| l, 10_001_002),
            NakOutcome::Resend(resend(3, 96, 32))
        );
        // A non-overlapping NAK reuses the single unicast slot.
        assert_eq!(
            h.on_nak(3, 1024, 32, TERM, |l| l, 10_001_003),
            NakOutcome::Resend(resend(3, 1024, 32))
        );
        assert_eq!(
            h.on_nak(3, 96, 32, TERM, |l| l, 10_001_004),
            NakOutcome::Resend(resend(3, 96, 32))
        );
    }

    #[test]
    fn delayed_resend_fires_after_delay() {
        let mut h = RetransmitHandler::new(500, 1_000, true, 16);
        assert_eq!(h.on_nak(1, 0, 64, TERM, |l| l, 0), NakOutcome::Delayed);
        let mut out = Vec::new();
        h.process_timeouts(500, &mut out);
        assert!(out.is_empty());
        h.process_timeouts(501, &mut out);
        assert_eq!(out, vec![resend(1, 0, 64)]);
        assert_eq!(h.on_nak(1, 32, 32, TERM, |l| l, 600), NakOutcome::Ignored);
        h.process_timeouts(1_502, &mut out);
        assert_eq!(h.on_nak(1, 32, 32, TERM, |l| l, 1_503), NakOutcome::Delayed);
    }

    #[test]
    fn group_semantics_limits_concurrent_actions() {
        let mut h = RetransmitHandler::new(0, 1_000, true, 2);
        assert!(matches!(
            h.on_nak(1, 0, 32, TERM, |l| l, 0),
            NakOutcome::Resend(_)
        ));
        assert!(matches!(
            h.on_nak(1, 64, 32, TERM, |l| l, 0),
            NakOutcome::Resend(_)
        ));
        assert_eq!(h.on_nak(1, 128, 32, TERM, |l| l, 0), NakOutcome::Overflow);
        let mut out = Vec::new();
        assert_eq!(h.process_timeouts(1_001, &mut out), 2);
        assert!(matches!(
            h.on_nak(1, 128, 32, TERM, |l| l, 1_002),
            NakOutcome::Resend(_)
        ));
    }

    #[test]
    fn invalid_and_empty_naks_and_length_cap() {
        let mut h = RetransmitHandler::new(0, 1_000, false, 1);
        assert_eq!(h.on_nak(1, -32, 32, TERM, |l| l, 0), NakOutcome::Invalid);
        assert_eq!(
            h.on_nak(1, TERM - 31, 32, TERM, |l| l, 0),
            NakOutcome::Invalid
        );
        assert_eq!(h.on_nak(1, 0, -1, TERM, |l| l, 0), NakOutcome::Invalid);
        assert_eq!(h.on_nak(1, 8, 32, TERM, |l| l, 0), NakOutcome::Invalid);
        assert_eq!(h.on_nak(1, 0, 0, TERM, |l| l, 0), NakOutcome::Ignored);
        assert_eq!(
            h.on_nak(1, 0, 4096, TERM, |l| l.min(1024), 0),
            NakOutcome::Resend(resend(1, 0, 1024))
        );
    }
}
