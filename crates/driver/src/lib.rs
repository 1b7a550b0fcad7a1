//! The Aeron media driver in Rust, compatible with Aeron 1.54 clients through the same CnC file, commands,
//! counters and log buffers.
//!
//! It serves IPC (`aeron:ipc`) and UDP (`aeron:udp`) publications and subscriptions: the conductor answers
//! clients, the sender and receiver agents move frames through sockets (see [`ThreadingMode`]).

pub mod aeron_dir;
mod conductor;
pub mod context;
mod ipc_publication;
pub mod loss;
pub mod loss_report;
mod media_driver;
mod mmsg;
// A few accessors and re-exports (revocation, per-strategy receiver counts) serve features not wired yet.
#[allow(dead_code, unused_imports)]
mod net;
mod receiver;
mod sender;
mod settings_without_effect;
mod socket_options;
mod system_counters;
mod udp_channel;
mod unblocker;

/// What the sender and receiver agents tell the conductor.
#[derive(Debug)]
pub(crate) enum DriverEvent {
    /// A network publication finished lingering: free its counters and log.
    PublicationDone {
        /// The publication.
        registration_id: i64,
    },
    /// A SETUP for a wanted session arrived: create the image.
    CreateImage {
        /// The receive endpoint.
        endpoint_id: i64,
        /// The image's configuration from the SETUP.
        config: Box<net::PublicationImageConfig>,
        /// The sender's address (status messages and NAKs go there).
        source: std::net::SocketAddr,
        /// The sender's MTU.
        mtu: i32,
    },
    /// An image drained: subscribers get an unavailable-image message.
    ImageUnavailable {
        /// The image.
        correlation_id: i64,
    },
    /// An image finished lingering: free its counters and log.
    ImageDone {
        /// The image.
        correlation_id: i64,
    },
    /// Gaps an image detected, for the loss report.
    Loss {
        /// The image.
        correlation_id: i64,
        /// The gaps.
        gaps: Vec<net::Gap>,
    },
    /// A failure to record in the error log.
    Error(String),
}

pub use context::{Context, InvalidSetting, ThreadingMode};
pub use media_driver::{DriverError, MediaDriver};
