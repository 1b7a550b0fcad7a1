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
    let script = take(&mut data, 16);
    let buffer = AtomicBuffer::new_zeroed(capacity + TRAILER_LENGTH);
    for offset in [
        HEAD_POSITION_OFFSET,
        TAIL_POSITION_OFFSET,
        HEAD_CACHE_POSITION_OFFSET,
        CORRELATION_COUNTER_OFFSET,
        CONSUMER_HEARTBEAT_OFFSET,
    ] {
        buffer.put_i64(capacity + offset, i64_from(take(&mut data, 8)));
    }
    let records = take(&mut data, capacity);
    buffer.put_bytes(0, records);
    readers::ring_buffer(&buffer, script);
});
