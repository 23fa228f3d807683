//! What a run will cost, estimated before it starts, so that a command can refuse work far
//! beyond what was meant (a horizon of a billion days, a sampling interval of a
//! nanosecond) instead of running for ever.
//!
//! Work is counted in events weighted by what they cost: a line's event once per station of
//! an average line (the fluid engine replans a whole line at an event, so a line of 10,000
//! stations costs 10,000 times an event of a one-station line), and a fleet's traffic step
//! once per vehicle it moves. A pilot runs the
//! first [`PILOT_WORK`] units of the run, and the rate of its second half (work per
//! simulated second, past any burst at the start) is carried to the horizon. The pilot is
//! deterministic: the same scenario gives the same estimate on every machine.

use super::RunSpec;
use super::twin::Twin;
use crate::scenario::Scenario;

/// Work units a pilot takes, at most (a few hundredths of a second).
pub const PILOT_WORK: f64 = 200_000.0;

/// The work a command may take without being told to go ahead: about ten minutes to an
/// hour on one core, by the engine's speed (1 to 15 million events a second).
pub const WORK_BUDGET: f64 = 1e10;

/// A run's estimated work.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkEstimate {
    /// Work units (events by an average line's stations; a fleet step once per vehicle)
    /// the whole run takes:
    /// exact when the pilot reached the horizon, else extrapolated. Infinite when the
    /// pilot's second half did not move the clock (a run that cannot make progress).
    pub work: f64,
    /// Events the pilot handled.
    pub pilot_events: u64,
    /// Simulated seconds the pilot covered.
    pub pilot_s: f64,
    /// Whether the pilot reached the horizon (then `work` is exact).
    pub exact: bool,
}

impl WorkEstimate {
    /// Whether `runs` runs of this size stay within `budget` work units.
    pub fn within(&self, runs: usize, budget: f64) -> bool {
        self.work * runs as f64 <= budget
    }

    /// A sentence on the estimate for an error message: `runs` runs against `budget`.
    pub fn describe(&self, runs: usize, budget: f64) -> String {
        let total = self.work * runs as f64;
        let base = if self.exact {
            format!("{} events", self.pilot_events)
        } else {
            format!(
                "the first {} events covered {:.3e} s of simulated time",
                self.pilot_events, self.pilot_s
            )
        };
        if total.is_finite() {
            format!(
                "about {total:.2e} units of work ({base}{}), over the budget of {budget:.0e}",
                if runs > 1 {
                    format!("; {runs} runs")
                } else {
                    String::new()
                }
            )
        } else {
            format!("the run makes no progress ({base}: the clock stood still)")
        }
    }
}

/// Estimates the work of one run of `scenario` with `spec` by a pilot (see the module).
pub fn estimate(scenario: &Scenario, spec: RunSpec) -> WorkEstimate {
    let vehicles = scenario.fleet.as_ref().map_or(0, |f| f.vehicles.len()) as f64;
    let stations: usize = scenario.lines.iter().map(|l| l.stations.len()).sum();
    let per_event = (stations as f64 / scenario.lines.len().max(1) as f64).max(1.0);
    // Series recorded or not as the run will (sampling is work too).
    let mut twin = Twin::new(scenario, spec);
    let work =
        |t: &Twin<&Scenario>| t.events() as f64 * per_event + t.fleet_steps() as f64 * vehicles;
    let mut mid = None;
    while work(&twin) < PILOT_WORK {
        if mid.is_none() && work(&twin) >= PILOT_WORK / 2.0 {
            mid = Some((work(&twin), twin.now()));
        }
        if twin.step().is_none() {
            break;
        }
    }
    let (pilot_events, now) = (twin.events(), twin.now());
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
        pilot_s: now.as_secs_f64(),
        exact,
    }
}
