//! The archive server and client through a real embedded media driver: each test has its own Aeron and
//! archive directories, and every wait has a deadline.

mod common;

use common::*;
use std::time::{Duration, Instant};

use oxeron_archive::client::{
    AeronArchive, Context as ArchiveClientContext, ReplayParams, ReplicationParams,
};
use oxeron_archive::server::{Archive, Context as ArchiveContext};
use oxeron_archive::{ArchiveError, RecordingSignal, SourceLocation};
use oxeron_client::{FragmentAssembler, Header};
use oxeron_protocol::archive::ArchiveErrorCode;

#[test]
fn seed_workflow_records_and_replays_every_message_with_its_position() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    assert_eq!(
        archive.archive_id(),
        fixture.archive.as_ref().unwrap().archive_id()
    );
    const COUNT: usize = 10_000;
    const LENGTH: usize = 100;
    let channel = "aeron:ipc?term-length=65536";
    let (recording_id, stop_position) = record(
        &mut archive,
        &fixture.aeron,
        channel,
        RECORDED_STREAM,
        COUNT,
        LENGTH,
    );

    let descriptor = archive
        .recording_descriptor(recording_id)
        .unwrap()
        .expect("listed");
    let found = archive
        .find_last_matching_recording(0, "aeron:ipc", RECORDED_STREAM, descriptor.session_id)
        .unwrap();
    assert_eq!(found, recording_id);
    assert_eq!(descriptor.start_position, 0);
    assert_eq!(descriptor.stop_position, stop_position);
    assert_eq!(descriptor.stream_id, RECORDED_STREAM);
    assert_eq!(descriptor.stripped_channel, "aeron:ipc");
    assert_eq!(descriptor.original_channel, channel);
    assert_eq!(descriptor.term_buffer_length, 65536);
    assert_eq!(
        archive.get_stop_position(recording_id).unwrap(),
        stop_position
    );
    assert_eq!(archive.get_recording_position(recording_id).unwrap(), -1);

    let (replay_session_id, mut subscription) = archive
        .replay(
            recording_id,
            "aeron:ipc",
            REPLAY_STREAM,
            ReplayParams::default(),
        )
        .expect("replay");
    assert_ne!(replay_session_id >> 32, 0);
    let positions = receive(&mut subscription, 0, COUNT, LENGTH);
    let frame = (32 + LENGTH).next_multiple_of(32) as i64;
    assert_eq!(positions[0], frame);
    assert_eq!(*positions.last().unwrap(), stop_position);
    wait_for("the replay to end", || {
        subscription
            .images()
            .iter()
            .all(|i| i.is_end_of_stream() || i.is_closed())
    });
}

#[test]
fn unknown_recordings_and_bad_positions_get_archive_errors() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    let error = archive
        .start_replay(42, "aeron:ipc", REPLAY_STREAM, ReplayParams::default())
        .unwrap_err();
    assert_eq!(
        error.error_code(),
        Some(ArchiveErrorCode::UnknownRecording),
        "{error}"
    );
    assert!(matches!(
        archive.get_stop_position(7),
        Err(ArchiveError::Archive { .. })
    ));
    assert!(archive.recording_descriptor(3).unwrap().is_none());
    let (recording_id, stop) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        10,
        64,
    );
    let error = archive
        .start_replay(
            recording_id,
            "aeron:ipc",
            REPLAY_STREAM,
            ReplayParams::new(stop + 32, 32),
        )
        .unwrap_err();
    assert_eq!(
        error.error_code(),
        Some(ArchiveErrorCode::InvalidPosition),
        "{error}"
    );
    let error = archive
        .start_recording("aeron:bogus", 5, SourceLocation::Local, false)
        .unwrap_err();
    assert!(matches!(error, ArchiveError::Archive { .. }), "{error}");
    // The session still serves requests after the errors.
    assert_eq!(archive.get_stop_position(recording_id).unwrap(), stop);
}

