//! The archive mark file `archive-mark.dat`: the archive's identity and liveness (an SBE `MarkFileHeader`,
//! see [`oxeron_protocol::archive::mark`]) followed by its distinct error log.

use std::path::{Path, PathBuf};

use oxeron_concurrent::mapped_file::{page_size, MappedFile};
use oxeron_concurrent::process::{process_state, ProcessState};
use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::align;
use oxeron_protocol::archive::mark::{
    MARK_FILE_ACTIVITY_TIMESTAMP_OFFSET, MARK_FILE_PID_OFFSET, MARK_FILE_VERSION,
    MARK_FILE_VERSION_OFFSET,
};
use oxeron_protocol::archive::{ArchiveMarkFileHeader, MARK_FILE_HEADER_LENGTH};

use crate::error::{ArchiveStorageError, Result};

/// File name of the mark file.
pub const ARCHIVE_MARK_FILE_NAME: &str = "archive-mark.dat";
/// File name of the link an archive directory holds when its mark file lives in another directory: the
/// text of that directory's absolute path (Java's `ArchiveMarkFile.LINK_FILENAME`).
pub const ARCHIVE_MARK_LINK_FILE_NAME: &str = "archive-mark.lnk";
/// How old an activity timestamp may be for the archive to count as alive (Aeron: 10 s).
pub const LIVENESS_TIMEOUT_MS: i64 = 10_000;
/// Default error log length (1 MiB).
pub const DEFAULT_ERROR_BUFFER_LENGTH: usize = 1024 * 1024;
/// Activity timestamp written on a clean close.
pub const NULL_TIMESTAMP: i64 = -1;
/// Major version of the mark file format this crate reads.
pub const MARK_FILE_MAJOR_VERSION: i32 = 3;

/// Writes `archive_dir/archive-mark.lnk` naming `mark_dir` when the two differ, and removes a stale link
/// when they are the same directory, as Java's archive does on start.
pub fn link_mark_file_dir(archive_dir: &Path, mark_dir: &Path) -> Result<()> {
    let canonical = |dir: &Path| dir.canonicalize().map_err(ArchiveStorageError::io(dir));
    let archive = canonical(archive_dir)?;
    let mark = canonical(mark_dir)?;
    let link = archive.join(ARCHIVE_MARK_LINK_FILE_NAME);
    if archive == mark {
        match std::fs::remove_file(&link) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(ArchiveStorageError::io(&link)(e))
            }
            _ => Ok(()),
        }
    } else {
        use std::os::unix::ffi::OsStrExt;
        std::fs::write(&link, mark.as_os_str().as_bytes()).map_err(ArchiveStorageError::io(&link))
    }
}

