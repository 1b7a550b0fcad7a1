//! The `archive`, `record` and `replay` commands.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use oxeron::archive::client::{AeronArchive, Context as ArchiveClientContext, ReplayParams};
use oxeron::archive::server::{Archive, ArchiveThreadingMode, Context as ArchiveContext};
use oxeron::archive::{Checksum, FileSyncLevel, RecordingSignal, SourceLocation};
use oxeron::client::{Aeron, FragmentAssembler, Header, OfferError};
use oxeron::driver::{Context as DriverContext, MediaDriver, ThreadingMode};
use oxeron::protocol::uri::parse_size;
use oxeron_cli::sample;

/// Flags of `oxeron archive`.
#[derive(Args)]
pub struct ArchiveArgs {
    /// Run only the archive, against a media driver already running in the Aeron directory (default: an
    /// archiving media driver, with an embedded driver).
    #[arg(long)]
    standalone: bool,
    /// Aeron directory of the media driver (default: /dev/shm/aeron-$USER).
    #[arg(long, env = "AERON_DIR", value_name = "DIR")]
    aeron_dir: Option<PathBuf>,
    /// Archive directory (`AERON_ARCHIVE_DIR`; default `aeron-archive`).
    #[arg(long)]
    archive_dir: Option<PathBuf>,
    /// Segment file length, a power of two of at least 64k, e.g. `128m`
    /// (`AERON_ARCHIVE_SEGMENT_FILE_LENGTH`; default 128m).
    #[arg(long)]
    segment_length: Option<String>,
    /// 0: page cache only, 1: fdatasync, 2: fsync (`AERON_ARCHIVE_FILE_SYNC_LEVEL`; default 0).
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..=2))]
    file_sync_level: Option<i32>,
    /// Sync level of catalog updates (`AERON_ARCHIVE_CATALOG_FILE_SYNC_LEVEL`; default: the file sync level).
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..=2))]
    catalog_file_sync_level: Option<i32>,
    /// Archive threading mode: DEDICATED or SHARED (`AERON_ARCHIVE_THREADING_MODE`; default DEDICATED).
    #[arg(long)]
    threading_mode: Option<String>,
    /// Delete the archive directory's contents first (`AERON_ARCHIVE_DIR_DELETE_ON_START`).
    #[arg(long)]
    delete_archive_dir: bool,
    /// Term length of the embedded driver's IPC publications, e.g. `16m` (`AERON_IPC_TERM_BUFFER_LENGTH`; default 64m).
    #[arg(long)]
    ipc_term_length: Option<String>,
    /// Control channel for network clients (`AERON_ARCHIVE_CONTROL_CHANNEL`; default
    /// `aeron:udp?endpoint=localhost:8010`).
    #[arg(long)]
    control_channel: Option<String>,
    /// Serve only the local (IPC) control channel (`AERON_ARCHIVE_CONTROL_CHANNEL_ENABLED=false`).
    #[arg(long)]
    no_control_channel: bool,
    /// Checksum written into each recorded frame and catalog descriptor: crc32, crc32c or Java's class name
    /// (`AERON_ARCHIVE_RECORD_CHECKSUM`; default none).
    #[arg(long, value_name = "CHECKSUM")]
    record_checksum: Option<Checksum>,
    /// Checksum every replayed frame must match, or the replay ends with an error: crc32, crc32c or Java's
    /// class name (`AERON_ARCHIVE_REPLAY_CHECKSUM`; default none).
    #[arg(long, value_name = "CHECKSUM")]
    replay_checksum: Option<Checksum>,
}

fn sync_level(flag: &str, level: i32) -> Result<FileSyncLevel, String> {
    FileSyncLevel::from_level(level).ok_or_else(|| format!("{flag} {level}: must be 0, 1 or 2"))
}

fn stop_flag() -> Result<Arc<AtomicBool>, String> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(|e| e.to_string())?;
    }
    Ok(stop)
}

