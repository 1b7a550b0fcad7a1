//! The archive conductor: one agent that serves control sessions and drives every recording, replay and
//! replication. This file holds its state, the routing of requests and the duty cycle; each concern's work
//! is in the file of its name beside it.

mod catalog_operations;
mod control_sessions;
mod recordings;
mod replays;
mod replications;
mod segment_operations;

use control_sessions::ControlSession;
use replications::ReplicationRequest;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

use oxeron_client::{
    Aeron, AeronError, ExclusivePublication, Header, Image, OfferError, Publication, Subscription,
};
use oxeron_concurrent::agent::{Agent, AgentError, ErrorHandler};
use oxeron_concurrent::clock::{system_epoch_clock, system_epoch_ms};
use oxeron_concurrent::counters::type_id::ARCHIVE_CONTROL_SESSION_TYPE_ID;
use oxeron_concurrent::error_log::DistinctErrorLog;
use oxeron_protocol::archive::*;
use oxeron_protocol::archive::{segment_file_base_position, segment_file_name};
use oxeron_protocol::frame::data::{BEGIN_FLAG, END_FLAG};
use oxeron_protocol::uri::ChannelUri;

use super::archive_counters::{
    control_session_key, ArchiveCounters, ConductorCounters, CycleSettings,
};
use super::authenticator::AuthDecision;
use super::channel::{
    control_response_channel, recording_subscription_channel, replay_channel, strip_channel,
    ControlTerm,
};
use super::context::{ArchiveThreadingMode, Context};

const NULL_RECORDING_ID: i64 = -1;
use super::recorder::{EndedRecording, Recorder, RecorderCommand};
use super::recording_session::{RecordedPosition, RecordingEnd, RecordingSession};
use super::replay_session::{ReplayEnd, ReplayLimit, ReplaySession};
use super::replayer::{allocated_counter_value, EndedReplay, Replayer, ReplayerCommand};
use super::replication_session::{ReplicationSession, ReplicationStep};
use super::session_worker::SessionWorker;
use crate::client::{
    AeronArchive, ArchiveError, ConnectReply, Context as ArchiveClientContext, ReplayParams,
    LIVE_ADD_MAX_WINDOW,
};
use crate::{ArchiveMarkFile, Catalog, NewRecording, SegmentReader, SegmentWriter};

/// Messages handled per control subscription per duty cycle.
const CONTROL_FRAGMENT_LIMIT: usize = 16;

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

/// A recording the recorder drives, as the conductor sees it.
struct ActiveRecording {
    recording_id: i64,
    subscription_id: i64,
    start_position: i64,
    recorded: Arc<RecordedPosition>,
    progress_reported: i64,
}

impl ActiveRecording {
    fn recorded_position(&self) -> i64 {
        self.recorded.position()
    }
}

/// A replay the replayer drives, as the conductor sees it.
struct ActiveReplay {
    replay_session_id: i64,
    recording_id: i64,
    position: Arc<AtomicI64>,
}

impl ActiveReplay {
    fn position(&self) -> i64 {
        self.position.load(Ordering::Acquire)
    }
}

/// The archive's conductor agent: it serves the control sessions and owns the catalog, and hands recording
/// and replay sessions to the recorder and the replayer.
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
    recordings: Vec<ActiveRecording>,
    replays: Vec<ActiveReplay>,
    recorder: SessionWorker<Recorder, RecorderCommand, EndedRecording>,
    replayer: SessionWorker<Replayer, ReplayerCommand, EndedReplay>,
    counters: ConductorCounters,
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

