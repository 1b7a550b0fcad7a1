//! Publications: appending messages to a log buffer that subscribers (IPC) or the driver's sender (UDP) read.

use crate::ClosedFlag;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::align;
use oxeron_protocol::logbuffer::{
    compute_max_message_length, compute_max_payload_length, compute_max_possible_position,
    compute_term_begin_position, index_by_term_count, pack_tail, position_bits_to_shift,
    term_id as raw_tail_term_id, DATA_HEADER_LENGTH, FRAME_ALIGNMENT, PARTITION_COUNT,
};

use crate::aeron::Release;
use crate::logbuffer::{
    abort_claim, commit_claim, frame, AppendOutcome, ExclusiveTermAppender, LogBuffers,
    LogMetadata, ReservedValueSupplier, TermAppender,
};
use crate::publication_error::OfferError;

/// What the conductor learned about a publication when the driver made it ready.
#[derive(Debug, Clone)]
pub struct PublicationInfo {
    /// Channel URI the publication was added with.
    pub channel: String,
    /// Stream id.
    pub stream_id: i32,
    /// Session id the driver chose.
    pub session_id: i32,
    /// Correlation id of this client's add command.
    pub registration_id: i64,
    /// Registration id of the driver's publication (shared by every client of a concurrent publication).
    pub original_registration_id: i64,
    /// Counter id of the send channel status (-1 for IPC); see [`Aeron::local_socket_addresses`].
    ///
    /// [`Aeron::local_socket_addresses`]: crate::Aeron::local_socket_addresses
    pub channel_status_id: i32,
}

/// State shared by both publication kinds.
#[derive(Debug)]
struct PublicationCore {
    info: PublicationInfo,
    log: Arc<LogBuffers>,
    position_limit: AtomicBuffer,
    closed: ClosedFlag,
    initial_term_id: i32,
    term_length: i32,
    position_bits_to_shift: u32,
    max_payload_length: usize,
    max_message_length: usize,
    max_possible_position: i64,
}

impl PublicationCore {
    fn new(
        info: PublicationInfo,
        log: Arc<LogBuffers>,
        position_limit: AtomicBuffer,
        closed: ClosedFlag,
    ) -> Self {
        let meta = log.metadata();
        let term_length = log.term_length();
        PublicationCore {
            info,
            initial_term_id: meta.initial_term_id(),
            term_length,
            position_bits_to_shift: position_bits_to_shift(term_length),
            max_payload_length: compute_max_payload_length(meta.mtu_length()),
            max_message_length: compute_max_message_length(term_length),
            max_possible_position: compute_max_possible_position(term_length),
            log,
            position_limit,
            closed,
        }
    }

    #[inline]
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    #[inline]
    fn position_limit(&self) -> i64 {
        self.position_limit.get_i64_acquire(0)
    }

    #[inline]
    fn metadata(&self) -> &LogMetadata {
        self.log.metadata()
    }

    #[inline]
    fn check_length(&self, length: usize) -> Result<(), OfferError> {
        if length > self.max_message_length {
            Err(OfferError::MessageTooLong {
                length,
                max: self.max_message_length,
            })
        } else {
            Ok(())
        }
    }

    #[inline]
    fn check_claim_length(&self, length: usize) -> Result<(), OfferError> {
        if length > self.max_payload_length {
            Err(OfferError::MessageTooLong {
                length,
                max: self.max_payload_length,
            })
        } else {
            Ok(())
        }
    }

    #[cold]
    fn back_pressure_status(&self, position: i64, length: usize) -> OfferError {
        let framed = align(length + DATA_HEADER_LENGTH, FRAME_ALIGNMENT) as i64;
        if position + framed >= self.max_possible_position {
            OfferError::MaxPositionExceeded
        } else if self.metadata().is_connected() {
            OfferError::BackPressured
        } else {
            OfferError::NotConnected
        }
    }

    fn term_begin_position(&self, term_id: i32) -> i64 {
        compute_term_begin_position(term_id, self.position_bits_to_shift, self.initial_term_id)
    }
}

