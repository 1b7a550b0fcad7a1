//! Replays through a real embedded media driver and archive: where a replay starts and ends, what it
//! follows, and when it is over.

mod common;

use common::*;
use std::time::{Duration, Instant};

use oxeron_archive::client::{AeronArchive, ReplayParams};
use oxeron_archive::{RecordingSignal, SourceLocation};
use oxeron_client::{Aeron, Publication, Subscription};
use oxeron_protocol::archive::ArchiveErrorCode;

#[test]
fn replay_from_a_middle_position_for_a_bounded_length() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    const LENGTH: usize = 200;
    let (recording_id, _) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        2_000,
        LENGTH,
    );
    let frame = (32 + LENGTH).next_multiple_of(32) as i64;
    let mut subscription = replay_ipc(&mut archive, recording_id, 500 * frame, 100 * frame);
    let positions = receive(&mut subscription, 500, 100, LENGTH);
    assert_eq!(positions[0], 501 * frame);
    assert_eq!(*positions.last().unwrap(), 600 * frame);
    wait_for("the bounded replay to end", || {
        subscription
            .images()
            .iter()
            .all(|i| i.is_end_of_stream() || i.is_closed())
    });
    let mut extra = 0;
    subscription.poll(|_, _| extra += 1, 10);
    assert_eq!(extra, 0, "replay went past its length");
}

#[test]
fn replay_follows_a_live_recording_until_it_stops() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    const LENGTH: usize = 128;
    let subscription_id = archive
        .start_recording("aeron:ipc", RECORDED_STREAM, SourceLocation::Local, false)
        .unwrap();
    let publication = connected_publication(&fixture.aeron, "aeron:ipc", RECORDED_STREAM);
    let recording_id = archive
        .await_recording_signal(None, RecordingSignal::Start)
        .unwrap()
        .recording_id;
    let first = publish(&publication, 0, 1000, LENGTH);
    wait_for("the first half to be recorded", || {
        archive.get_recording_position(recording_id).unwrap() >= first
    });
    let mut replay = replay_ipc(
        &mut archive,
        recording_id,
        0,
        oxeron_archive::client::REPLAY_ALL_AND_FOLLOW,
    );
    receive(&mut replay, 0, 1000, LENGTH);
    // Written after the replay reached the live position: it follows.
    let second = publish(&publication, 1000, 1000, LENGTH);
    let positions = receive(&mut replay, 1000, 1000, LENGTH);
    assert_eq!(*positions.last().unwrap(), second);
    wait_for("the recording to catch up", || {
        archive.get_recording_position(recording_id).unwrap() >= second
    });
    archive
        .stop_recording_subscription(subscription_id)
        .unwrap();
    wait_for_end(&mut replay);
}

#[test]
fn two_concurrent_replays() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    const LENGTH: usize = 500;
    let (recording_id, stop) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        3000,
        LENGTH,
    );
    let (_, mut a) = archive
        .replay(
            recording_id,
            "aeron:ipc",
            REPLAY_STREAM,
            ReplayParams::default(),
        )
        .unwrap();
    let (_, mut b) = archive
        .replay(
            recording_id,
            "aeron:ipc",
            REPLAY_STREAM + 1,
            ReplayParams::default(),
        )
        .unwrap();
    let ta = std::thread::spawn(move || receive(&mut a, 0, 3000, LENGTH));
    let positions = receive(&mut b, 0, 3000, LENGTH);
    assert_eq!(*positions.last().unwrap(), stop);
    assert_eq!(*ta.join().unwrap().last().unwrap(), stop);
}

