//! Line templates: a line made from a template is the line written out; rated speeds,
//! shares and accumulation times resolve to hand-worked values; every mistake is named
//! where it was written.

use crate::{bundled, parse};
use sim::SimDuration;
use twin_models::scenario::line::{Line, Process};
use twin_models::{RunSpec, load_scenario, simulate};

const TEMPLATED: &str = r#"
name = "t"
[run]
horizon = "8h"
seed = 3
[[products]]
name = "A"
[[products]]
name = "B"
[[line_templates]]
name = "pet"
rated_speed = "36000/h"
[[line_templates.stations]]
name = "filler"
kind = "filler"
speed = "100%"
failures = [{ tbf = "exp(45min)", ttr = "lognormal(5min, 2min)" }]
[[line_templates.stations]]
name = "labeller"
kind = "labeller"
speed = "110%"
failures = [{ tbf = "exp(25min)", ttr = "exp(2min)" }]
[[line_templates.buffers]]
name = "b1"
from = "filler"
to = "labeller"
accumulation = "120s"
transport_time = "20s"
[[lines]]
name = "L1"
template = "pet"
[[lines]]
name = "L2"
template = "pet"
rated_speed = "30000/h"
speed_factors = { B = 0.9 }
schedule = { campaigns = [{ product = "A", duration = "4h" }, { product = "B", duration = "4h" }] }
set."stations.labeller.failures.0.tbf" = "exp(40min)"
set."buffers.b1.capacity" = 700
"#;

/// TEMPLATED with its lines written out by hand.
const WRITTEN_OUT: &str = r#"
name = "t"
[run]
horizon = "8h"
seed = 3
[[products]]
name = "A"
[[products]]
name = "B"
[[lines]]
name = "L1"
[[lines.stations]]
name = "filler"
kind = "filler"
speed = "36000/h"
failures = [{ tbf = "exp(45min)", ttr = "lognormal(5min, 2min)" }]
[[lines.stations]]
name = "labeller"
kind = "labeller"
speed = "39600/h"
failures = [{ tbf = "exp(25min)", ttr = "exp(2min)" }]
[[lines.buffers]]
name = "b1"
from = "filler"
to = "labeller"
capacity = 1200
transport_time = "20s"
[[lines]]
name = "L2"
schedule = { campaigns = [{ product = "A", duration = "4h" }, { product = "B", duration = "4h" }] }
[[lines.stations]]
name = "filler"
kind = "filler"
speed = "30000/h"
speed_factors = { B = 0.9 }
failures = [{ tbf = "exp(45min)", ttr = "lognormal(5min, 2min)" }]
[[lines.stations]]
name = "labeller"
kind = "labeller"
speed = "33000/h"
speed_factors = { B = 0.9 }
failures = [{ tbf = "exp(40min)", ttr = "exp(2min)" }]
[[lines.buffers]]
name = "b1"
from = "filler"
to = "labeller"
capacity = 700
transport_time = "20s"
"#;

#[test]
fn a_templated_line_is_the_line_written_out() {
    let templated = parse(TEMPLATED);
    let written = parse(WRITTEN_OUT);
    assert_eq!(format!("{templated:?}"), format!("{written:?}"));
    let kpis = |s| serde_json::to_string(&simulate(s, RunSpec::of(s)).kpis).unwrap();
    assert_eq!(kpis(&templated), kpis(&written));
}

fn rates(line: &Line) -> Vec<u64> {
    line.stations
        .iter()
        .map(|s| match s.process {
            Process::Rate(r) => r / 1000,
            Process::Time(_) => panic!("{} has a rate", s.name),
        })
        .collect()
}

fn capacities(line: &Line) -> Vec<Option<u64>> {
    line.buffers.iter().map(|b| b.capacity).collect()
}

