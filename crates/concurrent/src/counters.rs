//! Aeron's counters: 64-bit values in one buffer, their metadata (state, type id, key, label) in another.
//!
//! Counter `id` has a 128-byte value record at `id * COUNTER_LENGTH` in the values buffer and a 512-byte
//! metadata record at `id * METADATA_LENGTH` in the metadata buffer (`aeronc.h`, Agrona `CountersReader`).
//! The driver allocates and frees counters with [`CountersManager`]; clients and tools read them with
//! [`CountersReader`] and update the ones they own through [`AtomicCounter`].
//!
//! Value record: value `i64 @0`, registration id `i64 @8`, owner id `i64 @16`, reference id `i64 @24`, padding.
//! Metadata record: state `i32 @0`, type id `i32 @4`, free-for-reuse deadline `i64 @8`, key `[u8; 112] @16`,
//! label length `i32 @128`, label `[u8; 380] @132`.

mod manager;
pub mod type_id;

pub use crate::clock::EpochClock;
pub use manager::{CountersManager, DEFAULT_FREE_TO_REUSE_TIMEOUT_MS};

use crate::atomic_buffer::AtomicBuffer;

/// Length of a value record.
pub const COUNTER_LENGTH: usize = 128;
/// Offset of the registration id in a value record.
pub const REGISTRATION_ID_OFFSET: usize = 8;
/// Offset of the owner id (the client id owning the counter) in a value record.
pub const OWNER_ID_OFFSET: usize = 16;
/// Offset of the reference id (a related registration id) in a value record.
pub const REFERENCE_ID_OFFSET: usize = 24;

/// Length of a metadata record.
pub const METADATA_LENGTH: usize = 512;
/// Offset of the record state in a metadata record.
pub const STATE_OFFSET: usize = 0;
/// Offset of the type id in a metadata record.
pub const TYPE_ID_OFFSET: usize = 4;
/// Offset of the free-for-reuse deadline (epoch ms) in a metadata record.
pub const FREE_FOR_REUSE_DEADLINE_OFFSET: usize = 8;
/// Offset of the key in a metadata record.
pub const KEY_OFFSET: usize = 16;
/// Offset of the label length (`i32`) in a metadata record. Agrona calls this `LABEL_OFFSET`.
pub const LABEL_LENGTH_OFFSET: usize = 128;
/// Offset of the label bytes in a metadata record. C's `AERON_COUNTER_LABEL_LENGTH_OFFSET` is this offset.
pub const LABEL_OFFSET: usize = 132;
/// Maximum key length; longer keys are truncated.
pub const MAX_KEY_LENGTH: usize = 112;
/// Maximum label length; longer labels are truncated.
pub const MAX_LABEL_LENGTH: usize = 380;

/// State of a metadata record that has never been allocated. Scans stop at the first one.
pub const RECORD_UNUSED: i32 = 0;
/// State of a metadata record in use.
pub const RECORD_ALLOCATED: i32 = 1;
/// State of a freed metadata record, reusable once its deadline has passed.
pub const RECORD_RECLAIMED: i32 = -1;

/// Free-for-reuse deadline of an allocated counter.
pub const NOT_FREE_TO_REUSE: i64 = i64::MAX;
/// Registration id of a counter nobody has set one for.
pub const DEFAULT_REGISTRATION_ID: i64 = 0;
/// Owner id of a counter nobody has set one for.
pub const DEFAULT_OWNER_ID: i64 = 0;
/// Reference id of a counter nobody has set one for.
pub const DEFAULT_REFERENCE_ID: i64 = 0;
/// Counter id meaning "no counter".
pub const NULL_COUNTER_ID: i32 = -1;

/// Offset of a (non-negative) counter id's value record in the values buffer.
#[inline]
pub const fn counter_offset(counter_id: i32) -> usize {
    counter_id as usize * COUNTER_LENGTH
}

/// Offset of a (non-negative) counter id's metadata record in the metadata buffer.
#[inline]
pub const fn metadata_offset(counter_id: i32) -> usize {
    counter_id as usize * METADATA_LENGTH
}

/// Length of the metadata buffer that goes with a values buffer of `values_length` bytes.
#[inline]
pub const fn metadata_buffer_length(values_length: usize) -> usize {
    values_length * (METADATA_LENGTH / COUNTER_LENGTH)
}

