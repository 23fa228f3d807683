//! `twinline`: run, replay, sweep, compare, check, validate and benchmark bottling-plant
//! scenarios headless, and watch them in the 3D viewer (`view`, the default `view` feature).
//!
//! Exit codes: 0 success; 1 the run failed (I/O, a MAPF search found no solution in time,
//! or `check` found a regression); 2 bad input (scenario, map, flag, baseline); 130
//! stopped by Ctrl-C (a sweep keeps what finished).

mod bench;
mod check;
mod experiment;
mod feed_report;
mod lifelong;
mod live;
mod mapf;
mod pace;
mod replay;
mod report;
mod snapshot;
mod stream;
mod table;
#[cfg(feature = "view")]
mod view;

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use twin_models::scenario::ScenarioError;
use twin_models::units::parse_duration;
use twin_models::{
    RunSpec, RunSpecError, Scenario, Timing, kpis_document, load_scenario_with_files, replicate,
};

#[derive(Parser)]
#[command(
    name = "twinline",
    version,
    about = "Digital twin of a bottling plant: headless runs, feeds, what-if experiments, KPI checks for CI, validation, benchmarks and a 3D viewer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The scenario's run settings a command line may override.
#[derive(clap::Args, Clone, Copy)]
struct RunOverrides {
    /// Base seed (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated time, e.g. 8h, 365d (default: the scenario's).
    #[arg(long, value_parser = duration_arg)]
    horizon: Option<sim::SimDuration>,
    /// Warm-up left out of the statistics, e.g. 1h (default: the scenario's).
    #[arg(long, value_parser = duration_arg)]
    warmup: Option<sim::SimDuration>,
    /// Run even when the work estimated up front passes the budget (docs/scenarios.md,
    /// "Work budget"); without it such a run is refused.
    #[arg(long)]
    no_work_limit: bool,
}

/// Saving a run at an instant, and resuming one (docs/snapshots.md).
#[derive(clap::Args)]
struct Snapshots {
    /// Save the run's whole state at this simulated time (e.g. 4h) into --snapshot, then
    /// run on to the horizon.
    #[arg(long, value_parser = duration_arg, requires = "snapshot", conflicts_with = "resume")]
    snapshot_at: Option<sim::SimDuration>,
    /// The snapshot file --snapshot-at writes.
    #[arg(long, requires = "snapshot_at")]
    snapshot: Option<PathBuf>,
    /// Resume the run a snapshot holds and run it to its horizon (its seed, horizon and
    /// warm-up are the snapshot's).
    #[arg(long)]
    resume: Option<PathBuf>,
}

/// Settings of a run with a feed.
#[derive(clap::Args, Clone, Copy)]
struct FeedOptions {
    /// Raise a `feed_gap` alert when a site sends nothing for this long (simulated time).
    #[arg(long, default_value = "6h", value_parser = duration_arg)]
    gap_alert: sim::SimDuration,
}

