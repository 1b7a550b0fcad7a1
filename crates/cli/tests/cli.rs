//! The `oxeron` binary's archive-facing subcommands as separate processes: the demo, `catalog` on a real
//! (Java-written) archive directory and on corrupted copies of it, and an archiving media driver driven by
//! `record` and `replay`. Every wait is bounded and every child is killed if a test fails.

mod common;

use std::time::Duration;

use common::{assert_no_panic, golden_archive_copy, run, spawn, wait_for_archive};
use oxeron::client::{Aeron, Context};
use oxeron_testkit::{temp_aeron_dir, wait_until};

#[test]
fn demo_records_replays_and_matches_every_message() {
    let finished = run(&["demo", "--count", "20000"], Duration::from_secs(240));
    assert!(finished.status.success(), "{}", finished.describe());
    let text = &finished.stdout;
    for step in [
        "starting a recording of aeron:ipc stream 1001",
        "publishing 20000 messages of 256 B",
        "stopping the recording",
        "locating the recording",
        "replaying recording 0 on aeron:ipc stream 2001",
        "replayed 20000 messages, every one matched",
        "msgs/s",
        "MB/s",
        "demo passed",
    ] {
        assert!(text.contains(step), "missing {step:?} in\n{text}");
    }
}

#[test]
fn demo_rejects_too_short_messages() {
    let finished = run(&["demo", "--message-length", "4"], Duration::from_secs(60));
    assert_eq!(finished.status.code(), Some(2), "{}", finished.describe());
    assert!(
        finished
            .stderr
            .contains("'--message-length <MESSAGE_LENGTH>': 4 is not in 8..="),
        "{}",
        finished.describe()
    );
}

#[test]
fn catalog_verify_accepts_the_golden_java_archive() {
    let dir = golden_archive_copy();
    let path = dir.path().to_str().unwrap();
    let catalog = std::fs::read(dir.path().join("archive.catalog")).unwrap();
    // As ArchiveTool, only each recording's last segment file is walked unless --all asks for every one.
    let last_only = run(
        &["catalog", "verify", "--archive-dir", path, "--dry-run"],
        Duration::from_secs(60),
    );
    assert!(last_only.status.success(), "{}", last_only.describe());
    assert!(
        last_only
            .stdout
            .contains("recording 0: OK: 755 frames to position 927936"),
        "{}",
        last_only.stdout
    );
    let finished = run(
        &[
            "catalog",
            "verify",
            "--all",
            "--archive-dir",
            path,
            "--dry-run",
        ],
        Duration::from_secs(60),
    );
    assert!(finished.status.success(), "{}", finished.describe());
    assert!(finished.stdout.contains(
        "verified 3 recordings (0 skipped, not VALID): 3 OK, 0 failed, 0 catalog problem(s)"
    ));
    assert!(finished
        .stdout
        .contains("recording 0: OK: 5033 frames to position 927936"));
    // Recording 2 was active when the Java archive was killed: verify gives it the stop position its
    // frames reach, as ArchiveTool does, once it is not a dry run.
    assert!(
        finished.stdout.contains(
            "changes:\n(recordingId=2) stop position -1 -> 15968, stop timestamp now\ndry run: nothing changed"
        ),
        "{}",
        finished.stdout
    );
    assert_eq!(
        std::fs::read(dir.path().join("archive.catalog")).unwrap(),
        catalog
    );
    let finished = run(
        &["catalog", "list", "--archive-dir", path],
        Duration::from_secs(60),
    );
    assert!(finished.status.success(), "{}", finished.describe());
    assert_eq!(finished.stdout.lines().count(), 3, "{}", finished.stdout);
    let finished = run(
        &[
            "catalog",
            "describe",
            "--archive-dir",
            path,
            "--recording-id",
            "2",
        ],
        Duration::from_secs(60),
    );
    assert!(finished.status.success(), "{}", finished.describe());
    assert!(finished.stdout.contains("stopPosition = -1"));
    assert!(finished.stdout.contains("sessionId = -2050728755"));
    let finished = run(
        &["catalog", "verify", "--archive-dir", path],
        Duration::from_secs(60),
    );
    assert!(finished.status.success(), "{}", finished.describe());
    let finished = run(
        &[
            "catalog",
            "describe",
            "--archive-dir",
            path,
            "--recording-id",
            "2",
        ],
        Duration::from_secs(60),
    );
    assert!(
        finished.stdout.contains("stopPosition = 15968"),
        "{}",
        finished.stdout
    );
    let finished = run(
        &["catalog", "dump", "--archive-dir", path],
        Duration::from_secs(60),
    );
    assert!(finished.status.success(), "{}", finished.describe());
    assert!(finished.stdout.contains("nextRecordingId = 3"));
    assert!(finished
        .stdout
        .contains("localControlChannel = aeron:ipc?term-length=64k"));
}