/// Why a counters operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountersError {
    /// The buffers cannot hold counters: metadata shorter than 4 x values, or too large for `i32` ids.
    #[error("counter buffer lengths invalid, metadata_length: {metadata_length}, values_length: {values_length}")]
    InvalidBufferLengths {
        /// Metadata buffer length.
        metadata_length: usize,
        /// Values buffer length.
        values_length: usize,
    },
    /// A buffer does not start on an 8-byte boundary, so its fields cannot be accessed atomically.
    #[error("counter buffer at {address:#x} is not 8-byte aligned")]
    Misaligned {
        /// Address of the buffer.
        address: usize,
    },
    /// A counter id outside `0..=max_counter_id`.
    #[error("counter id {counter_id} out of range: 0..={max_counter_id}")]
    InvalidCounterId {
        /// The id asked for.
        counter_id: i32,
        /// The largest valid id.
        max_counter_id: i32,
    },
    /// Every counter id is in use (or reclaimed and not yet reusable).
    #[error("max counter id ({max_counter_id}) exceeded")]
    Full {
        /// The largest valid id.
        max_counter_id: i32,
    },
    /// Freeing a counter that is not allocated.
    #[error("counter {counter_id} is not allocated (state {state})")]
    NotAllocated {
        /// The id asked for.
        counter_id: i32,
        /// Its record state.
        state: i32,
    },
}

fn check_alignment(buffer: &AtomicBuffer) -> Result<(), CountersError> {
    if buffer.address() % 8 == 0 {
        Ok(())
    } else {
        Err(CountersError::Misaligned {
            address: buffer.address(),
        })
    }
}

/// Read access to counters in a pair of (metadata, values) buffers, such as the sections of `cnc.dat`.
///
/// Every id-taking method checks the id against [`CountersReader::max_counter_id`]; the buffers are checked
/// once, on construction, so no method panics whatever the buffers hold.
#[derive(Debug, Clone)]
pub struct CountersReader {
    metadata: AtomicBuffer,
    values: AtomicBuffer,
    max_counter_id: i32,
}

impl CountersReader {
    /// Wraps the buffers. The metadata buffer must be at least 4 x the values buffer, and both 8-byte aligned.
    pub fn new(metadata: AtomicBuffer, values: AtomicBuffer) -> Result<Self, CountersError> {
        let invalid = || CountersError::InvalidBufferLengths {
            metadata_length: metadata.capacity(),
            values_length: values.capacity(),
        };
        let count = values.capacity() / COUNTER_LENGTH;
        let max_counter_id = i32::try_from(count).map_err(|_| invalid())? - 1;
        if metadata.capacity() / METADATA_LENGTH < count {
            return Err(invalid());
        }
        check_alignment(&metadata)?;
        check_alignment(&values)?;
        Ok(CountersReader {
            metadata,
            values,
            max_counter_id,
        })
    }

    /// The metadata buffer.
    pub fn metadata_buffer(&self) -> &AtomicBuffer {
        &self.metadata
    }

    /// The values buffer.
    pub fn values_buffer(&self) -> &AtomicBuffer {
        &self.values
    }

    /// The largest counter id the values buffer has room for (-1 if none).
    pub fn max_counter_id(&self) -> i32 {
        self.max_counter_id
    }

    fn validate(&self, counter_id: i32) -> Result<(), CountersError> {
        if (0..=self.max_counter_id).contains(&counter_id) {
            Ok(())
        } else {
            Err(CountersError::InvalidCounterId {
                counter_id,
                max_counter_id: self.max_counter_id,
            })
        }
    }

    fn meta(&self, counter_id: i32) -> Result<usize, CountersError> {
        self.validate(counter_id)?;
        Ok(metadata_offset(counter_id))
    }

    fn value_at(&self, counter_id: i32) -> Result<usize, CountersError> {
        self.validate(counter_id)?;
        Ok(counter_offset(counter_id))
    }

    /// Record state: [`RECORD_UNUSED`], [`RECORD_ALLOCATED`] or [`RECORD_RECLAIMED`] (acquire).
    pub fn counter_state(&self, counter_id: i32) -> Result<i32, CountersError> {
        Ok(self
            .metadata
            .get_i32_acquire(self.meta(counter_id)? + STATE_OFFSET))
    }

