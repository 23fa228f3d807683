//! Grid maps in the MovingAI `.map` format and scenario files in the `.scen` format.

/// Why a map or scenario could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GridError {
    /// The map text is not a MovingAI map; `line` is 1-based.
    #[error("line {line}: {reason}")]
    Map { line: usize, reason: String },
    /// A scenario row is malformed or names a blocked or outside cell; `line` is 1-based.
    #[error("line {line}: {reason}")]
    Scenario { line: usize, reason: String },
}

/// Most cells a map may have: distances must fit in 28 bits of a [`DistanceTable`] entry.
pub const MAX_CELLS: usize = (1 << 28) - 1;

/// A 4-connected grid: cells are `y * width + x`, `.` `G` `S` free, anything else blocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridMap {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    free: Vec<bool>,
    /// Free neighbours of all cells (4-connected), in the order up, left, right, down;
    /// cell `c`'s are `adjacent[first[c]..first[c + 1]]` (one flat array: fast to scan).
    adjacent: Vec<u32>,
    /// Direction of each entry of `adjacent` seen from its cell: 0 up, 1 left, 2 right,
    /// 3 down.
    directions: Vec<u8>,
    /// Per cell, bit `k` when direction `k` leads to a free cell (the same neighbours as
    /// `adjacent`, in the form the breadth-first search walks fastest).
    open: Vec<u8>,
    first: Vec<u32>,
}

impl GridMap {
    /// Parses MovingAI map text (`type`, `height H`, `width W`, `map`, then H rows).
    pub fn parse(text: &str) -> Result<GridMap, GridError> {
        let mut lines = text.lines().map(|l| l.trim_end_matches('\r')).enumerate();
        let (mut width, mut height) = (None, None);
        for (n, line) in lines.by_ref() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("type") => {}
                Some("height") => height = words.next().and_then(|w| w.parse::<usize>().ok()),
                Some("width") => width = words.next().and_then(|w| w.parse::<usize>().ok()),
                Some("map") => break,
                _ => {
                    return Err(GridError::Map {
                        line: n + 1,
                        reason: format!("unexpected header line `{line}`"),
                    });
                }
            }
        }
        let (Some(width), Some(height)) = (width, height) else {
            return Err(GridError::Map {
                line: 1,
                reason: "the header needs `height H` and `width W`".into(),
            });
        };
        if width.saturating_mul(height) > MAX_CELLS {
            return Err(GridError::Map {
                line: 1,
                reason: format!("{width} × {height} cells is more than the {MAX_CELLS} supported"),
            });
        }
        let mut free = Vec::with_capacity(width * height);
        for y in 0..height {
            let Some((n, row)) = lines.next() else {
                return Err(GridError::Map {
                    line: 5 + y,
                    reason: format!("the map has {y} rows, the header says {height}"),
                });
            };
            if row.chars().count() != width {
                return Err(GridError::Map {
                    line: n + 1,
                    reason: format!(
                        "row has {} cells, the header says {width}",
                        row.chars().count()
                    ),
                });
            }
            free.extend(row.chars().map(|c| matches!(c, '.' | 'G' | 'S')));
        }
        Ok(GridMap::from_cells(width, height, free))
    }

    /// A map from its free cells, row by row (at most [`MAX_CELLS`]).
    pub fn from_cells(width: usize, height: usize, free: Vec<bool>) -> GridMap {
        let mut adjacent = Vec::new();
        let mut directions = Vec::new();
        let mut first = Vec::with_capacity(width * height + 1);
        for y in 0..height {
            for x in 0..width {
                let v = y * width + x;
                first.push(adjacent.len() as u32);
                if !free[v] {
                    continue;
                }
                let mut add = |nx: usize, ny: usize, direction: u8| {
                    let u = ny * width + nx;
                    if free[u] {
                        adjacent.push(u as u32);
                        directions.push(direction);
                    }
                };
                if y > 0 {
                    add(x, y - 1, 0);
                }
                if x > 0 {
                    add(x - 1, y, 1);
                }
                if x + 1 < width {
                    add(x + 1, y, 2);
                }
                if y + 1 < height {
                    add(x, y + 1, 3);
                }
            }
        }
        first.push(adjacent.len() as u32);
        let mut open = vec![0u8; width * height];
        for (c, bits) in open.iter_mut().enumerate() {
            let (a, b) = (first[c] as usize, first[c + 1] as usize);
            *bits = directions[a..b].iter().fold(0, |m, &d| m | 1 << d);
        }
        GridMap {
            width,
            height,
            free,
            adjacent,
            directions,
            open,
            first,
        }
    }

    /// Whether the cell at column `x`, row `y` exists and is free.
    pub fn is_free(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.height && self.free[y * self.width + x]
    }

    /// The cell of column `x`, row `y`.
    pub fn cell(&self, x: usize, y: usize) -> u32 {
        (y * self.width + x) as u32
    }

    /// Column and row of `cell`.
    pub fn xy(&self, cell: u32) -> (usize, usize) {
        (cell as usize % self.width, cell as usize / self.width)
    }

    /// Free 4-connected neighbours of `cell`.
    pub fn neighbours(&self, cell: u32) -> &[u32] {
        let c = cell as usize;
        &self.adjacent[self.first[c] as usize..self.first[c + 1] as usize]
    }

    /// Number of cells (free or not).
    pub fn cells(&self) -> usize {
        self.free.len()
    }

    /// The directions of [`Self::neighbours`] seen from `cell`, in the same order: 0 up,
    /// 1 left, 2 right, 3 down.
    #[inline]
    pub fn neighbour_directions(&self, cell: u32) -> &[u8] {
        let c = cell as usize;
        &self.directions[self.first[c] as usize..self.first[c + 1] as usize]
    }

    /// Moves from every cell to `goal` (breadth-first), with the neighbours one move nearer.
    pub fn distances_to(&self, goal: u32) -> DistanceTable {
        let mut packed = vec![UNREACHABLE; self.cells()];
        // Every cell enters the queue at most once: a plain array with a read index.
        let mut queue = Vec::with_capacity(self.cells());
        queue.push(goal);
        packed[goal as usize] = 0;
        let w = self.width;
        let mut head = 0;
        while let Some(&v) = queue.get(head) {
            head += 1;
            let v = v as usize;
            let next = (packed[v] | NEARER) + 1;
            let open = self.open[v];
            // The four directions unrolled, by cell arithmetic rather than the adjacency
            // lists: one read fewer on the chain from cell to neighbour.
            let mut visit = |u: usize, back: u32| {
                let p = &mut packed[u];
                if *p == UNREACHABLE {
                    *p = next | back;
                    queue.push(u as u32);
                } else if *p & !NEARER == next {
                    // v is one move nearer than u: mark it among u's directions.
                    *p |= back;
                }
            };
            if open & 1 != 0 {
                visit(v - w, 1 << 3);
            }
            if open & 2 != 0 {
                visit(v - 1, 1 << 2);
            }
            if open & 4 != 0 {
                visit(v + 1, 1 << 1);
            }
            if open & 8 != 0 {
                visit(v + w, 1);
            }
        }
        DistanceTable { packed }
    }

    /// [`Self::distances_to`] for each of `goals`, spread over the machine's cores (the
    /// tables do not depend on how the work is split).
    pub fn distance_tables(&self, goals: &[u32]) -> Vec<DistanceTable> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = goals.len().div_ceil(threads.max(1)).max(64);
        std::thread::scope(|scope| {
            let parts: Vec<_> = goals
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || part.iter().map(|&g| self.distances_to(g)).collect())
                })
                .collect();
            parts
                .into_iter()
                .flat_map(|p| -> Vec<DistanceTable> {
                    p.join().expect("a distance table panicked")
                })
                .collect()
        })
    }
}

