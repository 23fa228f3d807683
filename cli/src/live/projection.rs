//! `live --project-every 1h --project 8h --project-reps 30`: projections of the next hours
//! made as the twin runs. At each projection instant the twin is saved and forked (see
//! `twinline fork`) on a thread of its own, so the paced run does not wait for it; when the
//! futures are in, the projection is written to `projections.ndjson` and announced as a
//! `projection` alert: each line's output by the end of the look-ahead (mean ± 95 %
//! half-width over the futures), and what runs out (line side starved, stock out) in how
//! many of them, and when.

use super::AlertSink;
use serde_json::{Value, json};
use sim::{SimDuration, SimTime, Summary};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use twin_models::{Replications, Scenario, Twin};

/// What a live run projects, and how often.
#[derive(Clone, Copy)]
pub struct ProjectionSettings {
    /// Simulated time between projections.
    pub every: SimDuration,
    /// How far each looks ahead.
    pub ahead: SimDuration,
    /// Futures per projection.
    pub reps: usize,
}

/// A projection being made: from when, how far, and where its futures come.
struct Making {
    from: SimTime,
    ahead: SimDuration,
    futures: Receiver<Result<Replications, String>>,
}

/// Makes a live run's projections.
pub struct Projector {
    settings: ProjectionSettings,
    scenario: Arc<Scenario>,
    next: SimTime,
    /// The projection being made.
    running: Option<Making>,
    file: Option<std::io::BufWriter<std::fs::File>>,
    /// Projections made.
    pub made: u64,
}

impl Projector {
    /// Projections of `scenario` as `settings` say, written into `out` (if given) as
    /// `projections.ndjson`; the first is made at `from`.
    pub fn new(
        settings: ProjectionSettings,
        scenario: &Scenario,
        from: SimTime,
        out: Option<&Path>,
    ) -> Result<Self, crate::Failure> {
        let file = match out {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    crate::Failure::Io(format!("{}: cannot create: {e}", dir.display()))
                })?;
                let path = dir.join("projections.ndjson");
                let f = std::fs::File::create(&path).map_err(|e| {
                    crate::Failure::Io(format!("{}: cannot write: {e}", path.display()))
                })?;
                Some(std::io::BufWriter::new(f))
            }
            None => None,
        };
        Ok(Projector {
            settings,
            scenario: Arc::new(scenario.clone()),
            next: from,
            running: None,
            file,
            made: 0,
        })
    }

    /// Waits for the projection being made, if any, and reports it.
    pub fn finish(
        &mut self,
        twin: &Twin<&Scenario>,
        alerts: &mut AlertSink,
        site: &str,
    ) -> Option<Value> {
        self.report(twin, alerts, site, true)
    }

    /// Reports a projection whose futures are in, and starts the next when it is due
    /// (one at a time: a projection due while one is being made waits for it).
    pub fn tick(
        &mut self,
        twin: &Twin<&Scenario>,
        alerts: &mut AlertSink,
        site: &str,
    ) -> Option<Value> {
        let made = self.report(twin, alerts, site, false);
        self.start_if_due(twin);
        made
    }

    /// Reports the projection being made if its futures are in (waiting for them if
    /// `wait`).
    fn report(
        &mut self,
        twin: &Twin<&Scenario>,
        alerts: &mut AlertSink,
        site: &str,
        wait: bool,
    ) -> Option<Value> {
        let Making {
            from,
            ahead,
            futures,
        } = self.running.as_ref()?;
        let result = if wait {
            futures.recv().ok()?
        } else {
            futures.try_recv().ok()?
        };
        let doc = match result {
            Ok(r) => summary(twin, *from, *ahead, &r),
            Err(e) => {
                json!({ "at_s": from.as_secs_f64(), "kind": "projection_failed", "hint": e })
            }
        };
        if let Some(f) = &mut self.file {
            // A projection that cannot be written is still announced.
            let _ = writeln!(f, "{doc}").and_then(|()| f.flush());
        }
        alerts.emit(site, &doc);
        self.made += 1;
        self.running = None;
        Some(doc)
    }

    /// Starts a projection if one is due and none is being made.
    fn start_if_due(&mut self, twin: &Twin<&Scenario>) {
        let now = twin.now();
        let left = twin.horizon().0.saturating_sub(now.0);
        let ahead = SimDuration(self.settings.ahead.0.min(left));
        if self.running.is_none() && now >= self.next && ahead.0 > 0 {
            self.next = SimTime(now.0.saturating_add(self.settings.every.0));
            let bytes = twin.save();
            let scenario = Arc::clone(&self.scenario);
            let reps = self.settings.reps;
            let seed = twin_models::fork_seed(twin.spec().seed, now);
            let (tx, rx) = channel();
            std::thread::spawn(move || {
                let r = twin_models::fork_replications(&bytes, &scenario, seed, ahead, reps, 1)
                    .map_err(|e| e.to_string());
                let _ = tx.send(r);
            });
            self.running = Some(Making {
                from: now,
                ahead,
                futures: rx,
            });
        }
    }
}

