//! The time series a run records: per line its queue and buffer levels, station states and
//! output so far; per stocked material its units on hand.

use crate::line::LineRuntime;
use crate::scenario::{Line, Stock};
use crate::stock::Stocks;
use bevy_ecs::entity::Entity;
use sim::{SampleValue, SimTime, TimeSeries, World};

/// Takes the plant's samples.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Sampler {
    series: TimeSeries,
    /// Per line, its level columns: `None` for the arrival queue, `Some(b)` for buffer `b`.
    levels: Vec<Vec<Option<usize>>>,
}

impl Sampler {
    /// The columns of `lines` (with their runtimes, which say whether a line has an
    /// arrival queue) and of the stocked materials `stock`.
    pub(super) fn new(lines: &[(&Line, &LineRuntime)], stock: &[Stock]) -> Self {
        let mut columns = Vec::new();
        let mut levels = Vec::new();
        for (line, rt) in lines {
            let mut cols = Vec::new();
            if rt.has_queue() {
                columns.push(format!("{}.queue", line.name));
                cols.push(None);
            }
            for (b, buf) in line.buffers.iter().enumerate() {
                columns.push(format!("{}.{}", line.name, buf.name));
                cols.push(Some(b));
            }
            columns.extend(
                line.stations
                    .iter()
                    .map(|s| format!("{}.{}", line.name, s.name)),
            );
            columns.push(format!("{}.units_out", line.name));
            levels.push(cols);
        }
        columns.extend(
            stock
                .iter()
                .map(|s| format!("stock.{}@{}", s.material, s.at)),
        );
        Sampler {
            series: TimeSeries::new(columns),
            levels,
        }
    }

    /// The series' CSV header.
    pub(super) fn csv_header(&self) -> String {
        self.series.csv_header()
    }

    /// The rows sampled since the last call, as CSV lines; they are no longer kept.
    pub(super) fn take_csv(&mut self) -> String {
        TimeSeries::csv_rows(&self.series.take_rows())
    }

    /// One row at `now`: the lines (`lines`, in column order) booked up to `now`.
    pub(super) fn sample(&mut self, world: &mut World, lines: &[Entity], now: SimTime) {
        let mut row = Vec::with_capacity(self.series.columns().len());
        for (li, &e) in lines.iter().enumerate() {
            let mut rt = world
                .get_mut::<LineRuntime>(e)
                .expect("every line entity has a runtime");
            rt.sync(now);
            for &b in &self.levels[li] {
                row.push(SampleValue::Number(rt.buffer_level(b)));
            }
            for i in 0..rt.stations() {
                row.push(SampleValue::Label(rt.state(i).name().into()));
            }
            row.push(SampleValue::Number(rt.units_out()));
        }
        if let Some(stocks) = world.get_resource::<Stocks>() {
            row.extend(
                stocks
                    .all()
                    .iter()
                    .map(|s| SampleValue::Number(s.on_hand())),
            );
        }
        self.series.push(now, row);
    }

    /// The series recorded.
    pub(super) fn into_series(self) -> TimeSeries {
        self.series
    }
}
