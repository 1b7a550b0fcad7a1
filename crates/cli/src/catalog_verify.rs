//! `oxeron catalog verify`: each recording's segment files checked frame by frame, as Aeron's `ArchiveTool
//! verify` checks them (the last segment file by default, all of them on request), and the stop position a
//! recording that was active at a crash reached.

use std::fmt::Write as _;
use std::path::Path;

use oxeron::archive::catalog::compute_stop_position;
use oxeron::archive::client::RecordingDescriptor;
use oxeron::archive::segment::segment_files;
use oxeron::archive::{ArchiveStorageError, Checksum, SegmentReader, CATALOG_FILE_NAME};
use oxeron::protocol::archive::{
    parse_segment_file_name, segment_file_base_position, segment_file_name, RecordingState,
    RECORDING_DESCRIPTOR_HEADER_LENGTH,
};

use crate::catalog_tool::{CatalogEntryInfo, CatalogSnapshot};

/// What verifying one recording found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingVerdict {
    /// The recording.
    pub recording_id: i64,
    /// Frames walked (padding included).
    pub frames: u64,
    /// Position the walk reached.
    pub position: i64,
    /// Segment files of the recording.
    pub segment_files: usize,
    /// Whether the catalog had it active (stop position -1); it was then walked to the end of its last
    /// complete frame, as the archive's crash recovery would.
    pub active: bool,
    /// What is wrong with it (empty: verified).
    pub problems: Vec<String>,
    /// For a recording active at a crash whose last fragment straddles a page boundary with an empty page
    /// after it (torn: its later page never reached the disk), where its last segment file is cut: the
    /// walk stopped before that fragment, as Java's `ArchiveTool verify` truncates it.
    pub torn_fragment: Option<TornFragment>,
}

/// A last fragment of a crashed recording that may not be whole, and the cut that drops it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornFragment {
    /// The segment file.
    pub path: std::path::PathBuf,
    /// File offset of the fragment: the file is cut there.
    pub offset: u64,
    /// The recording's segment file length, which the file keeps (zeroes after the cut).
    pub segment_length: u64,
}

/// What `verify` checks beyond the catalog entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Also check each data frame's checksum and each descriptor's.
    pub checksum: Option<Checksum>,
    /// Walk the frames of every segment file, not only of each recording's last one (`ArchiveTool verify
    /// -a`); the segment files from start to stop are checked to exist either way.
    pub all_segments: bool,
}

impl Default for VerifyOptions {
    /// Every segment file, no checksums.
    fn default() -> Self {
        Self {
            checksum: None,
            all_segments: true,
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// One verdict per VALID recording.
    pub recordings: Vec<RecordingVerdict>,
    /// Problems of the catalog itself.
    pub catalog_problems: Vec<String>,
    /// Entries skipped because they are not VALID.
    pub skipped: usize,
    /// What was checked.
    pub options: VerifyOptions,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.catalog_problems.is_empty() && self.recordings.iter().all(|r| r.problems.is_empty())
    }

    /// How many problems were found.
    pub fn problem_count(&self) -> usize {
        self.catalog_problems.len()
            + self
                .recordings
                .iter()
                .map(|r| r.problems.len())
                .sum::<usize>()
    }

    /// One line per recording and per problem, then a summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for p in &self.catalog_problems {
            let _ = writeln!(out, "catalog: {p}");
        }
        for r in &self.recordings {
            let status = if r.problems.is_empty() {
                "OK"
            } else {
                "FAILED"
            };
            let active = if r.active {
                " (active in the catalog; recorded up to here)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "recording {}: {status}: {} frames to position {}{active} in {} segment file(s)",
                r.recording_id, r.frames, r.position, r.segment_files
            );
            for p in &r.problems {
                let _ = writeln!(out, "  recording {}: {p}", r.recording_id);
            }
            if let Some(torn) = &r.torn_fragment {
                let _ = writeln!(
                    out,
                    "  recording {}: the last fragment, at offset {} of {}, straddles a page boundary and \
                     its later page is empty (torn at a crash): recorded up to it",
                    r.recording_id,
                    torn.offset,
                    torn.path.display()
                );
            }
        }
        let failed = self
            .recordings
            .iter()
            .filter(|r| !r.problems.is_empty())
            .count();
        let _ = writeln!(
            out,
            "verified {} recordings ({} skipped, not VALID): {} OK, {failed} failed, {} catalog problem(s)",
            self.recordings.len(),
            self.skipped,
            self.recordings.len() - failed,
            self.catalog_problems.len()
        );
        out
    }
}

