//! Receiver side of a publication image: inserting received frames, flow-control over/under-run checks,
//! status messages, NAKs from the loss detector, liveness and end of stream (Aeron's
//! `aeron_publication_image.c` and the receive side of `aeron_driver_receiver.c`).

use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::command::ErrorCode;
use oxeron_protocol::frame::data::{data_frames, DataHeader, UNFRAGMENTED};
use oxeron_protocol::frame::error::{ErrorFrame, HAS_GROUP_TAG_FLAG, MAX_ERROR_MESSAGE_LENGTH};
use oxeron_protocol::frame::nak::Nak;
use oxeron_protocol::frame::setup::Setup;
use oxeron_protocol::frame::status::{StatusMessage, EOS_FLAG as SM_EOS_FLAG};
use oxeron_protocol::frame::{FRAME_ALIGNMENT, HDR_TYPE_PAD};
use oxeron_protocol::logbuffer::{
    compute_position, compute_term_count, compute_term_id_from_position, index_by_position,
    index_by_term, position_bits_to_shift,
};

use oxeron_protocol::logbuffer::{check_mtu_length, check_term_length, LogBufferError};

use super::loss_detector::{FeedbackDelay, Gap, LossDetector};
use super::term_scan;
use super::{defaults, receiver_window_length};

/// Why a SETUP cannot create an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SetupError {
    /// Bad term length.
    #[error("setup term length: {0}")]
    TermLength(LogBufferError),
    /// Bad MTU.
    #[error("setup mtu: {0}")]
    Mtu(LogBufferError),
    /// The sender's MTU exceeds the receiver window.
    #[error("setup mtu {mtu} exceeds the receiver window {receiver_window}")]
    MtuAboveWindow {
        /// The sender's MTU.
        mtu: i32,
        /// The image's receiver window.
        receiver_window: i32,
    },
    /// Term offset outside the term or not 32-byte aligned.
    #[error("setup term offset {0} is outside the term or unaligned")]
    TermOffset(i32),
    /// Active term id before the initial term id.
    #[error("setup active term id {active} is before the initial term id {initial}")]
    ActiveTermId {
        /// Active term id.
        active: i32,
        /// Initial term id.
        initial: i32,
    },
}

/// Fixed properties and timers of an image, mostly from the SETUP that created it.
#[derive(Debug, Clone)]
pub(crate) struct PublicationImageConfig {
    /// Session id.
    pub(crate) session_id: i32,
    /// Stream id.
    pub(crate) stream_id: i32,
    /// Initial term id of the sender's log.
    pub(crate) initial_term_id: i32,
    /// Term length of the sender's log.
    pub(crate) term_length: i32,
    /// Position the image starts at (the sender position in the SETUP).
    pub(crate) initial_position: i64,
    /// Receiver window sent in status messages.
    pub(crate) receiver_window: i32,
    /// Receiver id of the receive endpoint.
    pub(crate) receiver_id: i64,
    /// Group tag sent in status messages (`gtag`).
    pub(crate) group_tag: Option<i64>,
    /// `reliable=true`: NAK gaps; otherwise fill them with padding.
    pub(crate) reliable: bool,
    /// Longest interval between status messages.
    pub(crate) sm_timeout_ns: i64,
    /// The image drains after this long without packets.
    pub(crate) liveness_timeout_ns: i64,
    /// The sender counts as reachable while heard from within this time.
    pub(crate) connection_timeout_ns: i64,
    /// NAK timing.
    pub(crate) nak_delay: FeedbackDelay,
}

impl PublicationImageConfig {
    /// The configuration for an image created by `setup`: window `min(rcv_window, term/2)` (pass the
    /// channel's `rcv-wnd` or the driver's initial window), Aeron's default timers, and unicast NAK timing
    /// unless `multicast_nak_seed` is given (group semantics), which seeds the multicast backoff. The SETUP's
    /// term length, MTU (also against the window), term offset and term ids are checked.
    pub(crate) fn from_setup(
        setup: &Setup,
        receiver_id: i64,
        group_tag: Option<i64>,
        rcv_window: i32,
        multicast_nak_seed: Option<u64>,
    ) -> Result<Self, SetupError> {
        check_term_length(setup.term_length.into()).map_err(SetupError::TermLength)?;
        check_mtu_length(setup.mtu.into()).map_err(SetupError::Mtu)?;
        let receiver_window = receiver_window_length(rcv_window, setup.term_length);
        if setup.mtu > receiver_window {
            return Err(SetupError::MtuAboveWindow {
                mtu: setup.mtu,
                receiver_window,
            });
        }
        if setup.term_offset < 0
            || setup.term_offset >= setup.term_length
            || setup.term_offset as usize % FRAME_ALIGNMENT != 0
        {
            return Err(SetupError::TermOffset(setup.term_offset));
        }
        if compute_term_count(setup.active_term_id, setup.initial_term_id) < 0 {
            return Err(SetupError::ActiveTermId {
                active: setup.active_term_id,
                initial: setup.initial_term_id,
            });
        }
        let shift = position_bits_to_shift(setup.term_length);
        let nak_delay = match multicast_nak_seed {
            Some(seed) => FeedbackDelay::multicast(
                defaults::NAK_MULTICAST_MAX_BACKOFF_NS,
                defaults::NAK_MULTICAST_GROUP_SIZE,
                seed,
            ),
            None => FeedbackDelay::unicast(defaults::NAK_UNICAST_DELAY_NS),
        };
        Ok(PublicationImageConfig {
            session_id: setup.session_id,
            stream_id: setup.stream_id,
            initial_term_id: setup.initial_term_id,
            term_length: setup.term_length,
            initial_position: compute_position(
                setup.active_term_id,
                setup.term_offset,
                shift,
                setup.initial_term_id,
            ),
            receiver_window,
            receiver_id,
            group_tag,
            reliable: true,
            sm_timeout_ns: defaults::STATUS_MESSAGE_TIMEOUT_NS,
            liveness_timeout_ns: defaults::IMAGE_LIVENESS_TIMEOUT_NS,
            connection_timeout_ns: defaults::RECEIVE_DESTINATION_TIMEOUT_NS,
            nak_delay,
        })
    }
}

