//! The Java interop matrix: real Java Aeron 1.54 (the jar in `shared/peers/aeron-java-1.54/`) against Oxeron.
//!
//! `j*` cases run a Java client on Oxeron's driver; `k*` cases run Java's media driver in its own process,
//! with a Java client on it, and exchange streams over UDP with Oxeron's driver and client. Each case runs one
//! Java client process (`JavaClientPeer`, driven line by line through stdin) for all its streams.
//!
//! Message `n` carries `n` (`oxeron_cli::sample`; `JavaClientPeer` fills and checks the same bytes). Both
//! sides fold every message's position and bytes, in order, into an FNV-1a hash; a stream passes when the
//! receiver checked every message itself and its count, last position and hash equal the sender's.
//!
//! Aeron directories live in temporary directories under `/dev/shm` (removed on drop, also after a
//! failure); UDP ports come from 24000–24999. Without a JDK or the jar each case prints `SKIPPED` and passes.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicI32, AtomicU16, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use oxeron::protocol::frame::{HDR_TYPE_DATA, HDR_TYPE_NAK, HDR_TYPE_SM};
use oxeron_cli::{sample, tools};
use oxeron_client as ox;
use oxeron_driver::loss::{Direction, LossPolicy};
use oxeron_driver::{Context as DriverContext, MediaDriver, ThreadingMode};
use oxeron_interop::java::{JavaPeer, JavaProcess};
use oxeron_interop::wait_for;

const MESSAGES: u64 = 10_000;
const FRAGMENTED_MESSAGES: u64 = 500;
/// Four frames at the default MTU (1408).
const FRAGMENTED_LENGTH: usize = 5_000;
/// Small terms (set on every publication's channel) so each stream rotates through its log many times.
const TERM_LENGTH: usize = 64 * 1024;
const LOSS_RATE: f64 = 0.05;
/// Status messages and NAKs lost on the way back to the sender.
const CONTROL_LOSS_RATE: f64 = 0.1;
/// Bound on a Java reply to a command that does not move data.
const REPLY: Duration = Duration::from_secs(30);
/// Bound on one stream's messages (`JavaClientPeer` gives up after 90 s and says why).
const TRANSFER: Duration = Duration::from_secs(100);
const FRAGMENT_LIMIT: usize = 256;
const LINGER: Duration = Duration::from_millis(200);
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The next free UDP port of 24000–24999.
fn port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(24_000);
    loop {
        let port = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(port < 25_000, "ports 24000-24999 used up");
        if std::net::UdpSocket::bind(("0.0.0.0", port)).is_ok() {
            return port;
        }
    }
}

fn next_stream_id() -> i32 {
    static NEXT: AtomicI32 = AtomicI32::new(5_001);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn shm_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/dev/shm")
        .expect("temp dir in /dev/shm")
}

// ---------------------------------------------------------------------------------------------------
// Messages

#[derive(Debug, Clone, Copy)]
enum Length {
    /// 8 + n % 249 bytes: frames of many alignments.
    Short,
    Fixed(usize),
}

impl Length {
    fn of(self, sequence: u64) -> usize {
        match self {
            Length::Short => 8 + (sequence % 249) as usize,
            Length::Fixed(length) => length,
        }
    }

    /// As `JavaClientPeer` takes it.
    fn spec(self) -> String {
        match self {
            Length::Short => "short".into(),
            Length::Fixed(length) => length.to_string(),
        }
    }
}

/// Count, last position and the FNV-1a hash of every (position, bytes) pair of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tally {
    count: u64,
    last: i64,
    hash: u64,
}

impl Tally {
    fn new() -> Self {
        Tally {
            count: 0,
            last: -1,
            hash: FNV_OFFSET,
        }
    }

