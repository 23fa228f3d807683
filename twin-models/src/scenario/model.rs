//! Stage two of loading: the resolved scenario, each section's part from that section's
//! `model` module: indices instead of names, parsed durations and distributions, and each
//! line's stations in flow order.

use super::fleet::Fleet;
use super::line::Line;
use super::network::Network;
use super::run::RunSettings;
use super::stock::Stock;

/// A validated scenario, ready to simulate.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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

impl Scenario {
    /// Columns of the time series a run records (besides time).
    pub fn series_columns(&self) -> u64 {
        series_columns(&self.lines, &self.stock)
    }

    /// Cells of time series (rows × columns) a run of `horizon` records.
    pub fn series_cells(&self, horizon: sim::SimDuration) -> u64 {
        super::run::model::samples(horizon, self.run.sample_interval)
            .saturating_mul(self.series_columns())
    }
}

/// Columns of the time series of `lines` and `stock`: per line its arrival queue,
/// buffers, stations and output; per stock its units on hand.
pub fn series_columns(lines: &[Line], stock: &[Stock]) -> u64 {
    let of_lines: usize = lines
        .iter()
        .map(|l| {
            usize::from(matches!(l.source, super::line::Source::Arrivals { .. }))
                + l.buffers.len()
                + l.stations.len()
                + 1
        })
        .sum();
    (of_lines + stock.len()) as u64
}
