//! Machine states from the plant (`machine_state` feed events): a reported stop holds the
//! machine exactly as long as reported, replaces its random breakdowns, ends by the
//! report's repair time or a conditioned draw, and counters report their drift.

use crate::fleet::plant_agv;
use feeds::{Ingestion, Origin, Timestamp, parse_ndjson_line};
use sim::{SimDuration, SimTime};
use twin_models::line::StationState;
use twin_models::{RunOutput, RunSpec, Scenario, Twin, plan_feed, simulate_replay};

const MIN: u64 = 60 * sim::NANOS_PER_SEC;

/// A machine_state line for `station` of `line` at 06:00 plus `minute`, with `extra`
/// fields.
fn report(id: &str, minute: u64, line: &str, station: &str, state: &str, extra: &str) -> String {
    let (h, m) = (6 + minute / 60, minute % 60);
    format!(
        r#"{{"event_id":"{id}","ts":"2026-11-23T{h:02}:{m:02}:00Z","site":"plant-agv","kind":"machine_state","line":"{line}","station":"{station}","state":"{state}"{extra}}}"#
    )
}

/// `s` replayed with `lines` as its feed, recording the timeline.
fn replay(s: &Scenario, lines: &[String]) -> RunOutput {
    let mut ing = Ingestion::new(0.0);
    for (k, l) in lines.iter().enumerate() {
        let e = parse_ndjson_line(l, k + 1).unwrap_or_else(|r| panic!("{}", r.reason));
        ing.offer(
            e,
            Origin {
                source: 0,
                line: k + 1,
            },
        );
    }
    let plan = plan_feed(s.run.start, s.run.horizon, ing.flush()).unwrap();
    simulate_replay(s, RunSpec::of(s), plan)
}

/// The down spans of station `station` of line `line`, minutes.
fn down(out: &RunOutput, line: &str, station: &str) -> Vec<(f64, f64)> {
    out.timeline
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| t.line == line && t.station == station)
        .unwrap()
        .stops
        .iter()
        .filter(|(_, _, s)| *s == StationState::Down)
        .map(|&(a, b, _)| (a as f64 / MIN as f64, b as f64 / MIN as f64))
        .collect()
}

fn station<'a>(out: &'a RunOutput, line: &str, name: &str) -> &'a twin_models::line::StationKpis {
    let l = out.kpis.lines.iter().find(|l| l.name == line).unwrap();
    l.stations.iter().find(|s| s.name == name).unwrap()
}

