//! Segment files: [`SegmentWriter`] appends blocks of log frames as a recording receives them, and
//! [`SegmentReader`] reads frames back from a position, across segment files, for replay.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use oxeron_protocol::archive::{
    parse_segment_file_name, segment_file_base_position, segment_file_name,
};
use oxeron_protocol::frame::data::{DataHeader, HEADER_LENGTH};
use oxeron_protocol::frame::{FRAME_ALIGNMENT, HDR_TYPE_PAD, TYPE_FIELD_OFFSET};
use oxeron_protocol::{align, le};

use crate::checksum::Checksum;
use crate::error::{ArchiveStorageError, Result};
use crate::io_hints;
use crate::FileSyncLevel;

fn check_lengths(term_length: i32, segment_length: i32) -> Result<()> {
    if term_length < 64 * 1024 || !(term_length as u32).is_power_of_two() {
        return Err(ArchiveStorageError::InvalidParameter {
            what: "term length",
            value: term_length.into(),
        });
    }
    if segment_length < term_length || !(segment_length as u32).is_power_of_two() {
        return Err(ArchiveStorageError::InvalidParameter {
            what: "segment file length",
            value: segment_length.into(),
        });
    }
    Ok(())
}

fn write_all_at(file: &File, path: &Path, bytes: &[u8], offset: u64) -> Result<()> {
    file.write_all_at(bytes, offset)
        .map_err(ArchiveStorageError::io(path))
}

/// Appends a recording's frames to its segment files, creating each at the full segment length.
#[derive(Debug)]
pub struct SegmentWriter {
    archive_dir: PathBuf,
    recording_id: i64,
    term_length: i32,
    segment_length: i32,
    segment_base_position: i64,
    segment_offset: i32,
    path: PathBuf,
    file: Option<File>,
    sync: FileSyncLevel,
    /// Write-back of the current segment file.
    write_back: io_hints::WriteBack,
    /// Checksum written into each data frame's session id field, if any.
    checksum: Option<Checksum>,
    /// A block's copy, stamped with checksums (empty without a checksum).
    stamped: Vec<u8>,
}

impl SegmentWriter {
    /// Opens the segment file holding `join_position` of a recording that starts at `start_position`
    /// (creating it at `segment_length` bytes if needed), ready to append at `join_position`.
    pub fn new(
        archive_dir: impl AsRef<Path>,
        recording_id: i64,
        start_position: i64,
        join_position: i64,
        term_length: i32,
        segment_length: i32,
        sync: FileSyncLevel,
    ) -> Result<Self> {
        check_lengths(term_length, segment_length)?;
        if start_position < 0 || join_position < start_position || join_position % 32 != 0 {
            return Err(ArchiveStorageError::InvalidPosition {
                position: join_position,
                reason: "join position before the start or not frame aligned",
            });
        }
        let base =
            segment_file_base_position(start_position, join_position, term_length, segment_length);
        let archive_dir = archive_dir.as_ref().to_path_buf();
        let mut writer = Self {
            path: PathBuf::new(),
            archive_dir,
            recording_id,
            term_length,
            segment_length,
            segment_base_position: base,
            segment_offset: (join_position - base) as i32,
            file: None,
            write_back: io_hints::WriteBack::from((join_position - base) as u64),
            sync,
            checksum: None,
            stamped: Vec::new(),
        };
        writer.open_segment(false)?;
        Ok(writer)
    }

