//! `twinline sweep`, `compare` and `merge`: what-if experiments with replications.

use crate::{Failure, read_scenario, say, write};
use experiments::compare::{Comparison, compare};
use experiments::kpis::{Better, headline, is_headline};
use experiments::results::{SweepHeader, SweepResults, merge};
use experiments::sweep::{self, Controls, Prepared, Shard, SweepFile};
use experiments::{ExperimentError, check::fmt_num, overrides::parse_set};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use twin_models::RunOverrides;

/// What `twinline sweep` was asked.
pub struct SweepArgs {
    pub scenario: Option<PathBuf>,
    pub file: Option<PathBuf>,
    pub sets: Vec<String>,
    pub reps: Option<usize>,
    pub seed: Option<u64>,
    pub overrides: RunOverrides,
    /// Refuse work past the budget (estimated from the first variant).
    pub work_limit: bool,
    pub threads: Option<usize>,
    pub shard: Option<Shard>,
    pub out: PathBuf,
    /// Write report.html, plotting these KPI patterns (empty: the headline KPIs).
    pub report: Option<Vec<String>>,
}

pub(crate) fn bad(e: ExperimentError) -> Failure {
    Failure::BadInput(e.to_string())
}

fn read(path: &Path, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::BadInput(format!("{}: cannot read the {what}: {e}", path.display())))
}

/// Reads the files a scenario names, relative to its folder.
pub(crate) fn file_reader(scenario: &Path) -> impl Fn(&str) -> Result<String, String> + use<> {
    let dir = scenario.parent().map(Path::to_path_buf).unwrap_or_default();
    move |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    }
}

pub(crate) fn threads_of(threads: Option<usize>) -> Result<usize, Failure> {
    let t = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if t == 0 {
        return Err(Failure::BadInput("--threads must be at least 1".into()));
    }
    Ok(t)
}

/// A progress bar on standard error (hidden when it is not a terminal) and a Ctrl-C
/// handler that stops the work between runs.
pub(crate) struct Progress {
    pub bar: indicatif::ProgressBar,
    pub stop: Arc<AtomicBool>,
}

impl Progress {
    pub fn new(total: usize, what: &str) -> Self {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{bar:40}} {{pos}}/{{len}} {what}  {{per_sec}}  ETA {{eta}}"
            ))
            .expect("a valid progress template"),
        );
        Progress {
            bar,
            stop: interrupt_flag(),
        }
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// The flag Ctrl-C (or SIGTERM) sets, shared by every run of this process: a process has
/// one handler, installed on first use.
fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let set = flag.clone();
        // Without a handler Ctrl-C ends the process at once, as it always could.
        let _ = ctrlc::set_handler(move || set.store(true, Ordering::SeqCst));
        flag
    })
    .clone()
}

/// Refuses a sweep's runs when one of them stopped making progress.
pub(crate) fn refuse_stalled_runs(name: &str, runs: &[sweep::Replication]) -> Result<(), Failure> {
    crate::refuse_stalled(name, runs.iter().map(|r| r.stalled), |k| {
        format!("variant {} replication {}", runs[k].variant, runs[k].rep)
    })
}

/// Runs `reps` replications of `prepared` (a shard's share) on `threads` with a progress
/// bar counting `what`; returns what finished and whether Ctrl-C stopped it.
pub(crate) fn run_with_progress(
    prepared: &[Prepared],
    reps: usize,
    seed: u64,
    shard: Option<Shard>,
    threads: usize,
    what: &str,
) -> (Vec<sweep::Replication>, bool) {
    let progress = Progress::new(sweep::jobs(prepared.len(), reps, shard).len(), what);
    let bar = progress.bar.clone();
    let runs = sweep::run(
        prepared,
        reps,
        seed,
        shard,
        &Controls {
            threads,
            on_done: &move || bar.inc(1),
            stop: &progress.stop,
        },
    );
    progress.bar.finish_and_clear();
    (runs, progress.stopped())
}

