//! Level switches and speed steps, against hand-worked timelines.
//!
//! The line of most cases: machine A at 1 unit/s feeds B at 0.5 unit/s through a buffer of
//! 100 with a high switch at 80 (lets go at 30) that stops A: the classic control of a
//! full conveyor. Worked by hand (fluid): the level rises at 0.5/s from 0 and reaches 80
//! at 160 s; A stops and the level falls at 0.5/s to 30 at 260 s; A runs and it rises to
//! 80 at 360 s: A is stopped over [160 + 200k, 260 + 200k].

use crate::parse;
use twin_models::kpi::LineKpis;
use twin_models::line::StationState;
use twin_models::{RunSpec, Scenario, load_scenario, simulate};

fn line_text(engine: &str, b: &str, switches: &str) -> String {
    format!(
        r#"
name = "level control"
[run]
horizon = "8h"
[[lines]]
name = "L1"
engine = "{engine}"
[[lines.stations]]
name = "A"
kind = "filler"
speed = "3600/h"
[[lines.stations]]
name = "B"
kind = "capper"
speed = "{b}"
[[lines.buffers]]
name = "b1"
from = "A"
to = "B"
capacity = 100
switches = [{switches}]
"#
    )
}

/// KPIs and the stop spans of station `i` (start s, end s, state).
fn run(s: &Scenario, i: usize) -> (LineKpis, Vec<(f64, f64, StationState)>) {
    let out = simulate(s, RunSpec::of(s));
    let spans = out.timeline.as_ref().expect("recorded")[i]
        .stops
        .iter()
        .map(|&(a, b, st)| (a as f64 / 1e9, b as f64 / 1e9, st))
        .collect();
    (out.kpis.lines[0].clone(), spans)
}

fn step_share(l: &LineKpis, station: usize, name: &str) -> f64 {
    l.stations[station]
        .speed_steps
        .iter()
        .find(|s| s.name == name)
        .map_or(0.0, |s| s.share)
}

#[test]
fn a_full_conveyor_stops_the_machine_feeding_it_fluid() {
    // The bundled textbook case is this line.
    let s = crate::bundled("textbook/level-switch.toml");
    assert_eq!(
        format!("{:?}", s.lines),
        format!(
            "{:?}",
            parse(&line_text("auto", "1800/h", "{ on = 80, off = 30 }")).lines
        )
    );
    assert!(s.lines[0].is_fluid());
    let (l, spans) = run(&s, 0);
    assert_eq!(l.engine, "fluid");
    assert_eq!(
        spans[..3],
        [
            (160.0, 260.0, StationState::Blocked),
            (360.0, 460.0, StationState::Blocked),
            (560.0, 660.0, StationState::Blocked)
        ]
    );
    // Stops begin at 160 + 200k (k = 0..143, 144 of them) and end at 260 + 200k (143 by
    // 8 h); the last runs from 28,760 s to the horizon.
    assert_eq!(l.switches[0].switchings, 144 + 143);
    assert_eq!(l.switches[0].machine, "A");
    let stopped = 143.0 * 100.0 + 40.0;
    assert!((l.stations[0].state_fractions.blocked - stopped / 28800.0).abs() < 1e-12);
    assert!((step_share(&l, 0, "stop") - stopped / 28800.0).abs() < 1e-12);
    assert!((step_share(&l, 0, "100%") - (1.0 - stopped / 28800.0)).abs() < 1e-12);
    // B never starves; A made what B took plus the 60 left (80 at 28,760 s, falling 0.5/s).
    assert_eq!(l.stations[1].units_out, 14400.0);
    assert_eq!(l.stations[0].units_out, 14460.0);
    assert_eq!(l.wip_end, 60.0);
}

/// Unit by unit, B takes a unit every 2 s from 1 s on: the level reaches 80 with A's
/// deposit at 160 s; B's 50 takes at 161, 163, …, 259 s bring it to 30 at 259 s; A
/// restarts then, and with one unit up per A's second and one down per B's two it is at
/// 30 + ⌈(t − 259)/2⌉, reaching 80 at 358 s. The period is 198 s, not the fluid 200: the
/// unit each machine holds.
#[test]
fn a_full_conveyor_stops_the_machine_feeding_it_unit_by_unit() {
    let s = parse(&line_text("discrete", "1800/h", "{ on = 80, off = 30 }"));
    let (l, spans) = run(&s, 0);
    assert_eq!(l.engine, "discrete");
    assert_eq!(
        spans[..3],
        [
            (160.0, 259.0, StationState::Blocked),
            (358.0, 457.0, StationState::Blocked),
            (556.0, 655.0, StationState::Blocked)
        ]
    );
    // Stops at 160 + 198k (145 by 8 h), releases at 259 + 198k (145).
    assert_eq!(l.switches[0].switchings, 290);
}