    /// Type id.
    pub fn counter_type_id(&self, counter_id: i32) -> Result<i32, CountersError> {
        Ok(self
            .metadata
            .get_i32_volatile(self.meta(counter_id)? + TYPE_ID_OFFSET))
    }

    /// Epoch ms after which a reclaimed counter may be reused; [`NOT_FREE_TO_REUSE`] while allocated.
    pub fn free_for_reuse_deadline(&self, counter_id: i32) -> Result<i64, CountersError> {
        let offset = self.meta(counter_id)? + FREE_FOR_REUSE_DEADLINE_OFFSET;
        Ok(self.metadata.get_i64_volatile(offset))
    }

    /// A copy of the whole key area ([`MAX_KEY_LENGTH`] bytes; the layout depends on the type id).
    pub fn counter_key(&self, counter_id: i32) -> Result<[u8; MAX_KEY_LENGTH], CountersError> {
        let mut key = [0; MAX_KEY_LENGTH];
        self.metadata
            .get_bytes(self.meta(counter_id)? + KEY_OFFSET, &mut key);
        Ok(key)
    }

    /// The label. A stored length outside `0..=380` is clamped; non-UTF-8 bytes are replaced.
    pub fn counter_label(&self, counter_id: i32) -> Result<String, CountersError> {
        let offset = self.meta(counter_id)?;
        let mut label = [0; MAX_LABEL_LENGTH];
        let label = self.label_into(offset, &mut label);
        Ok(String::from_utf8_lossy(label).into_owned())
    }

    fn label_into<'a>(&self, record: usize, out: &'a mut [u8; MAX_LABEL_LENGTH]) -> &'a [u8] {
        let length = self.metadata.get_i32_acquire(record + LABEL_LENGTH_OFFSET);
        let length = usize::try_from(length).unwrap_or(0).min(MAX_LABEL_LENGTH);
        let label = &mut out[..length];
        self.metadata.get_bytes(record + LABEL_OFFSET, label);
        label
    }

    /// Current value (acquire).
    pub fn counter_value(&self, counter_id: i32) -> Result<i64, CountersError> {
        Ok(self.values.get_i64_acquire(self.value_at(counter_id)?))
    }

    /// Registration id (acquire).
    pub fn counter_registration_id(&self, counter_id: i32) -> Result<i64, CountersError> {
        let offset = self.value_at(counter_id)? + REGISTRATION_ID_OFFSET;
        Ok(self.values.get_i64_acquire(offset))
    }

    /// Owner id: the client id that owns the counter, -1 for the driver's own counters.
    pub fn counter_owner_id(&self, counter_id: i32) -> Result<i64, CountersError> {
        let offset = self.value_at(counter_id)? + OWNER_ID_OFFSET;
        Ok(self.values.get_i64_volatile(offset))
    }

    /// Reference id: the registration id of a related resource (the image of a `sub-pos`, for instance).
    pub fn counter_reference_id(&self, counter_id: i32) -> Result<i64, CountersError> {
        let offset = self.value_at(counter_id)? + REFERENCE_ID_OFFSET;
        Ok(self.values.get_i64_volatile(offset))
    }

    /// Calls `f(counter_id, type_id, key, label)` for every allocated counter, from id 0, stopping at the first
    /// unused record (Aeron's scan rule). Reclaimed records are skipped. `key` is the whole key area.
    pub fn for_each(&self, mut f: impl FnMut(i32, i32, &[u8], &str)) {
        let mut key = [0; MAX_KEY_LENGTH];
        let mut label = [0; MAX_LABEL_LENGTH];
        for counter_id in 0..=self.max_counter_id {
            let record = metadata_offset(counter_id);
            match self.metadata.get_i32_acquire(record + STATE_OFFSET) {
                RECORD_ALLOCATED => {
                    let type_id = self.metadata.get_i32_volatile(record + TYPE_ID_OFFSET);
                    self.metadata.get_bytes(record + KEY_OFFSET, &mut key);
                    let label = self.label_into(record, &mut label);
                    f(counter_id, type_id, &key, &String::from_utf8_lossy(label));
                }
                RECORD_UNUSED => break,
                _ => {}
            }
        }
    }

    /// Like [`CountersReader::for_each`], also passing the counter's value first:
    /// `f(value, counter_id, type_id, key, label)`.
    pub fn for_each_counter(&self, mut f: impl FnMut(i64, i32, i32, &[u8], &str)) {
        self.for_each(|counter_id, type_id, key, label| {
            let value = self.values.get_i64_acquire(counter_offset(counter_id));
            f(value, counter_id, type_id, key, label);
        });
    }

    /// The first allocated counter with this type id and registration id, scanning like
    /// [`CountersReader::for_each`].
    pub fn find_by_type_id_and_registration_id(
        &self,
        type_id: i32,
        registration_id: i64,
    ) -> Option<i32> {
        let matches = |counter_id: i32, record: usize| {
            self.metadata.get_i32_volatile(record + TYPE_ID_OFFSET) == type_id
                && self
                    .values
                    .get_i64_acquire(counter_offset(counter_id) + REGISTRATION_ID_OFFSET)
                    == registration_id
        };
        for counter_id in 0..=self.max_counter_id {
            let record = metadata_offset(counter_id);
            match self.metadata.get_i32_acquire(record + STATE_OFFSET) {
                RECORD_ALLOCATED if matches(counter_id, record) => return Some(counter_id),
                RECORD_UNUSED => break,
                _ => {}
            }
        }
        None
    }
}

