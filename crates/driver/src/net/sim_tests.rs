//! A deterministic simulated network joining a sender and a receiver state machine: a manual clock, datagram
//! queues with seeded drops and reorders, a publisher writing a log and a subscriber reading the image.

use std::collections::VecDeque;

use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::align;
use oxeron_protocol::frame::data::{DataHeader, UNFRAGMENTED};
use oxeron_protocol::frame::{Frame, FRAME_ALIGNMENT, HDR_TYPE_DATA, HDR_TYPE_PAD};
use oxeron_protocol::logbuffer::{index_by_position, position_bits_to_shift, DATA_HEADER_LENGTH};

use oxeron_protocol::uri::FlowControl as FlowControlOption;

use super::{
    defaults, DataAction, DataPacketDispatcher, FlowControl, FlowControlDefaults,
    NetworkPublicationConfig, NetworkPublicationState, PublicationImageConfig,
    PublicationImageState, SetupAction,
};

const SESSION: i32 = 0x1234;
const STREAM: i32 = 1001;
const INITIAL_TERM_ID: i32 = -5;
const TERM_LENGTH: i32 = 64 * 1024;
const MTU: i32 = 1408;
const RECEIVER_ID: i64 = 0x0ABC_DEF0;
const TICK_NS: i64 = 100_000;

/// SplitMix64, for the network's choices.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

fn terms() -> Vec<AtomicBuffer> {
    (0..3)
        .map(|_| AtomicBuffer::new_zeroed(TERM_LENGTH as usize))
        .collect()
}

/// Writes messages into the sender's log like an exclusive publication.
struct Publisher {
    terms: Vec<AtomicBuffer>,
    position: i64,
    next_seq: u64,
}

impl Publisher {
    /// Appends message `next_seq` (a varying length) if it fits below `limit`.
    fn offer(&mut self, limit: i64) -> bool {
        let seq = self.next_seq;
        let payload_len = 8 + (seq % 7) as usize * 24;
        let frame_length = DATA_HEADER_LENGTH + payload_len;
        let aligned = align(frame_length, FRAME_ALIGNMENT) as i64;
        let shift = position_bits_to_shift(TERM_LENGTH);
        let term_offset = self.position & (TERM_LENGTH as i64 - 1);
        let pad = if term_offset + aligned > TERM_LENGTH as i64 {
            TERM_LENGTH as i64 - term_offset
        } else {
            0
        };
        if self.position + pad + aligned > limit {
            return false;
        }
        if pad > 0 {
            self.write(HDR_TYPE_PAD, pad as i32, &[]);
        }
        if self.position & (TERM_LENGTH as i64 - 1) == 0 {
            // Entering a term: the partition held the term three back, long since sent.
            let term = &self.terms[index_by_position(self.position, shift)];
            term.set_memory(0, TERM_LENGTH as usize, 0);
        }
        let mut payload = vec![(seq % 251) as u8; payload_len];
        payload[..8].copy_from_slice(&seq.to_le_bytes());
        self.write(HDR_TYPE_DATA, frame_length as i32, &payload);
        self.next_seq += 1;
        true
    }

    fn write(&mut self, frame_type: u16, frame_length: i32, payload: &[u8]) {
        let shift = position_bits_to_shift(TERM_LENGTH);
        let term = &self.terms[index_by_position(self.position, shift)];
        let offset = (self.position & (TERM_LENGTH as i64 - 1)) as usize;
        let header = DataHeader {
            frame_length: 0,
            flags: UNFRAGMENTED,
            frame_type,
            term_offset: offset as i32,
            session_id: SESSION,
            stream_id: STREAM,
            term_id: INITIAL_TERM_ID + (self.position >> shift) as i32,
            reserved_value: 0,
        };
        term.put_bytes(offset, &header.to_bytes());
        term.put_bytes(offset + DATA_HEADER_LENGTH, payload);
        term.put_i32_release(offset, frame_length);
        self.position += align(frame_length as usize, FRAME_ALIGNMENT) as i64;
    }
}

/// Reads an image in order and checks every message; the first message seen fixes the sequence.
struct Subscriber {
    position: i64,
    first_seq: Option<u64>,
    next_seq: u64,
}

