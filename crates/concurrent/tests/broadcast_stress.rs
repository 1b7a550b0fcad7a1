//! A transmitter broadcasts a numbered sequence of checksummed messages. One fast receiver must see every
//! message in order (the transmitter waits for it, so it can never be lapped); two deliberately slow
//! receivers (one `CopyBroadcastReceiver`, one using the in-place API with `validate`) must get lapped,
//! notice it, resume at the latest message, and never hand out a torn message.
//!
//! Messages: 1,000,000 in release builds, 200,000 in debug builds, times the `OXERON_STRESS_SCALE`
//! environment variable (a factor, default 1).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use oxeron_concurrent::broadcast::{
    BroadcastError, BroadcastReceiver, BroadcastTransmitter, CopyBroadcastReceiver, TRAILER_LENGTH,
};
use oxeron_concurrent::AtomicBuffer;

const CAPACITY: usize = 16 * 1024;
const MAX_MESSAGE: usize = 16 + 16 * 6 + 8;
/// How many messages the transmitter may run ahead of the fast receiver: well under a buffer's worth.
const WINDOW: u64 = (CAPACITY / 2 / (MAX_MESSAGE + 8)) as u64;
const WAIT_LIMIT: Duration = Duration::from_secs(60);
const MSG_TYPE_ID: i32 = 0x0F01;

