//! A line as written: stations, buffers, source, schedule and planned stops.

use crate::scenario::logistics::{MaterialFile, OutfeedFile};
use schemars::JsonSchema;
use serde::Deserialize;

pub use crate::scenario::failure::{FailureBasis, FailureFile};
use std::collections::BTreeMap;

/// A line: stations joined by buffers, fed by a source, emptied into a sink.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineFile {
    /// Unique line name.
    pub name: String,
    /// Where units come from. Default: unlimited supply.
    #[serde(default)]
    pub source: Option<SourceFile>,
    /// A line template (`[[line_templates]]`) this line is made from: the template's
    /// fields, then every field this line writes (each replaces the template's whole
    /// field), then the changes in `set`.
    #[serde(default)]
    pub template: Option<String>,
    /// With `template`: fields changed by dotted path within the line, as `sweep --set`
    /// writes them, e.g. `{ "stations.filler.speed" = "40000/h", "buffers.B1.capacity" = 900 }`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub set: BTreeMap<String, toml::Value>,
    /// Rated speed of the line, e.g. "36000/h": what a station's speed in per cent
    /// (`"110%"`) and a buffer's `accumulation` time are reckoned against.
    #[serde(default)]
    pub rated_speed: Option<String>,
    /// Speed factor per product name for every station that does not give its own, e.g.
    /// { "cola-2l" = 0.7 }.
    #[serde(default)]
    pub speed_factors: BTreeMap<String, f64>,
    /// What the line takes in, e.g. "bottle" (the unit of its first station's input, of
    /// `rated_speed` and of bottle equivalents in the KPIs). Default "unit".
    #[serde(default)]
    pub unit: Option<String>,
    /// The stations (at least one, here or in the template).
    #[serde(default)]
    pub stations: Vec<StationFile>,
    /// Buffers and conveyors joining stations (`from` → `to`).
    #[serde(default)]
    pub buffers: Vec<BufferFile>,
    /// Station whose OEE is the line's OEE. Default: the filler, else the slowest station.
    #[serde(default)]
    pub oee_station: Option<String>,
    /// Production campaigns.
    #[serde(default)]
    pub schedule: Option<ScheduleFile>,
    /// Setup times between products for every station that has none of its own.
    #[serde(default)]
    pub changeover: Option<ChangeoverFile>,
    /// Planned stops: shifts, breaks, CIP cleaning.
    #[serde(default)]
    pub planned_stops: Vec<PlannedStopFile>,
    /// `auto` (default): fluid flow where exact (unlimited supply, fixed cycles), else unit
    /// by unit; `discrete`: always unit by unit (slower, exact blocking of single units).
    #[serde(default)]
    pub engine: Option<EngineChoice>,
    /// Finished pallets, picked up by the fleet.
    #[serde(default)]
    pub outfeed: Option<OutfeedFile>,
    /// Materials brought to line side by the fleet.
    #[serde(default)]
    pub materials: Vec<MaterialFile>,
}

/// How a line is simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EngineChoice {
    /// Fluid flow where it is exact, unit by unit otherwise.
    Auto,
    /// Always unit by unit.
    Discrete,
}

/// How units enter a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The first station never waits for input (the usual bottling case).
    Unlimited,
    /// Units arrive one by one with random inter-arrival times.
    Arrivals,
}

/// What an arrival does when the queue in front of the first station is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// The arrival waits at the source; no further arrival is generated meanwhile.
    Wait,
    /// The arrival is lost (counted).
    Lost,
}

/// A line's source.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    /// `unlimited` or `arrivals`.
    pub kind: SourceKind,
    /// Inter-arrival time distribution (arrivals only), e.g. "exp(2s)".
    #[serde(default)]
    pub interarrival: Option<String>,
    /// `wait` or `lost` (arrivals only). Default `wait`.
    #[serde(default)]
    pub when_full: Option<WhenFull>,
    /// Places in the queue in front of the first station, not counting the one in service
    /// (arrivals only): a number, or "unbounded" (default).
    #[serde(default)]
    pub queue_capacity: Option<CapacityFile>,
}

/// A capacity: a whole number of units, or "unbounded".
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CapacityFile {
    /// This many units.
    Units(u64),
    /// The word "unbounded".
    Word(String),
}

/// Station kinds of a bottling line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StationKind {
    /// Takes bottles off pallets.
    Depalletiser,
    /// Rinses or blows bottles.
    Rinser,
    /// Fills bottles: usually the line's critical machine.
    Filler,
    /// Caps bottles.
    Capper,
    /// Labels bottles.
    Labeller,
    /// Packs bottles into packs or cases.
    Packer,
    /// Stacks packs onto pallets.
    Palletiser,
    /// Anything else.
    Generic,
}

