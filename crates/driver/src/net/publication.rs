//! Sender side of a network publication: SETUP until a receiver answers, data up to the flow-control limit,
//! heartbeats when idle, NAK-driven resends, receiver liveness and end of stream (Aeron's
//! `aeron_network_publication.c`).

use oxeron_concurrent::AtomicBuffer;
use oxeron_protocol::frame::data::{DataHeader, EOS_FLAG, REVOKED_FLAG, UNFRAGMENTED};
use oxeron_protocol::frame::nak::Nak;
use oxeron_protocol::frame::rttm::Rttm;
use oxeron_protocol::frame::setup::{Setup, GROUP_FLAG, SEND_RESPONSE_FLAG};
use oxeron_protocol::frame::status::{StatusMessage, EOS_FLAG as SM_EOS_FLAG, SEND_SETUP_FLAG};
use oxeron_protocol::frame::{FRAME_ALIGNMENT, HDR_TYPE_DATA};
use oxeron_protocol::logbuffer::{
    compute_max_message_length, compute_position, compute_term_id_from_position, index_by_position,
    position_bits_to_shift,
};

use super::defaults;
use super::flow_control::FlowControl;
use super::retransmit_handler::{NakOutcome, Resend, RetransmitHandler};
use super::term_scan::scan_for_availability;

/// Fixed properties and timers of a network publication.
#[derive(Debug, Clone)]
pub(crate) struct NetworkPublicationConfig {
    /// Session id.
    pub(crate) session_id: i32,
    /// Stream id.
    pub(crate) stream_id: i32,
    /// Initial term id of the log.
    pub(crate) initial_term_id: i32,
    /// Term length of the log.
    pub(crate) term_length: i32,
    /// MTU: the largest datagram.
    pub(crate) mtu: i32,
    /// Multicast TTL put in SETUP (0 if unset).
    pub(crate) ttl: i32,
    /// Position the publication starts at.
    pub(crate) initial_position: i64,
    /// Multicast or MDC: SETUP carries GROUP, several retransmit actions, no unicast EOS shortcut.
    pub(crate) group_semantics: bool,
    /// The publication wants a response channel (SETUP carries SEND_RESPONSE).
    pub(crate) send_response: bool,
    /// Heartbeats carry EOS once the stream has ended (`eos=true`).
    pub(crate) signal_eos: bool,
    /// A receiver counts as live while it sent a status message within this time.
    pub(crate) connection_timeout_ns: i64,
    /// SETUP interval.
    pub(crate) setup_timeout_ns: i64,
    /// Heartbeat interval when idle.
    pub(crate) heartbeat_timeout_ns: i64,
    /// Datagrams per [`NetworkPublicationState::send`].
    pub(crate) max_messages_per_send: usize,
    /// Delay before a NAKed range is resent.
    pub(crate) retransmit_delay_ns: i64,
    /// Linger after a resend during which overlapping NAKs are ignored.
    pub(crate) retransmit_linger_ns: i64,
    /// Concurrent retransmit actions with group semantics (`max-resend`).
    pub(crate) max_resend: u32,
}

impl NetworkPublicationConfig {
    /// A configuration with Aeron's default timers for a unicast publication starting at position 0.
    pub(crate) fn new(
        session_id: i32,
        stream_id: i32,
        initial_term_id: i32,
        term_length: i32,
        mtu: i32,
    ) -> Self {
        NetworkPublicationConfig {
            session_id,
            stream_id,
            initial_term_id,
            term_length,
            mtu,
            ttl: 0,
            initial_position: 0,
            group_semantics: false,
            send_response: false,
            signal_eos: true,
            connection_timeout_ns: defaults::PUBLICATION_CONNECTION_TIMEOUT_NS,
            setup_timeout_ns: defaults::PUBLICATION_SETUP_TIMEOUT_NS,
            heartbeat_timeout_ns: defaults::PUBLICATION_HEARTBEAT_TIMEOUT_NS,
            max_messages_per_send: defaults::MAX_MESSAGES_PER_SEND,
            retransmit_delay_ns: defaults::RETRANSMIT_UNICAST_DELAY_NS,
            retransmit_linger_ns: defaults::RETRANSMIT_UNICAST_LINGER_NS,
            max_resend: defaults::MAX_RESEND,
        }
    }
}

