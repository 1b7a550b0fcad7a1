//! The driver's system counters (bytes sent, errors, client timeouts, ...), allocated first and in
//! Aeron's order so that counter id equals system counter id.

use oxeron_concurrent::counters::type_id::{
    system_counter_id, DRIVER_SYSTEM_COUNTER_TYPE_ID, SYSTEM_COUNTERS,
};
use oxeron_concurrent::counters::{AtomicCounter, CountersError, CountersManager};

/// Every system counter, indexed by system counter id.
#[derive(Debug, Clone)]
pub(crate) struct SystemCounters {
    counters: Vec<AtomicCounter>,
}

impl SystemCounters {
    /// Allocates all system counters: type id 0, key = id, registration id = id, owner id = -1. Labels
    /// carry the suffixes Aeron's driver adds (version, threading mode, thresholds), so tools that read them
    /// see the same shape.
    pub(crate) fn allocate(
        manager: &mut CountersManager,
        threading_mode: &str,
    ) -> Result<Self, CountersError> {
        use system_counter_id as id;
        let version = format!("version=1.54.0 commit=oxeron-{}", env!("CARGO_PKG_VERSION"));
        let mut counters = Vec::with_capacity(SYSTEM_COUNTERS.len());
        for descriptor in SYSTEM_COUNTERS {
            let base = descriptor.label;
            let label = match descriptor.id {
                id::ERRORS | id::AERON_VERSION => format!("{base}: {version}"),
                id::RESOLUTION_CHANGES => format!("{base}: driverName="),
                id::CONDUCTOR_MAX_CYCLE_TIME
                | id::SENDER_MAX_CYCLE_TIME
                | id::RECEIVER_MAX_CYCLE_TIME => {
                    format!("{base}: {threading_mode}")
                }
                id::CONDUCTOR_CYCLE_TIME_THRESHOLD_EXCEEDED
                | id::SENDER_CYCLE_TIME_THRESHOLD_EXCEEDED
                | id::RECEIVER_CYCLE_TIME_THRESHOLD_EXCEEDED => {
                    format!("{base}: threshold=100ms {threading_mode}")
                }
                id::NAME_RESOLVER_TIME_THRESHOLD_EXCEEDED => format!("{base}: threshold=5s"),
                _ => base.to_string(),
            };
            let counter = manager.new_counter(
                DRIVER_SYSTEM_COUNTER_TYPE_ID,
                &descriptor.id.to_le_bytes(),
                &label,
            )?;
            manager.set_counter_registration_id(counter.id(), descriptor.id.into())?;
            manager.set_counter_owner_id(counter.id(), -1)?;
            counters.push(counter);
        }
        counters[id::CONTROL_PROTOCOL_VERSION as usize]
            .set(oxeron_protocol::semantic_version(1, 0, 0).into());
        counters[id::AERON_VERSION as usize]
            .set(oxeron_protocol::semantic_version(1, 54, 0).into());
        Ok(SystemCounters { counters })
    }

    /// Adds one to system counter `id`.
    pub(crate) fn increment(&self, id: i32) {
        self.counters[id as usize].increment();
    }

    /// Adds `delta` to system counter `id` (atomically: the sender and receiver share some counters).
    pub(crate) fn add(&self, id: i32, delta: i64) {
        if delta != 0 {
            self.counters[id as usize].get_and_add(delta);
        }
    }
}
