//! Decodes every datagram of a capture of real Aeron 1.54 C drivers (`udp-basic.pcap`) and checks it against the
//! capture's listing (`udp-basic-frames.txt`) and what the exchange must contain.

use std::collections::BTreeMap;

use oxeron_protocol::frame::{self, data_frames, DataFrame, Frame};

/// One UDP datagram from the capture.
struct Datagram {
    /// Capture time in ns since the epoch.
    time_ns: u64,
    src_port: u16,
    dst_port: u16,
    payload: Vec<u8>,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Reads a classic pcap file: global header, then per-packet record headers; each packet's link layer (as
/// given by the file's linktype), IPv4 and UDP headers are peeled off by hand.
fn read_pcap(bytes: &[u8]) -> Vec<Datagram> {
    assert!(bytes.len() >= 24, "pcap shorter than its global header");
    let magic = u32::from_le_bytes(bytes[0..4].try_into().unwrap());
    let (big_endian, nanos) = match magic {
        0xA1B2_C3D4 => (false, false),
        0xA1B2_3C4D => (false, true),
        0xD4C3_B2A1 => (true, false),
        0x4D3C_B2A1 => (true, true),
        other => panic!("not a classic pcap file (magic {other:#x})"),
    };
    let u32_at = |at: usize| {
        let raw: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        if big_endian {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        }
    };
    let linktype = u32_at(20) & 0x0FFF_FFFF;

    let mut datagrams = Vec::new();
    let mut offset = 24;
    while offset < bytes.len() {
        assert!(offset + 16 <= bytes.len(), "truncated pcap record header");
        let seconds = u64::from(u32_at(offset));
        let fraction = u64::from(u32_at(offset + 4));
        let captured = u32_at(offset + 8) as usize;
        let original = u32_at(offset + 12) as usize;
        assert_eq!(captured, original, "capture truncated a packet");
        let packet = &bytes[offset + 16..offset + 16 + captured];
        offset += 16 + captured;

        let (ether_type, ip) = match linktype {
            // Ethernet, with an optional 802.1Q tag.
            1 => {
                let ether_type = be16(packet, 12);
                if ether_type == 0x8100 {
                    (be16(packet, 16), &packet[18..])
                } else {
                    (ether_type, &packet[14..])
                }
            }
            // BSD loopback: 4-byte address family in host order.
            0 => {
                let family = u32::from_le_bytes(packet[0..4].try_into().unwrap());
                let family_be = u32::from_be_bytes(packet[0..4].try_into().unwrap());
                let ipv4 = family == 2 || family_be == 2;
                (if ipv4 { 0x0800 } else { 0 }, &packet[4..])
            }
            // Linux cooked capture v1: protocol at 14, 16-byte header.
            113 => (be16(packet, 14), &packet[16..]),
            // Linux cooked capture v2: protocol at 0, 20-byte header.
            276 => (be16(packet, 0), &packet[20..]),
            // Raw IP.
            12 | 101 | 228 => (0x0800, packet),
            other => panic!("unsupported pcap linktype {other}"),
        };
        assert_eq!(ether_type, 0x0800, "packet is not IPv4");

        assert_eq!(ip[0] >> 4, 4, "IP version");
        let ip_header_length = usize::from(ip[0] & 0x0F) * 4;
        let total_length = usize::from(be16(ip, 2));
        let fragment = be16(ip, 6);
        assert_eq!(fragment & 0x3FFF, 0, "fragmented IP packet");
        assert_eq!(ip[9], 17, "not UDP");
        let ip = &ip[..total_length];

        let udp = &ip[ip_header_length..];
        let udp_length = usize::from(be16(udp, 4));
        assert_eq!(udp_length, udp.len(), "UDP length disagrees with IP length");
        let time_ns = seconds * 1_000_000_000 + if nanos { fraction } else { fraction * 1000 };
        datagrams.push(Datagram {
            time_ns,
            src_port: be16(udp, 0),
            dst_port: be16(udp, 2),
            payload: udp[8..].to_vec(),
        });
    }
    datagrams
}

/// A frame as the listing describes it: type name, frame_length, flags.
type ListedFrame = (String, i32, u8);

/// One per-packet line of the listing.
struct ListedPacket {
    number: usize,
    time_ns: u64,
    ports: String,
    length: usize,
    frames: Vec<ListedFrame>,
}

/// The listing's contents.
struct Listing {
    packets: Vec<ListedPacket>,
    by_first_type: BTreeMap<String, usize>,
    frames_by_type: BTreeMap<String, usize>,
    /// (type id, frame_length, flags, ports, datagram length) -> count.
    distinct: BTreeMap<(u16, i32, u8, String, usize), usize>,
}

fn parse_flags(text: &str) -> u8 {
    let text = text.trim().trim_matches('\'');
    u8::from_str_radix(text.trim_start_matches("0x"), 16).expect("flags")
}

fn parse_counts(text: &str) -> BTreeMap<String, usize> {
    let inner = text.trim().trim_start_matches('{').trim_end_matches('}');
    inner
        .split(',')
        .map(|pair| {
            let (name, count) = pair.split_once(':').expect("name: count");
            (
                name.trim().trim_matches('\'').to_string(),
                count.trim().parse().expect("count"),
            )
        })
        .collect()
}

fn parse_listing(text: &str) -> Listing {
    let mut listing = Listing {
        packets: Vec::new(),
        by_first_type: BTreeMap::new(),
        frames_by_type: BTreeMap::new(),
        distinct: BTreeMap::new(),
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("datagrams by first frame type:") {
            listing.by_first_type = parse_counts(rest);
        } else if let Some((_, rest)) = line
            .strip_prefix("frames by type")
            .and_then(|l| l.split_once(':'))
        {
            listing.frames_by_type = parse_counts(rest);
        } else if let Some(rest) = line.trim_start().strip_prefix('(') {
            if !line.starts_with("  ") {
                continue;
            }
            let (tuple, count) = rest.split_once(')').expect("distinct tuple");
            let fields: Vec<&str> = tuple.split(',').map(str::trim).collect();
            assert_eq!(fields.len(), 5, "distinct tuple {line:?}");
            listing.distinct.insert(
                (
                    fields[0].parse().unwrap(),
                    fields[1].parse().unwrap(),
                    parse_flags(fields[2]),
                    fields[3].trim_matches('\'').to_string(),
                    fields[4].parse().unwrap(),
                ),
                count.trim().parse().unwrap(),
            );
        } else if line.starts_with(|c: char| c.is_ascii_digit()) {
            let (head, frames) = line.split_once('[').expect("frame list");
            let head: Vec<&str> = head.split_whitespace().collect();
            assert_eq!(head.len(), 4, "packet line {line:?}");
            let (seconds, fraction) = head[1].split_once('.').unwrap();
            let time_ns = seconds.parse::<u64>().unwrap() * 1_000_000_000
                + fraction.parse::<u64>().unwrap() * 10u64.pow(9 - fraction.len() as u32);
            let frames = frames
                .trim_end()
                .trim_end_matches(']')
                .split(')')
                .filter(|f| f.contains('('))
                .map(|f| {
                    let f = f.trim_start_matches([',', ' ', '(']);
                    let fields: Vec<&str> = f.split(',').map(str::trim).collect();
                    (
                        fields[0].trim_matches('\'').to_string(),
                        fields[1].parse().unwrap(),
                        parse_flags(fields[2]),
                    )
                })
                .collect();
            listing.packets.push(ListedPacket {
                number: head[0].parse().unwrap(),
                time_ns,
                ports: head[2].to_string(),
                length: head[3].parse().unwrap(),
                frames,
            });
        }
    }
    listing
}

fn type_name(frame_type: u16) -> &'static str {
    match frame_type {
        frame::HDR_TYPE_PAD => "PAD",
        frame::HDR_TYPE_DATA => "DATA",
        frame::HDR_TYPE_NAK => "NAK",
        frame::HDR_TYPE_SM => "SM",
        frame::HDR_TYPE_ERR => "ERR",
        frame::HDR_TYPE_SETUP => "SETUP",
        frame::HDR_TYPE_RTTM => "RTTM",
        frame::HDR_TYPE_RES => "RES",
        frame::HDR_TYPE_RSP_SETUP => "RSP_SETUP",
        _ => "?",
    }
}

