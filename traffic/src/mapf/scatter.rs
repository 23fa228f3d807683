//! Space utilisation optimisation ("scatter", Okumura 2024, lacam3): before the search,
//! each agent gets a path of near-shortest length that crosses the others' paths as little
//! as possible. PIBT then prefers the next cell of that path when the agent stands on it,
//! which spreads agents over the map instead of piling them onto the same shortest routes,
//! and so shortens the first solution on dense instances.

use super::grid::{DistanceTable, GridMap};
use crate::pibt::NONE;

/// Steps beyond its shortest route an agent's path may take.
pub const MARGIN: u32 = 10;

/// Steps of detour one meeting with another path weighs (the search minimises length plus
/// this many steps per meeting: weighing meetings above all explores far more cells for
/// paths no better in the end).
pub const MEETING_WEIGHT: u32 = 4;

/// Where each agent's scattered path goes next from each of its cells.
#[derive(Clone, Debug, Default)]
pub struct Scatter {
    /// Per agent: its path, start to goal (no cell twice: each is planned with a closed set).
    paths: Vec<Vec<u32>>,
    /// Per agent: (cell, next cell) along its path, sorted by cell.
    next: Vec<Vec<(u32, u32)>>,
    /// Per agent: where along its path it was last found. Agents mostly step along their
    /// paths, so looking there first saves a binary search per agent and step.
    cursor: Vec<u32>,
    /// Crossings (vertex and swap meetings) left among the paths, summed over agents.
    pub crossings: u64,
}

impl Scatter {
    /// The next cell on agent `i`'s path from `cell`, if the path passes there.
    pub fn next(&mut self, i: usize, cell: u32) -> Option<u32> {
        let path = self.paths.get(i)?;
        let c = self.cursor[i] as usize;
        for k in [c, c + 1] {
            if path.get(k) == Some(&cell) {
                self.cursor[i] = k as u32;
                return path.get(k + 1).copied();
            }
        }
        let steps = &self.next[i];
        steps
            .binary_search_by_key(&cell, |&(c, _)| c)
            .ok()
            .map(|k| steps[k].1)
    }
}

/// Who is where when, along the paths planned so far (dense over cells × steps).
struct Crossings {
    /// Time steps kept per cell.
    steps: usize,
    /// Agents at (cell, time), index `cell * steps + time`: cell by cell, since a search
    /// asks about one cell at neighbouring times, which then share a cache line.
    count: Vec<u16>,
    /// One of them (enough to spot most head-on meetings).
    who: Vec<u32>,
    /// When the agent whose goal a cell is arrives there for good (`u32::MAX`: not yet).
    parked_from: Vec<u32>,
}

impl Crossings {
    fn enrol(&mut self, i: u32, path: &[u32]) {
        for (t, &c) in path.iter().enumerate() {
            let k = c as usize * self.steps + t;
            self.count[k] += 1;
            self.who[k] = i;
        }
        if let Some(&g) = path.last() {
            self.parked_from[g as usize] = path.len() as u32 - 1;
        }
    }

    fn remove(&mut self, path: &[u32]) {
        for (t, &c) in path.iter().enumerate() {
            self.count[c as usize * self.steps + t] -= 1;
        }
        if let Some(&g) = path.last() {
            self.parked_from[g as usize] = u32::MAX;
        }
    }

    /// Meetings caused by moving `v → u` between `t` and `t + 1`; `paths` tell where
    /// others go next.
    fn cost(&self, v: u32, u: u32, t: u32, paths: &[Vec<u32>]) -> u32 {
        let k = u as usize * self.steps + t as usize;
        let mut n = self.count[k + 1] as u32;
        if t + 1 >= self.parked_from[u as usize] {
            n += 1;
        }
        // Someone coming the other way along the same edge.
        if self.count[k] > 0 && paths[self.who[k] as usize].get(t as usize + 1) == Some(&v) {
            n += 1;
        }
        n
    }
}

