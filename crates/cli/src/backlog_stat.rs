//! `oxeron backlog`: Aeron's `BacklogStat`, how far each stream's sender and subscribers are behind.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::tools::{
    CounterRow, PER_IMAGE_TYPE_ID, PUBLISHER_LIMIT_TYPE_ID, PUBLISHER_POSITION_TYPE_ID,
    RECEIVER_HWM_TYPE_ID, RECEIVER_POSITION_TYPE_ID, SENDER_LIMIT_TYPE_ID, SENDER_POSITION_TYPE_ID,
    SUBSCRIBER_POSITION_TYPE_ID,
};

/// The counter types BacklogStat reads.
const BACKLOG_STAT_TYPES: [i32; 8] = [
    PUBLISHER_LIMIT_TYPE_ID,
    SENDER_POSITION_TYPE_ID,
    RECEIVER_HWM_TYPE_ID,
    SUBSCRIBER_POSITION_TYPE_ID,
    RECEIVER_POSITION_TYPE_ID,
    SENDER_LIMIT_TYPE_ID,
    PER_IMAGE_TYPE_ID,
    PUBLISHER_POSITION_TYPE_ID,
];

/// A publisher, sender or receiver: its registration id, position, and limit (or high-water mark).
#[derive(Debug, Clone, Copy, Default)]
struct Entity {
    registration_id: i64,
    position: i64,
    limit: i64,
}

/// What one stream's counters say.
#[derive(Debug, Default)]
struct StreamBacklog {
    publisher: Option<Entity>,
    sender: Option<Entity>,
    receiver: Option<Entity>,
    subscribers: BTreeMap<i64, i64>,
}

/// BacklogStat's report, one block per (session, stream, channel), sorted by them (Java's order is a hash
/// map's): the publisher's position and its room before back pressure, the sender's backlog and window, the
/// receiver's position and each subscriber's backlog behind the receiver's high-water mark.
pub fn format(rows: &[CounterRow]) -> String {
    let mut streams: BTreeMap<(i32, i32, String), StreamBacklog> = BTreeMap::new();
    for row in rows {
        let Some(key) = &row.stream else { continue };
        if !BACKLOG_STAT_TYPES.contains(&row.type_id) {
            continue;
        }
        let stream = streams
            .entry((key.session_id, key.stream_id, key.channel.clone()))
            .or_default();
        // The entity the counter belongs to, and whether it is that entity's position or its limit.
        let (entity, is_position) = match row.type_id {
            PUBLISHER_POSITION_TYPE_ID => (&mut stream.publisher, true),
            PUBLISHER_LIMIT_TYPE_ID => (&mut stream.publisher, false),
            SENDER_POSITION_TYPE_ID => (&mut stream.sender, true),
            SENDER_LIMIT_TYPE_ID => (&mut stream.sender, false),
            RECEIVER_POSITION_TYPE_ID => (&mut stream.receiver, true),
            RECEIVER_HWM_TYPE_ID => (&mut stream.receiver, false),
            SUBSCRIBER_POSITION_TYPE_ID => {
                stream.subscribers.insert(key.registration_id, row.value);
                continue;
            }
            // A per-image indicator: the stream shows, with nothing to say about it.
            _ => continue,
        };
        let entity = entity.get_or_insert_with(Entity::default);
        entity.registration_id = key.registration_id;
        if is_position {
            entity.position = row.value;
        } else {
            entity.limit = row.value;
        }
    }
    let mut out = String::new();
    for ((session_id, stream_id, channel), stream) in &streams {
        let _ = write!(
            out,
            "sessionId={session_id} streamId={stream_id} channel={channel} : "
        );
        if let Some(publisher) = stream.publisher {
            let position = publisher.position;
            let _ = write!(
                out,
                "\n┌─for publisher {} the last sampled position is {position} (~{} bytes before \
                 back-pressure)",
                publisher.registration_id,
                publisher.limit - position
            );
            match stream.sender {
                Some(sender) => {
                    let sender_position = sender.position;
                    let backlog = position - sender_position;
                    let _ = write!(out, "\n└─sender {}", sender.registration_id);
                    if backlog >= 0 {
                        let _ = write!(out, " has to send {backlog} bytes");
                    } else {
                        let _ = write!(out, " is at position {sender_position}");
                    }
                    let _ = write!(
                        out,
                        " ({} bytes remaining in the sender window)",
                        sender.limit - sender_position
                    );
                }
                None => out.push_str("\n└─no sender"),
            }
        }
        if let Some(receiver) = stream.receiver {
            let _ = write!(
                out,
                "\n┌─receiver {} is at position {}",
                receiver.registration_id, receiver.position
            );
            let last = stream.subscribers.len();
            for (n, (subscriber, subscriber_position)) in stream.subscribers.iter().enumerate() {
                let branch = if n + 1 == last { '└' } else { '├' };
                let _ = write!(
                    out,
                    "\n{branch}─subscriber {subscriber} has {} backlog bytes",
                    receiver.limit - subscriber_position
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
