//! Memory-mapped files, the shared memory Aeron uses for `cnc.dat` and log buffers.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;

use memmap2::{MmapMut, MmapOptions};

use crate::atomic_buffer::AtomicBuffer;

/// A file mapped into memory, shared with every other process that maps it.
///
/// The mapping lives as long as the `MappedFile` or any [`AtomicBuffer`] taken from it.
#[derive(Debug)]
pub struct MappedFile {
    path: PathBuf,
    buffer: AtomicBuffer,
}

struct Mapping {
    _map: MmapMut,
}

impl MappedFile {
    /// Creates (or truncates) `path` with `length` bytes, zero-filled and sparse, and maps it read-write.
    /// Missing parent directories are created.
    pub fn create(path: impl AsRef<Path>, length: usize) -> io::Result<Self> {
        let path = path.as_ref();
        let file = Self::create_file(path, length)?;
        Self::map_shared(path, &file, length)
    }

    fn create_file(path: &Path, length: usize) -> io::Result<File> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        file.set_len(length as u64)?;
        Ok(file)
    }

    /// Like [`MappedFile::create`], but reserves every page of the file up front (`posix_fallocate`, then
    /// `MAP_POPULATE`, which makes tmpfs zero the pages and maps them), so that writers never take the cost
    /// of allocating and zeroing pages on the hot path (Aeron's non-sparse log files).
    pub fn create_allocated(path: impl AsRef<Path>, length: usize) -> io::Result<Self> {
        let path = path.as_ref();
        let file = Self::create_file(path, length)?;
        allocate(&file, length)?;
        Self::map_shared_populated(path, &file, length)
    }

    /// Maps an existing file read-write, shared with other processes. Fails with `InvalidData` if the file
    /// is shorter than `min_length` (a mapping past the end of a file faults on access).
    pub fn open(path: impl AsRef<Path>, min_length: usize) -> io::Result<Self> {
        let path = path.as_ref();
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let length = Self::checked_length(path, &file, min_length)?;
        Self::map_shared(path, &file, length)
    }

    /// Like [`MappedFile::open`], with every page mapped up front (`MAP_POPULATE`), so that touching the
    /// mapping later never takes a page fault. For files whose pages all exist (not sparse ones: populating
    /// a hole allocates it).
    pub fn open_populated(path: impl AsRef<Path>, min_length: usize) -> io::Result<Self> {
        let path = path.as_ref();
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let length = Self::checked_length(path, &file, min_length)?;
        Self::map_shared_populated(path, &file, length)
    }

    /// Maps an existing file privately: reads see the file, writes stay in this process (copy-on-write).
    /// Works on read-only files; for inspection tools and tests over captured files.
    pub fn open_private(path: impl AsRef<Path>, min_length: usize) -> io::Result<Self> {
        let path = path.as_ref();
        let file = File::open(path)?;
        let length = Self::checked_length(path, &file, min_length)?;
        // SAFETY: a private mapping is never written through to the file; another process truncating the file
        // could still fault reads, which is the same contract every Aeron tool has with the driver's files.
        let map = unsafe { MmapOptions::new().len(length).map_copy(&file)? };
        Ok(Self::wrap(path, map))
    }

    fn checked_length(path: &Path, file: &File, min_length: usize) -> io::Result<usize> {
        let length = usize::try_from(file.metadata()?.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file too large to map"))?;
        if length < min_length {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is {length} bytes, expected at least {min_length}",
                    path.display()
                ),
            ));
        }
        Ok(length)
    }

    fn map_shared(path: &Path, file: &File, length: usize) -> io::Result<Self> {
        // SAFETY: the file is shared with other processes by design; all access to the mapping goes through
        // AtomicBuffer, which never hands out references that assume exclusive access.
        let map = unsafe { MmapOptions::new().len(length).map_mut(file)? };
        Ok(Self::wrap(path, map))
    }

    fn map_shared_populated(path: &Path, file: &File, length: usize) -> io::Result<Self> {
        // SAFETY: as for `map_shared`: the file is shared by design and only reached through AtomicBuffer.
        let map = unsafe { MmapOptions::new().len(length).populate().map_mut(file)? };
        Ok(Self::wrap(path, map))
    }

    fn wrap(path: &Path, mut map: MmapMut) -> Self {
        let len = map.len();
        let ptr = NonNull::new(map.as_mut_ptr()).unwrap_or(NonNull::dangling());
        let owner = Arc::new(Mapping { _map: map });
        // SAFETY: the mapping covers ptr..ptr+len and is owned by `owner`, which the buffer keeps alive.
        let buffer = unsafe { AtomicBuffer::from_raw(ptr, len, owner) };
        MappedFile {
            path: path.to_path_buf(),
            buffer,
        }
    }

    /// Extends the file to `new_length` bytes (zero-filled) and maps it anew. Buffers taken before keep
    /// their old mapping alive and stay valid: both mappings share the same file pages, so writes through
    /// either are seen through the other. Shrinking is refused.
    pub fn grow(&mut self, new_length: usize) -> io::Result<()> {
        if new_length < self.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cannot shrink {} from {} to {new_length} bytes",
                    self.path.display(),
                    self.len()
                ),
            ));
        }
        let file = OpenOptions::new().read(true).write(true).open(&self.path)?;
        if file.metadata()?.len() < new_length as u64 {
            file.set_len(new_length as u64)?;
        }
        let path = self.path.clone();
        *self = Self::map_shared(&path, &file, new_length)?;
        Ok(())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Length of the mapping in bytes.
    pub fn len(&self) -> usize {
        self.buffer.capacity()
    }

    /// True for an empty mapping.
    pub fn is_empty(&self) -> bool {
        self.buffer.capacity() == 0
    }

    /// The whole mapping as a buffer; clones share the mapping and keep it alive.
    pub fn buffer(&self) -> &AtomicBuffer {
        &self.buffer
    }
}

