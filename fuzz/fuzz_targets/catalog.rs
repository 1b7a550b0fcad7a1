//! Feeds arbitrary bytes as a whole `archive.catalog` file: decodes the header with
//! `CatalogHeader::decode_catalog` and walks every entry with `CatalogWalker`.
//!
//! Asserts: nothing panics; a decoded header re-encodes to bytes that decode to it again; the walk always
//! ends, entry offsets strictly increase and stay inside the file; every entry that decodes re-encodes (at
//! the catalog's alignment, when that is a usable power of two) to an entry the walker reads back the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oxeron_protocol::archive::{
    catalog_entry_length, CatalogEntry, CatalogHeader, CatalogWalker, CATALOG_HEADER_LENGTH,
    RECORDING_DESCRIPTOR_HEADER_LENGTH,
};

fuzz_target!(|data: &[u8]| {
    let Ok(header) = CatalogHeader::decode_catalog(data) else {
        assert!(CatalogWalker::new(data).is_err());
        return;
    };
    let mut again = [0u8; CATALOG_HEADER_LENGTH];
    header.encode_body(&mut again);
    assert_eq!(CatalogHeader::decode_catalog(&again), Ok(header));
    let _ = header.entry_alignment();

    let Ok((walked_header, mut walker)) = CatalogWalker::new(data) else {
        assert!(header.first_entry_offset().is_err());
        return;
    };
    assert_eq!(walked_header, header);
    let first = header.first_entry_offset().expect("walker accepted it");
    assert_eq!(walker.offset(), first);

    let alignment = header.entry_alignment();
    let reencode = alignment.is_power_of_two() && alignment <= 1 << 16;
    let mut last_offset = None;
    let mut steps = 0usize;
    for item in walker.by_ref() {
        steps += 1;
        assert!(
            steps <= data.len() / RECORDING_DESCRIPTOR_HEADER_LENGTH + 1,
            "walk does not end"
        );
        let offset = match &item {
            Ok(entry) => entry.offset,
            Err(error) => error.offset,
        };
        assert!(
            last_offset.is_none_or(|last| offset > last),
            "offsets go back"
        );
        assert!(offset + RECORDING_DESCRIPTOR_HEADER_LENGTH <= data.len());
        last_offset = Some(offset);
        let Ok(entry) = item else {
            continue;
        };
        assert!(entry.next_offset() <= data.len());
        if reencode {
            let mut file = vec![0u8; CATALOG_HEADER_LENGTH];
            let header_for_rewalk = CatalogHeader {
                length: CATALOG_HEADER_LENGTH as i32,
                ..header
            };
            header_for_rewalk.encode_body(&mut file);
            let start = header_for_rewalk.first_entry_offset().unwrap();
            file.resize(
                start + catalog_entry_length(&entry.descriptor, alignment),
                0,
            );
            CatalogEntry::encode(
                &entry.descriptor,
                entry.header.state,
                entry.header.checksum,
                alignment,
                &mut file[start..],
            );
            let (_, rewalk) = CatalogWalker::new(&file).unwrap();
            let entries: Vec<_> = rewalk.collect();
            assert_eq!(entries.len(), 1);
            let back = entries[0].as_ref().expect("re-encoded entry decodes");
            assert_eq!(back.descriptor, entry.descriptor);
            assert_eq!(back.header.state, entry.header.state);
            assert_eq!(back.header.checksum, entry.header.checksum);
        }
    }
    assert!(walker.next().is_none(), "walker resumes after its end");
    assert!(walker.offset() >= first);
});
