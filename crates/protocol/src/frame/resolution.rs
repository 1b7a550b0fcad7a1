//! RES: name resolution entries (name -> IPv4/IPv6 address and port) exchanged by driver name resolvers.
//!
//! Entries are packed (no padding between fields) and each is rounded up to 8 bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{expect_header, put_header, FRAME_HEADER_LENGTH, HDR_TYPE_RES};
use crate::{align, le, DecodeError};

/// Entry offset of `res_type` (i8): [`RES_TYPE_NAME_TO_IP4_MD`] or [`RES_TYPE_NAME_TO_IP6_MD`].
pub const RES_TYPE_FIELD_OFFSET: usize = 0;
/// Entry offset of `res_flags` (u8).
pub const RES_FLAGS_FIELD_OFFSET: usize = 1;
/// Entry offset of `udp_port` (u16, little-endian port number).
pub const UDP_PORT_FIELD_OFFSET: usize = 2;
/// Entry offset of `age_in_ms` (i32).
pub const AGE_IN_MS_FIELD_OFFSET: usize = 4;
/// Entry offset of the address (network byte order).
pub const ADDRESS_FIELD_OFFSET: usize = 8;
/// Entry offset of `name_length` (i16) in an IPv4 entry.
pub const IPV4_NAME_LENGTH_FIELD_OFFSET: usize = 12;
/// Entry offset of `name_length` (i16) in an IPv6 entry.
pub const IPV6_NAME_LENGTH_FIELD_OFFSET: usize = 24;
/// Length of an IPv4 entry before its name.
pub const IPV4_ENTRY_HEADER_LENGTH: usize = 14;
/// Length of an IPv6 entry before its name.
pub const IPV6_ENTRY_HEADER_LENGTH: usize = 26;
/// Each entry is padded to a multiple of this.
pub const ENTRY_ALIGNMENT: usize = 8;
/// Longest name Aeron's Java resolver sends.
pub const MAX_NAME_LENGTH: usize = 512;

/// `res_type` of an entry mapping a name to an IPv4 address.
pub const RES_TYPE_NAME_TO_IP4_MD: i8 = 0x01;
/// `res_type` of an entry mapping a name to an IPv6 address.
pub const RES_TYPE_NAME_TO_IP6_MD: i8 = 0x02;
/// Entry flag: the entry describes the sending driver itself.
pub const SELF_FLAG: u8 = 0x80;

const WHAT: &str = "resolution entry";

/// One name -> address entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResolutionEntry<'a> {
    /// [`SELF_FLAG`].
    pub flags: u8,
    /// UDP port.
    pub udp_port: u16,
    /// Age of the entry in ms.
    pub age_in_ms: i32,
    /// The address; its family picks the entry type.
    pub address: IpAddr,
    /// The resolved name.
    pub name: &'a str,
}