    fn open_segment(&mut self, must_be_new: bool) -> Result<()> {
        let path = self.archive_dir.join(segment_file_name(
            self.recording_id,
            self.segment_base_position,
        ));
        if must_be_new && path.exists() {
            return Err(ArchiveStorageError::SegmentExists(path));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(ArchiveStorageError::io(&path))?;
        file.set_len(self.segment_length as u64)
            .map_err(ArchiveStorageError::io(&path))?;
        self.sync
            .sync_dir(&self.archive_dir)
            .map_err(ArchiveStorageError::io(&self.archive_dir))?;
        self.file = Some(file);
        self.path = path;
        self.write_back = io_hints::WriteBack::from(self.segment_offset as u64);
        Ok(())
    }

    /// Writes each data frame's checksum into its session id field, as Aeron's record checksum does.
    pub fn with_checksum(mut self, checksum: Option<Checksum>) -> Self {
        self.checksum = checksum;
        self
    }

    /// Recording position the next block goes to.
    pub fn position(&self) -> i64 {
        self.segment_base_position + i64::from(self.segment_offset)
    }

    /// Path of the current segment file.
    pub fn segment_path(&self) -> &Path {
        &self.path
    }

    /// Appends a block of whole frames from one term, as the recorded image delivered it. Padding frames
    /// are stored as their header only (the rest of the file stays zero) but advance the position by
    /// their full length. Frame lengths are checked; the block must not run past the end of its term.
    pub fn on_block(&mut self, block: &[u8]) -> Result<()> {
        let Some(file) = self.file.as_ref() else {
            return Err(ArchiveStorageError::InvalidPosition {
                position: self.position(),
                reason: "writer closed after an error",
            });
        };
        let term_offset = self.segment_offset & (self.term_length - 1);
        let room = (self.term_length - term_offset) as usize;
        if block.len() > room || block.len() % FRAME_ALIGNMENT != 0 {
            return Err(ArchiveStorageError::InvalidFrame {
                path: self.path.clone(),
                position: self.position(),
                length: block.len() as i64,
            });
        }
        // Validate the whole block before writing any of it.
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let mut offset = 0;
        while offset < block.len() {
            let frame_length = le::get_i32(block, offset);
            let aligned = usize::try_from(frame_length)
                .ok()
                .filter(|&len| len >= HEADER_LENGTH)
                .map(|len| align(len, FRAME_ALIGNMENT))
                .filter(|&aligned| offset + aligned <= block.len());
            let Some(aligned) = aligned else {
                return Err(ArchiveStorageError::InvalidFrame {
                    path: self.path.clone(),
                    position: self.position() + offset as i64,
                    length: frame_length.into(),
                });
            };
            let is_pad = le::get_u16(block, offset + TYPE_FIELD_OFFSET) == HDR_TYPE_PAD;
            let write_length = if is_pad { HEADER_LENGTH } else { aligned };
            match runs.last_mut() {
                Some((start, length)) if *start + *length == offset => *length += write_length,
                _ => runs.push((offset, write_length)),
            }
            offset += aligned;
        }
        let block = match self.checksum {
            Some(checksum) => {
                self.stamped.clear();
                self.stamped.extend_from_slice(block);
                checksum.stamp_frames(&mut self.stamped);
                &self.stamped[..]
            }
            None => block,
        };
        let file_offset = self.segment_offset as u64;
        for (start, length) in runs {
            write_all_at(
                file,
                &self.path,
                &block[start..start + length],
                file_offset + start as u64,
            )?;
        }
        self.sync
            .sync(file)
            .map_err(ArchiveStorageError::io(&self.path))?;
        self.segment_offset += block.len() as i32;
        self.write_back
            .after_write(file, self.segment_offset as u64);
        if self.segment_offset >= self.segment_length {
            self.file = None;
            self.segment_offset = 0;
            self.segment_base_position += i64::from(self.segment_length);
            self.open_segment(true)?;
        }
        Ok(())
    }

    /// Flushes and closes the current segment file.
    pub fn close(mut self) -> Result<()> {
        if let Some(file) = self.file.take() {
            self.sync
                .sync(&file)
                .map_err(ArchiveStorageError::io(&self.path))?;
        }
        Ok(())
    }
}

/// One frame read back from a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedFrame {
    /// Recording position of the frame's first byte.
    pub position: i64,
    /// The frame header.
    pub header: DataHeader,
    /// The frame's payload (`frame_length - 32` bytes; empty for padding).
    pub payload: Vec<u8>,
}

impl RecordedFrame {
    /// Frame length rounded up to the frame alignment: how far the position advances.
    pub fn aligned_length(&self) -> usize {
        align(self.header.frame_length.max(0) as usize, FRAME_ALIGNMENT)
    }

    /// Whether this is a padding frame.
    pub fn is_padding(&self) -> bool {
        self.header.is_pad()
    }
}

/// Reads a recording's frames from its segment files, from a position up to a limit.
#[derive(Debug)]
pub struct SegmentReader {
    archive_dir: PathBuf,
    recording_id: i64,
    start_position: i64,
    term_length: i32,
    segment_length: i32,
    position: i64,
    limit: i64,
    /// No frame that starts at or after this position is read: where a replay of a given length ends.
    /// The frame that straddles it is read whole, as Aeron's replay does.
    end: i64,
    current: Option<OpenSegment>,
    /// The segment after the current one, opened early so the page cache reads its start while the current
    /// one's end is read.
    next: Option<OpenSegment>,
    /// Checksum each data frame read must match, if any (Aeron's replay checksum).
    checksum: Option<Checksum>,
}

/// One open segment file and the read-ahead asked of it.
#[derive(Debug)]
struct OpenSegment {
    base: i64,
    path: PathBuf,
    file: File,
    read_ahead: io_hints::ReadAhead,
}

