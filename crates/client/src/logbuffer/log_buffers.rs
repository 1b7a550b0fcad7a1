use std::io;
use std::path::Path;

use oxeron_concurrent::{AtomicBuffer, MappedFile};
use oxeron_protocol::logbuffer::{
    check_page_size, check_term_length, compute_log_length, index_by_term_count, pack_tail,
    LogBufferError, LogBufferMetadata, DATA_HEADER_LENGTH, LOG_ACTIVE_TERM_COUNT_OFFSET,
    LOG_ACTIVE_TRANSPORT_COUNT_OFFSET, LOG_CORRELATION_ID_OFFSET, LOG_DEFAULT_FRAME_HEADER_OFFSET,
    LOG_END_OF_STREAM_POSITION_OFFSET, LOG_INITIAL_TERM_ID_OFFSET, LOG_IS_CONNECTED_OFFSET,
    LOG_IS_PUBLICATION_REVOKED_OFFSET, LOG_META_DATA_LENGTH, LOG_MTU_LENGTH_OFFSET,
    LOG_PAGE_SIZE_OFFSET, LOG_TERM_LENGTH_OFFSET, PARTITION_COUNT, TERM_TAIL_COUNTERS_OFFSET,
};

/// A log buffer file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LogBuffersError {
    /// The file could not be created, opened or mapped.
    #[error("log buffer {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: io::Error,
    },
    /// The metadata holds a term length or page size Aeron would refuse, or the file length disagrees.
    #[error("log buffer {path}: {source}")]
    Layout {
        /// The file.
        path: String,
        /// What is wrong.
        source: LogBufferError,
    },
}

/// The metadata section of a log buffer (the last 4096 bytes of the file).
#[derive(Debug, Clone)]
pub struct LogMetadata {
    buffer: AtomicBuffer,
}

impl LogMetadata {
    /// Wraps a 4096-byte metadata buffer.
    pub fn new(buffer: AtomicBuffer) -> Self {
        LogMetadata { buffer }
    }

    /// The underlying buffer.
    pub fn buffer(&self) -> &AtomicBuffer {
        &self.buffer
    }

    /// Offset of partition `index`'s tail counter inside the metadata.
    pub fn tail_counter_offset(index: usize) -> usize {
        TERM_TAIL_COUNTERS_OFFSET + index * 8
    }

    /// Raw tail of partition `index` (acquire).
    #[inline]
    pub fn raw_tail(&self, index: usize) -> i64 {
        self.buffer
            .get_i64_acquire(Self::tail_counter_offset(index))
    }

    /// Stores the raw tail of partition `index` (release).
    #[inline]
    pub fn set_raw_tail(&self, index: usize, raw_tail: i64) {
        self.buffer
            .put_i64_release(Self::tail_counter_offset(index), raw_tail)
    }

    /// Terms since the initial term (acquire).
    #[inline]
    pub fn active_term_count(&self) -> i32 {
        self.buffer.get_i32_acquire(LOG_ACTIVE_TERM_COUNT_OFFSET)
    }

    /// Stores the active term count (release).
    #[inline]
    pub fn set_active_term_count(&self, term_count: i32) {
        self.buffer
            .put_i32_release(LOG_ACTIVE_TERM_COUNT_OFFSET, term_count)
    }

    /// Raw tail of the active partition.
    #[inline]
    pub fn active_raw_tail(&self) -> i64 {
        self.raw_tail(index_by_term_count(self.active_term_count()))
    }

    /// Moves the log to the term after `term_id` (term count `term_count`): resets the next partition's tail
    /// unless another publisher already did, then advances the active term count. True if this call advanced it.
    pub fn rotate_log(&self, term_count: i32, term_id: i32) -> bool {
        let next_term_id = term_id.wrapping_add(1);
        let next_term_count = term_count.wrapping_add(1);
        let next_index = index_by_term_count(next_term_count);
        let expected_term_id = next_term_id.wrapping_sub(PARTITION_COUNT as i32);
        let offset = Self::tail_counter_offset(next_index);
        loop {
            let raw_tail = self.buffer.get_i64_volatile(offset);
            if oxeron_protocol::logbuffer::term_id(raw_tail) != expected_term_id {
                break;
            }
            if self
                .buffer
                .compare_and_set_i64(offset, raw_tail, pack_tail(next_term_id, 0))
            {
                break;
            }
        }
        self.buffer
            .compare_and_set_i32(LOG_ACTIVE_TERM_COUNT_OFFSET, term_count, next_term_count)
    }

    /// Initial term id of the stream.
    pub fn initial_term_id(&self) -> i32 {
        self.buffer.get_i32(LOG_INITIAL_TERM_ID_OFFSET)
    }

    /// MTU of the stream.
    pub fn mtu_length(&self) -> i32 {
        self.buffer.get_i32(LOG_MTU_LENGTH_OFFSET)
    }

    /// Term length.
    pub fn term_length(&self) -> i32 {
        self.buffer.get_i32(LOG_TERM_LENGTH_OFFSET)
    }

    /// Page size the file was laid out with.
    pub fn page_size(&self) -> i32 {
        self.buffer.get_i32(LOG_PAGE_SIZE_OFFSET)
    }

