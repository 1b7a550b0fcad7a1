//! The conductor's control sessions: polling the control subscriptions, connecting (and authenticating)
//! sessions, answering them, and their liveness.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SessionState {
    AwaitingPublication(i64),
    AwaitingConnection,
    Challenged,
    Active,
    Done,
}

pub(super) struct ControlSession {
    pub(super) id: i64,
    pub(super) connect_correlation_id: i64,
    pub(super) state: SessionState,
    pub(super) rejection: Option<(ArchiveErrorCode, String)>,
    pub(super) challenge: Option<Vec<u8>>,
    pub(super) publication: Option<ExclusivePublication>,
    pub(super) deadline: Instant,
    pub(super) disconnected_since: Option<Instant>,
    pub(super) queue: VecDeque<Vec<u8>>,
    /// The session's "control-session" counter, while the driver allocates it, then held until the
    /// session closes.
    pub(super) counter_registration: Option<i64>,
    pub(super) counter: Option<oxeron_client::Counter>,
    /// When the next Ping is due, once active.
    pub(super) next_ping: Instant,
    /// What the authenticator accepted the session as, given to the authorisation service.
    pub(super) principal: Vec<u8>,
}

impl ControlSession {
    /// Offers queued responses in order; keeps what the publication can't take yet.
    pub(super) fn flush(&mut self) -> usize {
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

/// The fields of a connect request, with or without credentials.
pub(super) struct ConnectFrom<'a> {
    pub(super) correlation_id: i64,
    pub(super) response_stream_id: i32,
    pub(super) version: i32,
    pub(super) response_channel: &'a str,
    pub(super) credentials: &'a [u8],
    pub(super) client_info: &'a str,
}

impl ArchiveConductor {
    pub(super) fn poll_control(&mut self) -> usize {
        let mut inbox: Vec<(Vec<u8>, (usize, i32))> = Vec::new();
        let mut work = 0;
        for (index, subscription) in self.control_subscriptions.iter_mut().enumerate() {
            let partial = &mut self.partial;
            work += subscription.poll(
                |payload: &[u8], header: &Header| {
                    let flags = header.flags();
                    let key = (index, header.session_id());
                    if flags & (BEGIN_FLAG | END_FLAG) == BEGIN_FLAG | END_FLAG {
                        inbox.push((payload.to_vec(), key));
                    } else if flags & BEGIN_FLAG != 0 {
                        partial.insert(key, payload.to_vec());
                    } else if let Some(buffer) = partial.get_mut(&key) {
                        buffer.extend_from_slice(payload);
                        if flags & END_FLAG != 0 {
                            if let Some(message) = partial.remove(&key) {
                                inbox.push((message, key));
                            }
                        }
                    }
                },
                CONTROL_FRAGMENT_LIMIT,
            );
        }
        for (message, origin) in inbox {
            self.on_message(&message, origin);
        }
        work
    }

    /// The source identity of the control request image a message came from.
    fn source_identity(&mut self, (index, session_id): (usize, i32)) -> String {
        self.control_subscriptions
            .get_mut(index)
            .and_then(|s| s.image_by_session_id(session_id))
            .map(|image| image.source_identity().to_string())
            .unwrap_or_default()
    }

    /// Records an error in the mark file's distinct error log (read with `oxeron errors` or Aeron's
    /// `ArchiveTool errors`).
    pub(super) fn report(&self, message: &str) {
        self.counters.errors.increment();
        let logged = self
            .errors
            .as_ref()
            .is_some_and(|log| log.record(0, message));
        tracing::warn!(target: "oxeron::archive", logged_in_mark_file = logged, "{message}");
    }

    pub(super) fn session_index(&self, control_session_id: i64) -> Option<usize> {
        self.sessions
            .iter()
            .position(|s| s.id == control_session_id && s.state == SessionState::Active)
    }

    pub(super) fn send(&mut self, control_session_id: i64, message: Vec<u8>) {
        if let Some(session) = self
            .sessions
            .iter_mut()
            .find(|s| s.id == control_session_id)
        {
            session.queue.push_back(message);
            session.flush();
        }
    }

    pub(super) fn ok(&mut self, session: i64, correlation_id: i64, relevant_id: i64) {
        let m = control_response(
            session,
            correlation_id,
            relevant_id,
            ControlResponseCode::Ok,
            "",
        );
        self.send(session, m);
    }

    pub(super) fn error(
        &mut self,
        session: i64,
        correlation_id: i64,
        code: ArchiveErrorCode,
        message: &str,
    ) {
        let m = control_response(
            session,
            correlation_id,
            code as i64,
            ControlResponseCode::Error,
            message,
        );
        self.send(session, m);
    }

    pub(super) fn unknown_recording(
        &mut self,
        session: i64,
        correlation_id: i64,
        recording_id: i64,
    ) {
        self.error(
            session,
            correlation_id,
            ArchiveErrorCode::UnknownRecording,
            &format!("unknown recording id: {recording_id}"),
        );
    }