/// Runs an archiving media driver (or a standalone archive) until SIGINT or SIGTERM.
pub fn run_archive(args: ArchiveArgs) -> Result<(), String> {
    let mut ctx = ArchiveContext::from_env().map_err(|e| e.to_string())?;
    if let Some(channel) = &args.control_channel {
        ctx = ctx.control_channel(channel.clone());
    }
    if args.no_control_channel {
        ctx = ctx.control_channel_enabled(false);
    }
    if let Some(dir) = &args.aeron_dir {
        ctx = ctx.aeron_dir(dir);
    }
    if let Some(dir) = &args.archive_dir {
        ctx = ctx.archive_dir(dir);
    }
    if let Some(length) = &args.segment_length {
        let value = parse_size(length).map_err(|e| format!("--segment-length {length}: {e}"))?;
        ctx = ctx.segment_file_length(
            i32::try_from(value).map_err(|_| format!("--segment-length {length}: too large"))?,
        );
    }
    if let Some(level) = args.file_sync_level {
        let level = sync_level("--file-sync-level", level)?;
        ctx = ctx.file_sync_level(level);
        if args.catalog_file_sync_level.is_none()
            && std::env::var_os("AERON_ARCHIVE_CATALOG_FILE_SYNC_LEVEL").is_none()
        {
            ctx = ctx.catalog_file_sync_level(level);
        }
    }
    if let Some(level) = args.catalog_file_sync_level {
        ctx = ctx.catalog_file_sync_level(sync_level("--catalog-file-sync-level", level)?);
    }
    if let Some(mode) = &args.threading_mode {
        let mode: ArchiveThreadingMode =
            mode.parse().map_err(|e| format!("--threading-mode: {e}"))?;
        if mode == ArchiveThreadingMode::Invoker {
            return Err("--threading-mode INVOKER is for embedded archives".into());
        }
        ctx = ctx.threading_mode(mode);
    }
    if ctx_threading_is_invoker() {
        ctx = ctx.threading_mode(ArchiveThreadingMode::Dedicated);
    }
    if args.delete_archive_dir {
        ctx = ctx.delete_archive_on_start(true);
    }
    if let Some(checksum) = args.record_checksum {
        ctx = ctx.record_checksum(checksum);
    }
    if let Some(checksum) = args.replay_checksum {
        ctx = ctx.replay_checksum(checksum);
    }
    let stop = stop_flag()?;

    let driver = if args.standalone {
        None
    } else {
        let mut driver_ctx = DriverContext::from_env().map_err(|e| e.to_string())?;
        if std::env::var_os("AERON_THREADING_MODE").is_none() {
            driver_ctx = driver_ctx.threading_mode(ThreadingMode::Shared);
        }
        if driver_ctx.threading_mode == ThreadingMode::Invoker {
            return Err("AERON_THREADING_MODE=INVOKER is not supported by `oxeron archive`".into());
        }
        if let Some(dir) = &args.aeron_dir {
            driver_ctx = driver_ctx.aeron_dir(dir);
        }
        if let Some(length) = &args.ipc_term_length {
            let value =
                parse_size(length).map_err(|e| format!("--ipc-term-length {length}: {e}"))?;
            driver_ctx = driver_ctx.ipc_term_buffer_length(
                i32::try_from(value).map_err(|_| "--ipc-term-length too large")?,
            );
        }
        crate::driver_cmd::validate_driver_settings(&driver_ctx, args.ipc_term_length.as_deref())?;
        let driver = MediaDriver::launch(driver_ctx).map_err(|e| format!("media driver: {e}"))?;
        println!(
            "oxeron media driver running in {}",
            driver.aeron_dir().display()
        );
        ctx = ctx.aeron_dir(driver.aeron_dir());
        Some(driver)
    };
    let archive = match Archive::launch(ctx) {
        Ok(archive) => archive,
        Err(e) => {
            if let Some(driver) = driver {
                driver.close();
            }
            return Err(format!("archive: {e}"));
        }
    };
    println!(
        "oxeron archive {} running in {} (control: aeron:ipc stream 10)",
        archive.archive_id(),
        archive.archive_dir().display()
    );
    let _ = std::io::stdout().flush();
    while !stop.load(Ordering::Relaxed) && driver.as_ref().is_none_or(|d| !d.is_terminated()) {
        std::thread::sleep(Duration::from_millis(20));
    }
    archive.close();
    println!("oxeron archive stopped");
    if let Some(driver) = driver {
        driver.close();
        println!("oxeron media driver stopped");
    }
    Ok(())
}

