//! Channel rules of the archive: the stripped channel a recording is catalogued under, the channel a
//! recording subscribes with, the replay publication's channel and the recording position counter's key.

use oxeron_protocol::archive::{RecordingDescriptor, SourceLocation};
use oxeron_protocol::uri::ChannelUri;

/// Parameters that identify a stream and survive stripping; the rest (term length, MTU, linger, ...) only
/// tune it.
const KEPT_PARAMS: &[&str] = &[
    "endpoint",
    "interface",
    "control",
    "control-mode",
    "session-id",
    "tags",
    "rejoin",
    "group",
    "tether",
    "fc",
    "gtag",
    "cc",
    "so-sndbuf",
    "so-rcvbuf",
    "rcv-wnd",
    "alias",
    "channel-snd-ts-offset",
    "channel-rcv-ts-offset",
    "media-rcv-ts-offset",
    "response-correlation-id",
    "response-endpoint",
    "ttl",
    "stream-id",
];

/// The order in which Java's `ChannelUriStringBuilder` writes parameters, so that channels the archive
/// builds (and stores in the catalog) are the same strings the Java archive would store.
const JAVA_ORDER: &[&str] = &[
    "tags",
    "endpoint",
    "interface",
    "control",
    "control-mode",
    "mtu",
    "term-length",
    "init-term-id",
    "term-id",
    "term-offset",
    "session-id",
    "ttl",
    "reliable",
    "linger",
    "alias",
    "cc",
    "fc",
    "gtag",
    "sparse",
    "eos",
    "tether",
    "group",
    "rejoin",
    "ssc",
    "so-sndbuf",
    "so-rcvbuf",
    "so-tos",
    "rcv-wnd",
    "media-rcv-ts-offset",
    "channel-rcv-ts-offset",
    "channel-snd-ts-offset",
    "response-endpoint",
    "response-correlation-id",
    "nak-delay",
    "untethered-window-limit-timeout",
    "untethered-linger-timeout",
    "untethered-resting-timeout",
    "max-resend",
    "stream-id",
    "pub-wnd",
];

/// Builds a channel of `media` from `params`, written in Java's order.
fn build(uri: &ChannelUri, mut params: Vec<(String, String)>) -> String {
    params.sort_by_key(|(key, _)| {
        JAVA_ORDER
            .iter()
            .position(|k| k == key)
            .unwrap_or(usize::MAX)
    });
    let mut channel = ChannelUri::new(uri.media());
    for (key, value) in &params {
        let _ = channel.set(key, value);
    }
    channel.to_string()
}

