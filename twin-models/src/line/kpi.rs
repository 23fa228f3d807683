//! A line's KPIs, measured at its OEE station after the warm-up.
//!
//! Definitions (ISO 22400-2 style):
//! - planned busy time = measured time − planned-stop time;
//! - operating time = planned busy time − down time − changeover (setup) time;
//! - availability = operating time / planned busy time;
//! - performance = ideal time of the work done / operating time (micro-stops, starving,
//!   blocking and slow running are performance losses); a unit's ideal time is its cycle
//!   at nominal speed, for random cycle times its own draw, so performance is at most 1;
//! - quality = good units / units processed;
//! - OEE = availability × performance × quality.

use super::station::WholeUnits;
use super::{LineEngine, LineRuntime, StationState};
use crate::scenario::{Line, StationKind};
use crate::units::units;
use serde::Serialize;
use sim::SimTime;

/// Fraction of measured time in each state; they sum to 1.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StateFractions {
    pub working: f64,
    pub starved: f64,
    pub blocked: f64,
    pub down: f64,
    pub setup: f64,
    pub micro_stop: f64,
    pub planned_stop: f64,
}

/// KPIs of one station.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StationKpis {
    /// Station name.
    pub name: String,
    /// Machine kind.
    pub kind: StationKind,
    /// On a line whose units change (a packer making cases): what this station makes, the
    /// unit of its `units_out` and `rejects` (`units_in` is in what it takes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Fraction of time per state.
    pub state_fractions: StateFractions,
    /// Units taken in.
    pub units_in: f64,
    /// Good units passed on.
    pub units_out: f64,
    /// Units rejected (and gone from the line).
    pub rejects: f64,
    /// Rejects sent back upstream to be worked again (present when it has a rework loop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reworked: Option<f64>,
    /// Breakdowns.
    pub failures: u64,
    /// Micro-stops.
    pub micro_stops: u64,
    /// Changeovers started.
    pub changeovers: u64,
    /// On a line with level switches: the share of measured time at each speed step,
    /// slowest first (absent on lines without switches).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub speed_steps: Vec<SpeedStepShare>,
}

/// A buffer of a branching line, by the names of what it joins (for drawing the line).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Link {
    /// The buffer's name.
    pub buffer: String,
    /// Stations feeding it.
    pub from: Vec<String>,
    /// Stations it feeds.
    pub to: Vec<String>,
    /// Stations sending their rejects back to it for rework (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rework_from: Vec<String>,
}

/// Time at one speed step.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SpeedStepShare {
    /// The step: "stop", or a share of nominal speed such as "90%".
    pub name: String,
    /// The step as a share of nominal speed (0 when stopped).
    pub step: f64,
    /// Fraction of measured time at it.
    pub share: f64,
}

/// How often a level switch acted.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SwitchKpis {
    /// `BUFFER#K`: the buffer's `K`-th switch.
    pub name: String,
    /// The machine it drives.
    pub machine: String,
    /// Times it started or stopped acting.
    pub switchings: u64,
    /// Switchings per hour of measured time.
    pub switchings_per_h: f64,
}

/// OEE and its factors.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Oee {
    /// The station it is measured at.
    pub station: String,
    pub availability: f64,
    pub performance: f64,
    pub quality: f64,
    pub oee: f64,
}

/// KPIs of one line.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LineKpis {
    /// Line name.
    pub name: String,
    /// `fluid` (rates between events) or `discrete` (unit by unit).
    pub engine: &'static str,
    /// Good units out of the last station per hour of measured time.
    pub throughput_per_h: f64,
    /// Units released into the line (taken by the first station, or arrivals let in).
    pub units_in: f64,
    /// Good units out of the last station, in its unit.
    pub units_out: f64,
    /// On a line whose units change: the base unit (what it takes in, e.g. "bottle").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// On a line whose units change: `units_out` in the line's base unit (what it takes
    /// in, e.g. bottles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units_out_equivalent: Option<f64>,
    /// Units rejected at any station, in the line's base unit.
    pub rejects: f64,
    /// On a line that branches or reworks: its buffers and what they join, in flow order
    /// (a series line is its stations in order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<Link>>,
    /// Rejects sent back upstream for rework at any station, in the line's base unit
    /// (present when the line has a rework loop; they stay inside the line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reworked: Option<f64>,
    /// Units inside the line when measuring began (end of warm-up).
    pub wip_start: f64,
    /// Units inside the line at the end.
    pub wip_end: f64,
    /// Time-average units inside the line.
    pub wip_mean: f64,
    /// OEE at the OEE station.
    pub oee: Oee,
    /// Changeovers at the OEE station.
    pub changeovers: u64,
    /// Time the OEE station spent in changeovers, seconds.
    pub changeover_time_s: f64,
    /// Mean time from entering to leaving the line, seconds (discrete lines).
    pub mean_time_in_system_s: Option<f64>,
    /// Arrivals (arrival sources).
    pub arrivals: Option<u64>,
    /// Arrivals lost because the queue was full (arrival sources).
    pub lost: Option<u64>,
    /// Fraction of arrivals lost (arrival sources).
    pub blocking_probability: Option<f64>,
    /// Per station, in flow order.
    pub stations: Vec<StationKpis>,
    /// Level switches, buffer by buffer in flow order (absent on lines without them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub switches: Vec<SwitchKpis>,
}

