//! twinline's entry: task assignment and PIBT planning with orientations.
//!
//! Assignment, by the walk from a robot to a task's next errand plus a sixteenth of
//! the walk through the rest (short tasks first finish more, but only the empty walk is
//! waste; by the distance tables' costs on floors of up to [`EXACT_SCHEDULING_CELLS`]
//! free cells, Manhattan distances above):
//! - small problems (robots × revealed tasks up to [`REASSIGN_PAIRS`]): every step, the
//!   tasks not begun are given out afresh to the robots without a begun task, cheapest
//!   pairs first;
//! - large ones: each free robot takes the task it would finish soonest, unassigned or
//!   taken from a robot still on its way to it that is [`STEAL_MARGIN`] steps further
//!   (which then looks again), at most [`STEALS`] takings a step.
//!
//! Planning: PIBT over cells (priority inheritance with backtracking, the crate's one
//! implementation, which the plant's fleet also plans with; robots longest away from their
//! goal first) gives every robot its next cell, trying its neighbours by the cost to reach
//! them and go on. Costs run along one-way highways: rows and columns take
//! turns in their way, and a step against it costs `costs::AGAINST_HIGHWAY` steps, so that
//! robots keep to lanes of their way in crowded aisles. A neighbour costs the quarter
//! turns to face it, the step into it, the cost from it (on floors of up to
//! [`ORIENTED_CELLS`] free cells, exact from the cell facing the way the robot enters
//! it, turns included; on larger ones, where such tables would take four times the
//! memory, the cost from the cell ignoring turns plus the turns to face the way on from
//! it), and [`FLOW_PENALTY`] where robots lately came the other way along that edge (a
//! decaying memory of moves: lanes form in aisles instead of head-on meetings);
//! staying comes last (first on its goal). A robot facing its next cell
//! moves forward; one that is not turns towards it and stays. A forward move into a cell
//! whose robot does not leave it is cancelled, and so on back along the chain, so the
//! joint action is always valid: no two robots end on one cell and none swap (PIBT plans
//! no swaps). [`TRIALS`] plans with other tie-breaks are made each step and the one that
//! brings the robots nearest their goals in all is kept. Distance tables (one per goal,
//! searched backwards from it, dropped when no robot heads there) are computed on the
//! entry's threads.

use super::format::Instance;
use super::rules::{Action, View};
use crate::costs::{HIGHWAY_QUEUES, NO_STATE, highway_step, least_costs};
use crate::pibt::{Agents, GridMoves, NONE, Occupancy, advance, by_priority, plan};
use foldhash::fast::FixedState;

type HashMap<K, V> = hashbrown::HashMap<K, V, FixedState>;
type HashSet<K> = hashbrown::HashSet<K, FixedState>;

/// Robot × task pairs up to which tasks not yet begun are given out afresh every step
/// (cheapest pairs first); above it free robots only take unassigned tasks.
pub const REASSIGN_PAIRS: usize = 100_000;

/// Tasks taken from robots on their way to them, at most, per step (large problems).
pub const STEALS: usize = 64;

/// Steps nearer a robot must be to take a task from the robot heading for it.
pub const STEAL_MARGIN: u64 = 4;

/// Free cells up to which tasks are assigned by exact walking distances.
pub const EXACT_SCHEDULING_CELLS: usize = 10_000;

/// Free cells up to which distance tables count turns (steps from each cell *and*
/// facing, four times the memory of a table by cell).
pub const ORIENTED_CELLS: usize = 10_000;

/// Memory that distance tables no robot heads for may keep, bytes.
const KEPT_TABLE_BYTES: usize = 256 << 20;

/// PIBT plans tried per step (with other tie-breaks); the one of most progress is kept.
pub const TRIALS: usize = 4;

/// Decay of the flow memory per step on floors whose tables ignore turns (large ones):
/// lanes worth keeping form over many steps.
const FLOW_DECAY: f32 = 0.9;
/// Decay of the flow memory per step where the tables count turns (small floors): routes
/// that count turns already keep robots on straight runs, and a memory of about the
/// last step only (keeping head-on meetings out) finished most on the random instance
/// (mean of seeds 0-11: 0.9 gave 959 tasks, 0.7 991, 0.6 1,003, 0.5 984).
const ORIENTED_FLOW_DECAY: f32 = 0.6;
/// Recent moves the other way along an edge that make it "against the flow".
const FLOW_THRESHOLD: f32 = 0.5;
/// Steps' worth a move against the flow costs more.
pub const FLOW_PENALTY: u32 = 3;

const FAR: u16 = u16::MAX;

