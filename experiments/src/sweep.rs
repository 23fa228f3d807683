//! Sweeps: a grid of variants over scenario fields, each run for the same replications.
//!
//! Every variant runs with the same seed set (replication r uses seed r of the base seed),
//! so variants share common random numbers: a station fails at the same moments in every
//! variant, and what differs between variants is the change, not the noise. Jobs (a variant
//! and a replication) are numbered variant by variant; shard `i/N` takes the jobs whose
//! number leaves remainder `i` when divided by `N`, so shards split work evenly and their
//! union is the whole sweep.

use crate::error::ExperimentError;
use crate::kpis::flatten;
use crate::overrides::{Parameter, apply};
use serde::{Deserialize, Serialize};
use sim::replication_seed;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use twin_models::{
    RunOutput, RunOverrides, RunSpec, RunSpecError, Scenario, load_scenario_with_files, simulate,
};

/// One combination of parameter values.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// Short readable name, e.g. `capacity=500 count=8`.
    pub label: String,
    /// The fields it sets, in parameter order.
    pub settings: Vec<(String, toml::Value)>,
}

/// Runs one sweep (or comparison) may ask for, variants times replications: every run's
/// KPIs stay in memory for the results, so this bounds a sweep's memory. A larger study
/// splits over machines with shards (`--shard i/N`, then `merge`).
pub const MAX_RUNS: usize = 1_000_000;

