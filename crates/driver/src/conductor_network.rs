//! The conductor's side of the UDP transport: channel endpoints, network publications, publication images
//! and spies. Sockets and logs are created here, then handed to the sender and receiver agents, which report
//! back through [`DriverEvent`]s.

use std::net::SocketAddr;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use oxeron_client::logbuffer::LogBuffers;
use oxeron_concurrent::counters::type_id::{
    channel_endpoint_status, DRIVER_LOCAL_SOCKET_ADDRESS_STATUS_TYPE_ID,
    DRIVER_PUBLISHER_LIMIT_TYPE_ID, DRIVER_PUBLISHER_POS_TYPE_ID, DRIVER_RECEIVER_HWM_TYPE_ID,
    DRIVER_RECEIVER_NAKS_SENT_TYPE_ID, DRIVER_RECEIVER_POS_TYPE_ID,
    DRIVER_RECEIVE_CHANNEL_STATUS_TYPE_ID, DRIVER_SENDER_BPE_TYPE_ID, DRIVER_SENDER_LIMIT_TYPE_ID,
    DRIVER_SENDER_NAKS_RECEIVED_TYPE_ID, DRIVER_SENDER_POSITION_TYPE_ID,
    DRIVER_SEND_CHANNEL_STATUS_TYPE_ID, DRIVER_SUBSCRIBER_POSITION_TYPE_ID, PUBLISHER_LIMIT_NAME,
    PUBLISHER_POSITION_CONCURRENT_NAME, PUBLISHER_POSITION_EXCLUSIVE_NAME, RECEIVER_HWM_NAME,
    RECEIVER_NAKS_SENT_NAME, RECEIVER_POSITION_NAME, RECEIVE_CHANNEL_STATUS_NAME,
    RECEIVE_LOCAL_SOCKADDR_NAME, SENDER_BPE_NAME, SENDER_LIMIT_NAME, SENDER_NAKS_RECEIVED_NAME,
    SENDER_POSITION_NAME, SEND_CHANNEL_STATUS_NAME, SEND_LOCAL_SOCKADDR_NAME,
    SUBSCRIBER_POSITION_NAME,
};
use oxeron_concurrent::counters::AtomicCounter;
use oxeron_concurrent::ring_buffer::ManyToOneRingBuffer;
use oxeron_protocol::command::*;
use oxeron_protocol::logbuffer::{
    compute_position, compute_term_id_from_position, position_bits_to_shift, InitialTails,
    LogBufferMetadata, DATA_HEADER_LENGTH,
};
use oxeron_protocol::uri::{ChannelUri, ControlMode};

use super::{
    invalid_parameter, stream_key, CommandError, CommandResult, ConductorState, PublicationLink,
    SubscriptionKind, SubscriptionLink,
};
use crate::loss::LossPolicy;
use crate::loss_report::LossReport;
use crate::net::{FlowControl, FlowControlDefaults, NetworkPublicationConfig};
use crate::receiver::{
    ImageSubscriber, NewImage, ReceiveEndpoint, ReceiverCommand, SharedSubscribers,
};
use crate::sender::{
    Destinations, NewNetworkPublication, SendEndpoint, SenderCommand, SpyPosition,
};
use crate::udp_channel::{
    bind_receive_socket, bind_send_socket, SocketBuffers, UdpChannel, UdpChannelError,
};
use crate::DriverEvent;

/// Source identity of spy images.
const SPY_SOURCE_IDENTITY: &str = "aeron:ipc";

struct SendEndpointEntry {
    endpoint_id: i64,
    canonical_form: String,
    status: AtomicCounter,
    /// `snd-local-sockaddr`: the address the socket is bound to (how a client finds an ephemeral port).
    local_sockaddr: AtomicCounter,
    ref_count: usize,
    manual: bool,
}

struct ReceiveEndpointEntry {
    endpoint_id: i64,
    canonical_form: String,
    status: AtomicCounter,
    /// `rcv-local-sockaddr` of each bound socket (one, or one per multi-destination destination).
    local_sockaddrs: Vec<(SocketAddr, AtomicCounter)>,
    /// Subscriptions by (stream, session filter), with their count.
    interests: Vec<(i32, Option<i32>, usize)>,
}

struct NetworkPublicationEntry {
    registration_id: i64,
    session_id: i32,
    stream_id: i32,
    endpoint_id: i64,
    canonical_form: String,
    exclusive: bool,
    ref_count: i32,
    closing: bool,
    term_length: i32,
    mtu_length: i32,
    log_file_name: String,
    publisher_limit_id: i32,
    counter_ids: Vec<i32>,
    sender_position: AtomicCounter,
    spies: Vec<(i64, i32)>,
}

struct ImageEntry {
    correlation_id: i64,
    endpoint_id: i64,
    session_id: i32,
    stream_id: i32,
    log_file_name: String,
    source_identity: String,
    receiver_hwm: AtomicCounter,
    receiver_position: AtomicCounter,
    naks_sent_id: i32,
    subscribers: SharedSubscribers,
    available: bool,
}

/// The conductor's network tables and its links to the sender and receiver agents.
pub(crate) struct NetworkState {
    to_sender: Sender<SenderCommand>,
    to_receiver: Sender<ReceiverCommand>,
    events: Receiver<DriverEvent>,
    send_endpoints: Vec<SendEndpointEntry>,
    receive_endpoints: Vec<ReceiveEndpointEntry>,
    publications: Vec<NetworkPublicationEntry>,
    images: Vec<ImageEntry>,
    next_endpoint_id: i64,
    loss_report: Option<LossReport>,
    _loss: Option<LossPolicy>,
}

impl NetworkState {
    pub(crate) fn new(
        to_sender: Sender<SenderCommand>,
        to_receiver: Sender<ReceiverCommand>,
        events: Receiver<DriverEvent>,
        loss_report: Option<LossReport>,
    ) -> Self {
        NetworkState {
            to_sender,
            to_receiver,
            events,
            send_endpoints: Vec::new(),
            receive_endpoints: Vec::new(),
            publications: Vec::new(),
            images: Vec::new(),
            next_endpoint_id: 1,
            loss_report,
            _loss: None,
        }
    }
}

