//! CnC headers written by the real Aeron 1.54 C driver.

use oxeron_testkit as golden;

use std::collections::HashMap;

use oxeron_protocol::cnc::{CncHeader, CncLayout, CNC_HEADER_LENGTH, CNC_VERSION};
use oxeron_protocol::le;

const DIR: &str = "aeron-c-1.54";

fn read(name: &str) -> Vec<u8> {
    let path = golden::golden_dir().join(DIR).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// What `cnc-header.txt` records: the `xxd -l 128` dump, the decoded fields, the section table, the file size.
struct HeaderText {
    bytes: Vec<u8>,
    fields: HashMap<String, i64>,
    sections: HashMap<String, (usize, usize)>,
    file_size: usize,
}

fn parse_header_text() -> HeaderText {
    let text = String::from_utf8(read("cnc-header.txt")).unwrap();
    let mut bytes = Vec::new();
    let mut fields = HashMap::new();
    let mut sections = HashMap::new();
    let mut file_size = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("file size: ") {
            file_size = Some(rest.split_whitespace().next().unwrap().parse().unwrap());
        } else if line.len() > 10
            && line.as_bytes()[8] == b':'
            && line[..8].chars().all(|c| c.is_ascii_hexdigit())
        {
            let offset = usize::from_str_radix(&line[..8], 16).unwrap();
            assert_eq!(offset, bytes.len(), "hexdump lines out of order");
            for group in line[10..].split_whitespace().take(8) {
                for i in (0..group.len()).step_by(2) {
                    bytes.push(u8::from_str_radix(&group[i..i + 2], 16).unwrap());
                }
            }
        } else if let Some((name, value)) = line
            .split_once(" = ")
            .filter(|(name, _)| name.contains('@'))
        {
            let name = name.split('(').next().unwrap().trim().to_string();
            fields.insert(name, value.trim().parse().unwrap());
        } else if line.contains(" offset ") && line.contains(" length ") {
            let words: Vec<_> = line.split_whitespace().collect();
            let offset = words[2].parse().unwrap();
            let length = words[words.len() - 1].parse().unwrap();
            sections.insert(words[0].to_string(), (offset, length));
        }
    }
    assert_eq!(
        bytes.len(),
        CNC_HEADER_LENGTH,
        "hexdump should hold the 128-byte header"
    );
    HeaderText {
        bytes,
        fields,
        sections,
        file_size: file_size.expect("file size line"),
    }
}

#[test]
fn fresh_driver_header_matches_every_recorded_field() {
    let text = parse_header_text();
    let header = CncHeader::decode(&text.bytes).unwrap();
    let decoded: [(&str, i64); 10] = [
        ("cnc_version", header.cnc_version.into()),
        (
            "to_driver_buffer_length",
            header.to_driver_buffer_length.into(),
        ),
        (
            "to_clients_buffer_length",
            header.to_clients_buffer_length.into(),
        ),
        (
            "counter_metadata_buffer_length",
            header.counters_metadata_buffer_length.into(),
        ),
        (
            "counter_values_buffer_length",
            header.counters_values_buffer_length.into(),
        ),
        (
            "error_log_buffer_length",
            header.error_log_buffer_length.into(),
        ),
        (
            "client_liveness_timeout_ns",
            header.client_liveness_timeout_ns,
        ),
        ("start_timestamp_ms", header.start_timestamp_ms),
        ("pid", header.pid),
        ("file_page_size", header.file_page_size.into()),
    ];
    assert_eq!(
        text.fields.len(),
        decoded.len(),
        "fields in cnc-header.txt: {:?}",
        text.fields
    );
    for (name, value) in decoded {
        assert_eq!(text.fields.get(name), Some(&value), "field {name}");
    }
    assert_eq!(header.cnc_version, CNC_VERSION);
    assert_eq!(header.check_version(), Ok(()));

    let layout = header.layout().unwrap();
    let computed: [(&str, usize, usize); 5] = [
        (
            "to_driver_buffer",
            layout.to_driver_offset,
            layout.to_driver_length,
        ),
        (
            "to_clients_buffer",
            layout.to_clients_offset,
            layout.to_clients_length,
        ),
        (
            "counter_metadata_buffer",
            layout.counters_metadata_offset,
            layout.counters_metadata_length,
        ),
        (
            "counter_values_buffer",
            layout.counters_values_offset,
            layout.counters_values_length,
        ),
        (
            "error_log_buffer",
            layout.error_log_offset,
            layout.error_log_length,
        ),
    ];
    assert_eq!(
        text.sections.len(),
        computed.len(),
        "sections: {:?}",
        text.sections
    );
    for (name, offset, length) in computed {
        assert_eq!(
            text.sections.get(name),
            Some(&(offset, length)),
            "section {name}"
        );
    }
    assert_eq!(layout.required_length, 48_235_520);
    assert_eq!(layout.file_length, text.file_size);
    assert_eq!(layout.file_length, 48_238_592);

    // Re-encoding gives back the driver's bytes exactly.
    assert_eq!(header.to_vec(), text.bytes);
}

