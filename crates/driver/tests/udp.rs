//! Two embedded drivers, each with its own Aeron directory, exchanging streams over UDP on 127.0.0.1. Every
//! wait has a deadline; every payload is checked.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxeron_client::{
    Aeron, Context as ClientContext, ExclusivePublication, FragmentAssembler, Header, OfferError,
    Subscription,
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

/// Polls `subscription` on a thread until `count` messages arrived, checking each payload and the order.
fn consume(mut subscription: Subscription, count: u64) -> std::thread::JoinHandle<Subscription> {
    std::thread::spawn(move || {
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
        subscription
    })
}

fn publish(publication: &mut ExclusivePublication, count: u64) {
    publish_range(publication, 0..count);
}

fn publish_range(publication: &mut ExclusivePublication, sequences: std::ops::Range<u64>) {
    for sequence in sequences {
        offer_until_accepted(|| publication.offer(&payload(sequence)));
    }
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
    let consumer = consume(subscription, count);
    publish(&mut publication, count);
    consumer.join().unwrap();
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
    let port = oxeron_testkit::free_udp_port();
    stream_messages(&a, &b, &channel(port), 1001, message_count());
    assert!(system_counter(&a, sc::BYTES_SENT) > 0);
    assert!(system_counter(&b, sc::BYTES_RECEIVED) > 0);
    assert!(system_counter(&b, sc::STATUS_MESSAGES_SENT) > 0);
    assert!(system_counter(&a, sc::STATUS_MESSAGES_RECEIVED) > 0);
}

#[test]
fn channel_status_counters_are_active() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let channel = channel(oxeron_testkit::free_udp_port());
    let mut subscription = b.aeron.add_subscription(&channel, 1006).unwrap();
    let publication = a.aeron.add_publication(&channel, 1006).unwrap();
    wait_connected(|| publication.is_connected(), &mut subscription);
    let image = Arc::clone(&subscription.images()[0]);
    wait_until(
        "a plain UDP image to have one active transport",
        Duration::from_secs(10),
        || image.active_transport_count() == 1,
    );
    let status = subscription.channel_status_id();
    assert!(status >= 0);
    let reader = b.aeron.counters_reader();
    assert_eq!(
        reader.counter_value(status).unwrap(),
        1,
        "rcv-channel ACTIVE"
    );
    assert!(reader
        .counter_label(status)
        .unwrap()
        .starts_with("rcv-channel: "));
    let mut labels = Vec::new();
    a.aeron
        .counters_reader()
        .for_each(|_, _, _, label| labels.push(label.to_string()));
    for name in [
        "snd-channel: ",
        "snd-pos: ",
        "snd-lmt: ",
        "pub-lmt: ",
        "pub-pos (concurrent): ",
        "snd-bpe: ",
        "snd-naks-received: ",
    ] {
        assert!(
            labels.iter().any(|l| l.starts_with(name)),
            "{name} in {labels:?}"
        );
    }
    let mut labels = Vec::new();
    b.aeron
        .counters_reader()
        .for_each(|_, _, _, label| labels.push(label.to_string()));
    for name in ["rcv-hwm: ", "rcv-pos: ", "sub-pos: ", "rcv-naks-sent: "] {
        assert!(
            labels.iter().any(|l| l.starts_with(name)),
            "{name} in {labels:?}"
        );
    }
}

#[test]
fn shared_network_mode_streams() {
    let a = node(ThreadingMode::SharedNetwork, |c| c);
    let b = node(ThreadingMode::SharedNetwork, |c| c);
    stream_messages(
        &a,
        &b,
        &channel(oxeron_testkit::free_udp_port()),
        1002,
        20_000,
    );
}

#[test]
fn messages_four_times_the_mtu_are_reassembled() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let channel = channel(oxeron_testkit::free_udp_port());
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
    let channel = channel(oxeron_testkit::free_udp_port());
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
    let port = oxeron_testkit::free_udp_port();
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
    stream_messages(
        &a,
        &b,
        &channel(oxeron_testkit::free_udp_port()),
        stream_id,
        count,
    );
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

