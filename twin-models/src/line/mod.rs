//! The lines subsystem: stations joined by buffers, simulated as flows or unit by unit.
//!
//! Each line is an entity of the plant's world holding a [`LineRuntime`] component. The
//! line handles its own [`LineEvent`]s (failures, repairs, changeovers, planned stops, flow
//! boundaries, unit finishes) on a calendar of its own events, and offers the rest of the
//! plant a narrow interface: counters and rates to read ([`LineRuntime::core`],
//! [`LineRuntime::rates`]), holds to set ([`LineRuntime::set_hold`]), its KPIs
//! ([`kpi::measure`]) and its stops ([`timeline`]).

pub mod control;
pub mod diagram;
pub mod discrete;
pub mod events;
pub mod fluid;
pub mod junction;
pub mod kpi;
pub mod station;
pub mod timeline;

use crate::scenario::{FailureBasis, Line, PlannedStop};
use bevy_ecs::component::Component;
use discrete::DiscreteLine;
pub use events::LineEvent;
use fluid::FluidLine;
pub use kpi::{LineKpis, Link, Oee, SpeedStepShare, StateFractions, StationKpis, SwitchKpis};
use sim::{Calendar, RngStreams, SimDuration, SimTime};
pub use station::{Counters, StationCore, StationState, StepSpan};
pub use timeline::{StationTimeline, TIMELINE_CSV_HEADER, steps_csv, stops_csv, timeline_csv};

/// How a line is simulated.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum LineEngine {
    /// Piecewise-constant flows (unlimited supply, fixed cycles).
    Fluid(FluidLine),
    /// Unit by unit.
    Discrete(DiscreteLine),
}

/// Why logistics stop a station.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Hold {
    /// A material ran out at line side.
    Material,
    /// No room for another pallet at the outfeed.
    Outfeed,
}

/// A line's state in the world.
#[derive(Component, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LineRuntime {
    /// The line's engine and state.
    pub engine: LineEngine,
    stops: Vec<PlannedStop>,
    /// Units inside a unit-by-unit line (queue included) when the statistics (re)started;
    /// a fluid line's are counted from its stations' counters (see `kpi::measure`).
    pub wip_at_warmup: f64,
}

impl LineRuntime {
    /// The runtime of `line`, whose random streams are keyed by `streams` (its index in the
    /// scenario, so that it draws the same numbers in any partition of the plant); with
    /// `record_stops`, every station keeps its stops for the timeline.
    pub fn new(line: &Line, streams: usize, rng: &RngStreams, record_stops: bool) -> Self {
        let mut engine = if line.is_fluid() {
            LineEngine::Fluid(FluidLine::new(streams, line, rng))
        } else {
            LineEngine::Discrete(DiscreteLine::new(streams, line, rng))
        };
        for i in 0..line.stations.len() {
            let core = match &mut engine {
                LineEngine::Fluid(f) => f.core_mut(i),
                LineEngine::Discrete(d) => d.core_mut(i),
            };
            if !line.switches.is_empty() {
                core.steps = Some(Box::new(station::StepLog::new(record_stops)));
            }
            if record_stops {
                core.timeline = Some(Vec::new());
            }
        }
        LineRuntime {
            engine,
            stops: line.planned_stops.clone(),
            wip_at_warmup: 0.0,
        }
    }

    /// Replaces every random stream of the line by the one of the same purpose under `rng`
    /// (a fork's fresh future from the same state); `streams` as given to
    /// [`LineRuntime::new`].
    pub fn reseed(&mut self, rng: &RngStreams, streams: usize) {
        if let LineEngine::Discrete(d) = &mut self.engine {
            d.reseed_arrivals(rng, streams);
        }
        for i in 0..self.stations() {
            self.core_mut(i).reseed(rng, streams, i);
        }
    }

