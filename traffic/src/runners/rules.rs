//! The referee: the LoRR 2024 rules, written from the rules alone (no planner code), so
//! that an entry's every step is checked independently.

use super::format::Instance;

/// One robot's action in a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// One cell in the facing direction (`F`).
    Forward,
    /// A quarter turn clockwise (`R`): east → south → west → north.
    Clockwise,
    /// A quarter turn counter-clockwise (`C`).
    Counter,
    /// Stay (`W`).
    Wait,
}

impl Action {
    /// The letter the start-kit writes.
    pub fn letter(self) -> char {
        match self {
            Action::Forward => 'F',
            Action::Clockwise => 'R',
            Action::Counter => 'C',
            Action::Wait => 'W',
        }
    }
}

/// Where a robot stands and which way it faces: 0 east, 1 south, 2 west, 3 north.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Robot {
    /// Cell, `row * width + column`.
    pub cell: u32,
    /// Facing.
    pub facing: u8,
}

/// A revealed, unfinished task as the entry sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskView {
    /// Task id: the reveal order (line `id mod tasks` of the task file).
    pub id: usize,
    /// Errands done so far (a task with one done is open: it stays with its robot).
    pub done: usize,
    /// The robot it is assigned to.
    pub robot: Option<usize>,
}

/// What an entry sees at the start of a step.
pub struct View<'a> {
    /// Steps done.
    pub step: u64,
    /// The robots.
    pub robots: &'a [Robot],
    /// Revealed, unfinished tasks, by id.
    pub tasks: &'a [TaskView],
    /// Every task's errand cells, by `id mod len`.
    pub errands: &'a [Vec<u32>],
}

impl View<'_> {
    /// Task `id`'s errand cells.
    pub fn errands_of(&self, id: usize) -> &[u32] {
        &self.errands[id % self.errands.len()]
    }
}

/// A run of an instance under the rules.
pub struct Contest<'a> {
    instance: &'a Instance,
    robots: Vec<Robot>,
    tasks: Vec<TaskView>,
    next_id: usize,
    steps: u64,
    finished: u64,
    planner_errors: u64,
    schedule_errors: u64,
    /// (step, robot, task, errands done) for every errand done.
    events: Vec<(u64, usize, usize, usize)>,
    occupant: Vec<u32>,
}

const NOBODY: u32 = u32::MAX;

impl<'a> Contest<'a> {
    /// The instance at step 0: robots on their starts facing east, the pool revealed.
    pub fn new(instance: &'a Instance) -> Contest<'a> {
        let mut c = Contest {
            instance,
            robots: instance
                .starts
                .iter()
                .map(|&cell| Robot { cell, facing: 0 })
                .collect(),
            tasks: Vec::new(),
            next_id: 0,
            steps: 0,
            finished: 0,
            planner_errors: 0,
            schedule_errors: 0,
            events: Vec::new(),
            occupant: vec![NOBODY; instance.free.len()],
        };
        c.reveal();
        c
    }

    fn reveal(&mut self) {
        while self.tasks.len() < self.instance.pool {
            self.tasks.push(TaskView {
                id: self.next_id,
                done: 0,
                robot: None,
            });
            self.next_id += 1;
        }
    }

    /// What an entry sees now.
    pub fn view(&self) -> View<'_> {
        View {
            step: self.steps,
            robots: &self.robots,
            tasks: &self.tasks,
            errands: &self.instance.tasks,
        }
    }

    /// Where robot `r` ends up by `a`; `None` off the map or on an obstacle.
    fn after(&self, r: Robot, a: Action) -> Option<Robot> {
        let (w, h) = (self.instance.width as i64, self.instance.height as i64);
        let (row, col) = (r.cell as i64 / w, r.cell as i64 % w);
        Some(match a {
            Action::Wait => r,
            Action::Clockwise => Robot {
                facing: (r.facing + 1) % 4,
                ..r
            },
            Action::Counter => Robot {
                facing: (r.facing + 3) % 4,
                ..r
            },
            Action::Forward => {
                let (dr, dc) = [(0, 1), (1, 0), (0, -1), (-1, 0)][r.facing as usize % 4];
                let (nr, nc) = (row + dr, col + dc);
                if !(0..h).contains(&nr) || !(0..w).contains(&nc) {
                    return None;
                }
                let cell = (nr * w + nc) as u32;
                if !self.instance.free[cell as usize] {
                    return None;
                }
                Robot { cell, ..r }
            }
        })
    }

