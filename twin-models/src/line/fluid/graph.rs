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
use super::{EPS, FluidLine};
use crate::line::station::StationState;
use crate::scenario::{CombineRule, Divide, Line};
use serde::{Deserialize, Serialize};

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
            work: None,
        }
    }

    pub fn edges(&self, s: usize) -> std::ops::Range<usize> {
        self.out_start[s]..self.out_start[s + 1]
    }
}

/// Sharing keys (ticks) closer than this are equal; a priority's keys are whole places.
const KEY_TOL: f64 = EPS as f64;

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

    /// Sets every machine's rate on a branching line: starting from what each could run
    /// at, a sweep downstream shares what empty buffers let in and a sweep upstream what
    /// full ones let out, until neither changes anything.
    pub(super) fn propagate_graph(&mut self) {
        let n = self.stations.len();
        {
            let g = self.graph_mut();
            g.cap.fill(INF);
            g.allow.fill(INF);
        }
        for s in &mut self.stations {
            s.rate = s.max_rate;
            s.limit = StationState::Working;
        }
        for _ in 0..=n {
            self.sweep_down();
            if !self.sweep_up() {
                break;
            }
        }
    }

    fn sweep_down(&mut self) {
        let n = self.stations.len();
        for s in 0..n {
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
    #[inline]
    fn runs_dry(&self, b: usize, t: usize) -> bool {
        let buf = &self.buffers[b];
        match &buf.transit {
            Some(tr) => tr.ready_now <= EPS,
            None => buf.leading(self.stations[t].core.product) <= EPS,
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
        let first = self.graph().to[b][0];
        let supply = match &self.buffers[b].transit {
            Some(tr) => tr.delayed_rate_now,
            None => self.inflow_for(b, first),
        };
        w.branches.clear();
        w.dry.clear();
        for (j, &t) in self.graph().to[b].iter().enumerate() {
            if !self.runs_dry(b, t) {
                continue;
            }
            let st = &self.stations[t];
            let want = st.max_rate.min(self.graph().cap[t]);
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
            let supply = match &self.buffers[b].transit {
                None if w.dry.len() == 1 => self.inflow_for(b, w.dry[0]),
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
        // Per edge, one branch, or two for an empty lane by most room: first what keeps
        // it empty, turn by turn with the other empty lanes (the unit-by-unit tie goes to
        // the lane that has had fewest), then its share of a common rise.
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
                            // What the machines after it would take, were it never empty.
                            let want: f64 = g.to[b]
                                .iter()
                                .map(|&t| self.stations[t].max_rate.min(g.cap[t]))
                                .sum();
                            let keep = (want - others).max(0.0).min(cap);
                            branches.push(Branch {
                                cap: keep,
                                ..one(key, 0.0, 1.0)
                            });
                            branches.push(Branch {
                                cap: cap - keep,
                                phase: 1,
                                ..one(key, 0.0, 1.0)
                            });
                            owner.extend([k, k]);
                        } else {
                            let drained = (self.outflow(b) - others).max(0.0);
                            branches.push(Branch {
                                phase: 1,
                                ..one(key, drained, 1.0)
                            });
                            owner.push(k);
                        }
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
    fn sweep_up(&mut self) -> bool {
        let mut changed = false;
        for s in (0..self.stations.len()).rev() {
            let edges = self.graph().edges(s);
            let mut open = edges.is_empty();
            let mut room_total = 0.0;
            for e in edges {
                let b = self.graph().edge_to[e];
                if !self.buffers[b].is_full() {
                    self.graph_mut().allow[e] = INF;
                    open = true;
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
                room_total += self.graph().allow[e];
            }
            let st = &self.stations[s];
            let cap = if open {
                INF
            } else {
                room_total / st.good_fraction()
            };
            let old = self.graph().cap[s];
            if self.graph().shared[s]
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

    /// Shares the room freed on full buffer `b` among the stations feeding it, by its rule.
    fn share_room(&mut self, b: usize) {
        let mut w = self.take_work();
        let room = self.outflow(b);
        let g = self.graph();
        let priority = g.combine[b] == CombineRule::Priority;
        w.branches.clear();
        w.branches
            .extend(g.feeds[b].iter().enumerate().map(|(k, &e)| {
                let s = &self.stations[g.edge_from[e]];
                Branch {
                    key: if priority { k as f64 } else { 0.0 },
                    base: 0.0,
                    slope: 1.0,
                    // What it would put on, were the buffer not full.
                    cap: s.max_rate.min(g.cap[g.edge_from[e]]) * s.good_fraction(),
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

    /// Nanoseconds until two sharing keys meet (after which they are served together).
    pub(super) fn next_meeting(&self) -> f64 {
        let g = self.graph();
        let mut best = INF;
        let mut keys: Vec<(f64, f64)> = Vec::new();
        let earliest = |keys: &[(f64, f64)], best: &mut f64| {
            for &(k, r) in keys {
                for &(k2, r2) in keys {
                    if k < k2 - KEY_TOL
                        && let Some(dt) = branch::meeting(k, r, k2, r2)
                    {
                        *best = best.min(dt);
                    }
                }
            }
        };
        for s in 0..self.stations.len() {
            let edges = g.edges(s);
            if edges.len() < 2 {
                continue;
            }
            keys.clear();
            match &g.divide[s] {
                Divide::Priority => continue,
                Divide::MostRoom => {
                    for e in edges {
                        let b = g.edge_to[e];
                        let Some(c) = self.buffers[b].capacity else {
                            continue;
                        };
                        let level = self.buffers[b].level();
                        let mut rate = self.inflow(b) - self.outflow(b);
                        if level <= EPS {
                            rate = rate.max(0.0);
                        }
                        keys.push((super::to_f64(level) - super::to_f64(c), rate));
                    }
                }
                Divide::Shares(w) => {
                    for (k, e) in edges.enumerate() {
                        keys.push((g.put[e] as f64 / w[k], g.flow[e] / w[k]));
                    }
                }
            }
            earliest(&keys, &mut best);
        }
        for (b, to) in g.to.iter().enumerate() {
            if to.len() < 2 || g.share_out[b] == Divide::Priority {
                continue;
            }
            keys.clear();
            for (j, &t) in to.iter().enumerate() {
                if !self.runs_dry(b, t) {
                    continue;
                }
                let w = match &g.share_out[b] {
                    Divide::Shares(w) => w[j],
                    _ => 1.0,
                };
                keys.push((g.taken[b][j] as f64 / w, self.stations[t].rate / w));
            }
            earliest(&keys, &mut best);
        }
        best
    }

    /// Moves a branching line's flows forward by `dt` nanoseconds to `now`: what each
    /// machine takes (`a`) and makes (`good`), exactly, then booked.
    pub(super) fn advance_graph<const PACKS: bool>(&mut self, now: sim::SimTime, dt: u64) {
        let n = self.stations.len();
        let (mut a, mut good) = self.planned_amounts::<PACKS>(dt);
        let mut g = self.graph.take().expect("a branching line");
        self.take_what_is_there::<PACKS>(&mut g, &mut a, &mut good, now);
        // Nobody puts in more than there is room for: a buffer is looked at once every
        // machine it feeds has given way (those come after all that feed it).
        let mut cut = false;
        for t in (0..n).rev() {
            let Some(b) = g.input[t].filter(|&b| g.to[b][0] == t) else {
                continue;
            };
            let Some(cap) = self.buffers[b].capacity else {
                continue;
            };
            loop {
                let put: u128 = g.feeds[b].iter().map(|&e| g.now_put[e]).sum();
                let after = (self.buffers[b].level() + put).saturating_sub(g.now_taken[b]);
                if after <= cap {
                    break;
                }
                // The last feeder still putting on gives way first.
                let Some(&e) = g.feeds[b].iter().rev().find(|&&e| g.now_put[e] > 0) else {
                    break;
                };
                let s = g.edge_from[e];
                a[s] -= (after - cap).min(a[s]);
                good[s] = self.stations[s].good_of::<PACKS>(a[s]);
                let mut put_now = std::mem::take(&mut g.now_put);
                Self::split_ticks(&g, s, good[s], &mut put_now);
                g.now_put = put_now;
                cut = true;
            }
        }
        // Less put in upstream can leave less to take downstream.
        if cut {
            self.take_what_is_there::<PACKS>(&mut g, &mut a, &mut good, now);
        }
        for s in 0..n {
            self.book::<PACKS>(s, a[s], good[s], dt, now);
            let product = self.stations[s].core.product;
            for e in g.edges(s) {
                let b = g.edge_to[e];
                let buf = &mut self.buffers[b];
                buf.put_in(product, g.now_put[e]);
                g.put[e] += g.now_put[e];
            }
            if let Some(b) = g.input[s] {
                let buf = &mut self.buffers[b];
                buf.take_out(a[s], now.0);
                let j = g.to[b].iter().position(|&t| t == s).expect("fed by it");
                g.taken[b][j] += a[s];
            }
        }
        self.graph = Some(g);
        self.cursor.released += a[0];
        self.scratch = a;
        self.scratch_good = good;
    }

    /// A sweep downstream: nobody takes more than is there (of its product, done with
    /// transport, less what the machines before it on the same buffer took); each
    /// station's good output is split over its outputs.
    fn take_what_is_there<const PACKS: bool>(
        &self,
        g: &mut Graph,
        a: &mut [u128],
        good: &mut [u128],
        now: sim::SimTime,
    ) {
        g.now_taken.fill(0);
        let mut work = g.work.take().unwrap_or_default();
        let mut ready = std::mem::take(&mut work.ready);
        ready.clear();
        ready.resize(self.buffers.len(), None);
        for s in 0..self.stations.len() {
            if let Some(b) = g.input[s] {
                let buf = &self.buffers[b];
                let product = self.stations[s].core.product;
                let incoming: u128 = g.feeds[b]
                    .iter()
                    .filter(|&&e| self.stations[g.edge_from[e]].core.product == product)
                    .map(|&e| g.now_put[e])
                    .sum();
                let mut avail = buf.leading(product) + incoming;
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
                        avail = avail.min(r);
                    }
                }
                let avail = avail.saturating_sub(g.now_taken[b]);
                if a[s] > avail {
                    a[s] = avail;
                    good[s] = self.stations[s].good_of::<PACKS>(avail);
                }
                g.now_taken[b] += a[s];
            }
            let mut put_now = std::mem::take(&mut g.now_put);
            Self::split_ticks(g, s, good[s], &mut put_now);
            g.now_put = put_now;
        }
        work.ready = ready;
        g.work = Some(work);
    }

    /// Splits `good` ticks of station `s` over its edges in proportion to the planned
    /// flows (the last edge carrying any flow takes what rounding leaves).
    fn split_ticks(g: &Graph, s: usize, good: u128, put: &mut [u128]) {
        let edges = g.edges(s);
        match edges.len() {
            0 => {}
            1 => put[edges.start] = good,
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
                    put[e] = x;
                    left -= x;
                }
                put[last] = left;
            }
        }
    }
}
