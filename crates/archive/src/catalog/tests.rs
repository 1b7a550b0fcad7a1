use super::*;
use proptest::prelude::*;

fn new_recording(channel: &str) -> NewRecording<'_> {
    NewRecording {
        start_position: 0,
        start_timestamp: 1_000,
        initial_term_id: 5,
        segment_file_length: 128 * 1024,
        term_buffer_length: 64 * 1024,
        mtu_length: 1408,
        session_id: 77,
        stream_id: 1001,
        stripped_channel: channel,
        original_channel: channel,
        source_identity: "aeron:ipc",
    }
}

#[test]
fn replacing_channels_shifts_later_entries_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!(
        "aeron:udp?endpoint=localhost:5000|alias={}",
        "x".repeat(4000)
    );
    {
        let mut catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap();
        for _ in 0..3 {
            catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
        }
        catalog.change_state(2, RecordingState::Invalid).unwrap();
        catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
        catalog.set_stop_position(3, 4096).unwrap();
        // Longer: 1 and 3 move right (and the catalog grows past its 4 KiB).
        catalog
            .replace_channels(0, "aeron:udp?endpoint=localhost:5000", &long)
            .unwrap();
        assert!(catalog.capacity() > 4096);
        // Shorter: the entry keeps its room.
        catalog
            .replace_channels(1, "aeron:ipc", "aeron:ipc?x=1")
            .unwrap();
        assert!(matches!(
            catalog.replace_channels(2, "aeron:ipc", "aeron:ipc"),
            Err(ArchiveStorageError::UnknownRecording(2))
        ));
    }
    let catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap();
    let ids: Vec<i64> = catalog
        .list()
        .unwrap()
        .iter()
        .map(|r| r.recording_id())
        .collect();
    assert_eq!(ids, [0, 1, 3]);
    let first = catalog.recording(0).unwrap().unwrap();
    let d = first.descriptor().unwrap();
    assert_eq!(d.original_channel, long);
    assert_eq!(d.stripped_channel, "aeron:udp?endpoint=localhost:5000");
    let second = catalog.recording(1).unwrap().unwrap();
    assert_eq!(
        second.descriptor().unwrap().original_channel,
        "aeron:ipc?x=1"
    );
    let last = catalog.recording(3).unwrap().unwrap();
    assert_eq!(last.descriptor().unwrap().stop_position, 4096);
    assert_eq!(last.descriptor().unwrap().original_channel, "aeron:ipc");
    assert_eq!(catalog.next_recording_id(), 4);
}

#[test]
fn written_catalog_round_trips_at_every_sync_level() {
    for level in 0..=2 {
        let sync = FileSyncLevel::from_level(level).unwrap();
        assert_eq!(sync.level(), level);
        let dir = tempfile::tempdir().unwrap();
        {
            let mut catalog = Catalog::open(dir.path(), DEFAULT_CATALOG_CAPACITY, sync).unwrap();
            assert_eq!(catalog.sync_level(), sync);
            assert_eq!(
                catalog.add_recording(&new_recording("aeron:ipc")).unwrap(),
                0
            );
            let udp = NewRecording {
                original_channel: "aeron:udp?endpoint=localhost:5000|term-length=64k",
                session_id: 78,
                ..new_recording("aeron:udp?endpoint=localhost:5000")
            };
            assert_eq!(catalog.add_recording(&udp).unwrap(), 1);
            catalog.recording_stopped(0, 4096, 2_000).unwrap();
            catalog.set_start_position(1, 64).unwrap();
            catalog.set_stop_position(1, 128).unwrap();
            catalog.force().unwrap();
        }
        let bytes = std::fs::read(dir.path().join(CATALOG_FILE_NAME)).unwrap();
        assert_eq!(bytes.len() as u64, DEFAULT_CATALOG_CAPACITY);
        assert_eq!(le::get_i32(&bytes, 0), 196_864);
        assert_eq!(le::get_i64(&bytes, 8), 2);
        assert_eq!(le::get_i32(&bytes, 16), 64);
        let catalog = Catalog::open(dir.path(), DEFAULT_CATALOG_CAPACITY, sync).unwrap();
        assert_eq!(catalog.next_recording_id(), 2);
        let list = catalog.list().unwrap();
        assert_eq!(list.len(), 2);
        let d0 = list[0].descriptor().unwrap();
        assert_eq!(
            (d0.recording_id, d0.stop_position, d0.stop_timestamp),
            (0, 4096, 2_000)
        );
        assert_eq!(d0.stripped_channel, "aeron:ipc");
        assert_eq!(list[0].header.length, 160);
        let d1 = list[1].descriptor().unwrap();
        assert_eq!(
            (d1.start_position, d1.stop_position, d1.stop_timestamp),
            (64, 128, -1)
        );
        assert_eq!(d1.session_id, 78);
        assert_eq!(list[1].offset, 32 + 192);
        assert_eq!(catalog.start_position(1).unwrap(), 64);
        assert_eq!(
            catalog.find_last(0, 78, 1001, "term-length=64k").unwrap(),
            Some(1)
        );
        assert_eq!(catalog.find_last(0, 77, 1001, "").unwrap(), Some(0));
        assert_eq!(catalog.find_last(-1, 77, 1001, "").unwrap(), None);
        assert_eq!(catalog.list_from(1, 10).unwrap().len(), 1);
    }
    assert_eq!(FileSyncLevel::from_level(3), None);
}

