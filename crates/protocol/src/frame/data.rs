//! The 32-byte DATA/PAD frame header (the same bytes in log buffers and on the wire), and the walk over the
//! frames of one DATA datagram.

use super::{FrameHeader, CURRENT_VERSION, FRAME_ALIGNMENT, HDR_TYPE_DATA, HDR_TYPE_PAD};
use crate::{align, le, DecodeError};

/// Offset of `term_offset` (i32): where the frame sits in its term.
pub const TERM_OFFSET_FIELD_OFFSET: usize = 8;
/// Offset of `session_id` (i32).
pub const SESSION_ID_FIELD_OFFSET: usize = 12;
/// Offset of `stream_id` (i32).
pub const STREAM_ID_FIELD_OFFSET: usize = 16;
/// Offset of `term_id` (i32).
pub const TERM_ID_FIELD_OFFSET: usize = 20;
/// Offset of `reserved_value` (i64).
pub const RESERVED_VALUE_OFFSET: usize = 24;
/// Offset of the payload.
pub const DATA_OFFSET: usize = 32;
/// Length of the DATA/PAD header.
pub const HEADER_LENGTH: usize = 32;

/// First fragment of a message.
pub const BEGIN_FLAG: u8 = 0x80;
/// Last fragment of a message.
pub const END_FLAG: u8 = 0x40;
/// End of stream (heartbeats of a closed publication).
pub const EOS_FLAG: u8 = 0x20;
/// Publication revoked (heartbeats, together with [`EOS_FLAG`]).
pub const REVOKED_FLAG: u8 = 0x10;
/// A message in a single frame: [`BEGIN_FLAG`] | [`END_FLAG`].
pub const UNFRAGMENTED: u8 = BEGIN_FLAG | END_FLAG;
/// `reserved_value` when no supplier sets one.
pub const DEFAULT_RESERVED_VALUE: i64 = 0;

const WHAT: &str = "data header";

/// The header of a DATA or PAD frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataHeader {
    /// Header plus payload, unaligned. 0 on a heartbeat; in a log, 0 = not written yet, negative = being written.
    pub frame_length: i32,
    /// [`BEGIN_FLAG`], [`END_FLAG`], [`EOS_FLAG`], [`REVOKED_FLAG`].
    pub flags: u8,
    /// [`HDR_TYPE_DATA`] or [`HDR_TYPE_PAD`].
    pub frame_type: u16,
    /// Offset of this frame in its term.
    pub term_offset: i32,
    /// Session of the publication.
    pub session_id: i32,
    /// Stream of the publication.
    pub stream_id: i32,
    /// Term the frame belongs to.
    pub term_id: i32,
    /// User value or receive timestamp; [`DEFAULT_RESERVED_VALUE`] otherwise.
    pub reserved_value: i64,
}

impl Default for DataHeader {
    fn default() -> Self {
        Self {
            frame_length: HEADER_LENGTH as i32,
            flags: UNFRAGMENTED,
            frame_type: HDR_TYPE_DATA,
            term_offset: 0,
            session_id: 0,
            stream_id: 0,
            term_id: 0,
            reserved_value: DEFAULT_RESERVED_VALUE,
        }
    }
}

