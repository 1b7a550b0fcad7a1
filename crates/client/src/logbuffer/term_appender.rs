use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::align;
use oxeron_protocol::logbuffer::{
    compute_claim_length, pack_tail, DATA_HEADER_LENGTH, FRAME_ALIGNMENT,
};

use super::{frame, LogMetadata};

/// Where an append left the term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The frames were written; the term's tail is now at `term_offset`.
    Appended {
        /// Term the frames went into.
        term_id: i32,
        /// Offset just past the appended frames.
        term_offset: i32,
    },
    /// The frames did not fit: the rest of the term was padded and the log must rotate before a retry.
    Tripped {
        /// Term that filled up.
        term_id: i32,
    },
}

/// Computes a frame's reserved value after its payload is written: gets the term buffer, the frame's offset and
/// its frame length.
pub type ReservedValueSupplier<'a> = &'a mut dyn FnMut(&AtomicBuffer, usize, usize) -> i64;

/// The first 8 bytes of a frame header (length, version, flags, type) as one little-endian word.
#[inline]
fn header_word0(frame_length: i32, flags: u8, frame_type: u16) -> i64 {
    (frame_length as u32 as i64) | ((flags as i64) << 40) | ((frame_type as i64) << 48)
}

/// How far ahead of the frame being written an appender asks for a cache line (32 lines), so the
/// store that opens the next frames finds its line already owned.
const PREFETCH_DISTANCE: usize = 2048;

/// Asks for the cache lines `PREFETCH_DISTANCE` ahead of the `length` bytes just claimed at `offset`: as many
/// lines as the claim covers, so the appender stays that far ahead whatever the message size.
#[inline(always)]
fn prefetch_ahead(term: &AtomicBuffer, offset: usize, length: usize) {
    let first = offset + PREFETCH_DISTANCE;
    term.prefetch_for_write(first);
    let mut line = first + CACHE_LINE;
    while line < first + length {
        term.prefetch_for_write(line);
        line += CACHE_LINE;
    }
}

const CACHE_LINE: usize = 64;

/// Writes a frame header with a negative (uncommitted) length: readers stop at it until it is committed.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn write_header(
    term: &AtomicBuffer,
    offset: usize,
    frame_length: usize,
    flags: u8,
    frame_type: u16,
    term_id: i32,
    session_id: i32,
    stream_id: i32,
) {
    let length = frame_length as i32;
    term.put_i64_release(offset, header_word0(-length, flags, frame_type));
    term.put_i64(
        offset + frame::TERM_OFFSET_OFFSET,
        (offset as u32 as i64) | ((session_id as i64) << 32),
    );
    term.put_i64(
        offset + frame::STREAM_ID_OFFSET,
        (stream_id as u32 as i64) | ((term_id as i64) << 32),
    );
}

/// Copies the bytes `from..from + length` of the concatenation of `parts` into `term` at `offset`.
#[inline(always)]
fn copy_parts(
    term: &AtomicBuffer,
    mut offset: usize,
    parts: &[&[u8]],
    mut from: usize,
    mut length: usize,
) {
    for part in parts {
        if length == 0 {
            break;
        }
        if from >= part.len() {
            from -= part.len();
            continue;
        }
        let n = (part.len() - from).min(length);
        term.put_bytes(offset, &part[from..from + n]);
        offset += n;
        length -= n;
        from = 0;
    }
}

