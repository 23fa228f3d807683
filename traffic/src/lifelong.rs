//! Lifelong multi-agent path finding: every step, each vehicle moves one segment or waits,
//! with no two vehicles on one spot and no two swapping along a segment.
//!
//! The next positions come from PIBT (priority inheritance with backtracking, Okumura et
//! al.; the crate's one implementation, which the LoRR entry and the one-shot solver also
//! use), planned for the whole fleet at once: vehicles in order of priority (steps spent
//! away from their goal) take their most wanted free spot, and a vehicle whose spot is
//! wanted is asked to move first, recursively; a vehicle that cannot move keeps its spot.
//! What is the fleet's own is how a vehicle ranks its moves: by its steps to the goal on
//! the free floor, or around held vehicles, or along one-way highways.
//! lacam2's swap technique lets vehicles pass each other in corridors. Goals change at any
//! time (lifelong); a vehicle with nothing to do is given a parking spot as its goal and is
//! pushed aside by busy ones. Vehicles that are *held* (loading, charging) never move.
//!
//! A step is the time the fastest vehicle needs for an unrestricted segment. A slower
//! vehicle, or one on a lane with a lower speed limit, takes several steps for a segment on
//! its own way and holds both ends of it until it arrives, so nobody can come near it.
//! With an acceleration set, a vehicle that starts from rest, or stops at its goal, needs
//! the time of a trapezoidal speed profile ([`travel_time`]), rounded up to whole steps; a
//! stop it did not plan (a spot ahead still taken) costs only the start that follows. A
//! vehicle asked to make room moves one segment in one step (a short shunt at the fleet's
//! pace), which keeps PIBT's guarantee that the most urgent vehicle always gets through.

use crate::layout::Layout;
use crate::motion::travel_time;
use crate::pibt::{Agents, NONE, Occupancy, advance, by_priority, plan};
use crate::swap::{Corridor, TieBreak, swap_partner};
use std::collections::{BTreeMap, VecDeque};

/// Why a fleet could not be placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrafficError {
    /// Two vehicles start on one spot.
    #[error("vehicles {0} and {1} start on the same spot")]
    SharedStart(usize, usize),
    /// A spot index is not in the layout.
    #[error("spot {0} is not in the layout")]
    NoSuchSpot(u32),
}

/// Steps to one goal from the spots asked about so far: a breadth-first search back from
/// the goal that goes only as far as the spots asked about need, and on from there when one
/// further off is asked about. The steps it gives are exact, as a whole search's are. A
/// vehicle pushed a few spots off where it rests asks about a few dozen spots: 5,000 on a
/// packed 72 × 72 floor, each searching the whole floor, spent more time there than in
/// planning.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Table {
    /// Steps to the goal by spot: exact where labelled; `u32::MAX` where not labelled yet
    /// or, once `frontier` is empty, where the goal cannot be reached.
    steps: Steps,
    /// Labelled spots whose neighbours (against the lanes' direction) are not searched yet,
    /// nearest first.
    frontier: VecDeque<u32>,
}

/// Steps by spot, `u32::MAX` for none: two bytes a spot on floors of fewer than 65,535
/// spots (no way on them is longer), four on larger ones. The tables of thousands of
/// vehicles are most of a fleet's memory, and their reads its cache misses.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum Steps {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl Default for Steps {
    fn default() -> Steps {
        Steps::Narrow(Vec::new())
    }
}

impl Steps {
    /// `spots` spots, none labelled.
    fn new(spots: usize) -> Steps {
        if spots < usize::from(u16::MAX) {
            Steps::Narrow(vec![u16::MAX; spots])
        } else {
            Steps::Wide(vec![u32::MAX; spots])
        }
    }

    /// The steps from `s` (`u32::MAX`: none known).
    #[inline]
    fn get(&self, s: u32) -> u32 {
        match self {
            Steps::Narrow(v) => match v[s as usize] {
                u16::MAX => u32::MAX,
                d => u32::from(d),
            },
            Steps::Wide(v) => v[s as usize],
        }
    }

    /// Sets the steps from `s` (less than the spots).
    #[inline]
    fn set(&mut self, s: u32, d: u32) {
        match self {
            // Fewer than u16::MAX spots: every way is shorter.
            Steps::Narrow(v) => v[s as usize] = d as u16,
            Steps::Wide(v) => v[s as usize] = d,
        }
    }

    /// Every spot's steps (for tests).
    #[cfg(test)]
    fn to_vec(&self) -> Vec<u32> {
        (0..self.len() as u32).map(|s| self.get(s)).collect()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            Steps::Narrow(v) => v.len(),
            Steps::Wide(v) => v.len(),
        }
    }
}

impl Table {
    fn new(layout: &Layout, goal: u32) -> Table {
        let mut steps = Steps::new(layout.spots());
        steps.set(goal, 0);
        Table {
            steps,
            frontier: VecDeque::from([goal]),
        }
    }

    /// Searches the neighbours of the next spot on the frontier; false when the search
    /// is complete.
    fn grow(&mut self, layout: &Layout) -> bool {
        let Some(v) = self.frontier.pop_front() else {
            return false;
        };
        let dv = self.steps.get(v);
        for &u in layout.neighbours_into(v) {
            if self.steps.get(u) == u32::MAX {
                self.steps.set(u, dv + 1);
                self.frontier.push_back(u);
            }
        }
        true
    }

    /// Searches until `s` is labelled (or the goal is found unreachable from it); returns
    /// the spots searched.
    fn label(&mut self, layout: &Layout, s: u32) -> u64 {
        let mut searched = 0;
        while self.steps.get(s) == u32::MAX && self.grow(layout) {
            searched += 1;
        }
        searched
    }

    /// Labels `s` and the spots a move from it reaches; returns the spots searched.
    fn label_around(&mut self, layout: &Layout, s: u32) -> u64 {
        let mut searched = self.label(layout, s);
        for &u in layout.neighbours(s) {
            searched += self.label(layout, u);
        }
        searched
    }

    /// Searches the whole floor; returns the spots searched.
    fn complete(&mut self, layout: &Layout) -> u64 {
        let mut searched = 0;
        while self.grow(layout) {
            searched += 1;
        }
        searched
    }
}

