//! `oxeron demo`: the seed's record-and-replay workflow on an embedded media driver and archive in
//! temporary directories, printing each step.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::time::{Duration, Instant};

use oxeron::archive::client::{AeronArchive, Context as ArchiveClientContext, ReplayParams};
use oxeron::archive::server::{Archive, ArchiveThreadingMode, Context as ArchiveContext};
use oxeron::archive::{RecordingSignal, SourceLocation};
use oxeron::client::{Aeron, Context as ClientContext, FragmentAssembler, Header, OfferError};
use oxeron::driver::{Context as DriverContext, MediaDriver, ThreadingMode};

use crate::sample;

/// Channel the demo records and publishes on.
pub const RECORDED_CHANNEL: &str = "aeron:ipc";
/// Stream the demo records.
pub const RECORDED_STREAM_ID: i32 = 1001;
/// Channel of the replay.
pub const REPLAY_CHANNEL: &str = "aeron:ipc";
/// Stream the recording is replayed on.
pub const REPLAY_STREAM_ID: i32 = 2001;
/// Term length of the demo's IPC publications.
const TERM_LENGTH: i32 = 16 * 1024 * 1024;
/// Segment file length of the demo's archive.
const SEGMENT_LENGTH: i32 = 64 * 1024 * 1024;
/// Most messages a demo run publishes (it keeps every message's position to check the replay against).
pub const MAX_COUNT: u64 = 100_000_000;
/// Longest any single wait of the demo may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// What the demo measured.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSummary {
    /// Recording id the archive gave the recording.
    pub recording_id: i64,
    /// Messages published and replayed.
    pub count: u64,
    /// Stop position of the recording.
    pub stop_position: i64,
    /// Publish and record throughput, messages per second.
    pub record_rate: f64,
    /// Replay throughput, messages per second.
    pub replay_rate: f64,
}

fn temp_dir(prefix: &str, prefer_shm: bool) -> Result<tempfile::TempDir, String> {
    let base = if prefer_shm && Path::new("/dev/shm").is_dir() {
        Path::new("/dev/shm").to_path_buf()
    } else {
        std::env::temp_dir()
    };
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&base)
        .map_err(|e| format!("temporary directory in {}: {e}", base.display()))
}

fn wait(what: &str, mut done: impl FnMut() -> Result<bool, String>) -> Result<(), String> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    while !done()? {
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

fn rates(count: u64, length: usize, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-9);
    format!(
        "{count} msgs in {:.3} s: {:.0} msgs/s, {:.1} MB/s",
        seconds,
        count as f64 / seconds,
        count as f64 * length as f64 / seconds / 1e6
    )
}

/// Runs the demo with `count` messages of `length` bytes (at least 8); `Ok` only if every replayed message
/// matched what was published, byte for byte and at the same position.
pub fn run(count: u64, length: usize) -> Result<DemoSummary, String> {
    if length < 8 {
        return Err("--length must be at least 8".into());
    }
    if count == 0 || count > MAX_COUNT {
        return Err(format!("--count must be between 1 and {MAX_COUNT}"));
    }
    let aeron_tmp = temp_dir("oxeron-demo-aeron-", true)?;
    let archive_tmp = temp_dir("oxeron-demo-archive-", false)?;
    let aeron_dir = aeron_tmp.path().join("aeron");
    let archive_dir = archive_tmp.path().join("archive");

    println!("1. initialising contexts");
    println!(
        "   media driver in {} (IPC term length {} MiB)",
        aeron_dir.display(),
        TERM_LENGTH >> 20
    );
    let driver = MediaDriver::launch(
        DriverContext::new()
            .aeron_dir(&aeron_dir)
            .threading_mode(ThreadingMode::Shared)
            .ipc_term_buffer_length(TERM_LENGTH)
            .dir_delete_on_shutdown(true),
    )
    .map_err(|e| format!("media driver: {e}"))?;
    println!(
        "   archive in {} (segment files of {} MiB, control channel aeron:ipc stream 10)",
        archive_dir.display(),
        SEGMENT_LENGTH >> 20
    );
    let archive = Archive::launch(
        ArchiveContext::new()
            .aeron_dir(&aeron_dir)
            .archive_dir(&archive_dir)
            .control_channel_enabled(false)
            .segment_file_length(SEGMENT_LENGTH)
            .threading_mode(ArchiveThreadingMode::Dedicated),
    )
    .map_err(|e| format!("archive: {e}"))?;
    let aeron = Aeron::connect(ClientContext::new().aeron_dir(&aeron_dir))
        .map_err(|e| format!("client: {e}"))?;
    let mut client = AeronArchive::connect(
        ArchiveClientContext::new()
            .aeron(aeron.clone())
            .control_request_channel("aeron:ipc")
            .control_response_channel("aeron:ipc")
            .message_timeout(Duration::from_secs(10)),
    )
    .map_err(|e| format!("archive client: {e}"))?;
    println!(
        "   archive client connected: control session {}, archive id {}",
        client.control_session_id(),
        client.archive_id()
    );

    let summary = record_and_replay(&mut client, &aeron, count, length);
    client.close();
    archive.close();
    drop(aeron);
    driver.close();
    let summary = summary?;
    println!("9. archive and driver closed; demo passed: every replayed message matched");
    Ok(summary)
}

