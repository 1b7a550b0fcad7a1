//! Page-cache hints for segment files: start writing recorded bytes back while recording goes on, and read
//! ahead of a replay. Hints only: they change no file content, and a kernel that ignores them or refuses one
//! costs nothing but the speed they would have bought. The archive's only `unsafe` lives here.

use std::fs::File;

/// Asks the kernel to start writing `length` bytes at `offset` of `file` to the device, without waiting, so a
/// later fsync (or the page cache filling up) does not find the whole recording still dirty.
#[cfg(target_os = "linux")]
pub fn start_writeback(file: &File, offset: u64, length: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(length)) = (i64::try_from(offset), i64::try_from(length)) else {
        return;
    };
    // SAFETY: the descriptor is open while `file` is borrowed; the call only reads its arguments.
    let _ = unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset,
            length,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
}

/// Asks the kernel to read `length` bytes at `offset` of `file` into the page cache in the background.
#[cfg(target_os = "linux")]
pub fn will_need(file: &File, offset: u64, length: u64) {
    advise(file, offset, length, libc::POSIX_FADV_WILLNEED);
}

/// Tells the kernel `file` is read front to back (a larger read-ahead window).
#[cfg(target_os = "linux")]
pub fn sequential(file: &File) {
    advise(file, 0, 0, libc::POSIX_FADV_SEQUENTIAL);
}

#[cfg(target_os = "linux")]
fn advise(file: &File, offset: u64, length: u64, advice: libc::c_int) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(length)) = (i64::try_from(offset), i64::try_from(length)) else {
        return;
    };
    // SAFETY: the descriptor is open while `file` is borrowed; the call only reads its arguments.
    let _ = unsafe { libc::posix_fadvise(file.as_raw_fd(), offset, length, advice) };
}

#[cfg(not(target_os = "linux"))]
pub fn start_writeback(_file: &File, _offset: u64, _length: u64) {}

#[cfg(not(target_os = "linux"))]
pub fn will_need(_file: &File, _offset: u64, _length: u64) {}

#[cfg(not(target_os = "linux"))]
pub fn sequential(_file: &File) {}