    fn add(&mut self, position: i64, message: &[u8]) {
        for &b in position.to_le_bytes().iter().chain(message) {
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
        self.count += 1;
        self.last = position;
    }

    /// Reads `... count=C last=P hash=H` as `JavaClientPeer` prints it.
    fn parse(line: &str) -> Tally {
        let field = |name: &str| {
            line.split(' ')
                .find_map(|w| w.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {line:?}"))
        };
        Tally {
            count: field("count=").parse().expect("count"),
            last: field("last=").parse().expect("last"),
            hash: field("hash=").parse().expect("hash"),
        }
    }
}

/// Checks that messages arrive as message 0, 1, ... at growing positions, and tallies them.
struct Checker {
    length: Length,
    tally: Tally,
    error: Option<String>,
}

impl Checker {
    fn on_message(&mut self, message: &[u8], position: i64) {
        if self.error.is_none() {
            let n = self.tally.count;
            if let Err(e) = sample::check(message, n, self.length.of(n)) {
                self.error = Some(e);
            } else if position <= self.tally.last {
                self.error = Some(format!(
                    "message {n}: position {position} not beyond {}",
                    self.tally.last
                ));
            }
        }
        self.tally.add(position, message);
    }
}

// ---------------------------------------------------------------------------------------------------
// Processes

/// Oxeron's driver in shared threading mode, in its own directory under `/dev/shm`.
struct OxeronDriver {
    driver: Option<MediaDriver>,
    dir: PathBuf,
    _root: tempfile::TempDir,
}

impl OxeronDriver {
    fn launch(loss: Option<LossPolicy>) -> Self {
        let root = shm_dir("oxeron-java-matrix-");
        let dir = root.path().join("oxeron");
        let mut ctx = DriverContext::new()
            .aeron_dir(&dir)
            .threading_mode(ThreadingMode::Shared)
            .publication_linger_timeout(LINGER)
            .dir_delete_on_shutdown(true);
        if let Some(policy) = loss {
            ctx = ctx.loss_policy(policy);
        }
        let driver = MediaDriver::launch(ctx).expect("launching Oxeron's media driver");
        OxeronDriver {
            driver: Some(driver),
            dir,
            _root: root,
        }
    }

    fn client(&self) -> ox::Aeron {
        ox::Aeron::connect(ox::Context::new().aeron_dir(&self.dir))
            .unwrap_or_else(|e| panic!("Oxeron client on {}: {e}", self.dir.display()))
    }
}

impl Drop for OxeronDriver {
    fn drop(&mut self) {
        if let Some(driver) = self.driver.take() {
            driver.close();
        }
    }
}

/// Java's media driver (`JavaDriver`) in its own process and directory under `/dev/shm`.
struct JavaDriver {
    process: JavaProcess,
    dir: PathBuf,
    _root: tempfile::TempDir,
}

impl JavaDriver {
    /// Starts it with Aeron's system properties `options` on top of the suite's (shared threading, short
    /// linger, directory deleted on start and shutdown).
    fn launch(java: &JavaPeer, options: &[String]) -> Self {
        let root = shm_dir("java-driver-matrix-");
        let dir = root.path().join("java");
        let mut jvm = vec![
            "-Xmx256m".to_string(),
            format!("-Daeron.dir={}", dir.display()),
            "-Daeron.threading.mode=SHARED".into(),
            "-Daeron.dir.delete.on.start=true".into(),
            "-Daeron.dir.delete.on.shutdown=true".into(),
            format!("-Daeron.publication.linger.timeout={}", LINGER.as_nanos()),
        ];
        jvm.extend_from_slice(options);
        let mut process = java
            .spawn(&jvm, "io.oxeron.interop.JavaDriver", &[])
            .expect("starting Java's media driver");
        process.expect_line("READY", REPLY);
        JavaDriver {
            process,
            dir,
            _root: root,
        }
    }

    /// The value of the Java driver's system counter labelled `label`.
    fn counter(&self, label: &str) -> i64 {
        let cnc = tools::open_cnc(&self.dir).expect("Oxeron maps Java's cnc.dat");
        tools::counters(&cnc, None, None)
            .expect("Oxeron reads Java's counters")
            .into_iter()
            .find(|row| row.label == label)
            .unwrap_or_else(|| panic!("no counter {label:?} in Java's cnc.dat"))
            .value
    }

    /// Stops it with SIGTERM, as an operator would, and checks that it closed cleanly (the JVM exits with
    /// 143 after a SIGTERM, its shutdown hooks run).
    fn close(mut self) {
        self.process.terminate();
        self.process.expect_line("CLOSED", REPLY);
        let status = self.process.wait(REPLY);
        assert!(
            status.success() || status.code() == Some(143),
            "Java's media driver exited with {status}:\n{}",
            self.process.stderr()
        );
    }
}

/// A `JavaClientPeer` process: one command a line on stdin, one answer a line on stdout.
struct JavaClient {
    process: JavaProcess,
    pending: VecDeque<String>,
}

impl JavaClient {
    fn start(java: &JavaPeer, dir: &Path) -> Self {
        let jvm = [
            "-Xmx256m".to_string(),
            format!("-Daeron.dir={}", dir.display()),
        ];
        let process = java
            .spawn_interactive(&jvm, "io.oxeron.interop.JavaClientPeer", &[])
            .expect("starting the Java client");
        let mut client = JavaClient {
            process,
            pending: VecDeque::new(),
        };
        client.reply("READY", REPLY);
        client
    }

    /// Panics with `what` and everything the Java client printed.
    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n-- Java client stdout:\n{}\n-- stderr:\n{}",
            self.process.lines_seen().join("\n"),
            self.process.stderr()
        )
    }

