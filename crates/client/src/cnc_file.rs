//! The driver's `cnc.dat`: header, command ring buffer, broadcast buffer, counters and error log, mapped.

use std::io;
use std::path::{Path, PathBuf};

use oxeron_concurrent::{AtomicBuffer, MappedFile};
use oxeron_protocol::cnc::{
    check_cnc_version, CncHeader, CncLayout, CncVersionError, CNC_FILE, CNC_HEADER_LENGTH,
    CNC_VERSION, CNC_VERSION_FIELD_OFFSET,
};
use oxeron_protocol::DecodeError;

/// A `cnc.dat` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CncError {
    /// The file could not be created, opened or mapped.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The driver has not finished writing the file yet (version 0).
    #[error("{path}: CnC file not ready (driver still starting)")]
    NotReady {
        /// The file.
        path: PathBuf,
    },
    /// A driver speaking another major version of the CnC layout.
    #[error("{path}: {source}")]
    Version {
        /// The file.
        path: PathBuf,
        /// The version mismatch.
        source: CncVersionError,
    },
    /// A header whose lengths do not describe a usable layout, or a file shorter than they say.
    #[error("{path}: {source}")]
    Layout {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: DecodeError,
    },
}

/// Section lengths and header values for a new `cnc.dat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CncSpec {
    /// To-driver ring buffer length, trailer included.
    pub to_driver_buffer_length: usize,
    /// To-clients broadcast buffer length, trailer included.
    pub to_clients_buffer_length: usize,
    /// Counters values section length (metadata is four times this).
    pub counters_values_buffer_length: usize,
    /// Distinct error log length.
    pub error_log_buffer_length: usize,
    /// The driver's client liveness timeout, in nanoseconds.
    pub client_liveness_timeout_ns: i64,
    /// Driver start time, epoch milliseconds.
    pub start_timestamp_ms: i64,
    /// Driver process id.
    pub pid: i64,
    /// Page size the file is rounded up to.
    pub file_page_size: usize,
}

/// A mapped `cnc.dat` with a view of each section.
#[derive(Debug)]
pub struct CncFile {
    file: MappedFile,
    header: CncHeader,
    layout: CncLayout,
    to_driver: AtomicBuffer,
    to_clients: AtomicBuffer,
    counters_metadata: AtomicBuffer,
    counters_values: AtomicBuffer,
    error_log: AtomicBuffer,
}

impl CncFile {
    /// Path of `cnc.dat` in an Aeron directory.
    pub fn path_in(aeron_dir: &Path) -> PathBuf {
        aeron_dir.join(CNC_FILE)
    }