#[test]
fn a_bounded_replay_follows_its_limit_counter() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    const LENGTH: usize = 96;
    let frame = (32 + LENGTH).next_multiple_of(32) as i64;
    let (recording_id, stop) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        1000,
        LENGTH,
    );
    let limit = fixture
        .aeron
        .add_counter(1001, &[], "replay limit")
        .unwrap();
    limit.set(300 * frame);
    let params = ReplayParams {
        bounding_limit_counter_id: limit.id(),
        ..ReplayParams::new(0, oxeron_archive::client::REPLAY_ALL_AND_FOLLOW)
    };
    let (_, mut replay) = archive
        .replay(recording_id, "aeron:ipc", REPLAY_STREAM, params)
        .unwrap();
    receive(&mut replay, 0, 300, LENGTH);
    std::thread::sleep(Duration::from_millis(50));
    let mut extra = 0;
    replay.poll(|_, _| extra += 1, 10);
    assert_eq!(extra, 0, "replayed past the limit counter");
    limit.set(600 * frame);
    receive(&mut replay, 300, 300, LENGTH);
    // Raising the limit past the recording never replays more than was recorded.
    limit.set(stop + 100 * frame);
    let positions = receive(&mut replay, 600, 400, LENGTH);
    assert_eq!(*positions.last().unwrap(), stop);
    drop(limit);
    wait_for_end(&mut replay);
}

#[test]
fn a_replay_nobody_subscribes_to_reports_an_error_later() {
    let mut fixture = Fixture::new();
    fixture.restart_archive_with(|ctx| ctx.connect_timeout(Duration::from_millis(300)));
    let mut archive = fixture.client();
    let (recording_id, _) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        10,
        64,
    );
    // start_replay (not replay): no subscription to the replay stream.
    archive
        .start_replay(
            recording_id,
            "aeron:ipc",
            REPLAY_STREAM,
            ReplayParams::default(),
        )
        .unwrap();
    let mut error = None;
    wait_for("the late replay error", || {
        error = archive.poll_for_errors();
        error.is_some()
    });
    let error = error.unwrap().to_string();
    assert!(error.contains("no connection established"), "{error}");
}

/// Starts recording `aeron:ipc` on the recorded stream and publishes `count` messages that it waits to
/// see recorded; returns the recording id and the still open publication.
fn live_recording(
    archive: &mut AeronArchive,
    aeron: &Aeron,
    count: usize,
    length: usize,
) -> (i64, Publication) {
    archive
        .start_recording("aeron:ipc", RECORDED_STREAM, SourceLocation::Local, false)
        .unwrap();
    let publication = connected_publication(aeron, "aeron:ipc", RECORDED_STREAM);
    let recording_id = archive
        .await_recording_signal(None, RecordingSignal::Start)
        .unwrap()
        .recording_id;
    let position = publish(&publication, 0, count, length);
    wait_for("the messages to be recorded", || {
        archive.get_recording_position(recording_id).unwrap() >= position
    });
    (recording_id, publication)
}

/// Asserts the replay image ends and holds nothing more to poll.
fn assert_ends_without_more(subscription: &mut Subscription) {
    wait_for_end(subscription);
    let mut extra = 0;
    subscription.poll(|_, _| extra += 1, 10);
    assert_eq!(extra, 0, "replay went past its length");
}

#[test]
fn a_bounded_replay_of_a_live_recording_stops_at_its_length() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    const LENGTH: usize = 100;
    let frame = (32 + LENGTH).next_multiple_of(32) as i64;
    let (recording_id, publication) = live_recording(&mut archive, &fixture.aeron, 1_000, LENGTH);
    let mut subscription = replay_ipc(&mut archive, recording_id, 200 * frame, 50 * frame);
    let positions = receive(&mut subscription, 200, 50, LENGTH);
    assert_eq!(*positions.last().unwrap(), 250 * frame);
    // Recorded while the replay runs: still not replayed.
    publish(&publication, 1_000, 100, LENGTH);
    assert_ends_without_more(&mut subscription);
}

#[test]
fn a_replay_length_that_ends_inside_a_frame_replays_that_frame_whole() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    const LENGTH: usize = 100;
    let frame = (32 + LENGTH).next_multiple_of(32) as i64;
    let (stopped, _) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM + 1,
        100,
        LENGTH,
    );
    let (live, _publication) = live_recording(&mut archive, &fixture.aeron, 100, LENGTH);
    for recording_id in [stopped, live] {
        let mut subscription = replay_ipc(&mut archive, recording_id, 10 * frame, 5 * frame + 1);
        let positions = receive(&mut subscription, 10, 6, LENGTH);
        assert_eq!(*positions.last().unwrap(), 16 * frame);
        assert_ends_without_more(&mut subscription);
    }
}

