//! The archive's threading modes: DEDICATED runs the conductor, the recorder and the replayer on threads of
//! their own; SHARED runs all three on one. Both record a live stream and replay it while it is recorded.

mod common;

use common::*;
use oxeron_archive::client::ReplayParams;
use oxeron_archive::server::ArchiveThreadingMode;
use oxeron_archive::{RecordingSignal, SourceLocation};
use oxeron_protocol::archive::REPLAY_ALL_AND_FOLLOW;

const LENGTH: usize = 200;

/// Names of this process's threads (as the kernel keeps them: at most 15 bytes).
fn thread_names() -> Vec<String> {
    let mut names = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let comm = task.expect("task").path().join("comm");
        if let Ok(name) = std::fs::read_to_string(comm) {
            names.push(name.trim().to_string());
        }
    }
    names
}

fn count_named(prefix: &str) -> usize {
    thread_names()
        .iter()
        .filter(|name| name.starts_with(prefix))
        .count()
}

fn record_and_follow(fixture: &Fixture) {
    let mut archive = fixture.client();
    let channel = "aeron:ipc?term-length=64k";
    let subscription_id = archive
        .start_recording(channel, RECORDED_STREAM, SourceLocation::Local, false)
        .expect("start recording");
    let publication = connected_publication(&fixture.aeron, channel, RECORDED_STREAM);
    let recording_id = archive
        .await_recording_signal(None, RecordingSignal::Start)
        .expect("start signal")
        .recording_id;
    publish(&publication, 0, 300, LENGTH);
    let (_, mut replay) = archive
        .replay(
            recording_id,
            "aeron:ipc",
            REPLAY_STREAM,
            ReplayParams::new(0, REPLAY_ALL_AND_FOLLOW),
        )
        .expect("replay");
    let first = receive(&mut replay, 0, 300, LENGTH);
    let end = publish(&publication, 300, 700, LENGTH);
    let rest = receive(&mut replay, 300, 700, LENGTH);
    assert_eq!(first.len() + rest.len(), 1000);
    assert_eq!(*rest.last().unwrap(), end);
    archive
        .stop_recording_subscription(subscription_id)
        .expect("stop recording");
    let stop = archive
        .await_recording_signal(Some(recording_id), RecordingSignal::Stop)
        .expect("stop signal");
    assert_eq!(stop.position, end);
    assert_eq!(archive.get_stop_position(recording_id).unwrap(), end);
}

#[test]
fn dedicated_and_shared_modes_record_and_replay_a_live_stream_on_their_threads() {
    for mode in [
        ArchiveThreadingMode::Dedicated,
        ArchiveThreadingMode::Shared,
    ] {
        let mut fixture = Fixture::new();
        fixture.restart_archive_with(|ctx| ctx.threading_mode(mode));
        let dedicated = usize::from(mode == ArchiveThreadingMode::Dedicated);
        // A thread names itself once it runs.
        wait_for("the archive's threads to name themselves", || {
            count_named("archive-") == 1 + 2 * dedicated
        });
        assert_eq!(
            count_named("archive-conduct"),
            1,
            "{mode:?}: {:?}",
            thread_names()
        );
        assert_eq!(count_named("archive-recorde"), dedicated, "{mode:?}");
        assert_eq!(count_named("archive-replaye"), dedicated, "{mode:?}");
        record_and_follow(&fixture);
        drop(fixture);
        assert_eq!(
            count_named("archive-"),
            0,
            "{mode:?}: threads left after close"
        );
    }
}
