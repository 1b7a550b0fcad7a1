//! Decodes the real Java Aeron Archive 1.54 catalog (`archive.catalog`) and compares it field by field with
//! `catalog-dump.txt` and `recordings.txt`; re-encodes it byte for byte; checks the segment file names and
//! base positions of the golden recordings.

use std::collections::BTreeMap;
use std::fs;

use oxeron_protocol::archive::{
    catalog_entry_length, parse_segment_file_name, segment_file_base_position, segment_file_name,
    CatalogEntry, CatalogHeader, CatalogWalker, RecordingDescriptor, RecordingState,
    CATALOG_HEADER_LENGTH, CATALOG_VERSION,
};

const DIR: &str = "aeron-java-archive-1.54";

/// A section of `catalog-dump.txt`: its title (`CatalogHeader @0` ...) and `name = value` lines.
struct Section {
    title: String,
    values: BTreeMap<String, String>,
}

fn read_dump(text: &str) -> (Vec<Section>, usize) {
    let mut sections: Vec<Section> = Vec::new();
    let mut first_unused = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("first unused byte offset = ") {
            let (offset, _) = rest.split_once(';').unwrap();
            first_unused = Some(offset.trim().parse().unwrap());
        } else if line.starts_with("CatalogHeader @") || line.starts_with("RecordingDescriptor") {
            let title = line
                .split(" (")
                .next()
                .unwrap()
                .trim_end_matches(':')
                .to_string();
            sections.push(Section {
                title,
                values: BTreeMap::new(),
            });
        } else if let Some((name, value)) =
            line.strip_prefix("  ").and_then(|l| l.split_once(" = "))
        {
            // Strings are quoted and followed by where the dump found them.
            let value = match value.strip_prefix('\'') {
                Some(quoted) => quoted.split_once("' (").unwrap().0.to_string(),
                None => value.split(' ').next().unwrap().to_string(),
            };
            sections
                .last_mut()
                .unwrap()
                .values
                .insert(name.to_string(), value);
        }
    }
    (sections, first_unused.unwrap())
}

/// `name=value` pairs of a `RecordingDescriptor:` line of `recordings.txt`.
fn read_listing_line(line: &str) -> BTreeMap<String, String> {
    line.trim_start_matches("RecordingDescriptor: ")
        .split(' ')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap();
            (name.to_string(), value.to_string())
        })
        .collect()
}

