//! The `oxeron catalog` commands that change an archive directory, as Aeron's `ArchiveTool` has them:
//! `mark-valid`, `mark-invalid`, `checksum`, `delete-orphaned-segments` and `compact`.
//!
//! Each is planned first, from a [`CatalogSnapshot`], into a list of [`Change`]s that say exactly which
//! entry, field or file changes; the plan is printed, and applied only when asked ([`EditPlan::apply`]).
//! They refuse an archive directory whose mark file shows a live archive ([`refuse_live_archive`]), which
//! Java's `ArchiveTool` does not check.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use oxeron::archive::{Checksum, CATALOG_FILE_NAME};
use oxeron::protocol::archive::catalog::{
    DESCRIPTOR_CHECKSUM_OFFSET, DESCRIPTOR_STATE_OFFSET, STOP_POSITION_OFFSET,
    STOP_TIMESTAMP_OFFSET,
};
use oxeron::protocol::archive::{
    segment_file_base_position, RecordingState, RECORDING_DESCRIPTOR_HEADER_LENGTH,
};
use oxeron::protocol::frame::data::{HEADER_LENGTH, SESSION_ID_FIELD_OFFSET};
use oxeron::protocol::frame::{FRAME_ALIGNMENT, HDR_TYPE_DATA, TYPE_FIELD_OFFSET};
use oxeron::protocol::{align, le};

use oxeron::archive::segment::segment_files;

use crate::catalog_tool::{
    mark_file_activity, mark_file_path, semantic, state_name, verify_recording, with_mark_file,
    CatalogEntryInfo, CatalogSnapshot, CatalogToolError, VerifyReport,
};
use crate::catalog_verify::VerifyOptions;

/// Refuses `archive_dir` when its mark file's activity timestamp is within the archive liveness timeout:
/// an archive is running there, and a change under it would be lost or would corrupt it.
pub fn refuse_live_archive(archive_dir: &Path) -> Result<(), CatalogToolError> {
    if !mark_file_path(archive_dir)?.exists() {
        return Ok(());
    }
    let now = oxeron::concurrent::clock::system_epoch_ms();
    let live = with_mark_file(archive_dir, |path, _, m| {
        let (age_ms, alive) = mark_file_activity(m, now);
        alive.then(|| CatalogToolError::LiveArchive {
            path: path.to_path_buf(),
            age_ms,
            pid: m.pid,
        })
    });
    match live {
        Ok(Some(error)) => Err(error),
        // A mark file that does not decode is no archive's heartbeat.
        Ok(None) | Err(CatalogToolError::BadMarkFile { .. }) => Ok(()),
        Err(other) => Err(other),
    }
}

