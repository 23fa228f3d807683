//! The plant model: each line is an entity in the bevy_ecs world holding its runtime as a
//! component; a [`PlantModel`] handles the events and a run turns a [`Scenario`] into KPIs.

pub mod discrete;
pub mod events;
pub mod fluid;
pub mod state;
pub mod twin;

use crate::fleet::logistics::Call;
use crate::fleet::{FleetRuntime, Origin};
use crate::kpi::{self, RunKpis};
use crate::network::{Departure, NetworkRuntime};
use crate::replay::{FeedPlan, FeedRuntime, ModelEffect, ReplayError, Target, TwinPositions};
use crate::scenario::SiteKind;
use crate::scenario::network::PRODUCTION_TICK;
use crate::scenario::{FailureBasis, PlannedStop, Scenario};
use crate::units::TICKS_PER_UNIT;
use bevy_ecs::component::Component;
use bevy_ecs::entity::Entity;
use discrete::DiscreteLine;
pub use events::{LineEvent, PlantEvent};
use fluid::FluidLine;
use orchestrator::feed::{FeedEvent, Timestamp};
use sim::{
    EventHandler, RngStreams, SampleValue, Scheduler, SimDuration, SimTime, Simulation, TimeSeries,
    World,
};
pub use state::{Counters, StationCore, StationState};
pub use twin::{BufferSnapshot, LineSnapshot, PlantSnapshot, StationSnapshot, StockSnapshot, Twin};

/// How a line is simulated.
#[derive(Clone, Debug)]
pub enum LineEngine {
    /// Piecewise-constant flows (unlimited supply, fixed cycles).
    Fluid(FluidLine),
    /// Unit by unit.
    Discrete(DiscreteLine),
}

/// A line's state in the world.
#[derive(Component, Clone, Debug)]
pub struct LineRuntime {
    /// The line's engine and state.
    pub engine: LineEngine,
    stops: Vec<PlannedStop>,
    index: u16,
    /// Units inside the line when the statistics (re)started.
    pub wip_at_warmup: f64,
}

fn ev(line: u16, event: LineEvent) -> PlantEvent {
    PlantEvent::Line { line, event }
}

impl LineRuntime {
    pub(crate) fn n_stations(&self) -> usize {
        match &self.engine {
            LineEngine::Fluid(f) => f.n_stations(),
            LineEngine::Discrete(d) => d.n_stations(),
        }
    }

    /// Station `i`'s shared core.
    pub fn core(&self, i: usize) -> &StationCore {
        match &self.engine {
            LineEngine::Fluid(f) => f.core(i),
            LineEngine::Discrete(d) => d.core(i),
        }
    }

    fn core_mut(&mut self, i: usize) -> &mut StationCore {
        match &mut self.engine {
            LineEngine::Fluid(f) => f.core_mut(i),
            LineEngine::Discrete(d) => d.core_mut(i),
        }
    }

    /// Brings flows and time accounts up to `now`.
    pub fn sync(&mut self, now: SimTime) {
        match &mut self.engine {
            LineEngine::Fluid(f) => f.advance(now),
            LineEngine::Discrete(d) => d.sync(now),
        }
    }

    /// The state of station `i` now.
    pub fn state(&self, i: usize) -> StationState {
        match &self.engine {
            LineEngine::Fluid(f) => f.state(i),
            LineEngine::Discrete(d) => d.state(i),
        }
    }

    fn start(&mut self, sched: &mut Scheduler<'_, PlantEvent>) {
        for i in 0..self.n_stations() {
            for m in 0..self.core(i).failures.len() {
                if self.core(i).failures[m].basis == FailureBasis::Calendar {
                    let d = self.core_mut(i).failures[m].draw_tbf();
                    sched.after(
                        d,
                        ev(
                            self.index,
                            LineEvent::CalendarFailure {
                                station: i as u16,
                                mode: m as u8,
                            },
                        ),
                    );
                }
            }
        }
        for (k, stop) in self.stops.iter().enumerate() {
            sched.at(
                SimTime(stop.start.0),
                ev(self.index, LineEvent::StopStart { stop: k as u16 }),
            );
        }
        match &mut self.engine {
            LineEngine::Fluid(f) => f.start(sched),
            LineEngine::Discrete(d) => d.start(sched),
        }
    }

    /// Marks failures active, schedules their repairs, and lets the engine react.
    fn strike(&mut self, struck: Vec<(usize, usize)>, sched: &mut Scheduler<'_, PlantEvent>) {
        let mut struck = struck;
        while !struck.is_empty() {
            for &(i, m) in &struck {
                let f = &mut self.core_mut(i).failures[m];
                f.active = true;
                let micro = f.micro;
                let ttr = f.draw_ttr();
                let c = &mut self.core_mut(i).counters;
                if micro {
                    c.micro_stops += 1;
                } else {
                    c.failures += 1;
                }
                sched.after(
                    ttr,
                    ev(
                        self.index,
                        LineEvent::Repair {
                            station: i as u16,
                            mode: m as u8,
                        },
                    ),
                );
            }
            struck = match &mut self.engine {
                LineEngine::Fluid(f) => f.settle(sched),
                LineEngine::Discrete(d) => {
                    for &(i, _) in &struck {
                        d.on_unavailable(i, sched.now());
                    }
                    d.kick(sched);
                    Vec::new()
                }
            };
        }
    }