    /// The robots after `actions`, or `None` if any action is invalid: off the map, into
    /// an obstacle, two robots ending on one cell, or two swapping cells.
    fn moved(&mut self, actions: &[Action]) -> Option<Vec<Robot>> {
        if actions.len() != self.robots.len() {
            return None;
        }
        let next: Option<Vec<Robot>> = self
            .robots
            .iter()
            .zip(actions)
            .map(|(&r, &a)| self.after(r, a))
            .collect();
        let next = next?;
        let mut ok = true;
        for (i, r) in self.robots.iter().enumerate() {
            self.occupant[r.cell as usize] = i as u32;
        }
        // Swaps: i goes where j stands while j comes where i stands.
        for (i, n) in next.iter().enumerate() {
            let j = self.occupant[n.cell as usize];
            if j != NOBODY && j as usize != i && next[j as usize].cell == self.robots[i].cell {
                ok = false;
            }
        }
        for r in &self.robots {
            self.occupant[r.cell as usize] = NOBODY;
        }
        // Vertex conflicts.
        for (i, n) in next.iter().enumerate() {
            if self.occupant[n.cell as usize] != NOBODY {
                ok = false;
            }
            self.occupant[n.cell as usize] = i as u32;
        }
        for n in &next {
            self.occupant[n.cell as usize] = NOBODY;
        }
        ok.then_some(next)
    }

    /// Whether `schedule` (a task id or none per robot) may replace the assignment: every
    /// task named revealed and unfinished, none twice, and no open task taken from its
    /// robot.
    fn schedule_valid(&self, schedule: &[Option<usize>]) -> bool {
        if schedule.len() != self.robots.len() {
            return false;
        }
        let mut named: Vec<usize> = schedule.iter().flatten().copied().collect();
        named.sort_unstable();
        if named.windows(2).any(|w| w[0] == w[1]) {
            return false;
        }
        if named
            .iter()
            .any(|&id| self.tasks.binary_search_by_key(&id, |t| t.id).is_err())
        {
            return false;
        }
        self.tasks
            .iter()
            .filter(|t| t.done > 0)
            .all(|t| t.robot.is_some_and(|r| schedule[r] == Some(t.id)))
    }

    /// One step: the robots act (all wait if any action is invalid), the proposed
    /// schedule replaces the assignment if valid, robots on their task's next errand
    /// do it, finished tasks leave and new ones are revealed.
    pub fn step(&mut self, actions: &[Action], schedule: &[Option<usize>]) {
        match self.moved(actions) {
            Some(next) => self.robots = next,
            None => self.planner_errors += 1,
        }
        if self.schedule_valid(schedule) {
            for t in &mut self.tasks {
                t.robot = None;
            }
            for (r, id) in schedule.iter().enumerate() {
                if let Some(id) = id {
                    let k = self
                        .tasks
                        .binary_search_by_key(id, |t| t.id)
                        .expect("checked");
                    self.tasks[k].robot = Some(r);
                }
            }
        } else {
            self.schedule_errors += 1;
        }
        let steps = self.steps;
        let errands = &self.instance.tasks;
        let robots = &self.robots;
        let mut finished = 0;
        for t in &mut self.tasks {
            let Some(r) = t.robot else { continue };
            let list = &errands[t.id % errands.len()];
            if robots[r].cell == list[t.done] {
                t.done += 1;
                self.events.push((steps + 1, r, t.id, t.done));
                if t.done == list.len() {
                    finished += 1;
                }
            }
        }
        self.tasks
            .retain(|t| t.done < errands[t.id % errands.len()].len());
        self.finished += finished;
        self.steps += 1;
        self.reveal();
    }

    /// A step in which every robot waits and no schedule is proposed (a planning overrun).
    pub fn step_idle(&mut self) {
        let schedule: Vec<Option<usize>> = {
            let mut s = vec![None; self.robots.len()];
            for t in &self.tasks {
                if let Some(r) = t.robot {
                    s[r] = Some(t.id);
                }
            }
            s
        };
        let wait = vec![Action::Wait; self.robots.len()];
        self.step(&wait, &schedule);
    }

    /// Tasks finished so far.
    pub fn finished(&self) -> u64 {
        self.finished
    }

    /// Steps whose joint action was invalid (every robot waited).
    pub fn planner_errors(&self) -> u64 {
        self.planner_errors
    }

    /// Steps whose proposed schedule was refused.
    pub fn schedule_errors(&self) -> u64 {
        self.schedule_errors
    }

    /// Steps done.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The robots now.
    pub fn robots(&self) -> &[Robot] {
        &self.robots
    }

