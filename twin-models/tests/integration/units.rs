//! Units along the line: a packer makes cases of 24 bottles, a palletiser pallets of 60
//! cases; counts in each station's unit, the line's output also in bottles, conservation
//! in bottles.

use crate::parse;
use twin_models::kpi::LineKpis;
use twin_models::scenario::line::Process;
use twin_models::{RunSpec, Scenario, load_scenario, simulate};

fn kpis(s: &Scenario) -> LineKpis {
    simulate(s, RunSpec::of(s)).kpis.lines[0].clone()
}

/// Bottles in = bottles out (as cases and pallets) + rejected bottles + bottles inside.
fn assert_conserved(l: &LineKpis) {
    let out = l
        .units_out_equivalent
        .expect("a converting line gives its output in bottles");
    assert_eq!(
        l.units_in,
        out + l.rejects + l.wip_end - l.wip_start,
        "{}: conservation in bottles",
        l.engine
    );
}

const THREE: &str = r#"
name = "cases and pallets"
[run]
horizon = "8h"
[[lines]]
name = "L1"
unit = "bottle"
[[lines.stations]]
name = "filler"
kind = "filler"
speed = "36000/h"
reject_rate = 0.01
[[lines.stations]]
name = "packer"
kind = "packer"
takes = 24
unit = "case"
speed = "1600/h"
reject_rate = 0.005
[[lines.stations]]
name = "palletiser"
kind = "palletiser"
takes = 60
unit = "pallet"
speed = "30/h"
[[lines.buffers]]
name = "b1"
from = "filler"
to = "packer"
capacity = 2000
[[lines.buffers]]
name = "b2"
from = "packer"
to = "palletiser"
capacity = 200
transport_time = "30s"
"#;

/// As flows, by hand: the filler takes 36,000 × 8 = 288,000 bottles and rejects 1 %
/// (2,880); the packer (38,400 bottles/h of room) takes all 285,120 good ones, rejects
/// 0.5 % of them (1,425.6 bottles, 59 whole cases) and makes (285,120 − 1,425.6) / 24 =
/// 11,820.6 cases; the palletiser (1,800 cases/h of room) is fed 1,485 cases/h and
/// makes whole pallets of what arrived after the 30 s conveyor: 196.
#[test]
fn cases_and_pallets_as_flows() {
    let l = kpis(&parse(THREE));
    assert_eq!(l.engine, "fluid");
    let st = &l.stations;
    assert_eq!(
        (st[0].units_in, st[0].units_out, st[0].rejects),
        (288_000.0, 285_120.0, 2880.0)
    );
    assert_eq!(
        (st[1].units_in, st[1].units_out, st[1].rejects),
        (285_120.0, 11_820.0, 59.0)
    );
    assert_eq!(st[2].units_out, 196.0);
    assert_eq!(st[1].unit.as_deref(), Some("case"));
    assert_eq!(st[2].unit.as_deref(), Some("pallet"));
    // The line's output in pallets and in bottles; rejects in bottles (59 cases of 24).
    assert_eq!(l.units_out, 196.0);
    assert_eq!(l.units_out_equivalent, Some(196.0 * 60.0 * 24.0));
    assert_eq!(l.rejects, 2880.0 + 59.0 * 24.0);
    assert_conserved(&l);
    // The packer runs at what the filler gives: 35,640 of 38,400 bottles/h.
    assert!((st[1].state_fractions.working - 35_640.0 / 38_400.0).abs() < 1e-6);
    // OEE at the filler, in bottles.
    assert_eq!(l.oee.station, "filler");
    assert!((l.oee.quality - 0.99).abs() < 1e-12);
}

#[test]
fn cases_and_pallets_unit_by_unit_conserve_bottles() {
    let l = kpis(&parse(&THREE.replace(
        "unit = \"bottle\"",
        "unit = \"bottle\"\nengine = \"discrete\"",
    )));
    assert_eq!(l.engine, "discrete");
    assert_conserved(&l);
    let flows = kpis(&parse(THREE));
    // The engines agree to within the packs in progress.
    assert!((l.units_out - flows.units_out).abs() <= 1.0);
    assert!((l.stations[1].units_out - flows.stations[1].units_out).abs() <= 60.0);
}

/// Unit by unit, with the filler at one bottle a second and a packer of 24 that needs 24 s
/// a case: bottle 24 is there at 24 s, so the first case starts then and each next one as
/// the last finishes, its 24 bottles just arrived: case k ends at 24k + 24 s, 1,199 by
/// 8 h, the packer starved only the first 24 s. As flows the packer starts at once: 1,200.
#[test]
fn a_case_starts_only_when_its_bottles_are_there() {
    let text = r#"
name = "packer"
[run]
horizon = "8h"
[[lines]]
name = "L1"
engine = "discrete"
[[lines.stations]]
name = "filler"
kind = "filler"
speed = "3600/h"
[[lines.stations]]
name = "packer"
kind = "packer"
takes = 24
speed = "150/h"
[[lines.buffers]]
name = "b1"
from = "filler"
to = "packer"
capacity = 100
"#;
    let l = kpis(&parse(text));
    assert_eq!(l.units_out, 1199.0);
    assert!((l.stations[1].state_fractions.starved - 24.0 / 28_800.0).abs() < 1e-12);
    assert_eq!(l.stations[1].unit.as_deref(), Some("pack of 24"));
    assert_conserved(&l);
    let flows = kpis(&parse(&text.replace("engine = \"discrete\"\n", "")));
    assert_eq!(flows.units_out, 1200.0);
}

