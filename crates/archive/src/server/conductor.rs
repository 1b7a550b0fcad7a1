//! The archive conductor: one agent that serves control sessions and drives every recording and replay.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use oxeron_client::{
    Aeron, AeronError, ExclusivePublication, Header, Image, OfferError, Publication, Subscription,
};
use oxeron_concurrent::agent::{Agent, AgentError};
use oxeron_concurrent::clock::{system_epoch_clock, system_epoch_ms};
use oxeron_concurrent::counters::RECORD_ALLOCATED;
use oxeron_concurrent::error_log::DistinctErrorLog;
use oxeron_protocol::archive::*;
use oxeron_protocol::archive::{segment_file_base_position, segment_file_name};
use oxeron_protocol::frame::data::{BEGIN_FLAG, END_FLAG};
use oxeron_protocol::uri::ChannelUri;

use super::channel::{
    control_response_channel, recording_subscription_channel, replay_channel, strip_channel,
};
use super::context::{AuthDecision, Context};

const NULL_RECORDING_ID: i64 = -1;
use super::recorder::{RecordingEnd, RecordingSession};
use super::replayer::{ReplayEnd, ReplayLimit, ReplaySession};
use super::replication::{ReplicationSession, ReplicationStep};
use crate::client::{
    AeronArchive, ArchiveError, ConnectReply, Context as ArchiveClientContext, ReplayParams,
    LIVE_ADD_MAX_WINDOW,
};
use crate::{ArchiveMarkFile, Catalog, NewRecording, SegmentReader, SegmentWriter};

/// Messages handled per control subscription per duty cycle.
const CONTROL_FRAGMENT_LIMIT: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionState {
    AwaitingPublication(i64),
    AwaitingConnection,
    Challenged,
    Active,
    Done,
}

struct ControlSession {
    id: i64,
    connect_correlation_id: i64,
    state: SessionState,
    rejection: Option<(ArchiveErrorCode, String)>,
    challenge: Option<Vec<u8>>,
    publication: Option<ExclusivePublication>,
    deadline: Instant,
    disconnected_since: Option<Instant>,
    queue: VecDeque<Vec<u8>>,
}

impl ControlSession {
    /// Offers queued responses in order; keeps what the publication can't take yet.
    fn flush(&mut self) -> usize {
        let Some(publication) = self.publication.as_mut() else {
            return 0;
        };
        let mut sent = 0;
        while let Some(message) = self.queue.front() {
            match publication.offer(message) {
                Ok(_) => {
                    self.queue.pop_front();
                    sent += 1;
                }
                Err(OfferError::Closed) => {
                    self.state = SessionState::Done;
                    break;
                }
                Err(_) => break,
            }
        }
        sent
    }
}

struct RecordingSubscription {
    subscription: Subscription,
    registration_id: i64,
    stripped_channel: String,
    original_channel: String,
    subscribed_channel: String,
    stream_id: i32,
    control_session_id: i64,
    correlation_id: i64,
    auto_stop: bool,
    extend_recording_id: Option<i64>,
    seen_images: Vec<i64>,
}

/// The archive's single agent.
pub(crate) struct ArchiveConductor {
    ctx: Context,
    aeron: Aeron,
    catalog: Catalog,
    mark: ArchiveMarkFile,
    archive_id: i64,
    control_subscriptions: Vec<Subscription>,
    partial: HashMap<(usize, i32), Vec<u8>>,
    sessions: Vec<ControlSession>,
    recording_subscriptions: Vec<RecordingSubscription>,
    recordings: Vec<RecordingSession>,
    replays: Vec<ReplaySession>,
    /// The buffer every replay reads its blocks into, one at a time (as Java's replayer shares one).
    replay_buffer: Vec<u8>,
    replications: Vec<ReplicationSession>,
    events: Option<Publication>,
    next_control_session_id: i64,
    next_replay_id: i64,
    last_mark_update_ms: i64,
    errors: Option<DistinctErrorLog>,
    /// The limit counter of the bounded replay request being handled.
    bound_counter: Option<i32>,
    /// Replay tokens handed out and not yet expired.
    replay_tokens: Vec<ReplayToken>,
    /// State of the token generator (xorshift, seeded from the clock).
    token_seed: u64,
}

/// A replay token (Java's `SessionForReplay`): lets a replay request that arrives on a response channel act for
/// the control session that asked for the token, for one recording, until the connect timeout passes.
struct ReplayToken {
    token: i64,
    recording_id: i64,
    control_session_id: i64,
    deadline: Instant,
}

fn now_ms() -> i64 {
    system_epoch_ms()
}

fn control_response(
    control_session_id: i64,
    correlation_id: i64,
    relevant_id: i64,
    code: ControlResponseCode,
    message: &str,
) -> Vec<u8> {
    ControlResponse {
        control_session_id,
        correlation_id,
        relevant_id,
        code,
        version: PROTOCOL_SEMANTIC_VERSION,
        error_message: message,
    }
    .to_vec()
}

impl ArchiveConductor {
    pub(crate) fn new(
        ctx: Context,
        aeron: Aeron,
        catalog: Catalog,
        mark: ArchiveMarkFile,
        archive_id: i64,
        control_subscriptions: Vec<Subscription>,
        events: Option<Publication>,
    ) -> Self {
        let seed = (now_ms() ^ i64::from(std::process::id()) << 20) & 0x3FFF_FFFF;
        let errors = mark
            .error_buffer()
            .ok()
            .flatten()
            .and_then(|buffer| DistinctErrorLog::new(buffer, system_epoch_clock()).ok());
        Self {
            ctx,
            aeron,
            catalog,
            mark,
            archive_id,
            control_subscriptions,
            partial: HashMap::new(),
            sessions: Vec::new(),
            recording_subscriptions: Vec::new(),
            recordings: Vec::new(),
            replays: Vec::new(),
            replay_buffer: Vec::new(),
            replications: Vec::new(),
            events,
            next_control_session_id: seed.max(1),
            next_replay_id: 1,
            last_mark_update_ms: 0,
            errors,
            bound_counter: None,
            replay_tokens: Vec::new(),
            token_seed: (now_ms() as u64) ^ 0x9E37_79B9_7F4A_7C15 | 1,
        }
    }

    fn poll_control(&mut self) -> usize {
        let mut inbox: Vec<Vec<u8>> = Vec::new();
        let mut work = 0;
        for (index, subscription) in self.control_subscriptions.iter_mut().enumerate() {
            let partial = &mut self.partial;
            work += subscription.poll(
                |payload: &[u8], header: &Header| {
                    let flags = header.flags();
                    let key = (index, header.session_id());
                    if flags & (BEGIN_FLAG | END_FLAG) == BEGIN_FLAG | END_FLAG {
                        inbox.push(payload.to_vec());
                    } else if flags & BEGIN_FLAG != 0 {
                        partial.insert(key, payload.to_vec());
                    } else if let Some(buffer) = partial.get_mut(&key) {
                        buffer.extend_from_slice(payload);
                        if flags & END_FLAG != 0 {
                            if let Some(message) = partial.remove(&key) {
                                inbox.push(message);
                            }
                        }
                    }
                },
                CONTROL_FRAGMENT_LIMIT,
            );
        }
        for message in inbox {
            self.on_message(&message);
        }
        work
    }

    /// Records an error in the mark file's distinct error log (read with `oxeron errors` or Aeron's
    /// `ArchiveTool errors`).
    fn report(&self, message: &str) {
        let logged = self
            .errors
            .as_ref()
            .is_some_and(|log| log.record(0, message));
        tracing::warn!(target: "oxeron::archive", logged_in_mark_file = logged, "{message}");
    }

    fn session_index(&self, control_session_id: i64) -> Option<usize> {
        self.sessions
            .iter()
            .position(|s| s.id == control_session_id && s.state == SessionState::Active)
    }

    fn send(&mut self, control_session_id: i64, message: Vec<u8>) {
        if let Some(session) = self
            .sessions
            .iter_mut()
            .find(|s| s.id == control_session_id)
        {
            session.queue.push_back(message);
            session.flush();
        }
    }

    fn ok(&mut self, session: i64, correlation_id: i64, relevant_id: i64) {
        let m = control_response(
            session,
            correlation_id,
            relevant_id,
            ControlResponseCode::Ok,
            "",
        );
        self.send(session, m);
    }

    fn error(&mut self, session: i64, correlation_id: i64, code: ArchiveErrorCode, message: &str) {
        let m = control_response(
            session,
            correlation_id,
            code as i64,
            ControlResponseCode::Error,
            message,
        );
        self.send(session, m);
    }

    fn unknown_recording(&mut self, session: i64, correlation_id: i64, recording_id: i64) {
        self.error(
            session,
            correlation_id,
            ArchiveErrorCode::UnknownRecording,
            &format!("unknown recording id: {recording_id}"),
        );
    }

    fn signal(
        &mut self,
        session: i64,
        correlation_id: i64,
        recording_id: i64,
        subscription_id: i64,
        position: i64,
        signal: RecordingSignal,
    ) {
        let m = RecordingSignalEvent {
            control_session_id: session,
            correlation_id,
            recording_id,
            subscription_id,
            position,
            signal,
        }
        .to_vec();
        self.send(session, m);
    }

    fn event(&mut self, message: Vec<u8>) {
        if let Some(events) = self.events.as_ref() {
            let _ = events.offer(&message);
        }
    }

    fn on_message(&mut self, bytes: &[u8]) {
        let message = match ArchiveMessage::decode(bytes) {
            Ok(m) => m,
            Err(error) => {
                self.report(&format!("malformed control request: {error}"));
                self.reject_malformed(bytes, &error.to_string());
                return;
            }
        };
        use ArchiveMessage as M;
        match message {
            M::AuthConnectRequest(r) => self.on_connect(
                r.correlation_id,
                r.response_stream_id,
                r.version,
                r.response_channel,
                r.encoded_credentials,
            ),
            M::ConnectRequest(r) => self.on_connect(
                r.correlation_id,
                r.response_stream_id,
                r.version,
                r.response_channel,
                &[],
            ),
            M::CloseSessionRequest(r) => {
                if let Some(s) = self
                    .sessions
                    .iter_mut()
                    .find(|s| s.id == r.control_session_id)
                {
                    s.state = SessionState::Done;
                }
            }
            M::KeepAliveRequest(_) | M::Ping(_) => {}
            M::ChallengeResponse(r) => self.on_challenge_response(
                r.control_session_id,
                r.correlation_id,
                r.encoded_credentials,
            ),
            other => self.on_request(other, request_ids(bytes)),
        }
    }