/// Where results go.
#[derive(clap::Args)]
struct Output {
    /// Directory for kpis.json, timeseries.csv (and, for replay, quarantine.ndjson and
    /// alerts.ndjson).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Leave wall-clock timing out of kpis.json, so identical runs give identical bytes.
    #[arg(long)]
    reproducible: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and print its KPIs; write kpis.json, timeseries.csv, timeline.csv and
    /// alerts.ndjson with --out (and report.html with --report).
    Run {
        /// Scenario file (TOML); with --resume, optional (the snapshot holds its scenario),
        /// and when given it must be the one the snapshot was taken of.
        #[arg(required_unless_present = "resume")]
        scenario: Option<PathBuf>,
        #[command(flatten)]
        overrides: RunOverrides,
        #[command(flatten)]
        snapshots: Snapshots,
        /// Independent replications, reported as mean and 95% confidence interval.
        #[arg(long)]
        reps: Option<usize>,
        /// Threads for replications (default: all cores). Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        #[command(flatten)]
        output: Output,
        /// Also write report.html (plots of the run) in the --out directory.
        #[arg(long, requires = "out")]
        report: bool,
    },
    /// What-ifs from now: replications run forward from a snapshot (of `run --snapshot`,
    /// or a live twin's `--state` directory), each a fresh random future from the same
    /// state; writes what `run` writes (docs/snapshots.md, "Forks").
    Fork {
        /// The snapshot file (or a live twin's state directory).
        snapshot: PathBuf,
        /// The scenario file the snapshot was taken of (checked against it): needed with
        /// --set, as a snapshot holds its scenario resolved, not its text.
        scenario: Option<PathBuf>,
        /// PATH=V1,V2,... — a setting changed from the snapshot on, as for `sweep` (buffer
        /// capacities, machine speeds, level switches, the fleet's dispatch, idle policy,
        /// lateness weight and size, stock policies); every combination is a variant, all on
        /// the same futures, reported as `sweep` reports (two variants: also as `compare`).
        /// Repeatable.
        #[arg(long = "set")]
        sets: Vec<String>,
        /// How far ahead to look, e.g. 8h (at most to the end of the run the snapshot was
        /// taken from).
        #[arg(long, value_parser = duration_arg)]
        horizon: sim::SimDuration,
        /// Replications (futures), reported as mean and 95% confidence interval.
        #[arg(long, default_value = "30")]
        reps: usize,
        /// Base seed of the futures (default: one derived from the snapshot).
        #[arg(long)]
        seed: Option<u64>,
        /// Threads (default: all cores). Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        #[command(flatten)]
        output: Output,
        /// Also write report.html (plots of the first future) in the --out directory.
        #[arg(long, requires = "out")]
        report: bool,
        /// Run even when the work estimated up front passes the budget (docs/scenarios.md,
        /// "Work budget"); without it such a fork is refused.
        #[arg(long)]
        no_work_limit: bool,
    },
    /// Run every combination of scenario field values (a grid), each for the same
    /// replications and seeds; writes results.json, results.csv and replications.csv.
    Sweep {
        /// Base scenario file (TOML); or give a sweep file with --file.
        scenario: Option<PathBuf>,
        /// A sweep file (TOML: scenario, reps, parameters); see docs/experiments.md.
        #[arg(long)]
        file: Option<PathBuf>,
        /// PATH=V1,V2,... — a scenario field by dotted path and its values
        /// (`lines.L1.buffers.B2.capacity=50,100,200`, `fleet.size=8..16`). Repeatable.
        #[arg(long = "set")]
        sets: Vec<String>,
        /// Replications per variant (default: the sweep file's, else the scenario's).
        #[arg(long)]
        reps: Option<usize>,
        /// The same base seed, horizon and warm-up for every variant.
        #[command(flatten)]
        overrides: RunOverrides,
        /// Threads (default: all cores). Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Run only slice INDEX/COUNT of the runs (e.g. 0/8); join shards with `merge`.
        #[arg(long, value_parser = experiments::sweep::Shard::parse)]
        shard: Option<experiments::sweep::Shard>,
        /// Directory for the results.
        #[arg(long)]
        out: PathBuf,
        /// Also write report.html with a response curve per headline KPI.
        #[arg(long)]
        report: bool,
        /// KPIs to plot in the report, by name pattern (`*` matches anything; repeatable).
        #[arg(long = "report-kpi", requires = "report")]
        report_kpis: Vec<String>,
    },
    /// Run two scenarios with the same seeds and compare their KPIs pairwise: the
    /// difference, its 95% CI and a paired t-test.
    Compare {
        /// Scenario A (TOML).
        a: PathBuf,
        /// Scenario B (TOML).
        b: PathBuf,
        /// Replication pairs.
        #[arg(long, default_value_t = 10)]
        reps: usize,
        /// Seed for both (default: A's); horizon and warm-up (default: each scenario's).
        #[command(flatten)]
        overrides: RunOverrides,
        /// Threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Significance level of the tests.
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Show every KPI, not only the headline and significant ones.
        #[arg(long)]
        all: bool,
        /// Directory for compare.json.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Join the results of sweep shards (directories holding results.json) into one.
    Merge {
        /// Shard result directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Directory for the merged results.
        #[arg(long)]
        out: PathBuf,
        /// Also write report.html.
        #[arg(long)]
        report: bool,
    },
    /// Run scenarios with their baselines' seeds and replications and compare every KPI
    /// with the baseline's tolerances: exit 1 on a regression, 0 otherwise, 2 on bad input.
    Check {
        /// Scenario files; each has its baseline DIR/<file stem>.toml.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Directory of baseline files.
        #[arg(long)]
        baseline: PathBuf,
        /// Write the baselines from this run instead of checking (tolerances are kept).
        #[arg(long)]
        update_baseline: bool,
        /// Write JUnit XML here.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Replications for a new baseline (an existing one keeps its own).
        #[arg(long, default_value_t = 10)]
        reps: usize,
        /// Simulated time per run for a new baseline, e.g. 7d (default: the scenario's;
        /// an existing baseline keeps its own).
        #[arg(long, value_parser = duration_arg)]
        horizon: Option<sim::SimDuration>,
        /// Threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// List every KPI, not only those out of tolerance.
        #[arg(long)]
        all: bool,
    },
    /// Write report.html in DIR from the results there (a run's kpis.json and
    /// timeseries.csv, or a sweep's results.json).
    Report {
        /// Result directory.
        dir: PathBuf,
        /// KPIs to plot for a sweep, by name pattern (`*` matches anything; repeatable;
        /// `--kpi '*'` for all). Default: the headline KPIs.
        #[arg(long = "kpi")]
        kpis: Vec<String>,
    },
    /// Run a scenario with recorded inventory feeds applied at their times (see
    /// docs/feeds.md); writes kpis.json with the ingestion counters and quarantine.ndjson.
    Replay {
        /// Scenario file (TOML); needs `run.start`.
        scenario: PathBuf,
        /// Feed files (.ndjson, .jsonl or .csv), merged in time order.
        #[arg(long = "feed", required = true)]
        feeds: Vec<PathBuf>,
        /// Pace the run: simulated seconds per wall second (60 = a minute a second), with
        /// alerts printed as NDJSON as they are raised. Default: as fast as possible. The
        /// results do not depend on it.
        #[arg(long, value_parser = pace::speed_arg)]
        speed: Option<f64>,
        #[command(flatten)]
        feed: FeedOptions,
        #[command(flatten)]
        overrides: RunOverrides,
        #[command(flatten)]
        output: Output,
    },
    /// Run a scenario paced to the wall clock, applying inventory events as they arrive
    /// from MQTT topics or standard input (NDJSON); alerts print as NDJSON as they are
    /// raised (and go to `twinline/<site>/alerts` when on MQTT). Ends at the horizon, or at
    /// Ctrl-C with the results up to then.
    Live {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Broker to subscribe on: mqtt://[USER:PASSWORD@]HOST[:PORT] or mqtts://... (TLS).
        /// Credentials in the URL (percent-encoded) or from TWINLINE_MQTT_USERNAME and
        /// TWINLINE_MQTT_PASSWORD; they are never printed or written, and a broker that
        /// refuses them ends the run (exit 2).
        #[arg(long)]
        mqtt: Vec<String>,
        /// Topic filters to subscribe to (QoS 1).
        #[arg(long = "topic", default_value = "twinline/+/inventory/#")]
        topics: Vec<String>,
        /// MQTT client id; the broker keeps this session's messages while the twin is
        /// away, so keep it stable between runs.
        #[arg(long, default_value = "twinline-live")]
        client_id: String,
        /// CA certificates (PEM) for mqtts:// (default: the system's).
        #[arg(long)]
        ca: Option<PathBuf>,
        /// Also read NDJSON events from standard input.
        #[arg(long)]
        stdin: bool,
        /// Simulated seconds per wall second.
        #[arg(long, default_value = "1", value_parser = pace::speed_arg)]
        speed: f64,
        /// Real time at simulated time 0 (RFC 3339; default: now).
        #[arg(long, value_parser = timestamp_arg)]
        start: Option<feeds::Timestamp>,
        /// How late (simulated time) an event may arrive and still apply in time order;
        /// the twin runs this far behind the feed clock.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        lateness: sim::SimDuration,
        /// A directory that makes the run survive restarts (docs/feeds.md, "Restarts"):
        /// every event is written there before the broker hears it was received, with
        /// snapshots of the twin; started again with the same directory (and client id),
        /// the twin goes on from where it was, losing no event and applying none twice.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Wall time between snapshots into --state (e.g. 60s).
        #[arg(long, default_value = "60s", value_parser = duration_arg, requires = "state")]
        state_every: sim::SimDuration,
        /// Project the next --project hours this often (simulated time, e.g. 1h): forks
        /// of the twin as it is, written to projections.ndjson and sent as alerts.
        #[arg(long, value_parser = duration_arg)]
        project_every: Option<sim::SimDuration>,
        /// How far each projection looks ahead.
        #[arg(long, default_value = "8h", value_parser = duration_arg, requires = "project_every")]
        project: sim::SimDuration,
        /// Futures per projection.
        #[arg(long, default_value = "30", requires = "project_every")]
        project_reps: usize,
        #[command(flatten)]
        feed: FeedOptions,
        #[command(flatten)]
        overrides: RunOverrides,
        #[command(flatten)]
        output: Output,
    },
    /// Check scenario files and report every problem found.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the scenario format.
    Schema,
    /// Solve one-shot multi-agent path finding on a MovingAI map and scenario.
    Mapf {
        /// MovingAI `.map` file.
        #[arg(long)]
        map: PathBuf,
        /// MovingAI `.scen` file.
        #[arg(long)]
        scen: PathBuf,
        /// Number of agents: the first N rows of the scenario.
        #[arg(long)]
        agents: usize,
        /// Planning time limit, e.g. 10s.
        #[arg(long, default_value = "10s", value_parser = duration_arg)]
        time_limit: sim::SimDuration,
        /// Tie-breaking seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Keep improving the sum of costs until the time limit (LaCAM*), instead of
        /// stopping at the first solution.
        #[arg(long)]
        anytime: bool,
        /// Skip planning scattered paths before the search: the first solution comes
        /// sooner but usually costs more on dense instances.
        #[arg(long)]
        no_scatter: bool,
        /// Result file in LaCAM's format.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a League of Robot Runners 2024 lifelong instance (its JSON) under the
    /// competition's rules with twinline's task assignment and planner, every step
    /// checked; print tasks finished and planning time per step.
    Lifelong {
        /// The instance JSON (its map, agents and tasks files relative to it).
        problem: PathBuf,
        /// Steps to run (the competition ran 500, 2000 and 5000 on its test instances).
        #[arg(long, default_value_t = 5000)]
        steps: u64,
        /// Planning time per step; each full limit a step's planning takes costs a step
        /// of everyone waiting.
        #[arg(long, default_value = "1s", value_parser = duration_arg)]
        step_limit: sim::SimDuration,
        /// Tie-breaking seed of the planner.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Result file (the start-kit's main fields, the actions as its letters).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a synthetic warehouse floor (blocks of racks between aisles) as a MovingAI
    /// map, for layouts and MAPF benchmarks.
    WarehouseMap {
        /// Rack blocks across and down.
        #[arg(long, num_args = 2, value_names = ["ACROSS", "DOWN"], default_values_t = [6, 4])]
        blocks: Vec<usize>,
        /// Cells of a rack block, across and down.
        #[arg(long, num_args = 2, value_names = ["ACROSS", "DOWN"], default_values_t = [8, 2])]
        rack: Vec<usize>,
        /// Aisle width between blocks, cells.
        #[arg(long, default_value_t = 2)]
        aisle: usize,
        /// Free border around the racks, cells.
        #[arg(long, default_value_t = 3)]
        margin: usize,
        /// Where to write the map (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Open the 3D viewer on a scenario: the plant, AGVs and stock as the twin runs, with
    /// time controls, an inspector, live KPIs, alerts, a station timeline and what-if
    /// changes. With --screenshot, render one frame to a PNG and exit.
    #[cfg(feature = "view")]
    View(view::ViewArgs),
    /// Measure the engine's speed on the bundled scenarios and print a report.
    Bench {
        /// Directory holding the bundled scenarios.
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
        /// Repetitions of each measurement (the best is reported).
        #[arg(long, default_value_t = 5)]
        repeat: usize,
    },
}

impl RunOverrides {
    /// The horizon and warm-up, as every run of an experiment takes them (each
    /// replication has a seed of its own).
    fn runs(&self) -> twin_models::RunOverrides {
        twin_models::RunOverrides {
            seed: None,
            ..self.all()
        }
    }

    /// Every setting the command line overrides.
    fn all(&self) -> twin_models::RunOverrides {
        twin_models::RunOverrides {
            seed: self.seed,
            horizon: self.horizon,
            warmup: self.warmup,
        }
    }
}

fn duration_arg(s: &str) -> Result<sim::SimDuration, String> {
    let d = parse_duration(s)?;
    if d.0 == 0 {
        Err("must be longer than zero".into())
    } else {
        Ok(d)
    }
}

fn timestamp_arg(s: &str) -> Result<feeds::Timestamp, String> {
    feeds::Timestamp::parse(s)
}

/// A failure, with the exit code it maps to.
#[derive(Debug)]
pub(crate) enum Failure {
    BadInput(String),
    Io(String),
    /// A search ended without a solution (time limit, or none exists); already reported.
    Unsolved,
    /// A check found a regression; already reported.
    Regressed,
    /// Stopped by Ctrl-C; what finished is written.
    Interrupted,
    /// A run's model stopped making progress (see `sim::ProgressGuard`).
    Stalled(String),
}

/// Refuses results of which a run stopped making progress: `what` names the scenario,
/// `stalls` holds each run's stall, if it had one, and `name` names run k (`replication 3`).
pub(crate) fn refuse_stalled(
    what: &str,
    stalls: impl IntoIterator<Item = Option<sim::Stall>>,
    name: impl Fn(usize) -> String,
) -> Result<(), Failure> {
    let stalled: Vec<(usize, sim::Stall)> = stalls
        .into_iter()
        .enumerate()
        .filter_map(|(k, s)| s.map(|s| (k, s)))
        .collect();
    match stalled.first() {
        None => Ok(()),
        Some(&(k, stall)) => Err(Failure::Stalled(format!(
            "{what}, {}{}: {stall}; its results would not be the run asked for, so none are given. This is a defect of twinline: please report it with the scenario",
            name(k),
            if stalled.len() > 1 {
                format!(" (and {} more runs)", stalled.len() - 1)
            } else {
                String::new()
            }
        ))),
    }
}

fn read_scenario(path: &Path) -> Result<Scenario, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::BadInput(format!("{}: cannot read the scenario: {e}", path.display()))
    })?;
    load_scenario_file(path, &text).map_err(|e: ScenarioError| Failure::BadInput(e.to_string()))
}

/// Loads scenario `text` read from `path`; files it names (a layout `map`) are read
/// relative to its folder.
pub(crate) fn load_scenario_file(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let read = move |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    load_scenario_with_files(&path.display().to_string(), text, &read)
}

/// Prints to standard output; a closed pipe (`twinline run … | head`) is not an error.
pub(crate) fn say(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn warehouse_map(
    blocks: &[usize],
    rack: &[usize],
    aisle: usize,
    margin: usize,
    out: Option<&Path>,
) -> Result<(), Failure> {
    if blocks.contains(&0) || rack.contains(&0) {
        return Err(Failure::BadInput(
            "--blocks and --rack take whole numbers of at least 1".into(),
        ));
    }
    if aisle == 0 {
        return Err(Failure::BadInput(
            "--aisle must be at least 1 cell, or racks would wall vehicles in".into(),
        ));
    }
    let shape = traffic::mapf::WarehouseShape {
        blocks_x: blocks[0],
        blocks_y: blocks[1],
        rack_length: rack[0],
        rack_depth: rack[1],
        aisle,
        margin,
    };
    if shape.checked_size().is_none() {
        return Err(Failure::BadInput(format!(
            "--blocks {} {} with --rack {} {}, --aisle {aisle} and --margin {margin} make a floor of more than {} cells, the most a map holds",
            blocks[0],
            blocks[1],
            rack[0],
            rack[1],
            traffic::mapf::MAX_CELLS
        )));
    }
    let text = shape.to_map_text();
    match out {
        Some(p) => write(p, &text),
        None => {
            say(&text);
            Ok(())
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text)
        .map_err(|e| Failure::Io(format!("{}: cannot write: {e}", path.display())))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            scenario,
            overrides,
            snapshots,
            reps,
            threads,
            output,
            report,
        } => match (&snapshots.snapshot_at, &snapshots.resume, scenario) {
            (None, None, Some(scenario)) => {
                run(&scenario, &overrides, reps, threads, &output, report)
            }
            (_, _, scenario) => run_saved(
                scenario.as_deref(),
                &overrides,
                snapshots,
                reps,
                &output,
                report,
            ),
        },
        Command::Fork {
            snapshot,
            scenario,
            sets,
            horizon,
            reps,
            seed,
            threads,
            output,
            report,
            no_work_limit,
        } => {
            if sets.is_empty() {
                fork(
                    &snapshot,
                    scenario.as_deref(),
                    horizon,
                    reps,
                    seed,
                    threads,
                    &output,
                    report,
                    !no_work_limit,
                )
            } else {
                experiment::fork_sweep(experiment::ForkSweepArgs {
                    snapshot: &snapshot,
                    scenario: scenario.as_deref(),
                    sets: &sets,
                    ahead: horizon,
                    reps,
                    seed,
                    threads,
                    out: output.out.as_deref(),
                    report,
                    work_limit: !no_work_limit,
                })
            }
        }
        Command::Sweep {
            scenario,
            file,
            sets,
            reps,
            overrides,
            threads,
            shard,
            out,
            report,
            report_kpis,
        } => experiment::sweep(experiment::SweepArgs {
            scenario,
            file,
            sets,
            reps,
            seed: overrides.seed,
            overrides: overrides.runs(),
            work_limit: !overrides.no_work_limit,
            threads,
            shard,
            out,
            report: report.then_some(report_kpis),
        }),
        Command::Compare {
            a,
            b,
            reps,
            overrides,
            threads,
            alpha,
            all,
            out,
        } => experiment::compare_files(experiment::CompareArgs {
            a,
            b,
            reps,
            seed: overrides.seed,
            overrides: overrides.runs(),
            work_limit: !overrides.no_work_limit,
            threads,
            alpha,
            all,
            out,
        }),
        Command::Merge { dirs, out, report } => experiment::merge_dirs(&dirs, &out, report),
        Command::Check {
            scenarios,
            baseline,
            update_baseline,
            junit,
            reps,
            horizon,
            threads,
            all,
        } => check::run(check::CheckArgs {
            scenarios,
            baseline,
            update: update_baseline,
            junit,
            reps,
            horizon,
            threads,
            all,
        }),
        Command::Report { dir, kpis } => report::write_report(&dir, &kpis),
        Command::Replay {
            scenario,
            feeds,
            speed,
            feed,
            overrides,
            output,
        } => replay::run(
            &scenario,
            &feeds,
            speed,
            feed.gap_alert,
            |s| {
                let spec = spec_of(s, &overrides)?;
                if speed.is_none() {
                    check_work(&scenario, s, spec, 1, !overrides.no_work_limit)?;
                }
                Ok(spec)
            },
            output.out.as_deref(),
            output.reproducible,
        ),
        Command::Live {
            scenario,
            mqtt,
            topics,
            client_id,
            ca,
            stdin,
            speed,
            start,
            lateness,
            state,
            state_every,
            project_every,
            project,
            project_reps,
            feed,
            overrides,
            output,
        } => live::run(
            &scenario,
            live::LiveSettings {
                mqtt,
                topics,
                client_id,
                ca,
                stdin,
                speed,
                start,
                lateness,
                gap_alert: feed.gap_alert,
                state,
                state_every: std::time::Duration::from_nanos(state_every.0),
                projections: project_every.map(|every| live::projection::ProjectionSettings {
                    every,
                    ahead: project,
                    reps: project_reps,
                }),
            },
            |s| spec_of(s, &overrides),
            output.out.as_deref(),
            output.reproducible,
        ),
        Command::Validate { files } => validate(&files),
        #[cfg(feature = "view")]
        Command::View(args) => view::view(args),
        Command::Schema => {
            say(&format!("{}\n", twin_models::scenario::json_schema()));
            Ok(())
        }
        Command::Mapf {
            map,
            scen,
            agents,
            time_limit,
            seed,
            anytime,
            no_scatter,
            out,
        } => mapf::run(
            &map,
            &scen,
            agents,
            std::time::Duration::from_nanos(time_limit.0),
            seed,
            anytime,
            !no_scatter,
            out.as_deref(),
        ),
        Command::Lifelong {
            problem,
            steps,
            step_limit,
            seed,
            out,
        } => lifelong::run(
            &problem,
            steps,
            std::time::Duration::from_nanos(step_limit.0),
            seed,
            out.as_deref(),
        ),
        Command::WarehouseMap {
            blocks,
            rack,
            aisle,
            margin,
            out,
        } => warehouse_map(&blocks, &rack, aisle, margin, out.as_deref()),
        Command::Bench { scenarios, repeat } => {
            bench::run(&scenarios, repeat.max(1)).map_err(Failure::BadInput)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadInput(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Io(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::Unsolved | Failure::Regressed) => ExitCode::from(1),
        Err(Failure::Interrupted) => ExitCode::from(130),
        Err(Failure::Stalled(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(3)
        }
    }
}

#[allow(clippy::disallowed_methods, reason = "the CLI reports wall time")]
fn run(
    path: &Path,
    overrides: &RunOverrides,
    reps: Option<usize>,
    threads: Option<usize>,
    output: &Output,
    report: bool,
) -> Result<(), Failure> {
    let out = output.out.as_deref();
    let scenario = read_scenario(path)?;
    // The series is written as the run goes; its size is bounded all the same (disk).
    let spec = spec_of(&scenario, overrides)?
        .recording(&scenario, out.is_some())
        .map_err(|e| Failure::BadInput(format!("{}: {e}", path.display())))?;
    let reps = reps.unwrap_or(scenario.run.replications as usize);
    check_reps(reps)?;
    check_work(path, &scenario, spec, reps, !overrides.no_work_limit)?;
    let threads = threads_or_cores(threads)?;
    let started = Instant::now();
    let written = std::sync::Mutex::new(None);
    let result = match out {
        Some(dir) => twin_models::replicate_with(&scenario, spec, reps, threads, |spec| {
            let (output, result) = stream::run(&scenario, spec, dir);
            *written.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            output
        }),
        None => replicate(&scenario, spec, reps, threads),
    };
    if let Some(Err(e)) = written.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    finish_run(&scenario, spec, &result, started, output, report, true)
}

/// Prints a run's summary and writes its files (kpis.json, timeline.csv, alerts.ndjson and
/// the report) into --out; `alerts_written` when the run wrote its alerts as it went.
fn finish_run(
    scenario: &Scenario,
    spec: RunSpec,
    result: &twin_models::Replications,
    started: Instant,
    output: &Output,
    report: bool,
    alerts_written: bool,
) -> Result<(), Failure> {
    refuse_stalled(
        &scenario.name,
        result.runs.iter().map(|run| run.stalled),
        |r| format!("replication {r}"),
    )?;
    let (out, reproducible) = (output.out.as_deref(), output.reproducible);
    let wall = started.elapsed().as_secs_f64();
    let doc = kpis_document(scenario, spec, result, Some(Timing { wall_time_s: wall }));
    say(&table::summary(scenario, spec, result, &doc, wall));
    if let Some(dir) = out {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Io(format!("{}: cannot create: {e}", dir.display())))?;
        let file_doc = if reproducible {
            kpis_document(scenario, spec, result, None)
        } else {
            doc
        };
        let text = serde_json::to_string_pretty(&file_doc).expect("a JSON value serialises") + "\n";
        write(&dir.join("kpis.json"), &text)?;
        if let Some(timeline) = result.runs.first().and_then(|r| r.timeline.as_ref()) {
            write(
                &dir.join("timeline.csv"),
                &twin_models::line::timeline_csv(timeline),
            )?;
        }
        // The alerts of the first replication, as a replay writes them (unless the run
        // wrote them as it went).
        if !alerts_written {
            let alerts = result
                .runs
                .first()
                .map(|r| feed_report::alert_lines(&r.kpis))
                .unwrap_or_default();
            write(&dir.join("alerts.ndjson"), &alerts)?;
        }
        say(&format!(
            "wrote {}, {}, timeline.csv and alerts.ndjson\n",
            dir.join("kpis.json").display(),
            dir.join("timeseries.csv").display()
        ));
        if report {
            report::write_report(dir, &[])?;
        }
    }
    Ok(())
}

/// `run` with --snapshot-at or --resume: one run, saved at an instant or resumed from a
/// snapshot, its outputs as a plain run's.
#[allow(clippy::disallowed_methods, reason = "the CLI reports wall time")]
fn run_saved(
    path: Option<&Path>,
    overrides: &RunOverrides,
    snapshots: Snapshots,
    reps: Option<usize>,
    output: &Output,
    report: bool,
) -> Result<(), Failure> {
    if reps.is_some_and(|r| r != 1) {
        return Err(Failure::BadInput(
            "--reps: a snapshot is of one run; take one per replication with --seed".into(),
        ));
    }
    let (scenario, spec, start, named) = match snapshots.resume {
        Some(file) => {
            let snap = snapshot::read_file(&file)?;
            let spec = snap.run.spec();
            if overrides.seed.is_some() || overrides.warmup.is_some() {
                return Err(Failure::BadInput(format!(
                    "{}: --seed and --warmup are the snapshot's (seed {}, warm-up {:.0} s); leave them out",
                    file.display(),
                    spec.seed,
                    spec.warmup.as_secs_f64()
                )));
            }
            if let Some(h) = overrides.horizon.filter(|&h| h != spec.horizon) {
                return Err(Failure::BadInput(format!(
                    "{}: --horizon {:.0} s: the snapshot resumes the run to its own horizon, {:.0} s",
                    file.display(),
                    h.as_secs_f64(),
                    spec.horizon.as_secs_f64()
                )));
            }
            let scenario = match path {
                Some(p) => read_scenario(p)?,
                None => snap.scenario,
            };
            let named = path.map_or_else(|| file.clone(), Path::to_path_buf);
            let start = snapshot::Start::Resumed {
                file,
                run: Box::new(snap.run),
            };
            (scenario, spec, start, named)
        }
        None => {
            let path = path.expect("clap asks for the scenario without --resume");
            let scenario = read_scenario(path)?;
            // The snapshot carries the series and timeline so far: the run records them.
            let spec = spec_of(&scenario, overrides)?
                .recording(&scenario, true)
                .map_err(|e| Failure::BadInput(format!("{}: {e}", path.display())))?;
            let at = snapshots.snapshot_at.expect("clap pairs the two flags");
            if at >= spec.horizon {
                return Err(Failure::BadInput(format!(
                    "--snapshot-at {:.0} s must come before the horizon ({:.0} s)",
                    at.as_secs_f64(),
                    spec.horizon.as_secs_f64()
                )));
            }
            let file = snapshots.snapshot.expect("clap pairs the two flags");
            let start = snapshot::Start::Fresh {
                at: sim::SimTime(at.0),
                file,
            };
            (scenario, spec, start, path.to_path_buf())
        }
    };
    check_work(&named, &scenario, spec, 1, !overrides.no_work_limit)?;
    let started = Instant::now();
    let out = output.out.as_deref();
    let run = snapshot::run(&scenario, spec, out, start)?;
    let result = twin_models::Replications {
        seeds: vec![spec.seed],
        runs: vec![run],
    };
    finish_run(&scenario, spec, &result, started, output, report, true)
}

/// `fork`: replications forward from a snapshot.
#[allow(clippy::disallowed_methods, reason = "the CLI reports wall time")]
#[allow(
    clippy::too_many_arguments,
    reason = "the command's flags, each used once"
)]
fn fork(
    file: &Path,
    scenario_file: Option<&Path>,
    ahead: sim::SimDuration,
    reps: usize,
    seed: Option<u64>,
    threads: Option<usize>,
    output: &Output,
    report: bool,
    work_limit: bool,
) -> Result<(), Failure> {
    check_reps(reps)?;
    let bytes = snapshot::read_bytes(file)?;
    let snap = snapshot::decode(file, &bytes)?;
    let (header, scenario) = (snap.header, snap.scenario);
    check_fork_work(file, &scenario, ahead, reps, work_limit)?;
    if let Some(path) = scenario_file {
        experiment::snapshot_scenario_text(path, file, &scenario)?;
    }
    let base = seed.unwrap_or_else(|| twin_models::fork_seed(header.seed, header.time));
    let threads = threads_or_cores(threads)?;
    let started = Instant::now();
    let result = twin_models::fork_replications(&bytes, &scenario, base, ahead, reps, threads)
        .map_err(|e| Failure::BadInput(format!("{}: {e}", file.display())))?;
    let spec = RunSpec {
        seed: base,
        horizon: sim::SimDuration(header.time.0 + ahead.0),
        warmup: sim::SimDuration(header.time.0),
        ..RunSpec::of(&scenario)
    };
    if let (Some(dir), Some(first)) = (output.out.as_deref(), result.runs.first()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Io(format!("{}: cannot create: {e}", dir.display())))?;
        if let Some(series) = &first.series {
            write(&dir.join("timeseries.csv"), &series.to_csv())?;
        }
    }
    finish_run(&scenario, spec, &result, started, output, report, false)
}

