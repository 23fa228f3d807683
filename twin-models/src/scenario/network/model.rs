//! Sites and transport lanes, resolved.

use crate::distribution::Distribution;
use orchestrator::replenish::Policy;
use sim::SimDuration;

pub use super::file::SiteKind;

/// A site, resolved.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Site {
    /// Name.
    pub name: String,
    /// Plant or DC.
    pub kind: SiteKind,
    /// Region ("" if not given).
    pub region: String,
    /// Finished-goods material name.
    pub product: String,
    /// Pallets on hand at the start.
    pub initial: f64,
    /// Plant: indices of its lines in the scenario.
    pub lines: Vec<usize>,
    /// Plant: units per pallet.
    pub units_per_pallet: u64,
    /// DC: its replenishment policy, in pallets.
    pub policy: Option<Policy>,
    /// DC: generated customer orders.
    pub demand: Option<Demand>,
    /// DC: the lane it is supplied over (index into the network's lanes).
    pub supply: Option<usize>,
}

/// Generated customer orders.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Demand {
    /// Time between orders.
    pub every: Distribution,
    /// Pallets per order.
    pub qty: f64,
    /// Due this long after the order.
    pub due: SimDuration,
}

/// A transport lane, resolved.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Lane {
    /// Shipping site (index).
    pub from: usize,
    /// Receiving site (index).
    pub to: usize,
    /// Transit time.
    pub lead_time: Distribution,
    /// Pallets per truck.
    pub truck: f64,
}

/// The network: sites and lanes.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Network {
    /// Sites, in the scenario's order.
    pub sites: Vec<Site>,
    /// Lanes, in the scenario's order.
    pub lanes: Vec<Lane>,
}

/// How often plants book their lines' output as finished goods and look at orders waiting.
pub const PRODUCTION_TICK: SimDuration = SimDuration(15 * 60 * 1_000_000_000);