#[test]
fn a_spy_reads_a_local_network_publication() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let channel = channel(oxeron_testkit::free_udp_port());
    let mut remote = b.aeron.add_subscription(&channel, 1020).unwrap();
    let mut spy = a
        .aeron
        .add_subscription(&format!("aeron-spy:{channel}"), 1020)
        .unwrap();
    let mut publication = a.aeron.add_exclusive_publication(&channel, 1020).unwrap();
    wait_connected(|| publication.is_connected(), &mut remote);
    wait_until("the spy image", Duration::from_secs(10), || {
        spy.is_connected()
    });
    let count = message_count() / 4;
    let remote = consume(remote, count);
    let spy = consume(spy, count);
    publish(&mut publication, count);
    remote.join().unwrap();
    spy.join().unwrap();
}

// With `fc=max` (the default) a receiver that loses datagrams may be left behind for good, as in Aeron; every
// receiver gets every message only under `fc=min`.
#[test]
fn mdc_with_manual_control_reaches_two_receivers() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let c = node(ThreadingMode::Shared, |c| c);
    let (pb, pc) = (
        oxeron_testkit::free_udp_port(),
        oxeron_testkit::free_udp_port(),
    );
    let mut sb = b.aeron.add_subscription(&channel(pb), 1021).unwrap();
    let mut sc = c.aeron.add_subscription(&channel(pc), 1021).unwrap();
    let mut publication = a
        .aeron
        .add_exclusive_publication("aeron:udp?control-mode=manual|fc=min", 1021)
        .unwrap();
    a.aeron
        .add_destination(publication.registration_id(), &channel(pb))
        .unwrap();
    a.aeron
        .add_destination(publication.registration_id(), &channel(pc))
        .unwrap();
    wait_connected(|| publication.is_connected(), &mut sb);
    wait_until("the second image", Duration::from_secs(10), || {
        sc.is_connected()
    });
    let count = message_count() / 4;
    let rb = consume(sb, count);
    let rc = consume(sc, count);
    publish(&mut publication, count);
    rb.join().unwrap();
    let sc = rc.join().unwrap();
    // A removed destination gets nothing more: its image goes away.
    a.aeron
        .remove_destination(publication.registration_id(), &channel(pc))
        .unwrap();
    let mut sc = sc;
    wait_until(
        "the removed destination's image to go",
        Duration::from_secs(30),
        || sc.image_count() == 0,
    );
}

/// A publisher node and two receiver nodes on a dynamic MDC channel (`fc` appended to the publication's).
fn dynamic_mdc(
    fc: &str,
    stream_id: i32,
) -> (Vec<Node>, ExclusivePublication, Subscription, Subscription) {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let c = node(ThreadingMode::Shared, |c| c);
    let control = oxeron_testkit::free_udp_port();
    let publication_channel =
        format!("aeron:udp?control=127.0.0.1:{control}|control-mode=dynamic{fc}");
    let publication = a
        .aeron
        .add_exclusive_publication(&publication_channel, stream_id)
        .unwrap();
    let sb = b
        .aeron
        .add_subscription(
            &format!(
                "aeron:udp?endpoint=127.0.0.1:{}|control=127.0.0.1:{control}",
                oxeron_testkit::free_udp_port()
            ),
            stream_id,
        )
        .unwrap();
    let sc = c
        .aeron
        .add_subscription(
            &format!(
                "aeron:udp?endpoint=127.0.0.1:{}|control=127.0.0.1:{control}",
                oxeron_testkit::free_udp_port()
            ),
            stream_id,
        )
        .unwrap();
    (vec![a, b, c], publication, sb, sc)
}

#[test]
fn mdc_with_dynamic_control_reaches_two_receivers() {
    let (_nodes, mut publication, mut sb, mut sc) = dynamic_mdc("|fc=min", 1022);
    wait_connected(|| publication.is_connected(), &mut sb);
    wait_until("the second image", Duration::from_secs(10), || {
        sc.is_connected()
    });
    let count = message_count() / 4;
    let rb = consume(sb, count);
    let rc = consume(sc, count);
    publish(&mut publication, count);
    rb.join().unwrap();
    rc.join().unwrap();
}

