//! The log buffer: three term partitions followed by a 4096-byte metadata section, plus the term and position
//! arithmetic every publisher, subscriber and driver agent shares.
//!
//! Layout and rules follow Aeron 1.54's `aeron_logbuffer_descriptor.h` and `LogBufferDescriptor.java`.
//! Units: term geometry (term length, term offsets, MTU, page size) is `i32` as stored in the file; stream
//! positions are `i64`; message and payload lengths are `usize`.
//!
//! [`LogBufferMetadata`] is an owned copy of the metadata section for files and tests; live code reads the same
//! offsets (the `LOG_*_OFFSET` constants) through an atomic buffer.

use thiserror::Error;

use crate::{align, le, DecodeError};

/// Number of term partitions in a log.
pub const PARTITION_COUNT: usize = 3;
/// Smallest allowed term length (64 KiB).
pub const TERM_MIN_LENGTH: i32 = 64 * 1024;
/// Largest allowed term length (1 GiB).
pub const TERM_MAX_LENGTH: i32 = 1024 * 1024 * 1024;
/// Smallest allowed file page size (4 KiB).
pub const PAGE_MIN_SIZE: i32 = 4 * 1024;
/// Largest allowed file page size (1 GiB).
pub const PAGE_MAX_SIZE: i32 = 1024 * 1024 * 1024;
/// Length of the metadata section at the end of every log file, whatever the page size.
pub const LOG_META_DATA_LENGTH: usize = 4096;
/// Bytes of the metadata section Aeron 1.54 actually uses; the rest is zero.
pub const LOG_META_DATA_USED_LENGTH: usize = 508;
/// Every frame in a term starts on a multiple of this.
pub const FRAME_ALIGNMENT: usize = 32;
/// Length of a DATA or PAD frame header.
pub const DATA_HEADER_LENGTH: usize = 32;
/// Space reserved in the metadata for the default frame header.
pub const LOG_DEFAULT_FRAME_HEADER_MAX_LENGTH: usize = 128;
/// Largest UDP payload Aeron sends, and so the largest MTU.
pub const MAX_UDP_PAYLOAD_LENGTH: i32 = 65504;
/// Upper bound on a message length, whatever the term length (16 MiB).
pub const MAX_MESSAGE_LENGTH: usize = 16 * 1024 * 1024;
/// Length of the smallest log file: three 64 KiB terms and the metadata.
pub const MIN_LOG_LENGTH: u64 = 3 * TERM_MIN_LENGTH as u64 + LOG_META_DATA_LENGTH as u64;

/// `type` value of a log buffer made for a concurrent publication.
pub const LOG_BUFFER_TYPE_CONCURRENT_PUBLICATION: u8 = 0;
/// `type` value of a log buffer made for an exclusive publication.
pub const LOG_BUFFER_TYPE_EXCLUSIVE_PUBLICATION: u8 = 1;
/// `type` value of a log buffer made for a publication image (receive side).
pub const LOG_BUFFER_TYPE_PUBLICATION_IMAGE: u8 = 2;

/// Offset of the three term tail counters (`i64` each).
pub const TERM_TAIL_COUNTERS_OFFSET: usize = 0;
/// Offset of the active term count (`i32`).
pub const LOG_ACTIVE_TERM_COUNT_OFFSET: usize = 24;
/// Offset of the end-of-stream position (`i64`).
pub const LOG_END_OF_STREAM_POSITION_OFFSET: usize = 128;
/// Offset of the is-connected flag (`i32`).
pub const LOG_IS_CONNECTED_OFFSET: usize = 136;
/// Offset of the active transport count (`i32`).
pub const LOG_ACTIVE_TRANSPORT_COUNT_OFFSET: usize = 140;
/// Offset of the correlation (registration) id (`i64`).
pub const LOG_CORRELATION_ID_OFFSET: usize = 256;
/// Offset of the initial term id (`i32`).
pub const LOG_INITIAL_TERM_ID_OFFSET: usize = 264;
/// Offset of the default frame header length (`i32`).
pub const LOG_DEFAULT_FRAME_HEADER_LENGTH_OFFSET: usize = 268;
/// Offset of the MTU length (`i32`).
pub const LOG_MTU_LENGTH_OFFSET: usize = 272;
/// Offset of the term length (`i32`).
pub const LOG_TERM_LENGTH_OFFSET: usize = 276;
/// Offset of the file page size (`i32`).
pub const LOG_PAGE_SIZE_OFFSET: usize = 280;
/// Offset of the publication window length (`i32`).
pub const LOG_PUBLICATION_WINDOW_LENGTH_OFFSET: usize = 284;
/// Offset of the receiver window length (`i32`).
pub const LOG_RECEIVER_WINDOW_LENGTH_OFFSET: usize = 288;
/// Offset of the channel's socket send buffer length (`i32`).
pub const LOG_SOCKET_SNDBUF_LENGTH_OFFSET: usize = 292;
/// Offset of the OS default socket send buffer length (`i32`).
pub const LOG_OS_DEFAULT_SOCKET_SNDBUF_LENGTH_OFFSET: usize = 296;
/// Offset of the OS maximum socket send buffer length (`i32`).
pub const LOG_OS_MAX_SOCKET_SNDBUF_LENGTH_OFFSET: usize = 300;
/// Offset of the channel's socket receive buffer length (`i32`).
pub const LOG_SOCKET_RCVBUF_LENGTH_OFFSET: usize = 304;
/// Offset of the OS default socket receive buffer length (`i32`).
pub const LOG_OS_DEFAULT_SOCKET_RCVBUF_LENGTH_OFFSET: usize = 308;
/// Offset of the OS maximum socket receive buffer length (`i32`).
pub const LOG_OS_MAX_SOCKET_RCVBUF_LENGTH_OFFSET: usize = 312;
/// Offset of the max resend count (`i32`).
pub const LOG_MAX_RESEND_OFFSET: usize = 316;
/// Offset of the default frame header (up to [`LOG_DEFAULT_FRAME_HEADER_MAX_LENGTH`] bytes).
pub const LOG_DEFAULT_FRAME_HEADER_OFFSET: usize = 320;
/// Offset of the entity tag (`i64`).
pub const LOG_ENTITY_TAG_OFFSET: usize = 448;
/// Offset of the response correlation id (`i64`).
pub const LOG_RESPONSE_CORRELATION_ID_OFFSET: usize = 456;
/// Offset of the linger timeout in ns (`i64`).
pub const LOG_LINGER_TIMEOUT_NS_OFFSET: usize = 464;
/// Offset of the untethered window limit timeout in ns (`i64`).
pub const LOG_UNTETHERED_WINDOW_LIMIT_TIMEOUT_NS_OFFSET: usize = 472;
/// Offset of the untethered resting timeout in ns (`i64`).
pub const LOG_UNTETHERED_RESTING_TIMEOUT_NS_OFFSET: usize = 480;
/// Offset of the group flag (`u8`).
pub const LOG_GROUP_OFFSET: usize = 488;
/// Offset of the is-response flag (`u8`).
pub const LOG_IS_RESPONSE_OFFSET: usize = 489;
/// Offset of the rejoin flag (`u8`).
pub const LOG_REJOIN_OFFSET: usize = 490;
/// Offset of the reliable flag (`u8`).
pub const LOG_RELIABLE_OFFSET: usize = 491;
/// Offset of the sparse flag (`u8`).
pub const LOG_SPARSE_OFFSET: usize = 492;
/// Offset of the signal-EOS flag (`u8`).
pub const LOG_SIGNAL_EOS_OFFSET: usize = 493;
/// Offset of the spies-simulate-connection flag (`u8`).
pub const LOG_SPIES_SIMULATE_CONNECTION_OFFSET: usize = 494;
/// Offset of the tether flag (`u8`).
pub const LOG_TETHER_OFFSET: usize = 495;
/// Offset of the is-publication-revoked flag (`u8`).
pub const LOG_IS_PUBLICATION_REVOKED_OFFSET: usize = 496;
/// Offset of the log buffer type (`u8`, one of the `LOG_BUFFER_TYPE_*` values).
pub const LOG_TYPE_OFFSET: usize = 497;
/// Offset of the untethered linger timeout in ns (`i64`, only 4-byte aligned).
pub const LOG_UNTETHERED_LINGER_TIMEOUT_NS_OFFSET: usize = 500;

