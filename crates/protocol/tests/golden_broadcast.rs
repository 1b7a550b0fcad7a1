//! Decodes the control-protocol traffic left in a real Aeron C 1.54 driver's `cnc.dat`
//! (`aeron-c-1.54/cnc-live.dat`): the to-clients broadcast buffer and the to-driver ring buffer.
//!
//! The section arithmetic is done here with plain slices so the test depends only on `command`.

use oxeron_testkit as golden_dir;

use oxeron_protocol::command::{
    Command, Correlated, CounterUpdate, ImageBuffersReady, PublicationBuffersReady,
    PublicationCommand, Response, SubscriptionCommand, SubscriptionReady,
};

const CNC_HEADER_LENGTH: usize = 128;
const RECORD_HEADER_LENGTH: usize = 8;
const PADDING_MSG_TYPE_ID: i32 = -1;
const BROADCAST_TRAILER_LENGTH: usize = 128;
const RING_TRAILER_LENGTH: usize = 768;

fn i32_at(bytes: &[u8], offset: usize) -> i32 {
    i32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap())
}

fn i64_at(bytes: &[u8], offset: usize) -> i64 {
    i64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap())
}

fn to_usize(value: impl TryInto<usize>, what: &str) -> usize {
    value
        .try_into()
        .unwrap_or_else(|_| panic!("{what} is negative"))
}

fn cnc() -> Vec<u8> {
    let path = golden_dir::golden_dir().join("aeron-c-1.54/cnc-live.dat");
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The to-driver ring buffer and the to-clients broadcast buffer, trailers included.
fn sections(cnc: &[u8]) -> (&[u8], &[u8]) {
    assert_eq!(i32_at(cnc, 0), 0x200, "cnc version 0.2.0");
    let to_driver_length = to_usize(i32_at(cnc, 4), "to-driver length");
    let to_clients_length = to_usize(i32_at(cnc, 8), "to-clients length");
    let to_driver = &cnc[CNC_HEADER_LENGTH..CNC_HEADER_LENGTH + to_driver_length];
    let start = CNC_HEADER_LENGTH + to_driver_length;
    let to_clients = &cnc[start..start + to_clients_length];
    (to_driver, to_clients)
}

/// A record's offset, type id and body.
type Record<'a> = (usize, i32, &'a [u8]);

/// Records `(offset, msg_type_id, body)` from offset 0 up to `end`, skipping padding; stops early at a zero length.
fn records(buffer: &[u8], end: usize) -> (Vec<Record<'_>>, usize) {
    let mut found = Vec::new();
    let mut offset = 0;
    while offset < end {
        let length = i32_at(buffer, offset);
        if length <= 0 {
            break;
        }
        let length = to_usize(length, "record length");
        assert!(
            length >= RECORD_HEADER_LENGTH,
            "record at {offset} too short"
        );
        let msg_type_id = i32_at(buffer, offset + 4);
        if msg_type_id != PADDING_MSG_TYPE_ID {
            found.push((
                offset,
                msg_type_id,
                &buffer[offset + RECORD_HEADER_LENGTH..offset + length],
            ));
        }
        offset += (length + 7) & !7;
    }
    (found, offset)
}

