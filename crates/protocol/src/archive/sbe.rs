//! The SBE framing every archive message uses: the 8-byte message header, fixed-block fields that may be
//! missing in messages from older peers, and `u32`-length var data.

use crate::le::{self, get_u16, get_u32, put_u16, put_u32};
use crate::DecodeError;

/// Length of the SBE message header.
pub const MESSAGE_HEADER_LENGTH: usize = 8;
/// Offset of `blockLength` (u16) in the message header.
pub const BLOCK_LENGTH_OFFSET: usize = 0;
/// Offset of `templateId` (u16) in the message header.
pub const TEMPLATE_ID_OFFSET: usize = 2;
/// Offset of `schemaId` (u16) in the message header.
pub const SCHEMA_ID_OFFSET: usize = 4;
/// Offset of `version` (u16) in the message header.
pub const VERSION_OFFSET: usize = 6;
/// Length of the `u32` length prefix of a var-data field.
pub const VAR_DATA_LENGTH_PREFIX: usize = 4;
/// Largest var-data length the schema allows (`maxValue` of `varAsciiEncoding`/`varDataEncoding`).
pub const MAX_VAR_DATA_LENGTH: u32 = 1 << 30;

/// The SBE message header that precedes every message on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageHeader {
    /// Length of the fixed block after the header; var data starts at `8 + block_length`.
    pub block_length: u16,
    /// Which message follows.
    pub template_id: u16,
    /// Schema of the message (101 for the archive protocol, 100 for the archive mark file).
    pub schema_id: u16,
    /// Schema version the sender encoded with.
    pub version: u16,
}

impl MessageHeader {
    /// Reads the header at the start of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        le::require("SBE message header", bytes, MESSAGE_HEADER_LENGTH)?;
        Ok(Self {
            block_length: get_u16(bytes, BLOCK_LENGTH_OFFSET),
            template_id: get_u16(bytes, TEMPLATE_ID_OFFSET),
            schema_id: get_u16(bytes, SCHEMA_ID_OFFSET),
            version: get_u16(bytes, VERSION_OFFSET),
        })
    }

    /// Writes the header at the start of `buf`; returns 8. Panics if `buf` is shorter.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        put_u16(buf, BLOCK_LENGTH_OFFSET, self.block_length);
        put_u16(buf, TEMPLATE_ID_OFFSET, self.template_id);
        put_u16(buf, SCHEMA_ID_OFFSET, self.schema_id);
        put_u16(buf, VERSION_OFFSET, self.version);
        MESSAGE_HEADER_LENGTH
    }
}

/// A fixed-size value in an SBE fixed block: a primitive or an `int32`-encoded enum.
pub trait SbeField: Copy {
    /// Encoded size in bytes.
    const SIZE: usize;
    /// Reads the value at `offset`; the caller has checked the bounds.
    fn read(bytes: &[u8], offset: usize) -> Self;
    /// Writes the value at `offset`.
    fn write(self, bytes: &mut [u8], offset: usize);
    /// Builds a value from an arbitrary integer (test and fuzz input); every result must round trip.
    fn from_sample(value: i64) -> Self;
}

macro_rules! primitive_field {
    ($t:ty, $get:ident, $put:ident) => {
        impl SbeField for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn read(bytes: &[u8], offset: usize) -> Self {
                le::$get(bytes, offset)
            }
            fn write(self, bytes: &mut [u8], offset: usize) {
                le::$put(bytes, offset, self)
            }
            fn from_sample(value: i64) -> Self {
                value as $t
            }
        }
    };
}

primitive_field!(i8, get_i8, put_i8);
primitive_field!(i32, get_i32, put_i32);
primitive_field!(i64, get_i64, put_i64);

/// Reads a field every version of the message has; fails when the sender's block is too short for it.
pub(crate) fn required<T: SbeField>(
    what: &'static str,
    block: &[u8],
    offset: usize,
) -> Result<T, DecodeError> {
    if offset + T::SIZE <= block.len() {
        Ok(T::read(block, offset))
    } else {
        Err(DecodeError::BadLength {
            what,
            field: "blockLength",
            length: block.len() as i64,
        })
    }
}

/// Reads a field added in schema version `since`: its null value when the sender's version predates it or
/// its block does not reach it.
pub(crate) fn optional<T: SbeField>(
    block: &[u8],
    version: u16,
    offset: usize,
    since: u16,
    null: T,
) -> T {
    if version >= since && offset + T::SIZE <= block.len() {
        T::read(block, offset)
    } else {
        null
    }
}

