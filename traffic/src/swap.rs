//! lacam2's swap technique for PIBT, shared by the one-shot solver and the lifelong fleet
//! traffic: when two agents meet head-on in a corridor, the one that would push the other
//! back instead steps back and pulls it along, until the corridor widens and they can pass.

use crate::pibt::{Agents, NONE};

/// What the swap technique needs to know of a planner's state.
pub(crate) trait Corridor {
    /// Cells one move away from `v`.
    fn neighbours(&self, v: u32) -> &[u32];
    /// The agent on `v` now, or [`NONE`].
    fn occupant(&self, v: u32) -> u32;
    /// Whether agent `a` on `v` stays put (resting at its goal, or held there).
    fn parked(&self, a: u32, v: u32) -> bool;
    /// Agent `a`'s distance from `v` to its goal (mutable so that a planner may search
    /// its distances only as far as the walks read them).
    fn dist(&mut self, a: u32, v: u32) -> u32;
    /// Number of cells (bounds the walks).
    fn cells(&self) -> usize;
    /// Whether agent `a` may be pulled along (not held where it stands).
    fn pullable(&self, _a: u32) -> bool {
        true
    }
}

/// The agent that agent `i`, wanting the neighbouring `best`, should pull along instead
/// of pushing back (lacam2's swap technique): the agent on `best` when `i` would have to
/// push it back along a corridor that widens somewhere behind it, or else a neighbour of
/// `i` that would have to push `i` back that way. `to` holds the spots planned so far.
#[inline]
pub(crate) fn swap_partner<C: Corridor + Agents>(
    c: &mut C,
    i: u32,
    best: u32,
    to: &[u32],
) -> Option<u32> {
    let v = c.stands_on(i);
    if best == v {
        return None;
    }
    let j = c.occupant(best);
    if j != NONE
        && to[j as usize] == NONE
        && swap_required(c, i, j, v, best)
        && swap_possible(c, best, v)
    {
        return Some(j);
    }
    for n in 0..c.neighbours(v).len() {
        let k = c.occupant(c.neighbours(v)[n]);
        if k == NONE || best == c.stands_on(k) || !c.pullable(k) {
            continue;
        }
        if swap_required(c, k, i, v, best) && swap_possible(c, best, v) {
            return Some(k);
        }
    }
    None
}

/// The neighbours of `puller` other than `pusher` and dead ends holding a parked agent:
/// how many, and the last of them.
fn ways_out(c: &impl Corridor, puller: u32, pusher: u32) -> (usize, u32) {
    let mut n = 0;
    let mut last = NONE;
    for &u in c.neighbours(puller) {
        let a = c.occupant(u);
        let parked = c.neighbours(u).len() == 1 && a != NONE && c.parked(a, u);
        if u != pusher && !parked {
            n += 1;
            last = u;
        }
    }
    (n, last)
}

/// Whether `pusher` (on `pusher_at`) would have to push `puller` (on `puller_at`) back along
/// a corridor to get anywhere, while the puller wants to go the other way.
fn swap_required(
    c: &mut impl Corridor,
    pusher: u32,
    puller: u32,
    pusher_at: u32,
    puller_at: u32,
) -> bool {
    let (mut v_pusher, mut v_puller) = (pusher_at, puller_at);
    let mut steps = 0;
    while c.dist(pusher, v_puller) < c.dist(pusher, v_pusher) && steps < c.cells() {
        steps += 1;
        let (n, next) = ways_out(c, v_puller, v_pusher);
        if n >= 2 {
            return false;
        }
        if n == 0 {
            break;
        }
        v_pusher = v_puller;
        v_puller = next;
    }
    c.dist(puller, v_pusher) < c.dist(puller, v_puller)
        && (c.dist(pusher, v_pusher) == 0 || c.dist(pusher, v_puller) < c.dist(pusher, v_pusher))
}

/// Whether the corridor behind `puller_at` widens somewhere, so the two can pass.
fn swap_possible(c: &impl Corridor, pusher_at: u32, puller_at: u32) -> bool {
    let (mut v_pusher, mut v_puller) = (pusher_at, puller_at);
    let mut steps = 0;
    while v_puller != pusher_at && steps < c.cells() {
        steps += 1;
        let (n, next) = ways_out(c, v_puller, v_pusher);
        if n >= 2 {
            return true;
        }
        if n == 0 {
            return false;
        }
        v_pusher = v_puller;
        v_puller = next;
    }
    false
}

/// A small deterministic generator for tie-breaking and sampling (SplitMix64).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct TieBreak(pub(crate) u64);

impl TieBreak {
    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