/// A handle to a frame claimed with `try_claim`: write the payload in place, then [`BufferClaim::commit`].
/// Dropping it without committing aborts it (the frame becomes padding that subscribers skip).
#[derive(Debug)]
pub struct BufferClaim<'a> {
    term: &'a AtomicBuffer,
    frame_offset: usize,
    frame_length: usize,
    done: bool,
}

impl BufferClaim<'_> {
    /// Payload length claimed.
    pub fn length(&self) -> usize {
        self.frame_length - DATA_HEADER_LENGTH
    }

    /// Copies `src` into the claimed payload at `offset`.
    ///
    /// # Panics
    /// If `offset + src.len()` exceeds [`BufferClaim::length`].
    pub fn put_bytes(&mut self, offset: usize, src: &[u8]) {
        assert!(
            offset + src.len() <= self.length(),
            "write of {} bytes at {offset} exceeds the claimed {} bytes",
            src.len(),
            self.length()
        );
        self.term
            .put_bytes(self.frame_offset + DATA_HEADER_LENGTH + offset, src);
    }

    /// Sets the frame's reserved value.
    pub fn set_reserved_value(&mut self, value: i64) {
        self.term
            .put_i64(self.frame_offset + frame::RESERVED_VALUE_OFFSET, value);
    }

    /// Publishes the frame to subscribers.
    pub fn commit(mut self) {
        self.done = true;
        commit_claim(self.term, self.frame_offset, self.frame_length);
    }

    /// Turns the frame into padding; subscribers skip it.
    pub fn abort(mut self) {
        self.done = true;
        abort_claim(self.term, self.frame_offset, self.frame_length);
    }
}

impl Drop for BufferClaim<'_> {
    fn drop(&mut self) {
        if !self.done {
            abort_claim(self.term, self.frame_offset, self.frame_length);
        }
    }
}

macro_rules! common_accessors {
    () => {
        /// Channel URI the publication was added with.
        pub fn channel(&self) -> &str {
            &self.core.info.channel
        }

        /// Stream id.
        pub fn stream_id(&self) -> i32 {
            self.core.info.stream_id
        }

        /// Session id.
        pub fn session_id(&self) -> i32 {
            self.core.info.session_id
        }

        /// Registration id of this client's add command.
        pub fn registration_id(&self) -> i64 {
            self.core.info.registration_id
        }

        /// Registration id of the driver's publication.
        pub fn original_registration_id(&self) -> i64 {
            self.core.info.original_registration_id
        }

        /// Counter id of the send channel status (-1 for IPC): pass it to
        /// [`Aeron::local_socket_addresses`](crate::Aeron::local_socket_addresses).
        pub fn channel_status_id(&self) -> i32 {
            self.core.info.channel_status_id
        }

        /// Initial term id of the stream.
        pub fn initial_term_id(&self) -> i32 {
            self.core.initial_term_id
        }

        /// Term length of the log.
        pub fn term_buffer_length(&self) -> i32 {
            self.core.term_length
        }

        /// Largest payload that fits one frame (`mtu - 32`): the limit for `try_claim`.
        pub fn max_payload_length(&self) -> usize {
            self.core.max_payload_length
        }

        /// Largest message `offer` accepts (`min(term_length / 8, 16 MiB)`).
        pub fn max_message_length(&self) -> usize {
            self.core.max_message_length
        }

        /// Largest position the stream can reach.
        pub fn max_possible_position(&self) -> i64 {
            self.core.max_possible_position
        }

        /// Position up to which the publication may append before back pressure.
        pub fn position_limit(&self) -> i64 {
            if self.core.is_closed() {
                -4
            } else {
                self.core.position_limit()
            }
        }

        /// Bytes the publication may append before back pressure (Java's `availableWindow`).
        pub fn available_window(&self) -> i64 {
            self.position_limit() - self.position()
        }

        /// True while a subscriber or receiver is connected and the publication is open.
        pub fn is_connected(&self) -> bool {
            !self.core.is_closed() && self.core.metadata().is_connected()
        }

        /// True once closed (by the application, the driver, or a lost driver).
        pub fn is_closed(&self) -> bool {
            self.core.is_closed()
        }
    };
}

