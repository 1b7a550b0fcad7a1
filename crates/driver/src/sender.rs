//! The sender agent: owns send channel endpoints (sockets) and network publications; sends SETUP, data,
//! heartbeats and resends, and reads status messages, NAKs, RTT measurements and error frames from the
//! control path (Aeron's `aeron_driver_sender.c` and the conductor duties of `aeron_network_publication.c`).

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::{Receiver, Sender};
use std::time::Instant;

use oxeron_client::logbuffer::LogBuffers;
use oxeron_concurrent::agent::{Agent, AgentError};
use oxeron_concurrent::counters::type_id::{channel_endpoint_status, system_counter_id as sc};
use oxeron_concurrent::counters::AtomicCounter;
use oxeron_protocol::frame::Frame;
use oxeron_protocol::logbuffer::{compute_position, position_bits_to_shift, term_id, term_offset};

use crate::loss::{Direction, LossPolicy};
use crate::mmsg::SendBatch;
use crate::net::{FlowControl, NetworkPublicationConfig, NetworkPublicationState, SmOutcome};
use crate::system_counters::SystemCounters;
use crate::unblocker::unblock_log;
use crate::DriverEvent;

/// Datagrams read from one endpoint per duty cycle.
const MAX_RECEIVES_PER_CYCLE: usize = 32;
/// A dynamic MDC destination is dropped after this long without status messages.
const DESTINATION_TIMEOUT_NS: i64 = 5_000_000_000;
/// Period of the lifecycle checks.
const TIMER_INTERVAL_NS: i64 = 1_000_000;
/// While busy sending, control frames are read every this many duty cycles (`AERON_SEND_TO_STATUS_POLL_RATIO`).
const STATUS_POLL_RATIO: u32 = 6;
/// Control frames are read at least this often (Aeron's control poll timeout).
const CONTROL_POLL_TIMEOUT_NS: i64 = 100_000;

/// Where a send endpoint's datagrams go.
#[derive(Debug)]
pub(crate) enum Destinations {
    /// One address (unicast or a multicast group).
    Single(SocketAddr),
    /// MDC with manual control: the addresses clients added.
    Manual(Vec<SocketAddr>),
    /// MDC with dynamic control: receivers that sent status messages (receiver id, address, last heard).
    Dynamic(Vec<(i64, SocketAddr, i64)>),
}

/// A socket publications send through, created by the conductor.
#[derive(Debug)]
pub(crate) struct SendEndpoint {
    /// Conductor's id of the endpoint.
    pub(crate) endpoint_id: i64,
    /// Non-blocking socket.
    pub(crate) socket: UdpSocket,
    /// Destinations of data.
    pub(crate) destinations: Destinations,
    /// `snd-channel` status counter.
    pub(crate) status: AtomicCounter,
}

impl SendEndpoint {
    /// Queues one datagram in `batch` (dropped here if the loss policy says so), sending what the batch held
    /// first when the datagram cannot join it.
    fn send(
        &self,
        bytes: &[u8],
        batch: &mut SendBatch,
        counters: &SystemCounters,
        loss: &mut Option<LossPolicy>,
        sent: &mut i64,
    ) {
        if let Some(policy) = loss {
            if policy.should_drop(Direction::Send, bytes) {
                return;
            }
        }
        if batch.push(bytes) {
            return;
        }
        self.flush(batch, counters, sent);
        if !batch.push(bytes) {
            self.for_each_destination(|address| self.send_to(bytes, *address, counters, sent));
        }
    }

    /// Sends what `batch` holds to every destination and empties it.
    fn flush(&self, batch: &mut SendBatch, counters: &SystemCounters, sent: &mut i64) {
        if batch.is_empty() {
            return;
        }
        self.for_each_destination(|address| {
            let result = batch.send_to(&self.socket, address);
            *sent += result.bytes as i64;
            if result.short > 0 {
                counters.add(sc::SHORT_SENDS, result.short as i64);
            }
        });
        batch.clear();
    }