/// Reserves disk (or tmpfs) space for every byte of `file` up to `length`.
#[cfg(target_os = "linux")]
fn allocate(file: &File, length: usize) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let length = libc::off_t::try_from(length)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file too large"))?;
    // SAFETY: the descriptor is open for writing for the duration of the call; posix_fallocate only reads it.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, length) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// Reserves space by writing zeros where `posix_fallocate` is not available.
#[cfg(not(target_os = "linux"))]
fn allocate(file: &File, length: usize) -> io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = file;
    file.seek(SeekFrom::Start(0))?;
    let zeros = vec![0u8; 64 * 1024];
    let mut left = length;
    while left > 0 {
        let n = left.min(zeros.len());
        file.write_all(&zeros[..n])?;
        left -= n;
    }
    Ok(())
}

/// The system's memory page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_mappings_of_one_file_share_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/shared.dat");
        let a = MappedFile::create(&path, 8192).unwrap();
        let b = MappedFile::open(&path, 8192).unwrap();
        a.buffer().put_i64_release(4096, 99);
        assert_eq!(b.buffer().get_i64_acquire(4096), 99);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 8192);
    }

    #[test]
    fn allocated_files_have_their_blocks_reserved() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("allocated.dat");
        let m = MappedFile::create_allocated(&path, 1 << 20).unwrap();
        m.buffer().put_i64(8, 5);
        assert!(std::fs::metadata(&path).unwrap().blocks() * 512 >= 1 << 20);
    }

    #[test]
    fn growing_keeps_old_views_valid_and_coherent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grow.dat");
        let mut m = MappedFile::create(&path, 4096).unwrap();
        let old = m.buffer().clone();
        old.put_i64(0, 11);
        m.grow(3 * 4096).unwrap();
        assert_eq!(m.len(), 3 * 4096);
        assert_eq!(m.buffer().get_i64(0), 11, "contents kept");
        m.buffer().put_i64(8, 22);
        assert_eq!(
            old.get_i64(8),
            22,
            "the old view sees writes through the new mapping"
        );
        m.buffer().put_i64(8192, 33);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 3 * 4096);
        assert!(m.grow(100).is_err(), "no shrinking");
    }

    #[test]
    fn short_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.dat");
        std::fs::write(&path, [0u8; 10]).unwrap();
        let err = MappedFile::open(&path, 100).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn private_mapping_does_not_write_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ro.dat");
        std::fs::write(&path, [1u8; 64]).unwrap();
        let m = MappedFile::open_private(&path, 64).unwrap();
        m.buffer().put_u8(0, 7);
        assert_eq!(m.buffer().get_u8(0), 7);
        assert_eq!(std::fs::read(&path).unwrap()[0], 1);
    }
}
