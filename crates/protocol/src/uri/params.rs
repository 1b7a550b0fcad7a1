//! Parameter names Aeron 1.54 knows (`CommonContext.java`, `aeron_uri.h`) and typed accessors for them.
//!
//! Each accessor returns `Ok(None)` when the key is absent, the typed value when it parses and passes the checks
//! the C driver applies to that value alone, and [`UriError::InvalidValue`] naming key, value and reason otherwise.
//! Rules that involve several parameters are in [`ChannelUri::validate`].

use std::fmt;
use std::time::Duration;

use super::units::{parse_bool, parse_duration, parse_int, parse_size};
use super::{ChannelUri, InterfaceAddress, Media, SocketAddress, UriError, TAG_PREFIX};

/// `endpoint`: where a publication sends, or what a subscription binds (`host:port`).
pub const ENDPOINT_PARAM_NAME: &str = "endpoint";
/// `interface`: local interface for multicast or binding (`addr[:port][/prefix]`).
pub const INTERFACE_PARAM_NAME: &str = "interface";
/// `init-term-id`: initial term id of an exclusive publication.
pub const INITIAL_TERM_ID_PARAM_NAME: &str = "init-term-id";
/// `term-id`: current term id of an exclusive publication.
pub const TERM_ID_PARAM_NAME: &str = "term-id";
/// `term-offset`: current term offset of an exclusive publication.
pub const TERM_OFFSET_PARAM_NAME: &str = "term-offset";
/// `term-length`: length of each of the three terms.
pub const TERM_LENGTH_PARAM_NAME: &str = "term-length";
/// `mtu`: maximum frame length.
pub const MTU_LENGTH_PARAM_NAME: &str = "mtu";
/// `ttl`: multicast time to live.
pub const TTL_PARAM_NAME: &str = "ttl";
/// `control`: control address for multi-destination-cast and response channels.
pub const MDC_CONTROL_PARAM_NAME: &str = "control";
/// `control-mode`: `manual`, `dynamic` or `response`.
pub const MDC_CONTROL_MODE_PARAM_NAME: &str = "control-mode";
/// `control-mode` value for manual multi-destination-cast.
pub const MDC_CONTROL_MODE_MANUAL: &str = "manual";
/// `control-mode` value for dynamic multi-destination-cast.
pub const MDC_CONTROL_MODE_DYNAMIC: &str = "dynamic";
/// `control-mode` value for response channels.
pub const CONTROL_MODE_RESPONSE: &str = "response";
/// `session-id`: fixed session id (or `tag:<n>` on a publication).
pub const SESSION_ID_PARAM_NAME: &str = "session-id";
/// `linger`: how long a publication lingers after draining.
pub const LINGER_PARAM_NAME: &str = "linger";
/// `reliable`: whether a subscription recovers loss (true) or gap-fills (false).
pub const RELIABLE_STREAM_PARAM_NAME: &str = "reliable";
/// `tags`: `<channel tag>[,<entity tag>]`.
pub const TAGS_PARAM_NAME: &str = "tags";
/// `sparse`: whether term buffers are sparse files.
pub const SPARSE_PARAM_NAME: &str = "sparse";
/// `alias`: free text, ignored by Aeron.
pub const ALIAS_PARAM_NAME: &str = "alias";
/// `eos`: whether a publication sends end of stream on close.
pub const EOS_PARAM_NAME: &str = "eos";
/// `tether`: whether a subscription takes part in local flow control.
pub const TETHER_PARAM_NAME: &str = "tether";
/// `group`: `true`, `false` or `infer`: whether the subscription is a group member.
pub const GROUP_PARAM_NAME: &str = "group";
/// `rejoin`: whether an image may rejoin after going away.
pub const REJOIN_PARAM_NAME: &str = "rejoin";
/// `cc`: congestion control, `static` or `cubic`.
pub const CONGESTION_CONTROL_PARAM_NAME: &str = "cc";
/// `fc`: flow control strategy and options.
pub const FLOW_CONTROL_PARAM_NAME: &str = "fc";
/// `gtag`: receiver group tag sent in status messages.
pub const GROUP_TAG_PARAM_NAME: &str = "gtag";
/// `ssc`: whether spies simulate a connection.
pub const SPIES_SIMULATE_CONNECTION_PARAM_NAME: &str = "ssc";
/// `so-sndbuf`: socket send buffer length.
pub const SOCKET_SNDBUF_PARAM_NAME: &str = "so-sndbuf";
/// `so-rcvbuf`: socket receive buffer length.
pub const SOCKET_RCVBUF_PARAM_NAME: &str = "so-rcvbuf";
/// `rcv-wnd`: initial receiver window length.
pub const RECEIVER_WINDOW_LENGTH_PARAM_NAME: &str = "rcv-wnd";
/// `media-rcv-ts-offset`: where to write the media receive timestamp.
pub const MEDIA_RCV_TIMESTAMP_OFFSET_PARAM_NAME: &str = "media-rcv-ts-offset";
/// `channel-rcv-ts-offset`: where to write the channel receive timestamp.
pub const CHANNEL_RECEIVE_TIMESTAMP_OFFSET_PARAM_NAME: &str = "channel-rcv-ts-offset";
/// `channel-snd-ts-offset`: where to write the channel send timestamp.
pub const CHANNEL_SEND_TIMESTAMP_OFFSET_PARAM_NAME: &str = "channel-snd-ts-offset";
/// Timestamp offset value meaning "the reserved value field".
pub const RESERVED_OFFSET: &str = "reserved";
/// `response-endpoint`: response address (Java URI builder).
pub const RESPONSE_ENDPOINT_PARAM_NAME: &str = "response-endpoint";
/// `response-correlation-id`: links a response publication to a subscription's image.
pub const RESPONSE_CORRELATION_ID_PARAM_NAME: &str = "response-correlation-id";
/// `response-correlation-id` value for a pre-created response publication.
pub const PROTOTYPE_CORRELATION_ID: &str = "prototype";
/// `nak-delay`: explicit NAK delay.
pub const NAK_DELAY_PARAM_NAME: &str = "nak-delay";
/// `untethered-window-limit-timeout`.
pub const UNTETHERED_WINDOW_LIMIT_TIMEOUT_PARAM_NAME: &str = "untethered-window-limit-timeout";
/// `untethered-linger-timeout`.
pub const UNTETHERED_LINGER_TIMEOUT_PARAM_NAME: &str = "untethered-linger-timeout";
/// `untethered-resting-timeout`.
pub const UNTETHERED_RESTING_TIMEOUT_PARAM_NAME: &str = "untethered-resting-timeout";
/// `max-resend`: max outstanding retransmits of a publication (1..=256).
pub const MAX_RESEND_PARAM_NAME: &str = "max-resend";
/// `stream-id`: stream id the channel is meant for.
pub const STREAM_ID_PARAM_NAME: &str = "stream-id";
/// `pub-wnd`: publication window length.
pub const PUBLICATION_WINDOW_LENGTH_PARAM_NAME: &str = "pub-wnd";
/// `ats`: Aeron transport security on or off.
pub const ATS_PARAM_NAME: &str = "ats";