impl<'a> ResolutionEntry<'a> {
    /// Decodes the entry at the start of `bytes`; returns it and its aligned length.
    pub fn decode(bytes: &'a [u8]) -> Result<(Self, usize), DecodeError> {
        le::require(WHAT, bytes, ADDRESS_FIELD_OFFSET)?;
        let res_type = le::get_i8(bytes, RES_TYPE_FIELD_OFFSET);
        let (header_length, name_length_offset) = match res_type {
            RES_TYPE_NAME_TO_IP4_MD => (IPV4_ENTRY_HEADER_LENGTH, IPV4_NAME_LENGTH_FIELD_OFFSET),
            RES_TYPE_NAME_TO_IP6_MD => (IPV6_ENTRY_HEADER_LENGTH, IPV6_NAME_LENGTH_FIELD_OFFSET),
            other => {
                return Err(DecodeError::InvalidValue {
                    what: WHAT,
                    field: "res_type",
                    value: other.into(),
                })
            }
        };
        le::require(WHAT, bytes, header_length)?;
        let raw_name_length = le::get_i16(bytes, name_length_offset);
        let bad_name_length = DecodeError::BadLength {
            what: WHAT,
            field: "name_length",
            length: raw_name_length.into(),
        };
        let name_length = usize::try_from(raw_name_length).map_err(|_| bad_name_length.clone())?;
        let entry_length = align(header_length + name_length, ENTRY_ALIGNMENT);
        if entry_length > bytes.len() {
            return Err(bad_name_length);
        }
        let name = std::str::from_utf8(&bytes[header_length..header_length + name_length])
            .map_err(|_| DecodeError::NotUtf8 {
                what: WHAT,
                field: "name",
            })?;
        let address = if res_type == RES_TYPE_NAME_TO_IP4_MD {
            let mut octets = [0u8; 4];
            octets.copy_from_slice(&bytes[ADDRESS_FIELD_OFFSET..ADDRESS_FIELD_OFFSET + 4]);
            IpAddr::V4(Ipv4Addr::from(octets))
        } else {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&bytes[ADDRESS_FIELD_OFFSET..ADDRESS_FIELD_OFFSET + 16]);
            IpAddr::V6(Ipv6Addr::from(octets))
        };
        let entry = Self {
            flags: le::get_u8(bytes, RES_FLAGS_FIELD_OFFSET),
            udp_port: le::get_u16(bytes, UDP_PORT_FIELD_OFFSET),
            age_in_ms: le::get_i32(bytes, AGE_IN_MS_FIELD_OFFSET),
            address,
            name,
        };
        Ok((entry, entry_length))
    }

    /// `res_type` matching the address family.
    pub const fn res_type(&self) -> i8 {
        match self.address {
            IpAddr::V4(_) => RES_TYPE_NAME_TO_IP4_MD,
            IpAddr::V6(_) => RES_TYPE_NAME_TO_IP6_MD,
        }
    }

    const fn header_length(&self) -> usize {
        match self.address {
            IpAddr::V4(_) => IPV4_ENTRY_HEADER_LENGTH,
            IpAddr::V6(_) => IPV6_ENTRY_HEADER_LENGTH,
        }
    }

    /// Bytes [`encode`](Self::encode) writes: header plus name, rounded up to 8.
    pub const fn encoded_length(&self) -> usize {
        align(self.header_length() + self.name.len(), ENTRY_ALIGNMENT)
    }

    /// Whether [`SELF_FLAG`] is set.
    pub const fn is_self(&self) -> bool {
        self.flags & SELF_FLAG != 0
    }

    /// Writes the entry (zero padding included) at the start of `buf`; returns its aligned length. Panics if
    /// `buf` is too short or the name is longer than `i16::MAX` bytes.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        let name_length = i16::try_from(self.name.len()).expect("name longer than i16::MAX");
        let length = self.encoded_length();
        buf[..length].fill(0);
        le::put_i8(buf, RES_TYPE_FIELD_OFFSET, self.res_type());
        le::put_u8(buf, RES_FLAGS_FIELD_OFFSET, self.flags);
        le::put_u16(buf, UDP_PORT_FIELD_OFFSET, self.udp_port);
        le::put_i32(buf, AGE_IN_MS_FIELD_OFFSET, self.age_in_ms);
        let name_length_offset = match self.address {
            IpAddr::V4(v4) => {
                buf[ADDRESS_FIELD_OFFSET..ADDRESS_FIELD_OFFSET + 4].copy_from_slice(&v4.octets());
                IPV4_NAME_LENGTH_FIELD_OFFSET
            }
            IpAddr::V6(v6) => {
                buf[ADDRESS_FIELD_OFFSET..ADDRESS_FIELD_OFFSET + 16].copy_from_slice(&v6.octets());
                IPV6_NAME_LENGTH_FIELD_OFFSET
            }
        };
        le::put_i16(buf, name_length_offset, name_length);
        let start = self.header_length();
        buf[start..start + self.name.len()].copy_from_slice(self.name.as_bytes());
        length
    }
}

/// A resolution frame: the common header, then its entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ResolutionFrame<'a> {
    /// Frame flags (Aeron sends 0).
    pub flags: u8,
    /// The entries, in frame order.
    pub entries: Vec<ResolutionEntry<'a>>,
}

