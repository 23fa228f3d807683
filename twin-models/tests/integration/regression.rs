//! Regression tests, named after what broke.

use crate::bundled;
use twin_models::{RunSpec, Twin, load_scenario, replicate};

/// A conveyor whose inflow had been steady for longer than its transport time capped what
/// could leave it at the count before the interval, starving the next machine for hours
/// unless something (such as a time-series sample) split the interval.
#[test]
fn recording_the_time_series_does_not_change_results() {
    let s = bundled("bottling-line-serial.toml");
    let spec = RunSpec::of(&s);
    let with = replicate(&s, spec, 1, 1).runs.remove(0).kpis;
    let without = replicate(
        &s,
        RunSpec {
            record_series: false,
            ..spec
        },
        1,
        1,
    )
    .runs
    .remove(0)
    .kpis;
    // Sampling splits intervals; with fractional rates (rejects) ticks round per piece, so
    // counts may differ by far less than a millionth of a unit. The bug was off by thousands.
    let (a, b) = (&with.lines[0], &without.lines[0]);
    let near = |x: f64, y: f64| (x - y).abs() < 1e-6;
    assert!(
        near(a.units_in, b.units_in)
            && near(a.units_out, b.units_out)
            && near(a.rejects, b.rejects)
    );
    for (x, y) in a.stations.iter().zip(&b.stations) {
        assert!(near(x.units_out, y.units_out), "{}", x.name);
        assert_eq!((x.failures, x.micro_stops), (y.failures, y.micro_stops));
        assert!((x.state_fractions.working - y.state_fractions.working).abs() < 1e-9);
    }
}

/// Before its first transport time had passed, a conveyor reported the inflow rate of time
/// zero and scheduled no event for when units reach its end, so the next machine waited
/// for an unrelated event.
#[test]
fn machine_after_a_conveyor_starts_after_the_transport_time() {
    let s = bundled("bottling-line-serial.toml");
    let run = replicate(&s, RunSpec::of(&s), 1, 1).runs.remove(0);
    let csv = run.series.unwrap().to_csv();
    let row_1min: Vec<&str> = csv.lines().nth(2).unwrap().split(',').collect();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let rinser = header.iter().position(|h| *h == "L1.rinser").unwrap();
    assert_eq!(row_1min[0], "60");
    assert_eq!(row_1min[rinser], "working");
}

/// The swap technique used eagerly in lifelong traffic set loaded vehicles oscillating in
/// the warehouse aisles of `plant-agv.toml` (seeds 1, 2 and 3 ended the day in gridlock).
#[test]
fn plant_agv_traffic_does_not_gridlock_on_other_seeds() {
    let text = crate::bundled_text("plant-agv.toml");
    for seed in 1..=4 {
        let t = text
            .replace("seed = 7", &format!("seed = {seed}"))
            .replace("horizon = \"24h\"", "horizon = \"16h\"");
        let s = twin_models::load_scenario("plant-agv.toml", &t).unwrap();
        let k = crate::run(&s, 1).remove(0);
        let f = k.fleet.as_ref().unwrap();
        assert_eq!((f.deadlocks, f.collisions), (0, 0), "seed {seed}");
        assert_eq!(k.line_minutes_lost(), 0.0, "seed {seed}");
    }
}

/// A station of one unit an hour with failures in operating time: an advance of a
/// nanosecond or two came to fewer than 2,048 ticks, which the fast tick-to-float
/// conversion rounded to nothing, so the station booked no work, its failure clock stood
/// still one nanosecond short, and the line asked to be woken again two nanoseconds later,
/// for ever (a 25-minute run never ended; with a fleet, memory grew without bound).
#[test]
fn a_station_of_one_unit_an_hour_with_failures_runs_to_its_horizon() {
    for speed in ["1/h", "2/h", "0.25/h"] {
        let s = load_scenario(
            "slow.toml",
            &format!(
                r#"
                name = "slow"
                [run]
                horizon = "25min"
                [[lines]]
                name = "L"
                [[lines.stations]]
                name = "a"
                kind = "filler"
                speed = "{speed}"
                failures = [{{ tbf = "exp(2min)", ttr = "exp(1min)" }}]
                [[lines.stations]]
                name = "b"
                kind = "capper"
                speed = "36000/h"
                [[lines.buffers]]
                name = "ab"
                from = "a"
                to = "b"
                capacity = 100
                "#
            ),
        )
        .unwrap();
        let mut twin = Twin::new(&s, RunSpec::of(&s));
        // Samples every 3 s, failures and repairs every few minutes: a few thousand events.
        let mut steps = 0;
        while twin.step().is_some() {
            steps += 1;
            assert!(steps < 20_000, "{speed}: stuck at {} ns", twin.now().0);
        }
        let k = twin.finish().kpis;
        assert!(
            k.lines[0].stations[0].failures > 0,
            "{speed}: the failures struck"
        );
    }
}

