//! Replenishment policies: when to order a material and how much, from its stock position.
//!
//! Every policy looks at the *inventory position*: on hand plus on order minus backorders,
//! so that what is already coming is never ordered twice.
//!
//! ```
//! use orchestrator::replenish::{Policy, StockPosition};
//!
//! // Reorder point: at 400 or less, order lots of 1,000.
//! let policy = Policy::ReorderPoint { reorder_at: 400.0, lot: 1000.0 };
//! let mut stock = StockPosition { on_hand: 450.0, on_order: 0.0, backorders: 0.0 };
//! assert_eq!(policy.order(&stock, 0.0), None);
//! stock.on_hand = 400.0;
//! assert_eq!(policy.order(&stock, 0.0), Some(1000.0));
//! ```

/// Where a material stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StockPosition {
    /// On hand now.
    pub on_hand: f64,
    /// Ordered and not yet received.
    pub on_order: f64,
    /// Demand not yet served.
    pub backorders: f64,
}

impl StockPosition {
    /// On hand + on order − backorders.
    pub fn inventory_position(&self) -> f64 {
        self.on_hand + self.on_order - self.backorders
    }
}

/// A replenishment policy, in the material's unit.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Policy {
    /// (s, Q): when the position is at `reorder_at` or below, order whole lots of `lot`
    /// until it is above.
    ReorderPoint {
        /// s.
        reorder_at: f64,
        /// Q.
        lot: f64,
    },
    /// (s, S): when the position is at `reorder_at` or below, order up to `order_up_to`.
    OrderUpTo {
        /// s.
        reorder_at: f64,
        /// S.
        order_up_to: f64,
    },
    /// Kanban: `bins` bins of `bin_size` circulate; every bin emptied is ordered again.
    Kanban {
        /// Bins in the loop.
        bins: u32,
        /// Units per bin.
        bin_size: f64,
    },
    /// Forecast-driven cover: when the position covers less than `reorder_cover_s` of the
    /// forecast consumption rate, order up to `cover_s` of it.
    ForecastCover {
        /// Seconds of consumption below which to order.
        reorder_cover_s: f64,
        /// Seconds of consumption to order up to.
        cover_s: f64,
    },
}

impl Policy {
    /// The quantity to order now, if any; `rate` is the forecast consumption, units per
    /// second (used by [`Policy::ForecastCover`] only).
    pub fn order(&self, stock: &StockPosition, rate: f64) -> Option<f64> {
        let ip = stock.inventory_position();
        let qty = match *self {
            Policy::ReorderPoint { reorder_at, lot } => {
                if ip > reorder_at || lot <= 0.0 {
                    0.0
                } else {
                    // Lots needed to lift the position above s.
                    (((reorder_at - ip) / lot).floor() + 1.0) * lot
                }
            }
            Policy::OrderUpTo {
                reorder_at,
                order_up_to,
            } => {
                if ip > reorder_at {
                    0.0
                } else {
                    order_up_to - ip
                }
            }
            Policy::Kanban { bins, bin_size } => {
                if bin_size <= 0.0 {
                    0.0
                } else {
                    // Bins still full (a started bin counts as full) and bins on their way
                    // are in the loop; the rest are empty and go back to the supplier.
                    let in_loop = (ip / bin_size).ceil().max(0.0);
                    (bins as f64 - in_loop).max(0.0) * bin_size
                }
            }
            Policy::ForecastCover {
                reorder_cover_s,
                cover_s,
            } => {
                if rate <= 0.0 || ip >= rate * reorder_cover_s {
                    0.0
                } else {
                    rate * cover_s - ip
                }
            }
        };
        (qty > 0.0).then_some(qty)
    }
}

/// A consumption rate forecast by exponential smoothing.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConsumptionForecast {
    /// Smoothing weight of the newest observation, 0 < α ≤ 1.
    pub alpha: f64,
    /// Forecast rate, units per second (`None` before the first observation).
    pub rate: Option<f64>,
}

impl ConsumptionForecast {
    /// A forecast with weight `alpha` and no observation yet.
    pub fn new(alpha: f64) -> Self {
        ConsumptionForecast { alpha, rate: None }
    }

    /// Takes in `qty` consumed over `seconds`.
    pub fn observe(&mut self, qty: f64, seconds: f64) {
        if seconds <= 0.0 {
            return;
        }
        let x = qty / seconds;
        self.rate = Some(match self.rate {
            None => x,
            Some(r) => self.alpha * x + (1.0 - self.alpha) * r,
        });
    }

    /// The rate to plan with: the forecast, or `planned` (e.g. from the production
    /// schedule) where that is higher: a line about to speed up needs the larger cover.
    pub fn planning_rate(&self, planned: f64) -> f64 {
        self.rate.unwrap_or(0.0).max(planned)
    }
}

/// Seconds until `on_hand` runs out at `rate` units per second (`None` if it never does).
pub fn seconds_to_stock_out(on_hand: f64, rate: f64) -> Option<f64> {
    if rate <= 0.0 {
        None
    } else {
        Some((on_hand / rate).max(0.0))
    }
}