/// One change to an archive directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A catalog entry's state.
    SetState {
        /// The recording.
        recording_id: i64,
        /// Catalog offset of its entry.
        offset: usize,
        /// Its state now.
        from: RecordingState,
        /// Its state after.
        to: RecordingState,
    },
    /// A catalog entry's descriptor checksum.
    SetDescriptorChecksum {
        /// The recording.
        recording_id: i64,
        /// Catalog offset of its entry.
        offset: usize,
        /// The checksum there now.
        from: i32,
        /// The checksum of its body.
        to: i32,
    },
    /// Every data frame of a segment file gets its checksum in its session id field.
    StampFrameChecksums {
        /// The recording.
        recording_id: i64,
        /// The segment file.
        path: PathBuf,
        /// Where its first frame is.
        from_offset: u64,
        /// The checksum.
        checksum: Checksum,
    },
    /// A segment file is cut at a torn last fragment and zero-filled back to its segment length, as Java's
    /// `ArchiveTool verify` truncates a fragment straddling a page boundary at a crash.
    CutSegmentFile {
        /// The recording.
        recording_id: i64,
        /// The file.
        path: PathBuf,
        /// Where the torn fragment starts.
        offset: u64,
        /// The length the file keeps.
        segment_length: u64,
    },
    /// A segment file is deleted.
    DeleteSegmentFile {
        /// The recording it belongs to.
        recording_id: i64,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// A recording that was active when its archive stopped gets the stop position its files show, and a
    /// stop timestamp of now.
    SetStopPosition {
        /// The recording.
        recording_id: i64,
        /// Catalog offset of its entry.
        offset: usize,
        /// Its stop position now.
        from: i64,
        /// Its stop position after.
        to: i64,
        /// The stop timestamp written (epoch ms).
        timestamp_ms: i64,
    },
    /// The catalog file is extended with zeroes to a larger capacity (entries unchanged).
    GrowCatalog {
        /// Its length now.
        from: u64,
        /// Its length after.
        to: u64,
    },
    /// The catalog is rewritten with only its VALID entries (ids and bytes unchanged), as long as they
    /// need.
    CompactCatalog {
        /// Recordings whose entries go.
        removed: Vec<i64>,
        /// Bytes of entries that go.
        reclaimed: usize,
        /// The catalog file's length after.
        compacted_length: usize,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SetState {
                recording_id,
                from,
                to,
                ..
            } => write!(
                f,
                "(recordingId={recording_id}) state {} -> {}",
                state_name(*from),
                state_name(*to)
            ),
            Self::SetDescriptorChecksum {
                recording_id,
                from,
                to,
                ..
            } => write!(
                f,
                "(recordingId={recording_id}) descriptor checksum {from} -> {to}"
            ),
            Self::StampFrameChecksums {
                recording_id,
                path,
                checksum,
                ..
            } => write!(
                f,
                "(recordingId={recording_id}, file={}) {checksum} of every data frame into its session id field",
                path.display()
            ),
            Self::CutSegmentFile {
                recording_id,
                path,
                offset,
                ..
            } => write!(
                f,
                "(recordingId={recording_id}) cut {} at offset {offset}, dropping its torn last fragment",
                path.display()
            ),
            Self::DeleteSegmentFile {
                recording_id,
                path,
                reason,
            } => write!(
                f,
                "(recordingId={recording_id}) delete {} ({reason})",
                path.display()
            ),
            Self::SetStopPosition {
                recording_id,
                from,
                to,
                ..
            } => write!(
                f,
                "(recordingId={recording_id}) stop position {from} -> {to}, stop timestamp now"
            ),
            Self::GrowCatalog { from, to } => {
                write!(f, "grow {CATALOG_FILE_NAME} from {from} to {to} bytes")
            }
            Self::CompactCatalog {
                removed,
                reclaimed,
                compacted_length,
            } if removed.is_empty() => write!(
                f,
                "rewrite {CATALOG_FILE_NAME} to the {compacted_length} bytes its entries use (no entry \
                 goes, {reclaimed} bytes reclaimed)"
            ),
            Self::CompactCatalog {
                removed,
                reclaimed,
                compacted_length,
            } => write!(
                f,
                "rewrite {CATALOG_FILE_NAME} without {} entries ({removed:?}), reclaiming {reclaimed} bytes, \
                 to {compacted_length} bytes",
                removed.len()
            ),
        }
    }
}

/// The changes a command makes, in the order they are applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditPlan {
    /// The archive directory.
    pub archive_dir: PathBuf,
    /// The changes.
    pub changes: Vec<Change>,
}

impl EditPlan {
    fn new(snapshot: &CatalogSnapshot) -> Self {
        Self {
            archive_dir: snapshot.archive_dir.clone(),
            changes: Vec::new(),
        }
    }

    /// One line per change (`nothing to change` when there is none).
    pub fn render(&self) -> String {
        if self.changes.is_empty() {
            return "nothing to change\n".into();
        }
        self.changes.iter().map(|c| format!("{c}\n")).collect()
    }

