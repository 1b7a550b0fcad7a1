//! `oxeron streams`: Aeron's `StreamStat`, the position counters of each stream grouped on one line.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::tools::{CounterRow, StreamKey, SUBSCRIBER_POSITION_TYPE_ID};

/// The counter types StreamStat shows: publisher limit and position, sender position, limit,
/// back-pressure events and NAKs received, receiver high-water mark, position and NAKs sent, subscriber
/// positions.
const STREAM_STAT_TYPES: [i32; 10] = [1, 2, 3, 4, 5, 9, 12, 13, 19, 20];

/// One stream: its key, the longest channel its labels show, and its counters in id order.
#[derive(Debug, Default)]
struct StreamLine {
    channel: String,
    entries: Vec<(String, i64, i64)>,
}

/// The channel a counter's label names, in full (the key may hold it cut short): from `aeron:` to the end,
/// without a subscriber position's ` @joinPosition`.
fn label_channel(row: &CounterRow) -> Option<&str> {
    let start = row.label.find("aeron:")?;
    let channel = &row.label[start..];
    if row.type_id == SUBSCRIBER_POSITION_TYPE_ID {
        if let Some(at) = channel.rfind(" @") {
            return Some(&channel[..at]);
        }
    }
    Some(channel)
}

/// StreamStat's report: one line per (session, stream, channel), sorted by them, each counter as
/// ` name:registrationId:value`.
pub fn format(rows: &[CounterRow]) -> String {
    let mut streams: BTreeMap<(i32, i32, String), StreamLine> = BTreeMap::new();
    for row in rows
        .iter()
        .filter(|row| STREAM_STAT_TYPES.contains(&row.type_id))
    {
        let Some(StreamKey {
            registration_id,
            session_id,
            stream_id,
            channel,
        }) = &row.stream
        else {
            continue;
        };
        let line = streams
            .entry((*session_id, *stream_id, channel.clone()))
            .or_default();
        let full = label_channel(row).unwrap_or(channel);
        if full.len() > line.channel.len() {
            line.channel = full.to_string();
        }
        let name = row.label.split(':').next().unwrap_or_default().to_string();
        line.entries.push((name, *registration_id, row.value));
    }
    let mut out = String::new();
    for ((session_id, stream_id, _), line) in &streams {
        let _ = write!(
            out,
            "sessionId={session_id} streamId={stream_id} channel={} :",
            line.channel
        );
        for (name, registration_id, value) in &line.entries {
            let _ = write!(out, " {name}:{registration_id}:{value}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn row(
        id: i32,
        type_id: i32,
        registration_id: i64,
        value: i64,
        label: &str,
    ) -> CounterRow {
        CounterRow {
            id,
            type_id,
            registration_id,
            owner_id: 0,
            value,
            label: label.to_string(),
            stream: Some(StreamKey {
                registration_id,
                session_id: -7,
                stream_id: 1001,
                channel: "aeron:udp?endpoint=localhost:4".to_string(),
            }),
            status_channel: None,
            system_id: None,
        }
    }

    #[test]
    fn groups_a_stream_on_one_line_with_the_full_channel() {
        let channel = "aeron:udp?endpoint=localhost:40123";
        let rows = [
            row(10, 1, 5, 1024, &format!("pub-lmt: 5 -7 1001 {channel}")),
            row(
                11,
                12,
                5,
                96,
                &format!("pub-pos (exclusive): 5 -7 1001 {channel}"),
            ),
            row(12, 2, 5, 64, &format!("snd-pos: 5 -7 1001 {channel}")),
            row(13, 4, 9, 64, &format!("sub-pos: 9 -7 1001 {channel} @0")),
            row(14, 11, 9, 64, "client-heartbeat: 9"),
        ];
        assert_eq!(
            format(&rows),
            format!(
                "sessionId=-7 streamId=1001 channel={channel} : pub-lmt:5:1024 pub-pos (exclusive):5:96 \
                 snd-pos:5:64 sub-pos:9:64\n"
            )
        );
    }
}
