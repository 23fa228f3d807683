//! The human summary printed by `twinline run`.

use serde_json::Value;
use std::fmt::Write as _;
use twin_models::{Replications, RunSpec, Scenario};

fn stat(v: &Value) -> (f64, f64) {
    (
        v["mean"].as_f64().unwrap_or(0.0),
        v["ci95_half_width"].as_f64().unwrap_or(0.0),
    )
}

fn pm(v: &Value, scale: f64, decimals: usize, reps: usize) -> String {
    let (m, h) = stat(v);
    if reps > 1 {
        format!("{:.*} ± {:.*}", decimals, m * scale, decimals, h * scale)
    } else {
        format!("{:.*}", decimals, m * scale)
    }
}

/// The summary table of a run.
pub fn summary(
    scenario: &Scenario,
    spec: RunSpec,
    result: &Replications,
    doc: &Value,
    wall: f64,
) -> String {
    let reps = result.runs.len();
    let events = result.events();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scenario {}  seed {}  horizon {:.2} h  warm-up {:.2} h  replications {}",
        scenario.name,
        spec.seed,
        spec.horizon.as_secs_f64() / 3600.0,
        spec.warmup.as_secs_f64() / 3600.0,
        reps
    );
    let _ = writeln!(
        s,
        "events {}  wall {:.3} s  {:.2} M events/s",
        events,
        wall,
        if wall > 0.0 {
            events as f64 / wall / 1e6
        } else {
            0.0
        }
    );
    let lines = doc["summary"]["lines"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for l in &lines {
        let name = l["name"].as_str().unwrap_or("?");
        let _ = writeln!(s, "\nline {name} ({})", l["engine"].as_str().unwrap_or("?"));
        let _ = writeln!(
            s,
            "  throughput      {} units/h",
            pm(&l["throughput_per_h"], 1.0, 1, reps)
        );
        let _ = writeln!(
            s,
            "  OEE @ {:<9} {} %  (availability {} %, performance {} %, quality {} %)",
            l["oee"]["station"].as_str().unwrap_or("?"),
            pm(&l["oee"]["oee"], 100.0, 1, reps),
            pm(&l["oee"]["availability"], 100.0, 1, reps),
            pm(&l["oee"]["performance"], 100.0, 1, reps),
            pm(&l["oee"]["quality"], 100.0, 2, reps)
        );
        let _ = writeln!(
            s,
            "  units in/out    {} / {}   rejects {}",
            pm(&l["units_in"], 1.0, 0, reps),
            pm(&l["units_out"], 1.0, 0, reps),
            pm(&l["rejects"], 1.0, 0, reps)
        );
        if !l["reworked"].is_null() {
            let _ = writeln!(
                s,
                "  reworked        {} (rejects sent back upstream, still inside)",
                pm(&l["reworked"], 1.0, 0, reps)
            );
        }
        if !l["units_out_equivalent"].is_null() {
            let stations = l["stations"].as_array().cloned().unwrap_or_default();
            let last = stations
                .last()
                .map(|st| st["unit"].clone())
                .unwrap_or_default();
            let base = l["unit"].as_str().unwrap_or("?");
            let _ = writeln!(
                s,
                "  output          {} {} = {} {base} (rejects and WIP in {base} too)",
                pm(&l["units_out"], 1.0, 0, reps),
                last.as_str().unwrap_or("?"),
                pm(&l["units_out_equivalent"], 1.0, 0, reps),
            );
        }
        let _ = writeln!(
            s,
            "  WIP (mean)      {}   changeovers {} ({} min)",
            pm(&l["wip_mean"], 1.0, 1, reps),
            pm(&l["changeovers"], 1.0, 1, reps),
            pm(&l["changeover_time_s"], 1.0 / 60.0, 1, reps)
        );
        if !l["mean_time_in_system_s"].is_null() {
            let _ = writeln!(
                s,
                "  time in system  {} s",
                pm(&l["mean_time_in_system_s"], 1.0, 3, reps)
            );
        }
        if !l["blocking_probability"].is_null() {
            let _ = writeln!(
                s,
                "  arrivals        {}   lost {}   blocking probability {}",
                pm(&l["arrivals"], 1.0, 0, reps),
                pm(&l["lost"], 1.0, 0, reps),
                pm(&l["blocking_probability"], 1.0, 4, reps)
            );
        }
        let _ = writeln!(
            s,
            "  {:<14}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>12}",
            "station %",
            "work",
            "starve",
            "block",
            "down",
            "setup",
            "micro",
            "planned",
            "units out"
        );
        for st in l["stations"].as_array().cloned().unwrap_or_default() {
            let f = &st["state_fractions"];
            let p = |k: &str| format!("{:.1}", stat(&f[k]).0 * 100.0);
            let _ = writeln!(
                s,
                "  {:<14}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>12.0}",
                st["name"].as_str().unwrap_or("?"),
                p("working"),
                p("starved"),
                p("blocked"),
                p("down"),
                p("setup"),
                p("micro_stop"),
                p("planned_stop"),
                stat(&st["units_out"]).0
            );
        }
        // Lines with level switches: time at each speed step, and how often switches act.
        for st in l["stations"].as_array().cloned().unwrap_or_default() {
            let Some(steps) = st["speed_steps"].as_array().filter(|a| a.len() > 1) else {
                continue;
            };
            let shares: Vec<String> = steps
                .iter()
                .map(|x| {
                    format!(
                        "{} {:.1}",
                        x["name"].as_str().unwrap_or("?"),
                        stat(&x["share"]).0 * 100.0
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "  speed steps %   {}: {}",
                st["name"].as_str().unwrap_or("?"),
                shares.join(", ")
            );
        }
        for sw in l["switches"].as_array().cloned().unwrap_or_default() {
            let _ = writeln!(
                s,
                "  switch {:<9} drives {}: {} switchings/h",
                sw["name"].as_str().unwrap_or("?"),
                sw["machine"].as_str().unwrap_or("?"),
                pm(&sw["switchings_per_h"], 1.0, 1, reps)
            );
        }
    }
    let f = &doc["summary"]["fleet"];
    if f.is_object() {
        let v = |k: &str, scale: f64, digits: usize| pm(&f[k], scale, digits, reps);
        let _ = writeln!(s, "\nfleet ({} vehicles)", v("vehicles", 1.0, 0));
        let _ = writeln!(
            s,
            "  tasks           {} created, {} completed, {} late, {} waiting at the end",
            v("tasks_created", 1.0, 0),
            v("tasks_completed", 1.0, 0),
            v("tasks_late", 1.0, 0),
            v("tasks_waiting_at_end", 1.0, 0)
        );
        let _ = writeln!(
            s,
            "  lead time       mean {} s, p95 {} s   wait for a vehicle: mean {} s, p95 {} s",
            v("lead_time_mean_s", 1.0, 1),
            v("lead_time_p95_s", 1.0, 1),
            v("wait_for_vehicle_mean_s", 1.0, 1),
            v("wait_for_vehicle_p95_s", 1.0, 1)
        );
        let t = &f["time_split"];
        let p = |k: &str| format!("{:.1}", stat(&t[k]).0 * 100.0);
        let _ = writeln!(
            s,
            "  time %          loaded {}  empty {}  loading {}  charging {}  idle {}  in traffic {}  down {}",
            p("loaded_travel"),
            p("empty_travel"),
            p("loading"),
            p("charging"),
            p("idle"),
            p("waiting_in_traffic"),
            p("down")
        );
        let lowest = if f["min_state_of_charge"].is_null() {
            "n/a (no batteries)".to_string()
        } else {
            format!("{} %", v("min_state_of_charge", 100.0, 1))
        };
        let _ = writeln!(
            s,
            "  distance        {} km ({} km empty)   energy {} kWh   charges {}   lowest charge {lowest}",
            v("distance_km", 1.0, 1),
            v("empty_distance_km", 1.0, 1),
            v("energy_kwh", 1.0, 1),
            v("charges", 1.0, 0),
        );
        let _ = writeln!(
            s,
            "  incidents       collisions {}   deadlocks {}   stalls {}   breakdowns {}   line minutes lost to late transports {}",
            v("collisions", 1.0, 0),
            v("deadlocks", 1.0, 0),
            v("stalls", 1.0, 0),
            v("breakdowns", 1.0, 0),
            v("line_minutes_lost", 1.0, 1)
        );
    }
    let n = &doc["summary"]["network"];
    if n.is_object() {
        let _ = writeln!(s, "\nnetwork (pallets)");
        for site in n["sites"].as_array().into_iter().flatten() {
            let v = |k: &str, scale: f64, digits: usize| {
                if site[k].is_null() {
                    "n/a".to_string()
                } else {
                    pm(&site[k], scale, digits, reps)
                }
            };
            let name = site["site"].as_str().unwrap_or("?");
            if site["kind"] == "plant" {
                let _ = writeln!(
                    s,
                    "  {name:<12} plant  made {}  shipped {}  on hand {}  waiting to ship {}",
                    v("pallets_made", 1.0, 0),
                    v("pallets_shipped", 1.0, 0),
                    v("on_hand", 1.0, 0),
                    v("pallets_waiting_to_ship", 1.0, 0)
                );
            } else {
                let _ = writeln!(
                    s,
                    "  {name:<12} dc     orders {}  fill rate {} %  OTIF {} %  on hand {}  orders waiting {}",
                    v("orders", 1.0, 0),
                    v("fill_rate", 100.0, 1),
                    v("otif", 100.0, 1),
                    v("on_hand", 1.0, 0),
                    v("open_orders", 1.0, 0)
                );
            }
        }
        for lane in n["lanes"].as_array().into_iter().flatten() {
            let _ = writeln!(
                s,
                "  lane {} → {}: {} trucks, {} pallets, {} % full",
                lane["from"].as_str().unwrap_or("?"),
                lane["to"].as_str().unwrap_or("?"),
                pm(&lane["trucks"], 1.0, 0, reps),
                pm(&lane["pallets"], 1.0, 0, reps),
                pm(&lane["truck_fill"], 100.0, 1, reps)
            );
        }
    }
    s
}
