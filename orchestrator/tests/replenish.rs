//! Replenishment policies on hand-worked examples: the reorder point fires at the right
//! level, order-up-to fills the gap, kanban bins cycle, the forecast follows consumption.

use orchestrator::replenish::{ConsumptionForecast, Policy, StockPosition, seconds_to_stock_out};

fn at(on_hand: f64, on_order: f64) -> StockPosition {
    StockPosition {
        on_hand,
        on_order,
        backorders: 0.0,
    }
}

#[test]
fn reorder_point_fires_at_its_level_and_counts_what_is_coming() {
    let p = Policy::ReorderPoint {
        reorder_at: 400.0,
        lot: 1000.0,
    };
    assert_eq!(p.order(&at(401.0, 0.0), 0.0), None);
    assert_eq!(p.order(&at(400.0, 0.0), 0.0), Some(1000.0));
    // A lot already on its way lifts the position: nothing more.
    assert_eq!(p.order(&at(100.0, 1000.0), 0.0), None);
    // Backorders of 1,500 put the position at −1,100: two lots bring it to 900 (> 400).
    let short = StockPosition {
        on_hand: 400.0,
        on_order: 0.0,
        backorders: 1500.0,
    };
    assert_eq!(short.inventory_position(), -1100.0);
    assert_eq!(p.order(&short, 0.0), Some(2000.0));
}

#[test]
fn order_up_to_fills_the_gap() {
    let p = Policy::OrderUpTo {
        reorder_at: 300.0,
        order_up_to: 2000.0,
    };
    assert_eq!(p.order(&at(350.0, 0.0), 0.0), None);
    // The position counts what is coming: 250 + 100 is above 300.
    assert_eq!(p.order(&at(250.0, 100.0), 0.0), None);
    assert_eq!(p.order(&at(200.0, 50.0), 0.0), Some(1750.0));
}

#[test]
fn kanban_bins_cycle() {
    // Three bins of 500. The line takes 100 per step; a supplier brings an ordered bin two
    // steps after the order. Bins in the loop never exceed three, and every emptied bin is
    // ordered once.
    let p = Policy::Kanban {
        bins: 3,
        bin_size: 500.0,
    };
    let mut on_hand = 1500.0;
    let mut coming: Vec<(u32, f64)> = Vec::new(); // (arrival step, qty)
    let mut ordered = 0.0;
    for step in 0..60u32 {
        on_hand -= 100.0;
        let on_order: f64 = coming.iter().map(|c| c.1).sum();
        if let Some(q) = p.order(&at(on_hand, on_order), 0.0) {
            assert_eq!(q % 500.0, 0.0, "whole bins");
            ordered += q;
            coming.push((step + 2, q));
        }
        let on_order: f64 = coming.iter().map(|c| c.1).sum();
        assert!(on_hand + on_order <= 1500.0 + 1e-9, "more than three bins");
        on_hand += coming
            .iter()
            .filter(|c| c.0 == step)
            .map(|c| c.1)
            .sum::<f64>();
        coming.retain(|c| c.0 != step);
        assert!(on_hand > 0.0, "the line ran dry at step {step}");
    }
    // 6,000 used; every 500 used is one bin ordered (the last one may still be open).
    assert!((5500.0..=6000.0).contains(&ordered), "{ordered}");
    // First order exactly when the first bin empties: after five steps.
    let mut first = None;
    let mut stock = 1500.0;
    for step in 1..=10 {
        stock -= 100.0;
        if first.is_none() && p.order(&at(stock, 0.0), 0.0).is_some() {
            first = Some(step);
        }
    }
    assert_eq!(first, Some(5));
}

#[test]
fn forecast_smoothing_and_cover_worked_by_hand() {
    let mut f = ConsumptionForecast::new(0.5);
    assert_eq!(f.rate, None);
    f.observe(3600.0, 3600.0); // 1 unit/s
    assert_eq!(f.rate, Some(1.0));
    f.observe(10800.0, 3600.0); // 3 units/s: 0.5 · 3 + 0.5 · 1 = 2
    assert_eq!(f.rate, Some(2.0));
    assert_eq!(f.planning_rate(2.5), 2.5, "a faster plan wins");
    // Cover: order below 2 h of consumption, up to 8 h. At 2 units/s: below 14,400,
    // up to 57,600.
    let p = Policy::ForecastCover {
        reorder_cover_s: 7200.0,
        cover_s: 28800.0,
    };
    assert_eq!(p.order(&at(14400.0, 0.0), 2.0), None);
    assert_eq!(p.order(&at(10000.0, 400.0), 2.0), Some(57600.0 - 10400.0));
    assert_eq!(
        p.order(&at(0.0, 0.0), 0.0),
        None,
        "no consumption, no order"
    );
    assert_eq!(seconds_to_stock_out(7200.0, 2.0), Some(3600.0));
    assert_eq!(seconds_to_stock_out(7200.0, 0.0), None);
}