#[allow(clippy::disallowed_methods, reason = "the CLI reports wall time")]
pub fn sweep(args: SweepArgs) -> Result<(), Failure> {
    let file = args
        .file
        .as_ref()
        .map(|f| SweepFile::parse(&f.display().to_string(), &read(f, "sweep file")?).map_err(bad))
        .transpose()?;
    let scenario_path = match (&args.scenario, &file, &args.file) {
        (Some(s), _, _) => s.clone(),
        (None, Some(sf), Some(f)) => f.parent().unwrap_or(Path::new("")).join(&sf.scenario),
        _ => {
            return Err(Failure::BadInput(
                "give a scenario file, or a sweep file with --file".into(),
            ));
        }
    };
    let mut parameters = file
        .as_ref()
        .map(|f| f.parameters.clone())
        .unwrap_or_default();
    for s in &args.sets {
        parameters.push(parse_set(s).map_err(bad)?);
    }
    if let Some(dup) = parameters
        .iter()
        .enumerate()
        .find(|(i, p)| parameters[..*i].iter().any(|q| q.path == p.path))
    {
        return Err(Failure::BadInput(format!(
            "--set {}: the path is swept twice",
            dup.1.path
        )));
    }
    let from_file = file.as_ref().map(|f| f.overrides).unwrap_or_default();
    let overrides = RunOverrides {
        seed: None,
        horizon: args.overrides.horizon.or(from_file.horizon),
        warmup: args.overrides.warmup.or(from_file.warmup),
    };
    let text = read(&scenario_path, "scenario")?;
    let name = scenario_path.display().to_string();
    let variants = sweep::grid(&parameters).map_err(bad)?;
    let reader = file_reader(&scenario_path);
    let prepared = sweep::prepare(&name, &text, &variants, overrides, &reader).map_err(bad)?;
    let base = &prepared[0].scenario;
    let reps = args
        .reps
        .or(file.as_ref().and_then(|f| f.reps))
        .unwrap_or(base.run.replications.max(1) as usize);
    if reps == 0 {
        return Err(Failure::BadInput("--reps must be at least 1".into()));
    }
    sweep::check_runs(prepared.len(), reps).map_err(bad)?;
    // The variants share the horizon; the first stands for them all.
    let runs = sweep::jobs(prepared.len(), reps, args.shard).len();
    crate::check_work(
        &scenario_path,
        base,
        prepared[0].spec,
        runs,
        args.work_limit,
    )?;
    let seed = args
        .seed
        .or(file.as_ref().and_then(|f| f.seed))
        .unwrap_or(base.run.seed);
    let threads = threads_of(args.threads)?;
    let jobs = sweep::jobs(prepared.len(), reps, args.shard).len();
    say(&format!(
        "sweep {}: {} variant(s) × {reps} replication(s){} = {jobs} run(s) on {threads} thread(s)\n",
        name,
        prepared.len(),
        args.shard.map_or(String::new(), |s| format!(
            ", shard {}/{}",
            s.index, s.count
        )),
    ));
    let started = std::time::Instant::now();
    let (runs, stopped) = run_with_progress(&prepared, reps, seed, args.shard, threads, "runs");
    refuse_stalled_runs(&name, &runs)?;
    let wall = started.elapsed().as_secs_f64();
    let params: Vec<String> = parameters.iter().map(|p| p.path.clone()).collect();
    let header = SweepHeader::new(
        &scenario_stem(&scenario_path),
        &params,
        &prepared,
        reps,
        seed,
    );
    let results = SweepResults::new(header, args.shard, &runs);
    say(&sweep_table(&results));
    say(&format!("{} run(s) in {wall:.2} s\n", runs.len()));
    write_results(&args.out, &results, args.report.as_deref())?;
    if stopped {
        say(&format!(
            "stopped: {} of {jobs} run(s) finished; the results hold what finished\n",
            runs.len()
        ));
        return Err(Failure::Interrupted);
    }
    Ok(())
}

