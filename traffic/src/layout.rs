//! The plant floor as a graph of spots where a vehicle can stand, joined by lane segments
//! it can drive in one planning step.
//!
//! A layout comes from a grid (a MovingAI map, each cell a square of `cell` metres) or from
//! explicit waypoints (x, y in metres) joined by one-way or two-way lanes; a lane longer than
//! a cell is cut into segments of about a cell, so every edge of the graph is one step of
//! travel. Places with a meaning (line-side points, outfeeds, racks, docks, chargers,
//! parking) are named spots.

use crate::costs::{HIGHWAY_QUEUES, NO_STATE, highway_step, least_costs};
use crate::mapf::GridMap;
use nalgebra::Point2;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Why a layout could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// A name is used twice.
    #[error("`{0}` is named twice")]
    DuplicateName(String),
    /// A lane names a waypoint that does not exist.
    #[error("no waypoint is named `{0}`")]
    UnknownWaypoint(String),
    /// A lane joins a waypoint to itself or has no length.
    #[error("lane {0} → {1} has no length")]
    EmptyLane(String, String),
    /// A grid position is outside the map or blocked.
    #[error("cell ({0}, {1}) is outside the map or blocked")]
    BlockedCell(usize, usize),
    /// A cell size or coordinate is not a finite positive number.
    #[error("{0}")]
    Geometry(String),
}

/// A spot of the layout: where a vehicle stands between steps.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Spot {
    /// Position on the floor, metres.
    pub position: Point2<f64>,
}

/// A lane segment: the least travel between two spots.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    /// Length, metres.
    pub length: f64,
    /// Speed limit, metres per second (`None`: the vehicle's own speed).
    pub speed_limit: Option<f64>,
}

/// A waypoint of an explicit layout.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Waypoint {
    /// Unique name.
    pub name: String,
    /// Position, metres.
    pub x: f64,
    /// Position, metres.
    pub y: f64,
}

/// A lane of an explicit layout.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Lane {
    /// Waypoint it starts at.
    pub from: String,
    /// Waypoint it ends at.
    pub to: String,
    /// Whether vehicles may drive it both ways.
    pub two_way: bool,
    /// Speed limit, metres per second.
    pub speed_limit: Option<f64>,
}

/// The plant floor: spots, segments and named locations.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "SavedLayout")]
pub struct Layout {
    graph: DiGraph<Spot, Segment, u32>,
    /// Out-neighbours of each spot, in insertion order (the planner's hot path).
    out: Vec<Vec<u32>>,
    names: BTreeMap<String, u32>,
    /// Nominal segment length, metres.
    cell: f64,
    /// Grid layouts: columns and the spot of each cell (`u32::MAX` where blocked).
    grid: Option<(usize, Vec<u32>)>,
    /// In-neighbours of every spot in one array (distance tables search against the
    /// lanes): those of spot `s` are `into[into_at[s]..into_at[s + 1]]`. Derived from
    /// the graph, so not saved.
    #[serde(skip_serializing)]
    into_at: Vec<u32>,
    #[serde(skip_serializing)]
    into: Vec<u32>,
}

/// A layout as saved: what [`Layout`] derives the rest from.
#[derive(serde::Deserialize)]
struct SavedLayout {
    graph: DiGraph<Spot, Segment, u32>,
    out: Vec<Vec<u32>>,
    names: BTreeMap<String, u32>,
    cell: f64,
    grid: Option<(usize, Vec<u32>)>,
}

impl TryFrom<SavedLayout> for Layout {
    type Error = String;

    /// Takes a saved layout whose parts agree (what a damaged file may not): its spots'
    /// neighbours are the graph's, and named spots and grid cells are spots.
    fn try_from(s: SavedLayout) -> Result<Layout, String> {
        let built = Layout::of_graph(s.graph, s.cell);
        if built.out != s.out {
            return Err("a layout's neighbours do not match its segments".into());
        }
        let spots = built.spots() as u32;
        if s.names.values().any(|&spot| spot >= spots) {
            return Err("a layout names a spot it does not have".into());
        }
        if let Some((width, cells)) = &s.grid
            && (*width == 0
                || cells.len() % width != 0
                || cells.iter().any(|&c| c != u32::MAX && c >= spots))
        {
            return Err("a layout's grid does not fit its spots".into());
        }
        Ok(Layout {
            names: s.names,
            grid: s.grid,
            ..built
        })
    }
}

