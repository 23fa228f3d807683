//! The result text LaCAM's tools and visualisers read: `key=value` lines, then
//! `solution=` and one line per step, `t:(x,y),(x,y),...` in agent order (x = column).

use super::grid::GridMap;
use super::solution::Solution;
use std::fmt::Write as _;

/// A solved (or unsolved) one-shot MAPF instance, ready to print.
#[derive(Clone, Debug)]
pub struct MapfReport<'a> {
    /// The map.
    pub map: &'a GridMap,
    /// The map file's name as given.
    pub map_file: String,
    /// Solver name.
    pub solver: String,
    /// Starts and goals, in agent order.
    pub starts: &'a [u32],
    pub goals: &'a [u32],
    /// Lower bounds (sum of costs, makespan).
    pub lower_bounds: (u64, u64),
    /// Planning time, milliseconds (measured by the caller).
    pub comp_time_ms: f64,
    /// The solution, if one was found.
    pub solution: Option<&'a Solution>,
}

impl MapfReport<'_> {
    fn cells(&self, out: &mut String, cells: &[u32]) {
        for &c in cells {
            let (x, y) = self.map.xy(c);
            let _ = write!(out, "({x},{y}),");
        }
    }

    /// The report text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let (soc, makespan) = self
            .solution
            .map_or((0, 0), |sol| (sol.sum_of_costs(self.goals), sol.makespan()));
        let _ = writeln!(s, "agents={}", self.starts.len());
        let _ = writeln!(s, "map_file={}", self.map_file);
        let _ = writeln!(s, "solver={}", self.solver);
        let _ = writeln!(s, "solved={}", self.solution.is_some() as u8);
        let _ = writeln!(s, "soc={soc}");
        let _ = writeln!(s, "soc_lb={}", self.lower_bounds.0);
        let _ = writeln!(s, "makespan={makespan}");
        let _ = writeln!(s, "makespan_lb={}", self.lower_bounds.1);
        let _ = writeln!(s, "comp_time={:.0}", self.comp_time_ms);
        s.push_str("starts=");
        self.cells(&mut s, self.starts);
        s.push_str("\ngoals=");
        self.cells(&mut s, self.goals);
        s.push_str("\nsolution=\n");
        if let Some(sol) = self.solution {
            for (t, config) in sol.configs.iter().enumerate() {
                let _ = write!(s, "{t}:");
                self.cells(&mut s, config);
                s.push('\n');
            }
        }
        s
    }
}