    /// Creates `cnc.dat` in `aeron_dir` with the header written and the version left at 0 (not ready). The
    /// driver initialises the sections, then calls [`CncFile::signal_ready`].
    pub fn create(aeron_dir: &Path, spec: &CncSpec) -> Result<Self, CncError> {
        let path = Self::path_in(aeron_dir);
        let layout_error = |source| CncError::Layout {
            path: path.clone(),
            source,
        };
        let as_i32 = |v: usize, field: &'static str| {
            i32::try_from(v).map_err(|_| DecodeError::InvalidValue {
                what: "cnc header",
                field,
                value: v as i64,
            })
        };
        let header = CncHeader {
            cnc_version: 0,
            to_driver_buffer_length: as_i32(
                spec.to_driver_buffer_length,
                "to_driver_buffer_length",
            )
            .map_err(layout_error)?,
            to_clients_buffer_length: as_i32(
                spec.to_clients_buffer_length,
                "to_clients_buffer_length",
            )
            .map_err(layout_error)?,
            counters_metadata_buffer_length: as_i32(
                spec.counters_values_buffer_length * 4,
                "counters_metadata_buffer_length",
            )
            .map_err(layout_error)?,
            counters_values_buffer_length: as_i32(
                spec.counters_values_buffer_length,
                "counters_values_buffer_length",
            )
            .map_err(layout_error)?,
            error_log_buffer_length: as_i32(
                spec.error_log_buffer_length,
                "error_log_buffer_length",
            )
            .map_err(layout_error)?,
            client_liveness_timeout_ns: spec.client_liveness_timeout_ns,
            start_timestamp_ms: spec.start_timestamp_ms,
            pid: spec.pid,
            file_page_size: as_i32(spec.file_page_size, "file_page_size").map_err(layout_error)?,
        };
        let layout = header.layout().map_err(layout_error)?;
        let file =
            // Every page reserved up front, as Java and C fill the file with zeros: a driver or client never
            // takes SIGBUS from a full /dev/shm on a later first write.
            MappedFile::create_allocated(&path, layout.file_length).map_err(|source| CncError::Io {
                path: path.clone(),
                source,
            })?;
        let mut bytes = [0u8; CNC_HEADER_LENGTH];
        header.encode(&mut bytes);
        file.buffer().put_bytes(0, &bytes);
        Self::from_parts(file, header, layout, &path)
    }

    /// Maps the `cnc.dat` of a running driver in `aeron_dir`, read-write (clients write commands into it).
    pub fn map(aeron_dir: &Path) -> Result<Self, CncError> {
        let path = Self::path_in(aeron_dir);
        let file = MappedFile::open(&path, CNC_HEADER_LENGTH).map_err(|source| CncError::Io {
            path: path.clone(),
            source,
        })?;
        Self::from_file(file, &path)
    }

    /// Maps a `cnc.dat` file privately (copy-on-write), for tools that only read it and for captured files.
    pub fn map_private(path: &Path) -> Result<Self, CncError> {
        let file =
            MappedFile::open_private(path, CNC_HEADER_LENGTH).map_err(|source| CncError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Self::from_file(file, path)
    }

    fn from_file(file: MappedFile, path: &Path) -> Result<Self, CncError> {
        let version = file.buffer().get_i32_acquire(CNC_VERSION_FIELD_OFFSET);
        if version == 0 {
            return Err(CncError::NotReady {
                path: path.to_path_buf(),
            });
        }
        check_cnc_version(version).map_err(|source| CncError::Version {
            path: path.to_path_buf(),
            source,
        })?;
        let header_bytes = file.buffer().to_vec(0, CNC_HEADER_LENGTH);
        let layout_error = |source| CncError::Layout {
            path: path.to_path_buf(),
            source,
        };
        let header = CncHeader::decode(&header_bytes).map_err(layout_error)?;
        let layout = header.layout().map_err(layout_error)?;
        if file.len() < layout.required_length {
            return Err(layout_error(DecodeError::Truncated {
                what: "cnc.dat",
                needed: layout.required_length,
                available: file.len(),
            }));
        }
        Self::from_parts(file, header, layout, path)
    }

    fn from_parts(
        file: MappedFile,
        header: CncHeader,
        layout: CncLayout,
        path: &Path,
    ) -> Result<Self, CncError> {
        let section = |offset: usize, length: usize| {
            file.buffer()
                .view(offset, length)
                .map_err(|_| CncError::Layout {
                    path: path.to_path_buf(),
                    source: DecodeError::Truncated {
                        what: "cnc.dat",
                        needed: offset + length,
                        available: file.len(),
                    },
                })
        };
        Ok(CncFile {
            to_driver: section(layout.to_driver_offset, layout.to_driver_length)?,
            to_clients: section(layout.to_clients_offset, layout.to_clients_length)?,
            counters_metadata: section(
                layout.counters_metadata_offset,
                layout.counters_metadata_length,
            )?,
            counters_values: section(layout.counters_values_offset, layout.counters_values_length)?,
            error_log: section(layout.error_log_offset, layout.error_log_length)?,
            file,
            header,
            layout,
        })
    }

    /// Publishes the CnC version: clients may attach from now on.
    pub fn signal_ready(&self) {
        self.file
            .buffer()
            .put_i32_release(CNC_VERSION_FIELD_OFFSET, CNC_VERSION);
    }

    /// The CnC version now in the file (0 while the driver starts).
    pub fn version(&self) -> i32 {
        self.file.buffer().get_i32_acquire(CNC_VERSION_FIELD_OFFSET)
    }

    /// The header as mapped.
    pub fn header(&self) -> &CncHeader {
        &self.header
    }

    /// Section offsets and lengths.
    pub fn layout(&self) -> &CncLayout {
        &self.layout
    }

    /// The to-driver many-to-one ring buffer (capacity plus trailer).
    pub fn to_driver_buffer(&self) -> &AtomicBuffer {
        &self.to_driver
    }

    /// The to-clients broadcast buffer (capacity plus trailer).
    pub fn to_clients_buffer(&self) -> &AtomicBuffer {
        &self.to_clients
    }

    /// Counters metadata section.
    pub fn counters_metadata_buffer(&self) -> &AtomicBuffer {
        &self.counters_metadata
    }

    /// Counters values section.
    pub fn counters_values_buffer(&self) -> &AtomicBuffer {
        &self.counters_values
    }

    /// Distinct error log section.
    pub fn error_log_buffer(&self) -> &AtomicBuffer {
        &self.error_log
    }

    /// The mapped file.
    pub fn file(&self) -> &MappedFile {
        &self.file
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> CncSpec {
        CncSpec {
            to_driver_buffer_length: 64 * 1024 + 768,
            to_clients_buffer_length: 64 * 1024 + 128,
            counters_values_buffer_length: 64 * 1024,
            error_log_buffer_length: 64 * 1024,
            client_liveness_timeout_ns: 10_000_000_000,
            start_timestamp_ms: 1,
            pid: 42,
            file_page_size: 4096,
        }
    }

    #[test]
    fn clients_wait_until_the_driver_signals_ready() {
        let dir = tempfile::tempdir().unwrap();
        let created = CncFile::create(dir.path(), &spec()).unwrap();
        assert!(matches!(
            CncFile::map(dir.path()),
            Err(CncError::NotReady { .. })
        ));
        created.signal_ready();
        let mapped = CncFile::map(dir.path()).unwrap();
        assert_eq!(mapped.header().pid, 42);
        assert_eq!(mapped.layout().to_driver_offset, 128);
        mapped.counters_values_buffer().put_i64(0, 5);
        assert_eq!(created.counters_values_buffer().get_i64(0), 5);
        assert_eq!(mapped.counters_metadata_buffer().capacity(), 4 * 64 * 1024);
    }

    #[test]
    fn every_page_of_a_new_cnc_file_is_reserved_as_aeron_fills_it() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let created = CncFile::create(dir.path(), &spec()).unwrap();
        let metadata = std::fs::metadata(CncFile::path_in(dir.path())).unwrap();
        assert_eq!(metadata.len() as usize, created.layout().file_length);
        assert!(
            metadata.blocks() * 512 >= metadata.len(),
            "cnc.dat is sparse"
        );
    }

    #[test]
    fn incompatible_or_truncated_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let created = CncFile::create(dir.path(), &spec()).unwrap();
        created
            .file()
            .buffer()
            .put_i32_release(0, oxeron_protocol::semantic_version(1, 0, 0));
        assert!(matches!(
            CncFile::map(dir.path()),
            Err(CncError::Version { .. })
        ));
        std::fs::write(CncFile::path_in(dir.path()), [0u8; 16]).unwrap();
        assert!(CncFile::map(dir.path()).is_err());
    }
}
