//! Stage one for the plant floor, the AGV fleet, transport tasks and the lines' logistics:
//! a serde mirror of the TOML, nothing resolved yet.

use schemars::JsonSchema;
use serde::Deserialize;

/// The plant floor: a grid (MovingAI map, inline or in a file) or waypoints and lanes,
/// and the named locations on it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LayoutFile {
    /// Side of a grid cell, or the length lanes are cut into, metres. Must be at least a
    /// vehicle's length plus its width, so vehicles following each other round a corner
    /// never touch.
    pub cell: f64,
    /// A MovingAI `.map` file, relative to the scenario file.
    #[serde(default)]
    pub map: Option<String>,
    /// The grid inline: rows of `.` (free) and `@`/`T`/`O` (blocked), top row first, or a
    /// whole MovingAI map text.
    #[serde(default)]
    pub grid: Option<String>,
    /// Waypoints of a lane layout (instead of a grid).
    #[serde(default)]
    pub waypoints: Vec<WaypointFile>,
    /// Lanes between waypoints.
    #[serde(default)]
    pub lanes: Vec<LaneFile>,
    /// Named places vehicles go to.
    #[serde(default)]
    pub locations: Vec<LocationFile>,
}

/// A waypoint of a lane layout.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaypointFile {
    /// Unique name.
    pub name: String,
    /// Metres.
    pub x: f64,
    /// Metres.
    pub y: f64,
}

/// A lane between two waypoints.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LaneFile {
    /// Waypoint it starts at.
    pub from: String,
    /// Waypoint it ends at.
    pub to: String,
    /// Whether vehicles may drive it both ways. Default true.
    #[serde(default)]
    pub two_way: Option<bool>,
    /// Speed limit, metres per second. Default: none.
    #[serde(default)]
    pub speed_limit: Option<f64>,
}

/// What a location is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    /// Where material is dropped beside a station.
    LineSide,
    /// Where a palletiser's finished pallets wait.
    Outfeed,
    /// A warehouse rack face.
    Rack,
    /// A truck dock.
    Dock,
    /// A battery charger.
    Charger,
    /// Where a vehicle with nothing to do waits.
    Parking,
}

/// A named place.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationFile {
    /// Unique name.
    pub name: String,
    /// What it is.
    pub kind: LocationKind,
    /// Grid cell [column, row] (grid layouts).
    #[serde(default)]
    pub at: Option<[usize; 2]>,
    /// Waypoint name (lane layouts).
    #[serde(default)]
    pub waypoint: Option<String>,
    /// Every free cell of the rectangle [x0, y0, x1, y1] (inclusive, grid layouts): one
    /// location per cell, named `name-0`, `name-1`, ... row by row.
    #[serde(default)]
    pub area: Option<[usize; 4]>,
    /// A group name (e.g. "warehouse") that tasks may name instead of one location.
    #[serde(default)]
    pub group: Option<String>,
}

/// The AGV fleet and how it is run.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetFile {
    /// `nearest_idle` (default), `optimal`, `earliest_due` or `min_empty_travel`.
    #[serde(default)]
    pub dispatch: Option<DispatchFile>,
    /// With `min_empty_travel`: seconds of empty travel one second of expected lateness
    /// is worth. Default 1.
    #[serde(default)]
    pub lateness_weight: Option<f64>,
    /// What a vehicle with nothing to do does: `stay` where it is (the default; when it
    /// has to make way, it goes to the nearest free parking spot), drive `home` to its
    /// own parking spot, or `rebalance`: drive to the pickup where tasks have lately come
    /// up most per idle vehicle already there.
    #[serde(default)]
    pub idle: Option<IdleFile>,
    /// How vehicles keep out of each other's way: `planned` (or true, the default),
    /// `highways` (planned, preferring one-way highways on a grid layout), `blocking`
    /// (each enters a spot only when it is free, no planner) or `off` (or false: each
    /// drives as if alone, to see what the safety monitor catches).
    #[serde(default)]
    pub coordination: Option<CoordinationFile>,
    /// Vehicles that wait for each other in a cycle (each for a spot another stands on)
    /// for this long count as one deadlock. Default "30s".
    #[serde(default)]
    pub deadlock_after: Option<String>,
    /// A vehicle with somewhere to be that gets no nearer its goal for this long counts
    /// as a stall. Default "10min".
    #[serde(default)]
    pub stall_after: Option<String>,
    /// Vehicle types.
    pub vehicles: Vec<VehicleTypeFile>,
}