    fn for_each_destination(&self, mut f: impl FnMut(&SocketAddr)) {
        match &self.destinations {
            Destinations::Single(address) => f(address),
            Destinations::Manual(addresses) => addresses.iter().for_each(f),
            Destinations::Dynamic(receivers) => receivers.iter().for_each(|(_, a, _)| f(a)),
        }
    }

    fn send_to(
        &self,
        bytes: &[u8],
        address: SocketAddr,
        counters: &SystemCounters,
        sent: &mut i64,
    ) {
        match self.socket.send_to(bytes, address) {
            Ok(n) if n == bytes.len() => *sent += n as i64,
            Ok(_) | Err(_) => counters.add(sc::SHORT_SENDS, 1),
        }
    }
}

/// Lifecycle of a network publication, as Aeron's conductor moves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    Active,
    Draining,
    Linger,
}

/// A spy subscriber's position on a network publication.
#[derive(Debug)]
pub(crate) struct SpyPosition {
    /// Registration id of the spy subscription.
    pub(crate) subscription_registration_id: i64,
    /// Its sub-pos counter.
    pub(crate) counter: AtomicCounter,
}

/// What the conductor hands the sender for a new network publication.
#[derive(Debug)]
pub(crate) struct NewNetworkPublication {
    /// Registration id.
    pub(crate) registration_id: i64,
    /// Endpoint it sends through.
    pub(crate) endpoint_id: i64,
    /// The publication's log.
    pub(crate) log: LogBuffers,
    /// Protocol configuration.
    pub(crate) config: NetworkPublicationConfig,
    /// Flow control strategy.
    pub(crate) flow_control: FlowControl,
    /// pub-lmt counter.
    pub(crate) publisher_limit: AtomicCounter,
    /// pub-pos counter.
    pub(crate) publisher_position: AtomicCounter,
    /// snd-pos counter.
    pub(crate) sender_position: AtomicCounter,
    /// snd-lmt counter.
    pub(crate) sender_limit: AtomicCounter,
    /// snd-bpe counter (times flow control held the sender back).
    pub(crate) sender_bpe: AtomicCounter,
    /// snd-naks-received counter.
    pub(crate) naks_received: AtomicCounter,
    /// How far the publisher may run ahead of the sender.
    pub(crate) term_window_length: i64,
    /// Linger after end of stream.
    pub(crate) linger_timeout_ns: i64,
    /// Spies count as receivers.
    pub(crate) spies_simulate_connection: bool,
    /// Exclusive publications have a single publisher and are never unblocked.
    pub(crate) is_exclusive: bool,
    /// A concurrent publication whose sender position has not moved for this long while a claim is pending is
    /// unblocked.
    pub(crate) unblock_timeout_ns: i64,
}

/// Commands from the conductor.
#[derive(Debug)]
pub(crate) enum SenderCommand {
    /// Start serving an endpoint.
    AddEndpoint(SendEndpoint),
    /// Stop serving an endpoint (its publications are gone).
    RemoveEndpoint {
        /// The endpoint.
        endpoint_id: i64,
    },
    /// Start sending a publication.
    AddPublication(Box<NewNetworkPublication>),
    /// The last client let go of a publication: drain, send EOS, linger.
    ClosePublication {
        /// The publication.
        registration_id: i64,
    },
    /// A manual MDC destination.
    AddDestination {
        /// The endpoint.
        endpoint_id: i64,
        /// The destination.
        address: SocketAddr,
    },
    /// Removes a manual MDC destination.
    RemoveDestination {
        /// The endpoint.
        endpoint_id: i64,
        /// The destination.
        address: SocketAddr,
    },
    /// A spy subscriber joined a publication.
    AddSpy {
        /// The publication.
        registration_id: i64,
        /// The spy's position.
        spy: SpyPosition,
    },
    /// A spy subscription went away.
    RemoveSpy {
        /// The spy subscription.
        subscription_registration_id: i64,
    },
}