    /// Lets the engine react after an availability or schedule change at station `i`.
    fn react(&mut self, i: Option<usize>, sched: &mut Scheduler<'_, PlantEvent>) {
        match &mut self.engine {
            LineEngine::Fluid(f) => {
                let struck = f.settle(sched);
                self.strike(struck, sched);
            }
            LineEngine::Discrete(d) => match i {
                Some(i) if !d.core(i).available() => {
                    d.on_unavailable(i, sched.now());
                    d.kick(sched);
                }
                Some(i) => d.on_available(i, sched),
                None => d.kick(sched),
            },
        }
    }

    /// Station `i`'s rates now, ticks per nanosecond (taken, good out); `None` for a
    /// unit-by-unit line, whose counters change only at its own events.
    pub fn rates(&self, i: usize) -> Option<(f64, f64)> {
        match &self.engine {
            LineEngine::Fluid(f) => Some(f.rates(i)),
            LineEngine::Discrete(_) => None,
        }
    }

    /// Number of stations.
    pub fn stations(&self) -> usize {
        self.n_stations()
    }

    /// Sets or clears a logistics hold on station `i` (after [`LineRuntime::sync`]) and
    /// lets the line react.
    pub fn set_hold(
        &mut self,
        i: usize,
        hold: Hold,
        on: bool,
        sched: &mut Scheduler<'_, PlantEvent>,
    ) {
        let core = self.core_mut(i);
        let flag = match hold {
            Hold::Material => &mut core.material_hold,
            Hold::Outfeed => &mut core.outfeed_hold,
        };
        if *flag != on {
            *flag = on;
            self.react(Some(i), sched);
        }
    }

    fn start_campaign_timer(&mut self, sched: &mut Scheduler<'_, PlantEvent>) {
        match &mut self.engine {
            LineEngine::Fluid(f) => f.start_campaign_timer(sched),
            LineEngine::Discrete(d) => d.start_campaign_timer(sched),
        }
    }

    /// Handles one event of this line.
    pub fn handle(&mut self, event: LineEvent, sched: &mut Scheduler<'_, PlantEvent>) {
        let now = sched.now();
        match event {
            LineEvent::Flow { epoch } => {
                if let LineEngine::Fluid(f) = &mut self.engine
                    && f.claim_flow(epoch)
                {
                    f.advance(now);
                    let struck = f.settle(sched);
                    self.strike(struck, sched);
                }
            }
            LineEvent::Done { station, epoch } => {
                if let LineEngine::Discrete(d) = &mut self.engine {
                    let struck = d.on_done(station as usize, epoch, sched);
                    self.strike(struck, sched);
                }
            }
            LineEvent::Arrival => {
                if let LineEngine::Discrete(d) = &mut self.engine {
                    d.on_arrival(sched);
                }
            }
            LineEvent::TransitReady { .. } => {
                if let LineEngine::Discrete(d) = &mut self.engine {
                    d.kick(sched);
                }
            }
            LineEvent::CalendarFailure { station, mode } => {
                self.sync(now);
                self.strike(vec![(station as usize, mode as usize)], sched);
            }
            LineEvent::Repair { station, mode } => {
                self.sync(now);
                let (i, m) = (station as usize, mode as usize);
                let f = &mut self.core_mut(i).failures[m];
                f.active = false;
                let next = f.draw_tbf();
                match f.basis {
                    FailureBasis::Calendar => sched.after(
                        next,
                        ev(self.index, LineEvent::CalendarFailure { station, mode }),
                    ),
                    FailureBasis::Operating => f.op_left = next.0 as f64,
                }
                self.react(Some(i), sched);
            }
            LineEvent::SetupDone { station } => {
                self.sync(now);
                self.core_mut(station as usize).setup = false;
                if station == 0 {
                    self.start_campaign_timer(sched);
                }
                self.react(Some(station as usize), sched);
            }
            LineEvent::StopStart { stop } => {
                self.sync(now);
                let s = self.stops[stop as usize].clone();
                for &i in &s.stations {
                    self.core_mut(i).planned += 1;
                }
                sched.after(s.duration, ev(self.index, LineEvent::StopEnd { stop }));
                if let Some(every) = s.every {
                    sched.after(every, ev(self.index, LineEvent::StopStart { stop }));
                }
                for &i in &s.stations {
                    self.react(Some(i), sched);
                }
            }
            LineEvent::StopEnd { stop } => {
                self.sync(now);
                let stations = self.stops[stop as usize].stations.clone();
                for &i in &stations {
                    self.core_mut(i).planned -= 1;
                }
                for &i in &stations {
                    self.react(Some(i), sched);
                }
            }
            LineEvent::CampaignEnd { epoch } => {
                let cursor_gen = match &mut self.engine {
                    LineEngine::Fluid(f) => f.cursor_mut().timer_epoch,
                    LineEngine::Discrete(d) => d.cursor_mut().timer_epoch,
                };
                if epoch == cursor_gen {
                    self.sync(now);
                    let changed = match &mut self.engine {
                        LineEngine::Fluid(f) => f.cursor_mut().advance(),
                        LineEngine::Discrete(d) => d.cursor_mut().advance(),
                    };
                    if !changed {
                        self.start_campaign_timer(sched);
                    }
                    self.react(None, sched);
                }
            }
        }
    }

