//! A late joiner catches up on a stream's history from its recording, then merges onto the live stream,
//! with no gap and no duplicate: `ReplayMerge`.
//!
//! Two drivers in this process stand for two hosts on 127.0.0.1. The publisher's driver sends one stream, by
//! multi-destination cast (manual control mode), to the archive's recording endpoint and to a live endpoint.
//! After 2,000 messages a subscriber on the archive's driver joins: the archive replays the recording into
//! its subscription while the publisher goes on publishing, and once the replay has caught up the live
//! endpoint takes over. The subscriber checks that it saw every message once, in order.
//!
//! Run it with `cargo run -p oxeron --example replay_merge`.

use std::error::Error;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use oxeron::prelude::*;

const STREAM: i32 = 1001;
const HISTORY: u64 = 2_000;
const TOTAL: u64 = 5_000;
const TIMEOUT: Duration = Duration::from_secs(20);

/// A UDP port on 127.0.0.1 that is free now.
fn free_udp_port() -> std::io::Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn udp_endpoint() -> std::io::Result<String> {
    Ok(format!("aeron:udp?endpoint=127.0.0.1:{}", free_udp_port()?))
}

/// Message `n`: its number and some padding.
fn message(n: u64) -> Vec<u8> {
    let mut bytes = n.to_le_bytes().to_vec();
    bytes.resize(64, b'.');
    bytes
}

fn offer(publication: &Publication, n: u64) -> Result<(), Box<dyn Error>> {
    let deadline = Instant::now() + TIMEOUT;
    let payload = message(n);
    while let Err(e) = publication.offer(&payload) {
        if Instant::now() > deadline {
            return Err(format!("message {n} was never accepted: {e}").into());
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let shared = || MediaDriverContext::new().threading_mode(ThreadingMode::Shared);
    let archive_driver = MediaDriver::launch_embedded_with(shared())?;
    let publisher_driver = MediaDriver::launch_embedded_with(shared())?;

    // The archive and the subscriber's client, on the first driver.
    let archive_dir = tempfile::tempdir()?;
    let archive_server = Archive::launch(
        ArchiveContext::new()
            .aeron_dir(archive_driver.aeron_dir())
            .archive_dir(archive_dir.path())
            .control_channel_enabled(false),
    )?;
    let aeron = Aeron::connect(AeronContext::new().aeron_dir(archive_driver.aeron_dir()))?;
    let mut archive = AeronArchive::connect(
        AeronArchiveContext::new()
            .aeron(aeron.clone())
            .control_request_channel("aeron:ipc")
            .control_response_channel("aeron:ipc"),
    )?;

    // The live stream from the other "host": one publication, two destinations.
    let recording_endpoint = udp_endpoint()?;
    let live_destination = udp_endpoint()?;
    let replay_destination = udp_endpoint()?;
    let publisher = Aeron::connect(AeronContext::new().aeron_dir(publisher_driver.aeron_dir()))?;
    let publication =
        publisher.add_publication("aeron:udp?control-mode=manual|term-length=65536", STREAM)?;
    publisher.add_destination(publication.registration_id(), &recording_endpoint)?;
    publisher.add_destination(publication.registration_id(), &live_destination)?;

    archive.start_recording(&recording_endpoint, STREAM, SourceLocation::Remote, false)?;
    let recording_id = archive
        .await_recording_signal(None, RecordingSignal::Start)?
        .recording_id;
    let deadline = Instant::now() + TIMEOUT;
    while !publication.is_connected() {
        if Instant::now() > deadline {
            return Err("the archive's recording never connected to the publication".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    for n in 0..HISTORY {
        offer(&publication, n)?;
    }

    // The late joiner: replay into its subscription on the publication's session, then add the live endpoint.
    let subscription = aeron.add_subscription("aeron:udp?control-mode=manual", STREAM)?;
    let replay_channel = format!("aeron:udp?session-id={}", publication.session_id());
    let mut merge = ReplayMerge::new(
        subscription,
        &archive,
        &replay_channel,
        &replay_destination,
        &live_destination,
        recording_id,
        0,
    )?;

    let mut received = Vec::with_capacity(TOTAL as usize);
    let mut received_when_merged = None;
    let mut next = HISTORY;
    let mut deadline = Instant::now() + TIMEOUT;
    while !(merge.is_merged() && received.len() as u64 == TOTAL) {
        // Keep the live stream moving while the subscriber catches up.
        if next < TOTAL {
            offer(&publication, next)?;
            next += 1;
        }
        let fragments = merge.poll(
            &mut archive,
            |payload: &[u8], _header: &Header| {
                received.push(u64::from_le_bytes(payload[..8].try_into().unwrap()));
            },
            64,
        )?;
        if received.len() as u64 > TOTAL {
            return Err(format!("{} messages of {TOTAL}: duplicates", received.len()).into());
        }
        if merge.is_merged() && received_when_merged.is_none() {
            received_when_merged = Some(received.len());
        }
        if fragments > 0 {
            deadline = Instant::now() + TIMEOUT;
        } else if Instant::now() > deadline {
            return Err(format!(
                "stalled in {:?} after {} messages",
                merge.state(),
                received.len()
            )
            .into());
        } else {
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    if let Some(n) = received
        .iter()
        .zip(0..)
        .position(|(&got, want)| got != want)
    {
        return Err(format!("message {n} is {}: a gap or a duplicate", received[n]).into());
    }
    println!(
        "replay merge: {} messages in sequence, merged onto the live stream after {}",
        received.len(),
        received_when_merged.unwrap_or_default()
    );

    let _subscription = merge.close(&mut archive);
    archive.close();
    archive_server.close();
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