    /// Makes the changes, refusing a live archive first; catalog writes and deletions are flushed to storage.
    pub fn apply(&self) -> Result<(), CatalogToolError> {
        refuse_live_archive(&self.archive_dir)?;
        let catalog_path = self.archive_dir.join(CATALOG_FILE_NAME);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CatalogToolError::Io { path, source }
        };
        let catalog = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&catalog_path)
            .map_err(io(&catalog_path))?;
        let mut refused = Vec::new();
        for change in &self.changes {
            match change {
                Change::SetState { offset, to, .. } => catalog
                    .write_all_at(
                        &to.value().to_le_bytes(),
                        (*offset + DESCRIPTOR_STATE_OFFSET) as u64,
                    )
                    .map_err(io(&catalog_path))?,
                Change::SetDescriptorChecksum { offset, to, .. } => catalog
                    .write_all_at(
                        &to.to_le_bytes(),
                        (*offset + DESCRIPTOR_CHECKSUM_OFFSET) as u64,
                    )
                    .map_err(io(&catalog_path))?,
                Change::StampFrameChecksums {
                    path,
                    from_offset,
                    checksum,
                    ..
                } => match stamp_segment_file(path, *from_offset, *checksum) {
                    // A damaged file keeps the checksums of its frames before the damage; the other
                    // files are still stamped, as Java's ArchiveTool goes on with them.
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        refused.push(format!("{}: {e}", path.display()))
                    }
                    other => other.map_err(io(path))?,
                },
                Change::DeleteSegmentFile { path, .. } => {
                    std::fs::remove_file(path).map_err(io(path))?
                }
                Change::CutSegmentFile {
                    path,
                    offset,
                    segment_length,
                    ..
                } => cut_segment_file(path, *offset, *segment_length).map_err(io(path))?,
                Change::SetStopPosition {
                    offset,
                    to,
                    timestamp_ms,
                    ..
                } => {
                    let body = (*offset + RECORDING_DESCRIPTOR_HEADER_LENGTH) as u64;
                    catalog
                        .write_all_at(
                            &timestamp_ms.to_le_bytes(),
                            body + STOP_TIMESTAMP_OFFSET as u64,
                        )
                        .and_then(|()| {
                            catalog
                                .write_all_at(&to.to_le_bytes(), body + STOP_POSITION_OFFSET as u64)
                        })
                        .map_err(io(&catalog_path))?
                }
                Change::GrowCatalog { to, .. } => {
                    catalog.set_len(*to).map_err(io(&catalog_path))?
                }
                Change::CompactCatalog { .. } => compact_catalog(&self.archive_dir, &catalog)?,
            }
        }
        catalog.sync_all().map_err(io(&catalog_path))?;
        File::open(&self.archive_dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io(&self.archive_dir))?;
        if refused.is_empty() {
            Ok(())
        } else {
            Err(CatalogToolError::PartlyApplied(refused))
        }
    }
}

/// Cuts `path` at `offset` and extends it back to `segment_length` with zeroes, writing its last byte as
/// Java does so that the length is allocated, then flushes it.
fn cut_segment_file(path: &Path, offset: u64, segment_length: u64) -> std::io::Result<()> {
    let file = OpenOptions::new().write(true).open(path)?;
    file.set_len(offset)?;
    if segment_length > offset {
        file.write_all_at(&[0], segment_length - 1)?;
    }
    file.sync_all()
}

/// `mark-valid` (`to` VALID, from INVALID) and `mark-invalid` (`to` INVALID, from VALID), with Java's rules:
/// a recording already in the state is left as it is; any other transition (a DELETED entry) is refused.
pub fn plan_mark(
    snapshot: &CatalogSnapshot,
    recording_id: i64,
    to: RecordingState,
) -> Result<EditPlan, CatalogToolError> {
    let entry = snapshot.entry(recording_id)?;
    let from = entry.header.state;
    let allowed_from = match to {
        RecordingState::Valid => RecordingState::Invalid,
        _ => RecordingState::Valid,
    };
    let mut plan = EditPlan::new(snapshot);
    if from == to {
        return Ok(plan);
    }
    if from != allowed_from {
        return Err(CatalogToolError::StateTransition {
            recording_id,
            from: state_name(from),
            to: state_name(to),
        });
    }
    plan.changes.push(Change::SetState {
        recording_id,
        offset: entry.offset,
        from,
        to,
    });
    Ok(plan)
}

