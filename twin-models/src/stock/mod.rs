//! The stock subsystem: stocked materials (`[[stock]]`, e.g. preforms in the warehouse)
//! that lines' calls draw on, with supplier orders under each material's policy, receipts
//! after a drawn lead time ([`StockEvent`]), and the alerts of stock running out.
//!
//! [`Stocks`] is a resource of the plant's world. A line's call for a load goes through
//! [`Stocks::call`]: served now (the caller sends a vehicle), or waiting for a receipt; the
//! calls a receipt or a count serves come back from it, for the caller to send vehicles.

mod material;

use crate::alerts::{AlertLog, PlantAlert};
use crate::logistics::Shortfall;
use crate::scenario::Stock;
use bevy_ecs::resource::Resource;
pub use material::{StockRuntime, Withdrawal};
use orchestrator::replenish::Policy;
use serde::Serialize;
use sim::{Calendar, RngStreams, SimDuration, SimTime};

/// Warn when a stock would run out within this long (and before its next receipt).
const STOCK_ALERT_WITHIN_S: f64 = 4.0 * 3600.0;

/// An event of the stocked materials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StockEvent {
    /// Supplier order `order` of stock `stock` arrives.
    Receipt { stock: u16, order: u32 },
}

/// KPIs of a stocked material (e.g. preforms in the warehouse).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StockKpis {
    /// Material.
    pub material: String,
    /// Where it is held (location or group).
    pub at: String,
    /// Units on hand at the end.
    pub on_hand: f64,
    /// Units ordered and not yet received at the end.
    pub on_order: f64,
    /// Lowest on hand, units.
    pub least_on_hand: f64,
    /// Time-weighted mean on hand, units.
    pub average_on_hand: f64,
    /// Units taken by the lines' calls.
    pub withdrawn: f64,
    /// Withdrawn over average on hand.
    pub turns: f64,
    /// Lines' calls for a load.
    pub calls: u64,
    /// Share of calls served from stock at once (the fill rate).
    pub fill_rate: f64,
    /// Times a call found too little on hand.
    pub stock_outs: u64,
    /// Minutes with calls waiting for stock.
    pub stock_out_minutes: f64,
    /// Calls still waiting at the end.
    pub calls_waiting_at_end: u64,
    /// Supplier orders placed.
    pub orders_placed: u64,
    /// Units ordered.
    pub units_ordered: f64,
    /// Supplier orders received.
    pub receipts: u64,
}

/// The stocked materials of the plant (a resource of its world), in the scenario's order.
#[derive(Resource, serde::Serialize, serde::Deserialize)]
pub struct Stocks {
    stock: Vec<StockRuntime>,
    /// Whether each stock has warned of running out since its last receipt.
    warned: Vec<bool>,
    /// Whether each fed stock has proposed an order since its last receipt.
    reorder_proposed: Vec<bool>,
}

/// A call waiting for stock that a receipt or a count now serves: (line, material of
/// that line).
pub type Served = Vec<(usize, usize)>;

/// The stream of material `k`'s supplier lead times in a run of `seed`.
fn lead_time_stream(seed: u64, k: usize) -> sim::StreamRng {
    RngStreams::new(seed).stream(&[RngStreams::label("supplier-lead-time"), k as u64])
}

impl Stocks {
    /// The materials of `specs` at their initial levels; `seed` is the run's (each draws
    /// its lead times from a stream of its own).
    pub fn new(specs: &[Stock], seed: u64) -> Self {
        Stocks {
            stock: specs
                .iter()
                .enumerate()
                .map(|(k, st)| StockRuntime::new(st, lead_time_stream(seed, k)))
                .collect(),
            warned: vec![false; specs.len()],
            reorder_proposed: vec![false; specs.len()],
        }
    }

    /// Replaces every material's random stream by the one under `seed` (a fork's fresh
    /// future from the same state).
    pub fn reseed(&mut self, seed: u64) {
        for (k, st) in self.stock.iter_mut().enumerate() {
            st.reseed(lead_time_stream(seed, k));
        }
    }

    /// The stocked materials, in the scenario's order.
    pub fn all(&self) -> &[StockRuntime] {
        &self.stock
    }