pub(crate) fn scenario_stem(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

fn create_dir(dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::Io(format!("{}: cannot create: {e}", dir.display())))
}

fn write_results(
    out: &Path,
    results: &SweepResults,
    report: Option<&[String]>,
) -> Result<(), Failure> {
    create_dir(out)?;
    write(&out.join("results.json"), &results.to_json())?;
    write(&out.join("results.csv"), &results.summary_csv())?;
    write(&out.join("replications.csv"), &results.replications_csv())?;
    let mut wrote = vec!["results.json", "results.csv", "replications.csv"];
    if let Some(kpis) = report {
        write(
            &out.join("report.html"),
            &experiments::report::sweep_report(results, kpis),
        )?;
        wrote.push("report.html");
    }
    say(&format!(
        "wrote {} in {}\n",
        wrote.join(", "),
        out.display()
    ));
    Ok(())
}

/// The headline KPIs (rows) of each variant (columns, eight at a time): mean ± 95% CI
/// half-width, with the replications behind them.
fn sweep_table(r: &SweepResults) -> String {
    let heads: Vec<&String> = headline(&r.kpis);
    let heads: Vec<&String> = if heads.is_empty() {
        r.kpis.iter().take(6).collect()
    } else {
        heads
    };
    let kw = heads.iter().map(|k| k.len()).max().unwrap_or(3).max(3);
    let variants: Vec<usize> = (0..r.header.variants.len()).collect();
    let mut out = String::new();
    for block in variants.chunks(8) {
        let cells: Vec<Vec<String>> = heads
            .iter()
            .map(|k| {
                block
                    .iter()
                    .map(|&v| {
                        r.summary(v, k).map_or("—".into(), |s| {
                            format!("{} ± {}", fmt_num(s.mean), fmt_num(s.ci95_half_width))
                        })
                    })
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = block
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                cells
                    .iter()
                    .map(|row| row[i].chars().count())
                    .chain([r.header.variants[v].label.chars().count()])
                    .max()
                    .unwrap_or(1)
            })
            .collect();
        out.push_str(&format!("{:<kw$}", "kpi"));
        for (i, &v) in block.iter().enumerate() {
            out.push_str(&format!(
                "  {:>w$}",
                r.header.variants[v].label,
                w = widths[i]
            ));
        }
        out.push('\n');
        for (k, row) in heads.iter().zip(&cells) {
            out.push_str(&format!("{k:<kw$}"));
            for (i, cell) in row.iter().enumerate() {
                out.push_str(&format!("  {cell:>w$}", w = widths[i]));
            }
            out.push('\n');
        }
    }
    let ns: Vec<u64> = r.summaries.iter().map(|s| s.summary.n).collect();
    let (lo, hi) = (
        ns.iter().min().copied().unwrap_or(0),
        ns.iter().max().copied().unwrap_or(0),
    );
    out.push_str(&if lo == hi {
        format!("mean ± 95% CI half-width over {hi} replication(s) per variant\n")
    } else {
        format!("mean ± 95% CI half-width over {lo} to {hi} replication(s) per variant\n")
    });
    out
}

pub fn merge_dirs(dirs: &[PathBuf], out: &Path, report: bool) -> Result<(), Failure> {
    let mut parts = Vec::new();
    for d in dirs {
        let f = d.join("results.json");
        let name = f.display().to_string();
        parts.push((
            name.clone(),
            SweepResults::from_json(&name, &read(&f, "sweep results")?).map_err(bad)?,
        ));
    }
    let merged = merge(&parts).map_err(bad)?;
    say(&sweep_table(&merged));
    if merged.missing > 0 {
        say(&format!(
            "{} replication(s) are in no shard given\n",
            merged.missing
        ));
    }
    write_results(out, &merged, report.then_some(&[][..]))
}

