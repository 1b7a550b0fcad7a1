use thiserror::Error;

/// Bytes from outside (a UDP datagram, a ring-buffer record, a file) that do not hold what they should.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Fewer bytes than the layout needs.
    #[error("{what}: needs {needed} bytes, got {available}")]
    Truncated {
        /// The message or structure being decoded.
        what: &'static str,
        /// Bytes the layout needs.
        needed: usize,
        /// Bytes that were there.
        available: usize,
    },
    /// A length field that is negative or points past the end of the bytes.
    #[error("{what}: {field} length {length} does not fit")]
    BadLength {
        /// The message or structure being decoded.
        what: &'static str,
        /// The length field.
        field: &'static str,
        /// Its value.
        length: i64,
    },
    /// A field whose value the layout does not allow.
    #[error("{what}: invalid {field} {value}")]
    InvalidValue {
        /// The message or structure being decoded.
        what: &'static str,
        /// The field.
        field: &'static str,
        /// Its value.
        value: i64,
    },
    /// A type id that names no known message or frame.
    #[error("{what}: unknown type id {type_id}")]
    UnknownType {
        /// The kind of message (frame, command, response).
        what: &'static str,
        /// The type id found.
        type_id: i32,
    },
    /// A string field that is not UTF-8.
    #[error("{what}: {field} is not valid UTF-8")]
    NotUtf8 {
        /// The message or structure being decoded.
        what: &'static str,
        /// The field.
        field: &'static str,
    },
}
