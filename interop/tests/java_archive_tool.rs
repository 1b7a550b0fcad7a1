//! Checksums and Aeron's `ArchiveTool` across Java and Oxeron: recordings an Oxeron archive checksums pass
//! Java's `ArchiveTool verify -checksum`, and a corrupt frame fails both verifiers; recordings the Java
//! archive checksums pass `oxeron catalog verify --checksum` and replay through an Oxeron archive that checks
//! them; checksums `ArchiveTool checksum` writes into an Oxeron recording are the ones Oxeron checks; and
//! `oxeron catalog`'s changing commands leave a directory byte for byte as `ArchiveTool`'s do.
//!
//! Ports 25600-25649 (test block 12). Skips, saying so, without Java.

mod java_archive_support;

use std::os::unix::fs::FileExt;
use std::path::Path;

use java_archive_support::*;
use oxeron::archive::client::{AeronArchive, ReplayParams, REPLAY_ALL_AND_STOP};
use oxeron::archive::server::Archive;
use oxeron::archive::{Checksum, RecordingSignal, SourceLocation};
use oxeron::protocol::archive::RecordingState;
use oxeron_cli::catalog_edit;
use oxeron_cli::catalog_tool::{self, CatalogSnapshot};
use oxeron_cli::catalog_verify;
use oxeron_interop::java::JavaPeer;

const CRC32: &str = "io.aeron.archive.checksum.Crc32";
const COUNT: u64 = 3_000;

/// Records `COUNT` messages of `SHORT` bytes on IPC through `archive`; (recording id, stop position).
fn record_ipc(node: &OxeronDriver, archive: &mut AeronArchive, stream: i32) -> (i64, i64) {
    let sub = archive
        .start_recording("aeron:ipc", stream, SourceLocation::Local, false)
        .unwrap();
    let mut publication = node
        .aeron
        .add_exclusive_publication(&format!("aeron:ipc?term-length={TERM}"), stream)
        .unwrap();
    wait_for("the recording to connect", || publication.is_connected());
    let rec = await_signal(archive, None, RecordingSignal::Start).recording_id;
    let end = publish(|m| publication.offer(m), 0, COUNT, SHORT);
    wait_for("the recording", || {
        archive.get_recording_position(rec).unwrap() >= end
    });
    archive.stop_recording_subscription(sub).unwrap();
    await_signal(archive, Some(rec), RecordingSignal::Stop);
    (rec, end)
}

/// Replays recording `rec` of `archive_dir` whole on IPC, through an Oxeron archive that checks CRC-32
/// checksums, and checks every message.
fn replay_checks_every_message(node: &OxeronDriver, archive_dir: &Path, rec: i64, end: i64) {
    let archive = Archive::launch(
        node.archive_context(archive_dir, None)
            .replay_checksum(Checksum::Crc32),
    )
    .unwrap();
    let mut client = node.client("aeron:ipc", "aeron:ipc");
    let (_, mut replay) = client
        .replay(
            rec,
            "aeron:ipc",
            2001,
            ReplayParams::new(0, REPLAY_ALL_AND_STOP),
        )
        .unwrap();
    let what = format!("checked replay of {rec}");
    let reached = receive(&mut replay, &mut Expect::new(&what, 0, COUNT, SHORT, 0));
    assert_eq!(reached, end);
    wait_end(&mut replay, &what);
    assert!(client.poll_for_errors().is_none());
    drop(client);
    archive.close();
}

fn oxeron_verify(dir: &Path, checksum: Option<Checksum>) -> catalog_tool::VerifyReport {
    let snapshot = CatalogSnapshot::read(dir).expect("catalog");
    catalog_tool::verify_with(&snapshot, checksum, |_, _| {})
}

