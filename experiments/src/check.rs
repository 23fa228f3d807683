//! Regression checks against stored baselines, for CI.
//!
//! A baseline (`baselines/<scenario stem>.toml`) holds how to run the scenario (seed,
//! replications, horizon, warm-up), each KPI's mean and 95% confidence half-width, and the
//! tolerances. A KPI passes when it is within **any** of its allowances:
//! - `absolute = a`: |current − baseline| ≤ a;
//! - `relative = r`: |current − baseline| ≤ r × |baseline|;
//! - `ci_overlap = true`: the two 95% confidence intervals overlap.
//!
//! With no allowance at all only the same value passes (up to floating-point rounding,
//! [`ROUNDING`]). A KPI out of tolerance in its
//! better direction is reported as improved (not a failure); in its worse direction, or
//! either way for a KPI with no better direction, it is a regression, as is a KPI the
//! baseline has and the run lacks. Tolerances are chosen per KPI by name pattern (`*`
//! matches anything; the longest matching pattern wins).

use crate::error::ExperimentError;
pub use crate::kpis::pattern_matches;
use crate::kpis::{Better, better};
use serde::{Deserialize, Serialize};
use sim::Summary;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Version tag of baseline files.
pub const BASELINE_FORMAT: &str = "twinline-baseline/1";

/// How far a KPI may move.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    /// Allowed absolute change, in the KPI's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute: Option<f64>,
    /// Allowed change as a fraction of the baseline (0.01 = 1%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative: Option<f64>,
    /// Pass when the 95% confidence intervals overlap.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ci_overlap: bool,
}

/// Differences this small (times 1 + |baseline|) are floating-point rounding, not change:
/// a fraction of 1e-17 that became 1.5e-17 has not moved.
pub const ROUNDING: f64 = 1e-9;

/// Whether `current` is within `t` of `base` (or equal up to [`ROUNDING`]).
pub fn within(t: &Tolerance, base: &BaselineKpi, current: &Summary) -> bool {
    let delta = (current.mean - base.mean).abs();
    delta <= ROUNDING * (1.0 + base.mean.abs())
        || t.absolute.is_some_and(|a| delta <= a)
        || t.relative.is_some_and(|r| delta <= r * base.mean.abs())
        || (t.ci_overlap
            && ci_overlap(
                base.mean,
                base.ci95_half_width,
                current.mean,
                current.ci95_half_width,
            ))
}

/// Whether the intervals `a ± ha` and `b ± hb` share a point.
pub fn ci_overlap(a: f64, ha: f64, b: f64, hb: f64) -> bool {
    (a - b).abs() <= ha + hb
}

/// A KPI as the baseline recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineKpi {
    /// Mean over the replications.
    pub mean: f64,
    /// Half-width of its 95% confidence interval.
    pub ci95_half_width: f64,
    /// Replications.
    pub n: u64,
}

/// The tolerances of a baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerances {
    /// For KPIs no pattern matches.
    #[serde(default = "default_tolerance")]
    pub default: Tolerance,
    /// Per KPI name pattern.
    #[serde(default)]
    pub kpis: BTreeMap<String, Tolerance>,
    /// Which way is better, per KPI name pattern, where the name does not say.
    #[serde(default)]
    pub better: BTreeMap<String, Better>,
}

/// Within 1%, or statistically indistinguishable.
fn default_tolerance() -> Tolerance {
    Tolerance {
        absolute: None,
        relative: Some(0.01),
        ci_overlap: true,
    }
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            default: default_tolerance(),
            kpis: BTreeMap::new(),
            better: BTreeMap::new(),
        }
    }
}

fn most_specific<'a, T>(map: &'a BTreeMap<String, T>, kpi: &str) -> Option<&'a T> {
    map.iter()
        .filter(|(p, _)| pattern_matches(p, kpi))
        .max_by_key(|(p, _)| p.len())
        .map(|(_, t)| t)
}

impl Tolerances {
    /// The tolerance for `kpi`.
    pub fn for_kpi(&self, kpi: &str) -> Tolerance {
        most_specific(&self.kpis, kpi)
            .copied()
            .unwrap_or(self.default)
    }

    /// Which way `kpi` is better.
    pub fn better(&self, kpi: &str) -> Better {
        most_specific(&self.better, kpi)
            .copied()
            .unwrap_or_else(|| better(kpi))
    }
}

/// A stored baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format tag.
    pub format: String,
    /// The scenario's name.
    pub scenario: String,
    /// Base seed of the replications.
    pub seed: u64,
    /// Replications.
    pub reps: usize,
    /// Simulated time per run, seconds.
    pub horizon_s: f64,
    /// Warm-up per run, seconds.
    pub warmup_s: f64,
    /// Tolerances.
    #[serde(default)]
    pub tolerance: Tolerances,
    /// KPIs.
    pub kpis: BTreeMap<String, BaselineKpi>,
}

