//! The `cnc.dat` header: version, the lengths of the five sections that follow it, and driver facts (liveness
//! timeout, start time, pid, page size). Layout per Aeron 1.54's `aeron_cnc_file_descriptor.h` and
//! `CncFileDescriptor.java`.
//!
//! The file is a 128-byte header region, then the to-driver ring buffer, the to-clients broadcast buffer, the
//! counters metadata, the counters values and the error log, in that order, the whole rounded up to the page size.

use thiserror::Error;

use crate::{le, semantic_version, DecodeError};

/// File name of the CnC file in the aeron directory.
pub const CNC_FILE: &str = "cnc.dat";
/// CnC layout version this crate reads and writes: 0.2.0.
pub const CNC_VERSION: i32 = semantic_version(0, 2, 0);
/// Length of the header region before the first section (two cache lines).
pub const CNC_HEADER_LENGTH: usize = 128;
/// Bytes of the header region holding fields; the rest is zero.
pub const META_DATA_LENGTH: usize = 52;

/// Offset of the CnC version (`i32`, written last with release; 0 while the driver sets up).
pub const CNC_VERSION_FIELD_OFFSET: usize = 0;
/// Offset of the to-driver buffer length (`i32`).
pub const TO_DRIVER_BUFFER_LENGTH_FIELD_OFFSET: usize = 4;
/// Offset of the to-clients buffer length (`i32`).
pub const TO_CLIENTS_BUFFER_LENGTH_FIELD_OFFSET: usize = 8;
/// Offset of the counters metadata buffer length (`i32`).
pub const COUNTERS_METADATA_BUFFER_LENGTH_FIELD_OFFSET: usize = 12;
/// Offset of the counters values buffer length (`i32`).
pub const COUNTERS_VALUES_BUFFER_LENGTH_FIELD_OFFSET: usize = 16;
/// Offset of the error log buffer length (`i32`).
pub const ERROR_LOG_BUFFER_LENGTH_FIELD_OFFSET: usize = 20;
/// Offset of the client liveness timeout in ns (`i64`).
pub const CLIENT_LIVENESS_TIMEOUT_FIELD_OFFSET: usize = 24;
/// Offset of the driver start timestamp in epoch ms (`i64`).
pub const START_TIMESTAMP_FIELD_OFFSET: usize = 32;
/// Offset of the driver process id (`i64`).
pub const PID_FIELD_OFFSET: usize = 40;
/// Offset of the file page size (`i32`).
pub const FILE_PAGE_SIZE_FIELD_OFFSET: usize = 48;

const WHAT: &str = "cnc header";

/// Major part of a semantic version (`major<<16 | minor<<8 | patch`).
pub const fn semantic_version_major(version: i32) -> u8 {
    (version >> 16) as u8
}

/// Minor part of a semantic version.
pub const fn semantic_version_minor(version: i32) -> u8 {
    (version >> 8) as u8
}

/// Patch part of a semantic version.
pub const fn semantic_version_patch(version: i32) -> u8 {
    version as u8
}

/// Why a client cannot use a CnC file's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CncVersionError {
    /// Version 0: the driver has not finished writing the file yet; retry.
    #[error("cnc version not yet set")]
    NotReady,
    /// A different major version than [`CNC_VERSION`].
    #[error(
        "cnc version not compatible: app={}.{}.{} file={}.{}.{}",
        semantic_version_major(CNC_VERSION),
        semantic_version_minor(CNC_VERSION),
        semantic_version_patch(CNC_VERSION),
        semantic_version_major(*.0),
        semantic_version_minor(*.0),
        semantic_version_patch(*.0)
    )]
    Incompatible(i32),
}

/// Accepts any version whose major part equals [`CNC_VERSION`]'s, as Aeron's clients do.
pub fn check_cnc_version(cnc_version: i32) -> Result<(), CncVersionError> {
    if cnc_version == 0 {
        Err(CncVersionError::NotReady)
    } else if semantic_version_major(cnc_version) != semantic_version_major(CNC_VERSION) {
        Err(CncVersionError::Incompatible(cnc_version))
    } else {
        Ok(())
    }
}