#[test]
fn oxeron_checksummed_recordings_pass_java_verify_and_a_corrupt_frame_fails_both() {
    let Some(java) = JavaPeer::find(
        "oxeron_checksummed_recordings_pass_java_verify_and_a_corrupt_frame_fails_both",
    ) else {
        return;
    };
    let archive_dir = tempfile::tempdir().unwrap();
    let node = OxeronDriver::launch();
    let archive = Archive::launch(
        node.archive_context(archive_dir.path(), None)
            .record_checksum(Checksum::Crc32),
    )
    .unwrap();
    let mut client = node.client("aeron:ipc", "aeron:ipc");
    let (rec, _) = record_ipc(&node, &mut client, 1001);
    drop(client);
    archive.close();

    let (status, out) = archive_tool(
        &java,
        archive_dir.path(),
        &["verify", "-a", "-checksum", CRC32],
    );
    assert!(status.success(), "ArchiveTool verify -checksum:\n{out}");
    assert!(out.contains(&format!("(recordingId={rec}) OK")), "{out}");
    assert!(oxeron_verify(archive_dir.path(), Some(Checksum::Crc32)).is_ok());

    // One flipped payload byte, in the second segment file: both verifiers name it.
    let corrupt_at = SEGMENT + 10 * frame(SHORT);
    let segment = archive_dir.path().join(format!("{rec}-{SEGMENT}.rec"));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.write_all_at(&[0x5A], (corrupt_at - SEGMENT) as u64 + 40)
        .unwrap();
    drop(file);
    let report = oxeron_verify(archive_dir.path(), Some(Checksum::Crc32));
    let rendered = report.render();
    assert!(!report.is_ok(), "{rendered}");
    assert!(
        rendered.contains(&format!("CRC checksum mismatch at position={corrupt_at}")),
        "{rendered}"
    );
    assert!(
        oxeron_verify(archive_dir.path(), None).is_ok(),
        "without a checksum the frames still walk"
    );
    let (status, out) = archive_tool(
        &java,
        archive_dir.path(),
        &["verify", "-a", "-checksum", CRC32],
    );
    assert!(
        !status.success(),
        "ArchiveTool verify passed a corrupt frame:\n{out}"
    );
    assert!(out.contains("ERR"), "{out}");
    println!("ArchiveTool on the corrupt frame:\n{out}");
}

#[test]
fn java_checksummed_recordings_pass_oxeron_verify_and_replay_checked() {
    let Some(java) =
        JavaPeer::find("java_checksummed_recordings_pass_oxeron_verify_and_replay_checked")
    else {
        return;
    };
    let archive_dir = tempfile::tempdir().unwrap();
    let ja = JavaArchive::launch(
        &java,
        archive_dir.path(),
        port(12, 0),
        &[format!("-Daeron.archive.record.checksum={CRC32}")],
    );
    let node = OxeronDriver::launch();
    let mut ox = node.client(&ja.control, &udp(port(12, 5)));
    let endpoint = udp(port(12, 6));
    let sub = ox
        .start_recording(&endpoint, 1001, SourceLocation::Remote, false)
        .unwrap();
    let mut publication = node
        .aeron
        .add_exclusive_publication(&format!("{endpoint}|term-length={TERM}"), 1001)
        .unwrap();
    wait_for("the recording to connect", || publication.is_connected());
    let rec = await_signal(&mut ox, None, RecordingSignal::Start).recording_id;
    let end = publish(|m| publication.offer(m), 0, COUNT, SHORT);
    wait_for("the recording", || {
        ox.get_recording_position(rec).unwrap() >= end
    });
    ox.stop_recording_subscription(sub).unwrap();
    await_signal(&mut ox, Some(rec), RecordingSignal::Stop);
    drop(publication);
    drop(ox);
    ja.stop();

    let report = oxeron_verify(archive_dir.path(), Some(Checksum::Crc32));
    assert!(report.is_ok(), "{}", report.render());
    let report = oxeron_verify(archive_dir.path(), Some(Checksum::Crc32c));
    assert!(!report.is_ok(), "a CRC-32C check of CRC-32 checksums fails");

    replay_checks_every_message(&node, archive_dir.path(), rec, end);
}

#[test]
fn checksums_java_archive_tool_writes_are_the_ones_oxeron_checks() {
    let Some(java) =
        JavaPeer::find("checksums_java_archive_tool_writes_are_the_ones_oxeron_checks")
    else {
        return;
    };
    let archive_dir = tempfile::tempdir().unwrap();
    let node = OxeronDriver::launch();
    let archive = Archive::launch(node.archive_context(archive_dir.path(), None)).unwrap();
    let mut client = node.client("aeron:ipc", "aeron:ipc");
    let (rec, end) = record_ipc(&node, &mut client, 1001);
    drop(client);
    archive.close();
    assert!(
        !oxeron_verify(archive_dir.path(), Some(Checksum::Crc32)).is_ok(),
        "frames recorded without a checksum carry session ids, not checksums"
    );

    let (status, out) = archive_tool(&java, archive_dir.path(), &["checksum", CRC32, "-a"]);
    assert!(status.success(), "ArchiveTool checksum:\n{out}");
    let report = oxeron_verify(archive_dir.path(), Some(Checksum::Crc32));
    assert!(report.is_ok(), "{}", report.render());

    replay_checks_every_message(&node, archive_dir.path(), rec, end);
}

