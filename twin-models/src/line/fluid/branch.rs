//! Where a branching line run as flows parts and meets: the fluid limit of the unit-by-unit
//! picks of [`crate::line::junction`]. A junction shares a rate (ticks per nanosecond) among its
//! branches by its rule, as the unit-by-unit pick would over many units:
//!
//! - each branch has a **key**, the quantity the rule compares (a divider by most room:
//!   the level less the capacity; by shares: the units had over the share; a combiner or
//!   priority rule: its place in the list), and the rule serves the lowest key first;
//! - branches whose keys are equal are served together, so that their keys move on
//!   together (two lanes with equal room fill alike; shares 2:1 take 2:1), each up to what
//!   it can take; what the lowest cannot take goes on to the next.
//!
//! A branch served alone moves its key until it meets the next one's: that moment is a
//! boundary of the flows ([`meeting`]), after which the two are served together.

/// One branch of a junction: it takes `clamp(base + slope × v, 0, cap)` when its group is
/// served at level `v` (ticks per nanosecond: `slope` > 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Branch {
    /// What the rule compares; the lowest is served first.
    pub key: f64,
    pub base: f64,
    pub slope: f64,
    /// The most it can take, ticks per nanosecond (infinite when unbounded).
    pub cap: f64,
    /// Among equal keys, branches of a lower phase are filled before those of a higher one.
    pub phase: u8,
}

impl Branch {
    fn at(&self, v: f64) -> f64 {
        (self.base + self.slope * v).clamp(0.0, self.cap)
    }
}

/// Room to work in, kept between calls so that sharing allocates nothing.
#[derive(Clone, Debug, Default)]
pub(super) struct Scratch {
    order: Vec<usize>,
    points: Vec<f64>,
}

/// Shares `total` among `branches` into `out` (one each): the lowest keys first (keys
/// within `tol` of each other count as equal), each group filled at one level up to what
/// its branches can take (its lowest phase first, phase by phase), the rest to the next
/// group.
/// Returns what was placed (less than `total` when all are full).
pub(super) fn share(
    branches: &[Branch],
    total: f64,
    tol: f64,
    out: &mut [f64],
    scratch: &mut Scratch,
) -> f64 {
    let n = branches.len();
    out[..n].fill(0.0);
    if n == 1 {
        out[0] = total.min(branches[0].cap).max(0.0);
        return out[0];
    }
    let mut order = std::mem::take(&mut scratch.order);
    order.clear();
    order.extend(0..n);
    // Stable: equal keys keep their listed order.
    order.sort_by(|&a, &b| branches[a].key.total_cmp(&branches[b].key));
    let mut left = total;
    let mut start = 0;
    while start < n && left > 0.0 {
        let low = branches[order[start]].key;
        let mut end = start + 1;
        while end < n && branches[order[end]].key - low <= tol {
            end += 1;
        }
        let group = &mut order[start..end];
        group.sort_by_key(|&k| branches[k].phase);
        for phase in group.chunk_by(|&a, &b| branches[a].phase == branches[b].phase) {
            if left <= 0.0 {
                break;
            }
            left -= fill(branches, phase, left, out, &mut scratch.points);
        }
        start = end;
    }
    scratch.order = order;
    total - left.max(0.0)
}

