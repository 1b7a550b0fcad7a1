//! Record and replay checksums through a real embedded media driver and archive: recorded frames carry
//! their CRC in the session id field, catalog descriptors carry theirs, replays check them and end with an
//! error at a corrupt frame.

mod common;

use common::*;
use std::os::unix::fs::FileExt;

use oxeron_archive::{Catalog, Checksum, FileSyncLevel};
use oxeron_protocol::frame::data::{HEADER_LENGTH, SESSION_ID_FIELD_OFFSET};
use oxeron_protocol::frame::{FRAME_ALIGNMENT, HDR_TYPE_PAD, TYPE_FIELD_OFFSET};
use oxeron_protocol::{align, le};

const LENGTH: usize = 200;

/// A fixture whose archive records and replays with `checksum`.
fn checksummed(checksum: Checksum) -> Fixture {
    let mut fixture = Fixture::new();
    fixture.restart_archive_with(|ctx| ctx.record_checksum(checksum).replay_checksum(checksum));
    fixture
}

/// (position, session id field, computed checksum) of every data frame in the recording's segment files.
fn recorded_checksums(
    fixture: &Fixture,
    recording_id: i64,
    checksum: Checksum,
) -> Vec<(i64, i32, i32)> {
    let mut frames = Vec::new();
    let mut segments: Vec<_> = std::fs::read_dir(&fixture.archive_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{recording_id}-")) && n.ends_with(".rec"))
        })
        .collect();
    segments.sort_by_key(|p| {
        let name = p.file_stem().unwrap().to_str().unwrap().to_string();
        name.split('-').nth(1).unwrap().parse::<i64>().unwrap()
    });
    for path in segments {
        let base: i64 = path
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .split('-')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let mut offset = 0;
        while offset + HEADER_LENGTH <= bytes.len() {
            let length = le::get_i32(&bytes, offset);
            if length <= 0 {
                break;
            }
            let aligned = align(length as usize, FRAME_ALIGNMENT);
            if le::get_u16(&bytes, offset + TYPE_FIELD_OFFSET) != HDR_TYPE_PAD {
                let frame = &bytes[offset..offset + aligned];
                frames.push((
                    base + offset as i64,
                    le::get_i32(frame, SESSION_ID_FIELD_OFFSET),
                    checksum.compute(&frame[HEADER_LENGTH..]),
                ));
            }
            offset += aligned;
        }
    }
    frames
}

#[test]
fn recorded_frames_and_descriptors_carry_their_checksums_and_replay_intact() {
    for checksum in [Checksum::Crc32, Checksum::Crc32c] {
        let mut fixture = checksummed(checksum);
        let mut archive = fixture.client();
        // Across two segment files (256 KiB each) and several terms.
        let (recording_id, stop) = record(
            &mut archive,
            &fixture.aeron,
            "aeron:ipc",
            RECORDED_STREAM,
            2_000,
            LENGTH,
        );
        let frames = recorded_checksums(&fixture, recording_id, checksum);
        assert_eq!(frames.len(), 2_000, "{checksum}");
        for (position, recorded, computed) in &frames {
            assert_eq!(recorded, computed, "{checksum}: frame at {position}");
        }
        // Replayed with the replay checksum on: every message, with the replay's own session id.
        let positions = replay_all(&mut archive, recording_id, 0, 2_000, LENGTH);
        assert_eq!(*positions.last().unwrap(), stop);
        assert!(archive.poll_for_errors().is_none());
        drop(archive);
        fixture.archive.take().unwrap().close();
        let catalog =
            Catalog::open(&fixture.archive_dir, 1024 * 1024, FileSyncLevel::None).unwrap();
        let entry = catalog.recording(recording_id).unwrap().unwrap();
        assert_eq!(entry.descriptor().unwrap().stop_position, stop);
        assert_eq!(
            entry.header.checksum,
            checksum.compute(entry.body()),
            "{checksum}: the descriptor checksum covers the stopped descriptor"
        );
    }
}

#[test]
fn a_replay_over_a_corrupt_frame_ends_with_a_checksum_error_naming_its_position() {
    let fixture = checksummed(Checksum::Crc32);
    let mut archive = fixture.client();
    let (recording_id, _) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        500,
        LENGTH,
    );
    let frame = align(HEADER_LENGTH + LENGTH, FRAME_ALIGNMENT) as u64;
    let corrupt_at = 300 * frame;
    let segment = fixture.archive_dir.join(format!("{recording_id}-0.rec"));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.write_all_at(&[0xFF], corrupt_at + HEADER_LENGTH as u64 + 40)
        .unwrap();
    drop(file);

    let mut subscription = replay_ipc(&mut archive, recording_id, 0, i64::MAX);
    let mut received = 0;
    let mut error = None;
    wait_for("the replay's checksum error", || {
        received += subscription.poll(|_: &[u8], _: &_| {}, 100);
        error = archive.poll_for_errors();
        error.is_some()
    });
    let text = error.unwrap().to_string();
    assert!(
        text.contains(&format!("CRC checksum mismatch at position={corrupt_at}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("recordingId={recording_id}")),
        "{text}"
    );
    assert!(
        received <= 300,
        "nothing at or after the corrupt frame was replayed: {received}"
    );

    // Without a replay checksum the same recording replays (the checksum is only checked when asked).
    drop(archive);
    let mut fixture = fixture;
    fixture.restart_archive_with(|ctx| ctx.record_checksum(Checksum::Crc32));
    let mut archive = fixture.client();
    let mut subscription = replay_ipc(&mut archive, recording_id, 0, 500 * frame as i64);
    let mut count = 0;
    wait_for("the unchecked replay", || {
        count += subscription.poll(|_: &[u8], _: &_| {}, 100);
        count >= 500
    });
}
