//! The Aeron client in safe Rust: publications, subscriptions and images over Aeron 1.54's log buffers.

pub mod cnc_file;
mod fragment_assembler;
mod image;
pub mod logbuffer;
mod publication;
mod publication_error;
mod subscription;
#[cfg(test)]
mod test_support;

pub use fragment_assembler::{ControlledFragmentAssembler, FragmentAssembler};
pub use image::{ControlledPollAction, Image, ImageInfo, InvalidPosition};
pub use logbuffer::Header;
pub use publication::{BufferClaim, ExclusivePublication, Publication, PublicationInfo};
pub use publication_error::OfferError;
pub use subscription::Subscription;
