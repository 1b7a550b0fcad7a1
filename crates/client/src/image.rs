//! Images: one publication's stream as a subscription sees it, read in place from the log buffer.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::logbuffer::{
    index_by_position, position_bits_to_shift, DATA_HEADER_LENGTH, FRAME_ALIGNMENT,
};

use crate::logbuffer::term_reader::{committed_bytes, committed_frame, is_padding};
use crate::logbuffer::{frame, read_term, Header, LogBuffers};

/// What a controlled fragment handler asks the poll to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlledPollAction {
    /// Stop without consuming this fragment: it is delivered again on the next poll.
    Abort,
    /// Consume this fragment and stop polling.
    Break,
    /// Consume this fragment and move the subscriber position now (not only at the end of the poll).
    Commit,
    /// Consume this fragment and carry on.
    Continue,
}

/// What the conductor learned about an image when the driver made it available.
#[derive(Debug, Clone)]
pub struct ImageInfo {
    /// Correlation id the driver gave the image.
    pub correlation_id: i64,
    /// Session id of the publication.
    pub session_id: i32,
    /// Registration id of the subscription the image belongs to.
    pub subscription_registration_id: i64,
    /// Where the data comes from (`aeron:ipc` or the sender's `host:port`).
    pub source_identity: String,
}

/// A new position that [`Image::set_position`] refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("position {requested} is outside {current}..={limit} or not 32-byte aligned")]
pub struct InvalidPosition {
    /// The position asked for.
    pub requested: i64,
    /// The image's current position.
    pub current: i64,
    /// The end of the current term.
    pub limit: i64,
}

/// One publication's stream within a subscription. Polling reads frames in place from the shared log buffer
/// and advances this image's subscriber-position counter, which the driver uses for flow control.
#[derive(Debug)]
pub struct Image {
    info: ImageInfo,
    log: Arc<LogBuffers>,
    subscriber_position: AtomicBuffer,
    join_position: i64,
    initial_term_id: i32,
    term_length_mask: i64,
    position_bits_to_shift: u32,
    closed: AtomicBool,
    final_position: AtomicI64,
}

impl Image {
    /// Wraps a mapped image log; `subscriber_position` is an 8-byte view of its sub-pos counter.
    pub fn new(info: ImageInfo, log: Arc<LogBuffers>, subscriber_position: AtomicBuffer) -> Self {
        let term_length = log.term_length();
        let initial_term_id = log.metadata().initial_term_id();
        let join_position = subscriber_position.get_i64_volatile(0);
        Image {
            info,
            log,
            subscriber_position,
            join_position,
            initial_term_id,
            term_length_mask: term_length as i64 - 1,
            position_bits_to_shift: position_bits_to_shift(term_length),
            closed: AtomicBool::new(false),
            final_position: AtomicI64::new(0),
        }
    }

    /// Session id of the publication.
    pub fn session_id(&self) -> i32 {
        self.info.session_id
    }

    /// Correlation id the driver gave the image.
    pub fn correlation_id(&self) -> i64 {
        self.info.correlation_id
    }

    /// Registration id of the subscription the image belongs to.
    pub fn subscription_registration_id(&self) -> i64 {
        self.info.subscription_registration_id
    }

    /// Where the data comes from.
    pub fn source_identity(&self) -> &str {
        &self.info.source_identity
    }

    /// Position the subscriber joined the stream at.
    pub fn join_position(&self) -> i64 {
        self.join_position
    }

    /// Initial term id of the stream.
    pub fn initial_term_id(&self) -> i32 {
        self.initial_term_id
    }

    /// Term length of the stream.
    pub fn term_buffer_length(&self) -> i32 {
        self.log.term_length()
    }

    /// How many transports the driver heard this (network) image from within its liveness timeout: 1 for a
    /// plain UDP image, one per live destination of a multi-destination subscription, 0 for IPC or once
    /// closed.
    pub fn active_transport_count(&self) -> i32 {
        if self.is_closed() {
            return 0;
        }
        self.log.metadata().active_transport_count()
    }

    /// MTU of the stream.
    pub fn mtu_length(&self) -> i32 {
        self.log.metadata().mtu_length()
    }

    /// Position up to which this subscriber has consumed the stream (the final position once closed).
    pub fn position(&self) -> i64 {
        if self.is_closed() {
            self.final_position.load(Ordering::Acquire)
        } else {
            self.subscriber_position.get_i64_volatile(0)
        }
    }

