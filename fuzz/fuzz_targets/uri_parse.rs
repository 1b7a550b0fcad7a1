//! Parses arbitrary bytes (as lossy UTF-8) as a channel URI; on success exercises every typed accessor, the
//! cross-parameter checks and the render/parse round trip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oxeron_protocol::uri::{
    parse_duration, parse_size, ChannelUri, FlowControl, InterfaceAddress, SocketAddress,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_size(&text);
    let _ = parse_duration(&text);
    let _ = SocketAddress::parse(&text);
    let _ = InterfaceAddress::parse(&text);
    let _ = FlowControl::parse(&text);

    let Ok(uri) = ChannelUri::parse(&text) else {
        return;
    };
    let _ = uri.endpoint();
    let _ = uri.interface();
    let _ = uri.control();
    let _ = uri.control_mode();
    let _ = uri.response_endpoint();
    let _ = uri.ttl();
    let _ = uri.mtu();
    let _ = uri.term_length();
    let _ = uri.initial_term_id();
    let _ = uri.term_id();
    let _ = uri.term_offset();
    let _ = uri.session_id();
    let _ = uri.linger();
    let _ = uri.reliable();
    let _ = uri.sparse();
    let _ = uri.eos();
    let _ = uri.tether();
    let _ = uri.rejoin();
    let _ = uri.spies_simulate_connection();
    let _ = uri.ats();
    let _ = uri.group();
    let _ = uri.alias();
    let _ = uri.tags();
    let _ = uri.flow_control();
    let _ = uri.group_tag();
    let _ = uri.congestion_control();
    let _ = uri.socket_sndbuf();
    let _ = uri.socket_rcvbuf();
    let _ = uri.receiver_window();
    let _ = uri.publication_window();
    let _ = uri.max_resend();
    let _ = uri.nak_delay();
    let _ = uri.untethered_window_limit_timeout();
    let _ = uri.untethered_linger_timeout();
    let _ = uri.untethered_resting_timeout();
    let _ = uri.response_correlation_id();
    let _ = uri.stream_id();
    let _ = uri.media_rcv_ts_offset();
    let _ = uri.channel_rcv_ts_offset();
    let _ = uri.channel_snd_ts_offset();
    let _ = uri.validate();

    let rendered = uri.to_string();
    assert_eq!(rendered.len(), uri.encoded_length());
    assert_eq!(ChannelUri::parse(&rendered).as_ref(), Ok(&uri));
});