impl Baseline {
    /// Reads a baseline file's `text`.
    pub fn parse(file: &str, text: &str) -> Result<Baseline, ExperimentError> {
        let b: Baseline = toml::from_str(text).map_err(|e| {
            ExperimentError::file(file, format!("not a baseline: {}", e.message().trim()))
        })?;
        if b.format != BASELINE_FORMAT {
            return Err(ExperimentError::file(
                file,
                format!("format `{}`, expected `{BASELINE_FORMAT}`", b.format),
            ));
        }
        if b.reps == 0 {
            return Err(ExperimentError::file(file, "reps must be at least 1"));
        }
        if !(b.horizon_s > 0.0 && b.warmup_s >= 0.0 && b.warmup_s < b.horizon_s) {
            return Err(ExperimentError::file(
                file,
                "horizon_s must be positive and warmup_s below it",
            ));
        }
        Ok(b)
    }

    /// The baseline file's text: run settings and tolerances first, one line per KPI.
    pub fn to_toml(&self, kpis: &[(String, Summary)]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# twinline baseline for scenario `{}`; written by `twinline check --update-baseline`.",
            self.scenario
        );
        let _ = writeln!(
            out,
            "# Edit the tolerances by hand; they are kept when the KPIs are rewritten."
        );
        let head = toml::to_string(&BaselineHead {
            format: &self.format,
            scenario: &self.scenario,
            seed: self.seed,
            reps: self.reps,
            horizon_s: self.horizon_s,
            warmup_s: self.warmup_s,
            tolerance: &self.tolerance,
        })
        .expect("a baseline head serialises");
        out.push_str(&head);
        out.push_str("\n[kpis]\n");
        for (name, s) in kpis {
            let _ = writeln!(
                out,
                "{} = {{ mean = {}, ci95_half_width = {}, n = {} }}",
                toml::Value::String(name.clone()),
                toml_float(s.mean),
                toml_float(s.ci95_half_width),
                s.n
            );
        }
        out
    }
}

#[derive(Serialize)]
struct BaselineHead<'a> {
    format: &'a str,
    scenario: &'a str,
    seed: u64,
    reps: usize,
    horizon_s: f64,
    warmup_s: f64,
    tolerance: &'a Tolerances,
}

fn toml_float(x: f64) -> String {
    toml::Value::Float(x).to_string()
}

/// What became of a KPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Within tolerance.
    Same,
    /// Out of tolerance, the better way.
    Improved,
    /// Out of tolerance the worse way (or changed, where neither way is better).
    Regressed,
    /// In the baseline, not in the run.
    Missing,
    /// In the run, not in the baseline.
    New,
}

/// One KPI's check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KpiCheck {
    /// KPI name.
    pub kpi: String,
    /// As recorded.
    pub baseline: Option<BaselineKpi>,
    /// As run now.
    pub current: Option<Summary>,
    /// The tolerance applied.
    pub tolerance: Tolerance,
    /// Which way is better.
    pub better: Better,
    /// The outcome.
    pub verdict: Verdict,
}

impl KpiCheck {
    /// Whether it fails the check.
    pub fn fails(&self) -> bool {
        matches!(self.verdict, Verdict::Regressed | Verdict::Missing)
    }
}

/// A scenario's check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckReport {
    /// The scenario (file stem).
    pub scenario: String,
    /// Per KPI: the run's in its order, then those only the baseline has.
    pub kpis: Vec<KpiCheck>,
}

impl CheckReport {
    /// Whether any KPI regressed or went missing.
    pub fn failed(&self) -> bool {
        self.kpis.iter().any(KpiCheck::fails)
    }

    /// KPIs with `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.kpis.iter().filter(|k| k.verdict == verdict).count()
    }
}

/// Checks the `current` KPI summaries of scenario `scenario` against `baseline`.
pub fn check(scenario: &str, baseline: &Baseline, current: &[(String, Summary)]) -> CheckReport {
    let mut kpis = Vec::new();
    for (name, cur) in current {
        let tolerance = baseline.tolerance.for_kpi(name);
        let dir = baseline.tolerance.better(name);
        let base = baseline.kpis.get(name).copied();
        let verdict = match base {
            None => Verdict::New,
            Some(b) if within(&tolerance, &b, cur) => Verdict::Same,
            Some(b) => match (dir, cur.mean > b.mean) {
                (Better::Higher, true) | (Better::Lower, false) => Verdict::Improved,
                _ => Verdict::Regressed,
            },
        };
        kpis.push(KpiCheck {
            kpi: name.clone(),
            baseline: base,
            current: Some(*cur),
            tolerance,
            better: dir,
            verdict,
        });
    }
    for (name, b) in &baseline.kpis {
        if !current.iter().any(|(n, _)| n == name) {
            kpis.push(KpiCheck {
                kpi: name.clone(),
                baseline: Some(*b),
                current: None,
                tolerance: baseline.tolerance.for_kpi(name),
                better: baseline.tolerance.better(name),
                verdict: Verdict::Missing,
            });
        }
    }
    CheckReport {
        scenario: scenario.to_string(),
        kpis,
    }
}

