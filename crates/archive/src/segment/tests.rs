use super::*;
use crate::catalog::compute_stop_position;
use oxeron_protocol::frame::data::UNFRAGMENTED;
use oxeron_protocol::frame::HDR_TYPE_DATA;

const TERM: i32 = 64 * 1024;
const SEGMENT: i32 = 128 * 1024;

fn frame(position: i64, payload_length: usize, frame_type: u16) -> Vec<u8> {
    let frame_length = HEADER_LENGTH + payload_length;
    let header = DataHeader {
        frame_length: frame_length as i32,
        flags: UNFRAGMENTED,
        frame_type,
        term_offset: (position % i64::from(TERM)) as i32,
        session_id: 3,
        stream_id: 4,
        term_id: (position / i64::from(TERM)) as i32,
        reserved_value: 0,
    };
    let mut bytes = vec![0u8; align(frame_length, FRAME_ALIGNMENT)];
    header.encode(&mut bytes);
    for (k, b) in bytes[HEADER_LENGTH..frame_length].iter_mut().enumerate() {
        *b = (position as usize + k) as u8 | 1;
    }
    bytes
}

/// Blocks covering `from..to`: data frames of varying lengths, a PAD frame at each term end.
fn blocks(from: i64, to: i64) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut position = from;
    let mut n = 0usize;
    while position < to {
        let term_end = (position / i64::from(TERM) + 1) * i64::from(TERM);
        let payload = 100 + (n * 37) % 1300;
        let length = align(HEADER_LENGTH + payload, FRAME_ALIGNMENT) as i64;
        let bytes = if position + length + 96 > term_end {
            let mut pad = frame(
                position,
                (term_end - position) as usize - HEADER_LENGTH,
                HDR_TYPE_PAD,
            );
            pad[HEADER_LENGTH..].fill(0xEE); // stale term bytes the writer must not store
            pad
        } else {
            // Two data frames per block.
            let mut b = frame(position, payload, HDR_TYPE_DATA);
            b.extend(frame(position + length, 40, HDR_TYPE_DATA));
            b
        };
        let next = position + bytes.len() as i64;
        out.push((position, bytes));
        position = next;
        n += 1;
    }
    out
}

#[test]
fn writes_and_reads_back_across_segments_at_every_sync_level() {
    for level in 0..=2 {
        let sync = FileSyncLevel::from_level(level).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let start = 65_536 + 1024;
        let mut writer =
            SegmentWriter::new(dir.path(), 9, start, start, TERM, SEGMENT, sync).unwrap();
        let blocks = blocks(start, 340_000);
        for (position, block) in &blocks {
            assert_eq!(writer.position(), *position);
            writer.on_block(block).unwrap();
        }
        let end = writer.position();
        writer.close().unwrap();
        // Segments start at the start term's base and are created at full length.
        for base in [65_536i64, 196_608, 327_680] {
            let path = dir.path().join(segment_file_name(9, base));
            assert_eq!(
                std::fs::metadata(&path).unwrap().len(),
                SEGMENT as u64,
                "{base}"
            );
        }
        let first = std::fs::read(dir.path().join("9-65536.rec")).unwrap();
        assert!(first[..1024].iter().all(|&b| b == 0));
        assert_eq!(
            compute_stop_position(dir.path(), 9, start, TERM, SEGMENT).unwrap(),
            end
        );

        let reader = SegmentReader::new(dir.path(), 9, start, TERM, SEGMENT, start, end).unwrap();
        let frames: Vec<_> = reader.collect::<Result<_>>().unwrap();
        let expected: Vec<_> = blocks
            .iter()
            .flat_map(|(position, block)| {
                let mut frames = Vec::new();
                let mut offset = 0;
                while offset < block.len() {
                    let header = DataHeader::decode(&block[offset..]).unwrap();
                    let aligned = header.aligned_length();
                    let payload = if header.is_pad() {
                        Vec::new()
                    } else {
                        block[offset + HEADER_LENGTH..offset + header.frame_length as usize]
                            .to_vec()
                    };
                    frames.push(RecordedFrame {
                        position: position + offset as i64,
                        header,
                        payload,
                    });
                    offset += aligned;
                }
                frames
            })
            .collect();
        assert_eq!(frames, expected);
        // PAD bodies were not stored.
        let pad = frames.iter().find(|f| f.is_padding()).unwrap();
        let base = segment_file_base_position(start, pad.position, TERM, SEGMENT);
        let file = std::fs::read(dir.path().join(segment_file_name(9, base))).unwrap();
        let at = (pad.position - base) as usize + HEADER_LENGTH;
        assert!(file[at..at + 64].iter().all(|&b| b == 0));
    }
}

