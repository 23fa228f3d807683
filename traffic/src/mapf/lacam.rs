//! One-shot multi-agent path finding by lazy configuration search (LaCAM, Okumura 2023),
//! with PIBT (priority inheritance with backtracking, the crate's one implementation, which
//! the plant's fleet also plans with) generating each next configuration.
//!
//! The high level searches depth-first over joint configurations (every agent's cell);
//! each configuration keeps a lazily grown tree of constraints ("agent i goes to cell v")
//! from which PIBT builds successors. Every step moves each agent to a neighbouring cell or
//! keeps it in place, with no two agents in one cell and no two swapping along an edge.
//! Revisiting a known configuration puts it back on top of the stack (as LaCAM* does), which
//! keeps the search complete: if a solution exists and time allows, it is found. PIBT uses
//! the swap technique of lacam2 so agents pass each other in corridors, and (unless turned
//! off) follows scattered paths planned beforehand ([`super::scatter`], as lacam3 does),
//! which spreads agents over the map and makes dense first solutions much cheaper. In anytime mode
//! the search goes on after the first solution, rewiring explored configurations when a
//! cheaper way in is found and pruning by the best solution, as LaCAM* does; its edge cost
//! is the number of agents not resting at their goal, so the sum of costs reported (which
//! also counts waits at a goal before a later departure) is not always monotone. Alongside
//! it, large neighbourhood search ([`super::lns`]) improves the best of a few first solutions
//! (other tie-breaking seeds); the better of the two comes back.

use super::grid::{DistanceTable, GridMap};
use super::lns::Lns;
use super::scatter::{Scatter, scatter};
use super::solution::Solution;
use crate::pibt::{Agents, GridMoves, NONE, Occupancy, by_priority, plan};
use crate::swap::{Corridor, TieBreak, swap_partner};
use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::collections::VecDeque;
use std::hash::BuildHasher;

/// Lower bounds from single-agent distances: (sum of costs, makespan).
pub fn lower_bounds(distances: &[DistanceTable], starts: &[u32]) -> (u64, u64) {
    let d = distances.iter().zip(starts).map(|(d, &s)| d.get(s) as u64);
    d.clone()
        .fold((0, 0), |(sum, max), x| (sum + x, max.max(x)))
}

/// Why no solution came back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapfError {
    /// Two agents share a start or a goal.
    #[error("agents {0} and {1} share a {2}")]
    Shared(usize, usize, &'static str),
    /// An agent's goal cannot be reached from its start.
    #[error("agent {0} cannot reach its goal")]
    Unreachable(usize),
    /// The caller's stop condition (time limit) came first.
    #[error("stopped before a solution was found")]
    Stopped,
    /// The whole space was searched: no solution exists.
    #[error("no solution exists")]
    NoSolution,
}

struct Low {
    parent: u32,
    who: u32,
    at: u32,
    depth: u32,
}

struct High {
    config: Vec<u32>,
    parent: u32,
    priorities: Vec<f64>,
    order: Vec<u32>,
    tree: VecDeque<u32>,
    /// Best known sum of costs from the start configuration.
    g: u64,
    /// Lower bound of the cost still to go (sum of distances).
    h: u64,
    /// Configurations reached from this one, for rewiring.
    next: Vec<u32>,
    /// Hash of `config`, kept for growing the table of explored configurations.
    hash: u64,
}

/// Extra first solutions (other tie-breaking seeds) tried in anytime mode; the best
/// one starts the neighbourhood search.
const RESTARTS: u64 = 3;

/// The direction PIBT gives staying in place (beside the four of
/// [`GridMap::neighbour_directions`]).
const NO_MOVE: u8 = 4;

/// Seed of the configuration hash: fixed, so every run explores alike.
const CONFIG_HASH_SEED: u64 = 0x1ACA_3000;

/// Largest distance rank PIBT tells apart (farther cells rank equal).
const RANK_MAX: u32 = (1 << 21) - 1;