/// The payload rule of the golden Java archive's recordings (`messages.md`).
fn golden_payload(i: u32) -> Vec<u8> {
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
fn serves_and_replays_an_archive_written_by_the_java_archive() {
    let golden = oxeron_testkit::golden_dir().join("aeron-java-archive-1.54");
    let fixture = Fixture::with_archive_dir(|dir| {
        for entry in std::fs::read_dir(&golden).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            if name.ends_with(".rec") || name == "archive.catalog" || name == "archive-mark.dat" {
                let to = dir.join(&name);
                std::fs::copy(entry.path(), &to).unwrap();
                let mut perms = std::fs::metadata(&to).unwrap().permissions();
                #[allow(clippy::permissions_set_readonly_false)]
                perms.set_readonly(false);
                std::fs::set_permissions(&to, perms).unwrap();
            }
        }
    });
    let mut archive = fixture.client();
    let mut listed = Vec::new();
    let count = archive
        .list_recordings(0, 100, |d| listed.push(d.clone()))
        .unwrap();
    assert_eq!(count, 3);
    // As the Java archive's own restart recovered it (recordings-after-restart.txt).
    let stops: Vec<i64> = listed.iter().map(|d| d.stop_position).collect();
    assert_eq!(stops, [927_936, 185_664, 15_968]);
    assert_eq!(listed[0].original_channel, "aeron:ipc?term-length=65536");
    assert_eq!(
        listed[1].stripped_channel,
        "aeron:udp?endpoint=localhost:24500"
    );
    assert_eq!(listed[2].session_id, -2_050_728_755);

    for (d, messages) in listed.iter().zip([5000u32, 1000, 100]) {
        let stream = REPLAY_STREAM + d.recording_id as i32;
        let (_, mut subscription) = archive
            .replay(d.recording_id, "aeron:ipc", stream, ReplayParams::default())
            .unwrap();
        let received = std::cell::RefCell::new(Vec::new());
        let mut assembler = FragmentAssembler::new(|payload: &[u8], header: &Header| {
            let mut received = received.borrow_mut();
            let i = received.len() as u32;
            assert_eq!(
                payload,
                &golden_payload(i)[..],
                "recording {} message {i}",
                d.recording_id
            );
            received.push(header.position());
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while received.borrow().len() < messages as usize {
            if subscription.poll(assembler.handler(), 64) == 0 {
                assert!(
                    Instant::now() < deadline,
                    "replay of recording {} stalled",
                    d.recording_id
                );
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        drop(assembler);
        let positions = received.into_inner();
        assert_eq!(
            *positions.last().unwrap(),
            d.stop_position,
            "recording {}",
            d.recording_id
        );
        if d.recording_id == 0 {
            // Message 1 starts at 3104 (message 0 is 3000 bytes in three fragments).
            assert_eq!(positions[0], 3104);
        }
    }
}

#[test]
fn a_stopped_recording_is_extended_and_replays_as_one_stream() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    const LENGTH: usize = 300;
    let channel = "aeron:ipc?term-length=65536";
    let (recording_id, stop) = record(
        &mut archive,
        &fixture.aeron,
        channel,
        RECORDED_STREAM,
        300,
        LENGTH,
    );
    let d = archive.recording_descriptor(recording_id).unwrap().unwrap();
    archive
        .extend_recording(
            recording_id,
            "aeron:ipc",
            RECORDED_STREAM,
            SourceLocation::Local,
            false,
        )
        .unwrap();
    let term_id = d.initial_term_id + (stop / 65536) as i32;
    let resume = format!(
        "aeron:ipc?term-length=65536|init-term-id={}|term-id={term_id}|term-offset={}",
        d.initial_term_id,
        stop % 65536
    );
    let mut publication = fixture
        .aeron
        .add_exclusive_publication(&resume, RECORDED_STREAM)
        .unwrap();
    wait_for("the extension to connect", || publication.is_connected());
    let extend = archive
        .await_recording_signal(Some(recording_id), RecordingSignal::Extend)
        .unwrap();
    assert_eq!(extend.position, stop);
    let mut end = 0;
    for i in 300..600 {
        let m = message(i, LENGTH);
        loop {
            match publication.offer(&m) {
                Ok(p) => {
                    end = p;
                    break;
                }
                Err(_) => std::thread::yield_now(),
            }
        }
    }
    wait_for("the extension to be recorded", || {
        archive.get_recording_position(recording_id).unwrap() >= end
    });
    drop(publication);
    archive
        .await_recording_signal(Some(recording_id), RecordingSignal::Stop)
        .unwrap();
    assert_eq!(archive.get_stop_position(recording_id).unwrap(), end);
    let (_, mut replay) = archive
        .replay(
            recording_id,
            "aeron:ipc",
            REPLAY_STREAM,
            ReplayParams::default(),
        )
        .unwrap();
    let positions = receive(&mut replay, 0, 600, LENGTH);
    assert_eq!(*positions.last().unwrap(), end);
}

#[test]
fn truncate_then_purge() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    const LENGTH: usize = 224;
    let frame = (32 + LENGTH).next_multiple_of(32) as i64;
    let (recording_id, _) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        2000,
        LENGTH,
    );
    let error = archive.truncate_recording(recording_id, 33).unwrap_err();
    assert_eq!(error.error_code(), Some(ArchiveErrorCode::InvalidPosition));
    archive
        .truncate_recording(recording_id, 500 * frame)
        .unwrap();
    assert_eq!(
        archive.get_stop_position(recording_id).unwrap(),
        500 * frame
    );
    let (_, mut replay) = archive
        .replay(
            recording_id,
            "aeron:ipc",
            REPLAY_STREAM,
            ReplayParams::default(),
        )
        .unwrap();
    receive(&mut replay, 0, 500, LENGTH);
    wait_for_end(&mut replay);
    drop(replay);
    wait_for("the replay session to finish", || {
        archive.purge_recording(recording_id).is_ok()
    });
    assert!(archive
        .recording_descriptor(recording_id)
        .unwrap()
        .is_none());
    assert_eq!(
        archive
            .get_stop_position(recording_id)
            .unwrap_err()
            .error_code(),
        Some(ArchiveErrorCode::UnknownRecording)
    );
    let leftovers = std::fs::read_dir(&fixture.archive_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".rec")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn an_archive_restart_keeps_every_recording_replayable() {
    let mut fixture = Fixture::new();
    const LENGTH: usize = 100;
    let (first, first_stop) = {
        let mut archive = fixture.client();
        record(
            &mut archive,
            &fixture.aeron,
            "aeron:ipc",
            RECORDED_STREAM,
            1000,
            LENGTH,
        )
    };
    fixture.archive.take().unwrap().close();
    fixture.start_archive();
    let mut archive = fixture.client();
    assert_eq!(archive.get_stop_position(first).unwrap(), first_stop);
    let (second, _) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM + 1,
        10,
        LENGTH,
    );
    assert_eq!(second, first + 1);
    let positions = replay_all(&mut archive, first, 0, 1000, LENGTH);
    assert_eq!(*positions.last().unwrap(), first_stop);
}

#[test]
fn malformed_control_messages_do_not_stop_the_archive() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    let mut raw = fixture
        .aeron
        .add_exclusive_publication("aeron:ipc?term-length=64k", 10)
        .unwrap();
    wait_for("the raw control publication to connect", || {
        raw.is_connected()
    });
    let session = archive.control_session_id().to_le_bytes();
    let mut truncated = vec![28, 0, 8, 0, 101, 0, 14, 0];
    truncated.extend_from_slice(&session);
    let garbage: [&[u8]; 4] = [
        &[1, 2, 3],
        &[8, 0, 0xFF, 0x7F, 101, 0, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[16, 0, 8, 0, 0x39, 0x30, 14, 0],
        &truncated,
    ];
    for bytes in garbage {
        while raw.offer(bytes).is_err() {
            std::thread::yield_now();
        }
    }
    let (recording_id, stop) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        10,
        64,
    );
    assert_eq!(archive.get_stop_position(recording_id).unwrap(), stop);
}

