//! Reassembly of messages that a publication split into several frames (larger than the MTU).

use std::collections::HashMap;

use oxeron_protocol::align;
use oxeron_protocol::logbuffer::FRAME_ALIGNMENT;

use crate::image::ControlledPollAction;
use crate::logbuffer::{frame, Header};

/// Per-session reassembly state.
#[derive(Debug, Default)]
struct PartialMessage {
    payload: Vec<u8>,
    first_header: Option<Header>,
    next_term_offset: i32,
}

/// What a fragment did to its session's partial message.
enum Step<'a> {
    /// A whole message: a single-frame one or the last fragment of a reassembled one.
    Complete(&'a [u8], Header),
    /// Absorbed into a partial message, or dropped because a fragment was missing.
    Pending,
}

/// Reassembly bookkeeping shared by both assemblers: one partial message per session id.
#[derive(Debug, Default)]
struct Reassembly {
    sessions: HashMap<i32, PartialMessage>,
}

impl Reassembly {
    /// Feeds one fragment; the returned slice borrows either `payload` or the session's buffer.
    fn step<'a>(&'a mut self, payload: &'a [u8], header: &Header) -> Step<'a> {
        let flags = header.flags();
        if flags & frame::UNFRAGMENTED == frame::UNFRAGMENTED {
            return Step::Complete(payload, *header);
        }
        // Term offsets and lengths come from the publisher's frame header (another process): like Aeron's
        // `int` arithmetic, wrap rather than panic on values no valid frame has.
        let aligned_length = align(header.frame_length().max(0) as usize, FRAME_ALIGNMENT) as i32;
        let next_offset = header.term_offset().wrapping_add(aligned_length);
        if flags & frame::BEGIN_FLAG != 0 {
            let partial = self.sessions.entry(header.session_id()).or_default();
            partial.payload.clear();
            partial.payload.extend_from_slice(payload);
            partial.first_header = Some(*header);
            partial.next_term_offset = next_offset;
            return Step::Pending;
        }
        let Some(partial) = self.sessions.get_mut(&header.session_id()) else {
            return Step::Pending;
        };
        let Some(first) = partial.first_header else {
            return Step::Pending;
        };
        if partial.next_term_offset != header.term_offset() || first.term_id() != header.term_id() {
            partial.first_header = None;
            partial.payload.clear();
            return Step::Pending;
        }
        partial.payload.extend_from_slice(payload);
        partial.next_term_offset = next_offset;
        if flags & frame::END_FLAG == 0 {
            return Step::Pending;
        }
        let mut assembled = first;
        assembled.set_frame_length(
            header
                .term_offset()
                .wrapping_add(header.frame_length())
                .wrapping_sub(first.term_offset()),
        );
        assembled.set_flags(first.flags() | frame::UNFRAGMENTED);
        Step::Complete(&partial.payload, assembled)
    }

    /// Forgets the completed message of `session_id`.
    fn finish(&mut self, session_id: i32) {
        if let Some(partial) = self.sessions.get_mut(&session_id) {
            partial.first_header = None;
            partial.payload.clear();
        }
    }

    /// Takes back the last fragment of `session_id` (its message was aborted by the handler).
    fn unwind_last(&mut self, session_id: i32, last_payload_length: usize, last_header: &Header) {
        if let Some(partial) = self.sessions.get_mut(&session_id) {
            let keep = partial.payload.len() - last_payload_length;
            partial.payload.truncate(keep);
            partial.next_term_offset = last_header.term_offset();
        }
    }
}

/// Wraps a fragment handler so that it sees whole messages: fragments (frames flagged BEGIN, middle, END)
/// are collected per session and delivered once complete; unfragmented messages pass straight through
/// without a copy.
///
/// The header handed over with a reassembled message is the first fragment's, flagged BEGIN|END, with a
/// frame length that spans every fragment so that [`Header::position`] is the position after the message.
///
/// ```
/// use oxeron_client::FragmentAssembler;
///
/// let mut received = Vec::new();
/// let mut assembler = FragmentAssembler::new(|message: &[u8], _header: &_| received.push(message.len()));
/// // subscription.poll(assembler.handler(), 10);
/// # let _ = assembler.handler();
/// ```
#[derive(Debug)]
pub struct FragmentAssembler<F> {
    delegate: F,
    reassembly: Reassembly,
}

impl<F: FnMut(&[u8], &Header)> FragmentAssembler<F> {
    /// Wraps `delegate`, which receives whole messages.
    pub fn new(delegate: F) -> Self {
        FragmentAssembler {
            delegate,
            reassembly: Reassembly::default(),
        }
    }

    /// Feeds one fragment.
    pub fn on_fragment(&mut self, payload: &[u8], header: &Header) {
        if let Step::Complete(message, assembled) = self.reassembly.step(payload, header) {
            (self.delegate)(message, &assembled);
            self.reassembly.finish(header.session_id());
        }
    }

