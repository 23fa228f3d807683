//! Snapshots: the whole state of a run (clock, calendar, every subsystem's state, random
//! streams, recorders, the feed's ingestion) as bytes, read back so that a run stopped at
//! T and resumed goes on exactly as the uninterrupted run (byte-identical outputs).
//!
//! A snapshot carries its scenario (resolved, so that resuming needs no other file) and
//! that scenario's hash, so that a snapshot is never resumed against another scenario.
//! The layout, all integers little-endian (docs/snapshots.md):
//!
//! | bytes | what |
//! |---|---|
//! | 8 | `TWINSNAP` |
//! | 4 | format version ([`FORMAT_VERSION`]) |
//! | 8 | length of the body |
//! | body | postcard of [`SnapshotHeader`], then of the scenario, then of the run's state |
//! | 32 | blake3 of everything before it |
//!
//! Reading checks the magic, the version, the length and the checksum before decoding
//! anything, so a truncated or damaged file is refused as such, never decoded.

use super::{Plant, PlantEvent, RunSpec, series::Sampler};
use crate::alerts::AlertLog;
use crate::feed::FeedRuntime;
use crate::fleet::FleetRuntime;
use crate::line::LineRuntime;
use crate::logistics::LineLogistics;
use crate::network::NetworkRuntime;
use crate::scenario::Scenario;
use crate::stock::Stocks;
use serde::{Deserialize, Serialize};
use sim::{EventCalendar, SimDuration, SimTime};

/// The snapshot format this build writes and reads.
pub const FORMAT_VERSION: u32 = 5;

const MAGIC: &[u8; 8] = b"TWINSNAP";
/// Magic, version and body length.
const PREFIX: usize = 8 + 4 + 8;
const CHECKSUM: usize = 32;

/// What a snapshot is of, readable without decoding the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    /// blake3 of the resolved scenario, as [`scenario_hash`] gives it.
    pub scenario_hash: [u8; 32],
    /// The scenario's name.
    pub scenario: String,
    /// Simulated time when it was taken.
    pub time: SimTime,
    /// The run's seed.
    pub seed: u64,
    /// The run's horizon.
    pub horizon: SimDuration,
    /// The run's warm-up.
    pub warmup: SimDuration,
}

/// A snapshot read back: what it is of, its scenario, and the run's state.
pub struct Snapshot {
    /// What it is of.
    pub header: SnapshotHeader,
    /// The scenario it was taken of.
    pub scenario: Scenario,
    /// The run's state, for [`super::Twin::resume`].
    pub run: SavedRun,
}

/// A run's state, read from a snapshot.
pub struct SavedRun {
    scenario_hash: [u8; 32],
    scenario_name: String,
    state: State,
}

/// Why a snapshot cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The bytes do not begin as a snapshot does.
    #[error("not a twinline snapshot (it does not begin as one)")]
    NotASnapshot,
    /// Another format version.
    #[error(
        "format version {found}, which this twinline does not read (it writes version {FORMAT_VERSION} snapshots): resume it with the twinline that wrote it"
    )]
    Version {
        /// The file's version.
        found: u32,
    },
    /// Fewer bytes than the header announces.
    #[error("truncated: {len} bytes, where its header announces {expected}")]
    Truncated {
        /// Bytes there are.
        len: u64,
        /// Bytes the header announces.
        expected: u64,
    },
    /// The checksum does not match.
    #[error("corrupt: its checksum does not match its contents")]
    Checksum,
    /// The checksum matches but the contents do not decode (a bug, or a forged file).
    #[error("unreadable: {0}")]
    Decode(String),
    /// A fork asked to look further ahead than the run the snapshot was taken from.
    #[error(
        "a fork of {:.0} s from {:.0} s passes the end of the run the snapshot was taken from ({:.0} s), up to which its plans were made: fork at most {:.0} s ahead, or take the snapshot from a run with a longer --horizon",
        ahead.as_secs_f64(),
        at.as_secs_f64(),
        horizon.as_secs_f64(),
        horizon.as_secs_f64() - at.as_secs_f64()
    )]
    BeyondRun {
        /// How far ahead the fork was to look.
        ahead: SimDuration,
        /// When the snapshot was taken.
        at: SimTime,
        /// The end of its run.
        horizon: SimDuration,
    },
    /// Taken of another scenario than the one it is resumed with.
    #[error(
        "it was taken of scenario `{snapshot}`, which differs from `{given}` (scenario hashes {} and {}); resume it alone, or with the scenario it was taken of",
        &blake3::Hash::from(*snapshot_hash).to_hex()[..12],
        &blake3::Hash::from(*given_hash).to_hex()[..12]
    )]
    OtherScenario {
        /// The snapshot's scenario name.
        snapshot: String,
        /// Its hash.
        snapshot_hash: [u8; 32],
        /// The given scenario's name.
        given: String,
        /// Its hash.
        given_hash: [u8; 32],
    },
    /// A fork's variant changes what a fork cannot start from the snapshot's state (see
    /// [`super::variant`]).
    #[error("a fork cannot change `{field}` from a snapshot: {reason}")]
    CannotChange {
        /// The field, by the resolved scenario's names.
        field: String,
        /// Why.
        reason: String,
    },
}