fn channel_error(channel: &str, e: UdpChannelError) -> CommandError {
    match e {
        UdpChannelError::UnknownHost(host) => CommandError::new(
            ErrorCode::UnknownHost,
            format!("channel {channel:?}: unknown host {host}"),
        ),
        UdpChannelError::Invalid(message) => invalid_parameter(channel, &message),
    }
}

fn endpoint_error(channel: &str, e: &std::io::Error) -> CommandError {
    CommandError::new(
        ErrorCode::ChannelEndpointError,
        format!("channel {channel:?}: could not open the socket: {e}"),
    )
}

/// Key of channel status counters: the channel, length-prefixed.
fn channel_key(channel: &str) -> Vec<u8> {
    const MAX_CHANNEL: usize = 112 - 4;
    let channel = &channel.as_bytes()[..channel.len().min(MAX_CHANNEL)];
    let mut key = Vec::with_capacity(4 + channel.len());
    key.extend_from_slice(&(channel.len() as i32).to_le_bytes());
    key.extend_from_slice(channel);
    key
}

fn random_receiver_id() -> i64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (nanos ^ u64::from(std::process::id()).rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        as i64
}

impl ConductorState {
    /// Whether a network publication on the send endpoint `canonical_form` has `session_id` on `stream_id`.
    pub(super) fn network_session_in_use_on(
        &self,
        canonical_form: &str,
        stream_id: i32,
        session_id: i32,
    ) -> bool {
        self.net.publications.iter().any(|p| {
            p.canonical_form == canonical_form
                && p.stream_id == stream_id
                && p.session_id == session_id
        })
    }

    pub(super) fn network_session_in_use(&self, stream_id: i32, session_id: i32) -> bool {
        self.net
            .publications
            .iter()
            .any(|p| p.stream_id == stream_id && p.session_id == session_id)
    }

    fn socket_buffers(&self, udp: &UdpChannel) -> SocketBuffers {
        SocketBuffers::of(udp, self.ctx.socket_rcvbuf, self.ctx.socket_sndbuf)
    }

    fn next_endpoint_id(&mut self) -> i64 {
        let id = self.net.next_endpoint_id;
        self.net.next_endpoint_id += 1;
        id
    }

    fn channel_status_counter(
        &mut self,
        type_id: i32,
        name: &str,
        channel: &str,
        registration_id: i64,
    ) -> Result<AtomicCounter, CommandError> {
        let label = format!("{name}: {channel}");
        let counter =
            self.new_client_counter(type_id, &channel_key(channel), &label, registration_id, -1)?;
        counter.set(channel_endpoint_status::INITIALIZING);
        Ok(counter)
    }

    /// Aeron's local socket address indicator: type 14, key (status counter id, address length, address
    /// text), label `<name>: <status id> <address>`, value ACTIVE while the socket is bound.
    fn local_sockaddr_counter(
        &mut self,
        name: &str,
        registration_id: i64,
        status_id: i32,
        address: SocketAddr,
    ) -> Result<AtomicCounter, CommandError> {
        const MAX_ADDRESS: usize = 112 - 8 - 1;
        let text = address.to_string();
        let text = &text.as_bytes()[..text.len().min(MAX_ADDRESS)];
        let mut key = Vec::with_capacity(8 + text.len());
        key.extend_from_slice(&status_id.to_le_bytes());
        key.extend_from_slice(&(text.len() as i32).to_le_bytes());
        key.extend_from_slice(text);
        let label = format!("{name}: {status_id} {address}");
        let counter = self.new_client_counter(
            DRIVER_LOCAL_SOCKET_ADDRESS_STATUS_TYPE_ID,
            &key,
            &label,
            registration_id,
            -1,
        )?;
        counter.set(channel_endpoint_status::ACTIVE);
        Ok(counter)
    }

    /// The send endpoint for `udp`, opened if new. Returns its id.
    fn send_endpoint(
        &mut self,
        channel: &str,
        udp: &UdpChannel,
        registration_id: i64,
    ) -> Result<(i64, i32), CommandError> {
        if let Some(e) = self
            .net
            .send_endpoints
            .iter_mut()
            .find(|e| e.canonical_form == udp.canonical_form)
        {
            e.ref_count += 1;
            return Ok((e.endpoint_id, e.status.id()));
        }
        let socket = bind_send_socket(udp, self.socket_buffers(udp))
            .map_err(|e| endpoint_error(channel, &e))?;
        let destinations = if udp.is_manual_control() {
            Destinations::Manual(Vec::new())
        } else if udp.is_dynamic_control() {
            Destinations::Dynamic(Vec::new())
        } else {
            match udp.endpoint {
                Some(endpoint) => Destinations::Single(endpoint),
                None => {
                    return Err(invalid_parameter(
                        channel,
                        &"a publication needs an endpoint, or control-mode=manual/dynamic",
                    ))
                }
            }
        };
        let status = self.channel_status_counter(
            DRIVER_SEND_CHANNEL_STATUS_TYPE_ID,
            SEND_CHANNEL_STATUS_NAME,
            channel,
            registration_id,
        )?;
        let endpoint_id = self.next_endpoint_id();
        let status_id = status.id();
        let bound = socket
            .local_addr()
            .map_err(|e| endpoint_error(channel, &e))?;
        let local_sockaddr = match self.local_sockaddr_counter(
            SEND_LOCAL_SOCKADDR_NAME,
            registration_id,
            status_id,
            bound,
        ) {
            Ok(counter) => counter,
            Err(e) => {
                let _ = self.counters.free(status_id);
                return Err(e);
            }
        };
        self.net.send_endpoints.push(SendEndpointEntry {
            endpoint_id,
            canonical_form: udp.canonical_form.clone(),
            status: status.clone(),
            local_sockaddr,
            ref_count: 1,
            manual: udp.is_manual_control(),
        });
        let _ = self
            .net
            .to_sender
            .send(SenderCommand::AddEndpoint(SendEndpoint {
                endpoint_id,
                socket,
                destinations,
                status,
            }));
        Ok((endpoint_id, status_id))
    }

    fn release_send_endpoint(&mut self, endpoint_id: i64) {
        let Some(index) = self
            .net
            .send_endpoints
            .iter()
            .position(|e| e.endpoint_id == endpoint_id)
        else {
            return;
        };
        let e = &mut self.net.send_endpoints[index];
        e.ref_count = e.ref_count.saturating_sub(1);
        if e.ref_count == 0 {
            let e = self.net.send_endpoints.remove(index);
            let _ = self
                .net
                .to_sender
                .send(SenderCommand::RemoveEndpoint { endpoint_id });
            let _ = self.counters.free(e.local_sockaddr.id());
            let _ = self.counters.free(e.status.id());
        }
    }