struct NetworkPublication {
    registration_id: i64,
    endpoint_id: i64,
    session_id: i32,
    stream_id: i32,
    log: LogBuffers,
    state: NetworkPublicationState,
    publisher_limit: AtomicCounter,
    publisher_position: AtomicCounter,
    sender_position: AtomicCounter,
    sender_limit: AtomicCounter,
    sender_bpe: AtomicCounter,
    naks_received: AtomicCounter,
    term_window_length: i64,
    term_length: i32,
    shift: u32,
    initial_term_id: i32,
    clean_position: i64,
    lifecycle: Lifecycle,
    time_of_last_state_change_ns: i64,
    linger_timeout_ns: i64,
    spies: Vec<SpyPosition>,
    spies_simulate_connection: bool,
    connected: bool,
    reported: crate::net::PublicationStats,
    is_exclusive: bool,
    unblock_timeout_ns: i64,
    last_sender_position: i64,
    time_of_last_sender_position_change_ns: i64,
}

impl NetworkPublication {
    fn producer_position(&self) -> i64 {
        let raw_tail = self.log.metadata().active_raw_tail();
        compute_position(
            term_id(raw_tail),
            term_offset(raw_tail, self.term_length),
            self.shift,
            self.initial_term_id,
        )
    }

    fn has_subscribers(&self) -> bool {
        self.state.is_connected() || (self.spies_simulate_connection && !self.spies.is_empty())
    }

    fn clean_buffer(&mut self, position: i64) {
        if position <= self.clean_position {
            return;
        }
        let term_length = i64::from(self.term_length);
        let index = oxeron_protocol::logbuffer::index_by_position(self.clean_position, self.shift);
        let offset = (self.clean_position & (term_length - 1)) as usize;
        let length = (position - self.clean_position).min(term_length - offset as i64) as usize;
        let term = self.log.term(index);
        if length > 8 {
            term.set_memory(offset + 8, length - 8, 0);
        }
        term.put_i64_release(offset, 0);
        self.clean_position += length as i64;
    }

    /// Unblocks the log when a concurrent publisher claimed space and never committed it: the sender position
    /// stays put while the producer is ahead for the unblock timeout. Returns whether it unblocked.
    fn check_for_blocked_publisher(&mut self, producer: i64, now_ns: i64) -> bool {
        let snd_pos = self.state.sender_position();
        let expected_term_count = (snd_pos >> self.shift) as i32;
        let possibly_blocked =
            self.log.metadata().active_term_count() != expected_term_count || producer > snd_pos;
        if snd_pos == self.last_sender_position && possibly_blocked {
            if now_ns > self.time_of_last_sender_position_change_ns + self.unblock_timeout_ns
                && unblock_log(
                    self.log.terms(),
                    self.log.metadata(),
                    snd_pos,
                    self.term_length,
                )
            {
                self.time_of_last_sender_position_change_ns = now_ns;
                return true;
            }
        } else {
            self.time_of_last_sender_position_change_ns = now_ns;
            self.last_sender_position = snd_pos;
        }
        false
    }

    /// Publisher limit from the sender position and spies (Aeron's `update_pub_pos_and_lmt`).
    fn update_publisher_limit(&mut self) -> usize {
        if self.lifecycle != Lifecycle::Active {
            return 0;
        }
        let snd_pos = self.state.sender_position();
        let connected = self.has_subscribers();
        if connected != self.connected {
            self.connected = connected;
            self.log.metadata().set_is_connected(connected);
        }
        if connected {
            let min = self
                .spies
                .iter()
                .map(|s| s.counter.get())
                .fold(snd_pos, i64::min);
            let proposed = min + self.term_window_length;
            if proposed > self.publisher_limit.get_plain() {
                self.clean_buffer(min - i64::from(self.term_length));
                let clean_term = self.clean_position >> self.shift;
                let limit_term = proposed >> self.shift;
                let gap = limit_term - clean_term;
                if gap < 2
                    || (gap == 2 && self.clean_position & (i64::from(self.term_length) - 1) != 0)
                {
                    self.publisher_limit.set(proposed);
                }
                return 1;
            }
        } else if self.publisher_limit.get_plain() > snd_pos {
            self.publisher_limit.set(snd_pos);
            self.clean_buffer(snd_pos - i64::from(self.term_length));
            return 1;
        }
        0
    }
}