    /// Number of stocked materials.
    pub fn len(&self) -> usize {
        self.stock.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.stock.is_empty()
    }

    /// Marks stock `k` as fed: its supplier receipts come from a feed (the real
    /// deliveries), and its policy proposes orders instead of placing them.
    pub fn set_fed(&mut self, k: usize, fed: bool) {
        self.stock[k].fed = fed;
    }

    /// Reviews every stock not fed by a feed at the start (one may start at or below
    /// its reorder point).
    pub fn start(&mut self, alerts: &mut AlertLog, cal: &mut impl Calendar<StockEvent>) {
        for k in 0..self.stock.len() {
            if !self.stock[k].fed {
                self.review(k, alerts, cal);
            }
        }
    }

    /// Gives stock `k` the policy `policy` from now on (see [`crate::plant::variant`])
    /// and reviews it at once: the position may already call for an order.
    pub fn retune(
        &mut self,
        k: usize,
        policy: &Policy,
        alerts: &mut AlertLog,
        cal: &mut impl Calendar<StockEvent>,
    ) {
        self.stock[k].set_policy(*policy);
        self.reorder_proposed[k] = false;
        self.review(k, alerts, cal);
    }

    /// Line `line`'s call for `qty` units of its material `material` from stock `k`:
    /// whether it is served now (then the caller sends a vehicle); otherwise it waits for
    /// a receipt. Raises the alerts it calls for and orders what the policy wants.
    pub fn call(
        &mut self,
        k: usize,
        line: usize,
        material: usize,
        qty: f64,
        alerts: &mut AlertLog,
        cal: &mut impl Calendar<StockEvent>,
    ) -> bool {
        let now = cal.now();
        let served = match self.stock[k].withdraw(now, line, material, qty) {
            Withdrawal::Served => {
                self.warn_if_running_out(k, now, alerts);
                true
            }
            Withdrawal::Waits { first: true } => {
                self.stock_alert(k, now, "stock_out", alerts);
                false
            }
            Withdrawal::Waits { first: false } => false,
        };
        self.review(k, alerts, cal);
        served
    }

    /// Why stock `k` cannot serve a load of `load` units now, if it cannot.
    pub fn shortfall(&self, k: usize, load: f64, now: SimTime) -> Option<Shortfall> {
        let st = &self.stock[k];
        (st.on_hand() + 1e-9 < load).then(|| Shortfall {
            at: st.spec().at.clone(),
            on_hand: st.on_hand(),
            next_receipt_in_s: st.next_receipt().map(|t| t.since(now).as_secs_f64()),
        })
    }

    /// Reviews stock `k` against its policy: a supplier order on `cal` if one is due. A
    /// stock whose receipts come from a feed gets a `reorder` alert instead (once until the
    /// next receipt).
    fn review(&mut self, k: usize, alerts: &mut AlertLog, cal: &mut impl Calendar<StockEvent>) {
        let now = cal.now();
        if !self.stock[k].fed {
            if let Some((order, lead)) = self.stock[k].review(now) {
                schedule_receipt(cal, k, order, lead);
            }
            return;
        }
        if !self.reorder_proposed[k]
            && let Some(qty) = self.stock[k].wanted(now)
        {
            self.reorder_proposed[k] = true;
            let st = &self.stock[k];
            let spec = st.spec();
            alerts.raise(PlantAlert {
                at_s: now.as_secs_f64(),
                kind: "reorder".into(),
                line: None,
                material: Some(spec.material.clone()),
                location: Some(spec.at.clone()),
                on_hand: Some(st.on_hand()),
                rate_per_h: (st.rate() > 0.0).then_some(st.rate() * 3600.0),
                next_receipt_in_s: None,
                hint: format!(
                    "order {qty:.0} {} for {} now: the position is at the reorder level of its policy",
                    spec.material, spec.at
                ),
            });
        }
    }

    /// Handles `event`: the calls the receipt serves.
    pub fn handle(
        &mut self,
        event: StockEvent,
        alerts: &mut AlertLog,
        cal: &mut impl Calendar<StockEvent>,
    ) -> Served {
        match event {
            StockEvent::Receipt { stock, order } => {
                let k = stock as usize;
                let served = self.stock[k].receive(cal.now(), order);
                self.warned[k] = false;
                self.review(k, alerts, cal);
                served
            }
        }
    }

