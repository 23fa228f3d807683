//! The run settings, resolved.

use sim::SimDuration;

/// Replications one run may ask for: each keeps its KPIs in memory for the summary
/// (a few kilobytes to a few hundred for a large plant), so this bounds a run's memory.
/// A larger study splits over `sweep --shard` and `merge`.
pub const MAX_REPLICATIONS: usize = 100_000;

/// Cells of time series (rows × columns) one run records, at most: about 400 MB of CSV,
/// or 0.8 GB where a caller keeps it in memory (`simulate` returns it whole; the CLI
/// writes it as the run goes).
pub const MAX_SAMPLE_CELLS: u64 = 50_000_000;

/// Rows a run of `horizon` sampled every `interval` records.
pub fn samples(horizon: sim::SimDuration, interval: sim::SimDuration) -> u64 {
    horizon.0 / interval.0.max(1) + 1
}

/// Run settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
