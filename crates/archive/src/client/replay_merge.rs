//! Replay merge: catch up on a recording by replay, then join the live stream it records, in one image of a
//! multi-destination subscription, without a gap or a duplicate (Aeron's `ReplayMerge`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use oxeron_client::{Header, Image, Subscription};
use oxeron_protocol::archive as codec;
use oxeron_protocol::uri::ChannelUri;

use super::{AeronArchive, ArchiveError, ConnectReply};

/// Most a replay may trail the recording when the live destination is added.
pub const LIVE_ADD_MAX_WINDOW: i64 = 32 * 1024 * 1024;
const INITIAL_POSITION_BACKOFF: Duration = Duration::from_millis(8);
const MAX_POSITION_BACKOFF: Duration = Duration::from_millis(500);

/// Where a merge is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeState {
    /// Asking the archive how far the recording got.
    GetRecordingPosition,
    /// Starting the replay.
    Replay,
    /// Replaying up to the target position.
    Catchup,
    /// Close to live: adding the live destination, then dropping the replay.
    AttemptLiveJoin,
    /// Only the live destination feeds the image now.
    Merged,
    /// The merge failed (see the error `do_work` returned).
    Failed,
}

/// Merges a replay of `recording_id` into the live stream on a subscription with `control-mode=manual`.
/// Drive it with [`ReplayMerge::poll`] (or [`ReplayMerge::do_work`]) until [`ReplayMerge::is_merged`].
pub struct ReplayMerge {
    subscription: Subscription,
    replay_channel: String,
    replay_destination: String,
    live_destination: String,
    recording_id: i64,
    start_position: i64,
    state: MergeState,
    pending: Option<i64>,
    next_target_position: i64,
    replay_session_id: i64,
    image: Option<Arc<Image>>,
    live_added: bool,
    replay_active: bool,
    last_progress: Instant,
    position_of_last_progress: i64,
    progress_timeout: Duration,
    next_position_query: Instant,
    position_backoff: Duration,
}

impl std::fmt::Debug for ReplayMerge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayMerge")
            .field("state", &self.state)
            .field("next_target_position", &self.next_target_position)
            .field("live_added", &self.live_added)
            .finish_non_exhaustive()
    }
}

fn protocol(message: impl Into<String>) -> ArchiveError {
    ArchiveError::Protocol(message.into())
}

impl ReplayMerge {
    /// Starts a merge: adds `replay_destination` (`aeron:udp?endpoint=host:port`) to `subscription` (whose
    /// channel has `control-mode=manual`); the replay is sent there on `replay_channel` (give it the live
    /// publication's `session-id` so both feed one image), and `live_destination` is added once the replay
    /// is close to the live position.
    pub fn new(
        subscription: Subscription,
        archive: &AeronArchive,
        replay_channel: &str,
        replay_destination: &str,
        live_destination: &str,
        recording_id: i64,
        start_position: i64,
    ) -> Result<Self, ArchiveError> {
        for channel in [
            subscription.channel(),
            replay_channel,
            replay_destination,
            live_destination,
        ] {
            if channel.starts_with("aeron:ipc") {
                return Err(protocol("IPC merging is not supported"));
            }
        }
        if !subscription.channel().contains("control-mode=manual") {
            return Err(protocol(format!(
                "subscription URI must have 'control-mode=manual' uri={}",
                subscription.channel()
            )));
        }
        let destination = ChannelUri::parse(replay_destination)
            .map_err(|e| protocol(format!("replay destination: {e}")))?;
        let Some(endpoint) = destination.get("endpoint") else {
            return Err(protocol(format!(
                "replay destination must have an endpoint: {replay_destination}"
            )));
        };
        if endpoint.ends_with(":0") {
            return Err(protocol(
                "a replay destination with port 0 is not supported yet",
            ));
        }
        let mut replay = ChannelUri::parse(replay_channel)
            .map_err(|e| protocol(format!("replay channel: {e}")))?;
        let _ = replay.set("endpoint", endpoint);
        let _ = replay.set("linger", "0");
        let _ = replay.set("eos", "false");
        archive
            .aeron()
            .add_rcv_destination(subscription.registration_id(), replay_destination)?;
        let now = Instant::now();
        Ok(Self {
            subscription,
            replay_channel: replay.to_string(),
            replay_destination: replay_destination.to_string(),
            live_destination: live_destination.to_string(),
            recording_id,
            start_position,
            state: MergeState::GetRecordingPosition,
            pending: None,
            next_target_position: codec::NULL_POSITION,
            replay_session_id: codec::NULL_POSITION,
            image: None,
            live_added: false,
            replay_active: false,
            last_progress: now,
            position_of_last_progress: codec::NULL_POSITION,
            progress_timeout: Duration::from_secs(5),
            next_position_query: now,
            position_backoff: INITIAL_POSITION_BACKOFF,
        })
    }

