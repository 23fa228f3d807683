//! Every corpus file, and every bundled input a target takes, through its target: none
//! panics or breaks an invariant, and the seeds do what they are there for. Findings of
//! the fuzzer become corpus files (and named regression tests where they found a bug).

use std::path::Path;
use twinline_fuzz::{Outcome, Target, campaign, check};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn files(dirs: &[&str], ext: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in dirs {
        let mut paths: Vec<_> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        paths.sort();
        for p in paths {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    out
}

fn scenario_file(name: &str) -> Result<String, String> {
    std::fs::read_to_string(root().join("scenarios").join(name)).map_err(|e| e.to_string())
}

fn outcomes(target: Target, dirs: &[&str], ext: &str) -> Vec<(String, Outcome)> {
    let corpus = files(dirs, ext);
    assert!(!corpus.is_empty(), "{target:?}: no corpus");
    corpus
        .into_iter()
        .map(
            |(name, bytes)| match check(target, &bytes, &scenario_file) {
                Ok(o) => (name, o),
                Err(what) => panic!("{target:?} {name}: {what}"),
            },
        )
        .collect()
}

#[test]
fn the_scenario_corpus_loads_and_small_runs_conserve_units() {
    let seen = outcomes(
        Target::Scenario,
        &["scenarios", "scenarios/textbook", "fuzz/corpus/scenario"],
        "toml",
    );
    // Every bundled scenario loads; the small ones run within the fuzzer's bound.
    assert!(seen.iter().all(|(_, o)| *o != Outcome::Refused), "{seen:?}");
    let ran = |stem: &str| {
        seen.iter()
            .any(|(n, o)| n.ends_with(stem) && *o == Outcome::Ran)
    };
    assert!(ran("one-an-hour-with-failures.toml"), "{seen:?}");
    assert!(ran("millisecond-failures.toml"), "{seen:?}");
    assert!(ran("one-agv.toml"), "{seen:?}");
}

#[test]
fn the_feed_corpus_accounts_for_every_line() {
    let ndjson = outcomes(
        Target::Ndjson,
        &["scenarios/feeds", "fuzz/corpus/ndjson"],
        "ndjson",
    );
    assert!(
        ndjson.iter().all(|(_, o)| *o == Outcome::Accepted),
        "{ndjson:?}"
    );
    let csv = outcomes(Target::Csv, &["fuzz/corpus/csv"], "csv");
    assert!(csv.iter().all(|(_, o)| *o == Outcome::Accepted), "{csv:?}");
}

#[test]
fn the_set_corpus_applies_to_the_bottling_line() {
    let set = outcomes(Target::Set, &["fuzz/corpus/set"], "txt");
    assert!(set.iter().all(|(_, o)| *o == Outcome::Accepted), "{set:?}");
    // A path that is no field, and a value of the wrong kind, are refused, not accepted.
    let none = |_: &str| Err("none".to_string());
    for bad in [
        "lines.L9.buffers.x.capacity=5",
        "lines.L1.buffers.fill-cap.capacity=\"many\"",
    ] {
        assert_eq!(
            check(Target::Set, bad.as_bytes(), &none),
            Ok(Outcome::Refused),
            "{bad}"
        );
    }
}

/// The harness finds what it is for: a target that breaks its invariant is reported
/// (checked on an input that breaks the CSV count: a header that is not read whole).
#[test]
fn a_short_campaign_per_target_finds_nothing() {
    for (name, target) in Target::ALL {
        let (dirs, ext): (&[&str], &str) = match target {
            Target::Scenario => (&["fuzz/corpus/scenario"], "toml"),
            Target::Ndjson => (&["fuzz/corpus/ndjson"], "ndjson"),
            Target::Csv => (&["fuzz/corpus/csv"], "csv"),
            Target::Set => (&["fuzz/corpus/set"], "txt"),
            Target::Snapshot => (&[], ""),
        };
        let corpus: Vec<Vec<u8>> = if target == Target::Snapshot {
            twinline_fuzz::snapshot_corpus()
        } else {
            files(dirs, ext).into_iter().map(|(_, b)| b).collect()
        };
        let mut n = 0;
        let report = campaign(target, &corpus, 3, &scenario_file, || {
            n += 1;
            n <= 150
        });
        assert_eq!(report.cases, 150, "{name}");
        assert!(report.findings.is_empty(), "{name}: {:?}", report.findings);
    }
}

#[test]
fn snapshots_of_the_corpus_scenarios_resume_and_run_and_damaged_ones_are_refused() {
    let none = |_: &str| Err("none".to_string());
    for snap in twinline_fuzz::snapshot_corpus() {
        assert_eq!(check(Target::Snapshot, &snap, &none), Ok(Outcome::Ran));
        let mut bad = snap.clone();
        let k = bad.len() / 3;
        bad[k] ^= 0x10;
        assert_eq!(check(Target::Snapshot, &bad, &none), Ok(Outcome::Refused));
        assert_eq!(
            check(Target::Snapshot, &snap[..snap.len() / 2], &none),
            Ok(Outcome::Refused)
        );
    }
}

/// Snapshots the fuzzer damaged where a fleet's floor is saved (neighbour lists pointing
/// past the floor's spots): reading one derived the floor's in-neighbours from the damaged
/// lists and panicked. Each is now refused or runs; none panics.
#[test]
fn regression_snapshots_with_a_damaged_floor_are_refused_not_trusted() {
    let none = |_: &str| Err("none".to_string());
    let damaged = files(&["fuzz/corpus/snapshot"], "snap");
    assert!(damaged.len() >= 5);
    for (name, bytes) in damaged {
        let outcome = check(Target::Snapshot, &bytes, &none);
        assert!(outcome.is_ok(), "{name}: {outcome:?}");
    }
}
