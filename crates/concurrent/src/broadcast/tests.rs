use super::*;
use proptest::prelude::*;

const CAPACITY: usize = 1024;

fn buffer(capacity: usize) -> AtomicBuffer {
    AtomicBuffer::new_zeroed(capacity + TRAILER_LENGTH)
}

/// Receives everything available through the in-place API, checking each copy.
fn receive_all(rx: &mut BroadcastReceiver) -> Vec<(i32, Vec<u8>)> {
    let mut out = Vec::new();
    while rx.receive_next().unwrap() {
        let msg = rx.buffer().to_vec(rx.offset(), rx.length());
        assert!(rx.validate());
        out.push((rx.type_id(), msg));
    }
    out
}

#[test]
fn construction_checks_capacity_and_alignment() {
    let tx = BroadcastTransmitter::new(buffer(CAPACITY)).unwrap();
    assert_eq!(tx.capacity(), CAPACITY);
    assert_eq!(tx.max_msg_length(), CAPACITY / 8);
    assert_eq!(
        BroadcastReceiver::new(buffer(CAPACITY)).unwrap().capacity(),
        CAPACITY
    );
    for length in [0, 100, TRAILER_LENGTH + 1000] {
        assert_eq!(
            BroadcastTransmitter::new(AtomicBuffer::new_zeroed(length)).unwrap_err(),
            BroadcastError::InvalidCapacity { length }
        );
        assert!(BroadcastReceiver::new(AtomicBuffer::new_zeroed(length)).is_err());
    }
    let unaligned = AtomicBuffer::new_zeroed(CAPACITY + TRAILER_LENGTH + 8)
        .view(4, CAPACITY + TRAILER_LENGTH)
        .unwrap();
    assert!(matches!(
        BroadcastTransmitter::new(unaligned),
        Err(BroadcastError::Misaligned { .. })
    ));
}

#[test]
fn transmit_lays_out_records_and_counters_as_aeron_does() {
    let b = buffer(CAPACITY);
    let mut tx = BroadcastTransmitter::new(b.clone()).unwrap();
    tx.transmit(0x0F04, b"12345").unwrap();
    assert_eq!(b.get_i32(0), 13);
    assert_eq!(b.get_i32(4), 0x0F04);
    assert_eq!(b.to_vec(8, 5), b"12345");
    assert_eq!(b.get_i64(CAPACITY + TAIL_INTENT_COUNTER_OFFSET), 16);
    assert_eq!(b.get_i64(CAPACITY + TAIL_COUNTER_OFFSET), 16);
    assert_eq!(b.get_i64(CAPACITY + LATEST_COUNTER_OFFSET), 0);
    tx.transmit(2, &[]).unwrap();
    assert_eq!(b.get_i64(CAPACITY + TAIL_COUNTER_OFFSET), 24);
    assert_eq!(b.get_i64(CAPACITY + LATEST_COUNTER_OFFSET), 16);
}

#[test]
fn transmit_rejects_bad_type_ids_and_long_messages() {
    let mut tx = BroadcastTransmitter::new(buffer(CAPACITY)).unwrap();
    assert_eq!(
        tx.transmit(0, b"x"),
        Err(BroadcastError::InvalidMsgTypeId(0))
    );
    assert_eq!(
        tx.transmit(1, &[0; CAPACITY / 8 + 1]),
        Err(BroadcastError::MessageTooLong {
            length: CAPACITY / 8 + 1,
            max_msg_length: CAPACITY / 8
        })
    );
}

#[test]
fn a_receiver_starts_at_the_latest_record() {
    let b = buffer(CAPACITY);
    let mut tx = BroadcastTransmitter::new(b.clone()).unwrap();
    let mut early = BroadcastReceiver::new(b.clone()).unwrap();
    for i in 1..=3u8 {
        tx.transmit(i32::from(i), &[i]).unwrap();
    }
    let mut late = BroadcastReceiver::new(b.clone()).unwrap();
    assert_eq!(receive_all(&mut early).len(), 3);
    assert_eq!(receive_all(&mut late), vec![(3, vec![3])]);
    tx.transmit(4, b"four").unwrap();
    assert_eq!(receive_all(&mut late), vec![(4, b"four".to_vec())]);
    assert_eq!(late.lapped_count(), 0);
}

