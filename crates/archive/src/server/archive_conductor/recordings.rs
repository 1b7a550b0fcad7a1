//! The conductor's recordings: recording subscriptions, the recording sessions they start for each image,
//! and driving them (Aeron's `Recorder` work).

use super::*;

/// Longest a stop request waits for the recorder to finish the recordings it stops.
const STOP_RECORDING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl ArchiveConductor {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_recording(
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
    pub(super) fn add_recording_subscription(
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
        if let Some(message) = self.low_storage_space() {
            return Err((ArchiveErrorCode::StorageSpace, message));
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
    pub(super) fn stop_recording_subscription(&mut self, subscription_id: i64) -> bool {
        let Some(index) = self
            .recording_subscriptions
            .iter()
            .position(|s| s.registration_id == subscription_id)
        else {
            return false;
        };
        let subscription = self.recording_subscriptions.remove(index);
        // The recorder records what the images hold, then closes the subscription and hands the sessions
        // back, which `on_ended_recordings` finishes.
        self.recorder.send(RecorderCommand::StopSubscription {
            subscription_id,
            subscription: subscription.subscription,
        });
        self.await_recordings_ended(subscription_id);
        true
    }

    /// Waits until the recorder has handed back every session of a stopped subscription, so a stop request is
    /// answered once the catalog holds the stop positions (Java answers first and updates the catalog later).
    fn await_recordings_ended(&mut self, subscription_id: i64) {
        let deadline = Instant::now() + STOP_RECORDING_TIMEOUT;
        loop {
            self.recorder.do_work();
            self.on_ended_recordings();
            if !self
                .recordings
                .iter()
                .any(|r| r.subscription_id == subscription_id)
            {
                return;
            }
            if Instant::now() > deadline {
                self.report(&format!(
                    "recordings of subscription {subscription_id} still stopping after {STOP_RECORDING_TIMEOUT:?}"
                ));
                return;
            }
            std::thread::sleep(std::time::Duration::from_micros(50));
        }
    }

    pub(super) fn finish_recording(
        &mut self,
        recording: Box<RecordingSession>,
        failure: Option<String>,
    ) {
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
        } = *recording;
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

    pub(super) fn discover_images(&mut self) -> usize {
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
            let refusal = match self.low_storage_space() {
                Some(message) => Err((ArchiveErrorCode::StorageSpace, message)),
                None => self
                    .start_recording_session(index, image)
                    .map_err(|message| (ArchiveErrorCode::Generic, message)),
            };
            if let Err((code, message)) = refusal {
                let s = &self.recording_subscriptions[index];
                let (session, correlation) = (s.control_session_id, s.correlation_id);
                self.report(&message);
                self.error(session, correlation, code, &message);
            }
        }
        work
    }

    pub(super) fn start_recording_session(
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
        .map_err(|e| e.to_string())?
        .with_checksum(self.ctx.record_checksum);
        let (key, label) = super::super::channel::recording_position_key(
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
        self.recordings.push(ActiveRecording {
            recording_id,
            subscription_id,
            start_position,
            recorded: Arc::clone(&recording.recorded),
            progress_reported: start_position,
        });
        self.recorder
            .send(RecorderCommand::Add(Box::new(recording)));
        self.counters.recording_sessions.increment();
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

    /// Sends a progress event for every recording that moved since the last one.
    pub(super) fn report_progress(&mut self) -> usize {
        if self.events.is_none() {
            return 0;
        }
        let mut moved = Vec::new();
        for r in &mut self.recordings {
            let position = r.recorded_position();
            if position > r.progress_reported {
                r.progress_reported = position;
                moved.push(
                    RecordingProgress {
                        recording_id: r.recording_id,
                        start_position: r.start_position,
                        position,
                    }
                    .to_vec(),
                );
            }
        }
        let work = moved.len();
        for m in moved {
            self.event(m);
        }
        work
    }

    /// Finishes the recordings the recorder handed back: catalog, events, signals, and the subscription of an
    /// auto-stop recording or an extension.
    pub(super) fn on_ended_recordings(&mut self) -> usize {
        let mut work = 0;
        while let Some(EndedRecording { session, end }) = self.recorder.next_outcome() {
            self.recordings
                .retain(|r| r.recording_id != session.recording_id);
            self.counters.recording_sessions.get_and_add(-1);
            let auto_stop = session.auto_stop;
            let subscription_id = session.subscription_id;
            let failure = match end {
                RecordingEnd::ImageClosed | RecordingEnd::Stopped => None,
                RecordingEnd::Storage(e) => Some(e.to_string()),
            };
            self.finish_recording(session, failure);
            let extension = self
                .recording_subscriptions
                .iter()
                .any(|s| s.registration_id == subscription_id && s.extend_recording_id.is_some());
            if auto_stop || extension {
                self.stop_recording_subscription(subscription_id);
            }
            work += 1;
        }
        work
    }
}