    /// Where the merge is.
    pub fn state(&self) -> MergeState {
        self.state
    }

    /// True once only the live stream feeds the image.
    pub fn is_merged(&self) -> bool {
        self.state == MergeState::Merged
    }

    /// True once the merge failed.
    pub fn has_failed(&self) -> bool {
        self.state == MergeState::Failed
    }

    /// True once the live destination was added.
    pub fn is_live_added(&self) -> bool {
        self.live_added
    }

    /// The merged image, once the replay's image appeared.
    pub fn image(&self) -> Option<&Arc<Image>> {
        self.image.as_ref()
    }

    /// The subscription being merged into.
    pub fn subscription(&mut self) -> &mut Subscription {
        &mut self.subscription
    }

    /// Advances the merge, then polls the image for up to `fragment_limit` fragments.
    pub fn poll(
        &mut self,
        archive: &mut AeronArchive,
        handler: impl FnMut(&[u8], &Header),
        fragment_limit: usize,
    ) -> Result<usize, ArchiveError> {
        self.do_work(archive)?;
        Ok(self
            .image
            .as_ref()
            .map_or(0, |image| image.poll(handler, fragment_limit)))
    }

    /// Advances the merge without polling; a failure moves it to [`MergeState::Failed`].
    pub fn do_work(&mut self, archive: &mut AeronArchive) -> Result<usize, ArchiveError> {
        let result = self.step(archive);
        if result.is_err() {
            self.state = MergeState::Failed;
        }
        result
    }

    fn step(&mut self, archive: &mut AeronArchive) -> Result<usize, ArchiveError> {
        let now = Instant::now();
        let work = match self.state {
            MergeState::GetRecordingPosition => {
                if let Some(position) = self.max_recorded_position(archive, now)? {
                    self.next_target_position = position;
                    if position != codec::NULL_POSITION {
                        self.last_progress = now;
                        self.state = MergeState::Replay;
                    }
                    1
                } else {
                    0
                }
            }
            MergeState::Replay => self.replay(archive, now)?,
            MergeState::Catchup => self.catchup(now)?,
            MergeState::AttemptLiveJoin => self.attempt_live_join(archive, now)?,
            MergeState::Merged | MergeState::Failed => return Ok(0),
        };
        if now.duration_since(self.last_progress) > self.progress_timeout {
            return Err(ArchiveError::TimedOut(format!(
                "replay merge made no progress in {:?}: state={:?}",
                self.progress_timeout, self.state
            )));
        }
        Ok(work)
    }

    /// Asks for (and, on a later call, returns) the recording's max recorded position, with backoff.
    fn max_recorded_position(
        &mut self,
        archive: &mut AeronArchive,
        now: Instant,
    ) -> Result<Option<i64>, ArchiveError> {
        match self.pending {
            None => {
                if now < self.next_position_query {
                    return Ok(None);
                }
                let correlation_id = archive.aeron().next_correlation_id();
                let request = codec::MaxRecordedPositionRequest {
                    control_session_id: archive.control_session_id(),
                    correlation_id,
                    recording_id: self.recording_id,
                }
                .to_vec();
                if archive.try_send(&request)? {
                    self.pending = Some(correlation_id);
                }
                self.position_backoff = (self.position_backoff * 2).min(MAX_POSITION_BACKOFF);
                self.next_position_query = now + self.position_backoff;
                Ok(None)
            }
            Some(correlation_id) => match archive.take_connect_reply(correlation_id)? {
                Some(ConnectReply::Accepted(position)) => {
                    self.pending = None;
                    Ok(Some(position))
                }
                Some(ConnectReply::Challenged(..)) => Err(protocol("unexpected challenge")),
                None => Ok(None),
            },
        }
    }

