//! `twinline bench`: the engine's speed on the bundled scenarios, as a short report. The
//! measurements are the criterion benches' own (`twinline_benches::engine_suite`), each
//! timed here as the best of a few runs.

use crate::say;
use std::path::Path;
use std::time::Instant;
use twinline_benches::{Measurement, engine_suite};

/// Best wall time of `m` over up to `repeat` runs, and the events of one run.
#[allow(
    clippy::disallowed_methods,
    reason = "measuring wall time is this command's job"
)]
fn time(m: &Measurement, repeat: usize) -> (f64, u64) {
    let mut best = f64::INFINITY;
    let mut events = 0;
    for _ in 0..repeat.clamp(1, m.repeat.max(1)) {
        let t = Instant::now();
        events = m.run();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, events)
}

/// Runs the measurements on the scenarios in `dir` and prints the report.
pub fn run(dir: &Path, repeat: usize) -> Result<(), String> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let suite = engine_suite(&read, cores)?;
    say(&format!(
        "{:<40}{:>12}{:>14}{:>16}   {}\n",
        "measurement", "wall", "events", "events/s", "target"
    ));
    let mut sweep_one_thread = None;
    for m in &suite {
        let (wall, events) = time(m, repeat);
        let verdict = match m.target.met(wall, events) {
            None => "—",
            Some(true) => "(met)",
            Some(false) => "(NOT met)",
        };
        say(&format!(
            "{:<40}{:>10.3} s{:>14}{:>14.2} M   {} {}\n",
            m.label,
            wall,
            events,
            events as f64 / wall / 1e6,
            m.target.text(),
            verdict
        ));
        if m.group == "sweep" {
            match sweep_one_thread {
                None => sweep_one_thread = Some(wall),
                Some(one) => say(&format!(
                    "{:<40}{:>10.2} ×\n",
                    "  sweep speed-up",
                    one / wall
                )),
            }
        }
    }
    Ok(())
}
