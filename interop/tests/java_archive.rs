//! Java Aeron 1.54's archive against Oxeron's: Java's `AeronArchive` (a Java process, its Aeron client on an
//! Oxeron media driver) against an Oxeron archive, and Oxeron's `AeronArchive` against Java's
//! `ArchivingMediaDriver`, for record, extend, stop, list, find, replays, replay merge, persistent
//! subscriptions, truncate, purge, segment operations, replication both ways and challenge/response
//! authentication; then Java's `ArchiveTool` on directories Oxeron wrote (clean and after a SIGKILL) and
//! Oxeron's catalog verifier and archive on directories Java wrote.
//!
//! Message n carries n (`oxeron_cli::sample`); every replayed message is checked for its bytes and its position,
//! on whichever side receives it (`JavaArchiveClient` checks with the same rules). Control and data channels
//! use UDP ports 25000-25999, each test its own block of 50. Aeron directories live under `/dev/shm`, archive
//! directories in temporary directories, all deleted afterwards.

mod java_archive_support;

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use oxeron::archive::client::{
    AeronArchive, ArchiveError, ArchiveErrorCode, Context as ArchiveClientContext,
    PersistentSubscription, PersistentSubscriptionContext, ReplayMerge, ReplayParams,
    ReplicationParams, FROM_START, NULL_RECORDING_ID, REPLAY_ALL_AND_FOLLOW, REPLAY_ALL_AND_STOP,
};
use oxeron::archive::server::{Archive, AuthDecision, Authenticator, Context as ArchiveContext};
use oxeron::archive::{RecordingSignal, SourceLocation};
use oxeron::client::{Aeron, Context as ClientContext, Header};
use oxeron::driver::{Context as DriverContext, MediaDriver, ThreadingMode};
use oxeron_cli::catalog_tool::{self, CatalogSnapshot};
use oxeron_interop::java::JavaPeer;

use java_archive_support::*;
struct ChallengeAuthenticator;

impl Authenticator for ChallengeAuthenticator {
    fn on_connect(&self, _session: i64, credentials: &[u8]) -> AuthDecision {
        match credentials {
            b"admin" => AuthDecision::Accept,
            b"banned" => AuthDecision::Reject,
            _ => AuthDecision::Challenge(b"nonce-42".to_vec()),
        }
    }

    fn on_challenge_response(&self, _session: i64, credentials: &[u8]) -> AuthDecision {
        if credentials == b"secret:nonce-42" {
            AuthDecision::Accept
        } else {
            AuthDecision::Reject
        }
    }
}

/// ja1-ja6: Java's client records, extends, stops, lists, finds, replays (following, bounded, whole),
/// truncates and purges on an Oxeron archive.
#[test]
fn java_client_records_and_replays_on_an_oxeron_archive() {
    let Some(java) = JavaPeer::find("java_client_records_and_replays_on_an_oxeron_archive") else {
        return;
    };
    let node = OxeronDriver::launch();
    let archive_dir = tempfile::tempdir().unwrap();
    let control = udp(port(0, 0));
    let _archive =
        Archive::launch(node.archive_context(archive_dir.path(), Some(&control))).unwrap();
    let mut j = JavaClient::launch(&java, &node.aeron_dir());
    j.call(
        &format!("connect {control} {}", udp(port(0, 1))),
        "CONNECTED",
    );

    let channel = format!("aeron:ipc?term-length={TERM}");
    let sub = j
        .call(&format!("record {channel} 1001 LOCAL"), "SUBSCRIPTION")
        .i64(1);
    let p = j.call(&format!("pub p {channel} 1001 exclusive"), "PUB");
    let (session, initial_term_id) = (p.i64(2) as i32, p.i64(3) as i32);
    let start = j.call("await-signal START -1", "SIGNAL");
    let rec = start.i64(1);
    assert_eq!((start.i64(2), start.i64(3)), (sub, 0), "START signal");
    let end1 = j
        .call(&format!("publish p 0 1000 {SHORT}"), "PUBLISHED")
        .i64(1);
    assert_eq!(end1, 1000 * frame(SHORT));
    j.call(&format!("await-position {rec} {end1}"), "POSITION");

    let subs = j.call("subscriptions 0 10 aeron:ipc 1001 true", "LISTED");
    assert_eq!(subs.i64(1), 1);
    assert!(
        subs.before[0].starts_with(&format!("RSUB {sub} 1001 ")),
        "{:?}",
        subs.before
    );
    let listed = java_descriptors(&j.call("list 0 10", "LISTED"));
    assert_eq!(listed.len(), 1);
    let d = &listed[0];
    assert_eq!(
        (
            d.recording_id,
            d.start_position,
            d.stop_position,
            d.initial_term_id
        ),
        (rec, 0, -1, initial_term_id),
        "{d:?}"
    );
    assert_eq!(
        (
            d.segment_file_length,
            d.term_buffer_length,
            d.session_id,
            d.stream_id
        ),
        (SEGMENT as i32, TERM, session, 1001),
        "{d:?}"
    );
    assert_eq!(d.stripped_channel, "aeron:ipc", "{d:?}");
    assert!(d.original_channel.starts_with("aeron:ipc"), "{d:?}");
    let found = j
        .call(&format!("find 0 ipc 1001 {session}"), "FOUND")
        .i64(1);
    assert_eq!(found, rec);
    assert_eq!(j.call("find 0 ipc 9999 -1", "FOUND").i64(1), -1);

    // A following replay reads the recording, then what is recorded while it runs, then ends with it.
    j.call(
        &format!("start-replay f {rec} 0 {REPLAY_ALL_AND_FOLLOW} aeron:ipc 2001"),
        "REPLAY",
    );
    let read = j.call(&format!("read f 0 1000 {SHORT} 0 {TERM}"), "READ");
    assert_eq!(read.i64(2), end1);
    let end2 = j
        .call(&format!("publish p 1000 500 {SHORT}"), "PUBLISHED")
        .i64(1);
    let read = j.call(&format!("read f 1000 500 {SHORT} {end1} {TERM}"), "READ");
    assert_eq!(read.i64(2), end2);
    j.call(&format!("stop-sub {sub}"), "OK");
    let stop = j.call(&format!("await-signal STOP {rec}"), "SIGNAL");
    assert_eq!(stop.i64(3), end2);
    j.call("read-end f", "END");
    j.call("close-sub f", "OK");
    let positions = j.call(&format!("positions {rec}"), "POSITIONS");
    assert_eq!(
        (positions.i64(1), positions.i64(3), positions.i64(4)),
        (0, end2, end2)
    );

    // What Java published, Oxeron's client replays from the Oxeron archive too.
    let mut ox = node.client("aeron:ipc", "aeron:ipc");
    let end = replay_whole(&mut ox, rec, "aeron:ipc", 3001, (0, 1500, SHORT, 0));
    assert_eq!(end, end2);

    // Bounded replay from the middle, over UDP.
    let from = 500 * frame(SHORT);
    j.call(
        &format!(
            "replay b {rec} {from} {} {} 2002",
            200 * frame(SHORT),
            udp(port(0, 2))
        ),
        "REPLAY",
    );
    let read = j.call(&format!("read b 500 200 {SHORT} {from} {TERM}"), "READ");
    assert_eq!(read.i64(2), 700 * frame(SHORT));
    j.call("read-end b", "END");
    j.call("close-sub b", "OK");

    // Extend with a publication that resumes the stream where it stopped, then stop by channel.
    j.call("close-pub p", "OK");
    let ext = j
        .call(
            &format!("extend {rec} {channel} 1001 LOCAL"),
            "SUBSCRIPTION",
        )
        .i64(1);
    assert!(ext > 0);
    j.call(
        &format!(
            "pub e {} 1001 exclusive",
            resume_channel("aeron:ipc", initial_term_id, end2)
        ),
        "PUB",
    );
    let extend = j.call(&format!("await-signal EXTEND {rec}"), "SIGNAL");
    assert_eq!(extend.i64(3), end2);
    let end3 = j
        .call(&format!("publish e 1500 500 {SHORT}"), "PUBLISHED")
        .i64(1);
    j.call(&format!("await-position {rec} {end3}"), "POSITION");
    j.call(&format!("stop-channel {channel} 1001"), "OK");
    j.call(&format!("await-signal STOP {rec}"), "SIGNAL");
    let by_uri = java_descriptors(&j.call("list-uri 0 10 ipc 1001", "LISTED"));
    assert_eq!(by_uri.len(), 1);
    assert_eq!(
        (by_uri[0].start_position, by_uri[0].stop_position),
        (0, end3)
    );
    j.call(&format!("replay w {rec} 0 {end3} aeron:ipc 2003"), "REPLAY");
    j.call(&format!("read w 0 2000 {SHORT} 0 {TERM}"), "READ");
    j.call("read-end w", "END");
    j.call("close-sub w", "OK");
    j.call("close-pub e", "OK");

    // A second recording: stopped by identity, truncated, purged.
    j.call(&format!("record {channel} 1003 LOCAL"), "SUBSCRIPTION");
    j.call(&format!("pub q {channel} 1003 exclusive"), "PUB");
    let rec2 = j.call("await-signal START -1", "SIGNAL").i64(1);
    assert_ne!(rec2, rec);
    let endq = j
        .call(&format!("publish q 0 800 {SHORT}"), "PUBLISHED")
        .i64(1);
    j.call(&format!("await-position {rec2} {endq}"), "POSITION");
    assert_eq!(
        j.call(&format!("stop-id {rec2}"), "STOPPED").words[1],
        "true"
    );
    j.call(&format!("await-signal STOP {rec2}"), "SIGNAL");
    assert_eq!(
        j.fail(&format!("truncate {rec2} 33")),
        ArchiveErrorCode::InvalidPosition as i64
    );
    let cut = 400 * frame(SHORT);
    j.call(&format!("truncate {rec2} {cut}"), "OK");
    assert_eq!(
        j.call(&format!("positions {rec2}"), "POSITIONS").i64(3),
        cut
    );
    j.call(
        &format!("replay t {rec2} 0 {REPLAY_ALL_AND_STOP} aeron:ipc 2004"),
        "REPLAY",
    );
    j.call(&format!("read t 0 400 {SHORT} 0 {TERM}"), "READ");
    j.call("read-end t", "END");
    j.call("close-sub t", "OK");
    wait_for("the purge", || {
        j.request(&format!("purge {rec2}"), "OK").is_ok()
    });
    assert_eq!(j.call(&format!("list-one {rec2}"), "LISTED").i64(1), 0);
    assert!(segment_files(archive_dir.path(), rec2).is_empty());
    assert_eq!(
        j.fail("positions 999"),
        ArchiveErrorCode::UnknownRecording as i64
    );
    j.quit();
}