/// The in-neighbours of every spot of a floor whose out-neighbours are `out`, as
/// (start of each spot's run, the runs).
fn in_neighbours(out: &[Vec<u32>]) -> (Vec<u32>, Vec<u32>) {
    let mut at = vec![0u32; out.len() + 1];
    for targets in out {
        for &t in targets {
            at[t as usize + 1] += 1;
        }
    }
    for k in 1..at.len() {
        at[k] += at[k - 1];
    }
    let mut fill = at.clone();
    let mut into = vec![0u32; at[out.len()] as usize];
    for (s, targets) in out.iter().enumerate() {
        for &t in targets {
            into[fill[t as usize] as usize] = s as u32;
            fill[t as usize] += 1;
        }
    }
    (at, into)
}

/// Spots a lane layout may have (waypoints and the cells lanes are cut into): a floor
/// far larger than any plant's, refused before it is built.
pub const MAX_LANE_SPOTS: usize = 4_000_000;

impl Layout {
    /// A layout with a spot on every free cell of `map`, joined to its 4 neighbours both
    /// ways; `cell` is the side of a cell, metres. Cell (x, y) stands at
    /// ((x + 0.5)·cell, (y + 0.5)·cell).
    pub fn from_grid(map: &GridMap, cell: f64) -> Result<Layout, LayoutError> {
        check_positive("cell size", cell)?;
        let mut graph = DiGraph::default();
        let mut spot_of = vec![u32::MAX; map.cells()];
        for y in 0..map.height {
            for x in 0..map.width {
                if map.is_free(x, y) {
                    let p = Point2::new((x as f64 + 0.5) * cell, (y as f64 + 0.5) * cell);
                    spot_of[map.cell(x, y) as usize] =
                        graph.add_node(Spot { position: p }).index() as u32;
                }
            }
        }
        for c in 0..map.cells() as u32 {
            let from = spot_of[c as usize];
            if from == u32::MAX {
                continue;
            }
            for &n in map.neighbours(c) {
                graph.add_edge(
                    NodeIndex::new(from as usize),
                    NodeIndex::new(spot_of[n as usize] as usize),
                    Segment {
                        length: cell,
                        speed_limit: None,
                    },
                );
            }
        }
        let mut layout = Layout::of_graph(graph, cell);
        layout.grid = Some((map.width, spot_of));
        Ok(layout)
    }

    /// A layout from waypoints and lanes; lanes are cut into segments of about `cell`
    /// metres (at least one). Each waypoint becomes a named spot.
    pub fn from_lanes(
        waypoints: &[Waypoint],
        lanes: &[Lane],
        cell: f64,
    ) -> Result<Layout, LayoutError> {
        check_positive("cell size", cell)?;
        let mut graph = DiGraph::default();
        let mut names = BTreeMap::new();
        for w in waypoints {
            if !(w.x.is_finite() && w.y.is_finite()) {
                return Err(LayoutError::Geometry(format!(
                    "waypoint `{}` has a coordinate that is not a number",
                    w.name
                )));
            }
            let id = graph.add_node(Spot {
                position: Point2::new(w.x, w.y),
            });
            if names.insert(w.name.clone(), id.index() as u32).is_some() {
                return Err(LayoutError::DuplicateName(w.name.clone()));
            }
        }
        let find = |n: &str| {
            names
                .get(n)
                .map(|&i| NodeIndex::new(i as usize))
                .ok_or_else(|| LayoutError::UnknownWaypoint(n.to_string()))
        };
        for lane in lanes {
            let (a, b) = (find(&lane.from)?, find(&lane.to)?);
            let (pa, pb) = (graph[a].position, graph[b].position);
            let length = (pb - pa).norm();
            if a == b || length <= 0.0 {
                return Err(LayoutError::EmptyLane(lane.from.clone(), lane.to.clone()));
            }
            let cells = (length / cell).round().max(1.0);
            if cells.is_nan() || cells > MAX_LANE_SPOTS.saturating_sub(graph.node_count()) as f64 {
                return Err(LayoutError::Geometry(format!(
                    "lane {} → {} ({length:.3e} m) would cut the floor into more than {MAX_LANE_SPOTS} cells of {cell} m: check the waypoints' coordinates and the cell size",
                    lane.from, lane.to
                )));
            }
            let n = cells as usize;
            let mut chain = vec![a];
            for k in 1..n {
                let p = pa + (pb - pa) * (k as f64 / n as f64);
                chain.push(graph.add_node(Spot { position: p }));
            }
            chain.push(b);
            if let Some(v) = lane.speed_limit
                && !(v.is_finite() && v > 0.0)
            {
                return Err(LayoutError::Geometry(format!(
                    "lane {} → {}: the speed limit must be a positive number of m/s, not {v}",
                    lane.from, lane.to
                )));
            }
            let segment = Segment {
                length: length / n as f64,
                speed_limit: lane.speed_limit,
            };
            for w in chain.windows(2) {
                graph.add_edge(w[0], w[1], segment.clone());
                if lane.two_way {
                    graph.add_edge(w[1], w[0], segment.clone());
                }
            }
        }
        let mut layout = Layout::of_graph(graph, cell);
        layout.names = names;
        Ok(layout)
    }

