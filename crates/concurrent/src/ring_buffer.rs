//! Aeron's many-to-one ring buffer (C `aeron_mpsc_rb`, Agrona's `ManyToOneRingBuffer`): the to-driver command
//! channel of `cnc.dat`. Many producers (clients, possibly in other processes) claim space with a CAS on the
//! tail; one consumer (the driver conductor) reads records from the head.
//!
//! Layout, byte for byte as Aeron 1.54: `capacity` bytes of records (a power of two) followed by a
//! [`TRAILER_LENGTH`]-byte trailer holding the tail, head cache, head, correlation counter and consumer
//! heartbeat, each on its own pair of cache lines. A record is an 8-byte header (`length i32 @0`,
//! `msg_type_id i32 @4`) and the message, 8-byte aligned. The length is negative while the record is being
//! written and turns positive (release store) when it is ready; padding records (type
//! [`PADDING_MSG_TYPE_ID`]) fill the end of the buffer when a record would not fit before it.
//!
//! Memory ordering, per step (mirrored by the loom model in `tests/loom_ring_buffer.rs`):
//! producers read the head cache and tail with acquire, reserve with an acquire-release CAS on the tail,
//! store `-length` with release, fence (release), write the type and message, then store `+length` with
//! release. The consumer loads the length with acquire, zeroes what it consumed and stores the head with
//! release.
//!
//! Everything read from the shared memory may have been written by a broken or hostile process: positions
//! and record lengths are validated, and corrupt values give [`RingBufferError`]s, never panics.

use std::sync::atomic::{fence, Ordering};

use oxeron_protocol::align;

use crate::AtomicBuffer;

/// Offset in the trailer of the tail position, which producers advance with a CAS.
pub const TAIL_POSITION_OFFSET: usize = 128;
/// Offset in the trailer of the producers' cached copy of the head position.
pub const HEAD_CACHE_POSITION_OFFSET: usize = 256;
/// Offset in the trailer of the head position, which only the consumer writes.
pub const HEAD_POSITION_OFFSET: usize = 384;
/// Offset in the trailer of the correlation id counter.
pub const CORRELATION_COUNTER_OFFSET: usize = 512;
/// Offset in the trailer of the consumer heartbeat (epoch ms).
pub const CONSUMER_HEARTBEAT_OFFSET: usize = 640;
/// Length of the trailer that follows the records.
pub const TRAILER_LENGTH: usize = 768;

/// Length of a record header (`length i32`, `msg_type_id i32`).
pub const HEADER_LENGTH: usize = 8;
/// Alignment of records in the buffer.
pub const ALIGNMENT: usize = 8;
/// Message type id of padding records, which readers skip.
pub const PADDING_MSG_TYPE_ID: i32 = -1;
/// Smallest capacity Aeron accepts (one record header); such a buffer carries no messages.
pub const MIN_CAPACITY: usize = HEADER_LENGTH;

/// Offset of the length field of the record at `record_index`.
#[inline]
pub const fn length_offset(record_index: usize) -> usize {
    record_index
}

/// Offset of the message type id field of the record at `record_index`.
#[inline]
pub const fn type_offset(record_index: usize) -> usize {
    record_index + 4
}

/// Offset of the message of the record at `record_index`.
#[inline]
pub const fn encoded_msg_offset(record_index: usize) -> usize {
    record_index + HEADER_LENGTH
}

