//! The view: orbit with the left button, pan with the right (or middle) button, zoom with
//! the wheel; a top-down 2D view (orthographic, north up); focus on the selection.

use crate::layout::{Aabb, framing};
use crate::scene::SceneLayout;
use crate::scene::Vehicle;
use crate::selection::{Selection, selection_point};
use bevy::camera::ScalingMode;
use bevy::core_pipeline::tonemapping::{DebandDither, Tonemapping};
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::prelude::*;
use bevy_egui::input::EguiWantsInput;

/// Vertical field of view of the perspective view, radians.
pub const FOV: f32 = std::f32::consts::FRAC_PI_4;

/// The 3D view's camera and where it looks.
#[derive(Component, Clone, Debug)]
pub struct ViewCamera {
    /// The point it orbits, metres.
    pub focus: Vec3,
    /// Turn about the vertical, radians (0: looking north).
    pub yaw: f32,
    /// Angle below the horizon, radians.
    pub pitch: f32,
    /// Distance from the focus, metres.
    pub distance: f32,
    /// Straight down, orthographic, north up.
    pub top_down: bool,
    /// Keeps the focus on the selected AGV as it drives.
    pub follow: bool,
}

impl ViewCamera {
    /// A view of all of `bounds` from the south-east, above.
    pub fn framing(bounds: &Aabb, aspect: f32) -> Self {
        let (focus, distance) = framing(bounds, FOV, aspect);
        ViewCamera {
            focus,
            yaw: 0.35,
            pitch: 0.85,
            distance,
            top_down: false,
            follow: false,
        }
    }

    /// Where the camera stands and which way is up.
    pub fn transform(&self) -> Transform {
        let (pitch, yaw) = if self.top_down {
            (std::f32::consts::FRAC_PI_2 - 1e-4, 0.0)
        } else {
            (self.pitch, self.yaw)
        };
        let offset = Vec3::new(
            self.distance * pitch.cos() * yaw.sin(),
            self.distance * pitch.sin(),
            self.distance * pitch.cos() * yaw.cos(),
        );
        Transform::from_translation(self.focus + offset).looking_at(self.focus, Vec3::Y)
    }

    /// The projection for the current mode.
    pub fn projection(&self) -> Projection {
        if self.top_down {
            Projection::Orthographic(OrthographicProjection {
                scaling_mode: ScalingMode::FixedVertical {
                    viewport_height: 2.0 * self.distance * (FOV / 2.0).tan(),
                },
                far: self.distance * 4.0 + 100.0,
                ..OrthographicProjection::default_3d()
            })
        } else {
            Projection::Perspective(PerspectiveProjection {
                fov: FOV,
                far: self.distance * 6.0 + 500.0,
                ..default()
            })
        }
    }
}

/// The camera, framing the whole plant. Colours are drawn as given (no tonemapping, no
/// dithering), so state colours on screen match the legend and the reports exactly.
pub fn spawn(commands: &mut Commands, view: ViewCamera) {
    commands.spawn((
        Camera3d::default(),
        view.projection(),
        view.transform(),
        Tonemapping::None,
        DebandDither::Disabled,
        Msaa::Sample4,
        view,
    ));
}