/// ja7-ja8: Java's client detaches, deletes, attaches and purges segments, and migrates them (from a recording
/// of another session), on an Oxeron archive; then `ArchiveTool verify` passes the directory.
#[test]
fn java_client_moves_segments_on_an_oxeron_archive() {
    let Some(java) = JavaPeer::find("java_client_moves_segments_on_an_oxeron_archive") else {
        return;
    };
    let node = OxeronDriver::launch();
    let archive_dir = tempfile::tempdir().unwrap();
    let dir = archive_dir.path();
    let control = udp(port(1, 0));
    let archive = Archive::launch(node.archive_context(dir, Some(&control))).unwrap();
    let mut j = JavaClient::launch(&java, &node.aeron_dir());
    j.call(
        &format!("connect {control} {}", udp(port(1, 1))),
        "CONNECTED",
    );
    let channel = format!("aeron:ipc?term-length={TERM}");
    let per_segment = (SEGMENT / frame(SHORT)) as u64;

    let sub = j
        .call(&format!("record {channel} 1005 LOCAL"), "SUBSCRIPTION")
        .i64(1);
    j.call(&format!("pub p {channel} 1005 exclusive"), "PUB");
    let rec = j.call("await-signal START -1", "SIGNAL").i64(1);
    let end = j
        .call(&format!("publish p 0 5000 {SHORT}"), "PUBLISHED")
        .i64(1);
    j.call(&format!("await-position {rec} {end}"), "POSITION");
    j.call(&format!("stop-sub {sub}"), "OK");
    j.call(&format!("await-signal STOP {rec}"), "SIGNAL");
    j.call("close-pub p", "OK");
    assert_eq!(segment_files(dir, rec).len(), 5);

    j.fail(&format!("detach {rec} 1024"));
    j.call(&format!("detach {rec} {}", 2 * SEGMENT), "OK");
    assert_eq!(
        j.call(&format!("positions {rec}"), "POSITIONS").i64(1),
        2 * SEGMENT
    );
    j.call(
        &format!("replay d {rec} -1 {REPLAY_ALL_AND_STOP} aeron:ipc 2005"),
        "REPLAY",
    );
    let read = j.call(
        &format!(
            "read d {} {} {SHORT} {} {TERM}",
            2 * per_segment,
            5000 - 2 * per_segment,
            2 * SEGMENT
        ),
        "READ",
    );
    assert_eq!(read.i64(2), end);
    j.call("read-end d", "END");
    j.call("close-sub d", "OK");
    assert_eq!(j.call(&format!("attach {rec}"), "COUNT").i64(1), 2);
    assert_eq!(j.call(&format!("positions {rec}"), "POSITIONS").i64(1), 0);
    j.call(&format!("detach {rec} {}", 2 * SEGMENT), "OK");
    assert_eq!(j.call(&format!("delete-detached {rec}"), "COUNT").i64(1), 2);
    wait_for("the detached segments to go", || {
        segment_files(dir, rec).len() == 3
    });
    assert_eq!(j.call(&format!("attach {rec}"), "COUNT").i64(1), 0);
    assert_eq!(
        j.call(&format!("purge-segments {rec} {}", 3 * SEGMENT), "COUNT")
            .i64(1),
        1
    );
    wait_for("the purged segment to go", || {
        segment_files(dir, rec).len() == 2
    });
    let mut ox = node.client("aeron:ipc", "aeron:ipc");
    replay_whole(
        &mut ox,
        rec,
        "aeron:ipc",
        3005,
        (3 * per_segment, 5000 - 3 * per_segment, SHORT, 3 * SEGMENT),
    );

    // Migration: a first recording of one segment, a second that continues it.
    let first_sub = j
        .call(&format!("record {channel} 1007 LOCAL"), "SUBSCRIPTION")
        .i64(1);
    let p = j.call(&format!("pub a {channel} 1007 exclusive"), "PUB");
    let initial_term_id = p.i64(3) as i32;
    let first = j.call("await-signal START -1", "SIGNAL").i64(1);
    j.call(&format!("publish a 0 {per_segment} {SHORT}"), "PUBLISHED");
    j.call(&format!("await-position {first} {SEGMENT}"), "POSITION");
    j.call(&format!("stop-sub {first_sub}"), "OK");
    j.call(&format!("await-signal STOP {first}"), "SIGNAL");
    j.call("close-pub a", "OK");
    let second_sub = j
        .call(&format!("record {channel} 1007 LOCAL"), "SUBSCRIPTION")
        .i64(1);
    j.call(
        &format!(
            "pub b {} 1007 exclusive",
            resume_channel("aeron:ipc", initial_term_id, SEGMENT)
        ),
        "PUB",
    );
    let second = j.call("await-signal START -1", "SIGNAL").i64(1);
    let end2 = j
        .call(
            &format!("publish b {per_segment} {per_segment} {SHORT}"),
            "PUBLISHED",
        )
        .i64(1);
    j.call(&format!("await-position {second} {end2}"), "POSITION");
    j.call(&format!("stop-sub {second_sub}"), "OK");
    j.call(&format!("await-signal STOP {second}"), "SIGNAL");
    j.call("close-pub b", "OK");
    assert_eq!(
        j.call(&format!("positions {second}"), "POSITIONS").i64(1),
        SEGMENT
    );
    j.fail(&format!("migrate {second} {first}"));
    assert_eq!(
        j.call(&format!("migrate {first} {second}"), "COUNT").i64(1),
        1
    );
    assert_eq!(
        j.call(&format!("positions {second}"), "POSITIONS").i64(1),
        0
    );
    wait_for("the first recording's segment to move", || {
        segment_files(dir, first).is_empty()
    });
    j.call(
        &format!("replay m {second} 0 {REPLAY_ALL_AND_STOP} aeron:ipc 2007"),
        "REPLAY",
    );
    let read = j.call(
        &format!("read m 0 {} {SHORT} 0 {TERM}", 2 * per_segment),
        "READ",
    );
    assert_eq!(read.i64(2), end2);
    j.call("read-end m", "END");
    j.quit();
    ox.close();
    archive.close();
    // The migrated segment keeps the first publication's session: Oxeron's verifier would refuse it (see
    // oxeron_verifies_segments_migrated_from_another_session).
    archive_tool_verify_passes(&java, dir, &[rec, second]);
}

