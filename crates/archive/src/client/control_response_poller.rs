//! The request/response plumbing of the control session: sending requests, polling the response
//! subscription, and waiting for a correlated answer or a stream of descriptors.

use super::*;

#[derive(Debug)]
pub(super) enum Incoming {
    Response {
        correlation_id: i64,
        relevant_id: i64,
        code: ControlResponseCode,
        message: String,
    },
    Descriptor(RecordingDescriptor),
    SubscriptionDescriptor(i64, RecordingSubscriptionDescriptor),
    Challenge {
        correlation_id: i64,
        control_session_id: i64,
        challenge: Vec<u8>,
    },
}

impl AeronArchive {
    /// One attempt to send; `Ok(false)` when the publication can't take it now.
    pub(crate) fn try_send(&mut self, message: &[u8]) -> Result<bool, ArchiveError> {
        match self.publication.offer(message) {
            Ok(_) => Ok(true),
            Err(OfferError::Closed) => Err(ArchiveError::Closed),
            Err(OfferError::BackPressured | OfferError::AdminAction | OfferError::NotConnected) => {
                Ok(false)
            }
            Err(e) => Err(ArchiveError::Protocol(format!("control request: {e}"))),
        }
    }

    /// The connect step's answer to `correlation_id`, if it arrived.
    pub(crate) fn take_connect_reply(
        &mut self,
        correlation_id: i64,
    ) -> Result<Option<ConnectReply>, ArchiveError> {
        self.poll();
        let mut reply = None;
        let mut rest = VecDeque::new();
        while let Some(incoming) = self.inbox.pop_front() {
            match incoming {
                Incoming::Response {
                    correlation_id: c,
                    relevant_id,
                    code,
                    message,
                } if c == correlation_id && reply.is_none() => {
                    reply = Some(match code {
                        ControlResponseCode::Ok => Ok(ConnectReply::Accepted(relevant_id)),
                        _ => Err(ArchiveError::from_response(
                            relevant_id,
                            message,
                            correlation_id,
                        )),
                    });
                }
                Incoming::Challenge {
                    correlation_id: c,
                    control_session_id,
                    challenge,
                } if c == correlation_id && reply.is_none() => {
                    reply = Some(Ok(ConnectReply::Challenged(control_session_id, challenge)));
                }
                other => rest.push_back(other),
            }
        }
        self.inbox = rest;
        reply.transpose()
    }

    /// The descriptor answering a list request `correlation_id`: `Some(None)` when the recording is unknown.
    pub(crate) fn take_descriptor(
        &mut self,
        correlation_id: i64,
    ) -> Result<Option<Option<RecordingDescriptor>>, ArchiveError> {
        self.poll();
        let mut found = None;
        let mut rest = VecDeque::new();
        while let Some(incoming) = self.inbox.pop_front() {
            match incoming {
                Incoming::Descriptor(d)
                    if d.correlation_id == correlation_id && found.is_none() =>
                {
                    found = Some(Ok(Some(d)));
                }
                Incoming::Response {
                    correlation_id: c,
                    relevant_id,
                    code,
                    message,
                } if c == correlation_id && found.is_none() => {
                    found = Some(match code {
                        ControlResponseCode::Error => Err(ArchiveError::from_response(
                            relevant_id,
                            message,
                            correlation_id,
                        )),
                        _ => Ok(None),
                    });
                }
                other => rest.push_back(other),
            }
        }
        self.inbox = rest;
        found.transpose()
    }

