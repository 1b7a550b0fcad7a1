//! Our sender's frames on the wire against real Aeron C traffic (`udp-basic.pcap`): a plain UDP socket plays
//! the receiver, and the SETUP, data, heartbeat and end-of-stream frames our driver sends for the same stream
//! parameters match Aeron C's byte for byte, apart from session id, term ids and term offsets.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use oxeron_client::{Aeron, Context as ClientContext, OfferError};
use oxeron_driver::{Context, MediaDriver, ThreadingMode};
use oxeron_protocol::frame::setup::Setup;
use oxeron_protocol::frame::status::StatusMessage;
use oxeron_testkit::{golden_dir, temp_aeron_dir};

const SETUP: u16 = 5;
const DATA: u16 = 1;

/// UDP payloads of an Ethernet/IPv4 classic pcap file.
fn pcap_payloads(bytes: &[u8]) -> Vec<Vec<u8>> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(u32_at(0), 0xA1B2_C3D4, "little-endian microsecond pcap");
    assert_eq!(u32_at(20), 1, "Ethernet link type");
    let mut payloads = Vec::new();
    let mut offset = 24;
    while offset + 16 <= bytes.len() {
        let captured = u32_at(offset + 8) as usize;
        let packet = &bytes[offset + 16..offset + 16 + captured];
        offset += 16 + captured;
        let ip = &packet[14..];
        let header_length = usize::from(ip[0] & 0x0F) * 4;
        if ip[9] != 17 {
            continue;
        }
        let udp = &ip[header_length..];
        let length = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
        payloads.push(udp[8..length].to_vec());
    }
    payloads
}

fn frame_type(datagram: &[u8]) -> u16 {
    u16::from_le_bytes([datagram[6], datagram[7]])
}

fn frame_length(datagram: &[u8]) -> i32 {
    i32::from_le_bytes(datagram[..4].try_into().unwrap())
}

/// `datagram` with the byte ranges that differ between runs (ids, offsets) zeroed.
fn masked(datagram: &[u8], ranges: &[std::ops::Range<usize>]) -> Vec<u8> {
    let mut bytes = datagram.to_vec();
    for r in ranges {
        bytes[r.clone()].fill(0);
    }
    bytes
}

/// Term offset, session id and term id of a data header.
const DATA_IDS: [std::ops::Range<usize>; 3] = [8..12, 12..16, 20..24];
/// Session id, initial and active term ids of a SETUP.
const SETUP_IDS: [std::ops::Range<usize>; 2] = [12..16, 20..28];

fn receive_until(
    socket: &UdpSocket,
    what: &str,
    mut wanted: impl FnMut(&[u8]) -> bool,
) -> (Vec<u8>, std::net::SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buffer = vec![0u8; 65536];
    loop {
        assert!(Instant::now() < deadline, "no {what} within 10 s");
        if let Ok((n, from)) = socket.recv_from(&mut buffer) {
            if wanted(&buffer[..n]) {
                return (buffer[..n].to_vec(), from);
            }
        }
    }
}

#[test]
fn setup_data_heartbeat_and_eos_frames_match_aeron_c() {
    let golden =
        pcap_payloads(&std::fs::read(golden_dir().join("aeron-c-1.54/udp-basic.pcap")).unwrap());
    let find = |what: &str, f: &dyn Fn(&[u8]) -> bool| {
        golden
            .iter()
            .find(|d| f(d))
            .unwrap_or_else(|| panic!("no {what} in the pcap"))
            .clone()
    };
    let golden_setup = find("SETUP", &|d| frame_type(d) == SETUP);
    let golden_data = find("data", &|d| frame_type(d) == DATA && frame_length(d) == 46);
    let golden_heartbeat = find("heartbeat", &|d| {
        frame_type(d) == DATA && frame_length(d) == 0 && d[5] == 0xC0
    });
    let golden_eos = find("EOS", &|d| {
        frame_type(d) == DATA && frame_length(d) == 0 && d[5] == 0xE0
    });
    let setup_fields = Setup::decode(&golden_setup).unwrap();

    let dir = temp_aeron_dir();
    let aeron_dir = dir.path().join("aeron");
    let _driver = MediaDriver::launch(
        Context::new()
            .aeron_dir(&aeron_dir)
            .threading_mode(ThreadingMode::Shared)
            .term_buffer_length(setup_fields.term_length)
            .mtu_length(setup_fields.mtu)
            .term_buffer_sparse_file(true)
            .dir_delete_on_shutdown(true),
    )
    .unwrap();
    let aeron = Aeron::connect(ClientContext::new().aeron_dir(&aeron_dir)).unwrap();
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let port = receiver.local_addr().unwrap().port();
    let mut publication = aeron
        .add_exclusive_publication(
            &format!("aeron:udp?endpoint=127.0.0.1:{port}"),
            setup_fields.stream_id,
        )
        .unwrap();

    let (setup, sender) = receive_until(&receiver, "SETUP", |d| frame_type(d) == SETUP);
    assert_eq!(
        masked(&setup, &SETUP_IDS),
        masked(&golden_setup, &SETUP_IDS)
    );
    let ours = Setup::decode(&setup).unwrap();
    let sm = StatusMessage {
        flags: 0,
        session_id: ours.session_id,
        stream_id: ours.stream_id,
        consumption_term_id: ours.active_term_id,
        consumption_term_offset: ours.term_offset,
        receiver_window: 128 * 1024,
        receiver_id: 42,
        group_tag: None,
    };
    let mut bytes = vec![0u8; 64];
    let n = sm.encode(&mut bytes);
    receiver.send_to(&bytes[..n], sender).unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match publication.offer(&golden_data[32..46]) {
            Ok(_) => break,
            Err(OfferError::NotConnected | OfferError::BackPressured) => {
                assert!(Instant::now() < deadline, "publication never connected");
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("offer: {e}"),
        }
    }
    let (data, _) = receive_until(&receiver, "data", |d| {
        frame_type(d) == DATA && frame_length(d) == 46
    });
    assert_eq!(masked(&data, &DATA_IDS), masked(&golden_data, &DATA_IDS));
    let (heartbeat, _) = receive_until(&receiver, "heartbeat", |d| {
        frame_type(d) == DATA && frame_length(d) == 0 && d[5] == 0xC0
    });
    assert_eq!(
        masked(&heartbeat, &DATA_IDS),
        masked(&golden_heartbeat, &DATA_IDS)
    );
    drop(publication);
    let (eos, _) = receive_until(&receiver, "end-of-stream heartbeat", |d| {
        frame_type(d) == DATA && frame_length(d) == 0 && d[5] == 0xE0
    });
    assert_eq!(masked(&eos, &DATA_IDS), masked(&golden_eos, &DATA_IDS));
}
