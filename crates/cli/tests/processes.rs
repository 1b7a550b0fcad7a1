//! The `oxeron` binary as separate processes: a standalone driver, a publisher and a subscriber, and what
//! happens when a client or the driver is killed.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oxeron::client::{Aeron, AeronError, Context};
use oxeron::concurrent::counters::type_id::{system_counter_id, DRIVER_HEARTBEAT_TYPE_ID};
use oxeron::concurrent::counters::RECORD_RECLAIMED;
use oxeron_testkit::{temp_aeron_dir, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_oxeron");

/// A child process killed (and reaped) when dropped, so a failing test leaves nothing running.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Process {
    fn wait_success(mut self, what: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                assert!(status.success(), "{what} exited with {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what} still running after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn sigkill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

fn spawn(args: &[&str]) -> Process {
    Process(
        Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn oxeron"),
    )
}

fn start_driver(dir: &Path, extra: &[&str]) -> Process {
    let dir_arg = dir.to_str().unwrap();
    let mut args = vec!["driver", "--aeron-dir", dir_arg, "--ipc-term-length", "1m"];
    args.extend_from_slice(extra);
    let driver = spawn(&args);
    wait_until("the driver's cnc.dat", Duration::from_secs(10), || {
        Aeron::connect(
            Context::new()
                .aeron_dir(dir)
                .driver_timeout(Duration::from_millis(200)),
        )
        .is_ok()
    });
    driver
}

#[test]
fn driver_publisher_and_subscriber_processes_exchange_a_million_messages() {
    let tmp = temp_aeron_dir();
    let dir = tmp.path().join("aeron");
    let _driver = start_driver(&dir, &[]);
    let count = if cfg!(debug_assertions) {
        "200000"
    } else {
        "1000000"
    };
    let dir_arg = dir.to_str().unwrap();
    let subscriber = spawn(&[
        "subscribe",
        "--aeron-dir",
        dir_arg,
        "--count",
        count,
        "--timeout",
        "120s",
    ]);
    let publisher = spawn(&["publish", "--aeron-dir", dir_arg, "--count", count]);
    publisher.wait_success("publisher", Duration::from_secs(150));
    subscriber.wait_success("subscriber", Duration::from_secs(150));
}

#[test]
fn a_killed_client_is_timed_out_and_its_resources_reclaimed() {
    let tmp = temp_aeron_dir();
    let dir = tmp.path().join("aeron");
    let _driver = start_driver(&dir, &["--client-liveness-timeout", "2s"]);
    let observer = Aeron::connect(Context::new().aeron_dir(&dir)).unwrap();
    let mut subscription = observer.add_subscription("aeron:ipc", 77).unwrap();
    let dir_arg = dir.to_str().unwrap();
    let mut publisher = spawn(&[
        "publish",
        "--aeron-dir",
        dir_arg,
        "--stream",
        "77",
        "--count",
        "1000000000",
    ]);
    wait_until("the publisher's image", Duration::from_secs(10), || {
        subscription.image_count() == 1
    });
    let reader = observer.counters_reader();
    let mut heartbeats = Vec::new();
    reader.for_each(|id, type_id, _, _| {
        if type_id == DRIVER_HEARTBEAT_TYPE_ID {
            heartbeats.push(id);
        }
    });
    assert_eq!(heartbeats.len(), 2, "observer and publisher heartbeats");
    let timeouts_before = reader
        .counter_value(system_counter_id::CLIENT_TIMEOUTS)
        .unwrap();
    publisher.sigkill();
    wait_until(
        "the client timeout counter",
        Duration::from_secs(10),
        || {
            reader
                .counter_value(system_counter_id::CLIENT_TIMEOUTS)
                .unwrap()
                == timeouts_before + 1
        },
    );
    let reclaimed: Vec<i32> = heartbeats
        .iter()
        .copied()
        .filter(|&id| reader.counter_state(id).unwrap() == RECORD_RECLAIMED)
        .collect();
    assert_eq!(
        reclaimed.len(),
        1,
        "the killed client's heartbeat counter is freed"
    );
    wait_until(
        "the killed publisher's image to go",
        Duration::from_secs(20),
        || {
            subscription.poll(|_: &[u8], _: &_| {}, 1000);
            subscription.image_count() == 0
        },
    );
    assert!(!observer.is_closed(), "the live client is unaffected");
}

#[test]
fn a_killed_driver_fails_a_blocked_call_with_a_driver_timeout() {
    let tmp = temp_aeron_dir();
    let dir = tmp.path().join("aeron");
    let mut driver = start_driver(&dir, &[]);
    let aeron = Aeron::connect(
        Context::new()
            .aeron_dir(&dir)
            .driver_timeout(Duration::from_millis(1000))
            .keepalive_interval(Duration::from_millis(100))
            .error_handler(|_| {}),
    )
    .unwrap();
    aeron.add_publication("aeron:ipc", 5).unwrap();
    driver.sigkill();
    let started = Instant::now();
    let err = aeron.add_subscription("aeron:ipc", 5).unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(err, AeronError::DriverTimeout(_) | AeronError::TimedOut(_)),
        "unexpected error: {err}"
    );
    assert!(
        waited < Duration::from_millis(2500),
        "returned after {waited:?}"
    );
    wait_until(
        "the client to see the driver gone",
        Duration::from_secs(5),
        || aeron.is_closed(),
    );
    let err = aeron.add_subscription("aeron:ipc", 5).unwrap_err();
    assert!(matches!(err, AeronError::DriverTimeout(_)), "{err}");
}

#[test]
fn stat_lists_the_drivers_counters() {
    let tmp = temp_aeron_dir();
    let dir = tmp.path().join("aeron");
    let _driver = start_driver(&dir, &[]);
    let output = Command::new(BIN)
        .args(["stat", "--aeron-dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("  43:"), "{text}");
    assert!(text.contains("Control protocol version"), "{text}");
    let output = Command::new(BIN)
        .args([
            "stat",
            "--aeron-dir",
            dir.to_str().unwrap(),
            "--format",
            "json",
            "--type",
            "^0$",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let json = String::from_utf8(output.stdout).unwrap();
    assert!(json.starts_with("[{\"id\":0,\"type_id\":0,"), "{json}");
    assert_eq!(
        json.matches("\"type_id\":0,").count(),
        46,
        "46 system counters"
    );
}

#[test]
fn stat_reads_aeron_c_cnc_files() {
    let golden = oxeron_testkit::golden_dir().join("aeron-c-1.54/cnc-live.dat");
    let output = Command::new(BIN)
        .args(["stat", "--aeron-dir", golden.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let expected =
        std::fs::read_to_string(oxeron_testkit::golden_dir().join("aeron-c-1.54/aeronstat.txt"))
            .unwrap();
    let is_row = |l: &&str| {
        l.split_once(':')
            .is_some_and(|(id, _)| id.trim().parse::<i32>().is_ok())
    };
    for line in expected.lines().filter(is_row) {
        assert!(
            text.contains(line),
            "missing AeronStat row {line:?} in\n{text}"
        );
    }
}

#[test]
fn demo_exits_zero_after_every_message_matched() {
    let output = Command::new(BIN)
        .args(["demo", "--count", "20000", "--message-length", "100"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("every one matched"), "{text}");
    assert!(text.contains("demo passed"), "{text}");
}
