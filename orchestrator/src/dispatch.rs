//! Which free vehicle takes which waiting transport task.
//!
//! The caller lists waiting tasks in the order they should be served (priority, then due
//! time, then age; due time first for [`DispatchPolicy::EarliestDue`]) and gives the cost
//! of each vehicle–task pair (travel steps to the pickup; [`UNREACHABLE`] where a vehicle
//! cannot do the task). The order-keeping policies serve the first `min(vehicles, tasks)`
//! servable tasks, so urgent work is never skipped for cheaper work; they differ in who
//! gets what. [`DispatchPolicy::MinEmptyTravel`] instead picks, among all tasks, the pairs
//! of least total cost (the caller folds priority and lateness into the costs).

/// Cost of a pair that cannot be assigned.
pub const UNREACHABLE: u64 = u64::MAX;

/// How tasks are given to free vehicles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum DispatchPolicy {
    /// Task by task in order, each to the nearest vehicle still free (greedy).
    #[default]
    NearestIdle,
    /// The assignment of least total cost (Hungarian method) over the tasks served.
    Optimal,
    /// Tasks in order of due time, each to the nearest vehicle still free (the caller
    /// orders them).
    EarliestDue,
    /// The assignment of least total cost over all waiting tasks and all vehicles
    /// offered (idle ones, soon-idle ones and those on their way to a pickup): as many
    /// pairs as the smaller side has, of least total cost.
    MinEmptyTravel,
}

/// Pairs `(vehicle, task)` for `costs[vehicle][task]`; each vehicle and task at most once.
pub fn assign(policy: DispatchPolicy, costs: &[Vec<u64>]) -> Vec<(usize, usize)> {
    let vehicles = costs.len();
    if vehicles == 0 {
        return Vec::new();
    }
    let tasks = costs[0].len();
    if policy == DispatchPolicy::MinEmptyTravel {
        return least_total(costs);
    }
    // Tasks some vehicle can do, in the caller's order, as many as there are vehicles.
    let served: Vec<usize> = (0..tasks)
        .filter(|&t| (0..vehicles).any(|v| costs[v][t] != UNREACHABLE))
        .take(vehicles)
        .collect();
    match policy {
        DispatchPolicy::NearestIdle | DispatchPolicy::EarliestDue => {
            let mut taken = vec![false; vehicles];
            let mut out = Vec::new();
            for &t in &served {
                let best = (0..vehicles)
                    .filter(|&v| !taken[v] && costs[v][t] != UNREACHABLE)
                    .min_by_key(|&v| (costs[v][t], v));
                if let Some(v) = best {
                    taken[v] = true;
                    out.push((v, t));
                }
            }
            out
        }
        DispatchPolicy::MinEmptyTravel => unreachable!("handled above"),
        DispatchPolicy::Optimal => {
            // Rows are the served tasks (rows ≤ columns = vehicles).
            let big = costs
                .iter()
                .flat_map(|r| served.iter().map(move |&t| r[t]))
                .filter(|&c| c != UNREACHABLE)
                .max()
                .unwrap_or(0)
                .saturating_add(1)
                .saturating_mul(served.len() as u64 + 1);
            let matrix: Vec<Vec<i64>> = served
                .iter()
                .map(|&t| {
                    (0..vehicles)
                        .map(|v| {
                            let c = costs[v][t];
                            (if c == UNREACHABLE { big } else { c }) as i64
                        })
                        .collect()
                })
                .collect();
            let cols = hungarian(&matrix);
            let mut out: Vec<(usize, usize)> = served
                .iter()
                .zip(cols)
                .map(|(&t, v)| (v, t))
                .filter(|&(v, t)| costs[v][t] != UNREACHABLE)
                .collect();
            out.sort_by_key(|&(_, t)| t);
            out
        }
    }
}

/// Pairs `(vehicle, task)` of least total cost, `min(vehicles, tasks)` of them less those
/// only an [`UNREACHABLE`] pair could make, sorted by task.
fn least_total(costs: &[Vec<u64>]) -> Vec<(usize, usize)> {
    let (vehicles, tasks) = (costs.len(), costs[0].len());
    if tasks == 0 {
        return Vec::new();
    }
    // An unreachable pair costs more than any assignment of reachable ones.
    let big = costs
        .iter()
        .flatten()
        .filter(|&&c| c != UNREACHABLE)
        .max()
        .unwrap_or(&0)
        .saturating_add(1)
        .saturating_mul(vehicles.min(tasks) as u64 + 1)
        .min(i64::MAX as u64 / (vehicles + tasks + 1) as u64);
    let cost = |v: usize, t: usize| -> i64 {
        let c = costs[v][t];
        (if c == UNREACHABLE { big } else { c.min(big) }) as i64
    };
    let mut out: Vec<(usize, usize)> = if vehicles <= tasks {
        let m: Vec<Vec<i64>> = (0..vehicles)
            .map(|v| (0..tasks).map(|t| cost(v, t)).collect())
            .collect();
        hungarian(&m).into_iter().enumerate().collect()
    } else {
        let m: Vec<Vec<i64>> = (0..tasks)
            .map(|t| (0..vehicles).map(|v| cost(v, t)).collect())
            .collect();
        hungarian(&m)
            .into_iter()
            .enumerate()
            .map(|(t, v)| (v, t))
            .collect()
    };
    out.retain(|&(v, t)| costs[v][t] != UNREACHABLE);
    out.sort_by_key(|&(_, t)| t);
    out
}