/// What `twinline compare` was asked.
pub struct CompareArgs {
    pub a: PathBuf,
    pub b: PathBuf,
    pub reps: usize,
    pub seed: Option<u64>,
    pub overrides: RunOverrides,
    /// Refuse work past the budget.
    pub work_limit: bool,
    pub threads: Option<usize>,
    pub alpha: f64,
    pub all: bool,
    pub out: Option<PathBuf>,
}

pub fn compare_files(args: CompareArgs) -> Result<(), Failure> {
    if args.reps < 2 {
        return Err(Failure::BadInput(
            "--reps must be at least 2 for a paired test".into(),
        ));
    }
    sweep::check_runs(2, args.reps).map_err(bad)?;
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(Failure::BadInput(
            "--alpha must lie between 0 and 1, e.g. 0.05".into(),
        ));
    }
    let load = |p: &Path| -> Result<Prepared, Failure> {
        let scenario = read_scenario(p)?;
        let spec = sweep::spec_of(&scenario, args.overrides)
            .map_err(|e| Failure::BadInput(format!("{}: {e}", p.display())))?;
        Ok(Prepared {
            label: scenario_stem(p),
            settings: Vec::new(),
            scenario,
            spec,
        })
    };
    let (a, b) = (load(&args.a)?, load(&args.b)?);
    for (path, p) in [(&args.a, &a), (&args.b, &b)] {
        crate::check_work(path, &p.scenario, p.spec, args.reps, args.work_limit)?;
    }
    let seed = args.seed.unwrap_or(a.scenario.run.seed);
    let threads = threads_of(args.threads)?;
    let both = [a, b];
    let (runs, stopped) = run_with_progress(&both, args.reps, seed, None, threads, "runs");
    refuse_stalled_runs("compare", &runs)?;
    if stopped {
        return Err(Failure::Interrupted);
    }
    let (ra, rb): (Vec<_>, Vec<_>) = runs.into_iter().partition(|r| r.variant == 0);
    let c = compare(&ra, &rb, args.alpha);
    say(&compare_table(&c, &both[0].label, &both[1].label, args.all));
    if let Some(dir) = &args.out {
        let (a, b) = (args.a.display().to_string(), args.b.display().to_string());
        write_comparison(dir, &c, &a, &b, seed)?;
    }
    Ok(())
}

/// Writes compare.json: the comparison of `a` with `b` (files, or variants) from `seed`.
fn write_comparison(
    dir: &Path,
    c: &Comparison,
    a: &str,
    b: &str,
    seed: u64,
) -> Result<(), Failure> {
    create_dir(dir)?;
    let text = serde_json::to_string_pretty(&serde_json::json!({
        "format": "twinline-compare/1",
        "a": a,
        "b": b,
        "seed": seed,
        "comparison": c,
    }))
    .expect("a comparison serialises")
        + "\n";
    write(&dir.join("compare.json"), &text)?;
    say(&format!("wrote {}\n", dir.join("compare.json").display()));
    Ok(())
}

