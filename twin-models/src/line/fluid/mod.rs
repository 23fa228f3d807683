//! Lines simulated as flows whose rates change only at events.
//!
//! A line with unlimited supply and fixed-cycle machines needs no event per bottle: between
//! events every machine runs at a constant rate, so buffer levels move linearly and the next
//! moment anything changes (a buffer fills or empties, a product boundary reaches a machine,
//! a campaign's quantity is released, a failure clock runs out) can be computed. Quantities
//! are integer ticks ([`TICKS_PER_UNIT`] per unit) and a machine's rate in milli-units per
//! hour is exactly ticks per nanosecond, so a machine at a whole rate produces exactly the
//! units its rate says.
//!
//! Rates: each machine runs at its nominal rate for its product unless an empty buffer in
//! front limits it to what flows in (it is partly **starved**) or a full buffer behind limits
//! it to what flows out (partly **blocked**); the time it runs below its rate is booked to
//! that state. This is the fluid limit of blocking after service: it leaves out the one unit
//! each machine holds.

mod boundaries;
mod branch;
mod graph;
mod reach;
mod series;
#[cfg(test)]
mod testing;

use super::control::Control;
use super::events::LineEvent;
use super::station::{CampaignCursor, StationCore, StationState};
use crate::distribution::Distribution;
use crate::scenario::{FailureBasis, Line, Process};
use crate::units::{TICKS_PER_UNIT, rate_of_cycle};
use boundaries::Boundaries;
use sim::{Calendar, RngStreams, SimDuration, SimTime, TimeWeighted};
use std::collections::VecDeque;

/// Levels within this many ticks (a millionth of a unit) of empty or full count as such.
const EPS: u128 = TICKS_PER_UNIT / 1_000_000;
const PPM: u128 = 1_000_000;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct FStation {
    core: StationCore,
    /// Full-speed rate per product, ticks per nanosecond.
    full_rate: Vec<f64>,
    reject_ppm: u128,
    /// Ticks out per tick processed: good ones (1 − reject rate), made into its own unit
    /// (divided by `takes`).
    good_fraction: f64,
    /// Rate it could run at now (0 when unavailable), ticks per nanosecond.
    max_rate: f64,
    /// Rate it runs at now.
    rate: f64,
    /// Why `rate < max_rate`: Starved or Blocked (Working when not limited).
    limit: StationState,
    /// Ticks processed since the start (for exact reject counting).
    processed: u128,
    /// Series lines: the time its counters, clocks and buffers are booked up to (its rate
    /// has not changed since).
    since: SimTime,
    /// Series lines: good ticks made (of its own unit) since the start, by `since`.
    made: u128,
    /// A station that makes its own unit of several of its input: how (out of line, so
    /// that the others stay small).
    pack: Option<Box<Pack>>,
}

/// How a station makes one unit of several of its input.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Pack {
    /// Units of its input per unit it makes.
    takes: u128,
    /// Good ticks of input processed since the start.
    good_in: u128,
}

impl Pack {
    /// Ticks of its own unit made of `good` more good ticks of input.
    #[inline(never)]
    fn packed(&self, good: u128) -> u128 {
        (self.good_in + good) / self.takes - self.good_in / self.takes
    }
}

