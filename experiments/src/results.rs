//! A sweep's results: per replication and summarised per variant, as `results.json`,
//! `results.csv` (one row per variant and KPI) and `replications.csv` (one row per
//! replication and KPI). Shards of a sweep merge back into the whole.

use crate::error::ExperimentError;
use crate::sweep::{Prepared, Replication, Shard, value_text};
use serde::{Deserialize, Serialize};
use sim::Summary;
use std::collections::BTreeMap;

/// Version tag of `results.json`.
pub const RESULTS_FORMAT: &str = "twinline-sweep/1";

/// What was swept and how: everything shards of one sweep share.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepHeader {
    /// Format tag.
    pub format: String,
    /// The base scenario's name.
    pub scenario: String,
    /// The swept paths, in order.
    pub parameters: Vec<String>,
    /// The variants, in job order.
    pub variants: Vec<VariantRecord>,
    /// Replications per variant.
    pub reps: usize,
    /// Base seed; replication r has seed `seeds[r]` in every variant.
    pub seed: u64,
    /// The seed of each replication.
    pub seeds: Vec<u64>,
    /// Simulated time per run, seconds.
    pub horizon_s: f64,
    /// Warm-up per run, seconds.
    pub warmup_s: f64,
}

/// A variant: its label and the value of each swept path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantRecord {
    /// Readable name.
    pub label: String,
    /// Value of each parameter, in parameter order.
    pub values: Vec<toml::Value>,
}

/// One replication's KPIs, aligned with [`SweepResults::kpis`] (`null` where absent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicationRecord {
    /// Variant number.
    pub variant: usize,
    /// Replication number.
    pub rep: usize,
    /// Its seed.
    pub seed: u64,
    /// Events handled.
    pub events: u64,
    /// A value per KPI name.
    pub values: Vec<Option<f64>>,
}

/// A KPI summarised over a variant's replications.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KpiSummary {
    /// Variant number.
    pub variant: usize,
    /// KPI name.
    pub kpi: String,
    /// Mean, spread, 95% confidence half-width, range and count.
    #[serde(flatten)]
    pub summary: Summary,
}

/// A sweep's results (`results.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepResults {
    /// What was swept.
    #[serde(flatten)]
    pub header: SweepHeader,
    /// The shard these results are, or `null` for a whole sweep.
    pub shard: Option<Shard>,
    /// Replications not run (a shard's others, or stopped by Ctrl-C).
    pub missing: usize,
    /// KPI names, in document order.
    pub kpis: Vec<String>,
    /// Per variant and KPI.
    pub summaries: Vec<KpiSummary>,
    /// Per replication, in (variant, replication) order.
    pub replications: Vec<ReplicationRecord>,
}

impl SweepHeader {
    /// The header of a sweep of `variants` over `parameters`.
    pub fn new(
        scenario: &str,
        parameters: &[String],
        variants: &[Prepared],
        reps: usize,
        seed: u64,
    ) -> Self {
        let spec = variants.first().map(|v| v.spec);
        SweepHeader {
            format: RESULTS_FORMAT.into(),
            scenario: scenario.into(),
            parameters: parameters.to_vec(),
            variants: variants
                .iter()
                .map(|v| VariantRecord {
                    label: v.label.clone(),
                    values: v.settings.iter().map(|(_, x)| x.clone()).collect(),
                })
                .collect(),
            reps,
            seed,
            seeds: (0..reps).map(|r| sim::replication_seed(seed, r)).collect(),
            horizon_s: spec.map_or(0.0, |s| s.horizon.as_secs_f64()),
            warmup_s: spec.map_or(0.0, |s| s.warmup.as_secs_f64()),
        }
    }
}

impl SweepResults {
    /// Results of the finished `runs` of the sweep `header` (a shard's when `shard`).
    pub fn new(header: SweepHeader, shard: Option<Shard>, runs: &[Replication]) -> Self {
        let mut rows = runs.to_vec();
        rows.sort_by_key(|r| (r.variant, r.rep));
        Self::from_rows(header, shard, rows)
    }

    fn from_rows(header: SweepHeader, shard: Option<Shard>, rows: Vec<Replication>) -> Self {
        let mut kpis: Vec<String> = Vec::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for r in &rows {
            for (k, _) in &r.kpis {
                if !index.contains_key(k) {
                    index.insert(k.clone(), kpis.len());
                    kpis.push(k.clone());
                }
            }
        }
        let replications: Vec<ReplicationRecord> = rows
            .into_iter()
            .map(|r| {
                let mut aligned = vec![None; kpis.len()];
                for (k, x) in r.kpis {
                    aligned[index[&k]] = Some(x);
                }
                ReplicationRecord {
                    variant: r.variant,
                    rep: r.rep,
                    seed: r.seed,
                    events: r.events,
                    values: aligned,
                }
            })
            .collect();
        let mut summaries = Vec::new();
        for v in 0..header.variants.len() {
            let mine: Vec<&ReplicationRecord> =
                replications.iter().filter(|r| r.variant == v).collect();
            if mine.is_empty() {
                continue;
            }
            for (k, name) in kpis.iter().enumerate() {
                let xs: Vec<f64> = mine.iter().filter_map(|r| r.values[k]).collect();
                if !xs.is_empty() {
                    summaries.push(KpiSummary {
                        variant: v,
                        kpi: name.clone(),
                        summary: Summary::of(&xs),
                    });
                }
            }
        }
        let missing = header.variants.len() * header.reps - replications.len();
        SweepResults {
            header,
            shard,
            missing,
            kpis,
            summaries,
            replications,
        }
    }

