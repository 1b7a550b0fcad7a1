//! Idle strategies: what a duty-cycle thread does when its last cycle found no work.
//!
//! The same choices Aeron offers, by the same names: busy-spin, no-op, yield, sleep and backoff (spin, then
//! yield, then park with an exponentially growing sleep).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// What to do between duty cycles that found no work.
pub trait IdleStrategy: Send {
    /// Idles if `work_count` is zero, otherwise resets any backoff.
    #[inline]
    fn idle_work(&mut self, work_count: usize) {
        if work_count > 0 {
            self.reset();
        } else {
            self.idle();
        }
    }

    /// Idles once, escalating from the previous call if the strategy backs off.
    fn idle(&mut self);

    /// Forgets any backoff state: the next idle starts from the cheapest step.
    fn reset(&mut self);

    /// Aeron's short name for the strategy (`backoff`, `sleep-ns`, ...).
    fn alias(&self) -> &'static str;
}

impl<S: IdleStrategy + ?Sized> IdleStrategy for Box<S> {
    #[inline]
    fn idle_work(&mut self, work_count: usize) {
        (**self).idle_work(work_count)
    }

    #[inline]
    fn idle(&mut self) {
        (**self).idle()
    }

    fn reset(&mut self) {
        (**self).reset()
    }

    fn alias(&self) -> &'static str {
        (**self).alias()
    }
}

/// Spins on the CPU (lowest latency, burns a core).
#[derive(Debug, Default, Clone, Copy)]
pub struct BusySpinIdleStrategy;

impl IdleStrategy for BusySpinIdleStrategy {
    #[inline]
    fn idle(&mut self) {
        std::hint::spin_loop();
    }
    fn reset(&mut self) {}
    fn alias(&self) -> &'static str {
        "spin"
    }
}

/// Does nothing at all between cycles.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoOpIdleStrategy;

impl IdleStrategy for NoOpIdleStrategy {
    #[inline]
    fn idle(&mut self) {}
    fn reset(&mut self) {}
    fn alias(&self) -> &'static str {
        "noop"
    }
}

/// Yields the thread to the scheduler.
#[derive(Debug, Default, Clone, Copy)]
pub struct YieldingIdleStrategy;

impl IdleStrategy for YieldingIdleStrategy {
    #[inline]
    fn idle(&mut self) {
        std::thread::yield_now();
    }
    fn reset(&mut self) {}
    fn alias(&self) -> &'static str {
        "yield"
    }
}

/// Sleeps for a fixed period.
#[derive(Debug, Clone, Copy)]
pub struct SleepingIdleStrategy {
    period: Duration,
}

impl SleepingIdleStrategy {
    /// Sleeps for `period` whenever idle.
    pub fn new(period: Duration) -> Self {
        SleepingIdleStrategy { period }
    }
}

impl Default for SleepingIdleStrategy {
    /// Aeron's client conductor default: 16 ms.
    fn default() -> Self {
        SleepingIdleStrategy::new(Duration::from_millis(16))
    }
}

impl IdleStrategy for SleepingIdleStrategy {
    fn idle(&mut self) {
        std::thread::sleep(self.period);
    }
    fn reset(&mut self) {}
    fn alias(&self) -> &'static str {
        "sleep-ns"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BackoffState {
    NotIdle,
    Spinning,
    Yielding,
    Parking,
}

/// Spins, then yields, then sleeps with a period doubling from `min_park` to `max_park`.
#[derive(Debug, Clone)]
pub struct BackoffIdleStrategy {
    max_spins: u64,
    max_yields: u64,
    min_park: Duration,
    max_park: Duration,
    state: BackoffState,
    spins: u64,
    yields: u64,
    park: Duration,
}

impl BackoffIdleStrategy {
    /// Aeron's defaults: 10 spins, 5 yields, park 1 us doubling to 1 ms.
    pub const DEFAULT_MAX_SPINS: u64 = 10;
    /// Default number of yields before parking.
    pub const DEFAULT_MAX_YIELDS: u64 = 5;
    /// Default first park period.
    pub const DEFAULT_MIN_PARK: Duration = Duration::from_micros(1);
    /// Default longest park period.
    pub const DEFAULT_MAX_PARK: Duration = Duration::from_millis(1);

    /// A backoff with the given limits; `max_park` is raised to `min_park` if smaller.
    pub fn new(max_spins: u64, max_yields: u64, min_park: Duration, max_park: Duration) -> Self {
        BackoffIdleStrategy {
            max_spins,
            max_yields,
            min_park,
            max_park: max_park.max(min_park),
            state: BackoffState::NotIdle,
            spins: 0,
            yields: 0,
            park: min_park,
        }
    }