/// Every combination of the parameters' values; the last parameter varies fastest. No
/// parameters give the one base variant. Refused, before anything is made, when the
/// combinations alone pass [`MAX_RUNS`].
pub fn grid(parameters: &[Parameter]) -> Result<Vec<Variant>, ExperimentError> {
    let mut count: usize = 1;
    for p in parameters {
        count = count.saturating_mul(p.values.len());
    }
    if count > MAX_RUNS {
        let sizes: Vec<String> = parameters
            .iter()
            .map(|p| format!("{} ({})", p.path, p.values.len()))
            .collect();
        return Err(ExperimentError::Mismatch(format!(
            "the grid has {count} variants ({}), more than the {MAX_RUNS} runs one sweep takes: sweep fewer values, or split the study with --shard",
            sizes.join(" × ")
        )));
    }
    let names = short_names(parameters);
    let mut combos: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
    for p in parameters {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                p.values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((p.path.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    Ok(combos
        .into_iter()
        .map(|settings| {
            let label = if settings.is_empty() {
                "base".to_string()
            } else {
                settings
                    .iter()
                    .zip(&names)
                    .map(|((_, v), n)| format!("{n}={}", value_text(v)))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            Variant { label, settings }
        })
        .collect())
}

/// Refuses `variants × reps` runs past [`MAX_RUNS`] (a shard takes its share of them).
pub fn check_runs(variants: usize, reps: usize) -> Result<(), ExperimentError> {
    match variants.checked_mul(reps) {
        Some(n) if n <= MAX_RUNS => Ok(()),
        _ => Err(ExperimentError::Mismatch(format!(
            "{variants} variant(s) × {reps} replication(s) is more than the {MAX_RUNS} runs one sweep takes: fewer replications or values, or split the study over machines with --shard i/N and merge"
        ))),
    }
}

/// A value as a planner writes it: strings without quotes.
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The shortest tail of each path that tells it from the others (`capacity`, or
/// `rinse-fill.capacity` when two buffers are swept).
fn short_names(parameters: &[Parameter]) -> Vec<String> {
    let split: Vec<Vec<&str>> = parameters
        .iter()
        .map(|p| p.path.split('.').collect())
        .collect();
    split
        .iter()
        .map(|segs| {
            (1..=segs.len())
                .map(|k| segs[segs.len() - k..].join("."))
                .find(|tail| {
                    split
                        .iter()
                        .filter(|o| o.len() >= tail.split('.').count())
                        .filter(|o| o[o.len() - tail.split('.').count()..].join(".") == *tail)
                        .count()
                        == 1
                })
                .unwrap_or_else(|| segs.join("."))
        })
        .collect()
}

/// A deterministic slice of a sweep: jobs whose number leaves remainder `index` mod `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, from 0.
    pub index: usize,
    /// Shards in all.
    pub count: usize,
}

impl Shard {
    /// Parses `i/N` (0 ≤ i < N).
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}`: expected INDEX/COUNT, e.g. 0/8"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: the index is not a whole number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: the count is not a whole number"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "`{s}`: the index must be at least 0 and below the count"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether job number `job` is this shard's.
    pub fn takes(&self, job: usize) -> bool {
        job % self.count == self.index
    }
}

/// A variant ready to run: its scenario and run settings.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Readable name.
    pub label: String,
    /// The fields it sets.
    pub settings: Vec<(String, toml::Value)>,
    /// The scenario with those fields set.
    pub scenario: Scenario,
    /// Horizon and warm-up (the seed is set per replication).
    pub spec: RunSpec,
}

/// Builds each variant's scenario from the base scenario's TOML `text` (named `file`);
/// `read` reads the files a scenario names (layout maps), relative to its folder. Every
/// variant is checked before anything runs.
pub fn prepare(
    file: &str,
    text: &str,
    variants: &[Variant],
    overrides: RunOverrides,
    read: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Vec<Prepared>, ExperimentError> {
    // Templated lines written out, so that a path reaches every line's stations.
    let base = twin_models::scenario::expand_templates(file, text)?;
    variants
        .iter()
        .map(|v| {
            let mut doc = base.clone();
            for (path, value) in &v.settings {
                apply(&mut doc, path, value)?;
            }
            let changed = toml::to_string(&doc).expect("a TOML table serialises");
            let name = if v.settings.is_empty() {
                file.to_string()
            } else {
                format!("{file} [{}]", v.label)
            };
            let scenario = load_scenario_with_files(&name, &changed, read).map_err(|e| {
                ExperimentError::Variant {
                    variant: v.label.clone(),
                    message: e.to_string(),
                }
            })?;
            Ok(Prepared {
                label: v.label.clone(),
                settings: v.settings.clone(),
                spec: spec_of(&scenario, overrides).map_err(|e| ExperimentError::Variant {
                    variant: v.label.clone(),
                    message: e.to_string(),
                })?,
                scenario,
            })
        })
        .collect()
}

/// The scenario's run settings with `overrides` (every run of an experiment takes the
/// same horizon and warm-up; seeds are set per replication); no series, one thread per
/// run.
pub fn spec_of(scenario: &Scenario, overrides: RunOverrides) -> Result<RunSpec, RunSpecError> {
    Ok(RunSpec {
        record_series: false,
        ..RunSpec::with(scenario, overrides)?
    })
}

/// One replication of one variant.
#[derive(Clone, Debug, PartialEq)]
pub struct Replication {
    /// Variant number.
    pub variant: usize,
    /// Replication number.
    pub rep: usize,
    /// Its seed.
    pub seed: u64,
    /// Events the run handled.
    pub events: u64,
    /// Its KPIs, flattened.
    pub kpis: Vec<(String, f64)>,
    /// Where its model stopped making progress, if it did (then its KPIs are not the
    /// run asked for: see [`sim::ProgressGuard`]).
    pub stalled: Option<sim::Stall>,
}

/// How a sweep runs: threads, a callback per finished job, and a flag that stops it
/// between jobs (what finished is kept).
pub struct Controls<'a> {
    /// Worker threads (results do not depend on it).
    pub threads: usize,
    /// Called after each finished job, from the worker thread.
    pub on_done: &'a (dyn Fn() + Sync),
    /// When set, no further job starts.
    pub stop: &'a AtomicBool,
}

/// The jobs of a sweep (variant, replication) that `shard` takes, in job order.
pub fn jobs(variants: usize, reps: usize, shard: Option<Shard>) -> Vec<(usize, usize)> {
    (0..variants * reps)
        .filter(|&j| shard.is_none_or(|s| s.takes(j)))
        .map(|j| (j / reps, j % reps))
        .collect()
}

/// Runs `reps` replications of every variant (or a shard's share) from `base_seed`, on
/// all of `controls.threads`. Returns the finished replications in (variant, replication)
/// order; all of them unless stopped.
pub fn run(
    variants: &[Prepared],
    reps: usize,
    base_seed: u64,
    shard: Option<Shard>,
    controls: &Controls<'_>,
) -> Vec<Replication> {
    run_with(variants, reps, base_seed, shard, controls, &|p, seed| {
        simulate(&p.scenario, RunSpec { seed, ..p.spec })
    })
}

/// [`run`] with each replication made by `replicate` (variant, seed), e.g. a fork from a
/// snapshot instead of a run from time zero.
pub fn run_with(
    variants: &[Prepared],
    reps: usize,
    base_seed: u64,
    shard: Option<Shard>,
    controls: &Controls<'_>,
    replicate: &(dyn Fn(&Prepared, u64) -> RunOutput + Sync),
) -> Vec<Replication> {
    let todo = jobs(variants.len(), reps, shard);
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<Replication>>> = Mutex::new(vec![None; todo.len()]);
    let threads = controls.threads.clamp(1, todo.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    if controls.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(v, rep)) = todo.get(j) else {
                        break;
                    };
                    let seed = replication_seed(base_seed, rep);
                    let out = replicate(&variants[v], seed);
                    let row = Replication {
                        variant: v,
                        rep,
                        seed,
                        events: out.events,
                        kpis: flatten(&out.kpis),
                        stalled: out.stalled,
                    };
                    done.lock().unwrap_or_else(|e| e.into_inner())[j] = Some(row);
                    (controls.on_done)();
                }
            });
        }
    });
    done.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// A sweep file: the scenario, the replications and the parameters to sweep.
///
/// ```toml
/// scenario = "../scenarios/bottling-line.toml"   # relative to the sweep file
/// reps = 30
/// horizon = "8h"                                 # optional, like seed and warmup
///
/// [[parameters]]
/// path = "lines.L1.buffers.rinse-fill.capacity"
/// values = [500, 1000, 1500]
///
/// [[parameters]]
/// path = "lines.L1.stations.filler.speed"
/// values = "30000/h,36000/h"                     # a string reads as on the command line
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SweepFile {
    /// The base scenario, as written (relative to the sweep file).
    pub scenario: String,
    /// Replications per variant.
    pub reps: Option<usize>,
    /// Base seed.
    pub seed: Option<u64>,
    /// Run settings.
    pub overrides: RunOverrides,
    /// The parameters, in order (the last varies fastest).
    pub parameters: Vec<Parameter>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFileText {
    scenario: String,
    reps: Option<usize>,
    seed: Option<u64>,
    horizon: Option<String>,
    warmup: Option<String>,
    #[serde(default)]
    parameters: Vec<ParameterText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParameterText {
    path: String,
    values: ValuesText,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ValuesText {
    List(Vec<toml::Value>),
    Text(String),
}

impl SweepFile {
    /// Reads a sweep file's `text`; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<SweepFile, ExperimentError> {
        let raw: SweepFileText = toml::from_str(text).map_err(|e| {
            ExperimentError::file(file, format!("not a sweep file: {}", e.message().trim()))
        })?;
        let duration = |field: &str, v: Option<String>| {
            v.map(|s| {
                twin_models::units::parse_duration(&s)
                    .map_err(|e| ExperimentError::file(file, format!("{field}: {e}")))
            })
            .transpose()
        };
        let mut parameters = Vec::new();
        for (i, p) in raw.parameters.into_iter().enumerate() {
            let param = match p.values {
                ValuesText::Text(t) => crate::overrides::parse_set(&format!("{}={t}", p.path))?,
                ValuesText::List(values) if values.is_empty() => {
                    return Err(ExperimentError::file(
                        file,
                        format!("parameters[{i}] ({}): no values", p.path),
                    ));
                }
                ValuesText::List(values) => Parameter {
                    path: p.path,
                    values,
                },
            };
            parameters.push(param);
        }
        if raw.reps == Some(0) {
            return Err(ExperimentError::file(file, "reps must be at least 1"));
        }
        Ok(SweepFile {
            scenario: raw.scenario,
            reps: raw.reps,
            seed: raw.seed,
            overrides: RunOverrides {
                seed: None,
                horizon: duration("horizon", raw.horizon)?,
                warmup: duration("warmup", raw.warmup)?,
            },
            parameters,
        })
    }
}
