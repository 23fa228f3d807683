//! The logistics subsystem: a line's side of the logistics, finished pallets at the
//! outfeed and material stock at line side, both read from the stations' counters, with
//! holds that stop a station when the outfeed is full or a material has run out.
//!
//! A line with an outfeed or materials carries a [`LineLogistics`] component beside its
//! [`LineRuntime`]. A check ([`LineLogistics::check`]) brings holds up to date and says
//! what to ask of the fleet ([`Call`]); on a fluid line it also says when the next
//! threshold will be crossed, which [`LineLogistics::watch`] puts on the calendar as a
//! [`LogisticsEvent`].

use crate::alerts::{AlertLog, PlantAlert};
use crate::line::{Hold, LineEvent, LineRuntime};
use crate::scenario::logistics::model::MAX_LOADS_AT_ONCE;
use crate::scenario::{Line, Material, Outfeed};
use crate::units::TICKS_PER_UNIT;
use bevy_ecs::component::Component;
use serde::Serialize;
use sim::{Calendar, SimDuration, SimTime, Spells};

/// An event of a line's logistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LogisticsEvent {
    /// The outfeed or line-side stock may have crossed a threshold. Stale unless `epoch`
    /// matches the line's.
    Watch { epoch: u32 },
}

/// A line's logistics KPIs.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LineLogisticsKpis {
    /// Line name.
    pub line: String,
    /// Pallets finished.
    pub pallets_made: u64,
    /// Minutes the last station stood because the outfeed was full.
    pub minutes_blocked_by_outfeed: f64,
    /// Minutes stations stood for want of material.
    pub minutes_starved_for_material: f64,
    /// Times a material ran out.
    pub material_stock_outs: u64,
    /// Lowest line-side stock of any material, units.
    pub least_material_stock: Option<f64>,
}

impl LineLogisticsKpis {
    /// Minutes lost to late transports.
    pub fn minutes_lost(&self) -> f64 {
        self.minutes_blocked_by_outfeed + self.minutes_starved_for_material
    }
}

/// Why a stock could not serve a line's call, for the line's `line_starved` alert.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Shortfall {
    /// Where the stock is kept.
    pub at: String,
    /// Units on hand there.
    pub on_hand: f64,
    /// Seconds until the next supplier receipt, if one is on order.
    pub next_receipt_in_s: Option<f64>,
}