#[test]
fn wrap_around_inserts_padding_that_receivers_skip() {
    let b = buffer(CAPACITY);
    let mut tx = BroadcastTransmitter::new(b.clone()).unwrap();
    let mut rx = BroadcastReceiver::new(b.clone()).unwrap();
    // 15 records of 64 bytes leave 64 bytes; a 16th of 120 bytes does not fit.
    let mut sent = Vec::new();
    for i in 0..15u8 {
        let msg = vec![i; 56];
        tx.transmit(1, &msg).unwrap();
        sent.push((1, msg));
    }
    assert_eq!(receive_all(&mut rx), sent);
    tx.transmit(2, &[0xEE; 112]).unwrap();
    assert_eq!(b.get_i32(960), 64, "padding to the end");
    assert_eq!(b.get_i32(964), PADDING_MSG_TYPE_ID);
    assert_eq!(b.get_i32(0), 120);
    assert_eq!(b.get_i64(CAPACITY + LATEST_COUNTER_OFFSET), 1024);
    assert_eq!(b.get_i64(CAPACITY + TAIL_COUNTER_OFFSET), 1024 + 120);
    assert_eq!(receive_all(&mut rx), vec![(2, vec![0xEE; 112])]);
    assert_eq!(rx.lapped_count(), 0);
}

#[test]
fn a_lapped_receiver_counts_the_lap_and_resumes_at_latest() {
    let b = buffer(CAPACITY);
    let mut tx = BroadcastTransmitter::new(b.clone()).unwrap();
    let mut rx = BroadcastReceiver::new(b.clone()).unwrap();
    for i in 0..40u32 {
        tx.transmit(1, &i.to_le_bytes().repeat(10)).unwrap();
    }
    let got = receive_all(&mut rx);
    assert_eq!(rx.lapped_count(), 1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, 39u32.to_le_bytes().repeat(10));
}

#[test]
fn validate_fails_once_the_record_is_overwritten() {
    let b = buffer(CAPACITY);
    let mut tx = BroadcastTransmitter::new(b.clone()).unwrap();
    let mut rx = BroadcastReceiver::new(b.clone()).unwrap();
    tx.transmit(1, b"first").unwrap();
    assert!(rx.receive_next().unwrap());
    assert!(rx.validate());
    for _ in 0..CAPACITY / 16 {
        tx.transmit(1, b"filler").unwrap();
    }
    assert!(
        !rx.validate(),
        "the transmitter has come round to this record"
    );
}

#[test]
fn copy_receiver_hands_out_checked_copies_and_reports_laps() {
    let b = buffer(CAPACITY);
    let mut tx = BroadcastTransmitter::new(b.clone()).unwrap();
    let mut rx = CopyBroadcastReceiver::new(BroadcastReceiver::new(b.clone()).unwrap());
    assert_eq!(rx.receive(|_, _| panic!("nothing sent")).unwrap(), 0);
    tx.transmit(3, b"hello").unwrap();
    let mut seen = Vec::new();
    assert_eq!(rx.receive(|t, m| seen.push((t, m.to_vec()))).unwrap(), 1);
    assert_eq!(seen, vec![(3, b"hello".to_vec())]);

    for i in 0..100u8 {
        tx.transmit(4, &[i; 24]).unwrap();
    }
    assert_eq!(
        rx.receive(|_, _| panic!("lapped")),
        Err(BroadcastError::Lapped)
    );
    assert_eq!(rx.receiver().lapped_count(), 1);
    assert_eq!(rx.receive(|t, m| seen.push((t, m.to_vec()))).unwrap(), 1);
    assert_eq!(
        seen.last().unwrap(),
        &(4, vec![99; 24]),
        "resumed at the latest record"
    );
    assert_eq!(rx.receive(|_, _| panic!("caught up")).unwrap(), 0);
    tx.transmit(5, b"next").unwrap();
    assert_eq!(rx.receive(|t, m| seen.push((t, m.to_vec()))).unwrap(), 1);
    assert_eq!(seen.last().unwrap(), &(5, b"next".to_vec()));
}

