//! The safety monitor: every vehicle's footprint is a rapier3d collider, moved through
//! each traffic step in sub-steps; any contact between two footprints is an incident.
//!
//! It checks the physical result of the plan, independently of the planner: a plan with
//! no vertex or swap conflicts can still make footprints touch when cells are too small
//! or vehicles cut corners, and the monitor sees that where a graph check would not.

use nalgebra::Point2;
use rapier3d::prelude::*;
use std::collections::BTreeSet;

/// Positions between two step ends that are checked (the last is the step's end).
const SUB_STEPS: usize = 4;

/// Footprint height (the boxes are flat slabs on the floor), metres.
const HALF_HEIGHT: f32 = 0.5;

/// Vehicle `v`'s footprint (width, length) standing at `p`: a flat box, its length along
/// x (the heading), its width along y.
fn footprint_collider(v: usize, (w, l): (f64, f64), p: Point2<f64>) -> Collider {
    ColliderBuilder::cuboid(l as f32 / 2.0, w as f32 / 2.0, HALF_HEIGHT)
        .translation(Vector::new(p.x as f32, p.y as f32, HALF_HEIGHT))
        .sensor(true)
        .active_collision_types(ActiveCollisionTypes::all())
        .user_data(v as u128)
        .build()
}

/// The circumscribed radius of a footprint (width, length), with a millimetre to spare
/// for the colliders' single precision, metres.
fn reach((w, l): (f64, f64)) -> f64 {
    0.5 * w.hypot(l) + 1e-3
}

/// Checks footprints for contact.
pub struct SafetyMonitor {
    /// Each vehicle's footprint (width, length), metres.
    footprints: Vec<(f64, f64)>,
    colliders: ColliderSet,
    bodies: RigidBodySet,
    islands: IslandManager,
    broad_phase: BroadPhaseBvh,
    narrow_phase: NarrowPhase,
    pipeline: CollisionPipeline,
    handles: Vec<ColliderHandle>,
    /// Pairs in contact at the last check (a contact lasting several sub-steps is one
    /// incident).
    touching: BTreeSet<(usize, usize)>,
    /// Vehicles' headings, radians.
    heading: Vec<f64>,
    /// Each footprint's circumscribed radius with a millimetre to spare, metres.
    reach: Vec<f64>,
    /// Scratch for [`SafetyMonitor::any_near`]: each footprint, left sorted by band of x
    /// and y (the next check starts from that order: vehicles move little between checks,
    /// so it is nearly sorted already).
    near: Vec<Footprint>,
    /// Contacts that began.
    pub incidents: u64,
    /// The first few incidents: (vehicle, vehicle, position of the first, metres).
    pub first_incidents: Vec<(usize, usize, Point2<f64>)>,
}

impl SafetyMonitor {
    /// A monitor for vehicles of footprints (width, length) in metres standing at
    /// `positions`.
    pub fn new(footprints: &[(f64, f64)], positions: &[Point2<f64>]) -> Self {
        let mut colliders = ColliderSet::new();
        let handles = footprints
            .iter()
            .zip(positions)
            .enumerate()
            .map(|(v, (&fp, &p))| colliders.insert(footprint_collider(v, fp, p)))
            .collect();
        let mut m = SafetyMonitor {
            footprints: footprints.to_vec(),
            colliders,
            bodies: RigidBodySet::new(),
            islands: IslandManager::new(),
            broad_phase: BroadPhaseBvh::new(),
            narrow_phase: NarrowPhase::new(),
            pipeline: CollisionPipeline::new(),
            handles,
            touching: BTreeSet::new(),
            heading: vec![0.0; footprints.len()],
            reach: footprints.iter().map(|&fp| reach(fp)).collect(),
            near: Vec::with_capacity(footprints.len()),
            incidents: 0,
            first_incidents: Vec::new(),
        };
        m.detect();
        m.touching.clear();
        m
    }

    /// A vehicle more, of footprint (width, length) in metres, standing at `position`
    /// (a fleet grown while it runs); a contact it stands in from the start is not an
    /// incident, as at the start of a run.
    pub fn add(&mut self, footprint: (f64, f64), position: Point2<f64>) {
        let v = self.handles.len();
        let c = footprint_collider(v, footprint, position);
        self.handles.push(self.colliders.insert(c));
        self.footprints.push(footprint);
        self.reach.push(reach(footprint));
        self.heading.push(0.0);
        let counts = (self.incidents, self.first_incidents.len());
        self.detect();
        self.incidents = counts.0;
        self.first_incidents.truncate(counts.1);
    }