impl DataHeader {
    /// Reads a DATA/PAD header: at least 32 bytes, version 0, type DATA or PAD. `frame_length` is returned as
    /// found (it may be 0 or negative in a log buffer); [`DataFrame::decode`] checks it against the bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        le::require(WHAT, bytes, HEADER_LENGTH)?;
        let header = FrameHeader::decode(bytes)?;
        if header.version != CURRENT_VERSION {
            return Err(DecodeError::InvalidValue {
                what: WHAT,
                field: "version",
                value: header.version.into(),
            });
        }
        if header.frame_type != HDR_TYPE_DATA && header.frame_type != HDR_TYPE_PAD {
            return Err(DecodeError::InvalidValue {
                what: WHAT,
                field: "type",
                value: header.frame_type.into(),
            });
        }
        Ok(Self {
            frame_length: header.frame_length,
            flags: header.flags,
            frame_type: header.frame_type,
            term_offset: le::get_i32(bytes, TERM_OFFSET_FIELD_OFFSET),
            session_id: le::get_i32(bytes, SESSION_ID_FIELD_OFFSET),
            stream_id: le::get_i32(bytes, STREAM_ID_FIELD_OFFSET),
            term_id: le::get_i32(bytes, TERM_ID_FIELD_OFFSET),
            reserved_value: le::get_i64(bytes, RESERVED_VALUE_OFFSET),
        })
    }

    /// Bytes [`encode`](Self::encode) writes: always 32.
    pub const fn encoded_length(&self) -> usize {
        HEADER_LENGTH
    }

    /// Writes the 32 header bytes at the start of `buf`; returns 32. Panics if `buf` is shorter.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        FrameHeader {
            frame_length: self.frame_length,
            version: CURRENT_VERSION,
            flags: self.flags,
            frame_type: self.frame_type,
        }
        .encode(buf);
        le::put_i32(buf, TERM_OFFSET_FIELD_OFFSET, self.term_offset);
        le::put_i32(buf, SESSION_ID_FIELD_OFFSET, self.session_id);
        le::put_i32(buf, STREAM_ID_FIELD_OFFSET, self.stream_id);
        le::put_i32(buf, TERM_ID_FIELD_OFFSET, self.term_id);
        le::put_i64(buf, RESERVED_VALUE_OFFSET, self.reserved_value);
        HEADER_LENGTH
    }

    /// The encoded header as a 32-byte array.
    pub fn to_bytes(&self) -> [u8; HEADER_LENGTH] {
        let mut buf = [0; HEADER_LENGTH];
        self.encode(&mut buf);
        buf
    }

    /// Whether this is a PAD frame.
    pub const fn is_pad(&self) -> bool {
        self.frame_type == HDR_TYPE_PAD
    }

    /// Whether this is a heartbeat: a DATA header with `frame_length` 0.
    pub const fn is_heartbeat(&self) -> bool {
        self.frame_type == HDR_TYPE_DATA && self.frame_length == 0
    }

    /// Whether [`BEGIN_FLAG`] is set.
    pub const fn is_begin(&self) -> bool {
        self.flags & BEGIN_FLAG != 0
    }

    /// Whether [`END_FLAG`] is set.
    pub const fn is_end(&self) -> bool {
        self.flags & END_FLAG != 0
    }

    /// Whether both BEGIN and END are set: the frame holds a whole message.
    pub const fn is_unfragmented(&self) -> bool {
        self.flags & UNFRAGMENTED == UNFRAGMENTED
    }

    /// Whether [`EOS_FLAG`] is set.
    pub const fn is_eos(&self) -> bool {
        self.flags & EOS_FLAG != 0
    }

    /// Whether [`REVOKED_FLAG`] is set.
    pub const fn is_revoked(&self) -> bool {
        self.flags & REVOKED_FLAG != 0
    }

    /// Space the frame takes in a term: `frame_length` rounded up to 32 (0 for heartbeats and negative lengths).
    pub fn aligned_length(&self) -> usize {
        usize::try_from(self.frame_length).map_or(0, |len| align(len, FRAME_ALIGNMENT))
    }
}

/// A DATA or PAD frame: its header and the payload bytes that follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataFrame<'a> {
    /// The 32-byte header.
    pub header: DataHeader,
    /// The payload; for a PAD frame, whatever part of the padding was present (nothing, on the wire).
    pub payload: &'a [u8],
}

impl<'a> DataFrame<'a> {
    /// Pairs a header with its payload as given (the header's `frame_length` is not adjusted).
    pub const fn new(header: DataHeader, payload: &'a [u8]) -> Self {
        Self { header, payload }
    }

    /// Decodes one frame at the start of `bytes`. A DATA frame needs `frame_length` 0 (heartbeat) or at least
    /// 32 and no more than `bytes`; a PAD frame needs at least 32 and may claim more than `bytes` holds
    /// (senders put only the pad header on the wire).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let header = DataHeader::decode(bytes)?;
        let bad_length = || DecodeError::BadLength {
            what: WHAT,
            field: "frame_length",
            length: header.frame_length.into(),
        };
        if header.is_heartbeat() {
            return Ok(Self::new(header, &[]));
        }
        let frame_length = usize::try_from(header.frame_length)
            .ok()
            .filter(|&len| len >= HEADER_LENGTH)
            .ok_or_else(bad_length)?;
        let end = if header.is_pad() {
            frame_length.min(bytes.len())
        } else if frame_length <= bytes.len() {
            frame_length
        } else {
            return Err(bad_length());
        };
        Ok(Self::new(header, &bytes[DATA_OFFSET..end]))
    }

    /// Bytes [`encode`](Self::encode) writes: header plus payload.
    pub const fn encoded_length(&self) -> usize {
        HEADER_LENGTH + self.payload.len()
    }

    /// Writes header and payload at the start of `buf`; returns the bytes written. Panics if `buf` is too short.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        self.header.encode(buf);
        let end = DATA_OFFSET + self.payload.len();
        buf[DATA_OFFSET..end].copy_from_slice(self.payload);
        end
    }

    /// The encoded frame as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut buf = vec![0; self.encoded_length()];
        self.encode(&mut buf);
        buf
    }
}