/// Every parameter name Aeron 1.54 interprets.
pub const KNOWN_PARAM_NAMES: &[&str] = &[
    ENDPOINT_PARAM_NAME,
    INTERFACE_PARAM_NAME,
    INITIAL_TERM_ID_PARAM_NAME,
    TERM_ID_PARAM_NAME,
    TERM_OFFSET_PARAM_NAME,
    TERM_LENGTH_PARAM_NAME,
    MTU_LENGTH_PARAM_NAME,
    TTL_PARAM_NAME,
    MDC_CONTROL_PARAM_NAME,
    MDC_CONTROL_MODE_PARAM_NAME,
    SESSION_ID_PARAM_NAME,
    LINGER_PARAM_NAME,
    RELIABLE_STREAM_PARAM_NAME,
    TAGS_PARAM_NAME,
    SPARSE_PARAM_NAME,
    ALIAS_PARAM_NAME,
    EOS_PARAM_NAME,
    TETHER_PARAM_NAME,
    GROUP_PARAM_NAME,
    REJOIN_PARAM_NAME,
    CONGESTION_CONTROL_PARAM_NAME,
    FLOW_CONTROL_PARAM_NAME,
    GROUP_TAG_PARAM_NAME,
    SPIES_SIMULATE_CONNECTION_PARAM_NAME,
    SOCKET_SNDBUF_PARAM_NAME,
    SOCKET_RCVBUF_PARAM_NAME,
    RECEIVER_WINDOW_LENGTH_PARAM_NAME,
    MEDIA_RCV_TIMESTAMP_OFFSET_PARAM_NAME,
    CHANNEL_RECEIVE_TIMESTAMP_OFFSET_PARAM_NAME,
    CHANNEL_SEND_TIMESTAMP_OFFSET_PARAM_NAME,
    RESPONSE_ENDPOINT_PARAM_NAME,
    RESPONSE_CORRELATION_ID_PARAM_NAME,
    NAK_DELAY_PARAM_NAME,
    UNTETHERED_WINDOW_LIMIT_TIMEOUT_PARAM_NAME,
    UNTETHERED_LINGER_TIMEOUT_PARAM_NAME,
    UNTETHERED_RESTING_TIMEOUT_PARAM_NAME,
    MAX_RESEND_PARAM_NAME,
    STREAM_ID_PARAM_NAME,
    PUBLICATION_WINDOW_LENGTH_PARAM_NAME,
    ATS_PARAM_NAME,
];

/// Smallest term length (64 KiB).
pub const TERM_MIN_LENGTH: u32 = 64 * 1024;
/// Largest term length (1 GiB).
pub const TERM_MAX_LENGTH: u32 = 1024 * 1024 * 1024;
/// Frame alignment that MTUs and term offsets are multiples of.
pub const FRAME_ALIGNMENT: u32 = 32;
/// Largest MTU: the largest UDP payload (65,535 - 8 - 20, rounded down to 32).
pub const MAX_MTU_LENGTH: u32 = 65504;
/// Data frame header length; the MTU must be greater.
pub const DATA_HEADER_LENGTH: u32 = 32;
/// Largest `max-resend`.
pub const MAX_RESEND_MAX: u32 = 256;

/// `control-mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlMode {
    /// Destinations added by the client (multi-destination-cast).
    Manual,
    /// Destinations learned from status messages at the control address.
    Dynamic,
    /// Response channel (request/response).
    Response,
}

impl ControlMode {
    /// The value as written in a URI.
    pub const fn as_str(self) -> &'static str {
        match self {
            ControlMode::Manual => MDC_CONTROL_MODE_MANUAL,
            ControlMode::Dynamic => MDC_CONTROL_MODE_DYNAMIC,
            ControlMode::Response => CONTROL_MODE_RESPONSE,
        }
    }
}

/// `group` values (`CommonContext.InferableBoolean`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InferableBoolean {
    /// `false`.
    ForceFalse,
    /// `true`.
    ForceTrue,
    /// `infer`: decided from the channel (multicast and MDC are groups).
    Infer,
}

impl InferableBoolean {
    /// The value as written in a URI.
    pub const fn as_str(self) -> &'static str {
        match self {
            InferableBoolean::ForceFalse => "false",
            InferableBoolean::ForceTrue => "true",
            InferableBoolean::Infer => "infer",
        }
    }
}

/// `cc` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CongestionControl {
    /// Static window (the default).
    Static,
    /// CUBIC.
    Cubic,
}

impl CongestionControl {
    /// The value as written in a URI.
    pub const fn as_str(self) -> &'static str {
        match self {
            CongestionControl::Static => "static",
            CongestionControl::Cubic => "cubic",
        }
    }
}

/// `session-id` value: a number, or on a publication `tag:<n>` (reuse the session of the tagged publication).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionIdParam {
    /// A fixed session id.
    Id(i32),
    /// `tag:<n>`: the session id of the network publication with that tag.
    Tag(i64),
}

impl fmt::Display for SessionIdParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionIdParam::Id(id) => write!(f, "{id}"),
            SessionIdParam::Tag(tag) => write!(f, "{TAG_PREFIX}{tag}"),
        }
    }
}

