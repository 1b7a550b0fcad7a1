//! Aeron's broadcast buffer (C `aeron_broadcast_*`, Agrona's `BroadcastTransmitter` / `BroadcastReceiver` /
//! `CopyBroadcastReceiver`): the to-clients channel of `cnc.dat`. One transmitter (the driver) never waits
//! for anyone; any number of receivers follow it and are lapped (lose messages) if they fall more than a
//! buffer behind.
//!
//! Layout, byte for byte as Aeron 1.54: `capacity` bytes of records (a power of two) followed by a
//! [`TRAILER_LENGTH`]-byte trailer: tail intent @0, tail @8, latest @16 (start of the newest record). Records
//! are an 8-byte header (`length i32 @0` = 8 + message length, `msg_type_id i32 @4`) and the message, 8-byte
//! aligned; a padding record (type [`PADDING_MSG_TYPE_ID`]) fills the end of the buffer when a record does
//! not fit before it.
//!
//! The transmitter announces how far it is about to write (tail intent, then a release fence), writes the
//! record, then publishes latest and tail with release stores. A receiver reads a record only below the
//! tail, and a copy of it is good only if, after the copy (acquire fence), the tail intent is still less
//! than a buffer ahead of the record: otherwise the transmitter may have overwritten it mid-copy.

use std::sync::atomic::{fence, Ordering};

use oxeron_protocol::align;

use crate::ring_buffer::checked_capacity;
use crate::AtomicBuffer;

/// Offset in the trailer of the tail intent counter (where the transmitter is about to write up to).
pub const TAIL_INTENT_COUNTER_OFFSET: usize = 0;
/// Offset in the trailer of the tail counter (end of the last complete record).
pub const TAIL_COUNTER_OFFSET: usize = 8;
/// Offset in the trailer of the latest counter (start of the last complete record).
pub const LATEST_COUNTER_OFFSET: usize = 16;
/// Length of the trailer that follows the records.
pub const TRAILER_LENGTH: usize = 128;

/// Length of a record header (`length i32`, `msg_type_id i32`).
pub const HEADER_LENGTH: usize = 8;
/// Alignment of records in the buffer.
pub const RECORD_ALIGNMENT: usize = 8;
/// Message type id of padding records, which receivers skip.
pub const PADDING_MSG_TYPE_ID: i32 = -1;
/// Scratch buffer length of a [`CopyBroadcastReceiver`] made with [`CopyBroadcastReceiver::new`], as in
/// Aeron's C client.
pub const SCRATCH_BUFFER_LENGTH: usize = 4096;

/// Why a broadcast operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BroadcastError {
    /// The buffer is not a power-of-two capacity plus the trailer.
    #[error("buffer of {length} bytes is not a power-of-two capacity plus a {TRAILER_LENGTH}-byte trailer")]
    InvalidCapacity {
        /// Length of the whole buffer, trailer included.
        length: usize,
    },
    /// The buffer does not start on an 8-byte boundary, so its counters cannot be accessed atomically.
    #[error("buffer address {address:#x} is not 8-byte aligned")]
    Misaligned {
        /// Address of the first byte.
        address: usize,
    },
    /// The message is longer than [`BroadcastTransmitter::max_msg_length`].
    #[error("message of {length} bytes exceeds the maximum of {max_msg_length}")]
    MessageTooLong {
        /// Length of the rejected message.
        length: usize,
        /// The buffer's maximum message length.
        max_msg_length: usize,
    },
    /// Message type ids must be at least 1.
    #[error("invalid message type id {0}: must be >= 1")]
    InvalidMsgTypeId(i32),
    /// The receiver was lapped by the transmitter and lost messages; it has resumed at the latest record.
    #[error("unable to keep up with broadcast")]
    Lapped,
    /// A received message does not fit the copy receiver's scratch buffer (the message is skipped).
    #[error("scratch buffer too small: required {required}, found {capacity}")]
    ScratchTooSmall {
        /// Length of the message.
        required: usize,
        /// Length of the scratch buffer.
        capacity: usize,
    },
    /// A record header holds a length or position that cannot be right, and the receiver was not lapped.
    #[error("corrupt broadcast record at position {position}: length {length}")]
    CorruptRecord {
        /// Stream position of the record.
        position: i64,
        /// The length found in its header.
        length: i32,
    },
}

