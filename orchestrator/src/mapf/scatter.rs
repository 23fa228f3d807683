//! Space utilisation optimisation ("scatter", Okumura 2024, lacam3): before the search,
//! each agent gets a path of near-shortest length that crosses the others' paths as little
//! as possible. PIBT then prefers the next cell of that path when the agent stands on it,
//! which spreads agents over the map instead of piling them onto the same shortest routes,
//! and so shortens the first solution on dense instances.

use super::grid::GridMap;
use crate::swap::NONE;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Steps beyond its shortest route an agent's path may take.
pub const MARGIN: u32 = 10;

/// Steps of detour one meeting with another path weighs (the search minimises length plus
/// this many steps per meeting: weighing meetings above all explores far more cells for
/// paths no better in the end).
pub const MEETING_WEIGHT: u32 = 4;

/// Where each agent's scattered path goes next from each of its cells.
#[derive(Clone, Debug, Default)]
pub struct Scatter {
    /// Per agent: (cell, next cell) along its path, sorted by cell.
    next: Vec<Vec<(u32, u32)>>,
    /// Crossings (vertex and swap meetings) left among the paths, summed over agents.
    pub crossings: u64,
}

impl Scatter {
    /// The next cell on agent `i`'s path from `cell`, if the path passes there.
    pub fn next(&self, i: usize, cell: u32) -> Option<u32> {
        let path = self.next.get(i)?;
        path.binary_search_by_key(&cell, |&(c, _)| c)
            .ok()
            .map(|k| path[k].1)
    }
}

/// Who is where when, along the paths planned so far (dense over cells × steps).
struct Crossings {
    cells: usize,
    /// Agents at (cell, time), index `time * cells + cell`.
    count: Vec<u16>,
    /// One of them (enough to spot most head-on meetings).
    who: Vec<u32>,
    /// When the agent whose goal a cell is arrives there for good (`u32::MAX`: not yet).
    parked_from: Vec<u32>,
}

impl Crossings {
    fn enrol(&mut self, i: u32, path: &[u32]) {
        for (t, &c) in path.iter().enumerate() {
            let k = t * self.cells + c as usize;
            self.count[k] += 1;
            self.who[k] = i;
        }
        if let Some(&g) = path.last() {
            self.parked_from[g as usize] = path.len() as u32 - 1;
        }
    }

    fn remove(&mut self, path: &[u32]) {
        for (t, &c) in path.iter().enumerate() {
            self.count[t * self.cells + c as usize] -= 1;
        }
        if let Some(&g) = path.last() {
            self.parked_from[g as usize] = u32::MAX;
        }
    }

    /// Meetings caused by moving `v → u` between `t` and `t + 1`; `paths` tell where
    /// others go next.
    fn cost(&self, v: u32, u: u32, t: u32, paths: &[Vec<u32>]) -> u32 {
        let (t, c) = (t as usize, self.cells);
        let mut n = self.count[(t + 1) * c + u as usize] as u32;
        if t as u32 + 1 >= self.parked_from[u as usize] {
            n += 1;
        }
        // Someone coming the other way along the same edge.
        let k = t * c + u as usize;
        if self.count[k] > 0 && paths[self.who[k] as usize].get(t + 1) == Some(&v) {
            n += 1;
        }
        n
    }
}

