//! The archive's counters, as Aeron 1.54's archive allocates them: type ids, keys (the archive id first) and
//! labels, and the values a user watches (sessions, bytes written and read); and the Ping it sends to its
//! control sessions.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use oxeron_archive::server::ArchiveThreadingMode;
use oxeron_client::Aeron;
use oxeron_concurrent::counters::type_id::ARCHIVE_CONTROL_SESSION_TYPE_ID;
use oxeron_protocol::archive::{ArchiveMessage, AuthConnectRequest, PROTOCOL_SEMANTIC_VERSION};

const LENGTH: usize = 500;

/// Label -> (type id, value) of every counter whose key starts with `archive_id`, except recording
/// positions (type 100).
fn archive_counters(aeron: &Aeron, archive_id: i64) -> BTreeMap<String, (i32, i64)> {
    let reader = aeron.counters_reader();
    let mut found = BTreeMap::new();
    reader.for_each(|id, type_id, key, label| {
        if (101..=113).contains(&type_id) && key[..8] == archive_id.to_le_bytes() {
            let value = reader.counter_value(id).unwrap();
            found.insert(label.to_string(), (type_id, value));
        }
    });
    found
}

fn value(counters: &BTreeMap<String, (i32, i64)>, label_start: &str) -> i64 {
    counters
        .iter()
        .find(|(label, _)| label.starts_with(label_start))
        .unwrap_or_else(|| panic!("no counter {label_start:?} in {counters:#?}"))
        .1
         .1
}

#[test]
fn a_dedicated_archive_has_javas_counters_and_they_count_sessions_and_bytes() {
    let mut fixture = Fixture::new();
    fixture.restart_archive_with(|ctx| {
        ctx.threading_mode(ArchiveThreadingMode::Dedicated)
            .archive_id(77)
    });
    let counters = archive_counters(&fixture.aeron, 77);
    let labels: Vec<(&str, i32)> = counters
        .iter()
        .filter(|(_, (type_id, _))| *type_id != ARCHIVE_CONTROL_SESSION_TYPE_ID)
        .map(|(label, (type_id, _))| (label.as_str(), *type_id))
        .collect();
    let errors = format!(
        "Archive Errors - archiveId=77 version=1.54.0 commit=oxeron-{}",
        env!("CARGO_PKG_VERSION")
    );
    let mut expected = vec![
        (errors.as_str(), 101),
        ("Archive Control Sessions - archiveId=77", 102),
        ("Archive Recording Sessions - archiveId=77", 111),
        ("Archive Replay Sessions - archiveId=77", 112),
        ("archive-conductor max cycle time in ns: DEDICATED - archiveId=77", 103),
        ("archive-conductor work cycle time exceeded count: threshold=100ms DEDICATED - archiveId=77", 104),
        ("archive-recorder max cycle time in ns: DEDICATED - archiveId=77", 103),
        ("archive-recorder max write time in ns - archiveId=77", 105),
        ("archive-recorder total write bytes - archiveId=77", 106),
        ("archive-recorder total write time in ns - archiveId=77", 107),
        ("archive-recorder work cycle time exceeded count: threshold=100ms DEDICATED - archiveId=77", 104),
        ("archive-replayer max cycle time in ns: DEDICATED - archiveId=77", 103),
        ("archive-replayer max read time in ns - archiveId=77", 108),
        ("archive-replayer total read bytes - archiveId=77", 109),
        ("archive-replayer total read time in ns - archiveId=77", 110),
        ("archive-replayer work cycle time exceeded count: threshold=100ms DEDICATED - archiveId=77", 104),
    ];
    expected.sort();
    assert_eq!(labels, expected);

    let mut client = fixture.client();
    let counters = archive_counters(&fixture.aeron, 77);
    assert_eq!(value(&counters, "Archive Control Sessions"), 1);
    wait_for("the control session's counter", || {
        archive_counters(&fixture.aeron, 77).keys().any(|label| {
            label.starts_with("control-session: name=")
                && label.contains(" sourceIdentity=aeron:ipc sessionId=")
        })
    });

    let (recording_id, stop) = record(
        &mut client,
        &fixture.aeron,
        "aeron:ipc",
        RECORDED_STREAM,
        200,
        LENGTH,
    );
    let counters = archive_counters(&fixture.aeron, 77);
    assert_eq!(value(&counters, "Archive Recording Sessions"), 0);
    assert!(value(&counters, "archive-recorder total write bytes") >= stop);
    assert!(value(&counters, "archive-recorder total write time in ns") > 0);
    assert!(value(&counters, "archive-recorder max write time in ns") > 0);
    assert!(value(&counters, "archive-conductor max cycle time in ns") > 0);

    replay_all(&mut client, recording_id, 0, 200, LENGTH);
    wait_for("the replayer's read bytes", || {
        value(
            &archive_counters(&fixture.aeron, 77),
            "archive-replayer total read bytes",
        ) >= stop
    });
    let counters = archive_counters(&fixture.aeron, 77);
    assert!(value(&counters, "archive-replayer total read bytes") >= stop);
    assert!(value(&counters, "archive-replayer max read time in ns") > 0);
    assert_eq!(value(&counters, "Archive Errors"), 0);

    drop(client);
    wait_for("the control session to close", || {
        let counters = archive_counters(&fixture.aeron, 77);
        value(&counters, "Archive Control Sessions") == 0
            && !counters
                .keys()
                .any(|label| label.starts_with("control-session:"))
    });
}