fn descriptor_fields(d: &RecordingDescriptor<'_>) -> BTreeMap<String, String> {
    [
        ("controlSessionId", d.control_session_id.to_string()),
        ("correlationId", d.correlation_id.to_string()),
        ("recordingId", d.recording_id.to_string()),
        ("startTimestamp", d.start_timestamp.to_string()),
        ("stopTimestamp", d.stop_timestamp.to_string()),
        ("startPosition", d.start_position.to_string()),
        ("stopPosition", d.stop_position.to_string()),
        ("initialTermId", d.initial_term_id.to_string()),
        ("segmentFileLength", d.segment_file_length.to_string()),
        ("termBufferLength", d.term_buffer_length.to_string()),
        ("mtuLength", d.mtu_length.to_string()),
        ("sessionId", d.session_id.to_string()),
        ("streamId", d.stream_id.to_string()),
        ("strippedChannel", d.stripped_channel.to_string()),
        ("originalChannel", d.original_channel.to_string()),
        ("sourceIdentity", d.source_identity.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn state_text(state: RecordingState) -> String {
    match state {
        RecordingState::Valid => "VALID(1)".into(),
        RecordingState::Invalid => "INVALID(0)".into(),
        RecordingState::Deleted => "DELETED(2)".into(),
        RecordingState::Unknown(v) => format!("?({v})"),
    }
}

#[test]
fn catalog_matches_the_dump_and_the_listing() {
    let dir = oxeron_testkit::golden_dir().join(DIR);
    let file = fs::read(dir.join("archive.catalog")).unwrap();
    assert_eq!(file.len(), 1 << 20);
    let (sections, first_unused) =
        read_dump(&fs::read_to_string(dir.join("catalog-dump.txt")).unwrap());

    let (header, mut walker) = CatalogWalker::new(&file).unwrap();
    let entries: Vec<CatalogEntry<'_>> = walker.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(walker.offset(), first_unused);
    assert!(file[first_unused..].iter().all(|&b| b == 0));

    assert_eq!(sections[0].title, "CatalogHeader @0");
    let h = &sections[0].values;
    assert_eq!(h["version"], header.version.to_string());
    assert_eq!(h["length"], header.length.to_string());
    assert_eq!(h["nextRecordingId"], header.next_recording_id.to_string());
    assert_eq!(h["alignment"], header.alignment.to_string());
    assert_eq!(header, CatalogHeader::new(3, 64));
    assert_eq!(header.version, CATALOG_VERSION);

    assert_eq!(sections.len(), 1 + 2 * entries.len());
    assert_eq!(entries.len(), 3);
    for (entry, pair) in entries.iter().zip(sections[1..].chunks(2)) {
        let (dh, body) = (&pair[0], &pair[1]);
        assert_eq!(
            dh.title,
            format!("RecordingDescriptorHeader @{}", entry.offset)
        );
        assert_eq!(
            body.title,
            format!("RecordingDescriptor @{}", entry.offset + 32)
        );
        assert_eq!(dh.values["length"], entry.header.length.to_string());
        assert_eq!(dh.values["state"], state_text(entry.header.state));
        assert_eq!(dh.values["checksum"], entry.header.checksum.to_string());
        assert_eq!(
            body.values,
            descriptor_fields(&entry.descriptor),
            "{}",
            body.title
        );
        assert_eq!(
            catalog_entry_length(&entry.descriptor, header.entry_alignment()),
            entry.next_offset() - entry.offset
        );
    }

    // The listing taken just before the archive was killed has the catalog's values, plus the listing's
    // controlSessionId and correlationId (the catalog stores 0 in both).
    let listing = fs::read_to_string(dir.join("recordings.txt")).unwrap();
    let last_snapshot = listing
        .split("### listRecordings with C ACTIVE")
        .nth(1)
        .unwrap();
    let lines: Vec<_> = last_snapshot
        .lines()
        .filter(|l| l.starts_with("RecordingDescriptor: "))
        .collect();
    assert_eq!(lines.len(), 3);
    for (entry, line) in entries.iter().zip(lines) {
        let listed = read_listing_line(line);
        let d = RecordingDescriptor {
            control_session_id: listed["controlSessionId"].parse().unwrap(),
            correlation_id: listed["correlationId"].parse().unwrap(),
            ..entry.descriptor
        };
        assert_eq!(descriptor_fields(&d), listed);
    }

    // Re-encoding the header and every entry reproduces the whole file.
    let mut rebuilt = vec![0u8; file.len()];
    header.encode_body(&mut rebuilt);
    let mut offset = CATALOG_HEADER_LENGTH;
    for entry in &entries {
        assert_eq!(offset, entry.offset);
        offset += CatalogEntry::encode(
            &entry.descriptor,
            entry.header.state,
            entry.header.checksum,
            header.entry_alignment(),
            &mut rebuilt[offset..],
        );
    }
    assert!(rebuilt == file, "re-encoded catalog differs");
}

#[test]
fn segment_files_are_where_the_arithmetic_puts_them() {
    let dir = oxeron_testkit::golden_dir().join(DIR);
    let file = fs::read(dir.join("archive.catalog")).unwrap();
    let (_, walker) = CatalogWalker::new(&file).unwrap();
    let descriptors: BTreeMap<i64, RecordingDescriptor<'_>> = walker
        .map(|entry| entry.unwrap().descriptor)
        .map(|d| (d.recording_id, d))
        .collect();

    let mut names: Vec<(i64, i64)> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| parse_segment_file_name(e.unwrap().file_name().to_str().unwrap()))
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            (0, 0),
            (0, 262_144),
            (0, 524_288),
            (0, 786_432),
            (1, 0),
            (2, 0)
        ]
    );

    // Recorded ends: stop positions, and 15968 for the recording active at the crash.
    let ends = [(0, 927_936), (1, 185_664), (2, 15_968)];
    for (id, end) in ends {
        let d = &descriptors[&id];
        let last = segment_file_base_position(
            d.start_position,
            end - 1,
            d.term_buffer_length,
            d.segment_file_length,
        );
        let segments: Vec<i64> = names.iter().filter(|n| n.0 == id).map(|n| n.1).collect();
        assert_eq!(segments.last(), Some(&last));
        for (i, base) in segments.iter().enumerate() {
            assert_eq!(*base, i as i64 * i64::from(d.segment_file_length));
            let position = base + 100;
            assert_eq!(
                segment_file_base_position(
                    d.start_position,
                    position,
                    d.term_buffer_length,
                    d.segment_file_length
                ),
                *base
            );
            let name = segment_file_name(id, *base);
            let len = fs::metadata(dir.join(&name)).unwrap().len() as i64;
            assert!(len <= i64::from(d.segment_file_length), "{name}");
        }
        // The last (truncated) file ends at the recorded end.
        let len = fs::metadata(dir.join(segment_file_name(id, last)))
            .unwrap()
            .len() as i64;
        assert_eq!(last + len, end);
    }
}
