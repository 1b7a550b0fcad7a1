//! What the Java archive interop tests share: Oxeron and Java drivers and archives, Java's archive client and
//! `ArchiveTool` as processes, and publish/receive helpers that check every message's bytes and position.

#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use oxeron::archive::client::{
    AeronArchive, ArchiveError, ArchiveErrorCode, Context as ArchiveClientContext,
    PersistentSubscription, PersistentSubscriptionContext, RecordingDescriptor,
    RecordingSignalEvent, ReplayMerge, ReplayParams, ReplicationParams, FROM_START,
    NULL_RECORDING_ID, REPLAY_ALL_AND_FOLLOW, REPLAY_ALL_AND_STOP,
};
use oxeron::archive::server::{Archive, AuthDecision, Authenticator, Context as ArchiveContext};
use oxeron::archive::{RecordingSignal, SourceLocation};
use oxeron::client::{
    Aeron, Context as ClientContext, Header, OfferError, Publication, Subscription,
};
use oxeron::driver::{Context as DriverContext, MediaDriver, ThreadingMode};
use oxeron_cli::catalog_tool::{self, CatalogSnapshot};
use oxeron_cli::sample;
use oxeron_interop::java::{JavaPeer, JavaProcess};
use tempfile::TempDir;

pub const TERM: i32 = 64 * 1024;
pub const SEGMENT: i64 = 128 * 1024;
/// 128-byte frames: 512 to a term, never across a term or page boundary.
pub const SHORT: usize = 96;
/// 352-byte frames: every term ends in padding.
pub const PADDED: usize = 300;
pub const WAIT: Duration = Duration::from_secs(30);
/// Longer than any wait inside `JavaArchiveClient`, so its own error arrives first.
pub const JAVA_REPLY: Duration = Duration::from_secs(60);
pub const CHILD_AERON_DIR: &str = "OXERON_JAVA_ARCHIVE_CHILD_AERON_DIR";
pub const CHILD_ARCHIVE_DIR: &str = "OXERON_JAVA_ARCHIVE_CHILD_ARCHIVE_DIR";

/// Port `n` of test `test`'s block.
pub fn port(test: u16, n: u16) -> u16 {
    assert!(n < 50);
    25000 + test * 50 + n
}

pub fn udp(port: u16) -> String {
    format!("aeron:udp?endpoint=localhost:{port}")
}

pub fn frame(length: usize) -> i64 {
    (32 + length).next_multiple_of(32) as i64
}

/// Where a message of `length` bytes that starts at `position` ends (after padding at a term's end).
pub fn next_end(position: i64, length: usize) -> i64 {
    let frame = frame(length);
    let offset = position % TERM as i64;
    if offset + frame > TERM as i64 {
        position - offset + TERM as i64 + frame
    } else {
        position + frame
    }
}

pub fn end_of(start: i64, count: u64, length: usize) -> i64 {
    (0..count).fold(start, |p, _| next_end(p, length))
}

pub fn message(sequence: u64, length: usize) -> Vec<u8> {
    let mut m = vec![0u8; length];
    sample::fill(&mut m, sequence);
    m
}

/// Waits for `done` up to [`WAIT`].
pub fn wait_for(what: &str, done: impl FnMut() -> bool) {
    oxeron_interop::wait_for(what, WAIT, done);
}

/// The messages a stream must carry from here on: sequence numbers, length, and where the next one starts.
pub struct Expect {
    pub next: u64,
    pub end: u64,
    pub length: usize,
    pub position: i64,
    pub what: String,
}

impl Expect {
    pub fn new(what: &str, first: u64, count: u64, length: usize, start: i64) -> Self {
        Self {
            next: first,
            end: first + count,
            length,
            position: start,
            what: what.to_string(),
        }
    }

    pub fn done(&self) -> bool {
        self.next >= self.end
    }

    pub fn on_message(&mut self, payload: &[u8], header: &Header) {
        assert!(
            self.next < self.end,
            "{}: a message after the last, at {}",
            self.what,
            header.position()
        );
        if let Err(e) = sample::check(payload, self.next, self.length) {
            panic!("{}: {e}", self.what);
        }
        let expected = next_end(self.position, self.length);
        assert_eq!(
            header.position(),
            expected,
            "{}: position of message {}",
            self.what,
            self.next
        );
        self.position = expected;
        self.next += 1;
    }
}

