//! The `oxeron` command: a media driver, an archiving media driver, and the tools Aeron users reach for
//! (AeronStat, StreamStat, BacklogStat, ErrorStat, LossStat, ArchiveTool's readers, benchmarks).
//!
//! One vocabulary across subcommands: `--aeron-dir` (or `AERON_DIR`) names the driver's directory,
//! `--archive-dir` the archive's, durations carry a unit (`10s`, `500ms`), `--message-length` is the size of
//! one message and `--bytes` an amount of a stream.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod archive_cmd;
mod args;
mod bench_cmd;
mod catalog_cmd;
mod driver_cmd;
mod progress;
mod stat_cmd;
mod stream_cmd;

#[derive(Parser)]
#[command(
    name = "oxeron",
    version,
    about = "The Aeron messaging stack in pure Rust",
    after_help = "Logs go to stderr, filtered by RUST_LOG (default: warn); colours only on a terminal."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a standalone media driver until SIGINT or SIGTERM (like Aeron's `aeronmd`). Reads Aeron's
    /// `AERON_*` environment variables; the flags below override them.
    Driver(driver_cmd::DriverArgs),
    /// Publishes `--count` verifiable messages (message n carries n) and exits.
    Publish(stream_cmd::PublishArgs),
    /// Receives and checks `--count` messages from `publish`, then exits (1 on a bad message, 2 on timeout).
    Subscribe(stream_cmd::SubscribeArgs),
    /// Runs the record-and-replay story on an embedded driver and archive in temporary directories:
    /// start recording aeron:ipc stream 1001, publish verifiable messages, stop recording, find the
    /// recording, replay it on stream 2001 and check every message and its position. Exits 0 only if every
    /// replayed message matched.
    Demo {
        /// Number of messages.
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        /// Message length in bytes (8 to 16 MiB).
        #[arg(long, default_value_t = 256, value_parser = args::checked_message_length)]
        message_length: usize,
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
    /// histogram (UDP over loopback, sender and receiver in the same driver); `archive` records and
    /// replays beside the raw speed of the disk under `--archive-dir`.
    Bench(bench_cmd::BenchArgs),
    /// Reads an archive directory without changing it (like Aeron's `ArchiveTool`).
    Catalog {
        #[command(subcommand)]
        command: catalog_cmd::CatalogCommand,
    },
    /// Prints the driver's counters like Aeron's `AeronStat`: once, refreshing (`--watch`), or served to
    /// Prometheus (`--serve`); filtered as AeronStat filters them.
    Stat(stat_cmd::StatArgs),
    /// Prints each stream's position counters on one line (like Aeron's `StreamStat`).
    Streams(stat_cmd::CncArgs),
    /// Prints how far each stream's sender and subscribers are behind (like Aeron's `BacklogStat`).
    Backlog(stat_cmd::CncArgs),
    /// Prints the driver's distinct error log (like Aeron's `ErrorStat`).
    Errors(stat_cmd::CncArgs),
    /// Prints the driver's loss report (like Aeron's `LossStat`): one CSV line per image that lost data.
    Loss(stat_cmd::CncArgs),
}

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` (default: warnings and errors), in colour only
/// when stderr is a terminal.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let failed = |e: String| (1, e);
    let result = match cli.command {
        Command::Driver(args) => driver_cmd::run(args).map_err(failed),
        Command::Publish(args) => stream_cmd::run_publish(args).map_err(failed),
        Command::Subscribe(args) => stream_cmd::run_subscribe(args),
        Command::Demo {
            count,
            message_length,
        } => oxeron_cli::demo::run(count, message_length)
            .map(drop)
            .map_err(failed),
        Command::Stat(args) => stat_cmd::run_stat(args).map_err(failed),
        Command::Streams(args) => stat_cmd::run_streams(args).map_err(failed),
        Command::Backlog(args) => stat_cmd::run_backlog(args).map_err(failed),
        Command::Errors(args) => stat_cmd::run_errors(args).map_err(failed),
        Command::Loss(args) => stat_cmd::run_loss(args).map_err(failed),
        Command::Archive(args) => archive_cmd::run_archive(args).map_err(failed),
        Command::Record(args) => archive_cmd::run_record(args).map_err(failed),
        Command::Replay(args) => archive_cmd::run_replay(args).map_err(failed),
        Command::Catalog { command } => catalog_cmd::run_catalog(command).map_err(failed),
        Command::Bench(args) => bench_cmd::run(args).map_err(failed),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("oxeron: {message}");
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod cli_tests;
