//! Real Java Aeron 1.54 as a test peer: finds `java`/`javac` and the Aeron jar, compiles the interop suite's
//! Java programs (`interop/java/src/**/*.java`) once, and starts them as processes.
//!
//! The jar comes from `AERON_JAVA_JAR`, else `shared/peers/aeron-java-1.54/aeron-all-1.54.0.jar` beside the
//! checkout. Without a JDK or the jar, [`JavaPeer::find`] prints why and returns `None`, and the calling test
//! says it skipped.
//!
//! ```no_run
//! use oxeron_interop::java::JavaPeer;
//!
//! let Some(java) = JavaPeer::find("my_test") else { return };
//! let status = java.command("io.aeron.samples.AeronStat").status().unwrap();
//! # let _ = status;
//! ```

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// JVM flags Aeron 1.54 needs on JDK 17 (its README in `shared/peers/aeron-java-1.54/`).
pub const JVM_FLAGS: &[&str] = &[
    "--add-opens",
    "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.util.zip=ALL-UNNAMED",
    "--add-opens",
    "java.base/sun.nio.ch=ALL-UNNAMED",
    "-Daeron.print.configuration=false",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xshare:auto",
];

/// The interop crate's root (`interop/`).
pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Aeron Java jar: `AERON_JAVA_JAR`, else the shared peer beside the checkout.
pub fn jar_path() -> PathBuf {
    match std::env::var_os("AERON_JAVA_JAR") {
        Some(jar) if !jar.is_empty() => PathBuf::from(jar),
        _ => interop_dir().join("../../shared/peers/aeron-java-1.54/aeron-all-1.54.0.jar"),
    }
}

/// A JDK and the Aeron jar, with the suite's Java programs compiled.
#[derive(Debug, Clone)]
pub struct JavaPeer {
    java: PathBuf,
    jar: PathBuf,
    classes: PathBuf,
}

fn which(program: &str) -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        let candidate = Path::new(&home).join("bin").join(program);
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

fn java_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            java_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "java") {
            out.push(path);
        }
    }
}

