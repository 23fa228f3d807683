//! The one way to run a plant: a [`Twin`], stepped by time or one event at a time, with
//! an optional feed of inventory events (replayed or live) and snapshots between steps.
//! [`super::simulate`], [`simulate_replay`] and [`crate::replicate`] are thin calls on it.

use super::save::{SavedRun, SnapshotError};
use super::snapshot::{
    BufferSnapshot, LineSnapshot, PlantSnapshot, StationSnapshot, StockSnapshot,
};
use super::{Plant, RunOutput, RunSpec};
use crate::alerts::AlertLog;
use crate::alerts::PlantAlert;
use crate::feed::{FeedAlert, FeedPlan, FeedRuntime, ReplayError, Target, TwinPositions};
use crate::fleet::FleetRuntime;
use crate::kpi::RunKpis;
use crate::line::{LineRuntime, StationState};
use crate::network::NetworkRuntime;
use crate::scenario::Scenario;
use crate::stock::Stocks;
use feeds::{FeedEvent, Timestamp};
use nalgebra::Point2;
use sim::{SimDuration, SimTime};
use std::borrow::Borrow;

/// A plant running one step at a time. Stepping to the horizon gives exactly what
/// [`super::simulate`] gives for the same spec on one thread. Snapshots and KPIs so far
/// book the lines' time up to now, as sampling does; taken at other instants than the
/// samples, they may move the last digits of later results.
///
/// A twin may take a feed of inventory events: a whole recorded feed at the start
/// ([`Twin::with_feed`]), or events offered while it runs ([`Twin::live`],
/// [`Twin::offer`]), each applied at its time, or at once when the twin has passed it.
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
        let lines = (0..scenario.borrow().lines.len()).collect();
        let mut plant = Plant::partition(scenario.borrow(), spec, lines);
        plant.start();
        Twin { scenario, plant }
    }

    /// A twin that applies `feed` as it runs; the scenario's `run.start` places events
    /// offered later.
    ///
    /// A stock the feed reports on takes its supplier receipts from the feed (the real
    /// deliveries); its policy then proposes orders (`reorder` alerts) instead of placing
    /// them. A network site the feed reports on takes its customer orders from the feed
    /// (the model generates none there).
    pub fn with_feed(scenario: S, spec: RunSpec, feed: FeedPlan) -> Self {
        Self::fed(scenario, spec, feed, false)
    }

    /// A twin for a live feed that starts at real time `start`: every stock takes its
    /// receipts, and every network site its customer orders, from the feed.
    pub fn live(scenario: S, spec: RunSpec, start: Timestamp) -> Self {
        let mut twin = Self::fed(scenario, spec, FeedPlan::default(), true);
        twin.plant.sim.world.resource_mut::<FeedRuntime>().start = Some(start);
        twin
    }

    fn fed(scenario: S, spec: RunSpec, feed: FeedPlan, all_fed: bool) -> Self {
        let s: &Scenario = scenario.borrow();
        let lines = (0..s.lines.len()).collect();
        let mut plant = Plant::partition(s, spec, lines);
        let mut runtime = FeedRuntime::new(feed, TwinPositions::of(s));
        runtime.start = s.run.start;
        let world = &mut plant.sim.world;
        if let Some(mut stocks) = world.get_resource_mut::<Stocks>() {
            for k in 0..stocks.len() {
                stocks.set_fed(k, all_fed || runtime.addresses(Target::Stock(k)));
            }
        }
        if let Some(mut net) = world.get_resource_mut::<NetworkRuntime>() {
            for k in 0..net.network().sites.len() {
                net.set_fed(k, all_fed || runtime.addresses(Target::Site(k)));
            }
        }
        world.insert_resource(runtime);
        plant.start();
        Twin { scenario, plant }
    }

    /// The twin of `scenario` as a snapshot took it: the same run, at the same instant,
    /// going on exactly as it would have (the snapshot's settings, horizon included).
    /// Refused when `scenario` is not the one the snapshot was taken of.
    pub fn resume(scenario: S, run: SavedRun) -> Result<Self, SnapshotError> {
        run.check_scenario(scenario.borrow())?;
        Self::restored(scenario, run)
    }

    /// The plant of `scenario` with the saved state put in (checked by the caller to be
    /// of it, or of the scenario `scenario` is a variant of).
    fn restored(scenario: S, run: SavedRun) -> Result<Self, SnapshotError> {
        let s: &Scenario = scenario.borrow();
        let lines = (0..s.lines.len()).collect();
        let mut plant = Plant::partition(s, run.spec(), lines);
        super::save::restore(&mut plant, run)?;
        Ok(Twin { scenario, plant })
    }

    /// A fork of the run a snapshot holds: the same state, a fresh random future drawn
    /// with `seed` (every stream replaced by the one of the same purpose under it), the
    /// statistics starting afresh at the snapshot's time, and the run ending `ahead` of
    /// it. Refused past the end of the run the snapshot was taken from.
    pub fn fork(
        scenario: S,
        run: SavedRun,
        seed: u64,
        ahead: SimDuration,
    ) -> Result<Self, SnapshotError> {
        let mut twin = Self::resume(scenario, run)?;
        twin.fork_ahead(seed, ahead)?;
        Ok(twin)
    }

    /// A fork (as [`Twin::fork`]) of the run a snapshot of `base` holds, that runs on with
    /// the settings of `variant`, a variant of `base`: its buffer capacities, machine
    /// speeds, level switches, fleet policies and stock policies take effect at the
    /// snapshot's time (see [`super::variant`]). Refused, naming the field, when the
    /// variant changes anything else; with `variant` equal to `base`, the fork itself.
    pub fn fork_variant(
        variant: S,
        base: &Scenario,
        run: SavedRun,
        seed: u64,
        ahead: SimDuration,
    ) -> Result<Self, SnapshotError> {
        run.check_scenario(base)?;
        let changes = super::variant::changes(base, variant.borrow())?;
        let mut twin = Self::restored(variant, run)?;
        twin.fork_ahead(seed, ahead)?;
        // After the reseed: what the new settings set off draws from the fork's streams.
        twin.plant.retune(twin.scenario.borrow(), &changes)?;
        Ok(twin)
    }

    fn fork_ahead(&mut self, seed: u64, ahead: SimDuration) -> Result<(), SnapshotError> {
        let at = self.now();
        let horizon = self.plant.spec.horizon;
        let end = at.0.checked_add(ahead.0).filter(|&e| e <= horizon.0);
        let Some(end) = end else {
            return Err(SnapshotError::BeyondRun { ahead, at, horizon });
        };
        self.plant.fork(seed, SimTime(end));
        Ok(())
    }

    /// The whole state of the run now, as a snapshot (see [`super::save`]); the run goes
    /// on unchanged.
    pub fn save(&self) -> Vec<u8> {
        super::save::write(&self.plant, self.scenario.borrow())
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

    /// The run's settings.
    pub fn spec(&self) -> RunSpec {
        self.plant.spec
    }

    /// The end of the run.
    pub fn horizon(&self) -> SimTime {
        SimTime(self.plant.spec.horizon.0)
    }

    /// Whether the clock has reached the horizon, or the run stopped making progress (see
    /// [`Twin::stalled`]): either way nothing more is handled.
    pub fn done(&self) -> bool {
        self.now() >= self.horizon() || self.stalled().is_some()
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

    /// Handles every event up to `t` (at most the horizon) and moves the clock there; a
    /// twin with a feed then looks for sites whose feed has gone silent.
    pub fn advance_to(&mut self, t: SimTime) {
        self.plant.advance_to(t);
        let now = self.now();
        if let Some(mut feed) = self.plant.sim.world.get_resource_mut::<FeedRuntime>() {
            feed.watch_gaps(now);
        }
    }

    /// Handles every event up to `t` (at most the horizon) as [`Twin::advance_to`] does,
    /// but looks for silent feed sites only on reaching the horizon: steps of this make
    /// the run one `advance_to(horizon)` makes (a caller writing outputs as it goes).
    pub fn handle_events_to(&mut self, t: SimTime) {
        if t >= self.horizon() {
            self.advance_to(t);
        } else {
            self.plant.advance_to(t);
        }
    }

    /// Sets how the run tells a model that stopped making progress (by default
    /// [`sim::ProgressGuard::DEFAULT`]): it then ends there, with
    /// [`RunOutput::stalled`](super::RunOutput::stalled) saying so.
    pub fn set_progress_guard(&mut self, guard: sim::ProgressGuard) {
        self.plant.sim.set_progress_guard(guard);
    }

    /// Where the model stopped making progress, if it did: nothing more is handled.
    pub fn stalled(&self) -> Option<sim::Stall> {
        self.plant.sim.stalled()
    }

    /// Events handled so far.
    pub fn events(&self) -> u64 {
        self.plant.sim.events_processed()
    }

    /// The time series' CSV header (`None` when the run records none).
    pub fn series_csv_header(&self) -> Option<String> {
        self.plant.model.sampler.as_ref().map(|s| s.csv_header())
    }

    /// The time-series rows sampled since the last call, as CSV lines, no longer kept: a
    /// caller writing them as the run goes holds none in memory. What is not taken ends in
    /// [`RunOutput::series`](super::RunOutput::series).
    pub fn take_series_csv(&mut self) -> String {
        self.plant
            .model
            .sampler
            .as_mut()
            .map_or_else(String::new, |s| s.take_csv())
    }

    /// The plant's alerts raised since the last call, oldest first, for a caller writing
    /// them as the run goes: from then on the KPIs keep only the first
    /// [`crate::alerts::KEPT_ALERTS`] of those taken, and count the rest
    /// (`RunKpis::alerts_omitted`).
    pub fn take_alerts(&mut self) -> Vec<PlantAlert> {
        self.plant.sim.world.resource_mut::<AlertLog>().take_new()
    }

    /// Each station's stops recorded since the last call and over (all but the last, which
    /// may still grow), as CSV lines of the timeline, no longer kept; stations in the
    /// order of [`RunOutput::timeline`](super::RunOutput::timeline), which keeps what is
    /// not taken, then each station's speed-step spans in the same order. Empty strings
    /// when the run records no timeline.
    pub fn take_timeline_csv(&mut self) -> Vec<String> {
        let scenario = self.scenario.borrow();
        let mut out = Vec::new();
        let mut steps_text = Vec::new();
        for (&e, &si) in self
            .plant
            .model
            .lines
            .iter()
            .zip(&self.plant.scenario_lines)
        {
            let line = &scenario.lines[si];
            let mut rt = self
                .plant
                .sim
                .world
                .get_mut::<LineRuntime>(e)
                .expect("every line entity has a runtime");
            for (i, st) in line.stations.iter().enumerate() {
                let stops = rt.take_closed_stops(i);
                out.push(crate::line::stops_csv(&line.name, &st.name, &stops));
                let steps = rt.take_closed_steps(i);
                steps_text.push(crate::line::steps_csv(&line.name, &st.name, &steps));
            }
        }
        out.extend(steps_text);
        out
    }

    /// Traffic steps of the fleet so far (each moves every vehicle).
    pub fn fleet_steps(&self) -> u64 {
        self.plant.model.fleet_steps
    }

    /// What the fleet's traffic planning has done so far (nothing without a fleet).
    pub fn fleet_planning(&self) -> traffic::PlanningWork {
        self.plant
            .sim
            .world
            .get_resource::<FleetRuntime>()
            .map(FleetRuntime::planning_work)
            .unwrap_or_default()
    }

    /// Stations the lines run as flows have planned so far, once per plan each.
    pub fn planned_stations(&self) -> u64 {
        let world = &self.plant.sim.world;
        self.plant
            .model
            .lines
            .iter()
            .filter_map(|&e| world.get::<LineRuntime>(e))
            .map(LineRuntime::planned_stations)
            .sum()
    }

    /// The feed's runtime (a twin made with a feed has one).
    fn feed(&self) -> Option<&FeedRuntime> {
        self.plant.sim.world.get_resource::<FeedRuntime>()
    }

    /// The real time at simulated time `t`, if the run has a start.
    pub fn real_time(&self, t: SimTime) -> Option<Timestamp> {
        self.feed()
            .and_then(|f| f.start)
            .map(|s| Timestamp(s.0 + t.0 as i64))
    }

    /// Offers `events` (in the order they should apply) to a twin made with a feed. Each
    /// applies at its time since the start, or now if the twin has passed that; events
    /// past the horizon are counted and left out.
    pub fn offer(&mut self, events: Vec<FeedEvent>) -> Result<(), ReplayError> {
        let now = self.now();
        let horizon = self.horizon();
        let world = &mut self.plant.sim.world;
        let mut feed = world
            .get_resource_mut::<FeedRuntime>()
            .ok_or(ReplayError::NoStart)?;
        let start = feed.start.ok_or(ReplayError::NoStart)?;
        for e in events {
            let since = e.ts.0.saturating_sub(start.0);
            if since < 0 {
                feed.before_start();
            }
            let at = SimTime(since.max(0) as u64).max(now);
            if at >= horizon {
                feed.beyond_horizon();
            } else {
                feed.push(at, e);
            }
        }
        let model = &mut self.plant.model;
        self.plant
            .sim
            .with_scheduler(|world, sched| model.wake_feed(world, sched));
        Ok(())
    }

    /// Sets how long a site's feed may be silent before a `feed_gap` alert.
    pub fn set_gap_alert(&mut self, gap: SimDuration) {
        if let Some(mut feed) = self.plant.sim.world.get_resource_mut::<FeedRuntime>() {
            feed.gap_alert = gap;
        }
    }

    /// Alerts the feed has raised so far, oldest first.
    pub fn feed_alerts(&self) -> &[FeedAlert] {
        self.feed().map_or(&[], |f| f.alerts())
    }

    /// Alerts the plant has raised so far (lines starved, transports late, stock running
    /// out), oldest first.
    pub fn plant_alerts(&self) -> &[PlantAlert] {
        self.plant.sim.world.resource::<AlertLog>().all()
    }

    /// Ends the run now (an interrupted live run): the horizon becomes the clock, so the
    /// KPIs measure up to here (from time 0 if the warm-up had not ended). Returns the
    /// new horizon.
    pub fn stop_here(&mut self) -> SimDuration {
        let now = self.now();
        self.plant.spec.horizon = SimDuration(now.0);
        if self.plant.spec.warmup.0 > now.0 {
            // The warm-up never ended: the statistics run from time 0.
            self.plant.spec.warmup = SimDuration::ZERO;
        }
        self.plant.model.horizon = now;
        self.plant.spec.horizon
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
        let world = &mut self.plant.sim.world;
        snap.time = now;
        snap.lines.truncate(self.plant.model.lines.len());
        for (li, &e) in self.plant.model.lines.iter().enumerate() {
            let line = &scenario.lines[self.plant.scenario_lines[li]];
            let mut rt = world
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
                        speed_step: 1.0,
                    });
                }
                let s = &mut out.stations[i];
                s.state = rt.state(i);
                if s.product != *product {
                    s.product.clone_from(product);
                }
                s.units_out = crate::units::units_done(core.counters.good) as f64;
                s.failures = core.counters.failures;
                s.changeovers = core.counters.setups;
                s.speed_step = core.step;
            }
            out.buffers.truncate(line.buffers.len());
            for (b, buf) in line.buffers.iter().enumerate() {
                let level = rt.buffer_level(Some(b));
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
        match world.get_resource::<FleetRuntime>() {
            Some(fleet) => fleet.refresh_vehicle_snapshots(&mut snap.vehicles),
            None => snap.vehicles.clear(),
        }
        let stocks = world.get_resource::<Stocks>().map_or(&[][..], |s| s.all());
        snap.stock.truncate(stocks.len());
        for (i, s) in stocks.iter().enumerate() {
            if snap.stock.len() == i {
                snap.stock.push(StockSnapshot {
                    material: s.spec().material.clone(),
                    at: s.spec().at.clone(),
                    on_hand: 0.0,
                });
            }
            snap.stock[i].on_hand = s.on_hand();
        }
        let alerts = world.resource::<AlertLog>().all();
        snap.alerts.truncate(alerts.len());
        let known = snap.alerts.len();
        snap.alerts.extend_from_slice(&alerts[known..]);
    }

    /// The stops of station `station` of line `line` (indices in the twin's snapshot
    /// order) up to the last refresh: (start ns, end ns, state) spans of down, setup,
    /// micro-stop, planned stop and material or outfeed holds; working, starved and blocked
    /// time lie between them. Empty when the run does not record series.
    pub fn station_timeline(&self, line: usize, station: usize) -> &[(u64, u64, StationState)] {
        self.station_core(line, station)
            .and_then(|core| core.timeline.as_deref())
            .unwrap_or(&[])
    }

    /// Station `station` of line `line`, if there is one.
    fn station_core(&self, line: usize, station: usize) -> Option<&crate::line::StationCore> {
        self.plant
            .model
            .lines
            .get(line)
            .and_then(|&e| self.plant.sim.world.get::<LineRuntime>(e))
            .filter(|rt| station < rt.stations())
            .map(|rt| rt.core(station))
    }

    /// The speed-step spans of station `station` of line `line` so far, as (start ns, end
    /// ns, share of nominal): those recorded, in the order they ended, and the running one
    /// up to now; none on lines without level switches or when nothing is recorded.
    pub fn station_steps(
        &self,
        line: usize,
        station: usize,
    ) -> (&[crate::line::StepSpan], Option<crate::line::StepSpan>) {
        self.station_core(line, station)
            .map_or((&[], None), |core| core.step_spans(self.now()))
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
    pub fn kpis(&mut self) -> Option<RunKpis> {
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

/// Runs `scenario` once with `spec`, replaying `feed` into its stock positions (see
/// [`crate::feed`]). The feed's KPIs come in `kpis.feed`. The plant runs on one
/// calendar: the feed's events reach every line.
pub fn simulate_replay(scenario: &Scenario, spec: RunSpec, feed: FeedPlan) -> RunOutput {
    let mut twin = Twin::with_feed(scenario, spec, feed);
    twin.advance_to(SimTime(spec.horizon.0));
    twin.finish()
}

/// What-ifs from a snapshot: `reps` forks of the run in `snapshot` (its bytes) with the
/// settings of `scenario` (the snapshot's own, or a variant of it: see
/// [`Twin::fork_variant`]), each `ahead` of it with a fresh random future, replication `r`
/// drawing with [`sim::replication_seed`]`(base, r)` (so variants share their random
/// numbers), on up to `threads` threads; only the first keeps its series and timeline.
/// The result does not depend on `threads`.
pub fn fork_replications(
    snapshot: &[u8],
    scenario: &Scenario,
    base: u64,
    ahead: SimDuration,
    reps: usize,
    threads: usize,
) -> Result<crate::Replications, SnapshotError> {
    // Refused before any thread starts, if at all.
    fork_run(snapshot, scenario, base, ahead, true)?;
    let runs = sim::run_replications(reps, threads, base, |rep, seed| {
        fork_run(snapshot, scenario, seed, ahead, rep == 0)
            .expect("a fork that was made once is made again")
    });
    Ok(crate::Replications {
        seeds: (0..reps).map(|r| sim::replication_seed(base, r)).collect(),
        runs,
    })
}

/// One fork of the run in `snapshot` (its bytes) with the settings of `scenario` (see
/// [`Twin::fork_variant`]), drawing with `seed`, run `ahead` of the snapshot; with
/// `record`, it keeps its time series and timeline.
pub fn fork_run(
    snapshot: &[u8],
    scenario: &Scenario,
    seed: u64,
    ahead: SimDuration,
    record: bool,
) -> Result<RunOutput, SnapshotError> {
    let snap = super::save::read(snapshot)?;
    let mut twin = Twin::fork_variant(scenario, &snap.scenario, snap.run, seed, ahead)?;
    if !record {
        twin.plant.model.sampler = None;
    }
    twin.advance_to(twin.horizon());
    Ok(twin.finish())
}

/// The base seed of forks of a snapshot of the run of `seed` taken at `at`, when none is
/// given: each snapshot has futures of its own.
pub fn fork_seed(seed: u64, at: SimTime) -> u64 {
    sim::splitmix64(seed ^ sim::splitmix64(at.0))
}