fn ctx_threading_is_invoker() -> bool {
    std::env::var("AERON_ARCHIVE_THREADING_MODE")
        .is_ok_and(|m| m.trim().eq_ignore_ascii_case("INVOKER"))
}

/// How `record` and `replay` reach the archive.
#[derive(Args)]
pub struct ClientArgs {
    #[command(flatten)]
    dir: crate::args::AeronDirArg,
    /// The archive's control request channel (its local control channel).
    #[arg(long, default_value = "aeron:ipc")]
    control_channel: String,
    /// The archive's control request stream id.
    #[arg(long, default_value_t = 10)]
    control_stream: i32,
    /// Channel the archive answers on.
    #[arg(long, default_value = "aeron:ipc")]
    response_channel: String,
    /// How long to wait for each answer, e.g. `10s` (`AERON_ARCHIVE_MESSAGE_TIMEOUT`; default 10s).
    #[arg(long, value_name = "DURATION", value_parser = crate::args::duration)]
    message_timeout: Option<Duration>,
}

fn connect(args: &ClientArgs) -> Result<(Aeron, AeronArchive), String> {
    let aeron = Aeron::connect(args.dir.client_context()?).map_err(|e| format!("client: {e}"))?;
    let mut ctx = ArchiveClientContext::from_env()
        .map_err(|e| e.to_string())?
        .aeron(aeron.clone())
        .control_request_channel(args.control_channel.as_str())
        .control_request_stream_id(args.control_stream)
        .control_response_channel(args.response_channel.as_str());
    if let Some(timeout) = args.message_timeout {
        ctx = ctx.message_timeout(timeout);
    }
    let archive = AeronArchive::connect(ctx).map_err(|e| format!("archive: {e}"))?;
    Ok((aeron, archive))
}

/// Flags of `oxeron record`.
#[derive(Args)]
pub struct RecordArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Channel to record.
    #[arg(long, default_value = "aeron:ipc")]
    channel: String,
    /// Stream id to record.
    #[arg(long, default_value_t = 1001)]
    stream: i32,
    /// Stop recording after this long, e.g. `10s` (default: on SIGINT/SIGTERM, or once `--publish` is done).
    #[arg(long, value_name = "DURATION", value_parser = crate::args::duration)]
    duration: Option<Duration>,
    /// Also publish this many verifiable messages (as `oxeron publish` does) and wait until they are recorded.
    #[arg(long, default_value_t = 0)]
    publish: u64,
    /// Length of the published messages (8 to 16 MiB).
    #[arg(long, default_value_t = 256, value_parser = crate::args::checked_message_length)]
    message_length: usize,
}

/// Why publishing to a UDP channel that only the archive spies on cannot work, if that is the case:
/// a local recording of a UDP channel subscribes as a spy, and a spy alone does not connect the
/// publication unless the channel says `ssc=true` (spies-simulate-connection).
fn spy_only_hint(channel: &str) -> Option<String> {
    let uri = oxeron::protocol::uri::ChannelUri::parse(channel).ok()?;
    let udp = uri.media() == oxeron::protocol::uri::Media::Udp;
    let ssc = uri.get("ssc").is_some_and(|v| v == "true");
    (udp && !ssc).then(|| {
        format!(
            "nothing receives {channel}: a local recording of a UDP channel only spies on the \
             publication, which stays unconnected until a subscriber joins; add `ssc=true` to the \
             channel (e.g. {channel}|ssc=true) or start a subscriber"
        )
    })
}

/// How long `record --publish` on a UDP channel without `ssc=true` waits for a subscriber to connect
/// the publication before it says why nothing can be recorded.
const SPY_CONNECT_GRACE: Duration = Duration::from_secs(2);

