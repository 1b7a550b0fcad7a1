//! Counter type ids (`AeronCounters` in Java, `aeron_counters.h` in C) and the driver's system counters.
//!
//! Type ids below 1000 are reserved for Aeron: 0..99 client and driver, 100..199 archive, 200..299 cluster.

/// System counters: key = system counter id (`i32`), registration id = counter id, owner id = -1.
pub const DRIVER_SYSTEM_COUNTER_TYPE_ID: i32 = 0;
/// `pub-lmt`: the position publishers may not pass (stream key).
pub const DRIVER_PUBLISHER_LIMIT_TYPE_ID: i32 = 1;
/// `snd-pos`: the position the sender has sent up to (stream key).
pub const DRIVER_SENDER_POSITION_TYPE_ID: i32 = 2;
/// `rcv-hwm`: the highest position the receiver has seen (stream key).
pub const DRIVER_RECEIVER_HWM_TYPE_ID: i32 = 3;
/// `sub-pos`: a subscriber's position in an image (stream key; reference id = image registration id).
pub const DRIVER_SUBSCRIBER_POSITION_TYPE_ID: i32 = 4;
/// `rcv-pos`: the position the receiver has rebuilt the stream up to (stream key).
pub const DRIVER_RECEIVER_POS_TYPE_ID: i32 = 5;
/// `snd-channel`: send channel endpoint status (channel key).
pub const DRIVER_SEND_CHANNEL_STATUS_TYPE_ID: i32 = 6;
/// `rcv-channel`: receive channel endpoint status (channel key).
pub const DRIVER_RECEIVE_CHANNEL_STATUS_TYPE_ID: i32 = 7;
/// `snd-lmt`: the position the sender may send up to (stream key).
pub const DRIVER_SENDER_LIMIT_TYPE_ID: i32 = 9;
/// Per-image indicators such as congestion control state (stream key).
pub const DRIVER_PER_IMAGE_TYPE_ID: i32 = 10;
/// `client-heartbeat`: a client's last keepalive, epoch ms (key = client id `i64`).
pub const DRIVER_HEARTBEAT_TYPE_ID: i32 = 11;
/// `pub-pos (concurrent)` / `pub-pos (exclusive)`: a publication's append position (stream key).
pub const DRIVER_PUBLISHER_POS_TYPE_ID: i32 = 12;
/// `snd-bpe`: sender back-pressure events (stream key).
pub const DRIVER_SENDER_BPE_TYPE_ID: i32 = 13;
/// `rcv-local-sockaddr` / `snd-local-sockaddr`: a channel's bound local address (local sockaddr key).
pub const DRIVER_LOCAL_SOCKET_ADDRESS_STATUS_TYPE_ID: i32 = 14;
/// Name resolver neighbour count (empty key).
pub const NAME_RESOLVER_NEIGHBORS_COUNTER_TYPE_ID: i32 = 15;
/// Name resolver cache entry count (empty key).
pub const NAME_RESOLVER_CACHE_ENTRIES_COUNTER_TYPE_ID: i32 = 16;
/// `fc-receivers`: receivers tracked by min/tagged flow control (stream key).
pub const FLOW_CONTROL_RECEIVERS_COUNTER_TYPE_ID: i32 = 17;
/// `mdc-num-dest`: destinations of a multi-destination-cast channel (channel key).
pub const MDC_DESTINATIONS_COUNTER_TYPE_ID: i32 = 18;
/// `snd-naks-received`: NAKs received by the sender (stream key).
pub const DRIVER_SENDER_NAKS_RECEIVED_TYPE_ID: i32 = 19;
/// `rcv-naks-sent`: NAKs sent by the receiver (stream key).
pub const DRIVER_RECEIVER_NAKS_SENT_TYPE_ID: i32 = 20;
/// Name resolver bootstrap neighbour (key = index `i32`).
pub const NAME_RESOLVER_BOOTSTRAP_NEIGHBOR_COUNTER_TYPE_ID: i32 = 21;

