//! Whole-system benchmarks over a real driver: IPC throughput and ping-pong round-trip latency.
//!
//! The publisher and subscriber threads yield when they find nothing to do, like Aeron's samples with a
//! yielding idle strategy, so that on a small machine they leave room for the driver.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::client::{Aeron, AeronError, ExclusivePublication, Header, OfferError, Publication};

/// What a throughput run measured.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    /// Messages received.
    pub messages: u64,
    /// Message length in bytes.
    pub message_length: usize,
    /// From the first offer to the last message received.
    pub elapsed: Duration,
}

impl Throughput {
    /// Messages per second.
    pub fn messages_per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }

    /// Payload megabytes (10^6) per second.
    pub fn megabytes_per_second(&self) -> f64 {
        self.messages_per_second() * self.message_length as f64 / 1e6
    }
}

/// Either kind of publication, for benchmarks that run on both.
enum AnyPublication {
    Concurrent(Publication),
    Exclusive(ExclusivePublication),
}

impl AnyPublication {
    fn add(aeron: &Aeron, channel: &str, stream: i32, exclusive: bool) -> Result<Self, AeronError> {
        Ok(if exclusive {
            AnyPublication::Exclusive(aeron.add_exclusive_publication(channel, stream)?)
        } else {
            AnyPublication::Concurrent(aeron.add_publication(channel, stream)?)
        })
    }

    #[inline]
    fn offer(&mut self, message: &[u8]) -> Result<i64, OfferError> {
        match self {
            AnyPublication::Concurrent(p) => p.offer(message),
            AnyPublication::Exclusive(p) => p.offer(message),
        }
    }

    fn is_connected(&self) -> bool {
        match self {
            AnyPublication::Concurrent(p) => p.is_connected(),
            AnyPublication::Exclusive(p) => p.is_connected(),
        }
    }
}

fn wait_connected(what: &str, mut connected: impl FnMut() -> bool) -> Result<(), AeronError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !connected() {
        if Instant::now() > deadline {
            return Err(AeronError::TimedOut(format!("{what} did not connect")));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Streams `messages` messages of `message_length` bytes over `channel` from one publisher thread to one
/// subscriber thread and times it.
pub fn throughput(
    aeron: &Aeron,
    channel: &str,
    stream: i32,
    message_length: usize,
    messages: u64,
    exclusive: bool,
) -> Result<Throughput, AeronError> {
    let mut publication = AnyPublication::add(aeron, channel, stream, exclusive)?;
    let mut subscription = aeron.add_subscription(channel, stream)?;
    wait_connected("the subscription", || subscription.is_connected())?;
    wait_connected("the publication", || publication.is_connected())?;
    let consumer = std::thread::spawn(move || {
        let mut received = 0u64;
        let deadline = Instant::now() + Duration::from_secs(300);
        while received < messages {
            let n = subscription.poll(|_: &[u8], _: &Header| {}, 1024);
            if n == 0 {
                if Instant::now() > deadline {
                    break;
                }
                std::thread::yield_now();
            }
            received += n as u64;
        }
        (received, Instant::now())
    });
    let message = vec![0xA5u8; message_length];
    let start = Instant::now();
    for _ in 0..messages {
        loop {
            match publication.offer(&message) {
                Ok(_) => break,
                Err(OfferError::BackPressured | OfferError::AdminAction) => {
                    std::thread::yield_now()
                }
                Err(e) => return Err(AeronError::InvalidArgument(format!("offer failed: {e}"))),
            }
        }
    }
    let (received, end) = consumer.join().expect("consumer thread panicked");
    if received < messages {
        return Err(AeronError::TimedOut(format!(
            "received {received} of {messages}"
        )));
    }
    Ok(Throughput {
        messages,
        message_length,
        elapsed: end - start,
    })
}

/// Measures round trips: a ping on `ping_stream`, echoed back on `pong_stream` by a second thread.
/// Returns a histogram of round-trip times in nanoseconds over `iterations` (after `warmup`).
pub fn ping_pong(
    aeron: &Aeron,
    channel: &str,
    ping_stream: i32,
    pong_stream: i32,
    message_length: usize,
    warmup: u64,
    iterations: u64,
) -> Result<Histogram<u64>, AeronError> {
    let mut ping = aeron.add_exclusive_publication(channel, ping_stream)?;
    let mut pong_subscription = aeron.add_subscription(channel, pong_stream)?;
    let mut pong = aeron.add_exclusive_publication(channel, pong_stream)?;
    let mut ping_subscription = aeron.add_subscription(channel, ping_stream)?;
    wait_connected("ping", || {
        ping.is_connected() && ping_subscription.is_connected()
    })?;
    wait_connected("pong", || {
        pong.is_connected() && pong_subscription.is_connected()
    })?;
    let running = Arc::new(AtomicBool::new(true));
    let echo_running = Arc::clone(&running);
    let echo = std::thread::spawn(move || {
        while echo_running.load(Ordering::Relaxed) {
            let n = ping_subscription.poll(
                |m: &[u8], _: &Header| {
                    while let Err(OfferError::BackPressured | OfferError::AdminAction) =
                        pong.offer(m)
                    {
                        std::hint::spin_loop();
                    }
                },
                16,
            );
            if n == 0 {
                std::thread::yield_now();
            }
        }
    });
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3)
        .map_err(|e| AeronError::InvalidArgument(e.to_string()))?;
    let mut message = vec![0u8; message_length.max(8)];
    let deadline = Instant::now() + Duration::from_secs(120);
    for i in 0..warmup + iterations {
        message[..8].copy_from_slice(&i.to_le_bytes());
        let start = Instant::now();
        loop {
            match ping.offer(&message) {
                Ok(_) => break,
                Err(OfferError::BackPressured | OfferError::AdminAction) => std::hint::spin_loop(),
                Err(e) => return Err(AeronError::InvalidArgument(format!("ping failed: {e}"))),
            }
        }
        let mut answered = false;
        while !answered {
            let n = pong_subscription.poll(|_: &[u8], _: &Header| answered = true, 1);
            if n == 0 {
                if Instant::now() > deadline {
                    running.store(false, Ordering::Relaxed);
                    return Err(AeronError::TimedOut("no pong".into()));
                }
                std::thread::yield_now();
            }
        }
        if i >= warmup {
            let _ = histogram.record(start.elapsed().as_nanos() as u64);
        }
    }
    running.store(false, Ordering::Relaxed);
    let _ = echo.join();
    Ok(histogram)
}
