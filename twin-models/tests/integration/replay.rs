//! Feeds replayed into the twin: line-side counts reset the twin's own stock (a count of
//! nothing starves the line until the fleet brings more), other positions follow the feed.

use crate::fleet::plant_agv;
use feeds::{EventKind, FeedEvent, Timestamp};
use feeds::{Ingestion, parse_ndjson};
use sim::SimTime;
use twin_models::{FeedPlan, RunSpec, Twin, plan_feed, simulate, simulate_replay};

fn event(
    id: &str,
    ts: &str,
    location: &str,
    material: &str,
    kind: EventKind,
    qty: f64,
) -> FeedEvent {
    FeedEvent {
        event_id: id.into(),
        ts: Timestamp::parse(ts).unwrap(),
        site: "plant-agv".into(),
        region: None,
        material: material.into(),
        location: location.into(),
        kind,
        qty,
        unit: "pcs".into(),
        source: None,
        detail: None,
    }
}

fn spec(s: &twin_models::Scenario) -> RunSpec {
    RunSpec {
        record_series: false,
        ..RunSpec::of(s)
    }
}

#[test]
fn a_line_side_count_of_nothing_starves_the_line_until_the_fleet_comes() {
    let s = plant_agv(&[], "6h");
    let plain = simulate(&s, spec(&s)).kpis;
    // At 08:00 (2 h in) someone counts no preforms at L1; caps at L2 are counted high.
    let events = vec![
        event(
            "a",
            "2026-11-23T08:00:00Z",
            "L1.preforms",
            "preforms",
            EventKind::CycleCount,
            0.0,
        ),
        event(
            "b",
            "2026-11-23T08:00:00Z",
            "L2.caps",
            "caps",
            EventKind::CycleCount,
            90_000.0,
        ),
        event(
            "c",
            "2026-11-23T09:00:00Z",
            "warehouse",
            "caps",
            EventKind::Receipt,
            5_000.0,
        ),
        event(
            "d",
            "2026-11-23T09:30:00Z",
            "warehouse",
            "caps",
            EventKind::Consumption,
            1_200.0,
        ),
        event(
            "e",
            "2026-11-23T13:00:00Z",
            "warehouse",
            "caps",
            EventKind::Receipt,
            7.0,
        ),
    ];
    let plan = plan_feed(s.run.start, s.run.horizon, events).unwrap();
    assert_eq!(plan.after_horizon, 1, "13:00 is past a 6 h run from 06:00");
    let replayed = simulate_replay(&s, spec(&s), plan).kpis;
    let lost = |k: &twin_models::kpi::RunKpis, line: &str| {
        k.logistics
            .iter()
            .find(|l| l.line == line)
            .unwrap()
            .minutes_starved_for_material
    };
    assert_eq!(lost(&plain, "L1"), 0.0);
    let starved = lost(&replayed, "L1");
    assert!(
        starved > 0.5 && starved < 30.0,
        "L1 stands until a load of preforms arrives: {starved} min"
    );
    let feed = replayed.feed.as_ref().unwrap();
    assert_eq!((feed.events_applied, feed.line_side_counts), (4, 2));
    // Both counts moved the twin's figure: L1 down to nothing, L2 far up.
    assert!(feed.line_side_drift_abs > 90_000.0 - 30_000.0);
    let wh = feed
        .positions
        .iter()
        .find(|p| p.location == "warehouse")
        .unwrap();
    assert_eq!(wh.on_hand, 3_800.0);
    // L1 made no more units for the stop. Not necessarily fewer: a two-minute stop of a
    // machine that is not the line's bottleneck can be made up from its buffers (on this
    // seed it is, to the unit). Never more: its breakdowns come after amounts of work, so a
    // stop only delays units, and a line with blocking after service finishes no unit
    // earlier for a later input.
    assert!(replayed.lines[0].units_out <= plain.lines[0].units_out);
}