/// Event counts of one publication, for the driver's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PublicationStats {
    /// SETUP frames sent.
    pub(crate) setups_sent: u64,
    /// Heartbeats sent.
    pub(crate) heartbeats_sent: u64,
    /// Data datagrams sent (not resends).
    pub(crate) data_datagrams_sent: u64,
    /// Status messages received.
    pub(crate) status_messages_received: u64,
    /// NAKs received.
    pub(crate) naks_received: u64,
    /// Resends (one per NAK served).
    pub(crate) retransmits_sent: u64,
    /// Bytes resent.
    pub(crate) retransmitted_bytes: u64,
    /// NAKs or SMs rejected as invalid.
    pub(crate) invalid_packets: u64,
    /// NAKs dropped for lack of a retransmit action slot.
    pub(crate) retransmit_overflows: u64,
    /// Times the sender was held back by the flow-control limit.
    pub(crate) flow_control_limits: u64,
}

/// What a status message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SmOutcome {
    /// The receiver was recorded and the sender limit recomputed.
    Applied,
    /// SEND_SETUP: a SETUP goes out at the next setup interval.
    SetupElicited,
    /// SEND_SETUP after end of stream: ignored.
    Ignored,
    /// Fields outside the term or a position outside the sender's window (Aeron counts these).
    Rejected,
}

/// Sender state of one network publication.
#[derive(Debug)]
pub(crate) struct NetworkPublicationState {
    cfg: NetworkPublicationConfig,
    shift: u32,
    flow_control: FlowControl,
    retransmit: RetransmitHandler,
    snd_pos: i64,
    snd_lmt: i64,
    has_initial_connection: bool,
    is_setup_elicited: bool,
    time_of_last_setup_ns: i64,
    time_of_last_data_or_heartbeat_ns: i64,
    /// Live receivers: (receiver id, time of its last status message).
    receivers: Vec<(i64, i64)>,
    has_receivers: bool,
    is_connected: bool,
    track_sender_limits: bool,
    end_of_stream_position: Option<i64>,
    is_end_of_stream: bool,
    is_revoked: bool,
    has_received_unicast_eos: bool,
    scratch: Vec<u8>,
    resends: Vec<Resend>,
    stats: PublicationStats,
}

impl NetworkPublicationState {
    /// A publication created at `now_ns`; its first [`send`](Self::send) sends a SETUP.
    pub(crate) fn new(
        cfg: NetworkPublicationConfig,
        flow_control: FlowControl,
        now_ns: i64,
    ) -> Self {
        let retransmit = RetransmitHandler::new(
            cfg.retransmit_delay_ns,
            cfg.retransmit_linger_ns,
            cfg.group_semantics,
            cfg.max_resend,
        );
        NetworkPublicationState {
            shift: position_bits_to_shift(cfg.term_length),
            flow_control,
            retransmit,
            snd_pos: cfg.initial_position,
            snd_lmt: cfg.initial_position,
            has_initial_connection: false,
            is_setup_elicited: false,
            time_of_last_setup_ns: now_ns - cfg.setup_timeout_ns - 1,
            time_of_last_data_or_heartbeat_ns: now_ns - cfg.heartbeat_timeout_ns - 1,
            receivers: Vec::new(),
            has_receivers: false,
            is_connected: false,
            track_sender_limits: false,
            end_of_stream_position: None,
            is_end_of_stream: false,
            is_revoked: false,
            has_received_unicast_eos: false,
            scratch: Vec::with_capacity(cfg.mtu.max(0) as usize),
            resends: Vec::new(),
            stats: PublicationStats::default(),
            cfg,
        }
    }

    /// Sender position (snd-pos): everything before it has been sent at least once.
    pub(crate) fn sender_position(&self) -> i64 {
        self.snd_pos
    }

    /// Sender limit (snd-lmt) from flow control.
    pub(crate) fn sender_limit(&self) -> i64 {
        self.snd_lmt
    }

    /// Whether the log metadata's `is_connected` should be set: live receivers and, for `min`/`tagged`, the
    /// required group size.
    pub(crate) fn is_connected(&self) -> bool {
        self.is_connected
    }

    /// Whether any receiver has sent a status message within the connection timeout.
    pub(crate) fn has_receivers(&self) -> bool {
        self.has_receivers
    }