/// `tags` value: `<channel tag>[,<entity tag>]`; either part may be empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Tags {
    /// Tag of the channel, shared by entities that use `tag:<n>` references.
    pub channel: Option<i64>,
    /// Tag of this publication or subscription.
    pub entity: Option<i64>,
}

impl fmt::Display for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(channel) = self.channel {
            write!(f, "{channel}")?;
        }
        if let Some(entity) = self.entity {
            write!(f, ",{entity}")?;
        }
        Ok(())
    }
}

/// Timestamp offset values (`media-rcv-ts-offset`, `channel-rcv-ts-offset`, `channel-snd-ts-offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampOffset {
    /// `reserved`: write the timestamp into the frame's reserved value field.
    Reserved,
    /// Byte offset into the payload.
    Offset(i32),
}

impl fmt::Display for TimestampOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimestampOffset::Reserved => f.write_str(RESERVED_OFFSET),
            TimestampOffset::Offset(offset) => write!(f, "{offset}"),
        }
    }
}

/// `response-correlation-id` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseCorrelationId {
    /// `prototype`: a response publication created ahead of time to hold its port.
    Prototype,
    /// Registration id of the subscription (or image correlation id) to respond to; >= -1.
    Id(i64),
}

impl fmt::Display for ResponseCorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseCorrelationId::Prototype => f.write_str(PROTOTYPE_CORRELATION_ID),
            ResponseCorrelationId::Id(id) => write!(f, "{id}"),
        }
    }
}

/// Named flow control strategies (`fc=<name>,...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowControlStrategy {
    /// `max`: follow the fastest receiver.
    Max,
    /// `min`: follow the slowest receiver.
    Min,
    /// `tagged`: follow the slowest receiver among those with the group tag.
    Tagged,
}

impl FlowControlStrategy {
    /// The name as written in a URI.
    pub const fn as_str(self) -> &'static str {
        match self {
            FlowControlStrategy::Max => "max",
            FlowControlStrategy::Min => "min",
            FlowControlStrategy::Tagged => "tagged",
        }
    }
}

/// `fc` value: `<name>[,t:<duration>][,g:<tag>[/<min size>]][,g:/<min size>][,rrwm:<n>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowControl {
    /// The strategy.
    pub strategy: FlowControlStrategy,
    /// `t:` receiver timeout.
    pub receiver_timeout: Option<Duration>,
    /// `g:<tag>` group tag.
    pub group_tag: Option<i64>,
    /// `g:.../<n>` minimum group size.
    pub group_min_size: Option<i32>,
    /// `rrwm:` retransmit receiver window multiple.
    pub rrwm: Option<u32>,
}

impl FlowControl {
    /// A strategy with no options.
    pub const fn new(strategy: FlowControlStrategy) -> Self {
        FlowControl {
            strategy,
            receiver_timeout: None,
            group_tag: None,
            group_min_size: None,
            rrwm: None,
        }
    }

    /// Parses an `fc` value. Returns a reason on failure.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = s.split(',');
        let strategy = match parts.next().unwrap_or_default() {
            "max" => FlowControlStrategy::Max,
            "min" => FlowControlStrategy::Min,
            "tagged" => FlowControlStrategy::Tagged,
            other => {
                return Err(format!(
                    "unknown strategy \"{other}\" (expected max, min or tagged)"
                ))
            }
        };
        let mut fc = FlowControl::new(strategy);
        for option in parts {
            if let Some(timeout) = option.strip_prefix("t:") {
                fc.receiver_timeout = Some(parse_duration(timeout).map_err(|e| format!("t: {e}"))?);
            } else if let Some(group) = option.strip_prefix("g:") {
                let (tag, size) = match group.split_once('/') {
                    Some((tag, size)) => (tag, Some(size)),
                    None => (group, None),
                };
                if tag.is_empty() && size.is_none() {
                    return Err("g: needs a tag or /<min size>".to_owned());
                }
                if !tag.is_empty() {
                    fc.group_tag = Some(parse_int::<i64>(tag).map_err(|e| format!("g: tag {e}"))?);
                }
                if let Some(size) = size {
                    let size =
                        parse_int::<i32>(size)
                            .ok()
                            .filter(|&n| n >= 0)
                            .ok_or_else(|| {
                                format!(
                                    "g: min size \"{size}\" is not an integer in 0..=2147483647"
                                )
                            })?;
                    fc.group_min_size = Some(size);
                }
            } else if let Some(rrwm) = option.strip_prefix("rrwm:") {
                fc.rrwm = Some(parse_int::<u32>(rrwm).map_err(|e| format!("rrwm: {e}"))?);
            } else {
                return Err(format!("unknown option \"{option}\""));
            }
        }
        Ok(fc)
    }
}

impl fmt::Display for FlowControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.strategy.as_str())?;
        if let Some(timeout) = self.receiver_timeout {
            write!(f, ",t:{}", super::format_duration(timeout))?;
        }
        match (self.group_tag, self.group_min_size) {
            (Some(tag), Some(size)) => write!(f, ",g:{tag}/{size}")?,
            (Some(tag), None) => write!(f, ",g:{tag}")?,
            (None, Some(size)) => write!(f, ",g:/{size}")?,
            (None, None) => {}
        }
        if let Some(rrwm) = self.rrwm {
            write!(f, ",rrwm:{rrwm}")?;
        }
        Ok(())
    }
}

fn tag_value(key: &str, value: &str, part: &str) -> Result<Option<i64>, UriError> {
    if part.is_empty() {
        return Ok(None);
    }
    parse_int::<i64>(part)
        .map(Some)
        .map_err(|e| UriError::invalid(key, value, format!("tag \"{part}\" {e}")))
}

