//! A replay session: reads a recording's frames from its segment files and republishes them, with their
//! recorded positions, on an exclusive publication that starts where the replay starts.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use oxeron_client::{ExclusivePublication, OfferError};
use oxeron_protocol::frame::data::{
    HEADER_LENGTH, SESSION_ID_FIELD_OFFSET, STREAM_ID_FIELD_OFFSET,
};
use oxeron_protocol::frame::{FRAME_ALIGNMENT, HDR_TYPE_PAD, TYPE_FIELD_OFFSET};
use oxeron_protocol::{align, le};

use super::archive_counters::IoStats;
use super::recording_session::RecordedPosition;
use crate::{ArchiveStorageError, SegmentReader};

/// Where a replay stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplayLimit {
    /// A fixed position.
    Position(i64),
    /// The live recording's position, then its stop position once it stops, capped at a position
    /// (`i64::MAX` for an open-ended replay).
    FollowRecording { cap: i64 },
}

/// How a replay session ended.
#[derive(Debug)]
pub(crate) enum ReplayEnd {
    /// Everything up to the limit was published.
    Complete,
    /// The replay subscriber never connected.
    NotConnected,
    /// The replay subscriber went away after it connected.
    SubscriberLeft,
    /// The publication closed under the replay.
    PublicationClosed,
    /// The recording's files could not be read.
    Storage(ArchiveStorageError),
}

/// One replay in progress.
pub(crate) struct ReplaySession {
    pub(crate) replay_session_id: i64,
    pub(crate) recording_id: i64,
    pub(crate) bound_counter: Option<i32>,
    pub(crate) limit: ReplayLimit,
    /// Control session and correlation id of the request, for errors after the OK.
    pub(crate) requested_by: (i64, i64),
    pub(crate) channel: String,
    /// The recording's progress while it was live when the replay started.
    pub(crate) recorded: Option<Arc<RecordedPosition>>,
    /// The recording's stop position when the replay started (used when it was not live).
    pub(crate) stop_position: i64,
    /// The replay's position, read by the conductor.
    pub(crate) shared_position: Arc<AtomicI64>,
    /// Reads since the replayer last collected them.
    pub(crate) reads: IoStats,
    publication: ExclusivePublication,
    reader: SegmentReader,
    connect_deadline: Instant,
    connected: bool,
    max_block: usize,
    last_live: i64,
}