    /// Whether heartbeats now carry EOS.
    pub(crate) fn is_end_of_stream(&self) -> bool {
        self.is_end_of_stream
    }

    /// A unicast receiver sent an EOS status message: a lingering publication may be freed.
    pub(crate) fn has_received_unicast_eos(&self) -> bool {
        self.has_received_unicast_eos
    }

    /// Event counts.
    pub(crate) fn stats(&self) -> &PublicationStats {
        &self.stats
    }

    /// The flow control strategy.
    pub(crate) fn flow_control(&self) -> &FlowControl {
        &self.flow_control
    }

    /// The last client closed the publication with the log's producer at `producer_position`: once the sender
    /// position reaches it, heartbeats carry EOS.
    pub(crate) fn close(&mut self, producer_position: i64) {
        self.end_of_stream_position = Some(producer_position);
        self.update_end_of_stream();
    }

    /// The publication was revoked: heartbeats carry EOS and REVOKED.
    pub(crate) fn revoke(&mut self) {
        self.is_revoked = true;
        self.is_end_of_stream = true;
        self.is_connected = false;
    }

    fn update_end_of_stream(&mut self) {
        if let Some(eos) = self.end_of_stream_position {
            if self.snd_pos >= eos {
                self.is_end_of_stream = true;
            }
        }
    }

    /// One duty cycle at `now_ns`: SETUP when due, then up to `max_messages_per_send` datagrams of data from
    /// `terms` (the log's three partitions) within the sender limit, else a heartbeat when due, then due
    /// resends. Every datagram goes to `out`. Returns the bytes of data and heartbeats sent.
    pub(crate) fn send(
        &mut self,
        now_ns: i64,
        terms: &[AtomicBuffer],
        out: &mut dyn FnMut(&[u8]),
    ) -> usize {
        let term_id =
            compute_term_id_from_position(self.snd_pos, self.shift, self.cfg.initial_term_id);
        let term_offset = self.term_offset(self.snd_pos);
        if !self.has_initial_connection || self.is_setup_elicited {
            self.setup_message_check(now_ns, term_id, term_offset, out);
        }
        let mut bytes_sent = self.send_data(now_ns, terms, out);
        if bytes_sent == 0 {
            bytes_sent = self.heartbeat_message_check(now_ns, term_id, term_offset, out);
            self.snd_lmt = self.flow_control.on_idle(now_ns, self.snd_lmt);
            self.update_has_receivers(now_ns);
        }
        self.update_end_of_stream();
        self.resends.clear();
        self.retransmit.process_timeouts(now_ns, &mut self.resends);
        let resends = std::mem::take(&mut self.resends);
        for r in &resends {
            self.resend(r, terms, out);
        }
        self.resends = resends;
        bytes_sent
    }

    fn term_offset(&self, position: i64) -> i32 {
        (position & (i64::from(self.cfg.term_length) - 1)) as i32
    }

    fn setup_message_check(
        &mut self,
        now_ns: i64,
        term_id: i32,
        term_offset: i32,
        out: &mut dyn FnMut(&[u8]),
    ) {
        if now_ns <= self.time_of_last_setup_ns + self.cfg.setup_timeout_ns {
            return;
        }
        let mut flags = 0;
        if self.cfg.send_response {
            flags |= SEND_RESPONSE_FLAG;
        }
        if self.retransmit.has_group_semantics() {
            flags |= GROUP_FLAG;
        }
        let setup = Setup {
            flags,
            term_offset,
            session_id: self.cfg.session_id,
            stream_id: self.cfg.stream_id,
            initial_term_id: self.cfg.initial_term_id,
            active_term_id: term_id,
            term_length: self.cfg.term_length,
            mtu: self.cfg.mtu,
            ttl: self.cfg.ttl,
        };
        if self.is_setup_elicited {
            self.flow_control.on_setup(now_ns, self.snd_lmt);
        }
        let mut buf = [0u8; oxeron_protocol::frame::setup::HEADER_LENGTH];
        setup.encode(&mut buf);
        out(&buf);
        self.stats.setups_sent += 1;
        self.time_of_last_setup_ns = now_ns;
        if self.has_receivers {
            self.is_setup_elicited = false;
        }
    }

