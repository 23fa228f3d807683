//! PIBT, priority inheritance with backtracking (Okumura et al. 2022): one step of a
//! fleet, each agent to a neighbouring spot or its own, with no two on one spot and none
//! swapping along an edge. It is written once here and plans all three of twinline's
//! floors: the plant's fleet ([`crate::Traffic`]), the League of Robot Runners entry
//! ([`crate::runners::Entry`]) and the one-shot solver's configurations
//! ([`crate::mapf`]); they differ only in how an agent ranks its moves ([`Agents`]).
//!
//! Agents are planned most urgent first. An agent takes the first spot of its ranking
//! that nobody has taken for the step and whose agent is not coming to its own spot
//! (that would be a swap); if an agent stands there and is not planned yet, it is asked
//! to move first, inheriting the priority, and when it cannot, the next spot is tried
//! (backtracking). An agent that can take nothing stays. With the swap technique of
//! lacam2 (`swap.rs`) a ranking may name an agent coming the other way in a
//! corridor: the moves are tried from the last, and when the first of those succeeds
//! the other agent is pulled into the spot left. A move of several steps (a slow
//! vehicle) holds the spot it leaves as well as the one it enters until it ends.

/// No agent / no spot.
pub(crate) const NONE: u32 = u32::MAX;

/// Who stands on each spot now and who has taken each spot for the step being planned.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Occupancy {
    /// The agent on each spot now ([`NONE`]: nobody).
    pub(crate) now: Vec<u32>,
    /// The agent that has taken each spot for the next step ([`NONE`]: nobody).
    pub(crate) next: Vec<u32>,
    /// The spots taken in `next`, to clear after the step.
    pub(crate) taken: Vec<u32>,
}

impl Occupancy {
    /// A floor of `spots` spots with nobody on it.
    pub(crate) fn new(spots: usize) -> Occupancy {
        Occupancy {
            now: vec![NONE; spots],
            next: vec![NONE; spots],
            taken: Vec::new(),
        }
    }

    /// Agent `a` takes `spot` for the next step.
    pub(crate) fn take(&mut self, spot: u32, a: u32) {
        self.next[spot as usize] = a;
        self.taken.push(spot);
    }

    /// Forgets the spots taken for the step.
    pub(crate) fn clear_next(&mut self) {
        for v in self.taken.drain(..) {
            self.next[v as usize] = NONE;
        }
    }
}

/// A floor's agents as PIBT plans them.
pub(crate) trait Agents {
    /// One agent's moves: the spots it may go to, best first (its own among them).
    type Moves: AsMut<[u32]>;

    /// Who stands where and what is taken.
    fn occupancy(&mut self) -> &mut Occupancy;

    /// The spot agent `i` stands on.
    fn stands_on(&self, i: u32) -> u32;

    /// Whether agent `i` stays where it is without ranking its moves (resting at its
    /// goal, which is free); it must then rank staying first. `pushed` when another
    /// agent wants its spot.
    fn rests(&mut self, _i: u32, _pushed: bool) -> bool {
        false
    }

    /// Agent `i`'s moves, best first, and the agent it should pull along through a
    /// corridor instead of pushing back (the swap technique), if any; `to` holds the
    /// spots planned so far ([`NONE`]: not yet). `pushed` when another agent wants its
    /// spot.
    fn moves(&mut self, i: u32, pushed: bool, to: &[u32]) -> (Self::Moves, Option<u32>);

    /// Steps agent `i`'s move from `v` to the neighbouring `u` takes (1 on floors
    /// without speeds).
    fn steps(&self, _i: u32, _v: u32, _u: u32, _pushed: bool) -> u32 {
        1
    }

    /// Agent `i` has begun a move of `steps` steps into `u` (it stays on its spot,
    /// which it holds with `u`, for this step).
    fn begin(&mut self, _i: u32, _u: u32, _steps: u32) {}

    /// Takes back moves PIBT is done with (to use their memory again).
    fn recycle(&mut self, _moves: Self::Moves) {}
}

