//! Where things stand on the floor: the scene's geometry worked out from the scenario
//! alone, so that the scene, picking, labels and screenshots agree on it.
//!
//! World axes: x east and z south in metres, as the layout's x and y (a grid map's
//! columns and rows); y up. A line with spots on the fleet's floor (its line-side
//! drops and pallet outfeed) runs along them: each station that uses a material stands
//! by that material's drop, the last station by the outfeed, the others in between. A
//! line without spots gets a row of its own below the floor (or from the origin when the
//! plant has no fleet), stations every [`STATION_PITCH`] metres.

use bevy::math::{Vec2, Vec3};
use twin_models::Scenario;
use twin_models::scenario::Line;
use twin_models::scenario::fleet::LocationKind;

/// Distance between stations of a line laid out in a row of its own, metres.
pub const STATION_PITCH: f32 = 7.0;
/// Distance between lines laid out in rows of their own, metres.
pub const LINE_PITCH: f32 = 9.0;
/// A machine's box: width along the line, height, depth across it, metres.
pub const MACHINE: Vec3 = Vec3::new(3.2, 2.4, 2.6);
/// Height of a conveyor's belt above the floor, metres.
pub const BELT_HEIGHT: f32 = 0.9;
/// Distance between parallel branches of a line, metres.
pub const BRANCH_PITCH: f32 = 4.5;

/// An axis-aligned box, for picking and framing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Aabb {
    /// Lowest corner, metres.
    pub min: Vec3,
    /// Highest corner, metres.
    pub max: Vec3,
}

impl Aabb {
    /// The box of `size` centred at `centre`.
    pub fn centred(centre: Vec3, size: Vec3) -> Self {
        Aabb {
            min: centre - size / 2.0,
            max: centre + size / 2.0,
        }
    }

    /// Its centre.
    pub fn centre(&self) -> Vec3 {
        (self.min + self.max) / 2.0
    }

    /// The smallest box holding both.
    pub fn union(&self, other: &Aabb) -> Aabb {
        Aabb {
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }

    /// Distance along the ray `origin + t·dir` to where it enters the box, if it does.
    pub fn hit(&self, origin: Vec3, dir: Vec3) -> Option<f32> {
        let inv = dir.recip();
        let t1 = (self.min - origin) * inv;
        let t2 = (self.max - origin) * inv;
        let near = t1.min(t2).max_element();
        let far = t1.max(t2).min_element();
        (far >= near.max(0.0)).then_some(near.max(0.0))
    }
}

/// A station's place.
#[derive(Clone, Debug, PartialEq)]
pub struct MachinePlace {
    /// Line index in the scenario.
    pub line: usize,
    /// Station index in flow order.
    pub station: usize,
    /// Centre of its box on the floor (y = 0), metres.
    pub at: Vec3,
}

impl MachinePlace {
    /// Its box.
    pub fn aabb(&self) -> Aabb {
        Aabb::centred(self.at + Vec3::Y * MACHINE.y / 2.0, MACHINE)
    }

    /// The middle of its top face, where the state is shown.
    pub fn top(&self) -> Vec3 {
        self.at + Vec3::Y * MACHINE.y
    }
}

/// A buffer's conveyor between two machines.
#[derive(Clone, Debug, PartialEq)]
pub struct BeltPlace {
    /// Line index in the scenario.
    pub line: usize,
    /// Buffer index in flow order.
    pub buffer: usize,
    /// Upstream end, at belt height, metres.
    pub from: Vec3,
    /// Downstream end, at belt height, metres.
    pub to: Vec3,
}

impl BeltPlace {
    /// Belt width, metres.
    pub const WIDTH: f32 = 0.8;

    /// Its length, metres.
    pub fn length(&self) -> f32 {
        self.from.distance(self.to)
    }

