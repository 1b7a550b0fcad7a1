//! Crash recovery of a recording that was active when the archive stopped: where its data really ends,
//! found from its highest segment file, with Java's rules for a last page that straddles the crash.

use super::*;
use crate::segment::read_fill;

/// Base position of the highest segment file of `recording_id` in `archive_dir`, if any.
pub fn highest_segment_base(archive_dir: &Path, recording_id: i64) -> Result<Option<i64>> {
    let entries = std::fs::read_dir(archive_dir).map_err(ArchiveStorageError::io(archive_dir))?;
    let mut best = None;
    for entry in entries {
        let entry = entry.map_err(ArchiveStorageError::io(archive_dir))?;
        let name = entry.file_name();
        if let Some((id, base)) = name.to_str().and_then(parse_segment_file_name) {
            if id == recording_id && best.is_none_or(|b| base > b) {
                best = Some(base);
            }
        }
    }
    Ok(best)
}

/// Where a recording that was active at a crash ends: the end of the last complete frame in its highest
/// segment file (Java's `Catalog.computeStopPosition`), or its start position when it has no segment file.
pub fn compute_stop_position(
    archive_dir: &Path,
    recording_id: i64,
    start_position: i64,
    term_length: i32,
    segment_length: i32,
) -> Result<i64> {
    if term_length <= 0 || !(term_length as u32).is_power_of_two() {
        return Err(ArchiveStorageError::InvalidParameter {
            what: "term length",
            value: term_length.into(),
        });
    }
    if segment_length <= 0 {
        return Err(ArchiveStorageError::InvalidParameter {
            what: "segment file length",
            value: segment_length.into(),
        });
    }
    let Some(base) = highest_segment_base(archive_dir, recording_id)? else {
        return Ok(start_position);
    };
    let start_term_offset = start_position & i64::from(term_length - 1);
    let start_term_base = start_position - start_term_offset;
    let file_offset = if base == start_term_base {
        start_term_offset as u64
    } else {
        0
    };
    let path = archive_dir.join(oxeron_protocol::archive::segment_file_name(
        recording_id,
        base,
    ));
    let stop_offset = recover_stop_offset(&path, file_offset, segment_length as u64)?;
    Ok(base.saturating_add(stop_offset as i64).max(start_position))
}

fn recover_stop_offset(path: &Path, offset: u64, segment_length: u64) -> Result<u64> {
    let file = File::open(path).map_err(ArchiveStorageError::io(path))?;
    let size = file
        .metadata()
        .map_err(ArchiveStorageError::io(path))?
        .len();
    let limit = size.min(segment_length);
    let mut chunk = vec![0u8; SCAN_CHUNK.min(limit as usize).max(4)];
    let (mut chunk_start, mut chunk_len) = (0u64, 0usize);
    let mut next = offset;
    let mut last_length = 0u64;
    while next + 4 <= limit {
        if !(next >= chunk_start && next + 4 <= chunk_start + chunk_len as u64) {
            let want = chunk.len().min((limit - next) as usize);
            chunk_len = read_fill(&file, path, next, &mut chunk[..want])?;
            chunk_start = next;
            if chunk_len < 4 {
                break;
            }
        }
        let frame_length = le::get_i32(&chunk, (next - chunk_start) as usize);
        if frame_length <= 0 {
            break;
        }
        let aligned = align(frame_length as usize, FRAME_ALIGNMENT) as u64;
        if next + aligned > limit {
            break;
        }
        last_length = aligned;
        next += aligned;
    }
    let last_offset = next - last_length;
    if last_length > 0 && straddles_page(last_offset, last_length) {
        let mut fragment = vec![0u8; last_length as usize];
        read_fill(&file, path, last_offset, &mut fragment)?;
        if !has_data_in_all_pages_after_straddle(&fragment, last_offset) {
            return Err(ArchiveStorageError::IncompleteFragment {
                path: path.to_path_buf(),
                offset: last_offset as i64,
            });
        }
    }
    Ok(next)
}

fn straddles_page(offset: u64, length: u64) -> bool {
    let page = RECOVERY_PAGE_SIZE as u64;
    offset / page != (offset + length - 1) / page
}

fn has_data_in_all_pages_after_straddle(fragment: &[u8], file_offset: u64) -> bool {
    let page = RECOVERY_PAGE_SIZE as u64;
    let end = file_offset + fragment.len() as u64;
    let mut page_start = (file_offset / page + 1) * page;
    while page_start < end {
        let from = (page_start - file_offset) as usize;
        let to = ((page_start + page).min(end) - file_offset) as usize;
        if fragment[from..to].iter().all(|&b| b == 0) {
            return false;
        }
        page_start += page;
    }
    true
}
