//! The report of a run: headline KPIs, and per line its output over time, buffer levels,
//! station states and a Gantt chart of stops; the fleet's time split; stock levels.

use super::charts::{self, GanttRow, Series, hex, state_colour};
use super::page::{legend, page, section, summary_table, table};
use crate::check::fmt_num;
use crate::kpis::{flatten_summary, headline_rank};
use serde_json::Value;

/// What a run left in its directory.
pub struct RunInputs<'a> {
    /// `kpis.json`.
    pub kpis: &'a Value,
    /// `timeseries.csv` (first replication), if written.
    pub series: Option<&'a str>,
    /// `timeline.csv` (first replication), if written.
    pub timeline: Option<&'a str>,
    /// `alerts.ndjson` (first replication), if written.
    pub alerts: Option<&'a str>,
}

const STATES: [&str; 7] = [
    "working",
    "starved",
    "blocked",
    "down",
    "setup",
    "micro_stop",
    "planned_stop",
];

/// A parsed `timeseries.csv`: column names, times (hours) and cells.
struct Table {
    columns: Vec<String>,
    hours: Vec<f64>,
    cells: Vec<Vec<String>>,
}

impl Table {
    fn parse(text: &str) -> Option<Table> {
        let mut lines = text.lines();
        let head: Vec<String> = lines.next()?.split(',').map(str::to_string).collect();
        let mut hours = Vec::new();
        let mut cells = Vec::new();
        for l in lines {
            let row: Vec<String> = l.split(',').map(str::to_string).collect();
            hours.push(row.first()?.parse::<f64>().ok()? / 3600.0);
            cells.push(row);
        }
        Some(Table {
            columns: head,
            hours,
            cells,
        })
    }

