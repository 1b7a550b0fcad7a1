//! Every message template of the archive schema (id 101, version 14): control requests, control responses,
//! recording events and the catalog layouts, plus [`ArchiveMessage`] to decode any of them by template id.

use super::enums::{
    ArchiveErrorCode, BooleanType, ControlResponseCode, RecordingSignal, RecordingState,
    SourceLocation,
};
use super::sbe::{sbe_message, MessageHeader};
use super::{NULL_I32, NULL_I64, SCHEMA_ID, SCHEMA_VERSION, VERSION_NULL};
use crate::DecodeError;

sbe_message! {
    /// Generic response to a control request.
    ControlResponse<'a> {
        what: "ControlResponse",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 1,
        block: 32,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Id the response concerns (e.g. controlSessionId, recording id, or an error code).
            relevant_id: i64 = 16,
            /// Outcome.
            code: ControlResponseCode = 24,
            /// Archive protocol version (null 0 before v4).
            version: i32 = 28 since 4 null VERSION_NULL,
        },
        var: {
            /// Error text when the code is ERROR.
            error_message: &'a str;
        },
    }
}

sbe_message! {
    /// Legacy connect request (superseded by AuthConnectRequest, not sent by 1.54 clients).
    ConnectRequest<'a> {
        what: "ConnectRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 2,
        block: 16,
        fields: {
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 0,
            /// Stream id for responses.
            response_stream_id: i32 = 8,
            /// Client protocol version (since v2).
            version: i32 = 12 since 2 null VERSION_NULL,
        },
        var: {
            /// Channel for responses.
            response_channel: &'a str;
        },
    }
}

sbe_message! {
    /// Close a control session.
    CloseSessionRequest {
        what: "CloseSessionRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 3,
        block: 8,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Record a channel and stream.
    StartRecordingRequest<'a> {
        what: "StartRecordingRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 4,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Stream id.
            stream_id: i32 = 16,
            /// Whether the publication is local to the archive's driver.
            source_location: SourceLocation = 20,
        },
        var: {
            /// Channel URI.
            channel: &'a str;
        },
    }
}

sbe_message! {
    /// Stop recording a channel and stream.
    StopRecordingRequest<'a> {
        what: "StopRecordingRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 5,
        block: 20,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Stream id.
            stream_id: i32 = 16,
        },
        var: {
            /// Channel URI.
            channel: &'a str;
        },
    }
}

sbe_message! {
    /// Replay a range of a recording.
    ReplayRequest<'a> {
        what: "ReplayRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 6,
        block: 56,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
            /// Position in the recording.
            position: i64 = 24,
            /// Bytes to replay; -1 follows a live recording, -2 replays up to the current end.
            length: i64 = 32,
            /// Stream id to replay to.
            replay_stream_id: i32 = 40,
            /// Largest file read per replay step; <= 0 for the archive default (since v7).
            file_io_max_length: i32 = 44 since 7 null NULL_I32,
            /// Token for a request arriving on another image; -1 when not used (since v10).
            replay_token: i64 = 48 since 10 null NULL_I64,
        },
        var: {
            /// Channel to replay to.
            replay_channel: &'a str;
        },
    }
}

sbe_message! {
    /// Stop a replay.
    StopReplayRequest {
        what: "StopReplayRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 7,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Replay session to stop.
            replay_session_id: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// List a range of recording descriptors.
    ListRecordingsRequest {
        what: "ListRecordingsRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 8,
        block: 28,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// First recording id to list.
            from_recording_id: i64 = 16,
            /// Most descriptors to send.
            record_count: i32 = 24,
        },
        var: {
        },
    }
}

sbe_message! {
    /// List recording descriptors matching a channel and stream.
    ListRecordingsForUriRequest<'a> {
        what: "ListRecordingsForUriRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 9,
        block: 32,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// First recording id to list.
            from_recording_id: i64 = 16,
            /// Most descriptors to send.
            record_count: i32 = 24,
            /// Stream id.
            stream_id: i32 = 28,
        },
        var: {
            /// Channel URI.
            channel: &'a str;
        },
    }
}

sbe_message! {
    /// List one recording descriptor.
    ListRecordingRequest {
        what: "ListRecordingRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 10,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Extend an existing recording.
    ExtendRecordingRequest<'a> {
        what: "ExtendRecordingRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 11,
        block: 32,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
            /// Stream id.
            stream_id: i32 = 24,
            /// Whether the publication is local to the archive's driver.
            source_location: SourceLocation = 28,
        },
        var: {
            /// Channel URI.
            channel: &'a str;
        },
    }
}

