//! The driver conductor: serves client commands from the CnC ring buffer, owns IPC publications (UDP ones, images
//! and endpoints are in `conductor_network.rs`) and
//! subscriptions, counters and client liveness, and answers on the broadcast buffer.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use oxeron_client::logbuffer::LogBuffers;
use oxeron_concurrent::agent::{Agent, AgentError};
use oxeron_concurrent::broadcast::BroadcastTransmitter;
use oxeron_concurrent::clock::system_epoch_ms;
use oxeron_concurrent::counters::type_id::{
    system_counter_id, CLIENT_HEARTBEAT_NAME, DRIVER_HEARTBEAT_TYPE_ID,
    DRIVER_PUBLISHER_LIMIT_TYPE_ID, DRIVER_PUBLISHER_POS_TYPE_ID,
    DRIVER_SUBSCRIBER_POSITION_TYPE_ID, PUBLISHER_LIMIT_NAME, PUBLISHER_POSITION_CONCURRENT_NAME,
    PUBLISHER_POSITION_EXCLUSIVE_NAME, SUBSCRIBER_POSITION_NAME,
};
use oxeron_concurrent::counters::{AtomicCounter, CountersManager};
use oxeron_concurrent::error_log::DistinctErrorLog;
use oxeron_concurrent::ring_buffer::ManyToOneRingBuffer;
use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::command::*;
use oxeron_protocol::logbuffer::{
    check_mtu_length, check_term_length, InitialTails, LogBufferMetadata, DATA_HEADER_LENGTH,
    LOG_BUFFER_TYPE_CONCURRENT_PUBLICATION, LOG_BUFFER_TYPE_EXCLUSIVE_PUBLICATION,
};
use oxeron_protocol::uri::{ChannelUri, Media, SessionIdParam};

use crate::context::Context;
use crate::ipc_publication::{
    IpcPublication, IpcPublicationEvent, IpcPublicationParams, IpcPublicationState,
    SubscriberPosition,
};
use crate::system_counters::SystemCounters;

#[path = "conductor_network.rs"]
mod network;

pub(crate) use network::NetworkState;

/// Channel string of IPC images' source identity and unavailable-image messages.
const IPC_CHANNEL: &str = "aeron:ipc";

/// A command failure to report to the client that sent it.
#[derive(Debug)]
struct CommandError {
    code: ErrorCode,
    message: String,
}

impl CommandError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CommandError {
            code,
            message: message.into(),
        }
    }
}

type CommandResult = Result<(), CommandError>;

/// A client the driver has heard from.
#[derive(Debug)]
struct ClientEntry {
    client_id: i64,
    heartbeat: AtomicCounter,
}

/// A client's handle on a publication.
#[derive(Debug)]
struct PublicationLink {
    registration_id: i64,
    client_id: i64,
    publication_registration_id: i64,
}

/// What a subscription reads.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SubscriptionKind {
    /// IPC publications.
    Ipc,
    /// Images of a receive channel endpoint.
    Network {
        /// The endpoint.
        endpoint_id: i64,
    },
    /// Local network publications of a channel (`aeron-spy:`), by canonical form.
    Spy {
        /// Canonical form of the publications' channel.
        canonical_form: String,
    },
}

/// A client's subscription.
#[derive(Debug)]
struct SubscriptionLink {
    registration_id: i64,
    client_id: i64,
    stream_id: i32,
    channel: String,
    session_id: Option<i32>,
    kind: SubscriptionKind,
}

impl SubscriptionLink {
    fn matches(&self, publication: &IpcPublication) -> bool {
        self.kind == SubscriptionKind::Ipc
            && self.stream_id == publication.stream_id
            && self.session_id.is_none_or(|s| s == publication.session_id)
    }

    fn matches_stream(&self, stream_id: i32, session_id: i32) -> bool {
        self.stream_id == stream_id && self.session_id.is_none_or(|s| s == session_id)
    }
}

/// A counter a client added.
#[derive(Debug)]
struct ClientCounter {
    registration_id: i64,
    client_id: i64,
    counter_id: i32,
}

/// Parameters of an IPC publication taken from its channel URI and the driver defaults.
#[derive(Debug)]
struct IpcChannelParams {
    term_length: i32,
    mtu_length: i32,
    session_id: Option<i32>,
    initial_position: Option<(i32, i32, i32)>,
    term_window_length: i64,
    linger_timeout_ns: i64,
    sparse: bool,
    signal_eos: bool,
}

/// The conductor agent.
pub(crate) struct DriverConductor {
    to_driver: ManyToOneRingBuffer,
    state: ConductorState,
}

/// Everything the conductor owns besides the command ring buffer (so a command handler can borrow it
/// mutably while the ring buffer is being read).
struct ConductorState {
    ctx: Context,
    to_clients: BroadcastTransmitter,
    counters: CountersManager,
    errors: DistinctErrorLog,
    system_counters: SystemCounters,
    clients: Vec<ClientEntry>,
    ipc_publications: Vec<IpcPublication>,
    publication_links: Vec<PublicationLink>,
    subscriptions: Vec<SubscriptionLink>,
    client_counters: Vec<ClientCounter>,
    next_session_id: i32,
    start: Instant,
    time_of_last_epoch_read_ns: i64,
    now_ns: i64,
    now_ms: i64,
    time_of_last_timer_ns: i64,
    last_command_consumer_position: i64,
    time_of_last_command_consumer_change_ns: i64,
    scratch: Vec<u8>,
    terminate: Arc<AtomicBool>,
    publications_dir: PathBuf,
    net: network::NetworkState,
}

