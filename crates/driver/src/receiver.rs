//! The receiver agent: owns receive channel endpoints (sockets) and publication images; routes DATA and SETUP,
//! writes frames into images, sends status messages and NAKs, and runs the images' loss detection and
//! lifecycle (Aeron's `aeron_driver_receiver.c`, `aeron_receive_channel_endpoint.c` and the conductor duties
//! of `aeron_publication_image.c`).

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use oxeron_client::logbuffer::LogBuffers;
use oxeron_concurrent::agent::{Agent, AgentError};
use oxeron_concurrent::counters::type_id::{channel_endpoint_status, system_counter_id as sc};
use oxeron_concurrent::counters::AtomicCounter;
use oxeron_protocol::frame::nak::Nak;
use oxeron_protocol::frame::status::{StatusMessage, EOS_FLAG as SM_EOS_FLAG, SEND_SETUP_FLAG};
use oxeron_protocol::frame::Frame;
use oxeron_protocol::logbuffer::{compute_term_id_from_position, position_bits_to_shift};

use crate::loss::{Direction, LossPolicy};
use crate::mmsg::RecvBatch;
use crate::net::PENDING_SETUP_TIMEOUT_NS;
use crate::net::{
    DataAction, DataPacketDispatcher, FeedbackDelay, Gap, ImageLifecycle, ImageStats,
    InsertOutcome, PublicationImageConfig, PublicationImageState, SetupAction,
};
use crate::system_counters::SystemCounters;
use crate::DriverEvent;

/// Datagrams read from one endpoint per duty cycle.
const MAX_RECEIVES_PER_CYCLE: usize = 64;

/// A subscriber's position on an image, shared with the conductor (which adds and frees them).
#[derive(Debug)]
pub(crate) struct ImageSubscriber {
    /// Registration id of the subscription.
    pub(crate) subscription_registration_id: i64,
    /// Its sub-pos counter.
    pub(crate) counter: AtomicCounter,
}

/// Subscriber positions of one image.
pub(crate) type SharedSubscribers = Arc<Mutex<Vec<ImageSubscriber>>>;

/// A socket the receiver reads, created by the conductor.
#[derive(Debug)]
pub(crate) struct ReceiveEndpoint {
    /// Conductor's id of the endpoint.
    pub(crate) endpoint_id: i64,
    /// Non-blocking sockets with their local addresses: one, or for a multi-destination subscription one per
    /// receive destination.
    pub(crate) sockets: Vec<(SocketAddr, UdpSocket)>,
    /// The endpoint is a multicast group (NAKs back off as Aeron's multicast feedback delay says).
    pub(crate) multicast: bool,
    /// Receiver id in status messages.
    pub(crate) receiver_id: i64,
    /// Group tag in status messages (`gtag`).
    pub(crate) group_tag: Option<i64>,
    /// Receiver window of new images.
    pub(crate) receiver_window: i32,
    /// Images fill gaps with padding instead of NAKing (`reliable=false`).
    pub(crate) unreliable: bool,
    /// Image liveness timeout.
    pub(crate) image_liveness_timeout_ns: i64,
    /// Longest interval between an image's status messages.
    pub(crate) status_message_timeout_ns: i64,
    /// NAK delay of unicast images.
    pub(crate) nak_unicast_delay_ns: i64,
    /// `rcv-channel` status counter.
    pub(crate) status: AtomicCounter,
    /// `control` of a dynamic MDC subscription: where setup-eliciting status messages go.
    pub(crate) control: Option<SocketAddr>,
    /// A multicast endpoint's control group (the data group's address plus one): where every status
    /// message and NAK goes, as in Aeron.
    pub(crate) multicast_control: Option<SocketAddr>,
}

struct Endpoint {
    inner: ReceiveEndpoint,
    dispatcher: DataPacketDispatcher,
    /// Streams subscribed, for elicit-setup messages to the control address.
    streams: Vec<i32>,
    time_of_last_elicit_ns: i64,
}

