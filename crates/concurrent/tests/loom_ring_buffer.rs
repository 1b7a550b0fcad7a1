//! A loom model of the many-to-one ring buffer's claim / commit / read protocol.
//!
//! `AtomicBuffer` uses std atomics, which loom cannot instrument, so this file re-states the algorithm of
//! `src/ring_buffer.rs` over loom atomics, step for step and with the same orderings:
//!
//! | real code (`ManyToOneRingBuffer`)                   | model (`Ring`)                           |
//! |-----------------------------------------------------|------------------------------------------|
//! | `claim_capacity`: head cache acquire, tail acquire, head acquire + head cache release when short, CAS on tail (AcqRel / Acquire), padding: `-len` release, fence release, type relaxed, `+len` release | `Ring::claim_capacity` |
//! | `try_claim`: `-len` release, fence release, type relaxed | `Ring::try_claim` |
//! | `write`: as `try_claim`, message bytes, `+len` release | `Ring::write` |
//! | `Claim::commit`: length relaxed load, `+len` release | `Ring::commit` |
//! | `read`: head relaxed, length acquire, type relaxed, zero consumed bytes, head release | `Ring::read` |
//!
//! The model's memory is an array of 32-bit words, so record headers, messages and padding alias exactly as
//! in the real buffer. Plain byte copies and the consumer's zeroing are modelled as relaxed word stores;
//! loom then explores which of them a reader may see, and the consumer checks every message's contents, so
//! a missing acquire/release edge shows up as a stale or zeroed message.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release -p oxeron-concurrent --test loom_ring_buffer`.
#![cfg(loom)]

use loom::sync::atomic::{fence, AtomicI32, AtomicI64, Ordering};
use loom::sync::Arc;
use loom::thread;

const CAPACITY: i64 = 32;
const HEADER_LENGTH: i64 = 8;
const PADDING_MSG_TYPE_ID: i32 = -1;

fn align(length: i64) -> i64 {
    (length + 7) & !7
}

struct Ring {
    words: Vec<AtomicI32>,
    tail: AtomicI64,
    head_cache: AtomicI64,
    head: AtomicI64,
}

impl Ring {
    /// An empty ring whose head and tail start at `position`.
    fn new(position: i64) -> Self {
        Ring {
            words: (0..CAPACITY / 4).map(|_| AtomicI32::new(0)).collect(),
            tail: AtomicI64::new(position),
            head_cache: AtomicI64::new(position),
            head: AtomicI64::new(position),
        }
    }

    fn word(&self, byte_index: i64) -> &AtomicI32 {
        &self.words[(byte_index / 4) as usize]
    }

    fn claim_capacity(&self, record_length: i64) -> Option<i64> {
        let required = align(record_length);
        let mask = CAPACITY - 1;
        let mut head = self.head_cache.load(Ordering::Acquire);
        loop {
            let tail = self.tail.load(Ordering::Acquire);
            if required > CAPACITY - (tail - head) {
                head = self.head.load(Ordering::Acquire);
                if required > CAPACITY - (tail - head) {
                    return None;
                }
                self.head_cache.store(head, Ordering::Release);
            }
            let mut padding = 0;
            let tail_index = tail & mask;
            let to_buffer_end = CAPACITY - tail_index;
            if required > to_buffer_end {
                let mut head_index = head & mask;
                if required > head_index {
                    head = self.head.load(Ordering::Acquire);
                    head_index = head & mask;
                    if required > head_index {
                        return None;
                    }
                    self.head_cache.store(head, Ordering::Release);
                }
                padding = to_buffer_end;
            }
            if self
                .tail
                .compare_exchange(
                    tail,
                    tail + required + padding,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                if padding == 0 {
                    return Some(tail_index);
                }
                let length = self.word(tail_index);
                length.store(-(padding as i32), Ordering::Release);
                fence(Ordering::Release);
                self.word(tail_index + 4)
                    .store(PADDING_MSG_TYPE_ID, Ordering::Relaxed);
                length.store(padding as i32, Ordering::Release);
                return Some(0);
            }
        }
    }

    /// Claims a record for a message of two words; returns the record index.
    fn try_claim(&self, msg_type_id: i32) -> Option<i64> {
        let record_length = HEADER_LENGTH + 8;
        let record_index = self.claim_capacity(record_length)?;
        self.word(record_index)
            .store(-(record_length as i32), Ordering::Release);
        fence(Ordering::Release);
        self.word(record_index + 4)
            .store(msg_type_id, Ordering::Relaxed);
        Some(record_index)
    }

    fn put_message(&self, record_index: i64, message: [i32; 2]) {
        self.word(record_index + 8)
            .store(message[0], Ordering::Relaxed);
        self.word(record_index + 12)
            .store(message[1], Ordering::Relaxed);
    }

    fn commit(&self, record_index: i64) {
        let length = self.word(record_index).load(Ordering::Relaxed);
        assert!(length < 0, "claim released twice");
        self.word(record_index).store(-length, Ordering::Release);
    }