/// Lifecycle of an image, as the conductor moves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImageLifecycle {
    /// Receiving.
    Active,
    /// No subscribers, no packets for the liveness timeout, or end of stream reached: SMs carry EOS.
    Draining,
    /// Subscribers have consumed everything (or the publication was revoked); the image is freed once its
    /// subscribers are gone or after the liveness timeout.
    Linger,
    /// Ready to be freed.
    Done,
}

/// What [`PublicationImageState::insert_packet`] did with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InsertOutcome {
    /// Frames written to the log (or already there) and the high-water mark raised.
    Inserted,
    /// A heartbeat was accepted.
    Heartbeat,
    /// Beyond the last status message position + term/2: dropped (flow-control over-run).
    OverRun,
    /// Below the last status message position: dropped (flow-control under-run).
    UnderRun,
    /// Term id before the initial term id: dropped.
    BeforeInitialTerm,
    /// The image was rejected: everything is dropped.
    Rejected,
    /// Malformed datagram (bad lengths or offsets): dropped and counted as invalid.
    Invalid,
}

/// Event counts of one image, for the driver's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ImageStats {
    /// Status messages sent.
    pub(crate) status_messages_sent: u64,
    /// NAKs sent.
    pub(crate) naks_sent: u64,
    /// Heartbeats received.
    pub(crate) heartbeats_received: u64,
    /// Flow-control over-runs.
    pub(crate) over_runs: u64,
    /// Flow-control under-runs.
    pub(crate) under_runs: u64,
    /// Gaps filled with padding (unreliable images).
    pub(crate) gap_fills: u64,
    /// Invalid datagrams.
    pub(crate) invalid_packets: u64,
}

/// Receiver state of one image (a single sender connection).
#[derive(Debug)]
pub(crate) struct PublicationImageState {
    cfg: PublicationImageConfig,
    shift: u32,
    loss_detector: LossDetector,
    hwm_position: i64,
    rcv_position: i64,
    next_sm_position: i64,
    next_sm_window: i32,
    sm_scheduled: bool,
    last_sm_position: i64,
    last_overrun_threshold: i64,
    next_sm_deadline_ns: i64,
    time_of_last_packet_ns: i64,
    time_of_last_activity_ns: Option<i64>,
    is_end_of_stream: bool,
    end_of_stream_position: Option<i64>,
    is_sending_eos_sm: bool,
    is_revoked: bool,
    lifecycle: ImageLifecycle,
    time_of_last_state_change_ns: i64,
    clean_position: i64,
    pending_gaps: Vec<Gap>,
    loss_observations: Vec<Gap>,
    rejection: Option<String>,
    stats: ImageStats,
}

impl PublicationImageState {
    /// An image created at `now_ns`. Its first status message is due at once.
    pub(crate) fn new(cfg: PublicationImageConfig, now_ns: i64) -> Self {
        let p = cfg.initial_position;
        PublicationImageState {
            shift: position_bits_to_shift(cfg.term_length),
            loss_detector: LossDetector::new(cfg.nak_delay.clone()),
            hwm_position: p,
            rcv_position: p,
            next_sm_position: p,
            next_sm_window: cfg.receiver_window,
            sm_scheduled: false,
            last_sm_position: p,
            last_overrun_threshold: p + i64::from(cfg.term_length / 2),
            next_sm_deadline_ns: 0,
            time_of_last_packet_ns: now_ns,
            time_of_last_activity_ns: Some(now_ns),
            is_end_of_stream: false,
            end_of_stream_position: None,
            is_sending_eos_sm: false,
            is_revoked: false,
            lifecycle: ImageLifecycle::Active,
            time_of_last_state_change_ns: now_ns,
            clean_position: p,
            pending_gaps: Vec::new(),
            loss_observations: Vec::new(),
            rejection: None,
            stats: ImageStats::default(),
            cfg,
        }
    }

    /// Highest position received (rcv-hwm).
    pub(crate) fn hwm_position(&self) -> i64 {
        self.hwm_position
    }

    /// Position up to which the log is complete (rcv-pos).
    pub(crate) fn rcv_position(&self) -> i64 {
        self.rcv_position
    }

