//! The Aeron client in safe Rust: publications, subscriptions and images over Aeron 1.54's log buffers.

pub mod logbuffer;
