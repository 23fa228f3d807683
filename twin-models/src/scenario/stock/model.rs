//! A stocked material, resolved.

use crate::distribution::Distribution;
use orchestrator::replenish::Policy;

/// A stocked material, resolved.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stock {
    /// Material name.
    pub material: String,
    /// The location or group name it is held at.
    pub at: String,
    /// Units on hand at the start.
    pub initial: f64,
    /// Supplier lead time.
    pub lead_time: Distribution,
    /// Replenishment policy, in units.
    pub policy: Policy,
    /// Smoothing weight of the consumption forecast.
    pub alpha: f64,
}