    /// Lifecycle state.
    pub(crate) fn lifecycle(&self) -> ImageLifecycle {
        self.lifecycle
    }

    /// Position of the sender's end of stream, once every connection has sent an EOS heartbeat (for the log
    /// metadata's `end_of_stream_position`).
    pub(crate) fn end_of_stream_position(&self) -> Option<i64> {
        self.end_of_stream_position
    }

    /// The sender revoked the publication (EOS heartbeat with REVOKED): the image drains at once, without
    /// loss recovery, and the log metadata's `is_publication_revoked` should be set.
    pub(crate) fn is_revoked(&self) -> bool {
        self.is_revoked
    }

    /// Event counts.
    pub(crate) fn stats(&self) -> &ImageStats {
        &self.stats
    }

    fn is_connection_alive(&self, now_ns: i64) -> bool {
        self.time_of_last_activity_ns
            .is_some_and(|t| now_ns < t + self.cfg.connection_timeout_ns)
    }

    /// Handles a DATA/PAD datagram for this image (the caller matched session and stream) received at
    /// `now_ns`, writing its frames into `terms` (the image's three partitions).
    pub(crate) fn insert_packet(
        &mut self,
        datagram: &[u8],
        terms: &[AtomicBuffer],
        now_ns: i64,
    ) -> InsertOutcome {
        if self.rejection.is_some() {
            return InsertOutcome::Rejected;
        }
        let Some(header) = self.validate(datagram) else {
            self.stats.invalid_packets += 1;
            return InsertOutcome::Invalid;
        };
        if compute_term_count(header.term_id, self.cfg.initial_term_id) < 0 {
            return InsertOutcome::BeforeInitialTerm;
        }
        let is_heartbeat = header.is_heartbeat();
        let packet_position = compute_position(
            header.term_id,
            header.term_offset,
            self.shift,
            self.cfg.initial_term_id,
        );
        let proposed_position = if is_heartbeat {
            packet_position
        } else {
            packet_position + datagram.len() as i64
        };
        if proposed_position > self.last_overrun_threshold {
            self.stats.over_runs += 1;
            return InsertOutcome::OverRun;
        }
        if is_heartbeat {
            let window_bottom = (self.last_sm_position - i64::from(self.cfg.term_length)).max(0);
            if packet_position < window_bottom {
                self.stats.under_runs += 1;
                return InsertOutcome::UnderRun;
            }
            self.time_of_last_activity_ns = Some(now_ns);
            self.time_of_last_packet_ns = now_ns;
            if header.is_eos() && !self.is_end_of_stream {
                self.end_of_stream_position = Some(packet_position);
                self.is_end_of_stream = true;
                self.is_revoked = header.is_revoked();
            }
            self.hwm_position = self.hwm_position.max(proposed_position);
            self.stats.heartbeats_received += 1;
            return InsertOutcome::Heartbeat;
        }
        if packet_position < self.last_sm_position {
            self.stats.under_runs += 1;
            if proposed_position >= self.last_sm_position - i64::from(self.cfg.receiver_window) {
                self.time_of_last_activity_ns = Some(now_ns);
            }
            return InsertOutcome::UnderRun;
        }
        self.time_of_last_activity_ns = Some(now_ns);
        self.time_of_last_packet_ns = now_ns;
        let term = &terms[index_by_position(packet_position, self.shift)];
        term_scan::insert(term, header.term_offset as usize, datagram);
        self.hwm_position = self.hwm_position.max(proposed_position);
        InsertOutcome::Inserted
    }

    /// The first frame's header if the datagram is a well-formed run of frames (or a heartbeat) within one term.
    fn validate(&self, datagram: &[u8]) -> Option<DataHeader> {
        let mut frames = data_frames(datagram);
        let first = frames.next()?.ok()?.header;
        let term_length = self.cfg.term_length as usize;
        let offset = usize::try_from(first.term_offset).ok()?;
        if offset >= term_length
            || offset % FRAME_ALIGNMENT != 0
            || offset + datagram.len() > term_length
        {
            return None;
        }
        // One pass over the rest: every frame well formed, and a trailing PAD, which may claim more than the
        // datagram carries, never beyond the term's end.
        let mut frame_offset = offset + first.aligned_length();
        for frame in frames {
            frame_offset += frame.ok()?.header.aligned_length();
        }
        if frame_offset > term_length {
            return None;
        }
        Some(first)
    }

