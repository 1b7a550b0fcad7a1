//! Log buffers as the client and driver use them in place: the mapped file, its metadata, frame headers,
//! and the term appenders and reader that make up the IPC and UDP data path.

mod header;
mod log_buffers;
mod term_appender;
pub(crate) mod term_reader;

pub use header::Header;
pub use log_buffers::{LogBuffers, LogBuffersError, LogMetadata};
pub use term_appender::{
    abort_claim, commit_claim, AppendOutcome, ExclusiveTermAppender, ReservedValueSupplier,
    TermAppender,
};
pub use term_reader::{read_term, TermReadOutcome};

/// The 32-byte data frame header layout, under the short names this module uses.
pub(crate) mod frame {
    pub use oxeron_protocol::frame::data::{
        BEGIN_FLAG, END_FLAG, RESERVED_VALUE_OFFSET, SESSION_ID_FIELD_OFFSET as SESSION_ID_OFFSET,
        STREAM_ID_FIELD_OFFSET as STREAM_ID_OFFSET, TERM_ID_FIELD_OFFSET as TERM_ID_OFFSET,
        TERM_OFFSET_FIELD_OFFSET as TERM_OFFSET_OFFSET, UNFRAGMENTED,
    };
    pub use oxeron_protocol::frame::{
        FLAGS_FIELD_OFFSET as FLAGS_OFFSET, FRAME_LENGTH_FIELD_OFFSET as FRAME_LENGTH_OFFSET,
        HDR_TYPE_DATA as TYPE_DATA, HDR_TYPE_PAD as TYPE_PAD, TYPE_FIELD_OFFSET as TYPE_OFFSET,
    };
}
