//! `loss-report.dat`: one entry per image that saw loss, in Aeron's layout (`aeron_loss_reporter.c`), so
//! Aeron's `LossStat` tool can read it.
//!
//! Entry, 64-byte aligned: observation count (i64), total bytes lost (i64), first and last observation
//! timestamps in ms (i64 each), session id, stream id (i32 each), then the channel and the source as
//! i32-length-prefixed strings (the channel padded to 4 bytes). A reader stops at an observation count of 0.

use std::io;
use std::path::Path;

use oxeron_concurrent::mapped_file::MappedFile;

/// File name in the Aeron directory.
pub const LOSS_REPORT_FILE: &str = "loss-report.dat";
/// Aeron's default file length (`AERON_LOSS_REPORT_BUFFER_LENGTH`).
pub const LOSS_REPORT_BUFFER_LENGTH: usize = 1024 * 1024;

const OBSERVATION_COUNT_OFFSET: usize = 0;
const TOTAL_BYTES_LOST_OFFSET: usize = 8;
const FIRST_OBSERVATION_OFFSET: usize = 16;
const LAST_OBSERVATION_OFFSET: usize = 24;
const SESSION_ID_OFFSET: usize = 32;
const STREAM_ID_OFFSET: usize = 36;
const ENTRY_HEADER_LENGTH: usize = 40;
const ENTRY_ALIGNMENT: usize = 64;

fn align(value: usize, alignment: usize) -> usize {
    (value + alignment - 1) & !(alignment - 1)
}

/// One entry read back from a loss report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossEntry {
    /// Gaps observed.
    pub observation_count: i64,
    /// Bytes in those gaps.
    pub total_bytes_lost: i64,
    /// Time of the first observation (ms since the epoch).
    pub first_observation_timestamp: i64,
    /// Time of the last observation (ms since the epoch).
    pub last_observation_timestamp: i64,
    /// Session id of the image.
    pub session_id: i32,
    /// Stream id of the image.
    pub stream_id: i32,
    /// Channel of the image.
    pub channel: String,
    /// Source (sender address) of the image.
    pub source: String,
}

/// The driver's writer of `loss-report.dat`.
pub(crate) struct LossReport {
    file: MappedFile,
    next_record_offset: usize,
    entries: Vec<(i64, usize)>,
}

impl LossReport {
    /// Creates `loss-report.dat` in `aeron_dir`.
    pub(crate) fn create(aeron_dir: &Path) -> io::Result<Self> {
        let file = MappedFile::create_allocated(
            aeron_dir.join(LOSS_REPORT_FILE),
            LOSS_REPORT_BUFFER_LENGTH,
        )?;
        Ok(LossReport {
            file,
            next_record_offset: 0,
            entries: Vec::new(),
        })
    }

    /// Records a gap of `bytes_lost` on image `correlation_id` at `now_ms`, creating its entry on first loss.
    /// A full file drops the observation.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &mut self,
        correlation_id: i64,
        bytes_lost: i64,
        now_ms: i64,
        session_id: i32,
        stream_id: i32,
        channel: &str,
        source: &str,
    ) {
        let buffer = self.file.buffer();
        if let Some(&(_, offset)) = self.entries.iter().find(|(id, _)| *id == correlation_id) {
            buffer.put_i64_release(offset + LAST_OBSERVATION_OFFSET, now_ms);
            buffer.get_and_add_i64(offset + TOTAL_BYTES_LOST_OFFSET, bytes_lost);
            buffer.get_and_add_i64(offset + OBSERVATION_COUNT_OFFSET, 1);
            return;
        }
        let required = ENTRY_HEADER_LENGTH + align(4 + channel.len(), 4) + 4 + source.len();
        if required > buffer.capacity() - self.next_record_offset {
            return;
        }
        let offset = self.next_record_offset;
        buffer.put_i64(offset + TOTAL_BYTES_LOST_OFFSET, bytes_lost);
        buffer.put_i64(offset + FIRST_OBSERVATION_OFFSET, now_ms);
        buffer.put_i64(offset + LAST_OBSERVATION_OFFSET, now_ms);
        buffer.put_i32(offset + SESSION_ID_OFFSET, session_id);
        buffer.put_i32(offset + STREAM_ID_OFFSET, stream_id);
        let mut at = offset + ENTRY_HEADER_LENGTH;
        buffer.put_i32(at, channel.len() as i32);
        buffer.put_bytes(at + 4, channel.as_bytes());
        at += 4 + align(channel.len(), 4);
        buffer.put_i32(at, source.len() as i32);
        buffer.put_bytes(at + 4, source.as_bytes());
        buffer.put_i64_release(offset + OBSERVATION_COUNT_OFFSET, 1);
        self.entries.push((correlation_id, offset));
        self.next_record_offset += align(required, ENTRY_ALIGNMENT);
    }
}

/// A loss report whose entry runs past the end of the file (a string length that does not fit, or a
/// negative one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("loss report entry out of bounds")]
pub struct LossReportError {
    /// File offset of the entry that does not fit.
    pub offset: usize,
}

