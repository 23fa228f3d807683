//! Tolerances, verdicts and the paired test on hand-made numbers.

use experiments::check::{
    Baseline, BaselineKpi, Tolerance, Tolerances, Verdict, check, ci_overlap, junit,
    pattern_matches, within,
};
use experiments::compare::{compare, paired_p_value};
use experiments::kpis::{Better, better};
use experiments::sweep::Replication;
use sim::Summary;

fn summary(mean: f64, half: f64) -> Summary {
    Summary {
        mean,
        std_dev: 0.0,
        ci95_half_width: half,
        min: mean,
        max: mean,
        n: 10,
    }
}

fn base(mean: f64, half: f64) -> BaselineKpi {
    BaselineKpi {
        mean,
        ci95_half_width: half,
        n: 10,
    }
}

#[test]
fn confidence_intervals_overlap_when_the_gap_is_within_both_half_widths() {
    // [95, 105] and [108, 112]: apart by 3.
    assert!(!ci_overlap(100.0, 5.0, 110.0, 2.0));
    // [95, 105] and [103, 117]: share [103, 105].
    assert!(ci_overlap(100.0, 5.0, 110.0, 7.0));
    // Touching ends count: [95, 105] and [105, 115].
    assert!(ci_overlap(100.0, 5.0, 110.0, 5.0));
    // Symmetric, and a point inside an interval overlaps.
    assert_eq!(
        ci_overlap(110.0, 2.0, 100.0, 5.0),
        ci_overlap(100.0, 5.0, 110.0, 2.0)
    );
    assert!(ci_overlap(100.0, 5.0, 103.0, 0.0));
}

#[test]
fn a_kpi_passes_within_any_of_its_allowances() {
    let ci = Tolerance {
        ci_overlap: true,
        ..Default::default()
    };
    let rel = Tolerance {
        relative: Some(0.02),
        ..Default::default()
    };
    let abs = Tolerance {
        absolute: Some(3.0),
        ..Default::default()
    };
    let exact = Tolerance::default();
    let b = base(100.0, 5.0);
    assert!(within(&ci, &b, &summary(108.0, 3.5)));
    assert!(!within(&ci, &b, &summary(108.0, 2.5)));
    assert!(within(&rel, &b, &summary(98.0, 0.0)));
    assert!(!within(&rel, &b, &summary(97.9, 0.0)));
    assert!(within(&abs, &b, &summary(103.0, 0.0)));
    assert!(!within(&abs, &b, &summary(103.5, 0.0)));
    assert!(within(&exact, &b, &summary(100.0, 9.0)));
    assert!(!within(&exact, &b, &summary(100.001, 9.0)));
    // Rounding dust is no change: 1e-17 against 1.5e-17.
    assert!(within(&exact, &base(1e-17, 0.0), &summary(1.5e-17, 0.0)));
    let either = Tolerance {
        absolute: Some(1.0),
        ci_overlap: true,
        ..Default::default()
    };
    assert!(
        within(&either, &b, &summary(106.0, 1.0)),
        "CI overlap suffices"
    );
    assert!(
        within(&either, &base(100.0, 0.0), &summary(101.0, 0.0)),
        "absolute suffices"
    );
    // Relative to a zero baseline only zero passes.
    assert!(!within(&rel, &base(0.0, 0.0), &summary(0.001, 0.0)));
    assert!(within(&rel, &base(0.0, 0.0), &summary(1e-12, 0.0)));
}

#[test]
fn patterns_pick_the_most_specific_tolerance() {
    assert!(pattern_matches("lines.*.oee.oee", "lines.L1.oee.oee"));
    assert!(pattern_matches("*", "anything"));
    assert!(pattern_matches("fleet.*_s", "fleet.lead_time_mean_s"));
    assert!(!pattern_matches("fleet.*_s", "fleet.tasks_completed"));
    assert!(
        pattern_matches("lines.*.oee", "lines.L1.oee.oee"),
        "* spans dots"
    );
    assert!(!pattern_matches("lines.*.oee", "lines.L1.oee.quality"));
    let mut t = Tolerances::default();
    t.kpis.insert(
        "lines.*".into(),
        Tolerance {
            absolute: Some(1.0),
            ..Default::default()
        },
    );
    t.kpis.insert(
        "lines.L1.throughput_per_h".into(),
        Tolerance {
            absolute: Some(50.0),
            ..Default::default()
        },
    );
    assert_eq!(t.for_kpi("lines.L1.throughput_per_h").absolute, Some(50.0));
    assert_eq!(t.for_kpi("lines.L2.throughput_per_h").absolute, Some(1.0));
    assert_eq!(t.for_kpi("fleet.collisions"), Tolerances::default().default);
    t.better.insert("fleet.vehicles".into(), Better::Lower);
    assert_eq!(t.better("fleet.vehicles"), Better::Lower);
}

