//! [`ChannelUriBuilder`]: typed setters that render values the way Aeron reads them back.

use std::time::Duration;

use super::params::*;
use super::{
    check_key, check_value, format_duration, ChannelUri, InterfaceAddress, Media, SocketAddress,
    UriError, MAX_URI_LENGTH,
};

/// Builds a [`ChannelUri`] from typed values, like Java's `ChannelUriStringBuilder`.
///
/// Setters never fail; [`build`](Self::build) reports the first bad key or value, a value a typed accessor would
/// reject (an MTU of 70000, a term length that is not a power of two), or a URI over [`MAX_URI_LENGTH`].
/// Rules spanning several parameters are left to [`ChannelUri::validate`].
#[derive(Debug, Clone)]
pub struct ChannelUriBuilder {
    uri: ChannelUri,
    error: Option<UriError>,
}

macro_rules! display_setters {
    ($($(#[$doc:meta])* $name:ident($ty:ty) => $key:expr;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(self, value: $ty) -> Self {
                self.param($key, &value.to_string())
            }
        )*
    };
}

macro_rules! duration_setters {
    ($($(#[$doc:meta])* $name:ident => $key:expr;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(self, value: Duration) -> Self {
                self.param($key, &format_duration(value))
            }
        )*
    };
}

impl ChannelUriBuilder {
    /// Starts a URI for the given media.
    pub fn new(media: Media) -> Self {
        ChannelUriBuilder {
            uri: ChannelUri::new(media),
            error: None,
        }
    }

    /// Starts an `aeron:udp` URI.
    pub fn udp() -> Self {
        Self::new(Media::Udp)
    }

    /// Starts an `aeron:ipc` URI.
    pub fn ipc() -> Self {
        Self::new(Media::Ipc)
    }

    /// Starts from an existing URI, to change some parameters.
    pub fn from_uri(uri: ChannelUri) -> Self {
        ChannelUriBuilder { uri, error: None }
    }

    /// Sets or clears the `aeron-spy:` prefix.
    pub fn spy(mut self, spy: bool) -> Self {
        self.uri.set_spy(spy);
        self
    }

    /// Sets any parameter from its raw text (replacing an earlier value in place).
    pub fn param(mut self, key: &str, value: &str) -> Self {
        if self.error.is_none() {
            match check_key(key).and_then(|()| check_value(key, value)) {
                Ok(()) => {
                    self.uri.insert(key, value);
                }
                Err(e) => self.error = Some(e),
            }
        }
        self
    }

    /// Removes a parameter if present.
    pub fn clear(mut self, key: &str) -> Self {
        self.uri.remove(key);
        self
    }