    fn numbers(&self, col: usize) -> Vec<(f64, f64)> {
        self.hours
            .iter()
            .zip(&self.cells)
            .filter_map(|(h, r)| r.get(col)?.parse::<f64>().ok().map(|v| (*h, v)))
            .collect()
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// Output rate (units per hour) over a sliding window of about a fiftieth of the run.
fn throughput(out: &[(f64, f64)]) -> Vec<(f64, f64)> {
    if out.len() < 2 {
        return Vec::new();
    }
    let span = out[out.len() - 1].0 - out[0].0;
    let step = (out[1].0 - out[0].0).max(1e-12);
    let k = ((span / 48.0 / step).round() as usize).max(1);
    (k..out.len())
        .map(|i| {
            let (t0, a) = out[i - k];
            let (t1, b) = out[i];
            ((t0 + t1) / 2.0, (b - a) / (t1 - t0))
        })
        .collect()
}

fn str_field<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn mean(v: &Value) -> Option<f64> {
    v.get("mean").and_then(Value::as_f64)
}

/// The HTML report of a run.
pub fn run_report(input: &RunInputs<'_>) -> String {
    let doc = input.kpis;
    let scenario = str_field(doc, "scenario");
    let reps = doc.get("replications").and_then(Value::as_u64).unwrap_or(1);
    let horizon_h = doc.get("horizon_s").and_then(Value::as_f64).unwrap_or(0.0) / 3600.0;
    let warmup_h = doc.get("warmup_s").and_then(Value::as_f64).unwrap_or(0.0) / 3600.0;
    let subtitle = format!(
        "seed {} · {reps} replication(s) · horizon {} h · warm-up {} h · {} events",
        doc.get("seed").map_or("?".into(), Value::to_string),
        fmt_num(horizon_h),
        fmt_num(warmup_h),
        doc.get("events_processed")
            .map_or("?".into(), Value::to_string),
    );
    let summary = doc.get("summary").cloned().unwrap_or(Value::Null);
    let all = flatten_summary(&summary);
    let mut body = String::new();
    let mut head: Vec<_> = all
        .iter()
        .filter(|(k, _)| headline_rank(k).is_some())
        .cloned()
        .collect();
    head.sort_by(|a, b| {
        headline_rank(&a.0)
            .cmp(&headline_rank(&b.0))
            .then_with(|| a.0.cmp(&b.0))
    });
    body.push_str(&section(
        "Headline KPIs",
        &format!(
            "{}<p class=\"note\">Mean over the replications with the half-width of its 95% confidence interval. Charts over time show the first replication.</p>\n",
            summary_table(&head)
        ),
    ));
    let series = input.series.and_then(Table::parse);
    let timeline = input.timeline.map(parse_timeline).unwrap_or_default();
    let lines = summary
        .get("lines")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let state_legend: Vec<(String, String)> = STATES
        .iter()
        .map(|s| (s.replace('_', " "), hex(state_colour(s))))
        .collect();
    for line in &lines {
        let name = str_field(line, "name");
        let stations: Vec<&Value> = line
            .get("stations")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let station_names: Vec<&str> = stations.iter().map(|s| str_field(s, "name")).collect();
        let mut inner = String::new();
        if let Some(t) = &series {
            if let Some(c) = t.column(&format!("{name}.units_out")) {
                let rate = throughput(&t.numbers(c));
                if !rate.is_empty() {
                    inner.push_str(&charts::line_chart(
                        &format!("{name}: output rate over time"),
                        "hours",
                        "good units per hour",
                        &[Series {
                            name: String::new(),
                            points: rate,
                        }],
                    ));
                }
            }
            let buffers: Vec<Series> = t
                .columns
                .iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    let rest = c.strip_prefix(&format!("{name}."))?;
                    if rest == "units_out" || station_names.contains(&rest) {
                        return None;
                    }
                    Some(Series {
                        name: rest.to_string(),
                        points: t.numbers(i),
                    })
                })
                .collect();
            if !buffers.is_empty() {
                inner.push_str(&charts::line_chart(
                    &format!("{name}: buffer levels"),
                    "hours",
                    "units",
                    &buffers,
                ));
            }
        }
        let rows: Vec<(String, Vec<f64>)> = stations
            .iter()
            .map(|s| {
                let f = s.get("state_fractions");
                let parts = STATES
                    .iter()
                    .map(|st| f.and_then(|f| f.get(*st)).and_then(mean).unwrap_or(0.0) * 100.0)
                    .collect();
                (str_field(s, "name").to_string(), parts)
            })
            .collect();
        if !rows.is_empty() {
            inner.push_str(&diagram(name, line, &station_names, &rows));
        }
        if !rows.is_empty() {
            let parts: Vec<(String, charts::RGB)> = STATES
                .iter()
                .map(|s| (s.to_string(), state_colour(s)))
                .collect();
            inner.push_str(&charts::stacked_bars(
                &format!("{name}: time per station state"),
                "% of measured time",
                &rows,
                &parts,
            ));
            inner.push_str(&legend(&state_legend));
        }
        let gantt_rows: Vec<GanttRow> = station_names
            .iter()
            .map(|st| GanttRow {
                label: st.to_string(),
                spans: timeline
                    .iter()
                    .filter(|(l, s, ..)| l == name && s == st)
                    .map(|(_, _, state, a, b)| (a / 3600.0, b / 3600.0, state.clone()))
                    .collect(),
            })
            .collect();
        if input.timeline.is_some() && !gantt_rows.is_empty() {
            inner.push_str(&charts::gantt(
                &format!("{name}: changeovers and stops"),
                &gantt_rows,
                horizon_h,
            ));
            let mut entries: Vec<(String, String)> = STATES[3..]
                .iter()
                .chain(["starved", "blocked"].iter())
                .map(|s| (s.replace('_', " "), hex(state_colour(s))))
                .collect();
            let stepped = gantt_rows
                .iter()
                .any(|r| r.spans.iter().any(|s| s.2.starts_with("speed ")));
            if stepped {
                entries.push((
                    "speed step (level switch)".to_string(),
                    hex(charts::SPEED_STEP),
                ));
            }
            inner.push_str(&legend(&entries));
            inner.push_str("<p class=\"note\">Light green: running (working, or slowed by its neighbours). Starved and blocked bars are material and outfeed holds, and stops by level switches (tailback, lack).</p>\n");
        }
        body.push_str(&section(&format!("Line {name}"), &inner));
    }
    if let Some(fleet) = summary.get("fleet") {
        body.push_str(&section("AGV fleet", &fleet_section(fleet, &all)));
    }
    if let Some(t) = &series {
        let stock: Vec<Series> = t
            .columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                Some(Series {
                    name: c.strip_prefix("stock.")?.to_string(),
                    points: t.numbers(i),
                })
            })
            .collect();
        if !stock.is_empty() {
            body.push_str(&section(
                "Stock",
                &charts::line_chart("Warehouse stock on hand", "hours", "units", &stock),
            ));
        }
    }
    if let Some(net) = summary.get("network") {
        body.push_str(&section("Network", &network_section(net)));
    }
    if let Some(feed) = summary.get("feed") {
        body.push_str(&section("Inventory feed", &feed_section(feed)));
    }
    if let Some(text) = input.alerts {
        body.push_str(&section("Alerts", &alerts_section(text)));
    }
    body.push_str(&section(
        "All KPIs",
        &format!(
            "<details><summary>{} KPIs</summary>\n{}</details>\n",
            all.len(),
            summary_table(&all)
        ),
    ));
    page(&format!("twinline report: {scenario}"), &subtitle, &body)
}

