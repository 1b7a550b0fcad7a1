//! `oxeron driver`: a standalone media driver, like Aeron's `aeronmd`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oxeron::concurrent::idle::IdleStrategyKind;
use oxeron::driver::{Context as DriverContext, MediaDriver, ThreadingMode};
use oxeron::protocol::uri::parse_size;

use crate::args::{duration, AeronDirArg};

/// Flags of `oxeron driver`.
#[derive(clap::Args, Debug)]
pub struct DriverArgs {
    #[command(flatten)]
    pub dir: AeronDirArg,
    /// DEDICATED, SHARED_NETWORK, SHARED or INVOKER (`AERON_THREADING_MODE`; default here SHARED).
    #[arg(long, value_name = "MODE")]
    pub threading_mode: Option<String>,
    /// Idle strategy of the driver's threads: spin, yield, backoff, sleep-ns, noop (default: backoff).
    #[arg(long, value_name = "STRATEGY")]
    pub idle_strategy: Option<String>,
    /// Term length of IPC publications, e.g. `64m` (`AERON_IPC_TERM_BUFFER_LENGTH`; default 64m).
    #[arg(long, value_name = "SIZE")]
    pub ipc_term_length: Option<String>,
    /// Client liveness timeout, e.g. `10s` (`AERON_CLIENT_LIVENESS_TIMEOUT`; default 10s).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub client_liveness_timeout: Option<Duration>,
    /// Delete the directory first, even if a driver seems alive there (`AERON_DIR_DELETE_ON_START`).
    #[arg(long)]
    pub delete_dir: bool,
}

/// The driver context's own check, naming `--ipc-term-length` when that flag set the bad value.
pub fn validate_driver_settings(
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

/// Runs the driver until SIGINT, SIGTERM or a client's TERMINATE_DRIVER.
pub fn run(args: DriverArgs) -> Result<(), String> {
    let threading_from_env = std::env::var_os("AERON_THREADING_MODE").is_some();
    let mut ctx = DriverContext::from_env().map_err(|e| e.to_string())?;
    if !threading_from_env {
        ctx = ctx.threading_mode(ThreadingMode::Shared);
    }
    if let Some(dir) = args.dir.aeron_dir {
        ctx = ctx.aeron_dir(dir);
    }
    if let Some(mode) = args.threading_mode {
        ctx = ctx.threading_mode(mode.parse().map_err(|e| format!("--threading-mode: {e}"))?);
    }
    if let Some(idle) = args.idle_strategy {
        let idle: IdleStrategyKind = idle.parse().map_err(|e| format!("--idle-strategy: {e}"))?;
        ctx = ctx
            .shared_idle_strategy(idle)
            .conductor_idle_strategy(idle)
            .sender_idle_strategy(idle)
            .receiver_idle_strategy(idle)
            .shared_network_idle_strategy(idle);
    }
    if let Some(length) = &args.ipc_term_length {
        let length = parse_size(length).map_err(|e| format!("--ipc-term-length {length}: {e}"))?;
        ctx = ctx.ipc_term_buffer_length(
            i32::try_from(length).map_err(|_| "--ipc-term-length too large")?,
        );
    }
    if let Some(timeout) = args.client_liveness_timeout {
        ctx = ctx.client_liveness_timeout(timeout);
    }
    if args.delete_dir {
        ctx = ctx.dir_delete_on_start(true);
    }
    validate_driver_settings(&ctx, args.ipc_term_length.as_deref())?;
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