/// What the conductor hands the receiver for a new image.
#[derive(Debug)]
pub(crate) struct NewImage {
    /// Correlation id of the image.
    pub(crate) correlation_id: i64,
    /// Endpoint the image receives on.
    pub(crate) endpoint_id: i64,
    /// Where status messages and NAKs go.
    pub(crate) control_address: SocketAddr,
    /// The image's log.
    pub(crate) log: LogBuffers,
    /// Protocol configuration.
    pub(crate) config: PublicationImageConfig,
    /// rcv-hwm counter.
    pub(crate) receiver_hwm: AtomicCounter,
    /// rcv-pos counter.
    pub(crate) receiver_position: AtomicCounter,
    /// rcv-naks-sent counter.
    pub(crate) naks_sent: AtomicCounter,
    /// Subscriber positions.
    pub(crate) subscribers: SharedSubscribers,
}

/// Commands from the conductor.
#[derive(Debug)]
pub(crate) enum ReceiverCommand {
    /// Start reading an endpoint.
    AddEndpoint(ReceiveEndpoint),
    /// Stop reading an endpoint.
    RemoveEndpoint {
        /// The endpoint.
        endpoint_id: i64,
    },
    /// Interest in a stream (all sessions, or one).
    AddSubscription {
        /// The endpoint.
        endpoint_id: i64,
        /// Stream id.
        stream_id: i32,
        /// `session-id` filter.
        session_id: Option<i32>,
    },
    /// The last subscription of a stream (and session filter) went away.
    RemoveSubscription {
        /// The endpoint.
        endpoint_id: i64,
        /// Stream id.
        stream_id: i32,
        /// `session-id` filter.
        session_id: Option<i32>,
    },
    /// The conductor created an image the receiver asked for.
    AddImage(Box<NewImage>),
    /// A receive destination of a multi-destination subscription.
    AddDestination {
        /// The endpoint.
        endpoint_id: i64,
        /// The socket's local address.
        local: SocketAddr,
        /// The socket.
        socket: UdpSocket,
    },
    /// Removes a receive destination.
    RemoveDestination {
        /// The endpoint.
        endpoint_id: i64,
        /// The socket's local address.
        local: SocketAddr,
    },
    /// A client rejected an image.
    RejectImage {
        /// The image.
        correlation_id: i64,
        /// Why (sent to the sender in ERR frames).
        reason: String,
    },
    /// The conductor did not create an image the receiver asked for.
    ImageNotCreated {
        /// The endpoint.
        endpoint_id: i64,
        /// Stream id.
        stream_id: i32,
        /// Session id.
        session_id: i32,
    },
}

struct Image {
    correlation_id: i64,
    endpoint_id: i64,
    session_id: i32,
    stream_id: i32,
    control_address: SocketAddr,
    /// Local address of the socket the image's SETUP came through (replies leave from it).
    local: SocketAddr,
    log: LogBuffers,
    state: PublicationImageState,
    receiver_hwm: AtomicCounter,
    receiver_position: AtomicCounter,
    naks_sent: AtomicCounter,
    subscribers: SharedSubscribers,
    lifecycle: ImageLifecycle,
    eos_published: bool,
    reported: ImageStats,
    /// Aeron's image connections: each transport (local socket address) the image heard from, where its
    /// status messages and NAKs go (the sender's address, or the multicast control group), and when it was
    /// last heard from.
    transports: Vec<Connection>,
    liveness_timeout_ns: i64,
}

#[derive(Debug, Clone, Copy)]
struct Connection {
    local: SocketAddr,
    control: SocketAddr,
    last_frame_ns: i64,
}

impl Image {
    fn heard_from(&mut self, local: SocketAddr, control: SocketAddr, now_ns: i64) {
        match self.transports.iter_mut().find(|c| c.local == local) {
            Some(c) => {
                c.last_frame_ns = now_ns;
                c.control = control;
            }
            None => self.transports.push(Connection {
                local,
                control,
                last_frame_ns: now_ns,
            }),
        }
    }

    fn is_live(&self, connection: &Connection, now_ns: i64) -> bool {
        now_ns < connection.last_frame_ns + self.liveness_timeout_ns
    }

    /// Aeron's active transport count in the log metadata: transports heard from within the liveness
    /// timeout, updated when a status message goes out.
    fn update_active_transport_count(&self, now_ns: i64) {
        let active = self
            .transports
            .iter()
            .filter(|c| self.is_live(c, now_ns))
            .count() as i32;
        let metadata = self.log.metadata();
        if metadata.active_transport_count() != active {
            metadata.set_active_transport_count(active);
        }
    }
}