use crate::frame::data::{
    BEGIN_FLAG as BEGIN_FRAG_FLAG, END_FLAG as END_FRAG_FLAG,
    RESERVED_VALUE_OFFSET as HDR_RESERVED_VALUE_OFFSET,
    SESSION_ID_FIELD_OFFSET as HDR_SESSION_ID_OFFSET,
    STREAM_ID_FIELD_OFFSET as HDR_STREAM_ID_OFFSET, TERM_ID_FIELD_OFFSET as HDR_TERM_ID_OFFSET,
    TERM_OFFSET_FIELD_OFFSET as HDR_TERM_OFFSET_OFFSET,
};
use crate::frame::{
    FLAGS_FIELD_OFFSET as HDR_FLAGS_OFFSET, FRAME_LENGTH_FIELD_OFFSET as HDR_FRAME_LENGTH_OFFSET,
    HDR_TYPE_DATA, HDR_TYPE_PAD, TYPE_FIELD_OFFSET as HDR_TYPE_OFFSET,
    VERSION_FIELD_OFFSET as HDR_VERSION_OFFSET,
};

/// A term length, page size or MTU that Aeron would refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum LogBufferError {
    /// Term length below [`TERM_MIN_LENGTH`].
    #[error("term length less than min length of {TERM_MIN_LENGTH}: length={0}")]
    TermLengthTooSmall(i64),
    /// Term length above [`TERM_MAX_LENGTH`].
    #[error("term length more than max length of {TERM_MAX_LENGTH}: length={0}")]
    TermLengthTooLarge(i64),
    /// Term length not a power of two.
    #[error("term length not a power of 2: length={0}")]
    TermLengthNotPowerOfTwo(i64),
    /// Page size below [`PAGE_MIN_SIZE`].
    #[error("page size less than min size of {PAGE_MIN_SIZE}: page size={0}")]
    PageSizeTooSmall(i64),
    /// Page size above [`PAGE_MAX_SIZE`].
    #[error("page size more than max size of {PAGE_MAX_SIZE}: page size={0}")]
    PageSizeTooLarge(i64),
    /// Page size not a power of two.
    #[error("page size not a power of 2: page size={0}")]
    PageSizeNotPowerOfTwo(i64),
    /// MTU below the data header length or above [`MAX_UDP_PAYLOAD_LENGTH`].
    #[error("mtu length must be >= {DATA_HEADER_LENGTH} and <= {MAX_UDP_PAYLOAD_LENGTH}: mtu length={0}")]
    MtuLengthOutOfRange(i64),
    /// MTU not a multiple of [`FRAME_ALIGNMENT`].
    #[error("mtu length must be a multiple of {FRAME_ALIGNMENT}: mtu length={0}")]
    MtuLengthNotAligned(i64),
    /// A frame that carries no payload cannot fragment a message.
    #[error("max payload length must be positive to fragment a message")]
    ZeroMaxPayloadLength,
    /// A message longer than the log allows.
    #[error("message length {length} exceeds max message length {max}")]
    MessageTooLong {
        /// The message length asked for.
        length: usize,
        /// The limit for this log.
        max: usize,
    },
    /// A file whose length does not match the layout its metadata describes.
    #[error("log file length {actual} does not match computed length {expected}")]
    LogLengthMismatch {
        /// `compute_log_length(term_length, page_size)`.
        expected: u64,
        /// The file's length.
        actual: u64,
    },
}

const fn is_power_of_two(value: i64) -> bool {
    value > 0 && value & (value - 1) == 0
}

/// Checks a term length: a power of two in [`TERM_MIN_LENGTH`]`..=`[`TERM_MAX_LENGTH`].
/// Takes `i64` so values parsed from URIs or files can be checked before narrowing.
pub fn check_term_length(term_length: i64) -> Result<(), LogBufferError> {
    if term_length < TERM_MIN_LENGTH as i64 {
        Err(LogBufferError::TermLengthTooSmall(term_length))
    } else if term_length > TERM_MAX_LENGTH as i64 {
        Err(LogBufferError::TermLengthTooLarge(term_length))
    } else if !is_power_of_two(term_length) {
        Err(LogBufferError::TermLengthNotPowerOfTwo(term_length))
    } else {
        Ok(())
    }
}

/// Checks a file page size: a power of two in [`PAGE_MIN_SIZE`]`..=`[`PAGE_MAX_SIZE`].
pub fn check_page_size(page_size: i64) -> Result<(), LogBufferError> {
    if page_size < PAGE_MIN_SIZE as i64 {
        Err(LogBufferError::PageSizeTooSmall(page_size))
    } else if page_size > PAGE_MAX_SIZE as i64 {
        Err(LogBufferError::PageSizeTooLarge(page_size))
    } else if !is_power_of_two(page_size) {
        Err(LogBufferError::PageSizeNotPowerOfTwo(page_size))
    } else {
        Ok(())
    }
}

/// Checks an MTU the way the driver does: `32..=65504` and a multiple of 32.
pub fn check_mtu_length(mtu_length: i64) -> Result<(), LogBufferError> {
    if mtu_length < DATA_HEADER_LENGTH as i64 || mtu_length > MAX_UDP_PAYLOAD_LENGTH as i64 {
        Err(LogBufferError::MtuLengthOutOfRange(mtu_length))
    } else if mtu_length & (FRAME_ALIGNMENT as i64 - 1) != 0 {
        Err(LogBufferError::MtuLengthNotAligned(mtu_length))
    } else {
        Ok(())
    }
}

/// Total length of a log file: three terms plus the metadata, rounded up to the page size
/// (`aeron_logbuffer_compute_log_length`). Meaningful only for values that pass [`check_term_length`] and
/// [`check_page_size`]; never panics.
pub const fn compute_log_length(term_length: i32, page_size: i32) -> u64 {
    let unaligned =
        PARTITION_COUNT as u64 * term_length as u32 as u64 + LOG_META_DATA_LENGTH as u64;
    let mask = (page_size as u32 as u64).wrapping_sub(1);
    unaligned.wrapping_add(mask) & !mask
}

/// Offset of the metadata section in a log file of `log_length` bytes (always the last 4096 bytes), or `None`
/// if the file is shorter than that.
pub const fn log_meta_data_offset(log_length: usize) -> Option<usize> {
    log_length.checked_sub(LOG_META_DATA_LENGTH)
}

/// Offset of term partition `partition_index` in the log file.
pub const fn term_buffer_offset(partition_index: usize, term_length: i32) -> usize {
    partition_index * term_length as usize
}

/// Packs a term id (high 32 bits) and term offset (low 32 bits) into a raw tail.
pub const fn pack_tail(term_id: i32, term_offset: i32) -> i64 {
    ((term_id as i64) << 32) | (term_offset as u32 as i64)
}

/// Term id held in a raw tail.
pub const fn term_id(raw_tail: i64) -> i32 {
    (raw_tail >> 32) as i32
}

/// Term offset held in a raw tail, clamped to the term length (concurrent publishers may push the raw value past
/// the end of the term).
pub const fn term_offset(raw_tail: i64, term_length: i32) -> i32 {
    let offset = raw_tail & 0xFFFF_FFFF;
    if offset < term_length as i64 {
        offset as i32
    } else {
        term_length
    }
}

/// Terms since the initial term: `term_id - initial_term_id`, wrapping like Aeron's `i32` arithmetic.
pub const fn compute_term_count(term_id: i32, initial_term_id: i32) -> i32 {
    term_id.wrapping_sub(initial_term_id)
}

/// Partition index of a term count. Term counts of a valid log are never negative; a negative one still maps
/// into `0..3` here (Aeron's C `%` would not).
pub const fn index_by_term_count(term_count: i32) -> usize {
    term_count.rem_euclid(PARTITION_COUNT as i32) as usize
}

/// Partition index of `active_term_id` in a log that began at `initial_term_id`.
pub const fn index_by_term(initial_term_id: i32, active_term_id: i32) -> usize {
    index_by_term_count(compute_term_count(active_term_id, initial_term_id))
}

/// Partition index holding `position`.
pub const fn index_by_position(position: i64, position_bits_to_shift: u32) -> usize {
    position
        .wrapping_shr(position_bits_to_shift)
        .rem_euclid(PARTITION_COUNT as i64) as usize
}

/// Partition after `index`.
pub const fn next_partition_index(index: usize) -> usize {
    (index + 1) % PARTITION_COUNT
}

