//! The golden Java Aeron Archive 1.54 directory read by our catalog, segment reader and mark file code.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oxeron_archive::mark::LIVENESS_TIMEOUT_MS;
use oxeron_archive::{
    ArchiveMarkFile, ArchiveStorageError, Catalog, FileSyncLevel, SegmentReader,
    DEFAULT_CATALOG_CAPACITY,
};
use oxeron_protocol::archive::{RecordingDescriptor, RecordingState};
use oxeron_protocol::frame::data::{BEGIN_FLAG, END_FLAG};

fn golden() -> PathBuf {
    oxeron_testkit::golden_dir().join("aeron-java-archive-1.54")
}

/// A writable copy of the golden archive directory (the data files only).
fn copy_golden() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(golden()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.ends_with(".rec") || name == "archive.catalog" || name == "archive-mark.dat" {
            let to = dir.path().join(&name);
            std::fs::copy(entry.path(), &to).unwrap();
            let mut perms = std::fs::metadata(&to).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&to, perms).unwrap();
        }
    }
    dir
}

/// The `RecordingDescriptor:` lines of a listing, as field maps, after the last line containing `section`.
fn listing(file: &str, section: &str) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(golden().join(file)).unwrap();
    let start = text.rfind(section).unwrap();
    text[start..]
        .lines()
        .filter_map(|line| line.strip_prefix("RecordingDescriptor: "))
        .map(|line| {
            line.split(' ')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect()
        })
        .collect()
}

fn assert_matches(d: &RecordingDescriptor<'_>, expected: &HashMap<String, String>) {
    let num = |k: &str| expected[k].parse::<i64>().unwrap();
    assert_eq!(d.control_session_id, 0);
    assert_eq!(d.correlation_id, 0);
    assert_eq!(d.recording_id, num("recordingId"));
    assert_eq!(d.start_timestamp, num("startTimestamp"));
    assert_eq!(d.stop_timestamp, num("stopTimestamp"));
    assert_eq!(d.start_position, num("startPosition"));
    assert_eq!(d.stop_position, num("stopPosition"));
    assert_eq!(i64::from(d.initial_term_id), num("initialTermId"));
    assert_eq!(i64::from(d.segment_file_length), num("segmentFileLength"));
    assert_eq!(i64::from(d.term_buffer_length), num("termBufferLength"));
    assert_eq!(i64::from(d.mtu_length), num("mtuLength"));
    assert_eq!(i64::from(d.session_id), num("sessionId"));
    assert_eq!(i64::from(d.stream_id), num("streamId"));
    assert_eq!(d.stripped_channel, expected["strippedChannel"]);
    assert_eq!(d.original_channel, expected["originalChannel"]);
    assert_eq!(d.source_identity, expected["sourceIdentity"]);
}

fn payload(i: u32) -> Vec<u8> {
    let len = if i % 500 == 0 {
        3000
    } else {
        32 + (i % 200) as usize
    };
    let mut v = format!("msg-{i}-").into_bytes();
    let p = v.len();
    v.extend((0..len - p).map(|k| ((i as usize + k) & 0xFF) as u8));
    v
}

#[test]
fn lists_the_golden_catalog() {
    let dir = copy_golden();
    let catalog = Catalog::open(dir.path(), DEFAULT_CATALOG_CAPACITY, FileSyncLevel::None).unwrap();
    assert_eq!(catalog.next_recording_id(), 3);
    assert_eq!(catalog.alignment(), 64);
    assert_eq!(catalog.capacity(), 1_048_576);
    let expected = listing("recordings.txt", "with C ACTIVE");
    let recordings = catalog.list().unwrap();
    assert_eq!(recordings.len(), 3);
    assert_eq!(expected.len(), 3);
    for (r, e) in recordings.iter().zip(&expected) {
        assert_eq!(r.state(), RecordingState::Valid);
        assert_matches(&r.descriptor().unwrap(), e);
    }
    assert_eq!(
        recordings.iter().map(|r| r.offset).collect::<Vec<_>>(),
        [32, 224, 480]
    );
    assert_eq!(
        recordings
            .iter()
            .map(|r| r.header.length)
            .collect::<Vec<_>>(),
        [160, 224, 160]
    );
    let one = catalog.recording(1).unwrap().unwrap();
    assert_matches(&one.descriptor().unwrap(), &expected[1]);
    assert!(catalog.recording(3).unwrap().is_none());
    assert_eq!(catalog.stop_position(0).unwrap(), 927_936);

    // findLastMatchingRecording: channel fragment + stream + session.
    assert_eq!(
        catalog.find_last(0, -2_050_728_755, 1003, "ipc").unwrap(),
        Some(2)
    );
    assert_eq!(
        catalog.find_last(0, -2_050_728_756, 1002, "24500").unwrap(),
        Some(1)
    );
    assert_eq!(
        catalog.find_last(2, -2_050_728_756, 1002, "").unwrap(),
        None
    );
    assert_eq!(
        catalog.find_last(0, -2_050_728_757, 1001, "udp").unwrap(),
        None
    );
    // The copy is unchanged by opening it.
    assert_eq!(
        std::fs::read(dir.path().join("archive.catalog")).unwrap(),
        std::fs::read(golden().join("archive.catalog")).unwrap()
    );
}