/// Plans the scattered paths: every agent in turn, in up to `rounds` rounds (random
/// order each), while the meetings among all paths keep falling. `stop` is asked between
/// agents; when it says so, the best paths so far are kept.
pub fn scatter(
    map: &GridMap,
    starts: &[u32],
    goals: &[u32],
    distances: &[Vec<u32>],
    (seed, rounds): (u64, usize),
    stop: &mut dyn FnMut() -> bool,
) -> Scatter {
    let n = starts.len();
    let cells = map.cells();
    let steps = (0..n)
        .map(|i| distances[i][starts[i] as usize].saturating_add(MARGIN) as usize + 1)
        .max()
        .unwrap_or(1);
    let mut table = Crossings {
        cells,
        count: vec![0; cells * steps],
        who: vec![NONE; cells * steps],
        parked_from: vec![u32::MAX; cells],
    };
    let mut paths: Vec<Vec<u32>> = vec![Vec::new(); n];
    // Dense search state, reset by stamps.
    let mut parent = vec![0u32; cells];
    let mut closed = vec![0u32; cells];
    let mut stamp = 0u32;
    let mut rng = crate::swap::TieBreak(seed ^ 0x9E37_79B9_7F4A_7C15);
    let mut order: Vec<usize> = (0..n).collect();
    // The paths with the fewest meetings so far, and that count.
    let mut best: (Vec<Vec<u32>>, u64) = (Vec::new(), u64::MAX);
    for _ in 0..rounds.max(1) {
        for k in (1..n).rev() {
            order.swap(k, (rng.next() % (k as u64 + 1)) as usize);
        }
        for &i in &order {
            if stop() {
                break;
            }
            table.remove(&paths[i]);
            stamp += 1;
            let d = &distances[i];
            let (s, g) = (starts[i], goals[i]);
            let bound = d[s as usize].saturating_add(MARGIN);
            // (length + weighed meetings, meetings, steps to go, cell, g, parent); among
            // equals the one nearest the goal, so that on open floor the search runs
            // straight to the goal instead of filling every shortest route.
            let mut open = BinaryHeap::new();
            open.push(Reverse((d[s as usize], 0u32, d[s as usize], s, 0u32, s)));
            let mut found = false;
            while let Some(Reverse((_, m, _, v, gv, p))) = open.pop() {
                if closed[v as usize] == stamp {
                    continue;
                }
                closed[v as usize] = stamp;
                parent[v as usize] = p;
                if v == g {
                    found = true;
                    break;
                }
                for &u in map.neighbours(v) {
                    let du = d[u as usize];
                    if u != s && closed[u as usize] != stamp && gv + 1 + du <= bound {
                        let mu = m + table.cost(v, u, gv, &paths);
                        let f = gv + 1 + du + MEETING_WEIGHT * mu;
                        open.push(Reverse((f, mu, du, u, gv + 1, v)));
                    }
                }
            }
            if found {
                let mut path = vec![g];
                let mut v = g;
                while v != s {
                    v = parent[v as usize];
                    path.push(v);
                }
                path.reverse();
                paths[i] = path;
            }
            table.enrol(i as u32, &paths[i]);
        }
        // Meetings among all the paths now (each agent planned around those before it).
        let mut total = 0u64;
        for (i, p) in paths.iter().enumerate() {
            table.remove(p);
            total += p
                .windows(2)
                .enumerate()
                .map(|(t, w)| table.cost(w[0], w[1], t as u32, &paths) as u64)
                .sum::<u64>();
            table.enrol(i as u32, p);
        }
        if total >= best.1 {
            break;
        }
        best = (paths.clone(), total);
        if total == 0 || paths.iter().any(Vec::is_empty) {
            break;
        }
    }
    let (paths, crossings) = best;
    let next = paths
        .iter()
        .map(|p| {
            let mut steps: Vec<(u32, u32)> = p.windows(2).map(|w| (w[0], w[1])).collect();
            steps.sort_unstable();
            steps
        })
        .collect();
    Scatter { next, crossings }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_agents_on_an_open_floor_take_different_rows() {
        // Both cross a 3-row floor left to right along the middle row by the shortest way;
        // scattered, one keeps a straight row and the other another row (or they never meet
        // in time), with no extra length beyond the margin.
        let text = "type octile\nheight 3\nwidth 6\nmap\n......\n......\n......\n";
        let map = GridMap::parse(text).unwrap();
        let starts = [map.cell(0, 1), map.cell(0, 0)];
        let goals = [map.cell(5, 1), map.cell(5, 2)];
        let dist: Vec<Vec<u32>> = goals.iter().map(|&g| map.distances_to(g)).collect();
        let s = scatter(&map, &starts, &goals, &dist, (1, 8), &mut || false);
        assert_eq!(s.crossings, 0);
        // Every agent's path runs from its start to its goal by neighbouring cells.
        for i in 0..2 {
            let mut v = starts[i];
            let mut steps = 0;
            while v != goals[i] {
                let u = s.next(i, v).expect("the path goes on");
                assert!(map.neighbours(v).contains(&u));
                v = u;
                steps += 1;
            }
            assert!(steps <= dist[i][starts[i] as usize] + MARGIN);
        }
    }

    #[test]
    fn a_head_on_pair_in_a_wide_corridor_passes_side_by_side() {
        // Two agents meet head-on on row 0 of a two-row corridor: by the shortest way they
        // would swap or collide; scattered, one of them uses row 1.
        let text = "type octile\nheight 2\nwidth 5\nmap\n.....\n.....\n";
        let map = GridMap::parse(text).unwrap();
        let starts = [map.cell(0, 0), map.cell(4, 0)];
        let goals = [map.cell(4, 0), map.cell(0, 0)];
        let dist: Vec<Vec<u32>> = goals.iter().map(|&g| map.distances_to(g)).collect();
        let s = scatter(&map, &starts, &goals, &dist, (3, 8), &mut || false);
        assert_eq!(s.crossings, 0);
        let rows_used = |i: usize| {
            let mut v = starts[i];
            let mut rows = vec![map.xy(v).1];
            while v != goals[i] {
                v = s.next(i, v).unwrap();
                rows.push(map.xy(v).1);
            }
            rows
        };
        assert!(rows_used(0).contains(&1) || rows_used(1).contains(&1));
    }
}
