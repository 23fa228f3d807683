//! The AGV fleet: a hand-worked single transport, the bundled plant over a day with no
//! incidents, the fleet-size effect, batteries, the safety monitor with coordination off,
//! and clear errors for bad fleet input.

use crate::{bundled_text, parse, run};
use twin_models::kpi::{FleetKpis, RunKpis};
use twin_models::{RunSpec, Scenario, load_scenario, simulate};

/// The bundled plant with `edits` (text replacements) and a horizon.
pub fn plant_agv(edits: &[(&str, &str)], horizon: &str) -> Scenario {
    let mut text = bundled_text("plant-agv.toml")
        .replace("horizon = \"24h\"", &format!("horizon = \"{horizon}\""));
    for (from, to) in edits {
        assert!(text.contains(from), "the bundled scenario has no `{from}`");
        text = text.replace(from, to);
    }
    load_scenario("plant-agv.toml", &text).unwrap_or_else(|e| panic!("{e}"))
}

pub fn fleet(k: &RunKpis) -> &FleetKpis {
    k.fleet
        .as_ref()
        .expect("a plant with a fleet reports fleet KPIs")
}

const ONE_TRANSPORT: &str = r#"
name = "one-agv"
[run]
horizon = "2min"
[[lines]]
name = "L"
[[lines.stations]]
name = "m"
kind = "filler"
speed = "3600/h"
[layout]
cell = 3.0
grid = """
........
"""
locations = [
  { name = "park", kind = "parking", at = [0, 0] },
  { name = "a", kind = "dock", at = [3, 0] },
  { name = "b", kind = "rack", at = [6, 0] },
]
[fleet]
idle = "home"
[[fleet.vehicles]]
name = "agv"
count = 1
speed = 1.5
footprint = [1.0, 1.6]
load_time = "20s"
unload_time = "20s"
[[tasks]]
name = "move"
from = "a"
to = "b"
at = "10s"
due = "50s"
"#;

#[test]
fn one_transport_worked_by_hand() {
    // 3 m cells at 1.5 m/s: a step is 2 s. Created at 10 s and dispatched at once; three
    // steps to `a` (arrives at 16 s: waited 6 s), loads 20 s (to 36 s), three steps to
    // `b` (42 s), unloads 20 s: delivered at 62 s, a lead time of 52 s, 2 s past due.
    // Then six steps home: 9 + 9 + 18 = 36 m driven in all.
    let k = run(&parse(ONE_TRANSPORT), 1).remove(0);
    let f = fleet(&k);
    assert_eq!(f.tasks_created, 1);
    assert_eq!(f.tasks_completed, 1);
    assert_eq!(f.tasks_late, 1);
    assert!(
        (f.lead_time_mean_s - 52.0).abs() < 1e-9,
        "{}",
        f.lead_time_mean_s
    );
    assert!((f.wait_for_vehicle_mean_s - 6.0).abs() < 1e-9);
    assert!((f.distance_km - 0.036).abs() < 1e-12, "{}", f.distance_km);
    // 120 s: 6 s loaded, 6 + 12 s empty (to the pickup, home), 40 s handling.
    let t = &f.time_split;
    assert!((t.loaded_travel * 120.0 - 6.0).abs() < 1e-9);
    assert!((t.empty_travel * 120.0 - 18.0).abs() < 1e-9);
    assert!((t.loading * 120.0 - 40.0).abs() < 1e-9);
    assert_eq!((f.collisions, f.deadlocks), (0, 0));
}

