//! `AeronArchive`: the archive client. It speaks Aeron 1.54's archive control protocol, so it works with an
//! Oxeron archive and with Aeron's Java archive alike.
//!
//! ```no_run
//! use oxeron_archive::client::{AeronArchive, Context, ReplayParams};
//! use oxeron_archive::SourceLocation;
//!
//! let mut archive = AeronArchive::connect(
//!     Context::new()
//!         .aeron_dir("/dev/shm/aeron-example")
//!         .control_request_channel("aeron:ipc")
//!         .control_response_channel("aeron:ipc"),
//! )?;
//! let subscription_id = archive.start_recording("aeron:ipc", 1001, SourceLocation::Local, false)?;
//! // ... publish on aeron:ipc stream 1001 ...
//! archive.stop_recording_subscription(subscription_id)?;
//! let recording_id = archive.find_last_matching_recording(0, "aeron:ipc", 1001, -1)?;
//! let replay_session_id =
//!     archive.start_replay(recording_id, "aeron:ipc", 2001, ReplayParams::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod archive_error;
mod async_connect;
mod context;
mod control_response_poller;
mod events;
mod persistent_subscription;
mod recording_descriptor;
mod replay_merge;
mod replay_params;
mod segment_operations;

pub use archive_error::ArchiveError;

pub use async_connect::AsyncConnect;
use async_connect::ConnectStep;
pub use context::Context;
use control_response_poller::Incoming;
pub use recording_descriptor::{
    RecordingDescriptor, RecordingSignalEvent, RecordingSubscriptionDescriptor,
};
pub use replay_params::{ReplayParams, ReplicationParams};

pub use events::{RecordingEvent, RecordingEventsPoller};
pub use persistent_subscription::{
    PersistentState, PersistentSubscription, PersistentSubscriptionContext, FROM_LIVE, FROM_START,
};
pub use replay_merge::{MergeState, ReplayMerge, LIVE_ADD_MAX_WINDOW};

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxeron_client::{
    Aeron, AeronError, Context as AeronContext, ExclusivePublication, Header, OfferError,
    Subscription,
};
use oxeron_protocol::archive::{self as codec, ArchiveMessage, BooleanType, ControlResponseCode};
use oxeron_protocol::frame::data::{BEGIN_FLAG, END_FLAG};
use oxeron_protocol::uri::ChannelUri;

pub use oxeron_protocol::archive::{
    ArchiveErrorCode, RecordingSignal, SourceLocation, NULL_POSITION, REPLAY_ALL_AND_FOLLOW,
    REPLAY_ALL_AND_STOP,
};

/// Default control request channel of Java's `AeronArchive`.
pub const CONTROL_REQUEST_CHANNEL_DEFAULT: &str = "aeron:udp?endpoint=localhost:8010";
/// Default control response channel of Java's `AeronArchive`.
pub const CONTROL_RESPONSE_CHANNEL_DEFAULT: &str = "aeron:udp?endpoint=localhost:0";
/// Term length of the control channels the client creates (when the channel does not set one).
pub const CONTROL_TERM_BUFFER_LENGTH_DEFAULT: i32 = 64 * 1024;
/// MTU of the control channels the client creates (when the channel does not set one).
pub const CONTROL_MTU_LENGTH_DEFAULT: i32 = 1408;
/// Null recording id.
pub const NULL_RECORDING_ID: i64 = -1;
/// Null counter id (no bounding counter for a replay).
pub const NULL_COUNTER_ID: i32 = -1;

/// What answered a connect (or any plain) request.
pub(crate) enum ConnectReply {
    Accepted(i64),
    Challenged(i64, Vec<u8>),
}

/// A connected archive client. Operations block until the archive answers or the message timeout passes.
///
/// ```no_run
/// use oxeron_archive::client::{AeronArchive, Context, ReplayParams};
/// use oxeron_archive::SourceLocation;
///
/// // An archive on this host, reached on its local (IPC) control channel.
/// let mut archive = AeronArchive::connect(
///     Context::new().control_request_channel("aeron:ipc").control_response_channel("aeron:ipc"),
/// )?;
/// archive.start_recording("aeron:udp?endpoint=localhost:40123", 1001, SourceLocation::Remote, false)?;
/// archive.list_recordings(0, 100, |recording| {
///     println!("{} {} {}..{}", recording.recording_id, recording.original_channel,
///         recording.start_position, recording.stop_position);
/// })?;
/// let (_replay_session_id, mut replay) = archive.replay(0, "aeron:ipc", 2001, ReplayParams::default())?;
/// replay.poll(|message: &[u8], _header: &_| println!("{message:?}"), 10);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AeronArchive {
    aeron: Aeron,
    publication: ExclusivePublication,
    subscription: Subscription,
    control_session_id: i64,
    archive_id: i64,
    message_timeout: Duration,
    inbox: VecDeque<Incoming>,
    signals: VecDeque<RecordingSignalEvent>,
    async_errors: VecDeque<ArchiveError>,
    partial: HashMap<i32, Vec<u8>>,
    closed: bool,
}

