//! The `oxeron` command: a media driver and tools to publish, subscribe and read counters.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use oxeron::client::{Aeron, Context as ClientContext, FragmentAssembler, Header, OfferError};
use oxeron::concurrent::idle::IdleStrategyKind;
use oxeron::driver::{Context as DriverContext, MediaDriver, ThreadingMode};
use oxeron::protocol::uri::{parse_duration, parse_size};
use oxeron_cli::sample;

mod archive_cmd;

#[derive(Parser)]
#[command(
    name = "oxeron",
    version,
    about = "The Aeron messaging stack in pure Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a standalone media driver until SIGINT or SIGTERM (like Aeron's `aeronmd`). Reads Aeron's
    /// `AERON_*` environment variables; the flags below override them.
    Driver {
        /// Aeron directory (`AERON_DIR`).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// DEDICATED, SHARED_NETWORK, SHARED or INVOKER (`AERON_THREADING_MODE`; default here SHARED).
        #[arg(long)]
        threading_mode: Option<String>,
        /// Idle strategy of the driver's threads: spin, yield, backoff, sleep-ns, noop.
        #[arg(long)]
        idle_strategy: Option<String>,
        /// Term length of IPC publications, e.g. `64m` (`AERON_IPC_TERM_BUFFER_LENGTH`).
        #[arg(long)]
        ipc_term_length: Option<String>,
        /// Client liveness timeout, e.g. `10s` (`AERON_CLIENT_LIVENESS_TIMEOUT`).
        #[arg(long)]
        client_liveness_timeout: Option<String>,
        /// Delete the directory first, even if a driver seems alive there (`AERON_DIR_DELETE_ON_START`).
        #[arg(long)]
        delete_dir: bool,
    },
    /// Publishes `count` verifiable messages (message n carries n) and exits.
    Publish {
        /// Aeron directory of the driver.
        #[arg(long, env = "AERON_DIR")]
        dir: Option<PathBuf>,
        /// Channel URI.
        #[arg(long, default_value = "aeron:ipc")]
        channel: String,
        /// Stream id.
        #[arg(long, default_value_t = 1001)]
        stream: i32,
        /// Number of messages.
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        /// Message length in bytes (at most 16 MiB, Aeron's largest message).
        #[arg(long, default_value_t = 32, value_parser = message_length)]
        length: usize,
        /// Use an exclusive publication.
        #[arg(long)]
        exclusive: bool,
        /// Wait for a subscriber before publishing, at most this many seconds (up to a day).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=MAX_WAIT_S))]
        connect_timeout_s: u64,
    },
    /// Receives and checks `count` messages from `publish`, then exits (1 on a bad message, 2 on timeout).
    Subscribe {
        /// Aeron directory of the driver.
        #[arg(long, env = "AERON_DIR")]
        dir: Option<PathBuf>,
        /// Channel URI.
        #[arg(long, default_value = "aeron:ipc")]
        channel: String,
        /// Stream id.
        #[arg(long, default_value_t = 1001)]
        stream: i32,
        /// Number of messages to expect.
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        /// Expected message length in bytes (at most 16 MiB).
        #[arg(long, default_value_t = 32, value_parser = message_length)]
        length: usize,
        /// Give up after this many seconds (up to a day).
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(0..=MAX_WAIT_S))]
        timeout_s: u64,
    },
    /// Runs the record-and-replay story on an embedded driver and archive in temporary directories:
    /// start recording aeron:ipc stream 1001, publish verifiable messages, stop recording, find the
    /// recording, replay it on stream 2001 and check every message and its position. Exits 0 only if every
    /// replayed message matched.
    Demo {
        /// Number of messages.
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        /// Message length in bytes (8 to 16 MiB).
        #[arg(long, default_value_t = 256, value_parser = checked_message_length)]
        length: usize,
    },
    /// Runs an archiving media driver (an embedded media driver and an archive, like Aeron's
    /// `ArchivingMediaDriver`) or, with `--standalone`, an archive against a running driver, until SIGINT or
    /// SIGTERM. Reads Aeron's `AERON_*` and `AERON_ARCHIVE_*` environment variables; the flags override them.
    Archive(archive_cmd::ArchiveArgs),
    /// Starts recording a channel and stream on a running archive, prints the recording id when the
    /// recording starts, and stops it after `--duration`, on SIGINT/SIGTERM or once `--publish` is done.
    Record(archive_cmd::RecordArgs),
    /// Replays a recording from a running archive and writes its messages to stdout.
    Replay(archive_cmd::ReplayArgs),
    /// Measures throughput and latency on an embedded driver (and archive): `ipc` and `udp` run
    /// publisher-to-subscriber throughput (exclusive and concurrent publications) and a ping-pong round-trip
    /// histogram (UDP over loopback, sender and receiver in the same driver); `archive`
    /// records and replays beside the raw speed of the disk under `--dir`.
    Bench {
        /// What to measure: ipc, udp (loopback through one driver) or archive.
        #[arg(value_parser = ["ipc", "udp", "archive"])]
        kind: String,
        /// Messages per throughput run.
        #[arg(long, default_value_t = 5_000_000, value_parser = clap::value_parser!(u64).range(1..))]
        count: u64,
        /// Message length in bytes (8 to 16 MiB).
        #[arg(long, default_value_t = 32, value_parser = checked_message_length)]
        length: usize,
        /// Round trips measured after 10,000 warm-up ones.
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
        round_trips: u64,
        /// MiB recorded and replayed (archive; up to 1 TiB).
        #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1024 * 1024))]
        megabytes: u64,
        /// Rounds of raw write, record, raw read and replay; medians reported (archive; 1 to 100).
        #[arg(long, default_value_t = 3, value_parser = rounds)]
        rounds: usize,
        /// Directory on the disk to measure (archive; default: the working directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Reads an archive directory without changing it (like Aeron's `ArchiveTool`).
    Catalog {
        #[command(subcommand)]
        command: archive_cmd::CatalogCommand,
    },
    /// Prints the driver's counters (like Aeron's `AeronStat`), once.
    Stat {
        /// Aeron directory of the driver, or a `cnc.dat` file.
        #[arg(long, env = "AERON_DIR")]
        dir: Option<PathBuf>,
        /// Output: table (like AeronStat), json or prometheus.
        #[arg(long, default_value = "table")]
        format: String,
        /// Only counters of this type id.
        #[arg(long)]
        type_id: Option<i32>,
        /// Only counters whose label contains this text.
        #[arg(long)]
        label: Option<String>,
    },
    /// Prints the driver's distinct error log (like Aeron's `ErrorStat`).
    Errors {
        /// Aeron directory of the driver, or a `cnc.dat` file.
        #[arg(long, env = "AERON_DIR")]
        dir: Option<PathBuf>,
    },
    /// Prints the driver's loss report (like Aeron's `LossStat`): one CSV line per image that lost data.
    Loss {
        /// Aeron directory of the driver, or a `loss-report.dat` file.
        #[arg(long, env = "AERON_DIR")]
        dir: Option<PathBuf>,
    },
}

