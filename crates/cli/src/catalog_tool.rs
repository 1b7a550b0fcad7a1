//! `oxeron catalog`: reads an archive directory without changing it (like Aeron's `ArchiveTool`): lists and
//! describes the recordings of `archive.catalog`, verifies their segment files frame by frame, and dumps the
//! catalog and the mark file.
//!
//! Every file is read into memory with plain reads, so a tool run never writes, never maps a file another
//! process may shrink, and reports bad bytes as [`CatalogToolError`]s or problems instead of panicking.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use oxeron::archive::client::RecordingDescriptor;
use oxeron::archive::mark::LIVENESS_TIMEOUT_MS;
use oxeron::archive::{ARCHIVE_MARK_FILE_NAME, CATALOG_FILE_NAME};
use oxeron::concurrent::atomic_buffer::AtomicBuffer;
use oxeron::concurrent::error_log::ErrorLogReader;
use oxeron::protocol::archive::mark::{ArchiveMarkFileHeader, MARK_FILE_HEADER_LENGTH};
use oxeron::protocol::archive::{
    CatalogHeader, CatalogWalker, RecordingDescriptorHeader, RecordingState,
};

pub use crate::catalog_verify::{
    verify, verify_recording, verify_with, RecordingVerdict, VerifyReport,
};

/// Major version of the catalog and mark file formats this tool reads.
const MAJOR_VERSION: i32 = 3;

