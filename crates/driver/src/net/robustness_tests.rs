//! Outside bytes never panic the state machines: arbitrary datagrams into an image, arbitrary NAKs and status
//! messages into a publication.

use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::frame::nak::Nak;
use oxeron_protocol::frame::setup::Setup;
use oxeron_protocol::frame::status::StatusMessage;
use proptest::prelude::*;

use super::{
    FlowControl, FlowControlDefaults, NetworkPublicationConfig, NetworkPublicationState,
    PublicationImageConfig, PublicationImageState,
};

const TERM: i32 = 64 * 1024;
const INITIAL: i32 = i32::MAX - 1;

fn terms() -> Vec<AtomicBuffer> {
    (0..3)
        .map(|_| AtomicBuffer::new_zeroed(TERM as usize))
        .collect()
}

/// A datagram that often looks like DATA/PAD: header fields from small sets, lengths around multiples of 32.
fn datagram() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(0i32), Just(32), Just(64), Just(96), any::<i32>()],
        any::<u8>(),
        prop_oneof![Just(0u16), Just(1u16), any::<u16>()],
        prop_oneof![
            (0i32..2048).prop_map(|o| o * 32),
            Just(TERM - 32),
            any::<i32>()
        ],
        prop_oneof![
            Just(INITIAL),
            Just(INITIAL.wrapping_add(1)),
            Just(INITIAL - 1),
            any::<i32>()
        ],
        prop_oneof![Just(32usize), Just(64), Just(96), 0usize..200],
        any::<u8>(),
    )
        .prop_map(
            |(frame_length, flags, frame_type, term_offset, term_id, len, fill)| {
                let mut d = vec![fill; len.max(32)];
                d[..4].copy_from_slice(&frame_length.to_le_bytes());
                d[4] = 0;
                d[5] = flags;
                d[6..8].copy_from_slice(&frame_type.to_le_bytes());
                d[8..12].copy_from_slice(&term_offset.to_le_bytes());
                d[20..24].copy_from_slice(&term_id.to_le_bytes());
                d.truncate(len);
                d
            },
        )
}

proptest! {
    #[test]
    fn image_survives_arbitrary_datagrams(
        datagrams in proptest::collection::vec(datagram(), 1..40),
        sub_steps in proptest::collection::vec(0i64..4096, 1..40),
    ) {
        let setup = Setup {
            flags: 0,
            term_offset: 0,
            session_id: 1,
            stream_id: 2,
            initial_term_id: INITIAL,
            active_term_id: INITIAL,
            term_length: TERM,
            mtu: 1408,
            ttl: 0,
        };
        let cfg = PublicationImageConfig::from_setup(&setup, 7, None, 128 * 1024, Some(1)).unwrap();
        let t = terms();
        let mut image = PublicationImageState::new(cfg, 0);
        let mut now = 1;
        let mut sub = 0i64;
        let mut naks = Vec::new();
        for (i, d) in datagrams.iter().enumerate() {
            now += 1_000_000;
            image.insert_packet(d, &t, now);
            sub = (sub + sub_steps[i % sub_steps.len()] * 32).min(image.rcv_position().max(sub));
            image.track_rebuild(now, sub, sub, &t);
            image.poll_naks(now, &mut naks);
            image.poll_status_message(now);
            image.on_time_event(now, Some(sub));
        }
    }

    #[test]
    fn publication_survives_arbitrary_control_frames(
        frames in proptest::collection::vec(
            (any::<bool>(), any::<u8>(), any::<i32>(), any::<i32>(), any::<i32>(), any::<i64>()),
            1..60,
        ),
        fc in prop_oneof![Just(None), Just(Some("min")), Just(Some("tagged,g:1/2"))],
    ) {
        let t = terms();
        for term in &t {
            // Some frames in every term, including a PAD claiming more than the term holds.
            term.put_i32(0, 100);
            term.put_u16(6, 1);
            term.put_i32(128, i32::MAX);
            term.put_u16(134, 0);
        }
        let mut cfg = NetworkPublicationConfig::new(1, 2, INITIAL, TERM, 1408);
        cfg.group_semantics = fc.is_some();
        let option = fc.map(|f| oxeron_protocol::uri::FlowControl::parse(f).unwrap());
        let mut p = NetworkPublicationState::new(
            cfg,
            FlowControl::new(option.as_ref(), fc.is_some(), FlowControlDefaults::default()),
            0,
        );
        let mut now = 0;
        let mut sink = |_: &[u8]| {};
        for &(is_nak, flags, a, b, c, d) in &frames {
            now += 7_000_000;
            if is_nak {
                let nak = Nak { flags, session_id: 1, stream_id: 2, term_id: a, term_offset: b, length: c };
                p.on_nak(&nak, now, &t, &mut sink);
            } else {
                let sm = StatusMessage {
                    flags,
                    session_id: 1,
                    stream_id: 2,
                    consumption_term_id: a,
                    consumption_term_offset: b,
                    receiver_window: c,
                    receiver_id: d & 3,
                    group_tag: (d & 4 != 0).then_some(1),
                };
                p.on_status_message(&sm, now);
            }
            p.send(now, &t, &mut sink);
            prop_assert_eq!(p.sender_position() % 32, 0);
        }
    }
}
