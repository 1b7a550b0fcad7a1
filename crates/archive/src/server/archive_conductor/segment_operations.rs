//! The conductor's segment operations: detaching, deleting, migrating and attaching segment files.

use super::*;

impl ArchiveConductor {
    /// Java's detach rules: a segment boundary after the first segment, not past the segment being written
    /// or the stop, and not under a replay.
    pub(super) fn valid_detach(
        &mut self,
        session: i64,
        correlation: i64,
        recording_id: i64,
        position: i64,
    ) -> bool {
        let Ok(Some(entry)) = self.catalog.recording(recording_id) else {
            self.unknown_recording(session, correlation, recording_id);
            return false;
        };
        let Ok(d) = entry.descriptor() else {
            self.unknown_recording(session, correlation, recording_id);
            return false;
        };
        let (start, term, segment) = (
            d.start_position,
            d.term_buffer_length,
            d.segment_file_length,
        );
        let base = |p: i64| segment_file_base_position(start, p, term, segment);
        let lower = base(start) + i64::from(segment);
        let end = base(self.live_position(recording_id).unwrap_or(d.stop_position));
        let message = if position != base(position) {
            format!("invalid segment start: newStartPosition={position}")
        } else if position < lower {
            format!("invalid detach: newStartPosition={position} lowerBound={lower}")
        } else if position > end {
            format!("invalid detach: in use, newStartPosition={position} upperBound={end}")
        } else if self
            .replays
            .iter()
            .any(|r| r.recording_id == recording_id && r.position() < position)
        {
            format!("invalid detach: replay in progress - newStartPosition={position}")
        } else {
            return true;
        };
        self.error(session, correlation, ArchiveErrorCode::Generic, &message);
        false
    }

    /// Deletes the segment files before the recording's start (after moving the start to `new_start`).
    pub(super) fn delete_detached(
        &mut self,
        session: i64,
        correlation: i64,
        recording_id: i64,
        new_start: Option<i64>,
    ) {
        let Ok(Some(entry)) = self.catalog.recording(recording_id) else {
            return self.unknown_recording(session, correlation, recording_id);
        };
        let Ok(d) = entry.descriptor() else {
            return self.unknown_recording(session, correlation, recording_id);
        };
        let start = new_start.unwrap_or(d.start_position);
        if new_start.is_some() {
            let _ = self.catalog.set_start_position(recording_id, start);
        }
        let first_kept =
            segment_file_base_position(start, start, d.term_buffer_length, d.segment_file_length);
        let files =
            crate::segment::segment_files(&self.ctx.archive_dir, recording_id).unwrap_or_default();
        let mut deleted = 0;
        for (base, path) in files {
            if base < first_kept {
                if let Err(e) = std::fs::remove_file(&path) {
                    return self.error(
                        session,
                        correlation,
                        ArchiveErrorCode::Generic,
                        &format!("unable to delete segment file: {}: {e}", path.display()),
                    );
                }
                deleted += 1;
            }
        }
        self.ok(session, correlation, deleted);
        self.signal(
            session,
            correlation,
            recording_id,
            NULL_POSITION,
            NULL_POSITION,
            RecordingSignal::Delete,
        );
    }