impl Subscriber {
    fn poll(&mut self, terms: &[AtomicBuffer], limit: usize) {
        let shift = position_bits_to_shift(TERM_LENGTH);
        for _ in 0..limit {
            let term = &terms[index_by_position(self.position, shift)];
            let offset = (self.position & (TERM_LENGTH as i64 - 1)) as usize;
            let frame_length = term.get_i32_acquire(offset);
            if frame_length <= 0 {
                return;
            }
            if term.get_u16(offset + 6) == HDR_TYPE_DATA {
                let seq = term.get_u64(offset + DATA_HEADER_LENGTH);
                if self.first_seq.is_none() {
                    self.first_seq = Some(seq);
                    self.next_seq = seq;
                }
                assert_eq!(
                    seq, self.next_seq,
                    "message out of order at position {}",
                    self.position
                );
                let len = frame_length as usize - DATA_HEADER_LENGTH;
                assert_eq!(len, 8 + (seq % 7) as usize * 24);
                if len > 8 {
                    assert_eq!(
                        term.get_u8(offset + frame_length as usize - 1),
                        (seq % 251) as u8
                    );
                }
                self.next_seq += 1;
            }
            self.position += align(frame_length as usize, FRAME_ALIGNMENT) as i64;
        }
    }
}

/// The choices the network makes about a datagram on its way to a receiver.
trait Weather {
    /// Whether to drop this DATA datagram (never heartbeats) on its way to `receiver`.
    fn drop_data(&mut self, receiver: usize, header: &DataHeader, len: usize) -> bool;
    /// Whether to deliver this datagram after the one queued before it.
    fn reorder(&mut self) -> bool;
}

struct RandomLoss {
    rng: Rng,
    loss: f64,
    reorder: f64,
}

impl Weather for RandomLoss {
    fn drop_data(&mut self, _: usize, _: &DataHeader, _: usize) -> bool {
        self.rng.chance(self.loss)
    }

    fn reorder(&mut self) -> bool {
        self.rng.chance(self.reorder)
    }
}

struct NoLoss;

impl Weather for NoLoss {
    fn drop_data(&mut self, _: usize, _: &DataHeader, _: usize) -> bool {
        false
    }

    fn reorder(&mut self) -> bool {
        false
    }
}

/// Channel shape of a run.
struct Mode {
    receivers: usize,
    /// Multicast (group semantics) with this `fc=` value, or unicast when `None`.
    multicast_fc: Option<&'static str>,
    /// Tick at which each receiver subscribes.
    subscribe_at: &'static [u64],
    /// Messages the publisher may offer per tick.
    offers_per_tick: usize,
}

const UNICAST: Mode = Mode {
    receivers: 1,
    multicast_fc: None,
    subscribe_at: &[0],
    offers_per_tick: usize::MAX,
};

/// One receiving driver: endpoint dispatcher, image, its log and a subscriber.
struct Receiver {
    dispatcher: DataPacketDispatcher,
    terms: Vec<AtomicBuffer>,
    image: Option<PublicationImageState>,
    subscriber: Subscriber,
    inbox: VecDeque<Vec<u8>>,
}

#[derive(Default, Debug)]
struct Outcome {
    /// Messages each subscriber read, and the first one it saw.
    delivered: Vec<(Option<u64>, u64)>,
    naks_sent: u64,
    retransmits: u64,
    dropped: u64,
    elicited_setups: u64,
    naks: Vec<(i32, i32, i32)>,
    ticks: u64,
    eos_seen: bool,
}