/// A station (machine).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StationFile {
    /// Unique name within the line.
    pub name: String,
    /// The machine's kind.
    pub kind: StationKind,
    /// Nominal speed, e.g. "36000/h", or a share of the line's `rated_speed`, e.g. "110%"
    /// (the V-curve as drawn); give this or `processing_time`.
    #[serde(default)]
    pub speed: Option<String>,
    /// Processing time per unit as a distribution, e.g. "exp(2s)" (give this or `speed`).
    #[serde(default)]
    pub processing_time: Option<String>,
    /// Units of its input it makes one of its own unit from, e.g. 24 for a packer making
    /// cases of 24 bottles. Its speed, processing time, counts and rejects are in its
    /// own unit. Default 1.
    #[serde(default)]
    pub takes: Option<u64>,
    /// Name of what it makes, e.g. "case" (default: what it takes).
    #[serde(default)]
    pub unit: Option<String>,
    /// Fraction of processed units rejected, 0 ≤ r < 1. Default 0.
    #[serde(default)]
    pub reject_rate: Option<f64>,
    /// Speed factor per product name (1.0 = nominal), e.g. { "cola-1.5l" = 0.8 }; a
    /// product not listed takes the line's factor.
    #[serde(default)]
    pub speed_factors: BTreeMap<String, f64>,
    /// Breakdown modes.
    #[serde(default)]
    pub failures: Vec<FailureFile>,
    /// Short jams, counted as their own state.
    #[serde(default)]
    pub micro_stops: Option<MicroStopFile>,
    /// Setup times between products for this station (overrides the line's).
    #[serde(default)]
    pub changeover: Option<ChangeoverFile>,
    /// How it spreads its units over several buffers leaving it (a divider at its
    /// discharge): default `most_room`.
    #[serde(default)]
    pub divide: Option<DivideRule>,
    /// How it picks between several buffers feeding it (a combiner at its infeed): default
    /// `first_come`.
    #[serde(default)]
    pub combine: Option<CombineRule>,
    /// With `divide = "shares"`: each buffer leaving it, by name, with its share, e.g.
    /// `{ lane-a = 2, lane-b = 1 }`.
    #[serde(default)]
    pub shares: BTreeMap<String, f64>,
    /// A buffer upstream its rejects go back to, to be worked again (a rework loop, the
    /// only cycle a line may have); default: rejects leave the line.
    #[serde(default)]
    pub rework: Option<String>,
}

/// How a divider picks, among its outputs that can take a unit now, the one that gets it.
/// A unit waits (blocking the divider) only when no output can take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DivideRule {
    /// The output with the most free room (a machine ready to take a unit has room for
    /// one); ties go to the output that has had the fewest units, then to the first listed.
    MostRoom,
    /// Fixed shares (`shares`): the output furthest behind its share, i.e. the least
    /// (units had + 1) / share; ties to the first listed.
    Shares,
    /// The first listed output that can take the unit (the next only overflows it).
    Priority,
}

/// How a combiner picks, among its inputs that can give a unit now, the one it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CombineRule {
    /// The unit finished first upstream (for a buffer's head, the time it entered the
    /// buffer); ties to the first listed.
    FirstCome,
    /// The first listed input that can give one.
    Priority,
    /// Turn by turn: the first input after the one served last, in listed order.
    Alternate,
}

/// One station name, or several.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StationNames {
    /// One station.
    One(String),
    /// Several stations, in the order their rules list them.
    Many(Vec<String>),
}

impl StationNames {
    /// The names, in order.
    pub fn names(&self) -> &[String] {
        match self {
            StationNames::One(n) => std::slice::from_ref(n),
            StationNames::Many(v) => v,
        }
    }
}

impl std::fmt::Display for StationNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.names().join(", "))
    }
}

/// Micro-stops: short jams in working time.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MicroStopFile {
    /// Working time between jams, e.g. "exp(4min)".
    pub tbf: String,
    /// Length of a jam, e.g. "uniform(5s, 60s)".
    pub duration: String,
}