    fn send(&mut self, command: &str) {
        if let Err(e) = self.process.send_line(command) {
            panic!("sending {command:?}: {e}");
        }
    }

    fn check(&self, line: &str) {
        if line.starts_with("ERROR") {
            self.fail(&format!("Java reported {line:?}"));
        }
    }

    /// A line printed since the last call, without waiting; fails on an `ERROR` line.
    fn poll_line(&mut self) {
        if let Ok(line) = self.process.next_line(Duration::ZERO) {
            self.check(&line);
            self.pending.push_back(line);
        }
    }

    /// Waits at most `limit` for the next line, which must start with `prefix`.
    fn reply(&mut self, prefix: &str, limit: Duration) -> String {
        let line = match self.pending.pop_front() {
            Some(line) => line,
            None => self
                .process
                .next_line(limit)
                .unwrap_or_else(|e| panic!("waiting for {prefix:?}: {e}")),
        };
        self.check(&line);
        if !line.starts_with(prefix) {
            self.fail(&format!(
                "expected a line starting {prefix:?}, got {line:?}"
            ));
        }
        line
    }

    fn request(&mut self, command: &str, prefix: &str) -> String {
        self.send(command);
        self.reply(prefix, REPLY)
    }

    fn close(mut self) {
        self.request("exit", "BYE");
        self.process.wait_success(REPLY);
    }
}

// ---------------------------------------------------------------------------------------------------
// Streams

/// A channel and the destinations to add to it (MDC for a publication, MDS for a subscription).
#[derive(Debug, Clone)]
struct Endpoint {
    channel: String,
    destinations: Vec<String>,
}

fn endpoint(channel: impl Into<String>) -> Endpoint {
    Endpoint {
        channel: channel.into(),
        destinations: Vec::new(),
    }
}

fn with_destinations(channel: &str, destinations: &[String]) -> Endpoint {
    Endpoint {
        channel: channel.into(),
        destinations: destinations.to_vec(),
    }
}

/// A publication channel: `channel` with the suite's small term length.
fn publication_channel(channel: &str) -> String {
    let separator = if channel.contains('?') { '|' } else { '?' };
    format!("{channel}{separator}term-length={TERM_LENGTH}")
}

fn unicast(port: u16) -> String {
    format!("aeron:udp?endpoint=127.0.0.1:{port}")
}

/// A multicast group on loopback: data to the odd group address, control to the one above.
fn multicast(port: u16) -> String {
    let group = 1 + 2 * (port % 100);
    format!("aeron:udp?endpoint=224.0.1.{group}:{port}|interface=127.0.0.1")
}

/// One stream: a publication and the subscriptions that must each receive all of it.
#[derive(Debug, Clone)]
struct Stream {
    what: String,
    publication: Endpoint,
    exclusive: bool,
    subscriptions: Vec<Endpoint>,
    count: u64,
    length: Length,
}

impl Stream {
    fn new(what: &str, publication: Endpoint, subscriptions: Vec<Endpoint>) -> Self {
        Stream {
            what: what.into(),
            publication: Endpoint {
                channel: publication_channel(&publication.channel),
                ..publication
            },
            exclusive: true,
            subscriptions,
            count: MESSAGES,
            length: Length::Short,
        }
    }

    fn concurrent(self) -> Self {
        Stream {
            exclusive: false,
            what: format!("{} (concurrent publication)", self.what),
            ..self
        }
    }

    fn fragmented(self) -> Self {
        Stream {
            count: FRAGMENTED_MESSAGES,
            length: Length::Fixed(FRAGMENTED_LENGTH),
            what: format!("{} ({FRAGMENTED_LENGTH}-byte messages)", self.what),
            ..self
        }
    }

