//! Simulated time paced to the wall clock.

use sim::{SimDuration, SimTime};
use std::time::{Duration, Instant};

/// A clock that runs `speed` simulated seconds per wall second from when it was made.
pub struct Pace {
    began: Instant,
    /// Simulated seconds per wall second.
    speed: f64,
    /// Simulated time when it began.
    from: SimTime,
}

impl Pace {
    /// Starts the clock now.
    pub fn new(speed: f64) -> Self {
        Self::resumed(speed, SimTime::ZERO)
    }

    /// A clock at `speed` that reads `from` now (a run resumed from a snapshot).
    #[allow(
        clippy::disallowed_methods,
        reason = "pacing follows the wall clock on purpose"
    )]
    pub fn resumed(speed: f64, from: SimTime) -> Self {
        Pace {
            began: Instant::now(),
            speed,
            from,
        }
    }

    /// Wall time since the clock started.
    pub fn wall(&self) -> Duration {
        self.began.elapsed()
    }

    /// When the clock started.
    pub fn began(&self) -> Instant {
        self.began
    }

    /// Simulated time now.
    pub fn now(&self) -> SimTime {
        let since = (self.wall().as_secs_f64() * self.speed * 1e9) as u64;
        SimTime(self.from.0.saturating_add(since))
    }

    /// Simulated time now, `behind` earlier (not before 0).
    pub fn now_less(&self, behind: SimDuration) -> SimTime {
        SimTime(self.now().0.saturating_sub(behind.0))
    }
}

/// Parses `--speed`: simulated seconds per wall second, above zero.
pub fn speed_arg(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a speed: give simulated seconds per wall second, a number above 0 (60 = a minute a second)"
        )),
    }
}