/// Two copies of the golden Java archive directory (its recordings 0 and 1 stopped, 2 active after a
/// SIGKILL), with `damage` applied to both: one for Java's `ArchiveTool`, one for `oxeron catalog`.
fn twin_directories(damage: impl Fn(&Path)) -> (tempfile::TempDir, tempfile::TempDir) {
    let source = oxeron_testkit::golden_dir().join("aeron-java-archive-1.54");
    let twins = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [twins.0.path(), twins.1.path()] {
        for entry in std::fs::read_dir(&source).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            if name.ends_with(".rec") || name.ends_with(".catalog") || name.ends_with(".dat") {
                std::fs::copy(&path, dir.join(&name)).unwrap();
            }
        }
        damage(dir);
    }
    twins
}

/// `ArchiveTool <dir> <args>`, answering yes to its prompt; (success, stdout).
fn archive_tool_yes(java: &JavaPeer, dir: &Path, args: &[&str]) -> (bool, String) {
    let mut all = vec![dir.display().to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    let mut process = java
        .spawn_interactive(&[], "io.aeron.archive.ArchiveTool", &all)
        .expect("start ArchiveTool");
    let _ = process.send_line("y");
    let mut out = String::new();
    while let Ok(line) = process.next_line(WAIT) {
        out.push_str(&line);
        out.push('\n');
    }
    let status = process.wait(WAIT);
    if !status.success() {
        println!(
            "ArchiveTool {args:?} exited {status}:\n{out}\n{}",
            process.stderr()
        );
    }
    (status.success(), out)
}

/// The directory's files and their bytes, by name.
fn contents(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

/// The same command through Java's `ArchiveTool` and through Oxeron's plan, on twin directories; then the
/// two directories must hold the same files with the same bytes.
fn same_result(
    java: &JavaPeer,
    what: &str,
    damage: impl Fn(&Path),
    java_args: &[&str],
    oxeron: impl Fn(&CatalogSnapshot) -> catalog_edit::EditPlan,
) {
    let (java_dir, oxeron_dir) = twin_directories(damage);
    let (ok, out) = archive_tool_yes(java, java_dir.path(), java_args);
    assert!(ok, "{what}: ArchiveTool {java_args:?} failed:\n{out}");
    let plan = oxeron(&CatalogSnapshot::read(oxeron_dir.path()).unwrap());
    print!("{what}: Oxeron's plan:\n{}", plan.render());
    plan.apply().unwrap();
    let (j, o) = (contents(java_dir.path()), contents(oxeron_dir.path()));
    assert_eq!(
        j.keys().collect::<Vec<_>>(),
        o.keys().collect::<Vec<_>>(),
        "{what}: the files left differ"
    );
    for (name, bytes) in &j {
        assert!(&o[name] == bytes, "{what}: {name} differs from Java's");
    }
}

fn mark_invalid(dir: &Path, id: i64) {
    let snapshot = CatalogSnapshot::read(dir).unwrap();
    catalog_edit::plan_mark(&snapshot, id, RecordingState::Invalid)
        .unwrap()
        .apply()
        .unwrap();
}

#[test]
fn catalog_commands_change_a_directory_as_java_archive_tool_does() {
    let Some(java) =
        JavaPeer::find("catalog_commands_change_a_directory_as_java_archive_tool_does")
    else {
        return;
    };
    let undamaged = |_: &Path| {};
    same_result(
        &java,
        "mark-invalid",
        undamaged,
        &["mark-invalid", "1"],
        |s| catalog_edit::plan_mark(s, 1, RecordingState::Invalid).unwrap(),
    );
    same_result(
        &java,
        "mark-valid of an INVALID recording",
        |d| mark_invalid(d, 0),
        &["mark-valid", "0"],
        |s| catalog_edit::plan_mark(s, 0, RecordingState::Valid).unwrap(),
    );
    let orphans = |d: &Path| {
        // Beyond recording 1's stop (its first segment holds it all), and a file of a recording the
        // catalog does not hold, which is nobody's to delete.
        std::fs::write(d.join("1-262144.rec"), vec![0u8; 4096]).unwrap();
        std::fs::write(d.join("7-0.rec"), vec![0u8; 4096]).unwrap();
    };
    same_result(
        &java,
        "delete-orphaned-segments",
        orphans,
        &["delete-orphaned-segments"],
        |s| catalog_edit::plan_delete_orphaned_segments(s, None).unwrap(),
    );
    same_result(
        &java,
        "delete-orphaned-segments of one recording",
        orphans,
        &["delete-orphaned-segments", "1"],
        |s| catalog_edit::plan_delete_orphaned_segments(s, Some(1)).unwrap(),
    );
    same_result(
        &java,
        "compact",
        |d| mark_invalid(d, 1),
        &["compact"],
        |s| catalog_edit::plan_compact(s).unwrap(),
    );
    same_result(
        &java,
        "checksum -a",
        undamaged,
        &["checksum", CRC32, "-a"],
        |s| catalog_edit::plan_checksum(s, Checksum::Crc32, None, true).unwrap(),
    );
    same_result(
        &java,
        "checksum of the last segments",
        undamaged,
        &["checksum", CRC32],
        |s| catalog_edit::plan_checksum(s, Checksum::Crc32, None, false).unwrap(),
    );
    same_result(
        &java,
        "checksum of one recording",
        undamaged,
        &["checksum", "io.aeron.archive.checksum.Crc32c", "0", "-a"],
        |s| catalog_edit::plan_checksum(s, Checksum::Crc32c, Some(0), true).unwrap(),
    );

    // What the reading commands say.
    let (dir, _) = twin_directories(|d| mark_invalid(d, 2));
    let snapshot = CatalogSnapshot::read(dir.path()).unwrap();
    let (ok, out) = archive_tool_yes(&java, dir.path(), &["count-entries"]);
    assert!(ok);
    assert_eq!(
        out.trim(),
        catalog_edit::count_entries(&snapshot).to_string()
    );
    let (ok, out) = archive_tool_yes(&java, dir.path(), &["pid"]);
    assert!(ok);
    assert_eq!(
        out.lines().last().unwrap().trim(),
        catalog_edit::mark_file_pid(dir.path()).unwrap().to_string()
    );

    // A catalog Oxeron grew is one Java reads, at the new capacity, with every entry.
    let (ok, before) = archive_tool_yes(&java, dir.path(), &["describe-all"]);
    assert!(ok);
    catalog_edit::plan_capacity(&snapshot, 4 * 1024 * 1024)
        .unwrap()
        .apply()
        .unwrap();
    let (ok, after) = archive_tool_yes(&java, dir.path(), &["describe-all"]);
    assert!(ok, "{after}");
    assert!(
        after.contains("Catalog capacity in bytes: 4194304"),
        "{after}"
    );
    let entries = |out: &str| out.lines().filter(|l| l.contains("recordingId=")).count();
    assert_eq!(entries(&after), entries(&before), "{after}");
    assert_eq!(entries(&after), snapshot.entries.len(), "{after}");

    // `migrate` of the same directory: Java's versions, and nothing to do.
    let report = catalog_edit::migrate(&CatalogSnapshot::read(dir.path()).unwrap()).unwrap();
    let (ok, out) = archive_tool_yes(&java, dir.path(), &["migrate"]);
    assert!(ok, "{out}");
    for line in report.lines().take(3) {
        assert!(
            out.contains(line),
            "{line:?} not in Java's migrate output:\n{out}"
        );
    }
}

/// (recording id, state, stop position) of every catalog entry.
fn verdicts(dir: &Path) -> Vec<(i64, RecordingState, i64)> {
    CatalogSnapshot::read(dir)
        .unwrap()
        .entries
        .iter()
        .map(|e| {
            (
                e.descriptor.recording_id,
                e.header.state,
                e.descriptor.stop_position,
            )
        })
        .collect()
}

fn patch(path: &Path, offset: u64, bytes: &[u8]) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.write_all_at(bytes, offset).unwrap();
}

/// What is done to a directory before it is verified.
type Damage = Box<dyn Fn(&Path)>;

/// Damage: a wrong term id in the header of frame `n` of a segment file.
fn corrupt_term_id(file: &'static str, n: usize) -> impl Fn(&Path) {
    move |d: &Path| {
        let path = d.join(file);
        let bytes = std::fs::read(&path).unwrap();
        let mut offset = 0usize;
        for _ in 0..n {
            let length = i32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap());
            assert!(length > 0, "{file} has fewer than {n} frames");
            offset += (length as usize).next_multiple_of(32);
        }
        patch(&path, offset as u64 + 20, &[0x11, 0x22, 0x33, 0x44]);
    }
}

