//! The run settings, resolved.

use sim::SimDuration;

/// Run settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// The real time simulated time 0 stands for (for replayed feeds).
    pub start: Option<feeds::Timestamp>,
    /// Simulated time to run.
    pub horizon: SimDuration,
    /// Initial period left out of the statistics.
    pub warmup: SimDuration,
    /// Base seed.
    pub seed: u64,
    /// Interval between time-series samples.
    pub sample_interval: SimDuration,
    /// Default number of replications.
    pub replications: u32,
}
