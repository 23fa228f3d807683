//! The shared suite loads from the repository, names each measurement once, and judges
//! figures against its targets.

use twinline_benches::{Target, engine_suite, series_line};

fn scenarios(path: &str) -> Result<String, String> {
    let full = format!("{}/../scenarios/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).map_err(|e| format!("{full}: {e}"))
}

#[test]
fn the_suite_loads_every_bundled_case_once() {
    let suite = engine_suite(&scenarios, 2).unwrap();
    let mut ids: Vec<String> = suite
        .iter()
        .map(|m| format!("{}/{}", m.group, m.name))
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "{ids:?}");
    for id in [
        "engine/bottling_line_8h",
        "engine/bottling_line_serial_8h",
        "engine/graph_line_100_8h",
        "engine/graph_line_1000_8h",
        "engine/series_line_fluid_1000_8h",
        "engine/series_line_fluid_4000_8h",
        "mm1/mm1_events_12h",
        "mm1/tandem_4_failures_72h",
        "stress/plant_10_lines_1y",
        "stress/plant_10_lines_1y_2_threads",
        "sweep/bottling_line_buffers_8x30_1_threads",
        "sweep/bottling_line_buffers_8x30_2_threads",
        "feed/ingest_ndjson_200k",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
    // One core: no second sweep, no all-cores plant run.
    assert_eq!(engine_suite(&scenarios, 1).unwrap().len(), n - 2);
    // The bundled serial line runs as flows: 8 h of it is a little over a thousand
    // events.
    let line = suite
        .iter()
        .find(|m| m.name == "bottling_line_serial_8h")
        .unwrap();
    let events = line.run();
    assert!((1_000..5_000).contains(&events), "{events}");
    assert_eq!(line.run(), events, "the same run twice");
}

#[test]
fn targets_judge_wall_time_and_rates() {
    assert_eq!(Target::AtMostSeconds(4.0).met(3.9, 1), Some(true));
    assert_eq!(Target::AtMostSeconds(4.0).met(4.1, 1), Some(false));
    assert_eq!(
        Target::AtLeastPerSecond(20e6).met(0.5, 9_000_000),
        Some(false)
    );
    assert_eq!(
        Target::AtLeastPerSecond(20e6).met(0.5, 10_000_000),
        Some(true)
    );
    assert_eq!(Target::None.met(1.0, 1), None);
    assert_eq!(Target::AtMostSeconds(0.02).text(), "≤ 0.020 s");
    assert_eq!(Target::AtLeastPerSecond(15e6).text(), "≥ 15 M events/s");
}

#[test]
fn a_missing_scenario_is_named() {
    let missing = |p: &str| Err(format!("{p}: not here"));
    let err = engine_suite(&missing, 1).err().unwrap();
    assert!(err.contains("bottling-line.toml"), "{err}");
}

#[test]
fn the_long_series_line_runs_as_flows() {
    let line = series_line(1000).unwrap();
    assert_eq!(line.lines[0].stations.len(), 1000);
    assert!(line.lines[0].is_fluid(), "fixed cycles, unlimited supply");
}
