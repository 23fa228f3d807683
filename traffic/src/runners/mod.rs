//! The League of Robot Runners (LoRR 2024) lifelong benchmark: its file formats
//! ([`Instance`]), its rules as an independent referee ([`Contest`]: moves, conflicts,
//! the task reveal pool, schedules and errands), and twinline's own entry
//! ([`Entry`]: greedy task assignment and PIBT planning with orientations).
//!
//! Robots stand on a 4-connected grid facing east, south, west or north; each step every
//! robot moves one cell forward, turns 90° either way or waits. No two may end a step on
//! one cell or swap cells; one invalid action makes every robot wait that step. Tasks are
//! revealed in file order, 1.5 per robot in the pool; a task is finished when its robot
//! has stood on each of its errand cells in order. The figure compared is the tasks
//! finished within the horizon.
//!
//! ```
//! use traffic::runners::{Contest, Entry, Instance};
//!
//! // A 1 × 4 corridor, one robot at the west end facing east, tasks between the ends.
//! let instance = Instance::from_parts(
//!     "type octile\nheight 1\nwidth 4\nmap\n....\n",
//!     &[0],
//!     vec![vec![3, 0], vec![3, 0]],
//!     1.5,
//! )
//! .unwrap();
//! let mut contest = Contest::new(&instance);
//! let mut entry = Entry::new(&instance, 0);
//! for _ in 0..20 {
//!     let (actions, schedule) = entry.decide(&contest.view());
//!     contest.step(&actions, &schedule);
//! }
//! // Out east (3 moves), back west (a half turn, 3 moves): 8 steps a task.
//! assert_eq!(contest.finished(), 2);
//! assert_eq!(contest.planner_errors(), 0);
//! ```

mod entry;
mod format;
mod rules;

pub use entry::Entry;
pub use format::{Instance, InstanceError, InstanceFiles};
pub use rules::{Action, Contest, Robot, TaskView, View};
