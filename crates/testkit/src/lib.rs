//! Test helpers shared by Oxeron's crates: where the golden captures live, temporary Aeron directories in
//! shared memory, and waits that fail with a message instead of hanging.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The directory of golden files captured from real Aeron 1.54.
///
/// Looks, in order, at `$OXERON_GOLDEN_DIR`, `shared/golden` beside the project checkout, and
/// `/work/shared/golden`, and takes the first that exists. Panics, naming every place tried, when none does:
/// a golden test must fail rather than pass without its data.
pub fn golden_dir() -> PathBuf {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("OXERON_GOLDEN_DIR") {
        candidates.push(PathBuf::from(dir));
    }
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/golden"));
    candidates.push(PathBuf::from("/work/shared/golden"));
    candidates
        .iter()
        .find(|dir| dir.is_dir())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "golden directory not found; set OXERON_GOLDEN_DIR. Tried: {}",
                candidates
                    .iter()
                    .map(|dir| dir.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// A fresh temporary directory for an Aeron directory, in `/dev/shm` where it exists (like Aeron's default),
/// removed when dropped.
pub fn temp_aeron_dir() -> tempfile::TempDir {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    tempfile::Builder::new()
        .prefix("oxeron-test-")
        .tempdir_in(base)
        .expect("cannot create a temporary Aeron directory")
}

/// Polls `condition` until it holds; panics naming `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// A loopback UDP port that was free a moment ago (the OS picked it for a socket that is then closed).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .expect("cannot bind a loopback UDP socket")
        .port()
}