/// `every = "0.0000001s"` on a task list passed `validate`, then the run ran out of memory
/// making tasks: a list that would make more tasks over the horizon than a run keeps is
/// refused, naming the field.
#[test]
fn a_task_list_of_absurd_frequency_is_refused() {
    let text = crate::bundled_text("plant-agv.toml");
    let bad = text.replace("every = \"2h\"", "every = \"0.0000001s\"");
    let err = load_scenario("plant-agv.toml", &bad).unwrap_err();
    let d = err.diagnostics();
    assert_eq!(d.len(), 1, "{err}");
    assert_eq!(d[0].path, "tasks[0].every");
    assert!(d[0].reason.contains("more than the 10000000"), "{err}");
    assert!(d[0].location.is_some(), "with its line and column");
    // Every minute for the day is fine.
    let fine = text.replace("every = \"2h\"", "every = \"1min\"");
    assert!(load_scenario("plant-agv.toml", &fine).is_ok());
}

/// OEE came out at 100.7 % on an M/M/1 whose service time is exponential: performance
/// counted each unit at the mean service time, so a run of short draws passed 1. Now each
/// unit counts its own drawn time: an overloaded server (never idle) has performance 1 to
/// rounding on every seed, and a server at ρ = 0.8 has performance equal to its busy share.
#[test]
fn regression_oee_of_random_cycle_times_never_passes_one() {
    let overloaded = crate::parse(
        r#"
name = "mm1-overloaded"
[run]
horizon = "20min"
warmup = "1min"
[[lines]]
name = "Q"
source = { kind = "arrivals", interarrival = "exp(0.5s)", when_full = "wait" }
[[lines.stations]]
name = "server"
kind = "generic"
processing_time = "exp(0.8s)"
"#,
    );
    for seed in 1..=20 {
        let spec = RunSpec {
            seed,
            ..RunSpec::of(&overloaded)
        };
        let kpis = replicate(&overloaded, spec, 1, 1).runs.remove(0).kpis;
        let oee = &kpis.lines[0].oee;
        assert!(oee.performance <= 1.0 + 1e-12, "seed {seed}: {oee:?}");
        assert!((oee.performance - 1.0).abs() < 1e-9, "seed {seed}: {oee:?}");
    }
    let mm1 = bundled("textbook/mm1.toml");
    let kpis = replicate(&mm1, RunSpec::of(&mm1), 1, 1).runs.remove(0).kpis;
    let line = &kpis.lines[0];
    let busy = line.stations[0].state_fractions.working;
    assert!((line.oee.performance - busy).abs() < 1e-9, "{line:?}");
}

/// A fluid line reported fractional counts (`units_in` 33172.012) where whole units are
/// documented. Now every count is whole, conservation holds exactly over the measured
/// period, and a station holds at most the unit or two it is part way through.
#[test]
fn regression_fluid_counts_are_whole_units() {
    let s = bundled("bottling-line-serial.toml");
    let kpis = replicate(&s, RunSpec::of(&s), 1, 1).runs.remove(0).kpis;
    let line = &kpis.lines[0];
    assert_eq!(line.engine, "fluid");
    let whole = |x: f64| x.fract() == 0.0;
    assert!(line.rejects > 0.0, "the line rejects: {line:?}");
    for x in [
        line.units_in,
        line.units_out,
        line.rejects,
        line.wip_start,
        line.wip_end,
    ] {
        assert!(whole(x), "{x} in {line:?}");
    }
    assert_eq!(
        line.units_in,
        line.units_out + line.rejects + line.wip_end - line.wip_start
    );
    for st in &line.stations {
        assert!(whole(st.units_in) && whole(st.units_out) && whole(st.rejects));
        let held = st.units_in - st.units_out - st.rejects;
        assert!((-2.0..=2.0).contains(&held), "{st:?}");
    }
}

