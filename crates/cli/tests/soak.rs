//! Soak (issue #14's fault campaign): a standalone `oxeron driver` and a standalone `oxeron archive` as
//! two processes, with this test as their client, for `OXERON_SOAK_SECS` (default 1800) seconds:
//!
//! - one dynamic MDC publication (`control-mode=dynamic|fc=min`) publishing 256-byte messages at a steady
//!   `OXERON_SOAK_RATE` (default 20000) messages a second, received in full by one permanent receiver;
//! - 1 to 4 more receivers, each on its own endpoint, joining and leaving every few seconds;
//! - the publication recorded by the archive (a local recording, i.e. a spy), the recording stopped and a
//!   new one started every `OXERON_SOAK_ROTATE_SECS` (default 300) on 1 MiB segments, the recording before
//!   the previous one purged;
//! - every `OXERON_SOAK_REPLAY_SECS` (default 20) a replay of a 4 MiB chunk of the active recording to IPC;
//! - every message every receiver and replay delivers checked (sequence and contents);
//! - every 5 s the RSS and open file descriptors of the driver and archive processes (and this client)
//!   sampled, printed and, with `OXERON_SOAK_CSV`, written as CSV.
//!
//! At the end the samples after a warm-up (2 minutes, or a quarter of a shorter run) must be flat: the
//! median RSS of the last 10 % of samples within 5 % of that of the first 10 %, the median fd count within
//! two, and no message check may have failed. Run it with `scripts/soak [SECONDS]`.

mod common;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{spawn, wait_for_archive, Process};
use oxeron::archive::client::{AeronArchive, Context as ArchiveClientContext, ReplayParams};
use oxeron::archive::{RecordingSignal, SourceLocation};
use oxeron::client::{Aeron, Context, ExclusivePublication, Header, OfferError, Subscription};
use oxeron::concurrent::counters::type_id::system_counter_id;
use oxeron_testkit::{temp_aeron_dir, wait_until};

const STREAM_ID: i32 = 1401;
const REPLAY_STREAM_ID: i32 = 1402;
const MESSAGE_LENGTH: usize = 256;
/// Bytes one replay covers (rounded up to the next message boundary).
const REPLAY_CHUNK: i64 = 4 << 20;
/// How far back from the recorded position a replay may start.
const REPLAY_WINDOW: i64 = 32 << 20;
/// Everything the soak does besides publishing and reading happens on ticks this far apart; a sample is
/// taken every second tick (5 s), before that tick's changes.
const TICK: Duration = Duration::from_millis(2500);
/// How many receivers (besides the permanent one) there are after an odd tick, by (tick / 2) % 4, and so
/// when each sample is taken: the samples cycle through the same states, so their windows compare.
const RECEIVERS_AFTER_ODD_TICK: [usize; 4] = [1, 2, 3, 4];
/// ... and after an even tick.
const RECEIVERS_AFTER_EVEN_TICK: [usize; 4] = [3, 1, 4, 2];
/// Every this many messages the publication's position is remembered, to start and end replays on.
const POSITION_STRIDE: u64 = 16;

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value}: not a number")),
        Err(_) => default,
    }
}

/// xorshift64*: reproducible replay choices without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Message `seq` as `oxeron publish` sends it (its number, then bytes that depend on it).
fn fill_message(seq: u64, buffer: &mut [u8; MESSAGE_LENGTH]) {
    oxeron_cli::sample::fill(buffer, seq);
}

/// The sequence number of a delivered message, or what is wrong with it.
fn check_message(payload: &[u8]) -> Result<u64, String> {
    let seq = payload
        .get(..8)
        .map_or(u64::MAX, |b| u64::from_le_bytes(b.try_into().unwrap()));
    oxeron_cli::sample::check(payload, seq, MESSAGE_LENGTH).map(|()| seq)
}

/// Failed checks: all counted, the first few kept for the report.
#[derive(Default)]
struct Failures {
    count: u64,
    first: Vec<String>,
}