#[test]
fn a_shared_archive_has_only_the_conductors_cycle_counters() {
    let mut fixture = Fixture::new();
    fixture.restart_archive_with(|ctx| {
        ctx.threading_mode(ArchiveThreadingMode::Shared)
            .archive_id(78)
            .conductor_cycle_threshold(Duration::from_millis(5))
    });
    let counters = archive_counters(&fixture.aeron, 78);
    let cycles: Vec<&String> = counters
        .keys()
        .filter(|label| label.contains("cycle time"))
        .collect();
    assert_eq!(
        cycles,
        [
            "archive-conductor max cycle time in ns: SHARED - archiveId=78",
            "archive-conductor work cycle time exceeded count: threshold=5ms SHARED - archiveId=78"
        ]
    );
}

#[test]
fn an_active_control_session_is_pinged_every_second() {
    let fixture = Fixture::new();
    let aeron = &fixture.aeron;
    let mut responses = aeron.add_subscription("aeron:ipc", 4321).unwrap();
    let requests = connected_publication(aeron, "aeron:ipc", 10);
    let connect = AuthConnectRequest {
        correlation_id: 1,
        response_stream_id: 4321,
        version: PROTOCOL_SEMANTIC_VERSION,
        response_channel: "aeron:ipc",
        encoded_credentials: &[],
        client_info: "name=raw",
    }
    .to_vec();
    let deadline = Instant::now() + Duration::from_secs(10);
    while requests.offer(&connect).is_err() {
        assert!(Instant::now() < deadline, "connect request not taken");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut session = None;
    let mut pings = Vec::new();
    let started = Instant::now();
    while pings.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "pings: {pings:?} (session {session:?})"
        );
        responses.poll(
            |payload: &[u8], _header: &oxeron_client::Header| match ArchiveMessage::decode(payload)
            {
                Ok(ArchiveMessage::ControlResponse(r)) => session = Some(r.control_session_id),
                Ok(ArchiveMessage::Ping(p)) => {
                    pings.push((p.control_session_id, started.elapsed()))
                }
                _ => {}
            },
            10,
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let session = session.expect("a connect response before the pings");
    assert!(pings.iter().all(|(id, _)| *id == session));
    let gap = pings[1].1 - pings[0].1;
    assert!(
        gap >= Duration::from_millis(500) && gap <= Duration::from_secs(5),
        "pings {gap:?} apart"
    );
}