#[test]
fn catalog_verify_reports_a_corrupted_catalog_without_crashing() {
    use std::os::unix::fs::FileExt;
    let corruptions: [(&str, u64, &[u8]); 3] = [
        // Garbage over recording 0's descriptor body.
        ("archive.catalog", 64, &[0xDE, 0xAD, 0xBE, 0xEF].repeat(40)),
        // A negative length in recording 1's descriptor header.
        ("archive.catalog", 224, &[0xFF; 8]),
        // A broken frame header in recording 1's segment file.
        ("1-0.rec", 0, &[0x07; 64]),
    ];
    for (file, offset, garbage) in corruptions {
        let dir = golden_archive_copy();
        std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join(file))
            .unwrap()
            .write_all_at(garbage, offset)
            .unwrap();
        let finished = run(
            &[
                "catalog",
                "verify",
                "--archive-dir",
                dir.path().to_str().unwrap(),
            ],
            Duration::from_secs(60),
        );
        assert_no_panic(&finished);
        assert_eq!(finished.status.code(), Some(1), "{}", finished.describe());
        assert!(
            finished.stderr.contains("oxeron: verify found"),
            "{}",
            finished.describe()
        );
        assert!(
            finished.stdout.contains("FAILED") || finished.stdout.contains("catalog: entry at"),
            "{}",
            finished.describe()
        );
    }
    let dir = golden_archive_copy();
    std::fs::write(dir.path().join("archive.catalog"), [0xAB; 20]).unwrap();
    for command in ["verify", "list", "describe", "dump"] {
        let finished = run(
            &[
                "catalog",
                command,
                "--archive-dir",
                dir.path().to_str().unwrap(),
            ],
            Duration::from_secs(60),
        );
        assert_no_panic(&finished);
        assert_eq!(finished.status.code(), Some(1), "{}", finished.describe());
        assert!(
            finished.stderr.contains("corrupt catalog header"),
            "{}",
            finished.describe()
        );
    }
}

#[test]
fn catalog_capacity_and_migrate_on_a_java_archive_directory() {
    let dir = golden_archive_copy();
    let path = dir.path().to_str().unwrap();
    let catalog = dir.path().join("archive.catalog");
    let length = std::fs::metadata(&catalog).unwrap().len();
    let capacity = run(
        &["catalog", "capacity", "--archive-dir", path],
        Duration::from_secs(60),
    );
    assert!(capacity.status.success(), "{}", capacity.describe());
    assert_eq!(capacity.stdout.trim(), length.to_string());

    let bigger = (length * 2).to_string();
    let dry = run(
        &[
            "catalog",
            "capacity",
            "--archive-dir",
            path,
            "--set",
            &bigger,
            "--dry-run",
        ],
        Duration::from_secs(60),
    );
    assert!(dry.status.success(), "{}", dry.describe());
    assert!(
        dry.stdout.contains(&format!(
            "grow archive.catalog from {length} to {bigger} bytes"
        )),
        "{}",
        dry.describe()
    );
    assert_eq!(std::fs::metadata(&catalog).unwrap().len(), length);
    let grown = run(
        &[
            "catalog",
            "capacity",
            "--archive-dir",
            path,
            "--set",
            &bigger,
        ],
        Duration::from_secs(60),
    );
    assert!(grown.status.success(), "{}", grown.describe());
    assert_eq!(std::fs::metadata(&catalog).unwrap().len(), length * 2);
    let refused = run(
        &["catalog", "capacity", "--archive-dir", path, "--set", "10"],
        Duration::from_secs(60),
    );
    assert_eq!(refused.status.code(), Some(1), "{}", refused.describe());
    assert!(
        refused
            .stderr
            .contains("catalog capacity 10 is out of range"),
        "{}",
        refused.describe()
    );

    let migrate = run(
        &["catalog", "migrate", "--archive-dir", path],
        Duration::from_secs(60),
    );
    assert!(migrate.status.success(), "{}", migrate.describe());
    assert!(
        migrate
            .stdout
            .contains("Catalog version=196864(Major 3 Minor 1 Patch 0)"),
        "{}",
        migrate.describe()
    );
    assert!(
        migrate.stdout.contains("nothing to migrate"),
        "{}",
        migrate.describe()
    );
}

