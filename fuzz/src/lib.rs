//! # twinline-fuzz — fuzzing harnesses that run on stable Rust
//!
//! Each [`Target`] takes bytes, feeds them to one entry point of twinline, and checks that
//! it answers (a value or an error, never a panic) and that the answer keeps its
//! invariants:
//! - [`Target::Scenario`]: a scenario file is loaded; one that loads and whose run is
//!   estimated at most [`RUN_WORK`] units of work is run, and every line conserves
//!   units (`units_in = units_out + rejects + wip_end − wip_start`, in base units on a line
//!   that packs) with state fractions summing to 1;
//! - [`Target::Ndjson`] and [`Target::Csv`]: a feed file is decoded, parsed and ingested,
//!   and every line is accounted for (lines in = applied + duplicates + quarantined); the
//!   parallel NDJSON reader agrees with the serial one;
//! - [`Target::Set`]: each line is a `--set PATH=VALUES` argument, applied to the bundled
//!   bottling line as a sweep would (grids of at most [`SET_VARIANTS`] variants);
//! - [`Target::Snapshot`]: a snapshot file is read; one that reads is resumed and run to
//!   its horizon (if small) with the scenario target's checks. A damaged file is refused by
//!   its checksum, so each input is also read *re-sealed* (its length and checksum made to
//!   fit), which puts the damage in front of the decoder: that must refuse it or read it,
//!   never panic or allocate without bound. The corpus is snapshots of
//!   [`snapshot_corpus`]'s scenarios, taken when the harness starts.
//!
//! A [`campaign`] mutates a corpus (byte flips, tokens that broke things before, deleted,
//! repeated and swapped lines, extreme numbers) from a seed, for as long as the caller's
//! `keep_going` says: the library reads no clock. The `twinline-fuzz` binary runs
//! campaigns for a time, under a memory limit, and keeps what it finds;
//! `fuzz/tests/corpus.rs` runs every corpus file through its target in the ordinary tests.
//!
//! ```
//! use twinline_fuzz::{Target, campaign};
//!
//! let corpus = vec![br#"{"event_id":"a","ts":"2026-11-23T06:00:00Z","site":"P","material":"m","location":"W","kind":"receipt","qty":1,"unit":"pcs"}"#.to_vec()];
//! let mut runs = 0;
//! let report = campaign(Target::Ndjson, &corpus, 7, &no_files, || {
//!     runs += 1;
//!     runs <= 200
//! });
//! assert_eq!(report.cases, 200);
//! assert!(report.findings.is_empty(), "{:?}", report.findings);
//! # fn no_files(_: &str) -> Result<String, String> { Err("none".into()) }
//! ```

use feeds::{Ingestion, Parsed, Rejection, decode, parse_csv, parse_ndjson, parse_ndjson_parallel};
use rand::{Rng, RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::panic::{AssertUnwindSafe, catch_unwind};
use twin_models::{RunOutput, RunSpec, Twin, estimate, load_scenario_with_files, simulate};

/// Work units (see `twin_models::estimate`) up to which a fuzzed scenario is run.
pub const RUN_WORK: f64 = 1_000_000.0;

/// Variants of a fuzzed `--set` grid up to which it is applied (each is a scenario load).
pub const SET_VARIANTS: usize = 64;

/// The bundled bottling line, the base of the `--set` target.
pub const SET_BASE: &str = include_str!("../../scenarios/bottling-line-serial.toml");

/// What is fuzzed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Scenario,
    Ndjson,
    Csv,
    Set,
    Snapshot,
}

