//! Branching lines as flows: dividers, combiners and parallel machines.
//!
//! The rates of a branching line are planned as a series line's are (machines at their
//! nominal rate unless an empty buffer before them or full buffers after them hold them
//! back), with each junction sharing a rate by its rule ([`super::branch`]):
//!
//! - a station dividing over several buffers shares its good output among them (most
//!   room, shares or priority); a full buffer takes only the room the machines after it
//!   free, the rest goes to the others, and the station is blocked only when all its
//!   outputs are full;
//! - an empty buffer feeding several machines shares what flows in among them, by its
//!   rule, up to what each could take (most room: the machine that has had the fewest
//!   units first, so that they even out; shares; priority);
//! - a full buffer fed by several machines shares the room freed among them (first come
//!   and alternate: equally, as turn by turn; priority: the first listed first).
//!
//! Sharing keys that move (rooms, units had) make the moment two keys meet a boundary of
//! the flows, as a buffer filling is.

use super::branch::{self, Branch};
use super::{EPS, FluidLine, amount};
use crate::line::station::StationState;
use crate::scenario::{CombineRule, Divide, Line};
use serde::{Deserialize, Serialize};
use sim::SimTime;

const INF: f64 = f64::INFINITY;

/// The shape of a branching line and how its junctions share flows now. An edge is one
/// station feeding one buffer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Graph {
    /// Per station: the buffer feeding it (none for the first).
    pub input: Vec<Option<usize>>,
    /// Per station: its edges are `out_start[s]..out_start[s + 1]`, in listed order.
    pub out_start: Vec<usize>,
    /// Per edge: the buffer it feeds.
    pub edge_to: Vec<usize>,
    /// Per edge: the station it leaves.
    pub edge_from: Vec<usize>,
    /// Per station: how it divides over several outputs.
    pub divide: Vec<Divide>,
    /// Per buffer: the edges feeding it, in station order.
    pub feeds: Vec<Vec<usize>>,
    /// Per buffer: the stations it feeds, as listed.
    pub to: Vec<Vec<usize>>,
    /// Per buffer: how the stations it feeds share it when it runs empty.
    pub share_out: Vec<Divide>,
    /// Per buffer: how the stations feeding it share its room when it is full.
    pub combine: Vec<CombineRule>,
    /// Per edge: good flow planned along it, ticks per nanosecond.
    pub flow: Vec<f64>,
    /// Per edge: the most it may carry into a full buffer now (infinite: not full).
    pub allow: Vec<f64>,
    /// Per edge: good ticks put along it since the start.
    pub put: Vec<u128>,
    /// Per buffer, per station it feeds (as listed): ticks taken since the start.
    pub taken: Vec<Vec<u128>>,
    /// Per station: the input rate its full outputs let it run at (infinite: not held).
    pub cap: Vec<f64>,
    /// Per station: the input rate an empty buffer before it lets it run at.
    pub bound: Vec<f64>,
    /// Per station: whether a junction's share depends on the hold on it (`cap`), so
    /// that a change of that hold needs another sweep even where it holds nothing back.
    pub shared: Vec<bool>,
    /// Per edge: ticks along it in the interval being advanced.
    pub now_put: Vec<u128>,
    /// Per buffer: ticks taken from it in the interval being advanced.
    pub now_taken: Vec<u128>,
    /// Per buffer: empty, but filling at once (more flows in than its machines take when
    /// nothing but their room holds them), so that none of them is held to a share of
    /// what flows in. Found by each plan of the machines around it.
    #[serde(skip)]
    filling: Vec<bool>,
    /// Per buffer: full, but leaving full at once (its machines take more than flows in
    /// when nothing but their input holds those feeding it), so that none of those is
    /// held to a share of its room. Found as `filling` is.
    #[serde(skip)]
    draining: Vec<bool>,
    /// Room to work in (not state: rebuilt at each use).
    #[serde(skip)]
    work: Option<Box<Work>>,
}

/// Vectors reused from one plan to the next, so that planning allocates nothing.
#[derive(Clone, Debug, Default)]
struct Work {
    branches: Vec<Branch>,
    owner: Vec<usize>,
    parts: Vec<f64>,
    out: Vec<f64>,
    dry: Vec<usize>,
    ready: Vec<Option<u128>>,
    sharing: branch::Scratch,
    /// Per station (those with several outputs), the last sharing of its output: what
    /// it was asked (good output, tolerance, branches and their edges) and the flows it
    /// gave. A plan sweeps the line several times and mostly asks the same again.
    divided: Vec<Divided>,
    /// The holds (caps and allowances) after each of the last three sweeps of a plan,
    /// oldest first.
    holds: [Vec<f64>; 3],
    /// How many of them this plan has seen since it last leapt.
    seen: usize,
}

/// One remembered sharing of a station's output over its outputs.
#[derive(Clone, Debug, Default)]
struct Divided {
    /// Whether it holds one (not so before the station's first sharing).
    asked: bool,
    good: u64,
    tol: u64,
    branches: Vec<Branch>,
    owner: Vec<usize>,
    out: Vec<f64>,
}

impl Divided {
    /// Whether it answers the sharing of `good` among `branches` (to the bit).
    fn answers(&self, good: f64, tol: f64, branches: &[Branch], owner: &[usize]) -> bool {
        let bits = |b: &Branch| {
            (
                b.key.to_bits(),
                b.base.to_bits(),
                b.slope.to_bits(),
                b.cap.to_bits(),
                b.phase,
            )
        };
        self.asked
            && self.good == good.to_bits()
            && self.tol == tol.to_bits()
            && self.owner == owner
            && self.branches.len() == branches.len()
            && self
                .branches
                .iter()
                .zip(branches)
                .all(|(a, b)| bits(a) == bits(b))
    }
}

