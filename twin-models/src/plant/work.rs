//! What a run will cost, estimated before it starts, so that a command can refuse work far
//! beyond what was meant (a horizon of a billion days, a sampling interval of a
//! nanosecond, a line so long and so coupled that each event replans thousands of
//! stations) instead of running for ever.
//!
//! Work is counted in units of about what one station's share of an event costs: an event
//! once, and each station a line run as flows plans once per plan (the whole line at every
//! event of a short line; on a long one, what the event reaches). A fleet's traffic step
//! counts once per vehicle, and its planning what it did ([`traffic::PlanningWork`]):
//! [`PLAN_WORK`] per vehicle planned on its way or asked to make room,
//! [`TABLE_SPOT_WORK`] per spot a distance table searched and [`DETOUR_SPOT_WORK`] per
//! spot a detour search took. On a crowded floor that planning is most of the cost, and
//! it grows faster than the fleet (a fleet twice as large, on a floor as full, crosses a
//! wider floor and pushes longer chains of parked vehicles aside), so counting vehicles
//! alone made the cost of a unit grow fourfold from 500 to 5,000 AGVs.
//!
//! A unit costs 100 to 550 ns on the machines measured (`WorkEstimate::work` against the
//! wall time of whole runs: M/M/1, the ten-line plant, series and branching lines of up to
//! 10,000 stations, fleets of up to 300 AGVs, floors 96 % full of 500 to 5,000 AGVs).
//!
//! A pilot runs the first [`PILOT_WORK`] units and [`PILOT_EVENTS`] events of the run (at
//! most [`PILOT_CAP`] units), and the rate of its second half (work per simulated second,
//! past any burst at the start) is carried to the horizon. The pilot is deterministic: the
//! same scenario gives the same estimate on every machine.

use super::RunSpec;
use super::twin::Twin;
use crate::scenario::Scenario;

/// Work units a pilot takes, at most (a few hundredths of a second).
pub const PILOT_WORK: f64 = 200_000.0;

/// Events a pilot takes at least, unless it passes [`PILOT_CAP`] first.
pub const PILOT_EVENTS: f64 = 1_000.0;

/// Work units a pilot takes at most (a second or two).
pub const PILOT_CAP: f64 = 5_000_000.0;

/// Work units of a vehicle planned (its moves ordered by four tables, others asked to
/// make room): measured against a vehicle's share of a step on floors 96 % full.
pub const PLAN_WORK: f64 = 2.0;

/// Work units of a spot a distance table searched (one queue entry and its neighbours).
pub const TABLE_SPOT_WORK: f64 = 0.25;

/// Work units of a spot a detour search took (a heap entry and a straight descent).
pub const DETOUR_SPOT_WORK: f64 = 2.0;

/// The work one run may take without being told to go ahead: one to three minutes on one
/// core. A run's lines share the cores, but each line runs on one, so cores do not shorten
/// a run of one long line.
pub const RUN_BUDGET: f64 = 3e8;

/// The work all the runs of a command may take together without being told to go ahead:
/// about twenty minutes to an hour and a half on one core.
pub const WORK_BUDGET: f64 = 1e10;

/// A run's estimated work.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkEstimate {
    /// Work units (see the module) the whole run takes:
    /// exact when the pilot reached the horizon, else extrapolated. Infinite when the
    /// pilot's second half did not move the clock (a run that cannot make progress).
    pub work: f64,
    /// Events the pilot handled.
    pub pilot_events: u64,
    /// Stations the pilot's lines run as flows planned, once per plan each.
    pub pilot_planned: u64,
    /// Traffic steps of the pilot's fleet.
    pub pilot_fleet_steps: u64,
    /// Work units of the pilot's fleet planning (see the module).
    pub pilot_fleet_planning: f64,
    /// Simulated seconds the pilot covered.
    pub pilot_s: f64,
    /// Whether the pilot reached the horizon (then `work` is exact).
    pub exact: bool,
}

impl WorkEstimate {
    /// Whether `runs` runs of this size stay within the budgets: each run within
    /// [`RUN_BUDGET`], all of them within [`WORK_BUDGET`].
    pub fn within(&self, runs: usize) -> bool {
        self.work <= RUN_BUDGET && self.work * runs as f64 <= WORK_BUDGET
    }

