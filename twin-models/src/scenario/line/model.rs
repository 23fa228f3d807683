//! A line, resolved: stations in flow order with their processes and failure modes,
//! buffers, the source, campaigns and planned stops.

use crate::distribution::Distribution;
use crate::scenario::logistics::{Material, Outfeed};
use orchestrator::ChangeoverMatrix;
use sim::SimDuration;

pub use super::file::{CombineRule, StationKind, WhenFull};
pub use crate::scenario::failure::{FailureBasis, FailureMode};

/// A line: stations in flow order (every buffer runs from stations listed before to
/// stations listed after; the first station is the only one no buffer feeds, the last the
/// only one no buffer leaves). A series line is the chain where `stations[i]` feeds
/// `buffers[i]`, which feeds `stations[i + 1]`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Line {
    /// Line name.
    pub name: String,
    /// How units enter.
    pub source: Source,
    /// Stations in flow order.
    pub stations: Vec<Station>,
    /// Buffers in flow order (by their first upstream station, then their first downstream
    /// one, then as written).
    pub buffers: Vec<Buffer>,
    /// Index of the station whose OEE is the line's.
    pub oee_station: usize,
    /// Campaigns in run order (never empty: a line without a schedule runs product 0).
    pub campaigns: Vec<Campaign>,
    /// Whether the schedule starts over after its last campaign.
    pub repeat_schedule: bool,
    /// Planned stops.
    pub planned_stops: Vec<PlannedStop>,
    /// Level switches on the buffers, each driving a machine.
    pub switches: Vec<LevelSwitch>,
    /// Name of what the line takes in (its base unit, of bottle equivalents).
    pub unit: String,
    /// Simulate unit by unit even where fluid flow would be exact.
    pub force_discrete: bool,
    /// Finished pallets picked up by the fleet.
    pub outfeed: Option<Outfeed>,
    /// Materials brought by the fleet.
    pub materials: Vec<Material>,
}

impl Line {
    /// Base units (what the line takes in) in one unit made by station `i`: the product
    /// of the `takes` up to and including it.
    pub fn equivalent(&self, i: usize) -> u64 {
        self.stations[i].equivalent
    }

    /// Whether some station sends its rejects back upstream.
    pub fn reworks(&self) -> bool {
        self.stations.iter().any(|s| s.rework.is_some())
    }

    /// Whether some station makes a unit of another size than it takes.
    pub fn converts(&self) -> bool {
        self.stations.iter().any(|s| s.takes != 1)
    }

    /// Whether the line is one chain, `buffers[i]` joining `stations[i]` to
    /// `stations[i + 1]`, without rework loops.
    pub fn is_series(&self) -> bool {
        self.buffers.len() + 1 == self.stations.len()
            && self.stations.iter().all(|s| s.rework.is_none())
            && self
                .buffers
                .iter()
                .enumerate()
                .all(|(b, x)| x.from == [b] && x.to == [b + 1])
    }

    /// Whether the line runs as fluid flow (rates that change only at events) rather than
    /// unit by unit: true when supply is unlimited, every machine has a fixed cycle and no
    /// station is fed by several buffers or sends rejects back (those run unit by unit).
    pub fn is_fluid(&self) -> bool {
        !self.force_discrete
            && !self.reworks()
            && self.stations.iter().all(|s| s.inputs.len() <= 1)
            && matches!(self.source, Source::Unlimited)
            && self.stations.iter().all(|s| match &s.process {
                Process::Rate(_) => true,
                Process::Time(d) => d.is_fixed(),
            })
    }
}

/// How units enter a line.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Source {
    /// Never starves the first station.
    Unlimited,
    /// Random arrivals into a queue in front of the first station.
    Arrivals {
        /// Time between arrivals.
        interarrival: Distribution,
        /// What an arrival does when the queue is full.
        when_full: WhenFull,
        /// Queue places, not counting the unit in service; `None` is unbounded.
        queue_capacity: Option<u64>,
    },
}

/// How long a station takes per unit.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Process {
    /// A fixed nominal speed, milli-units per hour.
    Rate(u64),
    /// A processing-time distribution.
    Time(Distribution),
}