    fn heartbeat_message_check(
        &mut self,
        now_ns: i64,
        term_id: i32,
        term_offset: i32,
        out: &mut dyn FnMut(&[u8]),
    ) -> usize {
        if !self.has_initial_connection
            || now_ns <= self.time_of_last_data_or_heartbeat_ns + self.cfg.heartbeat_timeout_ns
        {
            return 0;
        }
        let mut flags = UNFRAGMENTED;
        if self.is_revoked {
            flags |= EOS_FLAG | REVOKED_FLAG;
        } else if self.cfg.signal_eos && self.is_end_of_stream {
            flags |= EOS_FLAG;
        }
        let heartbeat = DataHeader {
            frame_length: 0,
            flags,
            frame_type: HDR_TYPE_DATA,
            term_offset,
            session_id: self.cfg.session_id,
            stream_id: self.cfg.stream_id,
            term_id,
            reserved_value: 0,
        };
        let bytes = heartbeat.to_bytes();
        out(&bytes);
        self.stats.heartbeats_sent += 1;
        self.time_of_last_data_or_heartbeat_ns = now_ns;
        bytes.len()
    }

    fn send_data(
        &mut self,
        now_ns: i64,
        terms: &[AtomicBuffer],
        out: &mut dyn FnMut(&[u8]),
    ) -> usize {
        let term_length = self.cfg.term_length as usize;
        let mut available_window = self.snd_lmt - self.snd_pos;
        let mut position = self.snd_pos;
        let mut bytes_sent = 0;
        let mut datagrams = 0;
        while datagrams < self.cfg.max_messages_per_send && available_window > 0 {
            let term = &terms[index_by_position(position, self.shift)];
            let term_offset = self.term_offset(position) as usize;
            let scan_limit = available_window.min(i64::from(self.cfg.mtu)) as usize;
            let scan = scan_for_availability(term, term_offset, scan_limit);
            if scan.available == 0 {
                break;
            }
            self.scratch.resize(scan.available, 0);
            term.get_bytes(term_offset, &mut self.scratch);
            out(&self.scratch);
            datagrams += 1;
            bytes_sent += scan.available;
            let advance = (scan.available + scan.padding) as i64;
            available_window -= advance;
            position += advance;
            if term_offset + scan.available + scan.padding >= term_length {
                break;
            }
        }
        if datagrams > 0 {
            self.stats.data_datagrams_sent += datagrams as u64;
            self.time_of_last_data_or_heartbeat_ns = now_ns;
            self.track_sender_limits = true;
            self.snd_pos = position;
        } else if self.track_sender_limits && available_window <= 0 {
            self.stats.flow_control_limits += 1;
            self.track_sender_limits = false;
        }
        bytes_sent
    }

    fn resend(&mut self, r: &Resend, terms: &[AtomicBuffer], out: &mut dyn FnMut(&[u8])) {
        let term_length = self.cfg.term_length;
        let resend_position = compute_position(
            r.term_id,
            r.term_offset,
            self.shift,
            self.cfg.initial_term_id,
        );
        let bottom = self.snd_pos
            - i64::from(term_length >> 1)
            - compute_max_message_length(term_length) as i64;
        if !(bottom <= resend_position && resend_position < self.snd_pos) {
            return;
        }
        let term = &terms[index_by_position(resend_position, self.shift)];
        let mut offset = r.term_offset as usize;
        let mut remaining = r.length.max(0) as usize;
        let mut total = 0;
        while remaining > 0 {
            let max_length = remaining.min(self.cfg.mtu as usize);
            let scan = scan_for_availability(term, offset, max_length);
            if scan.available == 0 {
                break;
            }
            self.scratch.resize(scan.available, 0);
            term.get_bytes(offset, &mut self.scratch);
            out(&self.scratch);
            let step = scan.available + scan.padding;
            total += step;
            offset += step;
            remaining = remaining.saturating_sub(step);
        }
        if total > 0 {
            self.stats.retransmits_sent += 1;
            self.stats.retransmitted_bytes += total as u64;
        }
    }

    fn update_has_receivers(&mut self, now_ns: i64) {
        let timeout = self.cfg.connection_timeout_ns;
        self.receivers.retain(|&(_, last)| last > now_ns - timeout);
        self.has_receivers = !self.receivers.is_empty();
        self.is_connected = self.has_receivers && self.flow_control.has_required_receivers();
    }

