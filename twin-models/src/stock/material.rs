//! A stocked material in the twin (e.g. preforms in the warehouse): lines' calls for
//! loads draw on it, its policy orders from the supplier, and receipts come after a drawn
//! lead time. A call that finds too little on hand waits for the next receipt (a
//! stock-out), first come first served.

use super::StockKpis;
use crate::scenario::Stock;
use orchestrator::replenish::{ConsumptionForecast, Policy, StockPosition};
use sim::{Level, SimDuration, SimTime, Spells, StreamRng};
use std::collections::VecDeque;

/// Withdrawals are forecast in whole hours (a line takes a load now and then; the gaps
/// between loads say nothing of the rate).
const BUCKET_S: u64 = 3600;

/// What became of a call on the stock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Withdrawal {
    /// Served from stock now.
    Served,
    /// Waits for a receipt; `first`: it starts a stock-out (nothing was waiting).
    Waits { first: bool },
}

/// A call waiting for stock: line, material of that line, units.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Waiting {
    line: usize,
    material: usize,
    qty: f64,
}

/// One stocked material's runtime state.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StockRuntime {
    spec: Stock,
    /// Supplier receipts come from a feed (the real deliveries): the policy proposes
    /// orders instead of placing them.
    pub fed: bool,
    /// Units on hand, with their time average and least since the warm-up.
    on_hand: Level,
    on_order: f64,
    waiting: VecDeque<Waiting>,
    /// Quantity of each supplier order, by order number.
    orders: Vec<(f64, SimTime)>,
    rng: StreamRng,
    forecast: ConsumptionForecast,
    bucket: (u64, f64),
    // Statistics since the warm-up.
    /// Spells with calls waiting for stock (stock-outs).
    out: Spells,
    calls: u64,
    served_at_once: u64,
    withdrawn: f64,
    placed: u64,
    ordered: f64,
    receipts: u64,
}

impl StockRuntime {
    /// Replaces its random stream (a fork's fresh future from the same state).
    pub fn reseed(&mut self, rng: StreamRng) {
        self.rng = rng;
    }

    /// `spec` at its initial level; `rng` draws the lead times.
    pub fn new(spec: &Stock, rng: StreamRng) -> Self {
        StockRuntime {
            fed: false,
            on_hand: Level::new(SimTime::ZERO, spec.initial),
            on_order: 0.0,
            waiting: VecDeque::new(),
            orders: Vec::new(),
            rng,
            forecast: ConsumptionForecast::new(spec.alpha),
            bucket: (0, 0.0),
            out: Spells::new(),
            calls: 0,
            served_at_once: 0,
            withdrawn: 0.0,
            placed: 0,
            ordered: 0.0,
            receipts: 0,
            spec: spec.clone(),
        }
    }

    /// The stock's spec.
    pub fn spec(&self) -> &Stock {
        &self.spec
    }

    /// Units on hand.
    pub fn on_hand(&self) -> f64 {
        self.on_hand.value()
    }

    /// The forecast withdrawal rate, units per second (0 before the first full hour).
    pub fn rate(&self) -> f64 {
        self.forecast.rate.unwrap_or(0.0)
    }

    /// When the earliest open supplier order arrives.
    pub fn next_receipt(&self) -> Option<SimTime> {
        self.orders
            .iter()
            .filter(|(q, _)| *q > 0.0)
            .map(|(_, due)| *due)
            .min()
    }

    /// Closes the forecast's hourly buckets that are over at `now`.
    fn advance(&mut self, now: SimTime) {
        let index = now.0 / (BUCKET_S * 1_000_000_000);
        while self.bucket.0 < index {
            self.forecast.observe(self.bucket.1, BUCKET_S as f64);
            self.bucket = (self.bucket.0 + 1, 0.0);
        }
    }

    fn take(&mut self, now: SimTime, qty: f64) {
        self.on_hand.add(now, -qty);
        self.withdrawn += qty;
        self.bucket.1 += qty;
    }

    /// Line `line`'s call for `qty` units of its material `material`, first come first
    /// served.
    pub fn withdraw(&mut self, now: SimTime, line: usize, material: usize, qty: f64) -> Withdrawal {
        self.advance(now);
        self.calls += 1;
        if self.waiting.is_empty() && self.on_hand() + 1e-9 >= qty {
            self.take(now, qty);
            self.served_at_once += 1;
            return Withdrawal::Served;
        }
        let first = self.out.set(true, now);
        self.waiting.push_back(Waiting {
            line,
            material,
            qty,
        });
        Withdrawal::Waits { first }
    }

