//! Resolves `[layout]`, `[fleet]` and `[[tasks]]`.

use super::file::*;
use super::model::*;
use crate::scenario::check::{Checker, FileReader, at, i, k};
use orchestrator::DispatchPolicy;
use sim::SimDuration;
use std::collections::BTreeMap;
use traffic::mapf::GridMap;
use traffic::{Coordination, Lane, Layout, Waypoint};

fn grid_text(g: &str) -> String {
    if g.trim_start().starts_with("type") {
        return g.to_string();
    }
    let rows: Vec<&str> = g.lines().map(str::trim).filter(|r| !r.is_empty()).collect();
    let width = rows.first().map_or(0, |r| r.chars().count());
    format!(
        "type octile\nheight {}\nwidth {width}\nmap\n{}\n",
        rows.len(),
        rows.join("\n")
    )
}

fn resolve_layout(c: &mut Checker<'_>, lf: &LayoutFile, files: FileReader<'_>) -> Option<Layout> {
    let base = [k("layout")];
    if !c.positive(&at(&base, &[k("cell")]), lf.cell, "the cell size (metres)") {
        return None;
    }
    let lanes_given = !lf.waypoints.is_empty() || !lf.lanes.is_empty();
    let grid = match (&lf.map, &lf.grid, lanes_given) {
        (Some(m), None, false) => match files(m) {
            Ok(t) => Some((t, k("map"))),
            Err(e) => {
                c.fail(&at(&base, &[k("map")]), format!("cannot read `{m}`: {e}"));
                return None;
            }
        },
        (None, Some(g), false) => Some((grid_text(g), k("grid"))),
        (None, None, true) => None,
        _ => {
            c.fail(
                &base,
                "give exactly one of `map` (a MovingAI file), `grid` (inline rows) or `waypoints` with `lanes`",
            );
            return None;
        }
    };
    let built = match grid {
        Some((text, field)) => match GridMap::parse(&text) {
            Ok(map) => Layout::from_grid(&map, lf.cell),
            Err(e) => {
                c.fail(&at(&base, &[field]), format!("not a grid map: {e}"));
                return None;
            }
        },
        None => {
            let w: Vec<Waypoint> = lf
                .waypoints
                .iter()
                .map(|w| Waypoint {
                    name: w.name.clone(),
                    x: w.x,
                    y: w.y,
                })
                .collect();
            let l: Vec<Lane> = lf
                .lanes
                .iter()
                .map(|l| Lane {
                    from: l.from.clone(),
                    to: l.to.clone(),
                    two_way: l.two_way.unwrap_or(true),
                    speed_limit: l.speed_limit,
                })
                .collect();
            Layout::from_lanes(&w, &l, lf.cell)
        }
    };
    match built {
        Ok(l) => Some(l),
        Err(e) => {
            c.fail(&base, e.to_string());
            None
        }
    }
}

