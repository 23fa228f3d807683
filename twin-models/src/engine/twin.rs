//! The twin run step by step, for viewers: advance to a time or by one event, and look at
//! the plant between steps.

use super::{LineEngine, LineRuntime, Plant, RunOutput, RunSpec, StationState};
use crate::fleet::{FleetRuntime, VehicleSnapshot};
use crate::kpi::PlantAlert;
use crate::scenario::Scenario;
use crate::units::units;
use nalgebra::Point2;
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
    /// Good units passed on since time 0.
    pub units_out: f64,
    /// Breakdowns since time 0.
    pub failures: u64,
    /// Changeovers since time 0.
    pub changeovers: u64,
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
    /// Good units out of the last station since time 0.
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

/// A plant running one step at a time. Stepping to the horizon gives exactly what
/// [`super::simulate`] gives for the same spec on one thread. Snapshots and KPIs so far
/// book the lines' time up to now, as sampling does; taken at other instants than the
/// samples, they may move the last digits of later results.
pub struct Twin<'s> {
    scenario: &'s Scenario,
    plant: Plant,
}

impl<'s> Twin<'s> {
    /// The plant of `scenario` for one run of `spec`, its first events on the calendar and
    /// the clock at 0.
    pub fn new(scenario: &'s Scenario, spec: RunSpec) -> Self {
        let mut plant = Plant::new(scenario, spec);
        plant.start();
        Twin { scenario, plant }
    }

    /// Simulated time now.
    pub fn now(&self) -> SimTime {
        self.plant.sim.now()
    }

    /// The end of the run.
    pub fn horizon(&self) -> SimTime {
        SimTime(self.plant.spec.horizon.0)
    }

    /// When the next event is due (none after the horizon).
    pub fn next_event(&self) -> Option<SimTime> {
        self.plant.sim.next_time().filter(|&t| t <= self.horizon())
    }

    /// Handles the next event alone and returns its time; `None` at the horizon.
    pub fn step(&mut self) -> Option<SimTime> {
        self.next_event()?;
        self.plant.sim.step(&mut self.plant.model)
    }

    /// Handles every event up to `t` (at most the horizon) and moves the clock there.
    pub fn advance_to(&mut self, t: SimTime) {
        self.plant.advance_to(t);
    }

    /// Events handled so far.
    pub fn events(&self) -> u64 {
        self.plant.sim.events_processed()
    }

    /// The plant now.
    pub fn snapshot(&mut self) -> PlantSnapshot {
        let now = self.now();
        let mut lines = Vec::new();
        for (li, &e) in self.plant.lines.iter().enumerate() {
            let line = &self.scenario.lines[self.plant.scenario_lines[li]];
            let mut rt = self
                .plant
                .sim
                .world
                .get_mut::<LineRuntime>(e)
                .expect("every line entity has a runtime");
            rt.sync(now);
            let stations: Vec<StationSnapshot> = line
                .stations
                .iter()
                .enumerate()
                .map(|(i, st)| {
                    let core = rt.core(i);
                    StationSnapshot {
                        name: st.name.clone(),
                        state: rt.state(i),
                        product: self.scenario.products[core.product].clone(),
                        units_out: units(core.counters.good),
                        failures: core.counters.failures,
                        changeovers: core.counters.setups,
                    }
                })
                .collect();
            let buffers = line
                .buffers
                .iter()
                .enumerate()
                .map(|(b, buf)| BufferSnapshot {
                    name: buf.name.clone(),
                    level: match &rt.engine {
                        LineEngine::Fluid(f) => f.buffer_level(b),
                        LineEngine::Discrete(d) => d.buffer_level(Some(b)),
                    },
                    capacity: buf.capacity,
                })
                .collect();
            let units_out = stations.last().map_or(0.0, |s| s.units_out);
            lines.push(LineSnapshot {
                name: line.name.clone(),
                stations,
                buffers,
                units_out,
            });
        }
        let fleet = self.plant.sim.world.get_resource::<FleetRuntime>();
        PlantSnapshot {
            time: now,
            lines,
            vehicles: fleet.map_or(Vec::new(), FleetRuntime::vehicle_snapshots),
            stock: fleet.map_or(Vec::new(), |f| {
                f.stock
                    .iter()
                    .map(|s| StockSnapshot {
                        material: s.spec().material.clone(),
                        at: s.spec().at.clone(),
                        on_hand: s.on_hand(),
                    })
                    .collect()
            }),
            alerts: fleet.map_or(Vec::new(), |f| f.alerts().to_vec()),
        }
    }

    /// The way vehicle `v` would drive to its goal (see [`FleetRuntime::route_ahead`]);
    /// empty without a fleet.
    pub fn route_ahead(&self, v: usize) -> Vec<Point2<f64>> {
        self.plant
            .sim
            .world
            .get_resource::<FleetRuntime>()
            .filter(|f| v < f.vehicle_count())
            .map_or(Vec::new(), |f| f.route_ahead(v))
    }

    /// The KPIs from the end of the warm-up to now; `None` until the warm-up is over.
    pub fn kpis(&mut self) -> Option<crate::kpi::RunKpis> {
        let now = self.now();
        (now.0 > self.plant.spec.warmup.0).then(|| self.plant.measure_at(self.scenario, now))
    }

    /// Runs on to the horizon and measures.
    pub fn finish(self) -> RunOutput {
        let mut out = self.plant.finish(self.scenario);
        out.events += out.global_events;
        out
    }
}
