use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use super::type_id::*;
use super::*;

const COUNTERS: usize = 8;

struct Fixture {
    manager: CountersManager,
    now: Arc<AtomicI64>,
}

fn fixture(counters: usize) -> Fixture {
    let values = AtomicBuffer::new_zeroed(counters * COUNTER_LENGTH);
    let metadata = AtomicBuffer::new_zeroed(metadata_buffer_length(values.capacity()));
    let now = Arc::new(AtomicI64::new(1_000_000));
    let clock = Arc::clone(&now);
    let manager = CountersManager::new(metadata, values)
        .unwrap()
        .with_clock(Arc::new(move || clock.load(Ordering::Relaxed)));
    Fixture { manager, now }
}

#[test]
fn record_layout_matches_aeron() {
    assert_eq!(COUNTER_LENGTH, 2 * 64);
    assert_eq!(METADATA_LENGTH, 8 * 64);
    assert_eq!(KEY_OFFSET + MAX_KEY_LENGTH, LABEL_LENGTH_OFFSET);
    assert_eq!(LABEL_OFFSET + MAX_LABEL_LENGTH, METADATA_LENGTH);
    assert_eq!(metadata_buffer_length(8 * 1024 * 1024), 32 * 1024 * 1024);
    assert_eq!(counter_offset(3), 384);
    assert_eq!(metadata_offset(3), 1536);
}

#[test]
fn allocate_writes_the_record_and_readers_see_it() {
    let mut f = fixture(COUNTERS);
    let key = 42i64.to_le_bytes();
    let id = f
        .manager
        .allocate(DRIVER_HEARTBEAT_TYPE_ID, &key, "client-heartbeat: id=42")
        .unwrap();
    assert_eq!(id, 0);
    f.manager.set_counter_registration_id(id, 42).unwrap();
    f.manager.set_counter_owner_id(id, 42).unwrap();
    f.manager.set_counter_reference_id(id, 7).unwrap();
    f.manager.set_counter_value(id, 99).unwrap();

    let r = f.manager.reader();
    assert_eq!(r.max_counter_id(), COUNTERS as i32 - 1);
    assert_eq!(r.counter_state(id), Ok(RECORD_ALLOCATED));
    assert_eq!(r.counter_type_id(id), Ok(DRIVER_HEARTBEAT_TYPE_ID));
    assert_eq!(r.counter_label(id).unwrap(), "client-heartbeat: id=42");
    assert_eq!(&r.counter_key(id).unwrap()[..8], &key);
    assert_eq!(r.counter_value(id), Ok(99));
    assert_eq!(r.counter_registration_id(id), Ok(42));
    assert_eq!(r.counter_owner_id(id), Ok(42));
    assert_eq!(r.counter_reference_id(id), Ok(7));
    assert_eq!(r.free_for_reuse_deadline(id), Ok(NOT_FREE_TO_REUSE));
    assert_eq!(
        r.find_by_type_id_and_registration_id(DRIVER_HEARTBEAT_TYPE_ID, 42),
        Some(0)
    );
    assert_eq!(
        r.find_by_type_id_and_registration_id(DRIVER_HEARTBEAT_TYPE_ID, 43),
        None
    );
    assert_eq!(r.find_by_type_id_and_registration_id(0, 42), None);
    assert_eq!(f.manager.allocate(0, &[], "second"), Ok(1));
}

#[test]
fn labels_and_keys_are_truncated() {
    let mut f = fixture(COUNTERS);
    let key = [7u8; 200];
    let label = "x".repeat(500);
    let id = f.manager.allocate(1, &key, &label).unwrap();
    let r = f.manager.reader();
    assert_eq!(r.counter_key(id).unwrap(), [7u8; MAX_KEY_LENGTH]);
    assert_eq!(r.counter_label(id).unwrap().len(), MAX_LABEL_LENGTH);
    let meta = r.metadata_buffer();
    assert_eq!(meta.get_i32(LABEL_LENGTH_OFFSET), 380);
    assert_eq!(
        meta.get_i32(LABEL_LENGTH_OFFSET - 4),
        0x0707_0707,
        "key ends before the label length"
    );
}

