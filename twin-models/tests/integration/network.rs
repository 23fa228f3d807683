//! The network beyond one plant: a plant and a DC worked by hand (production booked as
//! pallets, full trucks, orders waiting, OTIF), a slower plant hurting its DC's service,
//! the bundled network replayed with its feed, and clear errors for bad network input.

use crate::{bundled, bundled_text};
use feeds::{Ingestion, parse_ndjson};
use twin_models::kpi::{NetworkKpis, SiteKpis};
use twin_models::{RunSpec, Scenario, load_scenario, plan_feed, simulate, simulate_replay};

const ONE_LANE: &str = r#"
name = "one-lane"
[run]
horizon = "6h"
[[lines]]
name = "L"
[[lines.stations]]
name = "filler"
kind = "filler"
speed = "7200/h"
[[sites]]
name = "P"
kind = "plant"
product = "water"
lines = ["L"]
units_per_pallet = 720
[[sites]]
name = "DC"
kind = "dc"
product = "water"
policy = { kind = "reorder_point", reorder_at = 0, lot = 33 }
demand = { every = "1h", qty = 10, due = "4h" }
[[lanes]]
from = "P"
to = "DC"
lead_time = "2h"
truck = 33
"#;

fn network(s: &Scenario) -> NetworkKpis {
    simulate(
        s,
        RunSpec {
            record_series: false,
            ..RunSpec::of(s)
        },
    )
    .kpis
    .network
    .expect("a scenario with sites reports its network")
}

fn site<'a>(n: &'a NetworkKpis, name: &str) -> &'a SiteKpis {
    n.sites.iter().find(|s| s.site == name).unwrap()
}

#[test]
fn one_plant_one_dc_worked_by_hand() {
    // The plant makes exactly 10 pallets an hour, booked every 15 min. The DC starts empty
    // and orders a lot of 33 at once; customers order 10 every hour from 1 h, due 4 h later.
    // - 3.5 h: 35 pallets made, the first truck (33) leaves; it arrives at 5.5 h.
    // - 4 h: the fourth order takes the position (33 − 40) below 0: a second lot of 33,
    //   which the plant cannot load before the end (it has 2 + 25 by 6 h).
    // - 5.5 h: orders 1 (due 5 h: late), 2 and 3 (on time) ship; 3 pallets stay; orders 4
    //   and 5 (due 8 h, 9 h) wait.
    let n = network(&load_scenario("one-lane.toml", ONE_LANE).unwrap());
    let p = site(&n, "P");
    // The last booking is at 5.75 h: 57 pallets.
    assert_eq!(p.pallets_made, Some(57.0));
    assert_eq!(p.pallets_shipped, Some(33.0));
    assert_eq!(p.on_hand, 24.0);
    assert_eq!(p.pallets_waiting_to_ship, Some(33.0));
    // Short from 0 to 3.5 h and from 4 h to the end.
    assert_eq!(p.stock_outs, 2);
    assert!(
        (p.stock_out_minutes - 330.0).abs() < 1e-6,
        "{}",
        p.stock_out_minutes
    );
    let dc = site(&n, "DC");
    assert_eq!(dc.orders, Some(5));
    assert_eq!(dc.pallets_received, Some(33.0));
    assert_eq!(dc.pallets_in_transit, Some(0.0));
    assert_eq!(dc.on_hand, 3.0);
    assert_eq!(dc.open_orders, Some(2));
    // Two of the three orders due by the end shipped on time; none was on hand when placed.
    assert_eq!(dc.otif, Some(2.0 / 3.0));
    assert_eq!(dc.fill_rate, Some(0.0));
    // Orders waited from 1 h to the end.
    assert_eq!(dc.stock_outs, 1);
    assert!((dc.stock_out_minutes - 300.0).abs() < 1e-6);
    assert_eq!(n.lanes[0].trucks, 1);
    assert_eq!(n.lanes[0].truck_fill, 1.0);
    assert_eq!(n.regions.len(), 1);
    assert_eq!(n.regions[0].orders, 5);
}

