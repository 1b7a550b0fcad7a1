//! Feeds arbitrary bytes as a whole `archive-mark.dat` and reads it the way `oxeron catalog` describes a mark
//! file: `ArchiveMarkFileHeader::decode`, then `error_log` to find the error region, then the distinct error
//! log reader over that region (copied, like the tool does, into an 8-byte aligned heap `AtomicBuffer`).
//!
//! Asserts: nothing panics; a decoded header re-encodes to bytes that decode to it again; the error log
//! region lies inside the file and starts at `headerLength` (0 if negative); the reader delivers entries whose text fits
//! the region.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oxeron_concurrent::error_log::{ErrorLogReader, ENCODED_ERROR_OFFSET};
use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::archive::ArchiveMarkFileHeader;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = ArchiveMarkFileHeader::decode(data) else {
        return;
    };
    let again = header.to_vec();
    assert_eq!(again.len(), header.encoded_length());
    assert_eq!(ArchiveMarkFileHeader::decode(&again), Ok(header));

    let log = header.error_log(data);
    assert!(log.len() <= data.len());
    if !log.is_empty() {
        let start = log.as_ptr() as usize - data.as_ptr() as usize;
        // A negative header or error buffer length gives no log at all.
        assert_eq!(Ok(start), usize::try_from(header.header_length));
        assert!(start + log.len() <= data.len());
        assert!(log.len() <= usize::try_from(header.error_buffer_length).unwrap());
    }

    let usable = log.len() - log.len() % 8;
    if usable > 0 {
        let buffer = AtomicBuffer::new_zeroed(usable);
        buffer.put_bytes(0, &log[..usable]);
        let mut text_bytes = 0usize;
        let result = ErrorLogReader::try_read(&buffer, i64::MIN, |_, _, _, text| {
            text_bytes += text.len();
        });
        let read = ErrorLogReader::read(&buffer, i64::MIN, |_, _, _, _| {});
        match result {
            Ok(entries) => assert_eq!(entries, read),
            Err(_) => assert!(read <= usable / ENCODED_ERROR_OFFSET),
        }
        // Lossy UTF-8 may triple a byte (U+FFFD is 3 bytes), never more.
        assert!(text_bytes <= 3 * usable);
        let _ = ErrorLogReader::has_errors(&buffer);
    }
});