/// `checksum`: the descriptor checksum of every entry (or of one VALID recording), and the frame checksums
/// of its highest segment file, or of all of them with `all_segments`.
pub fn plan_checksum(
    snapshot: &CatalogSnapshot,
    checksum: Checksum,
    recording_id: Option<i64>,
    all_segments: bool,
) -> Result<EditPlan, CatalogToolError> {
    let entries: Vec<&CatalogEntryInfo> = match recording_id {
        Some(id) => {
            let entry = snapshot.entry(id)?;
            if entry.header.state != RecordingState::Valid {
                return Err(CatalogToolError::UnknownRecording(id));
            }
            vec![entry]
        }
        None => snapshot.entries.iter().collect(),
    };
    let catalog_path = snapshot.archive_dir.join(CATALOG_FILE_NAME);
    let catalog = File::open(&catalog_path).map_err(|source| CatalogToolError::Io {
        path: catalog_path.clone(),
        source,
    })?;
    let mut plan = EditPlan::new(snapshot);
    for entry in entries {
        let d = &entry.descriptor;
        let mut body = vec![0u8; entry.header.length.max(0) as usize];
        catalog
            .read_exact_at(
                &mut body,
                (entry.offset + RECORDING_DESCRIPTOR_HEADER_LENGTH) as u64,
            )
            .map_err(|source| CatalogToolError::Io {
                path: catalog_path.clone(),
                source,
            })?;
        let to = checksum.compute(&body);
        if to != entry.header.checksum {
            plan.changes.push(Change::SetDescriptorChecksum {
                recording_id: d.recording_id,
                offset: entry.offset,
                from: entry.header.checksum,
                to,
            });
        }
        let files = segment_files(&snapshot.archive_dir, d.recording_id)?;
        let chosen = if all_segments {
            &files[..]
        } else {
            &files[files.len().saturating_sub(1)..]
        };
        let term = i64::from(d.term_buffer_length.max(1));
        let start_term_base = d.start_position - (d.start_position & (term - 1));
        for (base, path) in chosen {
            let from_offset = if *base == start_term_base {
                (d.start_position & (term - 1)) as u64
            } else {
                0
            };
            plan.changes.push(Change::StampFrameChecksums {
                recording_id: d.recording_id,
                path: path.clone(),
                from_offset,
                checksum,
            });
        }
    }
    Ok(plan)
}

/// Writes the checksum of every data frame of a segment file, from `offset` to the first zero frame length,
/// into the frame's session id field. Padding frames are left alone.
fn stamp_segment_file(path: &Path, mut offset: u64, checksum: Checksum) -> std::io::Result<()> {
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    let size = file.metadata()?.len();
    let mut header = [0u8; HEADER_LENGTH];
    let mut frame = Vec::new();
    let mut stamp = || -> std::io::Result<()> {
        while offset + HEADER_LENGTH as u64 <= size {
            file.read_exact_at(&mut header, offset)?;
            let length = le::get_i32(&header, 0);
            if length <= 0 {
                break;
            }
            let aligned = align(length as usize, FRAME_ALIGNMENT);
            if aligned < HEADER_LENGTH || offset + aligned as u64 > size {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("frame length {length} at offset {offset} runs past the file"),
                ));
            }
            if le::get_u16(&header, TYPE_FIELD_OFFSET) == HDR_TYPE_DATA {
                frame.resize(aligned - HEADER_LENGTH, 0);
                file.read_exact_at(&mut frame, offset + HEADER_LENGTH as u64)?;
                let value = checksum.compute(&frame);
                file.write_all_at(
                    &value.to_le_bytes(),
                    offset + SESSION_ID_FIELD_OFFSET as u64,
                )?;
            }
            offset += aligned as u64;
        }
        Ok(())
    };
    // What was stamped before a damaged frame is flushed too.
    let stamped = stamp();
    file.sync_all()?;
    stamped
}

/// `delete-orphaned-segments`: segment files of catalog entries (any state; or of one recording) that lie
/// before the segment holding the start position or after the one holding the stop position. Files of
/// recordings the catalog does not hold are not touched.
pub fn plan_delete_orphaned_segments(
    snapshot: &CatalogSnapshot,
    recording_id: Option<i64>,
) -> Result<EditPlan, CatalogToolError> {
    let entries: Vec<&CatalogEntryInfo> = match recording_id {
        Some(id) => vec![snapshot.entry(id)?],
        None => snapshot.entries.iter().collect(),
    };
    let mut plan = EditPlan::new(snapshot);
    for entry in entries {
        let d = &entry.descriptor;
        let (term, segment) = (d.term_buffer_length, d.segment_file_length);
        if term <= 0 || segment <= 0 || !(term as u32).is_power_of_two() {
            continue;
        }
        let min_base =
            segment_file_base_position(d.start_position, d.start_position, term, segment);
        let max_base = (d.stop_position >= 0)
            .then(|| segment_file_base_position(d.start_position, d.stop_position, term, segment));
        for (base, path) in segment_files(&snapshot.archive_dir, d.recording_id)? {
            let reason = if base < min_base {
                "before the segment of the start position"
            } else if max_base.is_some_and(|max| base > max) {
                "after the segment of the stop position"
            } else {
                continue;
            };
            plan.changes.push(Change::DeleteSegmentFile {
                recording_id: d.recording_id,
                path,
                reason,
            });
        }
    }
    Ok(plan)
}