    /// Checks a step in which vehicle `v` moves from `from[v]` to `to[v]` in a straight
    /// line (turning on the spot first); returns the contacts that began.
    pub fn check_step(&mut self, from: &[Point2<f64>], to: &[Point2<f64>]) -> u64 {
        let before = self.incidents;
        for (v, (a, b)) in from.iter().zip(to).enumerate() {
            let d = b - a;
            if d.norm() > 1e-9 {
                self.heading[v] = d.y.atan2(d.x);
            }
        }
        let moving: Vec<usize> = (0..from.len())
            .filter(|&v| (to[v] - from[v]).norm() > 1e-9)
            .collect();
        if moving.is_empty() {
            return 0;
        }
        // Where no two footprints come near at any sub-step, nothing can touch: the
        // vehicles are put where the step ends, and every contact has ended.
        let quiet = (1..=SUB_STEPS).all(|s| {
            let f = s as f64 / SUB_STEPS as f64;
            !Self::any_near_at(&mut self.near, &self.reach, |v| {
                let p = from[v] + (to[v] - from[v]) * f;
                (p.x, p.y)
            })
        });
        if quiet {
            for &v in &moving {
                let p = from[v] + (to[v] - from[v]) * 1.0;
                self.place(v, p);
            }
            self.touching.clear();
            return 0;
        }
        for s in 1..=SUB_STEPS {
            let f = s as f64 / SUB_STEPS as f64;
            for &v in &moving {
                let p = from[v] + (to[v] - from[v]) * f;
                self.place(v, p);
            }
            self.detect();
        }
        self.incidents - before
    }

    fn place(&mut self, v: usize, p: Point2<f64>) {
        let c = &mut self.colliders[self.handles[v]];
        c.set_position(Pose::from_parts(
            Vector::new(p.x as f32, p.y as f32, HALF_HEIGHT),
            Rotation::from_rotation_z(self.heading[v] as f32),
        ));
    }

    /// Whether two footprints are near enough to touch: their circumscribed circles (with
    /// a millimetre to spare) overlap. Contacts need that, so when no pair is near the
    /// contact set is empty without asking the collision pipeline, whose bounding-volume
    /// upkeep would cost most of a plant's run (vehicles sorted into bands of x).
    fn any_near(&mut self) -> bool {
        let (colliders, handles) = (&self.colliders, &self.handles);
        Self::any_near_at(&mut self.near, &self.reach, |v| {
            let t = colliders[handles[v]].translation();
            (f64::from(t.x), f64::from(t.y))
        })
    }

    /// [`SafetyMonitor::any_near`] with vehicle `v` at `at(v)` (x, y), metres.
    fn any_near_at(
        near: &mut Vec<Footprint>,
        reaches: &[f64],
        at: impl Fn(usize) -> (f64, f64),
    ) -> bool {
        let reach = reaches.iter().copied().fold(0.0f64, f64::max);
        // Bands of x as wide as the widest pair's reach: a near pair lies in one band or in
        // two next to each other, at most that reach apart in y.
        let h = 2.0 * reach;
        let band = |x: f64| if h > 0.0 { (x / h).floor() } else { 0.0 };
        if near.len() == reaches.len() {
            for e in near.iter_mut() {
                let (x, y) = at(e.4);
                (e.0, e.1, e.2) = (band(x), y, x);
            }
        } else {
            near.clear();
            near.extend(reaches.iter().enumerate().map(|(v, &r)| {
                let (x, y) = at(v);
                (band(x), y, x, r, v)
            }));
        }
        let near_pair = |a: &Footprint, b: &Footprint| {
            let d = a.3 + b.3;
            (b.2 - a.2).powi(2) + (b.1 - a.1).powi(2) <= d * d
        };
        // A small fleet checks every pair.
        if near.len() <= 24 || !(h > 0.0 && h.is_finite()) {
            return near
                .iter()
                .enumerate()
                .any(|(i, a)| near[i + 1..].iter().any(|b| near_pair(a, b)));
        }
        // A large one is sorted by band, then y (a sweep over x alone checked every pair
        // of a column of a packed floor).
        sort_by_band(near);
        // Whether `a` is near one of `run` (sorted by y) no further than `h` above it.
        let near_above = |a: &Footprint, run: &[Footprint]| {
            run.iter()
                .take_while(|e| e.1 <= a.1 + h)
                .any(|e| near_pair(a, e))
        };
        let n = near.len();
        let mut i = 0;
        while i < n {
            // This band's run, `i..end`, and the next band's, `end..after`, whose first
            // footprint not below the current one's reach, `from`, only moves on.
            let b = near[i].0;
            let mut end = i + 1;
            while end < n && near[end].0 == b {
                end += 1;
            }
            let mut after = end;
            while after < n && near[after].0 == b + 1.0 {
                after += 1;
            }
            let mut from = end;
            for k in i..end {
                let a = &near[k];
                while from < after && near[from].1 < a.1 - h {
                    from += 1;
                }
                if near_above(a, &near[k + 1..end]) || near_above(a, &near[from..after]) {
                    return true;
                }
            }
            i = end;
        }
        false
    }