#[test]
fn labels_can_be_updated_and_appended_to_up_to_the_limit() {
    let mut f = fixture(COUNTERS);
    let id = f
        .manager
        .allocate(6, &[], "snd-channel: aeron:udp")
        .unwrap();
    f.manager.append_to_label(id, " 127.0.0.1:40123").unwrap();
    assert_eq!(
        f.manager.reader().counter_label(id).unwrap(),
        "snd-channel: aeron:udp 127.0.0.1:40123"
    );
    f.manager.update_label(id, &"y".repeat(379)).unwrap();
    f.manager.append_to_label(id, "zzz").unwrap();
    let label = f.manager.reader().counter_label(id).unwrap();
    assert_eq!(label.len(), MAX_LABEL_LENGTH);
    assert!(label.ends_with("yz"));
}

#[test]
fn free_reclaims_and_reuse_waits_for_the_deadline() {
    let mut f = fixture(COUNTERS);
    let a = f.manager.allocate(1, &[1, 2, 3], "a").unwrap();
    let b = f.manager.allocate(1, &[], "b").unwrap();
    f.manager.set_counter_value(a, 5).unwrap();
    f.manager.set_counter_registration_id(a, 11).unwrap();
    f.manager.set_counter_owner_id(a, 12).unwrap();
    f.manager.set_counter_reference_id(a, 13).unwrap();

    let freed_at = f.now.load(Ordering::Relaxed);
    f.manager.free(a).unwrap();
    let r = f.manager.reader();
    assert_eq!(r.counter_state(a), Ok(RECORD_RECLAIMED));
    assert_eq!(r.counter_key(a).unwrap(), [0; MAX_KEY_LENGTH]);
    assert_eq!(
        r.free_for_reuse_deadline(a),
        Ok(freed_at + DEFAULT_FREE_TO_REUSE_TIMEOUT_MS)
    );
    assert_eq!(r.counter_value(a), Ok(5), "free leaves the value");
    assert_eq!(r.counter_label(a).unwrap(), "a");
    assert_eq!(
        f.manager.free(a),
        Err(CountersError::NotAllocated {
            counter_id: a,
            state: -1
        })
    );

    // Before the deadline the id is not reused.
    f.now.store(freed_at + 999, Ordering::Relaxed);
    assert_eq!(f.manager.allocate(1, &[], "c"), Ok(b + 1));
    // At the deadline it is, with its value and ids reset.
    f.now.store(freed_at + 1_000, Ordering::Relaxed);
    assert_eq!(f.manager.allocate(2, &[9], "d"), Ok(a));
    let r = f.manager.reader();
    assert_eq!(r.counter_state(a), Ok(RECORD_ALLOCATED));
    assert_eq!(r.counter_type_id(a), Ok(2));
    assert_eq!(r.counter_value(a), Ok(0));
    assert_eq!(r.counter_registration_id(a), Ok(DEFAULT_REGISTRATION_ID));
    assert_eq!(r.counter_owner_id(a), Ok(DEFAULT_OWNER_ID));
    assert_eq!(r.counter_reference_id(a), Ok(DEFAULT_REFERENCE_ID));
    assert_eq!(r.counter_label(a).unwrap(), "d");
    assert_eq!(r.free_for_reuse_deadline(a), Ok(NOT_FREE_TO_REUSE));
    assert_eq!(f.manager.free_list_len(), 0);
}

#[test]
fn reuse_takes_the_oldest_expired_id_first() {
    let mut f = fixture(COUNTERS);
    for i in 0..4 {
        assert_eq!(f.manager.allocate(1, &[], "x"), Ok(i));
    }
    let t0 = f.now.load(Ordering::Relaxed);
    f.manager.free(2).unwrap();
    f.now.store(t0 + 10, Ordering::Relaxed);
    f.manager.free(0).unwrap();
    f.now.store(
        t0 + 10 + DEFAULT_FREE_TO_REUSE_TIMEOUT_MS,
        Ordering::Relaxed,
    );
    assert_eq!(f.manager.allocate(1, &[], "y"), Ok(2));
    assert_eq!(f.manager.allocate(1, &[], "z"), Ok(0));
    assert_eq!(f.manager.allocate(1, &[], "w"), Ok(4));
}