macro_rules! offer_methods {
    ($($m:ident)?) => {
        /// Offers one message; returns the stream position after it.
        #[inline]
        pub fn offer(&$($m)? self, message: &[u8]) -> Result<i64, OfferError> {
            if message.len() <= self.core.max_payload_length {
                self.offer_unfragmented(message)
            } else {
                self.offer_parts(&[message], message.len(), None)
            }
        }

        /// Offers the concatenation of `parts` as one message (Aeron's `offerv`).
        #[inline]
        pub fn offer_vectored(&$($m)? self, parts: &[&[u8]]) -> Result<i64, OfferError> {
            let length = parts.iter().map(|p| p.len()).sum();
            self.offer_parts(parts, length, None)
        }

        /// Offers one message, setting each frame's reserved value from `supplier`.
        #[inline]
        pub fn offer_with_reserved_value(
            &$($m)? self,
            message: &[u8],
            supplier: ReservedValueSupplier<'_>,
        ) -> Result<i64, OfferError> {
            self.offer_parts(&[message], message.len(), Some(supplier))
        }
    };
}

/// A publication that many threads (and clients) may offer to at once: Aeron's `ConcurrentPublication`.
/// `Send + Sync`; share it with an `Arc`.
///
/// ```no_run
/// use oxeron_client::{Aeron, Context, OfferError};
///
/// let aeron = Aeron::connect(Context::new())?;
/// let publication = aeron.add_publication("aeron:udp?endpoint=localhost:40123", 1001)?;
/// match publication.offer(b"hello") {
///     Ok(position) => println!("sent, the stream is now at {position}"),
///     // Nobody subscribed yet, or subscribers are behind: try again later.
///     Err(OfferError::NotConnected | OfferError::BackPressured | OfferError::AdminAction) => {}
///     Err(e) => return Err(e.into()),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Publication {
    core: PublicationCore,
    appenders: [TermAppender; PARTITION_COUNT],
    _release: Option<Release>,
}

impl Publication {
    /// Wraps a mapped log whose publisher limit is `position_limit` (an 8-byte counter view).
    pub fn new(
        info: PublicationInfo,
        log: Arc<LogBuffers>,
        position_limit: AtomicBuffer,
        closed: ClosedFlag,
    ) -> Self {
        let (session_id, stream_id) = (info.session_id, info.stream_id);
        let appenders = std::array::from_fn(|i| {
            TermAppender::new(
                log.term(i).clone(),
                log.metadata(),
                i,
                session_id,
                stream_id,
            )
        });
        Publication {
            core: PublicationCore::new(info, log, position_limit, closed),
            appenders,
            _release: None,
        }
    }

    pub(crate) fn with_release(mut self, release: Release) -> Self {
        self._release = Some(release);
        self
    }

    /// Releases the publication at the driver (dropping it does the same).
    pub fn close(self) {}

    common_accessors!();
    offer_methods!();

    /// Current position of the stream: where the next message would go.
    pub fn position(&self) -> i64 {
        if self.core.is_closed() {
            return -4;
        }
        let raw_tail = self.core.metadata().active_raw_tail();
        let term_offset = (raw_tail & 0xFFFF_FFFF).min(self.core.term_length as i64);
        self.core.term_begin_position(raw_tail_term_id(raw_tail)) + term_offset
    }

    #[inline]
    fn offer_parts(
        &self,
        parts: &[&[u8]],
        length: usize,
        reserved: Option<ReservedValueSupplier<'_>>,
    ) -> Result<i64, OfferError> {
        if self.core.is_closed() {
            return Err(OfferError::Closed);
        }
        self.core.check_length(length)?;
        let limit = self.core.position_limit();
        let (term_count, index, term_id, term_offset) = self.active_term()?;
        let term_begin = self.core.term_begin_position(term_id);
        let position = term_begin + term_offset;
        if position >= limit {
            return Err(self.core.back_pressure_status(position, length));
        }
        let outcome =
            self.appenders[index].append(parts, length, self.core.max_payload_length, reserved);
        self.new_position(term_count, term_begin, outcome)
    }

