//! A recording session: block-polls one image and appends its frames, unchanged, to segment files.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use oxeron_client::{Counter, Image};

use super::archive_counters::IoStats;
use crate::{ArchiveStorageError, SegmentWriter};

/// Why a recording session ended.
#[derive(Debug)]
pub(crate) enum RecordingEnd {
    /// The image reached end of stream or went away.
    ImageClosed,
    /// Storage failed; the recording stops at the last complete block.
    Storage(ArchiveStorageError),
    /// The conductor stopped it (its subscription was closed, or the archive is closing).
    Stopped,
}

/// How far a recording has got, shared by its session (which writes it) with the conductor and the replays
/// that follow the recording (which read it from their own threads).
#[derive(Debug)]
pub(crate) struct RecordedPosition {
    position: AtomicI64,
    active: AtomicBool,
}

impl RecordedPosition {
    pub(crate) fn new(position: i64) -> Arc<Self> {
        Arc::new(Self {
            position: AtomicI64::new(position),
            active: AtomicBool::new(true),
        })
    }

    /// The position recorded so far (the stop position once inactive).
    pub(crate) fn position(&self) -> i64 {
        self.position.load(Ordering::Acquire)
    }

    /// `Some(position)` while the recording is still recording.
    pub(crate) fn live(&self) -> Option<i64> {
        self.active.load(Ordering::Acquire).then(|| self.position())
    }

    fn set(&self, position: i64) {
        self.position.store(position, Ordering::Release);
    }

    fn deactivate(&self) {
        self.active.store(false, Ordering::Release);
    }
}

/// One image being recorded.
pub(crate) struct RecordingSession {
    pub(crate) recording_id: i64,
    pub(crate) subscription_id: i64,
    pub(crate) control_session_id: i64,
    pub(crate) correlation_id: i64,
    pub(crate) start_position: i64,
    pub(crate) auto_stop: bool,
    pub(crate) image: Arc<Image>,
    pub(crate) writer: SegmentWriter,
    pub(crate) position: Counter,
    pub(crate) recorded: Arc<RecordedPosition>,
    /// Writes since the recorder last collected them.
    pub(crate) writes: IoStats,
    block_limit: usize,
}

impl RecordingSession {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        recording_id: i64,
        subscription_id: i64,
        control_session_id: i64,
        correlation_id: i64,
        auto_stop: bool,
        image: Arc<Image>,
        writer: SegmentWriter,
        position: Counter,
        file_io_max_length: usize,
    ) -> Self {
        let start_position = writer.position();
        position.set(start_position);
        let block_limit = file_io_max_length.min(image.term_buffer_length() as usize);
        Self {
            recording_id,
            subscription_id,
            control_session_id,
            correlation_id,
            start_position,
            auto_stop,
            image,
            writer,
            position,
            recorded: RecordedPosition::new(start_position),
            writes: IoStats::default(),
            block_limit,
        }
    }

    /// Recorded position.
    pub(crate) fn recorded_position(&self) -> i64 {
        self.writer.position()
    }

    /// Records what is left in the image's buffer, for a session being stopped.
    pub(crate) fn drain(&mut self) -> Option<RecordingEnd> {
        loop {
            match self.do_work() {
                Ok(0) => return None,
                Ok(_) => {}
                Err(RecordingEnd::ImageClosed) => return None,
                Err(end) => return Some(end),
            }
        }
    }

    /// Marks the recording as no longer live; its recorded position is final.
    pub(crate) fn end(&self) {
        self.recorded.set(self.writer.position());
        self.recorded.deactivate();
    }

    /// Records what the image has; `Err` when the session is over.
    pub(crate) fn do_work(&mut self) -> Result<usize, RecordingEnd> {
        let mut failure = None;
        let writer = &mut self.writer;
        let writes = &mut self.writes;
        let bytes = self.image.block_poll(
            |block, _session_id, _term_id| {
                let started = std::time::Instant::now();
                if let Err(e) = writer.on_block(block) {
                    failure = Some(e);
                }
                writes.record(block.len(), started.elapsed());
            },
            self.block_limit,
        );
        if let Some(e) = failure {
            return Err(RecordingEnd::Storage(e));
        }
        if bytes > 0 {
            self.position.set(self.writer.position());
            self.recorded.set(self.writer.position());
            return Ok(bytes);
        }
        if self.image.is_closed() || self.image.is_end_of_stream() {
            return Err(RecordingEnd::ImageClosed);
        }
        Ok(0)
    }
}