/// The bundled plant, made from one template, has the values its ten pasted lines had
/// (read off the file before it became a template).
#[test]
fn plant_10_lines_from_its_template_has_the_written_values() {
    let s = bundled("plant-10-lines.toml");
    let line = |name: &str| s.lines.iter().find(|l| l.name == name).unwrap();
    // The V-curve at 24,000/h: 125, 110, 100, 100, 110, 120, 130 %.
    assert_eq!(
        rates(line("L03")),
        [30000, 26400, 24000, 24000, 26400, 28800, 31200]
    );
    // 125 % of 33,000/h would be 41,250/h: the line wrote 41,200/h.
    assert_eq!(rates(line("L09"))[0], 41200);
    // 120 s at 30,000/h is 1,000 bottles, not 999 (integer arithmetic).
    assert_eq!(
        capacities(line("L04")),
        [
            Some(1000),
            Some(1000),
            Some(0),
            Some(1500),
            Some(1000),
            Some(1000)
        ]
    );
    // Capacities set in place of the template's accumulation times.
    assert_eq!(
        capacities(line("L06")),
        [
            Some(1332),
            Some(1332),
            Some(0),
            Some(1998),
            Some(1332),
            Some(1332)
        ]
    );
    // 120 s at 20,000/h is 666.7: rounded down; the 180 s buffer set to 999.
    assert_eq!(
        capacities(line("L07")),
        [
            Some(666),
            Some(666),
            Some(0),
            Some(999),
            Some(666),
            Some(666)
        ]
    );
    // The line's speed factor reaches every station.
    let sparkling = s
        .products
        .iter()
        .position(|p| p == "L03-sparkling-1.5l")
        .unwrap();
    assert!(
        line("L03")
            .stations
            .iter()
            .all(|st| st.speed_factors[sparkling] == 0.95)
    );
    let cip = &line("L02").planned_stops[0];
    assert_eq!(
        (cip.start, cip.duration, cip.every),
        (
            SimDuration::from_secs(41 * 3600),
            SimDuration::from_secs(9000),
            Some(SimDuration::from_secs(48 * 3600))
        )
    );
    assert_eq!(s.lines.len(), 10);
}

/// The single diagnostic of TEMPLATED with one replacement.
fn error_of(from: &str, to: &str) -> (String, Option<(usize, usize)>, String) {
    let text = TEMPLATED.replacen(from, to, 1);
    assert_ne!(text, TEMPLATED, "test setup: {from}");
    let err = load_scenario("bad.toml", &text).expect_err("must be refused");
    let ds = err.diagnostics();
    assert_eq!(ds.len(), 1, "{err}");
    (ds[0].path.clone(), ds[0].location, ds[0].reason.clone())
}

/// 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

#[test]
fn an_unknown_template_lists_the_templates() {
    let (path, loc, reason) = error_of(
        "template = \"pet\"\n[[lines]]",
        "template = \"can\"\n[[lines]]",
    );
    assert_eq!(path, "lines[0].template");
    assert!(
        reason.contains("`can` is not defined; templates are: pet"),
        "{reason}"
    );
    assert_eq!(
        loc.map(|l| l.0),
        Some(line_of(TEMPLATED, "template = \"pet\""))
    );
}

#[test]
fn a_change_naming_no_station_is_refused_where_it_is_written() {
    let (path, loc, reason) = error_of("set.\"stations.labeller", "set.\"stations.labeler");
    assert_eq!(path, "lines[1].set.\"stations.labeler.failures.0.tbf\"");
    assert!(
        reason.contains("no `stations` entry named `labeler`"),
        "{reason}"
    );
    assert!(reason.contains("filler, labeller"), "{reason}");
    assert_eq!(
        loc.map(|l| l.0),
        Some(line_of(TEMPLATED, "set.\"stations.labeller"))
    );
}

#[test]
fn a_change_of_the_wrong_type_points_at_the_change() {
    let (path, loc, reason) = error_of(
        "set.\"buffers.b1.capacity\" = 700",
        "set.\"stations.filler.speed\" = 5",
    );
    assert_eq!(path, "lines[1].stations[0].speed");
    assert!(reason.contains("invalid type"), "{reason}");
    assert_eq!(
        loc.map(|l| l.0),
        Some(line_of(TEMPLATED, "set.\"buffers.b1"))
    );
}