    /// A message that does not decode: answered with an error when its header and session can be read.
    fn reject_malformed(&mut self, bytes: &[u8], reason: &str) {
        if bytes.len() >= MESSAGE_HEADER_LENGTH + 16 {
            let (session, correlation) = request_ids(bytes);
            if self.session_index(session).is_some() {
                self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::Generic,
                    &format!("malformed request: {reason}"),
                );
            }
        }
    }

    fn on_connect(
        &mut self,
        correlation_id: i64,
        response_stream_id: i32,
        version: i32,
        response_channel: &str,
        credentials: &[u8],
    ) {
        let id = self.next_control_session_id;
        self.next_control_session_id += 1;
        let mut rejection = None;
        let mut challenge = None;
        if version != VERSION_NULL && (version >> 16) != (PROTOCOL_SEMANTIC_VERSION >> 16) {
            rejection = Some((
                ArchiveErrorCode::Generic,
                format!(
                    "invalid client version {}.{}.{}, archive is {}.{}.{}",
                    version >> 16,
                    (version >> 8) & 0xFF,
                    version & 0xFF,
                    PROTOCOL_SEMANTIC_VERSION >> 16,
                    (PROTOCOL_SEMANTIC_VERSION >> 8) & 0xFF,
                    PROTOCOL_SEMANTIC_VERSION & 0xFF
                ),
            ));
        } else {
            match self.ctx.authenticator.on_connect(id, credentials) {
                AuthDecision::Accept => {}
                AuthDecision::Reject => {
                    rejection = Some((
                        ArchiveErrorCode::AuthenticationRejected,
                        "authentication rejected".to_string(),
                    ))
                }
                AuthDecision::Challenge(bytes) => challenge = Some(bytes),
            }
        }
        let channel = match ChannelUri::parse(response_channel) {
            Ok(uri) => control_response_channel(&uri),
            Err(e) => {
                self.report(&format!(
                    "control session {id}: invalid response channel: {e}"
                ));
                return;
            }
        };
        let registration = match self
            .aeron
            .async_add_exclusive_publication(&channel, response_stream_id)
        {
            Ok(r) => r,
            Err(e) => {
                self.report(&format!("control session {id}: response publication: {e}"));
                return;
            }
        };
        self.sessions.push(ControlSession {
            id,
            connect_correlation_id: correlation_id,
            state: SessionState::AwaitingPublication(registration),
            rejection,
            challenge,
            publication: None,
            deadline: Instant::now() + self.ctx.connect_timeout,
            disconnected_since: None,
            queue: VecDeque::new(),
        });
    }

    fn on_challenge_response(&mut self, session_id: i64, correlation_id: i64, credentials: &[u8]) {
        let decision = self
            .ctx
            .authenticator
            .on_challenge_response(session_id, credentials);
        let Some(session) = self
            .sessions
            .iter_mut()
            .find(|s| s.id == session_id && s.state == SessionState::Challenged)
        else {
            return;
        };
        let reply = match decision {
            AuthDecision::Accept => {
                session.state = SessionState::Active;
                control_response(
                    session_id,
                    correlation_id,
                    session_id,
                    ControlResponseCode::Ok,
                    "",
                )
            }
            AuthDecision::Reject => {
                session.state = SessionState::Done;
                control_response(
                    session_id,
                    correlation_id,
                    ArchiveErrorCode::AuthenticationRejected as i64,
                    ControlResponseCode::Error,
                    "authentication rejected",
                )
            }
            AuthDecision::Challenge(bytes) => Challenge {
                control_session_id: session_id,
                correlation_id,
                version: PROTOCOL_SEMANTIC_VERSION,
                encoded_challenge: &bytes,
            }
            .to_vec(),
        };
        session.queue.push_back(reply);
        session.flush();
    }

    fn service_sessions(&mut self, now: Instant) -> usize {
        let mut work = 0;
        let mut connected = Vec::new();
        for session in &mut self.sessions {
            match session.state {
                SessionState::AwaitingPublication(registration) => {
                    match self.aeron.poll_exclusive_publication(registration) {
                        Ok(Some(publication)) => {
                            session.publication = Some(publication);
                            session.state = SessionState::AwaitingConnection;
                            work += 1;
                        }
                        Ok(None) if now > session.deadline => session.state = SessionState::Done,
                        Ok(None) => {}
                        Err(_) => session.state = SessionState::Done,
                    }
                }
                SessionState::AwaitingConnection => {
                    let is_connected = session
                        .publication
                        .as_ref()
                        .is_some_and(|p| p.is_connected());
                    if is_connected && session.rejection.is_none() && session.challenge.is_some() {
                        work += 1;
                        let challenge = session.challenge.take().unwrap_or_default();
                        session.queue.push_back(
                            Challenge {
                                control_session_id: session.id,
                                correlation_id: session.connect_correlation_id,
                                version: PROTOCOL_SEMANTIC_VERSION,
                                encoded_challenge: &challenge,
                            }
                            .to_vec(),
                        );
                        session.state = SessionState::Challenged;
                        session.flush();
                    } else if is_connected {
                        work += 1;
                        let (code, relevant, message) = match session.rejection.take() {
                            None => (ControlResponseCode::Ok, session.id, String::new()),
                            Some((code, message)) => {
                                (ControlResponseCode::Error, code as i64, message)
                            }
                        };
                        let ok = code == ControlResponseCode::Ok;
                        session.queue.push_back(control_response(
                            session.id,
                            session.connect_correlation_id,
                            relevant,
                            code,
                            &message,
                        ));
                        session.state = if ok {
                            connected.push(session.id);
                            SessionState::Active
                        } else {
                            SessionState::Done
                        };
                        session.flush();
                    } else if now > session.deadline {
                        session.state = SessionState::Done;
                    }
                }
                SessionState::Active => {
                    work += session.flush();
                    let is_connected = session
                        .publication
                        .as_ref()
                        .is_some_and(|p| p.is_connected());
                    if is_connected {
                        session.disconnected_since = None;
                    } else {
                        let since = *session.disconnected_since.get_or_insert(now);
                        if now.duration_since(since) > self.ctx.session_liveness_timeout {
                            session.state = SessionState::Done;
                        }
                    }
                }
                SessionState::Challenged => {
                    session.flush();
                    if now > session.deadline {
                        session.state = SessionState::Done;
                    }
                }
                SessionState::Done => {}
            }
        }
        let before = self.sessions.len();
        let sessions = &self.sessions;
        self.replay_tokens.retain(|t| {
            sessions
                .iter()
                .any(|s| s.id == t.control_session_id && s.state != SessionState::Done)
        });
        self.sessions.retain(|s| s.state != SessionState::Done);
        work + (before - self.sessions.len())
    }

    fn on_request(&mut self, message: ArchiveMessage<'_>, (session, correlation): (i64, i64)) {
        use ArchiveMessage as M;
        if self.session_index(session).is_none() {
            return;
        }
        match message {
            M::ArchiveIdRequest(_) => self.ok(session, correlation, self.archive_id),
            M::StartRecordingRequest(r) => self.start_recording(
                session,
                correlation,
                r.stream_id,
                r.source_location,
                r.channel,
                false,
                None,
            ),
            M::StartRecordingRequest2(r) => self.start_recording(
                session,
                correlation,
                r.stream_id,
                r.source_location,
                r.channel,
                r.auto_stop == BooleanType::True,
                None,
            ),
            M::ExtendRecordingRequest(r) => self.start_recording(
                session,
                correlation,
                r.stream_id,
                r.source_location,
                r.channel,
                false,
                Some(r.recording_id),
            ),
            M::ExtendRecordingRequest2(r) => self.start_recording(
                session,
                correlation,
                r.stream_id,
                r.source_location,
                r.channel,
                r.auto_stop == BooleanType::True,
                Some(r.recording_id),
            ),
            M::StopRecordingRequest(r) => {
                let key = ChannelUri::parse(r.channel).map(|uri| strip_channel(&uri));
                let found = key.ok().and_then(|stripped| {
                    self.recording_subscriptions
                        .iter()
                        .find(|s| s.stripped_channel == stripped && s.stream_id == r.stream_id)
                        .map(|s| s.registration_id)
                });
                match found {
                    Some(id) => {
                        self.stop_recording_subscription(id);
                        self.ok(session, correlation, 0);
                    }
                    None => self.error(
                        session,
                        correlation,
                        ArchiveErrorCode::UnknownSubscription,
                        &format!(
                            "no recording found for streamId={} channel={}",
                            r.stream_id, r.channel
                        ),
                    ),
                }
            }
            M::StopRecordingSubscriptionRequest(r) => {
                if self.stop_recording_subscription(r.subscription_id) {
                    self.ok(session, correlation, 0);
                } else {
                    self.error(
                        session,
                        correlation,
                        ArchiveErrorCode::UnknownSubscription,
                        &format!(
                            "no recording subscription found for subscriptionId={}",
                            r.subscription_id
                        ),
                    );
                }
            }
            M::StopRecordingByIdentityRequest(r) => {
                if !self.catalog.has_recording(r.recording_id) {
                    self.unknown_recording(session, correlation, r.recording_id);
                    return;
                }
                let subscription = self
                    .recordings
                    .iter()
                    .find(|rec| rec.recording_id == r.recording_id)
                    .map(|rec| rec.subscription_id);
                let stopped = match subscription {
                    Some(id) => self.stop_recording_subscription(id),
                    None => false,
                };
                self.ok(session, correlation, i64::from(stopped));
            }
            M::ListRecordingsRequest(r) => self.list(
                session,
                correlation,
                r.from_recording_id,
                r.record_count,
                None,
            ),
            M::ListRecordingsForUriRequest(r) => self.list(
                session,
                correlation,
                r.from_recording_id,
                r.record_count,
                Some((r.stream_id, r.channel)),
            ),
            M::ListRecordingRequest(r) => match self.catalog.recording(r.recording_id) {
                Ok(Some(entry)) => {
                    if let Ok(mut d) = entry.descriptor() {
                        d.control_session_id = session;
                        d.correlation_id = correlation;
                        let m = d.to_vec();
                        self.send(session, m);
                    }
                }
                _ => {
                    let m = control_response(
                        session,
                        correlation,
                        r.recording_id,
                        ControlResponseCode::RecordingUnknown,
                        "",
                    );
                    self.send(session, m);
                }
            },
            M::FindLastMatchingRecordingRequest(r) if r.min_recording_id < 0 => self.error(
                session,
                correlation,
                ArchiveErrorCode::UnknownRecording,
                &format!("minRecordingId={} < 0", r.min_recording_id),
            ),
            M::FindLastMatchingRecordingRequest(r) => {
                match self.catalog.find_last(
                    r.min_recording_id,
                    r.session_id,
                    r.stream_id,
                    r.channel,
                ) {
                    Ok(found) => self.ok(session, correlation, found.unwrap_or(NULL_POSITION)),
                    Err(e) => self.error(
                        session,
                        correlation,
                        ArchiveErrorCode::Generic,
                        &e.to_string(),
                    ),
                }
            }
            M::ListRecordingSubscriptionsRequest(r) => self.list_subscriptions(
                session,
                correlation,
                r.pseudo_index,
                r.subscription_count,
                r.apply_stream_id == BooleanType::True,
                r.stream_id,
                r.channel,
            ),
            M::RecordingPositionRequest(r) => {
                if !self.catalog.has_recording(r.recording_id) {
                    return self.unknown_recording(session, correlation, r.recording_id);
                }
                let position = self.live_position(r.recording_id).unwrap_or(NULL_POSITION);
                self.ok(session, correlation, position);
            }
            M::StopPositionRequest(r) => match self.catalog.stop_position(r.recording_id) {
                Ok(p) => self.ok(session, correlation, p),
                Err(_) => self.unknown_recording(session, correlation, r.recording_id),
            },
            M::StartPositionRequest(r) => match self.catalog.start_position(r.recording_id) {
                Ok(p) => self.ok(session, correlation, p),
                Err(_) => self.unknown_recording(session, correlation, r.recording_id),
            },
            M::MaxRecordedPositionRequest(r) => match self.live_position(r.recording_id) {
                Some(p) => self.ok(session, correlation, p),
                None => match self.catalog.stop_position(r.recording_id) {
                    Ok(p) => self.ok(session, correlation, p),
                    Err(_) => self.unknown_recording(session, correlation, r.recording_id),
                },
            },
            M::ReplayRequest(r)
                if !self.replay_token_allows(
                    session,
                    correlation,
                    r.recording_id,
                    r.replay_token,
                    r.replay_channel,
                ) => {}
            M::BoundedReplayRequest(r)
                if !self.replay_token_allows(
                    session,
                    correlation,
                    r.recording_id,
                    r.replay_token,
                    r.replay_channel,
                ) => {}
            M::ReplayRequest(r) => self.start_replay(
                session,
                correlation,
                r.recording_id,
                r.position,
                r.length,
                r.replay_stream_id,
                r.file_io_max_length,
                r.replay_channel,
            ),
            M::BoundedReplayRequest(r) => {
                self.bound_counter = Some(r.limit_counter_id);
                self.start_replay(
                    session,
                    correlation,
                    r.recording_id,
                    r.position,
                    r.length,
                    r.replay_stream_id,
                    r.file_io_max_length,
                    r.replay_channel,
                );
                self.bound_counter = None;
            }
            M::StopReplayRequest(r) => {
                self.replays
                    .retain(|p| p.replay_session_id != r.replay_session_id);
                self.ok(session, correlation, 0);
            }
            M::StopAllReplaysRequest(r) => {
                self.replays.retain(|p| {
                    r.recording_id != NULL_RECORDING_ID && p.recording_id != r.recording_id
                });
                self.ok(session, correlation, 0);
            }
            M::TruncateRecordingRequest(r) => {
                self.truncate(session, correlation, r.recording_id, r.position)
            }
            M::PurgeRecordingRequest(r) => self.purge(session, correlation, r.recording_id),
            M::ReplicateRequest2(r) => self.start_replication(
                session,
                correlation,
                ReplicationRequest {
                    src_recording_id: r.src_recording_id,
                    dst_recording_id: r.dst_recording_id,
                    stop_position: r.stop_position,
                    src_control_stream_id: r.src_control_stream_id,
                    src_control_channel: r.src_control_channel,
                    replication_channel: r.replication_channel,
                    live_destination: r.live_destination,
                },
            ),
            M::TaggedReplicateRequest(r) => self.start_replication(
                session,
                correlation,
                ReplicationRequest::following(
                    r.src_recording_id,
                    r.dst_recording_id,
                    r.src_control_stream_id,
                    r.src_control_channel,
                    r.live_destination,
                ),
            ),
            M::ReplicateRequest(r) => self.start_replication(
                session,
                correlation,
                ReplicationRequest::following(
                    r.src_recording_id,
                    r.dst_recording_id,
                    r.src_control_stream_id,
                    r.src_control_channel,
                    r.live_destination,
                ),
            ),
            M::UpdateChannelRequest(r) => {
                if !self.catalog.has_recording(r.recording_id) {
                    return self.unknown_recording(session, correlation, r.recording_id);
                }
                let stripped = match ChannelUri::parse(r.channel) {
                    Ok(uri) => strip_channel(&uri),
                    Err(e) => {
                        return self.error(
                            session,
                            correlation,
                            ArchiveErrorCode::Generic,
                            &format!("invalid channel {:?}: {e}", r.channel),
                        )
                    }
                };
                match self
                    .catalog
                    .replace_channels(r.recording_id, &stripped, r.channel)
                {
                    Ok(()) => self.ok(session, correlation, 0),
                    Err(e) => self.error(
                        session,
                        correlation,
                        ArchiveErrorCode::Generic,
                        &format!("update channel of recording {}: {e}", r.recording_id),
                    ),
                }
            }
            M::MigrateSegmentsRequest(r) => {
                self.migrate_segments(session, correlation, r.src_recording_id, r.dst_recording_id)
            }
            M::StopReplicationRequest(r) => {
                match self
                    .replications
                    .iter()
                    .position(|p| p.replication_id == r.replication_id)
                {
                    Some(i) => {
                        let replication = self.replications.remove(i);
                        self.end_replication(replication, None);
                        self.ok(session, correlation, 0);
                    }
                    None => self.error(
                        session,
                        correlation,
                        ArchiveErrorCode::UnknownReplication,
                        &format!("unknown replication id {}", r.replication_id),
                    ),
                }
            }
            M::DetachSegmentsRequest(r) => {
                if self.valid_detach(session, correlation, r.recording_id, r.new_start_position) {
                    let _ = self
                        .catalog
                        .set_start_position(r.recording_id, r.new_start_position);
                    self.ok(session, correlation, 0);
                }
            }
            M::DeleteDetachedSegmentsRequest(r) => {
                self.delete_detached(session, correlation, r.recording_id, None)
            }
            M::PurgeSegmentsRequest(r) => {
                if self.valid_detach(session, correlation, r.recording_id, r.new_start_position) {
                    self.delete_detached(
                        session,
                        correlation,
                        r.recording_id,
                        Some(r.new_start_position),
                    );
                }
            }
            M::AttachSegmentsRequest(r) => self.attach(session, correlation, r.recording_id),
            M::ReplayTokenRequest(r) => {
                let token = self.generate_replay_token(session, r.recording_id);
                self.ok(session, correlation, token);
            }
            other => {
                let name = other.name();
                self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::Generic,
                    &format!("{name} is not supported by this archive"),
                );
            }
        }
    }

    /// The value of an allocated counter of the driver.
    fn counter_value(&self, counter_id: i32) -> Option<i64> {
        let counters = self.aeron.counters_reader();
        let allocated = counters.counter_state(counter_id).ok()? == RECORD_ALLOCATED;
        allocated
            .then(|| counters.counter_value(counter_id).ok())
            .flatten()
    }

    fn live_position(&self, recording_id: i64) -> Option<i64> {
        self.recordings
            .iter()
            .find(|r| r.recording_id == recording_id)
            .map(|r| r.recorded_position())
    }

    fn list(
        &mut self,
        session: i64,
        correlation: i64,
        from: i64,
        count: i32,
        filter: Option<(i32, &str)>,
    ) {
        let limit = usize::try_from(count).unwrap_or(0);
        let mut sent = 0;
        let mut next = from.max(0);
        let entries = self
            .catalog
            .list_from(from.max(0), usize::MAX)
            .unwrap_or_default();
        let mut messages = Vec::new();
        for entry in &entries {
            if sent >= limit {
                break;
            }
            next = entry.recording_id() + 1;
            let Ok(mut d) = entry.descriptor() else {
                continue;
            };
            if let Some((stream_id, fragment)) = filter {
                if d.stream_id != stream_id || !d.original_channel.contains(fragment) {
                    continue;
                }
            }
            d.control_session_id = session;
            d.correlation_id = correlation;
            messages.push(d.to_vec());
            sent += 1;
        }
        for m in messages {
            self.send(session, m);
        }
        if sent < limit || limit == 0 {
            let m = control_response(
                session,
                correlation,
                next,
                ControlResponseCode::RecordingUnknown,
                "",
            );
            self.send(session, m);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn list_subscriptions(
        &mut self,
        session: i64,
        correlation: i64,
        pseudo_index: i32,
        count: i32,
        apply_stream_id: bool,
        stream_id: i32,
        fragment: &str,
    ) {
        let total = self.recording_subscriptions.len();
        if pseudo_index < 0 || pseudo_index as usize >= total || count <= 0 {
            let m = control_response(
                session,
                correlation,
                0,
                ControlResponseCode::SubscriptionUnknown,
                "",
            );
            return self.send(session, m);
        }
        let matching: Vec<Vec<u8>> = self
            .recording_subscriptions
            .iter()
            .skip(pseudo_index as usize)
            .filter(|s| {
                (!apply_stream_id || s.stream_id == stream_id)
                    && s.subscribed_channel.contains(fragment)
            })
            .take(usize::try_from(count).unwrap_or(0))
            .map(|s| {
                RecordingSubscriptionDescriptor {
                    control_session_id: session,
                    correlation_id: correlation,
                    subscription_id: s.registration_id,
                    stream_id: s.stream_id,
                    stripped_channel: &s.subscribed_channel,
                }
                .to_vec()
            })
            .collect();
        let sent = matching.len();
        for m in matching {
            self.send(session, m);
        }
        if sent < usize::try_from(count).unwrap_or(0) {
            let m = control_response(
                session,
                correlation,
                0,
                ControlResponseCode::SubscriptionUnknown,
                "",
            );
            self.send(session, m);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn start_recording(
        &mut self,
        session: i64,
        correlation: i64,
        stream_id: i32,
        source_location: SourceLocation,
        channel: &str,
        auto_stop: bool,
        extend: Option<i64>,
    ) {
        match self.add_recording_subscription(
            session,
            correlation,
            stream_id,
            source_location,
            channel,
            auto_stop,
            extend,
        ) {
            Ok(subscription_id) => self.ok(session, correlation, subscription_id),
            Err((code, message)) => self.error(session, correlation, code, &message),
        }
    }

    /// Subscribes to record (or extend a recording with) `channel`/`stream_id`; returns the subscription's
    /// registration id.
    #[allow(clippy::too_many_arguments)]
    fn add_recording_subscription(
        &mut self,
        session: i64,
        correlation: i64,
        stream_id: i32,
        source_location: SourceLocation,
        channel: &str,
        auto_stop: bool,
        extend: Option<i64>,
    ) -> Result<i64, (ArchiveErrorCode, String)> {
        let uri = ChannelUri::parse(channel)
            .map_err(|e| (ArchiveErrorCode::Generic, format!("invalid channel: {e}")))?;
        if self.recordings.len() >= self.ctx.max_concurrent_recordings {
            return Err((
                ArchiveErrorCode::MaxRecordings,
                format!(
                    "max concurrent recordings reached {}",
                    self.ctx.max_concurrent_recordings
                ),
            ));
        }
        if let Some(recording_id) = extend {
            if !self.catalog.has_recording(recording_id) {
                return Err((
                    ArchiveErrorCode::UnknownRecording,
                    format!("unknown recording id: {recording_id}"),
                ));
            }
            if self.live_position(recording_id).is_some() {
                return Err((
                    ArchiveErrorCode::ActiveRecording,
                    format!("cannot extend active recording {recording_id}"),
                ));
            }
        }
        let stripped = strip_channel(&uri);
        if self
            .recording_subscriptions
            .iter()
            .any(|s| s.stripped_channel == stripped && s.stream_id == stream_id)
        {
            return Err((
                ArchiveErrorCode::ActiveSubscription,
                format!("recording exists for streamId={stream_id} channel={channel}"),
            ));
        }
        let subscribe_to = recording_subscription_channel(&uri, source_location);
        let subscription = self
            .aeron
            .add_subscription(&subscribe_to, stream_id)
            .map_err(|e| (ArchiveErrorCode::Generic, aeron_message(&e)))?;
        let registration_id = subscription.registration_id();
        self.recording_subscriptions.push(RecordingSubscription {
            subscription,
            registration_id,
            stripped_channel: stripped,
            original_channel: channel.to_string(),
            subscribed_channel: subscribe_to,
            stream_id,
            control_session_id: session,
            correlation_id: correlation,
            auto_stop,
            extend_recording_id: extend,
            seen_images: Vec::new(),
        });
        Ok(registration_id)
    }

    /// Closes a recording subscription and stops its recordings; `false` when there is no such subscription.
    fn stop_recording_subscription(&mut self, subscription_id: i64) -> bool {
        let Some(index) = self
            .recording_subscriptions
            .iter()
            .position(|s| s.registration_id == subscription_id)
        else {
            return false;
        };
        let subscription = self.recording_subscriptions.remove(index);
        let mut i = 0;
        while i < self.recordings.len() {
            if self.recordings[i].subscription_id == subscription_id {
                let mut recording = self.recordings.remove(i);
                while let Ok(n) = recording.do_work() {
                    if n == 0 {
                        break;
                    }
                }
                self.finish_recording(recording, None);
            } else {
                i += 1;
            }
        }
        drop(subscription);
        true
    }

    fn finish_recording(&mut self, recording: RecordingSession, failure: Option<String>) {
        let position = recording.recorded_position();
        if let Some(reason) = failure {
            self.report(&format!(
                "recording {} stopped: {reason}",
                recording.recording_id
            ));
        }
        let _ = self
            .catalog
            .recording_stopped(recording.recording_id, position, now_ms());
        let RecordingSession {
            recording_id,
            subscription_id,
            control_session_id,
            correlation_id,
            start_position,
            writer,
            ..
        } = recording;
        let _ = writer.close();
        self.event(
            RecordingStopped {
                recording_id,
                start_position,
                stop_position: position,
            }
            .to_vec(),
        );
        self.signal(
            control_session_id,
            correlation_id,
            recording_id,
            subscription_id,
            position,
            RecordingSignal::Stop,
        );
    }

    fn discover_images(&mut self) -> usize {
        let mut new_images = Vec::new();
        for (index, s) in self.recording_subscriptions.iter_mut().enumerate() {
            for image in s.subscription.images() {
                if !s.seen_images.contains(&image.correlation_id()) {
                    s.seen_images.push(image.correlation_id());
                    new_images.push((index, Arc::clone(image)));
                }
            }
        }
        let work = new_images.len();
        for (index, image) in new_images {
            if let Err(message) = self.start_recording_session(index, image) {
                let s = &self.recording_subscriptions[index];
                let (session, correlation) = (s.control_session_id, s.correlation_id);
                self.report(&message);
                self.error(session, correlation, ArchiveErrorCode::Generic, &message);
            }
        }
        work
    }

    fn start_recording_session(
        &mut self,
        index: usize,
        image: Arc<oxeron_client::Image>,
    ) -> Result<(), String> {
        let s = &self.recording_subscriptions[index];
        let (session, correlation, subscription_id, auto_stop) = (
            s.control_session_id,
            s.correlation_id,
            s.registration_id,
            s.auto_stop,
        );
        let stream_id = s.stream_id;
        let stripped = s.stripped_channel.clone();
        let original = s.original_channel.clone();
        let join = image.join_position();
        let (recording_id, start_position, signal) = match s.extend_recording_id {
            Some(recording_id) => {
                let entry = self
                    .catalog
                    .recording(recording_id)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("unknown recording id: {recording_id}"))?;
                let d = entry.descriptor().map_err(|e| e.to_string())?;
                if d.stop_position != join
                    || d.initial_term_id != image.initial_term_id()
                    || d.term_buffer_length != image.term_buffer_length()
                    || d.mtu_length != image.mtu_length()
                    || d.stream_id != stream_id
                {
                    return Err(format!(
                        "cannot extend recording {recording_id}: image joinPosition={join} initialTermId={} termBufferLength={} mtuLength={} do not match stopPosition={} initialTermId={} termBufferLength={} mtuLength={}",
                        image.initial_term_id(),
                        image.term_buffer_length(),
                        image.mtu_length(),
                        d.stop_position,
                        d.initial_term_id,
                        d.term_buffer_length,
                        d.mtu_length
                    ));
                }
                let start = d.start_position;
                self.catalog
                    .recording_stopped(recording_id, NULL_POSITION, NULL_POSITION)
                    .map_err(|e| e.to_string())?;
                (recording_id, start, RecordingSignal::Extend)
            }
            None => {
                let id = self
                    .catalog
                    .add_recording(&NewRecording {
                        start_position: join,
                        start_timestamp: now_ms(),
                        initial_term_id: image.initial_term_id(),
                        segment_file_length: self
                            .ctx
                            .segment_file_length
                            .max(image.term_buffer_length()),
                        term_buffer_length: image.term_buffer_length(),
                        mtu_length: image.mtu_length(),
                        session_id: image.session_id(),
                        stream_id,
                        stripped_channel: &stripped,
                        original_channel: &original,
                        source_identity: image.source_identity(),
                    })
                    .map_err(|e| e.to_string())?;
                (id, join, RecordingSignal::Start)
            }
        };
        let segment_length = self
            .catalog
            .recording(recording_id)
            .ok()
            .flatten()
            .and_then(|e| e.descriptor().ok().map(|d| d.segment_file_length))
            .unwrap_or(self.ctx.segment_file_length);
        let writer = SegmentWriter::new(
            &self.ctx.archive_dir,
            recording_id,
            start_position,
            join,
            image.term_buffer_length(),
            segment_length,
            self.ctx.file_sync_level,
        )
        .map_err(|e| e.to_string())?;
        let (key, label) = super::channel::recording_position_key(
            recording_id,
            image.session_id(),
            image.source_identity(),
            self.archive_id,
            stream_id,
            &stripped,
        );
        let counter = self
            .aeron
            .add_counter(RECORDING_POSITION_TYPE_ID, &key, &label)
            .map_err(|e| aeron_message(&e))?;
        let recording = RecordingSession::new(
            recording_id,
            subscription_id,
            session,
            correlation,
            auto_stop,
            Arc::clone(&image),
            writer,
            counter,
            self.ctx.file_io_max_length,
        );
        self.recordings.push(recording);
        if signal == RecordingSignal::Start {
            self.event(
                RecordingStarted {
                    recording_id,
                    start_position,
                    session_id: image.session_id(),
                    stream_id,
                    channel: &original,
                    source_identity: image.source_identity(),
                }
                .to_vec(),
            );
        }
        self.signal(
            session,
            correlation,
            recording_id,
            subscription_id,
            join,
            signal,
        );
        Ok(())
    }

    fn drive_recordings(&mut self) -> usize {
        let mut work = 0;
        let mut i = 0;
        while i < self.recordings.len() {
            match self.recordings[i].do_work() {
                Ok(n) => {
                    work += n;
                    let r = &mut self.recordings[i];
                    let position = r.recorded_position();
                    if self.events.is_some() && position > r.progress_reported {
                        r.progress_reported = position;
                        let m = RecordingProgress {
                            recording_id: r.recording_id,
                            start_position: r.start_position,
                            position,
                        }
                        .to_vec();
                        self.event(m);
                    }
                    i += 1;
                }
                Err(end) => {
                    let recording = self.recordings.remove(i);
                    let auto_stop = recording.auto_stop;
                    let subscription_id = recording.subscription_id;
                    let failure = match end {
                        RecordingEnd::ImageClosed => None,
                        RecordingEnd::Storage(e) => Some(e.to_string()),
                    };
                    self.finish_recording(recording, failure);
                    let extension = self.recording_subscriptions.iter().any(|s| {
                        s.registration_id == subscription_id && s.extend_recording_id.is_some()
                    });
                    if auto_stop || extension {
                        self.stop_recording_subscription(subscription_id);
                    }
                    work += 1;
                }
            }
        }
        work
    }

    fn generate_replay_token(&mut self, control_session_id: i64, recording_id: i64) -> i64 {
        let token = loop {
            let mut x = self.token_seed;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.token_seed = x;
            let token = x as i64;
            if token != NULL_POSITION && self.replay_tokens.iter().all(|t| t.token != token) {
                break token;
            }
        };
        self.replay_tokens.push(ReplayToken {
            token,
            recording_id,
            control_session_id,
            deadline: Instant::now() + self.ctx.connect_timeout,
        });
        token
    }

    /// Java's rule for a replay request with a token: only on a response channel (`control-mode=response`)
    /// does the token count, and then it must be live and issued for this recording. This archive's driver
    /// has no response channels, so a valid token gets a clear error instead of a replay. False when the
    /// request was answered here.
    fn replay_token_allows(
        &mut self,
        session: i64,
        correlation: i64,
        recording_id: i64,
        token: i64,
        channel: &str,
    ) -> bool {
        let response_mode = ChannelUri::parse(channel)
            .ok()
            .and_then(|uri| uri.get("control-mode").map(|mode| mode == "response"))
            .unwrap_or(false);
        if !response_mode || token == NULL_POSITION {
            return true;
        }
        let now = Instant::now();
        let valid = self
            .replay_tokens
            .iter()
            .any(|t| t.token == token && t.recording_id == recording_id && now < t.deadline);
        let message = if valid {
            "replays on response channels (control-mode=response) are not supported by this archive"
                .to_string()
        } else {
            format!("Unknown session or token timeout for replayToken={token}")
        };
        self.error(session, correlation, ArchiveErrorCode::Generic, &message);
        false
    }

    #[allow(clippy::too_many_arguments)]
    fn start_replay(
        &mut self,
        session: i64,
        correlation: i64,
        recording_id: i64,
        position: i64,
        length: i64,
        replay_stream_id: i32,
        file_io_max_length: i32,
        channel: &str,
    ) {
        if self.replays.len() >= self.ctx.max_concurrent_replays {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::MaxReplays,
                &format!(
                    "max concurrent replays reached {}",
                    self.ctx.max_concurrent_replays
                ),
            );
        }
        let entry = match self.catalog.recording(recording_id) {
            Ok(Some(entry)) => entry,
            _ => return self.unknown_recording(session, correlation, recording_id),
        };
        let Ok(d) = entry.descriptor() else {
            return self.unknown_recording(session, correlation, recording_id);
        };
        let bound = self.bound_counter;
        let live = match bound {
            Some(counter_id) => match self.counter_value(counter_id) {
                Some(value) => Some(value),
                None => {
                    return self.error(
                        session,
                        correlation,
                        ArchiveErrorCode::Generic,
                        &format!("unknown limit counter id {counter_id}"),
                    )
                }
            },
            None => self.live_position(recording_id),
        };
        let start = d.start_position;
        let stop = live.unwrap_or(d.stop_position);
        let mut from = start;
        if position != NULL_POSITION {
            if position & 31 != 0 {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::Generic,
                    &format!("requested replay start position={position} is not a multiple of FRAME_ALIGNMENT (32) for recording {recording_id}"),
                );
            }
            if position < start {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::InvalidPosition,
                    &format!("requested replay start position={position} is less than recording start position={start} for recording {recording_id}"),
                );
            }
            if (live.is_none() && position >= stop) || position > stop {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::InvalidPosition,
                    &format!("requested replay start position={position} must be less than the limit position={stop} for recording {recording_id}"),
                );
            }
            from = position;
        }
        let limit = if length == REPLAY_ALL_AND_STOP {
            if stop == from {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::EmptyRecording,
                    &format!("when replaying and stopping the replay length must be non-zero, recordingId={recording_id}"),
                );
            }
            ReplayLimit::Position(stop)
        } else if length == REPLAY_ALL_AND_FOLLOW {
            if live.is_some() {
                ReplayLimit::FollowRecording { cap: i64::MAX }
            } else {
                ReplayLimit::Position(stop)
            }
        } else if length < 0 {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::Generic,
                &format!("replay length must be positive: length={length}, stopPosition={stop}, replayPosition={from} for recording {recording_id}"),
            );
        } else {
            let end = from.saturating_add(length);
            if live.is_some() {
                ReplayLimit::FollowRecording { cap: end }
            } else {
                ReplayLimit::Position(end.min(stop))
            }
        };
        let uri = match ChannelUri::parse(channel) {
            Ok(uri) => uri,
            Err(e) => {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::Generic,
                    &format!("invalid replay channel: {e}"),
                )
            }
        };
        let mut reader = match SegmentReader::new(
            &self.ctx.archive_dir,
            recording_id,
            start,
            d.term_buffer_length,
            d.segment_file_length,
            from,
            stop,
        ) {
            Ok(r) => r,
            Err(e) => {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::Generic,
                    &e.to_string(),
                )
            }
        };
        // The disk reads the replay's first bytes while the driver sets up the replay publication.
        reader.start_read_ahead();
        let replay_uri = replay_channel(&uri, &d, from);
        let publication = match self
            .aeron
            .add_exclusive_publication(&replay_uri, replay_stream_id)
        {
            Ok(p) => p,
            Err(e) => {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::Generic,
                    &aeron_message(&e),
                )
            }
        };
        let replay_id = self.next_replay_id;
        self.next_replay_id += 1;
        let replay_session_id = (replay_id << 32) | i64::from(publication.session_id() as u32);
        let io = if file_io_max_length > 0 {
            file_io_max_length as usize
        } else {
            self.ctx.file_io_max_length
        };
        let mut replay = ReplaySession::new(
            replay_session_id,
            recording_id,
            bound,
            limit,
            publication,
            reader,
            Instant::now() + self.ctx.connect_timeout,
            io,
        );
        replay.requested_by = (session, correlation);
        replay.channel = format!("{channel}, replayStreamId={replay_stream_id}");
        self.replays.push(replay);
        self.ok(session, correlation, replay_session_id);
    }

    fn drive_replays(&mut self, now: Instant) -> usize {
        let mut work = 0;
        let mut i = 0;
        while i < self.replays.len() {
            let recording_id = self.replays[i].recording_id;
            let recorded = self.live_position(recording_id);
            let live = match self.replays[i].bound_counter {
                // A bounded replay follows its counter, never past what was recorded.
                Some(counter_id) => self.counter_value(counter_id).map(|bound| {
                    let available = recorded.unwrap_or_else(|| {
                        self.catalog
                            .stop_position(recording_id)
                            .unwrap_or(NULL_POSITION)
                    });
                    bound.min(available)
                }),
                None => recorded,
            };
            let stop = self
                .catalog
                .stop_position(recording_id)
                .unwrap_or(NULL_POSITION);
            match self.replays[i].do_work(now, live, stop, &mut self.replay_buffer) {
                Ok(n) => {
                    work += n;
                    i += 1;
                }
                Err(end) => {
                    let replay = self.replays.remove(i);
                    let (session, correlation) = replay.requested_by;
                    let failure = match end {
                        ReplayEnd::Storage(e) => Some(format!("{e}, recordingId={recording_id}")),
                        ReplayEnd::NotConnected => Some(format!(
                            "no connection established for replayChannel={}",
                            replay.channel
                        )),
                        ReplayEnd::Complete
                        | ReplayEnd::SubscriberLeft
                        | ReplayEnd::PublicationClosed => None,
                    };
                    if let Some(message) = failure {
                        self.report(&format!(
                            "replay of recording {recording_id} failed: {message}"
                        ));
                        self.error(session, correlation, ArchiveErrorCode::Generic, &message);
                    }
                    work += 1;
                }
            }
        }
        work
    }

    fn truncate(&mut self, session: i64, correlation: i64, recording_id: i64, position: i64) {
        let Ok(Some(entry)) = self.catalog.recording(recording_id) else {
            return self.unknown_recording(session, correlation, recording_id);
        };
        let Ok(d) = entry.descriptor() else {
            return self.unknown_recording(session, correlation, recording_id);
        };
        if let Err(message) = self.check_inactive(recording_id, "truncate") {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::ActiveRecording,
                &message,
            );
        }
        if position < d.start_position || position > d.stop_position || position % 32 != 0 {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::InvalidPosition,
                &format!(
                    "invalid position {position}: start={} stop={} alignment=32",
                    d.start_position, d.stop_position
                ),
            );
        }
        let _ = self.catalog.set_stop_position(recording_id, position);
        match crate::segment::truncate_recording(
            &self.ctx.archive_dir,
            recording_id,
            d.start_position,
            d.term_buffer_length,
            d.segment_file_length,
            position,
        ) {
            Ok(deleted) => {
                self.ok(session, correlation, deleted as i64);
                self.signal(
                    session,
                    correlation,
                    recording_id,
                    NULL_POSITION,
                    NULL_POSITION,
                    RecordingSignal::Delete,
                );
            }
            Err(e) => self.error(
                session,
                correlation,
                ArchiveErrorCode::Generic,
                &e.to_string(),
            ),
        }
    }

    /// Files of a recording may change only while it is neither recorded nor replayed.
    fn check_inactive(&self, recording_id: i64, action: &str) -> Result<(), String> {
        if self.live_position(recording_id).is_some() {
            return Err(format!("cannot {action} active recording {recording_id}"));
        }
        if self.replays.iter().any(|r| r.recording_id == recording_id) {
            return Err(format!(
                "cannot {action} recording {recording_id} while it is replayed"
            ));
        }
        Ok(())
    }

    fn purge(&mut self, session: i64, correlation: i64, recording_id: i64) {
        if !self.catalog.has_recording(recording_id) {
            return self.unknown_recording(session, correlation, recording_id);
        }
        if let Err(message) = self.check_inactive(recording_id, "purge") {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::ActiveRecording,
                &message,
            );
        }
        if let Err(e) = self
            .catalog
            .change_state(recording_id, RecordingState::Deleted)
        {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::Generic,
                &e.to_string(),
            );
        }
        match crate::segment::delete_segments(&self.ctx.archive_dir, recording_id) {
            Ok(deleted) => self.ok(session, correlation, deleted as i64),
            Err(e) => {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::Generic,
                    &e.to_string(),
                )
            }
        }
        self.signal(
            session,
            correlation,
            recording_id,
            NULL_POSITION,
            NULL_POSITION,
            RecordingSignal::Delete,
        );
    }

    fn start_replication(
        &mut self,
        session: i64,
        correlation: i64,
        request: ReplicationRequest<'_>,
    ) {
        let ReplicationRequest {
            src_recording_id,
            dst_recording_id,
            stop_position,
            src_control_stream_id,
            src_control_channel,
            replication_channel,
            live_destination,
        } = request;
        if dst_recording_id != NULL_RECORDING_ID {
            if !self.catalog.has_recording(dst_recording_id) {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::UnknownRecording,
                    &format!("unknown destination recording id {dst_recording_id}"),
                );
            }
            let stopped = self
                .catalog
                .stop_position(dst_recording_id)
                .unwrap_or(NULL_POSITION);
            if stopped == NULL_POSITION || self.live_position(dst_recording_id).is_some() {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::ActiveRecording,
                    &format!("cannot replicate to active recording {dst_recording_id}"),
                );
            }
        }
        let replication_channel = if replication_channel.is_empty() {
            self.ctx.replication_channel.clone()
        } else {
            replication_channel.to_string()
        };
        let response_channel = if src_control_channel.starts_with("aeron:ipc") {
            "aeron:ipc".to_string()
        } else {
            replication_channel.clone()
        };
        let client = ArchiveClientContext::new()
            .aeron(self.aeron.clone())
            .control_request_channel(src_control_channel)
            .control_request_stream_id(src_control_stream_id)
            .control_response_channel(response_channel)
            .message_timeout(self.ctx.connect_timeout * 2)
            .client_name(format!("replication of {src_recording_id}"));
        let connect = match AeronArchive::async_connect(client) {
            Ok(c) => c,
            Err(e) => {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::Generic,
                    &e.to_string(),
                )
            }
        };
        let replication_id = self.aeron.next_correlation_id();
        self.replications.push(ReplicationSession {
            replication_id,
            control_session_id: session,
            src_recording_id,
            dst_recording_id,
            stop_position,
            replication_channel,
            step: ReplicationStep::Connect(Box::new(connect)),
            src: None,
            descriptor: None,
            replay_session_id: 0,
            subscription_id: NULL_POSITION,
            recording_seen: false,
            deadline: Instant::now() + self.ctx.connect_timeout * 4,
            live_destination: live_destination.to_string(),
            replay_destination: None,
            src_recording_position: NULL_POSITION,
            src_replay_session_id: NULL_POSITION,
            position_request: None,
            live_added: false,
        });
        self.ok(session, correlation, replication_id);
    }

    fn drive_replications(&mut self, now: Instant) -> usize {
        let mut work = 0;
        let sessions = std::mem::take(&mut self.replications);
        for mut replication in sessions {
            // Waiting on a replication is not work: the archive may still back off while it runs.
            match self.step_replication(&mut replication, now) {
                Ok(true) => {
                    self.end_replication(replication, None);
                    work += 1;
                }
                Ok(false) => self.replications.push(replication),
                Err(message) => {
                    self.end_replication(replication, Some(message));
                    work += 1;
                }
            }
        }
        work
    }

    /// Advances a replication; `Ok(true)` when it finished.
    fn step_replication(
        &mut self,
        r: &mut ReplicationSession,
        now: Instant,
    ) -> Result<bool, (ArchiveErrorCode, String)> {
        let failed = |e: ArchiveError| {
            (
                e.error_code()
                    .unwrap_or(ArchiveErrorCode::ReplicationConnectionFailure),
                e.to_string(),
            )
        };
        if now > r.deadline && !r.recording_seen {
            return Err((
                ArchiveErrorCode::Generic,
                format!("replication {} timed out", r.replication_id),
            ));
        }
        match &mut r.step {
            ReplicationStep::Connect(connect) => {
                if let Some(mut src) = connect.poll().map_err(failed)? {
                    let correlation = self.aeron.next_correlation_id();
                    src.send(
                        &ListRecordingRequest {
                            control_session_id: src.control_session_id(),
                            correlation_id: correlation,
                            recording_id: r.src_recording_id,
                        }
                        .to_vec(),
                    )
                    .map_err(failed)?;
                    r.src = Some(src);
                    r.step = ReplicationStep::Describe(correlation);
                }
            }
            ReplicationStep::Describe(correlation) => {
                let correlation = *correlation;
                let Some(src) = r.src.as_mut() else {
                    return Err((ArchiveErrorCode::Generic, "lost source".into()));
                };
                match src.take_descriptor(correlation).map_err(failed)? {
                    None => {}
                    Some(None) => {
                        return Err((
                            ArchiveErrorCode::UnknownRecording,
                            format!("unknown source recording id {}", r.src_recording_id),
                        ))
                    }
                    Some(Some(d)) => {
                        if r.dst_recording_id == NULL_RECORDING_ID {
                            let now_ms = now_ms();
                            let id = self
                                .catalog
                                .add_recording(&NewRecording {
                                    start_position: d.start_position,
                                    start_timestamp: now_ms,
                                    initial_term_id: d.initial_term_id,
                                    segment_file_length: d.segment_file_length,
                                    term_buffer_length: d.term_buffer_length,
                                    mtu_length: d.mtu_length,
                                    session_id: d.session_id,
                                    stream_id: d.stream_id,
                                    stripped_channel: &d.stripped_channel,
                                    original_channel: &d.original_channel,
                                    source_identity: &d.source_identity,
                                })
                                .map_err(|e| (ArchiveErrorCode::Generic, e.to_string()))?;
                            let _ = self.catalog.recording_stopped(id, d.start_position, now_ms);
                            r.dst_recording_id = id;
                            self.signal(
                                r.control_session_id,
                                r.replication_id,
                                id,
                                NULL_POSITION,
                                d.start_position,
                                RecordingSignal::Replicate,
                            );
                        }
                        r.descriptor = Some(d);
                        r.step = if r.live_destination.is_empty() {
                            ReplicationStep::Extend
                        } else {
                            let correlation =
                                request_recording_position(&self.aeron, src, r.src_recording_id)
                                    .map_err(failed)?;
                            ReplicationStep::SourcePosition(correlation)
                        };
                    }
                }
            }
            ReplicationStep::Extend => {
                let Some(d) = r.descriptor.as_ref() else {
                    return Err((ArchiveErrorCode::Generic, "no descriptor".into()));
                };
                let stream_id = d.stream_id;
                let merging = !r.live_destination.is_empty();
                // Merging needs the replay and the live stream in one image: the replay takes the live
                // stream's session id, as Java's replication does.
                r.replay_session_id = if merging {
                    d.session_id
                } else {
                    ((r.replication_id as i32) ^ 0x5A5A_0000) | 1
                };
                let mut uri = ChannelUri::parse(&r.replication_channel).map_err(|e| {
                    (
                        ArchiveErrorCode::Generic,
                        format!("replication channel: {e}"),
                    )
                })?;
                let _ = uri.set("rejoin", "false");
                let _ = uri.set("session-id", &r.replay_session_id.to_string());
                let channel = uri.to_string();
                let recording_channel = if merging {
                    let mut mds = uri.clone();
                    mds.remove("endpoint");
                    let _ = mds.set("control-mode", "manual");
                    mds.to_string()
                } else {
                    channel.clone()
                };
                r.subscription_id = self.add_recording_subscription(
                    r.control_session_id,
                    r.replication_id,
                    stream_id,
                    SourceLocation::Remote,
                    &recording_channel,
                    true,
                    Some(r.dst_recording_id),
                )?;
                if merging {
                    let endpoint = uri.get("endpoint").unwrap_or_default();
                    let destination = format!("aeron:udp?endpoint={endpoint}");
                    self.aeron
                        .add_rcv_destination(r.subscription_id, &destination)
                        .map_err(|e| {
                            (
                                ArchiveErrorCode::Generic,
                                format!("replay destination {destination}: {e}"),
                            )
                        })?;
                    r.replay_destination = Some(destination);
                }
                let channel = if merging {
                    let mut replay = uri.clone();
                    let _ = replay.set("linger", "0");
                    let _ = replay.set("eos", "false");
                    replay.to_string()
                } else {
                    channel
                };
                let position = self
                    .catalog
                    .stop_position(r.dst_recording_id)
                    .unwrap_or(d.start_position);
                let Some(src) = r.src.as_mut() else {
                    return Err((ArchiveErrorCode::Generic, "lost source".into()));
                };
                if r.stop_position != NULL_POSITION && r.stop_position < position {
                    return Err((
                        ArchiveErrorCode::Generic,
                        format!(
                            "stop position {} is before the replication's start {position}",
                            r.stop_position
                        ),
                    ));
                }
                let correlation = self.aeron.next_correlation_id();
                // Up to the stop position when one was given, else following the source recording.
                let length = if r.stop_position == NULL_POSITION {
                    NULL_POSITION
                } else {
                    r.stop_position - position
                };
                let params = ReplayParams::new(position, length);
                src.send(
                    &ReplayRequest {
                        control_session_id: src.control_session_id(),
                        correlation_id: correlation,
                        recording_id: r.src_recording_id,
                        position: params.position,
                        length: params.length,
                        replay_stream_id: stream_id,
                        file_io_max_length: params.file_io_max_length,
                        replay_token: params.replay_token,
                        replay_channel: &channel,
                    }
                    .to_vec(),
                )
                .map_err(failed)?;
                r.step = ReplicationStep::Replay(correlation);
            }
            ReplicationStep::Replay(correlation) => {
                let correlation = *correlation;
                let Some(src) = r.src.as_mut() else {
                    return Err((ArchiveErrorCode::Generic, "lost source".into()));
                };
                if let Some(ConnectReply::Accepted(replay_session_id)) =
                    src.take_connect_reply(correlation).map_err(failed)?
                {
                    r.src_replay_session_id = replay_session_id;
                    r.step = if r.live_destination.is_empty() {
                        ReplicationStep::Replicate
                    } else {
                        ReplicationStep::Catchup
                    };
                }
            }
            ReplicationStep::SourcePosition(correlation) => {
                let correlation = *correlation;
                let Some(src) = r.src.as_mut() else {
                    return Err((ArchiveErrorCode::Generic, "lost source".into()));
                };
                if let Some(ConnectReply::Accepted(position)) =
                    src.take_connect_reply(correlation).map_err(failed)?
                {
                    if position == NULL_POSITION {
                        return Err((
                            ArchiveErrorCode::Generic,
                            "cannot live merge without active source recording".into(),
                        ));
                    }
                    r.src_recording_position = position;
                    r.step = ReplicationStep::Extend;
                }
            }
            ReplicationStep::Catchup => {
                let Some(image) = self.replication_image(r) else {
                    return Ok(false);
                };
                r.recording_seen = true;
                if image.is_closed() {
                    return Err((
                        ArchiveErrorCode::Generic,
                        "replication image closed unexpectedly".into(),
                    ));
                }
                if image.position() >= r.src_recording_position {
                    r.step = ReplicationStep::AttemptLiveJoin;
                }
            }
            ReplicationStep::AttemptLiveJoin => {
                let Some(image) = self.replication_image(r) else {
                    return Err((
                        ArchiveErrorCode::Generic,
                        "replication image closed unexpectedly".into(),
                    ));
                };
                let Some(src) = r.src.as_mut() else {
                    return Err((ArchiveErrorCode::Generic, "lost source".into()));
                };
                let Some(correlation) = r.position_request else {
                    r.position_request = Some(
                        request_recording_position(&self.aeron, src, r.src_recording_id)
                            .map_err(failed)?,
                    );
                    return Ok(false);
                };
                let Some(ConnectReply::Accepted(live)) =
                    src.take_connect_reply(correlation).map_err(failed)?
                else {
                    return Ok(false);
                };
                r.position_request = None;
                if live == NULL_POSITION {
                    return Err((
                        ArchiveErrorCode::Generic,
                        "cannot live merge without active source recording".into(),
                    ));
                }
                r.src_recording_position = live;
                let position = image.position();
                let window = i64::from(image.term_buffer_length() >> 2).min(LIVE_ADD_MAX_WINDOW);
                if !r.live_added && live - position <= window {
                    self.aeron
                        .add_rcv_destination(r.subscription_id, &r.live_destination)
                        .map_err(|e| {
                            (
                                ArchiveErrorCode::Generic,
                                format!("live destination {}: {e}", r.live_destination),
                            )
                        })?;
                    r.live_added = true;
                } else if r.live_added && live <= position && image.active_transport_count() >= 2 {
                    if let Some(destination) = r.replay_destination.take() {
                        let _ = self
                            .aeron
                            .remove_rcv_destination(r.subscription_id, &destination);
                    }
                    let correlation = self.aeron.next_correlation_id();
                    let _ = src.send(
                        &StopReplayRequest {
                            control_session_id: src.control_session_id(),
                            correlation_id: correlation,
                            replay_session_id: r.src_replay_session_id,
                        }
                        .to_vec(),
                    );
                    self.signal(
                        r.control_session_id,
                        r.replication_id,
                        r.dst_recording_id,
                        r.subscription_id,
                        position,
                        RecordingSignal::Merge,
                    );
                    // The recording goes on from the live stream; only the replication ends.
                    r.subscription_id = NULL_POSITION;
                    return Ok(true);
                }
            }
            ReplicationStep::Replicate => {
                let active = self.live_position(r.dst_recording_id).is_some();
                let subscribed = self
                    .recording_subscriptions
                    .iter()
                    .any(|s| s.registration_id == r.subscription_id);
                if active {
                    r.recording_seen = true;
                } else if r.recording_seen || !subscribed {
                    let stop = self
                        .catalog
                        .stop_position(r.dst_recording_id)
                        .unwrap_or(NULL_POSITION);
                    self.signal(
                        r.control_session_id,
                        r.replication_id,
                        r.dst_recording_id,
                        NULL_POSITION,
                        stop,
                        RecordingSignal::Sync,
                    );
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The image a merging replication records: the one with the replay's session id on its recording
    /// subscription.
    fn replication_image(&mut self, r: &ReplicationSession) -> Option<Arc<Image>> {
        let subscription = self
            .recording_subscriptions
            .iter_mut()
            .find(|s| s.registration_id == r.subscription_id)?;
        subscription
            .subscription
            .image_by_session_id(r.replay_session_id)
    }

    fn end_replication(
        &mut self,
        r: ReplicationSession,
        failure: Option<(ArchiveErrorCode, String)>,
    ) {
        if r.subscription_id != NULL_POSITION {
            self.stop_recording_subscription(r.subscription_id);
        }
        if let Some((code, message)) = failure {
            self.error(r.control_session_id, r.replication_id, code, &message);
        }
        self.signal(
            r.control_session_id,
            r.replication_id,
            r.dst_recording_id,
            NULL_POSITION,
            NULL_POSITION,
            RecordingSignal::ReplicateEnd,
        );
        if let Some(src) = r.src {
            src.close();
        }
    }

    /// Java's detach rules: a segment boundary after the first segment, not past the segment being written
    /// or the stop, and not under a replay.
    fn valid_detach(
        &mut self,
        session: i64,
        correlation: i64,
        recording_id: i64,
        position: i64,
    ) -> bool {
        let Ok(Some(entry)) = self.catalog.recording(recording_id) else {
            self.unknown_recording(session, correlation, recording_id);
            return false;
        };
        let Ok(d) = entry.descriptor() else {
            self.unknown_recording(session, correlation, recording_id);
            return false;
        };
        let (start, term, segment) = (
            d.start_position,
            d.term_buffer_length,
            d.segment_file_length,
        );
        let base = |p: i64| segment_file_base_position(start, p, term, segment);
        let lower = base(start) + i64::from(segment);
        let end = base(self.live_position(recording_id).unwrap_or(d.stop_position));
        let message = if position != base(position) {
            format!("invalid segment start: newStartPosition={position}")
        } else if position < lower {
            format!("invalid detach: newStartPosition={position} lowerBound={lower}")
        } else if position > end {
            format!("invalid detach: in use, newStartPosition={position} upperBound={end}")
        } else if self
            .replays
            .iter()
            .any(|r| r.recording_id == recording_id && r.position() < position)
        {
            format!("invalid detach: replay in progress - newStartPosition={position}")
        } else {
            return true;
        };
        self.error(session, correlation, ArchiveErrorCode::Generic, &message);
        false
    }

    /// Deletes the segment files before the recording's start (after moving the start to `new_start`).
    fn delete_detached(
        &mut self,
        session: i64,
        correlation: i64,
        recording_id: i64,
        new_start: Option<i64>,
    ) {
        let Ok(Some(entry)) = self.catalog.recording(recording_id) else {
            return self.unknown_recording(session, correlation, recording_id);
        };
        let Ok(d) = entry.descriptor() else {
            return self.unknown_recording(session, correlation, recording_id);
        };
        let start = new_start.unwrap_or(d.start_position);
        if new_start.is_some() {
            let _ = self.catalog.set_start_position(recording_id, start);
        }
        let first_kept =
            segment_file_base_position(start, start, d.term_buffer_length, d.segment_file_length);
        let files =
            crate::segment::segment_files(&self.ctx.archive_dir, recording_id).unwrap_or_default();
        let mut deleted = 0;
        for (base, path) in files {
            if base < first_kept {
                if let Err(e) = std::fs::remove_file(&path) {
                    return self.error(
                        session,
                        correlation,
                        ArchiveErrorCode::Generic,
                        &format!("unable to delete segment file: {}: {e}", path.display()),
                    );
                }
                deleted += 1;
            }
        }
        self.ok(session, correlation, deleted);
        self.signal(
            session,
            correlation,
            recording_id,
            NULL_POSITION,
            NULL_POSITION,
            RecordingSignal::Delete,
        );
    }

    /// Java's migrate: moves the segment files of a stopped recording (`src`) to `dst`, which continues it or
    /// is continued by it with the same stream parameters, joined on a segment boundary of both. `dst` then
    /// covers both ranges and `src` is left empty. Answers with the number of files moved.
    fn migrate_segments(&mut self, session: i64, correlation: i64, src_id: i64, dst_id: i64) {
        struct Summary {
            start_position: i64,
            stop_position: i64,
            segment_file_length: i32,
            term_buffer_length: i32,
            initial_term_id: i32,
            stream_id: i32,
            mtu_length: i32,
        }
        let descriptor = |conductor: &Self, id: i64| {
            let entry = conductor.catalog.recording(id).ok().flatten()?;
            let d = entry.descriptor().ok()?;
            Some(Summary {
                start_position: d.start_position,
                stop_position: d.stop_position,
                segment_file_length: d.segment_file_length,
                term_buffer_length: d.term_buffer_length,
                initial_term_id: d.initial_term_id,
                stream_id: d.stream_id,
                mtu_length: d.mtu_length,
            })
        };
        let Some(src) = descriptor(self, src_id) else {
            return self.unknown_recording(session, correlation, src_id);
        };
        let Some(dst) = descriptor(self, dst_id) else {
            return self.unknown_recording(session, correlation, dst_id);
        };
        if src.stop_position == NULL_POSITION || self.live_position(src_id).is_some() {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::ActiveRecording,
                &format!("recording {src_id} is still active"),
            );
        }
        let mismatch = [
            (
                "SegmentFileLength",
                src.segment_file_length,
                dst.segment_file_length,
            ),
            (
                "TermBufferLength",
                src.term_buffer_length,
                dst.term_buffer_length,
            ),
            ("InitialTermId", src.initial_term_id, dst.initial_term_id),
            ("StreamId", src.stream_id, dst.stream_id),
            ("MtuLength", src.mtu_length, dst.mtu_length),
        ]
        .into_iter()
        .find(|(_, a, b)| a != b);
        if let Some((name, a, b)) = mismatch {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::Generic,
                &format!("invalid migrate: src{name}={a} dst{name}={b}"),
            );
        }
        let src_before_dst = src.stop_position == dst.start_position;
        let join = if src_before_dst {
            src.stop_position
        } else if src.start_position == dst.stop_position {
            src.start_position
        } else {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::Generic,
                &format!(
                    "invalid migrate: src and dst are not contiguous srcStartPosition={} \
                     srcStopPosition={} dstStartPosition={} dstStopPosition={}",
                    src.start_position, src.stop_position, dst.start_position, dst.stop_position
                ),
            );
        };
        let (term, segment) = (src.term_buffer_length, src.segment_file_length);
        for (label, start) in [("src", src.start_position), ("dst", dst.start_position)] {
            if segment_file_base_position(start, join, term, segment) != join {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::Generic,
                    &format!(
                        "invalid migrate: join position is not on segment boundary of {label} \
                         recording seamPosition={join}"
                    ),
                );
            }
        }
        let dir = self.ctx.archive_dir.clone();
        let first =
            segment_file_base_position(src.start_position, src.start_position, term, segment);
        let last = segment_file_base_position(src.start_position, src.stop_position, term, segment);
        let bases: Vec<i64> = (first..=last).step_by(segment as usize).collect();
        // Check every file before moving any, as Java does.
        for &base in &bases {
            if base == src.stop_position {
                continue;
            }
            let from = dir.join(segment_file_name(src_id, base));
            let to = dir.join(segment_file_name(dst_id, base));
            let problem = if !from.exists() {
                Some(format!("missing src segment file {}", from.display()))
            } else if to.exists() {
                Some(format!("preexisting dst segment file {}", to.display()))
            } else {
                None
            };
            if let Some(message) = problem {
                return self.error(session, correlation, ArchiveErrorCode::Generic, &message);
            }
        }
        let mut moved = 0;
        let mut deleted = 0;
        for &base in &bases {
            let from = dir.join(segment_file_name(src_id, base));
            let outcome = if base == src.stop_position {
                // The empty segment a recording opens when it stops on a boundary: src no longer needs it.
                match std::fs::remove_file(&from) {
                    Ok(()) => {
                        deleted += 1;
                        Ok(())
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(format!("failed to delete {}: {e}", from.display())),
                }
            } else {
                let to = dir.join(segment_file_name(dst_id, base));
                std::fs::rename(&from, &to)
                    .map(|()| moved += 1)
                    .map_err(|e| {
                        format!(
                            "failed to rename {} to {}: {e}",
                            from.display(),
                            to.display()
                        )
                    })
            };
            if let Err(message) = outcome {
                return self.error(session, correlation, ArchiveErrorCode::Generic, &message);
            }
        }
        let _ = if src_before_dst {
            self.catalog.set_start_position(dst_id, src.start_position)
        } else {
            self.catalog.set_stop_position(dst_id, src.stop_position)
        };
        let _ = self.catalog.set_stop_position(src_id, src.start_position);
        let _ = self.ctx.file_sync_level.sync_dir(&dir);
        self.ok(session, correlation, moved);
        if moved > 0 || deleted > 0 {
            self.signal(
                session,
                correlation,
                src_id,
                NULL_POSITION,
                NULL_POSITION,
                RecordingSignal::Delete,
            );
        }
    }

    /// Re-attaches detached segment files still on disk in front of the recording's start.
    fn attach(&mut self, session: i64, correlation: i64, recording_id: i64) {
        let Ok(Some(entry)) = self.catalog.recording(recording_id) else {
            return self.unknown_recording(session, correlation, recording_id);
        };
        let Ok(d) = entry.descriptor() else {
            return self.unknown_recording(session, correlation, recording_id);
        };
        let segment = i64::from(d.segment_file_length);
        let mut position = d.start_position - segment;
        let mut start = d.start_position;
        let mut count = 0;
        while position >= 0 {
            let path = self
                .ctx
                .archive_dir
                .join(segment_file_name(recording_id, position));
            let Ok(bytes) = std::fs::read(&path) else {
                break;
            };
            if bytes.len() as i64 != segment {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::Generic,
                    &format!(
                        "fileLength={} not equal to segmentLength={segment}",
                        bytes.len()
                    ),
                );
            }
            // The first frame of the file's first term: where the recording's data starts in it.
            let term = d.term_buffer_length as usize;
            let first = (0..term.min(bytes.len())).step_by(32).find(|&offset| {
                i32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap_or_default()) > 0
            });
            let Some(offset) = first else { break };
            start = position + offset as i64;
            count += 1;
            if offset != 0 {
                break;
            }
            position -= segment;
        }
        if start != d.start_position {
            let _ = self.catalog.set_start_position(recording_id, start);
        }
        self.ok(session, correlation, count);
    }

    /// Stops every recording (at what has been recorded) and replay, and flushes the catalog.
    pub(crate) fn shutdown(&mut self) {
        self.replays.clear();
        let ids: Vec<i64> = self
            .recording_subscriptions
            .iter()
            .map(|s| s.registration_id)
            .collect();
        for id in ids {
            self.stop_recording_subscription(id);
        }
        for session in &mut self.sessions {
            session.flush();
        }
        let _ = self.catalog.force();
        self.mark.signal_closed();
    }
}