impl Graph {
    pub fn new(line: &Line) -> Self {
        let n = line.stations.len();
        let mut out_start = Vec::with_capacity(n + 1);
        let (mut edge_to, mut edge_from) = (Vec::new(), Vec::new());
        let mut feeds = vec![Vec::new(); line.buffers.len()];
        for (s, st) in line.stations.iter().enumerate() {
            out_start.push(edge_to.len());
            for &b in &st.outputs {
                feeds[b].push(edge_to.len());
                edge_to.push(b);
                edge_from.push(s);
            }
        }
        out_start.push(edge_to.len());
        let edges = edge_to.len();
        let mut shared = vec![false; n];
        for (b, buf) in line.buffers.iter().enumerate() {
            let by_room = buf.from.iter().any(|&f| {
                line.stations[f].outputs.len() > 1 && line.stations[f].divide == Divide::MostRoom
            });
            if buf.to.len() > 1 || by_room {
                for &t in &buf.to {
                    shared[t] = true;
                }
            }
            if feeds[b].len() > 1 {
                for &f in &buf.from {
                    shared[f] = true;
                }
            }
        }
        Graph {
            input: line
                .stations
                .iter()
                .map(|s| s.inputs.first().copied())
                .collect(),
            out_start,
            edge_to,
            edge_from,
            divide: line.stations.iter().map(|s| s.divide.clone()).collect(),
            feeds,
            to: line.buffers.iter().map(|b| b.to.clone()).collect(),
            share_out: line.buffers.iter().map(|b| b.divide.clone()).collect(),
            combine: line.buffers.iter().map(|b| b.combine).collect(),
            flow: vec![0.0; edges],
            allow: vec![INF; edges],
            put: vec![0; edges],
            taken: line.buffers.iter().map(|b| vec![0; b.to.len()]).collect(),
            cap: vec![INF; n],
            bound: vec![INF; n],
            shared,
            now_put: vec![0; edges],
            now_taken: vec![0; line.buffers.len()],
            filling: vec![false; line.buffers.len()],
            draining: vec![false; line.buffers.len()],
            work: None,
        }
    }

    pub fn edges(&self, s: usize) -> std::ops::Range<usize> {
        self.out_start[s]..self.out_start[s + 1]
    }

    /// Whether every station feeding buffer `b` or fed by it is marked in `mark` at least
    /// `least`.
    pub fn settled(&self, mark: &[u8], least: u8, b: usize) -> bool {
        let marked = |s: usize| mark.get(s).is_some_and(|&m| m >= least);
        self.feeds[b].iter().all(|&e| marked(self.edge_from[e]))
            && self.to[b].iter().all(|&t| marked(t))
    }
}

/// Sharing keys (ticks) closer than this are equal; a priority's keys are whole places.
const KEY_TOL: f64 = EPS as f64;

/// Whether a hold went from `b` to `c` in a sweep (beyond rounding).
fn moved(b: f64, c: f64) -> bool {
    (c - b).abs() > 1e-9 * c.abs()
}

/// Rounds of giving way at a full buffer, each by what it overflows, before the rest is
/// taken off one edge at once (a machine whose output to the buffer is a sliver of its
/// output would otherwise give way a few thousand ticks at a time, for ever: a run of a
/// random branching line hung so).
const CUT_ROUNDS: u32 = 64;

impl FluidLine {
    fn graph(&self) -> &Graph {
        self.graph.as_deref().expect("a branching line")
    }

    fn graph_mut(&mut self) -> &mut Graph {
        self.graph.as_deref_mut().expect("a branching line")
    }

    /// The reusable vectors, taken out while `self` is borrowed otherwise.
    fn take_work(&mut self) -> Box<Work> {
        self.graph_mut().work.take().unwrap_or_default()
    }

    fn put_work(&mut self, work: Box<Work>) {
        self.graph_mut().work = Some(work);
    }

    /// Whether buffer `b`'s content is known exactly while planning: always when the whole
    /// line is planned; planning locally, when every station next to it is planned now
    /// (any other buffer next to the planned stations is neither empty nor full).
    #[inline(always)]
    pub(super) fn settled(&self, b: usize) -> bool {
        !self.local || self.graph().settled(&self.mark, super::reach::PLANNED, b)
    }

    /// Good flow into buffer `b` now, ticks per nanosecond.
    pub(super) fn inflow(&self, b: usize) -> f64 {
        let g = self.graph();
        g.feeds[b].iter().map(|&e| g.flow[e]).sum()
    }

    /// Flow out of buffer `b` now, ticks per nanosecond.
    pub(super) fn outflow(&self, b: usize) -> f64 {
        self.graph().to[b]
            .iter()
            .map(|&t| self.stations[t].rate)
            .sum()
    }

    /// Good flow into buffer `b` now of the product station `t` runs.
    fn inflow_for(&self, b: usize, t: usize) -> f64 {
        let g = self.graph();
        let p = self.stations[t].core.product;
        g.feeds[b]
            .iter()
            .filter(|&&e| self.stations[g.edge_from[e]].core.product == p)
            .map(|&e| g.flow[e])
            .sum()
    }

    /// Sets the rates of `stations` (in flow order; the others keep theirs) on a
    /// branching line: starting from what each could run at, a sweep downstream shares
    /// what empty buffers let in and a sweep upstream what full ones let out, until neither
    /// changes anything.
    pub(super) fn propagate_graph<I>(&mut self, stations: I)
    where
        I: DoubleEndedIterator<Item = usize> + ExactSizeIterator + Clone,
    {
        let g = self.graph.as_deref_mut().expect("a branching line");
        for s in stations.clone() {
            g.cap[s] = INF;
            g.bound[s] = INF;
            for e in g.out_start[s]..g.out_start[s + 1] {
                g.allow[e] = INF;
            }
            let st = &mut self.stations[s];
            st.rate = st.max_rate;
            st.limit = StationState::Working;
        }
        // Merges hold a product back only where the stations planned run several.
        self.mixed_products = self.run_several(stations.clone());
        let g = self.graph_mut();
        // Not kept in snapshots (read as empty before a restored line's first plan):
        // sized again after a restore.
        g.filling.resize(g.to.len(), false);
        g.draining.resize(g.to.len(), false);
        for s in stations.clone() {
            if let Some(b) = g.input[s] {
                g.filling[b] = false;
            }
            for e in g.out_start[s]..g.out_start[s + 1] {
                g.draining[g.edge_to[e]] = false;
            }
        }
        self.sweeps(stations.clone());
        // An empty buffer into which more flows than its machines take fills at once:
        // they are held by their room alone (a full merge after them shares it by its
        // rule, not by the empty buffer's division), planned again so. Where they would
        // then take more than flows in, it is empty after all. A full buffer from which
        // more flows out than in likewise leaves full at once. Filling first, then
        // leaving full, each found on a plan with the other's as found: set together
        // around the same machines (both seen from a plan holding them at nothing),
        // neither would hold them, and both would be dropped for that alone.
        for filling in [true, false] {
            if self.set_passing(stations.clone(), filling, false) {
                self.sweeps(stations.clone());
                if self.set_passing(stations.clone(), filling, true) {
                    self.sweeps(stations.clone());
                }
            }
        }
    }

