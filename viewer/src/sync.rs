//! Brings the scene in line with the twin every frame: machine colours, belt levels, and
//! AGVs gliding between the places the engine puts them. These systems touch only what
//! changed and allocate nothing (material handles are shared and swapped).

use crate::layout::floor;
use crate::playback::Playback;
use crate::scene::{
    BatteryGauge, BeltFill, Machine, Palette, RouteLine, StateLamp, Vehicle, VehicleLoad,
};
use crate::selection::Selection;
use bevy::prelude::*;

/// Colours each machine and its lamp by the station's state.
pub fn machines(
    playback: Res<Playback>,
    palette: Res<Palette>,
    mut bodies: Query<(&Machine, &mut MeshMaterial3d<StandardMaterial>), Without<StateLamp>>,
    mut lamps: Query<(&StateLamp, &mut MeshMaterial3d<StandardMaterial>), Without<Machine>>,
) {
    let state = |m: &Machine| {
        playback
            .snapshot
            .lines
            .get(m.line)
            .and_then(|l| l.stations.get(m.station))
            .map(|s| s.state as usize)
    };
    for (m, mut mat) in &mut bodies {
        if let Some(s) = state(m)
            && mat.0.id() != palette.body[s].id()
        {
            mat.0 = palette.body[s].clone();
        }
    }
    for (lamp, mut mat) in &mut lamps {
        if let Some(s) = state(&lamp.0)
            && mat.0.id() != palette.lamp[s].id()
        {
            mat.0 = palette.lamp[s].clone();
        }
    }
}

/// Stretches each belt's fill by its buffer's level over its capacity (over the highest
/// level seen, for unlimited buffers).
pub fn belts(playback: Res<Playback>, mut fills: Query<(&mut BeltFill, &mut Transform)>) {
    for (mut fill, mut tf) in &mut fills {
        let Some(buf) = playback
            .snapshot
            .lines
            .get(fill.line)
            .and_then(|l| l.buffers.get(fill.buffer))
        else {
            continue;
        };
        let share = match buf.capacity {
            Some(0) => 0.0,
            Some(c) => (buf.level / c as f64).clamp(0.0, 1.0),
            None => {
                fill.peak = fill.peak.max(buf.level);
                buf.level / fill.peak
            }
        } as f32;
        let (from, to) = (fill.place.from, fill.place.to);
        let len = from.distance(to) * share;
        // Units gather at the downstream end of an accumulation conveyor.
        let centre = to + (from - to).normalize_or_zero() * len / 2.0 + Vec3::Y * 0.08;
        if (tf.scale.x - len).abs() > 1e-3 || tf.translation.distance(centre) > 1e-3 {
            tf.scale.x = len;
            tf.translation = centre;
        }
    }
}

/// Moves each AGV: it glides from where it was drawn to where the engine has it over one
/// traffic step of simulated time, turns to face where it goes, shows its load and its
/// battery.
#[allow(clippy::type_complexity)]
pub fn vehicles(
    playback: Res<Playback>,
    palette: Res<Palette>,
    selection: Res<Selection>,
    mut bodies: Query<(
        &mut Vehicle,
        &mut Transform,
        &mut MeshMaterial3d<StandardMaterial>,
    )>,
    mut loads: Query<(&VehicleLoad, &mut Visibility)>,
    mut gauges: Query<
        (
            &BatteryGauge,
            &mut Transform,
            &mut MeshMaterial3d<StandardMaterial>,
        ),
        Without<Vehicle>,
    >,
) {
    let now = playback.now().as_secs_f64();
    let step = playback
        .scenario()
        .fleet
        .as_ref()
        .map_or(1.0, |f| f.step.as_secs_f64())
        .max(1e-6);
    let snaps = &playback.snapshot.vehicles;
    for (mut v, mut tf, mut mat) in &mut bodies {
        let Some(snap) = snaps.get(v.index) else {
            continue;
        };
        let target = floor(snap.at);
        if target != v.to {
            // A restart or a jump back moves time backwards: no glide then.
            let jump = now < v.t0 || now - v.t0 > 4.0 * step;
            v.from = if jump { target } else { v.shown };
            v.to = target;
            v.t0 = now;
            let dir = target - v.from;
            if dir.length_squared() > 1e-6 {
                v.yaw = dir.x.atan2(dir.z);
            }
        }
        let f = ((now - v.t0) / step).clamp(0.0, 1.0) as f32;
        v.shown = v.from.lerp(v.to, f);
        let translation = v.shown + Vec3::Y * 0.2;
        let rotation = Quat::from_rotation_y(v.yaw);
        if tf.translation != translation || tf.rotation != rotation {
            tf.translation = translation;
            tf.rotation = rotation;
        }
        let wanted = if *selection == Selection::Vehicle(v.index) {
            &palette.vehicle_selected
        } else {
            &palette.vehicle
        };
        if mat.0.id() != wanted.id() {
            mat.0 = wanted.clone();
        }
    }
    for (load, mut vis) in &mut loads {
        let loaded = snaps.get(load.0).is_some_and(|s| s.loads > 0);
        let wanted = if loaded {
            Visibility::Inherited
        } else {
            Visibility::Hidden
        };
        if *vis != wanted {
            *vis = wanted;
        }
    }
    for (gauge, mut tf, mut mat) in &mut gauges {
        let soc = snaps
            .get(gauge.0)
            .and_then(|s| s.state_of_charge)
            .unwrap_or(1.0);
        let width = 0.9 * soc as f32;
        if (tf.scale.x - width).abs() > 1e-3 {
            tf.scale.x = width;
            tf.translation.x = (width - 0.9) / 2.0;
        }
        let wanted = palette.battery_for(soc);
        if mat.0.id() != wanted.id() {
            mat.0 = wanted.clone();
        }
    }
}

/// Draws the selected AGV's planned route ahead of it.
pub fn route(
    playback: Res<Playback>,
    selection: Res<Selection>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut line: Query<(&Mesh3d, &mut Visibility), With<RouteLine>>,
    mut last: Local<(Option<usize>, u64, f64)>,
) {
    let Ok((mesh, mut vis)) = line.single_mut() else {
        return;
    };
    let Selection::Vehicle(v) = *selection else {
        if *vis != Visibility::Hidden {
            *vis = Visibility::Hidden;
        }
        *last = (None, 0, 0.0);
        return;
    };
    // The route changes only when the engine moves; refresh it then.
    let now = playback.now().as_secs_f64();
    if *last == (Some(v), playback.events, now) {
        return;
    }
    *last = (Some(v), playback.events, now);
    let points = playback.route_ahead(v);
    if points.len() < 2 {
        *vis = Visibility::Hidden;
        return;
    }
    if let Some(mut m) = meshes.get_mut(&mesh.0) {
        let positions: Vec<[f32; 3]> = points
            .iter()
            .map(|p| (floor(*p) + Vec3::Y * 0.15).to_array())
            .collect();
        m.insert_attribute(Mesh::ATTRIBUTE_POSITION, positions);
    }
    *vis = Visibility::Inherited;
}