    #[inline]
    fn offer_unfragmented(&self, message: &[u8]) -> Result<i64, OfferError> {
        if self.core.is_closed() {
            return Err(OfferError::Closed);
        }
        let limit = self.core.position_limit();
        let (term_count, index, term_id, term_offset) = self.active_term()?;
        let term_begin = self.core.term_begin_position(term_id);
        let position = term_begin + term_offset;
        if position >= limit {
            return Err(self.core.back_pressure_status(position, message.len()));
        }
        let outcome = self.appenders[index].append_unfragmented(message);
        self.new_position(term_count, term_begin, outcome)
    }

    /// Reads the active term and checks no rotation is under way.
    #[inline]
    fn active_term(&self) -> Result<(i32, usize, i32, i64), OfferError> {
        let meta = self.core.metadata();
        let term_count = meta.active_term_count();
        let index = index_by_term_count(term_count);
        let raw_tail = meta.raw_tail(index);
        let term_id = raw_tail_term_id(raw_tail);
        if term_count != term_id.wrapping_sub(self.core.initial_term_id) {
            return Err(OfferError::AdminAction);
        }
        Ok((term_count, index, term_id, raw_tail & 0xFFFF_FFFF))
    }

    #[inline]
    fn new_position(
        &self,
        term_count: i32,
        term_begin: i64,
        outcome: AppendOutcome,
    ) -> Result<i64, OfferError> {
        match outcome {
            AppendOutcome::Appended { term_offset, .. } => Ok(term_begin + term_offset as i64),
            AppendOutcome::Tripped { term_id } => {
                if term_begin + self.core.term_length as i64 >= self.core.max_possible_position {
                    return Err(OfferError::MaxPositionExceeded);
                }
                self.core.metadata().rotate_log(term_count, term_id);
                Err(OfferError::AdminAction)
            }
        }
    }

    /// Claims room for a `length`-byte message (at most [`Publication::max_payload_length`]) to be written in
    /// place, avoiding a copy.
    pub fn try_claim(&self, length: usize) -> Result<(i64, BufferClaim<'_>), OfferError> {
        if self.core.is_closed() {
            return Err(OfferError::Closed);
        }
        self.core.check_claim_length(length)?;
        let limit = self.core.position_limit();
        let (term_count, index, term_id, term_offset) = self.active_term()?;
        let term_begin = self.core.term_begin_position(term_id);
        let position = term_begin + term_offset;
        if position >= limit {
            return Err(self.core.back_pressure_status(position, length));
        }
        let outcome = self.appenders[index].claim(length);
        let new_position = self.new_position(term_count, term_begin, outcome)?;
        let AppendOutcome::Appended { term_offset, .. } = outcome else {
            unreachable!("new_position fails for a tripped claim");
        };
        let frame_length = length + DATA_HEADER_LENGTH;
        let frame_offset = term_offset as usize - align(frame_length, FRAME_ALIGNMENT);
        Ok((
            new_position,
            BufferClaim {
                term: self.appenders[index].term(),
                frame_offset,
                frame_length,
                done: false,
            },
        ))
    }
}

/// A publication with a single publisher: faster (no atomic add) and able to append pre-formatted blocks.
/// Aeron's `ExclusivePublication`; `Send`, and `&mut self` to offer.
#[derive(Debug)]
pub struct ExclusivePublication {
    core: PublicationCore,
    appenders: [ExclusiveTermAppender; PARTITION_COUNT],
    term_id: i32,
    term_offset: usize,
    term_count: i32,
    index: usize,
    term_begin_position: i64,
    _release: Option<Release>,
}

