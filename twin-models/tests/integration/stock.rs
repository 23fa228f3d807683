//! Warehouse stock with replenishment policies: orders worked out by hand, a stock that
//! starts empty starving the lines until the supplier comes (with the alerts in order),
//! the kanban loop, a count from a feed, and clear errors for bad stock input.

use crate::fleet::{fleet, plant_agv};
use feeds::{EventKind, FeedEvent, Timestamp};
use twin_models::kpi::{PlantAlert, StockKpis};
use twin_models::{RunSpec, Scenario, load_scenario, plan_feed, simulate, simulate_replay};

const PREFORMS: &str = r#"[[stock]]
material = "preforms"
at = "warehouse"
initial = 1_400_000
lead_time = "tri(8h, 12h, 24h)"
policy = { kind = "reorder_point", reorder_at = 700_000, lot = 800_000 }"#;

/// The bundled plant without warm-up, with its preforms stock replaced by `stock`.
fn with_preforms(stock: &str, horizon: &str) -> Scenario {
    plant_agv(
        &[("warmup = \"1h\"", "warmup = \"0s\""), (PREFORMS, stock)],
        horizon,
    )
}

fn run(s: &Scenario) -> twin_models::kpi::RunKpis {
    simulate(
        s,
        RunSpec {
            record_series: false,
            ..RunSpec::of(s)
        },
    )
    .kpis
}

fn stock<'a>(k: &'a twin_models::kpi::RunKpis, material: &str) -> &'a StockKpis {
    k.stock.iter().find(|s| s.material == material).unwrap()
}

fn alerts<'a>(k: &'a twin_models::kpi::RunKpis, kind: &str) -> Vec<&'a PlantAlert> {
    k.alerts.iter().filter(|a| a.kind == kind).collect()
}

#[test]
fn a_reorder_point_orders_whole_lots_when_the_position_falls_to_it() {
    // 300,000 preforms, s = 200,000, Q = 150,000, delivered 30 min after the order. Both
    // lines take loads of 15,000 (L1) and 15,000 (L2).
    let s = with_preforms(
        r#"[[stock]]
material = "preforms"
at = "warehouse"
initial = 300_000
lead_time = "30min"
policy = { kind = "reorder_point", reorder_at = 200_000, lot = 150_000 }"#,
        "24h",
    );
    let k = run(&s);
    let p = stock(&k, "preforms");
    let (initial, reorder_at, lot) = (300_000.0, 200_000.0, 150_000.0);
    // The position (on hand + on order) only falls by withdrawals and rises by lots: the
    // fewest lots that keep it above s after the last withdrawal.
    let expected = ((reorder_at - (initial - p.withdrawn)) / lot).floor() + 1.0;
    assert_eq!(p.orders_placed as f64, expected, "{p:?}");
    assert_eq!(p.units_ordered, expected * lot);
    let received = p.units_ordered - p.on_order;
    assert_eq!(p.receipts as f64 * lot, received);
    assert_eq!(p.on_hand, initial + received - p.withdrawn, "conservation");
    // 30 min of lead time is well inside the cover above s: never short.
    assert_eq!((p.stock_outs, p.fill_rate), (0, 1.0));
    assert!(p.least_on_hand >= reorder_at - lot);
    assert!(p.calls > 40 && p.withdrawn == p.calls as f64 * 15_000.0);
}