impl DriverConductor {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        ctx: Context,
        to_driver: ManyToOneRingBuffer,
        to_clients: BroadcastTransmitter,
        counters: CountersManager,
        errors: DistinctErrorLog,
        system_counters: SystemCounters,
        terminate: Arc<AtomicBool>,
        start: Instant,
        net: network::NetworkState,
    ) -> Self {
        let publications_dir = ctx.aeron_dir.join("publications");
        DriverConductor {
            state: ConductorState {
                ctx,
                to_clients,
                counters,
                errors,
                system_counters,
                clients: Vec::new(),
                ipc_publications: Vec::new(),
                publication_links: Vec::new(),
                subscriptions: Vec::new(),
                client_counters: Vec::new(),
                next_session_id: initial_session_id(),
                start,
                time_of_last_epoch_read_ns: 0,
                now_ns: 0,
                now_ms: system_epoch_ms(),
                time_of_last_timer_ns: 0,
                last_command_consumer_position: 0,
                time_of_last_command_consumer_change_ns: 0,
                scratch: Vec::with_capacity(4096),
                terminate,
                publications_dir,
                net,
            },
            to_driver,
        }
    }
}

/// A session id to start from that differs between driver runs, as Aeron's random start does.
fn initial_session_id() -> i32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64 ^ d.as_secs());
    let mixed = (nanos ^ u64::from(std::process::id())).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 33) as i32
}

impl Agent for DriverConductor {
    fn on_start(&mut self) -> Result<(), AgentError> {
        self.state.update_clocks();
        self.to_driver
            .set_consumer_heartbeat_time(self.state.now_ms);
        Ok(())
    }

    fn do_work(&mut self) -> Result<usize, AgentError> {
        let state = &mut self.state;
        state.update_clocks();
        let mut work = 0;
        let read = self.to_driver.read(
            |msg_type_id, message: &AtomicBuffer| state.on_command(msg_type_id, message),
            10,
        );
        match read {
            Ok(n) => work += n,
            Err(e) => state.record_error(
                ErrorCode::MalformedCommand,
                &format!("to-driver ring buffer: {e}"),
            ),
        }
        for publication in &mut state.ipc_publications {
            work += publication.update_publisher_limit();
        }
        work += state.poll_network_events(&self.to_driver);
        if state.now_ns - state.time_of_last_timer_ns >= state.ctx.timer_interval.as_nanos() as i64
        {
            state.time_of_last_timer_ns = state.now_ns;
            self.to_driver.set_consumer_heartbeat_time(state.now_ms);
            state.check_command_buffer(&self.to_driver);
            work += state.on_timer();
        }
        if state.terminate.load(Ordering::Acquire) {
            return Err(AgentError::Terminate(
                "driver terminated by client request".into(),
            ));
        }
        Ok(work)
    }

    fn on_close(&mut self) {
        self.to_driver.set_consumer_heartbeat_time(-1);
        let state = &mut self.state;
        for publication in state.ipc_publications.drain(..) {
            let _ = std::fs::remove_file(&publication.log_file_name);
        }
        state.close_network();
    }

    fn role_name(&self) -> &str {
        "driver-conductor"
    }
}

impl ConductorState {
    /// Reads the monotonic clock every duty cycle and the wall clock at most once a millisecond.
    fn update_clocks(&mut self) {
        self.now_ns = self.start.elapsed().as_nanos() as i64;
        if self.now_ns - self.time_of_last_epoch_read_ns >= 1_000_000 {
            self.time_of_last_epoch_read_ns = self.now_ns;
            self.now_ms = system_epoch_ms();
        }
    }

    fn record_error(&mut self, code: ErrorCode, message: &str) {
        self.system_counters.increment(system_counter_id::ERRORS);
        self.errors.record(code.as_i32(), message);
    }

    fn transmit(&mut self, response: &Response<'_>) {
        let length = response.encoded_length();
        self.scratch.clear();
        self.scratch.resize(length, 0);
        response.encode(&mut self.scratch);
        if let Err(e) = self
            .to_clients
            .transmit(response.msg_type_id(), &self.scratch)
        {
            self.system_counters.increment(system_counter_id::ERRORS);
            self.errors.record(
                ErrorCode::GenericError.as_i32(),
                &format!("to-clients broadcast: {e}"),
            );
        }
    }

    fn send_error(&mut self, correlation_id: i64, error: CommandError) {
        let text = error.message;
        self.record_error(error.code, &text);
        self.transmit(&Response::Error(ErrorResponse {
            offending_command_correlation_id: correlation_id,
            error_code: error.code,
            error_message: &text,
        }));
    }

    fn on_command(&mut self, msg_type_id: i32, message: &AtomicBuffer) {
        let mut bytes = std::mem::take(&mut self.scratch);
        bytes.clear();
        bytes.resize(message.capacity(), 0);
        message.get_bytes(0, &mut bytes);
        let command = match Command::decode(msg_type_id, &bytes) {
            Ok(command) => command,
            Err(e) => {
                let code = match e {
                    oxeron_protocol::DecodeError::UnknownType { .. } => {
                        ErrorCode::UnknownCommandTypeId
                    }
                    _ => ErrorCode::MalformedCommand,
                };
                self.record_error(code, &format!("command {msg_type_id:#x}: {e}"));
                self.scratch = bytes;
                return;
            }
        };
        let correlated = command.correlated();
        let result = self.dispatch(&command);
        self.scratch = bytes;
        if let Err(error) = result {
            self.send_error(correlated.correlation_id, error);
        }
    }