fn tolerance_text(t: &Tolerance) -> String {
    let mut parts = Vec::new();
    if let Some(a) = t.absolute {
        parts.push(format!("±{a}"));
    }
    if let Some(r) = t.relative {
        parts.push(format!("±{}%", r * 100.0));
    }
    if t.ci_overlap {
        parts.push("CI overlap".into());
    }
    if parts.is_empty() {
        "exact".into()
    } else {
        parts.join(" or ")
    }
}

fn summary_text(mean: f64, half: f64) -> String {
    format!("{} ± {}", fmt_num(mean), fmt_num(half))
}

/// A number in at most 6 significant digits.
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (6 - 1 - x.abs().log10().floor() as i32).clamp(0, 9) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The diff table of a report: a count line, then each KPI that is not the same (all of
/// them with `all`).
pub fn table(report: &CheckReport, all: bool) -> String {
    let mut out = format!(
        "{}: {} KPIs: {} same, {} improved, {} regressed, {} missing, {} new → {}\n",
        report.scenario,
        report.kpis.len(),
        report.count(Verdict::Same),
        report.count(Verdict::Improved),
        report.count(Verdict::Regressed),
        report.count(Verdict::Missing),
        report.count(Verdict::New),
        if report.failed() { "REGRESSION" } else { "ok" }
    );
    let shown: Vec<&KpiCheck> = report
        .kpis
        .iter()
        .filter(|k| all || !matches!(k.verdict, Verdict::Same | Verdict::New))
        .collect();
    if shown.is_empty() {
        return out;
    }
    let w = shown.iter().map(|k| k.kpi.len()).max().unwrap_or(3).max(3);
    let _ = writeln!(
        out,
        "  {:<w$}  {:>24}  {:>24}  {:>9}  {:<22}  verdict",
        "kpi", "baseline", "current", "change", "tolerance"
    );
    for k in shown {
        let base = k
            .baseline
            .map_or("—".into(), |b| summary_text(b.mean, b.ci95_half_width));
        let cur = k
            .current
            .map_or("—".into(), |c| summary_text(c.mean, c.ci95_half_width));
        let change = match (k.baseline, k.current) {
            (Some(b), Some(c)) if b.mean != 0.0 => {
                format!("{:+.2}%", (c.mean - b.mean) / b.mean.abs() * 100.0)
            }
            (Some(b), Some(c)) => format!("{:+}", fmt_num(c.mean - b.mean)),
            _ => "—".into(),
        };
        let verdict = match k.verdict {
            Verdict::Same => "same",
            Verdict::Improved => "improved",
            Verdict::Regressed => "REGRESSED",
            Verdict::Missing => "MISSING",
            Verdict::New => "new",
        };
        let _ = writeln!(
            out,
            "  {:<w$}  {:>24}  {:>24}  {:>9}  {:<22}  {verdict}",
            k.kpi,
            base,
            cur,
            change,
            tolerance_text(&k.tolerance)
        );
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// JUnit XML: a test suite per scenario, a test case per KPI, a failure per regression.
/// `seconds` is each scenario's run time, in report order.
pub fn junit(reports: &[CheckReport], seconds: &[f64]) -> String {
    let tests: usize = reports.iter().map(|r| r.kpis.len()).sum();
    let failures: usize = reports
        .iter()
        .map(|r| r.kpis.iter().filter(|k| k.fails()).count())
        .sum();
    let total: f64 = seconds.iter().sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"twinline check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{total:.3}\">"
    );
    for (i, r) in reports.iter().enumerate() {
        let f = r.kpis.iter().filter(|k| k.fails()).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\">",
            xml_escape(&r.scenario),
            r.kpis.len(),
            seconds.get(i).copied().unwrap_or(0.0)
        );
        for k in &r.kpis {
            let name = xml_escape(&k.kpi);
            let class = xml_escape(&r.scenario);
            if k.fails() {
                let detail = table(
                    &CheckReport {
                        scenario: r.scenario.clone(),
                        kpis: vec![k.clone()],
                    },
                    true,
                );
                let message = match k.verdict {
                    Verdict::Missing => "KPI missing from the run".to_string(),
                    _ => format!(
                        "{} moved from {} to {} beyond {}",
                        k.kpi,
                        k.baseline.map_or("—".into(), |b| fmt_num(b.mean)),
                        k.current.map_or("—".into(), |c| fmt_num(c.mean)),
                        tolerance_text(&k.tolerance)
                    ),
                };
                let _ = writeln!(
                    out,
                    "    <testcase classname=\"{class}\" name=\"{name}\"><failure message=\"{}\" type=\"regression\">{}</failure></testcase>",
                    xml_escape(&message),
                    xml_escape(&detail)
                );
            } else {
                let _ = writeln!(out, "    <testcase classname=\"{class}\" name=\"{name}\"/>");
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
