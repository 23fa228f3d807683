//! Lifelong traffic checked step by step by a checker that knows only the map text: every
//! vehicle on a free cell, moves of one cell or waits, no two on a cell, no two swapping;
//! held vehicles never move; and work gets done (every vehicle keeps reaching goals).

use std::collections::BTreeSet;
use traffic::mapf::{GridMap, WarehouseShape};
use traffic::{Layout, Traffic};

struct Checker {
    rows: Vec<Vec<u8>>,
}

impl Checker {
    fn new(map_text: &str) -> Self {
        let rows = map_text
            .lines()
            .skip_while(|l| l.trim() != "map")
            .skip(1)
            .map(|r| r.as_bytes().to_vec())
            .collect();
        Checker { rows }
    }

    fn free(&self, (x, y): (i64, i64)) -> bool {
        x >= 0 && y >= 0 && self.rows.get(y as usize).and_then(|r| r.get(x as usize)) == Some(&b'.')
    }

    fn check_step(&self, before: &[(i64, i64)], after: &[(i64, i64)]) {
        let mut seen = BTreeSet::new();
        for (i, (&a, &b)) in before.iter().zip(after).enumerate() {
            assert!(self.free(b), "vehicle {i} on blocked cell {b:?}");
            assert!(
                (a.0 - b.0).abs() + (a.1 - b.1).abs() <= 1,
                "vehicle {i} jumped {a:?} → {b:?}"
            );
            assert!(seen.insert(b), "two vehicles on {b:?}");
        }
        for i in 0..before.len() {
            for j in i + 1..before.len() {
                assert!(
                    !(before[i] == after[j] && before[j] == after[i] && before[i] != after[i]),
                    "vehicles {i} and {j} swap"
                );
            }
        }
    }
}

fn xy(layout: &Layout, cell: f64, s: u32) -> (i64, i64) {
    let p = layout.position(s);
    (
        (p.x / cell - 0.5).round() as i64,
        (p.y / cell - 0.5).round() as i64,
    )
}

/// Runs `steps` lifelong steps with `n` vehicles sent to random free cells; returns the
/// goals each vehicle reached.
fn lifelong(map_text: &str, n: usize, steps: usize, held: &[usize]) -> Vec<u32> {
    lifelong_with(map_text, n, steps, held, &[], None)
}

/// As [`lifelong`], with the vehicles in `slow` at a third of the others' speed: they take
/// three steps a cell, and nobody may stand on the cell they are heading for meanwhile.
/// Odd-numbered vehicles accelerate at `accel` m/s² when given.
fn lifelong_with(
    map_text: &str,
    n: usize,
    steps: usize,
    held: &[usize],
    slow: &[usize],
    accel: Option<f64>,
) -> Vec<u32> {
    let map = GridMap::parse(map_text).unwrap();
    let cell = 2.5;
    let layout = Layout::from_grid(&map, cell).unwrap();
    let spots = layout.spots() as u64;
    let mut state = 12345u64;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut starts = BTreeSet::new();
    while starts.len() < n {
        starts.insert((rand() % spots) as u32);
    }
    let starts: Vec<u32> = starts.into_iter().collect();
    let mut t = Traffic::new(layout.clone(), &starts, 7).unwrap();
    // A step is one 2.5 m cell at 1.5 m/s; slow vehicles do 0.5 m/s.
    t.set_step_time(cell / 1.5);
    for i in 0..n {
        t.set_speed(i, if slow.contains(&i) { 0.5 } else { 1.5 });
        if let Some(a) = accel.filter(|_| i % 2 == 1) {
            t.set_acceleration(i, a);
        }
    }
    // Goals anywhere but where a held vehicle stands.
    let blocked: Vec<u32> = held.iter().map(|&h| starts[h]).collect();
    let mut goal = move || loop {
        let g = (rand() % spots) as u32;
        if !blocked.contains(&g) {
            return g;
        }
    };
    for i in 0..n {
        if held.contains(&i) {
            t.hold(i, true);
        } else {
            t.set_goal(i, goal());
        }
    }
    let checker = Checker::new(map_text);
    let mut reached = vec![0; n];
    let mut before: Vec<(i64, i64)> = t
        .positions()
        .iter()
        .map(|&s| xy(&layout, cell, s))
        .collect();
    for _ in 0..steps {
        let after: Vec<(i64, i64)> = t.step().iter().map(|&s| xy(&layout, cell, s)).collect();
        checker.check_step(&before, &after);
        for &h in held {
            assert_eq!(after[h], before[h], "held vehicle {h} moved");
        }
        for i in 0..n {
            let (from, to, _) = t.progress(i);
            if from != to {
                let target = xy(&layout, cell, to);
                assert!(
                    !after.contains(&target),
                    "a vehicle stands where vehicle {i} is heading (several steps)"
                );
                assert!(
                    slow.contains(&i) || (accel.is_some() && i % 2 == 1),
                    "vehicle {i} is neither slow nor accelerating but takes steps"
                );
            }
        }
        for (i, r) in reached.iter_mut().enumerate() {
            if !held.contains(&i) && t.positions()[i] == t.goal(i) {
                *r += 1;
                t.set_goal(i, goal());
            }
        }
        before = after;
    }
    reached
}