#[test]
fn the_archive_directory_oxeron_writes_has_the_java_layout() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    let channel = "aeron:ipc?term-length=65536";
    let (first, stop) = record(
        &mut archive,
        &fixture.aeron,
        channel,
        RECORDED_STREAM,
        3000,
        100,
    );
    let (second, _) = record(
        &mut archive,
        &fixture.aeron,
        channel,
        RECORDED_STREAM + 1,
        10,
        100,
    );
    assert_eq!((first, second), (0, 1));

    let golden_dir = oxeron_testkit::golden_dir().join("aeron-java-archive-1.54");
    let ours = std::fs::read(fixture.archive_dir.join("archive.catalog")).unwrap();
    let theirs = std::fs::read(golden_dir.join("archive.catalog")).unwrap();
    assert_eq!(ours.len(), theirs.len(), "catalog capacity");
    // CatalogHeader: version, length, (nextRecordingId), alignment: as Java writes them.
    assert_eq!(ours[0..8], theirs[0..8]);
    assert_eq!(ours[16..32], theirs[16..32]);
    assert_eq!(i64::from_le_bytes(ours[8..16].try_into().unwrap()), 2);
    // Descriptors at the same offsets, with the same lengths, as Java's for the same channel strings.
    let mut offset = 32;
    for id in [first, second] {
        let length = i32::from_le_bytes(ours[offset..offset + 4].try_into().unwrap()) as usize;
        let golden_length = i32::from_le_bytes(theirs[32..36].try_into().unwrap()) as usize;
        assert_eq!(
            length, golden_length,
            "recording {id}: same strings give the same entry length"
        );
        let state = i32::from_le_bytes(ours[offset + 4..offset + 8].try_into().unwrap());
        assert_eq!(state, 1, "VALID");
        let body = &ours[offset + 32..offset + 32 + length];
        let recording_id = i64::from_le_bytes(body[16..24].try_into().unwrap());
        assert_eq!(recording_id, id);
        offset += 32 + length;
    }
    // Segment files: `<id>-<base>.rec`, each created at the full segment length.
    let mut segments: Vec<(String, u64)> = std::fs::read_dir(&fixture.archive_dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".rec"))
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    segments.sort();
    let expected_first: Vec<String> = (0..=(stop - 1) / (256 * 1024))
        .map(|k| format!("0-{}.rec", k * 256 * 1024))
        .collect();
    let names: Vec<&str> = segments.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names[..expected_first.len()],
        expected_first
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()[..]
    );
    assert!(names.contains(&"1-0.rec"));
    assert!(segments.iter().all(|(_, len)| *len == 256 * 1024));
    // The mark file header has Java's version and header length.
    let mark = std::fs::read(fixture.archive_dir.join("archive-mark.dat")).unwrap();
    let golden_mark = std::fs::read(golden_dir.join("archive-mark.dat")).unwrap();
    assert_eq!(mark[0..4], golden_mark[0..4], "mark file version");
}