impl SegmentReader {
    /// A reader of recording `recording_id` (started at `start_position`, with the given term and segment
    /// lengths) from `from_position` (a frame boundary) up to `limit_position` (the stop or recorded position).
    pub fn new(
        archive_dir: impl AsRef<Path>,
        recording_id: i64,
        start_position: i64,
        term_length: i32,
        segment_length: i32,
        from_position: i64,
        limit_position: i64,
    ) -> Result<Self> {
        check_lengths(term_length, segment_length)?;
        if from_position < start_position || from_position % FRAME_ALIGNMENT as i64 != 0 {
            return Err(ArchiveStorageError::InvalidPosition {
                position: from_position,
                reason: "before the recording start or not frame aligned",
            });
        }
        if limit_position < from_position {
            return Err(ArchiveStorageError::InvalidPosition {
                position: limit_position,
                reason: "limit before the from position",
            });
        }
        Ok(Self {
            archive_dir: archive_dir.as_ref().to_path_buf(),
            recording_id,
            start_position,
            term_length,
            segment_length,
            position: from_position,
            limit: limit_position,
            end: i64::MAX,
            current: None,
            next: None,
            checksum: None,
        })
    }

    /// Checks every data frame [`SegmentReader::read_block`] and [`SegmentReader::next_frame`] return against
    /// the checksum in its session id field; a mismatch is [`ArchiveStorageError::ChecksumMismatch`], and the
    /// frames are not returned.
    pub fn with_checksum(mut self, checksum: Option<Checksum>) -> Self {
        self.checksum = checksum;
        self
    }

    /// Position of the next frame.
    pub fn position(&self) -> i64 {
        self.position
    }

    /// Raises the limit (for a recording still being written).
    pub fn set_limit(&mut self, limit_position: i64) {
        self.limit = limit_position.max(self.limit);
    }

    /// Ends the read at the frame that contains `end_position` (or just before it, on a frame boundary):
    /// the limit says what is recorded, this says where a replay of a given length stops.
    pub fn end_at(&mut self, end_position: i64) {
        self.end = end_position;
    }

    /// Goes back to `position`, a frame this reader read (for a block that could not be passed on).
    pub fn rewind_to(&mut self, position: i64) {
        debug_assert!(position <= self.position && position >= self.start_position);
        self.position = position;
    }

    /// Whether every frame up to the end set by [`SegmentReader::end_at`] has been read.
    pub fn is_at_end(&self) -> bool {
        self.position >= self.end
    }

    fn invalid(&self, path: &Path, length: i64) -> ArchiveStorageError {
        ArchiveStorageError::InvalidFrame {
            path: path.to_path_buf(),
            position: self.position,
            length,
        }
    }

    /// Opens the segment file holding the position (if not already open); returns its base position.
    fn open_segment(&mut self) -> Result<i64> {
        let base = segment_file_base_position(
            self.start_position,
            self.position,
            self.term_length,
            self.segment_length,
        );
        if self.current.as_ref().is_none_or(|s| s.base != base) {
            let opened = match self.next.take() {
                Some(next) if next.base == base => next,
                _ => self.open_file(base)?,
            };
            self.current = Some(opened);
        }
        Ok(base)
    }

    fn open_file(&self, base: i64) -> Result<OpenSegment> {
        let path = self
            .archive_dir
            .join(segment_file_name(self.recording_id, base));
        let file = File::open(&path).map_err(ArchiveStorageError::io(&path))?;
        let read_ahead = io_hints::ReadAhead::new(&file);
        Ok(OpenSegment {
            base,
            path,
            file,
            read_ahead,
        })
    }

    /// Asks the page cache to start reading what comes first, so the disk works while the caller sets up
    /// (a replay creating its publication). Errors wait for the first read.
    pub fn start_read_ahead(&mut self) {
        if self.position < self.limit {
            if let Ok(base) = self.open_segment() {
                self.read_ahead(base);
            }
        }
    }

    /// Keeps the read-ahead window of the current segment (opened, at `base`) full from the position. Once
    /// the segment's end is within the window and the limit reaches past it, opens the next segment and
    /// asks for its start too, so crossing into it does not wait on the disk.
    fn read_ahead(&mut self, base: i64) {
        let offset = (self.position - base) as u64;
        if let Some(s) = self.current.as_mut() {
            s.read_ahead.before_read(&s.file, offset);
        }
        let next_base = base + i64::from(self.segment_length);
        if offset + io_hints::READ_AHEAD < self.segment_length as u64
            || self.limit <= next_base
            || self.next.as_ref().is_some_and(|s| s.base == next_base)
        {
            return;
        }
        if let Ok(mut next) = self.open_file(next_base) {
            next.read_ahead.before_read(&next.file, 0);
            self.next = Some(next);
        }
    }

