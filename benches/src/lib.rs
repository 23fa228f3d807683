//! The benches' definitions: the engine's speed measurements ([`suite`], shared with
//! `twinline bench`), and the set-up of the planner benches (lifelong traffic, one-shot
//! MAPF), which read the benchmark maps in `../shared/mapf`.

pub mod suite;

pub use suite::{Measurement, Target, engine_suite, series_line};
use traffic::mapf::{GridMap, WarehouseShape};
use traffic::{Layout, Traffic};

/// The generated warehouse that stands in for the benchmark floors where `../shared` is
/// absent: 10 × 10 blocks of 10 × 2 racks, 2-cell aisles.
fn stand_in_warehouse() -> WarehouseShape {
    WarehouseShape {
        blocks_x: 10,
        blocks_y: 10,
        rack_length: 10,
        rack_depth: 2,
        aisle: 2,
        margin: 3,
    }
}

/// The floor for the lifelong-traffic bench: MovingAI's warehouse-10-20-10-2-1 from
/// `../shared/mapf` when it is there, else a generated warehouse of similar size.
pub fn traffic_floor() -> (String, GridMap) {
    let path = format!(
        "{}/../../shared/mapf/warehouse-10-20-10-2-1.map",
        env!("CARGO_MANIFEST_DIR")
    );
    match std::fs::read_to_string(&path) {
        Ok(text) => (
            "warehouse-10-20-10-2-1".into(),
            GridMap::parse(&text).expect("the MovingAI map parses"),
        ),
        Err(_) => (
            "generated 10×10 warehouse".into(),
            stand_in_warehouse().to_map(),
        ),
    }
}

/// `n` vehicles on `map` with random goals, already `warm` steps into their work, and a
/// generator of new goals (xorshift, seeded).
pub fn busy_traffic(map: &GridMap, n: usize, warm: usize) -> (Traffic, impl FnMut() -> u32) {
    let layout = Layout::from_grid(map, 3.0).expect("a valid map");
    let spots = layout.spots() as u64;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % spots) as u32
    };
    let mut starts = std::collections::BTreeSet::new();
    while starts.len() < n {
        starts.insert(rand());
    }
    let starts: Vec<u32> = starts.into_iter().collect();
    let mut t = Traffic::new(layout, &starts, 1).expect("distinct starts");
    for i in 0..n {
        t.set_goal(i, rand());
    }
    for _ in 0..warm {
        lifelong_step(&mut t, &mut rand);
    }
    (t, rand)
}

/// The League of Robot Runners instance for the entry's bench: sortation_large_2000 from
/// `../shared/lorr` when it is there, else 2,000 robots on a generated warehouse with
/// tasks between random cells (the map's own free cells, drawn by a fixed generator).
pub fn runners_instance() -> (String, traffic::runners::Instance) {
    use traffic::runners::{Instance, InstanceFiles};
    let dir = format!(
        "{}/../../shared/lorr/warehouse.domain",
        env!("CARGO_MANIFEST_DIR")
    );
    let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).ok();
    if let Some(json) = read("sortation_large_2000.json") {
        let files = InstanceFiles::parse(&json).expect("the published instance parses");
        if let (Some(map), Some(agents), Some(tasks)) =
            (read(&files.map), read(&files.agents), read(&files.tasks))
        {
            let inst = Instance::parse(&files, &map, &agents, &tasks)
                .expect("the published instance parses");
            return ("sortation_large_2000".into(), inst);
        }
    }
    let shape = stand_in_warehouse();
    let map = shape.to_map();
    let free: Vec<u32> = (0..map.cells() as u32)
        .filter(|&c| !map.neighbours(c).is_empty())
        .collect();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut draw = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        free[(state % free.len() as u64) as usize]
    };
    let mut starts = std::collections::BTreeSet::new();
    while starts.len() < 2000 {
        starts.insert(draw());
    }
    let starts: Vec<u32> = starts.into_iter().collect();
    let tasks = (0..20_000).map(|_| vec![draw(), draw()]).collect();
    let inst = traffic::runners::Instance::from_parts(&shape.to_map_text(), &starts, tasks, 1.5)
        .expect("a generated instance is valid");
    ("generated warehouse, 2000 robots".into(), inst)
}

/// One lifelong step: move, then give vehicles at their goal a new one.
pub fn lifelong_step(t: &mut Traffic, goal: &mut impl FnMut() -> u32) {
    t.step();
    for i in 0..t.positions().len() {
        if t.positions()[i] == t.goal(i) {
            t.set_goal(i, goal());
        }
    }
}

/// A one-shot MAPF instance: its name, the map, starts and goals.
pub struct MapfInstance {
    /// What it is (the MovingAI files, or "generated ...").
    pub name: String,
    /// The grid.
    pub map: GridMap,
    /// Start cells.
    pub starts: Vec<u32>,
    /// Goal cells.
    pub goals: Vec<u32>,
}

/// The first `n` agents of MovingAI's `map`/`scen` from `../shared/mapf` when they are
/// there, else `n` agents with random distinct starts and goals on `fallback`.
pub fn mapf_instance(map: &str, scen: &str, n: usize, fallback: &WarehouseShape) -> MapfInstance {
    let dir = format!("{}/../../shared/mapf", env!("CARGO_MANIFEST_DIR"));
    let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).ok();
    let (name, grid, pairs) = match read(map).zip(read(scen)) {
        Some((m, s)) => {
            let grid = GridMap::parse(&m).expect("the MovingAI map parses");
            let pairs =
                traffic::mapf::parse_scenario(&s, &grid, n).expect("the MovingAI scenario parses");
            (format!("{map}, {n} agents"), grid, pairs)
        }
        None => {
            let grid = fallback.to_map();
            let mut free: Vec<u32> = (0..grid.cells() as u32)
                .filter(|&c| !grid.neighbours(c).is_empty())
                .collect();
            let mut state = 0x9E37_79B9_7F4A_7C15u64;
            for k in (1..free.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                free.swap(k, (state % (k as u64 + 1)) as usize);
            }
            let pairs = (0..n).map(|i| (free[i], free[n + i])).collect();
            (format!("generated warehouse, {n} agents"), grid, pairs)
        }
    };
    let (starts, goals): (Vec<u32>, Vec<u32>) = pairs.into_iter().unzip();
    MapfInstance {
        name,
        map: grid,
        starts,
        goals,
    }
}

/// The first solution's sum of costs (LaCAM-style search, scattered paths or not), from
/// scratch: distance tables included, as `twinline mapf` times it.
pub fn first_solution(inst: &MapfInstance, scatter: bool) -> u64 {
    let distances = inst.map.distance_tables(&inst.goals);
    let sol = traffic::mapf::solve(
        &inst.map,
        &inst.starts,
        &inst.goals,
        &distances,
        traffic::mapf::Search {
            seed: 0,
            anytime: false,
            scatter,
            stop: &mut || false,
            improved: &mut |_| {},
        },
    )
    .expect("the bench instances are solvable");
    sol.sum_of_costs(&inst.goals)
}
