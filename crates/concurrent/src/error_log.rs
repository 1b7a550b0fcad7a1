//! Aeron's distinct error log: one entry per distinct error, with an observation count and first/last
//! timestamps. The driver keeps it in the last section of `cnc.dat`; the archive in its mark file.
//!
//! Entries start at offset 0, each aligned to 8 bytes: length `i32 @0` (24 + text length; 0 = end of log;
//! written last with release), observation count `i32 @4`, last observation `i64 @8` (epoch ms), first
//! observation `i64 @16` (epoch ms), then the error text. Sources: C `aeron_distinct_error_log.{h,c}`,
//! Agrona `DistinctErrorLog` / `ErrorLogReader`.

use std::borrow::Cow;
use std::sync::{Mutex, PoisonError};

use oxeron_protocol::align;

use crate::atomic_buffer::AtomicBuffer;
use crate::clock::EpochClock;

/// Offset of the entry length.
pub const LENGTH_OFFSET: usize = 0;
/// Offset of the observation count.
pub const OBSERVATION_COUNT_OFFSET: usize = 4;
/// Offset of the last observation timestamp.
pub const LAST_OBSERVATION_TIMESTAMP_OFFSET: usize = 8;
/// Offset of the first observation timestamp.
pub const FIRST_OBSERVATION_TIMESTAMP_OFFSET: usize = 16;
/// Offset of the error text; also the header length.
pub const ENCODED_ERROR_OFFSET: usize = 24;
/// Alignment of entries.
pub const RECORD_ALIGNMENT: usize = 8;

/// Why an error log could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorLogError {
    /// The buffer does not start on an 8-byte boundary, so its fields cannot be accessed atomically.
    #[error("error log buffer at {address:#x} is not 8-byte aligned")]
    Misaligned {
        /// Address of the buffer.
        address: usize,
    },
    /// An entry whose length is shorter than the header or runs past the end of the buffer.
    #[error("error log entry at offset {offset} has invalid length {length} (buffer of {capacity} bytes)")]
    BadEntryLength {
        /// Offset of the entry.
        offset: usize,
        /// Its length field.
        length: i32,
        /// Length of the buffer.
        capacity: usize,
    },
}

fn check_alignment(buffer: &AtomicBuffer) -> Result<(), ErrorLogError> {
    if buffer.address() % RECORD_ALIGNMENT == 0 {
        Ok(())
    } else {
        Err(ErrorLogError::Misaligned {
            address: buffer.address(),
        })
    }
}

struct Observation {
    error_code: i32,
    text: Box<[u8]>,
    offset: usize,
}

struct LogState {
    /// Newest first, the order C searches in.
    observations: Vec<Observation>,
    next_offset: usize,
}

/// Records distinct errors into a zeroed buffer (the writer side; Agrona `DistinctErrorLog`).
///
/// Like Aeron C, an error matches an existing entry when the error codes are equal and the entry's text is a
/// prefix of the new text (C compares with `strncmp` bounded by the stored length), searching newest entry
/// first. The text is the description's bytes up to the first NUL, without a terminator.
///
/// Thread safety: like C, finding or creating the entry happens under a mutex (errors are rare, so the lock
/// is cheap next to formatting them); the count (atomic add) and the last timestamp (release store) are
/// updated after the lock is released, so concurrent records of the same error never lose a count.
pub struct DistinctErrorLog {
    buffer: AtomicBuffer,
    clock: EpochClock,
    state: Mutex<LogState>,
}

impl std::fmt::Debug for DistinctErrorLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistinctErrorLog")
            .field("buffer", &self.buffer)
            .field("distinct_errors", &self.num_observations())
            .finish_non_exhaustive()
    }
}

impl DistinctErrorLog {
    /// A log writing into `buffer` (zeroed, 8-byte aligned) with timestamps from `clock`.
    pub fn new(buffer: AtomicBuffer, clock: EpochClock) -> Result<Self, ErrorLogError> {
        check_alignment(&buffer)?;
        Ok(DistinctErrorLog {
            buffer,
            clock,
            state: Mutex::new(LogState {
                observations: Vec::new(),
                next_offset: 0,
            }),
        })
    }

    /// The buffer the log writes into.
    pub fn buffer(&self) -> &AtomicBuffer {
        &self.buffer
    }