/// Offers until accepted or until back pressure lasted `patience`; returns whether it was accepted.
fn offer_with_patience(
    publication: &mut ExclusivePublication,
    m: &[u8],
    patience: Duration,
) -> bool {
    let deadline = Instant::now() + patience;
    loop {
        match publication.offer(m) {
            Ok(_) => return true,
            Err(OfferError::BackPressured | OfferError::AdminAction)
                if Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_micros(100));
            }
            Err(OfferError::BackPressured | OfferError::AdminAction) => return false,
            Err(e) => panic!("offer failed: {e}"),
        }
    }
}

#[test]
fn fc_max_is_not_held_back_by_a_slow_receiver() {
    let (_nodes, mut publication, mut slow, mut fast) = dynamic_mdc("|fc=max", 1023);
    wait_connected(|| publication.is_connected(), &mut slow);
    wait_until("the fast image", Duration::from_secs(10), || {
        fast.is_connected()
    });
    // Far more than the slow receiver's window (128 KiB) and the publication window (512 KiB).
    let count = 40_000;
    let fast = consume(fast, count);
    for sequence in 0..count {
        assert!(
            offer_with_patience(
                &mut publication,
                &payload(sequence),
                Duration::from_secs(20)
            ),
            "max flow control held the publisher back at {sequence}"
        );
    }
    fast.join().unwrap();
    assert_eq!(
        slow.poll(|_: &[u8], _: &Header| {}, 1),
        1,
        "the slow one has data too"
    );
}

#[test]
fn fc_min_holds_the_publisher_to_the_slowest_receiver() {
    let (_nodes, mut publication, mut slow, mut fast) = dynamic_mdc("|fc=min", 1024);
    wait_connected(|| publication.is_connected(), &mut slow);
    wait_until("the fast image", Duration::from_secs(10), || {
        fast.is_connected()
    });
    let count = 40_000u64;
    let received = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&received);
    let fast = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        while (seen.load(Ordering::SeqCst) as u64) < count {
            if fast.poll(
                |m: &[u8], _: &Header| {
                    let n = seen.load(Ordering::SeqCst) as u64;
                    assert_eq!(m, payload(n));
                    seen.store(n as usize + 1, Ordering::SeqCst);
                },
                256,
            ) == 0
            {
                assert!(Instant::now() < deadline, "fast receiver stalled");
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    });
    let mut sequence = 0;
    while sequence < count
        && offer_with_patience(&mut publication, &payload(sequence), Duration::from_secs(2))
    {
        sequence += 1;
    }
    assert!(
        sequence < count,
        "min flow control did not hold the publisher back"
    );
    let held_at = received.load(Ordering::SeqCst) as u64;
    assert!(held_at < count, "the fast receiver got everything");
    // The slow receiver catches up and releases the publisher.
    let slow = consume(slow, count);
    while sequence < count {
        if !offer_with_patience(
            &mut publication,
            &payload(sequence),
            Duration::from_secs(10),
        ) {
            for n in &_nodes {
                dump_counters(n);
            }
            panic!("stuck at {sequence}");
        }
        sequence += 1;
    }
    slow.join().unwrap();
    fast.join().unwrap();
}

fn dump_counters(node: &Node) {
    let reader = node.aeron.counters_reader();
    reader.for_each(|id, type_id, _, label| {
        if type_id != 0 && type_id != 11 {
            eprintln!("{id} {label} = {}", reader.counter_value(id).unwrap());
        }
    });
    eprintln!("---");
}

