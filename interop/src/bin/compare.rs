//! Side-by-side: the same IPC and UDP-loopback throughput and ping-pong runs on Aeron C 1.54 (through
//! rusteron) and on Oxeron, one after the other in one process, printing both figures and the Oxeron/Aeron
//! ratio. UDP runs go from a publication to a subscription of the same driver over 127.0.0.1.
//!
//! Both stacks: an embedded driver in SHARED threading mode with the backoff idle strategy, IPC term length
//! 64 MiB (Aeron's default), pre-allocated (non-sparse) log files; one publisher thread and one subscriber
//! thread per run, exclusive publications, fragment limit 256, threads yield when they find nothing to do.
//!
//! The machine's state drifts (page cache, other load, turbo), so the comparison runs in rounds that alternate
//! the two stacks (`COMPARE_ROUNDS`, default 3) and reports medians and merged latency histograms.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

const THROUGHPUT_RUNS: [(usize, u64); 2] = [(32, 20_000_000), (1024, 4_000_000)];
const RTT_WARMUP: u64 = 50_000;
const RTT_SAMPLES: u64 = 500_000;
const FRAGMENT_LIMIT: usize = 256;
const UDP_RUNS: [(usize, u64); 2] = [(32, 4_000_000), (1024, 500_000)];
const UDP_RTT_WARMUP: u64 = 5_000;
const UDP_RTT_SAMPLES: u64 = 50_000;

fn udp_channel() -> String {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port");
    format!("aeron:udp?endpoint=127.0.0.1:{port}")
}

struct Figures {
    throughput: Vec<(usize, f64)>,
    rtt: Histogram<u64>,
    udp_throughput: Vec<(usize, f64)>,
    udp_rtt: Histogram<u64>,
    /// Oxeron's client on Aeron C's driver: tells the client's and the driver's share of the latency apart.
    mixed_rtt: Option<Histogram<u64>>,
}

mod aeron_c {
    use super::*;
    use rusteron_client::*;
    use rusteron_media_driver::testing::EmbeddedDriver;

    pub fn run() -> Result<Figures, Box<dyn std::error::Error>> {
        std::env::set_var("AERON_THREADING_MODE", "SHARED");
        std::env::set_var("AERON_SHARED_IDLE_STRATEGY", "backoff");
        let driver = EmbeddedDriver::launch_with(|context| {
            context.set_term_buffer_sparse_file(false)?;
            Ok(())
        })?;
        let dir = driver.dir().to_string();
        let mut throughput = Vec::new();
        let ipc = std::ffi::CString::new("aeron:ipc")?;
        for (i, &(length, count)) in THROUGHPUT_RUNS.iter().enumerate() {
            throughput.push((
                length,
                run_throughput(&dir, &ipc, 3000 + i as i32, length, count)?,
            ));
        }
        let rtt = run_ping_pong(&dir, &ipc, &ipc, RTT_WARMUP, RTT_SAMPLES)?;
        let mut udp_throughput = Vec::new();
        for (i, &(length, count)) in UDP_RUNS.iter().enumerate() {
            let channel = std::ffi::CString::new(udp_channel())?;
            udp_throughput.push((
                length,
                run_throughput(&dir, &channel, 4000 + i as i32, length, count)?,
            ));
        }
        let ping = std::ffi::CString::new(udp_channel())?;
        let pong = std::ffi::CString::new(udp_channel())?;
        let udp_rtt = run_ping_pong(&dir, &ping, &pong, UDP_RTT_WARMUP, UDP_RTT_SAMPLES)?;
        let oxeron_client =
            oxeron_client::Aeron::connect(oxeron_client::Context::new().aeron_dir(&dir))?;
        let mixed_rtt = oxeron_cli::bench::ping_pong(
            &oxeron_client,
            "aeron:ipc",
            3201,
            3202,
            32,
            RTT_WARMUP,
            RTT_SAMPLES,
        )?;
        drop(oxeron_client);
        drop(driver);
        Ok(Figures {
            throughput,
            rtt,
            udp_throughput,
            udp_rtt,
            mixed_rtt: Some(mixed_rtt),
        })
    }

    fn connect(dir: &str) -> Result<Aeron, AeronCError> {
        Aeron::connect_dir(dir)
    }

