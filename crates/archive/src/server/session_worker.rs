//! A session worker (Aeron's `SessionWorker`): an agent that owns the sessions the conductor hands it. In
//! DEDICATED mode it runs on a thread of its own; in SHARED and INVOKER modes the conductor runs it inside its
//! own duty cycle. Either way the conductor talks to it only through its command and outcome queues.

use std::sync::mpsc::{Receiver, Sender};

use oxeron_concurrent::agent::{Agent, AgentError, AgentRunner, ErrorHandler};
use oxeron_concurrent::idle::IdleStrategy;

enum Run<A: Agent + 'static> {
    Inline(A),
    Dedicated(AgentRunner),
    Closed,
}

/// The conductor's end of a worker: commands go in, outcomes come back.
pub(crate) struct SessionWorker<A: Agent + 'static, C, O> {
    commands: Sender<C>,
    outcomes: Receiver<O>,
    run: Run<A>,
    errors: ErrorHandler,
}

impl<A: Agent + 'static, C, O> SessionWorker<A, C, O> {
    /// Starts `agent`, on its own thread when `dedicated` gives it an idle strategy.
    pub(crate) fn start(
        mut agent: A,
        commands: Sender<C>,
        outcomes: Receiver<O>,
        dedicated: Option<Box<dyn IdleStrategy>>,
        errors: ErrorHandler,
    ) -> std::io::Result<Self> {
        let run = match dedicated {
            Some(idle) => Run::Dedicated(AgentRunner::start(agent, idle, errors.clone())?),
            None => {
                if let Err(e) = agent.on_start() {
                    errors(&e);
                }
                Run::Inline(agent)
            }
        };
        Ok(Self {
            commands,
            outcomes,
            run,
            errors,
        })
    }

    /// Queues a command; a worker that has stopped drops it.
    pub(crate) fn send(&self, command: C) {
        let _ = self.commands.send(command);
    }

    /// The next outcome the worker reported.
    pub(crate) fn next_outcome(&self) -> Option<O> {
        self.outcomes.try_recv().ok()
    }

    /// Runs one duty cycle of an inline worker (a dedicated one runs by itself); returns the work done.
    pub(crate) fn do_work(&mut self) -> usize {
        match &mut self.run {
            Run::Inline(agent) => match agent.do_work() {
                Ok(work) => work,
                Err(e) => {
                    (self.errors)(&e);
                    if matches!(e, AgentError::Terminate(_)) {
                        self.close();
                    }
                    0
                }
            },
            _ => 0,
        }
    }

    /// Stops the worker and lets it close its sessions; their outcomes stay readable.
    pub(crate) fn close(&mut self) {
        match std::mem::replace(&mut self.run, Run::Closed) {
            Run::Inline(mut agent) => agent.on_close(),
            Run::Dedicated(runner) => runner.close(),
            Run::Closed => {}
        }
    }
}

impl<A: Agent + 'static, C, O> Drop for SessionWorker<A, C, O> {
    fn drop(&mut self) {
        self.close();
    }
}
