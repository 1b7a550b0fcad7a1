//! The client's readers against files written by the real Aeron C 1.54 driver, and the driver's own
//! `cnc.dat` against the layout of the one Aeron C wrote.

use oxeron_client::cnc_file::CncFile;
use oxeron_client::logbuffer::{read_term, Header, LogBuffers};
use oxeron_concurrent::counters::CountersReader;
use oxeron_driver::{Context, MediaDriver, ThreadingMode};
use oxeron_protocol::cnc::CncHeader;
use oxeron_testkit::{golden_dir, temp_aeron_dir};

/// `(id, value, label)` rows of Aeron C's AeronStat output.
fn aeronstat_rows() -> Vec<(i32, i64, String)> {
    let text = std::fs::read_to_string(golden_dir().join("aeron-c-1.54/aeronstat.txt")).unwrap();
    text.lines()
        .filter_map(|line| {
            let (id, rest) = line.trim_start().split_once(':')?;
            let id = id.parse().ok()?;
            let (value, label) = rest.split_once(" - ")?;
            let value = value.trim().replace(',', "").parse().ok()?;
            Some((id, value, label.to_string()))
        })
        .collect()
}

fn counters_of(cnc: &CncFile) -> Vec<(i32, i64, String)> {
    let reader = CountersReader::new(
        cnc.counters_metadata_buffer().clone(),
        cnc.counters_values_buffer().clone(),
    )
    .unwrap();
    let mut rows = Vec::new();
    reader.for_each_counter(|value, id, _type_id, _key, label| {
        rows.push((id, value, label.to_string()))
    });
    rows
}

#[test]
fn client_lists_the_same_counters_as_aeronstat() {
    let cnc = CncFile::map_private(&golden_dir().join("aeron-c-1.54/cnc-live.dat")).unwrap();
    let expected = aeronstat_rows();
    assert_eq!(expected.len(), 61, "rows in aeronstat.txt");
    assert_eq!(counters_of(&cnc), expected);
}

#[test]
fn term_reader_finds_hello_world_in_both_golden_logs() {
    for name in [
        "publication-udp-term64k.logbuffer",
        "image-udp-term64k.logbuffer",
    ] {
        let log = LogBuffers::map_private(golden_dir().join("aeron-c-1.54").join(name)).unwrap();
        assert_eq!(log.term_length(), 65536, "{name}");
        assert_eq!(log.metadata().mtu_length(), 1408, "{name}");
        let initial_term_id = log.metadata().initial_term_id();
        let mut found = Vec::new();
        let outcome = read_term(
            log.term(0),
            0,
            10,
            initial_term_id,
            16,
            &mut |payload: &[u8], h: &Header| {
                found.push((
                    String::from_utf8(payload.to_vec()).unwrap(),
                    h.position(),
                    h.session_id(),
                    h.stream_id(),
                ))
            },
        );
        assert_eq!(outcome.fragments_read, 3, "{name}");
        assert_eq!(
            found,
            [
                ("Hello World! 0".to_string(), 64, 784920550, 1001),
                ("Hello World! 1".to_string(), 128, 784920550, 1001),
                ("Hello World! 2".to_string(), 192, 784920550, 1001),
            ],
            "{name}"
        );
    }
}

#[test]
fn our_cnc_has_aeron_c_header_fields_section_order_and_counter_records() {
    let golden = CncFile::map_private(&golden_dir().join("aeron-c-1.54/cnc-live.dat")).unwrap();
    let dir = temp_aeron_dir();
    let driver = MediaDriver::launch(
        Context::new()
            .aeron_dir(dir.path().join("aeron"))
            .threading_mode(ThreadingMode::Shared),
    )
    .unwrap();
    let ours = CncFile::map(driver.aeron_dir()).unwrap();
    let (g, o): (&CncHeader, &CncHeader) = (golden.header(), ours.header());
    assert_eq!(o.cnc_version, g.cnc_version);
    assert_eq!(o.to_driver_buffer_length, g.to_driver_buffer_length);
    assert_eq!(o.to_clients_buffer_length, g.to_clients_buffer_length);
    assert_eq!(o.client_liveness_timeout_ns, g.client_liveness_timeout_ns);
    assert_eq!(o.file_page_size, g.file_page_size);
    assert_eq!(o.pid, i64::from(std::process::id()));
    // Aeron C's defaults (cnc-header.txt, a fresh driver with default buffers): counters 8 MiB values and
    // 32 MiB metadata, 4 MiB error log, 48,238,592 bytes in all.
    assert_eq!(o.counters_values_buffer_length, 8 * 1024 * 1024);
    assert_eq!(o.counters_metadata_buffer_length, 32 * 1024 * 1024);
    assert_eq!(o.error_log_buffer_length, 4 * 1024 * 1024);
    assert_eq!(ours.file().len(), 48_238_592);
    let (gl, ol) = (golden.layout(), ours.layout());
    assert_eq!(
        (ol.to_driver_offset, ol.to_clients_offset),
        (gl.to_driver_offset, gl.to_clients_offset)
    );
    assert_eq!(ol.counters_metadata_offset, 2_098_176);
    assert_eq!(ol.counters_values_offset, 35_652_608);
    assert_eq!(ol.error_log_offset, 44_041_216);

    // The system counters: same ids, and the same labels apart from the version and commit text.
    let golden_rows = counters_of(&golden);
    let our_rows = counters_of(&ours);
    let strip = |label: &str| label.split(": version=").next().unwrap().to_string();
    for id in 0..46 {
        let g = &golden_rows[id];
        let o = &our_rows[id];
        assert_eq!(o.0, g.0);
        assert_eq!(strip(&o.2), strip(&g.2), "label of system counter {id}");
    }
    let reader = CountersReader::new(
        ours.counters_metadata_buffer().clone(),
        ours.counters_values_buffer().clone(),
    )
    .unwrap();
    let golden_reader = CountersReader::new(
        golden.counters_metadata_buffer().clone(),
        golden.counters_values_buffer().clone(),
    )
    .unwrap();
    for id in 0..46 {
        assert_eq!(
            reader.counter_type_id(id).unwrap(),
            golden_reader.counter_type_id(id).unwrap()
        );
        assert_eq!(
            reader.counter_key(id).unwrap(),
            golden_reader.counter_key(id).unwrap()
        );
        assert_eq!(
            reader.counter_registration_id(id).unwrap(),
            golden_reader.counter_registration_id(id).unwrap()
        );
        assert_eq!(
            reader.counter_owner_id(id).unwrap(),
            golden_reader.counter_owner_id(id).unwrap()
        );
    }
    assert_eq!(
        reader.counter_value(34).unwrap(),
        79_360,
        "Aeron software version 1.54.0"
    );
    assert_eq!(
        reader.counter_value(43).unwrap(),
        65_536,
        "control protocol 1.0.0"
    );
    driver.close();
}
