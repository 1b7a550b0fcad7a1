//! An async (tokio) service fed from Aeron's data path.
//!
//! Polling a subscription is a synchronous duty cycle, so it runs on a thread of its own: a small adapter,
//! `SubscriptionStream`, owns the subscription on a `std::thread`, polls it with a backoff idle strategy, and
//! hands each message, copied into an owned `Message`, to async code through a bounded
//! `tokio::sync::mpsc` channel. When the channel is full the poller waits, which leaves the messages in the
//! log buffer and so back pressures the publisher. The poller stops when told to or when the receiving side
//! goes away, and dropping the adapter joins its thread.
//!
//! Here a current-thread tokio runtime publishes 10,000 messages over IPC and, concurrently, receives and
//! checks them through the adapter.
//!
//! Run it with `cargo run -p oxeron --example async_service`.

use std::error::Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use oxeron::concurrent::idle::{BackoffIdleStrategy, IdleStrategy};
use oxeron::prelude::*;
use tokio::sync::mpsc;

const STREAM: i32 = 1001;
const MESSAGES: u64 = 10_000;
const TIMEOUT: Duration = Duration::from_secs(10);

/// A message taken off the data path, owned so that it can move into async code.
#[derive(Debug)]
struct Message {
    session_id: i32,
    /// Stream position just after the message.
    position: i64,
    payload: Vec<u8>,
}

/// Polls a subscription on a thread of its own and passes what it receives to async code.
struct SubscriptionStream {
    messages: mpsc::Receiver<Message>,
    stop: Arc<AtomicBool>,
    poller: Option<JoinHandle<()>>,
}

impl SubscriptionStream {
    /// Starts polling `subscription`; at most `capacity` messages wait in the channel.
    fn spawn(subscription: Subscription, capacity: usize) -> std::io::Result<Self> {
        let (sender, messages) = mpsc::channel(capacity);
        let stop = Arc::new(AtomicBool::new(false));
        let poller = std::thread::Builder::new()
            .name(format!("poll-{}", subscription.stream_id()))
            .spawn({
                let stop = Arc::clone(&stop);
                move || poll_until_stopped(subscription, sender, &stop)
            })?;
        Ok(Self {
            messages,
            stop,
            poller: Some(poller),
        })
    }

    /// The next message; `None` once the poller has stopped and the channel is empty.
    async fn recv(&mut self) -> Option<Message> {
        self.messages.recv().await
    }
}

impl Drop for SubscriptionStream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Closing the channel also wakes a poller waiting for room in it.
        self.messages.close();
        if let Some(poller) = self.poller.take() {
            let _ = poller.join();
        }
    }
}

/// The poller thread's duty cycle.
fn poll_until_stopped(
    mut subscription: Subscription,
    sender: mpsc::Sender<Message>,
    stop: &AtomicBool,
) {
    let mut idle = BackoffIdleStrategy::default();
    let mut open = true;
    while open && !stop.load(Ordering::Acquire) {
        let fragments = subscription.poll(
            |payload: &[u8], header: &Header| {
                let message = Message {
                    session_id: header.session_id(),
                    position: header.position(),
                    payload: payload.to_vec(),
                };
                // Waits while the channel is full; fails once the receiving side is closed or dropped.
                open = open && sender.blocking_send(message).is_ok();
            },
            16,
        );
        idle.idle_work(fragments);
    }
}

/// Message `n`: its number, then some text.
fn message(n: u64) -> Vec<u8> {
    let mut bytes = n.to_le_bytes().to_vec();
    bytes.extend_from_slice(format!(" event {n}").as_bytes());
    bytes
}

async fn publish(publication: &Publication, count: u64) -> Result<(), Box<dyn Error>> {
    for n in 0..count {
        let deadline = Instant::now() + TIMEOUT;
        let payload = message(n);
        while let Err(e) = publication.offer(&payload) {
            if Instant::now() > deadline {
                return Err(format!("message {n} was never accepted: {e}").into());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if n % 100 == 0 {
            // Let the receiving side run too (the runtime has one thread).
            tokio::task::yield_now().await;
        }
    }
    Ok(())
}

/// Receives `count` messages from `session_id` and checks each; returns the final position.
async fn receive(
    stream: &mut SubscriptionStream,
    session_id: i32,
    count: u64,
) -> Result<i64, Box<dyn Error>> {
    let mut position = 0;
    for n in 0..count {
        let received = tokio::time::timeout(TIMEOUT, stream.recv())
            .await
            .map_err(|_| format!("no message {n} within {TIMEOUT:?}"))?
            .ok_or("the poller stopped")?;
        if received.payload != message(n)
            || received.session_id != session_id
            || received.position <= position
        {
            return Err(format!("message {n} is wrong: {received:?}").into());
        }
        position = received.position;
    }
    Ok(position)
}

fn main() -> Result<(), Box<dyn Error>> {
    let driver = MediaDriver::launch_embedded()?;
    let aeron = Aeron::connect(AeronContext::new().aeron_dir(driver.aeron_dir()))?;
    let mut stream = SubscriptionStream::spawn(aeron.add_subscription("aeron:ipc", STREAM)?, 256)?;
    let publication = aeron.add_publication("aeron:ipc", STREAM)?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let ((), position) = runtime.block_on(async {
        tokio::try_join!(
            publish(&publication, MESSAGES),
            receive(&mut stream, publication.session_id(), MESSAGES),
        )
    })?;
    if position != publication.position() {
        return Err(format!(
            "received up to position {position}, published {}",
            publication.position()
        )
        .into());
    }

    // Stops the poller and joins its thread.
    drop(stream);
    println!("async service: received and checked {MESSAGES} messages ({position} bytes)");
    Ok(())
}

#[cfg(test)]
#[test]
fn runs() {
    main().unwrap();
}
