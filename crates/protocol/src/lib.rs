//! Aeron 1.54's wire and file layouts as pure bytes and arithmetic: UDP frame headers, the log-buffer
//! descriptor and term math, the CnC file header, the client <-> driver command protocol and channel URIs.
//!
//! Nothing here touches threads, sockets or files. Decoders take byte slices from outside and return typed
//! errors for anything malformed; they never panic.

pub mod archive;
pub mod cnc;
pub mod command;
pub mod frame;
pub mod logbuffer;
pub mod uri;

mod error;
pub mod le;

pub use error::DecodeError;

/// Rounds `value` up to a multiple of `alignment`, which must be a power of two.
#[inline]
pub const fn align(value: usize, alignment: usize) -> usize {
    (value + alignment - 1) & !(alignment - 1)
}

/// Composes a semantic version the way Aeron stores it in files and messages: `major<<16 | minor<<8 | patch`.
#[inline]
pub const fn semantic_version(major: u8, minor: u8, patch: u8) -> i32 {
    ((major as i32) << 16) | ((minor as i32) << 8) | patch as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_rounds_up_to_power_of_two() {
        assert_eq!(align(0, 32), 0);
        assert_eq!(align(1, 32), 32);
        assert_eq!(align(32, 32), 32);
        assert_eq!(align(33, 8), 40);
    }

    #[test]
    fn semantic_version_matches_aeron_cnc_version() {
        assert_eq!(semantic_version(0, 2, 0), 512);
        assert_eq!(semantic_version(1, 12, 0), 68608);
    }
}