/// The sender agent.
pub(crate) struct SenderAgent {
    commands: Receiver<SenderCommand>,
    events: Sender<DriverEvent>,
    counters: SystemCounters,
    endpoints: Vec<SendEndpoint>,
    publications: Vec<NetworkPublication>,
    loss: Option<LossPolicy>,
    start: Instant,
    time_of_last_timer_ns: i64,
    duty_cycle_counter: u32,
    time_of_last_control_poll_ns: i64,
    receive_buffer: Vec<u8>,
    reply: Vec<u8>,
    /// Datagrams of the publication being sent, gathered for one GSO (or `sendmmsg`) send.
    batch: SendBatch,
}

impl SenderAgent {
    pub(crate) fn new(
        commands: Receiver<SenderCommand>,
        events: Sender<DriverEvent>,
        counters: SystemCounters,
        loss: Option<LossPolicy>,
        start: Instant,
    ) -> Self {
        SenderAgent {
            commands,
            events,
            counters,
            endpoints: Vec::new(),
            publications: Vec::new(),
            loss,
            start,
            time_of_last_timer_ns: 0,
            duty_cycle_counter: 0,
            time_of_last_control_poll_ns: 0,
            receive_buffer: vec![0; 64 * 1024],
            reply: vec![0; 128],
            batch: SendBatch::new(true),
        }
    }

    fn now_ns(&self) -> i64 {
        self.start.elapsed().as_nanos() as i64
    }

