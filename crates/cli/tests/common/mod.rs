//! Helpers the `oxeron` process tests share: a child process that is always killed and reaped, its
//! collected output, and a bounded wait for an archive to answer.
#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use oxeron::archive::client::{AeronArchive, Context as ArchiveClientContext};
use oxeron::client::{Aeron, Context};

pub const BIN: &str = env!("CARGO_BIN_EXE_oxeron");

/// A child process killed (and reaped) when dropped, so a failing test leaves nothing running.
pub struct Process {
    pub child: Child,
    stdout: Option<std::thread::JoinHandle<Vec<u8>>>,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
}

/// What a finished process printed.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout_bytes: Vec<u8>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn describe(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

fn collect(mut stream: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        bytes
    })
}

pub fn spawn(args: &[&str]) -> Process {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oxeron");
    let stdout = child.stdout.take().map(collect);
    let stderr = child.stderr.take().map(collect);
    Process {
        child,
        stdout,
        stderr,
    }
}

impl Process {
    /// Waits for the process to exit, killing it (and failing) after `timeout`.
    pub fn finish(mut self, what: &str, timeout: Duration) -> Finished {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let (out, err) = self.output();
                panic!(
                    "{what} still running after {timeout:?}\n--- stdout\n{}\n--- stderr\n{}",
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&err)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let (stdout, stderr) = self.output();
        Finished {
            status,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stdout_bytes: stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    pub fn output(&mut self) -> (Vec<u8>, Vec<u8>) {
        let join = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
            h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
        };
        (join(self.stdout.take()), join(self.stderr.take()))
    }

    /// Panics with what `what` printed if it has exited.
    pub fn assert_running(&mut self, what: &str) {
        if let Some(status) = self.child.try_wait().unwrap() {
            let (out, err) = self.output();
            panic!(
                "{what} exited with {status}\n--- stdout\n{}\n--- stderr\n{}",
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&err)
            );
        }
    }

    /// Polls `ready` every `every` until it gives a value, which it returns; panics if `what` exits first
    /// or `timeout` passes.
    pub fn wait_for<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        every: Duration,
        mut ready: impl FnMut() -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            self.assert_running(what);
            if let Some(value) = ready() {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "{what} was not ready within {timeout:?}"
            );
            std::thread::sleep(every);
        }
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} failed");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run(args: &[&str], timeout: Duration) -> Finished {
    spawn(args).finish(&format!("oxeron {}", args.join(" ")), timeout)
}

pub fn assert_no_panic(finished: &Finished) {
    assert!(
        !finished.stderr.contains("panicked") && finished.status.code().is_some(),
        "crashed: {}",
        finished.describe()
    );
}

/// Waits until the archive answers a client, which it returns.
pub fn wait_for_archive(aeron_dir: &Path, archive: &mut Process) -> AeronArchive {
    archive.wait_for(
        "oxeron archive",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || {
            let aeron = Aeron::connect(
                Context::new()
                    .aeron_dir(aeron_dir)
                    .driver_timeout(Duration::from_secs(5)),
            )
            .ok()?;
            AeronArchive::connect(
                ArchiveClientContext::new()
                    .aeron(aeron)
                    .control_request_channel("aeron:ipc")
                    .control_response_channel("aeron:ipc")
                    .message_timeout(Duration::from_millis(500)),
            )
            .ok()
        },
    )
}

/// A writable copy of the golden Java archive directory (never the golden files themselves).
pub fn golden_archive_copy() -> tempfile::TempDir {
    let source = oxeron_testkit::golden_dir().join("aeron-java-archive-1.54");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_str().unwrap();
        if name.ends_with(".rec") || name == "archive.catalog" || name == "archive-mark.dat" {
            let bytes = std::fs::read(entry.path()).unwrap();
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
    }
    dir
}