#[test]
fn multicast_on_this_host() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let channel = format!(
        "aeron:udp?endpoint=224.0.1.{}:{}",
        1 + 2 * (oxeron_testkit::free_udp_port() % 100),
        oxeron_testkit::free_udp_port()
    );
    let mut subscription = match b.aeron.add_subscription(&channel, 1030) {
        Ok(s) => s,
        Err(e) => {
            println!("MULTICAST NOT TESTED: this environment cannot join a multicast group: {e}");
            eprintln!("MULTICAST NOT TESTED: this environment cannot join a multicast group: {e}");
            return;
        }
    };
    let mut publication = a.aeron.add_exclusive_publication(&channel, 1030).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(subscription.is_connected() && publication.is_connected()) {
        if Instant::now() > deadline {
            println!(
                "MULTICAST NOT TESTED: no multicast delivery on this host within 5 s ({channel})"
            );
            eprintln!(
                "MULTICAST NOT TESTED: no multicast delivery on this host within 5 s ({channel})"
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let count = message_count() / 4;
    let consumer = consume(subscription, count);
    publish(&mut publication, count);
    consumer.join().unwrap();
    println!("multicast tested over {channel}");
}

#[test]
fn mds_merges_one_stream_arriving_at_two_destinations() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let (p1, p2) = (
        oxeron_testkit::free_udp_port(),
        oxeron_testkit::free_udp_port(),
    );
    let mut subscription = b
        .aeron
        .add_subscription("aeron:udp?control-mode=manual", 1040)
        .unwrap();
    let registration_id = subscription.registration_id();
    b.aeron
        .add_rcv_destination(registration_id, &channel(p1))
        .unwrap();
    b.aeron
        .add_rcv_destination(registration_id, &channel(p2))
        .unwrap();
    let mut publication = a
        .aeron
        .add_exclusive_publication("aeron:udp?control-mode=manual", 1040)
        .unwrap();
    a.aeron
        .add_destination(publication.registration_id(), &channel(p1))
        .unwrap();
    a.aeron
        .add_destination(publication.registration_id(), &channel(p2))
        .unwrap();
    wait_connected(|| publication.is_connected(), &mut subscription);
    assert_eq!(
        subscription.image_count(),
        1,
        "both destinations feed one image"
    );
    let count = message_count() / 4;
    let consumer = consume(subscription, count);
    publish(&mut publication, count);
    let mut subscription = consumer.join().unwrap();
    assert_eq!(subscription.image_count(), 1);
    let image = Arc::clone(&subscription.images()[0]);
    wait_until(
        "the image to count both destinations as active transports",
        Duration::from_secs(10),
        || image.active_transport_count() == 2,
    );
    // Either destination alone keeps the stream going.
    b.aeron
        .remove_rcv_destination(registration_id, &channel(p1))
        .unwrap();
    offer_until_accepted(|| publication.offer(&payload(count)));
    let mut got = false;
    wait_until(
        "a message through the remaining destination",
        Duration::from_secs(10),
        || {
            subscription.poll(
                |m: &[u8], _: &Header| {
                    assert_eq!(m, payload(count));
                    got = true;
                },
                10,
            );
            got
        },
    );
}

#[test]
fn removing_the_subscription_frees_the_image() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let channel = channel(oxeron_testkit::free_udp_port());
    let mut subscription = b.aeron.add_subscription(&channel, 1050).unwrap();
    let publication = a.aeron.add_publication(&channel, 1050).unwrap();
    wait_connected(|| publication.is_connected(), &mut subscription);
    let images = b.aeron_dir.join("images");
    assert_eq!(std::fs::read_dir(&images).unwrap().count(), 1);
    drop(subscription);
    wait_until(
        "the image log to be deleted",
        Duration::from_secs(10),
        || std::fs::read_dir(&images).unwrap().next().is_none(),
    );
    // A new subscription on the same channel gets a fresh image of the same publication.
    let mut again = b.aeron.add_subscription(&channel, 1050).unwrap();
    wait_until("a new image", Duration::from_secs(10), || {
        again.is_connected()
    });
}

/// Polls until `count` messages arrived; the first one seen may be any (a late joiner), the rest follow it in
/// order. Returns the first sequence seen.
fn consume_from_any(mut subscription: Subscription, last: u64) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut first = None;
        let mut next = 0u64;
        let deadline = Instant::now() + Duration::from_secs(120);
        while first.is_none() || next <= last {
            let n = subscription.poll(
                |m: &[u8], _: &Header| {
                    let sequence = u64::from_le_bytes(m[..8].try_into().unwrap());
                    if first.is_none() {
                        first = Some(sequence);
                        next = sequence;
                    }
                    assert_eq!(sequence, next, "order");
                    assert_eq!(m, payload(sequence));
                    next += 1;
                },
                256,
            );
            if n == 0 {
                assert!(Instant::now() < deadline, "stalled at {next} of {last}");
                std::thread::yield_now();
            }
        }
        first.unwrap_or(0)
    })
}