    fn of_graph(graph: DiGraph<Spot, Segment, u32>, cell: f64) -> Layout {
        let mut out = vec![Vec::new(); graph.node_count()];
        // petgraph lists a node's edges newest first; keep insertion order instead.
        for e in graph.edge_references() {
            out[e.source().index()].push(e.target().index() as u32);
        }
        let (into_at, into) = in_neighbours(&out);
        Layout {
            graph,
            out,
            names: BTreeMap::new(),
            cell,
            grid: None,
            into_at,
            into,
        }
    }

    /// Names spot `spot` (a location: line side, rack, dock, charger, parking...).
    pub fn name_spot(&mut self, name: &str, spot: u32) -> Result<(), LayoutError> {
        if self.names.contains_key(name) {
            return Err(LayoutError::DuplicateName(name.to_string()));
        }
        self.names.insert(name.to_string(), spot);
        Ok(())
    }

    /// The spot named `name`.
    pub fn spot(&self, name: &str) -> Option<u32> {
        self.names.get(name).copied()
    }

    /// Named spots, by name.
    pub fn names(&self) -> &BTreeMap<String, u32> {
        &self.names
    }

    /// Columns and rows of a grid layout (`None` for a waypoint graph).
    pub fn grid_size(&self) -> Option<(usize, usize)> {
        self.grid
            .as_ref()
            .map(|(width, spots)| (*width, spots.len().checked_div(*width).unwrap_or(0)))
    }

    /// The spot on grid cell (x, y) of a grid layout.
    pub fn grid_spot(&self, x: usize, y: usize) -> Result<u32, LayoutError> {
        let blocked = LayoutError::BlockedCell(x, y);
        let (width, spots) = self.grid.as_ref().ok_or(LayoutError::Geometry(
            "this layout has no grid: name waypoints instead".into(),
        ))?;
        // (Checked before multiplying: a row far past the map would overflow.)
        if x >= *width || y >= spots.len() / width {
            return Err(blocked);
        }
        match spots.get(y * width + x) {
            Some(&s) if s != u32::MAX => Ok(s),
            _ => Err(blocked),
        }
    }

    /// Number of spots.
    pub fn spots(&self) -> usize {
        self.out.len()
    }

    /// Where spot `s` is, metres.
    pub fn position(&self, s: u32) -> Point2<f64> {
        self.graph[NodeIndex::new(s as usize)].position
    }

    /// Spots one step away from `s`.
    pub fn neighbours(&self, s: u32) -> &[u32] {
        &self.out[s as usize]
    }

    /// Spots one step before `s` (from which a vehicle may drive to it).
    pub fn neighbours_into(&self, s: u32) -> &[u32] {
        let (from, to) = (self.into_at[s as usize], self.into_at[s as usize + 1]);
        &self.into[from as usize..to as usize]
    }

    /// Length of the segment `a → b`, metres (`None` when there is none).
    pub fn segment_length(&self, a: u32, b: u32) -> Option<f64> {
        self.segment(a, b).map(|s| s.length)
    }

