//! Feed events: parsing with reasons for every rejected line, the ingestion rules (once,
//! in time order within the window, late ones as corrections) and stock positions, with a
//! property test that reordering within the window and duplicating never change the result.

use feeds::{
    Admission, Applied, Conflict, EventKind, FeedEvent, Ingestion, Origin, StockLedger, Timestamp,
    decode, parse_csv, parse_ndjson, parse_ndjson_line,
};
use proptest::prelude::*;

fn line(id: &str, ts: &str, kind: &str, qty: f64) -> String {
    format!(
        r#"{{"event_id":"{id}","ts":"{ts}","site":"P1","material":"caps","location":"WH","kind":"{kind}","qty":{qty},"unit":"pcs"}}"#
    )
}

fn event(id: &str, ts: &str, kind: &str, qty: f64) -> FeedEvent {
    parse_ndjson_line(&line(id, ts, kind, qty), 1).unwrap()
}

#[test]
fn timestamps_read_rfc3339_with_offsets() {
    let utc = Timestamp::parse("2026-11-23T06:00:00Z").unwrap();
    let cet = Timestamp::parse("2026-11-23T07:00:00.5+01:00").unwrap();
    assert_eq!(cet.0 - utc.0, 500_000_000);
    assert_eq!(utc.to_string(), "2026-11-23T06:00:00Z");
    assert!(Timestamp::parse("2026-11-23 06:00").is_err());
    assert!(
        Timestamp::parse("2026-11-23T06:00:00").is_err(),
        "no offset"
    );
}

#[test]
fn bad_lines_are_rejected_with_the_field_and_reason() {
    let reason = |text: &str| parse_ndjson_line(text, 7).unwrap_err();
    let ok = line("e1", "2026-11-23T06:00:00Z", "receipt", 10.0);
    assert!(parse_ndjson_line(&ok, 1).is_ok());
    let cases = [
        (
            ok.replace("\"event_id\":\"e1\",", ""),
            "`event_id` is missing",
        ),
        (ok.replace("2026-11-23T06:00:00Z", "yesterday"), "`ts`"),
        (
            ok.replace("receipt", "theft"),
            "`kind`: `theft` is not one of",
        ),
        (ok.replace("10", "-10"), "negative"),
        (
            ok.replace("\"unit\":\"pcs\"", "\"unit\":\" \""),
            "`unit` is missing",
        ),
        (
            ok.replace("}", ",\"colour\":\"red\"}"),
            "unknown field `colour`",
        ),
        (ok.replace("\"qty\":10", "\"qty\":\"ten\""), "invalid type"),
        (ok[..20].to_string(), "EOF"),
        (
            ok.replace(
                "\"material\":\"caps\"",
                "\"material\":\"caps\",\"sku\":\"labels\"",
            ),
            "disagree",
        ),
    ];
    for (text, expect) in cases {
        let r = reason(&text);
        assert_eq!(r.line, 7);
        assert_eq!(r.raw, text);
        assert!(r.reason.contains(expect), "`{}` lacks `{expect}`", r.reason);
    }
    // Adjustments may be negative; a sku stands for the material.
    let adj = line("a", "2026-11-23T06:00:00Z", "adjustment", -3.0);
    assert_eq!(parse_ndjson_line(&adj, 1).unwrap().qty, -3.0);
    let sku = ok.replace("\"material\"", "\"sku\"");
    assert_eq!(&*parse_ndjson_line(&sku, 1).unwrap().material, "caps");
}

#[test]
fn ndjson_and_csv_give_the_same_events_and_keep_line_numbers() {
    let ndjson = format!(
        "{}\n\n{}\nnot json\n",
        line("e1", "2026-11-23T06:00:00Z", "receipt", 10.0),
        line("e2", "2026-11-23T06:01:00Z", "consumption", 4.0)
    );
    let csv = "qty,unit,event_id,ts,site,sku,location,kind,source\n\
               10,pcs,e1,2026-11-23T06:00:00Z,P1,caps,WH,receipt,\n\
               4,pcs,e2,2026-11-23T06:01:00Z,P1,caps,WH,consumption,\n\
               4,pcs,e3\n";
    let from_json: Vec<_> = parse_ndjson(&ndjson).collect();
    let from_csv = parse_csv(csv);
    assert_eq!(from_json.len(), 3);
    assert_eq!(from_csv.len(), 3);
    for k in 0..2 {
        assert_eq!(
            from_json[k].as_ref().unwrap().event,
            from_csv[k].as_ref().unwrap().event
        );
    }
    let bad_json = from_json[2].as_ref().unwrap_err();
    assert_eq!((bad_json.line, bad_json.raw.as_str()), (4, "not json"));
    let bad_csv = from_csv[2].as_ref().unwrap_err();
    assert_eq!(bad_csv.line, 4);
    assert!(
        bad_csv.reason.contains("3 fields, the header has 9"),
        "{}",
        bad_csv.reason
    );
}

