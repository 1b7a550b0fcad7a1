//! Whole-system benchmarks over a real driver: IPC throughput and ping-pong round-trip latency.
//!
//! The publisher and subscriber threads yield when they find nothing to do, like Aeron's samples with a
//! yielding idle strategy, so that on a small machine they leave room for the driver.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use oxeron::client::{Aeron, AeronError, ExclusivePublication, Header, OfferError, Publication};
use oxeron::concurrent::idle::IdleStrategy;

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
    throughput_reporting(
        aeron,
        channel,
        stream,
        message_length,
        messages,
        exclusive,
        &|_| {},
    )
}

/// How often the benches report progress, in messages or round trips: rarely enough to cost nothing.
pub const PROGRESS_EVERY: u64 = 1 << 16;

/// [`throughput`], calling `progress` with the messages offered so far every [`PROGRESS_EVERY`].
#[allow(clippy::too_many_arguments)]
pub fn throughput_reporting(
    aeron: &Aeron,
    channel: &str,
    stream: i32,
    message_length: usize,
    messages: u64,
    exclusive: bool,
    progress: &dyn Fn(u64),
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
    for sent in 0..messages {
        if sent % PROGRESS_EVERY == 0 {
            progress(sent);
        }
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
    ping_pong_reporting(
        aeron,
        channel,
        (ping_stream, pong_stream),
        message_length,
        (warmup, iterations),
        &|_| {},
    )
}

/// [`ping_pong`], calling `progress` with the round trips done so far (warm-up included) every
/// [`PROGRESS_EVERY`].
pub fn ping_pong_reporting(
    aeron: &Aeron,
    channel: &str,
    (ping_stream, pong_stream): (i32, i32),
    message_length: usize,
    (warmup, iterations): (u64, u64),
    progress: &dyn Fn(u64),
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
        if i % PROGRESS_EVERY == 0 {
            progress(i);
        }
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

/// What an archive record/replay run measured, beside the raw speed of the same disk: medians over its
/// rounds, and each round's ratios.
#[derive(Debug, Clone)]
pub struct ArchiveFigures {
    /// Bytes recorded (and replayed) per round.
    pub bytes: u64,
    /// Raw sequential write, with fsync, in MB/s.
    pub raw_write: f64,
    /// Publish until recorded and fsynced, in MB/s.
    pub record: f64,
    /// Raw sequential read in MB/s.
    pub raw_read: f64,
    /// Replay request until the last message, in MB/s.
    pub replay: f64,
    /// Recording over raw write, one value per round.
    pub record_ratios: Vec<f64>,
    /// Replay over raw read, one value per round.
    pub replay_ratios: Vec<f64>,
    /// Whether reads came from the disk (the page cache could be dropped, which needs root).
    pub cold_cache: bool,
    /// The archive's threading mode in these rounds.
    pub threading_mode: oxeron::archive::server::ArchiveThreadingMode,
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Commits the file system's journal, so that the blocks of files just deleted can be allocated again
/// (ext4 reuses freed blocks only once the transaction that freed them has committed).
fn free_deleted_blocks() {
    let _ = std::process::Command::new("sync").status();
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
    let mut write_back = oxeron::archive::io_hints::WriteBack::from(0);
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
    let mut read_ahead = oxeron::archive::io_hints::ReadAhead::new(&file);
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

/// Message length of the archive benchmark: a frame of 8 KiB.
const ARCHIVE_MESSAGE: usize = 8 * 1024 - 32;

/// An embedded driver and archive with a connected archive client, for the archive benchmark.
struct ArchiveBench {
    archive_dir: std::path::PathBuf,
    channel: String,
    // Field order is drop order: the client goes before the archive, and both before their driver, or
    // the driver's shutdown is reported as an error.
    client: oxeron::archive::client::AeronArchive,
    aeron: Aeron,
    archive: oxeron::archive::server::Archive,
    _driver: oxeron::driver::MediaDriver,
}

fn text(e: &dyn std::fmt::Display) -> String {
    e.to_string()
}

impl ArchiveBench {
    fn launch(
        shm_dir: &std::path::Path,
        disk_dir: &std::path::Path,
        threading_mode: oxeron::archive::server::ArchiveThreadingMode,
    ) -> Result<Self, String> {
        use oxeron::archive::client::{AeronArchive, Context as ArchiveClientContext};
        use oxeron::archive::server::{Archive, Context as ArchiveContext};
        use oxeron::client::Context;
        use oxeron::driver::{Context as DriverContext, MediaDriver, ThreadingMode};

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
                .control_channel_enabled(false)
                .threading_mode(threading_mode),
        )
        .map_err(|e| text(&e))?;
        let aeron = Aeron::connect(Context::new().aeron_dir(&aeron_dir)).map_err(|e| text(&e))?;
        let client = AeronArchive::connect(
            ArchiveClientContext::new()
                .aeron(aeron.clone())
                .control_request_channel("aeron:ipc")
                .control_response_channel("aeron:ipc"),
        )
        .map_err(|e| text(&e))?;
        // OXERON_BENCH_ARCHIVE_CHANNEL records another channel (e.g. `aeron:ipc?mtu=8k` for unfragmented
        // messages).
        let channel = std::env::var("OXERON_BENCH_ARCHIVE_CHANNEL")
            .unwrap_or_else(|_| "aeron:ipc".to_string());
        Ok(ArchiveBench {
            archive_dir,
            channel,
            client,
            aeron,
            archive,
            _driver: driver,
        })
    }

    /// Records `messages` messages published on a new stream until they are recorded and fsynced; returns
    /// the recording id, its stop position and the time taken.
    fn record(&mut self, stream_id: i32, messages: u64) -> Result<(i64, i64, Duration), String> {
        use oxeron::archive::{RecordingSignal, SourceLocation};

        let subscription_id = self
            .client
            .start_recording(&self.channel, stream_id, SourceLocation::Local, false)
            .map_err(|e| text(&e))?;
        let mut publication = self
            .aeron
            .add_exclusive_publication(&self.channel, stream_id)
            .map_err(|e| text(&e))?;
        wait_connected("recording", || publication.is_connected()).map_err(|e| text(&e))?;
        let recording_id = self
            .client
            .await_recording_signal(None, RecordingSignal::Start)
            .map_err(|e| text(&e))?
            .recording_id;
        let payload = vec![0xA5u8; ARCHIVE_MESSAGE];
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
        while self
            .client
            .get_recording_position(recording_id)
            .map_err(|e| text(&e))?
            < end
        {
            if Instant::now() > deadline {
                return Err("the recording did not catch up".into());
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let prefix = format!("{recording_id}-");
        for entry in std::fs::read_dir(&self.archive_dir).map_err(|e| text(&e))? {
            let path = entry.map_err(|e| text(&e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with(&prefix) && name.ends_with(".rec") {
                std::fs::File::open(&path)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| text(&e))?;
            }
        }
        let elapsed = start.elapsed();
        self.client
            .stop_recording_subscription(subscription_id)
            .map_err(|e| text(&e))?;
        Ok((recording_id, end, elapsed))
    }

    /// Replays a whole recording of `messages` messages on a new stream; returns the time from the replay
    /// request to the last message.
    fn replay(
        &mut self,
        recording_id: i64,
        stream_id: i32,
        messages: u64,
    ) -> Result<Duration, String> {
        use oxeron::archive::client::ReplayParams;

        let deadline = Instant::now() + Duration::from_secs(300);
        let start = Instant::now();
        let (_, mut replay) = self
            .client
            .replay(
                recording_id,
                "aeron:ipc",
                stream_id,
                ReplayParams::default(),
            )
            .map_err(|e| text(&e))?;
        let total = messages * ARCHIVE_MESSAGE as u64;
        let mut received = 0u64;
        // A subscriber that parks when idle, as Aeron's replay samples do, leaves the second core to the
        // archive and to the kernel's reads.
        let mut idle = oxeron::concurrent::idle::BackoffIdleStrategy::default();
        while received < total {
            let fragments = replay.poll(
                |payload: &[u8], _: &Header| received += payload.len() as u64,
                256,
            );
            if fragments == 0 && Instant::now() > deadline {
                return Err("the replay stalled".into());
            }
            idle.idle_work(fragments);
        }
        Ok(start.elapsed())
    }

    fn close(self) -> Result<(), String> {
        let ArchiveBench {
            archive_dir,
            client,
            aeron,
            archive,
            _driver,
            ..
        } = self;
        client.close();
        archive.close();
        drop(aeron);
        drop(_driver);
        std::fs::remove_dir_all(&archive_dir).map_err(|e| text(&e))
    }
}

/// Records `megabytes` MiB of 8 KiB messages published over IPC into an archive in `disk_dir` (with an
/// embedded driver whose directory goes under `shm_dir`) and replays them, `rounds` times. Each round also
/// measures the disk's raw sequential write and read of as many bytes, so that the archive and the
/// baseline it is compared with meet the same disk weather; which goes first alternates from round to
/// round.
pub fn archive_record_replay(
    shm_dir: &std::path::Path,
    disk_dir: &std::path::Path,
    megabytes: u64,
    rounds: usize,
    threading_mode: oxeron::archive::server::ArchiveThreadingMode,
) -> Result<ArchiveFigures, String> {
    archive_record_replay_reporting(
        shm_dir,
        disk_dir,
        megabytes,
        rounds,
        threading_mode,
        &|_| {},
    )
}

/// The phases of one archive bench round, in the order [`archive_record_replay_reporting`] names them.
pub const ARCHIVE_PHASES: usize = 4;

/// [`archive_record_replay`], calling `progress` with the name of each phase (`round 1/3: raw write`, ...)
/// as it starts.
pub fn archive_record_replay_reporting(
    shm_dir: &std::path::Path,
    disk_dir: &std::path::Path,
    megabytes: u64,
    rounds: usize,
    threading_mode: oxeron::archive::server::ArchiveThreadingMode,
    progress: &dyn Fn(&str),
) -> Result<ArchiveFigures, String> {
    let total_rounds = rounds.max(1);
    let bytes = megabytes * 1024 * 1024;
    let messages = bytes / (ARCHIVE_MESSAGE as u64 + 32);
    let mut bench = ArchiveBench::launch(shm_dir, disk_dir, threading_mode)?;
    let (mut raw_writes, mut records, mut raw_reads, mut replays) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut recorded = 0;
    let mut cold = false;
    // The baseline's file goes beside the segment files, where the file system allocates from the same
    // blocks.
    let baseline_dir = bench.archive_dir.clone();
    for round in 0..total_rounds as i32 {
        let phase = |name: &str| progress(&format!("round {}/{total_rounds}: {name}", round + 1));
        let mut baseline = || -> Result<(), String> {
            phase("raw write");
            let write_time = raw_write(&baseline_dir, bytes).map_err(|e| text(&e))?;
            cold = drop_caches();
            phase("raw read");
            let (read_bytes, read_time) = raw_read(&baseline_dir).map_err(|e| text(&e))?;
            raw_writes.push(mb_per_s(bytes, write_time));
            raw_reads.push(mb_per_s(read_bytes, read_time));
            free_deleted_blocks();
            Ok(())
        };
        let mut archive = || -> Result<(), String> {
            phase("record");
            let (recording_id, end, record_time) = bench.record(1001 + round, messages)?;
            recorded = end as u64;
            drop_caches();
            phase("replay");
            let replay_time = bench.replay(recording_id, 2001 + round, messages)?;
            records.push(mb_per_s(recorded, record_time));
            replays.push(mb_per_s(recorded, replay_time));
            bench
                .client
                .purge_recording(recording_id)
                .map_err(|e| text(&e))?;
            free_deleted_blocks();
            Ok(())
        };
        // Each side deletes its files and lets the file system free their blocks before the other
        // writes, so both write to the same blocks (on a thin-provisioned virtual disk, a write to blocks
        // never written before runs at a fraction of the speed of one to blocks written and freed). The
        // order alternates from round to round.
        if round % 2 == 0 {
            baseline()?;
            archive()?;
        } else {
            archive()?;
            baseline()?;
        }
    }
    bench.close()?;
    let ratios = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a / b).collect::<Vec<_>>();
    Ok(ArchiveFigures {
        bytes: recorded,
        raw_write: median(&raw_writes),
        record: median(&records),
        raw_read: median(&raw_reads),
        replay: median(&replays),
        record_ratios: ratios(&records, &raw_writes),
        replay_ratios: ratios(&replays, &raw_reads),
        cold_cache: cold,
        threading_mode,
    })
}

/// The figures as the CLI and the benchmark print them.
pub fn describe_archive_figures(f: &ArchiveFigures, megabytes: u64) -> String {
    let cache = if f.cold_cache {
        "cold page cache"
    } else {
        "page cache not dropped (needs root)"
    };
    let percents = |ratios: &[f64]| {
        let each: Vec<String> = ratios
            .iter()
            .map(|r| format!("{:.0}%", 100.0 * r))
            .collect();
        format!(
            "median {:.0}%; rounds {}",
            100.0 * median(ratios),
            each.join(", ")
        )
    };
    format!(
        "archive ({}): {megabytes} MiB of 8 KiB messages over IPC, archive on disk; medians of {} rounds\n  raw sequential write (+fsync): {:>8.1} MB/s\n  recording (+fsync):            {:>8.1} MB/s ({} of raw write)\n  raw sequential read ({cache}): {:>8.1} MB/s\n  replay:                        {:>8.1} MB/s ({} of raw read)",
        f.threading_mode.name(),
        f.record_ratios.len(),
        f.raw_write,
        f.record,
        percents(&f.record_ratios),
        f.raw_read,
        f.replay,
        percents(&f.replay_ratios)
    )
}