/// Writes a whole message (one frame or several fragments) into an already-claimed block at `offset`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn write_message(
    term: &AtomicBuffer,
    offset: usize,
    parts: &[&[u8]],
    length: usize,
    max_payload_length: usize,
    term_id: i32,
    session_id: i32,
    stream_id: i32,
    mut reserved: Option<ReservedValueSupplier<'_>>,
) {
    let mut frame_offset = offset;
    let mut payload_offset = 0;
    loop {
        let remaining = length - payload_offset;
        let payload_length = remaining.min(max_payload_length);
        let frame_length = payload_length + DATA_HEADER_LENGTH;
        let mut flags = 0;
        if payload_offset == 0 {
            flags |= frame::BEGIN_FLAG;
        }
        if payload_length == remaining {
            flags |= frame::END_FLAG;
        }
        write_header(
            term,
            frame_offset,
            frame_length,
            flags,
            frame::TYPE_DATA,
            term_id,
            session_id,
            stream_id,
        );
        copy_parts(
            term,
            frame_offset + DATA_HEADER_LENGTH,
            parts,
            payload_offset,
            payload_length,
        );
        if let Some(supplier) = reserved.as_mut() {
            let value = supplier(term, frame_offset, frame_length);
            term.put_i64(frame_offset + frame::RESERVED_VALUE_OFFSET, value);
        }
        term.put_i32_release(frame_offset, frame_length as i32);
        payload_offset += payload_length;
        frame_offset += align(frame_length, FRAME_ALIGNMENT);
        if payload_offset >= length {
            break;
        }
    }
}

/// Writes a whole single-frame message at `offset`: header, payload, then the length (release).
#[inline(always)]
fn write_unfragmented(
    term: &AtomicBuffer,
    offset: usize,
    payload: &[u8],
    term_id: i32,
    session_id: i32,
    stream_id: i32,
) {
    let frame_length = payload.len() + DATA_HEADER_LENGTH;
    write_header(
        term,
        offset,
        frame_length,
        frame::UNFRAGMENTED,
        frame::TYPE_DATA,
        term_id,
        session_id,
        stream_id,
    );
    term.put_bytes(offset + DATA_HEADER_LENGTH, payload);
    term.put_i32_release(offset, frame_length as i32);
}

/// Pads `term` from `offset` to its end with one PAD frame, if there is room before the end.
#[inline]
fn pad_to_end(term: &AtomicBuffer, offset: usize, term_id: i32, session_id: i32, stream_id: i32) {
    let capacity = term.capacity();
    if offset < capacity {
        let length = capacity - offset;
        write_header(
            term,
            offset,
            length,
            frame::UNFRAGMENTED,
            frame::TYPE_PAD,
            term_id,
            session_id,
            stream_id,
        );
        term.put_i32_release(offset, length as i32);
    }
}

/// What both appenders hold: one term partition, the metadata holding its tail counter, and the ids every
/// frame header carries.
#[derive(Debug, Clone)]
struct Partition {
    term: AtomicBuffer,
    metadata: AtomicBuffer,
    tail_offset: usize,
    session_id: i32,
    stream_id: i32,
}

impl Partition {
    fn new(
        term: AtomicBuffer,
        metadata: &LogMetadata,
        index: usize,
        session_id: i32,
        stream_id: i32,
    ) -> Self {
        Partition {
            term,
            metadata: metadata.buffer().clone(),
            tail_offset: LogMetadata::tail_counter_offset(index),
            session_id,
            stream_id,
        }
    }
}

/// Appends to one term partition of a log that many publishers share: space is claimed with one atomic add
/// on the partition's tail counter, so concurrent appends never overlap.
#[derive(Debug, Clone)]
pub struct TermAppender {
    p: Partition,
}

impl TermAppender {
    /// An appender for partition `index` of a log whose metadata is `metadata`.
    pub fn new(
        term: AtomicBuffer,
        metadata: &LogMetadata,
        index: usize,
        session_id: i32,
        stream_id: i32,
    ) -> Self {
        TermAppender {
            p: Partition::new(term, metadata, index, session_id, stream_id),
        }
    }

    /// The term partition.
    pub fn term(&self) -> &AtomicBuffer {
        &self.p.term
    }

    /// Claims `aligned_length` bytes; returns the term id and the offset the claim starts at (which may be
    /// past the term's end).
    #[inline]
    fn claim_block(&self, aligned_length: usize) -> (i32, i64) {
        let raw = self
            .p
            .metadata
            .get_and_add_i64(self.p.tail_offset, aligned_length as i64);
        let offset = raw & 0xFFFF_FFFF;
        prefetch_ahead(&self.p.term, offset as usize, aligned_length);
        ((raw >> 32) as i32, offset)
    }