/// The frames of one datagram as (type, frame_length, flags), walking DATA/PAD runs.
fn summarize(datagram: &[u8]) -> Vec<(u16, i32, u8)> {
    match Frame::decode(datagram).expect("datagram decodes") {
        Frame::Data(_) | Frame::Pad(_) => data_frames(datagram)
            .map(|f| {
                let h = f.expect("data frame").header;
                (h.frame_type, h.frame_length, h.flags)
            })
            .collect(),
        other => {
            let header = frame::FrameHeader::decode(datagram).unwrap();
            vec![(other.frame_type(), header.frame_length, header.flags)]
        }
    }
}

fn load() -> (Vec<Datagram>, Listing) {
    let dir = oxeron_testkit::golden_dir().join("aeron-c-1.54");
    let pcap = std::fs::read(dir.join("udp-basic.pcap")).expect("read udp-basic.pcap");
    let text = std::fs::read_to_string(dir.join("udp-basic-frames.txt"))
        .expect("read udp-basic-frames.txt");
    (read_pcap(&pcap), parse_listing(&text))
}

#[test]
fn every_datagram_matches_the_listing() {
    let (datagrams, listing) = load();
    let total: usize = listing.by_first_type.values().sum();
    assert_eq!(datagrams.len(), total, "datagram count");
    assert!(listing.packets.len() >= 10, "listing has per-packet lines");

    let start = datagrams[0].time_ns;
    for listed in &listing.packets {
        let datagram = &datagrams[listed.number - 1];
        assert_eq!(
            format!("{}->{}", datagram.src_port, datagram.dst_port),
            listed.ports,
            "packet {}",
            listed.number
        );
        assert_eq!(
            datagram.payload.len(),
            listed.length,
            "packet {}",
            listed.number
        );
        assert_eq!(
            datagram.time_ns - start,
            listed.time_ns,
            "packet {}",
            listed.number
        );
        let frames: Vec<ListedFrame> = summarize(&datagram.payload)
            .into_iter()
            .map(|(t, len, flags)| (type_name(t).to_string(), len, flags))
            .collect();
        assert_eq!(frames, listed.frames, "packet {}", listed.number);
    }

    let mut by_first_type = BTreeMap::new();
    let mut frames_by_type = BTreeMap::new();
    let mut distinct = BTreeMap::new();
    for datagram in &datagrams {
        let frames = summarize(&datagram.payload);
        *by_first_type
            .entry(type_name(frames[0].0).to_string())
            .or_insert(0) += 1;
        for (frame_type, frame_length, flags) in frames {
            *frames_by_type
                .entry(type_name(frame_type).to_string())
                .or_insert(0) += 1;
            let key = (
                frame_type,
                frame_length,
                flags,
                format!("{}->{}", datagram.src_port, datagram.dst_port),
                datagram.payload.len(),
            );
            *distinct.entry(key).or_insert(0) += 1;
        }
    }
    assert_eq!(by_first_type, listing.by_first_type);
    assert_eq!(frames_by_type, listing.frames_by_type);
    assert_eq!(distinct, listing.distinct);
}