#[test]
fn duplicates_change_nothing_and_reused_ids_are_conflicts() {
    let at = |line| Origin { source: 3, line };
    let mut ing = Ingestion::new(60.0);
    let e = event("e1", "2026-11-23T06:00:00Z", "receipt", 10.0);
    assert_eq!(ing.offer(e.clone(), at(1)), Admission::Held);
    assert_eq!(ing.offer(e.clone(), at(2)), Admission::Duplicate);
    let other = FeedEvent {
        qty: 11.0,
        ..e.clone()
    };
    // The first version was still held: it is withdrawn, so neither applies.
    assert_eq!(
        ing.offer(other.clone(), at(3)),
        Admission::Conflict(Box::new(Conflict {
            event: other.clone(),
            at: at(3),
            first: at(1),
            withdrawn: Some(e.clone()),
            first_applied: false,
        }))
    );
    // A repeat of either version is a duplicate; a third version is one more conflict.
    assert_eq!(ing.offer(e.clone(), at(4)), Admission::Duplicate);
    assert_eq!(ing.offer(other, at(5)), Admission::Duplicate);
    let third = FeedEvent { qty: 12.0, ..e };
    assert!(matches!(
        ing.offer(third, at(6)),
        Admission::Conflict(c) if c.first == at(1) && c.withdrawn.is_none() && !c.first_applied
    ));
    assert!(ing.flush().is_empty());
    let c = ing.counters();
    assert_eq!(
        (c.accepted, c.duplicates, c.quarantined, c.applied),
        (0, 3, 3, 0)
    );
    assert_eq!(6, c.applied + c.duplicates + c.quarantined, "lines in");
}

/// Two events with one `event_id` and different content: the first in file order won, so
/// the KPIs depended on line order. Now neither applies, in either order, and both are
/// refused; the counters are the same whatever the order.
#[test]
fn regression_conflicting_duplicates_do_not_depend_on_line_order() {
    let a = event("x", "2026-11-23T06:00:00Z", "receipt", 10.0);
    let b = FeedEvent {
        qty: 99.0,
        ..a.clone()
    };
    let keep = event("y", "2026-11-23T06:05:00Z", "receipt", 1.0);
    let run = |order: [&FeedEvent; 3]| {
        let mut ing = Ingestion::new(0.0);
        for (k, e) in order.into_iter().enumerate() {
            ing.offer(
                e.clone(),
                Origin {
                    source: 0,
                    line: k + 1,
                },
            );
        }
        let mut ledger = StockLedger::new();
        for e in ing.flush() {
            ledger.apply(&e).unwrap();
        }
        let on_hand = ledger.position("P1", "WH", "caps").unwrap().on_hand;
        (on_hand, ing.counters().clone())
    };
    let one = run([&a, &keep, &b]);
    let other = run([&b, &a, &keep]);
    assert_eq!(one, other);
    assert_eq!(one.0, 1.0, "only `y` applies");
    assert_eq!((one.1.quarantined, one.1.applied), (2, 1));
}

/// In a live run a version that applied before its rival came (past the lateness window)
/// cannot be taken back: it stands, and the rival is refused naming it.
#[test]
fn a_conflict_after_the_first_version_applied_keeps_the_first() {
    let mut ing = Ingestion::new(0.0);
    let a = event("x", "2026-11-23T06:00:00Z", "receipt", 10.0);
    ing.offer(a.clone(), Origin { source: 0, line: 1 });
    assert_eq!(
        ing.release_until(Timestamp::parse("2026-11-23T06:00:00Z").unwrap()),
        vec![a.clone()]
    );
    let b = FeedEvent { qty: 5.0, ..a };
    assert_eq!(
        ing.offer(b.clone(), Origin { source: 1, line: 7 }),
        Admission::Conflict(Box::new(Conflict {
            event: b,
            at: Origin { source: 1, line: 7 },
            first: Origin { source: 0, line: 1 },
            withdrawn: None,
            first_applied: true,
        }))
    );
    let c = ing.counters();
    assert_eq!((c.applied, c.quarantined), (1, 1));
}

/// What a quarantine shows of an event whose line is not kept reads back as the event.
#[test]
fn an_event_written_as_ndjson_reads_back_the_same() {
    let plain = event("p", "2026-11-23T07:00:00.5+01:00", "receipt", 2.5);
    let full = parse_ndjson_line(
        r#"{"event_id":"d","ts":"2026-11-23T06:00:00Z","site":"P1","region":"EU","material":"caps","location":"WH","kind":"demand","qty":3,"unit":"pcs","source":"erp","order":"o1","due":"2026-11-24T06:00:00Z"}"#,
        1,
    )
    .unwrap();
    for e in [plain, full] {
        assert_eq!(parse_ndjson_line(&e.to_ndjson(), 1).unwrap(), e);
    }
}

