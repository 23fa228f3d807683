//! Replications and the `kpis.json` document.
//!
//! Every KPI of [`RunKpis`] is summarised over the replications as mean, standard deviation,
//! 95% confidence half-width (Student t), min, max and n. The document's shape mirrors
//! [`RunKpis`], with each number replaced by its summary; see `docs/kpis.md`.

use crate::plant::{RunOutput, RunSpec, simulate};
use crate::scenario::Scenario;
use serde_json::{Map, Value, json};
use sim::{Summary, replication_seed, run_replications};

/// Version tag of the `kpis.json` format.
pub const KPIS_FORMAT: &str = "twinline-kpis/1";

/// The outcome of N replications.
#[derive(Clone, Debug)]
pub struct Replications {
    /// Seed of each replication, in order.
    pub seeds: Vec<u64>,
    /// Each replication's output, in order.
    pub runs: Vec<RunOutput>,
}

impl Replications {
    /// Events handled over all replications.
    pub fn events(&self) -> u64 {
        self.runs.iter().map(|r| r.events).sum()
    }
}

/// Runs `reps` replications of `scenario` on up to `threads` threads. Replication 0 uses
/// `spec.seed`; only it records the time series. The result does not depend on `threads`.
pub fn replicate(scenario: &Scenario, spec: RunSpec, reps: usize, threads: usize) -> Replications {
    replicate_with(scenario, spec, reps, threads, |spec| {
        simulate(scenario, spec)
    })
}

/// As [`replicate`], with replication 0 (the one that records the series) run by `first`
/// from its settings, as the others run: a caller that writes its outputs as the run goes
/// keeps them out of memory. `first` must give the run `simulate` would.
pub fn replicate_with(
    scenario: &Scenario,
    spec: RunSpec,
    reps: usize,
    threads: usize,
    first: impl Fn(RunSpec) -> RunOutput + Sync,
) -> Replications {
    let runs = run_replications(reps, threads, spec.seed, |rep, seed| {
        let spec = RunSpec {
            seed,
            record_series: spec.record_series && rep == 0,
            ..spec
        };
        if rep == 0 {
            first(spec)
        } else {
            simulate(scenario, spec)
        }
    });
    Replications {
        seeds: (0..reps).map(|r| replication_seed(spec.seed, r)).collect(),
        runs,
    }
}

/// Summarises values of the same shape: numbers become summaries, other values are kept
/// from the first; `null` where every replication has `null`.
fn summarise(values: &[&Value]) -> Value {
    match values[0] {
        Value::Object(first) => {
            let mut out = Map::new();
            for key in first.keys().filter(|k| !crate::kpi::is_bookkeeping(k)) {
                let column: Vec<&Value> = values.iter().map(|v| &v[key]).collect();
                out.insert(key.clone(), summarise(&column));
            }
            Value::Object(out)
        }
        Value::Array(first) => Value::Array(
            (0..first.len())
                .map(|i| summarise(&values.iter().map(|v| &v[i]).collect::<Vec<_>>()))
                .collect(),
        ),
        Value::Number(_) | Value::Null => {
            let xs: Vec<f64> = values.iter().filter_map(|v| v.as_f64()).collect();
            if xs.is_empty() {
                return Value::Null;
            }
            serde_json::to_value(Summary::of(&xs)).expect("a summary serialises")
        }
        other => other.clone(),
    }
}

/// Wall-clock figures of a run, measured by the caller.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// Seconds of wall time for all replications.
    pub wall_time_s: f64,
}

/// The `kpis.json` document of a set of replications. With `timing` of `None` it holds
/// nothing that varies between identical runs.
pub fn kpis_document(
    scenario: &Scenario,
    spec: RunSpec,
    reps: &Replications,
    timing: Option<Timing>,
) -> Value {
    let per_rep: Vec<Value> = reps
        .runs
        .iter()
        .map(|r| serde_json::to_value(&r.kpis).expect("KPIs serialise"))
        .collect();
    let refs: Vec<&Value> = per_rep.iter().collect();
    let events = reps.events();
    let timing = timing.map(|t| {
        json!({
            "wall_time_s": t.wall_time_s,
            "events_per_s": if t.wall_time_s > 0.0 { events as f64 / t.wall_time_s } else { 0.0 },
        })
    });
    json!({
        "format": KPIS_FORMAT,
        "scenario": scenario.name,
        "seed": spec.seed,
        "seeds": reps.seeds,
        "replications": reps.runs.len(),
        "horizon_s": spec.horizon.as_secs_f64(),
        "warmup_s": spec.warmup.as_secs_f64(),
        "events_processed": events,
        "timing": timing,
        "summary": summarise(&refs),
        "runs": reps.runs.iter().zip(&reps.seeds).zip(per_rep).map(|((r, seed), kpis)| json!({
            "seed": seed,
            "events_processed": r.events,
            "kpis": kpis,
        })).collect::<Vec<_>>(),
    })
}