/// A fingerprint of the sources and the jar, so a changed program or jar is compiled again.
fn fingerprint(sources: &[PathBuf], jar: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for path in sources.iter().chain(std::iter::once(&jar.to_path_buf())) {
        path.hash(&mut hasher);
        if let Ok(meta) = path.metadata() {
            meta.len().hash(&mut hasher);
            meta.modified().ok().hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// Compiles the suite's Java sources into `target/java-classes/<fingerprint>`, once per fingerprint; several
/// test processes may race here, so each compiles into its own directory and renames it into place.
fn compile(javac: &Path, jar: &Path) -> Result<PathBuf, String> {
    let src = interop_dir().join("java").join("src");
    let mut sources = Vec::new();
    java_sources(&src, &mut sources);
    sources.sort();
    let root = interop_dir().join("target").join("java-classes");
    let classes = root.join(format!("{:016x}", fingerprint(&sources, jar)));
    if classes.is_dir() || sources.is_empty() {
        return Ok(classes);
    }
    std::fs::create_dir_all(&root).map_err(|e| format!("create {}: {e}", root.display()))?;
    let staging = root.join(format!("staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let output = Command::new(javac)
        .arg("-nowarn")
        .arg("-encoding")
        .arg("UTF-8")
        .arg("-d")
        .arg(&staging)
        .arg("-cp")
        .arg(jar)
        .args(&sources)
        .output()
        .map_err(|e| format!("run {}: {e}", javac.display()))?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(format!(
            "javac failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    if std::fs::rename(&staging, &classes).is_err() {
        // Another process got there first with the same sources.
        let _ = std::fs::remove_dir_all(&staging);
    }
    Ok(classes)
}

impl JavaPeer {
    /// The JDK and jar, with the Java programs compiled; `None` (after printing `SKIPPED: <test>: why`) when
    /// there is no JDK or no jar. A compile error of the suite's own Java programs panics: that is a bug.
    pub fn find(test: &str) -> Option<JavaPeer> {
        static PEER: OnceLock<Result<JavaPeer, String>> = OnceLock::new();
        let peer = PEER.get_or_init(|| {
            let jar = jar_path();
            if !jar.is_file() {
                return Err(format!(
                    "no Aeron Java jar at {} (set AERON_JAVA_JAR)",
                    jar.display()
                ));
            }
            let (Some(java), Some(javac)) = (which("java"), which("javac")) else {
                return Err(
                    "no java/javac on PATH or in JAVA_HOME (install openjdk-17-jdk-headless)"
                        .into(),
                );
            };
            let classes = compile(&javac, &jar).unwrap_or_else(|e| panic!("{e}"));
            Ok(JavaPeer { java, jar, classes })
        });
        match peer {
            Ok(peer) => Some(peer.clone()),
            Err(why) => {
                println!("SKIPPED: {test}: {why}");
                eprintln!("SKIPPED: {test}: {why}");
                None
            }
        }
    }

    /// The jar in use.
    pub fn jar(&self) -> &Path {
        &self.jar
    }

    /// `java <flags> -cp <jar>:<suite classes> main_class`, ready for `.arg(..)`, `.env(..)` and `-D` options
    /// (add those with [`JavaPeer::command_with`]).
    pub fn command(&self, main_class: &str) -> Command {
        self.command_with(&[], main_class)
    }

    /// Like [`JavaPeer::command`], with JVM options (`-Daeron.dir=...`) before the main class.
    pub fn command_with(&self, jvm_options: &[String], main_class: &str) -> Command {
        let mut classpath = self.jar.clone().into_os_string();
        classpath.push(":");
        classpath.push(&self.classes);
        let hdr_histogram = Path::new("/usr/share/java/HdrHistogram.jar");
        if hdr_histogram.is_file() {
            classpath.push(":");
            classpath.push(hdr_histogram);
        }
        let mut command = Command::new(&self.java);
        command
            .args(JVM_FLAGS)
            .args(jvm_options)
            .arg("-cp")
            .arg(classpath)
            .arg(main_class)
            .stdin(Stdio::null());
        command
    }

    /// Like [`JavaPeer::spawn`], with stdin piped so the test can send commands ([`JavaProcess::send_line`]).
    pub fn spawn_interactive(
        &self,
        jvm_options: &[String],
        main_class: &str,
        args: &[String],
    ) -> std::io::Result<JavaProcess> {
        let mut command = self.command_with(jvm_options, main_class);
        command.args(args).stdin(Stdio::piped());
        JavaProcess::spawn(main_class, command)
    }

    /// Starts `main_class` with `jvm_options` and `args`, its stdout read line by line and its stderr kept.
    pub fn spawn(
        &self,
        jvm_options: &[String],
        main_class: &str,
        args: &[String],
    ) -> std::io::Result<JavaProcess> {
        let mut command = self.command_with(jvm_options, main_class);
        command.args(args);
        JavaProcess::spawn(main_class, command)
    }
}

/// A running Java process: its stdout as lines with bounded waits, killed when dropped.
pub struct JavaProcess {
    name: String,
    child: Child,
    lines: Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    seen: Vec<String>,
}

impl JavaProcess {
    /// Starts `command` with piped stdout and stderr.
    pub fn spawn(name: &str, mut command: Command) -> std::io::Result<JavaProcess> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout: ChildStdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let sink = std::sync::Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                sink.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_str(&text);
            }
        });
        Ok(JavaProcess {
            name: name.to_string(),
            child,
            lines,
            stderr,
            seen: Vec::new(),
        })
    }

    /// What the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn failure(&self, what: &str) -> String {
        format!(
            "{}: {what}\n-- stdout so far:\n{}\n-- stderr:\n{}",
            self.name,
            self.seen.join("\n"),
            self.stderr()
        )
    }

    /// The next stdout line, waiting at most `limit`; `Err` with everything the process printed when it
    /// ended or the time ran out.
    pub fn next_line(&mut self, limit: Duration) -> Result<String, String> {
        match self.lines.recv_timeout(limit) {
            Ok(line) => {
                self.seen.push(line.clone());
                Ok(line)
            }
            Err(RecvTimeoutError::Timeout) => {
                Err(self.failure(&format!("no output line within {limit:?}")))
            }
            Err(RecvTimeoutError::Disconnected) => Err(self.failure("stdout closed")),
        }
    }

    /// Reads lines until one starts with `prefix` and returns it (the prefix included), within `limit`.
    pub fn expect_line(&mut self, prefix: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_line(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(e) => panic!("waiting for a line starting {prefix:?}: {e}"),
            }
        }
    }

    /// Waits at most `limit` for the process to exit and returns its status; kills it and panics with its
    /// output when it does not.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    // Keep the last lines for messages.
                    while let Ok(line) = self.lines.try_recv() {
                        self.seen.push(line);
                    }
                    return status;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "{}",
                        self.failure(&format!("did not exit within {limit:?}"))
                    );
                }
            }
        }
    }

    /// Waits for exit and panics with the output unless it exited 0.
    pub fn wait_success(&mut self, limit: Duration) {
        let status = self.wait(limit);
        if !status.success() {
            panic!("{}", self.failure(&format!("exited with {status}")));
        }
    }

    /// Writes `line` and a newline to the process's stdin (started with [`JavaPeer::spawn_interactive`]).
    pub fn send_line(&mut self, line: &str) -> Result<(), String> {
        use std::io::Write;
        let stdin = self
            .child
            .stdin
            .as_mut()
            .ok_or_else(|| format!("{}: stdin is not piped", self.name))?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|e| self.failure(&format!("writing {line:?}: {e}")))
    }

    /// Every stdout line read so far.
    pub fn lines_seen(&self) -> &[String] {
        &self.seen
    }

    /// Asks the process to stop (SIGTERM), as Ctrl-C would, so Java's shutdown hooks run.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
    }
}

impl Drop for JavaProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
