//! The same scenario and seed give the same bytes; thread count and recording change nothing.

use crate::{bundled, parse};
use twin_models::{RunSpec, kpis_document, replicate};

#[test]
fn same_seed_same_kpis_document() {
    for path in ["bottling-line-serial.toml", "bottling-line.toml"] {
        same_seed_same_document(path);
    }
}

fn same_seed_same_document(path: &str) {
    let s = bundled(path);
    let spec = RunSpec::of(&s);
    let doc = |threads| {
        serde_json::to_string(&kpis_document(
            &s,
            spec,
            &replicate(&s, spec, 3, threads),
            None,
        ))
        .unwrap()
    };
    let a = doc(1);
    assert_eq!(a, doc(1));
    assert_eq!(
        a,
        doc(2),
        "replications must not depend on the number of threads"
    );
    let other = RunSpec {
        seed: spec.seed + 1,
        ..spec
    };
    let b = serde_json::to_string(&kpis_document(&s, other, &replicate(&s, other, 3, 2), None))
        .unwrap();
    assert_ne!(a, b, "another seed gives other numbers");
}

#[test]
fn time_series_is_reproducible() {
    let s = bundled("bottling-line-serial.toml");
    let spec = RunSpec::of(&s);
    let csv = || {
        replicate(&s, spec, 1, 1).runs[0]
            .series
            .as_ref()
            .unwrap()
            .to_csv()
    };
    let a = csv();
    assert_eq!(a, csv());
    assert_eq!(
        a.lines().count(),
        1 + 8 * 60 + 1,
        "a header, then one row a minute from 0 to 8 h"
    );
}

#[test]
fn changing_one_station_keeps_other_streams() {
    // Common random numbers: the arrival stream does not depend on the server.
    let text = |service: &str| {
        format!(
            r#"
name = "crn"
[run]
horizon = "1h"
[[lines]]
name = "Q"
source = {{ kind = "arrivals", interarrival = "exp(1s)" }}
[[lines.stations]]
name = "server"
kind = "generic"
processing_time = "{service}"
"#
        )
    };
    let a = crate::line(&parse(&text("exp(0.5s)")));
    let b = crate::line(&parse(&text("exp(0.9s)")));
    assert_eq!(a.arrivals, b.arrivals);
    assert_ne!(a.mean_time_in_system_s, b.mean_time_in_system_s);
}

/// `plant-10-lines.toml` run for `hours`, the first a warm-up, sampled every `sample_s`
/// seconds.
fn ten_lines(hours: u64, sample_s: u64) -> twin_models::Scenario {
    let mut s = bundled("plant-10-lines.toml");
    s.run.horizon = sim::SimDuration::from_secs(hours * 3600);
    s.run.warmup = sim::SimDuration::from_secs(3600);
    s.run.sample_interval = sim::SimDuration::from_secs(sample_s);
    s
}

/// A run of a plant whose lines share nothing takes each line on its own, one after
/// another on one thread: the same KPIs, series, timeline and event count, to the bit, as
/// the whole plant on one calendar.
#[test]
fn lines_run_one_after_another_give_the_whole_plant_s_run() {
    let s = ten_lines(36, 900);
    let spec = RunSpec {
        threads: 1,
        ..RunSpec::of(&s)
    };
    assert_eq!(twin_models::plant::partitions(&s, 10).len(), 10);
    let alone = twin_models::simulate(&s, spec);
    let whole = twin_models::Twin::new(&s, spec).finish();
    assert_eq!(alone.kpis, whole.kpis);
    assert_eq!(alone.events, whole.events);
    let csv = |o: &twin_models::RunOutput| o.series.as_ref().expect("recorded").to_csv();
    assert_eq!(csv(&alone), csv(&whole));
    let timeline = |o: &twin_models::RunOutput| {
        twin_models::line::timeline_csv(o.timeline.as_ref().expect("recorded"))
    };
    assert_eq!(timeline(&alone), timeline(&whole));
}

#[test]
fn lines_on_several_threads_give_the_same_run() {
    // A single run of a multi-line plant splits its independent lines over threads.
    let s = ten_lines(12, 600);
    let spec = RunSpec::of(&s);
    let one = replicate(&s, spec, 1, 1);
    let three = replicate(&s, spec, 1, 3);
    let doc = |r| serde_json::to_string(&kpis_document(&s, spec, r, None)).unwrap();
    assert_eq!(doc(&one), doc(&three));
    let csv = |r: &twin_models::Replications| r.runs[0].series.as_ref().unwrap().to_csv();
    assert_eq!(csv(&one), csv(&three));
    assert_eq!(one.runs[0].kpis.lines.len(), 10);
    assert_eq!(
        twin_models::plant::partitions(&s, 3),
        vec![
            (0..3).collect::<Vec<_>>(),
            (3..6).collect(),
            (6..10).collect()
        ]
    );
}
