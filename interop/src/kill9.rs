//! The kill -9 matrix of issue #14: seeded runs that SIGKILL the driver, an archive, the publisher or a
//! subscriber at a random point while an archive records, replays or replicates, then restart the driver
//! and archives on the same directories and check what survived.
//!
//! Every part runs as its own process: the `kill9_matrix` binary started with `role <name>` (see
//! [`run_role`]). The orchestrator ([`run_scenario`]) is an ordinary archive client. After the kill the
//! survivors are stopped, the driver and archives are started again (no manual clean-up, no waiting out a
//! liveness timeout), every recording must have a stop position, every message up to it must replay
//! intact, and Oxeron's catalog verifier and, when Java is there, Java's `ArchiveTool verify -a` must pass
//! each archive directory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxeron::archive::client::{AeronArchive, Context as ArchiveClientContext, ReplayParams};
use oxeron::archive::server::{Archive, Context as ArchiveContext};
use oxeron::archive::{FileSyncLevel, RecordingSignal, SourceLocation};
use oxeron::client::{Aeron, Context as ClientContext, Header, OfferError};
use oxeron::driver::{Context as DriverContext, MediaDriver, ThreadingMode};
use oxeron_cli::catalog_tool::{self, CatalogSnapshot};

use crate::java::JavaPeer;

/// Channel of the recorded stream (publication, recording and live subscriber). The fixed session id
/// keeps the recording and the live subscriber off the replication's replay, which travels on the same
/// IPC stream in the same driver.
const CHANNEL: &str = "aeron:ipc?term-length=1m|session-id=424242";
const STREAM: i32 = 1001;
const REPLAY_STREAM: i32 = 2002;
/// Payload length: with its 32-byte header a frame is exactly 256 bytes, so positions count messages.
const LENGTH: usize = 224;
const FRAME: i64 = 256;
/// Messages the publisher sends, and how many per second.
const COUNT: u64 = 40_000;
const RATE: u64 = 20_000;
const SRC_CONTROL_STREAM: i32 = 10;
const DST_CONTROL_STREAM: i32 = 11;
/// Bound on every wait of the orchestrator.
const WAIT: Duration = Duration::from_secs(20);

/// What the archive is doing when the kill comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Recording a live stream.
    Recording,
    /// Recording, and replaying the recording to a consumer process.
    Replay,
    /// Recording, and a second archive replicating the recording live.
    Replication,
}

/// Which process gets SIGKILL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Victim {
    /// The media driver.
    Driver,
    /// The archive (in replication, the source or the destination, by seed).
    Archive,
    /// The publisher of the recorded stream.
    Publisher,
    /// The live subscriber (in the replay phase, the replay's consumer).
    Subscriber,
}

/// One run of the matrix, all from its seed.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// The seed.
    pub seed: u64,
    /// What is going on at the kill.
    pub phase: Phase,
    /// Who is killed.
    pub victim: Victim,
    /// In replication, whether the killed archive is the destination.
    pub destination_archive: bool,
    /// `AERON_ARCHIVE_FILE_SYNC_LEVEL` of the archives (0 or 1).
    pub sync_level: i32,
    /// Time from the start of the activity to the kill.
    pub kill_after: Duration,
}

impl Scenario {
    /// The scenario of `seed`: seeds 0..12 cover every phase and victim once, 12..24 again at sync level 1.
    pub fn from_seed(seed: u64) -> Self {
        let phase = [Phase::Recording, Phase::Replay, Phase::Replication][(seed % 3) as usize];
        let victim = [
            Victim::Driver,
            Victim::Archive,
            Victim::Publisher,
            Victim::Subscriber,
        ][((seed / 3) % 4) as usize];
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 32;
        Scenario {
            seed,
            phase,
            victim,
            destination_archive: x & 1 == 1,
            sync_level: ((seed / 12) % 2) as i32,
            kill_after: Duration::from_millis(50 + (x >> 8) % 1200),
        }
    }
}

