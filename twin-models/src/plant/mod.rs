//! The composition root: the plant as a bevy_ecs world of subsystems, one calendar, and
//! the routing of the calendar's events.
//!
//! Each subsystem owns its state, events, KPIs and alerts ([`crate::line`],
//! [`crate::logistics`], [`crate::fleet`], [`crate::stock`], [`crate::network`],
//! [`crate::feed`]); this module installs them into the world from the resolved scenario,
//! hands each [`PlantEvent`] to the subsystem it belongs to, carries what one subsystem's
//! event means for another (a pallet picked up frees the outfeed; a count of line-side
//! stock resets the line's logistics), and assembles [`RunKpis`] from their parts.
//!
//! Lines are entities with a [`LineRuntime`] component (and a [`LineLogistics`] one when
//! they have an outfeed or materials); the fleet, the stocked materials, the network, the
//! feed and the alert log are resources. A line's own events, the per-unit hot path, go
//! straight to its component; the rest reach the subsystems through one [`SystemState`].

pub mod save;
mod series;
pub mod snapshot;
pub mod twin;
pub mod variant;
pub mod work;

pub use save::{FORMAT_VERSION, SavedRun, Snapshot, SnapshotError, SnapshotHeader};
pub use snapshot::{BufferSnapshot, LineSnapshot, PlantSnapshot, StationSnapshot, StockSnapshot};
pub use twin::Twin;

use crate::alerts::AlertLog;
use crate::feed::{FeedDue, FeedRuntime, ModelEffect, Target};
use crate::fleet::{FleetEvent, FleetRuntime, Origin};
use crate::kpi::RunKpis;
use crate::line::{LineEvent, LineRuntime, StationTimeline};
use crate::logistics::{Call, LineLogistics, LogisticsEvent};
use crate::network::{NetworkEvent, NetworkRuntime};
use crate::scenario::Scenario;
use crate::stock::{Served, StockEvent, Stocks};
use bevy_ecs::entity::Entity;
use bevy_ecs::prelude::{Query, ResMut};
use bevy_ecs::system::{SystemParam, SystemState};
use series::Sampler;
use sim::{
    Calendar, EventHandler, RngStreams, Scheduler, SimDuration, SimTime, Simulation, TimeSeries,
    World,
};

/// An event of the plant: a subsystem's own event, wrapped, or one of the root's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PlantEvent {
    /// An event of line `line`.
    Line { line: u16, event: LineEvent },
    /// An event of line `line`'s logistics.
    Logistics { line: u16, event: LogisticsEvent },
    /// An event of the fleet.
    Fleet(FleetEvent),
    /// An event of the stocked materials.
    Stock(StockEvent),
    /// An event of the network of sites.
    Network(NetworkEvent),
    /// The feed's next events are due.
    Feed(FeedDue),
    /// Take a time-series sample.
    Sample,
    /// The warm-up ends: statistics start afresh.
    WarmupEnd,
}

/// Settings of one run, defaulting to the scenario's.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunSpec {
    /// Seed of this run.
    pub seed: u64,
    /// Simulated time to run.
    pub horizon: SimDuration,
    /// Initial period left out of the statistics.
    pub warmup: SimDuration,
    /// Whether to record the time series.
    pub record_series: bool,
    /// Threads for the independent partitions of the plant within this one run (1: all
    /// on the calling thread). Results do not depend on it.
    pub threads: usize,
}

impl RunSpec {
    /// The scenario's own settings, on one thread.
    pub fn of(scenario: &Scenario) -> Self {
        RunSpec {
            seed: scenario.run.seed,
            horizon: scenario.run.horizon,
            warmup: scenario.run.warmup,
            record_series: true,
            threads: 1,
        }
    }

    /// The scenario's settings with `overrides` applied, checked: the warm-up must end
    /// before the horizon.
    pub fn with(scenario: &Scenario, overrides: RunOverrides) -> Result<Self, RunSpecError> {
        let mut spec = RunSpec::of(scenario);
        spec.seed = overrides.seed.unwrap_or(spec.seed);
        spec.horizon = overrides.horizon.unwrap_or(spec.horizon);
        spec.warmup = overrides.warmup.unwrap_or(spec.warmup);
        if spec.warmup >= spec.horizon {
            return Err(RunSpecError::WarmupTooLong {
                warmup: spec.warmup,
                horizon: spec.horizon,
                overridden: overrides.warmup.is_some(),
            });
        }
        Ok(spec)
    }