    /// The same stream on a single subscription channel.
    fn unicast(what: &str, channel: &str) -> Self {
        Stream::new(what, endpoint(channel), vec![endpoint(channel)])
    }
}

enum OxPublication {
    Concurrent(ox::Publication),
    Exclusive(ox::ExclusivePublication),
}

impl OxPublication {
    fn add(aeron: &ox::Aeron, stream: &Stream, stream_id: i32) -> Self {
        let channel = &stream.publication.channel;
        let publication = if stream.exclusive {
            OxPublication::Exclusive(
                aeron
                    .add_exclusive_publication(channel, stream_id)
                    .unwrap_or_else(|e| panic!("{}: add_exclusive_publication: {e}", stream.what)),
            )
        } else {
            OxPublication::Concurrent(
                aeron
                    .add_publication(channel, stream_id)
                    .unwrap_or_else(|e| panic!("{}: add_publication: {e}", stream.what)),
            )
        };
        for destination in &stream.publication.destinations {
            aeron
                .add_destination(publication.registration_id(), destination)
                .unwrap_or_else(|e| panic!("{}: add_destination {destination}: {e}", stream.what));
        }
        publication
    }

    fn registration_id(&self) -> i64 {
        match self {
            OxPublication::Concurrent(p) => p.registration_id(),
            OxPublication::Exclusive(p) => p.registration_id(),
        }
    }

    fn is_connected(&self) -> bool {
        match self {
            OxPublication::Concurrent(p) => p.is_connected(),
            OxPublication::Exclusive(p) => p.is_connected(),
        }
    }

    fn offer(&mut self, message: &[u8]) -> Result<i64, ox::OfferError> {
        match self {
            OxPublication::Concurrent(p) => p.offer(message),
            OxPublication::Exclusive(p) => p.offer(message),
        }
    }
}

/// Publishes `stream` from the Java client and checks every message on Oxeron subscriptions.
fn java_to_oxeron(java: &mut JavaClient, aeron: &ox::Aeron, stream: &Stream) {
    let what = format!("Java -> Oxeron: {}", stream.what);
    let started = Instant::now();
    let stream_id = next_stream_id();
    let mut receivers = Vec::new();
    for sub in &stream.subscriptions {
        let subscription = aeron
            .add_subscription(&sub.channel, stream_id)
            .unwrap_or_else(|e| panic!("{what}: add_subscription {}: {e}", sub.channel));
        for destination in &sub.destinations {
            aeron
                .add_rcv_destination(subscription.registration_id(), destination)
                .unwrap_or_else(|e| panic!("{what}: add_rcv_destination {destination}: {e}"));
        }
        let checker = Rc::new(RefCell::new(Checker {
            length: stream.length,
            tally: Tally::new(),
            error: None,
        }));
        let sink = Rc::clone(&checker);
        let assembler = ox::FragmentAssembler::new(move |message: &[u8], header: &ox::Header| {
            sink.borrow_mut().on_message(message, header.position())
        });
        receivers.push((subscription, assembler, checker));
    }
    let kind = if stream.exclusive {
        "exclusive"
    } else {
        "concurrent"
    };
    java.request(
        &format!("pub p {kind} {stream_id} {}", stream.publication.channel),
        "PUB p",
    );
    for destination in &stream.publication.destinations {
        java.request(&format!("dest p {destination}"), "OK");
    }
    for (i, (subscription, _, _)) in receivers.iter_mut().enumerate() {
        wait_for(
            &format!("{what}: an image on subscription {i}"),
            REPLY,
            || subscription.image_count() > 0,
        );
    }
    java.request("connected p", "CONNECTED p");
    java.send(&format!("send p {} {}", stream.count, stream.length.spec()));

    let deadline = Instant::now() + TRANSFER;
    let mut idle = 0u32;
    loop {
        let mut fragments = 0;
        let mut done = true;
        for (i, (subscription, assembler, checker)) in receivers.iter_mut().enumerate() {
            fragments += subscription.poll(assembler.handler(), FRAGMENT_LIMIT);
            let checker = checker.borrow();
            if let Some(e) = &checker.error {
                panic!("{what}: subscription {i}: {e}");
            }
            assert!(
                checker.tally.count <= stream.count,
                "{what}: subscription {i}: {} messages of {}",
                checker.tally.count,
                stream.count
            );
            done &= checker.tally.count == stream.count;
        }
        if done {
            break;
        }
        java.poll_line();
        if Instant::now() > deadline {
            let counts: Vec<u64> = receivers.iter().map(|r| r.2.borrow().tally.count).collect();
            java.fail(&format!(
                "{what}: timed out after {TRANSFER:?}, received {counts:?} of {}",
                stream.count
            ));
        }
        idle = back_off(fragments > 0, idle);
    }
    let sent = Tally::parse(&java.reply("SENT p", TRANSFER));
    std::thread::sleep(Duration::from_millis(20));
    for (i, (subscription, assembler, checker)) in receivers.iter_mut().enumerate() {
        subscription.poll(assembler.handler(), FRAGMENT_LIMIT);
        let received = checker.borrow().tally;
        assert_eq!(
            received, sent,
            "{what}: subscription {i} received (left) differs from what Java sent (right)"
        );
    }
    java.request("close p", "OK");
    eprintln!(
        "{what}: {} messages in {:.2} s",
        stream.count,
        started.elapsed().as_secs_f64()
    );
}