impl std::fmt::Debug for AeronArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AeronArchive")
            .field("control_session_id", &self.control_session_id)
            .field("archive_id", &self.archive_id)
            .finish_non_exhaustive()
    }
}

/// `channel` with the context's control term length, MTU and sparseness where it sets none, as Java's
/// `AeronArchive.Context` applies them, and `session_id` if given.
fn with_control_defaults(
    ctx: &Context,
    channel: &str,
    session_id: Option<i32>,
) -> Result<String, ArchiveError> {
    let mut uri = ChannelUri::parse(channel)
        .map_err(|e| ArchiveError::Protocol(format!("channel {channel:?}: {e}")))?;
    let mut set = |key: &str, value: String| {
        if !uri.contains_key(key) {
            let _ = uri.set(key, &value);
        }
    };
    if let Some(id) = session_id {
        set("session-id", id.to_string());
    }
    set("term-length", ctx.control_term_buffer_length.to_string());
    set("sparse", ctx.control_term_buffer_sparse.to_string());
    set("mtu", ctx.control_mtu_length.to_string());
    Ok(uri.to_string())
}

impl AeronArchive {
    /// Connects to the archive: creates the request publication and response subscription, sends the
    /// connect request (answering a challenge if the archive's authenticator sends one), waits for the
    /// archive to accept the session, then asks for the archive id. Blocks up to the message timeout.
    pub fn connect(ctx: Context) -> Result<Self, ArchiveError> {
        let mut connect = Self::async_connect(ctx)?;
        loop {
            if let Some(archive) = connect.poll()? {
                return Ok(archive);
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }

    /// Starts connecting without blocking; drive it with [`AsyncConnect::poll`].
    pub fn async_connect(ctx: Context) -> Result<AsyncConnect, ArchiveError> {
        let aeron = match ctx.aeron.clone() {
            Some(aeron) => aeron,
            None => {
                let mut client = AeronContext::new();
                if let Some(dir) = &ctx.aeron_dir {
                    client = client.aeron_dir(dir.clone());
                }
                Aeron::connect(client)?
            }
        };
        let request_channel = with_control_defaults(&ctx, &ctx.control_request_channel, None)?;
        let registration = aeron
            .async_add_exclusive_publication(&request_channel, ctx.control_request_stream_id)?;
        Ok(AsyncConnect {
            deadline: Instant::now() + ctx.message_timeout,
            ctx,
            aeron,
            step: ConnectStep::AddPublication(registration),
            publication: None,
            response_channel: String::new(),
            archive: None,
        })
    }

    /// The control session id the archive gave this client.
    pub fn control_session_id(&self) -> i64 {
        self.control_session_id
    }

    /// The archive's id.
    pub fn archive_id(&self) -> i64 {
        self.archive_id
    }

    /// The Aeron client used.
    pub fn aeron(&self) -> &Aeron {
        &self.aeron
    }

    /// Starts recording `channel`/`stream_id`; returns the recording subscription's id. With `auto_stop`
    /// the subscription is removed when the recorded image ends.
    pub fn start_recording(
        &mut self,
        channel: &str,
        stream_id: i32,
        source_location: SourceLocation,
        auto_stop: bool,
    ) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StartRecordingRequest2 {
                control_session_id,
                correlation_id,
                stream_id,
                source_location,
                auto_stop: BooleanType::from(auto_stop),
                channel,
            }
            .to_vec()
        })
    }

    /// Extends a stopped recording with a new image of `channel`/`stream_id` that joins at its stop position.
    pub fn extend_recording(
        &mut self,
        recording_id: i64,
        channel: &str,
        stream_id: i32,
        source_location: SourceLocation,
        auto_stop: bool,
    ) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::ExtendRecordingRequest2 {
                control_session_id,
                correlation_id,
                recording_id,
                stream_id,
                source_location,
                auto_stop: BooleanType::from(auto_stop),
                channel,
            }
            .to_vec()
        })
    }

    /// Stops recording `channel`/`stream_id`.
    pub fn stop_recording(&mut self, channel: &str, stream_id: i32) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StopRecordingRequest {
                control_session_id,
                correlation_id,
                stream_id,
                channel,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Stops the recording subscription `subscription_id` (what `start_recording` returned).
    pub fn stop_recording_subscription(
        &mut self,
        subscription_id: i64,
    ) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StopRecordingSubscriptionRequest {
                control_session_id,
                correlation_id,
                subscription_id,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Stops the active recording `recording_id`; `false` if it was not active.
    pub fn stop_recording_by_identity(&mut self, recording_id: i64) -> Result<bool, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StopRecordingByIdentityRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
        .map(|stopped| stopped != 0)
    }

    fn collect_descriptors(
        &mut self,
        message: Vec<u8>,
        correlation_id: i64,
        count: i32,
        consumer: &mut dyn FnMut(&RecordingDescriptor),
    ) -> Result<usize, ArchiveError> {
        self.send(&message)?;
        let mut received = 0usize;
        let limit = usize::try_from(count).unwrap_or(0);
        let result = self.await_collect(correlation_id, |incoming| {
            if let Incoming::Descriptor(d) = incoming {
                consumer(d);
                received += 1;
            }
            received >= limit
        });
        match result {
            Ok(_) => Ok(received),
            Err(e) => Err(e),
        }
    }

    /// Lists up to `count` recordings from `from_recording_id`; returns how many were listed.
    pub fn list_recordings(
        &mut self,
        from_recording_id: i64,
        count: i32,
        mut consumer: impl FnMut(&RecordingDescriptor),
    ) -> Result<usize, ArchiveError> {
        let correlation_id = self.aeron.next_correlation_id();
        let message = codec::ListRecordingsRequest {
            control_session_id: self.control_session_id,
            correlation_id,
            from_recording_id,
            record_count: count,
        }
        .to_vec();
        self.collect_descriptors(message, correlation_id, count, &mut consumer)
    }

    /// Lists up to `count` recordings of `stream_id` whose channel contains `channel_fragment`.
    pub fn list_recordings_for_uri(
        &mut self,
        from_recording_id: i64,
        count: i32,
        channel_fragment: &str,
        stream_id: i32,
        mut consumer: impl FnMut(&RecordingDescriptor),
    ) -> Result<usize, ArchiveError> {
        let correlation_id = self.aeron.next_correlation_id();
        let message = codec::ListRecordingsForUriRequest {
            control_session_id: self.control_session_id,
            correlation_id,
            from_recording_id,
            record_count: count,
            stream_id,
            channel: channel_fragment,
        }
        .to_vec();
        self.collect_descriptors(message, correlation_id, count, &mut consumer)
    }

    /// Lists one recording; returns 0 if it does not exist.
    pub fn list_recording(
        &mut self,
        recording_id: i64,
        mut consumer: impl FnMut(&RecordingDescriptor),
    ) -> Result<usize, ArchiveError> {
        let correlation_id = self.aeron.next_correlation_id();
        let message = codec::ListRecordingRequest {
            control_session_id: self.control_session_id,
            correlation_id,
            recording_id,
        }
        .to_vec();
        self.collect_descriptors(message, correlation_id, 1, &mut consumer)
    }

    /// The descriptor of one recording, if it exists.
    pub fn recording_descriptor(
        &mut self,
        recording_id: i64,
    ) -> Result<Option<RecordingDescriptor>, ArchiveError> {
        let mut found = None;
        self.list_recording(recording_id, |d| found = Some(d.clone()))?;
        Ok(found)
    }

    /// Lists the archive's recording subscriptions (`pseudo_index` skips the first ones).
    pub fn list_recording_subscriptions(
        &mut self,
        pseudo_index: i32,
        count: i32,
        channel_fragment: &str,
        stream_id: i32,
        apply_stream_id: bool,
        mut consumer: impl FnMut(&RecordingSubscriptionDescriptor),
    ) -> Result<usize, ArchiveError> {
        let correlation_id = self.aeron.next_correlation_id();
        let message = codec::ListRecordingSubscriptionsRequest {
            control_session_id: self.control_session_id,
            correlation_id,
            pseudo_index,
            subscription_count: count,
            apply_stream_id: BooleanType::from(apply_stream_id),
            stream_id,
            channel: channel_fragment,
        }
        .to_vec();
        self.send(&message)?;
        let mut received = 0usize;
        let limit = usize::try_from(count).unwrap_or(0);
        self.await_collect(correlation_id, |incoming| {
            if let Incoming::SubscriptionDescriptor(_, d) = incoming {
                consumer(d);
                received += 1;
            }
            received >= limit
        })?;
        Ok(received)
    }

    /// The last recording at or above `min_recording_id` matching the channel fragment, stream and session
    /// (matched exactly, as in Aeron); [`NULL_RECORDING_ID`] if none.
    pub fn find_last_matching_recording(
        &mut self,
        min_recording_id: i64,
        channel_fragment: &str,
        stream_id: i32,
        session_id: i32,
    ) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::FindLastMatchingRecordingRequest {
                control_session_id,
                correlation_id,
                min_recording_id,
                session_id,
                stream_id,
                channel: channel_fragment,
            }
            .to_vec()
        })
    }

    /// Position recorded so far by an active recording ([`NULL_POSITION`] if it is not active).
    pub fn get_recording_position(&mut self, recording_id: i64) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::RecordingPositionRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
    }

    /// Stop position of a recording ([`NULL_POSITION`] while active).
    pub fn get_stop_position(&mut self, recording_id: i64) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StopPositionRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
    }

    /// Start position of a recording.
    pub fn get_start_position(&mut self, recording_id: i64) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StartPositionRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
    }

    /// Highest recorded position, active or not.
    pub fn get_max_recorded_position(&mut self, recording_id: i64) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::MaxRecordedPositionRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
    }

    /// Starts replaying a recording on `replay_channel`/`replay_stream_id`; returns the replay session id,
    /// whose low 32 bits are the session id of the replayed image.
    pub fn start_replay(
        &mut self,
        recording_id: i64,
        replay_channel: &str,
        replay_stream_id: i32,
        params: ReplayParams,
    ) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            if params.bounding_limit_counter_id != NULL_COUNTER_ID {
                codec::BoundedReplayRequest {
                    control_session_id,
                    correlation_id,
                    recording_id,
                    position: params.position,
                    length: params.length,
                    limit_counter_id: params.bounding_limit_counter_id,
                    replay_stream_id,
                    file_io_max_length: params.file_io_max_length,
                    replay_token: params.replay_token,
                    replay_channel,
                }
                .to_vec()
            } else {
                codec::ReplayRequest {
                    control_session_id,
                    correlation_id,
                    recording_id,
                    position: params.position,
                    length: params.length,
                    replay_stream_id,
                    file_io_max_length: params.file_io_max_length,
                    replay_token: params.replay_token,
                    replay_channel,
                }
                .to_vec()
            }
        })
    }

    /// Subscribes to the replay's image (its session id in the channel) and starts the replay.
    pub fn replay(
        &mut self,
        recording_id: i64,
        replay_channel: &str,
        replay_stream_id: i32,
        params: ReplayParams,
    ) -> Result<(i64, Subscription), ArchiveError> {
        let replay_session_id =
            self.start_replay(recording_id, replay_channel, replay_stream_id, params)?;
        let mut uri = ChannelUri::parse(replay_channel)
            .map_err(|e| ArchiveError::Protocol(format!("replay channel: {e}")))?;
        let _ = uri.set("session-id", &(replay_session_id as i32).to_string());
        let subscription = self
            .aeron
            .add_subscription(&uri.to_string(), replay_stream_id)?;
        Ok((replay_session_id, subscription))
    }

    /// Stops a replay.
    pub fn stop_replay(&mut self, replay_session_id: i64) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StopReplayRequest {
                control_session_id,
                correlation_id,
                replay_session_id,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Stops every replay of `recording_id` ([`NULL_RECORDING_ID`]: every replay).
    pub fn stop_all_replays(&mut self, recording_id: i64) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StopAllReplaysRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Cuts a stopped recording back to `position`.
    pub fn truncate_recording(
        &mut self,
        recording_id: i64,
        position: i64,
    ) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::TruncateRecordingRequest {
                control_session_id,
                correlation_id,
                recording_id,
                position,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Deletes a stopped recording and its files.
    pub fn purge_recording(&mut self, recording_id: i64) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::PurgeRecordingRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Replicates `src_recording_id` from the archive at `src_control_channel`/`src_control_stream_id` into
    /// this archive, as a new recording ([`NULL_RECORDING_ID`]) or onto the end of `dst_recording_id`;
    /// returns the replication id. Progress comes as recording signals (REPLICATE, EXTEND, STOP, SYNC,
    /// REPLICATE_END). `replication_channel` empty uses the archive's replication channel. See
    /// [`replicate_with_params`](Self::replicate_with_params) for the other options.
    pub fn replicate(
        &mut self,
        src_recording_id: i64,
        dst_recording_id: i64,
        src_control_stream_id: i32,
        src_control_channel: &str,
        replication_channel: &str,
    ) -> Result<i64, ArchiveError> {
        let params = ReplicationParams {
            dst_recording_id,
            replication_channel: replication_channel.to_string(),
            ..ReplicationParams::default()
        };
        self.replicate_with_params(
            src_recording_id,
            src_control_stream_id,
            src_control_channel,
            &params,
        )
    }

    /// Replicates `src_recording_id` from the archive at `src_control_channel`/`src_control_stream_id` with
    /// the options in `params` (Java's `AeronArchive.replicate(..., ReplicationParams)`); returns the
    /// replication id.
    pub fn replicate_with_params(
        &mut self,
        src_recording_id: i64,
        src_control_stream_id: i32,
        src_control_channel: &str,
        params: &ReplicationParams,
    ) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::ReplicateRequest2 {
                control_session_id,
                correlation_id,
                src_recording_id,
                dst_recording_id: params.dst_recording_id,
                stop_position: params.stop_position,
                channel_tag_id: params.channel_tag_id,
                subscription_tag_id: params.subscription_tag_id,
                src_control_stream_id,
                file_io_max_length: params.file_io_max_length,
                replication_session_id: params.replication_session_id,
                src_control_channel,
                live_destination: &params.live_destination,
                replication_channel: &params.replication_channel,
                encoded_credentials: &params.encoded_credentials,
                src_response_channel: &params.src_response_channel,
            }
            .to_vec()
        })
    }

    /// Asks for a replay token for `recording_id` (Java's `requestReplayToken`): it lets a replay requested on
    /// a response channel act for this session, until the archive's connect timeout passes.
    pub fn request_replay_token(&mut self, recording_id: i64) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::ReplayTokenRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
    }

    /// Replaces the channel a recording's descriptor shows (original and stripped), e.g. after the
    /// publisher moved; the recorded data does not change.
    pub fn update_channel(&mut self, recording_id: i64, channel: &str) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::UpdateChannelRequest {
                control_session_id,
                correlation_id,
                recording_id,
                channel,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Stops a replication.
    pub fn stop_replication(&mut self, replication_id: i64) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::StopReplicationRequest {
                control_session_id,
                correlation_id,
                replication_id,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// An error the archive reported for an earlier request after answering it (e.g. a replay whose
    /// subscriber never connected), if one arrived.
    pub fn poll_for_errors(&mut self) -> Option<ArchiveError> {
        self.poll();
        let mut rest = VecDeque::new();
        while let Some(incoming) = self.inbox.pop_front() {
            match incoming {
                Incoming::Response {
                    correlation_id,
                    relevant_id,
                    code: ControlResponseCode::Error,
                    message,
                } => self.async_errors.push_back(ArchiveError::from_response(
                    relevant_id,
                    message,
                    correlation_id,
                )),
                other => rest.push_back(other),
            }
        }
        self.inbox = rest;
        self.async_errors.pop_front()
    }

    /// Hands every recording signal received so far to `handler`; returns how many.
    pub fn poll_for_recording_signals(
        &mut self,
        mut handler: impl FnMut(&RecordingSignalEvent),
    ) -> usize {
        self.poll();
        let mut count = 0;
        while let Some(signal) = self.signals.pop_front() {
            handler(&signal);
            count += 1;
        }
        count
    }

    /// Waits (up to the message timeout) for `signal` on `recording_id`... or any recording when `None`;
    /// returns the event. Other signals seen on the way stay queued, in order, for later calls and for
    /// [`poll_for_recording_signals`](Self::poll_for_recording_signals).
    pub fn await_recording_signal(
        &mut self,
        recording_id: Option<i64>,
        signal: RecordingSignal,
    ) -> Result<RecordingSignalEvent, ArchiveError> {
        let deadline = Instant::now() + self.message_timeout;
        loop {
            self.poll();
            let matching = self.signals.iter().position(|event| {
                event.signal == signal && recording_id.is_none_or(|id| id == event.recording_id)
            });
            if let Some(event) = matching.and_then(|index| self.signals.remove(index)) {
                return Ok(event);
            }
            if Instant::now() > deadline {
                return Err(ArchiveError::TimedOut(format!(
                    "no {signal:?} signal in {:?}",
                    self.message_timeout
                )));
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }

    /// Closes the control session (the archive keeps recording and replaying).
    pub fn close(mut self) {
        self.close_session();
    }

    fn close_session(&mut self) {
        if self.closed {
            return;
        }
        let message = codec::CloseSessionRequest {
            control_session_id: self.control_session_id,
        }
        .to_vec();
        let _ = self.publication.offer(&message);
        self.closed = true;
    }
}

impl Drop for AeronArchive {
    fn drop(&mut self) {
        self.close_session();
    }
}
