//! The catalog file `archive.catalog`: a 32-byte [`CatalogHeader`], then one entry per recording, each a
//! 32-byte [`RecordingDescriptorHeader`] and a [`RecordingDescriptor`] body padded to the catalog's alignment.
//! No SBE message headers: bodies use the schema's block length and version.

use thiserror::Error;

use super::enums::RecordingState;
use super::messages::{CatalogHeader, RecordingDescriptor, RecordingDescriptorHeader};
use super::SCHEMA_VERSION;
use crate::{align, semantic_version, DecodeError};

/// Length of the catalog header.
pub const CATALOG_HEADER_LENGTH: usize = 32;
/// Length of the header before each descriptor.
pub const RECORDING_DESCRIPTOR_HEADER_LENGTH: usize = 32;
/// Catalog format version written by Aeron 1.54 (3.1.0).
pub const CATALOG_VERSION: i32 = semantic_version(3, 1, 0);
/// Entry alignment of catalogs Aeron 1.54 creates.
pub const DEFAULT_CATALOG_ALIGNMENT: i32 = 64;
/// Entry alignment, and first entry offset, of legacy catalogs whose header says alignment 0.
pub const LEGACY_CATALOG_ALIGNMENT: usize = 1024;
/// Offset of `state` in a descriptor header (updated in place).
pub const DESCRIPTOR_STATE_OFFSET: usize = 4;
/// Offset of `checksum` in a descriptor header (updated in place).
pub const DESCRIPTOR_CHECKSUM_OFFSET: usize = 8;
/// Offset of `stopTimestamp` in a descriptor body (updated in place).
pub const STOP_TIMESTAMP_OFFSET: usize = 32;
/// Offset of `startPosition` in a descriptor body (updated in place).
pub const START_POSITION_OFFSET: usize = 40;
/// Offset of `stopPosition` in a descriptor body (updated in place).
pub const STOP_POSITION_OFFSET: usize = 48;

impl CatalogHeader {
    /// A header as Aeron 1.54 writes it for a new catalog.
    pub const fn new(next_recording_id: i64, alignment: i32) -> Self {
        Self {
            version: CATALOG_VERSION,
            length: CATALOG_HEADER_LENGTH as i32,
            next_recording_id,
            alignment,
            reserved: 0,
        }
    }

    /// Decodes the header at the start of a catalog file.
    pub fn decode_catalog(file: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_body(file, Self::BLOCK_LENGTH, SCHEMA_VERSION)
    }

    /// Entry alignment: the header's, or 1024 for a legacy catalog (alignment 0).
    pub fn entry_alignment(&self) -> usize {
        match self.alignment {
            0 => LEGACY_CATALOG_ALIGNMENT,
            n => usize::try_from(n).unwrap_or(0),
        }
    }

    /// Offset of the first entry: the header's length, or 1024 for a legacy catalog.
    pub fn first_entry_offset(&self) -> Result<usize, DecodeError> {
        if self.alignment == 0 {
            return Ok(LEGACY_CATALOG_ALIGNMENT);
        }
        usize::try_from(self.length)
            .ok()
            .filter(|&len| len >= CATALOG_HEADER_LENGTH)
            .ok_or(DecodeError::BadLength {
                what: "CatalogHeader",
                field: "length",
                length: self.length.into(),
            })
    }
}

/// Length of the catalog entry for `descriptor`: descriptor header plus body, rounded up to `alignment` (a
/// power of two).
pub fn catalog_entry_length(descriptor: &RecordingDescriptor<'_>, alignment: usize) -> usize {
    align(
        RECORDING_DESCRIPTOR_HEADER_LENGTH + descriptor.body_length(),
        alignment,
    )
}

/// One entry of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CatalogEntry<'a> {
    /// File offset of the entry's descriptor header.
    pub offset: usize,
    /// The descriptor header (length, state, checksum).
    pub header: RecordingDescriptorHeader,
    /// The descriptor body.
    pub descriptor: RecordingDescriptor<'a>,
}