/// Asks the source archive of a replication for a recording's position; returns the request's correlation id,
/// whose answer comes through `take_connect_reply`.
fn request_recording_position(
    aeron: &Aeron,
    src: &mut AeronArchive,
    recording_id: i64,
) -> Result<i64, ArchiveError> {
    let correlation_id = aeron.next_correlation_id();
    src.send(
        &RecordingPositionRequest {
            control_session_id: src.control_session_id(),
            correlation_id,
            recording_id,
        }
        .to_vec(),
    )?;
    Ok(correlation_id)
}

/// What a replicate request (any of its versions) asks for.
struct ReplicationRequest<'a> {
    src_recording_id: i64,
    dst_recording_id: i64,
    /// Where the replication stops, or `NULL_POSITION` to follow the source recording.
    stop_position: i64,
    src_control_stream_id: i32,
    src_control_channel: &'a str,
    replication_channel: &'a str,
    live_destination: &'a str,
}

impl<'a> ReplicationRequest<'a> {
    /// What the older request versions ask for: follow the source recording, on the archive's replication
    /// channel.
    fn following(
        src_recording_id: i64,
        dst_recording_id: i64,
        src_control_stream_id: i32,
        src_control_channel: &'a str,
        live_destination: &'a str,
    ) -> Self {
        ReplicationRequest {
            src_recording_id,
            dst_recording_id,
            stop_position: NULL_POSITION,
            src_control_stream_id,
            src_control_channel,
            replication_channel: "",
            live_destination,
        }
    }
}

