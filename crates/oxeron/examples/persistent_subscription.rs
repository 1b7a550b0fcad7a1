//! A persistent subscription reads a recorded stream from its start: it replays the history from the archive,
//! then switches to the live stream once it has caught up, without a gap or a duplicate.
//!
//! A driver and an archive run in this process. The archive records `aeron:ipc` stream 1001 while 3,000
//! messages are published; then a `PersistentSubscription` starts `FROM_START`, and the publisher goes on to
//! 6,000 messages while it reads. The example checks that the messages arrive in order, each once, and that
//! the subscription ends up reading the live stream.
//!
//! Run it with `cargo run -p oxeron --example persistent_subscription`.

use std::error::Error;
use std::time::{Duration, Instant};

use oxeron::archive::client::{
    PersistentState, PersistentSubscription, PersistentSubscriptionContext, FROM_START,
};
use oxeron::prelude::*;

const CHANNEL: &str = "aeron:ipc";
const LIVE_STREAM: i32 = 1001;
const REPLAY_STREAM: i32 = 2001;
const HISTORY: u64 = 3_000;
const TOTAL: u64 = 6_000;
const TIMEOUT: Duration = Duration::from_secs(10);

/// Message `n`: its number and some padding.
fn message(n: u64) -> Vec<u8> {
    let mut bytes = n.to_le_bytes().to_vec();
    bytes.resize(100, b'.');
    bytes
}

fn offer(publication: &mut ExclusivePublication, n: u64) -> Result<(), Box<dyn Error>> {
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
    let driver = MediaDriver::launch_embedded()?;
    let archive_dir = tempfile::tempdir()?;
    let archive_server = Archive::launch(
        ArchiveContext::new()
            .aeron_dir(driver.aeron_dir())
            .archive_dir(archive_dir.path())
            .control_channel_enabled(false),
    )?;
    let aeron = Aeron::connect(AeronContext::new().aeron_dir(driver.aeron_dir()))?;
    let mut archive = AeronArchive::connect(
        AeronArchiveContext::new()
            .aeron(aeron.clone())
            .control_request_channel(CHANNEL)
            .control_response_channel(CHANNEL),
    )?;

    archive.start_recording(CHANNEL, LIVE_STREAM, SourceLocation::Local, false)?;
    let mut publication = aeron.add_exclusive_publication(CHANNEL, LIVE_STREAM)?;
    let recording_id = archive
        .await_recording_signal(None, RecordingSignal::Start)?
        .recording_id;
    for n in 0..HISTORY {
        offer(&mut publication, n)?;
    }

    let ctx = PersistentSubscriptionContext::new(
        recording_id,
        CHANNEL,
        LIVE_STREAM,
        CHANNEL,
        REPLAY_STREAM,
    )
    .start_position(FROM_START);
    let mut persistent = PersistentSubscription::new(&mut archive, ctx)?;

    let mut received = Vec::with_capacity(TOTAL as usize);
    let mut received_before_live = None;
    let mut next = HISTORY;
    let mut deadline = Instant::now() + TIMEOUT;
    while received.len() as u64 != TOTAL || !persistent.is_live() {
        if next < TOTAL {
            offer(&mut publication, next)?;
            next += 1;
        }
        let fragments = persistent.poll(
            &mut archive,
            |payload: &[u8], _header: &Header| {
                received.push(u64::from_le_bytes(payload[..8].try_into().unwrap()));
            },
            64,
        )?;
        if persistent.state() == PersistentState::Live && received_before_live.is_none() {
            received_before_live = Some(received.len());
        }
        if received.len() as u64 > TOTAL {
            return Err(format!("{} messages of {TOTAL}: duplicates", received.len()).into());
        }
        if fragments > 0 {
            deadline = Instant::now() + TIMEOUT;
        } else if Instant::now() > deadline {
            return Err(format!(
                "stalled in {:?} after {} messages",
                persistent.state(),
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
        "persistent subscription: {} messages in sequence, live after {} (position {})",
        received.len(),
        received_before_live.unwrap_or_default(),
        persistent.position()
    );

    drop(persistent);
    archive.close();
    archive_server.close();
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