/// `log2(term_length)`: the shift that turns term counts into positions. `term_length` must be a power of two.
pub const fn position_bits_to_shift(term_length: i32) -> u32 {
    term_length.trailing_zeros()
}

/// Stream position of `term_offset` in `active_term_id`.
pub const fn compute_position(
    active_term_id: i32,
    term_offset: i32,
    position_bits_to_shift: u32,
    initial_term_id: i32,
) -> i64 {
    let term_count = compute_term_count(active_term_id, initial_term_id) as i64;
    term_count
        .wrapping_shl(position_bits_to_shift)
        .wrapping_add(term_offset as i64)
}

/// Stream position at which `active_term_id` begins.
pub const fn compute_term_begin_position(
    active_term_id: i32,
    position_bits_to_shift: u32,
    initial_term_id: i32,
) -> i64 {
    compute_position(active_term_id, 0, position_bits_to_shift, initial_term_id)
}

/// Term id holding `position`, wrapping like Aeron's `i32` arithmetic.
pub const fn compute_term_id_from_position(
    position: i64,
    position_bits_to_shift: u32,
    initial_term_id: i32,
) -> i32 {
    (position.wrapping_shr(position_bits_to_shift) as i32).wrapping_add(initial_term_id)
}

/// Offset within its term of `position`.
pub const fn compute_term_offset_from_position(position: i64, position_bits_to_shift: u32) -> i32 {
    (position & 1i64.wrapping_shl(position_bits_to_shift).wrapping_sub(1)) as i32
}

/// First position a log can never reach: `term_length << 31`. Offers at or beyond it fail with
/// MAX_POSITION_EXCEEDED.
pub const fn compute_max_possible_position(term_length: i32) -> i64 {
    (term_length as i64) << 31
}

/// Longest message a log with this term length accepts: `min(term_length / 8, 16 MiB)`.
pub const fn compute_max_message_length(term_length: i32) -> usize {
    let eighth = term_length as usize / 8;
    if eighth < MAX_MESSAGE_LENGTH {
        eighth
    } else {
        MAX_MESSAGE_LENGTH
    }
}

/// Most payload one frame carries at this MTU: `mtu - 32` (0 for an MTU below the header length).
pub const fn compute_max_payload_length(mtu_length: i32) -> usize {
    let payload = mtu_length as i64 - DATA_HEADER_LENGTH as i64;
    if payload > 0 {
        payload as usize
    } else {
        0
    }
}

/// Bytes of term a fragmented message of `length` takes: `length / max_payload` full frames plus an aligned
/// frame for the remainder (`aeron_logbuffer_compute_fragmented_length`). For a zero-length message this is 0;
/// use [`compute_claim_length`] for the space an offer actually claims.
///
/// # Panics
/// If `max_payload_length` is 0.
pub const fn compute_fragmented_length(length: usize, max_payload_length: usize) -> usize {
    let full = length / max_payload_length;
    let remaining = length % max_payload_length;
    let last = if remaining > 0 {
        align(remaining + DATA_HEADER_LENGTH, FRAME_ALIGNMENT)
    } else {
        0
    };
    full * (max_payload_length + DATA_HEADER_LENGTH) + last
}

/// Frame length of a message reassembled from fragments: header plus the whole payload.
pub const fn compute_assembled_frame_length(length: usize) -> usize {
    DATA_HEADER_LENGTH + length
}

/// Bytes of term an offer of `length` claims: `align(length + 32, 32)` when it fits one frame, else
/// [`compute_fragmented_length`].
///
/// # Panics
/// If `max_payload_length` is 0 and `length` is not.
pub const fn compute_claim_length(length: usize, max_payload_length: usize) -> usize {
    if length <= max_payload_length {
        align(length + DATA_HEADER_LENGTH, FRAME_ALIGNMENT)
    } else {
        compute_fragmented_length(length, max_payload_length)
    }
}

/// How a message of a given length is cut into frames at a given max payload length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentPlan {
    length: usize,
    max_payload_length: usize,
}

/// One frame of a (possibly fragmented) message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Offset of the frame from the start of the claimed block.
    pub frame_offset: usize,
    /// Offset of this frame's payload within the message.
    pub payload_offset: usize,
    /// Payload bytes in this frame.
    pub payload_length: usize,
    /// The frame's `frame_length` field: header plus payload, unaligned.
    pub frame_length: usize,
    /// BEGIN (0x80) on the first frame, END (0x40) on the last, both on a single frame.
    pub flags: u8,
}

impl Fragment {
    /// Space the frame takes in the term.
    pub const fn aligned_length(&self) -> usize {
        align(self.frame_length, FRAME_ALIGNMENT)
    }
}

impl FragmentPlan {
    /// Plans a message of `length` bytes with frames of at most `max_payload_length` payload bytes.
    pub const fn new(length: usize, max_payload_length: usize) -> Result<Self, LogBufferError> {
        if max_payload_length == 0 {
            Err(LogBufferError::ZeroMaxPayloadLength)
        } else {
            Ok(Self {
                length,
                max_payload_length,
            })
        }
    }

    /// Plans a message for a log, refusing messages longer than [`compute_max_message_length`].
    pub fn for_log(
        length: usize,
        mtu_length: i32,
        term_length: i32,
    ) -> Result<Self, LogBufferError> {
        let max = compute_max_message_length(term_length);
        if length > max {
            return Err(LogBufferError::MessageTooLong { length, max });
        }
        Self::new(length, compute_max_payload_length(mtu_length))
    }

    /// Message length.
    pub const fn length(&self) -> usize {
        self.length
    }

    /// Max payload per frame.
    pub const fn max_payload_length(&self) -> usize {
        self.max_payload_length
    }

    /// Whether the message needs more than one frame.
    pub const fn is_fragmented(&self) -> bool {
        self.length > self.max_payload_length
    }

    /// Number of frames (at least 1, even for an empty message).
    pub const fn frame_count(&self) -> usize {
        if self.length == 0 {
            1
        } else {
            self.length.div_ceil(self.max_payload_length)
        }
    }

    /// Payload bytes in the last frame.
    pub const fn last_payload_length(&self) -> usize {
        self.length - (self.frame_count() - 1) * self.max_payload_length
    }

    /// `frame_length` of the last frame (unaligned).
    pub const fn last_frame_length(&self) -> usize {
        self.last_payload_length() + DATA_HEADER_LENGTH
    }

    /// Bytes of term the whole message claims.
    pub const fn claim_length(&self) -> usize {
        compute_claim_length(self.length, self.max_payload_length)
    }

    /// The frames in order.
    pub fn fragments(&self) -> impl Iterator<Item = Fragment> {
        let plan = *self;
        let count = plan.frame_count();
        (0..count).map(move |i| {
            let payload_offset = i * plan.max_payload_length;
            let payload_length = if i + 1 == count {
                plan.last_payload_length()
            } else {
                plan.max_payload_length
            };
            let mut flags = 0;
            if i == 0 {
                flags |= BEGIN_FRAG_FLAG;
            }
            if i + 1 == count {
                flags |= END_FRAG_FLAG;
            }
            Fragment {
                frame_offset: i * (plan.max_payload_length + DATA_HEADER_LENGTH),
                payload_offset,
                payload_length,
                frame_length: payload_length + DATA_HEADER_LENGTH,
                flags,
            }
        })
    }
}

/// A PAD frame filling a term from `term_offset` to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaddingFrame {
    /// Where the PAD frame starts.
    pub term_offset: i32,
    /// Its `frame_length`: `term_length - term_offset`.
    pub frame_length: i32,
}

/// Outcome of claiming `aligned_length` bytes at a term offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermClaim {
    /// The claim fits; the term tail moves to `resulting_offset`.
    Fits {
        /// Term offset after the claim.
        resulting_offset: i32,
    },
    /// The claim runs past the term end: pad the rest of the term (if any is left) and rotate.
    EndOfTerm {
        /// PAD frame to write, or `None` when the offset was already at or past the term end.
        padding: Option<PaddingFrame>,
    },
}