#[test]
fn live_file_header_and_sections() {
    let file = read("cnc-live.dat");
    let header = CncHeader::decode(&file).unwrap();
    assert_eq!(
        header,
        CncHeader {
            cnc_version: 512,
            to_driver_buffer_length: 1_049_344,
            to_clients_buffer_length: 1_048_704,
            counters_metadata_buffer_length: 4_194_304,
            counters_values_buffer_length: 1_048_576,
            error_log_buffer_length: 4_194_304,
            client_liveness_timeout_ns: 10_000_000_000,
            start_timestamp_ms: 1_795_528_562_329,
            pid: 18819,
            file_page_size: 4096,
        }
    );
    assert_eq!(header.to_vec(), file[..CNC_HEADER_LENGTH]);

    // The same driver build as cnc-header.txt: the settings it shares with the fresh capture agree.
    let fresh = CncHeader::decode(&parse_header_text().bytes).unwrap();
    assert_eq!(header.cnc_version, fresh.cnc_version);
    assert_eq!(
        header.to_driver_buffer_length,
        fresh.to_driver_buffer_length
    );
    assert_eq!(
        header.to_clients_buffer_length,
        fresh.to_clients_buffer_length
    );
    assert_eq!(
        header.error_log_buffer_length,
        fresh.error_log_buffer_length
    );
    assert_eq!(
        header.client_liveness_timeout_ns,
        fresh.client_liveness_timeout_ns
    );
    assert_eq!(header.file_page_size, fresh.file_page_size);

    let layout = header.layout().unwrap();
    assert_eq!(
        layout,
        CncLayout {
            to_driver_offset: 128,
            to_driver_length: 1_049_344,
            to_clients_offset: 1_049_472,
            to_clients_length: 1_048_704,
            counters_metadata_offset: 2_098_176,
            counters_metadata_length: 4_194_304,
            counters_values_offset: 6_292_480,
            counters_values_length: 1_048_576,
            error_log_offset: 7_341_056,
            error_log_length: 4_194_304,
            required_length: 11_535_360,
            file_length: 11_538_432,
        }
    );
    assert_eq!(layout.file_length, file.len());
    assert!(header.is_file_length_sufficient(file.len()));

    // The computed offsets land on real data (values from aeronstat.txt).
    let ring_capacity = layout.to_driver_length - 768;
    let ring_trailer = layout.to_driver_offset + ring_capacity;
    assert_eq!(
        le::get_i64(&file, ring_trailer + 512),
        6,
        "correlation counter"
    );
    assert_eq!(
        le::get_i64(&file, ring_trailer + 640),
        1_795_528_569_333,
        "consumer heartbeat"
    );
    let counter = |id: usize| {
        let meta = layout.counters_metadata_offset + id * 512;
        let label_len = le::get_i32(&file, meta + 128) as usize;
        (
            le::get_i32(&file, meta),
            le::get_i32(&file, meta + 4),
            String::from_utf8(file[meta + 132..meta + 132 + label_len].to_vec()).unwrap(),
            le::get_i64(&file, layout.counters_values_offset + id * 128),
        )
    };
    assert_eq!(counter(0), (1, 0, "Bytes sent".to_string(), 1568));
    assert_eq!(
        counter(43),
        (1, 0, "Control protocol version".to_string(), 65536)
    );
    assert_eq!(
        counter(51),
        (
            1,
            12,
            "pub-pos (concurrent): 4 784920550 1001 aeron:udp?endpoint=localhost:24400|term-length=65536"
                .to_string(),
            192
        )
    );
    assert_eq!(
        le::get_i32(&file, layout.error_log_offset),
        0,
        "empty error log"
    );
}