fn compare_table(c: &Comparison, a: &str, b: &str, all: bool) -> String {
    let rows: Vec<_> = c
        .differences
        .iter()
        .filter(|d| all || is_headline(&d.kpi) || d.significant)
        .collect();
    let kw = rows.iter().map(|d| d.kpi.len()).max().unwrap_or(3).max(3);
    let mut out = format!(
        "{} paired replication(s), same seeds; B − A with its 95% CI; significant at p < {}\n",
        c.pairs, c.alpha
    );
    out.push_str(&format!(
        "{:<kw$}  {:>20}  {:>20}  {:>30}  {:>8}  \n",
        "kpi",
        format!("A: {a}"),
        format!("B: {b}"),
        "B − A",
        "p"
    ));
    for d in &rows {
        let diff = format!(
            "{} [{}, {}]",
            fmt_num(d.difference.mean),
            fmt_num(d.difference.mean - d.difference.ci95_half_width),
            fmt_num(d.difference.mean + d.difference.ci95_half_width)
        );
        let verdict = if !d.significant {
            "no significant difference".to_string()
        } else {
            let up = d.difference.mean > 0.0;
            match (d.better, up) {
                (Better::Higher, true) | (Better::Lower, false) => "B is better".into(),
                (Better::Higher, false) | (Better::Lower, true) => "B is worse".into(),
                (Better::Either, _) => "significantly different".into(),
            }
        };
        out.push_str(&format!(
            "{:<kw$}  {:>20}  {:>20}  {:>30}  {:>8}  {verdict}\n",
            d.kpi,
            format!("{} ± {}", fmt_num(d.a.mean), fmt_num(d.a.ci95_half_width)),
            format!("{} ± {}", fmt_num(d.b.mean), fmt_num(d.b.ci95_half_width)),
            diff,
            d.p_value.map_or("—".into(), |p| format!("{p:.4}")),
        ));
    }
    let n = c.significant().count();
    out.push_str(&format!(
        "{n} of {} KPI(s) differ significantly{}\n",
        c.differences.len(),
        if all {
            ""
        } else {
            " (headline and significant ones shown; --all for every KPI)"
        }
    ));
    if !c.only_a.is_empty() {
        out.push_str(&format!("only in A: {}\n", c.only_a.join(", ")));
    }
    if !c.only_b.is_empty() {
        out.push_str(&format!("only in B: {}\n", c.only_b.join(", ")));
    }
    out
}

/// What `twinline fork … --set` was asked.
pub struct ForkSweepArgs<'a> {
    pub snapshot: &'a Path,
    pub scenario: Option<&'a Path>,
    pub sets: &'a [String],
    pub ahead: sim::SimDuration,
    pub reps: usize,
    pub seed: Option<u64>,
    pub threads: Option<usize>,
    pub out: Option<&'a Path>,
    pub report: bool,
    /// Refuse work past the budget.
    pub work_limit: bool,
}

/// The scenario a snapshot was taken of, read from `path` (its TOML text, with the files
/// it names) and checked to be it: no setting may differ.
pub(crate) fn snapshot_scenario_text(
    path: &Path,
    snapshot: &Path,
    taken_of: &twin_models::Scenario,
) -> Result<String, Failure> {
    let text = read(path, "scenario")?;
    let scenario =
        crate::load_scenario_file(path, &text).map_err(|e| Failure::BadInput(e.to_string()))?;
    let differs = match twin_models::plant::variant::changes(taken_of, &scenario) {
        Ok(changes) => match changes.first() {
            None => return Ok(text),
            Some(change) => change.describe(taken_of),
        },
        Err(twin_models::SnapshotError::CannotChange { field, .. }) => format!("`{field}`"),
        Err(e) => e.to_string(),
    };
    Err(Failure::BadInput(format!(
        "{}: not the scenario {} was taken of ({differs} differs): give that one, and what to change with --set",
        path.display(),
        snapshot.display(),
    )))
}