struct Pibt<'a> {
    map: &'a GridMap,
    dist: &'a [DistanceTable],
    goals: &'a [u32],
    occupancy: Occupancy,
    rng: TieBreak,
    scatter: Scatter,
    /// Per agent, in the configuration being left: its cell, moves to its goal, the
    /// directions one move nearer, and the next cell of its scattered path (or `NONE`).
    here: Vec<Here>,
}

/// What PIBT reads of an agent's tables at its current cell, gathered in one pass.
#[derive(Clone, Copy, Default)]
struct Here {
    at: u32,
    dist: u32,
    nearer: u32,
    scattered: u32,
}

impl Pibt<'_> {
    /// The next configuration from `from` with `fixed` moves imposed and its sum of
    /// distances to the goals, or `None`.
    fn generate(
        &mut self,
        from: &[u32],
        order: &[u32],
        fixed: &[(u32, u32)],
    ) -> Option<(Vec<u32>, u64)> {
        // One pass over every agent's tables before PIBT runs: its reads, independent of
        // each other, overlap in the memory system, where PIBT's own (one agent after the
        // other, in priority order) would wait on each cache miss in turn.
        self.here.clear();
        for (i, &v) in from.iter().enumerate() {
            self.occupancy.now[v as usize] = i as u32;
            let (dist, nearer) = self.dist[i].entry(v);
            let scattered = self.scatter.next(i, v).unwrap_or(NONE);
            self.here.push(Here {
                at: v,
                dist,
                nearer,
                scattered,
            });
        }
        let mut to = vec![NONE; from.len()];
        let mut ok = true;
        for &(who, at) in fixed {
            let j = self.occupancy.now[at as usize];
            if self.occupancy.next[at as usize] != NONE
                || (j != NONE && to[j as usize] == from[who as usize])
            {
                ok = false;
                break;
            }
            to[who as usize] = at;
            self.occupancy.take(at, who);
        }
        ok = ok && plan(self, order, &mut to);
        for &v in from {
            self.occupancy.now[v as usize] = NONE;
        }
        self.occupancy.clear_next();
        if !ok {
            return None;
        }
        // Distances at the new cells follow from those gathered at the old ones, with no
        // second read of each agent's table.
        let mut h = 0;
        for (i, (&v, &u)) in from.iter().zip(&to).enumerate() {
            let Here { dist, nearer, .. } = self.here[i];
            h += if u == v {
                dist
            } else {
                // Every move is to a neighbour (PIBT's and the imposed ones alike).
                let k = self.map.neighbours(v).iter().position(|&w| w == u);
                let dir = k.map_or(0, |k| self.map.neighbour_directions(v)[k]);
                DistanceTable::step(dist, nearer, dir as u32)
            } as u64;
        }
        Some((to, h))
    }
}

impl Agents for Pibt<'_> {
    type Moves = GridMoves;

    fn occupancy(&mut self) -> &mut Occupancy {
        &mut self.occupancy
    }

    fn stands_on(&self, i: u32) -> u32 {
        self.here[i as usize].at
    }

    #[inline(always)]
    fn moves(&mut self, i: u32, _: bool, to: &[u32]) -> (GridMoves, Option<u32>) {
        let Here {
            at: v,
            dist: dv,
            nearer,
            scattered,
        } = self.here[i as usize];
        // Sort keys packed in one word: rank (21 bits), random (43); the cell rides
        // alongside. No preference for free cells among equals: it looks harmless, but it
        // steers agents away from each other's cells into detours and livelocks that the
        // search then backtracks out of. On random-32-32-20 with 409 agents, seeds 0–9, it
        // made the search explore up to 14 configurations per step of the solution, and
        // first solutions took 47–382 ms; without it, 50–62 ms (before later speed-ups).
        let mut cands: [(u64, u32); 5] = [(0, NONE); 5];
        let mut n = 0;
        let ways = self
            .map
            .neighbours(v)
            .iter()
            .zip(self.map.neighbour_directions(v));
        for (&u, &dir) in ways.chain(std::iter::once((&v, &NO_MOVE))) {
            // The next cell of the agent's scattered path first; then nearer the goal;
            // among equals at random.
            let rank = if u == scattered {
                0
            } else if dir == NO_MOVE {
                dv.saturating_add(1)
            } else {
                DistanceTable::step(dv, nearer, dir as u32).saturating_add(1)
            };
            let key = ((rank.min(RANK_MAX) as u64) << 43) | (self.rng.next() >> 21);
            cands[n] = (key, u);
            n += 1;
        }
        let cands = &mut cands[..n];
        // Insertion sort: at most five entries.
        for a in 1..cands.len() {
            let mut b = a;
            while b > 0 && cands[b - 1].0 > cands[b].0 {
                cands.swap(b - 1, b);
                b -= 1;
            }
        }
        // In a corridor, an agent coming the other way is pulled along rather than pushed.
        let pull = swap_partner(self, i, cands[0].1, to);
        (GridMoves::of(cands.iter().map(|c| c.1)), pull)
    }
}

