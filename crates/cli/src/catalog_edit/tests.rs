use super::*;
use crate::catalog_tool::tests::golden_copy;
use crate::catalog_tool::{verify, verify_with};
use oxeron::archive::ARCHIVE_MARK_FILE_NAME;
use oxeron::protocol::archive::mark::MARK_FILE_ACTIVITY_TIMESTAMP_OFFSET;

fn snapshot(dir: &Path) -> CatalogSnapshot {
    CatalogSnapshot::read(dir).unwrap()
}

fn state_of(dir: &Path, id: i64) -> RecordingState {
    snapshot(dir).entry(id).unwrap().header.state
}

#[test]
fn mark_invalid_and_valid_follow_javas_transitions() {
    let dir = golden_copy();
    let path = dir.path();
    assert_eq!(count_entries(&snapshot(path)), 3);

    let plan = plan_mark(&snapshot(path), 1, RecordingState::Invalid).unwrap();
    assert_eq!(plan.render(), "(recordingId=1) state VALID -> INVALID\n");
    plan.apply().unwrap();
    assert_eq!(state_of(path, 1), RecordingState::Invalid);
    assert_eq!(count_entries(&snapshot(path)), 2);

    let again = plan_mark(&snapshot(path), 1, RecordingState::Invalid).unwrap();
    assert_eq!(again.render(), "nothing to change\n");

    plan_mark(&snapshot(path), 1, RecordingState::Valid)
        .unwrap()
        .apply()
        .unwrap();
    assert_eq!(state_of(path, 1), RecordingState::Valid);

    // A DELETED entry stays deleted.
    let offset = snapshot(path).entry(2).unwrap().offset as u64;
    let catalog = OpenOptions::new()
        .write(true)
        .open(path.join(CATALOG_FILE_NAME))
        .unwrap();
    catalog
        .write_all_at(
            &RecordingState::Deleted.value().to_le_bytes(),
            offset + DESCRIPTOR_STATE_OFFSET as u64,
        )
        .unwrap();
    let err = plan_mark(&snapshot(path), 2, RecordingState::Valid).unwrap_err();
    assert_eq!(
        err.to_string(),
        "(recordingId=2) state transition DELETED -> VALID is not allowed"
    );
    assert!(matches!(
        plan_mark(&snapshot(path), 7, RecordingState::Valid),
        Err(CatalogToolError::UnknownRecording(7))
    ));
}

#[test]
fn checksum_writes_what_verify_with_a_checksum_then_accepts() {
    let dir = golden_copy();
    let path = dir.path();
    assert!(!verify_with(&snapshot(path), Some(Checksum::Crc32), |_, _| {}).is_ok());

    let last_only = plan_checksum(&snapshot(path), Checksum::Crc32, None, false).unwrap();
    let stamped: Vec<String> = last_only
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::StampFrameChecksums { path, .. } => {
                Some(path.file_name().unwrap().to_string_lossy().into_owned())
            }
            _ => None,
        })
        .collect();
    assert_eq!(stamped, ["0-786432.rec", "1-0.rec", "2-0.rec"]);

    let all = plan_checksum(&snapshot(path), Checksum::Crc32, None, true).unwrap();
    assert_eq!(
        all.changes
            .iter()
            .filter(|c| matches!(c, Change::SetDescriptorChecksum { .. }))
            .count(),
        3
    );
    all.apply().unwrap();
    let report = verify_with(&snapshot(path), Some(Checksum::Crc32), |_, _| {});
    assert!(report.is_ok(), "{}", report.render());
    assert!(verify(&snapshot(path), |_, _| {}).is_ok());
    for entry in &snapshot(path).entries {
        assert_ne!(entry.header.checksum, 0);
    }
    let again = plan_checksum(&snapshot(path), Checksum::Crc32, Some(0), false).unwrap();
    assert!(
        !again
            .changes
            .iter()
            .any(|c| matches!(c, Change::SetDescriptorChecksum { .. })),
        "descriptor checksums are current"
    );
}

#[test]
fn delete_orphaned_segments_deletes_only_the_catalogs_files_outside_their_range() {
    let dir = golden_copy();
    let path = dir.path();
    // Recording 1 stopped at 185664, in its first segment: a second one is orphaned. Recording 9 is not in
    // the catalog, so its file is not ours to delete.
    std::fs::write(path.join("1-262144.rec"), [0u8; 64]).unwrap();
    std::fs::write(path.join("9-0.rec"), [0u8; 64]).unwrap();
    let plan = plan_delete_orphaned_segments(&snapshot(path), None).unwrap();
    assert_eq!(
        plan.render(),
        format!(
            "(recordingId=1) delete {} (after the segment of the stop position)\n",
            path.join("1-262144.rec").display()
        )
    );
    plan.apply().unwrap();
    assert!(!path.join("1-262144.rec").exists());
    assert!(path.join("9-0.rec").exists() && path.join("1-0.rec").exists());
    assert!(verify(&snapshot(path), |_, _| {}).is_ok());
}