    /// A supplier delivery of `qty` to stock `k`, reported by a feed: the calls it serves.
    pub fn received(&mut self, k: usize, qty: f64, now: SimTime) -> Served {
        let served = self.stock[k].received(now, qty);
        self.warned[k] = false;
        self.reorder_proposed[k] = false;
        served
    }

    /// Stock `k` counted at `qty` (from a feed): the drift (counted minus the twin's
    /// figure) and the calls now served; orders what the policy then wants.
    pub fn count(
        &mut self,
        k: usize,
        qty: f64,
        alerts: &mut AlertLog,
        cal: &mut impl Calendar<StockEvent>,
    ) -> (f64, Served) {
        let (drift, served) = self.stock[k].count(cal.now(), qty);
        self.review(k, alerts, cal);
        (drift, served)
    }

    /// Stock `k` booked up or down by `delta` (from a feed): the calls now served; orders
    /// what the policy then wants.
    pub fn adjust(
        &mut self,
        k: usize,
        delta: f64,
        alerts: &mut AlertLog,
        cal: &mut impl Calendar<StockEvent>,
    ) -> Served {
        let served = self.stock[k].adjust(cal.now(), delta);
        self.review(k, alerts, cal);
        served
    }

    fn warn_if_running_out(&mut self, k: usize, now: SimTime, alerts: &mut AlertLog) {
        let st = &self.stock[k];
        let rate = st.rate();
        if self.warned[k] || rate <= 0.0 {
            return;
        }
        let left = st.on_hand() / rate;
        let next = st.next_receipt().map(|t| t.since(now).as_secs_f64());
        if left < STOCK_ALERT_WITHIN_S && next.is_none_or(|n| left < n) {
            self.warned[k] = true;
            self.stock_alert(k, now, "projected_stock_out", alerts);
        }
    }

    fn stock_alert(&self, k: usize, now: SimTime, kind: &str, alerts: &mut AlertLog) {
        let st = &self.stock[k];
        let rate = st.rate();
        let next = st.next_receipt().map(|t| t.since(now).as_secs_f64());
        let spec = st.spec();
        let then = match next {
            Some(s) => format!("the next supplier receipt is due in {:.1} h", s / 3600.0),
            None => "nothing is on order".to_string(),
        };
        let hint = if kind == "stock_out" {
            format!(
                "{} at {} cannot serve the lines' calls ({:.0} on hand); {then}: expedite or order more",
                spec.material,
                spec.at,
                st.on_hand()
            )
        } else {
            format!(
                "at {:.0}/h, {} at {} runs out in {:.1} h; {then}: order now or bring it forward",
                rate * 3600.0,
                spec.material,
                spec.at,
                st.on_hand() / rate / 3600.0
            )
        };
        alerts.raise(PlantAlert {
            at_s: now.as_secs_f64(),
            kind: kind.into(),
            line: None,
            material: Some(spec.material.clone()),
            location: Some(spec.at.clone()),
            on_hand: Some(st.on_hand()),
            rate_per_h: (rate > 0.0).then_some(rate * 3600.0),
            next_receipt_in_s: next,
            hint,
        });
    }

    /// Starts the statistics afresh (end of warm-up).
    pub fn reset_statistics(&mut self, now: SimTime) {
        for s in &mut self.stock {
            s.reset_at(now);
        }
    }

    /// Every stocked material's KPIs at `now`.
    pub fn kpis(&self, now: SimTime) -> Vec<StockKpis> {
        self.stock.iter().map(|s| s.kpis(now)).collect()
    }
}

/// Puts supplier order `order` of stock `stock` on the calendar, `lead` from now.
fn schedule_receipt(
    cal: &mut impl Calendar<StockEvent>,
    stock: usize,
    order: u32,
    lead: SimDuration,
) {
    cal.after(
        lead,
        StockEvent::Receipt {
            stock: stock as u16,
            order,
        },
    );
}