    /// A fragment handler to pass to `poll`.
    pub fn handler(&mut self) -> impl FnMut(&[u8], &Header) + '_ {
        move |payload, header| self.on_fragment(payload, header)
    }

    /// Drops the partial message of a session (when its image goes away).
    pub fn free_session_buffer(&mut self, session_id: i32) -> bool {
        self.reassembly.sessions.remove(&session_id).is_some()
    }

    /// The wrapped handler.
    pub fn delegate(&mut self) -> &mut F {
        &mut self.delegate
    }
}

/// [`FragmentAssembler`] for controlled polls: the delegate returns a [`ControlledPollAction`]. If it aborts a
/// reassembled message, the last fragment is taken back so the whole message is delivered again next poll.
#[derive(Debug)]
pub struct ControlledFragmentAssembler<F> {
    delegate: F,
    reassembly: Reassembly,
}

impl<F: FnMut(&[u8], &Header) -> ControlledPollAction> ControlledFragmentAssembler<F> {
    /// Wraps `delegate`, which receives whole messages.
    pub fn new(delegate: F) -> Self {
        ControlledFragmentAssembler {
            delegate,
            reassembly: Reassembly::default(),
        }
    }

    /// Feeds one fragment and returns what the poll should do.
    pub fn on_fragment(&mut self, payload: &[u8], header: &Header) -> ControlledPollAction {
        let unfragmented = header.flags() & frame::UNFRAGMENTED == frame::UNFRAGMENTED;
        let action = match self.reassembly.step(payload, header) {
            Step::Complete(message, assembled) => (self.delegate)(message, &assembled),
            Step::Pending => return ControlledPollAction::Continue,
        };
        if !unfragmented {
            if action == ControlledPollAction::Abort {
                self.reassembly
                    .unwind_last(header.session_id(), payload.len(), header);
            } else {
                self.reassembly.finish(header.session_id());
            }
        }
        action
    }

    /// A controlled fragment handler to pass to `controlled_poll`.
    pub fn handler(&mut self) -> impl FnMut(&[u8], &Header) -> ControlledPollAction + '_ {
        move |payload, header| self.on_fragment(payload, header)
    }

    /// Drops the partial message of a session.
    pub fn free_session_buffer(&mut self, session_id: i32) -> bool {
        self.reassembly.sessions.remove(&session_id).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxeron_protocol::le;

    fn header(flags: u8, term_offset: i32, frame_length: i32) -> Header {
        let mut bytes = [0u8; 32];
        le::put_i32(&mut bytes, frame::FRAME_LENGTH_OFFSET, frame_length);
        bytes[frame::FLAGS_OFFSET] = flags;
        le::put_u16(&mut bytes, frame::TYPE_OFFSET, frame::TYPE_DATA);
        le::put_i32(&mut bytes, frame::TERM_OFFSET_OFFSET, term_offset);
        le::put_i32(&mut bytes, frame::SESSION_ID_OFFSET, 7);
        Header::new(bytes, 0, 16)
    }

    #[test]
    fn reassembles_fragments() {
        let mut got = Vec::new();
        let mut assembler = FragmentAssembler::new(|m: &[u8], h: &Header| {
            got.push((m.to_vec(), h.frame_length()));
        });
        assembler.on_fragment(b"ab", &header(frame::BEGIN_FLAG, 0, 34));
        assembler.on_fragment(b"cd", &header(frame::END_FLAG, 64, 34));
        assert_eq!(got, vec![(b"abcd".to_vec(), 64 + 34)]);
    }

    #[test]
    fn term_offsets_near_i32_max_do_not_overflow() {
        // Found by the term_read fuzz target: a BEGIN fragment at term offset i32::MAX panicked (in debug
        // builds) computing the next fragment's offset, and so did an END fragment's assembled length.
        let mut delivered = 0;
        let mut assembler = FragmentAssembler::new(|_: &[u8], _: &Header| delivered += 1);
        assembler.on_fragment(b"x", &header(frame::BEGIN_FLAG, i32::MAX, 33));
        assembler.on_fragment(b"y", &header(0, i32::MIN + 63, i32::MAX));
        assembler.on_fragment(b"z", &header(frame::END_FLAG, i32::MAX, 40));
        assembler.on_fragment(b"w", &header(frame::BEGIN_FLAG, -100, -5));
        assert_eq!(delivered, 0);

        let mut controlled =
            ControlledFragmentAssembler::new(|_: &[u8], _: &Header| ControlledPollAction::Abort);
        controlled.on_fragment(b"x", &header(frame::BEGIN_FLAG, i32::MIN, 40));
        let next = i32::MIN + 64;
        let action = controlled.on_fragment(b"y", &header(frame::END_FLAG, next, i32::MAX));
        assert_eq!(action, ControlledPollAction::Abort);
    }
}
