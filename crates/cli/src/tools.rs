//! What the `stat` and `errors` commands print, as functions over a mapped `cnc.dat` (ours, Aeron C's or
//! Aeron Java's).

use std::fmt::Write as _;
use std::path::Path;

use oxeron::client::cnc_file::{CncError, CncFile};
use oxeron::concurrent::counters::CountersReader;
use oxeron::concurrent::error_log::ErrorLogReader;
use oxeron::concurrent::ring_buffer::ManyToOneRingBuffer;

/// Maps `cnc.dat` read-only (copy-on-write), from an Aeron directory or the file's own path.
pub fn open_cnc(dir_or_file: &Path) -> Result<CncFile, CncError> {
    if dir_or_file.is_file() {
        CncFile::map_private(dir_or_file)
    } else {
        CncFile::map_private(&CncFile::path_in(dir_or_file))
    }
}

/// One counter as `stat` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterRow {
    /// Counter id.
    pub id: i32,
    /// Type id (0 system, 1 pub-lmt, 4 sub-pos, 11 client heartbeat, ...).
    pub type_id: i32,
    /// Registration id.
    pub registration_id: i64,
    /// Owner (client) id.
    pub owner_id: i64,
    /// Current value.
    pub value: i64,
    /// Label.
    pub label: String,
    /// The key's stream fields, for counters that have them.
    pub stream: Option<StreamKey>,
    /// The channel of a send or receive channel status counter.
    pub status_channel: Option<String>,
    /// A system counter's id (its key).
    pub system_id: Option<i32>,
}

/// Publisher limit (`pub-lmt`).
pub const PUBLISHER_LIMIT_TYPE_ID: i32 = 1;
/// Sender position (`snd-pos`).
pub const SENDER_POSITION_TYPE_ID: i32 = 2;
/// Receiver high-water mark (`rcv-hwm`).
pub const RECEIVER_HWM_TYPE_ID: i32 = 3;
/// Subscriber position (`sub-pos`).
pub const SUBSCRIBER_POSITION_TYPE_ID: i32 = 4;
/// Receiver position (`rcv-pos`).
pub const RECEIVER_POSITION_TYPE_ID: i32 = 5;
/// Send channel status.
pub const SEND_CHANNEL_STATUS_TYPE_ID: i32 = 6;
/// Receive channel status.
pub const RECEIVE_CHANNEL_STATUS_TYPE_ID: i32 = 7;
/// Sender limit (`snd-lmt`).
pub const SENDER_LIMIT_TYPE_ID: i32 = 9;
/// Per-image indicator.
pub const PER_IMAGE_TYPE_ID: i32 = 10;
/// Publisher position (`pub-pos`).
pub const PUBLISHER_POSITION_TYPE_ID: i32 = 12;
/// Sender back-pressure events (`snd-bpe`).
pub const SENDER_BPE_TYPE_ID: i32 = 13;
/// NAKs a sender received.
pub const SENDER_NAKS_RECEIVED_TYPE_ID: i32 = 19;
/// NAKs a receiver sent.
pub const RECEIVER_NAKS_SENT_TYPE_ID: i32 = 20;

/// Counter types whose key is a stream's: registration id, session id, stream id, channel.
const STREAM_KEY_TYPES: [i32; 11] = [
    PUBLISHER_LIMIT_TYPE_ID,
    SENDER_POSITION_TYPE_ID,
    RECEIVER_HWM_TYPE_ID,
    SUBSCRIBER_POSITION_TYPE_ID,
    RECEIVER_POSITION_TYPE_ID,
    SENDER_LIMIT_TYPE_ID,
    PER_IMAGE_TYPE_ID,
    PUBLISHER_POSITION_TYPE_ID,
    SENDER_BPE_TYPE_ID,
    SENDER_NAKS_RECEIVED_TYPE_ID,
    RECEIVER_NAKS_SENT_TYPE_ID,
];

/// The key of a stream counter, as Aeron's `StreamCounter` lays it out: registration id at 0, session id at
/// 8, stream id at 12, channel length at 16 and the channel (cut to fit the key) from 20.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// Registration id of the publication, subscription or image.
    pub registration_id: i64,
    /// Session id.
    pub session_id: i32,
    /// Stream id.
    pub stream_id: i32,
    /// Channel, as far as the key holds it.
    pub channel: String,
}

fn i32_at(key: &[u8], offset: usize) -> Option<i32> {
    Some(i32::from_le_bytes(
        key.get(offset..offset + 4)?.try_into().ok()?,
    ))
}

