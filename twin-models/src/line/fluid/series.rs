//! Long series lines (from [`LOCAL_FROM`] stations) planned where things change: each
//! event books and replans only the run of machines joined to it through empty or full
//! buffers. Shorter lines book and plan the whole line at each event, which costs less
//! than finding the run when the run is most of the line.
//!
//! A machine runs at one rate between the events that change it, so what it has taken by
//! any time follows from when it was last booked ([`FStation::since`]) and its rate; a
//! buffer's content is what the machine before it has made less what the one after it
//! has taken. Machines on either side of a buffer that is neither empty nor full do not
//! limit each other: an event at one of them books and replans the stations up to the
//! nearest such buffers on both sides and leaves the others as they are. Each buffer and
//! station keeps its next boundary in [`Boundaries`], so finding the next event does not
//! look at the whole line either. Where a buffer is empty or full, the machines on either
//! side are booked together and nobody takes more than is there or puts in more than
//! there is room for, exactly to the tick.

use super::{EPS, FluidLine, PPM, amount, to_f64};
use crate::line::events::LineEvent;
use crate::units::TICKS_PER_UNIT;
use sim::{Calendar, SimTime};

/// A buffer within this of empty, full or the end of a machine's product joins the
/// machines on either side (margin over [`EPS`] for the rounding of rates over time).
pub(super) const NEAR: u128 = 2 * EPS;

/// Series lines of this many stations or more are planned locally. On the 7 stations of
/// `plant-10-lines.toml`, whose V-curve keeps most buffers empty or full, planning
/// locally took about a quarter longer than planning the whole line; on random lines of
/// unreliable machines the two cost alike at 8 stations and planning locally costs less
/// from 12 (half at 40, a twentieth at 4,000).
pub(super) const LOCAL_FROM: usize = 16;

impl FluidLine {
    /// Good ticks, of its own unit, station `i` has made once it has taken `taken` in all:
    /// rejects and packing are counted on the totals, so booking in any steps gives the
    /// same counts.
    fn made_of(&self, i: usize, taken: u128) -> u128 {
        let s = &self.stations[i];
        let good_in = if s.reject_ppm == 0 {
            taken
        } else {
            taken - taken * s.reject_ppm / PPM
        };
        match &s.pack {
            Some(p) => good_in / p.takes,
            None => good_in,
        }
    }

    /// The most station `i` may have taken in all and have made no more than `made`.
    fn most_taken(&self, i: usize, made: u128) -> u128 {
        let s = &self.stations[i];
        if s.reject_ppm >= PPM {
            return u128::MAX;
        }
        let takes = s.pack.as_ref().map_or(1, |p| p.takes);
        // Good input that still makes no more than `made`.
        let good = made * takes + (takes - 1);
        let good_in = |a: u128| a - a * s.reject_ppm / PPM;
        let mut a = good * PPM / (PPM - s.reject_ppm);
        while good_in(a) > good {
            a -= 1;
        }
        while good_in(a + 1) <= good {
            a += 1;
        }
        a
    }

    /// Ticks station `i` has taken in all by `x`, at its rate since it was booked (the
    /// first no more than the campaign has left).
    pub(super) fn taken_at(&self, i: usize, x: SimTime) -> u128 {
        let s = &self.stations[i];
        let mut a = amount(s.rate, x.0.saturating_sub(s.since.0));
        if i == 0
            && let Some(rem) = self.cursor.remaining_ticks()
        {
            a = a.min(rem);
        }
        s.processed + a
    }

    /// Ticks station `i` has taken and good ticks it has made in all by `x` (remembered
    /// for the instant: one event asks several times).
    #[inline(always)]
    fn totals_at(&mut self, i: usize, x: SimTime) -> (u128, u128) {
        let s = &self.stations[i];
        if s.since == x {
            return (s.processed, s.made);
        }
        let key = (x.0, s.since.0);
        if self.totals.len() != self.stations.len() {
            // Not kept in snapshots.
            self.totals = vec![(u64::MAX, 0, 0, 0); self.stations.len()];
        }
        let (at, since, taken, made) = self.totals[i];
        if (at, since) == key {
            return (taken, made);
        }
        let taken = self.taken_at(i, x);
        let made = if taken == s.processed {
            s.made
        } else {
            self.made_of(i, taken)
        };
        self.totals[i] = (key.0, key.1, taken, made);
        (taken, made)
    }

