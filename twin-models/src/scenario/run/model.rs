//! The run settings, resolved.

use sim::SimDuration;

/// Replications one run may ask for: each keeps its KPIs in memory for the summary
/// (a few kilobytes to a few hundred for a large plant), so this bounds a run's memory.
/// A larger study splits over `sweep --shard` and `merge`.
pub const MAX_REPLICATIONS: usize = 100_000;

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