/// A length-prefixed ASCII string at `offset`, cut at the key's end.
fn string_at(key: &[u8], offset: usize) -> Option<String> {
    let length = usize::try_from(i32_at(key, offset)?).ok()?;
    let start = offset + 4;
    let bytes = key.get(start..(start + length).min(key.len()))?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}

fn stream_key(type_id: i32, key: &[u8]) -> Option<StreamKey> {
    if !STREAM_KEY_TYPES.contains(&type_id) {
        return None;
    }
    Some(StreamKey {
        registration_id: i64::from_le_bytes(key.get(0..8)?.try_into().ok()?),
        session_id: i32_at(key, 8)?,
        stream_id: i32_at(key, 12)?,
        channel: string_at(key, 16)?,
    })
}

/// Every allocated counter, optionally only those of `type_id` and whose label contains `label_filter`.
pub fn counters(
    cnc: &CncFile,
    type_id: Option<i32>,
    label_filter: Option<&str>,
) -> Result<Vec<CounterRow>, String> {
    let reader = CountersReader::new(
        cnc.counters_metadata_buffer().clone(),
        cnc.counters_values_buffer().clone(),
    )
    .map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    reader.for_each_counter(|value, id, counter_type, key, label| {
        if type_id.is_some_and(|t| t != counter_type)
            || label_filter.is_some_and(|f| !label.contains(f))
        {
            return;
        }
        rows.push(CounterRow {
            id,
            type_id: counter_type,
            registration_id: reader.counter_registration_id(id).unwrap_or(0),
            owner_id: reader.counter_owner_id(id).unwrap_or(0),
            value,
            label: label.to_string(),
            stream: stream_key(counter_type, key),
            status_channel: matches!(
                counter_type,
                SEND_CHANNEL_STATUS_TYPE_ID | RECEIVE_CHANNEL_STATUS_TYPE_ID
            )
            .then(|| string_at(key, 0))
            .flatten(),
            system_id: (counter_type == 0).then(|| i32_at(key, 0)).flatten(),
        });
    });
    Ok(rows)
}

/// AeronStat's filters: each a regular expression found anywhere in the field it tests (an absent one passes).
#[derive(Debug, Clone, Default)]
pub struct CounterFilter {
    /// Tested against the counter's type id, in decimal.
    pub type_id: Option<regex::Regex>,
    /// Tested against a system counter's id or a stream counter's registration id.
    pub identity: Option<regex::Regex>,
    /// Tested against a stream counter's session id.
    pub session: Option<regex::Regex>,
    /// Tested against a stream counter's stream id.
    pub stream: Option<regex::Regex>,
    /// Tested against a stream or channel status counter's channel.
    pub channel: Option<regex::Regex>,
}

fn found(pattern: &Option<regex::Regex>, text: impl std::fmt::Display) -> bool {
    pattern
        .as_ref()
        .is_none_or(|p| p.is_match(&text.to_string()))
}

/// The stream counter types AeronStat filters by identity, session, stream and channel.
const FILTERED_STREAM_TYPES: [i32; 8] = [1, 2, 3, 4, 5, 9, 10, 12];

impl CounterFilter {
    /// Whether AeronStat would show `row`: the type filter on every counter; the identity filter on system
    /// counters; all four key filters on stream counters; the channel filter on channel status counters.
    pub fn matches(&self, row: &CounterRow) -> bool {
        if !found(&self.type_id, row.type_id) {
            return false;
        }
        if row.type_id == 0 {
            return found(&self.identity, row.system_id.unwrap_or(row.id));
        }
        if FILTERED_STREAM_TYPES.contains(&row.type_id) {
            return match &row.stream {
                Some(key) => {
                    found(&self.identity, key.registration_id)
                        && found(&self.session, key.session_id)
                        && found(&self.stream, key.stream_id)
                        && found(&self.channel, &key.channel)
                }
                None => false,
            };
        }
        if let Some(channel) = &row.status_channel {
            return found(&self.channel, channel);
        }
        true
    }
}

/// AeronStat's first two lines: the time (UTC here), the CnC version, the driver's pid and how long ago
/// its conductor last showed it was alive, then a rule.
pub fn stat_header(cnc: &CncFile, now_ms: i64) -> String {
    let header = cnc.header();
    let version = header.cnc_version;
    let heartbeat = ManyToOneRingBuffer::new(cnc.to_driver_buffer().clone())
        .map(|ring| ring.consumer_heartbeat_time())
        .unwrap_or(0);
    let seconds = now_ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02} UTC - Aeron Stat (CnC v{}.{}.{}), pid {}, heartbeat age {}ms\n{}\n",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        (version >> 16) & 0xff,
        (version >> 8) & 0xff,
        version & 0xff,
        header.pid,
        now_ms - heartbeat,
        "=".repeat(70)
    )
}

