//! Simulated time paced to the wall clock.

use sim::{SimDuration, SimTime};
use std::time::{Duration, Instant};

/// A clock that runs `speed` simulated seconds per wall second from when it was made.
pub struct Pace {
    began: Instant,
    /// Simulated seconds per wall second.
    speed: f64,
}

impl Pace {
    /// Starts the clock now.
    #[allow(
        clippy::disallowed_methods,
        reason = "pacing follows the wall clock on purpose"
    )]
    pub fn new(speed: f64) -> Self {
        Pace {
            began: Instant::now(),
            speed,
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
        SimTime((self.wall().as_secs_f64() * self.speed * 1e9) as u64)
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
