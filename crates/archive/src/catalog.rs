//! The archive catalog `archive.catalog`: a memory-mapped file with Aeron's layout (see
//! [`oxeron_protocol::archive::catalog`]), an index of valid recordings, in-place updates and crash recovery.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use oxeron_concurrent::mapped_file::MappedFile;
use oxeron_protocol::archive::catalog::{
    DESCRIPTOR_CHECKSUM_OFFSET, DESCRIPTOR_STATE_OFFSET, LEGACY_CATALOG_ALIGNMENT,
    START_POSITION_OFFSET, STOP_POSITION_OFFSET, STOP_TIMESTAMP_OFFSET,
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

use crate::checksum::Checksum;
use crate::error::{ArchiveStorageError, Result};
use crate::FileSyncLevel;

mod recovery;
pub use recovery::{compute_stop_position, highest_segment_base};

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
    /// Checksum kept in each descriptor's header as its body changes (Aeron's record checksum).
    checksum: Option<Checksum>,
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
            checksum: None,
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
        self.update_checksum(self.next_offset);
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
        self.update_checksum(offset);
        self.flush()
    }

    /// Keeps each descriptor's header checksum from now on (Aeron's record checksum), as the Java archive
    /// does when `aeron.archive.record.checksum` is set. Entries already there keep theirs until they change.
    pub fn set_checksum(&mut self, checksum: Option<Checksum>) {
        self.checksum = checksum;
    }

    /// Rewrites the header checksum of the entry at `offset` from its body, when a checksum is kept.
    fn update_checksum(&self, offset: usize) {
        if let Some(checksum) = self.checksum {
            let buffer = self.map.buffer();
            let length = buffer.get_i32(offset).max(0) as usize;
            let body = buffer.to_vec(offset + RECORDING_DESCRIPTOR_HEADER_LENGTH, length);
            buffer.put_i32(offset + DESCRIPTOR_CHECKSUM_OFFSET, checksum.compute(&body));
        }
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
        self.update_checksum(body - RECORDING_DESCRIPTOR_HEADER_LENGTH);
        self.flush()
    }

    /// Updates the stop position only (e.g. after a truncation).
    pub fn set_stop_position(&mut self, recording_id: i64, position: i64) -> Result<()> {
        let body = self.body_offset(recording_id)?;
        self.map
            .buffer()
            .put_i64_release(body + STOP_POSITION_OFFSET, position);
        self.update_checksum(body - RECORDING_DESCRIPTOR_HEADER_LENGTH);
        self.flush()
    }

    /// Updates the start position (e.g. after purging segments).
    pub fn set_start_position(&mut self, recording_id: i64, position: i64) -> Result<()> {
        let body = self.body_offset(recording_id)?;
        self.map
            .buffer()
            .put_i64(body + START_POSITION_OFFSET, position);
        self.update_checksum(body - RECORDING_DESCRIPTOR_HEADER_LENGTH);
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
            .put_i32(offset + DESCRIPTOR_STATE_OFFSET, state.value());
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
            self.update_checksum(body - RECORDING_DESCRIPTOR_HEADER_LENGTH);
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

#[cfg(test)]
mod tests;
