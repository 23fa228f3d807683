//! What the tests of planning locally share: a line run for 12 h planned locally or
//! whole, and the two compared station by station.

use crate::line::events::LineEvent;
use crate::line::{LineEngine, LineRuntime};
use sim::{Calendar, EventCalendar, RngStreams, SimDuration, SimTime};

struct Cal {
    now: SimTime,
    queue: EventCalendar<LineEvent>,
}

impl Calendar<LineEvent> for Cal {
    fn now(&self) -> SimTime {
        self.now
    }
    fn at(&mut self, time: SimTime, event: LineEvent) {
        self.queue.schedule(time.max(self.now), event);
    }
}

/// Runs the first line of `text` for 12 h, planning each event locally or the whole line
/// (whatever its length), with the random streams of `seed`: the runtime and the events
/// it took. On a series line planned locally, after every event, no machine has taken
/// more than had arrived.
pub(super) fn run_line(text: &str, local: bool, seed: u64) -> (LineRuntime, usize) {
    let scenario = crate::load_scenario("long.toml", text).expect("valid");
    let line = &scenario.lines[0];
    let mut rt = LineRuntime::new(line, 0, &RngStreams::new(seed), false);
    let LineEngine::Fluid(f) = &mut rt.engine else {
        panic!("fixed cycles and unlimited supply run as flows")
    };
    f.local = local;
    let mut cal = Cal {
        now: SimTime::ZERO,
        queue: EventCalendar::new(),
    };
    rt.start(&mut cal);
    let end = SimTime::ZERO + SimDuration::from_secs(12 * 3600);
    let mut events = 0;
    while let Some((t, e)) = cal.queue.pop() {
        if t > end {
            break;
        }
        cal.now = t;
        events += 1;
        rt.handle(e, &mut cal);
        if let LineEngine::Fluid(f) = &mut rt.engine
            && f.graph.is_none()
            && f.local
        {
            f.assert_takes_only_what_arrived();
        }
    }
    rt.sync(end);
    (rt, events)
}

/// Asserts that every station of `local` took, made and rejected what it did in
/// `whole` to within one part in `parts`, failed as often and spent as long in each
/// state to within one part in `parts` of the 12 h (a millionth at least); returns the
/// changeovers along the line.
pub(super) fn assert_same_counts(local: &LineRuntime, whole: &LineRuntime, parts: u128) -> u64 {
    assert_same_units(local, whole, parts);
    let mut changeovers = 0;
    for i in 0..local.stations() {
        let (a, b) = (local.core(i), whole.core(i));
        let tol = (1.0 / parts as f64).max(1e-6) * 12.0 * 3600.0;
        for s in 0..7 {
            assert!(
                (a.times[s] - b.times[s]).abs() <= tol,
                "station {i}, state {s}: {} s planned locally, {} s planned whole",
                a.times[s],
                b.times[s]
            );
        }
        changeovers += a.counters.setups;
    }
    changeovers
}

/// Asserts that every station of `local` took, made and rejected what it did in
/// `whole` to within one part in `parts` and failed as often.
fn assert_same_units(local: &LineRuntime, whole: &LineRuntime, parts: u128) {
    for i in 0..local.stations() {
        let (a, b) = (local.core(i), whole.core(i));
        let close = |x: u128, y: u128| x.abs_diff(y) <= (x.max(y) / parts).max(1);
        assert!(
            close(a.counters.taken, b.counters.taken),
            "station {i} took {} planned locally, {} planned whole",
            a.counters.taken,
            b.counters.taken
        );
        assert!(close(a.counters.good, b.counters.good), "station {i} good");
        assert!(
            close(a.counters.rejected, b.counters.rejected),
            "station {i} rejects"
        );
        assert_eq!(
            a.counters.failures, b.counters.failures,
            "station {i} failures"
        );
    }
}