#[test]
fn compact_drops_entries_that_are_not_valid_and_their_files_and_keeps_ids() {
    let dir = golden_copy();
    let path = dir.path();
    let before = snapshot(path);
    // With nothing to drop, the catalog is still cut to what its entries use, as Java's compact does.
    assert_eq!(
        plan_compact(&before).unwrap().render(),
        "rewrite archive.catalog to the 672 bytes its entries use (no entry goes, 0 bytes reclaimed)\n"
    );
    plan_mark(&before, 1, RecordingState::Invalid)
        .unwrap()
        .apply()
        .unwrap();
    let plan = plan_compact(&snapshot(path)).unwrap();
    assert!(
        plan.render().contains("without 1 entries ([1])"),
        "{}",
        plan.render()
    );
    plan.apply().unwrap();
    let after = snapshot(path);
    let ids: Vec<i64> = after
        .entries
        .iter()
        .map(|e| e.descriptor.recording_id)
        .collect();
    assert_eq!(ids, [0, 2]);
    assert_eq!(
        after.header.next_recording_id,
        before.header.next_recording_id
    );
    assert_eq!(after.entries[1].descriptor, before.entries[2].descriptor);
    assert!(!path.join("1-0.rec").exists());
    assert!(!path.join(format!("{CATALOG_FILE_NAME}.compact")).exists());
    // The archive opens the compacted catalog and grows it as it needs.
    let catalog = oxeron::archive::Catalog::open(
        path,
        oxeron::archive::DEFAULT_CATALOG_CAPACITY,
        oxeron::archive::FileSyncLevel::None,
    )
    .unwrap();
    assert_eq!(catalog.next_recording_id(), before.header.next_recording_id);
}

#[test]
fn a_catalog_with_entries_that_do_not_decode_is_not_compacted() {
    let dir = golden_copy();
    let path = dir.path();
    // Garbage over the first entry's channel lengths, as in catalog_tool's tests.
    let catalog = OpenOptions::new()
        .write(true)
        .open(path.join(CATALOG_FILE_NAME))
        .unwrap();
    catalog.write_all_at(&[0xEE; 40], 64 + 80).unwrap();
    let broken = snapshot(path);
    assert_eq!(broken.problems.len(), 1, "{:?}", broken.problems);
    let before = std::fs::read(path.join(CATALOG_FILE_NAME)).unwrap();
    assert!(matches!(
        plan_compact(&broken),
        Err(CatalogToolError::CatalogProblems(_))
    ));
    assert_eq!(std::fs::read(path.join(CATALOG_FILE_NAME)).unwrap(), before);
}

/// Makes the mark file in `mark_dir` look alive, then checks a change to `path` is refused and changes
/// nothing, reading the mark file (through a link if it is elsewhere).
fn assert_refused_while_alive(path: &Path, mark_dir: &Path) {
    let mark = OpenOptions::new()
        .write(true)
        .open(mark_dir.join(ARCHIVE_MARK_FILE_NAME))
        .unwrap();
    let now = oxeron::concurrent::clock::system_epoch_ms();
    mark.write_all_at(
        &now.to_le_bytes(),
        MARK_FILE_ACTIVITY_TIMESTAMP_OFFSET as u64,
    )
    .unwrap();
    let plan = plan_mark(&snapshot(path), 1, RecordingState::Invalid).unwrap();
    let err = plan.apply().unwrap_err();
    assert!(
        err.to_string().contains("is running on this directory"),
        "{err}"
    );
    assert_eq!(state_of(path, 1), RecordingState::Valid, "nothing changed");
    assert_eq!(mark_file_pid(path).unwrap(), 23942);
}

#[test]
fn changes_refuse_a_live_archive() {
    let dir = golden_copy();
    assert_refused_while_alive(dir.path(), dir.path());
}

#[test]
fn changes_refuse_a_live_archive_whose_mark_file_is_linked_from_elsewhere() {
    let dir = golden_copy();
    let path = dir.path();
    let marks = tempfile::tempdir().unwrap();
    std::fs::rename(
        path.join(ARCHIVE_MARK_FILE_NAME),
        marks.path().join(ARCHIVE_MARK_FILE_NAME),
    )
    .unwrap();
    oxeron::archive::link_mark_file_dir(path, marks.path()).unwrap();
    assert_refused_while_alive(path, marks.path());
}

