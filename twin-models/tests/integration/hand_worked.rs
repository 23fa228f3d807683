//! Small models worked out by hand, with fixed times so every number is exact.

use crate::{line, parse};

/// A one-machine line at 3,600 units/h with extra station and line TOML.
fn one_machine(horizon: &str, station: &str, line_extra: &str) -> String {
    format!(
        r#"
name = "hand"
[run]
horizon = "{horizon}"
[[products]]
name = "A"
[[products]]
name = "B"
[[lines]]
name = "L"
{line_extra}
[[lines.stations]]
name = "m"
kind = "filler"
speed = "3600/h"
{station}
"#
    )
}

/// A line `m1 → b → m2` with extra TOML for the line, each machine and the buffer.
fn two_machines(horizon: &str, line_extra: &str, m1: &str, m2: &str, buffer: &str) -> String {
    format!(
        r#"
name = "two"
[run]
horizon = "{horizon}"
[[products]]
name = "A"
[[products]]
name = "B"
[[lines]]
name = "L"
{line_extra}
[[lines.stations]]
name = "m1"
kind = "generic"
{m1}
[[lines.stations]]
name = "m2"
kind = "generic"
{m2}
[[lines.buffers]]
name = "b"
from = "m1"
to = "m2"
{buffer}
"#
    )
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * b.abs().max(1.0)
}

#[test]
fn fixed_failures_give_exact_availability() {
    // Works 54 min, down 6 min, every hour: A = 0.9, 10 h → 32,400 units.
    let l = line(&parse(&one_machine(
        "10h",
        r#"failures = [{ tbf = "54min", ttr = "6min" }]"#,
        "",
    )));
    assert!(close(l.oee.availability, 0.9), "{}", l.oee.availability);
    assert!(close(l.units_out, 32_400.0), "{}", l.units_out);
    assert_eq!(l.stations[0].failures, 10);
    assert!(close(l.oee.performance, 1.0));
}

#[test]
fn micro_stops_are_performance_losses() {
    // Jams of 1 min after every 9 min of work: 10% micro-stop, availability untouched.
    let l = line(&parse(&one_machine(
        "10h",
        r#"micro_stops = { tbf = "9min", duration = "1min" }"#,
        "",
    )));
    assert!(close(l.stations[0].state_fractions.micro_stop, 0.1));
    assert!(close(l.oee.availability, 1.0));
    assert!(close(l.oee.performance, 0.9));
    assert!(close(l.units_out, 32_400.0));
    assert_eq!(l.stations[0].micro_stops, 60);
}

#[test]
fn rejects_leave_the_flow_exactly() {
    let l = line(&parse(&one_machine("1h", "reject_rate = 0.01", "")));
    assert_eq!((l.units_in, l.units_out, l.rejects), (3600.0, 3564.0, 36.0));
    assert!(close(l.oee.quality, 0.99));
}

#[test]
fn planned_stops_are_outside_planned_busy_time() {
    // Stopped 3–4 h and 7–8 h: 6 h of production, availability 1, planned 25%.
    let stop = r#"planned_stops = [{ name = "CIP", start = "3h", duration = "1h", every = "4h" }]"#;
    let l = line(&parse(&one_machine("8h", "", stop)));
    assert!(close(l.units_out, 21_600.0), "{}", l.units_out);
    assert!(close(l.stations[0].state_fractions.planned_stop, 0.25));
    assert!(close(l.oee.availability, 1.0));
    assert!(close(l.oee.oee, 1.0));
}

#[test]
fn quantity_campaigns_change_over_then_run_on() {
    // A: 1,800 units (30 min); setup A→B 10 min; B: 1,800 units, then B runs on to 2 h.
    let schedule = r#"schedule = { campaigns = [{ product = "A", quantity = 1800 }, { product = "B", quantity = 1800 }] }
changeover = { default = "10min" }"#;
    let l = line(&parse(&one_machine("2h", "", schedule)));
    assert!(
        close(l.units_out, 1800.0 + 1800.0 + 50.0 * 60.0),
        "{}",
        l.units_out
    );
    assert_eq!(l.changeovers, 1);
    assert!(close(l.changeover_time_s, 600.0));
    assert!(close(l.stations[0].state_fractions.setup, 10.0 / 120.0));
}

#[test]
fn repeating_schedule_uses_the_changeover_matrix() {
    // A 30 min, A→B 10 min, B 30 min, B→A 20 min, then A for the last 25 min of 115:
    // 1,800 + 1,800 + 1,500 units, 30 min of setup.
    let schedule = r#"schedule = { repeat = true, campaigns = [{ product = "A", quantity = 1800 }, { product = "B", quantity = 1800 }] }
changeover = { times = [{ from = "A", to = "B", time = "10min" }, { from = "B", to = "A", time = "20min" }] }"#;
    let l = line(&parse(&one_machine("115min", "", schedule)));
    assert!(close(l.units_out, 5100.0), "{}", l.units_out);
    assert_eq!(l.changeovers, 2);
    assert!(close(l.changeover_time_s, 1800.0));
}

