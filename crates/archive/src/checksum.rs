//! Checksums of recorded frames and catalog descriptors (`aeron.archive.record.checksum` and
//! `aeron.archive.replay.checksum`).
//!
//! With a record checksum, the archive writes each recorded data frame's checksum into the frame's session id
//! field in the segment file (the replay publication gives frames its own session id anyway), computed over
//! the frame after its header up to its aligned length; padding frames carry none. Each catalog descriptor's
//! header then carries the checksum of the descriptor's body. A replay checksum makes replays check every
//! frame they read and end with an error at the first mismatch. This is where and how Aeron puts them, so
//! Java's `ArchiveTool checksum` and `verify -checksum` agree with Oxeron's recordings, and the other way round.

use std::fmt;
use std::str::FromStr;

use oxeron_protocol::frame::data::{HEADER_LENGTH, SESSION_ID_FIELD_OFFSET};
use oxeron_protocol::frame::{FRAME_ALIGNMENT, HDR_TYPE_PAD, TYPE_FIELD_OFFSET};
use oxeron_protocol::{align, le};

/// A checksum algorithm Aeron's archive knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// CRC-32 (IEEE 802.3), Java's `io.aeron.archive.checksum.Crc32`.
    Crc32,
    /// CRC-32C (Castagnoli), Java's `io.aeron.archive.checksum.Crc32c`.
    Crc32c,
}

/// A checksum name that is neither an alias nor a class name Aeron maps to a built-in checksum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown checksum {0:?}: expected crc32 or crc32c (or Java's io.aeron.archive.checksum.Crc32/Crc32c)"
)]
pub struct UnknownChecksum(pub String);

impl Checksum {
    /// The checksum of `bytes`, as Aeron stores it (the unsigned CRC's bits as an `i32`).
    pub fn compute(self, bytes: &[u8]) -> i32 {
        let crc = match self {
            Self::Crc32 => crc32fast::hash(bytes),
            Self::Crc32c => crc32c::crc32c(bytes),
        };
        crc as i32
    }

    /// Java's class name of this checksum, as `ArchiveTool -checksum` and the archive's settings take it.
    pub fn java_class_name(self) -> &'static str {
        match self {
            Self::Crc32 => "io.aeron.archive.checksum.Crc32",
            Self::Crc32c => "io.aeron.archive.checksum.Crc32c",
        }
    }

    /// The checksum of one frame: its bytes after the header, up to its aligned length.
    pub fn of_frame(self, frame: &[u8]) -> i32 {
        self.compute(&frame[HEADER_LENGTH..])
    }

    /// Writes the checksum of every data frame of `block` (whole frames of one term) into its session id
    /// field. Frames must have been validated: lengths at least a header, within the block.
    pub fn stamp_frames(self, block: &mut [u8]) {
        let mut offset = 0;
        while let Some((aligned, is_data)) = frame_at(block, offset) {
            if is_data {
                let frame = &mut block[offset..offset + aligned];
                let checksum = self.of_frame(frame);
                le::put_i32(frame, SESSION_ID_FIELD_OFFSET, checksum);
            }
            offset += aligned;
        }
    }

    /// Checks every data frame of `block` against the checksum in its session id field; the first mismatch
    /// as (offset in the block, recorded, computed).
    pub fn verify_frames(self, block: &[u8]) -> Result<(), (usize, i32, i32)> {
        for (offset, aligned) in data_frames(block) {
            let frame = &block[offset..offset + aligned];
            let recorded = le::get_i32(frame, SESSION_ID_FIELD_OFFSET);
            let computed = self.of_frame(frame);
            if recorded != computed {
                return Err((offset, recorded, computed));
            }
        }
        Ok(())
    }
}

/// (aligned length, whether it is a data frame) of the frame at `offset`, if a whole one starts there.
fn frame_at(block: &[u8], offset: usize) -> Option<(usize, bool)> {
    if offset + HEADER_LENGTH > block.len() {
        return None;
    }
    let aligned = usize::try_from(le::get_i32(block, offset))
        .ok()
        .filter(|&l| l >= HEADER_LENGTH)
        .map(|l| align(l, FRAME_ALIGNMENT))
        .filter(|&a| offset + a <= block.len())?;
    Some((
        aligned,
        le::get_u16(block, offset + TYPE_FIELD_OFFSET) != HDR_TYPE_PAD,
    ))
}

/// (offset, aligned length) of each data frame of a block of whole frames, up to the first frame whose
/// length does not fit.
fn data_frames(block: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut offset = 0;
    std::iter::from_fn(move || loop {
        let (aligned, is_data) = frame_at(block, offset)?;
        let at = offset;
        offset += aligned;
        if is_data {
            return Some((at, aligned));
        }
    })
}