fn message_count() -> u64 {
    let base = if cfg!(debug_assertions) {
        200_000.0
    } else {
        1_000_000.0
    };
    let scale = std::env::var("OXERON_STRESS_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    ((base * scale) as u64).max(1)
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `seq u64`, filler, then an FNV-1a checksum of everything before it.
fn encode(seq: u64, out: &mut [u8; MAX_MESSAGE]) -> usize {
    let length = 16 + (seq % 17) as usize * 6;
    out[..8].copy_from_slice(&seq.to_le_bytes());
    for (i, b) in out[8..length - 8].iter_mut().enumerate() {
        *b = (seq.wrapping_mul(131) as u8).wrapping_add(i as u8);
    }
    let sum = checksum(&out[..length - 8]);
    out[length - 8..length].copy_from_slice(&sum.to_le_bytes());
    length
}

/// Checks a received message is whole; returns its sequence number.
fn decode(msg: &[u8]) -> u64 {
    assert!(
        msg.len() >= 16 && msg.len() <= MAX_MESSAGE,
        "bad length {}",
        msg.len()
    );
    let (body, sum) = msg.split_at(msg.len() - 8);
    assert_eq!(
        checksum(body),
        u64::from_le_bytes(sum.try_into().unwrap()),
        "torn or damaged message handed out"
    );
    let seq = u64::from_le_bytes(msg[..8].try_into().unwrap());
    assert_eq!(msg.len(), 16 + (seq % 17) as usize * 6);
    seq
}

struct SlowReport {
    received: u64,
    lapped: u64,
    last_seq: Option<u64>,
    discarded: u64,
}

/// Pauses now and then so the transmitter laps it.
fn dawdle(received: u64) {
    if received % 64 == 0 {
        thread::sleep(Duration::from_micros(300));
    }
}

fn slow_copy_receiver(buffer: AtomicBuffer, done: &AtomicBool) -> SlowReport {
    let mut rx = CopyBroadcastReceiver::new(BroadcastReceiver::new(buffer).unwrap());
    let mut report = SlowReport {
        received: 0,
        lapped: 0,
        last_seq: None,
        discarded: 0,
    };
    loop {
        let finished = done.load(Ordering::Acquire);
        let mut seq = None;
        match rx.receive(|type_id, msg| {
            assert_eq!(type_id, MSG_TYPE_ID);
            seq = Some(decode(msg));
        }) {
            Ok(0) if finished => break,
            Ok(0) => thread::yield_now(),
            Ok(_) => {
                let seq = seq.unwrap();
                assert!(report.last_seq < Some(seq), "out of order: {seq}");
                report.last_seq = Some(seq);
                report.received += 1;
                dawdle(report.received);
            }
            Err(BroadcastError::Lapped) => report.discarded += 1,
            Err(e) => panic!("copy receiver: {e}"),
        }
    }
    report.lapped = rx.receiver().lapped_count();
    report
}

fn slow_in_place_receiver(buffer: AtomicBuffer, done: &AtomicBool) -> SlowReport {
    let mut rx = BroadcastReceiver::new(buffer).unwrap();
    let mut report = SlowReport {
        received: 0,
        lapped: 0,
        last_seq: None,
        discarded: 0,
    };
    let mut copy = [0u8; MAX_MESSAGE];
    loop {
        let finished = done.load(Ordering::Acquire);
        if !rx.receive_next().expect("in-place receiver") {
            if finished {
                break;
            }
            thread::yield_now();
            continue;
        }
        let length = rx.length();
        if length > MAX_MESSAGE {
            assert!(
                !rx.validate(),
                "valid record with impossible length {length}"
            );
            report.discarded += 1;
            continue;
        }
        let type_id = rx.type_id();
        rx.buffer().get_bytes(rx.offset(), &mut copy[..length]);
        if !rx.validate() {
            report.discarded += 1;
            continue;
        }
        assert_eq!(type_id, MSG_TYPE_ID);
        let seq = decode(&copy[..length]);
        assert!(report.last_seq < Some(seq), "out of order: {seq}");
        report.last_seq = Some(seq);
        report.received += 1;
        dawdle(report.received);
    }
    report.lapped = rx.lapped_count();
    report
}

#[test]
fn fast_receiver_sees_all_and_slow_receivers_are_lapped_cleanly() {
    let count = message_count();
    let buffer = AtomicBuffer::new_zeroed(CAPACITY + TRAILER_LENGTH);
    let mut tx = BroadcastTransmitter::new(buffer.clone()).unwrap();
    // Receivers made before the first message start at position 0 and so see it.
    let mut fast = BroadcastReceiver::new(buffer.clone()).unwrap();
    let fast_seen = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let failed = AtomicBool::new(false);
    let started = Instant::now();

    let (copy_report, in_place_report) = thread::scope(|s| {
        let fast_thread = s.spawn(|| {
            let mut copy = [0u8; MAX_MESSAGE];
            let mut expected = 0u64;
            let mut last_progress = Instant::now();
            while expected < count {
                if !fast.receive_next().expect("fast receiver") {
                    assert!(!failed.load(Ordering::Relaxed), "transmitter failed");
                    assert!(
                        last_progress.elapsed() < WAIT_LIMIT,
                        "fast receiver starved at {expected}"
                    );
                    thread::yield_now();
                    continue;
                }
                let length = fast.length();
                assert!(length <= MAX_MESSAGE, "bad length {length}");
                fast.buffer().get_bytes(fast.offset(), &mut copy[..length]);
                assert!(fast.validate(), "fast receiver overwritten at {expected}");
                assert_eq!(fast.type_id(), MSG_TYPE_ID);
                assert_eq!(
                    decode(&copy[..length]),
                    expected,
                    "fast receiver lost or reordered"
                );
                expected += 1;
                fast_seen.store(expected, Ordering::Release);
                last_progress = Instant::now();
            }
            assert_eq!(fast.lapped_count(), 0);
        });
        let copy_thread = s.spawn(|| slow_copy_receiver(buffer.clone(), &done));
        let in_place_thread = s.spawn(|| slow_in_place_receiver(buffer.clone(), &done));

        let mut msg = [0u8; MAX_MESSAGE];
        for seq in 0..count {
            let deadline = Instant::now() + WAIT_LIMIT;
            let mut idle = 0u32;
            while seq >= fast_seen.load(Ordering::Acquire) + WINDOW {
                if Instant::now() > deadline || fast_thread.is_finished() {
                    failed.store(true, Ordering::Relaxed);
                    done.store(true, Ordering::Release);
                    panic!(
                        "fast receiver stopped at {}",
                        fast_seen.load(Ordering::Relaxed)
                    );
                }
                idle += 1;
                if idle < 64 {
                    std::hint::spin_loop();
                } else {
                    thread::yield_now();
                }
            }
            let length = encode(seq, &mut msg);
            tx.transmit(MSG_TYPE_ID, &msg[..length]).unwrap();
        }
        fast_thread.join().expect("fast receiver");
        done.store(true, Ordering::Release);
        (
            copy_thread.join().expect("copy receiver"),
            in_place_thread.join().expect("in-place receiver"),
        )
    });

    for (name, report) in [("copy", &copy_report), ("in-place", &in_place_report)] {
        eprintln!(
            "{name} receiver: {} received, {} laps, {} discarded copies",
            report.received, report.lapped, report.discarded
        );
        assert!(report.lapped > 0, "{name} receiver was never lapped");
        assert!(report.received > 0, "{name} receiver got nothing");
        assert_eq!(
            report.last_seq,
            Some(count - 1),
            "{name} receiver did not catch up to the end"
        );
    }
    eprintln!("{count} messages broadcast in {:?}", started.elapsed());
}
