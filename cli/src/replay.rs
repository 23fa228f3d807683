//! `twinline replay`: a run with recorded inventory feeds applied at their times. Feed files
//! (NDJSON, or CSV with a header) are merged in (`ts`, `event_id`) order, so the result
//! depends neither on the order of lines nor on repeated lines; every line that is not a
//! valid event goes to `quarantine.ndjson` with its reason. With `--speed`, the run is
//! paced to the wall clock and alerts print as they are raised.

use crate::Failure;
use crate::feed_report::{FedRun, Quarantine, Version, report};
use crate::live::{AlertSink, Received, drive, end_files, start_files};
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
    let mut conflicts: Vec<Box<Conflict>> = Vec::new();
    for (source, feed) in feeds.iter().enumerate() {
        let bytes = std::fs::read(feed).map_err(|e| {
            Failure::BadInput(format!("{}: cannot read the feed: {e}", feed.display()))
        })?;
        let ext = feed.extension().and_then(|e| e.to_str()).unwrap_or("");
        let file = feed.display().to_string();
        // A line that is not UTF-8 is refused alone, as live runs refuse it.
        let (text, not_text) = decode(&bytes);
        ingestion.reserve(estimate_lines(&text));
        let mut take =
            |line: Result<Parsed, Rejection>| match ingestion.offer_line(line, source as u32) {
                Ok(Admission::Conflict(c)) => conflicts.push(c),
                Ok(_) => {}
                Err(r) => quarantine.add(&file, Some(r.line), &r.reason, &r.raw),
            };
        not_text.into_iter().map(Err).for_each(&mut take);
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
    let mut session = crate::live::Session {
        ingestion,
        quarantine,
        ..crate::live::Session::new(0.0)
    };
    let plan = plan_feed(scenario.run.start, spec.horizon, events)
        .map_err(|e| Failure::BadInput(format!("{}: {e}", path.display())))?;
    let pace = Pace::new(speed.unwrap_or(f64::INFINITY));
    let mut twin = Twin::with_feed(&scenario, spec, plan);
    twin.set_gap_alert(gap_alert);
    // With --out, the run writes its alerts as it goes.
    let alerts_written = out.is_some();
    let output = if speed.is_some() {
        let mut files = start_files(out, &twin)?;
        let mut received = Received::default();
        drive(
            &mut twin,
            &pace,
            SimDuration::ZERO,
            &mut session,
            None,
            0,
            &mut AlertSink::stdout(),
            &scenario.name,
            &std::sync::atomic::AtomicBool::new(false),
            files.as_mut(),
            None,
            None,
            &mut received,
        );
        let mut output = twin.finish();
        end_files(files, &mut output, &mut received)?;
        output
    } else if let Some(dir) = out {
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
            counters: session.ingestion.counters().clone(),
            quarantine: session.quarantine,
            wall_s,
            extra: None,
            source_alerts: Vec::new(),
            alerts_written,
        },
        out,
        reproducible,
    )
}

/// Sets the versions of conflicting ids aside, each with its line as written in `files`.
fn set_aside(
    quarantine: &mut Quarantine,
    conflicts: &[Box<Conflict>],
    files: &[(String, Vec<u8>)],
) {
    // The lines to quote: each refused version, and each first version withdrawn.
    let wanted: BTreeSet<(u32, usize)> = conflicts
        .iter()
        .flat_map(|c| {
            let first = c.withdrawn.is_some().then_some(c.first);
            std::iter::once(c.at).chain(first)
        })
        .map(|o| (o.source, o.line))
        .collect();
    let raw = lines_at(files, &wanted);
    let version = |o: Origin| Version {
        source: files[o.source as usize].0.as_str(),
        line: Some(o.line),
        raw: raw.get(&(o.source, o.line)).map_or("", String::as_str),
    };
    for c in conflicts {
        quarantine.conflict(c, version(c.at), version(c.first));
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