    fn detect(&mut self) {
        if !self.any_near() {
            // No pair can touch: every contact has ended, and none begins.
            self.touching.clear();
            return;
        }
        self.pipeline.step(
            0.0,
            &mut self.islands,
            &mut self.broad_phase,
            &mut self.narrow_phase,
            &mut self.bodies,
            &mut self.colliders,
            &(),
            &(),
        );
        let mut now = BTreeSet::new();
        for (h1, h2, intersecting) in self.narrow_phase.intersection_pairs() {
            if intersecting {
                let a = self.colliders[h1].user_data as usize;
                let b = self.colliders[h2].user_data as usize;
                now.insert((a.min(b), a.max(b)));
            }
        }
        for &(a, b) in now.difference(&self.touching) {
            self.incidents += 1;
            if self.first_incidents.len() < 10 {
                let t = self.colliders[self.handles[a]].translation();
                self.first_incidents
                    .push((a, b, Point2::new(t.x as f64, t.y as f64)));
            }
        }
        self.touching = now;
    }
}

/// A monitor as a snapshot keeps it: footprints, where each one stands, and the counts.
/// The collision pipeline is built afresh at those places: contacts depend only on them.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedMonitor {
    footprints: Vec<(f64, f64)>,
    /// Each footprint's pose: translation (x, y, z) and rotation (x, y, z, w).
    poses: Vec<[f32; 7]>,
    touching: BTreeSet<(usize, usize)>,
    heading: Vec<f64>,
    incidents: u64,
    first_incidents: Vec<(usize, usize, Point2<f64>)>,
}

impl serde::Serialize for SafetyMonitor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let poses = self
            .handles
            .iter()
            .map(|&h| {
                let p = self.colliders[h].position();
                let [x, y, z] = p.translation.to_array();
                let [a, b, c, d] = p.rotation.to_array();
                [x, y, z, a, b, c, d]
            })
            .collect();
        SavedMonitor {
            footprints: self.footprints.clone(),
            poses,
            touching: self.touching.clone(),
            heading: self.heading.clone(),
            incidents: self.incidents,
            first_incidents: self.first_incidents.clone(),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for SafetyMonitor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let saved = SavedMonitor::deserialize(d)?;
        let n = saved.footprints.len();
        if saved.poses.len() != n || saved.heading.len() != n {
            return Err(serde::de::Error::custom(
                "a safety monitor needs one pose and one heading per footprint",
            ));
        }
        let origins = vec![Point2::origin(); n];
        let mut m = SafetyMonitor::new(&saved.footprints, &origins);
        for (v, pose) in saved.poses.iter().enumerate() {
            let [x, y, z, a, b, c, w] = *pose;
            m.colliders[m.handles[v]].set_position(Pose::from_parts(
                Vector::new(x, y, z),
                Rotation::from_xyzw(a, b, c, w),
            ));
        }
        m.detect();
        m.touching = saved.touching;
        m.heading = saved.heading;
        m.incidents = saved.incidents;
        m.first_incidents = saved.first_incidents;
        Ok(m)
    }
}

/// A vehicle's footprint for [`SafetyMonitor::any_near`]: its band of x, y, x, reach
/// (metres) and the vehicle.
type Footprint = (f64, f64, f64, f64, usize);