    /// Sweeps `stations` down and up until no hold changes.
    fn sweeps<I>(&mut self, stations: I)
    where
        I: DoubleEndedIterator<Item = usize> + ExactSizeIterator + Clone,
    {
        self.graph_mut().work.get_or_insert_default().seen = 0;
        // A sweep per station and one more, as many again after each of at most two
        // leaps (a leap lands near where the holds settle, for the sweeps to settle
        // exactly). Holds that creep need four stations, so leaping has room to come.
        let budget = stations.len() + 1;
        let (mut left, mut leaps) = (budget, 0);
        for k in 0.. {
            self.sweep_down(stations.clone());
            if !self.sweep_up(stations.clone().rev()) {
                break;
            }
            left -= 1;
            if left == 0 {
                break;
            }
            // Most plans settle in a sweep or two: only the ones after that are watched.
            if k >= 1 && leaps < 2 && self.leap(stations.clone()) {
                leaps += 1;
                left = budget;
            }
        }
    }

    /// Where a full buffer's room and a divider's share hold each other, the sweeps
    /// creep. For example, a divider whose first output is full takes there only the
    /// room its machine frees and sends the rest to a second machine, and the two share
    /// a full merge after them: each sweep, the second machine's share of the merge's
    /// room leaves the first less room, which sends the second more, by what the room
    /// falls short of what is put on it, scaled by the first machine's good fraction.
    /// Every hold moving then moves by the same ratio per sweep (below one, settling
    /// after hundreds of sweeps; one or above, until a hold reaches nothing or another
    /// bound). Seeing that over three sweeps, this moves every moving hold at once to
    /// where the first reaches nothing, or to where they settle (the sum of the ratio's
    /// powers), whichever comes first; the sweeps after it settle exactly, and find any
    /// other bound passed on the way (the merge's even share, say). Whether it leapt.
    /// Before, the sweeps stopped short, after as many as the stations planned, so that
    /// planning the whole line and planning locally parted, and neither was the line's
    /// plan (about one random branching line in a hundred, by up to 1 %).
    fn leap<I>(&mut self, stations: I) -> bool
    where
        I: DoubleEndedIterator<Item = usize> + ExactSizeIterator + Clone,
    {
        let mut w = self.take_work();
        // The holds now, last of three: each station's cap and its edges' allowances.
        let g = self.graph();
        w.holds.rotate_left(1);
        let now = &mut w.holds[2];
        now.clear();
        for s in stations.clone() {
            now.push(g.cap[s]);
            now.extend(g.edges(s).map(|e| g.allow[e]));
        }
        w.seen += 1;
        let by = if w.seen < 3 {
            None
        } else {
            Self::leap_by(&w.holds)
        };
        let Some(by) = by else {
            self.put_work(w);
            return false;
        };
        let [_, x1, x2] = &w.holds;
        let g = self.graph.as_deref_mut().expect("a branching line");
        let mut k = 0;
        let mut set = |x: &mut f64| {
            let (b, c) = (x1[k], x2[k]);
            k += 1;
            if c.is_finite() && moved(b, c) {
                *x = (c + (c - b) * by).max(0.0);
            }
        };
        for s in stations {
            set(&mut g.cap[s]);
            for e in g.out_start[s]..g.out_start[s + 1] {
                set(&mut g.allow[e]);
            }
        }
        w.seen = 0;
        self.put_work(w);
        true
    }

    /// How many last moves to move the holds `[x0, x1, x2]` on by (see [`Self::leap`]),
    /// if every hold that moved moved by one ratio, and there is somewhere to go.
    fn leap_by([x0, x1, x2]: &[Vec<f64>; 3]) -> Option<f64> {
        let mut ratio: Option<f64> = None;
        let mut to_nothing = INF;
        for ((&a, &b), &c) in x0.iter().zip(x1).zip(x2) {
            let finite = a.is_finite() && b.is_finite() && c.is_finite();
            if !finite || !moved(b, c) {
                // A hold that stopped (or came or went) is not creeping.
                if (a.is_finite() || b.is_finite()) && (a != b && (!finite || moved(a, b))) {
                    return None;
                }
                continue;
            }
            let r = (c - b) / (b - a);
            if !(r > 0.0 && r < 2.0) || ratio.is_some_and(|q| (r - q).abs() > 1e-6 * q) {
                return None;
            }
            ratio.get_or_insert(r);
            if c < b {
                to_nothing = to_nothing.min(c / (b - c));
            }
        }
        let r = ratio?;
        let settled = if r < 1.0 - 1e-9 { r / (1.0 - r) } else { INF };
        Some(to_nothing.min(settled)).filter(|by| by.is_finite())
    }