fn kept_params(uri: &ChannelUri) -> Vec<(String, String)> {
    uri.params()
        .filter(|(key, _)| KEPT_PARAMS.contains(key))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The channel with only the parameters that identify the stream (Java's `strippedChannelBuilder`), e.g.
/// `aeron:ipc?term-length=65536` gives `aeron:ipc`.
pub(crate) fn strip_channel(uri: &ChannelUri) -> String {
    build(uri, kept_params(uri))
}

/// Term geometry of the control streams where the client's channel does not say (the archive's
/// `control.term.buffer.length`, `control.mtu.length` and `control.term.buffer.sparse` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ControlTerm {
    pub(crate) term_length: i32,
    pub(crate) mtu: i32,
    pub(crate) sparse: bool,
}

/// The control response publication's channel: stripped, with the term length, sparseness and MTU taken
/// from the client's channel or else from `defaults`.
pub(crate) fn control_response_channel(uri: &ChannelUri, defaults: ControlTerm) -> String {
    let mut params = kept_params(uri);
    for (key, default) in [
        ("term-length", defaults.term_length.to_string()),
        ("sparse", defaults.sparse.to_string()),
        ("mtu", defaults.mtu.to_string()),
    ] {
        let value = uri.get(key).map_or(default, str::to_string);
        params.push((key.to_string(), value));
    }
    build(uri, params)
}

/// The control request subscription's channel: as configured, with the control sparseness unless the
/// channel sets its own, as Java's archive subscribes.
pub(crate) fn control_subscription_channel(channel: &str, sparse: bool) -> String {
    match ChannelUri::parse(channel) {
        Ok(mut uri) if uri.get("sparse").is_none() => {
            let _ = uri.set("sparse", &sparse.to_string());
            uri.to_string()
        }
        _ => channel.to_string(),
    }
}

/// What a recording subscribes to: a local UDP source is read through a spy, without the network.
pub(crate) fn recording_subscription_channel(
    uri: &ChannelUri,
    source_location: SourceLocation,
) -> String {
    let stripped = strip_channel(uri);
    if source_location == SourceLocation::Local && uri.is_udp() {
        format!("aeron-spy:{stripped}")
    } else {
        stripped
    }
}

/// The replay publication's channel: the requested channel's identifying parameters plus the recording's
/// term geometry, so that the replayed stream starts at `position` with the recorded term ids, and a
/// linger of `linger` unless the requested channel has one.
pub(crate) fn replay_channel(
    uri: &ChannelUri,
    d: &RecordingDescriptor<'_>,
    position: i64,
    linger: std::time::Duration,
) -> String {
    let mut channel = ChannelUri::new(uri.media());
    for (key, value) in uri.params() {
        if KEPT_PARAMS.contains(&key) || matches!(key, "eos" | "sparse" | "linger") {
            let _ = channel.set(key, value);
        }
    }
    let bits = d.term_buffer_length.trailing_zeros();
    let term_id = d.initial_term_id.wrapping_add((position >> bits) as i32);
    let term_offset = position & (i64::from(d.term_buffer_length) - 1);
    let _ = channel.set("init-term-id", &d.initial_term_id.to_string());
    let _ = channel.set("term-id", &term_id.to_string());
    let _ = channel.set("term-offset", &term_offset.to_string());
    let _ = channel.set("term-length", &d.term_buffer_length.to_string());
    let _ = channel.set("mtu", &d.mtu_length.to_string());
    if uri.get("linger").is_none() {
        let _ = channel.set("linger", &linger.as_nanos().to_string());
    }
    channel.to_string()
}

/// Longest counter key.
const MAX_KEY_LENGTH: usize = 112;

/// Key and label of a recording position counter (Java's `RecordingPos`): recording id (i64), session id
/// (i32), source identity (i32 length + bytes, cut to fit), archive id (i64).
pub(crate) fn recording_position_key(
    recording_id: i64,
    session_id: i32,
    source_identity: &str,
    archive_id: i64,
    stream_id: i32,
    stripped_channel: &str,
) -> (Vec<u8>, String) {
    let identity = source_identity.as_bytes();
    let identity = &identity[..identity.len().min(MAX_KEY_LENGTH - 24)];
    let mut key = Vec::with_capacity(24 + identity.len());
    key.extend_from_slice(&recording_id.to_le_bytes());
    key.extend_from_slice(&session_id.to_le_bytes());
    key.extend_from_slice(&(identity.len() as i32).to_le_bytes());
    key.extend_from_slice(identity);
    key.extend_from_slice(&archive_id.to_le_bytes());
    let label = format!(
        "rec-pos: {recording_id} {session_id} {stream_id} {stripped_channel} - archiveId={archive_id}"
    );
    (key, label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripping_keeps_identity_and_drops_tuning() {
        let uri = ChannelUri::parse("aeron:ipc?term-length=65536").unwrap();
        assert_eq!(strip_channel(&uri), "aeron:ipc");
        let uri =
            ChannelUri::parse("aeron:udp?endpoint=localhost:24500|term-length=65536").unwrap();
        assert_eq!(strip_channel(&uri), "aeron:udp?endpoint=localhost:24500");
    }

    #[test]
    fn parameters_come_out_in_java_order() {
        let uri = ChannelUri::parse("aeron:udp?session-id=7|mtu=1408|endpoint=localhost:8020|term-length=65536|sparse=true|alias=x").unwrap();
        assert_eq!(
            strip_channel(&uri),
            "aeron:udp?endpoint=localhost:8020|session-id=7|alias=x"
        );
        // What the Java client sent in the golden capture comes back unchanged.
        let sent = "aeron:udp?endpoint=localhost:8020|session-id=-454188837|term-length=65536|sparse=true|mtu=1408";
        let response = control_response_channel(&ChannelUri::parse(sent).unwrap(), DEFAULTS);
        assert_eq!(response, "aeron:udp?endpoint=localhost:8020|mtu=1408|term-length=65536|session-id=-454188837|sparse=true");
    }

    const DEFAULTS: ControlTerm = ControlTerm {
        term_length: 64 * 1024,
        mtu: 1408,
        sparse: true,
    };

    #[test]
    fn control_term_settings_fill_in_what_the_client_channel_leaves_out() {
        let settings = ControlTerm {
            term_length: 256 * 1024,
            mtu: 8192,
            sparse: false,
        };
        let bare = ChannelUri::parse("aeron:udp?endpoint=localhost:8020").unwrap();
        assert_eq!(
            control_response_channel(&bare, settings),
            "aeron:udp?endpoint=localhost:8020|mtu=8192|term-length=262144|sparse=false"
        );
        let own = ChannelUri::parse("aeron:udp?endpoint=localhost:8020|term-length=65536").unwrap();
        assert!(control_response_channel(&own, settings).contains("term-length=65536"));
        assert_eq!(
            control_subscription_channel("aeron:udp?endpoint=localhost:8010", false),
            "aeron:udp?endpoint=localhost:8010|sparse=false"
        );
        assert_eq!(
            control_subscription_channel("aeron:udp?endpoint=localhost:8010|sparse=true", false),
            "aeron:udp?endpoint=localhost:8010|sparse=true"
        );
    }

    #[test]
    fn local_udp_sources_are_recorded_through_a_spy() {
        let uri = ChannelUri::parse("aeron:udp?endpoint=localhost:24500").unwrap();
        let channel = recording_subscription_channel(&uri, SourceLocation::Local);
        assert_eq!(channel, "aeron-spy:aeron:udp?endpoint=localhost:24500");
        let ipc = ChannelUri::parse("aeron:ipc?term-length=65536").unwrap();
        assert_eq!(
            recording_subscription_channel(&ipc, SourceLocation::Local),
            "aeron:ipc"
        );
    }
}
