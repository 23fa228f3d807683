//! The report of a sweep: the variants' headline KPIs and a response curve per KPI, with
//! 95% confidence error bars.

use super::charts::{self, CurvePoint};
use super::page::{legend, page, section, table};
use crate::check::{fmt_num, pattern_matches};
use crate::kpis::headline;
use crate::results::SweepResults;
use crate::sweep::value_text;

/// The response curves' axis: the numeric parameter with the most values, if any.
fn axis(r: &SweepResults) -> Option<usize> {
    (0..r.header.parameters.len())
        .filter(|&p| {
            r.header.variants.iter().all(|v| {
                v.values
                    .get(p)
                    .is_some_and(|x| x.as_float().is_some() || x.as_integer().is_some())
            })
        })
        .max_by_key(|&p| {
            let mut seen: Vec<String> = r
                .header
                .variants
                .iter()
                .map(|v| v.values[p].to_string())
                .collect();
            seen.sort();
            seen.dedup();
            (seen.len(), usize::MAX - p)
        })
}

fn number(v: &toml::Value) -> f64 {
    v.as_float()
        .or_else(|| v.as_integer().map(|i| i as f64))
        .unwrap_or(0.0)
}

/// The HTML report of a sweep, with a response curve for each KPI matching one of
/// `patterns` (`*` matches anything), or each headline KPI when there are none.
pub fn sweep_report(r: &SweepResults, patterns: &[String]) -> String {
    let h = &r.header;
    let subtitle = format!(
        "{} variant(s) × {} replication(s), common random numbers (seed {}) · horizon {} h · warm-up {} h{}",
        h.variants.len(),
        h.reps,
        h.seed,
        fmt_num(h.horizon_s / 3600.0),
        fmt_num(h.warmup_s / 3600.0),
        if r.missing > 0 {
            format!(" · {} replication(s) missing", r.missing)
        } else {
            String::new()
        }
    );
    let kpis: Vec<&String> = if !patterns.is_empty() {
        r.kpis
            .iter()
            .filter(|k| patterns.iter().any(|p| pattern_matches(p, k)))
            .collect()
    } else {
        let heads: Vec<&String> = headline(&r.kpis);
        if heads.is_empty() {
            r.kpis.iter().take(6).collect()
        } else {
            heads
        }
    };
    let mut body = String::new();
    // KPIs down, variants across: variants are few, KPI names long.
    let mut head = vec!["KPI".to_string()];
    head.extend(h.variants.iter().map(|v| v.label.clone()));
    let rows: Vec<Vec<String>> = kpis
        .iter()
        .map(|k| {
            let mut row = vec![k.to_string()];
            row.extend((0..h.variants.len()).map(|v| {
                r.summary(v, k).map_or("—".into(), |s| {
                    format!("{} ± {}", fmt_num(s.mean), fmt_num(s.ci95_half_width))
                })
            }));
            row
        })
        .collect();
    body.push_str(&section(
        "Variants",
        &format!(
            "{}<p class=\"note\">Mean ± half-width of the 95% confidence interval over the replications. Every KPI of every variant is in results.csv; every replication in replications.csv.</p>\n",
            table(&head, &rows)
        ),
    ));
    let x = axis(r);
    let mut curves = String::new();
    let mut legend_names: Vec<String> = Vec::new();
    for k in &kpis {
        let mut groups: Vec<(String, Vec<CurvePoint>)> = Vec::new();
        for (v, var) in h.variants.iter().enumerate() {
            let Some(s) = r.summary(v, k) else { continue };
            let (xv, group) = match x {
                Some(p) => {
                    let others: Vec<String> = h
                        .parameters
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != p)
                        .map(|(i, path)| {
                            format!(
                                "{}={}",
                                path.rsplit('.').next().unwrap_or(path),
                                value_text(&var.values[i])
                            )
                        })
                        .collect();
                    (number(&var.values[p]), others.join(" "))
                }
                None => (v as f64, String::new()),
            };
            let point = CurvePoint {
                x: xv,
                mean: s.mean,
                half: s.ci95_half_width,
            };
            match groups.iter_mut().find(|(g, _)| *g == group) {
                Some((_, pts)) => pts.push(point),
                None => groups.push((group, vec![point])),
            }
        }
        for (_, pts) in &mut groups {
            pts.sort_by(|a, b| a.x.total_cmp(&b.x));
        }
        if legend_names.is_empty() {
            legend_names = groups
                .iter()
                .map(|(g, _)| g.clone())
                .filter(|g| !g.is_empty())
                .collect();
        }
        let x_desc = x.map_or("variant (see the table)".to_string(), |p| {
            h.parameters[p].clone()
        });
        curves.push_str(&charts::response_curve(
            k,
            &x_desc,
            "mean ± 95% CI",
            &groups,
        ));
    }
    let key: Vec<(String, String)> = legend_names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                n.clone(),
                charts::hex(charts::PALETTE[i % charts::PALETTE.len()]),
            )
        })
        .collect();
    let key = if key.is_empty() {
        String::new()
    } else {
        legend(&key)
    };
    body.push_str(&section("Response curves", &format!("{key}{curves}")));
    page(&format!("twinline sweep: {}", h.scenario), &subtitle, &body)
}
