//! What the archive says about its recordings: descriptors, recording subscriptions and recording signals.

use super::*;

/// A recording as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingDescriptor {
    /// Control session that asked for it.
    pub control_session_id: i64,
    /// Correlation id of the request.
    pub correlation_id: i64,
    /// Recording id.
    pub recording_id: i64,
    /// Epoch ms the recording started.
    pub start_timestamp: i64,
    /// Epoch ms it stopped (-1 while active).
    pub stop_timestamp: i64,
    /// First recorded position.
    pub start_position: i64,
    /// Position it stopped at (-1 while active).
    pub stop_position: i64,
    /// Initial term id of the recorded stream.
    pub initial_term_id: i32,
    /// Length of the segment files.
    pub segment_file_length: i32,
    /// Term length of the recorded stream.
    pub term_buffer_length: i32,
    /// MTU of the recorded stream.
    pub mtu_length: i32,
    /// Session id of the recorded stream.
    pub session_id: i32,
    /// Stream id of the recorded stream.
    pub stream_id: i32,
    /// Channel without tuning parameters.
    pub stripped_channel: String,
    /// Channel as given to start the recording.
    pub original_channel: String,
    /// Source of the recorded image.
    pub source_identity: String,
}

impl From<&codec::RecordingDescriptor<'_>> for RecordingDescriptor {
    fn from(d: &codec::RecordingDescriptor<'_>) -> Self {
        Self {
            control_session_id: d.control_session_id,
            correlation_id: d.correlation_id,
            recording_id: d.recording_id,
            start_timestamp: d.start_timestamp,
            stop_timestamp: d.stop_timestamp,
            start_position: d.start_position,
            stop_position: d.stop_position,
            initial_term_id: d.initial_term_id,
            segment_file_length: d.segment_file_length,
            term_buffer_length: d.term_buffer_length,
            mtu_length: d.mtu_length,
            session_id: d.session_id,
            stream_id: d.stream_id,
            stripped_channel: d.stripped_channel.to_string(),
            original_channel: d.original_channel.to_string(),
            source_identity: d.source_identity.to_string(),
        }
    }
}

/// A recording subscription the archive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSubscriptionDescriptor {
    /// Registration id of the subscription (what `start_recording` returned).
    pub subscription_id: i64,
    /// Stream id.
    pub stream_id: i32,
    /// Stripped channel.
    pub stripped_channel: String,
}

/// A recording signal sent to the session that started or extended a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingSignalEvent {
    /// Control session.
    pub control_session_id: i64,
    /// Correlation id of the request that caused it.
    pub correlation_id: i64,
    /// Recording.
    pub recording_id: i64,
    /// Recording subscription (-1 when not applicable).
    pub subscription_id: i64,
    /// Position of the signal.
    pub position: i64,
    /// What happened.
    pub signal: RecordingSignal,
}