    /// What station `i` has made once it has taken `taken` in all by `x`, from what is
    /// known already where it can be.
    fn made_by(&self, i: usize, x: SimTime, taken: u128) -> u128 {
        let s = &self.stations[i];
        match self.totals[i] {
            _ if taken == s.processed => s.made,
            (at, since, t, m) if (at, since) == (x.0, s.since.0) && t == taken => m,
            _ => self.made_of(i, taken),
        }
    }

    /// Good ticks gone into buffer `b` of a series line by `x`.
    pub(super) fn cum_in_at(&mut self, b: usize, x: SimTime) -> u128 {
        let made = self.totals_at(b, x).1;
        self.buffers[b].cum_in + made - self.stations[b].made
    }

    /// Ticks taken out of buffer `b` of a series line by `x`.
    fn cum_out_at(&mut self, b: usize, x: SimTime) -> u128 {
        self.totals_at(b + 1, x).0
    }

    /// What has gone into buffer `b` by now: booked on a branching line, followed to `now`
    /// on a series one.
    #[inline(always)]
    pub(super) fn cum_in_now(&mut self, b: usize, now: SimTime) -> u128 {
        match (self.local, self.graph.is_some()) {
            (false, _) => self.buffers[b].cum_in,
            (true, false) => self.cum_in_at(b, now),
            (true, true) => self.content_at(b, now).0,
        }
    }

    /// Whether buffer `b` is within [`NEAR`] of empty, full or the end of the next
    /// machine's product at `x`, or the machine before it has made another product since
    /// it was booked: the machines on either side are then booked together. (What a
    /// machine made since it was booked is not in the buffer's runs yet, so the next
    /// machine's product would seem to go on.)
    fn joins(&mut self, b: usize, x: SimTime) -> bool {
        let (cum_in, cum_out) = (self.cum_in_at(b, x), self.cum_out_at(b, x));
        let buf = &self.buffers[b];
        let level = cum_in.saturating_sub(cum_out);
        if buf
            .capacity
            .is_some_and(|c| c.saturating_sub(level) <= NEAR)
        {
            return true;
        }
        let (up, dn) = (&self.stations[b], &self.stations[b + 1]);
        let unbooked = cum_in > buf.cum_in;
        if unbooked && buf.runs.back().is_none_or(|r| r.0 != up.core.product) {
            return true;
        }
        if buf.leading_between(dn.core.product, cum_in, cum_out) <= NEAR {
            return true;
        }
        buf.transit.as_ref().is_some_and(|tr| {
            // What had arrived at the last plan has arrived still: look the history
            // up only when that alone is near nothing.
            tr.arrived_at_replan.saturating_sub(cum_out) <= NEAR
                && tr.ready(x.0, cum_in, cum_out) <= NEAR
        })
    }

    /// Books station `i` of a long series line and the stations joined to it at `now`, to
    /// be planned again at the next [`FluidLine::settle`]. Other lines are booked whole.
    pub fn touch(&mut self, i: usize, now: SimTime) {
        if !self.local {
            self.advance(now);
            return;
        }
        if self.graph.is_some() {
            return self.touch_reach(i, now);
        }
        if self.touched.iter().any(|&(lo, hi)| (lo..=hi).contains(&i)) {
            return;
        }
        let (mut lo, mut hi) = (i, i);
        while lo > 0 && self.joins(lo - 1, now) {
            lo -= 1;
        }
        while hi + 1 < self.stations.len() && self.joins(hi, now) {
            hi += 1;
        }
        self.book_range(lo, hi, now);
        self.touched.push((lo, hi));
    }

    /// A flow event of a series line at `now`: touches the elements whose boundary it is.
    pub(super) fn on_boundaries(&mut self, now: SimTime) {
        let mut due = std::mem::take(&mut self.due);
        self.boundaries.due(now.0, &mut due);
        let buffers = self.buffers.len();
        for &e in &due {
            if e < buffers && self.graph.is_some() {
                self.touch_buffer(e, now);
            } else if e < buffers {
                self.touch(e, now);
                self.touch(e + 1, now);
            } else {
                self.touch(e - buffers, now);
            }
        }
        self.due = due;
    }