#[test]
fn an_idle_vehicle_stays_where_it_set_its_load_down() {
    // The same transport with idle vehicles staying put: no drive home, so 18 m in all
    // (9 empty to `a`, 9 loaded to `b`) and 6 s of empty travel; the vehicle ends at `b`.
    let text = ONE_TRANSPORT.replace("idle = \"home\"", "idle = \"stay\"");
    let k = run(&parse(&text), 1).remove(0);
    let f = fleet(&k);
    assert_eq!(f.tasks_completed, 1);
    assert!((f.distance_km - 0.018).abs() < 1e-12, "{}", f.distance_km);
    assert!((f.empty_distance_km - 0.009).abs() < 1e-12);
    assert!((f.time_split.empty_travel * 120.0 - 6.0).abs() < 1e-9);
    assert!((f.time_split.idle * 120.0 - (120.0 - 52.0)).abs() < 1e-9);
    // By type: the one listed task.
    let t = &f.by_task["move"];
    assert_eq!((t.created, t.completed, t.waiting_at_end), (1, 1, 0));
    assert!((t.lead_time_mean_s - 52.0).abs() < 1e-9);
}

/// [`ONE_TRANSPORT`] in a corridor with two vehicles staying where they are idle: a dock
/// at 0, parking at 1 and 2, a rack at 3, parking at 4 and 5.
fn made_way() -> String {
    let mut text = ONE_TRANSPORT.to_string();
    for (from, to) in [
        (
            r#"grid = """
........
"""
locations = [
  { name = "park", kind = "parking", at = [0, 0] },
  { name = "a", kind = "dock", at = [3, 0] },
  { name = "b", kind = "rack", at = [6, 0] },
]"#,
            r#"grid = """
......
"""
locations = [
  { name = "a", kind = "dock", at = [0, 0] },
  { name = "west", kind = "parking", area = [1, 0, 2, 0] },
  { name = "b", kind = "rack", at = [3, 0] },
  { name = "east", kind = "parking", area = [4, 0, 5, 0] },
]"#,
        ),
        ("idle = \"home\"", "idle = \"stay\""),
        ("count = 1", "count = 2"),
    ] {
        assert!(text.contains(from), "{from}");
        text = text.replace(from, to);
    }
    text
}

/// Vehicle 0 (parked at 1) takes the load at 0 to the rack at 3; vehicle 1, parked at 2,
/// makes way, pushed to 3 and then to 4, a free parking spot, where it stays. Worked by
/// hand: 3 m empty to the dock, 9 m loaded, 6 m pushed: 18 m, 9 of them empty. Before,
/// the pushed vehicle went back to its own spot past the one unloading, and the two
/// shuffled along the corridor for the rest of the run (216 m).
#[test]
fn an_idle_vehicle_that_made_way_stays_on_the_free_parking_spot_it_was_pushed_to() {
    let k = run(&parse(&made_way()), 1).remove(0);
    let f = fleet(&k);
    assert_eq!(f.tasks_completed, 1);
    assert!((f.distance_km - 0.018).abs() < 1e-12, "{}", f.distance_km);
    assert!((f.empty_distance_km - 0.009).abs() < 1e-12);
    assert_eq!((f.collisions, f.deadlocks), (0, 0));
}

#[test]
fn the_bundled_plant_runs_a_day_with_no_incidents() {
    let k = run(&plant_agv(&[], "24h"), 1).remove(0);
    let f = fleet(&k);
    assert_eq!(f.collisions, 0, "the safety monitor saw contact");
    assert_eq!(f.deadlocks, 0);
    assert_eq!(f.battery_depleted, 0);
    assert!(f.min_state_of_charge.unwrap() >= 0.0);
    assert!(f.tasks_completed > 1000, "{} tasks", f.tasks_completed);
    // Counts are of the window after warm-up: tasks on board or waiting when it opened are
    // completed in it without having been created in it, and those at its close the other
    // way round. A vehicle carries one load here, so either side is at most one task per
    // vehicle plus the queue then (the queue's peak covers the opening, which it includes).
    let (created, completed) = (f.tasks_created, f.tasks_completed);
    let vehicles = f.vehicles as u64;
    assert!(completed <= created + vehicles + f.tasks_waiting_max);
    assert!(created <= completed + vehicles + f.tasks_waiting_at_end);
    assert_eq!(
        k.line_minutes_lost(),
        0.0,
        "12 vehicles keep up with two lines"
    );
    for l in &k.logistics {
        assert!(l.least_material_stock.unwrap() > 0.0);
    }
    let split = &f.time_split;
    let sum = split.loaded_travel
        + split.empty_travel
        + split.loading
        + split.charging
        + split.idle
        + split.waiting_in_traffic;
    assert!((sum - 1.0).abs() < 1e-9);
}

#[test]
fn fewer_vehicles_starve_the_lines() {
    let lost_and_output = |n: u32| {
        let s = plant_agv(&[("count = 12", &format!("count = {n}"))], "8h");
        let k = run(&s, 1).remove(0);
        let f = fleet(&k);
        assert_eq!((f.collisions, f.deadlocks), (0, 0), "{n} vehicles");
        let out: f64 = k.lines.iter().map(|l| l.units_out).sum();
        (k.line_minutes_lost(), out)
    };
    let (lost_12, out_12) = lost_and_output(12);
    let (lost_3, out_3) = lost_and_output(3);
    let (lost_1, out_1) = lost_and_output(1);
    assert!(
        lost_1 > lost_3 && lost_3 >= lost_12,
        "{lost_1} {lost_3} {lost_12}"
    );
    assert!(
        lost_1 > 60.0,
        "one vehicle cannot keep two lines going: {lost_1} min"
    );
    assert!(out_1 < out_3 && out_3 <= out_12, "{out_1} {out_3} {out_12}");
}

#[test]
fn small_batteries_charge_often_and_never_go_below_empty() {
    let s = plant_agv(&[("capacity_kwh = 24.0", "capacity_kwh = 2.0")], "12h");
    let f = fleet(&run(&s, 1)[0]).clone();
    assert!(f.charges >= 12, "{} charges", f.charges);
    assert!(f.min_state_of_charge.unwrap() >= 0.0);
    assert_eq!(f.battery_depleted, 0);
    assert_eq!((f.collisions, f.deadlocks), (0, 0));
    assert!(f.time_split.charging > 0.01);
}

#[test]
fn the_safety_monitor_catches_uncoordinated_traffic() {
    let s = plant_agv(
        &[(
            "dispatch = \"nearest_idle\"",
            "dispatch = \"nearest_idle\"\ncoordination = false",
        )],
        "4h",
    );
    let f = fleet(&run(&s, 1)[0]).clone();
    assert!(f.collisions > 0, "vehicles driving as if alone must touch");
}

#[test]
fn optimal_dispatch_runs_the_plant_too() {
    let s = plant_agv(
        &[("dispatch = \"nearest_idle\"", "dispatch = \"optimal\"")],
        "8h",
    );
    let f = fleet(&run(&s, 1)[0]).clone();
    assert_eq!((f.collisions, f.deadlocks), (0, 0));
    assert!(f.tasks_completed > 300);
}

#[test]
fn a_fleet_run_is_deterministic() {
    let s = plant_agv(&[], "6h");
    let spec = RunSpec {
        record_series: false,
        ..RunSpec::of(&s)
    };
    let a = serde_json::to_string(&simulate(&s, spec).kpis).unwrap();
    let b = serde_json::to_string(&simulate(&s, spec).kpis).unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_fleet_input_names_the_field() {
    let err = |text: String| load_scenario("f.toml", &text).unwrap_err().to_string();
    let small = err(ONE_TRANSPORT.replace("cell = 3.0", "cell = 2.0"));
    assert!(small.contains("fleet.vehicles[0].footprint"), "{small}");
    assert!(small.contains("exceeds the cell"), "{small}");
    let unknown = err(ONE_TRANSPORT.replace("to = \"b\"", "to = \"nowhere\""));
    assert!(unknown.contains("tasks[0].to"), "{unknown}");
    assert!(
        unknown.contains("`nowhere` is neither a location nor a group"),
        "{unknown}"
    );
    let blocked = err(ONE_TRANSPORT.replace("at = [6, 0]", "at = [9, 0]"));
    assert!(blocked.contains("layout.locations[2]"), "{blocked}");
    let no_park = err(ONE_TRANSPORT.replace("count = 1", "count = 2"));
    assert!(
        no_park.contains("2 vehicles need as many locations of kind \"parking\""),
        "{no_park}"
    );
    // An area far outside the map took time in proportion to its size (billions of
    // cells); now it is refused at once, naming the map's bounds.
    let far =
        err(ONE_TRANSPORT.replace("at = [0, 0] }", "area = [0, 0, 4000000000, 4000000000] }"));
    assert!(
        far.contains("layout.locations[0].area")
            && far.contains("not within the map, columns 0 to 7 and rows 0 to 0"),
        "{far}"
    );
    let inverted = err(ONE_TRANSPORT.replace("at = [0, 0] }", "area = [2, 0, 1, 0] }"));
    assert!(inverted.contains("x0 ≤ x1"), "{inverted}");
    // A row far past the map overflowed the cell index (and could land on a real cell).
    let row = err(ONE_TRANSPORT.replace("at = [0, 0] }", "at = [1, 4611686018427387904] }"));
    assert!(row.contains("layout.locations[0]"), "{row}");
    let file = err(ONE_TRANSPORT.replace("grid = \"\"\"\n........\n\"\"\"", "map = \"floor.map\""));
    assert!(
        file.contains("layout.map") && file.contains("cannot read `floor.map`"),
        "{file}"
    );
}

#[test]
fn three_hundred_vehicles_in_the_stress_warehouse_never_touch() {
    let text =
        bundled_text("warehouse-stress.toml").replace("horizon = \"2h\"", "horizon = \"15min\"");
    // The map the scenario names, read as the CLI would, relative to the scenario.
    let read = |f: &str| Ok(bundled_text(f));
    let s = twin_models::load_scenario_with_files("warehouse-stress.toml", &text, &read).unwrap();
    let k = run(&s, 1).remove(0);
    let f = fleet(&k);
    assert_eq!(f.vehicles, 300);
    assert_eq!(
        f.min_state_of_charge, None,
        "no batteries, no charge to report"
    );
    assert_eq!((f.collisions, f.deadlocks), (0, 0));
    assert!(f.tasks_completed > 300, "{} tasks", f.tasks_completed);
}

#[test]
fn highways_keep_the_stress_warehouse_safe_and_need_a_grid() {
    // Coordinated along one-way highways, 300 vehicles still never touch or lock.
    let text = bundled_text("warehouse-stress.toml")
        .replace("horizon = \"2h\"", "horizon = \"15min\"")
        .replace(
            "dispatch = \"nearest_idle\"",
            "dispatch = \"nearest_idle\"\ncoordination = \"highways\"",
        );
    assert!(text.contains("coordination = \"highways\""));
    let read = |f: &str| Ok(bundled_text(f));
    let s = twin_models::load_scenario_with_files("warehouse-stress.toml", &text, &read).unwrap();
    let k = run(&s, 1).remove(0);
    let f = fleet(&k);
    assert_eq!((f.collisions, f.deadlocks), (0, 0));
    assert!(f.tasks_completed > 300, "{} tasks", f.tasks_completed);
    // A waypoint graph has no rows or columns to run highways along.
    let planned = lane_scenario("");
    let lanes = planned.replace("[fleet]\n", "[fleet]\ncoordination = \"highways\"\n");
    assert_ne!(lanes, planned);
    let err = load_scenario("lanes.toml", &lanes).unwrap_err().to_string();
    assert!(
        err.contains("fleet.coordination") && err.contains("waypoint graph"),
        "{err}"
    );
    assert!(load_scenario("lanes.toml", &planned).is_ok());
}

#[test]
fn a_slower_loaded_trip_worked_by_hand() {
    // Loaded at 0.75 m/s a 3 m cell takes two 2 s steps: the three cells to `b` take 12 s
    // instead of 6, so delivery is at 68 s, a lead time of 58 s; the same 36 m are driven.
    let text = ONE_TRANSPORT.replace("speed = 1.5", "speed = 1.5\nspeed_loaded = 0.75");
    let k = run(&parse(&text), 1).remove(0);
    let f = fleet(&k);
    assert!(
        (f.lead_time_mean_s - 58.0).abs() < 1e-9,
        "{}",
        f.lead_time_mean_s
    );
    assert!((f.distance_km - 0.036).abs() < 1e-12, "{}", f.distance_km);
    assert!((f.time_split.loaded_travel * 120.0 - 12.0).abs() < 1e-9);
}

#[test]
fn mixed_fleets_on_speed_limited_lanes_run_without_incidents() {
    // Half the fleet is a slower type, and loaded vehicles crawl: still no contact and no
    // deadlock, and fewer tasks get done than with the fast fleet.
    let fast = run(&plant_agv(&[], "8h"), 1).remove(0);
    let s = plant_agv(
        &[
            ("count = 12", "count = 6\nspeed_loaded = 0.5"),
            (
                "[[tasks]]",
                "[[fleet.vehicles]]\nname = \"tugger\"\ncount = 6\nspeed = 0.8\nfootprint = [1.0, 1.6]\nload_time = \"30s\"\nunload_time = \"30s\"\n\n[[tasks]]",
            ),
        ],
        "8h",
    );
    let k = run(&s, 1).remove(0);
    let f = fleet(&k);
    assert_eq!((f.collisions, f.deadlocks), (0, 0));
    assert!(f.lead_time_mean_s > fleet(&fast).lead_time_mean_s);
    assert!(f.tasks_completed > 300);
}

/// Waypoints a – b – c in a line, 9 m apart, lanes a – b and b – c (`limit` appended to
/// the second), parking at a, a dock at b, a rack at c; one vehicle, one task b -> c.
fn lane_scenario(limit: &str) -> String {
    format!(
        r#"
name = "lanes"
[run]
horizon = "3min"
[[lines]]
name = "L"
[[lines.stations]]
name = "m"
kind = "filler"
speed = "3600/h"
[layout]
cell = 3.0
waypoints = [{{ name = "a", x = 0.0, y = 0.0 }}, {{ name = "b", x = 9.0, y = 0.0 }}, {{ name = "c", x = 18.0, y = 0.0 }}]
lanes = [{{ from = "a", to = "b" }}, {{ from = "b", to = "c"{limit} }}]
locations = [
  {{ name = "park", kind = "parking", waypoint = "a" }},
  {{ name = "pick", kind = "dock", waypoint = "b" }},
  {{ name = "drop", kind = "rack", waypoint = "c" }},
]
[fleet]
[[fleet.vehicles]]
name = "agv"
count = 1
speed = 1.5
footprint = [1.0, 1.6]
load_time = "10s"
unload_time = "10s"
[[tasks]]
name = "move"
from = "pick"
to = "drop"
at = "0s"
"#
    )
}

#[test]
fn lane_layouts_with_speed_limits_slow_the_trip() {
    // Waypoints a – b – c in a line, 9 m apart; the lane b – c is limited to 0.5 m/s, so its
    // three 3 m segments take 6 s each (three 2 s steps) instead of 2 s.
    let text = lane_scenario;
    let lead = |t: String| fleet(&run(&parse(&t), 1)[0]).lead_time_mean_s;
    // The first traffic step (at 0 s) comes before the task (also at 0 s), so it is
    // dispatched at the 2 s step. Free: 3 steps to b (at 8 s), load to 18 s, 3 steps to c
    // (24 s), unload to 34 s.
    assert!((lead(text("")) - 34.0).abs() < 1e-9, "{}", lead(text("")));
    // Limited: the b – c leg takes 9 steps (18 s): 46 s.
    let slow = lead(text(", speed_limit = 0.5"));
    assert!((slow - 46.0).abs() < 1e-9, "{slow}");
}

#[test]
fn acceleration_worked_by_hand() {
    // At 0.5 m/s² up to 1.5 m/s a 3 m cell takes 3.5 s from rest or into a stop (two 2 s
    // steps) and 2 s cruising (one step). Three cells rest to rest: 2 + 1 + 2 = 5 steps.
    // Dispatched at 10 s, at `a` at 20 s (waited 10 s), loaded at 40 s, at `b` at 50 s,
    // delivered at 70 s: a lead time of 60 s. Home (six cells, 8 steps) at 86 s.
    let text = ONE_TRANSPORT.replace("speed = 1.5", "speed = 1.5\nacceleration = 0.5");
    let k = run(&parse(&text), 1).remove(0);
    let f = fleet(&k);
    assert!(
        (f.lead_time_mean_s - 60.0).abs() < 1e-9,
        "{}",
        f.lead_time_mean_s
    );
    assert!((f.wait_for_vehicle_mean_s - 10.0).abs() < 1e-9);
    assert!((f.distance_km - 0.036).abs() < 1e-12, "{}", f.distance_km);
    let t = &f.time_split;
    assert!((t.loaded_travel * 120.0 - 10.0).abs() < 1e-9);
    assert!((t.empty_travel * 120.0 - 26.0).abs() < 1e-9);
    assert!((t.loading * 120.0 - 40.0).abs() < 1e-9);
    assert!((t.idle * 120.0 - 44.0).abs() < 1e-9, "{}", t.idle * 120.0);
}

#[test]
fn a_two_load_vehicle_takes_both_loads_in_one_trip() {
    // Two loads wait at `a` for `b`. One at a time: the first is delivered at 62 s (as in
    // the single transport), the vehicle drives back (68 s), loads (88 s), carries (94 s)
    // and delivers the second at 114 s: lead times 52 s and 104 s, and at 120 s it is
    // three cells on its way home: 45 m. With room for two: at `a` at 16 s, loads both
    // (40 s, to 56 s), at `b` at 62 s, sets them down at 82 s and 102 s: lead times 72 s
    // and 92 s, one trip, 36 m.
    let two = ONE_TRANSPORT.replace("due = \"50s\"", "due = \"50s\"\nloads = 2");
    let single = run(&parse(&two), 1).remove(0);
    let f = fleet(&single);
    assert_eq!(f.tasks_completed, 2);
    assert!(
        (f.lead_time_mean_s - 78.0).abs() < 1e-9,
        "{}",
        f.lead_time_mean_s
    );
    assert!((f.distance_km - 0.045).abs() < 1e-12, "{}", f.distance_km);
    assert!((f.loads_per_pickup - 1.0).abs() < 1e-12);

    let double = run(
        &parse(&two.replace("count = 1", "count = 1\ncapacity = 2")),
        1,
    )
    .remove(0);
    let f = fleet(&double);
    assert_eq!(f.tasks_completed, 2);
    assert!(
        (f.lead_time_mean_s - 82.0).abs() < 1e-9,
        "{}",
        f.lead_time_mean_s
    );
    assert!((f.lead_time_p95_s - 92.0).abs() < 1e-9);
    assert!((f.wait_for_vehicle_mean_s - 6.0).abs() < 1e-9);
    assert!((f.distance_km - 0.036).abs() < 1e-12, "{}", f.distance_km);
    assert!((f.loads_per_pickup - 2.0).abs() < 1e-12);
    // Loaded for the 6 s to `b` and the 20 s between the two drops is handling: 80 s.
    assert!((f.time_split.loaded_travel * 120.0 - 6.0).abs() < 1e-9);
    assert!((f.time_split.loading * 120.0 - 80.0).abs() < 1e-9);
}

#[test]
fn bad_acceleration_or_capacity_names_the_field() {
    let err = |text: String| load_scenario("f.toml", &text).unwrap_err().to_string();
    let accel = err(ONE_TRANSPORT.replace("speed = 1.5", "speed = 1.5\nacceleration = -1"));
    assert!(accel.contains("fleet.vehicles[0].acceleration"), "{accel}");
    assert!(accel.contains("must be a positive number"), "{accel}");
    let cap = err(ONE_TRANSPORT.replace("count = 1", "count = 1\ncapacity = 0"));
    assert!(cap.contains("fleet.vehicles[0].capacity"), "{cap}");
    assert!(cap.contains("at least 1 load"), "{cap}");
}