/// The line drawn from its graph (`links` in kpis.json; a series line is its stations in
/// order), each machine with its time per state (`rows`, per cent).
fn diagram(name: &str, line: &Value, stations: &[&str], rows: &[(String, Vec<f64>)]) -> String {
    let index = |n: &Value| stations.iter().position(|s| Some(*s) == n.as_str());
    let list = |v: &Value| -> Vec<usize> {
        v.as_array()
            .map(|a| a.iter().filter_map(index).collect())
            .unwrap_or_default()
    };
    let links: Vec<charts::DiagramLink> = match line.get("links").and_then(Value::as_array) {
        Some(links) => links
            .iter()
            .map(|l| charts::DiagramLink {
                name: str_field(l, "buffer").to_string(),
                from: list(&l["from"]),
                to: list(&l["to"]),
                rework_from: list(&l["rework_from"]),
            })
            .collect(),
        None => (1..stations.len())
            .map(|i| charts::DiagramLink {
                name: String::new(),
                from: vec![i - 1],
                to: vec![i],
                rework_from: Vec::new(),
            })
            .collect(),
    };
    let edges: Vec<(Vec<usize>, Vec<usize>)> = links
        .iter()
        .map(|l| (l.from.clone(), l.to.clone()))
        .collect();
    let places = twin_models::line::diagram::places(stations.len(), &edges);
    let nodes: Vec<charts::DiagramStation> = rows
        .iter()
        .zip(places)
        .map(|((station, parts), place)| charts::DiagramStation {
            name: station.clone(),
            place,
            shares: parts
                .iter()
                .zip(STATES)
                .map(|(p, s)| (*p, state_colour(s)))
                .collect(),
        })
        .collect();
    charts::line_diagram(
        &format!("{name}: the line, with each machine's time per state"),
        &nodes,
        &links,
    )
}

/// (line, station, state, start s, end s) rows of `timeline.csv`.
fn parse_timeline(text: &str) -> Vec<(String, String, String, f64, f64)> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((
                f.first()?.to_string(),
                f.get(1)?.to_string(),
                f.get(2)?.to_string(),
                f.get(3)?.parse().ok()?,
                f.get(4)?.parse().ok()?,
            ))
        })
        .collect()
}

