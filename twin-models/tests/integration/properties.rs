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
        t += &station_text(&format!("s{i}"), s);
    }
    for (i, c) in caps.iter().enumerate() {
        // A conveyor with a transport time needs room for at least one unit.
        let transport = if c == &Some(0) {
            0
        } else {
            x.transport_s[i % x.transport_s.len()]
        };
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
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

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

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Long series lines of fixed cycles run as flows planned event by event only where
    /// the event reaches (see `line/fluid/series.rs`): units are conserved exactly and the
    /// run repeats itself, whatever the failures, rejects, conveyors, stops and products.
    #[test]
    fn long_fluid_lines_conserve_units_and_time(
        stations in proptest::collection::vec(station(), 16..28),
        caps in proptest::collection::vec(proptest::option::of(0u32..40), 27),
        seed in 0u64..1000,
        x in extras(),
    ) {
        let stations: Vec<_> = stations
            .into_iter()
            .map(|s| StationSpec { random_time: false, ..s })
            .collect();
        let caps = &caps[..stations.len() - 1];
        let text = scenario_text(&stations, caps, false, seed, &x);
        let s = load_scenario("prop.toml", &text).expect("generated scenarios are valid");
        prop_assert!(s.lines[0].is_fluid());
        let spec = RunSpec { record_series: false, ..RunSpec::of(&s) };
        let a = replicate(&s, spec, 1, 1).runs.remove(0).kpis;
        prop_assert_eq!(a.lines[0].engine, "fluid");
        assert_conserved(&a.lines[0]);
        let b = replicate(&s, spec, 1, 1).runs.remove(0).kpis;
        prop_assert_eq!(a, b);
    }
}

/// A random branching line: a first station, one to three branches of one or two
/// stations, a last station. Units reach the branches through lanes out of the first
/// station (a divider at its discharge) or one infeed the branches share (a divider at the
/// buffer's end), and leave them onto one buffer (a combiner at its entry) or through
/// their own buffers (a combiner at the last station's infeed).
#[derive(Debug, Clone)]
struct GraphSpec {
    first: StationSpec,
    branches: Vec<Vec<(StationSpec, u32)>>,
    last: StationSpec,
    lanes: bool,
    own_exits: bool,
    divide: usize,
    combine: usize,
    /// Whether the last station's rejects go back onto the buffer before it.
    rework: bool,
    /// Capacities of the lanes or the shared infeed, and of the exits (0 only where a
    /// buffer joins one station to one).
    caps: Vec<u32>,
}

fn graph() -> impl Strategy<Value = GraphSpec> {
    (
        station(),
        proptest::collection::vec(proptest::collection::vec((station(), 0u32..30), 1..3), 1..4),
        station(),
        (
            any::<bool>(),
            any::<bool>(),
            0usize..3,
            0usize..3,
            any::<bool>(),
        ),
        proptest::collection::vec(0u32..30, 8),
    )
        .prop_map(
            |(first, branches, last, (lanes, own_exits, divide, combine, rework), caps)| {
                GraphSpec {
                    first,
                    branches,
                    last,
                    lanes,
                    own_exits,
                    divide,
                    combine,
                    rework,
                    caps,
                }
            },
        )
}

