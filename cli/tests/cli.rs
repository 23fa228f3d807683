//! The `twinline` binary end to end: files written, exit codes, reproducible bytes.

use std::path::Path;
use std::process::{Command, Output};

mod common;

use common::{Scratch, assert_refused, scratch_dir, text, twinline};

fn temp_dir(name: &str) -> Scratch {
    Scratch::new("cli", name)
}

#[test]
fn run_writes_kpis_and_timeseries() {
    let dir = temp_dir("run");
    let o = twinline(&[
        "run",
        "scenarios/bottling-line-serial.toml",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("line L1 (fluid)") && out.contains("M events/s"),
        "{out}"
    );
    let kpis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("kpis.json")).unwrap()).unwrap();
    assert_eq!(kpis["format"], "twinline-kpis/1");
    assert_eq!(kpis["scenario"], "bottling-line-serial");
    assert_eq!(kpis["seed"], 42);
    assert_eq!(kpis["horizon_s"], 28800.0);
    assert!(kpis["events_processed"].as_u64().unwrap() > 100);
    assert!(kpis["timing"]["wall_time_s"].as_f64().unwrap() >= 0.0);
    let line = &kpis["summary"]["lines"][0];
    let thr = line["throughput_per_h"]["mean"].as_f64().unwrap();
    assert!(thr > 20_000.0 && thr < 36_000.0, "{thr}");
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    assert!(csv.starts_with("time_s,L1.depal-rinse,"));
}

