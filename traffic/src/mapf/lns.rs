//! Anytime improvement of a MAPF solution by large neighbourhood search (MAPF-LNS, Li et al.
//! 2021): take a few agents' paths out, plan them again one by one with space-time A*
//! around everybody else's (prioritised planning), and keep the new paths when the sum of
//! costs does not grow.
//!
//! Agents are chosen two ways, in turn: the most delayed agents with the agents standing in
//! their way (found by walking towards the goal along shortest routes), and agents passing
//! through one crossing cell.

use super::grid::{DistanceTable, GridMap};
use super::solution::Solution;
use crate::pibt::NONE;
use crate::swap::TieBreak;
use std::collections::BinaryHeap;

/// Who occupies which cell at which step, for all paths but the ones being replanned.
struct Table {
    cells: usize,
    /// `occ[t][v]`: the agent on cell v at step t (within its path).
    occ: Vec<Vec<u32>>,
    /// `rest[v]`: the agent that stays on cell v (its goal) from the given step on.
    rest: Vec<(u32, u32)>,
}

impl Table {
    fn occupant(&self, v: u32, t: usize) -> u32 {
        if let Some(row) = self.occ.get(t) {
            let a = row[v as usize];
            if a != NONE {
                return a;
            }
        }
        let (a, from) = self.rest[v as usize];
        if a != NONE && t >= from as usize {
            a
        } else {
            NONE
        }
    }

    fn insert(&mut self, agent: u32, path: &[u32]) {
        while self.occ.len() < path.len() {
            self.occ.push(vec![NONE; self.cells]);
        }
        for (t, &v) in path.iter().enumerate() {
            self.occ[t][v as usize] = agent;
        }
        let goal = *path.last().expect("a path has a cell");
        self.rest[goal as usize] = (agent, path.len() as u32 - 1);
    }

    fn remove(&mut self, path: &[u32]) {
        for (t, &v) in path.iter().enumerate() {
            self.occ[t][v as usize] = NONE;
        }
        let goal = *path.last().expect("a path has a cell");
        self.rest[goal as usize] = (NONE, 0);
    }

    /// Whether nobody passes cell `v` after step `t`.
    fn free_after(&self, v: u32, t: usize) -> bool {
        self.occ
            .iter()
            .skip(t + 1)
            .all(|row| row[v as usize] == NONE)
            && self.rest[v as usize].0 == NONE
    }
}

/// The improving search over one instance.
pub struct Lns<'a> {
    map: &'a GridMap,
    goals: &'a [u32],
    dist: &'a [DistanceTable],
    paths: Vec<Vec<u32>>,
    table: Table,
    rng: TieBreak,
    /// Agents per neighbourhood in the round under way.
    size: usize,
    /// Weights of the arms (neighbourhood kind × size), adapted to what has paid off.
    weights: [f64; ARMS],
    round: u64,
    /// Cells with three or more neighbours.
    crossings: Vec<u32>,
    /// A* visited marks, `seen[t * cells + v] == stamp`, reused between searches.
    seen: Vec<u32>,
    stamp: u32,
}

/// Neighbourhood kinds (delayed agent, crossing) × sizes.
const ARMS: usize = 8;
const SIZES: [usize; 4] = [2, 4, 8, 16];

/// Steps a replanned path may run past the current makespan.
const SLACK: usize = 256;
/// Node expansions one space-time search may spend.
const EXPANSIONS: usize = 12_000;

impl<'a> Lns<'a> {
    /// Starts from `solution`; `dist[i]` are agent i's distances to its goal.
    pub fn new(
        map: &'a GridMap,
        goals: &'a [u32],
        dist: &'a [DistanceTable],
        solution: &Solution,
        seed: u64,
    ) -> Self {
        let n = goals.len();
        let paths: Vec<Vec<u32>> = (0..n)
            .map(|i| {
                let last = solution
                    .configs
                    .iter()
                    .rposition(|c| c[i] != goals[i])
                    .map_or(0, |t| t + 1);
                solution.configs[..=last].iter().map(|c| c[i]).collect()
            })
            .collect();
        let mut table = Table {
            cells: map.cells(),
            occ: Vec::new(),
            rest: vec![(NONE, 0); map.cells()],
        };
        for (i, p) in paths.iter().enumerate() {
            table.insert(i as u32, p);
        }
        let crossings = (0..map.cells() as u32)
            .filter(|&v| map.neighbours(v).len() >= 3)
            .collect();
        Lns {
            map,
            goals,
            dist,
            paths,
            table,
            rng: TieBreak(seed ^ 0x1F0E_A5B7_C3D2_9E81),
            size: 4,
            weights: [1.0; ARMS],
            round: 0,
            crossings,
            seen: Vec::new(),
            stamp: 0,
        }
    }