    fn is_valid_status_message(&self, sm: &StatusMessage) -> bool {
        let term_length = self.cfg.term_length;
        let offset_ok = sm.consumption_term_offset >= 0
            && sm.consumption_term_offset < term_length
            && sm.consumption_term_offset as usize % FRAME_ALIGNMENT == 0;
        offset_ok && sm.receiver_window >= 0 && sm.receiver_window <= term_length / 2
    }

    /// Handles a status message for this publication (the caller matched session and stream) at `now_ns`.
    pub(crate) fn on_status_message(&mut self, sm: &StatusMessage, now_ns: i64) -> SmOutcome {
        if !self.is_valid_status_message(sm) {
            self.stats.invalid_packets += 1;
            return SmOutcome::Rejected;
        }
        if sm.flags & SEND_SETUP_FLAG != 0 {
            if self.is_end_of_stream {
                return SmOutcome::Ignored;
            }
            self.is_setup_elicited = true;
            self.flow_control.on_trigger_send_setup(sm);
            return SmOutcome::SetupElicited;
        }
        let sm_position = compute_position(
            sm.consumption_term_id,
            sm.consumption_term_offset,
            self.shift,
            self.cfg.initial_term_id,
        );
        let half_term = i64::from(self.cfg.term_length >> 1);
        if sm_position < self.snd_pos - half_term
            || sm_position > self.snd_pos + i64::from(self.cfg.term_length) + half_term
        {
            self.stats.invalid_packets += 1;
            return SmOutcome::Rejected;
        }
        self.stats.status_messages_received += 1;
        if sm.flags & SM_EOS_FLAG != 0 {
            self.receivers.retain(|&(id, _)| id != sm.receiver_id);
            if !self.cfg.group_semantics {
                self.has_received_unicast_eos = true;
            }
        } else if let Some(r) = self
            .receivers
            .iter_mut()
            .find(|(id, _)| *id == sm.receiver_id)
        {
            r.1 = now_ns;
        } else {
            self.receivers.push((sm.receiver_id, now_ns));
        }
        self.has_receivers = !self.receivers.is_empty();
        self.has_initial_connection = true;
        self.snd_lmt = self.flow_control.on_status_message(
            sm,
            self.snd_lmt,
            self.cfg.initial_term_id,
            self.cfg.term_length,
            now_ns,
        );
        self.is_connected = self.has_receivers && self.flow_control.has_required_receivers();
        SmOutcome::Applied
    }

    /// Handles a NAK for this publication at `now_ns`; a range due now is resent from `terms` through `out`.
    pub(crate) fn on_nak(
        &mut self,
        nak: &Nak,
        now_ns: i64,
        terms: &[AtomicBuffer],
        out: &mut dyn FnMut(&[u8]),
    ) -> NakOutcome {
        self.stats.naks_received += 1;
        let fc = &self.flow_control;
        let term_length = self.cfg.term_length;
        let outcome = self.retransmit.on_nak(
            nak.term_id,
            nak.term_offset,
            nak.length,
            term_length,
            |length| fc.max_retransmission_length(nak.term_offset, length, term_length),
            now_ns,
        );
        match outcome {
            NakOutcome::Resend(r) => self.resend(&r, terms, out),
            NakOutcome::Invalid => self.stats.invalid_packets += 1,
            NakOutcome::Overflow => self.stats.retransmit_overflows += 1,
            NakOutcome::Delayed | NakOutcome::Ignored => {}
        }
        outcome
    }

    /// An ERR frame from `receiver_id` (e.g. image rejected): flow control and liveness forget it. Returns
    /// whether it was a live receiver, in which case the clients get ON_PUBLICATION_ERROR.
    pub(crate) fn on_error(&mut self, receiver_id: i64) -> bool {
        self.flow_control.on_error(receiver_id);
        let before = self.receivers.len();
        self.receivers.retain(|&(id, _)| id != receiver_id);
        self.receivers.len() != before
    }