/// Minimum-cost assignment of every row to a distinct column (rows ≤ columns), by the
/// Hungarian method with potentials, O(rows² · columns). Returns each row's column.
pub fn hungarian(cost: &[Vec<i64>]) -> Vec<usize> {
    let n = cost.len();
    if n == 0 {
        return Vec::new();
    }
    let m = cost[0].len();
    assert!(n <= m, "more rows than columns");
    // 1-based potentials u (rows), v (columns); p[j] = row matched to column j.
    let (mut u, mut v) = (vec![0i64; n + 1], vec![0i64; m + 1]);
    let (mut p, mut way) = (vec![0usize; m + 1], vec![0usize; m + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![i64::MAX; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = i64::MAX;
            let mut j1 = 0;
            for j in 1..=m {
                if !used[j] {
                    let cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut row_col = vec![0; n];
    for j in 1..=m {
        if p[j] != 0 {
            row_col[p[j] - 1] = j - 1;
        }
    }
    row_col
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nearest_idle_is_greedy_and_optimal_is_not() {
        // Vehicle 0 is nearest to both tasks; greedy gives it task 0 and sends vehicle 1
        // far to task 1 (1 + 10 = 11); the optimum swaps them (2 + 3 = 5).
        let costs = vec![vec![1, 2], vec![3, 10]];
        assert_eq!(
            assign(DispatchPolicy::NearestIdle, &costs),
            vec![(0, 0), (1, 1)]
        );
        assert_eq!(
            assign(DispatchPolicy::Optimal, &costs),
            vec![(1, 0), (0, 1)]
        );
    }

    #[test]
    fn more_tasks_than_vehicles_serves_the_first_tasks() {
        // One vehicle, three tasks: the first servable task is served even if another is
        // nearer; a task nobody can reach is passed over.
        let costs = vec![vec![UNREACHABLE, 9, 1]];
        for p in [DispatchPolicy::NearestIdle, DispatchPolicy::Optimal] {
            assert_eq!(assign(p, &costs), vec![(0, 1)]);
        }
    }

    #[test]
    fn min_empty_travel_looks_past_the_first_tasks() {
        // One vehicle, three tasks: it takes the cheapest (task 2), not the first.
        assert_eq!(
            assign(DispatchPolicy::MinEmptyTravel, &[vec![UNREACHABLE, 9, 1]]),
            vec![(0, 2)]
        );
        // Three vehicles, two tasks: the pair of least total cost (3 + 1), each task once;
        // a vehicle that can reach nothing gets nothing.
        let costs = vec![vec![5, 2], vec![3, 8], vec![UNREACHABLE, UNREACHABLE]];
        assert_eq!(
            assign(DispatchPolicy::MinEmptyTravel, &costs),
            vec![(1, 0), (0, 1)]
        );
        // Nobody can reach the only task.
        assert!(assign(DispatchPolicy::MinEmptyTravel, &[vec![UNREACHABLE]]).is_empty());
    }

    fn brute(cost: &[Vec<i64>]) -> i64 {
        fn go(cost: &[Vec<i64>], row: usize, used: &mut Vec<bool>) -> i64 {
            if row == cost.len() {
                return 0;
            }
            let mut best = i64::MAX;
            for j in 0..cost[0].len() {
                if !used[j] {
                    used[j] = true;
                    best = best.min(cost[row][j] + go(cost, row + 1, used));
                    used[j] = false;
                }
            }
            best
        }
        go(cost, 0, &mut vec![false; cost[0].len()])
    }

    proptest! {
        #[test]
        fn hungarian_matches_brute_force(
            rows in 1usize..5, extra in 0usize..3,
            seed in proptest::collection::vec(0i64..50, 32)
        ) {
            let cols = rows + extra;
            let cost: Vec<Vec<i64>> = (0..rows)
                .map(|i| (0..cols).map(|j| seed[(i * cols + j) % seed.len()] * (1 + (i as i64 ^ j as i64))).collect())
                .collect();
            let cols_of = hungarian(&cost);
            let mut seen = cols_of.clone();
            seen.sort();
            seen.dedup();
            prop_assert_eq!(seen.len(), rows);
            let total: i64 = cols_of.iter().enumerate().map(|(i, &j)| cost[i][j]).sum();
            prop_assert_eq!(total, brute(&cost));
        }

        #[test]
        fn min_empty_travel_is_the_least_total_either_way_round(
            vehicles in 1usize..5, tasks in 1usize..5,
            seed in proptest::collection::vec(0u64..40, 25)
        ) {
            let costs: Vec<Vec<u64>> = (0..vehicles)
                .map(|v| (0..tasks).map(|t| seed[(v * 5 + t) % seed.len()] + (v as u64 * 7 + t as u64 * 3) % 11).collect())
                .collect();
            let pairs = assign(DispatchPolicy::MinEmptyTravel, &costs);
            prop_assert_eq!(pairs.len(), vehicles.min(tasks));
            let mut vs: Vec<usize> = pairs.iter().map(|p| p.0).collect();
            let mut ts: Vec<usize> = pairs.iter().map(|p| p.1).collect();
            vs.sort();
            vs.dedup();
            ts.sort();
            ts.dedup();
            prop_assert_eq!((vs.len(), ts.len()), (pairs.len(), pairs.len()));
            let total: u64 = pairs.iter().map(|&(v, t)| costs[v][t]).sum();
            let as_i64 = |m: Vec<Vec<u64>>| -> Vec<Vec<i64>> {
                m.into_iter().map(|r| r.into_iter().map(|c| c as i64).collect()).collect()
            };
            let best = if vehicles <= tasks {
                brute(&as_i64(costs.clone()))
            } else {
                brute(&as_i64((0..tasks).map(|t| (0..vehicles).map(|v| costs[v][t]).collect()).collect()))
            };
            prop_assert_eq!(total as i64, best);
        }
    }
}
