//! The engine's speed measurements, defined once: the criterion benches
//! (`benches/engine.rs`) and `twinline bench` both run these, each timing
//! [`Measurement::run`] in its own way (criterion's statistics; the best of a few runs).

use sim::SimDuration;
use twin_models::{RunSpec, Scenario, load_scenario, load_scenario_with_files, simulate};

/// What a measurement is held to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// Nothing of its own: the figure is reported.
    None,
    /// At most this many seconds of wall time.
    AtMostSeconds(f64),
    /// At least this many events (work units) a second.
    AtLeastPerSecond(f64),
}

impl Target {
    /// Whether a run of `wall` seconds doing `events` meets the target (`None` without one).
    pub fn met(self, wall: f64, events: u64) -> Option<bool> {
        match self {
            Target::None => None,
            Target::AtMostSeconds(s) => Some(wall <= s),
            Target::AtLeastPerSecond(r) => Some(events as f64 / wall >= r),
        }
    }

    /// The target as people read it.
    pub fn text(self) -> String {
        match self {
            Target::None => String::new(),
            Target::AtMostSeconds(s) if s < 1.0 => format!("≤ {s:.3} s"),
            Target::AtMostSeconds(s) => format!("≤ {s} s"),
            Target::AtLeastPerSecond(r) => format!("≥ {} M events/s", r / 1e6),
        }
    }
}

/// One measurement of the engine's speed.
pub struct Measurement {
    /// Criterion's group and name.
    pub group: &'static str,
    /// Criterion's name within the group.
    pub name: String,
    /// What `twinline bench` calls it.
    pub label: String,
    /// What it is held to.
    pub target: Target,
    /// Samples criterion takes (heavy cases take few).
    pub samples: usize,
    /// Runs `twinline bench` takes at most, keeping the best.
    pub repeat: usize,
    run: Box<dyn Fn() -> u64 + Send + Sync>,
}

impl Measurement {
    /// Runs it once; returns the events (or other work units) done.
    pub fn run(&self) -> u64 {
        (self.run)()
    }
}

/// Reads a file by its path relative to the scenarios folder (`textbook/mm1.toml`,
/// `sweeps/bottling-line-buffers.toml`, `maps/warehouse-10x6.map`).
pub type Reader<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// The folder part of `path` (`sweeps/` of `sweeps/x.toml`), with its slash.
fn folder(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..=i])
}

/// Loads the scenario at `path`, its own files read relative to its folder.
fn scenario(read: Reader<'_>, path: &str) -> Result<Scenario, String> {
    let text = read(path)?;
    let dir = folder(path);
    load_scenario_with_files(path, &text, &|f: &str| read(&format!("{dir}{f}")))
        .map_err(|e| e.to_string())
}

