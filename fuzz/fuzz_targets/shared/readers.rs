//! Drivers for the shared-memory readers, used by several targets: each takes a buffer whose bytes came
//! from the fuzzer (a section of a mapped file another process wrote) and runs what a consumer runs on it,
//! asserting only what must hold whatever the bytes are.
#![allow(dead_code)]

use oxeron_concurrent::broadcast::{BroadcastReceiver, CopyBroadcastReceiver, PADDING_MSG_TYPE_ID};
use oxeron_concurrent::counters::{CountersReader, MAX_LABEL_LENGTH};
use oxeron_concurrent::error_log::{ErrorLogReader, ENCODED_ERROR_OFFSET};
use oxeron_concurrent::ring_buffer::{ControlledReadAction, ManyToOneRingBuffer};
use oxeron_concurrent::AtomicBuffer;

/// A heap buffer (64-byte aligned) holding `bytes`.
pub fn heap(bytes: &[u8]) -> AtomicBuffer {
    let buffer = AtomicBuffer::new_zeroed(bytes.len());
    buffer.put_bytes(0, bytes);
    buffer
}

/// The next script byte, 0 once the script runs out.
pub fn next(script: &mut &[u8]) -> u8 {
    match script.split_first() {
        Some((&b, rest)) => {
            *script = rest;
            b
        }
        None => 0,
    }
}

/// The next `n` bytes of `data` (fewer once it runs out).
pub fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, rest) = data.split_at(n.min(data.len()));
    *data = rest;
    head
}

/// A buffer of `capacity` record bytes and a trailer of `trailer_length`, both from `data`: one `i64` from
/// the fuzzer at each of the trailer's `counter_offsets`, then the records.
pub fn with_trailer(
    data: &mut &[u8],
    capacity: usize,
    trailer_length: usize,
    counter_offsets: &[usize],
) -> AtomicBuffer {
    let buffer = AtomicBuffer::new_zeroed(capacity + trailer_length);
    for &offset in counter_offsets {
        let bytes = take(data, 8);
        let mut raw = [0u8; 8];
        raw[..bytes.len()].copy_from_slice(bytes);
        buffer.put_i64(capacity + offset, i64::from_le_bytes(raw));
    }
    buffer.put_bytes(0, take(data, capacity));
    buffer
}

/// The consumer (driver conductor) and a producer (client) of a to-driver ring buffer with these bytes:
/// reads, controlled reads, unblocks and writes, in an order the script picks.
pub fn ring_buffer(buffer: &AtomicBuffer, mut script: &[u8]) {
    let Ok(ring) = ManyToOneRingBuffer::new(buffer.clone()) else {
        return;
    };
    let capacity = ring.capacity();
    assert!(ring.max_msg_length() <= capacity);
    let mut check = |msg_type_id: i32, message: &AtomicBuffer| {
        assert_ne!(msg_type_id, PADDING_MSG_TYPE_ID, "padding delivered");
        assert!(message.capacity() <= capacity);
        let _ = message.to_vec(0, message.capacity());
    };
    for _ in 0..8 {
        let op = next(&mut script);
        let limit = usize::from(op >> 3) + 1;
        match op & 7 {
            0 | 1 => {
                if let Ok(n) = ring.read(&mut check, limit) {
                    assert!(n <= limit);
                }
            }
            2 => {
                let action = match next(&mut script) & 3 {
                    0 => ControlledReadAction::Abort,
                    1 => ControlledReadAction::Break,
                    2 => ControlledReadAction::Commit,
                    _ => ControlledReadAction::Continue,
                };
                let result = ring.controlled_read(
                    |t, m| {
                        check(t, m);
                        action
                    },
                    limit,
                );
                if let Ok(n) = result {
                    assert!(n <= limit);
                }
            }
            3 => {
                let _ = ring.unblock();
            }
            4 => {
                let length = usize::from(next(&mut script));
                let _ = ring.write(i32::from(next(&mut script)), &vec![0xA5; length]);
            }
            5 => {
                let length = usize::from(next(&mut script));
                if let Ok(claim) = ring.try_claim(i32::from(next(&mut script)), length) {
                    assert_eq!(claim.length(), length);
                    claim.buffer().set_memory(0, length, 0x5A);
                    let _ = match next(&mut script) & 1 {
                        0 => claim.commit(),
                        _ => claim.abort(),
                    };
                }
            }
            6 => {
                assert!(ring.size() <= capacity);
                let _ = ring.producer_position();
                let _ = ring.consumer_position();
                let _ = ring.consumer_heartbeat_time();
            }
            _ => {
                let _ = ring.next_correlation_id();
            }
        }
    }
}

