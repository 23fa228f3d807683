//! Engine speed: the targets of the headless core (see benches/README.md).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim::SimDuration;
use std::hint::black_box;
use twin_models::{RunSpec, simulate};
use twinline_benches::bundled;

fn spec(s: &twin_models::Scenario) -> RunSpec {
    RunSpec {
        record_series: false,
        ..RunSpec::of(s)
    }
}

/// Target: 8 simulated hours of the bundled line in at most 20 ms on one core.
fn bottling_line_8h(c: &mut Criterion) {
    let s = bundled("bottling-line.toml");
    c.bench_function("bottling_line_8h", |b| {
        b.iter(|| black_box(simulate(&s, spec(&s)).events))
    });
}

/// Target: one simulated year of ten lines in at most 10 s.
fn plant_10_lines_1y(c: &mut Criterion) {
    let s = bundled("plant-10-lines.toml");
    let mut g = c.benchmark_group("stress");
    g.sample_size(10);
    g.bench_function("plant_10_lines_1y", |b| {
        b.iter(|| black_box(simulate(&s, spec(&s)).events))
    });
    g.finish();
}

/// Target: at least 5 million per-unit events a second on M/M/1.
fn mm1_events(c: &mut Criterion) {
    let s = bundled("textbook/mm1.toml");
    let run = RunSpec {
        horizon: SimDuration::from_secs(12 * 3600),
        warmup: SimDuration::ZERO,
        ..spec(&s)
    };
    let events = simulate(&s, run).events;
    let mut g = c.benchmark_group("mm1");
    g.throughput(Throughput::Elements(events));
    g.bench_function("mm1_events_12h", |b| {
        b.iter(|| black_box(simulate(&s, run).events))
    });
    g.finish();
}

/// Target: a simulated day of the two-line plant with 12 AGVs in at most 2 s.
fn plant_agv_24h(c: &mut Criterion) {
    let s = bundled("plant-agv.toml");
    let mut g = c.benchmark_group("fleet");
    g.sample_size(10);
    g.bench_function("plant_agv_24h", |b| {
        b.iter(|| black_box(simulate(&s, spec(&s)).events))
    });
    g.finish();
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

/// Targets: first solutions at least as fast as LaCAM*'s (28 ms for random-32-32-20 with
/// 409 agents, 209 ms for warehouse-10-20-10-2-1 with 1,000) and no costlier. The generated
/// warehouse stands in where `../shared/mapf` is absent; the planning time includes the
/// distance tables, as `twinline mapf` counts it.
fn mapf_first_solution(c: &mut Criterion) {
    let fallback = orchestrator::mapf::WarehouseShape {
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

/// Target: at least a million feed events a second from a file into the twin (parse,
/// dedupe, order, apply).
fn feed_ingest(c: &mut Criterion) {
    let text = twinline_benches::feed_lines(200_000);
    let mut g = c.benchmark_group("feed");
    g.sample_size(10);
    g.throughput(Throughput::Elements(200_000));
    g.bench_function("ingest_ndjson_200k", |b| {
        b.iter(|| black_box(twinline_benches::ingest(&text)))
    });
    g.finish();
}

/// Target: the bundled sweep (8 variants × 30 replications × 8 h of the line) in under
/// 10 s on two cores; timed on one thread and on two for the speed-up.
fn sweep_8x30(c: &mut Criterion) {
    let (prepared, reps, seed) = twinline_benches::bundled_sweep("bottling-line-buffers.toml");
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    for threads in [1, 2] {
        g.bench_function(
            format!("bottling_line_buffers_8x30_{threads}_threads"),
            |b| b.iter(|| black_box(twinline_benches::run_sweep(&prepared, reps, seed, threads))),
        );
    }
    g.finish();
}

criterion_group!(
    benches,
    bottling_line_8h,
    sweep_8x30,
    mm1_events,
    plant_10_lines_1y,
    plant_agv_24h,
    lifelong_step_500,
    mapf_first_solution,
    feed_ingest
);
criterion_main!(benches);