/// Damage: recording 2 (active in the golden directory) ends with its fragment at 12192 (160 bytes, across
/// the page boundary at 12288), and the page after the boundary is empty, as when a crash kept it from the
/// disk.
fn tear_last_fragment(d: &Path) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(d.join("2-0.rec"))
        .unwrap();
    file.set_len(12_352).unwrap();
    file.write_all_at(&[0u8; 64], 12_288).unwrap();
}

#[test]
fn verify_judges_damaged_directories_as_java_archive_tool_does() {
    let Some(java) = JavaPeer::find("verify_judges_damaged_directories_as_java_archive_tool_does")
    else {
        return;
    };
    let matrix: Vec<(&str, Damage)> = vec![
        ("an active recording after a crash", Box::new(|_: &Path| {})),
        (
            "a corrupt frame in a last segment",
            Box::new(corrupt_term_id("1-0.rec", 100)),
        ),
        (
            "a corrupt frame in a first segment",
            Box::new(corrupt_term_id("0-0.rec", 3)),
        ),
        (
            "a missing last segment",
            Box::new(|d: &Path| std::fs::remove_file(d.join("0-786432.rec")).unwrap()),
        ),
        (
            "a truncated segment of a stopped recording",
            Box::new(|d: &Path| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(d.join("1-0.rec"))
                    .and_then(|f| f.set_len(100_000))
                    .unwrap()
            }),
        ),
        (
            "an INVALID recording that verifies",
            Box::new(|d: &Path| mark_invalid(d, 1)),
        ),
        (
            "an active recording whose last fragment straddles a page that never reached the disk",
            Box::new(tear_last_fragment),
        ),
        ("a bad catalog entry", Box::new(misalign_stop_position)),
    ];
    for all_segments in [true, false] {
        let java_args: &[&str] = if all_segments {
            &["verify", "-a"]
        } else {
            &["verify"]
        };
        for (what, damage) in &matrix {
            let (java_dir, oxeron_dir) = twin_directories(damage);
            let (_, out) = archive_tool_yes(&java, java_dir.path(), java_args);
            let snapshot = CatalogSnapshot::read(oxeron_dir.path()).unwrap();
            let options = catalog_verify::VerifyOptions {
                checksum: None,
                all_segments,
            };
            let report = catalog_verify::verify_with_options(&snapshot, options, |_, _| {});
            let plan = catalog_edit::plan_verify_fixes(&snapshot, &report, None);
            plan.apply().unwrap();
            println!(
                "{what}:\nArchiveTool {java_args:?}:\n{out}Oxeron:\n{}{}",
                report.render(),
                plan.render()
            );
            assert_eq!(
                verdicts(oxeron_dir.path()),
                verdicts(java_dir.path()),
                "{what} ({java_args:?}): states and stop positions differ from ArchiveTool's"
            );
            let (j, o) = (contents(java_dir.path()), contents(oxeron_dir.path()));
            for (name, bytes) in j.iter().filter(|(name, _)| name.ends_with(".rec")) {
                assert!(
                    o.get(name) == Some(bytes),
                    "{what} ({java_args:?}): {name} differs from what ArchiveTool left"
                );
            }
        }
    }

    // Where Oxeron departs from Java on purpose: an orphaned segment file of zeroes past a stopped
    // recording's end. ArchiveTool takes its highest segment file for the recording's end and moves the
    // stop position of recording 1 (185664) to that file's base, 262144, past any recorded byte; a replay
    // of it would then wait for data that never was. Oxeron keeps the stop position the archive wrote.
    let orphan = |d: &Path| std::fs::write(d.join("1-262144.rec"), vec![0u8; 4096]).unwrap();
    let (java_dir, oxeron_dir) = twin_directories(orphan);
    archive_tool_yes(&java, java_dir.path(), &["verify", "-a"]);
    let snapshot = CatalogSnapshot::read(oxeron_dir.path()).unwrap();
    let report = catalog_tool::verify(&snapshot, |_, _| {});
    catalog_edit::plan_verify_fixes(&snapshot, &report, None)
        .apply()
        .unwrap();
    assert_eq!(
        verdicts(java_dir.path())[1],
        (1, RecordingState::Valid, 262_144)
    );
    assert_eq!(
        verdicts(oxeron_dir.path())[1],
        (1, RecordingState::Valid, 185_664)
    );
}

