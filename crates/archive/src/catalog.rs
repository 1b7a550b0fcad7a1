//! The archive catalog `archive.catalog`: a memory-mapped file with Aeron's layout (see
//! [`oxeron_protocol::archive::catalog`]), an index of valid recordings, in-place updates and crash recovery.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use oxeron_concurrent::mapped_file::MappedFile;
use oxeron_protocol::archive::catalog::{
    LEGACY_CATALOG_ALIGNMENT, START_POSITION_OFFSET, STOP_POSITION_OFFSET, STOP_TIMESTAMP_OFFSET,
};
use oxeron_protocol::archive::CatalogEntryError;
use oxeron_protocol::archive::{
    catalog_entry_length, parse_segment_file_name, CatalogEntry, CatalogHeader, CatalogWalker,
    RecordingDescriptor, RecordingDescriptorHeader, RecordingState, CATALOG_HEADER_LENGTH,
    DEFAULT_CATALOG_ALIGNMENT, NULL_POSITION, RECORDING_DESCRIPTOR_HEADER_LENGTH, SCHEMA_VERSION,
};
use oxeron_protocol::frame::FRAME_ALIGNMENT;
use oxeron_protocol::logbuffer::{TERM_MAX_LENGTH, TERM_MIN_LENGTH};
use oxeron_protocol::{align, le, DecodeError};

use crate::error::{ArchiveStorageError, Result};
use crate::FileSyncLevel;

/// File name of the catalog in the archive directory.
pub const CATALOG_FILE_NAME: &str = "archive.catalog";
/// Capacity of a new catalog unless configured otherwise (1 MiB).
pub const DEFAULT_CATALOG_CAPACITY: u64 = 1024 * 1024;
/// Smallest catalog capacity allowed: the header.
pub const MIN_CATALOG_CAPACITY: u64 = CATALOG_HEADER_LENGTH as u64;
/// Largest catalog the archive grows to (`Integer.MAX_VALUE`).
pub const MAX_CATALOG_CAPACITY: u64 = i32::MAX as u64;
/// Major version of the catalog format this crate reads.
pub const CATALOG_MAJOR_VERSION: i32 = 3;
/// Page size recovery uses to look for torn fragments (Java's `Catalog.PAGE_SIZE`).
pub const RECOVERY_PAGE_SIZE: usize = 4096;
/// Offset of `length` in the catalog header.
const LENGTH_OFFSET: usize = 4;
/// Offset of `nextRecordingId` in the catalog header.
const NEXT_RECORDING_ID_OFFSET: usize = 8;
/// Offset of `alignment` in the catalog header.
const ALIGNMENT_OFFSET: usize = 16;
/// Offset of `state` in a descriptor header.
const STATE_OFFSET: usize = 4;
/// Bytes read at a time while scanning a segment file.
const SCAN_CHUNK: usize = 1024 * 1024;

/// Describes a recording to add to the catalog; the catalog assigns the id and leaves it active
/// (stop position and stop timestamp -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewRecording<'a> {
    /// Position the recording starts at.
    pub start_position: i64,
    /// Epoch ms when it started.
    pub start_timestamp: i64,
    /// Initial term id of the recorded image.
    pub initial_term_id: i32,
    /// Length of each segment file.
    pub segment_file_length: i32,
    /// Term length of the recorded image.
    pub term_buffer_length: i32,
    /// MTU of the recorded image.
    pub mtu_length: i32,
    /// Session id of the recorded image.
    pub session_id: i32,
    /// Stream id.
    pub stream_id: i32,
    /// Channel with only the parameters that identify the stream.
    pub stripped_channel: &'a str,
    /// Channel as the recording request gave it.
    pub original_channel: &'a str,
    /// Source identity of the recorded image.
    pub source_identity: &'a str,
}

/// A copy of one catalog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRecording {
    /// File offset of the entry's descriptor header.
    pub offset: usize,
    /// The descriptor header (length, state, checksum).
    pub header: RecordingDescriptorHeader,
    body: Vec<u8>,
}

impl CatalogRecording {
    fn decode(offset: usize, entry: &[u8]) -> std::result::Result<Self, DecodeError> {
        let header = RecordingDescriptorHeader::decode_body(
            entry,
            RecordingDescriptorHeader::BLOCK_LENGTH,
            SCHEMA_VERSION,
        )?;
        let body = entry
            .get(RECORDING_DESCRIPTOR_HEADER_LENGTH..)
            .unwrap_or_default()
            .to_vec();
        let recording = Self {
            offset,
            header,
            body,
        };
        recording.descriptor()?;
        Ok(recording)
    }

    /// The decoded descriptor (it decoded when the copy was taken, so this only fails if the copy was
    /// tampered with).
    pub fn descriptor(&self) -> std::result::Result<RecordingDescriptor<'_>, DecodeError> {
        RecordingDescriptor::decode_body(
            &self.body,
            RecordingDescriptor::BLOCK_LENGTH,
            SCHEMA_VERSION,
        )
    }

    /// The descriptor body as stored, alignment padding included (what a `RecordingDescriptor` response
    /// carries after the control session and correlation ids are filled in).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// State of the entry.
    pub fn state(&self) -> RecordingState {
        self.header.state
    }

    /// Recording id.
    pub fn recording_id(&self) -> i64 {
        le::get_i64(&self.body, 16)
    }
}