    /// Puts station `i` into the state the plant reports for it since `since`: producing,
    /// or stopped. A stop lasts `repair_s` from `since` if the report gives it, else the
    /// rest of a repair time drawn from the station's breakdowns given how long it has
    /// lasted already (or until the next report, without breakdowns). From its first
    /// report on, the station stops only as reported. Returns its whole-unit counts now,
    /// and whether the report began a stop (the station was not stopped as reported).
    pub fn report_machine(
        &mut self,
        i: usize,
        producing: bool,
        repair_s: Option<f64>,
        since: SimTime,
        cal: &mut impl Calendar<LineEvent>,
    ) -> (station::WholeUnits, bool) {
        let now = cal.now();
        self.sync(now);
        let core = self.core_mut(i);
        if !core.fed {
            core.follow_reports();
        }
        core.report_epoch = core.report_epoch.wrapping_add(1);
        let stop_began = !producing && !core.reported_down;
        core.reported_down = !producing;
        if stop_began {
            core.counters.failures += 1;
        }
        if !producing {
            let elapsed = now.since(since.min(now));
            let left = match repair_s {
                Some(r) => Some(SimDuration(
                    SimDuration::from_secs_f64(r).0.saturating_sub(elapsed.0),
                )),
                None => core.remaining_repair(elapsed),
            };
            if let Some(left) = left {
                let epoch = core.report_epoch;
                cal.after(
                    left,
                    LineEvent::ReportedUp {
                        station: i as u16,
                        epoch,
                    },
                );
            }
        }
        self.react(Some(i), cal);
        (station::WholeUnits::of(&self.core(i).counters), stop_began)
    }

    /// Takes `line`'s buffer capacities, machine speeds and level switches from now on
    /// (the line it was built from, with those changed; see [`crate::plant::variant`]):
    /// time is booked up to now at the old settings, a unit in process finishes at the
    /// speed it started at, switches read their buffers anew, and the line reacts.
    pub fn retune(&mut self, line: &Line, cal: &mut impl Calendar<LineEvent>) {
        self.sync(cal.now());
        match &mut self.engine {
            LineEngine::Fluid(f) => f.retune(line),
            LineEngine::Discrete(d) => d.retune(line, cal),
        }
        self.react(None, cal);
    }

    /// Stations planned so far as flows, once per plan each (0 unit by unit, where each
    /// event concerns one station).
    pub fn planned_stations(&self) -> u64 {
        match &self.engine {
            LineEngine::Fluid(f) => f.planned(),
            LineEngine::Discrete(_) => 0,
        }
    }

