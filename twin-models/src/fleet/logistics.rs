//! A line's side of the logistics: finished pallets at the outfeed and material stock at
//! line side, both read from the stations' counters, with holds that stop a station when
//! the outfeed is full or a material has run out.

use crate::engine::{Hold, LineRuntime, PlantEvent};
use crate::kpi::LineLogisticsKpis;
use crate::scenario::{Line, Material, Outfeed};
use crate::units::TICKS_PER_UNIT;
use sim::{Scheduler, SimDuration, SimTime};

/// What a check asks of the fleet.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    /// A pallet is ready at the outfeed.
    Pallet,
    /// A load of material `m` is wanted.
    Material(usize),
}

#[derive(Clone, Debug)]
struct HoldClock {
    on: bool,
    since: SimTime,
    /// Seconds held, since the last reset.
    total_s: f64,
    count: u64,
}

impl HoldClock {
    fn new() -> Self {
        HoldClock {
            on: false,
            since: SimTime::ZERO,
            total_s: 0.0,
            count: 0,
        }
    }

    /// Sets the hold; true if it just came on.
    fn set(&mut self, on: bool, now: SimTime) -> bool {
        let rose = on && !self.on;
        if rose {
            self.since = now;
            self.count += 1;
        } else if !on && self.on {
            self.total_s += now.since(self.since).as_secs_f64();
        }
        self.on = on;
        rose
    }

    fn total_at(&self, now: SimTime) -> f64 {
        self.total_s
            + if self.on {
                now.since(self.since).as_secs_f64()
            } else {
                0.0
            }
    }

    fn reset(&mut self, now: SimTime) {
        self.total_s = 0.0;
        self.count = 0;
        if self.on {
            self.since = now;
        }
    }
}

#[derive(Clone, Debug)]
struct OutfeedState {
    spec: Outfeed,
    last: usize,
    made: u64,
    picked: u64,
    hold: HoldClock,
}

#[derive(Clone, Debug)]
struct MaterialState {
    spec: Material,
    delivered: u64,
    /// Units added by counts and adjustments from a feed (signed).
    adjusted: f64,
    on_the_way: u64,
    hold: HoldClock,
    least_stock: f64,
}

impl MaterialState {
    /// Units the station may take before the stock is gone, ticks.
    fn allowance_ticks(&self) -> u128 {
        let units = (self.spec.initial + self.delivered as f64 * self.spec.load + self.adjusted)
            / self.spec.per_unit;
        (units.max(0.0) * TICKS_PER_UNIT as f64).floor() as u128
    }

    fn stock(&self, taken_ticks: u128) -> f64 {
        self.spec.initial + self.delivered as f64 * self.spec.load + self.adjusted
            - taken_ticks as f64 / TICKS_PER_UNIT as f64 * self.spec.per_unit
    }
}

/// One line's outfeed and materials.
#[derive(Clone, Debug)]
pub struct LineLogistics {
    outfeed: Option<OutfeedState>,
    materials: Vec<MaterialState>,
    /// Generation of the pending watch event.
    pub epoch: u32,
    /// Materials that ran out at the last check.
    pub ran_out: Vec<usize>,
}

impl LineLogistics {
    /// The logistics of `line` (nothing to do if it has no outfeed or materials).
    pub fn new(line: &Line) -> Self {
        LineLogistics {
            outfeed: line.outfeed.clone().map(|spec| OutfeedState {
                spec,
                last: line.stations.len() - 1,
                made: 0,
                picked: 0,
                hold: HoldClock::new(),
            }),
            materials: line
                .materials
                .iter()
                .map(|m| MaterialState {
                    spec: m.clone(),
                    delivered: 0,
                    adjusted: 0.0,
                    on_the_way: 0,
                    hold: HoldClock::new(),
                    least_stock: m.initial,
                })
                .collect(),
            epoch: 0,
            ran_out: Vec::new(),
        }
    }

    /// Whether the line has an outfeed or materials.
    pub fn has_logistics(&self) -> bool {
        self.outfeed.is_some() || !self.materials.is_empty()
    }

    /// The outfeed spec, if any.
    pub fn outfeed(&self) -> Option<&Outfeed> {
        self.outfeed.as_ref().map(|o| &o.spec)
    }

    /// Material `m`'s spec.
    pub fn material(&self, m: usize) -> &Material {
        &self.materials[m].spec
    }

    /// Loads of material `m` called and not yet delivered.
    pub fn on_the_way(&self, m: usize) -> u64 {
        self.materials[m].on_the_way
    }

    /// A pallet left the outfeed.
    pub fn picked(&mut self) {
        if let Some(o) = &mut self.outfeed {
            o.picked += 1;
        }
    }