/// Publishes `stream` from Oxeron and has the Java client check every message on its subscriptions.
fn oxeron_to_java(aeron: &ox::Aeron, java: &mut JavaClient, stream: &Stream) {
    let what = format!("Oxeron -> Java: {}", stream.what);
    let started = Instant::now();
    let stream_id = next_stream_id();
    let ids: Vec<String> = (0..stream.subscriptions.len())
        .map(|i| format!("s{i}"))
        .collect();
    for (id, sub) in ids.iter().zip(&stream.subscriptions) {
        java.request(
            &format!("sub {id} {stream_id} {}", sub.channel),
            &format!("SUB {id}"),
        );
        for destination in &sub.destinations {
            java.request(&format!("rcvdest {id} {destination}"), "OK");
        }
    }
    let mut publication = OxPublication::add(aeron, stream, stream_id);
    for id in &ids {
        java.request(&format!("images {id} 1"), &format!("IMAGES {id}"));
    }
    wait_for(
        &format!("{what}: the publication to connect"),
        REPLY,
        || publication.is_connected(),
    );
    java.send(&format!(
        "receive {} {} {}",
        stream.count,
        stream.length.spec(),
        ids.join(" ")
    ));

    let deadline = Instant::now() + TRANSFER;
    let mut sent = Tally::new();
    let mut buffer = vec![
        0u8;
        (0..stream.count.min(1000))
            .map(|n| stream.length.of(n))
            .max()
            .unwrap_or(0)
    ];
    let mut idle = 0u32;
    while sent.count < stream.count {
        let n = sent.count;
        let message = &mut buffer[..stream.length.of(n)];
        sample::fill(message, n);
        match publication.offer(message) {
            Ok(position) => {
                sent.add(position, message);
                idle = 0;
            }
            Err(
                e @ (ox::OfferError::NotConnected
                | ox::OfferError::BackPressured
                | ox::OfferError::AdminAction),
            ) => {
                java.poll_line();
                if Instant::now() > deadline {
                    java.fail(&format!(
                        "{what}: timed out after {TRANSFER:?} offering message {n}: {e}"
                    ));
                }
                idle = back_off(false, idle);
            }
            Err(e) => panic!("{what}: offer of message {n}: {e}"),
        }
    }
    for id in &ids {
        let received = Tally::parse(&java.reply(&format!("RECEIVED {id}"), TRANSFER));
        assert_eq!(
            received, sent,
            "{what}: Java subscription {id} received (left) differs from what Oxeron sent (right)"
        );
    }
    for id in &ids {
        java.request(&format!("close {id}"), "OK");
    }
    eprintln!(
        "{what}: {} messages in {:.2} s",
        stream.count,
        started.elapsed().as_secs_f64()
    );
}

/// Yields for the first idle rounds, then sleeps up to a millisecond; returns the next idle count.
fn back_off(worked: bool, idle: u32) -> u32 {
    if worked {
        return 0;
    }
    if idle < 20 {
        std::thread::yield_now();
    } else {
        std::thread::sleep(Duration::from_micros(u64::from((idle - 19).min(10)) * 100));
    }
    idle + 1
}