/// The delay is the sensor's time-out: A stops 10 s after the level reaches 80 (at 85) and
/// starts 10 s after it falls to 30 (at 25): stops over [170 + 240k, 290 + 240k].
#[test]
fn a_switch_acts_after_its_delay() {
    let s = parse(&line_text(
        "auto",
        "1800/h",
        "{ on = 80, off = 30, delay = \"10s\" }",
    ));
    let (_, spans) = run(&s, 0);
    assert_eq!(
        spans[..2],
        [
            (170.0, 290.0, StationState::Blocked),
            (410.0, 530.0, StationState::Blocked)
        ]
    );
}

/// A low switch slows the machine after the conveyor: B (1.25/s) runs at 70 % (0.875/s)
/// while the level is at or below 10, at full speed again once it is back at 50. From 0 the
/// level rises at 0.125/s to 50 at 400 s, falls at 0.25/s to 10 at 560 s, rises to 50 at
/// 880 s: B is slow over [0, 400] and [560 + 480k, 880 + 480k] (k = 0..58), 19,280 s.
#[test]
fn a_low_conveyor_slows_the_machine_it_feeds() {
    let s = parse(&line_text(
        "auto",
        "4500/h",
        "{ on = 10, off = 50, step = \"70%\" }",
    ));
    let (l, spans) = run(&s, 1);
    assert!(spans.is_empty(), "a slow machine is not stopped: {spans:?}");
    let steps = &simulate(&s, RunSpec::of(&s)).timeline.unwrap()[1].steps;
    let secs = |(a, b, step): (u64, u64, f64)| (a as f64 / 1e9, b as f64 / 1e9, step);
    assert_eq!(
        steps[..3].iter().map(|&x| secs(x)).collect::<Vec<_>>(),
        [
            (0.0, 400.0, 0.7),
            (560.0, 880.0, 0.7),
            (1040.0, 1360.0, 0.7)
        ]
    );
    assert_eq!(steps.len(), 60, "[0, 400] and 59 more");
    let slow = 400.0 + 59.0 * 320.0;
    assert!((step_share(&l, 1, "70%") - slow / 28800.0).abs() < 1e-12);
    assert!((step_share(&l, 1, "100%") - (1.0 - slow / 28800.0)).abs() < 1e-12);
    // Acting at 0 and 560 + 480k (59), letting go at 400 + 480k (60).
    assert_eq!(l.switches[0].switchings, 120);
    assert_eq!(l.switches[0].machine, "B");
    // A never waits; at 8 h the level is 30 (50 at 28,720 s, falling 0.25/s).
    assert_eq!(l.stations[0].units_out, 28800.0);
    assert_eq!(l.stations[1].units_out, 28770.0);
    // Slow running is a performance loss at B: ideal time 28,770 / 1.25 s of 28,800 s.
    assert_eq!(l.stations[1].state_fractions.working, 1.0);
}

/// The OEE station's performance counts slow running; a switch that speeds a machine up
/// makes its faster cycle the ideal, so performance never passes 1.
#[test]
fn speed_steps_are_performance_losses_and_never_gains() {
    let text = line_text("auto", "4500/h", "{ on = 10, off = 50, step = \"70%\" }").replace(
        "[[lines]]\nname = \"L1\"",
        "[[lines]]\nname = \"L1\"\noee_station = \"B\"",
    );
    let l = run(&parse(&text), 1).0;
    assert!(
        (l.oee.performance - 28770.0 / 1.25 / 28800.0).abs() < 1e-9,
        "{}",
        l.oee.performance
    );
    for engine in ["auto", "discrete"] {
        let fast = line_text(
            engine,
            "1800/h",
            "{ on = 50, off = 20, machine = \"downstream\", step = \"150%\" }",
        )
        .replace(
            "[[lines]]\nname = \"L1\"",
            "[[lines]]\nname = \"L1\"\noee_station = \"B\"",
        );
        let l = run(&parse(&fast), 1).0;
        assert!(
            step_share(&l, 1, "150%") > 0.1,
            "{engine}: {:?}",
            l.stations[1].speed_steps
        );
        assert!(
            l.oee.performance <= 1.0 + 1e-12,
            "{engine}: {}",
            l.oee.performance
        );
    }
}

