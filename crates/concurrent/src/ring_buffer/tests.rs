use super::*;
use proptest::prelude::*;

const CAPACITY: usize = 1024;

fn ring(capacity: usize) -> ManyToOneRingBuffer {
    ManyToOneRingBuffer::new(AtomicBuffer::new_zeroed(capacity + TRAILER_LENGTH)).unwrap()
}

/// Drains everything, calling `read` until a call consumes nothing.
fn drain(rb: &ManyToOneRingBuffer) -> Vec<(i32, Vec<u8>)> {
    let mut out = Vec::new();
    loop {
        let before = rb.consumer_position();
        rb.read(|t, m| out.push((t, m.to_vec(0, m.capacity()))), usize::MAX)
            .unwrap();
        if rb.consumer_position() == before {
            return out;
        }
    }
}

fn set_positions(rb: &ManyToOneRingBuffer, position: i64) {
    let b = rb.buffer();
    b.put_i64(CAPACITY + HEAD_POSITION_OFFSET, position);
    b.put_i64(CAPACITY + HEAD_CACHE_POSITION_OFFSET, position);
    b.put_i64(CAPACITY + TAIL_POSITION_OFFSET, position);
}

#[test]
fn construction_checks_capacity_and_alignment() {
    assert_eq!(ring(CAPACITY).capacity(), CAPACITY);
    assert_eq!(ring(CAPACITY).max_msg_length(), CAPACITY / 8);
    assert_eq!(ring(MIN_CAPACITY).max_msg_length(), 0);
    for length in [
        0,
        100,
        TRAILER_LENGTH,
        TRAILER_LENGTH + 1000,
        TRAILER_LENGTH + 4,
    ] {
        assert_eq!(
            ManyToOneRingBuffer::new(AtomicBuffer::new_zeroed(length)).unwrap_err(),
            RingBufferError::InvalidCapacity { length }
        );
    }
    let unaligned = AtomicBuffer::new_zeroed(CAPACITY + TRAILER_LENGTH + 8)
        .view(4, CAPACITY + TRAILER_LENGTH)
        .unwrap();
    assert!(matches!(
        ManyToOneRingBuffer::new(unaligned),
        Err(RingBufferError::Misaligned { .. })
    ));
}

#[test]
fn write_lays_out_the_record_as_aeron_does() {
    let rb = ring(CAPACITY);
    rb.write(7, b"hello").unwrap();
    let b = rb.buffer();
    assert_eq!(b.get_i32(0), 13, "length = header + message, unaligned");
    assert_eq!(b.get_i32(4), 7);
    assert_eq!(b.to_vec(8, 5), b"hello");
    assert_eq!(
        b.get_i64(CAPACITY + TAIL_POSITION_OFFSET),
        16,
        "tail moves by the aligned length"
    );
    assert_eq!(rb.producer_position(), 16);
    assert_eq!(rb.size(), 16);

    let mut seen = Vec::new();
    let n = rb
        .read(|t, m| seen.push((t, m.to_vec(0, m.capacity()))), 10)
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(seen, vec![(7, b"hello".to_vec())]);
    assert_eq!(rb.consumer_position(), 16);
    assert_eq!(b.get_i64(CAPACITY + HEAD_POSITION_OFFSET), 16);
    assert_eq!(b.to_vec(0, 16), vec![0; 16], "consumed records are zeroed");
    assert_eq!(rb.size(), 0);
    assert_eq!(rb.read(|_, _| panic!("nothing to read"), 10).unwrap(), 0);
}

