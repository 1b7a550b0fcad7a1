//! The interop matrix: Oxeron's client on Aeron C 1.54's media driver, Aeron C's client (through
//! rusteron) on Oxeron's media driver, both clients on one stream, each side reading the other's `cnc.dat`,
//! and streams over UDP from Aeron C's driver to Oxeron's and back (unicast, exclusive and concurrent
//! publications, fragmented messages).
//!
//! Every case runs on one thread (rusteron handles stay on the thread of the client that made them): the
//! publisher offers a batch, the subscriber polls, until every message has arrived or the deadline passes.
//! Message `n` carries `n` (`oxeron_cli::sample`), so each payload and the order are checked. Each case has its
//! own Aeron directory under `/dev/shm`, deleted when its driver stops. Cases run one at a time so the
//! drivers do not fight over the cores.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use oxeron_cli::sample;
use oxeron_cli::tools;
use oxeron_client as ox;
use oxeron_driver::{Context as DriverContext, MediaDriver, ThreadingMode};
use oxeron_interop::wait_for;
use rusteron_client as rc;
use rusteron_client::IntoCString;
use rusteron_media_driver::testing::EmbeddedDriver;

const CHANNEL: &str = "aeron:ipc";
const MESSAGES: u64 = 100_000;
const MTU: usize = 1408;
const FRAGMENTED_LENGTH: usize = 4 * MTU;
const FRAGMENTED_MESSAGES: u64 = 2_000;
/// Small terms so the 100k-message runs rotate through the log many times.
const TERM_LENGTH: i32 = 1 << 20;
const LINGER: Duration = Duration::from_millis(200);
/// Short client liveness, so a client whose keepalives the other side does not understand is timed out
/// within the idle period of the liveness cases.
const CLIENT_LIVENESS: Duration = Duration::from_secs(2);
const DEADLINE: Duration = Duration::from_secs(60);
const EVENT_DEADLINE: Duration = Duration::from_secs(20);
const FRAGMENT_LIMIT: usize = 64;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Lengths 8..=256, so frames of many alignments share the terms.
fn short_length(sequence: u64) -> usize {
    8 + (sequence % 249) as usize
}

fn fragmented_length(_: u64) -> usize {
    FRAGMENTED_LENGTH
}

// ---------------------------------------------------------------------------------------------------
// Drivers

/// A driver under test and its Aeron directory.
enum Driver {
    AeronC(Box<EmbeddedDriver>),
    Oxeron {
        driver: Option<MediaDriver>,
        dir: PathBuf,
        _root: tempfile::TempDir,
    },
}

impl Driver {
    /// Aeron C's driver, embedded, in `/dev/shm/aeron-<user><nanos>` (deleted on start and shutdown).
    fn aeron_c() -> Driver {
        let driver = EmbeddedDriver::launch_with(|ctx| {
            ctx.set_ipc_term_buffer_length(TERM_LENGTH as usize)?;
            ctx.set_publication_linger_timeout_ns(LINGER.as_nanos() as u64)?;
            ctx.set_client_liveness_timeout_ns(CLIENT_LIVENESS.as_nanos() as u64)?;
            Ok(())
        })
        .expect("launching Aeron C's embedded media driver");
        assert!(
            driver.dir().starts_with("/dev/shm"),
            "Aeron C dir {}",
            driver.dir()
        );
        let cnc = Path::new(driver.dir()).join("cnc.dat");
        wait_for("Aeron C's cnc.dat", EVENT_DEADLINE, || cnc.exists());
        Driver::AeronC(Box::new(driver))
    }

    /// Oxeron's driver in shared threading mode, in a fresh directory under `/dev/shm`.
    fn oxeron() -> Driver {
        let root = tempfile::Builder::new()
            .prefix("oxeron-interop-")
            .tempdir_in("/dev/shm")
            .expect("temp dir in /dev/shm");
        let dir = root.path().join("aeron");
        let driver = MediaDriver::launch(
            DriverContext::new()
                .aeron_dir(&dir)
                .threading_mode(ThreadingMode::Shared)
                .ipc_term_buffer_length(TERM_LENGTH)
                .publication_linger_timeout(LINGER)
                .client_liveness_timeout(CLIENT_LIVENESS)
                .dir_delete_on_shutdown(true),
        )
        .expect("launching Oxeron's media driver");
        Driver::Oxeron {
            driver: Some(driver),
            dir,
            _root: root,
        }
    }

