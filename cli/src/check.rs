//! `twinline check`: KPIs against stored baselines, for CI.

use crate::experiment::{bad, file_reader, run_with_progress, scenario_stem, threads_of};
use crate::{Failure, say, write};
use experiments::check::{BASELINE_FORMAT, Baseline, CheckReport, Tolerances, check, junit, table};
use experiments::results::{SweepHeader, SweepResults};
use experiments::sweep::{self, Variant};
use sim::SimDuration;
use std::path::PathBuf;
use twin_models::RunOverrides;

/// What `twinline check` was asked.
pub struct CheckArgs {
    pub scenarios: Vec<PathBuf>,
    pub baseline: PathBuf,
    pub update: bool,
    pub junit: Option<PathBuf>,
    pub reps: usize,
    pub horizon: Option<sim::SimDuration>,
    pub threads: Option<usize>,
    pub all: bool,
}

#[allow(
    clippy::disallowed_methods,
    reason = "JUnit reports each scenario's wall time"
)]
pub fn run(args: CheckArgs) -> Result<(), Failure> {
    if args.reps == 0 {
        return Err(Failure::BadInput("--reps must be at least 1".into()));
    }
    let threads = threads_of(args.threads)?;
    // Read every scenario and baseline first, so bad input stops the check before any run.
    let mut plans = Vec::new();
    for path in &args.scenarios {
        let stem = scenario_stem(path);
        let file = args.baseline.join(format!("{stem}.toml"));
        let baseline = match std::fs::read_to_string(&file) {
            Ok(text) => Some(Baseline::parse(&file.display().to_string(), &text).map_err(bad)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && args.update => None,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Failure::BadInput(format!(
                    "{}: no baseline for {} (write one with --update-baseline)",
                    file.display(),
                    path.display()
                )));
            }
            Err(e) => {
                return Err(Failure::BadInput(format!(
                    "{}: cannot read: {e}",
                    file.display()
                )));
            }
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::BadInput(format!("{}: cannot read the scenario: {e}", path.display()))
        })?;
        let overrides = baseline.as_ref().map_or_else(
            || RunOverrides {
                horizon: args.horizon,
                ..RunOverrides::default()
            },
            |b| RunOverrides {
                seed: None,
                horizon: Some(SimDuration::from_secs_f64(b.horizon_s)),
                warmup: Some(SimDuration::from_secs_f64(b.warmup_s)),
            },
        );
        let base = Variant {
            label: stem.clone(),
            settings: Vec::new(),
        };
        let prepared = sweep::prepare(
            &path.display().to_string(),
            &text,
            &[base],
            overrides,
            &file_reader(path),
        )
        .map_err(bad)?;
        plans.push((path.clone(), stem, file, baseline, prepared));
    }
    let mut reports: Vec<CheckReport> = Vec::new();
    let mut seconds = Vec::new();
    for (path, stem, file, baseline, prepared) in plans {
        let scenario = &prepared[0].scenario;
        let (seed, reps) = baseline
            .as_ref()
            .map_or((scenario.run.seed, args.reps), |b| (b.seed, b.reps));
        let started = std::time::Instant::now();
        let (runs, stopped) = run_with_progress(
            &prepared,
            reps,
            seed,
            None,
            threads,
            &format!("runs of {stem}"),
        );
        crate::experiment::refuse_stalled_runs(&stem, &runs)?;
        if stopped {
            return Err(Failure::Interrupted);
        }
        seconds.push(started.elapsed().as_secs_f64());
        let header = SweepHeader::new(&stem, &[], &prepared, reps, seed);
        let results = SweepResults::new(header, None, &runs);
        let current: Vec<(String, sim::Summary)> = results
            .summaries
            .iter()
            .map(|s| (s.kpi.clone(), s.summary))
            .collect();
        if args.update {
            let spec = prepared[0].spec;
            let fresh = Baseline {
                format: BASELINE_FORMAT.into(),
                scenario: stem.clone(),
                seed,
                reps,
                horizon_s: spec.horizon.as_secs_f64(),
                warmup_s: spec.warmup.as_secs_f64(),
                tolerance: baseline
                    .map(|b| b.tolerance)
                    .unwrap_or_else(Tolerances::default),
                kpis: Default::default(),
            };
            std::fs::create_dir_all(&args.baseline).map_err(|e| {
                Failure::Io(format!("{}: cannot create: {e}", args.baseline.display()))
            })?;
            write(&file, &fresh.to_toml(&current))?;
            say(&format!(
                "{}: wrote {} ({} KPIs, {reps} replications, seed {seed})\n",
                path.display(),
                file.display(),
                current.len()
            ));
            continue;
        }
        let baseline = baseline.expect("a baseline is read unless updating");
        let report = check(&stem, &baseline, &current);
        say(&table(&report, args.all));
        reports.push(report);
    }
    if let Some(j) = &args.junit
        && !args.update
    {
        if let Some(dir) = j.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::Io(format!("{}: cannot create: {e}", dir.display())))?;
        }
        write(j, &junit(&reports, &seconds))?;
        say(&format!("wrote {}\n", j.display()));
    }
    if reports.iter().any(CheckReport::failed) {
        let failed: Vec<&str> = reports
            .iter()
            .filter(|r| r.failed())
            .map(|r| r.scenario.as_str())
            .collect();
        say(&format!("check failed: {} regressed\n", failed.join(", ")));
        return Err(Failure::Regressed);
    }
    Ok(())
}