/// Both directions of every stream `streams` makes: Java publishing to Oxeron, then Oxeron publishing to
/// Java on a second set (fresh ports, so no endpoint is bound by both drivers in turn).
fn both_ways(java: &mut JavaClient, aeron: &ox::Aeron, streams: impl Fn() -> Vec<Stream>) {
    for (forward, backward) in streams().iter().zip(&streams()) {
        java_to_oxeron(java, aeron, forward);
        oxeron_to_java(aeron, java, backward);
    }
}

// ---------------------------------------------------------------------------------------------------
// j. The Java client on Oxeron's driver

/// Runs `streams` both ways between a Java client and an Oxeron client on one Oxeron driver.
fn on_oxeron_driver(test: &str, streams: impl Fn() -> Vec<Stream>) {
    let _serial = serial();
    let Some(peer) = JavaPeer::find(test) else {
        return;
    };
    let driver = OxeronDriver::launch(None);
    let aeron = driver.client();
    let mut java = JavaClient::start(&peer, &driver.dir);
    both_ways(&mut java, &aeron, streams);
    java.close();
}

#[test]
fn j1_ipc() {
    on_oxeron_driver("j1_ipc", || {
        let ipc = Stream::unicast("IPC", "aeron:ipc");
        vec![ipc.clone(), ipc.concurrent()]
    });
}

#[test]
fn j2_udp_unicast() {
    on_oxeron_driver("j2_udp_unicast", || {
        let udp = Stream::unicast("UDP unicast", &unicast(port()));
        vec![udp.clone(), udp.concurrent()]
    });
}

#[test]
fn j3_fragmented() {
    on_oxeron_driver("j3_fragmented", || {
        vec![
            Stream::unicast("IPC", "aeron:ipc").fragmented(),
            Stream::unicast("UDP unicast", &unicast(port()))
                .concurrent()
                .fragmented(),
        ]
    });
}

/// A manual MDC publication to two unicast subscriptions. MDC publications follow the slowest receiver
/// (`fc=min`): with Aeron's default (`max`) a receiver that falls a term behind may never catch up.
fn mdc_manual(what: &str) -> Stream {
    let endpoints = [unicast(port()), unicast(port())];
    Stream::new(
        &format!("{what} MDC (manual) to 2 subscriptions"),
        with_destinations("aeron:udp?control-mode=manual|fc=min", &endpoints),
        endpoints.iter().map(endpoint).collect(),
    )
}

/// A dynamic MDC publication (control endpoint) that two subscriptions join.
fn mdc_dynamic(what: &str) -> Stream {
    let control = format!("127.0.0.1:{}", port());
    Stream::new(
        &format!("{what} MDC (dynamic) to 2 subscriptions"),
        endpoint(format!(
            "aeron:udp?control={control}|control-mode=dynamic|fc=min"
        )),
        (0..2)
            .map(|_| endpoint(format!("{}|control={control}", unicast(port()))))
            .collect(),
    )
}

#[test]
fn j4_mdc() {
    on_oxeron_driver("j4_mdc", || vec![mdc_manual("UDP"), mdc_dynamic("UDP")]);
}

#[test]
fn j5_mds() {
    on_oxeron_driver("j5_mds", || {
        let endpoints = [unicast(port()), unicast(port())];
        vec![Stream::new(
            "MDS: a manual MDC publication to one subscription with both as receive destinations",
            with_destinations("aeron:udp?control-mode=manual", &endpoints),
            vec![with_destinations(
                "aeron:udp?control-mode=manual",
                &endpoints,
            )],
        )]
    });
}

#[test]
fn j6_spies() {
    on_oxeron_driver("j6_spies", || {
        let channel = unicast(port());
        vec![Stream::new(
            "UDP unicast to a subscription and a spy (aeron-spy:) beside the publication",
            endpoint(&channel),
            vec![endpoint(&channel), endpoint(format!("aeron-spy:{channel}"))],
        )]
    });
}

// ---------------------------------------------------------------------------------------------------
// k. Java's media driver and Oxeron's over UDP

/// A Java driver with a Java client, and an Oxeron driver with an Oxeron client, each in its own directory.
struct TwoDrivers {
    java: JavaClient,
    java_driver: JavaDriver,
    aeron: ox::Aeron,
    _oxeron: OxeronDriver,
}

impl TwoDrivers {
    fn launch(peer: &JavaPeer, java_options: &[String], loss: Option<LossPolicy>) -> Self {
        let oxeron = OxeronDriver::launch(loss);
        let aeron = oxeron.client();
        let java_driver = JavaDriver::launch(peer, java_options);
        let java = JavaClient::start(peer, &java_driver.dir);
        TwoDrivers {
            java,
            java_driver,
            aeron,
            _oxeron: oxeron,
        }
    }

