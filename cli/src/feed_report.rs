//! What a run with a feed (replayed or live) writes: the summary, kpis.json with the
//! ingestion counters, quarantine.ndjson and alerts.ndjson.

use crate::{Failure, say, table, write};
use feeds::{Conflict, IngestionCounters};
use serde_json::json;
use std::path::Path;
use twin_models::{Replications, RunOutput, RunSpec, Scenario, Timing, kpis_document};

/// The scenario at `path` and its run settings (the caller's overrides applied), with the
/// time series recorded when there is somewhere to write it.
pub fn scenario_and_spec(
    path: &Path,
    spec_of: impl Fn(&Scenario) -> Result<RunSpec, Failure>,
    out: Option<&Path>,
) -> Result<(Scenario, RunSpec), Failure> {
    let scenario = crate::read_scenario(path)?;
    let spec = spec_of(&scenario)?
        .recording(&scenario, out.is_some())
        .map_err(|e| Failure::BadInput(format!("{}: {e}", path.display())))?;
    Ok((scenario, spec))
}

/// Share of refused lines above which the feed itself raises an alert.
const QUARANTINE_ALERT: f64 = 0.01;

/// Lines set aside, as NDJSON: where each came from, why, and what it was.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Quarantine(String);

impl Quarantine {
    /// Sets one line aside.
    pub fn add(&mut self, source: &str, line: Option<usize>, reason: &str, raw: &str) {
        let entry = json!({ "file": source, "line": line, "reason": reason, "raw": raw });
        self.0.push_str(&entry.to_string());
        self.0.push('\n');
    }
}

/// Where a line was read, for a person: `file line 3`, or the source alone where lines are
/// not counted (MQTT).
fn place(source: &str, line: Option<usize>) -> String {
    match line {
        Some(n) => format!("{source} line {n}"),
        None => source.to_string(),
    }
}

/// One version of an id in conflict: where it was read (source name, line) and its text.
pub struct Version<'a> {
    pub source: &'a str,
    pub line: Option<usize>,
    pub raw: &'a str,
}

impl Quarantine {
    /// Sets aside the versions of an id in conflict (docs/feeds.md): `refused`, the one
    /// refused now, and `first`, the id's first version, when `conflict` withdrew it (its
    /// text is needed only then). A first version that had applied stands, named.
    pub fn conflict(&mut self, conflict: &Conflict, refused: Version<'_>, first: Version<'_>) {
        let id = &conflict.event.event_id;
        let there = place(first.source, first.line);
        let reason = if conflict.first_applied {
            format!(
                "event_id `{id}` came with other content at {there}, which had applied before this came: it stands, this version is refused"
            )
        } else {
            format!(
                "event_id `{id}` comes with other content at {there}: a conflict, neither version applies"
            )
        };
        self.add(refused.source, refused.line, &reason, refused.raw);
        if conflict.withdrawn.is_some() {
            let reason = format!(
                "event_id `{id}` comes with other content at {}: a conflict, neither version applies",
                place(refused.source, refused.line)
            );
            self.add(first.source, first.line, &reason, first.raw);
        }
    }
}

/// A finished run with a feed, ready to report.
pub struct FedRun<'a> {
    pub scenario: &'a Scenario,
    pub spec: RunSpec,
    pub output: RunOutput,
    pub counters: IngestionCounters,
    pub quarantine: Quarantine,
    /// Wall time of the run, seconds.
    pub wall_s: f64,
    /// A section added to kpis.json (`live`: sources, outages, rates).
    pub extra: Option<(&'static str, serde_json::Value)>,
    /// Alerts about the feed's sources (a broker that refused the credentials), raised
    /// outside the twin: they end alerts.ndjson.
    pub source_alerts: Vec<serde_json::Value>,
    /// Whether the run wrote the twin's alerts into alerts.ndjson as it went (the rest
    /// are appended).
    pub alerts_written: bool,
}

/// The feed-quality alert, when too many lines were refused.
pub fn quality_alert(counters: &IngestionCounters) -> Option<serde_json::Value> {
    let offered = counters.accepted + counters.quarantined;
    if offered == 0 || counters.quarantined as f64 <= QUARANTINE_ALERT * offered as f64 {
        return None;
    }
    let share = counters.quarantined as f64 / offered as f64;
    Some(json!({
        "kind": "feed_quality",
        "quarantined": counters.quarantined,
        "offered": offered,
        "share": share,
        "hint": format!(
            "{:.1}% of the feed's lines were refused (above {:.0}%): see quarantine.ndjson for the reasons and fix the sender",
            share * 100.0,
            QUARANTINE_ALERT * 100.0
        ),
    }))
}

