//! The client: connection to the driver, the client conductor, and the factory for publications,
//! subscriptions and counters.

use crate::ClosedFlag;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use oxeron_concurrent::agent::{Agent, AgentError, AgentRunner};
use oxeron_concurrent::broadcast::{BroadcastError, BroadcastReceiver, CopyBroadcastReceiver};
use oxeron_concurrent::clock::system_epoch_ms;
use oxeron_concurrent::counters::type_id::DRIVER_HEARTBEAT_TYPE_ID;
use oxeron_concurrent::counters::{counter_offset, AtomicCounter, CountersReader};
use oxeron_concurrent::idle::SleepingIdleStrategy;
use oxeron_concurrent::ring_buffer::{ManyToOneRingBuffer, RingBufferError};
use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::command::{
    AddCounter, Command, Correlated, DestinationCommand, ErrorCode, PublicationCommand,
    RejectImage, RemoveCommand, RemovePublication, Response, SubscriptionCommand,
};

use crate::cnc_file::{CncError, CncFile};
use crate::context::Context;
use crate::error::AeronError;
use crate::image::{Image, ImageInfo};
use crate::logbuffer::LogBuffers;
use crate::publication::{ExclusivePublication, Publication, PublicationInfo};
use crate::subscription::{Subscription, SubscriptionState};

/// What a pending request turned into.
#[derive(Debug)]
enum Registration {
    Pending,
    Publication(ReadyPublication),
    Subscription(Arc<SubscriptionState>),
    Counter(i32),
    Succeeded,
    Failed(AeronError),
}

/// An owned copy of ON_(EXCLUSIVE_)PUBLICATION_READY.
#[derive(Debug)]
struct ReadyPublication {
    registration_id: i64,
    session_id: i32,
    position_limit_counter_id: i32,
    channel_status_id: i32,
    log_file_name: String,
}

/// A request the client waits on, with what it needs to finish it.
#[derive(Debug)]
struct PendingRequest {
    registration: Registration,
    channel: String,
    stream_id: i32,
}

/// Kinds of driver-side resources a handle releases when dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResourceKind {
    Publication,
    Subscription,
    Counter,
}

/// Sends the driver a remove command when the handle that owns it is dropped.
#[derive(Debug)]
pub(crate) struct Release {
    inner: Arc<ClientInner>,
    kind: ResourceKind,
    registration_id: i64,
}

impl Drop for Release {
    fn drop(&mut self) {
        self.inner.release(self.kind, self.registration_id);
    }
}

/// State the conductor and the application threads share under one lock.
struct ClientState {
    receiver: CopyBroadcastReceiver,
    scratch: Vec<u8>,
    requests: HashMap<i64, PendingRequest>,
    subscriptions: HashMap<i64, Arc<SubscriptionState>>,
    closed_flags: HashMap<i64, ClosedFlag>,
    logs: HashMap<i64, Weak<LogBuffers>>,
    heartbeat_counter: Option<AtomicCounter>,
    time_of_last_keepalive_ms: i64,
    time_of_last_service: Instant,
    terminal: Option<AeronError>,
}

/// The shared core of an [`Aeron`] client; handles keep it alive.
pub(crate) struct ClientInner {
    ctx: Context,
    client_id: i64,
    cnc: CncFile,
    to_driver: ManyToOneRingBuffer,
    counters: CountersReader,
    state: Mutex<ClientState>,
    changed: Condvar,
    closed: AtomicBool,
    inter_service_timeout: Duration,
}

impl std::fmt::Debug for ClientInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInner")
            .field("client_id", &self.client_id)
            .field("aeron_dir", &self.ctx.aeron_dir)
            .finish_non_exhaustive()
    }
}

/// A callback to run once the state lock is released.
enum Callback {
    AvailableImage(Arc<Image>),
    UnavailableImage(Arc<Image>),
    AvailableCounter(i64, i32),
    UnavailableCounter(i64, i32),
    Error(AeronError),
}

