//! What the user picked: a click in the 3D view casts a ray from the camera and takes the
//! nearest machine, conveyor, AGV or place it enters.

use crate::layout::{Aabb, MACHINE};
use crate::scene::{SceneLayout, Vehicle};
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::input::EguiWantsInput;

/// The picked object.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    /// Nothing.
    #[default]
    None,
    /// A station: line and station index.
    Machine(usize, usize),
    /// A buffer's conveyor: line and buffer index.
    Belt(usize, usize),
    /// An AGV by number.
    Vehicle(usize),
    /// A named place by its index in the layout.
    Place(usize),
}

/// Where the selection is, metres (an AGV where it is drawn).
pub fn selection_point(
    selection: Selection,
    layout: &SceneLayout,
    vehicles: &Query<&Vehicle>,
) -> Option<Vec3> {
    match selection {
        Selection::None => None,
        Selection::Machine(l, s) => layout.0.machine(l, s).map(|m| m.aabb().centre()),
        Selection::Belt(l, b) => layout
            .0
            .belts
            .iter()
            .find(|x| x.line == l && x.buffer == b)
            .map(|x| (x.from + x.to) / 2.0),
        Selection::Vehicle(v) => vehicles.iter().find(|x| x.index == v).map(|x| x.shown),
        Selection::Place(i) => layout.0.places.get(i).map(|p| p.at),
    }
}

/// Pointer travel below which a press and release is a click rather than a drag, pixels.
const CLICK_SLOP: f32 = 4.0;

/// The nearest object a ray enters.
pub fn pick(
    layout: &SceneLayout,
    vehicles: &[(usize, Vec3, Vec2)],
    origin: Vec3,
    dir: Vec3,
) -> Selection {
    let mut best = (f32::INFINITY, Selection::None);
    let mut consider = |aabb: Aabb, what: Selection| {
        if let Some(t) = aabb.hit(origin, dir)
            && t < best.0
        {
            best = (t, what);
        }
    };
    for &(v, at, footprint) in vehicles {
        let size = Vec3::new(
            footprint.x.max(footprint.y),
            1.2,
            footprint.x.max(footprint.y),
        );
        consider(
            Aabb::centred(at + Vec3::Y * 0.6, size),
            Selection::Vehicle(v),
        );
    }
    for m in &layout.0.machines {
        consider(m.aabb(), Selection::Machine(m.line, m.station));
    }
    for b in &layout.0.belts {
        consider(b.aabb(), Selection::Belt(b.line, b.buffer));
    }
    for (i, p) in layout.0.places.iter().enumerate() {
        let half = layout.0.cell * 0.4;
        consider(
            Aabb {
                min: p.at - Vec3::new(half, 0.0, half),
                max: p.at + Vec3::new(half, MACHINE.y.min(3.0), half),
            },
            Selection::Place(i),
        );
    }
    best.1
}

/// Where the left button went down, to tell clicks from drags.
#[derive(Default)]
pub struct PressedAt(Option<Vec2>);

/// Picks on a left click in the 3D view (not over a panel).
#[allow(clippy::too_many_arguments)]
pub fn click(
    buttons: Res<ButtonInput<MouseButton>>,
    window: Single<&Window, With<PrimaryWindow>>,
    // The 3D view's camera (the overlay's is a 2D one).
    camera: Single<(&Camera, &GlobalTransform), With<Camera3d>>,
    egui: Res<EguiWantsInput>,
    layout: Option<Res<SceneLayout>>,
    vehicles: Query<&Vehicle>,
    mut selection: ResMut<Selection>,
    mut pressed: Local<PressedAt>,
) {
    let cursor = window.cursor_position();
    if buttons.just_pressed(MouseButton::Left) {
        pressed.0 = if egui.wants_any_pointer_input() {
            None
        } else {
            cursor
        };
    }
    if !buttons.just_released(MouseButton::Left) {
        return;
    }
    let (Some(down), Some(up), Some(layout)) = (pressed.0.take(), cursor, layout) else {
        return;
    };
    if down.distance(up) > CLICK_SLOP {
        return;
    }
    let (cam, tf) = *camera;
    let Ok(ray) = cam.viewport_to_world(tf, up) else {
        return;
    };
    let shown: Vec<(usize, Vec3, Vec2)> = vehicles
        .iter()
        .map(|v| (v.index, v.shown, v.footprint))
        .collect();
    *selection = pick(&layout, &shown, ray.origin, *ray.direction);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{MachinePlace, PlantLayout};

    fn layout() -> SceneLayout {
        let machines = (0..3)
            .map(|i| MachinePlace {
                line: 0,
                station: i,
                at: Vec3::new(i as f32 * 7.0, 0.0, 0.0),
            })
            .collect();
        SceneLayout(PlantLayout {
            machines,
            belts: Vec::new(),
            places: Vec::new(),
            paths: Vec::new(),
            cell: 3.0,
            bounds: Aabb::centred(Vec3::ZERO, Vec3::splat(20.0)),
        })
    }

    #[test]
    fn a_ray_from_above_picks_the_machine_below() {
        let l = layout();
        let down = Vec3::NEG_Y;
        assert_eq!(
            pick(&l, &[], Vec3::new(7.0, 50.0, 0.3), down),
            Selection::Machine(0, 1)
        );
        assert_eq!(
            pick(&l, &[], Vec3::new(3.5, 50.0, 0.0), down),
            Selection::None
        );
    }

    #[test]
    fn the_nearest_object_wins() {
        let l = layout();
        // A ray along the line from the west enters station 0 first.
        assert_eq!(
            pick(&l, &[], Vec3::new(-20.0, 1.0, 0.0), Vec3::X),
            Selection::Machine(0, 0)
        );
        // An AGV standing in front of station 2 hides it.
        let agv = [(4, Vec3::new(10.0, 0.0, 0.0), Vec2::new(1.0, 1.6))];
        assert_eq!(
            pick(&l, &agv, Vec3::new(30.0, 0.5, 0.0), Vec3::NEG_X),
            Selection::Machine(0, 2)
        );
        assert_eq!(
            pick(&l, &agv, Vec3::new(10.0, 30.0, 0.0), Vec3::NEG_Y),
            Selection::Vehicle(4)
        );
    }
}
