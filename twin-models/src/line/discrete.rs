//! Lines simulated unit by unit: used when units arrive at random or a machine's processing
//! time is random. Exact blocking after service: a finished unit stays in its machine until
//! the next buffer has room (a buffer of capacity 0 hands it straight to the next machine).

use super::control::Control;
use super::events::LineEvent;
use super::junction::{Combiner, Divider};
use super::station::{CampaignCursor, FailureClock, StationCore, StationState};
use crate::distribution::Distribution;
use crate::scenario::{FailureBasis, Line, Process, Source, WhenFull};
use crate::units::TICKS_PER_UNIT;
use sim::{Calendar, RngStreams, SimDuration, SimTime, StreamRng, Tally, TimeWeighted};
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct Unit {
    product: u16,
    /// When the unit entered the line (arrival, or release from unlimited supply).
    born: SimTime,
    /// Base units (what the line takes in) it holds: 1 at first, 24 in a case of 24,
    /// fewer in the short last case of a campaign.
    content: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Phase {
    Idle,
    Working,
    Blocked,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct DStation {
    core: StationCore,
    phase: Phase,
    unit: Option<Unit>,
    /// Processing time left on the current unit, nanoseconds at speed step `step`.
    remaining: u64,
    /// The speed step `remaining` is reckoned at (the one the station last ran at).
    step: f64,
    /// When the current stretch of work began (to book elapsed work on pause); while
    /// blocked, when it finished the unit it holds (a combiner's "first come").
    work_started: SimTime,
    /// Whether the unit's clock runs (a finish is scheduled): a second stop while one
    /// holds the station must not book the time between them as work.
    running: bool,
    epoch: u32,
    /// Per product: the fixed cycle (ns) of a speed-rated machine, else None.
    cycle: Vec<Option<u64>>,
    time_dist: Option<Distribution>,
    speed_factors: Vec<f64>,
    reject_rate: f64,
    /// Units of its input per unit it makes.
    takes: usize,
}

/// Where a station takes its next unit from.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
enum Src {
    /// The line's source (the first station).
    Start,
    /// The head of a buffer.
    Buffer(usize),
    /// Straight from a machine through a buffer of capacity 0: (buffer, machine).
    Handoff(usize, usize),
}

/// A branching line's junctions: per station its buffers and rules, per buffer its
/// stations and rules (series lines have none: their neighbours are `i - 1` and `i + 1`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Graph {
    stations: Vec<Node>,
    buffers: Vec<Edge>,
    /// Whether a station sends rejects back for rework.
    reworks: bool,
    /// Stations that may move a unit now and are to be stepped in this pass, highest
    /// first (a station acts on its neighbours only: an event wakes the stations around
    /// it, not the line).
    due: std::collections::BinaryHeap<usize>,
    /// Stations woken at or above the one being stepped: they wait for the next pass, as
    /// in a sweep of every station from the last to the first, repeated until nothing
    /// moves (which this reproduces, stepping only stations that can move).
    later: std::collections::BinaryHeap<usize>,
    /// The station being stepped in this pass.
    stepping: Option<usize>,
    /// Whether each station is in `due` or `later`.
    queued: Vec<bool>,
}

impl Graph {
    /// Queues station `i` to be stepped.
    fn touch(&mut self, i: usize) {
        if !self.queued[i] {
            self.queued[i] = true;
            if self.stepping.is_some_and(|c| i >= c) {
                self.later.push(i);
            } else {
                self.due.push(i);
            }
        }
    }

    /// Queues station `i` and every station sharing a buffer with it.
    fn touch_around(&mut self, i: usize) {
        self.touch(i);
        for k in 0..self.stations[i].near.len() {
            let s = self.stations[i].near[k];
            self.touch(s);
        }
    }

    /// Queues every station of buffer `b`.
    fn touch_buffer(&mut self, b: usize) {
        for k in 0..self.buffers[b].from.len() {
            let s = self.buffers[b].from[k];
            self.touch(s);
        }
        for k in 0..self.buffers[b].to.len() {
            let s = self.buffers[b].to[k];
            self.touch(s);
        }
    }

    /// The next station to step, highest first.
    fn next_due(&mut self) -> Option<usize> {
        let i = self.due.pop()?;
        self.queued[i] = false;
        self.stepping = Some(i);
        Some(i)
    }

    /// Starts the next pass with the stations woken for it; false when there are none.
    fn next_pass(&mut self) -> bool {
        self.stepping = None;
        std::mem::swap(&mut self.due, &mut self.later);
        !self.due.is_empty()
    }
}

/// A station's place in the graph.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Node {
    inputs: Vec<usize>,
    outputs: Vec<usize>,
    /// Over its outputs.
    divider: Divider,
    /// Over its inputs.
    combiner: Combiner,
    /// The buffer its rejects go back to, if any.
    rework: Option<usize>,
    /// Rejects sent back since the start, and that count at the end of the warm-up.
    reworked: (u64, u64),
    /// The other stations of its buffers (whom a move of its can wake).
    near: Vec<usize>,
}

/// A buffer's place in the graph.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Edge {
    from: Vec<usize>,
    to: Vec<usize>,
    /// Over the stations it feeds.
    divider: Divider,
    /// Over the stations feeding it.
    combiner: Combiner,
    /// Rejects sent back to it for rework, waiting (on the reject table) for room; they go
    /// on before any unit of the machines feeding it.
    returns: VecDeque<Unit>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct DBuffer {
    capacity: Option<u64>,
    transport: u64,
    /// Units with the time they entered.
    units: VecDeque<(Unit, SimTime)>,
}