/// Fills the group `members` of `branches` with up to `total` at one level; returns what
/// it placed.
fn fill(
    branches: &[Branch],
    members: &[usize],
    total: f64,
    out: &mut [f64],
    points: &mut Vec<f64>,
) -> f64 {
    let placed = |v: f64| members.iter().map(|&k| branches[k].at(v)).sum::<f64>();
    // Where each branch starts taking and where it is full: between two neighbouring
    // breakpoints the total is linear in the level.
    points.clear();
    points.extend(
        members
            .iter()
            .flat_map(|&k| {
                let b = &branches[k];
                [-b.base / b.slope, (b.cap - b.base) / b.slope]
            })
            .filter(|v| v.is_finite()),
    );
    points.sort_by(f64::total_cmp);
    let bounded = members.iter().all(|&k| branches[k].cap.is_finite());
    let full = match points.last() {
        Some(&v) if bounded => placed(v),
        _ => f64::INFINITY,
    };
    let v = if full <= total {
        // All full.
        points.last().copied().unwrap_or(0.0)
    } else {
        let mut lo = points.first().copied().unwrap_or(0.0);
        let mut at_lo = placed(lo);
        // The first breakpoint at which the total reaches `total`.
        let mut hi = None;
        for &p in points.iter() {
            let at = placed(p);
            if at >= total {
                hi = Some(p);
                break;
            }
            lo = p;
            at_lo = at;
        }
        // Between two breakpoints the same branches take and are not full.
        let mid = hi.map_or(lo + 1.0, |h| 0.5 * (lo + h));
        let slope: f64 = members
            .iter()
            .map(|&k| &branches[k])
            .filter(|b| {
                let x = b.base + b.slope * mid;
                x > 0.0 && x < b.cap
            })
            .map(|b| b.slope)
            .sum();
        if slope > 0.0 {
            let v = lo + (total - at_lo) / slope;
            hi.map_or(v, |h| v.min(h))
        } else {
            hi.unwrap_or(lo)
        }
    };
    let mut sum = 0.0;
    for &k in members {
        out[k] = branches[k].at(v);
        sum += out[k];
    }
    // Rounding may leave the sum a hair off the total: the last one taking evens it.
    if sum > total
        && let Some(&k) = members.iter().rev().find(|&&k| out[k] > 0.0)
    {
        out[k] = (out[k] - (sum - total)).max(0.0);
        sum = total;
    }
    sum
}