#[test]
fn a_dense_generated_warehouse_runs_without_conflicts_and_everyone_delivers() {
    let shape = WarehouseShape {
        blocks_x: 6,
        blocks_y: 4,
        rack_length: 5,
        rack_depth: 2,
        aisle: 2,
        margin: 2,
    };
    let text = shape.to_map_text();
    // 150 vehicles on 502 free cells, two of them held in place the whole time.
    let reached = lifelong(&text, 150, 1500, &[3, 77]);
    for (i, r) in reached.iter().enumerate() {
        if i != 3 && i != 77 {
            assert!(*r >= 3, "vehicle {i} reached only {r} goals: stuck");
        }
    }
}

/// A small generated warehouse (4 × 3 blocks of racks, two-cell aisles).
fn small_warehouse() -> String {
    WarehouseShape {
        blocks_x: 4,
        blocks_y: 3,
        rack_length: 5,
        rack_depth: 2,
        aisle: 2,
        margin: 2,
    }
    .to_map_text()
}

#[test]
fn slow_vehicles_take_several_steps_a_cell_and_nobody_cuts_in() {
    let slow: Vec<usize> = (0..60).step_by(3).collect();
    let reached = lifelong_with(&small_warehouse(), 60, 1500, &[], &slow, None);
    for (i, r) in reached.iter().enumerate() {
        assert!(*r >= 2, "vehicle {i} reached only {r} goals");
    }
    // Slow vehicles travel at a third of the speed: they reach fewer goals.
    let mean = |f: &dyn Fn(usize) -> bool| {
        let v: Vec<f64> = (0..60)
            .filter(|&i| f(i))
            .map(|i| reached[i] as f64)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(mean(&|i| slow.contains(&i)) < 0.6 * mean(&|i| !slow.contains(&i)));
}

#[test]
fn accelerating_and_slow_vehicles_mixed_keep_every_rule() {
    let slow: Vec<usize> = (0..80).step_by(5).collect();
    let reached = lifelong_with(&small_warehouse(), 80, 1500, &[3, 40], &slow, Some(0.5));
    for (i, r) in reached.iter().enumerate() {
        if i != 3 && i != 40 {
            assert!(*r >= 2, "vehicle {i} reached only {r} goals");
        }
    }
}

#[test]
fn the_standard_warehouse_map_with_400_vehicles() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/mapf/warehouse-10-20-10-2-1.map"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("skipped: {path} is not here");
        return;
    };
    let reached = lifelong(&text, 400, 600, &[]);
    let total: u32 = reached.iter().sum();
    assert!(total > 400, "only {total} goals reached in 600 steps");
}

/// The floor of `map_text` in 3 m cells, with the spots of columns 0 and `x` of row 0.
fn floor_with_ends(map_text: &str, x: usize) -> (Layout, u32, u32) {
    let map = GridMap::parse(map_text).unwrap();
    let layout = Layout::from_grid(&map, 3.0).unwrap();
    let a = layout.grid_spot(0, 0).unwrap();
    let b = layout.grid_spot(x, 0).unwrap();
    (layout, a, b)
}

/// Two vehicles swap the ends of the corridor along the top row of `text` (cells 0 and 6),
/// every step checked; returns the traffic and the steps taken.
fn pass_in_corridor(text: &str) -> (Traffic, usize) {
    let (layout, a, b) = floor_with_ends(text, 6);
    let mut t = Traffic::new(layout.clone(), &[a, b], 1).unwrap();
    t.set_goal(0, b);
    t.set_goal(1, a);
    let checker = Checker::new(text);
    let mut before: Vec<_> = t.positions().iter().map(|&s| xy(&layout, 3.0, s)).collect();
    let mut steps = 0;
    while t.positions() != [b, a] {
        let after: Vec<_> = t.step().iter().map(|&s| xy(&layout, 3.0, s)).collect();
        checker.check_step(&before, &after);
        before = after;
        steps += 1;
        assert!(steps < 40, "no pass after 40 steps");
    }
    (t, steps)
}

#[test]
fn a_corridor_with_a_siding_lets_vehicles_pass() {
    // Two vehicles head for each other's end of a corridor; a one-cell siding in the
    // middle is the only place to pass.
    let text = "type octile\nheight 2\nwidth 7\nmap\n.......\n@@@.@@@\n";
    let (_, steps) = pass_in_corridor(text);
    // Each needs 6 moves; passing costs one of them a detour into the siding and out
    // (2 moves) and a wait, after up to three steps of stand-off before the swap technique
    // is tried (see `STALL_BEFORE_SWAP`).
    assert!(steps <= 15, "took {steps} steps");
}

