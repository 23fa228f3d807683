//! Two scenarios side by side: each KPI's difference over paired replications.
//!
//! Both scenarios run with the same seeds, so replication r of A and of B share their
//! random numbers and the difference B − A of each pair carries little noise. The paired
//! t-test on those differences says whether a difference is real at the chosen level; the
//! 95% interval of the mean difference says how large it is.

use crate::kpis::{Better, better};
use crate::sweep::Replication;
use serde::Serialize;
use sim::{Summary, student_t_cdf};
use std::collections::{BTreeMap, BTreeSet};

/// One KPI in both scenarios.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    /// KPI name.
    pub kpi: String,
    /// Over A's replications.
    pub a: Summary,
    /// Over B's replications.
    pub b: Summary,
    /// Over the paired differences B − A.
    pub difference: Summary,
    /// Two-sided p-value of the paired t-test (`null` with fewer than two pairs).
    pub p_value: Option<f64>,
    /// Whether the difference is significant at the comparison's level.
    pub significant: bool,
    /// Which way is better for this KPI.
    pub better: Better,
}

/// The comparison of two scenarios.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// Significance level of the tests (0.05: 5%).
    pub alpha: f64,
    /// Replication pairs.
    pub pairs: usize,
    /// KPIs both have, in A's order.
    pub differences: Vec<Difference>,
    /// KPIs only A has.
    pub only_a: Vec<String>,
    /// KPIs only B has.
    pub only_b: Vec<String>,
}

impl Comparison {
    /// The significant differences.
    pub fn significant(&self) -> impl Iterator<Item = &Difference> {
        self.differences.iter().filter(|d| d.significant)
    }
}

/// Two-sided p-value of the paired t-test on differences summarised by `d`.
pub fn paired_p_value(d: &Summary) -> Option<f64> {
    if d.n < 2 {
        return None;
    }
    if d.std_dev == 0.0 {
        // Every pair differs by the same amount: no noise at all.
        return Some(if d.mean == 0.0 { 1.0 } else { 0.0 });
    }
    let t = d.mean / (d.std_dev / (d.n as f64).sqrt());
    Some((2.0 * (1.0 - student_t_cdf(t.abs(), (d.n - 1) as f64))).clamp(0.0, 1.0))
}

/// Compares B's replications with A's, pairing them by replication number; `alpha` is
/// the significance level.
pub fn compare(a: &[Replication], b: &[Replication], alpha: f64) -> Comparison {
    let by_rep = |runs: &[Replication]| -> BTreeMap<usize, BTreeMap<String, f64>> {
        runs.iter()
            .map(|r| (r.rep, r.kpis.iter().cloned().collect()))
            .collect()
    };
    let (ma, mb) = (by_rep(a), by_rep(b));
    let mut reps: Vec<usize> = ma.keys().filter(|r| mb.contains_key(r)).copied().collect();
    reps.sort_unstable();
    let names = |runs: &[Replication]| -> Vec<String> {
        let mut seen = BTreeSet::new();
        runs.iter()
            .flat_map(|r| r.kpis.iter().map(|(k, _)| k.clone()))
            .filter(|k| seen.insert(k.clone()))
            .collect()
    };
    let (na, nb) = (names(a), names(b));
    let in_b: BTreeSet<&String> = nb.iter().collect();
    let in_a: BTreeSet<&String> = na.iter().collect();
    let mut differences = Vec::new();
    for kpi in na.iter().filter(|k| in_b.contains(k)) {
        let mut xa = Vec::new();
        let mut xb = Vec::new();
        for r in &reps {
            if let (Some(x), Some(y)) = (ma[r].get(kpi), mb[r].get(kpi)) {
                xa.push(*x);
                xb.push(*y);
            }
        }
        if xa.is_empty() {
            continue;
        }
        let diffs: Vec<f64> = xa.iter().zip(&xb).map(|(x, y)| y - x).collect();
        let difference = Summary::of(&diffs);
        let p_value = paired_p_value(&difference);
        differences.push(Difference {
            kpi: kpi.clone(),
            a: Summary::of(&xa),
            b: Summary::of(&xb),
            difference,
            p_value,
            significant: p_value.is_some_and(|p| p < alpha),
            better: better(kpi),
        });
    }
    Comparison {
        alpha,
        pairs: reps.len(),
        differences,
        only_a: na.iter().filter(|k| !in_b.contains(k)).cloned().collect(),
        only_b: nb.iter().filter(|k| !in_a.contains(k)).cloned().collect(),
    }
}
