//! What-ifs from a snapshot with changed settings (`fork --set`): each change a fork may
//! make takes effect from the snapshot's state on, checked against what the changed
//! plant must do (closed forms, hand-worked timelines); changes a state cannot take are
//! refused naming the field.

use sim::{SimDuration, SimTime};
use twin_models::kpi::RunKpis;
use twin_models::{RunSpec, Scenario, SnapshotError, Twin, load_scenario};

/// `text` with the fields `sets` (dotted path, TOML value) set, as `--set` sets them.
fn variant(text: &str, sets: &[(&str, &str)]) -> Scenario {
    let mut doc: toml::Table = text.parse().expect("a TOML scenario");
    for (path, value) in sets {
        let value: toml::Value =
            format!("v = {value}").parse::<toml::Table>().unwrap()["v"].clone();
        twin_models::scenario::set_field(&mut doc, path, &value).unwrap_or_else(|e| panic!("{e}"));
    }
    load_scenario("variant.toml", &toml::to_string(&doc).unwrap()).unwrap_or_else(|e| panic!("{e}"))
}

fn hours(h: f64) -> SimTime {
    SimTime((h * 3600.0 * 1e9) as u64)
}

/// The snapshot of `s` at `at` (its own run settings).
fn snapshot_at(s: &Scenario, at: SimTime) -> Vec<u8> {
    let mut t = Twin::new(s, RunSpec::of(s));
    t.handle_events_to(at);
    t.save()
}

/// `reps` forks of `snapshot` with the settings of `s`, `ahead` of it.
fn forks(snapshot: &[u8], s: &Scenario, ahead_h: f64, reps: usize) -> Vec<RunKpis> {
    let ahead = SimDuration((ahead_h * 3600.0 * 1e9) as u64);
    twin_models::fork_replications(snapshot, s, 7, ahead, reps, 2)
        .unwrap_or_else(|e| panic!("{e}"))
        .runs
        .into_iter()
        .map(|o| o.kpis)
        .collect()
}

/// Two exponential machines of mean 1 s with a buffer of `capacity` between them,
/// blocking after service.
fn tandem(capacity: u64) -> String {
    format!(
        r#"
name = "tandem"
[run]
horizon = "60h"
seed = 3
[[lines]]
name = "T"
[[lines.stations]]
name = "m1"
kind = "generic"
processing_time = "exp(1s)"
[[lines.stations]]
name = "m2"
kind = "generic"
processing_time = "exp(1s)"
[[lines.buffers]]
name = "b"
from = "m1"
to = "m2"
capacity = {capacity}
"#
    )
}

#[test]
fn a_larger_buffer_from_a_snapshot_gives_the_two_machine_line_its_closed_form_throughput() {
    // Two exponential machines of rate μ with B places between them, blocking after
    // service: the units between the first machine's output and the second's are a
    // birth-death chain on 0..=B + 2 with equal rates, uniform, so the line makes
    // μ (B + 2) / (B + 3): 3/4 of μ with B = 1, 11/12 with B = 9.
    let text = tandem(1);
    let base = load_scenario("tandem.toml", &text).unwrap();
    let snap = snapshot_at(&base, hours(2.0));
    let per_h = |runs: &[RunKpis]| crate::summary(runs, |l| l.throughput_per_h);
    crate::assert_agrees(
        "B = 1",
        per_h(&forks(&snap, &base, 24.0, 10)),
        3600.0 * 3.0 / 4.0,
        0.02,
    );
    let wider = variant(&text, &[("lines.T.buffers.b.capacity", "9")]);
    crate::assert_agrees(
        "B = 9",
        per_h(&forks(&snap, &wider, 24.0, 10)),
        3600.0 * 11.0 / 12.0,
        0.02,
    );
}