    /// Registration id of the publication, or correlation id of the image.
    pub fn correlation_id(&self) -> i64 {
        self.buffer.get_i64(LOG_CORRELATION_ID_OFFSET)
    }

    /// True while the driver sees at least one subscriber or receiver.
    #[inline]
    pub fn is_connected(&self) -> bool {
        self.buffer.get_i32_acquire(LOG_IS_CONNECTED_OFFSET) == 1
    }

    /// Driver side: publishes whether the log is connected.
    pub fn set_is_connected(&self, connected: bool) {
        self.buffer
            .put_i32_release(LOG_IS_CONNECTED_OFFSET, i32::from(connected))
    }

    /// Position at which the stream ends (`i64::MAX` while open).
    #[inline]
    pub fn end_of_stream_position(&self) -> i64 {
        self.buffer
            .get_i64_acquire(LOG_END_OF_STREAM_POSITION_OFFSET)
    }

    /// Driver side: records where the stream ends.
    pub fn set_end_of_stream_position(&self, position: i64) {
        self.buffer
            .put_i64_release(LOG_END_OF_STREAM_POSITION_OFFSET, position)
    }

    /// Transports (MDS destinations, or the one socket) a network image heard from within its liveness
    /// timeout; the driver keeps it up to date.
    pub fn active_transport_count(&self) -> i32 {
        self.buffer
            .get_i32_acquire(LOG_ACTIVE_TRANSPORT_COUNT_OFFSET)
    }

    /// Sets the active transport count (driver side).
    pub fn set_active_transport_count(&self, count: i32) {
        self.buffer
            .put_i32_release(LOG_ACTIVE_TRANSPORT_COUNT_OFFSET, count);
    }

    /// True once the publication was revoked.
    pub fn is_publication_revoked(&self) -> bool {
        self.buffer.get_u8(LOG_IS_PUBLICATION_REVOKED_OFFSET) != 0
    }

    /// The 32-byte default DATA header template the driver wrote.
    pub fn default_frame_header(&self) -> [u8; DATA_HEADER_LENGTH] {
        let mut header = [0u8; DATA_HEADER_LENGTH];
        self.buffer
            .get_bytes(LOG_DEFAULT_FRAME_HEADER_OFFSET, &mut header);
        header
    }
}

/// A mapped log buffer file: three term partitions and the metadata section.
#[derive(Debug)]
pub struct LogBuffers {
    file: MappedFile,
    terms: [AtomicBuffer; PARTITION_COUNT],
    metadata: LogMetadata,
    term_length: i32,
}

/// The sparse flag in a log file's metadata (true for a file too short to have one: it is mapped plainly and
/// rejected by the layout checks).
fn is_sparse(path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(path)?;
    let length = file.metadata()?.len();
    let Some(metadata) = length.checked_sub(LOG_META_DATA_LENGTH as u64) else {
        return Ok(true);
    };
    let mut flag = [0u8; 1];
    file.read_exact_at(
        &mut flag,
        metadata + oxeron_protocol::logbuffer::LOG_SPARSE_OFFSET as u64,
    )?;
    Ok(flag[0] != 0)
}

impl LogBuffers {
    /// Maps an existing log buffer file and checks its layout against its metadata. A log that is not
    /// sparse (the driver reserved and touched every page) is mapped with all its pages up front, so that
    /// offers and polls never stop on a page fault (they made the latency tail: p99 23 us instead of 1 us).
    pub fn map(path: impl AsRef<Path>) -> Result<Self, LogBuffersError> {
        let path = path.as_ref();
        let io = |source| LogBuffersError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = if is_sparse(path).map_err(io)? {
            MappedFile::open(path, LOG_META_DATA_LENGTH)
        } else {
            MappedFile::open_populated(path, LOG_META_DATA_LENGTH)
        }
        .map_err(io)?;
        Self::from_file(file)
    }

    /// Maps a log buffer file privately (copy-on-write), for inspecting captured or read-only files.
    pub fn map_private(path: impl AsRef<Path>) -> Result<Self, LogBuffersError> {
        let path = path.as_ref();
        let file = MappedFile::open_private(path, LOG_META_DATA_LENGTH).map_err(|source| {
            LogBuffersError::Io {
                path: path.display().to_string(),
                source,
            }
        })?;
        Self::from_file(file)
    }

    /// Creates a zeroed log buffer file for `term_length` and `page_size`, writing those two into the metadata.
    /// The driver fills the rest of the metadata.
    pub fn create(
        path: impl AsRef<Path>,
        term_length: i32,
        page_size: i32,
    ) -> Result<Self, LogBuffersError> {
        Self::create_file(path, term_length, page_size, true)
    }