/// `--horizon 1000000000d` was accepted and ran for ever (outputs in memory); a task list
/// or sampling interval absurd for the horizon passed `validate`. The work of a run is
/// now estimated up front by a pilot: small runs exactly, long ones by extrapolation,
/// a run whose clock stands still as infinite.
#[test]
fn regression_the_work_of_a_run_is_estimated_before_it_starts() {
    let s = bundled("bottling-line-serial.toml");
    let exact = twin_models::estimate(&s, RunSpec::of(&s));
    assert!(exact.exact, "{exact:?}");
    let mut twin = Twin::new(&s, RunSpec::of(&s));
    while twin.step().is_some() {}
    assert_eq!(
        exact.work,
        (twin.events() + twin.planned_stations()) as f64,
        "exact for a run the pilot covers (an event once, a station once per plan)"
    );
    // A short line is planned whole at each plan.
    let stations = s.lines[0].stations.len() as u64;
    assert!(
        twin.planned_stations() > twin.events() && twin.planned_stations().is_multiple_of(stations)
    );
    // Ten times the horizon: about ten times the work (a steady line).
    let long = RunSpec {
        horizon: sim::SimDuration(RunSpec::of(&s).horizon.0 * 2000),
        ..RunSpec::of(&s)
    };
    let e = twin_models::estimate(&s, long);
    assert!(!e.exact);
    let ratio = e.work / (exact.work * 2000.0);
    assert!((0.7..1.3).contains(&ratio), "{e:?} against {exact:?}");
    // Ten years of the line (about 10^8 units) are within the budget of one run, not a
    // thousand of them within the command's; the longest clock, 584 years, passes the
    // budget of one run.
    let years = |y: u64| RunSpec {
        horizon: sim::SimDuration::from_secs(y * 365 * 86_400),
        ..RunSpec::of(&s)
    };
    let e = twin_models::estimate(&s, years(10));
    assert!(e.within(1) && !e.within(1000), "{e:?}");
    assert!(e.describe(1000).contains("over the budget of 1e10"));
    let longest = RunSpec {
        horizon: sim::SimDuration(u64::MAX),
        ..RunSpec::of(&s)
    };
    let e = twin_models::estimate(&s, longest);
    assert!(e.work.is_finite() && !e.within(1), "{e:?}");
    assert!(e.describe(1).contains("over the budget of 3e8 for one run"));
}

/// Lines of 10,000 stations ran for minutes without a word, their cost growing faster
/// than their length (issue 18), and the estimate could not tell: it counted every event
/// of a long line as the whole line (a series line's cost grows with what an event
/// reaches) and its pilot of a few events of such a line saw only the start. It now counts
/// the stations each plan takes and runs at least a thousand events. A branching line
/// whose buffers are all nearly full or empty couples it end to end: an event replans
/// hundreds to thousands of its stations, and at 10,000 stations for 8 h it is refused
/// for one run; a series line of 10,000 stations, planned where each event reaches, runs.
#[test]
fn regression_a_line_coupled_end_to_end_is_weighed_by_what_its_events_replan() {
    // Estimated against the work counted over the whole run.
    let s = crate::parse(&coupled_branches(100, "2h"));
    let spec = RunSpec::of(&s);
    let e = twin_models::estimate(&s, spec);
    let mut twin = Twin::new(&s, spec);
    while twin.step().is_some() {}
    let work = (twin.events() + twin.planned_stations()) as f64;
    assert!(
        (0.5..2.0).contains(&(e.work / work)),
        "{e:?} against {work}"
    );
    assert!(
        twin.planned_stations() > 10 * twin.events(),
        "coupled: each event reaches far"
    );

    let s = crate::parse(&coupled_branches(3333, "8h"));
    assert_eq!(s.lines[0].stations.len(), 10_000);
    let e = twin_models::estimate(&s, RunSpec::of(&s));
    assert!(!e.within(1), "{e:?}");
    let why = e.describe(1);
    assert!(
        why.contains("over the budget of 3e8 for one run") && why.contains("stations an event"),
        "{why}"
    );

    let s = crate::parse(&series_of(10_000, "8h"));
    let e = twin_models::estimate(&s, RunSpec::of(&s));
    assert!(e.within(1), "{e:?}");
}

