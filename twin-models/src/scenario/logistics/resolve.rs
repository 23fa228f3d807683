//! Resolves a line's `outfeed` and `materials` against the fleet's locations and the
//! stocked materials.

use super::file::{MaterialFile, OutfeedFile};
use super::model::{Material, Outfeed};
use crate::scenario::check::{Checker, Seg, at, i, k};
use crate::scenario::fleet::model::Places;
use crate::scenario::fleet::{Fleet, LocationKind};
use crate::scenario::stock::Stock;

/// Resolves a line's `outfeed` and `materials` against the fleet's locations.
///
/// `line` names the line, whose stations are `stations` in flow order; a material comes
/// from a stocked material when one is kept at its `from` place.
#[allow(
    clippy::too_many_arguments,
    reason = "the line's parts and the places it draws on"
)]
pub(crate) fn resolve_logistics(
    c: &mut Checker<'_>,
    base: &[Seg],
    line: &str,
    outfeed: Option<&OutfeedFile>,
    materials: &[MaterialFile],
    stations: &[&str],
    fleet: Option<&Fleet>,
    stock: &[Stock],
) -> (Option<Outfeed>, Vec<Material>) {
    let mut out = (None, Vec::new());
    if outfeed.is_none() && materials.is_empty() {
        return out;
    }
    let Some(fleet) = fleet else {
        c.fail(
            base,
            "an outfeed or materials need a [fleet] and a [layout] to move them",
        );
        return out;
    };
    let places = Places {
        locations: &fleet.locations,
        groups: &fleet.groups,
    };
    let spot_of = |c: &mut Checker<'_>, path: &[Seg], name: &str, kind: LocationKind| match fleet
        .locations
        .get(name)
    {
        Some(l) if l.kind == kind => Some(l.spot),
        Some(l) => {
            c.fail(
                path,
                format!(
                    "`{name}` is a {:?} location; a {kind:?} location is needed",
                    l.kind
                ),
            );
            None
        }
        None => {
            c.fail(path, format!("no location is named `{name}`"));
            None
        }
    };
    if let Some(o) = outfeed {
        let p = at(base, &[k("outfeed")]);
        let spot = spot_of(c, &at(&p, &[k("at")]), &o.at, LocationKind::Outfeed);
        let to = places.resolve(c, &at(&p, &[k("to")]), &o.to);
        if o.units_per_pallet == 0 {
            c.fail(&at(&p, &[k("units_per_pallet")]), "must be at least 1");
        }
        if o.positions == 0 {
            c.fail(&at(&p, &[k("positions")]), "must be at least 1");
        }
        let due = o
            .due
            .as_ref()
            .and_then(|d| c.duration(&at(&p, &[k("due")]), d));
        if let (Some(spot), Some(to)) = (spot, to) {
            out.0 = Some(Outfeed {
                spot,
                units_per_pallet: o.units_per_pallet.max(1),
                positions: o.positions.max(1),
                to,
                priority: o.priority.unwrap_or(2),
                due,
            });
        }
    }
    for (mi, m) in materials.iter().enumerate() {
        let p = at(base, &[k("materials"), i(mi)]);
        let station = stations.iter().position(|s| *s == m.station);
        if station.is_none() {
            c.fail(
                &at(&p, &[k("station")]),
                format!("station `{}` is not in line `{line}`", m.station),
            );
        }
        let per_unit = m.per_unit.unwrap_or(1.0);
        c.positive(&at(&p, &[k("per_unit")]), per_unit, "per_unit");
        c.positive(&at(&p, &[k("load")]), m.load, "the load (units)");
        c.at_least_zero(&at(&p, &[k("trigger")]), m.trigger, "the trigger (units)");
        // Falling to the trigger calls every load it takes to be above it again, at once.
        if m.load > 0.0 && m.trigger / m.load > super::model::MAX_LOADS_AT_ONCE {
            c.fail(
                &at(&p, &[k("trigger")]),
                format!(
                    "a trigger of {} units is {:.3e} loads of {}: more than the {} loads a line may call at once",
                    m.trigger,
                    m.trigger / m.load,
                    m.load,
                    super::model::MAX_LOADS_AT_ONCE
                ),
            );
        }
        let initial = m.initial.unwrap_or(m.trigger + m.load);
        c.at_least_zero(
            &at(&p, &[k("initial")]),
            initial,
            "the initial stock (units)",
        );
        let spot = spot_of(c, &at(&p, &[k("at")]), &m.at, LocationKind::LineSide);
        let from = places.resolve(c, &at(&p, &[k("from")]), &m.from);
        let due = m
            .due
            .as_ref()
            .and_then(|d| c.duration(&at(&p, &[k("due")]), d));
        if let (Some(station), Some(spot), Some(from)) = (station, spot, from) {
            out.1.push(Material {
                name: m.name.clone(),
                station,
                per_unit,
                load: m.load,
                trigger: m.trigger,
                initial,
                spot,
                from,
                priority: m.priority.unwrap_or(3),
                due,
                stock: stock
                    .iter()
                    .position(|s| s.material == m.name && s.at == m.from),
            });
        }
    }
    out
}