/// `plant-10-lines.toml` with level control on every accumulation conveyor of its line
/// template: a high switch at 90 % that stops the machine before it (lets go at 70 %) and
/// a low switch at 10 % that runs the machine after it at 90 % (lets go at 30 %).
fn controlled_plant(read: Reader<'_>) -> Result<Scenario, String> {
    let path = "plant-10-lines.toml";
    let mut doc: toml::Table = toml::from_str(&read(path)?).map_err(|e| e.to_string())?;
    let switches: toml::Table =
        toml::from_str(r#"v = [{ on = "90%", off = "70%" }, { on = "10%", off = "30%" }]"#)
            .expect("valid TOML");
    for buffer in [
        "depal-rinse",
        "rinse-fille",
        "cappe-label",
        "label-packe",
        "packe-palle",
    ] {
        twin_models::scenario::set_field(
            &mut doc,
            &format!("line_templates.pet-36k.buffers.{buffer}.switches"),
            &switches["v"],
        )?;
    }
    let text = toml::to_string(&doc).map_err(|e| e.to_string())?;
    load_scenario_with_files(path, &text, &|f: &str| read(f)).map_err(|e| e.to_string())
}

/// A branching line of `sections` × 3 + 1 stations: each section divides a station's
/// output between two parallel machines (one unreliable) that merge onto the next
/// station, 8 h with `engine` ("discrete": unit by unit, whose cost should grow with its
/// size, not faster; "auto": as flows).
pub fn graph_line(sections: usize, engine: &str) -> Result<Scenario, String> {
    let mut stations = vec![
        r#"{ name = "s0", kind = "generic", speed = "20000/h", failures = [{ tbf = "exp(30min)", ttr = "exp(3min)" }] }"#
            .to_string(),
    ];
    let mut buffers = Vec::new();
    for k in 0..sections {
        stations.push(format!(
            r#"{{ name = "p{k}", kind = "generic", speed = "11000/h" }}"#
        ));
        stations.push(format!(
            r#"{{ name = "q{k}", kind = "generic", speed = "11000/h", failures = [{{ tbf = "exp(20min)", ttr = "exp(2min)" }}] }}"#
        ));
        stations.push(format!(
            r#"{{ name = "s{}", kind = "generic", speed = "21000/h" }}"#,
            k + 1
        ));
        buffers.push(format!(
            r#"{{ name = "in{k}", from = "s{k}", to = ["p{k}", "q{k}"], capacity = 20 }}"#
        ));
        buffers.push(format!(
            r#"{{ name = "out{k}", from = ["p{k}", "q{k}"], to = "s{}", capacity = 20 }}"#,
            k + 1
        ));
    }
    let text = format!(
        "name = \"graph-{}\"\n[run]\nhorizon = \"8h\"\n[[lines]]\nname = \"L\"\nengine = \"{engine}\"\nstations = [\n{}\n]\nbuffers = [\n{}\n]\n",
        stations.len(),
        stations.join(",\n"),
        buffers.join(",\n")
    );
    load_scenario("graph-line.toml", &text).map_err(|e| e.to_string())
}

/// A series line of `stations` unreliable fixed-cycle machines (3,000–3,600/h, in turn)
/// with buffers of 40 between them, 8 h as flows: each event is planned only as far as
/// it reaches, so the cost should grow with the line's size, not faster.
pub fn series_line(stations: usize) -> Result<Scenario, String> {
    let list: Vec<String> = (0..stations)
        .map(|i| {
            format!(
                r#"{{ name = "s{i}", kind = "generic", speed = "{}/h", failures = [{{ tbf = "exp(45min)", ttr = "exp(3min)" }}] }}"#,
                [3000, 3600, 3200, 3400][i % 4]
            )
        })
        .collect();
    let buffers: Vec<String> = (1..stations)
        .map(|i| {
            format!(
                r#"{{ name = "b{i}", from = "s{}", to = "s{i}", capacity = 40 }}"#,
                i - 1
            )
        })
        .collect();
    let text = format!(
        "name = \"series-{stations}\"\n[run]\nhorizon = \"8h\"\n[[lines]]\nname = \"L\"\nstations = [\n{}\n]\nbuffers = [\n{}\n]\n",
        list.join(",\n"),
        buffers.join(",\n")
    );
    load_scenario("series-line.toml", &text).map_err(|e| e.to_string())
}

/// A run of `scenario` without series, on `threads` threads, with `horizon` when given.
fn quiet(scenario: &Scenario, threads: usize, horizon: Option<SimDuration>) -> RunSpec {
    let mut spec = RunSpec {
        record_series: false,
        threads,
        ..RunSpec::of(scenario)
    };
    if let Some(h) = horizon {
        spec.horizon = h;
        spec.warmup = SimDuration::ZERO;
    }
    spec
}

/// A measurement that runs `scenario` with `spec` and counts its events.
fn simulation(
    group: &'static str,
    name: &str,
    label: &str,
    target: Target,
    (samples, repeat): (usize, usize),
    scenario: Scenario,
    spec: RunSpec,
) -> Measurement {
    Measurement {
        group,
        name: name.to_string(),
        label: label.to_string(),
        target,
        samples,
        repeat,
        run: Box::new(move || simulate(&scenario, spec).events),
    }
}

/// The bundled sweep file `sweeps/<name>`: its variants ready to run, replications and
/// base seed.
pub fn sweep_of(
    read: Reader<'_>,
    name: &str,
) -> Result<(Vec<experiments::sweep::Prepared>, usize, u64), String> {
    let path = format!("sweeps/{name}");
    let file =
        experiments::sweep::SweepFile::parse(&path, &read(&path)?).map_err(|e| e.to_string())?;
    let scenario_path = format!("sweeps/{}", file.scenario);
    let base = read(&scenario_path)?;
    let dir = folder(&scenario_path).to_string();
    let variants = experiments::sweep::grid(&file.parameters).map_err(|e| e.to_string())?;
    let prepared = experiments::sweep::prepare(
        &scenario_path,
        &base,
        &variants,
        file.overrides,
        &|f: &str| read(&format!("{dir}{f}")),
    )
    .map_err(|e| e.to_string())?;
    let seed = file.seed.unwrap_or(prepared[0].scenario.run.seed);
    Ok((prepared, file.reps.unwrap_or(1), seed))
}

/// Runs a prepared sweep on `threads` threads; returns the events of all its runs.
pub fn run_sweep(
    prepared: &[experiments::sweep::Prepared],
    reps: usize,
    seed: u64,
    threads: usize,
) -> u64 {
    let stop = std::sync::atomic::AtomicBool::new(false);
    let controls = experiments::sweep::Controls {
        threads,
        on_done: &|| {},
        stop: &stop,
    };
    experiments::sweep::run(prepared, reps, seed, None, &controls)
        .iter()
        .map(|r| r.events)
        .sum()
}

/// 5,000 AGVs parked on 70 of the 72 rows of an open 72 × 72 floor, carrying loads
/// between the two free rows: idle vehicles pushed aside all the time (this took 115 s
/// when every push sent a vehicle looking for parking).
pub fn dense_fleet() -> Result<Scenario, String> {
    let row = ".".repeat(72);
    let grid = vec![row.as_str(); 72].join("\n");
    let text = format!(
        r#"name = "dense-fleet"
[run]
horizon = "5min"
seed = 1
[layout]
cell = 3.0
grid = """
{grid}
"""
locations = [
  {{ name = "park", kind = "parking", area = [0, 0, 71, 69] }},
  {{ name = "a", kind = "rack", area = [0, 70, 35, 71], group = "west" }},
  {{ name = "b", kind = "dock", area = [36, 70, 71, 71], group = "east" }},
]
[fleet]
[[fleet.vehicles]]
name = "agv"
count = 5000
speed = 1.5
footprint = [1.0, 1.6]
load_time = "20s"
unload_time = "20s"
[[tasks]]
name = "move"
from = "west"
to = "east"
per_hour = 2000
[[lines]]
name = "L"
[[lines.stations]]
name = "m"
kind = "filler"
speed = "3600/h"
"#
    );
    load_scenario("dense-fleet.toml", &text).map_err(|e| e.to_string())
}

/// Travel costs (steps) of `vehicles` × `tasks` on a 100 × 100 floor, vehicles and
/// pickups scattered by a fixed generator: the dispatch decision's worst size.
pub fn dispatch_costs(vehicles: usize, tasks: usize) -> Vec<Vec<u64>> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % 100
    };
    let spots = |n: usize, next: &mut dyn FnMut() -> u64| -> Vec<(u64, u64)> {
        (0..n).map(|_| (next(), next())).collect()
    };
    let at = spots(vehicles, &mut next);
    let pickups = spots(tasks, &mut next);
    at.iter()
        .map(|&(x, y)| {
            pickups
                .iter()
                .map(|&(px, py)| x.abs_diff(px) + y.abs_diff(py))
                .collect()
        })
        .collect()
}

