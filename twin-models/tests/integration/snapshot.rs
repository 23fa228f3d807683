//! Snapshots: a run saved at T, read back and resumed to the horizon gives exactly the
//! uninterrupted run (KPIs, time series, timeline, events), on every bundled scenario and
//! replayed feed; damaged, foreign and other-format snapshots are refused.

use feeds::{Ingestion, parse_ndjson};
use sim::SimTime;
use twin_models::plant::save::{read, read_header};
use twin_models::{FeedPlan, RunOutput, RunSpec, Scenario, SnapshotError, Twin, plan_feed};

/// Every bundled scenario a plain run takes (the sweep file is not one).
const BUNDLED: &[&str] = &[
    "bottling-line.toml",
    "bottling-line-serial.toml",
    "network.toml",
    "plant-10-lines.toml",
    "plant-agv.toml",
    "warehouse-stress.toml",
    "stress/tandem-4-failures.toml",
    "stress/viewer-500.toml",
    "textbook/agv-loop.toml",
    "textbook/cases-and-pallets.toml",
    "textbook/combiners.toml",
    "textbook/deterministic-line.toml",
    "textbook/dividers.toml",
    "textbook/failing-machine.toml",
    "textbook/level-switch.toml",
    "textbook/mm1.toml",
    "textbook/mm1k.toml",
    "textbook/parallel-machines.toml",
    "textbook/rework.toml",
    "textbook/unreliable-parallel.toml",
];