/// A fleet on a packed floor costs more a vehicle step the larger it is (issue 18): ten
/// times the vehicles cross a floor three times as wide and push longer chains of parked
/// ones aside, so the estimate, which counted vehicles × steps, weighed 5,000 AGVs at a
/// quarter of what 500 cost a unit. It now adds what the traffic's planning did (vehicles
/// planned, spots searched), exactly for a run its pilot covers and by the pilot's rate
/// beyond.
#[test]
fn regression_a_fleet_on_a_packed_floor_is_weighed_by_its_planning() {
    use twin_models::plant::work::{DETOUR_SPOT_WORK, PLAN_WORK, TABLE_SPOT_WORK};
    let counted = |twin: &Twin<&twin_models::Scenario>, vehicles: f64| {
        let p = twin.fleet_planning();
        assert!(p.plans > 0 && p.table_spots > 0, "{p:?}");
        (twin.events() + twin.planned_stations()) as f64
            + twin.fleet_steps() as f64 * vehicles
            + p.plans as f64 * PLAN_WORK
            + p.table_spots as f64 * TABLE_SPOT_WORK
            + p.detour_spots as f64 * DETOUR_SPOT_WORK
    };
    for (horizon, exact) in [("5min", true), ("30min", false)] {
        let s = crate::parse(&packed_floor(24, horizon));
        let vehicles = s.fleet.as_ref().unwrap().vehicles.len() as f64;
        assert_eq!(vehicles, 524.0);
        let spec = RunSpec::of(&s);
        let e = twin_models::estimate(&s, spec);
        assert_eq!(e.exact, exact, "{e:?}");
        let mut twin = Twin::new(&s, spec);
        while twin.step().is_some() {}
        let work = counted(&twin, vehicles);
        if exact {
            assert_eq!(e.work, work);
        } else {
            assert!(
                (0.8..1.25).contains(&(e.work / work)),
                "{e:?} against {work}"
            );
        }
        let why = e.describe(1);
        assert!(why.contains("the fleet's planning took"), "{why}");
    }
}

/// `side` × `side` cells of 3 m, the top `side` − 2 rows parking packed 99 % full, the two
/// bottom rows racks (west) and docks (east) with loads between them, one an hour for
/// every 2.5 vehicles.
fn packed_floor(side: usize, horizon: &str) -> String {
    let row = ".".repeat(side);
    let grid = vec![row.as_str(); side].join("\n");
    let (last, half) = (side - 1, side / 2);
    let count = side * (side - 2) - 4;
    format!(
        r#"name = "packed"
[run]
horizon = "{horizon}"
seed = 1
[layout]
cell = 3.0
grid = """
{grid}
"""
locations = [
  {{ name = "park", kind = "parking", area = [0, 0, {last}, {park}] }},
  {{ name = "a", kind = "rack", area = [0, {dock}, {west}, {last}], group = "west" }},
  {{ name = "b", kind = "dock", area = [{half}, {dock}, {last}, {last}], group = "east" }},
]
[fleet]
[[fleet.vehicles]]
name = "agv"
count = {count}
speed = 1.5
footprint = [1.0, 1.6]
load_time = "20s"
unload_time = "20s"
[[tasks]]
name = "move"
from = "west"
to = "east"
per_hour = {per_hour}
[[lines]]
name = "L"
[[lines.stations]]
name = "m"
kind = "filler"
speed = "3600/h"
"#,
        park = side - 3,
        dock = side - 2,
        west = half - 1,
        per_hour = count * 2 / 5,
    )
}

/// A branching line of `sections` × 3 + 1 stations, all its buffers of 20 nearly empty or
/// full: each section divides a station's 20,000/h over two machines of 11,000/h (one
/// failing every 20 min) that merge onto a station of 21,000/h.
fn coupled_branches(sections: usize, horizon: &str) -> String {
    let mut text = format!(
        "name = \"coupled\"\n[run]\nhorizon = \"{horizon}\"\n[[lines]]\nname = \"L\"\n\
         [[lines.stations]]\nname = \"s0\"\nkind = \"generic\"\nspeed = \"20000/h\"\n"
    );
    for k in 0..sections {
        let next = k + 1;
        text += &format!(
            "[[lines.stations]]\nname = \"p{k}\"\nkind = \"generic\"\nspeed = \"11000/h\"\n\
             [[lines.stations]]\nname = \"q{k}\"\nkind = \"generic\"\nspeed = \"11000/h\"\n\
             failures = [{{ tbf = \"exp(20min)\", ttr = \"exp(2min)\" }}]\n\
             [[lines.stations]]\nname = \"s{next}\"\nkind = \"generic\"\nspeed = \"21000/h\"\n\
             [[lines.buffers]]\nname = \"in{k}\"\nfrom = \"s{k}\"\nto = [\"p{k}\", \"q{k}\"]\ncapacity = 20\n\
             [[lines.buffers]]\nname = \"out{k}\"\nfrom = [\"p{k}\", \"q{k}\"]\nto = \"s{next}\"\ncapacity = 20\n"
        );
    }
    text
}

