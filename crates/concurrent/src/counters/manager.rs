//! The driver side of the counters: allocation, reuse and freeing of counter ids.

use crate::clock::{system_epoch_ms, EpochClock};
use std::fmt;
use std::sync::Arc;

use super::{
    counter_offset, metadata_offset, AtomicCounter, CountersError, CountersReader,
    DEFAULT_OWNER_ID, DEFAULT_REFERENCE_ID, DEFAULT_REGISTRATION_ID,
    FREE_FOR_REUSE_DEADLINE_OFFSET, KEY_OFFSET, LABEL_LENGTH_OFFSET, LABEL_OFFSET, MAX_KEY_LENGTH,
    MAX_LABEL_LENGTH, NOT_FREE_TO_REUSE, OWNER_ID_OFFSET, RECORD_ALLOCATED, RECORD_RECLAIMED,
    REFERENCE_ID_OFFSET, REGISTRATION_ID_OFFSET, STATE_OFFSET, TYPE_ID_OFFSET,
};
use crate::atomic_buffer::AtomicBuffer;

/// How long a freed counter id stays unused before it may be handed out again (driver default 1 s).
pub const DEFAULT_FREE_TO_REUSE_TIMEOUT_MS: i64 = 1_000;

/// Allocates and frees counters (Agrona's `CountersManager`, C's `aeron_counters_manager_t`).
///
/// One thread (the driver conductor) owns the manager; readers in any thread or process see records through
/// the state field, which is written last with release on allocation.
///
/// Reuse follows Aeron: a freed id goes on a free list with a deadline of `now + free_to_reuse_timeout`;
/// allocation takes the oldest freed id whose deadline has passed, otherwise the id after the high-water mark.
pub struct CountersManager {
    reader: CountersReader,
    id_high_water_mark: i32,
    free_list: Vec<i32>,
    free_to_reuse_timeout_ms: i64,
    clock: EpochClock,
}

impl fmt::Debug for CountersManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountersManager")
            .field("reader", &self.reader)
            .field("id_high_water_mark", &self.id_high_water_mark)
            .field("free_list", &self.free_list)
            .field("free_to_reuse_timeout_ms", &self.free_to_reuse_timeout_ms)
            .finish_non_exhaustive()
    }
}

impl CountersManager {
    /// A manager over zeroed buffers, using the system clock and the default free-to-reuse timeout.
    pub fn new(metadata: AtomicBuffer, values: AtomicBuffer) -> Result<Self, CountersError> {
        Ok(CountersManager {
            reader: CountersReader::new(metadata, values)?,
            id_high_water_mark: -1,
            free_list: Vec::new(),
            free_to_reuse_timeout_ms: DEFAULT_FREE_TO_REUSE_TIMEOUT_MS,
            clock: Arc::new(system_epoch_ms),
        })
    }

    /// Uses `clock` (epoch ms) for free-for-reuse deadlines.
    pub fn with_clock(mut self, clock: EpochClock) -> Self {
        self.clock = clock;
        self
    }

    /// Sets how long a freed id waits before reuse.
    pub fn with_free_to_reuse_timeout_ms(mut self, timeout_ms: i64) -> Self {
        self.free_to_reuse_timeout_ms = timeout_ms;
        self
    }

    /// Read access to the same buffers.
    pub fn reader(&self) -> &CountersReader {
        &self.reader
    }

    /// The largest id allocated so far (-1 before the first allocation).
    pub fn id_high_water_mark(&self) -> i32 {
        self.id_high_water_mark
    }

    /// Number of freed ids waiting for reuse.
    pub fn free_list_len(&self) -> usize {
        self.free_list.len()
    }

    /// Allocates a counter: key truncated to [`MAX_KEY_LENGTH`] bytes, label to [`MAX_LABEL_LENGTH`] bytes.
    /// The record's state is written last, with release, so readers never see a half-written record.
    pub fn allocate(
        &mut self,
        type_id: i32,
        key: &[u8],
        label: &str,
    ) -> Result<i32, CountersError> {
        let counter_id = self.next_counter_id()?;
        let record = metadata_offset(counter_id);
        let metadata = self.reader.metadata_buffer();

        metadata.put_i32_volatile(record + TYPE_ID_OFFSET, type_id);
        metadata.put_i64_volatile(record + FREE_FOR_REUSE_DEADLINE_OFFSET, NOT_FREE_TO_REUSE);

        let key = &key[..key.len().min(MAX_KEY_LENGTH)];
        metadata.put_bytes(record + KEY_OFFSET, key);
        metadata.set_memory(
            record + KEY_OFFSET + key.len(),
            MAX_KEY_LENGTH - key.len(),
            0,
        );

        let label = &label.as_bytes()[..label.len().min(MAX_LABEL_LENGTH)];
        metadata.put_bytes(record + LABEL_OFFSET, label);
        metadata.put_i32_volatile(record + LABEL_LENGTH_OFFSET, label.len() as i32);

        metadata.put_i32_release(record + STATE_OFFSET, RECORD_ALLOCATED);
        Ok(counter_id)
    }

    /// Allocates a counter and returns a handle on its value.
    pub fn new_counter(
        &mut self,
        type_id: i32,
        key: &[u8],
        label: &str,
    ) -> Result<AtomicCounter, CountersError> {
        let counter_id = self.allocate(type_id, key, label)?;
        AtomicCounter::new(self.reader.values_buffer(), counter_id)
    }