    fn dispatch(&mut self, command: &Command<'_>) -> CommandResult {
        let Correlated {
            client_id,
            correlation_id,
        } = command.correlated();
        if !matches!(command, Command::ClientClose(_)) {
            self.get_or_add_client(client_id)?;
        }
        match command {
            Command::AddPublication(c) => {
                self.add_publication(client_id, correlation_id, c.stream_id, c.channel, false)
            }
            Command::AddExclusivePublication(c) => {
                self.add_publication(client_id, correlation_id, c.stream_id, c.channel, true)
            }
            Command::RemovePublication(c) => {
                self.remove_publication(client_id, correlation_id, c.registration_id)
            }
            Command::AddSubscription(c) => {
                self.add_subscription(client_id, correlation_id, c.stream_id, c.channel)
            }
            Command::RemoveSubscription(c) => {
                self.remove_subscription(client_id, correlation_id, c.registration_id)
            }
            Command::ClientKeepalive(_) => {
                if let Some(client) = self.clients.iter().find(|c| c.client_id == client_id) {
                    client.heartbeat.set(self.now_ms);
                }
                Ok(())
            }
            Command::AddCounter(c) => {
                self.add_counter(client_id, correlation_id, c.type_id, c.key, c.label)
            }
            Command::RemoveCounter(c) => {
                self.remove_counter(client_id, correlation_id, c.registration_id)
            }
            Command::AddStaticCounter(c) => self.add_static_counter(
                correlation_id,
                c.registration_id,
                c.type_id,
                c.key,
                c.label,
            ),
            Command::ClientClose(_) => {
                if let Some(client) = self.clients.iter().find(|c| c.client_id == client_id) {
                    client.heartbeat.set(0);
                }
                Ok(())
            }
            Command::TerminateDriver(_) => {
                if self.ctx.allow_termination {
                    self.terminate.store(true, Ordering::Release);
                } else {
                    self.record_error(
                        ErrorCode::GenericError,
                        &format!("TERMINATE_DRIVER from client {client_id} refused by the termination validator"),
                    );
                }
                Ok(())
            }
            Command::GetNextAvailableSessionId(c) => {
                let session_id = self.next_available_session_id(c.stream_id);
                self.transmit(&Response::NextAvailableSessionId(NextAvailableSessionId {
                    correlation_id,
                    next_session_id: session_id,
                }));
                Ok(())
            }
            Command::AddDestination(c) => {
                self.add_destination(correlation_id, c.registration_id, c.channel)
            }
            Command::RemoveDestination(c) => {
                self.remove_destination(correlation_id, c.registration_id, c.channel)
            }
            Command::AddRcvDestination(c) => {
                self.add_rcv_destination(correlation_id, c.registration_id, c.channel)
            }
            Command::RemoveRcvDestination(c) => {
                self.remove_rcv_destination(correlation_id, c.registration_id, c.channel)
            }
            Command::RemoveDestinationById(_) => Err(CommandError::new(
                ErrorCode::NotSupported,
                "removal of destinations by id is not served yet",
            )),
            Command::RejectImage(c) => {
                self.reject_image(correlation_id, c.image_correlation_id, c.reason)
            }
        }
    }

    /// The session id (the requested one, if free on the stream, or a new one), initial term id and initial
    /// tails of a new IPC or network publication.
    ///
    /// As in Aeron, a requested session id clashes only with a publication of the same stream on the same
    /// medium: another IPC publication, or a network publication on the same send endpoint (`endpoint`, its
    /// canonical form; `None` for IPC).
    pub(crate) fn new_publication_ids(
        &mut self,
        stream_id: i32,
        params: &IpcChannelParams,
        endpoint: Option<&str>,
    ) -> Result<(i32, i32, InitialTails), CommandError> {
        let session_id = match params.session_id {
            Some(id) => {
                let clash = match endpoint {
                    None => self.ipc_session_in_use(stream_id, id),
                    Some(canonical_form) => {
                        self.network_session_in_use_on(canonical_form, stream_id, id)
                    }
                };
                if clash {
                    return Err(CommandError::new(
                        ErrorCode::GenericError,
                        format!("session-id {id} is already in use for stream {stream_id}"),
                    ));
                }
                id
            }
            None => self.next_available_session_id(stream_id),
        };
        let (initial_term_id, tails) = match params.initial_position {
            Some((initial, term_id, offset)) => (
                initial,
                InitialTails::with_position(initial, term_id, offset),
            ),
            None => {
                let initial = initial_session_id();
                (initial, InitialTails::new(initial))
            }
        };
        Ok((session_id, initial_term_id, tails))
    }