/// Refuses `runs` forks of `ahead` of `scenario` whose work passes the budget (unless
/// `limit` is off): estimated as that many runs of `ahead` from time zero, as the work of
/// a plant's hours does not depend much on where they start.
pub(crate) fn check_fork_work(
    snapshot: &Path,
    scenario: &Scenario,
    ahead: sim::SimDuration,
    runs: usize,
    limit: bool,
) -> Result<(), Failure> {
    let spec = RunSpec {
        horizon: ahead,
        warmup: sim::SimDuration(ahead.0 / 2),
        record_series: false,
        ..RunSpec::of(scenario)
    };
    check_work(snapshot, scenario, spec, runs, limit)
}

/// `--threads`, or every core.
fn threads_or_cores(threads: Option<usize>) -> Result<usize, Failure> {
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        return Err(Failure::BadInput("--threads must be at least 1".into()));
    }
    Ok(threads)
}

/// Refuses `runs` runs of `scenario` whose work, estimated up front by a pilot, passes
/// the budget (unless `limit` is off); the message gives the estimate and the way on.
pub(crate) fn check_work(
    path: &Path,
    scenario: &Scenario,
    spec: RunSpec,
    runs: usize,
    limit: bool,
) -> Result<(), Failure> {
    if !limit {
        return Ok(());
    }
    let estimate = twin_models::estimate(scenario, spec);
    if estimate.within(runs) {
        return Ok(());
    }
    Err(Failure::BadInput(format!(
        "{}: refused before starting: {}; shorten the horizon (--horizon), lengthen intervals that are too short for it, or pass --no-work-limit to run it anyway",
        path.display(),
        estimate.describe(runs)
    )))
}