impl ChannelUri {
    /// Looks `key` up and converts its value with `convert`, wrapping a failure as [`UriError::InvalidValue`].
    fn typed<T, E: Into<String>>(
        &self,
        key: &str,
        convert: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, UriError> {
        self.get(key)
            .map(|value| convert(value).map_err(|e| UriError::invalid(key, value, e)))
            .transpose()
    }

    fn bool_param(&self, key: &str) -> Result<Option<bool>, UriError> {
        self.typed(key, parse_bool)
    }

    fn duration_param(&self, key: &str) -> Result<Option<Duration>, UriError> {
        self.typed(key, parse_duration)
    }

    fn size_param(&self, key: &str) -> Result<Option<u64>, UriError> {
        self.typed(key, parse_size)
    }

    fn timestamp_offset_param(&self, key: &str) -> Result<Option<TimestampOffset>, UriError> {
        self.typed(key, |v| match v {
            RESERVED_OFFSET => Ok(TimestampOffset::Reserved),
            _ => parse_int::<i32>(v)
                .map(TimestampOffset::Offset)
                .map_err(|_| "expected \"reserved\" or an int32 offset"),
        })
    }

    /// `endpoint` as `host:port`.
    pub fn endpoint(&self) -> Result<Option<SocketAddress>, UriError> {
        self.typed(ENDPOINT_PARAM_NAME, SocketAddress::parse)
    }

    /// `interface` as `host[:port][/prefix]`.
    pub fn interface(&self) -> Result<Option<InterfaceAddress>, UriError> {
        self.typed(INTERFACE_PARAM_NAME, InterfaceAddress::parse)
    }

    /// `control` as `host:port`.
    pub fn control(&self) -> Result<Option<SocketAddress>, UriError> {
        self.typed(MDC_CONTROL_PARAM_NAME, SocketAddress::parse)
    }

    /// `control-mode`.
    pub fn control_mode(&self) -> Result<Option<ControlMode>, UriError> {
        self.typed(MDC_CONTROL_MODE_PARAM_NAME, |v| match v {
            MDC_CONTROL_MODE_MANUAL => Ok(ControlMode::Manual),
            MDC_CONTROL_MODE_DYNAMIC => Ok(ControlMode::Dynamic),
            CONTROL_MODE_RESPONSE => Ok(ControlMode::Response),
            _ => Err("expected manual, dynamic or response"),
        })
    }

    /// `response-endpoint` as `host:port`.
    pub fn response_endpoint(&self) -> Result<Option<SocketAddress>, UriError> {
        self.typed(RESPONSE_ENDPOINT_PARAM_NAME, SocketAddress::parse)
    }

    /// `ttl`, 0..=255.
    pub fn ttl(&self) -> Result<Option<u8>, UriError> {
        self.typed(TTL_PARAM_NAME, |v| {
            parse_int::<u64>(v).and_then(|n| u8::try_from(n).map_err(|_| "must be in 0..=255"))
        })
    }

    /// `mtu`: a size, multiple of 32, greater than 32 and at most 65504.
    pub fn mtu(&self) -> Result<Option<u32>, UriError> {
        self.typed(MTU_LENGTH_PARAM_NAME, |v| {
            let mtu = parse_size(v)?;
            if mtu <= u64::from(DATA_HEADER_LENGTH) || mtu > u64::from(MAX_MTU_LENGTH) {
                Err("must be greater than 32 and at most 65504")
            } else if mtu % u64::from(FRAME_ALIGNMENT) != 0 {
                Err("must be a multiple of 32")
            } else {
                Ok(mtu as u32)
            }
        })
    }

    /// `term-length`: a size, power of two from 64 KiB to 1 GiB.
    pub fn term_length(&self) -> Result<Option<u32>, UriError> {
        self.typed(TERM_LENGTH_PARAM_NAME, |v| {
            let length = parse_size(v)?;
            if length < u64::from(TERM_MIN_LENGTH) || length > u64::from(TERM_MAX_LENGTH) {
                Err("must be in 64k..=1g")
            } else if !length.is_power_of_two() {
                Err("must be a power of two")
            } else {
                Ok(length as u32)
            }
        })
    }

    /// `init-term-id`.
    pub fn initial_term_id(&self) -> Result<Option<i32>, UriError> {
        self.typed(INITIAL_TERM_ID_PARAM_NAME, parse_int::<i32>)
    }

    /// `term-id`.
    pub fn term_id(&self) -> Result<Option<i32>, UriError> {
        self.typed(TERM_ID_PARAM_NAME, parse_int::<i32>)
    }

    /// `term-offset`: a multiple of 32, at most 1 GiB.
    pub fn term_offset(&self) -> Result<Option<u32>, UriError> {
        self.typed(TERM_OFFSET_PARAM_NAME, |v| {
            let offset = parse_int::<u64>(v)?;
            if offset > u64::from(TERM_MAX_LENGTH) {
                Err("must be at most the term length")
            } else if offset % u64::from(FRAME_ALIGNMENT) != 0 {
                Err("must be a multiple of 32")
            } else {
                Ok(offset as u32)
            }
        })
    }

    /// `session-id`: an int32, or `tag:<n>`.
    pub fn session_id(&self) -> Result<Option<SessionIdParam>, UriError> {
        self.typed(SESSION_ID_PARAM_NAME, |v| {
            match v.strip_prefix(TAG_PREFIX) {
                Some(tag) => parse_int::<i64>(tag)
                    .map(SessionIdParam::Tag)
                    .map_err(|_| "tag: must be followed by an integer"),
                None => parse_int::<i32>(v)
                    .map(SessionIdParam::Id)
                    .map_err(|_| "expected an int32 or tag:<n>"),
            }
        })
    }

    /// `linger` timeout.
    pub fn linger(&self) -> Result<Option<Duration>, UriError> {
        self.duration_param(LINGER_PARAM_NAME)
    }

    /// `reliable`.
    pub fn reliable(&self) -> Result<Option<bool>, UriError> {
        self.bool_param(RELIABLE_STREAM_PARAM_NAME)
    }

    /// `sparse`.
    pub fn sparse(&self) -> Result<Option<bool>, UriError> {
        self.bool_param(SPARSE_PARAM_NAME)
    }

    /// `eos`.
    pub fn eos(&self) -> Result<Option<bool>, UriError> {
        self.bool_param(EOS_PARAM_NAME)
    }

    /// `tether`.
    pub fn tether(&self) -> Result<Option<bool>, UriError> {
        self.bool_param(TETHER_PARAM_NAME)
    }

    /// `rejoin`.
    pub fn rejoin(&self) -> Result<Option<bool>, UriError> {
        self.bool_param(REJOIN_PARAM_NAME)
    }

    /// `ssc` (spies simulate connection).
    pub fn spies_simulate_connection(&self) -> Result<Option<bool>, UriError> {
        self.bool_param(SPIES_SIMULATE_CONNECTION_PARAM_NAME)
    }

    /// `ats`.
    pub fn ats(&self) -> Result<Option<bool>, UriError> {
        self.bool_param(ATS_PARAM_NAME)
    }

    /// `group`: `true`, `false` or `infer`.
    pub fn group(&self) -> Result<Option<InferableBoolean>, UriError> {
        self.typed(GROUP_PARAM_NAME, |v| match v {
            "true" => Ok(InferableBoolean::ForceTrue),
            "false" => Ok(InferableBoolean::ForceFalse),
            "infer" => Ok(InferableBoolean::Infer),
            _ => Err("expected true, false or infer"),
        })
    }

    /// `alias`, uninterpreted.
    pub fn alias(&self) -> Option<&str> {
        self.get(ALIAS_PARAM_NAME)
    }

    /// `tags`: `<channel tag>[,<entity tag>]`.
    pub fn tags(&self) -> Result<Option<Tags>, UriError> {
        let Some(value) = self.get(TAGS_PARAM_NAME) else {
            return Ok(None);
        };
        let (channel, entity) = match value.split_once(',') {
            Some((channel, entity)) => (channel, entity),
            None => (value, ""),
        };
        if entity.contains(',') {
            return Err(UriError::invalid(
                TAGS_PARAM_NAME,
                value,
                "at most two tags",
            ));
        }
        let tags = Tags {
            channel: tag_value(TAGS_PARAM_NAME, value, channel)?,
            entity: tag_value(TAGS_PARAM_NAME, value, entity)?,
        };
        Ok(Some(tags))
    }

    /// `fc`: flow control strategy and options.
    pub fn flow_control(&self) -> Result<Option<FlowControl>, UriError> {
        self.typed(FLOW_CONTROL_PARAM_NAME, FlowControl::parse)
    }

    /// `gtag`: receiver group tag.
    pub fn group_tag(&self) -> Result<Option<i64>, UriError> {
        self.typed(GROUP_TAG_PARAM_NAME, parse_int::<i64>)
    }

    /// `cc`: congestion control.
    pub fn congestion_control(&self) -> Result<Option<CongestionControl>, UriError> {
        self.typed(CONGESTION_CONTROL_PARAM_NAME, |v| match v {
            "static" => Ok(CongestionControl::Static),
            "cubic" => Ok(CongestionControl::Cubic),
            _ => Err("expected static or cubic"),
        })
    }

    /// `so-sndbuf` size.
    pub fn socket_sndbuf(&self) -> Result<Option<u64>, UriError> {
        self.size_param(SOCKET_SNDBUF_PARAM_NAME)
    }

    /// `so-rcvbuf` size.
    pub fn socket_rcvbuf(&self) -> Result<Option<u64>, UriError> {
        self.size_param(SOCKET_RCVBUF_PARAM_NAME)
    }

    /// `rcv-wnd` size.
    pub fn receiver_window(&self) -> Result<Option<u64>, UriError> {
        self.size_param(RECEIVER_WINDOW_LENGTH_PARAM_NAME)
    }

    /// `pub-wnd` size.
    pub fn publication_window(&self) -> Result<Option<u64>, UriError> {
        self.size_param(PUBLICATION_WINDOW_LENGTH_PARAM_NAME)
    }

    /// `max-resend`: 1..=256 (parsed as a size, as the C driver does).
    pub fn max_resend(&self) -> Result<Option<u32>, UriError> {
        self.typed(MAX_RESEND_PARAM_NAME, |v| {
            let n = parse_size(v)?;
            if (1..=u64::from(MAX_RESEND_MAX)).contains(&n) {
                Ok(n as u32)
            } else {
                Err("must be in 1..=256")
            }
        })
    }

    /// `nak-delay`.
    pub fn nak_delay(&self) -> Result<Option<Duration>, UriError> {
        self.duration_param(NAK_DELAY_PARAM_NAME)
    }

    /// `untethered-window-limit-timeout`.
    pub fn untethered_window_limit_timeout(&self) -> Result<Option<Duration>, UriError> {
        self.duration_param(UNTETHERED_WINDOW_LIMIT_TIMEOUT_PARAM_NAME)
    }

    /// `untethered-linger-timeout`.
    pub fn untethered_linger_timeout(&self) -> Result<Option<Duration>, UriError> {
        self.duration_param(UNTETHERED_LINGER_TIMEOUT_PARAM_NAME)
    }

    /// `untethered-resting-timeout`.
    pub fn untethered_resting_timeout(&self) -> Result<Option<Duration>, UriError> {
        self.duration_param(UNTETHERED_RESTING_TIMEOUT_PARAM_NAME)
    }

    /// `response-correlation-id`: `prototype` or an int64 >= -1.
    pub fn response_correlation_id(&self) -> Result<Option<ResponseCorrelationId>, UriError> {
        self.typed(RESPONSE_CORRELATION_ID_PARAM_NAME, |v| match v {
            PROTOTYPE_CORRELATION_ID => Ok(ResponseCorrelationId::Prototype),
            _ => parse_int::<i64>(v)
                .ok()
                .filter(|&id| id >= -1)
                .map(ResponseCorrelationId::Id)
                .ok_or("must be an integer >= -1 or prototype"),
        })
    }

    /// `stream-id`.
    pub fn stream_id(&self) -> Result<Option<i32>, UriError> {
        self.typed(STREAM_ID_PARAM_NAME, parse_int::<i32>)
    }

    /// `media-rcv-ts-offset`.
    pub fn media_rcv_ts_offset(&self) -> Result<Option<TimestampOffset>, UriError> {
        self.timestamp_offset_param(MEDIA_RCV_TIMESTAMP_OFFSET_PARAM_NAME)
    }

    /// `channel-rcv-ts-offset`.
    pub fn channel_rcv_ts_offset(&self) -> Result<Option<TimestampOffset>, UriError> {
        self.timestamp_offset_param(CHANNEL_RECEIVE_TIMESTAMP_OFFSET_PARAM_NAME)
    }

    /// `channel-snd-ts-offset`.
    pub fn channel_snd_ts_offset(&self) -> Result<Option<TimestampOffset>, UriError> {
        self.timestamp_offset_param(CHANNEL_SEND_TIMESTAMP_OFFSET_PARAM_NAME)
    }

    /// Checks every known parameter present with its typed accessor; returns the first error.
    pub fn validate_params(&self) -> Result<(), UriError> {
        self.endpoint()?;
        self.interface()?;
        self.control()?;
        self.control_mode()?;
        self.response_endpoint()?;
        self.ttl()?;
        self.mtu()?;
        self.term_length()?;
        self.initial_term_id()?;
        self.term_id()?;
        self.term_offset()?;
        self.session_id()?;
        self.linger()?;
        self.reliable()?;
        self.sparse()?;
        self.eos()?;
        self.tether()?;
        self.rejoin()?;
        self.spies_simulate_connection()?;
        self.ats()?;
        self.group()?;
        self.tags()?;
        self.flow_control()?;
        self.group_tag()?;
        self.congestion_control()?;
        self.socket_sndbuf()?;
        self.socket_rcvbuf()?;
        self.receiver_window()?;
        self.publication_window()?;
        self.max_resend()?;
        self.nak_delay()?;
        self.untethered_window_limit_timeout()?;
        self.untethered_linger_timeout()?;
        self.untethered_resting_timeout()?;
        self.response_correlation_id()?;
        self.stream_id()?;
        self.media_rcv_ts_offset()?;
        self.channel_rcv_ts_offset()?;
        self.channel_snd_ts_offset()?;
        Ok(())
    }

    /// Checks every known parameter with its typed accessor, then the rules that span several parameters:
    ///
    /// - `init-term-id`, `term-id`, `term-offset`: all three or none; `term-id - init-term-id >= 0` (wrapping);
    ///   `term-offset <= term-length` when a term length is given.
    /// - `pub-wnd` at least the given `mtu` and at most half the given `term-length`.
    /// - a UDP channel needs `endpoint`, `control`, `tags` or `control-mode=manual|response`.
    ///
    /// Defaults that live in the driver (term length, MTU) are not assumed; those checks are the driver's.
    pub fn validate(&self) -> Result<(), UriError> {
        self.validate_params()?;
        let control_mode = self.control_mode()?;
        let mtu = self.mtu()?;
        let term_length = self.term_length()?;
        let initial_term_id = self.initial_term_id()?;
        let term_id = self.term_id()?;
        let term_offset = self.term_offset()?;
        let publication_window = self.publication_window()?;

        match (initial_term_id, term_id, term_offset) {
            (None, None, None) => {}
            (Some(initial), Some(current), Some(offset)) => {
                if current.wrapping_sub(initial) < 0 {
                    return Err(UriError::Inconsistent {
                        reason: format!("term-id={current} is before init-term-id={initial}"),
                    });
                }
                if let Some(length) = term_length.filter(|&length| offset > length) {
                    return Err(UriError::Inconsistent {
                        reason: format!("term-offset={offset} > term-length={length}"),
                    });
                }
            }
            _ => {
                return Err(UriError::Inconsistent {
                    reason: "init-term-id, term-id and term-offset must be used as a complete set"
                        .to_owned(),
                })
            }
        }

        if let Some(window) = publication_window {
            if let Some(mtu) = mtu.filter(|&mtu| window < u64::from(mtu)) {
                return Err(UriError::Inconsistent {
                    reason: format!("pub-wnd={window} < mtu={mtu}"),
                });
            }
            if let Some(length) = term_length.filter(|&length| window > u64::from(length / 2)) {
                return Err(UriError::Inconsistent {
                    reason: format!("pub-wnd={window} exceeds half the term-length={length}"),
                });
            }
        }

        if self.media() == Media::Udp
            && !self.contains_key(ENDPOINT_PARAM_NAME)
            && !self.contains_key(MDC_CONTROL_PARAM_NAME)
            && !self.contains_key(TAGS_PARAM_NAME)
            && !matches!(
                control_mode,
                Some(ControlMode::Manual | ControlMode::Response)
            )
        {
            return Err(UriError::Inconsistent {
                reason:
                    "UDP channels need endpoint, control, tags, or control-mode=manual or response"
                        .to_owned(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> ChannelUri {
        ChannelUri::parse(s).unwrap()
    }

    fn bad<T: fmt::Debug>(result: Result<Option<T>, UriError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn absent_params_are_none() {
        let u = uri("aeron:ipc");
        assert_eq!(u.mtu(), Ok(None));
        assert_eq!(u.endpoint(), Ok(None));
        assert_eq!(u.alias(), None);
        assert_eq!(u.tags(), Ok(None));
    }

    #[test]
    fn typed_values() {
        let u = uri(
            "aeron:udp?endpoint=[::1]:40456|interface=10.0.0.0/8|control=ctl:9|control-mode=dynamic|ttl=8\
             |mtu=8k|term-length=1m|init-term-id=-5|term-id=3|term-offset=1024|session-id=tag:12|linger=5s\
             |reliable=false|sparse=true|eos=false|tether=false|rejoin=true|ssc=true|ats=false|group=infer\
             |alias=hi|tags=1,2|fc=min,t:10ms,g:7/3,rrwm:4|gtag=-9|cc=cubic|so-sndbuf=2m|so-rcvbuf=128k\
             |rcv-wnd=64k|pub-wnd=256k|max-resend=16|nak-delay=100us|untethered-window-limit-timeout=5s\
             |untethered-linger-timeout=6s|untethered-resting-timeout=10s|response-correlation-id=prototype\
             |stream-id=1001|media-rcv-ts-offset=reserved|channel-rcv-ts-offset=8|channel-snd-ts-offset=-16\
             |response-endpoint=r:1",
        );
        assert_eq!(u.endpoint(), Ok(Some(SocketAddress::new("::1", 40456))));
        assert_eq!(u.interface().unwrap().unwrap().prefix_length, Some(8));
        assert_eq!(u.control(), Ok(Some(SocketAddress::new("ctl", 9))));
        assert_eq!(u.control_mode(), Ok(Some(ControlMode::Dynamic)));
        assert_eq!(u.ttl(), Ok(Some(8)));
        assert_eq!(u.mtu(), Ok(Some(8192)));
        assert_eq!(u.term_length(), Ok(Some(1 << 20)));
        assert_eq!(u.initial_term_id(), Ok(Some(-5)));
        assert_eq!(u.term_id(), Ok(Some(3)));
        assert_eq!(u.term_offset(), Ok(Some(1024)));
        assert_eq!(u.session_id(), Ok(Some(SessionIdParam::Tag(12))));
        assert_eq!(u.linger(), Ok(Some(Duration::from_secs(5))));
        assert_eq!(u.reliable(), Ok(Some(false)));
        assert_eq!(u.sparse(), Ok(Some(true)));
        assert_eq!(u.eos(), Ok(Some(false)));
        assert_eq!(u.tether(), Ok(Some(false)));
        assert_eq!(u.rejoin(), Ok(Some(true)));
        assert_eq!(u.spies_simulate_connection(), Ok(Some(true)));
        assert_eq!(u.ats(), Ok(Some(false)));
        assert_eq!(u.group(), Ok(Some(InferableBoolean::Infer)));
        assert_eq!(u.alias(), Some("hi"));
        assert_eq!(
            u.tags(),
            Ok(Some(Tags {
                channel: Some(1),
                entity: Some(2)
            }))
        );
        let fc = u.flow_control().unwrap().unwrap();
        assert_eq!(fc.strategy, FlowControlStrategy::Min);
        assert_eq!(fc.receiver_timeout, Some(Duration::from_millis(10)));
        assert_eq!(
            (fc.group_tag, fc.group_min_size, fc.rrwm),
            (Some(7), Some(3), Some(4))
        );
        assert_eq!(fc.to_string(), "min,t:10ms,g:7/3,rrwm:4");
        assert_eq!(u.group_tag(), Ok(Some(-9)));
        assert_eq!(u.congestion_control(), Ok(Some(CongestionControl::Cubic)));
        assert_eq!(u.socket_sndbuf(), Ok(Some(2 << 20)));
        assert_eq!(u.socket_rcvbuf(), Ok(Some(128 << 10)));
        assert_eq!(u.receiver_window(), Ok(Some(64 << 10)));
        assert_eq!(u.publication_window(), Ok(Some(256 << 10)));
        assert_eq!(u.max_resend(), Ok(Some(16)));
        assert_eq!(u.nak_delay(), Ok(Some(Duration::from_micros(100))));
        assert_eq!(
            u.untethered_window_limit_timeout(),
            Ok(Some(Duration::from_secs(5)))
        );
        assert_eq!(
            u.untethered_linger_timeout(),
            Ok(Some(Duration::from_secs(6)))
        );
        assert_eq!(
            u.untethered_resting_timeout(),
            Ok(Some(Duration::from_secs(10)))
        );
        assert_eq!(
            u.response_correlation_id(),
            Ok(Some(ResponseCorrelationId::Prototype))
        );
        assert_eq!(u.stream_id(), Ok(Some(1001)));
        assert_eq!(u.media_rcv_ts_offset(), Ok(Some(TimestampOffset::Reserved)));
        assert_eq!(
            u.channel_rcv_ts_offset(),
            Ok(Some(TimestampOffset::Offset(8)))
        );
        assert_eq!(
            u.channel_snd_ts_offset(),
            Ok(Some(TimestampOffset::Offset(-16)))
        );
        assert_eq!(u.response_endpoint(), Ok(Some(SocketAddress::new("r", 1))));
        assert_eq!(u.validate(), Ok(()));
    }

    #[test]
    fn invalid_values_name_key_value_and_reason() {
        type Accessor = fn(&ChannelUri) -> String;
        let cases: &[(&str, Accessor, &str)] = &[
            ("mtu=70000", |u| bad(u.mtu()), "invalid value \"70000\" for mtu: must be greater than 32 and at most 65504"),
            ("mtu=32", |u| bad(u.mtu()), "invalid value \"32\" for mtu: must be greater than 32 and at most 65504"),
            ("mtu=1400", |u| bad(u.mtu()), "invalid value \"1400\" for mtu: must be a multiple of 32"),
            ("mtu=abc", |u| bad(u.mtu()), "invalid value \"abc\" for mtu: not a size (digits with optional k/m/g suffix)"),
            ("term-length=32k", |u| bad(u.term_length()), "invalid value \"32k\" for term-length: must be in 64k..=1g"),
            ("term-length=2g", |u| bad(u.term_length()), "invalid value \"2g\" for term-length: must be in 64k..=1g"),
            ("term-length=100000", |u| bad(u.term_length()), "invalid value \"100000\" for term-length: must be a power of two"),
            ("term-offset=33", |u| bad(u.term_offset()), "invalid value \"33\" for term-offset: must be a multiple of 32"),
            ("term-offset=-32", |u| bad(u.term_offset()), "invalid value \"-32\" for term-offset: out of range"),
            ("term-id=x", |u| bad(u.term_id()), "invalid value \"x\" for term-id: not a decimal integer"),
            ("init-term-id=2147483648", |u| bad(u.initial_term_id()), "invalid value \"2147483648\" for init-term-id: out of range"),
            ("session-id=tag:x", |u| bad(u.session_id()), "invalid value \"tag:x\" for session-id: tag: must be followed by an integer"),
            ("session-id=1.5", |u| bad(u.session_id()), "invalid value \"1.5\" for session-id: expected an int32 or tag:<n>"),
            ("ttl=256", |u| bad(u.ttl()), "invalid value \"256\" for ttl: must be in 0..=255"),
            ("linger=5h", |u| bad(u.linger()), "invalid value \"5h\" for linger: not a duration (digits with optional s/ms/us/ns suffix)"),
            ("reliable=yes", |u| bad(u.reliable()), "invalid value \"yes\" for reliable: expected true or false"),
            ("group=maybe", |u| bad(u.group()), "invalid value \"maybe\" for group: expected true, false or infer"),
            ("control-mode=auto", |u| bad(u.control_mode()), "invalid value \"auto\" for control-mode: expected manual, dynamic or response"),
            ("endpoint=host", |u| bad(u.endpoint()), "invalid value \"host\" for endpoint: missing port"),
            ("control=h:99999", |u| bad(u.control()), "invalid value \"h:99999\" for control: port out of range 0..=65535"),
            ("tags=1,2,3", |u| bad(u.tags()), "invalid value \"1,2,3\" for tags: at most two tags"),
            ("tags=a", |u| bad(u.tags()), "invalid value \"a\" for tags: tag \"a\" not a decimal integer"),
            ("fc=fast", |u| bad(u.flow_control()), "invalid value \"fast\" for fc: unknown strategy \"fast\" (expected max, min or tagged)"),
            ("fc=min,x:1", |u| bad(u.flow_control()), "invalid value \"min,x:1\" for fc: unknown option \"x:1\""),
            ("fc=min,g:/-1", |u| bad(u.flow_control()), "invalid value \"min,g:/-1\" for fc: g: min size \"-1\" is not an integer in 0..=2147483647"),
            ("cc=reno", |u| bad(u.congestion_control()), "invalid value \"reno\" for cc: expected static or cubic"),
            ("max-resend=0", |u| bad(u.max_resend()), "invalid value \"0\" for max-resend: must be in 1..=256"),
            ("max-resend=257", |u| bad(u.max_resend()), "invalid value \"257\" for max-resend: must be in 1..=256"),
            ("response-correlation-id=-2", |u| bad(u.response_correlation_id()), "invalid value \"-2\" for response-correlation-id: must be an integer >= -1 or prototype"),
            ("media-rcv-ts-offset=res", |u| bad(u.media_rcv_ts_offset()), "invalid value \"res\" for media-rcv-ts-offset: expected \"reserved\" or an int32 offset"),
            ("so-sndbuf=1t", |u| bad(u.socket_sndbuf()), "invalid value \"1t\" for so-sndbuf: not a size (digits with optional k/m/g suffix)"),
            ("gtag=1e3", |u| bad(u.group_tag()), "invalid value \"1e3\" for gtag: not a decimal integer"),
        ];
        for (param, accessor, expected) in cases {
            let u = uri(&format!("aeron:udp?endpoint=a:1|{param}"));
            assert_eq!(accessor(&u), *expected, "{param}");
            assert_eq!(u.validate().unwrap_err().to_string(), *expected, "{param}");
        }
    }

    #[test]
    fn cross_parameter_rules() {
        let check = |s: &str| uri(s).validate().map_err(|e| e.to_string());
        assert_eq!(
            check("aeron:ipc?term-id=1|term-offset=0"),
            Err("inconsistent parameters: init-term-id, term-id and term-offset must be used as a complete set".into())
        );
        assert_eq!(
            check("aeron:ipc?init-term-id=5|term-id=4|term-offset=0"),
            Err("inconsistent parameters: term-id=4 is before init-term-id=5".into())
        );
        assert_eq!(
            check("aeron:ipc?init-term-id=2147483647|term-id=-2147483648|term-offset=0"),
            Ok(())
        );
        assert_eq!(
            check("aeron:ipc?init-term-id=0|term-id=0|term-offset=131072|term-length=64k"),
            Err("inconsistent parameters: term-offset=131072 > term-length=65536".into())
        );
        assert_eq!(
            check("aeron:ipc?init-term-id=0|term-id=0|term-offset=65536|term-length=64k"),
            Ok(())
        );
        assert_eq!(
            check("aeron:ipc?pub-wnd=1k|mtu=4k"),
            Err("inconsistent parameters: pub-wnd=1024 < mtu=4096".into())
        );
        assert_eq!(
            check("aeron:ipc?pub-wnd=64k|term-length=64k"),
            Err("inconsistent parameters: pub-wnd=65536 exceeds half the term-length=65536".into())
        );
        let need = Err("inconsistent parameters: UDP channels need endpoint, control, tags, or control-mode=manual or response".into());
        assert_eq!(check("aeron:udp"), need);
        assert_eq!(check("aeron:udp?control-mode=dynamic"), need);
        assert_eq!(check("aeron:udp?control-mode=manual"), Ok(()));
        assert_eq!(check("aeron:udp?control-mode=response|control=a:0"), Ok(()));
        assert_eq!(check("aeron:udp?tags=1"), Ok(()));
        assert_eq!(check("aeron:ipc"), Ok(()));
    }

    #[test]
    fn tags_forms() {
        assert_eq!(
            uri("aeron:ipc?tags=5").tags(),
            Ok(Some(Tags {
                channel: Some(5),
                entity: None
            }))
        );
        assert_eq!(
            uri("aeron:ipc?tags=,6").tags(),
            Ok(Some(Tags {
                channel: None,
                entity: Some(6)
            }))
        );
        assert_eq!(
            uri("aeron:ipc?tags=5,").tags(),
            Ok(Some(Tags {
                channel: Some(5),
                entity: None
            }))
        );
        assert_eq!(
            Tags {
                channel: None,
                entity: Some(6)
            }
            .to_string(),
            ",6"
        );
    }

    #[test]
    fn flow_control_forms() {
        assert_eq!(
            FlowControl::parse("max"),
            Ok(FlowControl::new(FlowControlStrategy::Max))
        );
        let fc = FlowControl::parse("tagged,g:/5").unwrap();
        assert_eq!((fc.group_tag, fc.group_min_size), (None, Some(5)));
        assert_eq!(fc.to_string(), "tagged,g:/5");
        assert!(FlowControl::parse("min,g:").is_err());
        assert!(FlowControl::parse("min,t:").is_err());
        assert!(FlowControl::parse("").is_err());
    }

    #[test]
    fn known_names_are_unique() {
        let mut names = KNOWN_PARAM_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KNOWN_PARAM_NAMES.len());
    }
}