/// The hash that identifies a resolved scenario: blake3 of its binary encoding.
pub fn scenario_hash(scenario: &Scenario) -> [u8; 32] {
    let bytes = postcard::to_stdvec(scenario).expect("a scenario encodes");
    *blake3::hash(&bytes).as_bytes()
}

/// The run's state as written: the plant's parts, borrowed.
#[derive(Serialize)]
struct StateRef<'a> {
    spec: &'a RunSpec,
    now: SimTime,
    events: u64,
    calendar: &'a EventCalendar<PlantEvent>,
    lines: Vec<(&'a LineRuntime, Option<&'a LineLogistics>)>,
    fleet: Option<&'a FleetRuntime>,
    stocks: Option<&'a Stocks>,
    network: Option<&'a NetworkRuntime>,
    feed: Option<&'a FeedRuntime>,
    alerts: &'a AlertLog,
    sampler: Option<&'a Sampler>,
    global_events: u64,
    fleet_steps: u64,
}

/// The run's state as read: the same fields as [`StateRef`], owned.
#[derive(Deserialize)]
struct State {
    spec: RunSpec,
    now: SimTime,
    events: u64,
    calendar: EventCalendar<PlantEvent>,
    lines: Vec<(LineRuntime, Option<LineLogistics>)>,
    fleet: Option<FleetRuntime>,
    stocks: Option<Stocks>,
    network: Option<NetworkRuntime>,
    feed: Option<FeedRuntime>,
    alerts: AlertLog,
    sampler: Option<Sampler>,
    global_events: u64,
    fleet_steps: u64,
}

/// Writes `plant`, a run of `scenario`, as a snapshot.
pub(super) fn write(plant: &Plant, scenario: &Scenario) -> Vec<u8> {
    let world = &plant.sim.world;
    let state = StateRef {
        spec: &plant.spec,
        now: plant.sim.now(),
        events: plant.sim.events_processed(),
        calendar: plant.sim.calendar(),
        lines: plant
            .model
            .lines
            .iter()
            .map(|&e| {
                let rt = world
                    .get::<LineRuntime>(e)
                    .expect("every line has a runtime");
                (rt, world.get::<LineLogistics>(e))
            })
            .collect(),
        fleet: world.get_resource::<FleetRuntime>(),
        stocks: world.get_resource::<Stocks>(),
        network: world.get_resource::<NetworkRuntime>(),
        feed: world.get_resource::<FeedRuntime>(),
        alerts: world.resource::<AlertLog>(),
        sampler: plant.model.sampler.as_ref(),
        global_events: plant.model.global_events,
        fleet_steps: plant.model.fleet_steps,
    };
    let scenario_bytes = postcard::to_stdvec(scenario).expect("a scenario encodes");
    let header = SnapshotHeader {
        scenario_hash: *blake3::hash(&scenario_bytes).as_bytes(),
        scenario: scenario.name.clone(),
        time: plant.sim.now(),
        seed: plant.spec.seed,
        horizon: plant.spec.horizon,
        warmup: plant.spec.warmup,
    };
    let mut body = postcard::to_stdvec(&header).expect("a header encodes");
    body.extend_from_slice(&scenario_bytes);
    body.extend(postcard::to_stdvec(&state).expect("a plant's state encodes"));
    seal(MAGIC, FORMAT_VERSION, &body)
}

/// `body` sealed as a snapshot is: `magic`, `version`, the body's length, the body, and
/// the blake3 of all of it (for other files of the same build, such as a live twin's
/// state, which wraps a snapshot).
pub fn seal(magic: &[u8; 8], version: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(PREFIX + body.len() + CHECKSUM);
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

/// The body of a snapshot, its magic, version, length and checksum checked.
fn body(bytes: &[u8]) -> Result<&[u8], SnapshotError> {
    unseal(MAGIC, FORMAT_VERSION, bytes)
}

/// The body of bytes [`seal`]ed with `magic` and `version`, every part checked.
pub fn unseal<'a>(
    magic: &[u8; 8],
    version_read: u32,
    bytes: &'a [u8],
) -> Result<&'a [u8], SnapshotError> {
    if bytes.len() < magic.len() || &bytes[..magic.len()] != magic {
        return Err(SnapshotError::NotASnapshot);
    }
    let truncated = |expected: u64| SnapshotError::Truncated {
        len: bytes.len() as u64,
        expected,
    };
    let version = bytes
        .get(8..12)
        .ok_or(truncated(PREFIX as u64))?
        .try_into()
        .map(u32::from_le_bytes)
        .expect("four bytes");
    if version != version_read {
        return Err(SnapshotError::Version { found: version });
    }
    let len = bytes
        .get(12..PREFIX)
        .ok_or(truncated(PREFIX as u64))?
        .try_into()
        .map(u64::from_le_bytes)
        .expect("eight bytes");
    let expected = len.saturating_add((PREFIX + CHECKSUM) as u64);
    if (bytes.len() as u64) < expected {
        return Err(truncated(expected));
    }
    if bytes.len() as u64 > expected {
        return Err(SnapshotError::Decode(format!(
            "{} bytes follow its checksum",
            bytes.len() as u64 - expected
        )));
    }
    let end = PREFIX + len as usize;
    if blake3::hash(&bytes[..end]).as_bytes() != &bytes[end..] {
        return Err(SnapshotError::Checksum);
    }
    Ok(&bytes[PREFIX..end])
}