/// `rec-pos`: a recording's position.
pub const ARCHIVE_RECORDING_POSITION_TYPE_ID: i32 = 100;
/// Archive error count (key = archive id `i64`).
pub const ARCHIVE_ERROR_COUNT_TYPE_ID: i32 = 101;
/// Archive control session count (key = archive id).
pub const ARCHIVE_CONTROL_SESSIONS_TYPE_ID: i32 = 102;
/// Archive agent max cycle time (key = archive id).
pub const ARCHIVE_MAX_CYCLE_TIME_TYPE_ID: i32 = 103;
/// Archive agent cycle time threshold exceeded count (key = archive id).
pub const ARCHIVE_CYCLE_TIME_THRESHOLD_EXCEEDED_TYPE_ID: i32 = 104;
/// Recorder max write time (key = archive id).
pub const ARCHIVE_RECORDER_MAX_WRITE_TIME_TYPE_ID: i32 = 105;
/// Recorder total bytes written (key = archive id).
pub const ARCHIVE_RECORDER_TOTAL_WRITE_BYTES_TYPE_ID: i32 = 106;
/// Recorder total write time (key = archive id).
pub const ARCHIVE_RECORDER_TOTAL_WRITE_TIME_TYPE_ID: i32 = 107;
/// Replayer max read time (key = archive id).
pub const ARCHIVE_REPLAYER_MAX_READ_TIME_TYPE_ID: i32 = 108;
/// Replayer total bytes read (key = archive id).
pub const ARCHIVE_REPLAYER_TOTAL_READ_BYTES_TYPE_ID: i32 = 109;
/// Replayer total read time (key = archive id).
pub const ARCHIVE_REPLAYER_TOTAL_READ_TIME_TYPE_ID: i32 = 110;
/// Active recording session count (key = archive id; Java archive only).
pub const ARCHIVE_RECORDING_SESSION_COUNT_TYPE_ID: i32 = 111;
/// Active replay session count (key = archive id).
pub const ARCHIVE_REPLAY_SESSION_COUNT_TYPE_ID: i32 = 112;
/// `control-session`: one archive control session (key = archive id, control session id).
pub const ARCHIVE_CONTROL_SESSION_TYPE_ID: i32 = 113;

