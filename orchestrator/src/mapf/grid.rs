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

    /// A map from its free cells, row by row.
    pub fn from_cells(width: usize, height: usize, free: Vec<bool>) -> GridMap {
        let mut adjacent = Vec::new();
        let mut first = Vec::with_capacity(width * height + 1);
        for y in 0..height {
            for x in 0..width {
                let v = y * width + x;
                first.push(adjacent.len() as u32);
                if !free[v] {
                    continue;
                }
                let mut add = |nx: usize, ny: usize| {
                    let u = ny * width + nx;
                    if free[u] {
                        adjacent.push(u as u32);
                    }
                };
                if y > 0 {
                    add(x, y - 1);
                }
                if x > 0 {
                    add(x - 1, y);
                }
                if x + 1 < width {
                    add(x + 1, y);
                }
                if y + 1 < height {
                    add(x, y + 1);
                }
            }
        }
        first.push(adjacent.len() as u32);
        GridMap {
            width,
            height,
            free,
            adjacent,
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

    /// Moves from every cell to `goal` (breadth-first); `u32::MAX` where unreachable.
    pub fn distances_to(&self, goal: u32) -> Vec<u32> {
        let mut dist = vec![u32::MAX; self.cells()];
        // Every cell enters the queue at most once: a plain array with a read index.
        let mut queue = Vec::with_capacity(self.cells());
        queue.push(goal);
        dist[goal as usize] = 0;
        let mut head = 0;
        while let Some(&v) = queue.get(head) {
            head += 1;
            let next = dist[v as usize] + 1;
            for &u in self.neighbours(v) {
                if dist[u as usize] == u32::MAX {
                    dist[u as usize] = next;
                    queue.push(u);
                }
            }
        }
        dist
    }

    /// [`Self::distances_to`] for each of `goals`, spread over the machine's cores (the
    /// tables do not depend on how the work is split).
    pub fn distance_tables(&self, goals: &[u32]) -> Vec<Vec<u32>> {
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
                .flat_map(|p| -> Vec<Vec<u32>> { p.join().expect("a distance table panicked") })
                .collect()
        })
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