impl FStation {
    /// Sets its rate to the most it can run at now, limited by nothing yet (planning
    /// starts there).
    fn unlimit(&mut self) {
        // At nominal speed the step is 1, and multiplying by 1 is exact.
        self.max_rate = if self.core.available() {
            self.full_rate[self.core.product] * self.core.step
        } else {
            0.0
        };
        self.rate = self.max_rate;
        self.limit = StationState::Working;
    }
    fn good_fraction(&self) -> f64 {
        self.good_fraction
    }
    /// Good ticks out (of its own unit) of processing `a` more ticks of its input; on a
    /// line where no station packs (`PACKS` false) that is the good input itself.
    #[inline(always)]
    fn good_of<const PACKS: bool>(&self, a: u128) -> u128 {
        let good = a - self.rejects_of(a);
        match &self.pack {
            Some(pack) if PACKS => pack.packed(good),
            _ => good,
        }
    }
    /// Rejects, in ticks of its own unit, of processing `a` more ticks of input, from the
    /// exact count of input rejected; books the good input.
    #[inline(never)]
    fn pack_rejects(&mut self, a: u128) -> u128 {
        let rejected_in = self.rejects_of(a);
        let processed = self.processed;
        let pack = self.pack.as_mut().expect("called for a packing station");
        let before = processed - pack.good_in;
        pack.good_in += a - rejected_in;
        (before + rejected_in) / pack.takes - before / pack.takes
    }
    fn rejects_of(&self, a: u128) -> u128 {
        if self.reject_ppm == 0 {
            return 0;
        }
        (self.processed + a) * self.reject_ppm / PPM - self.processed * self.reject_ppm / PPM
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Transit {
    /// Transport time, nanoseconds.
    tau: u64,
    /// Breakpoints of the inflow: (time ns, cumulative ticks in, rate after).
    history: VecDeque<(u64, u128, f64)>,
    /// At the last replan: ticks ready to leave, and the inflow rate reaching the end.
    ready_now: u128,
    /// At the last replan: cumulative ticks that had done their transport time.
    arrived_at_replan: u128,
    delayed_rate_now: f64,
}

impl Transit {
    /// The entry time of what leaves the conveyor at `now`; `None` before the first
    /// transport time has passed.
    fn delayed(&self, now: u64) -> Option<u64> {
        now.checked_sub(self.tau)
    }
    /// Cumulative inflow at entry time `x` and the inflow rate then (nothing before time
    /// 0), when `cum_in` ticks have entered by now (the current inflow segment may already
    /// include some not yet booked).
    #[inline]
    fn inflow_at(&self, x: Option<u64>, cum_in: u128) -> (u128, f64) {
        let Some(x) = x else { return (0, 0.0) };
        // The last breakpoint at or before `x` (times never decrease along the history).
        let k = self.history.partition_point(|(t, _, _)| *t <= x);
        if k == 0 {
            return (0, 0.0);
        }
        let (t, cum, rate) = self.history[k - 1];
        let cap = self.history.get(k).map_or(cum_in, |h| h.1);
        let extra = to_ticks(rate * (x - t) as f64);
        ((cum + extra).min(cap), rate)
    }
    /// Ticks that have done their transport time at `now` and are still on the conveyor,
    /// when `cum_in` ticks have entered and `cum_out` left.
    #[inline]
    fn ready(&self, now: u64, cum_in: u128, cum_out: u128) -> u128 {
        self.inflow_at(self.delayed(now), cum_in)
            .0
            .saturating_sub(cum_out)
    }
    /// Nanoseconds from `now` until the ready ticks, `ready` now and drained at `out` ticks
    /// per nanosecond, run out, following the recorded inflow as it reaches the end.
    #[inline(always)]
    fn time_to_drain(&self, now: u64, ready: u128, out: f64) -> Option<f64> {
        let x0 = now.checked_sub(self.tau);
        let mut rate = self.inflow_at(x0, u128::MAX).1;
        let mut left = to_f64(ready);
        let mut elapsed = 0.0;
        let upcoming = self.history.iter().filter(|h| x0.is_none_or(|x| h.0 > x));
        let mut at = x0.map_or(now as f64 - self.tau as f64, |x| x as f64);
        for &(t, _, next_rate) in upcoming {
            let span = t as f64 - at;
            let net = out - rate;
            if net > 0.0 && left <= net * span {
                return Some(elapsed + left / net);
            }
            left -= net * span;
            elapsed += span;
            // Drained to a crumb (what counts as dry) as the inflow changes: the end runs
            // dry then. A machine taking exactly what arrives after it would otherwise
            // keep the crumb for ever, and the end would go dry without an event.
            if net > 0.0 && left <= EPS as f64 {
                return Some(elapsed);
            }
            at = t as f64;
            rate = next_rate;
        }
        let net = out - rate;
        (net > 0.0).then(|| elapsed + left.max(0.0) / net)
    }

    /// Notes at `now` (a plan), when `cum_in` ticks have entered and `cum_out` left, what
    /// is ready to leave, what has arrived and the inflow rate reaching the end.
    fn replan_at(&mut self, now: u64, cum_in: u128, cum_out: u128) {
        let (arrived, rate) = self.inflow_at(self.delayed(now), cum_in);
        self.ready_now = arrived.saturating_sub(cum_out);
        self.arrived_at_replan = arrived;
        self.delayed_rate_now = rate;
    }

    /// Nanoseconds until the inflow rate reaching the end of the conveyor next changes.
    #[inline]
    fn next_change(&self, now: u64) -> Option<u64> {
        let x = self.delayed(now);
        self.history
            .iter()
            .find(|h| x.is_none_or(|x| h.0 > x))
            .map(|h| h.0 + self.tau - now)
    }
}

/// A buffer's content in cumulative terms: what has gone in and come out since time zero,
/// and where each product's run starts. A series line books its machines at their own
/// times, so the two counts may stand at different moments; the content at one moment is
/// their difference then ([`FluidLine::cum_in_at`], [`FluidLine::cum_out_at`]).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct FBuffer {
    /// Base units in one of its units (what the station before it makes).
    equivalent: u128,
    capacity: Option<u128>,
    /// Good ticks put in since time zero.
    cum_in: u128,
    /// Ticks taken out since time zero.
    cum_out: u128,
    /// Each product's run, oldest first: (product, `cum_in` where it starts). The first
    /// holds the head of the buffer; runs already taken out are dropped.
    runs: VecDeque<(usize, u128)>,
    transit: Option<Transit>,
}

impl FBuffer {
    fn new(equivalent: u128, capacity: Option<u128>, transit: Option<Transit>) -> Self {
        FBuffer {
            equivalent,
            capacity,
            cum_in: 0,
            cum_out: 0,
            runs: VecDeque::new(),
            transit,
        }
    }
    /// Ticks in the buffer (both sides booked to the same time).
    #[inline]
    fn level(&self) -> u128 {
        self.cum_in.saturating_sub(self.cum_out)
    }
    /// Ticks of `product` at the head of the buffer.
    #[inline]
    fn leading(&self, product: usize) -> u128 {
        self.leading_between(product, self.cum_in, self.cum_out)
    }
    /// As [`FBuffer::leading`] when `cum_in` ticks have gone in and `cum_out` come out
    /// (what has gone in since the last booking is of the last run's product).
    #[inline]
    fn leading_between(&self, product: usize, cum_in: u128, cum_out: u128) -> u128 {
        if self.runs.front().is_none_or(|r| r.0 != product) {
            return 0;
        }
        self.head_end(cum_in).saturating_sub(cum_out)
    }
    /// Where the head's run ends, when `cum_in` ticks have gone in: the next runs are of
    /// other products (runs of one product next to each other are one run), so it ends
    /// where the second starts, or with all that has gone in.
    #[inline]
    fn head_end(&self, cum_in: u128) -> u128 {
        self.runs.get(1).map_or(cum_in, |r| r.1)
    }
    /// The content by product, oldest first, when `cum_in` ticks have gone in: (product,
    /// ticks); runs already emptied show 0.
    fn contents(&self, cum_in: u128) -> impl Iterator<Item = (usize, u128)> + '_ {
        let ends = self.runs.iter().skip(1).map(|r| r.1).chain([cum_in]);
        self.runs
            .iter()
            .zip(ends)
            .map(|(r, end)| (r.0, end.saturating_sub(r.1.max(self.cum_out))))
    }
    fn is_full(&self) -> bool {
        self.capacity
            .is_some_and(|c| c.saturating_sub(self.level()) <= EPS)
    }
    /// `ticks` of `product` put on by a machine before it (entering transport).
    fn put_in(&mut self, product: usize, ticks: u128) {
        if ticks == 0 {
            return;
        }
        if self.runs.back().is_none_or(|r| r.0 != product) {
            self.runs.push_back((product, self.cum_in));
        }
        self.cum_in += ticks;
    }

