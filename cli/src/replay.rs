//! `twinline replay`: a run with recorded inventory feeds applied at their times. Feed files
//! (NDJSON, or CSV with a header) are merged in (`ts`, `event_id`) order, so the result
//! depends neither on the order of lines nor on repeated lines; every line that is not a
//! valid event goes to `quarantine.ndjson` with its reason.

use crate::{Failure, read_scenario, say, table, write};
use orchestrator::feed::{Admission, Ingestion, parse_csv, parse_ndjson_parallel};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;
use twin_models::{Replications, RunSpec, Timing, kpis_document, plan_feed, simulate_replay};

/// Replays `feeds` through the scenario at `path` with `spec` overrides already applied
/// by the caller's `spec_of`.
#[allow(
    clippy::disallowed_methods,
    reason = "the wall time of the run is reported, as `run` does"
)]
pub fn run(
    path: &Path,
    feeds: &[PathBuf],
    spec_of: impl Fn(&twin_models::Scenario) -> Result<RunSpec, Failure>,
    out: Option<&Path>,
    reproducible: bool,
) -> Result<(), Failure> {
    let scenario = read_scenario(path)?;
    let spec = RunSpec {
        record_series: out.is_some(),
        ..spec_of(&scenario)?
    };
    let mut ingestion = Ingestion::new(0.0);
    let mut quarantine = String::new();
    for feed in feeds {
        let text = std::fs::read_to_string(feed).map_err(|e| {
            Failure::BadInput(format!("{}: cannot read the feed: {e}", feed.display()))
        })?;
        let ext = feed.extension().and_then(|e| e.to_str()).unwrap_or("");
        let parsed = match ext {
            "csv" => parse_csv(&text),
            "ndjson" | "jsonl" | "json" => parse_ndjson_parallel(&text),
            _ => {
                return Err(Failure::BadInput(format!(
                    "{}: unknown feed format `.{ext}`: use .ndjson (or .jsonl) or .csv",
                    feed.display()
                )));
            }
        };
        let file = feed.display().to_string();
        for result in parsed {
            match result {
                Ok(event) => {
                    let id = event.event_id.to_string();
                    if let Admission::Conflict(reason) = ingestion.offer(event) {
                        quarantine_line(&mut quarantine, &file, None, &reason, &id);
                    }
                }
                Err(r) => {
                    ingestion.quarantine();
                    quarantine_line(&mut quarantine, &file, Some(r.line), &r.reason, &r.raw);
                }
            }
        }
    }
    let events = ingestion.flush();
    let plan = plan_feed(scenario.run.start, spec.horizon, events)
        .map_err(|e| Failure::BadInput(format!("{}: {e}", path.display())))?;
    let started = Instant::now();
    let output = simulate_replay(&scenario, spec, plan);
    let wall = started.elapsed().as_secs_f64();
    let mut counters = ingestion.counters().clone();
    if let Some(feed) = &output.kpis.feed {
        for (id, reason) in &feed.rejected {
            counters.quarantined += 1;
            counters.applied -= 1;
            quarantine_line(&mut quarantine, "(stock positions)", None, reason, id);
        }
    }
    // Alerts: the run's, then the feed's own quality.
    let mut alerts = String::new();
    let mut raised = 0usize;
    if let Some(feed) = &output.kpis.feed {
        for a in &feed.alerts {
            alerts.push_str(&serde_json::to_string(a).expect("an alert serialises"));
            alerts.push('\n');
        }
        raised += feed.alerts.len();
    }
    let offered = counters.accepted + counters.quarantined;
    if offered > 0 && counters.quarantined as f64 > QUARANTINE_ALERT * offered as f64 {
        let share = counters.quarantined as f64 / offered as f64;
        let alert = json!({
            "kind": "feed_quality",
            "quarantined": counters.quarantined,
            "offered": offered,
            "share": share,
            "hint": format!(
                "{:.1}% of the feed's lines were refused (above {:.0}%): see quarantine.ndjson for the reasons and fix the sender",
                share * 100.0,
                QUARANTINE_ALERT * 100.0
            ),
        });
        alerts.push_str(&alert.to_string());
        alerts.push('\n');
        raised += 1;
    }
    let result = Replications {
        seeds: vec![spec.seed],
        runs: vec![output],
    };
    let mut doc = kpis_document(&scenario, spec, &result, Some(Timing { wall_time_s: wall }));
    say(&table::summary(&scenario, spec, &result, &doc, wall));
    say(&format!(
        "feed: {} events applied, {} duplicates, {} quarantined, {raised} alerts\n",
        counters.applied, counters.duplicates, counters.quarantined
    ));
    if let Some(dir) = out {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Io(format!("{}: cannot create: {e}", dir.display())))?;
        if reproducible {
            doc = kpis_document(&scenario, spec, &result, None);
        }
        doc["ingestion"] = serde_json::to_value(&counters).expect("counters serialise");
        let text = serde_json::to_string_pretty(&doc).expect("a JSON value serialises") + "\n";
        write(&dir.join("kpis.json"), &text)?;
        write(&dir.join("quarantine.ndjson"), &quarantine)?;
        write(&dir.join("alerts.ndjson"), &alerts)?;
        if let Some(series) = result.runs[0].series.as_ref() {
            write(&dir.join("timeseries.csv"), &series.to_csv())?;
        }
        say(&format!(
            "wrote kpis.json, quarantine.ndjson, alerts.ndjson and timeseries.csv in {}\n",
            dir.display()
        ));
    }
    Ok(())
}

/// Share of refused lines above which the feed itself raises an alert.
const QUARANTINE_ALERT: f64 = 0.01;

/// One quarantined line: where it came from, why, and what it was.
fn quarantine_line(out: &mut String, file: &str, line: Option<usize>, reason: &str, raw: &str) {
    let entry = json!({ "file": file, "line": line, "reason": reason, "raw": raw });
    out.push_str(&entry.to_string());
    out.push('\n');
}