#[test]
fn a_variant_equal_to_the_snapshot_s_scenario_forks_exactly_as_the_plain_fork() {
    let text = crate::bundled_text("plant-agv.toml");
    let base = crate::bundled("plant-agv.toml");
    let snap = snapshot_at(&base, hours(3.0));
    // Set to what it already is: the same scenario by another name.
    let same = variant(&text, &[("fleet.dispatch", "\"nearest_idle\"")]);
    let doc = |s: &Scenario| serde_json::to_string(&forks(&snap, s, 1.0, 2)).unwrap();
    assert_eq!(doc(&same), doc(&base));
}

#[test]
fn a_slower_bottleneck_from_a_snapshot_makes_exactly_its_new_rate() {
    // The fixed-speed line a (1000/h) → b (800/h) → c (1200/h): b sets the pace, and from
    // a snapshot in steady state the line makes b's rate, exactly, whatever b's rate is.
    let text = crate::bundled_text("textbook/deterministic-line.toml");
    let base = crate::bundled("textbook/deterministic-line.toml");
    let snap = snapshot_at(&base, hours(3.0));
    let out = |s: &Scenario| forks(&snap, s, 2.0, 1)[0].lines[0].units_out;
    assert_eq!(out(&base), 1600.0);
    let slower = variant(&text, &[("lines.D.stations.b.speed", "\"600/h\"")]);
    assert_eq!(out(&slower), 1200.0);
    // Unit by unit, the same.
    let discrete = variant(&text, &[("lines.D.engine", "\"discrete\"")]);
    let slower = variant(
        &text,
        &[
            ("lines.D.engine", "\"discrete\""),
            ("lines.D.stations.b.speed", "\"600/h\""),
        ],
    );
    let snap = snapshot_at(&discrete, hours(3.0));
    let out = |s: &Scenario| forks(&snap, s, 2.0, 1)[0].lines[0].units_out;
    assert!((out(&discrete) - 1600.0).abs() <= 1.0, "{}", out(&discrete));
    assert!((out(&slower) - 1200.0).abs() <= 1.0, "{}", out(&slower));
}

#[test]
fn level_switches_moved_from_a_snapshot_switch_at_their_new_levels() {
    // The hand-worked line of textbook/level-switch.toml: the filler (1/s) stops when its
    // conveyor to the capper (0.5/s) reaches 80 and restarts at 30; the level swings
    // 30 → 80 → 30 in 200 s, two switchings. At 1,000 s the filler has been stopped since
    // 960 s and the level falls through 60. With the switch moved to 60, the level goes
    // on falling to 30 (1,060 s), then swings 30 → 60 → 30 in 120 s: switchings at
    // 1,060 + 60 k, 60 of them in the hour from 1,000 s, and the filler stopped half of
    // it (30 s to fall to 30, then half of each 120 s) — versus 36 an hour as it was.
    let text = crate::bundled_text("textbook/level-switch.toml");
    let base = crate::bundled("textbook/level-switch.toml");
    let snap = snapshot_at(&base, SimTime(1_000 * sim::NANOS_PER_SEC));
    let moved = variant(
        &text,
        &[("lines.L1.buffers.b1.switches", "[{ on = 60, off = 30 }]")],
    );
    let switchings = |s: &Scenario| forks(&snap, s, 1.0, 1)[0].lines[0].switches[0].switchings;
    assert_eq!(switchings(&moved), 60);
    assert_eq!(switchings(&base), 36);
    let stopped = forks(&snap, &moved, 1.0, 1)[0].lines[0].stations[0]
        .state_fractions
        .blocked;
    // Stopped from 1,000 to 1,060 s, then over [1,120 + 120 k, 1,180 + 120 k] up to
    // 4,600 s: 60 + 29 × 60 = 1,800 s.
    assert!((stopped - 1_800.0 / 3_600.0).abs() < 1e-9, "{stopped}");
}

