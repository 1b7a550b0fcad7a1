//! The archive's counters (Aeron's `ArchiveCounters`), allocated at the driver with Aeron 1.54's type ids,
//! keys and labels, so `oxeron stat` and Java's `AeronStat` show an Oxeron archive as they show Java's.
//! Each key starts with the archive id (i64); each label ends with " - archiveId=N".

use std::time::{Duration, Instant};

use oxeron_client::{Aeron, AeronError, Counter};
use oxeron_concurrent::counters::type_id::*;

/// The label suffix naming the archive a counter belongs to.
pub(crate) fn archive_id_suffix(archive_id: i64) -> String {
    format!(" - archiveId={archive_id}")
}

/// A duration as Agrona's `SystemUtil.formatDuration` writes it in labels: the largest unit that divides it.
pub(crate) fn format_duration(duration: Duration) -> String {
    let ns = duration.as_nanos();
    if ns == 0 {
        "0ns".to_string()
    } else if ns % 1_000_000_000 == 0 {
        format!("{}s", ns / 1_000_000_000)
    } else if ns % 1_000_000 == 0 {
        format!("{}ms", ns / 1_000_000)
    } else if ns % 1_000 == 0 {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

/// Allocates an archive counter: key = archive id, label = `name` + the archive id suffix.
pub(crate) fn allocate(
    aeron: &Aeron,
    type_id: i32,
    name: &str,
    archive_id: i64,
) -> Result<Counter, AeronError> {
    let label = format!("{name}{}", archive_id_suffix(archive_id));
    aeron.add_counter(type_id, &archive_id.to_le_bytes(), &label)
}

/// Key and label of a control session's counter (Java's `ControlSessionCounter`).
pub(crate) fn control_session_key(
    archive_id: i64,
    control_session_id: i64,
    client_info: &str,
    source_identity: &str,
    session_id: i32,
) -> (Vec<u8>, String) {
    let mut key = archive_id.to_le_bytes().to_vec();
    key.extend_from_slice(&control_session_id.to_le_bytes());
    let image = format!("sourceIdentity={source_identity} sessionId={session_id}");
    let info = if client_info.is_empty() {
        image
    } else {
        format!("{client_info} {image}")
    };
    let label = format!("control-session: {info}{}", archive_id_suffix(archive_id));
    (key, label)
}

/// Raises a counter that only its owner writes to `value` if that is higher.
pub(crate) fn propose_max(counter: &Counter, value: i64) {
    if value > counter.get() {
        counter.set(value);
    }
}

/// An agent's duty-cycle stall tracker (Agrona's `DutyCycleStallTracker`): the longest time between two
/// cycle starts, and how many exceeded the threshold.
pub(crate) struct DutyCycleTracker {
    max_cycle_time: Counter,
    threshold_exceeded: Counter,
    threshold: Duration,
    last_cycle: Option<Instant>,
}

impl DutyCycleTracker {
    /// Allocates the two counters of `agent` ("archive-conductor", ...) in threading mode `mode`.
    pub(crate) fn allocate(
        aeron: &Aeron,
        agent: &str,
        mode: &str,
        threshold: Duration,
        archive_id: i64,
    ) -> Result<Self, AeronError> {
        let max_cycle_time = allocate(
            aeron,
            ARCHIVE_MAX_CYCLE_TIME_TYPE_ID,
            &format!("{agent} max cycle time in ns: {mode}"),
            archive_id,
        )?;
        let threshold_exceeded = allocate(
            aeron,
            ARCHIVE_CYCLE_TIME_THRESHOLD_EXCEEDED_TYPE_ID,
            &format!(
                "{agent} work cycle time exceeded count: threshold={} {mode}",
                format_duration(threshold)
            ),
            archive_id,
        )?;
        Ok(Self {
            max_cycle_time,
            threshold_exceeded,
            threshold,
            last_cycle: None,
        })
    }

    /// Called at the start of each duty cycle.
    pub(crate) fn measure_and_update(&mut self, now: Instant) {
        if let Some(last) = self.last_cycle.replace(now) {
            let cycle = now.saturating_duration_since(last);
            propose_max(&self.max_cycle_time, cycle.as_nanos() as i64);
            if cycle > self.threshold {
                self.threshold_exceeded.increment();
            }
        }
    }
}

/// Time and bytes of the recorder's writes or the replayer's reads: a max-time, a total-bytes and a
/// total-time counter.
pub(crate) struct IoCounters {
    max_time: Counter,
    total_bytes: Counter,
    total_time: Counter,
}

impl IoCounters {
    /// The recorder's write counters.
    pub(crate) fn recorder(aeron: &Aeron, archive_id: i64) -> Result<Self, AeronError> {
        Ok(Self {
            max_time: allocate(
                aeron,
                ARCHIVE_RECORDER_MAX_WRITE_TIME_TYPE_ID,
                "archive-recorder max write time in ns",
                archive_id,
            )?,
            total_bytes: allocate(
                aeron,
                ARCHIVE_RECORDER_TOTAL_WRITE_BYTES_TYPE_ID,
                "archive-recorder total write bytes",
                archive_id,
            )?,
            total_time: allocate(
                aeron,
                ARCHIVE_RECORDER_TOTAL_WRITE_TIME_TYPE_ID,
                "archive-recorder total write time in ns",
                archive_id,
            )?,
        })
    }

    /// The replayer's read counters.
    pub(crate) fn replayer(aeron: &Aeron, archive_id: i64) -> Result<Self, AeronError> {
        Ok(Self {
            max_time: allocate(
                aeron,
                ARCHIVE_REPLAYER_MAX_READ_TIME_TYPE_ID,
                "archive-replayer max read time in ns",
                archive_id,
            )?,
            total_bytes: allocate(
                aeron,
                ARCHIVE_REPLAYER_TOTAL_READ_BYTES_TYPE_ID,
                "archive-replayer total read bytes",
                archive_id,
            )?,
            total_time: allocate(
                aeron,
                ARCHIVE_REPLAYER_TOTAL_READ_TIME_TYPE_ID,
                "archive-replayer total read time in ns",
                archive_id,
            )?,
        })
    }

    /// Adds what one session did in a cycle: its bytes, its time and its longest single operation.
    pub(crate) fn add(&self, stats: IoStats) {
        if stats.bytes == 0 {
            return;
        }
        self.total_bytes.get_and_add(stats.bytes as i64);
        self.total_time.get_and_add(stats.total_ns as i64);
        propose_max(&self.max_time, stats.max_ns as i64);
    }
}

/// What a session's writes or reads took since it was last asked.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IoStats {
    pub(crate) bytes: u64,
    pub(crate) total_ns: u64,
    pub(crate) max_ns: u64,
}

impl IoStats {
    /// Adds one operation of `bytes` that took `elapsed`.
    pub(crate) fn record(&mut self, bytes: usize, elapsed: Duration) {
        let ns = elapsed.as_nanos() as u64;
        self.bytes += bytes as u64;
        self.total_ns += ns;
        self.max_ns = self.max_ns.max(ns);
    }

    /// Returns the stats so far and starts again.
    pub(crate) fn take(&mut self) -> Self {
        std::mem::take(self)
    }
}

/// The counters of the conductor: errors, control/recording/replay session counts, its cycle tracker.
pub(crate) struct ConductorCounters {
    pub(crate) errors: Counter,
    pub(crate) control_sessions: Counter,
    pub(crate) recording_sessions: Counter,
    pub(crate) replay_sessions: Counter,
    pub(crate) cycle: DutyCycleTracker,
}

/// Every counter of an archive, allocated in the order Java's archive allocates them.
pub(crate) struct ArchiveCounters {
    pub(crate) conductor: ConductorCounters,
    pub(crate) recorder_cycle: Option<DutyCycleTracker>,
    pub(crate) replayer_cycle: Option<DutyCycleTracker>,
    pub(crate) writes: IoCounters,
    pub(crate) reads: IoCounters,
}

/// The agents' cycle thresholds and whether the recorder and replayer have threads of their own.
pub(crate) struct CycleSettings<'a> {
    pub(crate) mode: &'a str,
    pub(crate) dedicated: bool,
    pub(crate) conductor: Duration,
    pub(crate) recorder: Duration,
    pub(crate) replayer: Duration,
}