/// The scenario's run settings with the command line's overrides.
/// Refuses a number of replications of one run that is none, or more than one run takes
/// (each keeps its KPIs in memory).
fn check_reps(reps: usize) -> Result<(), Failure> {
    if reps == 0 {
        return Err(Failure::BadInput("--reps must be at least 1".into()));
    }
    if reps > twin_models::MAX_REPLICATIONS {
        return Err(Failure::BadInput(format!(
            "--reps {reps}: one run takes at most {} replications (each keeps its KPIs in memory for the summary); split a larger study with `twinline sweep --shard i/N` and `twinline merge`",
            twin_models::MAX_REPLICATIONS
        )));
    }
    Ok(())
}

fn spec_of(scenario: &Scenario, overrides: &RunOverrides) -> Result<RunSpec, Failure> {
    RunSpec::with(scenario, overrides.all()).map_err(|e| match e {
        RunSpecError::WarmupTooLong {
            warmup,
            horizon,
            overridden,
        } => Failure::BadInput(format!(
            "{} ({:.0} s) must be shorter than the horizon ({:.0} s); give a shorter --warmup",
            if overridden {
                "--warmup"
            } else {
                "the scenario's warm-up"
            },
            warmup.as_secs_f64(),
            horizon.as_secs_f64()
        )),
        other => Failure::BadInput(other.to_string()),
    })
}