    display_setters! {
        /// `endpoint=host:port`.
        endpoint(&SocketAddress) => ENDPOINT_PARAM_NAME;
        /// `interface=host[:port][/prefix]`.
        interface(&InterfaceAddress) => INTERFACE_PARAM_NAME;
        /// `control=host:port`.
        control(&SocketAddress) => MDC_CONTROL_PARAM_NAME;
        /// `response-endpoint=host:port`.
        response_endpoint(&SocketAddress) => RESPONSE_ENDPOINT_PARAM_NAME;
        /// `ttl`.
        ttl(u8) => TTL_PARAM_NAME;
        /// `mtu` in bytes.
        mtu(u32) => MTU_LENGTH_PARAM_NAME;
        /// `term-length` in bytes.
        term_length(u32) => TERM_LENGTH_PARAM_NAME;
        /// `init-term-id`.
        initial_term_id(i32) => INITIAL_TERM_ID_PARAM_NAME;
        /// `term-id`.
        term_id(i32) => TERM_ID_PARAM_NAME;
        /// `term-offset`.
        term_offset(u32) => TERM_OFFSET_PARAM_NAME;
        /// `session-id` (a number or `tag:<n>`).
        session_id(SessionIdParam) => SESSION_ID_PARAM_NAME;
        /// `reliable`.
        reliable(bool) => RELIABLE_STREAM_PARAM_NAME;
        /// `sparse`.
        sparse(bool) => SPARSE_PARAM_NAME;
        /// `eos`.
        eos(bool) => EOS_PARAM_NAME;
        /// `tether`.
        tether(bool) => TETHER_PARAM_NAME;
        /// `rejoin`.
        rejoin(bool) => REJOIN_PARAM_NAME;
        /// `ssc`.
        spies_simulate_connection(bool) => SPIES_SIMULATE_CONNECTION_PARAM_NAME;
        /// `ats`.
        ats(bool) => ATS_PARAM_NAME;
        /// `alias` (free text without `|`).
        alias(&str) => ALIAS_PARAM_NAME;
        /// `tags=<channel>[,<entity>]`.
        tags(Tags) => TAGS_PARAM_NAME;
        /// `fc`.
        flow_control(&FlowControl) => FLOW_CONTROL_PARAM_NAME;
        /// `gtag`.
        group_tag(i64) => GROUP_TAG_PARAM_NAME;
        /// `so-sndbuf` in bytes.
        socket_sndbuf(u64) => SOCKET_SNDBUF_PARAM_NAME;
        /// `so-rcvbuf` in bytes.
        socket_rcvbuf(u64) => SOCKET_RCVBUF_PARAM_NAME;
        /// `rcv-wnd` in bytes.
        receiver_window(u64) => RECEIVER_WINDOW_LENGTH_PARAM_NAME;
        /// `pub-wnd` in bytes.
        publication_window(u64) => PUBLICATION_WINDOW_LENGTH_PARAM_NAME;
        /// `max-resend`.
        max_resend(u32) => MAX_RESEND_PARAM_NAME;
        /// `response-correlation-id`.
        response_correlation_id(ResponseCorrelationId) => RESPONSE_CORRELATION_ID_PARAM_NAME;
        /// `stream-id`.
        stream_id(i32) => STREAM_ID_PARAM_NAME;
        /// `media-rcv-ts-offset`.
        media_rcv_ts_offset(TimestampOffset) => MEDIA_RCV_TIMESTAMP_OFFSET_PARAM_NAME;
        /// `channel-rcv-ts-offset`.
        channel_rcv_ts_offset(TimestampOffset) => CHANNEL_RECEIVE_TIMESTAMP_OFFSET_PARAM_NAME;
        /// `channel-snd-ts-offset`.
        channel_snd_ts_offset(TimestampOffset) => CHANNEL_SEND_TIMESTAMP_OFFSET_PARAM_NAME;
    }

    duration_setters! {
        /// `linger`.
        linger => LINGER_PARAM_NAME;
        /// `nak-delay`.
        nak_delay => NAK_DELAY_PARAM_NAME;
        /// `untethered-window-limit-timeout`.
        untethered_window_limit_timeout => UNTETHERED_WINDOW_LIMIT_TIMEOUT_PARAM_NAME;
        /// `untethered-linger-timeout`.
        untethered_linger_timeout => UNTETHERED_LINGER_TIMEOUT_PARAM_NAME;
        /// `untethered-resting-timeout`.
        untethered_resting_timeout => UNTETHERED_RESTING_TIMEOUT_PARAM_NAME;
    }

    /// `control-mode`.
    pub fn control_mode(self, mode: ControlMode) -> Self {
        self.param(MDC_CONTROL_MODE_PARAM_NAME, mode.as_str())
    }

    /// `group`.
    pub fn group(self, group: InferableBoolean) -> Self {
        self.param(GROUP_PARAM_NAME, group.as_str())
    }

    /// `cc`.
    pub fn congestion_control(self, cc: CongestionControl) -> Self {
        self.param(CONGESTION_CONTROL_PARAM_NAME, cc.as_str())
    }