    /// Sets which empty buffers before `stations` fill at once (with `filling`; else
    /// which full buffers after them leave full at once), from the plan now: those where
    /// it is so (with `confirm`, only those already set where it is still so); whether
    /// that changed anywhere it matters (a buffer empty or full now, known exactly). Only
    /// buffers shared by several machines count; an empty one only where all its machines
    /// run what flows in; neither a direct coupling.
    fn set_passing(
        &mut self,
        stations: impl Iterator<Item = usize>,
        filling: bool,
        confirm: bool,
    ) -> bool {
        let more = |x: f64, y: f64| x > y * (1.0 + 1e-9);
        let mut changed = false;
        for s in stations {
            // One machine alone is held by its supply only where that is all it gets,
            // and by its room only where that is all it may put on. Cheap tests first:
            // this runs at every plan.
            if !self.graph().shared[s] {
                continue;
            }
            if let Some(b) = self.graph().input[s]
                && filling
                && self.graph().to[b][0] == s
                && (self.graph().filling[b] || !confirm)
                && self.graph().to[b].len() > 1
            {
                let g = self.graph();
                let p = self.stations[s].core.product;
                let matters = g.to[b].iter().any(|&t| self.finds_empty(b, t)) && self.settled(b);
                let now = matters
                    && g.to[b]
                        .iter()
                        .all(|&t| self.stations[t].core.product == p && self.finds_empty(b, t))
                    && {
                        let supply = self.supply_to(b, s);
                        (self.buffers[b].transit.is_some() || supply == self.inflow(b))
                            && more(supply, self.outflow(b))
                    };
                // Planned again only where the share held a machine back.
                let held = |t: &usize| self.stations[*t].limit == StationState::Starved;
                changed |= matters && now != g.filling[b] && (confirm || g.to[b].iter().any(held));
                self.graph_mut().filling[b] = now;
            }
            for e in self.graph().edges(s).filter(|_| !filling) {
                let g = self.graph();
                let b = g.edge_to[e];
                let buf = &self.buffers[b];
                if g.feeds[b][0] != e || (confirm && !g.draining[b]) || g.feeds[b].len() < 2 {
                    continue;
                }
                let matters = buf.is_full() && buf.capacity != Some(0) && self.settled(b);
                let now = matters && more(self.outflow(b), self.inflow(b));
                let held =
                    |e: &usize| self.stations[g.edge_from[*e]].limit == StationState::Blocked;
                changed |=
                    matters && now != g.draining[b] && (confirm || g.feeds[b].iter().any(held));
                self.graph_mut().draining[b] = now;
            }
        }
        changed
    }

    fn sweep_down(&mut self, stations: impl Iterator<Item = usize>) {
        for s in stations {
            let st = &mut self.stations[s];
            let before = st.limit;
            st.rate = st.max_rate;
            st.limit = StationState::Working;
            // Starved first: a machine short of input is "lack" even when the room after
            // it would hold it back as much (as on a series line).
            if let Some(b) = self.graph().input[s] {
                if self.graph().to[b][0] == s {
                    self.share_empty(b);
                }
                let bound = self.graph().bound[s];
                let st = &mut self.stations[s];
                if st.rate > bound * (1.0 + 1e-12) {
                    st.rate = bound;
                    st.limit = StationState::Starved;
                }
            }
            let cap = self.graph().cap[s];
            let st = &mut self.stations[s];
            if st.rate > cap * (1.0 + 1e-12) {
                st.rate = cap;
                st.limit = StationState::Blocked;
            } else if before == StationState::Blocked
                && st.limit == StationState::Starved
                && st.rate >= cap * (1.0 - 1e-12)
            {
                // Held back as much by both: the machines before it wait for it (a full
                // buffer after it), so it is blocked, as it was found before.
                st.limit = StationState::Blocked;
            }
            self.divide(s);
        }
    }

    /// Whether station `t` finds buffer `b` empty of what it takes now.
    #[inline(always)]
    fn runs_dry(&self, b: usize, t: usize) -> bool {
        self.settled(b) && self.graph().filling.get(b) != Some(&true) && self.finds_empty(b, t)
    }

    /// Whether buffer `b` holds nothing of what station `t` takes ready to take (at its
    /// conveyor's end), whatever the plan.
    #[inline(always)]
    fn finds_empty(&self, b: usize, t: usize) -> bool {
        let buf = &self.buffers[b];
        match &buf.transit {
            Some(tr) => tr.ready_now <= EPS,
            None => buf.leading(self.stations[t].core.product) <= EPS,
        }
    }

    /// What flows into buffer `b` for station `t` to take now: of its product, or what
    /// reaches its conveyor's end.
    #[inline(always)]
    fn supply_to(&self, b: usize, t: usize) -> f64 {
        match &self.buffers[b].transit {
            Some(tr) => tr.delayed_rate_now,
            None => self.inflow_for(b, t),
        }
    }

    /// Shares what flows into buffer `b` among the machines it feeds that find it empty,
    /// setting their `bound` (infinite for the others).
    fn share_empty(&mut self, b: usize) {
        // Most of the time nobody finds it empty: every bound is infinite.
        if !self.graph().to[b].iter().any(|&t| self.runs_dry(b, t)) {
            for i in 0..self.graph().to[b].len() {
                let t = self.graph().to[b][i];
                self.graph_mut().bound[t] = INF;
            }
            return;
        }
        let mut w = self.take_work();
        let supply = self.supply_to(b, self.graph().to[b][0]);
        w.branches.clear();
        w.dry.clear();
        for (j, &t) in self.graph().to[b].iter().enumerate() {
            if !self.runs_dry(b, t) {
                continue;
            }
            let st = &self.stations[t];
            // What room after it leaves it to take, so that a share it cannot use goes to
            // the others: only where there are others. Alone, its share is the supply,
            // and its room holds it back afterwards; counted here as well, the room a full
            // merge after it last allowed it would bound the supply offered to it, and the
            // merge's next allowance by that supply, so that neither could grow again
            // when more flows in (a plan below both supply and room).
            let want = match self.graph().to[b].len() {
                1 => st.max_rate,
                _ => st.max_rate.min(self.graph().cap[t]),
            };
            let had = self.graph().taken[b][j] as f64;
            let (key, slope) = match &self.graph().share_out[b] {
                Divide::MostRoom => (had, 1.0),
                Divide::Shares(w) => (had / w[j], w[j]),
                Divide::Priority => (j as f64, 1.0),
            };
            w.branches.push(Branch {
                key,
                base: 0.0,
                slope,
                cap: want,
                phase: 0,
            });
            w.dry.push(t);
        }
        for i in 0..self.graph().to[b].len() {
            let t = self.graph().to[b][i];
            self.graph_mut().bound[t] = INF;
        }
        if !w.dry.is_empty() {
            let tol = if self.graph().share_out[b] == Divide::Priority {
                0.5
            } else {
                KEY_TOL
            };
            // One machine alone: its own product's supply.
            let supply = match w.dry[..] {
                [t] => self.supply_to(b, t),
                _ => supply,
            };
            w.out.clear();
            w.out.resize(w.dry.len(), 0.0);
            branch::share(&w.branches, supply, tol, &mut w.out, &mut w.sharing);
            let g = self.graph_mut();
            for (k, &t) in w.dry.iter().enumerate() {
                g.bound[t] = w.out[k];
            }
        }
        self.put_work(w);
    }