/// A node of one agent's path search.
#[derive(Clone, Copy)]
struct Node {
    cell: u32,
    /// Steps from the start.
    g: u32,
    /// Steps still to go (shortest).
    to_go: u32,
    /// Meetings with other paths so far.
    meetings: u32,
    parent: u32,
}

/// The open list of one path search, a bucket queue: nodes by length plus weighed
/// meetings, then by fewer meetings, and the last pushed first among equals (which keeps
/// the search running on ahead, towards the goal, on open floor). Along any path keys never
/// fall (the distances are consistent), so one sweep over the buckets serves a whole search.
#[derive(Default)]
struct Frontier {
    buckets: Vec<Vec<Node>>,
    /// The lowest bucket that may hold nodes.
    at: usize,
    /// One past the highest bucket used.
    top: usize,
}

impl Frontier {
    /// The key of a node `extra` steps longer than the shortest route, after `meetings`:
    /// ordered by `extra + MEETING_WEIGHT * meetings`, then by fewer meetings, which for
    /// equal sums is more extra length (at most [`MARGIN`]).
    fn key(extra: u32, meetings: u32) -> usize {
        let f = (extra + MEETING_WEIGHT * meetings) as usize;
        f * (MARGIN as usize + 1) + (MARGIN - extra) as usize
    }

    fn push(&mut self, key: usize, node: Node) {
        if key >= self.buckets.len() {
            self.buckets.resize_with(key + 1, Vec::new);
        }
        self.buckets[key].push(node);
        self.top = self.top.max(key + 1);
        self.at = self.at.min(key);
    }

    fn pop(&mut self) -> Option<Node> {
        while self.at < self.top {
            if let Some(node) = self.buckets[self.at].pop() {
                return Some(node);
            }
            self.at += 1;
        }
        None
    }

    fn clear(&mut self) {
        for b in &mut self.buckets[..self.top] {
            b.clear();
        }
        self.at = 0;
        self.top = 0;
    }
}