    /// Sets `init-term-id`, `term-id`, `term-offset` and `term-length` so a publication starts at `position`
    /// (Java `ChannelUri.initialPosition`). `term_length` must be a valid term length and `position` a
    /// non-negative multiple of 32; otherwise [`build`](Self::build) fails.
    pub fn initial_position(
        mut self,
        position: i64,
        initial_term_id: i32,
        term_length: u32,
    ) -> Self {
        if position < 0 || position % i64::from(FRAME_ALIGNMENT) != 0 {
            self.error.get_or_insert(UriError::invalid(
                "position",
                &position.to_string(),
                "must be a non-negative multiple of 32",
            ));
            return self;
        }
        if !term_length.is_power_of_two()
            || !(TERM_MIN_LENGTH..=TERM_MAX_LENGTH).contains(&term_length)
        {
            self.error.get_or_insert(UriError::invalid(
                TERM_LENGTH_PARAM_NAME,
                &term_length.to_string(),
                "must be a power of two in 64k..=1g",
            ));
            return self;
        }
        let bits = term_length.trailing_zeros();
        let term_count = (position >> bits) as i32;
        let term_offset = (position & (i64::from(term_length) - 1)) as u32;
        self.initial_term_id(initial_term_id)
            .term_id(initial_term_id.wrapping_add(term_count))
            .term_offset(term_offset)
            .term_length(term_length)
    }