#[test]
fn reproducible_runs_are_byte_identical() {
    let (a, b) = (temp_dir("rep-a"), temp_dir("rep-b"));
    for d in [&a, &b] {
        let o = twinline(&[
            "run",
            "scenarios/bottling-line-serial.toml",
            "--reps",
            "4",
            "--reproducible",
            "--out",
            d.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).unwrap();
    assert_eq!(read(&a, "kpis.json"), read(&b, "kpis.json"));
    assert_eq!(read(&a, "timeseries.csv"), read(&b, "timeseries.csv"));
    let one_thread = temp_dir("rep-c");
    let o = twinline(&[
        "run",
        "scenarios/bottling-line-serial.toml",
        "--reps",
        "4",
        "--threads",
        "1",
        "--reproducible",
        "--out",
        one_thread.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert_eq!(read(&a, "kpis.json"), read(&one_thread, "kpis.json"));
}

#[test]
fn replications_report_confidence_intervals() {
    let dir = temp_dir("reps");
    let o = twinline(&[
        "run",
        "scenarios/textbook/mm1.toml",
        "--reps",
        "5",
        "--horizon",
        "12h",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(" ± "));
    let kpis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("kpis.json")).unwrap()).unwrap();
    let w = &kpis["summary"]["lines"][0]["mean_time_in_system_s"];
    assert_eq!(w["n"], 5);
    assert!(w["ci95_half_width"].as_f64().unwrap() > 0.0);
    assert_eq!(kpis["runs"].as_array().unwrap().len(), 5);
    assert_eq!(kpis["seeds"].as_array().unwrap().len(), 5);
}

#[test]
fn bad_scenario_exits_2_with_file_line_and_path() {
    let dir = temp_dir("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\n[run]\nhorizon = \"-1h\"\n[[lines]]\nname = \"L\"\n[[lines.stations]]\nname = \"m\"\nkind = \"generic\"\nspeed = \"10/h\"\n").unwrap();
    let o = twinline(&["run", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o);
    assert!(
        err.contains("bad.toml:3:11: run.horizon:") && err.contains("negative"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_flags_exit_2() {
    for args in [
        &[
            "run",
            "scenarios/bottling-line-serial.toml",
            "--horizon",
            "soon",
        ][..],
        &["run", "scenarios/bottling-line-serial.toml", "--reps", "0"],
        &["run", "scenarios/no-such-file.toml"],
        &[
            "run",
            "scenarios/bottling-line-serial.toml",
            "--warmup",
            "9h",
        ],
        &["run", "scenarios/textbook/mm1.toml", "--horizon", "1h"],
        &["frobnicate"],
    ] {
        let o = twinline(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(!text(&o).contains("panicked"));
    }
}

#[test]
fn validate_checks_every_bundled_scenario() {
    let mut args = vec!["validate"];
    // Every file of the two folders, so that a scenario added later is checked too.
    let mut files: Vec<String> = Vec::new();
    for dir in ["scenarios", "scenarios/textbook"] {
        for entry in std::fs::read_dir(common::root().join(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".toml") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files.sort();
    assert!(files.len() >= 12, "{files:?}");
    args.extend(files.iter().map(String::as_str));
    let o = twinline(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(text(&o).matches(": ok").count(), files.len());
}

#[test]
fn schema_is_json_schema_of_the_format() {
    let o = twinline(&["schema"]);
    assert!(o.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(schema["title"], "ScenarioFile");
    assert!(schema["properties"]["lines"].is_object());
    let station = &schema["$defs"]["StationFile"]["properties"];
    assert!(station["speed"].is_object() && station["failures"].is_object());
    assert!(schema["properties"]["line_templates"].is_object());
    let line = &schema["$defs"]["LineFile"]["properties"];
    assert!(
        line["template"].is_object() && line["set"].is_object() && line["rated_speed"].is_object()
    );
}

#[test]
fn closed_pipe_is_not_a_crash() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_twinline"))
        .args(["schema"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(status.success());
}

#[test]
fn mapf_writes_lacam_format() {
    let dir = temp_dir("mapf");
    std::fs::create_dir_all(&dir).unwrap();
    let map = dir.join("tiny.map");
    std::fs::write(&map, "type octile\nheight 2\nwidth 5\nmap\n.....\n@@.@@\n").unwrap();
    let scen = dir.join("tiny.scen");
    std::fs::write(
        &scen,
        "version 1\n0\ttiny.map\t5\t2\t0\t0\t4\t0\t4\n0\ttiny.map\t5\t2\t4\t0\t0\t0\t4\n",
    )
    .unwrap();
    let out = dir.join("result.txt");
    let (map, scen, out_arg) = (
        map.to_str().unwrap(),
        scen.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let mapf = |agents: &str, more: &[&str]| {
        let mut args = vec!["mapf", "--map", map, "--scen", scen, "--agents", agents];
        args.extend_from_slice(more);
        twinline(&args)
    };
    let o = mapf("2", &["--out", out_arg]);
    assert!(o.status.success(), "{}", text(&o));
    let result = std::fs::read_to_string(&out).unwrap();
    for key in [
        "agents=2",
        "map_file=tiny.map",
        "solved=1",
        "soc_lb=8",
        "makespan_lb=4",
        "solution=\n0:(0,0),(4,0),",
    ] {
        assert!(result.contains(key), "missing {key:?} in\n{result}");
    }
    let o = mapf("3", &[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "too few agents in the scenario is bad input"
    );
}

#[test]
fn plant_agv_runs_a_day_from_the_command_line() {
    let dir = temp_dir("agv");
    let o = twinline(&[
        "run",
        "scenarios/plant-agv.toml",
        "--horizon",
        "24h",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("fleet (12 vehicles)"), "{out}");
    assert!(
        out.contains("collisions 0   deadlocks 0   stalls 0"),
        "{out}"
    );
    let kpis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("kpis.json")).unwrap()).unwrap();
    let fleet = &kpis["runs"][0]["kpis"]["fleet"];
    assert!(fleet["tasks_completed"].as_u64().unwrap() > 1000);
    assert_eq!(fleet["collisions"], 0);
    assert_eq!(fleet["deadlocks"], 0);
}

#[test]
fn warehouse_map_writes_a_movingai_map_that_the_stress_scenario_uses() {
    let o = twinline(&[
        "warehouse-map",
        "--blocks",
        "10",
        "6",
        "--rack",
        "8",
        "2",
        "--aisle",
        "2",
        "--margin",
        "3",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let bundled = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/maps/warehouse-10x6.map"),
    )
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), bundled);
    let bad = twinline(&["warehouse-map", "--aisle", "0"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

fn replay(feed: &str, dir: &Path, horizon: &str) -> Output {
    twinline(&[
        "replay",
        "scenarios/plant-agv.toml",
        "--feed",
        feed,
        "--horizon",
        horizon,
        "--reproducible",
        "--out",
        dir.to_str().unwrap(),
    ])
}

fn json_file(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn replay_of_the_bundled_feed_counts_and_quarantines() {
    let dir = temp_dir("replay");
    let o = replay("scenarios/feeds/plant-agv.ndjson", &dir, "12h");
    assert!(o.status.success(), "{}", text(&o));
    let kpis = json_file(&dir.join("kpis.json"));
    let ing = &kpis["ingestion"];
    // The bundled feed repeats 17 lines and has two broken ones.
    assert_eq!(ing["duplicates"], 17);
    assert_eq!(ing["quarantined"], 2);
    assert!(ing["reordered"].as_u64().unwrap() > 0);
    let feed = &kpis["runs"][0]["kpis"]["feed"];
    assert_eq!(feed["events_before_start"], 6, "the opening counts");
    assert!(feed["events_after_horizon"].as_u64().unwrap() > 1000);
    // Shift counts at 06:00 and 14:00 for six line-side positions.
    assert_eq!(feed["line_side_counts"], 12);
    assert!(
        kpis["runs"][0]["kpis"]["fleet"]["tasks_completed"]
            .as_u64()
            .unwrap()
            > 300
    );
    let quarantine = std::fs::read_to_string(dir.join("quarantine.ndjson")).unwrap();
    let rows: Vec<serde_json::Value> = quarantine
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0]["reason"]
            .as_str()
            .unwrap()
            .contains("`qty`: -40 is negative")
    );
    assert_eq!(rows[0]["line"], 501);
    assert!(rows[1]["reason"].as_str().unwrap().contains("`ts`"));
    // Customer orders of finished pallets: SO-0001 (demanded 10:06, due 13:36) shipped at
    // 13:41, late; SO-0002 (15:27, due 18:57) is still open at 18:00, not yet due.
    let pallets = feed["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["material"] == "pet-1.5l-6pk")
        .unwrap();
    assert_eq!(pallets["demands"], 2);
    assert_eq!(pallets["open_orders"], 1);
    assert_eq!(pallets["otif"], 0.0);
    assert_eq!(pallets["fill_rate"], 1.0, "the warehouse held both orders");
    // The bundled warehouse holds more than 4 h of what the lines take for these 12 h:
    // no warning, only order proposals. The opening counts put all three stocked
    // materials below their reorder levels (preforms 400,000 against 700,000; caps
    // 600,000 against 700,000; labels 500,000 in a 4 × 400,000 kanban loop), so each
    // gets one at time 0, for what its policy orders.
    let alerts: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("alerts.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(alerts.iter().all(|a| a["kind"] == "reorder"), "{alerts:?}");
    let opening: Vec<(&str, &str)> = alerts
        .iter()
        .filter(|a| a["at_s"] == 0.0)
        .map(|a| (a["material"].as_str().unwrap(), a["hint"].as_str().unwrap()))
        .collect();
    assert_eq!(opening.len(), 3, "{opening:?}");
    for (material, qty) in [
        ("preforms", 800_000),
        ("caps", 900_000),
        ("labels", 800_000),
    ] {
        assert!(
            opening
                .iter()
                .any(|(m, h)| *m == material && h.starts_with(&format!("order {qty} "))),
            "{material}: {opening:?}"
        );
    }
}

#[test]
fn a_feed_with_many_broken_lines_raises_a_quality_alert() {
    let work = temp_dir("replay-quality-in");
    std::fs::create_dir_all(&work).unwrap();
    let feed = work.join("f.ndjson");
    std::fs::write(
        &feed,
        "{\"event_id\":\"a\",\"ts\":\"2026-11-23T07:00:00Z\",\"site\":\"plant-agv\",\"material\":\"caps\",\"location\":\"warehouse\",\"kind\":\"receipt\",\"qty\":10,\"unit\":\"pcs\"}\nnot an event\n",
    )
    .unwrap();
    let dir = temp_dir("replay-quality");
    let o = replay(feed.to_str().unwrap(), &dir, "2h");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 quarantined, 1 alerts"), "{}", text(&o));
    let alerts = std::fs::read_to_string(dir.join("alerts.ndjson")).unwrap();
    let alert: serde_json::Value = serde_json::from_str(alerts.lines().next().unwrap()).unwrap();
    assert_eq!(alert["kind"], "feed_quality");
    assert_eq!(alert["share"], 0.5);
    assert!(
        alert["hint"]
            .as_str()
            .unwrap()
            .contains("50.0% of the feed's lines were refused")
    );
}

#[test]
fn replay_depends_neither_on_line_order_nor_on_repeats() {
    let feed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/feeds/plant-agv.ndjson"),
    )
    .unwrap();
    // Lines backwards, every tenth twice, split over two files.
    let mut lines: Vec<&str> = feed.lines().collect();
    lines.reverse();
    let (mut a, mut b) = (String::new(), String::new());
    for (k, l) in lines.iter().enumerate() {
        let part = if k % 2 == 0 { &mut a } else { &mut b };
        part.push_str(l);
        part.push('\n');
        if k % 10 == 0 {
            b.push_str(l);
            b.push('\n');
        }
    }
    let work = temp_dir("replay-shuffled-in");
    std::fs::create_dir_all(&work).unwrap();
    let (fa, fb) = (work.join("a.ndjson"), work.join("b.jsonl"));
    std::fs::write(&fa, a).unwrap();
    std::fs::write(&fb, b).unwrap();
    let (d1, d2, d3) = (
        temp_dir("replay-1"),
        temp_dir("replay-2"),
        temp_dir("replay-3"),
    );
    assert!(
        replay("scenarios/feeds/plant-agv.ndjson", &d1, "6h")
            .status
            .success()
    );
    assert!(
        replay("scenarios/feeds/plant-agv.ndjson", &d2, "6h")
            .status
            .success()
    );
    let o = twinline(&[
        "replay",
        "scenarios/plant-agv.toml",
        "--feed",
        fa.to_str().unwrap(),
        "--feed",
        fb.to_str().unwrap(),
        "--horizon",
        "6h",
        "--reproducible",
        "--out",
        d3.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // Twice the same: the same bytes.
    let bytes = |d: &Path| std::fs::read(d.join("kpis.json")).unwrap();
    assert_eq!(bytes(&d1), bytes(&d2));
    // Shuffled and repeated: the same state and KPIs; only the counters of repeats and
    // reordering differ.
    let (mut k1, mut k3) = (
        json_file(&d1.join("kpis.json")),
        json_file(&d3.join("kpis.json")),
    );
    assert!(k3["ingestion"]["duplicates"].as_u64().unwrap() > 17);
    assert_eq!(k1["ingestion"]["applied"], k3["ingestion"]["applied"]);
    k1.as_object_mut().unwrap().remove("ingestion");
    k3.as_object_mut().unwrap().remove("ingestion");
    assert_eq!(k1, k3);
}

#[test]
fn replay_refuses_a_scenario_without_start_and_unknown_feed_formats() {
    let feed = "scenarios/feeds/plant-agv.ndjson";
    assert_refused(
        &[
            "replay",
            "scenarios/bottling-line-serial.toml",
            "--feed",
            feed,
        ],
        "no `run.start`",
    );
    let agv = "scenarios/plant-agv.toml";
    assert_refused(
        &["replay", agv, "--feed", agv],
        "unknown feed format `.toml`",
    );
}

/// A feed file with one line that is not UTF-8 was refused whole (exit 2) by replay, while
/// live runs refused just the line; and a byte-order mark cost the first event. Now replay
/// refuses the line alone, with its number, and every line is accounted for.
#[test]
fn regression_replay_quarantines_a_line_that_is_not_utf8_and_takes_a_bom() {
    let feed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/feeds/plant-agv.ndjson"),
    )
    .unwrap();
    let lines: Vec<&str> = feed.lines().take(40).collect();
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    for (k, l) in lines.iter().enumerate() {
        if k == 7 {
            bytes.extend(b"{\"event_id\":\"broken\xff\"}\n");
        }
        bytes.extend(l.as_bytes());
        bytes.push(b'\n');
    }
    let work = temp_dir("replay-utf8-in");
    std::fs::create_dir_all(&work).unwrap();
    let file = work.join("feed.ndjson");
    std::fs::write(&file, &bytes).unwrap();
    let out = temp_dir("replay-utf8");
    let o = replay(file.to_str().unwrap(), &out, "6h");
    assert!(o.status.success(), "{}", text(&o));
    let quarantine = std::fs::read_to_string(out.join("quarantine.ndjson")).unwrap();
    let entries: Vec<serde_json::Value> = quarantine
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 1, "{quarantine}");
    assert_eq!(entries[0]["line"], 8);
    assert!(entries[0]["reason"].as_str().unwrap().contains("UTF-8"));
    let counters = &json_file(&out.join("kpis.json"))["ingestion"];
    // Lines in = applied + duplicates + quarantined.
    let n = |k: &str| counters[k].as_u64().unwrap();
    assert_eq!(
        n("applied") + n("duplicates") + n("quarantined"),
        41,
        "40 lines and the broken one: {counters}"
    );
    assert_eq!(counters["quarantined"], 1);
}

/// Two events with one `event_id` and different content: the first in file order won, so
/// KPIs depended on line order, and the quarantine entry had no line number or text. Now
/// both versions are refused in either order, each entry names its own line and the other's,
/// with the line as written.
#[test]
fn regression_a_conflicting_event_id_is_refused_whole_in_any_order() {
    let feed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/feeds/plant-agv.ndjson"),
    )
    .unwrap();
    let lines: Vec<&str> = feed.lines().take(30).collect();
    let victim = lines[5];
    let rival = victim.replacen("\"qty\":", "\"qty\":1", 1);
    assert_ne!(rival, victim);
    let work = temp_dir("replay-conflict-in");
    std::fs::create_dir_all(&work).unwrap();
    let (fa, fb) = (work.join("a.ndjson"), work.join("b.ndjson"));
    std::fs::write(&fa, lines.join("\n") + "\n").unwrap();
    std::fs::write(&fb, format!("{rival}\n")).unwrap();
    let run = |first: &Path, second: &Path, name: &str| {
        let out = temp_dir(name);
        let o = twinline(&[
            "replay",
            "scenarios/plant-agv.toml",
            "--feed",
            first.to_str().unwrap(),
            "--feed",
            second.to_str().unwrap(),
            "--horizon",
            "6h",
            "--reproducible",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        out
    };
    let (d1, d2) = (
        run(&fa, &fb, "replay-conflict-1"),
        run(&fb, &fa, "replay-conflict-2"),
    );
    let kpis = |d: &Path| json_file(&d.join("kpis.json"));
    let (k1, k2) = (kpis(&d1), kpis(&d2));
    assert_eq!(k1, k2, "the order of the files changes nothing");
    let n = |k: &str| k1["ingestion"][k].as_u64().unwrap();
    assert_eq!(n("quarantined"), 2, "both versions");
    assert_eq!(n("applied") + n("duplicates") + n("quarantined"), 31);
    let quarantine = std::fs::read_to_string(d1.join("quarantine.ndjson")).unwrap();
    let entries: Vec<serde_json::Value> = quarantine
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 2, "{quarantine}");
    let of = |raw: &str| {
        entries
            .iter()
            .find(|e| e["raw"] == raw)
            .unwrap_or_else(|| panic!("no entry for {raw}: {quarantine}"))
    };
    let (v, r) = (of(victim), of(&rival));
    assert_eq!((v["line"].as_u64(), r["line"].as_u64()), (Some(6), Some(1)));
    assert!(v["file"].as_str().unwrap().ends_with("a.ndjson"));
    assert!(r["file"].as_str().unwrap().ends_with("b.ndjson"));
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("b.ndjson line 1") && reason.contains("neither version applies"),
        "{reason}"
    );
    assert!(r["reason"].as_str().unwrap().contains("a.ndjson line 6"));
}

/// Asked for more work than one process holds in memory, the commands refuse at once with
/// the bound and what to do: `run --reps 1000000000` tried to allocate 600 GB, and a sweep
/// range of 1..100000000 was expanded up front (24 GB before the out-of-memory killer).
#[test]
fn regression_work_past_the_bounds_is_refused_before_it_starts() {
    assert_refused(
        &[
            "run",
            "scenarios/bottling-line-serial.toml",
            "--reps",
            "1000000000",
        ],
        "at most 100000 replications",
    );
    let capacity = "lines.L1.buffers.rinse-fill.capacity";
    assert_refused(
        &[
            "sweep",
            "scenarios/bottling-line-serial.toml",
            "--set",
            &format!("{capacity}=1..100000000"),
            "--reps",
            "1",
            "--out",
            "target/never-written",
        ],
        "100000000 values, more than 100000",
    );
    // Each parameter is small; the grid they make is not.
    assert_refused(
        &[
            "sweep",
            "scenarios/bottling-line-serial.toml",
            "--set",
            &format!("{capacity}=1..2000"),
            "--set",
            "lines.L1.buffers.fill-cap.capacity=1..2000",
            "--reps",
            "1",
            "--out",
            "target/never-written",
        ],
        "the grid has 4000000 variants",
    );
    assert_refused(
        &[
            "sweep",
            "scenarios/bottling-line-serial.toml",
            "--set",
            &format!("{capacity}=50,100"),
            "--reps",
            "600000",
            "--out",
            "target/never-written",
        ],
        "more than the 1000000 runs one sweep takes",
    );
    assert_refused(
        &[
            "compare",
            "scenarios/bottling-line-serial.toml",
            "scenarios/bottling-line-serial.toml",
            "--reps",
            "900000",
        ],
        "more than the 1000000 runs",
    );
    // warehouse-map --blocks 100000 100000 grew without bound.
    assert_refused(
        &["warehouse-map", "--blocks", "100000", "100000"],
        "cells, the most a map holds",
    );
    assert_refused(
        &[
            "warehouse-map",
            "--blocks",
            "2",
            "2",
            "--margin",
            "18446744073709551615",
        ],
        "cells, the most a map holds",
    );
}

/// `--horizon 1000000000d` was accepted (cut to 584 years without a word) and ran for
/// ever; a run's work past the budget is now refused before it starts, with the estimate
/// and the flag that lets it run.
#[test]
fn regression_a_run_past_the_work_budget_is_refused_with_its_estimate() {
    assert_refused(
        &[
            "run",
            "scenarios/bottling-line-serial.toml",
            "--horizon",
            "1000000000d",
        ],
        "about 584 years",
    );
    // Ten years of the line, a thousand times over: each run within the budget of one,
    // together past the command's.
    let long = [
        "run",
        "scenarios/bottling-line-serial.toml",
        "--horizon",
        "3650d",
        "--reps",
        "1000",
    ];
    assert_refused(&long, "over the budget of 1e10");
    assert_refused(&long, "--no-work-limit");
    // 500 years of it once: past the budget of one run.
    assert_refused(
        &[
            "run",
            "scenarios/bottling-line-serial.toml",
            "--horizon",
            "182500d",
        ],
        "over the budget of 3e8 for one run",
    );
    for command in [
        &[
            "sweep",
            "scenarios/bottling-line-serial.toml",
            "--set",
            "lines.L1.buffers.rinse-fill.capacity=50,100",
            "--reps",
            "500",
            "--horizon",
            "182500d",
            "--out",
            "target/never-written",
        ][..],
        &[
            "compare",
            "scenarios/bottling-line-serial.toml",
            "scenarios/bottling-line-serial.toml",
            "--reps",
            "1000",
            "--horizon",
            "182500d",
        ][..],
        &[
            "replay",
            "scenarios/plant-agv.toml",
            "--feed",
            "scenarios/feeds/plant-agv.ndjson",
            "--horizon",
            "182500d",
        ][..],
    ] {
        assert_refused(command, "refused before starting");
    }
    // A century of the line sampled every minute: 52 million rows of 20 columns.
    assert_refused(
        &[
            "run",
            "scenarios/bottling-line-serial.toml",
            "--horizon",
            "36500d",
            "--out",
            "target/never-written",
        ],
        "cells of time series, more than the 50000000 a run keeps",
    );
    // `validate` weighs a scenario's run as written, as `run` will.
    let dir = temp_dir("validate-weighs");
    std::fs::create_dir_all(&dir).unwrap();
    let source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/bottling-line-serial.toml"),
    )
    .unwrap();
    let heavy = dir.join("heavy.toml");
    let heavy_text = source
        .replacen("horizon = \"8h\"", "horizon = \"182500d\"", 1)
        .replacen("sample_interval = \"1min\"", "sample_interval = \"10d\"", 1)
        .replacen("[run]", "[run]\nreplications = 1000", 1);
    std::fs::write(&heavy, heavy_text).unwrap();
    assert_refused(
        &["validate", heavy.to_str().unwrap()],
        "refused before starting",
    );
    // The flag lets it through (here a small run, to see the flag is taken).
    let o = twinline(&[
        "run",
        "scenarios/bottling-line-serial.toml",
        "--horizon",
        "1h",
        "--no-work-limit",
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

/// `run --out` writes the time series and the timeline as the run goes (a century of the
/// line grew memory by 100 MB/s); over many steps of writing, the files are the bytes the
/// whole run gives from memory, and the scratch file is gone.
#[test]
fn run_out_streams_the_series_and_timeline_to_the_bytes_of_the_whole_run() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/bottling-line-serial.toml");
    let source = std::fs::read_to_string(&path).unwrap();
    let s = twin_models::load_scenario("bottling-line-serial.toml", &source).unwrap();
    let spec = twin_models::RunSpec {
        horizon: sim::SimDuration::from_secs(7 * 86_400),
        ..twin_models::RunSpec::of(&s)
    };
    // Sampled every minute: 10,081 rows, written in three steps of 4,096.
    let whole = twin_models::simulate(&s, spec);
    let series = whole.series.unwrap().to_csv();
    let timeline = twin_models::line::timeline_csv(&whole.timeline.unwrap());
    assert!(timeline.lines().count() > 1000, "stops in every step");
    let dir = temp_dir("run-streamed");
    let o = twinline(&[
        "run",
        "scenarios/bottling-line-serial.toml",
        "--horizon",
        "7d",
        "--reproducible",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read_to_string(dir.join("timeseries.csv")).unwrap() == series);
    assert!(std::fs::read_to_string(dir.join("timeline.csv")).unwrap() == timeline);
    assert!(!dir.join("timeline.csv.part").exists());
}

/// `run --out` writes the plant's alerts as the run goes too: the file holds every alert
/// of the whole run, in time order, while kpis.json keeps the first 1,000 and counts the
/// rest, so that a long run's alerts cost disk, not memory.
#[test]
fn run_out_streams_the_alerts_and_keeps_the_first_thousand_in_the_kpis() {
    // The AGV plant with two vehicles for twelve days: about 1,300 late transports.
    let dir = temp_dir("run-alerts-streamed");
    let (file, source) = common::short_of_vehicles(&dir, 2);
    let s = twin_models::load_scenario("agv-2.toml", &source).unwrap();
    let spec = twin_models::RunSpec {
        horizon: sim::SimDuration::from_secs(12 * 86_400),
        ..twin_models::RunSpec::of(&s)
    };
    let mut whole = twin_models::simulate(&s, spec).kpis.alerts;
    assert!(whole.len() > 1_100, "{} alerts", whole.len());
    whole.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    let expected: String = whole
        .iter()
        .map(|a| serde_json::to_string(a).unwrap() + "\n")
        .collect();
    let out = dir.join("out");
    let o = twinline(&[
        "run",
        file.to_str().unwrap(),
        "--horizon",
        "12d",
        "--reproducible",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read_to_string(out.join("alerts.ndjson")).unwrap() == expected);
    assert!(!out.join("alerts.ndjson.part").exists());
    let kpis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("kpis.json")).unwrap()).unwrap();
    let fleet = &kpis["runs"][0]["kpis"]["fleet"];
    assert_eq!(fleet["alerts"].as_array().unwrap().len(), 1_000);
    assert_eq!(fleet["alerts_omitted"], whole.len() as u64 - 1_000);
    assert!(kpis["summary"]["fleet"].get("alerts_omitted").is_none());
}

/// With level switches, the speed-step spans follow the stops in `timeline.csv`, and the
/// file written as the run goes is still the bytes of the whole run.
#[test]
fn run_out_streams_speed_steps_to_the_bytes_of_the_whole_run() {
    let source = r#"
name = "level control"
[run]
horizon = "7d"
sample_interval = "1min"
[[lines]]
name = "L1"
[[lines.stations]]
name = "A"
kind = "filler"
speed = "3600/h"
failures = [{ tbf = "exp(30min)", ttr = "exp(4min)" }]
[[lines.stations]]
name = "B"
kind = "capper"
speed = "4500/h"
[[lines.buffers]]
name = "b1"
from = "A"
to = "B"
capacity = 100
switches = [{ on = 10, off = 50, step = "70%" }]
"#;
    let dir = temp_dir("run-streamed-steps");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("level.toml");
    std::fs::write(&file, source).unwrap();
    let s = twin_models::load_scenario("level.toml", source).unwrap();
    let whole = twin_models::simulate(&s, twin_models::RunSpec::of(&s));
    let timeline = twin_models::line::timeline_csv(&whole.timeline.unwrap());
    let steps = timeline
        .lines()
        .filter(|l| l.contains(",speed 70%,"))
        .count();
    assert!(steps > 100, "{steps} speed-step spans");
    let first_step = timeline
        .lines()
        .position(|l| l.contains(",speed "))
        .unwrap();
    assert!(
        timeline
            .lines()
            .skip(first_step)
            .all(|l| l.contains(",speed ")),
        "the speed steps follow the stops"
    );
    let out = dir.join("out");
    let o = twinline(&[
        "run",
        file.to_str().unwrap(),
        "--reproducible",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read_to_string(out.join("timeline.csv")).unwrap() == timeline);
}

#[test]
fn lifelong_runs_a_robot_runners_instance_and_writes_its_result() {
    // A hand-made instance in the LoRR 2024 files: a 3 × 5 room, two robots, tasks
    // between the corners.
    let dir = scratch_dir("lifelong", "room");
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write(
        "room.json",
        r#"{"mapFile": "room.map", "agentFile": "room.agents", "teamSize": 2,
            "taskFile": "room.tasks", "numTasksReveal": 1.5, "version": "2024 LoRR"}"#,
    );
    write(
        "room.map",
        "type octile\nheight 3\nwidth 5\nmap\n.....\n.@.@.\n.....\n",
    );
    write("room.agents", "# two\n2\n0\n14\n");
    write("room.tasks", "# corners\n4\n4,10\n14,0\n10,4\n0,14\n");
    let out = dir.join("result.json");
    let o = twinline(&[
        "lifelong",
        dir.join("room.json").to_str().unwrap(),
        "--steps",
        "200",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let said = text(&o);
    assert!(
        said.contains("invalid joint actions 0   refused schedules 0"),
        "{said}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["teamSize"], 2);
    assert_eq!(doc["numPlannerErrors"], 0);
    assert!(doc["numTaskFinished"].as_u64().unwrap() >= 10, "{doc}");
    // One action per robot per step (T for steps lost to overruns).
    for p in doc["actualPaths"].as_array().unwrap() {
        assert_eq!(p.as_str().unwrap().split(',').count(), 200);
    }
    // A bad instance is refused with the file and the reason, exit 2.
    write(
        "bad.json",
        r#"{"mapFile": "room.map", "agentFile": "room.agents", "teamSize": 3, "taskFile": "room.tasks", "numTasksReveal": 1.5}"#,
    );
    let o = twinline(&["lifelong", dir.join("bad.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("2 starts for a team of 3"),
        "{}",
        text(&o)
    );
}

/// Runs `twinline run` with `args` and checks that it succeeds.
fn ran(args: &[&str]) {
    let o = twinline(args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
}

#[test]
fn a_run_saved_at_an_instant_and_resumed_writes_the_files_of_the_uninterrupted_run() {
    for (scenario, horizon, at) in [
        ("scenarios/plant-agv.toml", "8h", "3h"),
        ("scenarios/bottling-line.toml", "24h", "7h"),
        ("scenarios/network.toml", "3d", "29h"),
        ("scenarios/textbook/mm1k.toml", "10h", "2h"),
    ] {
        let dir = scratch_dir("snapshot", scenario.rsplit('/').next().unwrap());
        let d = |x: &str| dir.join(x).display().to_string();
        let common = ["--horizon", horizon, "--reproducible", "--reps", "1"];
        ran(&[&["run", scenario, "--out", &d("whole")][..], &common].concat());
        ran(&[
            &[
                "run",
                scenario,
                "--snapshot-at",
                at,
                "--snapshot",
                &d("at.snap"),
            ][..],
            &common[..2],
        ]
        .concat());
        // Resumed alone (the snapshot holds its scenario) and with its scenario named.
        ran(&[
            "run",
            "--resume",
            &d("at.snap"),
            "--out",
            &d("alone"),
            "--reproducible",
        ]);
        ran(&[
            "run",
            scenario,
            "--resume",
            &d("at.snap"),
            "--horizon",
            horizon,
            "--out",
            &d("named"),
            "--reproducible",
        ]);
        for resumed in ["alone", "named"] {
            for f in [
                "kpis.json",
                "timeseries.csv",
                "timeline.csv",
                "alerts.ndjson",
            ] {
                let a = std::fs::read(dir.join("whole").join(f)).unwrap();
                let b = std::fs::read(dir.join(resumed).join(f)).unwrap();
                assert!(
                    a == b,
                    "{scenario}: {resumed}/{f} differs from the whole run's"
                );
            }
        }
        assert!(!dir.join("at.snap.partial").exists());
    }
}

#[test]
fn a_snapshot_that_cannot_be_resumed_is_refused_with_its_file_and_reason() {
    let dir = scratch_dir("snapshot", "refused");
    let snap = dir.join("bl.snap").display().to_string();
    ran(&[
        "run",
        "scenarios/bottling-line.toml",
        "--horizon",
        "4h",
        "--snapshot-at",
        "1h",
        "--snapshot",
        &snap,
    ]);
    // Another scenario.
    assert_refused(
        &[
            "run",
            "scenarios/bottling-line-serial.toml",
            "--resume",
            &snap,
        ],
        "differs from",
    );
    // Settings that are the snapshot's.
    assert_refused(
        &["run", "--resume", &snap, "--seed", "7"],
        "are the snapshot's",
    );
    assert_refused(
        &["run", "--resume", &snap, "--horizon", "9h"],
        "its own horizon",
    );
    assert_refused(&["run", "--resume", &snap, "--reps", "3"], "one run");
    // Damaged, cut short, another version, not a snapshot at all.
    let bytes = std::fs::read(&snap).unwrap();
    let write = |name: &str, b: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, b).unwrap();
        p.display().to_string()
    };
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 1;
    let flipped = write("flipped.snap", &flipped);
    assert_refused(&["run", "--resume", &flipped], "checksum");
    assert_refused(&["run", "--resume", &flipped], "flipped.snap");
    let cut = write("cut.snap", &bytes[..bytes.len() - 100]);
    assert_refused(&["run", "--resume", &cut], "truncated");
    let mut newer = bytes.clone();
    newer[8] = 9;
    let newer = write("newer.snap", &newer);
    assert_refused(&["run", "--resume", &newer], "format version 9");
    let scenario = write("scenario.snap", b"[run]\nhorizon = \"1h\"\n");
    assert_refused(&["run", "--resume", &scenario], "not a twinline snapshot");
    assert_refused(
        &[
            "run",
            "--resume",
            &dir.join("missing.snap").display().to_string(),
        ],
        "cannot read the snapshot",
    );
    // A snapshot instant past the horizon.
    assert_refused(
        &[
            "run",
            "scenarios/bottling-line.toml",
            "--horizon",
            "4h",
            "--snapshot-at",
            "5h",
            "--snapshot",
            &snap,
        ],
        "must come before the horizon",
    );
}

/// Writes `file`: a snapshot of the bundled bottling line, run for 24 h, at 6 h.
fn bottling_line_at_6h(file: &str) {
    ran(&[
        "run",
        "scenarios/bottling-line.toml",
        "--horizon",
        "24h",
        "--snapshot-at",
        "6h",
        "--snapshot",
        file,
    ]);
}

#[test]
fn fork_runs_replications_forward_from_a_snapshot_and_writes_what_run_writes() {
    let dir = scratch_dir("snapshot", "fork");
    let d = |x: &str| dir.join(x).display().to_string();
    bottling_line_at_6h(&d("bl.snap"));
    let fork = |out: &str, threads: &str| {
        ran(&[
            "fork",
            &d("bl.snap"),
            "--horizon",
            "8h",
            "--reps",
            "5",
            "--seed",
            "9",
            "--threads",
            threads,
            "--out",
            &d(out),
            "--reproducible",
        ]);
        std::fs::read_to_string(dir.join(out).join("kpis.json")).unwrap()
    };
    let one = fork("one", "1");
    assert_eq!(one, fork("two", "2"), "the thread count changed the forks");
    let k: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(k["replications"], 5);
    assert_eq!(k["warmup_s"], 6.0 * 3600.0, "measured from the snapshot");
    assert_eq!(k["horizon_s"], 14.0 * 3600.0, "eight hours ahead of it");
    for f in ["timeseries.csv", "timeline.csv", "alerts.ndjson"] {
        assert!(dir.join("one").join(f).exists(), "{f}");
    }
    assert_refused(
        &["fork", &d("bl.snap"), "--horizon", "19h"],
        "at most 64800 s ahead",
    );
    assert_refused(
        &["fork", &d("missing.snap"), "--horizon", "1h"],
        "cannot read the snapshot",
    );
    // 100,000 futures of 18 h of a unit-by-unit line (four unreliable machines, 200,000
    // events in 18 h): past the work budget.
    tandem_at_6h(&d("t.snap"));
    assert_refused(
        &["fork", &d("t.snap"), "--horizon", "18h", "--reps", "100000"],
        "refused before starting",
    );
}

/// A snapshot of the stress tandem (unit by unit) at 6 h of its 24.
fn tandem_at_6h(file: &str) {
    ran(&[
        "run",
        "scenarios/stress/tandem-4-failures.toml",
        "--snapshot-at",
        "6h",
        "--snapshot",
        file,
    ]);
}

#[test]
fn fork_with_set_runs_each_variant_on_the_plain_fork_s_futures() {
    let dir = scratch_dir("snapshot", "fork-set");
    let d = |x: &str| dir.join(x).display().to_string();
    bottling_line_at_6h(&d("bl.snap"));
    let (snap, plain_dir, set_dir) = (d("bl.snap"), d("plain"), d("set"));
    let common = ["--horizon", "4h", "--reps", "3", "--seed", "9"];
    let plain = [&["fork", &snap][..], &common, &["--out", &plain_dir]].concat();
    ran(&plain);
    let capacity = "lines.L1.buffers.rinse-fill.capacity";
    let set = format!("{capacity}=1500,6000");
    let sweep = [
        &["fork", &snap, "scenarios/bottling-line.toml", "--set", &set][..],
        &common,
        &["--out", &set_dir],
    ]
    .concat();
    let o = twinline(&sweep);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("capacity=1500") && text.contains("capacity=6000"),
        "{text}"
    );
    assert!(
        text.contains("paired replication(s)"),
        "two variants compare: {text}"
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("set/results.json")).unwrap())
            .unwrap();
    assert_eq!(
        results["warmup_s"],
        6.0 * 3600.0,
        "measured from the snapshot"
    );
    assert_eq!(
        results["horizon_s"],
        10.0 * 3600.0,
        "four hours ahead of it"
    );
    assert!(dir.join("set/compare.json").exists());
    // The variant that sets the capacity it had is the plain fork, future by future.
    let kpis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("plain/kpis.json")).unwrap())
            .unwrap();
    let plain_out: Vec<f64> = kpis["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kpis"]["lines"][0]["units_out"].as_f64().unwrap())
        .collect();
    let reps = std::fs::read_to_string(dir.join("set/replications.csv")).unwrap();
    let out_of = |variant: &str| -> Vec<f64> {
        reps.lines()
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|c| c[0] == variant && c[5] == "lines.L1.units_out")
            .map(|c| c[6].parse().unwrap())
            .collect()
    };
    assert_eq!(out_of("0"), plain_out);
    let wider = out_of("1");
    assert_eq!(wider.len(), 3);
    assert!(
        wider.iter().zip(&plain_out).any(|(w, p)| w != p),
        "a four times larger buffer changed nothing"
    );
    // What a fork cannot change, and a scenario that is not the snapshot's.
    assert_refused(
        &[
            "fork",
            &d("bl.snap"),
            "scenarios/bottling-line.toml",
            "--set",
            "lines.L1.stations.filler.reject_rate=0.01",
            "--horizon",
            "1h",
        ],
        "cannot change `lines.L1.stations.filler.reject_rate`",
    );
    assert_refused(
        &[
            "fork",
            &d("bl.snap"),
            "scenarios/bottling-line-serial.toml",
            "--set",
            &set,
            "--horizon",
            "1h",
        ],
        "not the scenario",
    );
    assert_refused(
        &["fork", &d("bl.snap"), "--set", &set, "--horizon", "1h"],
        "needs the scenario file",
    );
    tandem_at_6h(&d("t.snap"));
    assert_refused(
        &[
            "fork",
            &d("t.snap"),
            "scenarios/stress/tandem-4-failures.toml",
            "--set",
            "lines.T.buffers.b12.capacity=10,20",
            "--horizon",
            "18h",
            "--reps",
            "60000",
        ],
        "refused before starting",
    );
}