    /// Books the whole series line up to `now`.
    pub(super) fn book_all(&mut self, now: SimTime) {
        let n = self.stations.len();
        match (self.graph.is_some(), self.packs) {
            (false, _) => self.book_range(0, n - 1, now),
            (true, true) => self.book_graph::<true, _>(0..n, true, now),
            (true, false) => self.book_graph::<false, _>(0..n, true, now),
        }
        let exact = to_f64(self.wip_ticks()) / TICKS_PER_UNIT as f64;
        self.wip_avg.ramp_to(now, exact);
        self.wip_est = (now, exact);
    }

    /// Books stations `lo..=hi` (the buffers at either end neither empty nor full) up to
    /// `x` at their rates: nobody takes more than is there, of its product and done with
    /// transport, nor puts in more than there is room for.
    fn book_range(&mut self, lo: usize, hi: usize, x: SimTime) {
        let mut a = std::mem::take(&mut self.scratch);
        a.clear();
        for i in lo..=hi {
            a.push(self.totals_at(i, x).0);
        }
        self.take_available(lo, hi, x, &mut a);
        let mut cut = false;
        for i in (lo..hi).rev() {
            if let Some(cap) = self.buffers[i].capacity {
                let room = a[i + 1 - lo] + cap;
                if self.made_of(i, a[i - lo]) > room {
                    a[i - lo] = self.most_taken(i, room).max(self.stations[i].processed);
                    cut = true;
                }
            }
        }
        // Less put in upstream can leave less to take downstream.
        if cut {
            self.take_available(lo, hi, x, &mut a);
        }
        for i in lo..=hi {
            let s = &self.stations[i];
            let (before, after) = (s.processed, a[i - lo]);
            let taken = after - before;
            let made_now = self.made_by(i, x, after);
            let made = made_now - s.made;
            let dt = x.0.saturating_sub(s.since.0);
            if dt > 0 {
                self.book::<true>(i, taken, made, dt, x);
            }
            if i == 0 {
                self.cursor.released += taken;
            }
            let s = &mut self.stations[i];
            s.since = x;
            s.made = made_now;
            let product = s.core.product;
            if i + 1 < self.stations.len() {
                self.buffers[i].put_in(product, made);
            }
            if i > 0 {
                self.buffers[i - 1].take_out(taken, x.0);
            }
        }
        self.scratch = a;
    }

    /// A sweep downstream over stations `lo..=hi` whose totals are `a`: nobody takes more
    /// than the buffer before it holds of its product (and has done its transport).
    fn take_available(&self, lo: usize, hi: usize, x: SimTime, a: &mut [u128]) {
        for i in lo + 1..=hi {
            let b = i - 1;
            let buf = &self.buffers[b];
            let (up, dn) = (&self.stations[b], &self.stations[i]);
            let product = dn.core.product;
            // What it made since it was booked is of its product now, after the runs.
            let cum_in = buf.cum_in + self.made_by(b, x, a[b - lo]) - up.made;
            let pending = if up.core.product == product {
                cum_in - buf.cum_in
            } else {
                0
            };
            let mut end = match buf.runs.front() {
                None => buf.cum_out + pending,
                Some(head) if head.0 != product => buf.cum_out,
                Some(_) => buf.head_end(buf.cum_in + pending),
            };
            let k = i - lo;
            if let Some(tr) = &buf.transit
                && a[k] > tr.arrived_at_replan
            {
                end = end.min(tr.inflow_at(tr.delayed(x.0), cum_in).0);
            }
            if a[k] > end {
                a[k] = end.max(dn.processed);
            }
        }
    }