    /// `ticks` taken off by a machine after it at `now` (ns); the transport history
    /// forgets what has left it.
    fn take_out(&mut self, ticks: u128, now: u64) {
        self.cum_out += ticks;
        while self.runs.len() >= 2 && self.runs[1].1 <= self.cum_out {
            self.runs.pop_front();
        }
        if let Some(tr) = &mut self.transit
            && let Some(x) = tr.delayed(now)
        {
            while tr.history.len() >= 2 && tr.history[1].0 <= x {
                tr.history.pop_front();
            }
        }
    }

    /// The runs of `old` at the head become `new` (crumbs of the old product go with the
    /// new one at a changeover).
    fn relabel_head(&mut self, old: usize, new: usize) {
        for r in self.runs.iter_mut().take_while(|r| r.0 == old) {
            r.0 = new;
        }
        // Runs of one product next to each other are one run.
        let mut k = 1;
        while k < self.runs.len() {
            if self.runs[k].0 == self.runs[k - 1].0 {
                self.runs.remove(k);
            } else {
                k += 1;
            }
        }
    }
}

/// `x` as a float, for rates and times (never for counts), without the slow software
/// conversion of `u128`.
fn to_f64(x: u128) -> f64 {
    // Below 2^75 ticks (ten million units) dropping the low 11 bits costs less than a
    // billionth of a unit and keeps to one hardware conversion. Below 2^11 they would be
    // all there is: a station under two units an hour, advanced a nanosecond or two, would
    // book no work at all (its operating-time failure clock then never ran down, and the
    // line's next boundary stayed a nanosecond away for ever).
    if x >> 11 == 0 {
        x as u64 as f64
    } else if x >> 75 == 0 {
        ((x >> 11) as u64) as f64 * 2048.0
    } else {
        wide_to_f64(x)
    }
}

/// [`to_f64`] of ten million units or more: out of line, so that the compiler does not
/// call the slow conversion on every path and keep the fast result only (it did).
#[cold]
#[inline(never)]
fn wide_to_f64(x: u128) -> f64 {
    x as f64
}

/// A non-negative float as ticks; the common case (below 2^64) avoids the slow conversion.
fn to_ticks(x: f64) -> u128 {
    if x < 1.8e19 {
        x as u64 as u128
    } else {
        x as u128
    }
}

fn amount(rate: f64, dt: u64) -> u128 {
    if rate <= 0.0 {
        0
    } else if rate < 1e18 && rate == rate as u64 as f64 {
        // Whole rates multiply exactly.
        rate as u64 as u128 * dt as u128
    } else {
        let x = rate * dt as f64;
        if x < 1.8e19 {
            sim::round_half_up(x) as u128
        } else {
            x.round() as u128
        }
    }
}

/// A line simulated as piecewise-constant flows.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FluidLine {
    stations: Vec<FStation>,
    buffers: Vec<FBuffer>,
    cursor: CampaignCursor,
    last: SimTime,
    epoch: u32,
    /// When the pending flow event of the current epoch fires.
    flow_at: Option<SimTime>,
    wip_avg: TimeWeighted,
    scratch: Vec<u128>,
    scratch_good: Vec<u128>,
    /// Level switches.
    control: Control,
    /// Whether a station makes its own unit of several of its input.
    packs: bool,
    /// A branching line's shape and junctions (`None`: a series line).
    graph: Option<Box<graph::Graph>>,
    /// Whether each event books and plans only the stations it concerns (a long line, see
    /// `series` and `reach`), rather than the whole line.
    local: bool,
    /// Lines planned locally: when each buffer (`0..buffers`) and each station (from
    /// `buffers` on) next reaches a flow boundary at its current rates.
    boundaries: Boundaries,
    /// Lines planned locally: the runs of stations booked to now since the last plan, to
    /// plan again (inclusive ranges).
    touched: Vec<(usize, usize)>,
    /// Branching lines planned locally, per station: whether it is booked to now to be
    /// planned again (the stations of `touched`, while they are booked and planned).
    #[serde(skip)]
    mark: Vec<u8>,
    /// Branching lines planned locally: the stations being booked or planned, in flow
    /// order (reused).
    #[serde(skip)]
    reach: Vec<usize>,
    /// While planning: whether the stations planned run more than one product (else no
    /// merge holds one back).
    #[serde(skip)]
    mixed_products: bool,
    /// Lines planned locally: the WIP's slope (units per nanosecond) at the current rates, and
    /// the WIP it gives at a time (it is exact at every full booking).
    wip_slope: f64,
    wip_est: (SimTime, f64),
    /// Reused list of elements (due boundaries, buffers next to the planned runs).
    #[serde(skip)]
    due: Vec<usize>,
    /// Series lines planned locally, while planning: what has gone into and out of each
    /// buffer next to the planned runs by now (reused).
    #[serde(skip)]
    near_totals: Vec<(u128, u128)>,
    /// Series lines, per station: (instant, `since`, taken, made) last worked out by
    /// `totals_at`.
    #[serde(skip)]
    totals: Vec<(u64, u64, u128, u128)>,
    /// Stations planned since the line was built or read back, once per plan each (what
    /// the planner's work grows with: a work estimate's measure).
    #[serde(skip)]
    planned: u64,
}