/// Recording A of the golden Java archive made again by Oxeron, with the session id and initial term id the
/// Java run drew: every byte Oxeron writes (segment files and the catalog descriptor, timestamps aside) is
/// the byte Aeron's archive wrote, so Aeron's archive reads Oxeron's directory as its own.
#[test]
fn oxeron_writes_recording_a_byte_for_byte_as_the_java_archive_did() {
    const MESSAGES: u32 = 5000;
    const STOP: i64 = 927_936;
    const SEGMENT: usize = 256 * 1024;
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    let golden_dir = oxeron_testkit::golden_dir().join("aeron-java-archive-1.54");
    let channel = "aeron:ipc?term-length=65536";
    let subscription_id = archive
        .start_recording(channel, RECORDED_STREAM, SourceLocation::Local, false)
        .expect("start recording");
    let publication = connected_publication(
        &fixture.aeron,
        "aeron:ipc?term-length=65536|session-id=-2050728757|init-term-id=-1279665128|term-id=-1279665128|term-offset=0",
        RECORDED_STREAM,
    );
    let recording_id = archive
        .await_recording_signal(None, RecordingSignal::Start)
        .expect("start signal")
        .recording_id;
    assert_eq!(recording_id, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut position = 0;
    for i in 0..MESSAGES {
        let payload = golden_payload(i);
        position = loop {
            match publication.offer(&payload) {
                Ok(p) => break p,
                Err(e) => {
                    assert!(Instant::now() < deadline, "message {i}: {e}");
                    std::thread::yield_now();
                }
            }
        };
    }
    assert_eq!(
        position, STOP,
        "Java's publication ended at the same position"
    );
    wait_for("the recording to catch up", || {
        archive.get_recording_position(recording_id).unwrap() >= STOP
    });
    archive
        .stop_recording_subscription(subscription_id)
        .expect("stop recording");
    archive
        .await_recording_signal(Some(recording_id), RecordingSignal::Stop)
        .expect("stop signal");

    // Segment files: Java's, zero-extended to the segment length, byte for byte.
    for base in [0, 262_144, 524_288, 786_432] {
        let name = format!("0-{base}.rec");
        let ours = std::fs::read(fixture.archive_dir.join(&name)).unwrap();
        let mut theirs = std::fs::read(golden_dir.join(&name)).unwrap();
        theirs.resize(SEGMENT, 0);
        assert_eq!(ours.len(), SEGMENT, "{name}");
        if let Some(at) = (0..SEGMENT).find(|&k| ours[k] != theirs[k]) {
            panic!(
                "{name}: first difference at byte {at}: ours {:02x?}, Java's {:02x?}",
                &ours[at..(at + 16).min(SEGMENT)],
                &theirs[at..(at + 16).min(SEGMENT)]
            );
        }
    }

    // The catalog entry: header and descriptor identical but for the two timestamps.
    let ours = std::fs::read(fixture.archive_dir.join("archive.catalog")).unwrap();
    let theirs = std::fs::read(golden_dir.join("archive.catalog")).unwrap();
    let entry = |catalog: &[u8]| {
        let length = i32::from_le_bytes(catalog[32..36].try_into().unwrap()) as usize;
        let mut entry = catalog[32..64 + length].to_vec();
        // startTimestamp and stopTimestamp, 24 bytes into the descriptor after its 32-byte header.
        entry[32 + 24..32 + 40].fill(0);
        entry
    };
    assert_eq!(entry(&ours), entry(&theirs));
}

#[test]
fn async_connect_is_driven_by_polling() {
    let fixture = Fixture::new();
    let mut connect = AeronArchive::async_connect(fixture.client_context()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut polls = 0;
    let mut archive = loop {
        polls += 1;
        if let Some(archive) = connect.poll().unwrap() {
            break archive;
        }
        assert!(Instant::now() < deadline, "async connect never finished");
        std::thread::sleep(Duration::from_micros(200));
    };
    assert!(polls > 1, "connecting takes several steps");
    assert_eq!(
        archive.archive_id(),
        fixture.archive.as_ref().unwrap().archive_id()
    );
    assert_eq!(archive.list_recordings(0, 10, |_| {}).unwrap(), 0);
}

struct ChallengeAuthenticator;

impl oxeron_archive::server::Authenticator for ChallengeAuthenticator {
    fn on_connect(
        &self,
        _session: i64,
        credentials: &[u8],
    ) -> oxeron_archive::server::AuthDecision {
        use oxeron_archive::server::AuthDecision;
        match credentials {
            b"admin" => AuthDecision::Accept,
            b"banned" => AuthDecision::Reject,
            _ => AuthDecision::Challenge(b"nonce-42".to_vec()),
        }
    }

    fn on_challenge_response(
        &self,
        _session: i64,
        credentials: &[u8],
    ) -> oxeron_archive::server::AuthDecision {
        use oxeron_archive::server::AuthDecision;
        if credentials == b"secret:nonce-42" {
            AuthDecision::Accept
        } else {
            AuthDecision::Reject
        }
    }
}

#[test]
fn a_pluggable_authenticator_accepts_rejects_and_challenges() {
    let mut fixture = Fixture::new();
    fixture.restart_archive_with(|ctx| ctx.authenticator(ChallengeAuthenticator));
    let connect = |ctx: ArchiveClientContext| {
        AeronArchive::connect(ctx.message_timeout(Duration::from_secs(5)))
    };

    let mut admin = connect(fixture.client_context().credentials(b"admin".to_vec())).unwrap();
    assert_eq!(admin.list_recordings(0, 1, |_| {}).unwrap(), 0);

    let banned = connect(fixture.client_context().credentials(b"banned".to_vec())).unwrap_err();
    assert_eq!(
        banned.error_code(),
        Some(ArchiveErrorCode::AuthenticationRejected),
        "{banned}"
    );

    let mut answered = connect(fixture.client_context().on_challenge(|challenge| {
        let mut reply = b"secret:".to_vec();
        reply.extend_from_slice(challenge);
        reply
    }))
    .unwrap();
    assert_eq!(answered.list_recordings(0, 1, |_| {}).unwrap(), 0);

    let wrong = connect(fixture.client_context().on_challenge(|_| b"guess".to_vec())).unwrap_err();
    assert_eq!(
        wrong.error_code(),
        Some(ArchiveErrorCode::AuthenticationRejected),
        "{wrong}"
    );

    let unanswered = connect(fixture.client_context()).unwrap_err();
    assert_eq!(
        unanswered.error_code(),
        Some(ArchiveErrorCode::AuthenticationRejected),
        "{unanswered}"
    );
}

#[test]
fn recording_events_are_published_when_enabled() {
    use oxeron_archive::client::{RecordingEvent, RecordingEventsPoller};
    let mut fixture = Fixture::new();
    fixture.restart_archive_with(|ctx| {
        ctx.recording_events_enabled(true)
            .recording_events_channel("aeron:ipc")
            .recording_events_stream_id(30)
    });
    let mut events =
        RecordingEventsPoller::new(fixture.aeron.add_subscription("aeron:ipc", 30).unwrap());
    wait_for("the events publication", || {
        events.subscription().is_connected()
    });
    let mut archive = fixture.client();
    let (recording_id, stop) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        500,
        100,
    );
    let mut seen = Vec::new();
    wait_for("the stopped event", || {
        events.poll(|e| seen.push(e), 10);
        seen.iter()
            .any(|e| matches!(e, RecordingEvent::Stopped { .. }))
    });
    match &seen[0] {
        RecordingEvent::Started {
            recording_id: id,
            start_position,
            stream_id,
            channel,
            source_identity,
            ..
        } => {
            assert_eq!(
                (*id, *start_position, *stream_id),
                (recording_id, 0, RECORDED_STREAM)
            );
            assert_eq!(channel, "aeron:ipc");
            assert_eq!(source_identity, "aeron:ipc");
        }
        other => panic!("first event {other:?}"),
    }
    let progress: Vec<i64> = seen
        .iter()
        .filter_map(|e| match e {
            RecordingEvent::Progress { position, .. } => Some(*position),
            _ => None,
        })
        .collect();
    assert!(!progress.is_empty());
    assert!(progress.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        seen.last(),
        Some(&RecordingEvent::Stopped {
            recording_id,
            start_position: 0,
            stop_position: stop
        })
    );
}

#[test]
fn segments_are_detached_attached_and_purged() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    const LENGTH: usize = 992; // 1 KiB frames: 256 per segment of 256 KiB
    let segment = 256 * 1024;
    let (recording_id, stop) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        1100,
        LENGTH,
    );
    assert!(stop > 4 * segment);
    let error = archive.detach_segments(recording_id, 1024).unwrap_err();
    assert!(matches!(error, ArchiveError::Archive { .. }), "{error}");
    archive.detach_segments(recording_id, 2 * segment).unwrap();
    assert_eq!(
        archive.get_start_position(recording_id).unwrap(),
        2 * segment
    );
    let (_, mut replay) = archive
        .replay(
            recording_id,
            "aeron:ipc",
            REPLAY_STREAM,
            ReplayParams::default(),
        )
        .unwrap();
    let positions = receive(&mut replay, 512, 1100 - 512, LENGTH);
    assert_eq!(*positions.last().unwrap(), stop);
    drop(replay);
    // The detached files are still there: attaching brings the start back to 0.
    assert_eq!(archive.attach_segments(recording_id).unwrap(), 2);
    assert_eq!(archive.get_start_position(recording_id).unwrap(), 0);
    wait_for("the replay to finish", || {
        archive.purge_segments(recording_id, 3 * segment).is_ok()
    });
    assert_eq!(
        archive.get_start_position(recording_id).unwrap(),
        3 * segment
    );
    assert_eq!(archive.attach_segments(recording_id).unwrap(), 0);
    let names: Vec<String> = std::fs::read_dir(&fixture.archive_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".rec"))
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n == "0-0.rec" || n == "0-262144.rec" || n == "0-524288.rec"),
        "{names:?}"
    );
}