/// Polls `subscription` until `expect` is done; returns the position after the last message.
pub fn receive(subscription: &mut Subscription, expect: &mut Expect) -> i64 {
    let deadline = Instant::now() + WAIT;
    while !expect.done() {
        let limit = (expect.end - expect.next).min(64) as usize;
        let n = subscription.poll(|p: &[u8], h: &Header| expect.on_message(p, h), limit);
        if n == 0 {
            assert!(
                Instant::now() < deadline,
                "{}: stalled before message {}",
                expect.what,
                expect.next
            );
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    expect.position
}

/// Waits until the replay's images end; a further message fails.
pub fn wait_end(subscription: &mut Subscription, what: &str) {
    wait_for(&format!("the end of {what}"), || {
        let n = subscription.poll(
            |_: &[u8], h: &Header| panic!("{what}: a message after the end at {}", h.position()),
            10,
        );
        let images = subscription.images();
        n == 0 && images.iter().all(|i| i.is_end_of_stream() || i.is_closed())
    });
}

/// Offers messages `first..first + count` through `offer`; returns the position after the last.
pub fn publish(
    mut offer: impl FnMut(&[u8]) -> Result<i64, OfferError>,
    first: u64,
    count: u64,
    length: usize,
) -> i64 {
    let mut position = 0;
    for sequence in first..first + count {
        let m = message(sequence, length);
        let deadline = Instant::now() + WAIT;
        loop {
            match offer(&m) {
                Ok(p) => {
                    position = p;
                    break;
                }
                Err(OfferError::Closed) => panic!("publication closed at message {sequence}"),
                Err(e) => {
                    assert!(Instant::now() < deadline, "offer of {sequence}: {e}");
                    std::thread::yield_now();
                }
            }
        }
    }
    position
}

/// Publishes one message every ~200 µs, so a merge or a persistent subscription meets a moving stream.
pub fn publish_paced(
    mut offer: impl FnMut(&[u8]) -> Result<i64, OfferError>,
    first: u64,
    count: u64,
    length: usize,
) -> i64 {
    let mut position = 0;
    for sequence in first..first + count {
        position = publish(&mut offer, sequence, 1, length);
        std::thread::sleep(Duration::from_micros(200));
    }
    position
}

/// An Aeron directory under `/dev/shm`, deleted when dropped.
pub fn shm_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("oxeron-java-archive-")
        .tempdir_in("/dev/shm")
        .expect("a directory in /dev/shm")
}

/// An Oxeron media driver (shared thread, 64 KiB terms) in its own directory, with a client on it.
pub struct OxeronDriver {
    pub aeron: Aeron,
    pub _driver: MediaDriver,
    pub dir: TempDir,
}

impl OxeronDriver {
    pub fn launch() -> Self {
        let dir = shm_dir();
        let driver = MediaDriver::launch(
            DriverContext::new()
                .aeron_dir(dir.path().join("aeron"))
                .threading_mode(ThreadingMode::Shared)
                .term_buffer_length(TERM)
                .ipc_term_buffer_length(TERM)
                .publication_linger_timeout(Duration::from_millis(500))
                .dir_delete_on_shutdown(true),
        )
        .expect("Oxeron driver");
        let aeron = Aeron::connect(ClientContext::new().aeron_dir(dir.path().join("aeron")))
            .expect("Oxeron client");
        Self {
            aeron,
            _driver: driver,
            dir,
        }
    }

    pub fn aeron_dir(&self) -> PathBuf {
        self.dir.path().join("aeron")
    }

    /// A `control-mode=manual` publication on `stream` sending to each of `destinations`.
    pub fn manual_mdc_publication(&self, stream: i32, destinations: &[&str]) -> Publication {
        let publication = self
            .aeron
            .add_publication(
                &format!("aeron:udp?control-mode=manual|term-length={TERM}"),
                stream,
            )
            .unwrap();
        for destination in destinations {
            self.aeron
                .add_destination(publication.registration_id(), destination)
                .unwrap();
        }
        publication
    }

    /// An archive on this driver: control on `control` (or IPC only when `None`), small segments.
    pub fn archive_context(&self, archive_dir: &Path, control: Option<&str>) -> ArchiveContext {
        let ctx = ArchiveContext::new()
            .aeron_dir(self.aeron_dir())
            .archive_dir(archive_dir)
            .segment_file_length(SEGMENT as i32)
            .mark_file_liveness_timeout(Duration::from_millis(1500));
        match control {
            Some(channel) => ctx.control_channel(channel),
            None => ctx.control_channel_enabled(false),
        }
    }

    /// An Oxeron archive client on this driver.
    pub fn client(&self, request: &str, response: &str) -> AeronArchive {
        AeronArchive::connect(self.client_context(request, response)).expect("archive client")
    }

    pub fn client_context(&self, request: &str, response: &str) -> ArchiveClientContext {
        ArchiveClientContext::new()
            .aeron(self.aeron.clone())
            .control_request_channel(request)
            .control_response_channel(response)
            .message_timeout(Duration::from_secs(10))
    }
}

/// Java's `ArchivingMediaDriver` (`JavaArchiveServer`): its own Java driver and an archive with 128 KiB
/// segments, control on `control`.
pub struct JavaArchive {
    pub process: JavaProcess,
    pub control: String,
    pub dir: TempDir,
}

impl JavaArchive {
    /// Ports `base..base + 3`: control, replication, and its own replication client's responses.
    pub fn launch(java: &JavaPeer, archive_dir: &Path, base: u16, extra: &[String]) -> Self {
        let dir = shm_dir();
        let control = udp(base);
        let mut options: Vec<String> = [
            format!("-Daeron.dir={}", dir.path().join("aeron").display()),
            "-Daeron.dir.delete.on.start=true".into(),
            "-Daeron.dir.delete.on.shutdown=true".into(),
            "-Daeron.threading.mode=SHARED".into(),
            format!("-Daeron.term.buffer.length={TERM}"),
            format!("-Daeron.ipc.term.buffer.length={TERM}"),
            format!("-Daeron.archive.dir={}", archive_dir.display()),
            format!("-Daeron.archive.control.channel={control}"),
            format!("-Daeron.archive.replication.channel={}", udp(base + 1)),
            format!("-Daeron.archive.control.response.channel={}", udp(base + 2)),
            format!("-Daeron.archive.segment.file.length={SEGMENT}"),
            "-Daeron.archive.threading.mode=SHARED".into(),
            "-Daeron.archive.recording.events.enabled=false".into(),
        ]
        .into();
        options.extend_from_slice(extra);
        let mut process = java
            .spawn(&options, "io.oxeron.interop.JavaArchiveServer", &[])
            .expect("start the Java archive");
        process.expect_line("READY", WAIT);
        Self {
            process,
            control,
            dir,
        }
    }

    /// SIGTERM, and waits for it to close (a JVM ended by SIGTERM exits 143 once its shutdown hooks ran).
    pub fn stop(mut self) {
        self.process.terminate();
        let deadline = Instant::now() + WAIT;
        while self
            .process
            .next_line(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
        {}
        let status = self.process.wait(WAIT);
        let closed = self.process.lines_seen().iter().any(|l| l == "CLOSED");
        assert!(
            closed && matches!(status.code(), Some(0 | 143)),
            "the Java archive exited {status}, closed: {closed}:\n{}",
            self.process.stderr()
        );
        drop(self.dir);
    }
}

/// A line `JavaArchiveClient` answered: its words, and the lines before it (descriptors).
pub struct Reply {
    pub words: Vec<String>,
    pub before: Vec<String>,
}

impl Reply {
    pub fn i64(&self, n: usize) -> i64 {
        self.words[n]
            .parse()
            .unwrap_or_else(|e| panic!("word {n} of {:?}: {e}", self.words))
    }
}

/// `JavaArchiveClient`: Java's `AeronArchive` in a Java process, fed one command a line.
pub struct JavaClient {
    pub process: JavaProcess,
}

impl JavaClient {
    pub fn launch(java: &JavaPeer, aeron_dir: &Path) -> Self {
        let options = [format!("-Daeron.dir={}", aeron_dir.display())];
        let process = java
            .spawn_interactive(&options, "io.oxeron.interop.JavaArchiveClient", &[])
            .expect("start the Java archive client");
        Self { process }
    }

    /// Sends `command` and reads up to its reply starting `reply`: `Err` with the `ERR` line.
    pub fn request(&mut self, command: &str, reply: &str) -> Result<Reply, String> {
        self.process
            .send_line(command)
            .unwrap_or_else(|e| panic!("{e}"));
        self.reply(reply)
    }

    pub fn reply(&mut self, reply: &str) -> Result<Reply, String> {
        let mut before = Vec::new();
        loop {
            let line = self
                .process
                .next_line(JAVA_REPLY)
                .unwrap_or_else(|e| panic!("{e}"));
            let words: Vec<String> = line.split(' ').map(str::to_string).collect();
            if words[0] == reply {
                return Ok(Reply { words, before });
            }
            if words[0] == "ERR" {
                return Err(line);
            }
            before.push(line);
        }
    }

    /// Like [`JavaClient::request`], failing the test on an `ERR`.
    pub fn call(&mut self, command: &str, reply: &str) -> Reply {
        self.request(command, reply)
            .unwrap_or_else(|e| panic!("Java client: {command}: {e}"))
    }

    pub fn wait(&mut self, reply: &str) -> Reply {
        self.reply(reply)
            .unwrap_or_else(|e| panic!("Java client: {e}"))
    }

    /// Sends a command that must fail; returns the archive error code Java reports.
    pub fn fail(&mut self, command: &str) -> i64 {
        self.process
            .send_line(command)
            .unwrap_or_else(|e| panic!("{e}"));
        let line = self
            .process
            .next_line(JAVA_REPLY)
            .unwrap_or_else(|e| panic!("{e}"));
        match line.strip_prefix("ERR ") {
            None => panic!("Java client: {command}: succeeded with {line:?}"),
            Some(_) => {
                let code = line
                    .split(' ')
                    .find_map(|w| w.strip_prefix("code="))
                    .and_then(|c| c.trim_end_matches(':').parse().ok())
                    .unwrap_or_else(|| panic!("no code in {line:?}"));
                println!("expected failure: {line}");
                code
            }
        }
    }

    pub fn quit(mut self) {
        self.process
            .send_line("quit")
            .unwrap_or_else(|e| panic!("{e}"));
        self.process.expect_line("BYE", WAIT);
        self.process.wait_success(WAIT);
    }
}

/// A recording descriptor as `JavaArchiveClient` prints it (`DESC ...`).
#[derive(Debug)]
pub struct JavaDescriptor {
    pub recording_id: i64,
    pub start_position: i64,
    pub stop_position: i64,
    pub initial_term_id: i32,
    pub segment_file_length: i32,
    pub term_buffer_length: i32,
    pub session_id: i32,
    pub stream_id: i32,
    pub stripped_channel: String,
    pub original_channel: String,
}

pub fn java_descriptors(reply: &Reply) -> Vec<JavaDescriptor> {
    reply
        .before
        .iter()
        .filter(|l| l.starts_with("DESC "))
        .map(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            let n = |i: usize| w[i].parse::<i64>().unwrap_or_else(|e| panic!("{l}: {e}"));
            JavaDescriptor {
                recording_id: n(1),
                start_position: n(2),
                stop_position: n(3),
                initial_term_id: n(4) as i32,
                segment_file_length: n(5) as i32,
                term_buffer_length: n(6) as i32,
                session_id: n(8) as i32,
                stream_id: n(9) as i32,
                stripped_channel: w[10].to_string(),
                original_channel: w[11].to_string(),
            }
        })
        .collect()
}

/// The channel that resumes a stream at `position` (for extensions and migrations).
pub fn resume_channel(base: &str, initial_term_id: i32, position: i64) -> String {
    let separator = if base.contains('?') { '|' } else { '?' };
    format!(
        "{base}{separator}term-length={TERM}|init-term-id={initial_term_id}|term-id={}|term-offset={}",
        initial_term_id + (position / TERM as i64) as i32,
        position % TERM as i64
    )
}

pub fn segment_files(archive_dir: &Path, recording_id: i64) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(archive_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(&format!("{recording_id}-")) && n.ends_with(".rec"))
        .collect();
    names.sort();
    names
}