    /// Every errand done: (step, robot, task, errands done of that task).
    pub fn events(&self) -> &[(u64, usize, usize, usize)] {
        &self.events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corridor() -> Instance {
        // 2 rows × 3: the middle of the bottom row is an obstacle.
        Instance::from_parts(
            "type octile\nheight 2\nwidth 3\nmap\n...\n.@.\n",
            &[0, 2],
            vec![vec![3], vec![5]],
            1.0,
        )
        .unwrap()
    }

    #[test]
    fn robots_turn_and_move_one_cell_the_way_they_face() {
        let inst = corridor();
        let mut c = Contest::new(&inst);
        // Robot 0 faces east: forward to cell 1; robot 1 turns clockwise to face south.
        c.step(&[Action::Forward, Action::Clockwise], &[None, None]);
        assert_eq!(c.robots()[0], Robot { cell: 1, facing: 0 });
        assert_eq!(c.robots()[1], Robot { cell: 2, facing: 1 });
        // Robot 1 faces south: forward to cell 5.
        c.step(&[Action::Wait, Action::Forward], &[None, None]);
        assert_eq!(c.robots()[1].cell, 5);
        assert_eq!(c.planner_errors(), 0);
    }

    #[test]
    fn invalid_joint_actions_make_everyone_wait() {
        let inst = corridor();
        // Off the map: robot 1 faces east at the east edge (no wrap to the next row).
        let mut c = Contest::new(&inst);
        c.step(&[Action::Forward, Action::Forward], &[None, None]);
        assert_eq!(c.planner_errors(), 1);
        assert_eq!(c.robots()[0].cell, 0, "robot 0 waited too");
        // Into an obstacle: robot 0 at 1 facing south would enter cell 4.
        let mut c = Contest::new(&inst);
        c.step(&[Action::Forward, Action::Wait], &[None, None]);
        c.step(&[Action::Clockwise, Action::Wait], &[None, None]);
        c.step(&[Action::Forward, Action::Wait], &[None, None]);
        assert_eq!(c.planner_errors(), 1);
        // A vertex conflict: both into cell 1.
        let mut c = Contest::new(&inst);
        c.step(&[Action::Wait, Action::Clockwise], &[None, None]);
        c.step(&[Action::Wait, Action::Clockwise], &[None, None]);
        c.step(&[Action::Forward, Action::Forward], &[None, None]);
        assert_eq!((c.planner_errors(), c.robots()[0].cell), (1, 0));
        // A swap: 0 at 1 facing east, 1 at 2 facing west.
        let mut c = Contest::new(&inst);
        c.step(&[Action::Forward, Action::Clockwise], &[None, None]);
        c.step(&[Action::Wait, Action::Clockwise], &[None, None]);
        assert_eq!(c.robots()[1], Robot { cell: 2, facing: 2 });
        c.step(&[Action::Forward, Action::Forward], &[None, None]);
        assert_eq!(c.planner_errors(), 1);
        // Following is allowed: 0 at 1 east moves to 2 as 1 leaves 2 southwards.
        let mut c = Contest::new(&inst);
        c.step(&[Action::Forward, Action::Clockwise], &[None, None]);
        c.step(&[Action::Forward, Action::Forward], &[None, None]);
        assert_eq!(c.planner_errors(), 0);
        assert_eq!((c.robots()[0].cell, c.robots()[1].cell), (2, 5));
    }

    #[test]
    fn schedules_follow_the_rules_and_errands_count_in_order() {
        let inst = corridor();
        let mut c = Contest::new(&inst);
        assert_eq!(c.view().tasks.len(), 2, "a pool of 1 × 2 robots");
        // One task to two robots: refused.
        c.step(&[Action::Wait, Action::Wait], &[Some(0), Some(0)]);
        assert_eq!(c.schedule_errors(), 1);
        // An unrevealed task: refused.
        c.step(&[Action::Wait, Action::Wait], &[Some(7), None]);
        assert_eq!(c.schedule_errors(), 2);
        // Robot 1 takes task 1 (errand: cell 5): turn south, forward: done, one finished,
        // a new task (id 2) revealed.
        c.step(&[Action::Wait, Action::Clockwise], &[None, Some(1)]);
        c.step(&[Action::Wait, Action::Forward], &[None, Some(1)]);
        assert_eq!(c.finished(), 1);
        let ids: Vec<usize> = c.view().tasks.iter().map(|t| t.id).collect();
        assert_eq!(ids, [0, 2]);
        assert_eq!(c.events(), &[(4, 1, 1, 1)]);
    }

    #[test]
    fn an_open_task_stays_with_its_robot() {
        let inst = Instance::from_parts(
            "type octile\nheight 1\nwidth 3\nmap\n...\n",
            &[0, 2],
            vec![vec![0, 2]],
            1.0,
        )
        .unwrap();
        let mut c = Contest::new(&inst);
        // Robot 0 stands on task 0's first errand: assigned, it is done at once: open.
        c.step(&[Action::Wait, Action::Wait], &[Some(0), None]);
        assert_eq!(c.view().tasks[0].done, 1);
        // Taking it away (to robot 1, or to nobody) is refused.
        c.step(&[Action::Wait, Action::Wait], &[None, Some(0)]);
        c.step(&[Action::Wait, Action::Wait], &[None, None]);
        assert_eq!(c.schedule_errors(), 2);
        assert_eq!(c.view().tasks[0].robot, Some(0));
    }
}