/// Sorts `near` by band, then y. Left in the order of the last check, it is nearly sorted
/// (vehicles move a fraction of a cell between checks): insertion sort then takes one
/// pass, against a full sort's n log n comparisons; past a few moves per entry it hands
/// over to one.
fn sort_by_band(near: &mut [Footprint]) {
    let after = |a: &Footprint, b: &Footprint| a.0 > b.0 || (a.0 == b.0 && a.1 > b.1);
    let mut moves = 0usize;
    let most = 4 * near.len();
    for k in 1..near.len() {
        let mut j = k;
        while j > 0 && after(&near[j - 1], &near[j]) {
            near.swap(j - 1, j);
            j -= 1;
            moves += 1;
        }
        if moves > most {
            near.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: f64, y: f64) -> Point2<f64> {
        Point2::new(x, y)
    }

    #[test]
    fn footprints_apart_never_touch_and_overlapping_ones_do() {
        let fp = [(1.0, 1.6); 2];
        let mut m = SafetyMonitor::new(&fp, &[p(0.0, 0.0), p(3.0, 0.0)]);
        // Side by side, 1.7 m apart centre to centre along the heading: clear.
        assert_eq!(
            m.check_step(&[p(0.0, 0.0), p(3.0, 0.0)], &[p(0.0, 0.0), p(1.7, 0.0)]),
            0
        );
        // 1.5 m apart: the 1.6 m bodies overlap by 0.1 m.
        assert_eq!(
            m.check_step(&[p(0.0, 0.0), p(1.7, 0.0)], &[p(0.0, 0.0), p(1.5, 0.0)]),
            1
        );
        // Staying in contact is the same incident.
        assert_eq!(
            m.check_step(&[p(0.0, 0.0), p(1.5, 0.0)], &[p(0.0, 0.0), p(1.45, 0.0)]),
            0
        );
        assert_eq!(m.incidents, 1);
    }

    #[test]
    fn a_swap_through_each_other_is_caught_mid_step() {
        // Two vehicles trade places on a 3 m edge: they pass through each other.
        let fp = [(1.0, 1.6); 2];
        let (a, b) = (p(0.0, 0.0), p(3.0, 0.0));
        let mut m = SafetyMonitor::new(&fp, &[a, b]);
        assert_eq!(m.check_step(&[a, b], &[b, a]), 1);
    }

    #[test]
    fn following_round_a_corner_needs_length_plus_width() {
        // A leaves the corner eastward as B enters it from the north: half-way, A's
        // rear and B's front meet unless the cell is at least length + width (2.6 m).
        let fp = [(1.0, 1.6); 2];
        for (cell, expected) in [(2.5, 1), (2.7, 0)] {
            let corner = p(0.0, 0.0);
            let east = p(cell, 0.0);
            let north = p(0.0, cell);
            let mut m = SafetyMonitor::new(&fp, &[corner, north]);
            assert_eq!(
                m.check_step(&[corner, north], &[east, corner]),
                expected,
                "cell {cell}"
            );
        }
    }

    /// Whether two footprints (centre, heading in radians, (width, length)) overlap: the
    /// separating-axis test for rectangles, written apart from the monitor.
    fn overlap(a: (Point2<f64>, f64, (f64, f64)), b: (Point2<f64>, f64, (f64, f64))) -> bool {
        let axes = |h: f64| [(h.cos(), h.sin()), (-h.sin(), h.cos())];
        let half = |(w, l): (f64, f64)| (l / 2.0, w / 2.0);
        let d = b.0 - a.0;
        for (x, y) in axes(a.1).into_iter().chain(axes(b.1)) {
            let project = |(_, h, fp): (Point2<f64>, f64, (f64, f64))| {
                let (hl, hw) = half(fp);
                let [(ux, uy), (vx, vy)] = axes(h);
                hl * (ux * x + uy * y).abs() + hw * (vx * x + vy * y).abs()
            };
            if (d.x * x + d.y * y).abs() > project(a) + project(b) {
                return false;
            }
        }
        true
    }

    #[test]
    fn contacts_counted_with_and_without_the_nearness_filter_agree_with_a_plain_geometry_check() {
        // Seven vehicles of three sizes wander on a floor of 2 m cells, a step at a time
        // to a neighbouring cell or staying, most steps near nobody, some through each
        // other. Every contact that begins, at any of a step's sub-steps, counts once: as
        // the separating-axis test on the same positions and headings counts it. (No two
        // half-extents sum to a multiple of the half-metre sub-step, so no pair ever just
        // grazes, where single and double precision could disagree.)
        use rand::{RngExt, SeedableRng};
        let fp = [
            (1.02, 1.62),
            (1.18, 1.94),
            (0.84, 1.13),
            (1.02, 1.62),
            (1.18, 1.94),
            (0.84, 1.13),
            (1.02, 1.62),
        ];
        let mut rng = rand_pcg::Pcg64::seed_from_u64(11);
        let cell = |(i, j): (i32, i32)| p(2.0 * f64::from(i), 2.0 * f64::from(j));
        let mut at: Vec<(i32, i32)> = (0..7).map(|k| (3 * k, 0)).collect();
        let mut m = SafetyMonitor::new(&fp, &at.iter().map(|&c| cell(c)).collect::<Vec<_>>());
        let mut heading = [0.0f64; 7];
        let mut touching = BTreeSet::new();
        let (mut expected, mut steps_with_contact) = (0u64, 0);
        for _ in 0..3_000 {
            let next: Vec<(i32, i32)> = at
                .iter()
                .map(|&(i, j)| {
                    let (di, dj) =
                        [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)][rng.random_range(0..5)];
                    ((i + di).clamp(0, 20), (j + dj).clamp(0, 3))
                })
                .collect();
            let (from, to): (Vec<_>, Vec<_>) = at
                .iter()
                .zip(&next)
                .map(|(&a, &b)| (cell(a), cell(b)))
                .unzip();
            for v in 0..7 {
                let d = to[v] - from[v];
                if d.norm() > 1e-9 {
                    heading[v] = d.y.atan2(d.x);
                }
            }
            if from != to {
                for s in 1..=SUB_STEPS {
                    let f = s as f64 / SUB_STEPS as f64;
                    let pos: Vec<Point2<f64>> =
                        (0..7).map(|v| from[v] + (to[v] - from[v]) * f).collect();
                    let mut now = BTreeSet::new();
                    for a in 0..7 {
                        for b in a + 1..7 {
                            if overlap((pos[a], heading[a], fp[a]), (pos[b], heading[b], fp[b])) {
                                now.insert((a, b));
                            }
                        }
                    }
                    expected += now.difference(&touching).count() as u64;
                    touching = now;
                }
            }
            let got = m.check_step(&from, &to);
            steps_with_contact += usize::from(got > 0);
            at = next;
        }
        assert!(
            steps_with_contact > 20,
            "the walk should make contacts: {steps_with_contact}"
        );
        assert_eq!(m.incidents, expected);
    }

    #[test]
    fn nearness_of_a_large_fleet_checked_from_the_last_order_is_a_check_of_every_pair() {
        // Sixty footprints wander a floor of 3 m cells, checked at four sub-steps a step
        // from the order the last check left: each answer is that of every pair, and the
        // order stays sorted by x (first from the vehicles' own order, then nearly sorted).
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64::seed_from_u64(5);
        let reaches: Vec<f64> = (0..60).map(|k| [0.9, 1.2, 1.5][k % 3]).collect();
        let mut at: Vec<(f64, f64)> = (0..60)
            .map(|_| {
                let mut cell = |n| 3.0 * f64::from(rng.random_range(0..n));
                (cell(12), cell(12))
            })
            .collect();
        let mut near = Vec::new();
        let (mut yes, mut no) = (0, 0);
        for _ in 0..400 {
            let to: Vec<(f64, f64)> = at
                .iter()
                .map(|&(x, y)| {
                    let (dx, dy) = [(0.0, 0.0), (3.0, 0.0), (-3.0, 0.0), (0.0, 3.0), (0.0, -3.0)]
                        [rng.random_range(0..5)];
                    (x + dx, y + dy)
                })
                .collect();
            for s in 1..=SUB_STEPS {
                let f = s as f64 / SUB_STEPS as f64;
                let pos = |v: usize| {
                    (
                        at[v].0 + (to[v].0 - at[v].0) * f,
                        at[v].1 + (to[v].1 - at[v].1) * f,
                    )
                };
                let every_pair = (0..60).any(|a| {
                    (a + 1..60).any(|b| {
                        let ((xa, ya), (xb, yb)) = (pos(a), pos(b));
                        let d = reaches[a] + reaches[b];
                        (xb - xa).powi(2) + (yb - ya).powi(2) <= d * d
                    })
                });
                assert_eq!(
                    SafetyMonitor::any_near_at(&mut near, &reaches, pos),
                    every_pair
                );
                assert!(
                    near.windows(2)
                        .all(|w| (w[0].0, w[0].1) <= (w[1].0, w[1].1)),
                    "sorted by band of x, then y"
                );
                let mut seen: Vec<usize> = near.iter().map(|e| e.4).collect();
                seen.sort_unstable();
                assert!(seen.iter().copied().eq(0..60), "each vehicle once");
                if every_pair {
                    yes += 1;
                } else {
                    no += 1;
                }
            }
            at = to;
        }
        assert!(yes > 100 && no > 100, "{yes} near, {no} not");
    }
}