#[test]
fn a_replay_whose_subscriber_leaves_ends() {
    let mut fixture = Fixture::new();
    fixture.restart_archive_with(|ctx| ctx.max_concurrent_replays(1));
    let mut archive = fixture.client();
    const LENGTH: usize = 64;
    let (recording_id, _publication) = live_recording(&mut archive, &fixture.aeron, 100, LENGTH);
    let mut subscription = replay_ipc(
        &mut archive,
        recording_id,
        0,
        oxeron_archive::client::REPLAY_ALL_AND_FOLLOW,
    );
    receive(&mut subscription, 0, 100, LENGTH);
    drop(subscription);
    // The following replay would never end by itself; once its subscriber left, it holds no replay slot.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match archive.start_replay(
            recording_id,
            "aeron:ipc",
            REPLAY_STREAM,
            ReplayParams::new(0, 10 * (32 + LENGTH as i64)),
        ) {
            Ok(_) => break,
            Err(e) => {
                assert_eq!(e.error_code(), Some(ArchiveErrorCode::MaxReplays), "{e}");
                assert!(
                    Instant::now() < deadline,
                    "the replay whose subscriber left still runs"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    assert!(
        archive.poll_for_errors().is_none(),
        "a subscriber leaving is no error"
    );
}

#[test]
fn a_replay_over_a_segment_truncated_by_a_crash_ends_with_an_error_naming_the_file() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    const LENGTH: usize = 200;
    let (recording_id, stop) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        1_000,
        LENGTH,
    );
    // What a crash before the page cache reached the disk leaves: the segment cut short of the stop position.
    let segment = fixture.archive_dir.join(format!("{recording_id}-0.rec"));
    let cut = (stop / 2) as u64;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .and_then(|file| file.set_len(cut))
        .unwrap();
    let (text, received) = replay_until_error(&mut archive, recording_id, stop);
    assert!(
        text.contains(&format!("recordingId={recording_id}"))
            && text.contains(&format!("{recording_id}-0.rec")),
        "{text}"
    );
    assert!(
        text.contains(&format!("at position {}", cut / 32 * 32)),
        "{text}"
    );
    assert!(received > 0, "the intact part was replayed first");
}

/// Replays the whole recording and returns the error the archive reports, with how many messages came
/// before it.
fn replay_until_error(archive: &mut AeronArchive, recording_id: i64, stop: i64) -> (String, usize) {
    let started = Instant::now();
    let mut subscription = replay_ipc(archive, recording_id, 0, stop);
    let mut error = None;
    let mut received = 0;
    wait_for("the replay's error", || {
        received += subscription.poll(|_: &[u8], _: &_| {}, 100);
        error = archive.poll_for_errors();
        error.is_some()
    });
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    (error.unwrap().to_string(), received)
}

#[test]
fn a_replay_over_a_missing_segment_file_ends_with_an_error_naming_it() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    const LENGTH: usize = 200;
    // 256 KiB segments: 2,000 frames of 256 bytes span two.
    let (recording_id, stop) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        2_000,
        LENGTH,
    );
    let second = fixture
        .archive_dir
        .join(format!("{recording_id}-{}.rec", 256 * 1024));
    std::fs::remove_file(&second).unwrap();
    let (text, received) = replay_until_error(&mut archive, recording_id, stop);
    assert!(
        text.contains(&format!("recordingId={recording_id}"))
            && text.contains(&format!("{recording_id}-262144.rec")),
        "{text}"
    );
    assert_eq!(received, 1024, "the first segment was replayed whole");
}

#[test]
fn a_replay_over_a_corrupt_frame_length_ends_with_an_error_naming_the_position() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    const LENGTH: usize = 200;
    let (recording_id, stop) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        500,
        LENGTH,
    );
    use std::os::unix::fs::FileExt;
    let segment = fixture.archive_dir.join(format!("{recording_id}-0.rec"));
    let at = 100 * 256;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .and_then(|f| f.write_all_at(&(-5i32).to_le_bytes(), at))
        .unwrap();
    let (text, received) = replay_until_error(&mut archive, recording_id, stop);
    assert!(text.contains(&format!("at position {at}")), "{text}");
    assert!(
        text.contains(&format!("recordingId={recording_id}")),
        "{text}"
    );
    assert!(received <= 100, "{received}");
}