    fn dir(&self) -> PathBuf {
        match self {
            Driver::AeronC(d) => PathBuf::from(d.dir()),
            Driver::Oxeron { dir, .. } => dir.clone(),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Driver::Oxeron { driver, .. } = self {
            if let Some(d) = driver.take() {
                d.close();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Clients

fn oxeron_client(dir: &Path, ctx: ox::Context) -> ox::Aeron {
    let deadline = Instant::now() + EVENT_DEADLINE;
    loop {
        match ox::Aeron::connect(ctx.clone().aeron_dir(dir)) {
            Ok(aeron) => return aeron,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("Oxeron client on {}: {e}", dir.display()),
        }
    }
}

fn c_client(dir: &Path) -> rc::Aeron {
    rc::Aeron::connect_dir(dir.to_str().expect("utf-8 dir"))
        .unwrap_or_else(|e| panic!("Aeron C client on {}: {e:?}", dir.display()))
}

fn c_channel() -> CString {
    CHANNEL.into_c_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stack {
    Oxeron,
    AeronC,
}

type Offer<'a> = Box<dyn FnMut(&[u8]) -> Result<(), String> + 'a>;
type Poll<'a> = Box<dyn FnMut(&mut Vec<Vec<u8>>) -> usize + 'a>;

/// Checks that messages arrive in order with the expected bytes.
struct Checker {
    length: fn(u64) -> usize,
    received: u64,
    errors: Vec<String>,
}

impl Checker {
    fn on_message(&mut self, message: &[u8]) {
        if let Err(e) = sample::check(message, self.received, (self.length)(self.received)) {
            if self.errors.len() < 10 {
                self.errors.push(e);
            }
        }
        self.received += 1;
    }
}

/// Offers `count` messages, polling between batches, until all arrived; panics on a wrong message or
/// after [`DEADLINE`].
fn exchange(
    what: &str,
    count: u64,
    length: fn(u64) -> usize,
    mut offer: Offer<'_>,
    mut poll: Poll<'_>,
) {
    let started = Instant::now();
    let deadline = started + DEADLINE;
    let mut checker = Checker {
        length,
        received: 0,
        errors: Vec::new(),
    };
    let mut buffer = vec![
        0u8;
        (0..count.min(1000))
            .map(length)
            .max()
            .unwrap_or(0)
            .max(FRAGMENTED_LENGTH)
    ];
    let mut sent = 0u64;
    let mut last_error = String::new();
    let mut inbox = Vec::new();
    while checker.received < count {
        assert!(
            Instant::now() < deadline,
            "{what}: timed out after {DEADLINE:?}: sent {sent}, received {}, last offer error {last_error:?}",
            checker.received
        );
        let mut progress = 0;
        for _ in 0..FRAGMENT_LIMIT {
            if sent == count {
                break;
            }
            let len = length(sent);
            sample::fill(&mut buffer[..len], sent);
            match offer(&buffer[..len]) {
                Ok(()) => {
                    sent += 1;
                    progress += 1;
                }
                Err(e) => {
                    last_error = e;
                    break;
                }
            }
        }
        progress += poll(&mut inbox);
        for message in inbox.drain(..) {
            checker.on_message(&message);
        }
        assert!(checker.errors.is_empty(), "{what}: {:?}", checker.errors);
        assert!(
            checker.received <= sent,
            "{what}: received {} of {sent} sent",
            checker.received
        );
        if progress == 0 {
            std::thread::yield_now();
        }
    }
    // Nothing beyond what was sent.
    std::thread::sleep(Duration::from_millis(20));
    poll(&mut inbox);
    assert!(
        inbox.is_empty(),
        "{what}: {} messages beyond the {count} sent",
        inbox.len()
    );
    eprintln!(
        "{what}: {count} messages in {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

/// One stream from `publisher`'s client to `subscriber`'s client on the driver in `dir`.
fn transfer(
    dir: &Path,
    stream_id: i32,
    publisher: Stack,
    exclusive: bool,
    subscriber: Stack,
    fragmented: bool,
) {
    transfer_between(
        (dir, publisher),
        (dir, subscriber),
        CHANNEL,
        stream_id,
        exclusive,
        fragmented,
    );
}

/// One stream on `channel` from a client of `publisher.1` on the driver in `publisher.0` to a client of
/// `subscriber.1` on the driver in `subscriber.0` (the same driver, or two drivers for UDP).
fn transfer_between(
    (pub_dir, publisher): (&Path, Stack),
    (sub_dir, subscriber): (&Path, Stack),
    channel: &str,
    stream_id: i32,
    exclusive: bool,
    fragmented: bool,
) {
    let dir = sub_dir;
    let what = format!(
        "{} {} publication -> {} subscription{} on {}",
        match publisher {
            Stack::Oxeron => "Oxeron",
            Stack::AeronC => "Aeron C",
        },
        if exclusive { "exclusive" } else { "concurrent" },
        match subscriber {
            Stack::Oxeron => "Oxeron",
            Stack::AeronC => "Aeron C",
        },
        if fragmented {
            " (4 x MTU messages)"
        } else {
            ""
        },
        dir.display()
    );
    let (count, length): (u64, fn(u64) -> usize) = if fragmented {
        (FRAGMENTED_MESSAGES, fragmented_length)
    } else {
        (MESSAGES, short_length)
    };
    // One client per (stack, driver) pair.
    let ox_pub = (publisher == Stack::Oxeron).then(|| oxeron_client(pub_dir, ox::Context::new()));
    let c_pub = (publisher == Stack::AeronC).then(|| c_client(pub_dir));
    let ox_sub =
        if subscriber == Stack::Oxeron && !(publisher == Stack::Oxeron && pub_dir == sub_dir) {
            Some(oxeron_client(sub_dir, ox::Context::new()))
        } else {
            None
        };
    let c_sub =
        if subscriber == Stack::AeronC && !(publisher == Stack::AeronC && pub_dir == sub_dir) {
            Some(c_client(sub_dir))
        } else {
            None
        };
    let ox_sub_client = ox_sub.as_ref().or(ox_pub.as_ref());
    let c_sub_client = c_sub.as_ref().or(c_pub.as_ref());
    let c_channel = channel.into_c_string();
    let timeout = Duration::from_secs(10);

    let poll: Poll<'_> = match subscriber {
        Stack::Oxeron => {
            let mut subscription = ox_sub_client
                .unwrap()
                .add_subscription(channel, stream_id)
                .expect("Oxeron add_subscription");
            if fragmented {
                let assembled = Rc::new(RefCell::new(Vec::new()));
                let sink = Rc::clone(&assembled);
                let mut assembler =
                    ox::FragmentAssembler::new(move |message: &[u8], _: &ox::Header| {
                        sink.borrow_mut().push(message.to_vec())
                    });
                Box::new(move |inbox: &mut Vec<Vec<u8>>| {
                    let n = subscription.poll(assembler.handler(), FRAGMENT_LIMIT);
                    inbox.append(&mut assembled.borrow_mut());
                    n
                })
            } else {
                Box::new(move |inbox: &mut Vec<Vec<u8>>| {
                    subscription.poll(
                        |m: &[u8], _: &ox::Header| inbox.push(m.to_vec()),
                        FRAGMENT_LIMIT,
                    )
                })
            }
        }
        Stack::AeronC => {
            let subscription = c_sub_client
                .unwrap()
                .async_add_subscription(
                    &c_channel,
                    stream_id,
                    rc::Handlers::NONE,
                    rc::Handlers::NONE,
                )
                .and_then(|s| s.poll_blocking(timeout))
                .expect("Aeron C add_subscription");
            if fragmented {
                let mut assembler = rc::AeronFragmentClosureAssembler::new().expect("assembler");
                Box::new(move |inbox: &mut Vec<Vec<u8>>| {
                    assembler
                        .poll(
                            &subscription,
                            inbox,
                            |inbox, m, _| inbox.push(m.to_vec()),
                            FRAGMENT_LIMIT,
                        )
                        .expect("Aeron C assembler poll") as usize
                })
            } else {
                Box::new(move |inbox: &mut Vec<Vec<u8>>| {
                    subscription
                        .poll_fn(|m, _| inbox.push(m.to_vec()), FRAGMENT_LIMIT)
                        .expect("Aeron C poll") as usize
                })
            }
        }
    };

    let offer: Offer<'_> = match (publisher, exclusive) {
        (Stack::Oxeron, true) => {
            let mut publication = ox_pub
                .as_ref()
                .unwrap()
                .add_exclusive_publication(channel, stream_id)
                .expect("Oxeron add_exclusive_publication");
            assert!(publication.max_payload_length() < FRAGMENTED_LENGTH);
            Box::new(move |m: &[u8]| publication.offer(m).map(drop).map_err(|e| e.to_string()))
        }
        (Stack::Oxeron, false) => {
            let publication = ox_pub
                .as_ref()
                .unwrap()
                .add_publication(channel, stream_id)
                .expect("Oxeron add_publication");
            assert!(publication.max_payload_length() < FRAGMENTED_LENGTH);
            Box::new(move |m: &[u8]| publication.offer(m).map(drop).map_err(|e| e.to_string()))
        }
        (Stack::AeronC, true) => {
            let publication = c_pub
                .as_ref()
                .unwrap()
                .async_add_exclusive_publication(&c_channel, stream_id)
                .and_then(|p| p.poll_blocking(timeout))
                .expect("Aeron C add_exclusive_publication");
            Box::new(move |m: &[u8]| publication.offer(m).map(drop).map_err(|e| format!("{e:?}")))
        }
        (Stack::AeronC, false) => {
            let publication = c_pub
                .as_ref()
                .unwrap()
                .async_add_publication(&c_channel, stream_id)
                .and_then(|p| p.poll_blocking(timeout))
                .expect("Aeron C add_publication");
            Box::new(move |m: &[u8]| publication.offer(m).map(drop).map_err(|e| format!("{e:?}")))
        }
    };
    exchange(&what, count, length, offer, poll);
}

// ---------------------------------------------------------------------------------------------------
// Counters

/// One counter: id, type id, value, label.
type Row = (i32, i32, i64, String);

fn oxeron_rows(dir: &Path) -> Vec<Row> {
    let cnc = tools::open_cnc(dir).expect("Oxeron maps cnc.dat");
    tools::counters(&cnc, None, None)
        .expect("Oxeron reads the counters")
        .into_iter()
        .map(|r| (r.id, r.type_id, r.value, r.label))
        .collect()
}

fn c_rows(dir: &Path) -> Vec<Row> {
    let cnc =
        rc::AeronCnc::open(&dir.to_str().unwrap().into_c_string()).expect("Aeron C opens cnc.dat");
    let mut rows = Vec::new();
    cnc.counters_reader()
        .foreach_counter_fn(|value, id, type_id, _key, label| {
            rows.push((id, type_id, value, label.to_string()))
        });
    rows
}

/// Ids, type ids and labels (values move).
fn shape(rows: &[Row]) -> Vec<(i32, i32, String)> {
    rows.iter()
        .map(|(id, t, _, l)| (*id, *t, l.clone()))
        .collect()
}

/// Checks Aeron's system counters: ids 0.. with type 0, in Aeron's order.
fn assert_system_counters(rows: &[Row], whose: &str) {
    let system: BTreeMap<i32, &str> = rows
        .iter()
        .filter(|r| r.1 == 0)
        .map(|r| (r.0, r.3.as_str()))
        .collect();
    for (id, label) in [
        (0, "Bytes sent"),
        (1, "Bytes received"),
        (2, "Failed offers to ReceiverProxy"),
        (3, "Failed offers to SenderProxy"),
        (4, "Failed offers to DriverConductorProxy"),
        (5, "NAKs sent"),
        (6, "NAKs received"),
        (7, "Status Messages sent"),
        (8, "Status Messages received"),
        (9, "Heartbeats sent"),
        (10, "Heartbeats received"),
        (11, "Retransmits sent"),
        (12, "Flow control under runs"),
        (13, "Flow control over runs"),
        (14, "Invalid packets"),
        (15, "Errors"),
    ] {
        let got = system
            .get(&id)
            .unwrap_or_else(|| panic!("{whose}: no system counter {id}: {rows:?}"));
        assert!(
            got.starts_with(label),
            "{whose}: system counter {id} is {got:?}, want {label:?}"
        );
    }
    assert!(
        system.len() >= 30,
        "{whose}: only {} system counters",
        system.len()
    );
}

/// Checks the stream's pub-lmt (type 1) and sub-pos (type 4) counters, labelled as Aeron labels them.
fn assert_stream_counters(
    rows: &[Row],
    whose: &str,
    publication_registration_id: i64,
    subscription_registration_id: i64,
    session_id: i32,
    stream_id: i32,
    position: i64,
) {
    let pub_lmt =
        format!("pub-lmt: {publication_registration_id} {session_id} {stream_id} {CHANNEL}");
    let sub_pos =
        format!("sub-pos: {subscription_registration_id} {session_id} {stream_id} {CHANNEL} @");
    let limit = rows
        .iter()
        .find(|r| r.1 == 1 && r.3 == pub_lmt)
        .unwrap_or_else(|| panic!("{whose}: no {pub_lmt:?} counter in {rows:?}"));
    assert!(
        limit.2 >= position,
        "{whose}: {pub_lmt} = {} behind position {position}",
        limit.2
    );
    let sub = rows
        .iter()
        .find(|r| r.1 == 4 && r.3.starts_with(&sub_pos))
        .unwrap_or_else(|| panic!("{whose}: no {sub_pos:?}... counter in {rows:?}"));
    assert_eq!(sub.2, position, "{whose}: {} value", sub.3);
}

// ---------------------------------------------------------------------------------------------------
// a. Oxeron client on Aeron C's driver

#[test]
fn a1_oxeron_client_on_aeron_c_driver_exclusive_ipc() {
    let _serial = serial();
    let driver = Driver::aeron_c();
    transfer(
        &driver.dir(),
        1001,
        Stack::Oxeron,
        true,
        Stack::Oxeron,
        false,
    );
}

#[test]
fn a2_oxeron_client_on_aeron_c_driver_concurrent_ipc() {
    let _serial = serial();
    let driver = Driver::aeron_c();
    transfer(
        &driver.dir(),
        1002,
        Stack::Oxeron,
        false,
        Stack::Oxeron,
        false,
    );
}

#[test]
fn a3_oxeron_client_on_aeron_c_driver_fragmented() {
    let _serial = serial();
    let driver = Driver::aeron_c();
    transfer(
        &driver.dir(),
        1003,
        Stack::Oxeron,
        true,
        Stack::Oxeron,
        true,
    );
    transfer(
        &driver.dir(),
        1004,
        Stack::Oxeron,
        false,
        Stack::Oxeron,
        true,
    );
}

/// Available and unavailable image callbacks of an Oxeron client, for a publication of its own.
fn oxeron_image_callbacks(dir: &Path, stream_id: i32) {
    let available = Arc::new(AtomicUsize::new(0));
    let unavailable = Arc::new(AtomicUsize::new(0));
    let session = Arc::new(AtomicI32::new(0));
    let (a, u, s) = (
        Arc::clone(&available),
        Arc::clone(&unavailable),
        Arc::clone(&session),
    );
    let aeron = oxeron_client(
        dir,
        ox::Context::new()
            .on_available_image(move |image: &ox::Image| {
                s.store(image.session_id(), Ordering::SeqCst);
                a.fetch_add(1, Ordering::SeqCst);
            })
            .on_unavailable_image(move |_: &ox::Image| {
                u.fetch_add(1, Ordering::SeqCst);
            }),
    );
    let mut subscription = aeron
        .add_subscription(CHANNEL, stream_id)
        .expect("add_subscription");
    let publication = aeron
        .add_publication(CHANNEL, stream_id)
        .expect("add_publication");
    wait_for("the available image callback", EVENT_DEADLINE, || {
        available.load(Ordering::SeqCst) == 1
    });
    assert_eq!(session.load(Ordering::SeqCst), publication.session_id());
    wait_for("the image in the subscription", EVENT_DEADLINE, || {
        subscription.image_count() == 1
    });
    drop(publication);
    wait_for("the unavailable image callback", EVENT_DEADLINE, || {
        unavailable.load(Ordering::SeqCst) == 1
    });
    wait_for(
        "the image to leave the subscription",
        EVENT_DEADLINE,
        || subscription.image_count() == 0,
    );
    assert_eq!(available.load(Ordering::SeqCst), 1);
}

#[test]
fn a4_oxeron_image_callbacks_on_aeron_c_driver() {
    let _serial = serial();
    let driver = Driver::aeron_c();
    oxeron_image_callbacks(&driver.dir(), 1005);
}

/// Oxeron's reading of Aeron C's counters while an Oxeron client has a publication and subscription.
#[test]
fn a5_oxeron_reads_aeron_c_stream_counters() {
    let _serial = serial();
    let driver = Driver::aeron_c();
    let dir = driver.dir();
    let aeron = oxeron_client(&dir, ox::Context::new());
    let mut subscription = aeron.add_subscription(CHANNEL, 1006).unwrap();
    let publication = aeron.add_publication(CHANNEL, 1006).unwrap();
    let mut received = 0;
    let mut next = 0u64;
    wait_for("100 messages", EVENT_DEADLINE, || {
        let mut m = [0u8; 64];
        sample::fill(&mut m, next);
        if next < 100 && publication.offer(&m).is_ok() {
            next += 1;
        }
        subscription.poll(|_: &[u8], _: &ox::Header| received += 1, 10);
        received == 100
    });
    let position = publication.position();
    assert_eq!(position, 100 * 96);
    for (whose, rows) in [
        (
            "Oxeron's CountersReader on Aeron C's cnc.dat",
            oxeron_rows(&dir),
        ),
        ("oxeron_cli::tools::counters via the client's reader", {
            let reader = aeron.counters_reader();
            let mut rows = Vec::new();
            reader.for_each_counter(|value, id, type_id, _, label| {
                rows.push((id, type_id, value, label.to_string()))
            });
            rows
        }),
    ] {
        assert_stream_counters(
            &rows,
            whose,
            publication.registration_id(),
            subscription.registration_id(),
            publication.session_id(),
            1006,
            position,
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// b. Aeron C client on Oxeron's driver

#[test]
fn b1_aeron_c_client_on_oxeron_driver_exclusive_ipc() {
    let _serial = serial();
    let driver = Driver::oxeron();
    transfer(
        &driver.dir(),
        2001,
        Stack::AeronC,
        true,
        Stack::AeronC,
        false,
    );
}

#[test]
fn b2_aeron_c_client_on_oxeron_driver_concurrent_ipc() {
    let _serial = serial();
    let driver = Driver::oxeron();
    transfer(
        &driver.dir(),
        2002,
        Stack::AeronC,
        false,
        Stack::AeronC,
        false,
    );
}

#[test]
fn b3_aeron_c_client_on_oxeron_driver_fragmented() {
    let _serial = serial();
    let driver = Driver::oxeron();
    transfer(
        &driver.dir(),
        2003,
        Stack::AeronC,
        true,
        Stack::AeronC,
        true,
    );
    transfer(
        &driver.dir(),
        2004,
        Stack::AeronC,
        false,
        Stack::AeronC,
        true,
    );
}

#[test]
fn b4_aeron_c_image_callbacks_on_oxeron_driver() {
    let _serial = serial();
    let driver = Driver::oxeron();
    let dir = driver.dir();
    let aeron = c_client(&dir);
    let available = Arc::new(AtomicUsize::new(0));
    let unavailable = Arc::new(AtomicUsize::new(0));
    let session = Arc::new(AtomicI32::new(0));
    let (a, u, s) = (
        Arc::clone(&available),
        Arc::clone(&unavailable),
        Arc::clone(&session),
    );
    let on_available = rc::Handler::new(move |_: rc::AeronSubscription, image: rc::AeronImage| {
        if let Ok(constants) = image.get_constants() {
            s.store(constants.session_id(), Ordering::SeqCst);
        }
        a.fetch_add(1, Ordering::SeqCst);
    });
    let on_unavailable = rc::Handler::new(move |_: rc::AeronSubscription, _: rc::AeronImage| {
        u.fetch_add(1, Ordering::SeqCst);
    });
    let subscription = aeron
        .async_add_subscription(
            &c_channel(),
            2005,
            Some(&on_available),
            Some(&on_unavailable),
        )
        .and_then(|s| s.poll_blocking(Duration::from_secs(10)))
        .expect("Aeron C add_subscription");
    let publication = aeron
        .async_add_publication(&c_channel(), 2005)
        .and_then(|p| p.poll_blocking(Duration::from_secs(10)))
        .expect("Aeron C add_publication");
    wait_for("the available image callback", EVENT_DEADLINE, || {
        available.load(Ordering::SeqCst) == 1
    });
    assert_eq!(session.load(Ordering::SeqCst), publication.session_id());
    wait_for("the image in the subscription", EVENT_DEADLINE, || {
        subscription
            .image_by_session_id(publication.session_id())
            .is_some()
    });
    publication.close().expect("closing the publication");
    wait_for("the unavailable image callback", EVENT_DEADLINE, || {
        unavailable.load(Ordering::SeqCst) == 1
    });
    assert_eq!(available.load(Ordering::SeqCst), 1);
    drop(subscription);
}

#[test]
fn b5_aeron_c_reads_oxeron_stream_counters() {
    let _serial = serial();
    let driver = Driver::oxeron();
    let dir = driver.dir();
    let aeron = c_client(&dir);
    let timeout = Duration::from_secs(10);
    let subscription = aeron
        .async_add_subscription(&c_channel(), 2006, rc::Handlers::NONE, rc::Handlers::NONE)
        .and_then(|s| s.poll_blocking(timeout))
        .unwrap();
    let publication = aeron
        .async_add_publication(&c_channel(), 2006)
        .and_then(|p| p.poll_blocking(timeout))
        .unwrap();
    let mut received = 0;
    let mut next = 0u64;
    wait_for("100 messages", EVENT_DEADLINE, || {
        let mut m = [0u8; 64];
        sample::fill(&mut m, next);
        if next < 100 && publication.offer(&m).is_ok() {
            next += 1;
        }
        subscription.poll_fn(|_, _| received += 1, 10).unwrap();
        received == 100
    });
    let position = publication.position();
    assert_eq!(position, 100 * 96);
    let constants = publication.get_constants().unwrap();
    let subscription_registration_id = subscription.get_constants().unwrap().registration_id();
    let mut rows = Vec::new();
    aeron
        .counters_reader()
        .foreach_counter_fn(|value, id, type_id, _, label| {
            rows.push((id, type_id, value, label.to_string()))
        });
    for (whose, rows) in [
        ("Aeron C's client counters reader on Oxeron's driver", rows),
        ("Aeron C's CnC reader on Oxeron's cnc.dat", c_rows(&dir)),
    ] {
        assert_stream_counters(
            &rows,
            whose,
            constants.registration_id(),
            subscription_registration_id,
            constants.session_id(),
            2006,
            position,
        );
    }
}

/// Aeron C publication, Oxeron subscription, and the other way round, on Oxeron's driver.
#[test]
fn b6_mixed_clients_on_oxeron_driver() {
    let _serial = serial();
    let driver = Driver::oxeron();
    let dir = driver.dir();
    transfer(&dir, 2007, Stack::AeronC, true, Stack::Oxeron, false);
    transfer(&dir, 2008, Stack::Oxeron, true, Stack::AeronC, false);
    transfer(&dir, 2009, Stack::AeronC, false, Stack::Oxeron, true);
    transfer(&dir, 2010, Stack::Oxeron, false, Stack::AeronC, true);
}

/// The same mixes on Aeron C's driver.
#[test]
fn a6_mixed_clients_on_aeron_c_driver() {
    let _serial = serial();
    let driver = Driver::aeron_c();
    let dir = driver.dir();
    transfer(&dir, 1007, Stack::AeronC, true, Stack::Oxeron, false);
    transfer(&dir, 1008, Stack::Oxeron, true, Stack::AeronC, false);
    transfer(&dir, 1009, Stack::AeronC, false, Stack::Oxeron, true);
    transfer(&dir, 1010, Stack::Oxeron, false, Stack::AeronC, true);
}

// ---------------------------------------------------------------------------------------------------
// Both drivers: image callbacks across clients, client liveness

/// Image callbacks when the publication is the other client's: an Oxeron subscription sees an Aeron C
/// publication come and go, and an Aeron C subscription an Oxeron one.
fn cross_client_image_callbacks(dir: &Path, stream_id: i32) {
    let ox_available = Arc::new(AtomicUsize::new(0));
    let ox_unavailable = Arc::new(AtomicUsize::new(0));
    let (a, u) = (Arc::clone(&ox_available), Arc::clone(&ox_unavailable));
    let ox_aeron = oxeron_client(
        dir,
        ox::Context::new()
            .on_available_image(move |_: &ox::Image| {
                a.fetch_add(1, Ordering::SeqCst);
            })
            .on_unavailable_image(move |_: &ox::Image| {
                u.fetch_add(1, Ordering::SeqCst);
            }),
    );
    let c_aeron = c_client(dir);
    let c_available = Arc::new(AtomicUsize::new(0));
    let c_unavailable = Arc::new(AtomicUsize::new(0));
    let (a, u) = (Arc::clone(&c_available), Arc::clone(&c_unavailable));
    let on_available = rc::Handler::new(move |_: rc::AeronSubscription, _: rc::AeronImage| {
        a.fetch_add(1, Ordering::SeqCst);
    });
    let on_unavailable = rc::Handler::new(move |_: rc::AeronSubscription, _: rc::AeronImage| {
        u.fetch_add(1, Ordering::SeqCst);
    });
    let timeout = Duration::from_secs(10);

    // Aeron C publication, Oxeron subscription.
    let ox_subscription = ox_aeron.add_subscription(CHANNEL, stream_id).unwrap();
    let c_publication = c_aeron
        .async_add_publication(&c_channel(), stream_id)
        .and_then(|p| p.poll_blocking(timeout))
        .unwrap();
    wait_for(
        "Oxeron's available image for the Aeron C publication",
        EVENT_DEADLINE,
        || ox_available.load(Ordering::SeqCst) == 1,
    );
    c_publication.close().unwrap();
    wait_for(
        "Oxeron's unavailable image for the Aeron C publication",
        EVENT_DEADLINE,
        || ox_unavailable.load(Ordering::SeqCst) == 1,
    );
    drop(ox_subscription);

    // Oxeron publication, Aeron C subscription.
    let c_subscription = c_aeron
        .async_add_subscription(
            &c_channel(),
            stream_id + 100,
            Some(&on_available),
            Some(&on_unavailable),
        )
        .and_then(|s| s.poll_blocking(timeout))
        .unwrap();
    let ox_publication = ox_aeron
        .add_exclusive_publication(CHANNEL, stream_id + 100)
        .unwrap();
    wait_for(
        "Aeron C's available image for the Oxeron publication",
        EVENT_DEADLINE,
        || c_available.load(Ordering::SeqCst) == 1,
    );
    drop(ox_publication);
    wait_for(
        "Aeron C's unavailable image for the Oxeron publication",
        EVENT_DEADLINE,
        || c_unavailable.load(Ordering::SeqCst) == 1,
    );
    drop(c_subscription);
    assert_eq!(ox_available.load(Ordering::SeqCst), 1);
    assert_eq!(c_available.load(Ordering::SeqCst), 1);
}

#[test]
fn a7_cross_client_image_callbacks_on_aeron_c_driver() {
    let _serial = serial();
    let driver = Driver::aeron_c();
    cross_client_image_callbacks(&driver.dir(), 1011);
}

#[test]
fn b7_cross_client_image_callbacks_on_oxeron_driver() {
    let _serial = serial();
    let driver = Driver::oxeron();
    cross_client_image_callbacks(&driver.dir(), 2011);
}

/// Both clients hold a publication and a subscription, idle for three client liveness timeouts (the
/// driver times out clients whose keepalives it does not see), then exchange messages.
fn clients_stay_alive(dir: &Path, stream_id: i32) {
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&errors);
    let ox_aeron = oxeron_client(
        dir,
        ox::Context::new().error_handler(move |e: &ox::AeronError| {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.to_string())
        }),
    );
    let c_aeron = c_client(dir);
    let timeout = Duration::from_secs(10);
    let mut ox_subscription = ox_aeron.add_subscription(CHANNEL, stream_id).unwrap();
    let c_publication = c_aeron
        .async_add_publication(&c_channel(), stream_id)
        .and_then(|p| p.poll_blocking(timeout))
        .unwrap();
    let c_subscription = c_aeron
        .async_add_subscription(
            &c_channel(),
            stream_id + 100,
            rc::Handlers::NONE,
            rc::Handlers::NONE,
        )
        .and_then(|s| s.poll_blocking(timeout))
        .unwrap();
    let ox_publication = ox_aeron.add_publication(CHANNEL, stream_id + 100).unwrap();
    wait_for("both publications connected", EVENT_DEADLINE, || {
        c_publication.is_connected() && ox_publication.is_connected()
    });
    std::thread::sleep(3 * CLIENT_LIVENESS);
    assert!(
        !ox_aeron.is_closed(),
        "the driver timed out the Oxeron client"
    );
    assert!(!ox_publication.is_closed() && !c_publication.is_closed());
    assert!(
        c_publication.is_connected(),
        "Aeron C publication lost its Oxeron subscriber"
    );
    assert!(
        ox_publication.is_connected(),
        "Oxeron publication lost its Aeron C subscriber"
    );
    let (mut to_ox, mut to_c) = (0, 0);
    let mut next = 0u64;
    wait_for("100 messages each way after idling", EVENT_DEADLINE, || {
        let mut m = [0u8; 64];
        sample::fill(&mut m, next);
        if next < 100 && c_publication.offer(&m).is_ok() {
            while ox_publication.offer(&m).is_err() {
                std::thread::yield_now();
            }
            next += 1;
        }
        ox_subscription.poll(|_: &[u8], _: &ox::Header| to_ox += 1, 10);
        c_subscription.poll_fn(|_, _| to_c += 1, 10).unwrap();
        to_ox == 100 && to_c == 100
    });
    let errors = errors.lock().unwrap_or_else(|p| p.into_inner());
    assert!(errors.is_empty(), "Oxeron client errors: {errors:?}");
}

#[test]
fn a8_clients_stay_alive_on_aeron_c_driver() {
    let _serial = serial();
    let driver = Driver::aeron_c();
    clients_stay_alive(&driver.dir(), 1012);
}

#[test]
fn b8_clients_stay_alive_on_oxeron_driver() {
    let _serial = serial();
    let driver = Driver::oxeron();
    clients_stay_alive(&driver.dir(), 2012);
}

/// Rows of the counters with `type_id` whose registration id (Oxeron's reader) or id is `id`.
fn counter_row(rows: &[Row], id: i32) -> Option<&Row> {
    rows.iter().find(|r| r.0 == id)
}

fn c_client_rows(aeron: &rc::Aeron) -> Vec<(Row, Vec<u8>)> {
    let mut rows = Vec::new();
    aeron
        .counters_reader()
        .foreach_counter_fn(|value, id, type_id, key, label| {
            rows.push(((id, type_id, value, label.to_string()), key.to_vec()))
        });
    rows
}

fn oxeron_client_rows(aeron: &ox::Aeron) -> Vec<(Row, Vec<u8>)> {
    let mut rows = Vec::new();
    aeron
        .counters_reader()
        .for_each_counter(|value, id, type_id, key, label| {
            rows.push(((id, type_id, value, label.to_string()), key.to_vec()))
        });
    rows
}

/// Counters one client adds are visible, with type, key, label and value, to the other client; the
/// Oxeron client's available/unavailable counter callbacks fire for the Aeron C client's counter; closed
/// clients' heartbeat counters go away.
fn counters_across_clients(dir: &Path) {
    let seen = Arc::new(Mutex::new(Vec::<(&'static str, i64, i32)>::new()));
    let (available, unavailable) = (Arc::clone(&seen), Arc::clone(&seen));
    let ox_aeron = oxeron_client(
        dir,
        ox::Context::new()
            .on_available_counter(move |registration_id, id| {
                available
                    .lock()
                    .unwrap()
                    .push(("available", registration_id, id))
            })
            .on_unavailable_counter(move |registration_id, id| {
                unavailable
                    .lock()
                    .unwrap()
                    .push(("unavailable", registration_id, id))
            }),
    );
    let c_aeron = c_client(dir);
    let ox_key: Vec<u8> = (1..=16).collect();
    let c_key: Vec<u8> = (101..=124).collect();

    let ox_counter = ox_aeron
        .add_counter(1001, &ox_key, "oxeron counter")
        .expect("Oxeron add_counter");
    ox_counter.set(42);
    let c_counter = c_aeron
        .add_counter(1002, &c_key, "aeron c counter", Duration::from_secs(10))
        .expect("Aeron C add_counter");
    let c_counter_id = c_counter.get_constants().unwrap().counter_id();
    let c_counter_registration_id = c_counter.get_constants().unwrap().registration_id();
    *c_counter.addr() = 43;

    let theirs = c_client_rows(&c_aeron);
    let (row, key) = theirs
        .iter()
        .find(|(r, _)| r.0 == ox_counter.id())
        .unwrap_or_else(|| {
            panic!(
                "Aeron C does not see Oxeron's counter {}: {theirs:?}",
                ox_counter.id()
            )
        });
    assert_eq!(
        row,
        &(ox_counter.id(), 1001, 42, "oxeron counter".to_string())
    );
    assert_eq!(&key[..ox_key.len()], &ox_key[..]);
    assert!(
        key[ox_key.len()..].iter().all(|&b| b == 0),
        "key padding {key:?}"
    );

    let ours = oxeron_client_rows(&ox_aeron);
    let (row, key) = ours
        .iter()
        .find(|(r, _)| r.0 == c_counter_id)
        .unwrap_or_else(|| {
            panic!("Oxeron does not see Aeron C's counter {c_counter_id}: {ours:?}")
        });
    assert_eq!(
        row,
        &(c_counter_id, 1002, 43, "aeron c counter".to_string())
    );
    assert_eq!(&key[..c_key.len()], &c_key[..]);
    assert_eq!(
        ox_aeron
            .counters_reader()
            .counter_registration_id(c_counter_id)
            .unwrap(),
        c_counter_registration_id
    );
    wait_for(
        "Oxeron's available counter callback for Aeron C's counter",
        EVENT_DEADLINE,
        || {
            seen.lock()
                .unwrap()
                .contains(&("available", c_counter_registration_id, c_counter_id))
        },
    );

    c_counter.close().expect("closing Aeron C's counter");
    wait_for(
        "Oxeron's unavailable counter callback for Aeron C's counter",
        EVENT_DEADLINE,
        || {
            seen.lock()
                .unwrap()
                .contains(&("unavailable", c_counter_registration_id, c_counter_id))
        },
    );
    let ox_counter_id = ox_counter.id();
    drop(ox_counter);
    wait_for("Oxeron's counter to be freed", EVENT_DEADLINE, || {
        counter_row(&c_rows(dir), ox_counter_id).is_none_or(|r| r.1 != 1001)
    });

    // Client heartbeat counters (type 11) go when their clients close.
    let heartbeat_of = |client_id: i64| {
        let cnc = tools::open_cnc(dir).unwrap();
        tools::counters(&cnc, Some(11), None)
            .unwrap()
            .into_iter()
            .find(|r| r.registration_id == client_id)
    };
    let (ox_id, c_id) = (ox_aeron.client_id(), c_aeron.client_id());
    assert_ne!(ox_id, c_id);
    wait_for("both clients' heartbeat counters", EVENT_DEADLINE, || {
        heartbeat_of(ox_id).is_some() && heartbeat_of(c_id).is_some()
    });
    drop(c_aeron);
    wait_for(
        "the Aeron C client's heartbeat counter to go",
        EVENT_DEADLINE,
        || heartbeat_of(c_id).is_none(),
    );
    ox_aeron.close();
    wait_for(
        "the Oxeron client's heartbeat counter to go",
        EVENT_DEADLINE,
        || heartbeat_of(ox_id).is_none(),
    );
}

#[test]
fn a9_counters_across_clients_on_aeron_c_driver() {
    let _serial = serial();
    let driver = Driver::aeron_c();
    counters_across_clients(&driver.dir());
}

#[test]
fn b9_counters_across_clients_on_oxeron_driver() {
    let _serial = serial();
    let driver = Driver::oxeron();
    counters_across_clients(&driver.dir());
}

/// What a subscriber saw of one message: payload, session id, stream id, position, reserved value, flags.
type Seen = (Vec<u8>, i32, i32, i64, i64, u8);

/// Frame headers across clients: an Oxeron exclusive publication using offer, offer_vectored and
/// try_claim (with a reserved value) read by an Aeron C subscription, and an Aeron C publication using
/// offer and offer_parts read by an Oxeron subscription; session, stream, position (as the offer returned
/// it), reserved value and flags must match.
fn headers_across_clients(dir: &Path, stream_id: i32) {
    const COUNT: u64 = 3_000;
    let ox_aeron = oxeron_client(dir, ox::Context::new());
    let c_aeron = c_client(dir);
    let timeout = Duration::from_secs(10);

    // Oxeron -> Aeron C.
    let c_subscription = c_aeron
        .async_add_subscription(
            &c_channel(),
            stream_id,
            rc::Handlers::NONE,
            rc::Handlers::NONE,
        )
        .and_then(|s| s.poll_blocking(timeout))
        .unwrap();
    let mut publication = ox_aeron
        .add_exclusive_publication(CHANNEL, stream_id)
        .unwrap();
    let session_id = publication.session_id();
    let mut expected: Vec<(i64, i64)> = Vec::new();
    let mut seen: Vec<Seen> = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while (seen.len() as u64) < COUNT {
        assert!(
            Instant::now() < deadline,
            "Oxeron -> Aeron C headers: timed out, {} seen",
            seen.len()
        );
        let n = expected.len() as u64;
        if n < COUNT {
            let mut m = vec![0u8; short_length(n)];
            sample::fill(&mut m, n);
            let reserved = n as i64 * 7 + 1;
            let result = match n % 3 {
                0 => publication.offer(&m).map(|p| (p, 0)),
                1 => publication
                    .offer_vectored(&[&m[..5], &m[5..]])
                    .map(|p| (p, 0)),
                _ => publication.try_claim(m.len()).map(|(p, mut claim)| {
                    claim.put_bytes(0, &m);
                    claim.set_reserved_value(reserved);
                    claim.commit();
                    (p, reserved)
                }),
            };
            if let Ok(position_and_reserved) = result {
                expected.push(position_and_reserved);
            }
        }
        c_subscription
            .poll_fn(
                |m, header| {
                    let values = header.get_values().expect("header values");
                    let frame = values.frame();
                    seen.push((
                        m.to_vec(),
                        frame.session_id(),
                        frame.stream_id(),
                        header.position(),
                        frame.reserved_value(),
                        frame.flags(),
                    ));
                },
                FRAGMENT_LIMIT,
            )
            .unwrap();
    }
    assert_eq!(
        seen.len(),
        expected.len(),
        "Oxeron -> Aeron C: messages seen vs sent"
    );
    for (n, (got, want)) in seen.iter().zip(&expected).enumerate() {
        sample::check(&got.0, n as u64, short_length(n as u64)).unwrap();
        assert_eq!(
            (got.1, got.2, got.3, got.4, got.5),
            (session_id, stream_id, want.0, want.1, 0xC0),
            "Oxeron -> Aeron C message {n}: (session, stream, position, reserved value, flags)"
        );
    }
    drop(publication);

    // Aeron C -> Oxeron.
    let mut ox_subscription = ox_aeron.add_subscription(CHANNEL, stream_id + 100).unwrap();
    let publication = c_aeron
        .async_add_publication(&c_channel(), stream_id + 100)
        .and_then(|p| p.poll_blocking(timeout))
        .unwrap();
    let session_id = publication.session_id();
    let mut positions: Vec<i64> = Vec::new();
    let mut seen: Vec<Seen> = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while (seen.len() as u64) < COUNT {
        assert!(
            Instant::now() < deadline,
            "Aeron C -> Oxeron headers: timed out, {} seen",
            seen.len()
        );
        let n = positions.len() as u64;
        if n < COUNT {
            let mut m = vec![0u8; short_length(n)];
            sample::fill(&mut m, n);
            let result = if n.is_multiple_of(2) {
                publication.offer(&m)
            } else {
                publication.offer_parts(&[&m[..3], &m[3..]])
            };
            if let Ok(position) = result {
                positions.push(position);
            }
        }
        ox_subscription.poll(
            |m: &[u8], header: &ox::Header| {
                seen.push((
                    m.to_vec(),
                    header.session_id(),
                    header.stream_id(),
                    header.position(),
                    header.reserved_value(),
                    header.flags(),
                ))
            },
            FRAGMENT_LIMIT,
        );
    }
    assert_eq!(
        seen.len(),
        positions.len(),
        "Aeron C -> Oxeron: messages seen vs sent"
    );
    for (n, (got, want)) in seen.iter().zip(&positions).enumerate() {
        sample::check(&got.0, n as u64, short_length(n as u64)).unwrap();
        assert_eq!(
            (got.1, got.2, got.3, got.4, got.5),
            (session_id, stream_id + 100, *want, 0, 0xC0),
            "Aeron C -> Oxeron message {n}: (session, stream, position, reserved value, flags)"
        );
    }
}

#[test]
fn a10_headers_across_clients_on_aeron_c_driver() {
    let _serial = serial();
    let driver = Driver::aeron_c();
    headers_across_clients(&driver.dir(), 1013);
}

#[test]
fn b10_headers_across_clients_on_oxeron_driver() {
    let _serial = serial();
    let driver = Driver::oxeron();
    headers_across_clients(&driver.dir(), 2013);
}

/// Channel parameters across clients: an Aeron C publication with `term-length` seen by an Oxeron image,
/// and an Oxeron exclusive publication placed with `init-term-id|term-id|term-offset` joined by an Aeron
/// C subscription at that position.
fn channel_params_across_clients(dir: &Path, stream_id: i32) {
    let ox_aeron = oxeron_client(dir, ox::Context::new());
    let c_aeron = c_client(dir);
    let timeout = Duration::from_secs(10);

    let mut ox_subscription = ox_aeron.add_subscription(CHANNEL, stream_id).unwrap();
    let c_publication = c_aeron
        .async_add_publication(&"aeron:ipc?term-length=64k".into_c_string(), stream_id)
        .and_then(|p| p.poll_blocking(timeout))
        .unwrap();
    assert_eq!(
        c_publication.get_constants().unwrap().term_buffer_length(),
        65536
    );
    wait_for(
        "Oxeron's image of the 64k-term Aeron C publication",
        EVENT_DEADLINE,
        || ox_subscription.image_count() == 1,
    );
    let image = ox_subscription.images()[0].clone();
    assert_eq!(image.term_buffer_length(), 65536);
    assert_eq!(image.session_id(), c_publication.session_id());
    assert_eq!(
        image.initial_term_id(),
        c_publication.get_constants().unwrap().initial_term_id()
    );

    let term_length = 128 * 1024;
    let start = 2 * term_length + 1024;
    let c_subscription = c_aeron
        .async_add_subscription(
            &c_channel(),
            stream_id + 100,
            rc::Handlers::NONE,
            rc::Handlers::NONE,
        )
        .and_then(|s| s.poll_blocking(timeout))
        .unwrap();
    let mut ox_publication = ox_aeron
        .add_exclusive_publication(
            "aeron:ipc?term-length=128k|init-term-id=7|term-id=9|term-offset=1024",
            stream_id + 100,
        )
        .expect("Oxeron exclusive publication at a given position");
    assert_eq!(ox_publication.initial_term_id(), 7);
    assert_eq!(ox_publication.term_buffer_length(), term_length as i32);
    assert_eq!(ox_publication.position(), start);
    let mut m = [0u8; 64];
    sample::fill(&mut m, 0);
    let mut sent_position = None;
    let mut received = Vec::new();
    wait_for(
        "one message from the placed Oxeron publication",
        EVENT_DEADLINE,
        || {
            if sent_position.is_none() {
                sent_position = ox_publication.offer(&m).ok();
            }
            c_subscription
                .poll_fn(
                    |msg, header| received.push((msg.to_vec(), header.position())),
                    10,
                )
                .unwrap();
            !received.is_empty()
        },
    );
    assert_eq!(sent_position, Some(start + 96));
    assert_eq!(received, vec![(m.to_vec(), start + 96)]);
    let mut join_position = None;
    c_subscription.for_each_image(|image| {
        join_position = image.get_constants().ok().map(|c| c.join_position())
    });
    assert_eq!(join_position, Some(start), "Aeron C image join position");
}

#[test]
fn a11_channel_params_across_clients_on_aeron_c_driver() {
    let _serial = serial();
    let driver = Driver::aeron_c();
    channel_params_across_clients(&driver.dir(), 1014);
}

#[test]
fn b11_channel_params_across_clients_on_oxeron_driver() {
    let _serial = serial();
    let driver = Driver::oxeron();
    channel_params_across_clients(&driver.dir(), 2014);
}

/// Driver errors each client gets for a channel with a bad term length: (Oxeron client's code, Aeron C
/// client's code, distinct errors in the driver's log as Oxeron reads it, as Aeron C reads it).
fn bad_channel_errors(dir: &Path, stream_id: i32) -> (i32, i32, usize, usize) {
    let bad = "aeron:ipc?term-length=1000";
    let ox_aeron = oxeron_client(dir, ox::Context::new());
    let started = Instant::now();
    let e = ox_aeron
        .add_publication(bad, stream_id)
        .expect_err("Oxeron add_publication of a bad channel");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "Oxeron client: {e} after {:?}",
        started.elapsed()
    );
    let ox_code = e
        .error_code()
        .unwrap_or_else(|| panic!("Oxeron client: {e} is not the driver's error"));
    let c_aeron = c_client(dir);
    let started = Instant::now();
    let c_error = c_aeron
        .async_add_publication(&bad.into_c_string(), stream_id)
        .and_then(|p| p.poll_blocking(Duration::from_secs(10)))
        .map(drop)
        .expect_err("Aeron C add_publication of a bad channel");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "Aeron C client: {c_error:?} after {:?}",
        started.elapsed()
    );
    let mut logged = (0, 0);
    wait_for("the driver's error log entry", EVENT_DEADLINE, || {
        logged.0 = tools::format_errors(&tools::open_cnc(dir).unwrap()).0;
        let cnc = rc::AeronCnc::open(&dir.to_str().unwrap().into_c_string()).unwrap();
        logged.1 = cnc.error_log_read_fn(|_, _, _, _| {}, 0);
        logged.0 >= 1 && logged.1 >= 1
    });
    (i32::from(ox_code), c_error.code, logged.0, logged.1)
}

/// Both drivers refuse a bad channel with an error response (no client waits for a timeout) and log it
/// where either side's error log reader finds it (`bad_channel_errors` asserts all that).
#[test]
fn d1_bad_channel_refused_by_both_drivers() {
    let _serial = serial();
    let driver = Driver::aeron_c();
    bad_channel_errors(&driver.dir(), 1015);
    drop(driver);
    let driver = Driver::oxeron();
    bad_channel_errors(&driver.dir(), 2015);
}

/// ... with the same error code.
#[test]
fn d2_bad_channel_error_code_matches() {
    let _serial = serial();
    let on_c = {
        let driver = Driver::aeron_c();
        bad_channel_errors(&driver.dir(), 1016)
    };
    let on_oxeron = {
        let driver = Driver::oxeron();
        bad_channel_errors(&driver.dir(), 2016)
    };
    assert_eq!(
        on_c.0, on_oxeron.0,
        "error code the Oxeron client gets: on Aeron C's driver vs Oxeron's"
    );
    assert_eq!(
        on_c.1, on_oxeron.1,
        "error code the Aeron C client gets: on Aeron C's driver vs Oxeron's"
    );
}

/// A label with every number (signed: session ids may be negative) replaced by `#`; ids differ between
/// runs.
fn normalized(label: &str) -> String {
    let mut out = String::new();
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        let starts_number =
            c.is_ascii_digit() || (c == '-' && chars.peek().is_some_and(|n| n.is_ascii_digit()));
        if starts_number {
            while chars.peek().is_some_and(|n| n.is_ascii_digit()) {
                chars.next();
            }
            out.push('#');
        } else {
            out.push(c);
        }
    }
    out
}

/// System counters (id, name) and the others (type id, normalized label).
type CounterSet = (Vec<(i32, String)>, Vec<(i32, String)>);

/// The counters a driver has while one Oxeron client has an IPC publication and subscription: system
/// counters as (id, label up to its first ':'), the others as sorted (type id, normalized label).
fn counter_set(dir: &Path) -> CounterSet {
    let aeron = oxeron_client(dir, ox::Context::new());
    let mut subscription = aeron.add_subscription(CHANNEL, 3000).unwrap();
    let publication = aeron.add_publication(CHANNEL, 3000).unwrap();
    let mut received = 0;
    wait_for("a message", EVENT_DEADLINE, || {
        if received == 0 {
            let _ = publication.offer(b"counters");
        }
        subscription.poll(|_: &[u8], _: &ox::Header| received += 1, 10);
        received > 0
    });
    let rows = oxeron_rows(dir);
    let system = rows
        .iter()
        .filter(|r| r.1 == 0)
        .map(|r| (r.0, r.3.split(':').next().unwrap_or("").to_string()))
        .collect();
    let mut others: Vec<(i32, String)> = rows
        .iter()
        .filter(|r| r.1 != 0)
        .map(|r| (r.1, normalized(&r.3)))
        .collect();
    others.sort();
    (system, others)
}

/// Both drivers allocate the same system counters (ids and names) and the same client, publication and
/// subscription counters (type ids and labels).
#[test]
fn d3_same_counters_on_both_drivers() {
    let _serial = serial();
    let on_c = {
        let driver = Driver::aeron_c();
        counter_set(&driver.dir())
    };
    let on_oxeron = {
        let driver = Driver::oxeron();
        counter_set(&driver.dir())
    };
    assert!(
        on_c.0.len() >= 30 && on_c.1.len() >= 3,
        "too few counters: {on_c:?}"
    );
    assert_eq!(
        on_oxeron.0, on_c.0,
        "system counters: Oxeron's driver (left) vs Aeron C's (right)"
    );
    assert_eq!(
        on_oxeron.1, on_c.1,
        "stream counters: Oxeron's driver (left) vs Aeron C's (right)"
    );
}

// ---------------------------------------------------------------------------------------------------
// c. Each side reading the other's cnc.dat

#[test]
fn c1_aeron_c_reads_oxeron_cnc() {
    let _serial = serial();
    let driver = Driver::oxeron();
    let dir = driver.dir();
    let cnc = rc::AeronCnc::open(&dir.to_str().unwrap().into_c_string())
        .expect("Aeron C opens Oxeron's cnc.dat");
    let ours = tools::open_cnc(&dir).unwrap();
    assert_eq!(cnc.get_constants().unwrap().cnc_version(), ours.version());
    let heartbeat_age = rc::Aeron::epoch_clock() - cnc.get_to_driver_heartbeat_ms().unwrap();
    // Aeron C's epoch clock may be a coarse clock, a few ms behind the one that stamped the heartbeat.
    assert!(
        (-100..10_000).contains(&heartbeat_age),
        "driver heartbeat age {heartbeat_age} ms"
    );
    let errors = cnc.error_log_read_fn(
        |_, _, _, error| panic!("unexpected error logged: {error}"),
        0,
    );
    assert_eq!(errors, 0, "Aeron C reads Oxeron's empty error log");
    let theirs = c_rows(&dir);
    assert_system_counters(&theirs, "Aeron C reading Oxeron's cnc.dat");
    assert_eq!(
        shape(&theirs),
        shape(&oxeron_rows(&dir)),
        "Aeron C and Oxeron read different counters"
    );
}

#[test]
fn c2_oxeron_reads_aeron_c_cnc() {
    let _serial = serial();
    let driver = Driver::aeron_c();
    let dir = driver.dir();
    let ours = oxeron_rows(&dir);
    assert_system_counters(&ours, "Oxeron reading Aeron C's cnc.dat");
    assert_eq!(
        shape(&ours),
        shape(&c_rows(&dir)),
        "Oxeron and Aeron C read different counters"
    );
    let cnc = tools::open_cnc(&dir).unwrap();
    let (errors, text) = tools::format_errors(&cnc);
    assert_eq!(errors, 0, "Oxeron reads Aeron C's empty error log: {text}");
}

// ---------------------------------------------------------------------------------------------------
// UDP between the two drivers

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

fn udp_both_ways(publisher: Stack, subscriber: Stack, stream_id: i32) {
    let _serial = serial();
    let c = Driver::aeron_c();
    let oxeron = Driver::oxeron();
    let dir_of = |stack| match stack {
        Stack::AeronC => c.dir(),
        Stack::Oxeron => oxeron.dir(),
    };
    let (pub_dir, sub_dir) = (dir_of(publisher), dir_of(subscriber));
    for (offset, exclusive, fragmented) in [(0, true, false), (1, false, false), (2, true, true)] {
        let channel = format!("aeron:udp?endpoint=127.0.0.1:{}", free_port());
        transfer_between(
            (&pub_dir, publisher),
            (&sub_dir, subscriber),
            &channel,
            stream_id + offset,
            exclusive,
            fragmented,
        );
    }
}

/// One stream over a multicast group on loopback, the way Aeron does multicast: data to the (odd) group
/// address, status messages and NAKs to the control group one above it.
fn multicast_between(publisher: Stack, subscriber: Stack, stream_id: i32) {
    let _serial = serial();
    let c = Driver::aeron_c();
    let oxeron = Driver::oxeron();
    let dir_of = |stack| match stack {
        Stack::AeronC => c.dir(),
        Stack::Oxeron => oxeron.dir(),
    };
    let port = free_port();
    let group = 1 + 2 * (port % 100);
    let channel = format!("aeron:udp?endpoint=224.0.1.{group}:{port}|interface=127.0.0.1");
    transfer_between(
        (&dir_of(publisher), publisher),
        (&dir_of(subscriber), subscriber),
        &channel,
        stream_id,
        true,
        false,
    );
}

#[test]
fn u3_aeron_c_driver_multicasts_to_oxeron_driver() {
    multicast_between(Stack::AeronC, Stack::Oxeron, 3201);
}

#[test]
fn u4_oxeron_driver_multicasts_to_aeron_c_driver() {
    multicast_between(Stack::Oxeron, Stack::AeronC, 3301);
}

#[test]
fn u1_aeron_c_driver_sends_to_oxeron_driver_over_udp() {
    udp_both_ways(Stack::AeronC, Stack::Oxeron, 3001);
}

#[test]
fn u2_oxeron_driver_sends_to_aeron_c_driver_over_udp() {
    udp_both_ways(Stack::Oxeron, Stack::AeronC, 3101);
}
