//! What the archive tests share: a driver, an archive and a client of it, each with its own directories,
//! and helpers to record, publish and receive with deadlines.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use oxeron_archive::client::{AeronArchive, Context as ArchiveClientContext, ReplayParams};
use oxeron_archive::server::{Archive, ArchiveThreadingMode, Context as ArchiveContext};
use oxeron_archive::{RecordingSignal, SourceLocation};
use oxeron_client::{
    Aeron, Context as ClientContext, FragmentAssembler, Header, Publication, Subscription,
};
use oxeron_driver::{Context as DriverContext, MediaDriver, ThreadingMode};
use oxeron_testkit::temp_aeron_dir;

pub const RECORDED_STREAM: i32 = 1001;
pub const REPLAY_STREAM: i32 = 2001;

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub aeron_dir: PathBuf,
    pub archive_dir: PathBuf,
    pub archive: Option<Archive>,
    pub aeron: Aeron,
    pub driver: Option<MediaDriver>,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with_archive_dir(|_| {})
    }

    /// A fixture whose archive directory is prepared by `prepare` before the archive starts.
    pub fn with_archive_dir(prepare: impl FnOnce(&std::path::Path)) -> Self {
        let dir = temp_aeron_dir();
        let aeron_dir = dir.path().join("aeron");
        let archive_dir = dir.path().join("archive");
        std::fs::create_dir_all(&archive_dir).unwrap();
        prepare(&archive_dir);
        let driver = MediaDriver::launch(
            DriverContext::new()
                .aeron_dir(&aeron_dir)
                .threading_mode(ThreadingMode::Shared)
                .ipc_term_buffer_length(64 * 1024)
                .dir_delete_on_shutdown(true),
        )
        .expect("driver");
        let aeron = Aeron::connect(ClientContext::new().aeron_dir(&aeron_dir)).expect("client");
        let mut fixture = Self {
            _dir: dir,
            aeron_dir,
            archive_dir,
            archive: None,
            aeron,
            driver: Some(driver),
        };
        fixture.start_archive();
        fixture
    }

    pub fn archive_context(&self) -> ArchiveContext {
        ArchiveContext::new()
            .aeron_dir(&self.aeron_dir)
            .archive_dir(&self.archive_dir)
            .control_channel_enabled(false)
            .segment_file_length(256 * 1024)
            .threading_mode(ArchiveThreadingMode::Dedicated)
    }

    pub fn start_archive(&mut self) {
        self.archive = Some(Archive::launch(self.archive_context()).expect("archive"));
    }

    pub fn restart_archive_with(
        &mut self,
        configure: impl FnOnce(ArchiveContext) -> ArchiveContext,
    ) {
        if let Some(archive) = self.archive.take() {
            archive.close();
        }
        self.archive = Some(Archive::launch(configure(self.archive_context())).expect("archive"));
    }

    pub fn client_context(&self) -> ArchiveClientContext {
        ArchiveClientContext::new()
            .aeron(self.aeron.clone())
            .control_request_channel("aeron:ipc")
            .control_response_channel("aeron:ipc")
            .message_timeout(Duration::from_secs(10))
    }

    pub fn client(&self) -> AeronArchive {
        AeronArchive::connect(self.client_context()).expect("archive client")
    }
}

impl Fixture {
    /// A second archive on the same driver (its own directory, control stream 11, IPC replication
    /// channel) and a client of it: the destination of replication tests.
    pub fn second_archive(&self) -> (Archive, AeronArchive) {
        let archive = Archive::launch(
            self.archive_context()
                .archive_dir(self.archive_dir.with_file_name("archive-2"))
                .local_control_stream_id(11)
                .replication_channel("aeron:ipc"),
        )
        .expect("second archive");
        let client = AeronArchive::connect(self.client_context().control_request_stream_id(11))
            .expect("client of the second archive");
        (archive, client)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.archive.take();
        self.driver.take();
    }
}