/// Dispatch policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DispatchFile {
    /// Each task, most urgent first, to the nearest free vehicle.
    NearestIdle,
    /// The assignment of least total travel to the pickups, over the most urgent tasks.
    Optimal,
    /// Tasks in order of due time, each to the nearest free vehicle.
    EarliestDue,
    /// The assignment of least empty travel (and weighted lateness) over all waiting
    /// tasks and all idle or soon-idle vehicles, re-solved when the picture changes.
    MinEmptyTravel,
}

/// What an idle vehicle does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdleFile {
    /// Stays where it is; made to make way, it goes to the nearest free parking spot.
    Stay,
    /// Drives back to its own parking spot.
    Home,
    /// Drives to where tasks have lately come up most, per idle vehicle already there.
    Rebalance,
}

/// Traffic coordination: a switch or a mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CoordinationFile {
    /// true: `planned`; false: `off`.
    Switch(bool),
    /// A mode by name.
    Mode(CoordinationMode),
}

/// A traffic coordination mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CoordinationMode {
    /// Central planning of the whole fleet.
    Planned,
    /// Zone blocking: a vehicle enters a spot only when it is free.
    Blocking,
    /// Every vehicle drives as if alone.
    Off,
    /// Central planning along one-way highways (grid layouts): rows and columns take
    /// turns in their way, and a move against its highway counts two cells.
    Highways,
}

/// A type of vehicle and how many the fleet has.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VehicleTypeFile {
    /// Type name.
    pub name: String,
    /// How many.
    pub count: u32,
    /// Travel speed empty, metres per second.
    pub speed: f64,
    /// Travel speed with a load, metres per second. Default: `speed`.
    #[serde(default)]
    pub speed_loaded: Option<f64>,
    /// Acceleration and braking, metres per second². Default: speed changes at once.
    #[serde(default)]
    pub acceleration: Option<f64>,
    /// Footprint [width, length], metres.
    pub footprint: [f64; 2],
    /// Loads carried at once (e.g. 2 for a double-fork vehicle). Default 1.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// Time to pick up a load, e.g. "20s".
    pub load_time: String,
    /// Time to set a load down, e.g. "20s".
    pub unload_time: String,
    /// Battery; none means the vehicle never needs charging.
    #[serde(default)]
    pub battery: Option<BatteryFile>,
    /// Breakdowns: the vehicle stops where it stands until repaired.
    #[serde(default)]
    pub failures: Vec<crate::scenario::failure::FailureFile>,
    /// Planned maintenance at the vehicle's own parking spot.
    #[serde(default)]
    pub maintenance: Option<MaintenanceFile>,
}

/// Planned maintenance of a vehicle.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceFile {
    /// Time between services, counted from the start of the run, e.g. "24h".
    pub every: String,
    /// How long a service takes, e.g. "1h".
    pub takes: String,
}

/// A vehicle battery.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatteryFile {
    /// Capacity, kilowatt-hours.
    pub capacity_kwh: f64,
    /// Energy per metre driven empty, watt-hours.
    pub empty_wh_per_m: f64,
    /// Energy per metre driven loaded, watt-hours.
    pub loaded_wh_per_m: f64,
    /// Power drawn standing (electronics, lifting), kilowatts. Default 0.
    #[serde(default)]
    pub standby_kw: Option<f64>,
    /// Charging power, kilowatts.
    pub charge_kw: f64,
    /// Go to a charger when the state of charge falls below this fraction, e.g. 0.25.
    pub charge_below: f64,
    /// Leave the charger at this fraction. Default 0.95.
    #[serde(default)]
    pub charge_until: Option<f64>,
    /// State of charge at the start, a fraction. Default 1.
    #[serde(default)]
    pub initial: Option<f64>,
}

/// Transport tasks listed in the scenario (e.g. inbound trucks to unload).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskFile {
    /// Name shown in reports.
    pub name: String,
    /// Pickup: a location or a group.
    pub from: String,
    /// Drop-off: a location or a group.
    pub to: String,
    /// When the first is created, e.g. "30min". Default "0s"; with `per_hour`, when the
    /// flow starts (its first load comes a random time later).
    #[serde(default)]
    pub at: Option<String>,
    /// Created again after this interval, fixed ("2min") or random ("exp(120s)"; any of
    /// the format's distributions). Default: once.
    #[serde(default)]
    pub every: Option<String>,
    /// A flow of loads per hour, arriving at random (a Poisson stream: exponential times
    /// between arrivals), instead of `every`.
    #[serde(default)]
    pub per_hour: Option<f64>,
    /// Loads each time. Default 1.
    #[serde(default)]
    pub loads: Option<u32>,
    /// Higher is more urgent. Default 1.
    #[serde(default)]
    pub priority: Option<u32>,
    /// Due this long after creation, e.g. "15min". Default: no due time.
    #[serde(default)]
    pub due: Option<String>,
}