    pub(super) fn add_network_publication(
        &mut self,
        client_id: i64,
        correlation_id: i64,
        stream_id: i32,
        channel: &str,
        uri: ChannelUri,
        exclusive: bool,
    ) -> CommandResult {
        let invalid = |e: &dyn std::fmt::Display| invalid_parameter(channel, e);
        let params = self.publication_params(channel, &uri, false)?;
        let udp = UdpChannel::parse(uri.clone()).map_err(|e| channel_error(channel, e))?;
        if !exclusive {
            let existing = self.net.publications.iter_mut().find(|p| {
                p.stream_id == stream_id
                    && !p.exclusive
                    && !p.closing
                    && p.canonical_form == udp.canonical_form
                    && params.session_id.is_none_or(|s| s == p.session_id)
            });
            if let Some(p) = existing {
                if p.term_length != params.term_length || p.mtu_length != params.mtu_length {
                    return Err(CommandError::new(
                        ErrorCode::InvalidChannel,
                        format!(
                            "existing publication for stream {stream_id} has term-length {} and mtu {}; channel asks for {} and {}",
                            p.term_length, p.mtu_length, params.term_length, params.mtu_length
                        ),
                    ));
                }
                p.ref_count += 1;
                let ready = PublicationBuffersReady {
                    correlation_id,
                    registration_id: p.registration_id,
                    session_id: p.session_id,
                    stream_id,
                    position_limit_counter_id: p.publisher_limit_id,
                    channel_status_indicator_id: self
                        .net
                        .send_endpoints
                        .iter()
                        .find(|e| e.endpoint_id == p.endpoint_id)
                        .map_or(-1, |e| e.status.id()),
                    log_file_name: &p.log_file_name.clone(),
                };
                let registration_id = p.registration_id;
                self.publication_links.push(PublicationLink {
                    registration_id: correlation_id,
                    client_id,
                    publication_registration_id: registration_id,
                });
                self.transmit(&Response::PublicationReady(ready));
                return Ok(());
            }
        }
        let (session_id, initial_term_id, tails) =
            self.new_publication_ids(stream_id, &params, Some(&udp.canonical_form))?;
        let initial_position = match params.initial_position {
            Some((initial, term_id, offset)) => compute_position(
                term_id,
                offset,
                position_bits_to_shift(params.term_length),
                initial,
            ),
            None => 0,
        };
        let flow_control = FlowControl::new(
            uri.flow_control().map_err(|e| invalid(&e))?.as_ref(),
            udp.has_group_semantics(),
            FlowControlDefaults {
                group_tag: self.ctx.flow_control_group_tag,
                group_min_size: self.ctx.flow_control_group_min_size,
                strategy: self.ctx.multicast_flow_control,
                ..FlowControlDefaults::default()
            },
        );
        let ttl = uri.ttl().map_err(|e| invalid(&e))?.map_or(0, i32::from);
        let registration_id = correlation_id;
        let (endpoint_id, status_id) = self.send_endpoint(channel, &udp, registration_id)?;
        let (path, log) = match self.create_publication_log(
            registration_id,
            session_id,
            stream_id,
            initial_term_id,
            &tails,
            &params,
            exclusive,
        ) {
            Ok(created) => created,
            Err(e) => {
                self.release_send_endpoint(endpoint_id);
                return Err(e);
            }
        };
        let key = stream_key(registration_id, session_id, stream_id, channel);
        let stream_label = format!("{registration_id} {session_id} {stream_id} {channel}");
        let position_name = if exclusive {
            PUBLISHER_POSITION_EXCLUSIVE_NAME
        } else {
            PUBLISHER_POSITION_CONCURRENT_NAME
        };
        let mut counters = Vec::new();
        for (type_id, name) in [
            (DRIVER_PUBLISHER_POS_TYPE_ID, position_name),
            (DRIVER_PUBLISHER_LIMIT_TYPE_ID, PUBLISHER_LIMIT_NAME),
            (DRIVER_SENDER_POSITION_TYPE_ID, SENDER_POSITION_NAME),
            (DRIVER_SENDER_LIMIT_TYPE_ID, SENDER_LIMIT_NAME),
            (DRIVER_SENDER_BPE_TYPE_ID, SENDER_BPE_NAME),
            (
                DRIVER_SENDER_NAKS_RECEIVED_TYPE_ID,
                SENDER_NAKS_RECEIVED_NAME,
            ),
        ] {
            match self.new_client_counter(
                type_id,
                &key,
                &format!("{name}: {stream_label}"),
                registration_id,
                client_id,
            ) {
                Ok(c) => counters.push(c),
                Err(e) => {
                    for c in &counters {
                        let _ = self.counters.free(c.id());
                    }
                    self.release_send_endpoint(endpoint_id);
                    let _ = std::fs::remove_file(&path);
                    return Err(e);
                }
            }
        }
        let mut counters = counters.into_iter();
        let mut next = || counters.next().expect("six counters");
        let (publisher_position, publisher_limit, sender_position, sender_limit) =
            (next(), next(), next(), next());
        let (sender_bpe, naks_received) = (next(), next());
        let mut config = NetworkPublicationConfig::new(
            session_id,
            stream_id,
            initial_term_id,
            params.term_length,
            params.mtu_length,
        );
        config.ttl = ttl;
        config.connection_timeout_ns = duration_ns(self.ctx.publication_connection_timeout);
        config.max_messages_per_send = self.ctx.network_publication_max_messages_per_send.max(1);
        config.initial_position = initial_position;
        config.group_semantics = udp.has_group_semantics();
        config.signal_eos = params.signal_eos;
        let log_file_name = path.display().to_string();
        let publisher_limit_id = publisher_limit.id();
        self.net.publications.push(NetworkPublicationEntry {
            registration_id,
            session_id,
            stream_id,
            endpoint_id,
            canonical_form: udp.canonical_form.clone(),
            exclusive,
            ref_count: 1,
            closing: false,
            term_length: params.term_length,
            mtu_length: params.mtu_length,
            log_file_name: log_file_name.clone(),
            publisher_limit_id,
            counter_ids: vec![
                publisher_position.id(),
                publisher_limit_id,
                sender_position.id(),
                sender_limit.id(),
                sender_bpe.id(),
                naks_received.id(),
            ],
            sender_position: sender_position.clone(),
            spies: Vec::new(),
        });
        sender_position.set(initial_position);
        let _ = self
            .net
            .to_sender
            .send(SenderCommand::AddPublication(Box::new(
                NewNetworkPublication {
                    registration_id,
                    endpoint_id,
                    log,
                    config,
                    flow_control,
                    publisher_limit,
                    publisher_position,
                    sender_position,
                    sender_limit,
                    sender_bpe,
                    naks_received,
                    term_window_length: params.term_window_length,
                    linger_timeout_ns: params.linger_timeout_ns,
                    spies_simulate_connection: uri
                        .spies_simulate_connection()
                        .ok()
                        .flatten()
                        .unwrap_or(self.ctx.spies_simulate_connection),
                    is_exclusive: exclusive,
                    unblock_timeout_ns: duration_ns(self.ctx.publication_unblock_timeout),
                },
            )));
        self.publication_links.push(PublicationLink {
            registration_id: correlation_id,
            client_id,
            publication_registration_id: registration_id,
        });
        let ready = PublicationBuffersReady {
            correlation_id,
            registration_id,
            session_id,
            stream_id,
            position_limit_counter_id: publisher_limit_id,
            channel_status_indicator_id: status_id,
            log_file_name: &log_file_name,
        };
        self.transmit(&if exclusive {
            Response::ExclusivePublicationReady(ready)
        } else {
            Response::PublicationReady(ready)
        });
        let spies: Vec<usize> = (0..self.subscriptions.len())
            .filter(|&i| {
                let s = &self.subscriptions[i];
                matches!(&s.kind, SubscriptionKind::Spy { canonical_form } if *canonical_form == udp.canonical_form)
                    && s.matches_stream(stream_id, session_id)
            })
            .collect();
        let index = self.net.publications.len() - 1;
        for spy in spies {
            self.link_spy(spy, index)?;
        }
        Ok(())
    }