    /// Moves the subscriber position within the current term (to skip ahead, or to resume where a previous
    /// reader stopped). The position must be frame aligned.
    pub fn set_position(&self, new_position: i64) -> Result<(), InvalidPosition> {
        if self.is_closed() {
            return Ok(());
        }
        let current = self.subscriber_position.get_i64_volatile(0);
        let limit = (current - (current & self.term_length_mask)) + self.term_length_mask + 1;
        if new_position < current
            || new_position > limit
            || new_position & (FRAME_ALIGNMENT as i64 - 1) != 0
        {
            return Err(InvalidPosition {
                requested: new_position,
                current,
                limit,
            });
        }
        self.subscriber_position.put_i64_release(0, new_position);
        Ok(())
    }

    /// True once the publication ended its stream and this subscriber consumed all of it.
    pub fn is_end_of_stream(&self) -> bool {
        if self.is_closed() {
            return self.final_position.load(Ordering::Acquire)
                >= self.log.metadata().end_of_stream_position();
        }
        self.subscriber_position.get_i64_volatile(0) >= self.log.metadata().end_of_stream_position()
    }

    /// Position at which the stream ends, `i64::MAX` while it is open.
    pub fn end_of_stream_position(&self) -> i64 {
        self.log.metadata().end_of_stream_position()
    }

    /// True once the image is no longer available (its publication went away or the subscription closed).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Marks the image closed, remembering the position reached. Polls return nothing from then on.
    pub(crate) fn close(&self) {
        if !self.closed.load(Ordering::Acquire) {
            self.final_position.store(
                self.subscriber_position.get_i64_volatile(0),
                Ordering::Release,
            );
            self.closed.store(true, Ordering::Release);
        }
    }

    #[inline]
    fn active_term(&self, position: i64) -> (&AtomicBuffer, usize) {
        let index = index_by_position(position, self.position_bits_to_shift);
        (
            self.log.term(index),
            (position & self.term_length_mask) as usize,
        )
    }

    /// Hands up to `fragment_limit` fragments to `handler`; returns how many were delivered.
    #[inline]
    pub fn poll<F>(&self, mut handler: F, fragment_limit: usize) -> usize
    where
        F: FnMut(&[u8], &Header),
    {
        if self.is_closed() {
            return 0;
        }
        let position = self.subscriber_position.get_i64(0);
        let (term, offset) = self.active_term(position);
        let outcome = read_term(
            term,
            offset,
            fragment_limit,
            self.initial_term_id,
            self.position_bits_to_shift,
            &mut handler,
        );
        let new_position = position + (outcome.offset - offset) as i64;
        if new_position > position {
            self.subscriber_position.put_i64_release(0, new_position);
        }
        outcome.fragments_read
    }

    /// Like [`Image::poll`], but the handler steers the poll with a [`ControlledPollAction`].
    pub fn controlled_poll<F>(&self, handler: F, fragment_limit: usize) -> usize
    where
        F: FnMut(&[u8], &Header) -> ControlledPollAction,
    {
        self.controlled_poll_until(handler, i64::MAX, fragment_limit)
    }

    /// Like [`Image::poll`], but only fragments that start before `limit_position` (Aeron's
    /// `Image.boundedPoll`): a consumer that must not run ahead of a position, as a replay merge or a
    /// follower does. A fragment that starts before the limit is delivered whole.
    ///
    /// ```no_run
    /// # fn example(image: &oxeron_client::Image, merge_position: i64) {
    /// // What lies before the position where the live stream takes over.
    /// image.bounded_poll(|payload, _header| println!("{} bytes", payload.len()), merge_position, 10);
    /// # }
    /// ```
    pub fn bounded_poll<F>(
        &self,
        mut handler: F,
        limit_position: i64,
        fragment_limit: usize,
    ) -> usize
    where
        F: FnMut(&[u8], &Header),
    {
        self.controlled_poll_until(
            |payload, header| {
                handler(payload, header);
                ControlledPollAction::Continue
            },
            limit_position,
            fragment_limit,
        )
    }