/// At a change of product the packer packs what is left of the old one: 30 bottles of A
/// make one full case and one of 6, which counts 6 bottles, not 24.
#[test]
fn the_last_case_of_a_campaign_may_be_short() {
    let text = r#"
name = "short case"
[run]
horizon = "2h"
[[products]]
name = "A"
[[products]]
name = "B"
[[lines]]
name = "L1"
engine = "discrete"
schedule = { campaigns = [{ product = "A", quantity = 30 }, { product = "B", quantity = 1000000 }] }
[[lines.stations]]
name = "filler"
kind = "filler"
speed = "3600/h"
[[lines.stations]]
name = "packer"
kind = "packer"
takes = 24
speed = "600/h"
[[lines.buffers]]
name = "b1"
from = "filler"
to = "packer"
capacity = 100
"#;
    let l = kpis(&parse(text));
    let cases = l.units_out;
    assert_eq!(l.units_out_equivalent, Some((cases - 1.0) * 24.0 + 6.0));
    assert_eq!(l.stations[1].changeovers, 1);
    assert_conserved(&l);
}

/// Shares of the rated speed and accumulation times are reckoned in bottles: 120 % of
/// 36,000 bottles/h is 1,800 cases of 24 an hour, and 180 s of it 75 cases.
#[test]
fn shares_and_accumulation_are_in_bottles() {
    let s = parse(
        r#"
name = "rated"
[run]
horizon = "1h"
[[lines]]
name = "L1"
rated_speed = "36000/h"
[[lines.stations]]
name = "filler"
kind = "filler"
speed = "100%"
[[lines.stations]]
name = "packer"
kind = "packer"
takes = 24
speed = "120%"
[[lines.stations]]
name = "palletiser"
kind = "palletiser"
takes = 60
speed = "130%"
[[lines.buffers]]
name = "b1"
from = "filler"
to = "packer"
accumulation = "120s"
[[lines.buffers]]
name = "b2"
from = "packer"
to = "palletiser"
accumulation = "180s"
"#,
    );
    let rates: Vec<u64> = s.lines[0]
        .stations
        .iter()
        .map(|st| match st.process {
            Process::Rate(r) => r,
            Process::Time(_) => 0,
        })
        .collect();
    assert_eq!(rates, [36_000_000, 1_800_000, 32_500]);
    let caps: Vec<Option<u64>> = s.lines[0].buffers.iter().map(|b| b.capacity).collect();
    assert_eq!(caps, [Some(1200), Some(75)]);
}

#[test]
fn packs_that_cannot_be_made_are_refused() {
    let base = THREE.to_string();
    for (from, to, path, words) in [
        (
            "takes = 24",
            "takes = 0",
            "lines[0].stations[1].takes",
            "at least one",
        ),
        (
            "capacity = 2000",
            "capacity = 10",
            "lines[0].buffers[0].capacity",
            "takes 24 units at once",
        ),
    ] {
        let err = load_scenario("bad.toml", &base.replacen(from, to, 1)).unwrap_err();
        let d = err.diagnostics();
        assert!(
            d.iter().any(|d| d.path == path && d.reason.contains(words)),
            "{from}: {err}"
        );
    }
    let queue = THREE.replace(
        "unit = \"bottle\"",
        "unit = \"bottle\"\nsource = { kind = \"arrivals\", interarrival = \"exp(1s)\", queue_capacity = 5 }",
    )
    .replacen("speed = \"36000/h\"\nreject_rate = 0.01", "takes = 6\nspeed = \"6000/h\"", 1);
    let err = load_scenario("bad.toml", &queue).unwrap_err();
    assert!(
        err.to_string()
            .contains("source.queue_capacity: `filler` takes 6 arrivals at once"),
        "{err}"
    );
}

/// Line-side material is written per unit the station makes: a labeller that made pairs
/// (takes 2) would use its labels per pair, half of them per bottle it takes.
#[test]
fn material_follows_the_stations_unit() {
    let text = crate::bundled_text("plant-agv.toml");
    let mut doc = twin_models::scenario::expand_templates("plant-agv.toml", &text).unwrap();
    twin_models::scenario::set_field(
        &mut doc,
        "lines.L1.stations.labeller.takes",
        &toml::Value::Integer(2),
    )
    .unwrap();
    let paired = parse(&toml::to_string(&doc).unwrap());
    let single = crate::bundled("plant-agv.toml");
    let labels = |s: &Scenario| {
        s.lines[0]
            .materials
            .iter()
            .find(|m| m.name == "labels")
            .unwrap()
            .per_unit
    };
    assert_eq!(labels(&paired), labels(&single) / 2.0);
}

#[test]
fn a_packer_starts_the_moment_the_last_unit_of_its_pack_arrives() {
    // Worked by hand: the filler finishes a unit every 1.5 s (at 1.5 s, 3 s, …); each
    // rides a 10 s conveyor; the packer takes 4. The fourth arrives at 16 s, so the packer
    // starts its first case then, with no other event at that instant (the filler
    // finishes at 15 s and 16.5 s), and has taken 4 by 16.05 s.
    let text = r#"
name = "pack arrival"
[run]
horizon = "16.05s"
[[lines]]
name = "L1"
engine = "discrete"
[[lines.stations]]
name = "filler"
kind = "filler"
processing_time = "1.5s"
[[lines.stations]]
name = "packer"
kind = "packer"
takes = 4
processing_time = "0.1s"
[[lines.buffers]]
name = "conveyor"
from = "filler"
to = "packer"
capacity = 100
transport_time = "10s"
"#;
    let l = kpis(&parse(text));
    let packer = &l.stations[1];
    assert_eq!(packer.units_in, 4.0);
    assert_eq!(packer.units_out, 0.0);
    // At 16.2 s the first case is out.
    let l = kpis(&parse(&text.replace("16.05s", "16.2s")));
    assert_eq!(l.stations[1].units_out, 1.0);
}