    /// These settings recording the time series (and the timeline) or not; refused when the
    /// horizon sampled at the scenario's interval makes more rows than a run keeps.
    pub fn recording(self, scenario: &Scenario, record: bool) -> Result<Self, RunSpecError> {
        let cells = scenario.series_cells(self.horizon);
        if record && cells > crate::scenario::run::model::MAX_SAMPLE_CELLS {
            return Err(RunSpecError::TooManySamples {
                cells,
                interval: scenario.run.sample_interval,
            });
        }
        Ok(RunSpec {
            record_series: record,
            ..self
        })
    }
}

/// The scenario's run settings a caller may override (a command line's `--seed`,
/// `--horizon` and `--warmup`, an experiment's settings); `None` keeps the scenario's.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunOverrides {
    /// Base seed.
    pub seed: Option<u64>,
    /// Simulated time to run.
    pub horizon: Option<SimDuration>,
    /// Warm-up left out of the statistics.
    pub warmup: Option<SimDuration>,
}

/// Why run settings cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RunSpecError {
    /// The warm-up does not end before the horizon, so nothing would be measured.
    #[error(
        "the warm-up ({:.0} s) must be shorter than the horizon ({:.0} s)",
        warmup.as_secs_f64(),
        horizon.as_secs_f64()
    )]
    WarmupTooLong {
        /// The warm-up asked for.
        warmup: SimDuration,
        /// The horizon asked for.
        horizon: SimDuration,
        /// Whether the warm-up came from the overrides (else from the scenario).
        overridden: bool,
    },
    /// The horizon sampled at the scenario's interval makes more cells of time series than
    /// a run keeps.
    #[error(
        "the horizon sampled every {:.3e} s (the scenario's `run.sample_interval`) records {cells} cells of time series, more than the {} a run keeps: give a shorter horizon or a longer interval",
        interval.as_secs_f64(),
        crate::scenario::run::model::MAX_SAMPLE_CELLS
    )]
    TooManySamples {
        /// Cells (rows × columns) the run would record.
        cells: u64,
        /// The scenario's sampling interval.
        interval: SimDuration,
    },
}

/// What one run produced.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// KPIs measured after the warm-up.
    pub kpis: RunKpis,
    /// Buffer levels, station states, each line's cumulative output and stock on hand at
    /// the sampling interval (if asked for).
    pub series: Option<TimeSeries>,
    /// Each station's stops over the whole run (recorded with the series).
    pub timeline: Option<Vec<StationTimeline>>,
    /// Events handled (the lines' events plus the plant-wide ones).
    pub events: u64,
    /// Of those, the plant-wide events (samples, end of warm-up); every partition has them.
    global_events: u64,
    /// Where the model stopped making progress, if it did (see [`sim::ProgressGuard`]):
    /// the run ended there, and the KPIs measure up to there. A caller must not take them
    /// for the run it asked for.
    pub stalled: Option<sim::Stall>,
}

/// Every subsystem but a line's own events reaches its state through these.
#[derive(SystemParam)]
struct Parts<'w, 's> {
    lines: Query<'w, 's, (&'static mut LineRuntime, Option<&'static mut LineLogistics>)>,
    fleet: Option<ResMut<'w, FleetRuntime>>,
    stocks: Option<ResMut<'w, Stocks>>,
    network: Option<ResMut<'w, NetworkRuntime>>,
    feed: Option<ResMut<'w, FeedRuntime>>,
    alerts: ResMut<'w, AlertLog>,
}

/// Every subsystem's state at once (the plant's parts are installed with the plant).
fn parts<'a>(
    state: &'a mut SystemState<Parts<'static, 'static>>,
    world: &'a mut World,
) -> Parts<'a, 'a> {
    state
        .get_mut(world)
        .expect("the plant's parts are installed")
}

/// A calendar for line `line`'s events.
fn line_calendar<'s, 'c>(
    sched: &'s mut Scheduler<'c, PlantEvent>,
    line: usize,
) -> impl Calendar<LineEvent> + use<'s, 'c> {
    let line = line as u16;
    sched.map(move |event| PlantEvent::Line { line, event })
}

/// A calendar for line `line`'s logistics events.
fn logistics_calendar<'s, 'c>(
    sched: &'s mut Scheduler<'c, PlantEvent>,
    line: usize,
) -> impl Calendar<LogisticsEvent> + use<'s, 'c> {
    let line = line as u16;
    sched.map(move |event| PlantEvent::Logistics { line, event })
}