/// ja9-ja10: Java's `ReplayMerge` and `PersistentSubscription` on a stream an Oxeron archive records.
#[test]
fn java_replay_merge_and_persistent_subscription_on_an_oxeron_archive() {
    let Some(java) =
        JavaPeer::find("java_replay_merge_and_persistent_subscription_on_an_oxeron_archive")
    else {
        return;
    };
    let node = OxeronDriver::launch();
    let publisher = OxeronDriver::launch();
    let archive_dir = tempfile::tempdir().unwrap();
    let control = udp(port(2, 0));
    let _archive =
        Archive::launch(node.archive_context(archive_dir.path(), Some(&control))).unwrap();
    let mut j = JavaClient::launch(&java, &node.aeron_dir());
    j.call(
        &format!("connect {control} {}", udp(port(2, 1))),
        "CONNECTED",
    );

    // The live stream: a manual multi-destination publication to the recording and the live endpoints.
    let (recording_endpoint, live_endpoint) = (udp(port(2, 3)), udp(port(2, 4)));
    let publication =
        publisher.manual_mdc_publication(1010, &[&recording_endpoint, &live_endpoint]);
    j.call(
        &format!("record {recording_endpoint} 1010 REMOTE"),
        "SUBSCRIPTION",
    );
    let rec = j.call("await-signal START -1", "SIGNAL").i64(1);
    wait_for("the recording to connect", || publication.is_connected());
    let end = publish(|m| publication.offer(m), 0, 2000, PADDED);
    j.call(&format!("await-position {rec} {end}"), "POSITION");

    j.call(
        &format!(
            "replay-merge {rec} aeron:udp?control-mode=manual 1010 aeron:udp?session-id={} {} {live_endpoint} 0 0 4000 {PADDED} {TERM}",
            publication.session_id(),
            udp(port(2, 5)),
        ),
        "MERGING",
    );
    let last = publish_paced(|m| publication.offer(m), 2000, 2000, PADDED);
    let merged = j.wait("MERGED");
    assert_eq!((merged.i64(1), merged.i64(2)), (4000, last));

    j.call(
        &format!(
            "persistent {rec} {live_endpoint} 1010 {} 2010 {FROM_START} {control} {} 0 6000 {PADDED} {TERM}",
            udp(port(2, 6)),
            udp(port(2, 7)),
        ),
        "FOLLOWING",
    );
    let last = publish_paced(|m| publication.offer(m), 4000, 2000, PADDED);
    let persistent = j.wait("PERSISTENT");
    assert_eq!((persistent.i64(1), persistent.i64(2)), (6000, last));
    assert_eq!(
        &persistent.words[3..5],
        ["true", "true"],
        "live, after replaying"
    );
    j.quit();
}

