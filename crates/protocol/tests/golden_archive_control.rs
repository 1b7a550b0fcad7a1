//! Decodes every archive message in a capture of the real Java Aeron Archive 1.54 control protocol
//! (`control-protocol.pcap`: Ethernet -> IPv4 -> UDP -> Aeron DATA frames -> SBE) and checks it against the
//! capture's description (`control-protocol.md`): same packets, frames, templates and field values, and our
//! encoding of each message reproduces the captured payload byte for byte.

use std::fs;

use oxeron_protocol::archive::{
    catalog_entry_length, ArchiveMessage, ControlResponseCode, MessageHeader, RecordingSignal,
    SourceLocation, DEFAULT_CATALOG_ALIGNMENT, RECORDING_DESCRIPTOR_HEADER_LENGTH,
};
use oxeron_protocol::frame::data_frames;

const DIR: &str = "aeron-java-archive-1.54";
const ARCHIVE_PORTS: [u16; 3] = [8010, 8020, 8030];

struct Datagram {
    /// 1-based packet number.
    number: usize,
    src_port: u16,
    dst_port: u16,
    payload: Vec<u8>,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Reads a classic little-endian pcap with Ethernet link type, peeling Ethernet, IPv4 and UDP by hand.
fn read_pcap(bytes: &[u8]) -> Vec<Datagram> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(u32_at(0), 0xA1B2_C3D4, "little-endian microsecond pcap");
    assert_eq!(u32_at(20), 1, "Ethernet link type");
    let mut datagrams = Vec::new();
    let mut offset = 24;
    while offset < bytes.len() {
        let captured = u32_at(offset + 8) as usize;
        assert_eq!(
            captured,
            u32_at(offset + 12) as usize,
            "packet truncated by the capture"
        );
        let packet = &bytes[offset + 16..offset + 16 + captured];
        offset += 16 + captured;

        assert_eq!(be16(packet, 12), 0x0800, "IPv4 ethertype");
        let ip = &packet[14..];
        assert_eq!(ip[0] >> 4, 4);
        let ip_header_length = usize::from(ip[0] & 0x0F) * 4;
        let ip = &ip[..usize::from(be16(ip, 2))];
        assert_eq!(ip[9], 17, "UDP");
        let udp = &ip[ip_header_length..];
        assert_eq!(usize::from(be16(udp, 4)), udp.len());
        datagrams.push(Datagram {
            number: datagrams.len() + 1,
            src_port: be16(udp, 0),
            dst_port: be16(udp, 2),
            payload: udp[8..].to_vec(),
        });
    }
    datagrams
}

/// One row of the table in `control-protocol.md`.
#[derive(Debug)]
struct Row {
    packet: usize,
    ports: (u16, u16),
    session_id: i32,
    stream_id: i32,
    term_offset: i32,
    frame_length: i32,
    flags: u8,
    template_id: u16,
    name: String,
    header: (u16, u16, u16),
    fields: String,
}

fn read_rows(text: &str) -> Vec<Row> {
    text.lines()
        .filter(|line| {
            line.starts_with("| ") && line.as_bytes().get(2).is_some_and(u8::is_ascii_digit)
        })
        .map(|line| {
            // Split on unescaped pipes; `\|` inside channel URIs is a literal pipe.
            let unescaped = line.replace("\\|", "\u{1}");
            let cells: Vec<String> = unescaped
                .trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().replace('\u{1}', "|"))
                .collect();
            assert_eq!(cells.len(), 12, "{line}");
            let pair = |cell: &str, sep: &str| {
                let (a, b) = cell.split_once(sep).unwrap();
                (a.trim().to_string(), b.trim().to_string())
            };
            let (src, dst) = pair(&cells[3], "->");
            let (session, stream) = pair(&cells[4], "/");
            let header: Vec<u16> = cells[10]
                .split(',')
                .map(|v| v.trim().parse().unwrap())
                .collect();
            Row {
                packet: cells[0].parse().unwrap(),
                ports: (src.parse().unwrap(), dst.parse().unwrap()),
                session_id: session.parse().unwrap(),
                stream_id: stream.parse().unwrap(),
                term_offset: cells[5].parse().unwrap(),
                frame_length: cells[6].parse().unwrap(),
                flags: u8::from_str_radix(cells[7].trim_start_matches("0x"), 16).unwrap(),
                template_id: cells[8].parse().unwrap(),
                name: cells[9].clone(),
                header: (header[0], header[1], header[2]),
                fields: cells[11].clone(),
            }
        })
        .collect()
}

fn text(v: &str) -> String {
    format!("'{v}'")
}

fn hex(v: &[u8]) -> String {
    let digits: String = v.iter().map(|b| format!("{b:02x}")).collect();
    format!("0x{digits}")
}