/// Handles the plant's events: routes each to its subsystem and carries the effects
/// between subsystems.
struct PlantModel {
    /// Line entities, in the partition's order.
    lines: Vec<Entity>,
    /// Whether each line has logistics (an outfeed or materials served by the fleet).
    logistics: Vec<bool>,
    sample_every: SimDuration,
    horizon: SimTime,
    sampler: Option<Sampler>,
    /// Events that are not any line's (samples, end of warm-up).
    global_events: u64,
    /// Traffic steps of the fleet (each moves every vehicle: the costly events of a fleet).
    fleet_steps: u64,
    parts: SystemState<Parts<'static, 'static>>,
}

impl PlantModel {
    /// Brings line `line`'s logistics up to date: holds, calls for the fleet and the
    /// stocks, alerts, the next watch.
    fn check_logistics(
        &mut self,
        world: &mut World,
        sched: &mut Scheduler<'_, PlantEvent>,
        line: usize,
    ) {
        let now = sched.now();
        let mut p = parts(&mut self.parts, world);
        let Parts {
            lines,
            fleet,
            stocks,
            alerts,
            ..
        } = &mut p;
        let fleet = fleet.as_mut().expect("lines with logistics have a fleet");
        let (mut rt, logistics) = lines
            .get_mut(self.lines[line])
            .expect("every line entity has a runtime");
        let mut logistics = logistics.expect("the line has logistics");
        rt.sync(now);
        let (calls, next) = logistics.check(&mut rt, now, &mut line_calendar(sched, line));
        for call in calls {
            match call {
                Call::Pallet => {
                    let o = logistics
                        .outfeed()
                        .expect("a pallet call comes from an outfeed");
                    fleet.create(
                        Origin::Outfeed(line),
                        &[o.spot],
                        &o.to,
                        o.priority,
                        now,
                        o.due,
                    );
                }
                Call::Material(m) => {
                    let spec = logistics.material(m);
                    let served = match spec.stock {
                        None => true,
                        Some(k) => stocks
                            .as_mut()
                            .expect("a stocked material has stocks")
                            .call(
                                k,
                                line,
                                m,
                                spec.load,
                                alerts,
                                &mut sched.map(PlantEvent::Stock),
                            ),
                    };
                    if served {
                        material_task(fleet, &logistics, line, m, now);
                    }
                }
            }
        }
        for m in logistics.take_ran_out() {
            let spec = logistics.material(m);
            let shortfall = spec.stock.and_then(|k| {
                stocks
                    .as_ref()
                    .expect("a stocked material has stocks")
                    .shortfall(k, spec.load, now)
            });
            logistics.line_starved(m, shortfall, now, alerts);
        }
        logistics.watch(next, &mut logistics_calendar(sched, line));
    }

    /// Sends a vehicle for each call a stock now serves.
    fn serve_calls(&mut self, world: &mut World, now: SimTime, served: Served) {
        if served.is_empty() {
            return;
        }
        let mut p = parts(&mut self.parts, world);
        let fleet = p.fleet.as_mut().expect("stocks come with a fleet");
        for (line, m) in served {
            let (_, logistics) = p
                .lines
                .get(self.lines[line])
                .expect("every line entity has a runtime");
            let logistics = logistics.expect("a stock serves lines with logistics");
            material_task(fleet, logistics, line, m, now);
        }
    }