/// Longest wait a `..._s` flag takes: a day.
const MAX_WAIT_S: u64 = 24 * 60 * 60;
/// Aeron's largest message (`FrameDescriptor.MAX_MESSAGE_LENGTH`).
const MAX_MESSAGE_LENGTH: usize = 16 * 1024 * 1024;

fn length_in(value: &str, min: usize) -> Result<usize, String> {
    let length: usize = value
        .parse()
        .map_err(|e| format!("{e}: expected a number of bytes"))?;
    if (min..=MAX_MESSAGE_LENGTH).contains(&length) {
        Ok(length)
    } else {
        Err(format!("{length} is not in {min}..={MAX_MESSAGE_LENGTH}"))
    }
}

/// A message length clap checks: at most Aeron's largest message.
fn message_length(value: &str) -> Result<usize, String> {
    length_in(value, 0)
}

/// A message length that also carries the 8-byte sequence number of verifiable messages.
fn checked_message_length(value: &str) -> Result<usize, String> {
    length_in(value, 8)
}

/// The driver context's own check, naming `--ipc-term-length` when that flag set the bad value.
fn validate_driver_settings(
    ctx: &DriverContext,
    ipc_term_length: Option<&str>,
) -> Result<(), String> {
    ctx.validate()
        .map_err(|e| match (e.setting, ipc_term_length) {
            ("AERON_IPC_TERM_BUFFER_LENGTH", Some(flag)) => {
                format!("--ipc-term-length {flag}: {}", e.problem)
            }
            _ => format!("invalid driver setting {e}"),
        })
}