    /// Shares station `s`'s good output among its outputs by its rule; whether a share
    /// changed (the machines after it then see another inflow).
    #[inline(always)]
    fn divide(&mut self, s: usize) -> bool {
        let edges = self.graph().edges(s);
        if edges.len() <= 1 {
            let st = &self.stations[s];
            let good = st.rate * st.good_fraction();
            if let Some(e) = edges.clone().next() {
                self.graph_mut().flow[e] = good;
            }
            return false;
        }
        self.divide_among(s)
    }

    /// [`Self::divide`] of a station with several outputs (out of line: most have one).
    #[inline(never)]
    fn divide_among(&mut self, s: usize) -> bool {
        let edges = self.graph().edges(s);
        let st = &self.stations[s];
        let good = st.rate * st.good_fraction();
        let mut w = self.take_work();
        let g = self.graph();
        let rule = &g.divide[s];
        // Per edge, one branch, or two for a lane by most room. Among lanes of equal room,
        // first what holds each lane that is not empty at its level (a lane that fell
        // below the others would have the most room and be served alone; too little for
        // all, they fall alike), then what keeps each empty lane empty, turn by turn with
        // the other empty lanes (the unit-by-unit tie goes to the lane that has had
        // fewest), then their shares of a common rise. Unit by unit an empty lane's
        // machine starves while a lane of equal room would drop below it.
        let (branches, owner) = (&mut w.branches, &mut w.owner);
        branches.clear();
        owner.clear();
        for (k, e) in edges.clone().enumerate() {
            let b = g.edge_to[e];
            let cap = g.allow[e];
            let one = |key, base, slope| Branch {
                key,
                base,
                slope,
                cap,
                phase: 0,
            };
            match rule {
                Divide::MostRoom => match self.buffers[b].capacity {
                    Some(c) => {
                        let others: f64 = g.feeds[b]
                            .iter()
                            .filter(|&&f| f != e)
                            .map(|&f| g.flow[f])
                            .sum();
                        let level = self.buffers[b].level();
                        let key = super::to_f64(level) - super::to_f64(c);
                        if level <= EPS {
                            // What the machines after it would take, were it never empty;
                            // nothing from an empty conveyor, whose units reach them only
                            // after its transport time: what goes on raises its level at
                            // once (unit by unit, its first unit leaves another lane the
                            // most room).
                            let want: f64 = match self.buffers[b].transit {
                                Some(_) => 0.0,
                                None => g.to[b]
                                    .iter()
                                    .map(|&t| self.stations[t].max_rate.min(g.cap[t]))
                                    .sum(),
                            };
                            let keep = (want - others).max(0.0).min(cap);
                            branches.push(Branch {
                                cap: keep,
                                phase: 1,
                                ..one(key, 0.0, 1.0)
                            });
                            branches.push(Branch {
                                cap: cap - keep,
                                phase: 2,
                                ..one(key, 0.0, 1.0)
                            });
                        } else {
                            let drained = (self.outflow(b) - others).max(0.0).min(cap);
                            branches.push(Branch {
                                cap: drained,
                                ..one(key, drained, 1.0)
                            });
                            branches.push(Branch {
                                cap: cap - drained,
                                phase: 2,
                                ..one(key, 0.0, 1.0)
                            });
                        }
                        owner.extend([k, k]);
                    }
                    None => {
                        branches.push(one(f64::MIN, 0.0, 1.0));
                        owner.push(k);
                    }
                },
                Divide::Shares(w) => {
                    branches.push(one(g.put[e] as f64 / w[k], 0.0, w[k]));
                    owner.push(k);
                }
                Divide::Priority => {
                    branches.push(one(k as f64, 0.0, 1.0));
                    owner.push(k);
                }
            }
        }
        let tol = if *rule == Divide::Priority {
            0.5
        } else {
            KEY_TOL
        };
        if w.divided.len() <= s {
            w.divided.resize_with(self.stations.len(), Divided::default);
        }
        match &w.divided[s] {
            d if d.answers(good, tol, &w.branches, &w.owner) => w.out.clone_from(&d.out),
            _ => {
                w.parts.clear();
                w.parts.resize(w.branches.len(), 0.0);
                branch::share(&w.branches, good, tol, &mut w.parts, &mut w.sharing);
                w.out.clear();
                w.out.resize(edges.len(), 0.0);
                for (x, &k) in w.parts.iter().zip(&w.owner) {
                    w.out[k] += x;
                }
                let d = &mut w.divided[s];
                d.asked = true;
                d.good = good.to_bits();
                d.tol = tol.to_bits();
                d.branches.clone_from(&w.branches);
                d.owner.clone_from(&w.owner);
                d.out.clone_from(&w.out);
            }
        }
        let g = self.graph_mut();
        let changed = g.flow[edges.clone()]
            .iter()
            .zip(&w.out)
            .any(|(x, y)| (x - y).abs() > 1e-12 * x.abs().max(y.abs()));
        g.flow[edges].copy_from_slice(&w.out);
        self.put_work(w);
        changed
    }