impl FluidLine {
    /// Builds a line: `streams` (its index in the scenario) keys its random streams, so
    /// that it draws the same numbers in any partition.
    pub fn new(streams: usize, line: &Line, rng: &RngStreams) -> Self {
        let first = line.campaigns[0].product;
        let stations = line
            .stations
            .iter()
            .enumerate()
            .map(|(si, s)| {
                let nominal = match &s.process {
                    Process::Rate(mu) => *mu,
                    Process::Time(Distribution::Fixed(d)) => rate_of_cycle(*d),
                    Process::Time(_) => unreachable!("fluid lines have fixed cycles only"),
                };
                // Rates are of input taken: `takes` per unit made.
                let nominal = nominal as f64 * s.takes as f64;
                FStation {
                    core: StationCore::new(s, streams, si, rng, first),
                    full_rate: s
                        .speed_factors
                        .iter()
                        .map(|f| if *f == 1.0 { nominal } else { nominal * f })
                        .collect(),
                    reject_ppm: (s.reject_rate * 1e6).round() as u128,
                    good_fraction: (1.0 - (s.reject_rate * 1e6).round() / 1e6) / s.takes as f64,
                    pack: (s.takes > 1).then(|| {
                        Box::new(Pack {
                            takes: u128::from(s.takes),
                            good_in: 0,
                        })
                    }),
                    max_rate: 0.0,
                    rate: 0.0,
                    limit: StationState::Working,
                    processed: 0,
                    since: SimTime::ZERO,
                    made: 0,
                }
            })
            .collect();
        let buffers = line
            .buffers
            .iter()
            .enumerate()
            .map(|(bi, b)| {
                FBuffer::new(
                    u128::from(line.equivalent(bi)),
                    b.capacity.map(|c| c as u128 * TICKS_PER_UNIT),
                    (b.transport > SimDuration::ZERO).then(|| Transit {
                        tau: b.transport.0,
                        history: VecDeque::new(),
                        ready_now: 0,
                        arrived_at_replan: 0,
                        delayed_rate_now: 0.0,
                    }),
                )
            })
            .collect();
        let n = line.stations.len();
        FluidLine {
            stations,
            buffers,
            cursor: CampaignCursor::new(line.campaigns.clone(), line.repeat_schedule),
            last: SimTime::ZERO,
            epoch: 0,
            flow_at: None,
            wip_avg: TimeWeighted::new(SimTime::ZERO, 0.0),
            scratch: Vec::new(),
            scratch_good: Vec::new(),
            control: Control::new(
                &line.switches,
                line.buffers.len(),
                line.stations.len(),
                TICKS_PER_UNIT,
            ),
            packs: line.converts(),
            graph: (!line.is_series()).then(|| Box::new(graph::Graph::new(line))),
            local: n
                >= match line.is_series() {
                    true => series::LOCAL_FROM,
                    false => reach::LOCAL_FROM,
                },
            boundaries: Boundaries::new(line.buffers.len() + n),
            touched: Vec::new(),
            mark: Vec::new(),
            reach: Vec::new(),
            mixed_products: false,
            wip_slope: 0.0,
            wip_est: (SimTime::ZERO, 0.0),
            due: Vec::new(),
            near_totals: Vec::new(),
            totals: vec![(u64::MAX, 0, 0, 0); n],
            planned: 0,
        }
    }

    /// Stations planned since the line was built or read back, once per plan each: the
    /// whole line at every plan of a short line, what each event reaches on a long one.
    pub fn planned(&self) -> u64 {
        self.planned
    }

    /// Reads every buffer's level into its switches and gives each machine the stop and
    /// step they set (time booked up to now).
    #[inline(never)]
    fn sense_levels(&mut self, cal: &mut impl Calendar<LineEvent>) {
        let now = cal.now();
        for (b, buf) in self.buffers.iter().enumerate() {
            self.control.sense(b, buf.level(), EPS, cal);
        }
        if !self.control.take_changed() {
            return;
        }
        for (i, s) in self.stations.iter_mut().enumerate() {
            s.core.follow(now, self.control.setting(i));
        }
    }

    /// Takes `line`'s buffer capacities, machine speeds and level switches (see
    /// [`super::LineRuntime::retune`]), after the flows are booked up to now; the caller
    /// settles the line, which replans its rates.
    pub fn retune(&mut self, line: &Line) {
        let fresh = FluidLine::new(0, line, &RngStreams::new(0));
        for (st, f) in self.stations.iter_mut().zip(fresh.stations) {
            st.full_rate = f.full_rate;
        }
        for (b, f) in self.buffers.iter_mut().zip(&fresh.buffers) {
            b.capacity = f.capacity;
        }
        if !self.control.is_empty() {
            self.control.retune(&fresh.control);
        }
    }

    /// Starts the flows at time zero.
    pub fn start(&mut self, cal: &mut impl Calendar<LineEvent>) {
        self.start_campaign_timer(cal);
        self.settle(cal);
    }

    pub(crate) fn start_campaign_timer(&mut self, cal: &mut impl Calendar<LineEvent>) {
        if let Some(d) = self.cursor.duration() {
            cal.after(
                d,
                LineEvent::CampaignEnd {
                    epoch: self.cursor.timer_epoch,
                },
            );
        }
    }

    /// The campaign cursor.
    pub fn cursor_mut(&mut self) -> &mut CampaignCursor {
        &mut self.cursor
    }

    /// The level switches.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Number of stations.
    pub fn n_stations(&self) -> usize {
        self.stations.len()
    }

    /// Station `i`'s shared core.
    pub fn core(&self, i: usize) -> &StationCore {
        &self.stations[i].core
    }

    /// Mutable access to station `i`'s core (call [`FluidLine::advance`] first).
    pub fn core_mut(&mut self, i: usize) -> &mut StationCore {
        &mut self.stations[i].core
    }

    /// Buffer `b`'s level, units.
    pub fn buffer_level(&self, b: usize) -> f64 {
        crate::units::units(self.buffers[b].level())
    }

    /// Ticks in all buffers, in base units (what the line takes in).
    pub fn wip_ticks(&self) -> u128 {
        self.buffers.iter().map(|b| b.level() * b.equivalent).sum()
    }

    /// Time-average units in the line since the statistics started.
    pub fn wip_mean(&self, now: SimTime) -> f64 {
        self.wip_avg.mean(now)
    }

    /// Restarts the line's own statistics (end of warm-up).
    pub fn reset_statistics(&mut self, now: SimTime) {
        self.wip_avg.restart(now);
        for s in &mut self.stations {
            s.core.reset_statistics(now);
        }
        self.control.reset_statistics();
    }