impl ClientInner {
    fn lock(&self) -> MutexGuard<'_, ClientState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, command: &Command<'_>) -> Result<(), AeronError> {
        let length = command.encoded_length();
        let claim = match self.to_driver.try_claim(command.msg_type_id(), length) {
            Ok(claim) => claim,
            Err(RingBufferError::InsufficientCapacity) => return Err(AeronError::BufferFull),
            Err(e) => return Err(AeronError::InvalidArgument(e.to_string())),
        };
        let mut bytes = vec![0u8; length];
        command.encode(&mut bytes);
        claim.buffer().put_bytes(0, &bytes);
        claim
            .commit()
            .map_err(|e| AeronError::InvalidArgument(e.to_string()))
    }

    fn correlated(&self) -> Correlated {
        Correlated {
            client_id: self.client_id,
            correlation_id: self.to_driver.next_correlation_id(),
        }
    }

    fn check_open(&self, state: &ClientState) -> Result<(), AeronError> {
        if let Some(e) = &state.terminal {
            return Err(e.clone());
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(AeronError::Closed);
        }
        Ok(())
    }

    fn release(&self, kind: ResourceKind, registration_id: i64) {
        let mut state = self.lock();
        if let Some(flag) = state.closed_flags.remove(&registration_id) {
            flag.store(true, Ordering::Release);
        }
        if kind == ResourceKind::Subscription {
            if let Some(subscription) = state.subscriptions.remove(&registration_id) {
                subscription.close();
            }
        }
        let unusable = state.terminal.is_some() || self.closed.load(Ordering::Acquire);
        drop(state);
        if unusable {
            return;
        }
        let header = self.correlated();
        let command = match kind {
            ResourceKind::Publication => Command::RemovePublication(RemovePublication {
                correlated: header,
                registration_id,
                flags: 0,
            }),
            ResourceKind::Subscription => Command::RemoveSubscription(RemoveCommand {
                correlated: header,
                registration_id,
            }),
            ResourceKind::Counter => Command::RemoveCounter(RemoveCommand {
                correlated: header,
                registration_id,
            }),
        };
        if let Err(e) = self.send(&command) {
            (self.ctx.error_handler)(&e);
        }
    }

    /// One conductor duty cycle: broadcast responses, keepalive, driver liveness.
    fn do_work(&self) -> usize {
        let mut callbacks = Vec::new();
        let mut work = 0;
        {
            let mut state = self.lock();
            if state.terminal.is_some() {
                return 0;
            }
            let now = Instant::now();
            let since_service = now.duration_since(state.time_of_last_service);
            state.time_of_last_service = now;
            if since_service > self.inter_service_timeout {
                let e = AeronError::ConductorServiceTimeout(format!(
                    "{} ms since the last duty cycle, more than {} ms",
                    since_service.as_millis(),
                    self.inter_service_timeout.as_millis()
                ));
                self.terminate(&mut state, e.clone());
                callbacks.push(Callback::Error(e));
            } else {
                let mut scratch = std::mem::take(&mut state.scratch);
                for _ in 0..16 {
                    let mut type_id = 0;
                    let result = state.receiver.receive(|t, bytes| {
                        type_id = t;
                        scratch.clear();
                        scratch.extend_from_slice(bytes);
                    });
                    match result {
                        Ok(0) => break,
                        Ok(_) => {
                            work += 1;
                            self.on_response(&mut state, type_id, &scratch, &mut callbacks);
                        }
                        Err(BroadcastError::Lapped) => {
                            callbacks.push(Callback::Error(AeronError::BroadcastLapped));
                        }
                        Err(e) => {
                            callbacks.push(Callback::Error(AeronError::Cnc(e.to_string())));
                            break;
                        }
                    }
                }
                state.scratch = scratch;
                work += self.on_heartbeat_check(&mut state, &mut callbacks);
            }
        }
        if work > 0 || !callbacks.is_empty() {
            self.changed.notify_all();
        }
        for callback in callbacks {
            self.run_callback(callback);
        }
        work
    }

    fn run_callback(&self, callback: Callback) {
        match callback {
            Callback::AvailableImage(image) => {
                if let Some(h) = &self.ctx.on_available_image {
                    h(&image);
                }
            }
            Callback::UnavailableImage(image) => {
                if let Some(h) = &self.ctx.on_unavailable_image {
                    h(&image);
                }
            }
            Callback::AvailableCounter(registration_id, counter_id) => {
                if let Some(h) = &self.ctx.on_available_counter {
                    h(registration_id, counter_id);
                }
            }
            Callback::UnavailableCounter(registration_id, counter_id) => {
                if let Some(h) = &self.ctx.on_unavailable_counter {
                    h(registration_id, counter_id);
                }
            }
            Callback::Error(e) => (self.ctx.error_handler)(&e),
        }
    }

    /// Closes every resource and makes every later call fail with `error`.
    fn terminate(&self, state: &mut ClientState, error: AeronError) {
        state.terminal = Some(error.clone());
        for flag in state.closed_flags.values() {
            flag.store(true, Ordering::Release);
        }
        for subscription in state.subscriptions.values() {
            subscription.close();
        }
        for request in state.requests.values_mut() {
            if matches!(request.registration, Registration::Pending) {
                request.registration = Registration::Failed(error.clone());
            }
        }
    }

    fn on_heartbeat_check(&self, state: &mut ClientState, callbacks: &mut Vec<Callback>) -> usize {
        let now_ms = system_epoch_ms();
        if now_ms - state.time_of_last_keepalive_ms < self.ctx.keepalive_interval.as_millis() as i64
        {
            return 0;
        }
        state.time_of_last_keepalive_ms = now_ms;
        let driver_heartbeat = self.to_driver.consumer_heartbeat_time();
        let age = now_ms - driver_heartbeat;
        if driver_heartbeat < 0 || age > self.ctx.driver_timeout.as_millis() as i64 {
            let e = AeronError::DriverTimeout(if driver_heartbeat < 0 {
                "the driver has shut down".to_string()
            } else {
                format!(
                    "driver heartbeat is {age} ms old, more than the {} ms driver timeout",
                    self.ctx.driver_timeout.as_millis()
                )
            });
            self.terminate(state, e.clone());
            callbacks.push(Callback::Error(e));
            return 1;
        }
        if state.heartbeat_counter.is_none() {
            if let Some(id) = self
                .counters
                .find_by_type_id_and_registration_id(DRIVER_HEARTBEAT_TYPE_ID, self.client_id)
            {
                state.heartbeat_counter =
                    AtomicCounter::new(self.counters.values_buffer(), id).ok();
            }
        }
        if let Some(counter) = &state.heartbeat_counter {
            counter.set(now_ms);
        }
        1
    }

    fn sub_position_view(&self, counter_id: i32) -> Result<AtomicBuffer, AeronError> {
        self.counters
            .values_buffer()
            .view(counter_offset(counter_id), 8)
            .map_err(|e| AeronError::Cnc(format!("counter {counter_id}: {e}")))
    }

    fn on_response(
        &self,
        state: &mut ClientState,
        type_id: i32,
        bytes: &[u8],
        callbacks: &mut Vec<Callback>,
    ) {
        let response = match Response::decode(type_id, bytes) {
            Ok(r) => r,
            Err(e) => {
                callbacks.push(Callback::Error(AeronError::Cnc(format!(
                    "undecodable driver response: {e}"
                ))));
                return;
            }
        };
        match response {
            Response::PublicationReady(r) | Response::ExclusivePublicationReady(r) => {
                if let Some(request) = state.requests.get_mut(&r.correlation_id) {
                    request.registration = Registration::Publication(ReadyPublication {
                        registration_id: r.registration_id,
                        session_id: r.session_id,
                        position_limit_counter_id: r.position_limit_counter_id,
                        channel_status_id: r.channel_status_indicator_id,
                        log_file_name: r.log_file_name.to_string(),
                    });
                }
            }
            Response::SubscriptionReady(r) => {
                if let Some(request) = state.requests.get_mut(&r.correlation_id) {
                    let subscription = Arc::new(SubscriptionState::new(
                        request.channel.clone(),
                        request.stream_id,
                        r.correlation_id,
                    ));
                    subscription.set_channel_status_id(r.channel_status_indicator_id);
                    state
                        .subscriptions
                        .insert(r.correlation_id, Arc::clone(&subscription));
                    request.registration = Registration::Subscription(subscription);
                }
            }
            Response::AvailableImage(r) => {
                let Some(subscription) = state
                    .subscriptions
                    .get(&r.subscription_registration_id)
                    .cloned()
                else {
                    return;
                };
                let log = match self.map_log(state, r.correlation_id, r.log_file_name) {
                    Ok(log) => log,
                    Err(e) => {
                        callbacks.push(Callback::Error(e));
                        return;
                    }
                };
                let position = match self.sub_position_view(r.subscriber_position_id) {
                    Ok(p) => p,
                    Err(e) => {
                        callbacks.push(Callback::Error(e));
                        return;
                    }
                };
                let image = Arc::new(Image::new(
                    ImageInfo {
                        correlation_id: r.correlation_id,
                        session_id: r.session_id,
                        subscription_registration_id: r.subscription_registration_id,
                        source_identity: r.source_identity.to_string(),
                    },
                    log,
                    position,
                ));
                subscription.add_image(Arc::clone(&image));
                callbacks.push(Callback::AvailableImage(image));
            }
            Response::UnavailableImage(r) => {
                if let Some(subscription) = state.subscriptions.get(&r.subscription_registration_id)
                {
                    if let Some(image) = subscription.remove_image(r.correlation_id) {
                        callbacks.push(Callback::UnavailableImage(image));
                    }
                }
            }
            Response::OperationSuccess(r) => {
                if let Some(request) = state.requests.get_mut(&r.correlation_id) {
                    request.registration = Registration::Succeeded;
                }
            }
            Response::CounterReady(r) => {
                if let Some(request) = state.requests.get_mut(&r.correlation_id) {
                    request.registration = Registration::Counter(r.counter_id);
                }
                callbacks.push(Callback::AvailableCounter(r.correlation_id, r.counter_id));
            }
            Response::StaticCounter(r) => {
                if let Some(request) = state.requests.get_mut(&r.correlation_id) {
                    request.registration = Registration::Counter(r.counter_id);
                }
            }
            Response::UnavailableCounter(r) => {
                if let Some(flag) = state.closed_flags.get(&r.correlation_id) {
                    flag.store(true, Ordering::Release);
                }
                callbacks.push(Callback::UnavailableCounter(r.correlation_id, r.counter_id));
            }
            Response::Error(r) => {
                let error = AeronError::Driver {
                    code: r.error_code,
                    message: r.error_message.to_string(),
                };
                // The broadcast reaches every client, and a new client starts reading at its latest
                // record: an error about another client's command is not this one's to report (Java's
                // DriverEventsAdapter drops it too). An endpoint's error carries the endpoint's status
                // counter id instead of a command's.
                match state.requests.get_mut(&r.offending_command_correlation_id) {
                    Some(request) => request.registration = Registration::Failed(error),
                    None if r.error_code == ErrorCode::ChannelEndpointError => {
                        callbacks.push(Callback::Error(error))
                    }
                    None => {}
                }
            }
            Response::ClientTimeout(r) => {
                if r.client_id == self.client_id {
                    self.terminate(state, AeronError::ClientTimeout);
                    callbacks.push(Callback::Error(AeronError::ClientTimeout));
                }
            }
            Response::PublicationError(r) => {
                callbacks.push(Callback::Error(AeronError::Driver {
                    code: r.error_code,
                    message: r.error_message.to_string(),
                }));
            }
            Response::NextAvailableSessionId(_) => {}
        }
    }

    fn map_log(
        &self,
        state: &mut ClientState,
        id: i64,
        path: &str,
    ) -> Result<Arc<LogBuffers>, AeronError> {
        if let Some(log) = state.logs.get(&id).and_then(Weak::upgrade) {
            return Ok(log);
        }
        state.logs.retain(|_, w| w.strong_count() > 0);
        let log = Arc::new(LogBuffers::map(path)?);
        state.logs.insert(id, Arc::downgrade(&log));
        Ok(log)
    }

    /// Sends the command `build` makes with a fresh correlation id, and records a pending request for it
    /// (`channel` and `stream_id` are kept to build the handle when the driver answers).
    fn request<'a>(
        &self,
        channel: &str,
        stream_id: i32,
        build: impl FnOnce(Correlated) -> Command<'a>,
    ) -> Result<i64, AeronError> {
        let mut state = self.lock();
        self.check_open(&state)?;
        let header = self.correlated();
        let correlation_id = header.correlation_id;
        state.requests.insert(
            correlation_id,
            PendingRequest {
                registration: Registration::Pending,
                channel: channel.to_string(),
                stream_id,
            },
        );
        drop(state);
        let command = build(header);
        if let Err(e) = self.send(&command) {
            self.lock().requests.remove(&correlation_id);
            return Err(e);
        }
        Ok(correlation_id)
    }

    /// Takes the outcome of request `id` if it has one.
    fn take(
        &self,
        state: &mut ClientState,
        id: i64,
    ) -> Result<Option<(PendingRequest, Registration)>, AeronError> {
        let Some(request) = state.requests.get_mut(&id) else {
            return Err(AeronError::InvalidArgument(format!(
                "unknown registration id {id}"
            )));
        };
        if matches!(request.registration, Registration::Pending) {
            if let Some(e) = &state.terminal {
                state.requests.remove(&id);
                return Err(e.clone());
            }
            return Ok(None);
        }
        let mut request = state.requests.remove(&id).expect("present");
        let registration = std::mem::replace(&mut request.registration, Registration::Pending);
        if let Registration::Failed(e) = registration {
            return Err(e);
        }
        Ok(Some((request, registration)))
    }
}

