//! Whole-system benchmarks over a real driver: IPC throughput and ping-pong round-trip latency.
//!
//! The publisher and subscriber threads yield when they find nothing to do, like Aeron's samples with a
//! yielding idle strategy, so that on a small machine they leave room for the driver.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::client::{Aeron, AeronError, ExclusivePublication, Header, OfferError, Publication};

/// What a throughput run measured.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    /// Messages received.
    pub messages: u64,
    /// Message length in bytes.
    pub message_length: usize,
    /// From the first offer to the last message received.
    pub elapsed: Duration,
}

impl Throughput {
    /// Messages per second.
    pub fn messages_per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }

    /// Payload megabytes (10^6) per second.
    pub fn megabytes_per_second(&self) -> f64 {
        self.messages_per_second() * self.message_length as f64 / 1e6
    }
}

/// Either kind of publication, for benchmarks that run on both.
enum AnyPublication {
    Concurrent(Publication),
    Exclusive(ExclusivePublication),
}

impl AnyPublication {
    fn add(aeron: &Aeron, channel: &str, stream: i32, exclusive: bool) -> Result<Self, AeronError> {
        Ok(if exclusive {
            AnyPublication::Exclusive(aeron.add_exclusive_publication(channel, stream)?)
        } else {
            AnyPublication::Concurrent(aeron.add_publication(channel, stream)?)
        })
    }

    #[inline]
    fn offer(&mut self, message: &[u8]) -> Result<i64, OfferError> {
        match self {
            AnyPublication::Concurrent(p) => p.offer(message),
            AnyPublication::Exclusive(p) => p.offer(message),
        }
    }

    fn is_connected(&self) -> bool {
        match self {
            AnyPublication::Concurrent(p) => p.is_connected(),
            AnyPublication::Exclusive(p) => p.is_connected(),
        }
    }
}

