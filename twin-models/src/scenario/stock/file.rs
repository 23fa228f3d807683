//! A stocked material and its policy, as written.

use schemars::JsonSchema;
use serde::Deserialize;

/// A stocked material, as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StockFile {
    /// Material name, as the lines' `materials` call it.
    pub material: String,
    /// Where it is held: a location or group name, as in the lines' material `from`.
    pub at: String,
    /// Units on hand at the start.
    pub initial: f64,
    /// Supplier lead time from order to receipt, a distribution (e.g. "tri(4h, 8h, 16h)").
    pub lead_time: String,
    /// How it is replenished.
    pub policy: PolicyFile,
}

/// A replenishment policy, as written (`kind` picks it).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PolicyFile {
    /// (s, Q): at `reorder_at` or below (inventory position), order lots of `lot`.
    ReorderPoint {
        /// s, units.
        reorder_at: f64,
        /// Q, units.
        lot: f64,
    },
    /// (s, S): at `reorder_at` or below, order up to `order_up_to`.
    OrderUpTo {
        /// s, units.
        reorder_at: f64,
        /// S, units.
        order_up_to: f64,
    },
    /// Kanban: `bins` bins of `bin_size` units circulate; each emptied bin is reordered.
    Kanban {
        /// Bins in the loop.
        bins: u32,
        /// Units per bin.
        bin_size: f64,
    },
    /// Forecast cover: when the position covers less than `reorder_cover` of the forecast
    /// consumption (exponential smoothing of hourly withdrawals, α = `alpha`), order up to
    /// `cover`.
    ForecastCover {
        /// e.g. "24h".
        reorder_cover: String,
        /// e.g. "48h".
        cover: String,
        /// Smoothing weight of the newest hour, 0 < α ≤ 1. Default 0.3.
        #[serde(default)]
        alpha: Option<f64>,
    },
}
