//! The stops of every station over a run, for the timeline file and Gantt charts.

use super::StationState;
use sim::SimDuration;

/// A station's stops over a run: spans in which a stop state held it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StationTimeline {
    /// Line name.
    pub line: String,
    /// Station name.
    pub station: String,
    /// (start ns, end ns, state), in time order.
    pub stops: Vec<(u64, u64, StationState)>,
    /// On a line with level switches: spans at a speed step other than nominal and stop
    /// (a stop by a switch is among `stops`), as (start ns, end ns, share of nominal).
    pub steps: Vec<(u64, u64, f64)>,
}

/// The header of [`timeline_csv`].
pub const TIMELINE_CSV_HEADER: &str = "line,station,state,start_s,end_s\n";

/// The stops of every station as CSV: `line,station,state,start_s,end_s`, station by
/// station, each in time order; then, on lines with level switches, the spans at speed
/// steps, station by station, with `state` as `speed 90%`.
pub fn timeline_csv(timeline: &[StationTimeline]) -> String {
    let mut out = String::from(TIMELINE_CSV_HEADER);
    for t in timeline {
        out.push_str(&stops_csv(&t.line, &t.station, &t.stops));
    }
    for t in timeline {
        out.push_str(&steps_csv(&t.line, &t.station, &t.steps));
    }
    out
}

/// One station's speed-step spans as the CSV lines of [`timeline_csv`].
pub fn steps_csv(line: &str, station: &str, steps: &[(u64, u64, f64)]) -> String {
    spans_csv(
        line,
        station,
        steps
            .iter()
            .map(|&(a, b, step)| (a, b, format!("speed {}", super::control::step_name(step)))),
    )
}

/// One station's `stops` as the CSV lines of [`timeline_csv`].
pub fn stops_csv(line: &str, station: &str, stops: &[(u64, u64, StationState)]) -> String {
    spans_csv(
        line,
        station,
        stops.iter().map(|&(a, b, s)| (a, b, s.name())),
    )
}

/// CSV lines `line,station,state,start_s,end_s` of (start ns, end ns, state) spans,
/// written straight into one string (a year of a plant has millions of them).
fn spans_csv(
    line: &str,
    station: &str,
    spans: impl Iterator<Item = (u64, u64, impl std::fmt::Display)>,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for (a, b, state) in spans {
        // Writing into a `String` cannot fail.
        let _ = writeln!(
            out,
            "{line},{station},{state},{},{}",
            SimDuration(a).as_secs_f64(),
            SimDuration(b).as_secs_f64()
        );
    }
    out
}
