//! The errors of archive storage.

use std::io;
use std::path::PathBuf;

use oxeron_protocol::archive::CatalogEntryError;
use oxeron_protocol::DecodeError;
use thiserror::Error;

/// What can go wrong reading or writing the archive's files.
#[derive(Debug, Error)]
pub enum ArchiveStorageError {
    /// An operating system error on a file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A header or structure that does not decode.
    #[error("{path}: {error}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        error: DecodeError,
    },
    /// A catalog entry that does not decode.
    #[error("{path}: {error}")]
    CorruptEntry {
        /// The catalog file.
        path: PathBuf,
        /// The entry and what is wrong with it.
        error: CatalogEntryError,
    },
    /// A file with a format major version this software does not read.
    #[error("{path}: incompatible version {version:#x}")]
    IncompatibleVersion {
        /// The file.
        path: PathBuf,
        /// Its semantic version.
        version: i32,
    },
    /// A catalog whose values are not allowed (header alignment or next recording id, an entry's
    /// positions or lengths, recording ids out of order, ...).
    #[error("{path}: at offset {offset}: invalid {field} {value}")]
    InvalidCatalog {
        /// The catalog file.
        path: PathBuf,
        /// File offset of the header or entry holding the value.
        offset: usize,
        /// The field.
        field: &'static str,
        /// Its value.
        value: i64,
    },
    /// The catalog cannot grow to hold another entry.
    #[error("catalog is full: {needed} bytes needed, max capacity {max}")]
    CatalogFull {
        /// Capacity the new entry needs.
        needed: u64,
        /// The largest catalog allowed.
        max: u64,
    },
    /// A recording id the catalog does not hold (or no longer holds as valid).
    #[error("unknown recording id {0}")]
    UnknownRecording(i64),
    /// A frame in a segment file, or in a block to record, whose length is not valid there.
    #[error("{path}: invalid frame length {length} at position {position}")]
    InvalidFrame {
        /// The segment file.
        path: PathBuf,
        /// Recording position of the frame.
        position: i64,
        /// The frame length found.
        length: i64,
    },
    /// The last fragment of an interrupted recording straddles a page boundary and a later page of it is
    /// empty: it may be torn (Java: "potentially incomplete last fragment straddling page boundary").
    #[error("{path}: potentially incomplete last fragment at offset {offset} straddling a page boundary")]
    IncompleteFragment {
        /// The segment file.
        path: PathBuf,
        /// File offset of the fragment.
        offset: i64,
    },
    /// A recorded frame whose checksum (kept in its session id field) does not match its bytes.
    #[error(
        "{path}: CRC checksum mismatch at position={position}: recorded checksum={recorded}, computed checksum={computed}"
    )]
    ChecksumMismatch {
        /// The segment file.
        path: PathBuf,
        /// Recording position of the frame.
        position: i64,
        /// The checksum the frame carries.
        recorded: i32,
        /// The checksum of its bytes.
        computed: i32,
    },
    /// A position that is not valid for the request (before the start, misaligned, beyond a limit).
    #[error("invalid position {position}: {reason}")]
    InvalidPosition {
        /// The position.
        position: i64,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The next segment file already exists when rolling over to it.
    #[error("segment file already exists: {0}")]
    SegmentExists(PathBuf),
    /// A recording parameter (term length, segment length) that Aeron does not allow.
    #[error("invalid {what} {value}")]
    InvalidParameter {
        /// The parameter.
        what: &'static str,
        /// Its value.
        value: i64,
    },
    /// Another archive is alive on this mark file (its activity timestamp is fresh).
    #[error("{path}: active archive detected (activity timestamp {activity_timestamp})")]
    ActiveArchive {
        /// The mark file.
        path: PathBuf,
        /// The mark file's activity timestamp (epoch ms).
        activity_timestamp: i64,
    },
}

impl ArchiveStorageError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// Result of archive storage operations.
pub type Result<T> = std::result::Result<T, ArchiveStorageError>;