/// Why the conductor could not start.
#[derive(Debug)]
pub(crate) enum StartError {
    /// The driver refused a counter.
    Aeron(AeronError),
    /// A worker's thread could not start.
    Io(std::io::Error),
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
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        ctx: Context,
        aeron: Aeron,
        catalog: Catalog,
        mark: ArchiveMarkFile,
        archive_id: i64,
        control_subscriptions: Vec<Subscription>,
        events: Option<Publication>,
        errors_handler: ErrorHandler,
    ) -> Result<Self, StartError> {
        let dedicated = ctx.threading_mode == ArchiveThreadingMode::Dedicated;
        let counters = ArchiveCounters::allocate(
            &aeron,
            archive_id,
            &CycleSettings {
                mode: ctx.threading_mode.name(),
                dedicated,
                conductor: ctx.conductor_cycle_threshold,
                recorder: ctx.recorder_cycle_threshold,
                replayer: ctx.replayer_cycle_threshold,
            },
        )
        .map_err(StartError::Aeron)?;
        let (commands, inbox) = mpsc::channel();
        let (outbox, outcomes) = mpsc::channel();
        let recorder = SessionWorker::start(
            Recorder::new(inbox, outbox, counters.writes, counters.recorder_cycle),
            commands,
            outcomes,
            dedicated.then(|| ctx.recorder_idle_strategy.build()),
            errors_handler.clone(),
        )
        .map_err(StartError::Io)?;
        let (commands, inbox) = mpsc::channel();
        let (outbox, outcomes) = mpsc::channel();
        let replayer = SessionWorker::start(
            Replayer::new(
                aeron.clone(),
                inbox,
                outbox,
                counters.reads,
                counters.replayer_cycle,
            ),
            commands,
            outcomes,
            dedicated.then(|| ctx.replayer_idle_strategy.build()),
            errors_handler,
        )
        .map_err(StartError::Io)?;
        let seed = (now_ms() ^ i64::from(std::process::id()) << 20) & 0x3FFF_FFFF;
        let errors = mark
            .error_buffer()
            .ok()
            .flatten()
            .and_then(|buffer| DistinctErrorLog::new(buffer, system_epoch_clock()).ok());
        Ok(Self {
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
            recorder,
            replayer,
            counters: counters.conductor,
            replications: Vec::new(),
            events,
            next_control_session_id: seed.max(1),
            next_replay_id: 1,
            last_mark_update_ms: 0,
            errors,
            bound_counter: None,
            replay_tokens: Vec::new(),
            token_seed: (now_ms() as u64) ^ 0x9E37_79B9_7F4A_7C15 | 1,
        })
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
                self.stop_replays(|p| p.replay_session_id == r.replay_session_id);
                self.ok(session, correlation, 0);
            }
            M::StopAllReplaysRequest(r) => {
                self.stop_replays(|p| {
                    r.recording_id == NULL_RECORDING_ID || p.recording_id == r.recording_id
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
        allocated_counter_value(self.aeron.counters_reader(), counter_id)
    }

    fn live_position(&self, recording_id: i64) -> Option<i64> {
        self.recordings
            .iter()
            .find(|r| r.recording_id == recording_id)
            .map(|r| r.recorded_position())
    }

    /// Stops every recording (at what has been recorded) and replay, and flushes the catalog.
    pub(crate) fn shutdown(&mut self) {
        self.replayer.close();
        self.replays.clear();
        let ids: Vec<i64> = self
            .recording_subscriptions
            .iter()
            .map(|s| s.registration_id)
            .collect();
        for id in ids {
            self.stop_recording_subscription(id);
        }
        self.recorder.close();
        self.on_ended_recordings();
        for session in &mut self.sessions {
            session.flush();
        }
        let _ = self.catalog.force();
        self.mark.signal_closed();
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

impl ArchiveConductor {
    /// The control streams' term geometry where a client's channel leaves it out.
    fn control_term(&self) -> ControlTerm {
        ControlTerm {
            term_length: self.ctx.control_term_buffer_length,
            mtu: self.ctx.control_mtu_length,
            sparse: self.ctx.control_term_buffer_sparse,
        }
    }

    /// The low-storage-space refusal, when the archive's file system is at or under the threshold (Java's
    /// `isLowStorageSpace`). A file system that cannot be asked refuses too, naming the error.
    fn low_storage_space(&self) -> Option<String> {
        let threshold = self.ctx.low_storage_space_threshold;
        match crate::storage_space::usable_space(&self.ctx.archive_dir) {
            Ok(usable) => crate::storage_space::low_storage_message(threshold, usable),
            Err(e) => Some(format!(
                "cannot read usable space of {}: {e}",
                self.ctx.archive_dir.display()
            )),
        }
    }
}

fn aeron_message(error: &AeronError) -> String {
    error.to_string()
}

impl Agent for ArchiveConductor {
    fn do_work(&mut self) -> Result<usize, AgentError> {
        let now = Instant::now();
        self.counters.cycle.measure_and_update(now);
        let mut work = self.poll_control();
        work += self.service_sessions(now);
        work += self.discover_images();
        work += self.recorder.do_work();
        work += self.on_ended_recordings();
        work += self.report_progress();
        work += self.replayer.do_work();
        work += self.on_ended_replays();
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
