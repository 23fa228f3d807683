//! Least costs to a goal where a step costs a small whole number: highway tables (a move
//! against its highway costs two) and the LoRR entry's tables over cell and facing.

/// What a move against its highway costs, in cells, where moves run along one-way
/// highways (a move along one costs 1; see [`highway_step`]): in the plant's highway
/// tables, and in the LoRR entry's distance tables and PIBT ordering. Rows and columns
/// take turns in their way, so robots keep to lanes going their way unless the way round
/// is long, and meet head-on less in narrow aisles. LoRR tasks finished (seed 0; random:
/// mean of seeds 0-11) with such a move costing 1 (no highways) / 1.5 / 2 / 2.5 / 3 /
/// 3.5: warehouse_large_5000 69,376 / 84,392 / 85,427 / 84,622 / – / 80,159;
/// sortation_large_2000 14,714 / 14,953 / 14,871 / – / 14,370 / –; random_32_32_20_100
/// 1,016 / – / 1,082 / – / 1,072 / – (4: 1,034). Without the flow penalty besides,
/// warehouse finished 83,500. Counting the step into a neighbour (1 or 2) in PIBT's
/// ordering, not only the cost from it, then gave warehouse 86,376, sortation 14,889 and
/// random 1,080.
pub(crate) const AGAINST_HIGHWAY: u32 = 2;

/// Queues of costs still to come in [`least_costs`] over highway steps (1 to
/// [`AGAINST_HIGHWAY`]).
pub(crate) const HIGHWAY_QUEUES: usize = AGAINST_HIGHWAY as usize + 1;

/// What a move in direction `k` into cell (`x`, `y`) of a grid costs along one-way
/// highways: rows take turns in their way (row 0 towards rising columns), and so do
/// columns (column 0 towards rising rows). Directions: 0 rising columns (east), 1 rising
/// rows (south), 2 falling columns (west), 3 falling rows (north); a move runs along the
/// row or column of the cell it enters.
pub(crate) fn highway_step(x: usize, y: usize, k: usize) -> u32 {
    let with = match k {
        0 => y.is_multiple_of(2),
        2 => !y.is_multiple_of(2),
        1 => x.is_multiple_of(2),
        _ => !x.is_multiple_of(2),
    };
    if with { 1 } else { AGAINST_HIGHWAY }
}

/// An unused slot among a state's predecessors in [`least_costs`].
pub(crate) const NO_STATE: u32 = u32::MAX;

/// Least costs from each of `states` states to the nearest of `goals` (cost 0), searching
/// backwards: `before(s)` gives up to four states that reach `s` in one step, each with
/// that step's cost (1 to `SLOTS - 1`), [`NO_STATE`] in the slots it does not use; `far`
/// where no goal is reached or the cost does not fit below `far` in `C` (`u16` tables
/// take half the memory of `u32` ones). Dial's algorithm: a queue per cost still to come
/// (`SLOTS` of them, in turn; a constant, so that picking one is no division), each state
/// settled once at its least cost.
pub(crate) fn least_costs<const SLOTS: usize, C>(
    states: usize,
    goals: impl IntoIterator<Item = u32>,
    far: C,
    before: impl Fn(u32) -> [(u32, u32); 4],
) -> Vec<C>
where
    C: Copy + PartialEq + Into<u32> + TryFrom<u32>,
{
    let mut cost = vec![far; states];
    let mut queues: [Vec<u32>; SLOTS] = std::array::from_fn(|_| Vec::new());
    let mut waiting = 0;
    let zero = C::try_from(0).unwrap_or(far);
    for g in goals {
        cost[g as usize] = zero;
        queues[0].push(g);
        waiting += 1;
    }
    let mut now = 0u32;
    while waiting > 0 {
        let slot = now as usize % SLOTS;
        let mut queue = std::mem::take(&mut queues[slot]);
        waiting -= queue.len();
        for &s in &queue {
            // Reached more cheaply since it was queued.
            if cost[s as usize].into() != now {
                continue;
            }
            for (p, step) in before(s) {
                if p == NO_STATE {
                    continue;
                }
                let to = now + step;
                if to < cost[p as usize].into()
                    && let Ok(c) = C::try_from(to)
                {
                    cost[p as usize] = c;
                    queues[to as usize % SLOTS].push(p);
                    waiting += 1;
                }
            }
        }
        queue.clear();
        if queues[slot].is_empty() {
            queues[slot] = queue;
        }
        now += 1;
    }
    cost
}

#[cfg(test)]
mod tests {
    use super::{NO_STATE, least_costs};

    #[test]
    fn least_costs_match_a_relaxation_on_a_ring_with_dear_steps() {
        // States 0..12 on a ring: stepping to the next costs 1 where the state is even
        // and 3 where it is odd; stepping back costs 2. Goal 0.
        let n = 12u32;
        let forward = |p: u32| if p.is_multiple_of(2) { 1 } else { 3 };
        let costs = least_costs::<4, _>(n as usize, [0], u32::MAX, |s| {
            let prev = (s + n - 1) % n;
            let next = (s + 1) % n;
            [
                (prev, forward(prev)),
                (next, 2),
                (NO_STATE, 0),
                (NO_STATE, 0),
            ]
        });
        // Independent: relax every step until nothing changes (Bellman-Ford).
        let mut want = vec![u32::MAX; n as usize];
        want[0] = 0;
        for _ in 0..n {
            for s in 0..n {
                let (prev, next) = ((s + n - 1) % n, (s + 1) % n);
                for (p, w) in [(prev, forward(prev)), (next, 2)] {
                    if want[s as usize] != u32::MAX {
                        want[p as usize] = want[p as usize].min(want[s as usize] + w);
                    }
                }
            }
        }
        assert_eq!(costs, want);
        assert_eq!(&costs[..4], &[0, 2, 4, 6]);
    }
}