impl ExclusivePublication {
    /// Wraps a mapped log whose publisher limit is `position_limit` (an 8-byte counter view), resuming from
    /// the active term's tail.
    pub fn new(
        info: PublicationInfo,
        log: Arc<LogBuffers>,
        position_limit: AtomicBuffer,
        closed: ClosedFlag,
    ) -> Self {
        let (session_id, stream_id) = (info.session_id, info.stream_id);
        let appenders = std::array::from_fn(|i| {
            ExclusiveTermAppender::new(
                log.term(i).clone(),
                log.metadata(),
                i,
                session_id,
                stream_id,
            )
        });
        let core = PublicationCore::new(info, log, position_limit, closed);
        let meta = core.metadata();
        let term_count = meta.active_term_count();
        let index = index_by_term_count(term_count);
        let raw_tail = meta.raw_tail(index);
        let term_id = raw_tail_term_id(raw_tail);
        let term_offset = (raw_tail & 0xFFFF_FFFF).min(core.term_length as i64) as usize;
        let term_begin_position = core.term_begin_position(term_id);
        ExclusivePublication {
            core,
            appenders,
            term_id,
            term_offset,
            term_count,
            index,
            term_begin_position,
            _release: None,
        }
    }

    pub(crate) fn with_release(mut self, release: Release) -> Self {
        self._release = Some(release);
        self
    }

    /// Releases the publication at the driver (dropping it does the same).
    pub fn close(self) {}

    common_accessors!();
    offer_methods!(mut);

    /// Current position of the stream: where the next message would go.
    pub fn position(&self) -> i64 {
        if self.core.is_closed() {
            -4
        } else {
            self.term_begin_position + self.term_offset as i64
        }
    }

    /// Term id being appended to.
    pub fn term_id(&self) -> i32 {
        self.term_id
    }

    /// Offset in the active term where the next frame goes.
    pub fn term_offset(&self) -> usize {
        self.term_offset
    }

    #[inline]
    fn check_open_and_limit(&self, length: usize) -> Result<(), OfferError> {
        if self.core.is_closed() {
            return Err(OfferError::Closed);
        }
        let position = self.term_begin_position + self.term_offset as i64;
        if position >= self.core.position_limit() {
            return Err(self.core.back_pressure_status(position, length));
        }
        Ok(())
    }

    #[inline]
    fn offer_unfragmented(&mut self, message: &[u8]) -> Result<i64, OfferError> {
        self.check_open_and_limit(message.len())?;
        let outcome =
            self.appenders[self.index].append_unfragmented(self.term_id, self.term_offset, message);
        self.new_position(outcome)
    }

    #[inline]
    fn offer_parts(
        &mut self,
        parts: &[&[u8]],
        length: usize,
        reserved: Option<ReservedValueSupplier<'_>>,
    ) -> Result<i64, OfferError> {
        self.core.check_length(length)?;
        self.check_open_and_limit(length)?;
        let outcome = self.appenders[self.index].append(
            self.term_id,
            self.term_offset,
            parts,
            length,
            self.core.max_payload_length,
            reserved,
        );
        self.new_position(outcome)
    }

    #[inline]
    fn new_position(&mut self, outcome: AppendOutcome) -> Result<i64, OfferError> {
        match outcome {
            AppendOutcome::Appended { term_offset, .. } => {
                self.term_offset = term_offset as usize;
                Ok(self.term_begin_position + term_offset as i64)
            }
            AppendOutcome::Tripped { .. } => {
                let next_begin = self.term_begin_position + self.core.term_length as i64;
                if next_begin >= self.core.max_possible_position {
                    return Err(OfferError::MaxPositionExceeded);
                }
                self.rotate(next_begin);
                Err(OfferError::AdminAction)
            }
        }
    }

    fn rotate(&mut self, next_begin: i64) {
        let next_term_id = self.term_id.wrapping_add(1);
        let next_count = self.term_count.wrapping_add(1);
        let next_index = index_by_term_count(next_count);
        let meta = self.core.metadata();
        meta.set_raw_tail(next_index, pack_tail(next_term_id, 0));
        meta.set_active_term_count(next_count);
        self.term_id = next_term_id;
        self.term_count = next_count;
        self.index = next_index;
        self.term_offset = 0;
        self.term_begin_position = next_begin;
    }