/// What a fleet's planning has done so far: the part of its work that grows with how
/// crowded the floor is and how far vehicles drive, which the fleet's size alone does not
/// tell (a vehicle resting at its goal costs next to nothing; one driving through a packed
/// floor is planned each step and pushes others, who are planned in turn).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanningWork {
    /// Vehicles planned by PIBT other than resting at a free goal: on their way, or asked
    /// to make room.
    pub plans: u64,
    /// Spots the distance and highway tables searched.
    pub table_spots: u64,
    /// Spots the detour searches (A* around held vehicles) took.
    pub detour_spots: u64,
}

/// Distance tables to goals, kept for the goals in use.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Tables {
    tables: Vec<Table>,
    index: BTreeMap<u32, usize>,
    /// Goals in use when the tables were last trimmed.
    in_use: usize,
    /// Tables begun so far.
    computed: u64,
}

/// How the vehicles of a fleet keep out of each other's way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Coordination {
    /// Central planning for the whole fleet (PIBT with swaps): no collisions, no deadlocks.
    #[default]
    Planned,
    /// Each vehicle drives its own shortest route and enters a spot only when it is free
    /// (zone blocking without a planner): no collisions, but vehicles meeting head-on in a
    /// corridor wait for each other for ever.
    Blocking,
    /// Each vehicle drives as if alone (only to show what the safety monitor catches).
    Off,
    /// Central planning as [`Coordination::Planned`], each vehicle preferring its moves
    /// by their cost along one-way highways on a grid layout ([`Layout::highway_costs_to`]:
    /// rows and columns take turns in their way, a move against its highway costs two):
    /// fewer head-on meetings in crowded aisles, a few detours where the floor is quiet.
    /// On a waypoint graph, as `Planned`.
    Highways,
}

/// Highway cost tables ([`Layout::highway_costs_to`]) by goal, kept for the goals in use
/// as [`Tables`] are; derived from the layout, so not saved.
#[derive(Clone, Debug, Default)]
struct HighwayTables {
    tables: Vec<Vec<u32>>,
    index: HashMap<u32, usize>,
}

/// A vehicle's table index while it stands at its goal and has not needed its distance
/// table yet: an idle fleet computes no table per resting vehicle (a table is a search of
/// the whole floor, and 5,000 of them grew with the square of a fleet).
const LAZY: usize = usize::MAX;

/// Steps without getting nearer before a vehicle may use the swap technique.
const STALL_BEFORE_SWAP: u32 = 3;

/// Tables kept, at least, before those no vehicle is heading for are dropped (bounds
/// memory on big maps); the goals in use always keep theirs, with room for as many again.
const MAX_TABLES: usize = 2048;

impl Tables {
    fn table(&mut self, layout: &Layout, goal: u32) -> usize {
        if let Some(&t) = self.index.get(&goal) {
            return t;
        }
        self.tables.push(Table::new(layout, goal));
        self.computed += 1;
        self.index.insert(goal, self.tables.len() - 1);
        self.tables.len() - 1
    }
}

/// Whether the straight descent from `from` reaches `goal`: always stepping to the first
/// neighbour one step nearer by `h` (the free floor's distances to `goal`) where `shut`
/// does not hold. If it does, the way is as short as the free floor's, and no way around
/// is shorter. A blocked descent marks every spot it walked in `blocked` (with `search`),
/// and a descent reaching a marked spot is blocked there too (each spot has one descent),
/// so a search walks each spot once. `walk` is scratch.
fn descends(
    layout: &Layout,
    h: &Steps,
    from: u32,
    goal: u32,
    shut: &impl Fn(u32) -> bool,
    (blocked, search): (&mut [u32], u32),
    walk: &mut Vec<u32>,
) -> bool {
    walk.clear();
    let mut at = from;
    let open = loop {
        if at == goal {
            break true;
        }
        if blocked[at as usize] == search {
            break false;
        }
        walk.push(at);
        let Some(want) = h.get(at).checked_sub(1) else {
            break false;
        };
        match layout
            .neighbours(at)
            .iter()
            .copied()
            .find(|&u| h.get(u) == want && !shut(u))
        {
            Some(u) => at = u,
            None => break false,
        }
    };
    if !open {
        for &s in walk.iter() {
            blocked[s as usize] = search;
        }
    }
    open
}

/// The tie-breaking numbers of `seed`.
fn tie_break(seed: u64) -> TieBreak {
    TieBreak(seed ^ 0x5DEE_CE66_D1CE_4E5B)
}

/// What the detour searches keep between calls since the holds last changed (derived from
/// the closed spots, so never saved).
#[derive(Clone, Debug, Default)]
struct DetourScratch {
    /// Detour lengths found, by (goal, from).
    memo: HashMap<(u32, u32), u32>,
    /// One bit per spot: in any goal's closed spots (a quick "open" for nearly every spot
    /// a search looks at, before the goal's own list is searched). Stale unless `fresh`.
    closed_any: Vec<u64>,
    fresh: bool,
    /// A*'s steps so far per spot, good where `seen` holds the current search's number.
    g: Vec<u32>,
    seen: Vec<u32>,
    search: u32,
    /// Spots whose straight descent (see [`descends`]) the current search found blocked,
    /// good where it holds the search's number.
    blocked: Vec<u32>,
    /// The spots of the descent being walked.
    walk: Vec<u32>,
    /// The spots held vehicles stand on (sorted), as found in this step since the holds
    /// last changed: the same for every goal asked for (vehicles move only between steps).
    closed_now: Option<Vec<u32>>,
}

impl DetourScratch {
    /// Starts a search on a floor of `spots`: its number, which tells its entries in `g`,
    /// `seen` and `blocked` from older ones.
    fn begin(&mut self, spots: usize) -> u32 {
        if self.g.len() != spots {
            self.g = vec![0; spots];
            self.seen = vec![0; spots];
            self.blocked = vec![0; spots];
            self.search = 0;
        }
        self.search = self.search.wrapping_add(1);
        if self.search == 0 {
            self.seen.fill(0);
            self.blocked.fill(0);
            self.search = 1;
        }
        self.search
    }

    /// Forgets what was found (the holds changed).
    fn forget(&mut self) {
        self.memo.clear();
        self.fresh = false;
        self.closed_now = None;
    }