#[test]
fn a_reported_stop_holds_the_machine_exactly_as_reported_and_replaces_its_breakdowns() {
    let s = plant_agv(&[], "6h");
    let out = replay(
        &s,
        &[
            // Reported from the start: L1's filler then stops only as reported.
            report("a", 0, "L1", "filler", "execute", ""),
            // A stop with its expected length.
            report("b", 60, "L1", "filler", "held", r#","repair_s":1800"#),
            // One reported back before its expected end.
            report("c", 150, "L1", "filler", "aborted", r#","repair_s":600"#),
            report("d", 155, "L1", "filler", "execute", ""),
            // One without a length: a repair time drawn from the filler's (5 ± 2 min).
            report("e", 200, "L1", "filler", "stopped", ""),
            // Suspended (waiting on its neighbours) is not a stop.
            report(
                "f",
                300,
                "L1",
                "filler",
                "suspended",
                r#","sub_state":"lack""#,
            ),
        ],
    );
    let spans = down(&out, "L1", "filler");
    assert_eq!(spans[..2], [(60.0, 90.0), (150.0, 155.0)], "{spans:?}");
    assert_eq!(spans.len(), 3, "{spans:?}");
    let (from, to) = spans[2];
    assert!(from == 200.0 && to > 200.0 && to < 260.0, "{spans:?}");
    assert_eq!(station(&out, "L1", "filler").failures, 3);
    // L2's filler, with no reports, keeps failing at random (every hour on average).
    assert!(station(&out, "L2", "filler").failures >= 1);
    let feed = out.kpis.feed.as_ref().unwrap();
    assert_eq!(feed.machines.len(), 1);
    let m = &feed.machines[0];
    assert_eq!((m.line.as_str(), m.station.as_str()), ("L1", "filler"));
    assert_eq!((m.reports, m.stops), (6, 3));
    assert_eq!(m.state.as_deref(), Some("suspended"));
}

#[test]
fn a_stop_reported_late_lasts_the_rest_of_a_repair_time_given_how_long_it_has_lasted() {
    // The capper's repairs take 3 ± 1 min (lognormal); one reported 2 min after it began,
    // with no repair time, ends a conditioned draw later: after the report, and in a few
    // minutes.
    let s = plant_agv(&[], "6h");
    let start = s.run.start.unwrap();
    let mut ends = Vec::new();
    for seed in 1..=12 {
        let spec = RunSpec {
            seed,
            ..RunSpec::of(&s)
        };
        let mut twin = Twin::live(&s, spec, start);
        twin.advance_to(SimTime(62 * MIN));
        let held = report("h", 60, "L1", "capper", "held", "");
        twin.offer(vec![parse_ndjson_line(&held, 1).unwrap()])
            .unwrap();
        twin.advance_to(SimTime(62 * MIN));
        let state = |t: &mut Twin<&Scenario>| t.snapshot().lines[0].stations[1].state;
        assert_eq!(state(&mut twin), StationState::Down, "seed {seed}");
        let mut t = 62 * MIN;
        while state(&mut twin) == StationState::Down {
            t += sim::NANOS_PER_SEC;
            assert!(t < 120 * MIN, "seed {seed}: still down an hour later");
            twin.advance_to(SimTime(t));
        }
        ends.push((t - 60 * MIN) as f64 / MIN as f64);
    }
    // Every stop lasted more than the 2 minutes already gone; the mean of a lognormal of
    // 3 ± 1 min given it passed 2 min is about 3.4 min.
    assert!(ends.iter().all(|&d| d > 2.0), "{ends:?}");
    let mean = ends.iter().sum::<f64>() / ends.len() as f64;
    assert!((2.6..4.6).contains(&mean), "{ends:?}");
}

#[test]
fn reported_counters_give_their_drift_from_the_twins() {
    let s = plant_agv(&[], "2h");
    let first = report("a", 0, "L2", "labeller", "execute", "");
    let at_hour = report(
        "b",
        60,
        "L2",
        "labeller",
        "execute",
        r#","produced":1000,"rejected":2"#,
    );
    let out = replay(&s, &[first.clone(), at_hour]);
    let m = &out.kpis.feed.as_ref().unwrap().machines[0];
    // The twin's own count of the labeller at 07:00, from the same run stopped there.
    let mut ing = Ingestion::new(0.0);
    ing.offer(
        parse_ndjson_line(&first, 1).unwrap(),
        Origin { source: 0, line: 1 },
    );
    let plan = plan_feed(s.run.start, s.run.horizon, ing.flush()).unwrap();
    let mut twin = Twin::with_feed(&s, RunSpec::of(&s), plan);
    twin.advance_to(SimTime(60 * MIN));
    let good = twin.snapshot().lines[1].stations[2].units_out;
    assert!(good > 1000.0);
    assert_eq!(m.produced_drift, Some(good - 1000.0));
    assert!(m.rejected_drift.is_some());
    let _ = (SimDuration::ZERO, Timestamp(0));
}

#[test]
fn a_machine_the_twin_does_not_have_is_counted_not_applied() {
    let s = plant_agv(&[], "2h");
    let out = replay(&s, &[report("x", 10, "L9", "filler", "held", "")]);
    let feed = out.kpis.feed.as_ref().unwrap();
    assert_eq!(feed.machine_states_unmatched, 1);
    assert!(feed.machines.is_empty());
}
