//! Dotted paths and sweep grids: what a planner types and what it sets.

use experiments::ExperimentError;
use experiments::overrides::{apply, parse_set, parse_value};
use experiments::sweep::{Shard, SweepFile, grid, jobs};
use toml::Value;

const LINE: &str = r#"
name = "line"
[run]
horizon = "8h"
[[lines]]
name = "L1"
[[lines.stations]]
name = "filler"
kind = "filler"
speed = "36000/h"
[[lines.stations]]
name = "capper"
kind = "capper"
speed = "30000/h"
[[lines.buffers]]
name = "B1"
from = "filler"
to = "capper"
capacity = 1000
"#;

fn doc() -> toml::Table {
    toml::from_str(LINE).unwrap()
}

fn set(path: &str, value: &str) -> Result<toml::Table, ExperimentError> {
    let mut d = doc();
    apply(&mut d, path, &parse_value(value))?;
    Ok(d)
}

fn reason(e: ExperimentError) -> String {
    e.to_string()
}

#[test]
fn values_ranges_and_lists() {
    let p = parse_set("lines.L1.buffers.B1.capacity=50,100,200").unwrap();
    assert_eq!(p.path, "lines.L1.buffers.B1.capacity");
    assert_eq!(
        p.values,
        vec![Value::Integer(50), Value::Integer(100), Value::Integer(200)]
    );
    let p = parse_set("fleet.size=8..12").unwrap();
    assert_eq!(p.values, (8..=12).map(Value::Integer).collect::<Vec<_>>());
    let p = parse_set("x=8..16:4,20").unwrap();
    assert_eq!(p.values, [8, 12, 16, 20].map(Value::Integer).to_vec());
    let p = parse_set("x=0.1..0.5:0.1").unwrap();
    assert_eq!(
        p.values,
        [0.1, 0.2, 0.3, 0.4, 0.5].map(Value::Float).to_vec()
    );
    // Bare words are strings; TOML values keep their type; brackets keep their commas.
    let p = parse_set("x=30min, kanban ,true,[1,2],\"a,b\"").unwrap();
    assert_eq!(p.values[0], Value::String("30min".into()));
    assert_eq!(p.values[1], Value::String("kanban".into()));
    assert_eq!(p.values[2], Value::Boolean(true));
    assert_eq!(
        p.values[3],
        Value::Array(vec![Value::Integer(1), Value::Integer(2)])
    );
    assert_eq!(p.values[4], Value::String("a,b".into()));
}

#[test]
fn malformed_sets_say_what_is_wrong() {
    for (arg, expect) in [
        ("capacity", "expected PATH=V1,V2"),
        ("lines..capacity=1", "field names joined by dots"),
        ("x=", "empty value"),
        ("x=1,,2", "empty value"),
        ("x=16..8", "start is after the end"),
        ("x=1..5:0", "step must be positive"),
        ("x=0.5..1.0", "needs a step"),
        ("x=a..b", "expected numbers"),
    ] {
        let e = reason(parse_set(arg).unwrap_err());
        assert!(e.contains(expect), "{arg}: {e}");
    }
}

#[test]
fn grid_is_every_combination_last_fastest() {
    let a = parse_set("lines.L1.buffers.B1.capacity=50,100,200").unwrap();
    let b = parse_set("lines.L1.stations.capper.speed=24000/h,30000/h").unwrap();
    let g = grid(&[a, b]).unwrap();
    assert_eq!(g.len(), 6);
    let labels: Vec<&str> = g.iter().map(|v| v.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "capacity=50 speed=24000/h",
            "capacity=50 speed=30000/h",
            "capacity=100 speed=24000/h",
            "capacity=100 speed=30000/h",
            "capacity=200 speed=24000/h",
            "capacity=200 speed=30000/h",
        ]
    );
    assert_eq!(
        g[3].settings[0],
        ("lines.L1.buffers.B1.capacity".into(), Value::Integer(100))
    );
    // Two paths with the same last field are told apart by more of their path.
    let c = parse_set("lines.L1.stations.filler.speed=1/h").unwrap();
    let d = parse_set("lines.L1.stations.capper.speed=2/h").unwrap();
    assert_eq!(
        grid(&[c, d]).unwrap()[0].label,
        "filler.speed=1/h capper.speed=2/h"
    );
    assert_eq!(grid(&[]).unwrap().len(), 1);
}