/// What a run found after the restart.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The scenario.
    pub scenario: Scenario,
    /// (archive, recording id, start, recovered stop, messages replayed intact) for every recording.
    pub recordings: Vec<(&'static str, i64, i64, i64, u64)>,
    /// How long the restarted driver and archives took to answer.
    pub restart: Duration,
    /// `Some(true)` when Java's ArchiveTool verified every directory, `None` without Java.
    pub java_verified: Option<bool>,
}

/// Environment of a role process.
const ENV_AERON_DIR: &str = "KILL9_AERON_DIR";
const ENV_ARCHIVE_DIR: &str = "KILL9_ARCHIVE_DIR";
const ENV_SYNC: &str = "KILL9_SYNC_LEVEL";
const ENV_CONTROL_STREAM: &str = "KILL9_CONTROL_STREAM";
const ENV_STREAM: &str = "KILL9_STREAM";

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn stop_on_sigterm() -> Result<Arc<AtomicBool>, String> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(|e| e.to_string())?;
    }
    Ok(stop)
}

fn ready() {
    println!("ready");
    let _ = std::io::Write::flush(&mut std::io::stdout());
}

/// Runs one part of a scenario in this process (`driver`, `archive`, `publisher`, `subscriber`), set up
/// by the `KILL9_*` environment the orchestrator gives it, until SIGTERM (or, for the publisher, until
/// its messages are sent).
pub fn run_role(role: &str) -> Result<(), String> {
    let stop = stop_on_sigterm()?;
    let aeron_dir = PathBuf::from(env(ENV_AERON_DIR)?);
    match role {
        "driver" => {
            let driver = MediaDriver::launch(
                DriverContext::new()
                    .aeron_dir(&aeron_dir)
                    .threading_mode(ThreadingMode::Shared)
                    .ipc_term_buffer_length(1024 * 1024),
            )
            .map_err(|e| e.to_string())?;
            ready();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
            }
            driver.close();
        }
        "archive" => {
            let level: i32 = env(ENV_SYNC)?.parse().map_err(|e| format!("{e}"))?;
            let level = FileSyncLevel::from_level(level).ok_or("bad sync level")?;
            let control: i32 = env(ENV_CONTROL_STREAM)?
                .parse()
                .map_err(|e| format!("{e}"))?;
            let archive = Archive::launch(
                ArchiveContext::new()
                    .aeron_dir(&aeron_dir)
                    .archive_dir(env(ENV_ARCHIVE_DIR)?)
                    .control_channel_enabled(false)
                    .local_control_stream_id(control)
                    .replication_channel("aeron:ipc")
                    .segment_file_length(256 * 1024)
                    .file_sync_level(level)
                    .catalog_file_sync_level(level),
            )
            .map_err(|e| e.to_string())?;
            ready();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
            }
            archive.close();
        }
        "publisher" => {
            let aeron = Aeron::connect(ClientContext::new().aeron_dir(&aeron_dir))
                .map_err(|e| e.to_string())?;
            let mut publication = aeron
                .add_exclusive_publication(CHANNEL, STREAM)
                .map_err(|e| e.to_string())?;
            let deadline = Instant::now() + WAIT;
            while !publication.is_connected() {
                if Instant::now() > deadline {
                    return Err("the publication never connected".into());
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            ready();
            let start = Instant::now();
            let mut message = vec![0u8; LENGTH];
            for sequence in 0..COUNT {
                let due = start + Duration::from_micros(sequence * 1_000_000 / RATE);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                oxeron_cli::sample::fill(&mut message, sequence);
                loop {
                    if stop.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    match publication.offer(&message) {
                        Ok(_) => break,
                        Err(OfferError::BackPressured | OfferError::AdminAction) => {
                            std::thread::sleep(Duration::from_micros(100))
                        }
                        Err(e) => return Err(format!("offer {sequence}: {e}")),
                    }
                }
            }
            println!("published {COUNT}");
        }
        "subscriber" => {
            let stream: i32 = env(ENV_STREAM)?.parse().map_err(|e| format!("{e}"))?;
            let aeron = Aeron::connect(ClientContext::new().aeron_dir(&aeron_dir))
                .map_err(|e| e.to_string())?;
            let channel = if stream == STREAM {
                CHANNEL
            } else {
                "aeron:ipc"
            };
            let mut subscription = aeron
                .add_subscription(channel, stream)
                .map_err(|e| e.to_string())?;
            ready();
            // Per image: a stream may carry several (a replay, a restarted publisher).
            let mut next: std::collections::HashMap<i32, u64> = std::collections::HashMap::new();
            let mut bad = None;
            while !stop.load(Ordering::Relaxed) && bad.is_none() {
                let read = subscription.poll(
                    |message: &[u8], header: &Header| {
                        let sequence = message
                            .get(..8)
                            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
                            .unwrap_or_default();
                        let expected = *next.entry(header.session_id()).or_insert(sequence);
                        if let Err(e) = oxeron_cli::sample::check(message, expected, LENGTH) {
                            bad.get_or_insert(format!(
                                "{e}, ending at position {} of session {}",
                                header.position(),
                                header.session_id()
                            ));
                        }
                        next.insert(header.session_id(), expected + 1);
                    },
                    64,
                );
                if read == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            if let Some(e) = bad {
                return Err(format!("subscriber: {e}"));
            }
        }
        other => return Err(format!("unknown role {other:?}")),
    }
    Ok(())
}

/// A role process: killed and reaped on drop, its stdout lines collected.
struct RoleProcess {
    name: String,
    child: Child,
    lines: Receiver<String>,
}

impl RoleProcess {
    fn spawn(bin: &Path, role: &str, name: &str, env: &[(&str, String)]) -> Result<Self, String> {
        let mut command = Command::new(bin);
        command
            .args(["role", role])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().map_err(|e| format!("{name}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = RoleProcess {
            name: name.to_string(),
            child,
            lines,
        };
        process.await_ready()?;
        Ok(process)
    }

    fn await_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == "ready" => return Ok(()),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("{} not ready within {WAIT:?}", self.name))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map_err(|e| e.to_string())?;
                    return Err(format!(
                        "{} exited before it was ready: {status}",
                        self.name
                    ));
                }
            }
        }
    }

    fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`; true if it exited with success.
    fn stop(&mut self, grace: Duration) -> bool {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status.success();
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.sigkill();
        false
    }
}

impl Drop for RoleProcess {
    fn drop(&mut self) {
        self.sigkill();
    }
}

/// The directories of one run, removed afterwards.
struct Dirs {
    _root: tempfile::TempDir,
    aeron: PathBuf,
    source: PathBuf,
    destination: PathBuf,
}

impl Dirs {
    fn new() -> Result<Self, String> {
        let shm = if Path::new("/dev/shm").is_dir() {
            "/dev/shm"
        } else {
            "/tmp"
        };
        let root = tempfile::Builder::new()
            .prefix("oxeron-kill9-")
            .tempdir_in(shm)
            .map_err(|e| e.to_string())?;
        let disk = root.path().to_path_buf();
        Ok(Dirs {
            aeron: disk.join("aeron"),
            source: disk.join("archive-src"),
            destination: disk.join("archive-dst"),
            _root: root,
        })
    }
}

struct Cluster {
    driver: RoleProcess,
    source: RoleProcess,
    destination: Option<RoleProcess>,
}

fn start_cluster(bin: &Path, dirs: &Dirs, sync: i32, replication: bool) -> Result<Cluster, String> {
    let aeron = ("KILL9_AERON_DIR", dirs.aeron.display().to_string());
    let driver = RoleProcess::spawn(bin, "driver", "driver", std::slice::from_ref(&aeron))?;
    let archive = |dir: &Path, control: i32, name: &str| {
        RoleProcess::spawn(
            bin,
            "archive",
            name,
            &[
                aeron.clone(),
                (ENV_ARCHIVE_DIR, dir.display().to_string()),
                (ENV_SYNC, sync.to_string()),
                (ENV_CONTROL_STREAM, control.to_string()),
            ],
        )
    };
    let source = archive(&dirs.source, SRC_CONTROL_STREAM, "source archive")?;
    let destination = if replication {
        Some(archive(
            &dirs.destination,
            DST_CONTROL_STREAM,
            "destination archive",
        )?)
    } else {
        None
    };
    Ok(Cluster {
        driver,
        source,
        destination,
    })
}

fn archive_client(aeron: &Aeron, control_stream: i32) -> Result<AeronArchive, String> {
    AeronArchive::connect(
        ArchiveClientContext::new()
            .aeron(aeron.clone())
            .control_request_channel("aeron:ipc")
            .control_request_stream_id(control_stream)
            .control_response_channel("aeron:ipc")
            .message_timeout(Duration::from_secs(5)),
    )
    .map_err(|e| format!("archive client (stream {control_stream}): {e}"))
}

fn bounded(what: &str, mut done: impl FnMut() -> Result<bool, String>) -> Result<(), String> {
    let deadline = Instant::now() + WAIT;
    while !done()? {
        if Instant::now() > deadline {
            return Err(format!("timed out after {WAIT:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// Runs `scenario` with the role processes of `bin`; Java's ArchiveTool checks the directories when
/// `java` is given.
pub fn run_scenario(
    bin: &Path,
    scenario: &Scenario,
    java: Option<&JavaPeer>,
) -> Result<Outcome, String> {
    let dirs = Dirs::new()?;
    let replication = scenario.phase == Phase::Replication;
    let mut cluster = start_cluster(bin, &dirs, scenario.sync_level, replication)?;
    let aeron_env = (ENV_AERON_DIR, dirs.aeron.display().to_string());
    let aeron = Aeron::connect(
        ClientContext::new()
            .aeron_dir(&dirs.aeron)
            .error_handler(|_| {}),
    )
    .map_err(|e| e.to_string())?;
    let mut source = archive_client(&aeron, SRC_CONTROL_STREAM)?;
    source
        .start_recording(CHANNEL, STREAM, SourceLocation::Local, false)
        .map_err(|e| format!("start recording: {e}"))?;
    let subscriber_stream = match scenario.phase {
        Phase::Replay => REPLAY_STREAM,
        _ => STREAM,
    };
    let mut subscriber = RoleProcess::spawn(
        bin,
        "subscriber",
        "subscriber",
        &[
            aeron_env.clone(),
            (ENV_STREAM, subscriber_stream.to_string()),
        ],
    )?;
    let mut publisher = RoleProcess::spawn(bin, "publisher", "publisher", &[aeron_env])?;
    let recording = source
        .await_recording_signal(None, RecordingSignal::Start)
        .map_err(|e| format!("recording start: {e}"))?
        .recording_id;
    let mut destination = None;
    match scenario.phase {
        Phase::Recording => {}
        Phase::Replay => {
            bounded("some recorded data to replay", || {
                Ok(source
                    .get_recording_position(recording)
                    .map_err(|e| e.to_string())?
                    >= 2000 * FRAME)
            })?;
            let length = source
                .get_recording_position(recording)
                .map_err(|e| e.to_string())?;
            source
                .start_replay(
                    recording,
                    "aeron:ipc",
                    REPLAY_STREAM,
                    ReplayParams::new(0, length),
                )
                .map_err(|e| format!("replay: {e}"))?;
        }
        Phase::Replication => {
            let mut client = archive_client(&aeron, DST_CONTROL_STREAM)?;
            client
                .replicate(recording, -1, SRC_CONTROL_STREAM, "aeron:ipc", "")
                .map_err(|e| format!("replicate: {e}"))?;
            destination = Some(client);
        }
    }
    std::thread::sleep(scenario.kill_after);
    // What the archive said it had recorded just before the kill: recovery must not lose any of it.
    let acknowledged = source
        .get_recording_position(recording)
        .map_err(|e| format!("recording position: {e}"))?;
    match scenario.victim {
        Victim::Driver => cluster.driver.sigkill(),
        Victim::Archive if replication && scenario.destination_archive => {
            if let Some(archive) = cluster.destination.as_mut() {
                archive.sigkill();
            }
        }
        Victim::Archive => cluster.source.sigkill(),
        Victim::Publisher => publisher.sigkill(),
        Victim::Subscriber => subscriber.sigkill(),
    }
    // The survivors stop as they would be stopped; a dead driver may keep them from stopping cleanly.
    drop(destination);
    drop(source);
    drop(aeron);
    let grace = Duration::from_secs(5);
    publisher.stop(grace);
    if !subscriber.stop(grace) && scenario.victim != Victim::Subscriber {
        return Err("the subscriber failed its message checks (its stderr says which)".into());
    }
    if let Some(archive) = cluster.destination.as_mut() {
        archive.stop(grace);
    }
    cluster.source.stop(grace);
    cluster.driver.stop(grace);
    drop(cluster);

    let restarted_at = Instant::now();
    let cluster = start_cluster(bin, &dirs, scenario.sync_level, replication)?;
    let aeron =
        Aeron::connect(ClientContext::new().aeron_dir(&dirs.aeron)).map_err(|e| e.to_string())?;
    let mut archives = vec![("source", archive_client(&aeron, SRC_CONTROL_STREAM)?)];
    if replication {
        archives.push(("destination", archive_client(&aeron, DST_CONTROL_STREAM)?));
    }
    let restart = restarted_at.elapsed();
    let mut recordings = Vec::new();
    for (name, client) in &mut archives {
        let mut listed = Vec::new();
        client
            .list_recordings(0, 100, |d| {
                listed.push((d.recording_id, d.start_position, d.stop_position))
            })
            .map_err(|e| format!("{name}: list: {e}"))?;
        for (id, start, stop) in listed {
            let messages = replay_and_check(&aeron, client, id, start, stop)
                .map_err(|e| format!("{name} recording {id}: {e}"))?;
            recordings.push((*name, id, start, stop, messages));
        }
    }
    match recordings
        .iter()
        .find(|r| r.0 == "source" && r.1 == recording)
    {
        None => return Err(format!("the source archive lost recording {recording}")),
        Some(r) if r.3 < acknowledged => {
            return Err(format!(
                "recording {recording} recovered to {} though {acknowledged} was recorded before the kill",
                r.3
            ))
        }
        Some(_) => {}
    }
    drop(archives);
    drop(aeron);
    let Cluster {
        mut driver,
        mut source,
        destination,
    } = cluster;
    if let Some(mut archive) = destination {
        archive.stop(grace);
    }
    source.stop(grace);
    driver.stop(grace);
    let mut dirs_to_verify = vec![("source", dirs.source.clone())];
    if replication {
        dirs_to_verify.push(("destination", dirs.destination.clone()));
    }
    for (name, dir) in &dirs_to_verify {
        let snapshot = CatalogSnapshot::read(dir).map_err(|e| format!("{name}: {e}"))?;
        let report = catalog_tool::verify(&snapshot, |_, _| {});
        if !report.is_ok() {
            return Err(format!(
                "{name}: oxeron catalog verify:\n{}",
                report.render()
            ));
        }
    }
    let java_verified = match java {
        None => None,
        Some(java) => {
            for (name, dir) in &dirs_to_verify {
                let ids: Vec<i64> = recordings
                    .iter()
                    .filter(|r| r.0 == *name)
                    .map(|r| r.1)
                    .collect();
                archive_tool_verify(java, dir, &ids).map_err(|e| format!("{name}: {e}"))?;
            }
            Some(true)
        }
    };
    Ok(Outcome {
        scenario: *scenario,
        recordings,
        restart,
        java_verified,
    })
}

/// Replays `start..stop` of a recording and checks that message `n` of the stream sits at position
/// `n * FRAME` and carries sequence `n`; returns how many messages it checked.
fn replay_and_check(
    aeron: &Aeron,
    client: &mut AeronArchive,
    id: i64,
    start: i64,
    stop: i64,
) -> Result<u64, String> {
    if stop < start || stop % FRAME != 0 || start % FRAME != 0 {
        return Err(format!("bad recovered positions {start}..{stop}"));
    }
    if stop == start {
        return Ok(0);
    }
    let stream = 3000 + id as i32;
    let mut subscription = aeron
        .add_subscription("aeron:ipc", stream)
        .map_err(|e| e.to_string())?;
    client
        .start_replay(
            id,
            "aeron:ipc",
            stream,
            ReplayParams::new(start, stop - start),
        )
        .map_err(|e| format!("replay: {e}"))?;
    let mut next = (start / FRAME) as u64;
    let end = (stop / FRAME) as u64;
    let mut bad = None;
    let deadline = Instant::now() + WAIT;
    while next < end && bad.is_none() {
        let read = subscription.poll(
            |message: &[u8], header: &Header| {
                if header.position() != (next as i64 + 1) * FRAME {
                    bad.get_or_insert(format!(
                        "message {next} ends at {} instead of {}",
                        header.position(),
                        (next as i64 + 1) * FRAME
                    ));
                }
                if let Err(e) = oxeron_cli::sample::check(message, next, LENGTH) {
                    bad.get_or_insert(e);
                }
                next += 1;
            },
            256,
        );
        if read == 0 {
            if Instant::now() > deadline {
                return Err(format!("replay stalled at message {next} of {end}"));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    match bad {
        Some(e) => Err(e),
        None => Ok(end - (start / FRAME) as u64),
    }
}

fn archive_tool_verify(java: &JavaPeer, dir: &Path, ids: &[i64]) -> Result<(), String> {
    let output = java
        .command("io.aeron.archive.ArchiveTool")
        .arg(dir)
        .args(["verify", "-a"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ArchiveTool: {e}"))?;
    let out = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || out.contains("ERR") {
        return Err(format!(
            "ArchiveTool verify -a exited {}:\n{out}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    for id in ids {
        if !out.contains(&format!("(recordingId={id}) OK")) {
            return Err(format!("ArchiveTool did not pass recording {id}:\n{out}"));
        }
    }
    Ok(())
}

/// One line of the matrix's table for `outcome`.
pub fn describe(outcome: &Outcome) -> String {
    let s = &outcome.scenario;
    let recordings: Vec<String> = outcome
        .recordings
        .iter()
        .map(|(archive, id, start, stop, messages)| {
            format!("{archive}#{id} {start}..{stop} ({messages} msgs)")
        })
        .collect();
    format!(
        "seed {:>3}  {:<11} kill {:<10} after {:>4} ms  sync {}  restart {:>4} ms  java {}  {}",
        s.seed,
        format!("{:?}", s.phase),
        format!(
            "{:?}{}",
            s.victim,
            if s.victim == Victim::Archive && s.phase == Phase::Replication {
                if s.destination_archive {
                    "(dst)"
                } else {
                    "(src)"
                }
            } else {
                ""
            }
        ),
        s.kill_after.as_millis(),
        s.sync_level,
        outcome.restart.as_millis(),
        match outcome.java_verified {
            Some(true) => "ok",
            Some(false) => "FAILED",
            None => "skipped",
        },
        recordings.join(", ")
    )
}