/// The recording signals of replication `replication_id` up to its REPLICATE_END, all of them its own.
fn signals_until_replication_end(
    archive: &mut AeronArchive,
    replication_id: i64,
) -> Vec<oxeron_archive::client::RecordingSignalEvent> {
    let mut signals = Vec::new();
    wait_for("the replication to end", || {
        archive.poll_for_recording_signals(|s| signals.push(*s));
        signals
            .iter()
            .any(|s| s.signal == RecordingSignal::ReplicateEnd)
    });
    assert!(
        signals.iter().all(|s| s.correlation_id == replication_id),
        "{signals:?}"
    );
    signals
}

#[test]
fn a_recording_is_replicated_from_another_archive() {
    let fixture = Fixture::new();
    let mut source = fixture.client();
    const LENGTH: usize = 400;
    let (src_id, src_stop) = record(
        &mut source,
        &fixture.aeron,
        "aeron:ipc?term-length=65536",
        RECORDED_STREAM,
        3000,
        LENGTH,
    );
    let src = source.recording_descriptor(src_id).unwrap().unwrap();

    let (second, mut destination) = fixture.second_archive();
    let replication_id = destination
        .replicate(src_id, -1, 10, "aeron:ipc", "")
        .unwrap();
    let signals = signals_until_replication_end(&mut destination, replication_id);
    let kinds: Vec<RecordingSignal> = signals.iter().map(|s| s.signal).collect();
    assert_eq!(
        kinds.first(),
        Some(&RecordingSignal::Replicate),
        "{kinds:?}"
    );
    assert!(kinds.contains(&RecordingSignal::Sync), "{kinds:?}");
    let dst_id = signals[0].recording_id;
    let dst = destination.recording_descriptor(dst_id).unwrap().unwrap();
    assert_eq!(
        (
            dst.start_position,
            dst.stop_position,
            dst.initial_term_id,
            dst.term_buffer_length,
            dst.stream_id
        ),
        (
            src.start_position,
            src_stop,
            src.initial_term_id,
            src.term_buffer_length,
            src.stream_id
        )
    );
    assert_eq!(dst.original_channel, src.original_channel);
    let positions = replay_all(&mut destination, dst_id, 0, 3000, LENGTH);
    assert_eq!(*positions.last().unwrap(), src_stop);
    destination.close();
    second.close();
}

