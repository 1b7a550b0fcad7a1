//! The conductor's replications: starting a replication session against a source archive and stepping
//! it through connect, replay, live merge and stop.

use super::*;

impl ArchiveConductor {
    pub(super) fn start_replication(
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

    pub(super) fn drive_replications(&mut self, now: Instant) -> usize {
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
    pub(super) fn step_replication(
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
    pub(super) fn replication_image(&mut self, r: &ReplicationSession) -> Option<Arc<Image>> {
        let subscription = self
            .recording_subscriptions
            .iter_mut()
            .find(|s| s.registration_id == r.subscription_id)?;
        subscription
            .subscription
            .image_by_session_id(r.replay_session_id)
    }

    pub(super) fn end_replication(
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
}

/// Asks the source archive of a replication for a recording's position; returns the request's correlation id,
/// whose answer comes through `take_connect_reply`.
pub(super) fn request_recording_position(
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
pub(super) struct ReplicationRequest<'a> {
    pub(super) src_recording_id: i64,
    pub(super) dst_recording_id: i64,
    /// Where the replication stops, or `NULL_POSITION` to follow the source recording.
    pub(super) stop_position: i64,
    pub(super) src_control_stream_id: i32,
    pub(super) src_control_channel: &'a str,
    pub(super) replication_channel: &'a str,
    pub(super) live_destination: &'a str,
}

impl<'a> ReplicationRequest<'a> {
    /// What the older request versions ask for: follow the source recording, on the archive's replication
    /// channel.
    pub(super) fn following(
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