#[test]
fn the_window_orders_events_and_later_ones_are_corrections() {
    // Window 60 s. Arrivals: 06:00, 06:02 (releases 06:00), 05:59:30 (older than the
    // released 06:00: a correction, not counted as reordered), 06:01:30 (within the window:
    // held, applies in order, counted as reordered).
    let mut ing = Ingestion::new(60.0);
    ing.offer(
        event("a", "2026-11-23T06:00:00Z", "receipt", 100.0),
        Origin::default(),
    );
    assert!(ing.ready().is_empty(), "held for the window");
    ing.offer(
        event("b", "2026-11-23T06:02:00Z", "consumption", 1.0),
        Origin::default(),
    );
    let first: Vec<String> = ing
        .ready()
        .into_iter()
        .map(|e| e.event_id.to_string())
        .collect();
    assert_eq!(first, ["a"]);
    assert_eq!(
        ing.offer(
            event("late", "2026-11-23T05:59:30Z", "consumption", 5.0),
            Origin::default()
        ),
        Admission::Late
    );
    assert_eq!(
        ing.offer(
            event("c", "2026-11-23T06:01:30Z", "consumption", 2.0),
            Origin::default()
        ),
        Admission::Held
    );
    let rest: Vec<String> = ing
        .flush()
        .into_iter()
        .map(|e| e.event_id.to_string())
        .collect();
    assert_eq!(rest, ["late", "c", "b"]);
    let k = ing.counters();
    assert_eq!((k.late_corrections, k.reordered, k.applied), (1, 1, 4));
}

#[test]
fn a_live_clock_releases_what_it_has_passed_and_later_arrivals_are_corrections() {
    let ts = |t: &str| Timestamp::parse(t).unwrap();
    let ids = |v: Vec<FeedEvent>| {
        v.into_iter()
            .map(|e| e.event_id.to_string())
            .collect::<Vec<_>>()
    };
    let mut ing = Ingestion::new(0.0);
    ing.offer(
        event("b", "2026-11-23T06:00:20Z", "consumption", 1.0),
        Origin::default(),
    );
    ing.offer(
        event("a", "2026-11-23T06:00:10Z", "receipt", 100.0),
        Origin::default(),
    );
    ing.offer(
        event("c", "2026-11-23T06:01:00Z", "consumption", 1.0),
        Origin::default(),
    );
    // The clock at 06:00:30 passes a and b (in time order, not arrival order), not c.
    assert_eq!(
        ids(ing.release_until(ts("2026-11-23T06:00:30Z"))),
        ["a", "b"]
    );
    // Stamped before the clock but after the last release: the twin has passed its time.
    assert_eq!(
        ing.offer(
            event("d", "2026-11-23T06:00:25Z", "consumption", 1.0),
            Origin::default()
        ),
        Admission::Late
    );
    // Exactly at the clock is late too: the twin has handled that instant.
    assert_eq!(
        ing.offer(
            event("e", "2026-11-23T06:00:30Z", "consumption", 1.0),
            Origin::default()
        ),
        Admission::Late
    );
    assert_eq!(
        ing.offer(
            event("f", "2026-11-23T06:00:31Z", "consumption", 1.0),
            Origin::default()
        ),
        Admission::Held
    );
    // A clock that goes back does not lower the bound.
    assert_eq!(
        ids(ing.release_until(ts("2026-11-23T06:00:00Z"))),
        ["d", "e"]
    );
    assert_eq!(
        ids(ing.release_until(ts("2026-11-23T06:01:00Z"))),
        ["f", "c"]
    );
    let k = ing.counters();
    assert_eq!((k.late_corrections, k.applied, k.accepted), (2, 6, 6));
}