    /// Finishes the URI: fails on the first bad setter input, a known parameter whose value a typed accessor
    /// rejects, or a rendered length over [`MAX_URI_LENGTH`].
    pub fn build(self) -> Result<ChannelUri, UriError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let length = self.uri.encoded_length();
        if length > MAX_URI_LENGTH {
            return Err(UriError::TooLong { length });
        }
        self.uri.validate_params()?;
        Ok(self.uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn builds_golden_channel() {
        let uri = ChannelUriBuilder::udp()
            .endpoint(&SocketAddress::new("localhost", 24400))
            .term_length(65536)
            .build()
            .unwrap();
        assert_eq!(
            uri.to_string(),
            "aeron:udp?endpoint=localhost:24400|term-length=65536"
        );
    }

    #[test]
    fn build_reports_bad_values() {
        let e = ChannelUriBuilder::udp().mtu(70000).build().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value \"70000\" for mtu: must be greater than 32 and at most 65504"
        );
        let e = ChannelUriBuilder::ipc().alias("a|b").build().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value \"a|b\" for alias: contains '|'"
        );
        let e = ChannelUriBuilder::ipc()
            .param("k=", "v")
            .build()
            .unwrap_err();
        assert_eq!(e.to_string(), "invalid parameter key \"k=\": contains '='");
        let e = ChannelUriBuilder::ipc()
            .alias(&"x".repeat(MAX_URI_LENGTH))
            .build()
            .unwrap_err();
        assert_eq!(
            e,
            UriError::TooLong {
                length: MAX_URI_LENGTH + 16
            }
        );
        let e = ChannelUriBuilder::ipc()
            .initial_position(33, 0, 65536)
            .build()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value \"33\" for position: must be a non-negative multiple of 32"
        );
    }

    #[test]
    fn initial_position_splits_into_term_id_and_offset() {
        let uri = ChannelUriBuilder::ipc()
            .initial_position(3 * 65536 + 256, 10, 65536)
            .build()
            .unwrap();
        assert_eq!(
            uri.to_string(),
            "aeron:ipc?init-term-id=10|term-id=13|term-offset=256|term-length=65536"
        );
        assert_eq!(uri.validate(), Ok(()));
    }

    #[test]
    fn from_uri_keeps_and_replaces() {
        let uri = ChannelUri::parse("aeron:udp?endpoint=a:1|mtu=1408|x=y").unwrap();
        let uri = ChannelUriBuilder::from_uri(uri)
            .mtu(4096)
            .clear("x")
            .spy(true)
            .build()
            .unwrap();
        assert_eq!(uri.to_string(), "aeron-spy:aeron:udp?endpoint=a:1|mtu=4096");
    }

    fn host() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z][a-z0-9.-]{0,15}",
            "(::)?[0-9a-f]{1,4}(:[0-9a-f]{1,4}){0,3}(%eth[0-9])?"
        ]
    }

    fn socket_address() -> impl Strategy<Value = SocketAddress> {
        (host(), any::<u16>()).prop_map(|(h, p)| SocketAddress::new(h, p))
    }

    fn interface() -> impl Strategy<Value = InterfaceAddress> {
        (
            host(),
            proptest::option::of(any::<u16>()),
            proptest::option::of(0u8..=128),
        )
            .prop_map(|(host, port, prefix_length)| InterfaceAddress {
                host,
                port,
                prefix_length,
            })
    }

    fn duration() -> impl Strategy<Value = Duration> {
        prop_oneof![
            (0u64..100_000).prop_map(Duration::from_secs),
            (0u64..100_000).prop_map(Duration::from_millis),
            (0u64..=i64::MAX as u64).prop_map(Duration::from_nanos),
        ]
    }

    fn timestamp_offset() -> impl Strategy<Value = TimestampOffset> {
        prop_oneof![
            Just(TimestampOffset::Reserved),
            any::<i32>().prop_map(TimestampOffset::Offset)
        ]
    }

    fn flow_control() -> impl Strategy<Value = FlowControl> {
        (
            prop_oneof![
                Just(FlowControlStrategy::Max),
                Just(FlowControlStrategy::Min),
                Just(FlowControlStrategy::Tagged)
            ],
            proptest::option::of(duration()),
            proptest::option::of(any::<i64>()),
            proptest::option::of(0..=i32::MAX),
            proptest::option::of(any::<u32>()),
        )
            .prop_map(
                |(strategy, receiver_timeout, group_tag, group_min_size, rrwm)| FlowControl {
                    strategy,
                    receiver_timeout,
                    group_tag,
                    group_min_size,
                    rrwm,
                },
            )
    }

    /// One typed parameter: how to set it on a builder and how to read it back.
    #[derive(Debug, Clone)]
    enum Param {
        Endpoint(SocketAddress),
        Interface(InterfaceAddress),
        Control(SocketAddress),
        ControlMode(ControlMode),
        Ttl(u8),
        Mtu(u32),
        TermLength(u32),
        InitialTermId(i32),
        TermOffset(u32),
        SessionId(SessionIdParam),
        Linger(Duration),
        Reliable(bool),
        Tether(bool),
        Group(InferableBoolean),
        Alias(String),
        Tags(Tags),
        Fc(FlowControl),
        Gtag(i64),
        Cc(CongestionControl),
        Sndbuf(u64),
        PubWnd(u64),
        MaxResend(u32),
        NakDelay(Duration),
        ResponseCorrelationId(ResponseCorrelationId),
        StreamId(i32),
        MediaRcvTs(TimestampOffset),
        ChannelSndTs(TimestampOffset),
        Unknown(String, String),
    }

    fn param() -> impl Strategy<Value = Param> {
        prop_oneof![
            socket_address().prop_map(Param::Endpoint),
            interface().prop_map(Param::Interface),
            socket_address().prop_map(Param::Control),
            prop_oneof![
                Just(ControlMode::Manual),
                Just(ControlMode::Dynamic),
                Just(ControlMode::Response)
            ]
            .prop_map(Param::ControlMode),
            any::<u8>().prop_map(Param::Ttl),
            (2u32..=2047).prop_map(|n| Param::Mtu(n * 32)),
            (16u32..=30).prop_map(|b| Param::TermLength(1 << b)),
            any::<i32>().prop_map(Param::InitialTermId),
            (0u32..=(1 << 25)).prop_map(|n| Param::TermOffset(n * 32)),
            prop_oneof![
                any::<i32>().prop_map(SessionIdParam::Id),
                any::<i64>().prop_map(SessionIdParam::Tag)
            ]
            .prop_map(Param::SessionId),
            duration().prop_map(Param::Linger),
            any::<bool>().prop_map(Param::Reliable),
            any::<bool>().prop_map(Param::Tether),
            prop_oneof![
                Just(InferableBoolean::ForceFalse),
                Just(InferableBoolean::ForceTrue),
                Just(InferableBoolean::Infer)
            ]
            .prop_map(Param::Group),
            "[^|]{1,20}".prop_map(Param::Alias),
            (
                proptest::option::of(any::<i64>()),
                proptest::option::of(any::<i64>())
            )
                .prop_filter("tags needs a part", |(c, e)| c.is_some() || e.is_some())
                .prop_map(|(channel, entity)| Param::Tags(Tags { channel, entity })),
            flow_control().prop_map(Param::Fc),
            any::<i64>().prop_map(Param::Gtag),
            prop_oneof![
                Just(CongestionControl::Static),
                Just(CongestionControl::Cubic)
            ]
            .prop_map(Param::Cc),
            (0..=i64::MAX as u64).prop_map(Param::Sndbuf),
            (0..=i64::MAX as u64).prop_map(Param::PubWnd),
            (1u32..=256).prop_map(Param::MaxResend),
            duration().prop_map(Param::NakDelay),
            prop_oneof![
                Just(ResponseCorrelationId::Prototype),
                (-1..=i64::MAX).prop_map(ResponseCorrelationId::Id)
            ]
            .prop_map(Param::ResponseCorrelationId),
            any::<i32>().prop_map(Param::StreamId),
            timestamp_offset().prop_map(Param::MediaRcvTs),
            timestamp_offset().prop_map(Param::ChannelSndTs),
            ("x-[a-z]{1,8}", "[^|]{1,12}").prop_map(|(k, v)| Param::Unknown(k, v)),
        ]
    }

    fn apply(builder: ChannelUriBuilder, p: &Param) -> ChannelUriBuilder {
        match p {
            Param::Endpoint(v) => builder.endpoint(v),
            Param::Interface(v) => builder.interface(v),
            Param::Control(v) => builder.control(v),
            Param::ControlMode(v) => builder.control_mode(*v),
            Param::Ttl(v) => builder.ttl(*v),
            Param::Mtu(v) => builder.mtu(*v),
            Param::TermLength(v) => builder.term_length(*v),
            Param::InitialTermId(v) => builder.initial_term_id(*v),
            Param::TermOffset(v) => builder.term_offset(*v),
            Param::SessionId(v) => builder.session_id(*v),
            Param::Linger(v) => builder.linger(*v),
            Param::Reliable(v) => builder.reliable(*v),
            Param::Tether(v) => builder.tether(*v),
            Param::Group(v) => builder.group(*v),
            Param::Alias(v) => builder.alias(v),
            Param::Tags(v) => builder.tags(*v),
            Param::Fc(v) => builder.flow_control(v),
            Param::Gtag(v) => builder.group_tag(*v),
            Param::Cc(v) => builder.congestion_control(*v),
            Param::Sndbuf(v) => builder.socket_sndbuf(*v),
            Param::PubWnd(v) => builder.publication_window(*v),
            Param::MaxResend(v) => builder.max_resend(*v),
            Param::NakDelay(v) => builder.nak_delay(*v),
            Param::ResponseCorrelationId(v) => builder.response_correlation_id(*v),
            Param::StreamId(v) => builder.stream_id(*v),
            Param::MediaRcvTs(v) => builder.media_rcv_ts_offset(*v),
            Param::ChannelSndTs(v) => builder.channel_snd_ts_offset(*v),
            Param::Unknown(k, v) => builder.param(k, v),
        }
    }

    /// Reads the parameter back with its typed accessor and compares with what was set.
    fn read_back(uri: &ChannelUri, p: &Param) -> bool {
        match p {
            Param::Endpoint(v) => uri.endpoint() == Ok(Some(v.clone())),
            Param::Interface(v) => uri.interface() == Ok(Some(v.clone())),
            Param::Control(v) => uri.control() == Ok(Some(v.clone())),
            Param::ControlMode(v) => uri.control_mode() == Ok(Some(*v)),
            Param::Ttl(v) => uri.ttl() == Ok(Some(*v)),
            Param::Mtu(v) => uri.mtu() == Ok(Some(*v)),
            Param::TermLength(v) => uri.term_length() == Ok(Some(*v)),
            Param::InitialTermId(v) => uri.initial_term_id() == Ok(Some(*v)),
            Param::TermOffset(v) => uri.term_offset() == Ok(Some(*v)),
            Param::SessionId(v) => uri.session_id() == Ok(Some(*v)),
            Param::Linger(v) => uri.linger() == Ok(Some(*v)),
            Param::Reliable(v) => uri.reliable() == Ok(Some(*v)),
            Param::Tether(v) => uri.tether() == Ok(Some(*v)),
            Param::Group(v) => uri.group() == Ok(Some(*v)),
            Param::Alias(v) => uri.alias() == Some(v.as_str()),
            Param::Tags(v) => uri.tags() == Ok(Some(*v)),
            Param::Fc(v) => uri.flow_control() == Ok(Some(*v)),
            Param::Gtag(v) => uri.group_tag() == Ok(Some(*v)),
            Param::Cc(v) => uri.congestion_control() == Ok(Some(*v)),
            Param::Sndbuf(v) => uri.socket_sndbuf() == Ok(Some(*v)),
            Param::PubWnd(v) => uri.publication_window() == Ok(Some(*v)),
            Param::MaxResend(v) => uri.max_resend() == Ok(Some(*v)),
            Param::NakDelay(v) => uri.nak_delay() == Ok(Some(*v)),
            Param::ResponseCorrelationId(v) => uri.response_correlation_id() == Ok(Some(*v)),
            Param::StreamId(v) => uri.stream_id() == Ok(Some(*v)),
            Param::MediaRcvTs(v) => uri.media_rcv_ts_offset() == Ok(Some(*v)),
            Param::ChannelSndTs(v) => uri.channel_snd_ts_offset() == Ok(Some(*v)),
            Param::Unknown(k, v) => uri.get(k) == Some(v.as_str()),
        }
    }

    /// Which key a parameter sets, to skip all but the last of duplicates when reading back.
    fn key_of(p: &Param) -> String {
        let uri = apply(ChannelUriBuilder::ipc(), p).uri;
        let key = uri.params().next().map(|(k, _)| k.to_owned());
        key.unwrap_or_default()
    }

    proptest! {
        #[test]
        fn built_uris_round_trip(
            media in prop_oneof![Just(Media::Udp), Just(Media::Ipc)],
            spy: bool,
            params in proptest::collection::vec(param(), 0..12),
        ) {
            let builder = params.iter().fold(ChannelUriBuilder::new(media).spy(spy), apply);
            let uri = builder.build().expect("typed params build");
            let rendered = uri.to_string();
            let parsed = ChannelUri::parse(&rendered).expect("rendered URI parses");
            prop_assert_eq!(&parsed, &uri);
            prop_assert_eq!(&parsed.to_string(), &rendered);
            for (i, p) in params.iter().enumerate() {
                let key = key_of(p);
                if params[i + 1..].iter().all(|later| key_of(later) != key) {
                    prop_assert!(read_back(&parsed, p), "{:?} not read back from {}", p, rendered);
                }
            }
        }

        #[test]
        fn random_strings_never_panic(s in "\\PC{0,64}") {
            if let Ok(uri) = ChannelUri::parse(&s) {
                let _ = uri.validate();
                prop_assert_eq!(ChannelUri::parse(&uri.to_string()), Ok(uri));
            }
        }

        #[test]
        fn uri_shaped_strings_never_panic(
            s in "(aeron-spy:)?(aeron:)?(udp|ipc|tcp)?(\\?([a-z=|:,/\\[\\]0-9-]|mtu|tag:|term-length|fc|tags|session-id|endpoint){0,20})?"
        ) {
            if let Ok(uri) = ChannelUri::parse(&s) {
                let _ = uri.validate();
                prop_assert_eq!(ChannelUri::parse(&uri.to_string()), Ok(uri));
            }
        }
    }
}