#[test]
fn mdc_receivers_join_and_leave_mid_stream() {
    let (nodes, mut publication, mut sb, mut leaving) = dynamic_mdc("|fc=min", 1025);
    wait_connected(|| publication.is_connected(), &mut sb);
    let count = 60_000u64;
    wait_until("the second image", Duration::from_secs(10), || {
        leaving.is_connected()
    });
    let staying = consume(sb, count);
    let leaving = consume(leaving, count / 3);
    publish(&mut publication, count / 3);
    // One receiver leaves: the publisher goes on without waiting for it.
    drop(leaving.join().unwrap());
    let started = Instant::now();
    publish_range(&mut publication, count / 3..2 * count / 3);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the publisher waited for the receiver that left"
    );
    // Another joins through the same control address and sees the rest of the stream from where it joined.
    let control = publication
        .channel()
        .split("control=")
        .nth(1)
        .unwrap()
        .split('|')
        .next()
        .unwrap()
        .to_string();
    let mut joining = nodes[2]
        .aeron
        .add_subscription(
            &format!(
                "aeron:udp?endpoint=127.0.0.1:{}|control={control}",
                oxeron_testkit::free_udp_port()
            ),
            1025,
        )
        .unwrap();
    wait_until(
        "the joining receiver's image",
        Duration::from_secs(10),
        || joining.is_connected(),
    );
    let joined = consume_from_any(joining, count - 1);
    publish_range(&mut publication, 2 * count / 3..count);
    staying.join().unwrap();
    let first = joined.join().unwrap();
    // It joins where the sender was when it asked for SETUP: after the other one left, at most where the
    // publisher was.
    assert!(
        (count / 3..=2 * count / 3).contains(&first),
        "the new receiver joined at {first}"
    );
}

#[test]
fn fc_tagged_follows_only_the_tagged_receivers() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let c = node(ThreadingMode::Shared, |c| c);
    let control = oxeron_testkit::free_udp_port();
    let mut publication = a
        .aeron
        .add_exclusive_publication(
            &format!("aeron:udp?control=127.0.0.1:{control}|control-mode=dynamic|fc=tagged,g:99"),
            1026,
        )
        .unwrap();
    let subscribe = |node: &Node, tag: &str| {
        node.aeron
            .add_subscription(
                &format!(
                    "aeron:udp?endpoint=127.0.0.1:{}|control=127.0.0.1:{control}{tag}",
                    oxeron_testkit::free_udp_port()
                ),
                1026,
            )
            .unwrap()
    };
    let mut tagged = subscribe(&b, "|gtag=99");
    let mut untagged_slow = subscribe(&c, "");
    wait_connected(|| publication.is_connected(), &mut tagged);
    wait_until("the untagged image", Duration::from_secs(10), || {
        untagged_slow.is_connected()
    });
    let count = 40_000;
    let tagged = consume(tagged, count);
    for sequence in 0..count {
        assert!(
            offer_with_patience(
                &mut publication,
                &payload(sequence),
                Duration::from_secs(20)
            ),
            "the untagged receiver held the publisher back at {sequence}"
        );
    }
    tagged.join().unwrap();
}

#[test]
fn a_rejected_image_sends_error_frames_and_disconnects_the_publication() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let channel = channel(oxeron_testkit::free_udp_port());
    let mut subscription = b.aeron.add_subscription(&channel, 1060).unwrap();
    let publication = a.aeron.add_publication(&channel, 1060).unwrap();
    wait_connected(|| publication.is_connected(), &mut subscription);
    let image = subscription.images()[0].clone();
    b.aeron
        .reject_image(image.correlation_id(), image.position(), "not wanted here")
        .unwrap();
    wait_until(
        "an ERR frame at the sender",
        Duration::from_secs(10),
        || system_counter(&a, sc::ERROR_FRAMES_RECEIVED) > 0,
    );
    assert!(system_counter(&b, sc::ERROR_FRAMES_SENT) > 0);
    assert_eq!(system_counter(&b, sc::IMAGES_REJECTED), 1);
    wait_until(
        "the publication to disconnect",
        Duration::from_secs(15),
        || !publication.is_connected(),
    );
    let err = b.aeron.reject_image(-5, 0, "no such image").unwrap_err();
    assert!(err.to_string().contains("unknown image"), "{err}");
}