/// Message `n` as `oxeron publish` and `record --publish` send it.
fn sample(sequence: u64, length: usize) -> Vec<u8> {
    let mut m = vec![0u8; length];
    oxeron_cli::sample::fill(&mut m, sequence);
    m
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn archive_record_and_replay_processes() {
    let tmp = temp_aeron_dir();
    let aeron_dir = tmp.path().join("aeron");
    let archive_tmp = tempfile::tempdir().unwrap();
    let archive_dir = archive_tmp.path().join("archive");
    let aeron = aeron_dir.to_str().unwrap();
    let archive_path = archive_dir.to_str().unwrap();
    let mut archive = spawn(&[
        "archive",
        "--no-control-channel",
        "--aeron-dir",
        aeron,
        "--archive-dir",
        archive_path,
        "--segment-length",
        "256k",
        "--ipc-term-length",
        "64k",
        "--file-sync-level",
        "0",
    ]);
    let mut client = wait_for_archive(&aeron_dir, &mut archive);

    // A recording that publishes its own messages and stops once they are recorded.
    let recorded = run(
        &[
            "record",
            "--aeron-dir",
            aeron,
            "--stream",
            "1001",
            "--publish",
            "3000",
            "--message-length",
            "100",
        ],
        Duration::from_secs(120),
    );
    assert!(recorded.status.success(), "{}", recorded.describe());
    assert!(
        recorded
            .stdout
            .contains("recording id 0 started at position 0"),
        "{}",
        recorded.describe()
    );
    // 3000 frames of 132 bytes, each aligned to 160, plus the padding at the end of each 64 KiB term.
    let stop_line = recorded
        .stdout
        .lines()
        .find(|l| l.starts_with("recording id 0 stopped at position "))
        .unwrap_or_else(|| panic!("{}", recorded.describe()));
    let stop: i64 = stop_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(stop >= 3000 * 160, "{stop_line}");

    // A recording stopped by SIGINT while `oxeron publish` feeds it.
    let recorder = spawn(&["record", "--aeron-dir", aeron, "--stream", "1002"]);
    let published = run(
        &[
            "publish",
            "--aeron-dir",
            aeron,
            "--stream",
            "1002",
            "--count",
            "500",
            "--message-length",
            "40",
        ],
        Duration::from_secs(120),
    );
    assert!(published.status.success(), "{}", published.describe());
    // 500 frames of 72 bytes, aligned to 96.
    wait_until(
        "recording 1 to reach the published position",
        Duration::from_secs(30),
        || client.get_max_recorded_position(1).unwrap_or(-1) == 48_000,
    );
    recorder.signal("-INT");
    let finished = recorder.finish("record stopped by SIGINT", Duration::from_secs(30));
    assert!(finished.status.success(), "{}", finished.describe());
    assert!(
        finished
            .stdout
            .contains("recording id 1 stopped at position 48000"),
        "{}",
        finished.describe()
    );

    // Replay recording 0 as hex lines and check every message and position.
    let replayed = run(
        &[
            "replay",
            "--aeron-dir",
            aeron,
            "--recording-id",
            "0",
            "--format",
            "hex",
        ],
        Duration::from_secs(120),
    );
    assert!(replayed.status.success(), "{}", replayed.describe());
    let lines: Vec<&str> = replayed.stdout.lines().collect();
    assert_eq!(lines.len(), 3000, "{}", replayed.stderr);
    let mut last = 0;
    for (i, line) in lines.iter().enumerate() {
        let mut parts = line.split(' ');
        let position: i64 = parts.next().unwrap().parse().unwrap();
        assert_eq!(parts.next(), Some("100"), "line {i}: {line}");
        assert_eq!(
            parts.next(),
            Some(hex(&sample(i as u64, 100)).as_str()),
            "message {i}"
        );
        assert!(position > last, "positions increase");
        last = position;
    }
    assert_eq!(last, stop);

    // A bounded replay from the middle, raw.
    let raw = run(
        &[
            "replay",
            "--aeron-dir",
            aeron,
            "--recording-id",
            "0",
            "--position",
            "1600",
            "--bytes",
            "320",
            "--format",
            "raw",
        ],
        Duration::from_secs(60),
    );
    assert!(raw.status.success(), "{}", raw.describe());
    let expected = [sample(10, 100), sample(11, 100)].concat();
    assert_eq!(raw.stdout_bytes, expected);

    let missing = run(
        &["replay", "--aeron-dir", aeron, "--recording-id", "42"],
        Duration::from_secs(60),
    );
    assert_eq!(missing.status.code(), Some(1), "{}", missing.describe());
    assert!(missing.stderr.contains("no recording 42"));

    let dumped = run(
        &["catalog", "dump", "--archive-dir", archive_path],
        Duration::from_secs(60),
    );
    assert!(dumped.status.success(), "{}", dumped.describe());
    assert!(dumped.stdout.contains("archive alive"), "{}", dumped.stdout);
    assert!(
        dumped.stdout.contains("nextRecordingId = 2"),
        "{}",
        dumped.stdout
    );

    // Stop the archiving media driver cleanly, then verify what it wrote.
    client.close();
    archive.signal("-TERM");
    let stopped = archive.finish("archive stopped by SIGTERM", Duration::from_secs(30));
    assert!(stopped.status.success(), "{}", stopped.describe());
    assert!(stopped.stdout.contains("oxeron archive stopped"));
    assert!(stopped.stdout.contains("oxeron media driver stopped"));
    let verified = run(
        &["catalog", "verify", "--archive-dir", archive_path],
        Duration::from_secs(60),
    );
    assert!(verified.status.success(), "{}", verified.describe());
    assert!(verified
        .stdout
        .contains("verified 2 recordings (0 skipped, not VALID): 2 OK"));
}

#[test]
fn a_standalone_archive_beside_a_driver_process() {
    let tmp = temp_aeron_dir();
    let aeron_dir = tmp.path().join("aeron");
    let archive_tmp = tempfile::tempdir().unwrap();
    let archive_dir = archive_tmp.path().join("archive");
    let aeron = aeron_dir.to_str().unwrap();
    let archive_path = archive_dir.to_str().unwrap();
    let mut driver = spawn(&["driver", "--aeron-dir", aeron, "--ipc-term-length", "64k"]);
    wait_until("the driver's cnc.dat", Duration::from_secs(30), || {
        if let Some(status) = driver.child.try_wait().unwrap() {
            panic!("oxeron driver exited with {status}");
        }
        Aeron::connect(
            Context::new()
                .aeron_dir(&aeron_dir)
                .driver_timeout(Duration::from_secs(2)),
        )
        .is_ok()
    });
    let loss = run(&["loss", "--aeron-dir", aeron], Duration::from_secs(30));
    assert!(loss.status.success(), "{}", loss.describe());
    assert!(
        loss.stdout
            .starts_with("#OBSERVATION_COUNT,TOTAL_BYTES_LOST"),
        "{}",
        loss.describe()
    );
    let mut archive = spawn(&[
        "archive",
        "--standalone",
        "--no-control-channel",
        "--aeron-dir",
        aeron,
        "--archive-dir",
        archive_path,
        "--segment-length",
        "128k",
    ]);
    wait_for_archive(&aeron_dir, &mut archive).close();

    let idle = run(
        &[
            "record",
            "--aeron-dir",
            aeron,
            "--stream",
            "3",
            "--duration",
            "300ms",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(idle.status.code(), Some(1), "{}", idle.describe());
    assert!(
        idle.stderr
            .contains("no stream was recorded: nothing published on aeron:ipc stream 3"),
        "{}",
        idle.describe()
    );

    let recorded = run(
        &[
            "record",
            "--aeron-dir",
            aeron,
            "--stream",
            "4",
            "--publish",
            "200",
            "--message-length",
            "24",
        ],
        Duration::from_secs(120),
    );
    assert!(recorded.status.success(), "{}", recorded.describe());
    // 200 frames of 56 bytes, each aligned to 64.
    assert!(
        recorded
            .stdout
            .contains("recording id 0 stopped at position 12800"),
        "{}",
        recorded.describe()
    );
    let replayed = run(
        &[
            "replay",
            "--aeron-dir",
            aeron,
            "--recording-id",
            "0",
            "--format",
            "raw",
        ],
        Duration::from_secs(60),
    );
    assert!(replayed.status.success(), "{}", replayed.describe());
    let expected: Vec<u8> = (0..200).flat_map(|i| sample(i, 24)).collect();
    assert_eq!(replayed.stdout_bytes, expected);
    assert!(replayed
        .stderr
        .contains("replayed 200 messages (4800 bytes) of recording 0"));

    archive.signal("-INT");
    let stopped = archive.finish("standalone archive", Duration::from_secs(30));
    assert!(stopped.status.success(), "{}", stopped.describe());
    assert!(
        !stopped.stdout.contains("media driver"),
        "{}",
        stopped.stdout
    );
    driver.signal("-TERM");
    let stopped = driver.finish("driver", Duration::from_secs(30));
    assert!(stopped.status.success(), "{}", stopped.describe());
    let listed = run(
        &["catalog", "list", "--archive-dir", archive_path],
        Duration::from_secs(30),
    );
    assert!(listed.status.success(), "{}", listed.describe());
    assert!(listed
        .stdout
        .contains("recordingId=0 state=VALID startPosition=0 stopPosition=12800 streamId=4"));
}

#[test]
fn bench_ipc_and_archive_print_their_figures() {
    let ipc = run(
        &["bench", "ipc", "--count", "100000", "--round-trips", "1000"],
        Duration::from_secs(120),
    );
    assert!(ipc.status.success(), "{}", ipc.describe());
    assert!(
        ipc.stdout.contains("exclusive") && ipc.stdout.contains("M msg/s"),
        "{}",
        ipc.describe()
    );
    assert!(ipc.stdout.contains("p99.9"), "{}", ipc.describe());
    let udp = run(
        &["bench", "udp", "--count", "20000", "--round-trips", "200"],
        Duration::from_secs(120),
    );
    assert!(udp.status.success(), "{}", udp.describe());
    assert!(
        udp.stdout.contains("UDP loopback throughput"),
        "{}",
        udp.describe()
    );
    let dir = tempfile::tempdir().unwrap();
    // Keeps the page cache: the tests running beside this one need it.
    std::env::set_var("OXERON_BENCH_KEEP_CACHE", "1");
    let archive = run(
        &[
            "bench",
            "archive",
            "--megabytes",
            "8",
            "--rounds",
            "2",
            "--archive-threading",
            "both",
            "--archive-dir",
            dir.path().to_str().unwrap(),
        ],
        Duration::from_secs(120),
    );
    assert!(archive.status.success(), "{}", archive.describe());
    for mode in ["archive (DEDICATED)", "archive (SHARED)"] {
        assert!(archive.stdout.contains(mode), "{}", archive.describe());
    }
    assert!(
        archive.stdout.contains("% of raw write"),
        "{}",
        archive.describe()
    );
    assert!(
        archive.stdout.contains("% of raw read"),
        "{}",
        archive.describe()
    );
}
