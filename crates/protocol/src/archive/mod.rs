//! Aeron Archive 1.54: the control protocol, recording events, catalog, mark file and segment files as pure
//! bytes and arithmetic.
//!
//! Messages are SBE (schema id 101, version 14), each preceded by an 8-byte [`MessageHeader`]. Decoders follow
//! SBE's compatibility rules: the fixed block is as long as the header says (a newer peer's extra fields are
//! skipped), and fields or var data added after the sender's version take their null value or are empty.

pub mod catalog;
pub mod enums;
pub mod mark;
pub mod messages;
pub mod sbe;
pub mod segment;

pub use catalog::{
    catalog_entry_length, CatalogEntry, CatalogEntryError, CatalogWalker, CATALOG_HEADER_LENGTH,
    CATALOG_VERSION, DEFAULT_CATALOG_ALIGNMENT, RECORDING_DESCRIPTOR_HEADER_LENGTH,
};
pub use enums::{
    ArchiveErrorCode, BooleanType, ControlResponseCode, RecordingSignal, RecordingState,
    SourceLocation,
};
pub use mark::{ArchiveMarkFileHeader, MARK_FILE_HEADER_LENGTH};
pub use messages::*;
pub use sbe::{MessageHeader, MESSAGE_HEADER_LENGTH};
pub use segment::{parse_segment_file_name, segment_file_base_position, segment_file_name};

use crate::semantic_version;

/// SBE schema id of the archive protocol.
pub const SCHEMA_ID: u16 = 101;
/// SBE schema version Aeron 1.54 writes.
pub const SCHEMA_VERSION: u16 = 14;
/// Archive client protocol version 1.12.0, sent in `AuthConnectRequest.version` and `ControlResponse.version`.
pub const PROTOCOL_SEMANTIC_VERSION: i32 = semantic_version(1, 12, 0);
/// SBE null of an `int64` field.
pub const NULL_I64: i64 = i64::MIN;
/// SBE null of an `int32` field.
pub const NULL_I32: i32 = i32::MIN;
/// Null of `version_t` fields.
pub const VERSION_NULL: i32 = 0;
/// Aeron's null position / recording id / timestamp (-1).
pub const NULL_POSITION: i64 = -1;
/// Replay `length` that follows a live recording.
pub const REPLAY_ALL_AND_FOLLOW: i64 = -1;
/// Replay `length` that stops at the recording's current end.
pub const REPLAY_ALL_AND_STOP: i64 = -2;
/// Default control request stream id.
pub const CONTROL_STREAM_ID_DEFAULT: i32 = 10;
/// Default control response stream id.
pub const CONTROL_RESPONSE_STREAM_ID_DEFAULT: i32 = 20;
/// Default recording events stream id.
pub const RECORDING_EVENTS_STREAM_ID_DEFAULT: i32 = 30;
/// Counter type id of the recording position counter (rec-pos).
pub const RECORDING_POSITION_TYPE_ID: i32 = 100;
