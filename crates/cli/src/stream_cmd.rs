//! `oxeron publish` and `oxeron subscribe`: a verifiable stream (message n carries n) sent and checked.

use std::time::{Duration, Instant};

use oxeron::client::{Aeron, FragmentAssembler, Header, OfferError};

use crate::args::{duration, message_length, AeronDirArg};
use oxeron_cli::sample;

/// Flags of `oxeron publish`.
#[derive(clap::Args, Debug)]
pub struct PublishArgs {
    #[command(flatten)]
    pub dir: AeronDirArg,
    /// Channel URI.
    #[arg(long, default_value = "aeron:ipc")]
    pub channel: String,
    /// Stream id.
    #[arg(long, default_value_t = 1001)]
    pub stream: i32,
    /// Number of messages.
    #[arg(long, default_value_t = 1_000_000)]
    pub count: u64,
    /// Message length in bytes (at most 16 MiB, Aeron's largest message).
    #[arg(long, default_value_t = 32, value_parser = message_length)]
    pub message_length: usize,
    /// Use an exclusive publication.
    #[arg(long)]
    pub exclusive: bool,
    /// How long to wait for a subscriber before publishing, e.g. `30s` (up to a day).
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = duration)]
    pub connect_timeout: Duration,
}

/// Flags of `oxeron subscribe`.
#[derive(clap::Args, Debug)]
pub struct SubscribeArgs {
    #[command(flatten)]
    pub dir: AeronDirArg,
    /// Channel URI.
    #[arg(long, default_value = "aeron:ipc")]
    pub channel: String,
    /// Stream id.
    #[arg(long, default_value_t = 1001)]
    pub stream: i32,
    /// Number of messages to expect.
    #[arg(long, default_value_t = 1_000_000)]
    pub count: u64,
    /// Expected message length in bytes (at most 16 MiB).
    #[arg(long, default_value_t = 32, value_parser = message_length)]
    pub message_length: usize,
    /// Give up after this long without all the messages, e.g. `120s` (up to a day).
    #[arg(long, default_value = "120s", value_name = "DURATION", value_parser = duration)]
    pub timeout: Duration,
}

/// Offers one message to whichever kind of publication was created.
type OfferFn = dyn FnMut(&[u8]) -> Result<i64, OfferError>;

fn await_connected(is_connected: impl Fn() -> bool, deadline: Instant) -> Result<(), String> {
    while !is_connected() {
        if Instant::now() > deadline {
            return Err("no subscriber connected".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Publishes the messages once a subscriber is connected.
pub fn run_publish(args: PublishArgs) -> Result<(), String> {
    let aeron = Aeron::connect(args.dir.client_context()?).map_err(|e| e.to_string())?;
    let (channel, stream) = (args.channel.as_str(), args.stream);
    let mut buffer = vec![0u8; args.message_length];
    let start = Instant::now();
    let deadline = Instant::now() + args.connect_timeout;
    let mut offer: Box<OfferFn> = if args.exclusive {
        let mut publication = aeron
            .add_exclusive_publication(channel, stream)
            .map_err(|e| e.to_string())?;
        await_connected(|| publication.is_connected(), deadline)?;
        Box::new(move |m| publication.offer(m))
    } else {
        let publication = aeron
            .add_publication(channel, stream)
            .map_err(|e| e.to_string())?;
        await_connected(|| publication.is_connected(), deadline)?;
        Box::new(move |m| publication.offer(m))
    };
    for sequence in 0..args.count {
        sample::fill(&mut buffer, sequence);
        loop {
            match offer(&buffer) {
                Ok(_) => break,
                Err(OfferError::BackPressured | OfferError::AdminAction) => {
                    std::thread::yield_now()
                }
                Err(e) => return Err(format!("offer {sequence}: {e}")),
            }
        }
    }
    let elapsed = start.elapsed();
    println!(
        "published {} messages of {} bytes in {:.3} s ({:.0} msg/s)",
        args.count,
        args.message_length,
        elapsed.as_secs_f64(),
        args.count as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// Receives and checks the messages: exit code 1 on a bad message, 2 on a timeout or a setup failure.
pub fn run_subscribe(args: SubscribeArgs) -> Result<(), (u8, String)> {
    let aeron = Aeron::connect(args.dir.client_context().map_err(|e| (2, e))?)
        .map_err(|e| (2, e.to_string()))?;
    let mut subscription = aeron
        .add_subscription(&args.channel, args.stream)
        .map_err(|e| (2, e.to_string()))?;
    println!("subscribed to {} stream {}", args.channel, args.stream);
    let (count, length) = (args.count, args.message_length);
    let deadline = Instant::now() + args.timeout;
    let next = std::cell::Cell::new(0u64);
    let failure = std::cell::RefCell::new(None::<String>);
    let mut assembler = FragmentAssembler::new(|message: &[u8], _: &Header| {
        let expected = next.get();
        if failure.borrow().is_none() {
            if let Err(e) = sample::check(message, expected, length) {
                *failure.borrow_mut() = Some(e);
            }
        }
        next.set(expected + 1);
    });
    let mut start = None;
    while next.get() < count {
        let fragments = subscription.poll(assembler.handler(), 256);
        if fragments == 0 {
            if Instant::now() > deadline {
                return Err((
                    2,
                    format!("timed out with {} of {count} messages", next.get()),
                ));
            }
            std::thread::yield_now();
        } else if start.is_none() {
            start = Some(Instant::now());
        }
    }
    drop(assembler);
    if let Some(e) = failure.into_inner() {
        return Err((1, e));
    }
    let elapsed = start.map_or(Duration::ZERO, |s| s.elapsed());
    println!(
        "received and checked {count} messages in {:.3} s ({:.0} msg/s)",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    Ok(())
}