fn code(c: ControlResponseCode) -> String {
    let name = match c {
        ControlResponseCode::Ok => "OK",
        ControlResponseCode::Error => "ERROR",
        ControlResponseCode::RecordingUnknown => "RECORDING_UNKNOWN",
        ControlResponseCode::SubscriptionUnknown => "SUBSCRIPTION_UNKNOWN",
        ControlResponseCode::Unknown(_) => "?",
    };
    format!("{name}({})", c.value())
}

fn location(l: SourceLocation) -> String {
    let name = match l {
        SourceLocation::Local => "LOCAL",
        SourceLocation::Remote => "REMOTE",
        SourceLocation::Unknown(_) => "?",
    };
    format!("{name}({})", l.value())
}

fn signal(s: RecordingSignal) -> String {
    let name = match s {
        RecordingSignal::Start => "START",
        RecordingSignal::Stop => "STOP",
        _ => "?",
    };
    format!("{name}({})", s.value())
}

/// The message's fields in schema order, formatted as `control-protocol.md` prints them.
fn describe(message: &ArchiveMessage<'_>) -> String {
    let fields: Vec<String> = match message {
        ArchiveMessage::AuthConnectRequest(m) => vec![
            format!("correlationId={}", m.correlation_id),
            format!("responseStreamId={}", m.response_stream_id),
            format!("version={}", m.version),
            format!("responseChannel={}", text(m.response_channel)),
            format!("encodedCredentials={}", hex(m.encoded_credentials)),
            format!("clientInfo={}", text(m.client_info)),
        ],
        ArchiveMessage::ControlResponse(m) => vec![
            format!("controlSessionId={}", m.control_session_id),
            format!("correlationId={}", m.correlation_id),
            format!("relevantId={}", m.relevant_id),
            format!("code={}", code(m.code)),
            format!("version={}", m.version),
            format!("errorMessage={}", text(m.error_message)),
        ],
        ArchiveMessage::ArchiveIdRequest(m) => vec![
            format!("controlSessionId={}", m.control_session_id),
            format!("correlationId={}", m.correlation_id),
        ],
        ArchiveMessage::KeepAliveRequest(m) => vec![
            format!("controlSessionId={}", m.control_session_id),
            format!("correlationId={}", m.correlation_id),
        ],
        ArchiveMessage::ListRecordingsRequest(m) => vec![
            format!("controlSessionId={}", m.control_session_id),
            format!("correlationId={}", m.correlation_id),
            format!("fromRecordingId={}", m.from_recording_id),
            format!("recordCount={}", m.record_count),
        ],
        ArchiveMessage::RecordingDescriptor(m) => vec![
            format!("controlSessionId={}", m.control_session_id),
            format!("correlationId={}", m.correlation_id),
            format!("recordingId={}", m.recording_id),
            format!("startTimestamp={}", m.start_timestamp),
            format!("stopTimestamp={}", m.stop_timestamp),
            format!("startPosition={}", m.start_position),
            format!("stopPosition={}", m.stop_position),
            format!("initialTermId={}", m.initial_term_id),
            format!("segmentFileLength={}", m.segment_file_length),
            format!("termBufferLength={}", m.term_buffer_length),
            format!("mtuLength={}", m.mtu_length),
            format!("sessionId={}", m.session_id),
            format!("streamId={}", m.stream_id),
            format!("strippedChannel={}", text(m.stripped_channel)),
            format!("originalChannel={}", text(m.original_channel)),
            format!("sourceIdentity={}", text(m.source_identity)),
        ],
        ArchiveMessage::StartRecordingRequest(m) => vec![
            format!("controlSessionId={}", m.control_session_id),
            format!("correlationId={}", m.correlation_id),
            format!("streamId={}", m.stream_id),
            format!("sourceLocation={}", location(m.source_location)),
            format!("channel={}", text(m.channel)),
        ],
        ArchiveMessage::RecordingSignalEvent(m) => vec![
            format!("controlSessionId={}", m.control_session_id),
            format!("correlationId={}", m.correlation_id),
            format!("recordingId={}", m.recording_id),
            format!("subscriptionId={}", m.subscription_id),
            format!("position={}", m.position),
            format!("signal={}", signal(m.signal)),
        ],
        ArchiveMessage::RecordingStarted(m) => vec![
            format!("recordingId={}", m.recording_id),
            format!("startPosition={}", m.start_position),
            format!("sessionId={}", m.session_id),
            format!("streamId={}", m.stream_id),
            format!("channel={}", text(m.channel)),
            format!("sourceIdentity={}", text(m.source_identity)),
        ],
        ArchiveMessage::RecordingProgress(m) => vec![
            format!("recordingId={}", m.recording_id),
            format!("startPosition={}", m.start_position),
            format!("position={}", m.position),
        ],
        ArchiveMessage::RecordingStopped(m) => vec![
            format!("recordingId={}", m.recording_id),
            format!("startPosition={}", m.start_position),
            format!("stopPosition={}", m.stop_position),
        ],
        ArchiveMessage::StopRecordingSubscriptionRequest(m) => vec![
            format!("controlSessionId={}", m.control_session_id),
            format!("correlationId={}", m.correlation_id),
            format!("subscriptionId={}", m.subscription_id),
        ],
        ArchiveMessage::StopPositionRequest(m) => vec![
            format!("controlSessionId={}", m.control_session_id),
            format!("correlationId={}", m.correlation_id),
            format!("recordingId={}", m.recording_id),
        ],
        ArchiveMessage::ReplayRequest(m) => vec![
            format!("controlSessionId={}", m.control_session_id),
            format!("correlationId={}", m.correlation_id),
            format!("recordingId={}", m.recording_id),
            format!("position={}", m.position),
            format!("length={}", m.length),
            format!("replayStreamId={}", m.replay_stream_id),
            format!("fileIoMaxLength={}", m.file_io_max_length),
            format!("replayToken={}", m.replay_token),
            format!("replayChannel={}", text(m.replay_channel)),
        ],
        ArchiveMessage::CloseSessionRequest(m) => {
            vec![format!("controlSessionId={}", m.control_session_id)]
        }
        other => panic!("unexpected message in the capture: {other:?}"),
    };
    fields.join(", ")
}