fn rounds(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n @ 1..=100) => Ok(n),
        Ok(n) => Err(format!("{n} is not in 1..=100")),
        Err(e) => Err(e.to_string()),
    }
}

fn client_context(dir: Option<PathBuf>) -> Result<ClientContext, String> {
    let ctx = ClientContext::from_env().map_err(|e| e.to_string())?;
    Ok(match dir {
        Some(dir) => ctx.aeron_dir(dir),
        None => ctx,
    })
}

fn run_driver(
    dir: Option<PathBuf>,
    threading_mode: Option<String>,
    idle_strategy: Option<String>,
    ipc_term_length: Option<String>,
    client_liveness_timeout: Option<String>,
    delete_dir: bool,
) -> Result<(), String> {
    let threading_from_env = std::env::var_os("AERON_THREADING_MODE").is_some();
    let mut ctx = DriverContext::from_env().map_err(|e| e.to_string())?;
    if !threading_from_env {
        ctx = ctx.threading_mode(ThreadingMode::Shared);
    }
    if let Some(dir) = dir {
        ctx = ctx.aeron_dir(dir);
    }
    if let Some(mode) = threading_mode {
        ctx = ctx.threading_mode(mode.parse().map_err(|e| format!("--threading-mode: {e}"))?);
    }
    if let Some(idle) = idle_strategy {
        let idle: IdleStrategyKind = idle.parse().map_err(|e| format!("--idle-strategy: {e}"))?;
        ctx = ctx
            .shared_idle_strategy(idle)
            .conductor_idle_strategy(idle)
            .sender_idle_strategy(idle)
            .receiver_idle_strategy(idle)
            .shared_network_idle_strategy(idle);
    }
    if let Some(length) = &ipc_term_length {
        let length = parse_size(length).map_err(|e| format!("--ipc-term-length {length}: {e}"))?;
        ctx = ctx.ipc_term_buffer_length(
            i32::try_from(length).map_err(|_| "--ipc-term-length too large")?,
        );
    }
    if let Some(timeout) = client_liveness_timeout {
        let timeout = parse_duration(&timeout)
            .map_err(|e| format!("--client-liveness-timeout {timeout}: {e}"))?;
        ctx = ctx.client_liveness_timeout(timeout);
    }
    if delete_dir {
        ctx = ctx.dir_delete_on_start(true);
    }
    validate_driver_settings(&ctx, ipc_term_length.as_deref())?;
    let mode = ctx.threading_mode;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(|e| e.to_string())?;
    }
    let mut driver = MediaDriver::launch(ctx).map_err(|e| e.to_string())?;
    println!("oxeron driver running in {}", driver.aeron_dir().display());
    while !stop.load(Ordering::Relaxed) && !driver.is_terminated() {
        if mode == ThreadingMode::Invoker {
            if driver.invoke() == 0 {
                std::thread::sleep(Duration::from_micros(100));
            }
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    driver.close();
    println!("oxeron driver stopped");
    Ok(())
}

/// Offers one message to whichever kind of publication was created.
type OfferFn = dyn FnMut(&[u8]) -> Result<i64, OfferError>;

#[allow(clippy::too_many_arguments)]
fn run_publish(
    dir: Option<PathBuf>,
    channel: &str,
    stream: i32,
    count: u64,
    length: usize,
    exclusive: bool,
    connect_timeout: Duration,
) -> Result<(), String> {
    let aeron = Aeron::connect(client_context(dir)?).map_err(|e| e.to_string())?;
    let mut buffer = vec![0u8; length];
    let start = Instant::now();
    let deadline = Instant::now() + connect_timeout;
    let mut offer: Box<OfferFn> = if exclusive {
        let mut publication = aeron
            .add_exclusive_publication(channel, stream)
            .map_err(|e| e.to_string())?;
        while !publication.is_connected() {
            if Instant::now() > deadline {
                return Err("no subscriber connected".into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Box::new(move |m| publication.offer(m))
    } else {
        let publication = aeron
            .add_publication(channel, stream)
            .map_err(|e| e.to_string())?;
        while !publication.is_connected() {
            if Instant::now() > deadline {
                return Err("no subscriber connected".into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Box::new(move |m| publication.offer(m))
    };
    for sequence in 0..count {
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
        "published {count} messages of {length} bytes in {:.3} s ({:.0} msg/s)",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

fn run_subscribe(
    dir: Option<PathBuf>,
    channel: &str,
    stream: i32,
    count: u64,
    length: usize,
    timeout: Duration,
) -> Result<(), (u8, String)> {
    let aeron =
        Aeron::connect(client_context(dir).map_err(|e| (2, e))?).map_err(|e| (2, e.to_string()))?;
    let mut subscription = aeron
        .add_subscription(channel, stream)
        .map_err(|e| (2, e.to_string()))?;
    println!("subscribed to {channel} stream {stream}");
    let deadline = Instant::now() + timeout;
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

fn cnc_path(dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(oxeron::client::default_aeron_dir)
}

fn run_stat(
    dir: Option<PathBuf>,
    format: &str,
    type_id: Option<i32>,
    label: Option<&str>,
) -> Result<(), String> {
    let cnc = oxeron_cli::tools::open_cnc(&cnc_path(dir)).map_err(|e| e.to_string())?;
    let rows = oxeron_cli::tools::counters(&cnc, type_id, label)?;
    let text = match format {
        "table" => format!(
            "CnC v0.2.0, pid {}, {} counters\n{}",
            cnc.header().pid,
            rows.len(),
            oxeron_cli::tools::format_table(&rows)
        ),
        "json" => oxeron_cli::tools::format_json(&rows),
        "prometheus" => oxeron_cli::tools::format_prometheus(&rows),
        other => {
            return Err(format!(
                "unknown --format {other:?} (table, json or prometheus)"
            ))
        }
    };
    print!("{text}");
    Ok(())
}

fn run_errors(dir: Option<PathBuf>) -> Result<(), String> {
    let cnc = oxeron_cli::tools::open_cnc(&cnc_path(dir)).map_err(|e| e.to_string())?;
    print!("{}", oxeron_cli::tools::format_errors(&cnc).1);
    Ok(())
}

fn run_loss(dir: Option<PathBuf>) -> Result<(), String> {
    let dir = dir.unwrap_or_else(oxeron::client::default_aeron_dir);
    let path = if dir.is_dir() {
        dir.join(oxeron::driver::loss_report::LOSS_REPORT_FILE)
    } else {
        dir
    };
    let entries = oxeron::driver::loss_report::read_loss_report(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    println!("#OBSERVATION_COUNT,TOTAL_BYTES_LOST,FIRST_OBSERVATION,LAST_OBSERVATION,SESSION_ID,STREAM_ID,CHANNEL,SOURCE");
    for e in entries {
        println!(
            "{},{},{},{},{},{},{},{}",
            e.observation_count,
            e.total_bytes_lost,
            e.first_observation_timestamp,
            e.last_observation_timestamp,
            e.session_id,
            e.stream_id,
            e.channel,
            e.source
        );
    }
    Ok(())
}

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` (default: warnings and errors).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Driver {
            dir,
            threading_mode,
            idle_strategy,
            ipc_term_length,
            client_liveness_timeout,
            delete_dir,
        } => run_driver(
            dir,
            threading_mode,
            idle_strategy,
            ipc_term_length,
            client_liveness_timeout,
            delete_dir,
        )
        .map_err(|e| (1, e)),
        Command::Publish {
            dir,
            channel,
            stream,
            count,
            length,
            exclusive,
            connect_timeout_s,
        } => run_publish(
            dir,
            &channel,
            stream,
            count,
            length,
            exclusive,
            Duration::from_secs(connect_timeout_s),
        )
        .map_err(|e| (1, e)),
        Command::Subscribe {
            dir,
            channel,
            stream,
            count,
            length,
            timeout_s,
        } => run_subscribe(
            dir,
            &channel,
            stream,
            count,
            length,
            Duration::from_secs(timeout_s),
        ),
        Command::Demo { count, length } => oxeron_cli::demo::run(count, length)
            .map(drop)
            .map_err(|e| (1, e)),
        Command::Stat {
            dir,
            format,
            type_id,
            label,
        } => run_stat(dir, &format, type_id, label.as_deref()).map_err(|e| (1, e)),
        Command::Errors { dir } => run_errors(dir).map_err(|e| (1, e)),
        Command::Loss { dir } => run_loss(dir).map_err(|e| (1, e)),
        Command::Archive(args) => archive_cmd::run_archive(args).map_err(|e| (1, e)),
        Command::Record(args) => archive_cmd::run_record(args).map_err(|e| (1, e)),
        Command::Replay(args) => archive_cmd::run_replay(args).map_err(|e| (1, e)),
        Command::Catalog { command } => archive_cmd::run_catalog(command).map_err(|e| (1, e)),
        Command::Bench {
            kind,
            count,
            length,
            round_trips,
            megabytes,
            rounds,
            dir,
        } => run_bench(&kind, count, length, round_trips, (megabytes, rounds), dir)
            .map_err(|e| (1, e)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("oxeron: {message}");
            ExitCode::from(code)
        }
    }
}

/// An interrupted bench (SIGINT, SIGTERM) removes its temporary directories before it exits with 128 plus
/// the signal, as the shell reports it.
fn remove_on_interrupt(dirs: Vec<PathBuf>) -> Result<(), String> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("bench-interrupt".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // The driver may still be creating files in them: removing fails while it does, so retry
                // for up to a second.
                for dir in &dirs {
                    for _ in 0..100 {
                        match std::fs::remove_dir_all(dir) {
                            Ok(()) => break,
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
                        }
                    }
                }
                std::process::exit(128 + signal);
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn run_bench(
    kind: &str,
    count: u64,
    length: usize,
    round_trips: u64,
    (megabytes, rounds): (u64, usize),
    dir: Option<PathBuf>,
) -> Result<(), String> {
    let shm = tempfile::Builder::new()
        .prefix("oxeron-bench-")
        .tempdir_in(if std::path::Path::new("/dev/shm").is_dir() {
            "/dev/shm"
        } else {
            "/tmp"
        })
        .map_err(|e| e.to_string())?;
    if kind == "archive" {
        let parent = dir.unwrap_or_else(|| PathBuf::from("."));
        let disk = tempfile::Builder::new()
            .prefix("oxeron-archive-bench-")
            .tempdir_in(&parent)
            .map_err(|e| format!("{}: {e}", parent.display()))?;
        remove_on_interrupt(vec![shm.path().to_path_buf(), disk.path().to_path_buf()])?;
        let figures =
            oxeron_cli::bench::archive_record_replay(shm.path(), disk.path(), megabytes, rounds)?;
        println!(
            "{}",
            oxeron_cli::bench::describe_archive_figures(&figures, megabytes)
        );
        return Ok(());
    }
    remove_on_interrupt(vec![shm.path().to_path_buf()])?;
    let udp = kind == "udp";
    let driver = MediaDriver::launch(
        DriverContext::new()
            .aeron_dir(shm.path().join("aeron"))
            .threading_mode(if udp {
                ThreadingMode::Dedicated
            } else {
                ThreadingMode::Shared
            })
            .dir_delete_on_shutdown(true),
    )
    .map_err(|e| e.to_string())?;
    let aeron = Aeron::connect(ClientContext::new().aeron_dir(driver.aeron_dir()))
        .map_err(|e| e.to_string())?;
    let channel = |stream: i32| -> Result<String, String> {
        if !udp {
            return Ok("aeron:ipc".to_string());
        }
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        Ok(format!(
            "aeron:udp?endpoint=127.0.0.1:{port}|alias=bench-{stream}"
        ))
    };
    let name = if udp { "UDP loopback" } else { "IPC" };
    println!("{name} throughput, {length} B messages, one publisher and one subscriber thread");
    for (stream, exclusive) in [(101, true), (102, false)] {
        let t = oxeron_cli::bench::throughput(
            &aeron,
            &channel(stream)?,
            stream,
            length,
            count,
            exclusive,
        )
        .map_err(|e| e.to_string())?;
        println!(
            "  {:<10} {:>8.2} M msg/s  {:>8.1} MB/s",
            if exclusive { "exclusive" } else { "concurrent" },
            t.messages_per_second() / 1e6,
            t.megabytes_per_second()
        );
    }
    let h = oxeron_cli::bench::ping_pong(
        &aeron,
        &channel(201)?,
        201,
        202,
        length,
        10_000,
        round_trips,
    )
    .map_err(|e| e.to_string())?;
    println!("{name} ping-pong round trip, {length} B, {round_trips} samples (us)");
    for q in [0.5, 0.9, 0.99, 0.999] {
        println!(
            "  p{:<6} {:>8.2}",
            q * 100.0,
            h.value_at_quantile(q) as f64 / 1000.0
        );
    }
    println!("  max     {:>8.2}", h.max() as f64 / 1000.0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use proptest::prelude::*;

    /// Every numeric flag of every subcommand, as (subcommand words, flag).
    const NUMERIC_FLAGS: &[(&[&str], &str)] = &[
        (&["publish"], "--length"),
        (&["publish"], "--count"),
        (&["publish"], "--stream"),
        (&["publish"], "--connect-timeout-s"),
        (&["subscribe"], "--length"),
        (&["subscribe"], "--timeout-s"),
        (&["subscribe"], "--count"),
        (&["demo"], "--length"),
        (&["demo"], "--count"),
        (&["bench", "ipc"], "--length"),
        (&["bench", "ipc"], "--count"),
        (&["bench", "ipc"], "--round-trips"),
        (&["bench", "archive"], "--megabytes"),
        (&["bench", "archive"], "--rounds"),
        (&["archive"], "--file-sync-level"),
        (&["archive"], "--catalog-file-sync-level"),
        (&["record"], "--length"),
        (&["record"], "--publish"),
        (&["replay", "--recording-id", "0"], "--position"),
        (&["replay", "--recording-id", "0"], "--length"),
    ];

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i128>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            Just("18446744073709551615".to_string()),
            Just("-1".to_string()),
            "[0-9a-zA-Z.+-]{0,24}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Parsing never panics; what parses is in the flag's range.
        #[test]
        fn numeric_flags_parse_or_are_refused_by_name(
            which in 0..NUMERIC_FLAGS.len(),
            value in value(),
        ) {
            let (words, flag) = NUMERIC_FLAGS[which];
            let mut argv = vec!["oxeron"];
            argv.extend_from_slice(words);
            let pair = format!("{flag}={value}");
            argv.push(&pair);
            match Cli::try_parse_from(&argv) {
                Err(e) => {
                    let text = e.to_string();
                    prop_assert!(text.contains(flag), "{argv:?}: {text}");
                }
                Ok(cli) => match cli.command {
                    Command::Publish { length, connect_timeout_s, .. } => {
                        prop_assert!(length <= MAX_MESSAGE_LENGTH);
                        prop_assert!(connect_timeout_s <= MAX_WAIT_S);
                    }
                    Command::Subscribe { length, timeout_s, .. } => {
                        prop_assert!(length <= MAX_MESSAGE_LENGTH);
                        prop_assert!(timeout_s <= MAX_WAIT_S);
                    }
                    Command::Demo { length, .. } => {
                        prop_assert!((8..=MAX_MESSAGE_LENGTH).contains(&length));
                    }
                    Command::Bench { length, rounds, count, .. } => {
                        prop_assert!((8..=MAX_MESSAGE_LENGTH).contains(&length));
                        prop_assert!((1..=100).contains(&rounds) && count >= 1);
                    }
                    _ => {}
                },
            }
        }

        /// Size and duration flags go through Aeron's parsers, which never panic.
        #[test]
        fn size_and_duration_parsers_never_panic(text in "[0-9]{0,25}[kKmMgGsSuUnN]{0,2}") {
            let _ = parse_size(&text);
            let _ = parse_duration(&text);
        }
    }
}