#[test]
fn another_dispatch_rule_from_a_snapshot_drives_the_loop_as_that_rule_does() {
    // On the textbook loop, min-empty-travel drives far less empty than nearest-idle
    // (see fleet_sizing.rs); forked from the same state with the same futures, so do the
    // two rules from then on.
    let text = crate::bundled_text("textbook/agv-loop.toml");
    let base = crate::bundled("textbook/agv-loop.toml");
    let snap = snapshot_at(&base, hours(4.0));
    let nearest = variant(&text, &[("fleet.dispatch", "\"nearest_idle\"")]);
    let empty = |s: &Scenario| {
        forks(&snap, s, 12.0, 2)
            .iter()
            .map(|k| k.fleet.as_ref().unwrap().empty_distance_km)
            .collect::<Vec<_>>()
    };
    for (min, near) in empty(&base).iter().zip(empty(&nearest)) {
        assert!(
            *min < 0.8 * near,
            "empty km: min-empty-travel {min}, nearest-idle {near}"
        );
    }
}

#[test]
fn a_higher_reorder_level_from_a_snapshot_orders_at_once() {
    // Preforms start at 1.4 M with a reorder point of 700 k and lots of 800 k, and
    // receipts take 8 h at least. Three hours in, the stock is above 700 k: the plain
    // fork orders nothing in the next hour. With the reorder point at 1.5 M the position
    // is below it at the snapshot: one lot is ordered at once, and with 800 k more on
    // order the position stays above 1.5 M for the hour.
    let text = crate::bundled_text("plant-agv.toml");
    let base = crate::bundled("plant-agv.toml");
    let snap = snapshot_at(&base, hours(3.0));
    let preforms = |k: &RunKpis| {
        let stock = k.stock.iter().find(|s| s.material == "preforms").unwrap();
        (stock.orders_placed, stock.units_ordered, stock.on_order)
    };
    assert_eq!(preforms(&forks(&snap, &base, 1.0, 1)[0]), (0, 0.0, 0.0));
    let earlier = variant(&text, &[("stock.0.policy.reorder_at", "1_500_000")]);
    assert_eq!(
        preforms(&forks(&snap, &earlier, 1.0, 1)[0]),
        (1, 800_000.0, 800_000.0)
    );
}

#[test]
fn changes_a_state_cannot_take_are_refused_naming_the_field() {
    let text = crate::bundled_text("plant-agv.toml");
    let base = crate::bundled("plant-agv.toml");
    let snap = snapshot_at(&base, hours(1.0));
    let refused = |sets: &[(&str, &str)], field: &str, why: &str| {
        let v = variant(&text, sets);
        let ahead = SimDuration::from_secs(3600);
        match twin_models::fork_replications(&snap, &v, 1, ahead, 1, 1) {
            Err(e @ SnapshotError::CannotChange { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(field) && msg.contains(why), "{msg}");
            }
            other => panic!("{sets:?}: {:?}", other.map(|_| ())),
        }
    };
    refused(
        &[("fleet.size", "9")],
        "fleet.vehicles",
        "cannot take one away",
    );
    refused(&[("run.horizon", "\"12h\"")], "run.horizon", "--horizon");
    refused(
        &[(
            "lines.L1.stations.filler.failures",
            "[{ tbf = \"exp(3h)\", ttr = \"lognormal(5min, 2min)\" }]",
        )],
        "lines.L1.stations.filler.failures",
        "what was drawn from it already",
    );
    // Twelve vehicles on twelve parking spots: the scenario itself cannot hold 13.
    let err = std::panic::catch_unwind(|| variant(&text, &[("fleet.size", "13")]));
    assert!(err.is_err());
    // A buffer of capacity 0 joins its machines directly.
    let t = tandem(1);
    let tb = load_scenario("tandem.toml", &t).unwrap();
    let ts = snapshot_at(&tb, hours(1.0));
    let zero = variant(&t, &[("lines.T.buffers.b.capacity", "0")]);
    let err = twin_models::fork_replications(&ts, &zero, 1, SimDuration::from_secs(60), 1, 1)
        .map(|_| ())
        .expect_err("refused");
    assert!(
        err.to_string().contains("lines.T.buffers.b.capacity"),
        "{err}"
    );
    // A random processing time on a fixed-speed line moves it to the other engine.
    let d = crate::bundled_text("textbook/deterministic-line.toml");
    let db = crate::bundled("textbook/deterministic-line.toml");
    let ds = snapshot_at(&db, hours(1.0));
    let random = variant(
        &d,
        &[("lines.D.stations.b.processing_time", "\"exp(4.5s)\"")],
    );
    let err = twin_models::fork_replications(&ds, &random, 1, SimDuration::from_secs(60), 1, 1)
        .map(|_| ())
        .expect_err("refused");
    assert!(err.to_string().contains("other engine"), "{err}");
}

