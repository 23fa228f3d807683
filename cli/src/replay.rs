//! `twinline replay`: a run with recorded inventory feeds applied at their times. Feed files
//! (NDJSON, or CSV with a header) are merged in (`ts`, `event_id`) order, so the result
//! depends neither on the order of lines nor on repeated lines; every line that is not a
//! valid event goes to `quarantine.ndjson` with its reason. With `--speed`, the run is
//! paced to the wall clock and alerts print as they are raised.

use crate::Failure;
use crate::feed_report::{FedRun, Quarantine, report};
use crate::live::{AlertSink, drive};
use crate::pace::Pace;
use feeds::{
    Admission, FeedEvent, Ingestion, Rejection, decode, estimate_lines, parse_csv,
    parse_ndjson_parallel,
};
use sim::{SimDuration, SimTime};
use std::path::{Path, PathBuf};
use twin_models::{RunSpec, Twin, plan_feed};

/// Replays `feeds` through the scenario at `path` with `spec` overrides already applied
/// by the caller's `spec_of`; paced at `speed` simulated seconds per wall second if given;
/// a site silent for `gap_alert` raises an alert.
pub fn run(
    path: &Path,
    feeds: &[PathBuf],
    speed: Option<f64>,
    gap_alert: SimDuration,
    spec_of: impl Fn(&twin_models::Scenario) -> Result<RunSpec, Failure>,
    out: Option<&Path>,
    reproducible: bool,
) -> Result<(), Failure> {
    let (scenario, spec) = crate::feed_report::scenario_and_spec(path, spec_of, out)?;
    let mut ingestion = Ingestion::new(0.0);
    let mut quarantine = Quarantine::default();
    for feed in feeds {
        let bytes = std::fs::read(feed).map_err(|e| {
            Failure::BadInput(format!("{}: cannot read the feed: {e}", feed.display()))
        })?;
        let ext = feed.extension().and_then(|e| e.to_str()).unwrap_or("");
        let file = feed.display().to_string();
        // A line that is not UTF-8 is refused alone, as live runs refuse it.
        let (text, not_text) = decode(&bytes);
        for r in not_text {
            ingestion.quarantine();
            quarantine.add(&file, Some(r.line), &r.reason, &r.raw);
        }
        ingestion.reserve(estimate_lines(&text));
        let mut take = |result: Result<FeedEvent, Rejection>| match result {
            Ok(event) => {
                let id = event.event_id.clone();
                if let Admission::Conflict(reason) = ingestion.offer(event) {
                    quarantine.add(&file, None, &reason, &id);
                }
            }
            Err(r) => {
                ingestion.quarantine();
                quarantine.add(&file, Some(r.line), &r.reason, &r.raw);
            }
        };
        match ext {
            "csv" => parse_csv(&text).into_iter().for_each(take),
            "ndjson" | "jsonl" | "json" => parse_ndjson_parallel(&text, &mut take),
            _ => {
                return Err(Failure::BadInput(format!(
                    "{}: unknown feed format `.{ext}`: use .ndjson (or .jsonl) or .csv",
                    feed.display()
                )));
            }
        }
    }
    let events = ingestion.flush();
    let plan = plan_feed(scenario.run.start, spec.horizon, events)
        .map_err(|e| Failure::BadInput(format!("{}: {e}", path.display())))?;
    let pace = Pace::new(speed.unwrap_or(f64::INFINITY));
    let mut twin = Twin::with_feed(&scenario, spec, plan);
    twin.set_gap_alert(gap_alert);
    if speed.is_some() {
        drive(
            &mut twin,
            &pace,
            SimDuration::ZERO,
            &mut ingestion,
            None,
            0,
            &mut quarantine,
            &mut AlertSink::stdout(),
            &scenario.name,
            &std::sync::atomic::AtomicBool::new(false),
        );
    } else {
        twin.advance_to(SimTime(spec.horizon.0));
    }
    let output = twin.finish();
    let wall_s = pace.wall().as_secs_f64();
    report(
        FedRun {
            scenario: &scenario,
            spec,
            output,
            counters: ingestion.counters().clone(),
            quarantine,
            wall_s,
            extra: None,
        },
        out,
        reproducible,
    )
}
