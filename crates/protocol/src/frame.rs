//! UDP frames exchanged between media drivers, and the DATA/PAD header that also lives in log buffers.
//!
//! Every frame starts with the common 8-byte [`FrameHeader`]; the `type` field picks the layout. Each frame kind
//! has a submodule with its offsets, lengths and flags, and a typed struct with `decode`/`encode`.
//! [`Frame::decode`] classifies a whole received datagram the way Aeron's driver validates it before dispatch;
//! [`data_frames`] walks the several DATA/PAD frames one datagram may carry.

pub mod data;
pub mod error;
pub mod nak;
pub mod resolution;
pub mod response_setup;
pub mod rttm;
pub mod setup;
pub mod status;

pub use data::{data_frames, DataFrame, DataFrames, DataHeader};
pub use error::ErrorFrame;
pub use nak::Nak;
pub use resolution::{ResolutionEntry, ResolutionFrame};
pub use response_setup::ResponseSetup;
pub use rttm::Rttm;
pub use setup::Setup;
pub use status::StatusMessage;

use crate::le;
use crate::DecodeError;

/// Offset of `frame_length` (i32): the frame's length in bytes, header included.
pub const FRAME_LENGTH_FIELD_OFFSET: usize = 0;
/// Offset of `version` (u8).
pub const VERSION_FIELD_OFFSET: usize = 4;
/// Offset of `flags` (u8); their meaning depends on the frame type.
pub const FLAGS_FIELD_OFFSET: usize = 5;
/// Offset of `type` (u16 little-endian; an i16 in Aeron's C structs).
pub const TYPE_FIELD_OFFSET: usize = 6;
/// Length of the common frame header.
pub const FRAME_HEADER_LENGTH: usize = 8;
/// The only frame header version Aeron 1.54 sends and accepts.
pub const CURRENT_VERSION: u8 = 0;
/// Frames in a term buffer, and DATA/PAD datagrams, are multiples of this length.
pub const FRAME_ALIGNMENT: usize = 32;

/// Padding: fills the rest of a term, or a gap, in a log buffer.
pub const HDR_TYPE_PAD: u16 = 0x00;
/// Application data (or a heartbeat when `frame_length` is 0).
pub const HDR_TYPE_DATA: u16 = 0x01;
/// Negative acknowledgement: a receiver asks for a retransmit.
pub const HDR_TYPE_NAK: u16 = 0x02;
/// Status message: a receiver's consumption position and window.
pub const HDR_TYPE_SM: u16 = 0x03;
/// Error frame sent by a receiver (e.g. image rejected).
pub const HDR_TYPE_ERR: u16 = 0x04;
/// Setup: a sender announces a stream.
pub const HDR_TYPE_SETUP: u16 = 0x05;
/// Round-trip-time measurement.
pub const HDR_TYPE_RTTM: u16 = 0x06;
/// Name resolution entries exchanged by driver name resolvers.
pub const HDR_TYPE_RES: u16 = 0x07;
/// Encrypted transport data (ATS). Not implemented.
pub const HDR_TYPE_ATS_DATA: u16 = 0x08;
/// Response setup: a responder tells a requester which session answers it.
pub const HDR_TYPE_RSP_SETUP: u16 = 0x0B;
/// Reserved extension type (-1 as i16).
pub const HDR_TYPE_EXT: u16 = 0xFFFF;

/// The 8 bytes every frame starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Length of the frame in bytes, header included.
    pub frame_length: i32,
    /// Protocol version, [`CURRENT_VERSION`] on everything Aeron sends.
    pub version: u8,
    /// Type-specific flag bits.
    pub flags: u8,
    /// One of the `HDR_TYPE_*` constants.
    pub frame_type: u16,
}

impl FrameHeader {
    /// Reads the common header; fails only when fewer than 8 bytes are given.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        le::require("frame header", bytes, FRAME_HEADER_LENGTH)?;
        Ok(Self {
            frame_length: le::get_i32(bytes, FRAME_LENGTH_FIELD_OFFSET),
            version: le::get_u8(bytes, VERSION_FIELD_OFFSET),
            flags: le::get_u8(bytes, FLAGS_FIELD_OFFSET),
            frame_type: le::get_u16(bytes, TYPE_FIELD_OFFSET),
        })
    }

    /// Writes the 8 header bytes at the start of `buf` and returns 8. Panics if `buf` is shorter.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        le::put_i32(buf, FRAME_LENGTH_FIELD_OFFSET, self.frame_length);
        le::put_u8(buf, VERSION_FIELD_OFFSET, self.version);
        le::put_u8(buf, FLAGS_FIELD_OFFSET, self.flags);
        le::put_u16(buf, TYPE_FIELD_OFFSET, self.frame_type);
        FRAME_HEADER_LENGTH
    }
}