impl Failures {
    fn record(&mut self, elapsed: Duration, what: String) {
        self.count += 1;
        if self.first.len() < 20 {
            println!("FAILURE at {:.1}s: {what}", elapsed.as_secs_f64());
            self.first
                .push(format!("{:.1}s: {what}", elapsed.as_secs_f64()));
        }
    }
}

/// Follows one subscriber's stream: each message must be the one after the previous.
struct Sequence {
    next: Option<u64>,
    received: u64,
}

impl Sequence {
    fn new(first: Option<u64>) -> Self {
        Self {
            next: first,
            received: 0,
        }
    }

    fn on_message(&mut self, payload: &[u8], who: &str) -> Result<(), String> {
        let seq = check_message(payload).map_err(|e| format!("{who}: {e}"))?;
        self.received += 1;
        let expected = self.next.unwrap_or(seq);
        self.next = Some(seq + 1);
        if seq == expected {
            Ok(())
        } else {
            Err(format!("{who}: message {seq} where {expected} was due"))
        }
    }
}

/// Drains up to `limit` fragments from `subscription` into `sequence`; returns how many were read.
fn drain(
    subscription: &mut Subscription,
    sequence: &mut Sequence,
    who: &str,
    limit: usize,
    errors: &mut Vec<String>,
) -> usize {
    let mut total = 0;
    while total < limit {
        let read = subscription.poll(
            |payload: &[u8], _: &Header| {
                if let Err(e) = sequence.on_message(payload, who) {
                    errors.push(e);
                }
            },
            256,
        );
        if read == 0 {
            break;
        }
        total += read;
    }
    total
}

/// A receiver that joins, stays a few seconds and leaves.
struct Receiver {
    id: u64,
    subscription: Subscription,
    joined_at: Instant,
    connected_after: Option<Duration>,
    sequence: Sequence,
}

/// A replay being read: message `first..=last` expected, in order, then the end of its image.
struct Replay {
    id: u64,
    recording_id: i64,
    subscription: Subscription,
    sequence: Sequence,
    last: u64,
    started: Instant,
    overran: bool,
}

/// One process's memory and descriptors, from `/proc`.
#[derive(Clone, Copy, Default)]
struct ProcStat {
    rss_kb: u64,
    anon_kb: u64,
    file_kb: u64,
    shmem_kb: u64,
    fds: u64,
    threads: u64,
}

fn proc_stat(pid: &str) -> ProcStat {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    };
    ProcStat {
        rss_kb: field("VmRSS:"),
        anon_kb: field("RssAnon:"),
        file_kb: field("RssFile:"),
        shmem_kb: field("RssShmem:"),
        fds: std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|entries| entries.count() as u64)
            .unwrap_or(0),
        threads: field("Threads:"),
    }
}

/// (files, bytes) under `dir`.
fn dir_usage(dir: &Path) -> (u64, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if metadata.is_dir() {
                stack.push(entry.path());
            } else {
                files += 1;
                bytes += metadata.len();
            }
        }
    }
    (files, bytes)
}

struct Sample {
    t_s: f64,
    driver: ProcStat,
    archive: ProcStat,
    client: ProcStat,
    published: u64,
    receivers: usize,
    joined: u64,
    left: u64,
    replays: u64,
    failures: u64,
    counters: u64,
    aeron_files: u64,
    archive_files: u64,
    archive_mb: u64,
}

const CSV_HEADER: &str = "t_s,driver_rss_kb,driver_anon_kb,driver_file_kb,driver_shmem_kb,driver_fds,\
driver_threads,archive_rss_kb,archive_anon_kb,archive_file_kb,archive_shmem_kb,archive_fds,archive_threads,client_rss_kb,client_fds,\
published,receivers,joined,left,replays,failures,counters,aeron_dir_files,archive_files,archive_mb";

impl Sample {
    fn csv(&self) -> String {
        let p = |s: &ProcStat| {
            format!(
                "{},{},{},{},{},{}",
                s.rss_kb, s.anon_kb, s.file_kb, s.shmem_kb, s.fds, s.threads
            )
        };
        format!(
            "{:.1},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            self.t_s,
            p(&self.driver),
            p(&self.archive),
            self.client.rss_kb,
            self.client.fds,
            self.published,
            self.receivers,
            self.joined,
            self.left,
            self.replays,
            self.failures,
            self.counters,
            self.aeron_files,
            self.archive_files,
            self.archive_mb
        )
    }

