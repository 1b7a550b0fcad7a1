//! Feeds arbitrary bytes to the archive message decoder, the mark-file header decoder and the catalog walker;
//! whatever decodes must re-encode to bytes that decode to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oxeron_protocol::archive::{
    ArchiveMarkFileHeader, ArchiveMessage, CatalogEntry, CatalogWalker, RecordingDescriptor,
    TEMPLATE_IDS,
};

// Bit 0 of the first byte picks the message decoders (0) or the catalog walker (1). For messages, bit 1 clear
// stamps schema 101 and a template id chosen by the upper bits into the SBE header, to reach every decoder.
fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector & 1 == 0 {
        let mut bytes = rest.to_vec();
        if selector & 2 == 0 && bytes.len() >= 8 {
            let template_id = TEMPLATE_IDS[usize::from(selector >> 2) % TEMPLATE_IDS.len()];
            bytes[2..4].copy_from_slice(&template_id.to_le_bytes());
            bytes[4..6].copy_from_slice(&101u16.to_le_bytes());
        }
        if let Ok(message) = ArchiveMessage::decode(&bytes) {
            let again = message.to_vec();
            assert_eq!(again.len(), message.encoded_length());
            assert_eq!(ArchiveMessage::decode(&again), Ok(message));
        }
        if let Ok(header) = ArchiveMarkFileHeader::decode(&bytes) {
            let again = header.to_vec();
            assert_eq!(ArchiveMarkFileHeader::decode(&again), Ok(header));
            let _ = header.error_log(&bytes);
        }
    } else if let Ok((header, walker)) = CatalogWalker::new(rest) {
        let alignment = header.entry_alignment();
        for entry in walker.flatten() {
            assert!(entry.next_offset() > entry.offset);
            if alignment.is_power_of_two() && alignment <= 1 << 16 {
                let mut buf = vec![
                    0;
                    oxeron_protocol::archive::catalog_entry_length(
                        &entry.descriptor,
                        alignment
                    )
                ];
                CatalogEntry::encode(
                    &entry.descriptor,
                    entry.header.state,
                    entry.header.checksum,
                    alignment,
                    &mut buf,
                );
                let body = &buf[32..];
                let decoded =
                    RecordingDescriptor::decode_body(body, RecordingDescriptor::BLOCK_LENGTH, 14);
                assert_eq!(decoded, Ok(entry.descriptor));
            }
        }
    }
});