/// Label prefix of [`DRIVER_PUBLISHER_LIMIT_TYPE_ID`] counters.
pub const PUBLISHER_LIMIT_NAME: &str = "pub-lmt";
/// Label prefix of [`DRIVER_SENDER_POSITION_TYPE_ID`] counters.
pub const SENDER_POSITION_NAME: &str = "snd-pos";
/// Label prefix of [`DRIVER_RECEIVER_HWM_TYPE_ID`] counters.
pub const RECEIVER_HWM_NAME: &str = "rcv-hwm";
/// Label prefix of [`DRIVER_SUBSCRIBER_POSITION_TYPE_ID`] counters.
pub const SUBSCRIBER_POSITION_NAME: &str = "sub-pos";
/// Label prefix of [`DRIVER_RECEIVER_POS_TYPE_ID`] counters.
pub const RECEIVER_POSITION_NAME: &str = "rcv-pos";
/// Label prefix of [`DRIVER_SEND_CHANNEL_STATUS_TYPE_ID`] counters.
pub const SEND_CHANNEL_STATUS_NAME: &str = "snd-channel";
/// Label prefix of [`DRIVER_RECEIVE_CHANNEL_STATUS_TYPE_ID`] counters.
pub const RECEIVE_CHANNEL_STATUS_NAME: &str = "rcv-channel";
/// Label prefix of [`DRIVER_SENDER_LIMIT_TYPE_ID`] counters.
pub const SENDER_LIMIT_NAME: &str = "snd-lmt";
/// Label prefix of [`DRIVER_HEARTBEAT_TYPE_ID`] counters for clients.
pub const CLIENT_HEARTBEAT_NAME: &str = "client-heartbeat";
/// Label prefix of [`DRIVER_PUBLISHER_POS_TYPE_ID`] counters of concurrent publications.
pub const PUBLISHER_POSITION_CONCURRENT_NAME: &str = "pub-pos (concurrent)";
/// Label prefix of [`DRIVER_PUBLISHER_POS_TYPE_ID`] counters of exclusive publications.
pub const PUBLISHER_POSITION_EXCLUSIVE_NAME: &str = "pub-pos (exclusive)";
/// Label prefix of [`DRIVER_SENDER_BPE_TYPE_ID`] counters.
pub const SENDER_BPE_NAME: &str = "snd-bpe";
/// Label prefix of receive-side [`DRIVER_LOCAL_SOCKET_ADDRESS_STATUS_TYPE_ID`] counters.
pub const RECEIVE_LOCAL_SOCKADDR_NAME: &str = "rcv-local-sockaddr";
/// Label prefix of send-side [`DRIVER_LOCAL_SOCKET_ADDRESS_STATUS_TYPE_ID`] counters.
pub const SEND_LOCAL_SOCKADDR_NAME: &str = "snd-local-sockaddr";
/// Label prefix of [`FLOW_CONTROL_RECEIVERS_COUNTER_TYPE_ID`] counters.
pub const FLOW_CONTROL_RECEIVERS_NAME: &str = "fc-receivers";
/// Label prefix of [`MDC_DESTINATIONS_COUNTER_TYPE_ID`] counters.
pub const MDC_DESTINATIONS_NAME: &str = "mdc-num-dest";
/// Label prefix of [`DRIVER_SENDER_NAKS_RECEIVED_TYPE_ID`] counters.
pub const SENDER_NAKS_RECEIVED_NAME: &str = "snd-naks-received";
/// Label prefix of [`DRIVER_RECEIVER_NAKS_SENT_TYPE_ID`] counters.
pub const RECEIVER_NAKS_SENT_NAME: &str = "rcv-naks-sent";

/// Values of channel endpoint status counters (`snd-channel`, `rcv-channel`).
pub mod channel_endpoint_status {
    /// The endpoint is being set up.
    pub const INITIALIZING: i64 = 0;
    /// The endpoint failed.
    pub const ERRORED: i64 = -1;
    /// The endpoint is bound and usable.
    pub const ACTIVE: i64 = 1;
    /// The endpoint is closing.
    pub const CLOSING: i64 = 2;
    /// Counter id sent when no status counter exists (IPC and spy channels).
    pub const NO_ID_ALLOCATED: i32 = -1;
}

/// One of the driver's system counters: its id (equal to its counter id) and base label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemCounterDescriptor {
    /// System counter id; the driver allocates them first and in order, so this is also the counter id.
    pub id: i32,
    /// Base label; the driver appends suffixes to some (`: SHARED`, `: threshold=100ms SHARED`, versions).
    pub label: &'static str,
}

macro_rules! system_counters {
    ($($name:ident = $id:literal, $label:literal;)*) => {
        /// Ids of the driver's system counters (`SYSTEM_COUNTER_ID_*` in `AeronCounters`).
        pub mod system_counter_id {
            $(
                #[doc = concat!("`", $label, "`")]
                pub const $name: i32 = $id;
            )*
        }

        /// Every system counter in allocation order.
        pub const SYSTEM_COUNTERS: &[SystemCounterDescriptor] = &[
            $(SystemCounterDescriptor { id: $id, label: $label },)*
        ];
    };
}

