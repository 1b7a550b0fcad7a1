//! Multi-destination cast between two media drivers: one publication, sent over UDP to two subscribers that
//! found it through its control address (dynamic control mode).
//!
//! Two drivers in this process stand for two hosts on 127.0.0.1. The publication on the first driver
//! listens on a control port; each subscription on the second driver names that control port and its own
//! endpoint, and the publication sends every message to both. The example checks that both subscribers
//! receive all 10,000 messages, in order.
//!
//! Run it with `cargo run -p oxeron --example mdc_two_drivers`.

use std::error::Error;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use oxeron::prelude::*;

const STREAM: i32 = 1001;
const MESSAGES: u64 = 10_000;
const TIMEOUT: Duration = Duration::from_secs(10);

/// A UDP port on 127.0.0.1 that is free now.
fn free_udp_port() -> std::io::Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Message `n`: its number and some padding.
fn message(n: u64) -> Vec<u8> {
    let mut bytes = n.to_le_bytes().to_vec();
    bytes.resize(200, b'.');
    bytes
}

/// Takes what `subscription` has, checking that message numbers follow on from `next`.
fn drain(subscription: &mut Subscription, next: &mut u64) -> Result<usize, Box<dyn Error>> {
    let mut out_of_order = None;
    let fragments = subscription.poll(
        |payload: &[u8], _header: &Header| {
            let n = u64::from_le_bytes(payload[..8].try_into().unwrap());
            if n != *next || payload != message(n) {
                out_of_order.get_or_insert(format!("expected message {next}, got {n}"));
            }
            *next += 1;
        },
        64,
    );
    match out_of_order {
        Some(problem) => Err(format!("{}: {problem}", subscription.channel()).into()),
        None => Ok(fragments),
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) -> Result<(), Box<dyn Error>> {
    let deadline = Instant::now() + TIMEOUT;
    while !done() {
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}").into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    // One thread per driver: enough for a demo, and kind to small machines.
    let shared = || {
        MediaDriverContext::new()
            .threading_mode(ThreadingMode::Shared)
            .term_buffer_length(1024 * 1024)
    };
    let sender = MediaDriver::launch_embedded_with(shared())?;
    let receiver = MediaDriver::launch_embedded_with(shared())?;
    let publisher = Aeron::connect(AeronContext::new().aeron_dir(sender.aeron_dir()))?;
    let subscriber = Aeron::connect(AeronContext::new().aeron_dir(receiver.aeron_dir()))?;

    // `fc=min`: the publication goes at the pace of the slower subscriber, so neither falls behind.
    let control = format!("127.0.0.1:{}", free_udp_port()?);
    let mut publication = publisher.add_exclusive_publication(
        &format!("aeron:udp?control={control}|control-mode=dynamic|fc=min"),
        STREAM,
    )?;
    let mut subscriptions = Vec::new();
    for _ in 0..2 {
        let channel = format!(
            "aeron:udp?endpoint=127.0.0.1:{}|control={control}",
            free_udp_port()?
        );
        subscriptions.push(subscriber.add_subscription(&channel, STREAM)?);
    }
    wait_until("both subscriptions to connect", || {
        subscriptions.iter_mut().all(|s| s.is_connected())
    })?;
    wait_until("the publication to connect", || publication.is_connected())?;

    let mut next = [0u64; 2];
    let mut published = 0u64;
    let mut deadline = Instant::now() + TIMEOUT;
    while next.iter().any(|&n| n < MESSAGES) {
        let mut work = 0;
        while published < MESSAGES && publication.offer(&message(published)).is_ok() {
            published += 1;
            work += 1;
        }
        for (subscription, next) in subscriptions.iter_mut().zip(&mut next) {
            work += drain(subscription, next)?;
        }
        if work > 0 {
            deadline = Instant::now() + TIMEOUT;
        } else if Instant::now() > deadline {
            return Err(format!("stalled: published {published}, received {next:?}").into());
        } else {
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    println!(
        "multi-destination cast: {MESSAGES} messages to 2 subscribers, {} bytes each",
        publication.position()
    );
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