#[test]
fn paths_walk_tables_and_named_entries() {
    let d = set("lines.L1.buffers.B1.capacity", "250").unwrap();
    assert_eq!(d["lines"][0]["buffers"][0]["capacity"], Value::Integer(250));
    // By index as well as by name.
    let d = set("lines.0.stations.1.speed", "\"20000/h\"").unwrap();
    assert_eq!(
        d["lines"][0]["stations"][1]["speed"],
        Value::String("20000/h".into())
    );
    // A field the file leaves out but the format knows.
    let d = set("run.warmup", "1h").unwrap();
    assert_eq!(d["run"]["warmup"], Value::String("1h".into()));
    let d = set("lines.L1.stations.filler.reject_rate", "0.01").unwrap();
    assert_eq!(
        d["lines"][0]["stations"][0]["reject_rate"],
        Value::Float(0.01)
    );
}

#[test]
fn unknown_paths_name_the_path_and_the_choices() {
    let e = reason(set("lines.L1.buffers.B1.capacityy", "1").unwrap_err());
    assert!(e.starts_with("--set lines.L1.buffers.B1.capacityy:"), "{e}");
    assert!(
        e.contains("`lines.L1.buffers.B1` has no field `capacityy`"),
        "{e}"
    );
    assert!(e.contains("capacity") && e.contains("from"), "{e}");
    let e = reason(set("lines.L9.buffers.B1.capacity", "1").unwrap_err());
    assert!(
        e.contains("no `lines` entry named `L9` (there are: L1)"),
        "{e}"
    );
    let e = reason(set("lines.L1.buffers.B7.capacity", "1").unwrap_err());
    assert!(
        e.contains("no `lines.L1.buffers` entry named `B7` (there are: B1)"),
        "{e}"
    );
    let e = reason(set("runn.horizon", "1h").unwrap_err());
    assert!(
        e.contains("the scenario has no field `runn`") && e.contains("lines"),
        "{e}"
    );
    let e = reason(set("name.first", "1").unwrap_err());
    assert!(e.contains("`name` is a value (\"line\")"), "{e}");
    let e = reason(set("fleet.size", "8").unwrap_err());
    assert!(e.contains("the scenario has no fleet"), "{e}");
    let e = reason(set("sites.A.region", "x").unwrap_err());
    assert!(e.contains("the scenario has no `sites` entries"), "{e}");
}

#[test]
fn fleet_size_is_the_one_vehicle_types_count() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/plant-agv.toml"
    ))
    .unwrap();
    let mut d: toml::Table = toml::from_str(&text).unwrap();
    apply(&mut d, "fleet.size", &Value::Integer(5)).unwrap();
    assert_eq!(d["fleet"]["vehicles"][0]["count"], Value::Integer(5));
}

#[test]
fn shards_partition_the_jobs() {
    let whole = jobs(3, 5, None);
    assert_eq!(whole.len(), 15);
    assert_eq!(whole[7], (1, 2));
    let mut union: Vec<(usize, usize)> = (0..4)
        .flat_map(|i| jobs(3, 5, Some(Shard { index: i, count: 4 })))
        .collect();
    union.sort_unstable();
    assert_eq!(union, whole);
    assert_eq!(
        jobs(3, 5, Some(Shard { index: 1, count: 4 })),
        vec![(0, 1), (1, 0), (1, 4), (2, 3)]
    );
    assert_eq!(Shard::parse("2/8"), Ok(Shard { index: 2, count: 8 }));
    for bad in ["8/8", "1", "a/2", "0/0"] {
        assert!(Shard::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn sweep_files_read_lists_and_strings() {
    let f = SweepFile::parse(
        "s.toml",
        r#"
        scenario = "line.toml"
        reps = 4
        horizon = "2h"
        [[parameters]]
        path = "lines.L1.buffers.B1.capacity"
        values = [10, 20]
        [[parameters]]
        path = "lines.L1.stations.capper.speed"
        values = "20000/h,30000/h"
        "#,
    )
    .unwrap();
    assert_eq!(f.reps, Some(4));
    assert_eq!(
        f.overrides.horizon,
        Some(sim::SimDuration(2 * 3600 * 1_000_000_000))
    );
    assert_eq!(f.parameters[1].values[1], Value::String("30000/h".into()));
    let e = reason(SweepFile::parse("s.toml", "scenario = \"x\"\nrepz = 3\n").unwrap_err());
    assert!(
        e.starts_with("s.toml: not a sweep file") && e.contains("repz"),
        "{e}"
    );
}
