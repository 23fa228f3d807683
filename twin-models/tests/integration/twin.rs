//! The twin stepped one event at a time is the same run, and what it shows between steps
//! is the plant's true state.

use crate::bundled;
use sim::{SampleValue, SimTime};
use twin_models::Twin;
use twin_models::line::StationState;
use twin_models::{RunSpec, simulate};

const HOUR: u64 = 3_600_000_000_000;

#[test]
fn stepping_event_by_event_is_the_same_run() {
    let s = bundled("bottling-line-serial.toml");
    let spec = RunSpec {
        horizon: sim::SimDuration(2 * HOUR),
        ..RunSpec::of(&s)
    };
    let mut twin = Twin::new(&s, spec);
    assert_eq!(twin.now(), SimTime::ZERO);
    let mut steps = 0;
    let mut last = SimTime::ZERO;
    while let Some(next) = twin.next_event() {
        assert_eq!(twin.step(), Some(next));
        assert!(next >= last && twin.now() == next);
        last = next;
        steps += 1;
    }
    assert_eq!(twin.step(), None, "nothing after the horizon");
    let stepped = twin.finish();
    let whole = simulate(&s, spec);
    assert_eq!(stepped.kpis, whole.kpis);
    assert_eq!(stepped.events, whole.events);
    assert!(steps > 100);
}

#[test]
fn a_snapshot_shows_what_the_series_recorded_at_that_instant() {
    let s = bundled("bottling-line-serial.toml");
    let spec = RunSpec::of(&s);
    let whole = simulate(&s, spec);
    let series = whole.series.unwrap();
    let mut twin = Twin::new(&s, spec);
    for hours in [1u64, 2, 5] {
        twin.advance_to(SimTime(hours * HOUR));
        let snap = twin.snapshot();
        assert_eq!(snap.time, SimTime(hours * HOUR));
        let (_, row) = series
            .rows()
            .iter()
            .find(|(t, _)| t.0 == hours * HOUR)
            .unwrap();
        let cell = |name: &str| {
            let i = series.columns().iter().position(|c| c == name).unwrap();
            row[i].clone()
        };
        let line = &snap.lines[0];
        for st in &line.stations {
            assert_eq!(
                cell(&format!("L1.{}", st.name)),
                SampleValue::Label(st.state.name().into()),
                "{} at {hours} h",
                st.name
            );
        }
        for b in &line.buffers {
            let SampleValue::Number(level) = cell(&format!("L1.{}", b.name)) else {
                panic!()
            };
            assert!((level - b.level).abs() < 1e-6, "{} at {hours} h", b.name);
            assert!(b.capacity.is_none_or(|c| b.level <= c as f64 + 1e-9));
        }
        let SampleValue::Number(out) = cell("L1.units_out") else {
            panic!()
        };
        assert!((out - line.units_out).abs() < 1e-6);
    }
    // Halfway through the filler's changeover (lemon → cola, from the run's timeline) the
    // twin shows it in setup, set up for cola.
    let timeline = whole.timeline.unwrap();
    let filler_stops = &timeline
        .iter()
        .find(|t| t.station == "filler")
        .unwrap()
        .stops;
    let &(a, b, _) = filler_stops
        .iter()
        .find(|s| s.2 == StationState::Setup)
        .unwrap();
    assert_eq!(b - a, 20 * 60_000_000_000, "20 minutes");
    assert!(a >= 4 * HOUR, "after the switch to cola at 4 h");
    let mut twin = Twin::new(&s, spec);
    twin.advance_to(SimTime((a + b) / 2));
    let snap = twin.snapshot();
    let filler = snap.lines[0]
        .stations
        .iter()
        .find(|s| s.name == "filler")
        .unwrap();
    assert_eq!(
        (filler.state, filler.product.as_str(), filler.changeovers),
        (StationState::Setup, "cola-0.5l", 1)
    );
    assert!(snap.vehicles.is_empty() && snap.stock.is_empty());
}

#[test]
fn kpis_so_far_grow_into_the_runs_kpis() {
    let s = bundled("plant-agv.toml");
    let spec = RunSpec {
        horizon: sim::SimDuration(4 * HOUR),
        ..RunSpec::of(&s)
    };
    assert_eq!(spec.warmup.0, HOUR);
    let mut twin = Twin::new(&s, spec);
    twin.advance_to(SimTime(HOUR / 2));
    assert!(
        twin.kpis().is_none(),
        "nothing is measured during the warm-up"
    );
    let mut last_out = 0.0;
    for hours in [2u64, 3, 4] {
        twin.advance_to(SimTime(hours * HOUR));
        let k = twin.kpis().unwrap();
        assert_eq!(k.measured_s, ((hours - 1) * 3600) as f64);
        let out = k.lines[0].units_out;
        assert!(out > last_out);
        last_out = out;
        assert!(k.fleet.as_ref().unwrap().tasks_completed > 0);
    }
    // At the horizon, what the twin shows is what the run reports.
    let now = twin.kpis().unwrap();
    let done = twin.finish();
    assert_eq!(now, done.kpis);
}