    /// [`Image::controlled_poll`] up to `limit_position`, as [`Image::bounded_poll`] (Aeron's
    /// `Image.boundedControlledPoll`).
    pub fn bounded_controlled_poll<F>(
        &self,
        handler: F,
        limit_position: i64,
        fragment_limit: usize,
    ) -> usize
    where
        F: FnMut(&[u8], &Header) -> ControlledPollAction,
    {
        self.controlled_poll_until(handler, limit_position, fragment_limit)
    }

    #[inline]
    fn controlled_poll_until<F>(
        &self,
        mut handler: F,
        limit_position: i64,
        fragment_limit: usize,
    ) -> usize
    where
        F: FnMut(&[u8], &Header) -> ControlledPollAction,
    {
        if self.is_closed() {
            return 0;
        }
        let mut initial_position = self.subscriber_position.get_i64(0);
        if initial_position >= limit_position {
            return 0;
        }
        let (term, mut initial_offset) = self.active_term(initial_position);
        let mut offset = initial_offset;
        let ahead = usize::try_from(limit_position - initial_position).unwrap_or(usize::MAX);
        let limit_offset = offset.saturating_add(ahead).min(term.capacity());
        let mut fragments_read = 0;
        while fragments_read < fragment_limit && offset < limit_offset {
            let Some((frame_length, aligned)) = committed_frame(term, offset) else {
                break;
            };
            let frame_offset = offset;
            offset += aligned;
            if is_padding(term, frame_offset) {
                continue;
            }
            let mut header_bytes = [0u8; DATA_HEADER_LENGTH];
            term.get_bytes(frame_offset, &mut header_bytes);
            let header = Header::new(
                header_bytes,
                self.initial_term_id,
                self.position_bits_to_shift,
            );
            let payload = committed_bytes(
                term,
                frame_offset + DATA_HEADER_LENGTH,
                frame_length - DATA_HEADER_LENGTH,
            );
            fragments_read += 1;
            match handler(payload, &header) {
                ControlledPollAction::Abort => {
                    fragments_read -= 1;
                    offset -= aligned;
                    break;
                }
                ControlledPollAction::Break => break,
                ControlledPollAction::Commit => {
                    initial_position += (offset - initial_offset) as i64;
                    initial_offset = offset;
                    self.subscriber_position
                        .put_i64_release(0, initial_position);
                }
                ControlledPollAction::Continue => {}
            }
        }
        let resulting = initial_position + (offset - initial_offset) as i64;
        if resulting > initial_position {
            self.subscriber_position.put_i64_release(0, resulting);
        }
        fragments_read
    }

    /// Hands `handler` one block of whole frames (headers included) of at most `block_length_limit` bytes,
    /// with the session id and term id, and consumes it: the archive recorder's path. Returns the block length.
    pub fn block_poll<F>(&self, mut handler: F, block_length_limit: usize) -> usize
    where
        F: FnMut(&[u8], i32, i32),
    {
        if self.is_closed() {
            return 0;
        }
        let position = self.subscriber_position.get_i64(0);
        let (term, offset) = self.active_term(position);
        let limit = offset
            .saturating_add(block_length_limit)
            .min(term.capacity());
        let end = scan_for_block(term, offset, limit);
        let length = end - offset;
        if length > 0 {
            let term_id = term.get_i32(offset + frame::TERM_ID_OFFSET);
            let block = committed_bytes(term, offset, length);
            handler(block, self.info.session_id, term_id);
            self.subscriber_position
                .put_i64_release(0, position + length as i64);
        }
        length
    }
}