fn load(path: &str) -> Scenario {
    let text = crate::bundled_text(path);
    let dir = format!("{}/../scenarios", env!("CARGO_MANIFEST_DIR"));
    let base = std::path::Path::new(&dir).join(path);
    let base = base
        .parent()
        .expect("a scenario lies in a folder")
        .to_path_buf();
    twin_models::load_scenario_with_files(path, &text, &|name: &str| {
        std::fs::read_to_string(base.join(name)).map_err(|e| e.to_string())
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A short horizon for the heavy scenarios, so the test stays quick.
fn spec(s: &Scenario, horizon_h: Option<u64>) -> RunSpec {
    let mut spec = RunSpec::of(s);
    if let Some(h) = horizon_h {
        spec.horizon = spec.horizon.min(sim::SimDuration::from_secs(h * 3600));
        spec.warmup = spec.warmup.min(sim::SimDuration(spec.horizon.0 / 4));
    }
    spec
}

/// What a run produced, in a form compared byte for byte.
fn fingerprint(out: &RunOutput) -> (String, String, String, u64) {
    let doc = serde_json::to_string(&out.kpis).expect("KPIs serialise");
    let series = out
        .series
        .as_ref()
        .map(|s| format!("{}{}", s.csv_header(), sim::TimeSeries::csv_rows(s.rows())))
        .unwrap_or_default();
    let timeline = out
        .timeline
        .as_ref()
        .map(|t| twin_models::line::timeline_csv(t))
        .unwrap_or_default();
    (doc, series, timeline, out.events)
}

/// Runs `make()` through, and again stopped at `at` with a snapshot read back into a
/// fresh twin; the two must agree exactly.
fn assert_resumes<'s>(
    name: &str,
    s: &'s Scenario,
    make: impl Fn() -> Twin<&'s Scenario>,
    at: SimTime,
) {
    let whole = fingerprint(&{
        let mut t = make();
        t.advance_to(t.horizon());
        t.finish()
    });
    let mut first = make();
    first.handle_events_to(at);
    let bytes = first.save();
    drop(first);
    let snapshot = read(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(snapshot.header.time, at, "{name}");
    let mut resumed = Twin::resume(s, snapshot.run).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(resumed.now(), at, "{name}");
    resumed.advance_to(resumed.horizon());
    let again = fingerprint(&resumed.finish());
    assert!(whole.0 == again.0, "{name}: the KPIs differ after resuming");
    assert!(
        whole.1 == again.1,
        "{name}: the time series differs after resuming"
    );
    assert!(
        whole.2 == again.2,
        "{name}: the timeline differs after resuming"
    );
    assert_eq!(whole.3, again.3, "{name}: events");
}

#[test]
fn every_bundled_scenario_resumed_from_a_snapshot_runs_as_if_never_stopped() {
    for &path in BUNDLED {
        let s = load(path);
        let heavy = [
            "warehouse-stress",
            "viewer-500",
            "plant-10-lines",
            "network",
        ]
        .iter()
        .any(|h| path.contains(h));
        let spec = spec(&s, heavy.then_some(2).or(Some(48)));
        // Snapshots at an odd instant, mid-run, and past the warm-up's end.
        for frac in [0.37, 0.81] {
            let at = SimTime((spec.horizon.0 as f64 * frac) as u64);
            assert_resumes(path, &s, || Twin::new(&s, spec), at);
        }
    }
}

fn feed(s: &Scenario, file: &str) -> FeedPlan {
    let mut ing = Ingestion::new(0.0);
    for p in parse_ndjson(&crate::bundled_text(file)).flatten() {
        ing.offer(
            p.event,
            feeds::Origin {
                source: 0,
                line: p.line,
            },
        );
    }
    plan_feed(s.run.start, s.run.horizon, ing.flush()).expect("the bundled feed plans")
}

#[test]
fn replayed_feeds_resumed_from_a_snapshot_run_as_if_never_stopped() {
    for (path, file) in [
        ("plant-agv.toml", "feeds/plant-agv.ndjson"),
        ("network.toml", "feeds/network.ndjson"),
    ] {
        let s = load(path);
        let spec = RunSpec::of(&s);
        let at = SimTime(spec.horizon.0 / 3 + 12_345);
        assert_resumes(path, &s, || Twin::with_feed(&s, spec, feed(&s, file)), at);
    }
}

#[test]
fn a_snapshot_taken_twice_in_a_row_is_the_same_bytes() {
    let s = load("plant-agv.toml");
    let mut t = Twin::new(&s, spec(&s, Some(2)));
    t.handle_events_to(SimTime(3_600_000_000_000));
    assert_eq!(t.save(), t.save());
    // A resumed twin saved again at once writes the snapshot it was read from.
    let bytes = t.save();
    let snap = read(&bytes).unwrap();
    let resumed = Twin::resume(&s, snap.run).unwrap();
    assert_eq!(resumed.save(), bytes);
}

#[test]
fn damaged_truncated_foreign_and_newer_snapshots_are_refused_never_read() {
    let s = load("bottling-line.toml");
    let mut t = Twin::new(&s, spec(&s, Some(1)));
    t.handle_events_to(SimTime(1_800_000_000_000));
    let good = t.save();
    assert!(read(&good).is_ok());
    // Every single flipped byte is caught (the checksum covers every byte before it).
    for i in (0..good.len()).step_by(good.len() / 97 + 1) {
        let mut bad = good.clone();
        bad[i] ^= 0x20;
        assert!(read(&bad).is_err(), "a flip at byte {i} went unnoticed");
    }
    // Cut anywhere: refused as truncated (or not a snapshot, when the magic is cut).
    for len in [0, 5, 8, 12, 19, 20, good.len() / 2, good.len() - 1] {
        match read(&good[..len]) {
            Err(SnapshotError::Truncated { .. } | SnapshotError::NotASnapshot) => {}
            other => panic!("cut to {len} bytes: {:?}", other.err()),
        }
    }
    let mut longer = good.clone();
    longer.push(0);
    assert!(matches!(read(&longer), Err(SnapshotError::Decode(_))));
    // Another format version is refused by its number, before anything else.
    let mut newer = good.clone();
    let next = twin_models::plant::FORMAT_VERSION + 1;
    newer[8..12].copy_from_slice(&next.to_le_bytes());
    assert_eq!(
        read(&newer).err(),
        Some(SnapshotError::Version { found: next })
    );
    assert_eq!(
        read_header(b"PK\x03\x04 a zip").err(),
        Some(SnapshotError::NotASnapshot)
    );
    // Resumed against another scenario: refused, naming both.
    let other = load("bottling-line-serial.toml");
    let err = Twin::resume(&other, read(&good).unwrap().run)
        .err()
        .expect("another scenario is refused");
    let text = err.to_string();
    assert!(matches!(err, SnapshotError::OtherScenario { .. }), "{text}");
    assert!(
        text.contains(&other.name) && text.contains(&s.name),
        "{text}"
    );
}

/// A snapshot of `s` (its own settings) at `at`.
fn snapshot_at(s: &Scenario, at: SimTime) -> Vec<u8> {
    let mut t = Twin::new(s, RunSpec::of(s));
    t.handle_events_to(at);
    t.save()
}

#[test]
fn forks_are_reproducible_independent_of_threads_and_each_a_future_of_its_own() {
    let s = load("plant-agv.toml");
    let bytes = snapshot_at(&s, SimTime(8 * 3600 * sim::NANOS_PER_SEC));
    let ahead = sim::SimDuration::from_secs(2 * 3600);
    let doc = |threads| {
        let r = twin_models::fork_replications(&bytes, &s, 11, ahead, 4, threads).unwrap();
        r.runs
            .iter()
            .map(|o| serde_json::to_string(&o.kpis).unwrap())
            .collect::<Vec<_>>()
    };
    let one = doc(1);
    assert_eq!(one, doc(2), "the thread count changed a fork");
    let mut distinct = one.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "futures that should differ are the same");
    // Each covers the two hours after the snapshot.
    let r = twin_models::fork_replications(&bytes, &s, 11, ahead, 1, 1).unwrap();
    assert_eq!(r.runs[0].kpis.measured_s, 7200.0);
}

#[test]
fn a_fork_goes_on_from_the_state_it_was_taken_in() {
    // M/M/1 with ρ = 0.8: the mean number in the system is 4, but over the half minute
    // after an instant with a long queue it is about that queue.
    let s = load("textbook/mm1.toml");
    let mut t = Twin::new(&s, RunSpec::of(&s));
    let mut at = SimTime(3 * 3_600 * sim::NANOS_PER_SEC);
    let queue = loop {
        t.handle_events_to(at);
        // Units in the system now (queue and server).
        let q = t.kpis().expect("past the warm-up").lines[0].wip_end;
        if q >= 25.0 {
            break q;
        }
        at = SimTime(at.0 + 60 * sim::NANOS_PER_SEC);
        assert!(
            at.0 < 40 * 3_600 * sim::NANOS_PER_SEC,
            "no long queue found"
        );
    };
    let bytes = t.save();
    let r = twin_models::fork_replications(&bytes, &s, 5, sim::SimDuration::from_secs(30), 20, 2)
        .unwrap();
    let wip: Vec<f64> = r.runs.iter().map(|o| o.kpis.lines[0].wip_mean).collect();
    let mean = wip.iter().sum::<f64>() / wip.len() as f64;
    assert!(
        (mean - queue).abs() < 8.0,
        "queue {queue} at the snapshot, mean {mean} over the half minute after"
    );
}

#[test]
fn forks_of_mm1_agree_with_its_closed_form() {
    // From a state already in steady state, each fork measures steady state at once:
    // L = ρ / (1 − ρ) = 4 for ρ = 0.8.
    let s = load("textbook/mm1.toml");
    let bytes = snapshot_at(&s, SimTime(12 * 3_600 * sim::NANOS_PER_SEC));
    let r = twin_models::fork_replications(
        &bytes,
        &s,
        3,
        sim::SimDuration::from_secs(24 * 3_600),
        20,
        2,
    )
    .unwrap();
    let runs: Vec<_> = r.runs.into_iter().map(|o| o.kpis).collect();
    crate::assert_agrees("L", crate::summary(&runs, |l| l.wip_mean), 4.0, 0.05);
}

#[test]
fn a_fork_past_the_end_of_its_run_is_refused() {
    let s = load("textbook/mm1.toml");
    // The run ends at 48 h: from 40 h, at most 8 h ahead.
    let bytes = snapshot_at(&s, SimTime(40 * 3_600 * sim::NANOS_PER_SEC));
    let ahead = |h: u64| sim::SimDuration::from_secs(h * 3_600);
    assert!(twin_models::fork_replications(&bytes, &s, 1, ahead(8), 1, 1).is_ok());
    match twin_models::fork_replications(&bytes, &s, 1, ahead(9), 1, 1) {
        Err(e @ SnapshotError::BeyondRun { .. }) => {
            assert!(e.to_string().contains("at most 28800 s ahead"), "{e}")
        }
        other => panic!("{:?}", other.err()),
    }
}