fn record_and_replay(
    client: &mut AeronArchive,
    aeron: &Aeron,
    count: u64,
    length: usize,
) -> Result<DemoSummary, String> {
    println!("2. starting a recording of {RECORDED_CHANNEL} stream {RECORDED_STREAM_ID}");
    let subscription_id = client
        .start_recording(
            RECORDED_CHANNEL,
            RECORDED_STREAM_ID,
            SourceLocation::Local,
            false,
        )
        .map_err(|e| format!("start recording: {e}"))?;
    let publication = aeron
        .add_publication(RECORDED_CHANNEL, RECORDED_STREAM_ID)
        .map_err(|e| format!("publication: {e}"))?;
    wait(
        "the recording to connect",
        || Ok(publication.is_connected()),
    )?;
    let started = client
        .await_recording_signal(None, RecordingSignal::Start)
        .map_err(|e| format!("recording START signal: {e}"))?;
    let recording_id = started.recording_id;
    println!(
        "   recording id {recording_id} started (subscription {subscription_id}, session {})",
        publication.session_id()
    );

    println!("3. publishing {count} messages of {length} B");
    let mut positions = Vec::with_capacity(count.min(1 << 20) as usize);
    let mut buffer = vec![0u8; length];
    let start = Instant::now();
    let mut last_progress = start;
    for sequence in 0..count {
        sample::fill(&mut buffer, sequence);
        loop {
            match publication.offer(&buffer) {
                Ok(position) => {
                    positions.push(position);
                    if sequence % 4096 == 0 {
                        last_progress = Instant::now();
                    }
                    break;
                }
                Err(OfferError::BackPressured | OfferError::AdminAction) => {
                    if last_progress.elapsed() > STEP_TIMEOUT {
                        return Err(format!("publication stuck at message {sequence}"));
                    }
                    std::thread::yield_now();
                }
                Err(e) => return Err(format!("offer {sequence}: {e}")),
            }
        }
    }
    let published = *positions.last().unwrap_or(&0);
    println!("   published up to position {published}");
    wait("the recording to catch up", || {
        client
            .get_recording_position(recording_id)
            .map(|recorded| recorded >= published)
            .map_err(|e| format!("recording position: {e}"))
    })?;
    let record_elapsed = start.elapsed();
    println!("   recorded up to position {published}");
    println!(
        "   publish + record: {}",
        rates(count, length, record_elapsed)
    );

    println!("4. stopping the recording");
    client
        .stop_recording_subscription(subscription_id)
        .map_err(|e| format!("stop recording: {e}"))?;
    let stopped = client
        .await_recording_signal(Some(recording_id), RecordingSignal::Stop)
        .map_err(|e| format!("recording STOP signal: {e}"))?;
    let session_id = publication.session_id();
    drop(publication);
    println!("   STOP signal at position {}", stopped.position);

    println!("5. locating the recording");
    let found = client
        .find_last_matching_recording(0, RECORDED_CHANNEL, RECORDED_STREAM_ID, session_id)
        .map_err(|e| format!("find last matching recording: {e}"))?;
    if found != recording_id {
        return Err(format!(
            "find_last_matching_recording found {found}, expected {recording_id}"
        ));
    }
    let mut listed = Vec::new();
    client
        .list_recordings(0, 100, |d| listed.push(d.clone()))
        .map_err(|e| format!("list recordings: {e}"))?;
    let descriptor = listed
        .into_iter()
        .find(|d| d.recording_id == recording_id)
        .ok_or_else(|| format!("recording {recording_id} not listed"))?;
    println!("   find_last_matching_recording(session {session_id}) -> {found}; list_recordings:");
    println!(
        "   recording {} of {} stream {}: positions {}..{}, term length {}, segment files of {} B",
        descriptor.recording_id,
        descriptor.original_channel,
        descriptor.stream_id,
        descriptor.start_position,
        descriptor.stop_position,
        descriptor.term_buffer_length,
        descriptor.segment_file_length
    );
    if descriptor.stop_position != published {
        return Err(format!(
            "stop position {} differs from the published position {published}",
            descriptor.stop_position
        ));
    }

    println!("6. replaying recording {recording_id} on {REPLAY_CHANNEL} stream {REPLAY_STREAM_ID}");
    let start = Instant::now();
    let (replay_session_id, mut subscription) = client
        .replay(
            recording_id,
            REPLAY_CHANNEL,
            REPLAY_STREAM_ID,
            ReplayParams::default(),
        )
        .map_err(|e| format!("replay: {e}"))?;
    println!("   replay session {replay_session_id}");

    println!("7. receiving and checking the replay");
    let next = Cell::new(0u64);
    let failure = RefCell::new(None::<String>);
    let last_position = Cell::new(0i64);
    let mut assembler = FragmentAssembler::new(|message: &[u8], header: &Header| {
        let i = next.get();
        if failure.borrow().is_none() {
            let position = header.position();
            let problem = match positions.get(i as usize) {
                None => Some(format!("an extra message {i} at position {position}")),
                Some(&expected) if expected != position => Some(format!(
                    "message {i} at position {position} instead of {expected}"
                )),
                Some(_) => sample::check(message, i, length).err(),
            };
            *failure.borrow_mut() = problem;
        }
        last_position.set(header.position());
        next.set(i + 1);
    });
    let mut last_progress = start;
    while next.get() < count {
        if subscription.poll(assembler.handler(), 256) > 0 {
            last_progress = Instant::now();
        } else {
            if last_progress.elapsed() > STEP_TIMEOUT {
                return Err(format!(
                    "replay stalled after {} of {count} messages",
                    next.get()
                ));
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    let replay_elapsed = start.elapsed();
    drop(assembler);
    if let Some(problem) = failure.into_inner() {
        return Err(format!("replayed message mismatch: {problem}"));
    }
    wait("the replay to end", || {
        Ok(subscription
            .images()
            .iter()
            .all(|i| i.is_end_of_stream() || i.is_closed()))
    })?;
    let mut extra = 0;
    subscription.poll(|_, _| extra += 1, 16);
    if extra != 0 {
        return Err(format!("{extra} messages replayed past the stop position"));
    }
    println!(
        "8. replayed {} messages, every one matched byte for byte at its position; last position {}",
        next.get(),
        last_position.get()
    );
    println!("   replay: {}", rates(count, length, replay_elapsed));
    let seconds = |d: Duration| d.as_secs_f64().max(1e-9);
    Ok(DemoSummary {
        recording_id,
        count,
        stop_position: stopped.position,
        record_rate: count as f64 / seconds(record_elapsed),
        replay_rate: count as f64 / seconds(replay_elapsed),
    })
}
