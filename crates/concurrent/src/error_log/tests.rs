use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use super::*;

struct Fixture {
    log: DistinctErrorLog,
    now: Arc<AtomicI64>,
}

fn fixture(capacity: usize) -> Fixture {
    let now = Arc::new(AtomicI64::new(1_000));
    let clock = Arc::clone(&now);
    let log = DistinctErrorLog::new(
        AtomicBuffer::new_zeroed(capacity),
        Arc::new(move || clock.load(Ordering::Relaxed)),
    )
    .unwrap();
    Fixture { log, now }
}

type Entry = (i32, i64, i64, String);

fn entries(buffer: &AtomicBuffer, since: i64) -> Vec<Entry> {
    let mut out = Vec::new();
    let n = ErrorLogReader::try_read(buffer, since, |count, first, last, text| {
        out.push((count, first, last, text.to_owned()))
    })
    .unwrap();
    assert_eq!(n, out.len());
    out
}

#[test]
fn first_record_writes_an_entry_with_aeron_layout() {
    let f = fixture(1024);
    assert!(!ErrorLogReader::has_errors(f.log.buffer()));
    assert!(f.log.record(7, "bad thing"));
    let b = f.log.buffer();
    assert!(ErrorLogReader::has_errors(b));
    assert_eq!(b.get_i32(LENGTH_OFFSET), 24 + 9);
    assert_eq!(b.get_i32(OBSERVATION_COUNT_OFFSET), 1);
    assert_eq!(b.get_i64(LAST_OBSERVATION_TIMESTAMP_OFFSET), 1_000);
    assert_eq!(b.get_i64(FIRST_OBSERVATION_TIMESTAMP_OFFSET), 1_000);
    assert_eq!(b.to_vec(ENCODED_ERROR_OFFSET, 9), b"bad thing");
    assert_eq!(b.get_i32(40), 0, "no terminator, next entry slot is empty");
}

#[test]
fn repeats_are_deduplicated_by_code_and_text() {
    let f = fixture(1024);
    assert!(f.log.record(1, "timeout"));
    f.now.store(2_000, Ordering::Relaxed);
    assert!(f.log.record(1, "timeout"));
    assert!(
        f.log.record(2, "timeout"),
        "a different code is a different error"
    );
    f.now.store(3_000, Ordering::Relaxed);
    assert!(f.log.record(1, "timeout"));
    assert!(f.log.record(1, "other"));
    assert_eq!(f.log.num_observations(), 3);

    let e = entries(f.log.buffer(), 0);
    assert_eq!(
        e,
        [
            (3, 1_000, 3_000, "timeout".to_owned()),
            (1, 2_000, 2_000, "timeout".to_owned()),
            (1, 3_000, 3_000, "other".to_owned()),
        ]
    );
    // Entries are 8-byte aligned: 24 + 7 = 31 -> next at 32.
    assert_eq!(f.log.buffer().get_i32(32), 31);
    assert_eq!(f.log.buffer().get_i32(64), 29);
}

#[test]
fn matching_follows_c_prefix_rule_and_stops_text_at_nul() {
    let f = fixture(1024);
    assert!(f.log.record(1, "abc"));
    assert!(
        f.log.record(1, "abcdef"),
        "stored text is a prefix: same entry"
    );
    assert!(
        f.log.record(1, "ab"),
        "stored text is not a prefix of a shorter text: new entry"
    );
    assert!(f.log.record(1, "abx\0ignored"));
    let e = entries(f.log.buffer(), 0);
    let texts: Vec<_> = e.iter().map(|(c, _, _, t)| (*c, t.as_str())).collect();
    assert_eq!(
        texts,
        [(2, "abc"), (2, "ab")],
        "newest entry is searched first: ab matches abx"
    );
}

#[test]
fn read_filters_by_last_observation_timestamp() {
    let f = fixture(1024);
    f.log.record(1, "old");
    f.now.store(5_000, Ordering::Relaxed);
    f.log.record(1, "new");
    assert_eq!(entries(f.log.buffer(), 5_000).len(), 1);
    assert_eq!(entries(f.log.buffer(), 5_001).len(), 0);
    assert_eq!(entries(f.log.buffer(), i64::MIN).len(), 2);
}

