//! The commands that read a driver's `cnc.dat` and loss report: `stat` (AeronStat, once, watching, or served
//! to Prometheus), `streams` (StreamStat), `backlog` (BacklogStat), `errors` (ErrorStat) and `loss`
//! (LossStat).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxeron::concurrent::clock::system_epoch_ms;

use oxeron_cli::tools::{self, CounterFilter, CounterRow};
use oxeron_cli::{backlog_stat, stream_stat};

use crate::args::{aeron_dir_or_default, duration};

/// AeronStat's filters (`type=`, `identity=`, `session=`, `stream=`, `channel=`), as regular expressions
/// found anywhere in the field.
#[derive(clap::Args, Debug, Default)]
pub struct FilterArgs {
    /// Only counters whose type id matches this regex, e.g. `^(1|4)$`.
    #[arg(long = "type", value_name = "REGEX", value_parser = regex::Regex::new)]
    pub type_id: Option<regex::Regex>,
    /// Only system counters whose id, or stream counters whose registration id, matches this regex.
    #[arg(long, value_name = "REGEX", value_parser = regex::Regex::new)]
    pub identity: Option<regex::Regex>,
    /// Only stream counters whose session id matches this regex.
    #[arg(long, value_name = "REGEX", value_parser = regex::Regex::new)]
    pub session: Option<regex::Regex>,
    /// Only stream counters whose stream id matches this regex.
    #[arg(long, value_name = "REGEX", value_parser = regex::Regex::new)]
    pub stream: Option<regex::Regex>,
    /// Only stream and channel status counters whose channel matches this regex.
    #[arg(long, value_name = "REGEX", value_parser = regex::Regex::new)]
    pub channel: Option<regex::Regex>,
    /// Only counters whose label contains this text.
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
}

impl FilterArgs {
    fn filter(&self) -> CounterFilter {
        CounterFilter {
            type_id: self.type_id.clone(),
            identity: self.identity.clone(),
            session: self.session.clone(),
            stream: self.stream.clone(),
            channel: self.channel.clone(),
        }
    }
}

/// Flags of `oxeron stat`.
#[derive(clap::Args, Debug)]
pub struct StatArgs {
    /// Aeron directory of the driver, or a `cnc.dat` file (default: /dev/shm/aeron-$USER).
    #[arg(long, env = "AERON_DIR", value_name = "DIR")]
    pub aeron_dir: Option<PathBuf>,
    /// Output: table (like AeronStat), json or prometheus.
    #[arg(long, default_value = "table", value_parser = ["table", "json", "prometheus"])]
    pub format: String,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Refresh every DURATION until SIGINT or SIGTERM, clearing the screen, like AeronStat (default 1s
    /// when given without a value).
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "1s",
          value_parser = duration)]
    pub watch: Option<Duration>,
    /// Serve the counters to Prometheus on this address (e.g. `127.0.0.1:9464`), read afresh for each scrape
    /// of any path, until SIGINT or SIGTERM (default: not served).
    #[arg(long, value_name = "ADDR", conflicts_with = "watch")]
    pub serve: Option<SocketAddr>,
}

/// Flags of `oxeron streams`, `oxeron backlog`, `oxeron errors` and `oxeron loss`.
#[derive(clap::Args, Debug)]
pub struct CncArgs {
    /// Aeron directory of the driver, or its `cnc.dat` (`loss-report.dat` for `loss`) file (default:
    /// /dev/shm/aeron-$USER).
    #[arg(long, env = "AERON_DIR", value_name = "DIR")]
    pub aeron_dir: Option<PathBuf>,
}

impl CncArgs {
    fn dir(&self) -> PathBuf {
        aeron_dir_or_default(&self.aeron_dir)
    }
}

fn stop_on_signal() -> Result<Arc<AtomicBool>, String> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(|e| e.to_string())?;
    }
    Ok(stop)
}

