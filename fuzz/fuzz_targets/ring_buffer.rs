//! Feeds arbitrary records and trailer positions to the to-driver many-to-one ring buffer (the driver
//! conductor's command channel, which any client process can write), then runs the consumer (read,
//! controlled read, unblock) and a producer (write, claim/commit/abort) over it in an order the input picks.
//!
//! Input: a selector byte (capacity 8 << (sel % 10) bytes), 16 script bytes, the head, tail, head cache,
//! correlation counter and heartbeat (5 x i64, little-endian), then the records area. Missing bytes are 0.
//! Asserts: nothing panics (every corrupt length or position is a typed error); padding is never delivered;
//! reads stay within their limit; the size stays within the capacity.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oxeron_concurrent::ring_buffer::{
    CONSUMER_HEARTBEAT_OFFSET, CORRELATION_COUNTER_OFFSET, HEAD_CACHE_POSITION_OFFSET,
    HEAD_POSITION_OFFSET, TAIL_POSITION_OFFSET, TRAILER_LENGTH,
};

#[path = "shared/readers.rs"]
mod readers;

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let selector = readers::next(&mut data);
    let capacity = 8usize << (selector % 10);
    let script = readers::take(&mut data, 16);
    let buffer = readers::with_trailer(
        &mut data,
        capacity,
        TRAILER_LENGTH,
        &[
            HEAD_POSITION_OFFSET,
            TAIL_POSITION_OFFSET,
            HEAD_CACHE_POSITION_OFFSET,
            CORRELATION_COUNTER_OFFSET,
            CONSUMER_HEARTBEAT_OFFSET,
        ],
    );
    readers::ring_buffer(&buffer, script);
});
