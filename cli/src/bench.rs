//! `twinline bench`: the engine's speed on the bundled scenarios, as a short report.
//! The same measurements as the criterion benches in `benches/`, for anyone with the binary.

use crate::say;
use experiments::sweep::{self, SweepFile};
use sim::SimDuration;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;
use twin_models::{RunSpec, Scenario, simulate};

fn load(dir: &Path, name: &str) -> Result<Scenario, String> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    crate::load_scenario_file(&path, &text).map_err(|e| e.to_string())
}

/// Best wall time over `repeat` runs, and the events of one run.
#[allow(
    clippy::disallowed_methods,
    reason = "measuring wall time is this command's job"
)]
fn measure(s: &Scenario, spec: RunSpec, repeat: usize) -> (f64, u64) {
    let mut best = f64::INFINITY;
    let mut events = 0;
    for _ in 0..repeat {
        let t = Instant::now();
        events = simulate(s, spec).events;
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, events)
}

/// Best wall time of the bundled sweep on `threads` threads, and its events.
#[allow(
    clippy::disallowed_methods,
    reason = "measuring wall time is this command's job"
)]
fn sweep_row(dir: &Path, threads: usize, repeat: usize) -> Result<(f64, u64), String> {
    let path = dir.join("sweeps/bottling-line-buffers.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let file = SweepFile::parse(&path.display().to_string(), &text).map_err(|e| e.to_string())?;
    let scenario_path = dir.join("sweeps").join(&file.scenario);
    let base = std::fs::read_to_string(&scenario_path)
        .map_err(|e| format!("{}: cannot read: {e}", scenario_path.display()))?;
    let reader = crate::experiment::file_reader(&scenario_path);
    let prepared = sweep::prepare(
        &scenario_path.display().to_string(),
        &base,
        &sweep::grid(&file.parameters),
        file.overrides,
        &reader,
    )
    .map_err(|e| e.to_string())?;
    let reps = file.reps.unwrap_or(1);
    let seed = file.seed.unwrap_or(prepared[0].scenario.run.seed);
    let stop = AtomicBool::new(false);
    let controls = sweep::Controls {
        threads,
        on_done: &|| {},
        stop: &stop,
    };
    let mut best = f64::INFINITY;
    let mut events = 0;
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        let runs = sweep::run(&prepared, reps, seed, None, &controls);
        best = best.min(t.elapsed().as_secs_f64());
        events = runs.iter().map(|r| r.events).sum();
    }
    Ok((best, events))
}

/// Best wall time to ingest a synthetic feed of `lines` NDJSON lines (parse, dedupe,
/// order, apply to stock positions), and the events applied.
#[allow(
    clippy::disallowed_methods,
    reason = "measuring wall time is this command's job"
)]
fn ingest_row(lines: usize, repeat: usize) -> (f64, u64) {
    let text = orchestrator::feed::synthetic_ndjson(lines);
    let mut best = f64::INFINITY;
    let mut events = 0;
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        events = orchestrator::feed::ingest_ndjson(&text).0;
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, events)
}

/// Runs the measurements and prints the report.
pub fn run(dir: &Path, repeat: usize) -> Result<(), String> {
    let line = load(dir, "bottling-line.toml")?;
    let plant = load(dir, "plant-10-lines.toml")?;
    let mm1 = load(dir, "textbook/mm1.toml")?;
    let agv = load(dir, "plant-agv.toml")?;
    let stress = load(dir, "warehouse-stress.toml")?;
    let quiet = |s: &Scenario| RunSpec {
        record_series: false,
        ..RunSpec::of(s)
    };
    say(&format!(
        "{:<36}{:>12}{:>14}{:>16}   {}\n",
        "measurement", "wall", "events", "events/s", "target"
    ));
    // `target` empty: a figure without a target of its own.
    let row = |name: &str, (wall, events): (f64, u64), target: &str, met: bool| {
        let verdict = match (target.is_empty(), met) {
            (true, _) => "—",
            (false, true) => "(met)",
            (false, false) => "(NOT met)",
        };
        say(&format!(
            "{:<36}{:>10.3} s{:>14}{:>14.2} M   {} {}\n",
            name,
            wall,
            events,
            events as f64 / wall / 1e6,
            target,
            verdict
        ));
    };
    let r = measure(&line, quiet(&line), repeat);
    row("bottling-line, 8 h", r, "≤ 0.020 s", r.0 <= 0.020);
    let mm1_spec = RunSpec {
        horizon: SimDuration::from_secs(12 * 3600),
        warmup: SimDuration::ZERO,
        ..quiet(&mm1)
    };
    let r = measure(&mm1, mm1_spec, repeat);
    row(
        "M/M/1, 12 h (per-unit events)",
        r,
        "≥ 5 M events/s",
        r.1 as f64 / r.0 >= 5e6,
    );
    let r = measure(&plant, quiet(&plant), 1);
    // The target is for all cores (the last row); one thread shows the speed-up.
    row("plant-10-lines, 1 year, 1 thread", r, "", true);
    let r = measure(&agv, quiet(&agv), repeat.min(3));
    row("plant-agv, 24 h, 12 AGVs", r, "≤ 2 s", r.0 <= 2.0);
    let r = measure(&stress, quiet(&stress), 1);
    row("warehouse-stress, 2 h, 300 AGVs", r, "", true);
    let r = ingest_row(200_000, repeat.min(5));
    row(
        "feed ingestion, 200,000 NDJSON lines",
        r,
        "≥ 1 M events/s",
        r.1 as f64 / r.0 >= 1e6,
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let one = sweep_row(dir, 1, repeat.min(3))?;
    row(
        "sweep 8 variants × 30 reps × 8 h, 1 thread",
        one,
        "< 10 s",
        one.0 < 10.0,
    );
    if cores > 1 {
        let all = sweep_row(dir, cores, repeat.min(3))?;
        row(
            &format!("sweep 8 × 30 × 8 h, {cores} threads"),
            all,
            "< 10 s",
            all.0 < 10.0,
        );
        say(&format!(
            "{:<36}{:>10.2} ×\n",
            "  sweep speed-up",
            one.0 / all.0
        ));
    }
    if cores > 1 {
        let r = measure(
            &plant,
            RunSpec {
                threads: cores,
                ..quiet(&plant)
            },
            1,
        );
        row(
            &format!("plant-10-lines, 1 year, {cores} threads"),
            r,
            "≤ 10 s",
            r.0 <= 10.0,
        );
    }
    Ok(())
}