#[test]
fn recovery_matches_the_java_restart() {
    let dir = copy_golden();
    let expected = listing("recordings-after-restart.txt", "#");
    let restart_time: i64 = expected[2]["stopTimestamp"].parse().unwrap();
    {
        let mut catalog =
            Catalog::open(dir.path(), DEFAULT_CATALOG_CAPACITY, FileSyncLevel::Data).unwrap();
        let fixed = catalog.recover(dir.path(), restart_time).unwrap();
        assert_eq!(fixed, [(2, 15_968)]);
        // Nothing left to fix.
        assert_eq!(catalog.recover(dir.path(), restart_time + 1).unwrap(), []);
    }
    let catalog = Catalog::open(dir.path(), DEFAULT_CATALOG_CAPACITY, FileSyncLevel::None).unwrap();
    let recordings = catalog.list().unwrap();
    for (r, e) in recordings.iter().zip(&expected) {
        assert_matches(&r.descriptor().unwrap(), e);
    }

    // On the full-length segment files, as the Java archive saw them, the result is the same.
    let full = copy_golden();
    for entry in std::fs::read_dir(full.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rec") {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(262_144)
                .unwrap();
        }
    }
    let mut catalog =
        Catalog::open(full.path(), DEFAULT_CATALOG_CAPACITY, FileSyncLevel::None).unwrap();
    assert_eq!(
        catalog.recover(full.path(), restart_time).unwrap(),
        [(2, 15_968)]
    );
}

fn check_recording(dir: &Path, recording_id: i64, messages: u32, frames: usize, pads: &[i64]) {
    let catalog = Catalog::open(dir, DEFAULT_CATALOG_CAPACITY, FileSyncLevel::None).unwrap();
    let entry = catalog.recording(recording_id).unwrap().unwrap();
    let d = entry.descriptor().unwrap();
    let stop = if d.stop_position == -1 {
        15_968
    } else {
        d.stop_position
    };
    let reader = SegmentReader::new(
        dir,
        recording_id,
        d.start_position,
        d.term_buffer_length,
        d.segment_file_length,
        d.start_position,
        stop,
    )
    .unwrap();
    let mut next_message = 0u32;
    let mut assembling: Option<(i64, Vec<u8>)> = None;
    let mut message_positions = Vec::new();
    let mut seen_pads = Vec::new();
    let mut count = 0;
    let mut last_end = 0;
    for frame in reader {
        let frame = frame.unwrap();
        count += 1;
        let h = frame.header;
        assert_eq!(frame.position, last_end);
        last_end = frame.position + frame.aligned_length() as i64;
        assert_eq!(
            i64::from(h.term_id),
            i64::from(d.initial_term_id) + frame.position / 65_536
        );
        assert_eq!(i64::from(h.term_offset), frame.position % 65_536);
        if frame.is_padding() {
            seen_pads.push(frame.position);
            continue;
        }
        assert_eq!(h.session_id, d.session_id);
        assert_eq!(h.stream_id, d.stream_id);
        if h.flags & BEGIN_FLAG != 0 {
            assert!(assembling.is_none());
            assembling = Some((frame.position, Vec::new()));
        }
        let (start, bytes) = assembling.as_mut().expect("fragment without BEGIN");
        bytes.extend_from_slice(&frame.payload);
        if h.flags & END_FLAG != 0 {
            assert_eq!(*bytes, payload(next_message), "message {next_message}");
            message_positions.push(*start);
            next_message += 1;
            assembling = None;
        }
    }
    assert_eq!(last_end, stop);
    assert_eq!(next_message, messages);
    assert_eq!(count, frames);
    assert_eq!(seen_pads, pads);
    if recording_id == 0 {
        assert_eq!(message_positions[..4], [0, 3104, 3200, 3296]);
        assert_eq!(message_positions[4999], 927_648);
    }
    if recording_id == 2 {
        assert_eq!(message_positions[99], 15_776);
    }
}