fn station_text(name: &str, s: &StationSpec) -> String {
    let mut t = format!(
        "[[lines.stations]]\nname = \"{name}\"\nkind = \"generic\"\nreject_rate = {}\n",
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
    t
}

fn graph_text(g: &GraphSpec, arrivals: bool, seed: u64, x: &Extras) -> String {
    let k = g.branches.len();
    let divide = ["most_room", "shares", "priority"][g.divide];
    let combine = ["first_come", "priority", "alternate"][g.combine];
    let mut t = scenario_text(std::slice::from_ref(&g.first), &[], arrivals, seed, x)
        .replace("name = \"s0\"", "name = \"first\"");
    let lane = |b: usize| format!("lane-{b}");
    if g.lanes && k > 1 {
        t += &format!("divide = \"{divide}\"\n");
        if divide == "shares" {
            let shares: Vec<String> = (0..k).map(|b| format!("{} = {}", lane(b), b + 1)).collect();
            t += &format!("shares = {{ {} }}\n", shares.join(", "));
        }
    }
    for (b, branch) in g.branches.iter().enumerate() {
        for (j, (s, _)) in branch.iter().enumerate() {
            t += &station_text(&format!("b{b}-{j}"), s);
        }
    }
    t += &station_text("last", &g.last);
    if g.own_exits && k > 1 {
        t += &format!("combine = \"{combine}\"\n");
    }
    // A rework buffer holds at least a unit.
    let mut exit_caps = [g.caps[4], g.caps[5], g.caps[6]];
    if g.rework {
        t += if g.own_exits {
            "rework = \"exit-0\"\n"
        } else {
            "rework = \"exit\"\n"
        };
        exit_caps[0] = exit_caps[0].max(1);
    }
    let buffer = |name: &str, from: &str, to: &str, cap: u32| {
        format!(
            "[[lines.buffers]]\nname = \"{name}\"\nfrom = {from}\nto = {to}\ncapacity = {cap}\n"
        )
    };
    let firsts: Vec<String> = (0..k).map(|b| format!("\"b{b}-0\"")).collect();
    let lasts: Vec<String> = (0..k)
        .map(|b| format!("\"b{b}-{}\"", g.branches[b].len() - 1))
        .collect();
    // Capacity 0 couples one machine to one: a shared buffer holds at least one unit.
    let shared_cap = |c: u32| if k > 1 { c.max(1) } else { c };
    if g.lanes {
        for (b, to) in firsts.iter().enumerate() {
            t += &buffer(&lane(b), "\"first\"", to, g.caps[b]);
        }
    } else {
        t += &buffer(
            "infeed",
            "\"first\"",
            &format!("[{}]", firsts.join(", ")),
            shared_cap(g.caps[0]),
        );
        if k > 1 {
            t += &format!("divide = \"{divide}\"\n");
            if divide == "shares" {
                let shares: Vec<String> = (0..k).map(|b| format!("b{b}-0 = {}", b + 1)).collect();
                t += &format!("shares = {{ {} }}\n", shares.join(", "));
            }
        }
    }
    for (b, branch) in g.branches.iter().enumerate() {
        for (j, (_, cap)) in branch.iter().enumerate().skip(1) {
            let from = format!("\"b{b}-{}\"", j - 1);
            let to = format!("\"b{b}-{j}\"");
            t += &buffer(&format!("b{b}-{j}-in"), &from, &to, *cap);
        }
    }
    if g.own_exits {
        for (b, from) in lasts.iter().enumerate() {
            t += &buffer(&format!("exit-{b}"), from, "\"last\"", exit_caps[b]);
        }
    } else {
        t += &buffer(
            "exit",
            &format!("[{}]", lasts.join(", ")),
            "\"last\"",
            shared_cap(exit_caps[0]),
        );
        if k > 1 {
            t += &format!("combine = \"{combine}\"\n");
        }
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_branching_lines_conserve_units_and_time(
        g in graph(),
        arrivals in any::<bool>(),
        seed in 0u64..1000,
        x in extras(),
    ) {
        let text = graph_text(&g, arrivals, seed, &x);
        let s = load_scenario("prop.toml", &text)
            .unwrap_or_else(|e| panic!("generated scenarios are valid: {e}\n{text}"));
        prop_assert!(!s.lines[0].is_series() || g.branches.len() == 1);
        let spec = RunSpec { record_series: false, ..RunSpec::of(&s) };
        let one = replicate(&s, spec, 2, 1);
        for r in &one.runs {
            assert_conserved(&r.kpis.lines[0]);
        }
        let two = replicate(&s, spec, 2, 2);
        let kpis = |o: &twin_models::Replications| -> Vec<_> {
            o.runs.iter().map(|r| r.kpis.clone()).collect()
        };
        prop_assert_eq!(kpis(&one), kpis(&two));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Branching lines of fixed cycles without failures or rejects, with buffers of 5
    /// units or more, and half of them with two products in campaigns (merges taking the
    /// last of one before the next), run as flows and unit by unit: their throughputs
    /// agree within 1 % (the unit-by-unit line starts a unit later at each machine and
    /// holds a unit in each blocked machine; over 3 h of units at 600–6,000/h that is
    /// well under 1 %), with campaigns within 1 % plus, per changeover, what the last
    /// machine makes while the slowest branch runs out all it can hold (below). On smaller
    /// buffers a divider holding one unit for a machine that is not yet ready costs the
    /// unit-by-unit line throughput the flows do not lose (docs/scenarios.md). How a
    /// combiner shares a full buffer among machines exactly as fast as the room frees is a
    /// tie unit by unit (the favoured machine is just starting its next unit when the room
    /// frees), so branches are compared by what they carry together.
    #[test]
    fn fluid_and_unit_by_unit_branching_lines_agree(
        g in graph(),
        seed in 0u64..1000,
        campaigns in proptest::option::of((500u32..3000, 500u32..3000, 0u32..20)),
    ) {
        let plain = |s: &StationSpec| StationSpec {
            random_time: false,
            reject: 0.0,
            failure: None,
            ..s.clone()
        };
        let g = GraphSpec {
            first: plain(&g.first),
            branches: g
                .branches
                .iter()
                .map(|b| b.iter().map(|(s, c)| (plain(s), *c)).collect())
                .collect(),
            last: plain(&g.last),
            own_exits: false,
            rework: false,
            caps: g.caps.iter().map(|&c| c.max(5)).collect(),
            ..g
        };
        let x = Extras { transport_s: vec![0; 4], stop: None, campaigns };
        let campaigns = x.campaigns;
        let text = graph_text(&g, false, seed, &x);
        let fluid = load_scenario("prop.toml", &text).expect("valid");
        prop_assert!(fluid.lines[0].is_fluid());
        let discrete = load_scenario(
            "prop.toml",
            &text.replacen("name = \"L\"\n", "name = \"L\"\nengine = \"discrete\"\n", 1),
        )
        .expect("valid");
        let line = |s: &twin_models::Scenario| {
            let spec = RunSpec { record_series: false, ..RunSpec::of(s) };
            replicate(s, spec, 1, 1).runs.remove(0).kpis.lines.remove(0)
        };
        let (f, d) = (line(&fluid), line(&discrete));
        prop_assert_eq!(f.engine, "fluid");
        prop_assert_eq!(d.engine, "discrete");
        assert_conserved(&f);
        // Without campaigns the two agree within 1 % (the most found over 1,980 random
        // lines: 0.34 %). With campaigns a changeover runs out the old product along the
        // line, and how much of it each branch holds then differs: unit by unit a slow
        // machine on a full first-come merge waits for its turn with every unit (the flows
        // give it the room it can use), and a unit arriving at a shared infeed while the
        // first machine by priority is busy goes to the next (the flows send the next only
        // what the first cannot take); a branch that does not drain then holds more (or
        // less), and the machine after the merge waits for it to run out. So a changeover
        // may shift the line by what the last machine makes while the slowest branch runs
        // out all it can hold (its buffers and a unit per machine, at its slowest
        // machine's speed): 1 % plus that per changeover. (Of 2,026 random lines with
        // campaigns the most apart was 4.9 %, 350 units over 4 changeovers; 20,000 more
        // lines held within this bound; docs/scenarios.md.)
        let drain_h = g
            .branches
            .iter()
            .enumerate()
            .map(|(b, branch)| {
                let lane = if g.lanes { g.caps[b] } else { 0 };
                let buffers: u32 = branch.iter().skip(1).map(|(_, c)| c).sum();
                let holds = (lane + buffers) as f64 + branch.len() as f64;
                let slowest = branch.iter().map(|(s, _)| s.speed).min().unwrap_or(1);
                holds / slowest as f64
            })
            .fold(0.0, f64::max);
        let changeovers = f.changeovers.max(d.changeovers) as f64;
        // Units an hour over the measured 2 h 50 min.
        let measured_h = (3.0 * 3600.0 - 600.0) / 3600.0;
        let shifted = changeovers * drain_h * g.last.speed as f64 / measured_h;
        let close = |a: f64, b: f64| (a - b).abs() <= 0.01 * a.max(b) + 3.0 + shifted;
        prop_assert!(campaigns.is_some() || changeovers == 0.0);
        prop_assert!(
            close(f.throughput_per_h, d.throughput_per_h),
            "throughput {} fluid vs {} unit by unit\n{}",
            f.throughput_per_h,
            d.throughput_per_h,
            text
        );
        let first = |l: &twin_models::kpi::LineKpis| l.stations[0].units_out / measured_h;
        prop_assert!(
            close(first(&f), first(&d)),
            "first station {}/h fluid vs {}/h unit by unit\n{}",
            first(&f),
            first(&d),
            text
        );
    }
}