/// The receiver agent.
pub(crate) struct ReceiverAgent {
    commands: Receiver<ReceiverCommand>,
    events: Sender<DriverEvent>,
    counters: SystemCounters,
    endpoints: Vec<Endpoint>,
    images: Vec<Image>,
    loss: Option<LossPolicy>,
    start: Instant,
    batch: RecvBatch,
    send_buffer: Vec<u8>,
    naks: Vec<Nak>,
    /// Scratch: (socket index, control address) of the image being serviced.
    connections: Vec<(usize, SocketAddr)>,
    gaps: Vec<Gap>,
    /// Images being created: (endpoint, session, stream, local address of the socket the SETUP came through).
    pending_transports: Vec<(i64, i32, i32, SocketAddr)>,
}

impl ReceiverAgent {
    pub(crate) fn new(
        commands: Receiver<ReceiverCommand>,
        events: Sender<DriverEvent>,
        counters: SystemCounters,
        loss: Option<LossPolicy>,
        start: Instant,
    ) -> Self {
        ReceiverAgent {
            commands,
            events,
            counters,
            endpoints: Vec::new(),
            images: Vec::new(),
            loss,
            start,
            batch: RecvBatch::new(),
            send_buffer: vec![0; 2048],
            naks: Vec::new(),
            connections: Vec::new(),
            gaps: Vec::new(),
            pending_transports: Vec::new(),
        }
    }

    fn now_ns(&self) -> i64 {
        self.start.elapsed().as_nanos() as i64
    }

    fn endpoint_mut(&mut self, endpoint_id: i64) -> Option<&mut Endpoint> {
        self.endpoints
            .iter_mut()
            .find(|e| e.inner.endpoint_id == endpoint_id)
    }

