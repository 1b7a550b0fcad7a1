//! Recording and replay throughput beside the raw sequential write and read speed of the same disk, in one
//! run: `cargo bench -p oxeron-archive --bench record_replay`. `OXERON_BENCH_ARCHIVE_MB` sets the volume
//! (default 512 MiB; `--test` or `OXERON_BENCH_QUICK` runs 32 MiB). The archive directory is on the disk
//! under `target/`, not in memory.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxeron_archive::client::{AeronArchive, Context as ArchiveClientContext, ReplayParams};
use oxeron_archive::server::{Archive, Context as ArchiveContext};
use oxeron_archive::{FileSyncLevel, RecordingSignal, SourceLocation};
use oxeron_client::{Aeron, Context as ClientContext};
use oxeron_driver::{Context as DriverContext, MediaDriver, ThreadingMode};

const MESSAGE: usize = 8 * 1024 - 32;
const TERM: i32 = 16 * 1024 * 1024;

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64()
}

fn raw_write(dir: &Path, bytes: u64) -> Duration {
    let path = dir.join("raw-write.bin");
    let chunk = vec![0x5Au8; 1024 * 1024];
    let start = Instant::now();
    let mut file = std::fs::File::create(&path).unwrap();
    let mut written = 0;
    while written < bytes {
        file.write_all(&chunk).unwrap();
        written += chunk.len() as u64;
    }
    file.sync_all().unwrap();
    start.elapsed()
}

fn raw_read(dir: &Path) -> (u64, Duration) {
    let path = dir.join("raw-write.bin");
    let mut chunk = vec![0u8; 1024 * 1024];
    let start = Instant::now();
    let mut file = std::fs::File::open(&path).unwrap();
    let mut total = 0u64;
    loop {
        let n = file.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    let elapsed = start.elapsed();
    std::fs::remove_file(path).unwrap();
    (total, elapsed)
}

/// Empties the page cache so reads come from the disk (needs root); `false` when it can't.
fn drop_caches() -> bool {
    let _ = std::process::Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

fn sync_segments(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rec") {
            std::fs::File::open(&path).unwrap().sync_all().unwrap();
        }
    }
}

fn main() {
    let quick =
        std::env::args().any(|a| a == "--test") || std::env::var_os("OXERON_BENCH_QUICK").is_some();
    let mb: u64 = std::env::var("OXERON_BENCH_ARCHIVE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 32 } else { 512 });
    let bytes = mb * 1024 * 1024;
    let shm = tempfile::Builder::new()
        .prefix("oxeron-bench-")
        .tempdir_in("/dev/shm")
        .unwrap();
    // OXERON_BENCH_ARCHIVE_PARENT puts the archive elsewhere (e.g. /dev/shm to see the CPU-bound pipeline).
    let target = std::env::var_os("OXERON_BENCH_ARCHIVE_PARENT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    std::fs::create_dir_all(&target).unwrap();
    let disk = tempfile::Builder::new()
        .prefix("oxeron-archive-bench-")
        .tempdir_in(&target)
        .unwrap();
    let archive_dir = disk.path().join("archive");

    let write_time = raw_write(disk.path(), bytes);
    let cold = drop_caches();
    let (read_bytes, read_time) = raw_read(disk.path());

    let aeron_dir = shm.path().join("aeron");
    let driver = MediaDriver::launch(
        DriverContext::new()
            .aeron_dir(&aeron_dir)
            .threading_mode(ThreadingMode::Shared)
            .ipc_term_buffer_length(TERM),
    )
    .unwrap();
    let archive = Archive::launch(
        ArchiveContext::new()
            .aeron_dir(&aeron_dir)
            .archive_dir(&archive_dir)
            .control_channel_enabled(false)
            .file_sync_level(FileSyncLevel::None),
    )
    .unwrap();
    let aeron = Arc::new(Aeron::connect(ClientContext::new().aeron_dir(&aeron_dir)).unwrap());
    let mut client = AeronArchive::connect(
        ArchiveClientContext::new()
            .aeron(Arc::clone(&aeron))
            .control_request_channel("aeron:ipc")
            .control_response_channel("aeron:ipc"),
    )
    .unwrap();

    let messages = bytes / (MESSAGE as u64 + 32);
    let subscription_id = client
        .start_recording("aeron:ipc", 1001, SourceLocation::Local, false)
        .unwrap();
    let mut publication = aeron.add_exclusive_publication("aeron:ipc", 1001).unwrap();
    while !publication.is_connected() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let recording_id = client
        .await_recording_signal(None, RecordingSignal::Start)
        .unwrap()
        .recording_id;
    let payload = vec![0xA5u8; MESSAGE];
    let start = Instant::now();
    let mut end = 0;
    for _ in 0..messages {
        loop {
            match publication.offer(&payload) {
                Ok(p) => {
                    end = p;
                    break;
                }
                Err(_) => std::thread::yield_now(),
            }
        }
    }
    while client.get_recording_position(recording_id).unwrap() < end {
        std::thread::sleep(Duration::from_micros(200));
    }
    sync_segments(&archive_dir);
    let record_time = start.elapsed();
    client.stop_recording_subscription(subscription_id).unwrap();
    drop(publication);

    drop_caches();
    let start = Instant::now();
    let (_, mut replay) = client
        .replay(recording_id, "aeron:ipc", 2001, ReplayParams::default())
        .unwrap();
    let total = messages * MESSAGE as u64;
    let mut payload_bytes = 0u64;
    while payload_bytes < total {
        let n = replay.poll(|payload, _| payload_bytes += payload.len() as u64, 256);
        if n == 0 {
            std::thread::yield_now();
        }
    }
    let replay_time = start.elapsed();

    // The disk's raw speed again after the archive's run; the better of the two counts.
    let write_after = raw_write(disk.path(), bytes);
    drop_caches();
    let (read_after_bytes, read_after) = raw_read(disk.path());
    let recorded = end as u64;
    let write = mb_per_s(bytes, write_time).max(mb_per_s(bytes, write_after));
    let read = mb_per_s(read_bytes, read_time).max(mb_per_s(read_after_bytes, read_after));
    let record = mb_per_s(recorded, record_time);
    let replayed = mb_per_s(recorded, replay_time);
    println!(
        "archive bench: {mb} MiB, {messages} messages of {MESSAGE} B, term {TERM} B, archive dir on disk"
    );
    println!("  raw sequential write (+fsync):       {write:>8.1} MB/s");
    println!(
        "  recording (publish..recorded, +fsync): {record:>8.1} MB/s ({:.0}% of raw write)",
        100.0 * record / write
    );
    let cache = if cold {
        "cold page cache"
    } else {
        "page cache not dropped (needs root)"
    };
    println!("  raw sequential read ({cache}): {read:>8.1} MB/s");
    println!(
        "  replay (request..last message):      {replayed:>8.1} MB/s ({:.0}% of raw read)",
        100.0 * replayed / read
    );
    assert_eq!(payload_bytes, total);
    drop(replay);
    client.close();
    archive.close();
    drop(driver);
}