pub fn message(i: usize, length: usize) -> Vec<u8> {
    let mut m = vec![0u8; length];
    m[..8].copy_from_slice(&(i as u64).to_le_bytes());
    for (k, b) in m.iter_mut().enumerate().skip(8) {
        *b = (i + k) as u8;
    }
    m
}

pub fn connected_publication(aeron: &Aeron, channel: &str, stream: i32) -> Publication {
    let publication = aeron.add_publication(channel, stream).expect("publication");
    wait_for("the recording subscription to connect", || {
        publication.is_connected()
    });
    publication
}

pub fn publish(publication: &Publication, from: usize, count: usize, length: usize) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut position = 0;
    for i in from..from + count {
        let m = message(i, length);
        loop {
            match publication.offer(&m) {
                Ok(p) => {
                    position = p;
                    break;
                }
                Err(_) => {
                    assert!(
                        Instant::now() < deadline,
                        "publication stuck at message {i}"
                    );
                    std::thread::yield_now();
                }
            }
        }
    }
    position
}

/// Receives `count` messages (checking each against what was published) and returns their positions.
pub fn receive(
    subscription: &mut Subscription,
    from: usize,
    count: usize,
    length: usize,
) -> Vec<i64> {
    let positions = std::cell::RefCell::new(Vec::with_capacity(count));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut assembler = FragmentAssembler::new(|payload: &[u8], header: &Header| {
        let mut positions = positions.borrow_mut();
        let i = from + positions.len();
        assert_eq!(
            payload,
            &message(i, length)[..],
            "replayed message {i} differs"
        );
        positions.push(header.position());
    });
    while positions.borrow().len() < count {
        if subscription.poll(assembler.handler(), 64) == 0 {
            assert!(
                Instant::now() < deadline,
                "replay stalled after {} of {count} messages",
                positions.borrow().len()
            );
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    drop(assembler);
    positions.into_inner()
}

/// Replays a whole recording on IPC and receives `count` messages from message `from`, checking each;
/// returns their positions.
pub fn replay_all(
    archive: &mut AeronArchive,
    recording_id: i64,
    from: usize,
    count: usize,
    length: usize,
) -> Vec<i64> {
    let (_, mut replay) = archive
        .replay(
            recording_id,
            "aeron:ipc",
            REPLAY_STREAM,
            ReplayParams::default(),
        )
        .expect("replay");
    receive(&mut replay, from, count, length)
}

/// Replays `length` bytes of a recording from `position` on IPC (the replay stream); the subscription.
pub fn replay_ipc(
    archive: &mut AeronArchive,
    recording_id: i64,
    position: i64,
    length: i64,
) -> Subscription {
    let (_, subscription) = archive
        .replay(
            recording_id,
            "aeron:ipc",
            REPLAY_STREAM,
            ReplayParams::new(position, length),
        )
        .expect("replay");
    subscription
}

pub fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Records `count` messages on `channel`/`stream` and stops; returns (recording id, stop position).
pub fn record(
    archive: &mut AeronArchive,
    aeron: &Aeron,
    channel: &str,
    stream: i32,
    count: usize,
    length: usize,
) -> (i64, i64) {
    let subscription_id = archive
        .start_recording(channel, stream, SourceLocation::Local, false)
        .expect("start recording");
    let publication = connected_publication(aeron, channel, stream);
    let recording_id = archive
        .await_recording_signal(None, RecordingSignal::Start)
        .expect("start signal")
        .recording_id;
    let position = publish(&publication, 0, count, length);
    wait_for("the recording to catch up", || {
        let recorded = archive.get_recording_position(recording_id).unwrap();
        recorded >= position
    });
    archive
        .stop_recording_subscription(subscription_id)
        .expect("stop recording");
    let stop = archive
        .await_recording_signal(Some(recording_id), RecordingSignal::Stop)
        .expect("stop signal");
    assert_eq!(stop.position, position);
    (recording_id, position)
}

pub fn wait_for_end(subscription: &mut Subscription) {
    wait_for("the replay to end", || {
        let images = subscription.images();
        !images.is_empty() && images.iter().all(|i| i.is_end_of_stream() || i.is_closed())
    });
}
