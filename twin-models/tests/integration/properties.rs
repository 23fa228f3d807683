//! Invariants over random valid scenarios: units are conserved, state fractions sum to 1,
//! and the same input gives the same output, whatever the mix of engines, stops,
//! conveyors and changeovers.

use crate::conservation::assert_conserved;
use proptest::prelude::*;
use twin_models::{RunSpec, load_scenario, replicate};

#[derive(Debug, Clone)]
struct StationSpec {
    speed: u32,
    random_time: bool,
    reject: f64,
    failure: Option<(u32, u32, bool)>,
}

fn station() -> impl Strategy<Value = StationSpec> {
    (
        600u32..6000,
        any::<bool>(),
        prop_oneof![Just(0.0), 0.0..0.2],
        proptest::option::of((5u32..120, 1u32..30, any::<bool>())),
    )
        .prop_map(|(speed, random_time, reject, failure)| StationSpec {
            speed,
            random_time,
            reject,
            failure,
        })
}

/// Line-level extras: conveyors, a planned stop, a two-product schedule with changeovers.
#[derive(Debug, Clone)]
struct Extras {
    transport_s: Vec<u32>,
    stop: Option<(u32, u32)>,
    campaigns: Option<(u32, u32, u32)>,
}

fn extras() -> impl Strategy<Value = Extras> {
    (
        proptest::collection::vec(prop_oneof![Just(0u32), 1u32..90], 4),
        proptest::option::of((10u32..120, 1u32..30)),
        proptest::option::of((50u32..3000, 50u32..3000, 0u32..20)),
    )
        .prop_map(|(transport_s, stop, campaigns)| Extras {
            transport_s,
            stop,
            campaigns,
        })
}

fn scenario_text(
    stations: &[StationSpec],
    caps: &[Option<u32>],
    arrivals: bool,
    seed: u64,
    x: &Extras,
) -> String {
    let mut t =
        format!("name = \"prop\"\n[run]\nhorizon = \"3h\"\nwarmup = \"10min\"\nseed = {seed}\n");
    t += "[[products]]\nname = \"A\"\n[[products]]\nname = \"B\"\n[[lines]]\nname = \"L\"\n";
    if let Some((a, b, setup)) = x.campaigns {
        t += &format!(
            "schedule = {{ repeat = true, campaigns = [{{ product = \"A\", quantity = {a} }}, {{ product = \"B\", quantity = {b} }}] }}\n"
        );
        t += &format!("changeover = {{ default = \"{setup}min\" }}\n");
    }
    if let Some((every, length)) = x.stop {
        t += &format!(
            "planned_stops = [{{ name = \"stop\", start = \"{every}min\", duration = \"{length}min\", every = \"{}min\" }}]\n",
            every + length
        );
    }
    if arrivals {
        t += "source = { kind = \"arrivals\", interarrival = \"exp(2s)\", when_full = \"lost\", queue_capacity = 5 }\n";
    }
    for (i, s) in stations.iter().enumerate() {
        t += &format!(
            "[[lines.stations]]\nname = \"s{i}\"\nkind = \"generic\"\nreject_rate = {}\n",
            s.reject
        );
        if s.random_time {
            t += &format!("processing_time = \"exp({}ms)\"\n", 3_600_000 / s.speed);
        } else {
            t += &format!("speed = \"{}/h\"\n", s.speed);
        }
        if let Some((tbf, ttr, calendar)) = s.failure {
            let basis = if calendar { "calendar" } else { "operating" };
            t += &format!(
                "failures = [{{ tbf = \"exp({tbf}min)\", ttr = \"exp({ttr}min)\", basis = \"{basis}\" }}]\n"
            );
        }
    }
    for (i, c) in caps.iter().enumerate() {
        // A conveyor with a transport time needs room for at least one unit.
        let transport = if c == &Some(0) { 0 } else { x.transport_s[i] };
        let cap = c.map_or("\"unbounded\"".to_string(), |c| c.to_string());
        t += &format!(
            "[[lines.buffers]]\nname = \"b{i}\"\nfrom = \"s{i}\"\nto = \"s{}\"\n",
            i + 1
        );
        t += &format!("capacity = {cap}\ntransport_time = \"{transport}s\"\n");
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_lines_conserve_units_and_time(
        stations in proptest::collection::vec(station(), 1..5),
        caps in proptest::collection::vec(proptest::option::of(0u32..40), 4),
        arrivals in any::<bool>(),
        seed in 0u64..1000,
        x in extras(),
    ) {
        let caps = &caps[..stations.len() - 1];
        let text = scenario_text(&stations, caps, arrivals, seed, &x);
        let s = load_scenario("prop.toml", &text).expect("generated scenarios are valid");
        let spec = RunSpec { record_series: false, ..RunSpec::of(&s) };
        let a = replicate(&s, spec, 1, 1).runs.remove(0).kpis;
        assert_conserved(&a.lines[0]);
        let b = replicate(&s, spec, 1, 1).runs.remove(0).kpis;
        prop_assert_eq!(a, b);
    }
}