    /// The reply to an RTTM that asks for one.
    pub(crate) fn on_rttm(&self, rttm: &Rttm) -> Option<Rttm> {
        rttm.is_reply_requested().then_some(Rttm {
            flags: 0,
            session_id: self.cfg.session_id,
            stream_id: self.cfg.stream_id,
            echo_timestamp: rttm.echo_timestamp,
            reception_delta: 0,
            receiver_id: rttm.receiver_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::flow_control::FlowControlDefaults;
    use oxeron_protocol::frame::{Frame, HDR_TYPE_PAD};
    use oxeron_protocol::logbuffer::DATA_HEADER_LENGTH;

    const SESSION: i32 = 77;
    const STREAM: i32 = 9;
    const INITIAL: i32 = 1000;
    const TERM: i32 = 64 * 1024;
    const MTU: i32 = 1408;
    const T0: i64 = 5_000_000_000;
    const MS: i64 = 1_000_000;

    fn terms() -> Vec<AtomicBuffer> {
        (0..3)
            .map(|_| AtomicBuffer::new_zeroed(TERM as usize))
            .collect()
    }

    fn publication() -> NetworkPublicationState {
        NetworkPublicationState::new(
            NetworkPublicationConfig::new(SESSION, STREAM, INITIAL, TERM, MTU),
            FlowControl::new(None, false, FlowControlDefaults::default()),
            T0,
        )
    }

    fn send(p: &mut NetworkPublicationState, now: i64, terms: &[AtomicBuffer]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        p.send(now, terms, &mut |d: &[u8]| out.push(d.to_vec()));
        out
    }

    fn sm(position: i64, window: i32, flags: u8) -> StatusMessage {
        StatusMessage {
            flags,
            session_id: SESSION,
            stream_id: STREAM,
            consumption_term_id: INITIAL + (position / TERM as i64) as i32,
            consumption_term_offset: (position % TERM as i64) as i32,
            receiver_window: window,
            receiver_id: 42,
            group_tag: None,
        }
    }

    /// Writes a frame of `payload` bytes at `offset` of term 0; returns the aligned length.
    fn put_frame(terms: &[AtomicBuffer], offset: usize, payload: usize, frame_type: u16) -> usize {
        let frame_length = DATA_HEADER_LENGTH + payload;
        let header = DataHeader {
            frame_length: frame_length as i32,
            flags: UNFRAGMENTED,
            frame_type,
            term_offset: offset as i32,
            session_id: SESSION,
            stream_id: STREAM,
            term_id: INITIAL,
            reserved_value: 0,
        };
        terms[0].put_bytes(offset, &header.to_bytes());
        oxeron_protocol::align(frame_length, FRAME_ALIGNMENT)
    }

    fn decode(d: &[u8]) -> Frame<'_> {
        Frame::decode(d).unwrap()
    }

    #[test]
    fn setup_every_100ms_until_a_status_message_then_heartbeats_every_100ms() {
        let t = terms();
        let mut p = publication();
        let out = send(&mut p, T0, &t);
        assert_eq!(out.len(), 1);
        let Frame::Setup(setup) = decode(&out[0]) else {
            panic!()
        };
        assert_eq!(
            setup,
            Setup {
                flags: 0,
                term_offset: 0,
                session_id: SESSION,
                stream_id: STREAM,
                initial_term_id: INITIAL,
                active_term_id: INITIAL,
                term_length: TERM,
                mtu: MTU,
                ttl: 0,
            }
        );
        assert!(send(&mut p, T0 + 50 * MS, &t).is_empty());
        assert!(send(&mut p, T0 + 100 * MS, &t).is_empty());
        assert_eq!(send(&mut p, T0 + 100 * MS + 1, &t).len(), 1);
        assert!(!p.is_connected());

        let t1 = T0 + 150 * MS;
        assert_eq!(
            p.on_status_message(&sm(0, 32 * 1024, 0), t1),
            SmOutcome::Applied
        );
        assert!(p.is_connected() && p.has_receivers());
        assert_eq!(p.sender_limit(), 32 * 1024);

        let out = send(&mut p, t1, &t);
        assert_eq!(out.len(), 1, "a heartbeat and no more SETUPs");
        let Frame::Data(hb) = decode(&out[0]) else {
            panic!()
        };
        assert!(hb.header.is_heartbeat());
        assert_eq!(
            (hb.header.flags, hb.header.term_id, hb.header.term_offset),
            (0xC0, INITIAL, 0)
        );
        assert!(send(&mut p, t1 + 100 * MS, &t).is_empty());
        assert_eq!(send(&mut p, t1 + 100 * MS + 1, &t).len(), 1);
        assert_eq!(p.stats().heartbeats_sent, 2);
        assert_eq!(p.stats().setups_sent, 2);
    }

    #[test]
    fn data_goes_out_within_limit_and_mtu_and_resets_the_heartbeat_timer() {
        let t = terms();
        let mut p = publication();
        send(&mut p, T0, &t);
        // A window of exactly 12 frames (352 bytes aligned, 4 to an MTU).
        p.on_status_message(&sm(0, 4224, 0), T0 + MS);
        let mut offset = 0;
        for _ in 0..40 {
            offset += put_frame(&t, offset, 300, HDR_TYPE_DATA);
        }
        let now = T0 + 2 * MS;
        let out = send(&mut p, now, &t);
        assert_eq!(
            out.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![1408, 1408, 1408]
        );
        assert_eq!(p.sender_position(), 4224);
        assert_eq!(out[1], t[0].to_vec(1408, 1408));
        // Held at the limit: nothing more, counted once, and no heartbeat within 100 ms of the data.
        assert!(send(&mut p, now + 50 * MS, &t).is_empty());
        assert!(send(&mut p, now + 60 * MS, &t).is_empty());
        assert_eq!(p.stats().flow_control_limits, 1);
        assert_eq!(p.stats().heartbeats_sent, 0);
        assert_eq!(send(&mut p, now + 100 * MS + 1, &t).len(), 1);
        assert_eq!(p.stats().heartbeats_sent, 1);
        // The receiver moves on: the limit opens, at most `max_messages_per_send` datagrams per call.
        p.cfg.max_messages_per_send = 4;
        p.on_status_message(&sm(4224, 8192, 0), now + 170 * MS);
        assert_eq!(send(&mut p, now + 171 * MS, &t).len(), 4);
        assert_eq!(p.sender_position(), 4224 + 4 * 1408);
    }

    #[test]
    fn padding_sends_only_its_header_and_skips_to_the_term_end() {
        let t = terms();
        let mut p = publication();
        send(&mut p, T0, &t);
        p.on_status_message(&sm(0, TERM / 2, 0), T0 + MS);
        let first = put_frame(&t, 0, 16, HDR_TYPE_DATA);
        put_frame(
            &t,
            first,
            TERM as usize - first - DATA_HEADER_LENGTH,
            HDR_TYPE_PAD,
        );
        let out = send(&mut p, T0 + 2 * MS, &t);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), first + DATA_HEADER_LENGTH);
        assert_eq!(p.sender_position(), i64::from(TERM));
    }