/// Reads and checks the header of a fixed-layout frame: at least `min_length` bytes, version 0, the expected type.
pub(crate) fn expect_header(
    what: &'static str,
    bytes: &[u8],
    frame_type: u16,
    min_length: usize,
) -> Result<FrameHeader, DecodeError> {
    le::require(what, bytes, min_length)?;
    let header = FrameHeader::decode(bytes)?;
    if header.version != CURRENT_VERSION {
        return Err(DecodeError::InvalidValue {
            what,
            field: "version",
            value: header.version.into(),
        });
    }
    if header.frame_type != frame_type {
        return Err(DecodeError::InvalidValue {
            what,
            field: "type",
            value: header.frame_type.into(),
        });
    }
    Ok(header)
}

/// Writes a common header with version 0.
pub(crate) fn put_header(buf: &mut [u8], frame_length: usize, flags: u8, frame_type: u16) {
    let frame_length = i32::try_from(frame_length).expect("frame longer than i32::MAX");
    FrameHeader {
        frame_length,
        version: CURRENT_VERSION,
        flags,
        frame_type,
    }
    .encode(buf);
}

/// Minimum datagram length Aeron accepts for each frame type, `None` for types it drops.
pub const fn min_datagram_length(frame_type: u16) -> Option<usize> {
    match frame_type {
        HDR_TYPE_PAD | HDR_TYPE_DATA => Some(data::HEADER_LENGTH),
        HDR_TYPE_NAK => Some(nak::HEADER_LENGTH),
        HDR_TYPE_SM => Some(status::HEADER_LENGTH),
        HDR_TYPE_ERR => Some(error::HEADER_LENGTH),
        HDR_TYPE_SETUP => Some(setup::HEADER_LENGTH),
        HDR_TYPE_RTTM => Some(rttm::HEADER_LENGTH),
        HDR_TYPE_RES => Some(FRAME_HEADER_LENGTH + resolution::IPV4_ENTRY_HEADER_LENGTH),
        HDR_TYPE_RSP_SETUP => Some(response_setup::HEADER_LENGTH),
        _ => None,
    }
}

/// The datagram-level checks Aeron's driver applies before dispatching a frame (`aeron_is_frame_valid` plus the
/// per-type length checks of the send and receive endpoints). Returns the frame header on success.
///
/// Any datagram: at least 8 bytes, `frame_length >= 0`, version 0, a known type (ATS and EXT are unknown here).
/// DATA/PAD: at least 32 bytes and a multiple of 32. SETUP: at least 40 bytes. Every other type: at least its
/// header length, and `frame_length` no larger than the datagram.
pub fn validate_datagram(datagram: &[u8]) -> Result<FrameHeader, DecodeError> {
    const WHAT: &str = "frame";
    let header = FrameHeader::decode(datagram)?;
    if header.frame_length < 0 {
        return Err(DecodeError::BadLength {
            what: WHAT,
            field: "frame_length",
            length: header.frame_length.into(),
        });
    }
    if header.version != CURRENT_VERSION {
        return Err(DecodeError::InvalidValue {
            what: WHAT,
            field: "version",
            value: header.version.into(),
        });
    }
    let min_length = min_datagram_length(header.frame_type).ok_or(DecodeError::UnknownType {
        what: WHAT,
        type_id: i32::from(header.frame_type as i16),
    })?;
    le::require(WHAT, datagram, min_length)?;
    match header.frame_type {
        HDR_TYPE_PAD | HDR_TYPE_DATA => {
            if datagram.len() % FRAME_ALIGNMENT != 0 {
                return Err(DecodeError::BadLength {
                    what: WHAT,
                    field: "datagram",
                    length: datagram.len() as i64,
                });
            }
        }
        HDR_TYPE_SETUP => {}
        _ => {
            if header.frame_length as usize > datagram.len() {
                return Err(DecodeError::BadLength {
                    what: WHAT,
                    field: "frame_length",
                    length: header.frame_length.into(),
                });
            }
        }
    }
    Ok(header)
}

