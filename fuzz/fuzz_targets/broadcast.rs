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

#[path = "shared/readers.rs"]
mod readers;

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let selector = readers::next(&mut data);
    let capacity = 8usize << (selector % 10);
    let script = readers::take(&mut data, 1);
    let buffer = readers::with_trailer(
        &mut data,
        capacity,
        TRAILER_LENGTH,
        &[
            TAIL_INTENT_COUNTER_OFFSET,
            TAIL_COUNTER_OFFSET,
            LATEST_COUNTER_OFFSET,
        ],
    );
    readers::broadcast(&buffer, script);
});