sbe_message! {
    /// Ask for the live recorded position.
    RecordingPositionRequest {
        what: "RecordingPositionRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 12,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Truncate a stopped recording.
    TruncateRecordingRequest {
        what: "TruncateRecordingRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 13,
        block: 32,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
            /// Position to truncate at.
            position: i64 = 24,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Stop a recording by its subscription id.
    StopRecordingSubscriptionRequest {
        what: "StopRecordingSubscriptionRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 14,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Registration id of the recording subscription.
            subscription_id: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Ask for a recording's stop position.
    StopPositionRequest {
        what: "StopPositionRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 15,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Find the newest recording matching session, stream and channel.
    FindLastMatchingRecordingRequest<'a> {
        what: "FindLastMatchingRecordingRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 16,
        block: 32,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Lowest recording id to search down to.
            min_recording_id: i64 = 16,
            /// Session id of the recorded image.
            session_id: i32 = 24,
            /// Stream id.
            stream_id: i32 = 28,
        },
        var: {
            /// Substring the original channel must contain (empty matches any).
            channel: &'a str;
        },
    }
}

sbe_message! {
    /// List active recording subscriptions.
    ListRecordingSubscriptionsRequest<'a> {
        what: "ListRecordingSubscriptionsRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 17,
        block: 32,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Start index into the archive's recording subscriptions.
            pseudo_index: i32 = 16,
            /// Most descriptors to send.
            subscription_count: i32 = 20,
            /// Whether `stream_id` filters the list.
            apply_stream_id: BooleanType = 24,
            /// Stream id.
            stream_id: i32 = 28,
        },
        var: {
            /// Channel substring filter.
            channel: &'a str;
        },
    }
}

sbe_message! {
    /// Replay a range of a recording bounded by a counter.
    BoundedReplayRequest<'a> {
        what: "BoundedReplayRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 18,
        block: 60,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
            /// Position in the recording.
            position: i64 = 24,
            /// Bytes to replay; -1 follows a live recording, -2 replays up to the current end.
            length: i64 = 32,
            /// Counter whose value bounds the replay.
            limit_counter_id: i32 = 40,
            /// Stream id to replay to.
            replay_stream_id: i32 = 44,
            /// Largest file read per replay step; <= 0 for the archive default (since v7).
            file_io_max_length: i32 = 48 since 7 null NULL_I32,
            /// Token for a request arriving on another image; -1 when not used (since v10).
            replay_token: i64 = 52 since 10 null NULL_I64,
        },
        var: {
            /// Channel to replay to.
            replay_channel: &'a str;
        },
    }
}

sbe_message! {
    /// Stop all replays (of one recording, or all with -1).
    StopAllReplaysRequest {
        what: "StopAllReplaysRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 19,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// First 32 bytes of the catalog file (no SBE header there).
    CatalogHeader {
        what: "CatalogHeader",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 20,
        block: 32,
        fields: {
            /// Catalog format version (3.1.0 = 196864).
            version: i32 = 0,
            /// Length of the catalog header (32).
            length: i32 = 4,
            /// Id the next recording gets.
            next_recording_id: i64 = 8,
            /// Alignment of catalog entries (0 in legacy catalogs, meaning 1024).
            alignment: i32 = 16,
            /// Reserved byte that pins the block length to 32.
            reserved: i8 = 31,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Header of a catalog entry (no SBE header in the catalog).
    RecordingDescriptorHeader {
        what: "RecordingDescriptorHeader",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 21,
        block: 32,
        fields: {
            /// Length of the descriptor body that follows, alignment padding included.
            length: i32 = 0,
            /// State of the entry.
            state: RecordingState = 4,
            /// Checksum of the descriptor body, 0 unless record checksums are configured.
            checksum: i32 = 8,
            /// Reserved byte that pins the block length to 32.
            reserved: i8 = 31,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Describes a recording (catalog entry body, and listing response).
    RecordingDescriptor<'a> {
        what: "RecordingDescriptor",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 22,
        block: 80,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
            /// Epoch ms when the recording started.
            start_timestamp: i64 = 24,
            /// Epoch ms when the recording stopped; -1 while active.
            stop_timestamp: i64 = 32,
            /// Position the recording starts at.
            start_position: i64 = 40,
            /// Position the recording stopped at; -1 while active.
            stop_position: i64 = 48,
            /// Initial term id of the recorded stream.
            initial_term_id: i32 = 56,
            /// Length of each segment file.
            segment_file_length: i32 = 60,
            /// Term length of the recorded stream.
            term_buffer_length: i32 = 64,
            /// MTU of the recorded stream.
            mtu_length: i32 = 68,
            /// Session id of the recorded image.
            session_id: i32 = 72,
            /// Stream id.
            stream_id: i32 = 76,
        },
        var: {
            /// Channel reduced to its key parameters.
            stripped_channel: &'a str;
            /// Channel as given in the start-recording request.
            original_channel: &'a str;
            /// Source identity of the recorded image.
            source_identity: &'a str;
        },
    }
}

sbe_message! {
    /// Describes an active recording subscription.
    RecordingSubscriptionDescriptor<'a> {
        what: "RecordingSubscriptionDescriptor",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 23,
        block: 28,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Registration id of the recording subscription.
            subscription_id: i64 = 16,
            /// Stream id.
            stream_id: i32 = 24,
        },
        var: {
            /// Channel reduced to its key parameters.
            stripped_channel: &'a str;
        },
    }
}

sbe_message! {
    /// Signal of an operation on a recording, sent on the control response stream.
    RecordingSignalEvent {
        what: "RecordingSignalEvent",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 24,
        block: 44,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
            /// Registration id of the recording subscription.
            subscription_id: i64 = 24,
            /// Position of the recording when the signal was raised.
            position: i64 = 32,
            /// What happened.
            signal: RecordingSignal = 40,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Replicate a recording from another archive.
    ReplicateRequest<'a> {
        what: "ReplicateRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 50,
        block: 36,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording id in the source archive.
            src_recording_id: i64 = 16,
            /// Recording id in this archive to extend, or -1 for a new one.
            dst_recording_id: i64 = 24,
            /// Control stream id of the source archive.
            src_control_stream_id: i32 = 32,
        },
        var: {
            /// Control channel of the source archive.
            src_control_channel: &'a str;
            /// Destination to merge the live stream from, or empty.
            live_destination: &'a str;
        },
    }
}