#[test]
fn free_to_reuse_timeout_is_configurable() {
    let mut f = fixture(COUNTERS);
    f.manager = f.manager.with_free_to_reuse_timeout_ms(0);
    let id = f.manager.allocate(1, &[], "x").unwrap();
    f.manager.free(id).unwrap();
    assert_eq!(f.manager.allocate(1, &[], "y"), Ok(id));
}

#[test]
fn full_and_bad_ids_are_typed_errors() {
    let mut f = fixture(2);
    f.manager.allocate(1, &[], "a").unwrap();
    f.manager.allocate(1, &[], "b").unwrap();
    assert_eq!(
        f.manager.allocate(1, &[], "c"),
        Err(CountersError::Full { max_counter_id: 1 })
    );
    f.manager.free(0).unwrap();
    assert_eq!(
        f.manager.allocate(1, &[], "c"),
        Err(CountersError::Full { max_counter_id: 1 }),
        "a reclaimed id before its deadline does not count as free"
    );
    let bad = CountersError::InvalidCounterId {
        counter_id: 2,
        max_counter_id: 1,
    };
    assert_eq!(f.manager.free(2), Err(bad.clone()));
    assert_eq!(f.manager.reader().counter_value(2), Err(bad));
    assert!(f.manager.reader().counter_label(-1).is_err());
    assert!(f.manager.set_counter_owner_id(-5, 1).is_err());
}

#[test]
fn reader_rejects_unusable_buffers() {
    let values = AtomicBuffer::new_zeroed(4 * COUNTER_LENGTH);
    let short = AtomicBuffer::new_zeroed(4 * METADATA_LENGTH - 1);
    assert!(matches!(
        CountersReader::new(short, values.clone()),
        Err(CountersError::InvalidBufferLengths { .. })
    ));
    let metadata = AtomicBuffer::new_zeroed(4 * METADATA_LENGTH + 8);
    let misaligned = metadata.view(4, 4 * METADATA_LENGTH).unwrap();
    assert!(matches!(
        CountersReader::new(misaligned, values.clone()),
        Err(CountersError::Misaligned { .. })
    ));
    let empty =
        CountersReader::new(AtomicBuffer::new_zeroed(0), AtomicBuffer::new_zeroed(0)).unwrap();
    assert_eq!(empty.max_counter_id(), -1);
    empty.for_each(|_, _, _, _| panic!("no counters"));
}

#[test]
fn scan_skips_reclaimed_and_stops_at_the_first_unused_record() {
    let mut f = fixture(COUNTERS);
    for label in ["zero", "one", "two"] {
        f.manager.allocate(3, label.as_bytes(), label).unwrap();
    }
    f.manager.free(1).unwrap();
    // A record past an unused one is never reached, even if it looks allocated.
    let meta = f.manager.reader().metadata_buffer().clone();
    meta.put_i32(metadata_offset(5) + STATE_OFFSET, RECORD_ALLOCATED);

    let mut seen = Vec::new();
    f.manager.reader().for_each(|id, type_id, key, label| {
        assert_eq!(key.len(), MAX_KEY_LENGTH);
        assert_eq!(&key[..label.len()], label.as_bytes());
        seen.push((id, type_id, label.to_owned()));
    });
    assert_eq!(seen, [(0, 3, "zero".to_owned()), (2, 3, "two".to_owned())]);

    f.manager.set_counter_value(2, 77).unwrap();
    let mut values = Vec::new();
    f.manager
        .reader()
        .for_each_counter(|value, id, _, _, _| values.push((id, value)));
    assert_eq!(values, [(0, 0), (2, 77)]);

    f.manager.set_counter_registration_id(5, 9).unwrap();
    assert_eq!(
        f.manager.reader().find_by_type_id_and_registration_id(0, 9),
        None
    );
}