    /// Creates `publications/<registration_id>.logbuffer` with Aeron's metadata for a new IPC or network
    /// publication.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_publication_log(
        &self,
        registration_id: i64,
        session_id: i32,
        stream_id: i32,
        initial_term_id: i32,
        tails: &InitialTails,
        params: &IpcChannelParams,
        exclusive: bool,
    ) -> Result<(PathBuf, LogBuffers), CommandError> {
        let path = self
            .publications_dir
            .join(format!("{registration_id}.logbuffer"));
        let mut metadata = LogBufferMetadata {
            end_of_stream_position: i64::MAX,
            correlation_id: registration_id,
            initial_term_id,
            default_frame_header_length: DATA_HEADER_LENGTH as i32,
            mtu_length: params.mtu_length,
            term_length: params.term_length,
            page_size: self.ctx.file_page_size as i32,
            publication_window_length: params.term_window_length as i32,
            entity_tag: -1,
            response_correlation_id: -1,
            linger_timeout_ns: params.linger_timeout_ns,
            sparse: params.sparse,
            signal_eos: params.signal_eos,
            log_type: if exclusive {
                LOG_BUFFER_TYPE_EXCLUSIVE_PUBLICATION
            } else {
                LOG_BUFFER_TYPE_CONCURRENT_PUBLICATION
            },
            ..LogBufferMetadata::default()
        };
        metadata.apply_initial_tails(tails);
        metadata.fill_default_header(session_id, stream_id, initial_term_id);
        let log = LogBuffers::create_with_metadata(&path, &metadata).map_err(|e| {
            CommandError::new(
                ErrorCode::StorageSpace,
                format!("could not create {}: {e}", path.display()),
            )
        })?;
        Ok((path, log))
    }

    fn get_or_add_client(&mut self, client_id: i64) -> CommandResult {
        if self.clients.iter().any(|c| c.client_id == client_id) {
            return Ok(());
        }
        let label = format!("{CLIENT_HEARTBEAT_NAME}: id={client_id}");
        let heartbeat = self
            .counters
            .new_counter(DRIVER_HEARTBEAT_TYPE_ID, &client_id.to_le_bytes(), &label)
            .map_err(|e| CommandError::new(ErrorCode::GenericError, e.to_string()))?;
        let id = heartbeat.id();
        let _ = self.counters.set_counter_registration_id(id, client_id);
        let _ = self.counters.set_counter_owner_id(id, client_id);
        heartbeat.set(self.now_ms);
        self.clients.push(ClientEntry {
            client_id,
            heartbeat,
        });
        self.transmit(&Response::CounterReady(CounterUpdate {
            correlation_id: client_id,
            counter_id: id,
        }));
        Ok(())
    }

    fn parse_ipc_channel(
        &self,
        channel: &str,
    ) -> Result<(ChannelUri, IpcChannelParams), CommandError> {
        let uri = parse_ipc_channel_uri(channel, true)?;
        let params = self.publication_params(channel, &uri, true)?;
        Ok((uri, params))
    }

    /// Publication parameters of `uri` (from `channel`) with the IPC or network defaults.
    fn publication_params(
        &self,
        channel: &str,
        uri: &ChannelUri,
        ipc: bool,
    ) -> Result<IpcChannelParams, CommandError> {
        let invalid = |e: &dyn std::fmt::Display| invalid_parameter(channel, e);
        let (default_term, default_mtu, default_window) = if ipc {
            (
                self.ctx.ipc_term_buffer_length,
                self.ctx.ipc_mtu_length,
                self.ctx.ipc_publication_term_window_length,
            )
        } else {
            (
                self.ctx.term_buffer_length,
                self.ctx.mtu_length,
                self.ctx.publication_term_window_length,
            )
        };
        let term_length = match uri.term_length().map_err(|e| invalid(&e))? {
            Some(t) => i32::try_from(t).map_err(|_| invalid(&"term-length out of range"))?,
            None => default_term,
        };
        check_term_length(term_length.into()).map_err(|e| invalid(&e))?;
        let mtu_length = match uri.mtu().map_err(|e| invalid(&e))? {
            Some(m) => i32::try_from(m).map_err(|_| invalid(&"mtu out of range"))?,
            None => default_mtu,
        };
        check_mtu_length(mtu_length.into()).map_err(|e| invalid(&e))?;
        let session_id = match uri.session_id().map_err(|e| invalid(&e))? {
            Some(SessionIdParam::Id(id)) => Some(id),
            Some(SessionIdParam::Tag(_)) => {
                return Err(invalid(&"session-id tags refer to network publications"));
            }
            None => None,
        };
        let initial_position = match (
            uri.initial_term_id().map_err(|e| invalid(&e))?,
            uri.term_id().map_err(|e| invalid(&e))?,
            uri.term_offset().map_err(|e| invalid(&e))?,
        ) {
            (None, None, None) => None,
            (Some(initial), Some(term_id), Some(offset)) => {
                let offset =
                    i32::try_from(offset).map_err(|_| invalid(&"term-offset out of range"))?;
                if offset > term_length {
                    return Err(invalid(&format!(
                        "term-offset {offset} is beyond term-length {term_length}"
                    )));
                }
                if term_id.wrapping_sub(initial) < 0 {
                    return Err(invalid(&format!(
                        "term-id {term_id} is before init-term-id {initial}"
                    )));
                }
                Some((initial, term_id, offset))
            }
            _ => {
                return Err(invalid(
                    &"init-term-id, term-id and term-offset must be given together",
                ));
            }
        };
        let window = match uri.publication_window().map_err(|e| invalid(&e))? {
            Some(w) => {
                let w = i64::try_from(w).map_err(|_| invalid(&"pub-wnd out of range"))?;
                if w < mtu_length.into() || w > (term_length / 2).into() {
                    return Err(invalid(&format!(
                        "pub-wnd {w} must be between mtu and term-length/2"
                    )));
                }
                w
            }
            None if default_window > 0 => i64::from(default_window.min(term_length / 2)),
            None => i64::from(term_length / 2),
        };
        let linger_timeout_ns = match uri.linger().map_err(|e| invalid(&e))? {
            Some(d) => d.as_nanos() as i64,
            None => self.ctx.publication_linger_timeout.as_nanos() as i64,
        };
        let sparse = uri
            .sparse()
            .map_err(|e| invalid(&e))?
            .unwrap_or(self.ctx.term_buffer_sparse_file);
        let signal_eos = uri.eos().map_err(|e| invalid(&e))?.unwrap_or(true);
        Ok(IpcChannelParams {
            term_length,
            mtu_length,
            session_id,
            initial_position,
            term_window_length: window,
            linger_timeout_ns,
            sparse,
            signal_eos,
        })
    }

    fn session_in_use(&self, stream_id: i32, session_id: i32) -> bool {
        self.ipc_session_in_use(stream_id, session_id)
            || self.network_session_in_use(stream_id, session_id)
    }

    fn ipc_session_in_use(&self, stream_id: i32, session_id: i32) -> bool {
        self.ipc_publications.iter().any(|p| {
            p.stream_id == stream_id
                && p.session_id == session_id
                && p.state != IpcPublicationState::Done
        })
    }

    fn next_available_session_id(&mut self, stream_id: i32) -> i32 {
        loop {
            let candidate = self.next_session_id;
            self.next_session_id = self.next_session_id.wrapping_add(1);
            if !self.session_in_use(stream_id, candidate) {
                return candidate;
            }
        }
    }

    fn add_publication(
        &mut self,
        client_id: i64,
        correlation_id: i64,
        stream_id: i32,
        channel: &str,
        exclusive: bool,
    ) -> CommandResult {
        let uri = parse_channel_uri(channel, true)?;
        if uri.media() == Media::Udp {
            if uri.is_spy() {
                return Err(invalid_parameter(channel, &"spies are for subscriptions"));
            }
            return self.add_network_publication(
                client_id,
                correlation_id,
                stream_id,
                channel,
                uri,
                exclusive,
            );
        }
        let (_, params) = self.parse_ipc_channel(channel)?;
        if !exclusive {
            let existing = self.ipc_publications.iter_mut().find(|p| {
                p.stream_id == stream_id
                    && !p.is_exclusive
                    && p.state == IpcPublicationState::Active
                    && params.session_id.is_none_or(|s| s == p.session_id)
            });
            if let Some(publication) = existing {
                if publication.log.term_length() != params.term_length
                    || publication.log.metadata().mtu_length() != params.mtu_length
                {
                    return Err(CommandError::new(
                        ErrorCode::InvalidChannel,
                        format!(
                            "existing publication for stream {stream_id} has term-length {} and mtu {}; channel asks for {} and {}",
                            publication.log.term_length(),
                            publication.log.metadata().mtu_length(),
                            params.term_length,
                            params.mtu_length
                        ),
                    ));
                }
                publication.increment_ref();
                let registration_id = publication.registration_id;
                let session_id = publication.session_id;
                let limit_id = publication.publisher_limit.id();
                let log_file_name = publication.log_file_name.clone();
                self.publication_links.push(PublicationLink {
                    registration_id: correlation_id,
                    client_id,
                    publication_registration_id: registration_id,
                });
                self.transmit(&Response::PublicationReady(PublicationBuffersReady {
                    correlation_id,
                    registration_id,
                    session_id,
                    stream_id,
                    position_limit_counter_id: limit_id,
                    channel_status_indicator_id: -1,
                    log_file_name: &log_file_name,
                }));
                return Ok(());
            }
        }
        let (session_id, initial_term_id, tails) =
            self.new_publication_ids(stream_id, &params, None)?;
        let registration_id = correlation_id;
        let (path, log) = self.create_publication_log(
            registration_id,
            session_id,
            stream_id,
            initial_term_id,
            &tails,
            &params,
            exclusive,
        )?;
        let key = stream_key(registration_id, session_id, stream_id, channel);
        let position_name = if exclusive {
            PUBLISHER_POSITION_EXCLUSIVE_NAME
        } else {
            PUBLISHER_POSITION_CONCURRENT_NAME
        };
        let stream_label = format!("{registration_id} {session_id} {stream_id} {channel}");
        let publisher_position = self.new_client_counter(
            DRIVER_PUBLISHER_POS_TYPE_ID,
            &key,
            &format!("{position_name}: {stream_label}"),
            registration_id,
            client_id,
        )?;
        let publisher_limit = self.new_client_counter(
            DRIVER_PUBLISHER_LIMIT_TYPE_ID,
            &key,
            &format!("{PUBLISHER_LIMIT_NAME}: {stream_label}"),
            registration_id,
            client_id,
        )?;
        let log_file_name = path.display().to_string();
        let publication = IpcPublication::new(
            IpcPublicationParams {
                registration_id,
                session_id,
                stream_id,
                is_exclusive: exclusive,
                term_window_length: params.term_window_length,
                mtu_length: params.mtu_length,
                unblock_timeout_ns: self.ctx.publication_unblock_timeout.as_nanos() as i64,
                linger_timeout_ns: params.linger_timeout_ns,
                now_ns: self.now_ns,
            },
            log,
            log_file_name.clone(),
            publisher_limit,
            publisher_position,
        );
        let limit_id = publication.publisher_limit.id();
        self.ipc_publications.push(publication);
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
            position_limit_counter_id: limit_id,
            channel_status_indicator_id: -1,
            log_file_name: &log_file_name,
        };
        self.transmit(&if exclusive {
            Response::ExclusivePublicationReady(ready)
        } else {
            Response::PublicationReady(ready)
        });
        let index = self.ipc_publications.len() - 1;
        let matching: Vec<usize> = self
            .subscriptions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.matches(&self.ipc_publications[index]))
            .map(|(i, _)| i)
            .collect();
        for subscription in matching {
            self.link_subscription(subscription, index)?;
        }
        Ok(())
    }

    fn new_client_counter(
        &mut self,
        type_id: i32,
        key: &[u8],
        label: &str,
        registration_id: i64,
        owner_id: i64,
    ) -> Result<AtomicCounter, CommandError> {
        let counter = self
            .counters
            .new_counter(type_id, key, label)
            .map_err(|e| CommandError::new(ErrorCode::GenericError, e.to_string()))?;
        let _ = self
            .counters
            .set_counter_registration_id(counter.id(), registration_id);
        let _ = self.counters.set_counter_owner_id(counter.id(), owner_id);
        Ok(counter)
    }

    /// Connects subscription `subscription` to IPC publication `publication`: a sub-pos counter at the join
    /// position, and an available-image message.
    fn link_subscription(&mut self, subscription: usize, publication: usize) -> CommandResult {
        let link = &self.subscriptions[subscription];
        let p = &self.ipc_publications[publication];
        if !p.is_accepting_subscriptions() {
            return Ok(());
        }
        let join_position = p.join_position();
        let registration_id = link.registration_id;
        let client_id = link.client_id;
        let stream_id = link.stream_id;
        let session_id = p.session_id;
        let label = format!(
            "{SUBSCRIBER_POSITION_NAME}: {registration_id} {session_id} {stream_id} {} @{join_position}",
            link.channel
        );
        let key = stream_key(registration_id, session_id, stream_id, &link.channel);
        let publication_registration_id = p.registration_id;
        let log_file_name = p.log_file_name.clone();
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
        self.ipc_publications[publication].add_subscriber(SubscriberPosition {
            subscription_registration_id: registration_id,
            counter,
        });
        self.transmit(&Response::AvailableImage(ImageBuffersReady {
            correlation_id: publication_registration_id,
            session_id,
            stream_id,
            subscription_registration_id: registration_id,
            subscriber_position_id: counter_id,
            log_file_name: &log_file_name,
            source_identity: IPC_CHANNEL,
        }));
        Ok(())
    }

    fn remove_publication(
        &mut self,
        client_id: i64,
        correlation_id: i64,
        registration_id: i64,
    ) -> CommandResult {
        let index = self
            .publication_links
            .iter()
            .position(|l| l.registration_id == registration_id && l.client_id == client_id)
            .ok_or_else(|| {
                CommandError::new(
                    ErrorCode::UnknownPublication,
                    format!("unknown publication client_id={client_id}, registration_id={registration_id}"),
                )
            })?;
        let link = self.publication_links.remove(index);
        self.release_publication(link.publication_registration_id);
        self.transmit(&Response::OperationSuccess(OperationSucceeded {
            correlation_id,
        }));
        Ok(())
    }

    fn release_publication(&mut self, publication_registration_id: i64) {
        if let Some(p) = self
            .ipc_publications
            .iter_mut()
            .find(|p| p.registration_id == publication_registration_id)
        {
            p.decrement_ref();
        } else {
            self.release_network_publication(publication_registration_id);
        }
    }

    fn add_subscription(
        &mut self,
        client_id: i64,
        correlation_id: i64,
        stream_id: i32,
        channel: &str,
    ) -> CommandResult {
        let invalid = |e: &dyn std::fmt::Display| invalid_parameter(channel, e);
        let uri = parse_channel_uri(channel, false)?;
        let session_id = match uri.session_id().map_err(|e| invalid(&e))? {
            Some(SessionIdParam::Id(id)) => Some(id),
            Some(SessionIdParam::Tag(_)) => {
                return Err(invalid(&"session-id tags are for publications"))
            }
            None => None,
        };
        if uri.media() == Media::Udp {
            return self.add_network_subscription(
                client_id,
                correlation_id,
                stream_id,
                channel,
                uri,
                session_id,
            );
        }
        parse_ipc_channel_uri(channel, false)?;
        self.subscriptions.push(SubscriptionLink {
            registration_id: correlation_id,
            client_id,
            stream_id,
            channel: channel.to_string(),
            session_id,
            kind: SubscriptionKind::Ipc,
        });
        self.transmit(&Response::SubscriptionReady(SubscriptionReady {
            correlation_id,
            channel_status_indicator_id: -1,
        }));
        let subscription = self.subscriptions.len() - 1;
        let matching: Vec<usize> = (0..self.ipc_publications.len())
            .filter(|&i| self.subscriptions[subscription].matches(&self.ipc_publications[i]))
            .collect();
        for publication in matching {
            self.link_subscription(subscription, publication)?;
        }
        Ok(())
    }

    fn remove_subscription(
        &mut self,
        client_id: i64,
        correlation_id: i64,
        registration_id: i64,
    ) -> CommandResult {
        let index = self
            .subscriptions
            .iter()
            .position(|s| s.registration_id == registration_id && s.client_id == client_id)
            .ok_or_else(|| {
                CommandError::new(
                    ErrorCode::UnknownSubscription,
                    format!("unknown subscription client_id={client_id}, registration_id={registration_id}"),
                )
            })?;
        let link = self.subscriptions.remove(index);
        self.unlink_subscription(link.registration_id);
        self.unlink_network_subscription(&link);
        self.transmit(&Response::OperationSuccess(OperationSucceeded {
            correlation_id,
        }));
        Ok(())
    }

    fn unlink_subscription(&mut self, registration_id: i64) {
        let mut freed = Vec::new();
        for publication in &mut self.ipc_publications {
            if let Some(counter) = publication.remove_subscriber(registration_id) {
                freed.push(counter.id());
            }
        }
        for id in freed {
            let _ = self.counters.free(id);
        }
    }

    fn add_counter(
        &mut self,
        client_id: i64,
        correlation_id: i64,
        type_id: i32,
        key: &[u8],
        label: &str,
    ) -> CommandResult {
        let counter = self.new_client_counter(type_id, key, label, correlation_id, client_id)?;
        self.client_counters.push(ClientCounter {
            registration_id: correlation_id,
            client_id,
            counter_id: counter.id(),
        });
        self.transmit(&Response::CounterReady(CounterUpdate {
            correlation_id,
            counter_id: counter.id(),
        }));
        Ok(())
    }

    fn remove_counter(
        &mut self,
        client_id: i64,
        correlation_id: i64,
        registration_id: i64,
    ) -> CommandResult {
        let index = self
            .client_counters
            .iter()
            .position(|c| c.registration_id == registration_id && c.client_id == client_id)
            .ok_or_else(|| {
                CommandError::new(
                    ErrorCode::UnknownCounter,
                    format!(
                        "unknown counter client_id={client_id}, registration_id={registration_id}"
                    ),
                )
            })?;
        let counter = self.client_counters.remove(index);
        let _ = self.counters.free(counter.counter_id);
        self.transmit(&Response::OperationSuccess(OperationSucceeded {
            correlation_id,
        }));
        self.transmit(&Response::UnavailableCounter(CounterUpdate {
            correlation_id: registration_id,
            counter_id: counter.counter_id,
        }));
        Ok(())
    }

    fn add_static_counter(
        &mut self,
        correlation_id: i64,
        registration_id: i64,
        type_id: i32,
        key: &[u8],
        label: &str,
    ) -> CommandResult {
        let reader = self.counters.reader();
        let existing = reader
            .find_by_type_id_and_registration_id(type_id, registration_id)
            .filter(|&id| reader.counter_owner_id(id).ok() == Some(-1));
        let counter_id = match existing {
            Some(id) => id,
            None => self
                .new_client_counter(type_id, key, label, registration_id, -1)?
                .id(),
        };
        self.transmit(&Response::StaticCounter(CounterUpdate {
            correlation_id,
            counter_id,
        }));
        Ok(())
    }

    /// Unblocks the command ring buffer if a client died between claiming and committing a record.
    fn check_command_buffer(&mut self, to_driver: &ManyToOneRingBuffer) {
        let consumer = to_driver.consumer_position();
        if consumer != self.last_command_consumer_position
            || to_driver.producer_position() <= consumer
        {
            self.last_command_consumer_position = consumer;
            self.time_of_last_command_consumer_change_ns = self.now_ns;
        } else if self.now_ns - self.time_of_last_command_consumer_change_ns
            > self.ctx.client_liveness_timeout.as_nanos() as i64
            && to_driver.unblock()
        {
            self.system_counters
                .increment(system_counter_id::UNBLOCKED_COMMANDS);
            self.time_of_last_command_consumer_change_ns = self.now_ns;
        }
    }

    fn on_timer(&mut self) -> usize {
        let mut work = self.check_clients();
        let now_ns = self.now_ns;
        let mut drained = Vec::new();
        for publication in &mut self.ipc_publications {
            if publication.on_time_event(now_ns) == IpcPublicationEvent::Drained {
                drained.push((publication.registration_id, publication.stream_id));
            }
        }
        for (registration_id, stream_id) in drained {
            work += 1;
            let linked: Vec<i64> = self
                .ipc_publications
                .iter()
                .find(|p| p.registration_id == registration_id)
                .map(|p| {
                    p.subscribers
                        .iter()
                        .map(|s| s.subscription_registration_id)
                        .collect()
                })
                .unwrap_or_default();
            for subscription_registration_id in linked {
                self.transmit(&Response::UnavailableImage(ImageMessage {
                    correlation_id: registration_id,
                    subscription_registration_id,
                    stream_id,
                    channel: IPC_CHANNEL,
                }));
            }
        }
        let mut index = 0;
        while index < self.ipc_publications.len() {
            if self.ipc_publications[index].state == IpcPublicationState::Done {
                let publication = self.ipc_publications.swap_remove(index);
                self.free_publication(publication);
                work += 1;
            } else {
                index += 1;
            }
        }
        work
    }

    fn free_publication(&mut self, publication: IpcPublication) {
        let _ = self.counters.free(publication.publisher_limit.id());
        let _ = self.counters.free(publication.publisher_position.id());
        for subscriber in &publication.subscribers {
            let _ = self.counters.free(subscriber.counter.id());
        }
        let path = publication.log_file_name.clone();
        drop(publication);
        if let Err(e) = std::fs::remove_file(&path) {
            self.system_counters
                .increment(system_counter_id::FREE_FAILS);
            self.errors.record(
                ErrorCode::GenericError.as_i32(),
                &format!("could not delete {path}: {e}"),
            );
        }
    }

    /// Times out clients whose heartbeat is older than the liveness timeout, and releases all they held.
    fn check_clients(&mut self) -> usize {
        let timeout_ms = self.ctx.client_liveness_timeout.as_millis() as i64;
        let now_ms = self.now_ms;
        let expired: Vec<(i64, i32, bool)> = self
            .clients
            .iter()
            .filter_map(|c| {
                let heartbeat = c.heartbeat.get();
                (heartbeat == 0 || heartbeat + timeout_ms < now_ms)
                    .then(|| (c.client_id, c.heartbeat.id(), heartbeat != 0))
            })
            .collect();
        for &(client_id, heartbeat_id, timed_out) in &expired {
            self.clients.retain(|c| c.client_id != client_id);
            if timed_out {
                self.system_counters
                    .increment(system_counter_id::CLIENT_TIMEOUTS);
                self.transmit(&Response::ClientTimeout(ClientTimeout { client_id }));
            }
            let _ = self.counters.free(heartbeat_id);
            self.transmit(&Response::UnavailableCounter(CounterUpdate {
                correlation_id: client_id,
                counter_id: heartbeat_id,
            }));
            self.release_client_resources(client_id);
        }
        expired.len()
    }

    fn release_client_resources(&mut self, client_id: i64) {
        let links: Vec<i64> = self
            .publication_links
            .iter()
            .filter(|l| l.client_id == client_id)
            .map(|l| l.publication_registration_id)
            .collect();
        self.publication_links.retain(|l| l.client_id != client_id);
        for publication in links {
            self.release_publication(publication);
        }
        let subscriptions: Vec<i64> = self
            .subscriptions
            .iter()
            .filter(|s| s.client_id == client_id)
            .map(|s| s.registration_id)
            .collect();
        for registration_id in subscriptions {
            if let Some(index) = self
                .subscriptions
                .iter()
                .position(|s| s.registration_id == registration_id)
            {
                let link = self.subscriptions.remove(index);
                self.unlink_subscription(registration_id);
                self.unlink_network_subscription(&link);
            }
        }
        let counters: Vec<(i64, i32)> = self
            .client_counters
            .iter()
            .filter(|c| c.client_id == client_id)
            .map(|c| (c.registration_id, c.counter_id))
            .collect();
        self.client_counters.retain(|c| c.client_id != client_id);
        for (registration_id, counter_id) in counters {
            let _ = self.counters.free(counter_id);
            self.transmit(&Response::UnavailableCounter(CounterUpdate {
                correlation_id: registration_id,
                counter_id,
            }));
        }
    }
}

