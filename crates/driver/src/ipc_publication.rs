//! The driver's side of an IPC publication: publisher limit, cleaning, blocked publishers, draining, linger.

use oxeron_client::logbuffer::LogBuffers;
use oxeron_concurrent::counters::AtomicCounter;
use oxeron_protocol::logbuffer::{
    compute_position, index_by_position, position_bits_to_shift, term_id, term_offset,
};

use crate::unblocker::unblock_log;

/// Lifecycle of an IPC publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpcPublicationState {
    /// Publishers attached.
    Active,
    /// No publishers left; subscribers still consuming what was written.
    Draining,
    /// Drained; kept a while so clients can unmap.
    Linger,
    /// Ready to be freed.
    Done,
}

/// A subscriber's position on this publication (its sub-pos counter).
#[derive(Debug)]
pub(crate) struct SubscriberPosition {
    pub subscription_registration_id: i64,
    pub counter: AtomicCounter,
}

/// One IPC publication, owned by the driver conductor.
#[derive(Debug)]
pub(crate) struct IpcPublication {
    pub registration_id: i64,
    pub session_id: i32,
    pub stream_id: i32,
    pub is_exclusive: bool,
    pub log: LogBuffers,
    pub log_file_name: String,
    pub publisher_limit: AtomicCounter,
    pub publisher_position: AtomicCounter,
    pub subscribers: Vec<SubscriberPosition>,
    pub state: IpcPublicationState,
    pub ref_count: i32,
    initial_term_id: i32,
    term_length: i32,
    position_bits_to_shift: u32,
    term_window_length: i64,
    trip_gain: i64,
    trip_limit: i64,
    consumer_position: i64,
    last_consumer_position: i64,
    clean_position: i64,
    time_of_last_consumer_position_change_ns: i64,
    time_of_last_state_change_ns: i64,
    unblock_timeout_ns: i64,
    linger_timeout_ns: i64,
}

/// What the conductor must tell clients after a timer tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpcPublicationEvent {
    /// Nothing happened.
    None,
    /// The publication drained: its images are unavailable to every linked subscription.
    Drained,
}

/// Parameters to build an [`IpcPublication`].
#[derive(Debug)]
pub(crate) struct IpcPublicationParams {
    pub registration_id: i64,
    pub session_id: i32,
    pub stream_id: i32,
    pub is_exclusive: bool,
    pub term_window_length: i64,
    pub mtu_length: i32,
    pub unblock_timeout_ns: i64,
    pub linger_timeout_ns: i64,
    pub now_ns: i64,
}

impl IpcPublication {
    pub(crate) fn new(
        params: IpcPublicationParams,
        log: LogBuffers,
        log_file_name: String,
        publisher_limit: AtomicCounter,
        publisher_position: AtomicCounter,
    ) -> Self {
        let term_length = log.term_length();
        let initial_term_id = log.metadata().initial_term_id();
        let mut publication = IpcPublication {
            registration_id: params.registration_id,
            session_id: params.session_id,
            stream_id: params.stream_id,
            is_exclusive: params.is_exclusive,
            log,
            log_file_name,
            publisher_limit,
            publisher_position,
            subscribers: Vec::new(),
            state: IpcPublicationState::Active,
            ref_count: 1,
            initial_term_id,
            term_length,
            position_bits_to_shift: position_bits_to_shift(term_length),
            term_window_length: params.term_window_length,
            trip_gain: (params.term_window_length >> 2).max(params.mtu_length as i64),
            trip_limit: 0,
            consumer_position: 0,
            last_consumer_position: 0,
            clean_position: 0,
            time_of_last_consumer_position_change_ns: params.now_ns,
            time_of_last_state_change_ns: params.now_ns,
            unblock_timeout_ns: params.unblock_timeout_ns,
            linger_timeout_ns: params.linger_timeout_ns,
        };
        let producer = publication.producer_position();
        publication.consumer_position = producer;
        publication.last_consumer_position = producer;
        publication.clean_position = producer;
        publication
    }

    /// Position of the publisher's tail.
    pub(crate) fn producer_position(&self) -> i64 {
        let raw_tail = self.log.metadata().active_raw_tail();
        compute_position(
            term_id(raw_tail),
            term_offset(raw_tail, self.term_length),
            self.position_bits_to_shift,
            self.initial_term_id,
        )
    }

    /// Where a new subscriber starts: the slowest existing subscriber, or the consumer position.
    pub(crate) fn join_position(&self) -> i64 {
        self.subscribers
            .iter()
            .map(|s| s.counter.get())
            .fold(self.consumer_position, i64::min)
    }

    /// True while new subscriptions may attach (active, or draining with data left to consume).
    pub(crate) fn is_accepting_subscriptions(&self) -> bool {
        self.state == IpcPublicationState::Active
            || (self.state == IpcPublicationState::Draining && !self.is_drained())
    }

    fn is_drained(&self) -> bool {
        let producer = self.producer_position();
        self.subscribers.iter().all(|s| s.counter.get() >= producer)
    }

    /// Attaches a subscriber whose position counter was set to the join position.
    pub(crate) fn add_subscriber(&mut self, subscriber: SubscriberPosition) {
        self.subscribers.push(subscriber);
        self.log.metadata().set_is_connected(true);
    }

