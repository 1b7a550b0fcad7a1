//! An archive process killed with SIGKILL in the middle of a recording, then restarted on the same archive
//! directory: the catalog is consistent and every message up to the last recorded position replays intact.
//!
//! The archive process is this test binary run again with an environment variable that turns the ignored
//! test `archive_process` into a driver + archive that waits to be killed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use oxeron_archive::client::{AeronArchive, Context as ArchiveClientContext, ReplayParams};
use oxeron_archive::server::{Archive, Context as ArchiveContext};
use oxeron_archive::{RecordingSignal, SourceLocation};
use oxeron_client::{Aeron, Context as ClientContext, FragmentAssembler, Header};
use oxeron_driver::{Context as DriverContext, MediaDriver, ThreadingMode};

const CHILD_AERON_DIR: &str = "OXERON_TEST_ARCHIVE_CHILD_AERON_DIR";
const CHILD_ARCHIVE_DIR: &str = "OXERON_TEST_ARCHIVE_CHILD_ARCHIVE_DIR";
const LENGTH: usize = 200;

fn message(i: usize) -> Vec<u8> {
    let mut m = vec![0u8; LENGTH];
    m[..8].copy_from_slice(&(i as u64).to_le_bytes());
    for (k, b) in m.iter_mut().enumerate().skip(8) {
        *b = (i * 7 + k) as u8;
    }
    m
}

fn launch(aeron_dir: &Path, archive_dir: &Path) -> (MediaDriver, Archive) {
    let driver = MediaDriver::launch(
        DriverContext::new()
            .aeron_dir(aeron_dir)
            .threading_mode(ThreadingMode::Shared)
            .ipc_term_buffer_length(64 * 1024)
            .dir_delete_on_shutdown(true),
    )
    .expect("driver");
    let archive = Archive::launch(
        ArchiveContext::new()
            .aeron_dir(aeron_dir)
            .archive_dir(archive_dir)
            .control_channel_enabled(false)
            .segment_file_length(128 * 1024)
            .mark_file_liveness_timeout(Duration::from_millis(1500)),
    )
    .expect("archive");
    (driver, archive)
}

/// Run only as the child of `kill_9_mid_recording_then_restart`.
#[test]
#[ignore]
fn archive_process() {
    let (Some(aeron_dir), Some(archive_dir)) = (
        std::env::var_os(CHILD_AERON_DIR),
        std::env::var_os(CHILD_ARCHIVE_DIR),
    ) else {
        return;
    };
    let (_driver, _archive) = launch(Path::new(&aeron_dir), Path::new(&archive_dir));
    std::fs::write(Path::new(&archive_dir).join("ready"), b"ready").unwrap();
    std::thread::sleep(Duration::from_secs(60));
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn client(aeron: Aeron) -> AeronArchive {
    AeronArchive::connect(
        ArchiveClientContext::new()
            .aeron(aeron)
            .control_request_channel("aeron:ipc")
            .control_response_channel("aeron:ipc"),
    )
    .expect("archive client")
}

#[test]
fn kill_9_mid_recording_then_restart() {
    let dir = oxeron_testkit::temp_aeron_dir();
    let child_aeron: PathBuf = dir.path().join("aeron-child");
    let archive_dir = dir.path().join("archive");
    std::fs::create_dir_all(&archive_dir).unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["archive_process", "--exact", "--ignored", "--nocapture"])
        .env(CHILD_AERON_DIR, &child_aeron)
        .env(CHILD_ARCHIVE_DIR, &archive_dir)
        .spawn()
        .expect("archive process");
    let mut child = KillOnDrop(child);
    wait_for("the archive process", Duration::from_secs(20), || {
        archive_dir.join("ready").exists()
    });

    let aeron = Aeron::connect(ClientContext::new().aeron_dir(&child_aeron)).unwrap();
    let mut archive = client(aeron.clone());
    archive
        .start_recording("aeron:ipc", 1001, SourceLocation::Local, false)
        .unwrap();
    let publication = aeron.add_publication("aeron:ipc", 1001).unwrap();
    wait_for("the recording to connect", Duration::from_secs(10), || {
        publication.is_connected()
    });
    let recording_id = archive
        .await_recording_signal(None, RecordingSignal::Start)
        .unwrap()
        .recording_id;
    // Enough to span several segments, then keep publishing while the archive is killed.
    let mut sent = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut killed = false;
    while sent < 6000 {
        if publication.offer(&message(sent)).is_ok() {
            sent += 1;
        } else {
            assert!(Instant::now() < deadline, "publication stuck at {sent}");
            std::thread::yield_now();
        }
        if sent == 4000 && !killed {
            // SIGKILL: no chance to stop the recording or flush anything.
            child.0.kill().unwrap();
            child.0.wait().unwrap();
            killed = true;
            break;
        }
    }
    assert!(killed);
    drop(publication);
    drop(archive);
    drop(aeron);

    // The dead archive's mark file must look stale before a new archive takes the directory over.
    std::thread::sleep(Duration::from_millis(1600));
    let restart_aeron = dir.path().join("aeron-restart");
    let (_driver, _restarted) = launch(&restart_aeron, &archive_dir);
    let aeron = Aeron::connect(ClientContext::new().aeron_dir(&restart_aeron)).unwrap();
    let mut archive = client(aeron.clone());
    let d = archive
        .recording_descriptor(recording_id)
        .unwrap()
        .expect("recovered recording");
    let frame = (32 + LENGTH).next_multiple_of(32) as i64;
    assert!(d.stop_position > 0, "recovery found nothing: {d:?}");
    assert_eq!(d.stop_position % frame, 0, "stop at a frame end: {d:?}");
    assert!(d.stop_timestamp > 0);
    let recorded = (d.stop_position / frame) as usize;
    assert!(recorded <= 4000);

    let (_, mut replay) = archive
        .replay(recording_id, "aeron:ipc", 2001, ReplayParams::default())
        .unwrap();
    let mut received = 0usize;
    let mut assembler = FragmentAssembler::new(|payload: &[u8], header: &Header| {
        assert_eq!(payload, &message(received)[..], "message {received}");
        assert_eq!(header.position(), (received as i64 + 1) * frame);
        received += 1;
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = replay.poll(assembler.handler(), 64);
        let done = replay.images().iter().any(|i| i.is_end_of_stream());
        if n == 0 && done {
            break;
        }
        assert!(Instant::now() < deadline, "replay stalled");
        if n == 0 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    drop(assembler);
    assert_eq!(received, recorded);
    println!("killed after publishing 4000; recovered and replayed {recorded} messages");
}
