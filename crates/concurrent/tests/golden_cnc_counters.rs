//! Reads the counters and error log of a real Aeron C 1.54 driver's `cnc.dat` and compares them with what
//! Aeron's own `AeronStat` printed for the same file.

use oxeron_testkit as golden_dir;

use oxeron_concurrent::counters::type_id::*;
use oxeron_concurrent::counters::{
    CountersReader, MAX_KEY_LENGTH, RECORD_ALLOCATED, RECORD_RECLAIMED, RECORD_UNUSED,
};
use oxeron_concurrent::error_log::ErrorLogReader;
use oxeron_concurrent::{AtomicBuffer, MappedFile};
use oxeron_protocol::le;

const CNC_HEADER_LENGTH: usize = 128;

struct Sections {
    metadata: AtomicBuffer,
    values: AtomicBuffer,
    error_log: AtomicBuffer,
}

/// Section offsets from the CnC header: five `i32` lengths at 4..24, sections from 128 in that order.
fn sections(cnc: &MappedFile) -> Sections {
    let b = cnc.buffer();
    let length = |offset| usize::try_from(b.get_i32(offset)).expect("negative section length");
    let (to_driver, to_clients) = (length(4), length(8));
    let (metadata, values, errors) = (length(12), length(16), length(20));
    let metadata_offset = CNC_HEADER_LENGTH + to_driver + to_clients;
    let values_offset = metadata_offset + metadata;
    let errors_offset = values_offset + values;
    Sections {
        metadata: b.view(metadata_offset, metadata).unwrap(),
        values: b.view(values_offset, values).unwrap(),
        error_log: b.view(errors_offset, errors).unwrap(),
    }
}

fn open_cnc() -> MappedFile {
    let path = golden_dir::golden_dir().join("aeron-c-1.54/cnc-live.dat");
    MappedFile::open_private(&path, CNC_HEADER_LENGTH).unwrap()
}

#[derive(Debug, PartialEq)]
struct StatRow {
    id: i32,
    value: i64,
    label: String,
}