#[test]
fn duration_campaigns_count_production_time() {
    // A for 1 h, setup 15 min, then B: 3,600 + 45 min × 60 = 6,300 units in 2 h.
    let schedule = r#"schedule = { campaigns = [{ product = "A", duration = "1h" }, { product = "B", duration = "5h" }] }
changeover = { default = "15min" }"#;
    let l = line(&parse(&one_machine("2h", "", schedule)));
    assert!(close(l.units_out, 6300.0), "{}", l.units_out);
}

#[test]
fn min_changeover_sequencing_reorders_campaigns() {
    // Listed B, A, B; from B to A is slow. Optimal from B: B, B, A (one 10 min change).
    let schedule = r#"schedule = { sequence = "min_changeover", campaigns = [{ product = "B", quantity = 900 }, { product = "A", quantity = 900 }, { product = "B", quantity = 900 }] }
changeover = { times = [{ from = "A", to = "B", time = "10min" }, { from = "B", to = "A", time = "40min" }] }"#;
    let l = line(&parse(&one_machine("2h", "", schedule)));
    assert_eq!(l.changeovers, 1);
    assert!(
        close(l.changeover_time_s, 2400.0),
        "{}",
        l.changeover_time_s
    );
}

#[test]
fn changeover_runs_out_along_the_line() {
    // Two machines at 3,600/h joined by a buffer: the second changes over when the last
    // unit of A reaches it; both lose their own setup time once.
    let text = two_machines(
        "2h",
        r#"schedule = { campaigns = [{ product = "A", quantity = 1800 }, { product = "B", quantity = 100000 }] }"#,
        "speed = \"3600/h\"\nchangeover = { default = \"10min\" }",
        "speed = \"3600/h\"\nchangeover = { default = \"5min\" }",
        "capacity = 100",
    );
    let l = line(&parse(&text));
    assert_eq!(l.stations[0].changeovers, 1);
    assert_eq!(l.stations[1].changeovers, 1);
    // m2 sets up 5 min while m1 takes 10: it is set up before B arrives, so the line
    // loses only m1's 10 minutes: 110 min × 60 units.
    assert!(close(l.units_out, 6600.0), "{}", l.units_out);
    assert!(close(l.stations[1].state_fractions.setup, 5.0 / 120.0));
}

#[test]
fn conveyor_transport_time_delays_the_first_unit() {
    // Units spend 60 s on the conveyor: the second machine's first unit comes 60 s late.
    let text = two_machines(
        "1h",
        "",
        "speed = \"3600/h\"",
        "speed = \"3600/h\"",
        "capacity = 500\nlength_m = 60\nspeed_m_per_s = 1.0",
    );
    let l = line(&parse(&text));
    assert!(close(l.units_out, 3540.0), "{}", l.units_out);
    assert!(close(l.wip_end, 60.0), "{}", l.wip_end);
    assert!(close(l.stations[1].state_fractions.starved, 60.0 / 3600.0));
}

#[test]
fn full_buffer_blocks_upstream() {
    // A 3,600/h machine feeds a 1,800/h one through a 900-unit buffer: it fills in 30 min,
    // then the first machine is blocked half of the time.
    let text = two_machines(
        "2h",
        "",
        "speed = \"3600/h\"",
        "speed = \"1800/h\"",
        "capacity = 900",
    );
    let l = line(&parse(&text));
    assert!(close(l.wip_end, 900.0));
    // Blocked from 30 min on at half speed: 90 min × 0.5 of 120 min.
    assert!(close(l.stations[0].state_fractions.blocked, 45.0 / 120.0));
    assert!(close(l.units_out, 3600.0));
}

#[test]
fn units_ride_a_conveyor_for_its_whole_transport_time_even_when_it_is_empty() {
    // Worked by hand: the filler finishes a unit every 0.1 s (at 0.1 s, 0.2 s, …); each
    // rides a 30 s conveyor to the labeller (0.0909 s a unit). The first reaches it at
    // 30.1 s, so nothing is out by 30 s; unit k arrives at 30 + 0.1k s and is done
    // 0.0909 s later, so by 31 s the first 9 are out. (Unit by unit, a labeller waiting at an empty conveyor once took
    // the filler's unit straight off it, skipping the ride.)
    let text = |horizon: &str| {
        format!(
            r#"
name = "conveyor"
[run]
horizon = "{horizon}"
[[lines]]
name = "L1"
engine = "discrete"
[[lines.stations]]
name = "filler"
kind = "filler"
speed = "36000/h"
[[lines.stations]]
name = "labeller"
kind = "labeller"
speed = "39600/h"
[[lines.buffers]]
name = "conveyor"
from = "filler"
to = "labeller"
capacity = 1800
transport_time = "30s"
"#
        )
    };
    assert_eq!(line(&parse(&text("30s"))).units_out, 0.0);
    assert_eq!(line(&parse(&text("31s"))).units_out, 9.0);
}
