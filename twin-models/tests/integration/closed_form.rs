//! Queueing and reliability results with closed forms, checked with replications.

use crate::{assert_agrees, bundled, parse, run, summary};

#[test]
fn mm1_time_in_system_and_utilisation() {
    // λ = 1/s, μ = 1.25/s: ρ = 0.8, W = 1/(μ − λ) = 4 s, L = ρ/(1 − ρ) = 4.
    let runs = run(&bundled("textbook/mm1.toml"), 8);
    assert_agrees(
        "W",
        summary(&runs, |l| l.mean_time_in_system_s.unwrap()),
        4.0,
        0.05,
    );
    assert_agrees("L", summary(&runs, |l| l.wip_mean), 4.0, 0.06);
    assert_agrees(
        "utilisation",
        summary(&runs, |l| l.stations[0].state_fractions.working),
        0.8,
        0.01,
    );
    assert_agrees(
        "throughput",
        summary(&runs, |l| l.throughput_per_h),
        3600.0,
        0.01,
    );
}

#[test]
fn mm1k_blocking_probability_and_throughput() {
    // K = 5, ρ = 0.8: P_K = (1 − ρ) ρ^5 / (1 − ρ^6).
    let rho: f64 = 0.8;
    let p_k = (1.0 - rho) * rho.powi(5) / (1.0 - rho.powi(6));
    let runs = run(&bundled("textbook/mm1k.toml"), 8);
    assert_agrees(
        "P_K",
        summary(&runs, |l| l.blocking_probability.unwrap()),
        p_k,
        0.03,
    );
    assert_agrees(
        "throughput",
        summary(&runs, |l| l.throughput_per_h),
        3600.0 * (1.0 - p_k),
        0.01,
    );
    // L = ρ/(1−ρ) − (K+1) ρ^(K+1) / (1 − ρ^(K+1))
    let l = rho / (1.0 - rho) - 6.0 * rho.powi(6) / (1.0 - rho.powi(6));
    assert_agrees("L", summary(&runs, |l| l.wip_mean), l, 0.03);
}

#[test]
fn md1_pollaczek_khinchine() {
    // Deterministic service 0.8 s: W = 1/μ + ρ / (2 μ (1 − ρ)) = 0.8 + 1.6 = 2.4 s.
    let s = parse(
        r#"
name = "md1"
[run]
horizon = "2d"
warmup = "1h"
[[lines]]
name = "Q"
source = { kind = "arrivals", interarrival = "exp(1s)" }
[[lines.stations]]
name = "server"
kind = "generic"
processing_time = "0.8s"
"#,
    );
    let runs = run(&s, 6);
    assert_agrees(
        "W",
        summary(&runs, |l| l.mean_time_in_system_s.unwrap()),
        2.4,
        0.04,
    );
}

#[test]
fn tandem_jackson_network() {
    // Two exponential servers in series, unbounded buffers: W = 1/(μ1 − λ) + 1/(μ2 − λ).
    let s = parse(
        r#"
name = "tandem"
[run]
horizon = "2d"
warmup = "1h"
[[lines]]
name = "T"
source = { kind = "arrivals", interarrival = "exp(1s)" }
[[lines.stations]]
name = "s1"
kind = "generic"
processing_time = "exp(0.8s)"
[[lines.stations]]
name = "s2"
kind = "generic"
processing_time = "exp(0.5s)"
[[lines.buffers]]
name = "q2"
from = "s1"
to = "s2"
capacity = "unbounded"
"#,
    );
    let runs = run(&s, 8);
    assert_agrees(
        "W",
        summary(&runs, |l| l.mean_time_in_system_s.unwrap()),
        4.0 + 1.0,
        0.05,
    );
}

#[test]
fn machine_with_exponential_failures_operating_time() {
    // A = MTBF / (MTBF + MTTR) = 60 / 75 = 0.8; throughput 3,600 × 0.8.
    let runs = run(&bundled("textbook/failing-machine.toml"), 8);
    assert_agrees(
        "availability",
        summary(&runs, |l| l.oee.availability),
        0.8,
        0.02,
    );
    assert_agrees(
        "down",
        summary(&runs, |l| l.stations[0].state_fractions.down),
        0.2,
        0.08,
    );
    assert_agrees(
        "throughput",
        summary(&runs, |l| l.throughput_per_h),
        2880.0,
        0.02,
    );
}

#[test]
fn machine_with_exponential_failures_calendar_time() {
    // Calendar-time failures of a machine that is never idle renew the same way.
    let text = std::fs::read_to_string(format!(
        "{}/../scenarios/textbook/failing-machine.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace(
        r#"ttr = "exp(15min)" }"#,
        r#"ttr = "exp(15min)", basis = "calendar" }"#,
    );
    assert!(text.contains("calendar"));
    let runs = run(&parse(&text), 8);
    assert_agrees(
        "availability",
        summary(&runs, |l| l.oee.availability),
        0.8,
        0.02,
    );
}

#[test]
fn deterministic_line_runs_at_its_bottleneck_rate() {
    let runs = run(&bundled("textbook/deterministic-line.toml"), 1);
    let l = &runs[0].lines[0];
    assert_eq!(l.engine, "fluid");
    assert_eq!(l.throughput_per_h, 800.0);
    assert_eq!(l.units_out, 5600.0);
    // The faster neighbours wait: a is blocked 20%, c starved a third of the time.
    assert!((l.stations[0].state_fractions.blocked - 0.2).abs() < 1e-9);
    assert!((l.stations[2].state_fractions.starved - 1.0 / 3.0).abs() < 1e-9);
}

#[test]
fn fluid_and_unit_engines_agree_on_a_deterministic_line() {
    let text = std::fs::read_to_string(format!(
        "{}/../scenarios/textbook/deterministic-line.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace("name = \"D\"", "name = \"D\"\nengine = \"discrete\"");
    let per_unit = crate::line(&parse(&text));
    let fluid = crate::line(&bundled("textbook/deterministic-line.toml"));
    assert_eq!(per_unit.engine, "discrete");
    assert_eq!(per_unit.throughput_per_h, fluid.throughput_per_h);
    for (a, b) in per_unit.stations.iter().zip(&fluid.stations) {
        assert!(
            (a.state_fractions.working - b.state_fractions.working).abs() < 1e-3,
            "{}",
            a.name
        );
    }
}