    #[inline]
    fn fits(&self, term_id: i32, offset: i64, aligned_length: usize) -> Option<AppendOutcome> {
        let capacity = self.p.term.capacity() as i64;
        if offset + aligned_length as i64 > capacity {
            if offset < capacity {
                pad_to_end(
                    &self.p.term,
                    offset as usize,
                    term_id,
                    self.p.session_id,
                    self.p.stream_id,
                );
            }
            Some(AppendOutcome::Tripped { term_id })
        } else {
            None
        }
    }

    /// Appends a message made of the concatenation of `parts`, fragmenting it into frames of at most
    /// `max_payload_length` payload bytes. The caller has checked the message against the max message length.
    #[inline]
    pub fn append(
        &self,
        parts: &[&[u8]],
        length: usize,
        max_payload_length: usize,
        reserved: Option<ReservedValueSupplier<'_>>,
    ) -> AppendOutcome {
        let aligned = compute_claim_length(length, max_payload_length);
        let (term_id, offset) = self.claim_block(aligned);
        if let Some(tripped) = self.fits(term_id, offset, aligned) {
            return tripped;
        }
        write_message(
            &self.p.term,
            offset as usize,
            parts,
            length,
            max_payload_length,
            term_id,
            self.p.session_id,
            self.p.stream_id,
            reserved,
        );
        AppendOutcome::Appended {
            term_id,
            term_offset: (offset as usize + aligned) as i32,
        }
    }

    /// Appends a message that fits one frame (`payload.len()` at most the max payload length): the common
    /// case, without the fragmentation loop.
    #[inline]
    pub fn append_unfragmented(&self, payload: &[u8]) -> AppendOutcome {
        let frame_length = payload.len() + DATA_HEADER_LENGTH;
        let aligned = align(frame_length, FRAME_ALIGNMENT);
        let (term_id, offset) = self.claim_block(aligned);
        if let Some(tripped) = self.fits(term_id, offset, aligned) {
            return tripped;
        }
        let offset = offset as usize;
        write_unfragmented(
            &self.p.term,
            offset,
            payload,
            term_id,
            self.p.session_id,
            self.p.stream_id,
        );
        AppendOutcome::Appended {
            term_id,
            term_offset: (offset + aligned) as i32,
        }
    }

    /// Claims one unfragmented frame for `length` payload bytes and writes its header uncommitted. On success
    /// the frame starts at `term_offset - align(length + 32, 32)`; the caller writes the payload, then
    /// commits (stores the positive frame length) or aborts (turns it into padding).
    #[inline]
    pub fn claim(&self, length: usize) -> AppendOutcome {
        let frame_length = length + DATA_HEADER_LENGTH;
        let aligned = align(frame_length, FRAME_ALIGNMENT);
        let (term_id, offset) = self.claim_block(aligned);
        if let Some(tripped) = self.fits(term_id, offset, aligned) {
            return tripped;
        }
        write_header(
            &self.p.term,
            offset as usize,
            frame_length,
            frame::UNFRAGMENTED,
            frame::TYPE_DATA,
            term_id,
            self.p.session_id,
            self.p.stream_id,
        );
        AppendOutcome::Appended {
            term_id,
            term_offset: (offset as usize + aligned) as i32,
        }
    }
}

/// Appends to one term partition of a log with a single publisher: no atomic add, the tail is published
/// with a release store before the frames are written.
#[derive(Debug, Clone)]
pub struct ExclusiveTermAppender {
    p: Partition,
}

impl ExclusiveTermAppender {
    /// An appender for partition `index` of a log whose metadata is `metadata`.
    pub fn new(
        term: AtomicBuffer,
        metadata: &LogMetadata,
        index: usize,
        session_id: i32,
        stream_id: i32,
    ) -> Self {
        ExclusiveTermAppender {
            p: Partition::new(term, metadata, index, session_id, stream_id),
        }
    }

    /// The term partition.
    pub fn term(&self) -> &AtomicBuffer {
        &self.p.term
    }