/// Why a ring buffer operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RingBufferError {
    /// The buffer is not a power-of-two capacity plus the trailer.
    #[error(
        "buffer of {length} bytes is not a power-of-two capacity (>= {MIN_CAPACITY}, < 2^31) \
         plus a {TRAILER_LENGTH}-byte trailer"
    )]
    InvalidCapacity {
        /// Length of the whole buffer, trailer included.
        length: usize,
    },
    /// The buffer does not start on an 8-byte boundary, so its positions cannot be accessed atomically.
    #[error("buffer address {address:#x} is not 8-byte aligned")]
    Misaligned {
        /// Address of the first byte.
        address: usize,
    },
    /// Not enough free space for the record right now; the consumer has to catch up first.
    #[error("insufficient capacity in the ring buffer")]
    InsufficientCapacity,
    /// The message is longer than [`ManyToOneRingBuffer::max_msg_length`].
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
    /// A claim's record is no longer pending: it was committed, aborted or turned into padding by
    /// [`ManyToOneRingBuffer::unblock`].
    #[error("claimed space was already committed, aborted or unblocked")]
    ClaimReleased,
    /// A record header holds a length that cannot be right (shorter than a header or past the buffer end).
    #[error("corrupt record at index {index}: length {length}")]
    CorruptRecord {
        /// Index of the record in the buffer.
        index: usize,
        /// The length found in its header.
        length: i32,
    },
    /// A head or tail position in the trailer is not record aligned.
    #[error("corrupt {name} position {position}")]
    CorruptPosition {
        /// Which position (`head` or `tail`).
        name: &'static str,
        /// Its value.
        position: i64,
    },
}

/// What a [`ManyToOneRingBuffer::controlled_read`] handler wants done after a message (Agrona's
/// `ControlledMessageHandler.Action`, C's `aeron_rb_read_action_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlledReadAction {
    /// Leave this message unconsumed and stop; it is delivered again by the next read.
    Abort,
    /// Consume this message and stop.
    Break,
    /// Consume this message, release the space read so far to producers at once, and go on.
    Commit,
    /// Consume this message and go on.
    Continue,
}

/// Checks a buffer holds a power-of-two capacity plus `trailer_length` bytes, 8-byte aligned; returns
/// the capacity.
pub(crate) fn checked_capacity(buffer: &AtomicBuffer, trailer_length: usize) -> Option<usize> {
    let capacity = buffer.capacity().checked_sub(trailer_length)?;
    (capacity.is_power_of_two() && (MIN_CAPACITY..=1 << 30).contains(&capacity)).then_some(capacity)
}

/// The many-to-one ring buffer over shared memory. Cloning gives another handle on the same memory.
///
/// Any number of handles may produce ([`write`](Self::write), [`try_claim`](Self::try_claim)) at once, from
/// any threads or processes. Only one consumer may call [`read`](Self::read),
/// [`controlled_read`](Self::controlled_read) or [`unblock`](Self::unblock) at a time.
#[derive(Debug, Clone)]
pub struct ManyToOneRingBuffer {
    buffer: AtomicBuffer,
    capacity: usize,
    max_msg_length: usize,
    tail_position_index: usize,
    head_cache_position_index: usize,
    head_position_index: usize,
    correlation_counter_index: usize,
    consumer_heartbeat_index: usize,
}

impl ManyToOneRingBuffer {
    /// Wraps `buffer`, whose length must be a power-of-two capacity plus [`TRAILER_LENGTH`]. The memory is
    /// used as it is (a zeroed buffer is an empty ring; an existing `cnc.dat` section keeps its records).
    pub fn new(buffer: AtomicBuffer) -> Result<Self, RingBufferError> {
        let capacity =
            checked_capacity(&buffer, TRAILER_LENGTH).ok_or(RingBufferError::InvalidCapacity {
                length: buffer.capacity(),
            })?;
        if buffer.address() % ALIGNMENT != 0 {
            return Err(RingBufferError::Misaligned {
                address: buffer.address(),
            });
        }
        Ok(ManyToOneRingBuffer {
            buffer,
            capacity,
            max_msg_length: if capacity == MIN_CAPACITY {
                0
            } else {
                capacity / 8
            },
            tail_position_index: capacity + TAIL_POSITION_OFFSET,
            head_cache_position_index: capacity + HEAD_CACHE_POSITION_OFFSET,
            head_position_index: capacity + HEAD_POSITION_OFFSET,
            correlation_counter_index: capacity + CORRELATION_COUNTER_OFFSET,
            consumer_heartbeat_index: capacity + CONSUMER_HEARTBEAT_OFFSET,
        })
    }

    /// Bytes available for records (the buffer length less the trailer).
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