/// Most problems reported for one recording before the rest are summarised.
const MAX_PROBLEMS_PER_RECORDING: usize = 10;

/// Checks every VALID recording: its lengths are usable, the segment files from its start to its stop
/// position exist, and its frames walk cleanly from start to stop (lengths, types, term offsets and ids,
/// session and stream ids as the descriptor says). `progress` is called after each recording with
/// (done, total).
pub fn verify(snapshot: &CatalogSnapshot, progress: impl FnMut(usize, usize)) -> VerifyReport {
    verify_with(snapshot, None, progress)
}

/// [`verify`], and with a `checksum` every data frame's checksum checked too (the frame's session id field
/// holds it in a checksummed recording, as Aeron's `ArchiveTool verify -checksum` checks it).
pub fn verify_with(
    snapshot: &CatalogSnapshot,
    checksum: Option<Checksum>,
    progress: impl FnMut(usize, usize),
) -> VerifyReport {
    let options = VerifyOptions {
        checksum,
        all_segments: true,
    };
    verify_with_options(snapshot, options, progress)
}

/// [`verify`] as `options` say: with checksums, and of every segment file's frames or only of each
/// recording's last segment file (Java's `ArchiveTool verify` default).
pub fn verify_with_options(
    snapshot: &CatalogSnapshot,
    options: VerifyOptions,
    mut progress: impl FnMut(usize, usize),
) -> VerifyReport {
    let checksum = options.checksum;
    let valid: Vec<&CatalogEntryInfo> = snapshot
        .entries
        .iter()
        .filter(|e| e.header.state == RecordingState::Valid)
        .collect();
    let mut recordings = Vec::with_capacity(valid.len());
    let catalog = checksum.map(|_| std::fs::read(snapshot.archive_dir.join(CATALOG_FILE_NAME)));
    for (i, entry) in valid.iter().enumerate() {
        let mut verdict = verify_recording(&snapshot.archive_dir, &entry.descriptor, options);
        if let (Some(checksum), Some(catalog)) = (checksum, &catalog) {
            if let Some(problem) = descriptor_checksum_problem(entry, checksum, catalog) {
                verdict.problems.insert(0, problem);
            }
        }
        recordings.push(verdict);
        progress(i + 1, valid.len());
    }
    VerifyReport {
        recordings,
        catalog_problems: snapshot.problems.clone(),
        skipped: snapshot.entries.len() - valid.len(),
        options,
    }
}

/// Java's `verify -checksum` check of a descriptor: its header checksum is the checksum of its body.
fn descriptor_checksum_problem(
    entry: &CatalogEntryInfo,
    checksum: Checksum,
    catalog: &std::io::Result<Vec<u8>>,
) -> Option<String> {
    let catalog = match catalog {
        Ok(bytes) => bytes,
        Err(e) => return Some(format!("reading the catalog for its checksums: {e}")),
    };
    let start = entry.offset + RECORDING_DESCRIPTOR_HEADER_LENGTH;
    let body = catalog.get(start..start + entry.header.length.max(0) as usize)?;
    let expected = checksum.compute(body);
    (expected != entry.header.checksum).then(|| {
        format!(
            "invalid Catalog checksum: expected={expected}, actual={}",
            entry.header.checksum
        )
    })
}