/// Length of a CnC file holding sections totalling `total_length_of_buffers`, rounded up to `page_size`
/// (a power of two); `None` on overflow.
pub fn compute_cnc_file_length(total_length_of_buffers: usize, page_size: usize) -> Option<usize> {
    if !page_size.is_power_of_two() {
        return None;
    }
    CNC_HEADER_LENGTH
        .checked_add(total_length_of_buffers)?
        .checked_add(page_size - 1)
        .map(|n| n & !(page_size - 1))
}

/// The fields of the CnC header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CncHeader {
    /// Layout version, [`CNC_VERSION`] once the driver is ready.
    pub cnc_version: i32,
    /// To-driver ring buffer: capacity plus its 768-byte trailer.
    pub to_driver_buffer_length: i32,
    /// To-clients broadcast buffer: capacity plus its 128-byte trailer.
    pub to_clients_buffer_length: i32,
    /// Counters metadata section.
    pub counters_metadata_buffer_length: i32,
    /// Counters values section.
    pub counters_values_buffer_length: i32,
    /// Distinct error log section.
    pub error_log_buffer_length: i32,
    /// Driver's client liveness timeout in ns.
    pub client_liveness_timeout_ns: i64,
    /// Driver start time, epoch ms.
    pub start_timestamp_ms: i64,
    /// Driver process id.
    pub pid: i64,
    /// Page size the file length is aligned to.
    pub file_page_size: i32,
}

/// Where each section of a CnC file lies, computed from a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CncLayout {
    /// Offset of the to-driver ring buffer (always 128).
    pub to_driver_offset: usize,
    /// Its length.
    pub to_driver_length: usize,
    /// Offset of the to-clients broadcast buffer.
    pub to_clients_offset: usize,
    /// Its length.
    pub to_clients_length: usize,
    /// Offset of the counters metadata.
    pub counters_metadata_offset: usize,
    /// Its length.
    pub counters_metadata_length: usize,
    /// Offset of the counters values.
    pub counters_values_offset: usize,
    /// Its length.
    pub counters_values_length: usize,
    /// Offset of the error log.
    pub error_log_offset: usize,
    /// Its length.
    pub error_log_length: usize,
    /// End of the error log: the least file length a client accepts.
    pub required_length: usize,
    /// `required_length` rounded up to the page size: the length the driver creates.
    pub file_length: usize,
}