    /// The summary of `kpi` in variant `variant`.
    pub fn summary(&self, variant: usize, kpi: &str) -> Option<&Summary> {
        self.summaries
            .iter()
            .find(|s| s.variant == variant && s.kpi == kpi)
            .map(|s| &s.summary)
    }

    /// The values of `kpi` in variant `variant`, by replication.
    pub fn values(&self, variant: usize, kpi: &str) -> Vec<(usize, f64)> {
        let Some(k) = self.kpis.iter().position(|n| n == kpi) else {
            return Vec::new();
        };
        self.replications
            .iter()
            .filter(|r| r.variant == variant)
            .filter_map(|r| r.values[k].map(|x| (r.rep, x)))
            .collect()
    }

    /// `results.json`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("results serialise") + "\n"
    }

    /// Reads `results.json` text from `file`.
    pub fn from_json(file: &str, text: &str) -> Result<Self, ExperimentError> {
        let r: SweepResults = serde_json::from_str(text)
            .map_err(|e| ExperimentError::file(file, format!("not sweep results: {e}")))?;
        if r.header.format != RESULTS_FORMAT {
            return Err(ExperimentError::file(
                file,
                format!("format `{}`, expected `{RESULTS_FORMAT}`", r.header.format),
            ));
        }
        Ok(r)
    }

    /// `results.csv`: one row per variant and KPI.
    pub fn summary_csv(&self) -> String {
        let mut head = vec!["variant".to_string(), "label".to_string()];
        head.extend(self.header.parameters.iter().cloned());
        head.extend(
            [
                "kpi",
                "mean",
                "std_dev",
                "ci95_half_width",
                "ci95_low",
                "ci95_high",
                "min",
                "max",
                "n",
            ]
            .map(String::from),
        );
        let mut out = csv_line(&head);
        for s in &self.summaries {
            let v = &self.header.variants[s.variant];
            let m = &s.summary;
            let mut row = vec![s.variant.to_string(), v.label.clone()];
            row.extend(v.values.iter().map(value_text));
            row.push(s.kpi.clone());
            row.extend(
                [
                    m.mean,
                    m.std_dev,
                    m.ci95_half_width,
                    m.mean - m.ci95_half_width,
                    m.mean + m.ci95_half_width,
                    m.min,
                    m.max,
                ]
                .map(csv_number),
            );
            row.push(m.n.to_string());
            out.push_str(&csv_line(&row));
        }
        out
    }

    /// `replications.csv`: one row per replication and KPI.
    pub fn replications_csv(&self) -> String {
        let mut head = vec!["variant".to_string(), "label".to_string()];
        head.extend(self.header.parameters.iter().cloned());
        head.extend(["rep", "seed", "kpi", "value"].map(String::from));
        let mut out = csv_line(&head);
        for r in &self.replications {
            let v = &self.header.variants[r.variant];
            let mut lead = vec![r.variant.to_string(), v.label.clone()];
            lead.extend(v.values.iter().map(value_text));
            lead.push(r.rep.to_string());
            lead.push(r.seed.to_string());
            for (k, x) in self.kpis.iter().zip(&r.values) {
                if let Some(x) = x {
                    let mut row = lead.clone();
                    row.push(k.clone());
                    row.push(csv_number(*x));
                    out.push_str(&csv_line(&row));
                }
            }
        }
        out
    }
}

/// A number as CSV readers take it: shortest exact digits, in exponent form when tiny or
/// huge (Rust's plain form spells 1e-14 out in full).
fn csv_number(x: f64) -> String {
    if x != 0.0 && (x.abs() < 1e-4 || x.abs() >= 1e15) {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

fn csv_line(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// Joins the results of shards (`(file, results)` pairs) of one sweep. They must share
/// the sweep's header; a replication in two shards must agree. The union of all shards
/// is the same document as the unsharded run; `missing` counts what no shard ran.
pub fn merge(parts: &[(String, SweepResults)]) -> Result<SweepResults, ExperimentError> {
    let Some((first_file, first)) = parts.first() else {
        return Err(ExperimentError::Mismatch("merge: no results given".into()));
    };
    let mut rows: BTreeMap<(usize, usize), Replication> = BTreeMap::new();
    for (file, part) in parts {
        if part.header != first.header {
            return Err(ExperimentError::Mismatch(format!(
                "{file} is not a shard of the same sweep as {first_file} (scenario, parameters, variants, replications, seed or horizon differ)"
            )));
        }
        for r in &part.replications {
            let values: Vec<(String, f64)> = part
                .kpis
                .iter()
                .zip(&r.values)
                .filter_map(|(k, x)| x.map(|x| (k.clone(), x)))
                .collect();
            let entry = Replication {
                variant: r.variant,
                rep: r.rep,
                seed: r.seed,
                events: r.events,
                kpis: values,
                // A shard is written only when none of its runs stalled.
                stalled: None,
            };
            if let Some(seen) = rows.get(&(r.variant, r.rep)) {
                if *seen != entry {
                    return Err(ExperimentError::Mismatch(format!(
                        "{file}: variant {} replication {} differs from another shard's",
                        r.variant, r.rep
                    )));
                }
            } else {
                rows.insert((r.variant, r.rep), entry);
            }
        }
    }
    Ok(SweepResults::from_rows(
        first.header.clone(),
        None,
        rows.into_values().collect(),
    ))
}
