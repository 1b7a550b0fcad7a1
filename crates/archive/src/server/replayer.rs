//! The replayer (Aeron's `Replayer`): the agent that drives every replay session, on the archive's replayer
//! thread in DEDICATED mode. All its replays read through one buffer, as Java's replayer does.

use std::sync::mpsc::{Receiver, Sender};
use std::time::Instant;

use oxeron_client::Aeron;
use oxeron_concurrent::agent::{Agent, AgentError};
use oxeron_concurrent::counters::{CountersReader, RECORD_ALLOCATED};
use oxeron_protocol::archive::NULL_POSITION;

use super::archive_counters::{DutyCycleTracker, IoCounters};
use super::replay_session::{ReplayEnd, ReplaySession};

/// What the conductor asks of the replayer.
pub(crate) enum ReplayerCommand {
    /// Start driving a replay.
    Add(Box<ReplaySession>),
    /// End a replay now (a stop request).
    Stop { replay_session_id: i64 },
}

/// A replay that ended by itself, reported so the conductor tells its control session why.
pub(crate) struct EndedReplay {
    pub(crate) replay_session_id: i64,
    pub(crate) recording_id: i64,
    pub(crate) requested_by: (i64, i64),
    pub(crate) channel: String,
    pub(crate) end: ReplayEnd,
}

/// The value of a counter of the driver that is allocated now.
pub(crate) fn allocated_counter_value(counters: &CountersReader, counter_id: i32) -> Option<i64> {
    let allocated = counters.counter_state(counter_id).ok()? == RECORD_ALLOCATED;
    allocated
        .then(|| counters.counter_value(counter_id).ok())
        .flatten()
}

/// Drives the replay sessions.
pub(crate) struct Replayer {
    aeron: Aeron,
    sessions: Vec<ReplaySession>,
    buffer: Vec<u8>,
    commands: Receiver<ReplayerCommand>,
    ended: Sender<EndedReplay>,
    reads: IoCounters,
    /// The replayer's own cycle counters, in DEDICATED mode.
    cycle: Option<DutyCycleTracker>,
}

impl Replayer {
    pub(crate) fn new(
        aeron: Aeron,
        commands: Receiver<ReplayerCommand>,
        ended: Sender<EndedReplay>,
        reads: IoCounters,
        cycle: Option<DutyCycleTracker>,
    ) -> Self {
        Self {
            aeron,
            sessions: Vec::new(),
            buffer: Vec::new(),
            commands,
            ended,
            reads,
            cycle,
        }
    }

    fn on_command(&mut self, command: ReplayerCommand) {
        match command {
            ReplayerCommand::Add(session) => self.sessions.push(*session),
            ReplayerCommand::Stop { replay_session_id } => self
                .sessions
                .retain(|s| s.replay_session_id != replay_session_id),
        }
    }

    fn step(&mut self, index: usize, now: Instant) -> Result<usize, ReplayEnd> {
        let session = &mut self.sessions[index];
        let recorded = session.recorded.as_ref().and_then(|r| r.live());
        // While the recording is live its stop position is unknown; once it stops, it is where it got to.
        let stop = match &session.recorded {
            Some(progress) if recorded.is_none() => progress.position(),
            Some(_) => NULL_POSITION,
            None => session.stop_position,
        };
        let live = match session.bound_counter {
            // A bounded replay follows its counter, never past what was recorded.
            Some(counter_id) => allocated_counter_value(self.aeron.counters_reader(), counter_id)
                .map(|bound| bound.min(recorded.unwrap_or(stop))),
            None => recorded,
        };
        let result = session.do_work(now, live, stop, &mut self.buffer);
        session.share_position();
        self.reads.add(session.reads.take());
        result
    }
}

impl Agent for Replayer {
    fn do_work(&mut self) -> Result<usize, AgentError> {
        let now = Instant::now();
        if let Some(cycle) = &mut self.cycle {
            cycle.measure_and_update(now);
        }
        let mut work = 0;
        while let Ok(command) = self.commands.try_recv() {
            self.on_command(command);
            work += 1;
        }
        let mut i = 0;
        while i < self.sessions.len() {
            match self.step(i, now) {
                Ok(bytes) => {
                    work += bytes;
                    i += 1;
                }
                Err(end) => {
                    let session = self.sessions.remove(i);
                    let _ = self.ended.send(EndedReplay {
                        replay_session_id: session.replay_session_id,
                        recording_id: session.recording_id,
                        requested_by: session.requested_by,
                        channel: session.channel.clone(),
                        end,
                    });
                    work += 1;
                }
            }
        }
        Ok(work)
    }

    fn on_close(&mut self) {
        self.sessions.clear();
    }

    fn role_name(&self) -> &str {
        "archive-replayer"
    }
}
