//! IPC throughput and ping-pong latency through an embedded driver (shared threading mode, backoff idle),
//! with publisher and subscriber threads that yield when idle. Run with `cargo bench -p oxeron-cli --bench ipc`.

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
    // OXERON_BENCH_TERM_LENGTH (bytes, power of two) overrides Aeron's 64 MiB IPC term.
    let mut ctx = DriverContext::new()
        .aeron_dir(dir.path().join("aeron"))
        .threading_mode(ThreadingMode::Shared);
    if let Some(term) = std::env::var("OXERON_BENCH_TERM_LENGTH")
        .ok()
        .and_then(|t| t.parse().ok())
    {
        ctx = ctx.ipc_term_buffer_length(term);
    }
    if let Some(idle) = std::env::var("OXERON_BENCH_IDLE")
        .ok()
        .and_then(|i| i.parse().ok())
    {
        ctx = ctx.shared_idle_strategy(idle);
    }
    println!(
        "IPC term length {} bytes, driver idle {}",
        ctx.ipc_term_buffer_length, ctx.shared_idle_strategy
    );
    let driver = MediaDriver::launch(ctx).unwrap();
    let aeron = Aeron::connect(Context::new().aeron_dir(driver.aeron_dir())).unwrap();
    let scale = if quick { 100 } else { 1 };
    println!("IPC throughput (one publisher thread, one subscriber thread)");
    let mut stream = 100;
    for &(length, messages) in &[(32usize, 20_000_000u64), (1024, 5_000_000)] {
        for exclusive in [true, false] {
            stream += 1;
            let name = format!("{length}{}", if exclusive { "e" } else { "c" });
            if std::env::var("OXERON_BENCH_ONLY").is_ok_and(|only| only != name) {
                continue;
            }
            let t = throughput(
                &aeron,
                "aeron:ipc",
                stream,
                length,
                messages / scale,
                exclusive,
            )
            .unwrap();
            println!(
                "  {:>5} B  {:<10} {:>8.2} M msg/s  {:>8.1} MB/s",
                length,
                if exclusive { "exclusive" } else { "concurrent" },
                t.messages_per_second() / 1e6,
                t.megabytes_per_second()
            );
        }
    }
    if std::env::var("OXERON_BENCH_ONLY").is_ok_and(|only| only != "rtt") {
        return;
    }
    println!("IPC ping-pong round trip, 32 B");
    let h = ping_pong(
        &aeron,
        "aeron:ipc",
        201,
        202,
        32,
        100_000 / scale,
        1_000_000 / scale,
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