    fn on_command(&mut self, command: SenderCommand, now_ns: i64) {
        match command {
            SenderCommand::AddEndpoint(endpoint) => {
                endpoint.status.set(channel_endpoint_status::ACTIVE);
                self.endpoints.push(endpoint);
            }
            SenderCommand::RemoveEndpoint { endpoint_id } => {
                self.endpoints.retain(|e| e.endpoint_id != endpoint_id);
            }
            SenderCommand::AddPublication(p) => {
                let p = *p;
                let term_length = p.log.term_length();
                let initial_term_id = p.config.initial_term_id;
                let initial_position = p.config.initial_position;
                let (session_id, stream_id) = (p.config.session_id, p.config.stream_id);
                let state = NetworkPublicationState::new(p.config, p.flow_control, now_ns);
                p.sender_position.set(initial_position);
                p.sender_limit.set(initial_position);
                p.publisher_limit.set(initial_position);
                self.publications.push(NetworkPublication {
                    registration_id: p.registration_id,
                    endpoint_id: p.endpoint_id,
                    session_id,
                    stream_id,
                    log: p.log,
                    state,
                    publisher_limit: p.publisher_limit,
                    publisher_position: p.publisher_position,
                    sender_position: p.sender_position,
                    sender_limit: p.sender_limit,
                    sender_bpe: p.sender_bpe,
                    naks_received: p.naks_received,
                    term_window_length: p.term_window_length,
                    term_length,
                    shift: position_bits_to_shift(term_length),
                    initial_term_id,
                    clean_position: initial_position,
                    lifecycle: Lifecycle::Active,
                    time_of_last_state_change_ns: now_ns,
                    linger_timeout_ns: p.linger_timeout_ns,
                    spies: Vec::new(),
                    spies_simulate_connection: p.spies_simulate_connection,
                    connected: false,
                    reported: Default::default(),
                    is_exclusive: p.is_exclusive,
                    unblock_timeout_ns: p.unblock_timeout_ns,
                    last_sender_position: initial_position,
                    time_of_last_sender_position_change_ns: now_ns,
                });
            }
            SenderCommand::ClosePublication { registration_id } => {
                if let Some(p) = self
                    .publications
                    .iter_mut()
                    .find(|p| p.registration_id == registration_id)
                {
                    let producer = p.producer_position();
                    if p.publisher_limit.get_plain() > producer {
                        p.publisher_limit.set(producer);
                    }
                    p.log.metadata().set_end_of_stream_position(producer);
                    p.state.close(producer);
                    p.lifecycle = Lifecycle::Draining;
                    p.time_of_last_state_change_ns = now_ns;
                }
            }
            SenderCommand::AddDestination {
                endpoint_id,
                address,
            } => {
                if let Some(Destinations::Manual(list)) = self
                    .endpoints
                    .iter_mut()
                    .find(|e| e.endpoint_id == endpoint_id)
                    .map(|e| &mut e.destinations)
                {
                    if !list.contains(&address) {
                        list.push(address);
                    }
                }
            }
            SenderCommand::RemoveDestination {
                endpoint_id,
                address,
            } => {
                if let Some(Destinations::Manual(list)) = self
                    .endpoints
                    .iter_mut()
                    .find(|e| e.endpoint_id == endpoint_id)
                    .map(|e| &mut e.destinations)
                {
                    list.retain(|a| *a != address);
                }
            }
            SenderCommand::AddSpy {
                registration_id,
                spy,
            } => {
                if let Some(p) = self
                    .publications
                    .iter_mut()
                    .find(|p| p.registration_id == registration_id)
                {
                    p.spies.push(spy);
                }
            }
            SenderCommand::RemoveSpy {
                subscription_registration_id,
            } => {
                for p in &mut self.publications {
                    p.spies
                        .retain(|s| s.subscription_registration_id != subscription_registration_id);
                }
            }
        }
    }