#[test]
fn a_buffer_shrunk_below_its_content_takes_nothing_until_it_has_drained_to_the_new_capacity() {
    // a (1000/h) → ab → b (800/h) → c: in steady state ab is full (50 units) and a is
    // blocked a fifth of the time. Forked with room for 10: a waits while b drains the 40
    // over, 40 / 800 h = 180 s, then runs at b's pace. Over the hour a makes
    // 800 × 3420 / 3600 = 760; b, never starved, makes 800.
    let text = crate::bundled_text("textbook/deterministic-line.toml");
    for engine in ["auto", "discrete"] {
        let engine_set = [("lines.D.engine", format!("\"{engine}\""))];
        let sets = |extra: &[(&str, &str)]| {
            let mut all: Vec<(&str, &str)> =
                engine_set.iter().map(|(p, v)| (*p, v.as_str())).collect();
            all.extend_from_slice(extra);
            variant(&text, &all)
        };
        let base = sets(&[]);
        let snap = snapshot_at(&base, hours(3.0));
        let smaller = sets(&[("lines.D.buffers.ab.capacity", "10")]);
        let k = &forks(&snap, &smaller, 1.0, 1)[0].lines[0];
        let (a, b) = (k.stations[0].units_out, k.stations[1].units_out);
        assert!((a - 760.0).abs() <= 1.0, "{engine}: a made {a}");
        assert!((b - 800.0).abs() <= 1.0, "{engine}: b made {b}");
    }
}

#[test]
fn vehicles_added_from_a_snapshot_clear_a_backlog_three_could_not() {
    // The textbook loop needs 4.9 vehicles of work an hour (agv-loop.toml): three fall
    // behind, whatever they do, and the tasks waiting pile up. From a snapshot of three
    // after 8 h, three more make the pile shrink; three alone leave it larger.
    let text = crate::bundled_text("textbook/agv-loop.toml");
    let three = variant(&text, &[("fleet.size", "3")]);
    let snap = snapshot_at(&three, hours(8.0));
    let waiting_at_snapshot = {
        let mut t = Twin::new(&three, RunSpec::of(&three));
        t.handle_events_to(hours(8.0));
        t.kpis().unwrap().fleet.unwrap().tasks_waiting_at_end
    };
    assert!(
        waiting_at_snapshot >= 20,
        "a backlog of {waiting_at_snapshot}"
    );
    let six = variant(&text, &[("fleet.size", "6")]);
    for (as_is, grown) in forks(&snap, &three, 24.0, 3)
        .iter()
        .zip(forks(&snap, &six, 24.0, 3))
    {
        let (a, g) = (as_is.fleet.as_ref().unwrap(), grown.fleet.unwrap());
        assert_eq!((a.vehicles, g.vehicles), (3, 6));
        assert!(
            a.tasks_waiting_at_end > waiting_at_snapshot,
            "three: {}",
            a.tasks_waiting_at_end
        );
        assert!(
            g.tasks_waiting_at_end < waiting_at_snapshot,
            "six: {} waiting",
            g.tasks_waiting_at_end
        );
        // Six serve every load that arrives (85 an hour, 2,040 in the day) and some of the
        // pile. Three cannot: a load takes at least 60 s of handling and 105 s of loaded
        // travel, so three vehicles deliver at most 3 × 86,400 / 165 = 1,570 a day.
        assert!(
            g.tasks_completed as f64 > 0.95 * 2_040.0,
            "six: {}",
            g.tasks_completed
        );
        assert!(a.tasks_completed <= 1_570, "three: {}", a.tasks_completed);
        assert_eq!(g.collisions, 0);
    }
}