    /// The segment `a → b`, if there is one.
    pub fn segment(&self, a: u32, b: u32) -> Option<&Segment> {
        self.graph
            .find_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize))
            .map(|e| &self.graph[e])
    }

    /// Nominal segment length, metres.
    pub fn cell(&self) -> f64 {
        self.cell
    }

    /// Steps from every spot to `goal` (against the lanes' direction, breadth-first);
    /// `u32::MAX` where `goal` cannot be reached.
    pub fn steps_to(&self, goal: u32) -> Vec<u32> {
        self.steps_to_avoiding(goal, |_| false)
    }

    /// Costs from every spot to `goal` along one-way highways, on a grid layout (`None` on
    /// a waypoint graph; `u32::MAX` where `goal` cannot be reached): rows take turns in
    /// their way (the first towards rising columns) and columns in theirs (the first
    /// towards rising rows); a move along its highway costs 1, against it
    /// `costs::AGAINST_HIGHWAY` (2). A search backwards from the goal with a queue
    /// per cost still to come (Dial's).
    pub fn highway_costs_to(&self, goal: u32) -> Option<Vec<u32>> {
        let (width, cells) = self.grid.as_ref()?;
        let mut at = vec![(0, 0); self.spots()];
        for (k, &s) in cells.iter().enumerate() {
            if let Some(a) = at.get_mut(s as usize) {
                *a = (k % width, k / width);
            }
        }
        Some(least_costs::<HIGHWAY_QUEUES, _>(
            self.spots(),
            [goal],
            u32::MAX,
            |v| {
                let (x, y) = at[v as usize];
                let into = self.neighbours_into(v);
                debug_assert!(
                    into.len() <= 4,
                    "a grid's cells have four neighbours at most"
                );
                std::array::from_fn(|k| match into.get(k) {
                    None => (NO_STATE, 0),
                    Some(&u) => {
                        // The direction of the move u -> v: rising or falling columns, rising
                        // or falling rows.
                        let (ux, uy) = at[u as usize];
                        let direction = match (ux.cmp(&x), uy.cmp(&y)) {
                            (Ordering::Less, _) => 0,
                            (Ordering::Greater, _) => 2,
                            (_, Ordering::Less) => 1,
                            _ => 3,
                        };
                        (u, highway_step(x, y, direction))
                    }
                })
            },
        ))
    }

    /// Steps from every spot to `goal` without passing through spots where `closed` is
    /// true (they get `u32::MAX`, unless one is the goal itself).
    pub fn steps_to_avoiding(&self, goal: u32, closed: impl Fn(u32) -> bool) -> Vec<u32> {
        let mut dist = vec![u32::MAX; self.spots()];
        // Breadth first: each spot enters the queue once, so a vector read from the front
        // serves as the queue.
        let mut queue = Vec::with_capacity(self.spots());
        queue.push(goal);
        dist[goal as usize] = 0;
        let mut head = 0;
        while let Some(&v) = queue.get(head) {
            head += 1;
            let dv = dist[v as usize];
            for &u in self.neighbours_into(v) {
                if dist[u as usize] == u32::MAX && !closed(u) {
                    dist[u as usize] = dv + 1;
                    queue.push(u);
                }
            }
        }
        dist
    }

    /// Whether every spot can reach every other (no vehicle can be trapped).
    pub fn strongly_connected(&self) -> bool {
        petgraph::algo::kosaraju_scc(&self.graph).len() <= 1
    }
}