#[test]
fn stock_worked_by_hand_with_a_cycle_count_and_a_late_consumption() {
    let mut s = StockLedger::new();
    let apply =
        |s: &mut StockLedger, id, ts, kind, qty| s.apply(&event(id, ts, kind, qty)).unwrap();
    assert_eq!(
        apply(&mut s, "r", "2026-11-23T06:00:00Z", "receipt", 1000.0),
        Applied::Changed(1000.0)
    );
    apply(&mut s, "c", "2026-11-23T07:00:00Z", "consumption", 300.0);
    apply(&mut s, "a", "2026-11-23T07:30:00Z", "adjustment", -20.0);
    apply(&mut s, "d", "2026-11-23T07:40:00Z", "demand", 50.0);
    // Book 680; counted 650: drift −30.
    assert_eq!(
        apply(&mut s, "n", "2026-11-23T08:00:00Z", "cycle_count", 650.0),
        Applied::Counted { drift: -30.0 }
    );
    apply(&mut s, "sh", "2026-11-23T08:10:00Z", "shipment", 50.0);
    // A consumption from before the count, arriving now: the count saw it already, so on
    // hand stays 600 and the count's drift becomes −30 + 25 = −5.
    assert_eq!(
        apply(&mut s, "old", "2026-11-23T07:50:00Z", "consumption", 25.0),
        Applied::Superseded
    );
    let p = s.position("P1", "WH", "caps").unwrap();
    assert_eq!(p.on_hand, 600.0);
    assert_eq!((p.counts, p.last_drift, p.drift_abs), (1, -5.0, 5.0));
    assert_eq!(p.demanded, 50.0);
    let kg = FeedEvent {
        unit: "kg".into(),
        ..event("k", "2026-11-23T09:00:00Z", "receipt", 1.0)
    };
    assert!(
        s.apply(&kg)
            .unwrap_err()
            .contains("`unit`: `kg` differs from `pcs`")
    );
}

/// A stream of events on two materials in time order, seconds apart.
fn stream() -> impl Strategy<Value = Vec<FeedEvent>> {
    let kinds = prop::sample::select(vec![
        EventKind::Receipt,
        EventKind::Consumption,
        EventKind::Adjustment,
        EventKind::CycleCount,
        EventKind::Demand,
        EventKind::Shipment,
    ]);
    prop::collection::vec((0u32..30, kinds, 0u32..2, -50i32..500), 1..60).prop_map(|rows| {
        let mut ts = Timestamp::parse("2026-11-23T06:00:00Z").unwrap().0;
        rows.into_iter()
            .enumerate()
            .map(|(k, (gap, kind, m, q))| {
                ts += gap as i64 * 1_000_000_000;
                let qty = if kind == EventKind::Adjustment {
                    q as f64
                } else {
                    q.unsigned_abs() as f64
                };
                FeedEvent {
                    event_id: format!("e{k:03}").into(),
                    ts: Timestamp(ts),
                    site: "P1".into(),
                    region: None,
                    material: ["caps", "labels"][m as usize].into(),
                    location: "WH".into(),
                    kind,
                    qty,
                    unit: "pcs".into(),
                    source: None,
                    detail: None,
                }
            })
            .collect()
    })
}

fn final_ledger(arrivals: &[FeedEvent], window_s: f64) -> (StockLedger, u64) {
    let mut ing = Ingestion::new(window_s);
    let mut ledger = StockLedger::new();
    for e in arrivals {
        ing.offer(e.clone(), Origin::default());
        for r in ing.ready() {
            ledger.apply(&r).unwrap();
        }
    }
    for r in ing.flush() {
        ledger.apply(&r).unwrap();
    }
    (ledger, ing.counters().late_corrections)
}

proptest! {
    #[test]
    fn reordering_within_the_window_and_duplicating_change_nothing(
        events in stream(),
        jitter in prop::collection::vec(0u64..60_000, 60),
        copies in prop::collection::vec(0usize..60, 0..20),
    ) {
        let window_s = 60.0;
        let (in_order, _) = final_ledger(&events, window_s);
        // Arrival order: by time plus a delay under the window; then duplicates anywhere
        // after their first copy.
        let mut arrivals: Vec<(i64, usize)> = events
            .iter()
            .enumerate()
            .map(|(k, e)| (e.ts.0 + jitter[k] as i64 * 1_000_000 , k))
            .collect();
        arrivals.sort();
        let mut order: Vec<FeedEvent> = arrivals.iter().map(|&(_, k)| events[k].clone()).collect();
        for &c in &copies {
            let k = c % events.len();
            order.push(events[k].clone());
        }
        let (shuffled, late) = final_ledger(&order, window_s);
        prop_assert_eq!(late, 0);
        prop_assert_eq!(shuffled, in_order);
    }
}

#[test]
fn parallel_parsing_matches_line_by_line_parsing() {
    // Enough text to be cut into parts, with blank and broken lines among valid ones.
    let mut text = String::new();
    for k in 0..3000 {
        match k % 97 {
            0 => text.push('\n'),
            1 => text.push_str("{\"event_id\": broken\n"),
            _ => {
                text.push_str(&line(
                    &format!("e{k}"),
                    "2026-11-23T06:00:00Z",
                    "receipt",
                    k as f64,
                ));
                text.push('\n');
            }
        }
    }
    assert!(text.len() > 3 << 16);
    let serial: Vec<_> = parse_ndjson(&text).collect();
    let mut parallel = Vec::new();
    feeds::parse_ndjson_parallel(&text, |r| parallel.push(r));
    assert_eq!(serial.len(), parallel.len());
    assert_eq!(serial, parallel);
    let bad: Vec<usize> = parallel
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|r| r.line)
        .collect();
    assert_eq!(bad.len(), 31);
    assert_eq!(bad[0], 2);
    assert_eq!(bad[1], 99);
}

