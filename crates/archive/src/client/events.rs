//! Recording events (started, progress, stopped) that an archive publishes on its events channel when
//! `aeron.archive.recording.events.enabled` is set.

use oxeron_client::{Header, Subscription};
use oxeron_protocol::archive::ArchiveMessage;

/// One recording event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingEvent {
    /// A recording started.
    Started {
        /// Recording id.
        recording_id: i64,
        /// Position the recording starts at.
        start_position: i64,
        /// Session id of the recorded image.
        session_id: i32,
        /// Stream id of the recorded image.
        stream_id: i32,
        /// Channel as given to start the recording.
        channel: String,
        /// Source of the recorded image.
        source_identity: String,
    },
    /// A recording advanced.
    Progress {
        /// Recording id.
        recording_id: i64,
        /// Position the recording started at.
        start_position: i64,
        /// Position recorded so far.
        position: i64,
    },
    /// A recording stopped.
    Stopped {
        /// Recording id.
        recording_id: i64,
        /// Position the recording started at.
        start_position: i64,
        /// Position it stopped at.
        stop_position: i64,
    },
}

/// Polls a subscription to the archive's recording events channel and decodes what arrives.
#[derive(Debug)]
pub struct RecordingEventsPoller {
    subscription: Subscription,
}

impl RecordingEventsPoller {
    /// Wraps a subscription to the events channel and stream (Aeron's default stream is 30).
    pub fn new(subscription: Subscription) -> Self {
        Self { subscription }
    }

    /// The subscription polled.
    pub fn subscription(&mut self) -> &mut Subscription {
        &mut self.subscription
    }

    /// Hands up to `fragment_limit` events to `handler`; returns the fragments read. Messages that are not
    /// recording events (or do not decode) are skipped.
    pub fn poll(
        &mut self,
        mut handler: impl FnMut(RecordingEvent),
        fragment_limit: usize,
    ) -> usize {
        self.subscription.poll(
            |payload: &[u8], _header: &Header| {
                let event = match ArchiveMessage::decode(payload) {
                    Ok(ArchiveMessage::RecordingStarted(e)) => RecordingEvent::Started {
                        recording_id: e.recording_id,
                        start_position: e.start_position,
                        session_id: e.session_id,
                        stream_id: e.stream_id,
                        channel: e.channel.to_string(),
                        source_identity: e.source_identity.to_string(),
                    },
                    Ok(ArchiveMessage::RecordingProgress(e)) => RecordingEvent::Progress {
                        recording_id: e.recording_id,
                        start_position: e.start_position,
                        position: e.position,
                    },
                    Ok(ArchiveMessage::RecordingStopped(e)) => RecordingEvent::Stopped {
                        recording_id: e.recording_id,
                        start_position: e.start_position,
                        stop_position: e.stop_position,
                    },
                    _ => return,
                };
                handler(event);
            },
            fragment_limit,
        )
    }
}