#[test]
fn which_way_is_better_follows_the_name() {
    assert_eq!(better("lines.L1.throughput_per_h"), Better::Higher);
    assert_eq!(better("lines.L1.oee.oee"), Better::Higher);
    assert_eq!(
        better("lines.L1.stations.filler.state_fractions.working"),
        Better::Higher
    );
    assert_eq!(
        better("lines.L1.stations.filler.state_fractions.starved"),
        Better::Lower
    );
    assert_eq!(better("fleet.lead_time_p95_s"), Better::Lower);
    assert_eq!(better("fleet.collisions"), Better::Lower);
    assert_eq!(
        better("fleet.stock.caps@warehouse.fill_rate"),
        Better::Higher
    );
    assert_eq!(better("measured_s"), Better::Either);
}

fn baseline(kpis: &[(&str, f64, f64)]) -> Baseline {
    Baseline {
        format: "twinline-baseline/1".into(),
        scenario: "line".into(),
        seed: 1,
        reps: 10,
        horizon_s: 3600.0,
        warmup_s: 0.0,
        tolerance: Tolerances::default(),
        kpis: kpis
            .iter()
            .map(|(k, m, h)| (k.to_string(), base(*m, *h)))
            .collect(),
    }
}

#[test]
fn verdicts_take_the_better_direction_into_account() {
    let b = baseline(&[
        ("lines.L1.throughput_per_h", 30_000.0, 100.0),
        ("fleet.lead_time_mean_s", 100.0, 1.0),
        ("measured_s", 3600.0, 0.0),
        ("fleet.collisions", 0.0, 0.0),
        ("lines.L1.wip_mean", 500.0, 10.0),
    ]);
    let now = vec![
        (
            "lines.L1.throughput_per_h".to_string(),
            summary(27_000.0, 100.0),
        ), // −10%: worse
        ("fleet.lead_time_mean_s".to_string(), summary(80.0, 1.0)), // −20%: better
        ("measured_s".to_string(), summary(3600.0, 0.0)),           // same
        ("lines.L1.wip_mean".to_string(), summary(504.0, 10.0)),    // within CI
        ("fleet.tasks_completed".to_string(), summary(10.0, 0.0)),  // new
    ];
    let r = check("line", &b, &now);
    let verdict = |k: &str| r.kpis.iter().find(|c| c.kpi == k).unwrap().verdict;
    assert_eq!(verdict("lines.L1.throughput_per_h"), Verdict::Regressed);
    assert_eq!(verdict("fleet.lead_time_mean_s"), Verdict::Improved);
    assert_eq!(verdict("measured_s"), Verdict::Same);
    assert_eq!(verdict("lines.L1.wip_mean"), Verdict::Same);
    assert_eq!(verdict("fleet.tasks_completed"), Verdict::New);
    assert_eq!(verdict("fleet.collisions"), Verdict::Missing);
    assert!(r.failed());
    assert_eq!(
        (r.count(Verdict::Regressed), r.count(Verdict::Missing)),
        (1, 1)
    );
    // Either way is a regression where neither is better.
    let b = baseline(&[("measured_s", 3600.0, 0.0)]);
    let r = check(
        "line",
        &b,
        &[("measured_s".to_string(), summary(4000.0, 0.0))],
    );
    assert_eq!(r.kpis[0].verdict, Verdict::Regressed);
    // Improvements alone pass.
    let b = baseline(&[("fleet.lead_time_mean_s", 100.0, 1.0)]);
    let r = check(
        "line",
        &b,
        &[("fleet.lead_time_mean_s".to_string(), summary(50.0, 1.0))],
    );
    assert!(!r.failed());

    let xml = junit(
        &[check(
            "line",
            &baseline(&[("a.x", 1.0, 0.0), ("a.y", 2.0, 0.0)]),
            &[
                ("a.x".to_string(), summary(1.0, 0.0)),
                ("a.y".to_string(), summary(3.0, 0.0)),
            ],
        )],
        &[0.5],
    );
    assert!(
        xml.contains("<testsuites name=\"twinline check\" tests=\"2\" failures=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase classname=\"line\" name=\"a.x\"/>"),
        "{xml}"
    );
    assert!(
        xml.contains(
            "<testcase classname=\"line\" name=\"a.y\"><failure message=\"a.y moved from 2 to 3"
        ),
        "{xml}"
    );
}

