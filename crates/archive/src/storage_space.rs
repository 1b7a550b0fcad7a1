//! Usable space of the file system that holds the archive directory, for the low-storage-space check the
//! Java archive makes before it starts or extends a recording (`aeron.archive.low.storage.space.threshold`).

use std::path::Path;

/// Bytes an unprivileged process may still write on the file system holding `path` (Java's
/// `FileStore.getUsableSpace`: free blocks available to non-root users times the fragment size).
pub fn usable_space(path: &Path) -> std::io::Result<u64> {
    use std::os::fd::AsRawFd;
    let dir = std::fs::File::open(path)?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `dir` is an open descriptor for the call's duration and `stats` is a writable statvfs the
    // kernel fills in; it is read only after the call reports success.
    let rc = unsafe { libc::fstatvfs(dir.as_raw_fd(), stats.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fstatvfs returned 0, so it wrote the whole struct.
    let stats = unsafe { stats.assume_init() };
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// The Java archive's refusal when `usable` is at or below `threshold`:
/// `low storage threshold=T <= usableSpace=U`.
pub fn low_storage_message(threshold: u64, usable: u64) -> Option<String> {
    (usable <= threshold)
        .then(|| format!("low storage threshold={threshold} <= usableSpace={usable}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_directory_has_some_usable_space() {
        let dir = tempfile::tempdir().unwrap();
        assert!(usable_space(dir.path()).unwrap() > 0);
    }

    #[test]
    fn a_missing_directory_is_an_error_not_zero() {
        let dir = tempfile::tempdir().unwrap();
        assert!(usable_space(&dir.path().join("gone")).is_err());
    }

    #[test]
    fn the_refusal_reads_as_javas() {
        assert_eq!(
            low_storage_message(100, 100).as_deref(),
            Some("low storage threshold=100 <= usableSpace=100")
        );
        assert_eq!(low_storage_message(100, 101), None);
    }
}