/// What staying adds to a robot's steps to go, in PIBT's ordering of its cells: larger
/// than any neighbour's extra cost (a step back with its turns and the flow penalty),
/// so a robot off its goal stays only when no neighbour is free. At 4, a step back
/// against the flow ranked after staying: warehouse 67,692 tasks against 67,989
/// (68,622 against 68,990 with the walk through tasks weighed a quarter), sortation
/// 14,502 against 14,510; where tables count turns a step aside costs more, and the
/// random instance's mean over seeds 0-5 was 902 against 975.
const STAY_COST: u32 = 64;

/// How much of the walk through a task's errands weighs in choosing it, against the
/// walk to it (a fraction `1 / REST_SHARE`): only the walk to a task is waste, but among
/// tasks equally near the shorter finish first. Tasks finished (seed 0; random: mean of
/// seeds 0-11) for a half / a quarter / an eighth / a sixteenth / nothing: random 1,003
/// / 1,011 / 1,017 / 1,007 / 1,013; sortation 14,398 / 14,510 / 14,649 / 14,690 /
/// 14,134; warehouse 67,989 / 68,990 / 69,263 / 69,825 (measured before a robot on its
/// goal was made to stay there). The larger floors, whose margins over the start-kit's
/// entry are the thinner, chose.
const REST_SHARE: u64 = 16;

/// The entry: what it knows of the floor and its own state between steps.
pub struct Entry {
    width: usize,
    /// The four neighbours of each cell (east, south, west, north), `NONE` where blocked.
    around: Vec<[u32; 4]>,
    free_cells: usize,
    /// Distance tables by goal cell: the cost along the highways from each cell
    /// (ignoring turns), or, when `oriented`, from each cell and facing (`cell * 4 +
    /// facing`, turns counted).
    tables: HashMap<u32, Vec<u16>>,
    /// Whether the tables count turns (floors of up to [`ORIENTED_CELLS`] free cells).
    oriented: bool,
    /// Steps each robot has been away from its goal (PIBT's priority), plus a fraction
    /// breaking ties.
    priority: Vec<f64>,
    goal: Vec<u32>,
    /// Each robot's planned next cell.
    next: Vec<u32>,
    /// Each robot's cell and facing in the step being planned.
    robots: Vec<(u32, u8)>,
    /// The robot on each cell, and the cells taken in the plan being made.
    occupancy: Occupancy,
    rng: u64,
    /// Threads for distance tables.
    threads: usize,
    /// Recent forward moves out of each cell in each direction, decaying by
    /// [`FLOW_DECAY`] (or [`ORIENTED_FLOW_DECAY`]) a step.
    flow: Vec<[f32; 4]>,
}

/// Costs from every cell to `goal` (ignoring turns), a step against its highway (see
/// `costs::highway_step`) counting `costs::AGAINST_HIGHWAY`: a search backwards from the goal
/// with a queue per cost still to come (Dial's); [`FAR`] where it cannot be reached (or
/// only in more).
fn highway_distances(around: &[[u32; 4]], width: usize, goal: u32) -> Vec<u16> {
    least_costs::<HIGHWAY_QUEUES, _>(around.len(), [goal], FAR, |c| {
        let (x, y) = (c as usize % width, c as usize / width);
        // `p` steps in direction `k` into `c`: it is `c`'s neighbour the other way.
        std::array::from_fn(|k| match around[c as usize][(k + 2) % 4] {
            NONE => (NO_STATE, 0),
            p => (p, highway_step(x, y, k)),
        })
    })
}

/// The four neighbours of each cell of `instance` (east, south, west, north), `NONE`
/// where blocked or off the floor.
fn neighbours(instance: &Instance) -> Vec<[u32; 4]> {
    let (w, h) = (instance.width, instance.height);
    (0..w * h)
        .map(|c| {
            let (r, col) = (c / w, c % w);
            let ok = |n: usize| if instance.free[n] { n as u32 } else { NONE };
            [
                if col + 1 < w { ok(c + 1) } else { NONE },
                if r + 1 < h { ok(c + w) } else { NONE },
                if col > 0 { ok(c - 1) } else { NONE },
                if r > 0 { ok(c - w) } else { NONE },
            ]
        })
        .collect()
}

/// The distance table of `goal` on a floor `width` cells wide: by cell and facing where
/// `oriented`, else by cell along the highways.
fn table_of(around: &[[u32; 4]], width: usize, oriented: bool, goal: u32) -> Vec<u16> {
    match oriented {
        true => oriented_distances(around, width, goal),
        false => highway_distances(around, width, goal),
    }
}

