//! Aeron Archive storage (Aeron 1.54 layouts): the memory-mapped catalog `archive.catalog`, recording segment
//! files `<recordingId>-<segmentBasePosition>.rec`, and the archive mark file `archive-mark.dat`.
//!
//! Wire and file formats come from [`oxeron_protocol::archive`]; this crate adds the files, durability (file
//! sync levels) and crash recovery on top.

pub mod catalog;
pub mod client;
pub mod error;
pub mod mark;
pub mod segment;
pub mod server;

pub use catalog::{
    Catalog, CatalogRecording, NewRecording, CATALOG_FILE_NAME, DEFAULT_CATALOG_CAPACITY,
};
pub use client::{AeronArchive, ArchiveError, ReplayParams};
pub use error::ArchiveStorageError;
pub use mark::{ArchiveMarkFile, MarkFileSettings, ARCHIVE_MARK_FILE_NAME};
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
