//! Feeds arbitrary records and trailer counters to the to-clients broadcast buffer (which every client maps
//! from the driver's `cnc.dat`) and polls it with an in-place `BroadcastReceiver` and a
//! `CopyBroadcastReceiver`.
//!
//! Input: a selector byte (capacity 8 << (sel % 10) bytes), one script byte (the copy receiver's scratch
//! length / 16), the tail intent, tail and latest counters (3 x i64, little-endian), then the records area.
//! Missing bytes are 0. Asserts: nothing panics; padding is never delivered; a delivered message lies inside
//! the records area and fits the scratch buffer.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oxeron_concurrent::broadcast::{
    LATEST_COUNTER_OFFSET, TAIL_COUNTER_OFFSET, TAIL_INTENT_COUNTER_OFFSET, TRAILER_LENGTH,
};
use oxeron_concurrent::AtomicBuffer;

#[path = "shared/readers.rs"]
mod readers;

fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, rest) = data.split_at(n.min(data.len()));
    *data = rest;
    head
}

fn i64_from(bytes: &[u8]) -> i64 {
    let mut raw = [0u8; 8];
    raw[..bytes.len()].copy_from_slice(bytes);
    i64::from_le_bytes(raw)
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let selector = readers::next(&mut data);
    let capacity = 8usize << (selector % 10);
    let script = take(&mut data, 1);
    let buffer = AtomicBuffer::new_zeroed(capacity + TRAILER_LENGTH);
    for offset in [
        TAIL_INTENT_COUNTER_OFFSET,
        TAIL_COUNTER_OFFSET,
        LATEST_COUNTER_OFFSET,
    ] {
        buffer.put_i64(capacity + offset, i64_from(take(&mut data, 8)));
    }
    buffer.put_bytes(0, take(&mut data, capacity));
    readers::broadcast(&buffer, script);
});