    /// Holds back machines whose outputs are all full to the room the machines after
    /// them free; whether any machine's hold changed.
    fn sweep_up(&mut self, stations: impl Iterator<Item = usize>) -> bool {
        let mut changed = false;
        for s in stations {
            let edges = self.graph().edges(s);
            let mut open = edges.is_empty();
            let mut room_total = 0.0;
            for e in edges {
                let b = self.graph().edge_to[e];
                let held = self.merge_holds(b, s);
                if !self.settled(b)
                    || !self.buffers[b].is_full()
                    || self.graph().draining.get(b) == Some(&true)
                {
                    self.graph_mut().allow[e] = if held { 0.0 } else { INF };
                    open |= !held;
                    continue;
                }
                let feeds = &self.graph().feeds[b];
                if self.buffers[b].capacity == Some(0) {
                    // A direct coupling passes on what the machine after it would take,
                    // whatever it takes now (it takes what comes).
                    let g = self.graph();
                    let room: f64 = g.to[b]
                        .iter()
                        .map(|&t| self.stations[t].max_rate.min(g.cap[t]))
                        .sum();
                    self.graph_mut().allow[e] = room;
                } else if feeds.len() == 1 {
                    let room = self.outflow(b);
                    self.graph_mut().allow[e] = room;
                } else if feeds.last() == Some(&e) {
                    self.share_room(b);
                }
                if held {
                    self.graph_mut().allow[e] = 0.0;
                }
                room_total += self.graph().allow[e];
            }
            let st = &self.stations[s];
            let cap = if open {
                INF
            } else {
                room_total / st.good_fraction()
            };
            let old = self.graph().cap[s];
            // A machine held by the room it had is planned again with the room it has
            // now, shared or not: held at a full buffer's last allowance, it had kept it
            // while the machines after the buffer took more, until the next plan (so
            // that planning the whole line and planning locally parted).
            let st = &self.stations[s];
            let held = st.limit == StationState::Blocked && st.rate >= old * (1.0 - 1e-12);
            if (self.graph().shared[s] || held)
                && old != cap
                && (old.is_infinite() || (old - cap).abs() > 1e-12 * old.abs())
            {
                changed = true;
            }
            self.graph_mut().cap[s] = cap;
            let st = &mut self.stations[s];
            if st.rate > cap * (1.0 + 1e-12) {
                // Less taken here leaves less for the machines after it that were
                // planned on what it gave: sweep again.
                st.rate = cap;
                st.limit = StationState::Blocked;
                changed = true;
            }
            if self.divide(s) {
                changed = true;
            }
        }
        changed
    }

    /// Whether buffer `b`, a merge, holds station `s` back now: `s` runs another product
    /// than the one the merge takes (that of what it holds last or, empty, of the machine
    /// after it) while another machine feeding it still has that one to give. A merge
    /// takes the last of a product before the next, so that the machine after it changes
    /// over once, not at each unit of the two products in turn.
    #[inline(always)]
    pub(super) fn merge_holds(&self, b: usize, s: usize) -> bool {
        self.mixed_products && self.graph().feeds[b].len() > 1 && self.merge_holds_back(b, s)
    }

    /// Whether `stations` run more than one product between them.
    pub(super) fn run_several(&self, mut stations: impl Iterator<Item = usize>) -> bool {
        let product = |s: usize| self.stations[s].core.product;
        let first = stations.next().map(product);
        stations.any(|s| Some(product(s)) != first)
    }

    /// [`Self::merge_holds`] of a merge (out of line: most buffers have one feeder).
    #[inline(never)]
    fn merge_holds_back(&self, b: usize, s: usize) -> bool {
        let g = self.graph();
        let product = |t: usize| self.stations[t].core.product;
        let buf = &self.buffers[b];
        let taken = match buf.runs.back() {
            Some(r) if buf.level() > EPS => r.0,
            _ => product(g.to[b][0]),
        };
        if product(s) == taken {
            return false;
        }
        // It still has `taken` to give: some at the head of its input, or more coming
        // from a machine before that one still running it.
        let gives = |f: usize| {
            product(f) == taken
                && g.input[f].is_some_and(|a| {
                    self.buffers[a].leading(taken) > EPS
                        || g.feeds[a].iter().any(|&e| product(g.edge_from[e]) == taken)
                })
        };
        g.feeds[b]
            .iter()
            .map(|&e| g.edge_from[e])
            .any(|f| f != s && gives(f))
    }

    /// Shares the room freed on full buffer `b` among the stations feeding it, by its rule.
    fn share_room(&mut self, b: usize) {
        let mut w = self.take_work();
        let room = self.outflow(b);
        let g = self.graph();
        let priority = g.combine[b] == CombineRule::Priority;
        w.branches.clear();
        w.branches
            .extend(g.feeds[b].iter().enumerate().map(|(k, &e)| {
                let f = g.edge_from[e];
                let s = &self.stations[f];
                Branch {
                    key: if priority { k as f64 } else { 0.0 },
                    base: 0.0,
                    slope: 1.0,
                    // What it would put on, were the buffer not full: no more than its
                    // other outputs and its input let it (a share it cannot use goes to
                    // the others), nothing while the merge holds its product back.
                    // (Its hold from its other outputs: a machine with this output alone is
                    // held only by this buffer's last allowance, which must not bound the
                    // next.)
                    cap: match self.merge_holds(b, f) {
                        true => 0.0,
                        false => {
                            let held = match g.edges(f).len() {
                                1 => INF,
                                _ => g.cap[f],
                            };
                            s.max_rate.min(held).min(g.bound[f]) * s.good_fraction()
                        }
                    },
                    phase: 0,
                }
            }));
        w.out.clear();
        w.out.resize(w.branches.len(), 0.0);
        branch::share(&w.branches, room, 0.5, &mut w.out, &mut w.sharing);
        let g = self.graph_mut();
        for k in 0..g.feeds[b].len() {
            let e = g.feeds[b][k];
            g.allow[e] = w.out[k];
        }
        self.put_work(w);
    }