    fn reset_statistics(&mut self, now: SimTime) {
        match &mut self.engine {
            LineEngine::Fluid(f) => {
                f.advance(now);
                f.reset_statistics(now);
                self.wip_at_warmup = crate::units::units(f.wip_ticks());
            }
            LineEngine::Discrete(d) => {
                d.reset_statistics(now);
                self.wip_at_warmup = d.wip_units() as f64;
            }
        }
    }
}

/// Why logistics stop a station.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// A material ran out at line side.
    Material,
    /// No room for another pallet at the outfeed.
    Outfeed,
}

/// Handles the plant's events: line events go to the line's component in the world.
pub struct PlantModel {
    lines: Vec<Entity>,
    sample_every: SimDuration,
    horizon: SimTime,
    series: Option<TimeSeries>,
    buffer_columns: Vec<Vec<Option<usize>>>,
    /// Events that are not any line's (samples, end of warm-up).
    global_events: u64,
    /// Which lines have an outfeed or materials served by the fleet.
    logistics: Vec<bool>,
}

impl PlantModel {
    fn sample(&mut self, world: &mut World, now: SimTime) {
        let Some(series) = &mut self.series else {
            return;
        };
        let mut row = Vec::with_capacity(series.columns().len());
        for (li, &e) in self.lines.iter().enumerate() {
            let mut rt = world
                .get_mut::<LineRuntime>(e)
                .expect("every line entity has a runtime");
            rt.sync(now);
            for b in &self.buffer_columns[li] {
                let level = match (&rt.engine, b) {
                    (LineEngine::Fluid(f), Some(b)) => f.buffer_level(*b),
                    (LineEngine::Fluid(_), None) => 0.0,
                    (LineEngine::Discrete(d), b) => d.buffer_level(*b),
                };
                row.push(SampleValue::Number(level));
            }
            for i in 0..rt.n_stations() {
                row.push(SampleValue::Label(rt.state(i).name()));
            }
            let last = rt.n_stations() - 1;
            row.push(SampleValue::Number(crate::units::units(
                rt.core(last).counters.good,
            )));
        }
        if let Some(fleet) = world.get_resource::<FleetRuntime>() {
            row.extend(fleet.stock.iter().map(|s| SampleValue::Number(s.on_hand())));
        }
        series.push(now, row);
    }
}

impl PlantModel {
    /// Brings line `line`'s logistics up to date: holds, new tasks, the next watch.
    fn check_logistics(
        &mut self,
        world: &mut World,
        sched: &mut Scheduler<'_, PlantEvent>,
        line: usize,
    ) {
        let now = sched.now();
        let entity = self.lines[line];
        world.resource_scope(
            |world, mut fleet: bevy_ecs::change_detection::Mut<FleetRuntime>| {
                let mut rt = world
                    .get_mut::<LineRuntime>(entity)
                    .expect("every line entity has a runtime");
                rt.sync(now);
                let (calls, next) = fleet.lines[line].check(&mut rt, now, sched);
                for call in calls {
                    match call {
                        Call::Pallet => {
                            let o = fleet.lines[line]
                                .outfeed()
                                .cloned()
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
                            if let Some(order) = fleet.call_material(line, m, now) {
                                schedule_receipt(sched, order);
                            }
                        }
                    }
                }
                for m in std::mem::take(&mut fleet.lines[line].ran_out) {
                    fleet.line_starved(line, m, now);
                }
                let l = &mut fleet.lines[line];
                l.epoch = l.epoch.wrapping_add(1);
                if let Some(d) = next {
                    sched.after(
                        d,
                        PlantEvent::Logistics {
                            line: line as u16,
                            epoch: l.epoch,
                        },
                    );
                }
            },
        );
    }

    /// Applies the feed's next event (and all due at the same time), then waits for the
    /// one after.
    fn feed_event(&mut self, world: &mut World, sched: &mut Scheduler<'_, PlantEvent>) {
        let now = sched.now();
        let mut feed = world.resource_mut::<FeedRuntime>();
        if !feed.woken(now) {
            return;
        }
        feed.watch_gaps(now);
        loop {
            let mut feed = world.resource_mut::<FeedRuntime>();
            if feed.next_time().is_none_or(|t| t > now) {
                break;
            }
            let effect = feed.apply_next();
            let (target, count, delta) = match effect {
                ModelEffect::None => continue,
                ModelEffect::Received { stock, qty } => {
                    world
                        .resource_mut::<FleetRuntime>()
                        .received_stock(stock, qty, now);
                    continue;
                }
                ModelEffect::SiteOrder { site, qty, due } => {
                    let trucks = world
                        .resource_mut::<NetworkRuntime>()
                        .customer_order(site, qty, due, now);
                    send_trucks(sched, trucks);
                    continue;
                }
                ModelEffect::Counted { target, qty } => (target, Some(qty), 0.0),
                ModelEffect::Adjusted { target, delta } => (target, None, delta),
            };
            match target {
                Target::Line { line, material } => {
                    let entity = self.lines[line];
                    let drift = world.resource_scope(
                        |world, mut fleet: bevy_ecs::change_detection::Mut<FleetRuntime>| {
                            let mut rt = world
                                .get_mut::<LineRuntime>(entity)
                                .expect("every line entity has a runtime");
                            rt.sync(now);
                            match count {
                                Some(qty) => Some(fleet.lines[line].counted(material, qty, &rt)),
                                None => {
                                    fleet.lines[line].adjusted(material, delta);
                                    None
                                }
                            }
                        },
                    );
                    if let Some(d) = drift {
                        world.resource_mut::<FeedRuntime>().counted(target, d);
                    }
                    self.check_logistics(world, sched, line);
                }
                Target::Site(k) => {
                    let mut net = world.resource_mut::<NetworkRuntime>();
                    let (drift, trucks) = match count {
                        Some(qty) => {
                            let (d, t) = net.counted(k, qty, now);
                            (Some(d), t)
                        }
                        None => (None, net.adjusted(k, delta, now)),
                    };
                    send_trucks(sched, trucks);
                    if let Some(d) = drift {
                        world.resource_mut::<FeedRuntime>().counted(target, d);
                    }
                }
                Target::Stock(k) => {
                    let mut fleet = world.resource_mut::<FleetRuntime>();
                    let (drift, order) = match count {
                        Some(qty) => {
                            let (d, o) = fleet.count_stock(k, qty, now);
                            (Some(d), o)
                        }
                        None => (None, fleet.adjust_stock(k, delta, now)),
                    };
                    if let Some(o) = order {
                        schedule_receipt(sched, o);
                    }
                    if let Some(d) = drift {
                        world.resource_mut::<FeedRuntime>().counted(target, d);
                    }
                }
            }
        }
        self.wake_feed(world, sched);
    }