/// Damage: recording 1's stop position moved off the frame alignment, a catalog entry no archive wrote.
fn misalign_stop_position(d: &Path) {
    use oxeron::protocol::archive::catalog::STOP_POSITION_OFFSET;
    use oxeron::protocol::archive::RECORDING_DESCRIPTOR_HEADER_LENGTH;
    let snapshot = CatalogSnapshot::read(d).unwrap();
    let entry = snapshot.entry(1).unwrap();
    let at = entry.offset + RECORDING_DESCRIPTOR_HEADER_LENGTH + STOP_POSITION_OFFSET;
    let stop = entry.descriptor.stop_position + 3;
    patch(&d.join("archive.catalog"), at as u64, &stop.to_le_bytes());
}

/// The damaged directories every changing command is run on.
fn damage_matrix() -> Vec<(&'static str, Damage)> {
    vec![
        ("an active recording after a crash", Box::new(|_: &Path| {})),
        (
            "a missing last segment",
            Box::new(|d: &Path| std::fs::remove_file(d.join("0-786432.rec")).unwrap()),
        ),
        (
            "a truncated segment",
            Box::new(|d: &Path| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(d.join("1-0.rec"))
                    .and_then(|f| f.set_len(100_000))
                    .unwrap()
            }),
        ),
        ("a corrupt frame", Box::new(corrupt_term_id("1-0.rec", 100))),
        ("a bad catalog entry", Box::new(misalign_stop_position)),
        (
            "an orphaned segment",
            Box::new(|d: &Path| std::fs::write(d.join("1-262144.rec"), vec![0u8; 4096]).unwrap()),
        ),
        ("a torn last fragment", Box::new(tear_last_fragment)),
    ]
}

