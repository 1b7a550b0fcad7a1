//! What the `oxeron` binary does with things that are not its own or not right: a damaged catalog, a
//! directory of someone's files, a driver or archive killed with SIGKILL, values out of range, a
//! recording that cannot connect and a replay that cannot be served. Each test is one of issue #14's
//! defects as a user meets it; every wait is bounded and every child is killed if a test fails.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{assert_no_panic, golden_archive_copy, run, spawn, wait_for_archive, Process};
use oxeron::client::cnc_file::CncFile;
use oxeron_testkit::temp_aeron_dir;

/// Waits until the `cnc.dat` in `dir` was written by `process` (its pid in the header).
fn wait_for_driver_of(process: &mut Process, dir: &Path, timeout: Duration) {
    let pid = i64::from(process.child.id());
    process.wait_for(
        &format!("the driver (pid {pid}) taking over {}", dir.display()),
        timeout,
        Duration::from_millis(10),
        || {
            CncFile::map(dir)
                .is_ok_and(|cnc| cnc.header().pid == pid)
                .then_some(())
        },
    );
}

fn sigkill(mut process: Process) {
    process.child.kill().unwrap();
    process.child.wait().unwrap();
}

#[test]
fn the_archive_refuses_a_truncated_catalog_and_changes_nothing() {
    let archive_dir = golden_archive_copy();
    let catalog = archive_dir.path().join("archive.catalog");
    let full = std::fs::read(&catalog).unwrap();
    std::fs::write(&catalog, &full[..100]).unwrap();
    let before: Vec<_> = std::fs::read_dir(archive_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let tmp = temp_aeron_dir();
    let aeron_dir = tmp.path().join("aeron");
    let finished = run(
        &[
            "archive",
            "--aeron-dir",
            aeron_dir.to_str().unwrap(),
            "--archive-dir",
            archive_dir.path().to_str().unwrap(),
            "--no-control-channel",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(finished.status.code(), Some(1), "{}", finished.describe());
    assert!(
        finished.stderr.contains("archive.catalog")
            && finished.stderr.contains("catalog entry at offset 32"),
        "{}",
        finished.describe()
    );
    assert_eq!(std::fs::read(&catalog).unwrap(), &full[..100]);
    let after: Vec<_> = std::fs::read_dir(archive_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|name| name != "archive-mark.dat")
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|name| name != "archive-mark.dat")
        .collect();
    assert_eq!(after, before, "the archive directory changed");
}

#[test]
fn the_driver_refuses_a_directory_of_someone_elses_files() {
    let precious = tempfile::tempdir().unwrap();
    let thesis = precious.path().join("thesis.txt");
    std::fs::write(&thesis, "important\n").unwrap();
    for extra in [&[][..], &["--delete-dir"][..]] {
        let mut args = vec!["driver", "--aeron-dir", precious.path().to_str().unwrap()];
        args.extend_from_slice(extra);
        let finished = run(&args, Duration::from_secs(30));
        assert_eq!(finished.status.code(), Some(1), "{}", finished.describe());
        assert!(
            finished.stderr.contains("is not an Aeron directory")
                && finished.stderr.contains("thesis.txt"),
            "{}",
            finished.describe()
        );
        assert_eq!(std::fs::read_to_string(&thesis).unwrap(), "important\n");
    }
}

#[test]
fn a_driver_killed_with_sigkill_is_replaced_at_once_and_a_live_one_is_not() {
    let tmp = temp_aeron_dir();
    let dir = tmp.path().join("aeron");
    let dir_arg = dir.to_str().unwrap();
    let mut first = spawn(&["driver", "--aeron-dir", dir_arg]);
    wait_for_driver_of(&mut first, &dir, Duration::from_secs(10));
    sigkill(first);
    // The dead driver's heartbeat is fresh; only its pid says it is gone. Aeron would wait out the
    // 10 s driver timeout here.
    let mut second = spawn(&["driver", "--aeron-dir", dir_arg]);
    wait_for_driver_of(&mut second, &dir, Duration::from_secs(5));
    let refused = run(&["driver", "--aeron-dir", dir_arg], Duration::from_secs(30));
    assert_eq!(refused.status.code(), Some(1), "{}", refused.describe());
    assert!(
        refused.stderr.contains("an active media driver is using"),
        "{}",
        refused.describe()
    );
    // Stopped cleanly, the driver leaves its directory as Aeron does; the next driver recreates it.
    second.signal("-TERM");
    let stopped = second.finish("the driver", Duration::from_secs(30));
    assert!(stopped.status.success(), "{}", stopped.describe());
    assert!(dir.join("cnc.dat").exists());
    let mut third = spawn(&["driver", "--aeron-dir", dir_arg]);
    wait_for_driver_of(&mut third, &dir, Duration::from_secs(5));
}

#[test]
fn an_archive_killed_with_sigkill_is_replaced_at_once() {
    let tmp = temp_aeron_dir();
    let aeron_dir = tmp.path().join("aeron");
    let archive_dir = tmp.path().join("archive");
    let args = [
        "archive",
        "--aeron-dir",
        aeron_dir.to_str().unwrap(),
        "--archive-dir",
        archive_dir.to_str().unwrap(),
        "--no-control-channel",
        "--ipc-term-length",
        "1m",
    ];
    let mut first = spawn(&args);
    drop(wait_for_archive(&aeron_dir, &mut first));
    sigkill(first);
    let started = Instant::now();
    let mut second = spawn(&args);
    drop(wait_for_archive(&aeron_dir, &mut second));
    let took = started.elapsed();
    // The mark file's activity timestamp and the driver's heartbeat are both fresh; 10 s would be
    // Aeron's liveness timeout.
    assert!(took < Duration::from_secs(8), "took over after {took:?}");
}

#[test]
fn values_out_of_range_are_refused_by_name() {
    for (args, flag) in [
        (
            &["publish", "--count", "1", "--message-length", "99999999999"][..],
            "'--message-length <MESSAGE_LENGTH>'",
        ),
        (
            &["publish", "--connect-timeout", "18446744073709551615s"][..],
            "'--connect-timeout <DURATION>'",
        ),
        (
            &["subscribe", "--timeout", "10"][..],
            "'--timeout <DURATION>'",
        ),
        (
            &["bench", "ipc", "--message-length", "99999999999"][..],
            "'--message-length <MESSAGE_LENGTH>'",
        ),
        (
            &["archive", "--file-sync-level", "7"][..],
            "'--file-sync-level <FILE_SYNC_LEVEL>'",
        ),
    ] {
        let finished = run(args, Duration::from_secs(30));
        assert_no_panic(&finished);
        assert_eq!(finished.status.code(), Some(2), "{}", finished.describe());
        assert!(
            finished.stderr.contains(flag),
            "{args:?}: {}",
            finished.describe()
        );
    }
    let tmp = temp_aeron_dir();
    let dir = tmp.path().join("aeron");
    let finished = run(
        &[
            "driver",
            "--aeron-dir",
            dir.to_str().unwrap(),
            "--ipc-term-length",
            "3",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(finished.status.code(), Some(1), "{}", finished.describe());
    assert!(
        finished.stderr.contains("--ipc-term-length 3: term length"),
        "{}",
        finished.describe()
    );
    assert!(!dir.exists(), "a refused driver made its directory");
}

#[test]
fn record_and_replay_fail_loudly_when_they_cannot_do_their_job() {
    let tmp = temp_aeron_dir();
    let aeron_dir = tmp.path().join("aeron");
    let archive_dir = tmp.path().join("archive");
    let aeron = aeron_dir.to_str().unwrap();
    let mut archive = spawn(&[
        "archive",
        "--aeron-dir",
        aeron,
        "--archive-dir",
        archive_dir.to_str().unwrap(),
        "--no-control-channel",
        "--ipc-term-length",
        "1m",
    ]);
    drop(wait_for_archive(&aeron_dir, &mut archive));

    let port = oxeron_testkit::free_udp_port();
    let udp = format!("aeron:udp?endpoint=127.0.0.1:{port}");
    let started = Instant::now();
    let spied = run(
        &[
            "record",
            "--aeron-dir",
            aeron,
            "--channel",
            &udp,
            "--stream",
            "7",
            "--publish",
            "10",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(spied.status.code(), Some(1), "{}", spied.describe());
    assert!(
        spied.stderr.contains("only spies") && spied.stderr.contains("ssc=true"),
        "{}",
        spied.describe()
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "record took {:?} to say why",
        started.elapsed()
    );

    let recorded = run(
        &[
            "record",
            "--aeron-dir",
            aeron,
            "--stream",
            "8",
            "--publish",
            "100",
            "--message-length",
            "64",
        ],
        Duration::from_secs(60),
    );
    assert!(recorded.status.success(), "{}", recorded.describe());
    let id = recorded
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("recording id "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a recording id")
        .to_string();
    let stop: i64 = recorded
        .stdout
        .lines()
        .find_map(|l| l.split("stopped at position ").nth(1))
        .and_then(|p| p.trim().parse().ok())
        .expect("a stop position");
    let replay = |extra: &[&str]| {
        let mut args = vec!["replay", "--aeron-dir", aeron, "--recording-id", &id];
        args.extend_from_slice(extra);
        run(&args, Duration::from_secs(60))
    };
    let whole = replay(&[]);
    assert!(whole.status.success(), "{}", whole.describe());
    let past = (stop + 4096).to_string();
    let beyond = replay(&["--position", &past]);
    assert_eq!(beyond.status.code(), Some(1), "{}", beyond.describe());
    assert!(
        beyond.stderr.contains("is outside recording"),
        "{}",
        beyond.describe()
    );
    let at_end = stop.to_string();
    let empty = replay(&["--position", &at_end]);
    assert_eq!(empty.status.code(), Some(1), "{}", empty.describe());
    assert!(
        empty.stderr.contains("nothing to replay"),
        "{}",
        empty.describe()
    );
    let too_long = (stop + 4096).to_string();
    let short = replay(&["--bytes", &too_long]);
    assert_eq!(short.status.code(), Some(1), "{}", short.describe());
    assert!(
        short.stderr.contains("runs past the end of recording"),
        "{}",
        short.describe()
    );
}

/// The `/dev/shm` directory of a running `oxeron bench`, once it maps a publication's log buffer from it
/// (it is then measuring).
fn bench_dir_of(pid: u32) -> Option<std::path::PathBuf> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    maps.lines().find_map(|line| {
        let path = line.split_whitespace().nth(5)?;
        if !path.ends_with(".logbuffer") {
            return None;
        }
        let start = path.find("oxeron-bench-")?;
        let end = path[start..].find('/').map_or(path.len(), |i| start + i);
        Some(std::path::PathBuf::from(&path[..end]))
    })
}

#[test]
fn an_interrupted_bench_removes_its_shared_memory() {
    let mut bench = spawn(&["bench", "ipc", "--count", "1000000000"]);
    let pid = bench.child.id();
    let dir = bench.wait_for(
        "the bench to map a publication's log buffer",
        Duration::from_secs(20),
        Duration::from_millis(10),
        || bench_dir_of(pid),
    );
    assert!(dir.is_dir(), "{}", dir.display());
    bench.signal("-INT");
    let finished = bench.finish("the interrupted bench", Duration::from_secs(10));
    assert_no_panic(&finished);
    assert_eq!(finished.status.code(), Some(130), "{}", finished.describe());
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn a_refused_channel_is_reported_once_with_the_drivers_reason() {
    let tmp = temp_aeron_dir();
    let dir = tmp.path().join("aeron");
    let dir_arg = dir.to_str().unwrap();
    let mut driver = spawn(&["driver", "--aeron-dir", dir_arg]);
    wait_for_driver_of(&mut driver, &dir, Duration::from_secs(10));
    // Before the fix, about every other run printed the driver's reason twice: once from the caller, and
    // once from the default error handler, for the previous run's error. A new client's broadcast receiver
    // starts at the latest record, as Agrona's does, and that was often the previous client's ON_ERROR.
    for _ in 0..6 {
        let refused = run(
            &[
                "publish",
                "--aeron-dir",
                dir_arg,
                "--channel",
                "aeron:udp?endpoint=localhost:40999|mtu=7",
                "--count",
                "1",
            ],
            Duration::from_secs(30),
        );
        assert_eq!(refused.status.code(), Some(1), "{}", refused.describe());
        assert_eq!(
            refused.stderr.matches("for mtu").count(),
            1,
            "{}",
            refused.describe()
        );
        assert!(
            refused.stderr.starts_with("oxeron: "),
            "{}",
            refused.describe()
        );
    }
}
