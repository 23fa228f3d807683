//! Resolves `[[stock]]` against the fleet's places, with each material's policy.

use super::file::{PolicyFile, StockFile};
use super::model::Stock;
use crate::scenario::check::{Checker, Seg, at, i, k};
use crate::scenario::fleet::Fleet;
use orchestrator::replenish::Policy;

/// Resolves `[[stock]]` against the fleet's places; a stock needs a fleet to move it.
pub(crate) fn resolve_stock(
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
        c.at_least_zero(
            &at(&p, &[k("initial")]),
            s.initial,
            "the initial stock (units)",
        );
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
pub(crate) fn resolve_policy(c: &mut Checker<'_>, pp: &[Seg], pf: &PolicyFile) -> (Policy, f64) {
    let mut alpha = 0.3;
    let policy = match pf {
        PolicyFile::ReorderPoint { reorder_at, lot } => {
            c.at_least_zero(
                &at(pp, &[k("reorder_at")]),
                *reorder_at,
                "the reorder level (units)",
            );
            c.positive(&at(pp, &[k("lot")]), *lot, "the lot (units)");
            Policy::ReorderPoint {
                reorder_at: *reorder_at,
                lot: *lot,
            }
        }
        PolicyFile::OrderUpTo {
            reorder_at,
            order_up_to,
        } => {
            c.at_least_zero(
                &at(pp, &[k("reorder_at")]),
                *reorder_at,
                "the reorder level (units)",
            );
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
            c.positive(&at(pp, &[k("bin_size")]), *bin_size, "the bin size (units)");
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