    fn line(&self) -> String {
        format!(
            "t={:>6.0}s driver rss={:>7}kB (anon {:>6}) fds={:>3} | archive rss={:>7}kB (anon {:>6}) fds={:>3} | \
             client rss={:>7}kB fds={:>3} | published={:>9} rx={} joined={} left={} replays={} failures={} \
             counters={} aeron-files={} archive={}MB/{} files",
            self.t_s,
            self.driver.rss_kb,
            self.driver.anon_kb,
            self.driver.fds,
            self.archive.rss_kb,
            self.archive.anon_kb,
            self.archive.fds,
            self.client.rss_kb,
            self.client.fds,
            self.published,
            self.receivers,
            self.joined,
            self.left,
            self.replays,
            self.failures,
            self.counters,
            self.aeron_files,
            self.archive_mb,
            self.archive_files
        )
    }
}

fn median(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

/// Samples in the first and last windows: a tenth of them, in whole cycles of the receivers' pattern.
fn window_length(samples: usize) -> usize {
    let cycle = RECEIVERS_AFTER_ODD_TICK.len();
    (samples / 10 / cycle * cycle).max(cycle).min(samples)
}

/// How one metric moved over the samples after the warm-up.
struct Drift {
    name: &'static str,
    first: u64,
    last: u64,
    first_median: u64,
    last_median: u64,
    max: u64,
}

impl Drift {
    fn of(name: &'static str, samples: &[&Sample], get: impl Fn(&Sample) -> u64) -> Self {
        let values: Vec<u64> = samples.iter().map(|s| get(s)).collect();
        let window = window_length(values.len());
        Self {
            name,
            first: values[0],
            last: values[values.len() - 1],
            first_median: median(&values[..window]),
            last_median: median(&values[values.len() - window..]),
            max: values.iter().copied().max().unwrap(),
        }
    }

    fn growth_percent(&self) -> f64 {
        (self.last_median as f64 - self.first_median as f64) * 100.0 / self.first_median as f64
    }

    fn row(&self) -> String {
        format!(
            "| {:<16} | {:>9} | {:>9} | {:>13} | {:>12} | {:>9} | {:>+7.2} % |",
            self.name,
            self.first,
            self.last,
            self.first_median,
            self.last_median,
            self.max,
            self.growth_percent()
        )
    }
}

fn start_driver(aeron_dir: &Path) -> Process {
    let dir = aeron_dir.to_str().unwrap();
    let mut driver = spawn(&["driver", "--aeron-dir", dir, "--ipc-term-length", "1m"]);
    driver.wait_for(
        "oxeron driver",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || {
            Aeron::connect(
                Context::new()
                    .aeron_dir(aeron_dir)
                    .driver_timeout(Duration::from_millis(500)),
            )
            .ok()
            .map(drop)
        },
    );
    driver
}

/// Stops `process` with SIGTERM; it must exit cleanly within 30 s. Returns its stderr.
fn terminate(process: Process, what: &str) -> String {
    process.signal("-TERM");
    let finished = process.finish(what, Duration::from_secs(30));
    assert!(
        finished.status.success() && !finished.stderr.contains("panicked"),
        "{what} did not stop cleanly: {}",
        finished.describe()
    );
    finished.stderr
}

/// Starts recording `channel`; returns the recording subscription's id.
fn start_recording(archive: &mut AeronArchive, channel: &str) -> i64 {
    archive
        .start_recording(channel, STREAM_ID, SourceLocation::Local, false)
        .expect("start recording")
}

/// Waits for the recording the publication's image started; returns its id.
fn await_recording(archive: &mut AeronArchive) -> i64 {
    archive
        .await_recording_signal(None, RecordingSignal::Start)
        .expect("the recording's START signal")
        .recording_id
}

#[test]
#[ignore = "a soak of OXERON_SOAK_SECS (default 1800) seconds; run with scripts/soak"]
fn soak_mdc_receivers_recording_and_replays_stay_flat() {
    let duration = Duration::from_secs(env_u64("OXERON_SOAK_SECS", 1800));
    let rate = env_u64("OXERON_SOAK_RATE", 20_000);
    let rotate_every = Duration::from_secs(env_u64("OXERON_SOAK_ROTATE_SECS", 300));
    let replay_every = Duration::from_secs(env_u64("OXERON_SOAK_REPLAY_SECS", 20));
    let warm_up = Duration::from_secs(120).min(duration / 4);
    let replay_interior = env_u64("OXERON_SOAK_REPLAY_INTERIOR", 0) != 0;
    let mut rng = Rng(env_u64("OXERON_SOAK_SEED", 0x5eed_0014) | 1);

    let shm = temp_aeron_dir();
    let aeron_dir = shm.path().join("aeron");
    let disk = tempfile::Builder::new()
        .prefix("soak-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let archive_dir = disk.path().join("archive");
    let mut csv = std::env::var_os("OXERON_SOAK_CSV").map(|path| {
        let path = std::path::PathBuf::from(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        let mut file =
            std::fs::File::create(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        writeln!(file, "{CSV_HEADER}").unwrap();
        file
    });

    let mut driver = start_driver(&aeron_dir);
    let mut archive_process = spawn(&[
        "archive",
        "--standalone",
        "--aeron-dir",
        aeron_dir.to_str().unwrap(),
        "--archive-dir",
        archive_dir.to_str().unwrap(),
        "--no-control-channel",
        "--segment-length",
        "1m",
    ]);
    let probe = wait_for_archive(&aeron_dir, &mut archive_process);
    let aeron: Aeron = probe.aeron().clone();
    probe.close();
    let mut archive = AeronArchive::connect(
        ArchiveClientContext::new()
            .aeron(aeron.clone())
            .control_request_channel("aeron:ipc")
            .control_response_channel("aeron:ipc")
            .message_timeout(Duration::from_secs(10)),
    )
    .expect("archive client");
    let driver_pid = driver.child.id().to_string();
    let archive_pid = archive_process.child.id().to_string();
    println!(
        "soak: {}s, {rate} msgs/s of {MESSAGE_LENGTH} B, recording rotated every {}s, a replay every {}s, \
         warm-up {}s; driver pid {driver_pid}, archive pid {archive_pid}",
        duration.as_secs(),
        rotate_every.as_secs(),
        replay_every.as_secs(),
        warm_up.as_secs()
    );

    let control = oxeron_testkit::free_udp_port();
    let channel =
        format!("aeron:udp?control=127.0.0.1:{control}|control-mode=dynamic|term-length=1m|fc=min");
    let receiver_channel = |port: u16| {
        format!(
            "aeron:udp?endpoint=127.0.0.1:{port}|control=127.0.0.1:{control}|control-mode=dynamic"
        )
    };
    let mut recording_subscription = start_recording(&mut archive, &channel);
    let mut stopped_recordings: VecDeque<i64> = VecDeque::new();
    let mut recordings_started = 1u64;
    let mut recordings_purged = 0u64;
    let mut permanent = aeron
        .add_subscription(
            &receiver_channel(oxeron_testkit::free_udp_port()),
            STREAM_ID,
        )
        .unwrap();
    let mut publication: ExclusivePublication = aeron
        .add_exclusive_publication(&channel, STREAM_ID)
        .unwrap();
    wait_until(
        "the permanent receiver and the publication to connect",
        Duration::from_secs(20),
        || publication.is_connected() && permanent.is_connected(),
    );
    let mut recording_id = await_recording(&mut archive);
    let mut permanent_sequence = Sequence::new(Some(0));

    let start = Instant::now();
    let end = start + duration;
    let mut failures = Failures::default();
    let mut errors: Vec<String> = Vec::new();
    let mut message = [0u8; MESSAGE_LENGTH];
    let mut published = 0u64;
    let mut back_pressured = 0u64;
    let mut last_progress = Instant::now();
    // (position after message `seq`, `seq`) every POSITION_STRIDE messages, for the last REPLAY_WINDOW * 2.
    let mut positions: VecDeque<(i64, u64)> = VecDeque::new();
    // (position after the newest message, its number).
    let mut newest = (0i64, 0u64);
    let mut receivers: Vec<Receiver> = Vec::new();
    let mut next_receiver_id = 0u64;
    let mut joined = 0u64;
    let mut left = 0u64;
    let mut join_times: Vec<Duration> = Vec::new();
    let mut tick = 0u64;
    let mut replay: Option<Replay> = None;
    let mut replays_started = 0u64;
    let mut replays_checked = 0u64;
    let mut replayed_messages = 0u64;
    let mut replay_times: Vec<Duration> = Vec::new();
    let replay_ticks = (replay_every.as_millis() / TICK.as_millis()).max(1) as u64;
    let rotate_ticks = (rotate_every.as_millis() / TICK.as_millis()).max(1) as u64;
    let mut samples: Vec<Sample> = Vec::new();
    let mut slowest_iteration = Duration::ZERO;

    while Instant::now() < end {
        let now = Instant::now();
        let elapsed = now - start;

        // Publish what the rate says is due by now (in bursts of at most 2000).
        let due = (rate as f64 * elapsed.as_secs_f64()) as u64;
        let mut burst = 0;
        while published < due && burst < 2000 {
            fill_message(published, &mut message);
            match publication.offer(&message) {
                Ok(position) => {
                    newest = (position, published);
                    if published % POSITION_STRIDE == 0 {
                        positions.push_back((position, published));
                    }
                    published += 1;
                    burst += 1;
                    last_progress = now;
                }
                Err(OfferError::BackPressured | OfferError::AdminAction) => {
                    back_pressured += 1;
                    break;
                }
                Err(e) => panic!("offer of message {published}: {e}"),
            }
        }
        assert!(
            published >= due || last_progress.elapsed() < Duration::from_secs(10),
            "the publication made no progress for 10 s at message {published}"
        );
        while let (Some(&(oldest, _)), Some(&(newest, _))) = (positions.front(), positions.back()) {
            if newest - oldest <= 2 * REPLAY_WINDOW {
                break;
            }
            positions.pop_front();
        }

        // Every receiver reads what has arrived.
        drain(
            &mut permanent,
            &mut permanent_sequence,
            "permanent receiver",
            4096,
            &mut errors,
        );
        for receiver in &mut receivers {
            if receiver.connected_after.is_none() && receiver.subscription.is_connected() {
                receiver.connected_after = Some(receiver.joined_at.elapsed());
            }
            drain(
                &mut receiver.subscription,
                &mut receiver.sequence,
                &format!("receiver {}", receiver.id),
                4096,
                &mut errors,
            );
        }

        // A receiver that has not connected in 10 s is a failure.
        if let Some(index) = receivers.iter().position(|r| {
            r.connected_after.is_none() && r.joined_at.elapsed() > Duration::from_secs(10)
        }) {
            let receiver = receivers.remove(index);
            failures.record(
                elapsed,
                format!("receiver {} did not connect in 10 s", receiver.id),
            );
        }

        // A replay of a chunk of the active recording, read and checked as it arrives.
        if let Some(active) = &mut replay {
            drain(
                &mut active.subscription,
                &mut active.sequence,
                &format!("replay {} of recording {}", active.id, active.recording_id),
                8192,
                &mut errors,
            );
            let next = active.sequence.next.unwrap_or(0);
            if next > active.last + 1 && !active.overran {
                active.overran = true;
                let what = format!(
                    "replay {} of recording {} went on past its end (message {} was the last asked for, {} came)",
                    active.id,
                    active.recording_id,
                    active.last,
                    next - 1
                );
                failures.record(elapsed, what);
            }
            // Done once every message came and the replay's image ended (the archive closed it).
            let ended = active
                .subscription
                .images()
                .iter()
                .all(|image| image.is_end_of_stream() || image.is_closed());
            if next > active.last && ended {
                replays_checked += 1;
                replayed_messages += active.sequence.received;
                replay_times.push(active.started.elapsed());
                replay = None;
            } else if active.started.elapsed() > Duration::from_secs(30) {
                let what = format!(
                    "replay {} of recording {} did not end in 30 s: at message {next} of {}, image ended: {ended}",
                    active.id, active.recording_id, active.last
                );
                failures.record(elapsed, what);
                replay = None;
            }
        }
        while let Some(error) = archive.poll_for_errors() {
            failures.record(elapsed, format!("archive error: {error}"));
        }
        for error in errors.drain(..) {
            failures.record(elapsed, error);
        }

        // The tick's work: a sample (every other tick), receivers leaving and joining, a replay, a new recording.
        if now >= start + TICK * tick as u32 {
            let this_tick = tick;
            tick += 1;
            if this_tick % 2 == 0 {
                driver.assert_running("the driver");
                archive_process.assert_running("the archive");
                let mut counters = 0;
                aeron.counters_reader().for_each(|_, _, _, _| counters += 1);
                let (aeron_files, _) = dir_usage(&aeron_dir);
                let (archive_files, archive_bytes) = dir_usage(&archive_dir);
                let sample = Sample {
                    t_s: elapsed.as_secs_f64(),
                    driver: proc_stat(&driver_pid),
                    archive: proc_stat(&archive_pid),
                    client: proc_stat("self"),
                    published,
                    receivers: receivers.len(),
                    joined,
                    left,
                    replays: replays_checked,
                    failures: failures.count,
                    counters,
                    aeron_files,
                    archive_files,
                    archive_mb: archive_bytes >> 20,
                };
                println!("{}", sample.line());
                if let Some(file) = &mut csv {
                    writeln!(file, "{}", sample.csv()).unwrap();
                    file.flush().unwrap();
                }
                samples.push(sample);
            }
            if this_tick > 0 {
                // The oldest connected receivers leave (at least one) and new ones join (at least one).
                let phase = (this_tick / 2 % 4) as usize;
                let target = if this_tick % 2 == 1 {
                    RECEIVERS_AFTER_ODD_TICK[phase]
                } else {
                    RECEIVERS_AFTER_EVEN_TICK[phase]
                };
                let connected = receivers
                    .iter()
                    .filter(|r| r.connected_after.is_some())
                    .count();
                let keep = (target - 1).min(connected.saturating_sub(1));
                let mut leaving = connected - keep;
                let mut index = 0;
                while leaving > 0 && index < receivers.len() {
                    if receivers[index].connected_after.is_none() {
                        index += 1;
                        continue;
                    }
                    let receiver = receivers.remove(index);
                    join_times.push(receiver.connected_after.unwrap());
                    if receiver.sequence.received == 0 {
                        failures.record(
                            elapsed,
                            format!("receiver {} left without a message", receiver.id),
                        );
                    }
                    drop(receiver);
                    left += 1;
                    leaving -= 1;
                }
                while receivers.len() < target {
                    let subscription = aeron
                        .add_subscription(
                            &receiver_channel(oxeron_testkit::free_udp_port()),
                            STREAM_ID,
                        )
                        .expect("a joining receiver's subscription");
                    receivers.push(Receiver {
                        id: next_receiver_id,
                        subscription,
                        joined_at: now,
                        connected_after: None,
                        sequence: Sequence::new(None),
                    });
                    next_receiver_id += 1;
                    joined += 1;
                }
            }
            // A replay of a chunk of the active recording.
            if this_tick % replay_ticks == (replay_ticks / 2 + 1) % replay_ticks && replay.is_none()
            {
                let recorded = archive
                    .get_recording_position(recording_id)
                    .expect("recording position");
                let recording_start = archive
                    .get_start_position(recording_id)
                    .expect("recording start");
                // By default the last REPLAY_CHUNK bytes, up to the newest message published (so at or past
                // what is recorded); with OXERON_SOAK_REPLAY_INTERIOR=1 a chunk that ends before it.
                let candidates: Vec<(i64, u64)> = if replay_interior {
                    positions
                        .iter()
                        .copied()
                        .filter(|&(p, _)| {
                            p >= recording_start
                                && p >= recorded - REPLAY_WINDOW
                                && p + REPLAY_CHUNK <= recorded
                        })
                        .collect()
                } else {
                    positions
                        .iter()
                        .copied()
                        .find(|&(p, _)| {
                            p >= recording_start && p >= newest.0 - REPLAY_CHUNK && p <= recorded
                        })
                        .filter(|&(p, _)| newest.0 - p >= REPLAY_CHUNK / 4)
                        .into_iter()
                        .collect()
                };
                if !candidates.is_empty() {
                    let (from, from_seq) = candidates[rng.next() as usize % candidates.len()];
                    let (to, to_seq) = if replay_interior {
                        *positions
                            .iter()
                            .find(|&&(p, _)| p >= from + REPLAY_CHUNK)
                            .unwrap()
                    } else {
                        newest
                    };
                    let (_, subscription) = archive
                        .replay(
                            recording_id,
                            "aeron:ipc",
                            REPLAY_STREAM_ID,
                            ReplayParams::new(from, to - from),
                        )
                        .expect("replay");
                    replay = Some(Replay {
                        id: replays_started,
                        recording_id,
                        subscription,
                        sequence: Sequence::new(Some(from_seq + 1)),
                        last: to_seq,
                        started: now,
                        overran: false,
                    });
                    replays_started += 1;
                }
            }
            // A new recording every so often; the one before the previous is purged.
            if this_tick > 0 && this_tick % rotate_ticks == 0 {
                archive
                    .stop_recording_subscription(recording_subscription)
                    .expect("stop recording");
                archive
                    .await_recording_signal(Some(recording_id), RecordingSignal::Stop)
                    .expect("the recording's STOP signal");
                stopped_recordings.push_back(recording_id);
                recording_subscription = start_recording(&mut archive, &channel);
                recording_id = await_recording(&mut archive);
                recordings_started += 1;
                while stopped_recordings.len() > 1 {
                    let old = stopped_recordings.pop_front().unwrap();
                    if replay.as_ref().is_some_and(|r| r.recording_id == old) {
                        stopped_recordings.push_front(old);
                        break;
                    }
                    if let Err(e) = archive.purge_recording(old) {
                        failures.record(elapsed, format!("purge of recording {old}: {e}"));
                        stopped_recordings.push_front(old);
                        break;
                    }
                    recordings_purged += 1;
                }
            }
        }

        let spent = now.elapsed();
        slowest_iteration = slowest_iteration.max(spent);
        if spent < Duration::from_micros(500) {
            std::thread::sleep(Duration::from_micros(500) - spent);
        }
    }

    // Drain what is still in flight, then stop everything and check the processes exit cleanly.
    let published_position = publication.position();
    let tail_deadline = Instant::now() + Duration::from_secs(20);
    while permanent_sequence.next != Some(published) {
        drain(
            &mut permanent,
            &mut permanent_sequence,
            "permanent receiver",
            4096,
            &mut errors,
        );
        if Instant::now() > tail_deadline {
            let what = format!(
                "the permanent receiver ended at {:?} of {published}",
                permanent_sequence.next
            );
            failures.record(start.elapsed(), what);
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let elapsed = start.elapsed();
    for error in errors.drain(..) {
        failures.record(elapsed, error);
    }
    let reader = aeron.counters_reader();
    let counter = |id| reader.counter_value(id).unwrap_or(-1);
    let driver_errors = counter(system_counter_id::ERRORS);
    let naks = counter(system_counter_id::NAK_MESSAGES_SENT);
    let retransmits = counter(system_counter_id::RETRANSMITS_SENT);
    let gap_fills = counter(system_counter_id::LOSS_GAP_FILLS);
    archive
        .stop_recording_subscription(recording_subscription)
        .expect("the last stop recording");
    drop(replay);
    drop(receivers);
    drop(permanent);
    drop(publication);
    archive.close();
    drop(aeron);
    let archive_stderr = terminate(archive_process, "the archive");
    let driver_stderr = terminate(driver, "the driver");

    let after_warm_up: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.t_s >= warm_up.as_secs_f64())
        .collect();
    assert!(
        after_warm_up.len() >= 3,
        "only {} samples after the warm-up",
        after_warm_up.len()
    );
    let drifts = [
        Drift::of("driver RSS kB", &after_warm_up, |s| s.driver.rss_kb),
        Drift::of("driver anon kB", &after_warm_up, |s| s.driver.anon_kb),
        Drift::of("driver fds", &after_warm_up, |s| s.driver.fds),
        Drift::of("archive RSS kB", &after_warm_up, |s| s.archive.rss_kb),
        Drift::of("archive anon kB", &after_warm_up, |s| s.archive.anon_kb),
        Drift::of("archive fds", &after_warm_up, |s| s.archive.fds),
        Drift::of("client RSS kB", &after_warm_up, |s| s.client.rss_kb),
        Drift::of("client fds", &after_warm_up, |s| s.client.fds),
        Drift::of("counters", &after_warm_up, |s| s.counters),
        Drift::of("aeron dir files", &after_warm_up, |s| s.aeron_files),
    ];
    let mut summary = String::new();
    let join_max = join_times.iter().max().copied().unwrap_or_default();
    let replay_max = replay_times.iter().max().copied().unwrap_or_default();
    writeln!(
        summary,
        "\nsoak summary: {:.0} s, {} samples ({} after a {} s warm-up; windows of {})",
        elapsed.as_secs_f64(),
        samples.len(),
        after_warm_up.len(),
        warm_up.as_secs(),
        window_length(after_warm_up.len())
    )
    .unwrap();
    writeln!(
        summary,
        "| metric           | first     | last      | first-10% med | last-10% med | max       | growth    |"
    )
    .unwrap();
    writeln!(
        summary,
        "|------------------|-----------|-----------|---------------|--------------|-----------|-----------|"
    )
    .unwrap();
    for drift in &drifts {
        writeln!(summary, "{}", drift.row()).unwrap();
    }
    writeln!(
        summary,
        "published {published} messages ({} MB, final position {published_position}); back-pressured offers \
         {back_pressured}; the permanent receiver got {}",
        (published * MESSAGE_LENGTH as u64) >> 20,
        permanent_sequence.received
    )
    .unwrap();
    writeln!(
        summary,
        "receivers joined {joined}, left {left} (slowest join {:.0} ms); replays started {replays_started}, \
         checked {replays_checked} ({replayed_messages} messages, slowest {:.0} ms)",
        join_max.as_secs_f64() * 1e3,
        replay_max.as_secs_f64() * 1e3
    )
    .unwrap();
    writeln!(
        summary,
        "recordings started {recordings_started}, purged {recordings_purged}; driver counters: errors \
         {driver_errors}, NAKs sent {naks}, retransmits {retransmits}, loss gap fills {gap_fills}; slowest \
         loop iteration {:.0} ms",
        slowest_iteration.as_secs_f64() * 1e3
    )
    .unwrap();
    writeln!(
        summary,
        "failures: {}{}",
        failures.count,
        failures
            .first
            .iter()
            .map(|f| format!("\n  {f}"))
            .collect::<String>()
    )
    .unwrap();
    for (what, stderr) in [("archive", &archive_stderr), ("driver", &driver_stderr)] {
        let lines: Vec<&str> = stderr.lines().collect();
        writeln!(summary, "{what} stderr: {} lines", lines.len()).unwrap();
        for line in lines.iter().take(10) {
            writeln!(summary, "  {line}").unwrap();
        }
    }
    println!("{summary}");

    assert_eq!(failures.count, 0, "message checks failed");
    assert!(
        replays_checked > 0 && left > 0,
        "no replay or no receiver cycle"
    );
    for drift in &drifts {
        match drift.name {
            "driver RSS kB" | "archive RSS kB" => assert!(
                drift.growth_percent() <= 5.0,
                "{} grew {:.2} % (median {} -> {} kB)",
                drift.name,
                drift.growth_percent(),
                drift.first_median,
                drift.last_median
            ),
            "driver fds" | "archive fds" => assert!(
                drift.last_median <= drift.first_median + 2,
                "{} grew from a median of {} to {}",
                drift.name,
                drift.first_median,
                drift.last_median
            ),
            _ => {}
        }
    }
}