    /// Detaches the subscriber of `subscription_registration_id`; returns its position counter.
    pub(crate) fn remove_subscriber(
        &mut self,
        subscription_registration_id: i64,
    ) -> Option<AtomicCounter> {
        let index = self
            .subscribers
            .iter()
            .position(|s| s.subscription_registration_id == subscription_registration_id)?;
        self.update_publisher_limit();
        let removed = self.subscribers.remove(index);
        if self.subscribers.is_empty() {
            self.log.metadata().set_is_connected(false);
        }
        Some(removed.counter)
    }

    /// Another client attached to this (concurrent) publication.
    pub(crate) fn increment_ref(&mut self) {
        self.ref_count += 1;
    }

    /// A client let go; the last one starts draining and marks the end of the stream.
    pub(crate) fn decrement_ref(&mut self) {
        self.ref_count -= 1;
        if self.ref_count == 0 {
            let producer = self.producer_position();
            if self.publisher_limit.get_plain() > producer {
                self.publisher_limit.set(producer);
            }
            self.log.metadata().set_end_of_stream_position(producer);
            self.state = IpcPublicationState::Draining;
        }
    }

    /// Moves the publisher limit to the slowest subscriber plus the window and cleans consumed terms.
    /// Returns the work done.
    pub(crate) fn update_publisher_limit(&mut self) -> usize {
        if self.state != IpcPublicationState::Active {
            return 0;
        }
        // The publisher's tail is not read here: its cache line is the publisher's hottest, and the
        // publisher-position counter is refreshed on the timer instead.
        if self.subscribers.is_empty() {
            if self.publisher_limit.get_plain() > self.consumer_position {
                self.publisher_limit.set(self.consumer_position);
                self.trip_limit = self.consumer_position;
                self.clean_buffer(self.consumer_position);
                return 1;
            }
            return 0;
        }
        let mut min_position = i64::MAX;
        let mut max_position = self.consumer_position;
        for s in &self.subscribers {
            let p = s.counter.get();
            min_position = min_position.min(p);
            max_position = max_position.max(p);
        }
        let mut work = 0;
        let proposed = min_position + self.term_window_length;
        if proposed > self.trip_limit {
            // As Aeron 1.54 does: clean and move the limit only when the limit trips, so that between trips
            // the conductor has nothing to do and backs off instead of competing with the application.
            self.clean_buffer(min_position);
            self.publisher_limit.set(proposed);
            self.trip_limit = proposed + self.trip_gain;
            work = 1;
        }
        self.consumer_position = max_position;
        work
    }

    /// Zeroes the log from the clean position up to `position` (every subscriber has read it), at most to the
    /// end of the term the clean position is in: the frames' bodies first, then their first word with
    /// release, so a reader never sees a frame length over stale bytes.
    fn clean_buffer(&mut self, position: i64) {
        if position <= self.clean_position {
            return;
        }
        let term_length = self.term_length as i64;
        let index = index_by_position(self.clean_position, self.position_bits_to_shift);
        let offset = (self.clean_position & (term_length - 1)) as usize;
        let length = (position - self.clean_position).min(term_length - offset as i64) as usize;
        let term = self.log.term(index);
        if length > 8 {
            term.set_memory(offset + 8, length - 8, 0);
        }
        term.put_i64_release(offset, 0);
        self.clean_position += length as i64;
    }

    /// The conductor's timer tick: publisher position, blocked publishers, draining and linger.
    pub(crate) fn on_time_event(&mut self, now_ns: i64) -> IpcPublicationEvent {
        match self.state {
            IpcPublicationState::Active => {
                let producer = self.producer_position();
                self.publisher_position.set(producer);
                if !self.is_exclusive {
                    self.check_for_blocked_publisher(producer, now_ns);
                }
                IpcPublicationEvent::None
            }
            IpcPublicationState::Draining => {
                let producer = self.producer_position();
                self.publisher_position.set(producer);
                if self.is_drained() {
                    self.state = IpcPublicationState::Linger;
                    self.time_of_last_state_change_ns = now_ns;
                    return IpcPublicationEvent::Drained;
                }
                unblock_log(
                    self.log.terms(),
                    self.log.metadata(),
                    self.consumer_position,
                    self.term_length,
                );
                IpcPublicationEvent::None
            }
            IpcPublicationState::Linger => {
                if now_ns - self.time_of_last_state_change_ns >= self.linger_timeout_ns {
                    self.state = IpcPublicationState::Done;
                }
                IpcPublicationEvent::None
            }
            IpcPublicationState::Done => IpcPublicationEvent::None,
        }
    }

    fn is_possibly_blocked(&self, producer: i64, consumer: i64) -> bool {
        let producer_term_count = self.log.metadata().active_term_count();
        let expected = (consumer >> self.position_bits_to_shift) as i32;
        producer_term_count != expected || producer > consumer
    }

    fn check_for_blocked_publisher(&mut self, producer: i64, now_ns: i64) {
        let consumer = self.consumer_position;
        if consumer == self.last_consumer_position && self.is_possibly_blocked(producer, consumer) {
            if now_ns > self.time_of_last_consumer_position_change_ns + self.unblock_timeout_ns {
                unblock_log(
                    self.log.terms(),
                    self.log.metadata(),
                    consumer,
                    self.term_length,
                );
            }
        } else {
            self.time_of_last_consumer_position_change_ns = now_ns;
            self.last_consumer_position = consumer;
        }
    }
}