    /// Marks `spots` closed in the quick bits (a spot off the floor, which only a damaged
    /// saved state can hold, closes nothing a search meets).
    fn close(&mut self, spots: &[u32]) {
        for &s in spots {
            if let Some(word) = self.closed_any.get_mut(s as usize / 64) {
                *word |= 1 << (s % 64);
            }
        }
    }
}

type HashMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::FixedState>;

/// The traffic of a fleet on a layout.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Traffic {
    layout: Layout,
    at: Vec<u32>,
    goal: Vec<u32>,
    table: Vec<usize>,
    held: Vec<bool>,
    priority: Vec<f64>,
    tables: Tables,
    /// Per goal routed around held vehicles since the holds last changed: the spots held
    /// vehicles stood on when it was first asked for (sorted), which its detours avoid.
    detour_closed: BTreeMap<u32, Vec<u32>>,
    /// What the detour searches keep between calls: derived from `detour_closed`, so not
    /// saved.
    #[serde(skip)]
    detours: DetourScratch,

    /// Who stands where, and the spots taken in the step being planned.
    occupancy: Occupancy,
    next: Vec<u32>,
    order: Vec<u32>,
    rng: TieBreak,
    coordination: Coordination,
    /// The vehicle each one waited for in the last step (see [`Traffic::waits_for`]).
    waits_for: Vec<u32>,
    /// Steps since each vehicle last got nearer its goal (or rested at it).
    stalled: Vec<u32>,
    /// Seconds per step (for speeds); 0 makes every segment one step.
    step_s: f64,
    /// Each vehicle's speed, metres per second.
    speed: Vec<f64>,
    /// Each vehicle's acceleration (and braking), metres per second²; infinite: instant.
    acceleration: Vec<f64>,
    /// Whether each vehicle arrived at its spot on the move (and may roll on).
    rolling: Vec<bool>,
    /// Moves of several steps under way: (target spot, steps done, steps in all).
    transit: Vec<Option<(u32, u32, u32)>>,
    /// Moves of several steps begun in this step's planning: (target, steps in all).
    begun: Vec<Option<(u32, u32)>>,
    /// Scratch for ranking a vehicle's moves (distance, tie-break, spot), kept so that
    /// planning a vehicle does not allocate.
    #[serde(skip)]
    ranking: Vec<(u32, u64, u32)>,
    /// Lists of moves PIBT is done with, to fill again (one per level of its recursion).
    #[serde(skip)]
    spare_moves: Vec<Vec<u32>>,
    /// With [`Coordination::Highways`] on a grid layout.
    #[serde(skip)]
    highways: HighwayTables,
    /// What planning has done so far (see [`Traffic::planning_work`]).
    work: PlanningWork,
}

impl Traffic {
    /// A fleet standing on `starts` (one spot each) with goals where they stand.
    /// `seed` breaks ties.
    pub fn new(layout: Layout, starts: &[u32], seed: u64) -> Result<Traffic, TrafficError> {
        let mut occupied = vec![NONE; layout.spots()];
        for (i, &s) in starts.iter().enumerate() {
            let Some(o) = occupied.get_mut(s as usize) else {
                return Err(TrafficError::NoSuchSpot(s));
            };
            if *o != NONE {
                return Err(TrafficError::SharedStart(*o as usize, i));
            }
            *o = i as u32;
        }
        let n = starts.len();
        let mut rng = tie_break(seed);
        let priority = (0..n)
            .map(|_| (rng.next() >> 11) as f64 / (1u64 << 53) as f64)
            .collect();
        let mut t = Traffic {
            occupancy: Occupancy::new(layout.spots()),
            layout,
            at: starts.to_vec(),
            goal: starts.to_vec(),
            table: vec![0; n],
            held: vec![false; n],
            priority,
            tables: Tables::default(),
            detour_closed: BTreeMap::new(),
            detours: DetourScratch::default(),
            next: vec![NONE; n],
            order: (0..n as u32).collect(),
            rng,
            coordination: Coordination::Planned,
            waits_for: vec![NONE; n],
            stalled: vec![0; n],
            step_s: 0.0,
            speed: vec![f64::INFINITY; n],
            acceleration: vec![f64::INFINITY; n],
            rolling: vec![false; n],
            transit: vec![None; n],
            begun: vec![None; n],
            ranking: Vec::new(),
            spare_moves: Vec::new(),
            highways: HighwayTables::default(),
            work: PlanningWork::default(),
        };
        // Every vehicle stands at its goal: its table waits until it is moved off.
        t.table.fill(LAZY);
        Ok(t)
    }

    /// Whether a vehicle stands on `spot` or is on its way into it.
    pub fn is_taken(&self, spot: u32) -> bool {
        self.taken_by(spot).is_some()
    }

    /// The vehicle that stands on `spot`, or else one on its way into it.
    fn taken_by(&self, spot: u32) -> Option<usize> {
        self.at.iter().position(|&a| a == spot).or_else(|| {
            self.transit
                .iter()
                .position(|t| t.is_some_and(|t| t.0 == spot))
        })
    }

    /// A vehicle more, standing on `spot` with its goal there (a fleet grown while it
    /// runs); returns its number. Refused when the spot is not in the layout or a vehicle
    /// stands on it or is on its way into it.
    pub fn add_vehicle(&mut self, spot: u32) -> Result<usize, TrafficError> {
        if spot as usize >= self.layout.spots() {
            return Err(TrafficError::NoSuchSpot(spot));
        }
        let i = self.at.len();
        if let Some(other) = self.taken_by(spot) {
            return Err(TrafficError::SharedStart(other, i));
        }
        self.at.push(spot);
        self.goal.push(spot);
        self.table.push(LAZY);
        self.held.push(false);
        self.priority
            .push((self.rng.next() >> 11) as f64 / (1u64 << 53) as f64);
        self.next.push(NONE);
        self.order.push(i as u32);
        self.waits_for.push(NONE);
        self.stalled.push(0);
        self.speed.push(f64::INFINITY);
        self.acceleration.push(f64::INFINITY);
        self.rolling.push(false);
        self.transit.push(None);
        self.begun.push(None);
        Ok(i)
    }