    pub(super) fn signal(
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

    pub(super) fn event(&mut self, message: Vec<u8>) {
        if let Some(events) = self.events.as_ref() {
            let _ = events.offer(&message);
        }
    }

    pub(super) fn on_message(&mut self, bytes: &[u8], origin: (usize, i32)) {
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
                ConnectFrom {
                    correlation_id: r.correlation_id,
                    response_stream_id: r.response_stream_id,
                    version: r.version,
                    response_channel: r.response_channel,
                    credentials: r.encoded_credentials,
                    client_info: r.client_info,
                },
                origin,
            ),
            M::ConnectRequest(r) => self.on_connect(
                ConnectFrom {
                    correlation_id: r.correlation_id,
                    response_stream_id: r.response_stream_id,
                    version: r.version,
                    response_channel: r.response_channel,
                    credentials: &[],
                    client_info: "",
                },
                origin,
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
            M::KeepAliveRequest(_) => {
                self.authorised(bytes);
            }
            M::Ping(_) => {}
            M::ChallengeResponse(r) => self.on_challenge_response(
                r.control_session_id,
                r.correlation_id,
                r.encoded_credentials,
            ),
            other => {
                if self.authorised(bytes) {
                    self.on_request(other, request_ids(bytes));
                }
            }
        }
    }

    /// Asks the authorisation service whether the request in `bytes` may go ahead for the session it names;
    /// a refused request is answered with UNAUTHORISED_ACTION and logged, as Java's archive does. Requests
    /// of unknown sessions are not for the service to judge and pass on (they are dropped later).
    fn authorised(&mut self, bytes: &[u8]) -> bool {
        let (session, correlation) = request_ids(bytes);
        let Some(index) = self.session_index(session) else {
            return true;
        };
        let template_id = bytes
            .get(sbe::TEMPLATE_ID_OFFSET..sbe::TEMPLATE_ID_OFFSET + 2)
            .map_or(0, |b| i32::from(u16::from_le_bytes([b[0], b[1]])));
        let principal = &self.sessions[index].principal;
        if self.ctx.authorisation_service.is_authorised(
            i32::from(SCHEMA_ID),
            template_id,
            principal,
        ) {
            return true;
        }
        self.report(&format!(
            "unauthorised archive action={template_id} controlSessionId={session}"
        ));
        self.error(
            session,
            correlation,
            ArchiveErrorCode::UnauthorisedAction,
            "unauthorised action",
        );
        false
    }

    /// A message that does not decode: answered with an error when its header and session can be read.
    pub(super) fn reject_malformed(&mut self, bytes: &[u8], reason: &str) {
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

    pub(super) fn on_connect(&mut self, request: ConnectFrom<'_>, origin: (usize, i32)) {
        let ConnectFrom {
            correlation_id,
            response_stream_id,
            version,
            response_channel,
            credentials,
            client_info,
        } = request;
        let id = self.next_control_session_id;
        self.next_control_session_id += 1;
        let mut rejection = None;
        let mut challenge = None;
        let mut principal = Vec::new();
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
                AuthDecision::AcceptAs(encoded) => principal = encoded,
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
            Ok(uri) => control_response_channel(&uri, self.control_term()),
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
        let source_identity = self.source_identity(origin);
        let (key, label) =
            control_session_key(self.archive_id, id, client_info, &source_identity, origin.1);
        let counter_registration =
            match self
                .aeron
                .async_add_counter(ARCHIVE_CONTROL_SESSION_TYPE_ID, &key, &label)
            {
                Ok(registration) => Some(registration),
                Err(e) => {
                    self.report(&format!("control session {id}: counter: {e}"));
                    None
                }
            };
        let now = Instant::now();
        self.sessions.push(ControlSession {
            id,
            connect_correlation_id: correlation_id,
            state: SessionState::AwaitingPublication(registration),
            rejection,
            challenge,
            publication: None,
            deadline: now + self.ctx.connect_timeout,
            disconnected_since: None,
            queue: VecDeque::new(),
            counter_registration,
            counter: None,
            next_ping: now + self.ctx.session_liveness_check_interval,
            principal,
        });
        self.counters.control_sessions.increment();
    }

    pub(super) fn on_challenge_response(
        &mut self,
        session_id: i64,
        correlation_id: i64,
        credentials: &[u8],
    ) {
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
            AuthDecision::Accept | AuthDecision::AcceptAs(_) => {
                if let AuthDecision::AcceptAs(encoded) = decision {
                    session.principal = encoded;
                }
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

    pub(super) fn service_sessions(&mut self, now: Instant) -> usize {
        let mut work = 0;
        let mut connected = Vec::new();
        for session in &mut self.sessions {
            if let Some(registration) = session.counter_registration {
                match self.aeron.poll_counter(registration) {
                    Ok(Some(counter)) => {
                        session.counter = Some(counter);
                        session.counter_registration = None;
                    }
                    Ok(None) => {}
                    Err(_) => session.counter_registration = None,
                }
            }
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
                    if now >= session.next_ping {
                        session.next_ping = now + self.ctx.session_liveness_check_interval;
                        if session.queue.is_empty() {
                            session.queue.push_back(
                                Ping {
                                    control_session_id: session.id,
                                }
                                .to_vec(),
                            );
                        }
                    }
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
        let closed = before - self.sessions.len();
        self.counters.control_sessions.get_and_add(-(closed as i64));
        work + closed
    }
}