sbe_message! {
    /// Stop a replication.
    StopReplicationRequest {
        what: "StopReplicationRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 51,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Replication to stop.
            replication_id: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Ask for a recording's start position.
    StartPositionRequest {
        what: "StartPositionRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 52,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Detach segments from the start of a recording.
    DetachSegmentsRequest {
        what: "DetachSegmentsRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 53,
        block: 32,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
            /// New start position of the recording.
            new_start_position: i64 = 24,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Delete detached segments of a recording.
    DeleteDetachedSegmentsRequest {
        what: "DeleteDetachedSegmentsRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 54,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Detach and delete segments from the start of a recording.
    PurgeSegmentsRequest {
        what: "PurgeSegmentsRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 55,
        block: 32,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
            /// New start position of the recording.
            new_start_position: i64 = 24,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Attach detached segments back to the start of a recording.
    AttachSegmentsRequest {
        what: "AttachSegmentsRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 56,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Move segments of one recording to the start of another.
    MigrateSegmentsRequest {
        what: "MigrateSegmentsRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 57,
        block: 32,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording id in the source archive.
            src_recording_id: i64 = 16,
            /// Recording id in this archive to extend, or -1 for a new one.
            dst_recording_id: i64 = 24,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Connect to the archive, with credentials.
    AuthConnectRequest<'a> {
        what: "AuthConnectRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 58,
        block: 16,
        fields: {
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 0,
            /// Stream id for responses.
            response_stream_id: i32 = 8,
            /// Client protocol version.
            version: i32 = 12,
        },
        var: {
            /// Channel for responses.
            response_channel: &'a str;
            /// Credentials for the authenticator.
            encoded_credentials: &'a [u8];
            /// Client description (`name=.. version=.. commit=..`) (since v12).
            client_info: &'a str, since 12;
        },
    }
}

sbe_message! {
    /// Challenge from the archive's authenticator.
    Challenge<'a> {
        what: "Challenge",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 59,
        block: 20,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Archive protocol version.
            version: i32 = 16,
        },
        var: {
            /// Challenge from the authenticator.
            encoded_challenge: &'a [u8];
        },
    }
}

sbe_message! {
    /// Answer to a Challenge.
    ChallengeResponse<'a> {
        what: "ChallengeResponse",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 60,
        block: 16,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
        },
        var: {
            /// Credentials for the authenticator.
            encoded_credentials: &'a [u8];
        },
    }
}

sbe_message! {
    /// Keep a control session alive.
    KeepAliveRequest {
        what: "KeepAliveRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 61,
        block: 16,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Replicate with tagged channel and subscription.
    TaggedReplicateRequest<'a> {
        what: "TaggedReplicateRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 62,
        block: 52,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording id in the source archive.
            src_recording_id: i64 = 16,
            /// Recording id in this archive to extend, or -1 for a new one.
            dst_recording_id: i64 = 24,
            /// Tag of the replication channel, or -1.
            channel_tag_id: i64 = 32,
            /// Tag of the replication subscription, or -1.
            subscription_tag_id: i64 = 40,
            /// Control stream id of the source archive.
            src_control_stream_id: i32 = 48,
        },
        var: {
            /// Control channel of the source archive.
            src_control_channel: &'a str;
            /// Destination to merge the live stream from, or empty.
            live_destination: &'a str;
        },
    }
}

sbe_message! {
    /// Record a channel and stream, optionally stopping with the recording.
    StartRecordingRequest2<'a> {
        what: "StartRecordingRequest2",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 63,
        block: 28,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Stream id.
            stream_id: i32 = 16,
            /// Whether the publication is local to the archive's driver.
            source_location: SourceLocation = 20,
            /// Whether the recording subscription is removed when the recording stops.
            auto_stop: BooleanType = 24,
        },
        var: {
            /// Channel URI.
            channel: &'a str;
        },
    }
}

sbe_message! {
    /// Extend a recording, optionally stopping with it.
    ExtendRecordingRequest2<'a> {
        what: "ExtendRecordingRequest2",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 64,
        block: 36,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
            /// Stream id.
            stream_id: i32 = 24,
            /// Whether the publication is local to the archive's driver.
            source_location: SourceLocation = 28,
            /// Whether the recording subscription is removed when the recording stops.
            auto_stop: BooleanType = 32,
        },
        var: {
            /// Channel URI.
            channel: &'a str;
        },
    }
}