#[test]
fn fill_rate_and_otif_worked_by_hand() {
    let ev = |json: &str| parse_ndjson_line(json, 1).unwrap();
    let line = |id: &str, ts: &str, kind: &str, qty: f64, extra: &str| {
        ev(&format!(
            r#"{{"event_id":"{id}","ts":"2026-11-23T{ts}Z","site":"DC1","material":"water","location":"WH","kind":"{kind}","qty":{qty},"unit":"pallet"{extra}}}"#
        ))
    };
    let mut s = StockLedger::new();
    for e in [
        line("n", "06:00:00", "cycle_count", 100.0, ""),
        // A: 60 due 08:00, all on hand. B: 80 due 07:00, only 40 left after A.
        line(
            "a",
            "06:10:00",
            "demand",
            60.0,
            r#","order":"A","due":"2026-11-23T08:00:00Z""#,
        ),
        line(
            "b",
            "06:20:00",
            "demand",
            80.0,
            r#","order":"B","due":"2026-11-23T07:00:00Z""#,
        ),
        // B ships in full at 06:30, on time.
        line("s1", "06:30:00", "shipment", 80.0, r#","order":"B""#),
        line("r", "08:30:00", "receipt", 100.0, ""),
        // 60 with no order: the oldest open, A, in full but after its due time.
        line("s2", "09:00:00", "shipment", 60.0, ""),
        // C: 10 due 16:00, never shipped.
        line(
            "c",
            "09:30:00",
            "demand",
            10.0,
            r#","due":"2026-11-23T16:00:00Z""#,
        ),
    ] {
        s.apply(&e).unwrap();
    }
    let p = s.position("DC1", "WH", "water").unwrap();
    assert_eq!((p.demands, p.demanded), (3, 150.0));
    // On hand when demanded: A 60 of 60, B 40 of 80, C 10 of 10 (60 on hand, none open).
    assert_eq!(p.filled_from_stock, 110.0);
    assert_eq!(p.fill_rate(), Some(110.0 / 150.0));
    assert_eq!((p.shipped_in_full, p.on_time_in_full), (2, 1));
    assert_eq!(p.open.len(), 1);
    assert_eq!(
        &*p.open[0].order, "c",
        "an order without a reference is its event id"
    );
    // At 10:00, C is not due yet: B on time, A late.
    let at = |t: &str| Timestamp::parse(&format!("2026-11-23T{t}Z")).unwrap();
    assert_eq!(p.otif(at("10:00:00")), Some(0.5));
    // At 17:00, C is overdue and counts against.
    assert_eq!(p.otif(at("17:00:00")), Some(1.0 / 3.0));
    assert_eq!(p.on_hand, 100.0 - 80.0 + 100.0 - 60.0);
}

#[test]
fn due_times_and_orders_belong_to_demand_and_shipments_only() {
    let bad = |extra: &str, kind: &str| {
        parse_ndjson_line(
            &format!(
                r#"{{"event_id":"x","ts":"2026-11-23T06:00:00Z","site":"P1","material":"caps","location":"WH","kind":"{kind}","qty":1,"unit":"pcs"{extra}}}"#
            ),
            7,
        )
        .unwrap_err()
        .reason
    };
    let r = bad(r#","due":"2026-11-24T06:00:00Z""#, "receipt");
    assert!(r.contains("`due`") && r.contains("only demands"), "{r}");
    let r = bad(r#","order":"SO-1""#, "cycle_count");
    assert!(
        r.contains("`order`") && r.contains("only demands and shipments"),
        "{r}"
    );
    let r = bad(r#","due":"tomorrow""#, "demand");
    assert!(r.contains("`due`") && r.contains("RFC 3339"), "{r}");
}

/// The same line read by serde_json alone (the reference for the fast path).
fn by_serde(line: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str::<serde_json::Value>(line).map_err(|e| e.to_string())
}

proptest! {
    /// Lines in any field order, with any spacing, nulls, numbers in every JSON form, and
    /// now and then an escape, a repeated or unknown field or a broken end, read the same
    /// as serde_json reads them: an event exactly when serde_json's reading is valid, and
    /// the same event.
    #[test]
    fn the_fast_reading_agrees_with_serde_json(
        order in Just((0..9usize).collect::<Vec<_>>()).prop_shuffle(),
        spaces in proptest::collection::vec(prop::sample::select(vec!["", " ", "  ", "\t"]), 40),
        qty in prop::sample::select(vec!["12", "999999999999999", "9999999999999999", "-0", "0.5", "1e3", "2.5E-2", "012", "1.", "-", "1e", "null", "\"7\""]),
        twist in 0..8usize,
    ) {
        let fields = [
            r#""event_id":"e-1""#.to_string(),
            r#""ts":"2026-11-23T06:00:00Z""#.to_string(),
            r#""site":"P1""#.to_string(),
            r#""material":"caps""#.to_string(),
            r#""location":"WH""#.to_string(),
            r#""kind":"adjustment""#.to_string(),
            format!(r#""qty":{qty}"#),
            r#""unit":"pcs""#.to_string(),
            match twist {
                1 => r#""source":"w\"ms""#.to_string(),
                2 => r#""site":"P2""#.to_string(),
                3 => r#""colour":"red""#.to_string(),
                4 => r#""region":null"#.to_string(),
                5 => r#""source":{"a":1}"#.to_string(),
                _ => r#""source":"wms""#.to_string(),
            },
        ];
        let mut line = String::from("{");
        for (k, &f) in order.iter().enumerate() {
            if k > 0 {
                line.push_str(spaces[2 * k]);
                line.push(',');
            }
            line.push_str(spaces[2 * k + 1]);
            line.push_str(&fields[f]);
        }
        line.push('}');
        if twist == 6 {
            line.push_str(" x");
        }
        let ours = parse_ndjson_line(&line, 1);
        // The reference: serde_json's reading of the same line, field by field.
        match by_serde(&line) {
            Ok(v) if ours.is_ok() => {
                let e = ours.unwrap();
                prop_assert_eq!(v["qty"].as_f64(), Some(e.qty));
                prop_assert_eq!(v["site"].as_str(), Some(&*e.site));
                prop_assert_eq!(v["source"].as_str(), e.source.as_deref());
            }
            Ok(v) => {
                // serde_json reads it as JSON, but it is no valid event: a string qty, an
                // unknown or repeated field, a nested value.
                let r = ours.unwrap_err().reason;
                prop_assert!(
                    !v["qty"].is_number() || twist == 2 || twist == 3 || twist == 5,
                    "{line}: {r}"
                );
            }
            Err(_) => prop_assert!(ours.is_err(), "{line} is no JSON"),
        }
    }
}

#[test]
fn a_whole_feed_ingests_to_the_stock_a_plain_reading_gives() {
    let lines = 3000;
    let text = feeds::synthetic_ndjson(lines);
    // Several parts, parsed on several threads and handed over in order.
    assert!(text.len() > 3 << 16);
    // The reference: every line read by serde_json alone, the first line of each id kept,
    // applied in (time, id) order to one number per material.
    let mut first = std::collections::BTreeMap::new();
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let id = v["event_id"].as_str().unwrap().to_string();
        first.entry(id).or_insert(v);
    }
    let mut ordered: Vec<_> = first.values().collect();
    ordered.sort_by_key(|v| (v["ts"].as_str().unwrap(), v["event_id"].as_str().unwrap()));
    let mut stock = std::collections::BTreeMap::<&str, f64>::new();
    for v in &ordered {
        let on_hand = stock.entry(v["material"].as_str().unwrap()).or_default();
        let qty = v["qty"].as_f64().unwrap();
        match v["kind"].as_str().unwrap() {
            "receipt" => *on_hand += qty,
            "consumption" => *on_hand -= qty,
            "cycle_count" => *on_hand = qty,
            other => panic!("the synthetic feed has no {other}"),
        }
    }
    let (applied, ledger, ingestion) = feeds::ingest_ndjson(&text);
    assert_eq!(applied as usize, first.len());
    let counters = ingestion.counters();
    assert_eq!(counters.duplicates as usize, lines - first.len());
    assert!(counters.duplicates > 50, "the feed repeats every 50th line");
    assert_eq!(counters.quarantined, 0);
    assert_eq!(stock.len(), 5);
    for (material, on_hand) in stock {
        let position = ledger
            .position("plant-1", "L1.line-side", material)
            .unwrap();
        assert_eq!(position.on_hand, on_hand, "{material}");
    }
    let estimate = feeds::estimate_lines(&text) as f64;
    assert!((estimate / lines as f64 - 1.0).abs() < 0.05, "{estimate}");
}

#[test]
fn ledgers_are_equal_by_their_positions_whatever_order_those_came_in() {
    let caps = event("a", "2026-11-23T06:00:00Z", "receipt", 10.0);
    let mut film = caps.clone();
    film.material = "film".into();
    film.event_id = "b".into();
    let (mut one, mut other) = (StockLedger::new(), StockLedger::new());
    for e in [&caps, &film] {
        one.apply(e).unwrap();
    }
    for e in [&film, &caps] {
        other.apply(e).unwrap();
    }
    assert_eq!(one, other);
    let keys: Vec<&str> = one.positions().map(|(k, _)| &*k.2).collect();
    assert_eq!(keys, ["caps", "film"]);
    let mut more = caps.clone();
    more.event_id = "c".into();
    other.apply(&more).unwrap();
    assert_ne!(one, other);
    assert_eq!(other.position("P1", "WH", "caps").unwrap().on_hand, 20.0);
    assert!(other.position("P1", "WH", "labels").is_none());
}

/// A byte-order mark at the start of a file (some editors and exports write one) is not
/// part of the first event.
#[test]
fn regression_a_byte_order_mark_does_not_quarantine_the_first_event() {
    let ndjson = format!(
        "\u{feff}{}\n{}\n",
        line("a", "2026-11-23T06:00:00Z", "receipt", 5.0),
        line("b", "2026-11-23T06:01:00Z", "receipt", 6.0)
    );
    let (text, rejected) = decode(ndjson.as_bytes());
    assert!(rejected.is_empty());
    assert!(parse_ndjson(&text).all(|r| r.is_ok()));
    // Handed over line by line (live on standard input), the first line still has it.
    assert!(parse_ndjson(&ndjson).all(|r| r.is_ok()));
    let csv = "\u{feff}event_id,ts,site,sku,location,kind,qty,unit\n\
               a,2026-11-23T06:00:00Z,P1,caps,WH,receipt,5,pcs\n";
    let events = parse_csv(csv);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].as_ref().unwrap().event.event_id.as_ref(), "a");
}

/// One line with a byte that is not UTF-8 refused the whole file; now it is refused alone,
/// with its number, and every other line keeps its own.
#[test]
fn regression_invalid_utf8_is_quarantined_line_by_line() {
    let mut bytes = Vec::new();
    bytes.extend(line("a", "2026-11-23T06:00:00Z", "receipt", 5.0).bytes());
    bytes.extend(b"\n{\"event_id\":\"b\xff\"}\n");
    bytes.extend(line("c", "2026-11-23T06:02:00Z", "receipt", 7.0).bytes());
    bytes.push(b'\n');
    let (text, rejected) = decode(&bytes);
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].line, 2);
    assert!(
        rejected[0].reason.contains("UTF-8"),
        "{}",
        rejected[0].reason
    );
    assert!(rejected[0].raw.contains("event_id"));
    let parsed: Vec<_> = parse_ndjson(&text).collect();
    assert_eq!(parsed.len(), 2, "the bad line is blank in the text");
    let ids: Vec<&str> = parsed
        .iter()
        .map(|r| r.as_ref().unwrap().event.event_id.as_ref())
        .collect();
    assert_eq!(ids, ["a", "c"]);
}