fn validate(files: &[PathBuf]) -> Result<(), Failure> {
    let mut problems = Vec::new();
    for f in files {
        // A scenario that loads is also weighed: its run as written (replications
        // included) must fit the work budget, as `run` will ask.
        let weighed = read_scenario(f).and_then(|s| {
            let runs = s.run.replications.max(1) as usize;
            check_work(f, &s, RunSpec::of(&s), runs, true).map(|()| s)
        });
        match weighed {
            Ok(s) => say(&format!(
                "{}: ok ({} line(s), {} product(s))\n",
                f.display(),
                s.lines.len(),
                s.products.len()
            )),
            Err(Failure::BadInput(msg) | Failure::Io(msg) | Failure::Stalled(msg)) => {
                problems.push(msg)
            }
            Err(Failure::Unsolved | Failure::Regressed | Failure::Interrupted) => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::BadInput(problems.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_of_a_stalled_run_are_refused_naming_the_run_and_where() {
        let stall = sim::Stall {
            at: sim::SimTime(3_600 * sim::NANOS_PER_SEC),
            events: 20_000_001,
            window: sim::SimDuration::from_secs(1),
        };
        let name = |r: usize| format!("replication {r}");
        assert!(refuse_stalled("line", [None, None], name).is_ok());
        let Err(Failure::Stalled(msg)) =
            refuse_stalled("line", [None, Some(stall), Some(stall)], name)
        else {
            panic!("a stalled run is refused");
        };
        assert!(
            msg.starts_with("line, replication 1 (and 1 more runs): "),
            "{msg}"
        );
        assert!(
            msg.contains("stopped making progress at 01:00:00.000"),
            "{msg}"
        );
        assert!(msg.contains("20000001 events"), "{msg}");
    }
}