#[test]
fn accelerating_vehicles_lose_time_starting_and_stopping() {
    // A 3 m cell at 1.5 m/s is a 2 s step. At 0.5 m/s² a vehicle needs 3.5 s for a cell
    // from rest or into a stop (2 steps), 2 s for one at cruising speed (1 step).
    let text = "type octile\nheight 1\nwidth 6\nmap\n......\n";
    let (layout, a, b) = floor_with_ends(text, 4);
    let steps_to_b = |accel: Option<f64>| {
        let mut t = Traffic::new(layout.clone(), &[a], 1).unwrap();
        t.set_step_time(2.0);
        t.set_speed(0, 1.5);
        if let Some(x) = accel {
            t.set_acceleration(0, x);
        }
        t.set_goal(0, b);
        let mut steps = 0;
        while t.positions()[0] != b {
            t.step();
            steps += 1;
            assert!(steps < 20);
        }
        steps
    };
    assert_eq!(steps_to_b(None), 4);
    // Four cells: 2 (start) + 1 + 1 + 2 (stop).
    assert_eq!(steps_to_b(Some(0.5)), 6);
    // One cell rest to rest takes 2√6 ≈ 4.9 s: 3 steps.
    let mut t = Traffic::new(layout.clone(), &[a], 1).unwrap();
    t.set_step_time(2.0);
    t.set_speed(0, 1.5);
    t.set_acceleration(0, 0.5);
    let next = layout.grid_spot(1, 0).unwrap();
    assert_eq!(t.steps_for(0, a, next), 2, "goal elsewhere: no stop there");
    t.set_goal(0, next);
    assert_eq!(t.steps_for(0, a, next), 3);
}

/// An open floor of `side` × `side` cells of 3 m.
fn open_floor(side: usize) -> Layout {
    let mut text = format!("type octile\nheight {side}\nwidth {side}\nmap\n");
    for _ in 0..side {
        text.push_str(&".".repeat(side));
        text.push('\n');
    }
    Layout::from_grid(&GridMap::parse(&text).unwrap(), 3.0).unwrap()
}

/// 5,000 AGVs on a 72 × 72 floor ran for minutes: with more distinct goals than the table
/// cache holds, every new goal cleared it and computed a table for every vehicle again.
/// Now a new goal computes its own table and no other.
#[test]
fn regression_a_new_goal_computes_one_table_however_many_goals_are_in_use() {
    let side = 72;
    let layout = open_floor(side);
    let n = 5000u32;
    let starts: Vec<u32> = (0..n).collect();
    let mut t = Traffic::new(layout, &starts, 1).unwrap();
    // Every vehicle heads for a spot of its own: 5,000 goals in use.
    for i in 0..n as usize {
        t.set_goal(i, (i as u32 + 100) % (side * side) as u32);
    }
    let before = t.tables_computed();
    for k in 0..50u32 {
        t.set_goal(k as usize, 5100 + k);
    }
    assert_eq!(t.tables_computed() - before, 50, "one table per new goal");
    // Each vehicle's table is still its own goal's: on an open floor the steps are the
    // Manhattan distance.
    let cell = |s: u32| ((s as usize % side) as i64, (s as usize / side) as i64);
    for i in 0..n as usize {
        let ((x, y), (gx, gy)) = (cell(t.positions()[i]), cell(t.goal(i)));
        assert_eq!(
            t.steps_to_goal(i) as i64,
            (x - gx).abs() + (y - gy).abs(),
            "vehicle {i}"
        );
    }
    // One vehicle sent to 3,000 goals in turn fills the cache and trims it as it turns to
    // a new one: it keeps the table of the goal it turned to, not of the one it left.
    let mut t = Traffic::new(open_floor(side), &[0], 1).unwrap();
    for g in 1..3_000u32 {
        t.set_goal(0, 5_183 - g);
        let (gx, gy) = cell(5_183 - g);
        assert_eq!(t.steps_to_goal(0) as i64, gx + gy, "goal {}", 5_183 - g);
    }
}

