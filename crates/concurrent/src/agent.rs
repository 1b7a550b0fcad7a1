//! Agents: single-threaded duty cycles (`do_work`), run on their own thread by an [`AgentRunner`], or
//! driven by the caller's thread through an [`AgentInvoker`] — Aeron's conductor, sender and receiver shape.

use std::error::Error as StdError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::idle::IdleStrategy;

/// Why a duty cycle failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The agent asks to stop: the runner closes it and ends its thread.
    #[error("agent terminated: {0}")]
    Terminate(String),
    /// A failure to report; the runner keeps cycling.
    #[error(transparent)]
    Other(#[from] Box<dyn StdError + Send + Sync>),
}

impl AgentError {
    /// An error to report that does not stop the agent.
    pub fn other(message: impl Into<String>) -> Self {
        AgentError::Other(message.into().into())
    }
}

/// A unit of work driven by repeated calls to [`Agent::do_work`].
pub trait Agent: Send {
    /// Called once on the agent's thread before the first duty cycle.
    fn on_start(&mut self) -> Result<(), AgentError> {
        Ok(())
    }

    /// One duty cycle; returns how much work was done (0 lets the idle strategy back off).
    fn do_work(&mut self) -> Result<usize, AgentError>;

    /// Called once on the agent's thread after the last duty cycle.
    fn on_close(&mut self) {}

    /// A short name for the agent's role; names its thread.
    fn role_name(&self) -> &str;
}

/// Receives errors that agents report.
pub type ErrorHandler = Arc<dyn Fn(&AgentError) + Send + Sync>;

/// An error handler that prints failures to standard error; an agent's request to stop is no failure.
pub fn default_error_handler() -> ErrorHandler {
    Arc::new(|e| {
        if !matches!(e, AgentError::Terminate(_)) {
            eprintln!("agent error: {e}");
        }
    })
}

/// Several agents run as one, in order, each cycle (Aeron's shared threading modes).
pub struct CompositeAgent {
    agents: Vec<Box<dyn Agent>>,
    role_name: String,
}

impl CompositeAgent {
    /// Combines `agents`; the role name joins theirs with `,` in brackets.
    pub fn new(agents: Vec<Box<dyn Agent>>) -> Self {
        let names: Vec<&str> = agents.iter().map(|a| a.role_name()).collect();
        let role_name = format!("[{}]", names.join(","));
        CompositeAgent { agents, role_name }
    }
}

impl Agent for CompositeAgent {
    fn on_start(&mut self) -> Result<(), AgentError> {
        self.agents.iter_mut().try_for_each(|a| a.on_start())
    }

    fn do_work(&mut self) -> Result<usize, AgentError> {
        let mut work = 0;
        for agent in &mut self.agents {
            work += agent.do_work()?;
        }
        Ok(work)
    }

    fn on_close(&mut self) {
        for agent in &mut self.agents {
            agent.on_close();
        }
    }

    fn role_name(&self) -> &str {
        &self.role_name
    }
}

/// Runs an agent on a dedicated thread until closed or until the agent terminates itself.
///
/// ```
/// use oxeron_concurrent::agent::{default_error_handler, Agent, AgentError, AgentRunner};
/// use oxeron_concurrent::idle::BackoffIdleStrategy;
///
/// struct Counter(u64);
/// impl Agent for Counter {
///     fn do_work(&mut self) -> Result<usize, AgentError> {
///         self.0 += 1;
///         Ok(0)
///     }
///     fn role_name(&self) -> &str {
///         "counter"
///     }
/// }
///
/// let runner = AgentRunner::start(Counter(0), BackoffIdleStrategy::default(), default_error_handler()).unwrap();
/// runner.close();
/// ```
pub struct AgentRunner {
    running: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    role_name: String,
}

impl AgentRunner {
    /// Starts `agent` on a new thread named after its role.
    pub fn start<A, I>(mut agent: A, mut idle: I, errors: ErrorHandler) -> std::io::Result<Self>
    where
        A: Agent + 'static,
        I: IdleStrategy + 'static,
    {
        let running = Arc::new(AtomicBool::new(true));
        let role_name = agent.role_name().to_string();
        let flag = Arc::clone(&running);
        let thread = std::thread::Builder::new()
            .name(role_name.clone())
            .spawn(move || {
                if let Err(e) = agent.on_start() {
                    errors(&e);
                    flag.store(false, Ordering::Release);
                }
                while flag.load(Ordering::Acquire) {
                    match agent.do_work() {
                        Ok(work) => idle.idle_work(work),
                        Err(e @ AgentError::Terminate(_)) => {
                            errors(&e);
                            break;
                        }
                        Err(e) => {
                            errors(&e);
                            idle.idle();
                        }
                    }
                }
                flag.store(false, Ordering::Release);
                agent.on_close();
            })?;
        Ok(AgentRunner {
            running,
            thread: Some(thread),
            role_name,
        })
    }

    /// True until the runner is closed or the agent terminates.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// The agent's role name.
    pub fn role_name(&self) -> &str {
        &self.role_name
    }

    /// Stops the duty cycle, lets the agent close, and joins the thread.
    pub fn close(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.running.store(false, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                eprintln!("agent {} panicked", self.role_name);
            }
        }
    }
}