/// `ts` must join date and time with `T` as RFC 3339 says; the time crate took any
/// character there.
#[test]
fn regression_timestamps_are_strictly_rfc3339() {
    for bad in [
        "2026-11-23*07:00:00Z",
        "2026-11-23707:00:00Z",
        "2026-11-23 07:00:00Z",
    ] {
        let err = Timestamp::parse(bad).unwrap_err();
        assert!(err.contains("joined by `T`"), "{bad}: {err}");
    }
    assert_eq!(
        Timestamp::parse("2026-11-23t07:00:00z").unwrap(),
        Timestamp::parse("2026-11-23T07:00:00Z").unwrap()
    );
    assert!(Timestamp::parse("2026-11-23T07:00:00.5+01:00").is_ok());
}

/// One stray quote in a CSV feed swallowed the rest of the file into one record (100 rows:
/// 4 applied, 1 quarantined, 95 gone); now only its own row is refused.
#[test]
fn regression_a_stray_quote_in_csv_refuses_its_row_alone() {
    let mut csv = String::from("event_id,ts,site,sku,location,kind,qty,unit\n");
    for k in 0..100 {
        let id = if k == 4 {
            "\"e4".to_string()
        } else {
            format!("e{k}")
        };
        csv.push_str(&format!(
            "{id},2026-11-23T06:{:02}:00Z,P1,caps,WH,receipt,1,pcs\n",
            k % 60
        ));
    }
    let events = parse_csv(&csv);
    assert_eq!(events.len(), 100, "one result per row");
    let refused: Vec<_> = events.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].line, 6, "header, then rows 0 to 4");
    assert!(refused[0].raw.starts_with("\"e4"), "{}", refused[0].raw);
}