    /// Number of distinct errors recorded.
    pub fn num_observations(&self) -> usize {
        self.lock().observations.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogState> {
        // The state is only changed after the entry is fully written, so a panic elsewhere cannot leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records an observation of an error. Returns false if it is new and the buffer has no room for it.
    pub fn record(&self, error_code: i32, description: &str) -> bool {
        let bytes = description.as_bytes();
        let text = bytes.split(|&b| b == 0).next().unwrap_or(bytes);

        let (offset, timestamp) = {
            let mut state = self.lock();
            let timestamp = (self.clock)();
            let existing = state
                .observations
                .iter()
                .find(|o| o.error_code == error_code && text.starts_with(&o.text));
            match existing {
                Some(o) => (o.offset, timestamp),
                None => match self.new_entry(&mut state, error_code, text, timestamp) {
                    Some(offset) => (offset, timestamp),
                    None => return false,
                },
            }
        };

        self.buffer
            .get_and_add_i32(offset + OBSERVATION_COUNT_OFFSET, 1);
        self.buffer
            .put_i64_release(offset + LAST_OBSERVATION_TIMESTAMP_OFFSET, timestamp);
        true
    }

    fn new_entry(
        &self,
        state: &mut LogState,
        error_code: i32,
        text: &[u8],
        timestamp: i64,
    ) -> Option<usize> {
        let offset = state.next_offset;
        let length = ENCODED_ERROR_OFFSET + text.len();
        let length_field = i32::try_from(length).ok()?;
        if offset.checked_add(length)? > self.buffer.capacity() {
            return None;
        }
        self.buffer.put_bytes(offset + ENCODED_ERROR_OFFSET, text);
        self.buffer
            .put_i64_volatile(offset + FIRST_OBSERVATION_TIMESTAMP_OFFSET, timestamp);
        self.buffer
            .put_i64_volatile(offset + LAST_OBSERVATION_TIMESTAMP_OFFSET, timestamp);
        self.buffer
            .put_i32_volatile(offset + OBSERVATION_COUNT_OFFSET, 0);
        self.buffer
            .put_i32_release(offset + LENGTH_OFFSET, length_field);

        state.next_offset = align(offset + length, RECORD_ALIGNMENT);
        state.observations.insert(
            0,
            Observation {
                error_code,
                text: text.into(),
                offset,
            },
        );
        Some(offset)
    }
}

/// Reads a distinct error log written by Aeron or [`DistinctErrorLog`] (Agrona `ErrorLogReader`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorLogReader;

impl ErrorLogReader {
    /// True if the log holds at least one entry.
    pub fn has_errors(buffer: &AtomicBuffer) -> bool {
        check_alignment(buffer).is_ok()
            && buffer.capacity() >= 4
            && buffer.get_i32_acquire(LENGTH_OFFSET) != 0
    }

    /// Calls `consumer(observation_count, first_timestamp, last_timestamp, text)` for each entry last observed
    /// at or after `since_timestamp`, and returns how many it passed. Stops quietly at the first malformed
    /// entry (see [`ErrorLogReader::try_read`] to learn about it). Non-UTF-8 text is replaced lossily.
    pub fn read(
        buffer: &AtomicBuffer,
        since_timestamp: i64,
        consumer: impl FnMut(i32, i64, i64, &str),
    ) -> usize {
        Self::scan(buffer, since_timestamp, consumer).0
    }

    /// Like [`ErrorLogReader::read`], but reports a misaligned buffer or a malformed entry (after passing
    /// the entries before it to `consumer`).
    pub fn try_read(
        buffer: &AtomicBuffer,
        since_timestamp: i64,
        consumer: impl FnMut(i32, i64, i64, &str),
    ) -> Result<usize, ErrorLogError> {
        match Self::scan(buffer, since_timestamp, consumer) {
            (entries, None) => Ok(entries),
            (_, Some(error)) => Err(error),
        }
    }

    fn scan(
        buffer: &AtomicBuffer,
        since_timestamp: i64,
        mut consumer: impl FnMut(i32, i64, i64, &str),
    ) -> (usize, Option<ErrorLogError>) {
        if let Err(e) = check_alignment(buffer) {
            return (0, Some(e));
        }
        let capacity = buffer.capacity();
        let mut entries = 0;
        let mut offset = 0;
        let mut text = Vec::new();
        while capacity - offset >= 4 {
            let length = buffer.get_i32_acquire(offset + LENGTH_OFFSET);
            if length == 0 {
                break;
            }
            let fits = usize::try_from(length)
                .ok()
                .filter(|&l| l >= ENCODED_ERROR_OFFSET && l <= capacity - offset);
            let Some(entry_length) = fits else {
                let error = ErrorLogError::BadEntryLength {
                    offset,
                    length,
                    capacity,
                };
                return (entries, Some(error));
            };

            let last = buffer.get_i64_acquire(offset + LAST_OBSERVATION_TIMESTAMP_OFFSET);
            if last >= since_timestamp {
                let count = buffer.get_i32_volatile(offset + OBSERVATION_COUNT_OFFSET);
                let first = buffer.get_i64_volatile(offset + FIRST_OBSERVATION_TIMESTAMP_OFFSET);
                text.resize(entry_length - ENCODED_ERROR_OFFSET, 0);
                buffer.get_bytes(offset + ENCODED_ERROR_OFFSET, &mut text);
                let text: Cow<'_, str> = String::from_utf8_lossy(&text);
                consumer(count, first, last, &text);
                entries += 1;
            }
            offset += align(entry_length, RECORD_ALIGNMENT).min(capacity - offset);
        }
        (entries, None)
    }
}

#[cfg(test)]
mod tests;
