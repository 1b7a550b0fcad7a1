//! The tools Aeron users reach for, through the `oxeron` binary and a real standalone driver: AeronStat
//! (once, filtered, refreshing in a terminal, served to Prometheus), StreamStat, BacklogStat, and the bench's
//! progress bar and latency plot. The terminal tests run the command in a tmux pane and read the pane back;
//! without tmux they say that they skipped.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{run, spawn, Process, BIN};
use oxeron::client::cnc_file::CncFile;
use oxeron::client::{Aeron, Context};
use oxeron_testkit::{free_udp_port, temp_aeron_dir, wait_until};

fn start_driver(dir: &Path) -> Process {
    let mut driver = spawn(&["driver", "--aeron-dir", dir.to_str().unwrap()]);
    let pid = i64::from(driver.child.id());
    driver.wait_for(
        "the driver",
        Duration::from_secs(10),
        Duration::from_millis(10),
        || {
            CncFile::map(dir)
                .is_ok_and(|cnc| cnc.header().pid == pid)
                .then_some(())
        },
    );
    driver
}

/// A tmux session running one command in a 200x50 pane; killed when dropped.
struct Tmux {
    session: String,
}

impl Tmux {
    /// Starts `args` under tmux, or `None` (saying so) when tmux is not installed.
    fn start(test: &str, args: &[&str]) -> Option<Self> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("SKIPPED {test}: tmux is not installed (apt-get install tmux)");
            return None;
        }
        let session = format!("oxeron-{}-{test}", std::process::id());
        let mut command = vec![BIN.to_string()];
        command.extend(args.iter().map(|a| format!("'{a}'")));
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-x", "200", "-y", "50", "-s", &session])
            .arg(command.join(" "))
            .env("TERM", "xterm-256color")
            .status()
            .expect("tmux new-session");
        assert!(status.success(), "tmux new-session failed");
        Some(Self { session })
    }

    fn capture(&self) -> String {
        let output = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Captures the pane until `ready` holds for it, and returns that capture.
    fn wait_for(&self, what: &str, timeout: Duration, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let pane = self.capture();
            if ready(&pane) {
                return pane;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {timeout:?}; the pane shows:\n{pane}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send_keys(&self, keys: &str) {
        let _ = Command::new("tmux")
            .args(["send-keys", "-t", &self.session, keys])
            .output();
    }

    fn is_running(&self) -> bool {
        Command::new("tmux")
            .args(["has-session", "-t", &self.session])
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for Tmux {
    /// Interrupts the command first (so a bench removes its directories), then kills the session.
    fn drop(&mut self) {
        self.send_keys("C-c");
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.is_running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .output();
    }
}

#[test]
fn stat_watch_refreshes_like_aeronstat_in_a_terminal() {
    let tmp = temp_aeron_dir();
    let dir = tmp.path().join("aeron");
    let _driver = start_driver(&dir);
    let Some(tmux) = Tmux::start(
        "stat_watch",
        &[
            "stat",
            "--aeron-dir",
            dir.to_str().unwrap(),
            "--watch",
            "200ms",
        ],
    ) else {
        return;
    };
    let first = tmux.wait_for("AeronStat screen", Duration::from_secs(10), |pane| {
        pane.contains("Bytes sent") && pane.lines().any(|l| l.trim() == "--")
    });
    let header = first.lines().next().unwrap_or_default();
    assert!(
        header.contains(" UTC - Aeron Stat (CnC v0.2.0), pid ") && header.contains("heartbeat age"),
        "{first}"
    );
    assert!(
        first.lines().nth(1).is_some_and(|l| l == "=".repeat(70)),
        "{first}"
    );
    // It refreshes: the header's clock moves on.
    tmux.wait_for("a refreshed screen", Duration::from_secs(10), |pane| {
        pane.lines().next() != Some(header)
    });
    tmux.send_keys("C-c");
    wait_until(
        "stat --watch to stop on SIGINT",
        Duration::from_secs(10),
        || !tmux.is_running(),
    );
}

#[test]
fn bench_shows_its_progress_in_a_terminal_and_stops_on_ctrl_c() {
    let Some(tmux) = Tmux::start(
        "bench_progress",
        &[
            "bench",
            "ipc",
            "--count",
            "2000000000",
            "--message-length",
            "1024",
        ],
    ) else {
        return;
    };
    let pane = tmux.wait_for("a progress bar", Duration::from_secs(30), |pane| {
        pane.contains("throughput, exclusive") && pane.contains("%") && pane.contains("eta")
    });
    assert!(pane.contains("IPC throughput, 1024 B messages"), "{pane}");
    tmux.send_keys("C-c");
    wait_until(
        "the bench to stop on SIGINT",
        Duration::from_secs(10),
        || !tmux.is_running(),
    );
}

#[test]
fn bench_plot_draws_the_round_trip_percentile_distribution() {
    let out = tempfile::tempdir().unwrap();
    let plot = out.path().join("latency.svg");
    let finished = run(
        &[
            "bench",
            "ipc",
            "--count",
            "100000",
            "--round-trips",
            "20000",
            "--plot",
            plot.to_str().unwrap(),
        ],
        Duration::from_secs(120),
    );
    assert!(finished.status.success(), "{}", finished.describe());
    assert!(
        finished.stdout.contains("latency plot written to"),
        "{}",
        finished.describe()
    );
    let svg = std::fs::read_to_string(&plot).unwrap();
    for text in [
        "<svg",
        "IPC ping-pong round trip, 32 B, 20000 samples",
        "percentile",
        "latency (us)",
        "99%",
        "<polyline",
    ] {
        assert!(svg.contains(text), "no {text:?} in {}", plot.display());
    }
}

/// A UDP stream between two clients of one driver, sent and received in full.
fn udp_stream(
    dir: &Path,
) -> (
    Aeron,
    oxeron::client::Publication,
    oxeron::client::Subscription,
) {
    let aeron = Aeron::connect(Context::new().aeron_dir(dir)).unwrap();
    let channel = format!("aeron:udp?endpoint=127.0.0.1:{}", free_udp_port());
    let mut subscription = aeron.add_subscription(&channel, 1001).unwrap();
    let publication = aeron.add_publication(&channel, 1001).unwrap();
    wait_until("the stream to connect", Duration::from_secs(10), || {
        publication.is_connected() && subscription.is_connected()
    });
    let mut received = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    for n in 0..100u32 {
        while publication.offer(&n.to_le_bytes()).is_err() {
            assert!(Instant::now() < deadline, "offer {n}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    while received < 100 {
        assert!(Instant::now() < deadline, "received {received} of 100");
        received += subscription.poll(|_: &[u8], _: &_| {}, 10);
    }
    (aeron, publication, subscription)
}

#[test]
fn streams_and_backlog_report_a_udp_stream_like_streamstat_and_backlogstat() {
    let tmp = temp_aeron_dir();
    let dir = tmp.path().join("aeron");
    let _driver = start_driver(&dir);
    let (_aeron, publication, _subscription) = udp_stream(&dir);
    let session = publication.session_id();
    let prefix = format!("sessionId={session} streamId=1001 channel=aeron:udp?endpoint=127.0.0.1:");
    let dir_arg = dir.to_str().unwrap();
    let streams = run(
        &["streams", "--aeron-dir", dir_arg],
        Duration::from_secs(30),
    );
    assert!(streams.status.success(), "{}", streams.describe());
    let line = streams
        .stdout
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line for the stream:\n{}", streams.stdout));
    for counter in [
        "pub-lmt:",
        "pub-pos (concurrent):",
        "snd-pos:",
        "rcv-hwm:",
        "rcv-pos:",
        "sub-pos:",
    ] {
        assert!(line.contains(counter), "no {counter} in {line}");
    }
    let backlog = run(
        &["backlog", "--aeron-dir", dir_arg],
        Duration::from_secs(30),
    );
    assert!(backlog.status.success(), "{}", backlog.describe());
    let block = backlog
        .stdout
        .split("\n\n")
        .find(|b| b.starts_with(&prefix));
    let block = block.unwrap_or_else(|| panic!("no block for the stream:\n{}", backlog.stdout));
    let position = publication.position();
    assert!(
        block.contains(&format!("the last sampled position is {position} (~")),
        "{block}"
    );
    assert!(
        block.contains("└─sender ") && block.contains("has to send 0 bytes"),
        "{block}"
    );
    assert!(
        block.contains("┌─receiver ") && block.contains(&format!("is at position {position}")),
        "{block}"
    );
    assert!(
        block.contains("└─subscriber ") && block.contains("has 0 backlog bytes"),
        "{block}"
    );
}

#[test]
fn stat_filters_like_aeronstat() {
    let tmp = temp_aeron_dir();
    let dir = tmp.path().join("aeron");
    let _driver = start_driver(&dir);
    let (_aeron, publication, _subscription) = udp_stream(&dir);
    let dir_arg = dir.to_str().unwrap();
    let rows = |filters: &[&str]| {
        let mut args = vec!["stat", "--aeron-dir", dir_arg];
        args.extend_from_slice(filters);
        let finished = run(&args, Duration::from_secs(30));
        assert!(finished.status.success(), "{}", finished.describe());
        finished
            .stdout
            .lines()
            .filter(|l| l.contains(" - ") && !l.contains("Aeron Stat"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let bytes_sent = rows(&["--type", "^0$", "--identity", "^0$"]);
    assert_eq!(bytes_sent.len(), 1, "{bytes_sent:?}");
    assert!(bytes_sent[0].ends_with(" - Bytes sent"), "{bytes_sent:?}");
    let session = publication.session_id().to_string();
    let stream_rows = rows(&["--session", &format!("^{session}$"), "--stream", "^1001$"]);
    assert!(
        stream_rows.iter().any(|r| r.contains("pub-pos")),
        "{stream_rows:?}"
    );
    assert!(
        stream_rows.iter().any(|r| r.contains("sub-pos")),
        "{stream_rows:?}"
    );
    assert!(
        stream_rows
            .iter()
            .all(|r| r.contains(&format!(" {session} 1001 ")) || !r.contains("-pos")),
        "{stream_rows:?}"
    );
    assert!(rows(&["--stream", "^4242$", "--type", "^(1|2|3|4|5|9|10|12)$"]).is_empty());
    let refused = run(
        &["stat", "--aeron-dir", dir_arg, "--channel", "(unclosed"],
        Duration::from_secs(30),
    );
    assert_eq!(refused.status.code(), Some(2), "{}", refused.describe());
    assert!(
        refused.stderr.contains("--channel <REGEX>"),
        "{}",
        refused.describe()
    );
}

fn scrape(port: u16) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn stat_serves_the_counters_to_prometheus() {
    let tmp = temp_aeron_dir();
    let dir = tmp.path().join("aeron");
    let _driver = start_driver(&dir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut server = spawn(&[
        "stat",
        "--aeron-dir",
        dir.to_str().unwrap(),
        "--serve",
        &address,
    ]);
    let first = server.wait_for(
        "stat --serve",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || scrape(port),
    );
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    assert!(
        first.contains("Content-Type: text/plain; version=0.0.4"),
        "{first}"
    );
    assert!(first.contains("# TYPE aeron_counter gauge"), "{first}");
    assert!(first.contains("label=\"Bytes sent\"}"), "{first}");
    // Each scrape reads the counters afresh: a new publication's limit counter shows up.
    let aeron = Aeron::connect(Context::new().aeron_dir(&dir)).unwrap();
    let _publication = aeron.add_publication("aeron:ipc", 1001).unwrap();
    let last = std::cell::RefCell::new(String::new());
    let seen = Instant::now() + Duration::from_secs(10);
    loop {
        let response = scrape(port).unwrap_or_default();
        if response.contains("type_id=\"1\",label=\"pub-lmt: ") {
            break;
        }
        *last.borrow_mut() = response;
        assert!(
            Instant::now() < seen,
            "no publisher limit in\n{}",
            last.borrow()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.signal("-TERM");
    let stopped = server.finish("stat --serve", Duration::from_secs(10));
    assert!(stopped.status.success(), "{}", stopped.describe());
}

#[test]
fn every_subcommand_help_shows_its_defaults_and_environment() {
    for (words, expected) in [
        (
            &["driver"][..],
            &["--aeron-dir <DIR>", "[env: AERON_DIR="][..],
        ),
        (
            &["publish"],
            &[
                "--message-length <MESSAGE_LENGTH>",
                "[default: 32]",
                "--connect-timeout <DURATION>",
                "[default: 30s]",
            ],
        ),
        (
            &["subscribe"],
            &[
                "--timeout <DURATION>",
                "[default: 120s]",
                "[env: AERON_DIR=",
            ],
        ),
        (
            &["stat"],
            &[
                "--watch [<DURATION>]",
                "--serve <ADDR>",
                "--type <REGEX>",
                "[default: table]",
            ],
        ),
        (
            &["replay"],
            &["--bytes <BYTES>", "[default: 10s]", "[env: AERON_DIR="],
        ),
        (
            &["catalog", "list"],
            &[
                "--archive-dir <DIR>",
                "[env: AERON_ARCHIVE_DIR=",
                "[default: aeron-archive]",
            ],
        ),
        (
            &["bench"],
            &[
                "--archive-dir <DIR>",
                "--plot <FILE.svg>",
                "[default: 5000000]",
            ],
        ),
        (&["streams"], &["[env: AERON_DIR="]),
        (&["backlog"], &["[env: AERON_DIR="]),
    ] {
        let mut args = words.to_vec();
        args.push("--help");
        let finished = run(&args, Duration::from_secs(30));
        assert!(finished.status.success(), "{}", finished.describe());
        for text in expected {
            assert!(
                finished.stdout.contains(text),
                "oxeron {} --help has no {text:?}:\n{}",
                words.join(" "),
                finished.stdout
            );
        }
    }
}