fn fleet_section(fleet: &Value, all: &[(String, sim::Summary)]) -> String {
    const PARTS: [(&str, &str); 6] = [
        ("loaded_travel", "loaded travel"),
        ("empty_travel", "empty travel"),
        ("loading", "loading"),
        ("charging", "charging"),
        ("waiting_in_traffic", "waiting in traffic"),
        ("idle", "idle"),
    ];
    let mut out = String::new();
    if let Some(split) = fleet.get("time_split") {
        let values: Vec<f64> = PARTS
            .iter()
            .map(|(k, _)| split.get(*k).and_then(mean).unwrap_or(0.0) * 100.0)
            .collect();
        let parts: Vec<(String, charts::RGB)> = PARTS
            .iter()
            .enumerate()
            .map(|(i, (_, n))| (n.to_string(), charts::PALETTE[i]))
            .collect();
        out.push_str(&charts::stacked_bars(
            "AGV utilisation: share of vehicle time",
            "% of vehicle time",
            &[("fleet".into(), values)],
            &parts,
        ));
        out.push_str(&legend(
            &parts
                .iter()
                .map(|(n, c)| (n.clone(), hex(*c)))
                .collect::<Vec<_>>(),
        ));
    }
    let rows: Vec<(String, sim::Summary)> = all
        .iter()
        .filter(|(k, _)| {
            k.starts_with("fleet.")
                && !k.starts_with("fleet.time_split")
                && k.split('.').count() == 2
        })
        .cloned()
        .collect();
    out.push_str(&summary_table(&rows));
    out
}

fn network_section(net: &Value) -> String {
    let sites = net
        .get("sites")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let cell = |v: &Value, k: &str| v.get(k).and_then(mean).map_or("—".into(), fmt_num);
    let rows: Vec<Vec<String>> = sites
        .iter()
        .map(|s| {
            vec![
                str_field(s, "site").to_string(),
                str_field(s, "kind").to_string(),
                str_field(s, "region").to_string(),
                cell(s, "pallets_made"),
                cell(s, "orders"),
                cell(s, "fill_rate"),
                cell(s, "otif"),
                cell(s, "stock_out_minutes"),
            ]
        })
        .collect();
    table(
        &[
            "site",
            "kind",
            "region",
            "pallets made",
            "orders",
            "fill rate",
            "OTIF",
            "stock-out min",
        ]
        .map(String::from),
        &rows,
    )
}

fn feed_section(feed: &Value) -> String {
    let positions = feed
        .get("positions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let cell = |v: &Value, k: &str| v.get(k).and_then(mean).map_or("—".into(), fmt_num);
    let rows: Vec<Vec<String>> = positions
        .iter()
        .map(|p| {
            vec![
                format!(
                    "{} / {} / {}",
                    str_field(p, "site"),
                    str_field(p, "location"),
                    str_field(p, "material")
                ),
                cell(p, "on_hand"),
                cell(p, "average_on_hand"),
                cell(p, "stock_outs"),
                cell(p, "stock_out_minutes"),
                cell(p, "fill_rate"),
                cell(p, "otif"),
                cell(p, "drift_abs"),
            ]
        })
        .collect();
    table(
        &[
            "site / location / material",
            "on hand",
            "average",
            "stock-outs",
            "stock-out min",
            "fill rate",
            "OTIF",
            "count drift",
        ]
        .map(String::from),
        &rows,
    )
}

/// At most this many alerts are listed; the counts cover all of them.
const ALERTS_LISTED: usize = 100;

fn alerts_section(ndjson: &str) -> String {
    let alerts: Vec<Value> = ndjson
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    if alerts.is_empty() {
        return "<p class=\"note\">No alerts were raised.</p>\n".into();
    }
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for a in &alerts {
        let k = str_field(a, "kind").to_string();
        match kinds.iter_mut().find(|(n, _)| *n == k) {
            Some((_, c)) => *c += 1,
            None => kinds.push((k, 1)),
        }
    }
    let counts = kinds
        .iter()
        .map(|(k, c)| format!("{c} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .take(ALERTS_LISTED)
        .map(|a| {
            let at = a
                .get("at_s")
                .and_then(Value::as_f64)
                .map(|s| format!("{:.2} h", s / 3600.0))
                .or_else(|| a.get("ts").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            vec![
                at,
                str_field(a, "kind").to_string(),
                str_field(a, "hint").to_string(),
            ]
        })
        .collect();
    let more = if alerts.len() > ALERTS_LISTED {
        format!(
            "<p class=\"note\">The first {ALERTS_LISTED} of {} are listed; all are in alerts.ndjson.</p>\n",
            alerts.len()
        )
    } else {
        String::new()
    };
    format!(
        "<p>{} alert(s): {counts}.</p>\n{}{more}",
        alerts.len(),
        table(&["when", "kind", "what to do"].map(String::from), &rows)
    )
}