/// Starts a recording, waits for it to start and for the duration (or a signal), then stops it.
pub fn run_record(args: RecordArgs) -> Result<(), String> {
    let duration = args.duration;
    let stop = stop_flag()?;
    let (aeron, mut archive) = connect(&args.client)?;
    let subscription_id = archive
        .start_recording(&args.channel, args.stream, SourceLocation::Local, false)
        .map_err(|e| format!("start recording: {e}"))?;
    println!(
        "recording {} stream {} (recording subscription {subscription_id})",
        args.channel, args.stream
    );
    let _ = std::io::stdout().flush();
    let mut early_stop = None;
    let result = record_until_done(
        &args,
        duration,
        &stop,
        &aeron,
        &mut archive,
        &mut early_stop,
    );
    let stopped = archive.stop_recording_subscription(subscription_id);
    let recording_id = result?;
    stopped.map_err(|e| format!("stop recording: {e}"))?;
    if let Some(recording_id) = recording_id {
        // The recording may have ended on its own (its image went away) before it was asked to stop.
        let position = match early_stop {
            Some(position) => position,
            None => {
                archive
                    .await_recording_signal(Some(recording_id), RecordingSignal::Stop)
                    .map_err(|e| format!("recording STOP signal: {e}"))?
                    .position
            }
        };
        println!("recording id {recording_id} stopped at position {position}");
        archive.close();
        Ok(())
    } else {
        archive.close();
        Err(format!(
            "no stream was recorded: nothing published on {} stream {} before the recording stopped",
            args.channel, args.stream
        ))
    }
}