fn wait_connected(what: &str, mut connected: impl FnMut() -> bool) -> Result<(), AeronError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !connected() {
        if Instant::now() > deadline {
            return Err(AeronError::TimedOut(format!("{what} did not connect")));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Streams `messages` messages of `message_length` bytes over `channel` from one publisher thread to one
/// subscriber thread and times it.
pub fn throughput(
    aeron: &Aeron,
    channel: &str,
    stream: i32,
    message_length: usize,
    messages: u64,
    exclusive: bool,
) -> Result<Throughput, AeronError> {
    let mut publication = AnyPublication::add(aeron, channel, stream, exclusive)?;
    let mut subscription = aeron.add_subscription(channel, stream)?;
    wait_connected("the subscription", || subscription.is_connected())?;
    wait_connected("the publication", || publication.is_connected())?;
    let consumer = std::thread::spawn(move || {
        let mut received = 0u64;
        let deadline = Instant::now() + Duration::from_secs(300);
        while received < messages {
            let n = subscription.poll(|_: &[u8], _: &Header| {}, 1024);
            if n == 0 {
                if Instant::now() > deadline {
                    break;
                }
                std::thread::yield_now();
            }
            received += n as u64;
        }
        (received, Instant::now())
    });
    let message = vec![0xA5u8; message_length];
    let start = Instant::now();
    for _ in 0..messages {
        loop {
            match publication.offer(&message) {
                Ok(_) => break,
                Err(OfferError::BackPressured | OfferError::AdminAction) => {
                    std::thread::yield_now()
                }
                Err(e) => return Err(AeronError::InvalidArgument(format!("offer failed: {e}"))),
            }
        }
    }
    let (received, end) = consumer.join().expect("consumer thread panicked");
    if received < messages {
        return Err(AeronError::TimedOut(format!(
            "received {received} of {messages}"
        )));
    }
    Ok(Throughput {
        messages,
        message_length,
        elapsed: end - start,
    })
}

/// Measures round trips: a ping on `ping_stream`, echoed back on `pong_stream` by a second thread.
/// Returns a histogram of round-trip times in nanoseconds over `iterations` (after `warmup`).
pub fn ping_pong(
    aeron: &Aeron,
    channel: &str,
    ping_stream: i32,
    pong_stream: i32,
    message_length: usize,
    warmup: u64,
    iterations: u64,
) -> Result<Histogram<u64>, AeronError> {
    let mut ping = aeron.add_exclusive_publication(channel, ping_stream)?;
    let mut pong_subscription = aeron.add_subscription(channel, pong_stream)?;
    let mut pong = aeron.add_exclusive_publication(channel, pong_stream)?;
    let mut ping_subscription = aeron.add_subscription(channel, ping_stream)?;
    wait_connected("ping", || {
        ping.is_connected() && ping_subscription.is_connected()
    })?;
    wait_connected("pong", || {
        pong.is_connected() && pong_subscription.is_connected()
    })?;
    let running = Arc::new(AtomicBool::new(true));
    let echo_running = Arc::clone(&running);
    let echo = std::thread::spawn(move || {
        while echo_running.load(Ordering::Relaxed) {
            let n = ping_subscription.poll(
                |m: &[u8], _: &Header| {
                    while let Err(OfferError::BackPressured | OfferError::AdminAction) =
                        pong.offer(m)
                    {
                        std::hint::spin_loop();
                    }
                },
                16,
            );
            if n == 0 {
                std::thread::yield_now();
            }
        }
    });
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3)
        .map_err(|e| AeronError::InvalidArgument(e.to_string()))?;
    let mut message = vec![0u8; message_length.max(8)];
    let deadline = Instant::now() + Duration::from_secs(120);
    for i in 0..warmup + iterations {
        message[..8].copy_from_slice(&i.to_le_bytes());
        let start = Instant::now();
        loop {
            match ping.offer(&message) {
                Ok(_) => break,
                Err(OfferError::BackPressured | OfferError::AdminAction) => std::hint::spin_loop(),
                Err(e) => return Err(AeronError::InvalidArgument(format!("ping failed: {e}"))),
            }
        }
        let mut answered = false;
        let mut empty_polls = 0u32;
        while !answered {
            let n = pong_subscription.poll(|_: &[u8], _: &Header| answered = true, 1);
            if n == 0 {
                // The clock is read now and then only: a read on every empty poll would delay seeing the pong.
                empty_polls = empty_polls.wrapping_add(1);
                if empty_polls % 1024 == 0 && Instant::now() > deadline {
                    running.store(false, Ordering::Relaxed);
                    return Err(AeronError::TimedOut("no pong".into()));
                }
                std::thread::yield_now();
            }
        }
        if i >= warmup {
            let _ = histogram.record(start.elapsed().as_nanos() as u64);
        }
    }
    running.store(false, Ordering::Relaxed);
    let _ = echo.join();
    Ok(histogram)
}

/// What an archive record/replay run measured, beside the raw speed of the same disk.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveFigures {
    /// Bytes recorded (and replayed).
    pub bytes: u64,
    /// Raw sequential write, with fsync, in MB/s (the better of a run before and after the archive's).
    pub raw_write: f64,
    /// Publish until recorded and fsynced, in MB/s.
    pub record: f64,
    /// Raw sequential read in MB/s (the better of two runs).
    pub raw_read: f64,
    /// Replay request until the last message, in MB/s.
    pub replay: f64,
    /// Whether reads came from the disk (the page cache could be dropped, which needs root).
    pub cold_cache: bool,
}

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64()
}

fn raw_write(dir: &std::path::Path, bytes: u64) -> std::io::Result<Duration> {
    use std::io::Write;
    let path = dir.join("raw-write.bin");
    let chunk = vec![0x5Au8; 1024 * 1024];
    let start = Instant::now();
    let mut file = std::fs::File::create(&path)?;
    let mut written = 0;
    // The same page-cache hints the archive's segment writer gives, so the baseline is the disk's best.
    let mut write_back = crate::archive::io_hints::WriteBack::from(0);
    while written < bytes {
        file.write_all(&chunk)?;
        written += chunk.len() as u64;
        write_back.after_write(&file, written);
    }
    file.sync_all()?;
    Ok(start.elapsed())
}