    fn on_command(&mut self, command: ReceiverCommand, now_ns: i64) {
        match command {
            ReceiverCommand::AddEndpoint(endpoint) => {
                endpoint.status.set(channel_endpoint_status::ACTIVE);
                let dispatcher =
                    DataPacketDispatcher::new(endpoint.receiver_id, endpoint.group_tag);
                self.endpoints.push(Endpoint {
                    inner: endpoint,
                    dispatcher,
                    streams: Vec::new(),
                    time_of_last_elicit_ns: i64::MIN / 2,
                });
            }
            ReceiverCommand::RemoveEndpoint { endpoint_id } => {
                if let Some(endpoint) = self
                    .endpoints
                    .iter()
                    .find(|e| e.inner.endpoint_id == endpoint_id)
                {
                    // Tell each sender this receiver is gone (an EOS status message), so flow control stops
                    // waiting for it.
                    for image in self.images.iter().filter(|i| i.endpoint_id == endpoint_id) {
                        let Some((_, socket)) = endpoint
                            .inner
                            .sockets
                            .iter()
                            .find(|(l, _)| *l == image.local)
                            .or(endpoint.inner.sockets.first())
                        else {
                            continue;
                        };
                        let term_length = image.log.term_length();
                        let position = image.state.rcv_position();
                        let sm = StatusMessage {
                            flags: SM_EOS_FLAG,
                            session_id: image.session_id,
                            stream_id: image.stream_id,
                            consumption_term_id: compute_term_id_from_position(
                                position,
                                position_bits_to_shift(term_length),
                                image.log.metadata().initial_term_id(),
                            ),
                            consumption_term_offset: (position & (i64::from(term_length) - 1))
                                as i32,
                            receiver_window: 0,
                            receiver_id: endpoint.inner.receiver_id,
                            group_tag: endpoint.inner.group_tag,
                        };
                        let n = sm.encode(&mut self.send_buffer);
                        Self::send(
                            socket,
                            &self.send_buffer[..n],
                            image.control_address,
                            &mut self.loss,
                            &self.counters,
                        );
                    }
                }
                self.endpoints
                    .retain(|e| e.inner.endpoint_id != endpoint_id);
                // Its images can no longer be reached: they end now.
                let mut index = 0;
                while index < self.images.len() {
                    if self.images[index].endpoint_id != endpoint_id {
                        index += 1;
                        continue;
                    }
                    let mut image = self.images.swap_remove(index);
                    report_stats(&mut image, &self.counters);
                    let correlation_id = image.correlation_id;
                    if matches!(
                        image.lifecycle,
                        ImageLifecycle::Active | ImageLifecycle::Draining
                    ) {
                        let _ = self
                            .events
                            .send(DriverEvent::ImageUnavailable { correlation_id });
                    }
                    let _ = self.events.send(DriverEvent::ImageDone { correlation_id });
                }
            }
            ReceiverCommand::AddSubscription {
                endpoint_id,
                stream_id,
                session_id,
            } => {
                if let Some(e) = self.endpoint_mut(endpoint_id) {
                    match session_id {
                        Some(s) => e.dispatcher.add_subscription_by_session(stream_id, s),
                        None => e.dispatcher.add_subscription(stream_id),
                    }
                    e.streams.push(stream_id);
                    e.time_of_last_elicit_ns = i64::MIN / 2;
                }
            }
            ReceiverCommand::RemoveSubscription {
                endpoint_id,
                stream_id,
                session_id,
            } => {
                if let Some(e) = self.endpoint_mut(endpoint_id) {
                    match session_id {
                        Some(s) => e.dispatcher.remove_subscription_by_session(stream_id, s),
                        None => e.dispatcher.remove_subscription(stream_id),
                    }
                    if let Some(i) = e.streams.iter().position(|&s| s == stream_id) {
                        e.streams.swap_remove(i);
                    }
                }
            }
            ReceiverCommand::AddImage(image) => {
                let image = *image;
                let session_id = image.config.session_id;
                let stream_id = image.config.stream_id;
                let initial = image.config.initial_position;
                image.receiver_hwm.set(initial);
                image.receiver_position.set(initial);
                let mut control_address = image.control_address;
                if let Some(e) = self.endpoint_mut(image.endpoint_id) {
                    e.dispatcher.add_publication_image(stream_id, session_id);
                    control_address = e.inner.multicast_control.unwrap_or(control_address);
                }
                let liveness_timeout_ns = image.config.liveness_timeout_ns;
                let local = self
                    .pending_transports
                    .iter()
                    .position(|&(e, session, stream, _)| {
                        e == image.endpoint_id && session == session_id && stream == stream_id
                    })
                    .map(|i| self.pending_transports.swap_remove(i).3)
                    .unwrap_or(control_address);
                self.images.push(Image {
                    correlation_id: image.correlation_id,
                    endpoint_id: image.endpoint_id,
                    session_id,
                    stream_id,
                    control_address,
                    local,
                    log: image.log,
                    state: PublicationImageState::new(image.config, now_ns),
                    receiver_hwm: image.receiver_hwm,
                    receiver_position: image.receiver_position,
                    naks_sent: image.naks_sent,
                    subscribers: image.subscribers,
                    lifecycle: ImageLifecycle::Active,
                    eos_published: false,
                    reported: ImageStats::default(),
                    transports: vec![Connection {
                        local,
                        control: control_address,
                        last_frame_ns: self.start.elapsed().as_nanos() as i64,
                    }],
                    liveness_timeout_ns,
                });
            }
            ReceiverCommand::AddDestination {
                endpoint_id,
                local,
                socket,
            } => {
                if let Some(e) = self.endpoint_mut(endpoint_id) {
                    e.inner.sockets.push((local, socket));
                    e.time_of_last_elicit_ns = i64::MIN / 2;
                }
            }
            ReceiverCommand::RemoveDestination { endpoint_id, local } => {
                if let Some(e) = self.endpoint_mut(endpoint_id) {
                    e.inner.sockets.retain(|(l, _)| *l != local);
                }
            }
            ReceiverCommand::RejectImage {
                correlation_id,
                reason,
            } => {
                if let Some(image) = self
                    .images
                    .iter_mut()
                    .find(|i| i.correlation_id == correlation_id)
                {
                    image.state.reject(&reason);
                }
            }
            ReceiverCommand::ImageNotCreated {
                endpoint_id,
                stream_id,
                session_id,
            } => {
                self.pending_transports.retain(|&(e, session, stream, _)| {
                    !(e == endpoint_id && session == session_id && stream == stream_id)
                });
                if let Some(e) = self.endpoint_mut(endpoint_id) {
                    e.dispatcher.remove_pending(stream_id, session_id);
                }
            }
        }
    }