sbe_message! {
    /// Stop an active recording by its id.
    StopRecordingByIdentityRequest {
        what: "StopRecordingByIdentityRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 65,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Replicate a recording with every option (since v6).
    ReplicateRequest2<'a> {
        what: "ReplicateRequest2",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 66,
        block: 68,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording id in the source archive.
            src_recording_id: i64 = 16,
            /// Recording id in this archive to extend, or -1 for a new one.
            dst_recording_id: i64 = 24,
            /// Position to stop replicating at, or -1 to follow.
            stop_position: i64 = 32,
            /// Tag of the replication channel, or -1.
            channel_tag_id: i64 = 40,
            /// Tag of the replication subscription, or -1.
            subscription_tag_id: i64 = 48,
            /// Control stream id of the source archive.
            src_control_stream_id: i32 = 56,
            /// Largest file read per replay step (since v7).
            file_io_max_length: i32 = 60 since 7 null NULL_I32,
            /// Session id for the replication, or null (since v8).
            replication_session_id: i32 = 64 since 8 null NULL_I32,
        },
        var: {
            /// Control channel of the source archive.
            src_control_channel: &'a str;
            /// Destination to merge the live stream from, or empty.
            live_destination: &'a str;
            /// Channel for the replication replay, or empty for the archive default.
            replication_channel: &'a str;
            /// Credentials for the authenticator.
            encoded_credentials: &'a [u8], since 8;
            /// Response channel for the source archive (since v10).
            src_response_channel: &'a str, since 10;
        },
    }
}