#[test]
fn write_rejects_bad_type_ids_long_messages_and_reports_full() {
    let rb = ring(CAPACITY);
    assert_eq!(rb.write(0, b"x"), Err(RingBufferError::InvalidMsgTypeId(0)));
    assert_eq!(
        rb.write(-1, b"x"),
        Err(RingBufferError::InvalidMsgTypeId(-1))
    );
    assert_eq!(
        rb.write(1, &[0; CAPACITY / 8 + 1]),
        Err(RingBufferError::MessageTooLong {
            length: CAPACITY / 8 + 1,
            max_msg_length: CAPACITY / 8
        })
    );
    let msg = [1u8; CAPACITY / 8 - HEADER_LENGTH];
    for _ in 0..8 {
        rb.write(1, &msg).unwrap();
    }
    assert_eq!(rb.size(), CAPACITY);
    assert_eq!(rb.write(1, b""), Err(RingBufferError::InsufficientCapacity));
    assert_eq!(rb.read(|_, _| {}, 3).unwrap(), 3);
    rb.write(1, &msg).unwrap();
    assert_eq!(drain(&rb).len(), 6);
}

#[test]
fn message_count_limit_is_respected() {
    let rb = ring(CAPACITY);
    for i in 0..5u8 {
        rb.write(1, &[i]).unwrap();
    }
    assert_eq!(rb.read(|_, _| {}, 2).unwrap(), 2);
    assert_eq!(rb.consumer_position(), 32);
    let rest = drain(&rb);
    assert_eq!(
        rest.iter().map(|(_, m)| m[0]).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
}

#[test]
fn wrap_around_inserts_padding_and_places_the_record_at_zero() {
    let rb = ring(CAPACITY);
    let start = (3 * CAPACITY - 16) as i64;
    set_positions(&rb, start);
    rb.write(9, &[0xAB; 32]).unwrap();

    let b = rb.buffer();
    assert_eq!(
        b.get_i32(CAPACITY - 16),
        16,
        "padding covers the bytes to the end"
    );
    assert_eq!(b.get_i32(CAPACITY - 12), PADDING_MSG_TYPE_ID);
    assert_eq!(b.get_i32(0), 40);
    assert_eq!(b.get_i32(4), 9);
    assert_eq!(rb.producer_position(), start + 16 + 40);

    // The first read only reaches the end of the buffer, where it finds padding.
    assert_eq!(
        rb.read(|_, _| panic!("padding is not a message"), 10)
            .unwrap(),
        0
    );
    assert_eq!(rb.consumer_position(), start + 16);
    let mut seen = Vec::new();
    assert_eq!(
        rb.read(|t, m| seen.push((t, m.to_vec(0, m.capacity()))), 10)
            .unwrap(),
        1
    );
    assert_eq!(seen, vec![(9, vec![0xAB; 32])]);
    assert_eq!(rb.consumer_position(), rb.producer_position());
}

#[test]
fn wrap_around_waits_for_the_head_to_leave_the_start() {
    let rb = ring(CAPACITY);
    // Head at index 8 (one 8-byte record unread), tail 16 bytes before the end: a 32-byte record fits
    // neither before the end nor before the head.
    let b = rb.buffer();
    b.put_i64(CAPACITY + HEAD_POSITION_OFFSET, (CAPACITY + 8) as i64);
    b.put_i64(CAPACITY + HEAD_CACHE_POSITION_OFFSET, (CAPACITY + 8) as i64);
    b.put_i64(CAPACITY + TAIL_POSITION_OFFSET, (2 * CAPACITY - 16) as i64);
    assert_eq!(
        rb.write(1, &[0; 24]),
        Err(RingBufferError::InsufficientCapacity)
    );
    assert_eq!(
        rb.producer_position(),
        (2 * CAPACITY - 16) as i64,
        "nothing claimed"
    );
    rb.write(1, &[0; 8]).unwrap();
}

#[test]
fn try_claim_commit_publishes_in_place() {
    let rb = ring(CAPACITY);
    let claim = rb.try_claim(5, 12).unwrap();
    assert_eq!(claim.index(), 8);
    assert_eq!(claim.length(), 12);
    assert_eq!(
        rb.buffer().get_i32(0),
        -20,
        "pending records hold a negative length"
    );
    assert_eq!(rb.buffer().get_i32(4), 5);
    claim.buffer().put_bytes(0, b"claimed-data");
    assert_eq!(rb.read(|_, _| panic!("not committed yet"), 10).unwrap(), 0);
    claim.commit().unwrap();
    let seen = drain(&rb);
    assert_eq!(seen, vec![(5, b"claimed-data".to_vec())]);
}

#[test]
fn try_claim_validates_like_write() {
    let rb = ring(CAPACITY);
    assert_eq!(
        rb.try_claim(0, 1).unwrap_err(),
        RingBufferError::InvalidMsgTypeId(0)
    );
    assert!(matches!(
        rb.try_claim(1, CAPACITY).unwrap_err(),
        RingBufferError::MessageTooLong { .. }
    ));
}

#[test]
fn abort_and_drop_turn_the_claim_into_padding() {
    let rb = ring(CAPACITY);
    rb.try_claim(5, 4).unwrap().abort().unwrap();
    assert_eq!(rb.buffer().get_i32(0), 12);
    assert_eq!(rb.buffer().get_i32(4), PADDING_MSG_TYPE_ID);
    {
        let _dropped = rb.try_claim(5, 4).unwrap();
    }
    rb.write(6, b"after").unwrap();
    assert_eq!(drain(&rb), vec![(6, b"after".to_vec())]);
    assert_eq!(rb.consumer_position(), rb.producer_position());
}

#[test]
fn unblock_turns_a_stuck_claim_into_padding() {
    let rb = ring(CAPACITY);
    std::mem::forget(rb.try_claim(5, 20).unwrap());
    rb.write(6, b"behind").unwrap();
    assert_eq!(
        rb.read(|_, _| {}, 10).unwrap(),
        0,
        "blocked by the pending claim"
    );
    assert!(rb.unblock());
    assert_eq!(rb.buffer().get_i32(0), 28);
    assert_eq!(rb.buffer().get_i32(4), PADDING_MSG_TYPE_ID);
    assert_eq!(drain(&rb), vec![(6, b"behind".to_vec())]);
    assert!(!rb.unblock(), "nothing left to unblock");
}

#[test]
fn commit_after_unblock_reports_the_claim_released() {
    let rb = ring(CAPACITY);
    let claim = rb.try_claim(5, 8).unwrap();
    assert!(rb.unblock());
    assert_eq!(claim.commit(), Err(RingBufferError::ClaimReleased));
    assert!(drain(&rb).is_empty());
    let claim = rb.try_claim(5, 8).unwrap();
    assert!(rb.unblock());
    assert_eq!(claim.abort(), Err(RingBufferError::ClaimReleased));
    assert!(drain(&rb).is_empty());
}

#[test]
fn unblock_pads_a_zeroed_gap_up_to_the_next_record() {
    let rb = ring(CAPACITY);
    rb.write(1, b"first").unwrap();
    assert_eq!(drain(&rb).len(), 1);
    // A producer claimed 24 bytes with its CAS and died before writing anything.
    let tail = rb.producer_position();
    rb.buffer()
        .put_i64(CAPACITY + TAIL_POSITION_OFFSET, tail + 24);
    assert!(!rb.unblock(), "a gap with nothing after it is left alone");
    rb.write(2, b"second").unwrap();
    assert_eq!(
        rb.read(|_, _| {}, 10).unwrap(),
        0,
        "blocked by the zeroed gap"
    );
    assert!(rb.unblock());
    let head_index = (tail as usize) % CAPACITY;
    assert_eq!(rb.buffer().get_i32(head_index), 24);
    assert_eq!(rb.buffer().get_i32(head_index + 4), PADDING_MSG_TYPE_ID);
    assert_eq!(drain(&rb), vec![(2, b"second".to_vec())]);
}

#[test]
fn unblock_does_nothing_when_the_head_record_is_ready_or_empty() {
    let rb = ring(CAPACITY);
    assert!(!rb.unblock());
    rb.write(1, b"ready").unwrap();
    assert!(!rb.unblock());
    assert_eq!(drain(&rb).len(), 1);
}

#[test]
fn corrupt_lengths_stop_the_read_with_an_error() {
    for bad in [1, 7, CAPACITY as i32 + 1, i32::MAX] {
        let rb = ring(CAPACITY);
        rb.write(1, b"good").unwrap();
        rb.write(1, b"victim").unwrap();
        rb.buffer().put_i32(16, bad);
        let mut seen = 0;
        assert_eq!(
            rb.read(|_, _| seen += 1, 10),
            Err(RingBufferError::CorruptRecord {
                index: 16,
                length: bad
            })
        );
        assert_eq!(seen, 1, "the record before the corrupt one is delivered");
        assert_eq!(rb.consumer_position(), 16, "and consumed");
        assert!(rb
            .controlled_read(|_, _| ControlledReadAction::Continue, 10)
            .is_err());
    }
}

#[test]
fn a_record_crossing_the_buffer_end_is_corrupt() {
    let rb = ring(CAPACITY);
    set_positions(&rb, (CAPACITY - 16) as i64);
    rb.buffer().put_i32(CAPACITY - 16, 24);
    rb.buffer().put_i32(CAPACITY - 12, 1);
    assert!(matches!(
        rb.read(|_, _| {}, 10),
        Err(RingBufferError::CorruptRecord { length: 24, .. })
    ));
}

#[test]
fn corrupt_positions_give_errors_not_panics() {
    let rb = ring(CAPACITY);
    rb.buffer().put_i64(CAPACITY + HEAD_POSITION_OFFSET, 3);
    assert!(matches!(
        rb.read(|_, _| {}, 10),
        Err(RingBufferError::CorruptPosition { name: "head", .. })
    ));
    assert!(!rb.unblock());
    rb.buffer().put_i64(CAPACITY + TAIL_POSITION_OFFSET, 5);
    assert!(matches!(
        rb.write(1, b"x"),
        Err(RingBufferError::CorruptPosition { name: "tail", .. })
    ));
    // A stuck record with an impossible negative length is not unblocked.
    let rb = ring(CAPACITY);
    rb.buffer().put_i64(CAPACITY + TAIL_POSITION_OFFSET, 16);
    rb.buffer().put_i32(0, i32::MIN);
    assert!(!rb.unblock());
}

#[test]
fn controlled_read_follows_the_handler_actions() {
    let rb = ring(CAPACITY);
    for i in 1..=6u8 {
        rb.write(i32::from(i), &[i]).unwrap();
    }
    // Abort on the first message leaves it in place.
    assert_eq!(
        rb.controlled_read(|_, _| ControlledReadAction::Abort, 10)
            .unwrap(),
        0
    );
    assert_eq!(rb.consumer_position(), 0);
    // Break consumes one and stops.
    assert_eq!(
        rb.controlled_read(|_, _| ControlledReadAction::Break, 10)
            .unwrap(),
        1
    );
    assert_eq!(rb.consumer_position(), 16);
    // Commit releases space while the read goes on; an abort later keeps the committed part.
    let head_seen_by_handler = std::cell::Cell::new(Vec::new());
    let n = rb
        .controlled_read(
            |t, _| {
                let mut v = head_seen_by_handler.take();
                v.push(rb.consumer_position());
                head_seen_by_handler.set(v);
                match t {
                    2 | 3 => ControlledReadAction::Commit,
                    4 => ControlledReadAction::Continue,
                    _ => ControlledReadAction::Abort,
                }
            },
            10,
        )
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(head_seen_by_handler.take(), vec![16, 32, 48, 48]);
    assert_eq!(
        rb.consumer_position(),
        64,
        "message 5 was aborted and stays"
    );
    assert_eq!(
        drain(&rb).iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        vec![5, 6]
    );
}

#[test]
fn a_panicking_handler_still_consumes_what_it_was_given() {
    let rb = ring(CAPACITY);
    rb.write(1, b"a").unwrap();
    rb.write(2, b"b").unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rb.read(|t, _| assert_ne!(t, 1, "handler fails"), 10)
    }));
    assert!(result.is_err());
    assert_eq!(rb.consumer_position(), 16);
    assert_eq!(drain(&rb), vec![(2, b"b".to_vec())]);
}