#[test]
fn an_empty_warehouse_starves_the_lines_until_the_supplier_comes() {
    // Nothing in stock, one lot of 600,000 ordered at once and delivered after 3 h.
    let s = with_preforms(
        r#"[[stock]]
material = "preforms"
at = "warehouse"
initial = 0
lead_time = "3h"
policy = { kind = "reorder_point", reorder_at = 0, lot = 600_000 }"#,
        "6h",
    );
    let plain = run(&with_preforms(PREFORMS, "6h"));
    let k = run(&s);
    let p = stock(&k, "preforms");
    assert_eq!((p.orders_placed, p.receipts), (1, 1));
    assert_eq!(p.stock_outs, 1);
    // The first call (the first line down to its trigger) starts the stock-out; the receipt
    // at 3 h ends it, serving every waiting call.
    let out = alerts(&k, "stock_out");
    assert_eq!(out.len(), 1, "{:?}", k.alerts);
    let first_call = out[0].at_s;
    assert!(first_call > 0.0 && first_call < 10_800.0);
    // To the nanosecond the clock keeps (the difference of two seconds figures may round).
    let wait = out[0].next_receipt_in_s.unwrap();
    assert!((wait - (10_800.0 - first_call)).abs() < 1e-9, "{wait}");
    assert!((p.stock_out_minutes - (10_800.0 - first_call) / 60.0).abs() < 1e-6);
    assert_eq!(p.calls_waiting_at_end, 0);
    assert!(p.fill_rate < 1.0);
    // Both lines run out at line side before then, each with an alert that names the
    // warehouse and the receipt.
    let starved = alerts(&k, "line_starved");
    for line in ["L1", "L2"] {
        let a = starved
            .iter()
            .find(|a| a.line.as_deref() == Some(line))
            .unwrap_or_else(|| panic!("{line} starved: {:?}", k.alerts));
        assert_eq!(a.material.as_deref(), Some("preforms"));
        assert!(a.at_s > first_call && a.at_s < 10_800.0);
        assert!(a.hint.contains("warehouse has 0"), "{}", a.hint);
        assert!(a.hint.contains("next supplier receipt"), "{}", a.hint);
        let lost = |k: &twin_models::kpi::RunKpis| {
            k.logistics
                .iter()
                .find(|l| l.line == line)
                .unwrap()
                .minutes_starved_for_material
        };
        assert_eq!(lost(&plain), 0.0);
        // Stood from running out until the first load after the receipt arrived.
        assert!(
            lost(&k) > (10_800.0 - a.at_s) / 60.0,
            "{line}: {}",
            lost(&k)
        );
    }
    // Alerts come in time order.
    let times: Vec<f64> = k.alerts.iter().map(|a| a.at_s).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[test]
fn kanban_bins_cycle_and_the_loop_stays_whole() {
    let (bins, bin) = (3.0, 200_000.0);
    let s = with_preforms(
        r#"[[stock]]
material = "preforms"
at = "warehouse"
initial = 600_000
lead_time = "uniform(1h, 2h)"
policy = { kind = "kanban", bins = 3, bin_size = 200_000 }"#,
        "24h",
    );
    let k = run(&s);
    let p = stock(&k, "preforms");
    // Every emptied bin went back to the supplier: each order is one bin per bin emptied.
    assert!(p.orders_placed >= 3, "{p:?}");
    assert_eq!(p.units_ordered % bin, 0.0);
    // The loop: stock plus bins on order is always (bins − 1, bins] bins' worth.
    let in_loop = p.on_hand + p.on_order;
    assert!(
        in_loop > (bins - 1.0) * bin && in_loop <= bins * bin,
        "{p:?}"
    );
    assert_eq!(
        p.on_hand,
        600_000.0 + (p.units_ordered - p.on_order) - p.withdrawn
    );
}

#[test]
fn a_forecast_cover_waits_for_a_rate_then_orders_up_to_its_cover() {
    let s = with_preforms(
        r#"[[stock]]
material = "preforms"
at = "warehouse"
initial = 400_000
lead_time = "1h"
policy = { kind = "forecast_cover", reorder_cover = "8h", cover = "16h", alpha = 0.5 }"#,
        "24h",
    );
    let k = run(&s);
    let p = stock(&k, "preforms");
    // About 39,000 an hour: 400,000 covers about 10 h, so the first order comes once the
    // position covers less than 8 h, and every order lifts it to about 16 h.
    assert!(p.orders_placed >= 1, "{p:?}");
    assert_eq!(p.stock_outs, 0, "{p:?}");
    let hours_cover = p.units_ordered / p.orders_placed as f64 / 39_000.0;
    assert!(
        hours_cover > 4.0 && hours_cover < 12.0,
        "{hours_cover} h a lot"
    );
}

fn event(id: &str, ts: &str, kind: EventKind, qty: f64) -> FeedEvent {
    FeedEvent {
        event_id: id.into(),
        ts: Timestamp::parse(ts).unwrap(),
        site: "plant-agv".into(),
        region: None,
        material: "preforms".into(),
        location: "warehouse".into(),
        kind,
        qty,
        unit: "pcs".into(),
        source: None,
        detail: None,
    }
}

#[test]
fn a_fed_stock_takes_counts_and_receipts_from_the_feed_and_proposes_orders() {
    // Counted at 100,000 at 06:00 (the twin thought 1,400,000): below s = 700,000, so the
    // policy proposes an order; the feed's receipt of 800,000 at 07:00 is the delivery.
    let s = with_preforms(PREFORMS, "3h");
    let events = vec![
        event(
            "n",
            "2026-11-23T06:00:00Z",
            EventKind::CycleCount,
            100_000.0,
        ),
        event("r", "2026-11-23T07:00:00Z", EventKind::Receipt, 800_000.0),
    ];
    let plan = plan_feed(s.run.start, s.run.horizon, events).unwrap();
    let spec = RunSpec {
        record_series: false,
        ..RunSpec::of(&s)
    };
    let k = simulate_replay(&s, spec, plan).kpis;
    let feed = k.feed.as_ref().unwrap();
    assert_eq!(feed.stock_counts, 1);
    assert_eq!(feed.stock_drift_abs, 1_300_000.0);
    let p = stock(&k, "preforms");
    assert_eq!(p.orders_placed, 0, "the feed brings the deliveries");
    assert_eq!(p.receipts, 1);
    assert_eq!(p.on_hand, 100_000.0 + 800_000.0 - p.withdrawn);
    let proposed = alerts(&k, "reorder");
    assert_eq!(proposed.len(), 1, "{:?}", k.alerts);
    assert_eq!(proposed[0].at_s, 0.0);
    // One lot lifts the position (100,000) above s.
    assert!(
        proposed[0].hint.starts_with("order 800000 preforms"),
        "{}",
        proposed[0].hint
    );
}

#[test]
fn transports_past_due_raise_an_alert_before_they_arrive() {
    // Preform loads due 1 s after the call cannot be on time.
    let s = plant_agv(
        &[(
            "at = \"L1.preforms\"\nfrom = \"warehouse\"\ndue = \"20min\"",
            "at = \"L1.preforms\"\nfrom = \"warehouse\"\ndue = \"1s\"",
        )],
        "4h",
    );
    let k = run(&s);
    let late = alerts(&k, "late_transport");
    assert!(!late.is_empty());
    assert!(late.iter().all(|a| a.line.as_deref() == Some("L1")
        && a.material.as_deref() == Some("preforms")
        && a.hint.contains("a load of preforms for L1 is past due")));
    // Every late delivery was announced (warm-up deliveries are not counted as late).
    assert!(late.len() as u64 >= fleet(&k).tasks_late);
}

#[test]
fn bad_stock_input_names_the_field_and_the_reason() {
    let bad = |from: &str, to: &str| {
        let text = crate::bundled_text("plant-agv.toml").replace(from, to);
        assert_ne!(text, crate::bundled_text("plant-agv.toml"), "{from}");
        load_scenario("plant-agv.toml", &text)
            .unwrap_err()
            .to_string()
    };
    let e = bad(
        "material = \"caps\"\nat = \"warehouse\"",
        "material = \"caps\"\nat = \"cellar\"",
    );
    assert!(
        e.contains("stock[1].at") && e.contains("no location or group is named `cellar`"),
        "{e}"
    );
    let e = bad("order_up_to = 1_500_000", "order_up_to = 500_000");
    assert!(
        e.contains("stock[1].policy.order_up_to") && e.contains("must be above reorder_at"),
        "{e}"
    );
    let e = bad(
        "lead_time = \"tri(8h, 12h, 24h)\"\npolicy = { kind = \"kanban\"",
        "lead_time = \"tri(8h, 2h, 24h)\"\npolicy = { kind = \"kanban\"",
    );
    assert!(
        e.contains("stock[2].lead_time") && e.contains("min ≤ mode ≤ max"),
        "{e}"
    );
    let e = bad("kind = \"kanban\", bins = 4", "kind = \"kanbam\", bins = 4");
    assert!(e.contains("stock[2].policy") && e.contains("kanbam"), "{e}");
    let e = bad("initial = 1_400_000", "initial = -5");
    assert!(
        e.contains("stock[0].initial") && e.contains("0 or more"),
        "{e}"
    );
}