#[test]
fn frame_fields_tell_a_consistent_story() {
    let (datagrams, _) = load();

    let setup = match Frame::decode(&datagrams[0].payload).unwrap() {
        Frame::Setup(setup) => setup,
        other => panic!("first datagram is not a SETUP: {other:?}"),
    };
    assert_eq!(setup.stream_id, 1001);
    assert_eq!(setup.term_length, 16 * 1024 * 1024);
    assert_eq!(setup.mtu, 1408);
    assert_eq!(setup.ttl, 0);
    assert_eq!(setup.term_offset, 0);
    assert_eq!(setup.active_term_id, setup.initial_term_id);
    assert_eq!(setup.flags, 0);
    assert_eq!(setup.to_vec(), datagrams[0].payload);

    let mut receiver_id = None;
    let mut sender_position = 0i32;
    let mut messages = 0;
    let mut eos_seen = false;
    for (index, datagram) in datagrams.iter().enumerate() {
        let bytes = &datagram.payload;
        let decoded = Frame::decode(bytes).unwrap();
        match &decoded {
            Frame::Setup(s) => assert_eq!(*s, setup, "datagram {index}"),
            Frame::StatusMessage(sm) => {
                assert_eq!(sm.session_id, setup.session_id);
                assert_eq!(sm.stream_id, setup.stream_id);
                assert_eq!(sm.consumption_term_id, setup.initial_term_id);
                assert!(sm.consumption_term_offset <= sender_position);
                assert_eq!(sm.consumption_term_offset % 32, 0);
                assert_eq!(sm.receiver_window, 128 * 1024);
                assert_eq!(sm.group_tag, None);
                assert!(sm.flags == 0 || sm.flags == frame::status::EOS_FLAG);
                assert_eq!(*receiver_id.get_or_insert(sm.receiver_id), sm.receiver_id);
                // Byte-exact re-encoding.
                assert_eq!(decoded.to_vec(), *bytes, "datagram {index}");
            }
            Frame::Data(_) => {
                for frame in data_frames(bytes) {
                    let DataFrame { header, payload } = frame.unwrap();
                    assert_eq!(header.session_id, setup.session_id);
                    assert_eq!(header.stream_id, setup.stream_id);
                    assert_eq!(header.term_id, setup.initial_term_id);
                    assert_eq!(header.reserved_value, 0);
                    assert_eq!(header.term_offset, sender_position, "datagram {index}");
                    if header.is_heartbeat() {
                        assert!(header.is_unfragmented());
                        if header.is_eos() {
                            eos_seen = true;
                        } else {
                            assert!(!eos_seen, "heartbeat without EOS after EOS");
                        }
                        assert_eq!(header.to_bytes()[..], bytes[..], "datagram {index}");
                    } else {
                        assert!(header.is_unfragmented() && !header.is_eos());
                        assert_eq!(payload, format!("Hello World! {messages}").as_bytes());
                        messages += 1;
                        let length = header.frame_length as usize;
                        let encoded = DataFrame::new(header, payload).to_vec();
                        assert_eq!(encoded[..], bytes[..length], "datagram {index}");
                        assert!(bytes[length..].iter().all(|&b| b == 0));
                        sender_position += header.aligned_length() as i32;
                    }
                }
            }
            other => panic!("unexpected frame in datagram {index}: {other:?}"),
        }
    }
    assert_eq!(messages, 3);
    assert!(eos_seen, "capture ends with EOS heartbeats");
}