    /// Station `i`'s rates now, ticks per nanosecond: (taken, good out).
    pub fn rates(&self, i: usize) -> (f64, f64) {
        let s = &self.stations[i];
        (s.rate, s.rate * s.good_fraction())
    }

    /// The state station `i` is mostly in now (for samples).
    pub fn state(&self, i: usize) -> StationState {
        let s = &self.stations[i];
        s.core.overlay().unwrap_or(if s.rate > 0.0 {
            StationState::Working
        } else {
            s.limit
        })
    }

    /// Moves all flows forward to `now` at the current rates.
    pub fn advance(&mut self, now: SimTime) {
        let dt = now.since(self.last).0;
        if dt == 0 {
            return;
        }
        if self.local {
            self.book_all(now);
            self.last = now;
            return;
        }
        // Lines that pack run the same code with the conversions in; the others without.
        match (self.graph.is_some(), self.packs) {
            (false, true) => self.advance_flows::<true>(now, dt),
            (false, false) => self.advance_flows::<false>(now, dt),
            (true, true) => self.book_graph::<true, _>(0..self.stations.len(), true, now),
            (true, false) => self.book_graph::<false, _>(0..self.stations.len(), true, now),
        }
        self.last = now;
        self.wip_avg
            .ramp_to(now, to_f64(self.wip_ticks()) / TICKS_PER_UNIT as f64);
    }

    /// What each station would take over `dt` nanoseconds at its rate (the first no more
    /// than the campaign has left) and the good output of that, in the reused vectors.
    #[inline(always)]
    fn planned_amounts<const PACKS: bool>(&mut self, dt: u64) -> (Vec<u128>, Vec<u128>) {
        let mut a = std::mem::take(&mut self.scratch);
        a.clear();
        a.extend(self.stations.iter().map(|s| amount(s.rate, dt)));
        if let Some(rem) = self.cursor.remaining_ticks() {
            a[0] = a[0].min(rem);
        }
        // Good output per station, kept in step with `a`.
        let mut g = std::mem::take(&mut self.scratch_good);
        g.clear();
        g.extend(
            self.stations
                .iter()
                .zip(&a)
                .map(|(s, &x)| s.good_of::<PACKS>(x)),
        );
        (a, g)
    }

    /// A short series line: every station booked over the last `dt` nanoseconds to `now`.
    fn advance_flows<const PACKS: bool>(&mut self, now: SimTime, dt: u64) {
        let n = self.stations.len();
        let (mut a, mut g) = self.planned_amounts::<PACKS>(dt);
        // Forward: nobody takes more than is there (of its product, and done with transport).
        let forward =
            |a: &mut [u128], g: &mut [u128], stations: &[FStation], buffers: &[FBuffer]| {
                for i in 1..n {
                    let (up, dn, b) = (&stations[i - 1], &stations[i], &buffers[i - 1]);
                    let incoming = if up.core.product == dn.core.product {
                        g[i - 1]
                    } else {
                        0
                    };
                    let mut avail = b.leading(dn.core.product) + incoming;
                    if let Some(tr) = &b.transit {
                        // What had arrived at the last replan is there still: look the exact
                        // figure up only when the machine might take more than that.
                        let floor = tr.arrived_at_replan.saturating_sub(b.cum_out);
                        if a[i] > floor {
                            avail = avail.min(tr.ready(now.0, b.cum_in + g[i - 1], b.cum_out));
                        }
                    }
                    if a[i] > avail {
                        a[i] = avail;
                        g[i] = dn.good_of::<PACKS>(avail);
                    }
                }
            };
        forward(&mut a, &mut g, &self.stations, &self.buffers);
        // Backward: nobody puts in more than there is room for.
        let mut cut = false;
        for i in (0..n.saturating_sub(1)).rev() {
            if let Some(cap) = self.buffers[i].capacity {
                loop {
                    let after = (self.buffers[i].level() + g[i]).saturating_sub(a[i + 1]);
                    if after <= cap || a[i] == 0 {
                        break;
                    }
                    a[i] -= (after - cap).min(a[i]);
                    g[i] = self.stations[i].good_of::<PACKS>(a[i]);
                    cut = true;
                }
            }
        }
        // Less put in upstream can leave less to take downstream.
        if cut {
            forward(&mut a, &mut g, &self.stations, &self.buffers);
        }

        for i in 0..n {
            self.book::<PACKS>(i, a[i], g[i], dt, now);
            let (s, good) = (&self.stations[i], g[i]);
            if i + 1 < n {
                let product = s.core.product;
                let b = &mut self.buffers[i];
                b.put_in(product, good);
            }
            if i > 0 {
                let b = &mut self.buffers[i - 1];
                b.take_out(a[i], now.0);
            }
        }
        self.cursor.released += a[0];
        self.scratch = a;
        self.scratch_good = g;
    }

    /// Books `a` ticks taken and `good` ticks made by station `i` over the last `dt`
    /// nanoseconds to `now`: its counters, its time by state and its failure clocks.
    #[inline(always)]
    fn book<const PACKS: bool>(&mut self, i: usize, a: u128, good: u128, dt: u64, now: SimTime) {
        let s = &mut self.stations[i];
        let rejects = if !PACKS || s.pack.is_none() {
            a - good
        } else {
            s.pack_rejects(a)
        };
        s.processed += a;
        let c = &mut s.core.counters;
        c.taken += a;
        c.good += good;
        c.rejected += rejects;
        // Sped up by a level switch, the faster cycle is the ideal: performance <= 1.
        let full = if s.core.step > 1.0 {
            s.full_rate[s.core.product] * s.core.step
        } else {
            s.full_rate[s.core.product]
        };
        c.ideal_secs += to_f64(a) / full / 1e9;
        let w = if s.max_rate > 0.0 {
            to_f64(a) / (s.max_rate * dt as f64)
        } else {
            0.0
        };
        let rest = if s.limit == StationState::Working {
            StationState::Starved
        } else {
            s.limit
        };
        s.core.account(now, w, rest);
        for f in &mut s.core.failures {
            if f.basis == FailureBasis::Operating && !f.active {
                f.op_left -= w.min(1.0) * dt as f64;
            }
        }
    }