    /// Plans the runs booked since the last plan: their rates, their buffers' and their
    /// own next boundaries, and the line's next flow event.
    pub(super) fn replan_series(&mut self, cal: &mut impl Calendar<LineEvent>) {
        let now = cal.now();
        self.ramp_wip(now);
        if !self.control.is_empty() {
            self.sense_touched(cal);
        }
        let mut ranges = std::mem::take(&mut self.touched);
        ranges.sort_unstable();
        ranges.dedup_by(|next, prev| {
            let overlap = next.0 <= prev.1;
            if overlap {
                prev.1 = prev.1.max(next.1);
            }
            overlap
        });
        // The buffers next to the runs, each once.
        let n = self.stations.len();
        let mut near = std::mem::take(&mut self.due);
        near.clear();
        for &(lo, hi) in &ranges {
            // Buffer `b` lies between stations `b` and `b + 1`.
            for b in lo.saturating_sub(1)..(hi + 1).min(n - 1) {
                if near.last().is_none_or(|&l| l < b) {
                    near.push(b);
                }
            }
        }
        let slope_before = self.wip_slope_of(&near);
        for &(lo, hi) in &ranges {
            self.planned += (hi + 1 - lo) as u64;
            for s in &mut self.stations[lo..=hi] {
                s.unlimit();
            }
        }
        // What has gone in and out of each by now (planning changes no machine's totals
        // by now: the ones planned are booked to now, the others keep their rates).
        let mut totals = std::mem::take(&mut self.near_totals);
        totals.clear();
        for &b in &near {
            let (cum_in, cum_out) = (self.cum_in_at(b, now), self.cum_out_at(b, now));
            totals.push((cum_in, cum_out));
            if let Some(tr) = &mut self.buffers[b].transit {
                tr.replan_at(now.0, cum_in, cum_out);
            }
        }
        for &(lo, hi) in &ranges {
            self.propagate(lo, hi);
        }
        for (&b, &(cum_in, cum_out)) in near.iter().zip(&totals) {
            // Only a machine booked now has its inflow here booked.
            if self.stations[b].since == now {
                self.record_inflow(b, now);
            }
            let level = cum_in.saturating_sub(cum_out);
            let dt = self.buffer_boundary(b, now, level, cum_in);
            self.boundaries.set(b, at_after(now, dt));
        }
        self.near_totals = totals;
        self.wip_slope += self.wip_slope_of(&near) - slope_before;
        for &(lo, hi) in &ranges {
            for i in lo..=hi {
                let dt = self.station_boundary(i);
                self.boundaries.set(n - 1 + i, at_after(now, dt));
            }
        }
        self.due = near;
        let earliest = self.boundaries.earliest();
        self.schedule_flow((earliest != u64::MAX).then_some(SimTime(earliest)), cal);
        ranges.clear();
        self.touched = ranges;
    }

    /// The WIP's time average up to `now`, at the rates until now.
    pub(super) fn ramp_wip(&mut self, now: SimTime) {
        let wip = self.wip_est.1 + self.wip_slope * now.since(self.wip_est.0).0 as f64;
        self.wip_avg.ramp_to(now, wip);
        self.wip_est = (now, wip);
    }

    /// The WIP's slope (units per nanosecond) that buffers `near` give at their rates.
    pub(super) fn wip_slope_of(&self, near: &[usize]) -> f64 {
        let slope: f64 = near
            .iter()
            .map(|&b| (self.in_rate(b) - self.out_rate(b)) * to_f64(self.buffers[b].equivalent))
            .sum();
        slope / TICKS_PER_UNIT as f64
    }

    /// Reads the levels of the buffers next to the touched runs into their switches; a
    /// machine whose step or stop changed is booked (touched) and follows it.
    fn sense_touched(&mut self, cal: &mut impl Calendar<LineEvent>) {
        let now = cal.now();
        let ranges = self.touched.clone();
        let n = self.stations.len();
        for &(lo, hi) in &ranges {
            // The buffers next to the runs: a machine not booked now would book what its
            // rate gives.
            for b in lo.saturating_sub(1)..(hi + 1).min(n - 1) {
                if self.control.watches(b) {
                    let level = self
                        .cum_in_at(b, now)
                        .saturating_sub(self.cum_out_at(b, now));
                    self.control.sense(b, level, EPS, cal);
                }
            }
        }
        self.follow_switches(now);
    }

    /// After the switches sensed the levels at `now`: whether any changed; if so, each
    /// machine whose step or stop changed is booked (touched) and follows it.
    pub(super) fn follow_switches(&mut self, now: SimTime) -> bool {
        if !self.control.take_changed() {
            return false;
        }
        for i in 0..self.stations.len() {
            let setting = self.control.setting(i);
            let core = &self.stations[i].core;
            if (core.step, core.switch_stop) != setting {
                self.touch(i, now);
                self.stations[i].core.follow(now, setting);
            }
        }
        true
    }

