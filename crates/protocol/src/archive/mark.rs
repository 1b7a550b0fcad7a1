//! The archive mark file `archive-mark.dat`: an SBE message of the mark-file schema (id 100, version 2) at
//! offset 0, then the distinct error log at `headerLength`.

use super::sbe::sbe_message;
use crate::semantic_version;

/// Schema id of the mark-file codecs.
pub const MARK_FILE_SCHEMA_ID: u16 = 100;
/// Schema version of the mark-file codecs in Aeron 1.54.
pub const MARK_FILE_SCHEMA_VERSION: u16 = 2;
/// Mark file format version written by Aeron 1.54 (3.1.0).
pub const MARK_FILE_VERSION: i32 = semantic_version(3, 1, 0);
/// Length of the mark file header region; the error log starts here.
pub const MARK_FILE_HEADER_LENGTH: usize = 8192;
/// Offset of `version` in the whole file (SBE header plus block offset 0).
pub const MARK_FILE_VERSION_OFFSET: usize = 8;
/// Offset of `activityTimestamp` in the whole file.
pub const MARK_FILE_ACTIVITY_TIMESTAMP_OFFSET: usize = 16;
/// Offset of `pid` in the whole file.
pub const MARK_FILE_PID_OFFSET: usize = 32;

sbe_message! {
    /// `MarkFileHeader`: the archive's identity and liveness, at the start of `archive-mark.dat`.
    ArchiveMarkFileHeader<'a> {
        what: "MarkFileHeader",
        schema: MARK_FILE_SCHEMA_ID,
        version: MARK_FILE_SCHEMA_VERSION,
        template: 200,
        block: 128,
        fields: {
            /// Format version (3.1.0 = 196864), written last when the archive starts.
            version: i32 = 0,
            /// Epoch ms of the archive's last liveness update; -1 after a clean close.
            activity_timestamp: i64 = 8,
            /// Epoch ms when the archive started.
            start_timestamp: i64 = 16,
            /// Process id of the archive.
            pid: i64 = 24,
            /// Control stream id.
            control_stream_id: i32 = 32,
            /// Local (IPC) control stream id.
            local_control_stream_id: i32 = 36,
            /// Recording events stream id.
            events_stream_id: i32 = 40,
            /// Length of the header region, where the error log starts (since v1, null 0).
            header_length: i32 = 44 since 1 null 0,
            /// Length of the error log (since v1, null 0).
            error_buffer_length: i32 = 48 since 1 null 0,
            /// Archive id (since v2, null -1).
            archive_id: i64 = 56 since 2 null -1,
        },
        var: {
            /// Control channel.
            control_channel: &'a str;
            /// Local control channel.
            local_control_channel: &'a str;
            /// Recording events channel.
            events_channel: &'a str;
            /// Aeron directory of the archive's driver.
            aeron_directory: &'a str;
        },
    }
}

impl ArchiveMarkFileHeader<'_> {
    /// The error log region of a whole mark file, as far as the file holds it; empty when the header
    /// gives a negative header or error buffer length (the header itself is never read as a log).
    pub fn error_log<'f>(&self, file: &'f [u8]) -> &'f [u8] {
        let (Ok(start), Ok(length)) = (
            usize::try_from(self.header_length),
            usize::try_from(self.error_buffer_length),
        ) else {
            return &[];
        };
        let start = start.min(file.len());
        &file[start..start.saturating_add(length).min(file.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::le;
    use crate::DecodeError;

    fn sample() -> ArchiveMarkFileHeader<'static> {
        ArchiveMarkFileHeader {
            version: MARK_FILE_VERSION,
            activity_timestamp: 1_795_528_921_684,
            start_timestamp: 1_795_528_914_491,
            pid: 23942,
            control_stream_id: 10,
            local_control_stream_id: 10,
            events_stream_id: 30,
            header_length: 8192,
            error_buffer_length: 1 << 20,
            archive_id: 1,
            control_channel: "aeron:udp?endpoint=localhost:8010",
            local_control_channel: "aeron:ipc?term-length=64k",
            events_channel: "",
            aeron_directory: "/dev/shm/aeron",
        }
    }

    #[test]
    fn round_trips_and_places_fields() {
        let header = sample();
        let bytes = header.to_vec();
        assert_eq!(&bytes[..8], &[128, 0, 200, 0, 100, 0, 2, 0]);
        assert_eq!(le::get_i32(&bytes, MARK_FILE_VERSION_OFFSET), 196_864);
        assert_eq!(
            le::get_i64(&bytes, MARK_FILE_ACTIVITY_TIMESTAMP_OFFSET),
            1_795_528_921_684
        );
        assert_eq!(le::get_i64(&bytes, MARK_FILE_PID_OFFSET), 23942);
        let negative = ArchiveMarkFileHeader {
            header_length: -8,
            ..header
        };
        assert!(negative.error_log(&bytes).is_empty());
        assert_eq!(le::get_u32(&bytes, 136), 33);
        assert_eq!(ArchiveMarkFileHeader::decode(&bytes), Ok(header));
    }

    #[test]
    fn version_one_has_no_archive_id() {
        let mut bytes = sample().to_vec();
        le::put_u16(&mut bytes, 6, 1);
        let decoded = ArchiveMarkFileHeader::decode(&bytes).unwrap();
        assert_eq!(decoded.archive_id, -1);
        assert_eq!(decoded.header_length, 8192);
        le::put_u16(&mut bytes, 6, 0);
        let decoded = ArchiveMarkFileHeader::decode(&bytes).unwrap();
        assert_eq!((decoded.header_length, decoded.error_buffer_length), (0, 0));
    }

    #[test]
    fn rejects_other_schemas() {
        let mut bytes = sample().to_vec();
        le::put_u16(&mut bytes, 4, 101);
        assert!(matches!(
            ArchiveMarkFileHeader::decode(&bytes),
            Err(DecodeError::InvalidValue {
                field: "schemaId",
                ..
            })
        ));
    }
}