/// Why an archive directory could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum CatalogToolError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The catalog header is unreadable or of another format.
    #[error("{path}: corrupt catalog header: {reason}")]
    BadHeader {
        /// The catalog file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The mark file is unreadable.
    #[error("{path}: corrupt mark file: {reason}")]
    BadMarkFile {
        /// The mark file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The recording asked for is not in the catalog.
    #[error("no recording {0} in the catalog")]
    UnknownRecording(i64),
    /// An archive is running on the directory (its mark file's activity timestamp is fresh).
    #[error("{path}: an archive (pid {pid}) is running on this directory: its activity timestamp is {age_ms} ms old; stop it first")]
    LiveArchive {
        /// The mark file.
        path: PathBuf,
        /// Age of its activity timestamp.
        age_ms: i64,
        /// The archive's pid.
        pid: i64,
    },
    /// A state change Aeron does not allow (a DELETED entry made VALID, ...).
    #[error("(recordingId={recording_id}) state transition {from} -> {to} is not allowed")]
    StateTransition {
        /// The recording.
        recording_id: i64,
        /// Its state.
        from: String,
        /// The state asked for.
        to: String,
    },
    /// Segment files could not be listed or read.
    #[error(transparent)]
    Storage(#[from] oxeron::archive::ArchiveStorageError),
    /// The catalog has entries that do not decode; a command that rewrites it would lose them.
    #[error("the catalog has problems, fix them first: {}", .0.join("; "))]
    CatalogProblems(Vec<String>),
    /// Every change was made but these, which damaged files refused (the rest of each such file was left
    /// as it was from the damage on, as Java's `ArchiveTool` leaves it).
    #[error("every other change was made, but: {}", .0.join("; "))]
    PartlyApplied(Vec<String>),
    /// A catalog capacity out of the catalog's range.
    #[error("catalog capacity {0} is out of range: it must be from {min} to {max} bytes", min = oxeron::archive::catalog::MIN_CATALOG_CAPACITY, max = oxeron::archive::catalog::MAX_CATALOG_CAPACITY)]
    BadCapacity(u64),
    /// The directory's files are of a version this tool does not migrate from.
    #[error("{0}")]
    Migration(String),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CatalogToolError + '_ {
    move |source| CatalogToolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One catalog entry as read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntryInfo {
    /// File offset of the entry's descriptor header.
    pub offset: usize,
    /// Its descriptor header (length, state, checksum).
    pub header: RecordingDescriptorHeader,
    /// Its recording descriptor.
    pub descriptor: RecordingDescriptor,
}

/// A snapshot of `archive.catalog`: its header, the entries that decode, and what is wrong with the rest.
#[derive(Debug, Clone)]
pub struct CatalogSnapshot {
    /// The archive directory.
    pub archive_dir: PathBuf,
    /// Length of the catalog file.
    pub file_length: usize,
    /// The catalog header.
    pub header: CatalogHeader,
    /// Entries in file order, whatever their state.
    pub entries: Vec<CatalogEntryInfo>,
    /// Entries that do not decode, and other inconsistencies of the catalog itself.
    pub problems: Vec<String>,
    /// File offset just past the last entry.
    pub end_offset: usize,
}

impl CatalogSnapshot {
    /// Reads `archive_dir/archive.catalog`. Entries that do not decode are listed in
    /// [`CatalogSnapshot::problems`]; only an unreadable file or header is an error.
    pub fn read(archive_dir: &Path) -> Result<Self, CatalogToolError> {
        let path = archive_dir.join(CATALOG_FILE_NAME);
        let bytes = std::fs::read(&path).map_err(io_error(&path))?;
        let bad_header = |reason: String| CatalogToolError::BadHeader {
            path: path.clone(),
            reason,
        };
        let (header, walker) = CatalogWalker::new(&bytes).map_err(|e| bad_header(e.to_string()))?;
        if (header.version >> 16) & 0xFF != MAJOR_VERSION {
            return Err(bad_header(format!(
                "version {} is not {MAJOR_VERSION}.x",
                semantic(header.version)
            )));
        }
        let alignment = header.entry_alignment();
        if !alignment.is_power_of_two() || alignment < 32 {
            return Err(bad_header(format!("alignment {}", header.alignment)));
        }
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        let mut walker = walker;
        let mut last_id = -1;
        for entry in walker.by_ref() {
            match entry {
                Ok(entry) => {
                    let descriptor = RecordingDescriptor::from(&entry.descriptor);
                    if descriptor.recording_id <= last_id {
                        problems.push(format!(
                            "entry at offset {}: recording id {} does not follow {last_id}",
                            entry.offset, descriptor.recording_id
                        ));
                    }
                    last_id = last_id.max(descriptor.recording_id);
                    entries.push(CatalogEntryInfo {
                        offset: entry.offset,
                        header: entry.header,
                        descriptor,
                    });
                }
                Err(e) => problems.push(format!(
                    "entry at offset {} does not decode: {}",
                    e.offset, e.error
                )),
            }
        }
        if header.next_recording_id != 0 && header.next_recording_id <= last_id {
            problems.push(format!(
                "nextRecordingId {} is not above the last recording id {last_id}",
                header.next_recording_id
            ));
        }
        Ok(Self {
            archive_dir: archive_dir.to_path_buf(),
            file_length: bytes.len(),
            header,
            entries,
            problems,
            end_offset: walker.offset(),
        })
    }

    /// The entry of `recording_id`.
    pub fn entry(&self, recording_id: i64) -> Result<&CatalogEntryInfo, CatalogToolError> {
        self.entries
            .iter()
            .find(|e| e.descriptor.recording_id == recording_id)
            .ok_or(CatalogToolError::UnknownRecording(recording_id))
    }
}

/// A packed semantic version as `major.minor.patch`.
pub(crate) fn semantic(version: i32) -> String {
    format!(
        "{}.{}.{}",
        (version >> 16) & 0xFF,
        (version >> 8) & 0xFF,
        version & 0xFF
    )
}

pub(crate) fn state_name(state: RecordingState) -> String {
    match state {
        RecordingState::Valid => "VALID".into(),
        RecordingState::Invalid => "INVALID".into(),
        RecordingState::Deleted => "DELETED".into(),
        other => format!("{other:?}"),
    }
}

/// One line per recording: id, state, positions, stream, session and channel.
pub fn list(snapshot: &CatalogSnapshot) -> String {
    let mut out = String::new();
    for e in &snapshot.entries {
        let d = &e.descriptor;
        let stop = if d.stop_position < 0 {
            "active".to_string()
        } else {
            d.stop_position.to_string()
        };
        let _ = writeln!(
            out,
            "recordingId={} state={} startPosition={} stopPosition={} streamId={} sessionId={} channel={}",
            d.recording_id,
            state_name(e.header.state),
            d.start_position,
            stop,
            d.stream_id,
            d.session_id,
            d.original_channel
        );
    }
    for p in &snapshot.problems {
        let _ = writeln!(out, "problem: {p}");
    }
    out
}

/// Every field of one entry's descriptor header and descriptor.
pub fn describe_entry(entry: &CatalogEntryInfo) -> String {
    let d = &entry.descriptor;
    let h = &entry.header;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "recording {} (entry at offset {}, length {}, state {}, checksum {})",
        d.recording_id,
        entry.offset,
        h.length,
        state_name(h.state),
        h.checksum
    );
    let fields: [(&str, String); 16] = [
        ("controlSessionId", d.control_session_id.to_string()),
        ("correlationId", d.correlation_id.to_string()),
        ("recordingId", d.recording_id.to_string()),
        ("startTimestamp", d.start_timestamp.to_string()),
        ("stopTimestamp", d.stop_timestamp.to_string()),
        ("startPosition", d.start_position.to_string()),
        ("stopPosition", d.stop_position.to_string()),
        ("initialTermId", d.initial_term_id.to_string()),
        ("segmentFileLength", d.segment_file_length.to_string()),
        ("termBufferLength", d.term_buffer_length.to_string()),
        ("mtuLength", d.mtu_length.to_string()),
        ("sessionId", d.session_id.to_string()),
        ("streamId", d.stream_id.to_string()),
        ("strippedChannel", d.stripped_channel.clone()),
        ("originalChannel", d.original_channel.clone()),
        ("sourceIdentity", d.source_identity.clone()),
    ];
    for (name, value) in fields {
        let _ = writeln!(out, "  {name} = {value}");
    }
    out
}

/// [`describe_entry`] of one recording, or of all when `recording_id` is `None`.
pub fn describe(
    snapshot: &CatalogSnapshot,
    recording_id: Option<i64>,
) -> Result<String, CatalogToolError> {
    match recording_id {
        Some(id) => Ok(describe_entry(snapshot.entry(id)?)),
        None => {
            let mut out = String::new();
            for e in &snapshot.entries {
                out.push_str(&describe_entry(e));
            }
            for p in &snapshot.problems {
                let _ = writeln!(out, "problem: {p}");
            }
            Ok(out)
        }
    }
}

/// The catalog header, every entry ([`describe_entry`]) and the mark file's header and error log.
pub fn dump(snapshot: &CatalogSnapshot) -> Result<String, CatalogToolError> {
    let mut out = String::new();
    let h = &snapshot.header;
    let _ = writeln!(
        out,
        "catalog {} ({} bytes)",
        snapshot.archive_dir.join(CATALOG_FILE_NAME).display(),
        snapshot.file_length
    );
    let _ = writeln!(out, "CatalogHeader:");
    let _ = writeln!(out, "  version = {} ({})", h.version, semantic(h.version));
    let _ = writeln!(out, "  length = {}", h.length);
    let _ = writeln!(out, "  nextRecordingId = {}", h.next_recording_id);
    let _ = writeln!(out, "  alignment = {}", h.alignment);
    let _ = writeln!(
        out,
        "{} entries; first unused byte offset = {}",
        snapshot.entries.len(),
        snapshot.end_offset
    );
    for e in &snapshot.entries {
        out.push_str(&describe_entry(e));
    }
    for p in &snapshot.problems {
        let _ = writeln!(out, "problem: {p}");
    }
    out.push_str(&dump_mark_file(&snapshot.archive_dir)?);
    Ok(out)
}

/// Where the archive's mark file is: in the directory its `archive-mark.lnk` names, if it has one, as
/// Java's archive places it with `aeron.archive.mark.file.dir`, else in the archive directory.
pub(crate) fn mark_file_path(archive_dir: &Path) -> Result<PathBuf, CatalogToolError> {
    let dir = oxeron::archive::resolve_mark_file_dir(archive_dir)?;
    Ok(dir.join(ARCHIVE_MARK_FILE_NAME))
}

/// Reads the archive mark file and hands `read` its path, its bytes and its decoded header.
pub(crate) fn with_mark_file<T>(
    archive_dir: &Path,
    read: impl FnOnce(&Path, &[u8], &ArchiveMarkFileHeader<'_>) -> T,
) -> Result<T, CatalogToolError> {
    let path = mark_file_path(archive_dir)?;
    let bytes = std::fs::read(&path).map_err(io_error(&path))?;
    let header_bytes = &bytes[..bytes.len().min(MARK_FILE_HEADER_LENGTH)];
    let m =
        ArchiveMarkFileHeader::decode(header_bytes).map_err(|e| CatalogToolError::BadMarkFile {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    Ok(read(&path, &bytes, &m))
}

/// The age of the mark file's activity timestamp at `now_ms`, and whether it is recent enough (within the
/// archive liveness timeout) to show a live archive.
pub(crate) fn mark_file_activity(m: &ArchiveMarkFileHeader<'_>, now_ms: i64) -> (i64, bool) {
    let age = now_ms.saturating_sub(m.activity_timestamp);
    let alive = m.activity_timestamp > 0 && (0..=LIVENESS_TIMEOUT_MS).contains(&age);
    (age, alive)
}

/// The archive mark file's header fields and its distinct error log.
pub fn dump_mark_file(archive_dir: &Path) -> Result<String, CatalogToolError> {
    with_mark_file(archive_dir, render_mark_file)
}

fn render_mark_file(path: &Path, bytes: &[u8], m: &ArchiveMarkFileHeader<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "mark file {} ({} bytes)", path.display(), bytes.len());
    let _ = writeln!(out, "MarkFileHeader:");
    let fields: [(&str, String); 15] = [
        (
            "version",
            format!("{} ({})", m.version, semantic(m.version)),
        ),
        ("activityTimestamp", m.activity_timestamp.to_string()),
        ("startTimestamp", m.start_timestamp.to_string()),
        ("pid", m.pid.to_string()),
        ("controlStreamId", m.control_stream_id.to_string()),
        (
            "localControlStreamId",
            m.local_control_stream_id.to_string(),
        ),
        ("eventsStreamId", m.events_stream_id.to_string()),
        ("headerLength", m.header_length.to_string()),
        ("errorBufferLength", m.error_buffer_length.to_string()),
        ("archiveId", m.archive_id.to_string()),
        ("controlChannel", m.control_channel.to_string()),
        ("localControlChannel", m.local_control_channel.to_string()),
        ("eventsChannel", m.events_channel.to_string()),
        ("aeronDirectory", m.aeron_directory.to_string()),
        ("errorLog", format!("{} bytes", m.error_log(bytes).len())),
    ];
    for (name, value) in fields {
        let _ = writeln!(out, "  {name} = {value}");
    }
    let (age, alive) = mark_file_activity(m, oxeron::concurrent::clock::system_epoch_ms());
    let _ = writeln!(
        out,
        "archive {} (activity timestamp {} ms ago, liveness timeout {LIVENESS_TIMEOUT_MS} ms)",
        if alive { "alive" } else { "not alive" },
        age
    );
    out.push_str(&render_error_log(m.error_log(bytes)));
    out
}

/// The archive's distinct errors, from the error log in its mark file (`ArchiveTool errors`).
pub fn mark_file_errors(archive_dir: &Path) -> Result<String, CatalogToolError> {
    with_mark_file(archive_dir, |path, bytes, m| {
        let mut out = format!(
            "Archive error log ({}):\n{}",
            path.display(),
            render_error_log(m.error_log(bytes))
        );
        // Then the driver's, from the Aeron directory the archive recorded, as ArchiveTool prints it; a
        // driver that is gone is said so, not an error.
        let aeron_dir = Path::new(m.aeron_directory);
        let _ = writeln!(
            out,
            "\nAeron driver error log (directory: {}):",
            aeron_dir.display()
        );
        match crate::tools::open_cnc(aeron_dir) {
            Ok(cnc) => out.push_str(&crate::tools::format_errors(&cnc).1),
            Err(e) => {
                let _ = writeln!(out, "no driver error log to read: {e}");
            }
        }
        out
    })
}

/// Each distinct error of an error log, then their count.
fn render_error_log(log: &[u8]) -> String {
    let usable = log.len() - log.len() % 8;
    let mut out = String::new();
    let count = if usable == 0 {
        Ok(0)
    } else {
        let buffer = AtomicBuffer::new_zeroed(usable);
        buffer.put_bytes(0, &log[..usable]);
        ErrorLogReader::try_read(&buffer, 0, |observations, first, last, text| {
            let _ = writeln!(
                out,
                "***\n{observations} observations from {first} to {last} (epoch ms) for:\n {text}"
            );
        })
    };
    match count {
        Ok(n) => {
            let _ = writeln!(out, "{n} distinct errors observed.");
        }
        Err(e) => {
            let _ = writeln!(out, "error log unreadable past the entries above: {e}");
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A writable copy of the golden Java archive directory.
    pub(crate) fn golden_copy() -> tempfile::TempDir {
        let source = oxeron_testkit::golden_dir().join("aeron-java-archive-1.54");
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "archive.catalog",
            "archive-mark.dat",
            "0-0.rec",
            "0-262144.rec",
            "0-524288.rec",
            "0-786432.rec",
            "1-0.rec",
            "2-0.rec",
        ] {
            let bytes = std::fs::read(source.join(name)).unwrap();
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        dir
    }

    fn patch(path: &Path, offset: u64, bytes: &[u8]) {
        use std::os::unix::fs::FileExt;
        let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        file.write_all_at(bytes, offset).unwrap();
    }

    #[test]
    fn errors_shows_the_archives_log_and_then_the_drivers_as_archive_tool_does() {
        let dir = golden_copy();
        let out = mark_file_errors(dir.path()).unwrap();
        let archive = out.find("Archive error log").unwrap();
        let driver = out
            .find("Aeron driver error log (directory: /dev/shm/aeron-golden):")
            .unwrap();
        assert!(archive < driver, "{out}");
        assert!(out.contains("0 distinct errors observed."), "{out}");
        // The golden archive's driver is long gone: said so, not an error.
        assert!(out.contains("no driver error log to read"), "{out}");
    }

    #[test]
    fn the_golden_java_archive_lists_describes_and_verifies() {
        let dir = golden_copy();
        let snapshot = CatalogSnapshot::read(dir.path()).unwrap();
        assert!(snapshot.problems.is_empty(), "{:?}", snapshot.problems);
        assert_eq!(snapshot.header.next_recording_id, 3);
        assert_eq!(snapshot.end_offset, 672);
        let ids: Vec<i64> = snapshot
            .entries
            .iter()
            .map(|e| e.descriptor.recording_id)
            .collect();
        assert_eq!(ids, [0, 1, 2]);
        assert!(list(&snapshot)
            .contains("recordingId=2 state=VALID startPosition=0 stopPosition=active"));
        let text = describe(&snapshot, Some(1)).unwrap();
        assert!(
            text.contains("originalChannel = aeron:udp?endpoint=localhost:24500|term-length=65536")
        );
        assert!(matches!(
            describe(&snapshot, Some(7)),
            Err(CatalogToolError::UnknownRecording(7))
        ));
        let report = verify(&snapshot, |_, _| {});
        assert!(report.is_ok(), "{}", report.render());
        let positions: Vec<(i64, bool)> = report
            .recordings
            .iter()
            .map(|r| (r.position, r.active))
            .collect();
        assert_eq!(
            positions,
            [(927_936, false), (185_664, false), (15_968, true)]
        );
        let dumped = dump(&snapshot).unwrap();
        assert!(dumped.contains("version = 196864 (3.1.0)"));
        assert!(dumped.contains("aeronDirectory = /dev/shm/aeron-golden"));
        assert!(dumped.contains("0 distinct errors observed."));
        assert!(dumped.contains("archive not alive"));
    }

    #[test]
    fn garbage_in_a_descriptor_is_a_catalog_problem() {
        let dir = golden_copy();
        patch(&dir.path().join(CATALOG_FILE_NAME), 64 + 80, &[0xEE; 40]);
        let snapshot = CatalogSnapshot::read(dir.path()).unwrap();
        assert_eq!(snapshot.problems.len(), 1, "{:?}", snapshot.problems);
        assert!(snapshot.problems[0].contains("offset 32"));
        let report = verify(&snapshot, |_, _| {});
        assert!(!report.is_ok());
        assert_eq!(report.recordings.len(), 2);
    }

    #[test]
    fn bad_frames_and_missing_segments_fail_verification() {
        let dir = golden_copy();
        patch(&dir.path().join("1-0.rec"), 0, &[0x07; 64]);
        std::fs::remove_file(dir.path().join("0-524288.rec")).unwrap();
        let report = verify(&CatalogSnapshot::read(dir.path()).unwrap(), |_, _| {});
        let failed: Vec<i64> = report
            .recordings
            .iter()
            .filter(|r| !r.problems.is_empty())
            .map(|r| r.recording_id)
            .collect();
        assert_eq!(failed, [0, 1], "{}", report.render());
        assert!(report.render().contains("0-524288.rec is missing"));
    }

    #[test]
    fn a_bad_header_or_short_file_is_an_error() {
        let dir = golden_copy();
        let path = dir.path().join(CATALOG_FILE_NAME);
        patch(&path, 0, &[1; 4]);
        assert!(matches!(
            CatalogSnapshot::read(dir.path()),
            Err(CatalogToolError::BadHeader { .. })
        ));
        std::fs::write(&path, [0u8; 10]).unwrap();
        assert!(CatalogSnapshot::read(dir.path()).is_err());
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            CatalogSnapshot::read(dir.path()),
            Err(CatalogToolError::Io { .. })
        ));
    }

    #[test]
    fn random_catalog_bytes_never_panic() {
        let dir = golden_copy();
        let path = dir.path().join(CATALOG_FILE_NAME);
        let original = std::fs::read(&path).unwrap();
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..200 {
            let mut bytes = original[..1024].to_vec();
            for _ in 0..8 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = 32 + (seed as usize % 700);
                bytes[at] = (seed >> 32) as u8;
            }
            std::fs::write(&path, &bytes).unwrap();
            if let Ok(snapshot) = CatalogSnapshot::read(dir.path()) {
                let _ = list(&snapshot);
                let _ = dump(&snapshot);
                let _ = verify(&snapshot, |_, _| {}).render();
            }
        }
    }
}