impl CatalogEntry<'_> {
    /// File offset of the next entry.
    pub fn next_offset(&self) -> usize {
        self.offset + RECORDING_DESCRIPTOR_HEADER_LENGTH + self.header.length.max(0) as usize
    }

    /// Writes an entry for `descriptor` at the start of `buf`, with its header's length covering the body
    /// and the zero padding up to `alignment`; returns the entry length. Panics if `buf` is shorter than
    /// [`catalog_entry_length`].
    pub fn encode(
        descriptor: &RecordingDescriptor<'_>,
        state: RecordingState,
        checksum: i32,
        alignment: usize,
        buf: &mut [u8],
    ) -> usize {
        let entry_length = catalog_entry_length(descriptor, alignment);
        let header = RecordingDescriptorHeader {
            length: i32::try_from(entry_length - RECORDING_DESCRIPTOR_HEADER_LENGTH)
                .expect("catalog entry longer than i32::MAX"),
            state,
            checksum,
            reserved: 0,
        };
        header.encode_body(buf);
        let body_end = RECORDING_DESCRIPTOR_HEADER_LENGTH
            + descriptor.encode_body(&mut buf[RECORDING_DESCRIPTOR_HEADER_LENGTH..]);
        buf[body_end..entry_length].fill(0);
        entry_length
    }
}

/// A catalog entry that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("catalog entry at offset {offset}: {error}")]
pub struct CatalogEntryError {
    /// File offset of the entry's descriptor header.
    pub offset: usize,
    /// What is wrong with it.
    pub error: DecodeError,
}

/// Walks the entries of a catalog file in order; see [`CatalogWalker::new`].
#[derive(Debug, Clone)]
pub struct CatalogWalker<'a> {
    file: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> CatalogWalker<'a> {
    /// Reads the catalog header of `file` and returns it with a walker over the entries.
    ///
    /// The walk ends at the first descriptor header whose length is 0 (unused space) or when fewer than 32
    /// bytes remain. An entry whose length runs past the file, or is negative, is yielded as an error and
    /// ends the walk; an entry whose body does not decode is yielded as an error and the walk continues
    /// with the next entry.
    pub fn new(file: &'a [u8]) -> Result<(CatalogHeader, Self), DecodeError> {
        let header = CatalogHeader::decode_catalog(file)?;
        let offset = header.first_entry_offset()?;
        Ok((
            header,
            Self {
                file,
                offset,
                done: false,
            },
        ))
    }

    /// File offset of the next entry to read (after the walk: where a new entry would go).
    pub fn offset(&self) -> usize {
        self.offset
    }

    fn step(&mut self) -> Option<Result<CatalogEntry<'a>, CatalogEntryError>> {
        let offset = self.offset;
        let rest = self.file.get(offset..).unwrap_or_default();
        if rest.len() < RECORDING_DESCRIPTOR_HEADER_LENGTH {
            self.done = true;
            return None;
        }
        let fail = |error| Some(Err(CatalogEntryError { offset, error }));
        let header = match RecordingDescriptorHeader::decode_body(
            rest,
            RecordingDescriptorHeader::BLOCK_LENGTH,
            SCHEMA_VERSION,
        ) {
            Ok(header) => header,
            Err(error) => {
                self.done = true;
                return fail(error);
            }
        };
        if header.length == 0 {
            self.done = true;
            return None;
        }
        let body_end = usize::try_from(header.length)
            .ok()
            .and_then(|len| RECORDING_DESCRIPTOR_HEADER_LENGTH.checked_add(len))
            .filter(|&end| end <= rest.len());
        let Some(body_end) = body_end else {
            self.done = true;
            return fail(DecodeError::BadLength {
                what: "RecordingDescriptorHeader",
                field: "length",
                length: header.length.into(),
            });
        };
        self.offset = offset + body_end;
        match RecordingDescriptor::decode_body(
            &rest[RECORDING_DESCRIPTOR_HEADER_LENGTH..body_end],
            RecordingDescriptor::BLOCK_LENGTH,
            SCHEMA_VERSION,
        ) {
            Ok(descriptor) => Some(Ok(CatalogEntry {
                offset,
                header,
                descriptor,
            })),
            Err(error) => fail(error),
        }
    }
}

