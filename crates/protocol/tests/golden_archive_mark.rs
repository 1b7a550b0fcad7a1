//! Decodes the header of the real Java Aeron Archive 1.54 mark file (`archive-mark.dat`) and compares it
//! with `mark-file-dump.txt`; re-encodes it byte for byte.

use std::collections::BTreeMap;
use std::fs;

use oxeron_protocol::archive::mark::{
    MARK_FILE_SCHEMA_ID, MARK_FILE_SCHEMA_VERSION, MARK_FILE_VERSION,
};
use oxeron_protocol::archive::{ArchiveMarkFileHeader, MessageHeader, MARK_FILE_HEADER_LENGTH};

const DIR: &str = "aeron-java-archive-1.54";

#[test]
fn mark_file_header_matches_the_dump() {
    let dir = oxeron_testkit::golden_dir().join(DIR);
    let file = fs::read(dir.join("archive-mark.dat")).unwrap();
    assert_eq!(file.len(), 1_056_768);
    let dump = fs::read_to_string(dir.join("mark-file-dump.txt")).unwrap();

    let sbe = MessageHeader::decode(&file).unwrap();
    assert!(dump.contains(&format!(
        "messageHeader @0: blockLength={} templateId={} schemaId={} version={}",
        sbe.block_length, sbe.template_id, sbe.schema_id, sbe.version
    )));
    assert_eq!(
        (sbe.schema_id, sbe.version),
        (MARK_FILE_SCHEMA_ID, MARK_FILE_SCHEMA_VERSION)
    );

    let values: BTreeMap<&str, &str> = dump
        .lines()
        .filter_map(|l| l.strip_prefix("  ")?.split_once(" = "))
        .filter(|(name, _)| !name.starts_with('('))
        .map(|(name, value)| {
            let value = match value.strip_prefix('\'') {
                Some(quoted) => quoted.split_once("' (").unwrap().0,
                None => value,
            };
            (name, value)
        })
        .collect();

    let header = ArchiveMarkFileHeader::decode(&file).unwrap();
    let ours: BTreeMap<&str, String> = [
        ("version", header.version.to_string()),
        ("activityTimestamp", header.activity_timestamp.to_string()),
        ("startTimestamp", header.start_timestamp.to_string()),
        ("pid", header.pid.to_string()),
        ("controlStreamId", header.control_stream_id.to_string()),
        (
            "localControlStreamId",
            header.local_control_stream_id.to_string(),
        ),
        ("eventsStreamId", header.events_stream_id.to_string()),
        ("headerLength", header.header_length.to_string()),
        ("errorBufferLength", header.error_buffer_length.to_string()),
        ("archiveId", header.archive_id.to_string()),
        ("controlChannel", header.control_channel.to_string()),
        (
            "localControlChannel",
            header.local_control_channel.to_string(),
        ),
        ("eventsChannel", header.events_channel.to_string()),
        ("aeronDirectory", header.aeron_directory.to_string()),
    ]
    .into_iter()
    .collect();
    assert_eq!(ours.len(), values.len());
    for (name, value) in &ours {
        assert_eq!(values[name], value, "{name}");
    }
    assert_eq!(header.version, MARK_FILE_VERSION);
    assert_eq!(header.header_length as usize, MARK_FILE_HEADER_LENGTH);

    let error_log = header.error_log(&file);
    assert_eq!(error_log.len(), 1 << 20);
    assert!(error_log.iter().all(|&b| b == 0));

    // Re-encoding reproduces the header region, which is zero after the var data.
    let mut rebuilt = vec![0u8; MARK_FILE_HEADER_LENGTH];
    header.encode(&mut rebuilt);
    assert!(rebuilt[..] == file[..MARK_FILE_HEADER_LENGTH]);
}