#[test]
fn grows_like_java_when_full() {
    let dir = tempfile::tempdir().unwrap();
    let mut catalog = Catalog::open(dir.path(), 256, FileSyncLevel::None).unwrap();
    assert_eq!(catalog.capacity(), 256);
    catalog.add_recording(&new_recording("aeron:ipc")).unwrap(); // 32 + 192 = 224
    assert_eq!(catalog.capacity(), 256);
    catalog.add_recording(&new_recording("aeron:ipc")).unwrap(); // needs 416: 256 -> 384 -> 576
    assert_eq!(catalog.capacity(), 576);
    for _ in 0..20 {
        catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
    }
    assert_eq!(catalog.list().unwrap().len(), 22);
    let capacity = catalog.capacity();
    drop(catalog);
    assert_eq!(
        std::fs::metadata(dir.path().join(CATALOG_FILE_NAME))
            .unwrap()
            .len(),
        capacity
    );
    // Reopened with a smaller configured capacity: the file's length wins.
    let catalog = Catalog::open(dir.path(), 64, FileSyncLevel::None).unwrap();
    assert_eq!(catalog.capacity(), capacity);
    assert_eq!(catalog.entry_count(), 22);
    assert!(Catalog::open(dir.path(), 8, FileSyncLevel::None).is_err());
}

#[test]
fn state_changes_leave_the_index_but_stay_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::Data).unwrap();
    for _ in 0..3 {
        catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
    }
    assert!(catalog.change_state(1, RecordingState::Invalid).unwrap());
    assert!(!catalog.change_state(1, RecordingState::Deleted).unwrap());
    assert!(catalog.change_state(2, RecordingState::Deleted).unwrap());
    assert!(!catalog.has_recording(1));
    assert!(matches!(
        catalog.stop_position(1),
        Err(ArchiveStorageError::UnknownRecording(1))
    ));
    drop(catalog);
    let mut catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap();
    assert_eq!(catalog.list().unwrap().len(), 1);
    let states: Vec<_> = catalog
        .entries()
        .unwrap()
        .iter()
        .map(|e| e.state())
        .collect();
    assert_eq!(
        states,
        [
            RecordingState::Valid,
            RecordingState::Invalid,
            RecordingState::Deleted
        ]
    );
    // Ids keep counting after the invalidated ones.
    assert_eq!(
        catalog.add_recording(&new_recording("aeron:ipc")).unwrap(),
        3
    );
}

/// A catalog file holding recordings 0 and 1: its directory, path and bytes.
fn catalog_of_two_recordings() -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap();
        catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
        catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
    }
    let path = dir.path().join(CATALOG_FILE_NAME);
    let good = std::fs::read(&path).unwrap();
    (dir, path, good)
}

#[test]
fn corrupt_catalogs_give_typed_errors() {
    let (dir, path, good) = catalog_of_two_recordings();
    let open_with = |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        Catalog::open(dir.path(), MIN_CATALOG_CAPACITY, FileSyncLevel::None)
    };
    let mut bad = good.clone();
    le::put_i32(&mut bad, 0, oxeron_protocol::semantic_version(2, 0, 0));
    assert!(matches!(
        open_with(&bad),
        Err(ArchiveStorageError::IncompatibleVersion { .. })
    ));
    let mut bad = good.clone();
    le::put_i32(&mut bad, 16, 48);
    assert!(matches!(
        open_with(&bad),
        Err(ArchiveStorageError::InvalidCatalog {
            field: "alignment",
            ..
        })
    ));
    let mut bad = good.clone();
    le::put_i32(&mut bad, 32, 100_000);
    assert!(matches!(
        open_with(&bad),
        Err(ArchiveStorageError::CorruptEntry { .. })
    ));
    let mut bad = good.clone();
    le::put_u32(&mut bad, 32 + 32 + 80, 5000);
    assert!(matches!(
        open_with(&bad),
        Err(ArchiveStorageError::CorruptEntry { .. })
    ));
    let mut bad = good.clone();
    le::put_i64(&mut bad, 8, 1);
    assert!(matches!(
        open_with(&bad),
        Err(ArchiveStorageError::InvalidCatalog {
            field: "nextRecordingId",
            value: 1,
            ..
        })
    ));
    let mut bad = good.clone();
    le::put_i64(&mut bad, 224 + 32 + 16, 0);
    assert!(matches!(
        open_with(&bad),
        Err(ArchiveStorageError::InvalidCatalog {
            field: "recordingId",
            ..
        })
    ));
    assert!(matches!(
        open_with(&good[..20]),
        Err(ArchiveStorageError::Decode { .. })
    ));
    assert!(open_with(&good).is_ok());
}