#[test]
fn reads_every_recorded_message() {
    let dir = copy_golden();
    check_recording(
        dir.path(),
        0,
        5000,
        5033,
        &[
            65_344, 130_912, 196_576, 262_080, 327_552, 393_184, 524_192, 589_696, 655_200,
            720_832, 786_400, 851_840, 917_344,
        ],
    );
    check_recording(dir.path(), 1, 1000, 1006, &[65_344, 130_912]);
    check_recording(dir.path(), 2, 100, 102, &[]);
}

#[test]
fn reads_from_a_middle_position_and_stops_at_bad_frames() {
    let dir = copy_golden();
    // Message 2 of recording 0 starts at 3200.
    let mut reader = SegmentReader::new(dir.path(), 0, 0, 65_536, 262_144, 3200, 927_936).unwrap();
    let frame = reader.next_frame().unwrap().unwrap();
    assert_eq!(frame.payload, payload(2));
    assert_eq!(reader.position(), 3296);
    // A misaligned start is refused.
    assert!(SegmentReader::new(dir.path(), 0, 0, 65_536, 262_144, 3201, 927_936).is_err());
    // Reading past what recording 2 holds hits a zero frame length: a typed error.
    let mut reader = SegmentReader::new(dir.path(), 2, 0, 65_536, 262_144, 15_968, 20_000).unwrap();
    assert!(matches!(
        reader.next_frame(),
        Err(ArchiveStorageError::InvalidFrame { .. })
    ));
    // A corrupted frame length.
    let path = dir.path().join("1-0.rec");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[3104..3108].copy_from_slice(&70_000i32.to_le_bytes());
    std::fs::write(&path, bytes).unwrap();
    let reader = SegmentReader::new(dir.path(), 1, 0, 65_536, 262_144, 0, 185_664).unwrap();
    let results: Vec<_> = reader.collect();
    assert!(matches!(
        results.last(),
        Some(Err(ArchiveStorageError::InvalidFrame {
            position: 3104,
            length: 70_000,
            ..
        }))
    ));
}

#[test]
fn golden_mark_file() {
    let dir = copy_golden();
    let mark = ArchiveMarkFile::open(dir.path()).unwrap();
    mark.with_header(|h| {
        assert_eq!(h.version, 196_864);
        assert_eq!(h.activity_timestamp, 1_795_528_921_684);
        assert_eq!(h.start_timestamp, 1_795_528_914_491);
        assert_eq!(h.pid, 23_942);
        assert_eq!(
            (
                h.control_stream_id,
                h.local_control_stream_id,
                h.events_stream_id
            ),
            (10, 10, 30)
        );
        assert_eq!((h.header_length, h.error_buffer_length), (8192, 1_048_576));
        assert_eq!(h.archive_id, 1);
        assert_eq!(h.control_channel, "aeron:udp?endpoint=localhost:8010");
        assert_eq!(h.local_control_channel, "aeron:ipc?term-length=64k");
        assert_eq!(h.events_channel, "");
        assert_eq!(h.aeron_directory, "/dev/shm/aeron-golden");
    })
    .unwrap();
    assert_eq!(mark.error_buffer().unwrap().unwrap().capacity(), 1_048_576);
    let t = mark.activity_timestamp();
    drop(mark);
    // Liveness needs the recorded pid to run here: make it this test's.
    let path = dir.path().join("archive-mark.dat");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[32..40].copy_from_slice(&i64::from(std::process::id()).to_le_bytes());
    std::fs::write(&path, bytes).unwrap();
    assert!(ArchiveMarkFile::is_active(dir.path(), t + 5_000, LIVENESS_TIMEOUT_MS).unwrap());
    assert!(!ArchiveMarkFile::is_active(dir.path(), t + 20_000, LIVENESS_TIMEOUT_MS).unwrap());
}