#[test]
fn copy_receiver_rejects_messages_longer_than_its_scratch() {
    let b = buffer(CAPACITY);
    let mut tx = BroadcastTransmitter::new(b.clone()).unwrap();
    let mut rx =
        CopyBroadcastReceiver::with_scratch_length(BroadcastReceiver::new(b.clone()).unwrap(), 8);
    tx.transmit(1, &[0; 9]).unwrap();
    tx.transmit(1, &[7; 8]).unwrap();
    assert_eq!(
        rx.receive(|_, _| {}),
        Err(BroadcastError::ScratchTooSmall {
            required: 9,
            capacity: 8
        })
    );
    let mut seen = Vec::new();
    assert_eq!(rx.receive(|_, m| seen.extend_from_slice(m)).unwrap(), 1);
    assert_eq!(seen, vec![7; 8]);
}

#[test]
fn corrupt_headers_are_errors_not_panics() {
    for (length, type_id) in [
        (3, 1),
        (i32::MAX, 1),
        (-8, 1),
        (CAPACITY as i32 + 8, 1),
        (16, PADDING_MSG_TYPE_ID),
    ] {
        let b = buffer(CAPACITY);
        let mut tx = BroadcastTransmitter::new(b.clone()).unwrap();
        let mut rx = BroadcastReceiver::new(b.clone()).unwrap();
        tx.transmit(1, b"ok").unwrap();
        b.put_i32(0, length);
        b.put_i32(4, type_id);
        assert!(
            matches!(
                rx.receive_next(),
                Err(BroadcastError::CorruptRecord { position: 0, .. })
            ),
            "length {length} type {type_id}"
        );
        assert_eq!(rx.lapped_count(), 0);
    }
}

proptest! {
    #[test]
    fn garbage_memory_never_panics(bytes in prop::collection::vec(any::<u8>(), 64 + TRAILER_LENGTH)) {
        let b = AtomicBuffer::new_zeroed(64 + TRAILER_LENGTH);
        b.put_bytes(0, &bytes);
        let mut rx = BroadcastReceiver::new(b.clone()).unwrap();
        for _ in 0..4 {
            if let Ok(true) = rx.receive_next() {
                let _ = rx.buffer().to_vec(rx.offset(), rx.length());
                let _ = rx.validate();
            }
        }
        let mut copy = CopyBroadcastReceiver::new(BroadcastReceiver::new(b.clone()).unwrap());
        let _ = copy.receive(|_, _| {});
        let mut tx = BroadcastTransmitter::new(b.clone()).unwrap();
        tx.transmit(1, b"12345").unwrap();
        let _ = copy.receive(|_, _| {});
    }

    #[test]
    fn a_keeping_up_receiver_sees_every_message(lengths in prop::collection::vec(0usize..=128, 1..300)) {
        let b = buffer(CAPACITY);
        let mut tx = BroadcastTransmitter::new(b.clone()).unwrap();
        let mut rx = BroadcastReceiver::new(b.clone()).unwrap();
        for (i, length) in lengths.into_iter().enumerate() {
            let msg: Vec<u8> = (0..length).map(|j| (i * 7 + j) as u8).collect();
            tx.transmit(1 + (i % 5) as i32, &msg).unwrap();
            let got = receive_all(&mut rx);
            prop_assert_eq!(got, vec![(1 + (i % 5) as i32, msg)]);
        }
        prop_assert_eq!(rx.lapped_count(), 0);
    }
}