    /// Breaks ties from now on with the numbers of `seed` (a fork's fresh future from the
    /// same state); the vehicles' priorities are state and stay.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = tie_break(seed);
    }

    /// Sets how vehicles keep out of each other's way (planned, the default).
    pub fn set_coordination(&mut self, mode: Coordination) {
        self.coordination = mode;
    }

    /// The vehicle that vehicle `i` waited for in the last step: `i` wanted to drive on,
    /// did not move, and the spot nearest its goal is taken by that vehicle. `None` when
    /// `i` moved, is held, is part-way along a segment, rests at its goal or waits for no
    /// one. These are the edges of the fleet's wait-for graph: a cycle is a deadlock.
    pub fn waits_for(&self, i: usize) -> Option<usize> {
        (self.waits_for[i] != NONE).then_some(self.waits_for[i] as usize)
    }

    /// Sets the length of a step, seconds: segments then take as many steps as a vehicle's
    /// speed (and the lane's limit) need.
    pub fn set_step_time(&mut self, seconds: f64) {
        self.step_s = seconds;
    }

    /// Sets vehicle `i`'s speed, metres per second (from its next move on).
    pub fn set_speed(&mut self, i: usize, metres_per_s: f64) {
        self.speed[i] = metres_per_s;
    }

    /// Sets vehicle `i`'s acceleration (used for braking too), metres per second²
    /// (infinite, the default: speed changes at once).
    pub fn set_acceleration(&mut self, i: usize, metres_per_s2: f64) {
        self.acceleration[i] = metres_per_s2;
    }

    /// Steps vehicle `i` needs for the segment `v → u`: starting from rest unless it
    /// arrived at `v` on the move, stopping at the end when `u` is its goal (see
    /// [`travel_time`]).
    pub fn steps_for(&self, i: usize, v: u32, u: u32) -> u32 {
        let Some(seg) = self.layout.segment(v, u) else {
            return 1;
        };
        let speed = seg.speed_limit.unwrap_or(f64::INFINITY).min(self.speed[i]);
        if self.step_s <= 0.0 || !speed.is_finite() {
            return 1;
        }
        let from_rest = !self.rolling[i];
        let to_rest = u == self.goal[i];
        let seconds = travel_time(seg.length, speed, self.acceleration[i], from_rest, to_rest);
        ((seconds / self.step_s - 1e-9).ceil() as u32).max(1)
    }

    /// Where vehicle `i` is between spots: (from, to, fraction of the way done).
    pub fn progress(&self, i: usize) -> (u32, u32, f64) {
        match self.transit[i] {
            Some((to, done, all)) => (self.at[i], to, done as f64 / all as f64),
            None => (self.at[i], self.at[i], 0.0),
        }
    }

    /// Whether vehicle `i` is part-way along a segment.
    pub fn in_transit(&self, i: usize) -> bool {
        self.transit[i].is_some()
    }

    /// The layout driven on.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Where each vehicle stands.
    pub fn positions(&self) -> &[u32] {
        &self.at
    }

    /// Vehicle `i`'s goal.
    pub fn goal(&self, i: usize) -> u32 {
        self.goal[i]
    }

    /// Sends vehicle `i` towards `goal`.
    pub fn set_goal(&mut self, i: usize, goal: u32) {
        if self.goal[i] == goal {
            return;
        }
        self.goal[i] = goal;
        // Its old table is no longer its own: a trim of the cache must not keep it under
        // the new goal.
        self.table[i] = LAZY;
        if self.at[i] != goal {
            self.ensure_table(i);
        }
    }

    /// Gives vehicle `i` its distance table if it waits for one ([`LAZY`]), labelled
    /// where it stands (so that [`Traffic::steps_to_goal`] can read it).
    fn ensure_table(&mut self, i: usize) {
        if self.table[i] == LAZY {
            let goal = self.goal[i];
            self.make_room(goal);
            self.table[i] = self.tables.table(&self.layout, goal);
        }
        self.label(i, self.at[i]);
    }

    /// Labels vehicle `i`'s table (it has one) at `s`, counting the spots searched.
    fn label(&mut self, i: usize, s: u32) {
        self.work.table_spots += self.tables.tables[self.table[i]].label(&self.layout, s);
    }

    /// Labels vehicle `i`'s table (if it has one) where it stands and at the spots a move
    /// reaches: all that planning its next step reads.
    fn label_around(&mut self, i: usize) {
        if self.table[i] != LAZY {
            self.work.table_spots +=
                self.tables.tables[self.table[i]].label_around(&self.layout, self.at[i]);
        }
    }

    /// Holds vehicle `i` where it stands (loading, charging) or lets it go.
    pub fn hold(&mut self, i: usize, held: bool) {
        if self.held[i] != held {
            self.held[i] = held;
            self.detour_closed.clear();
            self.detours.forget();
        }
    }

    /// Steps from spot `from` to spot `to` (`u32::MAX` if unreachable); caches the table.
    pub fn steps(&mut self, from: u32, to: u32) -> u32 {
        self.make_room(to);
        let t = self.tables.table(&self.layout, to);
        let table = &mut self.tables.tables[t];
        self.work.table_spots += table.label(&self.layout, from);
        table.steps.get(from)
    }

    /// Drops the tables no vehicle is heading for when the cache is full and `goal` needs
    /// one. The tables of goals in use are moved, not computed again: clearing them all
    /// made a fleet with more distinct goals than the cache holds (5,000 vehicles on a
    /// 72 × 72 floor) compute thousands of tables at every new goal.
    fn make_room(&mut self, goal: u32) {
        let limit = MAX_TABLES.max(2 * self.tables.in_use);
        if self.tables.tables.len() < limit || self.tables.index.contains_key(&goal) {
            return;
        }
        let mut old = std::mem::take(&mut self.tables.tables);
        let mut kept = Tables::default();
        for k in 0..self.goal.len() {
            let g = self.goal[k];
            if self.table[k] == LAZY {
                continue;
            }
            self.table[k] = match kept.index.get(&g) {
                Some(&t) => t,
                None => {
                    kept.tables.push(std::mem::take(&mut old[self.table[k]]));
                    kept.index.insert(g, kept.tables.len() - 1);
                    kept.tables.len() - 1
                }
            };
        }
        kept.in_use = kept.tables.len();
        kept.computed = self.tables.computed;
        self.tables = kept;
    }

    /// Distance tables begun so far, each a breadth-first search of as much of the floor
    /// as was asked about (the cost that grows with the fleet's distinct goals).
    pub fn tables_computed(&self) -> u64 {
        self.tables.computed
    }

    /// What planning has done since the fleet was placed: a measure of the fleet's work
    /// that follows its cost (vehicles planned, spots searched), where the fleet's size
    /// times its steps does not on a crowded floor.
    pub fn planning_work(&self) -> PlanningWork {
        self.work
    }

    /// Steps from vehicle `i`'s spot to its goal.
    pub fn steps_to_goal(&self, i: usize) -> u32 {
        match self.table[i] {
            // Only a vehicle standing at its goal waits for its table.
            LAZY => 0,
            t => self.tables.tables[t].steps.get(self.at[i]),
        }
    }

    /// Moves the fleet one step and returns the new positions.
    pub fn step(&mut self) -> &[u32] {
        // Vehicles moved since the last step: held ones may have finished a move.
        self.detours.closed_now = None;
        for i in 0..self.at.len() {
            if self.at[i] != self.goal[i] {
                self.ensure_table(i);
            }
            // Arriving, it compares its steps at both ends of the move.
            if let Some((to, _, _)) = self.transit[i]
                && self.table[i] != LAZY
            {
                self.label(i, to);
            }
        }
        match self.coordination {
            Coordination::Planned | Coordination::Highways => self.step_pibt(),
            Coordination::Blocking => self.step_blocking(),
            Coordination::Off => self.step_alone(),
        }
        for i in 0..self.at.len() {
            if let Some((to, all)) = self.begun[i].take() {
                self.transit[i] = Some((to, 1, all));
            } else if let Some((to, done, all)) = self.transit[i] {
                self.transit[i] = if done + 1 >= all {
                    self.next[i] = to;
                    None
                } else {
                    Some((to, done + 1, all))
                };
            }
            self.rolling[i] = self.next[i] != self.at[i];
            // A vehicle without its table stood at its goal and stays there.
            let nearer = self.table[i] != LAZY && {
                let d = &self.tables.tables[self.table[i]].steps;
                d.get(self.next[i]) < d.get(self.at[i])
            };
            self.stalled[i] = if nearer
                || self.next[i] == self.goal[i]
                || self.held[i]
                || self.transit[i].is_some()
            {
                0
            } else {
                self.stalled[i] + 1
            };
            self.at[i] = self.next[i];
            advance(
                &mut self.priority[i],
                self.at[i] == self.goal[i] || self.held[i],
            );
        }
        self.find_waits();
        &self.at
    }

    /// Clears the step's spot marks: where vehicles stand (both ends of a move under
    /// way) and the spots taken for the next step.
    fn clear_marks(&mut self) {
        for i in 0..self.at.len() {
            self.occupancy.now[self.at[i] as usize] = NONE;
            if let Some((to, _, _)) = self.transit[i] {
                self.occupancy.now[to as usize] = NONE;
            }
        }
        self.occupancy.clear_next();
    }

    /// Records whom each vehicle that wanted to move and did not waits for.
    fn find_waits(&mut self) {
        let n = self.at.len();
        if !(0..n).any(|i| self.wants_on(i)) {
            self.waits_for.fill(NONE);
            return;
        }
        for i in 0..n {
            self.occupancy.now[self.at[i] as usize] = i as u32;
        }
        for i in 0..n {
            self.waits_for[i] = NONE;
            if !self.wants_on(i) {
                continue;
            }
            if let Some(u) = self.nearer(i) {
                let j = self.occupancy.now[u as usize];
                if j != NONE && j as usize != i {
                    self.waits_for[i] = j;
                }
            }
        }
        for i in 0..n {
            self.occupancy.now[self.at[i] as usize] = NONE;
        }
    }

    /// The neighbour of vehicle `i`'s spot nearest its goal, if one is nearer than the
    /// spot (the lowest-numbered among equals).
    fn nearer(&self, i: usize) -> Option<u32> {
        let v = self.at[i];
        // Without its table a vehicle stands at its goal: nothing is nearer.
        let d = &self.tables.tables.get(self.table[i])?.steps;
        self.layout
            .neighbours(v)
            .iter()
            .copied()
            .filter(|&u| d.get(u) < d.get(v))
            .min_by_key(|&u| (d.get(u), u))
    }

    /// Whether vehicle `i` wanted to drive on and did not move in the last step.
    fn wants_on(&self, i: usize) -> bool {
        !(self.rolling[i]
            || self.held[i]
            || self.transit[i].is_some()
            || self.at[i] == self.goal[i])
    }

    /// Zone blocking: in vehicle order, each takes the spot nearest its goal when nobody
    /// stands on it or has taken it this step; a slow move holds both ends until it ends.
    fn step_blocking(&mut self) {
        let n = self.at.len();
        for i in 0..n {
            self.occupancy.now[self.at[i] as usize] = i as u32;
            if let Some((to, _, _)) = self.transit[i] {
                self.occupancy.now[to as usize] = i as u32;
            }
        }
        for i in 0..n {
            let v = self.at[i];
            self.next[i] = v;
            if self.held[i] || self.transit[i].is_some() {
                continue;
            }
            self.label_around(i);
            let Some(u) = self.nearer(i) else { continue };
            if self.occupancy.now[u as usize] != NONE || self.occupancy.next[u as usize] != NONE {
                continue;
            }
            self.occupancy.take(u, i as u32);
            let steps = self.steps_for(i, v, u);
            if steps > 1 {
                self.begun[i] = Some((u, steps));
            } else {
                self.next[i] = u;
            }
        }
        self.clear_marks();
    }

    fn step_alone(&mut self) {
        for i in 0..self.at.len() {
            let v = self.at[i];
            self.label_around(i);
            let Some(d) = self.tables.tables.get(self.table[i]).map(|t| &t.steps) else {
                // At its goal, waiting for its table: it stays.
                self.next[i] = v;
                continue;
            };
            self.next[i] = if self.held[i] {
                v
            } else {
                self.layout
                    .neighbours(v)
                    .iter()
                    .copied()
                    .filter(|&u| d.get(u) < d.get(v))
                    .min_by_key(|&u| d.get(u))
                    .unwrap_or(v)
            };
        }
    }

    fn step_pibt(&mut self) {
        let n = self.at.len();
        for i in 0..n {
            self.occupancy.now[self.at[i] as usize] = i as u32;
            self.next[i] = NONE;
        }
        for i in 0..n {
            if let Some((to, _, _)) = self.transit[i] {
                // Both ends stay taken until it arrives.
                self.occupancy.now[to as usize] = i as u32;
                self.occupancy.take(to, i as u32);
            }
            if self.held[i] || self.transit[i].is_some() {
                let v = self.at[i];
                self.next[i] = v;
                self.occupancy.take(v, i as u32);
            }
        }
        let mut order = std::mem::take(&mut self.order);
        by_priority(&self.priority, &mut order);
        let mut next = std::mem::take(&mut self.next);
        // Held and moving vehicles take only their own spots and the empty spots they
        // head for: every other vehicle's spot stays free until it is asked to move.
        let planned = plan(self, &order, &mut next);
        debug_assert!(
            planned,
            "a vehicle's own spot is taken only after asking it"
        );
        self.next = next;
        self.order = order;
        self.clear_marks();
    }

    fn distances(&self, i: u32) -> &Steps {
        &self.tables.tables[self.table[i as usize]].steps
    }

    /// Whether a held vehicle stands next to `v` (so the plain distances may lead into it).
    fn held_next_to(&self, v: u32) -> bool {
        self.layout.neighbours(v).iter().any(|&u| {
            let a = self.occupancy.now[u as usize];
            a != NONE && self.held[a as usize]
        })
    }

    /// Steps from `from` to vehicle `i`'s goal around the spots of held vehicles
    /// (`u32::MAX` when there is no way, or when `from` is such a spot other than the
    /// goal). Mostly a shortest way of the free floor misses them, and a straight descent
    /// by the free floor's distances finds it; where that is blocked, A* guided by those
    /// distances (which no way around beats, so it is exact) looks only where a way may
    /// lie, and stops at the first spot it takes whose straight descent is open (the rest
    /// of the way is then known without searching it). A table of the whole floor per
    /// goal and per change of holds grew with the square of a fleet.
    fn detour_steps(&mut self, i: u32, from: u32) -> u32 {
        let goal = self.goal[i as usize];
        if let Some(&d) = self.detours.memo.get(&(goal, from)) {
            return d;
        }
        let spots = self.layout.spots();
        if !self.detours.fresh {
            let scratch = &mut self.detours;
            scratch.closed_any.clear();
            scratch.closed_any.resize(spots.div_ceil(64), 0);
            for closed in self.detour_closed.values() {
                scratch.close(closed);
            }
            scratch.fresh = true;
        }
        if !self.detour_closed.contains_key(&goal) {
            let closed = match &self.detours.closed_now {
                Some(closed) => closed.clone(),
                None => {
                    let mut closed: Vec<u32> = (0..self.at.len())
                        .filter(|&k| self.held[k])
                        .map(|k| self.at[k])
                        .collect();
                    closed.sort_unstable();
                    self.detours.closed_now = Some(closed.clone());
                    closed
                }
            };
            self.detours.close(&closed);
            self.detour_closed.insert(goal, closed);
        }
        // A* reads the free floor's steps wherever it looks.
        self.work.table_spots += self.tables.tables[self.table[i as usize]].complete(&self.layout);
        let search = self.detours.begin(spots);
        let closed = &self.detour_closed[&goal];
        let DetourScratch {
            closed_any: bits,
            g,
            seen,
            blocked,
            walk,
            ..
        } = &mut self.detours;
        let shut = |s: u32| {
            s != goal
                && (bits[s as usize / 64] >> (s % 64)) & 1 == 1
                && closed.binary_search(&s).is_ok()
        };
        let h = &self.tables.tables[self.table[i as usize]].steps;
        let d = if from == goal {
            0
        } else if shut(from) || h.get(from) == u32::MAX {
            u32::MAX
        } else if descends(&self.layout, h, from, goal, &shut, (blocked, search), walk) {
            // Mostly a shortest way of the free floor misses the held vehicles.
            h.get(from)
        } else {
            let best = |g: &[u32], seen: &[u32], x: u32| {
                (seen[x as usize] == search).then_some(g[x as usize])
            };
            g[from as usize] = 0;
            seen[from as usize] = search;
            // Least estimate first; among equals the deepest, which runs straight on.
            let mut open =
                std::collections::BinaryHeap::from([(std::cmp::Reverse(h.get(from)), 0u32, from)]);
            let mut found = u32::MAX;
            while let Some((_, gx, x)) = open.pop() {
                self.work.detour_spots += 1;
                if x == goal {
                    found = gx;
                    break;
                }
                if best(g, seen, x) != Some(gx) {
                    continue;
                }
                // A spot with an open straight descent ends the search: no way from it is
                // shorter than the free floor's, and none from a spot not yet taken is
                // shorter than this one's (A* takes the least estimate first). (`from`'s
                // own descent is known blocked already.)
                if descends(&self.layout, h, x, goal, &shut, (blocked, search), walk) {
                    found = gx + h.get(x);
                    break;
                }
                for &y in self.layout.neighbours(x) {
                    let hy = h.get(y);
                    if hy == u32::MAX || shut(y) {
                        continue;
                    }
                    let gy = gx + 1;
                    if best(g, seen, y).is_none_or(|old| gy < old) {
                        g[y as usize] = gy;
                        seen[y as usize] = search;
                        open.push((std::cmp::Reverse(gy + hy), gy, y));
                    }
                }
            }
            found
        };
        self.detours.memo.insert((goal, from), d);
        d
    }

    /// The highway cost table of `goal` (an index into `highways.tables`), `None` on a
    /// waypoint graph. When the cache is full, only the tables of goals in use are kept.
    fn highway_table(&mut self, goal: u32) -> Option<usize> {
        if let Some(&t) = self.highways.index.get(&goal) {
            return Some(t);
        }
        let table = self.layout.highway_costs_to(goal)?;
        self.work.table_spots += table.len() as u64;
        if self.highways.tables.len() >= MAX_TABLES.max(2 * self.goal.len()) {
            let old = std::mem::take(&mut self.highways);
            for &g in &self.goal {
                if let Some(&t) = old.index.get(&g)
                    && !self.highways.index.contains_key(&g)
                {
                    self.highways.index.insert(g, self.highways.tables.len());
                    self.highways.tables.push(old.tables[t].clone());
                }
            }
        }
        self.highways.index.insert(goal, self.highways.tables.len());
        self.highways.tables.push(table);
        Some(self.highways.tables.len() - 1)
    }
}

