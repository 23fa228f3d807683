//! The plant floor and its fleet: `[layout]` (a grid, a MovingAI map or waypoints with
//! lanes, and named locations), `[fleet]` (vehicle types, batteries, dispatch) and
//! `[[tasks]]`.

pub mod file;
pub mod model;
pub(crate) mod resolve;

pub use file::{
    BatteryFile, DispatchFile, FleetFile, LaneFile, LayoutFile, LocationFile, LocationKind,
    TaskFile, VehicleTypeFile, WaypointFile,
};
pub use model::{Battery, Fleet, ListedTask, Location, VehicleType};
