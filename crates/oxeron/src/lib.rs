//! Oxeron: the Aeron messaging stack in pure Rust, byte-compatible with Aeron 1.54.
//!
//! One crate for applications: the client ([`Aeron`], [`Publication`], [`Subscription`]), the media driver
//! ([`MediaDriver`]) and Aeron Archive ([`Archive`], [`AeronArchive`]), with the layers below them as modules.
//! `use oxeron::prelude::*` brings the types an application uses, with one name per context
//! ([`AeronContext`], [`MediaDriverContext`], [`ArchiveContext`], [`AeronArchiveContext`]). The `oxeron`
//! command (a standalone driver, an archiving driver, AeronStat and ArchiveTool's work) is the separate
//! `oxeron-cli` crate, so an application builds only the library.
//!
//! # Publish and subscribe
//!
//! A driver embedded in this process, in a directory of its own that it deletes when dropped, and a client
//! that sends itself one message over IPC:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use oxeron::prelude::*;
//!
//! let driver = MediaDriver::launch_embedded()?;
//! let aeron = Aeron::connect(AeronContext::new().aeron_dir(driver.aeron_dir()))?;
//! let mut subscription = aeron.add_subscription("aeron:ipc", 1001)?;
//! let publication = aeron.add_publication("aeron:ipc", 1001)?;
//!
//! let deadline = Instant::now() + Duration::from_secs(10);
//! // Not connected until the driver has linked the subscription's image; back pressured when it lags.
//! while publication.offer(b"hello").is_err() {
//!     assert!(Instant::now() < deadline, "never connected");
//!     std::thread::sleep(Duration::from_millis(1));
//! }
//! let mut received = Vec::new();
//! while received.is_empty() {
//!     assert!(Instant::now() < deadline, "nothing received");
//!     subscription.poll(|message: &[u8], _header: &Header| received.push(message.to_vec()), 10);
//! }
//! assert_eq!(received, [b"hello".to_vec()]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Record and replay
//!
//! The archive records a stream to disk while it is published, and replays it to a new stream later, byte for
//! byte and at the same positions:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use oxeron::prelude::*;
//!
//! // 1. The contexts: a driver, an archive on it, a client, and an archive client on that.
//! let driver = MediaDriver::launch_embedded()?;
//! let archive_dir = tempfile::tempdir()?;
//! let _archive = Archive::launch(
//!     ArchiveContext::new()
//!         .aeron_dir(driver.aeron_dir())
//!         .archive_dir(archive_dir.path())
//!         .control_channel_enabled(false), // local (IPC) control only
//! )?;
//! let aeron = Aeron::connect(AeronContext::new().aeron_dir(driver.aeron_dir()))?;
//! let mut archive = AeronArchive::connect(
//!     AeronArchiveContext::new()
//!         .aeron(aeron.clone())
//!         .control_request_channel("aeron:ipc")
//!         .control_response_channel("aeron:ipc"),
//! )?;
//!
//! // 2. Start recording stream 1001, then publish to it.
//! let subscription_id = archive.start_recording("aeron:ipc", 1001, SourceLocation::Local, false)?;
//! let mut publication = aeron.add_exclusive_publication("aeron:ipc", 1001)?;
//! let recording_id = archive.await_recording_signal(None, RecordingSignal::Start)?.recording_id;
//! let deadline = Instant::now() + Duration::from_secs(10);
//! for n in 0..100u32 {
//!     while publication.offer(&n.to_le_bytes()).is_err() {
//!         assert!(Instant::now() < deadline, "publication never accepted message {n}");
//!         std::thread::sleep(Duration::from_millis(1));
//!     }
//! }
//!
//! // 3. Once everything is on disk, stop recording.
//! while archive.get_recording_position(recording_id)? < publication.position() {
//!     assert!(Instant::now() < deadline, "recording fell behind");
//!     std::thread::sleep(Duration::from_millis(1));
//! }
//! archive.stop_recording_subscription(subscription_id)?;
//!
//! // 4. Find the recording again, as a later process would.
//! let found = archive.find_last_matching_recording(0, "aeron:ipc", 1001, publication.session_id())?;
//! assert_eq!(found, recording_id);
//!
//! // 5. Replay it on stream 2001 and receive every message.
//! let (_replay_session_id, mut replay) =
//!     archive.replay(recording_id, "aeron:ipc", 2001, ReplayParams::default())?;
//! let mut received = Vec::new();
//! while received.len() < 100 {
//!     assert!(Instant::now() < deadline, "replay stalled at {} messages", received.len());
//!     replay.poll(|message: &[u8], _header: &Header| received.push(message.to_vec()), 10);
//! }
//! assert!(received.iter().enumerate().all(|(n, m)| m[..] == (n as u32).to_le_bytes()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! More, as programs: `crates/oxeron/examples/` (replay merge, persistent subscriptions, two drivers over UDP
//! with multi-destination cast, an archive reached over UDP, an async service).

#[doc(inline)]
pub use oxeron_archive::{AeronArchive, Archive};
#[doc(inline)]
pub use oxeron_client::{Aeron, ExclusivePublication, Image, Publication, Subscription};
#[doc(inline)]
pub use oxeron_driver::MediaDriver;

#[doc(inline)]
pub use oxeron_archive::client::Context as AeronArchiveContext;
#[doc(inline)]
pub use oxeron_archive::server::Context as ArchiveContext;
#[doc(inline)]
pub use oxeron_client::Context as AeronContext;
#[doc(inline)]
pub use oxeron_driver::Context as MediaDriverContext;

/// The client: [`Aeron`], publications, subscriptions, images, counters and the CnC file.
#[doc(inline)]
pub use oxeron_client as client;

/// The media driver: [`MediaDriver`] and its settings.
#[doc(inline)]
pub use oxeron_driver as driver;

/// Aeron Archive: the server ([`Archive`]), the client ([`AeronArchive`]) and the storage they share.
#[doc(inline)]
pub use oxeron_archive as archive;

/// Shared-memory primitives: mapped files, atomic buffers, ring buffers, broadcast, counters, idle strategies.
#[doc(inline)]
pub use oxeron_concurrent as concurrent;

/// Aeron's wire and file formats, with no I/O: frames, log buffers, channel URIs, driver and archive messages.
#[doc(inline)]
pub use oxeron_protocol as protocol;

/// What an application uses, under one name each: `use oxeron::prelude::*;`.
pub mod prelude {
    pub use crate::{AeronArchiveContext, AeronContext, ArchiveContext, MediaDriverContext};
    pub use oxeron_archive::client::{AeronArchive, ReplayMerge, ReplayParams, ReplicationParams};
    pub use oxeron_archive::server::Archive;
    pub use oxeron_archive::{ArchiveError, RecordingSignal, SourceLocation};
    pub use oxeron_client::{
        Aeron, AeronError, BufferClaim, ControlledFragmentAssembler, ControlledPollAction, Counter,
        ExclusivePublication, FragmentAssembler, Header, Image, OfferError, Publication,
        Subscription,
    };
    pub use oxeron_driver::{DriverError, MediaDriver, ThreadingMode};
}

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
