//! The 3D scene: machines, conveyors, AGVs, the floor's places and path graph, built
//! from the [`PlantLayout`] with shared meshes and materials (so bevy batches them into
//! instanced draws), and rebuilt when a what-if changes the plant.

use crate::layout::{BeltPlace, MACHINE, PlantLayout, floor};
use crate::playback::Playback;
use bevy::asset::RenderAssetUsages;
use bevy::mesh::PrimitiveTopology;
use bevy::prelude::*;
use twin_models::line::StationState;
use twin_models::scenario::fleet::LocationKind;

/// The root every scene entity hangs from; despawned whole on a rebuild.
#[derive(Component)]
pub struct SceneRoot;

/// A station's machine body.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Machine {
    /// Line index.
    pub line: usize,
    /// Station index.
    pub station: usize,
}

/// The state lamp on a machine's top: unlit, so it shows the state's exact colour.
#[derive(Component, Clone, Copy, Debug)]
pub struct StateLamp(pub Machine);

/// A machine's speed gauge, on lines with level switches: a bar beside its lamp whose
/// height follows the speed step its switches set ([`speed_gauge_height`]).
#[derive(Component, Clone, Copy, Debug)]
pub struct SpeedGauge(pub Machine);

/// Height of a speed gauge at nominal speed, metres.
pub const SPEED_GAUGE_NOMINAL: f32 = 1.0;

/// A speed gauge's height for speed step `step` (a share of nominal speed; 0 stopped):
/// in proportion, at least a sliver so that a stopped machine still shows its gauge, at
/// most twice the nominal height.
pub fn speed_gauge_height(step: f64) -> f32 {
    (SPEED_GAUGE_NOMINAL * step as f32).clamp(0.05, 2.0 * SPEED_GAUGE_NOMINAL)
}

/// The filled part of a conveyor, stretched along it by the buffer's level.
#[derive(Component, Clone, Debug)]
pub struct BeltFill {
    /// Line index.
    pub line: usize,
    /// Buffer index.
    pub buffer: usize,
    /// The belt.
    pub place: BeltPlace,
    /// The highest level seen, for unlimited buffers (their bar is relative to it).
    pub peak: f64,
}

/// An AGV, drawn gliding between the places the engine puts it.
#[derive(Component, Clone, Copy, Debug)]
pub struct Vehicle {
    /// Vehicle number.
    pub index: usize,
    /// Where it is drawn, metres.
    pub shown: Vec3,
    /// Where the glide started, metres.
    pub from: Vec3,
    /// Where the engine has it, metres.
    pub to: Vec3,
    /// Simulated seconds the glide started at.
    pub t0: f64,
    /// Heading, radians about y.
    pub yaw: f32,
    /// Footprint, metres (width, length).
    pub footprint: Vec2,
}

/// The load on an AGV's deck (shown while it carries something).
#[derive(Component)]
pub struct VehicleLoad(pub usize);

/// An AGV's battery gauge.
#[derive(Component)]
pub struct BatteryGauge(pub usize);

/// A named place of the floor.
#[derive(Component, Clone, Debug)]
pub struct Place(pub usize);

/// The planned route of the selected AGV.
#[derive(Component)]
pub struct RouteLine;

/// Shared meshes and materials.
#[derive(Resource)]
pub struct Palette {
    /// A unit cube, scaled by transforms.
    pub cube: Handle<Mesh>,
    /// Machine bodies per state, lit ([`StationState::ALL`] order).
    pub body: [Handle<StandardMaterial>; 7],
    /// State lamps per state, unlit.
    pub lamp: [Handle<StandardMaterial>; 7],
    /// Battery gauge from empty to full, five steps, unlit.
    pub battery: [Handle<StandardMaterial>; 5],
    /// AGV bodies.
    pub vehicle: Handle<StandardMaterial>,
    /// The AGV the user picked.
    pub vehicle_selected: Handle<StandardMaterial>,
    /// Loads (pallets).
    pub load: Handle<StandardMaterial>,
    /// Belt frames.
    pub belt: Handle<StandardMaterial>,
    /// Product on a belt.
    pub belt_fill: Handle<StandardMaterial>,
    /// Faint lines.
    pub path: Handle<StandardMaterial>,
    /// The selected AGV's route.
    pub route: Handle<StandardMaterial>,
    /// Speed gauges (the report's speed-step colour).
    pub speed: Handle<StandardMaterial>,
}

