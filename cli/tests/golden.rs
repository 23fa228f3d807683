//! Contract: the outputs of every bundled scenario stay byte-identical.
//!
//! Each case runs `twinline` on a bundled scenario (runs, replications, replays with their
//! feeds, the network, the textbook models, the bundled sweep) with `--reproducible` and
//! compares every file it writes with the size and BLAKE3 digest recorded in
//! `tests/golden/<case>.txt`. The records were made before the engine was restructured;
//! a restructure or a speed-up must not move a single byte. When a change is meant to move
//! numbers (a bug fixed), rerun with `UPDATE_GOLDEN=1`, say in the commit which outputs
//! changed and why, and pin the fix with a test of its own.
//!
//! Horizons are the scenarios' own, except the year of `plant-10-lines` (60 days here: the
//! same code paths, a debug build's minute saved) and the 500-AGV stress plant.

mod common;

use common::{root, scratch_dir, text, twinline};
use std::fmt::Write as _;
use std::path::Path;

/// (case name, arguments before `--reproducible --out DIR`).
const CASES: &[(&str, &[&str])] = &[
    (
        "run-bottling-line",
        &["run", "scenarios/bottling-line.toml"],
    ),
    (
        "run-bottling-line-serial",
        &["run", "scenarios/bottling-line-serial.toml"],
    ),
    (
        "run-bottling-line-serial-reps",
        &["run", "scenarios/bottling-line-serial.toml", "--reps", "4"],
    ),
    (
        "run-plant-10-lines-60d",
        &["run", "scenarios/plant-10-lines.toml", "--horizon", "60d"],
    ),
    (
        "run-plant-agv-24h",
        &["run", "scenarios/plant-agv.toml", "--horizon", "24h"],
    ),
    ("run-network", &["run", "scenarios/network.toml"]),
    (
        "run-warehouse-stress",
        &["run", "scenarios/warehouse-stress.toml"],
    ),
    (
        "run-viewer-500-20min",
        &[
            "run",
            "scenarios/stress/viewer-500.toml",
            "--horizon",
            "20min",
        ],
    ),
    ("run-mm1", &["run", "scenarios/textbook/mm1.toml"]),
    ("run-mm1k", &["run", "scenarios/textbook/mm1k.toml"]),
    (
        "run-failing-machine",
        &["run", "scenarios/textbook/failing-machine.toml"],
    ),
    (
        "run-deterministic-line",
        &["run", "scenarios/textbook/deterministic-line.toml"],
    ),
    (
        "run-parallel-machines",
        &["run", "scenarios/textbook/parallel-machines.toml"],
    ),
    ("run-dividers", &["run", "scenarios/textbook/dividers.toml"]),
    (
        "run-combiners",
        &["run", "scenarios/textbook/combiners.toml"],
    ),
    (
        "run-unreliable-parallel",
        &["run", "scenarios/textbook/unreliable-parallel.toml"],
    ),
    ("run-rework", &["run", "scenarios/textbook/rework.toml"]),
    (
        "run-cases-and-pallets",
        &["run", "scenarios/textbook/cases-and-pallets.toml"],
    ),
    ("run-agv-loop", &["run", "scenarios/textbook/agv-loop.toml"]),
    (
        "replay-plant-agv-72h",
        &[
            "replay",
            "scenarios/plant-agv.toml",
            "--feed",
            "scenarios/feeds/plant-agv.ndjson",
            "--horizon",
            "72h",
        ],
    ),
    (
        "replay-network",
        &[
            "replay",
            "scenarios/network.toml",
            "--feed",
            "scenarios/feeds/network.ndjson",
        ],
    ),
    (
        "sweep-bottling-line-buffers",
        &[
            "sweep",
            "--file",
            "scenarios/sweeps/bottling-line-buffers.toml",
            "--reps",
            "3",
        ],
    ),
];

/// `file bytes blake3` for every file in `dir`, sorted by name.
fn manifest(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut out = String::new();
    for name in names {
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        writeln!(out, "{name} {} {}", bytes.len(), blake3::hash(&bytes)).unwrap();
    }
    out
}

fn check(case: &str, args: &[&str]) -> Result<(), String> {
    let dir = scratch_dir("golden", case);
    let out = dir.display().to_string();
    let mut all: Vec<&str> = args.to_vec();
    // `sweep` has no --reproducible: its files hold no wall time.
    if args[0] != "sweep" {
        all.push("--reproducible");
    }
    all.extend(["--out", &out]);
    let o = twinline(&all);
    if !o.status.success() {
        return Err(format!("{case}: {all:?} failed: {}", text(&o)));
    }
    let got = manifest(&dir);
    let record = root().join(format!("cli/tests/golden/{case}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&record, &got).unwrap();
    }
    let want = std::fs::read_to_string(&record)
        .map_err(|e| format!("{case}: no record at {}: {e}", record.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    if got != want {
        return Err(format!(
            "{case}: outputs changed (twinline {}):\n--- recorded\n{want}--- now\n{got}",
            all.join(" ")
        ));
    }
    Ok(())
}

#[test]
fn bundled_scenarios_give_the_recorded_bytes() {
    // Cases run on two threads at a time: each is one process, and the 60-day plant
    // dominates.
    let failures: Vec<String> = std::thread::scope(|s| {
        let half = CASES.len().div_ceil(2);
        let handles: Vec<_> = CASES
            .chunks(half)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|(case, args)| check(case, args).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
