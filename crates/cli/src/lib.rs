//! The library half of the `oxeron` command: benchmarks, the catalog reader, the demo, the verifiable
//! sample stream and the counters tools. Applications depend on the `oxeron` crate instead; this one is for the
//! command, its tests and the interop harness.

pub mod backlog_stat;
pub mod bench;
pub mod catalog_edit;
pub mod catalog_tool;
pub mod catalog_verify;
pub mod demo;
pub mod latency_plot;
pub mod sample;
pub mod stream_stat;
pub mod tools;