    fn replay(&mut self, archive: &mut AeronArchive, now: Instant) -> Result<usize, ArchiveError> {
        match self.pending {
            None => {
                let correlation_id = archive.aeron().next_correlation_id();
                let request = codec::ReplayRequest {
                    control_session_id: archive.control_session_id(),
                    correlation_id,
                    recording_id: self.recording_id,
                    position: self.start_position,
                    length: i64::MAX,
                    replay_stream_id: self.subscription.stream_id(),
                    file_io_max_length: -1,
                    replay_token: -1,
                    replay_channel: &self.replay_channel,
                }
                .to_vec();
                if archive.try_send(&request)? {
                    self.pending = Some(correlation_id);
                    self.last_progress = now;
                    return Ok(1);
                }
                Ok(0)
            }
            Some(correlation_id) => match archive.take_connect_reply(correlation_id)? {
                Some(ConnectReply::Accepted(replay_session_id)) => {
                    self.pending = None;
                    self.replay_session_id = replay_session_id;
                    self.replay_active = true;
                    self.last_progress = now;
                    self.position_backoff = INITIAL_POSITION_BACKOFF;
                    self.next_position_query = now;
                    self.state = MergeState::Catchup;
                    Ok(1)
                }
                Some(ConnectReply::Challenged(..)) => Err(protocol("unexpected challenge")),
                None => Ok(0),
            },
        }
    }

    fn catchup(&mut self, now: Instant) -> Result<usize, ArchiveError> {
        if self.image.is_none() {
            if let Some(image) = self
                .subscription
                .image_by_session_id(self.replay_session_id as i32)
            {
                self.position_of_last_progress = image.position();
                self.last_progress = now;
                self.image = Some(image);
            }
        }
        let Some(image) = self.image.as_ref() else {
            return Ok(0);
        };
        let position = image.position();
        if position >= self.next_target_position {
            self.last_progress = now;
            self.position_of_last_progress = position;
            self.state = MergeState::AttemptLiveJoin;
            return Ok(1);
        }
        if position > self.position_of_last_progress {
            self.last_progress = now;
            self.position_of_last_progress = position;
        } else if image.is_closed() {
            return Err(protocol("replay merge image closed unexpectedly"));
        }
        Ok(0)
    }

    fn attempt_live_join(
        &mut self,
        archive: &mut AeronArchive,
        now: Instant,
    ) -> Result<usize, ArchiveError> {
        let Some(target) = self.max_recorded_position(archive, now)? else {
            return Ok(0);
        };
        self.next_target_position = target;
        let mut next = MergeState::Catchup;
        if let Some(image) = self.image.clone() {
            let position = image.position();
            let window = i64::from(image.term_buffer_length() >> 2).min(LIVE_ADD_MAX_WINDOW);
            if !self.live_added && target - position <= window {
                archive.aeron().add_rcv_destination(
                    self.subscription.registration_id(),
                    &self.live_destination,
                )?;
                self.live_added = true;
                self.last_progress = now;
                self.position_of_last_progress = position;
            } else if self.live_added && target - position <= 0 {
                archive.aeron().remove_rcv_destination(
                    self.subscription.registration_id(),
                    &self.replay_destination,
                )?;
                self.stop_replay(archive);
                self.last_progress = now;
                self.position_of_last_progress = position;
                next = MergeState::Merged;
            }
        }
        self.state = next;
        Ok(1)
    }

    fn stop_replay(&mut self, archive: &mut AeronArchive) {
        let request = codec::StopReplayRequest {
            control_session_id: archive.control_session_id(),
            correlation_id: archive.aeron().next_correlation_id(),
            replay_session_id: self.replay_session_id,
        }
        .to_vec();
        if archive.try_send(&request).unwrap_or(false) {
            self.replay_active = false;
        }
    }

    /// Ends the merge: removes the replay destination and stops the replay if they are still in use, and
    /// hands back the subscription.
    pub fn close(mut self, archive: &mut AeronArchive) -> Subscription {
        if !archive.aeron().is_closed() {
            if self.state != MergeState::Merged {
                let _ = archive.aeron().remove_rcv_destination(
                    self.subscription.registration_id(),
                    &self.replay_destination,
                );
            }
            if self.replay_active {
                self.stop_replay(archive);
            }
        }
        self.subscription
    }
}