    /// Conductor duty: scans for loss between rcv-pos (or the furthest subscriber) and rcv-hwm at `now_ns`,
    /// advances rcv-pos, queues due NAKs (or pads gaps when unreliable), and schedules a status message when
    /// the slowest subscriber (`min_sub_pos`) moved more than a quarter window past the last scheduled one.
    /// Returns whether new loss was found.
    pub(crate) fn track_rebuild(
        &mut self,
        now_ns: i64,
        min_sub_pos: i64,
        max_sub_pos: i64,
        terms: &[AtomicBuffer],
    ) -> bool {
        if self.is_revoked {
            return false;
        }
        let rebuild_position = self.rcv_position.max(max_sub_pos);
        let mut gaps = std::mem::take(&mut self.pending_gaps);
        let start = gaps.len();
        let outcome = self.loss_detector.scan(
            terms,
            rebuild_position,
            self.hwm_position,
            now_ns,
            self.cfg.term_length,
            self.cfg.initial_term_id,
            &mut gaps,
        );
        self.loss_observations.extend_from_slice(&gaps[start..]);
        if !self.cfg.reliable {
            for gap in gaps.drain(start..) {
                self.fill_gap(terms, gap);
            }
        }
        self.pending_gaps = gaps;
        self.rcv_position = self.rcv_position.max(outcome.rebuild_position);

        let window = self.cfg.receiver_window;
        if min_sub_pos > self.next_sm_position + i64::from(window / 4)
            || window != self.next_sm_window
        {
            self.clean_buffer_to(terms, min_sub_pos - i64::from(self.cfg.term_length));
            self.next_sm_position = min_sub_pos;
            self.next_sm_window = window;
            self.sm_scheduled = true;
        }
        outcome.loss_found
    }

    fn fill_gap(&mut self, terms: &[AtomicBuffer], gap: Gap) {
        let term = &terms[index_by_term(self.cfg.initial_term_id, gap.term_id)];
        let offset = gap.term_offset as usize;
        if term.get_i32_volatile(offset) != 0 {
            return;
        }
        let pad = DataHeader {
            frame_length: gap.length,
            flags: UNFRAGMENTED,
            frame_type: HDR_TYPE_PAD,
            term_offset: gap.term_offset,
            session_id: self.cfg.session_id,
            stream_id: self.cfg.stream_id,
            term_id: gap.term_id,
            reserved_value: 0,
        };
        term_scan::insert(term, offset, &pad.to_bytes());
        self.stats.gap_fills += 1;
    }

    fn clean_buffer_to(&mut self, terms: &[AtomicBuffer], position: i64) {
        let term_length = i64::from(self.cfg.term_length);
        while position > self.clean_position {
            let offset = self.clean_position & (term_length - 1);
            let length = (position - self.clean_position).min(term_length - offset);
            let term = &terms[index_by_position(self.clean_position, self.shift)];
            term_scan::clean(term, offset as usize, length as usize);
            self.clean_position += length;
        }
    }

    /// Conductor duty: the gaps detected (NAKed or padded) since the last call, for the loss report
    /// (`loss-report.dat`: one entry per image, an observation of `length` bytes per gap).
    pub(crate) fn drain_loss_observations(&mut self, out: &mut Vec<Gap>) {
        out.append(&mut self.loss_observations);
    }

    /// Receiver duty: the NAKs queued by [`track_rebuild`](Self::track_rebuild), to send to the sender if it is
    /// still reachable at `now_ns`.
    pub(crate) fn poll_naks(&mut self, now_ns: i64, out: &mut Vec<Nak>) {
        if self.is_connection_alive(now_ns) && self.cfg.reliable && !self.is_revoked {
            for gap in &self.pending_gaps {
                out.push(Nak {
                    flags: 0,
                    session_id: self.cfg.session_id,
                    stream_id: self.cfg.stream_id,
                    term_id: gap.term_id,
                    term_offset: gap.term_offset,
                    length: gap.length,
                });
                self.stats.naks_sent += 1;
            }
        }
        self.pending_gaps.clear();
    }

    /// Receiver duty: the status message due at `now_ns` (scheduled, or the SM timeout passed), if the sender
    /// is reachable. Sending it moves the over-run window.
    pub(crate) fn poll_status_message(&mut self, now_ns: i64) -> Option<StatusMessage> {
        if self.rejection.is_some() || (!self.sm_scheduled && self.next_sm_deadline_ns >= now_ns) {
            return None;
        }
        let position = self.next_sm_position;
        let sm = StatusMessage {
            flags: if self.is_sending_eos_sm {
                SM_EOS_FLAG
            } else {
                0
            },
            session_id: self.cfg.session_id,
            stream_id: self.cfg.stream_id,
            consumption_term_id: compute_term_id_from_position(
                position,
                self.shift,
                self.cfg.initial_term_id,
            ),
            consumption_term_offset: (position & (i64::from(self.cfg.term_length) - 1)) as i32,
            receiver_window: self.next_sm_window,
            receiver_id: self.cfg.receiver_id,
            group_tag: self.cfg.group_tag,
        };
        let alive = self.is_connection_alive(now_ns);
        self.sm_scheduled = false;
        self.last_sm_position = position;
        self.last_overrun_threshold = position + i64::from(self.cfg.term_length / 2);
        self.next_sm_deadline_ns = now_ns + self.cfg.sm_timeout_ns;
        if alive {
            self.stats.status_messages_sent += 1;
            Some(sm)
        } else {
            None
        }
    }

    /// A client rejected the image (REJECT_IMAGE): data is dropped and, instead of status messages, ERR
    /// frames with `reason` (cut to 1023 bytes) go to the sender on the SM timer.
    pub(crate) fn reject(&mut self, reason: &str) {
        let mut end = reason.len().min(MAX_ERROR_MESSAGE_LENGTH);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        self.rejection = Some(reason[..end].to_owned());
    }

