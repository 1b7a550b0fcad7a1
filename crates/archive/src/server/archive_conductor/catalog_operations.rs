//! The conductor's catalog operations: listing recordings and recording subscriptions, truncating and
//! purging recordings.

use super::*;

impl ArchiveConductor {
    pub(super) fn list(
        &mut self,
        session: i64,
        correlation: i64,
        from: i64,
        count: i32,
        filter: Option<(i32, &str)>,
    ) {
        let limit = usize::try_from(count).unwrap_or(0);
        let mut sent = 0;
        let mut next = from.max(0);
        let entries = self
            .catalog
            .list_from(from.max(0), usize::MAX)
            .unwrap_or_default();
        let mut messages = Vec::new();
        for entry in &entries {
            if sent >= limit {
                break;
            }
            next = entry.recording_id() + 1;
            let Ok(mut d) = entry.descriptor() else {
                continue;
            };
            if let Some((stream_id, fragment)) = filter {
                if d.stream_id != stream_id || !d.original_channel.contains(fragment) {
                    continue;
                }
            }
            d.control_session_id = session;
            d.correlation_id = correlation;
            messages.push(d.to_vec());
            sent += 1;
        }
        for m in messages {
            self.send(session, m);
        }
        if sent < limit || limit == 0 {
            let m = control_response(
                session,
                correlation,
                next,
                ControlResponseCode::RecordingUnknown,
                "",
            );
            self.send(session, m);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn list_subscriptions(
        &mut self,
        session: i64,
        correlation: i64,
        pseudo_index: i32,
        count: i32,
        apply_stream_id: bool,
        stream_id: i32,
        fragment: &str,
    ) {
        let total = self.recording_subscriptions.len();
        if pseudo_index < 0 || pseudo_index as usize >= total || count <= 0 {
            let m = control_response(
                session,
                correlation,
                0,
                ControlResponseCode::SubscriptionUnknown,
                "",
            );
            return self.send(session, m);
        }
        let matching: Vec<Vec<u8>> = self
            .recording_subscriptions
            .iter()
            .skip(pseudo_index as usize)
            .filter(|s| {
                (!apply_stream_id || s.stream_id == stream_id)
                    && s.subscribed_channel.contains(fragment)
            })
            .take(usize::try_from(count).unwrap_or(0))
            .map(|s| {
                RecordingSubscriptionDescriptor {
                    control_session_id: session,
                    correlation_id: correlation,
                    subscription_id: s.registration_id,
                    stream_id: s.stream_id,
                    stripped_channel: &s.subscribed_channel,
                }
                .to_vec()
            })
            .collect();
        let sent = matching.len();
        for m in matching {
            self.send(session, m);
        }
        if sent < usize::try_from(count).unwrap_or(0) {
            let m = control_response(
                session,
                correlation,
                0,
                ControlResponseCode::SubscriptionUnknown,
                "",
            );
            self.send(session, m);
        }
    }

    pub(super) fn truncate(
        &mut self,
        session: i64,
        correlation: i64,
        recording_id: i64,
        position: i64,
    ) {
        let Ok(Some(entry)) = self.catalog.recording(recording_id) else {
            return self.unknown_recording(session, correlation, recording_id);
        };
        let Ok(d) = entry.descriptor() else {
            return self.unknown_recording(session, correlation, recording_id);
        };
        if let Err(message) = self.check_inactive(recording_id, "truncate") {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::ActiveRecording,
                &message,
            );
        }
        if position < d.start_position || position > d.stop_position || position % 32 != 0 {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::InvalidPosition,
                &format!(
                    "invalid position {position}: start={} stop={} alignment=32",
                    d.start_position, d.stop_position
                ),
            );
        }
        let _ = self.catalog.set_stop_position(recording_id, position);
        match crate::segment::truncate_recording(
            &self.ctx.archive_dir,
            recording_id,
            d.start_position,
            d.term_buffer_length,
            d.segment_file_length,
            position,
        ) {
            Ok(deleted) => {
                self.ok(session, correlation, deleted as i64);
                self.signal(
                    session,
                    correlation,
                    recording_id,
                    NULL_POSITION,
                    NULL_POSITION,
                    RecordingSignal::Delete,
                );
            }
            Err(e) => self.error(
                session,
                correlation,
                ArchiveErrorCode::Generic,
                &e.to_string(),
            ),
        }
    }

    /// Files of a recording may change only while it is neither recorded nor replayed.
    pub(super) fn check_inactive(&self, recording_id: i64, action: &str) -> Result<(), String> {
        if self.live_position(recording_id).is_some() {
            return Err(format!("cannot {action} active recording {recording_id}"));
        }
        if self.replays.iter().any(|r| r.recording_id == recording_id) {
            return Err(format!(
                "cannot {action} recording {recording_id} while it is replayed"
            ));
        }
        Ok(())
    }

    pub(super) fn purge(&mut self, session: i64, correlation: i64, recording_id: i64) {
        if !self.catalog.has_recording(recording_id) {
            return self.unknown_recording(session, correlation, recording_id);
        }
        if let Err(message) = self.check_inactive(recording_id, "purge") {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::ActiveRecording,
                &message,
            );
        }
        if let Err(e) = self
            .catalog
            .change_state(recording_id, RecordingState::Deleted)
        {
            return self.error(
                session,
                correlation,
                ArchiveErrorCode::Generic,
                &e.to_string(),
            );
        }
        match crate::segment::delete_segments(&self.ctx.archive_dir, recording_id) {
            Ok(deleted) => self.ok(session, correlation, deleted as i64),
            Err(e) => {
                return self.error(
                    session,
                    correlation,
                    ArchiveErrorCode::Generic,
                    &e.to_string(),
                )
            }
        }
        self.signal(
            session,
            correlation,
            recording_id,
            NULL_POSITION,
            NULL_POSITION,
            RecordingSignal::Delete,
        );
    }
}
