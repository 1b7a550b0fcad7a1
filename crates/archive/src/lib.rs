//! Aeron Archive in Rust, compatible with Aeron 1.54: the archive server ([`server::Archive`]), the archive
//! client ([`client::AeronArchive`]) and the storage both share: the memory-mapped catalog
//! `archive.catalog`, recording segment files `<recordingId>-<segmentBasePosition>.rec` and the archive mark
//! file `archive-mark.dat`, in the Java archive's layouts (an Oxeron archive opens a directory the Java archive
//! wrote, and the other way round).
//!
//! The record and replay story, on an embedded driver:
//!
//! ```no_run
//! use std::sync::Arc;
//! use oxeron_archive::client::{AeronArchive, Context as ArchiveClientContext, ReplayParams};
//! use oxeron_archive::server::{Archive, Context as ArchiveContext};
//! use oxeron_archive::{RecordingSignal, SourceLocation};
//! use oxeron_client::{Aeron, Context};
//! use oxeron_driver::{Context as DriverContext, MediaDriver};
//!
//! let driver = MediaDriver::launch(DriverContext::new().aeron_dir("/dev/shm/archive-example"))?;
//! let archive = Archive::launch(
//!     ArchiveContext::new()
//!         .aeron_dir(driver.aeron_dir())
//!         .archive_dir("/tmp/archive-example")
//!         .control_channel_enabled(false),
//! )?;
//! let aeron = Aeron::connect(Context::new().aeron_dir(driver.aeron_dir()))?;
//! let mut client = AeronArchive::connect(
//!     ArchiveClientContext::new()
//!         .aeron(aeron.clone())
//!         .control_request_channel("aeron:ipc")
//!         .control_response_channel("aeron:ipc"),
//! )?;
//! let subscription_id = client.start_recording("aeron:ipc", 1001, SourceLocation::Local, false)?;
//! let publication = aeron.add_publication("aeron:ipc", 1001)?;
//! let recording_id = client.await_recording_signal(None, RecordingSignal::Start)?.recording_id;
//! let _ = publication.offer(b"hello");
//! // ... once recorded:
//! client.stop_recording_subscription(subscription_id)?;
//! let (_replay_session_id, mut replay) =
//!     client.replay(recording_id, "aeron:ipc", 2001, ReplayParams::default())?;
//! replay.poll(|message, header| println!("{message:?} at {}", header.position()), 10);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Wire and file formats come from [`oxeron_protocol::archive`]; this crate adds the files, durability (file
//! sync levels), crash recovery, the control protocol's sessions, recording, replay and replication.

pub mod catalog;
pub mod checksum;
pub mod client;
pub mod error;
pub mod io_hints;
pub mod mark;
pub mod segment;
pub mod server;
pub mod storage_space;

pub use catalog::{
    Catalog, CatalogRecording, NewRecording, CATALOG_FILE_NAME, DEFAULT_CATALOG_CAPACITY,
};
pub use checksum::Checksum;
pub use client::{AeronArchive, ArchiveError, ReplayParams, ReplicationParams};
pub use error::ArchiveStorageError;
pub use mark::{
    link_mark_file_dir, resolve_mark_file_dir, ArchiveMarkFile, MarkFileSettings,
    ARCHIVE_MARK_FILE_NAME, ARCHIVE_MARK_LINK_FILE_NAME,
};
pub use oxeron_protocol::archive::{RecordingSignal, SourceLocation};
pub use segment::{RecordedFrame, SegmentReader, SegmentWriter};
pub use server::Archive;

use std::fs::File;
use std::io;
use std::path::Path;

/// How hard a write is pushed to storage before it counts as done (Aeron's `fileSyncLevel` /
/// `catalogFileSyncLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FileSyncLevel {
    /// 0: leave it to the page cache.
    #[default]
    None,
    /// 1: flush file data (`fdatasync`).
    Data,
    /// 2: flush file data and metadata (`fsync`).
    DataAndMetadata,
}

impl FileSyncLevel {
    /// The level for Aeron's integer setting; `None` outside 0..=2.
    pub const fn from_level(level: i32) -> Option<Self> {
        match level {
            0 => Some(Self::None),
            1 => Some(Self::Data),
            2 => Some(Self::DataAndMetadata),
            _ => None,
        }
    }

    /// Aeron's integer setting.
    pub const fn level(self) -> i32 {
        match self {
            Self::None => 0,
            Self::Data => 1,
            Self::DataAndMetadata => 2,
        }
    }

    /// Flushes `file` as this level asks.
    pub fn sync(self, file: &File) -> io::Result<()> {
        match self {
            Self::None => Ok(()),
            Self::Data => file.sync_data(),
            Self::DataAndMetadata => file.sync_all(),
        }
    }

    /// Flushes a directory's entries (after creating a file in it) when the level asks for any flushing.
    pub fn sync_dir(self, dir: &Path) -> io::Result<()> {
        if self == Self::None {
            return Ok(());
        }
        self.sync(&File::open(dir)?)
    }
}
