//! Resolves `[[sites]]` and `[[lanes]]`.

use super::file::{LaneFile, SiteFile};
use super::model::*;
use crate::scenario::check::{Checker, at, i, k};
use crate::scenario::stock::resolve::resolve_policy;
use sim::SimDuration;

/// Resolves `[[sites]]` and `[[lanes]]`; `None` when there are no sites.
pub(crate) fn resolve_network(
    c: &mut Checker<'_>,
    sites: &[SiteFile],
    lanes: &[LaneFile],
    line_names: &[String],
) -> Option<Network> {
    if sites.is_empty() {
        if !lanes.is_empty() {
            c.fail(&[k("lanes")], "lanes join [[sites]]; the scenario has none");
        }
        return None;
    }
    let mut net = Network::default();
    let mut line_owner: Vec<Option<String>> = vec![None; line_names.len()];
    for (si, s) in sites.iter().enumerate() {
        let p = [k("sites"), i(si)];
        if net.sites.iter().any(|o| o.name == s.name) {
            c.fail(
                &at(&p, &[k("name")]),
                format!("site `{}` is defined twice", s.name),
            );
        }
        let initial = s.initial.unwrap_or(0.0);
        if !(initial.is_finite() && initial >= 0.0) {
            c.fail(
                &at(&p, &[k("initial")]),
                format!("must be 0 or more pallets, not {initial}"),
            );
        }
        let mut site = Site {
            name: s.name.clone(),
            kind: s.kind,
            region: s.region.clone().unwrap_or_default(),
            product: s.product.clone(),
            initial,
            lines: Vec::new(),
            units_per_pallet: 1,
            policy: None,
            demand: None,
            supply: None,
        };
        match s.kind {
            SiteKind::Plant => {
                for (n, name) in s.lines.iter().enumerate() {
                    let lp = at(&p, &[k("lines"), i(n)]);
                    match line_names.iter().position(|l| l == name) {
                        None => c.fail(&lp, format!("no line is named `{name}`")),
                        Some(l) => {
                            if let Some(other) = &line_owner[l] {
                                c.fail(
                                    &lp,
                                    format!("line `{name}` already belongs to site `{other}`"),
                                );
                            }
                            line_owner[l] = Some(s.name.clone());
                            site.lines.push(l);
                        }
                    }
                }
                if s.lines.is_empty() {
                    c.fail(
                        &at(&p, &[k("lines")]),
                        "a plant needs at least one line to make its goods",
                    );
                }
                match s.units_per_pallet {
                    Some(0) | None => c.fail(
                        &at(&p, &[k("units_per_pallet")]),
                        "a plant needs units_per_pallet (at least 1) to turn its lines' output into pallets",
                    ),
                    Some(u) => site.units_per_pallet = u,
                }
                for (field, given) in [
                    ("policy", s.policy.is_some()),
                    ("demand", s.demand.is_some()),
                ] {
                    if given {
                        c.fail(&at(&p, &[k(field)]), "only a dc takes this");
                    }
                }
            }
            SiteKind::Dc => {
                if !s.lines.is_empty() {
                    c.fail(
                        &at(&p, &[k("lines")]),
                        "a dc has no lines; only a plant does",
                    );
                }
                match &s.policy {
                    Some(pf) => {
                        let (policy, _) = resolve_policy(c, &at(&p, &[k("policy")]), pf);
                        site.policy = Some(policy);
                    }
                    None => c.fail(&at(&p, &[k("policy")]), "a dc needs a replenishment policy"),
                }
                if let Some(d) = &s.demand {
                    let dp = at(&p, &[k("demand")]);
                    let every = c.distribution(&at(&dp, &[k("every")]), &d.every);
                    if !(d.qty.is_finite() && d.qty > 0.0) {
                        c.fail(
                            &at(&dp, &[k("qty")]),
                            format!("must be a positive number of pallets, not {}", d.qty),
                        );
                    }
                    let due = match &d.due {
                        Some(t) => c.duration(&at(&dp, &[k("due")]), t),
                        None => Some(SimDuration::ZERO),
                    };
                    if let (Some(every), Some(due)) = (every, due) {
                        site.demand = Some(Demand {
                            every,
                            qty: d.qty,
                            due,
                        });
                    }
                }
            }
        }
        net.sites.push(site);
    }
    for (li, l) in lanes.iter().enumerate() {
        let p = [k("lanes"), i(li)];
        let find = |c: &mut Checker<'_>, field: &str, name: &str, kind: SiteKind| match net
            .sites
            .iter()
            .position(|s| s.name == name)
        {
            None => {
                c.fail(&at(&p, &[k(field)]), format!("no site is named `{name}`"));
                None
            }
            Some(s) if net.sites[s].kind != kind => {
                c.fail(
                    &at(&p, &[k(field)]),
                    format!(
                        "`{name}` is a {:?}; a lane runs from a plant to a dc",
                        net.sites[s].kind
                    ),
                );
                None
            }
            Some(s) => Some(s),
        };
        let from = find(c, "from", &l.from, SiteKind::Plant);
        let to = find(c, "to", &l.to, SiteKind::Dc);
        let lead_time = c.distribution(&at(&p, &[k("lead_time")]), &l.lead_time);
        if !(l.truck.is_finite() && l.truck > 0.0) {
            c.fail(
                &at(&p, &[k("truck")]),
                format!("must be a positive number of pallets, not {}", l.truck),
            );
        }
        if let (Some(from), Some(to)) = (from, to) {
            if net.sites[from].product != net.sites[to].product {
                c.fail(
                    &p,
                    format!(
                        "`{}` makes {} but `{}` holds {}: a lane carries one product",
                        l.from, net.sites[from].product, l.to, net.sites[to].product
                    ),
                );
            }
            if net.sites[to].supply.is_some() {
                c.fail(
                    &at(&p, &[k("to")]),
                    format!("`{}` already has a lane supplying it", l.to),
                );
            }
            net.sites[to].supply = Some(net.lanes.len());
            if let Some(lead_time) = lead_time {
                net.lanes.push(Lane {
                    from,
                    to,
                    lead_time,
                    truck: l.truck,
                });
            }
        }
    }
    for (si, s) in net.sites.iter().enumerate() {
        if s.kind == SiteKind::Dc && s.supply.is_none() {
            c.fail(
                &[k("sites"), i(si)],
                format!("dc `{}` has no lane supplying it", s.name),
            );
        }
    }
    Some(net)
}