/// Verifies one recording as [`verify_with_options`] does, whatever its catalog state.
pub fn verify_recording(
    dir: &Path,
    d: &RecordingDescriptor,
    options: VerifyOptions,
) -> RecordingVerdict {
    let checksum = options.checksum;
    let mut verdict = RecordingVerdict {
        recording_id: d.recording_id,
        frames: 0,
        position: d.start_position,
        segment_files: 0,
        active: d.stop_position < 0,
        problems: Vec::new(),
        torn_fragment: None,
    };
    let term = d.term_buffer_length;
    let segment = d.segment_file_length;
    if term < 64 * 1024 || !(term as u32).is_power_of_two() {
        verdict
            .problems
            .push(format!("invalid termBufferLength {term}"));
    }
    if segment < term || !(segment as u32).is_power_of_two() {
        verdict
            .problems
            .push(format!("invalid segmentFileLength {segment}"));
    }
    if d.start_position < 0 || d.start_position % 32 != 0 {
        verdict
            .problems
            .push(format!("invalid startPosition {}", d.start_position));
    }
    if !verdict.problems.is_empty() {
        return verdict;
    }
    let files = match segment_files(dir, d.recording_id) {
        Ok(files) => files,
        Err(e) => {
            verdict.problems.push(format!("segment files: {e}"));
            return verdict;
        }
    };
    verdict.segment_files = files.len();
    let stop = if d.stop_position >= 0 {
        d.stop_position
    } else {
        match compute_stop_position(dir, d.recording_id, d.start_position, term, segment) {
            Ok(stop) => stop,
            Err(ArchiveStorageError::IncompleteFragment { path, offset }) => {
                let base = path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .and_then(parse_segment_file_name)
                    .map_or(0, |(_, base)| base);
                verdict.torn_fragment = Some(TornFragment {
                    path,
                    offset: offset as u64,
                    segment_length: segment as u64,
                });
                (base + offset).max(d.start_position)
            }
            Err(e) => {
                verdict
                    .problems
                    .push(format!("recovering the stop position: {e}"));
                return verdict;
            }
        }
    };
    if stop < d.start_position {
        verdict.problems.push(format!(
            "stopPosition {stop} is before startPosition {}",
            d.start_position
        ));
        return verdict;
    }
    if stop > d.start_position {
        let first = segment_file_base_position(d.start_position, d.start_position, term, segment);
        let last = segment_file_base_position(d.start_position, stop - 1, term, segment);
        let mut base = Some(first);
        while let Some(b) = base.filter(|&b| b <= last) {
            if !files.iter().any(|(file_base, _)| *file_base == b) {
                verdict.problems.push(format!(
                    "segment file {} is missing",
                    segment_file_name(d.recording_id, b)
                ));
                if verdict.problems.len() >= MAX_PROBLEMS_PER_RECORDING {
                    verdict
                        .problems
                        .push("too many missing segment files; stopped looking".into());
                    break;
                }
            }
            base = b.checked_add(i64::from(segment));
        }
        if !verdict.problems.is_empty() {
            return verdict;
        }
    }
    // Java's default walks only the last segment file's frames.
    let from = if options.all_segments || stop <= d.start_position {
        d.start_position
    } else {
        segment_file_base_position(d.start_position, stop - 1, term, segment).max(d.start_position)
    };
    verdict.position = from;
    let mut reader = match SegmentReader::new(
        dir,
        d.recording_id,
        d.start_position,
        term,
        segment,
        from,
        stop,
    ) {
        Ok(reader) => reader.with_checksum(checksum),
        Err(e) => {
            verdict.problems.push(e.to_string());
            return verdict;
        }
    };
    let term_shift = term.trailing_zeros();
    let start_term_id = i64::from(d.initial_term_id);
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                verdict.frames += 1;
                let h = &frame.header;
                let expected_offset = frame.position & i64::from(term - 1);
                let expected_term = start_term_id + (frame.position >> term_shift);
                let mut wrong = Vec::new();
                if i64::from(h.term_offset) != expected_offset {
                    wrong.push(format!(
                        "termOffset {} (expected {expected_offset})",
                        h.term_offset
                    ));
                }
                if i64::from(h.term_id) != (expected_term as i32).into() {
                    wrong.push(format!(
                        "termId {} (expected {})",
                        h.term_id, expected_term as i32
                    ));
                }
                // The session id is not checked, as Aeron's ArchiveTool does not: segments migrated from
                // another recording keep their session, and checksummed recordings keep a checksum there.
                if !frame.is_padding() && h.stream_id != d.stream_id {
                    wrong.push(format!(
                        "streamId {} (expected {})",
                        h.stream_id, d.stream_id
                    ));
                }
                if !wrong.is_empty() {
                    verdict.problems.push(format!(
                        "frame at position {}: {}",
                        frame.position,
                        wrong.join(", ")
                    ));
                    if verdict.problems.len() >= MAX_PROBLEMS_PER_RECORDING {
                        verdict
                            .problems
                            .push("too many bad frames; stopped checking this recording".into());
                        break;
                    }
                }
                verdict.position = reader.position();
            }
            Ok(None) => break,
            Err(e) => {
                verdict.problems.push(format!(
                    "frames do not walk cleanly at position {}: {e}",
                    reader.position()
                ));
                break;
            }
        }
    }
    if verdict.problems.is_empty() && verdict.position != stop {
        verdict.problems.push(format!(
            "frames end at position {} instead of the stop position {stop}",
            verdict.position
        ));
    }
    verdict
}