    /// Plants book their lines' good output as pallets and ship what waits; the next tick.
    fn network_tick(&mut self, world: &mut World, sched: &mut Scheduler<'_, PlantEvent>) {
        let now = sched.now();
        let plants: Vec<(usize, Vec<usize>)> = world
            .resource::<NetworkRuntime>()
            .network()
            .sites
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == SiteKind::Plant)
            .map(|(k, s)| (k, s.lines.clone()))
            .collect();
        for (k, lines) in plants {
            let mut units = 0.0;
            for l in lines {
                let mut rt = world
                    .get_mut::<LineRuntime>(self.lines[l])
                    .expect("every line entity has a runtime");
                rt.sync(now);
                let last = rt.stations() - 1;
                units += rt.core(last).counters.good as f64 / TICKS_PER_UNIT as f64;
            }
            let trucks = world
                .resource_mut::<NetworkRuntime>()
                .produced(k, units, now);
            send_trucks(sched, trucks);
        }
        if now + PRODUCTION_TICK < self.horizon {
            sched.after(PRODUCTION_TICK, PlantEvent::NetworkTick);
        }
    }

    /// Puts the feed's next wake-up on the calendar when it is earlier than the one there.
    fn wake_feed(&mut self, world: &mut World, sched: &mut Scheduler<'_, PlantEvent>) {
        if let Some(mut feed) = world.get_resource_mut::<FeedRuntime>()
            && feed.next_time().is_some_and(|t| t < self.horizon)
            && let Some(t) = feed.wake_for_next()
        {
            sched.at(t, PlantEvent::Feed);
        }
    }

    fn fleet_step(&mut self, world: &mut World, sched: &mut Scheduler<'_, PlantEvent>) {
        let now = sched.now();
        let mut fleet = world.resource_mut::<FleetRuntime>();
        let (picked, delivered) = fleet.step(now);
        let dt = fleet.step_time();
        let mut touched = Vec::new();
        for o in picked {
            if let Origin::Outfeed(l) = o {
                fleet.lines[l].picked();
                touched.push(l);
            }
        }
        for o in delivered {
            if let Origin::Material(l, m) = o {
                fleet.lines[l].delivered(m);
                touched.push(l);
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for l in touched {
            self.check_logistics(world, sched, l);
        }
        if now + dt < self.horizon {
            sched.after(dt, PlantEvent::FleetStep);
        }
    }
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
                let mut rt = world
                    .get_mut::<LineRuntime>(self.lines[line as usize])
                    .expect("every line entity has a runtime");
                rt.handle(event, sched);
                if self.logistics[line as usize] {
                    self.check_logistics(world, sched, line as usize);
                }
            }
            PlantEvent::Logistics { line, epoch } => {
                let current = world.resource::<FleetRuntime>().lines[line as usize].epoch;
                if epoch == current {
                    self.check_logistics(world, sched, line as usize);
                }
            }
            PlantEvent::FleetStep => self.fleet_step(world, sched),
            PlantEvent::TaskRelease { task } => {
                let now = sched.now();
                let mut fleet = world.resource_mut::<FleetRuntime>();
                let t = fleet.listed()[task as usize].clone();
                for _ in 0..t.loads {
                    fleet.create(
                        Origin::Listed(task as usize),
                        &t.from,
                        &t.to,
                        t.priority,
                        now,
                        t.due,
                    );
                }
                if let Some(every) = t.every
                    && now + every <= self.horizon
                {
                    sched.after(every, PlantEvent::TaskRelease { task });
                }
            }
            PlantEvent::Feed => self.feed_event(world, sched),
            PlantEvent::StockReceipt { stock, order } => {
                let now = sched.now();
                let mut fleet = world.resource_mut::<FleetRuntime>();
                if let Some(next) = fleet.receive_stock(stock as usize, order, now) {
                    schedule_receipt(sched, next);
                }
            }
            PlantEvent::NetworkTick => self.network_tick(world, sched),
            PlantEvent::CustomerOrder { site } => {
                let now = sched.now();
                let mut net = world.resource_mut::<NetworkRuntime>();
                let trucks = net.generated_order(site as usize, now);
                if let Some(next) = net.next_order_in(site as usize)
                    && now + next < self.horizon
                {
                    sched.after(next, PlantEvent::CustomerOrder { site });
                }
                send_trucks(sched, trucks);
            }
            PlantEvent::TruckArrival { lane, truck } => {
                let now = sched.now();
                let trucks =
                    world
                        .resource_mut::<NetworkRuntime>()
                        .arrived(lane as usize, truck, now);
                send_trucks(sched, trucks);
            }
            PlantEvent::Sample => {
                self.global_events += 1;
                self.sample(world, sched.now());
                let next = sched.now() + self.sample_every;
                if next <= self.horizon {
                    sched.at(next, PlantEvent::Sample);
                }
            }
            PlantEvent::WarmupEnd => {
                self.global_events += 1;
                if let Some(mut fleet) = world.get_resource_mut::<FleetRuntime>() {
                    fleet.reset_statistics(sched.now());
                }
                if let Some(mut net) = world.get_resource_mut::<NetworkRuntime>() {
                    net.reset_at(sched.now());
                }
                for &e in &self.lines {
                    world
                        .get_mut::<LineRuntime>(e)
                        .expect("every line entity has a runtime")
                        .reset_statistics(sched.now());
                }
            }
        }
    }
}