    /// The product station `i` must change over to, if nothing of its own is left to come.
    fn changeover_target(&mut self, i: usize, now: SimTime) -> Option<usize> {
        let mine = self.stations[i].core.product;
        let Some(b) = self.input_of(i) else {
            let next = self.cursor.product();
            return (next != mine).then_some(next);
        };
        let cum_in = self.cum_in_now(b, now);
        let buf = &self.buffers[b];
        if buf.leading_between(mine, cum_in, buf.cum_out) > EPS {
            return None;
        }
        // Its product alone in the buffer and in the machine before it (a series line):
        // nothing else is coming.
        if self.graph.is_none()
            && buf.runs.len() <= 1
            && buf.runs.front().is_none_or(|r| r.0 == mine)
            && self.stations[b].core.product == mine
        {
            return None;
        }
        self.product_after(b, mine, cum_in)
    }

    /// Whether a series line runs one product throughout: the schedule's, at every
    /// machine and alone in every buffer. Then no machine has to change over (each one's
    /// input holds its product, or nothing and nothing else is coming), which is most of
    /// the time, and the check of every machine at every event can be left out.
    fn one_product(&self) -> bool {
        let product = self.cursor.product();
        self.graph.is_none()
            && self.stations.iter().all(|s| s.core.product == product)
            && self
                .buffers
                .iter()
                .all(|b| b.runs.len() <= 1 && b.runs.front().is_none_or(|r| r.0 == product))
    }

    /// The product that comes after `mine` in buffer `b` (holding no more of it when
    /// `cum_in` have gone in), if any: the rare half of [`Self::changeover_target`], kept
    /// apart so that the check every station makes at every event stays small.
    #[inline(never)]
    fn product_after(&self, b: usize, mine: usize, cum_in: u128) -> Option<usize> {
        let buf = &self.buffers[b];
        match buf.contents(cum_in).find(|(p, t)| *p != mine && *t > 0) {
            Some((p, _)) => Some(p),
            None => {
                // Every machine feeding it has moved on (to the first one's product).
                let mut ups = self.feeders(b).map(|u| self.stations[u].core.product);
                let first = ups.next()?;
                (first != mine && ups.all(|p| p != mine)).then_some(first)
            }
        }
    }

    /// The buffer feeding station `i` (`None` for the first).
    #[inline(always)]
    fn input_of(&self, i: usize) -> Option<usize> {
        match &self.graph {
            Some(g) => g.input[i],
            None => i.checked_sub(1),
        }
    }

