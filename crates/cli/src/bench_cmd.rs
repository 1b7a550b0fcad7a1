//! `oxeron bench`: throughput and round trips on an embedded driver, the archive beside the raw disk; with a
//! progress bar on a terminal and, on request, the latency histogram drawn as an SVG.

use std::path::{Path, PathBuf};
use std::time::Duration;

use oxeron::client::{Aeron, Context as ClientContext};
use oxeron::driver::{Context as DriverContext, MediaDriver, ThreadingMode};
use oxeron_cli::bench;

use crate::args::{checked_message_length, rounds};
use crate::progress::bar;

/// Flags of `oxeron bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// What to measure: ipc, udp (loopback through one driver) or archive.
    #[arg(value_parser = ["ipc", "udp", "archive"])]
    pub kind: String,
    /// Messages per throughput run.
    #[arg(long, default_value_t = 5_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,
    /// Message length in bytes (8 to 16 MiB).
    #[arg(long, default_value_t = 32, value_parser = checked_message_length)]
    pub message_length: usize,
    /// Round trips measured after 10,000 warm-up ones.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub round_trips: u64,
    /// MiB recorded and replayed (archive; up to 1 TiB).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1024 * 1024))]
    pub megabytes: u64,
    /// Rounds of raw write, record, raw read and replay; medians reported (archive; 1 to 100).
    #[arg(long, default_value_t = 3, value_parser = rounds)]
    pub rounds: usize,
    /// Directory on the disk to record to and measure (archive; default: the working directory).
    #[arg(long, value_name = "DIR")]
    pub archive_dir: Option<PathBuf>,
    /// The archive's threading mode (archive): DEDICATED (conductor, recorder and replayer threads),
    /// SHARED (one thread), or both, one after the other in the same run.
    #[arg(long, default_value = "dedicated", value_parser = ["dedicated", "shared", "both"])]
    pub archive_threading: String,
    /// Also draw the round-trip histogram (percentile distribution) to this SVG file (ipc, udp).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

const WARMUP_ROUND_TRIPS: u64 = 10_000;

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
                            Err(_) => std::thread::sleep(Duration::from_millis(10)),
                        }
                    }
                }
                std::process::exit(128 + signal);
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn run_archive(args: &BenchArgs, shm: &Path) -> Result<(), String> {
    let parent = args
        .archive_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let disk = tempfile::Builder::new()
        .prefix("oxeron-archive-bench-")
        .tempdir_in(&parent)
        .map_err(|e| format!("{}: {e}", parent.display()))?;
    remove_on_interrupt(vec![shm.to_path_buf(), disk.path().to_path_buf()])?;
    use oxeron::archive::server::ArchiveThreadingMode as Mode;
    let modes = match args.archive_threading.as_str() {
        "shared" => vec![Mode::Shared],
        "both" => vec![Mode::Dedicated, Mode::Shared],
        _ => vec![Mode::Dedicated],
    };
    let progress = bar(
        (modes.len() * args.rounds * bench::ARCHIVE_PHASES) as u64,
        "archive",
    );
    let phases_done = std::cell::Cell::new(0);
    let mut reports = Vec::new();
    for mode in modes {
        let figures = bench::archive_record_replay_reporting(
            shm,
            disk.path(),
            args.megabytes,
            args.rounds,
            mode,
            &|phase| {
                progress.set_position(phases_done.get());
                progress.set_message(format!("{}: {phase}", mode.name()));
                phases_done.set(phases_done.get() + 1);
            },
        );
        match figures {
            Ok(f) => reports.push(bench::describe_archive_figures(&f, args.megabytes)),
            Err(e) => {
                progress.finish_and_clear();
                return Err(e);
            }
        }
    }
    progress.finish_and_clear();
    println!("{}", reports.join("\n"));
    Ok(())
}

/// Runs the bench `args.kind` names.
pub fn run(args: BenchArgs) -> Result<(), String> {
    let shm = tempfile::Builder::new()
        .prefix("oxeron-bench-")
        .tempdir_in(if Path::new("/dev/shm").is_dir() {
            "/dev/shm"
        } else {
            "/tmp"
        })
        .map_err(|e| e.to_string())?;
    if args.kind == "archive" {
        return run_archive(&args, shm.path());
    }
    remove_on_interrupt(vec![shm.path().to_path_buf()])?;
    let udp = args.kind == "udp";
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
    let length = args.message_length;
    println!("{name} throughput, {length} B messages, one publisher and one subscriber thread");
    for (stream, exclusive) in [(101, true), (102, false)] {
        let kind = if exclusive { "exclusive" } else { "concurrent" };
        let progress = bar(args.count, &format!("throughput, {kind}"));
        let t = bench::throughput_reporting(
            &aeron,
            &channel(stream)?,
            stream,
            length,
            args.count,
            exclusive,
            &|sent| progress.set_position(sent),
        );
        progress.finish_and_clear();
        let t = t.map_err(|e| e.to_string())?;
        println!(
            "  {kind:<10} {:>8.2} M msg/s  {:>8.1} MB/s",
            t.messages_per_second() / 1e6,
            t.megabytes_per_second()
        );
    }
    let round_trips = args.round_trips;
    let progress = bar(WARMUP_ROUND_TRIPS + round_trips, "ping-pong");
    let h = bench::ping_pong_reporting(
        &aeron,
        &channel(201)?,
        (201, 202),
        length,
        (WARMUP_ROUND_TRIPS, round_trips),
        &|done| progress.set_position(done),
    );
    progress.finish_and_clear();
    let h = h.map_err(|e| e.to_string())?;
    println!("{name} ping-pong round trip, {length} B, {round_trips} samples (us)");
    for q in [0.5, 0.9, 0.99, 0.999] {
        println!(
            "  p{:<6} {:>8.2}",
            q * 100.0,
            h.value_at_quantile(q) as f64 / 1000.0
        );
    }
    println!("  max     {:>8.2}", h.max() as f64 / 1000.0);
    if let Some(path) = &args.plot {
        let title = format!("{name} ping-pong round trip, {length} B, {round_trips} samples");
        let svg = oxeron_cli::latency_plot::percentile_svg(&h, &title)?;
        std::fs::write(path, svg).map_err(|e| format!("--plot {}: {e}", path.display()))?;
        println!("latency plot written to {}", path.display());
    }
    Ok(())
}