    /// A load of material `m` arrived at line side.
    pub fn delivered(&mut self, m: usize) {
        let s = &mut self.materials[m];
        s.delivered += 1;
        s.on_the_way -= 1;
    }

    /// Material `m` counted at line side: its stock becomes `counted` (the line synced to
    /// now). Returns the drift, counted minus the twin's figure.
    pub fn counted(&mut self, m: usize, counted: f64, rt: &LineRuntime) -> f64 {
        let s = &mut self.materials[m];
        let drift = counted - s.stock(rt.core(s.spec.station).counters.taken);
        s.adjusted += drift;
        drift
    }

    /// Material `m` booked up or down by `delta` at line side (an adjustment).
    pub fn adjusted(&mut self, m: usize, delta: f64) {
        self.materials[m].adjusted += delta;
    }

    /// Brings holds and calls up to date with the line's counters at `now` (the line
    /// synced to `now`); returns the calls for the fleet and, for a fluid line, when the
    /// next threshold will be crossed at today's rates.
    pub fn check(
        &mut self,
        rt: &mut LineRuntime,
        now: SimTime,
        sched: &mut Scheduler<'_, PlantEvent>,
    ) -> (Vec<Call>, Option<SimDuration>) {
        let mut calls = Vec::new();
        let mut next: Option<f64> = None;
        let mut soonest = |ticks_left: u128, rate: Option<f64>| {
            if let Some(r) = rate.filter(|&r| r > 0.0) {
                let ns = (ticks_left as f64 / r).ceil().max(1.0);
                next = Some(next.map_or(ns, |n: f64| n.min(ns)));
            }
        };
        if let Some(o) = &mut self.outfeed {
            let good = rt.core(o.last).counters.good;
            let per = o.spec.units_per_pallet as u128 * TICKS_PER_UNIT;
            let made = (good / per) as u64;
            for _ in o.made..made {
                calls.push(Call::Pallet);
            }
            o.made = made;
            let full = o.made - o.picked >= o.spec.positions as u64;
            o.hold.set(full, now);
            rt.set_hold(o.last, Hold::Outfeed, full, sched);
            if !full {
                let target = (made as u128 + 1) * per;
                soonest(target - good, rt.rates(o.last).map(|r| r.1));
            }
        }
        for (m, s) in self.materials.iter_mut().enumerate() {
            let i = s.spec.station;
            let taken = rt.core(i).counters.taken;
            let allowance = s.allowance_ticks();
            let out = taken >= allowance;
            if s.hold.set(out, now) {
                self.ran_out.push(m);
            }
            rt.set_hold(i, Hold::Material, out, sched);
            let stock = s.stock(taken);
            s.least_stock = s.least_stock.min(stock);
            while stock + s.on_the_way as f64 * s.spec.load <= s.spec.trigger + 1e-9 {
                s.on_the_way += 1;
                calls.push(Call::Material(m));
            }
            let rate = rt.rates(i).map(|r| r.0);
            if !out {
                soonest(allowance - taken, rate);
                // When stock plus loads on the way falls to the trigger.
                let above = stock + s.on_the_way as f64 * s.spec.load - s.spec.trigger;
                let ticks = (above / s.spec.per_unit * TICKS_PER_UNIT as f64).ceil();
                soonest(ticks.max(0.0) as u128, rate);
            }
        }
        (calls, next.map(|ns| SimDuration(ns as u64)))
    }

    /// Restarts the hold clocks at `now` (end of warm-up).
    pub fn reset_at(&mut self, now: SimTime) {
        for h in self.holds_mut() {
            h.reset(now);
        }
        for m in &mut self.materials {
            m.least_stock = f64::INFINITY;
        }
    }

    fn holds_mut(&mut self) -> impl Iterator<Item = &mut HoldClock> {
        self.outfeed
            .iter_mut()
            .map(|o| &mut o.hold)
            .chain(self.materials.iter_mut().map(|m| &mut m.hold))
    }

    /// This line's logistics KPIs at `now`.
    pub fn kpis(&self, name: &str, now: SimTime) -> LineLogisticsKpis {
        LineLogisticsKpis {
            line: name.to_string(),
            pallets_made: self.outfeed.as_ref().map_or(0, |o| o.made),
            minutes_blocked_by_outfeed: self
                .outfeed
                .as_ref()
                .map_or(0.0, |o| o.hold.total_at(now) / 60.0),
            minutes_starved_for_material: self
                .materials
                .iter()
                .map(|m| m.hold.total_at(now) / 60.0)
                .sum(),
            material_stock_outs: self.materials.iter().map(|m| m.hold.count).sum(),
            least_material_stock: self
                .materials
                .iter()
                .map(|m| m.least_stock)
                .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.min(x)))),
        }
    }
}