sbe_message! {
    /// Ask for the live or stop position of a recording (since v9).
    MaxRecordedPositionRequest {
        what: "MaxRecordedPositionRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 67,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Ask for the archive id (since v9).
    ArchiveIdRequest {
        what: "ArchiveIdRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 68,
        block: 16,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Recording events: a recording started.
    RecordingStarted<'a> {
        what: "RecordingStarted",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 101,
        block: 24,
        fields: {
            /// Recording the request is about.
            recording_id: i64 = 0,
            /// Position the recording starts at.
            start_position: i64 = 8,
            /// Session id of the recorded image.
            session_id: i32 = 16,
            /// Stream id.
            stream_id: i32 = 20,
        },
        var: {
            /// Channel URI.
            channel: &'a str;
            /// Source identity of the recorded image.
            source_identity: &'a str;
        },
    }
}

sbe_message! {
    /// Recording events: a recording progressed.
    RecordingProgress {
        what: "RecordingProgress",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 102,
        block: 24,
        fields: {
            /// Recording the request is about.
            recording_id: i64 = 0,
            /// Position the recording starts at.
            start_position: i64 = 8,
            /// Recorded position.
            position: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Recording events: a recording stopped.
    RecordingStopped {
        what: "RecordingStopped",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 103,
        block: 24,
        fields: {
            /// Recording the request is about.
            recording_id: i64 = 0,
            /// Position the recording starts at.
            start_position: i64 = 8,
            /// Position the recording stopped at; -1 while active.
            stop_position: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Delete a stopped recording and its files (since v5).
    PurgeRecordingRequest {
        what: "PurgeRecordingRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 104,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Ask for a token to replay through another image (since v10).
    ReplayTokenRequest {
        what: "ReplayTokenRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 105,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Liveness ping from the archive on the control response stream (since v11).
    Ping {
        what: "Ping",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 106,
        block: 8,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
        },
        var: {
        },
    }
}

sbe_message! {
    /// Update the channel of a recording (since v13).
    UpdateChannelRequest<'a> {
        what: "UpdateChannelRequest",
        schema: SCHEMA_ID,
        version: SCHEMA_VERSION,
        template: 107,
        block: 24,
        fields: {
            /// Control session the message belongs to.
            control_session_id: i64 = 0,
            /// Correlation id of the request (echoed in responses).
            correlation_id: i64 = 8,
            /// Recording the request is about.
            recording_id: i64 = 16,
        },
        var: {
            /// New channel of the recording.
            channel: &'a str;
        },
    }
}

macro_rules! archive_messages {
    ($( $name:ident $(<$lt:lifetime>)? ),* $(,)?) => {
        /// Any message of the archive schema, decoded by its template id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ArchiveMessage<'a> {
            $(
                #[doc = concat!("Template `", stringify!($name), "`.")]
                $name($name $(<$lt>)?),
            )*
        }

        impl<'a> ArchiveMessage<'a> {
            /// Decodes a whole message (SBE header first). Fails with [`DecodeError::InvalidValue`] for another
            /// schema id and [`DecodeError::UnknownType`] for a template id this schema does not define.
            pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
                let header = MessageHeader::decode(bytes)?;
                if header.schema_id != SCHEMA_ID {
                    return Err(DecodeError::InvalidValue {
                        what: "archive message",
                        field: "schemaId",
                        value: header.schema_id.into(),
                    });
                }
                match header.template_id {
                    $( $name::TEMPLATE_ID => $name::decode(bytes).map(Self::$name), )*
                    other => Err(DecodeError::UnknownType {
                        what: "archive message",
                        type_id: other.into(),
                    }),
                }
            }

            /// The message's template id.
            pub fn template_id(&self) -> u16 {
                match self {
                    $( Self::$name(_) => $name::TEMPLATE_ID, )*
                }
            }

            /// The message's name in the schema.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Self::$name(_) => stringify!($name), )*
                }
            }

            /// Length of the encoded message, SBE header included.
            pub fn encoded_length(&self) -> usize {
                match self {
                    $( Self::$name(m) => m.encoded_length(), )*
                }
            }

            /// Writes the message at the start of `buf`; returns its length. Panics if `buf` is too short.
            pub fn encode(&self, buf: &mut [u8]) -> usize {
                match self {
                    $( Self::$name(m) => m.encode(buf), )*
                }
            }

            /// The encoded message as a new vector.
            pub fn to_vec(&self) -> Vec<u8> {
                match self {
                    $( Self::$name(m) => m.to_vec(), )*
                }
            }

            /// Builds the message of `template_id` from arbitrary input (see each message's `from_sample`);
            /// `None` for an unknown template id.
            pub fn from_sample(
                template_id: u16,
                ints: &[i64],
                texts: &'a [String],
                blobs: &'a [Vec<u8>],
            ) -> Option<Self> {
                match template_id {
                    $( $name::TEMPLATE_ID => Some(Self::$name($name::from_sample(ints, texts, blobs))), )*
                    _ => None,
                }
            }
        }

        $(
            impl<'a> From<$name $(<$lt>)?> for ArchiveMessage<'a> {
                fn from(message: $name $(<$lt>)?) -> Self {
                    Self::$name(message)
                }
            }
        )*

        /// Template ids of every message of the schema, in schema order.
        pub const TEMPLATE_IDS: &[u16] = &[$( $name::TEMPLATE_ID ),*];
    };
}

archive_messages! {
    ControlResponse<'a>,
    ConnectRequest<'a>,
    CloseSessionRequest,
    StartRecordingRequest<'a>,
    StopRecordingRequest<'a>,
    ReplayRequest<'a>,
    StopReplayRequest,
    ListRecordingsRequest,
    ListRecordingsForUriRequest<'a>,
    ListRecordingRequest,
    ExtendRecordingRequest<'a>,
    RecordingPositionRequest,
    TruncateRecordingRequest,
    StopRecordingSubscriptionRequest,
    StopPositionRequest,
    FindLastMatchingRecordingRequest<'a>,
    ListRecordingSubscriptionsRequest<'a>,
    BoundedReplayRequest<'a>,
    StopAllReplaysRequest,
    CatalogHeader,
    RecordingDescriptorHeader,
    RecordingDescriptor<'a>,
    RecordingSubscriptionDescriptor<'a>,
    RecordingSignalEvent,
    ReplicateRequest<'a>,
    StopReplicationRequest,
    StartPositionRequest,
    DetachSegmentsRequest,
    DeleteDetachedSegmentsRequest,
    PurgeSegmentsRequest,
    AttachSegmentsRequest,
    MigrateSegmentsRequest,
    AuthConnectRequest<'a>,
    Challenge<'a>,
    ChallengeResponse<'a>,
    KeepAliveRequest,
    TaggedReplicateRequest<'a>,
    StartRecordingRequest2<'a>,
    ExtendRecordingRequest2<'a>,
    StopRecordingByIdentityRequest,
    ReplicateRequest2<'a>,
    MaxRecordedPositionRequest,
    ArchiveIdRequest,
    RecordingStarted<'a>,
    RecordingProgress,
    RecordingStopped,
    PurgeRecordingRequest,
    ReplayTokenRequest,
    Ping,
    UpdateChannelRequest<'a>,
}

impl ControlResponse<'_> {
    /// The archive error code carried in `relevant_id` when `code` is ERROR (`None` otherwise, or for a value
    /// this version does not define).
    pub fn error_code(&self) -> Option<ArchiveErrorCode> {
        match self.code {
            ControlResponseCode::Error => ArchiveErrorCode::from_i64(self.relevant_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::sbe::MESSAGE_HEADER_LENGTH;
    use crate::archive::PROTOCOL_SEMANTIC_VERSION;
    use crate::le;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// Builds message bytes field by field, the way the schema lays them out.
    #[derive(Default)]
    struct Bytes(Vec<u8>);

    impl Bytes {
        fn header(block: u16, template: u16, version: u16) -> Self {
            let mut b = Self::default();
            b.u16(block).u16(template).u16(101).u16(version);
            b
        }
        fn u16(&mut self, v: u16) -> &mut Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        fn i32(&mut self, v: i32) -> &mut Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        fn i64(&mut self, v: i64) -> &mut Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        fn var(&mut self, v: &[u8]) -> &mut Self {
            self.0.extend_from_slice(&(v.len() as u32).to_le_bytes());
            self.0.extend_from_slice(v);
            self
        }
    }

    fn check_vector<'a, M>(message: M, expected: &'a [u8])
    where
        M: Into<ArchiveMessage<'a>> + Copy + std::fmt::Debug + PartialEq,
    {
        let any: ArchiveMessage<'a> = message.into();
        assert_eq!(any.to_vec(), expected, "{}", any.name());
        assert_eq!(any.encoded_length(), expected.len());
        assert_eq!(ArchiveMessage::decode(expected), Ok(any));
    }

    #[test]
    fn auth_connect_request_vector() {
        let mut b = Bytes::header(16, 58, 14);
        b.i64(25)
            .i32(20)
            .i32(68_608)
            .var(b"aeron:udp?endpoint=localhost:8020")
            .var(&[1, 2, 3])
            .var(b"name=x");
        assert_eq!(&b.0[12..16], &[0, 0, 0, 0]);
        assert_eq!(&b.0[20..24], &[0x00, 0x0C, 0x01, 0x00]);
        check_vector(
            AuthConnectRequest {
                correlation_id: 25,
                response_stream_id: 20,
                version: PROTOCOL_SEMANTIC_VERSION,
                response_channel: "aeron:udp?endpoint=localhost:8020",
                encoded_credentials: &[1, 2, 3],
                client_info: "name=x",
            },
            &b.0,
        );
    }

    #[test]
    fn connect_request_vector() {
        let mut b = Bytes::header(16, 2, 14);
        b.i64(-7).i32(20).i32(68_608).var(b"aeron:ipc");
        check_vector(
            ConnectRequest {
                correlation_id: -7,
                response_stream_id: 20,
                version: 68_608,
                response_channel: "aeron:ipc",
            },
            &b.0,
        );
    }

    #[test]
    fn start_recording_request_vector() {
        let mut b = Bytes::header(24, 4, 14);
        b.i64(947_975_080)
            .i64(31)
            .i32(1004)
            .i32(1)
            .var(b"aeron:ipc?term-length=65536");
        check_vector(
            StartRecordingRequest {
                control_session_id: 947_975_080,
                correlation_id: 31,
                stream_id: 1004,
                source_location: SourceLocation::Remote,
                channel: "aeron:ipc?term-length=65536",
            },
            &b.0,
        );
    }

    #[test]
    fn control_response_vector() {
        let mut b = Bytes::header(32, 1, 14);
        b.i64(947_975_080)
            .i64(30)
            .i64(5)
            .i32(1)
            .i32(68_608)
            .var(b"unknown recording");
        let response = ControlResponse {
            control_session_id: 947_975_080,
            correlation_id: 30,
            relevant_id: 5,
            code: ControlResponseCode::Error,
            version: 68_608,
            error_message: "unknown recording",
        };
        check_vector(response, &b.0);
        assert_eq!(
            response.error_code(),
            Some(ArchiveErrorCode::UnknownRecording)
        );
        let ok = ControlResponse {
            code: ControlResponseCode::Ok,
            ..response
        };
        assert_eq!(ok.error_code(), None);
    }

    #[test]
    fn recording_descriptor_vector() {
        let mut b = Bytes::header(80, 22, 14);
        b.i64(1).i64(2).i64(3).i64(4).i64(-1).i64(0).i64(-1);
        b.i32(-9)
            .i32(262_144)
            .i32(65_536)
            .i32(1408)
            .i32(-11)
            .i32(1001);
        b.var(b"aeron:ipc")
            .var(b"aeron:ipc?term-length=65536")
            .var(b"aeron:ipc");
        assert_eq!(b.0.len(), 8 + 137);
        check_vector(
            RecordingDescriptor {
                control_session_id: 1,
                correlation_id: 2,
                recording_id: 3,
                start_timestamp: 4,
                stop_timestamp: -1,
                start_position: 0,
                stop_position: -1,
                initial_term_id: -9,
                segment_file_length: 262_144,
                term_buffer_length: 65_536,
                mtu_length: 1408,
                session_id: -11,
                stream_id: 1001,
                stripped_channel: "aeron:ipc",
                original_channel: "aeron:ipc?term-length=65536",
                source_identity: "aeron:ipc",
            },
            &b.0,
        );
    }

    #[test]
    fn block_lengths_match_the_schema() {
        let ids_and_blocks = [
            (
                ControlResponse::TEMPLATE_ID,
                ControlResponse::BLOCK_LENGTH,
                1,
                32,
            ),
            (
                ReplayRequest::TEMPLATE_ID,
                ReplayRequest::BLOCK_LENGTH,
                6,
                56,
            ),
            (
                BoundedReplayRequest::TEMPLATE_ID,
                BoundedReplayRequest::BLOCK_LENGTH,
                18,
                60,
            ),
            (
                ReplicateRequest2::TEMPLATE_ID,
                ReplicateRequest2::BLOCK_LENGTH,
                66,
                68,
            ),
            (
                TaggedReplicateRequest::TEMPLATE_ID,
                TaggedReplicateRequest::BLOCK_LENGTH,
                62,
                52,
            ),
            (
                RecordingSignalEvent::TEMPLATE_ID,
                RecordingSignalEvent::BLOCK_LENGTH,
                24,
                44,
            ),
            (
                UpdateChannelRequest::TEMPLATE_ID,
                UpdateChannelRequest::BLOCK_LENGTH,
                107,
                24,
            ),
        ];
        for (id, block, want_id, want_block) in ids_and_blocks {
            assert_eq!((id, block), (want_id, want_block));
        }
        assert_eq!(TEMPLATE_IDS.len(), 50);
        let mut sorted = TEMPLATE_IDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), TEMPLATE_IDS.len());
    }

    #[test]
    fn longer_block_from_newer_peer_is_skipped() {
        // A v15 ReplayRequest with an extra i64 (block 64): var data starts after the longer block.
        let mut b = Bytes::header(64, 6, 15);
        b.i64(1)
            .i64(2)
            .i64(3)
            .i64(0)
            .i64(-2)
            .i32(2001)
            .i32(-1)
            .i64(-1)
            .i64(1_000_000);
        b.var(b"aeron:ipc");
        let decoded = ReplayRequest::decode(&b.0).unwrap();
        assert_eq!(decoded.replay_channel, "aeron:ipc");
        assert_eq!(decoded.replay_token, -1);
        assert_eq!(decoded.replay_stream_id, 2001);
        // Our encoding writes the v14 block.
        assert_eq!(decoded.encoded_length(), b.0.len() - 8);
    }

    #[test]
    fn shorter_block_from_older_peer_gets_nulls() {
        // A v6 ReplayRequest: no fileIoMaxLength (v7) nor replayToken (v10), block 44.
        let mut b = Bytes::header(44, 6, 6);
        b.i64(1)
            .i64(2)
            .i64(3)
            .i64(0)
            .i64(-2)
            .i32(2001)
            .var(b"aeron:ipc");
        let decoded = ReplayRequest::decode(&b.0).unwrap();
        assert_eq!(decoded.file_io_max_length, NULL_I32);
        assert_eq!(decoded.replay_token, NULL_I64);
        assert_eq!(decoded.replay_channel, "aeron:ipc");

        // A v3 ControlResponse: no version field, block 28.
        let mut b = Bytes::header(28, 1, 3);
        b.i64(1).i64(2).i64(3).i32(0).var(b"");
        let decoded = ControlResponse::decode(&b.0).unwrap();
        assert_eq!(decoded.version, VERSION_NULL);
        assert_eq!(decoded.code, ControlResponseCode::Ok);

        // A v11 AuthConnectRequest: no clientInfo var data.
        let mut b = Bytes::header(16, 58, 11);
        b.i64(1).i32(20).i32(68_608).var(b"aeron:ipc").var(b"");
        let decoded = AuthConnectRequest::decode(&b.0).unwrap();
        assert_eq!(decoded.client_info, "");
        assert_eq!(decoded.response_channel, "aeron:ipc");

        // A header claiming version 14 but with a block too short for fixed fields that exist at v1.
        let mut b = Bytes::header(20, 6, 14);
        b.i64(1).i64(2).i32(3);
        assert!(matches!(
            ReplayRequest::decode(&b.0),
            Err(DecodeError::BadLength {
                field: "blockLength",
                ..
            })
        ));
        // A versioned field the block does not reach even though the version says it should be there.
        let mut b = Bytes::header(44, 6, 14);
        b.i64(1).i64(2).i64(3).i64(0).i64(-2).i32(2001).var(b"");
        assert_eq!(ReplayRequest::decode(&b.0).unwrap().replay_token, NULL_I64);
    }

    #[test]
    fn rejects_wrong_schema_template_and_truncation() {
        let bytes = KeepAliveRequest {
            control_session_id: 1,
            correlation_id: -1,
        }
        .to_vec();
        let mut other_schema = bytes.clone();
        le::put_u16(&mut other_schema, 4, 100);
        assert!(matches!(
            ArchiveMessage::decode(&other_schema),
            Err(DecodeError::InvalidValue {
                field: "schemaId",
                ..
            })
        ));
        let mut unknown = bytes.clone();
        le::put_u16(&mut unknown, 2, 2000);
        assert_eq!(
            ArchiveMessage::decode(&unknown),
            Err(DecodeError::UnknownType {
                what: "archive message",
                type_id: 2000
            })
        );
        assert!(matches!(
            Ping::decode(&bytes),
            Err(DecodeError::InvalidValue {
                field: "templateId",
                ..
            })
        ));
        for len in 0..bytes.len() {
            assert!(ArchiveMessage::decode(&bytes[..len]).is_err(), "{len}");
        }
        let channel = UpdateChannelRequest {
            control_session_id: 1,
            correlation_id: 2,
            recording_id: 3,
            channel: "aeron:ipc",
        }
        .to_vec();
        for len in 0..channel.len() {
            assert!(ArchiveMessage::decode(&channel[..len]).is_err(), "{len}");
        }
        // Trailing bytes (e.g. catalog alignment padding) are ignored.
        let mut padded = channel.clone();
        padded.extend_from_slice(&[0; 24]);
        assert_eq!(
            ArchiveMessage::decode(&padded),
            ArchiveMessage::decode(&channel)
        );
    }

    #[test]
    fn non_utf8_text_is_an_error_but_blobs_are_not() {
        let mut bytes = Challenge {
            control_session_id: 1,
            correlation_id: 2,
            version: 3,
            encoded_challenge: &[0xFF, 0xFE],
        }
        .to_vec();
        assert!(Challenge::decode(&bytes).is_ok());
        le::put_u16(&mut bytes, 2, UpdateChannelRequest::TEMPLATE_ID);
        le::put_u16(&mut bytes, 0, 24);
        let mut b = Bytes::header(24, 107, 14);
        b.i64(1).i64(2).i64(3).var(&[b'a', 0xFF]);
        assert!(matches!(
            ArchiveMessage::decode(&b.0),
            Err(DecodeError::NotUtf8 {
                field: "channel",
                ..
            })
        ));
    }

    fn round_trip(template_id: u16, ints: &[i64], texts: &[String], blobs: &[Vec<u8>]) {
        let message = ArchiveMessage::from_sample(template_id, ints, texts, blobs).unwrap();
        assert_eq!(message.template_id(), template_id);
        let bytes = message.to_vec();
        assert_eq!(bytes.len(), message.encoded_length());
        let header = MessageHeader::decode(&bytes).unwrap();
        assert_eq!(
            (header.template_id, header.schema_id, header.version),
            (template_id, 101, 14)
        );
        assert!(usize::from(header.block_length) + MESSAGE_HEADER_LENGTH <= bytes.len());
        assert_eq!(ArchiveMessage::decode(&bytes), Ok(message));
    }

    macro_rules! round_trip_tests {
        ($($test:ident: $name:ident),* $(,)?) => {
            proptest! {
                $(
                    #[test]
                    fn $test(
                        ints in vec(any::<i64>(), 16),
                        texts in vec("\\PC{0,40}", 5),
                        blobs in vec(vec(any::<u8>(), 0..40), 5),
                    ) {
                        round_trip($name::TEMPLATE_ID, &ints, &texts, &blobs);
                        let typed = $name::from_sample(&ints, &texts, &blobs);
                        let bytes = typed.to_vec();
                        prop_assert_eq!($name::decode(&bytes), Ok(typed));
                    }
                )*
            }
        };
    }

    round_trip_tests! {
        control_response: ControlResponse,
        connect_request: ConnectRequest,
        close_session_request: CloseSessionRequest,
        start_recording_request: StartRecordingRequest,
        stop_recording_request: StopRecordingRequest,
        replay_request: ReplayRequest,
        stop_replay_request: StopReplayRequest,
        list_recordings_request: ListRecordingsRequest,
        list_recordings_for_uri_request: ListRecordingsForUriRequest,
        list_recording_request: ListRecordingRequest,
        extend_recording_request: ExtendRecordingRequest,
        recording_position_request: RecordingPositionRequest,
        truncate_recording_request: TruncateRecordingRequest,
        stop_recording_subscription_request: StopRecordingSubscriptionRequest,
        stop_position_request: StopPositionRequest,
        find_last_matching_recording_request: FindLastMatchingRecordingRequest,
        list_recording_subscriptions_request: ListRecordingSubscriptionsRequest,
        bounded_replay_request: BoundedReplayRequest,
        stop_all_replays_request: StopAllReplaysRequest,
        catalog_header: CatalogHeader,
        recording_descriptor_header: RecordingDescriptorHeader,
        recording_descriptor: RecordingDescriptor,
        recording_subscription_descriptor: RecordingSubscriptionDescriptor,
        recording_signal_event: RecordingSignalEvent,
        replicate_request: ReplicateRequest,
        stop_replication_request: StopReplicationRequest,
        start_position_request: StartPositionRequest,
        detach_segments_request: DetachSegmentsRequest,
        delete_detached_segments_request: DeleteDetachedSegmentsRequest,
        purge_segments_request: PurgeSegmentsRequest,
        attach_segments_request: AttachSegmentsRequest,
        migrate_segments_request: MigrateSegmentsRequest,
        auth_connect_request: AuthConnectRequest,
        challenge: Challenge,
        challenge_response: ChallengeResponse,
        keep_alive_request: KeepAliveRequest,
        tagged_replicate_request: TaggedReplicateRequest,
        start_recording_request2: StartRecordingRequest2,
        extend_recording_request2: ExtendRecordingRequest2,
        stop_recording_by_identity_request: StopRecordingByIdentityRequest,
        replicate_request2: ReplicateRequest2,
        max_recorded_position_request: MaxRecordedPositionRequest,
        archive_id_request: ArchiveIdRequest,
        recording_started: RecordingStarted,
        recording_progress: RecordingProgress,
        recording_stopped: RecordingStopped,
        purge_recording_request: PurgeRecordingRequest,
        replay_token_request: ReplayTokenRequest,
        ping: Ping,
        update_channel_request: UpdateChannelRequest,
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..200), template in 0usize..50) {
            let mut bytes = bytes;
            if bytes.len() >= 8 {
                le::put_u16(&mut bytes, 2, TEMPLATE_IDS[template]);
                le::put_u16(&mut bytes, 4, 101);
            }
            if let Ok(message) = ArchiveMessage::decode(&bytes) {
                let again = message.to_vec();
                prop_assert_eq!(ArchiveMessage::decode(&again), Ok(message));
            }
        }
    }
}
