//! `[run]` and `[[products]]`, as written.

use schemars::JsonSchema;
use serde::Deserialize;

/// Run settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunFile {
    /// Simulated time to run, e.g. "8h", "365d".
    pub horizon: String,
    /// Time at the start whose statistics are discarded, e.g. "1h". Default "0s".
    #[serde(default)]
    pub warmup: Option<String>,
    /// Base random seed. Default 1.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Interval between time-series samples, e.g. "1min". Default: horizon / 500.
    #[serde(default)]
    pub sample_interval: Option<String>,
    /// Default number of replications for `twinline run`. Default 1.
    #[serde(default)]
    pub replications: Option<u32>,
    /// The real time simulated time 0 stands for (RFC 3339, e.g. "2026-11-23T06:00:00Z"):
    /// replayed feed events apply at their time since then.
    #[serde(default)]
    pub start: Option<String>,
}

/// A product (SKU).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductFile {
    /// Unique product name.
    pub name: String,
    /// Free text for people.
    #[serde(default)]
    pub description: Option<String>,
}