fn checked_buffer(buffer: &AtomicBuffer) -> Result<usize, BroadcastError> {
    let capacity =
        checked_capacity(buffer, TRAILER_LENGTH).ok_or(BroadcastError::InvalidCapacity {
            length: buffer.capacity(),
        })?;
    if buffer.address() % RECORD_ALIGNMENT != 0 {
        return Err(BroadcastError::Misaligned {
            address: buffer.address(),
        });
    }
    Ok(capacity)
}

/// The single writer of a broadcast buffer.
#[derive(Debug)]
pub struct BroadcastTransmitter {
    buffer: AtomicBuffer,
    capacity: usize,
    max_msg_length: usize,
    tail_intent_counter_index: usize,
    tail_counter_index: usize,
    latest_counter_index: usize,
}

impl BroadcastTransmitter {
    /// Wraps `buffer`, whose length must be a power-of-two capacity plus [`TRAILER_LENGTH`]. There must be
    /// only one transmitter per buffer.
    pub fn new(buffer: AtomicBuffer) -> Result<Self, BroadcastError> {
        let capacity = checked_buffer(&buffer)?;
        Ok(BroadcastTransmitter {
            buffer,
            capacity,
            max_msg_length: capacity / 8,
            tail_intent_counter_index: capacity + TAIL_INTENT_COUNTER_OFFSET,
            tail_counter_index: capacity + TAIL_COUNTER_OFFSET,
            latest_counter_index: capacity + LATEST_COUNTER_OFFSET,
        })
    }

    /// Bytes available for records.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Longest message a record may carry: capacity / 8.
    pub fn max_msg_length(&self) -> usize {
        self.max_msg_length
    }

    /// The whole underlying buffer, trailer included.
    pub fn buffer(&self) -> &AtomicBuffer {
        &self.buffer
    }

    /// Writes `msg` as the next record of type `msg_type_id`, overwriting the oldest records as needed.
    pub fn transmit(&mut self, msg_type_id: i32, msg: &[u8]) -> Result<(), BroadcastError> {
        if msg_type_id < 1 {
            return Err(BroadcastError::InvalidMsgTypeId(msg_type_id));
        }
        if msg.len() > self.max_msg_length {
            return Err(BroadcastError::MessageTooLong {
                length: msg.len(),
                max_msg_length: self.max_msg_length,
            });
        }
        let buffer = &self.buffer;
        let capacity = self.capacity as i64;
        // Only this transmitter writes the tail; a misaligned value means the memory was tampered with, so
        // realign rather than panic on a misaligned header access.
        let mut current_tail =
            buffer.get_i64_volatile(self.tail_counter_index) & !(RECORD_ALIGNMENT as i64 - 1);
        let mut record_offset = (current_tail & (capacity - 1)) as usize;
        let record_length = HEADER_LENGTH + msg.len();
        let aligned_length = align(record_length, RECORD_ALIGNMENT) as i64;
        let new_tail = current_tail.wrapping_add(aligned_length);

        let to_end = self.capacity - record_offset;
        if (to_end as i64) < aligned_length {
            self.signal_tail_intent(new_tail.wrapping_add(to_end as i64));
            buffer.put_i32_volatile(record_offset, to_end as i32);
            buffer.put_i32_volatile(record_offset + 4, PADDING_MSG_TYPE_ID);
            current_tail = current_tail.wrapping_add(to_end as i64);
            record_offset = 0;
        } else {
            self.signal_tail_intent(new_tail);
        }

        buffer.put_i32_volatile(record_offset, record_length as i32);
        buffer.put_i32_volatile(record_offset + 4, msg_type_id);
        buffer.put_bytes(record_offset + HEADER_LENGTH, msg);

        buffer.put_i64_release(self.latest_counter_index, current_tail);
        buffer.put_i64_release(
            self.tail_counter_index,
            current_tail.wrapping_add(aligned_length),
        );
        Ok(())
    }

    fn signal_tail_intent(&self, tail_intent: i64) {
        self.buffer
            .put_i64_volatile(self.tail_intent_counter_index, tail_intent);
        fence(Ordering::Release);
    }
}

