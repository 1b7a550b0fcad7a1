//! Two embedded drivers, each with its own Aeron directory, exchanging streams over UDP on 127.0.0.1. Every
//! wait has a deadline; every payload is checked.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxeron_client::{
    Aeron, Context as ClientContext, FragmentAssembler, Header, OfferError, Subscription,
};
use oxeron_concurrent::counters::type_id::system_counter_id as sc;
use oxeron_driver::loss::{Direction, LossPolicy};
use oxeron_driver::loss_report::{read_loss_report, LOSS_REPORT_FILE};
use oxeron_driver::{Context, MediaDriver, ThreadingMode};
use oxeron_protocol::frame::{HDR_TYPE_DATA, HDR_TYPE_SETUP, HDR_TYPE_SM};
use oxeron_testkit::{temp_aeron_dir, wait_until};

struct Node {
    _dir: tempfile::TempDir,
    aeron_dir: std::path::PathBuf,
    _driver: MediaDriver,
    aeron: Aeron,
}

fn node(mode: ThreadingMode, configure: impl FnOnce(Context) -> Context) -> Node {
    let dir = temp_aeron_dir();
    let aeron_dir = dir.path().join("aeron");
    let ctx = Context::new()
        .aeron_dir(&aeron_dir)
        .threading_mode(mode)
        .term_buffer_length(1024 * 1024)
        .publication_linger_timeout(Duration::from_millis(200))
        .dir_delete_on_shutdown(true);
    let driver = MediaDriver::launch(configure(ctx)).unwrap();
    let aeron = Aeron::connect(ClientContext::new().aeron_dir(&aeron_dir)).unwrap();
    Node {
        _dir: dir,
        aeron_dir,
        _driver: driver,
        aeron,
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn channel(port: u16) -> String {
    format!("aeron:udp?endpoint=127.0.0.1:{port}")
}

fn system_counter(node: &Node, id: i32) -> i64 {
    node.aeron.counters_reader().counter_value(id).unwrap()
}

fn wait_connected(is_connected: impl Fn() -> bool, subscription: &mut Subscription) {
    wait_until("the image", Duration::from_secs(10), || {
        subscription.is_connected()
    });
    wait_until(
        "the publication to connect",
        Duration::from_secs(10),
        is_connected,
    );
}

fn offer_until_accepted(mut offer: impl FnMut() -> Result<i64, OfferError>) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match offer() {
            Ok(position) => return position,
            Err(OfferError::BackPressured | OfferError::AdminAction | OfferError::NotConnected) => {
                assert!(Instant::now() < deadline, "offer stuck in back pressure");
                std::thread::yield_now();
            }
            Err(e) => panic!("offer failed: {e}"),
        }
    }
}

fn payload(sequence: u64) -> [u8; 32] {
    let mut m = [0u8; 32];
    m[..8].copy_from_slice(&sequence.to_le_bytes());
    for (i, b) in m[8..].iter_mut().enumerate() {
        *b = (sequence as u8).wrapping_mul(31).wrapping_add(i as u8);
    }
    m
}

/// Publishes `count` small messages from `publisher` to `subscriber` on `channel` and checks every one, in
/// order.
fn stream_messages(publisher: &Node, subscriber: &Node, channel: &str, stream_id: i32, count: u64) {
    let mut subscription = subscriber
        .aeron
        .add_subscription(channel, stream_id)
        .unwrap();
    let mut publication = publisher
        .aeron
        .add_exclusive_publication(channel, stream_id)
        .unwrap();
    wait_connected(|| publication.is_connected(), &mut subscription);
    let consumer = std::thread::spawn(move || {
        let mut next = 0u64;
        let deadline = Instant::now() + Duration::from_secs(240);
        while next < count {
            let n = subscription.poll(
                |m: &[u8], _: &Header| {
                    let sequence = u64::from_le_bytes(m[..8].try_into().unwrap());
                    assert_eq!(sequence, next, "order");
                    assert_eq!(m, payload(sequence), "payload of {sequence}");
                    next += 1;
                },
                256,
            );
            if n == 0 {
                assert!(
                    Instant::now() < deadline,
                    "only {next} of {count} messages arrived"
                );
                std::thread::yield_now();
            }
        }
        next
    });
    for sequence in 0..count {
        offer_until_accepted(|| publication.offer(&payload(sequence)));
    }
    assert_eq!(consumer.join().unwrap(), count);
}