#[test]
fn rejects_bad_blocks_and_existing_next_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        SegmentWriter::new(dir.path(), 1, 0, 0, TERM, SEGMENT, FileSyncLevel::None).unwrap();
    let mut bad = frame(0, 100, HDR_TYPE_DATA);
    le::put_i32(&mut bad, 0, 10);
    assert!(matches!(
        writer.on_block(&bad),
        Err(ArchiveStorageError::InvalidFrame { .. })
    ));
    le::put_i32(&mut bad, 0, 1000);
    assert!(matches!(
        writer.on_block(&bad),
        Err(ArchiveStorageError::InvalidFrame { .. })
    ));
    assert!(writer.on_block(&[0u8; 33]).is_err());
    // A block running past its term.
    let mut long = frame(0, TERM as usize - HEADER_LENGTH, HDR_TYPE_DATA);
    long.extend(frame(0, 0, HDR_TYPE_DATA));
    assert!(writer.on_block(&long).is_err());
    assert_eq!(writer.position(), 0);
    // Fill to the segment end when the next segment file already exists.
    std::fs::write(
        dir.path().join(segment_file_name(1, i64::from(SEGMENT))),
        b"x",
    )
    .unwrap();
    let mut position = 0;
    let mut result = Ok(());
    while position < i64::from(SEGMENT) {
        result = writer.on_block(&frame(
            position,
            TERM as usize - HEADER_LENGTH,
            HDR_TYPE_DATA,
        ));
        position += i64::from(TERM);
    }
    assert!(matches!(result, Err(ArchiveStorageError::SegmentExists(_))));
    assert!(writer
        .on_block(&frame(position, 10, HDR_TYPE_DATA))
        .is_err());
    assert!(SegmentWriter::new(dir.path(), 2, 0, 0, 1000, SEGMENT, FileSyncLevel::None).is_err());
    assert!(SegmentWriter::new(dir.path(), 2, 64, 32, TERM, SEGMENT, FileSyncLevel::None).is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn arbitrary_segment_bytes_never_panic(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096),
        words in proptest::collection::vec((0usize..128, proptest::prelude::any::<i32>()), 0..8),
        limit in 0i64..8192,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = bytes;
        for (at, value) in words {
            if at * 32 + 4 <= bytes.len() {
                le::put_i32(&mut bytes, at * 32, value);
            }
        }
        std::fs::write(dir.path().join("3-0.rec"), &bytes).unwrap();
        let limit = limit & !31;
        let reader = SegmentReader::new(dir.path(), 3, 0, TERM, SEGMENT, 0, limit).unwrap();
        for frame in reader.take(200) {
            let _ = frame;
        }
        let mut writer = SegmentWriter::new(dir.path(), 4, 0, 0, TERM, SEGMENT, FileSyncLevel::None).unwrap();
        let block = &bytes[..bytes.len() & !31];
        let _ = writer.on_block(block);
        let _ = compute_stop_position(dir.path(), 3, 0, TERM, SEGMENT);
    }
}