fn check_positive(what: &str, x: f64) -> Result<(), LayoutError> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(LayoutError::Geometry(format!(
            "{what} must be a positive number of metres, not {x}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_has_a_spot_per_free_cell_and_unit_steps() {
        let map = GridMap::parse("type octile\nheight 2\nwidth 3\nmap\n...\n.@.\n").unwrap();
        let l = Layout::from_grid(&map, 2.0).unwrap();
        assert_eq!(l.spots(), 5);
        let a = l.grid_spot(0, 1).unwrap();
        let b = l.grid_spot(2, 1).unwrap();
        assert_eq!(l.steps_to(b)[a as usize], 4);
        assert_eq!(l.position(b), Point2::new(5.0, 3.0));
        assert!(l.grid_spot(1, 1).is_err());
        assert!(l.strongly_connected());
    }

    #[test]
    fn highway_costs_run_one_way_along_rows_and_columns() {
        // Rows: 0 towards rising columns, 1 falling; columns: 0 towards rising rows, 1
        // falling, 2 rising. Goal: the top right corner (2, 0); (1, 2) is blocked.
        let map = GridMap::parse("type octile\nheight 3\nwidth 3\nmap\n...\n...\n.@.\n").unwrap();
        let l = Layout::from_grid(&map, 1.0).unwrap();
        let goal = l.grid_spot(2, 0).unwrap();
        let t = l.highway_costs_to(goal).unwrap();
        let at = |x, y| t[l.grid_spot(x, y).unwrap() as usize];
        // Along the top row: 1 a cell. (2, 1): up its column, against it. (1, 1): up
        // column 1 (its way) and along the top row, not along row 1 against it and up.
        // (0, 1): along row 1 against it, or up column 0 against it, then 2. (0, 2): up
        // column 0 against it, then 4 ((1, 2) is blocked). (2, 2): up column 2 against
        // it, then 2.
        assert_eq!((at(0, 0), at(1, 0), at(2, 0)), (2, 1, 0));
        assert_eq!((at(0, 1), at(1, 1), at(2, 1)), (4, 2, 2));
        assert_eq!((at(0, 2), at(2, 2)), (6, 4));
        // Plain steps stay plain.
        assert_eq!(l.steps_to(goal)[l.grid_spot(0, 2).unwrap() as usize], 4);
    }

    #[test]
    fn lanes_are_cut_into_cells_and_one_way_lanes_go_one_way() {
        let w = |n: &str, x, y| Waypoint {
            name: n.into(),
            x,
            y,
        };
        let lanes = [
            Lane {
                from: "a".into(),
                to: "b".into(),
                two_way: false,
                speed_limit: None,
            },
            Lane {
                from: "b".into(),
                to: "c".into(),
                two_way: true,
                speed_limit: Some(0.5),
            },
        ];
        let l = Layout::from_lanes(
            &[w("a", 0.0, 0.0), w("b", 9.0, 0.0), w("c", 9.0, 4.0)],
            &lanes,
            3.0,
        )
        .unwrap();
        // a–b: 9 m in three segments (two new spots); b–c: 4 m rounds to one segment.
        assert_eq!(l.spots(), 5);
        let (a, b, c) = (
            l.spot("a").unwrap(),
            l.spot("b").unwrap(),
            l.spot("c").unwrap(),
        );
        assert_eq!(l.steps_to(c)[a as usize], 4);
        assert_eq!(l.steps_to(a)[c as usize], u32::MAX);
        // No rows or columns: no highways.
        assert_eq!(l.highway_costs_to(c), None);
        assert_eq!(l.segment_length(b, c), Some(4.0));
        assert_eq!(l.segment(c, b).unwrap().speed_limit, Some(0.5));
        assert!(!l.strongly_connected());
        // Against the lanes: b is entered from the cell before it on a–b and from c.
        let mut into_b = l.neighbours_into(b).to_vec();
        into_b.sort_unstable();
        let mut expected: Vec<u32> = (0..l.spots() as u32)
            .filter(|&s| l.neighbours(s).contains(&b))
            .collect();
        expected.sort_unstable();
        assert_eq!(into_b, expected);
        assert!(into_b.contains(&c) && into_b.len() == 2);
        // Read back from its saved form, it searches alike (what it derives is rebuilt).
        let back: Layout = postcard::from_bytes(&postcard::to_stdvec(&l).unwrap()).unwrap();
        for s in 0..l.spots() as u32 {
            assert_eq!(back.steps_to(s), l.steps_to(s));
            assert_eq!(back.neighbours_into(s), l.neighbours_into(s));
        }

        // A damaged saved layout is refused, not trusted: neighbours that are not its
        // segments (found by the snapshot fuzzer: an index past the spots), a named spot
        // it does not have.
        let mut bad = back.clone();
        bad.out[0].push(999);
        let decoded = postcard::from_bytes::<Layout>(&postcard::to_stdvec(&bad).unwrap());
        assert!(decoded.is_err());
        let mut bad = back.clone();
        bad.names.insert("z".into(), 999);
        let decoded = postcard::from_bytes::<Layout>(&postcard::to_stdvec(&bad).unwrap());
        assert!(decoded.is_err());

        // A lane that would cut the floor into billions of cells is refused, not built
        // (found by the fuzzer: 6 GB asked for).
        let far = Layout::from_lanes(&[w("a", 0.0, 0.0), w("b", 3e12, 0.0)], &lanes[..1], 3.0);
        assert!(
            matches!(&far, Err(LayoutError::Geometry(m)) if m.contains("more than")),
            "{far:?}"
        );
    }
}