impl<'a> Iterator for CatalogWalker<'a> {
    type Item = Result<CatalogEntry<'a>, CatalogEntryError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            None
        } else {
            self.step()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::le;

    fn descriptor(id: i64, channel: &str) -> RecordingDescriptor<'_> {
        RecordingDescriptor {
            control_session_id: 0,
            correlation_id: 0,
            recording_id: id,
            start_timestamp: 1_795_528_917_574,
            stop_timestamp: -1,
            start_position: 0,
            stop_position: -1,
            initial_term_id: 7,
            segment_file_length: 262_144,
            term_buffer_length: 65_536,
            mtu_length: 1408,
            session_id: -5,
            stream_id: 1001,
            stripped_channel: channel,
            original_channel: channel,
            source_identity: "aeron:ipc",
        }
    }

    fn catalog(descriptors: &[RecordingDescriptor<'_>], capacity: usize) -> Vec<u8> {
        let mut file = vec![0u8; capacity];
        CatalogHeader::new(descriptors.len() as i64, DEFAULT_CATALOG_ALIGNMENT)
            .encode_body(&mut file);
        let mut offset = CATALOG_HEADER_LENGTH;
        for d in descriptors {
            offset += CatalogEntry::encode(d, RecordingState::Valid, 0, 64, &mut file[offset..]);
        }
        file
    }

    #[test]
    fn golden_entry_lengths() {
        // Recording 0 of the golden catalog: strings of 9, 27 and 9 bytes -> body 137, entry 192.
        let d = RecordingDescriptor {
            original_channel: "aeron:ipc?term-length=65536",
            ..descriptor(0, "aeron:ipc")
        };
        assert_eq!(d.body_length(), 137);
        assert_eq!(catalog_entry_length(&d, 64), 192);
    }

    #[test]
    fn walks_what_it_wrote() {
        let ds = [
            descriptor(0, "aeron:ipc"),
            descriptor(1, "aeron:udp?endpoint=localhost:24500"),
        ];
        let file = catalog(&ds, 4096);
        let (header, mut walker) = CatalogWalker::new(&file).unwrap();
        assert_eq!(header, CatalogHeader::new(2, 64));
        let entries: Vec<_> = walker.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].offset, 32);
        assert_eq!(entries[0].descriptor, ds[0]);
        assert_eq!(entries[1].offset, entries[0].next_offset());
        assert_eq!(entries[1].descriptor, ds[1]);
        assert_eq!(entries[1].header.state, RecordingState::Valid);
        assert_eq!(walker.offset(), entries[1].next_offset());
    }

    #[test]
    fn reports_corrupt_entries() {
        let ds = [descriptor(0, "aeron:ipc"), descriptor(1, "aeron:ipc")];
        let file = catalog(&ds, 1024);

        // A body string length that overruns the entry: error, then the walk goes on.
        let mut bad_body = file.clone();
        le::put_u32(&mut bad_body, 32 + 32 + 80, 1000);
        let results: Vec<_> = CatalogWalker::new(&bad_body).unwrap().1.collect();
        assert_eq!(results.len(), 2);
        assert!(matches!(
            results[0],
            Err(CatalogEntryError {
                offset: 32,
                error: DecodeError::BadLength { .. }
            })
        ));
        assert!(results[1].is_ok());

        // A header length past the end of the file: error, walk ends.
        let mut bad_length = file.clone();
        le::put_i32(&mut bad_length, 32, 5000);
        let results: Vec<_> = CatalogWalker::new(&bad_length).unwrap().1.collect();
        assert_eq!(results.len(), 1);
        assert!(results[0].is_err());

        let mut negative = file.clone();
        le::put_i32(&mut negative, 32, -32);
        let results: Vec<_> = CatalogWalker::new(&negative).unwrap().1.collect();
        assert!(matches!(results[..], [Err(_)]));

        // Too short for the catalog header.
        assert!(CatalogWalker::new(&file[..31]).is_err());
        // A header length below 32.
        let mut short_header = file;
        le::put_i32(&mut short_header, 4, 8);
        assert!(CatalogWalker::new(&short_header).is_err());
    }

    #[test]
    fn legacy_catalog_starts_at_1024() {
        let mut file = vec![0u8; 2048];
        CatalogHeader::new(1, 0).encode_body(&mut file);
        let d = descriptor(0, "aeron:ipc");
        CatalogEntry::encode(&d, RecordingState::Valid, 0, 1024, &mut file[1024..]);
        let (header, walker) = CatalogWalker::new(&file).unwrap();
        assert_eq!(header.entry_alignment(), 1024);
        let entries: Vec<_> = walker.collect::<Result<_, _>>().unwrap();
        assert_eq!(entries[0].offset, 1024);
        assert_eq!(entries[0].header.length, 1024 - 32);
    }
}
