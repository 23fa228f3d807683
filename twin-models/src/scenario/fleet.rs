//! Stage two for the plant floor, the fleet, listed tasks and the lines' logistics: the
//! resolved model and the checks that build it.

use super::file::*;
use super::model::Line;
use super::resolve::{Checker, Seg, at, i, k};
use orchestrator::mapf::GridMap;
use orchestrator::{DispatchPolicy, Lane, Layout, Waypoint};
use sim::SimDuration;
use std::collections::BTreeMap;

pub use super::file::LocationKind;

/// The fleet and the floor it drives on.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The floor.
    pub layout: Layout,
    /// Named locations.
    pub locations: BTreeMap<String, Location>,
    /// Groups of locations (e.g. "warehouse"), by name.
    pub groups: BTreeMap<String, Vec<u32>>,
    /// Time of one traffic step: a cell at the fastest vehicle's speed.
    pub step: SimDuration,
    /// How tasks are given to vehicles.
    pub dispatch: DispatchPolicy,
    /// Central traffic coordination (off only to demonstrate the safety monitor).
    pub coordinated: bool,
    /// No progress for this long counts as a deadlock.
    pub deadlock_after: SimDuration,
    /// Vehicle types.
    pub types: Vec<VehicleType>,
    /// Type of each vehicle.
    pub vehicles: Vec<usize>,
    /// Parking spots; vehicle `v` starts on and returns to `parking[v]`.
    pub parking: Vec<u32>,
    /// Charger spots.
    pub chargers: Vec<u32>,
    /// Tasks listed in the scenario.
    pub tasks: Vec<ListedTask>,
    /// Materials held in stock at the fleet's places.
    pub stock: Vec<super::stock::Stock>,
}

/// A named place.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    /// Its spot in the layout.
    pub spot: u32,
    /// What it is for.
    pub kind: LocationKind,
}

/// A vehicle type.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleType {
    /// Name.
    pub name: String,
    /// Travel speed empty, metres per second.
    pub speed: f64,
    /// Travel speed loaded, metres per second.
    pub speed_loaded: f64,
    /// Acceleration and braking, metres per second² (infinite: speed changes at once).
    pub acceleration: f64,
    /// Footprint (width, length), metres.
    pub footprint: (f64, f64),
    /// Loads carried at once.
    pub capacity: u32,
    /// Time to pick a load up.
    pub load_time: SimDuration,
    /// Time to set a load down.
    pub unload_time: SimDuration,
    /// Battery, if it needs charging.
    pub battery: Option<Battery>,
}

/// A battery, in watt-hours and watts.
#[derive(Debug, Clone, PartialEq)]
pub struct Battery {
    /// Capacity, watt-hours.
    pub capacity_wh: f64,
    /// Watt-hours per metre driven empty.
    pub empty_wh_per_m: f64,
    /// Watt-hours per metre driven loaded.
    pub loaded_wh_per_m: f64,
    /// Power drawn standing, watts.
    pub standby_w: f64,
    /// Charging power, watts.
    pub charge_w: f64,
    /// Go charging below this state of charge (fraction).
    pub charge_below: f64,
    /// Leave the charger at this state of charge (fraction).
    pub charge_until: f64,
    /// State of charge at the start (fraction).
    pub initial: f64,
}

/// A task from the scenario's list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedTask {
    /// Name.
    pub name: String,
    /// Pickup spots (the nearest is used).
    pub from: Vec<u32>,
    /// Drop-off spots (the nearest to the pickup is used).
    pub to: Vec<u32>,
    /// First creation time.
    pub first: SimDuration,
    /// Repeat interval.
    pub every: Option<SimDuration>,
    /// Loads each time.
    pub loads: u32,
    /// Higher is more urgent.
    pub priority: u32,
    /// Due this long after creation.
    pub due: Option<SimDuration>,
}