#[test]
fn a_bad_value_in_a_template_is_found_in_the_template_for_each_line() {
    let text = TEMPLATED.replacen("speed = \"110%\"", "speed = \"110\"", 1);
    let err = load_scenario("bad.toml", &text).unwrap_err();
    let ds = err.diagnostics();
    assert_eq!(ds.len(), 2, "one per line made from it: {err}");
    assert_eq!(ds[0].path, "lines[0].stations[1].speed");
    assert_eq!(ds[1].path, "lines[1].stations[1].speed");
    for d in ds {
        assert!(
            d.reason.contains("written in line template `pet`"),
            "{}",
            d.reason
        );
        assert_eq!(
            d.location.map(|l| l.0),
            Some(line_of(&text, "speed = \"110\""))
        );
    }
}

#[test]
fn a_share_or_an_accumulation_needs_a_rated_speed() {
    let text = TEMPLATED.replacen("rated_speed = \"36000/h\"\n", "", 1);
    let err = load_scenario("bad.toml", &text).unwrap_err();
    let paths: Vec<&str> = err.diagnostics().iter().map(|d| d.path.as_str()).collect();
    // L2 has its own rated speed and its own capacity; L1 has neither.
    assert_eq!(
        paths,
        [
            "lines[0].stations[0].speed",
            "lines[0].stations[1].speed",
            "lines[0].buffers[0].accumulation"
        ],
        "{err}"
    );
    assert!(
        err.to_string().contains("needs the line's `rated_speed`"),
        "{err}"
    );
}

#[test]
fn capacity_and_accumulation_together_are_refused() {
    let (path, _, reason) = error_of(
        "accumulation = \"120s\"",
        "accumulation = \"120s\"\ncapacity = 5",
    );
    assert!(path.starts_with("lines[0].buffers[0]"), "{path}");
    assert!(reason.contains("not both"), "{reason}");
}

#[test]
fn set_without_a_template_is_refused() {
    let text = TEMPLATED.replacen("name = \"L1\"\ntemplate = \"pet\"", "name = \"L1\"\nset.\"x.y\" = 1\n[[lines.stations]]\nname = \"f\"\nkind = \"filler\"\nspeed = \"1/s\"", 1);
    let err = load_scenario("bad.toml", &text).unwrap_err();
    assert!(
        err.to_string().contains(
            "lines[0].set: `set` changes the fields of a template; this line names no `template`"
        ),
        "{err}"
    );
}

#[test]
fn templates_are_named_once_and_not_made_from_templates() {
    let (path, _, reason) = error_of(
        "name = \"pet\"\nrated_speed",
        "name = \"pet\"\ntemplate = \"pet\"\nrated_speed",
    );
    assert_eq!(path, "line_templates[0].template");
    assert!(
        reason.contains("not made from another template"),
        "{reason}"
    );
    let text = format!("{TEMPLATED}\n[[line_templates]]\nname = \"pet\"\n");
    let err = load_scenario("bad.toml", &text).unwrap_err();
    assert!(
        err.to_string()
            .contains("line_templates[1].name: line template `pet` is defined twice"),
        "{err}"
    );
}

#[test]
fn a_template_has_the_shape_of_a_line() {
    let (path, loc, reason) = error_of("speed = \"100%\"", "speed = \"100%\"\nmtbf = \"1h\"");
    assert_eq!(path, "line_templates[0].stations[0].mtbf");
    assert!(reason.contains("unknown field `mtbf`"), "{reason}");
    assert!(loc.is_some());
}

#[test]
fn a_small_file_cannot_make_an_unbounded_plant() {
    // 2,000 stations in the template, 600 lines of one short line each: 1.2 M parts.
    let mut text =
        String::from("name = \"big\"\n[run]\nhorizon = \"1h\"\n[[line_templates]]\nname = \"t\"\n");
    for s in 0..2000 {
        text += &format!(
            "[[line_templates.stations]]\nname = \"s{s}\"\nkind = \"generic\"\nspeed = \"1/s\"\n"
        );
    }
    for l in 0..600 {
        text += &format!("[[lines]]\nname = \"L{l}\"\ntemplate = \"t\"\n");
    }
    let err = load_scenario("big.toml", &text).unwrap_err();
    let ds = err.diagnostics();
    assert_eq!(ds.len(), 1, "{err}");
    assert_eq!(ds[0].path, "lines[500].template");
    assert!(ds[0].reason.contains("more than the 1000000"), "{err}");
}