/// Nanoseconds until a key moving at `rate` from `key` meets one ahead of it (`other`,
/// moving at `other_rate`); `None` when it never catches up.
pub(super) fn meeting(key: f64, rate: f64, other: f64, other_rate: f64) -> Option<f64> {
    (other > key && rate > other_rate).then(|| (other - key) / (rate - other_rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    fn b(key: f64, base: f64, slope: f64, cap: f64) -> Branch {
        Branch {
            key,
            base,
            slope,
            cap,
            phase: 0,
        }
    }

    fn shared(branches: &[Branch], total: f64) -> (f64, Vec<f64>) {
        let mut out = vec![0.0; branches.len()];
        let placed = share(branches, total, 1e-9, &mut out, &mut Scratch::default());
        (placed, out)
    }

    #[test]
    fn shares_two_to_one_split_the_rate_two_to_one() {
        let (p, x) = shared(&[b(0.0, 0.0, 2.0, INF), b(0.0, 0.0, 1.0, INF)], 9.0);
        assert_eq!(p, 9.0);
        assert!((x[0] - 6.0).abs() < 1e-12 && (x[1] - 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_full_branch_takes_what_it_can_and_the_rest_goes_to_the_others() {
        let (p, x) = shared(&[b(0.0, 0.0, 1.0, 1.0), b(0.0, 0.0, 1.0, INF)], 10.0);
        assert_eq!(p, 10.0);
        assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 9.0).abs() < 1e-12);
    }

    #[test]
    fn the_lowest_key_is_served_first_and_overflows_to_the_next() {
        // Priority: keys are places in the list.
        let (p, x) = shared(&[b(1.0, 0.0, 1.0, INF), b(0.0, 0.0, 1.0, 4.0)], 10.0);
        assert_eq!(p, 10.0);
        assert_eq!(x, vec![6.0, 4.0]);
        // All full: what is left is not placed.
        let (p, x) = shared(&[b(1.0, 0.0, 1.0, 2.0), b(0.0, 0.0, 1.0, 4.0)], 10.0);
        assert_eq!(p, 6.0);
        assert_eq!(x, vec![2.0, 4.0]);
    }

    #[test]
    fn equal_rooms_fill_alike_even_when_their_machines_run_apart() {
        // Most room: two lanes of equal room, drained at 3 and 1: the level v is the
        // common rise, x = out + v; 10 = (3 + v) + (1 + v) gives v = 3.
        let (p, x) = shared(&[b(0.0, 3.0, 1.0, INF), b(0.0, 1.0, 1.0, INF)], 10.0);
        assert_eq!(p, 10.0);
        assert!((x[0] - 6.0).abs() < 1e-12 && (x[1] - 4.0).abs() < 1e-12);
        // Too little to keep both rising: 2 = (3 + v) + (1 + v) gives v = -1, and both
        // fall alike; 0.5 = 3 + v alone (v = -2.5) with the slow lane taking nothing.
        let (_, x) = shared(&[b(0.0, 3.0, 1.0, INF), b(0.0, 1.0, 1.0, INF)], 2.0);
        assert!((x[0] - 2.0).abs() < 1e-12 && x[1].abs() < 1e-12);
        let (_, x) = shared(&[b(0.0, 3.0, 1.0, INF), b(0.0, 1.0, 1.0, INF)], 0.5);
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1] == 0.0);
    }

    #[test]
    fn empty_lanes_of_equal_room_take_turns_then_fill_alike() {
        // Two empty lanes before machines taking 3 and 1: turn by turn (equal shares) as
        // long as each machine keeps its lane empty, then both rise alike.
        let empty = |out: f64| {
            [
                b(0.0, 0.0, 1.0, out),
                Branch {
                    phase: 1,
                    ..b(0.0, 0.0, 1.0, INF)
                },
            ]
        };
        let lanes: Vec<Branch> = empty(3.0).into_iter().chain(empty(1.0)).collect();
        let (_, x) = shared(&lanes, 2.0);
        assert_eq!(x, vec![1.0, 0.0, 1.0, 0.0]);
        // 3 = 2 + 1: the slow lane's machine takes only 1, the rest to the fast one.
        let (_, x) = shared(&lanes, 3.0);
        assert_eq!(x, vec![2.0, 0.0, 1.0, 0.0]);
        // 6: both machines full (4), the 2 left rise the lanes alike.
        let (_, x) = shared(&lanes, 6.0);
        assert_eq!(x, vec![3.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn a_lane_held_at_its_level_comes_before_an_empty_lane_of_equal_room() {
        // Lanes of equal room: one holding units, drained at 1, and one empty before a
        // machine taking up to 3. Phase by phase: what holds the first at its level, then
        // what keeps the second empty, then a common rise.
        let phase = |phase, base, cap| Branch {
            phase,
            ..b(0.0, base, 1.0, cap)
        };
        let lanes = [
            phase(0, 1.0, 1.0),
            phase(2, 0.0, INF),
            phase(1, 0.0, 3.0),
            phase(2, 0.0, INF),
        ];
        // 2.5: the first held (1), the empty lane's machine gets 1.5 and starves.
        let (_, x) = shared(&lanes, 2.5);
        assert_eq!(x, vec![1.0, 0.0, 1.5, 0.0]);
        // 0.5: too little to hold the first; the empty lane gets nothing.
        let (_, x) = shared(&lanes, 0.5);
        assert_eq!(x, vec![0.5, 0.0, 0.0, 0.0]);
        // 6: both held (4), the 2 left rise the lanes alike.
        let (_, x) = shared(&lanes, 6.0);
        assert_eq!(x, vec![1.0, 1.0, 3.0, 1.0]);
    }

    #[test]
    fn keys_meet_when_the_one_behind_moves_faster() {
        assert_eq!(meeting(0.0, 3.0, 6.0, 1.0), Some(3.0));
        assert_eq!(meeting(0.0, 1.0, 6.0, 1.0), None);
        assert_eq!(meeting(6.0, 3.0, 0.0, 1.0), None);
    }
}