system_counters! {
    BYTES_SENT = 0, "Bytes sent";
    BYTES_RECEIVED = 1, "Bytes received";
    RECEIVER_PROXY_FAILS = 2, "Failed offers to ReceiverProxy";
    SENDER_PROXY_FAILS = 3, "Failed offers to SenderProxy";
    CONDUCTOR_PROXY_FAILS = 4, "Failed offers to DriverConductorProxy";
    NAK_MESSAGES_SENT = 5, "NAKs sent";
    NAK_MESSAGES_RECEIVED = 6, "NAKs received";
    STATUS_MESSAGES_SENT = 7, "Status Messages sent";
    STATUS_MESSAGES_RECEIVED = 8, "Status Messages received";
    HEARTBEATS_SENT = 9, "Heartbeats sent";
    HEARTBEATS_RECEIVED = 10, "Heartbeats received";
    RETRANSMITS_SENT = 11, "Retransmits sent";
    FLOW_CONTROL_UNDER_RUNS = 12, "Flow control under runs";
    FLOW_CONTROL_OVER_RUNS = 13, "Flow control over runs";
    INVALID_PACKETS = 14, "Invalid packets";
    ERRORS = 15, "Errors";
    SHORT_SENDS = 16, "Short sends";
    FREE_FAILS = 17, "Failed attempts to free log buffers";
    SENDER_FLOW_CONTROL_LIMITS = 18, "Sender flow control limits, i.e. back-pressure events";
    UNBLOCKED_PUBLICATIONS = 19, "Unblocked Publications";
    UNBLOCKED_COMMANDS = 20, "Unblocked Control Commands";
    POSSIBLE_TTL_ASYMMETRY = 21, "Possible TTL Asymmetry";
    CONTROLLABLE_IDLE_STRATEGY = 22, "ControllableIdleStrategy status";
    LOSS_GAP_FILLS = 23, "Loss gap fills";
    CLIENT_TIMEOUTS = 24, "Client liveness timeouts";
    RESOLUTION_CHANGES = 25, "Resolution changes";
    CONDUCTOR_MAX_CYCLE_TIME = 26, "Conductor max cycle time doing its work in ns";
    CONDUCTOR_CYCLE_TIME_THRESHOLD_EXCEEDED = 27, "Conductor work cycle exceeded threshold count";
    SENDER_MAX_CYCLE_TIME = 28, "Sender max cycle time doing its work in ns";
    SENDER_CYCLE_TIME_THRESHOLD_EXCEEDED = 29, "Sender work cycle exceeded threshold count";
    RECEIVER_MAX_CYCLE_TIME = 30, "Receiver max cycle time doing its work in ns";
    RECEIVER_CYCLE_TIME_THRESHOLD_EXCEEDED = 31, "Receiver work cycle exceeded threshold count";
    NAME_RESOLVER_MAX_TIME = 32, "NameResolver max time in ns";
    NAME_RESOLVER_TIME_THRESHOLD_EXCEEDED = 33, "NameResolver exceeded threshold count";
    AERON_VERSION = 34, "Aeron software";
    BYTES_CURRENTLY_MAPPED = 35, "Bytes currently mapped";
    RETRANSMITTED_BYTES = 36, "Retransmitted bytes";
    RETRANSMIT_OVERFLOW = 37, "Retransmit Pool Overflow count";
    ERROR_FRAMES_RECEIVED = 38, "Error Frames received";
    ERROR_FRAMES_SENT = 39, "Error Frames sent";
    PUBLICATIONS_REVOKED = 40, "Publications Revoked";
    PUBLICATION_IMAGES_REVOKED = 41, "Publication Images Revoked";
    IMAGES_REJECTED = 42, "Images rejected";
    CONTROL_PROTOCOL_VERSION = 43, "Control protocol version";
    STATUS_MESSAGES_REJECTED = 44, "Status Messages rejected";
    ASYNC_EXECUTOR_PROXY_FAILS = 45, "Failed offers to NativeResourceAgentProxy";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_counters_are_dense_and_in_order() {
        assert_eq!(SYSTEM_COUNTERS.len(), 46);
        for (i, d) in SYSTEM_COUNTERS.iter().enumerate() {
            assert_eq!(d.id as usize, i);
        }
        assert_eq!(system_counter_id::ERRORS, 15);
        assert_eq!(system_counter_id::ASYNC_EXECUTOR_PROXY_FAILS, 45);
    }
}
