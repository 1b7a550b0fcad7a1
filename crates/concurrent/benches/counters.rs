//! Counter updates and reads, counter allocation, and recording a repeated error.
#![allow(missing_docs)] // criterion_group! generates an undocumented public function

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use oxeron_concurrent::counters::{metadata_buffer_length, CountersManager, COUNTER_LENGTH};
use oxeron_concurrent::error_log::DistinctErrorLog;
use oxeron_concurrent::AtomicBuffer;

fn manager() -> CountersManager {
    let values = AtomicBuffer::new_zeroed(1024 * COUNTER_LENGTH);
    let metadata = AtomicBuffer::new_zeroed(metadata_buffer_length(values.capacity()));
    CountersManager::new(metadata, values)
        .unwrap()
        .with_clock(Arc::new(|| 0))
        .with_free_to_reuse_timeout_ms(0)
}

fn counters(c: &mut Criterion) {
    let mut m = manager();
    let counter = m.new_counter(1, &[], "bench").unwrap();

    c.bench_function("counter increment_release (single writer)", |b| {
        b.iter(|| black_box(counter.increment_release()))
    });
    c.bench_function("counter increment (atomic)", |b| {
        b.iter(|| black_box(counter.increment()))
    });
    c.bench_function("counter get (acquire)", |b| {
        b.iter(|| black_box(counter.get()))
    });
    let reader = m.reader().clone();
    c.bench_function("reader counter_value", |b| {
        b.iter(|| black_box(reader.counter_value(black_box(0)).unwrap()))
    });
    c.bench_function("allocate + free", |b| {
        b.iter(|| {
            let id = m
                .allocate(2, &[1, 2, 3, 4], "snd-pos: 1 2 3 aeron:udp")
                .unwrap();
            m.free(black_box(id)).unwrap();
        })
    });
}

fn error_log(c: &mut Criterion) {
    let log = DistinctErrorLog::new(AtomicBuffer::new_zeroed(64 * 1024), Arc::new(|| 0)).unwrap();
    for i in 0..8 {
        log.record(i, "some other error seen earlier");
    }
    c.bench_function("error log record (repeated error)", |b| {
        b.iter(|| black_box(log.record(3, black_box("timeout waiting for status message"))))
    });
}

criterion_group!(benches, counters, error_log);
criterion_main!(benches);
