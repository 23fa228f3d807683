//! `twinline replay`: a run with recorded inventory feeds applied at their times. Feed files
//! (NDJSON, or CSV with a header) are merged in (`ts`, `event_id`) order, so the result
//! depends neither on the order of lines nor on repeated lines; every line that is not a
//! valid event goes to `quarantine.ndjson` with its reason. With `--speed`, the run is
//! paced to the wall clock and alerts print as they are raised.

use crate::Failure;
use crate::feed_report::{FedRun, First, Quarantine, Version, report};
use crate::live::{AlertSink, drive, end_files, start_files};
use crate::pace::Pace;
use feeds::{
    Admission, Conflict, Ingestion, Origin, Parsed, Rejection, decode, estimate_lines, parse_csv,
    parse_ndjson_parallel,
};
use sim::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet};
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
    // The files stay at hand until every one is read: a conflict's versions are set aside
    // with their lines as written, and its first version may be in an earlier file.
    let mut files: Vec<(String, Vec<u8>)> = Vec::with_capacity(feeds.len());
    let mut conflicts: Vec<(Origin, Box<Conflict>)> = Vec::new();
    for (source, feed) in feeds.iter().enumerate() {
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
        let mut take = |result: Result<Parsed, Rejection>| match result {
            Ok(p) => {
                let at = Origin {
                    source: source as u32,
                    line: p.line,
                };
                if let Admission::Conflict(c) = ingestion.offer(p.event, at) {
                    conflicts.push((at, c));
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
        drop(text);
        files.push((file, bytes));
    }
    set_aside(&mut quarantine, &conflicts, &files);
    drop(files);
    let events = ingestion.flush();
    let plan = plan_feed(scenario.run.start, spec.horizon, events)
        .map_err(|e| Failure::BadInput(format!("{}: {e}", path.display())))?;
    let pace = Pace::new(speed.unwrap_or(f64::INFINITY));
    let mut twin = Twin::with_feed(&scenario, spec, plan);
    twin.set_gap_alert(gap_alert);
    let output = if speed.is_some() {
        let mut files = start_files(out, &twin)?;
        let mut received = drive(
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
            files.as_mut(),
        );
        let mut output = twin.finish();
        end_files(files, &mut output, &mut received)?;
        output
    } else if let Some(dir) = out {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Io(format!("{}: cannot create: {e}", dir.display())))?;
        let (output, written) = crate::stream::finish(twin, dir);
        written?;
        output
    } else {
        twin.advance_to(SimTime(spec.horizon.0));
        twin.finish()
    };
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
            source_alerts: Vec::new(),
        },
        out,
        reproducible,
    )
}

/// Sets the versions of conflicting ids aside, each with its line as written in `files`.
fn set_aside(
    quarantine: &mut Quarantine,
    conflicts: &[(Origin, Box<Conflict>)],
    files: &[(String, Vec<u8>)],
) {
    let wanted: BTreeSet<(u32, usize)> = conflicts
        .iter()
        .flat_map(|(at, c)| {
            let first = c
                .withdrawn
                .is_some()
                .then_some((c.first.source, c.first.line));
            std::iter::once((at.source, at.line)).chain(first)
        })
        .collect();
    let raw = lines_at(files, &wanted);
    let text = |at: Origin| raw.get(&(at.source, at.line)).map_or("", String::as_str);
    for (at, c) in conflicts {
        let name = |o: Origin| files[o.source as usize].0.as_str();
        let first = match c.withdrawn {
            Some(_) => First::Withdrawn(Version {
                source: name(c.first),
                line: Some(c.first.line),
                raw: text(c.first),
            }),
            None => First::Applied {
                source: name(c.first),
                line: Some(c.first.line),
            },
        };
        let refused = Version {
            source: name(*at),
            line: Some(at.line),
            raw: text(*at),
        };
        quarantine.conflict(&c.event.event_id, refused, first);
    }
}

/// The lines `wanted` (file index, line number from 1) of `files`, as text; one pass
/// over each file that has any, stopping at the last one wanted.
fn lines_at(
    files: &[(String, Vec<u8>)],
    wanted: &BTreeSet<(u32, usize)>,
) -> BTreeMap<(u32, usize), String> {
    let mut found = BTreeMap::new();
    for (k, (_, bytes)) in files.iter().enumerate() {
        let k = k as u32;
        let mut lines = wanted
            .range((k, 0)..=(k, usize::MAX))
            .map(|&(_, n)| n)
            .peekable();
        for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let Some(&next) = lines.peek() else {
                break;
            };
            if n + 1 == next {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                found.insert((k, next), String::from_utf8_lossy(line).into_owned());
                lines.next();
            }
        }
    }
    found
}