    /// Claims room for a `length`-byte message to be written in place; see [`Publication::try_claim`].
    pub fn try_claim(&mut self, length: usize) -> Result<(i64, BufferClaim<'_>), OfferError> {
        self.core.check_claim_length(length)?;
        self.check_open_and_limit(length)?;
        let frame_offset = self.term_offset;
        let outcome = self.appenders[self.index].claim(self.term_id, frame_offset, length);
        let position = self.new_position(outcome)?;
        Ok((
            position,
            BufferClaim {
                term: self.appenders[self.index].term(),
                frame_offset,
                frame_length: length + DATA_HEADER_LENGTH,
                done: false,
            },
        ))
    }

    /// Appends a PAD frame with room for `length` bytes (subscribers skip it; positions advance).
    pub fn append_padding(&mut self, length: usize) -> Result<i64, OfferError> {
        self.core.check_length(length)?;
        self.check_open_and_limit(length)?;
        let outcome =
            self.appenders[self.index].append_padding(self.term_id, self.term_offset, length);
        self.new_position(outcome)
    }

    /// Appends a block of complete, pre-formatted frames (the archive replayer's path). The block must fit in
    /// the rest of the active term, and its first frame must be a DATA frame at the publication's current term
    /// offset, session, stream and term id.
    pub fn offer_block(&mut self, block: &[u8]) -> Result<i64, OfferError> {
        if self.term_offset >= self.core.term_length as usize {
            // The last offer filled the term exactly: move to the next one first.
            let next_begin = self.term_begin_position + self.core.term_length as i64;
            if next_begin >= self.core.max_possible_position {
                return Err(OfferError::MaxPositionExceeded);
            }
            self.check_open_and_limit(0)?;
            self.rotate(next_begin);
            return Err(OfferError::AdminAction);
        }
        let length = block.len();
        if length < DATA_HEADER_LENGTH || length % FRAME_ALIGNMENT != 0 {
            return Err(OfferError::InvalidBlock(
                "length is not a whole number of aligned frames",
            ));
        }
        if self.term_offset + length > self.core.term_length as usize {
            return Err(OfferError::InvalidBlock(
                "block does not fit in the rest of the term",
            ));
        }
        let field =
            |offset: usize| i32::from_le_bytes(block[offset..offset + 4].try_into().unwrap());
        if field(frame::TERM_OFFSET_OFFSET) != self.term_offset as i32 {
            return Err(OfferError::InvalidBlock(
                "first frame's term offset is not the publication's",
            ));
        }
        if field(frame::SESSION_ID_OFFSET) != self.core.info.session_id {
            return Err(OfferError::InvalidBlock(
                "first frame's session id is not the publication's",
            ));
        }
        if field(frame::STREAM_ID_OFFSET) != self.core.info.stream_id {
            return Err(OfferError::InvalidBlock(
                "first frame's stream id is not the publication's",
            ));
        }
        if field(frame::TERM_ID_OFFSET) != self.term_id {
            return Err(OfferError::InvalidBlock(
                "first frame's term id is not the publication's",
            ));
        }
        if u16::from_le_bytes([block[frame::TYPE_OFFSET], block[frame::TYPE_OFFSET + 1]])
            != frame::TYPE_DATA
        {
            return Err(OfferError::InvalidBlock("first frame is not a DATA frame"));
        }
        self.check_open_and_limit(length)?;
        let term = self.appenders[self.index].term();
        let offset = self.term_offset;
        let new_offset = offset + length;
        self.core
            .metadata()
            .set_raw_tail(self.index, pack_tail(self.term_id, new_offset as i32));
        term.put_bytes(offset + DATA_HEADER_LENGTH, &block[DATA_HEADER_LENGTH..]);
        for word in [24usize, 16, 8] {
            let value = i64::from_le_bytes(block[word..word + 8].try_into().unwrap());
            term.put_i64(offset + word, value);
        }
        let first = i64::from_le_bytes(block[..8].try_into().unwrap());
        term.put_i64_release(offset, first);
        self.term_offset = new_offset;
        Ok(self.term_begin_position + new_offset as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logbuffer::{read_term, Header};
    use oxeron_protocol::logbuffer::{InitialTails, LogBufferMetadata};

    const TERM: i32 = 64 * 1024;

    struct Fixture {
        _dir: tempfile::TempDir,
        log: Arc<LogBuffers>,
        limit: AtomicBuffer,
        closed: ClosedFlag,
    }

    fn fixture(initial_term_id: i32) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut meta = LogBufferMetadata {
            initial_term_id,
            mtu_length: 1408,
            term_length: TERM,
            page_size: 4096,
            end_of_stream_position: i64::MAX,
            is_connected: true,
            ..LogBufferMetadata::default()
        };
        meta.apply_initial_tails(&InitialTails::new(initial_term_id));
        meta.fill_default_header(7, 1001, initial_term_id);
        let log = LogBuffers::create_with_metadata(dir.path().join("1.logbuffer"), &meta).unwrap();
        let limit = AtomicBuffer::new_zeroed(8);
        limit.put_i64_release(0, i64::MAX);
        Fixture {
            _dir: dir,
            log: Arc::new(log),
            limit,
            closed: ClosedFlag::default(),
        }
    }

    fn info() -> PublicationInfo {
        PublicationInfo {
            channel: "aeron:ipc".into(),
            stream_id: 1001,
            session_id: 7,
            registration_id: 1,
            original_registration_id: 1,
            channel_status_id: -1,
        }
    }

    fn concurrent(f: &Fixture) -> Publication {
        Publication::new(info(), f.log.clone(), f.limit.clone(), f.closed.clone())
    }

    fn exclusive(f: &Fixture) -> ExclusivePublication {
        ExclusivePublication::new(info(), f.log.clone(), f.limit.clone(), f.closed.clone())
    }

    /// Reads every message of the log from position 0 up to `end`, following terms (the log must not have
    /// wrapped: nothing cleans terms here).
    fn read_log(f: &Fixture, end: i64) -> Vec<(Vec<u8>, i64)> {
        let initial = f.log.metadata().initial_term_id();
        let mut out = Vec::new();
        let mut position = 0i64;
        while position < end {
            let index = ((position / TERM as i64) % 3) as usize;
            let offset = (position % TERM as i64) as usize;
            let r = read_term(
                f.log.term(index),
                offset,
                usize::MAX,
                initial,
                16,
                &mut |p: &[u8], h: &Header| out.push((p.to_vec(), h.position())),
            );
            assert!(r.offset > offset, "no progress at {position}");
            position += (r.offset - offset) as i64;
        }
        out
    }

    fn offer_retrying(mut offer: impl FnMut() -> Result<i64, OfferError>) -> i64 {
        for _ in 0..3 {
            match offer() {
                Ok(p) => return p,
                Err(OfferError::AdminAction) => continue,
                Err(e) => panic!("offer failed: {e}"),
            }
        }
        panic!("offer kept needing admin action");
    }

    #[test]
    fn concurrent_offers_rotate_terms_and_keep_positions() {
        let f = fixture(-5);
        let p = concurrent(&f);
        let mut last = 0;
        for i in 0..1200u32 {
            let msg = i.to_le_bytes().repeat(25);
            last = offer_retrying(|| p.offer(&msg));
        }
        assert_eq!(p.position(), last);
        let read = read_log(&f, last);
        assert_eq!(read.len(), 1200);
        for (i, (payload, position)) in read.iter().enumerate() {
            assert_eq!(payload, &(i as u32).to_le_bytes().repeat(25));
            assert!(*position <= last);
        }
        assert_eq!(read.last().unwrap().1, last);
    }

    #[test]
    fn exclusive_offers_rotate_terms_and_keep_positions() {
        let f = fixture(i32::MAX - 1);
        let mut p = exclusive(&f);
        let mut last = 0;
        for i in 0..1200u32 {
            let msg = i.to_le_bytes().repeat(25);
            last = offer_retrying(|| p.offer(&msg));
        }
        let read = read_log(&f, last);
        assert_eq!(read.len(), 1200);
        assert_eq!(read[1199].0, 1199u32.to_le_bytes().repeat(25));
        assert_eq!(
            p.term_id(),
            (i32::MAX - 1).wrapping_add((last / TERM as i64) as i32)
        );
    }

    #[test]
    fn limit_gives_back_pressure_or_not_connected() {
        let f = fixture(0);
        let p = concurrent(&f);
        f.limit.put_i64_release(0, 64);
        assert_eq!(p.offer(b"first"), Ok(64));
        assert_eq!(p.offer(b"second"), Err(OfferError::BackPressured));
        f.log.metadata().set_is_connected(false);
        assert_eq!(p.offer(b"second"), Err(OfferError::NotConnected));
        assert!(!p.is_connected());
        f.closed.store(true, Ordering::Release);
        assert_eq!(p.offer(b"second"), Err(OfferError::Closed));
        assert_eq!(p.position(), -4);
    }

    #[test]
    fn too_long_messages_are_refused() {
        let f = fixture(0);
        let p = concurrent(&f);
        let big = vec![0u8; p.max_message_length() + 1];
        assert!(matches!(
            p.offer(&big),
            Err(OfferError::MessageTooLong { .. })
        ));
        assert!(matches!(
            p.try_claim(p.max_payload_length() + 1),
            Err(OfferError::MessageTooLong { .. })
        ));
        assert_eq!(p.max_payload_length(), 1376);
        assert_eq!(p.max_message_length(), 8192);
    }

    #[test]
    fn vectored_and_claimed_messages_read_back() {
        let f = fixture(3);
        let mut p = exclusive(&f);
        p.offer_vectored(&[b"Hello ", b"World"]).unwrap();
        let (_, mut claim) = p.try_claim(5).unwrap();
        claim.put_bytes(0, b"claim");
        claim.commit();
        {
            let (_, mut aborted) = p.try_claim(3).unwrap();
            aborted.put_bytes(0, b"xyz");
        }
        let end = p.append_padding(100).unwrap();
        let last = p.offer(b"end").unwrap();
        assert!(last > end);
        let payloads: Vec<Vec<u8>> = read_log(&f, last).into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            payloads,
            [b"Hello World".to_vec(), b"claim".to_vec(), b"end".to_vec()]
        );
    }