    fn check_msg(&self, msg_type_id: i32, length: usize) -> Result<(), RingBufferError> {
        if msg_type_id < 1 {
            return Err(RingBufferError::InvalidMsgTypeId(msg_type_id));
        }
        if length > self.max_msg_length {
            return Err(RingBufferError::MessageTooLong {
                length,
                max_msg_length: self.max_msg_length,
            });
        }
        Ok(())
    }

    /// Copies `msg` into a new record of type `msg_type_id`, visible to the consumer when this returns.
    pub fn write(&self, msg_type_id: i32, msg: &[u8]) -> Result<(), RingBufferError> {
        self.check_msg(msg_type_id, msg.len())?;
        let record_length = msg.len() + HEADER_LENGTH;
        let record_index = self.claim_capacity(record_length)?;
        // Lengths fit an i32: the record is at most capacity / 8 + 8 and capacity <= 2^30.
        let length = record_length as i32;
        self.buffer
            .put_i32_release(length_offset(record_index), -length);
        fence(Ordering::Release);
        self.buffer
            .put_i32_volatile(type_offset(record_index), msg_type_id);
        self.buffer.put_bytes(encoded_msg_offset(record_index), msg);
        self.buffer
            .put_i32_release(length_offset(record_index), length);
        Ok(())
    }

