//! Sweeps run every variant with the same seeds, on any number of threads, in shards that
//! join back into the whole.

use experiments::overrides::parse_set;
use experiments::results::{SweepHeader, SweepResults, merge};
use experiments::sweep::{self, Controls, Prepared, Shard};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const LINE: &str = r#"
name = "failing line"
[run]
horizon = "4h"
seed = 3
[[lines]]
name = "L1"
[[lines.stations]]
name = "filler"
kind = "filler"
speed = "36000/h"
failures = [{ tbf = "exp(30min)", ttr = "exp(4min)" }]
[[lines.stations]]
name = "capper"
kind = "capper"
speed = "36000/h"
failures = [{ tbf = "exp(40min)", ttr = "exp(5min)" }]
[[lines.buffers]]
name = "B1"
from = "filler"
to = "capper"
capacity = 1000
"#;

fn no_files(name: &str) -> Result<String, String> {
    Err(format!("{name}: no files here"))
}

fn prepared(sets: &[&str]) -> (Vec<String>, Vec<Prepared>) {
    let params: Vec<_> = sets.iter().map(|s| parse_set(s).unwrap()).collect();
    let variants = sweep::grid(&params).unwrap();
    let p = sweep::prepare("line.toml", LINE, &variants, Default::default(), &no_files).unwrap();
    (params.into_iter().map(|p| p.path).collect(), p)
}

fn run(
    p: &[Prepared],
    reps: usize,
    shard: Option<Shard>,
    threads: usize,
) -> Vec<sweep::Replication> {
    let stop = AtomicBool::new(false);
    sweep::run(
        p,
        reps,
        11,
        shard,
        &Controls {
            threads,
            on_done: &|| {},
            stop: &stop,
        },
    )
}

fn kpi(r: &sweep::Replication, name: &str) -> f64 {
    r.kpis.iter().find(|(k, _)| k == name).unwrap().1
}

#[test]
fn variants_share_their_random_numbers() {
    // The same capacity twice: with common random numbers the two variants are the same
    // runs, replication by replication.
    let (_, p) = prepared(&["lines.L1.buffers.B1.capacity=1000,1000,0"]);
    let runs = run(&p, 6, None, 2);
    assert_eq!(runs.len(), 18);
    for rep in 0..6 {
        let a = &runs[rep];
        let b = &runs[6 + rep];
        let c = &runs[12 + rep];
        assert_eq!((a.variant, b.variant, a.rep, b.rep), (0, 1, rep, rep));
        assert_eq!(a.seed, b.seed);
        assert_eq!(a.kpis, b.kpis);
        assert!(kpi(c, "lines.L1.units_out") < kpi(a, "lines.L1.units_out"));
    }
    // With common random numbers the paired differences vary far less than the runs do:
    // the noise cancels and the buffer's effect remains.
    let out = |v: usize| -> Vec<f64> {
        (0..6)
            .map(|r| kpi(&runs[v * 6 + r], "lines.L1.units_out"))
            .collect()
    };
    let var = |xs: &[f64]| {
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64
    };
    let (with, without) = (out(0), out(2));
    let diffs: Vec<f64> = with.iter().zip(&without).map(|(a, c)| a - c).collect();
    assert!(
        var(&diffs) < 0.5 * (var(&with) + var(&without)),
        "paired {} vs unpaired {}",
        var(&diffs),
        var(&with) + var(&without)
    );
    // Different replications do differ.
    assert_ne!(runs[0].kpis, runs[1].kpis);
}

#[test]
fn results_do_not_depend_on_threads() {
    let (_, p) = prepared(&["lines.L1.buffers.B1.capacity=0,500"]);
    assert_eq!(run(&p, 5, None, 1), run(&p, 5, None, 3));
}

#[test]
fn shards_merge_into_the_whole() {
    let (params, p) = prepared(&["lines.L1.buffers.B1.capacity=0,500,2000"]);
    let header = SweepHeader::new("line", &params, &p, 4, 11);
    let whole = SweepResults::new(header.clone(), None, &run(&p, 4, None, 2));
    assert_eq!(whole.missing, 0);
    let parts: Vec<(String, SweepResults)> = (0..5)
        .map(|i| {
            let shard = Shard { index: i, count: 5 };
            let r = SweepResults::new(header.clone(), Some(shard), &run(&p, 4, Some(shard), 1));
            // Through the file format, as `twinline merge` reads them.
            let back = SweepResults::from_json("part", &r.to_json()).unwrap();
            assert_eq!(back, r);
            (format!("shard {i}"), back)
        })
        .collect();
    assert!(parts.iter().all(|(_, r)| r.missing > 0));
    let merged = merge(&parts).unwrap();
    assert_eq!(merged.to_json(), whole.to_json());
    // Any order, and a shard given twice, change nothing.
    let mut shuffled: Vec<_> = parts.iter().rev().cloned().collect();
    shuffled.push(parts[2].clone());
    assert_eq!(merge(&shuffled).unwrap(), whole);
    // Leaving a shard out leaves its runs missing.
    assert_eq!(
        merge(&parts[1..]).unwrap().missing,
        parts[0].1.replications.len()
    );
    // Shards of another sweep do not merge.
    let other = SweepHeader::new("line", &params, &p, 4, 12);
    let stranger = SweepResults::new(other, None, &[]);
    let e = merge(&[parts[0].clone(), ("other".into(), stranger)]).unwrap_err();
    assert!(
        e.to_string().contains("not a shard of the same sweep"),
        "{e}"
    );
}