/// Runs publisher → sender → network → receivers → subscribers until every subscriber has read up to message
/// `messages` and seen end of stream, or `max_ticks` ticks of 100 µs passed.
fn run(messages: u64, weather: &mut dyn Weather, max_ticks: u64, mode: &Mode) -> Outcome {
    let mut now = 1_000_000_000;
    let sender_terms = terms();
    let mut publisher = Publisher {
        terms: sender_terms.clone(),
        position: 0,
        next_seq: 0,
    };
    let multicast = mode.multicast_fc.is_some();
    let mut cfg = NetworkPublicationConfig::new(SESSION, STREAM, INITIAL_TERM_ID, TERM_LENGTH, MTU);
    cfg.group_semantics = multicast;
    let fc_option = mode
        .multicast_fc
        .map(|fc| FlowControlOption::parse(fc).unwrap());
    let mut sender = NetworkPublicationState::new(
        cfg,
        FlowControl::new(
            fc_option.as_ref(),
            multicast,
            FlowControlDefaults::default(),
        ),
        now,
    );
    let mut receivers: Vec<Receiver> = (0..mode.receivers)
        .map(|i| Receiver {
            dispatcher: DataPacketDispatcher::new(RECEIVER_ID + i as i64, None),
            terms: terms(),
            image: None,
            subscriber: Subscriber {
                position: 0,
                first_seq: None,
                next_seq: 0,
            },
            inbox: VecDeque::new(),
        })
        .collect();
    let mut to_sender: VecDeque<Vec<u8>> = VecDeque::new();
    let mut outcome = Outcome::default();
    let mut closed = false;

    for tick in 0..max_ticks {
        outcome.ticks = tick;
        now += TICK_NS;
        for (i, r) in receivers.iter_mut().enumerate() {
            if mode.subscribe_at[i] == tick {
                r.dispatcher.add_subscription(STREAM);
            }
        }
        // Publisher: a window of term/2 beyond the sender position.
        let mut offers = 0;
        while offers < mode.offers_per_tick
            && publisher.next_seq < messages
            && publisher.offer(sender.sender_position() + i64::from(TERM_LENGTH / 2))
        {
            offers += 1;
        }
        if publisher.next_seq == messages && !closed {
            sender.close(publisher.position);
            closed = true;
        }

        // Sender agent: one duty cycle, every datagram to every receiver through the weather.
        let mut sent = Vec::new();
        sender.send(now, &sender_terms, &mut |d: &[u8]| sent.push(d.to_vec()));
        deliver(&mut receivers, sent, weather, &mut outcome);

        for (i, r) in receivers.iter_mut().enumerate() {
            // Receiver agent: route what arrived.
            while let Some(d) = r.inbox.pop_front() {
                match Frame::decode(&d).expect("sender sends valid frames") {
                    Frame::Setup(setup) => {
                        if r.dispatcher.on_setup(&setup) == SetupAction::CreateImage {
                            let seed = multicast.then_some(0xC0FFEE + i as u64);
                            let cfg = PublicationImageConfig::from_setup(
                                &setup,
                                RECEIVER_ID + i as i64,
                                None,
                                defaults::RECEIVER_INITIAL_WINDOW_LENGTH,
                                seed,
                            )
                            .expect("valid setup");
                            r.subscriber.position = cfg.initial_position;
                            r.image = Some(PublicationImageState::new(cfg, now));
                            r.dispatcher.add_publication_image(STREAM, SESSION);
                        }
                    }
                    Frame::Data(frame) | Frame::Pad(frame) => {
                        match r.dispatcher.on_data(&frame.header, now) {
                            DataAction::ToImage => {
                                r.image.as_mut().unwrap().insert_packet(&d, &r.terms, now);
                            }
                            DataAction::ElicitSetup(sm) => {
                                outcome.elicited_setups += 1;
                                to_sender.push_back(sm.to_vec());
                            }
                            DataAction::Drop => {}
                        }
                    }
                    other => panic!("unexpected frame to receiver {other:?}"),
                }
            }
            r.dispatcher.check_pending_setups(now);

            let Some(image) = r.image.as_mut() else {
                continue;
            };
            r.subscriber.poll(&r.terms, 64);
            // Conductor: loss scan, SM scheduling, lifecycle.
            let sub = r.subscriber.position;
            image.track_rebuild(now, sub, sub, &r.terms);
            image.on_time_event(now, Some(sub));
            // Receiver agent: NAKs and status messages to the sender.
            let mut naks = Vec::new();
            image.poll_naks(now, &mut naks);
            for nak in naks {
                outcome
                    .naks
                    .push((nak.term_id, nak.term_offset, nak.length));
                to_sender.push_back(nak.to_vec());
            }
            if let Some(sm) = image.poll_status_message(now) {
                to_sender.push_back(sm.to_vec());
            }
        }

        // Sender agent: control frames.
        while let Some(d) = to_sender.pop_front() {
            match Frame::decode(&d).expect("receivers send valid frames") {
                Frame::StatusMessage(sm) => {
                    sender.on_status_message(&sm, now);
                }
                Frame::Nak(nak) => {
                    let mut resent = Vec::new();
                    sender.on_nak(&nak, now, &sender_terms, &mut |d: &[u8]| {
                        resent.push(d.to_vec())
                    });
                    deliver(&mut receivers, resent, weather, &mut outcome);
                }
                other => panic!("unexpected frame to sender {other:?}"),
            }
        }

        let done = receivers.iter().all(|r| {
            r.subscriber.next_seq == messages
                && r.image
                    .as_ref()
                    .is_some_and(|i| i.end_of_stream_position().is_some())
        });
        if done {
            outcome.eos_seen = true;
            break;
        }
    }
    for r in &receivers {
        outcome
            .delivered
            .push((r.subscriber.first_seq, r.subscriber.next_seq));
        if let Some(image) = &r.image {
            outcome.naks_sent += image.stats().naks_sent;
            assert!(image.rcv_position() <= image.hwm_position());
        }
    }
    outcome.retransmits = sender.stats().retransmits_sent;
    outcome
}

fn deliver(
    receivers: &mut [Receiver],
    datagrams: Vec<Vec<u8>>,
    weather: &mut dyn Weather,
    outcome: &mut Outcome,
) {
    for d in datagrams {
        for (i, r) in receivers.iter_mut().enumerate() {
            if let Ok(Frame::Data(frame)) = Frame::decode(&d) {
                if !frame.header.is_heartbeat() && weather.drop_data(i, &frame.header, d.len()) {
                    outcome.dropped += 1;
                    continue;
                }
            }
            if weather.reorder() {
                if let Some(last) = r.inbox.pop_back() {
                    r.inbox.push_back(d.clone());
                    r.inbox.push_back(last);
                    continue;
                }
            }
            r.inbox.push_back(d.clone());
        }
    }
}

