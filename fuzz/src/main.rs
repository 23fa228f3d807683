//! `twinline-fuzz [TARGET...] [--seconds N] [--seed S] [--findings DIR]`: mutates the
//! corpus of each target (all five by default) for N seconds in all (default 60), split
//! evenly, from seed S (default 1). Run from the repository root; `scripts/fuzz.sh` runs
//! it under a memory limit. Every finding is written to DIR (default `target/fuzz-findings`)
//! as the input that caused it and a note of what went wrong; the exit status is 1 when
//! there are findings, 2 on bad arguments.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use twinline_fuzz::{Target, campaign, check};

/// The corpus folders of a target: the bundled inputs it takes, and its own.
fn corpus_dirs(target: Target) -> Vec<&'static str> {
    match target {
        Target::Scenario => vec![
            "scenarios",
            "scenarios/textbook",
            "scenarios/stress",
            "fuzz/corpus/scenario",
        ],
        Target::Ndjson => vec!["scenarios/feeds", "fuzz/corpus/ndjson"],
        Target::Csv => vec!["fuzz/corpus/csv"],
        Target::Set => vec!["fuzz/corpus/set"],
        // Snapshots are taken when the harness starts (their format follows the code), with
        // the damaged ones that found bugs.
        Target::Snapshot => vec!["fuzz/corpus/snapshot"],
    }
}

/// Every file of the target's corpus, in name order.
pub fn corpus(target: Target) -> Vec<(PathBuf, Vec<u8>)> {
    let wanted = |p: &Path| {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        match target {
            Target::Scenario => ext == "toml",
            Target::Ndjson => ext == "ndjson",
            Target::Csv => ext == "csv",
            Target::Set => ext == "txt",
            Target::Snapshot => ext == "snap",
        }
    };
    let mut files = Vec::new();
    if target == Target::Snapshot {
        for (k, bytes) in twinline_fuzz::snapshot_corpus().into_iter().enumerate() {
            files.push((
                PathBuf::from(format!("(snapshot of corpus scenario {k})")),
                bytes,
            ));
        }
    }
    for dir in corpus_dirs(target) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && wanted(p))
            .collect();
        paths.sort();
        for p in paths {
            if let Ok(bytes) = std::fs::read(&p) {
                files.push((p, bytes));
            }
        }
    }
    files
}

/// Reads a file a scenario names, relative to the bundled scenarios.
fn scenario_file(name: &str) -> Result<String, String> {
    std::fs::read_to_string(Path::new("scenarios").join(name)).map_err(|e| e.to_string())
}

struct Args {
    targets: Vec<Target>,
    seconds: f64,
    seed: u64,
    findings: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        targets: Vec::new(),
        seconds: 60.0,
        seed: 1,
        findings: PathBuf::from("target/fuzz-findings"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--seconds" => {
                args.seconds = value("--seconds")?
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or("--seconds takes a number of seconds above 0")?;
            }
            "--seed" => {
                args.seed = value("--seed")?
                    .parse()
                    .map_err(|_| "--seed takes a whole number")?;
            }
            "--findings" => args.findings = PathBuf::from(value("--findings")?),
            name => args.targets.push(Target::named(name).ok_or(format!(
                "unknown target `{name}`: the targets are scenario, ndjson, csv, set and snapshot"
            ))?),
        }
    }
    if args.targets.is_empty() {
        args.targets = Target::ALL.iter().map(|&(_, t)| t).collect();
    }
    Ok(args)
}

#[allow(
    clippy::disallowed_methods,
    reason = "the binary bounds a campaign by wall time; the inputs it tries do not depend on it"
)]
fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("twinline-fuzz: {e}");
            return ExitCode::from(2);
        }
    };
    // Panics are caught and reported as findings; their default message would repeat them.
    std::panic::set_hook(Box::new(|_| {}));
    let share = Duration::from_secs_f64(args.seconds / args.targets.len() as f64);
    let mut found = 0;
    for target in args.targets {
        let files = corpus(target);
        // The corpus itself first: each file as it is.
        for (path, bytes) in &files {
            if let Err(what) = check(target, bytes, &scenario_file) {
                eprintln!("{}: corpus file {}: {what}", target.name(), path.display());
                found += 1;
            }
        }
        let corpus: Vec<Vec<u8>> = files.into_iter().map(|(_, b)| b).collect();
        let until = Instant::now() + share;
        let report = campaign(target, &corpus, args.seed, &scenario_file, || {
            Instant::now() < until
        });
        println!(
            "{}: {} corpus files, {} cases ({} accepted, {} run), {} findings",
            target.name(),
            corpus.len(),
            report.cases,
            report.accepted,
            report.runs,
            report.findings.len()
        );
        for (k, f) in report.findings.iter().enumerate() {
            found += 1;
            let stem = args
                .findings
                .join(format!("{}-{}-{k}", target.name(), args.seed));
            let saved = std::fs::create_dir_all(&args.findings)
                .and_then(|()| std::fs::write(stem.with_extension("input"), &f.input))
                .and_then(|()| std::fs::write(stem.with_extension("txt"), &f.what));
            match saved {
                Ok(()) => eprintln!(
                    "{}: {} (input in {})",
                    target.name(),
                    f.what,
                    stem.display()
                ),
                Err(e) => eprintln!("{}: {} (not saved: {e})", target.name(), f.what),
            }
        }
    }
    if found > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
