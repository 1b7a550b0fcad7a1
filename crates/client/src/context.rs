//! Client configuration.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::AeronError;
use crate::image::Image;

/// Called with errors the client meets outside a call that could return them (driver errors for
/// requests nobody waits on, a lost driver, a lapped broadcast).
pub type ErrorHandler = Arc<dyn Fn(&AeronError) + Send + Sync>;
/// Called when an image becomes available to, or leaves, one of this client's subscriptions.
pub type ImageHandler = Arc<dyn Fn(&Image) + Send + Sync>;
/// Called with `(registration_id, counter_id)` when a counter becomes available or unavailable.
pub type CounterHandler = Arc<dyn Fn(i64, i32) + Send + Sync>;

/// The default Aeron directory, as the driver's: `/dev/shm/aeron-<user>` on Linux.
pub fn default_aeron_dir() -> PathBuf {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "default".to_string());
    let base = if cfg!(target_os = "linux") && std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("aeron-{user}"))
}

/// Client settings, with Aeron's defaults.
///
/// ```
/// use std::time::Duration;
/// use oxeron_client::Context;
///
/// let ctx = Context::new()
///     .aeron_dir("/dev/shm/my-app")
///     .driver_timeout(Duration::from_secs(5))
///     .error_handler(|e| eprintln!("aeron: {e}"));
/// assert_eq!(ctx.keepalive_interval, Duration::from_millis(500));
/// ```
#[derive(Clone)]
pub struct Context {
    /// Aeron directory of the driver (`AERON_DIR`).
    pub aeron_dir: PathBuf,
    /// The driver is considered dead when its heartbeat is older than this (`AERON_DRIVER_TIMEOUT`).
    pub driver_timeout: Duration,
    /// How often the client refreshes its heartbeat counter.
    pub keepalive_interval: Duration,
    /// How long the conductor thread sleeps when idle.
    pub idle_sleep: Duration,
    /// Run no conductor thread; the application calls [`crate::Aeron::invoke`] instead.
    pub use_conductor_agent_invoker: bool,
    /// Name shown in the client's heartbeat counter label (`AERON_CLIENT_NAME`).
    pub client_name: String,
    /// Receives asynchronous errors.
    pub error_handler: ErrorHandler,
    /// Called when an image becomes available.
    pub on_available_image: Option<ImageHandler>,
    /// Called when an image goes away.
    pub on_unavailable_image: Option<ImageHandler>,
    /// Called when a counter becomes available.
    pub on_available_counter: Option<CounterHandler>,
    /// Called when a counter goes away.
    pub on_unavailable_counter: Option<CounterHandler>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("aeron_dir", &self.aeron_dir)
            .field("driver_timeout", &self.driver_timeout)
            .field("keepalive_interval", &self.keepalive_interval)
            .field(
                "use_conductor_agent_invoker",
                &self.use_conductor_agent_invoker,
            )
            .field("client_name", &self.client_name)
            .finish_non_exhaustive()
    }
}

impl Default for Context {
    fn default() -> Self {
        Context {
            aeron_dir: default_aeron_dir(),
            driver_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_millis(500),
            idle_sleep: Duration::from_millis(16),
            use_conductor_agent_invoker: false,
            client_name: String::new(),
            error_handler: Arc::new(|e| eprintln!("aeron client error: {e}")),
            on_available_image: None,
            on_unavailable_image: None,
            on_available_counter: None,
            on_unavailable_counter: None,
        }
    }
}

impl Context {
    /// Aeron's defaults.
    pub fn new() -> Self {
        Context::default()
    }

    /// Aeron's defaults overridden by Aeron's environment variables: `AERON_DIR`, `AERON_DRIVER_TIMEOUT`,
    /// `AERON_CLIENT_NAME`, `AERON_USE_CONDUCTOR_AGENT_INVOKER`.
    pub fn from_env() -> Result<Self, crate::env::EnvError> {
        use crate::env;
        let mut ctx = Context::default();
        if let Some(dir) = env::path("AERON_DIR") {
            ctx.aeron_dir = dir;
        }
        if let Some(t) = env::duration("AERON_DRIVER_TIMEOUT")? {
            ctx.driver_timeout = t;
        }
        if let Some(name) = env::string("AERON_CLIENT_NAME") {
            ctx.client_name = name;
        }
        if let Some(invoker) = env::boolean("AERON_USE_CONDUCTOR_AGENT_INVOKER")? {
            ctx.use_conductor_agent_invoker = invoker;
        }
        Ok(ctx)
    }

    /// The Aeron directory of the driver this context connects to.
    pub fn aeron_dir_path(&self) -> &std::path::Path {
        &self.aeron_dir
    }

    /// Sets the Aeron directory.
    pub fn aeron_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.aeron_dir = dir.into();
        self
    }

    /// Sets the driver timeout.
    pub fn driver_timeout(mut self, timeout: Duration) -> Self {
        self.driver_timeout = timeout;
        self
    }

    /// Sets the keepalive interval.
    pub fn keepalive_interval(mut self, interval: Duration) -> Self {
        self.keepalive_interval = interval;
        self
    }

    /// Sets the conductor's idle sleep.
    pub fn idle_sleep(mut self, sleep: Duration) -> Self {
        self.idle_sleep = sleep;
        self
    }

    /// Runs without a conductor thread.
    pub fn use_conductor_agent_invoker(mut self, invoker: bool) -> Self {
        self.use_conductor_agent_invoker = invoker;
        self
    }

    /// Sets the client name.
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    /// Sets the asynchronous error handler.
    pub fn error_handler(mut self, handler: impl Fn(&AeronError) + Send + Sync + 'static) -> Self {
        self.error_handler = Arc::new(handler);
        self
    }

    /// Sets the available-image handler.
    pub fn on_available_image(mut self, handler: impl Fn(&Image) + Send + Sync + 'static) -> Self {
        self.on_available_image = Some(Arc::new(handler));
        self
    }

    /// Sets the unavailable-image handler.
    pub fn on_unavailable_image(
        mut self,
        handler: impl Fn(&Image) + Send + Sync + 'static,
    ) -> Self {
        self.on_unavailable_image = Some(Arc::new(handler));
        self
    }

    /// Sets the available-counter handler.
    pub fn on_available_counter(
        mut self,
        handler: impl Fn(i64, i32) + Send + Sync + 'static,
    ) -> Self {
        self.on_available_counter = Some(Arc::new(handler));
        self
    }

    /// Sets the unavailable-counter handler.
    pub fn on_unavailable_counter(
        mut self,
        handler: impl Fn(i64, i32) + Send + Sync + 'static,
    ) -> Self {
        self.on_unavailable_counter = Some(Arc::new(handler));
        self
    }
}
