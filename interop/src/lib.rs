//! Interop helpers: real Java Aeron as a test peer ([`java`]), the kill -9 matrix ([`kill9`]) and the suites'
//! bounded wait.

use std::time::{Duration, Instant};

pub mod java;
pub mod kill9;

/// Waits for `done` up to `limit`, sleeping a millisecond between checks; panics naming `what` when the time
/// runs out.
pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