    /// A sentence on the estimate for an error message: `runs` runs against the budget
    /// they pass.
    pub fn describe(&self, runs: usize) -> String {
        let total = self.work * runs as f64;
        let mut base = if self.exact {
            format!("{} events", self.pilot_events)
        } else {
            format!(
                "the first {} events covered {:.3e} s of simulated time",
                self.pilot_events, self.pilot_s
            )
        };
        if self.pilot_planned > self.pilot_events {
            // Mostly a line's planning: say how far its events reach.
            base += &format!(
                "; lines run as flows replanned {:.0} stations an event",
                self.pilot_planned as f64 / self.pilot_events.max(1) as f64
            );
        }
        if self.pilot_fleet_steps > 0 {
            // A crowded floor's planning grows faster than its fleet: say what a step took.
            base += &format!(
                "; the fleet's planning took {:.0} units a traffic step",
                self.pilot_fleet_planning / self.pilot_fleet_steps as f64
            );
        }
        if !total.is_finite() {
            format!("the run makes no progress ({base}: the clock stood still)")
        } else if self.work > RUN_BUDGET {
            format!(
                "about {:.2e} units of work a run ({base}), over the budget of {RUN_BUDGET:.0e} for one run",
                self.work
            )
        } else {
            format!(
                "about {total:.2e} units of work ({base}{}), over the budget of {WORK_BUDGET:.0e}",
                if runs > 1 {
                    format!("; {runs} runs")
                } else {
                    String::new()
                }
            )
        }
    }
}

/// Estimates the work of one run of `scenario` with `spec` by a pilot (see the module).
pub fn estimate(scenario: &Scenario, spec: RunSpec) -> WorkEstimate {
    let vehicles = scenario.fleet.as_ref().map_or(0, |f| f.vehicles.len()) as f64;
    // Series recorded or not as the run will (sampling is work too).
    let mut twin = Twin::new(scenario, spec);
    let work = |t: &Twin<&Scenario>| {
        (t.events() + t.planned_stations()) as f64
            + t.fleet_steps() as f64 * vehicles
            + planning(t.fleet_planning())
    };
    let mut mid = None;
    loop {
        // Work counted once a step (it sums over the lines).
        let (w, events) = (work(&twin), twin.events() as f64);
        let past = |part: f64| {
            (w >= PILOT_WORK * part && events >= PILOT_EVENTS * part) || w >= PILOT_CAP * part
        };
        if past(1.0) {
            break;
        }
        if mid.is_none() && past(0.5) {
            mid = Some((w, twin.now()));
        }
        if twin.step().is_none() {
            break;
        }
    }
    let (pilot_events, pilot_planned, now) = (twin.events(), twin.planned_stations(), twin.now());
    let (pilot_fleet_steps, pilot_fleet_planning) =
        (twin.fleet_steps(), planning(twin.fleet_planning()));
    let exact = twin.next_event().is_none();
    let done = work(&twin);
    let work = match mid {
        _ if exact => done,
        Some((w, t)) if now > t => {
            let rate = (done - w) / now.since(t).as_secs_f64();
            done + rate * twin.horizon().since(now).as_secs_f64()
        }
        // One event took the pilot past half and past its end (a step of a fleet larger
        // than the pilot): the rate of the whole pilot.
        None if now > sim::SimTime::ZERO => {
            let rate = done / now.as_secs_f64();
            done + rate * twin.horizon().since(now).as_secs_f64()
        }
        _ => f64::INFINITY,
    };
    WorkEstimate {
        work,
        pilot_events,
        pilot_planned,
        pilot_fleet_steps,
        pilot_fleet_planning,
        pilot_s: now.as_secs_f64(),
        exact,
    }
}

/// Work units of a fleet's planning (see the module).
fn planning(work: traffic::PlanningWork) -> f64 {
    work.plans as f64 * PLAN_WORK
        + work.table_spots as f64 * TABLE_SPOT_WORK
        + work.detour_spots as f64 * DETOUR_SPOT_WORK
}