impl Corridor for Pibt<'_> {
    fn neighbours(&self, v: u32) -> &[u32] {
        self.map.neighbours(v)
    }
    fn occupant(&self, v: u32) -> u32 {
        self.occupancy.now[v as usize]
    }
    fn parked(&self, a: u32, v: u32) -> bool {
        self.goals[a as usize] == v
    }
    fn dist(&mut self, a: u32, v: u32) -> u32 {
        self.dist[a as usize].get(v)
    }
    fn cells(&self) -> usize {
        self.map.cells()
    }
}

/// How [`solve`] searches and reports.
pub struct Search<'a> {
    /// Tie-breaking seed.
    pub seed: u64,
    /// Keep improving the sum of costs after the first solution (LaCAM*), until `stop`
    /// says so or the search space is exhausted (then the solution is optimal).
    pub anytime: bool,
    /// Plan scattered paths first ([`super::scatter`]) and let PIBT follow them: a much
    /// cheaper first solution on dense instances, for the time the paths take.
    pub scatter: bool,
    /// Asked between steps; the search ends when it returns true.
    pub stop: &'a mut dyn FnMut() -> bool,
    /// Told the sum of costs (as [`Solution::sum_of_costs`] counts it) of each better
    /// solution found.
    pub improved: &'a mut dyn FnMut(u64),
}

/// The configurations from the start to `node`, following parents.
fn path_to(highs: &[High], node: u32) -> Vec<Vec<u32>> {
    let mut configs = Vec::new();
    let mut k = node;
    while k != NONE {
        configs.push(highs[k as usize].config.clone());
        k = highs[k as usize].parent;
    }
    configs.reverse();
    configs
}

/// Cost of one step between configurations: agents that are not staying at their goal.
fn step_cost(from: &[u32], to: &[u32], goals: &[u32]) -> u64 {
    from.iter()
        .zip(to)
        .zip(goals)
        .filter(|((a, b), g)| !(a == g && b == g))
        .count() as u64
}