#[test]
fn a_claim_never_committed_is_unblocked() {
    let a = node(ThreadingMode::Shared, |c| {
        c.publication_unblock_timeout(Duration::from_millis(1500))
            .client_liveness_timeout(Duration::from_secs(1))
            .timer_interval(Duration::from_millis(100))
    });
    let b = node(ThreadingMode::Shared, |c| c);
    let channel = channel(oxeron_testkit::free_udp_port());
    let mut subscription = b.aeron.add_subscription(&channel, 1080).unwrap();
    let publication = a.aeron.add_publication(&channel, 1080).unwrap();
    wait_connected(|| publication.is_connected(), &mut subscription);
    offer_until_accepted(|| publication.offer(b"before"));
    // A publisher that dies between claiming and committing.
    let (_, claim) = publication.try_claim(100).unwrap();
    std::mem::forget(claim);
    offer_until_accepted(|| publication.offer(b"after"));
    let mut received = Vec::new();
    wait_until("both messages", Duration::from_secs(10), || {
        subscription.poll(|m: &[u8], _: &Header| received.push(m.to_vec()), 10);
        received.len() == 2
    });
    assert_eq!(received, vec![b"before".to_vec(), b"after".to_vec()]);
    assert!(system_counter(&a, sc::UNBLOCKED_PUBLICATIONS) >= 1);
}

#[test]
fn garbage_datagrams_are_counted_and_dropped() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let port = oxeron_testkit::free_udp_port();
    let channel = channel(port);
    let mut subscription = b.aeron.add_subscription(&channel, 1090).unwrap();
    let mut publication = a.aeron.add_exclusive_publication(&channel, 1090).unwrap();
    wait_connected(|| publication.is_connected(), &mut subscription);
    let sender_address = subscription.images()[0].source_identity().to_string();
    let count = 20_000;
    let consumer = consume(subscription, count);
    let noise = std::thread::spawn(move || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for i in 0..3_000u32 {
            let length = (next() % 120) as usize;
            let mut datagram: Vec<u8> = (0..length).map(|_| next() as u8).collect();
            if length >= 8 && i % 2 == 0 {
                // A plausible header: right length and version, a known type.
                datagram[..4].copy_from_slice(&(length as i32).to_le_bytes());
                datagram[4] = 0;
                datagram[6..8].copy_from_slice(&((next() % 8) as u16).to_le_bytes());
            }
            let _ = socket.send_to(&datagram, ("127.0.0.1", port));
            let _ = socket.send_to(&datagram, sender_address.as_str());
        }
    });
    publish(&mut publication, count);
    noise.join().unwrap();
    consumer.join().unwrap();
    assert!(system_counter(&b, sc::INVALID_PACKETS) > 0);
    assert!(system_counter(&a, sc::INVALID_PACKETS) > 0);
}

#[test]
fn exact_initial_position_carries_over_the_network() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let port = oxeron_testkit::free_udp_port();
    let mut subscription = b.aeron.add_subscription(&channel(port), 1100).unwrap();
    let mut publication = a
        .aeron
        .add_exclusive_publication(
            &format!(
                "{}|term-length=64k|init-term-id=5|term-id=7|term-offset=1024|session-id=4242",
                channel(port)
            ),
            1100,
        )
        .unwrap();
    let start = 2 * 65536 + 1024;
    assert_eq!(publication.position(), start);
    wait_connected(|| publication.is_connected(), &mut subscription);
    let image = subscription.images()[0].clone();
    assert_eq!(image.session_id(), 4242);
    assert_eq!(image.initial_term_id(), 5);
    assert_eq!(image.join_position(), start);
    let end = offer_until_accepted(|| publication.offer(b"positioned"));
    let mut seen = None;
    wait_until("the message", Duration::from_secs(10), || {
        subscription.poll(
            |m: &[u8], h: &Header| seen = Some((m.to_vec(), h.position())),
            1,
        );
        seen.is_some()
    });
    assert_eq!(seen, Some((b"positioned".to_vec(), end)));
    assert_eq!(image.position(), end);
}