fn message_count() -> u64 {
    if cfg!(debug_assertions) {
        200_000
    } else {
        1_000_000
    }
}

#[test]
fn unicast_messages_arrive_in_order() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Dedicated, |c| c);
    let port = free_port();
    stream_messages(&a, &b, &channel(port), 1001, message_count());
    assert!(system_counter(&a, sc::BYTES_SENT) > 0);
    assert!(system_counter(&b, sc::BYTES_RECEIVED) > 0);
    assert!(system_counter(&b, sc::STATUS_MESSAGES_SENT) > 0);
    assert!(system_counter(&a, sc::STATUS_MESSAGES_RECEIVED) > 0);
}

#[test]
fn shared_network_mode_streams() {
    let a = node(ThreadingMode::SharedNetwork, |c| c);
    let b = node(ThreadingMode::SharedNetwork, |c| c);
    stream_messages(&a, &b, &channel(free_port()), 1002, 20_000);
}

#[test]
fn messages_four_times_the_mtu_are_reassembled() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let channel = channel(free_port());
    let mut subscription = b.aeron.add_subscription(&channel, 1003).unwrap();
    let publication = a.aeron.add_publication(&channel, 1003).unwrap();
    wait_connected(|| publication.is_connected(), &mut subscription);
    let length = 4 * 1408;
    let messages: Vec<Vec<u8>> = (0..200u32)
        .map(|i| (0..length).map(|j| (i as usize * 7 + j) as u8).collect())
        .collect();
    let received = std::cell::RefCell::new(Vec::new());
    let mut assembler = FragmentAssembler::new(|m: &[u8], _: &Header| {
        received.borrow_mut().push(m.to_vec());
    });
    for m in &messages {
        offer_until_accepted(|| {
            subscription.poll(assembler.handler(), 100);
            publication.offer(m)
        });
    }
    wait_until("all fragmented messages", Duration::from_secs(20), || {
        subscription.poll(assembler.handler(), 100);
        received.borrow().len() == messages.len()
    });
    drop(assembler);
    assert_eq!(received.into_inner(), messages);
}

#[test]
fn closing_the_publication_makes_the_image_unavailable() {
    let a = node(ThreadingMode::Shared, |c| c);
    let unavailable = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&unavailable);
    let dir = temp_aeron_dir();
    let aeron_dir = dir.path().join("aeron");
    let _driver = MediaDriver::launch(
        Context::new()
            .aeron_dir(&aeron_dir)
            .threading_mode(ThreadingMode::Shared)
            .dir_delete_on_shutdown(true),
    )
    .unwrap();
    let aeron = Aeron::connect(
        ClientContext::new()
            .aeron_dir(&aeron_dir)
            .on_unavailable_image(move |_| {
                seen.fetch_add(1, Ordering::SeqCst);
            }),
    )
    .unwrap();
    let channel = channel(free_port());
    let mut subscription = aeron.add_subscription(&channel, 1004).unwrap();
    let publication = a.aeron.add_publication(&channel, 1004).unwrap();
    wait_connected(|| publication.is_connected(), &mut subscription);
    let position = offer_until_accepted(|| publication.offer(b"last words"));
    let mut got = 0;
    wait_until("the message", Duration::from_secs(10), || {
        got += subscription.poll(|m: &[u8], _: &Header| assert_eq!(m, b"last words"), 10);
        got == 1
    });
    assert_eq!(subscription.images()[0].position(), position);
    assert!(subscription.images()[0]
        .source_identity()
        .starts_with("127.0.0.1:"));
    drop(publication);
    wait_until("the image to go away", Duration::from_secs(15), || {
        subscription.image_count() == 0
    });
    wait_until(
        "the unavailable-image handler",
        Duration::from_secs(5),
        || unavailable.load(Ordering::SeqCst) == 1,
    );
    // The publication's log is freed once it has lingered.
    wait_until(
        "the publication log to be deleted",
        Duration::from_secs(15),
        || {
            std::fs::read_dir(a.aeron_dir.join("publications"))
                .unwrap()
                .next()
                .is_none()
        },
    );
}