    fn create_file(
        path: impl AsRef<Path>,
        term_length: i32,
        page_size: i32,
        sparse: bool,
    ) -> Result<Self, LogBuffersError> {
        let path = path.as_ref();
        let layout = |source| LogBuffersError::Layout {
            path: path.display().to_string(),
            source,
        };
        check_term_length(term_length.into()).map_err(layout)?;
        check_page_size(page_size.into()).map_err(layout)?;
        let length = compute_log_length(term_length, page_size) as usize;
        let created = if sparse {
            MappedFile::create(path, length)
        } else {
            MappedFile::create_allocated(path, length)
        };
        let file = created.map_err(|source| LogBuffersError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let meta_offset = length - LOG_META_DATA_LENGTH;
        file.buffer()
            .put_i32(meta_offset + LOG_TERM_LENGTH_OFFSET, term_length);
        file.buffer()
            .put_i32(meta_offset + LOG_PAGE_SIZE_OFFSET, page_size);
        Self::from_file(file)
    }

    /// Creates a log buffer file laid out for `metadata.term_length` and `metadata.page_size` and writes the
    /// whole metadata section (the driver's way to create publication and image logs). The file is sparse
    /// when `metadata.sparse` says so, otherwise every page is reserved up front.
    pub fn create_with_metadata(
        path: impl AsRef<Path>,
        metadata: &LogBufferMetadata,
    ) -> Result<Self, LogBuffersError> {
        let log = Self::create_file(
            path,
            metadata.term_length,
            metadata.page_size,
            metadata.sparse,
        )?;
        let mut bytes = vec![0u8; LOG_META_DATA_LENGTH];
        metadata.encode(&mut bytes);
        log.metadata.buffer().put_bytes(0, &bytes);
        Ok(log)
    }

    fn from_file(file: MappedFile) -> Result<Self, LogBuffersError> {
        let path = file.path().display().to_string();
        let layout = |source| LogBuffersError::Layout {
            path: path.clone(),
            source,
        };
        let length = file.len();
        let meta_offset = length - LOG_META_DATA_LENGTH;
        let buffer = file.buffer();
        let term_length = buffer.get_i32(meta_offset + LOG_TERM_LENGTH_OFFSET);
        let page_size = buffer.get_i32(meta_offset + LOG_PAGE_SIZE_OFFSET);
        check_term_length(term_length.into()).map_err(layout)?;
        check_page_size(page_size.into()).map_err(layout)?;
        let expected = compute_log_length(term_length, page_size);
        if expected != length as u64 {
            return Err(layout(LogBufferError::LogLengthMismatch {
                expected,
                actual: length as u64,
            }));
        }
        let term = |i: usize| {
            buffer
                .view(i * term_length as usize, term_length as usize)
                .expect("terms lie inside a file whose length was checked")
        };
        let terms = [term(0), term(1), term(2)];
        let metadata = LogMetadata::new(
            buffer
                .view(meta_offset, LOG_META_DATA_LENGTH)
                .expect("metadata lies inside the file"),
        );
        Ok(LogBuffers {
            file,
            terms,
            metadata,
            term_length,
        })
    }

    /// Term partition `index` (0, 1 or 2).
    #[inline]
    pub fn term(&self, index: usize) -> &AtomicBuffer {
        &self.terms[index]
    }

    /// All three term partitions.
    pub fn terms(&self) -> &[AtomicBuffer; PARTITION_COUNT] {
        &self.terms
    }

    /// The metadata section.
    #[inline]
    pub fn metadata(&self) -> &LogMetadata {
        &self.metadata
    }

    /// Term length.
    pub fn term_length(&self) -> i32 {
        self.term_length
    }

    /// The mapped file.
    pub fn file(&self) -> &MappedFile {
        &self.file
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_then_map_sees_the_same_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("publications/1.logbuffer");
        let created = LogBuffers::create(&path, 64 * 1024, 4096).unwrap();
        created.metadata().set_raw_tail(0, pack_tail(5, 96));
        let mapped = LogBuffers::map(&path).unwrap();
        assert_eq!(mapped.term_length(), 64 * 1024);
        assert_eq!(mapped.file().len(), 3 * 64 * 1024 + 4096);
        assert_eq!(mapped.metadata().raw_tail(0), pack_tail(5, 96));
    }

    #[test]
    fn bad_metadata_is_a_layout_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.logbuffer");
        std::fs::write(&path, vec![0u8; 3 * 65536 + 4096]).unwrap();
        let err = LogBuffers::map(&path).unwrap_err();
        assert!(matches!(err, LogBuffersError::Layout { .. }), "{err}");
        let err = LogBuffers::create(&path, 1000, 4096).unwrap_err();
        assert!(err.to_string().contains("term length"), "{err}");
    }

    #[test]
    fn rotation_resets_next_tail_and_advances_term_count() {
        let buffer = AtomicBuffer::new_zeroed(LOG_META_DATA_LENGTH);
        let meta = LogMetadata::new(buffer);
        meta.set_raw_tail(0, pack_tail(7, 65536));
        meta.set_raw_tail(1, pack_tail(5, 0));
        meta.set_raw_tail(2, pack_tail(6, 0));
        assert!(meta.rotate_log(0, 7));
        assert_eq!(meta.active_term_count(), 1);
        assert_eq!(meta.raw_tail(1), pack_tail(8, 0));
        assert!(
            !meta.rotate_log(0, 7),
            "a second rotation from the same term loses the race"
        );
    }
}
