//! The archive over UDP: control requests and responses, recording a UDP stream through a spy (local
//! source) and replaying onto a UDP channel, all through one embedded driver on loopback.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxeron_archive::client::{AeronArchive, Context as ArchiveClientContext, ReplayParams};
use oxeron_archive::server::{Archive, Context as ArchiveContext};
use oxeron_archive::{RecordingSignal, SourceLocation};
use oxeron_client::{Aeron, Context as ClientContext, FragmentAssembler, Header};
use oxeron_driver::{Context as DriverContext, MediaDriver, ThreadingMode};

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn control_recording_and_replay_over_udp() {
    let dir = oxeron_testkit::temp_aeron_dir();
    let aeron_dir = dir.path().join("aeron");
    let _driver = MediaDriver::launch(
        DriverContext::new()
            .aeron_dir(&aeron_dir)
            .threading_mode(ThreadingMode::Shared)
            .dir_delete_on_shutdown(true),
    )
    .unwrap();
    let control = format!("aeron:udp?endpoint=127.0.0.1:{}", free_port());
    let archive = Archive::launch(
        ArchiveContext::new()
            .aeron_dir(&aeron_dir)
            .archive_dir(dir.path().join("archive"))
            .control_channel(control.clone())
            .segment_file_length(256 * 1024),
    )
    .unwrap();
    let aeron = Arc::new(Aeron::connect(ClientContext::new().aeron_dir(&aeron_dir)).unwrap());
    let mut client = AeronArchive::connect(
        ArchiveClientContext::new()
            .aeron(Arc::clone(&aeron))
            .control_request_channel(control)
            .control_response_channel(format!("aeron:udp?endpoint=127.0.0.1:{}", free_port())),
    )
    .unwrap();

    let recorded = format!(
        "aeron:udp?endpoint=127.0.0.1:{}|term-length=65536",
        free_port()
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

    let replay_channel = format!("aeron:udp?endpoint=127.0.0.1:{}", free_port());
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