/// Low bits of a [`DistanceTable`] entry: the directions one move nearer.
const NEARER: u32 = 0xF;
/// A [`DistanceTable`] entry for a cell the goal cannot be reached from.
const UNREACHABLE: u32 = u32::MAX;

/// Moves from every cell of a [`GridMap`] to one goal, and which neighbours of each cell
/// lie one move nearer. On a 4-connected grid every neighbour is one move nearer or one
/// farther, so a cell's entry alone gives its neighbours' distances too: planners read one
/// word per agent and step where they would otherwise read five scattered ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistanceTable {
    /// Per cell: `distance << 4`, plus bit `k` when direction `k` (see
    /// [`GridMap::neighbour_directions`]) is one move nearer; [`UNREACHABLE`] where
    /// unreachable.
    packed: Vec<u32>,
}

impl DistanceTable {
    /// Moves from `cell` to the goal; `u32::MAX` where unreachable.
    #[inline]
    pub fn get(&self, cell: u32) -> u32 {
        let p = self.packed[cell as usize];
        if p == UNREACHABLE { u32::MAX } else { p >> 4 }
    }

    /// Moves from `cell` to the goal and the directions one move nearer (bit `k` for
    /// direction `k`); `(u32::MAX, 0)` where unreachable.
    #[inline]
    pub fn entry(&self, cell: u32) -> (u32, u32) {
        let p = self.packed[cell as usize];
        if p == UNREACHABLE {
            (u32::MAX, 0)
        } else {
            (p >> 4, p & NEARER)
        }
    }

    /// Moves to the goal from `to`, a neighbour of `from` whose [`Self::entry`] is
    /// `(d, nearer)` and which lies in direction `dir` from it.
    #[inline]
    pub fn step(d: u32, nearer: u32, dir: u32) -> u32 {
        if nearer >> dir & 1 == 1 { d - 1 } else { d + 1 }
    }
}