/// A switch the level never reaches changes nothing: the same KPIs (but for the switch's
/// own) and timeline as without it, on a line with failures, in both engines.
#[test]
fn a_switch_never_reached_changes_nothing() {
    for engine in ["auto", "discrete"] {
        let text = |switches: &str| {
            line_text(engine, "5400/h", switches).replace(
                "speed = \"3600/h\"",
                "speed = \"3600/h\"\nfailures = [{ tbf = \"exp(20min)\", ttr = \"exp(3min)\" }]",
            )
        };
        // B is faster than A and never fails: the level stays far below 95.
        let with = simulate(
            &parse(&text("{ on = 95, off = 90 }")),
            RunSpec::of(&parse(&text(""))),
        );
        let without = simulate(&parse(&text("")), RunSpec::of(&parse(&text(""))));
        let mut a = with.kpis.lines[0].clone();
        assert_eq!(a.switches[0].switchings, 0, "{engine}");
        a.switches.clear();
        for st in &mut a.stations {
            for step in &st.speed_steps {
                let expected = if step.name == "100%" { 1.0 } else { 0.0 };
                assert!(
                    (step.share - expected).abs() < 1e-9,
                    "{engine}: only nominal speed"
                );
            }
            st.speed_steps.clear();
        }
        assert_eq!(a.stations[0].speed_steps.len(), 0);
        assert_eq!(a, without.kpis.lines[0], "{engine}");
        assert_eq!(
            format!("{:?}", with.timeline),
            format!("{:?}", without.timeline),
            "{engine}"
        );
    }
}

/// Deterministic cycles with conveyors large enough that the unit in each machine hardly
/// counts: the engines agree within a switching per cycle.
#[test]
fn fluid_and_discrete_agree_on_a_controlled_line() {
    let at = |engine: &str| {
        let text = line_text(engine, "1800/h", "{ on = \"80%\", off = \"30%\" }")
            .replace("capacity = 100", "capacity = 2000");
        run(&parse(&text), 0).0
    };
    let (f, d) = (at("auto"), at("discrete"));
    let rel = |a: f64, b: f64| (a - b).abs() / a;
    assert!(
        rel(f.units_out, d.units_out) < 1e-3,
        "{} vs {}",
        f.units_out,
        d.units_out
    );
    assert!(
        rel(
            f.stations[0].state_fractions.blocked,
            d.stations[0].state_fractions.blocked
        ) < 0.01
    );
    let (sf, sd) = (f.switches[0].switchings, d.switches[0].switchings);
    assert!(sf.abs_diff(sd) <= 1 + sf / 100, "{sf} vs {sd}");
}

/// Each mistake in a switch is refused with its field path.
#[test]
fn bad_switches_are_refused_by_field() {
    for (switch, path, words) in [
        ("{ on = 50, off = 50 }", "switches[0]", "hysteresis"),
        (
            "{ on = 150, off = 50 }",
            "switches[0].on",
            "above the buffer's capacity of 100",
        ),
        (
            "{ on = \"120%\", off = 50 }",
            "switches[0].on",
            "not a level",
        ),
        (
            "{ on = 80, off = 30, step = \"fast\" }",
            "switches[0].step",
            "not a speed step",
        ),
        (
            "{ on = 80, off = 30, step = \"0%\" }",
            "switches[0].step",
            "not a speed step",
        ),
        (
            "{ on = 80, off = 30, machine = \"C\" }",
            "switches[0].machine",
            "does not exist",
        ),
        (
            "{ on = 80, off = 30, delay = \"-1s\" }",
            "switches[0].delay",
            "negative",
        ),
    ] {
        let err = load_scenario("bad.toml", &line_text("auto", "1800/h", switch)).unwrap_err();
        let d = err.diagnostics();
        assert_eq!(d.len(), 1, "{switch}: {err}");
        assert_eq!(d[0].path, format!("lines[0].buffers[0].{path}"), "{switch}");
        assert!(d[0].reason.contains(words), "{switch}: {}", d[0].reason);
        assert!(d[0].location.is_some());
    }
    let unbounded = line_text("auto", "1800/h", "{ on = \"80%\", off = 30 }")
        .replace("capacity = 100", "capacity = \"unbounded\"");
    let err = load_scenario("bad.toml", &unbounded).unwrap_err();
    assert!(
        err.to_string()
            .contains("needs a buffer of bounded capacity"),
        "{err}"
    );
}

/// A twin's snapshot says at which step each machine runs: the filler of the textbook case
/// is stopped by its switch at 200 s (over [160, 260]) and running again at 300 s.
#[test]
fn the_snapshot_shows_the_speed_step() {
    let s = crate::bundled("textbook/level-switch.toml");
    let mut twin = twin_models::Twin::new(&s, RunSpec::of(&s));
    let mut at = |secs: u64| {
        twin.advance_to(sim::SimTime(secs * 1_000_000_000));
        let snap = twin.snapshot();
        let a = &snap.lines[0].stations[0];
        (a.speed_step, a.state)
    };
    assert_eq!(at(200), (0.0, StationState::Blocked));
    assert_eq!(at(300), (1.0, StationState::Working));
}