#[test]
fn a_truncated_catalog_is_refused_and_left_as_it_was() {
    let (dir, path, good) = catalog_of_two_recordings();
    // Cut inside recording 0's body, and inside recording 1's descriptor header.
    for cut in [100, 224 + 20] {
        std::fs::write(&path, &good[..cut]).unwrap();
        let error = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(&error, ArchiveStorageError::CorruptEntry { error, .. }
                if error.offset == if cut == 100 { 32 } else { 224 }),
            "cut at {cut}: {text}"
        );
        assert!(text.contains(CATALOG_FILE_NAME), "{text}");
        assert_eq!(std::fs::read(&path).unwrap(), &good[..cut], "cut at {cut}");
    }
}

#[test]
fn entries_out_of_bounds_are_refused_with_their_offset() {
    let dir = tempfile::tempdir().unwrap();
    let entry = {
        let mut catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap();
        catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
        let id = catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
        catalog.recording(id).unwrap().unwrap().offset
    };
    let path = dir.path().join(CATALOG_FILE_NAME);
    let good = std::fs::read(&path).unwrap();
    let body = entry + RECORDING_DESCRIPTOR_HEADER_LENGTH;
    let cases: [(usize, i64, &str); 5] = [
        (START_POSITION_OFFSET, 33, "startPosition"),
        (STOP_POSITION_OFFSET, -64, "stopPosition"),
        (64, 1000, "termBufferLength"),
        (60, 4096, "segmentFileLength"),
        (68, 1400, "mtuLength"),
    ];
    for (field_offset, value, field) in cases {
        let mut bad = good.clone();
        if field_offset >= 60 {
            le::put_i32(&mut bad, body + field_offset, value as i32);
        } else {
            le::put_i64(&mut bad, body + field_offset, value);
        }
        std::fs::write(&path, &bad).unwrap();
        let error = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap_err();
        assert!(
            matches!(&error, ArchiveStorageError::InvalidCatalog { offset, field: f, .. }
                if *offset == entry && *f == field),
            "{field}: {error}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), bad);
    }
}

#[test]
fn recovery_without_segments_uses_the_start_position() {
    let dir = tempfile::tempdir().unwrap();
    let mut catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap();
    let id = catalog
        .add_recording(&NewRecording {
            start_position: 4096,
            ..new_recording("aeron:ipc")
        })
        .unwrap();
    assert_eq!(catalog.recover(dir.path(), 9).unwrap(), [(id, 4096)]);
    let d = catalog.recording(id).unwrap().unwrap();
    assert_eq!(d.descriptor().unwrap().stop_timestamp, 9);
}

#[test]
fn recovery_refuses_a_torn_fragment_across_pages() {
    let dir = tempfile::tempdir().unwrap();
    let mut catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap();
    let id = catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
    // One frame of 4032 bytes at 0, then a 1408-byte frame at 4032 crossing the 4096 page boundary.
    let mut segment = vec![0u8; 128 * 1024];
    le::put_i32(&mut segment, 0, 4032);
    le::put_i32(&mut segment, 4032, 1408);
    segment[4032 + 32..4096].fill(7);
    let path = dir.path().join("0-0.rec");
    std::fs::write(&path, &segment).unwrap();
    assert!(matches!(
        catalog.recover(dir.path(), 1),
        Err(ArchiveStorageError::IncompleteFragment { offset: 4032, .. })
    ));
    // With data in the page after the straddle the fragment counts as complete.
    segment[4096..4032 + 1408].fill(9);
    std::fs::write(&path, &segment).unwrap();
    assert_eq!(catalog.recover(dir.path(), 1).unwrap(), [(id, 4032 + 1408)]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn arbitrary_catalog_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        prefix in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut file = bytes.clone();
        if prefix && file.len() >= 32 {
            CatalogHeader::new(0, 64).encode_body(&mut file);
        }
        std::fs::write(dir.path().join(CATALOG_FILE_NAME), &file).unwrap();
        if let Ok(mut catalog) = Catalog::open(dir.path(), MIN_CATALOG_CAPACITY, FileSyncLevel::None) {
            let _ = catalog.list();
            let _ = catalog.entries();
            let _ = catalog.find_last(0, 0, 0, "x");
            let _ = catalog.recover(dir.path(), 0);
        }
    }
}