/// The cost from `cell` by `table` (see [`Entry::tables`]): facing `facing` where the
/// table counts turns and the facing is known, else the least over facings.
fn steps_in(table: &[u16], oriented: bool, cell: u32, facing: Option<u8>) -> u16 {
    let c = cell as usize;
    match (oriented, facing) {
        (false, _) => table[c],
        (true, Some(f)) => table[c * 4 + f as usize],
        (true, None) => table[c * 4..c * 4 + 4].iter().copied().min().unwrap_or(FAR),
    }
}

/// Steps from every cell and facing (`cell * 4 + facing`) of a floor `width` cells wide
/// to `goal`, in any facing: a quarter turn takes one, a step forward one along its
/// highway and `costs::AGAINST_HIGHWAY` against it (`costs::highway_step`); a search backwards
/// from the goal with a queue per cost still to come, as in [`highway_distances`];
/// [`FAR`] where it cannot be reached.
fn oriented_distances(around: &[[u32; 4]], width: usize, goal: u32) -> Vec<u16> {
    let goals = (0..4).map(|f| goal * 4 + f);
    least_costs::<HIGHWAY_QUEUES, _>(around.len() * 4, goals, FAR, |s| {
        let (c, f) = (s / 4, s % 4);
        let (x, y) = (c as usize % width, c as usize / width);
        // Turning into facing `f` from either side, or moving forward facing `f` from the
        // cell behind.
        let behind = match around[c as usize][((f + 2) % 4) as usize] {
            NONE => (NO_STATE, 0),
            b => (b * 4 + f, highway_step(x, y, f as usize)),
        };
        [
            (c * 4 + (f + 3) % 4, 1),
            (c * 4 + (f + 1) % 4, 1),
            behind,
            (NO_STATE, 0),
        ]
    })
}

/// Quarter turns from facing `from` to facing `to`.
fn turns(from: u8, to: u8) -> u8 {
    match (to + 4 - from) % 4 {
        0 => 0,
        2 => 2,
        _ => 1,
    }
}