/// Puts trucks leaving on the calendar, at their arrival.
fn send_trucks(sched: &mut Scheduler<'_, PlantEvent>, trucks: Vec<Departure>) {
    for t in trucks {
        sched.after(
            t.transit,
            PlantEvent::TruckArrival {
                lane: t.lane as u16,
                truck: t.truck,
            },
        );
    }
}

/// Puts supplier order (stock, order, lead time) on the calendar.
fn schedule_receipt(
    sched: &mut Scheduler<'_, PlantEvent>,
    (stock, order, lead): (usize, u32, SimDuration),
) {
    sched.after(
        lead,
        PlantEvent::StockReceipt {
            stock: stock as u16,
            order,
        },
    );
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
}

/// Settings of one run, defaulting to the scenario's.
#[derive(Clone, Copy, Debug, PartialEq)]
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
}

/// A plant (or an independent partition of it) ready to run: the world with one entity
/// per line, and the calendar.
pub struct Plant {
    sim: Simulation<PlantEvent>,
    model: PlantModel,
    lines: Vec<Entity>,
    /// Indices in the scenario of the lines simulated here.
    scenario_lines: Vec<usize>,
    spec: RunSpec,
}

impl Plant {
    /// Builds the plant of `scenario` for one run.
    pub fn new(scenario: &Scenario, spec: RunSpec) -> Self {
        Self::partition(scenario, spec, (0..scenario.lines.len()).collect())
    }