#[test]
fn a_persistent_subscription_replays_then_goes_live_without_gaps() {
    use oxeron_archive::client::{
        PersistentSubscription, PersistentSubscriptionContext, FROM_LIVE,
    };
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    const LENGTH: usize = 120;
    archive
        .start_recording("aeron:ipc", RECORDED_STREAM, SourceLocation::Local, false)
        .unwrap();
    let publication = connected_publication(&fixture.aeron, "aeron:ipc", RECORDED_STREAM);
    let recording_id = archive
        .await_recording_signal(None, RecordingSignal::Start)
        .unwrap()
        .recording_id;
    publish(&publication, 0, 3000, LENGTH);

    let ctx = PersistentSubscriptionContext::new(
        recording_id,
        "aeron:ipc",
        RECORDED_STREAM,
        "aeron:ipc",
        REPLAY_STREAM,
    );
    let mut persistent = PersistentSubscription::new(&mut archive, ctx.clone()).unwrap();
    let mut received: Vec<usize> = Vec::new();
    let mut next = 3000;
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.len() < 6000 {
        if next < 6000 {
            publish(&publication, next, 1, LENGTH);
            next += 1;
        }
        let n = persistent
            .poll(
                &mut archive,
                |payload: &[u8], _: &Header| {
                    let i = u64::from_le_bytes(payload[..8].try_into().unwrap()) as usize;
                    assert_eq!(payload, &message(i, LENGTH)[..]);
                    received.push(i);
                },
                64,
            )
            .unwrap();
        if n == 0 {
            assert!(
                Instant::now() < deadline,
                "stalled at {} in {:?}",
                received.len(),
                persistent.state()
            );
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    assert_eq!(
        received,
        (0..6000).collect::<Vec<_>>(),
        "in order, no gap, no duplicate"
    );
    assert!(persistent.is_live(), "{:?}", persistent.state());

    // A late joiner that wants no history reads the live stream from wherever its image joins (for IPC, the
    // slowest subscriber's position, as in Aeron), without replay.
    let mut live_only =
        PersistentSubscription::new(&mut archive, ctx.start_position(FROM_LIVE)).unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !live_only.is_live() {
        live_only.poll(&mut archive, |_, _| {}, 10).unwrap();
        assert!(Instant::now() < deadline, "never went live");
        std::thread::sleep(Duration::from_micros(200));
    }
    publish(&publication, 6000, 10, LENGTH);
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.last() != Some(&6009) {
        live_only
            .poll(
                &mut archive,
                |payload: &[u8], _: &Header| {
                    seen.push(u64::from_le_bytes(payload[..8].try_into().unwrap()))
                },
                10,
            )
            .unwrap();
        assert!(Instant::now() < deadline, "live messages missing: {seen:?}");
    }
    let first = seen[0];
    assert_eq!(
        seen,
        (first..6010).collect::<Vec<u64>>(),
        "contiguous from the join"
    );
    assert!(live_only.is_live());
}

#[test]
fn segments_migrate_to_the_recording_that_continues_them() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    const LENGTH: usize = 992; // 1 KiB frames: 256 per segment of 256 KiB
    let segment = 256 * 1024;
    let channel = "aeron:ipc?term-length=65536";
    let (first, first_stop) = record(
        &mut archive,
        &fixture.aeron,
        channel,
        RECORDED_STREAM,
        256,
        LENGTH,
    );
    assert_eq!(first_stop, segment);
    let d = archive.recording_descriptor(first).unwrap().unwrap();

    // A second recording of the same stream that starts where the first stopped.
    let subscription_id = archive
        .start_recording("aeron:ipc", RECORDED_STREAM, SourceLocation::Local, false)
        .unwrap();
    let resume = format!(
        "aeron:ipc?term-length=65536|init-term-id={}|term-id={}|term-offset=0",
        d.initial_term_id,
        d.initial_term_id + 4
    );
    let mut publication = fixture
        .aeron
        .add_exclusive_publication(&resume, RECORDED_STREAM)
        .unwrap();
    wait_for("the second recording to connect", || {
        publication.is_connected()
    });
    let second = archive
        .await_recording_signal(None, RecordingSignal::Start)
        .unwrap()
        .recording_id;
    assert_ne!(second, first);
    let mut end = 0;
    for i in 256..512 {
        let m = message(i, LENGTH);
        while let Err(e) = publication.offer(&m).map(|p| end = p) {
            assert!(!matches!(e, oxeron_client::OfferError::Closed), "{e}");
            std::thread::yield_now();
        }
    }
    wait_for("the second recording to catch up", || {
        archive.get_recording_position(second).unwrap() >= end
    });
    archive
        .stop_recording_subscription(subscription_id)
        .unwrap();
    drop(publication);
    archive
        .await_recording_signal(Some(second), RecordingSignal::Stop)
        .unwrap();
    assert_eq!(archive.get_start_position(second).unwrap(), segment);

    // Not contiguous the other way round, and an unknown id: errors, nothing moved.
    let error = archive.migrate_segments(second, 999).unwrap_err();
    assert!(matches!(error, ArchiveError::Archive { .. }), "{error}");

    assert_eq!(archive.migrate_segments(first, second).unwrap(), 1);
    let signal = archive
        .await_recording_signal(Some(first), RecordingSignal::Delete)
        .unwrap();
    assert_eq!(signal.recording_id, first);
    assert_eq!(archive.get_start_position(second).unwrap(), 0);
    assert_eq!(archive.get_stop_position(second).unwrap(), end);
    assert_eq!(
        archive.get_stop_position(first).unwrap(),
        archive.get_start_position(first).unwrap()
    );
    let names: Vec<String> = std::fs::read_dir(&fixture.archive_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".rec"))
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with(&format!("{first}-"))),
        "the first recording keeps no segment: {names:?}"
    );
    let positions = replay_all(&mut archive, second, 0, 512, LENGTH);
    assert_eq!(positions[255], segment);
    assert_eq!(*positions.last().unwrap(), end);
}

