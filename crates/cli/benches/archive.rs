//! Recording and replay throughput beside the raw sequential write and read speed of the same disk, in one
//! run: `cargo bench -p oxeron-cli --bench archive`. `OXERON_BENCH_ARCHIVE_MB` sets the volume (default 1 GiB;
//! `--test` or `OXERON_BENCH_QUICK` runs 32 MiB, one round); `OXERON_BENCH_ROUNDS` sets the rounds (default
//! 3); `OXERON_BENCH_ARCHIVE_PARENT` puts the archive elsewhere than under `target/` (e.g. `/dev/shm` to see
//! the CPU-bound pipeline); `AERON_ARCHIVE_THREADING_MODE` the archive's threading (default DEDICATED).

use std::path::{Path, PathBuf};

fn main() {
    let quick =
        std::env::args().any(|a| a == "--test") || std::env::var_os("OXERON_BENCH_QUICK").is_some();
    let megabytes: u64 = std::env::var("OXERON_BENCH_ARCHIVE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 32 } else { 1024 });
    let rounds: usize = std::env::var("OXERON_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { 3 });
    let parent = std::env::var_os("OXERON_BENCH_ARCHIVE_PARENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    std::fs::create_dir_all(&parent).unwrap();
    let disk = tempfile::Builder::new()
        .prefix("oxeron-archive-bench-")
        .tempdir_in(&parent)
        .unwrap();
    let shm = tempfile::Builder::new()
        .prefix("oxeron-bench-")
        .tempdir_in("/dev/shm")
        .unwrap();
    let threading = std::env::var("AERON_ARCHIVE_THREADING_MODE")
        .ok()
        .map(|mode| mode.parse().expect("AERON_ARCHIVE_THREADING_MODE"))
        .unwrap_or_default();
    let f = oxeron_cli::bench::archive_record_replay(
        shm.path(),
        disk.path(),
        megabytes,
        rounds,
        threading,
    )
    .unwrap();
    println!(
        "{}",
        oxeron_cli::bench::describe_archive_figures(&f, megabytes)
    );
}
