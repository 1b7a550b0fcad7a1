//! The archive over UDP: control requests and responses, recording a UDP stream through a spy (local
//! source) and replaying onto a UDP channel, all through one embedded driver on loopback.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxeron_archive::client::{AeronArchive, Context as ArchiveClientContext, ReplayParams};
use oxeron_archive::server::{Archive, Context as ArchiveContext};
use oxeron_archive::{RecordingSignal, SourceLocation};
use oxeron_client::{Aeron, Context as ClientContext, FragmentAssembler, Header};
use oxeron_driver::{Context as DriverContext, MediaDriver, ThreadingMode};

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A shared-mode driver in its own temporary directory: (the directory, its aeron dir, the driver).
fn shared_driver() -> (tempfile::TempDir, std::path::PathBuf, MediaDriver) {
    let dir = oxeron_testkit::temp_aeron_dir();
    let aeron_dir = dir.path().join("aeron");
    let driver = MediaDriver::launch(
        DriverContext::new()
            .aeron_dir(&aeron_dir)
            .threading_mode(ThreadingMode::Shared)
            .dir_delete_on_shutdown(true),
    )
    .expect("driver");
    (dir, aeron_dir, driver)
}

#[test]
fn control_recording_and_replay_over_udp() {
    let (dir, aeron_dir, _driver) = shared_driver();
    let control = format!(
        "aeron:udp?endpoint=127.0.0.1:{}",
        oxeron_testkit::free_udp_port()
    );
    let archive = Archive::launch(
        ArchiveContext::new()
            .aeron_dir(&aeron_dir)
            .archive_dir(dir.path().join("archive"))
            .control_channel(control.clone())
            .segment_file_length(256 * 1024),
    )
    .unwrap();
    let aeron = Aeron::connect(ClientContext::new().aeron_dir(&aeron_dir)).unwrap();
    let mut client = AeronArchive::connect(
        ArchiveClientContext::new()
            .aeron(aeron.clone())
            .control_request_channel(control)
            .control_response_channel(format!(
                "aeron:udp?endpoint=127.0.0.1:{}",
                oxeron_testkit::free_udp_port()
            )),
    )
    .unwrap();

    let recorded = format!(
        "aeron:udp?endpoint=127.0.0.1:{}|term-length=65536",
        oxeron_testkit::free_udp_port()
    );
    // A live subscriber over the network, as in a deployment; the archive records through a spy.
    let mut live = aeron.add_subscription(&recorded, 1001).unwrap();
    let live_count = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&live_count);
    let live_reader = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while counted.load(Ordering::Relaxed) < 5000 && Instant::now() < deadline {
            let n = live.poll(
                |_: &[u8], _: &Header| {
                    counted.fetch_add(1, Ordering::Relaxed);
                },
                64,
            );
            if n == 0 {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    });
    let subscription_id = client
        .start_recording(&recorded, 1001, SourceLocation::Local, false)
        .unwrap();
    let publication = aeron.add_publication(&recorded, 1001).unwrap();
    let recording_id = client
        .await_recording_signal(None, RecordingSignal::Start)
        .unwrap()
        .recording_id;
    let mut end = 0;
    for i in 0..5000u32 {
        let message = i.to_le_bytes().repeat(25);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match publication.offer(&message) {
                Ok(p) => {
                    end = p;
                    break;
                }
                Err(_) => {
                    assert!(Instant::now() < deadline, "publication stuck at {i}");
                    std::thread::yield_now();
                }
            }
        }
    }
    wait_for("the recording", || {
        client.get_recording_position(recording_id).unwrap() >= end
    });
    client.stop_recording_subscription(subscription_id).unwrap();
    live_reader.join().unwrap();
    assert_eq!(
        live_count.load(Ordering::Relaxed),
        5000,
        "the live subscriber got every message too"
    );
    let descriptor = client.recording_descriptor(recording_id).unwrap().unwrap();
    assert_eq!(descriptor.stop_position, end);
    assert!(descriptor
        .stripped_channel
        .starts_with("aeron:udp?endpoint=127.0.0.1:"));

    let replay_channel = format!(
        "aeron:udp?endpoint=127.0.0.1:{}",
        oxeron_testkit::free_udp_port()
    );
    let (_, mut replay) = client
        .replay(recording_id, &replay_channel, 2001, ReplayParams::default())
        .unwrap();
    let next = std::cell::Cell::new(0u32);
    let mut assembler = FragmentAssembler::new(|payload: &[u8], _header: &Header| {
        assert_eq!(payload, &next.get().to_le_bytes().repeat(25)[..]);
        next.set(next.get() + 1);
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while next.get() < 5000 {
        if replay.poll(assembler.handler(), 64) == 0 {
            assert!(Instant::now() < deadline, "replay over UDP stalled");
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    drop(assembler);
    assert_eq!(next.get(), 5000);
    client.close();
    archive.close();
}

#[test]
fn replay_merge_catches_up_and_joins_the_live_stream() {
    use oxeron_archive::client::ReplayMerge;
    let (dir, aeron_dir, _driver) = shared_driver();
    let archive = Archive::launch(
        ArchiveContext::new()
            .aeron_dir(&aeron_dir)
            .archive_dir(dir.path().join("archive"))
            .control_channel_enabled(false),
    )
    .unwrap();
    let aeron = Aeron::connect(ClientContext::new().aeron_dir(&aeron_dir)).unwrap();
    let mut client = AeronArchive::connect(
        ArchiveClientContext::new()
            .aeron(aeron.clone())
            .control_request_channel("aeron:ipc")
            .control_response_channel("aeron:ipc"),
    )
    .unwrap();

    // The live stream, published from another host's driver: a manual multi-destination publication
    // sending to the archive's recording endpoint and to the live endpoint the merging subscriber adds.
    let publisher_dir = dir.path().join("aeron-publisher");
    let _publisher_driver = MediaDriver::launch(
        DriverContext::new()
            .aeron_dir(&publisher_dir)
            .threading_mode(ThreadingMode::Shared)
            .dir_delete_on_shutdown(true),
    )
    .unwrap();
    let publisher = Aeron::connect(ClientContext::new().aeron_dir(&publisher_dir)).unwrap();
    let recording_endpoint = format!(
        "aeron:udp?endpoint=127.0.0.1:{}",
        oxeron_testkit::free_udp_port()
    );
    let live_destination = format!(
        "aeron:udp?endpoint=127.0.0.1:{}",
        oxeron_testkit::free_udp_port()
    );
    let replay_destination = format!(
        "aeron:udp?endpoint=127.0.0.1:{}",
        oxeron_testkit::free_udp_port()
    );
    let publication = publisher
        .add_publication("aeron:udp?control-mode=manual|term-length=65536", 1001)
        .unwrap();
    publisher
        .add_destination(publication.registration_id(), &recording_endpoint)
        .unwrap();
    publisher
        .add_destination(publication.registration_id(), &live_destination)
        .unwrap();
    client
        .start_recording(&recording_endpoint, 1001, SourceLocation::Remote, false)
        .unwrap();
    wait_for("the recording to connect", || publication.is_connected());
    let recording_id = client
        .await_recording_signal(None, RecordingSignal::Start)
        .unwrap()
        .recording_id;
    let message = |i: u32| i.to_le_bytes().repeat(20);
    let offer = |i: u32| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match publication.offer(&message(i)) {
                Ok(p) => return p,
                Err(e) => {
                    assert!(Instant::now() < deadline, "offer {i}: {e}");
                    std::thread::yield_now();
                }
            }
        }
    };
    for i in 0..2000 {
        offer(i);
    }

    let subscription = aeron
        .add_subscription("aeron:udp?control-mode=manual", 1001)
        .unwrap();
    let replay_channel = format!("aeron:udp?session-id={}", publication.session_id());
    let mut merge = ReplayMerge::new(
        subscription,
        &client,
        &replay_channel,
        &replay_destination,
        &live_destination,
        recording_id,
        0,
    )
    .unwrap();
    let mut received = Vec::new();
    // Publishes `to_publish` one message per poll of the merge until `done` holds; `what` names a stall.
    let mut drive = |merge: &mut ReplayMerge,
                     received: &mut Vec<Vec<u8>>,
                     mut to_publish: std::ops::Range<u32>,
                     done: &dyn Fn(&ReplayMerge, usize) -> bool,
                     what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(merge, received.len()) {
            if let Some(i) = to_publish.next() {
                offer(i);
            }
            let n = merge
                .poll(
                    &mut client,
                    |payload: &[u8], _: &Header| received.push(payload.to_vec()),
                    64,
                )
                .unwrap();
            if n == 0 {
                assert!(
                    Instant::now() < deadline,
                    "{what}: {:?}, {} received",
                    merge.state(),
                    received.len()
                );
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    };
    drive(
        &mut merge,
        &mut received,
        2000..5000,
        &|_, n| n >= 5000,
        "stalled",
    );
    // Once merged, the live destination alone carries the stream.
    drive(
        &mut merge,
        &mut received,
        5000..5100,
        &|merge, n| merge.is_merged() && n >= 5100,
        "not merged",
    );
    assert_eq!(received.len(), 5100, "no duplicates");
    for (i, payload) in received.iter().enumerate() {
        assert_eq!(payload, &message(i as u32), "message {i}");
    }
    let _subscription = merge.close(&mut client);
    client.close();
    archive.close();
}