impl Agents for Traffic {
    type Moves = Vec<u32>;

    fn occupancy(&mut self) -> &mut Occupancy {
        &mut self.occupancy
    }

    fn stands_on(&self, i: u32) -> u32 {
        self.at[i as usize]
    }

    /// At its goal with its spot free, not asked to move and not stalled: staying
    /// (distance 0) is the first choice and is taken, as the full ranking would find.
    fn rests(&mut self, i: u32, pushed: bool) -> bool {
        let v = self.at[i as usize];
        let rests = !pushed
            && v == self.goal[i as usize]
            && self.occupancy.next[v as usize] == NONE
            && self.stalled[i as usize] < STALL_BEFORE_SWAP;
        if rests {
            // The tie-break numbers the ranking draws, one per move, are drawn all the
            // same so that the stream is unchanged.
            for _ in 0..=self.layout.neighbours(v).len() {
                self.rng.next();
            }
        }
        rests
    }

    /// Nearer the goal first (by the free floor's steps, along the highways where they are
    /// planned, or around held vehicles when one stands next to it); among equals, free
    /// spots first, then at random.
    #[inline(always)]
    fn moves(&mut self, i: u32, _: bool, to: &[u32]) -> (Vec<u32>, Option<u32>) {
        let v = self.at[i as usize];
        self.work.plans += 1;
        self.ensure_table(i as usize);
        self.label_around(i as usize);
        let mut cands = std::mem::take(&mut self.ranking);
        cands.clear();
        let around = self.held_next_to(v);
        let highway = match self.coordination {
            Coordination::Highways if !around => self.highway_table(self.goal[i as usize]),
            _ => None,
        };
        for k in 0..=self.layout.neighbours(v).len() {
            let u = self.layout.neighbours(v).get(k).copied().unwrap_or(v);
            let busy = (self.occupancy.now[u as usize] != NONE && u != v) as u64;
            let r = self.rng.next() >> 2;
            let d = match highway {
                _ if around => self.detour_steps(i, u),
                Some(t) => self.highways.tables[t][u as usize],
                None => self.distances(i).get(u),
            };
            cands.push((d, (busy << 62) | r, u));
        }
        cands.sort_unstable();
        // Passing head-on by the swap technique only once plain pushing has stalled: used
        // eagerly in busy lifelong traffic it sets vehicles oscillating.
        let pull = if self.stalled[i as usize] >= STALL_BEFORE_SWAP {
            swap_partner(self, i, cands[0].2, to)
        } else {
            None
        };
        let mut moves = self.spare_moves.pop().unwrap_or_default();
        moves.extend(cands.iter().map(|c| c.2));
        self.ranking = cands;
        (moves, pull)
    }

