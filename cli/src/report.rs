//! `twinline report DIR` and `run --report`: report.html from the results in a directory.

use crate::experiment::bad;
use crate::{Failure, say, write};
use experiments::report::{RunInputs, run_report, sweep_report};
use experiments::results::SweepResults;
use std::path::Path;

fn read_optional(path: &Path) -> Result<Option<String>, Failure> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::BadInput(format!(
            "{}: cannot read: {e}",
            path.display()
        ))),
    }
}

/// Writes DIR/report.html from a sweep's results.json, or a run's kpis.json with its
/// timeseries.csv and timeline.csv.
/// `kpis` chooses a sweep's curves by name pattern (empty: the headline KPIs).
pub fn write_report(dir: &Path, kpis: &[String]) -> Result<(), Failure> {
    let html = if let Some(text) = read_optional(&dir.join("results.json"))? {
        let file = dir.join("results.json").display().to_string();
        sweep_report(&SweepResults::from_json(&file, &text).map_err(bad)?, kpis)
    } else if let Some(text) = read_optional(&dir.join("kpis.json"))? {
        let kpis: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Failure::BadInput(format!(
                "{}: not JSON: {e}",
                dir.join("kpis.json").display()
            ))
        })?;
        if kpis.get("format").and_then(|f| f.as_str()) != Some(twin_models::report::KPIS_FORMAT) {
            return Err(Failure::BadInput(format!(
                "{}: not a twinline kpis.json (format {})",
                dir.join("kpis.json").display(),
                twin_models::report::KPIS_FORMAT
            )));
        }
        let series = read_optional(&dir.join("timeseries.csv"))?;
        let timeline = read_optional(&dir.join("timeline.csv"))?;
        let alerts = read_optional(&dir.join("alerts.ndjson"))?;
        run_report(&RunInputs {
            kpis: &kpis,
            series: series.as_deref(),
            timeline: timeline.as_deref(),
            alerts: alerts.as_deref(),
        })
    } else {
        return Err(Failure::BadInput(format!(
            "{}: holds neither results.json (a sweep) nor kpis.json (a run)",
            dir.display()
        )));
    };
    let out = dir.join("report.html");
    write(&out, &html)?;
    say(&format!("wrote {}\n", out.display()));
    Ok(())
}