/// The engine's measurements on the bundled scenarios `read` finds, with `cores` threads
/// for the ones that use all cores, in the order `twinline bench` reports them.
pub fn engine_suite(read: Reader<'_>, cores: usize) -> Result<Vec<Measurement>, String> {
    let line = scenario(read, "bottling-line.toml")?;
    let serial = scenario(read, "bottling-line-serial.toml")?;
    let mm1 = scenario(read, "textbook/mm1.toml")?;
    let tandem = scenario(read, "stress/tandem-4-failures.toml")?;
    let plant = scenario(read, "plant-10-lines.toml")?;
    let controlled = controlled_plant(read)?;
    let agv = scenario(read, "plant-agv.toml")?;
    let stress = scenario(read, "warehouse-stress.toml")?;
    let hours = |h: u64| Some(SimDuration::from_secs(h * 3600));
    let mut suite = vec![
        simulation(
            "engine",
            "bottling_line_8h",
            "bottling-line (divider, combiner, cases, pallets, level control), 8 h",
            Target::AtMostSeconds(0.005),
            (20, 5),
            line.clone(),
            quiet(&line, 1, None),
        ),
        simulation(
            "engine",
            "bottling_line_serial_8h",
            "bottling-line-serial, 8 h",
            Target::AtMostSeconds(0.020),
            (100, 5),
            serial.clone(),
            quiet(&serial, 1, None),
        ),
        simulation(
            "mm1",
            "mm1_events_12h",
            "M/M/1, 12 h (per-unit events)",
            Target::AtLeastPerSecond(20e6),
            (100, 5),
            mm1.clone(),
            quiet(&mm1, 1, hours(12)),
        ),
        simulation(
            "mm1",
            "tandem_4_failures_72h",
            "tandem of 4 with failures, 72 h",
            Target::AtLeastPerSecond(15e6),
            (30, 5),
            tandem.clone(),
            quiet(&tandem, 1, hours(72)),
        ),
        simulation(
            "stress",
            "plant_10_lines_1y",
            "plant-10-lines, 1 year, 1 thread",
            Target::AtMostSeconds(4.0),
            (10, 1),
            plant.clone(),
            quiet(&plant, 1, None),
        ),
        simulation(
            "stress",
            "plant_10_lines_level_control_1y",
            "plant-10-lines, level control, 1 year, 1 thread",
            Target::AtMostSeconds(10.0),
            (10, 1),
            controlled.clone(),
            quiet(&controlled, 1, None),
        ),
        simulation(
            "fleet",
            "plant_agv_24h",
            "plant-agv, 24 h, 12 AGVs",
            Target::AtMostSeconds(2.0),
            (10, 3),
            agv.clone(),
            quiet(&agv, 1, None),
        ),
        simulation(
            "fleet",
            "warehouse_stress_2h",
            "warehouse-stress, 2 h, 300 AGVs",
            Target::None,
            (10, 1),
            stress.clone(),
            quiet(&stress, 1, None),
        ),
    ];
    for (sections, repeat) in [(33, 3), (333, 1)] {
        let line = graph_line(sections, "discrete")?;
        let n = line.lines[0].stations.len();
        suite.push(simulation(
            "engine",
            &format!("graph_line_{n}_8h"),
            &format!("branching line of {n} stations, 8 h, unit by unit"),
            Target::None,
            (10, repeat),
            line.clone(),
            quiet(&line, 1, None),
        ));
        let line = graph_line(sections, "auto")?;
        suite.push(simulation(
            "engine",
            &format!("graph_line_fluid_{n}_8h"),
            &format!("branching line of {n} stations, 8 h, as flows"),
            Target::None,
            (10, repeat),
            line.clone(),
            quiet(&line, 1, None),
        ));
    }
    for (stations, repeat) in [(1000, 3), (4000, 1)] {
        let line = series_line(stations)?;
        suite.push(simulation(
            "engine",
            &format!("series_line_fluid_{stations}_8h"),
            &format!("series line of {stations} unreliable machines, 8 h, as flows"),
            Target::None,
            (10, repeat),
            line.clone(),
            quiet(&line, 1, None),
        ));
    }
    let costs = std::sync::Arc::new(dispatch_costs(300, 500));
    suite.push(Measurement {
        group: "fleet",
        name: "dispatch_min_empty_travel_300x500".into(),
        label: "min-empty-travel dispatch, 300 vehicles × 500 tasks".into(),
        target: Target::AtMostSeconds(0.010),
        samples: 20,
        repeat: 5,
        run: Box::new(move || {
            orchestrator::assign(orchestrator::DispatchPolicy::MinEmptyTravel, &costs).len() as u64
        }),
    });
    let dense = dense_fleet()?;
    suite.push(simulation(
        "fleet",
        "dense_fleet_5000_5min",
        "5,000 AGVs on 72 × 72 cells (96 % full), 5 min, idle vehicles staying",
        Target::None,
        (10, 1),
        dense.clone(),
        quiet(&dense, 1, None),
    ));
    let ring = scenario(read, "textbook/agv-loop.toml")?;
    suite.push(simulation(
        "fleet",
        "agv_loop_48h",
        "agv-loop, 48 h, 6 AGVs, min-empty-travel",
        Target::None,
        (10, 3),
        ring.clone(),
        quiet(&ring, 1, None),
    ));
    suite.extend(snapshot_measurements(agv.clone()));
    let feed = feeds::synthetic_ndjson(200_000);
    suite.push(Measurement {
        group: "feed",
        name: "ingest_ndjson_200k".into(),
        label: "feed ingestion, 200,000 NDJSON lines".into(),
        target: Target::AtLeastPerSecond(1e6),
        samples: 10,
        repeat: 5,
        run: Box::new(move || feeds::ingest_ndjson(&feed).0),
    });
    let sweep = std::sync::Arc::new(sweep_of(read, "bottling-line-buffers.toml")?);
    let mut sweep_threads = vec![1];
    if cores > 1 {
        sweep_threads.push(cores);
    }
    for threads in sweep_threads {
        let s = sweep.clone();
        suite.push(Measurement {
            group: "sweep",
            name: format!("bottling_line_buffers_8x30_{threads}_threads"),
            label: format!(
                "sweep 8 × 30 reps × 8 h, {threads} thread{}",
                if threads == 1 { "" } else { "s" }
            ),
            target: Target::AtMostSeconds(10.0),
            samples: 10,
            repeat: 3,
            run: Box::new(move || run_sweep(&s.0, s.1, s.2, threads)),
        });
    }
    if cores > 1 {
        suite.push(simulation(
            "stress",
            &format!("plant_10_lines_1y_{cores}_threads"),
            &format!("plant-10-lines, 1 year, {cores} threads"),
            Target::AtMostSeconds(10.0),
            (10, 1),
            plant.clone(),
            quiet(&plant, cores, None),
        ));
    }
    Ok(suite)
}