/// The KPIs of `line` from its runtime `rt`, over `measured_s` seconds ending at `end`.
pub fn measure(line: &Line, rt: &LineRuntime, measured_s: f64, end: SimTime) -> LineKpis {
    let n = line.stations.len();
    let reworked = |i: usize| match &rt.engine {
        LineEngine::Discrete(d) => d.reworked(i),
        LineEngine::Fluid(_) => None,
    };
    let stations: Vec<StationKpis> = (0..n)
        .map(|i| {
            let core = rt.core(i);
            let c = core.measured();
            let whole = core.measured_units();
            let total: f64 = core.times.iter().sum();
            let frac = |s: StationState| {
                if total > 0.0 {
                    core.times[s as usize] / total
                } else {
                    0.0
                }
            };
            StationKpis {
                name: line.stations[i].name.clone(),
                kind: line.stations[i].kind,
                unit: line.converts().then(|| line.stations[i].unit.clone()),
                state_fractions: StateFractions {
                    working: frac(StationState::Working),
                    starved: frac(StationState::Starved),
                    blocked: frac(StationState::Blocked),
                    down: frac(StationState::Down),
                    setup: frac(StationState::Setup),
                    micro_stop: frac(StationState::MicroStop),
                    planned_stop: frac(StationState::PlannedStop),
                },
                units_in: whole.taken as f64,
                units_out: whole.good as f64,
                rejects: whole.rejected as f64,
                reworked: reworked(i).map(|r| r as f64),
                failures: c.failures,
                micro_stops: c.micro_stops,
                changeovers: c.setups,
                speed_steps: step_shares(line, i, core, end, total),
            }
        })
        .collect();
    let o = line.oee_station;
    let core = rt.core(o);
    let c = core.measured();
    let t = |s: StationState| core.times[s as usize];
    let pbt = measured_s - t(StationState::PlannedStop);
    let operating = pbt - t(StationState::Down) - t(StationState::Setup);
    // A unit sent back for rework was processed but not good the first time.
    let processed = units(c.good + c.rejected) + reworked(o).unwrap_or(0) as f64;
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let (availability, performance, quality) = (
        ratio(operating, pbt),
        ratio(c.ideal_secs, operating),
        ratio(units(c.good), processed),
    );
    let units_out = stations[n - 1].units_out;
    // In base units: a rejected case is its bottles. Unit by unit a short last case of a
    // campaign holds fewer, so the engine counts what left; as flows every unit is whole.
    let (out_base, rejects) = match &rt.engine {
        LineEngine::Discrete(d) if line.converts() => {
            let (out, rejected) = d.base_out_and_rejects();
            (out as f64, rejected as f64)
        }
        _ => (
            units_out * line.equivalent(n - 1) as f64,
            stations
                .iter()
                .enumerate()
                .map(|(i, s)| s.rejects * line.equivalent(i) as f64)
                .sum(),
        ),
    };
    let (wip_start, wip_end, wip_mean, time_in_system, arrivals) = match &rt.engine {
        LineEngine::Fluid(f) => {
            // In whole units, as the counts are: what was begun less what left, as totals
            // from time 0 (so conservation holds exactly over the measured period).
            // In base units: each station's counts of its own unit times what one holds.
            let inside = |of: &dyn Fn(usize) -> WholeUnits| {
                let left: u64 = (0..n)
                    .map(|i| of(i).rejected * line.equivalent(i))
                    .sum::<u64>()
                    + of(n - 1).good * line.equivalent(n - 1);
                of(0).taken as f64 - left as f64
            };
            (
                inside(&|i| WholeUnits::of(&rt.core(i).baseline)),
                inside(&|i| WholeUnits::of(&rt.core(i).counters)),
                f.wip_mean(end),
                None,
                None,
            )
        }
        LineEngine::Discrete(d) => {
            let ft = d.flow_time();
            (
                rt.wip_at_warmup,
                d.wip_units() as f64,
                d.wip_mean(end),
                (ft.count() > 0).then(|| ft.mean()),
                d.arrivals(),
            )
        }
    };
    let units_in = match arrivals {
        Some((arrived, lost)) => (arrived - lost) as f64,
        None => stations[0].units_in,
    };
    LineKpis {
        name: line.name.clone(),
        engine: if matches!(rt.engine, LineEngine::Fluid(_)) {
            "fluid"
        } else {
            "discrete"
        },
        throughput_per_h: units_out / (measured_s / 3600.0),
        units_in,
        units_out,
        unit: line.converts().then(|| line.unit.clone()),
        units_out_equivalent: line.converts().then_some(out_base),
        rejects,
        links: (!line.is_series()).then(|| links(line)),
        reworked: line.reworks().then(|| {
            (0..n)
                .map(|i| reworked(i).unwrap_or(0) * line.equivalent(i))
                .sum::<u64>() as f64
        }),
        wip_start,
        wip_end,
        wip_mean,
        oee: Oee {
            station: line.stations[o].name.clone(),
            availability,
            performance,
            quality,
            oee: availability * performance * quality,
        },
        changeovers: c.setups,
        changeover_time_s: t(StationState::Setup),
        mean_time_in_system_s: time_in_system,
        arrivals: arrivals.map(|a| a.0),
        lost: arrivals.map(|a| a.1),
        blocking_probability: arrivals.map(|(a, l)| if a > 0 { l as f64 / a as f64 } else { 0.0 }),
        stations,
        switches: switch_kpis(line, rt, measured_s),
    }
}