    /// Builds the part of the plant made of the lines `scenario_lines`, which must share
    /// nothing with the other lines.
    pub fn partition(scenario: &Scenario, spec: RunSpec, scenario_lines: Vec<usize>) -> Self {
        let rng = RngStreams::new(spec.seed);
        let mut sim = Simulation::new();
        let mut columns = Vec::new();
        let mut buffer_columns = Vec::new();
        let mut lines = Vec::new();
        for (li, &si) in scenario_lines.iter().enumerate() {
            let line = &scenario.lines[si];
            let engine = if line.is_fluid() {
                LineEngine::Fluid(FluidLine::new(li, si, line, &rng))
            } else {
                LineEngine::Discrete(DiscreteLine::new(li, si, line, &rng))
            };
            let mut cols = Vec::new();
            if let LineEngine::Discrete(d) = &engine
                && d.has_queue()
            {
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
            buffer_columns.push(cols);
            let mut engine = engine;
            if spec.record_series {
                for i in 0..line.stations.len() {
                    let core = match &mut engine {
                        LineEngine::Fluid(f) => f.core_mut(i),
                        LineEngine::Discrete(d) => d.core_mut(i),
                    };
                    core.timeline = Some(Vec::new());
                }
            }
            let rt = LineRuntime {
                engine,
                stops: line.planned_stops.clone(),
                index: li as u16,
                wip_at_warmup: 0.0,
            };
            lines.push(sim.world.spawn(rt).id());
        }
        let end = SimTime(spec.horizon.0);
        let logistics: Vec<bool> = scenario_lines
            .iter()
            .map(|&si| {
                let l = &scenario.lines[si];
                l.outfeed.is_some() || !l.materials.is_empty()
            })
            .collect();
        if let Some(plan) = &scenario.fleet {
            let refs: Vec<&crate::scenario::Line> = scenario_lines
                .iter()
                .map(|&si| &scenario.lines[si])
                .collect();
            sim.world
                .insert_resource(FleetRuntime::new(plan, &refs, spec.seed));
            columns.extend(
                plan.stock
                    .iter()
                    .map(|s| format!("stock.{}@{}", s.material, s.at)),
            );
        }
        if let Some(net) = &scenario.network {
            sim.world
                .insert_resource(NetworkRuntime::new(net, spec.seed));
        }
        let model = PlantModel {
            lines: lines.clone(),
            sample_every: scenario.run.sample_interval,
            horizon: end,
            series: spec.record_series.then(|| TimeSeries::new(columns)),
            buffer_columns,
            global_events: 0,
            logistics,
        };
        Plant {
            sim,
            model,
            lines,
            scenario_lines,
            spec,
        }
    }

    /// Runs to the horizon and measures.
    pub fn run(mut self, scenario: &Scenario) -> RunOutput {
        self.start();
        self.advance_to(SimTime(self.spec.horizon.0));
        self.finish(scenario)
    }

    /// Puts the first events on the calendar; the clock stays at 0.
    fn start(&mut self) {
        for &e in &self.lines {
            self.sim.with_scheduler(|world, sched| {
                world
                    .get_mut::<LineRuntime>(e)
                    .expect("every line entity has a runtime")
                    .start(sched);
            });
        }
        if self.spec.warmup > SimDuration::ZERO {
            self.sim
                .schedule(SimTime(self.spec.warmup.0), PlantEvent::WarmupEnd);
        }
        if self.model.series.is_some() {
            self.sim.schedule(SimTime::ZERO, PlantEvent::Sample);
        }
        if let Some(fleet) = self.sim.world.get_resource::<FleetRuntime>() {
            let listed: Vec<SimDuration> = fleet.listed().iter().map(|t| t.first).collect();
            self.sim.schedule(SimTime::ZERO, PlantEvent::FleetStep);
            for (k, first) in listed.into_iter().enumerate() {
                if first.0 < self.spec.horizon.0 {
                    self.sim
                        .schedule(SimTime(first.0), PlantEvent::TaskRelease { task: k as u16 });
                }
            }
            let stocks = self.sim.world.resource::<FleetRuntime>().stock.len();
            for k in 0..stocks {
                // Stock may start at or below its reorder point (a fed stock's opening
                // state comes from its feed, at time 0 too).
                self.sim.with_scheduler(|world, sched| {
                    let mut fleet = world.resource_mut::<FleetRuntime>();
                    if fleet.stock[k].fed {
                        return;
                    }
                    if let Some(order) = fleet.review_stock(k, sched.now()) {
                        schedule_receipt(sched, order);
                    }
                });
            }
            for l in 0..self.lines.len() {
                if self.model.logistics[l] {
                    // The first check at time zero sets the first holds and calls.
                    let model = &mut self.model;
                    self.sim
                        .with_scheduler(|world, sched| model.check_logistics(world, sched, l));
                }
            }
        }
        if self.sim.world.get_resource::<NetworkRuntime>().is_some() {
            self.sim.schedule(SimTime::ZERO, PlantEvent::NetworkTick);
            self.sim.with_scheduler(|world, sched| {
                let mut net = world.resource_mut::<NetworkRuntime>();
                for site in 0..net.network().sites.len() {
                    if let Some(first) = net.next_order_in(site)
                        && SimTime(first.0) < SimTime(self.spec.horizon.0)
                    {
                        sched.at(
                            SimTime(first.0),
                            PlantEvent::CustomerOrder { site: site as u16 },
                        );
                    }
                }
                // A DC may start at or below its reorder point.
                let mut trucks = Vec::new();
                for site in 0..net.network().sites.len() {
                    trucks.extend(net.review_now(site, sched.now()));
                }
                send_trucks(sched, trucks);
            });
        }
        let model = &mut self.model;
        self.sim
            .with_scheduler(|world, sched| model.wake_feed(world, sched));
    }

    /// Handles every event up to `end` (at most the horizon).
    fn advance_to(&mut self, end: SimTime) {
        let end = end.min(SimTime(self.spec.horizon.0));
        if end >= self.sim.now() {
            self.sim.run_until(end, &mut self.model);
        }
    }

    /// The lines' runtimes with time booked up to `end`.
    fn runtimes_at(&mut self, end: SimTime) -> Vec<LineRuntime> {
        let mut runtimes = Vec::new();
        for &e in &self.lines {
            let mut rt = self
                .sim
                .world
                .get_mut::<LineRuntime>(e)
                .expect("line entity");
            rt.sync(end);
            runtimes.push(rt.clone());
        }
        runtimes
    }

    /// KPIs measured from the end of the warm-up to `end` (now, or the horizon).
    fn measure_at(&mut self, scenario: &Scenario, end: SimTime) -> RunKpis {
        let runtimes = self.runtimes_at(end);
        let lines: Vec<&crate::scenario::Line> = self
            .scenario_lines
            .iter()
            .map(|&i| &scenario.lines[i])
            .collect();
        let spec = RunSpec {
            horizon: SimDuration(end.0),
            ..self.spec
        };
        let mut kpis = kpi::measure(&lines, &runtimes, spec, end);
        if let Some(fleet) = self.sim.world.get_resource::<FleetRuntime>() {
            kpis.fleet = Some(fleet.kpis(end));
        }
        if let Some(feed) = self.sim.world.get_resource::<FeedRuntime>() {
            kpis.feed = Some(feed.kpis(end));
        }
        if let Some(net) = self.sim.world.get_resource::<NetworkRuntime>() {
            kpis.network = Some(net.kpis(end));
        }
        kpis
    }

    /// Measures at the horizon.
    fn finish(mut self, scenario: &Scenario) -> RunOutput {
        let end = SimTime(self.spec.horizon.0);
        self.advance_to(end);
        let kpis = self.measure_at(scenario, end);
        // Time is booked to the end already; the runtimes again only for the timeline.
        let runtimes = if self.spec.record_series {
            self.runtimes_at(end)
        } else {
            Vec::new()
        };
        let lines: Vec<&crate::scenario::Line> = self
            .scenario_lines
            .iter()
            .map(|&i| &scenario.lines[i])
            .collect();
        let global_events = self.model.global_events;
        let timeline = self.spec.record_series.then(|| {
            lines
                .iter()
                .zip(&runtimes)
                .flat_map(|(line, rt)| {
                    line.stations
                        .iter()
                        .enumerate()
                        .map(|(i, st)| StationTimeline {
                            line: line.name.clone(),
                            station: st.name.clone(),
                            stops: rt.core(i).timeline.clone().unwrap_or_default(),
                        })
                })
                .collect()
        });
        RunOutput {
            kpis,
            series: self.model.series.take(),
            timeline,
            events: self.sim.events_processed() - global_events,
            global_events,
        }
    }
}

/// Splits the plant's lines into at most `parts` groups that share nothing, each a run of
/// consecutive lines. Today every line is independent of the others; lines that come to
/// share vehicles or stock must stay in one group.
pub fn partitions(scenario: &Scenario, parts: usize) -> Vec<Vec<usize>> {
    let n = scenario.lines.len();
    let parts = parts.clamp(1, n.max(1));
    (0..parts)
        .map(|p| (p * n / parts..(p + 1) * n / parts).collect())
        .filter(|g: &Vec<usize>| !g.is_empty())
        .collect()
}

/// Runs `scenario` once with `spec`, replaying `feed` into its stock positions (see
/// [`crate::replay`]). The feed's KPIs come in `kpis.feed`. The plant runs on one
/// calendar: the feed's events reach every line.
pub fn simulate_replay(scenario: &Scenario, spec: RunSpec, feed: FeedPlan) -> RunOutput {
    let mut twin = FedTwin::new(scenario, spec, feed);
    twin.advance_to(SimTime(spec.horizon.0));
    twin.finish()
}

/// A run that takes feed events while it goes: the clock moves when the caller says
/// ([`FedTwin::advance_to`]), and events offered in between apply at their time, or at
/// once when the twin has passed it. Paced replays and live feeds run on it; run straight
/// to the horizon with its whole feed offered at the start, it is [`simulate_replay`].
pub struct FedTwin<'s> {
    scenario: &'s Scenario,
    plant: Plant,
}

