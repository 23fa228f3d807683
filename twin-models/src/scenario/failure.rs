//! Breakdown modes, shared by stations and vehicles: the file's form, the resolved form
//! and the checks between them.

use crate::distribution::Distribution;
use crate::scenario::check::{Checker, Seg, at, k};
use schemars::JsonSchema;
use serde::Deserialize;

/// Whether time between failures counts working time or all time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureBasis {
    /// Only time spent working counts (wear-related failures). The default.
    Operating,
    /// Every second counts, whatever the machine does.
    Calendar,
}

/// A breakdown mode.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureFile {
    /// Name shown in reports. Default "breakdown".
    #[serde(default)]
    pub name: Option<String>,
    /// Time between failures, e.g. "exp(45min)".
    pub tbf: String,
    /// Time to repair, e.g. "lognormal(5min, 2min)".
    pub ttr: String,
    /// `operating` (default) or `calendar`.
    #[serde(default)]
    pub basis: Option<FailureBasis>,
}

/// One way a machine stops.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FailureMode {
    /// Name shown in reports.
    pub name: String,
    /// Time between failures.
    pub tbf: Distribution,
    /// Time to repair (or jam length).
    pub ttr: Distribution,
    /// What time counts towards the next failure.
    pub basis: FailureBasis,
    /// A micro-stop (its own state) rather than a breakdown.
    pub micro: bool,
}

/// A breakdown mode at `fp` (a station's or a vehicle's).
pub(crate) fn failure_mode(
    c: &mut Checker<'_>,
    fp: &[Seg],
    ff: &FailureFile,
) -> Option<FailureMode> {
    let tbf = c.distribution(&at(fp, &[k("tbf")]), &ff.tbf);
    let ttr = c.distribution(&at(fp, &[k("ttr")]), &ff.ttr);
    if let Some(t) = &tbf
        && t.mean_secs() <= 0.0
    {
        c.fail(
            &at(fp, &[k("tbf")]),
            "the mean time between failures must be longer than zero",
        );
    }
    Some(FailureMode {
        name: ff.name.clone().unwrap_or_else(|| "breakdown".to_string()),
        tbf: tbf?,
        ttr: ttr?,
        basis: ff.basis.unwrap_or(FailureBasis::Operating),
        micro: false,
    })
}