    fn send(
        socket: &UdpSocket,
        bytes: &[u8],
        to: SocketAddr,
        loss: &mut Option<LossPolicy>,
        counters: &SystemCounters,
    ) {
        if let Some(policy) = loss {
            if policy.should_drop(Direction::Send, bytes) {
                return;
            }
        }
        match socket.send_to(bytes, to) {
            Ok(n) if n == bytes.len() => counters.add(sc::BYTES_SENT, n as i64),
            _ => counters.add(sc::SHORT_SENDS, 1),
        }
    }

    fn poll_endpoints(&mut self, now_ns: i64) -> usize {
        let mut work = 0;
        let mut bytes_received = 0i64;
        for e in 0..self.endpoints.len() {
            for t in 0..self.endpoints[e].inner.sockets.len() {
                let (mut next, mut count) = (0, 0);
                for _ in 0..MAX_RECEIVES_PER_CYCLE {
                    let Some((_, socket)) = self.endpoints[e].inner.sockets.get(t) else {
                        break;
                    };
                    if next == count {
                        next = 0;
                        count = match self.batch.receive(socket) {
                            Ok(0) => break,
                            Ok(n) => n,
                            Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => continue,
                            Err(err) => {
                                let _ = self
                                    .events
                                    .send(DriverEvent::Error(format!("receive endpoint: {err}")));
                                break;
                            }
                        };
                    }
                    let i = next;
                    next += 1;
                    let Some((datagram, source)) = self.batch.get(i) else {
                        continue;
                    };
                    work += 1;
                    bytes_received += datagram.len() as i64;
                    if let Some(policy) = &mut self.loss {
                        if policy.should_drop(Direction::Receive, datagram) {
                            continue;
                        }
                    }
                    let frame = match Frame::decode(datagram) {
                        Ok(frame) => frame,
                        Err(_) => {
                            self.counters.add(sc::INVALID_PACKETS, 1);
                            continue;
                        }
                    };
                    let endpoint = &mut self.endpoints[e];
                    let endpoint_id = endpoint.inner.endpoint_id;
                    match frame {
                        Frame::Data(f) | Frame::Pad(f) => {
                            match endpoint.dispatcher.on_data(&f.header, now_ns) {
                                DataAction::ToImage => {
                                    let Some(image) = self.images.iter_mut().find(|i| {
                                        i.endpoint_id == endpoint_id
                                            && i.session_id == f.header.session_id
                                            && i.stream_id == f.header.stream_id
                                    }) else {
                                        continue;
                                    };
                                    image.heard_from(
                                        endpoint.inner.sockets[t].0,
                                        endpoint.inner.multicast_control.unwrap_or(source),
                                        now_ns,
                                    );
                                    let outcome = image.state.insert_packet(
                                        datagram,
                                        image.log.terms(),
                                        now_ns,
                                    );
                                    if matches!(
                                        outcome,
                                        InsertOutcome::Inserted | InsertOutcome::Heartbeat
                                    ) {
                                        image.receiver_hwm.set(image.state.hwm_position());
                                    }
                                }
                                DataAction::ElicitSetup(sm) => {
                                    let n = sm.encode(&mut self.send_buffer);
                                    Self::send(
                                        &endpoint.inner.sockets[t].1,
                                        &self.send_buffer[..n],
                                        endpoint.inner.multicast_control.unwrap_or(source),
                                        &mut self.loss,
                                        &self.counters,
                                    );
                                }
                                DataAction::Drop => {}
                            }
                        }
                        Frame::Setup(setup)
                            if endpoint.dispatcher.on_setup(&setup) == SetupAction::CreateImage =>
                        {
                            let inner = &endpoint.inner;
                            match PublicationImageConfig::from_setup(
                                &setup,
                                inner.receiver_id,
                                inner.group_tag,
                                inner.receiver_window,
                                inner.multicast.then_some(inner.receiver_id as u64),
                            ) {
                                Ok(mut config) => {
                                    self.pending_transports.push((
                                        endpoint_id,
                                        setup.session_id,
                                        setup.stream_id,
                                        inner.sockets[t].0,
                                    ));
                                    config.reliable = !inner.unreliable;
                                    config.liveness_timeout_ns = inner.image_liveness_timeout_ns;
                                    config.sm_timeout_ns = inner.status_message_timeout_ns;
                                    if !inner.multicast {
                                        config.nak_delay =
                                            FeedbackDelay::unicast(inner.nak_unicast_delay_ns);
                                    }
                                    let _ = self.events.send(DriverEvent::CreateImage {
                                        endpoint_id,
                                        config: Box::new(config),
                                        source,
                                        mtu: setup.mtu,
                                    });
                                }
                                Err(err) => {
                                    endpoint
                                        .dispatcher
                                        .remove_pending(setup.stream_id, setup.session_id);
                                    self.counters.add(sc::INVALID_PACKETS, 1);
                                    let _ = self.events.send(DriverEvent::Error(format!(
                                        "SETUP from {source} refused: {err}"
                                    )));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            let endpoint = &mut self.endpoints[e];
            endpoint.dispatcher.check_pending_setups(now_ns);
            if let Some(control) = endpoint.inner.control {
                if !endpoint.streams.is_empty()
                    && now_ns - endpoint.time_of_last_elicit_ns >= PENDING_SETUP_TIMEOUT_NS
                {
                    endpoint.time_of_last_elicit_ns = now_ns;
                    // Session 0, stream 0, SEND_SETUP: the sender learns this receiver as a destination and
                    // sends SETUP for all its publications.
                    let sm = StatusMessage {
                        flags: SEND_SETUP_FLAG,
                        session_id: 0,
                        stream_id: 0,
                        consumption_term_id: 0,
                        consumption_term_offset: 0,
                        receiver_window: 0,
                        receiver_id: endpoint.inner.receiver_id,
                        group_tag: endpoint.inner.group_tag,
                    };
                    let n = sm.encode(&mut self.send_buffer);
                    for (_, socket) in &endpoint.inner.sockets {
                        Self::send(
                            socket,
                            &self.send_buffer[..n],
                            control,
                            &mut self.loss,
                            &self.counters,
                        );
                    }
                    work += 1;
                }
            }
        }
        self.counters.add(sc::BYTES_RECEIVED, bytes_received);
        work
    }

    fn image_duties(&mut self, now_ns: i64) -> usize {
        let mut work = 0;
        let mut index = 0;
        while index < self.images.len() {
            let image = &mut self.images[index];
            let positions = {
                let subscribers = image.subscribers.lock().unwrap_or_else(|p| p.into_inner());
                subscribers.iter().map(|s| s.counter.get()).fold(
                    None,
                    |acc: Option<(i64, i64)>, p| {
                        Some(acc.map_or((p, p), |(lo, hi)| (lo.min(p), hi.max(p))))
                    },
                )
            };
            if let Some((min, max)) = positions {
                image
                    .state
                    .track_rebuild(now_ns, min, max, image.log.terms());
            }
            image.receiver_position.set(image.state.rcv_position());
            image.state.drain_loss_observations(&mut self.gaps);
            if !self.gaps.is_empty() {
                let _ = self.events.send(DriverEvent::Loss {
                    correlation_id: image.correlation_id,
                    gaps: std::mem::take(&mut self.gaps),
                });
            }
            if let Some(eos) = image.state.end_of_stream_position() {
                if !image.eos_published {
                    image.eos_published = true;
                    image.log.metadata().set_end_of_stream_position(eos);
                }
            }
            let Some(endpoint) = self
                .endpoints
                .iter_mut()
                .find(|e| e.inner.endpoint_id == image.endpoint_id)
            else {
                index += 1;
                continue;
            };
            // As Aeron: status messages, NAKs and error frames go to every connection heard from within the
            // liveness timeout (each MDS destination's sender), through the socket it arrived on.
            self.connections.clear();
            for c in &image.transports {
                if image.is_live(c, now_ns) || c.local == image.local {
                    if let Some(i) = endpoint
                        .inner
                        .sockets
                        .iter()
                        .position(|(l, _)| *l == c.local)
                    {
                        self.connections.push((i, c.control));
                    }
                }
            }
            if self.connections.is_empty() {
                match endpoint
                    .inner
                    .sockets
                    .iter()
                    .position(|(local, _)| *local == image.local)
                    .or((!endpoint.inner.sockets.is_empty()).then_some(0))
                {
                    Some(i) => self.connections.push((i, image.control_address)),
                    None => {
                        index += 1;
                        continue;
                    }
                }
            }
            let sockets = &endpoint.inner.sockets;
            let send_all = |bytes: &[u8], loss: &mut Option<LossPolicy>| {
                for &(i, control) in &self.connections {
                    Self::send(&sockets[i].1, bytes, control, loss, &self.counters);
                }
            };
            if let Some(sm) = image.state.poll_status_message(now_ns) {
                image.update_active_transport_count(now_ns);
                let n = sm.encode(&mut self.send_buffer);
                send_all(&self.send_buffer[..n], &mut self.loss);
                work += 1;
            }
            if let Some(err) = image.state.poll_error_frame(now_ns) {
                let n = err.encode(&mut self.send_buffer);
                self.counters.add(sc::ERROR_FRAMES_SENT, 1);
                send_all(&self.send_buffer[..n], &mut self.loss);
            }
            image.state.poll_naks(now_ns, &mut self.naks);
            for nak in self.naks.drain(..) {
                let n = nak.encode(&mut self.send_buffer);
                send_all(&self.send_buffer[..n], &mut self.loss);
                work += 1;
            }
            report_stats(image, &self.counters);
            let lifecycle = image
                .state
                .on_time_event(now_ns, positions.map(|(min, _)| min));
            if lifecycle != image.lifecycle {
                image.lifecycle = lifecycle;
                work += 1;
                match lifecycle {
                    ImageLifecycle::Linger => {
                        endpoint
                            .dispatcher
                            .remove_publication_image(image.stream_id, image.session_id);
                        let _ = self.events.send(DriverEvent::ImageUnavailable {
                            correlation_id: image.correlation_id,
                        });
                    }
                    ImageLifecycle::Done => {
                        endpoint
                            .dispatcher
                            .remove_publication_image(image.stream_id, image.session_id);
                        endpoint
                            .dispatcher
                            .remove_cool_down(image.stream_id, image.session_id);
                        let correlation_id = image.correlation_id;
                        self.images.swap_remove(index);
                        let _ = self.events.send(DriverEvent::ImageDone { correlation_id });
                        continue;
                    }
                    ImageLifecycle::Active | ImageLifecycle::Draining => {}
                }
            }
            index += 1;
        }
        work
    }
}

fn report_stats(image: &mut Image, counters: &SystemCounters) {
    let now = *image.state.stats();
    let before = std::mem::replace(&mut image.reported, now);
    let delta = |a: u64, b: u64| (a - b) as i64;
    counters.add(
        sc::STATUS_MESSAGES_SENT,
        delta(now.status_messages_sent, before.status_messages_sent),
    );
    let naks = delta(now.naks_sent, before.naks_sent);
    if naks > 0 {
        image.naks_sent.get_and_add(naks);
    }
    counters.add(sc::NAK_MESSAGES_SENT, naks);
    counters.add(
        sc::HEARTBEATS_RECEIVED,
        delta(now.heartbeats_received, before.heartbeats_received),
    );
    counters.add(
        sc::FLOW_CONTROL_OVER_RUNS,
        delta(now.over_runs, before.over_runs),
    );
    counters.add(
        sc::FLOW_CONTROL_UNDER_RUNS,
        delta(now.under_runs, before.under_runs),
    );
    counters.add(sc::LOSS_GAP_FILLS, delta(now.gap_fills, before.gap_fills));
    counters.add(
        sc::INVALID_PACKETS,
        delta(now.invalid_packets, before.invalid_packets),
    );
}

impl Agent for ReceiverAgent {
    fn do_work(&mut self) -> Result<usize, AgentError> {
        let now_ns = self.now_ns();
        let mut work = 0;
        while let Ok(command) = self.commands.try_recv() {
            self.on_command(command, now_ns);
            work += 1;
        }
        work += self.poll_endpoints(now_ns);
        work += self.image_duties(now_ns);
        Ok(work)
    }

    fn on_close(&mut self) {
        self.images.clear();
        self.endpoints.clear();
    }

    fn role_name(&self) -> &str {
        "receiver"
    }
}
