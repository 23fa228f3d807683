//! The recorded stop timeline and the output column agree with the KPIs they sit beside.

use crate::bundled;
use sim::SampleValue;
use twin_models::line::StationState;
use twin_models::{RunSpec, simulate};

#[test]
fn stop_spans_add_up_to_the_state_fractions() {
    // No warm-up: the timeline (from time 0) and the fractions cover the same time.
    let s = bundled("bottling-line-serial.toml");
    let spec = RunSpec::of(&s);
    assert_eq!(spec.warmup.0, 0);
    let out = simulate(&s, spec);
    let timeline = out.timeline.as_ref().expect("recorded with the series");
    let line = &out.kpis.lines[0];
    assert_eq!(timeline.len(), line.stations.len());
    let horizon = spec.horizon.as_secs_f64();
    let mut setups = 0.0;
    for (t, st) in timeline.iter().zip(&line.stations) {
        assert_eq!(
            (t.line.as_str(), t.station.as_str()),
            ("L1", st.name.as_str())
        );
        let mut last_end = 0;
        for &(a, b, _) in &t.stops {
            assert!(
                a < b && a >= last_end,
                "{}: spans in order, not overlapping",
                st.name
            );
            last_end = b;
        }
        let f = &st.state_fractions;
        for (state, fraction) in [
            (StationState::Down, f.down),
            (StationState::Setup, f.setup),
            (StationState::MicroStop, f.micro_stop),
            (StationState::PlannedStop, f.planned_stop),
        ] {
            let secs: f64 = t
                .stops
                .iter()
                .filter(|s| s.2 == state)
                .map(|&(a, b, _)| (b - a) as f64 / 1e9)
                .sum();
            assert!(
                (secs - fraction * horizon).abs() < 1e-6 * horizon,
                "{} {state:?}: spans {secs} s, fraction {} s",
                st.name,
                fraction * horizon
            );
            if state == StationState::Setup {
                setups += secs;
            }
        }
    }
    // The filler's changeover lemon → cola is 20 minutes; the labeller's 15.
    assert!((setups - 35.0 * 60.0).abs() < 1e-6, "{setups}");
    // Without the series, nothing is recorded.
    let quiet = simulate(
        &s,
        RunSpec {
            record_series: false,
            ..spec
        },
    );
    assert!(quiet.timeline.is_none());
    // Sampling splits the time accounts at other instants: the same run up to rounding.
    let (a, b) = (&quiet.kpis.lines[0], line);
    assert!((a.units_out - b.units_out).abs() < 1e-9 * b.units_out);
    for (x, y) in a.stations.iter().zip(&b.stations) {
        assert_eq!(
            (x.failures, x.micro_stops, x.changeovers),
            (y.failures, y.micro_stops, y.changeovers)
        );
    }
}

#[test]
fn the_output_column_counts_the_lines_good_units() {
    let s = bundled("bottling-line-serial.toml");
    let out = simulate(&s, RunSpec::of(&s));
    let series = out.series.unwrap();
    let col = series
        .columns()
        .iter()
        .position(|c| c == "L1.units_out")
        .unwrap();
    let values: Vec<f64> = series
        .rows()
        .iter()
        .map(|(_, r)| match r[col] {
            SampleValue::Number(x) => x,
            _ => panic!("a number"),
        })
        .collect();
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "cumulative");
    assert_eq!(values[0], 0.0);
    let total = out.kpis.lines[0].units_out;
    let last = *values.last().unwrap();
    // The last sample is at most one interval (1 min at ≤ 46,800/h) before the end.
    assert!(
        last <= total && total - last <= 46_800.0 / 60.0 + 1.0,
        "{last} of {total}"
    );
}