    #[test]
    fn naks_resend_from_the_log_once_per_linger() {
        let t = terms();
        let mut p = publication();
        send(&mut p, T0, &t);
        p.on_status_message(&sm(0, TERM / 2, 0), T0 + MS);
        let mut offset = 0;
        for _ in 0..8 {
            offset += put_frame(&t, offset, 100, HDR_TYPE_DATA); // 160 aligned
        }
        send(&mut p, T0 + 2 * MS, &t);
        assert_eq!(p.sender_position(), 1280);

        let nak = Nak {
            flags: 0,
            session_id: SESSION,
            stream_id: STREAM,
            term_id: INITIAL,
            term_offset: 320,
            length: 320,
        };
        let mut out = Vec::new();
        let outcome = p.on_nak(&nak, T0 + 3 * MS, &t, &mut |d: &[u8]| out.push(d.to_vec()));
        assert!(matches!(outcome, NakOutcome::Resend(_)));
        assert_eq!(out, vec![t[0].to_vec(320, 320)]);
        // The same NAK again during the 10 ms linger: ignored.
        out.clear();
        let outcome = p.on_nak(&nak, T0 + 4 * MS, &t, &mut |d: &[u8]| out.push(d.to_vec()));
        assert_eq!(outcome, NakOutcome::Ignored);
        assert!(out.is_empty());
        // After the linger it is served again.
        send(&mut p, T0 + 14 * MS, &t);
        p.on_nak(&nak, T0 + 14 * MS, &t, &mut |d: &[u8]| out.push(d.to_vec()));
        assert_eq!(out.len(), 1);
        // Beyond the sender position: nothing to resend.
        out.clear();
        let ahead = Nak {
            term_offset: 1280,
            ..nak
        };
        p.on_nak(&ahead, T0 + 40 * MS, &t, &mut |d: &[u8]| {
            out.push(d.to_vec())
        });
        assert!(out.is_empty());
        assert_eq!(p.stats().retransmits_sent, 2);
        assert_eq!(p.stats().naks_received, 4);
    }

