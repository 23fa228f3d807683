//! Integration tests of the plant models, one binary (see ARCHITECTURE.md).

mod bad_scenarios;
mod closed_form;
mod conservation;
mod determinism;
mod fleet;
mod fleet_sizing;
mod fork_variants;
mod graph_lines;
mod hand_worked;
mod level_control;
mod machine_states;
mod network;
mod properties;
mod regression;
mod replay;
mod snapshot;
mod stock;
mod templates;
mod timeline;
mod twin;
mod units;

use twin_models::kpi::{LineKpis, RunKpis};
use twin_models::{RunSpec, Scenario, load_scenario, replicate};

/// The text of a bundled scenario, by its path under `scenarios/`.
pub fn bundled_text(path: &str) -> String {
    let full = format!("{}/../scenarios/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Loads a bundled scenario by its path under `scenarios/`.
pub fn bundled(path: &str) -> Scenario {
    load_scenario(path, &bundled_text(path)).unwrap_or_else(|e| panic!("{e}"))
}

/// Loads a scenario from text.
pub fn parse(text: &str) -> Scenario {
    load_scenario("test.toml", text).unwrap_or_else(|e| panic!("{e}"))
}

/// KPIs of `reps` replications with the scenario's own settings.
pub fn run(s: &Scenario, reps: usize) -> Vec<RunKpis> {
    let spec = RunSpec {
        record_series: false,
        ..RunSpec::of(s)
    };
    replicate(s, spec, reps, 2)
        .runs
        .into_iter()
        .map(|r| r.kpis)
        .collect()
}

/// The first line's KPIs of a single run.
pub fn line(s: &Scenario) -> LineKpis {
    run(s, 1).remove(0).lines.remove(0)
}

/// Mean and 95% half-width of `f` over replications.
pub fn summary(runs: &[RunKpis], f: impl Fn(&LineKpis) -> f64) -> sim::Summary {
    let xs: Vec<f64> = runs.iter().map(|r| f(&r.lines[0])).collect();
    sim::Summary::of(&xs)
}

/// Asserts that the replication mean agrees with theory: within three CI half-widths and
/// within `rel` relative error.
pub fn assert_agrees(what: &str, s: sim::Summary, theory: f64, rel: f64) {
    let err = (s.mean - theory).abs();
    assert!(
        err <= 3.0 * s.ci95_half_width.max(1e-12) && err <= rel * theory.abs(),
        "{what}: simulated {:.5} ± {:.5} (n = {}), theory {theory:.5}",
        s.mean,
        s.ci95_half_width,
        s.n
    );
}
