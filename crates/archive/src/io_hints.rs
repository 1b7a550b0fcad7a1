//! Page-cache hints for segment files: start writing recorded bytes back while recording goes on, and read
//! ahead of a replay. Hints only: they change no file content, and a kernel that ignores them or refuses one
//! costs nothing but the speed they would have bought. The archive's `unsafe` lives here and in
//! `storage_space.rs`.

use std::fs::File;

/// Bytes a writer lets pile up before it starts their write-back.
pub const WRITE_BACK_CHUNK: u64 = 8 * 1024 * 1024;
/// How far ahead of a sequential reader the page cache is asked to read: enough queued for the disk that it
/// never waits for the reader, even while the reader is busy elsewhere for a while.
pub const READ_AHEAD: u64 = 64 * 1024 * 1024;
/// The least a reader asks for at a time once its window is open.
const READ_AHEAD_STEP: u64 = 4 * 1024 * 1024;

/// Starts write-back of a file written front to back, [`WRITE_BACK_CHUNK`] at a time.
#[derive(Debug, Clone, Copy)]
pub struct WriteBack {
    started_to: u64,
}

impl WriteBack {
    /// For a file whose bytes before `offset` are not this writer's concern.
    pub fn from(offset: u64) -> Self {
        WriteBack { started_to: offset }
    }

    /// Call after writing up to `written_to`: starts write-back of the chunk behind it once it is full.
    pub fn after_write(&mut self, file: &File, written_to: u64) {
        if written_to >= self.started_to + WRITE_BACK_CHUNK {
            start_writeback(file, self.started_to, written_to - self.started_to);
            self.started_to = written_to;
        }
    }
}

/// Keeps about [`READ_AHEAD`] bytes asked for ahead of a reader going front to back through one file.
#[derive(Debug, Clone, Copy)]
pub struct ReadAhead {
    requested_to: u64,
}

impl ReadAhead {
    /// For `file`, which is now marked as read sequentially.
    pub fn new(file: &File) -> Self {
        sequential(file);
        ReadAhead { requested_to: 0 }
    }

    /// Call before reading at `offset`: tops the window up whenever a step of it has been read, so the
    /// disk always has work queued. Asks a step at a time: Linux caps one `WILLNEED` at the file's
    /// read-ahead size (8 or 16 MiB) and drops the rest of a larger request.
    pub fn before_read(&mut self, file: &File, offset: u64) {
        if offset >= self.requested_to {
            self.requested_to = offset;
        }
        while self.requested_to + READ_AHEAD_STEP <= offset + READ_AHEAD {
            will_need(file, self.requested_to, READ_AHEAD_STEP);
            self.requested_to += READ_AHEAD_STEP;
        }
    }
}

/// Asks the kernel to start writing `length` bytes at `offset` of `file` to the device, without waiting, so a
/// later fsync (or the page cache filling up) does not find the whole recording still dirty.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, length: u64) {
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
fn will_need(file: &File, offset: u64, length: u64) {
    advise(file, offset, length, libc::POSIX_FADV_WILLNEED);
}

/// Tells the kernel `file` is read front to back (a larger read-ahead window).
#[cfg(target_os = "linux")]
fn sequential(file: &File) {
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
fn start_writeback(_file: &File, _offset: u64, _length: u64) {}

#[cfg(not(target_os = "linux"))]
fn will_need(_file: &File, _offset: u64, _length: u64) {}

#[cfg(not(target_os = "linux"))]
fn sequential(_file: &File) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_ahead_keeps_a_full_window_queued_in_steps() {
        let file = tempfile::tempfile().unwrap();
        let mut read_ahead = ReadAhead::new(&file);
        read_ahead.before_read(&file, 0);
        assert_eq!(read_ahead.requested_to, READ_AHEAD);
        // Less than a step read: nothing more asked.
        read_ahead.before_read(&file, READ_AHEAD_STEP - 1);
        assert_eq!(read_ahead.requested_to, READ_AHEAD);
        // A step read: topped up to a full window again.
        read_ahead.before_read(&file, READ_AHEAD_STEP);
        assert_eq!(read_ahead.requested_to, READ_AHEAD_STEP + READ_AHEAD);
        // A reader that jumped past the window starts a new one where it is.
        read_ahead.before_read(&file, 10 * READ_AHEAD + 1);
        assert_eq!(read_ahead.requested_to, 11 * READ_AHEAD + 1);
    }
}
