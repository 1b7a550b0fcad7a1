//! Client calls Aeron users reach for, through a real embedded driver: polls bounded by a position, and the
//! driver found and asked to terminate through its CnC file alone. Each test has its own Aeron directory and
//! every wait a deadline.

use std::time::Duration;

use oxeron_client::{Aeron, Context as ClientContext, ControlledPollAction, Header, Publication};
use oxeron_driver::{Context, MediaDriver, ThreadingMode};
use oxeron_testkit::{temp_aeron_dir, wait_until};

const STREAM: i32 = 1101;

fn driver(aeron_dir: &std::path::Path, allow_termination: bool) -> MediaDriver {
    MediaDriver::launch(
        Context::new()
            .aeron_dir(aeron_dir)
            .threading_mode(ThreadingMode::Shared)
            .ipc_term_buffer_length(64 * 1024)
            .allow_termination(allow_termination)
            .dir_delete_on_shutdown(true),
    )
    .unwrap()
}

fn offer(publication: &Publication, message: &[u8]) -> i64 {
    let mut position = 0;
    wait_until(
        "the offer to be taken",
        Duration::from_secs(10),
        || match publication.offer(message) {
            Ok(p) => {
                position = p;
                true
            }
            Err(_) => false,
        },
    );
    position
}

#[test]
fn bounded_polls_stop_before_the_limit_position_and_deliver_whole_fragments() {
    let dir = temp_aeron_dir();
    let aeron_dir = dir.path().join("aeron");
    let _driver = driver(&aeron_dir, false);
    let aeron = Aeron::connect(ClientContext::new().aeron_dir(&aeron_dir)).unwrap();
    let mut subscription = aeron.add_subscription("aeron:ipc", STREAM).unwrap();
    let publication = aeron.add_publication("aeron:ipc", STREAM).unwrap();
    wait_until("the image", Duration::from_secs(10), || {
        subscription.is_connected()
    });
    // Ten messages of 96 bytes: frames of 128 bytes, the fourth ending at 512.
    let positions: Vec<i64> = (0..10u8).map(|i| offer(&publication, &[i; 96])).collect();
    assert_eq!(positions[3], 512);
    let image = subscription.images()[0].clone();

    let mut seen = Vec::new();
    let delivered = image.bounded_poll(|payload, _| seen.push(payload[0]), 512, 100);
    assert_eq!((delivered, seen.clone()), (4, vec![0, 1, 2, 3]));
    assert_eq!(image.position(), 512);
    assert_eq!(image.bounded_poll(|_, _| {}, 512, 100), 0, "at the limit");

    // A limit inside a frame: the frame that starts before it comes whole.
    let delivered = image.bounded_poll(|payload, _| seen.push(payload[0]), 513, 100);
    assert_eq!(delivered, 1);
    assert_eq!(image.position(), 640);

    // Controlled: Abort leaves the fragment for the next poll, Break stops after it, and the limit holds.
    let mut calls = 0;
    let delivered = image.bounded_controlled_poll(
        |payload, _| {
            calls += 1;
            if calls == 1 {
                ControlledPollAction::Abort
            } else {
                seen.push(payload[0]);
                ControlledPollAction::Continue
            }
        },
        positions[6],
        100,
    );
    assert_eq!(delivered, 0);
    assert_eq!(image.position(), 640);
    let delivered = image.bounded_controlled_poll(
        |payload, _| {
            seen.push(payload[0]);
            ControlledPollAction::Continue
        },
        positions[6],
        100,
    );
    assert_eq!(delivered, 2);
    assert_eq!(image.position(), positions[6]);
    let delivered = image.bounded_controlled_poll(
        |payload, _| {
            seen.push(payload[0]);
            ControlledPollAction::Break
        },
        i64::MAX,
        100,
    );
    assert_eq!(delivered, 1);
    assert_eq!(seen, (0..8).collect::<Vec<u8>>());
    assert_eq!(subscription.poll(|_: &[u8], _: &Header| {}, 100), 2);
}

#[test]
fn a_driver_is_seen_active_and_terminates_on_request_when_it_allows() {
    let dir = temp_aeron_dir();
    let aeron_dir = dir.path().join("aeron");
    let ctx = ClientContext::new().aeron_dir(&aeron_dir);
    assert!(!ctx.is_driver_active(), "no driver yet");
    assert!(
        !ctx.request_driver_termination(b"").unwrap(),
        "nobody to ask"
    );

    let refusing = driver(&aeron_dir, false);
    assert!(ctx.is_driver_active());
    assert!(ctx.request_driver_termination(b"please").unwrap());
    // The validator refuses: the driver goes on answering.
    let aeron = Aeron::connect(ctx.clone()).unwrap();
    aeron.add_subscription("aeron:ipc", STREAM).unwrap();
    assert!(!refusing.is_terminated());
    aeron.close();
    refusing.close();
    wait_until("the closed driver to go", Duration::from_secs(10), || {
        !ctx.is_driver_active()
    });

    let allowing = driver(&aeron_dir, true);
    assert!(ctx.is_driver_active());
    assert!(ctx.request_driver_termination(b"please").unwrap());
    wait_until("the driver to terminate", Duration::from_secs(10), || {
        allowing.is_terminated()
    });
}