/// Control session id and correlation id of a request: the first two fields of every request's block.
fn request_ids(bytes: &[u8]) -> (i64, i64) {
    let field = |at: usize| {
        bytes
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(i64::from_le_bytes)
            .unwrap_or(NULL_POSITION)
    };
    (
        field(MESSAGE_HEADER_LENGTH),
        field(MESSAGE_HEADER_LENGTH + 8),
    )
}

fn aeron_message(error: &AeronError) -> String {
    error.to_string()
}

impl Agent for ArchiveConductor {
    fn do_work(&mut self) -> Result<usize, AgentError> {
        let now = Instant::now();
        let mut work = self.poll_control();
        work += self.service_sessions(now);
        work += self.discover_images();
        work += self.drive_recordings();
        work += self.drive_replays(now);
        work += self.drive_replications(now);
        self.replay_tokens.retain(|t| t.deadline > now);
        let ms = now_ms();
        if ms - self.last_mark_update_ms >= 1000 {
            self.mark.update_activity_timestamp(ms);
            self.last_mark_update_ms = ms;
        }
        if self.aeron.is_closed() {
            return Err(AgentError::Terminate(
                "the archive's Aeron client closed".into(),
            ));
        }
        Ok(work)
    }

    fn on_close(&mut self) {
        self.shutdown();
    }

    fn role_name(&self) -> &str {
        "archive-conductor"
    }
}
