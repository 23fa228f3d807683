//! Brings the scene in line with the twin every frame: machine colours, belt levels, and
//! AGVs gliding between the places the engine puts them. These systems touch only what
//! changed and allocate nothing (material handles are shared and swapped).

use crate::layout::floor;
use crate::playback::Playback;
use crate::scene::{
    BatteryGauge, BeltFill, Machine, Palette, RouteLine, SpeedGauge, StateLamp, Vehicle,
    VehicleLoad, speed_gauge_height,
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

/// Raises or lowers each speed gauge to its machine's speed step (its foot stays put).
pub fn speed_gauges(playback: Res<Playback>, mut gauges: Query<(&SpeedGauge, &mut Transform)>) {
    for (gauge, mut tf) in &mut gauges {
        let Some(st) = playback
            .snapshot
            .lines
            .get(gauge.0.line)
            .and_then(|l| l.stations.get(gauge.0.station))
        else {
            continue;
        };
        let h = speed_gauge_height(st.speed_step);
        if (tf.scale.y - h).abs() > 1e-4 {
            let foot = tf.translation.y - tf.scale.y / 2.0;
            tf.scale.y = h;
            tf.translation.y = foot + h / 2.0;
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
        let share = fill_share(buf.level, buf.capacity, &mut fill.peak);
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

/// How full a belt is drawn, 0–1: its level over its capacity, or over the highest level
/// seen (`peak`, updated) when it is unlimited.
pub fn fill_share(level: f64, capacity: Option<u64>, peak: &mut f64) -> f32 {
    (match capacity {
        Some(0) => 0.0,
        Some(c) => (level / c as f64).clamp(0.0, 1.0),
        None => {
            *peak = peak.max(level).max(1.0);
            level / *peak
        }
    }) as f32
}

impl Vehicle {
    /// Where to draw it at simulated second `now`, the engine having it at `target`: a
    /// new place starts a glide from where it is drawn that takes one traffic `step`
    /// (seconds); time going backwards (a restart, a jump back) or a long gap puts it
    /// there at once.
    pub fn glide(&mut self, target: Vec3, now: f64, step: f64) {
        if target != self.to {
            let jump = now < self.t0 || now - self.t0 > 4.0 * step;
            self.from = if jump { target } else { self.shown };
            self.to = target;
            self.t0 = now;
            let dir = target - self.from;
            if dir.length_squared() > 1e-6 {
                self.yaw = dir.x.atan2(dir.z);
            }
        }
        let f = ((now - self.t0) / step).clamp(0.0, 1.0) as f32;
        self.shown = self.from.lerp(self.to, f);
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
        v.glide(floor(snap.at), now, step);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn agv_at(p: Vec3) -> Vehicle {
        Vehicle {
            index: 0,
            shown: p,
            from: p,
            to: p,
            t0: 0.0,
            yaw: 0.0,
            footprint: Vec2::new(1.0, 1.6),
        }
    }

    #[test]
    fn an_agv_glides_over_one_step_and_faces_its_way() {
        let mut v = agv_at(Vec3::ZERO);
        // The engine moves it 3 m east at t = 1 s; a step takes 2 s.
        v.glide(Vec3::new(3.0, 0.0, 0.0), 1.0, 2.0);
        assert_eq!(v.shown, Vec3::ZERO);
        v.glide(Vec3::new(3.0, 0.0, 0.0), 2.0, 2.0);
        assert_eq!(v.shown, Vec3::new(1.5, 0.0, 0.0));
        assert!(
            (v.yaw - std::f32::consts::FRAC_PI_2).abs() < 1e-6,
            "facing +x"
        );
        v.glide(Vec3::new(3.0, 0.0, 0.0), 6.0, 2.0);
        assert_eq!(v.shown, Vec3::new(3.0, 0.0, 0.0));
        v.glide(Vec3::new(3.0, 0.0, 3.0), 7.0, 2.0);
        v.glide(Vec3::new(3.0, 0.0, 3.0), 8.0, 2.0);
        assert_eq!(v.shown, Vec3::new(3.0, 0.0, 1.5));
        // Time goes back (a jump back, a restart): it stands where the engine has it.
        v.glide(Vec3::new(9.0, 0.0, 9.0), 5.0, 2.0);
        assert_eq!(v.shown, Vec3::new(9.0, 0.0, 9.0));
        // So does a move seen after a long gap (a jump ahead).
        v.glide(Vec3::new(0.0, 0.0, 9.0), 60.0, 2.0);
        assert_eq!(v.shown, Vec3::new(0.0, 0.0, 9.0));
    }

    #[test]
    fn speed_gauges_follow_the_step_in_proportion() {
        use crate::scene::{SPEED_GAUGE_NOMINAL, speed_gauge_height};
        assert_eq!(speed_gauge_height(1.0), SPEED_GAUGE_NOMINAL);
        assert_eq!(speed_gauge_height(0.9), 0.9 * SPEED_GAUGE_NOMINAL);
        assert_eq!(speed_gauge_height(1.15), 1.15 * SPEED_GAUGE_NOMINAL);
        // Stopped by a switch: a sliver still shows; never taller than twice nominal.
        assert_eq!(speed_gauge_height(0.0), 0.05);
        assert_eq!(speed_gauge_height(5.0), 2.0 * SPEED_GAUGE_NOMINAL);
    }

    #[test]
    fn belts_fill_by_capacity_or_by_the_highest_level_seen() {
        let mut peak = 1.0;
        assert_eq!(fill_share(250.0, Some(1000), &mut peak), 0.25);
        assert_eq!(fill_share(2000.0, Some(1000), &mut peak), 1.0);
        assert_eq!(fill_share(5.0, Some(0), &mut peak), 0.0);
        assert_eq!(fill_share(400.0, None, &mut peak), 1.0);
        assert_eq!(fill_share(100.0, None, &mut peak), 0.25);
        assert_eq!(peak, 400.0);
    }
}