    /// Reads control frames from every endpoint.
    fn poll_control(&mut self, now_ns: i64) -> usize {
        let mut work = 0;
        let mut bytes_received = 0i64;
        let mut bytes_sent = 0i64;
        for e in 0..self.endpoints.len() {
            for _ in 0..MAX_RECEIVES_PER_CYCLE {
                let (length, source) =
                    match self.endpoints[e].socket.recv_from(&mut self.receive_buffer) {
                        Ok(r) => r,
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                        Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => continue,
                        Err(err) => {
                            let _ = self
                                .events
                                .send(DriverEvent::Error(format!("send endpoint receive: {err}")));
                            break;
                        }
                    };
                work += 1;
                bytes_received += length as i64;
                let datagram = &self.receive_buffer[..length];
                if let Some(policy) = &mut self.loss {
                    if policy.should_drop(Direction::Receive, datagram) {
                        continue;
                    }
                }
                let endpoint = &mut self.endpoints[e];
                let frame = match Frame::decode(datagram) {
                    Ok(frame) => frame,
                    Err(_) => {
                        self.counters.add(sc::INVALID_PACKETS, 1);
                        continue;
                    }
                };
                let endpoint_id = endpoint.endpoint_id;
                let find =
                    |publications: &mut Vec<NetworkPublication>, session: i32, stream: i32| {
                        publications.iter_mut().position(|p| {
                            p.endpoint_id == endpoint_id
                                && p.session_id == session
                                && p.stream_id == stream
                        })
                    };
                match frame {
                    Frame::StatusMessage(sm) => {
                        if let Destinations::Dynamic(receivers) = &mut endpoint.destinations {
                            match receivers
                                .iter_mut()
                                .find(|(id, _, _)| *id == sm.receiver_id)
                            {
                                Some(r) => {
                                    r.1 = source;
                                    r.2 = now_ns;
                                }
                                None => receivers.push((sm.receiver_id, source, now_ns)),
                            }
                        }
                        // Session 0 and stream 0: a dynamic MDC receiver announcing itself; it is a
                        // destination now, and its dispatcher asks for SETUP once data reaches it.
                        let publication = find(&mut self.publications, sm.session_id, sm.stream_id);
                        if let Some(i) = publication {
                            if self.publications[i].state.on_status_message(&sm, now_ns)
                                == SmOutcome::Rejected
                            {
                                self.counters.add(sc::STATUS_MESSAGES_REJECTED, 1);
                            }
                        }
                    }
                    Frame::Nak(nak) => {
                        if let Some(i) = find(&mut self.publications, nak.session_id, nak.stream_id)
                        {
                            let p = &mut self.publications[i];
                            let endpoint = &self.endpoints[e];
                            let counters = &self.counters;
                            let loss = &mut self.loss;
                            let batch = &mut self.batch;
                            let sent = &mut bytes_sent;
                            p.state.on_nak(&nak, now_ns, p.log.terms(), &mut |bytes| {
                                endpoint.send(bytes, batch, counters, loss, sent)
                            });
                            endpoint.flush(batch, counters, sent);
                        }
                    }
                    Frame::Error(err) => {
                        self.counters.add(sc::ERROR_FRAMES_RECEIVED, 1);
                        if let Some(i) = find(&mut self.publications, err.session_id, err.stream_id)
                        {
                            self.publications[i].state.on_error(err.receiver_id);
                        }
                    }
                    Frame::Rttm(rttm) => {
                        if let Some(i) =
                            find(&mut self.publications, rttm.session_id, rttm.stream_id)
                        {
                            if let Some(reply) = self.publications[i].state.on_rttm(&rttm) {
                                let n = reply.encode(&mut self.reply);
                                self.endpoints[e].send_to(
                                    &self.reply[..n],
                                    source,
                                    &self.counters,
                                    &mut bytes_sent,
                                );
                            }
                        }
                    }
                    _ => {}
                }
            }
            if let Destinations::Dynamic(receivers) = &mut self.endpoints[e].destinations {
                receivers.retain(|&(_, _, last)| now_ns - last < DESTINATION_TIMEOUT_NS);
            }
        }
        self.counters.add(sc::BYTES_RECEIVED, bytes_received);
        self.counters.add(sc::BYTES_SENT, bytes_sent);
        work
    }

    fn send_publications(&mut self, now_ns: i64) -> usize {
        let mut work = 0;
        let mut bytes_sent = 0i64;
        for p in &mut self.publications {
            let Some(endpoint) = self
                .endpoints
                .iter()
                .find(|e| e.endpoint_id == p.endpoint_id)
            else {
                continue;
            };
            let counters = &self.counters;
            let loss = &mut self.loss;
            let batch = &mut self.batch;
            let sent = &mut bytes_sent;
            work += p.state.send(now_ns, p.log.terms(), &mut |bytes| {
                endpoint.send(bytes, batch, counters, loss, sent)
            });
            endpoint.flush(batch, counters, sent);
            p.sender_position.set(p.state.sender_position());
            p.sender_limit.set(p.state.sender_limit());
            work += p.update_publisher_limit();
        }
        self.counters.add(sc::BYTES_SENT, bytes_sent);
        work
    }

