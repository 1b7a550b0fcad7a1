//! The Aeron client in safe Rust: publications, subscriptions and images over Aeron 1.54's log buffers.

mod aeron;
pub mod cnc_file;
mod context;
mod driver_control;
pub mod env;
mod error;
mod fragment_assembler;
mod image;
pub mod logbuffer;
mod publication;
mod publication_error;
mod subscription;
#[cfg(test)]
mod test_support;

pub use aeron::{Aeron, Counter};
pub use context::{default_aeron_dir, Context, CounterHandler, ErrorHandler, ImageHandler};
pub use error::AeronError;
pub use fragment_assembler::{ControlledFragmentAssembler, FragmentAssembler};
pub use image::{ControlledPollAction, Image, ImageInfo, InvalidPosition};
pub use logbuffer::Header;
pub use publication::{BufferClaim, ExclusivePublication, Publication, PublicationInfo};
pub use publication_error::OfferError;
pub use subscription::Subscription;

/// A "closed" flag shared between a handle and the client conductor, alone on its cache line so that the
/// flag the data path reads on every offer never shares a line with data another thread writes.
pub type ClosedFlag = std::sync::Arc<crossbeam_utils::CachePadded<std::sync::atomic::AtomicBool>>;
