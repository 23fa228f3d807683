//! Stage two of loading: the resolved scenario, each section's part from that section's
//! `model` module: indices instead of names, parsed durations and distributions, and each
//! line's stations in flow order.

use super::fleet::Fleet;
use super::line::Line;
use super::network::Network;
use super::run::RunSettings;
use super::stock::Stock;

/// A validated scenario, ready to simulate.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Scenario name.
    pub name: String,
    /// How the run is made.
    pub run: RunSettings,
    /// Product names; products are referred to by index.
    pub products: Vec<String>,
    /// The lines.
    pub lines: Vec<Line>,
    /// The AGV fleet and its floor, if the plant has one.
    pub fleet: Option<Fleet>,
    /// Materials held in stock at the fleet's places (`[[stock]]`; only with a fleet).
    pub stock: Vec<Stock>,
    /// Sites and lanes beyond the plant, if any.
    pub network: Option<Network>,
}