    #[test]
    fn receivers_time_out_after_the_connection_timeout() {
        let t = terms();
        let mut p = publication();
        send(&mut p, T0, &t);
        p.on_status_message(&sm(0, 4096, 0), T0);
        send(&mut p, T0 + 4_999 * MS, &t);
        assert!(p.is_connected());
        send(&mut p, T0 + 5_000 * MS, &t);
        assert!(!p.is_connected() && !p.has_receivers());
    }

    #[test]
    fn setup_elicited_by_status_message_and_end_of_stream_at_close() {
        let t = terms();
        let mut p = publication();
        send(&mut p, T0, &t);
        p.on_status_message(&sm(0, 4096, 0), T0 + MS);
        send(&mut p, T0 + MS, &t);
        assert_eq!(
            p.on_status_message(&sm(0, 0, SEND_SETUP_FLAG), T0 + 2 * MS),
            SmOutcome::SetupElicited
        );
        let out = send(&mut p, T0 + 101 * MS, &t);
        assert!(matches!(decode(&out[0]), Frame::Setup(_)), "{out:?}");
        // Elicited SETUPs stop once sent with receivers present.
        let out = send(&mut p, T0 + 300 * MS, &t);
        assert!(out.iter().all(|d| !matches!(decode(d), Frame::Setup(_))));

        p.close(0);
        assert!(p.is_end_of_stream());
        let out = send(&mut p, T0 + 500 * MS, &t);
        let Frame::Data(hb) = decode(&out[0]) else {
            panic!()
        };
        assert_eq!(hb.header.flags, 0xE0);
        assert_eq!(
            p.on_status_message(&sm(0, 0, SEND_SETUP_FLAG), T0 + 501 * MS),
            SmOutcome::Ignored
        );
        assert_eq!(
            p.on_status_message(&sm(0, 4096, SM_EOS_FLAG), T0 + 502 * MS),
            SmOutcome::Applied
        );
        assert!(p.has_received_unicast_eos());
        assert!(!p.has_receivers());

        p.revoke();
        let out = send(&mut p, T0 + 700 * MS, &t);
        let Frame::Data(hb) = decode(&out[0]) else {
            panic!()
        };
        assert_eq!(hb.header.flags, 0xF0);
    }

    #[test]
    fn invalid_status_messages_and_rttm_reply() {
        let mut p = publication();
        assert_eq!(
            p.on_status_message(&sm(0, TERM / 2 + 1, 0), T0),
            SmOutcome::Rejected
        );
        assert_eq!(
            p.on_status_message(&sm(8, 4096, 0), T0),
            SmOutcome::Rejected
        );
        assert_eq!(
            p.on_status_message(&sm(2 * TERM as i64, 4096, 0), T0),
            SmOutcome::Rejected
        );
        assert_eq!(p.stats().invalid_packets, 3);
        assert!(!p.has_receivers());

        let request = Rttm {
            flags: oxeron_protocol::frame::rttm::REPLY_FLAG,
            session_id: SESSION,
            stream_id: STREAM,
            echo_timestamp: 123,
            reception_delta: 9,
            receiver_id: 42,
        };
        let reply = p.on_rttm(&request).unwrap();
        assert_eq!(
            (
                reply.flags,
                reply.echo_timestamp,
                reply.reception_delta,
                reply.receiver_id
            ),
            (0, 123, 0, 42)
        );
        assert!(p.on_rttm(&reply).is_none());
    }

    #[test]
    fn group_semantics_sets_the_setup_flag() {
        let mut cfg = NetworkPublicationConfig::new(SESSION, STREAM, INITIAL, TERM, MTU);
        cfg.group_semantics = true;
        cfg.send_response = true;
        cfg.ttl = 4;
        let mut p = NetworkPublicationState::new(
            cfg,
            FlowControl::new(None, true, FlowControlDefaults::default()),
            T0,
        );
        let out = send(&mut p, T0, &terms());
        let Frame::Setup(setup) = decode(&out[0]) else {
            panic!()
        };
        assert_eq!(
            (setup.flags, setup.ttl),
            (GROUP_FLAG | SEND_RESPONSE_FLAG, 4)
        );
    }
}