#[test]
fn correlation_ids_count_up_from_the_stored_counter() {
    let rb = ring(CAPACITY);
    assert_eq!(rb.next_correlation_id(), 0);
    assert_eq!(rb.next_correlation_id(), 1);
    assert_eq!(
        rb.buffer().get_i64(CAPACITY + CORRELATION_COUNTER_OFFSET),
        2
    );
    rb.buffer()
        .put_i64(CAPACITY + CORRELATION_COUNTER_OFFSET, 1_000);
    assert_eq!(rb.clone().next_correlation_id(), 1_000);
    assert_eq!(rb.next_correlation_id(), 1_001);
}

#[test]
fn consumer_heartbeat_is_stored_in_the_trailer() {
    let rb = ring(CAPACITY);
    assert_eq!(rb.consumer_heartbeat_time(), 0);
    rb.set_consumer_heartbeat_time(1_700_000_000_123);
    assert_eq!(
        rb.buffer().get_i64(CAPACITY + CONSUMER_HEARTBEAT_OFFSET),
        1_700_000_000_123
    );
    assert_eq!(rb.consumer_heartbeat_time(), 1_700_000_000_123);
    rb.set_consumer_heartbeat_time(-1);
    assert_eq!(rb.consumer_heartbeat_time(), -1);
}

