//! Oxeron: the Aeron messaging stack in pure Rust, byte-compatible with Aeron 1.54.
//!
//! This crate gathers the client ([`client`]), the media driver ([`driver`]), the archive ([`archive`]) and
//! the layers below them, and ships the `oxeron` command.
//!
//! ```no_run
//! use oxeron::client::{Aeron, Context};
//! use oxeron::driver::{Context as DriverContext, MediaDriver, ThreadingMode};
//!
//! let driver = MediaDriver::launch(
//!     DriverContext::new().aeron_dir("/dev/shm/oxeron-example").threading_mode(ThreadingMode::Shared),
//! )?;
//! let aeron = Aeron::connect(Context::new().aeron_dir(driver.aeron_dir()))?;
//! let publication = aeron.add_publication("aeron:ipc", 10)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use oxeron_archive as archive;
pub use oxeron_client as client;
pub use oxeron_concurrent as concurrent;
pub use oxeron_driver as driver;
pub use oxeron_protocol as protocol;

pub mod bench;
pub mod catalog_tool;
pub mod demo;
pub mod sample;
pub mod tools;

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
