//! The twin run step by step, for viewers: advance to a time or by one event, and look at
//! the plant between steps.

use super::{LineEngine, LineRuntime, Plant, RunOutput, RunSpec, StationState};
use crate::fleet::{FleetRuntime, VehicleSnapshot};
use crate::kpi::PlantAlert;
use crate::scenario::Scenario;
use crate::units::units;
use nalgebra::Point2;
use sim::SimTime;
use std::borrow::Borrow;

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
///
/// `S` is how the twin holds its scenario: `&Scenario` to borrow it, or an owned
/// `Scenario` / `Arc<Scenario>` for a twin that lives on its own (in a viewer's world).
pub struct Twin<S: Borrow<Scenario>> {
    scenario: S,
    plant: Plant,
}

impl<S: Borrow<Scenario>> Twin<S> {
    /// The plant of `scenario` for one run of `spec`, its first events on the calendar and
    /// the clock at 0.
    pub fn new(scenario: S, spec: RunSpec) -> Self {
        let mut plant = Plant::new(scenario.borrow(), spec);
        plant.start();
        Twin { scenario, plant }
    }

    /// The scenario it runs.
    pub fn scenario(&self) -> &Scenario {
        self.scenario.borrow()
    }

    /// The scenario as the twin holds it (e.g. the `Arc` to share).
    pub fn scenario_handle(&self) -> &S {
        &self.scenario
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
        let mut snap = PlantSnapshot {
            time: SimTime::ZERO,
            lines: Vec::new(),
            vehicles: Vec::new(),
            stock: Vec::new(),
            alerts: Vec::new(),
        };
        self.refresh(&mut snap);
        snap
    }

    /// Brings `snap` up to now, reusing its storage: once it has the plant's shape (after
    /// the first call), a refresh allocates only for alerts raised since the last one.
    pub fn refresh(&mut self, snap: &mut PlantSnapshot) {
        let now = self.now();
        let scenario: &Scenario = self.scenario.borrow();
        snap.time = now;
        snap.lines.truncate(self.plant.lines.len());
        for (li, &e) in self.plant.lines.iter().enumerate() {
            let line = &scenario.lines[self.plant.scenario_lines[li]];
            let mut rt = self
                .plant
                .sim
                .world
                .get_mut::<LineRuntime>(e)
                .expect("every line entity has a runtime");
            rt.sync(now);
            if snap.lines.len() == li {
                snap.lines.push(LineSnapshot {
                    name: line.name.clone(),
                    stations: Vec::with_capacity(line.stations.len()),
                    buffers: Vec::with_capacity(line.buffers.len()),
                    units_out: 0.0,
                });
            }
            let out = &mut snap.lines[li];
            out.stations.truncate(line.stations.len());
            for (i, st) in line.stations.iter().enumerate() {
                let core = rt.core(i);
                let product = &scenario.products[core.product];
                if out.stations.len() == i {
                    out.stations.push(StationSnapshot {
                        name: st.name.clone(),
                        state: rt.state(i),
                        product: product.clone(),
                        units_out: 0.0,
                        failures: 0,
                        changeovers: 0,
                    });
                }
                let s = &mut out.stations[i];
                s.state = rt.state(i);
                if s.product != *product {
                    s.product.clone_from(product);
                }
                s.units_out = units(core.counters.good);
                s.failures = core.counters.failures;
                s.changeovers = core.counters.setups;
            }
            out.buffers.truncate(line.buffers.len());
            for (b, buf) in line.buffers.iter().enumerate() {
                let level = match &rt.engine {
                    LineEngine::Fluid(f) => f.buffer_level(b),
                    LineEngine::Discrete(d) => d.buffer_level(Some(b)),
                };
                if out.buffers.len() == b {
                    out.buffers.push(BufferSnapshot {
                        name: buf.name.clone(),
                        level,
                        capacity: buf.capacity,
                    });
                }
                out.buffers[b].level = level;
            }
            out.units_out = out.stations.last().map_or(0.0, |s| s.units_out);
        }
        match self.plant.sim.world.get_resource::<FleetRuntime>() {
            Some(fleet) => {
                fleet.refresh_vehicle_snapshots(&mut snap.vehicles);
                snap.stock.truncate(fleet.stock.len());
                for (i, s) in fleet.stock.iter().enumerate() {
                    if snap.stock.len() == i {
                        snap.stock.push(StockSnapshot {
                            material: s.spec().material.clone(),
                            at: s.spec().at.clone(),
                            on_hand: 0.0,
                        });
                    }
                    snap.stock[i].on_hand = s.on_hand();
                }
                let alerts = fleet.alerts();
                snap.alerts.truncate(alerts.len());
                let known = snap.alerts.len();
                snap.alerts.extend_from_slice(&alerts[known..]);
            }
            None => {
                snap.vehicles.clear();
                snap.stock.clear();
                snap.alerts.clear();
            }
        }
    }

    /// The stops of station `station` of line `line` (indices in the twin's snapshot
    /// order) up to the last refresh: (start ns, end ns, state) spans of down, setup,
    /// micro-stop, planned stop and material or outfeed holds; working, starved and blocked
    /// time lie between them. Empty when the run does not record series.
    pub fn station_timeline(&self, line: usize, station: usize) -> &[(u64, u64, StationState)] {
        self.plant
            .lines
            .get(line)
            .and_then(|&e| self.plant.sim.world.get::<LineRuntime>(e))
            .filter(|rt| station < rt.n_stations())
            .and_then(|rt| rt.core(station).timeline.as_deref())
            .unwrap_or(&[])
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
        (now.0 > self.plant.spec.warmup.0)
            .then(|| self.plant.measure_at(self.scenario.borrow(), now))
    }

    /// Runs on to the horizon and measures.
    pub fn finish(self) -> RunOutput {
        let mut out = self.plant.finish(self.scenario.borrow());
        out.events += out.global_events;
        out
    }
}