impl DBuffer {
    fn has_room(&self) -> bool {
        self.capacity.is_none_or(|c| (self.units.len() as u64) < c)
    }
    fn front_ready(&self, now: SimTime) -> Option<Unit> {
        self.units
            .front()
            .filter(|(_, t)| t.0 + self.transport <= now.0)
            .map(|(u, _)| *u)
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Arrivals {
    interarrival: Distribution,
    when_full: WhenFull,
    rng: StreamRng,
    /// An arrival that found the queue full and waits (or is about to be lost).
    holding: Option<Unit>,
    /// The source waits for its held arrival to get in before generating the next.
    blocked: bool,
}

/// Stations beyond which a series line too steps only the stations due (below it, a sweep
/// of all of them costs less than the bookkeeping).
const LONG_LINE: usize = 64;

/// Whether `line` runs through its junctions, stepping only the stations due: a branching
/// line, or a long one (whose cost then grows with its length, not its square).
fn routes_as_graph(line: &Line) -> bool {
    #[cfg(test)]
    if let Some(from) = tests::GRAPH_FROM.with(std::cell::Cell::get) {
        return !line.is_series() || line.stations.len() >= from;
    }
    !line.is_series() || line.stations.len() > LONG_LINE
}

/// The stations other than `me` on the buffers feeding or leaving it, each once.
fn near(line: &Line, me: usize) -> Vec<usize> {
    let s = &line.stations[me];
    let mut out: Vec<usize> = s
        .inputs
        .iter()
        .chain(&s.outputs)
        .flat_map(|&b| line.buffers[b].from.iter().chain(&line.buffers[b].to))
        .copied()
        .filter(|&x| x != me)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Where `x` stands in a junction's `list` (it lists every station or buffer it joins).
fn slot(list: &[usize], x: usize) -> usize {
    list.iter()
        .position(|&y| y == x)
        .expect("a junction lists what it joins")
}

/// A drawn processing time run at `factor` times the nominal speed, nanoseconds (rounded
/// as `(ns / factor).round()`; at full speed, exactly the draw).
fn scaled(d: SimDuration, factor: f64) -> u64 {
    if factor == 1.0 && d.0 < 1 << 53 {
        return d.0;
    }
    let x = d.0 as f64 / factor;
    if x < u64::MAX as f64 {
        sim::round_half_up(x)
    } else {
        u64::MAX
    }
}

/// The stream of line `streams`'s arrivals.
fn arrivals_stream(rng: &RngStreams, streams: usize) -> StreamRng {
    rng.stream(&[streams as u64, RngStreams::label("arrivals")])
}

/// A line simulated unit by unit.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DiscreteLine {
    stations: Vec<DStation>,
    /// `buffers[i]` joins station i to station i + 1.
    buffers: Vec<DBuffer>,
    /// Queue in front of the first station (arrival sources only).
    queue: Option<DBuffer>,
    arrivals: Option<Arrivals>,
    cursor: CampaignCursor,
    /// Units now inside the line (queue, buffers, machines).
    wip: i64,
    wip_avg: TimeWeighted,
    /// Time from entering to leaving the line, seconds, of units that left after warm-up.
    flow_time: Tally,
    /// Arrivals and arrivals lost, since warm-up.
    arrived: u64,
    lost: u64,
    /// Base units that left the line at its end, and rejected, since the start; and those
    /// counts at the end of the warm-up.
    out_base: u64,
    rejected_base: u64,
    base_at_warmup: (u64, u64),
    /// Level switches.
    control: Control,
    /// Whether the line has level switches or a station that packs.
    extras: bool,
    /// A branching line's junctions (`None`: a series line).
    graph: Option<Box<Graph>>,
    /// Per buffer, when the last unit of a pack on it was last awaited (ns; a packer is
    /// looked at again when it arrives).
    pack_due: Box<[u64]>,
}

impl DiscreteLine {
    /// Builds a line: `streams` (its index in the scenario) keys its random streams, so
    /// that it draws the same numbers in any partition.
    pub fn new(streams: usize, line: &Line, rng: &RngStreams) -> Self {
        let first = line.campaigns[0].product;
        let stations = line
            .stations
            .iter()
            .enumerate()
            .map(|(si, s)| {
                let (cycle, time_dist) = match &s.process {
                    Process::Rate(mu) => (
                        s.speed_factors
                            .iter()
                            .map(|f| Some((3.6e15 / (*mu as f64 * f)).round() as u64))
                            .collect(),
                        None,
                    ),
                    Process::Time(Distribution::Fixed(d)) => (
                        s.speed_factors
                            .iter()
                            .map(|f| Some((d.0 as f64 / f).round() as u64))
                            .collect(),
                        None,
                    ),
                    Process::Time(d) => (vec![None; s.speed_factors.len()], Some(d.clone())),
                };
                DStation {
                    core: StationCore::new(s, streams, si, rng, first),
                    phase: Phase::Idle,
                    unit: None,
                    remaining: 0,
                    step: 1.0,
                    work_started: SimTime::ZERO,
                    running: false,
                    epoch: 0,
                    cycle,
                    time_dist,
                    speed_factors: s.speed_factors.clone(),
                    reject_rate: s.reject_rate,
                    takes: s.takes as usize,
                }
            })
            .collect();
        let buffers = line
            .buffers
            .iter()
            .map(|b| DBuffer {
                capacity: b.capacity,
                transport: b.transport.0,
                units: VecDeque::new(),
            })
            .collect();
        let (queue, arrivals) = match &line.source {
            Source::Unlimited => (None, None),
            Source::Arrivals {
                interarrival,
                when_full,
                queue_capacity,
            } => (
                Some(DBuffer {
                    capacity: *queue_capacity,
                    transport: 0,
                    units: VecDeque::new(),
                }),
                Some(Arrivals {
                    interarrival: interarrival.clone(),
                    when_full: *when_full,
                    rng: arrivals_stream(rng, streams),
                    holding: None,
                    blocked: false,
                }),
            ),
        };
        DiscreteLine {
            stations,
            buffers,
            queue,
            arrivals,
            cursor: CampaignCursor::new(line.campaigns.clone(), line.repeat_schedule),
            wip: 0,
            wip_avg: TimeWeighted::new(SimTime::ZERO, 0.0),
            flow_time: Tally::new(),
            arrived: 0,
            lost: 0,
            out_base: 0,
            rejected_base: 0,
            base_at_warmup: (0, 0),
            control: Control::new(&line.switches, line.buffers.len(), line.stations.len(), 1),
            extras: !line.switches.is_empty() || line.converts() || routes_as_graph(line),
            pack_due: vec![u64::MAX; line.buffers.len()].into_boxed_slice(),
            graph: routes_as_graph(line).then(|| {
                Box::new(Graph {
                    stations: line
                        .stations
                        .iter()
                        .enumerate()
                        .map(|(si, s)| Node {
                            inputs: s.inputs.clone(),
                            outputs: s.outputs.clone(),
                            divider: Divider::new(&s.divide, s.outputs.len()),
                            combiner: Combiner::new(s.combine, s.inputs.len()),
                            rework: s.rework,
                            reworked: (0, 0),
                            near: near(line, si),
                        })
                        .collect(),
                    buffers: line
                        .buffers
                        .iter()
                        .map(|b| Edge {
                            from: b.from.clone(),
                            to: b.to.clone(),
                            divider: Divider::new(&b.divide, b.to.len()),
                            combiner: Combiner::new(b.combine, b.from.len()),
                            returns: VecDeque::new(),
                        })
                        .collect(),
                    reworks: line.reworks(),
                    due: std::collections::BinaryHeap::new(),
                    later: std::collections::BinaryHeap::new(),
                    stepping: None,
                    queued: vec![false; line.stations.len()],
                })
            }),
        }
    }

    /// Schedules the first events (arrival, campaign timer, failures) and starts the line.
    pub fn start(&mut self, cal: &mut impl Calendar<LineEvent>) {
        if let Some(a) = &mut self.arrivals {
            let d = a.interarrival.sample(&mut a.rng);
            cal.after(d, LineEvent::Arrival);
        }
        self.start_campaign_timer(cal);
        self.kick(cal);
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

    /// The flow state of station `i` (without overlays).
    fn flow_state(&self, i: usize) -> StationState {
        match self.stations[i].phase {
            Phase::Working => StationState::Working,
            Phase::Blocked => StationState::Blocked,
            Phase::Idle => StationState::Starved,
        }
    }

    /// The state of station `i` now.
    pub fn state(&self, i: usize) -> StationState {
        self.stations[i]
            .core
            .overlay()
            .unwrap_or_else(|| self.flow_state(i))
    }

    #[inline(always)]
    fn account(&mut self, i: usize, now: SimTime) {
        // Booked at this instant already (a sweep books a blocked station at every pass):
        // nothing to add.
        if now == self.stations[i].core.booked_until() {
            return;
        }
        let state = self.flow_state(i);
        let st = &mut self.stations[i];
        // A unit is worked at its product's nominal speed: working time is its ideal time
        // (for random cycle times each unit's own draw, ISO 22400's planned time per item),
        // so performance cannot pass 1. Slowed by a level switch, it does a step's share of
        // that work per second; sped up, the faster cycle is its ideal.
        let worked = st
            .core
            .account_whole(now, state == StationState::Working, state);
        st.core.counters.ideal_secs += if st.step < 1.0 {
            worked * st.step
        } else {
            worked
        };
    }

    /// Books every station's time up to `now`.
    pub fn sync(&mut self, now: SimTime) {
        for i in 0..self.stations.len() {
            self.account(i, now);
        }
    }

    fn set_wip(&mut self, now: SimTime, delta: i64) {
        self.wip += delta;
        self.wip_avg.set(now, self.wip as f64);
    }

    /// Starts work (or resumes it) on station `i`'s unit: schedules the finish, or the
    /// operating-time failure that strikes first.
    #[inline(always)]
    fn start_work(&mut self, i: usize, cal: &mut impl Calendar<LineEvent>) {
        let now = cal.now();
        let st = &mut self.stations[i];
        st.phase = Phase::Working;
        st.work_started = now;
        st.running = true;
        st.epoch = st.epoch.wrapping_add(1);
        // The first operating-time failure clock to run out, if before the unit is done.
        let work = sim::u64_to_f64(st.remaining);
        let mut until = work;
        for f in &st.core.failures {
            if f.basis == FailureBasis::Operating && !f.active {
                until = until.min(f.op_left);
            }
        }
        // None does: the finish is the work left, whole already (below 2^53 nanoseconds,
        // as the float gives it exactly: about 104 days), without the rounding back.
        let at = if until == work && st.remaining < 1 << 53 {
            SimTime(now.0 + st.remaining)
        } else {
            SimTime(now.0 + sim::ceil_u64(until.max(0.0)))
        };
        cal.at(
            at,
            LineEvent::Done {
                station: i as u16,
                epoch: st.epoch,
            },
        );
    }

    /// Stops the clock on station `i`'s unit (failure, stop, jam), keeping the work left.
    #[inline(always)]
    fn pause(&mut self, i: usize, now: SimTime) {
        let st = &mut self.stations[i];
        if st.phase != Phase::Working || !st.running {
            return;
        }
        st.running = false;
        let elapsed = now.since(st.work_started).0;
        st.remaining = st.remaining.saturating_sub(elapsed);
        for f in &mut st.core.failures {
            if f.basis == FailureBasis::Operating && !f.active {
                f.op_left -= sim::u64_to_f64(elapsed);
            }
        }
        st.work_started = now;
        st.epoch = st.epoch.wrapping_add(1);
    }

    /// Station `i` becomes unavailable (call after setting the flag, with time booked).
    pub fn on_unavailable(&mut self, i: usize, now: SimTime) {
        self.pause(i, now);
        self.wake(i);
    }

    /// Queues station `i` of a branching line and those around it for the next
    /// [`Self::kick`] (a series line steps all its stations every time).
    fn wake(&mut self, i: usize) {
        if let Some(g) = &mut self.graph {
            g.touch_around(i);
        }
    }

    /// A unit on buffer `b` has done its transport time: the line moves on.
    pub fn on_transit_ready(&mut self, b: usize, cal: &mut impl Calendar<LineEvent>) {
        if let Some(g) = &mut self.graph {
            g.touch_buffer(b);
        }
        self.kick(cal);
    }

    /// Station `i` may have become available again.
    pub fn on_available(&mut self, i: usize, cal: &mut impl Calendar<LineEvent>) {
        self.wake(i);
        let st = &self.stations[i];
        if st.core.available() && st.phase == Phase::Working && !st.running {
            self.start_work(i, cal);
        }
        self.kick(cal);
    }

    /// Mutable access to station `i`'s shared core (time must be booked first).
    pub fn core_mut(&mut self, i: usize) -> &mut StationCore {
        &mut self.stations[i].core
    }

    /// Replaces its arrivals' random stream by the one under `rng` (`streams`: as given to
    /// [`DiscreteLine::new`]); the stations' streams are their cores'.
    pub fn reseed_arrivals(&mut self, rng: &RngStreams, streams: usize) {
        if let Some(a) = &mut self.arrivals {
            a.rng = arrivals_stream(rng, streams);
        }
    }

    /// Station `i`'s shared core.
    pub fn core(&self, i: usize) -> &StationCore {
        &self.stations[i].core
    }

    /// The campaign cursor.
    pub fn cursor_mut(&mut self) -> &mut CampaignCursor {
        &mut self.cursor
    }

    /// Units in buffer `b` (`None`: the arrival queue).
    pub fn buffer_level(&self, b: Option<usize>) -> f64 {
        match b {
            Some(b) => self.buffers[b].units.len() as f64,
            None => self.queue.as_ref().map_or(0.0, |q| q.units.len() as f64),
        }
    }

    /// Whether the line has an arrival queue.
    pub fn has_queue(&self) -> bool {
        self.queue.is_some()
    }

    /// Restarts the line's statistics (end of warm-up).
    pub fn reset_statistics(&mut self, now: SimTime) {
        self.sync(now);
        for s in &mut self.stations {
            s.core.reset_statistics(now);
        }
        self.wip_avg.restart(now);
        self.flow_time = Tally::new();
        self.arrived = 0;
        self.lost = 0;
        self.base_at_warmup = (self.out_base, self.rejected_base);
        if let Some(g) = &mut self.graph {
            for node in &mut g.stations {
                node.reworked.1 = node.reworked.0;
            }
        }
        self.control.reset_statistics();
    }

    /// Time-average units in the line since the statistics started.
    pub fn wip_mean(&self, now: SimTime) -> f64 {
        self.wip_avg.mean(now)
    }

    /// Units in the line now.
    pub fn wip_units(&self) -> i64 {
        self.wip
    }

    /// Time in the line of units that left, seconds.
    pub fn flow_time(&self) -> &Tally {
        &self.flow_time
    }

    /// Base units (what the line takes in) that left at the line's end, and rejected,
    /// since the statistics started: a short pack counts what it holds.
    pub fn base_out_and_rejects(&self) -> (u64, u64) {
        (
            self.out_base - self.base_at_warmup.0,
            self.rejected_base - self.base_at_warmup.1,
        )
    }

    /// Arrivals and arrivals lost since the statistics started.
    pub fn arrivals(&self) -> Option<(u64, u64)> {
        self.arrivals.as_ref().map(|_| (self.arrived, self.lost))
    }

    /// The level switches.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Number of stations.
    pub fn n_stations(&self) -> usize {
        self.stations.len()
    }

    /// Handles a finish (or operating-time failure) event of station `i`.
    #[inline(always)]
    pub fn on_done(
        &mut self,
        i: usize,
        epoch: u32,
        cal: &mut impl Calendar<LineEvent>,
    ) -> Vec<(usize, usize)> {
        let now = cal.now();
        if self.stations[i].epoch != epoch || self.stations[i].phase != Phase::Working {
            return Vec::new();
        }
        self.account(i, now);
        self.pause(i, now);
        if self.graph.is_some() {
            self.wake(i);
        }
        // Operating-time failures whose clock ran out strike now.
        let failures = &self.stations[i].core.failures;
        let due =
            |f: &FailureClock| f.basis == FailureBasis::Operating && !f.active && f.op_left <= 0.5;
        // Looked for first, listed only when one is due (most finishes strike nothing).
        let struck: Vec<(usize, usize)> = if failures.iter().any(due) {
            failures
                .iter()
                .enumerate()
                .filter(|(_, f)| due(f))
                .map(|(m, _)| (i, m))
                .collect()
        } else {
            Vec::new()
        };
        if self.stations[i].remaining == 0 {
            self.finish_unit(i, now);
        }
        if struck.is_empty() {
            if self.stations[i].phase == Phase::Working {
                self.start_work(i, cal);
            }
            self.kick(cal);
        }
        struck
    }

    #[inline(always)]
    fn finish_unit(&mut self, i: usize, now: SimTime) {
        let st = &mut self.stations[i];
        debug_assert!(st.unit.is_some(), "a working station holds a unit");
        if st.core.draw_reject(st.reject_rate) {
            if self.graph.is_some() && self.send_back(i) {
                return;
            }
            let st = &mut self.stations[i];
            st.core.counters.rejected += TICKS_PER_UNIT;
            let gone = st.unit.take().map_or(0, |u| u.content);
            st.phase = Phase::Idle;
            self.rejected_base += u64::from(gone);
            self.set_wip(now, -i64::from(gone));
        } else {
            st.core.counters.good += TICKS_PER_UNIT;
            st.phase = Phase::Blocked;
        }
    }

    /// Handles an arrival at the source.
    #[inline]
    pub fn on_arrival(&mut self, cal: &mut impl Calendar<LineEvent>) {
        let now = cal.now();
        // No station's time is booked here: an arrival changes no station's state (one
        // that takes the unit books its time first).
        self.wake(0);
        let product = self.cursor.product() as u16;
        self.cursor.released += TICKS_PER_UNIT;
        let campaign_over = self.cursor.remaining_ticks() == Some(0);
        if campaign_over && !self.cursor.advance() {
            self.start_campaign_timer(cal);
        }
        self.arrived += 1;
        let unit = Unit {
            product,
            born: now,
            content: 1,
        };
        let queue = self.queue.as_mut().expect("an arrival line has a queue");
        let a = self
            .arrivals
            .as_mut()
            .expect("an arrival line has arrivals");
        if queue.has_room() {
            queue.units.push_back((unit, now));
            self.set_wip(now, 1);
        } else {
            a.holding = Some(unit);
        }
        self.kick(cal);
        let a = self
            .arrivals
            .as_mut()
            .expect("an arrival line has arrivals");
        match (a.holding.is_some(), a.when_full) {
            (true, WhenFull::Lost) => {
                a.holding = None;
                self.lost += 1;
            }
            (true, WhenFull::Wait) => a.blocked = true,
            (false, _) => {}
        }
        if !a.blocked {
            let d = a.interarrival.sample(&mut a.rng);
            cal.after(d, LineEvent::Arrival);
        }
    }

    /// The next unit station `i` of a series line could take, and where from.
    #[inline(always)]
    fn peek_input(&self, i: usize, now: SimTime) -> Option<(Src, Unit)> {
        if i == 0 {
            return self.peek_start(now).map(|u| (Src::Start, u));
        }
        let b = &self.buffers[i - 1];
        if let Some(u) = b.front_ready(now) {
            return Some((Src::Buffer(i - 1), u));
        }
        // A zero-capacity buffer: the unit goes straight from machine to machine; so may
        // it through an empty buffer without a transport time (it would enter and leave
        // at this instant). On a conveyor it rides its transport time.
        let up = &self.stations[i - 1];
        if b.units.is_empty() && b.transport == 0 && up.phase == Phase::Blocked {
            up.unit.map(|u| (Src::Handoff(i - 1, i - 1), u))
        } else {
            None
        }
    }

    /// The next unit the line's first station could take from the source.
    fn peek_start(&self, now: SimTime) -> Option<Unit> {
        match (&self.queue, &self.arrivals) {
            (Some(q), Some(a)) => {
                q.front_ready(now)
                    .or(if q.units.is_empty() { a.holding } else { None })
            }
            _ => Some(Unit {
                product: self.cursor.product() as u16,
                born: now,
                content: 1,
            }),
        }
    }

    /// Whether station `i` can take a unit now (idle and available): what a divider
    /// feeding machines asks.
    fn ready(&self, i: usize) -> bool {
        let st = &self.stations[i];
        st.phase == Phase::Idle && st.core.available()
    }

    /// The next unit station `i` of a branching line takes, and where from: among its
    /// inputs that can give one now (a buffer whose head is ready and whose divider, if it
    /// feeds several machines, picks `i`; a machine handing over through a buffer of
    /// capacity 0 whose divider picks that buffer), the one its combiner picks.
    fn route_in(&self, i: usize, now: SimTime) -> Option<(Src, Unit)> {
        let g = self
            .graph
            .as_deref()
            .expect("a branching line has junctions");
        let node = &g.stations[i];
        if node.inputs.is_empty() {
            return self.peek_start(now).map(|u| (Src::Start, u));
        }
        let offer = |b: usize| -> Option<(Src, Unit, SimTime)> {
            let buf = &self.buffers[b];
            let edge = &g.buffers[b];
            if buf.capacity == Some(0) {
                let u = edge.from[0];
                let up = &self.stations[u];
                return (up.phase == Phase::Blocked && self.route_out(u) == Some(Some(b)))
                    .then(|| up.unit.map(|x| (Src::Handoff(b, u), x, up.work_started)))
                    .flatten();
            }
            let (unit, entered) = *buf.units.front()?;
            if entered.0 + buf.transport > now.0 {
                return None;
            }
            if edge.to.len() > 1 {
                let pick = edge.divider.pick(
                    edge.to
                        .iter()
                        .enumerate()
                        .filter(|&(_, &s)| self.ready(s))
                        .map(|(k, _)| (k, 1)),
                )?;
                if edge.to[pick] != i {
                    return None;
                }
            }
            Some((Src::Buffer(b), unit, entered))
        };
        let k = match node.inputs[..] {
            [_] => 0,
            // The combiner's pick, without collecting the offers (this runs per step).
            _ => node.combiner.pick(
                node.inputs
                    .iter()
                    .enumerate()
                    .filter_map(|(k, &b)| offer(b).map(|(_, u, t)| (k, b, u, t)))
                    .filter(|&(_, b, u, _)| !self.input_holds(i, b, u))
                    .map(|(k, _, _, t)| (k, t)),
            )?,
        };
        offer(node.inputs[k]).map(|(src, unit, _)| (src, unit))
    }

    /// Where blocked station `i` of a branching line puts its unit now: `Some(None)` off
    /// the line's end, `Some(Some(b))` buffer `b`, `None` nowhere yet. Among its outputs
    /// that can take a unit (a buffer with room whose combiner, if several machines feed
    /// it, picks `i`; a buffer of capacity 0 whose machine is ready, counted as room for
    /// one) its divider picks one; a pick of capacity 0 is handed over by the machine
    /// after it, when that one takes it.
    fn route_out(&self, i: usize) -> Option<Option<usize>> {
        let g = self
            .graph
            .as_deref()
            .expect("a branching line has junctions");
        let node = &g.stations[i];
        if node.outputs.is_empty() {
            return Some(None);
        }
        let room = |b: usize| -> Option<u64> {
            let buf = &self.buffers[b];
            let edge = &g.buffers[b];
            match buf.capacity {
                Some(0) => return self.ready(edge.to[0]).then_some(1),
                Some(c) if buf.units.len() as u64 >= c => return None,
                // Reworked units waiting to go back take the room first.
                _ if !edge.returns.is_empty() => return None,
                _ => {}
            }
            if edge.from.len() > 1 {
                let pick = edge.combiner.pick(
                    edge.from
                        .iter()
                        .enumerate()
                        .filter(|&(_, &s)| {
                            self.stations[s].phase == Phase::Blocked && !self.merge_holds(b, s)
                        })
                        .map(|(k, &s)| (k, self.stations[s].work_started)),
                )?;
                if edge.from[pick] != i {
                    return None;
                }
            }
            Some(
                buf.capacity
                    .map_or(u64::MAX, |c| c - buf.units.len() as u64),
            )
        };
        let k = match node.outputs[..] {
            [b] => room(b).map(|_| 0)?,
            _ => node.divider.pick(
                node.outputs
                    .iter()
                    .enumerate()
                    .filter_map(|(k, &b)| room(b).map(|r| (k, r))),
            )?,
        };
        Some(Some(node.outputs[k]))
    }

    /// Whether buffer `b`, fed by several machines (a merge), holds back the unit station
    /// `s` holds: it is of another product than the one the merge takes (that of its last
    /// unit or, empty, of the machine after it) while another machine feeding it still
    /// has that one to give. A merge takes the last of a product before the next, so that
    /// the machine after it changes over once, not at each unit of the two in turn (as
    /// the line as flows does).
    #[inline(always)]
    fn merge_holds(&self, b: usize, s: usize) -> bool {
        let Some(unit) = self.stations[s].unit else {
            return false;
        };
        // Most of the time it is the product of the last unit on the merge.
        if self.buffers[b]
            .units
            .back()
            .is_some_and(|(u, _)| u.product == unit.product)
        {
            return false;
        }
        self.merge_holds_back(b, s, unit.product as usize)
    }

    /// [`Self::merge_holds`] of a unit of `product` not that of the merge's last unit.
    #[inline(never)]
    fn merge_holds_back(&self, b: usize, s: usize, product: usize) -> bool {
        let g = self
            .graph
            .as_deref()
            .expect("a branching line has junctions");
        let taken = match self.buffers[b].units.back() {
            Some((u, _)) => u.product as usize,
            None => self.stations[g.buffers[b].to[0]].core.product,
        };
        product != taken
            && g.buffers[b]
                .from
                .iter()
                .any(|&f| f != s && self.gives(f, taken))
    }

    /// Whether station `i`, taking from several buffers, leaves `unit` at the head of
    /// buffer `b` for now: it is of another product than `i` runs while another of its
    /// inputs still has that one to give (the last of a product before the next, as at a
    /// merge).
    #[inline(always)]
    fn input_holds(&self, i: usize, b: usize, unit: Unit) -> bool {
        unit.product as usize != self.stations[i].core.product && self.input_holds_back(i, b)
    }

    /// [`Self::input_holds`] of a unit of another product than station `i` runs.
    #[inline(never)]
    fn input_holds_back(&self, i: usize, b: usize) -> bool {
        let g = self
            .graph
            .as_deref()
            .expect("a branching line has junctions");
        let mine = self.stations[i].core.product;
        g.stations[i].inputs.iter().any(|&a| {
            a != b
                && (self.heads(a, mine) || g.buffers[a].from.iter().any(|&f| self.gives(f, mine)))
        })
    }

    /// Whether station `f` still has units of `product` to give: one in hand, at the
    /// head of one of its inputs, or more coming from a machine before that one still
    /// running it.
    fn gives(&self, f: usize, product: usize) -> bool {
        let g = self
            .graph
            .as_deref()
            .expect("a branching line has junctions");
        if let Some(u) = self.stations[f].unit {
            return u.product as usize == product;
        }
        self.stations[f].core.product == product
            && g.stations[f].inputs.iter().any(|&a| {
                self.heads(a, product)
                    || g.buffers[a]
                        .from
                        .iter()
                        .any(|&x| self.stations[x].core.product == product)
            })
    }

    /// Whether the unit at the head of buffer `a` is of `product`.
    fn heads(&self, a: usize, product: usize) -> bool {
        self.buffers[a]
            .units
            .front()
            .is_some_and(|(u, _)| u.product as usize == product)
    }

    /// Sends station `i`'s reject back for rework, if its rejects go back: off the machine
    /// onto the reject table, to go on when its buffer has room.
    #[inline(never)]
    fn send_back(&mut self, i: usize) -> bool {
        let Some(g) = self.graph.as_deref_mut() else {
            return false;
        };
        let Some(b) = g.stations[i].rework else {
            return false;
        };
        g.stations[i].reworked.0 += 1;
        let st = &mut self.stations[i];
        g.buffers[b]
            .returns
            .push_back(st.unit.take().expect("a working station holds a unit"));
        st.phase = Phase::Idle;
        true
    }

    /// The last unit of a pack on buffer `b` arrives at `at`: the station after it is
    /// looked at again then (once per arrival time).
    #[inline(never)]
    fn pack_arrives(&mut self, b: usize, at: SimTime, cal: &mut impl Calendar<LineEvent>) {
        if self.pack_due[b] != at.0 {
            self.pack_due[b] = at.0;
            cal.at(at, LineEvent::TransitReady { buffer: b as u16 });
        }
    }

    /// Puts reworked units waiting for room back on their buffers; whether one went.
    #[inline(never)]
    fn return_rework(&mut self, now: SimTime, cal: &mut impl Calendar<LineEvent>) -> bool {
        let Some(g) = self.graph.as_deref_mut().filter(|g| g.reworks) else {
            return false;
        };
        let mut moved = Vec::new();
        for (b, edge) in g.buffers.iter_mut().enumerate() {
            let buf = &mut self.buffers[b];
            while !edge.returns.is_empty() && buf.has_room() {
                let unit = edge.returns.pop_front().expect("checked");
                buf.units.push_back((unit, now));
                if buf.transport > 0 && buf.units.len() == 1 {
                    cal.at(
                        SimTime(now.0 + buf.transport),
                        LineEvent::TransitReady { buffer: b as u16 },
                    );
                }
                moved.push(b);
            }
        }
        for &b in &moved {
            g.touch_buffer(b);
        }
        for &b in &moved {
            self.sense(b, cal);
        }
        !moved.is_empty()
    }

    /// Rejects station `i` sent back upstream since the statistics started (`None`: its
    /// rejects leave the line).
    pub fn reworked(&self, i: usize) -> Option<u64> {
        let node = &self.graph.as_deref()?.stations[i];
        node.rework.map(|_| node.reworked.0 - node.reworked.1)
    }

    /// Books at the junctions that station `i` took a unit from `src`.
    fn record_take(&mut self, i: usize, src: Src) {
        let Some(g) = &mut self.graph else { return };
        let b = match src {
            Src::Start => return,
            Src::Buffer(b) | Src::Handoff(b, _) => b,
        };
        let node = &mut g.stations[i];
        node.combiner.record(slot(&node.inputs, b));
        let edge = &mut g.buffers[b];
        edge.divider.record(slot(&edge.to, i));
        if let Src::Handoff(_, u) = src {
            self.record_put(u, b);
        }
    }

    /// Books at the junctions that station `i` put its unit on buffer `b`.
    fn record_put(&mut self, i: usize, b: usize) {
        let Some(g) = &mut self.graph else { return };
        let node = &mut g.stations[i];
        node.divider.record(slot(&node.outputs, b));
        let edge = &mut g.buffers[b];
        edge.combiner.record(slot(&edge.from, i));
    }

    /// Whether station `i`, whose next unit is `input`, must change over with nothing of
    /// its product left to come: returns the product to change to.
    #[inline(always)]
    fn changeover_target(&self, i: usize, input: Option<Unit>) -> Option<usize> {
        let mine = self.stations[i].core.product;
        if let Some(u) = input {
            return (u.product as usize != mine).then_some(u.product as usize);
        }
        // Input is empty: change over in parallel as soon as upstream has moved on.
        if self.graph.is_some() {
            return self.changeover_target_graph(i);
        }
        let upstream_product = if i == 0 {
            self.cursor.product()
        } else {
            let up = &self.stations[i - 1];
            if up.unit.is_some_and(|u| u.product as usize == mine)
                || !self.buffers[i - 1].units.is_empty()
            {
                return None;
            }
            up.core.product
        };
        (upstream_product != mine).then_some(upstream_product)
    }

    /// [`Self::changeover_target`] of a branching line's station `i` with nothing to
    /// take: when every buffer feeding it is empty and no machine feeding them has a unit
    /// of its product to give, the product of the first of them.
    #[inline(never)]
    fn changeover_target_graph(&self, i: usize) -> Option<usize> {
        let mine = self.stations[i].core.product;
        let g = self
            .graph
            .as_deref()
            .expect("a branching line has junctions");
        let inputs = &g.stations[i].inputs;
        let Some(&first) = inputs.first() else {
            let next = self.cursor.product();
            return (next != mine).then_some(next);
        };
        for &b in inputs {
            if !self.buffers[b].units.is_empty() {
                return None;
            }
            // A machine feeding them still has its product to give (in hand, before it,
            // or still coming to it).
            if g.buffers[b].from.iter().any(|&u| self.gives(u, mine)) {
                return None;
            }
        }
        let upstream = self.stations[g.buffers[first].from[0]].core.product;
        (upstream != mine).then_some(upstream)
    }

    /// How many units station `i` takes from `src` for its next unit, when it can start
    /// one: all of its `takes` of one product ready at the front of its input, or, when a
    /// unit of another product follows fewer, those (the short last pack of a campaign).
    /// Otherwise, when the whole pack is there but its last unit is still on its way, the
    /// time it arrives.
    #[inline(always)]
    fn batch(&self, i: usize, src: Src, now: SimTime) -> Result<usize, Option<SimTime>> {
        match self.stations[i].takes {
            1 => Ok(1),
            takes => self.pack(src, takes, now),
        }
    }

    /// [`Self::batch`] of a station that takes `takes` > 1.
    #[inline(never)]
    fn pack(&self, src: Src, takes: usize, now: SimTime) -> Result<usize, Option<SimTime>> {
        let units = match (src, &self.queue) {
            (Src::Start, None) => {
                // Unlimited supply: a whole pack, or what the campaign has left.
                let left = self
                    .cursor
                    .remaining_ticks()
                    .map_or(takes, |r| (r / TICKS_PER_UNIT) as usize);
                return Ok(takes.min(left.max(1)));
            }
            (Src::Start, Some(q)) => q,
            (Src::Buffer(b), _) => &self.buffers[b],
            // A buffer before a station that packs holds a whole pack (checked on loading).
            (Src::Handoff(..), _) => return Err(None),
        };
        let (first, _) = units.units.front().ok_or(None)?;
        let same = units
            .units
            .iter()
            .take(takes)
            .take_while(|(u, _)| u.product == first.product)
            .count();
        // Fewer than a pack make a short one only when another product follows them.
        if same < takes && units.units.len() == same {
            return Err(None);
        }
        // Entry times never decrease: the last of them is the last to be ready.
        let (_, entered) = units.units[same - 1];
        let ready = SimTime(entered.0 + units.transport);
        if ready <= now {
            Ok(same)
        } else {
            Err(Some(ready))
        }
    }

    /// Takes `count` units from `src` into station `i` (see [`Self::batch`]): the unit it
    /// makes carries their product and the entry time of the first.
    #[inline(always)]
    fn take_batch(
        &mut self,
        src: Src,
        count: usize,
        now: SimTime,
        cal: &mut impl Calendar<LineEvent>,
    ) -> Unit {
        if count == 1 {
            self.take_input::<true>(src, now, cal)
        } else {
            self.take_pack(src, count, now, cal)
        }
    }

    #[inline(never)]
    fn take_pack(
        &mut self,
        src: Src,
        count: usize,
        now: SimTime,
        cal: &mut impl Calendar<LineEvent>,
    ) -> Unit {
        if matches!(src, Src::Start) && self.queue.is_none() {
            // Unlimited supply: the rest of the pack is released with the first.
            let mut unit = self.take_input::<true>(src, now, cal);
            self.cursor.released += (count as u128 - 1) * TICKS_PER_UNIT;
            self.set_wip(now, count as i64 - 1);
            unit.content = count as u32;
            return unit;
        }
        let mut pack = self.take_input::<true>(src, now, cal);
        for _ in 1..count {
            pack.content += self.take_input::<true>(src, now, cal).content;
        }
        pack
    }

    #[inline(always)]
    fn take_input<const EXTRAS: bool>(
        &mut self,
        src: Src,
        now: SimTime,
        cal: &mut impl Calendar<LineEvent>,
    ) -> Unit {
        match src {
            Src::Buffer(b) => {
                let buf = &mut self.buffers[b];
                let (u, _) = buf.units.pop_front().expect("peeked the buffer's head");
                if let Some((_, t)) = buf.units.front()
                    && buf.transport > 0
                {
                    let ready = SimTime(t.0 + buf.transport);
                    cal.at(ready, LineEvent::TransitReady { buffer: b as u16 });
                }
                if EXTRAS {
                    self.sense(b, cal);
                }
                return u;
            }
            Src::Handoff(_, u) => {
                let up = &mut self.stations[u];
                up.phase = Phase::Idle;
                return up.unit.take().expect("peeked the unit upstream holds");
            }
            Src::Start => {}
        }
        let (Some(q), Some(a)) = (&mut self.queue, &mut self.arrivals) else {
            self.cursor.released += TICKS_PER_UNIT;
            self.set_wip(now, 1);
            return Unit {
                product: self.cursor.product() as u16,
                born: now,
                content: 1,
            };
        };
        let unit = match q.units.pop_front() {
            Some((u, _)) => u,
            None => {
                self.wip += 1;
                a.holding.take().expect("peeked a waiting arrival")
            }
        };
        // A waiting arrival moves into the freed place.
        if a.holding.is_some() && q.has_room() {
            let h = a.holding.take().expect("checked");
            q.units.push_back((h, now));
            self.wip += 1;
        }
        self.wip_avg.set(now, self.wip as f64);
        unit
    }

    /// Hands station `i`'s finished unit on, off the line's end (`to` is `None`) or onto
    /// buffer `to`, if there is room.
    #[inline(always)]
    fn deposit<const EXTRAS: bool>(
        &mut self,
        i: usize,
        to: Option<usize>,
        now: SimTime,
        cal: &mut impl Calendar<LineEvent>,
    ) -> bool {
        let unit = self.stations[i]
            .unit
            .expect("a blocked station holds a unit");
        match to {
            None => {
                self.out_base += u64::from(unit.content);
                self.set_wip(now, -i64::from(unit.content));
                self.flow_time.record(now.since(unit.born).as_secs_f64());
            }
            Some(b) => {
                let buf = &mut self.buffers[b];
                if !buf.has_room() {
                    return false;
                }
                buf.units.push_back((unit, now));
                if buf.transport > 0 && buf.units.len() == 1 {
                    cal.at(
                        SimTime(now.0 + buf.transport),
                        LineEvent::TransitReady { buffer: b as u16 },
                    );
                }
            }
        }
        let st = &mut self.stations[i];
        st.unit = None;
        st.phase = Phase::Idle;
        if EXTRAS && let Some(b) = to {
            self.sense(b, cal);
        }
        true
    }
    /// Reads buffer `b`'s level into its switches and applies what they change now.
    #[inline(always)]
    fn sense(&mut self, b: usize, cal: &mut impl Calendar<LineEvent>) {
        if !self.control.is_empty() {
            self.sense_level(b, cal);
        }
    }

    #[inline(never)]
    fn sense_level(&mut self, b: usize, cal: &mut impl Calendar<LineEvent>) {
        let level = self.buffers[b].units.len() as u128;
        self.control.sense(b, level, 0, cal);
        if self.control.take_changed() {
            self.apply_steps(cal);
        }
    }

    /// Takes `line`'s buffer capacities, machine speeds and level switches (see
    /// [`super::LineRuntime::retune`]); the switches read every buffer anew. The caller
    /// kicks the line.
    pub fn retune(&mut self, line: &Line, cal: &mut impl Calendar<LineEvent>) {
        let fresh = DiscreteLine::new(0, line, &RngStreams::new(0));
        for (st, f) in self.stations.iter_mut().zip(fresh.stations) {
            st.cycle = f.cycle;
            st.time_dist = f.time_dist;
            st.speed_factors = f.speed_factors;
        }
        for (b, f) in self.buffers.iter_mut().zip(&fresh.buffers) {
            b.capacity = f.capacity;
        }
        if self.control.is_empty() {
            return;
        }
        self.control.retune(&fresh.control);
        for b in 0..self.buffers.len() {
            let level = self.buffers[b].units.len() as u128;
            self.control.sense(b, level, 0, cal);
        }
        if self.control.take_changed() {
            self.apply_steps(cal);
        }
    }

    /// A switch's time-out ran out: it follows its level now.
    pub fn on_switch_due(&mut self, switch: u16, epoch: u32, cal: &mut impl Calendar<LineEvent>) {
        self.control.due(switch, epoch);
        if self.control.take_changed() {
            self.apply_steps(cal);
            self.kick(cal);
        }
    }

    /// Gives every station the stop and speed step its switches set: a station at work
    /// has the rest of its unit rescaled to the new speed; one stopped keeps it.
    fn apply_steps(&mut self, cal: &mut impl Calendar<LineEvent>) {
        let now = cal.now();
        for i in 0..self.stations.len() {
            let setting = self.control.setting(i);
            let core = &self.stations[i].core;
            if (core.step, core.switch_stop) == setting {
                continue;
            }
            self.account(i, now);
            self.pause(i, now);
            self.wake(i);
            let st = &mut self.stations[i];
            st.core.follow(now, setting);
            let step = setting.0;
            if step > 0.0 && st.step != step {
                if st.phase == Phase::Working {
                    st.remaining = (st.remaining as f64 * st.step / step).round() as u64;
                }
                st.step = step;
            }
            if st.phase == Phase::Working && st.core.available() {
                self.start_work(i, cal);
            }
        }
    }

    /// Moves units as far as they can go now: deposits, takes, changeovers.
    #[inline(never)]
    pub fn kick(&mut self, cal: &mut impl Calendar<LineEvent>) {
        // A branching line routes each unit through its junctions; a line with level
        // switches or packs runs the series code with them in; a plain line without (it
        // is the per-unit hot path).
        if self.extras {
            self.kick_extras(cal);
        } else {
            self.move_units::<false, false>(cal);
        }
    }

    /// [`Self::kick`] of a line with junctions, switches or packs (kept out of the plain
    /// path, so that it stays small enough to inline).
    #[inline(never)]
    fn kick_extras(&mut self, cal: &mut impl Calendar<LineEvent>) {
        if self.graph.is_some() {
            self.move_units::<true, true>(cal);
        } else {
            self.move_units::<true, false>(cal);
        }
    }

    fn move_units<const EXTRAS: bool, const GRAPH: bool>(
        &mut self,
        cal: &mut impl Calendar<LineEvent>,
    ) {
        let now = cal.now();
        if GRAPH {
            self.move_due(now, cal);
        } else {
            loop {
                let mut changed = false;
                for i in (0..self.stations.len()).rev() {
                    // A station that took a unit works on it, and what it took from is
                    // before it, which this pass steps next: another pass is needed only
                    // for the other moves (deposits, changeovers), or on a line whose
                    // takes may change speeds anywhere (level switches).
                    if self.step::<EXTRAS, GRAPH>(i, now, cal) {
                        changed |= EXTRAS || self.stations[i].phase != Phase::Working;
                    }
                }
                if !changed {
                    break;
                }
            }
        }
        // A source whose arrival waited for room goes on once that arrival is in.
        if let Some(a) = &mut self.arrivals
            && a.blocked
            && a.holding.is_none()
        {
            a.blocked = false;
            let d = a.interarrival.sample(&mut a.rng);
            cal.after(d, LineEvent::Arrival);
        }
    }

    /// [`Self::move_units`] of a branching line: steps the stations due, highest first,
    /// waking those around each one that moved, until none is due (with nothing woken in
    /// particular, every station is due).
    fn move_due(&mut self, now: SimTime, cal: &mut impl Calendar<LineEvent>) {
        let g = self
            .graph
            .as_deref_mut()
            .expect("a branching line has junctions");
        if g.due.is_empty() {
            for i in 0..g.queued.len() {
                g.touch(i);
            }
        }
        #[cfg(test)]
        if tests::EVERY_STATION.with(std::cell::Cell::get) {
            while g.next_due().is_some() {}
            loop {
                let mut changed = self.return_rework(now, cal);
                for i in (0..self.stations.len()).rev() {
                    changed |= self.step::<true, true>(i, now, cal);
                }
                if !changed {
                    break;
                }
            }
            return;
        }
        loop {
            self.return_rework(now, cal);
            while let Some(i) = self.graph.as_deref_mut().and_then(Graph::next_due) {
                if self.step::<true, true>(i, now, cal)
                    && let Some(g) = self.graph.as_deref_mut()
                {
                    g.touch_around(i);
                }
            }
            if !self.graph.as_deref_mut().is_some_and(Graph::next_pass) {
                break;
            }
        }
    }

    fn step<const EXTRAS: bool, const GRAPH: bool>(
        &mut self,
        i: usize,
        now: SimTime,
        cal: &mut impl Calendar<LineEvent>,
    ) -> bool {
        match self.stations[i].phase {
            Phase::Working => false,
            Phase::Blocked => {
                self.account(i, now);
                let to = if GRAPH {
                    match self.route_out(i) {
                        Some(Some(b)) if self.buffers[b].capacity == Some(0) => return false,
                        Some(to) => to,
                        None => return false,
                    }
                } else if i + 1 == self.stations.len() {
                    None
                } else {
                    Some(i)
                };
                let put = self.deposit::<EXTRAS>(i, to, now, cal);
                if GRAPH
                    && put
                    && let Some(b) = to
                {
                    self.record_put(i, b);
                }
                put
            }
            Phase::Idle => {
                if !self.stations[i].core.available() {
                    return false;
                }
                let input = if GRAPH {
                    self.route_in(i, now)
                } else {
                    self.peek_input(i, now)
                };
                if let Some(target) = self.changeover_target(i, input.map(|(_, u)| u)) {
                    self.account(i, now);
                    self.begin_setup(i, target, cal);
                    return true;
                }
                let Some((src, _)) = input else {
                    return false;
                };
                let count = if EXTRAS {
                    match self.batch(i, src, now) {
                        Ok(count) => count,
                        Err(at) => {
                            if let (Some(at), Src::Buffer(b)) = (at, src) {
                                self.pack_arrives(b, at, cal);
                            }
                            return false;
                        }
                    }
                } else {
                    1
                };
                self.account(i, now);
                match src {
                    // A handoff changes the machine before: book its time first.
                    Src::Handoff(_, u) if GRAPH => self.account(u, now),
                    _ if !GRAPH && i > 0 => self.account(i - 1, now),
                    _ => {}
                }
                let unit = if EXTRAS {
                    self.take_batch(src, count, now, cal)
                } else {
                    self.take_input::<false>(src, now, cal)
                };
                if GRAPH {
                    self.record_take(i, src);
                }
                if i == 0
                    && self.arrivals.is_none()
                    && self.cursor.remaining_ticks() == Some(0)
                    && !self.cursor.advance()
                {
                    self.start_campaign_timer(cal);
                }
                let st = &mut self.stations[i];
                st.core.counters.taken += count as u128 * TICKS_PER_UNIT;
                let p = unit.product as usize;
                st.remaining = match (st.cycle[p], &st.time_dist) {
                    (Some(c), _) => c,
                    (None, Some(d)) => {
                        scaled(d.sample(&mut st.core.process_rng), st.speed_factors[p])
                    }
                    (None, None) => unreachable!("a station has a cycle or a distribution"),
                };
                if EXTRAS {
                    st.step = st.core.step;
                }
                if EXTRAS && st.step != 1.0 {
                    st.remaining = scaled(SimDuration(st.remaining), st.step);
                }
                st.unit = Some(unit);
                self.start_work(i, cal);
                true
            }
        }
    }
    /// Starts a changeover of station `i` to `product` (time booked by the caller).
    pub fn begin_setup(&mut self, i: usize, product: usize, cal: &mut impl Calendar<LineEvent>) {
        match self.stations[i].core.begin_changeover(product) {
            Some(d) => cal.after(d, LineEvent::SetupDone { station: i as u16 }),
            None if i == 0 => self.start_campaign_timer(cal),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::load_scenario;
    use crate::{RunSpec, simulate};

    thread_local! {
        /// Steps every station of a branching line in every pass, as the sweep that the
        /// queue of due stations reproduces (a run on this thread only).
        pub(super) static EVERY_STATION: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        /// Series lines of at least this many stations run through their junctions (a
        /// run on this thread only; `None`: the engine's own threshold).
        pub(super) static GRAPH_FROM: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    }

    /// A series line run through its junctions (as a long one is) moves exactly as the
    /// series engine moves it (levels, states, stops): with arrivals, random times,
    /// failures, changeovers, conveyors, capacity 0, level switches and packs.
    #[test]
    fn a_series_line_moves_the_same_through_its_junctions() {
        for path in [
            "scenarios/bottling-line-serial.toml",
            "scenarios/stress/tandem-4-failures.toml",
            "scenarios/textbook/mm1k.toml",
            "scenarios/textbook/level-switch.toml",
            "scenarios/textbook/cases-and-pallets.toml",
            "fuzz/corpus/scenario/packs-and-switches.toml",
        ] {
            let series = trajectory_with(path, false, None, true);
            let routed = trajectory_with(path, false, Some(1), true);
            assert!(series == routed, "{path}");
        }
    }

    /// (time series, timeline) of `path` under the scenarios folder, stepping every
    /// station or only those due.
    fn trajectory(path: &str, every: bool) -> (String, String) {
        trajectory_with(path, every, None, false)
    }

    /// [`trajectory`] with series lines of at least `graph_from` stations run through
    /// their junctions, and with `discrete` every line unit by unit.
    fn trajectory_with(
        path: &str,
        every: bool,
        graph_from: Option<usize>,
        discrete: bool,
    ) -> (String, String) {
        let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&full).expect("a bundled file");
        let mut s = load_scenario(path, &text).expect("a valid scenario");
        if discrete {
            for line in &mut s.lines {
                line.force_discrete = true;
            }
        }
        EVERY_STATION.with(|f| f.set(every));
        GRAPH_FROM.with(|f| f.set(graph_from));
        let out = simulate(&s, RunSpec::of(&s));
        EVERY_STATION.with(|f| f.set(false));
        GRAPH_FROM.with(|f| f.set(None));
        (
            out.series.expect("recorded").to_csv(),
            crate::line::timeline_csv(&out.timeline.expect("recorded")),
        )
    }

    /// The queue of due stations misses no station that could move: every branching line
    /// bundled or in the fuzz corpus moves exactly as when every station is stepped in
    /// every pass (levels, states and every stop, to the nanosecond).
    #[test]
    fn stepping_only_the_stations_due_moves_units_as_stepping_all() {
        for path in [
            "scenarios/bottling-line.toml",
            "scenarios/textbook/dividers.toml",
            "scenarios/textbook/combiners.toml",
            "scenarios/textbook/parallel-machines.toml",
            "scenarios/textbook/rework.toml",
            "fuzz/corpus/scenario/branches.toml",
        ] {
            assert_eq!(trajectory(path, false), trajectory(path, true), "{path}");
        }
    }
}
