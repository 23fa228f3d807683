//! A line's outfeed and line-side materials, resolved against the fleet's places.

use sim::SimDuration;

/// Finished pallets at a line's outfeed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outfeed {
    /// Outfeed spot.
    pub spot: u32,
    /// Units per pallet.
    pub units_per_pallet: u64,
    /// Pallets that can wait there.
    pub positions: u32,
    /// Destination spots.
    pub to: Vec<u32>,
    /// Task priority.
    pub priority: u32,
    /// Due this long after the pallet is made.
    pub due: Option<SimDuration>,
}

/// A material a station uses, brought by the fleet.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Material {
    /// Name.
    pub name: String,
    /// Station (index in flow order) that uses it.
    pub station: usize,
    /// Material units per unit of input the station takes (the file's figure per unit
    /// it makes, divided by what it takes for one).
    pub per_unit: f64,
    /// Units per vehicle load.
    pub load: f64,
    /// Call for a load at or below this stock plus loads on the way, units.
    pub trigger: f64,
    /// Stock at the start, units.
    pub initial: f64,
    /// Line-side spot.
    pub spot: u32,
    /// Source spots.
    pub from: Vec<u32>,
    /// Task priority.
    pub priority: u32,
    /// Due this long after the call.
    pub due: Option<SimDuration>,
    /// The stock (index into the fleet's) loads are drawn from; `None`: an unlimited
    /// source.
    pub stock: Option<usize>,
}

/// Loads a line may call for one material at once (its trigger over its load): each is a
/// transport task, made when the stock falls to the trigger.
pub const MAX_LOADS_AT_ONCE: f64 = 100_000.0;