fn decode<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    what: &str,
) -> Result<(T, &'a [u8]), SnapshotError> {
    postcard::take_from_bytes(bytes)
        .map_err(|e| {
            SnapshotError::Decode(format!(
                "its {what} does not decode ({e}); a file whose checksum holds was written by another build of twinline (resume it with that build) or forged"
            ))
        })
}

/// Reads only what a snapshot is of.
pub fn read_header(bytes: &[u8]) -> Result<SnapshotHeader, SnapshotError> {
    decode(body(bytes)?, "header").map(|(h, _)| h)
}

/// Reads a snapshot whole.
pub fn read(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
    let body = body(bytes)?;
    let (header, rest): (SnapshotHeader, _) = decode(body, "header")?;
    let scenario_bytes_len = rest.len();
    let (scenario, rest): (Scenario, _) = decode(rest, "scenario")?;
    let scenario_bytes = &body[body.len() - scenario_bytes_len..body.len() - rest.len()];
    if blake3::hash(scenario_bytes).as_bytes() != &header.scenario_hash {
        return Err(SnapshotError::Decode(
            "its scenario does not match its header's hash".into(),
        ));
    }
    let (state, rest): (State, _) = decode(rest, "state")?;
    if !rest.is_empty() {
        return Err(SnapshotError::Decode(format!(
            "{} bytes follow its state",
            rest.len()
        )));
    }
    if !state.calendar.is_consistent() {
        return Err(SnapshotError::Decode("its calendar is out of order".into()));
    }
    Ok(Snapshot {
        run: SavedRun {
            scenario_hash: header.scenario_hash,
            scenario_name: header.scenario.clone(),
            state,
        },
        header,
        scenario,
    })
}

impl SavedRun {
    /// The run's settings.
    pub fn spec(&self) -> RunSpec {
        self.state.spec
    }

    /// Checks that the run is of `scenario`.
    pub(super) fn check_scenario(&self, scenario: &Scenario) -> Result<(), SnapshotError> {
        let given_hash = scenario_hash(scenario);
        if given_hash == self.scenario_hash {
            return Ok(());
        }
        Err(SnapshotError::OtherScenario {
            snapshot: self.scenario_name.clone(),
            snapshot_hash: self.scenario_hash,
            given: scenario.name.clone(),
            given_hash,
        })
    }
}

/// Puts the saved state into `plant`, freshly built from the same scenario and settings
/// (not started); refuses a state whose parts do not fit the plant.
pub(super) fn restore(plant: &mut Plant, run: SavedRun) -> Result<(), SnapshotError> {
    let state = run.state;
    let inconsistent = |what: &str| {
        Err(SnapshotError::Decode(format!(
            "its state does not fit its scenario ({what})"
        )))
    };
    if state.lines.len() != plant.model.lines.len() {
        return inconsistent("the number of lines");
    }
    if state.sampler.is_some() != plant.model.sampler.is_some() {
        return inconsistent("the time series");
    }
    let world = &mut plant.sim.world;
    if state.fleet.is_some() != world.contains_resource::<FleetRuntime>()
        || state.stocks.is_some() != world.contains_resource::<Stocks>()
        || state.network.is_some() != world.contains_resource::<NetworkRuntime>()
    {
        return inconsistent("the fleet, stocks or network");
    }
    for (l, (rt, logistics)) in state.lines.into_iter().enumerate() {
        let e = plant.model.lines[l];
        if logistics.is_some() != plant.model.logistics[l] {
            return inconsistent("a line's logistics");
        }
        let mut entity = world.entity_mut(e);
        entity.insert(rt);
        if let Some(logistics) = logistics {
            entity.insert(logistics);
        }
    }
    if let Some(fleet) = state.fleet {
        world.insert_resource(fleet);
    }
    if let Some(stocks) = state.stocks {
        world.insert_resource(stocks);
    }
    if let Some(network) = state.network {
        world.insert_resource(network);
    }
    if let Some(feed) = state.feed {
        world.insert_resource(feed);
    }
    world.insert_resource(state.alerts);
    plant.model.sampler = state.sampler;
    plant.model.global_events = state.global_events;
    plant.model.fleet_steps = state.fleet_steps;
    plant.sim.restore(state.now, state.events, state.calendar);
    Ok(())
}