fn read_rows(
    dir: &std::path::Path,
    filter: &FilterArgs,
) -> Result<(String, Vec<CounterRow>), String> {
    let cnc = tools::open_cnc(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let counter_filter = filter.filter();
    let rows = tools::counters(&cnc, None, filter.label.as_deref())?
        .into_iter()
        .filter(|row| counter_filter.matches(row))
        .collect();
    Ok((tools::stat_header(&cnc, system_epoch_ms()), rows))
}

/// Prints the counters once, refreshes them (`--watch`) or serves them (`--serve`).
pub fn run_stat(args: StatArgs) -> Result<(), String> {
    let dir = aeron_dir_or_default(&args.aeron_dir);
    if let Some(addr) = args.serve {
        return serve(addr, &dir, &args.filter);
    }
    let render = || -> Result<String, String> {
        let (header, rows) = read_rows(&dir, &args.filter)?;
        Ok(match args.format.as_str() {
            "json" => tools::format_json(&rows),
            "prometheus" => tools::format_prometheus(&rows),
            _ => format!("{header}{}--\n", tools::format_table(&rows)),
        })
    };
    let Some(interval) = args.watch else {
        print!("{}", render()?);
        return Ok(());
    };
    let stop = stop_on_signal()?;
    let mut out = std::io::stdout();
    while !stop.load(Ordering::Relaxed) {
        // The driver may restart under us: each refresh maps cnc.dat again and shows why it cannot.
        let text = render().unwrap_or_else(|e| format!("{e}\n"));
        let _ = write!(out, "\x1b[2J\x1b[H{text}");
        let _ = out.flush();
        let until = Instant::now() + interval;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20).min(interval));
        }
    }
    Ok(())
}

/// Answers every HTTP request on `addr` with the counters in Prometheus' text format.
fn serve(addr: SocketAddr, dir: &std::path::Path, filter: &FilterArgs) -> Result<(), String> {
    let listener = TcpListener::bind(addr).map_err(|e| format!("--serve {addr}: {e}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("--serve {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "serving the counters of {} on http://{local}/metrics",
        dir.display()
    );
    let stop = stop_on_signal()?;
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let body = read_rows(dir, filter).map(|(_, rows)| tools::format_prometheus(&rows));
                if let Err(e) = answer(stream, body) {
                    tracing::warn!("--serve: {e}");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => tracing::warn!("--serve: {e}"),
        }
    }
    Ok(())
}

/// Reads the request's head (up to 8 KiB, for at most a second) and writes one response.
fn answer(mut stream: TcpStream, body: Result<String, String>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    stream.set_write_timeout(Some(Duration::from_secs(1)))?;
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
        match stream.read(&mut chunk)? {
            0 => break,
            n => head.extend_from_slice(&chunk[..n]),
        }
    }
    let (status, content_type, body) = match body {
        Ok(text) => ("200 OK", "text/plain; version=0.0.4", text),
        Err(e) => ("503 Service Unavailable", "text/plain", format!("{e}\n")),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// StreamStat, once.
pub fn run_streams(args: CncArgs) -> Result<(), String> {
    let (_, rows) = read_rows(&args.dir(), &FilterArgs::default())?;
    print!("{}", stream_stat::format(&rows));
    Ok(())
}

/// BacklogStat, once.
pub fn run_backlog(args: CncArgs) -> Result<(), String> {
    let (_, rows) = read_rows(&args.dir(), &FilterArgs::default())?;
    print!("{}", backlog_stat::format(&rows));
    Ok(())
}

/// ErrorStat: the distinct error log.
pub fn run_errors(args: CncArgs) -> Result<(), String> {
    let dir = args.dir();
    let cnc = tools::open_cnc(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    print!("{}", tools::format_errors(&cnc).1);
    Ok(())
}

/// LossStat: one CSV line per image that lost data.
pub fn run_loss(args: CncArgs) -> Result<(), String> {
    let dir = args.dir();
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
