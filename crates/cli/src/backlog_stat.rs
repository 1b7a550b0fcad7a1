//! `oxeron backlog`: Aeron's `BacklogStat`, how far each stream's sender and subscribers are behind.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::tools::{
    CounterRow, PER_IMAGE_TYPE_ID, PUBLISHER_LIMIT_TYPE_ID, PUBLISHER_POSITION_TYPE_ID,
    RECEIVER_HWM_TYPE_ID, RECEIVER_POSITION_TYPE_ID, SENDER_LIMIT_TYPE_ID, SENDER_POSITION_TYPE_ID,
    SUBSCRIBER_POSITION_TYPE_ID,
};

/// What one stream's counters say.
#[derive(Debug, Default)]
struct StreamBacklog {
    publisher: Option<(i64, Option<i64>, Option<i64>)>,
    sender: Option<(i64, Option<i64>, Option<i64>)>,
    receiver: Option<(i64, Option<i64>, Option<i64>)>,
    subscribers: BTreeMap<i64, i64>,
}

/// Sets `slot` to (registration id, ...) and fills in the position (`first`) or the limit/HWM (`second`).
fn note(
    slot: &mut Option<(i64, Option<i64>, Option<i64>)>,
    registration_id: i64,
    first: Option<i64>,
    second: Option<i64>,
) {
    let entry = slot.get_or_insert((registration_id, None, None));
    entry.0 = registration_id;
    entry.1 = first.or(entry.1);
    entry.2 = second.or(entry.2);
}

/// BacklogStat's report, one block per (session, stream, channel), sorted by them (Java's order is a hash
/// map's): the publisher's position and its room before back pressure, the sender's backlog and window, the
/// receiver's position and each subscriber's backlog behind the receiver's high-water mark.
pub fn format(rows: &[CounterRow]) -> String {
    let mut streams: BTreeMap<(i32, i32, String), StreamBacklog> = BTreeMap::new();
    for row in rows {
        let Some(key) = &row.stream else { continue };
        let (registration_id, value) = (key.registration_id, Some(row.value));
        let group = || (key.session_id, key.stream_id, key.channel.clone());
        match row.type_id {
            PUBLISHER_POSITION_TYPE_ID => note(
                &mut streams.entry(group()).or_default().publisher,
                registration_id,
                value,
                None,
            ),
            PUBLISHER_LIMIT_TYPE_ID => note(
                &mut streams.entry(group()).or_default().publisher,
                registration_id,
                None,
                value,
            ),
            SENDER_POSITION_TYPE_ID => note(
                &mut streams.entry(group()).or_default().sender,
                registration_id,
                value,
                None,
            ),
            SENDER_LIMIT_TYPE_ID => note(
                &mut streams.entry(group()).or_default().sender,
                registration_id,
                None,
                value,
            ),
            RECEIVER_POSITION_TYPE_ID => note(
                &mut streams.entry(group()).or_default().receiver,
                registration_id,
                value,
                None,
            ),
            RECEIVER_HWM_TYPE_ID => note(
                &mut streams.entry(group()).or_default().receiver,
                registration_id,
                None,
                value,
            ),
            SUBSCRIBER_POSITION_TYPE_ID => {
                streams
                    .entry(group())
                    .or_default()
                    .subscribers
                    .insert(registration_id, row.value);
            }
            PER_IMAGE_TYPE_ID => {
                streams.entry(group()).or_default();
            }
            _ => {}
        }
    }
    let mut out = String::new();
    for ((session_id, stream_id, channel), stream) in &streams {
        let _ = write!(
            out,
            "sessionId={session_id} streamId={stream_id} channel={channel} : "
        );
        if let Some((publisher, position, limit)) = stream.publisher {
            let position = position.unwrap_or(0);
            let _ = write!(
                out,
                "\n┌─for publisher {publisher} the last sampled position is {position} (~{} bytes before \
                 back-pressure)",
                limit.unwrap_or(0) - position
            );
            match stream.sender {
                Some((sender, sender_position, sender_limit)) => {
                    let sender_position = sender_position.unwrap_or(0);
                    let backlog = position - sender_position;
                    let _ = write!(out, "\n└─sender {sender}");
                    if backlog >= 0 {
                        let _ = write!(out, " has to send {backlog} bytes");
                    } else {
                        let _ = write!(out, " is at position {sender_position}");
                    }
                    let _ = write!(
                        out,
                        " ({} bytes remaining in the sender window)",
                        sender_limit.unwrap_or(0) - sender_position
                    );
                }
                None => out.push_str("\n└─no sender"),
            }
        }
        if let Some((receiver, position, hwm)) = stream.receiver {
            let _ = write!(
                out,
                "\n┌─receiver {receiver} is at position {}",
                position.unwrap_or(0)
            );
            let last = stream.subscribers.len();
            for (n, (subscriber, subscriber_position)) in stream.subscribers.iter().enumerate() {
                let branch = if n + 1 == last { '└' } else { '├' };
                let _ = write!(
                    out,
                    "\n{branch}─subscriber {subscriber} has {} backlog bytes",
                    hwm.unwrap_or(0) - subscriber_position
                );
            }
        }
        out.push_str("\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::StreamKey;

    fn row(type_id: i32, registration_id: i64, value: i64) -> CounterRow {
        CounterRow {
            id: 0,
            type_id,
            registration_id,
            owner_id: 0,
            value,
            label: String::new(),
            stream: Some(StreamKey {
                registration_id,
                session_id: 3,
                stream_id: 1001,
                channel: "aeron:udp?endpoint=localhost:40123".to_string(),
            }),
            status_channel: None,
            system_id: None,
        }
    }

    #[test]
    fn reports_sender_and_subscriber_backlogs() {
        let rows = [
            row(PUBLISHER_LIMIT_TYPE_ID, 5, 4096),
            row(PUBLISHER_POSITION_TYPE_ID, 5, 1024),
            row(SENDER_POSITION_TYPE_ID, 5, 768),
            row(SENDER_LIMIT_TYPE_ID, 5, 2048),
            row(RECEIVER_HWM_TYPE_ID, 8, 768),
            row(RECEIVER_POSITION_TYPE_ID, 8, 768),
            row(SUBSCRIBER_POSITION_TYPE_ID, 9, 512),
            row(SUBSCRIBER_POSITION_TYPE_ID, 10, 768),
        ];
        assert_eq!(
            format(&rows),
            "sessionId=3 streamId=1001 channel=aeron:udp?endpoint=localhost:40123 : \n\
             ┌─for publisher 5 the last sampled position is 1024 (~3072 bytes before back-pressure)\n\
             └─sender 5 has to send 256 bytes (1280 bytes remaining in the sender window)\n\
             ┌─receiver 8 is at position 768\n\
             ├─subscriber 9 has 256 backlog bytes\n\
             └─subscriber 10 has 0 backlog bytes\n\n"
        );
    }
}
