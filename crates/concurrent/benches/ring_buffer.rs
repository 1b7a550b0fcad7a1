//! Single-thread throughput of the many-to-one ring buffer (write then read) and the broadcast buffer
//! (transmit then receive, copy and validate), for 32- and 256-byte messages, in batches of 64.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use oxeron_concurrent::broadcast::{self, BroadcastReceiver, BroadcastTransmitter};
use oxeron_concurrent::ring_buffer::{self, ManyToOneRingBuffer};
use oxeron_concurrent::AtomicBuffer;

const CAPACITY: usize = 64 * 1024;
const BATCH: usize = 64;
const SIZES: [usize; 2] = [32, 256];

fn ring_buffer_write_read(c: &mut Criterion) {
    let mut group = c.benchmark_group("ring_buffer/write+read");
    group.throughput(Throughput::Elements(BATCH as u64));
    for size in SIZES {
        let rb = ManyToOneRingBuffer::new(AtomicBuffer::new_zeroed(
            CAPACITY + ring_buffer::TRAILER_LENGTH,
        ))
        .unwrap();
        let msg = vec![0xA5u8; size];
        let mut scratch = vec![0u8; size];
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| {
                for _ in 0..BATCH {
                    rb.write(1, black_box(&msg)).unwrap();
                }
                let mut read = 0;
                while read < BATCH {
                    read += rb
                        .read(
                            |msg_type_id, m| {
                                m.get_bytes(0, &mut scratch[..m.capacity()]);
                                black_box((msg_type_id, &scratch));
                            },
                            BATCH,
                        )
                        .unwrap();
                }
            })
        });
    }
    group.finish();
}

fn broadcast_transmit_receive(c: &mut Criterion) {
    let mut group = c.benchmark_group("broadcast/transmit+receive");
    group.throughput(Throughput::Elements(BATCH as u64));
    for size in SIZES {
        let buffer = AtomicBuffer::new_zeroed(CAPACITY + broadcast::TRAILER_LENGTH);
        let mut tx = BroadcastTransmitter::new(buffer.clone()).unwrap();
        let mut rx = BroadcastReceiver::new(buffer).unwrap();
        let msg = vec![0x5Au8; size];
        let mut scratch = vec![0u8; size];
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| {
                for _ in 0..BATCH {
                    tx.transmit(1, black_box(&msg)).unwrap();
                }
                for _ in 0..BATCH {
                    assert!(rx.receive_next().unwrap());
                    rx.buffer()
                        .get_bytes(rx.offset(), &mut scratch[..rx.length()]);
                    assert!(rx.validate());
                    black_box((rx.type_id(), &scratch));
                }
            })
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    ring_buffer_write_read(&mut c);
    broadcast_transmit_receive(&mut c);
    c.final_summary();
}