/// Scans committed frames from `offset` and returns the end of the longest run that fits before `limit`.
/// A PAD frame ends the block; it is included only when it is the block's first frame.
pub(crate) fn scan_for_block(term: &AtomicBuffer, offset: usize, limit: usize) -> usize {
    let mut cursor = offset;
    while cursor < limit {
        let Some((_, aligned)) = committed_frame(term, cursor) else {
            break;
        };
        if is_padding(term, cursor) {
            if cursor == offset {
                cursor += aligned;
            }
            break;
        }
        if cursor + aligned > limit {
            break;
        }
        cursor += aligned;
    }
    cursor
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TestLog;
    use crate::{ControlledFragmentAssembler, FragmentAssembler, OfferError};

    fn offer(p: &mut crate::ExclusivePublication, msg: &[u8]) -> i64 {
        loop {
            match p.offer(msg) {
                Ok(position) => return position,
                Err(OfferError::AdminAction) => continue,
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn poll_delivers_in_order_and_advances_position() {
        let t = TestLog::new(100);
        let mut p = t.exclusive();
        let image = t.image(0);
        let mut ends = Vec::new();
        for i in 0..10u8 {
            ends.push(offer(&mut p, &[i; 20]));
        }
        let mut got = Vec::new();
        assert_eq!(
            image.poll(
                |m: &[u8], h: &Header| got.push((m.to_vec(), h.position())),
                4
            ),
            4
        );
        assert_eq!(image.position(), ends[3]);
        assert_eq!(
            image.poll(
                |m: &[u8], h: &Header| got.push((m.to_vec(), h.position())),
                100
            ),
            6
        );
        assert_eq!(image.position(), ends[9]);
        for (i, (m, position)) in got.iter().enumerate() {
            assert_eq!(m, &vec![i as u8; 20]);
            assert_eq!(*position, ends[i]);
        }
        assert_eq!(image.poll(|_: &[u8], _: &Header| {}, 10), 0);
    }

    #[test]
    fn poll_follows_the_log_across_terms() {
        // Plays the driver's part: the publisher limit trails the image by a term, and terms the image has
        // left behind are zeroed before the publisher reuses their partition.
        let t = TestLog::new(-3);
        let term = crate::test_support::TERM_LENGTH as i64;
        let mut p = t.exclusive();
        let image = t.image(0);
        let mut received = 0u32;
        let mut cleaned = 0i64;
        let mut drive = |image: &Image| {
            image.poll(
                |m: &[u8], _: &Header| {
                    assert_eq!(m, received.to_le_bytes().repeat(50));
                    received += 1;
                },
                10,
            );
            let position = image.position();
            t.limit.put_i64_release(0, position + term);
            while cleaned + term <= position - term {
                let index = ((cleaned / term) % 3) as usize;
                t.log.term(index).set_memory(0, term as usize, 0);
                cleaned += term;
            }
        };
        for i in 0..20_000u32 {
            let msg = i.to_le_bytes().repeat(50);
            loop {
                match p.offer(&msg) {
                    Ok(_) => break,
                    Err(OfferError::AdminAction | OfferError::BackPressured) => drive(&image),
                    Err(e) => panic!("{e}"),
                }
            }
            drive(&image);
        }
        while image.position() < p.position() {
            drive(&image);
        }
        assert_eq!(received, 20_000);
        assert_eq!(image.position(), p.position());
    }

    #[test]
    fn controlled_poll_actions() {
        let t = TestLog::new(0);
        let mut p = t.exclusive();
        let image = t.image(0);
        let ends: Vec<i64> = (0..4u8).map(|i| offer(&mut p, &[i; 8])).collect();

        let n = image.controlled_poll(|_: &[u8], _: &Header| ControlledPollAction::Abort, 10);
        assert_eq!((n, image.position()), (0, 0), "abort consumes nothing");

        let mut seen = Vec::new();
        let n = image.controlled_poll(
            |m: &[u8], _: &Header| {
                seen.push(m[0]);
                if m[0] == 1 {
                    ControlledPollAction::Break
                } else {
                    ControlledPollAction::Continue
                }
            },
            10,
        );
        assert_eq!((n, image.position()), (2, ends[1]));

        let position = &image.subscriber_position;
        let n = image.controlled_poll(
            |m: &[u8], _: &Header| {
                if m[0] == 3 {
                    assert_eq!(
                        position.get_i64(0),
                        ends[2],
                        "commit moved the position early"
                    );
                    ControlledPollAction::Abort
                } else {
                    ControlledPollAction::Commit
                }
            },
            10,
        );
        assert_eq!((n, image.position()), (1, ends[2]));
        assert_eq!(seen, [0, 1]);
    }

    #[test]
    fn block_poll_hands_whole_frames_and_stops_at_padding() {
        let t = TestLog::new(5);
        let mut p = t.exclusive();
        let image = t.image(0);
        offer(&mut p, b"one");
        offer(&mut p, b"two");
        let pad_end = p.append_padding(64).unwrap();
        let end = offer(&mut p, b"three");
        let mut blocks = Vec::new();
        let n = image.block_poll(|b: &[u8], s, term| blocks.push((b.len(), s, term)), 4096);
        assert_eq!(n, 128);
        assert_eq!(blocks, [(128, 7, 5)]);
        assert_eq!(
            image.block_poll(|_: &[u8], _, _| {}, 4096) as i64,
            pad_end - 128
        );
        assert_eq!(
            image.block_poll(|_: &[u8], _, _| {}, 16),
            0,
            "limit below one frame"
        );
        assert_eq!(
            image.block_poll(|_: &[u8], _, _| {}, 4096) as i64,
            end - pad_end
        );
    }

    #[test]
    fn set_position_checks_range_and_alignment() {
        let t = TestLog::new(0);
        let image = t.image(64);
        assert!(image.set_position(32).is_err(), "backwards");
        assert!(image.set_position(100).is_err(), "unaligned");
        assert!(image.set_position(70_000).is_err(), "past the term");
        assert_eq!(image.set_position(65_536), Ok(()));
        assert_eq!(image.position(), 65_536);
    }

    #[test]
    fn closed_image_stops_and_remembers_its_position() {
        let t = TestLog::new(0);
        let mut p = t.exclusive();
        let image = t.image(0);
        let end = offer(&mut p, b"last");
        image.poll(|_: &[u8], _: &Header| {}, 10);
        assert!(!image.is_end_of_stream());
        t.log.metadata().set_end_of_stream_position(end);
        assert!(image.is_end_of_stream());
        offer(&mut p, b"after");
        image.close();
        assert!(image.is_closed());
        assert_eq!(image.poll(|_: &[u8], _: &Header| panic!("closed"), 10), 0);
        assert_eq!(image.position(), end);
    }

    #[test]
    fn assembler_rebuilds_messages_larger_than_the_mtu() {
        let t = TestLog::new(0);
        let mut p = t.exclusive();
        let image = t.image(0);
        let big: Vec<u8> = (0..4 * 1408u32).map(|i| (i % 251) as u8).collect();
        offer(&mut p, b"small");
        let end = offer(&mut p, &big);
        let mut got = Vec::new();
        let mut assembler = FragmentAssembler::new(|m: &[u8], h: &Header| {
            got.push((m.to_vec(), h.position(), h.flags()))
        });
        while image.poll(assembler.handler(), 2) > 0 {}
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, b"small");
        assert_eq!(got[1].0, big);
        assert_eq!(
            got[1].1, end,
            "header position is the end of the whole message"
        );
        assert_eq!(got[1].2, 0xC0);
    }

    #[test]
    fn controlled_assembler_redelivers_an_aborted_message_whole() {
        let t = TestLog::new(0);
        let mut p = t.exclusive();
        let image = t.image(0);
        let big = vec![9u8; 3000];
        offer(&mut p, &big);
        let mut attempts = 0;
        let mut delivered = Vec::new();
        let mut assembler = ControlledFragmentAssembler::new(|m: &[u8], _: &Header| {
            attempts += 1;
            if attempts == 1 {
                ControlledPollAction::Abort
            } else {
                delivered.push(m.len());
                ControlledPollAction::Continue
            }
        });
        image.controlled_poll(assembler.handler(), 10);
        image.controlled_poll(assembler.handler(), 10);
        assert_eq!(delivered, [3000]);
        assert_eq!(image.position(), p.position());
    }

    #[test]
    fn assembler_drops_a_message_with_a_missing_fragment() {
        use crate::logbuffer::Header;
        let header = |flags: u8, term_offset: i32, session: i32| {
            let mut b = [0u8; 32];
            b[0..4].copy_from_slice(&1408i32.to_le_bytes());
            b[5] = flags;
            b[6] = 1;
            b[8..12].copy_from_slice(&term_offset.to_le_bytes());
            b[12..16].copy_from_slice(&session.to_le_bytes());
            Header::new(b, 0, 16)
        };
        let mut got = Vec::new();
        let mut a = FragmentAssembler::new(|m: &[u8], _: &Header| got.push(m.len()));
        a.on_fragment(&[1; 1376], &header(0x80, 0, 1));
        a.on_fragment(&[2; 1376], &header(0x80, 0, 2));
        a.on_fragment(&[1; 1376], &header(0x40, 2816, 1));
        a.on_fragment(&[2; 1376], &header(0x40, 1408, 2));
        assert_eq!(
            got,
            [2752],
            "session 1 skipped a fragment, session 2 completed"
        );
    }
}