/// A vehicle resting where its goal is needs no distance table until it is moved off:
/// 5,000 resting vehicles made 5,000 tables of the whole floor (memory and time that grew
/// with the square of the fleet). Pushed aside, one gets its table and goes back.
#[test]
fn resting_vehicles_compute_no_tables_until_one_is_pushed_aside() {
    let side = 72;
    let layout = open_floor(side);
    // 1,000 vehicles on every fifth cell of the floor's first 5,000.
    let starts: Vec<u32> = (0..1000).map(|k| 5 * k).collect();
    let mut t = Traffic::new(layout, &starts, 1).unwrap();
    for _ in 0..10 {
        t.step();
    }
    assert_eq!(t.tables_computed(), 0);
    assert_eq!(t.steps_to_goal(7), 0);
    // Vehicle 0 drives to the far corner through the resting fleet, which makes way.
    let corner = (side * side - 1) as u32;
    t.set_goal(0, corner);
    let mut steps = 0;
    while t.positions()[0] != corner {
        t.step();
        steps += 1;
        assert!(steps < 1_000, "vehicle 0 is stuck");
    }
    let pushed = t.tables_computed() - 1;
    assert!(pushed < 100, "resting vehicles computed tables: {pushed}");
    // Everyone else is back where it rested.
    for _ in 0..100 {
        t.step();
    }
    let home = (1..1000).filter(|&i| t.positions()[i] == starts[i]).count();
    assert_eq!(home, 999);
}

/// The detour searches keep quick lookups that are not saved: a fleet read back from its
/// saved form while vehicles are routed around held ones plans exactly as the one that
/// went on (the lookups are rebuilt from the saved closed spots).
#[test]
fn a_fleet_read_back_mid_detour_plans_as_the_one_that_went_on() {
    let map = GridMap::parse(&small_warehouse()).unwrap();
    let layout = Layout::from_grid(&map, 2.5).unwrap();
    let spots = layout.spots() as u32;
    let starts: Vec<u32> = (0..80).map(|i| (i * 7919) % spots).collect();
    let starts: Vec<u32> = starts
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let n = starts.len();
    let mut t = Traffic::new(layout, &starts, 3).unwrap();
    // Every fourth vehicle loads where it stands; the others cross the floor around them.
    for i in 0..n {
        if i % 4 == 0 {
            t.hold(i, true);
        } else {
            t.set_goal(i, starts[(i * 31 + 17) % n]);
        }
    }
    for _ in 0..40 {
        t.step();
    }
    let saved = postcard::to_stdvec(&t).unwrap();
    let mut back: Traffic = postcard::from_bytes(&saved).unwrap();
    for step in 0..200 {
        assert_eq!(t.step(), back.step(), "step {step} after reading back");
        for i in 0..n {
            if i % 4 != 0 && t.positions()[i] == t.goal(i) {
                let g = starts[(i * 13 + step) % n];
                t.set_goal(i, g);
                back.set_goal(i, g);
            }
        }
    }
}

/// What planning does, counted by hand: a vehicle driving a corridor of six cells is
/// planned once a step until it arrives and then no more; its table searches, from the
/// goal, only as far as the cells it reads; one resting at its goal meanwhile is never
/// planned.
#[test]
fn planning_work_counts_the_vehicles_planned_and_the_spots_searched() {
    let text = "type octile\nheight 2\nwidth 6\nmap\n......\n.@@@@@\n";
    let (layout, a, b) = floor_with_ends(text, 5);
    let rest = layout.grid_spot(0, 1).unwrap();
    let mut t = Traffic::new(layout, &[a, rest], 1).unwrap();
    assert_eq!(t.planning_work(), traffic::PlanningWork::default());
    t.set_goal(0, b);
    // Labelling cell 0 (5 steps from the goal) takes the cells 5, 4, 3, 2 and 1 off the
    // search's queue.
    assert_eq!(t.planning_work().table_spots, 5);
    for _ in 0..10 {
        t.step();
    }
    assert_eq!(t.positions(), &[b, rest]);
    let work = t.planning_work();
    assert_eq!(
        work.plans, 5,
        "one plan a move, none at the goal nor for the resting one"
    );
    // Planning the first move reads the cells next to cell 0, the resting vehicle's
    // below it (6 steps) among them: cell 0 comes off the queue too. Every later move
    // reads cells labelled already.
    assert_eq!(work.table_spots, 6);
    assert_eq!(work.detour_spots, 0, "nobody held, no detour");
}

/// The swap technique reads the distances along the corridor where two vehicles meet, and
/// only those: it searched the whole floor for each vehicle around the one that might swap,
/// thousands of tables of a packed floor. Here a room of 900 cells opens off the corridor's
/// end; the two still pass, and their tables search a few dozen cells of the room.
#[test]
fn passing_in_a_corridor_searches_the_tables_no_further_than_it_reads() {
    let mut text = String::from("type octile\nheight 30\nwidth 37\nmap\n");
    text.push_str(&".".repeat(37));
    text.push('\n');
    text.push_str(&format!("@@@.@@@{}\n", ".".repeat(30)));
    for _ in 2..30 {
        text.push_str(&format!("@@@@@@@{}\n", ".".repeat(30)));
    }
    let (t, _) = pass_in_corridor(&text);
    let searched = t.planning_work().table_spots;
    assert!(
        searched < 120,
        "searched {searched} cells of 908 for two tables"
    );
}
