//! Feeds arbitrary bytes as a whole `cnc.dat` and reads it the way a client or tool does on attach:
//! `CncHeader::decode`, the version check, `CncHeader::layout` and `is_file_length_sufficient`; when the
//! layout fits the bytes, it cuts the five sections out of a heap `AtomicBuffer` holding them (as
//! `CncFile` does over the mapping) and runs the ring buffer, broadcast, counters and error log readers on
//! them.
//!
//! Asserts: nothing panics; a decoded header re-encodes to the same 52 field bytes and zeroes the rest of
//! the 128; a layout's sections follow each other from offset 128, end at `required_length`, and the file
//! length is that rounded up (by less than a page) to the page size; the length check agrees with the
//! layout.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oxeron_protocol::cnc::{
    check_cnc_version, compute_cnc_file_length, CncHeader, CNC_HEADER_LENGTH, META_DATA_LENGTH,
};

#[path = "shared/readers.rs"]
mod readers;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = CncHeader::decode(data) else {
        assert!(data.len() < CNC_HEADER_LENGTH);
        return;
    };
    let again = header.to_vec();
    assert_eq!(again[..META_DATA_LENGTH], data[..META_DATA_LENGTH]);
    assert!(again[META_DATA_LENGTH..].iter().all(|&b| b == 0));
    assert_eq!(CncHeader::decode(&again), Ok(header));
    assert_eq!(
        header.check_version(),
        check_cnc_version(header.cnc_version)
    );

    let Ok(layout) = header.layout() else {
        assert!(!header.is_file_length_sufficient(data.len()));
        assert!(!header.is_file_length_sufficient(usize::MAX));
        return;
    };
    assert_eq!(layout.to_driver_offset, CNC_HEADER_LENGTH);
    assert_eq!(
        layout.to_clients_offset,
        layout.to_driver_offset + layout.to_driver_length
    );
    assert_eq!(
        layout.counters_metadata_offset,
        layout.to_clients_offset + layout.to_clients_length
    );
    assert_eq!(
        layout.counters_values_offset,
        layout.counters_metadata_offset + layout.counters_metadata_length
    );
    assert_eq!(
        layout.error_log_offset,
        layout.counters_values_offset + layout.counters_values_length
    );
    assert_eq!(
        layout.required_length,
        layout.error_log_offset + layout.error_log_length
    );
    let page = header.file_page_size as usize;
    assert!(layout.file_length >= layout.required_length);
    assert_eq!(layout.file_length % page, 0);
    assert!(layout.file_length - layout.required_length < page);
    assert_eq!(
        compute_cnc_file_length(layout.required_length - CNC_HEADER_LENGTH, page),
        Some(layout.file_length)
    );
    assert_eq!(
        header.is_file_length_sufficient(data.len()),
        data.len() >= layout.required_length
    );
    assert!(header.is_file_length_sufficient(layout.required_length));
    assert!(!header.is_file_length_sufficient(layout.required_length - 1));

    if data.len() < layout.required_length {
        return;
    }
    let file = readers::heap(data);
    let section = |offset, length| file.view(offset, length).expect("layout fits the file");
    let to_driver = section(layout.to_driver_offset, layout.to_driver_length);
    let to_clients = section(layout.to_clients_offset, layout.to_clients_length);
    let metadata = section(
        layout.counters_metadata_offset,
        layout.counters_metadata_length,
    );
    let values = section(layout.counters_values_offset, layout.counters_values_length);
    let error_log = section(layout.error_log_offset, layout.error_log_length);
    // The bytes past the sections (if any) script the ring buffer and broadcast operations.
    let script = &data[layout.required_length..];
    readers::ring_buffer(&to_driver, script);
    readers::broadcast(&to_clients, script);
    readers::counters(&metadata, &values);
    readers::error_log(&error_log);
});