/// The directory holding an archive's mark file: the one `archive_dir/archive-mark.lnk` names, or
/// `archive_dir` itself when there is no link.
pub fn resolve_mark_file_dir(archive_dir: &Path) -> Result<PathBuf> {
    let link = archive_dir.join(ARCHIVE_MARK_LINK_FILE_NAME);
    match std::fs::read(&link) {
        Ok(bytes) => {
            use std::os::unix::ffi::OsStrExt;
            let text = bytes.trim_ascii();
            Ok(PathBuf::from(std::ffi::OsStr::from_bytes(text)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(archive_dir.to_path_buf()),
        Err(e) => Err(ArchiveStorageError::io(&link)(e)),
    }
}

/// What a new mark file records about the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkFileSettings<'a> {
    /// Process id of the archive.
    pub pid: i64,
    /// Archive id.
    pub archive_id: i64,
    /// Control stream id.
    pub control_stream_id: i32,
    /// Local control stream id.
    pub local_control_stream_id: i32,
    /// Recording events stream id.
    pub events_stream_id: i32,
    /// Control channel.
    pub control_channel: &'a str,
    /// Local control channel.
    pub local_control_channel: &'a str,
    /// Recording events channel (empty when disabled).
    pub events_channel: &'a str,
    /// Aeron directory of the archive's driver.
    pub aeron_directory: &'a str,
    /// Length of the error log.
    pub error_buffer_length: usize,
}

/// An open `archive-mark.dat`.
#[derive(Debug)]
pub struct ArchiveMarkFile {
    path: PathBuf,
    map: MappedFile,
}

impl ArchiveMarkFile {
    /// Creates (or replaces a stale) `dir/archive-mark.dat`, refusing if a live archive owns it (activity
    /// timestamp within `timeout_ms` of `now_ms`). The version is written last, as Aeron does.
    pub fn create(
        dir: impl AsRef<Path>,
        settings: &MarkFileSettings<'_>,
        now_ms: i64,
        timeout_ms: i64,
    ) -> Result<Self> {
        Self::refuse_live(&dir, now_ms, timeout_ms)?;
        let path = dir.as_ref().join(ARCHIVE_MARK_FILE_NAME);
        let error_length = i32::try_from(settings.error_buffer_length).map_err(|_| {
            ArchiveStorageError::InvalidParameter {
                what: "error buffer length",
                value: settings.error_buffer_length as i64,
            }
        })?;
        let header = ArchiveMarkFileHeader {
            version: 0,
            activity_timestamp: now_ms,
            start_timestamp: now_ms,
            pid: settings.pid,
            control_stream_id: settings.control_stream_id,
            local_control_stream_id: settings.local_control_stream_id,
            events_stream_id: settings.events_stream_id,
            header_length: MARK_FILE_HEADER_LENGTH as i32,
            error_buffer_length: error_length,
            archive_id: settings.archive_id,
            control_channel: settings.control_channel,
            local_control_channel: settings.local_control_channel,
            events_channel: settings.events_channel,
            aeron_directory: settings.aeron_directory,
        };
        if header.encoded_length() > MARK_FILE_HEADER_LENGTH {
            return Err(ArchiveStorageError::InvalidParameter {
                what: "mark file header length",
                value: header.encoded_length() as i64,
            });
        }
        let length = align(
            MARK_FILE_HEADER_LENGTH + settings.error_buffer_length,
            page_size(),
        );
        let map = MappedFile::create(&path, length).map_err(ArchiveStorageError::io(&path))?;
        map.buffer().put_bytes(0, &header.to_vec());
        map.buffer()
            .put_i32_release(MARK_FILE_VERSION_OFFSET, MARK_FILE_VERSION);
        Ok(Self { path, map })
    }

    /// Opens an existing mark file read-write and checks its header.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let path = dir.as_ref().join(ARCHIVE_MARK_FILE_NAME);
        let map = MappedFile::open(&path, 0).map_err(ArchiveStorageError::io(&path))?;
        let file = Self { path, map };
        file.with_header(|_| ())?;
        Ok(file)
    }

    /// The activity timestamp of a live archive's mark file at `path`, or `None` if there is no file, it is
    /// not yet (or no longer) initialised, its timestamp is older than `timeout_ms`, or the pid it records
    /// is not running on this host.
    fn live_timestamp(path: &Path, now_ms: i64, timeout_ms: i64) -> Result<Option<i64>> {
        if !path.exists() {
            return Ok(None);
        }
        let map = MappedFile::open_private(path, 0).map_err(ArchiveStorageError::io(path))?;
        let buffer = map.buffer();
        if buffer.capacity() < MARK_FILE_ACTIVITY_TIMESTAMP_OFFSET + 8
            || buffer.get_i32_acquire(MARK_FILE_VERSION_OFFSET) == 0
        {
            return Ok(None);
        }
        let timestamp = buffer.get_i64_acquire(MARK_FILE_ACTIVITY_TIMESTAMP_OFFSET);
        let recent = timestamp != NULL_TIMESTAMP && now_ms.saturating_sub(timestamp) <= timeout_ms;
        // A recent timestamp from a process that is gone (killed, crashed) needs no timeout to expire.
        let pid = buffer.get_i64_acquire(MARK_FILE_PID_OFFSET);
        let alive = recent && process_state(pid) != ProcessState::Dead;
        Ok(alive.then_some(timestamp))
    }

    /// Refuses (with [`ArchiveStorageError::ActiveArchive`]) when a live archive owns `dir/archive-mark.dat`.
    pub fn refuse_live(dir: impl AsRef<Path>, now_ms: i64, timeout_ms: i64) -> Result<()> {
        let path = dir.as_ref().join(ARCHIVE_MARK_FILE_NAME);
        match Self::live_timestamp(&path, now_ms, timeout_ms)? {
            Some(activity_timestamp) => Err(ArchiveStorageError::ActiveArchive {
                path,
                activity_timestamp,
            }),
            None => Ok(()),
        }
    }

    /// Whether a live archive owns `dir/archive-mark.dat` (activity timestamp within `timeout_ms`, and its
    /// recorded pid still running).
    pub fn is_active(dir: impl AsRef<Path>, now_ms: i64, timeout_ms: i64) -> Result<bool> {
        let path = dir.as_ref().join(ARCHIVE_MARK_FILE_NAME);
        Ok(Self::live_timestamp(&path, now_ms, timeout_ms)?.is_some())
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the decoded header (a copy of the header region).
    pub fn with_header<R>(&self, f: impl FnOnce(&ArchiveMarkFileHeader<'_>) -> R) -> Result<R> {
        let length = MARK_FILE_HEADER_LENGTH.min(self.map.len());
        let bytes = self.map.buffer().to_vec(0, length);
        let header =
            ArchiveMarkFileHeader::decode(&bytes).map_err(|error| ArchiveStorageError::Decode {
                path: self.path.clone(),
                error,
            })?;
        if (header.version >> 16) & 0xFF != MARK_FILE_MAJOR_VERSION {
            return Err(ArchiveStorageError::IncompatibleVersion {
                path: self.path.clone(),
                version: header.version,
            });
        }
        Ok(f(&header))
    }

    /// Current activity timestamp (epoch ms).
    pub fn activity_timestamp(&self) -> i64 {
        self.map
            .buffer()
            .get_i64_acquire(MARK_FILE_ACTIVITY_TIMESTAMP_OFFSET)
    }

    /// Refreshes the activity timestamp (the archive does this about once a second).
    pub fn update_activity_timestamp(&self, now_ms: i64) {
        self.map
            .buffer()
            .put_i64_release(MARK_FILE_ACTIVITY_TIMESTAMP_OFFSET, now_ms);
    }

    /// Marks a clean shutdown: the activity timestamp becomes -1 so a new archive can start at once.
    pub fn signal_closed(&self) {
        self.update_activity_timestamp(NULL_TIMESTAMP);
    }

    /// The error log region, for a distinct error log writer or reader; `None` if the header's lengths do
    /// not fit the file.
    pub fn error_buffer(&self) -> Result<Option<AtomicBuffer>> {
        let (start, length) = self.with_header(|h| (h.header_length, h.error_buffer_length))?;
        let (Ok(start), Ok(length)) = (usize::try_from(start), usize::try_from(length)) else {
            return Ok(None);
        };
        Ok(self.map.buffer().view(start, length).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> MarkFileSettings<'static> {
        MarkFileSettings {
            pid: i64::from(std::process::id()),
            archive_id: 7,
            control_stream_id: 10,
            local_control_stream_id: 10,
            events_stream_id: 30,
            control_channel: "aeron:udp?endpoint=localhost:8010",
            local_control_channel: "aeron:ipc?term-length=64k",
            events_channel: "",
            aeron_directory: "/dev/shm/aeron",
            error_buffer_length: DEFAULT_ERROR_BUFFER_LENGTH,
        }
    }

    #[test]
    fn create_detects_live_and_stale_archives() {
        let dir = tempfile::tempdir().unwrap();
        let now = 1_000_000;
        let mark =
            ArchiveMarkFile::create(dir.path(), &settings(), now, LIVENESS_TIMEOUT_MS).unwrap();
        assert_eq!(std::fs::metadata(mark.path()).unwrap().len(), 1_056_768);
        mark.with_header(|h| {
            assert_eq!(h.version, MARK_FILE_VERSION);
            assert_eq!(
                (h.start_timestamp, h.activity_timestamp, h.pid),
                (now, now, i64::from(std::process::id()))
            );
            assert_eq!(
                (h.header_length, h.error_buffer_length, h.archive_id),
                (8192, 1 << 20, 7)
            );
            assert_eq!(h.local_control_channel, "aeron:ipc?term-length=64k");
        })
        .unwrap();
        mark.update_activity_timestamp(now + 1_000);
        assert!(ArchiveMarkFile::is_active(dir.path(), now + 5_000, LIVENESS_TIMEOUT_MS).unwrap());
        assert!(matches!(
            ArchiveMarkFile::create(dir.path(), &settings(), now + 5_000, LIVENESS_TIMEOUT_MS),
            Err(ArchiveStorageError::ActiveArchive {
                activity_timestamp: 1_001_000,
                ..
            })
        ));
        // Stale: a new archive may take over.
        assert!(
            !ArchiveMarkFile::is_active(dir.path(), now + 20_000, LIVENESS_TIMEOUT_MS).unwrap()
        );
        let other = ArchiveMarkFile::open(dir.path()).unwrap();
        assert_eq!(other.activity_timestamp(), now + 1_000);
        mark.signal_closed();
        assert!(!ArchiveMarkFile::is_active(dir.path(), now + 1_000, LIVENESS_TIMEOUT_MS).unwrap());
        drop((mark, other));
        let again =
            ArchiveMarkFile::create(dir.path(), &settings(), now + 2_000, LIVENESS_TIMEOUT_MS)
                .unwrap();
        assert_eq!(again.error_buffer().unwrap().unwrap().capacity(), 1 << 20);
        assert!(!ArchiveMarkFile::is_active(tempfile::tempdir().unwrap().path(), now, 10).unwrap());
    }

    #[test]
    fn an_archive_whose_process_is_gone_is_taken_over_at_once() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = i64::from(child.id());
        child.wait().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let now = 1_000_000;
        let crashed = MarkFileSettings {
            pid: dead,
            ..settings()
        };
        let mark = ArchiveMarkFile::create(dir.path(), &crashed, now, LIVENESS_TIMEOUT_MS).unwrap();
        mark.update_activity_timestamp(now + 1_000);
        assert!(!ArchiveMarkFile::is_active(dir.path(), now + 1_000, LIVENESS_TIMEOUT_MS).unwrap());
        let next =
            ArchiveMarkFile::create(dir.path(), &settings(), now + 1_000, LIVENESS_TIMEOUT_MS)
                .unwrap();
        next.with_header(|h| assert_eq!(h.pid, i64::from(std::process::id())))
            .unwrap();
    }

    #[test]
    fn corrupt_mark_files_give_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ARCHIVE_MARK_FILE_NAME);
        std::fs::write(&path, [1u8; 100]).unwrap();
        assert!(matches!(
            ArchiveMarkFile::open(dir.path()),
            Err(ArchiveStorageError::Decode { .. })
        ));
        // A garbage file with a future "activity timestamp" counts as live, as in Aeron.
        assert!(ArchiveMarkFile::is_active(dir.path(), 0, 0).unwrap());
        std::fs::remove_file(&path).unwrap();
        let mark = ArchiveMarkFile::create(dir.path(), &settings(), 0, 0).unwrap();
        mark.map
            .buffer()
            .put_i32(MARK_FILE_VERSION_OFFSET, 0x0002_0000);
        assert!(matches!(
            ArchiveMarkFile::open(dir.path()),
            Err(ArchiveStorageError::IncompatibleVersion { .. })
        ));
        mark.signal_closed();
        let long = "x".repeat(9000);
        let settings = MarkFileSettings {
            aeron_directory: &long,
            ..settings()
        };
        assert!(ArchiveMarkFile::create(dir.path(), &settings, 0, 0).is_err());
    }
}
