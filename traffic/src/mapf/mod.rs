//! Multi-agent path finding on grids: MovingAI maps and scenarios, a LaCAM-style solver,
//! and the result text that LaCAM's tools read.

pub mod grid;
pub mod lacam;
pub mod lns;
pub mod report;
pub mod scatter;
pub mod solution;
pub mod warehouse;

pub use grid::{DistanceTable, GridError, GridMap, MAX_CELLS, parse_scenario};
pub use lacam::{MapfError, Search, lower_bounds, solve};
pub use report::MapfReport;
pub use solution::Solution;
pub use warehouse::WarehouseShape;