fn raw_read(dir: &std::path::Path) -> std::io::Result<(u64, Duration)> {
    use std::io::Read;
    let path = dir.join("raw-write.bin");
    let mut chunk = vec![0u8; 1024 * 1024];
    let start = Instant::now();
    let mut file = std::fs::File::open(&path)?;
    // The same read-ahead the archive's segment reader asks for, so the baseline is the disk's best.
    let mut read_ahead = crate::archive::io_hints::ReadAhead::new(&file);
    let mut total = 0u64;
    loop {
        read_ahead.before_read(&file, total);
        let n = file.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    let elapsed = start.elapsed();
    std::fs::remove_file(path)?;
    Ok((total, elapsed))
}

/// Empties the page cache so reads come from the disk (needs root; `OXERON_BENCH_KEEP_CACHE` set skips it);
/// `false` when it doesn't.
fn drop_caches() -> bool {
    if std::env::var_os("OXERON_BENCH_KEEP_CACHE").is_some() {
        return false;
    }
    let _ = std::process::Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

/// Records `megabytes` MiB of 8 KiB messages published over IPC into an archive in `disk_dir` (with an
/// embedded driver whose directory goes under `shm_dir`), replays them, and measures the disk's raw
/// sequential write and read speed in the same run.
pub fn archive_record_replay(
    shm_dir: &std::path::Path,
    disk_dir: &std::path::Path,
    megabytes: u64,
) -> Result<ArchiveFigures, String> {
    use crate::archive::client::{AeronArchive, Context as ArchiveClientContext, ReplayParams};
    use crate::archive::server::{Archive, Context as ArchiveContext};
    use crate::archive::{RecordingSignal, SourceLocation};
    use crate::client::Context;
    use crate::driver::{Context as DriverContext, MediaDriver, ThreadingMode};

    const MESSAGE: usize = 8 * 1024 - 32;
    let text = |e: &dyn std::fmt::Display| e.to_string();
    let bytes = megabytes * 1024 * 1024;
    let write_before = raw_write(disk_dir, bytes).map_err(|e| text(&e))?;
    let cold = drop_caches();
    let (read_bytes, read_before) = raw_read(disk_dir).map_err(|e| text(&e))?;

    let aeron_dir = shm_dir.join("aeron");
    let driver = MediaDriver::launch(
        DriverContext::new()
            .aeron_dir(&aeron_dir)
            .threading_mode(ThreadingMode::Shared)
            .ipc_term_buffer_length(16 * 1024 * 1024)
            .dir_delete_on_shutdown(true),
    )
    .map_err(|e| text(&e))?;
    let archive_dir = disk_dir.join("archive");
    let archive = Archive::launch(
        ArchiveContext::new()
            .aeron_dir(&aeron_dir)
            .archive_dir(&archive_dir)
            .control_channel_enabled(false),
    )
    .map_err(|e| text(&e))?;
    let aeron =
        Arc::new(Aeron::connect(Context::new().aeron_dir(&aeron_dir)).map_err(|e| text(&e))?);
    let mut client = AeronArchive::connect(
        ArchiveClientContext::new()
            .aeron(Arc::clone(&aeron))
            .control_request_channel("aeron:ipc")
            .control_response_channel("aeron:ipc"),
    )
    .map_err(|e| text(&e))?;
    let messages = bytes / (MESSAGE as u64 + 32);
    // OXERON_BENCH_ARCHIVE_CHANNEL records another channel (e.g. `aeron:ipc?mtu=8k` for unfragmented
    // messages).
    let channel =
        std::env::var("OXERON_BENCH_ARCHIVE_CHANNEL").unwrap_or_else(|_| "aeron:ipc".to_string());
    let subscription_id = client
        .start_recording(&channel, 1001, SourceLocation::Local, false)
        .map_err(|e| text(&e))?;
    let mut publication = aeron
        .add_exclusive_publication(&channel, 1001)
        .map_err(|e| text(&e))?;
    wait_connected("recording", || publication.is_connected()).map_err(|e| text(&e))?;
    let recording_id = client
        .await_recording_signal(None, RecordingSignal::Start)
        .map_err(|e| text(&e))?
        .recording_id;
    let payload = vec![0xA5u8; MESSAGE];
    let deadline = Instant::now() + Duration::from_secs(300);
    let start = Instant::now();
    let mut end = 0;
    for _ in 0..messages {
        loop {
            match publication.offer(&payload) {
                Ok(p) => {
                    end = p;
                    break;
                }
                Err(_) if Instant::now() < deadline => std::thread::yield_now(),
                Err(e) => return Err(format!("publishing: {e}")),
            }
        }
    }
    while client
        .get_recording_position(recording_id)
        .map_err(|e| text(&e))?
        < end
    {
        if Instant::now() > deadline {
            return Err("the recording did not catch up".into());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    for entry in std::fs::read_dir(&archive_dir).map_err(|e| text(&e))? {
        let path = entry.map_err(|e| text(&e))?.path();
        if path.extension().is_some_and(|e| e == "rec") {
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| text(&e))?;
        }
    }
    let record_time = start.elapsed();
    client
        .stop_recording_subscription(subscription_id)
        .map_err(|e| text(&e))?;
    drop(publication);

    drop_caches();
    let start = Instant::now();
    let (_, mut replay) = client
        .replay(recording_id, "aeron:ipc", 2001, ReplayParams::default())
        .map_err(|e| text(&e))?;
    let total = messages * MESSAGE as u64;
    let mut received = 0u64;
    while received < total {
        if replay.poll(
            |payload: &[u8], _: &Header| received += payload.len() as u64,
            256,
        ) == 0
        {
            if Instant::now() > deadline {
                return Err("the replay stalled".into());
            }
            std::thread::yield_now();
        }
    }
    let replay_time = start.elapsed();
    drop(replay);
    client.close();
    archive.close();
    // The client goes before its driver, or it reports the driver's shutdown as an error.
    drop(aeron);
    drop(driver);
    std::fs::remove_dir_all(&archive_dir).map_err(|e| text(&e))?;

    let write_after = raw_write(disk_dir, bytes).map_err(|e| text(&e))?;
    drop_caches();
    let (read_after_bytes, read_after) = raw_read(disk_dir).map_err(|e| text(&e))?;
    let recorded = end as u64;
    Ok(ArchiveFigures {
        bytes: recorded,
        raw_write: mb_per_s(bytes, write_before).max(mb_per_s(bytes, write_after)),
        record: mb_per_s(recorded, record_time),
        raw_read: mb_per_s(read_bytes, read_before).max(mb_per_s(read_after_bytes, read_after)),
        replay: mb_per_s(recorded, replay_time),
        cold_cache: cold,
    })
}

/// The figures as the CLI and the benchmark print them.
pub fn describe_archive_figures(f: &ArchiveFigures, megabytes: u64) -> String {
    let cache = if f.cold_cache {
        "cold page cache"
    } else {
        "page cache not dropped (needs root)"
    };
    format!(
        "archive: {megabytes} MiB of 8 KiB messages over IPC, archive on disk\n  raw sequential write (+fsync): {:>8.1} MB/s\n  recording (+fsync):            {:>8.1} MB/s ({:.0}% of raw write)\n  raw sequential read ({cache}): {:>8.1} MB/s\n  replay:                        {:>8.1} MB/s ({:.0}% of raw read)",
        f.raw_write,
        f.record,
        100.0 * f.record / f.raw_write,
        f.raw_read,
        f.replay,
        100.0 * f.replay / f.raw_read
    )
}
