//! The stops of every station over a run, for the timeline file and Gantt charts.

use super::StationState;
use sim::SimDuration;

/// A station's stops over a run: spans in which a stop state held it.
#[derive(Clone, Debug, PartialEq)]
pub struct StationTimeline {
    /// Line name.
    pub line: String,
    /// Station name.
    pub station: String,
    /// (start ns, end ns, state), in time order.
    pub stops: Vec<(u64, u64, StationState)>,
}

/// The stops of every station as CSV: `line,station,state,start_s,end_s`.
pub fn timeline_csv(timeline: &[StationTimeline]) -> String {
    let mut out = String::from("line,station,state,start_s,end_s\n");
    for t in timeline {
        for &(a, b, state) in &t.stops {
            out.push_str(&format!(
                "{},{},{},{},{}\n",
                t.line,
                t.station,
                state.name(),
                SimDuration(a).as_secs_f64(),
                SimDuration(b).as_secs_f64()
            ));
        }
    }
    out
}