#[test]
fn vehicles_show_where_they_are_what_they_do_and_the_way_ahead() {
    let s = bundled("plant-agv.toml");
    let spec = RunSpec {
        horizon: sim::SimDuration(2 * HOUR),
        ..RunSpec::of(&s)
    };
    let fleet = s.fleet.as_ref().unwrap();
    let cell = fleet.layout.cell();
    let mut twin = Twin::new(&s, spec);
    let mut seen_driving = false;
    let mut seen_loaded = false;
    for minute in 1..=120u64 {
        twin.advance_to(SimTime(minute * 60_000_000_000));
        let snap = twin.snapshot();
        assert_eq!(snap.vehicles.len(), 12);
        assert_eq!(snap.stock.len(), 3);
        for (i, v) in snap.vehicles.iter().enumerate() {
            assert_eq!((v.index, v.kind.as_str()), (i, "pallet-agv"));
            let soc = v.state_of_charge.unwrap();
            assert!((0.0..=1.0).contains(&soc));
            assert!(v.loads <= 1);
            seen_loaded |= v.loads == 1 && v.doing == "carry";
            let route = twin.route_ahead(i);
            assert!(!route.is_empty());
            match v.goal {
                Some(goal) => {
                    seen_driving = true;
                    assert!(["fetch", "carry", "to_charger"].contains(&v.doing));
                    // The route runs from the vehicle's spot to its goal, a cell at a step.
                    assert!((route[route.len() - 1] - goal).norm() < 1e-9);
                    assert!((route[0] - v.at).norm() <= cell + 1e-9);
                    for w in route.windows(2) {
                        let d = (w[1] - w[0]).norm();
                        assert!(d > 0.0 && d <= 2.0 * cell + 1e-9, "{d}");
                    }
                }
                None => assert_eq!(route.len(), 1),
            }
        }
        // No two vehicles closer than a cell apart.
        for a in 0..snap.vehicles.len() {
            for b in a + 1..snap.vehicles.len() {
                let d = (snap.vehicles[a].at - snap.vehicles[b].at).norm();
                assert!(
                    d >= cell - 1e-6,
                    "vehicles {a} and {b} {d} m apart at minute {minute}"
                );
            }
        }
    }
    assert!(seen_driving && seen_loaded);
    assert_eq!(twin.route_ahead(99), Vec::new());
}

#[test]
fn a_refreshed_snapshot_equals_a_fresh_one_and_keeps_its_storage() {
    let s = std::sync::Arc::new(bundled("plant-agv.toml"));
    let spec = RunSpec {
        horizon: sim::SimDuration(3 * HOUR),
        ..RunSpec::of(&s)
    };
    // The twin may own its scenario (through an Arc), as a viewer's does.
    let mut twin = Twin::new(std::sync::Arc::clone(&s), spec);
    let mut kept = twin.snapshot();
    let vehicles_at = kept.vehicles.as_ptr();
    for minutes in [7u64, 50, 95, 180] {
        twin.advance_to(SimTime(minutes * 60_000_000_000));
        twin.refresh(&mut kept);
        assert_eq!(kept, twin.snapshot(), "at {minutes} min");
        assert_eq!(
            kept.vehicles.as_ptr(),
            vehicles_at,
            "no new vehicle storage"
        );
    }
    assert!(
        kept.vehicles
            .iter()
            .any(|v| v.loads > 0 || v.doing != "idle")
    );
    assert!(!kept.alerts.is_empty() || kept.stock.iter().all(|x| x.on_hand >= 0.0));
    // Storage kept across a restart with another fleet (as the viewer's what-if does)
    // takes that fleet's figures, type names included.
    let mut renamed = (*s).clone();
    renamed.fleet.as_mut().unwrap().types[0].name = "tugger".into();
    let mut other = Twin::new(&renamed, spec);
    other.advance_to(SimTime(20 * 60_000_000_000));
    other.refresh(&mut kept);
    assert_eq!(kept, other.snapshot());
    assert!(kept.vehicles.iter().all(|v| v.kind == "tugger"));
}

#[test]
fn the_station_timeline_so_far_is_the_runs_timeline_up_to_now() {
    let s = bundled("bottling-line-serial.toml");
    let spec = RunSpec {
        horizon: sim::SimDuration(8 * HOUR),
        ..RunSpec::of(&s)
    };
    let whole = simulate(&s, spec);
    let mut twin = Twin::new(&s, spec);
    let mid = 5 * HOUR;
    twin.advance_to(SimTime(mid));
    twin.snapshot();
    assert_eq!(s.lines.len(), 1);
    let timeline = whole.timeline.unwrap();
    assert!(timeline.iter().any(|t| !t.stops.is_empty()));
    for (si, st) in timeline.iter().enumerate() {
        let so_far = twin.station_timeline(0, si);
        // Every stop that ended by now is there as the whole run has it; one under way
        // is there up to now.
        let done: Vec<_> = st.stops.iter().filter(|x| x.1 <= mid).copied().collect();
        assert_eq!(&so_far[..done.len()], &done[..], "station {si}");
        for extra in &so_far[done.len()..] {
            assert!(
                extra.0 < mid && extra.1 == mid,
                "a stop under way ends now: {extra:?}"
            );
        }
    }
    assert!(twin.station_timeline(0, 99).is_empty());
    assert!(twin.station_timeline(7, 0).is_empty());
}