#[test]
fn unreliable_images_fill_gaps_instead_of_naking() {
    let a = node(ThreadingMode::Shared, |c| c);
    let loss = LossPolicy::new(11).drop_rate(Direction::Receive, HDR_TYPE_DATA, 0.1);
    let b = node(ThreadingMode::Shared, |c| c.loss_policy(loss.clone()));
    let port = oxeron_testkit::free_udp_port();
    let mut subscription = b
        .aeron
        .add_subscription(&format!("{}|reliable=false", channel(port)), 1110)
        .unwrap();
    let mut publication = a
        .aeron
        .add_exclusive_publication(&channel(port), 1110)
        .unwrap();
    wait_connected(|| publication.is_connected(), &mut subscription);
    let count = 20_000u64;
    let consumer = std::thread::spawn(move || {
        let mut last: Option<u64> = None;
        let mut received = 0u64;
        let deadline = Instant::now() + Duration::from_secs(60);
        while last != Some(count) {
            let n = subscription.poll(
                |m: &[u8], _: &Header| {
                    let sequence = u64::from_le_bytes(m[..8].try_into().unwrap());
                    // The end marker may come more than once.
                    assert!(
                        last.is_none_or(|l| sequence > l || sequence == count),
                        "order"
                    );
                    assert_eq!(m, payload(sequence));
                    last = Some(sequence);
                    received += 1;
                },
                256,
            );
            if n == 0 {
                assert!(Instant::now() < deadline, "stalled after {last:?}");
                std::thread::yield_now();
            }
        }
        received
    });
    publish(&mut publication, count);
    // Keep sending a marker until it gets through.
    let received = loop {
        offer_until_accepted(|| publication.offer(&payload(count)));
        std::thread::sleep(Duration::from_millis(5));
        if consumer.is_finished() {
            break consumer.join().unwrap();
        }
    };
    assert!(loss.dropped() > 0);
    assert!(received < count, "some messages were lost for good");
    assert_eq!(system_counter(&b, sc::NAK_MESSAGES_SENT), 0);
    assert!(system_counter(&b, sc::LOSS_GAP_FILLS) > 0);
}

#[test]
fn an_ephemeral_port_is_found_through_the_local_socket_address_counters() {
    let a = node(ThreadingMode::Shared, |c| c);
    let b = node(ThreadingMode::Shared, |c| c);
    let mut subscription = b
        .aeron
        .add_subscription("aeron:udp?endpoint=127.0.0.1:0", 1050)
        .unwrap();
    let addresses = b
        .aeron
        .local_socket_addresses(subscription.channel_status_id());
    assert_eq!(addresses.len(), 1, "{addresses:?}");
    let bound: std::net::SocketAddr = addresses[0].parse().unwrap();
    assert_eq!(bound.ip().to_string(), "127.0.0.1");
    assert_ne!(bound.port(), 0);
    let mut labels = Vec::new();
    b.aeron.counters_reader().for_each(|_, type_id, _, label| {
        if type_id == 14 {
            labels.push(label.to_string());
        }
    });
    assert_eq!(
        labels,
        [format!(
            "rcv-local-sockaddr: {} {bound}",
            subscription.channel_status_id()
        )]
    );
    // A publication to the port the driver picked reaches the subscription.
    let mut publication = a
        .aeron
        .add_exclusive_publication(&channel(bound.port()), 1050)
        .unwrap();
    let publisher_addresses = a
        .aeron
        .local_socket_addresses(publication.channel_status_id());
    assert_eq!(publisher_addresses.len(), 1, "{publisher_addresses:?}");
    wait_connected(|| publication.is_connected(), &mut subscription);
    let consumer = consume(subscription, 1000);
    publish(&mut publication, 1000);
    consumer.join().unwrap();
    assert!(a.aeron.local_socket_addresses(-1).is_empty());
}
