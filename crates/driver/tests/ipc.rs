//! A real embedded driver and client over IPC: each test has its own Aeron directory (under /dev/shm,
//! removed afterwards) and every wait has a deadline.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxeron_client::{
    Aeron, AeronError, Context as ClientContext, ExclusivePublication, FragmentAssembler, Header,
    OfferError, Publication, Subscription,
};
use oxeron_driver::{Context, MediaDriver, ThreadingMode};
use oxeron_protocol::command::ErrorCode;
use oxeron_testkit::{temp_aeron_dir, wait_until};

struct Fixture {
    _dir: tempfile::TempDir,
    aeron_dir: std::path::PathBuf,
    driver: Option<MediaDriver>,
    aeron: Aeron,
}

fn fixture_with(configure: impl FnOnce(Context) -> Context) -> Fixture {
    let dir = temp_aeron_dir();
    let aeron_dir = dir.path().join("aeron");
    let ctx = Context::new()
        .aeron_dir(&aeron_dir)
        .threading_mode(ThreadingMode::Shared)
        .ipc_term_buffer_length(64 * 1024)
        .dir_delete_on_shutdown(true);
    let driver = MediaDriver::launch(configure(ctx)).unwrap();
    let aeron = Aeron::connect(ClientContext::new().aeron_dir(&aeron_dir)).unwrap();
    Fixture {
        _dir: dir,
        aeron_dir,
        driver: Some(driver),
        aeron,
    }
}

fn fixture() -> Fixture {
    fixture_with(|ctx| ctx)
}

fn connected(publication_connected: impl Fn() -> bool, subscription: &mut Subscription) {
    wait_until("the image", Duration::from_secs(10), || {
        subscription.is_connected()
    });
    wait_until(
        "the publication to connect",
        Duration::from_secs(10),
        &publication_connected,
    );
}

/// Offers until accepted, yielding on back pressure; fails after 30 s.
fn offer_until_accepted(mut offer: impl FnMut() -> Result<i64, OfferError>) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match offer() {
            Ok(position) => return position,
            Err(OfferError::BackPressured | OfferError::AdminAction) => {
                assert!(Instant::now() < deadline, "offer stuck in back pressure");
                std::thread::yield_now();
            }
            Err(e) => panic!("offer failed: {e}"),
        }
    }
}

fn offer_concurrent(publication: &Publication, message: &[u8]) -> i64 {
    offer_until_accepted(|| publication.offer(message))
}

fn offer_exclusive(publication: &mut ExclusivePublication, message: &[u8]) -> i64 {
    offer_until_accepted(|| publication.offer(message))
}

fn message_count() -> u64 {
    if cfg!(debug_assertions) {
        100_000
    } else {
        1_000_000
    }
}

/// A 32-byte payload carrying (publisher, sequence) and a filler derived from both.
fn payload(publisher: u32, sequence: u64) -> [u8; 32] {
    let mut m = [0u8; 32];
    m[..4].copy_from_slice(&publisher.to_le_bytes());
    m[4..12].copy_from_slice(&sequence.to_le_bytes());
    for (i, b) in m[12..].iter_mut().enumerate() {
        *b = (sequence as u8).wrapping_mul(31).wrapping_add(i as u8) ^ publisher as u8;
    }
    m
}

fn check_payload(m: &[u8]) -> (u32, u64) {
    assert_eq!(m.len(), 32, "payload length");
    let publisher = u32::from_le_bytes(m[..4].try_into().unwrap());
    let sequence = u64::from_le_bytes(m[4..12].try_into().unwrap());
    assert_eq!(
        m,
        payload(publisher, sequence),
        "payload bytes of {publisher}/{sequence}"
    );
    (publisher, sequence)
}