/// A machine.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Station {
    /// Name, unique in its line.
    pub name: String,
    /// Kind of machine.
    pub kind: StationKind,
    /// Time per unit at nominal speed.
    pub process: Process,
    /// Fraction of processed units rejected.
    pub reject_rate: f64,
    /// Units of its input per unit it makes (1 unless it packs).
    pub takes: u64,
    /// Base units (what the line takes in) in one unit it makes: the product of the
    /// `takes` up to and including it.
    pub equivalent: u64,
    /// Name of what it makes.
    pub unit: String,
    /// Speed factor per product (1.0 = nominal).
    pub speed_factors: Vec<f64>,
    /// Breakdown and micro-stop modes.
    pub failures: Vec<FailureMode>,
    /// Setup times between products, nanoseconds.
    pub changeover: ChangeoverMatrix,
    /// Indices of the buffers feeding it, as listed (empty: the line's start, fed by the
    /// source).
    pub inputs: Vec<usize>,
    /// Indices of the buffers leaving it, as listed (empty: the line's end).
    pub outputs: Vec<usize>,
    /// How it spreads units over several `outputs`.
    pub divide: Divide,
    /// How it picks between several `inputs`.
    pub combine: CombineRule,
    /// Index of the buffer upstream its rejects go back to (`None`: they leave the line).
    pub rework: Option<usize>,
}

/// How a divider picks, among its outputs that can take a unit now, the one that does
/// (see the scenario format's `divide`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Divide {
    /// The most free room; ties to the fewest units had, then the first listed.
    MostRoom,
    /// Fixed shares, one per output in listed order (each > 0): the least
    /// (units had + 1) / share; ties to the first listed.
    Shares(Vec<f64>),
    /// The first listed.
    Priority,
}

impl Station {
    /// Mean time per unit of product `p` at full speed, seconds (the ideal cycle time).
    pub fn ideal_cycle_secs(&self, p: usize) -> f64 {
        let base = match &self.process {
            Process::Rate(mu_per_h) => 3_600_000.0 / *mu_per_h as f64,
            Process::Time(d) => d.mean_secs(),
        };
        base / self.speed_factors[p]
    }
}

/// A level switch on a buffer, driving one machine's speed (line control).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LevelSwitch {
    /// Index of the buffer it reads.
    pub buffer: usize,
    /// Level at which it acts, units.
    pub on: u64,
    /// Level at which it lets go, units (never equal to `on`).
    pub off: u64,
    /// Time the level must stay past a threshold before the switch follows it.
    pub delay: SimDuration,
    /// Index of the station it drives.
    pub machine: usize,
    /// The machine's speed while the switch acts, as a share of its nominal speed; 0 stops
    /// it.
    pub step: f64,
    /// Whether the buffer lies downstream of the machine (a stop it causes is then
    /// "tailback", blocked; otherwise "lack", starved).
    pub downstream: bool,
}

impl LevelSwitch {
    /// Whether it acts on a rising level (a high switch) rather than a falling one.
    pub fn is_high(&self) -> bool {
        self.on > self.off
    }
}

/// A buffer or accumulation conveyor.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Buffer {
    /// Name, unique in its line.
    pub name: String,
    /// Units it holds; `None` is unbounded.
    pub capacity: Option<u64>,
    /// Least time a unit spends on it.
    pub transport: SimDuration,
    /// Indices of the stations feeding it, as listed.
    pub from: Vec<usize>,
    /// Indices of the stations it feeds, as listed.
    pub to: Vec<usize>,
    /// Which of several `to` stations takes its next unit.
    pub divide: Divide,
    /// Which of several `from` stations puts its unit on it first.
    pub combine: CombineRule,
}

/// A production campaign.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Campaign {
    /// Product index.
    pub product: usize,
    /// When it ends.
    pub amount: CampaignAmount,
}

/// When a campaign ends.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum CampaignAmount {
    /// After this many units are released into the line.
    Quantity(u64),
    /// After producing for this long (setup excluded).
    Duration(SimDuration),
    /// Never (the single implicit campaign of a line without a schedule).
    Endless,
}

/// A planned stop.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlannedStop {
    /// Name.
    pub name: String,
    /// First start.
    pub start: SimDuration,
    /// Length.
    pub duration: SimDuration,
    /// Repeat period.
    pub every: Option<SimDuration>,
    /// Indices of the stations it stops.
    pub stations: Vec<usize>,
}