/// What validating a catalog file found: its layout and the index of valid recordings.
#[derive(Debug)]
struct CatalogScan {
    alignment: usize,
    first_offset: usize,
    next_offset: usize,
    next_recording_id: i64,
    index: Vec<(i64, usize)>,
}

impl CatalogScan {
    /// Validates the whole of `bytes` (a catalog file as it is on disk) without changing anything.
    fn of(path: &Path, bytes: &[u8]) -> Result<Self> {
        let invalid =
            |offset: usize, field: &'static str, value: i64| ArchiveStorageError::InvalidCatalog {
                path: path.to_path_buf(),
                offset,
                field,
                value,
            };
        let decode_error = |error| ArchiveStorageError::Decode {
            path: path.to_path_buf(),
            error,
        };
        let (header, mut walker) = CatalogWalker::new(bytes).map_err(decode_error)?;
        if (header.version >> 16) & 0xFF != CATALOG_MAJOR_VERSION {
            return Err(ArchiveStorageError::IncompatibleVersion {
                path: path.to_path_buf(),
                version: header.version,
            });
        }
        let alignment = header.entry_alignment();
        if !alignment.is_power_of_two() || alignment < FRAME_ALIGNMENT {
            return Err(invalid(
                ALIGNMENT_OFFSET,
                "alignment",
                header.alignment.into(),
            ));
        }
        let first_offset = header.first_entry_offset().map_err(decode_error)?;
        if header.alignment == 0 && first_offset != LEGACY_CATALOG_ALIGNMENT {
            return Err(invalid(LENGTH_OFFSET, "length", header.length.into()));
        }
        let mut index = Vec::new();
        let mut last_id = -1;
        for entry in walker.by_ref() {
            let entry = entry.map_err(|error| ArchiveStorageError::CorruptEntry {
                path: path.to_path_buf(),
                error,
            })?;
            let descriptor = &entry.descriptor;
            let id = descriptor.recording_id;
            if id <= last_id {
                return Err(invalid(entry.offset, "recordingId", id));
            }
            last_id = id;
            if entry.header.state == RecordingState::Valid {
                if let Some((field, value)) = out_of_bounds(descriptor) {
                    return Err(invalid(entry.offset, field, value));
                }
                index.push((id, entry.offset));
            }
        }
        let next_offset = walker.offset().max(first_offset);
        let tail_end = bytes
            .len()
            .min(next_offset + RECORDING_DESCRIPTOR_HEADER_LENGTH);
        if let Some(at) = bytes
            .get(next_offset..tail_end)
            .and_then(|tail| tail.iter().position(|&b| b != 0))
        {
            // Free space is zeroes; bytes here are what is left of an entry the file lost the rest of.
            return Err(ArchiveStorageError::CorruptEntry {
                path: path.to_path_buf(),
                error: CatalogEntryError {
                    offset: next_offset,
                    error: DecodeError::Truncated {
                        what: "RecordingDescriptorHeader",
                        needed: RECORDING_DESCRIPTOR_HEADER_LENGTH,
                        available: tail_end - next_offset - at,
                    },
                },
            });
        }
        let next_recording_id = match header.next_recording_id {
            0 => last_id + 1,
            n if n < last_id + 1 => {
                return Err(invalid(NEXT_RECORDING_ID_OFFSET, "nextRecordingId", n))
            }
            n => n,
        };
        Ok(Self {
            alignment,
            first_offset,
            next_offset,
            next_recording_id,
            index,
        })
    }
}

/// The first field of a valid recording's descriptor that no recording Aeron writes can have.
fn out_of_bounds(d: &RecordingDescriptor<'_>) -> Option<(&'static str, i64)> {
    let aligned = |position: i64| position >= 0 && position % FRAME_ALIGNMENT as i64 == 0;
    let term = d.term_buffer_length;
    let term_ok = (TERM_MIN_LENGTH..=TERM_MAX_LENGTH).contains(&term) && term.count_ones() == 1;
    let segment = d.segment_file_length;
    if !aligned(d.start_position) {
        Some(("startPosition", d.start_position))
    } else if d.stop_position != NULL_POSITION
        && (!aligned(d.stop_position) || d.stop_position < d.start_position)
    {
        Some(("stopPosition", d.stop_position))
    } else if !term_ok {
        Some(("termBufferLength", term.into()))
    } else if segment < term || segment.count_ones() != 1 {
        Some(("segmentFileLength", segment.into()))
    } else if d.mtu_length < FRAME_ALIGNMENT as i32 || d.mtu_length % FRAME_ALIGNMENT as i32 != 0 {
        Some(("mtuLength", d.mtu_length.into()))
    } else {
        None
    }
}

/// The archive's catalog of recordings, memory-mapped.
#[derive(Debug)]
pub struct Catalog {
    path: PathBuf,
    file: File,
    map: MappedFile,
    sync: FileSyncLevel,
    capacity: u64,
    alignment: usize,
    first_offset: usize,
    next_recording_id: i64,
    next_offset: usize,
    /// Valid recordings in id order: (recording id, entry offset).
    index: Vec<(i64, usize)>,
}