#[test]
fn a_replication_stops_at_its_stop_position() {
    let fixture = Fixture::new();
    let mut source = fixture.client();
    const LENGTH: usize = 400;
    let (src_id, src_stop) = record(
        &mut source,
        &fixture.aeron,
        "aeron:ipc?term-length=65536",
        RECORDED_STREAM,
        1000,
        LENGTH,
    );
    let (_, mut probe) = source
        .replay(src_id, "aeron:ipc", REPLAY_STREAM, ReplayParams::default())
        .unwrap();
    let positions = receive(&mut probe, 0, 600, LENGTH);
    drop(probe);
    let stop_position = positions[599];
    assert!(stop_position < src_stop);

    let (second, mut destination) = fixture.second_archive();
    let params = ReplicationParams {
        stop_position,
        ..ReplicationParams::default()
    };
    let replication_id = destination
        .replicate_with_params(src_id, 10, "aeron:ipc", &params)
        .unwrap();
    let signals = signals_until_replication_end(&mut destination, replication_id);
    let dst_id = signals[0].recording_id;
    assert_eq!(
        destination.get_stop_position(dst_id).unwrap(),
        stop_position,
        "{signals:?}"
    );
    let positions = replay_all(&mut destination, dst_id, 0, 600, LENGTH);
    assert_eq!(*positions.last().unwrap(), stop_position);
    destination.close();
    second.close();
}

#[test]
fn a_recordings_channel_is_updated_in_the_catalog() {
    let mut fixture = Fixture::new();
    let mut archive = fixture.client();
    let (first, _) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc?term-length=65536",
        RECORDED_STREAM,
        10,
        100,
    );
    let (second, second_stop) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM + 1,
        10,
        100,
    );
    let moved = format!(
        "aeron:udp?endpoint=localhost:20121|alias={}|term-length=65536",
        "m".repeat(2000)
    );
    archive.update_channel(first, &moved).unwrap();
    let error = archive.update_channel(999, "aeron:ipc").unwrap_err();
    assert!(
        matches!(
            error,
            ArchiveError::Archive {
                code: ArchiveErrorCode::UnknownRecording,
                ..
            }
        ),
        "{error}"
    );
    let check = |archive: &mut AeronArchive| {
        let d = archive.recording_descriptor(first).unwrap().unwrap();
        assert_eq!(d.original_channel, moved);
        // Java's stripped channel keeps the endpoint and the alias, not the term length.
        assert_eq!(
            d.stripped_channel,
            format!(
                "aeron:udp?endpoint=localhost:20121|alias={}",
                "m".repeat(2000)
            )
        );
        let d = archive.recording_descriptor(second).unwrap().unwrap();
        assert_eq!(d.original_channel, "aeron:ipc");
        assert_eq!(d.stop_position, second_stop);
    };
    check(&mut archive);
    archive.close();
    fixture.restart_archive_with(|context| context);
    let mut archive = fixture.client();
    check(&mut archive);
    let (_, mut replay) = archive
        .replay(second, "aeron:ipc", REPLAY_STREAM, ReplayParams::default())
        .unwrap();
    assert_eq!(
        *receive(&mut replay, 0, 10, 100).last().unwrap(),
        second_stop
    );
}

#[test]
fn replay_tokens_are_issued_and_checked_on_response_channels() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    let (recording_id, stop) = record(
        &mut archive,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        20,
        100,
    );
    let token = archive.request_replay_token(recording_id).unwrap();
    let other = archive.request_replay_token(recording_id).unwrap();
    assert_ne!(token, -1);
    assert_ne!(token, other);
    let params = ReplayParams {
        replay_token: token,
        ..ReplayParams::default()
    };
    // Not a response channel: the token plays no part, as in Java.
    let (_, mut replay) = archive
        .replay(recording_id, "aeron:ipc", REPLAY_STREAM, params)
        .unwrap();
    assert_eq!(*receive(&mut replay, 0, 20, 100).last().unwrap(), stop);
    drop(replay);
    let response = "aeron:udp?control-mode=response|control=localhost:20122";
    let bogus = ReplayParams {
        replay_token: token ^ 1,
        ..ReplayParams::default()
    };
    let error = archive
        .start_replay(recording_id, response, REPLAY_STREAM, bogus)
        .unwrap_err();
    assert!(error.to_string().contains("replayToken"), "{error}");
    let error = archive
        .start_replay(recording_id, response, REPLAY_STREAM, params)
        .unwrap_err();
    assert!(error.to_string().contains("response channels"), "{error}");
}