    fn run_throughput(
        dir: &str,
        channel: &std::ffi::CStr,
        stream: i32,
        length: usize,
        count: u64,
    ) -> Result<f64, Box<dyn std::error::Error>> {
        let aeron = connect(dir)?;
        let publication = aeron
            .async_add_exclusive_publication(channel, stream)?
            .poll_blocking(Duration::from_secs(5))?;
        let sub_dir = dir.to_string();
        let sub_channel = channel.to_owned();
        let ready = Arc::new(AtomicBool::new(false));
        let ready_sub = Arc::clone(&ready);
        let consumer = std::thread::spawn(move || -> Result<Instant, AeronCError> {
            let aeron = connect(&sub_dir)?;
            let subscription = aeron
                .async_add_subscription(&sub_channel, stream, Handlers::NONE, Handlers::NONE)?
                .poll_blocking(Duration::from_secs(5))?;
            ready_sub.store(true, Ordering::Release);
            let mut received = 0u64;
            while received < count {
                let n = subscription.poll_fn(|_, _| received += 1, FRAGMENT_LIMIT)?;
                if n == 0 {
                    std::thread::yield_now();
                }
            }
            Ok(Instant::now())
        });
        while !ready.load(Ordering::Acquire) || !publication.is_connected() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let message = vec![0xA5u8; length];
        let start = Instant::now();
        for _ in 0..count {
            while publication.offer(&message).is_err() {
                std::thread::yield_now();
            }
        }
        let end = consumer.join().expect("consumer panicked")?;
        Ok(count as f64 / (end - start).as_secs_f64())
    }

    fn run_ping_pong(
        dir: &str,
        ping_channel: &std::ffi::CStr,
        pong_channel: &std::ffi::CStr,
        warmup: u64,
        samples: u64,
    ) -> Result<Histogram<u64>, Box<dyn std::error::Error>> {
        let (echo_ping, echo_pong) = (ping_channel.to_owned(), pong_channel.to_owned());
        let running = Arc::new(AtomicBool::new(true));
        let echo_running = Arc::clone(&running);
        let echo_dir = dir.to_string();
        let ready = Arc::new(AtomicBool::new(false));
        let echo_ready = Arc::clone(&ready);
        let echo = std::thread::spawn(move || -> Result<(), AeronCError> {
            let aeron = connect(&echo_dir)?;
            let subscription = aeron
                .async_add_subscription(&echo_ping, 3101, Handlers::NONE, Handlers::NONE)?
                .poll_blocking(Duration::from_secs(5))?;
            let publication = aeron
                .async_add_exclusive_publication(&echo_pong, 3102)?
                .poll_blocking(Duration::from_secs(5))?;
            echo_ready.store(true, Ordering::Release);
            while echo_running.load(Ordering::Relaxed) {
                let n = subscription.poll_fn(
                    |msg, _| {
                        while publication.offer(msg).is_err() {
                            std::hint::spin_loop();
                        }
                    },
                    16,
                )?;
                if n == 0 {
                    std::thread::yield_now();
                }
            }
            Ok(())
        });
        let aeron = connect(dir)?;
        let ping = aeron
            .async_add_exclusive_publication(ping_channel, 3101)?
            .poll_blocking(Duration::from_secs(5))?;
        let pong = aeron
            .async_add_subscription(pong_channel, 3102, Handlers::NONE, Handlers::NONE)?
            .poll_blocking(Duration::from_secs(5))?;
        while !ready.load(Ordering::Acquire) || !ping.is_connected() || !pong.is_connected() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3)?;
        let mut message = vec![0u8; 32];
        for i in 0..warmup + samples {
            message[..8].copy_from_slice(&i.to_le_bytes());
            let start = Instant::now();
            while ping.offer(&message).is_err() {
                std::hint::spin_loop();
            }
            let mut answered = false;
            while !answered {
                if pong.poll_fn(|_, _| answered = true, 1)? == 0 {
                    std::thread::yield_now();
                }
            }
            if i >= warmup {
                histogram.record(start.elapsed().as_nanos() as u64)?;
            }
        }
        running.store(false, Ordering::Relaxed);
        echo.join().expect("echo panicked")?;
        Ok(histogram)
    }
}

mod oxeron_stack {
    use super::*;
    use oxeron_client::{Aeron, Context};
    use oxeron_driver::{Context as DriverContext, MediaDriver, ThreadingMode};

    pub fn run() -> Result<Figures, Box<dyn std::error::Error>> {
        let dir = tempfile::Builder::new()
            .prefix("oxeron-compare-")
            .tempdir_in("/dev/shm")?;
        let driver = MediaDriver::launch(
            DriverContext::new()
                .aeron_dir(dir.path().join("aeron"))
                .threading_mode(ThreadingMode::Shared)
                .term_buffer_sparse_file(false),
        )?;
        let aeron = Aeron::connect(Context::new().aeron_dir(driver.aeron_dir()))?;
        let mut throughput = Vec::new();
        for (i, &(length, count)) in THROUGHPUT_RUNS.iter().enumerate() {
            let t = oxeron_cli::bench::throughput(
                &aeron,
                "aeron:ipc",
                3000 + i as i32,
                length,
                count,
                true,
            )?;
            throughput.push((length, t.messages_per_second()));
        }
        let rtt = oxeron_cli::bench::ping_pong(
            &aeron,
            "aeron:ipc",
            3101,
            3102,
            32,
            RTT_WARMUP,
            RTT_SAMPLES,
        )?;
        let mut udp_throughput = Vec::new();
        for (i, &(length, count)) in UDP_RUNS.iter().enumerate() {
            let t = oxeron_cli::bench::throughput(
                &aeron,
                &udp_channel(),
                4000 + i as i32,
                length,
                count,
                true,
            )?;
            udp_throughput.push((length, t.messages_per_second()));
        }
        let udp_rtt = oxeron_cli::bench::ping_pong(
            &aeron,
            &udp_channel(),
            4101,
            4102,
            32,
            UDP_RTT_WARMUP,
            UDP_RTT_SAMPLES,
        )?;
        drop(aeron);
        driver.close();
        Ok(Figures {
            throughput,
            rtt,
            udp_throughput,
            udp_rtt,
            mixed_rtt: None,
        })
    }
}

