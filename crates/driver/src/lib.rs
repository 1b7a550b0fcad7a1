//! The Aeron media driver in Rust, compatible with Aeron 1.54 clients through the same CnC file, commands,
//! counters and log buffers.
//!
//! This version serves IPC (`aeron:ipc`) publications and subscriptions; UDP channels are refused with
//! `NOT_SUPPORTED` until the network agents land.

mod conductor;
pub mod context;
mod ipc_publication;
mod media_driver;
// The sender and receiver agents that drive these state machines come later.
#[allow(dead_code, unused_imports)]
mod net;
mod system_counters;
mod unblocker;

pub use context::{Context, ThreadingMode};
pub use media_driver::{DriverError, MediaDriver};
