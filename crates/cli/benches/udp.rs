//! UDP loopback throughput and ping-pong latency through one embedded driver whose sender and receiver meet on
//! 127.0.0.1 (dedicated threading mode unless `OXERON_BENCH_MODE` says otherwise; backoff idle). Run with
//! `cargo bench -p oxeron-cli --bench udp`.

use std::time::Duration;

use oxeron::client::{Aeron, Context};
use oxeron::driver::{Context as DriverContext, MediaDriver, ThreadingMode};
use oxeron_cli::bench::{ping_pong, throughput};

fn main() {
    let quick =
        std::env::args().any(|a| a == "--test") || std::env::var_os("OXERON_BENCH_QUICK").is_some();
    let dir = tempfile::Builder::new()
        .prefix("oxeron-bench-")
        .tempdir_in(if std::path::Path::new("/dev/shm").is_dir() {
            "/dev/shm"
        } else {
            "/tmp"
        })
        .unwrap();
    let mode = std::env::var("OXERON_BENCH_MODE")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(ThreadingMode::Dedicated);
    let ctx = DriverContext::new()
        .aeron_dir(dir.path().join("aeron"))
        .threading_mode(mode);
    println!(
        "UDP loopback, term length {} bytes, mtu {}, {mode:?}",
        ctx.term_buffer_length, ctx.mtu_length
    );
    let driver = MediaDriver::launch(ctx).unwrap();
    let aeron = Aeron::connect(Context::new().aeron_dir(driver.aeron_dir())).unwrap();
    let scale = if quick { 100 } else { 1 };
    println!("UDP throughput (one publisher thread, one subscriber thread)");
    let mut stream = 100;
    for &(length, messages) in &[(32usize, 10_000_000u64), (1024, 2_000_000)] {
        stream += 1;
        let channel = format!(
            "aeron:udp?endpoint=127.0.0.1:{}",
            oxeron_testkit::free_udp_port()
        );
        let t = throughput(&aeron, &channel, stream, length, messages / scale, true).unwrap();
        println!(
            "  {:>5} B  {:>8.2} M msg/s  {:>8.1} MB/s",
            length,
            t.messages_per_second() / 1e6,
            t.megabytes_per_second()
        );
    }
    let counters = aeron.counters_reader();
    let value = |id: i32| counters.counter_value(id).unwrap_or(0);
    use oxeron::concurrent::counters::type_id::system_counter_id as sc;
    println!(
        "  NAKs received {}  retransmits {}  short sends {}",
        value(sc::NAK_MESSAGES_RECEIVED),
        value(sc::RETRANSMITS_SENT),
        value(sc::SHORT_SENDS)
    );
    println!("UDP ping-pong round trip, 32 B");
    let channel = format!(
        "aeron:udp?endpoint=127.0.0.1:{}",
        oxeron_testkit::free_udp_port()
    );
    let h = ping_pong(
        &aeron,
        &channel,
        201,
        202,
        32,
        20_000 / scale,
        200_000 / scale,
    )
    .unwrap();
    let us = |ns: u64| Duration::from_nanos(ns).as_secs_f64() * 1e6;
    println!(
        "  p50 {:.2} us  p90 {:.2} us  p99 {:.2} us  p99.9 {:.2} us  max {:.2} us  ({} samples)",
        us(h.value_at_quantile(0.5)),
        us(h.value_at_quantile(0.9)),
        us(h.value_at_quantile(0.99)),
        us(h.value_at_quantile(0.999)),
        us(h.max()),
        h.len()
    );
    drop(aeron);
    driver.close();
}