/// Solves the instance. `distances[i]` are agent i's moves to its goal from every cell
/// ([`GridMap::distances_to`]). Returns the best solution found when stopped after one.
pub fn solve(
    map: &GridMap,
    starts: &[u32],
    goals: &[u32],
    distances: &[DistanceTable],
    search: Search<'_>,
) -> Result<Solution, MapfError> {
    let Search {
        seed,
        anytime,
        scatter: scattered,
        stop,
        improved,
    } = search;
    let n = starts.len();
    for (what, cells) in [("start", starts), ("goal", goals)] {
        let mut owner = vec![NONE; map.cells()];
        for (i, &c) in cells.iter().enumerate() {
            if owner[c as usize] != NONE {
                return Err(MapfError::Shared(owner[c as usize] as usize, i, what));
            }
            owner[c as usize] = i as u32;
        }
    }
    if let Some(i) = (0..n).find(|&i| distances[i].get(starts[i]) == u32::MAX) {
        return Err(MapfError::Unreachable(i));
    }
    let mut pibt = Pibt {
        map,
        dist: distances,
        goals,
        occupancy: Occupancy::new(map.cells()),
        rng: TieBreak(seed),
        scatter: Scatter::default(),
        here: Vec::with_capacity(n),
    };
    if scattered {
        // For a quick first solution one round: a second cuts the sum of costs by another
        // 10–15% but costs as much again (with 1,000 agents on the warehouse map it took
        // the first solution from 170 to 220 ms); in anytime mode as many as keep cutting
        // meetings, since a better start pays off for long.
        let rounds = if anytime { 6 } else { 1 };
        pibt.scatter = scatter(map, starts, goals, distances, (seed, rounds), stop);
    }
    let cells = map.cells() as f64;
    // Highest priority first, ties by index: a total order, so starting from the parent's
    // order (nearly sorted already, which the adaptive sort runs through fast) gives the
    // same result as starting afresh.
    let order_of = |p: &[f64], from: &[u32]| {
        let mut order = from.to_vec();
        by_priority(p, &mut order);
        order
    };
    let identity: Vec<u32> = (0..n as u32).collect();
    let mut lows = vec![Low {
        parent: NONE,
        who: NONE,
        at: NONE,
        depth: 0,
    }];
    let priorities: Vec<f64> = (0..n)
        .map(|i| distances[i].get(starts[i]) as f64 / cells)
        .collect();
    // Fixed seed: the same run every time.
    let hasher = FixedState::with_seed(CONFIG_HASH_SEED);
    let heuristic = |c: &[u32]| -> u64 {
        c.iter()
            .enumerate()
            .map(|(i, &v)| distances[i].get(v) as u64)
            .sum()
    };
    let mut highs = vec![High {
        config: starts.to_vec(),
        parent: NONE,
        order: order_of(&priorities, &identity),
        priorities,
        tree: VecDeque::from([0]),
        g: 0,
        h: heuristic(starts),
        hash: hasher.hash_one(starts),
        next: Vec::new(),
    }];
    // Explored configurations, as indices into `highs`, found by their hash (the table is
    // looked up only, never iterated).
    let mut explored: HashTable<u32> = HashTable::new();
    explored.insert_unique(highs[0].hash, 0, |&k| highs[k as usize].hash);
    let mut open: Vec<u32> = vec![0];
    let mut fixed = Vec::new();
    let mut goal: Option<u32> = None;
    let mut stopped = false;
    // After the first solution, large neighbourhood search improves a copy of it, one round
    // per configuration-search step; the better of the two is returned.
    let mut lns: Option<Lns<'_>> = None;
    let lns_rounds = (n / 32).clamp(1, 8);
    let mut best = u64::MAX;
    while let Some(&h) = open.last() {
        if stop() {
            stopped = true;
            break;
        }
        if let Some(l) = &mut lns {
            // On big instances a configuration-search step costs about what a round of
            // neighbourhood search does and rarely pays: give the rounds most of the time.
            for _ in 0..lns_rounds {
                if l.improve() && l.sum_of_costs() < best {
                    best = l.sum_of_costs();
                    improved(best);
                }
            }
        }
        if goal.is_none() && highs[h as usize].config == goals {
            goal = Some(h);
            let first = Solution {
                configs: path_to(&highs, h),
            };
            best = first.sum_of_costs(goals);
            improved(best);
            if !anytime {
                break;
            }
            // Large neighbourhood search settles near where it starts, and first solutions
            // vary a lot with the tie-breaking: start it from the best of a few.
            let mut start = first;
            for k in 1..=RESTARTS {
                let other = solve(
                    map,
                    starts,
                    goals,
                    distances,
                    Search {
                        seed: seed.wrapping_add(k),
                        anytime: false,
                        scatter: scattered,
                        stop: &mut *stop,
                        improved: &mut |_| {},
                    },
                );
                if let Ok(o) = other
                    && o.sum_of_costs(goals) < best
                {
                    best = o.sum_of_costs(goals);
                    improved(best);
                    start = o;
                }
            }
            lns = Some(Lns::new(map, goals, distances, &start, seed));
        }
        // Nothing through this configuration can beat the best solution.
        if let Some(gl) = goal
            && highs[h as usize].g + highs[h as usize].h >= highs[gl as usize].g
        {
            open.pop();
            continue;
        }
        let Some(c) = highs[h as usize].tree.pop_front() else {
            open.pop();
            continue;
        };
        let depth = lows[c as usize].depth;
        if (depth as usize) < n {
            let i = highs[h as usize].order[depth as usize];
            let v = highs[h as usize].config[i as usize];
            let mut cands: Vec<u32> = std::iter::once(v)
                .chain(map.neighbours(v).iter().copied())
                .collect();
            for k in (1..cands.len()).rev() {
                cands.swap(k, (pibt.rng.next() % (k as u64 + 1)) as usize);
            }
            for at in cands {
                lows.push(Low {
                    parent: c,
                    who: i,
                    at,
                    depth: depth + 1,
                });
                highs[h as usize].tree.push_back(lows.len() as u32 - 1);
            }
        }
        fixed.clear();
        let mut k = c;
        while lows[k as usize].parent != NONE {
            fixed.push((lows[k as usize].who, lows[k as usize].at));
            k = lows[k as usize].parent;
        }
        fixed.reverse();
        let Some((next, next_h)) =
            pibt.generate(&highs[h as usize].config, &highs[h as usize].order, &fixed)
        else {
            continue;
        };
        let next_hash = hasher.hash_one(&next);
        if let Some(&known) = explored.find(next_hash, |&k| highs[k as usize].config == next) {
            if !highs[h as usize].next.contains(&known) {
                highs[h as usize].next.push(known);
            }
            // A cheaper way into known configurations: pass the saving on (LaCAM* rewiring).
            let goal_before = goal.map(|gl| highs[gl as usize].g);
            let mut queue = VecDeque::from([h]);
            while let Some(a) = queue.pop_front() {
                for idx in 0..highs[a as usize].next.len() {
                    let b = highs[a as usize].next[idx];
                    let g = highs[a as usize].g
                        + step_cost(&highs[a as usize].config, &highs[b as usize].config, goals);
                    if g < highs[b as usize].g {
                        let node = &mut highs[b as usize];
                        node.g = g;
                        node.parent = a;
                        let f = g + node.h;
                        queue.push_back(b);
                        if goal.is_some_and(|gl| f < highs[gl as usize].g) {
                            open.push(b);
                        }
                    }
                }
            }
            if let Some(gl) = goal
                && Some(highs[gl as usize].g) < goal_before
            {
                let soc = Solution {
                    configs: path_to(&highs, gl),
                }
                .sum_of_costs(goals);
                if soc < best {
                    best = soc;
                    improved(best);
                }
            }
            if goal.is_none_or(|gl| {
                highs[known as usize].g + highs[known as usize].h < highs[gl as usize].g
            }) {
                open.push(known);
            }
            continue;
        }
        let parent = &highs[h as usize];
        let priorities: Vec<f64> = (0..n)
            .map(|i| {
                let p = parent.priorities[i];
                if next[i] != goals[i] {
                    p + 1.0
                } else {
                    p - p.floor()
                }
            })
            .collect();
        let g = parent.g + step_cost(&parent.config, &next, goals);
        let id = highs.len() as u32;
        explored.insert_unique(next_hash, id, |&k| highs[k as usize].hash);
        highs[h as usize].next.push(id);
        highs.push(High {
            h: next_h,
            hash: next_hash,
            config: next,
            parent: h,
            order: order_of(&priorities, &highs[h as usize].order),
            priorities,
            tree: VecDeque::from([0]),
            g,
            next: Vec::new(),
        });
        open.push(id);
    }
    match goal {
        Some(gl) => {
            let searched = Solution {
                configs: path_to(&highs, gl),
            };
            Ok(match lns {
                Some(l) if l.sum_of_costs() < searched.sum_of_costs(goals) => l.solution(),
                _ => searched,
            })
        }
        None if stopped => Err(MapfError::Stopped),
        None => Err(MapfError::NoSolution),
    }
}
