//! An archive reached over the network: its client runs on another media driver and talks to it through
//! UDP control request and response channels, records a UDP stream, lists the recordings and replays one
//! over UDP.
//!
//! Two drivers in this process stand for two hosts on 127.0.0.1: the archive's, whose archive listens for
//! control requests on a UDP endpoint, and the client's. The client publishes 1,000 messages on a UDP channel
//! that the archive records from the network, then has the recording replayed to a UDP endpoint on its own
//! side and checks every message.
//!
//! Run it with `cargo run -p oxeron --example archive_over_udp`.

use std::error::Error;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use oxeron::prelude::*;

const RECORDED_STREAM: i32 = 1001;
const REPLAY_STREAM: i32 = 2001;
const MESSAGES: u64 = 1_000;
const TIMEOUT: Duration = Duration::from_secs(10);

/// A UDP port on 127.0.0.1 that is free now.
fn free_udp_port() -> std::io::Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn udp_endpoint() -> std::io::Result<String> {
    Ok(format!("aeron:udp?endpoint=127.0.0.1:{}", free_udp_port()?))
}

/// Message `n`: its number, then some text.
fn message(n: u64) -> Vec<u8> {
    let mut bytes = n.to_le_bytes().to_vec();
    bytes.extend_from_slice(format!(" recorded over UDP #{n}").as_bytes());
    bytes
}

fn main() -> Result<(), Box<dyn Error>> {
    let shared = || MediaDriverContext::new().threading_mode(ThreadingMode::Shared);
    let archive_host = MediaDriver::launch_embedded_with(shared())?;
    let client_host = MediaDriver::launch_embedded_with(shared())?;

    // The archive serves control requests on a UDP endpoint (and, as always, on IPC for local clients).
    let control_request_channel = udp_endpoint()?;
    let archive_dir = tempfile::tempdir()?;
    let archive_server = Archive::launch(
        ArchiveContext::new()
            .aeron_dir(archive_host.aeron_dir())
            .archive_dir(archive_dir.path())
            .control_channel(control_request_channel.as_str()),
    )?;

    // The client, on the other driver, gets its responses on a UDP endpoint of its own.
    let aeron = Aeron::connect(AeronContext::new().aeron_dir(client_host.aeron_dir()))?;
    let mut archive = AeronArchive::connect(
        AeronArchiveContext::new()
            .aeron(aeron.clone())
            .control_request_channel(control_request_channel)
            .control_response_channel(udp_endpoint()?),
    )?;
    println!(
        "connected to archive {} (control session {})",
        archive.archive_id(),
        archive.control_session_id()
    );

    // The archive subscribes to the recorded channel on its host: a remote recording.
    let recorded_channel = format!("{}|term-length=65536", udp_endpoint()?);
    let subscription_id = archive.start_recording(
        &recorded_channel,
        RECORDED_STREAM,
        SourceLocation::Remote,
        false,
    )?;
    let publication = aeron.add_publication(&recorded_channel, RECORDED_STREAM)?;
    let recording_id = archive
        .await_recording_signal(None, RecordingSignal::Start)?
        .recording_id;
    for n in 0..MESSAGES {
        let deadline = Instant::now() + TIMEOUT;
        let payload = message(n);
        while let Err(e) = publication.offer(&payload) {
            if Instant::now() > deadline {
                return Err(format!("message {n} was never accepted: {e}").into());
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    let end = publication.position();
    let deadline = Instant::now() + TIMEOUT;
    while archive.get_recording_position(recording_id)? < end {
        if Instant::now() > deadline {
            return Err(format!("the recording did not reach position {end}").into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    archive.stop_recording_subscription(subscription_id)?;

    let listed = archive.list_recordings(0, 100, |recording| {
        println!(
            "recording {}: stream {} session {} on {}, positions {}..{}",
            recording.recording_id,
            recording.stream_id,
            recording.session_id,
            recording.stripped_channel,
            recording.start_position,
            recording.stop_position
        );
    })?;
    if listed != 1 {
        return Err(format!("expected one recording, listed {listed}").into());
    }

    // The replay comes to a UDP endpoint on the client's host.
    let replay_channel = udp_endpoint()?;
    let (_replay_session_id, mut replay) = archive.replay(
        recording_id,
        &replay_channel,
        REPLAY_STREAM,
        ReplayParams::default(),
    )?;
    let mut next = 0u64;
    let mut mismatch = None;
    let mut deadline = Instant::now() + TIMEOUT;
    while next < MESSAGES && mismatch.is_none() {
        let fragments = replay.poll(
            |payload: &[u8], _header: &Header| {
                if payload != message(next) {
                    mismatch.get_or_insert(format!("replayed message {next} differs"));
                }
                next += 1;
            },
            64,
        );
        if fragments > 0 {
            deadline = Instant::now() + TIMEOUT;
        } else if Instant::now() > deadline {
            return Err(format!("the replay stalled after {next} messages").into());
        } else {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    if let Some(mismatch) = mismatch {
        return Err(mismatch.into());
    }
    println!("replayed {next} messages over UDP from recording {recording_id}");

    archive.close();
    archive_server.close();
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