/// Walks the DATA/PAD frames of one datagram; see [`data_frames`].
#[derive(Debug, Clone)]
pub struct DataFrames<'a> {
    datagram: &'a [u8],
    offset: usize,
    next_term_offset: Option<i32>,
    done: bool,
}

/// Iterates over the frames a DATA/PAD datagram carries, checking them the way a receiving image does.
///
/// The datagram must be at least 32 bytes and a multiple of 32. A 32-byte datagram whose `frame_length` is 0 is
/// a heartbeat and yields one frame. Otherwise it must be a run of frames, each with `frame_length >= 32`, at
/// consecutive (aligned) term offsets, ending exactly at the end of the datagram; only a trailing PAD frame may
/// claim more than the datagram holds. The first error is yielded as `Err` and ends the walk.
pub fn data_frames(datagram: &[u8]) -> DataFrames<'_> {
    DataFrames {
        datagram,
        offset: 0,
        next_term_offset: None,
        done: false,
    }
}

impl<'a> DataFrames<'a> {
    fn step(&mut self) -> Result<DataFrame<'a>, DecodeError> {
        const DATAGRAM: &str = "data datagram";
        let len = self.datagram.len();
        if self.offset == 0 && (len < HEADER_LENGTH || len % FRAME_ALIGNMENT != 0) {
            return Err(DecodeError::BadLength {
                what: DATAGRAM,
                field: "datagram",
                length: len as i64,
            });
        }
        let rest = &self.datagram[self.offset..];
        let header = DataHeader::decode(rest)?;
        if header.is_heartbeat() {
            if len != HEADER_LENGTH {
                return Err(DecodeError::BadLength {
                    what: DATAGRAM,
                    field: "frame_length",
                    length: 0,
                });
            }
            self.done = true;
            return Ok(DataFrame::new(header, &[]));
        }
        if let Some(expected) = self.next_term_offset {
            if header.term_offset != expected {
                return Err(DecodeError::InvalidValue {
                    what: DATAGRAM,
                    field: "term_offset",
                    value: header.term_offset.into(),
                });
            }
        }
        let frame = DataFrame::decode(rest)?;
        let aligned = header.aligned_length();
        if aligned >= rest.len() {
            // The frame ends the datagram: exactly for DATA (lengths are multiples of 32), or a PAD may overhang.
            self.done = true;
        } else {
            self.offset += aligned;
            self.next_term_offset = header
                .term_offset
                .checked_add(aligned as i32)
                .filter(|&next| next >= 0);
            if self.next_term_offset.is_none() {
                return Err(DecodeError::InvalidValue {
                    what: DATAGRAM,
                    field: "term_offset",
                    value: header.term_offset.into(),
                });
            }
        }
        Ok(frame)
    }
}

impl<'a> Iterator for DataFrames<'a> {
    type Item = Result<DataFrame<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.step();
        if item.is_err() {
            self.done = true;
        }
        Some(item)
    }
}

