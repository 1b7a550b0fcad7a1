//! Clocks: epoch milliseconds for timestamps and deadlines that other processes read.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of epoch milliseconds, such as the driver's cached clock.
pub type EpochClock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Milliseconds since the Unix epoch from the system clock.
pub fn system_epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// An [`EpochClock`] reading the system clock.
pub fn system_epoch_clock() -> EpochClock {
    Arc::new(system_epoch_ms)
}