    /// Replaces the ordering policy.
    pub fn set_policy(&mut self, policy: Policy) {
        self.spec.policy = policy;
    }

    /// What the policy would order now, if anything.
    pub fn wanted(&mut self, now: SimTime) -> Option<f64> {
        self.advance(now);
        let position = StockPosition {
            on_hand: self.on_hand(),
            on_order: self.on_order,
            backorders: self.waiting.iter().map(|w| w.qty).sum(),
        };
        self.spec.policy.order(&position, self.rate())
    }

    /// Reviews the position against the policy; a new supplier order as (order number,
    /// lead time) if one is due (never for a stock whose receipts come from a feed).
    pub fn review(&mut self, now: SimTime) -> Option<(u32, SimDuration)> {
        if self.fed {
            return None;
        }
        let qty = self.wanted(now)?;
        let lead = self.spec.lead_time.sample(&mut self.rng);
        self.on_order += qty;
        self.placed += 1;
        self.ordered += qty;
        self.orders.push((qty, now + lead));
        Some(((self.orders.len() - 1) as u32, lead))
    }

    /// Supplier order `order` arrives: the waiting calls it can serve, in order, as
    /// (line, material).
    pub fn receive(&mut self, now: SimTime, order: u32) -> Vec<(usize, usize)> {
        self.advance(now);
        let (qty, _) = std::mem::replace(&mut self.orders[order as usize], (0.0, now));
        self.on_hand.add(now, qty);
        self.on_order -= qty;
        self.receipts += 1;
        self.serve_waiting(now)
    }

    /// A supplier delivery of `qty` reported by a feed: the waiting calls now served.
    pub fn received(&mut self, now: SimTime, qty: f64) -> Vec<(usize, usize)> {
        self.advance(now);
        self.on_hand.add(now, qty);
        self.receipts += 1;
        self.serve_waiting(now)
    }

    /// A cycle count found `qty` on hand: the twin's figure becomes it. Returns the drift
    /// (counted minus the twin's figure) and the waiting calls now served.
    pub fn count(&mut self, now: SimTime, qty: f64) -> (f64, Vec<(usize, usize)>) {
        self.advance(now);
        let drift = qty - self.on_hand();
        self.on_hand.set(now, qty);
        (drift, self.serve_waiting(now))
    }

    /// Stock booked up or down by `delta` (an adjustment); the waiting calls now served.
    pub fn adjust(&mut self, now: SimTime, delta: f64) -> Vec<(usize, usize)> {
        self.advance(now);
        self.on_hand.set(now, (self.on_hand() + delta).max(0.0));
        self.serve_waiting(now)
    }

    /// Serves waiting calls in order while stock lasts; ends a stock-out when none wait.
    fn serve_waiting(&mut self, now: SimTime) -> Vec<(usize, usize)> {
        let mut served = Vec::new();
        while let Some(w) = self.waiting.front() {
            if self.on_hand() + 1e-9 < w.qty {
                break;
            }
            let w = self.waiting.pop_front().expect("looked at it just now");
            self.take(now, w.qty);
            served.push((w.line, w.material));
        }
        if self.waiting.is_empty() {
            self.out.set(false, now);
        }
        served
    }

    /// Restarts the statistics at `now` (end of warm-up).
    pub fn reset_at(&mut self, now: SimTime) {
        self.advance(now);
        self.on_hand.restart(now);
        self.out.restart(now);
        self.calls = 0;
        self.served_at_once = 0;
        self.withdrawn = 0.0;
        self.placed = 0;
        self.ordered = 0.0;
        self.receipts = 0;
    }

    /// The KPIs at `now`.
    pub fn kpis(&self, now: SimTime) -> StockKpis {
        let s = self;
        let average = s.on_hand.mean(now);
        StockKpis {
            material: s.spec.material.clone(),
            at: s.spec.at.clone(),
            on_hand: s.on_hand(),
            on_order: s.on_order,
            least_on_hand: s.on_hand.least(),
            average_on_hand: average,
            withdrawn: s.withdrawn,
            turns: if average > 0.0 {
                s.withdrawn / average
            } else {
                0.0
            },
            calls: s.calls,
            fill_rate: if s.calls > 0 {
                s.served_at_once as f64 / s.calls as f64
            } else {
                1.0
            },
            stock_outs: s.out.count(),
            stock_out_minutes: s.out.total_s(now) / 60.0,
            calls_waiting_at_end: s.waiting.len() as u64,
            orders_placed: s.placed,
            units_ordered: s.ordered,
            receipts: s.receipts,
        }
    }
}