impl<'a> ResolutionFrame<'a> {
    /// Decodes a resolution frame: `8 <= frame_length <= bytes.len()`, and entries filling exactly
    /// `frame_length - 8` bytes.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let header = expect_header("resolution", bytes, HDR_TYPE_RES, FRAME_HEADER_LENGTH)?;
        let frame_length = usize::try_from(header.frame_length)
            .ok()
            .filter(|len| (FRAME_HEADER_LENGTH..=bytes.len()).contains(len))
            .ok_or(DecodeError::BadLength {
                what: "resolution",
                field: "frame_length",
                length: header.frame_length.into(),
            })?;
        let mut entries = Vec::new();
        let mut offset = FRAME_HEADER_LENGTH;
        while offset < frame_length {
            let (entry, length) = ResolutionEntry::decode(&bytes[offset..frame_length])?;
            entries.push(entry);
            offset += length;
        }
        Ok(Self {
            flags: header.flags,
            entries,
        })
    }

    /// Bytes [`encode`](Self::encode) writes: 8 plus every entry.
    pub fn encoded_length(&self) -> usize {
        FRAME_HEADER_LENGTH
            + self
                .entries
                .iter()
                .map(ResolutionEntry::encoded_length)
                .sum::<usize>()
    }

    /// Writes the frame at the start of `buf`; returns its length. Panics if `buf` is too short.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        let length = self.encoded_length();
        put_header(buf, length, self.flags, HDR_TYPE_RES);
        let mut offset = FRAME_HEADER_LENGTH;
        for entry in &self.entries {
            offset += entry.encode(&mut buf[offset..]);
        }
        offset
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
    fn bytes_match_aeron_layout() {
        #[rustfmt::skip]
        let expected: [u8; 80] = [
            80, 0, 0, 0,                        // frame_length 8 + 24 + 48
            0, 0, 0x07, 0x00,                   // version, flags, type RES
            // IPv4 entry: 14 + 5 = 19 -> 24
            0x01,                               // res_type IPv4
            0x80,                               // SELF
            0x90, 0x4E,                         // udp_port 20112
            0x0A, 0, 0, 0,                      // age_in_ms 10
            127, 0, 0, 1,                       // address
            5, 0,                               // name_length
            b'n', b'o', b'd', b'e', b'1',       // name
            0, 0, 0, 0, 0,                      // padding
            // IPv6 entry: 26 + 18 = 44 -> 48
            0x02,                               // res_type IPv6
            0x00,                               // flags
            0x50, 0x00,                         // udp_port 80
            0xFF, 0xFF, 0xFF, 0xFF,             // age_in_ms -1
            0xFE, 0x80, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0x01,          // address fe80::1
            18, 0,                              // name_length
            b'a', b'n', b'o', b't', b'h', b'e', b'r', b'-', b'n',
            b'o', b'd', b'e', b'.', b'l', b'o', b'c', b'a', b'l', // name
            0, 0, 0, 0,                         // padding
        ];
        let frame = ResolutionFrame {
            flags: 0,
            entries: vec![
                ResolutionEntry {
                    flags: SELF_FLAG,
                    udp_port: 20112,
                    age_in_ms: 10,
                    address: IpAddr::V4(Ipv4Addr::LOCALHOST),
                    name: "node1",
                },
                ResolutionEntry {
                    flags: 0,
                    udp_port: 80,
                    age_in_ms: -1,
                    address: "fe80::1".parse().unwrap(),
                    name: "another-node.local",
                },
            ],
        };
        assert_eq!(frame.to_vec(), expected);
        assert_eq!(ResolutionFrame::decode(&expected).unwrap(), frame);
        assert!(frame.entries[0].is_self() && !frame.entries[1].is_self());
    }

    #[test]
    fn rejects_broken_entries() {
        let entry = ResolutionEntry {
            flags: 0,
            udp_port: 1,
            age_in_ms: 0,
            address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            name: "ab",
        };
        let good = ResolutionFrame {
            flags: 0,
            entries: vec![entry],
        }
        .to_vec();
        assert_eq!(good.len(), 8 + 16);
        let mut bad_type = good.clone();
        bad_type[8] = 3;
        assert!(matches!(
            ResolutionFrame::decode(&bad_type),
            Err(DecodeError::InvalidValue {
                field: "res_type",
                ..
            })
        ));
        let mut negative = good.clone();
        le::put_i16(&mut negative, 8 + IPV4_NAME_LENGTH_FIELD_OFFSET, -1);
        assert!(matches!(
            ResolutionFrame::decode(&negative),
            Err(DecodeError::BadLength { .. })
        ));
        let mut long_name = good.clone();
        le::put_i16(&mut long_name, 8 + IPV4_NAME_LENGTH_FIELD_OFFSET, 3);
        assert!(matches!(
            ResolutionFrame::decode(&long_name),
            Err(DecodeError::BadLength { .. })
        ));
        let mut past_end = good.clone();
        le::put_i32(&mut past_end, 0, 25);
        assert!(matches!(
            ResolutionFrame::decode(&past_end),
            Err(DecodeError::BadLength { .. })
        ));
        let mut leftover = good.clone();
        leftover.extend_from_slice(&[1, 0, 0, 0]);
        le::put_i32(&mut leftover, 0, 28);
        assert!(matches!(
            ResolutionFrame::decode(&leftover),
            Err(DecodeError::Truncated { .. })
        ));
    }

    fn arb_entry() -> impl Strategy<Value = (u8, u16, i32, IpAddr, String)> {
        (
            any::<u8>(),
            any::<u16>(),
            any::<i32>(),
            prop_oneof![
                any::<[u8; 4]>().prop_map(|o| IpAddr::V4(o.into())),
                any::<[u8; 16]>().prop_map(|o| IpAddr::V6(o.into())),
            ],
            "[a-z0-9.-]{0,40}",
        )
    }

    proptest! {
        #[test]
        fn round_trips(flags in any::<u8>(), raw in proptest::collection::vec(arb_entry(), 0..4)) {
            let entries = raw
                .iter()
                .map(|(flags, udp_port, age_in_ms, address, name)| ResolutionEntry {
                    flags: *flags,
                    udp_port: *udp_port,
                    age_in_ms: *age_in_ms,
                    address: *address,
                    name,
                })
                .collect();
            let frame = ResolutionFrame { flags, entries };
            let bytes = frame.to_vec();
            prop_assert_eq!(bytes.len() % ENTRY_ALIGNMENT, 0);
            prop_assert_eq!(ResolutionFrame::decode(&bytes).unwrap(), frame);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = ResolutionFrame::decode(&bytes);
            let _ = ResolutionEntry::decode(&bytes);
        }
    }
}