#[test]
fn one_million_messages_from_one_publisher() {
    let f = fixture();
    let publication = f.aeron.add_publication("aeron:ipc", 1001).unwrap();
    let mut subscription = f.aeron.add_subscription("aeron:ipc", 1001).unwrap();
    connected(|| publication.is_connected(), &mut subscription);
    let count = message_count();
    let consumer = std::thread::spawn(move || {
        let mut next = 0u64;
        let deadline = Instant::now() + Duration::from_secs(120);
        while next < count {
            let n = subscription.poll(
                |m: &[u8], _: &Header| {
                    let (publisher, sequence) = check_payload(m);
                    assert_eq!((publisher, sequence), (0, next), "order");
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
        offer_concurrent(&publication, &payload(0, sequence));
    }
    assert_eq!(consumer.join().unwrap(), count);
}

#[test]
fn four_concurrent_publishers_keep_their_own_order() {
    let f = fixture();
    let publication = Arc::new(f.aeron.add_publication("aeron:ipc", 1002).unwrap());
    let mut subscription = f.aeron.add_subscription("aeron:ipc", 1002).unwrap();
    connected(|| publication.is_connected(), &mut subscription);
    let per_publisher = message_count() / 4;
    let publishers: Vec<_> = (0..4u32)
        .map(|p| {
            let publication = Arc::clone(&publication);
            std::thread::spawn(move || {
                for sequence in 0..per_publisher {
                    offer_concurrent(&publication, &payload(p, sequence));
                }
            })
        })
        .collect();
    let mut next = [0u64; 4];
    let deadline = Instant::now() + Duration::from_secs(120);
    while next.iter().sum::<u64>() < 4 * per_publisher {
        let n = subscription.poll(
            |m: &[u8], _: &Header| {
                let (p, sequence) = check_payload(m);
                assert_eq!(sequence, next[p as usize], "publisher {p} order");
                next[p as usize] += 1;
            },
            256,
        );
        if n == 0 {
            assert!(Instant::now() < deadline, "received only {next:?}");
            std::thread::yield_now();
        }
    }
    for p in publishers {
        p.join().unwrap();
    }
    assert_eq!(next, [per_publisher; 4]);
}

#[test]
fn messages_four_times_the_mtu_are_reassembled() {
    let f = fixture();
    let mut publication = f
        .aeron
        .add_exclusive_publication("aeron:ipc", 1003)
        .unwrap();
    let mut subscription = f.aeron.add_subscription("aeron:ipc", 1003).unwrap();
    connected(|| publication.is_connected(), &mut subscription);
    let length = 4 * 1408;
    let messages: Vec<Vec<u8>> = (0..50u32)
        .map(|i| (0..length).map(|j| (i as usize * 7 + j) as u8).collect())
        .collect();
    let mut received: Vec<Vec<u8>> = Vec::new();
    let counted = std::cell::Cell::new(0usize);
    let mut assembler = FragmentAssembler::new(|m: &[u8], h: &Header| {
        assert_eq!(h.flags(), 0xC0);
        received.push(m.to_vec());
        counted.set(counted.get() + 1);
    });
    let received_count = |_: &mut _| counted.get();
    for m in &messages {
        offer_exclusive(&mut publication, m);
        subscription.poll(assembler.handler(), 100);
    }
    wait_until("all fragments", Duration::from_secs(10), || {
        subscription.poll(assembler.handler(), 100);
        received_count(&mut assembler) == messages.len()
    });
    drop(assembler);
    assert_eq!(received, messages);
}

#[test]
fn tiny_terms_rotate_thousands_of_times() {
    let f = fixture();
    let mut publication = f
        .aeron
        .add_exclusive_publication("aeron:ipc?term-length=64k", 1004)
        .unwrap();
    let mut subscription = f.aeron.add_subscription("aeron:ipc", 1004).unwrap();
    connected(|| publication.is_connected(), &mut subscription);
    let message = vec![7u8; 1000];
    let count = if cfg!(debug_assertions) {
        70_000
    } else {
        300_000
    };
    let consumer = std::thread::spawn(move || {
        let mut received = 0u64;
        let deadline = Instant::now() + Duration::from_secs(120);
        while received < count {
            if subscription.poll(
                |m: &[u8], _: &Header| {
                    assert!(m.iter().all(|&b| b == 7));
                    received += 1;
                },
                100,
            ) == 0
            {
                assert!(Instant::now() < deadline, "received {received}");
                std::thread::yield_now();
            }
        }
        subscription
    });
    let mut last = 0;
    for _ in 0..count {
        last = offer_exclusive(&mut publication, &message);
    }
    let subscription = consumer.join().unwrap();
    let terms = last / (64 * 1024);
    assert!(terms > 1000, "rotated through {terms} terms");
    drop(subscription);
}

#[test]
fn slow_subscriber_back_pressures_then_recovers_without_loss() {
    let f = fixture();
    let publication = f.aeron.add_publication("aeron:ipc", 1005).unwrap();
    let mut subscription = f.aeron.add_subscription("aeron:ipc", 1005).unwrap();
    connected(|| publication.is_connected(), &mut subscription);
    let mut sent = 0u64;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match publication.offer(&payload(0, sent)) {
            Ok(_) => sent += 1,
            Err(OfferError::BackPressured) => break,
            Err(OfferError::AdminAction) => {}
            Err(e) => panic!("{e}"),
        }
        assert!(
            Instant::now() < deadline,
            "never back pressured after {sent} messages"
        );
    }
    assert!(sent > 100, "a window's worth went out first: {sent}");
    let mut next = 0u64;
    let total = sent + 5000;
    let deadline = Instant::now() + Duration::from_secs(30);
    while next < total {
        subscription.poll(
            |m: &[u8], _: &Header| {
                assert_eq!(check_payload(m), (0, next));
                next += 1;
            },
            10,
        );
        if sent < total {
            match publication.offer(&payload(0, sent)) {
                Ok(_) => sent += 1,
                Err(OfferError::BackPressured | OfferError::AdminAction) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert!(Instant::now() < deadline, "stalled at {next}/{total}");
    }
}

#[test]
fn try_claim_on_concurrent_and_exclusive_publications() {
    let f = fixture();
    let concurrent = f.aeron.add_publication("aeron:ipc", 1006).unwrap();
    let mut exclusive = f
        .aeron
        .add_exclusive_publication("aeron:ipc", 1006)
        .unwrap();
    let mut subscription = f.aeron.add_subscription("aeron:ipc", 1006).unwrap();
    wait_until("two images", Duration::from_secs(10), || {
        subscription.image_count() == 2
    });
    assert_ne!(concurrent.session_id(), exclusive.session_id());
    wait_until("connected", Duration::from_secs(10), || {
        concurrent.is_connected() && exclusive.is_connected()
    });
    for i in 0..100u8 {
        let (_, mut claim) = concurrent.try_claim(16).unwrap();
        claim.put_bytes(0, &[i; 16]);
        claim.commit();
        let (_, mut claim) = exclusive.try_claim(8).unwrap();
        claim.put_bytes(0, &[i; 8]);
        if i % 2 == 0 {
            claim.commit();
        } else {
            claim.abort();
        }
    }
    let mut by_session: std::collections::HashMap<i32, Vec<Vec<u8>>> = Default::default();
    wait_until("150 messages", Duration::from_secs(10), || {
        subscription.poll(
            |m: &[u8], h: &Header| {
                by_session
                    .entry(h.session_id())
                    .or_default()
                    .push(m.to_vec())
            },
            50,
        );
        by_session.values().map(Vec::len).sum::<usize>() == 150
    });
    let from_concurrent = &by_session[&concurrent.session_id()];
    assert_eq!(from_concurrent.len(), 100);
    let from_exclusive = &by_session[&exclusive.session_id()];
    assert_eq!(
        from_exclusive,
        &(0..100u8)
            .step_by(2)
            .map(|i| vec![i; 8])
            .collect::<Vec<_>>()
    );
}

#[test]
fn bad_channels_and_unknown_removals_are_typed_errors() {
    let f = fixture();
    let err = f
        .aeron
        .add_publication("aeron:tcp?endpoint=x", 1)
        .unwrap_err();
    assert_eq!(err.error_code(), Some(ErrorCode::InvalidChannel), "{err}");
    // A bad parameter is GENERIC_ERROR, as Aeron C answers it; a URI that does not parse INVALID_CHANNEL.
    let err = f
        .aeron
        .add_subscription("aeron:ipc?term-length=1000", 1)
        .unwrap_err();
    assert_eq!(err.error_code(), Some(ErrorCode::GenericError), "{err}");
    let err = f
        .aeron
        .add_subscription("aeron-spy:aeron:ipc", 1)
        .unwrap_err();
    assert_eq!(err.error_code(), Some(ErrorCode::NotSupported), "{err}");
    let err = f
        .aeron
        .add_publication("aeron:ipc?term-length=1000", 1)
        .unwrap_err();
    assert_eq!(err.error_code(), Some(ErrorCode::GenericError), "{err}");
    assert!(
        err.to_string().contains("term-length"),
        "names the bad part: {err}"
    );
    // The driver's distinct error log holds the failures, as Aeron's does.
    let mut logged = Vec::new();
    oxeron_concurrent::error_log::ErrorLogReader::read(
        f.aeron.cnc().error_log_buffer(),
        0,
        |count, _, _, text| logged.push((count, text.to_string())),
    );
    assert!(
        logged.iter().any(|(_, t)| t.contains("term-length")),
        "{logged:?}"
    );
    // The client still works after errors.
    let publication = f.aeron.add_publication("aeron:ipc", 1).unwrap();
    assert!(!publication.is_connected());
    assert_eq!(publication.offer(b"x"), Err(OfferError::NotConnected));
}

#[test]
fn counters_are_added_seen_and_removed() {
    let available = Arc::new(AtomicUsize::new(0));
    let unavailable = Arc::new(AtomicUsize::new(0));
    let f = fixture();
    let (a, u) = (Arc::clone(&available), Arc::clone(&unavailable));
    let observer = Aeron::connect(
        ClientContext::new()
            .aeron_dir(&f.aeron_dir)
            .on_available_counter(move |_, _| {
                a.fetch_add(1, Ordering::SeqCst);
            })
            .on_unavailable_counter(move |_, _| {
                u.fetch_add(1, Ordering::SeqCst);
            }),
    )
    .unwrap();
    let counter = f.aeron.add_counter(1001, b"key", "my counter").unwrap();
    counter.increment();
    counter.get_and_add(41);
    assert_eq!(counter.get(), 42);
    let reader = f.aeron.counters_reader();
    assert_eq!(reader.counter_label(counter.id()).unwrap(), "my counter");
    assert_eq!(reader.counter_value(counter.id()).unwrap(), 42);
    assert_eq!(reader.counter_type_id(counter.id()).unwrap(), 1001);
    wait_until("available counter seen", Duration::from_secs(10), || {
        available.load(Ordering::SeqCst) >= 1
    });
    drop(counter);
    wait_until("unavailable counter seen", Duration::from_secs(10), || {
        unavailable.load(Ordering::SeqCst) >= 1
    });
    drop(observer);
}

#[test]
fn image_callbacks_and_end_of_stream() {
    let available = Arc::new(AtomicUsize::new(0));
    let unavailable = Arc::new(AtomicUsize::new(0));
    let (a, u) = (Arc::clone(&available), Arc::clone(&unavailable));
    let f = fixture_with(|ctx| {
        ctx.publication_linger_timeout(Duration::from_millis(100))
            .timer_interval(Duration::from_millis(20))
    });
    let aeron = Aeron::connect(
        ClientContext::new()
            .aeron_dir(&f.aeron_dir)
            .on_available_image(move |_| {
                a.fetch_add(1, Ordering::SeqCst);
            })
            .on_unavailable_image(move |_| {
                u.fetch_add(1, Ordering::SeqCst);
            }),
    )
    .unwrap();
    let mut subscription = aeron.add_subscription("aeron:ipc", 1007).unwrap();
    let mut publication = f
        .aeron
        .add_exclusive_publication("aeron:ipc", 1007)
        .unwrap();
    wait_until("available image", Duration::from_secs(10), || {
        available.load(Ordering::SeqCst) == 1
    });
    let end = offer_exclusive(&mut publication, b"last words");
    let image = subscription.images()[0].clone();
    drop(publication);
    let mut got = Vec::new();
    wait_until("end of stream", Duration::from_secs(10), || {
        subscription.poll(|m: &[u8], _: &Header| got.push(m.to_vec()), 10);
        image.is_end_of_stream()
    });
    assert_eq!(got, [b"last words".to_vec()]);
    assert_eq!(image.position(), end);
    wait_until("unavailable image", Duration::from_secs(10), || {
        unavailable.load(Ordering::SeqCst) == 1
    });
    assert!(image.is_closed());
    assert_eq!(subscription.image_count(), 0);
}

#[test]
fn driver_death_surfaces_as_a_driver_timeout() {
    let mut f = fixture();
    let aeron = Aeron::connect(
        ClientContext::new()
            .aeron_dir(&f.aeron_dir)
            .driver_timeout(Duration::from_millis(500))
            .keepalive_interval(Duration::from_millis(50))
            .error_handler(|_| {}),
    )
    .unwrap();
    let publication = aeron.add_publication("aeron:ipc", 1008).unwrap();
    f.driver.take().unwrap().close();
    let started = Instant::now();
    wait_until("the client to notice", Duration::from_secs(5), || {
        publication.is_closed()
    });
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(publication.offer(b"x"), Err(OfferError::Closed));
    let err = aeron.add_subscription("aeron:ipc", 1).unwrap_err();
    assert!(matches!(err, AeronError::DriverTimeout(_)), "{err}");
}

#[test]
fn a_second_driver_refuses_a_live_directory() {
    let f = fixture();
    let err = MediaDriver::launch(Context::new().aeron_dir(&f.aeron_dir)).unwrap_err();
    assert!(err.to_string().contains("active media driver"), "{err}");
}

#[test]
fn invoker_mode_driver_and_client() {
    let dir = temp_aeron_dir();
    let aeron_dir = dir.path().join("aeron");
    let mut driver = MediaDriver::launch(
        Context::new()
            .aeron_dir(&aeron_dir)
            .threading_mode(ThreadingMode::Invoker)
            .ipc_term_buffer_length(64 * 1024),
    )
    .unwrap();
    let driver_thread_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = Arc::clone(&driver_thread_stop);
    let driver_thread = std::thread::spawn(move || {
        while !stop.load(Ordering::Acquire) {
            if driver.invoke() == 0 {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
        driver
    });
    let aeron = Aeron::connect(
        ClientContext::new()
            .aeron_dir(&aeron_dir)
            .use_conductor_agent_invoker(true),
    )
    .unwrap();
    let mut publication = aeron.add_exclusive_publication("aeron:ipc", 9).unwrap();
    let mut subscription = aeron.add_subscription("aeron:ipc", 9).unwrap();
    wait_until("connected", Duration::from_secs(10), || {
        aeron.invoke();
        subscription.is_connected() && publication.is_connected()
    });
    offer_exclusive(&mut publication, b"invoked");
    let mut got = 0;
    wait_until("message", Duration::from_secs(10), || {
        subscription.poll(
            |m: &[u8], _: &Header| {
                assert_eq!(m, b"invoked");
                got += 1;
            },
            10,
        );
        got == 1
    });
    driver_thread_stop.store(true, Ordering::Release);
    driver_thread.join().unwrap().close();
}

#[test]
fn session_id_in_the_channel_filters_images() {
    let f = fixture();
    let mut first = f
        .aeron
        .add_exclusive_publication("aeron:ipc?session-id=100", 1009)
        .unwrap();
    let mut second = f
        .aeron
        .add_exclusive_publication("aeron:ipc?session-id=200", 1009)
        .unwrap();
    assert_eq!((first.session_id(), second.session_id()), (100, 200));
    let mut only_200 = f
        .aeron
        .add_subscription("aeron:ipc?session-id=200", 1009)
        .unwrap();
    let mut all = f.aeron.add_subscription("aeron:ipc", 1009).unwrap();
    wait_until("images", Duration::from_secs(10), || {
        all.image_count() == 2 && only_200.image_count() == 1
    });
    assert_eq!(only_200.images()[0].session_id(), 200);
    offer_exclusive(&mut first, b"from 100");
    offer_exclusive(&mut second, b"from 200");
    let mut got = Vec::new();
    wait_until("the message", Duration::from_secs(10), || {
        only_200.poll(
            |m: &[u8], h: &Header| got.push((h.session_id(), m.to_vec())),
            10,
        );
        !got.is_empty()
    });
    assert_eq!(got, [(200, b"from 200".to_vec())]);
    let err = f
        .aeron
        .add_exclusive_publication("aeron:ipc?session-id=200", 1009)
        .unwrap_err();
    assert!(err.to_string().contains("already in use"), "{err}");
}

/// Counter ids of the client heartbeat counters (type 11) whose owner is `client_id`.
fn heartbeat_counters_of(
    reader: &oxeron_concurrent::counters::CountersReader,
    client_id: i64,
) -> usize {
    let mut found = 0;
    reader.for_each(|id, type_id, _, _| {
        if type_id == 11 && reader.counter_registration_id(id).ok() == Some(client_id) {
            found += 1;
        }
    });
    found
}

#[test]
fn dropping_the_last_client_handle_closes_it_at_the_driver_at_once() {
    for invoker in [false, true] {
        for keep_publication in [false, true] {
            drop_closes_the_client(invoker, keep_publication);
        }
    }
}

fn drop_closes_the_client(invoker: bool, keep_publication: bool) {
    let f = fixture_with(|ctx| {
        ctx.client_liveness_timeout(Duration::from_secs(60))
            .publication_unblock_timeout(Duration::from_secs(90))
    });
    let observer = f.aeron.clone();
    let reader = observer.counters_reader();
    let client = Aeron::connect(
        ClientContext::new()
            .aeron_dir(&f.aeron_dir)
            .use_conductor_agent_invoker(invoker),
    )
    .unwrap();
    let client_id = client.client_id();
    let publication = client.add_publication("aeron:ipc", 77).unwrap();
    let publication = keep_publication.then_some(publication);
    let copy = client.clone();
    wait_until(
        "the client's heartbeat counter",
        Duration::from_secs(10),
        || heartbeat_counters_of(reader, client_id) == 1,
    );
    drop(client);
    // A clone keeps the client open.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(heartbeat_counters_of(reader, client_id), 1);
    drop(copy);
    // The driver frees the client's resources at once (the liveness timeout here is 60 s).
    wait_until(
        "the driver to release the client",
        Duration::from_secs(10),
        || heartbeat_counters_of(reader, client_id) == 0,
    );
    if let Some(publication) = publication {
        assert!(publication.is_closed());
        assert_eq!(publication.offer(b"late"), Err(OfferError::Closed));
    }
}

#[test]
fn an_embedded_driver_has_a_directory_of_its_own_and_deletes_it_when_dropped() {
    let first =
        MediaDriver::launch_embedded_with(Context::new().threading_mode(ThreadingMode::Shared))
            .unwrap();
    let second =
        MediaDriver::launch_embedded_with(Context::new().threading_mode(ThreadingMode::Shared))
            .unwrap();
    let (first_dir, second_dir) = (
        first.aeron_dir().to_path_buf(),
        second.aeron_dir().to_path_buf(),
    );
    assert_ne!(first_dir, second_dir);
    let default = oxeron_client::default_aeron_dir();
    assert_eq!(
        first_dir.parent(),
        default.parent(),
        "{}",
        first_dir.display()
    );
    assert!(first_dir.join("cnc.dat").is_file());

    let aeron = Aeron::connect(ClientContext::new().aeron_dir(&first_dir)).unwrap();
    let publication = aeron.add_publication("aeron:ipc", 1001).unwrap();
    drop(publication);
    aeron.close();
    drop(first);
    assert!(
        !first_dir.exists(),
        "{} is left behind",
        first_dir.display()
    );
    assert!(
        second_dir.join("cnc.dat").is_file(),
        "the other embedded driver is untouched"
    );
    drop(second);
    assert!(!second_dir.exists());
}

#[test]
fn a_refused_registration_is_reported_once_to_its_caller_and_not_to_any_error_handler() {
    let f = fixture();
    let handled = Arc::new(std::sync::Mutex::new(Vec::new()));
    let client = |handled: &Arc<std::sync::Mutex<Vec<String>>>| {
        let handled = Arc::clone(handled);
        Aeron::connect(
            ClientContext::new()
                .aeron_dir(&f.aeron_dir)
                .error_handler(move |e| handled.lock().unwrap().push(e.to_string())),
        )
        .unwrap()
    };
    let bystanders_errors = Arc::new(std::sync::Mutex::new(Vec::new()));
    let caller = client(&handled);
    let bystander = client(&bystanders_errors);
    let error = caller
        .add_publication("aeron:udp?endpoint=localhost:40999|mtu=7", 1001)
        .unwrap_err();
    assert!(error.to_string().contains("mtu"), "{error}");
    // A later registration round trip of each client shows that both have read past the error.
    let _ = caller.add_publication("aeron:ipc", 1001).unwrap();
    let _ = bystander.add_publication("aeron:ipc", 1001).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        *handled.lock().unwrap(),
        Vec::<String>::new(),
        "the caller's handler"
    );
    assert_eq!(
        *bystanders_errors.lock().unwrap(),
        Vec::<String>::new(),
        "another client's handler"
    );
    drop(f);
}
