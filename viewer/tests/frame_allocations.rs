//! The systems that run every frame allocate nothing once the scene stands: counted
//! (allocation-counter, on this thread) while the twin plays on under 500 AGVs and ten
//! lines.

use bevy::ecs::schedule::SingleThreadedExecutor;
use bevy::prelude::*;
use std::sync::Arc;
use twinline_viewer::scene::{self, Palette};
use twinline_viewer::{Playback, Selection, sync};

fn stress_plant() -> Arc<twin_models::Scenario> {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/stress"));
    let text = std::fs::read_to_string(dir.join("viewer-500.toml")).unwrap();
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).map_err(|e| e.to_string());
    Arc::new(twin_models::load_scenario_with_files("viewer-500.toml", &text, &read).unwrap())
}

#[test]
fn per_frame_systems_allocate_nothing() {
    let mut world = World::new();
    world.init_resource::<Assets<Mesh>>();
    world.init_resource::<Assets<StandardMaterial>>();
    let palette = world.resource_scope(|world, mut meshes: Mut<Assets<Mesh>>| {
        let mut materials = world.resource_mut::<Assets<StandardMaterial>>();
        Palette::new(&mut meshes, &mut materials)
    });
    let mut playback = Playback::new(stress_plant(), 5);
    playback.advance_to(sim::SimTime(20 * 60_000_000_000), || true);
    // Build the scene through commands, as the app does.
    world.resource_scope(|world, mut meshes: Mut<Assets<Mesh>>| {
        world.resource_scope(|world, mut materials: Mut<Assets<StandardMaterial>>| {
            let mut queue = bevy::ecs::world::CommandQueue::default();
            let mut commands = Commands::new(&mut queue, world);
            scene::build(
                &mut commands,
                &playback,
                &palette,
                &mut meshes,
                &mut materials,
            );
            queue.apply(world);
        });
    });
    assert_eq!(world.query::<&scene::Vehicle>().iter(&world).count(), 500);
    world.insert_resource(palette);
    world.insert_resource(playback);
    world.insert_resource(Selection::None);

    let mut frame = Schedule::default();
    frame.set_executor(SingleThreadedExecutor::new());
    frame.add_systems((sync::machines, sync::belts, sync::vehicles, sync::route).chain());
    // The first frames build the schedule and let every AGV start a glide.
    for _ in 0..3 {
        frame.run(&mut world);
    }
    let mut moved = 0;
    for _ in 0..30 {
        // The engine runs on between frames (its own sampling may allocate; it is not a
        // per-frame system); then one frame of the scene's systems is counted.
        let now = world.resource::<Playback>().now();
        world
            .resource_mut::<Playback>()
            .advance_to(sim::SimTime(now.0 + 1_000_000_000), || true);
        let before: Vec<Vec3> = world
            .query::<&scene::Vehicle>()
            .iter(&world)
            .map(|v| v.shown)
            .collect();
        let info = allocation_counter::measure(|| frame.run(&mut world));
        assert_eq!(info.count_total, 0, "allocations in one frame");
        moved += world
            .query::<&scene::Vehicle>()
            .iter(&world)
            .zip(&before)
            .filter(|(v, b)| v.shown != **b)
            .count();
    }
    assert!(moved > 500, "AGVs moved on screen ({moved} vehicle-frames)");
}
