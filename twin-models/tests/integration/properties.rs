//! Invariants over random valid scenarios.

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

fn scenario_text(
    stations: &[StationSpec],
    caps: &[Option<u32>],
    arrivals: bool,
    seed: u64,
) -> String {
    let mut t = format!(
        "name = \"prop\"\n[run]\nhorizon = \"3h\"\nwarmup = \"10min\"\nseed = {seed}\n[[lines]]\nname = \"L\"\n"
    );
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
        let cap = c.map_or("\"unbounded\"".to_string(), |c| c.to_string());
        t += &format!(
            "[[lines.buffers]]\nname = \"b{i}\"\nfrom = \"s{i}\"\nto = \"s{}\"\ncapacity = {cap}\n",
            i + 1
        );
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_lines_conserve_units_and_time(
        stations in proptest::collection::vec(station(), 1..5),
        caps in proptest::collection::vec(proptest::option::of(0u32..40), 4),
        arrivals in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let caps = &caps[..stations.len() - 1];
        let text = scenario_text(&stations, caps, arrivals, seed);
        let s = load_scenario("prop.toml", &text).expect("generated scenarios are valid");
        let spec = RunSpec { record_series: false, ..RunSpec::of(&s) };
        let a = replicate(&s, spec, 1, 1).runs.remove(0).kpis;
        assert_conserved(&a.lines[0]);
        let b = replicate(&s, spec, 1, 1).runs.remove(0).kpis;
        prop_assert_eq!(a, b);
    }
}