/// oa1-oa6: Oxeron's client records, extends, stops, lists, finds, replays, truncates and purges on Java's
/// archive.
#[test]
fn oxeron_client_records_and_replays_on_a_java_archive() {
    let Some(java) = JavaPeer::find("oxeron_client_records_and_replays_on_a_java_archive") else {
        return;
    };
    let archive_dir = tempfile::tempdir().unwrap();
    let ja = JavaArchive::launch(&java, archive_dir.path(), port(3, 0), &[]);
    let node = OxeronDriver::launch();
    let mut ox = node.client(&ja.control, &udp(port(3, 5)));
    let endpoint = udp(port(3, 6));
    let channel = format!("{endpoint}|term-length={TERM}");

    let sub = ox
        .start_recording(&endpoint, 1001, SourceLocation::Remote, false)
        .unwrap();
    let mut publication = node
        .aeron
        .add_exclusive_publication(&channel, 1001)
        .unwrap();
    wait_for("the recording to connect", || publication.is_connected());
    let start = await_signal(&mut ox, None, RecordingSignal::Start);
    let rec = start.recording_id;
    assert_eq!((start.subscription_id, start.position), (sub, 0));
    let end1 = publish(|m| publication.offer(m), 0, 1000, SHORT);
    wait_for("the recording", || {
        ox.get_recording_position(rec).unwrap() >= end1
    });

    let mut subs = Vec::new();
    ox.list_recording_subscriptions(0, 10, "localhost", 1001, true, |s| subs.push(s.clone()))
        .unwrap();
    assert_eq!(subs.len(), 1, "{subs:?}");
    assert_eq!((subs[0].subscription_id, subs[0].stream_id), (sub, 1001));
    let mut listed = Vec::new();
    ox.list_recordings(0, 10, |d| listed.push(d.clone()))
        .unwrap();
    assert_eq!(listed.len(), 1);
    let d = &listed[0];
    assert_eq!(
        (
            d.recording_id,
            d.start_position,
            d.stop_position,
            d.initial_term_id
        ),
        (rec, 0, -1, publication.initial_term_id()),
        "{d:?}"
    );
    assert_eq!(
        (
            d.segment_file_length,
            d.term_buffer_length,
            d.session_id,
            d.stream_id
        ),
        (SEGMENT as i32, TERM, publication.session_id(), 1001),
        "{d:?}"
    );
    assert_eq!(d.stripped_channel, endpoint, "{d:?}");
    assert_eq!(
        ox.find_last_matching_recording(0, "localhost", 1001, publication.session_id())
            .unwrap(),
        rec
    );
    assert_eq!(
        ox.find_last_matching_recording(0, "localhost", 9999, -1)
            .unwrap(),
        -1
    );

    // Following replay over UDP, while the recording grows, until it stops.
    let replay_channel = udp(port(3, 7));
    let (_, mut follow) = ox
        .replay(
            rec,
            &replay_channel,
            2001,
            ReplayParams::new(0, REPLAY_ALL_AND_FOLLOW),
        )
        .unwrap();
    let mut expect = Expect::new("following replay", 0, 1000, SHORT, 0);
    assert_eq!(receive(&mut follow, &mut expect), end1);
    let end2 = publish(|m| publication.offer(m), 1000, 500, SHORT);
    expect.end += 500;
    assert_eq!(receive(&mut follow, &mut expect), end2);
    ox.stop_recording_subscription(sub).unwrap();
    let stop = await_signal(&mut ox, Some(rec), RecordingSignal::Stop);
    assert_eq!(stop.position, end2);
    wait_end(&mut follow, "the following replay");
    drop(follow);
    assert_eq!(
        (
            ox.get_start_position(rec).unwrap(),
            ox.get_stop_position(rec).unwrap(),
            ox.get_max_recorded_position(rec).unwrap()
        ),
        (0, end2, end2)
    );

    // Bounded replay from the middle.
    let from = 500 * frame(SHORT);
    let (_, mut bounded) = ox
        .replay(
            rec,
            &udp(port(3, 8)),
            2002,
            ReplayParams::new(from, 200 * frame(SHORT)),
        )
        .unwrap();
    let end = receive(
        &mut bounded,
        &mut Expect::new("bounded replay", 500, 200, SHORT, from),
    );
    assert_eq!(end, 700 * frame(SHORT));
    wait_end(&mut bounded, "the bounded replay");
    drop(bounded);

    // Extension by a publication that resumes the stream; stop by channel.
    let initial_term_id = publication.initial_term_id();
    drop(publication);
    ox.extend_recording(rec, &endpoint, 1001, SourceLocation::Remote, false)
        .unwrap();
    let mut resumed = node
        .aeron
        .add_exclusive_publication(&resume_channel(&endpoint, initial_term_id, end2), 1001)
        .unwrap();
    wait_for("the extension to connect", || resumed.is_connected());
    let extend = await_signal(&mut ox, Some(rec), RecordingSignal::Extend);
    assert_eq!(extend.position, end2);
    let end3 = publish(|m| resumed.offer(m), 1500, 500, SHORT);
    wait_for("the extension", || {
        ox.get_recording_position(rec).unwrap() >= end3
    });
    ox.stop_recording(&endpoint, 1001).unwrap();
    await_signal(&mut ox, Some(rec), RecordingSignal::Stop);
    drop(resumed);
    let mut by_uri = Vec::new();
    ox.list_recordings_for_uri(0, 10, "localhost", 1001, |d| by_uri.push(d.clone()))
        .unwrap();
    assert_eq!(by_uri.len(), 1);
    assert_eq!(
        (by_uri[0].start_position, by_uri[0].stop_position),
        (0, end3)
    );
    replay_whole(&mut ox, rec, &udp(port(3, 9)), 2003, (0, 2000, SHORT, 0));

    // A second recording, with padded terms: stopped by identity, truncated, purged.
    let endpoint2 = udp(port(3, 10));
    ox.start_recording(&endpoint2, 1003, SourceLocation::Remote, false)
        .unwrap();
    let mut second = node
        .aeron
        .add_exclusive_publication(&format!("{endpoint2}|term-length={TERM}"), 1003)
        .unwrap();
    wait_for("the second recording to connect", || second.is_connected());
    let rec2 = await_signal(&mut ox, None, RecordingSignal::Start).recording_id;
    let end_second = publish(|m| second.offer(m), 0, 800, PADDED);
    wait_for("the second recording", || {
        ox.get_recording_position(rec2).unwrap() >= end_second
    });
    assert!(ox.stop_recording_by_identity(rec2).unwrap());
    await_signal(&mut ox, Some(rec2), RecordingSignal::Stop);
    drop(second);
    let error = ox.truncate_recording(rec2, 33).unwrap_err();
    assert!(matches!(error, ArchiveError::Archive { .. }), "{error}");
    let cut = end_of(0, 400, PADDED);
    ox.truncate_recording(rec2, cut).unwrap();
    assert_eq!(ox.get_stop_position(rec2).unwrap(), cut);
    replay_whole(&mut ox, rec2, &udp(port(3, 11)), 2004, (0, 400, PADDED, 0));
    wait_for("the purge", || ox.purge_recording(rec2).is_ok());
    assert!(ox.recording_descriptor(rec2).unwrap().is_none());
    assert!(segment_files(archive_dir.path(), rec2).is_empty());
    assert_eq!(
        ox.get_stop_position(999).unwrap_err().error_code(),
        Some(ArchiveErrorCode::UnknownRecording)
    );
    ox.close();
    ja.stop();
}