/// AeronStat's layout: `id: value - label`.
pub fn format_table(rows: &[CounterRow]) -> String {
    let mut out = String::new();
    for r in rows {
        let _ = writeln!(
            out,
            "{:4}: {:>26} - {}",
            r.id,
            group_thousands(r.value),
            r.label
        );
    }
    out
}

fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 {
        out.insert(0, '-');
    }
    out
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON array of counter objects.
pub fn format_json(rows: &[CounterRow]) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{{\"id\":{},\"type_id\":{},\"registration_id\":{},\"owner_id\":{},\"value\":{},\"label\":{}}}",
                r.id,
                r.type_id,
                r.registration_id,
                r.owner_id,
                r.value,
                json_string(&r.label)
            )
        })
        .collect();
    format!("[{}]\n", items.join(","))
}

/// Prometheus text exposition: one `aeron_counter` gauge per counter.
pub fn format_prometheus(rows: &[CounterRow]) -> String {
    let mut out =
        String::from("# HELP aeron_counter Aeron counter value\n# TYPE aeron_counter gauge\n");
    for r in rows {
        let label = r
            .label
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = writeln!(
            out,
            "aeron_counter{{id=\"{}\",type_id=\"{}\",label=\"{}\"}} {}",
            r.id, r.type_id, label, r.value
        );
    }
    out
}

/// The distinct error log as text: one block per distinct error.
pub fn format_errors(cnc: &CncFile) -> (usize, String) {
    let mut out = String::new();
    let count = ErrorLogReader::read(
        cnc.error_log_buffer(),
        0,
        |observations, first, last, text| {
            let _ = writeln!(
                out,
                "***\n{observations} observations from {first} to {last} (epoch ms) for:\n {text}"
            );
        },
    );
    let _ = writeln!(out, "\n{count} distinct errors observed.");
    (count, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A counter's key comes from another process's file: any bytes decode or are left out, never panic,
        /// and a channel never reads past the key.
        #[test]
        fn any_key_decodes_or_is_left_out(type_id in -2i32..25, key in proptest::collection::vec(any::<u8>(), 0..140)) {
            if let Some(decoded) = stream_key(type_id, &key) {
                prop_assert!(decoded.channel.chars().count() <= key.len() - 20);
            }
            let _ = string_at(&key, 0);
        }
    }

    #[test]
    fn a_stream_key_reads_as_aerons_stream_counter_writes_it() {
        let mut key = Vec::new();
        key.extend_from_slice(&42i64.to_le_bytes());
        key.extend_from_slice(&(-7i32).to_le_bytes());
        key.extend_from_slice(&1001i32.to_le_bytes());
        key.extend_from_slice(&9i32.to_le_bytes());
        key.extend_from_slice(b"aeron:ipc");
        let expected = StreamKey {
            registration_id: 42,
            session_id: -7,
            stream_id: 1001,
            channel: "aeron:ipc".to_string(),
        };
        assert_eq!(
            stream_key(SUBSCRIBER_POSITION_TYPE_ID, &key),
            Some(expected)
        );
        assert_eq!(
            stream_key(11, &key),
            None,
            "a client heartbeat's key is not a stream's"
        );
    }

    fn rows() -> Vec<CounterRow> {
        vec![CounterRow {
            id: 3,
            type_id: 0,
            registration_id: 3,
            owner_id: -1,
            value: 1234567,
            label: "a \"quoted\" label".into(),
            stream: None,
            status_channel: None,
            system_id: Some(3),
        }]
    }

    #[test]
    fn formats_escape_and_group() {
        assert_eq!(
            format_table(&rows()),
            "   3:                  1,234,567 - a \"quoted\" label\n"
        );
        assert_eq!(
            format_json(&rows()),
            "[{\"id\":3,\"type_id\":0,\"registration_id\":3,\"owner_id\":-1,\"value\":1234567,\"label\":\"a \\\"quoted\\\" label\"}]\n"
        );
        assert!(format_prometheus(&rows()).contains(
            "aeron_counter{id=\"3\",type_id=\"0\",label=\"a \\\"quoted\\\" label\"} 1234567"
        ));
        assert_eq!(group_thousands(-1000), "-1,000");
    }
}
