//! Protocol state machines for Aeron's UDP transport, free of sockets, threads and clocks.
//!
//! Each machine takes what arrived (decoded frames) and the time (`now_ns`, a monotonic nanosecond clock read
//! by its caller) and answers with frames to send or positions to publish, in the style of quinn-proto. The
//! sender and receiver agents that own the sockets drive them:
//!
//! * sender agent: per network publication a [`NetworkPublicationState`]; on each duty cycle call
//!   [`NetworkPublicationState::send`] with the log's term buffers and a closure that writes to the socket;
//!   feed it decoded SM, NAK, ERR and RTTM frames from the control socket. It owns a [`FlowControl`] and a
//!   [`RetransmitHandler`].
//! * receiver agent: per receive endpoint a [`DataPacketDispatcher`] that routes DATA and SETUP by stream and
//!   session (and says when to elicit a SETUP); per image a [`PublicationImageState`]; feed DATA/PAD datagrams to
//!   [`PublicationImageState::insert_packet`], and each duty cycle send whatever
//!   [`PublicationImageState::poll_status_message`] and [`PublicationImageState::poll_naks`] return (or, for a
//!   rejected image, [`PublicationImageState::poll_error_frame`]).
//! * conductor: calls [`PublicationImageState::track_rebuild`] with the subscriber positions (this runs the
//!   [`LossDetector`]), records [`PublicationImageState::drain_loss_observations`] in the loss report, and
//!   calls [`PublicationImageState::on_time_event`] for the image's lifecycle; for publications it calls
//!   [`NetworkPublicationState::close`] / [`NetworkPublicationState::revoke`] and mirrors
//!   [`NetworkPublicationState::is_connected`], snd-pos and snd-lmt into the log metadata and counters.

mod dispatcher;
mod flow_control;
mod image;
mod loss_detector;
mod publication;
mod retransmit_handler;
#[cfg(test)]
mod robustness_tests;
#[cfg(test)]
mod sim_tests;
mod term_scan;

pub(crate) use dispatcher::{
    DataAction, DataPacketDispatcher, SetupAction, PENDING_SETUP_TIMEOUT_NS,
};
pub(crate) use flow_control::{FlowControl, FlowControlDefaults};
pub(crate) use image::{
    ImageLifecycle, ImageStats, InsertOutcome, PublicationImageConfig, PublicationImageState,
    SetupError,
};
pub(crate) use loss_detector::{FeedbackDelay, Gap, LossDetector, ScanOutcome};
pub(crate) use publication::{
    NetworkPublicationConfig, NetworkPublicationState, PublicationStats, SmOutcome,
};
pub(crate) use retransmit_handler::{NakOutcome, Resend, RetransmitHandler};

/// Nanoseconds in a millisecond.
pub(crate) const MS: i64 = 1_000_000;

/// Aeron's driver timing defaults for the UDP transport (`aeron_driver_context.c`).
pub(crate) mod defaults {
    use super::MS;

    /// SETUP resend interval until the first status message.
    pub(crate) const PUBLICATION_SETUP_TIMEOUT_NS: i64 = 100 * MS;
    /// Heartbeat interval of an idle sender.
    pub(crate) const PUBLICATION_HEARTBEAT_TIMEOUT_NS: i64 = 100 * MS;
    /// A receiver counts as live while it has sent a status message within this time.
    pub(crate) const PUBLICATION_CONNECTION_TIMEOUT_NS: i64 = 5_000 * MS;
    /// Longest interval between status messages.
    pub(crate) const STATUS_MESSAGE_TIMEOUT_NS: i64 = 200 * MS;
    /// An image with no packets for this long starts draining.
    pub(crate) const IMAGE_LIVENESS_TIMEOUT_NS: i64 = 10_000 * MS;
    /// A connection (sender address) of an image is live while it has been heard from within this time.
    pub(crate) const RECEIVE_DESTINATION_TIMEOUT_NS: i64 = 5_000 * MS;
    /// Unicast NAK delay (`AERON_NAK_UNICAST_DELAY_NS_DEFAULT`).
    pub(crate) const NAK_UNICAST_DELAY_NS: i64 = 100_000;
    /// Unicast NAK retry delay = delay x this ratio.
    pub(crate) const NAK_UNICAST_RETRY_DELAY_RATIO: i64 = 100;
    /// Multicast NAK maximum backoff.
    pub(crate) const NAK_MULTICAST_MAX_BACKOFF_NS: i64 = 10 * MS;
    /// Multicast NAK group size estimate.
    pub(crate) const NAK_MULTICAST_GROUP_SIZE: u32 = 10;
    /// Unicast retransmit delay.
    pub(crate) const RETRANSMIT_UNICAST_DELAY_NS: i64 = 0;
    /// Linger of a retransmit action, during which overlapping NAKs are ignored.
    pub(crate) const RETRANSMIT_UNICAST_LINGER_NS: i64 = 10 * MS;
    /// Concurrent retransmit actions for group semantics (`max-resend`).
    pub(crate) const MAX_RESEND: u32 = 16;
    /// Datagrams sent per publication per send call.
    pub(crate) const MAX_MESSAGES_PER_SEND: usize = 16;
    /// Initial receiver window.
    pub(crate) const RECEIVER_INITIAL_WINDOW_LENGTH: i32 = 128 * 1024;
}

/// `min(window, term_length / 2)`: the receiver window Aeron uses for a term length.
pub(crate) fn receiver_window_length(initial_window: i32, term_length: i32) -> i32 {
    initial_window.min(term_length / 2)
}
