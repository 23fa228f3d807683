//! A run's KPIs as flat, named numbers: `lines.L1.throughput_per_h`,
//! `lines.L1.stations.filler.state_fractions.working`, `fleet.tasks_completed`, …
//!
//! The names follow the `kpis.json` document: object keys joined by dots, with list entries
//! named by what they are (a line's or station's `name`, a site, a lane `from->to`, a stock
//! `material@location`) rather than by position, so a KPI keeps its name when a variant adds
//! a line. Lists of events (alerts) and text are left out; absent values (`null`) are
//! simply not there.

use serde_json::Value;
use twin_models::kpi::RunKpis;

/// A run's KPIs, in document order.
pub fn flatten(kpis: &RunKpis) -> Vec<(String, f64)> {
    let doc = serde_json::to_value(kpis).expect("KPIs serialise");
    let mut out = Vec::new();
    walk(&doc, String::new(), &mut out);
    out
}

fn walk(v: &Value, prefix: String, out: &mut Vec<(String, f64)>) {
    match v {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "alerts" || twin_models::kpi::is_bookkeeping(key) {
                    continue;
                }
                walk(child, join(&prefix, key), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if item.is_object() {
                    walk(
                        item,
                        join(&prefix, &entry_id(item).unwrap_or_else(|| i.to_string())),
                        out,
                    );
                }
            }
        }
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.push((prefix, x));
            }
        }
        Value::Bool(_) | Value::String(_) | Value::Null => {}
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// What names a list entry: its name, line or site, a lane's ends, a stock's place.
fn entry_id(item: &Value) -> Option<String> {
    let s = |k: &str| item.get(k).and_then(Value::as_str);
    if let Some(n) = s("name").or_else(|| s("line")) {
        return Some(n.to_string());
    }
    if let (Some(site), Some(loc), Some(mat)) = (s("site"), s("location"), s("material")) {
        return Some(format!("{site}/{loc}/{mat}"));
    }
    if let Some(site) = s("site").or_else(|| s("region")) {
        return Some(site.to_string());
    }
    if let (Some(from), Some(to)) = (s("from"), s("to")) {
        return Some(format!("{from}->{to}"));
    }
    if let (Some(mat), Some(at)) = (s("material"), s("at")) {
        return Some(format!("{mat}@{at}"));
    }
    None
}

/// The KPI summaries of a `kpis.json` document's `summary` (or of any value whose numbers
/// became `{mean, std_dev, ci95_half_width, …}` objects), named as by [`flatten`].
pub fn flatten_summary(summary: &Value) -> Vec<(String, sim::Summary)> {
    let mut out = Vec::new();
    walk_summary(summary, String::new(), &mut out);
    out
}

fn walk_summary(v: &Value, prefix: String, out: &mut Vec<(String, sim::Summary)>) {
    match v {
        Value::Object(map) if map.contains_key("mean") && map.contains_key("ci95_half_width") => {
            if let Ok(s) = serde_json::from_value(v.clone()) {
                out.push((prefix, s));
            }
        }
        Value::Object(map) => {
            for (key, child) in map {
                if key != "alerts" && !twin_models::kpi::is_bookkeeping(key) {
                    walk_summary(child, join(&prefix, key), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if item.is_object() {
                    let id = entry_id(item).unwrap_or_else(|| i.to_string());
                    walk_summary(item, join(&prefix, &id), out);
                }
            }
        }
        _ => {}
    }
}

/// Which way a KPI is better, judged by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// More is better (throughput, OEE, fill rate).
    Higher,
    /// Less is better (starving, lead times, stock-outs, collisions).
    Lower,
    /// Neither: any change counts.
    Either,
}

/// Name fragments of KPIs where less is better, checked before [`HIGHER`].
const LOWER: &[&str] = &[
    "starved",
    "blocked",
    "down",
    "setup",
    "micro_stop",
    "rejects",
    "lost",
    "blocking_probability",
    "wait",
    "lead_time",
    "collisions",
    "deadlocks",
    "stalls",
    "breakdowns",
    "empty_distance",
    "stock_out",
    "minutes_lost",
    "late",
    "wip",
    "time_in_system",
    "changeover_time",
    "quarantined",
    "drift",
    "failures",
    "incidents",
    "energy",
    "empty_travel",
    "outage",
    "open_orders",
    "depleted",
];

/// Name fragments of KPIs where more is better.
const HIGHER: &[&str] = &[
    "throughput",
    "oee",
    "availability",
    "performance",
    "quality",
    "units_out",
    "working",
    "fill_rate",
    "otif",
    "tasks_completed",
    "pallets_made",
    "turns",
    "delivered",
    "served",
    "state_of_charge",
];

/// Which way `kpi` is better, from its name (its last part first, then the whole path);
/// [`Better::Either`] when the name does not say.
pub fn better(kpi: &str) -> Better {
    let leaf = kpi.rsplit('.').next().unwrap_or(kpi);
    for name in [leaf, kpi] {
        if LOWER.iter().any(|f| name.contains(f)) {
            return Better::Lower;
        }
        if HIGHER.iter().any(|f| name.contains(f)) {
            return Better::Higher;
        }
    }
    Better::Either
}

/// The KPIs a summary shows first: line output and OEE, the fleet's service and safety,
/// stock and customer service.
pub const HEADLINE: &[&str] = &[
    "lines.*.throughput_per_h",
    "lines.*.units_out",
    "lines.*.oee.oee",
    "fleet.tasks_completed",
    "fleet.lead_time_mean_s",
    "fleet.wait_for_vehicle_mean_s",
    "fleet.line_minutes_lost",
    "fleet.collisions",
    "fleet.deadlocks",
    "fleet.empty_distance_km",
    "fleet.stock.*.fill_rate",
    "fleet.stock.*.stock_out_minutes",
    "network.regions.*.otif",
    "network.regions.*.fill_rate",
];

/// Whether `kpi` is one of the [`HEADLINE`] KPIs.
pub fn is_headline(kpi: &str) -> bool {
    headline_rank(kpi).is_some()
}

/// The place of `kpi`'s pattern in [`HEADLINE`], for ordering; `None` if not headline.
pub fn headline_rank(kpi: &str) -> Option<usize> {
    HEADLINE
        .iter()
        .position(|p| pattern_matches(p, kpi) && p.split('.').count() == kpi.split('.').count())
}

/// The headline KPIs among `names`, in [`HEADLINE`] order (by name within a pattern).
pub fn headline<T: AsRef<str>>(names: &[T]) -> Vec<&T> {
    let mut heads: Vec<(usize, &T)> = names
        .iter()
        .filter_map(|n| headline_rank(n.as_ref()).map(|r| (r, n)))
        .collect();
    heads.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.as_ref().cmp(b.1.as_ref())));
    heads.into_iter().map(|(_, n)| n).collect()
}

/// Whether `pattern` (with `*` for any run of characters) matches all of `name`.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}