    /// Sum of costs of the current paths.
    pub fn sum_of_costs(&self) -> u64 {
        self.paths.iter().map(|p| p.len() as u64 - 1).sum()
    }

    /// The current paths as a solution.
    pub fn solution(&self) -> Solution {
        let horizon = self.paths.iter().map(Vec::len).max().unwrap_or(1);
        Solution {
            configs: (0..horizon)
                .map(|t| self.paths.iter().map(|p| p[t.min(p.len() - 1)]).collect())
                .collect(),
        }
    }

    /// One round: replan a neighbourhood. Returns whether the sum of costs fell.
    pub fn improve(&mut self) -> bool {
        self.round += 1;
        // Adaptive LNS: draw an arm in proportion to its weight.
        let total: f64 = self.weights.iter().sum();
        let mut x = (self.rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        let mut arm = ARMS - 1;
        for (k, w) in self.weights.iter().enumerate() {
            if x < *w {
                arm = k;
                break;
            }
            x -= w;
        }
        self.size = SIZES[arm % SIZES.len()].min(self.paths.len());
        let group = if arm < SIZES.len() {
            self.delayed_group()
        } else {
            self.crossing_group()
        };
        if group.len() < 2 {
            self.weights[arm] = (0.9 * self.weights[arm]).max(0.01);
            return false;
        }
        let before: u64 = group.iter().map(|&i| self.paths[i].len() as u64).sum();
        let old: Vec<Vec<u32>> = group.iter().map(|&i| self.paths[i].clone()).collect();
        for &i in &group {
            self.table.remove(&self.paths[i]);
        }
        let mut order = group.clone();
        for k in (1..order.len()).rev() {
            order.swap(k, self.rng.below(k + 1));
        }
        let mut ok = true;
        let mut planned = Vec::new();
        for &i in &order {
            match self.plan(i, before) {
                Some(p) => {
                    self.table.insert(i as u32, &p);
                    planned.push((i, p));
                }
                None => {
                    ok = false;
                    break;
                }
            }
        }
        let after: u64 = planned.iter().map(|(_, p)| p.len() as u64).sum();
        let gain = if ok {
            before.saturating_sub(after) as f64
        } else {
            0.0
        };
        self.weights[arm] = (0.9 * self.weights[arm] + 0.1 * gain / group.len() as f64).max(0.01);
        if ok && after <= before {
            for (i, p) in planned {
                self.paths[i] = p;
            }
            after < before
        } else {
            for (_, p) in &planned {
                self.table.remove(p);
            }
            for (&i, p) in group.iter().zip(old) {
                self.table.insert(i as u32, &p);
                self.paths[i] = p;
            }
            false
        }
    }

    /// A delayed agent and the agents in its way.
    fn delayed_group(&mut self) -> Vec<usize> {
        let n = self.paths.len();
        // The most delayed of a few agents drawn at random.
        let delay =
            |l: &Lns, i: usize| l.paths[i].len() as u64 - 1 - l.dist[i].get(l.paths[i][0]) as u64;
        let mut a = self.rng.below(n);
        for _ in 0..8 {
            let b = self.rng.below(n);
            if delay(self, b) > delay(self, a) {
                a = b;
            }
        }
        let mut group = vec![a];
        let d = &self.dist[a];
        for _ in 0..4 {
            // Walk from a random point of its path towards the goal along shortest moves,
            // collecting whoever stands there at those steps.
            let mut t = self.rng.below(self.paths[a].len());
            let mut v = self.paths[a][t];
            while d.get(v) > 0 && group.len() < self.size {
                let next: Vec<u32> = self
                    .map
                    .neighbours(v)
                    .iter()
                    .copied()
                    .filter(|&u| d.get(u) < d.get(v))
                    .collect();
                v = next[self.rng.below(next.len())];
                t += 1;
                for dt in [0, 1] {
                    let o = self.table.occupant(v, t + dt);
                    if o != NONE && !group.contains(&(o as usize)) {
                        group.push(o as usize);
                    }
                }
            }
            if group.len() >= self.size {
                break;
            }
        }
        group.truncate(self.size);
        group
    }

    /// The agents passing a crossing cell near one another.
    fn crossing_group(&mut self) -> Vec<usize> {
        if self.crossings.is_empty() {
            return Vec::new();
        }
        let v = self.crossings[self.rng.below(self.crossings.len())];
        let horizon = self.table.occ.len().max(1);
        let t0 = self.rng.below(horizon);
        let mut group = Vec::new();
        let cells: Vec<u32> = std::iter::once(v)
            .chain(self.map.neighbours(v).iter().copied())
            .collect();
        'outer: for dt in 0..horizon {
            for t in [t0 + dt, t0.wrapping_sub(dt)] {
                if t >= horizon {
                    continue;
                }
                for &c in &cells {
                    let o = self.table.occupant(c, t);
                    if o != NONE && !group.contains(&(o as usize)) {
                        group.push(o as usize);
                        if group.len() >= self.size {
                            break 'outer;
                        }
                    }
                }
            }
        }
        group
    }