    /// A client let go of a network publication; the last one starts its drain in the sender.
    pub(super) fn release_network_publication(&mut self, registration_id: i64) {
        if let Some(p) = self
            .net
            .publications
            .iter_mut()
            .find(|p| p.registration_id == registration_id)
        {
            p.ref_count -= 1;
            if p.ref_count == 0 {
                p.closing = true;
                let _ = self
                    .net
                    .to_sender
                    .send(SenderCommand::ClosePublication { registration_id });
            }
        }
    }

    /// Connects spy subscription `subscription` to network publication `publication`.
    fn link_spy(&mut self, subscription: usize, publication: usize) -> CommandResult {
        let link = &self.subscriptions[subscription];
        let p = &self.net.publications[publication];
        if p.closing {
            return Ok(());
        }
        let join_position = p.sender_position.get();
        let registration_id = link.registration_id;
        let client_id = link.client_id;
        let stream_id = link.stream_id;
        let session_id = p.session_id;
        let publication_registration_id = p.registration_id;
        let log_file_name = p.log_file_name.clone();
        let label = format!(
            "{SUBSCRIBER_POSITION_NAME}: {registration_id} {session_id} {stream_id} {} @{join_position}",
            link.channel
        );
        let key = stream_key(registration_id, session_id, stream_id, &link.channel);
        let counter = self.new_client_counter(
            DRIVER_SUBSCRIBER_POSITION_TYPE_ID,
            &key,
            &label,
            registration_id,
            client_id,
        )?;
        let _ = self
            .counters
            .set_counter_reference_id(counter.id(), publication_registration_id);
        counter.set(join_position);
        let counter_id = counter.id();
        self.net.publications[publication]
            .spies
            .push((registration_id, counter_id));
        let _ = self.net.to_sender.send(SenderCommand::AddSpy {
            registration_id: publication_registration_id,
            spy: SpyPosition {
                subscription_registration_id: registration_id,
                counter,
            },
        });
        self.transmit(&Response::AvailableImage(ImageBuffersReady {
            correlation_id: publication_registration_id,
            session_id,
            stream_id,
            subscription_registration_id: registration_id,
            subscriber_position_id: counter_id,
            log_file_name: &log_file_name,
            source_identity: SPY_SOURCE_IDENTITY,
        }));
        Ok(())
    }

