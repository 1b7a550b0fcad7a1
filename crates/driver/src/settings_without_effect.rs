//! Aeron driver settings that Oxeron's driver does not act on yet, and what it does with each: accepted where
//! Aeron's own default asks for nothing Oxeron does differently, refused with an error naming the variable
//! otherwise. Aeron's system tests set all of these for every driver they launch (`CTestMediaDriver`), at
//! Java's defaults unless the test is about them; a driver that ignored them would pass tests it should fail.

use std::time::Duration;

use oxeron_client::env::{self, EnvError};
use oxeron_concurrent::idle::IdleStrategyKind;

/// Refuses `name` unless it is unset or its value is Aeron's `default`.
fn only_default_duration(name: &str, default: Duration, what: &str) -> Result<(), EnvError> {
    match env::duration(name)? {
        Some(value) if value != default => Err(EnvError::new(
            name,
            &env::string(name).unwrap_or_default(),
            format!("{what}; only Aeron's default ({default:?}) is accepted"),
        )),
        _ => Ok(()),
    }
}

/// Refuses `name` when it is set at all.
fn unset(name: &str, what: &str) -> Result<(), EnvError> {
    match env::string(name) {
        Some(value) => Err(EnvError::new(name, &value, what)),
        None => Ok(()),
    }
}

/// Checks every setting of this module's list; the first one that asks for what Oxeron cannot do is the error.
pub(crate) fn check() -> Result<(), EnvError> {
    const UNTETHERED: &str =
        "untethered subscriptions (tether=false) are not available in Oxeron yet";
    only_default_duration(
        "AERON_UNTETHERED_WINDOW_LIMIT_TIMEOUT",
        Duration::from_secs(5),
        UNTETHERED,
    )?;
    only_default_duration(
        "AERON_UNTETHERED_RESTING_TIMEOUT",
        Duration::from_secs(10),
        UNTETHERED,
    )?;
    unset("AERON_UNTETHERED_LINGER_TIMEOUT", UNTETHERED)?;

    const CYCLE: &str = "Oxeron's duty-cycle threshold counters are fixed at Aeron's defaults";
    for name in [
        "AERON_DRIVER_CONDUCTOR_CYCLE_THRESHOLD",
        "AERON_DRIVER_SENDER_CYCLE_THRESHOLD",
        "AERON_DRIVER_RECEIVER_CYCLE_THRESHOLD",
    ] {
        only_default_duration(name, Duration::from_millis(100), CYCLE)?;
    }
    only_default_duration(
        "AERON_DRIVER_NAME_RESOLVER_THRESHOLD",
        Duration::from_secs(5),
        CYCLE,
    )?;

    if let Some(limit) = env::parsed::<i64>("AERON_DRIVER_STREAM_SESSION_LIMIT")? {
        if limit != i64::from(i32::MAX) {
            return Err(EnvError::new(
                "AERON_DRIVER_STREAM_SESSION_LIMIT",
                &limit.to_string(),
                "per-stream session limits are not available in Oxeron yet",
            ));
        }
    }

    const RESOLVER: &str = "the driver name resolver is not available in Oxeron yet";
    for name in [
        "AERON_DRIVER_RESOLVER_NAME",
        "AERON_DRIVER_RESOLVER_INTERFACE",
        "AERON_DRIVER_RESOLVER_BOOTSTRAP_NEIGHBOR",
    ] {
        unset(name, RESOLVER)?;
    }
    // The resolver's timers only matter with a resolver, which is refused above.
    for name in [
        "AERON_DRIVER_RESOLVER_NEIGHBOR_TIMEOUT",
        "AERON_DRIVER_RESOLVER_SELF_RESOLUTION_INTERVAL",
        "AERON_DRIVER_RESOLVER_NEIGHBOR_RESOLUTION_INTERVAL",
        "AERON_DRIVER_RESOLVER_BOOTSTRAP_NEIGHBOR_RESOLUTION_INTERVAL",
    ] {
        env::duration(name)?;
    }
    if let Some(supplier) = env::string("AERON_NAME_RESOLVER_SUPPLIER") {
        if supplier.trim() != "default" {
            return Err(EnvError::new(
                "AERON_NAME_RESOLVER_SUPPLIER",
                &supplier,
                "Oxeron resolves names with the system resolver only (default)",
            ));
        }
    }
    unset(
        "AERON_NAME_RESOLVER_INIT_ARGS",
        "name resolver tables are not available in Oxeron yet",
    )?;

    const PORTS: &str = "wildcard port ranges are not available in Oxeron yet";
    unset("AERON_SENDER_WILDCARD_PORT_RANGE", PORTS)?;
    unset("AERON_RECEIVER_WILDCARD_PORT_RANGE", PORTS)?;

    unset(
        "AERON_UDP_CHANNEL_OUTGOING_INTERCEPTORS",
        "Oxeron has no outgoing UDP interceptors (its loss generators are incoming, as Aeron C's)",
    )?;
    unset(
        "AERON_DRIVER_DYNAMIC_LIBRARIES",
        "Oxeron loads no native libraries",
    )?;

    // Oxeron has no native resource agent: any valid idle strategy is as good as another.
    env::parsed::<IdleStrategyKind>("AERON_NATIVE_RESOURCE_AGENT_IDLE_STRATEGY")?;
    // Oxeron gates nothing behind experimental features.
    env::boolean("AERON_ENABLE_EXPERIMENTAL_FEATURES")?;
    // Aeron's event log goes through `tracing` here (RUST_LOG); its category names need no checking.
    Ok(())
}
