//! Each class of bad scenario gives its own clear error, never a panic.

use twin_models::{ScenarioError, load_scenario};

const GOOD: &str = r#"
name = "ok"
[run]
horizon = "8h"
[[products]]
name = "A"
[[lines]]
name = "L1"
[[lines.stations]]
name = "filler"
kind = "filler"
speed = "36000/h"
[[lines.stations]]
name = "capper"
kind = "capper"
speed = "36000/h"
[[lines.buffers]]
name = "b1"
from = "filler"
to = "capper"
capacity = 100
"#;

/// The single diagnostic of a scenario that differs from GOOD by one replacement.
fn error_of(from: &str, to: &str) -> (String, Option<(usize, usize)>, String) {
    assert!(GOOD.contains(from), "test setup: {from}");
    let text = GOOD.replacen(from, to, 1);
    let err = load_scenario("bad.toml", &text).expect_err("must be refused");
    let ds = err.diagnostics();
    assert_eq!(ds.len(), 1, "{err}");
    let rendered = err.to_string();
    assert!(
        rendered.starts_with("bad.toml"),
        "names the file: {rendered}"
    );
    (ds[0].path.clone(), ds[0].location, ds[0].reason.clone())
}

#[test]
fn good_scenario_loads() {
    assert!(load_scenario("good.toml", GOOD).is_ok());
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let err = load_scenario("bad.toml", "name = \"x\"\n[run\nhorizon = 1").unwrap_err();
    assert!(matches!(err, ScenarioError::Syntax(_)));
    assert_eq!(err.diagnostics()[0].location.map(|l| l.0), Some(2));
}

#[test]
fn unknown_field_names_its_path() {
    let (path, loc, reason) = error_of("kind = \"capper\"", "kind = \"capper\"\nmtbf = \"1h\"");
    assert_eq!(path, "lines[0].stations[1].mtbf");
    assert!(reason.contains("unknown field `mtbf`"), "{reason}");
    assert!(loc.is_some());
}

#[test]
fn wrong_kind_names_the_field() {
    let (path, _, reason) = error_of("kind = \"capper\"", "kind = \"corker\"");
    assert_eq!(path, "lines[0].stations[1].kind");
    assert!(reason.contains("corker"), "{reason}");
}

#[test]
fn negative_duration() {
    let (path, loc, reason) = error_of("horizon = \"8h\"", "horizon = \"-8h\"");
    assert_eq!(path, "run.horizon");
    assert!(reason.contains("negative"));
    assert_eq!(loc, Some((4, 11)));
}

#[test]
fn probability_above_one() {
    let (path, _, reason) = error_of(
        "speed = \"36000/h\"\n[[lines.stations]]",
        "speed = \"36000/h\"\nreject_rate = 1.5\n[[lines.stations]]",
    );
    assert_eq!(path, "lines[0].stations[0].reject_rate");
    assert!(reason.contains("[0, 1)"));
}

#[test]
fn buffer_to_a_missing_station() {
    let (path, loc, reason) = error_of("to = \"capper\"", "to = \"caper\"");
    assert_eq!(path, "lines[0].buffers[0].to");
    assert!(
        reason.contains("`caper` does not exist") && reason.contains("filler, capper"),
        "{reason}"
    );
    assert_eq!(loc.map(|l| l.0), Some(20));
}

#[test]
fn missing_buffer_between_stations() {
    let text = GOOD.split("[[lines.buffers]]").next().unwrap().to_string();
    let err = load_scenario("bad.toml", &text).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("lines[0].stations[0]")
            && text.contains("`filler` has no path to the line's end (`capper`")
            && text.contains("lines[0].stations[1]")
            && text.contains("no buffer feeds `capper`"),
        "{err}"
    );
}

#[test]
fn station_needs_speed_or_processing_time() {
    let (path, _, reason) = error_of(
        "speed = \"36000/h\"\n[[lines.buffers]]",
        "processing_time = \"1s\"\nspeed = \"1/h\"\n[[lines.buffers]]",
    );
    assert_eq!(path, "lines[0].stations[1]");
    assert!(reason.contains("exactly one of `speed` and `processing_time`"));
}

#[test]
fn bad_distribution() {
    let (path, _, reason) = error_of(
        "speed = \"36000/h\"\n[[lines.buffers]]",
        "processing_time = \"gauss(1s)\"\n[[lines.buffers]]",
    );
    assert_eq!(path, "lines[0].stations[1].processing_time");
    assert!(reason.contains("unknown distribution"));
}

#[test]
fn warmup_longer_than_horizon() {
    let (path, _, _) = error_of("horizon = \"8h\"", "horizon = \"8h\"\nwarmup = \"9h\"");
    assert_eq!(path, "run.warmup");
}

#[test]
fn unknown_product_in_schedule() {
    let (path, _, reason) = error_of(
        "name = \"L1\"",
        "name = \"L1\"\nschedule = { campaigns = [{ product = \"Z\", quantity = 5 }] }",
    );
    assert_eq!(path, "lines[0].schedule.campaigns[0].product");
    assert!(reason.contains("`Z` is not defined"));
}

#[test]
fn capacity_word() {
    let (path, _, reason) = error_of("capacity = 100", "capacity = \"lots\"");
    assert_eq!(path, "lines[0].buffers[0].capacity");
    assert!(reason.contains("unbounded"));
}

#[test]
fn transport_time_needs_room() {
    let (path, _, _) = error_of("capacity = 100", "capacity = 0\ntransport_time = \"5s\"");
    assert_eq!(path, "lines[0].buffers[0].capacity");
}

#[test]
fn a_buffer_against_the_listed_flow_is_refused_plainly() {
    let (path, _, reason) = error_of(
        "from = \"filler\"\nto = \"capper\"",
        "from = \"capper\"\nto = \"filler\"",
    );
    assert_eq!(path, "lines[0].buffers[0]");
    assert!(
        reason.contains("so list `capper` before `filler`: stations are listed in flow order"),
        "{reason}"
    );
}

#[test]
fn several_problems_are_all_reported() {
    let text = GOOD
        .replace("horizon = \"8h\"", "horizon = \"0s\"")
        .replace("to = \"capper\"", "to = \"nowhere\"");
    let err = load_scenario("bad.toml", &text).unwrap_err();
    assert_eq!(err.diagnostics().len(), 2, "{err}");
}

#[test]
fn arrival_fields_on_unlimited_source() {
    let (path, _, _) = error_of(
        "name = \"L1\"",
        "name = \"L1\"\nsource = { kind = \"unlimited\", interarrival = \"exp(1s)\" }",
    );
    assert_eq!(path, "lines[0].source.interarrival");
}

/// A sampling interval absurd for the horizon passed `validate`, then the run filled memory
/// with rows of time series.
#[test]
fn a_sampling_interval_absurd_for_the_horizon_is_refused() {
    let (path, _, reason) = error_of(
        "horizon = \"8h\"",
        "horizon = \"8h\"\nsample_interval = \"1ms\"",
    );
    assert_eq!(path, "run.sample_interval");
    // 28,800,001 rows of 4 columns (a buffer, two stations, the output).
    assert!(reason.contains("28800001 rows of 4 columns"), "{reason}");
}