/// `twinline fork SNAPSHOT SCENARIO --set …`: a sweep (two variants: a comparison) of
/// forks from the snapshot, every variant on the same futures.
#[allow(clippy::disallowed_methods, reason = "the CLI reports wall time")]
pub fn fork_sweep(args: ForkSweepArgs<'_>) -> Result<(), Failure> {
    let Some(scenario_path) = args.scenario else {
        return Err(Failure::BadInput(
            "--set needs the scenario file the snapshot was taken of, after the snapshot (a snapshot holds its scenario resolved, not its text)".into(),
        ));
    };
    if args.reps == 0 {
        return Err(Failure::BadInput("--reps must be at least 1".into()));
    }
    let bytes = crate::snapshot::read_bytes(args.snapshot)?;
    let snap = crate::snapshot::decode(args.snapshot, &bytes)?;
    let text = snapshot_scenario_text(scenario_path, args.snapshot, &snap.scenario)?;
    let mut parameters = Vec::new();
    for s in args.sets {
        let p = parse_set(s).map_err(bad)?;
        if parameters
            .iter()
            .any(|q: &experiments::overrides::Parameter| q.path == p.path)
        {
            return Err(Failure::BadInput(format!(
                "--set {}: the path is set twice",
                p.path
            )));
        }
        parameters.push(p);
    }
    let variants = sweep::grid(&parameters).map_err(bad)?;
    sweep::check_runs(variants.len(), args.reps).map_err(bad)?;
    crate::check_fork_work(
        args.snapshot,
        &snap.scenario,
        args.ahead,
        variants.len() * args.reps,
        args.work_limit,
    )?;
    let name = scenario_path.display().to_string();
    let reader = file_reader(scenario_path);
    let mut prepared =
        sweep::prepare(&name, &text, &variants, RunOverrides::default(), &reader).map_err(bad)?;
    let ahead = args.ahead;
    let at = snap.header.time.0;
    for p in &mut prepared {
        // What the forks measure: from the snapshot to `ahead` of it.
        p.spec.warmup = sim::SimDuration(at);
        p.spec.horizon = sim::SimDuration(at.saturating_add(ahead.0));
    }
    // Each variant is forked once before any thread starts: a change the state cannot
    // take, or a look past the run's end, is refused up front.
    for p in &prepared {
        let run = crate::snapshot::decode(args.snapshot, &bytes)?.run;
        twin_models::Twin::fork_variant(&p.scenario, &snap.scenario, run, 0, ahead).map_err(
            |e| {
                Failure::BadInput(format!(
                    "{}: variant {}: {e}",
                    args.snapshot.display(),
                    p.label
                ))
            },
        )?;
    }
    let header = &snap.header;
    let seed = args
        .seed
        .unwrap_or_else(|| twin_models::fork_seed(header.seed, header.time));
    let threads = threads_of(args.threads)?;
    say(&format!(
        "fork {} at {:.0} s, {:.0} s ahead: {} variant(s) × {} future(s) on {threads} thread(s)\n",
        args.snapshot.display(),
        header.time.as_secs_f64(),
        ahead.as_secs_f64(),
        prepared.len(),
        args.reps
    ));
    let started = std::time::Instant::now();
    let progress = Progress::new(prepared.len() * args.reps, "futures");
    let bar = progress.bar.clone();
    let runs = sweep::run_with(
        &prepared,
        args.reps,
        seed,
        None,
        &Controls {
            threads,
            on_done: &move || bar.inc(1),
            stop: &progress.stop,
        },
        &|p, seed| {
            twin_models::fork_run(&bytes, &p.scenario, seed, ahead, false)
                .expect("a variant forked once forks again")
        },
    );
    progress.bar.finish_and_clear();
    refuse_stalled_runs(&name, &runs)?;
    let wall = started.elapsed().as_secs_f64();
    let params: Vec<String> = parameters.iter().map(|p| p.path.clone()).collect();
    let results = SweepResults::new(
        SweepHeader::new(
            &scenario_stem(scenario_path),
            &params,
            &prepared,
            args.reps,
            seed,
        ),
        None,
        &runs,
    );
    say(&sweep_table(&results));
    let comparison = (prepared.len() == 2 && args.reps >= 2 && !progress.stopped()).then(|| {
        let (ra, rb): (Vec<_>, Vec<_>) = runs.iter().cloned().partition(|r| r.variant == 0);
        compare(&ra, &rb, 0.05)
    });
    if let Some(c) = &comparison {
        say(&compare_table(
            c,
            &prepared[0].label,
            &prepared[1].label,
            false,
        ));
    }
    say(&format!("{} future(s) in {wall:.2} s\n", runs.len()));
    if let Some(dir) = args.out {
        let kpis = args.report.then_some(&[][..]);
        write_results(dir, &results, kpis)?;
        if let Some(c) = &comparison {
            write_comparison(dir, c, &prepared[0].label, &prepared[1].label, seed)?;
        }
    }
    if progress.stopped() {
        return Err(Failure::Interrupted);
    }
    Ok(())
}