    /// The sleep the next parking step would take (for tests and diagnostics).
    pub fn current_park(&self) -> Duration {
        self.park
    }
}

impl Default for BackoffIdleStrategy {
    fn default() -> Self {
        BackoffIdleStrategy::new(
            Self::DEFAULT_MAX_SPINS,
            Self::DEFAULT_MAX_YIELDS,
            Self::DEFAULT_MIN_PARK,
            Self::DEFAULT_MAX_PARK,
        )
    }
}

impl IdleStrategy for BackoffIdleStrategy {
    fn idle(&mut self) {
        match self.state {
            BackoffState::NotIdle => {
                self.state = BackoffState::Spinning;
                self.spins = 1;
                std::hint::spin_loop();
            }
            BackoffState::Spinning => {
                std::hint::spin_loop();
                self.spins += 1;
                if self.spins > self.max_spins {
                    self.state = BackoffState::Yielding;
                    self.yields = 0;
                }
            }
            BackoffState::Yielding => {
                self.yields += 1;
                if self.yields > self.max_yields {
                    self.state = BackoffState::Parking;
                    self.park = self.min_park;
                } else {
                    std::thread::yield_now();
                }
            }
            BackoffState::Parking => {
                std::thread::sleep(self.park);
                self.park = (self.park * 2).min(self.max_park);
            }
        }
    }

    fn reset(&mut self) {
        self.state = BackoffState::NotIdle;
        self.spins = 0;
        self.yields = 0;
        self.park = self.min_park;
    }

    fn alias(&self) -> &'static str {
        "backoff"
    }
}

/// An idle strategy chosen by name, as Aeron's configuration names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleStrategyKind {
    /// [`BusySpinIdleStrategy`].
    BusySpin,
    /// [`NoOpIdleStrategy`].
    NoOp,
    /// [`YieldingIdleStrategy`].
    Yielding,
    /// [`SleepingIdleStrategy`] with this period.
    Sleeping(Duration),
    /// [`BackoffIdleStrategy`] with Aeron's defaults.
    Backoff,
}

impl IdleStrategyKind {
    /// Builds the strategy.
    pub fn build(self) -> Box<dyn IdleStrategy> {
        match self {
            IdleStrategyKind::BusySpin => Box::new(BusySpinIdleStrategy),
            IdleStrategyKind::NoOp => Box::new(NoOpIdleStrategy),
            IdleStrategyKind::Yielding => Box::new(YieldingIdleStrategy),
            IdleStrategyKind::Sleeping(p) => Box::new(SleepingIdleStrategy::new(p)),
            IdleStrategyKind::Backoff => Box::new(BackoffIdleStrategy::default()),
        }
    }
}

/// A name that is not one of Aeron's idle strategies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown idle strategy {0:?} (expected spin, noop, yield, sleep-ns or backoff)")]
pub struct UnknownIdleStrategy(pub String);

impl FromStr for IdleStrategyKind {
    type Err = UnknownIdleStrategy;

    /// Accepts Aeron C's names (`spin`, `noop`, `yield`, `sleep-ns`, `backoff`) and Agrona's class names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        let short = name.rsplit('.').next().unwrap_or(name);
        Ok(match short {
            "spin" | "busy_spin" | "busy-spin" | "BusySpinIdleStrategy" => Self::BusySpin,
            "noop" | "no-op" | "NoOpIdleStrategy" => Self::NoOp,
            "yield" | "yielding" | "YieldingIdleStrategy" => Self::Yielding,
            "sleep-ns"
            | "sleep-ms"
            | "sleeping"
            | "sleep"
            | "SleepingIdleStrategy"
            | "SleepingMillisIdleStrategy" => Self::Sleeping(Duration::from_millis(1)),
            "backoff" | "BackoffIdleStrategy" => Self::Backoff,
            _ => return Err(UnknownIdleStrategy(s.to_string())),
        })
    }
}

impl fmt::Display for IdleStrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.build().alias())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_escalates_spin_yield_park_and_resets() {
        let mut b =
            BackoffIdleStrategy::new(2, 1, Duration::from_micros(1), Duration::from_micros(4));
        for _ in 0..5 {
            b.idle();
        }
        assert_eq!(b.state, BackoffState::Parking);
        b.idle();
        b.idle();
        b.idle();
        assert_eq!(
            b.current_park(),
            Duration::from_micros(4),
            "park doubles up to the max"
        );
        b.idle_work(1);
        assert_eq!(b.state, BackoffState::NotIdle);
        assert_eq!(b.current_park(), Duration::from_micros(1));
    }

    #[test]
    fn names_parse_like_aeron() {
        assert_eq!("backoff".parse(), Ok(IdleStrategyKind::Backoff));
        assert_eq!(
            "org.agrona.concurrent.BusySpinIdleStrategy".parse(),
            Ok(IdleStrategyKind::BusySpin)
        );
        assert_eq!("yield".parse(), Ok(IdleStrategyKind::Yielding));
        assert!("fast".parse::<IdleStrategyKind>().is_err());
        assert_eq!(IdleStrategyKind::Backoff.to_string(), "backoff");
    }
}