    #[inline(always)]
    fn reserve(&self, term_id: i32, offset: usize, aligned_length: usize) -> Option<AppendOutcome> {
        let capacity = self.p.term.capacity();
        if offset + aligned_length > capacity {
            return Some(self.trip(term_id, offset));
        }
        self.p.metadata.put_i64_release(
            self.p.tail_offset,
            pack_tail(term_id, (offset + aligned_length) as i32),
        );
        prefetch_ahead(&self.p.term, offset, aligned_length);
        None
    }

    #[cold]
    fn trip(&self, term_id: i32, offset: usize) -> AppendOutcome {
        let capacity = self.p.term.capacity();
        self.p
            .metadata
            .put_i64_release(self.p.tail_offset, pack_tail(term_id, capacity as i32));
        pad_to_end(
            &self.p.term,
            offset,
            term_id,
            self.p.session_id,
            self.p.stream_id,
        );
        AppendOutcome::Tripped { term_id }
    }

    /// Appends a message at `term_offset` of term `term_id`; see [`TermAppender::append`].
    #[inline]
    pub fn append(
        &self,
        term_id: i32,
        term_offset: usize,
        parts: &[&[u8]],
        length: usize,
        max_payload_length: usize,
        reserved: Option<ReservedValueSupplier<'_>>,
    ) -> AppendOutcome {
        let aligned = compute_claim_length(length, max_payload_length);
        if let Some(tripped) = self.reserve(term_id, term_offset, aligned) {
            return tripped;
        }
        write_message(
            &self.p.term,
            term_offset,
            parts,
            length,
            max_payload_length,
            term_id,
            self.p.session_id,
            self.p.stream_id,
            reserved,
        );
        AppendOutcome::Appended {
            term_id,
            term_offset: (term_offset + aligned) as i32,
        }
    }

    /// Appends a message that fits one frame at `term_offset`; see [`TermAppender::append_unfragmented`].
    #[inline]
    pub fn append_unfragmented(
        &self,
        term_id: i32,
        term_offset: usize,
        payload: &[u8],
    ) -> AppendOutcome {
        let frame_length = payload.len() + DATA_HEADER_LENGTH;
        let aligned = align(frame_length, FRAME_ALIGNMENT);
        if let Some(tripped) = self.reserve(term_id, term_offset, aligned) {
            return tripped;
        }
        write_header(
            &self.p.term,
            term_offset,
            frame_length,
            frame::UNFRAGMENTED,
            frame::TYPE_DATA,
            term_id,
            self.p.session_id,
            self.p.stream_id,
        );
        self.p
            .term
            .put_bytes(term_offset + DATA_HEADER_LENGTH, payload);
        self.p
            .term
            .put_i32_release(term_offset, frame_length as i32);
        AppendOutcome::Appended {
            term_id,
            term_offset: (term_offset + aligned) as i32,
        }
    }

    /// Claims one unfragmented frame at `term_offset`; see [`TermAppender::claim`].
    #[inline]
    pub fn claim(&self, term_id: i32, term_offset: usize, length: usize) -> AppendOutcome {
        let frame_length = length + DATA_HEADER_LENGTH;
        let aligned = align(frame_length, FRAME_ALIGNMENT);
        if let Some(tripped) = self.reserve(term_id, term_offset, aligned) {
            return tripped;
        }
        write_header(
            &self.p.term,
            term_offset,
            frame_length,
            frame::UNFRAGMENTED,
            frame::TYPE_DATA,
            term_id,
            self.p.session_id,
            self.p.stream_id,
        );
        AppendOutcome::Appended {
            term_id,
            term_offset: (term_offset + aligned) as i32,
        }
    }

    /// Appends a PAD frame carrying `length` bytes of nothing (the archive replayer's gaps).
    pub fn append_padding(&self, term_id: i32, term_offset: usize, length: usize) -> AppendOutcome {
        let frame_length = length + DATA_HEADER_LENGTH;
        let aligned = align(frame_length, FRAME_ALIGNMENT);
        if let Some(tripped) = self.reserve(term_id, term_offset, aligned) {
            return tripped;
        }
        write_header(
            &self.p.term,
            term_offset,
            frame_length,
            frame::UNFRAGMENTED,
            frame::TYPE_PAD,
            term_id,
            self.p.session_id,
            self.p.stream_id,
        );
        self.p
            .term
            .put_i32_release(term_offset, frame_length as i32);
        AppendOutcome::Appended {
            term_id,
            term_offset: (term_offset + aligned) as i32,
        }
    }
}