/// What a check asks of the fleet.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Call {
    /// A pallet is ready at the outfeed.
    Pallet,
    /// A load of material `m` is wanted.
    Material(usize),
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct OutfeedState {
    spec: Outfeed,
    last: usize,
    made: u64,
    picked: u64,
    hold: Spells,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct MaterialState {
    spec: Material,
    delivered: u64,
    /// Units added by counts and adjustments from a feed (signed).
    adjusted: f64,
    on_the_way: u64,
    hold: Spells,
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

/// One line's outfeed and materials (a component of the line's entity).
#[derive(Component, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LineLogistics {
    /// The line's name, for alerts and KPIs.
    name: String,
    outfeed: Option<OutfeedState>,
    materials: Vec<MaterialState>,
    /// Generation of the pending watch event.
    epoch: u32,
    /// Materials that ran out at the last check.
    ran_out: Vec<usize>,
}

impl LineLogistics {
    /// The logistics of `line` (nothing to do if it has no outfeed or materials).
    pub fn new(line: &Line) -> Self {
        LineLogistics {
            name: line.name.clone(),
            outfeed: line.outfeed.clone().map(|spec| OutfeedState {
                spec,
                last: line.stations.len() - 1,
                made: 0,
                picked: 0,
                hold: Spells::new(),
            }),
            materials: line
                .materials
                .iter()
                .map(|m| MaterialState {
                    spec: m.clone(),
                    delivered: 0,
                    adjusted: 0.0,
                    on_the_way: 0,
                    hold: Spells::new(),
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
    /// synced to `now`; holds it sets reach the line through `cal`); returns the calls for
    /// the fleet and, for a fluid line, when the next threshold will be crossed at
    /// today's rates.
    pub fn check(
        &mut self,
        rt: &mut LineRuntime,
        now: SimTime,
        cal: &mut impl Calendar<LineEvent>,
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
            rt.set_hold(o.last, Hold::Outfeed, full, cal);
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
            rt.set_hold(i, Hold::Material, out, cal);
            let stock = s.stock(taken);
            s.least_stock = s.least_stock.min(stock);
            // Bounded (a feed's count can put the stock far below the trigger): the rest
            // are called at the next check, when a load arrives.
            let mut called = 0.0;
            while stock + s.on_the_way as f64 * s.spec.load <= s.spec.trigger + 1e-9
                && called < MAX_LOADS_AT_ONCE
            {
                s.on_the_way += 1;
                called += 1.0;
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

    /// Whether a watch event of `epoch` is the pending one.
    pub fn is_current(&self, epoch: u32) -> bool {
        self.epoch == epoch
    }

    /// Puts the next watch on `cal`, `next` from now (none: no threshold ahead at
    /// today's rates); any watch pending before goes stale.
    pub fn watch(&mut self, next: Option<SimDuration>, cal: &mut impl Calendar<LogisticsEvent>) {
        self.epoch = self.epoch.wrapping_add(1);
        if let Some(d) = next {
            cal.after(d, LogisticsEvent::Watch { epoch: self.epoch });
        }
    }

    /// The materials that ran out at the last check, each once.
    pub fn take_ran_out(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.ran_out)
    }

    /// Raises `line_starved` for material `m`, which just ran out at line side; `shortfall`
    /// says when the stock it is called from could not serve it.
    pub fn line_starved(
        &self,
        m: usize,
        shortfall: Option<Shortfall>,
        now: SimTime,
        alerts: &mut AlertLog,
    ) {
        let spec = &self.materials[m].spec;
        let on_the_way = self.materials[m].on_the_way;
        let (hint, on_hand, next) = match shortfall {
            Some(st) => (
                format!(
                    "{} stopped: no {} at line side, and {} has {:.0} (a load is {:.0}); {}",
                    self.name,
                    spec.name,
                    st.at,
                    st.on_hand,
                    spec.load,
                    match st.next_receipt_in_s {
                        Some(s) => format!(
                            "the next supplier receipt is due in {:.1} h: expedite it",
                            s / 3600.0
                        ),
                        None => "nothing is on order: order now".to_string(),
                    }
                ),
                Some(st.on_hand),
                st.next_receipt_in_s,
            ),
            None => (
                format!(
                    "{} stopped: no {} at line side with {on_the_way} load(s) on the way: raise the trigger or add vehicles",
                    self.name, spec.name
                ),
                None,
                None,
            ),
        };
        alerts.raise(PlantAlert {
            at_s: now.as_secs_f64(),
            kind: "line_starved".into(),
            line: Some(self.name.clone()),
            material: Some(spec.name.clone()),
            location: None,
            on_hand,
            rate_per_h: None,
            next_receipt_in_s: next,
            hint,
        });
    }

    /// Restarts the hold clocks at `now` (end of warm-up).
    pub fn reset_at(&mut self, now: SimTime) {
        for h in self.holds_mut() {
            h.restart(now);
        }
        for m in &mut self.materials {
            m.least_stock = f64::INFINITY;
        }
    }

    fn holds_mut(&mut self) -> impl Iterator<Item = &mut Spells> {
        self.outfeed
            .iter_mut()
            .map(|o| &mut o.hold)
            .chain(self.materials.iter_mut().map(|m| &mut m.hold))
    }

    /// This line's logistics KPIs at `now`.
    pub fn kpis(&self, now: SimTime) -> LineLogisticsKpis {
        LineLogisticsKpis {
            line: self.name.clone(),
            pallets_made: self.outfeed.as_ref().map_or(0, |o| o.made),
            minutes_blocked_by_outfeed: self
                .outfeed
                .as_ref()
                .map_or(0.0, |o| o.hold.total_s(now) / 60.0),
            minutes_starved_for_material: self
                .materials
                .iter()
                .map(|m| m.hold.total_s(now) / 60.0)
                .sum(),
            material_stock_outs: self.materials.iter().map(|m| m.hold.count()).sum(),
            least_material_stock: self
                .materials
                .iter()
                .map(|m| m.least_stock)
                .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.min(x)))),
        }
    }
}