    #[test]
    fn offer_block_appends_preformatted_frames() {
        let source = fixture(3);
        let mut src = exclusive(&source);
        src.offer(b"one").unwrap();
        let end = src.offer(b"two, longer than one").unwrap();
        let block = source.log.term(0).to_vec(0, end as usize);

        let target = fixture(3);
        let mut dst = exclusive(&target);
        assert_eq!(dst.offer_block(&block), Ok(end));
        let payloads: Vec<Vec<u8>> = read_log(&target, end).into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            payloads,
            [b"one".to_vec(), b"two, longer than one".to_vec()]
        );
        assert!(matches!(
            dst.offer_block(&block),
            Err(OfferError::InvalidBlock(_))
        ));
        assert!(matches!(
            dst.offer_block(&block[..40]),
            Err(OfferError::InvalidBlock(_))
        ));
    }

    #[test]
    fn concurrent_publication_is_shared_across_threads() {
        let f = fixture(0);
        let p = Arc::new(concurrent(&f));
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let p = Arc::clone(&p);
                std::thread::spawn(move || {
                    for i in 0..500u16 {
                        let mut msg = vec![t; 40];
                        msg[..2].copy_from_slice(&i.to_le_bytes());
                        offer_retrying(|| p.offer(&msg));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let read = read_log(&f, p.position());
        assert_eq!(read.len(), 2000);
        for t in 0..4u8 {
            let seq: Vec<u16> = read
                .iter()
                .filter(|(m, _)| m[2] == t)
                .map(|(m, _)| u16::from_le_bytes([m[0], m[1]]))
                .collect();
            assert_eq!(
                seq,
                (0..500).collect::<Vec<_>>(),
                "publisher {t} kept its order"
            );
        }
    }
}