/// Shares of `total` seconds at each step station `i` can run at (nominal and those of
/// the switches driving it, so every replication lists the same steps), slowest first.
fn step_shares(
    line: &Line,
    i: usize,
    core: &super::StationCore,
    end: SimTime,
    total: f64,
) -> Vec<SpeedStepShare> {
    if line.switches.is_empty() {
        return Vec::new();
    }
    let mut steps: Vec<f64> = std::iter::once(1.0)
        .chain(
            line.switches
                .iter()
                .filter(|s| s.machine == i)
                .map(|s| s.step),
        )
        .collect();
    steps.sort_by(f64::total_cmp);
    steps.dedup();
    steps
        .into_iter()
        .map(|step| {
            let t = core.secs_at_step(step, end);
            SpeedStepShare {
                name: super::control::step_name(step),
                step,
                share: if total > 0.0 { t / total } else { 0.0 },
            }
        })
        .collect()
}

fn switch_kpis(line: &Line, rt: &LineRuntime, measured_s: f64) -> Vec<SwitchKpis> {
    let mut nth = vec![0usize; line.buffers.len()];
    rt.control()
        .switchings()
        .map(|(n, sw)| {
            let k = nth[sw.buffer];
            nth[sw.buffer] += 1;
            SwitchKpis {
                name: format!("{}#{k}", line.buffers[sw.buffer].name),
                machine: line.stations[sw.machine].name.clone(),
                switchings: n,
                switchings_per_h: if measured_s > 0.0 {
                    n as f64 / (measured_s / 3600.0)
                } else {
                    0.0
                },
            }
        })
        .collect()
}

/// The buffers of `line` by the names of what they join.
fn links(line: &Line) -> Vec<Link> {
    let names = |list: &[usize]| -> Vec<String> {
        list.iter()
            .map(|&s| line.stations[s].name.clone())
            .collect()
    };
    line.buffers
        .iter()
        .enumerate()
        .map(|(b, buf)| Link {
            buffer: buf.name.clone(),
            from: names(&buf.from),
            to: names(&buf.to),
            rework_from: line
                .stations
                .iter()
                .filter(|s| s.rework == Some(b))
                .map(|s| s.name.clone())
                .collect(),
        })
        .collect()
}