impl Entry {
    /// An entry for `instance`; `seed` breaks ties.
    pub fn new(instance: &Instance, seed: u64) -> Entry {
        let (w, h) = (instance.width, instance.height);
        let around = neighbours(instance);
        let n = instance.starts.len();
        let mut rng = seed ^ 0x2545_F491_4F6C_DD1D;
        let priority = (0..n)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                (rng >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        let free_cells = instance.free.iter().filter(|&&f| f).count();
        Entry {
            width: w,
            around,
            free_cells,
            tables: HashMap::default(),
            oriented: free_cells <= ORIENTED_CELLS,
            priority,
            goal: instance.starts.clone(),
            next: vec![NONE; n],
            robots: Vec::with_capacity(n),
            occupancy: Occupancy::new(w * h),
            rng,
            threads: 1,
            flow: vec![[0.0; 4]; w * h],
        }
    }

    /// The entry computing distance tables on up to `threads` threads (the plans are the
    /// same whatever the number).
    pub fn with_threads(mut self, threads: usize) -> Entry {
        self.threads = threads.max(1);
        self
    }

    fn random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Computes the distance tables of `goals` that are missing, on the entry's threads
    /// when there are many (the first step needs one per robot).
    fn compute_tables(&mut self, goals: impl Iterator<Item = u32>) {
        let mut missing: Vec<u32> = goals.filter(|g| !self.tables.contains_key(g)).collect();
        missing.sort_unstable();
        missing.dedup();
        let (around, width, oriented) = (&self.around, self.width, self.oriented);
        let threads = self.threads.clamp(1, missing.len().div_ceil(32).max(1));
        let chunk = missing.len().div_ceil(threads).max(1);
        let made: Vec<Vec<(u32, Vec<u16>)>> = std::thread::scope(|scope| {
            let work: Vec<_> = missing
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|&g| (g, table_of(around, width, oriented, g)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            work.into_iter()
                .map(|w| w.join().expect("a distance table never panics"))
                .collect()
        });
        self.tables.extend(made.into_iter().flatten());
    }

    /// The distance table of `goal` (see [`Entry::tables`]), cached.
    fn table(&mut self, goal: u32) -> &[u16] {
        let (around, width, oriented) = (&self.around, self.width, self.oriented);
        self.tables
            .entry(goal)
            .or_insert_with(|| table_of(around, width, oriented, goal))
    }

    fn manhattan(&self, a: u32, b: u32) -> u64 {
        let w = self.width;
        let (ar, ac) = (a as usize / w, a as usize % w);
        let (br, bc) = (b as usize / w, b as usize % w);
        (ar.abs_diff(br) + ac.abs_diff(bc)) as u64
    }

    /// The walk from `a` to `b`: its cost along the highways on small floors (in the best
    /// facing where tables count turns: counting the robot's own facing assigned worse),
    /// Manhattan steps on large ones.
    fn walk(&mut self, a: u32, b: u32) -> u64 {
        if self.free_cells <= EXACT_SCHEDULING_CELLS {
            let oriented = self.oriented;
            u64::from(steps_in(self.table(b), oriented, a, None))
        } else {
            self.manhattan(a, b)
        }
    }

    /// A share of the walk from a task's next errand through the rest: short tasks first
    /// finish more, but only the walk to a task is waste.
    fn rest_walk(&mut self, errands: &[u32]) -> u64 {
        errands
            .windows(2)
            .map(|w| self.walk(w[0], w[1]))
            .sum::<u64>()
            / REST_SHARE
    }

    /// The schedule for this step (see the module documentation): begun tasks stay with
    /// their robots; the others go to the robots that would finish them soonest.
    fn schedule(&mut self, view: &View<'_>) -> Vec<Option<usize>> {
        let n = view.robots.len();
        let mut schedule = vec![None; n];
        // Tasks up for grabs: unassigned ones, and (on small problems) those whose robot
        // has not reached the first errand yet; (id, first errand, walk through the rest).
        let mut open: Vec<(usize, u32, u64)> = Vec::new();
        let reassign = view.robots.len() * view.tasks.len() <= REASSIGN_PAIRS;
        let mut free = vec![false; n];
        for t in view.tasks {
            match t.robot {
                Some(r) if t.done > 0 || !reassign => schedule[r] = Some(t.id),
                _ => {
                    if let Some(r) = t.robot {
                        free[r] = true;
                    }
                    let errands = &view.errands_of(t.id)[t.done..];
                    open.push((t.id, errands[0], self.rest_walk(errands)));
                }
            }
        }
        for r in 0..n {
            if schedule[r].is_none() {
                free[r] = true;
            }
        }
        if reassign {
            // Pairs, cheapest first, each robot and task once.
            let mut pairs: Vec<(u64, usize, usize)> = Vec::new();
            for r in (0..n).filter(|&r| free[r]) {
                let at = view.robots[r].cell;
                for (k, &(_, first, rest)) in open.iter().enumerate() {
                    pairs.push((self.walk(at, first) + rest, r, k));
                }
            }
            pairs.sort_unstable();
            let mut taken = vec![false; open.len()];
            let mut placed = vec![false; n];
            for (_, r, k) in pairs {
                if !taken[k] && !placed[r] {
                    taken[k] = true;
                    placed[r] = true;
                    schedule[r] = Some(open[k].0);
                }
            }
            return schedule;
        }
        // Large problems: each free robot takes the task it would finish soonest, either
        // unassigned or taken from a robot still on its way to the first errand that
        // is further from it (that robot then looks again), a bounded number of times.
        let mut holder: Vec<Option<usize>> = vec![None; open.len()];
        let mut begun: Vec<(usize, u32, u64)> = Vec::new();
        for t in view.tasks {
            if t.done == 0
                && let Some(r) = t.robot
            {
                let errands = view.errands_of(t.id);
                let rest = self.rest_walk(errands);
                begun.push((t.id, errands[0], rest));
                holder.push(Some(r));
            }
        }
        open.extend(begun);
        let mut queue: Vec<usize> = (0..n).filter(|&r| free[r]).collect();
        queue.reverse();
        let mut moves = 0;
        while let Some(r) = queue.pop() {
            let at = view.robots[r].cell;
            let mut best: Option<(u64, usize)> = None;
            for (k, &(_, first, rest)) in open.iter().enumerate() {
                let cost = self.walk(at, first) + rest;
                let better = match holder[k] {
                    None => true,
                    Some(q) => {
                        let theirs = self.walk(view.robots[q].cell, first) + rest;
                        moves < STEALS && cost + STEAL_MARGIN < theirs
                    }
                };
                if better && best.is_none_or(|(c, _)| cost < c) {
                    best = Some((cost, k));
                }
            }
            if let Some((_, k)) = best {
                if let Some(q) = holder[k].replace(r) {
                    schedule[q] = None;
                    queue.push(q);
                    moves += 1;
                }
                schedule[r] = Some(open[k].0);
            }
        }
        schedule
    }

    /// The joint action and the schedule for the step `view` shows.
    pub fn decide(&mut self, view: &View<'_>) -> (Vec<Action>, Vec<Option<usize>>) {
        let schedule = self.schedule(view);
        let n = view.robots.len();
        // Goals: each robot's task's next errand, or where it stands.
        let mut done_of = HashMap::default();
        for t in view.tasks {
            done_of.insert(t.id, t.done);
        }
        for (r, task) in schedule.iter().enumerate() {
            let goal = match task {
                Some(id) => view.errands_of(*id)[done_of[id]],
                None => view.robots[r].cell,
            };
            if goal != self.goal[r] {
                self.goal[r] = goal;
                self.priority[r] = self.priority[r].fract();
            }
        }
        self.trim_tables();
        let goals = std::mem::take(&mut self.goal);
        self.compute_tables(goals.iter().copied());
        self.goal = goals;
        // PIBT, most urgent first, a few times with other tie-breaks; the plan that
        // brings the robots nearest their goals in all is kept.
        self.robots.clear();
        for (r, robot) in view.robots.iter().enumerate() {
            self.occupancy.now[robot.cell as usize] = r as u32;
            self.robots.push((robot.cell, robot.facing));
        }
        let mut order: Vec<u32> = (0..n as u32).collect();
        by_priority(&self.priority, &mut order);
        let mut best: Option<(i64, Vec<Action>, Vec<u32>)> = None;
        for _ in 0..TRIALS {
            let mut next = std::mem::take(&mut self.next);
            next.fill(NONE);
            // Every robot's cell stays free until it is asked to move: none can fail.
            let planned = plan(self, &order, &mut next);
            debug_assert!(planned, "a robot's own cell is taken only after asking it");
            self.next = next;
            let actions = self.actions(view);
            let mut progress = 0i64;
            for (r, (robot, a)) in view.robots.iter().zip(&actions).enumerate() {
                let table = &self.tables[&self.goal[r]];
                let steps = |cell| steps_in(table, self.oriented, cell, Some(robot.facing));
                let before = steps(robot.cell);
                let after = match a {
                    Action::Forward => steps(self.next[r]),
                    _ => before,
                };
                progress += i64::from(before) - i64::from(after);
            }
            self.occupancy.clear_next();
            if best.as_ref().is_none_or(|b| progress > b.0) {
                best = Some((progress, actions, self.next.clone()));
            }
        }
        let (_, actions, next) = best.expect("at least one trial");
        self.next = next;
        let decay = match self.oriented {
            true => ORIENTED_FLOW_DECAY,
            false => FLOW_DECAY,
        };
        for f in &mut self.flow {
            for x in f.iter_mut() {
                *x *= decay;
            }
        }
        for (robot, a) in view.robots.iter().zip(&actions) {
            if *a == Action::Forward {
                self.flow[robot.cell as usize][robot.facing as usize] += 1.0;
            }
        }
        for (r, robot) in view.robots.iter().enumerate() {
            self.occupancy.now[robot.cell as usize] = NONE;
            advance(&mut self.priority[r], self.next[r] == self.goal[r]);
        }
        (actions, schedule)
    }

    /// Drops the tables no robot heads for once there are twice as many as goals and
    /// they take more than [`KEPT_TABLE_BYTES`] (on small floors a table serves again
    /// soon: every cell is some task's errand).
    fn trim_tables(&mut self) {
        let bytes = self.around.len() * if self.oriented { 8 } else { 2 };
        let kept = (2 * self.goal.len().max(64)).max(KEPT_TABLE_BYTES / bytes.max(1));
        if self.tables.len() > kept {
            let goals: HashSet<u32> = self.goal.iter().copied().collect();
            self.tables.retain(|g, _| goals.contains(g));
        }
    }

    /// Quarter turns a robot arriving on `cell` facing `facing` needs to face a
    /// neighbour one step nearer the goal of `table` (none at the goal).
    fn turns_on(&self, table: &[u16], cell: u32, facing: u8) -> u8 {
        let d = table[cell as usize];
        if d == 0 {
            return 0;
        }
        let around = &self.around[cell as usize];
        (0..4u8)
            .filter(|&k| {
                let n = around[k as usize];
                n != NONE && table[n as usize] < d
            })
            .map(|k| turns(facing, k))
            .min()
            .unwrap_or(0)
    }

    /// Actions from the planned cells: forward where the robot faces its next cell and
    /// that cell is being left (or empty); otherwise a turn towards it, or a wait.
    fn actions(&self, view: &View<'_>) -> Vec<Action> {
        let n = view.robots.len();
        let mut actions = vec![Action::Wait; n];
        for (r, robot) in view.robots.iter().enumerate() {
            let v = robot.cell;
            if self.next[r] == v {
                continue;
            }
            let d = self.around[v as usize]
                .iter()
                .position(|&u| u == self.next[r])
                .expect("PIBT plans a neighbour or the cell itself") as u8;
            actions[r] = match (d + 4 - robot.facing) % 4 {
                0 => Action::Forward,
                3 => Action::Counter,
                _ => Action::Clockwise,
            };
        }
        // A forward move into a cell whose robot does not leave it is cancelled, and so
        // on back along the chain. 0 unknown, 1 checking, 2 goes, 3 stays.
        let mut state = vec![0u8; n];
        for r in 0..n {
            self.settle(r, &mut actions, &mut state);
        }
        actions
    }

    fn settle(&self, r: usize, actions: &mut [Action], state: &mut [u8]) -> bool {
        match state[r] {
            2 => return true,
            3 => return false,
            // Robots moving round a cycle into each other's cells all go (following is
            // allowed; PIBT plans no swaps).
            1 => return true,
            _ => {}
        }
        if actions[r] != Action::Forward {
            state[r] = 3;
            return false;
        }
        state[r] = 1;
        let j = self.occupancy.now[self.next[r] as usize];
        let goes = j == NONE || self.settle(j as usize, actions, state);
        if !goes {
            actions[r] = Action::Wait;
        }
        state[r] = if goes { 2 } else { 3 };
        goes
    }
}

impl Agents for Entry {
    type Moves = GridMoves;

    fn occupancy(&mut self) -> &mut Occupancy {
        &mut self.occupancy
    }

    fn stands_on(&self, r: u32) -> u32 {
        self.robots[r as usize].0
    }

    /// Cells by the steps to get there and on (the turns to face them count); among
    /// equals, free cells first (nobody to push), then at random. The entry plans no
    /// swaps.
    #[inline(always)]
    fn moves(&mut self, r: u32, _: bool, _: &[u32]) -> (GridMoves, Option<u32>) {
        let (v, facing) = self.robots[r as usize];
        let around = self.around[v as usize];
        let table = &self.tables[&self.goal[r as usize]];
        let mut cands: [(u32, u64, u32); 5] = [(u32::MAX, 0, NONE); 5];
        let mut count = 0;
        for (d, &u) in around.iter().enumerate() {
            if u != NONE {
                // Against the recent flow (robots lately came the other way along this
                // edge): dearer, so lanes form instead of head-on meetings.
                let against = self.flow[u as usize][(d + 2) % 4] > FLOW_THRESHOLD;
                // Steps on from the cell, facing the way the robot enters it.
                let on = u32::from(steps_in(table, self.oriented, u, Some(d as u8)))
                    + match self.oriented {
                        true => 0,
                        false => u32::from(self.turns_on(table, u, d as u8)),
                    };
                // The step into it: one along its highway, more against.
                let (x, y) = (u as usize % self.width, u as usize / self.width);
                let step = highway_step(x, y, d);
                let cost = on
                    + step
                    + u32::from(turns(facing, d as u8))
                    + u32::from(against) * FLOW_PENALTY;
                cands[count] = (cost, 0, u);
                count += 1;
            }
        }
        let here = steps_in(table, self.oriented, v, Some(facing));
        // On its goal (an errand that needs another step there, or nothing to do),
        // staying comes first.
        let stay = if here == 0 {
            0
        } else {
            u32::from(here) + STAY_COST
        };
        cands[count] = (stay, 0, v);
        count += 1;
        for c in cands.iter_mut().take(count) {
            let busy = self.occupancy.now[c.2 as usize] != NONE && c.2 != v;
            c.1 = (u64::from(busy) << 62) | (self.random() >> 2);
        }
        cands[..count].sort_unstable();
        (GridMoves::of(cands[..count].iter().map(|c| c.2)), None)
    }
}

#[cfg(test)]
mod tests {
    use super::{
        Entry, FAR, NONE, ORIENTED_CELLS, highway_distances, neighbours, oriented_distances,
    };
    use crate::runners::{Contest, Instance};

    /// The floor of `rows` (`.` free, `@` blocked) with one robot in the top-left corner
    /// and one task with both errands on `goal`.
    fn floor(rows: &[&str], goal: u32) -> Instance {
        let map = format!(
            "type octile\nheight {}\nwidth {}\nmap\n{}\n",
            rows.len(),
            rows[0].len(),
            rows.join("\n")
        );
        Instance::from_parts(&map, &[0], vec![vec![goal, goal]], 1.5).unwrap()
    }

    /// The four neighbours of each cell of `rows`, as the entry keeps them.
    fn around(rows: &[&str]) -> Vec<[u32; 4]> {
        neighbours(&floor(rows, 0))
    }

    /// What the move into `cell` of a floor `width` wide facing `facing` costs: 1 along
    /// the highways (rows: even east, odd west; columns: even south, odd north), 2
    /// against them.
    fn move_cost(cell: u32, facing: u8, width: usize) -> u16 {
        let (x, y) = (cell as usize % width, cell as usize / width);
        // Facings 0 and 2 run along the row, 1 and 3 along the column.
        let line = [y, x, y, x][facing as usize];
        let even = line & 1 == 0;
        // East and south go the way of even rows and columns.
        if even == (facing < 2) { 1 } else { 2 }
    }

    /// The least cost from `(cell, facing)` to standing on `goal` (a quarter turn 1, a
    /// move [`move_cost`]), by a search forward through the action model (forward,
    /// clockwise, counter-clockwise) that settles the cheapest state first.
    fn forward_search(around: &[[u32; 4]], width: usize, cell: u32, facing: u8, goal: u32) -> u16 {
        let mut cost = vec![u32::MAX; around.len() * 4];
        let mut open = std::collections::BinaryHeap::new();
        cost[cell as usize * 4 + facing as usize] = 0;
        open.push(std::cmp::Reverse((0u32, cell, facing)));
        while let Some(std::cmp::Reverse((k, c, f))) = open.pop() {
            if k > cost[c as usize * 4 + f as usize] {
                continue;
            }
            if c == goal {
                return k as u16;
            }
            let ahead = around[c as usize][f as usize];
            let moves = [
                (ahead != NONE).then(|| (ahead, f, u32::from(move_cost(ahead, f, width)))),
                Some((c, (f + 1) % 4, 1)),
                Some((c, (f + 3) % 4, 1)),
            ];
            for (c2, f2, w) in moves.into_iter().flatten() {
                let slot = &mut cost[c2 as usize * 4 + f2 as usize];
                if k + w < *slot {
                    *slot = k + w;
                    open.push(std::cmp::Reverse((k + w, c2, f2)));
                }
            }
        }
        FAR
    }

    #[test]
    fn steps_from_a_cell_and_facing_count_the_turns_and_the_highways() {
        // A 3 x 3 room, goal in the top-left corner (cell 0). Facings: 0 east, 1 south,
        // 2 west, 3 north. Rows: 0 east, 1 west, 2 east; columns: 0 south, 1 north, 2
        // south (a step against them costs 2).
        let room = around(&["...", "...", "..."]);
        let t = oriented_distances(&room, 3, 0);
        // On the goal: done, whatever the facing.
        assert_eq!(&t[0..4], &[0, 0, 0, 0]);
        // Cell 1 (right of the goal): facing west one step against the top row (2);
        // north or south a turn first; east a half turn.
        assert_eq!(&t[4..8], &[4, 3, 2, 3]);
        // The far corner (cell 8) facing west: west against the bottom row (2), a turn,
        // north up the middle column twice (1 + 1), a turn, west against the top row (2):
        // 8, where the two sides of the room (west and north against both) cost 9.
        assert_eq!(t[8 * 4 + 2], 8);
        // The cell below the goal (3) facing south: a half turn and a step against the
        // first column.
        assert_eq!(t[3 * 4 + 1], 4);
    }

    #[test]
    fn a_step_against_its_highway_costs_two() {
        // Rows: 0 east, 1 west; columns: 0 south, 1 north, 2 south. Goal: cell 2, the top
        // right corner; a blocked cell (7) in a third row.
        let floor = around(&["...", "...", ".@."]);
        let t = highway_distances(&floor, 3, 2);
        // Top row, east: with its row. Cell 5 below the goal: north up a south column.
        // Cell 4: north up a north column (1), then east (1); not east along a west row
        // (2) and north (2). Cell 3: east against its row (2) then 2, or north against
        // its column (2) then 2.
        assert_eq!(&t[..6], &[2, 1, 0, 4, 2, 2]);
        // Cell 6: north up a south column (2) then 4, or east... blocked. Cell 8: north
        // against its column (2) then 2.
        assert_eq!((t[6], t[7], t[8]), (6, FAR, 4));
    }

    #[test]
    fn highway_distances_are_the_cheapest_ways_a_relaxation_finds() {
        // Independent: every cell's cost lowered through its neighbours until nothing
        // changes (Bellman-Ford), a step costing 1 along a highway and 2 against it.
        let floor = FLOOR;
        let around = around(&floor);
        for goal in [0u32, 9, 34, 45, 69] {
            let mut want = vec![u32::MAX; around.len()];
            want[goal as usize] = 0;
            loop {
                let mut changed = false;
                for (c, next) in around.iter().enumerate() {
                    // A blocked cell is reached from nowhere.
                    if floor[c / 10].as_bytes()[c % 10] != b'.' {
                        continue;
                    }
                    for (k, &to) in next.iter().enumerate() {
                        if to == NONE || want[to as usize] == u32::MAX {
                            continue;
                        }
                        let (x, y) = (c % 10, c / 10);
                        let east_or_south = k < 2;
                        let with = if k % 2 == 0 { y % 2 == 0 } else { x % 2 == 0 };
                        let step = if with == east_or_south { 1 } else { 2 };
                        if want[to as usize] + step < want[c] {
                            want[c] = want[to as usize] + step;
                            changed = true;
                        }
                    }
                }
                if !changed {
                    break;
                }
            }
            let got = highway_distances(&around, 10, goal);
            for c in 0..around.len() {
                let want = u16::try_from(want[c]).unwrap_or(FAR);
                assert_eq!(got[c], want, "{c} -> {goal}");
            }
        }
    }

    #[test]
    fn a_robot_keeps_to_the_highways_on_a_large_floor() {
        // An open floor of 110 x 100 (tables by cell along highways): one robot from the
        // top-left corner to the far end of the top row (east-bound) and back. Back, it
        // takes the second row (west-bound), one step away, instead of driving 100 steps
        // against the first.
        let rows: Vec<String> = (0..100).map(|_| ".".repeat(110)).collect();
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        const { assert!(110 * 100 > ORIENTED_CELLS) };
        let map = format!(
            "type octile\nheight 100\nwidth 110\nmap\n{}\n",
            rows.join("\n")
        );
        let instance = Instance::from_parts(&map, &[0], vec![vec![100, 0]], 1.5).unwrap();
        let mut contest = Contest::new(&instance);
        let mut entry = Entry::new(&instance, 0);
        let (mut steps, mut on_second_row) = (0, 0);
        while contest.finished() == 0 && steps < 400 {
            let (actions, schedule) = entry.decide(&contest.view());
            contest.step(&actions, &schedule);
            steps += 1;
            let cell = contest.view().robots[0].cell;
            if (110..220).contains(&cell) {
                on_second_row += 1;
            }
        }
        assert_eq!(contest.finished(), 1);
        assert!(
            on_second_row >= 100,
            "{on_second_row} steps on the second row"
        );
        // 100 steps there, 102 back (down, 100 west, up) and a few turns.
        assert!(steps <= 210, "{steps} steps");
    }

    /// The floor of the tests below: 7 rows of 10, obstacles `@`.
    const FLOOR: [&str; 7] = [
        "..@....@..",
        ".@@.@@....",
        "......@.@.",
        "@.@@......",
        "...@..@@@.",
        ".@...@....",
        "@@@.......",
    ];

    #[test]
    fn a_robot_alone_takes_the_cheapest_way_turns_and_highways_included() {
        // One robot from the top-left corner, facing east, to each free cell in turn (a
        // task with both errands there: the second counts a step after the first). It
        // must arrive by the cheapest way the actions allow (a turn 1, a move 1 along
        // its highway and 2 against it), as an independent search finds it, never
        // waiting on the way.
        let around = around(&FLOOR);
        for goal in 1..70u32 {
            if FLOOR[goal as usize / 10].as_bytes()[goal as usize % 10] != b'.' {
                continue;
            }
            let want = u64::from(forward_search(&around, 10, 0, 0, goal));
            let instance = floor(&FLOOR, goal);
            let mut contest = Contest::new(&instance);
            let mut entry = Entry::new(&instance, 0);
            let (mut steps, mut cost, mut actions_taken) = (0, 0, 0);
            while contest.finished() == 0 && steps < 100 {
                let before = contest.view().robots[0];
                let (actions, schedule) = entry.decide(&contest.view());
                contest.step(&actions, &schedule);
                steps += 1;
                let after = contest.view().robots[0];
                if after.cell != before.cell {
                    cost += u64::from(move_cost(after.cell, after.facing, 10));
                    actions_taken += 1;
                } else if after.facing != before.facing {
                    cost += 1;
                    actions_taken += 1;
                }
            }
            assert_eq!(cost, want, "to cell {goal}");
            assert_eq!(
                steps,
                actions_taken + 1,
                "to cell {goal}: no wait on the way"
            );
        }
    }

    #[test]
    fn costs_from_a_cell_and_facing_match_a_search_through_the_actions() {
        let floor = FLOOR;
        let around = around(&floor);
        for goal in [0u32, 9, 34, 45, 69] {
            let t = oriented_distances(&around, 10, goal);
            for cell in 0..around.len() as u32 {
                let free = floor[cell as usize / 10].as_bytes()[cell as usize % 10] == b'.';
                for f in 0..4u8 {
                    let want = if free {
                        forward_search(&around, 10, cell, f, goal)
                    } else {
                        // A blocked cell is reached from nowhere and reaches nothing.
                        FAR
                    };
                    assert_eq!(
                        t[cell as usize * 4 + f as usize],
                        want,
                        "{cell} {f} -> {goal}"
                    );
                }
            }
        }
    }
}