/// One received datagram, classified by its first frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A PAD frame (the first of the datagram; use [`data_frames`] for all of them).
    Pad(DataFrame<'a>),
    /// A DATA frame or heartbeat (the first of the datagram; use [`data_frames`] for all of them).
    Data(DataFrame<'a>),
    /// A NAK.
    Nak(Nak),
    /// A status message.
    StatusMessage(StatusMessage),
    /// An error frame.
    Error(ErrorFrame<'a>),
    /// A setup frame.
    Setup(Setup),
    /// An RTT measurement.
    Rttm(Rttm),
    /// Name resolution entries.
    Resolution(ResolutionFrame<'a>),
    /// A response setup.
    ResponseSetup(ResponseSetup),
}

impl<'a> Frame<'a> {
    /// Validates `datagram` as [`validate_datagram`] does, then decodes the frame it starts with. Anything Aeron
    /// would drop, or whose fields do not hold together, is an error.
    pub fn decode(datagram: &'a [u8]) -> Result<Self, DecodeError> {
        let header = validate_datagram(datagram)?;
        Ok(match header.frame_type {
            HDR_TYPE_PAD | HDR_TYPE_DATA => {
                let first =
                    data_frames(datagram)
                        .next()
                        .unwrap_or(Err(DecodeError::Truncated {
                            what: "frame",
                            needed: data::HEADER_LENGTH,
                            available: datagram.len(),
                        }))?;
                if first.header.is_pad() {
                    Frame::Pad(first)
                } else {
                    Frame::Data(first)
                }
            }
            HDR_TYPE_NAK => Frame::Nak(Nak::decode(datagram)?),
            HDR_TYPE_SM => Frame::StatusMessage(StatusMessage::decode(datagram)?),
            HDR_TYPE_ERR => Frame::Error(ErrorFrame::decode(datagram)?),
            HDR_TYPE_SETUP => Frame::Setup(Setup::decode(datagram)?),
            HDR_TYPE_RTTM => Frame::Rttm(Rttm::decode(datagram)?),
            HDR_TYPE_RES => Frame::Resolution(ResolutionFrame::decode(datagram)?),
            HDR_TYPE_RSP_SETUP => Frame::ResponseSetup(ResponseSetup::decode(datagram)?),
            other => {
                return Err(DecodeError::UnknownType {
                    what: "frame",
                    type_id: i32::from(other as i16),
                })
            }
        })
    }

    /// The `HDR_TYPE_*` of this frame.
    pub fn frame_type(&self) -> u16 {
        match self {
            Frame::Pad(_) => HDR_TYPE_PAD,
            Frame::Data(_) => HDR_TYPE_DATA,
            Frame::Nak(_) => HDR_TYPE_NAK,
            Frame::StatusMessage(_) => HDR_TYPE_SM,
            Frame::Error(_) => HDR_TYPE_ERR,
            Frame::Setup(_) => HDR_TYPE_SETUP,
            Frame::Rttm(_) => HDR_TYPE_RTTM,
            Frame::Resolution(_) => HDR_TYPE_RES,
            Frame::ResponseSetup(_) => HDR_TYPE_RSP_SETUP,
        }
    }

    /// Bytes [`encode`](Self::encode) writes.
    pub fn encoded_length(&self) -> usize {
        match self {
            Frame::Pad(f) | Frame::Data(f) => f.encoded_length(),
            Frame::Nak(f) => f.encoded_length(),
            Frame::StatusMessage(f) => f.encoded_length(),
            Frame::Error(f) => f.encoded_length(),
            Frame::Setup(f) => f.encoded_length(),
            Frame::Rttm(f) => f.encoded_length(),
            Frame::Resolution(f) => f.encoded_length(),
            Frame::ResponseSetup(f) => f.encoded_length(),
        }
    }

    /// Encodes the frame at the start of `buf`; returns the bytes written. Panics if `buf` is too short.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        match self {
            Frame::Pad(f) | Frame::Data(f) => f.encode(buf),
            Frame::Nak(f) => f.encode(buf),
            Frame::StatusMessage(f) => f.encode(buf),
            Frame::Error(f) => f.encode(buf),
            Frame::Setup(f) => f.encode(buf),
            Frame::Rttm(f) => f.encode(buf),
            Frame::Resolution(f) => f.encode(buf),
            Frame::ResponseSetup(f) => f.encode(buf),
        }
    }

    /// The encoded frame as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut buf = vec![0; self.encoded_length()];
        self.encode(&mut buf);
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn common_header_layout() {
        let bytes = [0x24, 0, 0, 0, 0, 0x40, 0x03, 0x00];
        let header = FrameHeader::decode(&bytes).unwrap();
        assert_eq!(
            header,
            FrameHeader {
                frame_length: 36,
                version: 0,
                flags: 0x40,
                frame_type: HDR_TYPE_SM
            }
        );
        let mut out = [0u8; 8];
        assert_eq!(header.encode(&mut out), 8);
        assert_eq!(out, bytes);
        assert!(matches!(
            FrameHeader::decode(&bytes[..7]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn ext_type_reads_as_ffff() {
        let bytes = [8, 0, 0, 0, 0, 0, 0xFF, 0xFF];
        assert_eq!(
            FrameHeader::decode(&bytes).unwrap().frame_type,
            HDR_TYPE_EXT
        );
        assert_eq!(
            Frame::decode(&bytes),
            Err(DecodeError::UnknownType {
                what: "frame",
                type_id: -1
            })
        );
    }

    #[test]
    fn datagram_validation_matches_aeron() {
        // Too short for any header.
        assert!(matches!(
            Frame::decode(&[0; 7]),
            Err(DecodeError::Truncated { .. })
        ));
        // Negative frame length.
        let mut nak = Nak::default().to_vec();
        le::put_i32(&mut nak, 0, -1);
        assert!(matches!(
            Frame::decode(&nak),
            Err(DecodeError::BadLength { .. })
        ));
        // Wrong version.
        let mut nak = Nak::default().to_vec();
        nak[VERSION_FIELD_OFFSET] = 1;
        assert!(matches!(
            Frame::decode(&nak),
            Err(DecodeError::InvalidValue {
                field: "version",
                ..
            })
        ));
        // frame_length larger than the datagram.
        let mut nak = Nak::default().to_vec();
        le::put_i32(&mut nak, 0, 29);
        assert!(matches!(
            Frame::decode(&nak),
            Err(DecodeError::BadLength { .. })
        ));
        // SETUP may carry a frame_length larger than the datagram.
        let mut setup = Setup::default().to_vec();
        le::put_i32(&mut setup, 0, 4096);
        assert!(matches!(Frame::decode(&setup), Ok(Frame::Setup(_))));
        // DATA datagrams must be a multiple of 32.
        let data = DataFrame::new(DataHeader::default(), b"abc").to_vec();
        assert_eq!(data.len(), 35);
        assert!(matches!(
            Frame::decode(&data),
            Err(DecodeError::BadLength {
                field: "datagram",
                ..
            })
        ));
        // ATS types are dropped.
        let mut ats = [0u8; 64];
        ats[0] = 64;
        ats[TYPE_FIELD_OFFSET] = HDR_TYPE_ATS_DATA as u8;
        assert!(matches!(
            Frame::decode(&ats),
            Err(DecodeError::UnknownType { type_id: 8, .. })
        ));
        // Below the minimum length for the type.
        assert!(matches!(
            Frame::decode(&Nak::default().to_vec()[..27]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    fn arb_frame() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            data::tests::arb_data_header().prop_map(|h| {
                let mut h = h;
                h.frame_length = 32;
                h.flags = data::UNFRAGMENTED;
                h.frame_type = HDR_TYPE_DATA;
                DataFrame::new(h, &[]).to_vec()
            }),
            nak::tests::arb_nak().prop_map(|f| f.to_vec()),
            status::tests::arb_sm().prop_map(|f| f.to_vec()),
            setup::tests::arb_setup().prop_map(|f| f.to_vec()),
            rttm::tests::arb_rttm().prop_map(|f| f.to_vec()),
            response_setup::tests::arb_rsp_setup().prop_map(|f| f.to_vec()),
            (any::<u8>(), "[ -~]{0,64}").prop_map(|(flags, text)| ErrorFrame {
                flags,
                error_message: &text,
                ..ErrorFrame::default()
            }
            .to_vec()),
        ]
    }

    proptest! {
        #[test]
        fn frame_decode_then_encode_is_identity(bytes in arb_frame()) {
            let frame = Frame::decode(&bytes).unwrap();
            prop_assert_eq!(frame.to_vec(), bytes);
        }

        #[test]
        fn frame_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Frame::decode(&bytes);
        }

        #[test]
        fn frame_decode_of_mutated_frames_never_panics(
            bytes in arb_frame(),
            index in any::<prop::sample::Index>(),
            value in any::<u8>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = bytes;
            let i = index.index(bytes.len());
            bytes[i] = value;
            let _ = Frame::decode(&bytes);
            let end = cut.index(bytes.len() + 1);
            let _ = Frame::decode(&bytes[..end]);
        }
    }
}