#[test]
fn full_log_refuses_new_errors_but_counts_known_ones() {
    let f = fixture(80);
    assert!(f.log.record(1, "0123456789"));
    assert!(f.log.record(1, "abcdefghij"));
    assert!(!f.log.record(1, "no room for this one"));
    assert!(f.log.record(1, "0123456789"));
    assert_eq!(f.log.num_observations(), 2);
    let e = entries(f.log.buffer(), 0);
    assert_eq!(e[0].0, 2);

    let exact = fixture(24 + 8);
    assert!(
        exact.log.record(3, "12345678"),
        "an entry may end exactly at the end"
    );
    assert!(!exact.log.record(3, "x"));
}

#[test]
fn corrupt_logs_are_reported_not_panicked_on() {
    let f = fixture(256);
    f.log.record(1, "fine");
    let b = f.log.buffer().clone();
    for bad in [-1, 5, 23, 256 - 32 + 1, i32::MAX, i32::MIN] {
        b.put_i32(32, bad);
        let mut n = 0;
        let err = ErrorLogReader::try_read(&b, 0, |_, _, _, _| n += 1).unwrap_err();
        assert_eq!(
            err,
            ErrorLogError::BadEntryLength {
                offset: 32,
                length: bad,
                capacity: 256
            }
        );
        assert_eq!(n, 1, "entries before the bad one are delivered");
        assert_eq!(ErrorLogReader::read(&b, 0, |_, _, _, _| {}), 1);
    }
    // An entry filling the rest of the buffer is fine.
    b.put_i32(32, 256 - 32);
    assert_eq!(ErrorLogReader::read(&b, 0, |_, _, _, _| {}), 2);

    // Non-UTF-8 text is replaced, not rejected.
    b.put_bytes(ENCODED_ERROR_OFFSET, &[0xff, 0xfe]);
    let e = entries(&b, 0);
    assert!(e[0].3.starts_with('\u{fffd}'));

    // Odd capacities and misaligned buffers.
    let odd = AtomicBuffer::new_zeroed(64);
    odd.put_i32(0, 24);
    let odd30 = odd.view(0, 30).unwrap();
    assert_eq!(ErrorLogReader::try_read(&odd30, 0, |_, _, _, _| {}), Ok(1));
    odd.put_i32(24, 24);
    assert!(ErrorLogReader::try_read(&odd30, 0, |_, _, _, _| {}).is_err());
    assert_eq!(
        ErrorLogReader::try_read(&odd.view(0, 27).unwrap(), 0, |_, _, _, _| {}),
        Ok(1)
    );
    let misaligned = AtomicBuffer::new_zeroed(64).view(4, 40).unwrap();
    assert!(matches!(
        ErrorLogReader::try_read(&misaligned, 0, |_, _, _, _| {}),
        Err(ErrorLogError::Misaligned { .. })
    ));
    assert!(!ErrorLogReader::has_errors(&misaligned));
    assert!(DistinctErrorLog::new(misaligned, Arc::new(|| 0)).is_err());
    assert_eq!(
        ErrorLogReader::read(&AtomicBuffer::new_zeroed(3), 0, |_, _, _, _| {}),
        0
    );
}

#[test]
fn reader_never_panics_on_arbitrary_bytes() {
    use proptest::prelude::*;
    proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..512), since in any::<i64>())| {
        let b = AtomicBuffer::new_zeroed(bytes.len());
        b.put_bytes(0, &bytes);
        let mut n = 0;
        let result = ErrorLogReader::try_read(&b, since, |_, _, _, _| n += 1);
        if let Ok(count) = result {
            prop_assert_eq!(count, n);
        }
        ErrorLogReader::has_errors(&b);
    });
}

#[test]
fn concurrent_records_add_up() {
    const THREADS: i32 = 4;
    const REPEATS: i32 = 2_000;
    let f = fixture(64 * 1024);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let log = &f.log;
            s.spawn(move || {
                for i in 0..REPEATS {
                    assert!(log.record(1, "shared error"));
                    assert!(log.record(2, &format!("thread {t} error {}", i % 10)));
                }
            });
        }
    });
    let e = entries(f.log.buffer(), 0);
    assert_eq!(e.len(), 1 + THREADS as usize * 10);
    let shared: Vec<_> = e.iter().filter(|x| x.3 == "shared error").collect();
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].0, THREADS * REPEATS);
    let total: i32 = e.iter().map(|x| x.0).sum();
    assert_eq!(total, 2 * THREADS * REPEATS);
    for t in 0..THREADS {
        for i in 0..10 {
            let text = format!("thread {t} error {i}");
            let entry = e.iter().find(|x| x.3 == text).unwrap();
            assert_eq!(entry.0, REPEATS / 10);
        }
    }
}