#[test]
fn a_feed_needs_the_scenario_start() {
    let s = plant_agv(&[("start = \"2026-11-23T06:00:00Z\"\n", "")], "2h");
    assert_eq!(s.run.start, None);
    assert!(plan_feed(s.run.start, s.run.horizon, Vec::new()).is_err());
    let bad = twin_models::load_scenario(
        "x.toml",
        &crate::bundled_text("plant-agv.toml").replace("2026-11-23T06:00:00Z", "6 am"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        bad.contains("run.start") && bad.contains("RFC 3339"),
        "{bad}"
    );
}

#[test]
fn a_warehouse_running_out_raises_an_alert_first_and_counts_the_stock_out() {
    // 10,000 units of shrink film (a material the twin does not stock) counted at 06:00;
    // 1,000 taken every 10 min from 06:10 to 07:40, when nothing is left; 20,000 received
    // at 08:40; the run ends at 09:00.
    let s = plant_agv(&[], "3h");
    let mut events = vec![event(
        "count",
        "2026-11-23T06:00:00Z",
        "warehouse",
        "shrink-film",
        EventKind::CycleCount,
        10_000.0,
    )];
    for k in 1..=10 {
        let ts = format!("2026-11-23T{:02}:{:02}:00Z", 6 + k * 10 / 60, k * 10 % 60);
        events.push(event(
            &format!("use-{k:02}"),
            &ts,
            "warehouse",
            "shrink-film",
            EventKind::Consumption,
            1_000.0,
        ));
    }
    events.push(event(
        "in",
        "2026-11-23T08:40:00Z",
        "warehouse",
        "shrink-film",
        EventKind::Receipt,
        20_000.0,
    ));
    let plan = plan_feed(s.run.start, s.run.horizon, events).unwrap();
    let feed = simulate_replay(&s, spec(&s), plan).kpis.feed.unwrap();
    let p = feed
        .positions
        .iter()
        .find(|p| p.location == "warehouse")
        .unwrap();
    assert_eq!(p.on_hand, 20_000.0);
    assert_eq!(p.stock_outs, 1);
    assert!(
        (p.stock_out_minutes - 60.0).abs() < 1e-9,
        "{}",
        p.stock_out_minutes
    );
    // On hand over the 3 h: 600 s at each of 10,000 … 1,000, nothing for an hour, then
    // 20,000 for 20 min: (600 · 55,000 + 1,200 · 20,000) / 10,800.
    let average = (600.0 * 55_000.0 + 1_200.0 * 20_000.0) / 10_800.0;
    assert!((p.average_on_hand.unwrap() - average).abs() < 1e-6);
    assert!((p.turns.unwrap() - 10_000.0 / average).abs() < 1e-9);
    // The forecast takes outflow by the hour: at 07:00 the first hour closes with 5,000
    // taken (06:10 … 06:50); the 4,000 left after the take at 07:00 last 0.8 h at that
    // rate, under the 4 h warning: an alert at 07:00, 40 min before the stock-out.
    assert_eq!(feed.alerts.len(), 2, "{:?}", feed.alerts);
    let (warn, out) = (&feed.alerts[0], &feed.alerts[1]);
    assert_eq!(
        (warn.kind.as_str(), warn.at_s),
        ("projected_stock_out", 3_600.0)
    );
    assert!((warn.rate_per_h.unwrap() - 5_000.0).abs() < 1e-9);
    assert!(warn.hint.contains("runs out in 0.8 h"), "{}", warn.hint);
    assert_eq!(
        (out.kind.as_str(), out.at_s, out.on_hand.unwrap()),
        ("stock_out", 6_000.0, 0.0)
    );
}

#[test]
fn a_feed_offered_hour_by_hour_while_the_twin_runs_ends_as_the_replay_of_the_whole_file() {
    // The bundled three-day feed, first day: once whole before the run, once as a live
    // twin sees it, released hour by hour just ahead of its clock.
    let s = plant_agv(&[], "24h");
    let spec = spec(&s);
    let events = || {
        let mut ing = Ingestion::new(0.0);
        for p in parse_ndjson(&crate::bundled_text("feeds/plant-agv.ndjson")).flatten() {
            let at = feeds::Origin {
                source: 0,
                line: p.line,
            };
            ing.offer(p.event, at);
        }
        ing
    };
    let whole = plan_feed(s.run.start, s.run.horizon, events().flush()).unwrap();
    assert!(whole.events.len() > 500);
    let replayed = simulate_replay(&s, spec, whole).kpis;
    let mut ing = events();
    let start = s.run.start.unwrap();
    // A live twin takes every stock's receipts from the feed, as the replay of a feed
    // that reports on them all does.
    let mut twin = Twin::live(&s, spec, start);
    for hour in 1..=24u64 {
        let clock = SimTime(hour * 3_600_000_000_000);
        twin.offer(ing.release_until(Timestamp(start.0 + clock.0 as i64)))
            .unwrap();
        twin.advance_to(clock);
        assert_eq!(twin.now(), clock);
    }
    assert!(twin.done());
    // The rest of the file is past the horizon: counted, as the replay counts it.
    twin.offer(ing.flush()).unwrap();
    let live = twin.finish().kpis;
    assert!(live.feed.as_ref().unwrap().events_after_horizon > 1000);
    assert_eq!(
        serde_json::to_string(&live).unwrap(),
        serde_json::to_string(&replayed).unwrap()
    );
}

#[test]
fn an_event_the_twin_has_passed_applies_when_it_arrives() {
    // 500 units of shrink film counted at 06:00 and all taken at 07:00; the take arrives only
    // when the twin is at 08:00, so the stock-out is booked at 08:00 (2 h in), not 07:00.
    let s = plant_agv(&[], "3h");
    let mut twin = Twin::with_feed(&s, spec(&s), FeedPlan::default());
    let count = event(
        "n",
        "2026-11-23T06:00:00Z",
        "warehouse",
        "shrink-film",
        EventKind::CycleCount,
        500.0,
    );
    twin.offer(vec![count]).unwrap();
    twin.advance_to(SimTime(7_200_000_000_000));
    let take = event(
        "t",
        "2026-11-23T07:00:00Z",
        "warehouse",
        "shrink-film",
        EventKind::Consumption,
        500.0,
    );
    twin.offer(vec![take]).unwrap();
    // Past the horizon (09:00): counted, left out.
    let after = event(
        "x",
        "2026-11-23T09:30:00Z",
        "warehouse",
        "shrink-film",
        EventKind::Receipt,
        1.0,
    );
    twin.offer(vec![after]).unwrap();
    let feed = twin.finish().kpis.feed.unwrap();
    assert_eq!((feed.events_applied, feed.events_after_horizon), (2, 1));
    let out: Vec<(&str, f64)> = feed
        .alerts
        .iter()
        .map(|a| (a.kind.as_str(), a.at_s))
        .collect();
    assert_eq!(out, [("stock_out", 7_200.0)]);
    let p = &feed.positions[0];
    assert!(
        (p.stock_out_minutes - 60.0).abs() < 1e-9,
        "{}",
        p.stock_out_minutes
    );
}

#[test]
fn a_silent_site_raises_a_feed_gap_once_per_silence() {
    let s = plant_agv(&[], "12h");
    let ev =
        |id: &str, ts: &str| event(id, ts, "warehouse", "shrink-film", EventKind::Receipt, 1.0);
    // Replayed: events at 06:00 and 07:00, then 16:00. The silence is seen when the next
    // event comes: 9 h without a word.
    let plan = plan_feed(
        s.run.start,
        s.run.horizon,
        vec![
            ev("a", "2026-11-23T06:00:00Z"),
            ev("b", "2026-11-23T07:00:00Z"),
            ev("c", "2026-11-23T16:00:00Z"),
        ],
    )
    .unwrap();
    let feed = simulate_replay(&s, spec(&s), plan).kpis.feed.unwrap();
    let gaps: Vec<(f64, f64)> = feed
        .alerts
        .iter()
        .filter(|a| a.kind == "feed_gap")
        .map(|a| (a.at_s, a.silent_s.unwrap()))
        .collect();
    assert_eq!(gaps, [(10.0 * 3600.0, 9.0 * 3600.0)]);
    // Live, the twin notices while the site is silent: at its first look past 6 h.
    let mut twin = Twin::live(&s, spec(&s), s.run.start.unwrap());
    twin.set_gap_alert(sim::SimDuration(3 * 3600 * 1_000_000_000));
    twin.offer(vec![
        ev("a", "2026-11-23T06:00:00Z"),
        ev("b", "2026-11-23T07:00:00Z"),
    ])
    .unwrap();
    for hour in 1..=6 {
        twin.advance_to(SimTime(hour * 3_600_000_000_000));
    }
    let gaps: Vec<(f64, f64)> = twin
        .feed_alerts()
        .iter()
        .filter(|a| a.kind == "feed_gap")
        .map(|a| (a.at_s, a.silent_s.unwrap()))
        .collect();
    assert_eq!(
        gaps,
        [(5.0 * 3600.0, 4.0 * 3600.0)],
        "once, at 5 h (4 h after 07:00)"
    );
    assert!(
        twin.feed_alerts()[0]
            .hint
            .contains("no event from plant-agv for 4.0 h")
    );
}

/// A replay handled in steps (`handle_events_to`, as `replay --out` writes its outputs)
/// is the replay made at once: feed-gap alerts are looked for only at the horizon, as one
/// `advance_to(horizon)` does, not at every step.
#[test]
fn a_replay_handled_in_steps_is_the_replay_made_at_once() {
    // Five days on a three-day feed: every site falls silent for days.
    let s = plant_agv(&[], "120h");
    let spec = spec(&s);
    let plan = || {
        let mut ing = Ingestion::new(0.0);
        for p in parse_ndjson(&crate::bundled_text("feeds/plant-agv.ndjson")).flatten() {
            ing.offer(
                p.event,
                feeds::Origin {
                    source: 0,
                    line: p.line,
                },
            );
        }
        plan_feed(s.run.start, s.run.horizon, ing.flush()).unwrap()
    };
    let at_once = simulate_replay(&s, spec, plan()).kpis;
    let mut twin = Twin::with_feed(&s, spec, plan());
    while !twin.done() {
        twin.handle_events_to(SimTime(twin.now().0 + 7 * 3_600_000_000_000));
    }
    let stepped = twin.finish().kpis;
    let gaps = |k: &twin_models::kpi::RunKpis| {
        k.feed
            .as_ref()
            .unwrap()
            .alerts
            .iter()
            .filter(|a| a.kind == "feed_gap")
            .count()
    };
    assert!(gaps(&at_once) > 0, "sites fall silent");
    assert_eq!(
        serde_json::to_value(&stepped).unwrap(),
        serde_json::to_value(&at_once).unwrap()
    );
}
