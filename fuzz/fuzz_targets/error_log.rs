//! Feeds arbitrary bytes as a distinct error log (the last section of `cnc.dat`, or the error region of
//! the archive mark file) to `ErrorLogReader::{has_errors, read, try_read}`.
//!
//! Input: a selector byte (bit 0: read through a view 4 bytes in, so misaligned), then the log bytes.
//! Asserts: nothing panics (a bad entry length or a misaligned buffer is a typed error); `read` and
//! `try_read` deliver the same entries; no more entries than 24-byte headers fit; a later `since`
//! delivers no more entries.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "shared/readers.rs"]
mod readers;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, log)) = data.split_first() else {
        return;
    };
    let buffer = if selector & 1 != 0 {
        let mut shifted = vec![0u8; 4];
        shifted.extend_from_slice(log);
        readers::heap(&shifted).view(4, log.len()).unwrap()
    } else {
        readers::heap(log)
    };
    readers::error_log(&buffer);
});
