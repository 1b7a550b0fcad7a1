//! Feeds arbitrary metadata and values bytes to `CountersReader` (what `oxeron stat` and every client read
//! from the counters sections of `cnc.dat`): the allocated-counter scan, the lookup by type and
//! registration id, and every per-id accessor for ids inside and outside the range.
//!
//! Input: a selector byte (bits 0-2: counters 0..=7; bit 3: 8 stray bytes after the values; bit 4: metadata
//! one record short; bit 5: metadata seen through a view 8 bytes in, misaligned for atomics if bit 6), then
//! the metadata bytes, then the values bytes. Missing bytes are 0. Asserts: nothing panics; accessors
//! succeed exactly for ids in `0..=max_counter_id`; the scan visits only those ids; labels fit 380 bytes
//! (3x for lossy UTF-8).
#![no_main]
use libfuzzer_sys::fuzz_target;
use oxeron_concurrent::counters::{COUNTER_LENGTH, METADATA_LENGTH};

#[path = "shared/readers.rs"]
mod readers;

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let selector = readers::next(&mut data);
    let count = usize::from(selector & 7);
    let values_length = count * COUNTER_LENGTH + if selector & 8 != 0 { 8 } else { 0 };
    let metadata_length = (count * METADATA_LENGTH).saturating_sub(if selector & 16 != 0 {
        METADATA_LENGTH
    } else {
        0
    });
    let mut metadata_bytes = vec![0u8; metadata_length + 9];
    let n = metadata_length.min(data.len());
    metadata_bytes[..n].copy_from_slice(&data[..n]);
    data = &data[n..];
    let mut values_bytes = vec![0u8; values_length];
    let n = values_length.min(data.len());
    values_bytes[..n].copy_from_slice(&data[..n]);

    let values = readers::heap(&values_bytes);
    let metadata = if selector & 32 != 0 {
        // The same records seen from a buffer that starts earlier: a view of it at 8 (aligned) or 9 (not).
        let mut shifted = vec![0u8; 9];
        shifted.extend_from_slice(&metadata_bytes[..metadata_length]);
        let at = if selector & 64 != 0 { 9 } else { 8 };
        readers::heap(&shifted).view(at, metadata_length).unwrap()
    } else {
        readers::heap(&metadata_bytes[..metadata_length])
    };
    readers::counters(&metadata, &values);
});