    fn write(&self, msg_type_id: i32, message: [i32; 2]) -> bool {
        let record_length = HEADER_LENGTH + 8;
        let Some(record_index) = self.claim_capacity(record_length) else {
            return false;
        };
        self.word(record_index)
            .store(-(record_length as i32), Ordering::Release);
        fence(Ordering::Release);
        self.word(record_index + 4)
            .store(msg_type_id, Ordering::Relaxed);
        self.put_message(record_index, message);
        self.word(record_index)
            .store(record_length as i32, Ordering::Release);
        true
    }

    fn read(&self, mut handler: impl FnMut(i32, [i32; 2])) -> usize {
        let head = self.head.load(Ordering::Relaxed);
        let head_index = head & (CAPACITY - 1);
        let block_length = CAPACITY - head_index;
        let mut bytes_read = 0;
        let mut messages_read = 0;
        while bytes_read < block_length {
            let record_index = head_index + bytes_read;
            let length = self.word(record_index).load(Ordering::Acquire);
            if length <= 0 {
                break;
            }
            assert!(
                i64::from(length) >= HEADER_LENGTH,
                "corrupt length {length}"
            );
            bytes_read += align(i64::from(length));
            assert!(bytes_read <= block_length, "record crosses the buffer end");
            let msg_type_id = self.word(record_index + 4).load(Ordering::Relaxed);
            if msg_type_id == PADDING_MSG_TYPE_ID {
                continue;
            }
            messages_read += 1;
            let message = [
                self.word(record_index + 8).load(Ordering::Relaxed),
                self.word(record_index + 12).load(Ordering::Relaxed),
            ];
            handler(msg_type_id, message);
        }
        if bytes_read > 0 {
            for i in (head_index..head_index + bytes_read).step_by(4) {
                self.word(i).store(0, Ordering::Relaxed);
            }
            self.head.store(head + bytes_read, Ordering::Release);
        }
        messages_read
    }
}

fn message_of(producer: i32) -> [i32; 2] {
    [producer * 100, producer * 100 + 1]
}

/// Attempts each thread makes before giving up. Loom explores every value a load may return, so a loop
/// that polls until another thread makes progress never ends in the model; every wait here is bounded and
/// the checks hold for whatever was sent.
const ATTEMPTS: usize = 3;

/// Executions in which both producers got their message in while the consumer was still reading
/// concurrently (the interesting case: wrap, head-cache refresh, reuse of consumed memory).
static BOTH_SENT_CONCURRENTLY: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// Two producers and the consumer (this thread) exchange one message each. The ring starts 8 bytes before
/// the buffer end, so the first claim pads the end and lands at index 0, and the second only fits once the
/// consumer has read and zeroed the first: claim, padding, wrap, head-cache refresh and reuse of consumed
/// memory all take part. Afterwards every message a producer reports sent must have been delivered exactly
/// once with its contents intact, and nothing else.
fn run(use_write: bool) {
    let ring = Arc::new(Ring::new(CAPACITY - 8));
    let producers: Vec<_> = (1..=2)
        .map(|producer| {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                let message = message_of(producer);
                for _ in 0..ATTEMPTS {
                    if use_write && producer == 1 {
                        if ring.write(producer, message) {
                            return true;
                        }
                    } else if let Some(record_index) = ring.try_claim(producer) {
                        ring.put_message(record_index, message);
                        ring.commit(record_index);
                        return true;
                    }
                    thread::yield_now();
                }
                false
            })
        })
        .collect();

    let mut seen = Vec::new();
    let check = |seen: &mut Vec<i32>, msg_type_id: i32, message: [i32; 2]| {
        assert_eq!(message, message_of(msg_type_id), "stale or torn message");
        seen.push(msg_type_id);
    };
    for _ in 0..ATTEMPTS {
        ring.read(|t, m| check(&mut seen, t, m));
    }
    let concurrent_reads = seen.len();
    let mut sent: Vec<i32> = Vec::new();
    for (producer, handle) in (1..=2).zip(producers) {
        if handle.join().unwrap() {
            sent.push(producer);
        }
    }
    // Joined: everything the producers did is visible now, so draining ends.
    while ring.head.load(Ordering::Relaxed) != ring.tail.load(Ordering::Relaxed) {
        ring.read(|t, m| check(&mut seen, t, m));
    }
    seen.sort_unstable();
    assert_eq!(seen, sent, "delivered messages differ from sent ones");
    if sent.len() == 2 && concurrent_reads > 0 {
        BOTH_SENT_CONCURRENTLY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

#[test]
fn claim_commit_and_write_through_a_wrapping_buffer() {
    model(|| run(false));
    model(|| run(true));
    assert!(
        BOTH_SENT_CONCURRENTLY.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the model never reached the case where both producers send while the consumer reads"
    );
}