/// oa7-oa8: Oxeron's client detaches, deletes, attaches, purges and migrates segments on Java's archive; then
/// Oxeron's verifier passes the directory.
#[test]
fn oxeron_client_moves_segments_on_a_java_archive() {
    let Some(java) = JavaPeer::find("oxeron_client_moves_segments_on_a_java_archive") else {
        return;
    };
    let archive_dir = tempfile::tempdir().unwrap();
    let dir = archive_dir.path();
    let ja = JavaArchive::launch(&java, dir, port(4, 0), &[]);
    let node = OxeronDriver::launch();
    let mut ox = node.client(&ja.control, &udp(port(4, 5)));
    let per_segment = (SEGMENT / frame(SHORT)) as u64;
    let endpoint = udp(port(4, 6));

    let sub = ox
        .start_recording(&endpoint, 1005, SourceLocation::Remote, false)
        .unwrap();
    let mut publication = node
        .aeron
        .add_exclusive_publication(&format!("{endpoint}|term-length={TERM}"), 1005)
        .unwrap();
    wait_for("the recording to connect", || publication.is_connected());
    let rec = await_signal(&mut ox, None, RecordingSignal::Start).recording_id;
    let end = publish(|m| publication.offer(m), 0, 5000, SHORT);
    wait_for("the recording", || {
        ox.get_recording_position(rec).unwrap() >= end
    });
    ox.stop_recording_subscription(sub).unwrap();
    await_signal(&mut ox, Some(rec), RecordingSignal::Stop);
    drop(publication);
    assert_eq!(segment_files(dir, rec).len(), 5);

    assert!(ox.detach_segments(rec, 1024).is_err());
    ox.detach_segments(rec, 2 * SEGMENT).unwrap();
    assert_eq!(ox.get_start_position(rec).unwrap(), 2 * SEGMENT);
    replay_whole(
        &mut ox,
        rec,
        &udp(port(4, 7)),
        2005,
        (2 * per_segment, 5000 - 2 * per_segment, SHORT, 2 * SEGMENT),
    );
    assert_eq!(ox.attach_segments(rec).unwrap(), 2);
    assert_eq!(ox.get_start_position(rec).unwrap(), 0);
    ox.detach_segments(rec, 2 * SEGMENT).unwrap();
    assert_eq!(ox.delete_detached_segments(rec).unwrap(), 2);
    wait_for("the detached segments to go", || {
        segment_files(dir, rec).len() == 3
    });
    assert_eq!(ox.attach_segments(rec).unwrap(), 0);
    wait_for("the purge of a segment", || {
        ox.purge_segments(rec, 3 * SEGMENT).is_ok()
    });
    assert_eq!(ox.get_start_position(rec).unwrap(), 3 * SEGMENT);
    wait_for("the purged segment to go", || {
        segment_files(dir, rec).len() == 2
    });

    let (_, second) = migrate_on(&mut ox, &node, dir, (port(4, 8), port(4, 9)), true);
    ox.close();
    ja.stop();
    both_verifiers_pass(&java, dir, &[rec, second]);
}

/// Records one segment, then a second recording that continues it (with the first one's session id when
/// `same_session`, else a new one), migrates the first's segment to the second and replays it whole over
/// `ports.1`; returns both recording ids.
fn migrate_on(
    ox: &mut AeronArchive,
    node: &OxeronDriver,
    dir: &Path,
    ports: (u16, u16),
    same_session: bool,
) -> (i64, i64) {
    let per_segment = (SEGMENT / frame(SHORT)) as u64;
    let endpoint = udp(ports.0);
    let first_sub = ox
        .start_recording(&endpoint, 1007, SourceLocation::Remote, false)
        .unwrap();
    let mut a = node
        .aeron
        .add_exclusive_publication(&format!("{endpoint}|term-length={TERM}"), 1007)
        .unwrap();
    wait_for("the first recording to connect", || a.is_connected());
    let first = await_signal(ox, None, RecordingSignal::Start).recording_id;
    let (initial_term_id, session) = (a.initial_term_id(), a.session_id());
    publish(|m| a.offer(m), 0, per_segment, SHORT);
    wait_for("the first recording", || {
        ox.get_recording_position(first).unwrap() >= SEGMENT
    });
    ox.stop_recording_subscription(first_sub).unwrap();
    await_signal(ox, Some(first), RecordingSignal::Stop);
    drop(a);
    let second_sub = ox
        .start_recording(&endpoint, 1007, SourceLocation::Remote, false)
        .unwrap();
    let mut resume = resume_channel(&endpoint, initial_term_id, SEGMENT);
    if same_session {
        resume = format!("{resume}|session-id={session}");
    }
    // The first publication's session id is free once the driver let it linger.
    let mut b = None;
    wait_for("the session id to be free", || {
        b = node.aeron.add_exclusive_publication(&resume, 1007).ok();
        b.is_some()
    });
    let mut b = b.unwrap();
    wait_for("the second recording to connect", || b.is_connected());
    let second = await_signal(ox, None, RecordingSignal::Start).recording_id;
    let end = publish(|m| b.offer(m), per_segment, per_segment, SHORT);
    wait_for("the second recording", || {
        ox.get_recording_position(second).unwrap() >= end
    });
    ox.stop_recording_subscription(second_sub).unwrap();
    await_signal(ox, Some(second), RecordingSignal::Stop);
    drop(b);
    assert_eq!(ox.get_start_position(second).unwrap(), SEGMENT);
    assert!(ox.migrate_segments(second, first).is_err());
    assert_eq!(ox.migrate_segments(first, second).unwrap(), 1);
    assert_eq!(ox.get_start_position(second).unwrap(), 0);
    wait_for("the first recording's segment to move", || {
        segment_files(dir, first).is_empty()
    });
    let replayed = replay_whole(
        ox,
        second,
        &udp(ports.1),
        2007,
        (0, 2 * per_segment, SHORT, 0),
    );
    assert_eq!(replayed, end);
    (first, second)
}

/// oa11: Oxeron's verifier on a Java-written recording whose first segment was migrated from a recording of
/// another session (ArchiveTool accepts it).
#[test]
fn oxeron_verifies_segments_migrated_from_another_session() {
    let Some(java) = JavaPeer::find("oxeron_verifies_segments_migrated_from_another_session")
    else {
        return;
    };
    let archive_dir = tempfile::tempdir().unwrap();
    let ja = JavaArchive::launch(&java, archive_dir.path(), port(10, 0), &[]);
    let node = OxeronDriver::launch();
    let mut ox = node.client(&ja.control, &udp(port(10, 5)));
    let (_, second) = migrate_on(
        &mut ox,
        &node,
        archive_dir.path(),
        (port(10, 6), port(10, 7)),
        false,
    );
    ox.close();
    ja.stop();
    both_verifiers_pass(&java, archive_dir.path(), &[second]);
}