#[test]
fn a_slower_plant_hurts_its_dcs_service_and_no_other() {
    let base = bundled("network.toml");
    let slow = load_scenario(
        "network.toml",
        &bundled_text("network.toml").replace("speed = \"20000/h\"", "speed = \"9000/h\""),
    )
    .unwrap();
    let (a, b) = (network(&base), network(&slow));
    let (fast, slow) = (site(&a, "DC-south"), site(&b, "DC-south"));
    // Orders come in faster than the slow plant fills them: fewer served from stock,
    // more still waiting at the end (due a day after they are placed, none is overdue
    // yet, so OTIF holds).
    assert!(
        slow.fill_rate.unwrap() < fast.fill_rate.unwrap() - 0.1,
        "{fast:?} {slow:?}"
    );
    assert!(slow.open_orders.unwrap() > fast.open_orders.unwrap());
    assert!(slow.otif.unwrap() <= fast.otif.unwrap());
    assert!(site(&b, "DC-south").stock_out_minutes > site(&a, "DC-south").stock_out_minutes);
    assert!(site(&b, "P-south").stock_outs > 0);
    // The north is untouched (its own streams).
    assert_eq!(site(&a, "DC-north"), site(&b, "DC-north"));
    // Pallets are kept: made = shipped + on hand at each plant; received + in transit =
    // shipped per lane.
    for n in [&a, &b] {
        for p in n.sites.iter().filter(|s| s.kind == "plant") {
            let initial = 200.0;
            assert_eq!(
                p.pallets_made.unwrap() + initial,
                p.pallets_shipped.unwrap() + p.on_hand,
                "{p:?}"
            );
        }
        let shipped: f64 = n.lanes.iter().map(|l| l.pallets).sum();
        let arrived: f64 = n
            .sites
            .iter()
            .filter(|s| s.kind == "dc")
            .map(|s| s.pallets_received.unwrap() + s.pallets_in_transit.unwrap())
            .sum();
        assert_eq!(shipped, arrived);
    }
}

#[test]
fn the_bundled_network_replays_its_feed_with_orders_from_the_feed() {
    let s = bundled("network.toml");
    let text = bundled_text("feeds/network.ndjson");
    let mut ing = Ingestion::new(0.0);
    let mut refused = 0;
    for r in parse_ndjson(&text) {
        match r {
            Ok(p) => {
                let at = feeds::Origin {
                    source: 0,
                    line: p.line,
                };
                ing.offer(p.event, at);
            }
            Err(_) => refused += 1,
        }
    }
    assert_eq!(refused, 1, "the feed has one broken line");
    let events = ing.flush();
    let demands = |site: &str| {
        events
            .iter()
            .filter(|e| &*e.site == site && e.kind == feeds::EventKind::Demand)
            .count() as u64
    };
    let expected: Vec<(&str, u64)> = ["DC-north", "DC-west", "DC-south"]
        .iter()
        .map(|s| (*s, demands(s)))
        .collect();
    let plan = plan_feed(s.run.start, s.run.horizon, events).unwrap();
    let spec = RunSpec {
        record_series: false,
        ..RunSpec::of(&s)
    };
    let k = simulate_replay(&s, spec, plan).kpis;
    let n = k.network.as_ref().unwrap();
    // The feed brings every customer order: the model generates none.
    for (dc, count) in &expected {
        assert_eq!(site(n, dc).orders, Some(*count), "{dc}");
    }
    // The opening counts of five sites reconcile the twin's figures.
    assert_eq!(k.feed.as_ref().unwrap().stock_counts, 5);
    // KPIs partitioned by region: one DC each.
    let regions: Vec<(&str, u64)> = n
        .regions
        .iter()
        .map(|r| (r.region.as_str(), r.orders))
        .collect();
    assert_eq!(regions.len(), 3);
    for (dc, count) in &expected {
        let region = &site(n, dc).region;
        assert!(regions.contains(&(region.as_str(), *count)), "{regions:?}");
    }
}

#[test]
fn bad_network_input_names_the_field_and_the_reason() {
    let bad = |from: &str, to: &str| {
        let text = bundled_text("network.toml");
        assert!(text.contains(from), "{from}");
        load_scenario("network.toml", &text.replacen(from, to, 1))
            .unwrap_err()
            .to_string()
    };
    let e = bad(
        "from = \"P-north\"\nto = \"DC-north\"",
        "from = \"DC-west\"\nto = \"DC-north\"",
    );
    assert!(
        e.contains("lanes[0].from") && e.contains("a lane runs from a plant to a dc"),
        "{e}"
    );
    let e = bad("lines = [\"L-north\"]", "lines = [\"L-east\"]");
    assert!(
        e.contains("sites[0].lines[0]") && e.contains("no line is named `L-east`"),
        "{e}"
    );
    let e = bad(
        "from = \"P-south\"\nto = \"DC-south\"",
        "from = \"P-south\"\nto = \"DC-west\"",
    );
    assert!(e.contains("already has a lane supplying it"), "{e}");
    assert!(e.contains("dc `DC-south` has no lane supplying it"), "{e}");
    let e = bad("truck = 33", "truck = 0");
    assert!(
        e.contains("lanes[0].truck") && e.contains("positive number of pallets"),
        "{e}"
    );
    let e = bad(
        "units_per_pallet = 720\ninitial = 200\n\n[[sites]]\nname = \"P-south\"",
        "initial = 200\n\n[[sites]]\nname = \"P-south\"",
    );
    assert!(e.contains("sites[0].units_per_pallet"), "{e}");
}