    /// A switch's time-out ran out at `now`: whether it changed a step; the machine it
    /// drives is then booked, to be planned at the next settle.
    pub fn on_switch_due(&mut self, switch: u16, epoch: u32, now: SimTime) -> bool {
        if !self.local {
            self.advance(now);
        }
        self.control.due(switch, epoch);
        if !self.control.changed() {
            return false;
        }
        if self.local
            && let Some(m) = self.control.machine_of(switch)
        {
            self.touch(m, now);
        }
        true
    }
}

#[cfg(test)]
impl FluidLine {
    /// Panics unless every machine of a series line has taken, by when it was last
    /// booked, no more than its buffer had had put in by then and, behind a conveyor, no
    /// more than had done its transport time: exact to the tick, whatever was booked.
    pub(super) fn assert_takes_only_what_arrived(&mut self) {
        for b in 0..self.buffers.len() {
            let x = self.stations[b + 1].since;
            let cum_in = self.cum_in_at(b, x);
            let buf = &self.buffers[b];
            assert!(
                buf.cum_out <= cum_in,
                "buffer {b} below empty by {} ticks at {x:?}",
                buf.cum_out - cum_in
            );
            if let Some(tr) = &buf.transit {
                let arrived = tr.inflow_at(tr.delayed(x.0), cum_in).0;
                assert!(
                    buf.cum_out <= arrived,
                    "station {} took {} ticks more than had arrived at {x:?}",
                    b + 1,
                    buf.cum_out - arrived
                );
            }
        }
    }
}