/// A var-data field: ASCII text (`varAsciiEncoding`) as `&str` or raw bytes (`varDataEncoding`) as `&[u8]`.
pub trait VarData<'a>: Copy + Sized {
    /// Checks and converts the raw bytes of the field.
    fn from_raw(
        what: &'static str,
        field: &'static str,
        raw: &'a [u8],
    ) -> Result<Self, DecodeError>;
    /// The bytes to encode.
    fn raw(&self) -> &'a [u8];
    /// The value to use when the field is absent (older sender).
    fn empty() -> Self;
    /// Picks test or fuzz input: text for string fields, bytes for blob fields.
    fn from_sample(text: &'a str, blob: &'a [u8]) -> Self;
}

impl<'a> VarData<'a> for &'a str {
    fn from_raw(
        what: &'static str,
        field: &'static str,
        raw: &'a [u8],
    ) -> Result<Self, DecodeError> {
        std::str::from_utf8(raw).map_err(|_| DecodeError::NotUtf8 { what, field })
    }
    fn raw(&self) -> &'a [u8] {
        self.as_bytes()
    }
    fn empty() -> Self {
        ""
    }
    fn from_sample(text: &'a str, _blob: &'a [u8]) -> Self {
        text
    }
}

impl<'a> VarData<'a> for &'a [u8] {
    fn from_raw(
        _what: &'static str,
        _field: &'static str,
        raw: &'a [u8],
    ) -> Result<Self, DecodeError> {
        Ok(raw)
    }
    fn raw(&self) -> &'a [u8] {
        self
    }
    fn empty() -> Self {
        &[]
    }
    fn from_sample(_text: &'a str, blob: &'a [u8]) -> Self {
        blob
    }
}

/// Reads the var-data field at `*offset` when the sender's version has it (else the empty value), advancing
/// `*offset` past it.
pub(crate) fn get_var<'a, V: VarData<'a>>(
    what: &'static str,
    field: &'static str,
    bytes: &'a [u8],
    offset: &mut usize,
    version: u16,
    since: u16,
) -> Result<V, DecodeError> {
    if version < since {
        return Ok(V::empty());
    }
    le::require(what, bytes, offset.saturating_add(VAR_DATA_LENGTH_PREFIX))?;
    let length = get_u32(bytes, *offset);
    let start = *offset + VAR_DATA_LENGTH_PREFIX;
    let end = Some(length)
        .filter(|&len| len <= MAX_VAR_DATA_LENGTH)
        .and_then(|len| start.checked_add(len as usize))
        .filter(|&end| end <= bytes.len())
        .ok_or(DecodeError::BadLength {
            what,
            field,
            length: length.into(),
        })?;
    let value = V::from_raw(what, field, &bytes[start..end])?;
    *offset = end;
    Ok(value)
}

/// Writes a var-data field at `offset`; returns the offset just past it. Panics if `buf` is too short or the
/// value is longer than the schema allows.
pub(crate) fn put_var(buf: &mut [u8], offset: usize, value: &[u8]) -> usize {
    let length = u32::try_from(value.len())
        .ok()
        .filter(|&len| len <= MAX_VAR_DATA_LENGTH)
        .expect("var data longer than 2^30 bytes");
    put_u32(buf, offset, length);
    let start = offset + VAR_DATA_LENGTH_PREFIX;
    buf[start..start + value.len()].copy_from_slice(value);
    start + value.len()
}

/// Checks the header of a message about to be decoded as `template_id` of `schema_id`, and that its fixed
/// block is present. Returns the header.
pub(crate) fn check_header(
    what: &'static str,
    bytes: &[u8],
    schema_id: u16,
    template_id: u16,
) -> Result<MessageHeader, DecodeError> {
    let header = MessageHeader::decode(bytes)?;
    if header.schema_id != schema_id {
        return Err(DecodeError::InvalidValue {
            what,
            field: "schemaId",
            value: header.schema_id.into(),
        });
    }
    if header.template_id != template_id {
        return Err(DecodeError::InvalidValue {
            what,
            field: "templateId",
            value: header.template_id.into(),
        });
    }
    le::require(
        what,
        bytes,
        MESSAGE_HEADER_LENGTH + usize::from(header.block_length),
    )?;
    Ok(header)
}