/// A series line of `n` machines of 3,000–3,600/h failing every 45 min, buffers of 40.
fn series_of(n: usize, horizon: &str) -> String {
    let mut text =
        format!("name = \"series\"\n[run]\nhorizon = \"{horizon}\"\n[[lines]]\nname = \"L\"\n");
    for i in 0..n {
        let speed = [3000, 3600, 3200, 3400][i % 4];
        text += &format!(
            "[[lines.stations]]\nname = \"m{i}\"\nkind = \"generic\"\nspeed = \"{speed}/h\"\n\
             failures = [{{ tbf = \"exp(45min)\", ttr = \"exp(3min)\" }}]\n"
        );
        if i > 0 {
            text += &format!(
                "[[lines.buffers]]\nname = \"b{i}\"\nfrom = \"m{}\"\nto = \"m{i}\"\ncapacity = 40\n",
                i - 1
            );
        }
    }
    text
}

/// Found by the fuzzer: a plant holding 10^12 pallets and a DC ordering up to 10^12 sent
/// 3 × 10^10 trucks in one instant (a 3 GB allocation, then out of memory). A plant now
/// loads at most `TRUCKS_PER_TICK` trucks at once and the rest at the next tick, so the
/// run advances, its work can be estimated, and memory stays small.
#[test]
fn regression_a_huge_request_sends_trucks_tick_by_tick() {
    let text = crate::bundled_text("network.toml")
        .replacen("initial = 200", "initial = 1000000000000", 1)
        .replacen(
            "policy = { kind = \"order_up_to\", reorder_at = 300, order_up_to = 700 }",
            "policy = { kind = \"order_up_to\", reorder_at = 999999999999, order_up_to = 1000000000000 }",
            1,
        );
    let s = crate::parse(&text);
    let spec = RunSpec {
        horizon: sim::SimDuration::from_secs(3600),
        warmup: sim::SimDuration::ZERO,
        ..RunSpec::of(&s)
    };
    let estimate = twin_models::estimate(&s, spec);
    assert!(estimate.work.is_finite(), "{estimate:?}");
    let kpis = replicate(&s, spec, 1, 1).runs.remove(0).kpis;
    let network = kpis.network.expect("a network");
    let trucks: u64 = network.lanes.iter().map(|l| l.trucks).sum();
    // An hour: the first review and four production ticks, 1,000 trucks each at most.
    let per_tick = twin_models::network::TRUCKS_PER_TICK as u64;
    assert!(trucks >= per_tick, "the request ships: {trucks}");
    assert!(trucks <= 5 * per_tick * 2, "tick by tick: {trucks}");
}

/// A century of the bottling line sampled every minute grew memory by about 100 MB/s (the
/// time series kept until written). `run` now writes the series as it goes, and a series
/// past the bound (on disk or in memory) is refused before the run, naming its cells.
#[test]
fn regression_a_series_past_the_bound_is_refused_before_the_run() {
    let s = bundled("bottling-line-serial.toml");
    let century = RunSpec {
        horizon: sim::SimDuration::from_secs(36_500 * 86_400),
        ..RunSpec::of(&s)
    };
    let err = century.recording(&s, true).unwrap_err();
    assert!(
        matches!(err, twin_models::RunSpecError::TooManySamples { cells, .. } if cells > 500_000_000),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("more than the 50000000 a run keeps"),
        "{err}"
    );
    assert!(
        century.recording(&s, false).is_ok(),
        "without a series nothing is kept"
    );
}

/// The series taken as the run goes, in steps, is the series of the whole run, byte for
/// byte (what `run --out` writes), and nothing taken stays behind.
#[test]
fn a_series_taken_as_the_run_goes_is_the_whole_runs() {
    let s = bundled("bottling-line-serial.toml");
    let spec = RunSpec::of(&s);
    let whole = twin_models::simulate(&s, spec).series.unwrap().to_csv();
    let mut twin = Twin::new(&s, spec);
    let mut text = twin.series_csv_header().unwrap();
    let mut steps = 0;
    while !twin.done() {
        twin.advance_to(sim::SimTime(twin.now().0 + 7 * 60 * 1_000_000_000));
        text.push_str(&twin.take_series_csv());
        steps += 1;
    }
    let rest = twin.finish().series.unwrap();
    text.push_str(&sim::TimeSeries::csv_rows(rest.rows()));
    assert!(steps > 60, "{steps} steps");
    assert!(
        rest.rows().len() <= 1,
        "taken as it went: {} left",
        rest.rows().len()
    );
    assert_eq!(text, whole);
}