/// A buffer or accumulation conveyor between stations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BufferFile {
    /// Unique name within the line.
    pub name: String,
    /// Upstream station name, or several (a combiner: they feed it by `combine`).
    pub from: StationNames,
    /// Downstream station name, or several (parallel machines sharing it, served by
    /// `divide`).
    pub to: StationNames,
    /// With several `to`: which ready machine takes its next unit. Default `most_room`.
    #[serde(default)]
    pub divide: Option<DivideRule>,
    /// With several `from`: which finished machine puts its unit on it first when room
    /// frees. Default `first_come`.
    #[serde(default)]
    pub combine: Option<CombineRule>,
    /// With `divide = "shares"`: each station of `to`, by name, with its share.
    #[serde(default)]
    pub shares: BTreeMap<String, f64>,
    /// Units it holds: a number (0 couples the machines directly) or "unbounded" (give
    /// this or `accumulation`).
    #[serde(default)]
    pub capacity: Option<CapacityFile>,
    /// Capacity as accumulation time: how long the line's rated speed takes to fill it,
    /// e.g. "120s" (the line's `rated_speed` × this, rounded down to whole units).
    #[serde(default)]
    pub accumulation: Option<String>,
    /// Least time a unit spends on it, e.g. "20s" (or give `length_m` and `speed_m_per_s`).
    #[serde(default)]
    pub transport_time: Option<String>,
    /// Conveyor length, metres.
    #[serde(default)]
    pub length_m: Option<f64>,
    /// Conveyor speed, metres per second.
    #[serde(default)]
    pub speed_m_per_s: Option<f64>,
    /// Level switches on it that drive machines (line control).
    #[serde(default)]
    pub switches: Vec<LevelSwitchFile>,
}

/// A level on a buffer: whole units, or a share of its capacity ("80%").
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum LevelFile {
    /// This many units.
    Units(u64),
    /// A share of the capacity, e.g. "80%".
    Share(String),
}

/// A level switch (photo-eye or pressure sensor) on a buffer, driving one machine. It is
/// a *high* switch when `on` is above `off` (it acts when the level rises to `on` and lets
/// go when it falls to `off`) and a *low* switch when `on` is below `off` (acts falling to
/// `on`, lets go rising to `off`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelSwitchFile {
    /// Level at which the switch acts.
    pub on: LevelFile,
    /// Level at which it lets go (the hysteresis is the distance to `on`).
    pub off: LevelFile,
    /// How long the level must stay past `on` (or `off`) before the switch acts (or lets
    /// go): the sensor's time-out, so a passing gap does not trigger it, e.g. "3s".
    /// Default "0s".
    #[serde(default)]
    pub delay: Option<String>,
    /// The machine it drives: "upstream" (the buffer's `from`), "downstream" (its `to`) or
    /// a station's name. Default: upstream for a high switch, downstream for a low one.
    #[serde(default)]
    pub machine: Option<String>,
    /// The machine's speed while the switch acts: a share of its nominal speed ("90%",
    /// "115%") or "stop". Default: "stop" for a high switch, "90%" for a low one (the
    /// classic V-curve control: a full conveyor stops the machine feeding it, a low one
    /// slows the machine it feeds).
    #[serde(default)]
    pub step: Option<String>,
}

/// The production schedule.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    /// `as_listed` (default) or `min_changeover` (reorder to least changeover time).
    #[serde(default)]
    pub sequence: Option<SequenceFile>,
    /// Start again from the first campaign after the last. Default false: the last campaign
    /// runs on to the end.
    #[serde(default)]
    pub repeat: Option<bool>,
    /// Campaigns, each a product with a quantity or a duration.
    pub campaigns: Vec<CampaignFile>,
}

/// Campaign ordering rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SequenceFile {
    /// In the order listed.
    AsListed,
    /// Least total changeover time.
    MinChangeover,
}

/// One campaign.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignFile {
    /// Product name.
    pub product: String,
    /// Units released into the line (give this or `duration`).
    #[serde(default)]
    pub quantity: Option<u64>,
    /// Production time after setup, e.g. "8h" (give this or `quantity`).
    #[serde(default)]
    pub duration: Option<String>,
}

/// Setup times between products.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeoverFile {
    /// Time of every change not listed in `times`. Default "0s".
    #[serde(default)]
    pub default: Option<String>,
    /// Specific changes.
    #[serde(default)]
    pub times: Vec<ChangeoverTimeFile>,
}

/// Setup time of one change of product.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeoverTimeFile {
    /// Product before.
    pub from: String,
    /// Product after.
    pub to: String,
    /// Setup time, e.g. "30min".
    pub time: String,
}

/// A planned stop: one-off, or repeating `every` period.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedStopFile {
    /// Name shown in reports, e.g. "CIP".
    pub name: String,
    /// First start, e.g. "22h".
    pub start: String,
    /// Length, e.g. "2h".
    pub duration: String,
    /// Repeat period, e.g. "24h"; absent for a one-off stop.
    #[serde(default)]
    pub every: Option<String>,
    /// Stations it stops. Default: all of the line's stations.
    #[serde(default)]
    pub stations: Option<Vec<String>>,
}
