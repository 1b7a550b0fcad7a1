//! Log buffers as the client and driver use them in place: the mapped file, its metadata, frame headers,
//! and the term appenders and reader that make up the IPC and UDP data path.

mod header;
mod log_buffers;
mod term_appender;
mod term_reader;

pub use header::Header;
pub use log_buffers::{LogBuffers, LogBuffersError, LogMetadata};
pub use term_appender::{
    abort_claim, commit_claim, AppendOutcome, ExclusiveTermAppender, ReservedValueSupplier,
    TermAppender,
};
pub use term_reader::{read_term, TermReadOutcome};

/// Offsets and values of the 32-byte data frame header (Aeron's `aeron_data_header_t`).
pub(crate) mod frame {
    #![allow(dead_code)]
    pub const FRAME_LENGTH_OFFSET: usize = 0;
    pub const FLAGS_OFFSET: usize = 5;
    pub const TYPE_OFFSET: usize = 6;
    pub const TERM_OFFSET_OFFSET: usize = 8;
    pub const SESSION_ID_OFFSET: usize = 12;
    pub const STREAM_ID_OFFSET: usize = 16;
    pub const TERM_ID_OFFSET: usize = 20;
    pub const RESERVED_VALUE_OFFSET: usize = 24;
    pub const TYPE_PAD: u16 = 0x00;
    pub const TYPE_DATA: u16 = 0x01;
    pub const BEGIN_FLAG: u8 = 0x80;
    pub const END_FLAG: u8 = 0x40;
    pub const UNFRAGMENTED: u8 = BEGIN_FLAG | END_FLAG;
}
