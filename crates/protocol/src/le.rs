//! Little-endian integer access on byte slices, the building block of every layout in this crate.
//!
//! The `get_*`/`put_*` functions panic when the range is outside the slice: decoders call
//! [`require`] first, so a panic here is a bug in this crate, never the result of outside bytes.

use crate::DecodeError;

/// Fails with [`DecodeError::Truncated`] unless `bytes` holds at least `needed` bytes.
#[inline]
pub fn require(what: &'static str, bytes: &[u8], needed: usize) -> Result<(), DecodeError> {
    if bytes.len() < needed {
        Err(DecodeError::Truncated {
            what,
            needed,
            available: bytes.len(),
        })
    } else {
        Ok(())
    }
}

macro_rules! le_int {
    ($t:ty, $get:ident, $put:ident) => {
        #[doc = concat!("Reads a little-endian `", stringify!($t), "` at `offset`.")]
        #[inline]
        pub fn $get(bytes: &[u8], offset: usize) -> $t {
            const N: usize = std::mem::size_of::<$t>();
            let mut raw = [0u8; N];
            raw.copy_from_slice(&bytes[offset..offset + N]);
            <$t>::from_le_bytes(raw)
        }

        #[doc = concat!("Writes a little-endian `", stringify!($t), "` at `offset`.")]
        #[inline]
        pub fn $put(bytes: &mut [u8], offset: usize, value: $t) {
            const N: usize = std::mem::size_of::<$t>();
            bytes[offset..offset + N].copy_from_slice(&value.to_le_bytes());
        }
    };
}

le_int!(u8, get_u8, put_u8);
le_int!(i8, get_i8, put_i8);
le_int!(u16, get_u16, put_u16);
le_int!(i16, get_i16, put_i16);
le_int!(u32, get_u32, put_u32);
le_int!(i32, get_i32, put_i32);
le_int!(u64, get_u64, put_u64);
le_int!(i64, get_i64, put_i64);

/// Reads Aeron's string layout at `offset`: an `i32` length then that many bytes. Returns the string and the
/// offset just past it. Fails if the length is negative or runs past the end, or the bytes are not UTF-8.
pub fn get_string<'a>(
    what: &'static str,
    field: &'static str,
    bytes: &'a [u8],
    offset: usize,
) -> Result<(&'a str, usize), DecodeError> {
    require(what, bytes, offset.saturating_add(4))?;
    let raw_len = get_i32(bytes, offset);
    let len = usize::try_from(raw_len).map_err(|_| DecodeError::BadLength {
        what,
        field,
        length: raw_len.into(),
    })?;
    let start = offset + 4;
    let end = start
        .checked_add(len)
        .filter(|&end| end <= bytes.len())
        .ok_or(DecodeError::BadLength {
            what,
            field,
            length: raw_len.into(),
        })?;
    let s = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| DecodeError::NotUtf8 { what, field })?;
    Ok((s, end))
}

/// Writes Aeron's string layout (`i32` length then bytes) at `offset`; returns the offset just past it.
pub fn put_string(bytes: &mut [u8], offset: usize, value: &str) -> usize {
    let len = i32::try_from(value.len()).expect("string longer than i32::MAX");
    put_i32(bytes, offset, len);
    bytes[offset + 4..offset + 4 + value.len()].copy_from_slice(value.as_bytes());
    offset + 4 + value.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_little_endian() {
        let mut b = [0u8; 8];
        put_i32(&mut b, 0, 0x0102_0304);
        assert_eq!(b[..4], [4, 3, 2, 1]);
        assert_eq!(get_i32(&b, 0), 0x0102_0304);
        put_i64(&mut b, 0, -2);
        assert_eq!(get_i64(&b, 0), -2);
    }

    #[test]
    fn strings_reject_bad_lengths() {
        let mut b = [0u8; 16];
        assert_eq!(put_string(&mut b, 0, "aeron"), 9);
        assert_eq!(get_string("t", "s", &b, 0).unwrap(), ("aeron", 9));
        put_i32(&mut b, 0, 13);
        assert!(matches!(
            get_string("t", "s", &b, 0),
            Err(DecodeError::BadLength { .. })
        ));
        put_i32(&mut b, 0, -1);
        assert!(matches!(
            get_string("t", "s", &b, 0),
            Err(DecodeError::BadLength { .. })
        ));
        assert!(matches!(
            get_string("t", "s", &b, 14),
            Err(DecodeError::Truncated { .. })
        ));
    }
}