/// Resolves `[layout]`, `[fleet]` and `[[tasks]]`; `None` when there is no fleet.
pub(crate) fn resolve_fleet(
    c: &mut Checker<'_>,
    layout: Option<&LayoutFile>,
    fleet: Option<&FleetFile>,
    raw_tasks: &[TaskFile],
    files: FileReader<'_>,
) -> Option<Fleet> {
    let (lf, ff) = match (layout, fleet) {
        (None, None) => {
            if !raw_tasks.is_empty() {
                c.fail(&[k("tasks")], "tasks need a [fleet] and a [layout]");
            }
            return None;
        }
        (Some(l), Some(f)) => (l, f),
        (None, Some(_)) => {
            c.fail(&[k("fleet")], "a fleet needs a [layout] to drive on");
            return None;
        }
        (Some(_), None) => {
            c.fail(&[k("layout")], "a layout needs a [fleet] to use it");
            return None;
        }
    };
    let mut layout = resolve_layout(c, lf, files)?;
    let mut locations = BTreeMap::new();
    let mut groups: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let (mut parking, mut chargers) = (Vec::new(), Vec::new());
    let mut taken: BTreeMap<u32, String> = BTreeMap::new();
    for (li, loc) in lf.locations.iter().enumerate() {
        let p = [k("layout"), k("locations"), i(li)];
        let spots: Result<Vec<(String, u32)>, String> = match (&loc.at, &loc.waypoint, &loc.area) {
            (Some([x, y]), None, None) => layout
                .grid_spot(*x, *y)
                .map(|s| vec![(loc.name.clone(), s)])
                .map_err(|e| e.to_string()),
            (None, Some(w), None) => layout
                .spot(w)
                .map(|s| vec![(loc.name.clone(), s)])
                .ok_or_else(|| format!("no waypoint is named `{w}`")),
            (None, None, Some([x0, y0, x1, y1])) => {
                // Only cells of the map are looked at: an area far outside it would
                // otherwise cost time in proportion to its size.
                let within = layout
                    .grid_size()
                    .is_some_and(|(w, h)| x0 <= x1 && y0 <= y1 && *x1 < w && *y1 < h);
                if !within {
                    let reason = match layout.grid_size() {
                        Some((w, h)) => format!(
                            "the area [{x0}, {y0}, {x1}, {y1}] is not within the map, columns 0 to {} and rows 0 to {}, with x0 ≤ x1 and y0 ≤ y1",
                            w.saturating_sub(1),
                            h.saturating_sub(1)
                        ),
                        None => "an area needs a grid map (this layout has waypoints: list them)"
                            .to_string(),
                    };
                    c.fail(&at(&p, &[k("area")]), reason);
                    continue;
                }
                let cells: Vec<u32> = (*y0..=*y1)
                    .flat_map(|y| (*x0..=*x1).map(move |x| (x, y)))
                    .filter_map(|(x, y)| layout.grid_spot(x, y).ok())
                    .collect();
                if cells.is_empty() {
                    Err("the area holds no free cell".to_string())
                } else {
                    Ok(cells
                        .into_iter()
                        .enumerate()
                        .map(|(n, s)| (format!("{}-{n}", loc.name), s))
                        .collect())
                }
            }
            _ => Err(
                "give exactly one of `at` = [column, row], `waypoint` or `area` = [x0, y0, x1, y1]"
                    .to_string(),
            ),
        };
        let spots = match spots {
            Ok(s) => s,
            Err(e) => {
                c.fail(&p, e);
                continue;
            }
        };
        for (name, spot) in spots {
            if let Some(other) = taken.insert(spot, name.clone()) {
                c.fail(&p, format!("`{name}` is on the same spot as `{other}`"));
            }
            if locations
                .insert(
                    name.clone(),
                    Location {
                        spot,
                        kind: loc.kind,
                    },
                )
                .is_some()
            {
                c.fail(
                    &at(&p, &[k("name")]),
                    format!("location `{name}` is defined twice"),
                );
            }
            if loc.waypoint.is_none() && layout.name_spot(&name, spot).is_err() {
                c.fail(&at(&p, &[k("name")]), format!("`{name}` is already a name"));
            }
            if let Some(g) = &loc.group {
                groups.entry(g.clone()).or_default().push(spot);
            }
            match loc.kind {
                LocationKind::Parking => parking.push(spot),
                LocationKind::Charger => chargers.push(spot),
                _ => {}
            }
        }
    }
    if !layout.strongly_connected() {
        c.fail(
            &[k("layout")],
            "some spots cannot be reached from others (check one-way lanes and walls): a vehicle could be trapped",
        );
    }

    let fb = [k("fleet")];
    let mut types = Vec::new();
    let mut vehicles = Vec::new();
    for (ti, t) in ff.vehicles.iter().enumerate() {
        let p = at(&fb, &[k("vehicles"), i(ti)]);
        c.positive(&at(&p, &[k("speed")]), t.speed, "the speed (m/s)");
        let [w, l] = t.footprint;
        if c.positive(&at(&p, &[k("footprint")]), w.min(l), "footprint sizes (m)")
            && w + l > lf.cell + 1e-9
        {
            c.fail(
                &at(&p, &[k("footprint")]),
                format!(
                    "width + length ({:.2} m) exceeds the cell ({:.2} m): vehicles following each other round a corner would touch; use a larger `layout.cell`",
                    w + l,
                    lf.cell
                ),
            );
        }
        let speed_loaded = t.speed_loaded.unwrap_or(t.speed);
        c.positive(
            &at(&p, &[k("speed_loaded")]),
            speed_loaded,
            "the loaded speed (m/s)",
        );
        if let Some(a) = t.acceleration {
            c.positive(&at(&p, &[k("acceleration")]), a, "the acceleration (m/s²)");
        }
        let capacity = t.capacity.unwrap_or(1);
        if capacity == 0 {
            c.fail(&at(&p, &[k("capacity")]), "must be at least 1 load");
        }
        let load_time = c.duration(&at(&p, &[k("load_time")]), &t.load_time);
        let unload_time = c.duration(&at(&p, &[k("unload_time")]), &t.unload_time);
        let battery = t.battery.as_ref().map(|b| {
            let bp = at(&p, &[k("battery")]);
            for (name, x) in [("capacity_kwh", b.capacity_kwh), ("charge_kw", b.charge_kw)] {
                c.positive(&at(&bp, &[k(name)]), x, name);
            }
            for (name, x) in [
                ("empty_wh_per_m", b.empty_wh_per_m),
                ("loaded_wh_per_m", b.loaded_wh_per_m),
                ("standby_kw", b.standby_kw.unwrap_or(0.0)),
            ] {
                if !(x.is_finite() && x >= 0.0) {
                    c.fail(&at(&bp, &[k(name)]), format!("must be 0 or more, not {x}"));
                }
            }
            let until = b.charge_until.unwrap_or(0.95);
            let initial = b.initial.unwrap_or(1.0);
            c.fraction(&at(&bp, &[k("charge_below")]), b.charge_below);
            c.fraction(&at(&bp, &[k("charge_until")]), until);
            c.fraction(&at(&bp, &[k("initial")]), initial);
            if until <= b.charge_below {
                c.fail(
                    &at(&bp, &[k("charge_until")]),
                    "must be above `charge_below`",
                );
            }
            Battery {
                capacity_wh: b.capacity_kwh * 1000.0,
                empty_wh_per_m: b.empty_wh_per_m,
                loaded_wh_per_m: b.loaded_wh_per_m,
                standby_w: b.standby_kw.unwrap_or(0.0) * 1000.0,
                charge_w: b.charge_kw * 1000.0,
                charge_below: b.charge_below,
                charge_until: until,
                initial,
            }
        });
        if battery.is_some() && chargers.is_empty() {
            c.fail(
                &at(&p, &[k("battery")]),
                "vehicles with batteries need at least one location of kind \"charger\"",
            );
        }
        let failures = t
            .failures
            .iter()
            .enumerate()
            .filter_map(|(fi, f)| {
                crate::scenario::failure::failure_mode(c, &at(&p, &[k("failures"), i(fi)]), f)
            })
            .collect();
        let maintenance = t.maintenance.as_ref().and_then(|m| {
            let mp = at(&p, &[k("maintenance")]);
            let every = c.duration(&at(&mp, &[k("every")]), &m.every)?;
            let takes = c.duration(&at(&mp, &[k("takes")]), &m.takes)?;
            if every <= takes {
                c.fail(
                    &at(&mp, &[k("every")]),
                    "must be longer than the service (`takes`)",
                );
                return None;
            }
            Some((every, takes))
        });
        vehicles.extend(std::iter::repeat_n(types.len(), t.count as usize));
        types.push(VehicleType {
            name: t.name.clone(),
            speed: t.speed,
            speed_loaded,
            acceleration: t.acceleration.unwrap_or(f64::INFINITY),
            footprint: (w, l),
            capacity: capacity.max(1),
            load_time: load_time.unwrap_or_default(),
            unload_time: unload_time.unwrap_or_default(),
            battery,
            failures,
            maintenance,
        });
    }
    if vehicles.is_empty() {
        c.fail(
            &at(&fb, &[k("vehicles")]),
            "a fleet needs at least one vehicle",
        );
    }
    if parking.len() < vehicles.len() {
        c.fail(
            &[k("layout"), k("locations")],
            format!(
                "{} vehicles need as many locations of kind \"parking\" (they start there); there are {}",
                vehicles.len(),
                parking.len()
            ),
        );
    }
    let mut wait = |name: &str, text: &Option<String>, default_s: u64| match text {
        Some(d) => c.duration(&at(&fb, &[k(name)]), d).unwrap_or_default(),
        None => SimDuration::from_secs(default_s),
    };
    let deadlock_after = wait("deadlock_after", &ff.deadlock_after, 30);
    let stall_after = wait("stall_after", &ff.stall_after, 600);
    let lateness_weight = ff.lateness_weight.unwrap_or(1.0);
    c.at_least_zero(
        &at(&fb, &[k("lateness_weight")]),
        lateness_weight,
        "the lateness weight",
    );
    let fastest = types
        .iter()
        .map(|t| t.speed.max(t.speed_loaded))
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold(0.0, f64::max);
    let fastest = if fastest > 0.0 { fastest } else { 1.0 };
    let step = SimDuration((lf.cell / fastest * 1e9).round().max(1.0) as u64);

    let places = Places {
        locations: &locations,
        groups: &groups,
    };
    let mut tasks = Vec::new();
    for (ti, t) in raw_tasks.iter().enumerate() {
        let p = [k("tasks"), i(ti)];
        let from = places.resolve(c, &at(&p, &[k("from")]), &t.from);
        let to = places.resolve(c, &at(&p, &[k("to")]), &t.to);
        let first = match &t.at {
            Some(a) => c.duration(&at(&p, &[k("at")]), a),
            None => Some(SimDuration::ZERO),
        };
        let every = match (&t.every, t.per_hour) {
            (Some(_), Some(_)) => {
                c.fail(
                    &at(&p, &[k("per_hour")]),
                    "give `every` or `per_hour`, not both",
                );
                None
            }
            (Some(e), None) => c.distribution(&at(&p, &[k("every")]), e),
            (None, Some(r)) => c
                .positive(&at(&p, &[k("per_hour")]), r, "the flow (loads per hour)")
                .then_some(crate::distribution::Distribution::Exponential { mean: 3600.0 / r }),
            (None, None) => None,
        };
        if every.as_ref().is_some_and(|e| e.mean_secs() <= 0.0) {
            c.fail(
                &at(
                    &p,
                    &[k(if t.per_hour.is_some() {
                        "per_hour"
                    } else {
                        "every"
                    })],
                ),
                "the time between creations must be longer than zero",
            );
        }
        let due = t
            .due
            .as_ref()
            .and_then(|d| c.duration(&at(&p, &[k("due")]), d));
        if let (Some(from), Some(to), Some(first)) = (from, to, first) {
            tasks.push(ListedTask {
                name: t.name.clone(),
                from,
                to,
                first,
                every,
                random_start: t.per_hour.is_some(),
                loads: t.loads.unwrap_or(1),
                priority: t.priority.unwrap_or(1),
                due,
            });
        }
    }
    if ff.coordination == Some(CoordinationFile::Mode(CoordinationMode::Highways))
        && layout.grid_size().is_none()
    {
        c.fail(
            &[k("fleet"), k("coordination")],
            "\"highways\" runs along a grid's rows and columns: this layout is a waypoint graph (give `map` or `grid`)",
        );
    }
    Some(Fleet {
        layout,
        locations,
        groups,
        step,
        dispatch: match ff.dispatch {
            Some(DispatchFile::Optimal) => DispatchPolicy::Optimal,
            Some(DispatchFile::EarliestDue) => DispatchPolicy::EarliestDue,
            Some(DispatchFile::MinEmptyTravel) => DispatchPolicy::MinEmptyTravel,
            Some(DispatchFile::NearestIdle) | None => DispatchPolicy::NearestIdle,
        },
        lateness_weight,
        idle: match ff.idle {
            None | Some(IdleFile::Stay) => IdlePolicy::Stay,
            Some(IdleFile::Home) => IdlePolicy::Home,
            Some(IdleFile::Rebalance) => IdlePolicy::Rebalance,
        },
        coordination: match ff.coordination {
            None
            | Some(CoordinationFile::Switch(true))
            | Some(CoordinationFile::Mode(CoordinationMode::Planned)) => Coordination::Planned,
            Some(CoordinationFile::Mode(CoordinationMode::Blocking)) => Coordination::Blocking,
            Some(CoordinationFile::Mode(CoordinationMode::Highways)) => Coordination::Highways,
            Some(CoordinationFile::Switch(false))
            | Some(CoordinationFile::Mode(CoordinationMode::Off)) => Coordination::Off,
        },
        deadlock_after,
        stall_after,
        types,
        vehicles,
        parking,
        chargers,
        tasks,
    })
}
