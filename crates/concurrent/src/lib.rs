//! Shared-memory primitives with Aeron's layouts: mapped files, atomic buffer views, the many-to-one ring
//! buffer (client -> driver), the broadcast buffer (driver -> clients), counters, the distinct error log,
//! idle strategies and the agent runner.
//!
//! This crate holds the only `unsafe` of the shared-memory path, in [`atomic_buffer`] and [`mapped_file`].

pub mod agent;
pub mod atomic_buffer;
pub mod broadcast;
pub mod clock;
pub mod counters;
pub mod error_log;
pub mod idle;
pub mod mapped_file;
pub mod process;
pub mod ring_buffer;

pub use atomic_buffer::{AtomicBuffer, OutOfBounds};
pub use mapped_file::MappedFile;