fn assert_all_delivered(outcome: &Outcome, messages: u64) {
    for &(first, next) in &outcome.delivered {
        assert_eq!((first, next), (Some(0), messages), "{outcome:?}");
    }
    assert!(outcome.eos_seen, "{outcome:?}");
}

#[test]
fn lossless_transfer_needs_no_naks() {
    let outcome = run(10_000, &mut NoLoss, 100_000, &UNICAST);
    assert_all_delivered(&outcome, 10_000);
    assert_eq!(outcome.naks_sent, 0);
    assert_eq!(outcome.retransmits, 0);
}

#[test]
fn ten_percent_loss_with_reorders_delivers_everything_in_order() {
    let mut weather = RandomLoss {
        rng: Rng(0x5EED_0010),
        loss: 0.10,
        reorder: 0.05,
    };
    let outcome = run(10_000, &mut weather, 400_000, &UNICAST);
    assert_all_delivered(&outcome, 10_000);
    assert!(outcome.dropped > 0);
    assert!(outcome.naks_sent > 0);
    assert!(outcome.retransmits > 0);
}

#[test]
fn thirty_percent_loss_delivers_everything_in_order() {
    let mut weather = RandomLoss {
        rng: Rng(0x5EED_0030),
        loss: 0.30,
        reorder: 0.05,
    };
    let outcome = run(10_000, &mut weather, 1_000_000, &UNICAST);
    assert_all_delivered(&outcome, 10_000);
    assert!(outcome.naks_sent > 0);
    assert!(outcome.retransmits > 0);
}

/// Drops the first transmission of every datagram that ends term 0 or starts term 1.
struct TermTail {
    seen: Vec<(i32, i32)>,
}

impl Weather for TermTail {
    fn drop_data(&mut self, _: usize, header: &DataHeader, len: usize) -> bool {
        let at_tail = header.term_id == INITIAL_TERM_ID
            && header.term_offset as usize + len >= TERM_LENGTH as usize - 4096;
        let at_head = header.term_id == INITIAL_TERM_ID + 1 && header.term_offset == 0;
        let key = (header.term_id, header.term_offset);
        if (at_tail || at_head) && !self.seen.contains(&key) {
            self.seen.push(key);
            return true;
        }
        false
    }

    fn reorder(&mut self) -> bool {
        false
    }
}

#[test]
fn lost_term_tail_is_naked_and_recovered_across_the_term_boundary() {
    let mut weather = TermTail { seen: Vec::new() };
    let outcome = run(2_000, &mut weather, 100_000, &UNICAST);
    assert_all_delivered(&outcome, 2_000);
    assert!(!weather.seen.is_empty());
    let tail_nak = outcome.naks.iter().any(|&(term_id, offset, length)| {
        term_id == INITIAL_TERM_ID && offset + length == TERM_LENGTH
    });
    let head_nak = outcome
        .naks
        .iter()
        .any(|&(term_id, offset, _)| term_id == INITIAL_TERM_ID + 1 && offset == 0);
    assert!(tail_nak, "NAKs: {:?}", outcome.naks);
    assert!(head_nak, "NAKs: {:?}", outcome.naks);
    assert!(outcome.retransmits >= 2);
}

#[test]
fn multicast_min_flow_control_with_two_lossy_receivers() {
    let mut weather = RandomLoss {
        rng: Rng(0x5EED_0002),
        loss: 0.10,
        reorder: 0.02,
    };
    let mode = Mode {
        receivers: 2,
        multicast_fc: Some("min,g:/2"),
        subscribe_at: &[0, 0],
        offers_per_tick: usize::MAX,
    };
    let outcome = run(10_000, &mut weather, 1_000_000, &mode);
    assert_all_delivered(&outcome, 10_000);
    assert!(outcome.naks_sent > 0);
    assert!(outcome.retransmits > 0);
}

#[test]
fn late_multicast_receiver_elicits_a_setup_and_joins_mid_stream() {
    let mode = Mode {
        receivers: 2,
        multicast_fc: Some("max"),
        subscribe_at: &[0, 50],
        // 2,500 ticks of publishing: the elicited SETUP goes out 100 ms (1,000 ticks) after the first.
        offers_per_tick: 4,
    };
    let outcome = run(10_000, &mut NoLoss, 100_000, &mode);
    assert_eq!(outcome.delivered[0], (Some(0), 10_000));
    let (first, next) = outcome.delivered[1];
    assert!(first.is_some_and(|f| f > 0), "{outcome:?}");
    assert_eq!(next, 10_000);
    assert!(outcome.elicited_setups >= 1);
    assert!(outcome.eos_seen);
}
