//! A one-shot MAPF solution and its costs.

/// A solution: `configs[t][i]` is agent i's cell at step t; `configs[0]` are the starts and
/// the last are the goals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Solution {
    /// Joint configurations, one per time step.
    pub configs: Vec<Vec<u32>>,
}

impl Solution {
    /// Sum of costs: each agent counts the steps up to its last arrival at its goal.
    pub fn sum_of_costs(&self, goals: &[u32]) -> u64 {
        (0..goals.len())
            .map(|i| {
                self.configs
                    .iter()
                    .rposition(|c| c[i] != goals[i])
                    .map_or(0, |t| t as u64 + 1)
            })
            .sum()
    }

    /// Steps until every agent is at its goal.
    pub fn makespan(&self) -> u64 {
        self.configs.len().saturating_sub(1) as u64
    }
}