/// Commits a frame claimed with `claim`: readers see it from now on.
#[inline]
pub fn commit_claim(term: &AtomicBuffer, frame_offset: usize, frame_length: usize) {
    term.put_i32_release(frame_offset, frame_length as i32);
}

/// Aborts a frame claimed with `claim`: it becomes padding that readers skip.
#[inline]
pub fn abort_claim(term: &AtomicBuffer, frame_offset: usize, frame_length: usize) {
    term.put_u16(frame_offset + frame::TYPE_OFFSET, frame::TYPE_PAD);
    term.put_i32_release(frame_offset, frame_length as i32);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logbuffer::{read_term, Header, LogMetadata};
    use oxeron_protocol::logbuffer::LOG_META_DATA_LENGTH;
    use proptest::prelude::*;

    const TERM: usize = 64 * 1024;
    const MTU: usize = 1408;

    fn log() -> (AtomicBuffer, LogMetadata) {
        let term = AtomicBuffer::new_zeroed(TERM);
        let meta = LogMetadata::new(AtomicBuffer::new_zeroed(LOG_META_DATA_LENGTH));
        meta.set_raw_tail(0, pack_tail(10, 0));
        (term, meta)
    }

    fn read_all(term: &AtomicBuffer, from: usize) -> Vec<(Vec<u8>, Header)> {
        let mut out = Vec::new();
        read_term(
            term,
            from,
            usize::MAX,
            10,
            16,
            &mut |payload: &[u8], h: &Header| out.push((payload.to_vec(), *h)),
        );
        out
    }

    #[test]
    fn unfragmented_append_writes_aeron_header_bytes() {
        let (term, meta) = log();
        let appender = TermAppender::new(term.clone(), &meta, 0, 0x1234, 1001);
        let out = appender.append(&[b"Hello World! 0"], 14, MTU - 32, None);
        assert_eq!(
            out,
            AppendOutcome::Appended {
                term_id: 10,
                term_offset: 64
            }
        );
        let expected: [u8; 32] = [
            46, 0, 0, 0, // frame length 32 + 14
            0, 0xC0, 1, 0, // version, flags B|E, type DATA
            0, 0, 0, 0, // term offset
            0x34, 0x12, 0, 0, // session id
            0xE9, 0x03, 0, 0, // stream id 1001
            10, 0, 0, 0, // term id
            0, 0, 0, 0, 0, 0, 0, 0, // reserved value
        ];
        assert_eq!(term.to_vec(0, 32), expected);
        assert_eq!(term.to_vec(32, 14), b"Hello World! 0");
        assert_eq!(meta.raw_tail(0), pack_tail(10, 64));
    }

    #[test]
    fn fragmented_append_splits_at_mtu_and_reads_back() {
        let (term, meta) = log();
        let appender = TermAppender::new(term.clone(), &meta, 0, 7, 8);
        let message: Vec<u8> = (0..4000u32).map(|i| i as u8).collect();
        let (a, b) = message.split_at(1000);
        appender.append(&[a, b], message.len(), MTU - 32, None);
        let frames = read_all(&term, 0);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].1.flags(), 0x80);
        assert_eq!(frames[1].1.flags(), 0x00);
        assert_eq!(frames[2].1.flags(), 0x40);
        assert_eq!(frames[1].1.term_offset(), MTU as i32);
        let joined: Vec<u8> = frames.iter().flat_map(|(p, _)| p.clone()).collect();
        assert_eq!(joined, message);
    }

    #[test]
    fn append_past_term_end_pads_and_trips() {
        let (term, meta) = log();
        meta.set_raw_tail(0, pack_tail(10, (TERM - 64) as i32));
        let appender = TermAppender::new(term.clone(), &meta, 0, 7, 8);
        let out = appender.append(&[&[0u8; 100]], 100, MTU - 32, None);
        assert_eq!(out, AppendOutcome::Tripped { term_id: 10 });
        assert_eq!(
            term.get_i32(TERM - 64),
            64,
            "pad frame covers the rest of the term"
        );
        assert_eq!(term.get_u16(TERM - 64 + 6), 0, "type PAD");
        assert!(
            read_all(&term, TERM - 64).is_empty(),
            "padding is not delivered"
        );
    }

    #[test]
    fn claim_commit_and_abort() {
        let (term, meta) = log();
        let appender = TermAppender::new(term.clone(), &meta, 0, 7, 8);
        appender.claim(8);
        assert!(
            read_all(&term, 0).is_empty(),
            "an uncommitted claim blocks readers"
        );
        term.put_bytes(32, b"claimed!");
        commit_claim(&term, 0, 40);
        appender.claim(8);
        abort_claim(&term, 64, 40);
        appender.append(&[b"after"], 5, MTU - 32, None);
        let frames = read_all(&term, 0);
        let payloads: Vec<&[u8]> = frames.iter().map(|(p, _)| p.as_slice()).collect();
        assert_eq!(payloads, [b"claimed!".as_slice(), b"after"]);
    }

    #[test]
    fn exclusive_append_publishes_tail_and_reserved_value() {
        let (term, meta) = log();
        let appender = ExclusiveTermAppender::new(term.clone(), &meta, 0, 7, 8);
        let mut supplier =
            |_: &AtomicBuffer, offset: usize, length: usize| (offset + length) as i64;
        let out = appender.append(10, 0, &[b"abc"], 3, MTU - 32, Some(&mut supplier));
        assert_eq!(
            out,
            AppendOutcome::Appended {
                term_id: 10,
                term_offset: 64
            }
        );
        assert_eq!(meta.raw_tail(0), pack_tail(10, 64));
        let frames = read_all(&term, 0);
        assert_eq!(frames[0].1.reserved_value(), 35);
        assert_eq!(frames[0].1.position(), 64);
        let out = appender.append_padding(10, 64, 100);
        assert_eq!(
            out,
            AppendOutcome::Appended {
                term_id: 10,
                term_offset: 64 + 160
            }
        );
        assert_eq!(read_all(&term, 0).len(), 1);
    }

    #[test]
    fn reader_stops_at_corrupt_frame_lengths() {
        let term = AtomicBuffer::new_zeroed(TERM);
        term.put_i32(0, 8);
        assert!(read_all(&term, 0).is_empty());
        term.put_i32(0, (TERM + 32) as i32);
        assert!(read_all(&term, 0).is_empty());
    }

    proptest! {
        #[test]
        fn any_message_sequence_reads_back_in_order(
            lengths in proptest::collection::vec(0usize..5000, 1..40),
            mtu_k in 1usize..8,
        ) {
            let mtu = 64 + mtu_k * 256;
            let (term, meta) = log();
            let appender = TermAppender::new(term.clone(), &meta, 0, 1, 2);
            let mut sent = Vec::new();
            for (i, len) in lengths.iter().enumerate() {
                let msg: Vec<u8> = (0..*len).map(|j| (i * 31 + j) as u8).collect();
                match appender.append(&[&msg], msg.len(), mtu - 32, None) {
                    AppendOutcome::Appended { .. } => sent.push(msg),
                    AppendOutcome::Tripped { .. } => break,
                }
            }
            let mut received: Vec<Vec<u8>> = Vec::new();
            let mut partial = Vec::new();
            for (payload, header) in read_all(&term, 0) {
                prop_assert!(header.frame_length() as usize <= mtu);
                prop_assert_eq!(header.term_offset() % 32, 0);
                if header.flags() & 0x80 != 0 {
                    partial.clear();
                }
                partial.extend_from_slice(&payload);
                if header.flags() & 0x40 != 0 {
                    received.push(std::mem::take(&mut partial));
                }
            }
            prop_assert_eq!(received, sent);
        }
    }
}