    /// Space-time A* for agent `i` around the table, no longer than `budget` steps.
    fn plan(&mut self, i: usize, budget: u64) -> Option<Vec<u32>> {
        let (start, goal) = (self.paths[i][0], self.goals[i]);
        let d = &self.dist[i];
        let horizon = self.table.occ.len();
        let limit = (horizon + SLACK).min(budget as usize + horizon);
        let cells = self.map.cells();
        if self.seen.len() < (limit + 1) * cells {
            self.seen.resize((limit + 1) * cells, 0);
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.seen.fill(0);
            self.stamp = 1;
        }
        let stamp = self.stamp;
        // Arrival must come after the last pass of anybody else over the goal.
        let last_pass = (0..horizon)
            .rev()
            .find(|&t| self.table.occ[t][goal as usize] != NONE)
            .map_or(0, |t| t as u64 + 1);
        let h = |v: u32, t: u64| (t + d.get(v) as u64).max(last_pass);
        // Nodes: (cell, step, parent index).
        let mut nodes: Vec<(u32, u32, u32)> = vec![(start, 0, NONE)];
        let mut open = BinaryHeap::new();
        // Max-heap on (−f, step): least f first, then deepest.
        open.push((std::cmp::Reverse(h(start, 0)), 0u32, 0u32));
        let mut expansions = 0;
        while let Some((_, t, k)) = open.pop() {
            let (v, _, _) = nodes[k as usize];
            if v == goal && self.table.free_after(v, t as usize) {
                let mut path = Vec::with_capacity(t as usize + 1);
                let mut k = k;
                while k != NONE {
                    path.push(nodes[k as usize].0);
                    k = nodes[k as usize].2;
                }
                path.reverse();
                return Some(path);
            }
            expansions += 1;
            if expansions > EXPANSIONS || t as usize + 1 > limit {
                continue;
            }
            let t1 = t as usize + 1;
            for &u in self.map.neighbours(v).iter().chain(std::iter::once(&v)) {
                if self.table.occupant(u, t1) != NONE {
                    continue;
                }
                let o = self.table.occupant(u, t as usize);
                if o != NONE && u != v && self.table.occupant(v, t1) == o {
                    continue;
                }
                let mark = &mut self.seen[t1 * cells + u as usize];
                if *mark == stamp {
                    continue;
                }
                *mark = stamp;
                nodes.push((u, t1 as u32, k));
                let f = h(u, t1 as u64);
                open.push((std::cmp::Reverse(f), t1 as u32, nodes.len() as u32 - 1));
            }
        }
        None
    }
}