/// An owned handle on one counter's value: the counter id and a view of its value record.
///
/// "Release" forms are for a single writer (Agrona's ordered forms): a plain read then a release store.
/// Plain forms are atomic read-modify-write and safe with many writers.
#[derive(Debug, Clone)]
pub struct AtomicCounter {
    id: i32,
    record: AtomicBuffer,
}

impl AtomicCounter {
    /// A handle on counter `counter_id` in `values`.
    pub fn new(values: &AtomicBuffer, counter_id: i32) -> Result<Self, CountersError> {
        let max_counter_id =
            i32::try_from(values.capacity() / COUNTER_LENGTH).unwrap_or(i32::MAX) - 1;
        if !(0..=max_counter_id).contains(&counter_id) {
            return Err(CountersError::InvalidCounterId {
                counter_id,
                max_counter_id,
            });
        }
        check_alignment(values)?;
        let record = values
            .view(counter_offset(counter_id), COUNTER_LENGTH)
            .expect("counter id checked against the buffer length");
        Ok(AtomicCounter {
            id: counter_id,
            record,
        })
    }

    /// The counter id.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Current value (acquire).
    #[inline]
    pub fn get(&self) -> i64 {
        self.record.get_i64_acquire(0)
    }

    /// Current value with no ordering (a relaxed atomic load).
    #[inline]
    pub fn get_plain(&self) -> i64 {
        self.record.get_i64_volatile(0)
    }

    /// Stores `value` (release).
    #[inline]
    pub fn set(&self, value: i64) {
        self.record.put_i64_release(0, value)
    }

    /// Stores `value` with no ordering (a relaxed atomic store).
    #[inline]
    pub fn set_plain(&self, value: i64) {
        self.record.put_i64_volatile(0, value)
    }

    /// Atomically adds 1; returns the previous value.
    #[inline]
    pub fn increment(&self) -> i64 {
        self.record.get_and_add_i64(0, 1)
    }

    /// Adds 1 with a release store (single writer only); returns the previous value.
    #[inline]
    pub fn increment_release(&self) -> i64 {
        self.get_and_add_release(1)
    }

    /// Atomically adds `delta`; returns the previous value.
    #[inline]
    pub fn get_and_add(&self, delta: i64) -> i64 {
        self.record.get_and_add_i64(0, delta)
    }

    /// Adds `delta` with a release store (single writer only); returns the previous value.
    #[inline]
    pub fn get_and_add_release(&self, delta: i64) -> i64 {
        let current = self.record.get_i64_volatile(0);
        self.record.put_i64_release(0, current.wrapping_add(delta));
        current
    }

    /// Atomically replaces `expected` with `update`; true on success.
    #[inline]
    pub fn compare_and_set(&self, expected: i64, update: i64) -> bool {
        self.record.compare_and_set_i64(0, expected, update)
    }

    /// Stores `proposed` if it is greater than the current value (release; single writer only).
    /// Returns true if it stored.
    #[inline]
    pub fn propose_max_release(&self, proposed: i64) -> bool {
        if self.record.get_i64_volatile(0) < proposed {
            self.record.put_i64_release(0, proposed);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests;