#[test]
fn broadcast_buffer_holds_the_driver_responses() {
    let cnc = cnc();
    let (_, to_clients) = sections(&cnc);
    let capacity = to_clients.len() - BROADCAST_TRAILER_LENGTH;
    assert!(capacity.is_power_of_two());
    let trailer = &to_clients[capacity..];
    let tail_intent = i64_at(trailer, 0);
    let tail = i64_at(trailer, 8);
    let latest = i64_at(trailer, 16);
    assert_eq!((tail_intent, tail, latest), (280, 280, 256));

    let tail = to_usize(tail, "tail");
    assert!(tail <= capacity, "no wrap in this capture");
    let (found, end) = records(to_clients, tail);
    assert_eq!(end, tail, "records run exactly up to the tail");

    let responses: Vec<(usize, Response<'_>)> = found
        .iter()
        .map(|&(offset, msg_type_id, body)| {
            let rsp = Response::decode(msg_type_id, body)
                .unwrap_or_else(|e| panic!("record at {offset}: {e}"));
            assert_eq!(rsp.msg_type_id(), msg_type_id);
            assert_eq!(rsp.to_vec(), body, "re-encoding the record at {offset}");
            (offset, rsp)
        })
        .collect();

    const SESSION_ID: i32 = 784_920_550;
    let expected = [
        (
            0,
            // The subscriber client's heartbeat counter: registration id = client id 1, counter 48.
            Response::CounterReady(CounterUpdate {
                correlation_id: 1,
                counter_id: 48,
            }),
        ),
        (
            24,
            Response::SubscriptionReady(SubscriptionReady {
                correlation_id: 2,
                channel_status_indicator_id: 46,
            }),
        ),
        (
            48,
            // The publisher client's heartbeat counter (client id 3), freed when it exits (record at 256).
            Response::CounterReady(CounterUpdate {
                correlation_id: 3,
                counter_id: 57,
            }),
        ),
        (
            72,
            Response::PublicationReady(PublicationBuffersReady {
                correlation_id: 4,
                registration_id: 4,
                session_id: SESSION_ID,
                stream_id: 1001,
                position_limit_counter_id: 52,
                channel_status_indicator_id: 49,
                log_file_name: "/dev/shm/golden-c/publications/4.logbuffer",
            }),
        ),
        (
            160,
            Response::AvailableImage(ImageBuffersReady {
                correlation_id: 5,
                session_id: SESSION_ID,
                stream_id: 1001,
                subscription_registration_id: 2,
                subscriber_position_id: 61,
                log_file_name: "/dev/shm/golden-c/images/5.logbuffer",
                source_identity: "127.0.0.1:56728",
            }),
        ),
        (
            256,
            Response::UnavailableCounter(CounterUpdate {
                correlation_id: 3,
                counter_id: 57,
            }),
        ),
    ];
    assert_eq!(responses, expected);
    assert_eq!(
        responses.last().map(|(offset, _)| *offset),
        Some(to_usize(latest, "latest"))
    );
}

#[test]
fn to_driver_ring_buffer_was_consumed_and_zeroed() {
    let cnc = cnc();
    let (to_driver, _) = sections(&cnc);
    let capacity = to_driver.len() - RING_TRAILER_LENGTH;
    assert!(capacity.is_power_of_two());
    let trailer = &to_driver[capacity..];
    let tail = i64_at(trailer, 128);
    let head = i64_at(trailer, 384);
    let correlation_counter = i64_at(trailer, 512);
    let consumer_heartbeat = i64_at(trailer, 640);

    // The driver read every command the C clients wrote.
    assert_eq!((tail, head), (192, 192));
    assert_eq!(correlation_counter, 6);
    assert!(consumer_heartbeat > 0, "driver was alive");

    // The C driver zeroes records once consumed, so no command is left to decode.
    let tail = to_usize(tail, "tail");
    let (found, _) = records(to_driver, tail);
    let commands: Vec<Command<'_>> = found
        .iter()
        .map(|&(offset, msg_type_id, body)| {
            Command::decode(msg_type_id, body).unwrap_or_else(|e| panic!("record at {offset}: {e}"))
        })
        .collect();
    assert_eq!(commands, []);
    assert!(
        to_driver[..capacity].iter().all(|&b| b == 0),
        "consumed records are zeroed"
    );

    // What the broadcast records imply the two sample clients sent: the subscriber (client 1) its
    // ADD_SUBSCRIPTION, the publisher (client 3) its ADD_PUBLICATION and, on exit, CLIENT_CLOSE. Their
    // aligned record lengths account for the 192 bytes exactly.
    let sent = [
        Command::AddSubscription(SubscriptionCommand {
            correlated: Correlated::new(1, 2),
            registration_correlation_id: 0,
            stream_id: 1001,
            channel: "aeron:udp?endpoint=localhost:24400",
        }),
        Command::AddPublication(PublicationCommand {
            correlated: Correlated::new(3, 4),
            stream_id: 1001,
            channel: "aeron:udp?endpoint=localhost:24400|term-length=65536",
        }),
        Command::ClientClose(Correlated::new(3, 3)),
    ];
    let record_bytes: usize = sent
        .iter()
        .map(|cmd| (RECORD_HEADER_LENGTH + cmd.encoded_length() + 7) & !7)
        .sum();
    assert_eq!(record_bytes, tail);
}