/// A reader of a broadcast buffer that works in place: [`receive_next`](Self::receive_next) moves to the
/// next record, the caller copies what it needs from [`buffer`](Self::buffer) at
/// [`offset`](Self::offset), then checks [`validate`](Self::validate) before trusting the copy.
#[derive(Debug)]
pub struct BroadcastReceiver {
    buffer: AtomicBuffer,
    capacity: usize,
    tail_intent_counter_index: usize,
    tail_counter_index: usize,
    latest_counter_index: usize,
    cursor: i64,
    next_record: i64,
    record_offset: usize,
    msg_type_id: i32,
    length: usize,
    lapped_count: u64,
}

/// Attempts to find a whole record after a lap before giving up until the next call.
const MAX_RESYNC_ATTEMPTS: usize = 4;

impl BroadcastReceiver {
    /// Wraps `buffer` and starts at the latest record: older records are not seen.
    pub fn new(buffer: AtomicBuffer) -> Result<Self, BroadcastError> {
        let capacity = checked_buffer(&buffer)?;
        let latest_counter_index = capacity + LATEST_COUNTER_OFFSET;
        let latest = buffer.get_i64_acquire(latest_counter_index);
        Ok(BroadcastReceiver {
            buffer,
            capacity,
            tail_intent_counter_index: capacity + TAIL_INTENT_COUNTER_OFFSET,
            tail_counter_index: capacity + TAIL_COUNTER_OFFSET,
            latest_counter_index,
            cursor: latest,
            next_record: latest,
            record_offset: (latest & (capacity as i64 - 1)) as usize,
            msg_type_id: 0,
            length: 0,
            lapped_count: 0,
        })
    }

    /// Bytes available for records.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many times the transmitter has lapped this receiver (each lap loses at least a buffer of
    /// messages).
    pub fn lapped_count(&self) -> u64 {
        self.lapped_count
    }

    /// Type id of the current record.
    pub fn type_id(&self) -> i32 {
        self.msg_type_id
    }

    /// Offset of the current message in [`buffer`](Self::buffer).
    pub fn offset(&self) -> usize {
        self.record_offset + HEADER_LENGTH
    }

    /// Length of the current message.
    pub fn length(&self) -> usize {
        self.length
    }

    /// The whole underlying buffer, trailer included.
    pub fn buffer(&self) -> &AtomicBuffer {
        &self.buffer
    }

    /// Moves to the next record if the transmitter has written one; `Ok(false)` when there is none yet.
    /// When the receiver has been lapped it counts a lap and jumps to the latest record.
    pub fn receive_next(&mut self) -> Result<bool, BroadcastError> {
        let tail = self.buffer.get_i64_acquire(self.tail_counter_index);
        let mut cursor = self.next_record;
        if tail <= cursor {
            return Ok(false);
        }

        for _ in 0..MAX_RESYNC_ATTEMPTS {
            if !self.is_valid(cursor) {
                self.lapped_count += 1;
                cursor = self.buffer.get_i64_acquire(self.latest_counter_index);
            }
            match self.read_record(cursor) {
                Ok((record_cursor, record_offset, length, msg_type_id)) => {
                    self.cursor = record_cursor;
                    self.record_offset = record_offset;
                    self.length = length - HEADER_LENGTH;
                    self.msg_type_id = msg_type_id;
                    self.next_record =
                        record_cursor.wrapping_add(align(length, RECORD_ALIGNMENT) as i64);
                    return Ok(true);
                }
                Err(error) => {
                    fence(Ordering::Acquire);
                    if self.is_valid(cursor) {
                        return Err(error);
                    }
                    // Overwritten while reading the header: go around again from the latest record.
                }
            }
        }
        Ok(false)
    }