/// Start and goal cells of the first `n` agents of a MovingAI `.scen` text
/// (`bucket map width height start_x start_y goal_x goal_y optimal_length`).
pub fn parse_scenario(text: &str, map: &GridMap, n: usize) -> Result<Vec<(u32, u32)>, GridError> {
    let mut agents = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("version") || line.trim().is_empty() {
            continue;
        }
        if agents.len() == n {
            break;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let bad = |reason: String| GridError::Scenario {
            line: i + 1,
            reason,
        };
        if cols.len() < 8 {
            return Err(bad(format!(
                "expected 9 tab-separated columns, found {}",
                cols.len()
            )));
        }
        let num = |k: usize| {
            cols[k].trim().parse::<usize>().map_err(|_| {
                bad(format!(
                    "column {} (`{}`) is not a whole number",
                    k + 1,
                    cols[k]
                ))
            })
        };
        let (sx, sy, gx, gy) = (num(4)?, num(5)?, num(6)?, num(7)?);
        for (what, x, y) in [("start", sx, sy), ("goal", gx, gy)] {
            if !map.is_free(x, y) {
                return Err(bad(format!(
                    "{what} ({x},{y}) is outside the map or blocked"
                )));
            }
        }
        agents.push((map.cell(sx, sy), map.cell(gx, gy)));
    }
    if agents.len() < n {
        return Err(GridError::Scenario {
            line: 0,
            reason: format!(
                "the scenario has {} agents, {n} were asked for",
                agents.len()
            ),
        });
    }
    Ok(agents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    /// Distances by a plain breadth-first search over cell coordinates, independent of the
    /// adjacency lists, direction bits and packing under test.
    fn reference(width: usize, free: &[bool], goal: usize) -> Vec<u32> {
        let height = free.len() / width;
        let mut dist = vec![u32::MAX; free.len()];
        dist[goal] = 0;
        let mut queue = VecDeque::from([goal]);
        while let Some(v) = queue.pop_front() {
            let (x, y) = (v % width, v / width);
            let around = [
                (y > 0).then(|| v - width),
                (x > 0).then(|| v - 1),
                (x + 1 < width).then(|| v + 1),
                (y + 1 < height).then(|| v + width),
            ];
            for u in around.into_iter().flatten() {
                if free[u] && dist[u] == u32::MAX {
                    dist[u] = dist[v] + 1;
                    queue.push_back(u);
                }
            }
        }
        dist
    }

    proptest! {
        #[test]
        fn distance_tables_agree_with_a_plain_search_and_their_bits_with_the_neighbours(
            width in 1usize..12,
            cells in proptest::collection::vec(any::<u8>(), 1..120),
            goal_pick in any::<usize>(),
        ) {
            // About one cell in four blocked; the goal is some free cell.
            let free: Vec<bool> = cells.iter().map(|&b| b % 4 != 0).collect();
            let height = free.len() / width;
            prop_assume!(height > 0);
            let free = free[..width * height].to_vec();
            let free_cells: Vec<usize> = (0..free.len()).filter(|&c| free[c]).collect();
            prop_assume!(!free_cells.is_empty());
            let goal = free_cells[goal_pick % free_cells.len()];
            let map = GridMap::from_cells(width, height, free.clone());
            let table = map.distances_to(goal as u32);
            let expected = reference(width, &free, goal);
            for v in 0..free.len() {
                prop_assert_eq!(table.get(v as u32), expected[v], "cell {}", v);
                let (d, nearer) = table.entry(v as u32);
                prop_assert_eq!(d, expected[v]);
                if d == u32::MAX {
                    prop_assert_eq!(nearer, 0);
                    continue;
                }
                let (x, y) = map.xy(v as u32);
                let ways = map.neighbours(v as u32).iter().zip(map.neighbour_directions(v as u32));
                for (&u, &dir) in ways {
                    // The direction names where the neighbour lies.
                    let (ux, uy) = map.xy(u);
                    let seen = match (ux as i64 - x as i64, uy as i64 - y as i64) {
                        (0, -1) => 0,
                        (-1, 0) => 1,
                        (1, 0) => 2,
                        (0, 1) => 3,
                        other => panic!("{other:?} is not a neighbour"),
                    };
                    prop_assert_eq!(dir, seen);
                    // Its bit says whether it is one move nearer, and the step gives its
                    // distance.
                    prop_assert_eq!(nearer >> dir & 1 == 1, expected[u as usize] + 1 == d);
                    prop_assert_eq!(DistanceTable::step(d, nearer, dir as u32), expected[u as usize]);
                }
            }
        }
    }

    #[test]
    fn maps_beyond_the_distance_range_are_refused() {
        let text = format!("type octile\nheight {}\nwidth 2\nmap\n", MAX_CELLS);
        let err = GridMap::parse(&text).unwrap_err();
        assert!(err.to_string().contains("supported"), "{err}");
    }
}