    fn on_timer(&mut self, now_ns: i64) -> usize {
        let mut work = 0;
        let mut index = 0;
        while index < self.publications.len() {
            let p = &mut self.publications[index];
            report_stats(p, &self.counters);
            let producer = p.producer_position();
            p.publisher_position.set(producer);
            match p.lifecycle {
                Lifecycle::Active => {
                    if !p.is_exclusive && p.check_for_blocked_publisher(producer, now_ns) {
                        self.counters.add(sc::UNBLOCKED_PUBLICATIONS, 1);
                    }
                }
                Lifecycle::Draining => {
                    let snd_pos = p.state.sender_position();
                    let mut drained = producer <= snd_pos;
                    if !drained
                        && !unblock_log(p.log.terms(), p.log.metadata(), snd_pos, p.term_length)
                        && !p.state.has_receivers()
                    {
                        drained = true;
                    }
                    let spies_done = p.spies.iter().all(|s| s.counter.get() >= producer);
                    if drained && spies_done {
                        p.lifecycle = Lifecycle::Linger;
                        p.time_of_last_state_change_ns = now_ns;
                        p.log.metadata().set_is_connected(false);
                        work += 1;
                    }
                }
                Lifecycle::Linger => {
                    if p.state.has_received_unicast_eos()
                        || now_ns > p.time_of_last_state_change_ns + p.linger_timeout_ns
                    {
                        let p = self.publications.swap_remove(index);
                        let _ = self.events.send(DriverEvent::PublicationDone {
                            registration_id: p.registration_id,
                        });
                        work += 1;
                        continue;
                    }
                }
            }
            index += 1;
        }
        work
    }
}

fn report_stats(p: &mut NetworkPublication, counters: &SystemCounters) {
    let now = *p.state.stats();
    let before = std::mem::replace(&mut p.reported, now);
    let delta = |a: u64, b: u64| (a - b) as i64;
    let bpe = delta(now.flow_control_limits, before.flow_control_limits);
    if bpe > 0 {
        p.sender_bpe.get_and_add(bpe);
    }
    let naks = delta(now.naks_received, before.naks_received);
    if naks > 0 {
        p.naks_received.get_and_add(naks);
    }
    counters.add(
        sc::HEARTBEATS_SENT,
        delta(now.heartbeats_sent, before.heartbeats_sent),
    );
    counters.add(
        sc::STATUS_MESSAGES_RECEIVED,
        delta(
            now.status_messages_received,
            before.status_messages_received,
        ),
    );
    counters.add(
        sc::NAK_MESSAGES_RECEIVED,
        delta(now.naks_received, before.naks_received),
    );
    counters.add(
        sc::RETRANSMITS_SENT,
        delta(now.retransmits_sent, before.retransmits_sent),
    );
    counters.add(
        sc::RETRANSMITTED_BYTES,
        delta(now.retransmitted_bytes, before.retransmitted_bytes),
    );
    counters.add(
        sc::INVALID_PACKETS,
        delta(now.invalid_packets, before.invalid_packets),
    );
    counters.add(
        sc::RETRANSMIT_OVERFLOW,
        delta(now.retransmit_overflows, before.retransmit_overflows),
    );
    counters.add(
        sc::SENDER_FLOW_CONTROL_LIMITS,
        delta(now.flow_control_limits, before.flow_control_limits),
    );
}

impl Agent for SenderAgent {
    fn do_work(&mut self) -> Result<usize, AgentError> {
        let now_ns = self.now_ns();
        let mut work = 0;
        while let Ok(command) = self.commands.try_recv() {
            self.on_command(command, now_ns);
            work += 1;
        }
        let sent = self.send_publications(now_ns);
        work += sent;
        self.duty_cycle_counter += 1;
        if sent == 0
            || self.duty_cycle_counter >= STATUS_POLL_RATIO
            || now_ns - self.time_of_last_control_poll_ns > CONTROL_POLL_TIMEOUT_NS
        {
            self.duty_cycle_counter = 0;
            self.time_of_last_control_poll_ns = now_ns;
            work += self.poll_control(now_ns);
        }
        if now_ns - self.time_of_last_timer_ns >= TIMER_INTERVAL_NS {
            self.time_of_last_timer_ns = now_ns;
            work += self.on_timer(now_ns);
        }
        Ok(work)
    }

    fn on_close(&mut self) {
        for p in &mut self.publications {
            report_stats(p, &self.counters);
        }
        self.publications.clear();
        self.endpoints.clear();
    }

    fn role_name(&self) -> &str {
        "sender"
    }
}
