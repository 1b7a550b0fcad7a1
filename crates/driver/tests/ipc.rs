//! A real embedded driver and client over IPC: each test has its own Aeron directory and bounded waits.

use std::time::{Duration, Instant};

use oxeron_client::{Aeron, Context as ClientContext, Header, OfferError};
use oxeron_driver::{Context, MediaDriver, ThreadingMode};

struct Fixture {
    _dir: tempfile::TempDir,
    driver: MediaDriver,
    aeron: Aeron,
}

fn fixture() -> Fixture {
    let dir = tempfile::Builder::new()
        .prefix("oxeron-test-")
        .tempdir_in(shm())
        .unwrap();
    let aeron_dir = dir.path().join("aeron");
    let driver = MediaDriver::launch(
        Context::new()
            .aeron_dir(&aeron_dir)
            .threading_mode(ThreadingMode::Shared)
            .ipc_term_buffer_length(64 * 1024)
            .dir_delete_on_shutdown(true),
    )
    .unwrap();
    let aeron = Aeron::connect(ClientContext::new().aeron_dir(&aeron_dir)).unwrap();
    Fixture {
        _dir: dir,
        driver,
        aeron,
    }
}

fn shm() -> &'static str {
    if std::path::Path::new("/dev/shm").is_dir() {
        "/dev/shm"
    } else {
        "/tmp"
    }
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn publish_and_subscribe_over_ipc() {
    let f = fixture();
    let publication = f.aeron.add_publication("aeron:ipc", 1001).unwrap();
    let mut subscription = f.aeron.add_subscription("aeron:ipc", 1001).unwrap();
    wait_until("the image", || subscription.is_connected());
    wait_until("the publication to connect", || publication.is_connected());
    for i in 0..100u32 {
        loop {
            match publication.offer(&i.to_le_bytes()) {
                Ok(_) => break,
                Err(OfferError::BackPressured | OfferError::AdminAction) => {
                    std::thread::yield_now()
                }
                Err(e) => panic!("offer {i}: {e}"),
            }
        }
    }
    let mut received = Vec::new();
    wait_until("100 messages", || {
        subscription.poll(
            |m: &[u8], _: &Header| received.push(u32::from_le_bytes(m.try_into().unwrap())),
            10,
        );
        received.len() == 100
    });
    assert_eq!(received, (0..100).collect::<Vec<_>>());
    drop(f.driver);
}