/// Plans agent `i` and, through priority inheritance, the agents it asks to move:
/// `to[i]` becomes its spot for the next step. False when it stays because none of its
/// moves could be taken. `pushed` when another agent wants its spot.
pub(crate) fn pibt<A: Agents>(a: &mut A, i: u32, pushed: bool, to: &mut [u32]) -> bool {
    let v = a.stands_on(i);
    if a.rests(i, pushed) {
        to[i as usize] = v;
        a.occupancy().take(v, i);
        return true;
    }
    let (mut ranked, pull) = a.moves(i, pushed, to);
    if pull.is_some() {
        ranked.as_mut().reverse();
    }
    let planned = try_moves(a, i, v, pushed, &mut ranked, pull, to);
    a.recycle(ranked);
    planned
}

/// [`pibt`] for agent `i` on `v` with its `ranked` moves.
#[inline(always)]
fn try_moves<A: Agents>(
    a: &mut A,
    i: u32,
    v: u32,
    pushed: bool,
    ranked: &mut A::Moves,
    pull: Option<u32>,
    to: &mut [u32],
) -> bool {
    for (k, &u) in ranked.as_mut().iter().enumerate() {
        if a.occupancy().next[u as usize] != NONE {
            continue;
        }
        let steps = if u == v { 1 } else { a.steps(i, v, u, pushed) };
        let occupancy = a.occupancy();
        let j = occupancy.now[u as usize];
        if j != NONE && to[j as usize] == v {
            continue;
        }
        occupancy.take(u, i);
        to[i as usize] = u;
        // A slow move holds the spot it leaves too: taken before asking anyone to move,
        // so that nobody further down the chain plans to follow into it.
        let kept = (steps > 1).then(|| {
            let kept = occupancy.next[v as usize];
            occupancy.take(v, i);
            kept
        });
        let moved = j == NONE || j == i || to[j as usize] != NONE || pibt(a, j, true, to);
        if !moved {
            if let Some(kept) = kept {
                a.occupancy().next[v as usize] = kept;
            }
            continue;
        }
        if steps > 1 {
            to[i as usize] = v;
            a.begin(i, u, steps);
            return true;
        }
        if k == 0
            && let Some(j) = pull
            && to[j as usize] == NONE
            && a.occupancy().next[v as usize] == NONE
        {
            to[j as usize] = v;
            a.occupancy().take(v, j);
        }
        return true;
    }
    to[i as usize] = v;
    a.occupancy().take(v, i);
    false
}

/// Plans, in `order`, every agent not planned yet (`to[i]` is [`NONE`]). False at the
/// first that must stay where another agent has already been planned to go: the step
/// is then not valid (only where the caller imposed moves beforehand).
pub(crate) fn plan<A: Agents>(a: &mut A, order: &[u32], to: &mut [u32]) -> bool {
    for &i in order {
        if to[i as usize] == NONE && !pibt(a, i, false, to) {
            return false;
        }
    }
    true
}

/// Sorts `order` most urgent first: highest priority, ties by agent number (a total
/// order, so a nearly sorted `order` gives the same result as a fresh one, faster).
pub(crate) fn by_priority(priority: &[f64], order: &mut [u32]) {
    order.sort_by(|&a, &b| {
        priority[b as usize]
            .total_cmp(&priority[a as usize])
            .then(a.cmp(&b))
    });
}

/// An agent's priority after a step: it grows by one a step while the agent is on its
/// way and falls back to its tie-breaking fraction once it `rests` (at its goal, or
/// held there).
pub(crate) fn advance(priority: &mut f64, rests: bool) {
    if rests {
        *priority = priority.fract();
    } else {
        *priority += 1.0;
    }
}

/// Up to five moves (a grid cell's four neighbours and staying), in place: no drop, no
/// allocation, which the one-shot solver's search feels.
#[derive(Clone, Copy)]
pub(crate) struct GridMoves {
    spots: [u32; 5],
    len: usize,
}