impl Drop for AgentRunner {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Drives an agent from the caller's thread: no thread of its own (Aeron's invoker mode).
pub struct AgentInvoker<A: Agent> {
    agent: A,
    errors: ErrorHandler,
    started: bool,
    closed: bool,
}

impl<A: Agent> AgentInvoker<A> {
    /// Wraps `agent`; call [`AgentInvoker::start`] then [`AgentInvoker::invoke`] repeatedly.
    pub fn new(agent: A, errors: ErrorHandler) -> Self {
        AgentInvoker {
            agent,
            errors,
            started: false,
            closed: false,
        }
    }

    /// Runs the agent's `on_start` once.
    pub fn start(&mut self) {
        if !self.started && !self.closed {
            self.started = true;
            if let Err(e) = self.agent.on_start() {
                (self.errors)(&e);
                self.close();
            }
        }
    }

    /// Runs one duty cycle; returns the work done (0 when not started or closed).
    pub fn invoke(&mut self) -> usize {
        if !self.started || self.closed {
            return 0;
        }
        match self.agent.do_work() {
            Ok(work) => work,
            Err(e) => {
                (self.errors)(&e);
                if matches!(e, AgentError::Terminate(_)) {
                    self.close();
                }
                0
            }
        }
    }

    /// True once started and not yet closed.
    pub fn is_running(&self) -> bool {
        self.started && !self.closed
    }

    /// The agent, for inspection.
    pub fn agent(&self) -> &A {
        &self.agent
    }

    /// The agent, mutably.
    pub fn agent_mut(&mut self) -> &mut A {
        &mut self.agent
    }

    /// Runs the agent's `on_close` once.
    pub fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.agent.on_close();
        }
    }
}

impl<A: Agent> Drop for AgentInvoker<A> {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idle::{BackoffIdleStrategy, NoOpIdleStrategy};
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    struct Recorder {
        name: &'static str,
        events: Arc<Mutex<Vec<String>>>,
        cycles: usize,
        stop_after: Option<usize>,
    }

    impl Agent for Recorder {
        fn on_start(&mut self) -> Result<(), AgentError> {
            self.events
                .lock()
                .unwrap()
                .push(format!("{} start", self.name));
            Ok(())
        }
        fn do_work(&mut self) -> Result<usize, AgentError> {
            self.cycles += 1;
            if Some(self.cycles) == self.stop_after {
                return Err(AgentError::Terminate("done".into()));
            }
            if self.cycles == 2 {
                return Err(AgentError::other("transient"));
            }
            Ok(1)
        }
        fn on_close(&mut self) {
            self.events
                .lock()
                .unwrap()
                .push(format!("{} close", self.name));
        }
        fn role_name(&self) -> &str {
            self.name
        }
    }

    fn recorder(
        name: &'static str,
        stop_after: Option<usize>,
    ) -> (Recorder, Arc<Mutex<Vec<String>>>) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let r = Recorder {
            name,
            events: Arc::clone(&events),
            cycles: 0,
            stop_after,
        };
        (r, events)
    }

    #[test]
    fn runner_reports_errors_and_stops_on_terminate() {
        let (agent, events) = recorder("conductor", Some(5));
        let reported = Arc::new(AtomicUsize::new(0));
        let r2 = Arc::clone(&reported);
        let runner = AgentRunner::start(
            agent,
            BackoffIdleStrategy::default(),
            Arc::new(move |_| {
                r2.fetch_add(1, Ordering::Relaxed);
            }),
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while runner.is_running() {
            assert!(
                Instant::now() < deadline,
                "agent did not terminate within 10 s"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        runner.close();
        assert_eq!(
            reported.load(Ordering::Relaxed),
            2,
            "transient error and termination"
        );
        assert_eq!(
            *events.lock().unwrap(),
            ["conductor start", "conductor close"]
        );
    }

    #[test]
    fn runner_close_joins_a_busy_agent() {
        let (agent, events) = recorder("sender", None);
        let runner = AgentRunner::start(agent, NoOpIdleStrategy, default_error_handler()).unwrap();
        assert_eq!(runner.role_name(), "sender");
        std::thread::sleep(Duration::from_millis(5));
        runner.close();
        assert_eq!(events.lock().unwrap().last().unwrap(), "sender close");
    }

    #[test]
    fn invoker_and_composite_run_on_the_callers_thread() {
        let (a, events_a) = recorder("sender", None);
        let (b, _) = recorder("receiver", None);
        let composite = CompositeAgent::new(vec![Box::new(a), Box::new(b)]);
        assert_eq!(composite.role_name(), "[sender,receiver]");
        let mut invoker = AgentInvoker::new(composite, Arc::new(|_| {}));
        assert_eq!(invoker.invoke(), 0, "not started yet");
        invoker.start();
        assert_eq!(invoker.invoke(), 2);
        assert_eq!(
            invoker.invoke(),
            0,
            "an error in a cycle is reported, not propagated"
        );
        drop(invoker);
        assert_eq!(*events_a.lock().unwrap(), ["sender start", "sender close"]);
    }
}