#[test]
fn a_replication_merges_with_the_live_stream() {
    let fixture = Fixture::new();
    let mut source = fixture.client();
    const LENGTH: usize = 200;
    let (e1, e2, e3) = (
        oxeron_testkit::free_udp_port(),
        oxeron_testkit::free_udp_port(),
        oxeron_testkit::free_udp_port(),
    );
    // A live stream to two places: the source archive's recording and, later, the replica's live destination.
    let recording_subscription = source
        .start_recording(
            &format!("aeron:udp?endpoint=localhost:{e1}"),
            RECORDED_STREAM,
            SourceLocation::Remote,
            false,
        )
        .unwrap();
    let mut live = fixture
        .aeron
        // Terms long enough that the replica's window covers the live stream while the merge settles: the
        // live publication's default (max) flow control does not wait for the replica.
        .add_exclusive_publication(
            "aeron:udp?control-mode=manual|term-length=1m",
            RECORDED_STREAM,
        )
        .unwrap();
    for port in [e1, e2] {
        fixture
            .aeron
            .add_destination(
                live.registration_id(),
                &format!("aeron:udp?endpoint=localhost:{port}"),
            )
            .unwrap();
    }
    wait_for("the source recording to connect", || live.is_connected());
    let src_id = source
        .await_recording_signal(None, RecordingSignal::Start)
        .unwrap()
        .recording_id;
    let offer = |live: &mut oxeron_client::ExclusivePublication, range: std::ops::Range<usize>| {
        let mut end = 0;
        for i in range {
            let m = message(i, LENGTH);
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match live.offer(&m) {
                    Ok(p) => {
                        end = p;
                        break;
                    }
                    Err(e) => {
                        assert!(Instant::now() < deadline, "live offer stuck: {e}");
                        std::thread::yield_now();
                    }
                }
            }
        }
        end
    };
    let first = offer(&mut live, 0..2000);
    wait_for("the source to record the first part", || {
        source.get_recording_position(src_id).unwrap() >= first
    });

    let (second, mut replica) = fixture.second_archive();
    let params = ReplicationParams {
        live_destination: format!("aeron:udp?endpoint=localhost:{e2}"),
        replication_channel: format!("aeron:udp?endpoint=localhost:{e3}"),
        ..ReplicationParams::default()
    };
    let replication_id = replica
        .replicate_with_params(src_id, 10, "aeron:ipc", &params)
        .unwrap();
    let mut signals = Vec::new();
    wait_for("the replication to merge with the live stream", || {
        replica.poll_for_recording_signals(|s| signals.push(*s));
        assert!(
            !signals
                .iter()
                .any(|s| s.signal == RecordingSignal::ReplicateEnd
                    && !signals.iter().any(|m| m.signal == RecordingSignal::Merge)),
            "ended without merging: {signals:?} {:?}",
            replica.poll_for_errors()
        );
        signals.iter().any(|s| s.signal == RecordingSignal::Merge)
    });
    let merge = *signals
        .iter()
        .find(|s| s.signal == RecordingSignal::Merge)
        .unwrap();
    assert_eq!(merge.correlation_id, replication_id);
    let dst_id = merge.recording_id;
    // After the merge the replica records the live stream itself.
    let end = offer(&mut live, 2000..3000);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let recorded = replica.get_recording_position(dst_id).unwrap();
        if recorded >= end {
            break;
        }
        replica.poll_for_recording_signals(|s| signals.push(*s));
        assert!(
            Instant::now() < deadline,
            "the replica recorded {recorded} of {end} (merged at {}): {signals:?}",
            merge.position
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    replica
        .stop_recording_subscription(merge.subscription_id)
        .unwrap();
    let positions = replay_all(&mut replica, dst_id, 0, 3000, LENGTH);
    assert_eq!(*positions.last().unwrap(), end);
    source
        .stop_recording_subscription(recording_subscription)
        .unwrap();
    replica.close();
    second.close();
}

#[test]
fn delete_on_start_removes_only_an_archive_directory() {
    let mut f = Fixture::new();
    let mut client = f.client();
    record(&mut client, &f.aeron, "aeron:ipc", RECORDED_STREAM, 10, 64);
    drop(client);
    let thesis = f.archive_dir.join("thesis.txt");
    std::fs::write(&thesis, "important\n").unwrap();
    f.archive.take().unwrap().close();
    let refused = Archive::launch(f.archive_context().delete_archive_on_start(true)).unwrap_err();
    assert!(
        refused.to_string().contains("is not an archive directory")
            && refused.to_string().contains("thesis.txt"),
        "{refused}"
    );
    assert_eq!(std::fs::read_to_string(&thesis).unwrap(), "important\n");
    assert!(f.archive_dir.join("archive.catalog").exists());
    std::fs::remove_file(&thesis).unwrap();
    f.restart_archive_with(|ctx| ctx.delete_archive_on_start(true));
    let mut client = f.client();
    assert_eq!(client.list_recordings(0, 10, |_| {}).unwrap(), 0);
}

#[test]
fn settings_aeron_refuses_are_refused_by_name() {
    for (ctx, setting) in [
        (
            ArchiveContext::new().segment_file_length(3 * 64 * 1024),
            "AERON_ARCHIVE_SEGMENT_FILE_LENGTH",
        ),
        (
            ArchiveContext::new()
                .file_sync_level(oxeron_archive::FileSyncLevel::Data)
                .catalog_file_sync_level(oxeron_archive::FileSyncLevel::None),
            "AERON_ARCHIVE_CATALOG_FILE_SYNC_LEVEL",
        ),
        (
            ArchiveContext::new().control_channel("aeron:ipc"),
            "AERON_ARCHIVE_CONTROL_CHANNEL",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let error = Archive::launch(ctx.archive_dir(dir.path().join("archive")))
            .unwrap_err()
            .to_string();
        assert!(error.contains(setting), "{setting}: {error}");
        assert!(!dir.path().join("archive").exists(), "{setting}: dir made");
    }
}

#[test]
fn awaiting_one_recording_signal_keeps_the_others_for_later() {
    let fixture = Fixture::new();
    let mut archive = fixture.client();
    let subscription_id = archive
        .start_recording("aeron:ipc", 1001, SourceLocation::Local, false)
        .unwrap();
    let publication = connected_publication(&fixture.aeron, "aeron:ipc", 1001);
    let end = publish(&publication, 0, 10, 64);
    wait_for("the recording to reach the end", || {
        archive
            .list_recordings(0, 10, |_| {})
            .is_ok_and(|count| count == 1)
            && archive.get_recording_position(0).is_ok_and(|p| p >= end)
    });
    archive
        .stop_recording_subscription(subscription_id)
        .unwrap();
    // START came first; waiting for STOP passes it, and it stays queued.
    let stop = archive
        .await_recording_signal(None, RecordingSignal::Stop)
        .unwrap();
    assert_eq!(stop.recording_id, 0);
    let mut later = Vec::new();
    archive.poll_for_recording_signals(|event| later.push((event.recording_id, event.signal)));
    assert_eq!(later, [(0, RecordingSignal::Start)]);
}