/// `compact`: every entry that is not VALID leaves the catalog, and its segment files are deleted. VALID
/// entries keep their ids and bytes; the next recording id is kept.
pub fn plan_compact(snapshot: &CatalogSnapshot) -> Result<EditPlan, CatalogToolError> {
    // An entry that does not decode would be dropped by the rewrite: refuse, and lose nothing.
    if !snapshot.problems.is_empty() {
        return Err(CatalogToolError::CatalogProblems(snapshot.problems.clone()));
    }
    let mut plan = EditPlan::new(snapshot);
    let mut removed = Vec::new();
    let mut reclaimed = 0;
    for entry in &snapshot.entries {
        if entry.header.state == RecordingState::Valid {
            continue;
        }
        let id = entry.descriptor.recording_id;
        removed.push(id);
        reclaimed += RECORDING_DESCRIPTOR_HEADER_LENGTH + entry.header.length.max(0) as usize;
        for (_, path) in segment_files(&snapshot.archive_dir, id)? {
            plan.changes.push(Change::DeleteSegmentFile {
                recording_id: id,
                path,
                reason: "its recording is not VALID",
            });
        }
    }
    // Java's compact always rewrites the catalog, so the file ends where its entries end even when no entry
    // goes (the archive grows it back to its capacity when it next opens it).
    let compacted_length = snapshot.end_offset - reclaimed;
    if !removed.is_empty() || snapshot.file_length != compacted_length {
        plan.changes.push(Change::CompactCatalog {
            removed,
            reclaimed,
            compacted_length,
        });
    }
    Ok(plan)
}

/// Rewrites the catalog with its VALID entries only, through a new file renamed over the old one.
fn compact_catalog(archive_dir: &Path, catalog: &File) -> Result<(), CatalogToolError> {
    let snapshot = CatalogSnapshot::read(archive_dir)?;
    if !snapshot.problems.is_empty() {
        return Err(CatalogToolError::CatalogProblems(snapshot.problems));
    }
    let path = archive_dir.join(CATALOG_FILE_NAME);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CatalogToolError::Io { path, source }
    };
    let first = snapshot
        .entries
        .first()
        .map_or(snapshot.end_offset, |e| e.offset);
    let mut bytes = vec![0u8; first];
    catalog.read_exact_at(&mut bytes, 0).map_err(io(&path))?;
    for entry in snapshot
        .entries
        .iter()
        .filter(|e| e.header.state == RecordingState::Valid)
    {
        let length = RECORDING_DESCRIPTOR_HEADER_LENGTH + entry.header.length.max(0) as usize;
        let at = bytes.len();
        bytes.resize(at + length, 0);
        catalog
            .read_exact_at(&mut bytes[at..], entry.offset as u64)
            .map_err(io(&path))?;
    }
    let compacted = archive_dir.join(format!("{CATALOG_FILE_NAME}.compact"));
    let write = || -> std::io::Result<()> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&compacted)?;
        file.write_all_at(&bytes, 0)?;
        file.sync_all()
    };
    write().map_err(io(&compacted))?;
    std::fs::rename(&compacted, &path).map_err(io(&path))
}

