//! The Aeron media driver in Rust, compatible with Aeron 1.54 clients through the same CnC file, commands,
//! counters and log buffers.

pub mod context;

pub use context::{Context, ThreadingMode};
