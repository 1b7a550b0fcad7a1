//! A persistent subscription: reads a live stream that an archive records, in order and without gaps, from a
//! chosen position. It replays what it missed, switches to the live stream once the replay has caught up,
//! and falls back to replay if the live image goes away (Aeron's `PersistentSubscription`, simplified: one
//! archive session, switching only at message boundaries).

use std::sync::Arc;
use std::time::{Duration, Instant};

use oxeron_client::{Header, Image, Subscription};
use oxeron_protocol::frame::data::END_FLAG;

use super::{AeronArchive, ArchiveError, ReplayParams, NULL_POSITION, REPLAY_ALL_AND_FOLLOW};

/// Start position that replays the recording from its beginning.
pub const FROM_START: i64 = NULL_POSITION;
/// Start position that joins the live stream wherever it is, with no history.
pub const FROM_LIVE: i64 = -2;

/// What a persistent subscription reads.
#[derive(Debug, Clone)]
pub struct PersistentSubscriptionContext {
    /// The recording of the live stream.
    pub recording_id: i64,
    /// Live channel.
    pub live_channel: String,
    /// Live stream id.
    pub live_stream_id: i32,
    /// Channel replays come on.
    pub replay_channel: String,
    /// Stream id replays come on.
    pub replay_stream_id: i32,
    /// Where to start: a recorded position, [`FROM_START`] or [`FROM_LIVE`].
    pub start_position: i64,
    /// How close (in bytes) the replay must be to the recording's end before the live stream is joined.
    pub live_join_window: i64,
}

impl PersistentSubscriptionContext {
    /// Reads `recording_id` live on `live_channel`/`live_stream_id`, replaying on
    /// `replay_channel`/`replay_stream_id`, from the recording's start.
    pub fn new(
        recording_id: i64,
        live_channel: impl Into<String>,
        live_stream_id: i32,
        replay_channel: impl Into<String>,
        replay_stream_id: i32,
    ) -> Self {
        Self {
            recording_id,
            live_channel: live_channel.into(),
            live_stream_id,
            replay_channel: replay_channel.into(),
            replay_stream_id,
            start_position: FROM_START,
            live_join_window: 64 * 1024,
        }
    }

    /// Sets the start position.
    pub fn start_position(mut self, position: i64) -> Self {
        self.start_position = position;
        self
    }
}

/// Where a persistent subscription reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersistentState {
    /// From a replay of the recording.
    Replaying,
    /// From the replay, with the live subscription added and its image awaited.
    JoiningLive,
    /// From the live stream.
    Live,
}

/// See the module docs. Not thread safe; poll it in a duty cycle.
pub struct PersistentSubscription {
    ctx: PersistentSubscriptionContext,
    state: PersistentState,
    replay: Option<(i64, Subscription)>,
    live: Option<Subscription>,
    live_image: Option<Arc<Image>>,
    position: i64,
    at_boundary: bool,
    next_check: Instant,
}

