//! Reaching a media driver through its CnC file without connecting a client: whether one is running, and
//! asking it to terminate (Aeron's `CommonContext.isDriverActive` and `requestDriverTermination`).

use oxeron_concurrent::clock::system_epoch_ms;
use oxeron_concurrent::ring_buffer::{ManyToOneRingBuffer, RingBufferError};
use oxeron_protocol::command::{Correlated, TerminateDriver, TERMINATE_DRIVER};

use crate::cnc_file::{CncError, CncFile};
use crate::{AeronError, Context};

/// Whether a driver's heartbeat (epoch ms; 0 before it starts, -1 once it shut down) is within `timeout`.
pub(crate) fn is_current(heartbeat_ms: i64, timeout: std::time::Duration) -> bool {
    heartbeat_ms > 0 && system_epoch_ms().saturating_sub(heartbeat_ms) <= timeout.as_millis() as i64
}

impl Context {
    /// Whether a media driver runs in this context's Aeron directory: its CnC file is there and ready, and
    /// the driver took commands within the driver timeout (Aeron's `CommonContext.isDriverActive`). Maps
    /// the file read-only and connects nothing.
    ///
    /// ```
    /// use oxeron_client::Context;
    ///
    /// let ctx = Context::new().aeron_dir("/dev/shm/oxeron-doc-no-driver-here");
    /// assert!(!ctx.is_driver_active());
    /// ```
    pub fn is_driver_active(&self) -> bool {
        let Ok(cnc) = CncFile::map_private(&CncFile::path_in(&self.aeron_dir)) else {
            return false;
        };
        let Ok(to_driver) = ManyToOneRingBuffer::new(cnc.to_driver_buffer().clone()) else {
            return false;
        };
        is_current(to_driver.consumer_heartbeat_time(), self.driver_timeout)
    }

    /// Asks the media driver in this Aeron directory to terminate, with `token` for its termination
    /// validator (Aeron's `CommonContext.requestDriverTermination`). `Ok(true)` once the request is in the
    /// driver's command queue; `Ok(false)` when there is no ready driver there or its queue is full. The
    /// driver stops only if its validator accepts (`AERON_DRIVER_TERMINATION_VALIDATOR`).
    ///
    /// ```
    /// use oxeron_client::Context;
    ///
    /// let ctx = Context::new().aeron_dir("/dev/shm/oxeron-doc-no-driver-here");
    /// assert!(!ctx.request_driver_termination(b"").unwrap());
    /// ```
    pub fn request_driver_termination(&self, token: &[u8]) -> Result<bool, AeronError> {
        let cnc = match CncFile::map(&self.aeron_dir) {
            Ok(cnc) => cnc,
            Err(CncError::Io { .. } | CncError::NotReady { .. }) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let to_driver = ManyToOneRingBuffer::new(cnc.to_driver_buffer().clone())
            .map_err(|e| AeronError::Cnc(e.to_string()))?;
        let command = TerminateDriver {
            correlated: Correlated {
                client_id: to_driver.next_correlation_id(),
                correlation_id: -1,
            },
            token,
        };
        let mut bytes = vec![0u8; command.encoded_length()];
        command.encode(&mut bytes);
        match to_driver.write(TERMINATE_DRIVER, &bytes) {
            Ok(()) => Ok(true),
            Err(RingBufferError::InsufficientCapacity) => Ok(false),
            Err(e) => Err(AeronError::InvalidArgument(format!(
                "termination token: {e}"
            ))),
        }
    }
}