impl Target {
    /// Every target, with its name on the command line and its corpus folder.
    pub const ALL: [(&'static str, Target); 5] = [
        ("scenario", Target::Scenario),
        ("ndjson", Target::Ndjson),
        ("csv", Target::Csv),
        ("set", Target::Set),
        ("snapshot", Target::Snapshot),
    ];

    /// The target named `name`.
    pub fn named(name: &str) -> Option<Target> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|&(_, t)| t)
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("?", |(n, _)| n)
    }

    /// Text that broke something once, or could: inserted by the mutator.
    fn tokens(self) -> &'static [&'static str] {
        match self {
            Target::Scenario | Target::Set => &[
                "\"1/h\"",
                "\"0s\"",
                "\"exp(1ms)\"",
                "\"0.0000001s\"",
                "\"1000000000d\"",
                "1e308",
                "-1",
                "0",
                "4294967296",
                "18446744073709551616",
                "nan",
                "inf",
                "\"\"",
                "[",
                "]",
                "{",
                "}",
                "=",
                "\n[[lines]]\nname = \"X\"\n",
                "\n[[lines.stations]]\nname = \"s\"\nkind = \"filler\"\nspeed = \"1/h\"\n",
                "failures = [{ tbf = \"exp(1ms)\", ttr = \"0s\" }]",
                "area = [0, 0, 4000000000, 4000000000]",
                "count = 5000",
                "every = \"1ms\"",
                "divide = \"shares\"",
                "combine = \"alternate\"",
                "to = [\"filler\", \"s\"]",
                "from = [\"lab-1\", \"lab-3\"]",
                "..",
                ",",
            ],
            Target::Snapshot => &[
                "TWINSNAP",
                "\u{0}",
                "\u{1}\u{0}\u{0}\u{0}",
                "\u{7f}\u{7f}\u{7f}\u{7f}",
                "\u{ff}\u{ff}\u{ff}\u{ff}\u{ff}\u{ff}\u{ff}\u{ff}\u{ff}\u{1}",
            ],
            Target::Ndjson | Target::Csv => &[
                "\u{feff}",
                "\"",
                ",",
                "\n",
                "\r\n",
                "{",
                "}",
                "1e400",
                "-0",
                "\"qty\":-1",
                "\\u0000",
                "2026-11-23*07:00:00Z",
                "2026-11-23T25:00:00Z",
                "9999-12-31T23:59:59Z",
                "\"kind\":\"cycle_count\"",
                "\"kind\":\"shipment\"",
                "null",
            ],
        }
    }
}

/// An input that made a target panic or break an invariant.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub target: Target,
    /// What went wrong: the panic's message, or the invariant broken.
    pub what: String,
    pub input: Vec<u8>,
}

/// What a campaign did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Inputs tried.
    pub cases: u64,
    /// Of those, inputs the target accepted (a scenario that loaded, a line that was an
    /// event, a `--set` that applied).
    pub accepted: u64,
    /// Of the scenarios, those run.
    pub runs: u64,
    pub findings: Vec<Finding>,
}

/// Runs `input` through `target`; `files` reads the files a scenario names. `Ok(true)`:
/// the input was accepted; `Err`: a broken invariant or a panic.
pub fn check(
    target: Target,
    input: &[u8],
    files: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Outcome, String> {
    let result = catch_unwind(AssertUnwindSafe(|| match target {
        Target::Scenario => scenario(input, files),
        Target::Ndjson => ndjson(input),
        Target::Csv => csv(input),
        Target::Set => set(input),
        Target::Snapshot => snapshot(input),
    }));
    match result {
        Ok(r) => r,
        Err(panic) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)")
        )),
    }
}

/// What a target made of an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Refused, with an error.
    Refused,
    /// Accepted.
    Accepted,
    /// A scenario accepted and run.
    Ran,
}