/// A CSV row longer than the line reader's buffer reads whole.
#[test]
fn a_long_csv_row_reads_whole() {
    let csv = format!(
        "event_id,ts,site,sku,location,kind,qty,unit\nlong,2026-11-23T07:00:00Z,P1,{},WH,receipt,1,pcs\n",
        "c".repeat(3000)
    );
    let events = parse_csv(&csv);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].as_ref().unwrap().event.material.len(), 3000);
}

#[test]
fn machine_states_read_with_their_packml_state_and_counters_and_write_back_the_same() {
    let text = r#"{"event_id":"m1","ts":"2026-11-23T07:00:00Z","site":"P1","kind":"machine_state","line":"L1","station":"filler","state":"held","repair_s":600,"produced":12000,"rejected":31}"#;
    let e = parse_ndjson_line(text, 1).unwrap();
    assert_eq!(e.kind, EventKind::MachineState);
    let m = e.machine().unwrap();
    assert_eq!((&*m.line, &*m.station), ("L1", "filler"));
    assert_eq!(m.state, feeds::PackmlState::Held);
    assert!(!m.state.producing());
    assert_eq!(
        (m.repair_s, m.produced, m.rejected),
        (Some(600.0), Some(12000.0), Some(31.0))
    );
    assert_eq!(parse_ndjson_line(&e.to_ndjson(), 1).unwrap(), e);
    // Producing: Execute, and Suspended (lack or tailback: the twin's own business).
    let state = |s: &str| {
        let t = format!(
            r#"{{"event_id":"m2","ts":"2026-11-23T07:00:00Z","site":"P1","kind":"machine_state","line":"L1","station":"filler","state":"{s}"}}"#
        );
        parse_ndjson_line(&t, 1).map(|e| e.machine().unwrap().state.producing())
    };
    assert_eq!(state("execute"), Ok(true));
    assert_eq!(state("suspended"), Ok(true));
    for stop in ["held", "stopped", "aborted", "idle", "complete", "clearing"] {
        assert_eq!(state(stop), Ok(false), "{stop}");
    }
    let reason = |text: &str| parse_ndjson_line(text, 3).unwrap_err().reason;
    let base = r#""event_id":"m3","ts":"2026-11-23T07:00:00Z","site":"P1","kind":"machine_state""#;
    for (fields, says) in [
        (r#","station":"filler","state":"held""#, "`line` is missing"),
        (r#","line":"L1","state":"held""#, "`station` is missing"),
        (r#","line":"L1","station":"filler""#, "`state` is missing"),
        (
            r#","line":"L1","station":"filler","state":"broken""#,
            "is not a PackML state",
        ),
        (
            r#","line":"L1","station":"filler","state":"held","sub_state":"lack""#,
            "qualifies a suspended machine",
        ),
        (
            r#","line":"L1","station":"filler","state":"suspended","sub_state":"tired""#,
            "is not `lack`",
        ),
        (
            r#","line":"L1","station":"filler","state":"execute","repair_s":60"#,
            "only a stop has a repair time",
        ),
        (
            r#","line":"L1","station":"filler","state":"held","produced":-1"#,
            "`produced`: -1",
        ),
        (
            r#","line":"L1","station":"filler","state":"held","qty":1"#,
            "`qty` is not a field of a machine_state",
        ),
    ] {
        let text = format!("{{{base}{fields}}}");
        let r = reason(&text);
        assert!(r.contains(says), "{text}: {r}");
    }
    // A machine's fields on an inventory event, and a machine state without them.
    let receipt = r#"{"event_id":"r","ts":"2026-11-23T07:00:00Z","site":"P1","material":"caps","location":"WH","kind":"receipt","qty":1,"unit":"pcs","station":"filler"}"#;
    assert!(reason(receipt).contains("`station` belongs to a machine_state"));
    let bare = r#"{"event_id":"b","ts":"2026-11-23T07:00:00Z","site":"P1","material":"caps","location":"WH","kind":"machine_state","qty":1,"unit":"pcs"}"#;
    assert!(reason(bare).contains("a machine_state needs `line`"));
}

#[test]
fn a_machine_state_id_reused_with_another_state_is_a_conflict_and_repeated_a_duplicate() {
    let at = |state: &str| {
        parse_ndjson_line(
            &format!(
                r#"{{"event_id":"m1","ts":"2026-11-23T07:00:00Z","site":"P1","kind":"machine_state","line":"L1","station":"filler","state":"{state}"}}"#
            ),
            1,
        )
        .unwrap()
    };
    let mut ing = Ingestion::new(60.0);
    let o = |line| Origin { source: 0, line };
    assert_eq!(ing.offer(at("held"), o(1)), Admission::Held);
    assert_eq!(ing.offer(at("held"), o(2)), Admission::Duplicate);
    assert!(matches!(
        ing.offer(at("execute"), o(3)),
        Admission::Conflict(_)
    ));
}
