//! A shift on the bundled PET line, with its flavour change, over 30 replications.
//!
//! Shows: loading a scenario, replications with confidence intervals, and reading KPIs.
//! It checks itself: the filler changes over once (lemon → cola, 20 min), the line's OEE
//! lands in the range of typical bottling lines, and the filler, the critical machine,
//! loses less time to starving and blocking than the machines around it.
//!
//! Run with `cargo run --release -p twin-models --example shift_changeover`.

use twin_models::{RunSpec, load_scenario, replicate};

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/bottling-line-serial.toml"
    );
    let text = std::fs::read_to_string(path).expect("the bundled scenario is readable");
    let scenario = load_scenario(path, &text).expect("the bundled scenario is valid");
    let spec = RunSpec {
        record_series: false,
        ..RunSpec::of(&scenario)
    };
    let reps = replicate(&scenario, spec, 30, 2);

    let line = |r: &twin_models::RunOutput| r.kpis.lines[0].clone();
    let oee = sim::Summary::of(
        &reps
            .runs
            .iter()
            .map(|r| line(r).oee.oee)
            .collect::<Vec<_>>(),
    );
    let thr = sim::Summary::of(
        &reps
            .runs
            .iter()
            .map(|r| line(r).throughput_per_h)
            .collect::<Vec<_>>(),
    );
    println!(
        "OEE at the filler: {:.1} % ± {:.1}",
        100.0 * oee.mean,
        100.0 * oee.ci95_half_width
    );
    println!(
        "throughput: {:.0} ± {:.0} bottles/h",
        thr.mean, thr.ci95_half_width
    );

    for r in &reps.runs {
        let l = line(r);
        assert_eq!(l.changeovers, 1, "one flavour change per shift");
        assert!(
            (l.changeover_time_s - 1200.0).abs() < 1e-6,
            "lemon → cola takes 20 min at the filler"
        );
    }
    assert!(
        (0.55..0.85).contains(&oee.mean),
        "OEE {:.3} outside the typical 55–85 %",
        oee.mean
    );
    assert!(
        thr.mean < 36_000.0 * 0.9,
        "a line with stops cannot run near its nominal speed"
    );
    let lost = |name: &str| {
        let xs: Vec<f64> = reps
            .runs
            .iter()
            .map(|r| {
                let s = line(r)
                    .stations
                    .into_iter()
                    .find(|s| s.name == name)
                    .expect("station exists");
                s.state_fractions.starved + s.state_fractions.blocked
            })
            .collect();
        sim::Summary::of(&xs).mean
    };
    assert!(lost("filler") < lost("depalletiser") && lost("filler") < lost("palletiser"));
    println!("checks passed");
}