    pub(super) fn add_network_subscription(
        &mut self,
        client_id: i64,
        correlation_id: i64,
        stream_id: i32,
        channel: &str,
        uri: ChannelUri,
        session_id: Option<i32>,
    ) -> CommandResult {
        let invalid = |e: &dyn std::fmt::Display| invalid_parameter(channel, e);
        let is_spy = uri.is_spy();
        let udp = UdpChannel::parse(uri.clone()).map_err(|e| channel_error(channel, e))?;
        if is_spy {
            self.subscriptions.push(SubscriptionLink {
                registration_id: correlation_id,
                client_id,
                stream_id,
                channel: channel.to_string(),
                session_id,
                kind: SubscriptionKind::Spy {
                    canonical_form: udp.canonical_form.clone(),
                },
            });
            self.transmit(&Response::SubscriptionReady(SubscriptionReady {
                correlation_id,
                channel_status_indicator_id: channel_endpoint_status::NO_ID_ALLOCATED,
            }));
            let subscription = self.subscriptions.len() - 1;
            let matching: Vec<usize> = (0..self.net.publications.len())
                .filter(|&i| {
                    let p = &self.net.publications[i];
                    p.canonical_form == udp.canonical_form
                        && self.subscriptions[subscription]
                            .matches_stream(p.stream_id, p.session_id)
                })
                .collect();
            for publication in matching {
                self.link_spy(subscription, publication)?;
            }
            return Ok(());
        }
        let mds = udp.control_mode == Some(ControlMode::Manual);
        let endpoint = match udp.endpoint {
            _ if mds => None,
            Some(endpoint) => Some(endpoint),
            None => {
                return Err(invalid_parameter(
                    channel,
                    &"a subscription needs an endpoint, or control-mode=manual",
                ))
            }
        };
        // A multi-destination subscription has an endpoint of its own, with a socket per destination.
        let canonical_form = match endpoint {
            Some(endpoint) => format!("UDP-{endpoint}"),
            None => format!("MDS-{correlation_id}"),
        };
        let endpoint_id = match self
            .net
            .receive_endpoints
            .iter()
            .find(|e| e.canonical_form == canonical_form)
        {
            Some(e) => e.endpoint_id,
            None => {
                let mut sockets = Vec::new();
                if let Some(endpoint) = endpoint {
                    let socket = bind_receive_socket(&udp, endpoint, self.socket_buffers(&udp))
                        .map_err(|e| endpoint_error(channel, &e))?;
                    let local = socket
                        .local_addr()
                        .map_err(|e| endpoint_error(channel, &e))?;
                    sockets.push((local, socket));
                }
                let receiver_window = match uri.receiver_window().map_err(|e| invalid(&e))? {
                    Some(w) => i32::try_from(w).map_err(|_| invalid(&"rcv-wnd out of range"))?,
                    None => self.ctx.initial_window_length,
                };
                let status = self.channel_status_counter(
                    DRIVER_RECEIVE_CHANNEL_STATUS_TYPE_ID,
                    RECEIVE_CHANNEL_STATUS_NAME,
                    channel,
                    correlation_id,
                )?;
                let mut local_sockaddrs = Vec::new();
                for &(local, _) in &sockets {
                    match self.local_sockaddr_counter(
                        RECEIVE_LOCAL_SOCKADDR_NAME,
                        correlation_id,
                        status.id(),
                        local,
                    ) {
                        Ok(counter) => local_sockaddrs.push((local, counter)),
                        Err(e) => {
                            let _ = self.counters.free(status.id());
                            return Err(e);
                        }
                    }
                }
                let endpoint_id = self.next_endpoint_id();
                self.net.receive_endpoints.push(ReceiveEndpointEntry {
                    endpoint_id,
                    canonical_form,
                    status: status.clone(),
                    local_sockaddrs,
                    interests: Vec::new(),
                });
                let _ = self
                    .net
                    .to_receiver
                    .send(ReceiverCommand::AddEndpoint(ReceiveEndpoint {
                        endpoint_id,
                        sockets,
                        multicast: udp.is_multicast,
                        receiver_id: random_receiver_id(),
                        group_tag: uri
                            .group_tag()
                            .map_err(|e| invalid(&e))?
                            .or(self.ctx.receiver_group_tag),
                        receiver_window,
                        unreliable: uri.reliable().map_err(|e| invalid(&e))? == Some(false),
                        image_liveness_timeout_ns: duration_ns(self.ctx.image_liveness_timeout),
                        status_message_timeout_ns: duration_ns(self.ctx.status_message_timeout),
                        nak_unicast_delay_ns: duration_ns(self.ctx.nak_unicast_delay),
                        status,
                        control: udp.control,
                        multicast_control: udp.multicast_control,
                    }));
                endpoint_id
            }
        };
        let entry = self
            .net
            .receive_endpoints
            .iter_mut()
            .find(|e| e.endpoint_id == endpoint_id)
            .expect("endpoint just found or added");
        let status_id = entry.status.id();
        match entry
            .interests
            .iter_mut()
            .find(|(s, session, _)| *s == stream_id && *session == session_id)
        {
            Some(interest) => interest.2 += 1,
            None => {
                entry.interests.push((stream_id, session_id, 1));
                let _ = self.net.to_receiver.send(ReceiverCommand::AddSubscription {
                    endpoint_id,
                    stream_id,
                    session_id,
                });
            }
        }
        self.subscriptions.push(SubscriptionLink {
            registration_id: correlation_id,
            client_id,
            stream_id,
            channel: channel.to_string(),
            session_id,
            kind: SubscriptionKind::Network { endpoint_id },
        });
        self.transmit(&Response::SubscriptionReady(SubscriptionReady {
            correlation_id,
            channel_status_indicator_id: status_id,
        }));
        let subscription = self.subscriptions.len() - 1;
        let images: Vec<usize> = (0..self.net.images.len())
            .filter(|&i| {
                let image = &self.net.images[i];
                image.available
                    && image.endpoint_id == endpoint_id
                    && self.subscriptions[subscription]
                        .matches_stream(image.stream_id, image.session_id)
            })
            .collect();
        for image in images {
            let join = {
                let image = &self.net.images[image];
                let subscribers = image.subscribers.lock().unwrap_or_else(|p| p.into_inner());
                subscribers
                    .iter()
                    .map(|s| s.counter.get())
                    .fold(image.receiver_position.get(), i64::min)
            };
            self.link_image(subscription, image, join)?;
        }
        Ok(())
    }

