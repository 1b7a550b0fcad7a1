//! Options of a replay and of a replication, as Java's `ReplayParams` and `ReplicationParams`.

use super::*;

/// How a replay runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayParams {
    /// Start position ([`NULL_POSITION`]: the recording's start).
    pub position: i64,
    /// Bytes to replay, or [`REPLAY_ALL_AND_FOLLOW`] / [`REPLAY_ALL_AND_STOP`].
    pub length: i64,
    /// Counter whose value bounds the replay ([`NULL_COUNTER_ID`]: none).
    pub bounding_limit_counter_id: i32,
    /// Largest read from the segment files (-1: the archive's default).
    pub file_io_max_length: i32,
    /// Replay token for response channels (-1: none).
    pub replay_token: i64,
}

/// Options of a replication ([`AeronArchive::replicate_with_params`]), as Java's `ReplicationParams`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationParams {
    /// Recording in this archive to extend, or [`NULL_RECORDING_ID`] for a new one.
    pub dst_recording_id: i64,
    /// Position to stop replicating at, or [`NULL_POSITION`] to follow the source recording.
    pub stop_position: i64,
    /// Destination of the live stream to merge with once caught up; empty for none.
    pub live_destination: String,
    /// Channel the replay from the source archive comes on; empty for the archive's replication channel.
    pub replication_channel: String,
    /// Response channel for the source archive's control session; empty for the default.
    pub src_response_channel: String,
    /// Tag of the replication channel, or -1.
    pub channel_tag_id: i64,
    /// Tag of the replication subscription, or -1.
    pub subscription_tag_id: i64,
    /// Largest read from the source archive's segment files (-1: its default).
    pub file_io_max_length: i32,
    /// Session id for the replicated replay (-1: chosen by the archive).
    pub replication_session_id: i32,
    /// Credentials for the source archive, if it authenticates.
    pub encoded_credentials: Vec<u8>,
}

impl Default for ReplicationParams {
    fn default() -> Self {
        Self {
            dst_recording_id: NULL_RECORDING_ID,
            stop_position: NULL_POSITION,
            live_destination: String::new(),
            replication_channel: String::new(),
            src_response_channel: String::new(),
            channel_tag_id: -1,
            subscription_tag_id: -1,
            file_io_max_length: -1,
            replication_session_id: -1,
            encoded_credentials: Vec::new(),
        }
    }
}

impl Default for ReplayParams {
    fn default() -> Self {
        Self {
            position: NULL_POSITION,
            length: REPLAY_ALL_AND_STOP,
            bounding_limit_counter_id: NULL_COUNTER_ID,
            file_io_max_length: -1,
            replay_token: -1,
        }
    }
}

impl ReplayParams {
    /// From `position` for `length` bytes.
    pub fn new(position: i64, length: i64) -> Self {
        Self {
            position,
            length,
            ..Self::default()
        }
    }
}