impl FromStr for Checksum {
    type Err = UnknownChecksum;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "crc32"
            | "CRC32"
            | "CRC-32"
            | "io.aeron.archive.checksum.Crc32"
            | "org.agrona.checksum.Crc32" => Ok(Self::Crc32),
            "crc32c"
            | "CRC32C"
            | "CRC-32C"
            | "io.aeron.archive.checksum.Crc32c"
            | "org.agrona.checksum.Crc32c" => Ok(Self::Crc32c),
            other => Err(UnknownChecksum(other.to_string())),
        }
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Crc32 => "crc32",
            Self::Crc32c => "crc32c",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxeron_protocol::frame::HDR_TYPE_DATA;
    use proptest::prelude::*;

    fn frame(payload: &[u8], session_id: i32) -> Vec<u8> {
        let aligned = align(HEADER_LENGTH + payload.len(), FRAME_ALIGNMENT);
        let mut f = vec![0u8; aligned];
        le::put_i32(&mut f, 0, (HEADER_LENGTH + payload.len()) as i32);
        le::put_u16(&mut f, TYPE_FIELD_OFFSET, HDR_TYPE_DATA);
        le::put_i32(&mut f, SESSION_ID_FIELD_OFFSET, session_id);
        f[HEADER_LENGTH..HEADER_LENGTH + payload.len()].copy_from_slice(payload);
        f
    }

    fn padding(length: usize) -> Vec<u8> {
        let mut f = vec![0u8; length];
        le::put_i32(&mut f, 0, length as i32);
        le::put_u16(&mut f, TYPE_FIELD_OFFSET, HDR_TYPE_PAD);
        le::put_i32(&mut f, SESSION_ID_FIELD_OFFSET, 7);
        f
    }

    #[test]
    fn known_values_match_the_standard_crcs() {
        assert_eq!(Checksum::Crc32.compute(b"123456789") as u32, 0xCBF4_3926);
        assert_eq!(Checksum::Crc32c.compute(b"123456789") as u32, 0xE306_9283);
    }

    #[test]
    fn java_and_short_names_parse_and_others_are_refused() {
        for name in ["crc32", "CRC-32", "io.aeron.archive.checksum.Crc32"] {
            assert_eq!(name.parse::<Checksum>(), Ok(Checksum::Crc32));
        }
        for name in ["crc32c", "CRC-32C", "org.agrona.checksum.Crc32c"] {
            assert_eq!(name.parse::<Checksum>(), Ok(Checksum::Crc32c));
        }
        let err = "com.example.Adler".parse::<Checksum>().unwrap_err();
        assert!(err.to_string().contains("com.example.Adler"), "{err}");
        assert_eq!(
            Checksum::Crc32.java_class_name().parse::<Checksum>(),
            Ok(Checksum::Crc32)
        );
    }

    #[test]
    fn the_checksum_covers_the_aligned_payload_and_padding_is_left_alone() {
        let mut block = frame(b"hello", 1);
        block.extend(padding(64));
        Checksum::Crc32.stamp_frames(&mut block);
        let expected = Checksum::Crc32.compute(&block[HEADER_LENGTH..32 + 32]);
        assert_eq!(le::get_i32(&block, SESSION_ID_FIELD_OFFSET), expected);
        assert_eq!(le::get_i32(&block, 64 + SESSION_ID_FIELD_OFFSET), 7);
        assert_eq!(Checksum::Crc32.verify_frames(&block), Ok(()));
    }

    proptest! {
        #[test]
        fn stamped_frames_verify_and_any_flipped_payload_bit_is_found(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..6),
            flip in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let mut block = Vec::new();
            for p in &payloads {
                block.extend(frame(p, 99));
            }
            for checksum in [Checksum::Crc32, Checksum::Crc32c] {
                let mut stamped = block.clone();
                checksum.stamp_frames(&mut stamped);
                prop_assert_eq!(checksum.verify_frames(&stamped), Ok(()));
                let payload_bytes: Vec<usize> = data_frames(&stamped)
                    .flat_map(|(o, a)| o + HEADER_LENGTH..o + a)
                    .collect();
                if payload_bytes.is_empty() {
                    continue;
                }
                let at = payload_bytes[flip.index(payload_bytes.len())];
                stamped[at] ^= 1 << bit;
                let (offset, _, _) = checksum.verify_frames(&stamped).unwrap_err();
                prop_assert!(offset <= at && at < offset + 32 + 224);
            }
        }
    }
}