/// A projection from `from`, `ahead`, of `futures`: per line its output by the end, and
/// what ran out in how many futures and when (times as the twin's real time when known).
fn summary(
    twin: &Twin<&Scenario>,
    from: SimTime,
    ahead: SimDuration,
    futures: &Replications,
) -> Value {
    let end = SimTime(from.0 + ahead.0);
    // To the second: a projection is not more precise than that.
    let when = |t: SimTime| {
        let t = SimTime(t.0 / sim::NANOS_PER_SEC * sim::NANOS_PER_SEC);
        twin.real_time(t)
            .map_or_else(|| format!("{:.0} s", t.as_secs_f64()), |r| r.to_string())
    };
    let n = futures.runs.len();
    let lines: Vec<Value> = futures.runs[0]
        .kpis
        .lines
        .iter()
        .enumerate()
        .map(|(l, first)| {
            let out: Vec<f64> = futures
                .runs
                .iter()
                .map(|r| r.kpis.lines[l].units_out)
                .collect();
            let s = Summary::of(&out);
            json!({ "line": first.name, "units_out": s.mean, "ci95": s.ci95_half_width })
        })
        .collect();
    // What ran out: the first alert of each kind, line and material in each future.
    let mut risks: std::collections::BTreeMap<(String, String, String), Vec<f64>> =
        Default::default();
    for r in &futures.runs {
        let mut seen = std::collections::BTreeSet::new();
        for a in &r.kpis.alerts {
            if !matches!(a.kind.as_str(), "line_starved" | "stock_out")
                || a.at_s < from.as_secs_f64()
            {
                continue;
            }
            let key = (
                a.kind.clone(),
                a.line.clone().unwrap_or_default(),
                a.material.clone().unwrap_or_default(),
            );
            if seen.insert(key.clone()) {
                risks.entry(key).or_default().push(a.at_s);
            }
        }
    }
    let risks: Vec<Value> = risks
        .into_iter()
        .map(|((kind, line, material), at)| {
            let mean = at.iter().sum::<f64>() / at.len() as f64;
            json!({
                "kind": kind,
                "line": line,
                "material": material,
                "share": at.len() as f64 / n as f64,
                "mean_at_s": mean,
                "mean_at": when(SimTime((mean * 1e9) as u64)),
            })
        })
        .collect();
    let mut hint: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "line {}: {:.0} ± {:.0} units from now to {}",
                l["line"].as_str().unwrap_or(""),
                l["units_out"].as_f64().unwrap_or(0.0),
                l["ci95"].as_f64().unwrap_or(0.0),
                when(end)
            )
        })
        .collect();
    hint.extend(risks.iter().map(|r| {
        let material = r["material"].as_str().unwrap_or("");
        let place = match r["line"].as_str() {
            Some(line) if r["kind"] == "line_starved" => format!("at line side of {line}"),
            _ => "in stock".to_string(),
        };
        format!(
            "{material} runs out {place} at {} in {:.0} % of futures",
            r["mean_at"].as_str().unwrap_or(""),
            100.0 * r["share"].as_f64().unwrap_or(0.0)
        )
    }));
    json!({
        "at_s": from.as_secs_f64(),
        "kind": "projection",
        "ahead_s": ahead.as_secs_f64(),
        "futures": n,
        "lines": lines,
        "risks": risks,
        "hint": hint.join("; "),
    })
}