/// Runs a Java program to its end: (exit status, stdout).
pub fn run_java(java: &JavaPeer, main_class: &str, args: &[String]) -> (ExitStatus, String) {
    let mut process = java.spawn(&[], main_class, args).expect("start Java");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = String::new();
    while let Ok(line) = process.next_line(deadline.saturating_duration_since(Instant::now())) {
        out.push_str(&line);
        out.push('\n');
    }
    let status = process.wait(Duration::from_secs(10));
    if !status.success() {
        println!(
            "{main_class} {args:?} exited {status}:\n{out}\n{}",
            process.stderr()
        );
    }
    (status, out)
}

pub fn archive_tool(java: &JavaPeer, dir: &Path, args: &[&str]) -> (ExitStatus, String) {
    let mut all = vec![dir.display().to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    run_java(java, "io.aeron.archive.ArchiveTool", &all)
}

/// `ArchiveTool verify -a` passes every recording in `ids`, and the Oxeron verifier agrees.
pub fn both_verifiers_pass(java: &JavaPeer, dir: &Path, ids: &[i64]) {
    archive_tool_verify_passes(java, dir, ids);
    let report = catalog_tool::verify(&CatalogSnapshot::read(dir).expect("catalog"), |_, _| {});
    assert!(report.is_ok(), "{}", report.render());
}

/// `ArchiveTool verify -a` passes every recording in `ids`.
pub fn archive_tool_verify_passes(java: &JavaPeer, dir: &Path, ids: &[i64]) {
    let (status, out) = archive_tool(java, dir, &["verify", "-a"]);
    assert!(status.success(), "ArchiveTool verify failed:\n{out}");
    for id in ids {
        assert!(
            out.contains(&format!("(recordingId={id}) OK")),
            "recording {id} not verified:\n{out}"
        );
    }
    assert!(!out.contains("ERR"), "{out}");
    println!("ArchiveTool verify -a {}:\n{out}", dir.display());
}

/// The next `signal` (of `recording_id`, or any recording).
pub fn await_signal(
    archive: &mut AeronArchive,
    recording_id: Option<i64>,
    signal: RecordingSignal,
) -> RecordingSignalEvent {
    archive
        .await_recording_signal(recording_id, signal)
        .unwrap_or_else(|e| panic!("awaiting {signal:?}: {e}"))
}

pub fn signals_until_replicate_end(archive: &mut AeronArchive) -> Vec<RecordingSignalEvent> {
    let mut signals = Vec::new();
    wait_for("the replication to end", || {
        archive.poll_for_recording_signals(|s| signals.push(*s));
        signals
            .iter()
            .any(|s| s.signal == RecordingSignal::ReplicateEnd)
    });
    signals
}

pub fn descriptor(archive: &mut AeronArchive, recording_id: i64) -> RecordingDescriptor {
    archive
        .recording_descriptor(recording_id)
        .expect("list recording")
        .unwrap_or_else(|| panic!("no recording {recording_id}"))
}

/// Replays `recording_id` whole on `channel` and checks `count` messages from `first`, then the end.
pub fn replay_whole(
    archive: &mut AeronArchive,
    recording_id: i64,
    channel: &str,
    stream: i32,
    (first, count, length, start): (u64, u64, usize, i64),
) -> i64 {
    let what = format!("replay of recording {recording_id}");
    let (_, mut replay) = archive
        .replay(
            recording_id,
            channel,
            stream,
            ReplayParams::new(start, REPLAY_ALL_AND_STOP),
        )
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let end = receive(
        &mut replay,
        &mut Expect::new(&what, first, count, length, start),
    );
    wait_end(&mut replay, &what);
    end
}
