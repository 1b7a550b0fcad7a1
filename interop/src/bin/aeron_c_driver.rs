//! Aeron C 1.54's media driver as a standalone process, configured only by `AERON_*` environment variables
//! like Aeron's `aeronmd`: the baseline driver of the system-test gate (`interop/systest`). It stops on
//! SIGINT/SIGTERM or when a client's TERMINATE_DRIVER passes the termination validator
//! (`AERON_DRIVER_TERMINATION_VALIDATOR=allow`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rusteron_media_driver::{
    AeronCError, AeronDriver, AeronDriverContext, AeronDriverTerminationHookFuncCallback,
};

/// Clears `running` when the driver accepts a termination request.
struct StopOnTermination(Arc<AtomicBool>);

impl AeronDriverTerminationHookFuncCallback for StopOnTermination {
    fn handle_aeron_driver_termination_hook_func(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let signalled = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&signalled))?;
    }
    let running = Arc::new(AtomicBool::new(true));
    let context = AeronDriverContext::new().map_err(AeronCError::capture_errmsg)?;
    let _hook = context
        .set_driver_termination_hook(Some(StopOnTermination(Arc::clone(&running))))
        .map_err(AeronCError::capture_errmsg)?;
    let driver = AeronDriver::new(&context).map_err(AeronCError::capture_errmsg)?;
    driver.start(true).map_err(AeronCError::capture_errmsg)?;
    while running.load(Ordering::Acquire) && !signalled.load(Ordering::Relaxed) {
        driver.main_idle_strategy(driver.main_do_work().map_err(AeronCError::capture_errmsg)?);
    }
    Ok(())
}
