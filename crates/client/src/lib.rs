//! The Aeron client in safe Rust: publications, subscriptions and images over Aeron 1.54's log buffers.

pub mod logbuffer;
mod publication;
mod publication_error;

pub use publication::{BufferClaim, ExclusivePublication, Publication, PublicationInfo};
pub use publication_error::OfferError;
