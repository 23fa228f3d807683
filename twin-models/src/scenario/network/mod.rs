//! `[[sites]]` and `[[lanes]]`: the network beyond one plant. Plants make finished goods on
//! their lines; distribution centres (DCs) hold them, serve customer orders, and reorder
//! from a plant over a transport lane under a replenishment policy.

pub mod file;
pub mod model;
pub(crate) mod resolve;

pub use file::{DemandFile, LaneFile, SiteFile, SiteKind};
pub use model::{Demand, Lane, Network, PRODUCTION_TICK, Site};