/// Mouse control of the view.
pub fn control(
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    egui: Res<EguiWantsInput>,
    mut camera: Single<&mut ViewCamera>,
    mut dragging: Local<bool>,
) {
    let any = buttons.any_pressed([MouseButton::Left, MouseButton::Right, MouseButton::Middle]);
    if buttons.any_just_pressed([MouseButton::Left, MouseButton::Right, MouseButton::Middle]) {
        *dragging = !egui.wants_any_pointer_input();
    }
    if !any {
        *dragging = false;
    }
    let delta = motion.delta;
    if *dragging && delta != Vec2::ZERO {
        if buttons.pressed(MouseButton::Left) && !camera.top_down {
            camera.yaw -= delta.x * 0.005;
            camera.pitch = (camera.pitch + delta.y * 0.005).clamp(0.1, 1.55);
        } else if buttons.pressed(MouseButton::Right)
            || buttons.pressed(MouseButton::Middle)
            || (buttons.pressed(MouseButton::Left) && camera.top_down)
        {
            // Pan in the floor plane, at a rate that keeps the floor under the pointer.
            let scale = camera.distance * 0.0015;
            let yaw = if camera.top_down { 0.0 } else { camera.yaw };
            let right = Vec3::new(yaw.cos(), 0.0, -yaw.sin());
            let back = Vec3::new(yaw.sin(), 0.0, yaw.cos());
            camera.focus -= (right * delta.x + back * delta.y) * scale;
            camera.follow = false;
        }
    }
    if scroll.delta.y != 0.0 && !egui.wants_any_pointer_input() {
        let lines = match scroll.unit {
            MouseScrollUnit::Line => scroll.delta.y,
            MouseScrollUnit::Pixel => scroll.delta.y / 40.0,
        };
        camera.distance = (camera.distance * 0.9f32.powf(lines)).clamp(2.0, 5_000.0);
    }
}

/// Keeps the camera on a followed AGV and applies the view to the camera entity.
pub fn apply(
    selection: Res<Selection>,
    layout: Option<Res<SceneLayout>>,
    vehicles: Query<&Vehicle>,
    mut camera: Single<(&mut ViewCamera, &mut Transform, &mut Projection)>,
    // The mode and zoom the projection was last made for (an orthographic view's size
    // follows the zoom; a perspective one's does not).
    mut made_for: Local<Option<(bool, f32)>>,
) {
    let (view, tf, projection) = &mut *camera;
    if view.follow
        && let Some(layout) = &layout
        && let Some(p) = selection_point(*selection, layout, &vehicles)
    {
        view.focus = p * Vec3::new(1.0, 0.0, 1.0);
    }
    let wanted = view.transform();
    if **tf != wanted {
        **tf = wanted;
    }
    let key = (
        view.top_down,
        if view.top_down { view.distance } else { 0.0 },
    );
    if *made_for != Some(key) {
        **projection = view.projection();
        *made_for = Some(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_down_looks_straight_down_with_north_up() {
        let bounds = Aabb::centred(Vec3::new(50.0, 1.0, 20.0), Vec3::new(100.0, 2.0, 40.0));
        let mut view = ViewCamera::framing(&bounds, 1.3);
        view.yaw = 1.0;
        view.top_down = true;
        let tf = view.transform();
        assert!(tf.forward().dot(Vec3::NEG_Y) > 0.9999, "{:?}", tf.forward());
        // The screen's up is north (−z), whatever the orbit's yaw was.
        assert!(tf.up().dot(Vec3::NEG_Z) > 0.9999, "{:?}", tf.up());
        assert!(matches!(view.projection(), Projection::Orthographic(_)));
    }

    #[test]
    fn the_framing_sees_the_whole_plant() {
        let bounds = Aabb::centred(Vec3::new(50.0, 1.0, 20.0), Vec3::new(100.0, 2.0, 40.0));
        let view = ViewCamera::framing(&bounds, 1.3);
        let tf = view.transform();
        // Every corner of the floor lies inside the view cone (half-angles from the fov and
        // the aspect ratio).
        let half_v = FOV / 2.0;
        let half_h = (half_v.tan() * 1.3).atan();
        for x in [bounds.min.x, bounds.max.x] {
            for z in [bounds.min.z, bounds.max.z] {
                let d = Vec3::new(x, 0.0, z) - tf.translation;
                let (fwd, right, up) = (d.dot(*tf.forward()), d.dot(*tf.right()), d.dot(*tf.up()));
                assert!(fwd > 0.0);
                assert!(
                    (right / fwd).abs() < half_h.tan(),
                    "corner ({x}, {z}) off the side"
                );
                assert!(
                    (up / fwd).abs() < half_v.tan(),
                    "corner ({x}, {z}) off the top or bottom"
                );
            }
        }
    }
}