impl<'s> FedTwin<'s> {
    /// The plant of `scenario` at time 0 with `feed` to apply; the feed's `run.start` (if
    /// any) places events offered later.
    ///
    /// A stock the feed reports on takes its supplier receipts from the feed (the real
    /// deliveries); its policy then proposes orders (`reorder` alerts) instead of placing
    /// them. A network site the feed reports on takes its customer orders from the feed
    /// (the model generates none there).
    pub fn new(scenario: &'s Scenario, spec: RunSpec, feed: FeedPlan) -> Self {
        Self::build(scenario, spec, feed, false)
    }

    /// A twin for a live feed: every stock takes its receipts, and every network site its
    /// customer orders, from the feed.
    pub fn live(scenario: &'s Scenario, spec: RunSpec, start: Timestamp) -> Self {
        Self::build(scenario, spec, FeedPlan::default(), true).starting_at(start)
    }

    fn build(scenario: &'s Scenario, spec: RunSpec, feed: FeedPlan, all_fed: bool) -> Self {
        let mut plant = Plant::new(scenario, spec);
        let mut runtime = FeedRuntime::new(feed, twin_positions(scenario));
        runtime.start = scenario.run.start;
        if let Some(mut fleet) = plant.sim.world.get_resource_mut::<FleetRuntime>() {
            for k in 0..fleet.stock.len() {
                fleet.stock[k].fed = all_fed || runtime.addresses(Target::Stock(k));
            }
        }
        if let Some(mut net) = plant.sim.world.get_resource_mut::<NetworkRuntime>() {
            for k in 0..net.fed.len() {
                net.fed[k] = all_fed || runtime.addresses(Target::Site(k));
            }
        }
        plant.sim.world.insert_resource(runtime);
        plant.start();
        FedTwin { scenario, plant }
    }

    /// Sets the real time that simulated time 0 stands for (live runs start "now").
    fn starting_at(mut self, start: Timestamp) -> Self {
        self.plant.sim.world.resource_mut::<FeedRuntime>().start = Some(start);
        self
    }

    /// The real time of simulated time 0, if known (kept by the feed's runtime).
    fn start(&self) -> Option<Timestamp> {
        self.plant.sim.world.resource::<FeedRuntime>().start
    }

    /// The twin's clock.
    pub fn now(&self) -> SimTime {
        self.plant.sim.now()
    }

    /// The run's end.
    pub fn horizon(&self) -> SimTime {
        SimTime(self.plant.spec.horizon.0)
    }

    /// Whether the clock has reached the horizon.
    pub fn done(&self) -> bool {
        self.now() >= self.horizon()
    }

    /// The real time at simulated time `t`, if the run has a start.
    pub fn real_time(&self, t: SimTime) -> Option<Timestamp> {
        self.start().map(|s| Timestamp(s.0 + t.0 as i64))
    }