/// A run's alerts, plant and feed, as NDJSON in time order (the plant's first at equal
/// times).
pub fn alert_lines(kpis: &twin_models::kpi::RunKpis) -> String {
    let mut all: Vec<(f64, String)> = Vec::new();
    all.extend(kpis.alerts.iter().map(|a| {
        (
            a.at_s,
            serde_json::to_string(a).expect("an alert serialises"),
        )
    }));
    if let Some(feed) = &kpis.feed {
        all.extend(feed.alerts.iter().map(|a| {
            (
                a.at_s,
                serde_json::to_string(a).expect("an alert serialises"),
            )
        }));
    }
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    all.into_iter().map(|(_, l)| l + "\n").collect()
}

/// Prints the summary and, with `out`, writes the files.
pub fn report(run: FedRun<'_>, out: Option<&Path>, reproducible: bool) -> Result<(), Failure> {
    let FedRun {
        scenario,
        spec,
        output,
        mut counters,
        mut quarantine,
        wall_s,
        extra,
        source_alerts,
        alerts_written,
    } = run;
    crate::refuse_stalled(&scenario.name, [output.stalled], |_| "the run".into())?;
    // Events the stock positions refused (a count below zero, a unit that changed) were
    // released by the ingestion but not applied: they join the quarantine.
    if let Some(feed) = &output.kpis.feed {
        for (id, reason) in &feed.rejected {
            counters.quarantined += 1;
            counters.applied -= 1;
            quarantine.add("(stock positions)", None, reason, id);
        }
    }
    // The twin's alerts, unless the run wrote them as it went; then those after them.
    let mut alerts = if alerts_written {
        String::new()
    } else {
        alert_lines(&output.kpis)
    };
    let twins = output.kpis.alerts.len() as u64
        + output.kpis.alerts_omitted
        + output.kpis.feed.as_ref().map_or(0, |f| f.alerts.len()) as u64;
    let mut raised = twins;
    for alert in quality_alert(&counters).into_iter().chain(source_alerts) {
        alerts.push_str(&alert.to_string());
        alerts.push('\n');
        raised += 1;
    }
    let result = Replications {
        seeds: vec![spec.seed],
        runs: vec![output],
    };
    let timing = Timing {
        wall_time_s: wall_s,
    };
    let mut doc = kpis_document(scenario, spec, &result, Some(timing));
    say(&table::summary(scenario, spec, &result, &doc, wall_s));
    say(&format!(
        "feed: {} events applied, {} duplicates, {} late corrections, {} quarantined, {raised} alerts\n",
        counters.applied, counters.duplicates, counters.late_corrections, counters.quarantined
    ));
    let Some(dir) = out else {
        return Ok(());
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::Io(format!("{}: cannot create: {e}", dir.display())))?;
    if reproducible {
        doc = kpis_document(scenario, spec, &result, None);
    }
    doc["ingestion"] = serde_json::to_value(&counters).expect("counters serialise");
    if let Some((name, value)) = extra {
        doc[name] = value;
    }
    let text = serde_json::to_string_pretty(&doc).expect("a JSON value serialises") + "\n";
    write(&dir.join("kpis.json"), &text)?;
    write(&dir.join("quarantine.ndjson"), &quarantine.0)?;
    if alerts_written {
        append(&dir.join("alerts.ndjson"), &alerts)?;
    } else {
        write(&dir.join("alerts.ndjson"), &alerts)?;
    }
    if let Some(series) = result.runs[0].series.as_ref() {
        write(&dir.join("timeseries.csv"), &series.to_csv())?;
    }
    if let Some(timeline) = result.runs[0].timeline.as_ref() {
        write(
            &dir.join("timeline.csv"),
            &twin_models::line::timeline_csv(timeline),
        )?;
    }
    say(&format!(
        "wrote kpis.json, quarantine.ndjson, alerts.ndjson, timeseries.csv and timeline.csv in {}\n",
        dir.display()
    ));
    Ok(())
}

/// Appends `text` to the file at `path`.
fn append(path: &Path, text: &str) -> Result<(), Failure> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| Failure::Io(format!("{}: cannot write: {e}", path.display())))
}