impl std::fmt::Debug for PersistentSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistentSubscription")
            .field("state", &self.state)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl PersistentSubscription {
    /// Starts reading: a replay from the start position, or the live stream for [`FROM_LIVE`].
    pub fn new(
        archive: &mut AeronArchive,
        ctx: PersistentSubscriptionContext,
    ) -> Result<Self, ArchiveError> {
        let mut this = Self {
            state: PersistentState::JoiningLive,
            replay: None,
            live: None,
            live_image: None,
            position: ctx.start_position,
            at_boundary: true,
            next_check: Instant::now(),
            ctx,
        };
        if this.ctx.start_position == FROM_LIVE {
            this.live = Some(
                archive
                    .aeron()
                    .add_subscription(&this.ctx.live_channel, this.ctx.live_stream_id)?,
            );
        } else {
            if this.position == FROM_START {
                this.position = archive.get_start_position(this.ctx.recording_id)?;
            }
            this.start_replay(archive)?;
        }
        Ok(this)
    }

    /// Where it reads from now.
    pub fn state(&self) -> PersistentState {
        self.state
    }

    /// True while reading the live stream.
    pub fn is_live(&self) -> bool {
        self.state == PersistentState::Live
    }

    /// Position of the stream read so far (the end of the last fragment delivered).
    pub fn position(&self) -> i64 {
        self.position
    }

    fn start_replay(&mut self, archive: &mut AeronArchive) -> Result<(), ArchiveError> {
        let (session, subscription) = archive.replay(
            self.ctx.recording_id,
            &self.ctx.replay_channel,
            self.ctx.replay_stream_id,
            ReplayParams::new(self.position, REPLAY_ALL_AND_FOLLOW),
        )?;
        self.replay = Some((session, subscription));
        self.state = PersistentState::Replaying;
        Ok(())
    }

    /// Hands up to `fragment_limit` fragments, in stream order, to `handler`, switching sources as needed;
    /// returns how many fragments it delivered.
    pub fn poll(
        &mut self,
        archive: &mut AeronArchive,
        mut handler: impl FnMut(&[u8], &Header),
        fragment_limit: usize,
    ) -> Result<usize, ArchiveError> {
        let (position, at_boundary) = (&mut self.position, &mut self.at_boundary);
        let mut deliver = |payload: &[u8], header: &Header| {
            *position = header.position();
            *at_boundary = header.flags() & END_FLAG != 0;
            handler(payload, header);
        };
        let fragments = match self.state {
            PersistentState::Replaying | PersistentState::JoiningLive => match self.replay.as_mut()
            {
                Some((_, replay)) => replay.poll(&mut deliver, fragment_limit),
                None => 0,
            },
            PersistentState::Live => match self.live_image.as_ref() {
                Some(image) if !image.is_closed() => image.poll(&mut deliver, fragment_limit),
                _ => 0,
            },
        };
        self.advance(archive)?;
        Ok(fragments)
    }

    fn advance(&mut self, archive: &mut AeronArchive) -> Result<(), ArchiveError> {
        let now = Instant::now();
        match self.state {
            PersistentState::Replaying => {
                if now < self.next_check {
                    return Ok(());
                }
                self.next_check = now + Duration::from_millis(10);
                let recorded = archive.get_max_recorded_position(self.ctx.recording_id)?;
                if recorded - self.position <= self.ctx.live_join_window {
                    self.live = Some(
                        archive
                            .aeron()
                            .add_subscription(&self.ctx.live_channel, self.ctx.live_stream_id)?,
                    );
                    self.state = PersistentState::JoiningLive;
                }
            }
            PersistentState::JoiningLive => {
                let Some(live) = self.live.as_mut() else {
                    return Ok(());
                };
                let Some(image) = live.images().first().cloned() else {
                    return Ok(());
                };
                if self.position == FROM_LIVE {
                    // No history wanted: read from wherever the live image joined.
                    self.position = image.join_position();
                    self.live_image = Some(image);
                    self.state = PersistentState::Live;
                    return Ok(());
                }
                // Switch once the replay reached the live image's join point, at a message boundary.
                if self.at_boundary
                    && self.position >= image.position()
                    && skip_to(&image, self.position)
                {
                    if let Some((session, _)) = self.replay.take() {
                        let _ = archive.stop_replay(session);
                    }
                    self.live_image = Some(image);
                    self.state = PersistentState::Live;
                }
            }
            PersistentState::Live => {
                let gone = self
                    .live_image
                    .as_ref()
                    .is_none_or(|image| image.is_closed());
                if gone {
                    // The live image went away: replay what it would have carried.
                    self.live_image = None;
                    self.live = None;
                    self.start_replay(archive)?;
                }
            }
        }
        Ok(())
    }
}

/// Moves `image` forward to `position` without reading (term by term, as `set_position` allows); false if
/// it can't get there.
fn skip_to(image: &Image, position: i64) -> bool {
    let term = i64::from(image.term_buffer_length());
    while image.position() < position {
        let current = image.position();
        let term_end = current - (current & (term - 1)) + term;
        if image.set_position(position.min(term_end)).is_err() {
            return false;
        }
    }
    image.position() == position
}
