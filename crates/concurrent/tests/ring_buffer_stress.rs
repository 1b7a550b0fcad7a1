//! Four producers push (producer id, sequence) records through one small ring buffer to one consumer, which
//! checks nothing is lost, duplicated, reordered or damaged. Producers use `write`, `try_claim` + `commit`,
//! and `try_claim` + an occasional `abort` before retrying.
//!
//! Records per producer: 1,000,000 in release builds, 100,000 in debug builds, times the
//! `OXERON_STRESS_SCALE` environment variable (a factor, default 1).

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use oxeron_concurrent::ring_buffer::{ManyToOneRingBuffer, RingBufferError, TRAILER_LENGTH};
use oxeron_concurrent::AtomicBuffer;

const PRODUCERS: u32 = 4;
const CAPACITY: usize = 64 * 1024;
const WAIT_LIMIT: Duration = Duration::from_secs(60);

fn records_per_producer() -> u64 {
    let base = if cfg!(debug_assertions) {
        100_000.0
    } else {
        1_000_000.0
    };
    let scale = std::env::var("OXERON_STRESS_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    ((base * scale) as u64).max(1)
}

fn message_length(seq: u64) -> usize {
    12 + (seq % 7) as usize * 5
}

fn filler(producer: u32, seq: u64, i: usize) -> u8 {
    (seq as u8) ^ (producer as u8).wrapping_mul(31) ^ (i as u8)
}

fn encode(producer: u32, seq: u64, out: &mut [u8; 64]) -> usize {
    let length = message_length(seq);
    out[..4].copy_from_slice(&producer.to_le_bytes());
    out[4..12].copy_from_slice(&seq.to_le_bytes());
    for (i, b) in out[12..length].iter_mut().enumerate() {
        *b = filler(producer, seq, i);
    }
    length
}

/// Spins, then yields, until `attempt` succeeds; fails the test after [`WAIT_LIMIT`].
fn with_backoff(what: &str, mut attempt: impl FnMut() -> Result<(), RingBufferError>) {
    let mut idle = 0u32;
    let mut deadline = None;
    loop {
        match attempt() {
            Ok(()) => return,
            Err(RingBufferError::InsufficientCapacity) => {}
            Err(e) => panic!("{what}: {e}"),
        }
        idle += 1;
        if idle < 64 {
            std::hint::spin_loop();
        } else {
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + WAIT_LIMIT);
            assert!(
                Instant::now() < deadline,
                "{what}: ring buffer full for {WAIT_LIMIT:?}"
            );
            thread::yield_now();
        }
    }
}

fn produce(rb: ManyToOneRingBuffer, producer: u32, records: u64, stop: &AtomicBool) {
    let type_id = producer as i32 + 1;
    let mut msg = [0u8; 64];
    for seq in 0..records {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let length = encode(producer, seq, &mut msg);
        let what = format!("producer {producer} seq {seq}");
        match producer {
            0 | 1 => with_backoff(&what, || rb.write(type_id, &msg[..length])),
            _ => {
                if producer == 3 && seq % 1000 == 0 {
                    // A claim given up before commit becomes padding the consumer skips.
                    with_backoff(&what, || {
                        let claim = rb.try_claim(type_id, length)?;
                        claim.buffer().put_bytes(0, &[0xFF; 12]);
                        claim.abort()
                    });
                }
                with_backoff(&what, || {
                    let claim = rb.try_claim(type_id, length)?;
                    claim.buffer().put_bytes(0, &msg[..length]);
                    claim.commit()
                });
            }
        }
    }
}

#[test]
fn four_producers_one_consumer_lose_nothing_and_keep_order() {
    let records = records_per_producer();
    let rb = ManyToOneRingBuffer::new(AtomicBuffer::new_zeroed(CAPACITY + TRAILER_LENGTH)).unwrap();
    let stop = AtomicBool::new(false);
    let started = Instant::now();

    thread::scope(|s| {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let rb = rb.clone();
                let stop = &stop;
                s.spawn(move || produce(rb, p, records, stop))
            })
            .collect();

        // Stop the producers if the consumer fails, so the scope can end.
        struct StopOnPanic<'a>(&'a AtomicBool);
        impl Drop for StopOnPanic<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stop_on_panic = StopOnPanic(&stop);

        let mut expected = [0u64; PRODUCERS as usize];
        let mut received = 0u64;
        let total = records * u64::from(PRODUCERS);
        let mut last_progress = Instant::now();
        let mut copy = [0u8; 64];
        while received < total {
            let n = rb
                .read(
                    |type_id, m| {
                        let length = m.capacity();
                        assert!((12..=64).contains(&length), "bad message length {length}");
                        m.get_bytes(0, &mut copy[..length]);
                        let producer = u32::from_le_bytes(copy[..4].try_into().unwrap());
                        let seq = u64::from_le_bytes(copy[4..12].try_into().unwrap());
                        assert!(producer < PRODUCERS, "bad producer id {producer}");
                        assert_eq!(type_id, producer as i32 + 1);
                        let want = &mut expected[producer as usize];
                        assert_eq!(
                            seq, *want,
                            "producer {producer}: lost, duplicated or reordered record"
                        );
                        *want += 1;
                        assert_eq!(length, message_length(seq));
                        for (i, b) in copy[12..length].iter().enumerate() {
                            assert_eq!(
                                *b,
                                filler(producer, seq, i),
                                "producer {producer} seq {seq}: damaged"
                            );
                        }
                    },
                    256,
                )
                .expect("ring buffer read");
            if n > 0 {
                received += n as u64;
                last_progress = Instant::now();
                continue;
            }
            if producers.iter().all(|h| h.is_finished()) && rb.size() == 0 {
                panic!("producers finished but only {received} of {total} records arrived");
            }
            assert!(
                last_progress.elapsed() < WAIT_LIMIT,
                "no record for {WAIT_LIMIT:?}; received {received} of {total}"
            );
            thread::yield_now();
        }
        assert_eq!(expected, [records; PRODUCERS as usize]);
        assert_eq!(rb.read(|_, _| panic!("no extra records"), 10).unwrap(), 0);
        assert_eq!(rb.consumer_position(), rb.producer_position());
    });
    eprintln!(
        "{} records through a {CAPACITY}-byte ring buffer in {:?}",
        records * u64::from(PRODUCERS),
        started.elapsed()
    );
}
