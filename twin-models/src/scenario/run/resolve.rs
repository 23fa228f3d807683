//! Resolves `[run]` and `[[products]]`.

use super::file::{ProductFile, RunFile};
use super::model::{MAX_REPLICATIONS, RunSettings};
use crate::scenario::check::{Checker, at, i, k};
use sim::SimDuration;

/// `[run]`, checked: the horizon, warm-up, sampling, replications and start.
pub(crate) fn resolve_run(c: &mut Checker<'_>, r: &RunFile) -> Option<RunSettings> {
    let base = [k("run")];
    let horizon = c.duration(&at(&base, &[k("horizon")]), &r.horizon);
    if horizon == Some(SimDuration::ZERO) {
        c.fail(
            &at(&base, &[k("horizon")]),
            "the horizon must be longer than zero",
        );
    }
    let warmup = match &r.warmup {
        Some(w) => c.duration(&at(&base, &[k("warmup")]), w),
        None => Some(SimDuration::ZERO),
    };
    if let (Some(h), Some(w)) = (horizon, warmup)
        && w >= h
        && h > SimDuration::ZERO
    {
        c.fail(
            &at(&base, &[k("warmup")]),
            "the warm-up must be shorter than the horizon",
        );
    }
    let sample_interval = match (&r.sample_interval, horizon) {
        (Some(s), _) => {
            let d = c.duration(&at(&base, &[k("sample_interval")]), s);
            if d == Some(SimDuration::ZERO) {
                c.fail(
                    &at(&base, &[k("sample_interval")]),
                    "the sample interval must be longer than zero",
                );
            }
            d
        }
        (None, Some(h)) => Some(SimDuration((h.0 / 500).max(1))),
        (None, None) => None,
    };
    if let Some(n) = r.replications
        && n as usize > MAX_REPLICATIONS
    {
        c.fail(
            &at(&base, &[k("replications")]),
            format!(
                "{n} replications is more than one run takes ({}): split a larger study with `twinline sweep --shard`",
                MAX_REPLICATIONS
            ),
        );
    }
    if r.replications == Some(0) {
        c.fail(
            &at(&base, &[k("replications")]),
            "at least one replication is needed",
        );
    }
    let start = match &r.start {
        Some(text) => match feeds::Timestamp::parse(text) {
            Ok(t) => Some(t),
            Err(e) => {
                c.fail(&at(&base, &[k("start")]), e);
                None
            }
        },
        None => None,
    };
    Some(RunSettings {
        start,
        horizon: horizon?,
        warmup: warmup?,
        seed: r.seed.unwrap_or(1),
        sample_interval: sample_interval?,
        replications: r.replications.unwrap_or(1).max(1),
    })
}

/// The product names, each once; a scenario without products makes one called `default`.
pub(crate) fn resolve_products(c: &mut Checker<'_>, raw: &[ProductFile]) -> Vec<String> {
    let mut products: Vec<String> = Vec::new();
    for (pi, p) in raw.iter().enumerate() {
        if products.contains(&p.name) {
            c.fail(
                &[k("products"), i(pi), k("name")],
                format!("product `{}` is defined twice", p.name),
            );
        }
        products.push(p.name.clone());
    }
    if products.is_empty() {
        products.push("default".to_string());
    }

    products
}