/// sRGB colour of a state.
pub fn state_colour(s: StationState) -> Color {
    let [r, g, b] = s.rgb();
    Color::srgb_u8(r, g, b)
}

impl Palette {
    /// The meshes and materials, added to the asset stores.
    pub fn new(meshes: &mut Assets<Mesh>, materials: &mut Assets<StandardMaterial>) -> Self {
        let lit = |materials: &mut Assets<StandardMaterial>, c: Color| {
            materials.add(StandardMaterial {
                base_color: c,
                perceptual_roughness: 0.7,
                ..default()
            })
        };
        let unlit = |materials: &mut Assets<StandardMaterial>, c: Color| {
            materials.add(StandardMaterial {
                base_color: c,
                unlit: true,
                ..default()
            })
        };
        let body = StationState::ALL.map(|s| lit(materials, state_colour(s)));
        let lamp = StationState::ALL.map(|s| unlit(materials, state_colour(s)));
        let battery = [
            Color::srgb_u8(0xc6, 0x28, 0x28),
            Color::srgb_u8(0xef, 0x6c, 0x00),
            Color::srgb_u8(0xf9, 0xa8, 0x25),
            Color::srgb_u8(0x9e, 0xc2, 0x3a),
            Color::srgb_u8(0x2e, 0x7d, 0x32),
        ]
        .map(|c| unlit(materials, c));
        Palette {
            cube: meshes.add(Cuboid::new(1.0, 1.0, 1.0)),
            body,
            lamp,
            battery,
            vehicle: lit(materials, Color::srgb_u8(0xff, 0xc1, 0x07)),
            vehicle_selected: lit(materials, Color::srgb_u8(0x00, 0xe5, 0xff)),
            load: lit(materials, Color::srgb_u8(0xa1, 0x88, 0x7f)),
            belt: lit(materials, Color::srgb_u8(0x45, 0x4f, 0x5a)),
            belt_fill: lit(materials, Color::srgb_u8(0x4f, 0xc3, 0xf7)),
            path: unlit(materials, Color::srgb_u8(0x5a, 0x63, 0x73)),
            route: unlit(materials, Color::srgb_u8(0x00, 0xe5, 0xff)),
            speed: unlit(materials, Color::srgb_u8(0x1f, 0x3a, 0x93)),
        }
    }

    /// The battery material for a state of charge (0–1).
    pub fn battery_for(&self, soc: f64) -> &Handle<StandardMaterial> {
        &self.battery[((soc * 5.0) as usize).min(4)]
    }
}

/// Looks of a named place: size (metres) and colour.
fn place_look(kind: LocationKind, cell: f32) -> (Vec3, Color) {
    let c = cell * 0.8;
    match kind {
        LocationKind::Rack => (Vec3::new(c, 3.0, c), Color::srgb_u8(0x5d, 0x73, 0x8a)),
        LocationKind::Dock => (Vec3::new(c, 0.05, c), Color::srgb_u8(0x5c, 0x6b, 0xc0)),
        LocationKind::Charger => (Vec3::new(0.5, 1.4, 0.5), Color::srgb_u8(0x43, 0xa0, 0x47)),
        LocationKind::Parking => (Vec3::new(c, 0.03, c), Color::srgb_u8(0x60, 0x60, 0x68)),
        LocationKind::LineSide => (Vec3::new(c, 0.04, c), Color::srgb_u8(0x90, 0xa4, 0xae)),
        LocationKind::Outfeed => (Vec3::new(c, 0.04, c), Color::srgb_u8(0x8d, 0x6e, 0x63)),
    }
}