/// What `verify` changes, as Java's `ArchiveTool verify` does: a VALID recording that fails becomes INVALID;
/// one that was active when its archive stopped (stop position -1) and verifies gets the stop position its
/// frames reach; an INVALID recording that now verifies, and has segment files, becomes VALID again.
/// INVALID recordings are verified here (the report holds the VALID ones).
pub fn plan_verify_fixes(
    snapshot: &CatalogSnapshot,
    report: &VerifyReport,
    checksum: Option<Checksum>,
) -> EditPlan {
    let mut plan = EditPlan::new(snapshot);
    let now = oxeron::concurrent::clock::system_epoch_ms();
    for entry in &snapshot.entries {
        let d = &entry.descriptor;
        let state = entry.header.state;
        let verdict = match state {
            RecordingState::Valid => report
                .recordings
                .iter()
                .find(|r| r.recording_id == d.recording_id)
                .cloned(),
            RecordingState::Invalid => Some(verify_recording(
                &snapshot.archive_dir,
                d,
                VerifyOptions {
                    checksum,
                    ..report.options
                },
            )),
            _ => None,
        };
        let Some(verdict) = verdict else { continue };
        let to_state = match (state, verdict.problems.is_empty()) {
            (RecordingState::Valid, false) => Some(RecordingState::Invalid),
            (RecordingState::Invalid, true) if verdict.segment_files > 0 => {
                Some(RecordingState::Valid)
            }
            _ => None,
        };
        if let Some(to) = to_state {
            plan.changes.push(Change::SetState {
                recording_id: d.recording_id,
                offset: entry.offset,
                from: state,
                to,
            });
        }
        if verdict.problems.is_empty() && d.stop_position < 0 {
            if let Some(torn) = &verdict.torn_fragment {
                plan.changes.push(Change::CutSegmentFile {
                    recording_id: d.recording_id,
                    path: torn.path.clone(),
                    offset: torn.offset,
                    segment_length: torn.segment_length,
                });
            }
            plan.changes.push(Change::SetStopPosition {
                recording_id: d.recording_id,
                offset: entry.offset,
                from: d.stop_position,
                to: verdict.position,
                timestamp_ms: now,
            });
        }
    }
    plan
}

/// `capacity BYTES`: grows the catalog to `capacity` bytes; a capacity at or below its length changes
/// nothing (as Java's `ArchiveTool.capacity` does).
pub fn plan_capacity(
    snapshot: &CatalogSnapshot,
    capacity: u64,
) -> Result<EditPlan, CatalogToolError> {
    use oxeron::archive::catalog::{MAX_CATALOG_CAPACITY, MIN_CATALOG_CAPACITY};
    if !(MIN_CATALOG_CAPACITY..=MAX_CATALOG_CAPACITY).contains(&capacity) {
        return Err(CatalogToolError::BadCapacity(capacity));
    }
    let mut plan = EditPlan::new(snapshot);
    let length = snapshot.file_length as u64;
    if capacity > length {
        plan.changes.push(Change::GrowCatalog {
            from: length,
            to: capacity,
        });
    }
    Ok(plan)
}

/// `migrate`: the versions of the mark file and catalog beside the latest (Aeron 1.54's 3.1.0). Both are
/// already the latest format in any directory an Aeron 1.54 or Oxeron archive wrote, and there is nothing
/// to migrate; older formats (Aeron before 1.30) are refused, naming the file, for Java's `ArchiveTool
/// migrate` to convert.
pub fn migrate(snapshot: &CatalogSnapshot) -> Result<String, CatalogToolError> {
    use oxeron::protocol::archive::mark::MARK_FILE_VERSION;
    use oxeron::protocol::archive::CATALOG_VERSION;
    let mark_version = with_mark_file(&snapshot.archive_dir, |_, _, m| m.version)?;
    let catalog_version = snapshot.header.version;
    // Java's `fullVersionString`: the packed value, then its parts.
    let full = |v: i32| {
        format!(
            "{v}(Major {} Minor {} Patch {})",
            (v >> 16) & 0xFF,
            (v >> 8) & 0xFF,
            v & 0xFF
        )
    };
    let mut out = format!(
        "MarkFile version={}\nCatalog version={}\nLatest version={}\n",
        full(mark_version),
        full(catalog_version),
        full(MARK_FILE_VERSION)
    );
    let major = |v: i32| (v >> 16) & 0xFF;
    for (what, version, latest) in [
        ("mark file", mark_version, MARK_FILE_VERSION),
        ("catalog", catalog_version, CATALOG_VERSION),
    ] {
        if major(version) != major(latest) {
            return Err(CatalogToolError::Migration(format!(
                "{out}the {what} is version {}: migrating from it is not supported here; run Java's \
                 ArchiveTool migrate on a backup",
                semantic(version)
            )));
        }
    }
    out.push_str("nothing to migrate: the directory is at the latest version\n");
    Ok(out)
}

/// `count-entries`: the VALID entries, as Java counts them.
pub fn count_entries(snapshot: &CatalogSnapshot) -> usize {
    snapshot
        .entries
        .iter()
        .filter(|e| e.header.state == RecordingState::Valid)
        .count()
}

/// `pid`: the pid in the archive mark file.
pub fn mark_file_pid(archive_dir: &Path) -> Result<i64, CatalogToolError> {
    with_mark_file(archive_dir, |_, _, m| m.pid)
}

#[cfg(test)]
mod tests;