/// Runs the client conductor on its own thread.
struct ConductorAgent {
    inner: Weak<ClientInner>,
}

impl Agent for ConductorAgent {
    fn do_work(&mut self) -> Result<usize, AgentError> {
        match self.inner.upgrade() {
            Some(inner) => Ok(inner.do_work()),
            None => Err(AgentError::Terminate("client dropped".into())),
        }
    }

    fn role_name(&self) -> &str {
        "aeron-client-conductor"
    }
}

/// A connection to a media driver: creates publications, subscriptions and counters.
///
/// `Aeron` is `Send + Sync` and cheap to clone; the last clone to drop (or [`Aeron::close`]) stops the
/// conductor and releases everything. Handles created from it stay memory-safe after that: they report
/// closed.
///
/// ```no_run
/// use oxeron_client::{Aeron, Context};
///
/// let aeron = Aeron::connect(Context::new().aeron_dir("/dev/shm/aeron-example"))?;
/// let publication = aeron.add_publication("aeron:ipc", 1001)?;
/// let mut subscription = aeron.add_subscription("aeron:ipc", 1001)?;
/// let _ = publication.offer(b"hello");
/// subscription.poll(|message: &[u8], _header: &_| println!("{message:?}"), 10);
/// # Ok::<(), oxeron_client::AeronError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Aeron {
    inner: Arc<ClientInner>,
    _runner: Arc<RunnerHandle>,
}