    /// Made to make room, a move is a short shunt at the fleet's pace; otherwise it takes
    /// as many steps as the vehicle's speed and the lane's limit need.
    fn steps(&self, i: u32, v: u32, u: u32, pushed: bool) -> u32 {
        match pushed {
            true => 1,
            false => self.steps_for(i as usize, v, u),
        }
    }

    fn begin(&mut self, i: u32, u: u32, steps: u32) {
        self.begun[i as usize] = Some((u, steps));
    }

    fn recycle(&mut self, mut moves: Vec<u32>) {
        moves.clear();
        self.spare_moves.push(moves);
    }
}

impl Corridor for Traffic {
    fn neighbours(&self, v: u32) -> &[u32] {
        self.layout.neighbours(v)
    }
    fn occupant(&self, v: u32) -> u32 {
        self.occupancy.now[v as usize]
    }
    fn parked(&self, a: u32, v: u32) -> bool {
        self.goal[a as usize] == v || self.held[a as usize]
    }
    /// Labels the table as far as the walk reads it: completing the tables of the vehicles
    /// around one that might swap searched the whole floor for each of thousands of
    /// parked vehicles on a packed floor.
    fn dist(&mut self, a: u32, v: u32) -> u32 {
        self.ensure_table(a as usize);
        self.label(a as usize, v);
        self.distances(a).get(v)
    }
    fn cells(&self) -> usize {
        self.layout.spots()
    }
    fn pullable(&self, a: u32) -> bool {
        !self.held[a as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapf::GridMap;

    /// A table searched only as far as asked gives, wherever asked and in any order, the
    /// steps of a search of the whole floor; asked about a spot d steps from the goal on an
    /// open floor, it has searched no spot further than d + 1.
    #[test]
    fn a_table_searched_as_far_as_asked_gives_the_whole_search_s_steps() {
        // A walled floor and a one-way loop (a spot that cannot reach the goal).
        let rows = [
            ".........",
            ".@@@.@@@.",
            ".........",
            "....@....",
            ".........",
        ];
        let text = format!("type octile\nheight 5\nwidth 9\nmap\n{}\n", rows.join("\n"));
        let walled = Layout::from_grid(&GridMap::parse(&text).unwrap(), 3.0).unwrap();
        let w = |name: &str, x: f64| crate::Waypoint {
            name: name.into(),
            x,
            y: 0.0,
        };
        let lane = |from: &str, to: &str, two_way| crate::Lane {
            from: from.into(),
            to: to.into(),
            two_way,
            speed_limit: None,
        };
        let one_way = Layout::from_lanes(
            &[w("a", 0.0), w("b", 9.0), w("c", 18.0)],
            &[lane("a", "b", false), lane("b", "c", true)],
            3.0,
        )
        .unwrap();
        let mut rng = tie_break(11);
        for layout in [&walled, &one_way] {
            let n = layout.spots() as u32;
            for goal in 0..n {
                let whole = layout.steps_to(goal);
                let mut table = Table::new(layout, goal);
                for _ in 0..3 * n {
                    let s = (rng.next() % u64::from(n)) as u32;
                    table.label(layout, s);
                    assert_eq!(
                        table.steps.get(s),
                        whole[s as usize],
                        "goal {goal}, spot {s}"
                    );
                }
                // What it labelled on the way is exact too.
                for (d, &exact) in table.steps.to_vec().into_iter().zip(&whole) {
                    if d != u32::MAX {
                        assert_eq!(d, exact);
                    }
                }
                table.complete(layout);
                assert_eq!(table.steps.to_vec(), whole);
            }
        }
        let open = Layout::from_grid(&GridMap::from_cells(40, 40, vec![true; 1600]), 3.0).unwrap();
        let at = |x: usize, y: usize| open.grid_spot(x, y).unwrap();
        let mut table = Table::new(&open, at(20, 20));
        table.label_around(&open, at(23, 20));
        let labelled: Vec<u32> = table
            .steps
            .to_vec()
            .into_iter()
            .filter(|&d| d != u32::MAX)
            .collect();
        assert!(labelled.iter().all(|&d| d <= 4), "{labelled:?}");
        // Of the 1,600 spots, those within 3 steps (25) and some of those 4 away.
        assert!((25..=41).contains(&labelled.len()), "{}", labelled.len());
    }

    /// Floors of fewer than 65,535 spots keep two bytes a spot (their longest way is
    /// shorter), larger ones four; both give the whole search's steps, the longest way of
    /// the larger floor (65,918 steps) past what two bytes hold.
    #[test]
    fn tables_of_small_floors_take_two_bytes_a_spot_and_large_ones_four() {
        // A serpentine of rows of 510 cells: open rows, walled ones between them with a
        // gap at alternate ends, one long way through all of them.
        let serpentine = |height: usize| {
            let free = (0..height * 510).map(|c| match (c / 510) % 4 {
                1 => c % 510 == 509,
                3 => c % 510 == 0,
                _ => true,
            });
            Layout::from_grid(&GridMap::from_cells(510, height, free.collect()), 3.0).unwrap()
        };
        let (small, large) = (serpentine(128), serpentine(258));
        assert!(small.spots() < 65_535 && large.spots() > 65_535);
        for (layout, narrow) in [(&small, true), (&large, false)] {
            let goal = 0;
            let mut table = Table::new(layout, goal);
            assert_eq!(matches!(table.steps, Steps::Narrow(_)), narrow);
            table.complete(layout);
            let whole = layout.steps_to(goal);
            assert_eq!(table.steps.to_vec(), whole);
            let far = whole
                .iter()
                .copied()
                .filter(|&d| d != u32::MAX)
                .max()
                .unwrap();
            assert_eq!(
                far as usize,
                layout.spots() - 1,
                "one way through every spot"
            );
        }
    }

    #[test]
    fn on_highways_a_vehicle_comes_back_along_the_lane_of_its_way() {
        // An open floor of 12 × 4: a vehicle from the top-left corner to the top-right
        // and back. The top row runs towards rising columns, the second the other way:
        // planned, it comes back along the top row (11 steps); on highways along the
        // second (13 steps: down, 11 along the second row, up; it ends 11 of them there).
        let rows = ["............"; 4];
        let text = format!(
            "type octile\nheight 4\nwidth 12\nmap\n{}\n",
            rows.join("\n")
        );
        let layout = Layout::from_grid(&GridMap::parse(&text).unwrap(), 1.0).unwrap();
        let (home, far) = (
            layout.grid_spot(0, 0).unwrap(),
            layout.grid_spot(11, 0).unwrap(),
        );
        let second_row: Vec<u32> = (0..12).map(|x| layout.grid_spot(x, 1).unwrap()).collect();
        let trip = |mode: Coordination| {
            let mut t = Traffic::new(layout.clone(), &[home], 0).unwrap();
            t.set_coordination(mode);
            t.set_goal(0, far);
            let mut steps = 0;
            while t.positions()[0] != far && steps < 100 {
                t.step();
                steps += 1;
            }
            t.set_goal(0, home);
            let (mut back, mut on_second) = (0, 0);
            while t.positions()[0] != home && back < 100 {
                t.step();
                back += 1;
                on_second += usize::from(second_row.contains(&t.positions()[0]));
            }
            (steps, back, on_second)
        };
        assert_eq!(trip(Coordination::Planned), (11, 11, 0));
        assert_eq!(trip(Coordination::Highways), (11, 13, 11));
    }

    #[test]
    fn detours_found_by_search_are_the_whole_floor_tables_distances() {
        // A 12 × 9 floor with walls and a vehicle on every fourth free cell, a third of
        // them held: from every spot, the way to each vehicle's goal around held vehicles
        // is as long as a breadth-first search of the whole floor finds it.
        let rows = [
            "............",
            "..@@@@@.....",
            "......@..@..",
            ".@@@..@..@..",
            ".@....@..@..",
            ".@..@@@..@@.",
            ".@..........",
            ".@@@@@.@@@..",
            "............",
        ];
        let text = format!(
            "type octile\nheight 9\nwidth 12\nmap\n{}\n",
            rows.join("\n")
        );
        let layout = Layout::from_grid(&GridMap::parse(&text).unwrap(), 1.0).unwrap();
        let spots = layout.spots() as u32;
        let starts: Vec<u32> = (0..spots).step_by(4).collect();
        let mut t = Traffic::new(layout, &starts, 1).unwrap();
        let n = starts.len();
        for i in 0..n {
            t.set_goal(i, starts[(i * 7 + 3) % n]);
            if i % 3 == 0 {
                t.hold(i, true);
            }
        }
        let held: Vec<u32> = (0..n).filter(|&k| t.held[k]).map(|k| t.at[k]).collect();
        let (mut checked, mut around) = (0, 0);
        for i in 0..n as u32 {
            let goal = t.goal[i as usize];
            let table = t.layout.steps_to_avoiding(goal, |s| held.contains(&s));
            let free = t.layout.steps_to(goal);
            around += table.iter().zip(&free).filter(|(a, b)| a != b).count();
            for from in 0..spots {
                assert_eq!(
                    t.detour_steps(i, from),
                    table[from as usize],
                    "vehicle {i}, from {from} to {goal}"
                );
                checked += usize::from(table[from as usize] != u32::MAX);
            }
        }
        assert!(checked > 1_000);
        assert!(
            around > 100,
            "the held vehicles should force detours: {around}"
        );
    }
}