    fn next_counter_id(&mut self) -> Result<i32, CountersError> {
        if !self.free_list.is_empty() {
            let now_ms = (self.clock)();
            let metadata = self.reader.metadata_buffer();
            let reusable = self.free_list.iter().position(|&id| {
                now_ms
                    >= metadata
                        .get_i64_acquire(metadata_offset(id) + FREE_FOR_REUSE_DEADLINE_OFFSET)
            });
            if let Some(index) = reusable {
                let counter_id = self.free_list.remove(index);
                let values = self.reader.values_buffer();
                let record = counter_offset(counter_id);
                values.put_i64_release(record + REGISTRATION_ID_OFFSET, DEFAULT_REGISTRATION_ID);
                values.put_i64_volatile(record + OWNER_ID_OFFSET, DEFAULT_OWNER_ID);
                values.put_i64_volatile(record + REFERENCE_ID_OFFSET, DEFAULT_REFERENCE_ID);
                values.put_i64_release(record, 0);
                return Ok(counter_id);
            }
        }

        let max_counter_id = self.reader.max_counter_id();
        if self.id_high_water_mark >= max_counter_id {
            return Err(CountersError::Full { max_counter_id });
        }
        self.id_high_water_mark += 1;
        Ok(self.id_high_water_mark)
    }

    /// Frees an allocated counter: state becomes reclaimed (release), the key is zeroed and the id may be
    /// reused once `now + free_to_reuse_timeout` has passed. The value and label stay as they were.
    pub fn free(&mut self, counter_id: i32) -> Result<(), CountersError> {
        let state = self.reader.counter_state(counter_id)?;
        if state != RECORD_ALLOCATED {
            return Err(CountersError::NotAllocated { counter_id, state });
        }
        let record = metadata_offset(counter_id);
        let metadata = self.reader.metadata_buffer();
        metadata.put_i32_release(record + STATE_OFFSET, RECORD_RECLAIMED);
        metadata.set_memory(record + KEY_OFFSET, MAX_KEY_LENGTH, 0);
        let deadline = (self.clock)().saturating_add(self.free_to_reuse_timeout_ms);
        metadata.put_i64_release(record + FREE_FOR_REUSE_DEADLINE_OFFSET, deadline);
        self.free_list.push(counter_id);
        Ok(())
    }

    /// Sets the registration id (release).
    pub fn set_counter_registration_id(
        &self,
        counter_id: i32,
        registration_id: i64,
    ) -> Result<(), CountersError> {
        let offset = self.value_field(counter_id, REGISTRATION_ID_OFFSET)?;
        self.reader
            .values_buffer()
            .put_i64_release(offset, registration_id);
        Ok(())
    }

    /// Sets the owner id (the client id owning the counter; -1 for the driver's own counters).
    pub fn set_counter_owner_id(
        &self,
        counter_id: i32,
        owner_id: i64,
    ) -> Result<(), CountersError> {
        let offset = self.value_field(counter_id, OWNER_ID_OFFSET)?;
        self.reader
            .values_buffer()
            .put_i64_volatile(offset, owner_id);
        Ok(())
    }

    /// Sets the reference id (registration id of a related resource).
    pub fn set_counter_reference_id(
        &self,
        counter_id: i32,
        reference_id: i64,
    ) -> Result<(), CountersError> {
        let offset = self.value_field(counter_id, REFERENCE_ID_OFFSET)?;
        self.reader
            .values_buffer()
            .put_i64_volatile(offset, reference_id);
        Ok(())
    }

    /// Sets the value (release).
    pub fn set_counter_value(&self, counter_id: i32, value: i64) -> Result<(), CountersError> {
        let offset = self.value_field(counter_id, 0)?;
        self.reader.values_buffer().put_i64_release(offset, value);
        Ok(())
    }

    /// Replaces the label (truncated to [`MAX_LABEL_LENGTH`]); the length is written last with release.
    pub fn update_label(&self, counter_id: i32, label: &str) -> Result<(), CountersError> {
        let record = self.metadata_record(counter_id)?;
        let label = &label.as_bytes()[..label.len().min(MAX_LABEL_LENGTH)];
        let metadata = self.reader.metadata_buffer();
        metadata.put_bytes(record + LABEL_OFFSET, label);
        metadata.put_i32_release(record + LABEL_LENGTH_OFFSET, label.len() as i32);
        Ok(())
    }

    /// Appends to the label, as much as fits in [`MAX_LABEL_LENGTH`]; the length is written last with release.
    pub fn append_to_label(&self, counter_id: i32, suffix: &str) -> Result<(), CountersError> {
        let record = self.metadata_record(counter_id)?;
        let metadata = self.reader.metadata_buffer();
        let current = metadata.get_i32_acquire(record + LABEL_LENGTH_OFFSET);
        let current = usize::try_from(current).unwrap_or(0).min(MAX_LABEL_LENGTH);
        let suffix = &suffix.as_bytes()[..suffix.len().min(MAX_LABEL_LENGTH - current)];
        metadata.put_bytes(record + LABEL_OFFSET + current, suffix);
        metadata.put_i32_release(
            record + LABEL_LENGTH_OFFSET,
            (current + suffix.len()) as i32,
        );
        Ok(())
    }

    fn metadata_record(&self, counter_id: i32) -> Result<usize, CountersError> {
        self.reader.counter_state(counter_id)?;
        Ok(metadata_offset(counter_id))
    }

    fn value_field(&self, counter_id: i32, field: usize) -> Result<usize, CountersError> {
        self.reader.counter_state(counter_id)?;
        Ok(counter_offset(counter_id) + field)
    }
}