    /// Reserves a record for a message of `length` bytes, to be filled in place through
    /// [`Claim::buffer`] and then committed. The consumer stops at the claimed record until it is
    /// committed or aborted, so claims should be short-lived. Dropping the claim aborts it.
    pub fn try_claim(&self, msg_type_id: i32, length: usize) -> Result<Claim<'_>, RingBufferError> {
        self.check_msg(msg_type_id, length)?;
        let record_length = length + HEADER_LENGTH;
        let record_index = self.claim_capacity(record_length)?;
        self.buffer
            .put_i32_release(length_offset(record_index), -(record_length as i32));
        fence(Ordering::Release);
        self.buffer
            .put_i32_volatile(type_offset(record_index), msg_type_id);
        let message = self
            .buffer
            .view(encoded_msg_offset(record_index), length)
            .map_err(|_| RingBufferError::InsufficientCapacity)?;
        Ok(Claim {
            ring: self,
            record_index,
            message,
            released: false,
        })
    }

    /// Reserves `align(record_length, 8)` bytes (plus padding to the buffer end if the record would not fit
    /// before it) and returns the index of the record.
    fn claim_capacity(&self, record_length: usize) -> Result<usize, RingBufferError> {
        let buffer = &self.buffer;
        let required = align(record_length, ALIGNMENT) as i64;
        let capacity = self.capacity as i64;
        let mask = capacity - 1;

        let mut head = buffer.get_i64_acquire(self.head_cache_position_index);
        loop {
            let tail = buffer.get_i64_acquire(self.tail_position_index);
            if tail & (ALIGNMENT as i64 - 1) != 0 {
                return Err(RingBufferError::CorruptPosition {
                    name: "tail",
                    position: tail,
                });
            }
            let available = capacity.wrapping_sub(tail.wrapping_sub(head));
            if required > available {
                head = buffer.get_i64_acquire(self.head_position_index);
                if required > capacity.wrapping_sub(tail.wrapping_sub(head)) {
                    return Err(RingBufferError::InsufficientCapacity);
                }
                buffer.put_i64_release(self.head_cache_position_index, head);
            }

            let mut padding = 0;
            let tail_index = tail & mask;
            let to_buffer_end = capacity - tail_index;
            if required > to_buffer_end {
                let mut head_index = head & mask;
                if required > head_index {
                    head = buffer.get_i64_acquire(self.head_position_index);
                    head_index = head & mask;
                    if required > head_index {
                        return Err(RingBufferError::InsufficientCapacity);
                    }
                    buffer.put_i64_release(self.head_cache_position_index, head);
                }
                padding = to_buffer_end;
            }

            let new_tail = tail.wrapping_add(required + padding);
            if buffer.compare_and_set_i64(self.tail_position_index, tail, new_tail) {
                let tail_index = tail_index as usize;
                if padding == 0 {
                    return Ok(tail_index);
                }
                let padding = padding as i32;
                buffer.put_i32_release(length_offset(tail_index), -padding);
                fence(Ordering::Release);
                buffer.put_i32_volatile(type_offset(tail_index), PADDING_MSG_TYPE_ID);
                buffer.put_i32_release(length_offset(tail_index), padding);
                return Ok(0);
            }
        }
    }

    /// Flips the pending record at `record_index` to ready, as padding when `abort` is set.
    fn release_claim(&self, record_index: usize, abort: bool) -> Result<(), RingBufferError> {
        let length = self.buffer.get_i32_volatile(length_offset(record_index));
        if length >= 0 {
            return Err(RingBufferError::ClaimReleased);
        }
        if abort {
            self.buffer
                .put_i32_volatile(type_offset(record_index), PADDING_MSG_TYPE_ID);
        }
        self.buffer
            .put_i32_release(length_offset(record_index), length.wrapping_neg());
        Ok(())
    }

    /// Reads the head and checks it is record aligned; returns it with its index in the buffer.
    fn consumer_head(&self) -> Result<(i64, usize), RingBufferError> {
        let head = self.buffer.get_i64_volatile(self.head_position_index);
        if head & (ALIGNMENT as i64 - 1) != 0 {
            return Err(RingBufferError::CorruptPosition {
                name: "head",
                position: head,
            });
        }
        Ok((head, (head & (self.capacity as i64 - 1)) as usize))
    }

    /// Reads the header of the ready record at `record_index`, at most `remaining` bytes before the end of
    /// the contiguous block. `None` when the record is not ready yet.
    fn ready_record(
        &self,
        record_index: usize,
        remaining: usize,
    ) -> Result<Option<(usize, i32)>, RingBufferError> {
        let length = self.buffer.get_i32_acquire(length_offset(record_index));
        if length <= 0 {
            return Ok(None);
        }
        let record_length = length as usize;
        if record_length < HEADER_LENGTH || align(record_length, ALIGNMENT) > remaining {
            return Err(RingBufferError::CorruptRecord {
                index: record_index,
                length,
            });
        }
        let msg_type_id = self.buffer.get_i32_volatile(type_offset(record_index));
        Ok(Some((record_length, msg_type_id)))
    }

    /// Delivers up to `message_count_limit` ready messages to `handler` as `(msg_type_id, message)`, where
    /// `message` is a view of exactly the message bytes, then zeroes the consumed records and moves the head
    /// past them. Returns the number of messages delivered (padding is skipped and not counted).
    ///
    /// One call reads at most up to the end of the buffer, so a read that meets the end-of-buffer padding
    /// may deliver fewer messages than are ready. If the handler panics, what was read before it (the
    /// message it panicked on included) is still consumed. A corrupt record stops the read with
    /// [`RingBufferError::CorruptRecord`]; the records before it are delivered and consumed, the corrupt one
    /// stays where it is.
    pub fn read<F>(
        &self,
        mut handler: F,
        message_count_limit: usize,
    ) -> Result<usize, RingBufferError>
    where
        F: FnMut(i32, &AtomicBuffer),
    {
        let (head, head_index) = self.consumer_head()?;
        let block_length = self.capacity - head_index;
        let mut consumed = Consumed {
            ring: self,
            head,
            head_index,
            bytes_read: 0,
        };
        let mut messages_read = 0;
        while consumed.bytes_read < block_length && messages_read < message_count_limit {
            let record_index = head_index + consumed.bytes_read;
            let Some((record_length, msg_type_id)) =
                self.ready_record(record_index, block_length - consumed.bytes_read)?
            else {
                break;
            };
            consumed.bytes_read += align(record_length, ALIGNMENT);
            if msg_type_id == PADDING_MSG_TYPE_ID {
                continue;
            }
            messages_read += 1;
            let message = self.message_view(record_index, record_length)?;
            handler(msg_type_id, &message);
        }
        Ok(messages_read)
    }

    /// Like [`read`](Self::read), but the handler decides after each message whether to go on, stop, commit
    /// what was read so far, or leave the message for the next read (see [`ControlledReadAction`]).
    /// Returns the number of messages consumed.
    pub fn controlled_read<F>(
        &self,
        mut handler: F,
        message_count_limit: usize,
    ) -> Result<usize, RingBufferError>
    where
        F: FnMut(i32, &AtomicBuffer) -> ControlledReadAction,
    {
        let (head, head_index) = self.consumer_head()?;
        let block_length = self.capacity - head_index;
        let mut consumed = Consumed {
            ring: self,
            head,
            head_index,
            bytes_read: 0,
        };
        let mut block_read = 0;
        let mut messages_read = 0;
        while block_read < block_length && messages_read < message_count_limit {
            let record_index = head_index + block_read;
            let Some((record_length, msg_type_id)) =
                self.ready_record(record_index, block_length - block_read)?
            else {
                break;
            };
            let aligned_length = align(record_length, ALIGNMENT);
            block_read += aligned_length;
            if msg_type_id == PADDING_MSG_TYPE_ID {
                consumed.bytes_read += aligned_length;
                continue;
            }
            let message = self.message_view(record_index, record_length)?;
            let action = handler(msg_type_id, &message);
            if action == ControlledReadAction::Abort {
                break;
            }
            consumed.bytes_read += aligned_length;
            messages_read += 1;
            match action {
                ControlledReadAction::Break => break,
                ControlledReadAction::Commit => consumed.release(),
                _ => {}
            }
        }
        Ok(messages_read)
    }

    fn message_view(
        &self,
        record_index: usize,
        record_length: usize,
    ) -> Result<AtomicBuffer, RingBufferError> {
        self.buffer
            .view(
                encoded_msg_offset(record_index),
                record_length - HEADER_LENGTH,
            )
            .map_err(|_| RingBufferError::CorruptRecord {
                index: record_index,
                length: record_length as i32,
            })
    }

    /// Takes the next correlation id: an atomic increment of the shared counter, returning the value before
    /// it. A client's first id is its client id.
    pub fn next_correlation_id(&self) -> i64 {
        self.buffer
            .get_and_add_i64(self.correlation_counter_index, 1)
    }

    /// Stores the consumer's heartbeat (epoch ms; -1 when the driver shuts down).
    pub fn set_consumer_heartbeat_time(&self, time_ms: i64) {
        self.buffer
            .put_i64_release(self.consumer_heartbeat_index, time_ms);
    }

    /// The consumer's last heartbeat (epoch ms), which clients use to tell whether the driver is alive.
    pub fn consumer_heartbeat_time(&self) -> i64 {
        self.buffer.get_i64_acquire(self.consumer_heartbeat_index)
    }

    /// The tail: bytes claimed by producers since the buffer was created.
    pub fn producer_position(&self) -> i64 {
        self.buffer.get_i64_acquire(self.tail_position_index)
    }

    /// The head: bytes consumed since the buffer was created.
    pub fn consumer_position(&self) -> i64 {
        self.buffer.get_i64_acquire(self.head_position_index)
    }

    /// Bytes between head and tail (claimed and not yet consumed), clamped to `0..=capacity`.
    pub fn size(&self) -> usize {
        let mut head_after = self.consumer_position();
        let mut tail;
        let mut attempts = 0;
        loop {
            let head_before = head_after;
            tail = self.producer_position();
            head_after = self.consumer_position();
            attempts += 1;
            if head_after == head_before || attempts == 64 {
                break;
            }
        }
        tail.wrapping_sub(head_after).clamp(0, self.capacity as i64) as usize
    }

    /// Lets the consumer get past a producer that died mid-record (Agrona's `unblock`): a record still
    /// holding a negative length at the head becomes padding, and a zeroed gap at the head (space claimed
    /// but never written) followed by a written record becomes padding up to that record. Returns whether it
    /// changed anything. The driver calls this only after the head has not moved for the client liveness
    /// timeout.
    pub fn unblock(&self) -> bool {
        let buffer = &self.buffer;
        let head = buffer.get_i64_acquire(self.head_position_index);
        let tail = buffer.get_i64_acquire(self.tail_position_index);
        let misaligned = (head | tail) & (ALIGNMENT as i64 - 1) != 0;
        if head == tail || misaligned {
            return false;
        }

        let mask = self.capacity as i64 - 1;
        let consumer_index = (head & mask) as usize;
        let producer_index = (tail & mask) as usize;

        let length = buffer.get_i32_acquire(length_offset(consumer_index));
        if length < 0 {
            let record_length = length.unsigned_abs() as usize;
            if record_length < HEADER_LENGTH
                || align(record_length, ALIGNMENT) > self.capacity - consumer_index
            {
                return false;
            }
            buffer.put_i32_volatile(type_offset(consumer_index), PADDING_MSG_TYPE_ID);
            buffer.put_i32_release(length_offset(consumer_index), -length);
            return true;
        }
        if length > 0 {
            return false;
        }

        let limit = if producer_index > consumer_index {
            producer_index
        } else {
            self.capacity
        };
        let mut i = consumer_index + ALIGNMENT;
        while i < limit {
            if buffer.get_i32_acquire(length_offset(i)) != 0 {
                if self.still_zeroed(consumer_index, i) {
                    buffer.put_i32_volatile(type_offset(consumer_index), PADDING_MSG_TYPE_ID);
                    buffer.put_i32_release(
                        length_offset(consumer_index),
                        (i - consumer_index) as i32,
                    );
                    return true;
                }
                return false;
            }
            i += ALIGNMENT;
        }
        false
    }

    /// Scans back from `from` to `to` (inclusive) checking every record-aligned length is still zero.
    fn still_zeroed(&self, to: usize, from: usize) -> bool {
        (to..from)
            .step_by(ALIGNMENT)
            .rev()
            .all(|i| self.buffer.get_i32_acquire(length_offset(i)) == 0)
    }
}