fn scenario(
    input: &[u8],
    files: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Outcome, String> {
    let Ok(text) = std::str::from_utf8(input) else {
        return Ok(Outcome::Refused);
    };
    let Ok(s) = load_scenario_with_files("fuzz.toml", text, files) else {
        return Ok(Outcome::Refused);
    };
    let spec = RunSpec::of(&s);
    let work = estimate(&s, spec);
    if work.work > RUN_WORK {
        return Ok(Outcome::Accepted);
    }
    conserves(&simulate(&s, spec))?;
    Ok(Outcome::Ran)
}

/// Checks a run's invariants: every line conserves units (in its base unit), and each
/// station's state fractions sum to 1.
fn conserves(out: &RunOutput) -> Result<(), String> {
    for line in &out.kpis.lines {
        // In the line's base unit: a line that packs gives its output in it too.
        let out = line.units_out_equivalent.unwrap_or(line.units_out);
        let balance = out + line.rejects + line.wip_end - line.wip_start;
        if line.units_in != balance {
            return Err(format!(
                "line {}: units_in {} ≠ out + rejects + wip_end − wip_start = {balance}",
                line.name, line.units_in
            ));
        }
        for st in &line.stations {
            let f = &st.state_fractions;
            let sum = f.working
                + f.starved
                + f.blocked
                + f.down
                + f.setup
                + f.micro_stop
                + f.planned_stop;
            if sum != 0.0 && (sum - 1.0).abs() > 1e-9 {
                return Err(format!(
                    "line {} station {}: state fractions sum to {sum}",
                    line.name, st.name
                ));
            }
        }
    }
    Ok(())
}

/// Scenarios whose snapshots, taken halfway through 20 minutes, are the snapshot target's
/// corpus: a series line, a branching line, a discrete queue and a fleet.
pub const SNAPSHOT_SCENARIOS: [&str; 4] = [
    include_str!("../../scenarios/bottling-line-serial.toml"),
    include_str!("../../scenarios/textbook/dividers.toml"),
    include_str!("../../scenarios/textbook/mm1k.toml"),
    include_str!("../../scenarios/textbook/agv-loop.toml"),
];

/// Snapshots of [`SNAPSHOT_SCENARIOS`], each run for 20 minutes and saved halfway.
pub fn snapshot_corpus() -> Vec<Vec<u8>> {
    let none = |name: &str| Err(format!("no file `{name}` here"));
    SNAPSHOT_SCENARIOS
        .iter()
        .map(|text| {
            let s = load_scenario_with_files("corpus.toml", text, &none)
                .expect("the bundled scenarios load");
            let spec = RunSpec {
                horizon: CORPUS_RUN,
                warmup: sim::SimDuration::ZERO,
                ..RunSpec::of(&s)
            };
            let mut twin = Twin::new(&s, spec);
            twin.handle_events_to(sim::SimTime(CORPUS_RUN.0 / 2));
            twin.save()
        })
        .collect()
}

/// How long the runs of the snapshot corpus are.
const CORPUS_RUN: sim::SimDuration = sim::SimDuration(20 * 60 * 1_000_000_000);

/// Length of a snapshot's prefix (magic, version, body length) and of its checksum.
const SNAPSHOT_PREFIX: usize = 20;
const SNAPSHOT_CHECKSUM: usize = 32;

fn snapshot(input: &[u8]) -> Result<Outcome, String> {
    // Re-sealed: the damage reaches the decoder, which must answer, not panic.
    if input.len() >= SNAPSHOT_PREFIX + SNAPSHOT_CHECKSUM {
        let body = input.len() - SNAPSHOT_PREFIX - SNAPSHOT_CHECKSUM;
        let mut sealed = input[..input.len() - SNAPSHOT_CHECKSUM].to_vec();
        sealed[12..SNAPSHOT_PREFIX].copy_from_slice(&(body as u64).to_le_bytes());
        let sum = blake3::hash(&sealed);
        sealed.extend_from_slice(sum.as_bytes());
        let _ = twin_models::plant::save::read(&sealed);
    }
    let Ok(snap) = twin_models::plant::save::read(input) else {
        return Ok(Outcome::Refused);
    };
    let spec = snap.run.spec();
    if estimate(&snap.scenario, spec).work > RUN_WORK {
        return Ok(Outcome::Accepted);
    }
    let mut twin = Twin::resume(&snap.scenario, snap.run)
        .map_err(|e| format!("a snapshot that reads is refused on resuming: {e}"))?;
    twin.advance_to(twin.horizon());
    conserves(&twin.finish())?;
    Ok(Outcome::Ran)
}

/// Lines of `text` a feed reader counts (not blank).
fn lines_in(text: &str) -> u64 {
    text.lines().filter(|l| !l.trim().is_empty()).count() as u64
}

/// Ingests `lines` (parse results, and `not_text` lines refused as not UTF-8) and checks
/// lines in = applied + duplicates + quarantined, `lines_in` being the lines read.
fn accounted(
    not_text: Vec<Rejection>,
    lines: Vec<Result<Parsed, Rejection>>,
    lines_in: u64,
) -> Result<Outcome, String> {
    let mut ingestion = Ingestion::new(0.0);
    for line in not_text.into_iter().map(Err).chain(lines) {
        // A refused line is counted; the rejection itself is not needed here.
        let _ = ingestion.offer_line(line, 0);
    }
    let applied = ingestion.flush().len() as u64;
    let c = ingestion.counters();
    if c.applied != applied || c.applied + c.duplicates + c.quarantined != lines_in {
        return Err(format!(
            "{lines_in} lines in, but applied {} + duplicates {} + quarantined {}",
            c.applied, c.duplicates, c.quarantined
        ));
    }
    Ok(if c.applied > 0 {
        Outcome::Accepted
    } else {
        Outcome::Refused
    })
}

fn ndjson(input: &[u8]) -> Result<Outcome, String> {
    let (text, not_text) = decode(input);
    let serial: Vec<_> = parse_ndjson(&text).collect();
    let mut parallel = Vec::new();
    parse_ndjson_parallel(&text, |r| parallel.push(r));
    if serial != parallel {
        return Err("the parallel NDJSON reader disagrees with the serial one".into());
    }
    let lines = lines_in(&text) + not_text.len() as u64;
    accounted(not_text, serial, lines)
}

fn csv(input: &[u8]) -> Result<Outcome, String> {
    let (text, not_text) = decode(input);
    let rows = parse_csv(&text);
    let lines = lines_in(&text);
    // One result per data row, or one for a header that cannot be read.
    let expected = match rows.first() {
        Some(Err(r)) if rows.len() == 1 && r.reason.starts_with("header row") => 1,
        _ => lines.saturating_sub(1),
    };
    if rows.len() as u64 != expected {
        return Err(format!(
            "{lines} lines (with the header) gave {} results",
            rows.len()
        ));
    }
    let lines = expected + not_text.len() as u64;
    accounted(not_text, rows, lines)
}

fn set(input: &[u8]) -> Result<Outcome, String> {
    let Ok(text) = std::str::from_utf8(input) else {
        return Ok(Outcome::Refused);
    };
    let mut parameters = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match experiments::overrides::parse_set(line) {
            Ok(p) => parameters.push(p),
            Err(_) => return Ok(Outcome::Refused),
        }
    }
    let Ok(variants) = experiments::sweep::grid(&parameters) else {
        return Ok(Outcome::Refused);
    };
    if variants.len() > SET_VARIANTS {
        return Ok(Outcome::Accepted);
    }
    let none = |name: &str| Err(format!("no file `{name}` here"));
    match experiments::sweep::prepare(
        "bottling-line-serial.toml",
        SET_BASE,
        &variants,
        twin_models::RunOverrides::default(),
        &none,
    ) {
        Ok(_) => Ok(Outcome::Accepted),
        Err(_) => Ok(Outcome::Refused),
    }
}

