//! The conductor's replays: replay tokens, starting replay sessions and driving them (Aeron's `Replayer`
//! work).

use super::*;

impl ArchiveConductor {
    pub(super) fn generate_replay_token(
        &mut self,
        control_session_id: i64,
        recording_id: i64,
    ) -> i64 {
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
    pub(super) fn replay_token_allows(
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
    pub(super) fn start_replay(
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
            Ok(r) => r.with_checksum(self.ctx.replay_checksum),
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
        let replay_uri = replay_channel(&uri, &d, from, self.ctx.replay_linger_timeout);
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
        replay.recorded = self
            .recordings
            .iter()
            .find(|r| r.recording_id == recording_id)
            .map(|r| Arc::clone(&r.recorded));
        replay.stop_position = d.stop_position;
        replay.share_position();
        self.replays.push(ActiveReplay {
            replay_session_id,
            recording_id,
            position: Arc::clone(&replay.shared_position),
        });
        self.replayer.send(ReplayerCommand::Add(Box::new(replay)));
        self.ok(session, correlation, replay_session_id);
    }

    /// Ends the replays `which` picks.
    pub(super) fn stop_replays(&mut self, which: impl Fn(&ActiveReplay) -> bool) {
        let mut i = 0;
        while i < self.replays.len() {
            if which(&self.replays[i]) {
                let replay = self.replays.swap_remove(i);
                self.counters.replay_sessions.get_and_add(-1);
                self.replayer.send(ReplayerCommand::Stop {
                    replay_session_id: replay.replay_session_id,
                });
            } else {
                i += 1;
            }
        }
    }

    /// Tells the control sessions of failed replays why they ended.
    pub(super) fn on_ended_replays(&mut self) -> usize {
        let mut work = 0;
        while let Some(ended) = self.replayer.next_outcome() {
            let Some(index) = self
                .replays
                .iter()
                .position(|r| r.replay_session_id == ended.replay_session_id)
            else {
                // Stopped by a request while it ended by itself: nothing left to tell.
                continue;
            };
            self.replays.swap_remove(index);
            self.counters.replay_sessions.get_and_add(-1);
            let recording_id = ended.recording_id;
            let (session, correlation) = ended.requested_by;
            let failure = match ended.end {
                ReplayEnd::Storage(e) => Some(format!("{e}, recordingId={recording_id}")),
                ReplayEnd::NotConnected => Some(format!(
                    "no connection established for replayChannel={}",
                    ended.channel
                )),
                ReplayEnd::Complete | ReplayEnd::SubscriberLeft | ReplayEnd::PublicationClosed => {
                    None
                }
            };
            if let Some(message) = failure {
                self.report(&format!(
                    "replay of recording {recording_id} failed: {message}"
                ));
                self.error(session, correlation, ArchiveErrorCode::Generic, &message);
            }
            work += 1;
        }
        work
    }
}
