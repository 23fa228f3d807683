//! Units are never created or lost: in = out + rejects + inside; state fractions sum to 1.

use crate::{bundled, run};
use twin_models::kpi::LineKpis;

pub fn assert_conserved(l: &LineKpis) {
    // In base units: a line that packs gives its output in them too.
    let out = l.units_out_equivalent.unwrap_or(l.units_out);
    let balance = l.units_in - out - l.rejects - (l.wip_end - l.wip_start);
    assert!(
        balance.abs() <= 1e-6 * l.units_in.max(1.0),
        "line {}: in − out − rejects − Δwip = {balance}",
        l.name
    );
    for s in &l.stations {
        let f = &s.state_fractions;
        let sum =
            f.working + f.starved + f.blocked + f.down + f.setup + f.micro_stop + f.planned_stop;
        assert!(
            (sum - 1.0).abs() < 1e-9,
            "{}.{}: fractions sum to {sum}",
            l.name,
            s.name
        );
        assert!(
            [
                f.working,
                f.starved,
                f.blocked,
                f.down,
                f.setup,
                f.micro_stop,
                f.planned_stop
            ]
            .iter()
            .all(|x| *x >= 0.0)
        );
    }
}

#[test]
fn bundled_scenarios_conserve_units() {
    for path in [
        "bottling-line.toml",
        "bottling-line-serial.toml",
        "textbook/parallel-machines.toml",
        "textbook/dividers.toml",
        "textbook/combiners.toml",
        "textbook/cases-and-pallets.toml",
        "textbook/mm1.toml",
        "textbook/mm1k.toml",
        "textbook/deterministic-line.toml",
    ] {
        let s = bundled(path);
        for r in run(&s, 2) {
            for l in &r.lines {
                assert_conserved(l);
            }
        }
    }
}

#[test]
fn discrete_lines_count_whole_units() {
    let l = &run(&bundled("textbook/mm1k.toml"), 1)[0].lines[0];
    assert_eq!(l.units_in.fract(), 0.0);
    assert_eq!(l.units_in, (l.arrivals.unwrap() - l.lost.unwrap()) as f64);
}