    /// The next frame, or `None` at the limit. A frame with an invalid length (zero, below the header,
    /// past its term or the limit) or a segment file too short for it gives an error.
    pub fn next_frame(&mut self) -> Result<Option<RecordedFrame>> {
        if self.position >= self.limit {
            return Ok(None);
        }
        let base = self.open_segment()?;
        let Some(OpenSegment { path, file, .. }) = self.current.as_ref() else {
            return Ok(None);
        };
        let offset = (self.position - base) as u64;
        let mut header_bytes = [0u8; HEADER_LENGTH];
        let read = read_fill(file, path, offset, &mut header_bytes)?;
        if read < HEADER_LENGTH {
            return Err(self.invalid(path, 0));
        }
        let frame_length = le::get_i32(&header_bytes, 0);
        let term_offset = self.position & i64::from(self.term_length - 1);
        let aligned = align(frame_length.max(0) as usize, FRAME_ALIGNMENT) as i64;
        if (frame_length as usize) < HEADER_LENGTH
            || frame_length < 0
            || term_offset + aligned > i64::from(self.term_length)
            || self.position + aligned > self.limit
        {
            return Err(self.invalid(path, frame_length.into()));
        }
        let header =
            DataHeader::decode(&header_bytes).map_err(|error| ArchiveStorageError::Decode {
                path: path.clone(),
                error,
            })?;
        let payload = if header.is_pad() {
            Vec::new()
        } else {
            // With a checksum, the alignment bytes after the payload are read too: Aeron's checksum covers them.
            let read_length = match self.checksum {
                Some(_) => aligned as usize,
                None => frame_length as usize,
            } - HEADER_LENGTH;
            let mut payload = vec![0u8; read_length];
            let got = read_fill(file, path, offset + HEADER_LENGTH as u64, &mut payload)?;
            if got < payload.len() {
                return Err(self.invalid(path, frame_length.into()));
            }
            if let Some(checksum) = self.checksum {
                let computed = checksum.compute(&payload);
                if computed != header.session_id {
                    return Err(ArchiveStorageError::ChecksumMismatch {
                        path: path.clone(),
                        position: self.position,
                        recorded: header.session_id,
                        computed,
                    });
                }
                payload.truncate(frame_length as usize - HEADER_LENGTH);
            }
            payload
        };
        let frame = RecordedFrame {
            position: self.position,
            header,
            payload,
        };
        self.position += aligned;
        Ok(Some(frame))
    }
}

impl SegmentReader {
    /// Reads whole frames from the position into `buf` (resized as needed, up to `max_length` bytes), never
    /// past the limit, the end of the term or the end of a segment, and none that starts at or after the
    /// end set by [`SegmentReader::end_at`]; returns their length (0 at the limit or the end). A padding
    /// frame comes alone: it is returned as the block's only frame, and data frames stop before one. Frames keep their recorded headers; padding frames are returned header only, the rest of
    /// their length left zeroed in `buf`.
    pub fn read_block(&mut self, buf: &mut Vec<u8>, max_length: usize) -> Result<usize> {
        if self.position >= self.limit || self.position >= self.end {
            return Ok(0);
        }
        let base = self.open_segment()?;
        self.read_ahead(base);
        let Some(OpenSegment { path, file, .. }) = self.current.as_ref() else {
            return Ok(0);
        };
        let term_offset = self.position & i64::from(self.term_length - 1);
        let available = (i64::from(self.term_length) - term_offset).min(self.limit - self.position);
        let offset = (self.position - base) as u64;
        let mut room = available.min(max_length.max(HEADER_LENGTH) as i64) as usize;
        loop {
            if buf.len() < room {
                buf.resize(room, 0);
            }
            let read = read_fill(file, path, offset, &mut buf[..room])?;
            let mut cursor = 0usize;
            while cursor + HEADER_LENGTH <= read && self.position + (cursor as i64) < self.end {
                let frame_length = le::get_i32(buf, cursor);
                if frame_length < HEADER_LENGTH as i32 {
                    break;
                }
                let aligned = align(frame_length as usize, FRAME_ALIGNMENT);
                let frame_type = le::get_u16(buf, cursor + TYPE_FIELD_OFFSET);
                if frame_type == HDR_TYPE_PAD {
                    if cursor == 0 && aligned as i64 <= available {
                        if buf.len() < aligned {
                            buf.resize(aligned, 0);
                        }
                        buf[HEADER_LENGTH..aligned].fill(0);
                        cursor = aligned;
                    }
                    break;
                }
                if cursor + aligned > read {
                    if cursor == 0 && aligned > room && aligned as i64 <= available && read == room
                    {
                        // A single frame longer than the requested block: read it whole.
                        room = aligned;
                        cursor = usize::MAX;
                    }
                    break;
                }
                cursor += aligned;
            }
            if cursor == usize::MAX {
                continue;
            }
            if cursor == 0 {
                let length = if read >= 4 { le::get_i32(buf, 0) } else { 0 };
                let path = path.clone();
                return Err(self.invalid(&path, length.into()));
            }
            if let Some(checksum) = self.checksum {
                if let Err((offset, recorded, computed)) = checksum.verify_frames(&buf[..cursor]) {
                    return Err(ArchiveStorageError::ChecksumMismatch {
                        path: path.clone(),
                        position: self.position + offset as i64,
                        recorded,
                        computed,
                    });
                }
            }
            self.position += cursor as i64;
            return Ok(cursor);
        }
    }
}