/// Rounds of the whole comparison (`COMPARE_ROUNDS`, default 3): each round runs Aeron C and then Oxeron, so
/// drift in the machine's state falls on both; throughput is the median over rounds, latency the merged
/// histogram.
fn rounds() -> usize {
    std::env::var("COMPARE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(3)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Median throughput per message length, and the lowest and highest per-round ratio beside it.
fn throughput_rows(
    aeron: &[Vec<(usize, f64)>],
    oxeron: &[Vec<(usize, f64)>],
) -> Vec<(usize, f64, f64, f64, f64)> {
    let lengths: Vec<usize> = aeron[0].iter().map(|&(length, _)| length).collect();
    lengths
        .iter()
        .enumerate()
        .map(|(i, &length)| {
            let a: Vec<f64> = aeron.iter().map(|round| round[i].1).collect();
            let o: Vec<f64> = oxeron.iter().map(|round| round[i].1).collect();
            let ratios: Vec<f64> = a.iter().zip(&o).map(|(a, o)| o / a).collect();
            let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
            let high = ratios.iter().copied().fold(0.0, f64::max);
            (length, median(a), median(o), low, high)
        })
        .collect()
}

fn merged(histograms: impl Iterator<Item = Histogram<u64>>) -> Histogram<u64> {
    let mut all = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).expect("valid bounds");
    for h in histograms {
        all.add(&h).expect("same bounds");
    }
    all
}

fn print_throughput(title: &str, rows: &[(usize, f64, f64, f64, f64)]) {
    println!(
        "{:<36} {:>14} {:>14} {:>8} {:>13}",
        title, "Aeron C 1.54", "Oxeron", "ratio", "round ratios"
    );
    for &(length, a, o, low, high) in rows {
        println!(
            "{:<36} {:>10.3} M/s {:>10.3} M/s {:>8.2} {:>6.2}-{:<6.2}",
            format!("throughput {length} B (median)"),
            a / 1e6,
            o / 1e6,
            o / a,
            low,
            high
        );
    }
}

fn print_rtt(aeron: &Histogram<u64>, oxeron: &Histogram<u64>) {
    for (name, q) in [("RTT p50", 0.5), ("RTT p99", 0.99), ("RTT p99.9", 0.999)] {
        let a = aeron.value_at_quantile(q) as f64 / 1000.0;
        let o = oxeron.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "{:<36} {:>11.2} us {:>11.2} us {:>8.2}",
            format!("{name} 32 B"),
            a,
            o,
            o / a
        );
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rounds = rounds();
    println!("cores: {cores}, rounds: {rounds}");
    let mut aeron = Vec::new();
    let mut oxeron = Vec::new();
    for round in 1..=rounds {
        aeron.push(aeron_c::run()?);
        oxeron.push(oxeron_stack::run()?);
        println!(
            "round {round} done ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
    // One section per transport: median throughput per length, then latency from all rounds' histograms.
    let section = |title: &str,
                   throughput: fn(&Figures) -> &Vec<(usize, f64)>,
                   rtt: fn(&Figures) -> &Histogram<u64>| {
        let pick = |side: &[Figures]| {
            side.iter()
                .map(|f| throughput(f).clone())
                .collect::<Vec<_>>()
        };
        print_throughput(title, &throughput_rows(&pick(&aeron), &pick(&oxeron)));
        print_rtt(
            &merged(aeron.iter().map(|f| rtt(f).clone())),
            &merged(oxeron.iter().map(|f| rtt(f).clone())),
        );
    };
    section("IPC, exclusive publication", |f| &f.throughput, |f| &f.rtt);
    section(
        "UDP loopback, exclusive publication",
        |f| &f.udp_throughput,
        |f| &f.udp_rtt,
    );
    let mixed = merged(aeron.iter().filter_map(|f| f.mixed_rtt.clone()));
    if !mixed.is_empty() {
        println!(
            "{:<36} p50 {:.2} us, p99 {:.2} us, p99.9 {:.2} us",
            "RTT, Oxeron client on Aeron C driver",
            mixed.value_at_quantile(0.5) as f64 / 1000.0,
            mixed.value_at_quantile(0.99) as f64 / 1000.0,
            mixed.value_at_quantile(0.999) as f64 / 1000.0
        );
    }
    println!("(ratio > 1 is better for Oxeron on throughput, < 1 on latency)");
    println!("total run time {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