#[test]
fn size_is_clamped_for_garbage_positions() {
    let rb = ring(CAPACITY);
    rb.buffer()
        .put_i64(CAPACITY + TAIL_POSITION_OFFSET, 1 << 40);
    assert_eq!(rb.size(), CAPACITY);
    rb.buffer().put_i64(CAPACITY + TAIL_POSITION_OFFSET, -64);
    assert_eq!(rb.size(), 0);
}

proptest! {
    #[test]
    fn messages_come_out_as_they_went_in(ops in prop::collection::vec((1i32..100, 0usize..=128, any::<bool>()), 1..200)) {
        let rb = ring(CAPACITY);
        let mut expected = std::collections::VecDeque::new();
        for (i, (type_id, length, read_now)) in ops.into_iter().enumerate() {
            let msg: Vec<u8> = (0..length).map(|j| (i + j) as u8).collect();
            match rb.write(type_id, &msg) {
                Ok(()) => expected.push_back((type_id, msg)),
                Err(RingBufferError::InsufficientCapacity) => {}
                Err(e) => panic!("{e}"),
            }
            if read_now {
                rb.read(|t, m| {
                    assert_eq!(Some((t, m.to_vec(0, m.capacity()))), expected.pop_front());
                }, 3).unwrap();
            }
        }
        let rest = drain(&rb);
        prop_assert_eq!(rest, Vec::from(expected));
    }

    #[test]
    fn garbage_memory_never_panics(bytes in prop::collection::vec(any::<u8>(), 64 + TRAILER_LENGTH)) {
        let buffer = AtomicBuffer::new_zeroed(64 + TRAILER_LENGTH);
        buffer.put_bytes(0, &bytes);
        let rb = ManyToOneRingBuffer::new(buffer).unwrap();
        let _ = rb.read(|_, m| { let _ = m.to_vec(0, m.capacity()); }, 100);
        let _ = rb.controlled_read(|_, _| ControlledReadAction::Commit, 100);
        let _ = rb.unblock();
        let _ = rb.size();
        let _ = rb.write(1, b"12345678");
        if let Ok(claim) = rb.try_claim(1, 3) {
            let _ = claim.commit();
        }
        let _ = rb.read(|_, _| {}, 100);
    }
}
