//! Feeds arbitrary bytes as the 4096-byte metadata section of a log buffer file (which clients map from
//! the driver): `LogBufferMetadata::decode` / `decode_from_log`, `validate` against a log length, and the
//! accessors that index by values from the file (active term count, default header).
//!
//! Input: bit 0 of the first byte picks raw decoding of the rest (so short inputs are truncation errors)
//! or, when set, a log length (next 8 bytes, little-endian, for `validate`) and the metadata bytes, padded
//! with zeros to 4096. Asserts: nothing panics; decoding needs 4096 bytes; what decodes re-encodes to bytes
//! that decode to the same metadata; the active tail is one of the three tail counters; validation passes
//! only for geometry Aeron accepts.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oxeron_protocol::logbuffer::{
    check_mtu_length, check_page_size, check_term_length, compute_log_length, LogBufferMetadata,
    LOG_META_DATA_LENGTH,
};

fn check(metadata: &LogBufferMetadata, log_length: u64) {
    let again = metadata.to_vec();
    assert_eq!(again.len(), LOG_META_DATA_LENGTH);
    assert_eq!(LogBufferMetadata::decode(&again).as_ref(), Ok(metadata));
    assert!(metadata
        .term_tail_counters
        .contains(&metadata.active_raw_tail()));
    let _ = (
        metadata.default_header(),
        metadata.session_id(),
        metadata.stream_id(),
    );
    let geometry_ok = check_term_length(metadata.term_length.into()).is_ok()
        && check_page_size(metadata.page_size.into()).is_ok()
        && check_mtu_length(metadata.mtu_length.into()).is_ok();
    let expected = compute_log_length(metadata.term_length, metadata.page_size);
    assert_eq!(
        metadata.validate(log_length).is_ok(),
        geometry_ok && expected == log_length
    );
    if geometry_ok {
        assert_eq!(metadata.validate(expected), Ok(()));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector & 1 == 0 {
        match LogBufferMetadata::decode(rest) {
            Ok(metadata) => check(&metadata, rest.len() as u64),
            Err(_) => assert!(rest.len() < LOG_META_DATA_LENGTH),
        }
        match LogBufferMetadata::decode_from_log(rest) {
            Ok(metadata) => check(&metadata, rest.len() as u64),
            Err(_) => assert!(rest.len() < LOG_META_DATA_LENGTH),
        }
        return;
    }
    let (length_bytes, bytes) = rest.split_at(rest.len().min(8));
    let mut raw = [0u8; 8];
    raw[..length_bytes.len()].copy_from_slice(length_bytes);
    let log_length = u64::from_le_bytes(raw);
    let mut section = vec![0u8; LOG_META_DATA_LENGTH];
    let n = bytes.len().min(LOG_META_DATA_LENGTH);
    section[..n].copy_from_slice(&bytes[..n]);
    let metadata = LogBufferMetadata::decode(&section).expect("4096 bytes decode");
    check(&metadata, log_length);
});