impl Catalog {
    /// Opens `archive_dir/archive.catalog`, or creates it (version 3.1.0, alignment 64) with `capacity`
    /// bytes. Writes that must be durable are flushed as `sync` asks.
    ///
    /// An existing catalog is validated in full before anything is written to it: a bad header, an entry
    /// cut short by truncation, an entry whose lengths or positions are out of bounds, or recording ids out
    /// of order refuse the open with an error naming the file, the offset and the problem, and leave the
    /// file as it was. Only a catalog that validates is extended to `capacity` if it is smaller.
    pub fn open(archive_dir: impl AsRef<Path>, capacity: u64, sync: FileSyncLevel) -> Result<Self> {
        let dir = archive_dir.as_ref();
        if !(MIN_CATALOG_CAPACITY..=MAX_CATALOG_CAPACITY).contains(&capacity) {
            return Err(ArchiveStorageError::InvalidParameter {
                what: "catalog capacity",
                value: capacity as i64,
            });
        }
        let path = dir.join(CATALOG_FILE_NAME);
        let existing = match std::fs::metadata(&path) {
            Ok(metadata) => Some(metadata.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(ArchiveStorageError::io(&path)(e)),
        };
        let scan = match existing {
            Some(size) if size > MAX_CATALOG_CAPACITY => {
                return Err(ArchiveStorageError::InvalidCatalog {
                    path,
                    offset: 0,
                    field: "file length",
                    value: size as i64,
                })
            }
            Some(_) => {
                let bytes = std::fs::read(&path).map_err(ArchiveStorageError::io(&path))?;
                Some(CatalogScan::of(&path, &bytes)?)
            }
            None => None,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(scan.is_none())
            .truncate(false)
            .open(&path)
            .map_err(ArchiveStorageError::io(&path))?;
        let size = file
            .metadata()
            .map_err(ArchiveStorageError::io(&path))?
            .len();
        let capacity = size.max(capacity);
        if size != capacity {
            file.set_len(capacity)
                .map_err(ArchiveStorageError::io(&path))?;
        }
        let map =
            MappedFile::open(&path, capacity as usize).map_err(ArchiveStorageError::io(&path))?;
        let scan = match scan {
            Some(scan) => scan,
            None => {
                let mut header = [0u8; CATALOG_HEADER_LENGTH];
                CatalogHeader::new(0, DEFAULT_CATALOG_ALIGNMENT).encode_body(&mut header);
                map.buffer().put_bytes(0, &header);
                sync.sync(&file).map_err(ArchiveStorageError::io(&path))?;
                sync.sync_dir(dir).map_err(ArchiveStorageError::io(dir))?;
                CatalogScan::of(&path, &header)?
            }
        };
        Ok(Self {
            path,
            file,
            map,
            sync,
            capacity,
            alignment: scan.alignment,
            first_offset: scan.first_offset,
            next_recording_id: scan.next_recording_id,
            next_offset: scan.next_offset,
            index: scan.index,
        })
    }

    fn flush(&self) -> Result<()> {
        self.sync
            .sync(&self.file)
            .map_err(ArchiveStorageError::io(&self.path))
    }

    /// Path of the catalog file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Current capacity (file length) in bytes.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Entry alignment (64 for catalogs Aeron 1.54 creates).
    pub fn alignment(&self) -> usize {
        self.alignment
    }

    /// Id the next added recording gets.
    pub fn next_recording_id(&self) -> i64 {
        self.next_recording_id
    }

    /// Number of valid recordings.
    pub fn entry_count(&self) -> usize {
        self.index.len()
    }

    /// The file sync level of catalog writes.
    pub fn sync_level(&self) -> FileSyncLevel {
        self.sync
    }

    fn grow(&mut self, entry_length: usize) -> Result<()> {
        let target = (self.next_offset + entry_length) as u64;
        if target > MAX_CATALOG_CAPACITY {
            return Err(ArchiveStorageError::CatalogFull {
                needed: target,
                max: MAX_CATALOG_CAPACITY,
            });
        }
        let mut capacity = self.capacity;
        while capacity < target {
            capacity = (capacity + (capacity >> 1)).min(MAX_CATALOG_CAPACITY);
        }
        self.file
            .set_len(capacity)
            .map_err(ArchiveStorageError::io(&self.path))?;
        self.map = MappedFile::open(&self.path, capacity as usize)
            .map_err(ArchiveStorageError::io(&self.path))?;
        self.capacity = capacity;
        Ok(())
    }

    /// Adds an active recording (stop position and timestamp -1, state VALID) and returns its id.
    pub fn add_recording(&mut self, recording: &NewRecording<'_>) -> Result<i64> {
        let recording_id = self.next_recording_id;
        let descriptor = RecordingDescriptor {
            control_session_id: 0,
            correlation_id: 0,
            recording_id,
            start_timestamp: recording.start_timestamp,
            stop_timestamp: NULL_POSITION,
            start_position: recording.start_position,
            stop_position: NULL_POSITION,
            initial_term_id: recording.initial_term_id,
            segment_file_length: recording.segment_file_length,
            term_buffer_length: recording.term_buffer_length,
            mtu_length: recording.mtu_length,
            session_id: recording.session_id,
            stream_id: recording.stream_id,
            stripped_channel: recording.stripped_channel,
            original_channel: recording.original_channel,
            source_identity: recording.source_identity,
        };
        let entry_length = catalog_entry_length(&descriptor, self.alignment);
        if (self.next_offset + entry_length) as u64 > self.capacity {
            self.grow(entry_length)?;
        }
        let mut entry = vec![0u8; entry_length];
        CatalogEntry::encode(
            &descriptor,
            RecordingState::Valid,
            0,
            self.alignment,
            &mut entry,
        );
        let buffer = self.map.buffer();
        buffer.put_bytes(self.next_offset, &entry);
        buffer.put_i64_release(NEXT_RECORDING_ID_OFFSET, recording_id + 1);
        self.flush()?;
        self.index.push((recording_id, self.next_offset));
        self.next_offset += entry_length;
        self.next_recording_id = recording_id + 1;
        Ok(recording_id)
    }

    /// Replaces a recording's channels (Java's `replaceRecording`, behind UpdateChannel). A longer entry shifts
    /// the entries after it to the right; a shorter one keeps its old length, zero-padded.
    pub fn replace_channels(
        &mut self,
        recording_id: i64,
        stripped_channel: &str,
        original_channel: &str,
    ) -> Result<()> {
        let offset = self.offset_of(recording_id)?;
        let current = self.read_entry(offset)?;
        let old = current
            .descriptor()
            .map_err(|error| ArchiveStorageError::CorruptEntry {
                path: self.path.clone(),
                error: oxeron_protocol::archive::CatalogEntryError { offset, error },
            })?;
        let descriptor = RecordingDescriptor {
            stripped_channel,
            original_channel,
            ..old
        };
        let old_length = RECORDING_DESCRIPTOR_HEADER_LENGTH + current.header.length.max(0) as usize;
        let new_length = catalog_entry_length(&descriptor, self.alignment);
        let mut entry = vec![0u8; new_length.max(old_length)];
        CatalogEntry::encode(
            &descriptor,
            current.header.state,
            current.header.checksum,
            self.alignment,
            &mut entry,
        );
        if new_length > old_length {
            let shift = new_length - old_length;
            if (self.next_offset + shift) as u64 > self.capacity {
                self.grow(shift)?;
            }
            let tail = offset + old_length;
            let buffer = self.map.buffer();
            buffer.put_buffer(tail + shift, buffer, tail, self.next_offset - tail);
            for (_, entry_offset) in &mut self.index {
                if *entry_offset > offset {
                    *entry_offset += shift;
                }
            }
            self.next_offset += shift;
        } else {
            let length = i32::try_from(old_length - RECORDING_DESCRIPTOR_HEADER_LENGTH)
                .expect("an existing entry's length fits its header");
            entry[..4].copy_from_slice(&length.to_le_bytes());
        }
        self.map.buffer().put_bytes(offset, &entry);
        self.flush()
    }

    fn offset_of(&self, recording_id: i64) -> Result<usize> {
        self.index
            .binary_search_by_key(&recording_id, |&(id, _)| id)
            .map(|i| self.index[i].1)
            .map_err(|_| ArchiveStorageError::UnknownRecording(recording_id))
    }

    fn body_offset(&self, recording_id: i64) -> Result<usize> {
        Ok(self.offset_of(recording_id)? + RECORDING_DESCRIPTOR_HEADER_LENGTH)
    }

    /// Whether `recording_id` is a valid recording.
    pub fn has_recording(&self, recording_id: i64) -> bool {
        self.offset_of(recording_id).is_ok()
    }

    /// Records that a recording stopped at `position` at `timestamp_ms`.
    pub fn recording_stopped(
        &mut self,
        recording_id: i64,
        position: i64,
        timestamp_ms: i64,
    ) -> Result<()> {
        let body = self.body_offset(recording_id)?;
        let buffer = self.map.buffer();
        buffer.put_i64(body + STOP_TIMESTAMP_OFFSET, timestamp_ms);
        buffer.put_i64_release(body + STOP_POSITION_OFFSET, position);
        self.flush()
    }

    /// Updates the stop position only (e.g. after a truncation).
    pub fn set_stop_position(&mut self, recording_id: i64, position: i64) -> Result<()> {
        let body = self.body_offset(recording_id)?;
        self.map
            .buffer()
            .put_i64_release(body + STOP_POSITION_OFFSET, position);
        self.flush()
    }

    /// Updates the start position (e.g. after purging segments).
    pub fn set_start_position(&mut self, recording_id: i64, position: i64) -> Result<()> {
        let body = self.body_offset(recording_id)?;
        self.map
            .buffer()
            .put_i64(body + START_POSITION_OFFSET, position);
        self.flush()
    }

    /// Stop position of a valid recording (-1 while active).
    pub fn stop_position(&self, recording_id: i64) -> Result<i64> {
        let body = self.body_offset(recording_id)?;
        Ok(self
            .map
            .buffer()
            .get_i64_acquire(body + STOP_POSITION_OFFSET))
    }

    /// Start position of a valid recording.
    pub fn start_position(&self, recording_id: i64) -> Result<i64> {
        let body = self.body_offset(recording_id)?;
        Ok(self.map.buffer().get_i64(body + START_POSITION_OFFSET))
    }

    /// Sets a valid recording's state; a recording no longer VALID leaves the index (as in Aeron, it is no
    /// longer listed or found). Returns false for a recording that is not valid.
    pub fn change_state(&mut self, recording_id: i64, state: RecordingState) -> Result<bool> {
        let Ok(i) = self
            .index
            .binary_search_by_key(&recording_id, |&(id, _)| id)
        else {
            return Ok(false);
        };
        let offset = self.index[i].1;
        self.map
            .buffer()
            .put_i32(offset + STATE_OFFSET, state.value());
        if state != RecordingState::Valid {
            self.index.remove(i);
        }
        self.flush()?;
        Ok(true)
    }

    fn read_entry(&self, offset: usize) -> Result<CatalogRecording> {
        let buffer = self.map.buffer();
        let length = buffer.get_i32(offset);
        let corrupt = |error| ArchiveStorageError::CorruptEntry {
            path: self.path.clone(),
            error: oxeron_protocol::archive::CatalogEntryError { offset, error },
        };
        let total = usize::try_from(length)
            .ok()
            .map(|len| len + RECORDING_DESCRIPTOR_HEADER_LENGTH)
            .filter(|&total| offset + total <= buffer.capacity())
            .ok_or_else(|| {
                corrupt(DecodeError::BadLength {
                    what: "RecordingDescriptorHeader",
                    field: "length",
                    length: length.into(),
                })
            })?;
        CatalogRecording::decode(offset, &buffer.to_vec(offset, total)).map_err(corrupt)
    }

    /// A valid recording by id.
    pub fn recording(&self, recording_id: i64) -> Result<Option<CatalogRecording>> {
        match self.offset_of(recording_id) {
            Ok(offset) => self.read_entry(offset).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Every valid recording, in id order.
    pub fn list(&self) -> Result<Vec<CatalogRecording>> {
        self.index
            .iter()
            .map(|&(_, offset)| self.read_entry(offset))
            .collect()
    }

    /// Up to `count` valid recordings with ids from `from_recording_id` on.
    pub fn list_from(&self, from_recording_id: i64, count: usize) -> Result<Vec<CatalogRecording>> {
        let start = self
            .index
            .partition_point(|&(id, _)| id < from_recording_id);
        self.index[start..]
            .iter()
            .take(count)
            .map(|&(_, offset)| self.read_entry(offset))
            .collect()
    }

    /// Every entry in file order, whatever its state (what `ArchiveTool` would show).
    pub fn entries(&self) -> Result<Vec<CatalogRecording>> {
        let mut entries = Vec::new();
        let mut offset = self.first_offset;
        while offset < self.next_offset {
            let entry = self.read_entry(offset)?;
            offset = offset + RECORDING_DESCRIPTOR_HEADER_LENGTH + entry.header.length as usize;
            entries.push(entry);
        }
        Ok(entries)
    }

    /// The highest valid recording id at or above `min_recording_id` whose session id and stream id match
    /// and whose original channel contains `channel_fragment` (Aeron's `findLastMatchingRecording`).
    pub fn find_last(
        &self,
        min_recording_id: i64,
        session_id: i32,
        stream_id: i32,
        channel_fragment: &str,
    ) -> Result<Option<i64>> {
        if min_recording_id < 0 {
            return Ok(None);
        }
        for &(id, offset) in self.index.iter().rev() {
            if id < min_recording_id {
                break;
            }
            let entry = self.read_entry(offset)?;
            let d = entry
                .descriptor()
                .map_err(|error| ArchiveStorageError::Decode {
                    path: self.path.clone(),
                    error,
                })?;
            if d.session_id == session_id
                && d.stream_id == stream_id
                && d.original_channel.contains(channel_fragment)
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Crash recovery, as the Java archive does on start: every VALID recording with stop position -1 (it
    /// was active when the archive died) gets the end of the last complete frame in its highest segment
    /// file in `archive_dir` as stop position, and `now_ms` as stop timestamp. Returns the fixed
    /// recordings as (recording id, stop position).
    pub fn recover(
        &mut self,
        archive_dir: impl AsRef<Path>,
        now_ms: i64,
    ) -> Result<Vec<(i64, i64)>> {
        let dir = archive_dir.as_ref();
        let mut fixed = Vec::new();
        for &(id, offset) in &self.index {
            let entry = self.read_entry(offset)?;
            let d = entry
                .descriptor()
                .map_err(|error| ArchiveStorageError::Decode {
                    path: self.path.clone(),
                    error,
                })?;
            if d.stop_position != NULL_POSITION {
                continue;
            }
            let stop = compute_stop_position(
                dir,
                id,
                d.start_position,
                d.term_buffer_length,
                d.segment_file_length,
            )?;
            fixed.push((id, stop));
        }
        let buffer = self.map.buffer();
        for &(id, stop) in &fixed {
            let body = self.body_offset(id)?;
            buffer.put_i64(body + STOP_TIMESTAMP_OFFSET, now_ms);
            buffer.put_i64_release(body + STOP_POSITION_OFFSET, stop);
        }
        if !fixed.is_empty() {
            self.flush()?;
        }
        Ok(fixed)
    }

    /// Flushes the whole catalog (data and metadata), whatever the sync level, as Aeron does on close.
    pub fn force(&self) -> Result<()> {
        FileSyncLevel::DataAndMetadata
            .sync(&self.file)
            .map_err(ArchiveStorageError::io(&self.path))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn new_recording(channel: &str) -> NewRecording<'_> {
        NewRecording {
            start_position: 0,
            start_timestamp: 1_000,
            initial_term_id: 5,
            segment_file_length: 128 * 1024,
            term_buffer_length: 64 * 1024,
            mtu_length: 1408,
            session_id: 77,
            stream_id: 1001,
            stripped_channel: channel,
            original_channel: channel,
            source_identity: "aeron:ipc",
        }
    }

    #[test]
    fn replacing_channels_shifts_later_entries_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let long = format!(
            "aeron:udp?endpoint=localhost:5000|alias={}",
            "x".repeat(4000)
        );
        {
            let mut catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap();
            for _ in 0..3 {
                catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
            }
            catalog.change_state(2, RecordingState::Invalid).unwrap();
            catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
            catalog.set_stop_position(3, 4096).unwrap();
            // Longer: 1 and 3 move right (and the catalog grows past its 4 KiB).
            catalog
                .replace_channels(0, "aeron:udp?endpoint=localhost:5000", &long)
                .unwrap();
            assert!(catalog.capacity() > 4096);
            // Shorter: the entry keeps its room.
            catalog
                .replace_channels(1, "aeron:ipc", "aeron:ipc?x=1")
                .unwrap();
            assert!(matches!(
                catalog.replace_channels(2, "aeron:ipc", "aeron:ipc"),
                Err(ArchiveStorageError::UnknownRecording(2))
            ));
        }
        let catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap();
        let ids: Vec<i64> = catalog
            .list()
            .unwrap()
            .iter()
            .map(|r| r.recording_id())
            .collect();
        assert_eq!(ids, [0, 1, 3]);
        let first = catalog.recording(0).unwrap().unwrap();
        let d = first.descriptor().unwrap();
        assert_eq!(d.original_channel, long);
        assert_eq!(d.stripped_channel, "aeron:udp?endpoint=localhost:5000");
        let second = catalog.recording(1).unwrap().unwrap();
        assert_eq!(
            second.descriptor().unwrap().original_channel,
            "aeron:ipc?x=1"
        );
        let last = catalog.recording(3).unwrap().unwrap();
        assert_eq!(last.descriptor().unwrap().stop_position, 4096);
        assert_eq!(last.descriptor().unwrap().original_channel, "aeron:ipc");
        assert_eq!(catalog.next_recording_id(), 4);
    }

    #[test]
    fn written_catalog_round_trips_at_every_sync_level() {
        for level in 0..=2 {
            let sync = FileSyncLevel::from_level(level).unwrap();
            assert_eq!(sync.level(), level);
            let dir = tempfile::tempdir().unwrap();
            {
                let mut catalog =
                    Catalog::open(dir.path(), DEFAULT_CATALOG_CAPACITY, sync).unwrap();
                assert_eq!(catalog.sync_level(), sync);
                assert_eq!(
                    catalog.add_recording(&new_recording("aeron:ipc")).unwrap(),
                    0
                );
                let udp = NewRecording {
                    original_channel: "aeron:udp?endpoint=localhost:5000|term-length=64k",
                    session_id: 78,
                    ..new_recording("aeron:udp?endpoint=localhost:5000")
                };
                assert_eq!(catalog.add_recording(&udp).unwrap(), 1);
                catalog.recording_stopped(0, 4096, 2_000).unwrap();
                catalog.set_start_position(1, 64).unwrap();
                catalog.set_stop_position(1, 128).unwrap();
                catalog.force().unwrap();
            }
            let bytes = std::fs::read(dir.path().join(CATALOG_FILE_NAME)).unwrap();
            assert_eq!(bytes.len() as u64, DEFAULT_CATALOG_CAPACITY);
            assert_eq!(le::get_i32(&bytes, 0), 196_864);
            assert_eq!(le::get_i64(&bytes, 8), 2);
            assert_eq!(le::get_i32(&bytes, 16), 64);
            let catalog = Catalog::open(dir.path(), DEFAULT_CATALOG_CAPACITY, sync).unwrap();
            assert_eq!(catalog.next_recording_id(), 2);
            let list = catalog.list().unwrap();
            assert_eq!(list.len(), 2);
            let d0 = list[0].descriptor().unwrap();
            assert_eq!(
                (d0.recording_id, d0.stop_position, d0.stop_timestamp),
                (0, 4096, 2_000)
            );
            assert_eq!(d0.stripped_channel, "aeron:ipc");
            assert_eq!(list[0].header.length, 160);
            let d1 = list[1].descriptor().unwrap();
            assert_eq!(
                (d1.start_position, d1.stop_position, d1.stop_timestamp),
                (64, 128, -1)
            );
            assert_eq!(d1.session_id, 78);
            assert_eq!(list[1].offset, 32 + 192);
            assert_eq!(catalog.start_position(1).unwrap(), 64);
            assert_eq!(
                catalog.find_last(0, 78, 1001, "term-length=64k").unwrap(),
                Some(1)
            );
            assert_eq!(catalog.find_last(0, 77, 1001, "").unwrap(), Some(0));
            assert_eq!(catalog.find_last(-1, 77, 1001, "").unwrap(), None);
            assert_eq!(catalog.list_from(1, 10).unwrap().len(), 1);
        }
        assert_eq!(FileSyncLevel::from_level(3), None);
    }

    #[test]
    fn grows_like_java_when_full() {
        let dir = tempfile::tempdir().unwrap();
        let mut catalog = Catalog::open(dir.path(), 256, FileSyncLevel::None).unwrap();
        assert_eq!(catalog.capacity(), 256);
        catalog.add_recording(&new_recording("aeron:ipc")).unwrap(); // 32 + 192 = 224
        assert_eq!(catalog.capacity(), 256);
        catalog.add_recording(&new_recording("aeron:ipc")).unwrap(); // needs 416: 256 -> 384 -> 576
        assert_eq!(catalog.capacity(), 576);
        for _ in 0..20 {
            catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
        }
        assert_eq!(catalog.list().unwrap().len(), 22);
        let capacity = catalog.capacity();
        drop(catalog);
        assert_eq!(
            std::fs::metadata(dir.path().join(CATALOG_FILE_NAME))
                .unwrap()
                .len(),
            capacity
        );
        // Reopened with a smaller configured capacity: the file's length wins.
        let catalog = Catalog::open(dir.path(), 64, FileSyncLevel::None).unwrap();
        assert_eq!(catalog.capacity(), capacity);
        assert_eq!(catalog.entry_count(), 22);
        assert!(Catalog::open(dir.path(), 8, FileSyncLevel::None).is_err());
    }

    #[test]
    fn state_changes_leave_the_index_but_stay_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::Data).unwrap();
        for _ in 0..3 {
            catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
        }
        assert!(catalog.change_state(1, RecordingState::Invalid).unwrap());
        assert!(!catalog.change_state(1, RecordingState::Deleted).unwrap());
        assert!(catalog.change_state(2, RecordingState::Deleted).unwrap());
        assert!(!catalog.has_recording(1));
        assert!(matches!(
            catalog.stop_position(1),
            Err(ArchiveStorageError::UnknownRecording(1))
        ));
        drop(catalog);
        let mut catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap();
        assert_eq!(catalog.list().unwrap().len(), 1);
        let states: Vec<_> = catalog
            .entries()
            .unwrap()
            .iter()
            .map(|e| e.state())
            .collect();
        assert_eq!(
            states,
            [
                RecordingState::Valid,
                RecordingState::Invalid,
                RecordingState::Deleted
            ]
        );
        // Ids keep counting after the invalidated ones.
        assert_eq!(
            catalog.add_recording(&new_recording("aeron:ipc")).unwrap(),
            3
        );
    }

    /// A catalog file holding recordings 0 and 1: its directory, path and bytes.
    fn catalog_of_two_recordings() -> (tempfile::TempDir, PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap();
            catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
            catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
        }
        let path = dir.path().join(CATALOG_FILE_NAME);
        let good = std::fs::read(&path).unwrap();
        (dir, path, good)
    }

    #[test]
    fn corrupt_catalogs_give_typed_errors() {
        let (dir, path, good) = catalog_of_two_recordings();
        let open_with = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            Catalog::open(dir.path(), MIN_CATALOG_CAPACITY, FileSyncLevel::None)
        };
        let mut bad = good.clone();
        le::put_i32(&mut bad, 0, oxeron_protocol::semantic_version(2, 0, 0));
        assert!(matches!(
            open_with(&bad),
            Err(ArchiveStorageError::IncompatibleVersion { .. })
        ));
        let mut bad = good.clone();
        le::put_i32(&mut bad, 16, 48);
        assert!(matches!(
            open_with(&bad),
            Err(ArchiveStorageError::InvalidCatalog {
                field: "alignment",
                ..
            })
        ));
        let mut bad = good.clone();
        le::put_i32(&mut bad, 32, 100_000);
        assert!(matches!(
            open_with(&bad),
            Err(ArchiveStorageError::CorruptEntry { .. })
        ));
        let mut bad = good.clone();
        le::put_u32(&mut bad, 32 + 32 + 80, 5000);
        assert!(matches!(
            open_with(&bad),
            Err(ArchiveStorageError::CorruptEntry { .. })
        ));
        let mut bad = good.clone();
        le::put_i64(&mut bad, 8, 1);
        assert!(matches!(
            open_with(&bad),
            Err(ArchiveStorageError::InvalidCatalog {
                field: "nextRecordingId",
                value: 1,
                ..
            })
        ));
        let mut bad = good.clone();
        le::put_i64(&mut bad, 224 + 32 + 16, 0);
        assert!(matches!(
            open_with(&bad),
            Err(ArchiveStorageError::InvalidCatalog {
                field: "recordingId",
                ..
            })
        ));
        assert!(matches!(
            open_with(&good[..20]),
            Err(ArchiveStorageError::Decode { .. })
        ));
        assert!(open_with(&good).is_ok());
    }

    #[test]
    fn a_truncated_catalog_is_refused_and_left_as_it_was() {
        let (dir, path, good) = catalog_of_two_recordings();
        // Cut inside recording 0's body, and inside recording 1's descriptor header.
        for cut in [100, 224 + 20] {
            std::fs::write(&path, &good[..cut]).unwrap();
            let error = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap_err();
            let text = error.to_string();
            assert!(
                matches!(&error, ArchiveStorageError::CorruptEntry { error, .. }
                    if error.offset == if cut == 100 { 32 } else { 224 }),
                "cut at {cut}: {text}"
            );
            assert!(text.contains(CATALOG_FILE_NAME), "{text}");
            assert_eq!(std::fs::read(&path).unwrap(), &good[..cut], "cut at {cut}");
        }
    }

    #[test]
    fn entries_out_of_bounds_are_refused_with_their_offset() {
        let dir = tempfile::tempdir().unwrap();
        let entry = {
            let mut catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap();
            catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
            let id = catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
            catalog.recording(id).unwrap().unwrap().offset
        };
        let path = dir.path().join(CATALOG_FILE_NAME);
        let good = std::fs::read(&path).unwrap();
        let body = entry + RECORDING_DESCRIPTOR_HEADER_LENGTH;
        let cases: [(usize, i64, &str); 5] = [
            (START_POSITION_OFFSET, 33, "startPosition"),
            (STOP_POSITION_OFFSET, -64, "stopPosition"),
            (64, 1000, "termBufferLength"),
            (60, 4096, "segmentFileLength"),
            (68, 1400, "mtuLength"),
        ];
        for (field_offset, value, field) in cases {
            let mut bad = good.clone();
            if field_offset >= 60 {
                le::put_i32(&mut bad, body + field_offset, value as i32);
            } else {
                le::put_i64(&mut bad, body + field_offset, value);
            }
            std::fs::write(&path, &bad).unwrap();
            let error = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap_err();
            assert!(
                matches!(&error, ArchiveStorageError::InvalidCatalog { offset, field: f, .. }
                    if *offset == entry && *f == field),
                "{field}: {error}"
            );
            assert_eq!(std::fs::read(&path).unwrap(), bad);
        }
    }

    #[test]
    fn recovery_without_segments_uses_the_start_position() {
        let dir = tempfile::tempdir().unwrap();
        let mut catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap();
        let id = catalog
            .add_recording(&NewRecording {
                start_position: 4096,
                ..new_recording("aeron:ipc")
            })
            .unwrap();
        assert_eq!(catalog.recover(dir.path(), 9).unwrap(), [(id, 4096)]);
        let d = catalog.recording(id).unwrap().unwrap();
        assert_eq!(d.descriptor().unwrap().stop_timestamp, 9);
    }

    #[test]
    fn recovery_refuses_a_torn_fragment_across_pages() {
        let dir = tempfile::tempdir().unwrap();
        let mut catalog = Catalog::open(dir.path(), 4096, FileSyncLevel::None).unwrap();
        let id = catalog.add_recording(&new_recording("aeron:ipc")).unwrap();
        // One frame of 4032 bytes at 0, then a 1408-byte frame at 4032 crossing the 4096 page boundary.
        let mut segment = vec![0u8; 128 * 1024];
        le::put_i32(&mut segment, 0, 4032);
        le::put_i32(&mut segment, 4032, 1408);
        segment[4032 + 32..4096].fill(7);
        let path = dir.path().join("0-0.rec");
        std::fs::write(&path, &segment).unwrap();
        assert!(matches!(
            catalog.recover(dir.path(), 1),
            Err(ArchiveStorageError::IncompleteFragment { offset: 4032, .. })
        ));
        // With data in the page after the straddle the fragment counts as complete.
        segment[4096..4032 + 1408].fill(9);
        std::fs::write(&path, &segment).unwrap();
        assert_eq!(catalog.recover(dir.path(), 1).unwrap(), [(id, 4032 + 1408)]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn arbitrary_catalog_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            prefix in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut file = bytes.clone();
            if prefix && file.len() >= 32 {
                CatalogHeader::new(0, 64).encode_body(&mut file);
            }
            std::fs::write(dir.path().join(CATALOG_FILE_NAME), &file).unwrap();
            if let Ok(mut catalog) = Catalog::open(dir.path(), MIN_CATALOG_CAPACITY, FileSyncLevel::None) {
                let _ = catalog.list();
                let _ = catalog.entries();
                let _ = catalog.find_last(0, 0, 0, "x");
                let _ = catalog.recover(dir.path(), 0);
            }
        }
    }
}