/// Writing a snapshot of plant-agv 12 h into its run, and reading it back into a twin ready
/// to go on (targets: 50 ms each; the work units are the snapshot's bytes, at most 5 MB).
fn snapshot_measurements(agv: Scenario) -> Vec<Measurement> {
    let spec = RunSpec {
        record_series: false,
        ..RunSpec::of(&agv)
    };
    let mut twin = twin_models::Twin::new(agv.clone(), spec);
    twin.handle_events_to(sim::SimTime(12 * 3600 * sim::NANOS_PER_SEC));
    let bytes = std::sync::Arc::new(twin.save());
    let write = Measurement {
        group: "snapshot",
        name: "plant_agv_12h_write".into(),
        label: "snapshot of plant-agv at 12 h: write".into(),
        target: Target::AtMostSeconds(0.050),
        samples: 20,
        repeat: 5,
        run: Box::new(move || twin.save().len() as u64),
    };
    let read = Measurement {
        group: "snapshot",
        name: "plant_agv_12h_read".into(),
        label: "snapshot of plant-agv at 12 h: read and resume".into(),
        target: Target::AtMostSeconds(0.050),
        samples: 20,
        repeat: 5,
        run: Box::new(move || {
            let snap =
                twin_models::plant::save::read(&bytes).expect("a snapshot just written reads");
            let twin = twin_models::Twin::resume(&agv, snap.run).expect("of its own scenario");
            std::hint::black_box(twin.now());
            bytes.len() as u64
        }),
    };
    vec![write, read]
}