type Planner = Box<dyn Fn(&CatalogSnapshot) -> Result<catalog_edit::EditPlan, String>>;

#[test]
fn changing_commands_on_damaged_directories_match_java_archive_tool() {
    let Some(java) =
        JavaPeer::find("changing_commands_on_damaged_directories_match_java_archive_tool")
    else {
        return;
    };
    let text = |e: catalog_tool::CatalogToolError| e.to_string();
    let commands: Vec<(&[&str], Planner)> = vec![
        (
            &["mark-invalid", "1"],
            Box::new(move |s| catalog_edit::plan_mark(s, 1, RecordingState::Invalid).map_err(text)),
        ),
        (
            &["mark-valid", "1"],
            Box::new(move |s| catalog_edit::plan_mark(s, 1, RecordingState::Valid).map_err(text)),
        ),
        (
            &["delete-orphaned-segments"],
            Box::new(move |s| catalog_edit::plan_delete_orphaned_segments(s, None).map_err(text)),
        ),
        (
            &["compact"],
            Box::new(move |s| catalog_edit::plan_compact(s).map_err(text)),
        ),
        (
            &["checksum", CRC32, "-a"],
            Box::new(move |s| {
                catalog_edit::plan_checksum(s, Checksum::Crc32, None, true).map_err(text)
            }),
        ),
    ];
    let mut differences = Vec::new();
    for (what, damage) in damage_matrix() {
        let (dir, _) = twin_directories(&damage);
        let (_, out) = archive_tool_yes(&java, dir.path(), &["count-entries"]);
        let ours = catalog_edit::count_entries(&CatalogSnapshot::read(dir.path()).unwrap());
        if out.trim() != ours.to_string() {
            differences.push(format!(
                "{what}, count-entries: ArchiveTool {out:?}, Oxeron {ours}"
            ));
        }
        for (args, plan) in &commands {
            let (java_dir, oxeron_dir) = twin_directories(&damage);
            let (java_ok, out) = archive_tool_yes(&java, java_dir.path(), args);
            let ours = CatalogSnapshot::read(oxeron_dir.path())
                .map_err(text)
                .and_then(|s| plan(&s))
                .and_then(|p| p.apply().map_err(text));
            // Java goes on past a file it cannot change and exits 0 with ERR lines; Oxeron goes on too, and
            // then fails naming the file.
            let ours = match ours {
                Err(e) if e.starts_with("every other change was made") && out.contains("ERR") => {
                    Ok(())
                }
                other => other,
            };
            match (java_ok, ours) {
                (true, Ok(())) => {
                    let (j, o) = (contents(java_dir.path()), contents(oxeron_dir.path()));
                    if j != o {
                        let differing: Vec<&String> = j
                            .keys()
                            .chain(o.keys())
                            .filter(|name| j.get(*name) != o.get(*name))
                            .collect();
                        differences.push(format!("{what}, {args:?}: files differ: {differing:?}"));
                    }
                }
                (false, Err(_)) => {}
                (java_ok, ours) => differences.push(format!(
                    "{what}, {args:?}: ArchiveTool ok={java_ok}, Oxeron {ours:?}\n{out}"
                )),
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