    /// Reads and checks the header at `cursor`, stepping over a padding record; returns the record's stream
    /// position, offset, length and type.
    fn read_record(&self, cursor: i64) -> Result<(i64, usize, usize, i32), BroadcastError> {
        let mask = self.capacity as i64 - 1;
        let corrupt =
            |position: i64, length: i32| BroadcastError::CorruptRecord { position, length };
        if cursor & (RECORD_ALIGNMENT as i64 - 1) != 0 {
            return Err(corrupt(cursor, 0));
        }
        let mut cursor = cursor;
        let mut offset = (cursor & mask) as usize;
        let mut length = self.buffer.get_i32_volatile(offset);
        let mut msg_type_id = self.buffer.get_i32_volatile(offset + 4);
        if msg_type_id == PADDING_MSG_TYPE_ID {
            if usize::try_from(length) != Ok(self.capacity - offset) {
                return Err(corrupt(cursor, length));
            }
            cursor = cursor.wrapping_add(i64::from(length));
            offset = 0;
            length = self.buffer.get_i32_volatile(0);
            msg_type_id = self.buffer.get_i32_volatile(4);
        }
        let fits = usize::try_from(length)
            .map(|l| l >= HEADER_LENGTH && align(l, RECORD_ALIGNMENT) <= self.capacity - offset)
            .unwrap_or(false);
        if !fits || msg_type_id == PADDING_MSG_TYPE_ID {
            return Err(corrupt(cursor, length));
        }
        Ok((cursor, offset, length as usize, msg_type_id))
    }

    /// Whether the current record is still intact: true unless the transmitter has started writing over
    /// it. Call after copying the message out, and discard the copy if this is false.
    pub fn validate(&self) -> bool {
        fence(Ordering::Acquire);
        self.is_valid(self.cursor)
    }

    fn is_valid(&self, cursor: i64) -> bool {
        cursor.wrapping_add(self.capacity as i64)
            > self.buffer.get_i64_volatile(self.tail_intent_counter_index)
    }
}

/// A [`BroadcastReceiver`] that copies each message into its own scratch buffer, validates the copy, and
/// hands the handler a stable slice.
#[derive(Debug)]
pub struct CopyBroadcastReceiver {
    receiver: BroadcastReceiver,
    scratch: Vec<u8>,
}

impl CopyBroadcastReceiver {
    /// Wraps `receiver` with a [`SCRATCH_BUFFER_LENGTH`]-byte scratch buffer.
    pub fn new(receiver: BroadcastReceiver) -> Self {
        Self::with_scratch_length(receiver, SCRATCH_BUFFER_LENGTH)
    }

    /// Wraps `receiver` with a scratch buffer of `scratch_length` bytes, the longest message it accepts.
    pub fn with_scratch_length(receiver: BroadcastReceiver, scratch_length: usize) -> Self {
        CopyBroadcastReceiver {
            receiver,
            scratch: vec![0; scratch_length],
        }
    }

    /// The wrapped receiver (for its lapped count).
    pub fn receiver(&self) -> &BroadcastReceiver {
        &self.receiver
    }

    /// Delivers at most one message to `handler` as `(msg_type_id, message)`; returns how many (0 or 1).
    ///
    /// Fails with [`BroadcastError::Lapped`] when the receiver was lapped: either it fell behind before this
    /// call, and the next call delivers the latest record, where it resumed; or the record was overwritten
    /// while being copied, and it is dropped.
    pub fn receive<F>(&mut self, handler: F) -> Result<usize, BroadcastError>
    where
        F: FnOnce(i32, &[u8]),
    {
        let receiver = &mut self.receiver;
        let last_seen_lapped_count = receiver.lapped_count();
        if !receiver.receive_next()? {
            return Ok(0);
        }
        if receiver.lapped_count() != last_seen_lapped_count {
            // Unlike Agrona, keep the latest record (where the receiver resumed) for the next call.
            receiver.next_record = receiver.cursor;
            return Err(BroadcastError::Lapped);
        }
        let length = receiver.length();
        if length > self.scratch.len() {
            return Err(BroadcastError::ScratchTooSmall {
                required: length,
                capacity: self.scratch.len(),
            });
        }
        let msg_type_id = receiver.type_id();
        let copy = &mut self.scratch[..length];
        receiver.buffer().get_bytes(receiver.offset(), copy);
        if !receiver.validate() {
            return Err(BroadcastError::Lapped);
        }
        handler(msg_type_id, copy);
        Ok(1)
    }
}

#[cfg(test)]
mod tests;
