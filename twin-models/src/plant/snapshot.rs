//! The plant at an instant, for viewers and inspectors: stations, buffers, vehicles with
//! the way ahead, stock and alerts.

use crate::alerts::PlantAlert;
use crate::fleet::VehicleSnapshot;
use crate::line::StationState;
use sim::SimTime;

/// A station at an instant.
#[derive(Clone, Debug, PartialEq)]
pub struct StationSnapshot {
    /// Station name.
    pub name: String,
    /// What it is doing.
    pub state: StationState,
    /// The product it is set up for.
    pub product: String,
    /// Whole good units passed on since time 0.
    pub units_out: f64,
    /// Breakdowns since time 0.
    pub failures: u64,
    /// Changeovers since time 0.
    pub changeovers: u64,
    /// The speed step level switches set: a share of nominal speed, 0 when they stop it
    /// (1 on lines without switches).
    pub speed_step: f64,
}

/// A buffer (accumulation conveyor) at an instant.
#[derive(Clone, Debug, PartialEq)]
pub struct BufferSnapshot {
    /// Buffer name.
    pub name: String,
    /// Units on it.
    pub level: f64,
    /// Units it holds at most; `None` when unlimited.
    pub capacity: Option<u64>,
}

/// A line at an instant.
#[derive(Clone, Debug, PartialEq)]
pub struct LineSnapshot {
    /// Line name.
    pub name: String,
    /// Its stations, in flow order.
    pub stations: Vec<StationSnapshot>,
    /// Its buffers, in flow order (buffer `b` feeds station `b + 1`).
    pub buffers: Vec<BufferSnapshot>,
    /// Whole good units out of the last station since time 0.
    pub units_out: f64,
}

/// A stocked material at an instant.
#[derive(Clone, Debug, PartialEq)]
pub struct StockSnapshot {
    /// Material.
    pub material: String,
    /// Where it is kept.
    pub at: String,
    /// Units on hand.
    pub on_hand: f64,
}

/// The plant at an instant.
#[derive(Clone, Debug, PartialEq)]
pub struct PlantSnapshot {
    /// Simulated time.
    pub time: SimTime,
    /// Per line.
    pub lines: Vec<LineSnapshot>,
    /// Per vehicle (none without a fleet).
    pub vehicles: Vec<VehicleSnapshot>,
    /// Per stocked material.
    pub stock: Vec<StockSnapshot>,
    /// Alerts raised so far.
    pub alerts: Vec<PlantAlert>,
}
