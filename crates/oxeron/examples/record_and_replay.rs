//! Records an IPC stream with an embedded archive, then replays it and checks that every message comes back
//! unchanged and at the position it was published at.
//!
//! A driver and an archive run in this process (the archive's files in a temporary directory). The example
//! records `aeron:ipc` stream 1001 while it publishes 10,000 numbered messages, stops the recording, finds it
//! again with `find_last_matching_recording` and replays it on stream 2001.
//!
//! Run it with `cargo run -p oxeron --example record_and_replay`.

use std::error::Error;
use std::time::{Duration, Instant};

use oxeron::prelude::*;

const CHANNEL: &str = "aeron:ipc";
const RECORDED_STREAM: i32 = 1001;
const REPLAY_STREAM: i32 = 2001;
const MESSAGES: u64 = 10_000;
const TIMEOUT: Duration = Duration::from_secs(10);

/// Message `n`: its number, then some text.
fn message(n: u64) -> Vec<u8> {
    let mut bytes = n.to_le_bytes().to_vec();
    bytes.extend_from_slice(format!(" message {n}").as_bytes());
    bytes
}

fn main() -> Result<(), Box<dyn Error>> {
    let driver = MediaDriver::launch_embedded()?;
    let archive_dir = tempfile::tempdir()?;
    let archive_server = Archive::launch(
        ArchiveContext::new()
            .aeron_dir(driver.aeron_dir())
            .archive_dir(archive_dir.path())
            .control_channel_enabled(false), // local (IPC) control only
    )?;
    let aeron = Aeron::connect(AeronContext::new().aeron_dir(driver.aeron_dir()))?;
    let mut archive = AeronArchive::connect(
        AeronArchiveContext::new()
            .aeron(aeron.clone())
            .control_request_channel(CHANNEL)
            .control_response_channel(CHANNEL),
    )?;

    let subscription_id =
        archive.start_recording(CHANNEL, RECORDED_STREAM, SourceLocation::Local, false)?;
    let mut publication = aeron.add_exclusive_publication(CHANNEL, RECORDED_STREAM)?;
    let recording_id = archive
        .await_recording_signal(None, RecordingSignal::Start)?
        .recording_id;

    // The position after each message, as `offer` reports it.
    let mut positions = Vec::with_capacity(MESSAGES as usize);
    for n in 0..MESSAGES {
        let deadline = Instant::now() + TIMEOUT;
        let payload = message(n);
        loop {
            match publication.offer(&payload) {
                Ok(position) => {
                    positions.push(position);
                    break;
                }
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("message {n} was never accepted: {e}").into())
                }
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
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

    // Find the recording as a later process would: by channel, stream and session.
    let found = archive.find_last_matching_recording(
        0,
        CHANNEL,
        RECORDED_STREAM,
        publication.session_id(),
    )?;
    if found != recording_id {
        return Err(format!("found recording {found}, expected {recording_id}").into());
    }

    let (_replay_session_id, mut replay) = archive.replay(
        recording_id,
        CHANNEL,
        REPLAY_STREAM,
        ReplayParams::default(),
    )?;
    let mut received = 0u64;
    let mut mismatch = None;
    let deadline = Instant::now() + TIMEOUT;
    while received < MESSAGES && mismatch.is_none() {
        let fragments = replay.poll(
            |payload: &[u8], header: &Header| {
                let expected_position = positions[received as usize];
                if payload != message(received) || header.position() != expected_position {
                    mismatch.get_or_insert(format!(
                        "message {received} differs: {payload:?} at position {}, expected position \
                         {expected_position}",
                        header.position()
                    ));
                }
                received += 1;
            },
            100,
        );
        if fragments == 0 {
            if Instant::now() > deadline {
                return Err(format!("the replay stalled after {received} messages").into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    if let Some(mismatch) = mismatch {
        return Err(mismatch.into());
    }

    println!(
        "recording {recording_id}: replayed {received} messages, {end} bytes, identical to what was published"
    );
    archive.close();
    archive_server.close();
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