/// A channel parameter the driver refuses. Aeron C answers these with GENERIC_ERROR (the checks fail with
/// `EINVAL`), keeping INVALID_CHANNEL for URIs that do not parse.
fn invalid_parameter(channel: &str, e: &dyn std::fmt::Display) -> CommandError {
    CommandError::new(
        ErrorCode::GenericError,
        format!("invalid channel {channel:?}: {e}"),
    )
}

/// Parses an IPC channel (see [`parse_channel_uri`]); any other media is NOT_SUPPORTED here.
fn parse_ipc_channel_uri(channel: &str, cross_checks: bool) -> Result<ChannelUri, CommandError> {
    let uri = parse_channel_uri(channel, cross_checks)?;
    if uri.media() != Media::Ipc || uri.is_spy() {
        return Err(CommandError::new(
            ErrorCode::NotSupported,
            format!("channel {channel:?}: expected aeron:ipc"),
        ));
    }
    Ok(uri)
}

/// Parses a channel: a URI that does not parse is INVALID_CHANNEL, a bad parameter GENERIC_ERROR (as in
/// Aeron C). Publications check the rules across parameters too (`cross_checks`).
fn parse_channel_uri(channel: &str, cross_checks: bool) -> Result<ChannelUri, CommandError> {
    let uri = ChannelUri::parse(channel).map_err(|e| {
        CommandError::new(
            ErrorCode::InvalidChannel,
            format!("invalid channel {channel:?}: {e}"),
        )
    })?;
    let checked = if cross_checks {
        uri.validate()
    } else {
        uri.validate_params()
    };
    checked.map_err(|e| invalid_parameter(channel, &e))?;
    Ok(uri)
}

/// The stream counter key: registration id, session id, stream id and as much of the channel as fits.
fn stream_key(registration_id: i64, session_id: i32, stream_id: i32, channel: &str) -> Vec<u8> {
    const MAX_CHANNEL: usize = 112 - 20;
    let channel = &channel.as_bytes()[..channel.len().min(MAX_CHANNEL)];
    let mut key = Vec::with_capacity(20 + channel.len());
    key.extend_from_slice(&registration_id.to_le_bytes());
    key.extend_from_slice(&session_id.to_le_bytes());
    key.extend_from_slice(&stream_id.to_le_bytes());
    key.extend_from_slice(&(channel.len() as i32).to_le_bytes());
    key.extend_from_slice(channel);
    key
}