    /// Its box.
    pub fn aabb(&self) -> Aabb {
        let half = Vec3::new(Self::WIDTH, 0.3, Self::WIDTH) / 2.0;
        Aabb {
            min: self.from.min(self.to) - half,
            max: self.from.max(self.to) + half,
        }
    }
}

/// A named place of the floor (rack, dock, charger, parking, line side, outfeed).
#[derive(Clone, Debug, PartialEq)]
pub struct NamedPlace {
    /// Its name in the scenario.
    pub name: String,
    /// What it is for.
    pub kind: LocationKind,
    /// On the floor, metres.
    pub at: Vec3,
}

/// The scene's geometry.
#[derive(Clone, Debug, PartialEq)]
pub struct PlantLayout {
    /// Every station, line by line in flow order.
    pub machines: Vec<MachinePlace>,
    /// Every buffer, line by line in flow order.
    pub belts: Vec<BeltPlace>,
    /// The fleet's named places.
    pub places: Vec<NamedPlace>,
    /// The fleet's path graph as segments on the floor, metres (each two-way lane once).
    pub paths: Vec<(Vec3, Vec3)>,
    /// Side of one floor cell, metres (the station pitch without a fleet).
    pub cell: f32,
    /// Everything above.
    pub bounds: Aabb,
}

/// A layout point (metres, y down the map) on the floor.
pub fn floor(p: nalgebra::Point2<f64>) -> Vec3 {
    Vec3::new(p.x as f32, 0.0, p.y as f32)
}

impl PlantLayout {
    /// The layout of `scenario`.
    pub fn of(scenario: &Scenario) -> Self {
        let mut places = Vec::new();
        let mut paths = Vec::new();
        let mut cell = STATION_PITCH;
        let mut floor_bounds: Option<Aabb> = None;
        if let Some(fleet) = &scenario.fleet {
            let layout = &fleet.layout;
            cell = layout.cell() as f32;
            for (name, loc) in &fleet.locations {
                places.push(NamedPlace {
                    name: name.clone(),
                    kind: loc.kind,
                    at: floor(layout.position(loc.spot)),
                });
            }
            for a in 0..layout.spots() as u32 {
                let pa = floor(layout.position(a));
                let b0 = Aabb::centred(pa, Vec3::splat(cell));
                floor_bounds = Some(floor_bounds.map_or(b0, |b| b.union(&b0)));
                for &b in layout.neighbours(a) {
                    // A two-way lane is two segments; draw it once.
                    if b > a || !layout.neighbours(b).contains(&a) {
                        paths.push((pa, floor(layout.position(b))));
                    }
                }
            }
        }
        let mut machines = Vec::new();
        let mut belts = Vec::new();
        let mut free_row = floor_bounds.map_or(0.0, |b| b.max.z + LINE_PITCH / 2.0);
        for (li, line) in scenario.lines.iter().enumerate() {
            let (column, across, width) = columns(line);
            let n = column.iter().max().map_or(0, |c| c + 1);
            let spots = line_spots(scenario, li);
            let xs: Vec<f32>;
            let z: f32;
            match spots {
                Some((anchors, z_mean)) => {
                    // Anchored stations anchor their columns (the first anchor of each).
                    let mut cols: Vec<(usize, f32)> = Vec::new();
                    for (s, x) in anchors {
                        if !cols.iter().any(|&(c, _)| c == column[s]) {
                            cols.push((column[s], x));
                        }
                    }
                    cols.sort_by_key(|&(c, _)| c);
                    xs = spread(n, &cols);
                    z = z_mean;
                }
                None => {
                    xs = (0..n).map(|i| i as f32 * STATION_PITCH).collect();
                    z = free_row + (width - 1) as f32 * BRANCH_PITCH / 2.0;
                    free_row += LINE_PITCH + (width - 1) as f32 * BRANCH_PITCH;
                }
            }
            let first = machines.len();
            for (i, (&c, &a)) in column.iter().zip(&across).enumerate() {
                machines.push(MachinePlace {
                    line: li,
                    station: i,
                    at: Vec3::new(xs[c], 0.0, z + a * BRANCH_PITCH),
                });
            }
            let centre = |list: &[usize]| -> Vec3 {
                list.iter().map(|&s| machines[first + s].at).sum::<Vec3>() / list.len() as f32
            };
            for (b, buf) in line.buffers.iter().enumerate() {
                let (a, c) = (centre(&buf.from), centre(&buf.to));
                // Along the line's axis exactly (as a series line's belts always are).
                let dir = if a.z == c.z {
                    Vec3::new((c.x - a.x).signum(), 0.0, 0.0)
                } else {
                    (c - a).normalize_or_zero()
                };
                let gap = MACHINE.x / 2.0;
                let lift = Vec3::new(0.0, BELT_HEIGHT, 0.0);
                belts.push(BeltPlace {
                    line: li,
                    buffer: b,
                    from: a + dir * gap + lift,
                    to: c - dir * gap + lift,
                });
            }
        }
        let mut bounds = floor_bounds;
        for m in &machines {
            bounds = Some(bounds.map_or(m.aabb(), |b| b.union(&m.aabb())));
        }
        let bounds = bounds.unwrap_or(Aabb::centred(Vec3::ZERO, Vec3::splat(10.0)));
        PlantLayout {
            machines,
            belts,
            places,
            paths,
            cell,
            bounds,
        }
    }