    /// Nanoseconds until two sharing keys meet anywhere on the line (after which they are
    /// served together).
    pub(super) fn next_meeting(&self) -> f64 {
        let stations = (0..self.stations.len()).map(|s| self.divider_meeting(s));
        let buffers = (0..self.buffers.len()).map(|b| self.dry_meeting(b));
        stations.chain(buffers).fold(INF, f64::min)
    }

    /// Nanoseconds until two keys by which station `s` shares its output over its outputs
    /// meet (infinite: never).
    pub(super) fn divider_meeting(&self, s: usize) -> f64 {
        let g = self.graph();
        let edges = g.edges(s);
        if edges.len() < 2 {
            return INF;
        }
        let key = |k: usize, e: usize| match &g.divide[s] {
            Divide::Priority => None,
            Divide::MostRoom => {
                let b = g.edge_to[e];
                let c = self.buffers[b].capacity?;
                let level = self.buffers[b].level();
                let mut rate = self.inflow(b) - self.outflow(b);
                if level <= EPS {
                    rate = rate.max(0.0);
                }
                Some((super::to_f64(level) - super::to_f64(c), rate))
            }
            Divide::Shares(w) => Some((g.put[e] as f64 / w[k], g.flow[e] / w[k])),
        };
        earliest_meeting(edges.enumerate().filter_map(|(k, e)| key(k, e)))
    }

    /// Nanoseconds until two keys by which the machines finding buffer `b` empty share
    /// what flows in meet (infinite: never).
    pub(super) fn dry_meeting(&self, b: usize) -> f64 {
        let g = self.graph();
        let to = &g.to[b];
        if to.len() < 2 || g.share_out[b] == Divide::Priority {
            return INF;
        }
        let keys = to
            .iter()
            .enumerate()
            .filter(|&(_, &t)| self.runs_dry(b, t))
            .map(|(j, &t)| {
                let w = match &g.share_out[b] {
                    Divide::Shares(w) => w[j],
                    _ => 1.0,
                };
                (g.taken[b][j] as f64 / w, self.stations[t].rate / w)
            });
        earliest_meeting(keys)
    }

    /// Books `stations` of a branching line (in flow order) up to `now` at their rates,
    /// exactly: what each takes (`a`) and makes (`good`). On a buffer all of whose
    /// machines are booked together (`whole`: every buffer), nobody takes more than is
    /// there nor puts in more than there is room for; the others are neither empty nor
    /// full (see `reach`).
    pub(super) fn book_graph<const PACKS: bool, I>(
        &mut self,
        stations: I,
        whole: bool,
        now: SimTime,
    ) where
        I: DoubleEndedIterator<Item = usize> + Clone,
    {
        let n = self.stations.len();
        let (mut a, mut good) = (
            std::mem::take(&mut self.scratch),
            std::mem::take(&mut self.scratch_good),
        );
        a.resize(n, 0);
        good.resize(n, 0);
        let remaining = self.cursor.remaining_ticks();
        for s in stations.clone() {
            let st = &self.stations[s];
            let mut x = amount(st.rate, now.0.saturating_sub(st.since.0));
            if s == 0
                && let Some(rem) = remaining
            {
                x = x.min(rem);
            }
            a[s] = x;
            good[s] = st.good_of::<PACKS>(x);
        }
        let mut g = self.graph.take().expect("a branching line");
        let together =
            |g: &Graph, b: usize| whole || g.settled(&self.mark, super::reach::BOOKING, b);
        self.take_what_is_there::<PACKS>(&mut g, stations.clone(), whole, &mut a, &mut good, now);
        // Nobody puts in more than there is room for: a buffer is looked at once every
        // machine it feeds has given way (those come after all that feed it).
        let mut cut = false;
        for t in stations.clone().rev() {
            let Some(b) = g.input[t].filter(|&b| g.to[b][0] == t) else {
                continue;
            };
            let Some(cap) = self.buffers[b].capacity else {
                continue;
            };
            if !together(&g, b) {
                continue;
            }
            for round in 0.. {
                // In totals: a machine booked ahead of the others may have taken what
                // they have not yet put in.
                let put: u128 = g.feeds[b].iter().map(|&e| g.now_put[e]).sum();
                let buf = &self.buffers[b];
                let after = (buf.cum_in + put).saturating_sub(buf.cum_out + g.now_taken[b]);
                if after <= cap {
                    break;
                }
                // The last feeder still putting on gives way first.
                let Some(&e) = g.feeds[b].iter().rev().find(|&&e| g.now_put[e] > 0) else {
                    break;
                };
                let s = g.edge_from[e];
                cut = true;
                // Past a few rounds the excess barely falls: this edge's share of the
                // machine's output is a sliver, or the rounding left over by the split.
                // Then the excess comes off this edge alone, the machine making that much
                // less (in its input's ticks: in proportion, as it makes them).
                let sliver = round >= CUT_ROUNDS;
                let off = (after - cap).min(g.now_put[e]);
                let less = match (sliver, good[s]) {
                    (false, _) => (after - cap).min(a[s]),
                    (true, 0) => 0,
                    // Exact where it fits (a machine without rejects gives way by `off`
                    // to the tick), in floating point where the product would not.
                    (true, x) => off
                        .checked_mul(a[s])
                        .map_or_else(
                            || {
                                let r = super::to_f64(off) * super::to_f64(a[s]) / super::to_f64(x);
                                r.ceil() as u128
                            },
                            |p| p.div_ceil(x),
                        )
                        .min(a[s]),
                };
                a[s] -= less;
                // It takes less from the buffer before it too (looked at later).
                if let Some(before) = g.input[s] {
                    g.now_taken[before] = g.now_taken[before].saturating_sub(less);
                }
                if sliver {
                    good[s] -= off;
                    g.now_put[e] -= off;
                    continue;
                }
                good[s] = self.stations[s].good_of::<PACKS>(a[s]);
                let mut put_now = std::mem::take(&mut g.now_put);
                Self::split_ticks(&g, s, good[s], |e, x| put_now[e] = x);
                g.now_put = put_now;
            }
        }
        // Less put in upstream can leave less to take downstream.
        if cut {
            self.take_what_is_there::<PACKS>(
                &mut g,
                stations.clone(),
                whole,
                &mut a,
                &mut good,
                now,
            );
        }
        for s in stations.clone() {
            let dt = now.0.saturating_sub(self.stations[s].since.0);
            if dt > 0 {
                self.book::<PACKS>(s, a[s], good[s], dt, now);
            }
            let st = &mut self.stations[s];
            st.since = now;
            st.made += good[s];
            let product = st.core.product;
            for e in g.edges(s) {
                let b = g.edge_to[e];
                self.buffers[b].put_in(product, g.now_put[e]);
                g.put[e] += g.now_put[e];
            }
            if let Some(b) = g.input[s] {
                self.buffers[b].take_out(a[s], now.0);
                let j = g.to[b].iter().position(|&t| t == s).expect("fed by it");
                g.taken[b][j] += a[s];
            } else {
                self.cursor.released += a[s];
            }
        }
        self.graph = Some(g);
        self.scratch = a;
        self.scratch_good = good;
    }