/// A second stop while one already held a machine booked the time between them as work
/// on its unit (found adding level switches): with a 100 s cycle, stops over [10, 60] and
/// [30, 40] leave the first unit 90 s of work at 60 s, so units finish at 150, 250, …,
/// 850 s: eight by 940 s (the old engine finished the first at 120 s, nine by then).
#[test]
fn regression_overlapping_stops_do_not_count_as_work() {
    let s = crate::parse(
        r#"
name = "overlapping stops"
[run]
horizon = "940s"
[[lines]]
name = "L1"
engine = "discrete"
planned_stops = [
  { name = "long", start = "10s", duration = "50s" },
  { name = "short", start = "30s", duration = "10s" },
]
[[lines.stations]]
name = "M"
kind = "generic"
speed = "36/h"
"#,
    );
    let l = crate::line(&s);
    assert_eq!(l.units_out, 8.0);
}

/// A material's trigger of a trillion units with loads of one (a fuzzed plant) made the
/// line call a trillion loads at its first check, growing memory until the machine gave
/// out; it is refused, naming the field.
#[test]
fn regression_a_trigger_of_too_many_loads_is_refused() {
    let text = crate::bundled_text("plant-agv.toml");
    let mut doc: toml::Table = toml::from_str(&text).unwrap();
    twin_models::scenario::set_field(
        &mut doc,
        "lines.L1.materials.labels.trigger",
        &toml::Value::Float(1e12),
    )
    .unwrap();
    let err = load_scenario("plant-agv.toml", &toml::to_string(&doc).unwrap()).unwrap_err();
    let d = err.diagnostics();
    assert_eq!(d.len(), 1, "{err}");
    assert_eq!(d[0].path, "lines[0].materials[2].trigger");
    assert!(d[0].reason.contains("more than the 100000 loads"), "{err}");
}

/// A model loop that waits for a time that never comes ran for ever (and with a fleet grew
/// memory): every run is watched by the kernel's progress guard. No model of the bundled
/// ones comes near the default; a guard set tight on purpose shows where a run stops and
/// what it then says.
#[test]
fn a_run_that_stops_making_progress_ends_there_and_says_so() {
    let s = bundled("textbook/mm1.toml");
    let spec = RunSpec {
        record_series: false,
        ..RunSpec::of(&s)
    };
    let plain = twin_models::simulate(&s, spec);
    assert_eq!(plain.stalled, None);
    // Events come at a steady rate (arrivals, services); 20,000 of them within 10
    // simulated hours is "no progress" to this guard: it acts when the 20,001st comes.
    let rate = plain.events as f64 / spec.horizon.as_secs_f64();
    let guard = sim::ProgressGuard {
        events: 20_000,
        window: sim::SimDuration::from_secs(10 * 3600),
    };
    let mut twin = Twin::new(&s, spec);
    twin.set_progress_guard(guard);
    twin.advance_to(sim::SimTime(spec.horizon.0));
    let stall = twin.stalled().expect("the guard acted");
    assert!(twin.done(), "a stalled run is over");
    assert_eq!(
        twin.now(),
        stall.at,
        "the clock stays where the run stopped"
    );
    assert_eq!(stall.events, guard.events + 1);
    let expected = 20_001.0 / rate;
    let at = stall.at.as_secs_f64();
    assert!(
        (at - expected).abs() < 0.05 * expected && at > spec.warmup.as_secs_f64(),
        "stopped at {at} s, expected about {expected} s"
    );
    // Nothing more is handled, and the output says where it stopped and measures to there.
    let events = twin.events();
    twin.advance_to(sim::SimTime(spec.horizon.0));
    assert_eq!(twin.events(), events);
    let out = twin.finish();
    assert_eq!(out.stalled, Some(stall));
    let measured = stall.at.as_secs_f64() - spec.warmup.as_secs_f64();
    assert!((out.kpis.measured_s - measured).abs() < 1e-6);
}