    /// The machine of station `station` of line `line`.
    pub fn machine(&self, line: usize, station: usize) -> Option<&MachinePlace> {
        self.machines
            .iter()
            .find(|m| m.line == line && m.station == station)
    }
}

/// For a line with spots on the floor: x of the stations that have one (stations using
/// Each station's column and place across the line (in [`BRANCH_PITCH`]s; see
/// `twin_models::line::diagram`), and the most stations of any column.
fn columns(line: &Line) -> (Vec<usize>, Vec<f32>, usize) {
    let links: Vec<(Vec<usize>, Vec<usize>)> = line
        .buffers
        .iter()
        .map(|b| (b.from.clone(), b.to.clone()))
        .collect();
    let places = twin_models::line::diagram::places(line.stations.len(), &links);
    let n = places.iter().map(|p| p.0 + 1).max().unwrap_or(0);
    let mut count = vec![0usize; n];
    for p in &places {
        count[p.0] += 1;
    }
    let (column, across) = places.into_iter().unzip();
    (column, across, count.into_iter().max().unwrap_or(1))
}

/// a material by its drop, the last one by the outfeed), and the z the line runs along
/// (the mean of its spots').
fn line_spots(scenario: &Scenario, li: usize) -> Option<(Vec<(usize, f32)>, f32)> {
    let fleet = scenario.fleet.as_ref()?;
    let line = &scenario.lines[li];
    let mut anchors: Vec<(usize, f32)> = Vec::new();
    let mut zs = Vec::new();
    let mut anchor = |station: usize, spot: u32| {
        let p = floor(fleet.layout.position(spot));
        zs.push(p.z);
        if !anchors.iter().any(|&(s, _)| s == station) {
            anchors.push((station, p.x));
        }
    };
    for m in &line.materials {
        anchor(m.station, m.spot);
    }
    if let Some(out) = &line.outfeed {
        anchor(line.stations.len() - 1, out.spot);
    }
    if zs.is_empty() {
        return None;
    }
    let z = zs.iter().sum::<f32>() / zs.len() as f32;
    anchors.sort_by_key(|&(s, _)| s);
    Some((anchors, z))
}

/// x of `n` stations given some stations' x: straight between anchors, and at the
/// anchors' mean pitch (or [`STATION_PITCH`]) beyond them. Anchors out of order (a drop
/// placed upstream of an earlier station's) are kept apart by at least a machine width.
fn spread(n: usize, anchors: &[(usize, f32)]) -> Vec<f32> {
    let pitch = match (anchors.first(), anchors.last()) {
        (Some(&(s0, x0)), Some(&(s1, x1))) if s1 > s0 => (x1 - x0) / (s1 - s0) as f32,
        _ => STATION_PITCH,
    };
    let pitch = if pitch.abs() < MACHINE.x * 1.2 {
        MACHINE.x * 1.2 * if pitch < 0.0 { -1.0 } else { 1.0 }
    } else {
        pitch
    };
    let mut xs = vec![0.0f32; n];
    for (i, x) in xs.iter_mut().enumerate() {
        let before = anchors.iter().rev().find(|&&(s, _)| s <= i);
        let after = anchors.iter().find(|&&(s, _)| s >= i);
        *x = match (before, after) {
            (Some(&(s0, x0)), Some(&(s1, x1))) if s1 > s0 => {
                x0 + (x1 - x0) * (i - s0) as f32 / (s1 - s0) as f32
            }
            (Some(&(s0, x0)), _) => x0 + pitch * (i - s0) as f32,
            (None, Some(&(s1, x1))) => x1 - pitch * (s1 - i) as f32,
            (None, None) => pitch * i as f32,
        };
    }
    for i in 1..n {
        let min_gap = MACHINE.x * 1.2;
        if (xs[i] - xs[i - 1]).abs() < min_gap {
            xs[i] = xs[i - 1] + min_gap * pitch.signum();
        }
    }
    xs
}

/// Where to look from to see all of `bounds`: (focus point, distance) for a camera with
/// vertical field of view `fov` radians looking down at `pitch` radians.
pub fn framing(bounds: &Aabb, fov: f32, aspect: f32) -> (Vec3, f32) {
    let size = bounds.max - bounds.min;
    let focus = bounds.centre() * Vec3::new(1.0, 0.0, 1.0);
    let half = Vec2::new(size.x / aspect.max(0.1), size.z).max_element() / 2.0;
    (focus, (half / (fov / 2.0).tan()) * 1.15 + size.y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stations_stand_between_their_anchors() {
        // Stations 0 and 2 have drops at x = 6 and 27, station 4 its outfeed at 78.
        let xs = spread(5, &[(0, 6.0), (2, 27.0), (4, 78.0)]);
        assert_eq!(xs, vec![6.0, 16.5, 27.0, 52.5, 78.0]);
        // Beyond the last anchor at the anchors' mean pitch, (78 − 6) / 4 = 18.
        let xs = spread(6, &[(0, 6.0), (4, 78.0)]);
        assert_eq!(xs[5], 96.0);
        // No anchors: the row pitch.
        assert_eq!(
            spread(3, &[]),
            vec![0.0, STATION_PITCH, 2.0 * STATION_PITCH]
        );
    }

    #[test]
    fn parallel_machines_stand_side_by_side_and_belts_join_them() {
        let text = r#"
name = "branches"
[run]
horizon = "1h"
[[lines]]
name = "L1"
stations = [
  { name = "filler", kind = "filler", speed = "36000/h" },
  { name = "lab-1", kind = "labeller", speed = "20000/h" },
  { name = "lab-2", kind = "labeller", speed = "20000/h" },
  { name = "packer", kind = "packer", speed = "40000/h" },
]
buffers = [
  { name = "lane-1", from = "filler", to = "lab-1", capacity = 10 },
  { name = "lane-2", from = "filler", to = "lab-2", capacity = 10 },
  { name = "merge", from = ["lab-1", "lab-2"], to = "packer", capacity = 10 },
]
"#;
        let s = twin_models::load_scenario("b.toml", text).expect("loads");
        let l = PlantLayout::of(&s);
        let at = |i: usize| l.machines[i].at;
        // Three columns; the labellers share the middle one, a branch pitch apart,
        // either side of the filler's and packer's axis.
        assert_eq!(at(1).x, at(2).x);
        assert_eq!(at(1).x - at(0).x, STATION_PITCH);
        assert_eq!(at(3).x - at(1).x, STATION_PITCH);
        assert_eq!(at(2).z - at(1).z, BRANCH_PITCH);
        assert_eq!(at(0).z, (at(1).z + at(2).z) / 2.0);
        assert_eq!(at(3).z, at(0).z);
        // Each lane runs from the filler to its labeller; the merge from between the
        // labellers to the packer.
        assert_eq!(l.belts.len(), 3);
        let lane2 = &l.belts[1];
        assert!(lane2.to.z > lane2.from.z && lane2.to.x > lane2.from.x);
        let merge = &l.belts[2];
        assert_eq!(merge.from.z, at(0).z);
        assert_eq!(merge.to.x, at(3).x - MACHINE.x / 2.0);
    }

    #[test]
    fn crowded_anchors_keep_machines_apart() {
        let xs = spread(3, &[(0, 0.0), (1, 0.5), (2, 1.0)]);
        for w in xs.windows(2) {
            assert!(w[1] - w[0] >= MACHINE.x * 1.2 - 1e-4, "{xs:?}");
        }
    }

    #[test]
    fn rays_hit_boxes_where_they_enter() {
        let b = Aabb::centred(Vec3::new(0.0, 1.0, 0.0), Vec3::splat(2.0));
        let t = b.hit(Vec3::new(0.0, 10.0, 0.0), Vec3::NEG_Y).unwrap();
        assert!((t - 8.0).abs() < 1e-5);
        assert_eq!(b.hit(Vec3::new(5.0, 10.0, 0.0), Vec3::NEG_Y), None);
        // From inside: at once.
        assert_eq!(b.hit(Vec3::new(0.0, 1.0, 0.0), Vec3::X), Some(0.0));
    }
}