impl GridMoves {
    /// The spots of `ranked` (at most five, best first).
    pub(crate) fn of(ranked: impl IntoIterator<Item = u32>) -> GridMoves {
        let mut moves = GridMoves {
            spots: [NONE; 5],
            len: 0,
        };
        for u in ranked {
            moves.spots[moves.len] = u;
            moves.len += 1;
        }
        moves
    }
}

impl AsMut<[u32]> for GridMoves {
    fn as_mut(&mut self) -> &mut [u32] {
        &mut self.spots[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::{Agents, NONE, Occupancy, advance, by_priority, pibt, plan};
    use proptest::prelude::*;

    /// Agents on an undirected graph, each ranking its moves by breadth-first steps to
    /// its goal (staying ranked as its own spot), ties by spot number.
    struct Floor {
        around: Vec<Vec<u32>>,
        at: Vec<u32>,
        goal: Vec<u32>,
        occupancy: Occupancy,
        /// Steps each agent's moves take when not pushed.
        slow: Vec<u32>,
        /// Rankings given by hand, by agent (else by steps to the goal).
        ranked: Vec<Option<Vec<u32>>>,
        /// The agent each one pulls along (the swap technique), if any.
        pull: Vec<Option<u32>>,
        begun: Vec<Option<(u32, u32)>>,
    }

    impl Floor {
        fn new(edges: &[(u32, u32)], spots: usize, at: &[u32], goal: &[u32]) -> Floor {
            let mut around = vec![Vec::new(); spots];
            for &(a, b) in edges {
                around[a as usize].push(b);
                around[b as usize].push(a);
            }
            let mut occupancy = Occupancy::new(spots);
            for (i, &v) in at.iter().enumerate() {
                occupancy.now[v as usize] = i as u32;
            }
            Floor {
                around,
                at: at.to_vec(),
                goal: goal.to_vec(),
                occupancy,
                slow: vec![1; at.len()],
                ranked: vec![None; at.len()],
                pull: vec![None; at.len()],
                begun: vec![None; at.len()],
            }
        }

        fn steps_to(&self, from: u32, goal: u32) -> u32 {
            let mut d = vec![u32::MAX; self.around.len()];
            let mut queue = std::collections::VecDeque::from([goal]);
            d[goal as usize] = 0;
            while let Some(v) = queue.pop_front() {
                for &u in &self.around[v as usize] {
                    if d[u as usize] == u32::MAX {
                        d[u as usize] = d[v as usize] + 1;
                        queue.push_back(u);
                    }
                }
            }
            d[from as usize]
        }

        /// Plans every agent, agent 0 first.
        fn plan(&mut self) -> Vec<u32> {
            let order: Vec<u32> = (0..self.at.len() as u32).collect();
            let mut to = vec![NONE; self.at.len()];
            assert!(plan(self, &order, &mut to));
            to
        }
    }

    impl Agents for Floor {
        type Moves = Vec<u32>;

        fn occupancy(&mut self) -> &mut Occupancy {
            &mut self.occupancy
        }

        fn stands_on(&self, i: u32) -> u32 {
            self.at[i as usize]
        }

        fn moves(&mut self, i: u32, _: bool, _: &[u32]) -> (Vec<u32>, Option<u32>) {
            if let Some(moves) = &self.ranked[i as usize] {
                return (moves.clone(), self.pull[i as usize]);
            }
            let v = self.at[i as usize];
            let goal = self.goal[i as usize];
            let mut moves = self.around[v as usize].clone();
            moves.push(v);
            moves.sort_by_key(|&u| (self.steps_to(u, goal), u));
            (moves, self.pull[i as usize])
        }

        fn steps(&self, i: u32, _v: u32, u: u32, pushed: bool) -> u32 {
            // A hand-ranked agent is slow into its first choice only.
            let first = self.ranked[i as usize].as_ref().is_none_or(|r| r[0] == u);
            if pushed || !first {
                1
            } else {
                self.slow[i as usize]
            }
        }

        fn begin(&mut self, i: u32, u: u32, steps: u32) {
            self.begun[i as usize] = Some((u, steps));
        }
    }

    /// A corridor 0 - 1 - 2 - 3.
    const CORRIDOR: [(u32, u32); 3] = [(0, 1), (1, 2), (2, 3)];

    #[test]
    fn an_agent_in_the_way_is_asked_to_move_and_inherits_the_priority() {
        // Agent 0 on 1 heads for 3; agent 1 rests on its goal 2. Agent 0 takes 2, and
        // agent 1, asked to move, cannot take 2 (taken) nor 1 (a swap), so it goes to 3.
        let mut floor = Floor::new(&CORRIDOR, 4, &[1, 2], &[3, 2]);
        assert_eq!(floor.plan(), vec![2, 3]);
        assert_eq!(floor.occupancy.next, vec![NONE, NONE, 0, 1]);
    }

    #[test]
    fn an_agent_that_cannot_make_room_sends_the_asker_to_its_next_choice() {
        // Agent 1 stands at the dead end 3; agent 0 on 2 wants 3. Agent 1 can go nowhere
        // (2 would be a swap), so it stays and agent 0 backtracks to its next choice,
        // staying.
        let mut floor = Floor::new(&CORRIDOR, 4, &[2, 3], &[3, 0]);
        assert_eq!(floor.plan(), vec![2, 3]);
        assert_eq!(floor.occupancy.next, vec![NONE, NONE, 0, 1]);
        // One cell further back, agent 1 can make room: asked for 2, it tries 1 (a swap,
        // refused) and then 3.
        let mut floor = Floor::new(&CORRIDOR, 4, &[1, 2], &[3, 0]);
        assert_eq!(floor.plan(), vec![2, 3]);
    }

    #[test]
    fn agents_follow_each_other_along_a_chain() {
        // Three agents in a row all heading east: the first moves on, the others follow
        // into the cells left (following is not a swap).
        let edges = [(0, 1), (1, 2), (2, 3), (3, 4)];
        let mut floor = Floor::new(&edges, 5, &[0, 1, 2], &[4, 4, 4]);
        // The rear agent plans first and pushes the chain ahead of it.
        assert_eq!(floor.plan(), vec![1, 2, 3]);
    }

    #[test]
    fn a_slow_move_holds_both_ends_and_keeps_followers_out() {
        // Agent 0 on 1 moves to 2 in three steps; agent 1 behind it on 0 also heads for
        // 3 and may not follow into 1, which stays held.
        let mut floor = Floor::new(&CORRIDOR, 4, &[1, 0], &[3, 3]);
        floor.slow[0] = 3;
        assert_eq!(floor.plan(), vec![1, 0]);
        assert_eq!(floor.begun[0], Some((2, 3)));
        assert_eq!(floor.occupancy.next[1], 0);
        assert_eq!(floor.occupancy.next[2], 0);
    }

    #[test]
    fn a_refused_slow_move_gives_back_the_spot_it_held() {
        // A star around 1 (arms 0, 2 and 4). Agent 0 on 1 wants the dead end 2 by a slow
        // move, then 4; agent 1 rests on 2 and cannot make room (1 would be a swap).
        // Agent 0 goes to 4 at once, and agent 2 on 0 may then take 1.
        let star = [(1, 0), (1, 2), (1, 4)];
        let mut floor = Floor::new(&star, 5, &[1, 2, 0], &[4, 2, 1]);
        floor.ranked[0] = Some(vec![2, 4, 1, 0]);
        floor.slow[0] = 3;
        assert_eq!(floor.plan(), vec![4, 2, 1]);
        assert_eq!(floor.begun[0], None);
    }

    #[test]
    fn a_pulled_agent_follows_into_the_spot_left() {
        // Agent 0 on 1 heads for 3 past agent 1 resting on 2. Told to pull agent 1
        // along, agent 0 tries its moves from the last (back to 0), and agent 1 is
        // planned into the spot left, which on its own it would not take.
        let mut floor = Floor::new(&CORRIDOR, 4, &[1, 2], &[3, 2]);
        floor.pull[0] = Some(1);
        assert_eq!(floor.plan(), vec![0, 1]);
        assert_eq!(floor.occupancy.next[1], 1);
        floor.pull[0] = None;
        floor.occupancy.clear_next();
        assert_eq!(floor.plan(), vec![2, 3]);
    }

    #[test]
    fn every_agent_is_planned_once_and_asked_agents_inherit_their_turn() {
        let mut floor = Floor::new(&CORRIDOR, 4, &[1, 2], &[3, 2]);
        let mut to = vec![NONE; 2];
        // Planning agent 0 alone plans agent 1 too (it was asked to move).
        assert!(pibt(&mut floor, 0, false, &mut to));
        assert_eq!(to, vec![2, 3]);
        // `plan` skips agents planned already.
        assert!(plan(&mut floor, &[1, 0], &mut to));
        assert_eq!(to, vec![2, 3]);
        floor.occupancy.clear_next();
        assert!(floor.occupancy.next.iter().all(|&a| a == NONE));
        assert!(floor.occupancy.taken.is_empty());
    }

    #[test]
    fn the_most_urgent_come_first_and_rest_resets_urgency() {
        let mut order = vec![0, 1, 2, 3];
        by_priority(&[1.25, 3.5, 1.25, 0.75], &mut order);
        assert_eq!(order, vec![1, 0, 2, 3]);
        let mut p = 3.25;
        advance(&mut p, false);
        assert_eq!(p, 4.25);
        advance(&mut p, true);
        assert_eq!(p, 0.25);
    }

    #[test]
    fn an_agent_with_many_ways_out_takes_the_best() {
        // A hub of eleven spokes: an agent on the hub heading out along the last spoke
        // takes it.
        let spokes: Vec<(u32, u32)> = (1..12).map(|k| (0, k)).collect();
        let mut floor = Floor::new(&spokes, 12, &[0], &[11]);
        assert_eq!(floor.plan(), vec![11]);
    }

    proptest! {
        /// On any grid with any agents and goals, a step moves each agent to a
        /// neighbour or keeps it, with no two on one spot and no two swapping.
        #[test]
        fn a_step_never_collides(
            free in proptest::collection::vec(prop::bool::weighted(0.8), 36),
            picks in proptest::collection::vec((0usize..36, 0usize..36), 1..20),
            slow in proptest::collection::vec(1u32..3, 20),
        ) {
            let width = 6;
            let mut edges = Vec::new();
            for c in 0..36usize {
                if !free[c] {
                    continue;
                }
                if c % width + 1 < width && free[c + 1] {
                    edges.push((c as u32, c as u32 + 1));
                }
                if c + width < 36 && free[c + width] {
                    edges.push((c as u32, (c + width) as u32));
                }
            }
            let mut starts = Vec::new();
            let mut goals = Vec::new();
            for &(s, g) in &picks {
                if free[s] && free[g] && !starts.contains(&(s as u32)) {
                    starts.push(s as u32);
                    goals.push(g as u32);
                }
            }
            let mut floor = Floor::new(&edges, 36, &starts, &goals);
            // Unreachable goals rank every move alike: fine for the invariant.
            floor.slow = slow[..starts.len()].to_vec();
            let to = floor.plan();
            let mut seen = [false; 36];
            for (i, (&v, &u)) in starts.iter().zip(&to).enumerate() {
                prop_assert!(u == v || floor.around[v as usize].contains(&u));
                prop_assert!(!seen[u as usize], "two agents end on {}", u);
                seen[u as usize] = true;
                for (j, (&w, &x)) in starts.iter().zip(&to).enumerate() {
                    prop_assert!(i == j || !(u == w && x == v), "{} and {} swap", i, j);
                }
                // A slow move begun holds both its ends, and nobody else ends on them.
                if let Some((target, _)) = floor.begun[i] {
                    prop_assert_eq!(u, v);
                    prop_assert!(floor.around[v as usize].contains(&target));
                    prop_assert_eq!(floor.occupancy.next[target as usize], i as u32);
                    prop_assert_eq!(floor.occupancy.next[v as usize], i as u32);
                    prop_assert!(!to.contains(&target));
                }
            }
        }
    }
}
