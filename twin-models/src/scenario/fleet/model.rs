//! The floor, the fleet and the listed tasks, resolved.

use crate::scenario::check::{Checker, Seg};
use orchestrator::DispatchPolicy;
use sim::SimDuration;
use std::collections::BTreeMap;
use traffic::{Coordination, Layout};

pub use super::file::LocationKind;

/// The fleet and the floor it drives on.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Fleet {
    /// The floor.
    pub layout: Layout,
    /// Named locations.
    pub locations: BTreeMap<String, Location>,
    /// Groups of locations (e.g. "warehouse"), by name.
    pub groups: BTreeMap<String, Vec<u32>>,
    /// Time of one traffic step: a cell at the fastest vehicle's speed.
    pub step: SimDuration,
    /// How tasks are given to vehicles.
    pub dispatch: DispatchPolicy,
    /// With [`DispatchPolicy::MinEmptyTravel`]: seconds of empty travel one second of
    /// expected lateness is worth.
    pub lateness_weight: f64,
    /// What idle vehicles do.
    pub idle: IdlePolicy,
    /// How vehicles keep out of each other's way.
    pub coordination: Coordination,
    /// A wait-for cycle lasting this long counts as a deadlock.
    pub deadlock_after: SimDuration,
    /// No progress towards a goal for this long counts as a stall.
    pub stall_after: SimDuration,
    /// Vehicle types.
    pub types: Vec<VehicleType>,
    /// Type of each vehicle.
    pub vehicles: Vec<usize>,
    /// Parking spots; vehicle `v` starts on and returns to `parking[v]`.
    pub parking: Vec<u32>,
    /// Charger spots.
    pub chargers: Vec<u32>,
    /// Tasks listed in the scenario.
    pub tasks: Vec<ListedTask>,
}

/// What a vehicle with nothing to do does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum IdlePolicy {
    /// Stays where it is (to the nearest free parking spot when in the way).
    Stay,
    /// Drives back to its own parking spot.
    Home,
    /// Drives to the pickup with the most demand per idle vehicle already there (tasks
    /// created there lately, a rate that decays with [`REBALANCE_MEMORY`]).
    Rebalance,
}

/// How long the memory of where tasks come up lasts for rebalancing (the time constant
/// of its exponential decay).
pub const REBALANCE_MEMORY: SimDuration = SimDuration::from_secs(3600);

/// A named place.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    /// Its spot in the layout.
    pub spot: u32,
    /// What it is for.
    pub kind: LocationKind,
}

/// A vehicle type.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VehicleType {
    /// Name.
    pub name: String,
    /// Travel speed empty, metres per second.
    pub speed: f64,
    /// Travel speed loaded, metres per second.
    pub speed_loaded: f64,
    /// Acceleration and braking, metres per second² (infinite: speed changes at once).
    pub acceleration: f64,
    /// Footprint (width, length), metres.
    pub footprint: (f64, f64),
    /// Loads carried at once.
    pub capacity: u32,
    /// Time to pick a load up.
    pub load_time: SimDuration,
    /// Time to set a load down.
    pub unload_time: SimDuration,
    /// Battery, if it needs charging.
    pub battery: Option<Battery>,
    /// Breakdown modes.
    pub failures: Vec<crate::scenario::FailureMode>,
    /// Planned maintenance: (every, takes), the interval counted from the start.
    pub maintenance: Option<(SimDuration, SimDuration)>,
}

/// A battery, in watt-hours and watts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Battery {
    /// Capacity, watt-hours.
    pub capacity_wh: f64,
    /// Watt-hours per metre driven empty.
    pub empty_wh_per_m: f64,
    /// Watt-hours per metre driven loaded.
    pub loaded_wh_per_m: f64,
    /// Power drawn standing, watts.
    pub standby_w: f64,
    /// Charging power, watts.
    pub charge_w: f64,
    /// Go charging below this state of charge (fraction).
    pub charge_below: f64,
    /// Leave the charger at this state of charge (fraction).
    pub charge_until: f64,
    /// State of charge at the start (fraction).
    pub initial: f64,
}

/// A task from the scenario's list.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ListedTask {
    /// Name.
    pub name: String,
    /// Pickup spots (the nearest is used).
    pub from: Vec<u32>,
    /// Drop-off spots (the nearest to the pickup is used).
    pub to: Vec<u32>,
    /// First creation time (with `random_start`, when the stream starts).
    pub first: SimDuration,
    /// Time between creations.
    pub every: Option<crate::distribution::Distribution>,
    /// Whether the first creation comes one drawn interval after `first` (a flow of
    /// random arrivals) rather than at `first`.
    pub random_start: bool,
    /// Loads each time.
    pub loads: u32,
    /// Higher is more urgent.
    pub priority: u32,
    /// Due this long after creation.
    pub due: Option<SimDuration>,
}

/// Location and group names, for tasks that name either.
pub(crate) struct Places<'a> {
    pub(crate) locations: &'a BTreeMap<String, Location>,
    pub(crate) groups: &'a BTreeMap<String, Vec<u32>>,
}

impl Places<'_> {
    /// The spots `name` stands for: a location's one, or a group's.
    pub(crate) fn resolve(
        &self,
        c: &mut Checker<'_>,
        path: &[Seg],
        name: &str,
    ) -> Option<Vec<u32>> {
        if let Some(l) = self.locations.get(name) {
            return Some(vec![l.spot]);
        }
        if let Some(g) = self.groups.get(name) {
            return Some(g.clone());
        }
        let groups: Vec<&str> = self.groups.keys().map(String::as_str).collect();
        let some: Vec<&str> = self.locations.keys().take(12).map(String::as_str).collect();
        let more = self.locations.len().saturating_sub(some.len());
        c.fail(
            path,
            format!(
                "`{name}` is neither a location nor a group; groups: {}; locations: {}{}",
                if groups.is_empty() {
                    "none".to_string()
                } else {
                    groups.join(", ")
                },
                some.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        );
        None
    }
}