#[test]
fn baselines_round_trip_through_their_file() {
    let mut b = baseline(&[]);
    b.tolerance.kpis.insert(
        "lines.*.oee.oee".into(),
        Tolerance {
            absolute: Some(0.005),
            ..Default::default()
        },
    );
    let kpis = vec![
        (
            "lines.L1.throughput_per_h".to_string(),
            summary(26_945.812_345_678_9, 447.4),
        ),
        (
            "fleet.stock.caps@warehouse.fill_rate".to_string(),
            summary(1.0, 0.0),
        ),
        ("tiny".to_string(), summary(4.2e-14, 1e-300)),
    ];
    let text = b.to_toml(&kpis);
    let back = Baseline::parse("b.toml", &text).unwrap();
    assert_eq!(back.tolerance, b.tolerance);
    assert_eq!(back.kpis.len(), 3);
    assert_eq!(
        back.kpis["lines.L1.throughput_per_h"].mean,
        26_945.812_345_678_9
    );
    assert_eq!(back.kpis["tiny"].ci95_half_width, 1e-300);
    let e = Baseline::parse("b.toml", &text.replace("reps = 10", "reps = 0"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("b.toml: reps must be at least 1"), "{e}");
    let e = Baseline::parse("b.toml", &text.replace("absolute", "absolut"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("b.toml: not a baseline") && e.contains("absolut"),
        "{e}"
    );
}

fn reps(values: &[f64]) -> Vec<Replication> {
    values
        .iter()
        .enumerate()
        .map(|(rep, x)| Replication {
            variant: 0,
            rep,
            seed: rep as u64,
            events: 0,
            kpis: vec![("lines.L1.throughput_per_h".into(), *x)],
            stalled: None,
        })
        .collect()
}

#[test]
fn the_paired_test_matches_a_hand_worked_t_test() {
    // Differences 1, 2, 3, 4, 5: mean 3, sd √2.5, t = 3 / (√2.5/√5) = 4.2426 on 4 degrees
    // of freedom, two-sided p = 0.013236 (tables).
    let a = reps(&[10.0, 20.0, 30.0, 40.0, 50.0]);
    let b = reps(&[11.0, 22.0, 33.0, 44.0, 55.0]);
    let c = compare(&a, &b, 0.05);
    let d = &c.differences[0];
    assert_eq!(c.pairs, 5);
    assert!((d.difference.mean - 3.0).abs() < 1e-12);
    assert!(
        (d.p_value.unwrap() - 0.013236).abs() < 2e-5,
        "{:?}",
        d.p_value
    );
    assert!(d.significant);
    // 95% CI of the mean difference: 3 ± 2.776445 × √2.5/√5.
    assert!((d.difference.ci95_half_width - 2.776445 * (2.5f64).sqrt() / 5f64.sqrt()).abs() < 1e-5);
    // At 1% it is not significant.
    assert!(!compare(&a, &b, 0.01).differences[0].significant);
    // The unpaired means differ by little against their spread; pairing is what finds it.
    assert!(d.difference.ci95_half_width < d.a.ci95_half_width);
    // No noise: identical runs are not different; a constant shift is.
    assert_eq!(paired_p_value(&Summary::of(&[0.0, 0.0, 0.0])), Some(1.0));
    assert_eq!(paired_p_value(&Summary::of(&[2.0, 2.0, 2.0])), Some(0.0));
    assert_eq!(paired_p_value(&Summary::of(&[2.0])), None);
}