#[test]
fn capacity_grows_the_catalog_and_never_shrinks_it() {
    let dir = golden_copy();
    let path = dir.path();
    let before = std::fs::read(path.join(CATALOG_FILE_NAME)).unwrap();
    let length = before.len() as u64;
    let entries = snapshot(path).entries.len();
    assert!(plan_capacity(&snapshot(path), length / 2)
        .unwrap()
        .changes
        .is_empty());
    assert!(matches!(
        plan_capacity(&snapshot(path), 1),
        Err(CatalogToolError::BadCapacity(1))
    ));
    let plan = plan_capacity(&snapshot(path), length * 4).unwrap();
    assert_eq!(
        plan.render(),
        format!(
            "grow archive.catalog from {length} to {} bytes\n",
            length * 4
        )
    );
    plan.apply().unwrap();
    let after = std::fs::read(path.join(CATALOG_FILE_NAME)).unwrap();
    assert_eq!(after.len() as u64, length * 4);
    assert_eq!(&after[..before.len()], &before[..], "entries unchanged");
    assert!(after[before.len()..].iter().all(|&b| b == 0));
    assert_eq!(snapshot(path).entries.len(), entries);
}

#[test]
fn migrate_finds_a_java_1_54_directory_at_the_latest_version() {
    let dir = golden_copy();
    let report = migrate(&snapshot(dir.path())).unwrap();
    assert_eq!(
        report,
        "MarkFile version=196864(Major 3 Minor 1 Patch 0)\n\
         Catalog version=196864(Major 3 Minor 1 Patch 0)\n\
         Latest version=196864(Major 3 Minor 1 Patch 0)\n\
         nothing to migrate: the directory is at the latest version\n"
    );
}

#[test]
fn verify_cuts_a_crashed_recordings_torn_last_fragment_as_java_does() {
    use crate::catalog_verify::{verify_with_options, VerifyOptions};
    let dir = golden_copy();
    let path = dir.path();
    // Recording 2 is active; its fragment at 12192 crosses the page boundary at 12288, whose page is empty.
    let file = OpenOptions::new()
        .write(true)
        .open(path.join("2-0.rec"))
        .unwrap();
    file.set_len(12_352).unwrap();
    file.write_all_at(&[0u8; 64], 12_288).unwrap();
    let snapshot = snapshot(path);
    let report = verify_with_options(&snapshot, VerifyOptions::default(), |_, _| {});
    assert!(report.is_ok(), "{}", report.render());
    let plan = plan_verify_fixes(&snapshot, &report, None);
    assert!(
        plan.render()
            .contains("(recordingId=2) stop position -1 -> 12192"),
        "{}",
        plan.render()
    );
    plan.apply().unwrap();
    let bytes = std::fs::read(path.join("2-0.rec")).unwrap();
    let segment_length = snapshot.entry(2).unwrap().descriptor.segment_file_length as usize;
    assert_eq!(bytes.len(), segment_length);
    assert!(bytes[12_192..].iter().all(|&b| b == 0));
    assert_eq!(snapshot_stop(path, 2), 12_192);
}

#[test]
fn verify_walks_only_the_last_segment_unless_all_are_asked_for() {
    use crate::catalog_verify::{verify_with_options, VerifyOptions};
    let dir = golden_copy();
    let path = dir.path();
    // A wrong term id in the fourth frame of recording 0's first segment (of four).
    let bytes = std::fs::read(path.join("0-0.rec")).unwrap();
    let mut offset = 0usize;
    for _ in 0..3 {
        let length = i32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap());
        offset += (length as usize).next_multiple_of(32);
    }
    OpenOptions::new()
        .write(true)
        .open(path.join("0-0.rec"))
        .unwrap()
        .write_all_at(&[0x11, 0x22, 0x33, 0x44], offset as u64 + 20)
        .unwrap();
    let snapshot = snapshot(path);
    let last_only = VerifyOptions {
        checksum: None,
        all_segments: false,
    };
    assert!(verify_with_options(&snapshot, last_only, |_, _| {}).is_ok());
    let all = verify_with_options(&snapshot, VerifyOptions::default(), |_, _| {});
    assert!(!all.is_ok());
    assert!(all.render().contains("termId"), "{}", all.render());
}

fn snapshot_stop(path: &Path, id: i64) -> i64 {
    snapshot(path).entry(id).unwrap().descriptor.stop_position
}
