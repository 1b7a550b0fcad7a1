//! The recorder (Aeron's `Recorder`): the agent that drives every recording session, on the archive's
//! recorder thread in DEDICATED mode.

use std::sync::mpsc::{Receiver, Sender};

use oxeron_client::Subscription;
use oxeron_concurrent::agent::{Agent, AgentError};

use super::archive_counters::{DutyCycleTracker, IoCounters};
use super::recording_session::{RecordingEnd, RecordingSession};

/// What the conductor asks of the recorder.
pub(crate) enum RecorderCommand {
    /// Start driving a session.
    Add(Box<RecordingSession>),
    /// Stop the sessions of a recording subscription after recording what their images hold, then close
    /// the subscription.
    StopSubscription {
        subscription_id: i64,
        subscription: Subscription,
    },
}

/// A session the recorder has finished with, handed back so the conductor updates the catalog.
pub(crate) struct EndedRecording {
    pub(crate) session: Box<RecordingSession>,
    pub(crate) end: RecordingEnd,
}

/// Drives the recording sessions.
pub(crate) struct Recorder {
    sessions: Vec<RecordingSession>,
    commands: Receiver<RecorderCommand>,
    ended: Sender<EndedRecording>,
    writes: IoCounters,
    /// The recorder's own cycle counters, in DEDICATED mode.
    cycle: Option<DutyCycleTracker>,
}

impl Recorder {
    pub(crate) fn new(
        commands: Receiver<RecorderCommand>,
        ended: Sender<EndedRecording>,
        writes: IoCounters,
        cycle: Option<DutyCycleTracker>,
    ) -> Self {
        Self {
            sessions: Vec::new(),
            commands,
            ended,
            writes,
            cycle,
        }
    }

    fn hand_back(&self, mut session: RecordingSession, end: RecordingEnd) {
        self.writes.add(session.writes.take());
        session.end();
        let _ = self.ended.send(EndedRecording {
            session: Box::new(session),
            end,
        });
    }

    fn stop_where(&mut self, stop: impl Fn(&RecordingSession) -> bool) {
        let mut i = 0;
        while i < self.sessions.len() {
            if stop(&self.sessions[i]) {
                let mut session = self.sessions.swap_remove(i);
                let end = session.drain().unwrap_or(RecordingEnd::Stopped);
                self.hand_back(session, end);
            } else {
                i += 1;
            }
        }
    }

    fn on_command(&mut self, command: RecorderCommand) {
        match command {
            RecorderCommand::Add(session) => self.sessions.push(*session),
            RecorderCommand::StopSubscription {
                subscription_id,
                subscription,
            } => {
                self.stop_where(|s| s.subscription_id == subscription_id);
                drop(subscription);
            }
        }
    }
}

impl Agent for Recorder {
    fn do_work(&mut self) -> Result<usize, AgentError> {
        if let Some(cycle) = &mut self.cycle {
            cycle.measure_and_update(std::time::Instant::now());
        }
        let mut work = 0;
        while let Ok(command) = self.commands.try_recv() {
            self.on_command(command);
            work += 1;
        }
        let mut i = 0;
        while i < self.sessions.len() {
            match self.sessions[i].do_work() {
                Ok(bytes) => {
                    self.writes.add(self.sessions[i].writes.take());
                    work += bytes;
                    i += 1;
                }
                Err(end) => {
                    let session = self.sessions.swap_remove(i);
                    self.hand_back(session, end);
                    work += 1;
                }
            }
        }
        Ok(work)
    }

    fn on_close(&mut self) {
        while let Ok(command) = self.commands.try_recv() {
            self.on_command(command);
        }
        self.stop_where(|_| true);
    }

    fn role_name(&self) -> &str {
        "archive-recorder"
    }
}