    pub(crate) fn send(&mut self, message: &[u8]) -> Result<(), ArchiveError> {
        if self.closed {
            return Err(ArchiveError::Closed);
        }
        let deadline = Instant::now() + self.message_timeout;
        loop {
            match self.publication.offer(message) {
                Ok(_) => return Ok(()),
                Err(OfferError::Closed) => return Err(ArchiveError::Closed),
                Err(OfferError::MaxPositionExceeded) => {
                    return Err(ArchiveError::Protocol(
                        "control publication reached its max position".into(),
                    ))
                }
                Err(OfferError::MessageTooLong { length, max }) => {
                    return Err(ArchiveError::Protocol(format!(
                        "request of {length} bytes exceeds {max}"
                    )))
                }
                Err(e) => {
                    if self.aeron.is_closed() {
                        return Err(ArchiveError::Closed);
                    }
                    if Instant::now() > deadline {
                        return Err(match e {
                            OfferError::NotConnected => {
                                ArchiveError::NotConnected("control request publication".into())
                            }
                            other => ArchiveError::TimedOut(format!("sending a request: {other}")),
                        });
                    }
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
        }
    }

    /// Reads what the archive sent; returns how many messages for this session arrived.
    pub(super) fn poll(&mut self) -> usize {
        let mut messages: Vec<Vec<u8>> = Vec::new();
        let partial = &mut self.partial;
        self.subscription.poll(
            |payload: &[u8], header: &Header| {
                let flags = header.flags();
                if flags & (BEGIN_FLAG | END_FLAG) == BEGIN_FLAG | END_FLAG {
                    messages.push(payload.to_vec());
                } else if flags & BEGIN_FLAG != 0 {
                    partial.insert(header.session_id(), payload.to_vec());
                } else if let Some(buffer) = partial.get_mut(&header.session_id()) {
                    buffer.extend_from_slice(payload);
                    if flags & END_FLAG != 0 {
                        if let Some(message) = partial.remove(&header.session_id()) {
                            messages.push(message);
                        }
                    }
                }
            },
            16,
        );
        let mut count = 0;
        for bytes in messages {
            let Ok(message) = ArchiveMessage::decode(&bytes) else {
                continue;
            };
            let session = self.control_session_id;
            let mine = |id: i64| session == codec::NULL_I64 || id == session;
            match message {
                ArchiveMessage::ControlResponse(r) if mine(r.control_session_id) => {
                    self.inbox.push_back(Incoming::Response {
                        correlation_id: r.correlation_id,
                        relevant_id: r.relevant_id,
                        code: r.code,
                        message: r.error_message.to_string(),
                    });
                    count += 1;
                }
                ArchiveMessage::RecordingDescriptor(d) if mine(d.control_session_id) => {
                    self.inbox
                        .push_back(Incoming::Descriptor(RecordingDescriptor::from(&d)));
                    count += 1;
                }
                ArchiveMessage::RecordingSubscriptionDescriptor(d)
                    if mine(d.control_session_id) =>
                {
                    self.inbox.push_back(Incoming::SubscriptionDescriptor(
                        d.correlation_id,
                        RecordingSubscriptionDescriptor {
                            subscription_id: d.subscription_id,
                            stream_id: d.stream_id,
                            stripped_channel: d.stripped_channel.to_string(),
                        },
                    ));
                    count += 1;
                }
                ArchiveMessage::Challenge(c) => {
                    self.inbox.push_back(Incoming::Challenge {
                        correlation_id: c.correlation_id,
                        control_session_id: c.control_session_id,
                        challenge: c.encoded_challenge.to_vec(),
                    });
                    count += 1;
                }
                ArchiveMessage::RecordingSignalEvent(s) if mine(s.control_session_id) => {
                    self.signals.push_back(RecordingSignalEvent {
                        control_session_id: s.control_session_id,
                        correlation_id: s.correlation_id,
                        recording_id: s.recording_id,
                        subscription_id: s.subscription_id,
                        position: s.position,
                        signal: s.signal,
                    });
                    count += 1;
                }
                _ => {}
            }
        }
        count
    }

    /// Waits for the response to `correlation_id`; collects descriptors on the way into `collected`.
    pub(super) fn await_collect(
        &mut self,
        correlation_id: i64,
        mut on_descriptor: impl FnMut(&Incoming) -> bool,
    ) -> Result<(ControlResponseCode, i64), ArchiveError> {
        let deadline = Instant::now() + self.message_timeout;
        loop {
            while let Some(incoming) = self.inbox.pop_front() {
                match incoming {
                    Incoming::Response {
                        correlation_id: c,
                        relevant_id,
                        code,
                        message,
                    } if c == correlation_id => {
                        if code == ControlResponseCode::Error {
                            return Err(ArchiveError::from_response(
                                relevant_id,
                                message,
                                correlation_id,
                            ));
                        }
                        return Ok((code, relevant_id));
                    }
                    Incoming::Descriptor(d)
                        if d.correlation_id == correlation_id
                            && on_descriptor(&Incoming::Descriptor(d.clone())) =>
                    {
                        return Ok((ControlResponseCode::Ok, 0));
                    }
                    Incoming::SubscriptionDescriptor(c, d)
                        if c == correlation_id
                            && on_descriptor(&Incoming::SubscriptionDescriptor(c, d.clone())) =>
                    {
                        return Ok((ControlResponseCode::Ok, 0));
                    }
                    Incoming::Response {
                        correlation_id: c,
                        relevant_id,
                        code: ControlResponseCode::Error,
                        message,
                    } => self.async_errors.push_back(ArchiveError::from_response(
                        relevant_id,
                        message,
                        c,
                    )),
                    _ => {}
                }
            }
            if self.poll() == 0 {
                if self.aeron.is_closed() {
                    return Err(ArchiveError::Closed);
                }
                if !self.subscription.is_connected() && self.control_session_id != codec::NULL_I64 {
                    return Err(ArchiveError::NotConnected(
                        "control response subscription lost the archive".into(),
                    ));
                }
                if Instant::now() > deadline {
                    return Err(ArchiveError::TimedOut(format!(
                        "no response from the archive for correlation id {correlation_id} in {:?}",
                        self.message_timeout
                    )));
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }

    pub(super) fn await_response(&mut self, correlation_id: i64) -> Result<i64, ArchiveError> {
        let (code, relevant) = self.await_collect(correlation_id, |_| false)?;
        if code != ControlResponseCode::Ok {
            return Err(ArchiveError::Protocol(format!(
                "unexpected response code {code:?}"
            )));
        }
        Ok(relevant)
    }

    pub(super) fn request(
        &mut self,
        build: impl FnOnce(i64, i64) -> Vec<u8>,
    ) -> Result<i64, ArchiveError> {
        let correlation_id = self.aeron.next_correlation_id();
        let message = build(self.control_session_id, correlation_id);
        self.send(&message)?;
        self.await_response(correlation_id)
    }
}