/// Mutates `input` with one to four changes drawn from `rng`.
pub fn mutate(target: Target, input: &[u8], rng: &mut impl Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        match rng.random_range(0..7) {
            // A byte flipped.
            0 if !out.is_empty() => {
                let k = rng.random_range(0..out.len());
                out[k] ^= 1 << rng.random_range(0..8);
            }
            // A token inserted.
            1 | 2 => {
                let tokens = target.tokens();
                let token = tokens[rng.random_range(0..tokens.len())];
                let k = rng.random_range(0..=out.len());
                out.splice(k..k, token.bytes());
            }
            // A stretch deleted.
            3 if !out.is_empty() => {
                let a = rng.random_range(0..out.len());
                let b = (a + rng.random_range(1..=64)).min(out.len());
                out.drain(a..b);
            }
            // A line repeated, or two swapped.
            4 | 5 => {
                let mut lines: Vec<Vec<u8>> =
                    out.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
                let (a, b) = (
                    rng.random_range(0..lines.len()),
                    rng.random_range(0..lines.len()),
                );
                if rng.random_range(0..2) == 0 {
                    let copy = lines[a].clone();
                    lines.insert(b, copy);
                } else {
                    lines.swap(a, b);
                }
                out = lines.join(&b'\n');
            }
            // A number made extreme.
            _ => {
                let digits: Vec<usize> = (0..out.len())
                    .filter(|&k| out[k].is_ascii_digit())
                    .collect();
                if let Some(&k) = digits.get(rng.random_range(0..digits.len().max(1))) {
                    let big: &[u8] = match rng.random_range(0..3) {
                        0 => b"999999999999",
                        1 => b"0",
                        _ => b"1e-12",
                    };
                    out.splice(k..k + 1, big.iter().copied());
                }
            }
        }
    }
    out
}

/// Tries mutations of `corpus` (each case mutates a corpus entry chosen by the seeded
/// generator) for as long as `keep_going` says yes; the same seed tries the same inputs.
pub fn campaign(
    target: Target,
    corpus: &[Vec<u8>],
    seed: u64,
    files: &dyn Fn(&str) -> Result<String, String>,
    mut keep_going: impl FnMut() -> bool,
) -> Report {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut report = Report::default();
    if corpus.is_empty() {
        return report;
    }
    while keep_going() {
        let base = &corpus[rng.random_range(0..corpus.len())];
        let input = mutate(target, base, &mut rng);
        report.cases += 1;
        match check(target, &input, files) {
            Ok(Outcome::Refused) => {}
            Ok(Outcome::Accepted) => report.accepted += 1,
            Ok(Outcome::Ran) => {
                report.accepted += 1;
                report.runs += 1;
            }
            Err(what) => report.findings.push(Finding {
                target,
                what,
                input,
            }),
        }
    }
    report
}