/// The segment files of `recording_id` in `archive_dir`, as (base position, path), in position order.
pub fn segment_files(archive_dir: &Path, recording_id: i64) -> Result<Vec<(i64, PathBuf)>> {
    let mut files = segment_entries(archive_dir, recording_id)?.collect::<Result<Vec<_>>>()?;
    files.sort();
    Ok(files)
}

/// The segment files of `recording_id` in `archive_dir`, as (base position, path), in directory order.
fn segment_entries(
    archive_dir: &Path,
    recording_id: i64,
) -> Result<impl Iterator<Item = Result<(i64, PathBuf)>> + '_> {
    let entries = std::fs::read_dir(archive_dir).map_err(ArchiveStorageError::io(archive_dir))?;
    Ok(entries.filter_map(move |entry| {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => return Some(Err(ArchiveStorageError::io(archive_dir)(e))),
        };
        let name = entry.file_name();
        let (id, base) = name.to_str().and_then(parse_segment_file_name)?;
        (id == recording_id).then(|| Ok((base, entry.path())))
    }))
}

/// Deletes every segment file of `recording_id`; returns how many were deleted. It deletes as it reads the
/// directory: a long recording has thousands of segment files, and listing them first would only hold
/// their paths.
pub fn delete_segments(archive_dir: &Path, recording_id: i64) -> Result<usize> {
    let mut deleted = 0;
    for file in segment_entries(archive_dir, recording_id)? {
        let (_, path) = file?;
        std::fs::remove_file(&path).map_err(ArchiveStorageError::io(&path))?;
        deleted += 1;
    }
    Ok(deleted)
}

/// Cuts a stopped recording back to `position`: the segment holding it is zeroed from there on and later
/// segments are deleted, so that neither a replay nor crash recovery sees frames past the new stop position.
pub fn truncate_recording(
    archive_dir: &Path,
    recording_id: i64,
    start_position: i64,
    term_length: i32,
    segment_length: i32,
    position: i64,
) -> Result<usize> {
    check_lengths(term_length, segment_length)?;
    let mut deleted = 0;
    let base = segment_file_base_position(start_position, position, term_length, segment_length);
    for (file_base, path) in segment_files(archive_dir, recording_id)? {
        let whole = file_base > base
            || (file_base == base && (position == file_base || position == start_position));
        if whole {
            std::fs::remove_file(&path).map_err(ArchiveStorageError::io(&path))?;
            deleted += 1;
        } else if file_base == base {
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(ArchiveStorageError::io(&path))?;
            let offset = (position - base) as u64;
            let zeros = vec![0u8; 64 * 1024];
            let mut at = offset;
            while at < segment_length as u64 {
                let n = zeros.len().min((segment_length as u64 - at) as usize);
                write_all_at(&file, &path, &zeros[..n], at)?;
                at += n as u64;
            }
            file.sync_all().map_err(ArchiveStorageError::io(&path))?;
        }
    }
    Ok(deleted)
}

impl Iterator for SegmentReader {
    type Item = Result<RecordedFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.next_frame().transpose();
        if matches!(item, Some(Err(_))) {
            self.limit = self.position;
        }
        item
    }
}

/// Reads into all of `buf` from `offset`, or up to the end of the file; returns the bytes read.
pub(crate) fn read_fill(file: &File, path: &Path, offset: u64, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ArchiveStorageError::io(path)(e)),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests;