#[test]
fn session_id_filter_selects_one_publication() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let port = free_port();
    let base = channel(port);
    let mut filtered = b
        .aeron
        .add_subscription(&format!("{base}|session-id=777"), 1005)
        .unwrap();
    let mut all = b.aeron.add_subscription(&base, 1005).unwrap();
    let p777 = a
        .aeron
        .add_exclusive_publication(&format!("{base}|session-id=777"), 1005)
        .unwrap();
    let p888 = a
        .aeron
        .add_exclusive_publication(&format!("{base}|session-id=888"), 1005)
        .unwrap();
    wait_until(
        "both images on the unfiltered subscription",
        Duration::from_secs(10),
        || all.image_count() == 2,
    );
    wait_until("the filtered image", Duration::from_secs(10), || {
        filtered.image_count() == 1
    });
    assert_eq!(filtered.images()[0].session_id(), 777);
    assert!(p777.is_connected() && p888.is_connected());
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(filtered.image_count(), 1);
}

fn lossy_stream(loss: LossPolicy, count: u64, stream_id: i32) -> (Node, Node) {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c.loss_policy(loss));
    stream_messages(&a, &b, &channel(free_port()), stream_id, count);
    (a, b)
}

/// Messages of each loss test (the acceptance criterion's 200 K, in debug and release builds alike).
fn loss_count() -> u64 {
    200_000
}

#[test]
fn ten_percent_data_loss_is_recovered() {
    let loss = LossPolicy::new(10).drop_rate(Direction::Receive, HDR_TYPE_DATA, 0.10);
    let (a, b) = lossy_stream(loss.clone(), loss_count(), 1010);
    assert!(loss.dropped() > 0);
    assert!(system_counter(&b, sc::NAK_MESSAGES_SENT) > 0);
    assert!(system_counter(&a, sc::NAK_MESSAGES_RECEIVED) > 0);
    assert!(system_counter(&a, sc::RETRANSMITS_SENT) > 0);
    let report = read_loss_report(b.aeron_dir.join(LOSS_REPORT_FILE)).unwrap();
    assert_eq!(report.len(), 1, "one image saw loss");
    assert!(report[0].observation_count > 0 && report[0].total_bytes_lost > 0);
    assert_eq!(report[0].stream_id, 1010);
}

#[test]
fn thirty_percent_data_loss_is_recovered() {
    let loss = LossPolicy::new(30).drop_rate(Direction::Receive, HDR_TYPE_DATA, 0.30);
    let (a, b) = lossy_stream(loss.clone(), loss_count(), 1011);
    assert!(loss.dropped() > 0);
    assert!(system_counter(&b, sc::NAK_MESSAGES_SENT) > 0);
    assert!(system_counter(&a, sc::RETRANSMITS_SENT) > 0);
}

#[test]
fn a_dropped_setup_frame_is_sent_again() {
    let loss = LossPolicy::new(1).drop_first(Direction::Receive, HDR_TYPE_SETUP, 1);
    lossy_stream(loss.clone(), 20_000, 1012);
    assert_eq!(loss.dropped(), 1);
}

#[test]
fn dropped_status_messages_are_survived() {
    let loss = LossPolicy::new(2)
        .drop_first(Direction::Send, HDR_TYPE_SM, 3)
        .drop_rate(Direction::Send, HDR_TYPE_SM, 0.2);
    let (a, _b) = lossy_stream(loss.clone(), loss_count(), 1013);
    assert!(loss.dropped() >= 3);
    assert!(system_counter(&a, sc::STATUS_MESSAGES_RECEIVED) > 0);
}

#[test]
fn a_lost_term_tail_is_naked_across_the_term_boundary() {
    // Term length 1 MiB: drop the last 64 KiB of the second term the first time it is sent.
    let term = 1024 * 1024;
    let loss =
        LossPolicy::new(3).drop_term_offsets_once(Direction::Receive, 1, term - 64 * 1024, term);
    let (a, b) = lossy_stream(loss.clone(), 100_000, 1014);
    assert!(loss.dropped() > 0, "the tail was dropped");
    assert!(system_counter(&b, sc::NAK_MESSAGES_SENT) > 0);
    assert!(system_counter(&a, sc::RETRANSMITS_SENT) > 0);
}