/// Plans the scattered paths: every agent in turn, in up to `rounds` rounds (random
/// order each), while the meetings among all paths keep falling. `stop` is asked between
/// agents; when it says so, the best paths so far are kept.
pub fn scatter(
    map: &GridMap,
    starts: &[u32],
    goals: &[u32],
    distances: &[DistanceTable],
    (seed, rounds): (u64, usize),
    stop: &mut dyn FnMut() -> bool,
) -> Scatter {
    let n = starts.len();
    let cells = map.cells();
    let steps = (0..n)
        .map(|i| distances[i].get(starts[i]).saturating_add(MARGIN) as usize + 1)
        .max()
        .unwrap_or(1);
    let mut table = Crossings {
        steps,
        count: vec![0; cells * steps],
        who: vec![NONE; cells * steps],
        parked_from: vec![u32::MAX; cells],
    };
    let mut paths: Vec<Vec<u32>> = vec![Vec::new(); n];
    // Dense search state, reset by stamps.
    let mut parent = vec![0u32; cells];
    let mut closed = vec![0u32; cells];
    let mut stamp = 0u32;
    let mut frontier = Frontier::default();
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
            let ds = d.get(s);
            let bound = ds.saturating_add(MARGIN);
            frontier.clear();
            frontier.push(
                0,
                Node {
                    cell: s,
                    g: 0,
                    to_go: ds,
                    meetings: 0,
                    parent: s,
                },
            );
            let mut found = false;
            while let Some(Node {
                cell: v,
                g: gv,
                to_go: dv,
                meetings: m,
                parent: p,
            }) = frontier.pop()
            {
                if closed[v as usize] == stamp {
                    continue;
                }
                closed[v as usize] = stamp;
                parent[v as usize] = p;
                if v == g {
                    found = true;
                    break;
                }
                let (_, nearer) = d.entry(v);
                for (&u, &dir) in map.neighbours(v).iter().zip(map.neighbour_directions(v)) {
                    let du = DistanceTable::step(dv, nearer, dir as u32);
                    if u != s && closed[u as usize] != stamp && gv + 1 + du <= bound {
                        let mu = m + table.cost(v, u, gv, &paths);
                        let extra = gv + 1 + du - ds;
                        frontier.push(
                            Frontier::key(extra, mu),
                            Node {
                                cell: u,
                                g: gv + 1,
                                to_go: du,
                                meetings: mu,
                                parent: v,
                            },
                        );
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
    Scatter {
        cursor: vec![0; paths.len()],
        paths,
        next,
        crossings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frontier_orders_by_weighed_length_then_fewer_meetings_then_newest() {
        let node = |cell| Node {
            cell,
            g: 0,
            to_go: 0,
            meetings: 0,
            parent: 0,
        };
        // (extra steps, meetings) → weighed length extra + 4 × meetings:
        // (2, 0) → 2; (0, 1) → 4; (4, 0) → 4; (1, 0) → 1; (8, 0) → 8; (4, 1) → 8.
        let pushed = [(2, 0), (0, 1), (4, 0), (1, 0), (8, 0), (4, 1), (1, 0)];
        let mut f = Frontier::default();
        for (cell, &(extra, meetings)) in pushed.iter().enumerate() {
            f.push(Frontier::key(extra, meetings), node(cell as u32));
        }
        let order: Vec<u32> = std::iter::from_fn(|| f.pop().map(|n| n.cell)).collect();
        // 1 (the later of the two first), 2, then at 4 the one with no meeting, at 8 too.
        assert_eq!(order, [6, 3, 0, 2, 1, 4, 5]);
        // Cleared, it starts again from the lowest key.
        f.push(Frontier::key(3, 0), node(9));
        f.clear();
        f.push(Frontier::key(0, 0), node(7));
        assert_eq!(f.pop().map(|n| n.cell), Some(7));
        assert!(f.pop().is_none());
    }

    #[test]
    fn two_agents_on_an_open_floor_take_different_rows() {
        // Both cross a 3-row floor left to right along the middle row by the shortest way;
        // scattered, one keeps a straight row and the other another row (or they never meet
        // in time), with no extra length beyond the margin.
        let text = "type octile\nheight 3\nwidth 6\nmap\n......\n......\n......\n";
        let map = GridMap::parse(text).unwrap();
        let starts = [map.cell(0, 1), map.cell(0, 0)];
        let goals = [map.cell(5, 1), map.cell(5, 2)];
        let dist: Vec<DistanceTable> = goals.iter().map(|&g| map.distances_to(g)).collect();
        let mut s = scatter(&map, &starts, &goals, &dist, (1, 8), &mut || false);
        assert_eq!(s.crossings, 0);
        // Every agent's path runs from its start to its goal by neighbouring cells.
        for i in 0..2 {
            let mut v = starts[i];
            let mut path = vec![v];
            while v != goals[i] {
                let u = s.next(i, v).expect("the path goes on");
                assert!(map.neighbours(v).contains(&u));
                v = u;
                path.push(v);
            }
            assert!(path.len() as u32 - 1 <= dist[i].get(starts[i]) + MARGIN);
            // Asked out of order (backwards, as a search backing up does), the answers
            // are the same; off the path there is none, at the goal neither.
            for w in path.windows(2).rev() {
                assert_eq!(s.next(i, w[0]), Some(w[1]));
            }
            assert_eq!(s.next(i, goals[i]), None);
            let off = (0..map.cells() as u32).find(|c| !path.contains(c)).unwrap();
            assert_eq!(s.next(i, off), None);
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
        let dist: Vec<DistanceTable> = goals.iter().map(|&g| map.distances_to(g)).collect();
        let mut s = scatter(&map, &starts, &goals, &dist, (3, 8), &mut || false);
        assert_eq!(s.crossings, 0);
        let mut rows_used = |i: usize| {
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