#[test]
fn corrupt_label_lengths_are_clamped() {
    let mut f = fixture(COUNTERS);
    let id = f.manager.allocate(1, &[], "abc").unwrap();
    let meta = f.manager.reader().metadata_buffer().clone();
    meta.put_i32(LABEL_LENGTH_OFFSET, -4);
    assert_eq!(f.manager.reader().counter_label(id).unwrap(), "");
    meta.put_i32(LABEL_LENGTH_OFFSET, 100_000);
    assert_eq!(
        f.manager.reader().counter_label(id).unwrap().len(),
        MAX_LABEL_LENGTH
    );
    let mut n = 0;
    f.manager.reader().for_each(|_, _, _, label| {
        assert_eq!(label.len(), MAX_LABEL_LENGTH);
        n += 1;
    });
    assert_eq!(n, 1);
}

#[test]
fn atomic_counter_operations() {
    let mut f = fixture(COUNTERS);
    let c = f.manager.new_counter(1, &[], "c").unwrap();
    assert_eq!(c.id(), 0);
    assert_eq!(c.increment(), 0);
    assert_eq!(c.increment_release(), 1);
    assert_eq!(c.get_and_add(10), 2);
    assert_eq!(c.get_and_add_release(-2), 12);
    assert_eq!(c.get(), 10);
    c.set(100);
    assert_eq!(c.get_plain(), 100);
    c.set_plain(5);
    assert!(c.compare_and_set(5, 6));
    assert!(!c.compare_and_set(5, 7));
    assert!(c.propose_max_release(8));
    assert!(!c.propose_max_release(3));
    assert_eq!(f.manager.reader().counter_value(0), Ok(8));
    let values = f.manager.reader().values_buffer();
    assert!(AtomicCounter::new(values, COUNTERS as i32).is_err());
    assert!(AtomicCounter::new(values, -1).is_err());
}

#[test]
fn atomic_increments_from_many_threads_add_up() {
    let mut f = fixture(COUNTERS);
    let c = f.manager.new_counter(1, &[], "c").unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            let c = c.clone();
            s.spawn(move || {
                for _ in 0..10_000 {
                    c.increment();
                }
            });
        }
    });
    assert_eq!(c.get(), 40_000);
}

#[derive(Debug, Clone)]
enum Op {
    Allocate,
    Free(usize),
    Advance(i64),
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        3 => Just(Op::Allocate),
        2 => any::<usize>().prop_map(Op::Free),
        1 => (0i64..1_500).prop_map(Op::Advance),
    ]
}

proptest::proptest! {
    #[test]
    fn allocation_follows_a_model_of_aeron_reuse(ops in proptest::collection::vec(op(), 0..64)) {
        let mut f = fixture(COUNTERS);
        let mut allocated: Vec<i32> = Vec::new();
        let mut freed: Vec<(i32, i64)> = Vec::new();
        let mut high_water_mark = -1;
        for op in ops {
            let now = f.now.load(Ordering::Relaxed);
            match op {
                Op::Allocate => {
                    let expected = match freed.iter().position(|&(_, deadline)| now >= deadline) {
                        Some(i) => Some(freed.remove(i).0),
                        None if high_water_mark < COUNTERS as i32 - 1 => {
                            high_water_mark += 1;
                            Some(high_water_mark)
                        }
                        None => None,
                    };
                    let got = f.manager.allocate(1, &[], "x").ok();
                    proptest::prop_assert_eq!(got, expected);
                    allocated.extend(got);
                }
                Op::Free(i) if !allocated.is_empty() => {
                    let id = allocated.remove(i % allocated.len());
                    proptest::prop_assert!(f.manager.free(id).is_ok());
                    freed.push((id, now + DEFAULT_FREE_TO_REUSE_TIMEOUT_MS));
                }
                Op::Free(_) => {}
                Op::Advance(ms) => {
                    f.now.fetch_add(ms, Ordering::Relaxed);
                }
            }
        }
        let mut listed = Vec::new();
        f.manager.reader().for_each(|id, _, _, _| listed.push(id));
        allocated.sort_unstable();
        proptest::prop_assert_eq!(listed, allocated);
    }
}