impl ArchiveCounters {
    pub(crate) fn allocate(
        aeron: &Aeron,
        archive_id: i64,
        cycles: &CycleSettings<'_>,
    ) -> Result<Self, AeronError> {
        let version = format!(
            " version=1.54.0 commit=oxeron-{}",
            env!("CARGO_PKG_VERSION")
        );
        let errors = aeron.add_counter(
            ARCHIVE_ERROR_COUNT_TYPE_ID,
            &archive_id.to_le_bytes(),
            &format!("Archive Errors{}{version}", archive_id_suffix(archive_id)),
        )?;
        let tracker = |agent: &str, threshold: Duration| {
            DutyCycleTracker::allocate(aeron, agent, cycles.mode, threshold, archive_id)
        };
        let cycle = tracker("archive-conductor", cycles.conductor)?;
        let (recorder_cycle, replayer_cycle) = if cycles.dedicated {
            (
                Some(tracker("archive-recorder", cycles.recorder)?),
                Some(tracker("archive-replayer", cycles.replayer)?),
            )
        } else {
            (None, None)
        };
        let conductor = ConductorCounters {
            errors,
            cycle,
            control_sessions: allocate(
                aeron,
                ARCHIVE_CONTROL_SESSIONS_TYPE_ID,
                "Archive Control Sessions",
                archive_id,
            )?,
            recording_sessions: allocate(
                aeron,
                ARCHIVE_RECORDING_SESSION_COUNT_TYPE_ID,
                "Archive Recording Sessions",
                archive_id,
            )?,
            replay_sessions: allocate(
                aeron,
                ARCHIVE_REPLAY_SESSION_COUNT_TYPE_ID,
                "Archive Replay Sessions",
                archive_id,
            )?,
        };
        Ok(Self {
            conductor,
            recorder_cycle,
            replayer_cycle,
            writes: IoCounters::recorder(aeron, archive_id)?,
            reads: IoCounters::replayer(aeron, archive_id)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_written_in_their_largest_whole_unit() {
        assert_eq!(format_duration(Duration::from_millis(100)), "100ms");
        assert_eq!(format_duration(Duration::from_secs(5)), "5s");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1500us");
        assert_eq!(format_duration(Duration::from_nanos(1001)), "1001ns");
    }

    #[test]
    fn control_session_labels_name_the_client_and_its_image() {
        let (key, label) = control_session_key(7, 42, "name=app", "127.0.0.1:5000", -3);
        assert_eq!(&key[..8], &7i64.to_le_bytes());
        assert_eq!(&key[8..], &42i64.to_le_bytes());
        assert_eq!(
            label,
            "control-session: name=app sourceIdentity=127.0.0.1:5000 sessionId=-3 - archiveId=7"
        );
        let (_, label) = control_session_key(7, 42, "", "aeron:ipc", 1);
        assert_eq!(
            label,
            "control-session: sourceIdentity=aeron:ipc sessionId=1 - archiveId=7"
        );
    }

    #[test]
    fn io_stats_sum_bytes_and_time_and_keep_the_longest() {
        let mut stats = IoStats::default();
        stats.record(100, Duration::from_nanos(50));
        stats.record(300, Duration::from_nanos(20));
        assert_eq!(
            stats.take(),
            IoStats {
                bytes: 400,
                total_ns: 70,
                max_ns: 50
            }
        );
        assert_eq!(stats, IoStats::default());
    }
}