    /// Java's migrate: moves the segment files of a stopped recording (`src`) to `dst`, which continues it or
    /// is continued by it with the same stream parameters, joined on a segment boundary of both. `dst` then
    /// covers both ranges and `src` is left empty. Answers with the number of files moved.
    pub(super) fn migrate_segments(
        &mut self,
        session: i64,
        correlation: i64,
        src_id: i64,
        dst_id: i64,
    ) {
        struct Summary {
            start_position: i64,
            stop_position: i64,
            segment_file_length: i32,
            term_buffer_length: i32,
            initial_term_id: i32,
            stream_id: i32,
            mtu_length: i32,
        }
        let descriptor = |conductor: &Self, id: i64| {
            let entry = conductor.catalog.recording(id).ok().flatten()?;
            let d = entry.descriptor().ok()?;
            Some(Summary {
                start_position: d.start_position,
                stop_position: d.stop_position,
                segment_file_length: d.segment_file_length,
                term_buffer_length: d.term_buffer_length,
                initial_term_id: d.initial_term_id,
                stream_id: d.stream_id,
                mtu_length: d.mtu_length,
            })
        };
        let Some(src) = descriptor(self, src_id) else {
            return self.unknown_recording(session, correlation, src_id);
        };
        let Some(dst) = descriptor(self, dst_id) else {
            return self.unknown_recording(session, correlation, dst_id);
        };
        if src.stop_position == NULL_POSITION || self.live_position(src_id).is_some() {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::ActiveRecording,
                &format!("recording {src_id} is still active"),
            );
        }
        let mismatch = [
            (
                "SegmentFileLength",
                src.segment_file_length,
                dst.segment_file_length,
            ),
            (
                "TermBufferLength",
                src.term_buffer_length,
                dst.term_buffer_length,
            ),
            ("InitialTermId", src.initial_term_id, dst.initial_term_id),
            ("StreamId", src.stream_id, dst.stream_id),
            ("MtuLength", src.mtu_length, dst.mtu_length),
        ]
        .into_iter()
        .find(|(_, a, b)| a != b);
        if let Some((name, a, b)) = mismatch {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::Generic,
                &format!("invalid migrate: src{name}={a} dst{name}={b}"),
            );
        }
        let src_before_dst = src.stop_position == dst.start_position;
        let join = if src_before_dst {
            src.stop_position
        } else if src.start_position == dst.stop_position {
            src.start_position
        } else {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::Generic,
                &format!(
                    "invalid migrate: src and dst are not contiguous srcStartPosition={} \
                     srcStopPosition={} dstStartPosition={} dstStopPosition={}",
                    src.start_position, src.stop_position, dst.start_position, dst.stop_position
                ),
            );
        };
        let (term, segment) = (src.term_buffer_length, src.segment_file_length);
        for (label, start) in [("src", src.start_position), ("dst", dst.start_position)] {
            if segment_file_base_position(start, join, term, segment) != join {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::Generic,
                    &format!(
                        "invalid migrate: join position is not on segment boundary of {label} \
                         recording seamPosition={join}"
                    ),
                );
            }
        }
        let dir = self.ctx.archive_dir.clone();
        let first =
            segment_file_base_position(src.start_position, src.start_position, term, segment);
        let last = segment_file_base_position(src.start_position, src.stop_position, term, segment);
        let bases: Vec<i64> = (first..=last).step_by(segment as usize).collect();
        // Check every file before moving any, as Java does.
        for &base in &bases {
            if base == src.stop_position {
                continue;
            }
            let from = dir.join(segment_file_name(src_id, base));
            let to = dir.join(segment_file_name(dst_id, base));
            let problem = if !from.exists() {
                Some(format!("missing src segment file {}", from.display()))
            } else if to.exists() {
                Some(format!("preexisting dst segment file {}", to.display()))
            } else {
                None
            };
            if let Some(message) = problem {
                return self.error(session, correlation, ArchiveErrorCode::Generic, &message);
            }
        }
        let mut moved = 0;
        let mut deleted = 0;
        for &base in &bases {
            let from = dir.join(segment_file_name(src_id, base));
            let outcome = if base == src.stop_position {
                // The empty segment a recording opens when it stops on a boundary: src no longer needs it.
                match std::fs::remove_file(&from) {
                    Ok(()) => {
                        deleted += 1;
                        Ok(())
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(format!("failed to delete {}: {e}", from.display())),
                }
            } else {
                let to = dir.join(segment_file_name(dst_id, base));
                std::fs::rename(&from, &to)
                    .map(|()| moved += 1)
                    .map_err(|e| {
                        format!(
                            "failed to rename {} to {}: {e}",
                            from.display(),
                            to.display()
                        )
                    })
            };
            if let Err(message) = outcome {
                return self.error(session, correlation, ArchiveErrorCode::Generic, &message);
            }
        }
        let _ = if src_before_dst {
            self.catalog.set_start_position(dst_id, src.start_position)
        } else {
            self.catalog.set_stop_position(dst_id, src.stop_position)
        };
        let _ = self.catalog.set_stop_position(src_id, src.start_position);
        let _ = self.ctx.file_sync_level.sync_dir(&dir);
        self.ok(session, correlation, moved);
        if moved > 0 || deleted > 0 {
            self.signal(
                session,
                correlation,
                src_id,
                NULL_POSITION,
                NULL_POSITION,
                RecordingSignal::Delete,
            );
        }
    }

    /// Re-attaches detached segment files still on disk in front of the recording's start.
    pub(super) fn attach(&mut self, session: i64, correlation: i64, recording_id: i64) {
        let Ok(Some(entry)) = self.catalog.recording(recording_id) else {
            return self.unknown_recording(session, correlation, recording_id);
        };
        let Ok(d) = entry.descriptor() else {
            return self.unknown_recording(session, correlation, recording_id);
        };
        let segment = i64::from(d.segment_file_length);
        let mut position = d.start_position - segment;
        let mut start = d.start_position;
        let mut count = 0;
        while position >= 0 {
            let path = self
                .ctx
                .archive_dir
                .join(segment_file_name(recording_id, position));
            let Ok(bytes) = std::fs::read(&path) else {
                break;
            };
            if bytes.len() as i64 != segment {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::Generic,
                    &format!(
                        "fileLength={} not equal to segmentLength={segment}",
                        bytes.len()
                    ),
                );
            }
            // The first frame of the file's first term: where the recording's data starts in it.
            let term = d.term_buffer_length as usize;
            let first = (0..term.min(bytes.len())).step_by(32).find(|&offset| {
                i32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap_or_default()) > 0
            });
            let Some(offset) = first else { break };
            start = position + offset as i64;
            count += 1;
            if offset != 0 {
                break;
            }
            position -= segment;
        }
        if start != d.start_position {
            let _ = self.catalog.set_start_position(recording_id, start);
        }
        self.ok(session, correlation, count);
    }
}
