//! A replication: this archive, as a client of a source archive, replays a source recording into a
//! recording of its own (a new one, or the end of an existing one), then reports REPLICATE_END.

use std::time::Instant;

use crate::client::{AeronArchive, AsyncConnect, RecordingDescriptor};

/// Where a replication is.
pub(crate) enum ReplicationStep {
    /// Connecting to the source archive.
    Connect(Box<AsyncConnect>),
    /// Asked the source for the recording's descriptor.
    Describe(i64),
    /// Asked the source for its live recording's position (replications that merge with the live stream).
    SourcePosition(i64),
    /// Creating the destination recording's subscription.
    Extend,
    /// Asked the source to replay.
    Replay(i64),
    /// The replayed stream is being recorded.
    Replicate,
    /// Merging: the replay catches up with where the source's live recording was.
    Catchup,
    /// Merging: the live destination joins, then the replay destination leaves.
    AttemptLiveJoin,
}

/// One replication in progress.
pub(crate) struct ReplicationSession {
    pub(crate) replication_id: i64,
    pub(crate) control_session_id: i64,
    pub(crate) src_recording_id: i64,
    pub(crate) dst_recording_id: i64,
    /// Position the replication stops at, or `NULL_POSITION` to follow the source.
    pub(crate) stop_position: i64,
    pub(crate) replication_channel: String,
    pub(crate) step: ReplicationStep,
    pub(crate) src: Option<AeronArchive>,
    pub(crate) descriptor: Option<RecordingDescriptor>,
    pub(crate) replay_session_id: i32,
    pub(crate) subscription_id: i64,
    pub(crate) recording_seen: bool,
    pub(crate) deadline: Instant,
    /// Where the live stream is received once the replay has caught up (MDS destination); empty for none.
    pub(crate) live_destination: String,
    /// The replay's MDS destination while merging.
    pub(crate) replay_destination: Option<String>,
    /// The source's live recording position, as last asked for.
    pub(crate) src_recording_position: i64,
    /// The source's replay session, to stop it once merged.
    pub(crate) src_replay_session_id: i64,
    /// A recording position request to the source in flight.
    pub(crate) position_request: Option<i64>,
    pub(crate) live_added: bool,
}