/// Declares one SBE message: the struct, its layout constants, `decode`/`encode` with and without the message
/// header, and a test-input constructor.
///
/// Fields are `name: type = offset` (optionally `since N null V` for fields added in schema version N); var
/// data is `name: type` (optionally `since N`), in schema order.
macro_rules! sbe_message {
    (
        $(#[$meta:meta])*
        $name:ident $(<$lt:lifetime>)? {
            what: $what:literal,
            schema: $schema:expr,
            version: $schema_version:expr,
            template: $template:expr,
            block: $block:expr,
            fields: {
                $(
                    $(#[$fmeta:meta])*
                    $field:ident : $fty:ty = $off:literal $(since $since:literal null $null:expr)?
                ),* $(,)?
            },
            var: {
                $(
                    $(#[$vmeta:meta])*
                    $var:ident : $vty:ty $(, since $vsince:literal)?
                );* $(;)?
            } $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name $(<$lt>)? {
            $( $(#[$fmeta])* pub $field: $fty, )*
            $( $(#[$vmeta])* pub $var: $vty, )*
        }

        #[allow(clippy::needless_update, unused_mut, unused_variables)]
        impl $(<$lt>)? $name $(<$lt>)? {
            /// SBE template id.
            pub const TEMPLATE_ID: u16 = $template;
            /// Schema id of the message.
            pub const SCHEMA_ID: u16 = $schema;
            /// Schema version this codec writes.
            pub const SCHEMA_VERSION: u16 = $schema_version;
            /// Length of the fixed block this codec writes.
            pub const BLOCK_LENGTH: u16 = $block;

            /// Decodes a whole message: SBE header, fixed block (of the length the header gives) and var data.
            /// Bytes after the last var-data field are ignored.
            pub fn decode(bytes: &$($lt)? [u8]) -> Result<Self, $crate::DecodeError> {
                let header = $crate::archive::sbe::check_header($what, bytes, $schema, $template)?;
                Self::decode_body(
                    &bytes[$crate::archive::sbe::MESSAGE_HEADER_LENGTH..],
                    header.block_length,
                    header.version,
                )
            }

            /// Decodes the message body (no SBE header) given the block length and version that apply, as in the
            /// catalog where bodies carry no header.
            pub fn decode_body(
                body: &$($lt)? [u8],
                block_length: u16,
                version: u16,
            ) -> Result<Self, $crate::DecodeError> {
                let block_length = usize::from(block_length);
                $crate::le::require($what, body, block_length)?;
                let block = &body[..block_length];
                let mut offset = block_length;
                Ok(Self {
                    $(
                        $field: sbe_message!(@read $what, block, version, $fty, $off $(, $since, $null)?),
                    )*
                    $(
                        $var: $crate::archive::sbe::get_var(
                            $what,
                            stringify!($var),
                            body,
                            &mut offset,
                            version,
                            sbe_message!(@since $($vsince)?),
                        )?,
                    )*
                })
            }

            /// Length of the body (fixed block plus var data) [`encode_body`](Self::encode_body) writes.
            pub fn body_length(&self) -> usize {
                usize::from(Self::BLOCK_LENGTH)
                    $( + $crate::archive::sbe::VAR_DATA_LENGTH_PREFIX
                        + $crate::archive::sbe::VarData::raw(&self.$var).len() )*
            }

            /// Length of the whole message [`encode`](Self::encode) writes.
            pub fn encoded_length(&self) -> usize {
                $crate::archive::sbe::MESSAGE_HEADER_LENGTH + self.body_length()
            }

            /// Writes the body (fixed block, then var data) at the start of `buf`; returns its length. Padding
            /// inside the block is zeroed. Panics if `buf` is shorter than [`body_length`](Self::body_length).
            pub fn encode_body(&self, buf: &mut [u8]) -> usize {
                let block_length = usize::from(Self::BLOCK_LENGTH);
                buf[..block_length].fill(0);
                $( $crate::archive::sbe::SbeField::write(self.$field, buf, $off); )*
                let mut offset = block_length;
                $(
                    offset = $crate::archive::sbe::put_var(
                        buf,
                        offset,
                        $crate::archive::sbe::VarData::raw(&self.$var),
                    );
                )*
                offset
            }

            /// Writes the whole message (SBE header with this codec's block length and version, then the body)
            /// at the start of `buf`; returns its length. Panics if `buf` is shorter than
            /// [`encoded_length`](Self::encoded_length).
            pub fn encode(&self, buf: &mut [u8]) -> usize {
                $crate::archive::sbe::MessageHeader {
                    block_length: Self::BLOCK_LENGTH,
                    template_id: Self::TEMPLATE_ID,
                    schema_id: Self::SCHEMA_ID,
                    version: Self::SCHEMA_VERSION,
                }
                .encode(buf);
                $crate::archive::sbe::MESSAGE_HEADER_LENGTH
                    + self.encode_body(&mut buf[$crate::archive::sbe::MESSAGE_HEADER_LENGTH..])
            }

            /// The encoded message as a new vector.
            pub fn to_vec(&self) -> Vec<u8> {
                let mut buf = vec![0; self.encoded_length()];
                self.encode(&mut buf);
                buf
            }

            /// Builds a message from arbitrary input (for property tests and fuzzing): fields take successive
            /// values of `ints` (0 when they run out), var data successive `texts`/`blobs` (empty when they
            /// run out).
            pub fn from_sample(
                ints: &[i64],
                texts: &$($lt)? [String],
                blobs: &$($lt)? [Vec<u8>],
            ) -> Self {
                let mut ints = ints.iter().copied();
                let mut var_index = 0usize;
                let mut next_var = || {
                    let i = var_index;
                    var_index += 1;
                    (
                        texts.get(i).map_or("", String::as_str),
                        blobs.get(i).map_or(&[][..], Vec::as_slice),
                    )
                };
                Self {
                    $(
                        $field: $crate::archive::sbe::SbeField::from_sample(ints.next().unwrap_or(0)),
                    )*
                    $(
                        $var: {
                            let (text, blob) = next_var();
                            $crate::archive::sbe::VarData::from_sample(text, blob)
                        },
                    )*
                }
            }
        }
    };
    (@read $what:literal, $block:ident, $version:ident, $fty:ty, $off:literal) => {
        $crate::archive::sbe::required::<$fty>($what, $block, $off)?
    };
    (@read $what:literal, $block:ident, $version:ident, $fty:ty, $off:literal, $since:literal, $null:expr) => {
        $crate::archive::sbe::optional::<$fty>($block, $version, $off, $since, $null)
    };
    (@since) => { 0 };
    (@since $since:literal) => { $since };
}

pub(crate) use sbe_message;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let header = MessageHeader {
            block_length: 32,
            template_id: 1,
            schema_id: 101,
            version: 14,
        };
        let mut buf = [0u8; 8];
        assert_eq!(header.encode(&mut buf), 8);
        assert_eq!(buf, [32, 0, 1, 0, 101, 0, 14, 0]);
        assert_eq!(MessageHeader::decode(&buf), Ok(header));
        assert!(matches!(
            MessageHeader::decode(&buf[..7]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn var_data_rejects_bad_lengths() {
        let mut buf = [0u8; 12];
        assert_eq!(put_var(&mut buf, 0, b"aeron"), 9);
        let mut offset = 0;
        let s: &str = get_var("t", "s", &buf, &mut offset, 14, 0).unwrap();
        assert_eq!((s, offset), ("aeron", 9));

        let mut offset = 0;
        let absent: &str = get_var("t", "s", &buf, &mut offset, 11, 12).unwrap();
        assert_eq!((absent, offset), ("", 0));

        put_u32(&mut buf, 0, 9);
        let mut offset = 0;
        assert!(matches!(
            get_var::<&[u8]>("t", "s", &buf, &mut offset, 14, 0),
            Err(DecodeError::BadLength { .. })
        ));
        put_u32(&mut buf, 0, u32::MAX);
        assert!(matches!(
            get_var::<&[u8]>("t", "s", &buf, &mut offset, 14, 0),
            Err(DecodeError::BadLength { .. })
        ));
        let mut offset = 10;
        assert!(matches!(
            get_var::<&[u8]>("t", "s", &buf, &mut offset, 14, 0),
            Err(DecodeError::Truncated { .. })
        ));
        put_u32(&mut buf, 0, 1);
        buf[4] = 0xFF;
        let mut offset = 0;
        assert!(matches!(
            get_var::<&str>("t", "s", &buf, &mut offset, 14, 0),
            Err(DecodeError::NotUtf8 { .. })
        ));
    }
}