/// Decides whether `aligned_length` bytes fit at `term_offset` (the raw, unclamped low 32 bits of the tail) in
/// a term of `term_length`, and what padding the end-of-term case needs.
pub const fn claim_in_term(term_offset: i64, aligned_length: i64, term_length: i32) -> TermClaim {
    let resulting = term_offset.saturating_add(aligned_length);
    if resulting <= term_length as i64 {
        TermClaim::Fits {
            resulting_offset: resulting as i32,
        }
    } else if term_offset < term_length as i64 {
        TermClaim::EndOfTerm {
            padding: Some(PaddingFrame {
                term_offset: term_offset as i32,
                frame_length: term_length.wrapping_sub(term_offset as i32),
            }),
        }
    } else {
        TermClaim::EndOfTerm { padding: None }
    }
}

/// Tail counters and active term count the driver writes into a new publication log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitialTails {
    /// Raw tail of each partition.
    pub term_tail_counters: [i64; PARTITION_COUNT],
    /// Active term count.
    pub active_term_count: i32,
}

impl InitialTails {
    /// Tails for a log starting at the beginning of `initial_term_id`: partition 0 holds the initial term, the
    /// others hold the term ids three behind the ones they will next take.
    pub const fn new(initial_term_id: i32) -> Self {
        let mut tails = [0i64; PARTITION_COUNT];
        tails[0] = pack_tail(initial_term_id, 0);
        let mut i = 1;
        while i < PARTITION_COUNT {
            let expected = initial_term_id
                .wrapping_add(i as i32)
                .wrapping_sub(PARTITION_COUNT as i32);
            tails[i] = pack_tail(expected, 0);
            i += 1;
        }
        Self {
            term_tail_counters: tails,
            active_term_count: 0,
        }
    }

    /// Tails for a log starting at `term_offset` in `term_id` (the `init-term-id`/`term-id`/`term-offset`
    /// channel parameters).
    pub const fn with_position(initial_term_id: i32, term_id: i32, term_offset: i32) -> Self {
        let term_count = compute_term_count(term_id, initial_term_id);
        let mut index = index_by_term_count(term_count);
        let mut tails = [0i64; PARTITION_COUNT];
        tails[index] = pack_tail(term_id, term_offset);
        let mut i = 1;
        while i < PARTITION_COUNT {
            let expected = term_id
                .wrapping_add(i as i32)
                .wrapping_sub(PARTITION_COUNT as i32);
            index = next_partition_index(index);
            tails[index] = pack_tail(expected, 0);
            i += 1;
        }
        Self {
            term_tail_counters: tails,
            active_term_count: term_count,
        }
    }
}

/// The default DATA frame header the driver stores in the metadata: frame length 0, version 0, flags
/// BEGIN|END, type DATA, term offset 0, the session and stream, `term_id`, reserved value 0.
pub fn default_frame_header(
    session_id: i32,
    stream_id: i32,
    term_id: i32,
) -> [u8; DATA_HEADER_LENGTH] {
    let mut header = [0u8; DATA_HEADER_LENGTH];
    le::put_i32(&mut header, HDR_FRAME_LENGTH_OFFSET, 0);
    le::put_u8(&mut header, HDR_VERSION_OFFSET, 0);
    le::put_u8(
        &mut header,
        HDR_FLAGS_OFFSET,
        BEGIN_FRAG_FLAG | END_FRAG_FLAG,
    );
    le::put_u16(&mut header, HDR_TYPE_OFFSET, HDR_TYPE_DATA);
    le::put_i32(&mut header, HDR_TERM_OFFSET_OFFSET, 0);
    le::put_i32(&mut header, HDR_SESSION_ID_OFFSET, session_id);
    le::put_i32(&mut header, HDR_STREAM_ID_OFFSET, stream_id);
    le::put_i32(&mut header, HDR_TERM_ID_OFFSET, term_id);
    le::put_i64(&mut header, HDR_RESERVED_VALUE_OFFSET, 0);
    header
}

/// The complete header of a PAD frame as it ends up in a term: the default header with type PAD, the given term
/// offset and term id, and `frame_length`.
pub fn padding_frame_header(
    default_header: &[u8; DATA_HEADER_LENGTH],
    term_id: i32,
    padding: PaddingFrame,
) -> [u8; DATA_HEADER_LENGTH] {
    let mut header = *default_header;
    le::put_i32(&mut header, HDR_FRAME_LENGTH_OFFSET, padding.frame_length);
    le::put_u16(&mut header, HDR_TYPE_OFFSET, HDR_TYPE_PAD);
    le::put_i32(&mut header, HDR_TERM_OFFSET_OFFSET, padding.term_offset);
    le::put_i32(&mut header, HDR_TERM_ID_OFFSET, term_id);
    header
}

/// An owned copy of a log buffer's 4096-byte metadata section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBufferMetadata {
    /// Raw tail (`term_id << 32 | term_offset`) of each partition.
    pub term_tail_counters: [i64; PARTITION_COUNT],
    /// Terms since the initial term; the active partition is `active_term_count % 3`.
    pub active_term_count: i32,
    /// Final position of the stream, `i64::MAX` while it is open.
    pub end_of_stream_position: i64,
    /// Whether the publication has connected subscribers or receivers.
    pub is_connected: bool,
    /// Live transports feeding an image (MDC).
    pub active_transport_count: i32,
    /// Registration id of the publication, or correlation id of the image.
    pub correlation_id: i64,
    /// Term id at position 0.
    pub initial_term_id: i32,
    /// Length of the default frame header (32).
    pub default_frame_header_length: i32,
    /// MTU of the stream.
    pub mtu_length: i32,
    /// Term length.
    pub term_length: i32,
    /// File page size.
    pub page_size: i32,
    /// Publication window (`pub-wnd` or half a term); 0 for images.
    pub publication_window_length: i32,
    /// Initial receiver window; 0 for publications.
    pub receiver_window_length: i32,
    /// Channel `so-sndbuf` (0 if unset).
    pub socket_sndbuf_length: i32,
    /// OS default SO_SNDBUF.
    pub os_default_socket_sndbuf_length: i32,
    /// OS maximum SO_SNDBUF.
    pub os_max_socket_sndbuf_length: i32,
    /// Channel `so-rcvbuf` (0 if unset).
    pub socket_rcvbuf_length: i32,
    /// OS default SO_RCVBUF.
    pub os_default_socket_rcvbuf_length: i32,
    /// OS maximum SO_RCVBUF.
    pub os_max_socket_rcvbuf_length: i32,
    /// `max-resend` from the channel (0 if not given).
    pub max_resend: i32,
    /// The reserved default frame header area; the first `default_frame_header_length` bytes are the header.
    pub default_frame_header: [u8; LOG_DEFAULT_FRAME_HEADER_MAX_LENGTH],
    /// Publication `tags=` entity tag.
    pub entity_tag: i64,
    /// Response correlation id.
    pub response_correlation_id: i64,
    /// Linger timeout in ns.
    pub linger_timeout_ns: i64,
    /// Untethered window limit timeout in ns.
    pub untethered_window_limit_timeout_ns: i64,
    /// Untethered resting timeout in ns.
    pub untethered_resting_timeout_ns: i64,
    /// Channel has group semantics (multicast or MDC).
    pub group: bool,
    /// `control-mode=response`.
    pub is_response: bool,
    /// Image may rejoin.
    pub rejoin: bool,
    /// Image is reliable (NAKs rather than gap fills).
    pub reliable: bool,
    /// Log file is sparse.
    pub sparse: bool,
    /// Publication signals end of stream.
    pub signal_eos: bool,
    /// Spies count as a connection.
    pub spies_simulate_connection: bool,
    /// Image subscriptions are tethered.
    pub tether: bool,
    /// The publication was revoked.
    pub is_publication_revoked: bool,
    /// One of the `LOG_BUFFER_TYPE_*` values.
    pub log_type: u8,
    /// Untethered linger timeout in ns.
    pub untethered_linger_timeout_ns: i64,
}

impl Default for LogBufferMetadata {
    fn default() -> Self {
        Self {
            term_tail_counters: [0; PARTITION_COUNT],
            active_term_count: 0,
            end_of_stream_position: 0,
            is_connected: false,
            active_transport_count: 0,
            correlation_id: 0,
            initial_term_id: 0,
            default_frame_header_length: 0,
            mtu_length: 0,
            term_length: 0,
            page_size: 0,
            publication_window_length: 0,
            receiver_window_length: 0,
            socket_sndbuf_length: 0,
            os_default_socket_sndbuf_length: 0,
            os_max_socket_sndbuf_length: 0,
            socket_rcvbuf_length: 0,
            os_default_socket_rcvbuf_length: 0,
            os_max_socket_rcvbuf_length: 0,
            max_resend: 0,
            default_frame_header: [0; LOG_DEFAULT_FRAME_HEADER_MAX_LENGTH],
            entity_tag: 0,
            response_correlation_id: 0,
            linger_timeout_ns: 0,
            untethered_window_limit_timeout_ns: 0,
            untethered_resting_timeout_ns: 0,
            group: false,
            is_response: false,
            rejoin: false,
            reliable: false,
            sparse: false,
            signal_eos: false,
            spies_simulate_connection: false,
            tether: false,
            is_publication_revoked: false,
            log_type: LOG_BUFFER_TYPE_CONCURRENT_PUBLICATION,
            untethered_linger_timeout_ns: 0,
        }
    }
}