/// The scene's geometry as a resource, for picking, labels and framing.
#[derive(Resource, Clone)]
pub struct SceneLayout(pub PlantLayout);

/// Builds the scene of the plant `playback` runs under a fresh [`SceneRoot`].
pub fn build(
    commands: &mut Commands,
    playback: &Playback,
    palette: &Palette,
    meshes: &mut Assets<Mesh>,
    materials: &mut Assets<StandardMaterial>,
) -> PlantLayout {
    let scenario = playback.scenario();
    let layout = PlantLayout::of(scenario);
    let root = commands
        .spawn((SceneRoot, Transform::default(), Visibility::default()))
        .id();
    // The floor, a little larger than everything on it.
    let b = &layout.bounds;
    let size = (b.max - b.min) * Vec3::new(1.0, 0.0, 1.0) + Vec3::new(8.0, 0.0, 8.0);
    commands.spawn((
        Mesh3d(meshes.add(Plane3d::default().mesh().size(size.x, size.z))),
        MeshMaterial3d(materials.add(StandardMaterial {
            base_color: Color::srgb_u8(0x2b, 0x2f, 0x36),
            perceptual_roughness: 0.95,
            ..default()
        })),
        Transform::from_translation(b.centre() * Vec3::new(1.0, 0.0, 1.0) - Vec3::Y * 0.01),
        ChildOf(root),
    ));
    for m in &layout.machines {
        let tag = Machine {
            line: m.line,
            station: m.station,
        };
        commands.spawn((
            tag,
            Mesh3d(palette.cube.clone()),
            MeshMaterial3d(palette.body[0].clone()),
            Transform::from_translation(m.aabb().centre()).with_scale(MACHINE),
            ChildOf(root),
        ));
        commands.spawn((
            StateLamp(tag),
            Mesh3d(palette.cube.clone()),
            MeshMaterial3d(palette.lamp[0].clone()),
            Transform::from_translation(m.top() + Vec3::Y * 0.05).with_scale(Vec3::new(
                MACHINE.x * 0.8,
                0.1,
                MACHINE.z * 0.8,
            )),
            ChildOf(root),
        ));
        if !scenario.lines[m.line].switches.is_empty() {
            let h = speed_gauge_height(1.0);
            commands.spawn((
                SpeedGauge(tag),
                Mesh3d(palette.cube.clone()),
                MeshMaterial3d(palette.speed.clone()),
                Transform::from_translation(speed_gauge_foot(m) + Vec3::Y * h / 2.0)
                    .with_scale(Vec3::new(0.2, h, 0.2)),
                ChildOf(root),
            ));
        }
    }
    for belt in &layout.belts {
        let mid = (belt.from + belt.to) / 2.0;
        let len = belt.length().max(0.05);
        commands.spawn((
            Mesh3d(palette.cube.clone()),
            MeshMaterial3d(palette.belt.clone()),
            Transform::from_translation(mid - Vec3::Y * 0.1).with_scale(Vec3::new(
                len,
                0.2,
                BeltPlace::WIDTH,
            )),
            ChildOf(root),
        ));
        commands.spawn((
            BeltFill {
                line: belt.line,
                buffer: belt.buffer,
                place: belt.clone(),
                peak: 1.0,
            },
            Mesh3d(palette.cube.clone()),
            MeshMaterial3d(palette.belt_fill.clone()),
            Transform::from_translation(belt.from + Vec3::Y * 0.08).with_scale(Vec3::new(
                0.0,
                0.16,
                BeltPlace::WIDTH * 0.8,
            )),
            ChildOf(root),
        ));
    }
    let mut place_materials: Vec<(LocationKind, Handle<StandardMaterial>)> = Vec::new();
    for (i, p) in layout.places.iter().enumerate() {
        let (size, colour) = place_look(p.kind, layout.cell);
        let material = match place_materials.iter().find(|(k, _)| *k == p.kind) {
            Some((_, m)) => m.clone(),
            None => {
                let m = materials.add(StandardMaterial {
                    base_color: colour,
                    perceptual_roughness: 0.8,
                    ..default()
                });
                place_materials.push((p.kind, m.clone()));
                m
            }
        };
        commands.spawn((
            Place(i),
            Mesh3d(palette.cube.clone()),
            MeshMaterial3d(material),
            Transform::from_translation(p.at + Vec3::Y * size.y / 2.0).with_scale(size),
            ChildOf(root),
        ));
    }
    if !layout.paths.is_empty() {
        let mut positions = Vec::with_capacity(layout.paths.len() * 2);
        for (a, b) in &layout.paths {
            positions.push((*a + Vec3::Y * 0.03).to_array());
            positions.push((*b + Vec3::Y * 0.03).to_array());
        }
        let mut mesh = Mesh::new(PrimitiveTopology::LineList, RenderAssetUsages::default());
        mesh.insert_attribute(Mesh::ATTRIBUTE_POSITION, positions);
        commands.spawn((
            Mesh3d(meshes.add(mesh)),
            MeshMaterial3d(palette.path.clone()),
            Transform::default(),
            ChildOf(root),
        ));
        let mut route = Mesh::new(PrimitiveTopology::LineStrip, RenderAssetUsages::default());
        route.insert_attribute(Mesh::ATTRIBUTE_POSITION, vec![[0.0f32; 3]; 2]);
        commands.spawn((
            RouteLine,
            Mesh3d(meshes.add(route)),
            MeshMaterial3d(palette.route.clone()),
            Transform::default(),
            Visibility::Hidden,
            ChildOf(root),
        ));
    }
    if let Some(fleet) = &scenario.fleet {
        for v in &playback.snapshot.vehicles {
            let kind = &fleet.types[fleet.vehicles[v.index]];
            let footprint = Vec2::new(kind.footprint.0 as f32, kind.footprint.1 as f32);
            let at = floor(v.at);
            let body = commands
                .spawn((
                    Vehicle {
                        index: v.index,
                        shown: at,
                        from: at,
                        to: at,
                        t0: 0.0,
                        yaw: 0.0,
                        footprint,
                    },
                    Mesh3d(palette.cube.clone()),
                    MeshMaterial3d(palette.vehicle.clone()),
                    Transform::from_translation(at + Vec3::Y * 0.2).with_scale(Vec3::new(
                        footprint.x,
                        0.4,
                        footprint.y,
                    )),
                    ChildOf(root),
                ))
                .id();
            // Children are placed in the body's unit-cube space.
            commands.spawn((
                VehicleLoad(v.index),
                Mesh3d(palette.cube.clone()),
                MeshMaterial3d(palette.load.clone()),
                Transform::from_xyz(0.0, 2.0, 0.0).with_scale(Vec3::new(0.9, 3.0, 0.9)),
                Visibility::Hidden,
                ChildOf(body),
            ));
            commands.spawn((
                BatteryGauge(v.index),
                Mesh3d(palette.cube.clone()),
                MeshMaterial3d(palette.battery[4].clone()),
                Transform::from_xyz(0.0, 0.55, 0.45).with_scale(Vec3::new(0.9, 0.1, 0.08)),
                ChildOf(body),
            ));
        }
    }
    layout
}

/// The lights, added once.
pub fn lights(commands: &mut Commands) {
    commands.insert_resource(GlobalAmbientLight {
        color: Color::WHITE,
        brightness: 600.0,
        ..default()
    });
    commands.spawn((
        DirectionalLight {
            illuminance: 6_000.0,
            shadow_maps_enabled: false,
            ..default()
        },
        Transform::from_xyz(-30.0, 60.0, 40.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
}

/// Where a machine's speed gauge stands: on its top, at the downstream corner.
pub fn speed_gauge_foot(m: &crate::layout::MachinePlace) -> Vec3 {
    m.top() + Vec3::new(MACHINE.x * 0.45, 0.0, MACHINE.z * 0.45)
}