#[test]
fn summaries_are_the_replications_statistics() {
    let (params, p) = prepared(&["lines.L1.buffers.B1.capacity=0,500"]);
    let runs = run(&p, 5, None, 2);
    let r = SweepResults::new(SweepHeader::new("line", &params, &p, 5, 11), None, &runs);
    let xs: Vec<f64> = r
        .values(1, "lines.L1.units_out")
        .into_iter()
        .map(|(_, x)| x)
        .collect();
    assert_eq!(xs.len(), 5);
    let mean = xs.iter().sum::<f64>() / 5.0;
    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0).sqrt();
    let s = r.summary(1, "lines.L1.units_out").unwrap();
    assert!((s.mean - mean).abs() < 1e-9 * mean);
    assert!((s.std_dev - sd).abs() < 1e-9 * sd.max(1.0));
    // t(0.975, 4) = 2.776445
    assert!((s.ci95_half_width - 2.776445 * sd / 5f64.sqrt()).abs() < 1e-5 * sd.max(1.0));
    let csv = r.summary_csv();
    assert!(csv.starts_with("variant,label,lines.L1.buffers.B1.capacity,kpi,mean,std_dev,"));
    assert!(csv.contains("\n1,capacity=500,500,lines.L1.units_out,"));
    let reps = r.replications_csv();
    assert_eq!(
        reps.lines()
            .filter(|l| l.contains(",lines.L1.units_out,"))
            .count(),
        10
    );
}

#[test]
fn a_stop_keeps_what_finished() {
    let (_, p) = prepared(&["lines.L1.buffers.B1.capacity=0,500"]);
    let stop = AtomicBool::new(false);
    let done = AtomicUsize::new(0);
    let on_done = || {
        if done.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
            stop.store(true, Ordering::SeqCst);
        }
    };
    let runs = sweep::run(
        &p,
        10,
        11,
        None,
        &Controls {
            threads: 1,
            on_done: &on_done,
            stop: &stop,
        },
    );
    assert_eq!(runs.len(), 3);
    assert_eq!(
        runs.iter().map(|r| (r.variant, r.rep)).collect::<Vec<_>>(),
        vec![(0, 0), (0, 1), (0, 2)]
    );
}

#[test]
fn a_variant_that_does_not_load_is_named() {
    let params = vec![parse_set("lines.L1.buffers.B1.capacity=10,-5").unwrap()];
    let e = sweep::prepare(
        "line.toml",
        LINE,
        &sweep::grid(&params).unwrap(),
        Default::default(),
        &no_files,
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("variant capacity=-5:") && text.contains("line.toml [capacity=-5]"),
        "{text}"
    );
}

/// A sweep reaches the stations of a line made from a template, and a capacity set where
/// the template gave an accumulation time replaces it.
#[test]
fn a_sweep_reaches_into_templated_lines() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/plant-10-lines.toml"
    ))
    .unwrap();
    let params = vec![
        parse_set("lines.L03.stations.filler.speed=25000/h").unwrap(),
        parse_set("lines.L03.buffers.rinse-fille.capacity=300,400").unwrap(),
    ];
    let p = sweep::prepare(
        "plant-10-lines.toml",
        &text,
        &sweep::grid(&params).unwrap(),
        Default::default(),
        &no_files,
    )
    .unwrap();
    assert_eq!(p.len(), 2);
    for (v, cap) in p.iter().zip([300, 400]) {
        let l3 = &v.scenario.lines[2];
        assert_eq!(l3.name, "L03");
        assert!(matches!(
            l3.stations[2].process,
            twin_models::scenario::line::Process::Rate(25_000_000)
        ));
        assert_eq!(l3.buffers[1].capacity, Some(cap));
        // The other lines keep the template's values: 120 s at 36,000/h.
        assert_eq!(v.scenario.lines[0].buffers[1].capacity, Some(1200));
    }
}