impl std::iter::FusedIterator for DataFrames<'_> {}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn arb_data_header() -> impl Strategy<Value = DataHeader> {
        (
            any::<i32>(),
            any::<u8>(),
            prop_oneof![Just(HDR_TYPE_DATA), Just(HDR_TYPE_PAD)],
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            any::<i64>(),
        )
            .prop_map(
                |(
                    frame_length,
                    flags,
                    frame_type,
                    term_offset,
                    session_id,
                    stream_id,
                    term_id,
                    reserved_value,
                )| DataHeader {
                    frame_length,
                    flags,
                    frame_type,
                    term_offset,
                    session_id,
                    stream_id,
                    term_id,
                    reserved_value,
                },
            )
    }

    /// The second message of the golden capture: "Hello World! 1" at term offset 64.
    #[rustfmt::skip]
    const HELLO_FRAME: [u8; 64] = [
        46, 0, 0, 0,                                // frame_length 46
        0,                                          // version
        0xC0,                                       // flags BEGIN | END
        0x01, 0x00,                                 // type DATA
        64, 0, 0, 0,                                // term_offset 64
        0xDA, 0x34, 0x7C, 0x8D,                     // session_id 0x8D7C34DA
        0xE9, 0x03, 0, 0,                           // stream_id 1001
        0xE1, 0x45, 0x85, 0x8B,                     // term_id 0x8B8545E1
        0, 0, 0, 0, 0, 0, 0, 0,                     // reserved_value 0
        b'H', b'e', b'l', b'l', b'o', b' ', b'W', b'o', b'r', b'l', b'd', b'!', b' ', b'1',
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   // alignment to 64
    ];

    fn hello_header() -> DataHeader {
        DataHeader {
            frame_length: 46,
            flags: UNFRAGMENTED,
            frame_type: HDR_TYPE_DATA,
            term_offset: 64,
            session_id: 0x8D7C_34DA_u32 as i32,
            stream_id: 1001,
            term_id: 0x8B85_45E1_u32 as i32,
            reserved_value: 0,
        }
    }

    #[test]
    fn data_frame_bytes_match_aeron_layout() {
        let frame = DataFrame::new(hello_header(), b"Hello World! 1");
        let mut out = [0u8; 64];
        assert_eq!(frame.encode(&mut out), 46);
        assert_eq!(out, HELLO_FRAME);
        assert_eq!(DataFrame::decode(&HELLO_FRAME).unwrap(), frame);
        let header = frame.header;
        assert!(header.is_begin() && header.is_end() && header.is_unfragmented());
        assert!(!header.is_eos() && !header.is_revoked() && !header.is_pad());
        assert_eq!(header.aligned_length(), 64);
    }

    #[test]
    fn eos_heartbeat_bytes_match_aeron_layout() {
        #[rustfmt::skip]
        let expected: [u8; 32] = [
            0, 0, 0, 0,             // frame_length 0: heartbeat
            0, 0xE0, 0x01, 0x00,    // version, BEGIN | END | EOS, DATA
            0xC0, 0, 0, 0,          // term_offset 192
            7, 0, 0, 0,             // session_id 7
            9, 0, 0, 0,             // stream_id 9
            0xFF, 0xFF, 0xFF, 0xFF, // term_id -1
            0, 0, 0, 0, 0, 0, 0, 0, // reserved_value
        ];
        let header = DataHeader {
            frame_length: 0,
            flags: UNFRAGMENTED | EOS_FLAG,
            term_offset: 192,
            session_id: 7,
            stream_id: 9,
            term_id: -1,
            ..DataHeader::default()
        };
        assert_eq!(header.to_bytes(), expected);
        let decoded = DataFrame::decode(&expected).unwrap();
        assert!(decoded.header.is_heartbeat() && decoded.header.is_eos());
        assert!(decoded.payload.is_empty());
        let frames: Vec<_> = data_frames(&expected).collect();
        assert_eq!(frames, vec![Ok(DataFrame::new(header, &[]))]);
    }

    #[test]
    fn pad_bytes_match_aeron_layout() {
        #[rustfmt::skip]
        let expected: [u8; 32] = [
            0x00, 0x10, 0, 0,           // frame_length 4096
            0, 0, 0x00, 0x00,           // version, flags 0, PAD
            0x00, 0xF0, 0, 0,           // term_offset 61440
            1, 0, 0, 0,                 // session_id
            2, 0, 0, 0,                 // stream_id
            3, 0, 0, 0,                 // term_id
            0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, // reserved_value
        ];
        let header = DataHeader {
            frame_length: 4096,
            flags: 0,
            frame_type: HDR_TYPE_PAD,
            term_offset: 61440,
            session_id: 1,
            stream_id: 2,
            term_id: 3,
            reserved_value: 0x0102_0304_0506_0708,
        };
        assert_eq!(header.to_bytes(), expected);
        // A PAD frame on the wire is its header only; the frame_length covers the whole pad.
        let frame = DataFrame::decode(&expected).unwrap();
        assert!(frame.header.is_pad() && frame.payload.is_empty());
        assert_eq!(frame.header, header);
    }

    #[test]
    fn walker_yields_each_frame_then_a_trailing_pad() {
        let mut datagram = Vec::new();
        datagram.extend_from_slice(&HELLO_FRAME);
        let mut second = hello_header();
        second.term_offset = 128;
        second.frame_length = 32 + 3;
        datagram.extend_from_slice(&DataFrame::new(second, b"abc").to_vec());
        datagram.resize(128, 0);
        let pad = DataHeader {
            frame_length: 1024,
            frame_type: HDR_TYPE_PAD,
            flags: 0,
            term_offset: 192,
            ..hello_header()
        };
        datagram.extend_from_slice(&pad.to_bytes());
        let frames: Vec<_> = data_frames(&datagram).collect::<Result<_, _>>().unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].payload, b"Hello World! 1");
        assert_eq!(frames[1].payload, b"abc");
        assert_eq!(frames[1].header.term_offset, 128);
        assert!(frames[2].header.is_pad());
    }

    #[test]
    fn walker_rejects_broken_datagrams() {
        let first_err = |bytes: &[u8]| data_frames(bytes).find_map(Result::err);
        // Not a multiple of 32.
        assert!(first_err(&HELLO_FRAME[..48]).is_some());
        // Too short.
        assert!(first_err(&[]).is_some());
        // A frame that claims more than the datagram holds.
        let mut long = HELLO_FRAME;
        le::put_i32(&mut long, 0, 65);
        assert!(first_err(&long).is_some());
        // A frame length below the header length.
        let mut short = HELLO_FRAME;
        le::put_i32(&mut short, 0, 31);
        assert!(first_err(&short).is_some());
        // Frames whose term offsets do not follow each other.
        let mut two = HELLO_FRAME.to_vec();
        let mut next = hello_header();
        next.term_offset = 64;
        next.frame_length = 32;
        two.extend_from_slice(&next.to_bytes());
        assert!(matches!(
            first_err(&two),
            Some(DecodeError::InvalidValue {
                field: "term_offset",
                ..
            })
        ));
        // A zero-length frame inside a longer datagram.
        let mut zero = HELLO_FRAME.to_vec();
        zero.extend_from_slice(&[0u8; 32]);
        assert!(first_err(&zero).is_some());
        // A heartbeat longer than 32 bytes.
        let mut hb = [0u8; 64];
        hb[6] = 1;
        assert!(first_err(&hb).is_some());
        // After an error the walk ends.
        let mut walk = data_frames(&short);
        assert!(walk.next().unwrap().is_err());
        assert!(walk.next().is_none());
    }

    proptest! {
        #[test]
        fn header_round_trips(header in arb_data_header()) {
            prop_assert_eq!(DataHeader::decode(&header.to_bytes()).unwrap(), header);
        }

        #[test]
        fn data_frame_round_trips(
            header in arb_data_header(),
            payload in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let mut header = header;
            header.frame_type = HDR_TYPE_DATA;
            header.frame_length = (HEADER_LENGTH + payload.len()) as i32;
            let frame = DataFrame::new(header, &payload);
            let bytes = frame.to_vec();
            prop_assert_eq!(DataFrame::decode(&bytes).unwrap(), frame);
        }

        #[test]
        fn walker_round_trips_runs_of_frames(
            header in arb_data_header(),
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 1..5),
        ) {
            let mut datagram = Vec::new();
            let mut expected = Vec::new();
            let mut term_offset = 0;
            for payload in &payloads {
                let h = DataHeader {
                    frame_type: HDR_TYPE_DATA,
                    frame_length: (HEADER_LENGTH + payload.len()) as i32,
                    term_offset,
                    ..header
                };
                datagram.extend_from_slice(&DataFrame::new(h, payload).to_vec());
                datagram.resize(align(datagram.len(), FRAME_ALIGNMENT), 0);
                term_offset += h.aligned_length() as i32;
                expected.push(h);
            }
            let frames: Vec<_> = data_frames(&datagram).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(frames.len(), payloads.len());
            for ((frame, h), payload) in frames.iter().zip(&expected).zip(&payloads) {
                prop_assert_eq!(&frame.header, h);
                prop_assert_eq!(frame.payload, &payload[..]);
            }
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
            let _ = DataHeader::decode(&bytes);
            let _ = DataFrame::decode(&bytes);
            prop_assert!(data_frames(&bytes).count() <= bytes.len() / HEADER_LENGTH + 1);
        }
    }
}