    /// Connects subscription `subscription` to image `image` at `join_position`.
    fn link_image(
        &mut self,
        subscription: usize,
        image: usize,
        join_position: i64,
    ) -> CommandResult {
        let link = &self.subscriptions[subscription];
        let entry = &self.net.images[image];
        let registration_id = link.registration_id;
        let client_id = link.client_id;
        let stream_id = entry.stream_id;
        let session_id = entry.session_id;
        let correlation_id = entry.correlation_id;
        let label = format!(
            "{SUBSCRIBER_POSITION_NAME}: {registration_id} {session_id} {stream_id} {} @{join_position}",
            link.channel
        );
        let key = stream_key(registration_id, session_id, stream_id, &link.channel);
        let log_file_name = entry.log_file_name.clone();
        let source_identity = entry.source_identity.clone();
        let counter = self.new_client_counter(
            DRIVER_SUBSCRIBER_POSITION_TYPE_ID,
            &key,
            &label,
            registration_id,
            client_id,
        )?;
        let _ = self
            .counters
            .set_counter_reference_id(counter.id(), correlation_id);
        counter.set(join_position);
        let counter_id = counter.id();
        self.net.images[image]
            .subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ImageSubscriber {
                subscription_registration_id: registration_id,
                counter,
            });
        self.transmit(&Response::AvailableImage(ImageBuffersReady {
            correlation_id,
            session_id,
            stream_id,
            subscription_registration_id: registration_id,
            subscriber_position_id: counter_id,
            log_file_name: &log_file_name,
            source_identity: &source_identity,
        }));
        Ok(())
    }

    /// Detaches a removed network or spy subscription from its images, publications and endpoint.
    pub(super) fn unlink_network_subscription(&mut self, link: &SubscriptionLink) {
        match &link.kind {
            SubscriptionKind::Ipc => {}
            SubscriptionKind::Spy { .. } => {
                let mut freed = Vec::new();
                for p in &mut self.net.publications {
                    p.spies.retain(|&(registration_id, counter_id)| {
                        let keep = registration_id != link.registration_id;
                        if !keep {
                            freed.push(counter_id);
                        }
                        keep
                    });
                }
                let _ = self.net.to_sender.send(SenderCommand::RemoveSpy {
                    subscription_registration_id: link.registration_id,
                });
                for id in freed {
                    let _ = self.counters.free(id);
                }
            }
            SubscriptionKind::Network { endpoint_id } => {
                let endpoint_id = *endpoint_id;
                let mut freed = Vec::new();
                for image in &self.net.images {
                    let mut subscribers =
                        image.subscribers.lock().unwrap_or_else(|p| p.into_inner());
                    subscribers.retain(|s| {
                        let keep = s.subscription_registration_id != link.registration_id;
                        if !keep {
                            freed.push(s.counter.id());
                        }
                        keep
                    });
                }
                for id in freed {
                    let _ = self.counters.free(id);
                }
                let Some(index) = self
                    .net
                    .receive_endpoints
                    .iter()
                    .position(|e| e.endpoint_id == endpoint_id)
                else {
                    return;
                };
                let entry = &mut self.net.receive_endpoints[index];
                if let Some(i) = entry
                    .interests
                    .iter()
                    .position(|(s, session, _)| *s == link.stream_id && *session == link.session_id)
                {
                    entry.interests[i].2 -= 1;
                    if entry.interests[i].2 == 0 {
                        entry.interests.remove(i);
                        let _ = self
                            .net
                            .to_receiver
                            .send(ReceiverCommand::RemoveSubscription {
                                endpoint_id,
                                stream_id: link.stream_id,
                                session_id: link.session_id,
                            });
                    }
                }
                if entry.interests.is_empty() {
                    let entry = self.net.receive_endpoints.remove(index);
                    let _ = self
                        .net
                        .to_receiver
                        .send(ReceiverCommand::RemoveEndpoint { endpoint_id });
                    for (_, counter) in &entry.local_sockaddrs {
                        let _ = self.counters.free(counter.id());
                    }
                    let _ = self.counters.free(entry.status.id());
                }
            }
        }
    }

    /// The multi-destination endpoint of subscription `registration_id`.
    fn mds_endpoint_of(&self, registration_id: i64, channel: &str) -> Result<i64, CommandError> {
        let link = self
            .subscriptions
            .iter()
            .find(|s| s.registration_id == registration_id)
            .ok_or_else(|| {
                CommandError::new(
                    ErrorCode::UnknownSubscription,
                    format!("unknown subscription registration_id={registration_id}"),
                )
            })?;
        let SubscriptionKind::Network { endpoint_id } = link.kind else {
            return Err(invalid_parameter(
                channel,
                &"the subscription is not a UDP subscription",
            ));
        };
        self.net
            .receive_endpoints
            .iter()
            .find(|e| e.endpoint_id == endpoint_id && e.canonical_form.starts_with("MDS-"))
            .map(|e| e.endpoint_id)
            .ok_or_else(|| {
                invalid_parameter(
                    channel,
                    &"the subscription's channel is not control-mode=manual",
                )
            })
    }

    pub(super) fn add_rcv_destination(
        &mut self,
        correlation_id: i64,
        registration_id: i64,
        channel: &str,
    ) -> CommandResult {
        let endpoint_id = self.mds_endpoint_of(registration_id, channel)?;
        let uri = super::parse_channel_uri(channel, false)?;
        let udp = UdpChannel::parse(uri).map_err(|e| channel_error(channel, e))?;
        let address = udp
            .endpoint
            .ok_or_else(|| invalid_parameter(channel, &"a destination needs an endpoint"))?;
        let socket = bind_receive_socket(&udp, address, self.socket_buffers(&udp))
            .map_err(|e| endpoint_error(channel, &e))?;
        let local = socket
            .local_addr()
            .map_err(|e| endpoint_error(channel, &e))?;
        if let Some(index) = self
            .net
            .receive_endpoints
            .iter()
            .position(|e| e.endpoint_id == endpoint_id)
        {
            let status_id = self.net.receive_endpoints[index].status.id();
            let counter = self.local_sockaddr_counter(
                RECEIVE_LOCAL_SOCKADDR_NAME,
                correlation_id,
                status_id,
                local,
            )?;
            self.net.receive_endpoints[index]
                .local_sockaddrs
                .push((local, counter));
        }
        let _ = self.net.to_receiver.send(ReceiverCommand::AddDestination {
            endpoint_id,
            local,
            socket,
        });
        self.transmit(&Response::OperationSuccess(OperationSucceeded {
            correlation_id,
        }));
        Ok(())
    }

    pub(super) fn remove_rcv_destination(
        &mut self,
        correlation_id: i64,
        registration_id: i64,
        channel: &str,
    ) -> CommandResult {
        let endpoint_id = self.mds_endpoint_of(registration_id, channel)?;
        let address = Self::destination_address(channel)?;
        let local = if address.ip().is_multicast() {
            SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), address.port())
        } else {
            address
        };
        if let Some(entry) = self
            .net
            .receive_endpoints
            .iter_mut()
            .find(|e| e.endpoint_id == endpoint_id)
        {
            if let Some(i) = entry.local_sockaddrs.iter().position(|(a, _)| *a == local) {
                let (_, counter) = entry.local_sockaddrs.remove(i);
                let _ = self.counters.free(counter.id());
            }
        }
        let _ = self
            .net
            .to_receiver
            .send(ReceiverCommand::RemoveDestination { endpoint_id, local });
        self.transmit(&Response::OperationSuccess(OperationSucceeded {
            correlation_id,
        }));
        Ok(())
    }

    /// The publication `registration_id` (a client's publication registration) with manual control.
    fn manual_endpoint_of(&self, registration_id: i64, channel: &str) -> Result<i64, CommandError> {
        let publication = self
            .publication_links
            .iter()
            .find(|l| l.registration_id == registration_id)
            .map(|l| l.publication_registration_id)
            .and_then(|id| {
                self.net
                    .publications
                    .iter()
                    .find(|p| p.registration_id == id)
            })
            .ok_or_else(|| {
                CommandError::new(
                    ErrorCode::UnknownPublication,
                    format!("unknown publication registration_id={registration_id}"),
                )
            })?;
        let endpoint = self
            .net
            .send_endpoints
            .iter()
            .find(|e| e.endpoint_id == publication.endpoint_id)
            .filter(|e| e.manual)
            .ok_or_else(|| {
                invalid_parameter(
                    channel,
                    &"the publication's channel is not control-mode=manual",
                )
            })?;
        Ok(endpoint.endpoint_id)
    }

    fn destination_address(channel: &str) -> Result<SocketAddr, CommandError> {
        let uri = super::parse_channel_uri(channel, false)?;
        let udp = UdpChannel::parse(uri).map_err(|e| channel_error(channel, e))?;
        udp.endpoint
            .ok_or_else(|| invalid_parameter(channel, &"a destination needs an endpoint"))
    }

    pub(super) fn add_destination(
        &mut self,
        correlation_id: i64,
        registration_id: i64,
        channel: &str,
    ) -> CommandResult {
        let endpoint_id = self.manual_endpoint_of(registration_id, channel)?;
        let address = Self::destination_address(channel)?;
        let _ = self.net.to_sender.send(SenderCommand::AddDestination {
            endpoint_id,
            address,
        });
        self.transmit(&Response::OperationSuccess(OperationSucceeded {
            correlation_id,
        }));
        Ok(())
    }

    pub(super) fn remove_destination(
        &mut self,
        correlation_id: i64,
        registration_id: i64,
        channel: &str,
    ) -> CommandResult {
        let endpoint_id = self.manual_endpoint_of(registration_id, channel)?;
        let address = Self::destination_address(channel)?;
        let _ = self.net.to_sender.send(SenderCommand::RemoveDestination {
            endpoint_id,
            address,
        });
        self.transmit(&Response::OperationSuccess(OperationSucceeded {
            correlation_id,
        }));
        Ok(())
    }

    /// A client rejected a network image: the receiver drops its data and answers the sender with ERR frames.
    pub(super) fn reject_image(
        &mut self,
        correlation_id: i64,
        image_correlation_id: i64,
        reason: &str,
    ) -> CommandResult {
        if !self
            .net
            .images
            .iter()
            .any(|i| i.correlation_id == image_correlation_id)
        {
            return Err(CommandError::new(
                ErrorCode::GenericError,
                format!("unknown image correlation_id={image_correlation_id} (only network images can be rejected)"),
            ));
        }
        self.system_counters
            .increment(oxeron_concurrent::counters::type_id::system_counter_id::IMAGES_REJECTED);
        let _ = self.net.to_receiver.send(ReceiverCommand::RejectImage {
            correlation_id: image_correlation_id,
            reason: reason.to_string(),
        });
        self.transmit(&Response::OperationSuccess(OperationSucceeded {
            correlation_id,
        }));
        Ok(())
    }

    /// Handles what the sender and receiver reported. Returns the work done.
    pub(super) fn poll_network_events(&mut self, to_driver: &ManyToOneRingBuffer) -> usize {
        let mut work = 0;
        while let Ok(event) = self.net.events.try_recv() {
            work += 1;
            match event {
                DriverEvent::PublicationDone { registration_id } => {
                    self.free_network_publication(registration_id)
                }
                DriverEvent::CreateImage {
                    endpoint_id,
                    config,
                    source,
                    mtu,
                } => {
                    let (stream_id, session_id) = (config.stream_id, config.session_id);
                    if let Err(e) = self.create_image(to_driver, endpoint_id, *config, source, mtu)
                    {
                        self.record_error(e.code, &e.message);
                        let _ = self.net.to_receiver.send(ReceiverCommand::ImageNotCreated {
                            endpoint_id,
                            stream_id,
                            session_id,
                        });
                    }
                }
                DriverEvent::ImageUnavailable { correlation_id } => {
                    self.image_unavailable(correlation_id)
                }
                DriverEvent::ImageDone { correlation_id } => self.free_image(correlation_id),
                DriverEvent::Loss {
                    correlation_id,
                    gaps,
                } => self.record_loss(correlation_id, &gaps),
                DriverEvent::Error(message) => self.record_error(ErrorCode::GenericError, &message),
            }
        }
        work
    }

    fn record_loss(&mut self, correlation_id: i64, gaps: &[crate::net::Gap]) {
        let Some(report) = &mut self.net.loss_report else {
            return;
        };
        let Some(image) = self
            .net
            .images
            .iter()
            .find(|i| i.correlation_id == correlation_id)
        else {
            return;
        };
        let channel = self
            .subscriptions
            .iter()
            .find(|s| {
                s.kind
                    == SubscriptionKind::Network {
                        endpoint_id: image.endpoint_id,
                    }
            })
            .map_or(String::new(), |s| s.channel.clone());
        let now_ms = self.now_ms;
        for gap in gaps {
            report.record(
                correlation_id,
                i64::from(gap.length),
                now_ms,
                image.session_id,
                image.stream_id,
                &channel,
                &image.source_identity,
            );
        }
    }

    fn create_image(
        &mut self,
        to_driver: &ManyToOneRingBuffer,
        endpoint_id: i64,
        config: crate::net::PublicationImageConfig,
        source: SocketAddr,
        mtu: i32,
    ) -> CommandResult {
        let matching: Vec<usize> = (0..self.subscriptions.len())
            .filter(|&i| {
                let s = &self.subscriptions[i];
                s.kind == SubscriptionKind::Network { endpoint_id }
                    && s.matches_stream(config.stream_id, config.session_id)
            })
            .collect();
        if matching.is_empty() {
            return Err(CommandError::new(
                ErrorCode::GenericError,
                "no subscription for the image any more",
            ));
        }
        let correlation_id = to_driver.next_correlation_id();
        let term_length = config.term_length;
        let shift = position_bits_to_shift(term_length);
        let initial_position = config.initial_position;
        let active_term_id =
            compute_term_id_from_position(initial_position, shift, config.initial_term_id);
        let term_offset = (initial_position & (i64::from(term_length) - 1)) as i32;
        let path = self
            .ctx
            .aeron_dir
            .join("images")
            .join(format!("{correlation_id}.logbuffer"));
        let mut metadata = LogBufferMetadata {
            end_of_stream_position: i64::MAX,
            correlation_id,
            initial_term_id: config.initial_term_id,
            default_frame_header_length: DATA_HEADER_LENGTH as i32,
            mtu_length: mtu,
            term_length,
            page_size: self.ctx.file_page_size as i32,
            publication_window_length: 0,
            entity_tag: -1,
            response_correlation_id: -1,
            linger_timeout_ns: 0,
            sparse: self.ctx.term_buffer_sparse_file,
            signal_eos: true,
            ..LogBufferMetadata::default()
        };
        metadata.apply_initial_tails(&InitialTails::with_position(
            config.initial_term_id,
            active_term_id,
            term_offset,
        ));
        metadata.fill_default_header(config.session_id, config.stream_id, config.initial_term_id);
        let log = LogBuffers::create_with_metadata(&path, &metadata).map_err(|e| {
            CommandError::new(
                ErrorCode::StorageSpace,
                format!("could not create {}: {e}", path.display()),
            )
        })?;
        log.metadata().set_is_connected(true);
        let channel = self.subscriptions[matching[0]].channel.clone();
        let (session_id, stream_id) = (config.session_id, config.stream_id);
        let key = stream_key(correlation_id, session_id, stream_id, &channel);
        let label = format!("{correlation_id} {session_id} {stream_id} {channel}");
        let receiver_hwm = self.new_client_counter(
            DRIVER_RECEIVER_HWM_TYPE_ID,
            &key,
            &format!("{RECEIVER_HWM_NAME}: {label}"),
            correlation_id,
            -1,
        )?;
        let receiver_position = match self.new_client_counter(
            DRIVER_RECEIVER_POS_TYPE_ID,
            &key,
            &format!("{RECEIVER_POSITION_NAME}: {label}"),
            correlation_id,
            -1,
        ) {
            Ok(c) => c,
            Err(e) => {
                let _ = self.counters.free(receiver_hwm.id());
                return Err(e);
            }
        };
        let naks_sent = match self.new_client_counter(
            DRIVER_RECEIVER_NAKS_SENT_TYPE_ID,
            &key,
            &format!("{RECEIVER_NAKS_SENT_NAME}: {label}"),
            correlation_id,
            -1,
        ) {
            Ok(c) => c,
            Err(e) => {
                let _ = self.counters.free(receiver_hwm.id());
                let _ = self.counters.free(receiver_position.id());
                return Err(e);
            }
        };
        receiver_hwm.set(initial_position);
        receiver_position.set(initial_position);
        let subscribers: SharedSubscribers = Arc::new(Mutex::new(Vec::new()));
        let log_file_name = path.display().to_string();
        self.net.images.push(ImageEntry {
            correlation_id,
            endpoint_id,
            session_id,
            stream_id,
            log_file_name,
            source_identity: source.to_string(),
            receiver_hwm: receiver_hwm.clone(),
            receiver_position: receiver_position.clone(),
            naks_sent_id: naks_sent.id(),
            subscribers: Arc::clone(&subscribers),
            available: true,
        });
        let image = self.net.images.len() - 1;
        for subscription in matching {
            self.link_image(subscription, image, initial_position)?;
        }
        let _ = self
            .net
            .to_receiver
            .send(ReceiverCommand::AddImage(Box::new(NewImage {
                correlation_id,
                endpoint_id,
                control_address: source,
                log,
                config,
                receiver_hwm,
                receiver_position,
                naks_sent,
                subscribers,
            })));
        Ok(())
    }

    fn image_unavailable(&mut self, correlation_id: i64) {
        let Some(image) = self
            .net
            .images
            .iter_mut()
            .find(|i| i.correlation_id == correlation_id)
        else {
            return;
        };
        image.available = false;
        let stream_id = image.stream_id;
        let subscriptions: Vec<i64> = image
            .subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|s| s.subscription_registration_id)
            .collect();
        for subscription_registration_id in subscriptions {
            let channel = self
                .subscriptions
                .iter()
                .find(|s| s.registration_id == subscription_registration_id)
                .map_or(String::new(), |s| s.channel.clone());
            self.transmit(&Response::UnavailableImage(ImageMessage {
                correlation_id,
                subscription_registration_id,
                stream_id,
                channel: &channel,
            }));
        }
    }

    fn free_image(&mut self, correlation_id: i64) {
        let Some(index) = self
            .net
            .images
            .iter()
            .position(|i| i.correlation_id == correlation_id)
        else {
            return;
        };
        if self.net.images[index].available {
            self.image_unavailable(correlation_id);
        }
        let image = self.net.images.remove(index);
        let _ = self.counters.free(image.receiver_hwm.id());
        let _ = self.counters.free(image.receiver_position.id());
        let _ = self.counters.free(image.naks_sent_id);
        let subscribers =
            std::mem::take(&mut *image.subscribers.lock().unwrap_or_else(|p| p.into_inner()));
        for s in subscribers {
            let _ = self.counters.free(s.counter.id());
        }
        let _ = std::fs::remove_file(&image.log_file_name);
    }

    fn free_network_publication(&mut self, registration_id: i64) {
        let Some(index) = self
            .net
            .publications
            .iter()
            .position(|p| p.registration_id == registration_id)
        else {
            return;
        };
        let p = self.net.publications.remove(index);
        for &(subscription_registration_id, counter_id) in &p.spies {
            let channel = self
                .subscriptions
                .iter()
                .find(|s| s.registration_id == subscription_registration_id)
                .map_or(String::new(), |s| s.channel.clone());
            self.transmit(&Response::UnavailableImage(ImageMessage {
                correlation_id: registration_id,
                subscription_registration_id,
                stream_id: p.stream_id,
                channel: &channel,
            }));
            let _ = self.counters.free(counter_id);
        }
        for &id in &p.counter_ids {
            let _ = self.counters.free(id);
        }
        self.release_send_endpoint(p.endpoint_id);
        if let Err(e) = std::fs::remove_file(&p.log_file_name) {
            self.record_error(
                ErrorCode::GenericError,
                &format!("could not delete {}: {e}", p.log_file_name),
            );
        }
    }

    /// Deletes the network logs at shutdown.
    pub(super) fn close_network(&mut self) {
        for p in self.net.publications.drain(..) {
            let _ = std::fs::remove_file(&p.log_file_name);
        }
        for image in self.net.images.drain(..) {
            let _ = std::fs::remove_file(&image.log_file_name);
        }
    }
}

/// A duration in nanoseconds, saturating at `i64::MAX`.
fn duration_ns(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}