/// Bytes read by the consumer since `head`, zeroed and released to producers on [`Consumed::release`] and
/// on drop (so a panicking handler still consumes what it was given).
struct Consumed<'a> {
    ring: &'a ManyToOneRingBuffer,
    head: i64,
    head_index: usize,
    bytes_read: usize,
}

impl Consumed<'_> {
    fn release(&mut self) {
        if self.bytes_read == 0 {
            return;
        }
        let buffer = &self.ring.buffer;
        buffer.set_memory(self.head_index, self.bytes_read, 0);
        self.head = self.head.wrapping_add(self.bytes_read as i64);
        buffer.put_i64_release(self.ring.head_position_index, self.head);
        self.head_index += self.bytes_read;
        self.bytes_read = 0;
    }
}

impl Drop for Consumed<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

/// A record reserved by [`ManyToOneRingBuffer::try_claim`], pending until [`commit`](Claim::commit) or
/// [`abort`](Claim::abort). Dropping it uncommitted aborts it (the record becomes padding).
#[derive(Debug)]
pub struct Claim<'a> {
    ring: &'a ManyToOneRingBuffer,
    record_index: usize,
    message: AtomicBuffer,
    released: bool,
}

impl Claim<'_> {
    /// The claimed message bytes, to fill in before committing.
    pub fn buffer(&self) -> &AtomicBuffer {
        &self.message
    }

    /// Offset of the message within the ring buffer (Agrona's claim index).
    pub fn index(&self) -> usize {
        encoded_msg_offset(self.record_index)
    }

    /// Length of the claimed message.
    pub fn length(&self) -> usize {
        self.message.capacity()
    }

    /// Makes the record visible to the consumer. Fails with [`RingBufferError::ClaimReleased`] if the
    /// consumer has meanwhile unblocked (discarded) it.
    pub fn commit(mut self) -> Result<(), RingBufferError> {
        self.released = true;
        self.ring.release_claim(self.record_index, false)
    }

    /// Turns the record into padding, which the consumer skips.
    pub fn abort(mut self) -> Result<(), RingBufferError> {
        self.released = true;
        self.ring.release_claim(self.record_index, true)
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if !self.released {
            // The claim may have been unblocked already; either way the record no longer blocks the consumer.
            let _ = self.ring.release_claim(self.record_index, true);
        }
    }
}

#[cfg(test)]
mod tests;