    /// Receiver duty for a rejected image: the ERR frame due at `now_ns` (every SM timeout), to send to the
    /// sender.
    pub(crate) fn poll_error_frame(&mut self, now_ns: i64) -> Option<ErrorFrame<'_>> {
        let reason = self.rejection.as_deref()?;
        if self.next_sm_deadline_ns >= now_ns {
            return None;
        }
        self.next_sm_deadline_ns = now_ns + self.cfg.sm_timeout_ns;
        Some(ErrorFrame {
            flags: if self.cfg.group_tag.is_some() {
                HAS_GROUP_TAG_FLAG
            } else {
                0
            },
            session_id: self.cfg.session_id,
            stream_id: self.cfg.stream_id,
            receiver_id: self.cfg.receiver_id,
            group_tag: self.cfg.group_tag.unwrap_or(0),
            error_code: ErrorCode::ImageRejected.as_i32(),
            error_message: reason,
        })
    }

    /// Conductor duty: moves the lifecycle on at `now_ns`. `min_sub_pos` is the slowest subscriber's position,
    /// `None` when the image has no subscribers.
    pub(crate) fn on_time_event(
        &mut self,
        now_ns: i64,
        min_sub_pos: Option<i64>,
    ) -> ImageLifecycle {
        match self.lifecycle {
            ImageLifecycle::Active if self.is_revoked => {
                self.is_sending_eos_sm = true;
                self.next_sm_deadline_ns = now_ns - 1;
                self.change(ImageLifecycle::Draining, now_ns);
                self.change(ImageLifecycle::Linger, now_ns);
            }
            ImageLifecycle::Active => {
                if min_sub_pos.is_none()
                    || now_ns > self.time_of_last_packet_ns + self.cfg.liveness_timeout_ns
                    || (self.is_end_of_stream && self.rcv_position >= self.hwm_position)
                {
                    self.change(ImageLifecycle::Draining, now_ns);
                    self.is_sending_eos_sm = true;
                }
            }
            ImageLifecycle::Draining => {
                let drained = min_sub_pos.is_none_or(|p| p >= self.rcv_position);
                let waited =
                    now_ns > self.time_of_last_state_change_ns + 5 * self.cfg.sm_timeout_ns;
                if (drained && waited) || self.is_revoked {
                    self.change(ImageLifecycle::Linger, now_ns);
                }
            }
            ImageLifecycle::Linger => {
                if min_sub_pos.is_none()
                    || now_ns > self.time_of_last_state_change_ns + self.cfg.liveness_timeout_ns
                {
                    self.change(ImageLifecycle::Done, now_ns);
                }
            }
            ImageLifecycle::Done => {}
        }
        self.lifecycle
    }

    fn change(&mut self, lifecycle: ImageLifecycle, now_ns: i64) {
        self.lifecycle = lifecycle;
        self.time_of_last_state_change_ns = now_ns;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxeron_protocol::frame::data::{EOS_FLAG, REVOKED_FLAG};
    use oxeron_protocol::frame::HDR_TYPE_DATA;

    const SESSION: i32 = 5;
    const STREAM: i32 = 6;
    const INITIAL: i32 = 40;
    const TERM: i32 = 64 * 1024;
    const T0: i64 = 3_000_000_000;
    const MS: i64 = 1_000_000;
    /// SETUP at term INITIAL + 1, offset 1024.
    const START: i64 = TERM as i64 + 1024;

    fn terms() -> Vec<AtomicBuffer> {
        (0..3)
            .map(|_| AtomicBuffer::new_zeroed(TERM as usize))
            .collect()
    }

    fn config() -> PublicationImageConfig {
        let setup = Setup {
            flags: 0,
            term_offset: 1024,
            session_id: SESSION,
            stream_id: STREAM,
            initial_term_id: INITIAL,
            active_term_id: INITIAL + 1,
            term_length: TERM,
            mtu: 1408,
            ttl: 0,
        };
        PublicationImageConfig::from_setup(&setup, 99, Some(3), 128 * 1024, None).unwrap()
    }

    #[test]
    fn bad_setups_are_refused() {
        let good = Setup {
            flags: 0,
            term_offset: 1024,
            session_id: SESSION,
            stream_id: STREAM,
            initial_term_id: INITIAL,
            active_term_id: INITIAL + 1,
            term_length: TERM,
            mtu: 1408,
            ttl: 0,
        };
        let check =
            |s: Setup| PublicationImageConfig::from_setup(&s, 1, None, 128 * 1024, None).err();
        assert_eq!(check(good), None);
        assert!(matches!(
            check(Setup {
                term_length: TERM + 32,
                ..good
            }),
            Some(SetupError::TermLength(_))
        ));
        assert!(matches!(
            check(Setup {
                term_length: 0,
                ..good
            }),
            Some(SetupError::TermLength(_))
        ));
        assert!(matches!(
            check(Setup { mtu: 1400, ..good }),
            Some(SetupError::Mtu(_))
        ));
        assert!(matches!(
            check(Setup { mtu: 0, ..good }),
            Some(SetupError::Mtu(_))
        ));
        assert_eq!(
            check(Setup { mtu: 65504, ..good }),
            Some(SetupError::MtuAboveWindow {
                mtu: 65504,
                receiver_window: TERM / 2
            })
        );
        assert_eq!(
            check(Setup {
                term_offset: 8,
                ..good
            }),
            Some(SetupError::TermOffset(8))
        );
        assert_eq!(
            check(Setup {
                term_offset: TERM,
                ..good
            }),
            Some(SetupError::TermOffset(TERM))
        );
        assert_eq!(
            check(Setup {
                term_offset: -32,
                ..good
            }),
            Some(SetupError::TermOffset(-32))
        );
        assert!(matches!(
            check(Setup {
                active_term_id: INITIAL - 1,
                ..good
            }),
            Some(SetupError::ActiveTermId { .. })
        ));
    }

    /// A datagram of `frames` frames of 64 bytes starting at stream position `position`.
    fn data(position: i64, frames: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..frames {
            let p = position + 64 * i as i64;
            let header = DataHeader {
                frame_length: 64,
                flags: UNFRAGMENTED,
                frame_type: HDR_TYPE_DATA,
                term_offset: (p % TERM as i64) as i32,
                session_id: SESSION,
                stream_id: STREAM,
                term_id: INITIAL + (p / TERM as i64) as i32,
                reserved_value: 0,
            };
            out.extend_from_slice(&header.to_bytes());
            out.extend_from_slice(&[i as u8; 32]);
        }
        out
    }

    fn heartbeat(position: i64, flags: u8) -> Vec<u8> {
        let mut d = data(position, 1);
        d.truncate(32);
        d[..4].copy_from_slice(&0i32.to_le_bytes());
        d[5] = flags;
        d
    }

    fn sm_position(sm: &StatusMessage) -> i64 {
        compute_position(
            sm.consumption_term_id,
            sm.consumption_term_offset,
            position_bits_to_shift(TERM),
            INITIAL,
        )
    }

    #[test]
    fn status_message_at_once_then_every_200ms_or_after_a_quarter_window() {
        let t = terms();
        let mut image = PublicationImageState::new(config(), T0);
        let sm = image.poll_status_message(T0).expect("first SM at once");
        assert_eq!(
            sm,
            StatusMessage {
                flags: 0,
                session_id: SESSION,
                stream_id: STREAM,
                consumption_term_id: INITIAL + 1,
                consumption_term_offset: 1024,
                receiver_window: TERM / 2,
                receiver_id: 99,
                group_tag: Some(3),
            }
        );
        assert!(image.poll_status_message(T0 + 1).is_none());
        assert!(image.poll_status_message(T0 + 200 * MS).is_none());
        assert!(image.poll_status_message(T0 + 200 * MS + 1).is_some());

        // The subscriber consumes a quarter window: not yet; one more frame: an SM is scheduled.
        let quarter = i64::from(TERM / 2 / 4);
        image.track_rebuild(T0 + 201 * MS, START + quarter, START + quarter, &t);
        assert!(image.poll_status_message(T0 + 202 * MS).is_none());
        image.track_rebuild(
            T0 + 203 * MS,
            START + quarter + 32,
            START + quarter + 32,
            &t,
        );
        let sm = image.poll_status_message(T0 + 204 * MS).unwrap();
        assert_eq!(sm_position(&sm), START + quarter + 32);
        assert_eq!(image.stats().status_messages_sent, 3);
    }

    #[test]
    fn data_and_heartbeats_within_the_window_are_accepted() {
        let t = terms();
        let mut image = PublicationImageState::new(config(), T0);
        image.poll_status_message(T0);
        let d = data(START, 2);
        assert_eq!(image.insert_packet(&d, &t, T0 + 1), InsertOutcome::Inserted);
        assert_eq!(image.hwm_position(), START + 128);
        assert_eq!(t[1].to_vec(1024, 128), d);
        // A duplicate is harmless.
        assert_eq!(image.insert_packet(&d, &t, T0 + 2), InsertOutcome::Inserted);

        // Over-run: beyond the last SM position + term/2.
        let over = data(START + i64::from(TERM / 2) - 64, 2);
        assert_eq!(
            image.insert_packet(&over, &t, T0 + 3),
            InsertOutcome::OverRun
        );
        let edge = data(START + i64::from(TERM / 2) - 128, 2);
        assert_eq!(
            image.insert_packet(&edge, &t, T0 + 3),
            InsertOutcome::Inserted
        );
        // Under-run: below the last SM position.
        assert_eq!(
            image.insert_packet(&data(START - 64, 1), &t, T0 + 4),
            InsertOutcome::UnderRun
        );
        // Heartbeats may be up to a term below.
        assert_eq!(
            image.insert_packet(&heartbeat(START - 64, 0xC0), &t, T0 + 5),
            InsertOutcome::Heartbeat
        );
        assert_eq!(
            image.insert_packet(&heartbeat(START - i64::from(TERM), 0xC0), &t, T0 + 5),
            InsertOutcome::Heartbeat
        );
        assert_eq!(
            image.insert_packet(&heartbeat(START - i64::from(TERM) - 32, 0xC0), &t, T0 + 5),
            InsertOutcome::UnderRun
        );
        // Malformed or too old.
        assert_eq!(
            image.insert_packet(&d[..40], &t, T0 + 6),
            InsertOutcome::Invalid
        );
        let mut misaligned = data(START, 1);
        misaligned[8] = 8;
        assert_eq!(
            image.insert_packet(&misaligned, &t, T0 + 6),
            InsertOutcome::Invalid
        );
        let mut crossing = data(START, 1);
        crossing[8..12].copy_from_slice(&(TERM - 32).to_le_bytes());
        assert_eq!(
            image.insert_packet(&crossing, &t, T0 + 6),
            InsertOutcome::Invalid
        );
        let mut old = data(START, 1);
        old[20..24].copy_from_slice(&(INITIAL - 1).to_le_bytes());
        assert_eq!(
            image.insert_packet(&old, &t, T0 + 6),
            InsertOutcome::BeforeInitialTerm
        );
        let mut long_pad = heartbeat(START, 0xC0);
        long_pad[..4].copy_from_slice(&(TERM - 1024 + 32).to_le_bytes());
        long_pad[6..8].copy_from_slice(&HDR_TYPE_PAD.to_le_bytes());
        assert_eq!(
            image.insert_packet(&long_pad, &t, T0 + 6),
            InsertOutcome::Invalid
        );
        assert_eq!(image.stats().invalid_packets, 4);
        assert_eq!(image.stats().over_runs, 1);
        assert_eq!(image.stats().under_runs, 2);
    }

    #[test]
    fn gaps_are_naked_after_the_delay_to_a_live_sender() {
        let t = terms();
        let mut image = PublicationImageState::new(config(), T0);
        image.poll_status_message(T0);
        image.insert_packet(&data(START, 1), &t, T0);
        image.insert_packet(&data(START + 192, 1), &t, T0);
        assert!(image.track_rebuild(T0, START, START, &t));
        assert_eq!(image.rcv_position(), START + 64);
        let mut naks = Vec::new();
        image.poll_naks(T0, &mut naks);
        assert!(naks.is_empty(), "100 µs delay not yet passed");
        image.track_rebuild(T0 + 99_999, START, START, &t);
        image.poll_naks(T0 + 99_999, &mut naks);
        assert!(naks.is_empty());
        image.track_rebuild(T0 + 100_000, START, START, &t);
        image.poll_naks(T0 + 100_000, &mut naks);
        let mut observed = Vec::new();
        image.drain_loss_observations(&mut observed);
        assert_eq!(
            observed,
            vec![Gap {
                term_id: INITIAL + 1,
                term_offset: 1024 + 64,
                length: 128
            }]
        );
        image.drain_loss_observations(&mut observed);
        assert_eq!(observed.len(), 1);
        assert_eq!(
            naks,
            vec![Nak {
                flags: 0,
                session_id: SESSION,
                stream_id: STREAM,
                term_id: INITIAL + 1,
                term_offset: 1024 + 64,
                length: 128,
            }]
        );
        // Filled: rcv-pos reaches the HWM.
        image.insert_packet(&data(START + 64, 2), &t, T0 + 200_000);
        image.track_rebuild(T0 + 200_000, START, START, &t);
        assert_eq!(image.rcv_position(), START + 256);
        // A gap found after the sender went quiet for 5 s is not NAKed.
        image.insert_packet(&data(START + 320, 1), &t, T0 + 300_000);
        image.track_rebuild(T0 + 5_000 * MS + 3_000, START, START, &t);
        naks.clear();
        image.poll_naks(T0 + 5_000 * MS + 3_000, &mut naks);
        assert!(naks.is_empty());
    }

    #[test]
    fn unreliable_image_pads_gaps() {
        let t = terms();
        let mut cfg = config();
        cfg.reliable = false;
        cfg.nak_delay = FeedbackDelay::unicast(0);
        let mut image = PublicationImageState::new(cfg, T0);
        image.poll_status_message(T0);
        image.insert_packet(&data(START, 1), &t, T0);
        image.insert_packet(&data(START + 192, 1), &t, T0);
        image.track_rebuild(T0, START, START, &t);
        image.track_rebuild(T0 + 1, START, START, &t);
        assert_eq!(t[1].get_i32(1024 + 64), 128);
        assert_eq!(t[1].get_u16(1024 + 64 + 6), HDR_TYPE_PAD);
        assert_eq!(image.rcv_position(), START + 256);
        assert_eq!(image.stats().gap_fills, 1);
        let mut naks = Vec::new();
        image.poll_naks(T0 + 2, &mut naks);
        assert!(naks.is_empty());
    }

    #[test]
    fn end_of_stream_drains_with_eos_status_messages_then_lingers() {
        let t = terms();
        let mut image = PublicationImageState::new(config(), T0);
        image.poll_status_message(T0);
        image.insert_packet(&data(START, 1), &t, T0);
        assert_eq!(
            image.insert_packet(&heartbeat(START + 64, 0xC0 | EOS_FLAG), &t, T0 + 1),
            InsertOutcome::Heartbeat
        );
        assert_eq!(image.end_of_stream_position(), Some(START + 64));
        // rcv-pos has not reached the HWM yet.
        assert_eq!(
            image.on_time_event(T0 + 2, Some(START)),
            ImageLifecycle::Active
        );
        image.track_rebuild(T0 + 3, START, START, &t);
        assert_eq!(
            image.on_time_event(T0 + 4, Some(START)),
            ImageLifecycle::Draining
        );
        let sm = image.poll_status_message(T0 + 300 * MS).unwrap();
        assert_eq!(sm.flags, SM_EOS_FLAG);
        // Not drained until the subscriber has read up to rcv-pos, and then not before 5 SM timeouts.
        assert_eq!(
            image.on_time_event(T0 + 2_000 * MS, Some(START)),
            ImageLifecycle::Draining
        );
        assert_eq!(
            image.on_time_event(T0 + 1_000 * MS + 4, Some(START + 64)),
            ImageLifecycle::Draining
        );
        assert_eq!(
            image.on_time_event(T0 + 1_000 * MS + 5, Some(START + 64)),
            ImageLifecycle::Linger
        );
        assert_eq!(
            image.on_time_event(T0 + 11_000 * MS + 5, Some(START + 64)),
            ImageLifecycle::Linger
        );
        assert_eq!(
            image.on_time_event(T0 + 11_000 * MS + 6, Some(START + 64)),
            ImageLifecycle::Done
        );
    }

    #[test]
    fn revoked_publication_drains_at_once_and_lingers_until_subscribers_leave() {
        let t = terms();
        let mut image = PublicationImageState::new(config(), T0);
        image.poll_status_message(T0);
        image.insert_packet(&data(START + 64, 1), &t, T0);
        let revoke = heartbeat(START + 128, 0xC0 | EOS_FLAG | REVOKED_FLAG);
        assert_eq!(
            image.insert_packet(&revoke, &t, T0 + 1),
            InsertOutcome::Heartbeat
        );
        assert!(image.is_revoked());
        assert!(
            !image.track_rebuild(T0 + 2, START, START, &t),
            "no loss recovery once revoked"
        );
        assert_eq!(
            image.on_time_event(T0 + 3, Some(START)),
            ImageLifecycle::Linger
        );
        assert_eq!(
            image.poll_status_message(T0 + 3).unwrap().flags,
            SM_EOS_FLAG
        );
        let mut naks = Vec::new();
        image.poll_naks(T0 + 4, &mut naks);
        assert!(naks.is_empty());
        assert_eq!(
            image.on_time_event(T0 + 5, Some(START)),
            ImageLifecycle::Linger
        );
        assert_eq!(image.on_time_event(T0 + 6, None), ImageLifecycle::Done);
    }

    #[test]
    fn rejected_image_sends_error_frames_instead_of_status_messages() {
        let t = terms();
        let mut image = PublicationImageState::new(config(), T0);
        image.poll_status_message(T0);
        image.reject(&"é".repeat(600));
        assert_eq!(
            image.insert_packet(&data(START, 1), &t, T0 + 1),
            InsertOutcome::Rejected
        );
        assert!(image.poll_status_message(T0 + 300 * MS).is_none());
        let err = image.poll_error_frame(T0 + 300 * MS).unwrap();
        assert_eq!(
            (err.flags, err.error_code, err.receiver_id, err.group_tag),
            (HAS_GROUP_TAG_FLAG, 13, 99, 3)
        );
        assert_eq!(err.error_message.len(), 1022, "cut at a character boundary");
        assert!(image.poll_error_frame(T0 + 500 * MS).is_none());
        assert!(image.poll_error_frame(T0 + 500 * MS + 1).is_some());
    }

    #[test]
    fn image_drains_without_packets_or_subscribers() {
        let mut image = PublicationImageState::new(config(), T0);
        assert_eq!(
            image.on_time_event(T0 + 10_000 * MS, Some(START)),
            ImageLifecycle::Active
        );
        assert_eq!(
            image.on_time_event(T0 + 10_000 * MS + 1, Some(START)),
            ImageLifecycle::Draining
        );
        let mut other = PublicationImageState::new(config(), T0);
        assert_eq!(other.on_time_event(T0 + 1, None), ImageLifecycle::Draining);
    }

    #[test]
    fn cleaning_zeroes_consumed_terms_behind_the_subscriber() {
        let t = terms();
        let mut image = PublicationImageState::new(config(), T0);
        image.poll_status_message(T0);
        image.insert_packet(&data(START, 1), &t, T0);
        t[1].put_i64(TERM as usize - 64, -1);
        // Everything up to a term behind the subscriber is cleaned.
        let sub = 3 * i64::from(TERM);
        image.track_rebuild(T0 + 1, sub, sub, &t);
        assert_eq!(t[1].get_i64(1024), 0);
        assert_eq!(t[1].get_i64(TERM as usize - 64), 0);
        t[2].put_i64(0, -1);
        image.track_rebuild(T0 + 2, sub, sub, &t);
        assert_eq!(
            t[2].get_i64(0),
            -1,
            "the subscriber's previous term is kept"
        );
    }
}