    /// One traffic step of the fleet: loads picked up free outfeeds, loads delivered
    /// fill line side; those lines' logistics are checked; then the next step.
    fn fleet_event(
        &mut self,
        world: &mut World,
        sched: &mut Scheduler<'_, PlantEvent>,
        event: FleetEvent,
    ) {
        if event == FleetEvent::Step {
            self.fleet_steps += 1;
        }
        let mut touched = Vec::new();
        {
            let mut p = parts(&mut self.parts, world);
            let Parts {
                lines,
                fleet,
                alerts,
                ..
            } = &mut p;
            let fleet = fleet.as_mut().expect("fleet events come from a fleet");
            let (picked, delivered) =
                fleet.handle(event, alerts, &mut sched.map(PlantEvent::Fleet));
            if event != FleetEvent::Step {
                return;
            }
            for o in picked {
                if let Origin::Outfeed(l) = o {
                    let (_, logistics) = lines.get_mut(self.lines[l]).expect("line entity");
                    logistics.expect("an outfeed is logistics").picked();
                    touched.push(l);
                }
            }
            for o in delivered {
                if let Origin::Material(l, m) = o {
                    let (_, logistics) = lines.get_mut(self.lines[l]).expect("line entity");
                    logistics.expect("a material is logistics").delivered(m);
                    touched.push(l);
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for l in touched {
            self.check_logistics(world, sched, l);
        }
        world
            .resource::<FleetRuntime>()
            .next_step(&mut sched.map(PlantEvent::Fleet));
    }

    /// Applies the feed's events due now, then waits for the next.
    fn feed_event(&mut self, world: &mut World, sched: &mut Scheduler<'_, PlantEvent>) {
        let now = sched.now();
        let mut feed = world.resource_mut::<FeedRuntime>();
        if !feed.woken(now) {
            return;
        }
        feed.watch_gaps(now);
        loop {
            let mut p = parts(&mut self.parts, world);
            let feed = p.feed.as_mut().expect("a fed plant has a feed");
            if feed.next_time().is_none_or(|t| t > now) {
                break;
            }
            let (target, count, delta) = match feed.apply_next() {
                ModelEffect::None => continue,
                ModelEffect::Received { stock, qty } => {
                    let served = p
                        .stocks
                        .as_mut()
                        .expect("a fed stock exists")
                        .received(stock, qty, now);
                    self.serve_calls(world, now, served);
                    continue;
                }
                ModelEffect::SiteOrder { site, qty, due } => {
                    p.network
                        .as_mut()
                        .expect("a fed site exists")
                        .order_from_feed(site, qty, due, &mut sched.map(PlantEvent::Network));
                    continue;
                }
                ModelEffect::Machine {
                    line,
                    station,
                    producing,
                    repair_s,
                    since,
                } => {
                    let (mut rt, _) = p
                        .lines
                        .get_mut(self.lines[line])
                        .expect("every line entity has a runtime");
                    let (counts, stop_began) = rt.report_machine(
                        station,
                        producing,
                        repair_s,
                        since,
                        &mut line_calendar(sched, line),
                    );
                    p.feed.as_mut().expect("fed").machine_counted(
                        (line, station),
                        stop_began,
                        counts.good,
                        counts.rejected,
                    );
                    if self.logistics[line] {
                        self.check_logistics(world, sched, line);
                    }
                    continue;
                }
                ModelEffect::Counted { target, qty } => (target, Some(qty), 0.0),
                ModelEffect::Adjusted { target, delta } => (target, None, delta),
            };
            // A count resets the position and gives its drift; an adjustment moves it.
            let mut served = Served::new();
            let drift = match target {
                Target::Machine { .. } => unreachable!("a machine state is applied above"),
                Target::Line { line, material } => {
                    let (mut rt, logistics) = p
                        .lines
                        .get_mut(self.lines[line])
                        .expect("every line entity has a runtime");
                    let mut logistics = logistics.expect("a fed material is logistics");
                    rt.sync(now);
                    match count {
                        Some(qty) => Some(logistics.counted(material, qty, &rt)),
                        None => {
                            logistics.adjusted(material, delta);
                            None
                        }
                    }
                }
                Target::Site(k) => {
                    let mut cal = sched.map(PlantEvent::Network);
                    let network = p.network.as_mut().expect("a fed site exists");
                    match count {
                        Some(qty) => Some(network.count(k, qty, &mut cal)),
                        None => {
                            network.adjust(k, delta, &mut cal);
                            None
                        }
                    }
                }
                Target::Stock(k) => {
                    let Parts { stocks, alerts, .. } = &mut p;
                    let stocks = stocks.as_mut().expect("a fed stock exists");
                    let mut cal = sched.map(PlantEvent::Stock);
                    match count {
                        Some(qty) => {
                            let (drift, s) = stocks.count(k, qty, alerts, &mut cal);
                            served = s;
                            Some(drift)
                        }
                        None => {
                            served = stocks.adjust(k, delta, alerts, &mut cal);
                            None
                        }
                    }
                }
            };
            if let Some(d) = drift {
                p.feed.as_mut().expect("fed").counted(target, d);
            }
            if let Target::Line { line, .. } = target {
                self.check_logistics(world, sched, line);
            }
            self.serve_calls(world, now, served);
        }
        self.wake_feed(world, sched);
    }

    /// A supplier receipt: the calls it serves get their vehicles.
    fn stock_event(
        &mut self,
        world: &mut World,
        sched: &mut Scheduler<'_, PlantEvent>,
        event: StockEvent,
    ) {
        let now = sched.now();
        let mut p = parts(&mut self.parts, world);
        let Parts { stocks, alerts, .. } = &mut p;
        let served = stocks
            .as_mut()
            .expect("stock events come from stocks")
            .handle(event, alerts, &mut sched.map(PlantEvent::Stock));
        self.serve_calls(world, now, served);
    }

    /// Puts the feed's next wake-up on the calendar when it is earlier than the one there.
    fn wake_feed(&mut self, world: &mut World, sched: &mut Scheduler<'_, PlantEvent>) {
        if let Some(mut feed) = world.get_resource_mut::<FeedRuntime>() {
            feed.wake(self.horizon, &mut sched.map(PlantEvent::Feed));
        }
    }

    fn warmup_end(&mut self, world: &mut World, now: SimTime) {
        self.global_events += 1;
        self.reset_statistics(world, now);
    }

    /// Every subsystem's statistics start afresh at `now`.
    fn reset_statistics(&mut self, world: &mut World, now: SimTime) {
        let mut p = parts(&mut self.parts, world);
        if let Some(fleet) = p.fleet.as_mut() {
            fleet.reset_statistics();
            for (_, logistics) in p.lines.iter_mut() {
                if let Some(mut l) = logistics {
                    l.reset_at(now);
                }
            }
        }
        if let Some(stocks) = p.stocks.as_mut() {
            stocks.reset_statistics(now);
        }
        if let Some(network) = p.network.as_mut() {
            network.reset_statistics(now);
        }
        for (mut rt, _) in p.lines.iter_mut() {
            rt.reset_statistics(now);
        }
    }
}

/// Creates the fleet's task for a load of line `line`'s material `m`.
fn material_task(
    fleet: &mut FleetRuntime,
    logistics: &LineLogistics,
    line: usize,
    m: usize,
    now: SimTime,
) {
    let s = logistics.material(m);
    fleet.create(
        Origin::Material(line, m),
        &s.from,
        &[s.spot],
        s.priority,
        now,
        s.due,
    );
}

impl EventHandler<PlantEvent> for PlantModel {
    fn handle(
        &mut self,
        world: &mut World,
        sched: &mut Scheduler<'_, PlantEvent>,
        event: PlantEvent,
    ) {
        match event {
            PlantEvent::Line { line, event } => {
                let l = line as usize;
                let mut rt = world
                    .get_mut::<LineRuntime>(self.lines[l])
                    .expect("every line entity has a runtime");
                rt.handle(event, &mut line_calendar(sched, l));
                if self.logistics[l] {
                    self.check_logistics(world, sched, l);
                    return;
                }
                // The line's next events, when they come next, without looking it up again
                // (the per-unit hot path: a line often has the calendar to itself).
                while let Some(PlantEvent::Line { event, .. }) = sched.take_next_if(
                    |e| matches!(e, PlantEvent::Line { line: next, .. } if *next == line),
                ) {
                    rt.handle(event, &mut line_calendar(sched, l));
                }
            }
            PlantEvent::Logistics {
                line,
                event: LogisticsEvent::Watch { epoch },
            } => {
                let current = world
                    .get::<LineLogistics>(self.lines[line as usize])
                    .is_some_and(|l| l.is_current(epoch));
                if current {
                    self.check_logistics(world, sched, line as usize);
                }
            }
            PlantEvent::Fleet(event) => self.fleet_event(world, sched, event),
            PlantEvent::Stock(event) => self.stock_event(world, sched, event),
            PlantEvent::Network(event) => {
                let mut p = parts(&mut self.parts, world);
                let Parts { lines, network, .. } = &mut p;
                let now = sched.now();
                let entities = &self.lines;
                network
                    .as_mut()
                    .expect("network events come from a network")
                    .handle(
                        event,
                        |l| {
                            let (mut rt, _) = lines.get_mut(entities[l]).expect("line entity");
                            rt.sync(now);
                            rt.units_out()
                        },
                        &mut sched.map(PlantEvent::Network),
                    );
            }
            PlantEvent::Feed(FeedDue) => self.feed_event(world, sched),
            PlantEvent::Sample => {
                self.global_events += 1;
                let now = sched.now();
                if let Some(sampler) = &mut self.sampler {
                    sampler.sample(world, &self.lines, now);
                }
                let next = now + self.sample_every;
                if next <= self.horizon {
                    sched.at(next, PlantEvent::Sample);
                }
            }
            PlantEvent::WarmupEnd => self.warmup_end(world, sched.now()),
        }
    }
}

/// A plant (or an independent partition of it) ready to run: the world with its
/// subsystems installed, and the calendar.
struct Plant {
    sim: Simulation<PlantEvent>,
    model: PlantModel,
    /// Indices in the scenario of the lines simulated here.
    scenario_lines: Vec<usize>,
    spec: RunSpec,
}

impl Plant {
    /// Builds the part of the plant made of the lines `scenario_lines`, which must share
    /// nothing with the other lines, for one run of `spec`.
    fn partition(scenario: &Scenario, spec: RunSpec, scenario_lines: Vec<usize>) -> Self {
        let rng = RngStreams::new(spec.seed);
        let horizon = SimTime(spec.horizon.0);
        let mut sim = Simulation::new();
        let world = &mut sim.world;
        world.insert_resource(AlertLog::default());
        let line_specs: Vec<&crate::scenario::Line> = scenario_lines
            .iter()
            .map(|&si| &scenario.lines[si])
            .collect();
        let mut lines = Vec::new();
        let mut logistics = Vec::new();
        for (&si, line) in scenario_lines.iter().zip(&line_specs) {
            let rt = LineRuntime::new(line, si, &rng, spec.record_series);
            let has_logistics = line.outfeed.is_some() || !line.materials.is_empty();
            let mut entity = world.spawn(rt);
            if has_logistics {
                entity.insert(LineLogistics::new(line));
            }
            lines.push(entity.id());
            logistics.push(has_logistics);
        }
        if let Some(plan) = &scenario.fleet {
            world.insert_resource(FleetRuntime::new(plan, &line_specs, spec.seed, horizon));
            world.insert_resource(Stocks::new(&scenario.stock, spec.seed));
        }
        if let Some(net) = &scenario.network {
            world.insert_resource(NetworkRuntime::new(net, spec.seed, horizon));
        }
        let sampler = spec.record_series.then(|| {
            let lines: Vec<(&crate::scenario::Line, &LineRuntime)> = line_specs
                .iter()
                .zip(&lines)
                .map(|(l, &e)| (*l, world.get::<LineRuntime>(e).expect("line entity")))
                .collect();
            Sampler::new(&lines, &scenario.stock)
        });
        let parts = SystemState::new(world);
        let model = PlantModel {
            lines,
            logistics,
            sample_every: scenario.run.sample_interval,
            horizon,
            sampler,
            global_events: 0,
            fleet_steps: 0,
            parts,
        };
        Plant {
            sim,
            model,
            scenario_lines,
            spec,
        }
    }

    /// Puts the first events on the calendar; the clock stays at 0.
    fn start(&mut self) {
        let model = &mut self.model;
        let spec = self.spec;
        self.sim.with_scheduler(|world, sched| {
            for (l, &e) in model.lines.iter().enumerate() {
                world
                    .get_mut::<LineRuntime>(e)
                    .expect("every line entity has a runtime")
                    .start(&mut line_calendar(sched, l));
            }
            if spec.warmup > SimDuration::ZERO {
                sched.at(SimTime(spec.warmup.0), PlantEvent::WarmupEnd);
            }
            if model.sampler.is_some() {
                sched.at(SimTime::ZERO, PlantEvent::Sample);
            }
            if let Some(mut fleet) = world.get_resource_mut::<FleetRuntime>() {
                fleet.start(&mut sched.map(PlantEvent::Fleet));
                world.resource_scope(
                    |world, mut stocks: bevy_ecs::change_detection::Mut<Stocks>| {
                        stocks.start(
                            &mut world.resource_mut::<AlertLog>(),
                            &mut sched.map(PlantEvent::Stock),
                        );
                    },
                );
                for l in 0..model.lines.len() {
                    if model.logistics[l] {
                        // The first check at time zero sets the first holds and calls.
                        model.check_logistics(world, sched, l);
                    }
                }
            }
            if let Some(mut network) = world.get_resource_mut::<NetworkRuntime>() {
                network.start(&mut sched.map(PlantEvent::Network));
            }
            model.wake_feed(world, sched);
        });
    }

    /// Handles every event up to `end` (at most the horizon).
    fn advance_to(&mut self, end: SimTime) {
        let end = end.min(SimTime(self.spec.horizon.0));
        if end >= self.sim.now() {
            self.sim.run_until(end, &mut self.model);
        }
    }

    /// Turns this plant, just restored, into a fork: every random stream replaced by the
    /// one of the same purpose under `seed`, statistics starting afresh now, and the run
    /// ending at `end` (at most the horizon it had: its subsystems planned up to that).
    fn fork(&mut self, seed: u64, end: SimTime) {
        let now = self.sim.now();
        debug_assert!(end.0 <= self.spec.horizon.0 && end >= now);
        let rng = RngStreams::new(seed);
        let world = &mut self.sim.world;
        for (&e, &si) in self.model.lines.iter().zip(&self.scenario_lines) {
            world
                .get_mut::<LineRuntime>(e)
                .expect("every line entity has a runtime")
                .reseed(&rng, si);
        }
        if let Some(mut fleet) = world.get_resource_mut::<FleetRuntime>() {
            fleet.reseed(seed);
        }
        if let Some(mut stocks) = world.get_resource_mut::<Stocks>() {
            stocks.reseed(seed);
        }
        if let Some(mut network) = world.get_resource_mut::<NetworkRuntime>() {
            network.reseed(seed);
        }
        // The warm-up is now: a pending end of the original one would reset again.
        self.sim
            .calendar_mut()
            .retain(|e| *e != PlantEvent::WarmupEnd);
        self.model.reset_statistics(&mut self.sim.world, now);
        self.spec.seed = seed;
        self.spec.warmup = SimDuration(now.0);
        self.spec.horizon = SimDuration(end.0);
        self.model.horizon = end;
    }

    /// Puts `variant`'s settings into the running plant now, as `changes` (from
    /// [`variant::changes`]) say they differ from those it was built with.
    /// Refused (with the reason) when an added vehicle finds no free parking spot.
    fn retune(
        &mut self,
        variant: &Scenario,
        changes: &[variant::Change],
    ) -> Result<(), save::SnapshotError> {
        let model = &mut self.model;
        let scenario_lines = &self.scenario_lines;
        let seed = self.spec.seed;
        self.sim.with_scheduler(|world, sched| {
            for change in changes {
                match *change {
                    variant::Change::Line(si) => {
                        let Some(l) = scenario_lines.iter().position(|&x| x == si) else {
                            continue;
                        };
                        world
                            .get_mut::<LineRuntime>(model.lines[l])
                            .expect("every line entity has a runtime")
                            .retune(&variant.lines[si], &mut line_calendar(sched, l));
                        if model.logistics[l] {
                            model.check_logistics(world, sched, l);
                        }
                    }
                    variant::Change::Fleet => {
                        if let (Some(mut fleet), Some(plan)) =
                            (world.get_resource_mut::<FleetRuntime>(), &variant.fleet)
                        {
                            fleet.retune(plan);
                        }
                    }
                    variant::Change::Vehicles => {
                        if let (Some(mut fleet), Some(plan)) =
                            (world.get_resource_mut::<FleetRuntime>(), &variant.fleet)
                        {
                            let now = sched.now();
                            fleet.add_vehicles(plan, seed, now).map_err(|reason| {
                                save::SnapshotError::CannotChange {
                                    field: "fleet.vehicles".into(),
                                    reason,
                                }
                            })?;
                        }
                    }
                    variant::Change::Stock(k) => {
                        world.resource_scope(
                            |world, mut stocks: bevy_ecs::change_detection::Mut<Stocks>| {
                                stocks.retune(
                                    k,
                                    &variant.stock[k].policy,
                                    &mut world.resource_mut::<AlertLog>(),
                                    &mut sched.map(PlantEvent::Stock),
                                );
                            },
                        );
                    }
                }
            }
            Ok(())
        })
    }

    /// KPIs measured from the end of the warm-up to `end` (now, or the horizon), the
    /// lines' time booked up to `end`.
    fn measure_at(&mut self, scenario: &Scenario, end: SimTime) -> RunKpis {
        let horizon = end.0;
        let measured_s = (horizon - self.spec.warmup.0.min(horizon)) as f64 / 1e9;
        let world = &mut self.sim.world;
        let mut lines = Vec::new();
        let mut logistics = Vec::new();
        for (&e, &si) in self.model.lines.iter().zip(&self.scenario_lines) {
            let mut rt = world.get_mut::<LineRuntime>(e).expect("line entity");
            rt.sync(end);
            lines.push(crate::line::kpi::measure(
                &scenario.lines[si],
                &rt,
                measured_s,
                end,
            ));
            if let Some(l) = world.get::<LineLogistics>(e) {
                logistics.push(l.kpis(end));
            }
        }
        RunKpis {
            measured_s,
            lines,
            fleet: world.get_resource::<FleetRuntime>().map(|f| f.kpis()),
            logistics,
            stock: world
                .get_resource::<Stocks>()
                .map_or(Vec::new(), |s| s.kpis(end)),
            alerts: world.resource::<AlertLog>().all().to_vec(),
            alerts_omitted: world.resource::<AlertLog>().omitted(),
            feed: world.get_resource::<FeedRuntime>().map(|f| f.kpis(end)),
            network: world.get_resource::<NetworkRuntime>().map(|n| n.kpis(end)),
        }
    }

    /// Runs on to the horizon and measures.
    fn finish(mut self, scenario: &Scenario) -> RunOutput {
        let horizon = SimTime(self.spec.horizon.0);
        self.advance_to(horizon);
        let stalled = self.sim.stalled();
        let end = stalled.map_or(horizon, |s| s.at);
        let kpis = self.measure_at(scenario, end);
        let timeline = self.spec.record_series.then(|| {
            let world = &self.sim.world;
            self.model
                .lines
                .iter()
                .zip(&self.scenario_lines)
                .flat_map(|(&e, &si)| {
                    let line = &scenario.lines[si];
                    let rt = world.get::<LineRuntime>(e).expect("line entity");
                    line.stations
                        .iter()
                        .enumerate()
                        .map(|(i, st)| StationTimeline {
                            line: line.name.clone(),
                            station: st.name.clone(),
                            stops: rt.core(i).timeline.clone().unwrap_or_default(),
                            steps: rt.core(i).step_spans_to(end),
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        });
        let global_events = self.model.global_events;
        RunOutput {
            kpis,
            series: self.model.sampler.take().map(Sampler::into_series),
            timeline,
            events: self.sim.events_processed() - global_events,
            global_events,
            stalled,
        }
    }
}

/// Whether the plant's lines share nothing: lines served by one fleet, or making goods for
/// one network, share it.
fn lines_share_nothing(scenario: &Scenario) -> bool {
    scenario.fleet.is_none() && scenario.network.is_none()
}

/// Splits the plant's lines into at most `parts` groups that share nothing, each a run of
/// consecutive lines (one group where they share a fleet or a network).
pub fn partitions(scenario: &Scenario, parts: usize) -> Vec<Vec<usize>> {
    let n = scenario.lines.len();
    let parts = match lines_share_nothing(scenario) {
        true => parts.clamp(1, n.max(1)),
        false => 1,
    };
    (0..parts)
        .map(|p| (p * n / parts..(p + 1) * n / parts).collect())
        .filter(|g: &Vec<usize>| !g.is_empty())
        .collect()
}

/// Runs `scenario` once with `spec`: each of its lines that shares nothing with the others
/// runs on its own, one after another on each of up to `spec.threads` threads. A line
/// run alone keeps its few pending events in a small calendar and its state in the
/// processor's cache, where lines run together take turns at both. The output does not
/// depend on the number of threads.
pub fn simulate(scenario: &Scenario, spec: RunSpec) -> RunOutput {
    if !lines_share_nothing(scenario) || scenario.lines.len() <= 1 {
        return twin::Twin::new(scenario, spec).finish();
    }
    let run = |line: &usize| {
        let mut plant = Plant::partition(scenario, spec, vec![*line]);
        plant.start();
        plant.finish(scenario)
    };
    // Each thread's lines: a run of consecutive ones.
    let shares = partitions(scenario, spec.threads);
    if let [lines] = &shares[..] {
        return merge(lines.iter().map(run).collect());
    }
    let outs: Vec<RunOutput> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .iter()
            .map(|lines| scope.spawn(move || lines.iter().map(run).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a partition's thread does not panic"))
            .collect()
    });
    merge(outs)
}

/// Joins the outputs of a plant's partitions, lines in partition order.
fn merge(outs: Vec<RunOutput>) -> RunOutput {
    let global_events = outs[0].global_events;
    let events = outs.iter().map(|o| o.events).sum::<u64>() + global_events;
    // The partition that stalled first (each ran on to its own end).
    let stalled = outs.iter().filter_map(|o| o.stalled).min_by_key(|s| s.at);
    let measured_s = outs[0].kpis.measured_s;
    let mut lines = Vec::new();
    let mut series = Vec::new();
    let mut timeline: Option<Vec<StationTimeline>> = None;
    for o in outs {
        lines.extend(o.kpis.lines);
        series.extend(o.series);
        if let Some(t) = o.timeline {
            timeline.get_or_insert_with(Vec::new).extend(t);
        }
    }
    let series = if series.is_empty() {
        None
    } else {
        Some(
            TimeSeries::join_columns(series).expect("every partition samples at the same instants"),
        )
    };
    RunOutput {
        kpis: RunKpis {
            measured_s,
            lines,
            ..RunKpis::default()
        },
        series,
        timeline,
        events,
        global_events,
        stalled,
    }
}