/// Parses `AeronStat` rows: `<id>: <value with commas> - <label>`.
fn aeronstat_rows() -> Vec<StatRow> {
    let path = golden_dir::golden_dir().join("aeron-c-1.54/aeronstat.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let mut rows = Vec::new();
    for line in text.lines() {
        let Some((id, rest)) = line.trim_start().split_once(':') else {
            continue;
        };
        let Ok(id) = id.parse::<i32>() else {
            continue;
        };
        let (value, label) = rest.split_once(" - ").expect("row without ' - '");
        let value = value.trim().replace(',', "").parse::<i64>().unwrap();
        rows.push(StatRow {
            id,
            value,
            label: label.to_owned(),
        });
    }
    rows
}

/// Type id implied by a label, and whether the label names a stream counter (stream key).
fn expected_type_id(id: i32, label: &str) -> (i32, bool) {
    if (id as usize) < SYSTEM_COUNTERS.len() {
        return (DRIVER_SYSTEM_COUNTER_TYPE_ID, false);
    }
    let name = label.split(':').next().unwrap();
    let stream = |t| (t, true);
    match name {
        RECEIVE_CHANNEL_STATUS_NAME => (DRIVER_RECEIVE_CHANNEL_STATUS_TYPE_ID, false),
        SEND_CHANNEL_STATUS_NAME => (DRIVER_SEND_CHANNEL_STATUS_TYPE_ID, false),
        RECEIVE_LOCAL_SOCKADDR_NAME | SEND_LOCAL_SOCKADDR_NAME => {
            (DRIVER_LOCAL_SOCKET_ADDRESS_STATUS_TYPE_ID, false)
        }
        CLIENT_HEARTBEAT_NAME => (DRIVER_HEARTBEAT_TYPE_ID, false),
        PUBLISHER_POSITION_CONCURRENT_NAME | PUBLISHER_POSITION_EXCLUSIVE_NAME => {
            stream(DRIVER_PUBLISHER_POS_TYPE_ID)
        }
        PUBLISHER_LIMIT_NAME => stream(DRIVER_PUBLISHER_LIMIT_TYPE_ID),
        SENDER_POSITION_NAME => stream(DRIVER_SENDER_POSITION_TYPE_ID),
        SENDER_LIMIT_NAME => stream(DRIVER_SENDER_LIMIT_TYPE_ID),
        SENDER_BPE_NAME => stream(DRIVER_SENDER_BPE_TYPE_ID),
        SENDER_NAKS_RECEIVED_NAME => stream(DRIVER_SENDER_NAKS_RECEIVED_TYPE_ID),
        RECEIVER_HWM_NAME => stream(DRIVER_RECEIVER_HWM_TYPE_ID),
        RECEIVER_POSITION_NAME => stream(DRIVER_RECEIVER_POS_TYPE_ID),
        RECEIVER_NAKS_SENT_NAME => stream(DRIVER_RECEIVER_NAKS_SENT_TYPE_ID),
        SUBSCRIBER_POSITION_NAME => stream(DRIVER_SUBSCRIBER_POSITION_TYPE_ID),
        other => panic!("unexpected counter label {other:?}"),
    }
}

#[test]
fn counters_match_aeronstat() {
    let cnc = open_cnc();
    let s = sections(&cnc);
    let reader = CountersReader::new(s.metadata, s.values).unwrap();
    assert_eq!(reader.max_counter_id(), 1024 * 1024 / 128 - 1);

    let mut listed = Vec::new();
    let mut keys = Vec::new();
    reader.for_each_counter(|value, id, type_id, key, label| {
        listed.push((
            StatRow {
                id,
                value,
                label: label.to_owned(),
            },
            type_id,
        ));
        keys.push(<[u8; MAX_KEY_LENGTH]>::try_from(key).unwrap());
    });

    let rows = aeronstat_rows();
    assert_eq!(rows.len(), 61, "aeronstat.txt lists ids 0..=61 without 57");
    assert_eq!(listed.len(), rows.len());

    for (((row, type_id), key), expected) in listed.iter().zip(&keys).zip(&rows) {
        assert_eq!(row, expected);
        let id = row.id;
        let (expected_type, is_stream) = expected_type_id(id, &row.label);
        assert_eq!(*type_id, expected_type, "type id of counter {id}");
        assert_eq!(reader.counter_type_id(id), Ok(expected_type));
        assert_eq!(reader.counter_label(id).unwrap(), row.label);
        assert_eq!(reader.counter_value(id), Ok(row.value));

        if expected_type == DRIVER_SYSTEM_COUNTER_TYPE_ID {
            assert!(row.label.starts_with(SYSTEM_COUNTERS[id as usize].label));
            assert_eq!(le::get_i32(key, 0), id, "system counter key is its id");
            assert_eq!(reader.counter_registration_id(id), Ok(i64::from(id)));
            assert_eq!(reader.counter_owner_id(id), Ok(-1));
        }
        if is_stream {
            // "<name>: <registration id> <session id> <stream id> <channel>"
            let fields: Vec<&str> = row.label.split(": ").nth(1).unwrap().split(' ').collect();
            let registration_id: i64 = fields[0].parse().unwrap();
            let session_id: i32 = fields[1].parse().unwrap();
            let stream_id: i32 = fields[2].parse().unwrap();
            assert_eq!(le::get_i64(key, 0), registration_id);
            assert_eq!(le::get_i32(key, 8), session_id);
            assert_eq!(le::get_i32(key, 12), stream_id);
            let (channel, _) = le::get_string("stream key", "channel", key, 16).unwrap();
            assert_eq!(channel, fields[3]);
            assert_eq!(reader.counter_registration_id(id), Ok(registration_id));
        }
        if expected_type == DRIVER_HEARTBEAT_TYPE_ID {
            let client_id: i64 = row.label["client-heartbeat: id=".len()..]
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(le::get_i64(key, 0), client_id);
            assert_eq!(reader.counter_registration_id(id), Ok(client_id));
            assert_eq!(reader.counter_owner_id(id), Ok(client_id));
            assert_eq!(
                reader.find_by_type_id_and_registration_id(DRIVER_HEARTBEAT_TYPE_ID, client_id),
                Some(id)
            );
        }
    }

    // The publisher's client (id 3) had gone: its heartbeat counter 57 is reclaimed, with a reuse deadline
    // and its key zeroed, and the scan stops at the first unused record, 62.
    assert_eq!(reader.counter_state(57), Ok(RECORD_RECLAIMED));
    assert_eq!(reader.counter_type_id(57), Ok(DRIVER_HEARTBEAT_TYPE_ID));
    assert_eq!(reader.free_for_reuse_deadline(57), Ok(1_795_528_570_333));
    assert_eq!(reader.counter_key(57).unwrap(), [0; MAX_KEY_LENGTH]);
    assert_eq!(
        reader.find_by_type_id_and_registration_id(DRIVER_HEARTBEAT_TYPE_ID, 3),
        None
    );
    assert_eq!(reader.counter_state(61), Ok(RECORD_ALLOCATED));
    assert_eq!(reader.counter_state(62), Ok(RECORD_UNUSED));

    // The publication's counters are owned by client 3, the subscription's by client 1; sub-pos refers to
    // the image (registration id 5).
    assert_eq!(reader.counter_owner_id(51), Ok(3));
    assert_eq!(reader.counter_owner_id(61), Ok(1));
    assert_eq!(reader.counter_reference_id(61), Ok(5));
    assert_eq!(
        reader.find_by_type_id_and_registration_id(DRIVER_SUBSCRIBER_POSITION_TYPE_ID, 2),
        Some(61)
    );
}

#[test]
fn error_log_is_empty() {
    let cnc = open_cnc();
    let s = sections(&cnc);
    assert_eq!(s.error_log.capacity(), 4 * 1024 * 1024);
    assert!(!ErrorLogReader::has_errors(&s.error_log));
    let n = ErrorLogReader::try_read(&s.error_log, 0, |_, _, _, text| {
        panic!("unexpected error entry {text}")
    });
    assert_eq!(n, Ok(0));
}
