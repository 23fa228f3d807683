//! Engine speed: the targets of the headless core (see benches/README.md). The engine's
//! measurements are [`twinline_benches::engine_suite`], the ones `twinline bench` runs
//! too; the planner benches below need the MovingAI maps of `../shared/mapf`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use twinline_benches::Target;

/// Reads the repository's `scenarios/` folder.
fn scenarios(path: &str) -> Result<String, String> {
    let full = format!("{}/../scenarios/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).map_err(|e| format!("{full}: {e}"))
}

/// Every measurement of the engine suite, with its target in the group's throughput
/// where the target is a rate.
fn engine(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let suite = twinline_benches::engine_suite(&scenarios, cores)
        .unwrap_or_else(|e| panic!("the engine suite loads: {e}"));
    for m in &suite {
        let mut g = c.benchmark_group(m.group);
        g.sample_size(m.samples);
        if let Target::AtLeastPerSecond(_) = m.target {
            g.throughput(Throughput::Elements(m.run()));
        }
        g.bench_function(&m.name, |b| b.iter(|| black_box(m.run())));
        g.finish();
    }
}

/// Target: one lifelong planning step for 500 AGVs on the warehouse map in at most 50 ms.
fn lifelong_step_500(c: &mut Criterion) {
    let (_, map) = twinline_benches::traffic_floor();
    let (mut t, mut goal) = twinline_benches::busy_traffic(&map, 500, 200);
    let mut g = c.benchmark_group("traffic");
    g.bench_function("lifelong_step_500_agvs", |b| {
        b.iter(|| twinline_benches::lifelong_step(&mut t, &mut goal))
    });
    g.finish();
}

/// Target: one step of twinline's League of Robot Runners entry (assignment and planning)
/// for 2,000 robots well inside the competition's 1 s limit; measured after 100 steps.
fn runners_step_2000(c: &mut Criterion) {
    let (_, instance) = twinline_benches::runners_instance();
    let mut contest = traffic::runners::Contest::new(&instance);
    let mut entry = traffic::runners::Entry::new(&instance, 0);
    for _ in 0..100 {
        let (a, s) = entry.decide(&contest.view());
        contest.step(&a, &s);
    }
    let mut g = c.benchmark_group("traffic");
    g.sample_size(20);
    g.bench_function("runners_step_2000_robots", |b| {
        b.iter(|| {
            let (a, s) = entry.decide(&contest.view());
            contest.step(&a, &s);
        })
    });
    g.finish();
}

/// Targets: first solutions at least as fast as LaCAM*'s (28 ms for random-32-32-20 with
/// 409 agents, 209 ms for warehouse-10-20-10-2-1 with 1,000) and no costlier. The generated
/// warehouse stands in where `../shared/mapf` is absent; the planning time includes the
/// distance tables, as `twinline mapf` counts it.
fn mapf_first_solution(c: &mut Criterion) {
    let fallback = traffic::mapf::WarehouseShape {
        blocks_x: 10,
        blocks_y: 6,
        rack_length: 10,
        rack_depth: 2,
        aisle: 2,
        margin: 3,
    };
    let mut g = c.benchmark_group("mapf");
    g.sample_size(10);
    for (id, map, scen, n) in [
        (
            "random_409",
            "random-32-32-20.map",
            "random-32-32-20-random-1.scen",
            409,
        ),
        (
            "warehouse_1000",
            "warehouse-10-20-10-2-1.map",
            "warehouse-10-20-10-2-1-random-1.scen",
            1000,
        ),
    ] {
        let inst = twinline_benches::mapf_instance(map, scen, n, &fallback);
        eprintln!("mapf bench instance: {}", inst.name);
        for (variant, scatter) in [("scattered", true), ("plain", false)] {
            g.bench_function(format!("first_solution_{id}_{variant}"), |b| {
                b.iter(|| black_box(twinline_benches::first_solution(&inst, scatter)))
            });
        }
    }
    g.finish();
}

criterion_group!(
    benches,
    engine,
    lifelong_step_500,
    runners_step_2000,
    mapf_first_solution
);
criterion_main!(benches);