    /// A sweep downstream over `stations`: nobody takes more than is there (of its
    /// product, done with transport, less what the machines before it on the same buffer
    /// took) from a buffer booked together; each station's good output is split over its
    /// outputs.
    fn take_what_is_there<const PACKS: bool>(
        &self,
        g: &mut Graph,
        stations: impl Iterator<Item = usize> + Clone,
        whole: bool,
        a: &mut [u128],
        good: &mut [u128],
        now: SimTime,
    ) {
        let mut work = g.work.take().unwrap_or_default();
        let mut ready = std::mem::take(&mut work.ready);
        ready.resize(self.buffers.len(), None);
        for s in stations.clone() {
            if let Some(b) = g.input[s] {
                g.now_taken[b] = 0;
                ready[b] = None;
            }
        }
        for s in stations {
            if let Some(b) = g.input[s]
                && (whole || g.settled(&self.mark, super::reach::BOOKING, b))
            {
                let buf = &self.buffers[b];
                let product = self.stations[s].core.product;
                let incoming: u128 = g.feeds[b]
                    .iter()
                    .filter(|&&e| self.stations[g.edge_from[e]].core.product == product)
                    .map(|&e| g.now_put[e])
                    .sum();
                // In totals: where what it may take ends (a machine booked ahead of the
                // others may have taken what they have not yet put in).
                let mut end = match buf.runs.front() {
                    Some(head) if head.0 == product => buf.head_end(buf.cum_in),
                    _ => buf.cum_in.min(buf.cum_out),
                } + incoming;
                if let Some(tr) = &buf.transit {
                    // What had arrived at the last replan is there still: look the exact
                    // figure up only when the machine might take more than that.
                    let floor = tr
                        .arrived_at_replan
                        .saturating_sub(buf.cum_out + g.now_taken[b]);
                    if a[s] > floor {
                        let all_in: u128 = g.feeds[b].iter().map(|&e| g.now_put[e]).sum();
                        let r = *ready[b].get_or_insert_with(|| {
                            tr.ready(now.0, buf.cum_in + all_in, buf.cum_out)
                        });
                        end = end.min(buf.cum_out + r);
                    }
                }
                let avail = end.saturating_sub(buf.cum_out + g.now_taken[b]);
                if a[s] > avail {
                    a[s] = avail;
                    good[s] = self.stations[s].good_of::<PACKS>(avail);
                }
                g.now_taken[b] += a[s];
            }
            let mut put_now = std::mem::take(&mut g.now_put);
            Self::split_ticks(g, s, good[s], |e, x| put_now[e] = x);
            g.now_put = put_now;
        }
        work.ready = ready;
        g.work = Some(work);
    }

    /// Splits `good` ticks of station `s` over its edges in proportion to the planned
    /// flows (the last edge carrying any flow takes what rounding leaves), giving each
    /// edge's share to `put`.
    pub(super) fn split_ticks(g: &Graph, s: usize, good: u128, mut put: impl FnMut(usize, u128)) {
        let edges = g.edges(s);
        match edges.len() {
            0 => {}
            1 => put(edges.start, good),
            _ => {
                let total: f64 = g.flow[edges.clone()].iter().sum();
                let last = edges
                    .clone()
                    .rev()
                    .find(|&e| g.flow[e] > 0.0)
                    .unwrap_or(edges.start);
                let mut left = good;
                for e in edges {
                    if e == last {
                        continue;
                    }
                    let x = if total > 0.0 {
                        (super::to_f64(good) * (g.flow[e] / total)) as u128
                    } else {
                        0
                    };
                    let x = x.min(left);
                    put(e, x);
                    left -= x;
                }
                put(last, left);
            }
        }
    }
}

/// Nanoseconds until the first two of `keys` (key, rate of change) meet (infinite: never).
fn earliest_meeting(keys: impl Iterator<Item = (f64, f64)>) -> f64 {
    // Junctions have few outputs: their keys are worked out once, on the stack.
    let mut few = [(0.0, 0.0); 8];
    let mut many = Vec::new();
    let mut n = 0;
    for key in keys {
        match few.get_mut(n) {
            Some(slot) => *slot = key,
            None => many.push(key),
        }
        n += 1;
    }
    if n > few.len() {
        many.splice(0..0, few);
    }
    let keys = if n > few.len() { &many[..] } else { &few[..n] };
    let mut best = INF;
    for &(k, r) in keys {
        for &(k2, r2) in keys {
            if k < k2 - KEY_TOL
                && let Some(dt) = branch::meeting(k, r, k2, r2)
            {
                best = best.min(dt);
            }
        }
    }
    best
}
