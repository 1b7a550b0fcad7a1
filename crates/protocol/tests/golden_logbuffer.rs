//! Log buffers written by the real Aeron 1.54 C driver and client: a UDP publication and the matching image
//! after `basic_publisher` sent `Hello World! 0..2` on stream 1001 (see `pub.log` / `sub.log`).

use oxeron_testkit as golden;

use oxeron_protocol::le;
use oxeron_protocol::logbuffer::*;

const DIR: &str = "aeron-c-1.54";
const SESSION_ID: i32 = 784_920_550;
const STREAM_ID: i32 = 1001;
const INITIAL_TERM_ID: i32 = 1_027_292_340;
const TERM_LENGTH: i32 = 65536;
const MTU: i32 = 1408;

fn read(name: &str) -> Vec<u8> {
    let path = golden::golden_dir().join(DIR).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[derive(Debug, PartialEq, Eq)]
struct Frame {
    term_offset: i32,
    frame_length: i32,
    flags: u8,
    frame_type: u16,
    session_id: i32,
    stream_id: i32,
    term_id: i32,
    reserved_value: i64,
    payload: Vec<u8>,
}

/// Walks a term from offset 0 the way a subscriber does, stopping at the first unwritten frame.
/// Returns the frames and the offset where the walk stopped.
fn walk_term(term: &[u8]) -> (Vec<Frame>, usize) {
    let mut frames = Vec::new();
    let mut offset = 0;
    while offset + DATA_HEADER_LENGTH <= term.len() {
        let frame_length = le::get_i32(term, offset);
        if frame_length <= 0 {
            break;
        }
        let end = offset + frame_length as usize;
        assert!(
            end <= term.len(),
            "frame at {offset} runs past the term end"
        );
        frames.push(Frame {
            term_offset: le::get_i32(term, offset + 8),
            frame_length,
            flags: le::get_u8(term, offset + 5),
            frame_type: le::get_u16(term, offset + 6),
            session_id: le::get_i32(term, offset + 12),
            stream_id: le::get_i32(term, offset + 16),
            term_id: le::get_i32(term, offset + 20),
            reserved_value: le::get_i64(term, offset + 24),
            payload: term[offset + DATA_HEADER_LENGTH..end].to_vec(),
        });
        offset += (frame_length as usize).next_multiple_of(FRAME_ALIGNMENT);
    }
    (frames, offset)
}

/// Checks the three `Hello World!` messages in partition 0 at positions 0, 64, 128, and nothing else anywhere.
fn assert_hello_world_terms(log: &[u8], meta: &LogBufferMetadata) {
    let term_length = meta.term_length as usize;
    let shift = position_bits_to_shift(meta.term_length);
    assert_eq!(shift, 16);
    for partition in 0..PARTITION_COUNT {
        let start = term_buffer_offset(partition, meta.term_length);
        let term = &log[start..start + term_length];
        let (frames, end) = walk_term(term);
        if partition != 0 {
            assert!(frames.is_empty(), "partition {partition} should be empty");
            assert!(
                term.iter().all(|&b| b == 0),
                "partition {partition} should be zero"
            );
            continue;
        }
        assert_eq!(frames.len(), 3);
        assert_eq!(end, 192);
        assert!(
            term[end..].iter().all(|&b| b == 0),
            "nothing after the last frame"
        );
        for (i, frame) in frames.iter().enumerate() {
            let expected_offset = 64 * i as i32;
            assert_eq!(
                *frame,
                Frame {
                    term_offset: expected_offset,
                    frame_length: 46,
                    flags: 0xC0,
                    frame_type: 1,
                    session_id: SESSION_ID,
                    stream_id: STREAM_ID,
                    term_id: INITIAL_TERM_ID,
                    reserved_value: 0,
                    payload: format!("Hello World! {i}").into_bytes(),
                }
            );
            let position = compute_position(
                frame.term_id,
                frame.term_offset,
                shift,
                meta.initial_term_id,
            );
            assert_eq!(position, i64::from(expected_offset));
            assert_eq!(index_by_position(position, shift), 0);
            assert_eq!(
                compute_term_id_from_position(position, shift, meta.initial_term_id),
                frame.term_id
            );
            let next_position =
                position + (frame.frame_length as usize).next_multiple_of(FRAME_ALIGNMENT) as i64;
            assert_eq!(next_position, 64 * (i as i64 + 1));
            // The publisher claimed exactly this much for a 14-byte message at this MTU.
            let plan =
                FragmentPlan::for_log(frame.payload.len(), meta.mtu_length, meta.term_length)
                    .unwrap();
            assert_eq!(plan.frame_count(), 1);
            assert_eq!(plan.claim_length(), 64);
            assert_eq!(plan.last_frame_length(), 46);
        }
    }
}

fn assert_common_metadata(log: &[u8], meta: &LogBufferMetadata) {
    assert_eq!(log.len(), 200_704);
    assert_eq!(meta.validate(log.len() as u64), Ok(()));
    assert_eq!(
        compute_log_length(meta.term_length, meta.page_size),
        log.len() as u64
    );
    assert_eq!(meta.initial_term_id, INITIAL_TERM_ID);
    assert_eq!(meta.term_length, TERM_LENGTH);
    assert_eq!(meta.mtu_length, MTU);
    assert_eq!(meta.page_size, 4096);
    assert_eq!(meta.default_frame_header_length, 32);
    assert_eq!(meta.session_id(), SESSION_ID);
    assert_eq!(meta.stream_id(), STREAM_ID);
    assert_eq!(
        meta.default_header(),
        default_frame_header(SESSION_ID, STREAM_ID, INITIAL_TERM_ID)
    );
    assert!(meta.default_frame_header[DATA_HEADER_LENGTH..]
        .iter()
        .all(|&b| b == 0));
    assert_eq!(meta.end_of_stream_position, 192);
    assert_eq!(meta.socket_sndbuf_length, 0);
    assert_eq!(meta.os_default_socket_sndbuf_length, 212_992);
    assert_eq!(meta.os_max_socket_sndbuf_length, 0);
    assert_eq!(meta.socket_rcvbuf_length, 0);
    assert_eq!(meta.os_default_socket_rcvbuf_length, 212_992);
    assert_eq!(meta.os_max_socket_rcvbuf_length, 0);
    assert_eq!(meta.max_resend, 0);
    assert_eq!(meta.untethered_window_limit_timeout_ns, 5_000_000_000);
    assert_eq!(meta.untethered_resting_timeout_ns, 10_000_000_000);
    assert_eq!(meta.untethered_linger_timeout_ns, 5_000_000_000);

    // Decoding then encoding gives the driver's 4096 bytes back.
    let section = &log[log_meta_data_offset(log.len()).unwrap()..];
    assert_eq!(meta.to_vec(), section);
}

#[test]
fn publication_log_buffer() {
    let log = read("publication-udp-term64k.logbuffer");
    let meta = LogBufferMetadata::decode_from_log(&log).unwrap();
    assert_common_metadata(&log, &meta);

    assert_eq!(meta.correlation_id, 4);
    assert_eq!(
        meta.term_tail_counters,
        [
            pack_tail(1_027_292_340, 192),
            pack_tail(1_027_292_338, 0),
            pack_tail(1_027_292_339, 0)
        ]
    );
    assert_eq!(meta.active_term_count, 0);
    // The driver initialised the tails for a log starting at the initial term; only partition 0 moved.
    let mut initial = InitialTails::new(INITIAL_TERM_ID).term_tail_counters;
    initial[0] = pack_tail(INITIAL_TERM_ID, 192);
    assert_eq!(meta.term_tail_counters, initial);

    let raw_tail = meta.active_raw_tail();
    let shift = position_bits_to_shift(meta.term_length);
    assert_eq!(term_id(raw_tail), INITIAL_TERM_ID);
    assert_eq!(term_offset(raw_tail, meta.term_length), 192);
    let position = compute_position(
        term_id(raw_tail),
        term_offset(raw_tail, meta.term_length),
        shift,
        meta.initial_term_id,
    );
    assert_eq!(position, 192, "pub-pos in aeronstat.txt");
    assert_eq!(position, meta.end_of_stream_position);

    assert!(meta.is_connected);
    assert_eq!(meta.active_transport_count, 0);
    assert_eq!(meta.publication_window_length, 32768);
    assert_eq!(meta.receiver_window_length, 0);
    assert_eq!(meta.entity_tag, -1);
    assert_eq!(meta.response_correlation_id, -1);
    assert_eq!(meta.linger_timeout_ns, 5_000_000_000);
    assert_eq!(
        log[log.len() - 4096 + 488..log.len() - 4096 + 498],
        [0, 0, 0, 0, 1, 1, 0, 0, 0, 0]
    );
    assert!(!meta.group);
    assert!(!meta.is_response);
    assert!(!meta.rejoin);
    assert!(!meta.reliable);
    assert!(meta.sparse);
    assert!(meta.signal_eos);
    assert!(!meta.spies_simulate_connection);
    assert!(!meta.tether);
    assert!(!meta.is_publication_revoked);
    assert_eq!(meta.log_type, LOG_BUFFER_TYPE_CONCURRENT_PUBLICATION);

    assert_hello_world_terms(&log, &meta);
}

#[test]
fn image_log_buffer() {
    let log = read("image-udp-term64k.logbuffer");
    let meta = LogBufferMetadata::decode_from_log(&log).unwrap();
    assert_common_metadata(&log, &meta);

    assert_eq!(meta.correlation_id, 5);
    assert_eq!(
        meta.term_tail_counters,
        [0, 0, 0],
        "image tails are not used"
    );
    assert_eq!(meta.active_term_count, 0);
    assert!(!meta.is_connected);
    assert_eq!(meta.active_transport_count, 1);
    assert_eq!(meta.publication_window_length, 0);
    assert_eq!(meta.receiver_window_length, 131_072);
    assert_eq!(meta.entity_tag, 0);
    assert_eq!(meta.response_correlation_id, 0);
    assert_eq!(meta.linger_timeout_ns, 0);
    assert_eq!(
        log[log.len() - 4096 + 488..log.len() - 4096 + 498],
        [0, 0, 1, 1, 1, 0, 0, 1, 0, 2]
    );
    assert!(!meta.group);
    assert!(!meta.is_response);
    assert!(meta.rejoin);
    assert!(meta.reliable);
    assert!(meta.sparse);
    assert!(!meta.signal_eos);
    assert!(!meta.spies_simulate_connection);
    assert!(meta.tether);
    assert!(!meta.is_publication_revoked);
    assert_eq!(meta.log_type, LOG_BUFFER_TYPE_PUBLICATION_IMAGE);

    assert_hello_world_terms(&log, &meta);
}

#[test]
fn image_and_publication_terms_are_identical() {
    let publication = read("publication-udp-term64k.logbuffer");
    let image = read("image-udp-term64k.logbuffer");
    let terms = 3 * TERM_LENGTH as usize;
    assert_eq!(publication[..terms], image[..terms]);
}

#[test]
fn truncated_log_is_an_error_not_a_panic() {
    let log = read("publication-udp-term64k.logbuffer");
    assert!(LogBufferMetadata::decode_from_log(&log[..4000]).is_err());
    // A file cut short still has 4096 trailing bytes, but they are not the metadata: the layout check catches it.
    let cut = &log[..log.len() - 8192];
    if let Ok(meta) = LogBufferMetadata::decode_from_log(cut) {
        assert!(meta.validate(cut.len() as u64).is_err());
    }
}
