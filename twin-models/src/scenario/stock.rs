//! `[[stock]]`: materials held in the warehouse (or any location or group the fleet serves),
//! each with a replenishment policy and a supplier lead time. Lines whose material loads
//! come `from` that place draw on the stock; when it cannot serve a call, the call waits
//! for the next supplier receipt.

use super::fleet::Fleet;
use super::resolve::{Checker, Seg, at, i, k};
use crate::distribution::Distribution;
use orchestrator::replenish::Policy;
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

/// A stocked material, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Stock {
    /// Material name.
    pub material: String,
    /// The location or group name it is held at.
    pub at: String,
    /// Units on hand at the start.
    pub initial: f64,
    /// Supplier lead time.
    pub lead_time: Distribution,
    /// Replenishment policy, in units.
    pub policy: Policy,
    /// Smoothing weight of the consumption forecast.
    pub alpha: f64,
}

/// Resolves `[[stock]]` against the fleet's places; a stock needs a fleet to move it.
pub(super) fn resolve_stock(
    c: &mut Checker<'_>,
    raw: &[StockFile],
    fleet: Option<&Fleet>,
) -> Vec<Stock> {
    let mut out: Vec<Stock> = Vec::new();
    for (si, s) in raw.iter().enumerate() {
        let p = [k("stock"), i(si)];
        let Some(fleet) = fleet else {
            c.fail(&p, "a stock needs a [fleet] and a [layout] to move it");
            continue;
        };
        if !fleet.locations.contains_key(&s.at) && !fleet.groups.contains_key(&s.at) {
            c.fail(
                &at(&p, &[k("at")]),
                format!("no location or group is named `{}`", s.at),
            );
        }
        if out.iter().any(|o| o.material == s.material && o.at == s.at) {
            c.fail(
                &p,
                format!("`{}` at `{}` is stocked twice", s.material, s.at),
            );
        }
        nonnegative(c, &at(&p, &[k("initial")]), s.initial);
        let lead_time = c.distribution(&at(&p, &[k("lead_time")]), &s.lead_time);
        let (policy, alpha) = resolve_policy(c, &at(&p, &[k("policy")]), &s.policy);
        if let Some(lead_time) = lead_time {
            out.push(Stock {
                material: s.material.clone(),
                at: s.at.clone(),
                initial: s.initial,
                lead_time,
                policy,
                alpha,
            });
        }
    }
    out
}

/// A policy as written, checked: the policy and its forecast's smoothing weight.
pub(super) fn resolve_policy(c: &mut Checker<'_>, pp: &[Seg], pf: &PolicyFile) -> (Policy, f64) {
    let mut alpha = 0.3;
    let policy = match pf {
        PolicyFile::ReorderPoint { reorder_at, lot } => {
            nonnegative(c, &at(pp, &[k("reorder_at")]), *reorder_at);
            positive(c, &at(pp, &[k("lot")]), *lot);
            Policy::ReorderPoint {
                reorder_at: *reorder_at,
                lot: *lot,
            }
        }
        PolicyFile::OrderUpTo {
            reorder_at,
            order_up_to,
        } => {
            nonnegative(c, &at(pp, &[k("reorder_at")]), *reorder_at);
            if !(order_up_to.is_finite() && order_up_to > reorder_at) {
                c.fail(
                    &at(pp, &[k("order_up_to")]),
                    format!(
                        "must be above reorder_at ({reorder_at}), not {order_up_to}: an order must lift the position over the reorder point"
                    ),
                );
            }
            Policy::OrderUpTo {
                reorder_at: *reorder_at,
                order_up_to: *order_up_to,
            }
        }
        PolicyFile::Kanban { bins, bin_size } => {
            if *bins == 0 {
                c.fail(&at(pp, &[k("bins")]), "must be at least 1");
            }
            positive(c, &at(pp, &[k("bin_size")]), *bin_size);
            Policy::Kanban {
                bins: *bins,
                bin_size: *bin_size,
            }
        }
        PolicyFile::ForecastCover {
            reorder_cover,
            cover,
            alpha: a,
        } => {
            let r = c.duration(&at(pp, &[k("reorder_cover")]), reorder_cover);
            let cv = c.duration(&at(pp, &[k("cover")]), cover);
            if let (Some(r), Some(cv)) = (r, cv)
                && cv <= r
            {
                c.fail(
                    &at(pp, &[k("cover")]),
                    format!("must be longer than reorder_cover ({reorder_cover})"),
                );
            }
            if let Some(a) = a {
                if !(*a > 0.0 && *a <= 1.0) {
                    c.fail(
                        &at(pp, &[k("alpha")]),
                        format!("must be in (0, 1], not {a}"),
                    );
                }
                alpha = *a;
            }
            Policy::ForecastCover {
                reorder_cover_s: r.map_or(0.0, |d| d.as_secs_f64()),
                cover_s: cv.map_or(0.0, |d| d.as_secs_f64()),
            }
        }
    };
    (policy, alpha)
}

fn positive(c: &mut Checker<'_>, path: &[Seg], x: f64) {
    if !(x.is_finite() && x > 0.0) {
        c.fail(path, format!("must be a positive number of units, not {x}"));
    }
}

fn nonnegative(c: &mut Checker<'_>, path: &[Seg], x: f64) {
    if !(x.is_finite() && x >= 0.0) {
        c.fail(path, format!("must be 0 or more units, not {x}"));
    }
}