/// Finished pallets at a line's outfeed.
#[derive(Debug, Clone, PartialEq)]
pub struct Outfeed {
    /// Outfeed spot.
    pub spot: u32,
    /// Units per pallet.
    pub units_per_pallet: u64,
    /// Pallets that can wait there.
    pub positions: u32,
    /// Destination spots.
    pub to: Vec<u32>,
    /// Task priority.
    pub priority: u32,
    /// Due this long after the pallet is made.
    pub due: Option<SimDuration>,
}

/// A material a station uses, brought by the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct Material {
    /// Name.
    pub name: String,
    /// Station (index in flow order) that uses it.
    pub station: usize,
    /// Material units per unit taken.
    pub per_unit: f64,
    /// Units per vehicle load.
    pub load: f64,
    /// Call for a load at or below this stock plus loads on the way, units.
    pub trigger: f64,
    /// Stock at the start, units.
    pub initial: f64,
    /// Line-side spot.
    pub spot: u32,
    /// Source spots.
    pub from: Vec<u32>,
    /// Task priority.
    pub priority: u32,
    /// Due this long after the call.
    pub due: Option<SimDuration>,
    /// The stock (index into the fleet's) loads are drawn from; `None`: an unlimited
    /// source.
    pub stock: Option<usize>,
}

/// Reads a file the scenario names (a `.map`), relative to the scenario; the error is the
/// reason to report.
pub type FileReader<'a> = &'a dyn Fn(&str) -> Result<String, String>;

fn positive(c: &mut Checker<'_>, path: &[Seg], x: f64, what: &str) -> bool {
    let ok = x.is_finite() && x > 0.0;
    if !ok {
        c.fail(path, format!("{what} must be a positive number, not {x}"));
    }
    ok
}