    /// Offers `events` (in the order they should apply). Each applies at its time since
    /// the start, or now if the twin has passed that; events past the horizon are counted
    /// and left out.
    pub fn offer(&mut self, events: Vec<FeedEvent>) -> Result<(), ReplayError> {
        let start = self.start().ok_or(ReplayError::NoStart)?;
        let now = self.now();
        let horizon = self.horizon();
        let mut feed = self.plant.sim.world.resource_mut::<FeedRuntime>();
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

    /// Handles every event up to `t` (at most the horizon), then looks for sites whose
    /// feed has gone silent.
    pub fn advance_to(&mut self, t: SimTime) {
        self.plant.advance_to(t);
        let now = self.now();
        self.plant
            .sim
            .world
            .resource_mut::<FeedRuntime>()
            .watch_gaps(now);
    }

    /// Sets how long a site's feed may be silent before a `feed_gap` alert.
    pub fn set_gap_alert(&mut self, gap: SimDuration) {
        self.plant.sim.world.resource_mut::<FeedRuntime>().gap_alert = gap;
    }

    /// Alerts the feed has raised so far, oldest first.
    pub fn alerts(&self) -> &[crate::kpi::FeedAlert] {
        self.plant.sim.world.resource::<FeedRuntime>().alerts()
    }

    /// Alerts the plant has raised so far (lines starved, transports late, stock running
    /// out), oldest first.
    pub fn plant_alerts(&self) -> &[crate::kpi::PlantAlert] {
        self.plant
            .sim
            .world
            .get_resource::<FleetRuntime>()
            .map_or(&[], |f| f.alerts())
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

    /// Runs on to the horizon and measures.
    pub fn finish(self) -> RunOutput {
        let mut out = self.plant.finish(self.scenario);
        out.events += out.global_events;
        out
    }
}

/// The positions the twin simulates, with the location names feed events may use for
/// them: each line's line-side materials (the locations at its spot), and each stock (its
/// place's name and, for a group, the names of the locations in it).
fn twin_positions(scenario: &Scenario) -> TwinPositions {
    let sites = scenario.network.as_ref().map_or(Vec::new(), |n| {
        n.sites
            .iter()
            .map(|s| (s.name.clone(), s.product.clone()))
            .collect()
    });
    let Some(fleet) = &scenario.fleet else {
        return TwinPositions {
            lines: scenario.lines.iter().map(|_| Vec::new()).collect(),
            stock: Vec::new(),
            sites,
        };
    };
    let names_at = |spots: &[u32]| -> Vec<String> {
        fleet
            .layout
            .names()
            .iter()
            .filter(|(_, spot)| spots.contains(spot))
            .map(|(name, _)| name.clone())
            .collect()
    };
    TwinPositions {
        lines: scenario
            .lines
            .iter()
            .map(|line| {
                line.materials
                    .iter()
                    .map(|m| (m.name.clone(), names_at(&[m.spot])))
                    .collect()
            })
            .collect(),
        stock: fleet
            .stock
            .iter()
            .map(|s| {
                let mut places = vec![s.at.clone()];
                if let Some(spots) = fleet.groups.get(&s.at) {
                    places.extend(names_at(spots));
                }
                (s.material.clone(), places)
            })
            .collect(),
        sites,
    }
}

/// Runs `scenario` once with `spec`, its independent lines on up to `spec.threads`
/// threads. The output does not depend on the number of threads.
pub fn simulate(scenario: &Scenario, spec: RunSpec) -> RunOutput {
    // Lines served by one fleet, or making goods for one network, share it: they run on
    // one calendar.
    let threads = if scenario.fleet.is_some() || scenario.network.is_some() {
        1
    } else {
        spec.threads
    };
    let groups = partitions(scenario, threads);
    let outs: Vec<RunOutput> = if groups.len() <= 1 {
        vec![Plant::new(scenario, spec).run(scenario)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = groups
                .into_iter()
                .map(|g| scope.spawn(move || Plant::partition(scenario, spec, g).run(scenario)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a partition's thread does not panic"))
                .collect()
        })
    };
    let global_events = outs[0].global_events;
    let events = outs.iter().map(|o| o.events).sum::<u64>() + global_events;
    let measured_s = outs[0].kpis.measured_s;
    let mut lines = Vec::new();
    let mut series = Vec::new();
    let mut timeline: Option<Vec<StationTimeline>> = None;
    let fleet = outs[0].kpis.fleet.clone();
    let network = outs[0].kpis.network.clone();
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
            fleet,
            feed: None,
            network,
        },
        series,
        timeline,
        events,
        global_events,
    }
}

/// A station's stops over a run: spans in which a stop state held it.
#[derive(Clone, Debug, PartialEq)]
pub struct StationTimeline {
    /// Line name.
    pub line: String,
    /// Station name.
    pub station: String,
    /// (start ns, end ns, state), in time order.
    pub stops: Vec<(u64, u64, StationState)>,
}

/// The stops of every station as CSV: `line,station,state,start_s,end_s`.
pub fn timeline_csv(timeline: &[StationTimeline]) -> String {
    let mut out = String::from("line,station,state,start_s,end_s\n");
    for t in timeline {
        for &(a, b, state) in &t.stops {
            out.push_str(&format!(
                "{},{},{},{},{}\n",
                t.line,
                t.station,
                state.name(),
                SimDuration(a).as_secs_f64(),
                SimDuration(b).as_secs_f64()
            ));
        }
    }
    out
}
