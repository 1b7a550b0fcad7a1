//! Feeds arbitrary bytes as a whole `loss-report.dat` to `oxeron_driver::loss_report::decode_loss_report`
//! (what `oxeron loss-stat` reads through `read_loss_report`).
//!
//! Asserts: nothing panics; an error names a 64-byte aligned entry offset inside the bytes; decoded entries
//! have positive observation counts; entries that decode, written again in Aeron's layout (by this target's
//! own small encoder), decode to the same entries.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oxeron_driver::loss_report::{decode_loss_report, LossEntry};

fn align(value: usize, alignment: usize) -> usize {
    value.div_ceil(alignment) * alignment
}

fn encode(entries: &[LossEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let start = out.len();
        out.extend_from_slice(&e.observation_count.to_le_bytes());
        out.extend_from_slice(&e.total_bytes_lost.to_le_bytes());
        out.extend_from_slice(&e.first_observation_timestamp.to_le_bytes());
        out.extend_from_slice(&e.last_observation_timestamp.to_le_bytes());
        out.extend_from_slice(&e.session_id.to_le_bytes());
        out.extend_from_slice(&e.stream_id.to_le_bytes());
        out.extend_from_slice(&(e.channel.len() as i32).to_le_bytes());
        out.extend_from_slice(e.channel.as_bytes());
        out.resize(start + 40 + align(4 + e.channel.len(), 4), 0);
        out.extend_from_slice(&(e.source.len() as i32).to_le_bytes());
        out.extend_from_slice(e.source.as_bytes());
        out.resize(start + align(out.len() - start, 64), 0);
    }
    out.resize(out.len() + 64, 0);
    out
}

fuzz_target!(|data: &[u8]| {
    match decode_loss_report(data) {
        Ok(entries) => {
            assert!(entries.len() <= data.len() / 64 + 1);
            assert!(entries.iter().all(|e| e.observation_count > 0));
            assert_eq!(decode_loss_report(&encode(&entries)), Ok(entries));
        }
        Err(error) => {
            assert_eq!(error.offset % 64, 0);
            assert!(error.offset < data.len());
            assert_eq!(error.to_string(), "loss report entry out of bounds");
        }
    }
});