fn record_until_done(
    args: &RecordArgs,
    duration: Option<Duration>,
    stop: &AtomicBool,
    aeron: &Aeron,
    archive: &mut AeronArchive,
    early_stop: &mut Option<i64>,
) -> Result<Option<i64>, String> {
    let start = Instant::now();
    let deadline = duration.map(|d| start + d);
    let publication = if args.publish > 0 {
        Some(
            aeron
                .add_publication(&args.channel, args.stream)
                .map_err(|e| format!("publication: {e}"))?,
        )
    } else {
        None
    };
    let expired = |stop: &AtomicBool| {
        stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d)
    };
    let mut recording_id = None;
    while recording_id.is_none() {
        if expired(stop) {
            return Ok(None);
        }
        if publication.is_some() && start.elapsed() > Duration::from_secs(30) {
            return Err("the recording did not start within 30 s".into());
        }
        archive.poll_for_recording_signals(|event| {
            if event.signal == RecordingSignal::Start && recording_id.is_none() {
                recording_id = Some((event.recording_id, event.position));
            } else if event.signal == RecordingSignal::Stop
                && recording_id.is_some_and(|(id, _)| id == event.recording_id)
            {
                *early_stop = Some(event.position);
            }
        });
        std::thread::sleep(Duration::from_millis(1));
    }
    let (recording_id, position) = recording_id.unwrap_or_default();
    println!("recording id {recording_id} started at position {position}");
    let _ = std::io::stdout().flush();
    if let Some(publication) = &publication {
        if let Some(hint) = spy_only_hint(&args.channel) {
            let connect_deadline = Instant::now() + SPY_CONNECT_GRACE;
            while !publication.is_connected() {
                if Instant::now() >= connect_deadline || expired(stop) {
                    return Err(hint);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let mut buffer = vec![0u8; args.message_length];
        let mut published = 0;
        let give_up = Instant::now() + Duration::from_secs(120);
        for sequence in 0..args.publish {
            sample::fill(&mut buffer, sequence);
            loop {
                match publication.offer(&buffer) {
                    Ok(p) => {
                        published = p;
                        break;
                    }
                    Err(OfferError::BackPressured | OfferError::AdminAction)
                    | Err(OfferError::NotConnected) => {
                        if expired(stop) || Instant::now() > give_up {
                            return Err(format!("publication stuck at message {sequence}"));
                        }
                        std::thread::yield_now();
                    }
                    Err(e) => return Err(format!("offer {sequence}: {e}")),
                }
            }
        }
        while archive
            .get_recording_position(recording_id)
            .map_err(|e| format!("recording position: {e}"))?
            < published
        {
            if Instant::now() > give_up {
                return Err("the recording did not catch up".into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        println!(
            "published and recorded {} messages up to position {published}",
            args.publish
        );
        if deadline.is_none() {
            return Ok(Some(recording_id));
        }
    }
    while !expired(stop) {
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(Some(recording_id))
}

/// Flags of `oxeron replay`.
#[derive(Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Recording to replay.
    #[arg(long)]
    recording_id: i64,
    /// Position to start from (default: the recording's start).
    #[arg(long)]
    position: Option<i64>,
    /// Bytes to replay (default: up to the stop position, or the recorded position of an active recording).
    #[arg(long)]
    bytes: Option<i64>,
    /// Output: hex (one line per message: position, length, bytes), text (one line per message) or raw
    /// (the payloads back to back).
    #[arg(long, default_value = "hex")]
    format: String,
    /// Channel to replay on.
    #[arg(long, default_value = "aeron:ipc")]
    channel: String,
    /// Stream id to replay on.
    #[arg(long, default_value_t = 2001)]
    stream: i32,
    /// Give up if the replay stalls this long, e.g. `10s` (up to a day).
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = crate::args::duration)]
    timeout: Duration,
}

#[derive(Clone, Copy)]
enum Format {
    Hex,
    Text,
    Raw,
}

fn write_message(out: &mut impl Write, format: Format, message: &[u8], position: i64) {
    let _ = match format {
        Format::Raw => out.write_all(message),
        Format::Text => writeln!(out, "{}", String::from_utf8_lossy(message)),
        Format::Hex => {
            let mut line = String::with_capacity(message.len() * 2 + 32);
            for b in message {
                line.push_str(&format!("{b:02x}"));
            }
            writeln!(out, "{position} {} {line}", message.len())
        }
    };
}

/// Replays a recording to stdout; a summary goes to stderr.
pub fn run_replay(args: ReplayArgs) -> Result<(), String> {
    let format = match args.format.as_str() {
        "hex" => Format::Hex,
        "text" => Format::Text,
        "raw" => Format::Raw,
        other => return Err(format!("unknown --format {other:?} (hex, text or raw)")),
    };
    let stall = args.timeout;
    let (_aeron, mut archive) = connect(&args.client)?;
    let descriptor = archive
        .recording_descriptor(args.recording_id)
        .map_err(|e| format!("list recording: {e}"))?
        .ok_or_else(|| format!("no recording {} in the archive", args.recording_id))?;
    let position = args.position.unwrap_or(descriptor.start_position);
    let end = if descriptor.stop_position >= 0 {
        descriptor.stop_position
    } else {
        archive
            .get_recording_position(args.recording_id)
            .map_err(|e| format!("recording position: {e}"))?
    };
    if position < descriptor.start_position || position > end {
        return Err(format!(
            "--position {position} is outside recording {}, which holds {}..{end}",
            args.recording_id, descriptor.start_position
        ));
    }
    let length = args.bytes.unwrap_or(end - position);
    if length <= 0 {
        return Err(format!(
            "nothing to replay: recording {} holds {}..{end}, asked for {length} bytes from {position}",
            args.recording_id, descriptor.start_position
        ));
    }
    let expected_end = position.saturating_add(length);
    if expected_end > end {
        return Err(format!(
            "--length {length} from position {position} runs past the end of recording {} at {end}",
            args.recording_id
        ));
    }
    let (replay_session_id, mut subscription) = archive
        .replay(
            args.recording_id,
            &args.channel,
            args.stream,
            ReplayParams::new(position, length),
        )
        .map_err(|e| format!("replay: {e}"))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut count = 0u64;
    let mut bytes = 0u64;
    let mut last_position = position;
    let mut assembler = FragmentAssembler::new(|message: &[u8], header: &Header| {
        write_message(&mut out, format, message, header.position());
        count += 1;
        bytes += message.len() as u64;
        last_position = header.position();
    });
    let mut last_progress = Instant::now();
    let mut seen_image = false;
    loop {
        if subscription.poll(assembler.handler(), 256) > 0 {
            last_progress = Instant::now();
            continue;
        }
        let images = subscription.images();
        if !images.is_empty() {
            seen_image = true;
            if images.iter().all(|i| i.is_end_of_stream() || i.is_closed()) {
                break;
            }
        } else if seen_image {
            break;
        }
        if last_progress.elapsed() > stall {
            drop(assembler);
            let _ = archive.stop_replay(replay_session_id);
            return Err(format!(
                "replay stalled for {stall:?} at position {last_position}"
            ));
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    drop(assembler);
    let _ = out.flush();
    eprintln!(
        "replayed {count} messages ({bytes} bytes) of recording {} from position {position} to {last_position}",
        args.recording_id
    );
    archive.close();
    if last_position < expected_end {
        return Err(format!(
            "the replay ended at position {last_position}, short of {expected_end}"
        ));
    }
    Ok(())
}
