//! Segment management on the archive: migrating, detaching, deleting, purging and attaching a recording's
//! segment files.

use super::*;

impl AeronArchive {
    /// Moves the segment files of stopped recording `src_recording_id` to `dst_recording_id`, which
    /// continues it (or is continued by it) with the same stream parameters, joined on a segment boundary:
    /// `dst` then covers both and `src` is left empty. Returns how many segment files moved.
    pub fn migrate_segments(
        &mut self,
        src_recording_id: i64,
        dst_recording_id: i64,
    ) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::MigrateSegmentsRequest {
                control_session_id,
                correlation_id,
                src_recording_id,
                dst_recording_id,
            }
            .to_vec()
        })
    }

    /// Moves a recording's start to `new_start_position` (a segment boundary), detaching the segment files
    /// before it without deleting them.
    pub fn detach_segments(
        &mut self,
        recording_id: i64,
        new_start_position: i64,
    ) -> Result<(), ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::DetachSegmentsRequest {
                control_session_id,
                correlation_id,
                recording_id,
                new_start_position,
            }
            .to_vec()
        })
        .map(drop)
    }

    /// Deletes detached segment files; returns how many were deleted.
    pub fn delete_detached_segments(&mut self, recording_id: i64) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::DeleteDetachedSegmentsRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
    }

    /// Detaches and deletes the segment files before `new_start_position`; returns how many were deleted.
    pub fn purge_segments(
        &mut self,
        recording_id: i64,
        new_start_position: i64,
    ) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::PurgeSegmentsRequest {
                control_session_id,
                correlation_id,
                recording_id,
                new_start_position,
            }
            .to_vec()
        })
    }

    /// Re-attaches detached segment files still on disk; returns how many were attached.
    pub fn attach_segments(&mut self, recording_id: i64) -> Result<i64, ArchiveError> {
        self.request(|control_session_id, correlation_id| {
            codec::AttachSegmentsRequest {
                control_session_id,
                correlation_id,
                recording_id,
            }
            .to_vec()
        })
    }
}