/// The instant `dt` nanoseconds after `now`, at least one later (`u64::MAX`: never).
pub(super) fn at_after(now: SimTime, dt: f64) -> u64 {
    if dt.is_finite() {
        now.0.saturating_add(sim::ceil_u64(dt).max(1))
    } else {
        u64::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_same_counts, run_line};
    use crate::line::LineEngine;

    /// A series line of 24 stations of different speeds (some with rejects, one packing
    /// 6 into 1 and the next at its speed in packs) with breakdowns on operating time,
    /// small buffers and conveyors, and two products with changeovers.
    fn long_line() -> String {
        let mut t = String::from(
            "name = \"long\"\n[run]\nhorizon = \"12h\"\nseed = 5\n[[products]]\nname = \"A\"\n[[products]]\nname = \"B\"\n[[lines]]\nname = \"L\"\nschedule = { repeat = true, campaigns = [{ product = \"A\", quantity = 9000 }, { product = \"B\", quantity = 5000 }] }\nchangeover = { default = \"7min\" }\n",
        );
        for i in 0..24 {
            let speed = [3600, 3300, 3900, 3450][i % 4];
            let (speed, takes) = match i {
                17 => (speed, "takes = 6\n"),
                18.. => (speed / 6, ""),
                _ => (speed, ""),
            };
            let reject = if i % 5 == 2 { 0.004 } else { 0.0 };
            t += &format!(
                "[[lines.stations]]\nname = \"s{i}\"\nkind = \"generic\"\nspeed = \"{speed}/h\"\nreject_rate = {reject}\n{takes}failures = [{{ tbf = \"exp({}min)\", ttr = \"exp(2min)\" }}]\n",
                20 + 7 * (i % 6)
            );
        }
        for i in 0..23 {
            let transport = if i % 3 == 1 && i % 7 != 3 {
                "transport_time = \"25s\"\n"
            } else {
                ""
            };
            t += &format!(
                "[[lines.buffers]]\nname = \"b{i}\"\nfrom = \"s{i}\"\nto = \"s{}\"\ncapacity = {}\n{transport}",
                i + 1,
                if i % 7 == 3 { 0 } else { 30 + 5 * (i % 4) }
            );
        }
        t
    }

    /// A bottling line of 8 machines whose speeds make a V around the filler, parted by
    /// conveyors with transport times (one without: the filler's capper sits right
    /// behind it), with micro-stops, breakdowns, rejects, two products with changeovers
    /// and level switches on the conveyors: high ones stopping the machine before,
    /// low ones slowing the machine after, one after a delay, one driving a machine two
    /// places away.
    fn conveyor_line() -> String {
        let mut t = String::from(
            "name = \"conveyors\"\n[run]\nhorizon = \"12h\"\nseed = 3\n[[products]]\nname = \"A\"\n[[products]]\nname = \"B\"\n[[lines]]\nname = \"L\"\nrated_speed = \"36000/h\"\nspeed_factors = { \"B\" = 0.8 }\nschedule = { repeat = true, campaigns = [{ product = \"A\", duration = \"3h\" }, { product = \"B\", quantity = 40000 }] }\nchangeover = { default = \"9min\" }\n",
        );
        let speeds = [45000, 40000, 36000, 36000, 39600, 43200, 46800, 50000];
        for (i, speed) in speeds.iter().enumerate() {
            let micro = match i % 3 {
                0 => "micro_stops = { tbf = \"exp(6min)\", duration = \"uniform(5s, 25s)\" }\n",
                _ => "",
            };
            t += &format!(
                "[[lines.stations]]\nname = \"s{i}\"\nkind = \"generic\"\nspeed = \"{speed}/h\"\nreject_rate = {}\nfailures = [{{ tbf = \"exp({}min)\", ttr = \"exp(3min)\" }}]\n{micro}",
                if i % 2 == 1 { 0.003 } else { 0.0 },
                30 + 9 * i
            );
        }
        for i in 0..7 {
            let (capacity, transport) = match i {
                2 => ("capacity = 0", ""),
                _ => ("accumulation = \"90s\"", "transport_time = \"25s\"\n"),
            };
            let switches = match i {
                2 => "",
                3 => {
                    "switches = [{ on = \"85%\", off = \"60%\", delay = \"4s\" }, { on = \"15%\", off = \"35%\" }]\n"
                }
                5 => {
                    "switches = [{ on = \"20%\", off = \"40%\", machine = \"s4\", step = \"115%\" }]\n"
                }
                _ => {
                    "switches = [{ on = \"90%\", off = \"70%\" }, { on = \"10%\", off = \"30%\" }]\n"
                }
            };
            t += &format!(
                "[[lines.buffers]]\nname = \"b{i}\"\nfrom = \"s{i}\"\nto = \"s{}\"\n{capacity}\n{transport}{switches}",
                i + 1
            );
        }
        t
    }

    /// A short line of conveyors, planned locally (as a long one would be): the same
    /// counts and times as planning the whole line, switches read alike, and its first
    /// machine never starved.
    #[test]
    fn a_conveyor_line_planned_locally_runs_as_planned_whole() {
        let text = conveyor_line();
        for seed in 1..=4 {
            let ((local, events), (whole, _)) =
                (run_line(&text, true, seed), run_line(&text, false, seed));
            let changeovers = assert_same_counts(&local, &whole, 1_000_000);
            assert!(changeovers >= 8, "seed {seed}: products change over");
            // Its supply unlimited, the first machine waits for nothing (a machine
            // booked alone once read a product the one before had stopped making as
            // going on, and waited for it).
            let starved = local.core(0).times[crate::line::StationState::Starved as usize];
            assert!(starved < 1e-6, "seed {seed}: the first starved {starved} s");
            let LineEngine::Fluid(f) = &local.engine else {
                unreachable!()
            };
            let switched: u64 = f.control().switchings().map(|(n, _)| n).sum();
            assert!(switched > 100, "seed {seed}: the switches act ({switched})");
            // Planned locally, an event reaches less of the line than planning it whole
            // (measured: 3.5 stations an event against 7.7 of the 8).
            let LineEngine::Fluid(w) = &whole.engine else {
                unreachable!()
            };
            assert!(
                f.planned() * 3 < w.planned() * 2,
                "seed {seed}: {} stations planned locally over {events} events, {} whole",
                f.planned(),
                w.planned()
            );
        }
    }

    /// Runs [`series_line_of`]'s line with the random streams of `seed` planned locally
    /// and whole and asserts that every machine does the same in both, time by state too.
    fn planned_alike(
        stations: &[(u32, u32, u32)],
        buffers: &[(u32, u32, bool)],
        first: u32,
        seed: u64,
    ) {
        let text = series_line_of(stations, buffers, first);
        let ((local, _), (whole, _)) = (run_line(&text, true, seed), run_line(&text, false, seed));
        assert_same_counts(&local, &whole, 1_000_000);
    }

    /// A series line of conveyors: each station (speed per hour, rejects in ppm, minutes
    /// between failures), each buffer (capacity, transport seconds, 0 for none; a level switch
    /// pair or not), and the first campaign's quantity.
    fn series_line_of(
        stations: &[(u32, u32, u32)],
        buffers: &[(u32, u32, bool)],
        first: u32,
    ) -> String {
        let mut t = format!(
            "name = \"random\"\n[run]\nhorizon = \"12h\"\n[[products]]\nname = \"A\"\n[[products]]\nname = \"B\"\n[[lines]]\nname = \"L\"\nspeed_factors = {{ \"B\" = 0.85 }}\nschedule = {{ repeat = true, campaigns = [{{ product = \"A\", quantity = {first} }}, {{ product = \"B\", duration = \"2h\" }}] }}\nchangeover = {{ default = \"6min\" }}\n"
        );
        for (i, &(speed, ppm, tbf)) in stations.iter().enumerate() {
            t += &format!(
                "[[lines.stations]]\nname = \"s{i}\"\nkind = \"generic\"\nspeed = \"{speed}/h\"\nreject_rate = {}\nfailures = [{{ tbf = \"exp({tbf}min)\", ttr = \"exp(2min)\" }}]\nmicro_stops = {{ tbf = \"exp(7min)\", duration = \"uniform(3s, 20s)\" }}\n",
                f64::from(ppm) / 1e6
            );
        }
        for (i, &(capacity, transport, switches)) in buffers.iter().enumerate() {
            t += &format!(
                "[[lines.buffers]]\nname = \"b{i}\"\nfrom = \"s{i}\"\nto = \"s{}\"\ncapacity = {capacity}\n",
                i + 1
            );
            if transport > 0 {
                t += &format!("transport_time = \"{transport}s\"\n");
            }
            if switches && capacity >= 20 {
                t += "switches = [{ on = \"80%\", off = \"50%\" }, { on = \"20%\", off = \"40%\" }]\n";
            }
        }
        t
    }

    /// A line of conveyors with switches on two of them (found by a random search):
    /// planned locally, switches once read a level only where both machines were booked
    /// at the event, so a threshold reached on a buffer next to the run went unread; the
    /// first machine's count then parted from planning the whole line by 1.3e-6. They read
    /// every buffer next to the runs now, at the levels the rates give.
    #[test]
    fn switches_next_to_a_run_read_the_level_its_machines_give() {
        let stations = [
            (30000, 0, 15),
            (30000, 0, 15),
            (30000, 99, 66),
            (34071, 2683, 59),
            (35408, 1194, 85),
            (48876, 0, 89),
            (37251, 0, 45),
            (35425, 4325, 86),
        ];
        let buffers = [
            (688, 16, false),
            (46, 11, true),
            (52, 35, false),
            (1, 9, true),
            (410, 33, false),
            (30, 0, true),
            (1, 27, false),
        ];
        planned_alike(&stations, &buffers, 6483, 949);
    }

    /// A line of conveyors found by a random search: a machine blocked by its full
    /// output conveyor, whose input conveyor's end had run dry, became held by both when
    /// the stop of the machine before reached that end. No event marked that moment
    /// unless the machine followed what arrived, so planning the whole line booked it
    /// blocked until the next event anywhere and planning locally until the next one
    /// reaching it: station 5 parted by 86 s of starved time in 12 h. Each change of
    /// what reaches a dry conveyor end is an event now, and a machine held alike by both
    /// ends is starved from that moment either way.
    #[test]
    fn a_machine_held_by_both_ends_is_booked_alike_planned_locally_or_whole() {
        let stations = [
            (40970, 268, 40),
            (41437, 0, 61),
            (31250, 0, 80),
            (30184, 3399, 25),
            (46267, 0, 76),
            (45574, 0, 57),
            (41938, 0, 53),
        ];
        let buffers = [
            (49, 7, false),
            (43, 24, true),
            (336, 15, false),
            (49, 33, false),
            (56, 3, true),
            (18, 9, true),
        ];
        planned_alike(&stations, &buffers, 13078, 868);
    }

    /// Found at 3,000 random lines (0.14 s of 12 h apart at station 2; 1.44 s on the first
    /// line found): a conveyor's end holds a unit while nothing arrives, and the machine
    /// after it takes that unit in exactly the time until arrivals resume at its own rate
    /// (what the machine before it put on while this one took the same from the end).
    /// The end is then dry but for a crumb that never drains (the machine takes what
    /// arrives), so it went dry without an event: planning the whole line booked the
    /// machine, held by both ends, blocked until the next event anywhere, planning
    /// locally until the next one reaching it. Draining to a crumb as the inflow changes
    /// is the moment the end runs dry now, and both book the machine starved from then.
    #[test]
    fn a_conveyor_end_drained_as_arrivals_resume_is_dry_then() {
        let stations = [
            (30000, 0, 15),
            (30010, 0, 15),
            (30072, 0, 15),
            (30011, 0, 15),
            (30079, 0, 29),
            (31012, 0, 16),
            (30000, 0, 15),
        ];
        let buffers = [
            (200, 1, false),
            (41, 17, true),
            (16, 8, false),
            (597, 0, true),
            (12, 1, false),
            (5, 2, false),
        ];
        planned_alike(&stations, &buffers, 5000, 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 48,
            // The same lines at every run: a failure is a change, not a new draw.
            rng_seed: proptest::test_runner::RngSeed::Fixed(38),
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Random lines of 7 to 11 stations, most buffers conveyors (capacities down to a
        /// unit, or none for the one plain buffer; conveyors run dry and full), with two
        /// products, micro-stops and switches: planned locally, every machine takes, makes
        /// and rejects what planning the whole line gives it, fails as often, spends as
        /// long in each state (to a millionth of the 12 h) and never takes more than has
        /// arrived.
        #[test]
        fn random_conveyor_lines_take_planned_locally_what_they_take_planned_whole(
            stations in proptest::collection::vec(
                (
                    30_000u32..50_000,
                    proptest::prop_oneof![proptest::strategy::Just(0u32), 1u32..5_000],
                    15u32..90,
                ),
                7..=11,
            ),
            kinds in proptest::collection::vec(
                (
                    proptest::prop_oneof![proptest::strategy::Just(0u32), 5u32..60, 200u32..900],
                    1u32..40,
                    proptest::prelude::any::<bool>(),
                ),
                10,
            ),
            plain in 0usize..10,
            first in 5_000u32..40_000,
            seed in 1u64..1_000,
        ) {
            // All buffers conveyors but one (a plain buffer, maybe of no room, somewhere
            // or nowhere); a conveyor holds a unit at least.
            let buffers: Vec<_> = (0..stations.len() - 1)
                .map(|b| {
                    let (capacity, transport, switches) = kinds[b];
                    match b == plain {
                        true => (capacity, 0, switches),
                        false => (capacity.max(1), transport, switches),
                    }
                })
                .collect();
            planned_alike(&stations, &buffers, first, seed);
        }
    }

    #[test]
    fn planning_locally_gives_what_planning_the_whole_line_gives() {
        let text = long_line();
        let ((local, _), (whole, _)) = (run_line(&text, true, 5), run_line(&text, false, 5));
        let LineEngine::Fluid(f) = &local.engine else {
            unreachable!()
        };
        // Every buffer holds what the machine before it made less what the next took.
        for b in 0..f.buffers.len() {
            let buf = &f.buffers[b];
            assert_eq!(buf.cum_in, f.stations[b].made, "buffer {b} in");
            assert_eq!(buf.cum_out, f.stations[b + 1].processed, "buffer {b} out");
            assert!(buf.cum_in >= buf.cum_out, "buffer {b} never below empty");
            if let Some(cap) = buf.capacity {
                assert!(buf.level() <= cap, "buffer {b} never above full");
            }
        }
        assert_eq!(local.stations(), 24);
        let changeovers = assert_same_counts(&local, &whole, 1_000_000);
        assert!(
            local.units_out() > 1000.0,
            "the line makes packs: {}",
            local.units_out()
        );
        assert!(changeovers > 24, "products change over along the line");
    }
}