/// Reads the entries of a `loss-report.dat` file (written by this driver or Aeron's).
///
/// Fails with [`io::ErrorKind::InvalidData`] (carrying a [`LossReportError`]) if an entry runs past the end
/// of the file; see [`decode_loss_report`].
pub fn read_loss_report(path: impl AsRef<Path>) -> io::Result<Vec<LossEntry>> {
    let bytes = std::fs::read(path)?;
    decode_loss_report(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Decodes the entries of a loss report held in `bytes` (the whole file, or any prefix of it).
///
/// Entries are read from offset 0, each 64-byte aligned, until an observation count of 0 or less, or until
/// fewer bytes remain than an entry header and the channel length. An entry whose channel or source runs
/// past the end of `bytes` (or has a negative length) is an error; the entries before it are dropped with
/// it. Strings that are not UTF-8 are decoded lossily. Never panics, whatever `bytes` holds.
pub fn decode_loss_report(bytes: &[u8]) -> Result<Vec<LossEntry>, LossReportError> {
    let i64_at = |o: usize| i64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes"));
    let i32_at = |o: usize| i32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
    let mut entries = Vec::new();
    let mut offset = 0;
    while offset + ENTRY_HEADER_LENGTH + 4 <= bytes.len() {
        let observation_count = i64_at(offset + OBSERVATION_COUNT_OFFSET);
        if observation_count <= 0 {
            break;
        }
        let mut at = offset + ENTRY_HEADER_LENGTH;
        let string = |at: usize| -> Option<(String, usize)> {
            let length = usize::try_from(i32_at(at)).ok()?;
            let text = bytes.get(at + 4..at + 4 + length)?;
            Some((String::from_utf8_lossy(text).into_owned(), length))
        };
        let bad = LossReportError { offset };
        let (channel, channel_length) = string(at).ok_or(bad)?;
        at += 4 + align(channel_length, 4);
        if at + 4 > bytes.len() {
            return Err(bad);
        }
        let (source, source_length) = string(at).ok_or(bad)?;
        entries.push(LossEntry {
            observation_count,
            total_bytes_lost: i64_at(offset + TOTAL_BYTES_LOST_OFFSET),
            first_observation_timestamp: i64_at(offset + FIRST_OBSERVATION_OFFSET),
            last_observation_timestamp: i64_at(offset + LAST_OBSERVATION_OFFSET),
            session_id: i32_at(offset + SESSION_ID_OFFSET),
            stream_id: i32_at(offset + STREAM_ID_OFFSET),
            channel,
            source,
        });
        let record = ENTRY_HEADER_LENGTH + align(4 + channel_length, 4) + 4 + source_length;
        offset += align(record, ENTRY_ALIGNMENT);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_in_aerons_layout() {
        let dir = tempfile::tempdir().unwrap();
        let mut report = LossReport::create(dir.path()).unwrap();
        report.record(7, 100, 1000, 1, 2, "aeron:udp?endpoint=a:1", "127.0.0.1:5");
        report.record(9, 64, 1001, 3, 4, "ch", "src");
        report.record(7, 50, 1002, 1, 2, "aeron:udp?endpoint=a:1", "127.0.0.1:5");
        let entries = read_loss_report(dir.path().join(LOSS_REPORT_FILE)).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].observation_count, 2);
        assert_eq!(entries[0].total_bytes_lost, 150);
        assert_eq!(entries[0].first_observation_timestamp, 1000);
        assert_eq!(entries[0].last_observation_timestamp, 1002);
        assert_eq!(entries[0].channel, "aeron:udp?endpoint=a:1");
        assert_eq!(entries[0].source, "127.0.0.1:5");
        assert_eq!(entries[1].session_id, 3);
        assert_eq!(entries[1].stream_id, 4);
        let bytes = std::fs::read(dir.path().join(LOSS_REPORT_FILE)).unwrap();
        // 40 + 4 + 24 (channel) + 4 + 11 (source) = 83 bytes, so the second entry starts at 128.
        let i32_at = |o: usize| i32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
        assert_eq!(i32_at(128 + 32), 3);
        assert_eq!(i32_at(128 + 40), 2);
    }

    #[test]
    fn decodes_bytes_and_rejects_entries_past_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut report = LossReport::create(dir.path()).unwrap();
        report.record(7, 100, 1000, 1, 2, "aeron:udp?endpoint=a:1", "127.0.0.1:5");
        report.record(9, 64, 1001, 3, 4, "ch", "src");
        let bytes = std::fs::read(dir.path().join(LOSS_REPORT_FILE)).unwrap();
        let entries = decode_loss_report(&bytes).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].channel, "ch");
        assert_eq!(entries[1].source, "src");

        // Cut inside the second entry's source: the whole read fails, naming that entry.
        assert_eq!(
            decode_loss_report(&bytes[..128 + 40 + 4 + 4 + 4 + 1]),
            Err(LossReportError { offset: 128 })
        );
        // Cut before the second entry's channel length: it is not seen at all.
        assert_eq!(decode_loss_report(&bytes[..128 + 40]).unwrap().len(), 1);
        assert_eq!(decode_loss_report(&[]), Ok(Vec::new()));

        // A negative channel length.
        let mut negative = bytes[..256].to_vec();
        negative[40..44].copy_from_slice(&(-1i32).to_le_bytes());
        assert_eq!(
            decode_loss_report(&negative),
            Err(LossReportError { offset: 0 })
        );

        // The file reader reports the same as an InvalidData I/O error with the old message.
        let path = dir.path().join("cut.dat");
        std::fs::write(&path, &negative).unwrap();
        let error = read_loss_report(&path).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(error.to_string(), "loss report entry out of bounds");
    }
}