/// Owns the conductor thread; when the last [`Aeron`] clone goes it closes the client at the driver (as
/// [`Aeron::close`] does) and stops the thread. It holds the client strongly, so the close happens even
/// when nothing else (no conductor thread in invoker mode, no handle) keeps the client alive.
struct RunnerHandle {
    runner: Mutex<Option<AgentRunner>>,
    inner: Arc<ClientInner>,
}

impl std::fmt::Debug for RunnerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerHandle").finish_non_exhaustive()
    }
}

impl Drop for RunnerHandle {
    fn drop(&mut self) {
        self.inner.shutdown();
        if let Some(runner) = self.runner.lock().unwrap_or_else(|p| p.into_inner()).take() {
            runner.close();
        }
    }
}

impl ClientInner {
    fn shutdown(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut state = self.lock();
        let usable = state.terminal.is_none();
        self.terminate(&mut state, AeronError::Closed);
        drop(state);
        if usable {
            let header = self.correlated();
            let _ = self.send(&Command::ClientClose(header));
        }
        self.changed.notify_all();
    }
}

impl Aeron {
    /// Connects to the driver in `ctx.aeron_dir`, waiting up to the driver timeout for it to be ready.
    pub fn connect(ctx: Context) -> Result<Aeron, AeronError> {
        let deadline = Instant::now() + ctx.driver_timeout;
        let cnc = loop {
            match CncFile::map(&ctx.aeron_dir) {
                Ok(cnc) => break cnc,
                Err(e @ (CncError::Version { .. } | CncError::Layout { .. })) => {
                    return Err(e.into())
                }
                Err(e) => {
                    if Instant::now() >= deadline {
                        return Err(AeronError::DriverTimeout(format!(
                            "no ready driver in {}: {e}",
                            ctx.aeron_dir.display()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        };
        let to_driver = ManyToOneRingBuffer::new(cnc.to_driver_buffer().clone())
            .map_err(|e| AeronError::Cnc(e.to_string()))?;
        loop {
            let heartbeat = to_driver.consumer_heartbeat_time();
            if crate::driver_control::is_current(heartbeat, ctx.driver_timeout) {
                break;
            }
            if Instant::now() >= deadline {
                return Err(AeronError::DriverTimeout(format!(
                    "driver in {} is not alive (heartbeat {heartbeat})",
                    ctx.aeron_dir.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // The conductor writes every byte of the command ring and reads every byte of the broadcast buffer
        // in turn; their pages are mapped in now, not one fault at a time in the duty cycle (and the
        // client's resident memory is flat from the start rather than creeping up until both rings lap).
        cnc.to_driver_buffer().pre_touch();
        cnc.to_clients_buffer().pre_touch();
        let receiver = BroadcastReceiver::new(cnc.to_clients_buffer().clone())
            .map_err(|e| AeronError::Cnc(e.to_string()))?;
        let counters = CountersReader::new(
            cnc.counters_metadata_buffer().clone(),
            cnc.counters_values_buffer().clone(),
        )
        .map_err(|e| AeronError::Cnc(e.to_string()))?;
        let inter_service_timeout =
            Duration::from_nanos(cnc.header().client_liveness_timeout_ns.max(0) as u64);
        let client_id = to_driver.next_correlation_id();
        let invoker = ctx.use_conductor_agent_invoker;
        let idle_sleep = ctx.idle_sleep;
        let inner = Arc::new(ClientInner {
            ctx,
            client_id,
            cnc,
            to_driver,
            counters,
            state: Mutex::new(ClientState {
                receiver: CopyBroadcastReceiver::new(receiver),
                scratch: Vec::with_capacity(4096),
                requests: HashMap::new(),
                subscriptions: HashMap::new(),
                closed_flags: HashMap::new(),
                logs: HashMap::new(),
                heartbeat_counter: None,
                time_of_last_keepalive_ms: 0,
                time_of_last_service: Instant::now(),
                terminal: None,
            }),
            changed: Condvar::new(),
            closed: AtomicBool::new(false),
            inter_service_timeout,
        });
        let runner = if invoker {
            None
        } else {
            let agent = ConductorAgent {
                inner: Arc::downgrade(&inner),
            };
            // Aeron's client conductor sleeps between duty cycles (16 ms by default); blocking calls do not
            // wait for it, they are woken by the condition variable when a response arrives.
            let idle = SleepingIdleStrategy::new(idle_sleep);
            let handler = inner.ctx.error_handler.clone();
            Some(
                AgentRunner::start(
                    agent,
                    idle,
                    Arc::new(move |e: &AgentError| {
                        if !matches!(e, AgentError::Terminate(_)) {
                            handler(&AeronError::InvalidArgument(e.to_string()));
                        }
                    }),
                )
                .map_err(|e| {
                    AeronError::InvalidArgument(format!("could not start the conductor: {e}"))
                })?,
            )
        };
        Ok(Aeron {
            _runner: Arc::new(RunnerHandle {
                runner: Mutex::new(runner),
                inner: Arc::clone(&inner),
            }),
            inner,
        })
    }

    /// This client's id (its first correlation id).
    pub fn client_id(&self) -> i64 {
        self.inner.client_id
    }

    /// The context the client was built with.
    pub fn context(&self) -> &Context {
        &self.inner.ctx
    }

    /// A reader of the driver's counters.
    pub fn counters_reader(&self) -> &CountersReader {
        &self.inner.counters
    }

    /// The local addresses (`host:port`) the driver bound for the channel whose status counter is
    /// `channel_status_id`, as Aeron's `LocalSocketAddressStatus.findAddresses` reads them: how a client
    /// learns the port the driver picked for an `endpoint=...:0` subscription or `control=...:0` publication.
    /// Empty for IPC, or when the channel is not active.
    pub fn local_socket_addresses(&self, channel_status_id: i32) -> Vec<String> {
        let counters = &self.inner.counters;
        let mut found = Vec::new();
        if channel_status_id < 0 {
            return found;
        }
        counters.for_each(|id, type_id, key, _| {
            if type_id
                != oxeron_concurrent::counters::type_id::DRIVER_LOCAL_SOCKET_ADDRESS_STATUS_TYPE_ID
                || key.len() < 8
            {
                return;
            }
            let status_id = i32::from_le_bytes([key[0], key[1], key[2], key[3]]);
            let length = i32::from_le_bytes([key[4], key[5], key[6], key[7]]);
            let active = counters.counter_value(id).ok()
                == Some(oxeron_concurrent::counters::type_id::channel_endpoint_status::ACTIVE);
            let Some(text) = usize::try_from(length)
                .ok()
                .and_then(|length| key.get(8..8 + length))
            else {
                return;
            };
            if status_id == channel_status_id && active {
                found.push(String::from_utf8_lossy(text).into_owned());
            }
        });
        found
    }

    /// The driver's `cnc.dat` as mapped.
    pub fn cnc(&self) -> &CncFile {
        &self.inner.cnc
    }

    /// A fresh correlation id from the driver's counter.
    pub fn next_correlation_id(&self) -> i64 {
        self.inner.to_driver.next_correlation_id()
    }

    /// True once closed, timed out by the driver, or cut off from a dead driver.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire) || self.inner.lock().terminal.is_some()
    }

    /// In invoker mode, runs one conductor duty cycle; returns the work done.
    pub fn invoke(&self) -> usize {
        self.inner.do_work()
    }

    /// Closes the client: releases every publication, subscription and counter at the driver.
    pub fn close(self) {
        self.inner.shutdown();
    }

    fn await_request(&self, id: i64) -> Result<(PendingRequest, Registration), AeronError> {
        let deadline = Instant::now() + self.inner.ctx.driver_timeout;
        let invoker = self.inner.ctx.use_conductor_agent_invoker;
        loop {
            {
                let mut state = self.inner.lock();
                if let Some(done) = self.inner.take(&mut state, id)? {
                    return Ok(done);
                }
                let now = Instant::now();
                if now >= deadline {
                    state.requests.remove(&id);
                    return Err(AeronError::TimedOut(format!(
                        "no response to request {id} within {} ms",
                        self.inner.ctx.driver_timeout.as_millis()
                    )));
                }
                if !invoker {
                    let wait = (deadline - now).min(Duration::from_millis(100));
                    let _unused = self
                        .inner
                        .changed
                        .wait_timeout(state, wait)
                        .unwrap_or_else(|p| p.into_inner());
                    continue;
                }
            }
            if self.inner.do_work() == 0 {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    }

    fn publication_parts(
        &self,
        request: &PendingRequest,
        registration_id: i64,
        ready: &ReadyPublication,
    ) -> Result<(PublicationInfo, Arc<LogBuffers>, AtomicBuffer, ClosedFlag), AeronError> {
        let mut state = self.inner.lock();
        let log = self
            .inner
            .map_log(&mut state, ready.registration_id, &ready.log_file_name)?;
        let limit = self
            .inner
            .sub_position_view(ready.position_limit_counter_id)?;
        let closed = ClosedFlag::default();
        state
            .closed_flags
            .insert(registration_id, Arc::clone(&closed));
        Ok((
            PublicationInfo {
                channel: request.channel.clone(),
                stream_id: request.stream_id,
                session_id: ready.session_id,
                registration_id,
                original_registration_id: ready.registration_id,
                channel_status_id: ready.channel_status_id,
            },
            log,
            limit,
            closed,
        ))
    }

    fn release_for(&self, kind: ResourceKind, registration_id: i64) -> Release {
        Release {
            inner: Arc::clone(&self.inner),
            kind,
            registration_id,
        }
    }

    /// Asks the driver for a concurrent publication; returns the registration id to poll with
    /// [`Aeron::poll_publication`].
    pub fn async_add_publication(&self, channel: &str, stream_id: i32) -> Result<i64, AeronError> {
        self.inner.request(channel, stream_id, |header| {
            Command::AddPublication(PublicationCommand {
                correlated: header,
                stream_id,
                channel,
            })
        })
    }

    /// Asks the driver for an exclusive publication; returns the registration id to poll with
    /// [`Aeron::poll_exclusive_publication`].
    pub fn async_add_exclusive_publication(
        &self,
        channel: &str,
        stream_id: i32,
    ) -> Result<i64, AeronError> {
        self.inner.request(channel, stream_id, |header| {
            Command::AddExclusivePublication(PublicationCommand {
                correlated: header,
                stream_id,
                channel,
            })
        })
    }

    /// Asks the driver for a subscription; returns the registration id to poll with
    /// [`Aeron::poll_subscription`].
    pub fn async_add_subscription(&self, channel: &str, stream_id: i32) -> Result<i64, AeronError> {
        self.inner.request(channel, stream_id, |header| {
            Command::AddSubscription(SubscriptionCommand {
                correlated: header,
                registration_correlation_id: -1,
                stream_id,
                channel,
            })
        })
    }

    /// Asks the driver for a counter; returns the registration id to poll with [`Aeron::poll_counter`].
    pub fn async_add_counter(
        &self,
        type_id: i32,
        key: &[u8],
        label: &str,
    ) -> Result<i64, AeronError> {
        self.inner.request(label, 0, |header| {
            Command::AddCounter(AddCounter {
                correlated: header,
                type_id,
                key,
                label,
            })
        })
    }

    fn poll_take(&self, id: i64) -> Result<Option<(PendingRequest, Registration)>, AeronError> {
        if self.inner.ctx.use_conductor_agent_invoker {
            self.inner.do_work();
        }
        let mut state = self.inner.lock();
        self.inner.take(&mut state, id)
    }

    fn finish_publication(
        &self,
        id: i64,
        request: PendingRequest,
        registration: Registration,
    ) -> Result<Publication, AeronError> {
        let Registration::Publication(ready) = registration else {
            return Err(AeronError::InvalidArgument(format!(
                "registration {id} is not a publication"
            )));
        };
        let (info, log, limit, closed) = self.publication_parts(&request, id, &ready)?;
        Ok(Publication::new(info, log, limit, closed)
            .with_release(self.release_for(ResourceKind::Publication, id)))
    }

    fn finish_exclusive(
        &self,
        id: i64,
        request: PendingRequest,
        registration: Registration,
    ) -> Result<ExclusivePublication, AeronError> {
        let Registration::Publication(ready) = registration else {
            return Err(AeronError::InvalidArgument(format!(
                "registration {id} is not a publication"
            )));
        };
        let (info, log, limit, closed) = self.publication_parts(&request, id, &ready)?;
        Ok(ExclusivePublication::new(info, log, limit, closed)
            .with_release(self.release_for(ResourceKind::Publication, id)))
    }

    fn finish_subscription(
        &self,
        id: i64,
        registration: Registration,
    ) -> Result<Subscription, AeronError> {
        let Registration::Subscription(state) = registration else {
            return Err(AeronError::InvalidArgument(format!(
                "registration {id} is not a subscription"
            )));
        };
        Ok(Subscription::new(state).with_release(self.release_for(ResourceKind::Subscription, id)))
    }

    fn finish_counter(&self, id: i64, registration: Registration) -> Result<Counter, AeronError> {
        let Registration::Counter(counter_id) = registration else {
            return Err(AeronError::InvalidArgument(format!(
                "registration {id} is not a counter"
            )));
        };
        let counter = AtomicCounter::new(self.inner.counters.values_buffer(), counter_id)
            .map_err(|e| AeronError::Cnc(e.to_string()))?;
        let closed = ClosedFlag::default();
        self.inner
            .lock()
            .closed_flags
            .insert(id, Arc::clone(&closed));
        Ok(Counter {
            counter,
            registration_id: id,
            closed,
            _release: self.release_for(ResourceKind::Counter, id),
        })
    }

    /// The publication for `registration_id` once the driver made it ready (`Ok(None)` while pending).
    pub fn poll_publication(
        &self,
        registration_id: i64,
    ) -> Result<Option<Publication>, AeronError> {
        match self.poll_take(registration_id)? {
            Some((request, registration)) => self
                .finish_publication(registration_id, request, registration)
                .map(Some),
            None => Ok(None),
        }
    }

    /// The exclusive publication for `registration_id` once ready (`Ok(None)` while pending).
    pub fn poll_exclusive_publication(
        &self,
        registration_id: i64,
    ) -> Result<Option<ExclusivePublication>, AeronError> {
        match self.poll_take(registration_id)? {
            Some((request, registration)) => self
                .finish_exclusive(registration_id, request, registration)
                .map(Some),
            None => Ok(None),
        }
    }

    /// The subscription for `registration_id` once ready (`Ok(None)` while pending).
    pub fn poll_subscription(
        &self,
        registration_id: i64,
    ) -> Result<Option<Subscription>, AeronError> {
        match self.poll_take(registration_id)? {
            Some((_, registration)) => self
                .finish_subscription(registration_id, registration)
                .map(Some),
            None => Ok(None),
        }
    }

    /// The counter for `registration_id` once ready (`Ok(None)` while pending).
    pub fn poll_counter(&self, registration_id: i64) -> Result<Option<Counter>, AeronError> {
        match self.poll_take(registration_id)? {
            Some((_, registration)) => self.finish_counter(registration_id, registration).map(Some),
            None => Ok(None),
        }
    }

    /// Adds a concurrent publication and waits for the driver (up to the driver timeout).
    pub fn add_publication(
        &self,
        channel: &str,
        stream_id: i32,
    ) -> Result<Publication, AeronError> {
        let id = self.async_add_publication(channel, stream_id)?;
        let (request, registration) = self.await_request(id)?;
        self.finish_publication(id, request, registration)
    }

    /// Adds an exclusive publication and waits for the driver.
    pub fn add_exclusive_publication(
        &self,
        channel: &str,
        stream_id: i32,
    ) -> Result<ExclusivePublication, AeronError> {
        let id = self.async_add_exclusive_publication(channel, stream_id)?;
        let (request, registration) = self.await_request(id)?;
        self.finish_exclusive(id, request, registration)
    }

    /// Adds a subscription and waits for the driver.
    pub fn add_subscription(
        &self,
        channel: &str,
        stream_id: i32,
    ) -> Result<Subscription, AeronError> {
        let id = self.async_add_subscription(channel, stream_id)?;
        let (_, registration) = self.await_request(id)?;
        self.finish_subscription(id, registration)
    }

    fn destination_command(
        &self,
        registration_id: i64,
        channel: &str,
        build: fn(DestinationCommand<'_>) -> Command<'_>,
    ) -> Result<(), AeronError> {
        let id = self.inner.request(channel, 0, |correlated| {
            build(DestinationCommand {
                correlated,
                registration_id,
                channel,
            })
        })?;
        self.await_request(id).map(|_| ())
    }

    /// Adds `endpoint_channel` (`aeron:udp?endpoint=host:port`) as a destination of the publication with
    /// `registration_id` (its channel has `control-mode=manual`), and waits for the driver.
    pub fn add_destination(
        &self,
        registration_id: i64,
        endpoint_channel: &str,
    ) -> Result<(), AeronError> {
        self.destination_command(registration_id, endpoint_channel, |c| {
            Command::AddDestination(c)
        })
    }

    /// Removes a destination added with [`Aeron::add_destination`], and waits for the driver.
    pub fn remove_destination(
        &self,
        registration_id: i64,
        endpoint_channel: &str,
    ) -> Result<(), AeronError> {
        self.destination_command(registration_id, endpoint_channel, |c| {
            Command::RemoveDestination(c)
        })
    }

    /// Adds a receive destination to the subscription with `registration_id` (its channel has
    /// `control-mode=manual`), and waits for the driver.
    pub fn add_rcv_destination(
        &self,
        registration_id: i64,
        endpoint_channel: &str,
    ) -> Result<(), AeronError> {
        self.destination_command(registration_id, endpoint_channel, |c| {
            Command::AddRcvDestination(c)
        })
    }

    /// Removes a receive destination added with [`Aeron::add_rcv_destination`], and waits for the driver.
    pub fn remove_rcv_destination(
        &self,
        registration_id: i64,
        endpoint_channel: &str,
    ) -> Result<(), AeronError> {
        self.destination_command(registration_id, endpoint_channel, |c| {
            Command::RemoveRcvDestination(c)
        })
    }

    /// Rejects the network image with `image_correlation_id` (seen at `position`): the driver drops its data and
    /// tells the sender why. Waits for the driver.
    pub fn reject_image(
        &self,
        image_correlation_id: i64,
        position: i64,
        reason: &str,
    ) -> Result<(), AeronError> {
        let id = self.inner.request("", 0, |correlated| {
            Command::RejectImage(RejectImage {
                correlated,
                image_correlation_id,
                position,
                reason,
            })
        })?;
        self.await_request(id).map(|_| ())
    }

    /// Adds a counter with `type_id`, `key` (at most 112 bytes) and `label` and waits for the driver.
    pub fn add_counter(
        &self,
        type_id: i32,
        key: &[u8],
        label: &str,
    ) -> Result<Counter, AeronError> {
        let id = self.async_add_counter(type_id, key, label)?;
        let (_, registration) = self.await_request(id)?;
        self.finish_counter(id, registration)
    }
}

/// A counter this client allocated at the driver; freed when dropped.
#[derive(Debug)]
pub struct Counter {
    counter: AtomicCounter,
    registration_id: i64,
    closed: ClosedFlag,
    _release: Release,
}

impl Counter {
    /// Counter id (its slot in the counters file).
    pub fn id(&self) -> i32 {
        self.counter.id()
    }

    /// Registration id.
    pub fn registration_id(&self) -> i64 {
        self.registration_id
    }

    /// Frees the counter at the driver (dropping it does the same).
    pub fn close(self) {}

    /// True once freed or the client closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Current value.
    pub fn get(&self) -> i64 {
        self.counter.get()
    }

    /// Sets the value (release).
    pub fn set(&self, value: i64) {
        if !self.is_closed() {
            self.counter.set(value);
        }
    }

    /// Adds one (atomic) and returns the previous value.
    pub fn increment(&self) -> i64 {
        if self.is_closed() {
            return self.counter.get();
        }
        self.counter.increment()
    }

    /// Adds `delta` (atomic) and returns the previous value.
    pub fn get_and_add(&self, delta: i64) -> i64 {
        if self.is_closed() {
            return self.counter.get();
        }
        self.counter.get_and_add(delta)
    }
}