fn fraction(c: &mut Checker<'_>, path: &[Seg], x: f64) {
    if !(0.0..=1.0).contains(&x) {
        c.fail(path, format!("must be a fraction between 0 and 1, not {x}"));
    }
}

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
    if !positive(
        c,
        &at(&base, &[k("cell")]),
        lf.cell,
        "the cell size (metres)",
    ) {
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
pub(super) fn resolve_fleet(
    c: &mut Checker<'_>,
    raw: &ScenarioFile,
    files: FileReader<'_>,
) -> Option<Fleet> {
    let (lf, ff) = match (&raw.layout, &raw.fleet) {
        (None, None) => {
            if !raw.tasks.is_empty() {
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
        positive(c, &at(&p, &[k("speed")]), t.speed, "the speed (m/s)");
        let [w, l] = t.footprint;
        if positive(
            c,
            &at(&p, &[k("footprint")]),
            w.min(l),
            "footprint sizes (m)",
        ) && w + l > lf.cell + 1e-9
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
        positive(
            c,
            &at(&p, &[k("speed_loaded")]),
            speed_loaded,
            "the loaded speed (m/s)",
        );
        if let Some(a) = t.acceleration {
            positive(
                c,
                &at(&p, &[k("acceleration")]),
                a,
                "the acceleration (m/s²)",
            );
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
                positive(c, &at(&bp, &[k(name)]), x, name);
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
            fraction(c, &at(&bp, &[k("charge_below")]), b.charge_below);
            fraction(c, &at(&bp, &[k("charge_until")]), until);
            fraction(c, &at(&bp, &[k("initial")]), initial);
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
    let deadlock_after = match &ff.deadlock_after {
        Some(d) => c
            .duration(&at(&fb, &[k("deadlock_after")]), d)
            .unwrap_or_default(),
        None => SimDuration::from_secs(600),
    };
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
    for (ti, t) in raw.tasks.iter().enumerate() {
        let p = [k("tasks"), i(ti)];
        let from = places.resolve(c, &at(&p, &[k("from")]), &t.from);
        let to = places.resolve(c, &at(&p, &[k("to")]), &t.to);
        let first = c.duration(&at(&p, &[k("at")]), &t.at);
        let every = t
            .every
            .as_ref()
            .and_then(|e| c.duration(&at(&p, &[k("every")]), e));
        if every == Some(SimDuration::ZERO) {
            c.fail(&at(&p, &[k("every")]), "must be longer than zero");
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
                loads: t.loads.unwrap_or(1),
                priority: t.priority.unwrap_or(1),
                due,
            });
        }
    }
    Some(Fleet {
        layout,
        locations,
        groups,
        step,
        dispatch: match ff.dispatch {
            Some(DispatchFile::Optimal) => DispatchPolicy::Optimal,
            _ => DispatchPolicy::NearestIdle,
        },
        coordinated: ff.coordination.unwrap_or(true),
        deadlock_after,
        types,
        vehicles,
        parking,
        chargers,
        tasks,
        stock: Vec::new(),
    })
}

/// Location and group names, for tasks that name either.
struct Places<'a> {
    locations: &'a BTreeMap<String, Location>,
    groups: &'a BTreeMap<String, Vec<u32>>,
}

impl Places<'_> {
    fn resolve(&self, c: &mut Checker<'_>, path: &[Seg], name: &str) -> Option<Vec<u32>> {
        if let Some(l) = self.locations.get(name) {
            return Some(vec![l.spot]);
        }
        if let Some(g) = self.groups.get(name) {
            return Some(g.clone());
        }
        let groups: Vec<&str> = self.groups.keys().map(String::as_str).collect();
        let some: Vec<&str> = self.locations.keys().take(12).map(String::as_str).collect();
        let more = self.locations.len().saturating_sub(some.len());
        c.fail(
            path,
            format!(
                "`{name}` is neither a location nor a group; groups: {}; locations: {}{}",
                if groups.is_empty() {
                    "none".to_string()
                } else {
                    groups.join(", ")
                },
                some.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        );
        None
    }
}

/// Resolves a line's `outfeed` and `materials` against the fleet's locations.
pub(super) fn resolve_logistics(
    c: &mut Checker<'_>,
    base: &[Seg],
    lf: &LineFile,
    line: &mut Line,
    fleet: Option<&Fleet>,
) {
    if lf.outfeed.is_none() && lf.materials.is_empty() {
        return;
    }
    let Some(fleet) = fleet else {
        c.fail(
            base,
            "an outfeed or materials need a [fleet] and a [layout] to move them",
        );
        return;
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
    if let Some(o) = &lf.outfeed {
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
            line.outfeed = Some(Outfeed {
                spot,
                units_per_pallet: o.units_per_pallet.max(1),
                positions: o.positions.max(1),
                to,
                priority: o.priority.unwrap_or(2),
                due,
            });
        }
    }
    for (mi, m) in lf.materials.iter().enumerate() {
        let p = at(base, &[k("materials"), i(mi)]);
        let station = line.stations.iter().position(|s| s.name == m.station);
        if station.is_none() {
            c.fail(
                &at(&p, &[k("station")]),
                format!("station `{}` is not in line `{}`", m.station, lf.name),
            );
        }
        let per_unit = m.per_unit.unwrap_or(1.0);
        positive(c, &at(&p, &[k("per_unit")]), per_unit, "per_unit");
        positive(c, &at(&p, &[k("load")]), m.load, "the load (units)");
        if !(m.trigger.is_finite() && m.trigger >= 0.0) {
            c.fail(&at(&p, &[k("trigger")]), "must be 0 or more units");
        }
        let initial = m.initial.unwrap_or(m.trigger + m.load);
        if !(initial.is_finite() && initial >= 0.0) {
            c.fail(&at(&p, &[k("initial")]), "must be 0 or more units");
        }
        let spot = spot_of(c, &at(&p, &[k("at")]), &m.at, LocationKind::LineSide);
        let from = places.resolve(c, &at(&p, &[k("from")]), &m.from);
        let due = m
            .due
            .as_ref()
            .and_then(|d| c.duration(&at(&p, &[k("due")]), d));
        if let (Some(station), Some(spot), Some(from)) = (station, spot, from) {
            line.materials.push(Material {
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
                stock: fleet
                    .stock
                    .iter()
                    .position(|s| s.material == m.name && s.at == m.from),
            });
        }
    }
}