/// oa9-oa10: Oxeron's `ReplayMerge` and `PersistentSubscription` on a stream Java's archive records.
#[test]
fn oxeron_replay_merge_and_persistent_subscription_on_a_java_archive() {
    let Some(java) =
        JavaPeer::find("oxeron_replay_merge_and_persistent_subscription_on_a_java_archive")
    else {
        return;
    };
    let archive_dir = tempfile::tempdir().unwrap();
    let ja = JavaArchive::launch(&java, archive_dir.path(), port(5, 0), &[]);
    let node = OxeronDriver::launch();
    let publisher = OxeronDriver::launch();
    let mut ox = node.client(&ja.control, &udp(port(5, 5)));
    let (recording_endpoint, live_endpoint) = (udp(port(5, 6)), udp(port(5, 7)));
    let publication =
        publisher.manual_mdc_publication(1010, &[&recording_endpoint, &live_endpoint]);
    ox.start_recording(&recording_endpoint, 1010, SourceLocation::Remote, false)
        .unwrap();
    wait_for("the recording to connect", || publication.is_connected());
    let rec = await_signal(&mut ox, None, RecordingSignal::Start).recording_id;
    let end = publish(|m| publication.offer(m), 0, 2000, PADDED);
    wait_for("the recording", || {
        ox.get_recording_position(rec).unwrap() >= end
    });

    let subscription = node
        .aeron
        .add_subscription("aeron:udp?control-mode=manual", 1010)
        .unwrap();
    let mut merge = ReplayMerge::new(
        subscription,
        &ox,
        &format!("aeron:udp?session-id={}", publication.session_id()),
        &udp(port(5, 8)),
        &live_endpoint,
        rec,
        0,
    )
    .unwrap();
    let mut expect = Expect::new("replay merge", 0, 4000, PADDED, 0);
    let deadline = Instant::now() + WAIT;
    let mut next = 2000;
    while !(expect.done() && merge.is_merged()) {
        if next < 4000 {
            publish(|m| publication.offer(m), next, 1, PADDED);
            next += 1;
        }
        let n = merge
            .poll(&mut ox, |p: &[u8], h: &Header| expect.on_message(p, h), 64)
            .unwrap();
        assert!(!merge.has_failed(), "merge failed");
        if n == 0 {
            assert!(
                Instant::now() < deadline,
                "merge stalled at {} in {:?}",
                expect.next,
                merge.state()
            );
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    assert_eq!(expect.position, end_of(0, 4000, PADDED));
    drop(merge.close(&mut ox));

    let ctx = PersistentSubscriptionContext::new(
        rec,
        live_endpoint.as_str(),
        1010,
        udp(port(5, 9)),
        2010,
    );
    let mut persistent = PersistentSubscription::new(&mut ox, ctx).unwrap();
    let mut expect = Expect::new("persistent subscription", 0, 6000, PADDED, 0);
    let deadline = Instant::now() + WAIT;
    let mut next = 4000;
    while !(expect.done() && persistent.is_live()) {
        if next < 6000 {
            publish(|m| publication.offer(m), next, 1, PADDED);
            next += 1;
        }
        let n = persistent
            .poll(&mut ox, |p: &[u8], h: &Header| expect.on_message(p, h), 64)
            .unwrap();
        if n == 0 {
            assert!(
                Instant::now() < deadline,
                "persistent subscription stalled at {} in {:?}",
                expect.next,
                persistent.state()
            );
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    assert_eq!(persistent.position(), end_of(0, 6000, PADDED));
    drop(persistent);
    ox.close();
    ja.stop();
}

/// ar1-ar3: replication from Java's archive to Oxeron's (asked by Java's client) and from Oxeron's to Java's
/// (asked by Oxeron's client), whole and up to a stop position.
#[test]
fn replication_between_java_and_oxeron_archives() {
    let Some(java) = JavaPeer::find("replication_between_java_and_oxeron_archives") else {
        return;
    };
    let java_dir = tempfile::tempdir().unwrap();
    let ja = JavaArchive::launch(&java, java_dir.path(), port(6, 0), &[]);
    let node = OxeronDriver::launch();
    let oxeron_dir = tempfile::tempdir().unwrap();
    let oxeron_control = udp(port(6, 3));
    let _archive = Archive::launch(
        node.archive_context(oxeron_dir.path(), Some(&oxeron_control))
            .replication_channel(udp(port(6, 4))),
    )
    .unwrap();
    let mut to_java = node.client(&ja.control, &udp(port(6, 5)));
    let mut local = node.client("aeron:ipc", "aeron:ipc");

    // A recording in Java's archive, padded terms.
    let endpoint = udp(port(6, 7));
    let sub = to_java
        .start_recording(&endpoint, 1020, SourceLocation::Remote, false)
        .unwrap();
    let mut publication = node
        .aeron
        .add_exclusive_publication(&format!("{endpoint}|term-length={TERM}"), 1020)
        .unwrap();
    wait_for("the Java recording to connect", || {
        publication.is_connected()
    });
    let java_rec = await_signal(&mut to_java, None, RecordingSignal::Start).recording_id;
    let java_end = publish(|m| publication.offer(m), 0, 3000, PADDED);
    wait_for("the Java recording", || {
        to_java.get_recording_position(java_rec).unwrap() >= java_end
    });
    to_java.stop_recording_subscription(sub).unwrap();
    await_signal(&mut to_java, Some(java_rec), RecordingSignal::Stop);
    drop(publication);

    // Java's client asks the Oxeron archive to replicate it from Java's.
    let mut j = JavaClient::launch(&java, &node.aeron_dir());
    j.call(
        &format!("connect {oxeron_control} {}", udp(port(6, 8))),
        "CONNECTED",
    );
    j.call(
        &format!("replicate {java_rec} -1 10 {} -1 - -", ja.control),
        "REPLICATION",
    );
    let replicated = j.call("await-signal REPLICATE -1", "SIGNAL").i64(1);
    j.call(
        &format!("await-signal REPLICATE_END {replicated}"),
        "SIGNAL",
    );
    let d = java_descriptors(&j.call(&format!("list-one {replicated}"), "LISTED"));
    assert_eq!(
        (d[0].start_position, d[0].stop_position, d[0].stream_id),
        (0, java_end, 1020),
        "{d:?}"
    );
    j.call(
        &format!(
            "replay r {replicated} 0 {REPLAY_ALL_AND_STOP} {} 2020",
            udp(port(6, 9))
        ),
        "REPLAY",
    );
    let read = j.call(&format!("read r 0 3000 {PADDED} 0 {TERM}"), "READ");
    assert_eq!(read.i64(2), java_end);
    j.call("read-end r", "END");
    j.quit();
    replay_whole(
        &mut local,
        replicated,
        "aeron:ipc",
        3020,
        (0, 3000, PADDED, 0),
    );

    // A recording in the Oxeron archive, replicated into Java's: whole, and up to a stop position.
    let ipc = format!("aeron:ipc?term-length={TERM}");
    let sub = local
        .start_recording(&ipc, 1021, SourceLocation::Local, false)
        .unwrap();
    let mut ipc_publication = node.aeron.add_exclusive_publication(&ipc, 1021).unwrap();
    wait_for("the Oxeron recording to connect", || {
        ipc_publication.is_connected()
    });
    let oxeron_rec = await_signal(&mut local, None, RecordingSignal::Start).recording_id;
    let oxeron_end = publish(|m| ipc_publication.offer(m), 0, 2000, SHORT);
    wait_for("the Oxeron recording", || {
        local.get_recording_position(oxeron_rec).unwrap() >= oxeron_end
    });
    local.stop_recording_subscription(sub).unwrap();
    await_signal(&mut local, Some(oxeron_rec), RecordingSignal::Stop);
    drop(ipc_publication);

    to_java
        .replicate(oxeron_rec, NULL_RECORDING_ID, 10, &oxeron_control, "")
        .unwrap();
    let signals = signals_until_replicate_end(&mut to_java);
    let copy = signals
        .iter()
        .find(|s| s.signal == RecordingSignal::Replicate)
        .unwrap_or_else(|| panic!("no REPLICATE signal: {signals:?}"))
        .recording_id;
    let d = descriptor(&mut to_java, copy);
    assert_eq!(
        (d.start_position, d.stop_position, d.stream_id),
        (0, oxeron_end, 1021),
        "{d:?}"
    );
    replay_whole(
        &mut to_java,
        copy,
        &udp(port(6, 10)),
        2021,
        (0, 2000, SHORT, 0),
    );

    let stop_at = 1000 * frame(SHORT);
    to_java
        .replicate_with_params(
            oxeron_rec,
            10,
            &oxeron_control,
            &ReplicationParams {
                stop_position: stop_at,
                ..ReplicationParams::default()
            },
        )
        .unwrap();
    let signals = signals_until_replicate_end(&mut to_java);
    let part = signals
        .iter()
        .find(|s| s.signal == RecordingSignal::Replicate)
        .unwrap_or_else(|| panic!("no REPLICATE signal: {signals:?}"))
        .recording_id;
    assert_eq!(descriptor(&mut to_java, part).stop_position, stop_at);
    replay_whole(
        &mut to_java,
        part,
        &udp(port(6, 11)),
        2022,
        (0, 1000, SHORT, 0),
    );
    to_java.close();
    local.close();
    ja.stop();
}

/// au1-au2: challenge/response authentication: Java's client on an Oxeron archive with an authenticator, and
/// Oxeron's client on Java's archive with an `AuthenticatorSupplier`.
#[test]
fn authentication_both_ways() {
    let Some(java) = JavaPeer::find("authentication_both_ways") else {
        return;
    };
    let node = OxeronDriver::launch();
    let oxeron_dir = tempfile::tempdir().unwrap();
    let control = udp(port(7, 0));
    let _archive = Archive::launch(
        node.archive_context(oxeron_dir.path(), Some(&control))
            .authenticator(ChallengeAuthenticator),
    )
    .unwrap();
    let rejected = ArchiveErrorCode::AuthenticationRejected as i64;
    let mut j = JavaClient::launch(&java, &node.aeron_dir());
    let response = |n: u16| udp(port(7, 10 + n));
    j.call(
        &format!("connect {control} {} admin", response(0)),
        "CONNECTED",
    );
    assert_eq!(j.call("list 0 10", "LISTED").i64(1), 0);
    assert_eq!(
        j.fail(&format!("connect {control} {} banned", response(1))),
        rejected
    );
    j.call(
        &format!("connect {control} {} - secret:", response(2)),
        "CONNECTED",
    );
    assert_eq!(j.call("list 0 10", "LISTED").i64(1), 0);
    assert_eq!(
        j.fail(&format!("connect {control} {} - guess:", response(3))),
        rejected
    );
    assert_eq!(
        j.fail(&format!("connect {control} {}", response(4))),
        rejected
    );
    j.quit();

    let java_dir = tempfile::tempdir().unwrap();
    let ja = JavaArchive::launch(
        &java,
        java_dir.path(),
        port(7, 1),
        &[
            "-Daeron.archive.authenticator.supplier=io.oxeron.interop.JavaArchiveAuthenticator"
                .into(),
        ],
    );
    let context = |n: u16| node.client_context(&ja.control, &udp(port(7, 20 + n)));
    let mut admin = AeronArchive::connect(context(0).credentials(b"admin".to_vec())).unwrap();
    assert_eq!(admin.list_recordings(0, 10, |_| {}).unwrap(), 0);
    let banned = AeronArchive::connect(context(1).credentials(b"banned".to_vec())).unwrap_err();
    assert_eq!(
        banned.error_code(),
        Some(ArchiveErrorCode::AuthenticationRejected),
        "{banned}"
    );
    let mut answered = AeronArchive::connect(context(2).on_challenge(|challenge| {
        let mut answer = b"secret:".to_vec();
        answer.extend_from_slice(challenge);
        answer
    }))
    .unwrap();
    assert_eq!(answered.list_recordings(0, 10, |_| {}).unwrap(), 0);
    let wrong = AeronArchive::connect(context(3).on_challenge(|_| b"guess".to_vec())).unwrap_err();
    assert_eq!(
        wrong.error_code(),
        Some(ArchiveErrorCode::AuthenticationRejected),
        "{wrong}"
    );
    let unanswered = AeronArchive::connect(context(4)).unwrap_err();
    assert!(
        matches!(
            unanswered,
            ArchiveError::Archive { .. } | ArchiveError::Protocol(_)
        ),
        "{unanswered}"
    );
    admin.close();
    answered.close();
    ja.stop();
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An Oxeron driver and archive in a child process (this test binary again), killed by the test.
#[test]
#[ignore = "the child process of archive_tool_verifies_oxeron_archives_clean_and_after_a_crash"]
fn oxeron_archive_child_process() {
    let (Some(aeron_dir), Some(archive_dir)) = (
        std::env::var_os(CHILD_AERON_DIR),
        std::env::var_os(CHILD_ARCHIVE_DIR),
    ) else {
        return;
    };
    let _driver = MediaDriver::launch(
        DriverContext::new()
            .aeron_dir(&aeron_dir)
            .threading_mode(ThreadingMode::Shared)
            .ipc_term_buffer_length(TERM),
    )
    .expect("driver");
    let _archive = Archive::launch(
        ArchiveContext::new()
            .aeron_dir(&aeron_dir)
            .archive_dir(&archive_dir)
            .control_channel_enabled(false)
            .segment_file_length(SEGMENT as i32),
    )
    .expect("archive");
    std::fs::write(Path::new(&archive_dir).join("ready"), b"ready").unwrap();
    std::thread::sleep(Duration::from_secs(120));
}

fn describe_stop_position(describe: &str, recording_id: i64) -> i64 {
    let entry = describe
        .lines()
        .find(|l| l.contains(&format!("|recordingId={recording_id}|")))
        .unwrap_or_else(|| panic!("no recording {recording_id} described:\n{describe}"));
    entry
        .split('|')
        .find_map(|f| f.strip_prefix("stopPosition="))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no stop position in {entry}"))
}

/// at1-at2: Java's `ArchiveTool verify -a` and `describe` on archives Oxeron wrote: stopped cleanly, and killed
/// (SIGKILL) mid-recording; the crashed one then replays every recorded message from an Oxeron archive.
#[test]
fn archive_tool_verifies_oxeron_archives_clean_and_after_a_crash() {
    let Some(java) =
        JavaPeer::find("archive_tool_verifies_oxeron_archives_clean_and_after_a_crash")
    else {
        return;
    };
    let node = OxeronDriver::launch();
    let clean_dir = tempfile::tempdir().unwrap();
    let archive = Archive::launch(node.archive_context(clean_dir.path(), None)).unwrap();
    let mut ox = node.client("aeron:ipc", "aeron:ipc");
    let mut stops = Vec::new();
    for (stream, count, length) in [(1030, 3000, SHORT), (1031, 1000, PADDED)] {
        let channel = format!("aeron:ipc?term-length={TERM}");
        let sub = ox
            .start_recording(&channel, stream, SourceLocation::Local, false)
            .unwrap();
        let mut publication = node
            .aeron
            .add_exclusive_publication(&channel, stream)
            .unwrap();
        wait_for("the recording to connect", || publication.is_connected());
        let rec = await_signal(&mut ox, None, RecordingSignal::Start).recording_id;
        let end = publish(|m| publication.offer(m), 0, count, length);
        wait_for("the recording", || {
            ox.get_recording_position(rec).unwrap() >= end
        });
        ox.stop_recording_subscription(sub).unwrap();
        await_signal(&mut ox, Some(rec), RecordingSignal::Stop);
        stops.push((rec, end));
    }
    ox.close();
    archive.close();
    both_verifiers_pass(&java, clean_dir.path(), &[stops[0].0, stops[1].0]);
    let (status, describe) = archive_tool(&java, clean_dir.path(), &["describe"]);
    assert!(status.success(), "{describe}");
    for (rec, end) in &stops {
        assert_eq!(describe_stop_position(&describe, *rec), *end, "{describe}");
    }

    // Killed mid-recording.
    let child_shm = shm_dir();
    let child_aeron = child_shm.path().join("aeron");
    let crash_dir = tempfile::tempdir().unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "oxeron_archive_child_process",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_AERON_DIR, &child_aeron)
        .env(CHILD_ARCHIVE_DIR, crash_dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("archive child process");
    let mut child = KillOnDrop(child);
    wait_for("the archive child process", || {
        crash_dir.path().join("ready").exists()
    });
    let aeron = Aeron::connect(ClientContext::new().aeron_dir(&child_aeron)).unwrap();
    let mut archive = AeronArchive::connect(
        ArchiveClientContext::new()
            .aeron(aeron.clone())
            .control_request_channel("aeron:ipc")
            .control_response_channel("aeron:ipc"),
    )
    .unwrap();
    let channel = format!("aeron:ipc?term-length={TERM}");
    archive
        .start_recording(&channel, 1032, SourceLocation::Local, false)
        .unwrap();
    let mut publication = aeron.add_exclusive_publication(&channel, 1032).unwrap();
    wait_for("the recording to connect", || publication.is_connected());
    let rec = await_signal(&mut archive, None, RecordingSignal::Start).recording_id;
    let half = publish(|m| publication.offer(m), 0, 2500, SHORT);
    wait_for("part of the recording", || {
        archive.get_recording_position(rec).unwrap() >= half / 2
    });
    let known = archive.get_recording_position(rec).unwrap();
    // SIGKILL while the archive still records what was just published.
    let published = publish(|m| publication.offer(m), 2500, 500, SHORT);
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    drop(publication);
    drop(archive);
    drop(aeron);

    both_verifiers_pass(&java, crash_dir.path(), &[rec]);
    let (status, describe) = archive_tool(&java, crash_dir.path(), &["describe"]);
    assert!(status.success(), "{describe}");
    let stop = describe_stop_position(&describe, rec);
    assert!(
        stop >= known && stop <= published && stop % frame(SHORT) == 0,
        "stop position {stop}: recorded {known} before the kill, published to {published}"
    );
    std::thread::sleep(Duration::from_millis(1600));
    let _restarted = Archive::launch(node.archive_context(crash_dir.path(), None)).unwrap();
    let mut ox = node.client("aeron:ipc", "aeron:ipc");
    let count = (stop / frame(SHORT)) as u64;
    assert_eq!(
        replay_whole(&mut ox, rec, "aeron:ipc", 3032, (0, count, SHORT, 0)),
        stop
    );
    println!("killed after publishing 3000 messages; ArchiveTool recovered {count}");
}

/// cv1-cv2: Oxeron's catalog verifier and archive on directories Java's archive wrote: stopped cleanly and
/// killed (SIGKILL) with a recording active; an Oxeron archive then replays every message of each.
#[test]
fn oxeron_verifies_and_serves_java_archives() {
    let Some(java) = JavaPeer::find("oxeron_verifies_and_serves_java_archives") else {
        return;
    };
    let node = OxeronDriver::launch();
    let mut recorded = Vec::new();
    let mut dirs = Vec::new();
    for (n, kill) in [(0u16, false), (1, true)] {
        let dir = tempfile::tempdir().unwrap();
        let ja = JavaArchive::launch(&java, dir.path(), port(9, 10 * n), &[]);
        let mut ox = node.client(&ja.control, &udp(port(9, 10 * n + 5)));
        let mut publications = Vec::new();
        for (k, (count, length)) in [(2000u64, SHORT), (1500, PADDED)].into_iter().enumerate() {
            let endpoint = udp(port(9, 10 * n + 6 + k as u16));
            let stream = 1040 + k as i32;
            let sub = ox
                .start_recording(&endpoint, stream, SourceLocation::Remote, false)
                .unwrap();
            let mut publication = node
                .aeron
                .add_exclusive_publication(&format!("{endpoint}|term-length={TERM}"), stream)
                .unwrap();
            wait_for("the recording to connect", || publication.is_connected());
            let rec = await_signal(&mut ox, None, RecordingSignal::Start).recording_id;
            let end = publish(|m| publication.offer(m), 0, count, length);
            wait_for("the recording", || {
                ox.get_recording_position(rec).unwrap() >= end
            });
            // When the archive is killed, the second recording is still active.
            if !(kill && k == 1) {
                ox.stop_recording_subscription(sub).unwrap();
                await_signal(&mut ox, Some(rec), RecordingSignal::Stop);
            }
            recorded.push((dirs.len(), rec, count, length, end, kill && k == 1));
            publications.push(publication);
        }
        if kill {
            drop(ja.process);
        } else {
            ox.close();
            ja.stop();
        }
        dirs.push(dir);
    }

    for (index, dir) in dirs.iter().enumerate() {
        let snapshot = CatalogSnapshot::read(dir.path()).expect("Java's catalog");
        let report = catalog_tool::verify(&snapshot, |_, _| {});
        assert!(report.is_ok(), "{}", report.render());
        for &(_, rec, _, _, end, active) in recorded.iter().filter(|r| r.0 == index) {
            let verdict = report
                .recordings
                .iter()
                .find(|v| v.recording_id == rec)
                .unwrap_or_else(|| panic!("recording {rec} not verified:\n{}", report.render()));
            assert_eq!(
                (verdict.position, verdict.active),
                (end, active),
                "{}",
                report.render()
            );
        }
    }
    std::thread::sleep(Duration::from_millis(1600));
    for (index, dir) in dirs.iter().enumerate() {
        let archive = Archive::launch(node.archive_context(dir.path(), None)).unwrap();
        let mut ox = node.client("aeron:ipc", "aeron:ipc");
        for &(_, rec, count, length, end, _) in recorded.iter().filter(|r| r.0 == index) {
            assert_eq!(descriptor(&mut ox, rec).stop_position, end);
            assert_eq!(
                replay_whole(&mut ox, rec, "aeron:ipc", 3040, (0, count, length, 0)),
                end
            );
        }
        ox.close();
        archive.close();
    }
}