#[test]
fn every_captured_archive_message_decodes_and_re_encodes_exactly() {
    let dir = oxeron_testkit::golden_dir().join(DIR);
    let pcap = fs::read(dir.join("control-protocol.pcap")).unwrap();
    let rows = read_rows(&fs::read_to_string(dir.join("control-protocol.md")).unwrap());
    assert_eq!(rows.len(), 24, "rows in control-protocol.md");

    let datagrams = read_pcap(&pcap);
    assert_eq!(datagrams.len(), 132);

    let mut rows = rows.iter();
    let mut seen = 0;
    let mut signals = Vec::new();
    for datagram in &datagrams {
        assert!(
            ARCHIVE_PORTS.contains(&datagram.src_port)
                || ARCHIVE_PORTS.contains(&datagram.dst_port),
            "capture filter"
        );
        // Only DATA datagrams (frame type 1) carry messages; SETUP and SM are skipped.
        if datagram.payload.len() < 8
            || u16::from_le_bytes([datagram.payload[6], datagram.payload[7]]) != 1
        {
            continue;
        }
        for frame in data_frames(&datagram.payload) {
            let frame = frame.unwrap();
            if frame.payload.is_empty() {
                continue;
            }
            let row = rows
                .next()
                .expect("more archive messages than control-protocol.md lists");
            let h = &frame.header;
            assert_eq!(row.packet, datagram.number);
            assert_eq!(row.ports, (datagram.src_port, datagram.dst_port));
            assert_eq!(
                (
                    h.session_id,
                    h.stream_id,
                    h.term_offset,
                    h.frame_length,
                    h.flags
                ),
                (
                    row.session_id,
                    row.stream_id,
                    row.term_offset,
                    row.frame_length,
                    row.flags
                ),
                "packet {}",
                row.packet
            );

            let sbe = MessageHeader::decode(frame.payload).unwrap();
            assert_eq!(sbe.template_id, row.template_id);
            assert_eq!((sbe.block_length, sbe.schema_id, sbe.version), row.header);
            let message = ArchiveMessage::decode(frame.payload).unwrap();
            assert_eq!(message.name(), row.name, "packet {}", row.packet);
            assert_eq!(message.template_id(), row.template_id);
            assert_eq!(describe(&message), row.fields, "packet {}", row.packet);

            // The archive sends a descriptor as its catalog entry body: padded to the entry alignment.
            let mut ours = message.to_vec();
            if let ArchiveMessage::RecordingDescriptor(d) = &message {
                let entry = catalog_entry_length(d, DEFAULT_CATALOG_ALIGNMENT as usize);
                ours.resize(8 + entry - RECORDING_DESCRIPTOR_HEADER_LENGTH, 0);
            }
            assert_eq!(ours, frame.payload, "packet {} re-encoded", row.packet);

            if let ArchiveMessage::RecordingSignalEvent(s) = message {
                signals.push(s.signal);
            }
            seen += 1;
        }
    }
    assert!(
        rows.next().is_none(),
        "control-protocol.md lists messages not found in the pcap"
    );
    assert_eq!(seen, 24);
    assert_eq!(signals, [RecordingSignal::Start, RecordingSignal::Stop]);
}