    /// Number of stations.
    pub fn stations(&self) -> usize {
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

    /// Takes station `i`'s stops recorded so far but the last, which may still grow.
    pub fn take_closed_stops(&mut self, i: usize) -> Vec<(u64, u64, StationState)> {
        match &mut self.core_mut(i).timeline {
            Some(log) if log.len() > 1 => log.drain(..log.len() - 1).collect(),
            _ => Vec::new(),
        }
    }

    /// Takes station `i`'s speed-step spans recorded so far (each is closed).
    pub fn take_closed_steps(&mut self, i: usize) -> Vec<(u64, u64, f64)> {
        self.core_mut(i)
            .steps
            .as_mut()
            .map_or_else(Vec::new, |log| log.take_closed())
    }

    fn core_mut(&mut self, i: usize) -> &mut StationCore {
        match &mut self.engine {
            LineEngine::Fluid(f) => f.core_mut(i),
            LineEngine::Discrete(d) => d.core_mut(i),
        }
    }

    /// Whether the line has an arrival queue (units arriving at random, unit by unit).
    /// The line's level switches.
    pub fn control(&self) -> &control::Control {
        match &self.engine {
            LineEngine::Fluid(f) => f.control(),
            LineEngine::Discrete(d) => d.control(),
        }
    }

    pub fn has_queue(&self) -> bool {
        matches!(&self.engine, LineEngine::Discrete(d) if d.has_queue())
    }

    /// Units in buffer `b` (`None`: the arrival queue of a unit-by-unit line).
    pub fn buffer_level(&self, b: Option<usize>) -> f64 {
        match (&self.engine, b) {
            (LineEngine::Fluid(f), Some(b)) => f.buffer_level(b),
            (LineEngine::Fluid(_), None) => 0.0,
            (LineEngine::Discrete(d), b) => d.buffer_level(b),
        }
    }

    /// Brings flows and time accounts up to `now`.
    pub fn sync(&mut self, now: SimTime) {
        match &mut self.engine {
            LineEngine::Fluid(f) => f.advance(now),
            LineEngine::Discrete(d) => d.sync(now),
        }
    }

    /// Books station `i` (and what it depends on) up to `now`, before something about it
    /// changes.
    fn touch(&mut self, i: usize, now: SimTime) {
        match &mut self.engine {
            LineEngine::Fluid(f) => f.touch(i, now),
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

    /// Puts the line's first events on `cal` and starts it.
    pub fn start(&mut self, cal: &mut impl Calendar<LineEvent>) {
        for i in 0..self.stations() {
            for m in 0..self.core(i).failures.len() {
                if self.core(i).failures[m].basis == FailureBasis::Calendar {
                    let d = self.core_mut(i).failures[m].draw_tbf();
                    cal.after(
                        d,
                        LineEvent::CalendarFailure {
                            station: i as u16,
                            mode: m as u8,
                        },
                    );
                }
            }
        }
        for (k, stop) in self.stops.iter().enumerate() {
            cal.at(
                SimTime(stop.start.0),
                LineEvent::StopStart { stop: k as u16 },
            );
        }
        match &mut self.engine {
            LineEngine::Fluid(f) => f.start(cal),
            LineEngine::Discrete(d) => d.start(cal),
        }
    }

    /// Marks failures active, schedules their repairs, and lets the engine react.
    fn strike(&mut self, struck: Vec<(usize, usize)>, cal: &mut impl Calendar<LineEvent>) {
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
                cal.after(
                    ttr,
                    LineEvent::Repair {
                        station: i as u16,
                        mode: m as u8,
                    },
                );
            }
            struck = match &mut self.engine {
                LineEngine::Fluid(f) => f.settle(cal),
                LineEngine::Discrete(d) => {
                    for &(i, _) in &struck {
                        d.on_unavailable(i, cal.now());
                    }
                    d.kick(cal);
                    Vec::new()
                }
            };
        }
    }

    /// Lets the engine react after an availability or schedule change at station `i`.
    fn react(&mut self, i: Option<usize>, cal: &mut impl Calendar<LineEvent>) {
        match &mut self.engine {
            LineEngine::Fluid(f) => {
                let struck = f.settle(cal);
                self.strike(struck, cal);
            }
            LineEngine::Discrete(d) => match i {
                Some(i) if !d.core(i).available() => {
                    d.on_unavailable(i, cal.now());
                    d.kick(cal);
                }
                Some(i) => d.on_available(i, cal),
                None => d.kick(cal),
            },
        }
    }

    /// Lets the engine react after a change at all of `stations` (booked to now): a line
    /// of flows plans once for them all, a unit-by-unit one reacts station by station.
    fn react_all(&mut self, stations: &[usize], cal: &mut impl Calendar<LineEvent>) {
        match &self.engine {
            _ if stations.is_empty() => {}
            LineEngine::Fluid(_) => self.react(None, cal),
            LineEngine::Discrete(_) => {
                for &i in stations {
                    self.react(Some(i), cal);
                }
            }
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

    /// Sets or clears a logistics hold on station `i` (after [`LineRuntime::sync`]) and
    /// lets the line react.
    pub fn set_hold(&mut self, i: usize, hold: Hold, on: bool, cal: &mut impl Calendar<LineEvent>) {
        let core = self.core_mut(i);
        let flag = match hold {
            Hold::Material => &mut core.material_hold,
            Hold::Outfeed => &mut core.outfeed_hold,
        };
        if *flag != on {
            *flag = on;
            self.react(Some(i), cal);
        }
    }

    fn start_campaign_timer(&mut self, cal: &mut impl Calendar<LineEvent>) {
        match &mut self.engine {
            LineEngine::Fluid(f) => f.start_campaign_timer(cal),
            LineEngine::Discrete(d) => d.start_campaign_timer(cal),
        }
    }

    /// Handles one event of this line.
    #[inline]
    pub fn handle(&mut self, event: LineEvent, cal: &mut impl Calendar<LineEvent>) {
        // A unit's finish and an arrival are the per-unit engine's events: handled here,
        // the rest out of line (so that these do not pay for the others' registers).
        match (event, &mut self.engine) {
            (LineEvent::Done { station, epoch }, LineEngine::Discrete(d)) => {
                let struck = d.on_done(station as usize, epoch, cal);
                if !struck.is_empty() {
                    self.strike(struck, cal);
                }
            }
            (LineEvent::Arrival, LineEngine::Discrete(d)) => d.on_arrival(cal),
            _ => self.handle_other(event, cal),
        }
    }

    /// [`Self::handle`] of every other event.
    #[inline(never)]
    fn handle_other(&mut self, event: LineEvent, cal: &mut impl Calendar<LineEvent>) {
        let now = cal.now();
        match event {
            LineEvent::Flow { epoch } => {
                if let LineEngine::Fluid(f) = &mut self.engine
                    && f.claim_flow(epoch)
                {
                    f.on_flow(now);
                    let struck = f.settle(cal);
                    self.strike(struck, cal);
                }
            }
            // A unit-by-unit line's are handled in `handle`; a line as flows has none.
            LineEvent::Done { .. } | LineEvent::Arrival => {}
            LineEvent::TransitReady { buffer } => {
                if let LineEngine::Discrete(d) = &mut self.engine {
                    d.on_transit_ready(buffer as usize, cal);
                }
            }
            LineEvent::SwitchDue { switch, epoch } => match &mut self.engine {
                LineEngine::Fluid(f) => {
                    if f.on_switch_due(switch, epoch, now) {
                        let struck = f.settle(cal);
                        self.strike(struck, cal);
                    }
                }
                LineEngine::Discrete(d) => d.on_switch_due(switch, epoch, cal),
            },
            // A machine the plant reports on stops only as reported.
            LineEvent::CalendarFailure { station, .. } | LineEvent::Repair { station, .. }
                if self.core(station as usize).fed => {}
            LineEvent::CalendarFailure { station, mode } => {
                self.touch(station as usize, now);
                self.strike(vec![(station as usize, mode as usize)], cal);
            }
            LineEvent::ReportedUp { station, epoch } => {
                let i = station as usize;
                let core = self.core(i);
                if core.report_epoch == epoch && core.reported_down {
                    self.touch(i, now);
                    self.core_mut(i).reported_down = false;
                    self.react(Some(i), cal);
                }
            }
            LineEvent::Repair { station, mode } => {
                self.touch(station as usize, now);
                let (i, m) = (station as usize, mode as usize);
                let f = &mut self.core_mut(i).failures[m];
                f.active = false;
                let next = f.draw_tbf();
                match f.basis {
                    FailureBasis::Calendar => {
                        cal.after(next, LineEvent::CalendarFailure { station, mode })
                    }
                    FailureBasis::Operating => f.op_left = next.0 as f64,
                }
                self.react(Some(i), cal);
            }
            LineEvent::SetupDone { station } => {
                self.touch(station as usize, now);
                self.core_mut(station as usize).setup = false;
                if station == 0 {
                    self.start_campaign_timer(cal);
                }
                self.react(Some(station as usize), cal);
            }
            LineEvent::StopStart { stop } => {
                let s = self.stops[stop as usize].clone();
                for &i in &s.stations {
                    self.touch(i, now);
                }
                for &i in &s.stations {
                    self.core_mut(i).planned += 1;
                }
                cal.after(s.duration, LineEvent::StopEnd { stop });
                if let Some(every) = s.every {
                    cal.after(every, LineEvent::StopStart { stop });
                }
                self.react_all(&s.stations, cal);
            }
            LineEvent::StopEnd { stop } => {
                let stations = self.stops[stop as usize].stations.clone();
                for &i in &stations {
                    self.touch(i, now);
                }
                for &i in &stations {
                    self.core_mut(i).planned -= 1;
                }
                self.react_all(&stations, cal);
            }
            LineEvent::CampaignEnd { epoch } => {
                let cursor_gen = match &mut self.engine {
                    LineEngine::Fluid(f) => f.cursor_mut().timer_epoch,
                    LineEngine::Discrete(d) => d.cursor_mut().timer_epoch,
                };
                if epoch == cursor_gen {
                    self.touch(0, now);
                    let changed = match &mut self.engine {
                        LineEngine::Fluid(f) => f.cursor_mut().advance(),
                        LineEngine::Discrete(d) => d.cursor_mut().advance(),
                    };
                    if !changed {
                        self.start_campaign_timer(cal);
                    }
                    self.react(None, cal);
                }
            }
        }
    }

    /// Starts the line's statistics afresh at `now` (end of warm-up).
    pub fn reset_statistics(&mut self, now: SimTime) {
        match &mut self.engine {
            LineEngine::Fluid(f) => {
                f.advance(now);
                f.reset_statistics(now);
            }
            LineEngine::Discrete(d) => {
                d.reset_statistics(now);
                self.wip_at_warmup = d.wip_units() as f64;
            }
        }
    }

    /// Whole good units out of the last station since time 0.
    pub fn units_out(&self) -> f64 {
        crate::units::units_done(self.core(self.stations() - 1).counters.good) as f64
    }
}