impl CncHeader {
    /// Reads the header from the first [`CNC_HEADER_LENGTH`] bytes. Values are taken as they are; see
    /// [`CncHeader::layout`] and [`check_cnc_version`].
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        le::require(WHAT, bytes, CNC_HEADER_LENGTH)?;
        Ok(Self {
            cnc_version: le::get_i32(bytes, CNC_VERSION_FIELD_OFFSET),
            to_driver_buffer_length: le::get_i32(bytes, TO_DRIVER_BUFFER_LENGTH_FIELD_OFFSET),
            to_clients_buffer_length: le::get_i32(bytes, TO_CLIENTS_BUFFER_LENGTH_FIELD_OFFSET),
            counters_metadata_buffer_length: le::get_i32(
                bytes,
                COUNTERS_METADATA_BUFFER_LENGTH_FIELD_OFFSET,
            ),
            counters_values_buffer_length: le::get_i32(
                bytes,
                COUNTERS_VALUES_BUFFER_LENGTH_FIELD_OFFSET,
            ),
            error_log_buffer_length: le::get_i32(bytes, ERROR_LOG_BUFFER_LENGTH_FIELD_OFFSET),
            client_liveness_timeout_ns: le::get_i64(bytes, CLIENT_LIVENESS_TIMEOUT_FIELD_OFFSET),
            start_timestamp_ms: le::get_i64(bytes, START_TIMESTAMP_FIELD_OFFSET),
            pid: le::get_i64(bytes, PID_FIELD_OFFSET),
            file_page_size: le::get_i32(bytes, FILE_PAGE_SIZE_FIELD_OFFSET),
        })
    }

    /// Writes the 128-byte header region (bytes after the fields zeroed) and returns [`CNC_HEADER_LENGTH`].
    /// A driver writes the version last, with a release store; this plain encoding is for files and tests.
    ///
    /// # Panics
    /// If `buffer` is shorter than [`CNC_HEADER_LENGTH`].
    pub fn encode(&self, buffer: &mut [u8]) -> usize {
        let bytes = &mut buffer[..CNC_HEADER_LENGTH];
        bytes.fill(0);
        le::put_i32(bytes, CNC_VERSION_FIELD_OFFSET, self.cnc_version);
        le::put_i32(
            bytes,
            TO_DRIVER_BUFFER_LENGTH_FIELD_OFFSET,
            self.to_driver_buffer_length,
        );
        le::put_i32(
            bytes,
            TO_CLIENTS_BUFFER_LENGTH_FIELD_OFFSET,
            self.to_clients_buffer_length,
        );
        le::put_i32(
            bytes,
            COUNTERS_METADATA_BUFFER_LENGTH_FIELD_OFFSET,
            self.counters_metadata_buffer_length,
        );
        le::put_i32(
            bytes,
            COUNTERS_VALUES_BUFFER_LENGTH_FIELD_OFFSET,
            self.counters_values_buffer_length,
        );
        le::put_i32(
            bytes,
            ERROR_LOG_BUFFER_LENGTH_FIELD_OFFSET,
            self.error_log_buffer_length,
        );
        le::put_i64(
            bytes,
            CLIENT_LIVENESS_TIMEOUT_FIELD_OFFSET,
            self.client_liveness_timeout_ns,
        );
        le::put_i64(bytes, START_TIMESTAMP_FIELD_OFFSET, self.start_timestamp_ms);
        le::put_i64(bytes, PID_FIELD_OFFSET, self.pid);
        le::put_i32(bytes, FILE_PAGE_SIZE_FIELD_OFFSET, self.file_page_size);
        CNC_HEADER_LENGTH
    }

    /// The encoded 128-byte header region.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut bytes = vec![0u8; CNC_HEADER_LENGTH];
        self.encode(&mut bytes);
        bytes
    }

    /// Checks the version with [`check_cnc_version`].
    pub fn check_version(&self) -> Result<(), CncVersionError> {
        check_cnc_version(self.cnc_version)
    }

    /// Section offsets and lengths. Fails on a negative section length or a page size that is not a positive
    /// power of two.
    pub fn layout(&self) -> Result<CncLayout, DecodeError> {
        let length = |field: &'static str, value: i32| {
            usize::try_from(value).map_err(|_| DecodeError::BadLength {
                what: WHAT,
                field,
                length: value.into(),
            })
        };
        let to_driver_length = length("to_driver_buffer", self.to_driver_buffer_length)?;
        let to_clients_length = length("to_clients_buffer", self.to_clients_buffer_length)?;
        let counters_metadata_length = length(
            "counters_metadata_buffer",
            self.counters_metadata_buffer_length,
        )?;
        let counters_values_length =
            length("counters_values_buffer", self.counters_values_buffer_length)?;
        let error_log_length = length("error_log_buffer", self.error_log_buffer_length)?;
        let page_size = usize::try_from(self.file_page_size)
            .ok()
            .filter(|p| p.is_power_of_two())
            .ok_or(DecodeError::InvalidValue {
                what: WHAT,
                field: "file_page_size",
                value: self.file_page_size.into(),
            })?;

        let too_long = DecodeError::BadLength {
            what: WHAT,
            field: "total",
            length: i64::MAX,
        };
        let to_driver_offset = CNC_HEADER_LENGTH;
        let to_clients_offset = to_driver_offset
            .checked_add(to_driver_length)
            .ok_or(too_long.clone())?;
        let counters_metadata_offset = to_clients_offset
            .checked_add(to_clients_length)
            .ok_or(too_long.clone())?;
        let counters_values_offset = counters_metadata_offset
            .checked_add(counters_metadata_length)
            .ok_or(too_long.clone())?;
        let error_log_offset = counters_values_offset
            .checked_add(counters_values_length)
            .ok_or(too_long.clone())?;
        let required_length = error_log_offset
            .checked_add(error_log_length)
            .ok_or(too_long.clone())?;
        let file_length = compute_cnc_file_length(required_length - CNC_HEADER_LENGTH, page_size)
            .ok_or(too_long)?;

        Ok(CncLayout {
            to_driver_offset,
            to_driver_length,
            to_clients_offset,
            to_clients_length,
            counters_metadata_offset,
            counters_metadata_length,
            counters_values_offset,
            counters_values_length,
            error_log_offset,
            error_log_length,
            required_length,
            file_length,
        })
    }

    /// Whether a file of `file_length` bytes holds every section the header describes
    /// (`aeron_cnc_is_file_length_sufficient`).
    pub fn is_file_length_sufficient(&self, file_length: usize) -> bool {
        file_length >= CNC_HEADER_LENGTH
            && self
                .layout()
                .is_ok_and(|layout| file_length >= layout.required_length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn defaults() -> CncHeader {
        CncHeader {
            cnc_version: CNC_VERSION,
            to_driver_buffer_length: 1_049_344,
            to_clients_buffer_length: 1_048_704,
            counters_metadata_buffer_length: 33_554_432,
            counters_values_buffer_length: 8_388_608,
            error_log_buffer_length: 4_194_304,
            client_liveness_timeout_ns: 10_000_000_000,
            start_timestamp_ms: 1_795_528_665_637,
            pid: 22015,
            file_page_size: 4096,
        }
    }

    #[test]
    fn version_is_0_2_0() {
        assert_eq!(CNC_VERSION, 512);
        assert_eq!(semantic_version_major(CNC_VERSION), 0);
        assert_eq!(semantic_version_minor(CNC_VERSION), 2);
        assert_eq!(semantic_version_patch(CNC_VERSION), 0);
    }

    #[test]
    fn version_check_compares_major_only() {
        assert_eq!(check_cnc_version(512), Ok(()));
        assert_eq!(check_cnc_version(semantic_version(0, 9, 3)), Ok(()));
        assert_eq!(check_cnc_version(0), Err(CncVersionError::NotReady));
        let v1 = semantic_version(1, 0, 0);
        assert_eq!(
            check_cnc_version(v1),
            Err(CncVersionError::Incompatible(v1))
        );
        assert_eq!(
            CncVersionError::Incompatible(v1).to_string(),
            "cnc version not compatible: app=0.2.0 file=1.0.0"
        );
    }

    #[test]
    fn layout_of_default_driver() {
        let layout = defaults().layout().unwrap();
        assert_eq!(layout.to_driver_offset, 128);
        assert_eq!(layout.to_clients_offset, 1_049_472);
        assert_eq!(layout.counters_metadata_offset, 2_098_176);
        assert_eq!(layout.counters_values_offset, 35_652_608);
        assert_eq!(layout.error_log_offset, 44_041_216);
        assert_eq!(layout.required_length, 48_235_520);
        assert_eq!(layout.file_length, 48_238_592);
        assert!(defaults().is_file_length_sufficient(48_235_520));
        assert!(!defaults().is_file_length_sufficient(48_235_519));
    }

    #[test]
    fn layout_rejects_bad_lengths_and_page_sizes() {
        let negative = CncHeader {
            error_log_buffer_length: -1,
            ..defaults()
        };
        assert!(matches!(
            negative.layout(),
            Err(DecodeError::BadLength {
                field: "error_log_buffer",
                length: -1,
                ..
            })
        ));
        assert!(!negative.is_file_length_sufficient(usize::MAX));
        for page in [0, -4096, 3000] {
            let bad_page = CncHeader {
                file_page_size: page,
                ..defaults()
            };
            assert!(matches!(
                bad_page.layout(),
                Err(DecodeError::InvalidValue {
                    field: "file_page_size",
                    ..
                })
            ));
        }
    }

    #[test]
    fn encoding_matches_hand_built_bytes() {
        let mut expected = [0u8; 128];
        expected[0..4].copy_from_slice(&[0x00, 0x02, 0x00, 0x00]);
        expected[4..8].copy_from_slice(&[0x00, 0x03, 0x10, 0x00]);
        expected[8..12].copy_from_slice(&[0x80, 0x00, 0x10, 0x00]);
        expected[12..16].copy_from_slice(&[0x00, 0x00, 0x00, 0x02]);
        expected[16..20].copy_from_slice(&[0x00, 0x00, 0x80, 0x00]);
        expected[20..24].copy_from_slice(&[0x00, 0x00, 0x40, 0x00]);
        expected[24..32].copy_from_slice(&[0x00, 0xe4, 0x0b, 0x54, 0x02, 0x00, 0x00, 0x00]);
        expected[32..40].copy_from_slice(&[0x25, 0x2a, 0xd9, 0x0d, 0xa2, 0x01, 0x00, 0x00]);
        expected[40..48].copy_from_slice(&[0xff, 0x55, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
        expected[48..52].copy_from_slice(&[0x00, 0x10, 0x00, 0x00]);
        let mut buffer = [0xAAu8; 140];
        assert_eq!(defaults().encode(&mut buffer), 128);
        assert_eq!(buffer[..128], expected);
        assert_eq!(buffer[128..], [0xAA; 12]);
        assert_eq!(CncHeader::decode(&expected).unwrap(), defaults());
    }

    #[test]
    fn decode_needs_the_whole_header_region() {
        let bytes = defaults().to_vec();
        assert!(matches!(
            CncHeader::decode(&bytes[..127]),
            Err(DecodeError::Truncated {
                needed: 128,
                available: 127,
                ..
            })
        ));
    }

    #[test]
    fn file_length_rounds_to_page() {
        assert_eq!(compute_cnc_file_length(0, 4096), Some(4096));
        assert_eq!(compute_cnc_file_length(4096 - 128, 4096), Some(4096));
        assert_eq!(compute_cnc_file_length(4096 - 127, 4096), Some(8192));
        assert_eq!(compute_cnc_file_length(10, 3000), None);
        assert_eq!(compute_cnc_file_length(usize::MAX - 100, 4096), None);
    }

    proptest! {
        #[test]
        fn header_round_trips(
            version in any::<i32>(),
            lengths in proptest::array::uniform5(any::<i32>()),
            liveness in any::<i64>(),
            start in any::<i64>(),
            pid in any::<i64>(),
            page in any::<i32>(),
        ) {
            let header = CncHeader {
                cnc_version: version,
                to_driver_buffer_length: lengths[0],
                to_clients_buffer_length: lengths[1],
                counters_metadata_buffer_length: lengths[2],
                counters_values_buffer_length: lengths[3],
                error_log_buffer_length: lengths[4],
                client_liveness_timeout_ns: liveness,
                start_timestamp_ms: start,
                pid,
                file_page_size: page,
            };
            let bytes = header.to_vec();
            prop_assert_eq!(CncHeader::decode(&bytes).unwrap(), header);
            if let Ok(layout) = header.layout() {
                prop_assert!(layout.file_length >= layout.required_length);
                prop_assert_eq!(layout.file_length % page as usize, 0);
                prop_assert_eq!(layout.error_log_offset + layout.error_log_length, layout.required_length);
            }
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(header) = CncHeader::decode(&bytes) {
                let _ = header.layout();
                let _ = header.check_version();
                let _ = header.is_file_length_sufficient(bytes.len());
            }
        }
    }
}