impl ReplaySession {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        replay_session_id: i64,
        recording_id: i64,
        bound_counter: Option<i32>,
        limit: ReplayLimit,
        publication: ExclusivePublication,
        mut reader: SegmentReader,
        connect_deadline: Instant,
        file_io_max_length: usize,
    ) -> Self {
        reader.end_at(match limit {
            ReplayLimit::Position(end) => end,
            ReplayLimit::FollowRecording { cap } => cap,
        });
        let max_block = file_io_max_length
            .min(publication.term_buffer_length() as usize)
            .max(publication.max_payload_length() + HEADER_LENGTH);
        Self {
            replay_session_id,
            recording_id,
            bound_counter,
            limit,
            requested_by: (0, 0),
            channel: String::new(),
            recorded: None,
            stop_position: oxeron_protocol::archive::NULL_POSITION,
            shared_position: Arc::new(AtomicI64::new(0)),
            reads: IoStats::default(),
            publication,
            reader,
            connect_deadline,
            connected: false,
            max_block,
            last_live: 0,
        }
    }

    /// Publishes the replay's position to the conductor.
    pub(crate) fn share_position(&self) {
        self.shared_position
            .store(self.reader.position(), Ordering::Release);
    }

    /// Replays what it can. `recorded` is the live recording's position (if it is still recording) and
    /// `stopped` its stop position once stopped.
    pub(crate) fn do_work(
        &mut self,
        now: Instant,
        live_position: Option<i64>,
        stop_position: i64,
        buffer: &mut Vec<u8>,
    ) -> Result<usize, ReplayEnd> {
        if self.publication.is_closed() {
            return Err(ReplayEnd::PublicationClosed);
        }
        // A bounded replay whose counter went away ends where the counter last stood.
        let stop_position = match (live_position, self.bound_counter) {
            (Some(live), _) => {
                self.last_live = live;
                stop_position
            }
            (None, Some(_)) => self.last_live,
            (None, None) => stop_position,
        };
        if !self.publication.is_connected() {
            if self.connected {
                return Err(ReplayEnd::SubscriberLeft);
            }
            if now > self.connect_deadline {
                return Err(ReplayEnd::NotConnected);
            }
            return Ok(0);
        }
        self.connected = true;
        // A fixed-position replay reads what was recorded when it started; a following one, what is
        // recorded now.
        let recorded = match self.limit {
            ReplayLimit::Position(_) => None,
            ReplayLimit::FollowRecording { .. } => Some(live_position.unwrap_or(stop_position)),
        };
        if let Some(recorded) = recorded {
            self.reader.set_limit(recorded);
        }
        let mut work = 0;
        for _ in 0..4 {
            // Read no more than the publication takes now, so blocks are rarely read twice.
            let window = self.publication.available_window();
            if window <= 0 {
                break;
            }
            let block_position = self.reader.position();
            let started = Instant::now();
            let block_length = self
                .reader
                .read_block(buffer, self.max_block.min(window as usize))
                .map_err(ReplayEnd::Storage)?;
            self.reads.record(block_length, started.elapsed());
            if block_length == 0 {
                break;
            }
            let block = &mut buffer[..block_length];
            let is_pad = le::get_u16(block, TYPE_FIELD_OFFSET) == HDR_TYPE_PAD;
            let outcome = if is_pad {
                let frame_length = le::get_i32(block, 0) as usize;
                self.publication
                    .append_padding(frame_length - HEADER_LENGTH)
            } else {
                self.stamp_session_and_stream(block);
                self.publication.offer_block(block)
            };
            match outcome {
                Ok(_) => work += block_length,
                Err(OfferError::BackPressured | OfferError::AdminAction) => {
                    // Read again next time: the buffer is shared with the other replays.
                    self.reader.rewind_to(block_position);
                    break;
                }
                Err(OfferError::NotConnected) => return Err(ReplayEnd::SubscriberLeft),
                Err(OfferError::Closed) => return Err(ReplayEnd::PublicationClosed),
                Err(other) => {
                    return Err(ReplayEnd::Storage(ArchiveStorageError::InvalidPosition {
                        position: block_position,
                        reason: leak_reason(&other),
                    }))
                }
            }
        }
        // A fixed-position replay's end is never past what was recorded; a following one also ends where
        // the recording stopped.
        let followed_to_stop = recorded.is_some()
            && live_position.is_none()
            && self.reader.position() >= stop_position;
        if self.reader.is_at_end() || followed_to_stop {
            return Err(ReplayEnd::Complete);
        }
        Ok(work)
    }
}

impl ReplaySession {
    /// Gives every data frame of a block the replay publication's session and stream ids.
    fn stamp_session_and_stream(&self, block: &mut [u8]) {
        let session_id = self.publication.session_id();
        let stream_id = self.publication.stream_id();
        let mut cursor = 0;
        while cursor < block.len() {
            le::put_i32(block, cursor + SESSION_ID_FIELD_OFFSET, session_id);
            le::put_i32(block, cursor + STREAM_ID_FIELD_OFFSET, stream_id);
            let length = le::get_i32(block, cursor) as usize;
            cursor += align(length, FRAME_ALIGNMENT);
        }
    }
}

fn leak_reason(error: &OfferError) -> &'static str {
    match error {
        OfferError::MaxPositionExceeded => "replay reached the publication's max position",
        OfferError::MessageTooLong { .. } => {
            "recorded frame longer than the replay publication allows"
        }
        _ => "recorded frames do not fit the replay publication",
    }
}