    fn close(self) {
        self.java.close();
        self.java_driver.close();
    }
}

fn across_drivers(test: &str, streams: impl Fn() -> Vec<Stream>) {
    let _serial = serial();
    let Some(peer) = JavaPeer::find(test) else {
        return;
    };
    let mut drivers = TwoDrivers::launch(&peer, &[], None);
    both_ways(&mut drivers.java, &drivers.aeron, streams);
    drivers.close();
}

#[test]
fn k1_udp_unicast() {
    across_drivers("k1_udp_unicast", || {
        let udp = Stream::unicast(
            "Java driver <-> Oxeron driver, UDP unicast",
            &unicast(port()),
        );
        vec![udp.clone(), udp.clone().concurrent(), udp.fragmented()]
    });
}

#[test]
fn k2_udp_multicast() {
    across_drivers("k2_udp_multicast", || {
        let udp = Stream::unicast(
            "Java driver <-> Oxeron driver, UDP multicast on loopback",
            &multicast(port()),
        );
        vec![udp.clone(), udp.fragmented()]
    });
}

#[test]
fn k3_mdc() {
    across_drivers("k3_mdc", || {
        let what = "Java driver <-> Oxeron driver,";
        vec![mdc_manual(what), mdc_dynamic(what)]
    });
}

/// Data lost on its way into either driver, and status messages and NAKs on their way back to the sender:
/// Oxeron's by its `LossPolicy`, Java's by Aeron's `DebugReceiveChannelEndpoint` (data into its receiver) and
/// `DebugSendChannelEndpoint` (status messages and NAKs into its sender). Each receiver has to NAK the gaps,
/// again when a NAK is lost, and each sender resend them.
#[test]
fn k4_loss() {
    let _serial = serial();
    let Some(peer) = JavaPeer::find("k4_loss") else {
        return;
    };
    let policy = LossPolicy::new(7)
        .drop_rate(Direction::Receive, HDR_TYPE_DATA, LOSS_RATE)
        .drop_rate(Direction::Receive, HDR_TYPE_NAK, CONTROL_LOSS_RATE)
        .drop_rate(Direction::Receive, HDR_TYPE_SM, CONTROL_LOSS_RATE);
    let java_loss = [
        "-Daeron.ReceiveChannelEndpoint.supplier=io.aeron.driver.ext.DebugReceiveChannelEndpointSupplier"
            .to_string(),
        format!("-Daeron.debug.receive.data.loss.rate={LOSS_RATE}"),
        "-Daeron.debug.receive.data.loss.seed=11".into(),
        "-Daeron.SendChannelEndpoint.supplier=io.aeron.driver.ext.DebugSendChannelEndpointSupplier".into(),
        format!("-Daeron.debug.send.control.loss.rate={CONTROL_LOSS_RATE}"),
        "-Daeron.debug.send.control.loss.seed=13".into(),
    ];
    let mut drivers = TwoDrivers::launch(&peer, &java_loss, Some(policy.clone()));
    let udp = || {
        Stream::unicast(
            &format!(
                "Java driver <-> Oxeron driver, UDP unicast, {LOSS_RATE} of data frames and \
                 {CONTROL_LOSS_RATE} of status messages and NAKs lost"
            ),
            &unicast(port()),
        )
    };

    java_to_oxeron(&mut drivers.java, &drivers.aeron, &udp());
    let dropped = policy.dropped();
    assert!(dropped > 0, "Oxeron's loss policy dropped nothing");
    assert!(
        drivers.java_driver.counter("Retransmits sent") > 0,
        "Java resent nothing after Oxeron dropped {dropped} frames"
    );

    let naks_before = drivers.java_driver.counter("NAKs sent");
    oxeron_to_java(&drivers.aeron, &mut drivers.java, &udp());
    let naks = drivers.java_driver.counter("NAKs sent") - naks_before;
    assert!(naks > 0, "Java's driver sent no NAKs under loss");

    java_to_oxeron(&mut drivers.java, &drivers.aeron, &udp().fragmented());
    oxeron_to_java(&drivers.aeron, &mut drivers.java, &udp().fragmented());
    drivers.close();
}