#[test]
fn reader_rejects_frames_crossing_a_term() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        SegmentWriter::new(dir.path(), 1, 0, 0, TERM, SEGMENT, FileSyncLevel::None).unwrap();
    writer.on_block(&frame(0, 64, HDR_TYPE_DATA)).unwrap();
    writer.close().unwrap();
    let path = dir.path().join("1-0.rec");
    let mut bytes = std::fs::read(&path).unwrap();
    le::put_i32(&mut bytes, 0, TERM + 32);
    std::fs::write(&path, bytes).unwrap();
    let mut reader =
        SegmentReader::new(dir.path(), 1, 0, TERM, SEGMENT, 0, i64::from(SEGMENT)).unwrap();
    assert!(matches!(
        reader.next_frame(),
        Err(ArchiveStorageError::InvalidFrame { position: 0, .. })
    ));
    // Missing segment file: an I/O error.
    let mut reader = SegmentReader::new(dir.path(), 5, 0, TERM, SEGMENT, 0, 64).unwrap();
    assert!(matches!(
        reader.next_frame(),
        Err(ArchiveStorageError::Io { .. })
    ));
    assert!(SegmentReader::new(dir.path(), 1, 0, TERM, SEGMENT, 64, 32).is_err());
}

/// The bytes a replay must see for `blocks`: data frames as written, padding header-only.
fn expected_bytes(blocks: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, block) in blocks {
        let mut offset = 0;
        while offset < block.len() {
            let header = DataHeader::decode(&block[offset..]).unwrap();
            let aligned = header.aligned_length();
            let mut frame = block[offset..offset + aligned].to_vec();
            if header.is_pad() {
                frame[HEADER_LENGTH..].fill(0);
            }
            out.extend(frame);
            offset += aligned;
        }
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    #[test]
    fn read_block_returns_every_frame_once_whatever_the_block_size(
        start_frames in 0i64..600,
        max_length in 32usize..200_000,
        from_step in 0usize..40,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let start = start_frames * 32;
        let mut writer =
            SegmentWriter::new(dir.path(), 1, start, start, TERM, SEGMENT, FileSyncLevel::None).unwrap();
        let blocks = blocks(start, start + 300_000);
        for (_, block) in &blocks {
            writer.on_block(block).unwrap();
        }
        let end = writer.position();
        writer.close().unwrap();
        let expected = expected_bytes(&blocks);
        // Start at a frame boundary some frames in.
        let mut from = start;
        let mut walked = 0;
        while walked < from_step && from < end {
            let at = (from - start) as usize;
            let length = i32::from_le_bytes(expected[at..at + 4].try_into().unwrap());
            from += align(length as usize, FRAME_ALIGNMENT) as i64;
            walked += 1;
        }
        let mut reader = SegmentReader::new(dir.path(), 1, start, TERM, SEGMENT, from, end).unwrap();
        let mut got = Vec::new();
        let mut buf = Vec::new();
        loop {
            let before = reader.position();
            let n = reader.read_block(&mut buf, max_length).unwrap();
            if n == 0 {
                break;
            }
            proptest::prop_assert_eq!(reader.position(), before + n as i64);
            // A block never crosses a term end and starts with one frame header.
            proptest::prop_assert!((before % i64::from(TERM)) + n as i64 <= i64::from(TERM));
            got.extend_from_slice(&buf[..n]);
        }
        proptest::prop_assert_eq!(reader.position(), end);
        proptest::prop_assert_eq!(&got[..], &expected[(from - start) as usize..]);
    }

    #[test]
    fn read_block_on_arbitrary_bytes_errs_or_stops_but_never_panics(
        garbage in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096),
        max_length in 32usize..8192,
    ) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(segment_file_name(2, 0)), &garbage).unwrap();
        let mut reader = SegmentReader::new(dir.path(), 2, 0, TERM, SEGMENT, 0, 4096).unwrap();
        let mut buf = Vec::new();
        for _ in 0..200 {
            match reader.read_block(&mut buf, max_length) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}