/// A client's receivers of a to-clients broadcast buffer with these bytes: an in-place receiver and a copy
/// receiver, each polled a few times.
pub fn broadcast(buffer: &AtomicBuffer, mut script: &[u8]) {
    let Ok(mut receiver) = BroadcastReceiver::new(buffer.clone()) else {
        return;
    };
    let capacity = receiver.capacity();
    for _ in 0..8 {
        match receiver.receive_next() {
            Ok(true) => {
                assert_ne!(receiver.type_id(), PADDING_MSG_TYPE_ID, "padding delivered");
                assert!(receiver.offset() + receiver.length() <= capacity);
                let _ = buffer.to_vec(receiver.offset(), receiver.length());
                let _ = receiver.validate();
            }
            Ok(false) => break,
            Err(_) => {}
        }
    }
    let Ok(receiver) = BroadcastReceiver::new(buffer.clone()) else {
        unreachable!("the same buffer was accepted a moment ago");
    };
    let scratch = usize::from(next(&mut script)) * 16;
    let mut copy = CopyBroadcastReceiver::with_scratch_length(receiver, scratch);
    for _ in 0..8 {
        let result = copy.receive(|msg_type_id, message| {
            assert_ne!(msg_type_id, PADDING_MSG_TYPE_ID, "padding delivered");
            assert!(message.len() <= scratch);
        });
        if let Ok(n) = result {
            assert!(n <= 1);
            if n == 0 {
                break;
            }
        }
    }
}

/// A tool's reader of counters with these metadata and values bytes: the scan and every per-id accessor.
pub fn counters(metadata: &AtomicBuffer, values: &AtomicBuffer) {
    let Ok(reader) = CountersReader::new(metadata.clone(), values.clone()) else {
        return;
    };
    let max = reader.max_counter_id();
    assert!(max >= -1);
    let mut seen = 0;
    reader.for_each_counter(|_, id, _, key, label| {
        assert!((0..=max).contains(&id));
        assert!(key.len() <= 112);
        assert!(label.len() <= 3 * MAX_LABEL_LENGTH);
        seen += 1;
    });
    assert!(seen <= max + 1);
    for id in [
        -1,
        0,
        1,
        max / 2,
        max,
        max.saturating_add(1),
        i32::MAX,
        i32::MIN,
    ] {
        let valid = (0..=max).contains(&id);
        assert_eq!(reader.counter_state(id).is_ok(), valid);
        assert_eq!(reader.counter_type_id(id).is_ok(), valid);
        assert_eq!(reader.free_for_reuse_deadline(id).is_ok(), valid);
        assert_eq!(reader.counter_key(id).is_ok(), valid);
        if let Ok(label) = reader.counter_label(id) {
            assert!(label.len() <= 3 * MAX_LABEL_LENGTH);
        }
        assert_eq!(reader.counter_value(id).is_ok(), valid);
        assert_eq!(reader.counter_registration_id(id).is_ok(), valid);
        assert_eq!(reader.counter_owner_id(id).is_ok(), valid);
        assert_eq!(reader.counter_reference_id(id).is_ok(), valid);
    }
    if let Some(id) = reader.find_by_type_id_and_registration_id(0, 0) {
        assert!((0..=max).contains(&id));
    }
}

/// A tool's reader of a distinct error log with these bytes.
pub fn error_log(buffer: &AtomicBuffer) {
    let _ = ErrorLogReader::has_errors(buffer);
    let mut delivered = 0;
    let result = ErrorLogReader::try_read(buffer, i64::MIN, |_, _, _, text| {
        assert!(text.len() <= 3 * buffer.capacity());
        delivered += 1;
    });
    assert!(delivered <= buffer.capacity() / ENCODED_ERROR_OFFSET);
    let quiet = ErrorLogReader::read(buffer, i64::MIN, |_, _, _, _| {});
    assert_eq!(quiet, delivered);
    if let Ok(n) = result {
        assert_eq!(n, delivered);
    }
    let recent = ErrorLogReader::read(buffer, 0, |_, _, last, _| assert!(last >= 0));
    assert!(recent <= delivered);
}