const WHAT: &str = "log buffer metadata";

impl LogBufferMetadata {
    /// Reads the metadata section (the first [`LOG_META_DATA_LENGTH`] bytes of `bytes`). Values are taken as
    /// they are; call [`LogBufferMetadata::validate`] to check the geometry. Flag bytes are true when non-zero.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        le::require(WHAT, bytes, LOG_META_DATA_LENGTH)?;
        let flag = |offset| le::get_u8(bytes, offset) != 0;
        let mut term_tail_counters = [0i64; PARTITION_COUNT];
        for (i, tail) in term_tail_counters.iter_mut().enumerate() {
            *tail = le::get_i64(bytes, TERM_TAIL_COUNTERS_OFFSET + i * 8);
        }
        let mut default_frame_header = [0u8; LOG_DEFAULT_FRAME_HEADER_MAX_LENGTH];
        default_frame_header.copy_from_slice(
            &bytes[LOG_DEFAULT_FRAME_HEADER_OFFSET
                ..LOG_DEFAULT_FRAME_HEADER_OFFSET + LOG_DEFAULT_FRAME_HEADER_MAX_LENGTH],
        );
        Ok(Self {
            term_tail_counters,
            active_term_count: le::get_i32(bytes, LOG_ACTIVE_TERM_COUNT_OFFSET),
            end_of_stream_position: le::get_i64(bytes, LOG_END_OF_STREAM_POSITION_OFFSET),
            is_connected: le::get_i32(bytes, LOG_IS_CONNECTED_OFFSET) != 0,
            active_transport_count: le::get_i32(bytes, LOG_ACTIVE_TRANSPORT_COUNT_OFFSET),
            correlation_id: le::get_i64(bytes, LOG_CORRELATION_ID_OFFSET),
            initial_term_id: le::get_i32(bytes, LOG_INITIAL_TERM_ID_OFFSET),
            default_frame_header_length: le::get_i32(bytes, LOG_DEFAULT_FRAME_HEADER_LENGTH_OFFSET),
            mtu_length: le::get_i32(bytes, LOG_MTU_LENGTH_OFFSET),
            term_length: le::get_i32(bytes, LOG_TERM_LENGTH_OFFSET),
            page_size: le::get_i32(bytes, LOG_PAGE_SIZE_OFFSET),
            publication_window_length: le::get_i32(bytes, LOG_PUBLICATION_WINDOW_LENGTH_OFFSET),
            receiver_window_length: le::get_i32(bytes, LOG_RECEIVER_WINDOW_LENGTH_OFFSET),
            socket_sndbuf_length: le::get_i32(bytes, LOG_SOCKET_SNDBUF_LENGTH_OFFSET),
            os_default_socket_sndbuf_length: le::get_i32(
                bytes,
                LOG_OS_DEFAULT_SOCKET_SNDBUF_LENGTH_OFFSET,
            ),
            os_max_socket_sndbuf_length: le::get_i32(bytes, LOG_OS_MAX_SOCKET_SNDBUF_LENGTH_OFFSET),
            socket_rcvbuf_length: le::get_i32(bytes, LOG_SOCKET_RCVBUF_LENGTH_OFFSET),
            os_default_socket_rcvbuf_length: le::get_i32(
                bytes,
                LOG_OS_DEFAULT_SOCKET_RCVBUF_LENGTH_OFFSET,
            ),
            os_max_socket_rcvbuf_length: le::get_i32(bytes, LOG_OS_MAX_SOCKET_RCVBUF_LENGTH_OFFSET),
            max_resend: le::get_i32(bytes, LOG_MAX_RESEND_OFFSET),
            default_frame_header,
            entity_tag: le::get_i64(bytes, LOG_ENTITY_TAG_OFFSET),
            response_correlation_id: le::get_i64(bytes, LOG_RESPONSE_CORRELATION_ID_OFFSET),
            linger_timeout_ns: le::get_i64(bytes, LOG_LINGER_TIMEOUT_NS_OFFSET),
            untethered_window_limit_timeout_ns: le::get_i64(
                bytes,
                LOG_UNTETHERED_WINDOW_LIMIT_TIMEOUT_NS_OFFSET,
            ),
            untethered_resting_timeout_ns: le::get_i64(
                bytes,
                LOG_UNTETHERED_RESTING_TIMEOUT_NS_OFFSET,
            ),
            group: flag(LOG_GROUP_OFFSET),
            is_response: flag(LOG_IS_RESPONSE_OFFSET),
            rejoin: flag(LOG_REJOIN_OFFSET),
            reliable: flag(LOG_RELIABLE_OFFSET),
            sparse: flag(LOG_SPARSE_OFFSET),
            signal_eos: flag(LOG_SIGNAL_EOS_OFFSET),
            spies_simulate_connection: flag(LOG_SPIES_SIMULATE_CONNECTION_OFFSET),
            tether: flag(LOG_TETHER_OFFSET),
            is_publication_revoked: flag(LOG_IS_PUBLICATION_REVOKED_OFFSET),
            log_type: le::get_u8(bytes, LOG_TYPE_OFFSET),
            untethered_linger_timeout_ns: le::get_i64(
                bytes,
                LOG_UNTETHERED_LINGER_TIMEOUT_NS_OFFSET,
            ),
        })
    }

    /// Reads the metadata from a whole log file's bytes (its last [`LOG_META_DATA_LENGTH`] bytes).
    pub fn decode_from_log(log: &[u8]) -> Result<Self, DecodeError> {
        let offset = log_meta_data_offset(log.len()).ok_or(DecodeError::Truncated {
            what: WHAT,
            needed: LOG_META_DATA_LENGTH,
            available: log.len(),
        })?;
        Self::decode(&log[offset..])
    }

    /// Writes the full 4096-byte section (unused bytes zeroed) into the start of `buffer` and returns
    /// [`LOG_META_DATA_LENGTH`].
    ///
    /// # Panics
    /// If `buffer` is shorter than [`LOG_META_DATA_LENGTH`].
    pub fn encode(&self, buffer: &mut [u8]) -> usize {
        let bytes = &mut buffer[..LOG_META_DATA_LENGTH];
        bytes.fill(0);
        for (i, tail) in self.term_tail_counters.iter().enumerate() {
            le::put_i64(bytes, TERM_TAIL_COUNTERS_OFFSET + i * 8, *tail);
        }
        le::put_i32(bytes, LOG_ACTIVE_TERM_COUNT_OFFSET, self.active_term_count);
        le::put_i64(
            bytes,
            LOG_END_OF_STREAM_POSITION_OFFSET,
            self.end_of_stream_position,
        );
        le::put_i32(bytes, LOG_IS_CONNECTED_OFFSET, self.is_connected.into());
        le::put_i32(
            bytes,
            LOG_ACTIVE_TRANSPORT_COUNT_OFFSET,
            self.active_transport_count,
        );
        le::put_i64(bytes, LOG_CORRELATION_ID_OFFSET, self.correlation_id);
        le::put_i32(bytes, LOG_INITIAL_TERM_ID_OFFSET, self.initial_term_id);
        le::put_i32(
            bytes,
            LOG_DEFAULT_FRAME_HEADER_LENGTH_OFFSET,
            self.default_frame_header_length,
        );
        le::put_i32(bytes, LOG_MTU_LENGTH_OFFSET, self.mtu_length);
        le::put_i32(bytes, LOG_TERM_LENGTH_OFFSET, self.term_length);
        le::put_i32(bytes, LOG_PAGE_SIZE_OFFSET, self.page_size);
        le::put_i32(
            bytes,
            LOG_PUBLICATION_WINDOW_LENGTH_OFFSET,
            self.publication_window_length,
        );
        le::put_i32(
            bytes,
            LOG_RECEIVER_WINDOW_LENGTH_OFFSET,
            self.receiver_window_length,
        );
        le::put_i32(
            bytes,
            LOG_SOCKET_SNDBUF_LENGTH_OFFSET,
            self.socket_sndbuf_length,
        );
        le::put_i32(
            bytes,
            LOG_OS_DEFAULT_SOCKET_SNDBUF_LENGTH_OFFSET,
            self.os_default_socket_sndbuf_length,
        );
        le::put_i32(
            bytes,
            LOG_OS_MAX_SOCKET_SNDBUF_LENGTH_OFFSET,
            self.os_max_socket_sndbuf_length,
        );
        le::put_i32(
            bytes,
            LOG_SOCKET_RCVBUF_LENGTH_OFFSET,
            self.socket_rcvbuf_length,
        );
        le::put_i32(
            bytes,
            LOG_OS_DEFAULT_SOCKET_RCVBUF_LENGTH_OFFSET,
            self.os_default_socket_rcvbuf_length,
        );
        le::put_i32(
            bytes,
            LOG_OS_MAX_SOCKET_RCVBUF_LENGTH_OFFSET,
            self.os_max_socket_rcvbuf_length,
        );
        le::put_i32(bytes, LOG_MAX_RESEND_OFFSET, self.max_resend);
        bytes[LOG_DEFAULT_FRAME_HEADER_OFFSET
            ..LOG_DEFAULT_FRAME_HEADER_OFFSET + LOG_DEFAULT_FRAME_HEADER_MAX_LENGTH]
            .copy_from_slice(&self.default_frame_header);
        le::put_i64(bytes, LOG_ENTITY_TAG_OFFSET, self.entity_tag);
        le::put_i64(
            bytes,
            LOG_RESPONSE_CORRELATION_ID_OFFSET,
            self.response_correlation_id,
        );
        le::put_i64(bytes, LOG_LINGER_TIMEOUT_NS_OFFSET, self.linger_timeout_ns);
        le::put_i64(
            bytes,
            LOG_UNTETHERED_WINDOW_LIMIT_TIMEOUT_NS_OFFSET,
            self.untethered_window_limit_timeout_ns,
        );
        le::put_i64(
            bytes,
            LOG_UNTETHERED_RESTING_TIMEOUT_NS_OFFSET,
            self.untethered_resting_timeout_ns,
        );
        let flags = [
            (LOG_GROUP_OFFSET, self.group),
            (LOG_IS_RESPONSE_OFFSET, self.is_response),
            (LOG_REJOIN_OFFSET, self.rejoin),
            (LOG_RELIABLE_OFFSET, self.reliable),
            (LOG_SPARSE_OFFSET, self.sparse),
            (LOG_SIGNAL_EOS_OFFSET, self.signal_eos),
            (
                LOG_SPIES_SIMULATE_CONNECTION_OFFSET,
                self.spies_simulate_connection,
            ),
            (LOG_TETHER_OFFSET, self.tether),
            (
                LOG_IS_PUBLICATION_REVOKED_OFFSET,
                self.is_publication_revoked,
            ),
        ];
        for (offset, value) in flags {
            le::put_u8(bytes, offset, value.into());
        }
        le::put_u8(bytes, LOG_TYPE_OFFSET, self.log_type);
        le::put_i64(
            bytes,
            LOG_UNTETHERED_LINGER_TIMEOUT_NS_OFFSET,
            self.untethered_linger_timeout_ns,
        );
        LOG_META_DATA_LENGTH
    }

    /// The encoded 4096-byte section.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut bytes = vec![0u8; LOG_META_DATA_LENGTH];
        self.encode(&mut bytes);
        bytes
    }

    /// Stores [`default_frame_header`] for this stream and sets the header length to 32
    /// (`aeron_logbuffer_fill_default_header`).
    pub fn fill_default_header(&mut self, session_id: i32, stream_id: i32, initial_term_id: i32) {
        self.default_frame_header = [0; LOG_DEFAULT_FRAME_HEADER_MAX_LENGTH];
        self.default_frame_header[..DATA_HEADER_LENGTH].copy_from_slice(&default_frame_header(
            session_id,
            stream_id,
            initial_term_id,
        ));
        self.default_frame_header_length = DATA_HEADER_LENGTH as i32;
    }

    /// The first 32 bytes of the default frame header area.
    pub fn default_header(&self) -> [u8; DATA_HEADER_LENGTH] {
        let mut header = [0u8; DATA_HEADER_LENGTH];
        header.copy_from_slice(&self.default_frame_header[..DATA_HEADER_LENGTH]);
        header
    }

    /// Session id in the default frame header.
    pub fn session_id(&self) -> i32 {
        le::get_i32(&self.default_frame_header, HDR_SESSION_ID_OFFSET)
    }

    /// Stream id in the default frame header.
    pub fn stream_id(&self) -> i32 {
        le::get_i32(&self.default_frame_header, HDR_STREAM_ID_OFFSET)
    }

    /// Raw tail of the active partition.
    pub fn active_raw_tail(&self) -> i64 {
        self.term_tail_counters[index_by_term_count(self.active_term_count)]
    }

    /// Stores the initial tails and active term count.
    pub fn apply_initial_tails(&mut self, tails: &InitialTails) {
        self.term_tail_counters = tails.term_tail_counters;
        self.active_term_count = tails.active_term_count;
    }

    /// Checks term length, page size and MTU, and that a file of `log_length` bytes has the layout they describe.
    pub fn validate(&self, log_length: u64) -> Result<(), LogBufferError> {
        check_term_length(self.term_length.into())?;
        check_page_size(self.page_size.into())?;
        check_mtu_length(self.mtu_length.into())?;
        let expected = compute_log_length(self.term_length, self.page_size);
        if expected != log_length {
            return Err(LogBufferError::LogLengthMismatch {
                expected,
                actual: log_length,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn validation_follows_aeron_bounds() {
        assert_eq!(check_term_length(65536), Ok(()));
        assert_eq!(check_term_length(1 << 30), Ok(()));
        assert_eq!(
            check_term_length(32768),
            Err(LogBufferError::TermLengthTooSmall(32768))
        );
        assert_eq!(
            check_term_length(1 << 31),
            Err(LogBufferError::TermLengthTooLarge(1 << 31))
        );
        assert_eq!(
            check_term_length(65536 + 4096),
            Err(LogBufferError::TermLengthNotPowerOfTwo(69632))
        );
        assert_eq!(
            check_term_length(-1),
            Err(LogBufferError::TermLengthTooSmall(-1))
        );
        assert_eq!(check_page_size(4096), Ok(()));
        assert_eq!(check_page_size(2 << 20), Ok(()));
        assert_eq!(
            check_page_size(2048),
            Err(LogBufferError::PageSizeTooSmall(2048))
        );
        assert_eq!(
            check_page_size(6144),
            Err(LogBufferError::PageSizeNotPowerOfTwo(6144))
        );
        assert_eq!(
            check_page_size(1 << 31),
            Err(LogBufferError::PageSizeTooLarge(1 << 31))
        );
        assert_eq!(check_mtu_length(1408), Ok(()));
        assert_eq!(check_mtu_length(32), Ok(()));
        assert_eq!(check_mtu_length(65504), Ok(()));
        assert_eq!(
            check_mtu_length(65536),
            Err(LogBufferError::MtuLengthOutOfRange(65536))
        );
        assert_eq!(
            check_mtu_length(0),
            Err(LogBufferError::MtuLengthOutOfRange(0))
        );
        assert_eq!(
            check_mtu_length(1400),
            Err(LogBufferError::MtuLengthNotAligned(1400))
        );
    }

    #[test]
    fn log_length_is_page_aligned() {
        assert_eq!(compute_log_length(65536, 4096), 200_704);
        assert_eq!(compute_log_length(65536, 4096), MIN_LOG_LENGTH);
        assert_eq!(compute_log_length(16 << 20, 4096), 3 * (16 << 20) + 4096);
        assert_eq!(compute_log_length(65536, 2 << 20), 2 << 20);
        assert_eq!(
            compute_log_length(TERM_MAX_LENGTH, PAGE_MAX_SIZE),
            4 * (1 << 30)
        );
        assert_eq!(log_meta_data_offset(200_704), Some(196_608));
        assert_eq!(log_meta_data_offset(100), None);
        assert_eq!(term_buffer_offset(2, 65536), 131_072);
    }

    #[test]
    fn raw_tail_packs_term_id_high_and_offset_low() {
        let raw = pack_tail(1_027_292_340, 192);
        assert_eq!(raw, 0x3D3B_3CB4_0000_00C0);
        assert_eq!(term_id(raw), 1_027_292_340);
        assert_eq!(term_offset(raw, 65536), 192);
        let negative = pack_tail(-5, 64);
        assert_eq!(term_id(negative), -5);
        assert_eq!(term_offset(negative, 65536), 64);
        // A concurrent publisher may have pushed the offset past the term end.
        let overrun = pack_tail(7, 65536 + 4000);
        assert_eq!(term_offset(overrun, 65536), 65536);
        assert_eq!(term_id(overrun), 7);
        let huge = pack_tail(7, -32);
        assert_eq!(term_offset(huge, 65536), 65536);
        assert_eq!(term_id(huge), 7);
    }

    #[test]
    fn term_and_position_arithmetic() {
        let shift = position_bits_to_shift(65536);
        assert_eq!(shift, 16);
        assert_eq!(position_bits_to_shift(TERM_MAX_LENGTH), 30);
        let initial = i32::MAX - 1;
        assert_eq!(compute_term_count(i32::MIN, initial), 2);
        assert_eq!(index_by_term(initial, i32::MIN), 2);
        assert_eq!(index_by_term(initial, i32::MIN + 1), 0);
        assert_eq!(
            compute_position(i32::MIN, 96, shift, initial),
            2 * 65536 + 96
        );
        assert_eq!(
            compute_term_begin_position(i32::MIN, shift, initial),
            131_072
        );
        assert_eq!(
            compute_term_id_from_position(131_072 + 96, shift, initial),
            i32::MIN
        );
        assert_eq!(compute_term_offset_from_position(131_072 + 96, shift), 96);
        assert_eq!(index_by_position(131_072 + 96, shift), 2);
        assert_eq!(index_by_position(3 * 65536, shift), 0);
        assert_eq!(next_partition_index(2), 0);
        assert_eq!(index_by_term_count(-1), 2);
        assert_eq!(compute_max_possible_position(65536), 65536i64 << 31);
        assert_eq!(compute_max_possible_position(TERM_MAX_LENGTH), 1i64 << 61);
    }

    #[test]
    fn message_and_payload_limits() {
        assert_eq!(compute_max_message_length(65536), 8192);
        assert_eq!(compute_max_message_length(16 << 20), 2 << 20);
        assert_eq!(
            compute_max_message_length(TERM_MAX_LENGTH),
            MAX_MESSAGE_LENGTH
        );
        assert_eq!(compute_max_payload_length(1408), 1376);
        assert_eq!(compute_max_payload_length(32), 0);
        assert_eq!(compute_max_payload_length(0), 0);
    }

    #[test]
    fn fragmented_length_matches_aeron() {
        assert_eq!(compute_fragmented_length(0, 1376), 0);
        assert_eq!(compute_fragmented_length(1, 1376), 64);
        assert_eq!(compute_fragmented_length(1376, 1376), 1408);
        assert_eq!(compute_fragmented_length(1377, 1376), 1408 + 64);
        assert_eq!(compute_fragmented_length(3 * 1376, 1376), 3 * 1408);
        assert_eq!(compute_claim_length(0, 1376), 32);
        assert_eq!(compute_claim_length(14, 1376), 64);
        assert_eq!(compute_claim_length(1376, 1376), 1408);
        assert_eq!(compute_assembled_frame_length(5000), 5032);
    }

    #[test]
    fn fragment_plan_cuts_message_into_frames() {
        let plan = FragmentPlan::new(3000, 1376).unwrap();
        assert!(plan.is_fragmented());
        assert_eq!(plan.frame_count(), 3);
        assert_eq!(plan.last_payload_length(), 248);
        assert_eq!(plan.last_frame_length(), 280);
        assert_eq!(plan.claim_length(), 2 * 1408 + 288);
        let frames: Vec<_> = plan.fragments().collect();
        assert_eq!(frames[0].flags, 0x80);
        assert_eq!(frames[1].flags, 0x00);
        assert_eq!(frames[2].flags, 0x40);
        assert_eq!(frames[1].frame_offset, 1408);
        assert_eq!(frames[2].frame_offset, 2816);
        assert_eq!(frames[2].payload_offset, 2752);

        let single = FragmentPlan::new(14, 1376).unwrap();
        let frames: Vec<_> = single.fragments().collect();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].flags, 0xC0);
        assert_eq!(frames[0].frame_length, 46);
        assert_eq!(frames[0].aligned_length(), 64);

        let empty = FragmentPlan::new(0, 1376).unwrap();
        assert_eq!(empty.frame_count(), 1);
        assert_eq!(empty.claim_length(), 32);

        assert_eq!(
            FragmentPlan::new(10, 0),
            Err(LogBufferError::ZeroMaxPayloadLength)
        );
        assert_eq!(
            FragmentPlan::for_log(8193, 1408, 65536),
            Err(LogBufferError::MessageTooLong {
                length: 8193,
                max: 8192
            })
        );
        assert!(FragmentPlan::for_log(8192, 1408, 65536).is_ok());
    }

    #[test]
    fn claims_at_term_end_pad_the_rest() {
        assert_eq!(
            claim_in_term(65472, 64, 65536),
            TermClaim::Fits {
                resulting_offset: 65536
            }
        );
        assert_eq!(
            claim_in_term(65472, 96, 65536),
            TermClaim::EndOfTerm {
                padding: Some(PaddingFrame {
                    term_offset: 65472,
                    frame_length: 64
                })
            }
        );
        assert_eq!(
            claim_in_term(65536, 32, 65536),
            TermClaim::EndOfTerm { padding: None }
        );
        assert_eq!(
            claim_in_term(70000, 32, 65536),
            TermClaim::EndOfTerm { padding: None }
        );
    }

    #[test]
    fn initial_tails_match_driver() {
        let tails = InitialTails::new(1_027_292_340);
        assert_eq!(
            tails.term_tail_counters,
            [
                pack_tail(1_027_292_340, 0),
                pack_tail(1_027_292_338, 0),
                pack_tail(1_027_292_339, 0)
            ]
        );
        assert_eq!(tails.active_term_count, 0);

        let wrapped = InitialTails::new(i32::MIN);
        assert_eq!(term_id(wrapped.term_tail_counters[1]), i32::MAX - 1);
        assert_eq!(term_id(wrapped.term_tail_counters[2]), i32::MAX);

        let positioned = InitialTails::with_position(100, 104, 4096);
        assert_eq!(positioned.active_term_count, 4);
        assert_eq!(positioned.term_tail_counters[1], pack_tail(104, 4096));
        assert_eq!(positioned.term_tail_counters[2], pack_tail(102, 0));
        assert_eq!(positioned.term_tail_counters[0], pack_tail(103, 0));

        let same = InitialTails::with_position(7, 7, 0);
        assert_eq!(same, InitialTails::new(7));
    }

    #[test]
    fn default_and_padding_headers() {
        let header = default_frame_header(784_920_550, 1001, 1_027_292_340);
        let expected: [u8; 32] = [
            0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe6, 0xef,
            0xc8, 0x2e, 0xe9, 0x03, 0x00, 0x00, 0xb4, 0x3c, 0x3b, 0x3d, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(header, expected);
        let pad = padding_frame_header(
            &header,
            1_027_292_341,
            PaddingFrame {
                term_offset: 65472,
                frame_length: 64,
            },
        );
        assert_eq!(le::get_i32(&pad, 0), 64);
        assert_eq!(le::get_u8(&pad, 5), 0xC0);
        assert_eq!(le::get_u16(&pad, 6), 0);
        assert_eq!(le::get_i32(&pad, 8), 65472);
        assert_eq!(le::get_i32(&pad, 12), 784_920_550);
        assert_eq!(le::get_i32(&pad, 20), 1_027_292_341);
    }

    #[test]
    fn metadata_round_trips_and_rejects_short_input() {
        let mut meta = LogBufferMetadata {
            end_of_stream_position: i64::MAX,
            is_connected: true,
            correlation_id: 42,
            initial_term_id: -7,
            mtu_length: 1408,
            term_length: 65536,
            page_size: 4096,
            publication_window_length: 32768,
            entity_tag: -1,
            response_correlation_id: -1,
            sparse: true,
            signal_eos: true,
            log_type: LOG_BUFFER_TYPE_EXCLUSIVE_PUBLICATION,
            untethered_linger_timeout_ns: 5_000_000_000,
            ..LogBufferMetadata::default()
        };
        meta.apply_initial_tails(&InitialTails::new(-7));
        meta.fill_default_header(11, 22, -7);
        let bytes = meta.to_vec();
        assert_eq!(bytes.len(), LOG_META_DATA_LENGTH);
        assert!(bytes[LOG_META_DATA_USED_LENGTH..].iter().all(|&b| b == 0));
        assert_eq!(bytes[LOG_SIGNAL_EOS_OFFSET], 1);
        assert_eq!(bytes[LOG_TYPE_OFFSET], 1);
        let decoded = LogBufferMetadata::decode(&bytes).unwrap();
        assert_eq!(decoded, meta);
        assert_eq!(decoded.session_id(), 11);
        assert_eq!(decoded.stream_id(), 22);
        assert_eq!(decoded.active_raw_tail(), pack_tail(-7, 0));
        assert_eq!(decoded.validate(200_704), Ok(()));
        assert_eq!(
            decoded.validate(200_705),
            Err(LogBufferError::LogLengthMismatch {
                expected: 200_704,
                actual: 200_705
            })
        );
        assert!(matches!(
            LogBufferMetadata::decode(&bytes[..4095]),
            Err(DecodeError::Truncated { needed: 4096, .. })
        ));
        assert!(LogBufferMetadata::decode_from_log(&bytes[..10]).is_err());
    }

    fn term_lengths() -> impl Strategy<Value = i32> {
        (16u32..=30).prop_map(|shift| 1i32 << shift)
    }

    proptest! {
        #[test]
        fn position_inverts_for_any_initial_term_id(
            initial_term_id in any::<i32>(),
            term_length in term_lengths(),
            term_count in 0i32..i32::MAX,
            offset_frames in 0i32..(1 << 25),
        ) {
            let shift = position_bits_to_shift(term_length);
            let term_offset = (offset_frames * 32) & (term_length - 1);
            let term_id = initial_term_id.wrapping_add(term_count);
            let position = compute_position(term_id, term_offset, shift, initial_term_id);
            prop_assert!(position >= 0);
            prop_assert!(position < compute_max_possible_position(term_length));
            prop_assert_eq!(compute_term_id_from_position(position, shift, initial_term_id), term_id);
            prop_assert_eq!(compute_term_offset_from_position(position, shift), term_offset);
            prop_assert_eq!(index_by_position(position, shift), index_by_term(initial_term_id, term_id));
            prop_assert_eq!(
                compute_term_begin_position(term_id, shift, initial_term_id),
                position - term_offset as i64
            );
            let raw = pack_tail(term_id, term_offset);
            prop_assert_eq!(term_id_of(raw), term_id);
            prop_assert_eq!(term_offset_of(raw, term_length), term_offset);
        }

        #[test]
        fn position_inverts_around_i32_wrap(
            below_wrap in 0i32..8,
            term_count in 0i32..64,
            term_length in term_lengths(),
            term_offset_frames in 0i32..2048,
        ) {
            let initial_term_id = i32::MAX - below_wrap;
            let shift = position_bits_to_shift(term_length);
            let term_offset = (term_offset_frames * 32) & (term_length - 1);
            let term_id = initial_term_id.wrapping_add(term_count);
            let position = compute_position(term_id, term_offset, shift, initial_term_id);
            prop_assert_eq!(position, ((term_count as i64) << shift) + term_offset as i64);
            prop_assert_eq!(compute_term_id_from_position(position, shift, initial_term_id), term_id);
            prop_assert_eq!(compute_term_offset_from_position(position, shift), term_offset);
        }

        #[test]
        fn padding_never_crosses_term_end(
            term_length in term_lengths(),
            offset_frames in 0i64..(1 << 26),
            length in 0usize..(1 << 24),
            mtu_frames in 1i32..=2047,
        ) {
            let term_offset = (offset_frames * 32).min(term_length as i64 + 4096);
            let plan = FragmentPlan::new(length, compute_max_payload_length(mtu_frames * 32 + 32)).unwrap();
            match claim_in_term(term_offset, plan.claim_length() as i64, term_length) {
                TermClaim::Fits { resulting_offset } => {
                    prop_assert!(resulting_offset <= term_length);
                    prop_assert_eq!(resulting_offset as usize % FRAME_ALIGNMENT, 0);
                }
                TermClaim::EndOfTerm { padding: Some(pad) } => {
                    prop_assert_eq!(pad.term_offset as i64, term_offset);
                    prop_assert_eq!(pad.term_offset + pad.frame_length, term_length);
                    prop_assert!(pad.frame_length >= DATA_HEADER_LENGTH as i32);
                    prop_assert_eq!(pad.frame_length as usize % FRAME_ALIGNMENT, 0);
                }
                TermClaim::EndOfTerm { padding: None } => {
                    prop_assert!(term_offset >= term_length as i64);
                }
            }
        }

        #[test]
        fn fragments_cover_the_message(
            length in 0usize..(1 << 20),
            mtu_frames in 2i32..=2047,
        ) {
            let mtu = mtu_frames * 32;
            let max_payload = compute_max_payload_length(mtu);
            let plan = FragmentPlan::new(length, max_payload).unwrap();
            let frames: Vec<_> = plan.fragments().collect();
            prop_assert_eq!(frames.len(), plan.frame_count());
            prop_assert_eq!(frames.iter().map(|f| f.payload_length).sum::<usize>(), length);
            let mut next_offset = 0;
            let mut next_payload = 0;
            for (i, f) in frames.iter().enumerate() {
                prop_assert_eq!(f.frame_offset, next_offset);
                prop_assert_eq!(f.frame_offset % FRAME_ALIGNMENT, 0);
                prop_assert_eq!(f.payload_offset, next_payload);
                prop_assert!(f.frame_length <= mtu as usize);
                prop_assert!(f.aligned_length() <= mtu as usize);
                prop_assert_eq!(f.frame_length, f.payload_length + DATA_HEADER_LENGTH);
                prop_assert_eq!(f.flags & BEGIN_FRAG_FLAG != 0, i == 0);
                prop_assert_eq!(f.flags & END_FRAG_FLAG != 0, i + 1 == frames.len());
                next_offset += f.aligned_length();
                next_payload += f.payload_length;
            }
            prop_assert_eq!(next_offset, plan.claim_length());
            prop_assert_eq!(plan.last_frame_length(), frames.last().unwrap().frame_length);
        }

        #[test]
        fn raw_tail_offset_is_clamped_and_term_id_kept(
            term_id_in in any::<i32>(),
            low in any::<u32>(),
            term_length in term_lengths(),
        ) {
            let raw = ((term_id_in as i64) << 32) | low as i64;
            prop_assert_eq!(term_id_of(raw), term_id_in);
            let offset = term_offset_of(raw, term_length);
            prop_assert!((0..=term_length).contains(&offset));
            prop_assert_eq!(offset as i64, (low as i64).min(term_length as i64));
        }

        #[test]
        fn arithmetic_never_panics(
            a in any::<i32>(),
            b in any::<i32>(),
            position in any::<i64>(),
            shift in any::<u32>(),
        ) {
            let _ = compute_position(a, b, shift, a);
            let _ = compute_term_id_from_position(position, shift, b);
            let _ = compute_term_offset_from_position(position, shift);
            prop_assert!(index_by_position(position, shift) < PARTITION_COUNT);
            prop_assert!(index_by_term(a, b) < PARTITION_COUNT);
            let _ = compute_log_length(a, b);
            let _ = compute_max_message_length(a);
            let _ = compute_max_payload_length(a);
            let _ = claim_in_term(position, i64::from(b), a);
            let _ = position_bits_to_shift(a);
        }

        #[test]
        fn metadata_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4200)) {
            if let Ok(meta) = LogBufferMetadata::decode(&bytes) {
                let _ = meta.validate(bytes.len() as u64);
                prop_assert_eq!(LogBufferMetadata::decode(&meta.to_vec()).unwrap(), meta);
            }
        }
    }

    fn term_id_of(raw: i64) -> i32 {
        term_id(raw)
    }

    fn term_offset_of(raw: i64, term_length: i32) -> i32 {
        term_offset(raw, term_length)
    }
}