    /// The stations feeding buffer `b`.
    fn feeders(&self, b: usize) -> impl Iterator<Item = usize> + '_ {
        let (series, branching) = match &self.graph {
            Some(g) => (None, Some(g.feeds[b].iter().map(|&e| g.edge_from[e]))),
            None => (Some(b), None),
        };
        series.into_iter().chain(branching.into_iter().flatten())
    }

    /// Starts a changeover of station `i` to `product` (time booked by the caller).
    fn begin_setup(&mut self, i: usize, product: usize, cal: &mut impl Calendar<LineEvent>) {
        // Crumbs of the old product (under a millionth of a unit) go with the new one.
        if let Some(b) = self.input_of(i) {
            let old = self.stations[i].core.product;
            self.buffers[b].relabel_head(old, product);
        }
        match self.stations[i].core.begin_changeover(product) {
            Some(d) => cal.after(d, LineEvent::SetupDone { station: i as u16 }),
            None if self.input_of(i).is_none() => self.start_campaign_timer(cal),
            None => {}
        }
    }

    /// After anything changed at `cal.now()` (flows already advanced): strikes due
    /// failures, moves the campaign on, starts changeovers, sets rates and schedules the
    /// next boundary. Returns the failures that struck, for the caller to schedule repairs.
    pub fn settle(&mut self, cal: &mut impl Calendar<LineEvent>) -> Vec<(usize, usize)> {
        let n = self.stations.len();
        if self.local && self.touched.is_empty() {
            // Nothing in particular: the whole line.
            self.book_all(cal.now());
            self.touched.push((0, n - 1));
        }
        // A long series line looks at the stations it booked; other lines at all.
        let whole = [(0, n - 1)];
        let booked = match self.local {
            true => std::mem::take(&mut self.touched),
            false => Vec::new(),
        };
        let ranges = if self.local { &booked[..] } else { &whole[..] };
        let mut struck = Vec::new();
        for &(lo, hi) in ranges {
            for i in lo..=hi {
                for (m, f) in self.stations[i].core.failures.iter().enumerate() {
                    if f.basis == FailureBasis::Operating && !f.active && f.op_left <= 0.5 {
                        struck.push((i, m));
                    }
                }
            }
        }
        if self.cursor.remaining_ticks().is_some_and(|r| r <= EPS) && !self.cursor.advance() {
            self.start_campaign_timer(cal);
        }
        if self.local || !self.one_product() {
            for &(lo, hi) in ranges {
                for i in lo..=hi {
                    if self.stations[i].core.setup {
                        continue;
                    }
                    if let Some(target) = self.changeover_target(i, cal.now()) {
                        self.begin_setup(i, target, cal);
                    }
                }
            }
        }
        if self.local {
            self.touched = booked;
        }
        // The caller marks struck failures active before rates are set.
        if struck.is_empty() {
            self.replan(cal);
        }
        struck
    }

    /// Sets the machines' rates and schedules the next flow boundary.
    pub fn replan(&mut self, cal: &mut impl Calendar<LineEvent>) {
        match (self.local, self.graph.is_some()) {
            (true, false) => return self.replan_series(cal),
            (true, true) => return self.replan_reach(cal),
            (false, _) => {}
        }
        self.planned += self.stations.len() as u64;
        let now = cal.now();
        if !self.control.is_empty() {
            self.sense_levels(cal);
        }
        for s in &mut self.stations {
            s.unlimit();
        }
        for buf in &mut self.buffers {
            if let Some(tr) = &mut buf.transit {
                tr.replan_at(now.0, buf.cum_in, buf.cum_out);
            }
        }
        if self.graph.is_some() {
            self.propagate_graph(0..self.stations.len());
        } else {
            self.propagate(0, self.stations.len() - 1);
        }
        for b in 0..self.buffers.len() {
            self.record_inflow(b, now);
        }
        let at = self
            .next_boundary(now)
            .map(|dt| SimTime(now.0.saturating_add(sim::ceil_u64(dt).max(1))));
        self.schedule_flow(at, cal);
    }

    /// Notes a change of buffer `b`'s inflow rate at `now` in its transport history.
    #[inline(always)]
    fn record_inflow(&mut self, b: usize, now: SimTime) {
        if self.buffers[b].transit.is_some() {
            self.record_inflow_at(b, now, self.buffers[b].cum_in);
        }
    }

    /// [`Self::record_inflow`] when `cum_in` ticks have gone into buffer `b` by `now`.
    fn record_inflow_at(&mut self, b: usize, now: SimTime, cum_in: u128) {
        let in_rate = self.in_rate(b);
        if let Some(tr) = &mut self.buffers[b].transit
            && tr.history.back().is_none_or(|h| h.2 != in_rate)
        {
            tr.history.push_back((now.0, cum_in, in_rate));
        }
    }

    /// Makes the line's flow event fire `at` (none: no boundary ahead).
    #[inline]
    fn schedule_flow(&mut self, at: Option<SimTime>, cal: &mut impl Calendar<LineEvent>) {
        // A flow event already pending for the same instant serves as well as a new one.
        if at != self.flow_at {
            self.epoch = self.epoch.wrapping_add(1);
            self.flow_at = at;
            if let Some(at) = at {
                cal.at(at, LineEvent::Flow { epoch: self.epoch });
            }
        }
    }

    /// Lowers the rates of stations `lo..=hi` of a series line to what empty buffers let
    /// in (a sweep downstream) and full buffers let out (a sweep upstream) until nothing
    /// changes; the buffers at either end of the run are neither.
    fn propagate(&mut self, lo: usize, hi: usize) {
        for _ in lo..=hi + 1 {
            let mut changed = false;
            for b in lo..hi {
                let buf = &self.buffers[b];
                let (up, dn) = (&self.stations[b], &self.stations[b + 1]);
                let empty_bound = match &buf.transit {
                    Some(tr) if tr.ready_now <= EPS => Some(tr.delayed_rate_now),
                    Some(_) => None,
                    None if buf.leading(dn.core.product) <= EPS => {
                        Some(if up.core.product == dn.core.product {
                            up.rate * up.good_fraction()
                        } else {
                            0.0
                        })
                    }
                    None => None,
                };
                if let Some(bound) = empty_bound
                    && dn.rate > bound * (1.0 + 1e-12)
                {
                    let dn = &mut self.stations[b + 1];
                    dn.rate = bound;
                    dn.limit = StationState::Starved;
                }
            }
            for b in (lo..hi).rev() {
                if self.buffers[b].is_full() {
                    let (up, dn) = (&self.stations[b], &self.stations[b + 1]);
                    let bound = dn.rate / up.good_fraction();
                    if up.rate > bound * (1.0 + 1e-12) {
                        let up = &mut self.stations[b];
                        up.rate = bound;
                        up.limit = StationState::Blocked;
                        changed = true;
                    }
                }
            }
            // Only a machine slowed by a full buffer can slow the ones after it again.
            if !changed {
                break;
            }
        }
    }

    /// Nanoseconds from `now` to the next flow boundary of the whole line, if any.
    fn next_boundary(&self, now: SimTime) -> Option<f64> {
        let mut best = match self.graph {
            Some(_) => self.next_meeting(),
            None => f64::INFINITY,
        };
        for (b, buf) in self.buffers.iter().enumerate() {
            best = best.min(self.buffer_boundary(b, now, buf.level(), buf.cum_in));
        }
        for i in 0..self.stations.len() {
            best = best.min(self.station_boundary(i));
        }
        best.is_finite().then_some(best)
    }

    /// Nanoseconds from `now` until buffer `b`, holding `level` ticks when `cum_in` have
    /// gone in, fills or empties, its conveyor's end runs dry or its inflow there changes,
    /// a level switch's threshold is reached or the last of a machine's product reaches
    /// it (infinite: none of them).
    #[inline(always)]
    fn buffer_boundary(&self, b: usize, now: SimTime, level: u128, cum_in: u128) -> f64 {
        let mut best = f64::INFINITY;
        let buf = &self.buffers[b];
        let in_r = self.in_rate(b);
        let out_r = self.out_rate(b);
        let level_f = to_f64(level);
        if let Some(cap) = buf.capacity
            && cap.saturating_sub(level) > EPS
            && in_r > out_r
        {
            best = best.min((to_f64(cap) - level_f) / (in_r - out_r));
        }
        // On a branching line, a buffer full while more leaves it than enters with a
        // machine feeding it still held to its share of the room lets its machines go
        // once a unit has left it; one empty while more enters than leaves, once a unit
        // has come in. Planning lets them go at once (`propagate_graph`) but where the
        // machines run different products. A unit, not a tick: were letting go to fill
        // (or empty) it again at once, the two would take turns a unit apart.
        const UNIT: f64 = TICKS_PER_UNIT as f64;
        if let Some(cap) = buf.capacity
            && cap.saturating_sub(level) <= EPS
            && out_r > in_r
            && self.holds(b, StationState::Blocked)
        {
            best = best.min((level_f - (to_f64(cap) - UNIT)) / (out_r - in_r));
        }
        match &buf.transit {
            None => {
                if level > EPS && out_r > in_r {
                    best = best.min(level_f / (out_r - in_r));
                } else if level <= EPS && in_r > out_r && self.holds(b, StationState::Starved) {
                    best = best.min((UNIT - level_f) / (in_r - out_r));
                }
            }
            Some(tr) => {
                let (ready, delayed) = (tr.ready_now, tr.delayed_rate_now);
                let dry = ready <= EPS;
                let follows = dry && out_r >= delayed * (1.0 - 1e-12);
                if dry && let Some(dt) = tr.next_change(now.0) {
                    // The end is dry: what arrives bounds the next machine. Taking what
                    // arrives, it follows each change of the inflow rate as it reaches the
                    // end; held below it by its output, it is held by both from the
                    // change that brings the inflow down to its rate (then it is starved).
                    best = best.min(dt as f64);
                }
                if !follows && let Some(dt) = tr.time_to_drain(now.0, ready, out_r) {
                    // Otherwise the moment the conveyor end runs dry matters.
                    best = best.min(dt);
                }
            }
        }
        // A level switch's threshold is reached.
        if !self.control.is_empty() {
            let net = in_r - out_r;
            let (rise, fall) = self.control.next_levels(b);
            if let Some(to) = rise
                && net > 0.0
                && to > level
            {
                best = best.min(to_f64(to - level) / net);
            }
            if let Some(to) = fall
                && net < 0.0
                && to < level
            {
                best = best.min(to_f64(level - to) / -net);
            }
        }
        // The last of a machine's product reaches it: the head of one product is followed
        // by another, or a machine before it makes another.
        let cum_out = cum_in.saturating_sub(level);
        let Some(g) = self.graph.as_deref() else {
            let (up, dn) = (&self.stations[b], &self.stations[b + 1]);
            let lead = buf.leading_between(dn.core.product, cum_in, cum_out);
            if (lead < level || up.core.product != dn.core.product) && lead > EPS && out_r > 0.0 {
                best = best.min(to_f64(lead) / out_r);
            }
            return best;
        };
        let product = |s: usize| self.stations[s].core.product;
        let mut last_product = None;
        for &t in &g.to[b] {
            let p = product(t);
            if last_product.replace(p) == Some(p) {
                continue;
            }
            let lead = buf.leading_between(p, cum_in, cum_out);
            let boundary = lead < level || g.feeds[b].iter().any(|&e| product(g.edge_from[e]) != p);
            let out: f64 = g.to[b]
                .iter()
                .filter(|&&u| product(u) == p)
                .map(|&u| self.stations[u].rate)
                .sum();
            if boundary && lead > EPS && out > 0.0 {
                best = best.min(to_f64(lead) / out);
            }
        }
        best
    }

    /// Whether buffer `b` of a branching line holds a machine next to it back: one
    /// feeding it `Blocked`, or one it feeds `Starved`.
    fn holds(&self, b: usize, state: StationState) -> bool {
        let Some(g) = self.graph.as_deref() else {
            return false;
        };
        let held = |s: usize| self.stations[s].limit == state;
        match state {
            StationState::Blocked => g.feeds[b].iter().any(|&e| held(g.edge_from[e])),
            _ => g.to[b].iter().any(|&t| held(t)),
        }
    }

    /// Nanoseconds until station `i`'s operating-time failure clock runs out or, for the
    /// first, the campaign's quantity is all released, at its rate now (infinite: never).
    #[inline(always)]
    fn station_boundary(&self, i: usize) -> f64 {
        let mut best = f64::INFINITY;
        let s = &self.stations[i];
        if s.rate > 0.0 {
            let w = s.rate / s.max_rate;
            for f in &s.core.failures {
                if f.basis == FailureBasis::Operating && !f.active {
                    best = best.min(f.op_left / w);
                }
            }
            if i == 0
                && let Some(rem) = self.cursor.remaining_ticks()
            {
                best = best.min(to_f64(rem) / s.rate);
            }
        }
        best
    }

    /// Good flow into buffer `b` now, ticks per nanosecond.
    #[inline(always)]
    fn in_rate(&self, b: usize) -> f64 {
        match &self.graph {
            None => self.stations[b].rate * self.stations[b].good_fraction(),
            Some(_) => self.inflow(b),
        }
    }

    /// Flow out of buffer `b` now, ticks per nanosecond.
    #[inline(always)]
    fn out_rate(&self, b: usize) -> f64 {
        match &self.graph {
            None => self.stations[b + 1].rate,
            Some(_) => self.outflow(b),
        }
    }

    /// A flow event at `now` (claimed): books what reaches a boundary, to be planned at
    /// the next settle.
    pub fn on_flow(&mut self, now: SimTime) {
        match self.local {
            false => self.advance(now),
            true => self.on_boundaries(now),
        }
    }

    /// Whether a flow event of `epoch` is the pending one; if so it is now being handled.
    pub fn claim_flow(&mut self, epoch: u32) -> bool {
        let current = epoch == self.epoch;
        if current {
            self.flow_at = None;
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::FBuffer;

    /// A buffer's head run ends where the next run starts: runs of one product next to
    /// each other are kept as one (`leading_between` relies on it), also after a
    /// changeover relabels the head.
    #[test]
    fn a_buffer_keeps_one_run_per_stretch_of_a_product() {
        let mut b = FBuffer::new(1, Some(100), None);
        b.put_in(0, 10);
        b.put_in(0, 4);
        b.put_in(1, 5);
        b.put_in(0, 3);
        assert_eq!(b.runs.len(), 3, "A, B, A");
        assert_eq!(b.leading(0), 14);
        assert_eq!(b.leading(1), 0, "B is not at the head");
        b.take_out(14, 0);
        assert_eq!(b.leading(1), 5);
        assert_eq!(b.level(), 8);
        // A changeover takes B's crumbs as A: the head joins the A behind it.
        b.relabel_head(1, 0);
        assert_eq!(b.runs.len(), 1);
        assert_eq!(b.leading(0), 8);
        assert_eq!(b.leading_between(0, 20, 14), 6, "what had gone in by then");
    }
}
