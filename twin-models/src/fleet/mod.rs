//! The fleet subsystem: the AGVs in simulated time, with transport tasks, dispatch,
//! traffic steps, batteries and charging, and the safety monitor.
//!
//! The fleet moves in lockstep traffic steps of [`Fleet::step`] (one cell at the fleet's
//! speed), each a [`FleetEvent::Step`]. Each step: vehicles break down or come back from
//! repair, timed jobs that are done end (loading, unloading, charging, maintenance),
//! vehicles low on charge head for a free charger and vehicles due for maintenance for
//! their own parking spot (giving back a task they have not picked up yet), free vehicles
//! get waiting tasks, the orchestrator's [`Traffic`] moves everyone one segment or not at
//! all, arrivals start their jobs, idle vehicles that had to make way look for parking, the
//! wait-for graph is searched for deadlocks, and the [`SafetyMonitor`] checks every
//! footprint through the step. Tasks come from the scenario's list
//! ([`FleetEvent::TaskRelease`], at fixed or random intervals) or from whoever calls
//! [`FleetRuntime::create`]; a step says which tasks' loads were picked up and delivered.
//!
//! With [`DispatchPolicy::MinEmptyTravel`] every waiting task competes for every vehicle
//! that is idle, on its way to a pickup (it may be given other work), or about to set its
//! last load down (offered at its drop-off, from when it will be free): the assignment of
//! least total cost is solved again whenever the picture changes (a task, a vehicle freed
//! or delivering its last load, a breakdown). A pair's cost is the steps until the vehicle
//! is free plus its empty steps to the pickup, plus the expected lateness times
//! [`Fleet::lateness_weight`]; a task of higher priority outranks any travel saving.

pub mod kpi;
pub mod safety;

use crate::alerts::{AlertLog, PlantAlert};
use crate::scenario::fleet::model::{IdlePolicy, REBALANCE_MEMORY};
use crate::scenario::{Fleet, Line};
pub use kpi::{FleetKpis, TaskKpis, TimeSplit};
use nalgebra::Point2;
use orchestrator::{DispatchPolicy, UNREACHABLE, assign};
use rand::RngExt;
pub use safety::SafetyMonitor;
use sim::{Calendar, SimDuration, SimTime};
use traffic::Traffic;

/// An event of the fleet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FleetEvent {
    /// The fleet moves one traffic step.
    Step,
    /// A task from the scenario's list is created.
    TaskRelease { task: u16 },
}

/// Where a task came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Origin {
    /// The scenario's task list, entry `k`.
    Listed(usize),
    /// A finished pallet of line `line`.
    Outfeed(usize),
    /// A load of material `material` for line `line`.
    Material(usize, usize),
}

/// A transport task: one load from a pickup to a drop-off.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Task {
    /// Where it came from.
    pub origin: Origin,
    /// Pickup spot.
    pub from: u32,
    /// Drop-off spot.
    pub to: u32,
    /// Higher is more urgent.
    pub priority: u32,
    /// When it was created.
    pub created: SimTime,
    /// When it should be delivered.
    pub due: Option<SimTime>,
    /// When it was delivered.
    pub delivered: Option<SimTime>,
    /// Its type, for the KPIs by type (see [`FleetKpis::by_task`]).
    kind: usize,
}

/// What a vehicle is doing. The tasks it serves are its `assigned` ones (to pick up, all
/// at one pickup) and its `cargo` (on board, the next to deliver first).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum Job {
    Idle,
    /// Heading for the pickup of the assigned tasks.
    Fetch,
    /// Picking the assigned loads up, until then.
    Load(SimTime),
    /// Heading for the drop-off of the first load on board.
    Carry,
    /// Setting the first load on board down, until then.
    Unload(SimTime),
    ToCharge(usize),
    Charge(usize),
    /// Heading home for planned maintenance.
    ToService,
    /// In maintenance at home, until then.
    Service(SimTime),
}

impl Job {
    /// What the job is called in snapshots.
    fn name(self) -> &'static str {
        match self {
            Job::Idle => "idle",
            Job::Fetch => "fetch",
            Job::Load(_) => "load",
            Job::Carry => "carry",
            Job::Unload(_) => "unload",
            Job::ToCharge(_) => "to_charger",
            Job::Charge(_) => "charging",
            Job::ToService => "to_maintenance",
            Job::Service(_) => "maintenance",
        }
    }

    /// Whether the vehicle is driving to a goal.
    fn driving(self) -> bool {
        matches!(
            self,
            Job::Fetch | Job::Carry | Job::ToCharge(_) | Job::ToService
        )
    }

    /// The same job `by` later (a breakdown pauses timed work).
    fn delayed(self, by: SimDuration) -> Job {
        match self {
            Job::Load(t) => Job::Load(t + by),
            Job::Unload(t) => Job::Unload(t + by),
            Job::Service(t) => Job::Service(t + by),
            other => other,
        }
    }
}

/// One vehicle at an instant, for viewers and inspectors.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VehicleSnapshot {
    /// Vehicle number.
    pub index: usize,
    /// Its type's name.
    pub kind: String,
    /// Where it is, metres (part-way along a segment on a slow move).
    pub at: Point2<f64>,
    /// Loads on board.
    pub loads: usize,
    /// State of charge, 0 to 1; `None` without a battery.
    pub state_of_charge: Option<f64>,
    /// What it is doing: `idle`, `fetch`, `load`, `carry`, `unload`, `to_charger`,
    /// `charging`, `to_maintenance`, `maintenance` or `broken_down`.
    pub doing: &'static str,
    /// Where it is driving to, metres, while it drives.
    pub goal: Option<Point2<f64>>,
    /// The tasks it serves (to pick up, then on board), by task number.
    pub tasks: Vec<usize>,
}

/// What a vehicle spent a step doing; [`TimeSplit`] order.
#[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
enum Use {
    Loaded = 0,
    Empty = 1,
    Handling = 2,
    Charging = 3,
    Idle = 4,
    Waiting = 5,
    Down = 6,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Vehicle {
    kind: usize,
    job: Job,
    /// Tasks to pick up (one pickup spot), by index.
    assigned: Vec<usize>,
    /// Tasks on board, the next to deliver first.
    cargo: Vec<usize>,
    /// Tasks to pick up once the cargo is delivered (offered while delivering its last).
    reserved: Vec<usize>,
    home: u32,
    /// Where it waits while idle, and whether it got there.
    rest: u32,
    at_rest: bool,
    /// Watt-hours left (infinite without a battery).
    charge_wh: f64,
    /// Least steps to the goal seen in the current job, and when.
    best: (u32, SimTime),
    stalled: bool,
    /// Broken down until then.
    down_until: Option<SimTime>,
    /// Seconds of counted time left to each failure mode's next breakdown.
    to_failure: Vec<f64>,
    /// When the next planned maintenance is due.
    service_due: SimTime,
    /// Since when it has waited in a cycle of the wait-for graph, and whether that cycle
    /// was counted.
    in_cycle: Option<SimTime>,
    cycle_counted: bool,
    /// Seconds per [`Use`].
    time: [f64; 7],
    distance_m: f64,
    empty_m: f64,
    energy_wh: f64,
}

impl Vehicle {
    /// A new vehicle of type `kind`, idle at home on `home` at `now`: battery at the
    /// type's initial charge, its first breakdowns drawn from `rng`, its first service
    /// one interval after `now`.
    fn parked(
        plan: &Fleet,
        kind: usize,
        home: u32,
        now: SimTime,
        rng: &mut sim::StreamRng,
    ) -> Self {
        let ty = &plan.types[kind];
        Vehicle {
            kind,
            job: Job::Idle,
            assigned: Vec::new(),
            cargo: Vec::new(),
            reserved: Vec::new(),
            home,
            rest: home,
            at_rest: true,
            charge_wh: ty
                .battery
                .as_ref()
                .map_or(f64::INFINITY, |b| b.capacity_wh * b.initial),
            best: (u32::MAX, now),
            stalled: false,
            down_until: None,
            to_failure: ty
                .failures
                .iter()
                .map(|f| f.tbf.sample(rng).as_secs_f64())
                .collect(),
            service_due: ty.maintenance.map_or(SimTime(u64::MAX), |(every, _)| {
                SimTime(now.0.saturating_add(every.0))
            }),
            in_cycle: None,
            cycle_counted: false,
            time: [0.0; 7],
            distance_m: 0.0,
            empty_m: 0.0,
            energy_wh: 0.0,
        }
    }
}

/// Counters of the fleet since the end of the warm-up.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Stats {
    created: u64,
    completed: u64,
    late: u64,
    /// By task type: tasks created, and lead times and waits of those served, seconds.
    created_by_kind: Vec<u64>,
    lead_s: Vec<Vec<f64>>,
    wait_s: Vec<Vec<f64>>,
    waiting_max: u64,
    deadlocks: u64,
    stalls: u64,
    breakdowns: u64,
    services: u64,
    collisions: u64,
    charges: u64,
    depleted: u64,
    /// Lowest state of charge seen (fleets with batteries only).
    min_soc: Option<f64>,
    redispatched: u64,
    /// Stops at a pickup, and loads picked up there.
    pickups: u64,
    loads_picked: u64,
}

/// The fleet's runtime state (a resource of the plant's world).
#[derive(bevy_ecs::resource::Resource, serde::Serialize, serde::Deserialize)]
pub struct FleetRuntime {
    plan: Fleet,
    traffic: Traffic,
    monitor: SafetyMonitor,
    vehicles: Vec<Vehicle>,
    tasks: Vec<Task>,
    /// Tasks waiting for a vehicle, by index into `tasks`.
    open: Vec<usize>,
    charger_taken: Vec<bool>,
    stats: Stats,
    /// Draws among a group's spots.
    draws: sim::StreamRng,
    /// Vehicle time at the last warm-up reset, to subtract.
    base: Vec<Vehicle>,
    steps: u64,
    /// Names of the lines, for alerts.
    line_names: Vec<String>,
    /// Names of each line's materials, for alerts.
    material_names: Vec<Vec<String>>,
    /// Tasks with a due time, earliest first, to raise an alert when one passes.
    due_watch: std::collections::BinaryHeap<std::cmp::Reverse<(SimTime, usize)>>,
    /// The end of the run: no step or task release is scheduled past it.
    horizon: SimTime,
    /// Task type names: the listed tasks, each line's pallets, each line's materials.
    kinds: Vec<String>,
    /// First material type of each line in `kinds`.
    material_kind: Vec<usize>,
    /// Draws of the listed tasks' intervals, one stream per task.
    intervals: Vec<sim::StreamRng>,
    /// Draws of breakdowns and repair times, one stream per vehicle.
    wear: Vec<sim::StreamRng>,
    /// Parking spots, sorted (idle vehicles look for a free one).
    parking: Vec<u32>,
    /// Whether the picture changed since tasks were last given out (min-empty-travel).
    replan: bool,
    /// Whether some vehicle is marked as waiting in a cycle.
    cycles_open: bool,
    /// Tasks lately created at each pickup (a count decaying with
    /// [`REBALANCE_MEMORY`], as of when it was last updated), for rebalancing.
    demand: std::collections::BTreeMap<u32, (f64, SimTime)>,
    /// The spots a search for parking has reached, reused between searches.
    #[serde(skip)]
    reached: Reached,
}

/// Spots reached by a breadth-first search, marked by the search's number so that a
/// search costs what it explores, not the floor, and its queue.
#[derive(Clone, Debug, Default)]
struct Reached {
    mark: Vec<u32>,
    search: u32,
    queue: std::collections::VecDeque<u32>,
}

impl Reached {
    /// Starts a new search on a floor of `spots` spots.
    fn start(&mut self, spots: usize) {
        if self.mark.len() != spots || self.search == u32::MAX {
            self.mark = vec![0; spots];
            self.search = 0;
        }
        self.search += 1;
        self.queue.clear();
    }

    /// Marks `s` reached; whether it was not yet in this search.
    fn reach(&mut self, s: u32) -> bool {
        let m = &mut self.mark[s as usize];
        let new = *m != self.search;
        *m = self.search;
        new
    }
}

/// The stream of vehicle `v`'s breakdowns and repairs.
fn wear_stream(streams: &sim::RngStreams, v: usize) -> sim::StreamRng {
    streams.stream(&[sim::RngStreams::label("vehicle-wear"), v as u64])
}

/// The stream of listed task `k`'s intervals.
fn interval_stream(streams: &sim::RngStreams, k: usize) -> sim::StreamRng {
    streams.stream(&[sim::RngStreams::label("task-intervals"), k as u64])
}

/// The stream of draws among a group's spots.
fn places_stream(streams: &sim::RngStreams) -> sim::StreamRng {
    streams.stream(&[sim::RngStreams::label("fleet-places")])
}

impl FleetRuntime {
    /// The fleet of `plan` parked at its parking spots, serving `lines`, for a run to
    /// `horizon`; `seed` breaks the planner's ties.
    pub fn new(plan: &Fleet, lines: &[&Line], seed: u64, horizon: SimTime) -> Self {
        let n = plan.vehicles.len();
        let starts: Vec<u32> = plan.parking[..n].to_vec();
        let mut traffic = Traffic::new(plan.layout.clone(), &starts, seed)
            .expect("validation keeps parking spots distinct");
        traffic.set_coordination(plan.coordination);
        traffic.set_step_time(plan.step.as_secs_f64());
        for (v, &t) in plan.vehicles.iter().enumerate() {
            traffic.set_speed(v, plan.types[t].speed);
            traffic.set_acceleration(v, plan.types[t].acceleration);
        }
        let footprints: Vec<(f64, f64)> = plan
            .vehicles
            .iter()
            .map(|&t| plan.types[t].footprint)
            .collect();
        let positions: Vec<Point2<f64>> = starts.iter().map(|&s| plan.layout.position(s)).collect();
        let streams = sim::RngStreams::new(seed);
        let mut wear: Vec<sim::StreamRng> = (0..n).map(|v| wear_stream(&streams, v)).collect();
        let vehicles: Vec<Vehicle> = plan
            .vehicles
            .iter()
            .zip(&starts)
            .zip(&mut wear)
            .map(|((&kind, &home), rng)| Vehicle::parked(plan, kind, home, SimTime::ZERO, rng))
            .collect();
        let mut kinds: Vec<String> = plan.tasks.iter().map(|t| t.name.clone()).collect();
        kinds.extend(lines.iter().map(|l| format!("pallets from {}", l.name)));
        let mut material_kind = Vec::new();
        for l in lines {
            material_kind.push(kinds.len());
            kinds.extend(
                l.materials
                    .iter()
                    .map(|m| format!("{} to {}", m.name, l.name)),
            );
        }
        let mut parking = plan.parking.clone();
        parking.sort_unstable();
        let has_batteries = plan.types.iter().any(|t| t.battery.is_some());
        FleetRuntime {
            monitor: SafetyMonitor::new(&footprints, &positions),
            traffic,
            base: vehicles.clone(),
            vehicles,
            tasks: Vec::new(),
            open: Vec::new(),
            charger_taken: vec![false; plan.chargers.len()],
            stats: Stats {
                min_soc: has_batteries.then_some(1.0),
                created_by_kind: vec![0; kinds.len()],
                lead_s: vec![Vec::new(); kinds.len()],
                wait_s: vec![Vec::new(); kinds.len()],
                ..Stats::default()
            },
            steps: 0,
            draws: places_stream(&streams),
            line_names: lines.iter().map(|l| l.name.clone()).collect(),
            material_names: lines
                .iter()
                .map(|l| l.materials.iter().map(|m| m.name.clone()).collect())
                .collect(),
            due_watch: std::collections::BinaryHeap::new(),
            horizon,
            intervals: (0..plan.tasks.len())
                .map(|k| interval_stream(&streams, k))
                .collect(),
            wear,
            kinds,
            material_kind,
            parking,
            replan: true,
            cycles_open: false,
            demand: std::collections::BTreeMap::new(),
            reached: Reached::default(),
            plan: plan.clone(),
        }
    }

    /// Vehicles more, of the types `plan` has more of than this fleet (a fleet grown from
    /// a snapshot; see [`crate::plant::variant`]): each new, idle, at home on a parking
    /// spot of `plan`'s that no vehicle stands on, is on its way into, or calls home;
    /// `seed` is the fork's, under which their breakdowns draw. Returns how many; refused
    /// (with the reason) when no such spot is left for one.
    pub fn add_vehicles(&mut self, plan: &Fleet, seed: u64, now: SimTime) -> Result<usize, String> {
        let streams = sim::RngStreams::new(seed);
        let mut added = 0;
        for (kind, ty) in plan.types.iter().enumerate() {
            let want = plan.vehicles.iter().filter(|&&k| k == kind).count();
            let have = self.vehicles.iter().filter(|v| v.kind == kind).count();
            for _ in have..want {
                let spot = plan
                    .parking
                    .iter()
                    .copied()
                    .find(|&p| {
                        !self.traffic.is_taken(p)
                            && !self.vehicles.iter().any(|v| v.home == p || v.rest == p)
                    })
                    .ok_or_else(|| {
                        format!(
                            "no parking spot is free now for another {} (of {} parking spots, every one is a vehicle's home or has a vehicle on it)",
                            ty.name,
                            plan.parking.len()
                        )
                    })?;
                let v = self.traffic.add_vehicle(spot).expect("the spot was free");
                self.traffic.set_speed(v, ty.speed);
                self.traffic.set_acceleration(v, ty.acceleration);
                let mut rng = wear_stream(&streams, v);
                let vehicle = Vehicle::parked(plan, kind, spot, now, &mut rng);
                self.monitor.add(ty.footprint, plan.layout.position(spot));
                self.base.push(vehicle.clone());
                self.vehicles.push(vehicle);
                self.wear.push(rng);
                self.plan.vehicles.push(kind);
                added += 1;
            }
        }
        self.replan = true;
        Ok(added)
    }

    /// Takes `plan`'s dispatch rule, idle policy and lateness weight from the next
    /// decision on (the plan it runs, with those changed; see [`crate::plant::variant`]).
    pub fn retune(&mut self, plan: &Fleet) {
        self.plan.dispatch = plan.dispatch;
        self.plan.idle = plan.idle;
        self.plan.lateness_weight = plan.lateness_weight;
    }

    /// Replaces every random stream of the fleet by the one of the same purpose under
    /// `seed` (a fork's fresh future from the same state).
    pub fn reseed(&mut self, seed: u64) {
        let streams = sim::RngStreams::new(seed);
        for (v, w) in self.wear.iter_mut().enumerate() {
            *w = wear_stream(&streams, v);
        }
        for (k, i) in self.intervals.iter_mut().enumerate() {
            *i = interval_stream(&streams, k);
        }
        self.draws = places_stream(&streams);
        self.traffic.reseed(seed);
    }

    /// The type of a task from `origin`, as an index into `kinds`.
    fn kind_of(&self, origin: Origin) -> usize {
        match origin {
            Origin::Listed(k) => k,
            Origin::Outfeed(l) => self.plan.tasks.len() + l,
            Origin::Material(l, m) => self.material_kind[l] + m,
        }
    }

    /// What task `t` carries, for people.
    fn describe(&self, t: usize) -> String {
        match self.tasks[t].origin {
            Origin::Listed(k) => format!("task `{}`", self.plan.tasks[k].name),
            Origin::Outfeed(l) => format!("a pallet from {}", self.line_names[l]),
            Origin::Material(l, m) => format!(
                "a load of {} for {}",
                self.material_names[l][m], self.line_names[l]
            ),
        }
    }

    /// Raises `late_transport` for every task whose due time has passed undelivered.
    fn watch_due(&mut self, now: SimTime, alerts: &mut AlertLog) {
        while let Some(&std::cmp::Reverse((due, t))) = self.due_watch.peek() {
            if due >= now {
                break;
            }
            self.due_watch.pop();
            if self.tasks[t].delivered.is_some() {
                continue;
            }
            let waiting = self.open.len();
            let idle = self.vehicles.iter().filter(|v| v.job == Job::Idle).count();
            let line = match self.tasks[t].origin {
                Origin::Outfeed(l) | Origin::Material(l, _) => Some(self.line_names[l].clone()),
                Origin::Listed(_) => None,
            };
            let material = match self.tasks[t].origin {
                Origin::Material(l, m) => Some(self.material_names[l][m].clone()),
                _ => None,
            };
            let hint = format!(
                "{} is past due and not delivered ({waiting} task(s) wait, {idle} vehicle(s) idle): {}",
                self.describe(t),
                if waiting > 0 && idle == 0 {
                    "the fleet is short of vehicles"
                } else {
                    "look for traffic or a charging queue"
                }
            );
            alerts.raise(PlantAlert {
                at_s: now.as_secs_f64(),
                kind: "late_transport".into(),
                line,
                material,
                location: None,
                on_hand: None,
                rate_per_h: None,
                next_receipt_in_s: None,
                hint,
            });
        }
    }

    /// Where each vehicle is, metres (part-way along a segment on a slow move).
    pub fn positions(&self) -> Vec<Point2<f64>> {
        (0..self.vehicles.len()).map(|v| self.position(v)).collect()
    }

    /// Where vehicle `v` is, metres (part-way along a segment on a slow move).
    fn position(&self, v: usize) -> Point2<f64> {
        let (a, b, f) = self.traffic.progress(v);
        let (pa, pb) = (self.plan.layout.position(a), self.plan.layout.position(b));
        pa + (pb - pa) * f
    }

    /// Vehicles in the fleet.
    pub fn vehicle_count(&self) -> usize {
        self.vehicles.len()
    }

    /// Every vehicle as it is now.
    pub fn vehicle_snapshots(&self) -> Vec<VehicleSnapshot> {
        let mut out = Vec::new();
        self.refresh_vehicle_snapshots(&mut out);
        out
    }

    /// Brings `out` to every vehicle as it is now, reusing its storage (no allocation once
    /// it holds the fleet).
    pub fn refresh_vehicle_snapshots(&self, out: &mut Vec<VehicleSnapshot>) {
        out.truncate(self.vehicles.len());
        for (v, veh) in self.vehicles.iter().enumerate() {
            let kind = &self.plan.types[veh.kind];
            if out.len() == v {
                out.push(VehicleSnapshot {
                    index: v,
                    kind: kind.name.clone(),
                    at: Point2::origin(),
                    loads: 0,
                    state_of_charge: None,
                    doing: "idle",
                    goal: None,
                    tasks: Vec::new(),
                });
            }
            let snap = &mut out[v];
            // Storage kept from another fleet (a restart) may name another type.
            if snap.kind != kind.name {
                snap.kind.clone_from(&kind.name);
            }
            snap.at = self.position(v);
            snap.loads = veh.cargo.len();
            snap.state_of_charge = kind
                .battery
                .as_ref()
                .map(|b| (veh.charge_wh / b.capacity_wh).clamp(0.0, 1.0));
            snap.doing = if veh.down_until.is_some() {
                "broken_down"
            } else {
                veh.job.name()
            };
            snap.goal = veh
                .job
                .driving()
                .then(|| self.plan.layout.position(self.traffic.goal(v)));
            snap.tasks.clear();
            snap.tasks.extend(
                veh.assigned
                    .iter()
                    .chain(&veh.cargo)
                    .chain(&veh.reserved)
                    .copied(),
            );
        }
    }

    /// The way vehicle `v` would drive to its goal from where it stands, as spots' places
    /// (metres), along a shortest path; just its place when it is not driving. Traffic
    /// may make it wait or step aside on the way.
    pub fn route_ahead(&self, v: usize) -> Vec<Point2<f64>> {
        let layout = &self.plan.layout;
        let mut here = self.traffic.positions()[v];
        let mut route = vec![layout.position(here)];
        if !self.vehicles[v].job.driving() {
            return route;
        }
        let goal = self.traffic.goal(v);
        let dist = layout.steps_to(goal);
        while here != goal {
            let Some(&next) = layout
                .neighbours(here)
                .iter()
                .filter(|&&n| dist[n as usize] < dist[here as usize])
                .min_by_key(|&&n| (dist[n as usize], n))
            else {
                break;
            };
            here = next;
            route.push(layout.position(here));
        }
        route
    }

    /// The transport tasks so far, by task number.
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// Creates a task from `from` to `to`; where either is a group of spots, one of them
    /// is drawn (groups stand for rack areas and dock rows, used evenly). Returns its index.
    pub fn create(
        &mut self,
        origin: Origin,
        from: &[u32],
        to: &[u32],
        priority: u32,
        now: SimTime,
        due: Option<SimDuration>,
    ) -> usize {
        let from = self.draw(from);
        let to = self.draw(to);
        let kind = self.kind_of(origin);
        self.tasks.push(Task {
            origin,
            from,
            to,
            priority,
            created: now,
            due: due.map(|d| now + d),
            delivered: None,
            kind,
        });
        self.stats.created += 1;
        self.stats.created_by_kind[kind] += 1;
        if self.plan.idle == IdlePolicy::Rebalance {
            let (rate, since) = self.demand.entry(from).or_insert((0.0, now));
            *rate = decayed(*rate, *since, now) + 1.0;
            *since = now;
        }
        self.replan = true;
        if let Some(d) = due {
            self.due_watch
                .push(std::cmp::Reverse((now + d, self.tasks.len() - 1)));
        }
        self.open.push(self.tasks.len() - 1);
        self.tasks.len() - 1
    }

    fn draw(&mut self, spots: &[u32]) -> u32 {
        if spots.len() == 1 {
            return spots[0];
        }
        spots[self.draws.random_range(0..spots.len())]
    }

    fn battery(&self, v: usize) -> Option<&crate::scenario::Battery> {
        self.plan.types[self.vehicles[v].kind].battery.as_ref()
    }

    /// Puts the fleet's first step and the first release of every listed task on `cal`.
    pub fn start(&mut self, cal: &mut impl Calendar<FleetEvent>) {
        cal.at(SimTime::ZERO, FleetEvent::Step);
        for k in 0..self.plan.tasks.len() {
            let t = &self.plan.tasks[k];
            let mut first = SimTime(t.first.0);
            if t.random_start
                && let Some(every) = &t.every
            {
                first = first + every.sample(&mut self.intervals[k]);
            }
            if first.0 < self.horizon.0 {
                cal.at(first, FleetEvent::TaskRelease { task: k as u16 });
            }
        }
    }

    /// Handles `event`: after a step, the tasks whose loads were picked up and those
    /// delivered during it (for the lines' logistics); once the plant has taken them, it
    /// calls [`FleetRuntime::next_step`].
    pub fn handle(
        &mut self,
        event: FleetEvent,
        alerts: &mut AlertLog,
        cal: &mut impl Calendar<FleetEvent>,
    ) -> (Vec<Origin>, Vec<Origin>) {
        let now = cal.now();
        match event {
            FleetEvent::Step => self.step(now, alerts),
            FleetEvent::TaskRelease { task } => {
                let t = self.plan.tasks[task as usize].clone();
                for _ in 0..t.loads {
                    self.create(
                        Origin::Listed(task as usize),
                        &t.from,
                        &t.to,
                        t.priority,
                        now,
                        t.due,
                    );
                }
                if let Some(every) = &t.every {
                    let after = every.sample(&mut self.intervals[task as usize]);
                    if now + after <= self.horizon {
                        cal.after(after, FleetEvent::TaskRelease { task });
                    }
                }
                (Vec::new(), Vec::new())
            }
        }
    }

    /// Puts the step after the one at now on `cal` (none past the horizon).
    pub fn next_step(&self, cal: &mut impl Calendar<FleetEvent>) {
        if cal.now() + self.plan.step < self.horizon {
            cal.after(self.plan.step, FleetEvent::Step);
        }
    }

    /// One traffic step starting at `now`. Returns the tasks whose loads were picked up
    /// and those delivered during it (for the lines' logistics).
    fn step(&mut self, now: SimTime, alerts: &mut AlertLog) -> (Vec<Origin>, Vec<Origin>) {
        self.steps += 1;
        self.break_down_and_repair(now);
        let done = self.end_timed_jobs(now);
        self.watch_due(now, alerts);
        self.send_low_batteries_to_charge(now);
        self.send_due_to_maintenance(now);
        if self.plan.dispatch == DispatchPolicy::MinEmptyTravel {
            self.dispatch_min_empty_travel(now);
        } else {
            self.dispatch(now);
        }
        self.stats.waiting_max = self.stats.waiting_max.max(self.open.len() as u64);
        let (from_m, to_m) = self.drive();
        let arrive = now + self.plan.step;
        // Whom somebody waits for (idle vehicles in the way look for parking).
        let home = self.plan.idle == IdlePolicy::Home;
        let mut waited_for = vec![false; if home { 0 } else { self.vehicles.len() }];
        if !home {
            for v in 0..self.vehicles.len() {
                if let Some(w) = self.traffic.waits_for(v) {
                    waited_for[w] = true;
                }
            }
        }
        let mut picture = None;
        for v in 0..self.vehicles.len() {
            self.account(v, (to_m[v] - from_m[v]).norm());
            self.start_arrival_jobs(v, arrive);
            self.watch_for_stall(v, arrive);
            self.settle_idle(v, waited_for.get(v).copied().unwrap_or(false), &mut picture);
        }
        self.watch_for_deadlocks(arrive, alerts);
        done
    }

    /// Vehicles whose failure clock ran out break down where they stand (timed work
    /// pauses, a task not picked up goes back to the queue; loads on board stay); those
    /// whose repair is over drive on.
    fn break_down_and_repair(&mut self, now: SimTime) {
        for v in 0..self.vehicles.len() {
            if let Some(until) = self.vehicles[v].down_until {
                if until <= now {
                    self.vehicles[v].down_until = None;
                    self.replan = true;
                }
                continue;
            }
            let kind = self.vehicles[v].kind;
            let Some(mode) = self.vehicles[v].to_failure.iter().position(|&t| t <= 0.0) else {
                continue;
            };
            let f = &self.plan.types[kind].failures[mode];
            let repair = f.ttr.sample(&mut self.wear[v]);
            let next = f.tbf.sample(&mut self.wear[v]).as_secs_f64();
            let veh = &mut self.vehicles[v];
            veh.to_failure[mode] = next;
            veh.down_until = Some(now + repair);
            veh.job = veh.job.delayed(repair);
            self.stats.breakdowns += 1;
            self.give_back(v);
            if self.vehicles[v].job == Job::Fetch {
                self.set_job(v, Job::Idle, now);
            }
            self.replan = true;
        }
    }

    /// Tasks vehicle `v` was to pick up, and those reserved for it, go back to the queue.
    fn give_back(&mut self, v: usize) {
        let veh = &mut self.vehicles[v];
        let given_back = std::mem::take(&mut veh.assigned);
        self.open.extend(given_back);
        self.open.append(&mut veh.reserved);
    }

    /// Idle vehicles due for planned maintenance head home for it.
    fn send_due_to_maintenance(&mut self, now: SimTime) {
        for v in 0..self.vehicles.len() {
            let veh = &self.vehicles[v];
            if veh.job == Job::Idle && veh.down_until.is_none() && veh.service_due <= now {
                self.set_job(v, Job::ToService, now);
            }
        }
    }

    /// Whether vehicle `v` may take work now: not broken down, not short of charge, not
    /// due for maintenance.
    fn available(&self, v: usize, now: SimTime) -> bool {
        let veh = &self.vehicles[v];
        veh.down_until.is_none() && !self.needs_charge(v) && veh.service_due > now
    }

    /// An idle vehicle that had to make way for others stays where it was pushed when that
    /// is a parking spot no other idle vehicle keeps, or trades spots with the idle vehicle
    /// that keeps it while away from it; else it goes back when that is at most
    /// [`PUSHED_BACK`] steps, and further (a one-way lane) to the nearest parking spot
    /// nobody stands on or heads for, its own included. One that another waits for while
    /// it stands off the parking spots goes to the nearest such spot.
    /// `picture` holds, once first needed in a step, which parking spots are free.
    fn settle_idle(&mut self, v: usize, waited_for: bool, picture: &mut Option<ParkingPicture>) {
        if self.vehicles[v].job != Job::Idle
            || self.plan.idle == IdlePolicy::Home
            || self.traffic.in_transit(v)
        {
            return;
        }
        let at = self.traffic.positions()[v];
        let in_the_way = waited_for && self.parking.binary_search(&at).is_err();
        if at == self.vehicles[v].rest && !in_the_way {
            self.vehicles[v].at_rest = true;
            return;
        }
        if !self.vehicles[v].at_rest {
            return;
        }
        let picture = picture.get_or_insert_with(|| {
            let rests = self
                .vehicles
                .iter()
                .enumerate()
                .filter(|(_, o)| o.job == Job::Idle)
                .map(|(w, o)| (w, o.rest));
            ParkingPicture::new(
                self.traffic.layout().spots(),
                &self.parking,
                self.traffic.positions(),
                rests,
            )
        });
        let rest = self.vehicles[v].rest;
        // Pushed onto a parking spot nobody else keeps, it stays there; pushed onto the
        // spot of an idle vehicle that is itself away from it, the two trade spots (which
        // never lengthens their ways back, together). On a packed floor every vehicle
        // making way would otherwise drive back through the others.
        if at != rest && picture.is_parking(at) {
            if picture.unclaimed(at) {
                picture.resettle(v, rest, at);
                self.vehicles[v].rest = at;
                return;
            }
            if let Some(w) = picture.claimant(at)
                && w != v
                && picture.is_parking(rest)
                && self.vehicles[w].job == Job::Idle
                && self.vehicles[w].rest == at
            {
                picture.resettle(v, rest, at);
                picture.resettle(w, at, rest);
                self.vehicles[v].rest = at;
                self.vehicles[w].rest = rest;
                return;
            }
        }
        // Pushed a little way off its spot: it goes back (no new goal, no new table).
        if at != rest && self.traffic.steps_to_goal(v) <= PUSHED_BACK {
            return;
        }
        // Its own spot, where it is a parking spot, is a candidate too: the search then
        // ends within the way back (on a packed floor, the free spots may lie far off).
        let own = (rest != at && picture.is_parking(rest)).then_some(rest);
        let nearest = picture
            .nearest(self.traffic.layout(), at, own, &mut self.reached)
            .unwrap_or(at);
        picture.resettle(v, rest, nearest);
        let veh = &mut self.vehicles[v];
        veh.rest = nearest;
        veh.at_rest = nearest == at;
    }

    /// Ends loading, unloading and charging that are over (and charges for one step).
    fn end_timed_jobs(&mut self, now: SimTime) -> (Vec<Origin>, Vec<Origin>) {
        let dt_s = self.plan.step.as_secs_f64();
        let (mut picked, mut delivered) = (Vec::new(), Vec::new());
        for v in 0..self.vehicles.len() {
            if self.vehicles[v].down_until.is_some() {
                continue;
            }
            match self.vehicles[v].job {
                Job::Service(until) if until <= now => {
                    let (every, _) = self.plan.types[self.vehicles[v].kind]
                        .maintenance
                        .expect("only vehicles with maintenance are serviced");
                    let veh = &mut self.vehicles[v];
                    veh.service_due = (veh.service_due + every).max(now);
                    self.set_job(v, Job::Idle, now);
                }
                Job::Load(until) if until <= now => {
                    let loads = std::mem::take(&mut self.vehicles[v].assigned);
                    picked.extend(loads.iter().map(|&t| self.tasks[t].origin));
                    self.vehicles[v].cargo = loads;
                    self.carry_on(v, now);
                }
                Job::Unload(until) if until <= now => {
                    let t = self.vehicles[v].cargo.remove(0);
                    self.finish(t, now);
                    delivered.push(self.tasks[t].origin);
                    self.carry_on(v, now);
                }
                Job::Charge(c) => {
                    let b = self
                        .battery(v)
                        .expect("only vehicles with batteries charge");
                    let (full, until) = (b.capacity_wh, b.charge_until * b.capacity_wh);
                    let gain = b.charge_w * dt_s / 3600.0;
                    let veh = &mut self.vehicles[v];
                    veh.charge_wh = (veh.charge_wh + gain).min(full);
                    if veh.charge_wh >= until {
                        self.charger_taken[c] = false;
                        self.set_job(v, Job::Idle, now);
                    }
                }
                _ => {}
            }
        }

        (picked, delivered)
    }

    /// Vehicle `v` heads for the nearest drop-off of its cargo, or sets the load down at
    /// once where it already is; with nothing on board it is free.
    fn carry_on(&mut self, v: usize, now: SimTime) {
        let at = self.traffic.positions()[v];
        let mut cargo = std::mem::take(&mut self.vehicles[v].cargo);
        let nearest = (0..cargo.len()).min_by_key(|&k| {
            let to = self.tasks[cargo[k]].to;
            (self.traffic.steps(at, to), k)
        });
        if let Some(k) = nearest {
            cargo.swap(0, k);
        }
        let here = cargo.first().is_some_and(|&t| self.tasks[t].to == at);
        self.vehicles[v].cargo = cargo;
        if self.vehicles[v].cargo.is_empty() && !self.vehicles[v].reserved.is_empty() {
            let veh = &mut self.vehicles[v];
            veh.assigned = std::mem::take(&mut veh.reserved);
            self.set_job(v, Job::Fetch, now);
            return;
        }
        let job = match self.vehicles[v].cargo.first() {
            None => Job::Idle,
            Some(_) if here => {
                Job::Unload(now + self.plan.types[self.vehicles[v].kind].unload_time)
            }
            Some(_) => Job::Carry,
        };
        self.set_job(v, job, now);
    }

    /// Vehicles low on charge go to a free charger; a task not yet picked up goes back to
    /// the queue.
    fn send_low_batteries_to_charge(&mut self, now: SimTime) {
        for v in 0..self.vehicles.len() {
            let Some(b) = self.battery(v) else { continue };
            let low = self.vehicles[v].charge_wh < b.charge_below * b.capacity_wh;
            let free_to_go = matches!(self.vehicles[v].job, Job::Idle | Job::Fetch)
                && self.vehicles[v].down_until.is_none();
            if low && free_to_go {
                let at = self.traffic.positions()[v];
                let charger = (0..self.plan.chargers.len())
                    .filter(|&c| !self.charger_taken[c])
                    .min_by_key(|&c| (self.traffic.steps(at, self.plan.chargers[c]), c));
                if let Some(c) = charger {
                    let veh = &self.vehicles[v];
                    self.stats.redispatched += (veh.assigned.len() + veh.reserved.len()) as u64;
                    self.give_back(v);
                    self.charger_taken[c] = true;
                    self.set_job(v, Job::ToCharge(c), now);
                }
            }
        }
    }

    /// Sets goals and holds, moves the fleet one step and checks it for contact. Returns
    /// the positions before and after, metres.
    fn drive(&mut self) -> (Vec<Point2<f64>>, Vec<Point2<f64>>) {
        for v in 0..self.vehicles.len() {
            let veh = &self.vehicles[v];
            let (goal, held) = match veh.job {
                _ if veh.down_until.is_some() => (self.traffic.positions()[v], true),
                Job::Idle => (veh.rest, false),
                Job::Fetch => (self.tasks[veh.assigned[0]].from, false),
                Job::Carry => (self.tasks[veh.cargo[0]].to, false),
                Job::ToCharge(c) => (self.plan.chargers[c], false),
                Job::ToService => (veh.home, false),
                Job::Load(..) | Job::Unload(..) | Job::Charge(_) | Job::Service(_) => {
                    (self.traffic.positions()[v], true)
                }
            };
            self.traffic.set_goal(v, goal);
            self.traffic.hold(v, held);
        }
        let from_m = self.positions();
        self.traffic.step();
        let to_m = self.positions();
        self.stats.collisions += self.monitor.check_step(&from_m, &to_m);

        (from_m, to_m)
    }

    /// Books vehicle `v`'s step: time by use, distance, energy.
    fn account(&mut self, v: usize, metres: f64) {
        let dt_s = self.plan.step.as_secs_f64();
        let moved = metres > 0.0;
        let job = self.vehicles[v].job;
        let loaded = !self.vehicles[v].cargo.is_empty();
        let wants_to_move = job.driving()
            || (job == Job::Idle && self.traffic.positions()[v] != self.vehicles[v].rest);
        let down = self.vehicles[v].down_until.is_some();
        let use_ = match job {
            _ if moved && loaded => Use::Loaded,
            _ if moved => Use::Empty,
            _ if down => Use::Down,
            Job::Service(_) => Use::Down,
            Job::Load(..) | Job::Unload(..) => Use::Handling,
            Job::Charge(_) => Use::Charging,
            _ if wants_to_move => Use::Waiting,
            _ => Use::Idle,
        };
        let battery = self.battery(v).cloned();
        let failures = &self.plan.types[self.vehicles[v].kind].failures;
        let veh = &mut self.vehicles[v];
        // Failure clocks: operating time is time spent driving or handling loads.
        let operating = matches!(
            use_,
            Use::Loaded | Use::Empty | Use::Handling | Use::Waiting
        );
        for (clock, f) in veh.to_failure.iter_mut().zip(failures) {
            if !down && (operating || f.basis == crate::scenario::FailureBasis::Calendar) {
                *clock -= dt_s;
            }
        }
        veh.time[use_ as usize] += dt_s;
        veh.distance_m += metres;
        if !loaded {
            veh.empty_m += metres;
        }
        if let Some(b) = battery {
            let per_m = if loaded {
                b.loaded_wh_per_m
            } else {
                b.empty_wh_per_m
            };
            let standby = if matches!(job, Job::Charge(_)) {
                0.0
            } else {
                b.standby_w * dt_s / 3600.0
            };
            let used = per_m * metres + standby;
            veh.energy_wh += used;
            if veh.charge_wh - used < 0.0 {
                self.stats.depleted += 1;
            }
            veh.charge_wh = (veh.charge_wh - used).max(0.0);
            let soc = veh.charge_wh / b.capacity_wh;
            self.stats.min_soc = Some(self.stats.min_soc.map_or(soc, |m| m.min(soc)));
        }
    }

    /// A vehicle that reached its pickup, drop-off or charger starts the job there (at the
    /// end of the step, `arrive`); not while part-way along a segment.
    fn start_arrival_jobs(&mut self, v: usize, arrive: SimTime) {
        if self.traffic.in_transit(v) {
            return;
        }
        let at = self.traffic.positions()[v];
        let ty = &self.plan.types[self.vehicles[v].kind];
        let (load_time, unload_time, capacity) = (ty.load_time, ty.unload_time, ty.capacity);
        let next = match self.vehicles[v].job {
            Job::Fetch if at == self.tasks[self.vehicles[v].assigned[0]].from => {
                // Loads that came up at this pickup meanwhile come along, room permitting.
                self.take_more_at(v, at, capacity);
                let loads = &self.vehicles[v].assigned;
                for &t in loads {
                    let waited = arrive.since(self.tasks[t].created).as_secs_f64();
                    self.stats.wait_s[self.tasks[t].kind].push(waited);
                }
                self.stats.pickups += 1;
                self.stats.loads_picked += loads.len() as u64;
                let handling = SimDuration(load_time.0 * loads.len() as u64);
                Some(Job::Load(arrive + handling))
            }
            Job::Carry if at == self.tasks[self.vehicles[v].cargo[0]].to => {
                Some(Job::Unload(arrive + unload_time))
            }
            Job::ToCharge(c) if at == self.plan.chargers[c] => {
                self.stats.charges += 1;
                Some(Job::Charge(c))
            }
            Job::ToService if at == self.vehicles[v].home => {
                self.stats.services += 1;
                let (_, takes) = self.plan.types[self.vehicles[v].kind]
                    .maintenance
                    .expect("only vehicles with maintenance are serviced");
                Some(Job::Service(arrive + takes))
            }
            _ => None,
        };
        if let Some(j) = next {
            self.set_job(v, j, arrive);
        }
    }

    /// Counts a stall when a vehicle with somewhere to be gets no nearer for too long
    /// (a long queue, a detour or a deadlock: [`FleetRuntime::watch_for_deadlocks`] tells
    /// them apart).
    fn watch_for_stall(&mut self, v: usize, arrive: SimTime) {
        if !self.vehicles[v].job.driving() || self.vehicles[v].down_until.is_some() {
            return;
        }
        let d = self.traffic.steps_to_goal(v);
        let veh = &mut self.vehicles[v];
        if d < veh.best.0 {
            veh.best = (d, arrive);
            veh.stalled = false;
        } else if !veh.stalled && arrive.since(veh.best.1) >= self.plan.stall_after {
            veh.stalled = true;
            self.stats.stalls += 1;
        }
    }

    /// Counts a deadlock for every cycle of the wait-for graph (each vehicle in it waits
    /// for a spot the next one stands on) that has lasted [`Fleet::deadlock_after`]:
    /// once per cycle, however long it lasts. A vehicle waiting behind one that loads is
    /// no deadlock: the loading vehicle waits for nobody.
    fn watch_for_deadlocks(&mut self, arrive: SimTime, alerts: &mut AlertLog) {
        let n = self.vehicles.len();
        // Most steps nobody waits: no graph to search.
        if (0..n).all(|v| self.traffic.waits_for(v).is_none()) {
            if self.cycles_open {
                for veh in &mut self.vehicles {
                    veh.in_cycle = None;
                    veh.cycle_counted = false;
                }
                self.cycles_open = false;
            }
            return;
        }
        // Each vehicle waits for at most one other: walk from every vehicle until the walk
        // ends or meets itself; a walk that meets itself found a cycle.
        const UNSEEN: usize = usize::MAX;
        let mut walk = vec![UNSEEN; n];
        let mut cycles: Vec<Vec<usize>> = Vec::new();
        for s in 0..n {
            let mut x = s;
            let mut ended = false;
            while walk[x] == UNSEEN {
                walk[x] = s;
                match self.traffic.waits_for(x) {
                    Some(y) => x = y,
                    None => {
                        ended = true;
                        break;
                    }
                }
            }
            if !ended && walk[x] == s {
                let mut members = vec![x];
                let mut y = self
                    .traffic
                    .waits_for(x)
                    .expect("a cycle's vehicles all wait");
                while y != x {
                    members.push(y);
                    y = self
                        .traffic
                        .waits_for(y)
                        .expect("a cycle's vehicles all wait");
                }
                members.sort_unstable();
                cycles.push(members);
            }
        }
        let mut on_cycle = vec![false; n];
        for &m in cycles.iter().flatten() {
            on_cycle[m] = true;
        }
        for (veh, &c) in self.vehicles.iter_mut().zip(&on_cycle) {
            if !c {
                veh.in_cycle = None;
                veh.cycle_counted = false;
            } else if veh.in_cycle.is_none() {
                veh.in_cycle = Some(arrive);
            }
        }
        self.cycles_open = !cycles.is_empty();
        // In order of each cycle's lowest-numbered vehicle.
        cycles.sort_unstable();
        for members in cycles {
            if self.vehicles[members[0]].cycle_counted {
                continue;
            }
            let lasted = members.iter().all(|&m| {
                self.vehicles[m]
                    .in_cycle
                    .is_some_and(|t| arrive.since(t) >= self.plan.deadlock_after)
            });
            if !lasted {
                continue;
            }
            for &m in &members {
                self.vehicles[m].cycle_counted = true;
            }
            self.stats.deadlocks += 1;
            let names: Vec<String> = members.iter().map(|m| format!("#{m}")).collect();
            alerts.raise(PlantAlert {
                at_s: arrive.as_secs_f64(),
                kind: "deadlock".into(),
                line: None,
                material: None,
                location: None,
                on_hand: None,
                rate_per_h: None,
                next_receipt_in_s: None,
                hint: format!(
                    "vehicles {} wait for each other in a cycle (each for the spot the next stands on): check one-way lanes and traffic coordination",
                    names.join(", ")
                ),
            });
        }
    }

    /// The pickup where an idle vehicle `v` standing at `at` is most wanted: the most
    /// tasks lately created there per idle vehicle already resting there (the nearest
    /// among equals); `at` when no task has come up yet.
    fn where_demand_is(&mut self, v: usize, at: u32, now: SimTime) -> u32 {
        let mut resting: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
        for (o, veh) in self.vehicles.iter().enumerate() {
            if o != v && veh.job == Job::Idle {
                *resting.entry(veh.rest).or_default() += 1;
            }
        }
        // The best few by demand per vehicle there; of those, the nearest among equals
        // (distances only for these: a table per spot would cost the floor each).
        let mut spots: Vec<(f64, u32)> = self
            .demand
            .iter()
            .map(|(&spot, &(rate, since))| {
                let there = 1 + resting.get(&spot).copied().unwrap_or(0);
                (decayed(rate, since, now) / there as f64, spot)
            })
            .collect();
        spots.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let top = spots.first().map_or(0.0, |s| s.0);
        let mut best: Option<(u32, u32)> = None;
        for &(score, spot) in spots.iter().take(REBALANCE_CANDIDATES) {
            if score < top * (1.0 - 1e-9) {
                break;
            }
            let steps = self.traffic.steps(at, spot);
            if steps != u32::MAX && best.is_none_or(|(d, _)| steps < d) {
                best = Some((steps, spot));
            }
        }
        best.map_or(at, |(_, spot)| spot)
    }

    fn set_job(&mut self, v: usize, job: Job, now: SimTime) {
        let ty = &self.plan.types[self.vehicles[v].kind];
        let loaded = !self.vehicles[v].cargo.is_empty();
        self.traffic
            .set_speed(v, if loaded { ty.speed_loaded } else { ty.speed });
        let at = self.traffic.positions()[v];
        if job == Job::Idle && self.vehicles[v].job != Job::Idle {
            let rest = match self.plan.idle {
                IdlePolicy::Home => self.vehicles[v].home,
                IdlePolicy::Stay => at,
                IdlePolicy::Rebalance => self.where_demand_is(v, at, now),
            };
            let veh = &mut self.vehicles[v];
            veh.rest = rest;
            veh.at_rest = rest == at;
        }
        let veh = &mut self.vehicles[v];
        veh.job = job;
        veh.best = (u32::MAX, now);
        veh.stalled = false;
        self.replan = true;
    }

    fn finish(&mut self, t: usize, now: SimTime) {
        self.tasks[t].delivered = Some(now);
        let task = &self.tasks[t];
        self.stats.completed += 1;
        self.stats.lead_s[task.kind].push(now.since(task.created).as_secs_f64());
        if task.due.is_some_and(|d| now > d) {
            self.stats.late += 1;
        }
    }

    fn dispatch(&mut self, now: SimTime) {
        if self.open.is_empty() {
            return;
        }
        let free: Vec<usize> = (0..self.vehicles.len())
            .filter(|&v| self.vehicles[v].job == Job::Idle && self.available(v, now))
            .collect();
        if free.is_empty() {
            return;
        }
        let tasks = &self.tasks;
        if self.plan.dispatch == DispatchPolicy::EarliestDue {
            self.open
                .sort_by_key(|&t| (tasks[t].due.unwrap_or(SimTime(u64::MAX)), urgency(tasks, t)));
        } else {
            self.open.sort_by_key(|&t| urgency(tasks, t));
        }
        let pickups: Vec<u32> = self.open.iter().map(|&t| self.tasks[t].from).collect();
        let costs: Vec<Vec<u64>> = free
            .iter()
            .map(|&v| {
                let at = self.traffic.positions()[v];
                pickups
                    .iter()
                    .map(|&from| match self.traffic.steps(at, from) {
                        u32::MAX => UNREACHABLE,
                        s => s as u64,
                    })
                    .collect()
            })
            .collect();
        let pairs = assign(self.plan.dispatch, &costs);
        let mut given = Vec::new();
        for (vi, ti) in pairs {
            let (v, t) = (free[vi], self.open[ti]);
            self.vehicles[v].assigned = vec![t];
            given.push(t);
        }
        self.open.retain(|t| !given.contains(t));
        for &v in &free {
            if let Some(&t) = self.vehicles[v].assigned.first() {
                let capacity = self.plan.types[self.vehicles[v].kind].capacity;
                self.take_more_at(v, self.tasks[t].from, capacity);
                self.set_job(v, Job::Fetch, now);
            }
        }
    }

    /// Gives out tasks by [`DispatchPolicy::MinEmptyTravel`] when the picture changed
    /// (see the module documentation).
    fn dispatch_min_empty_travel(&mut self, now: SimTime) {
        if !self.replan {
            return;
        }
        let step_s = self.plan.step.as_secs_f64();
        let steps_of = |d: SimDuration| (d.as_secs_f64() / step_s).ceil() as u64;
        // The vehicles offered: where each will be free and in how many steps; the tasks
        // they hold go back into the pool.
        let mut offered: Vec<(usize, u32, u64)> = Vec::new();
        let mut pool = self.open.clone();
        for v in 0..self.vehicles.len() {
            if !self.available(v, now) {
                continue;
            }
            let at = self.traffic.positions()[v];
            let veh = &self.vehicles[v];
            match veh.job {
                Job::Idle => offered.push((v, at, 0)),
                Job::Fetch => {
                    offered.push((v, at, 0));
                    pool.extend(&veh.assigned);
                }
                Job::Carry | Job::Unload(_) if veh.cargo.len() == 1 => {
                    let drop = self.tasks[veh.cargo[0]].to;
                    let unload = self.plan.types[veh.kind].unload_time;
                    let until = match veh.job {
                        Job::Unload(end) => steps_of(end.since(now)),
                        _ => u64::from(self.traffic.steps(at, drop)) + steps_of(unload),
                    };
                    pool.extend(&self.vehicles[v].reserved);
                    offered.push((v, drop, until));
                }
                _ => {}
            }
        }
        if offered.is_empty() || pool.is_empty() {
            self.replan = false;
            return;
        }
        let top = pool
            .iter()
            .map(|&t| self.tasks[t].priority)
            .max()
            .unwrap_or(0);
        let loaded: Vec<u64> = pool
            .iter()
            .map(|&t| u64::from(self.traffic.steps(self.tasks[t].from, self.tasks[t].to)))
            .collect();
        let mut costs = Vec::with_capacity(offered.len());
        for &(v, spot, until) in &offered {
            let ty = &self.plan.types[self.vehicles[v].kind];
            let handling = ty.load_time.as_secs_f64() + ty.unload_time.as_secs_f64();
            let mut row = Vec::with_capacity(pool.len());
            for (k, &t) in pool.iter().enumerate() {
                let task = &self.tasks[t];
                let empty = match self.traffic.steps(spot, task.from) {
                    u32::MAX => {
                        row.push(UNREACHABLE);
                        continue;
                    }
                    d => until + u64::from(d),
                };
                let late_s = task.due.map_or(0.0, |due| {
                    let eta_s = now.as_secs_f64() + (empty + loaded[k]) as f64 * step_s + handling;
                    (eta_s - due.as_secs_f64()).max(0.0)
                });
                let late = (self.plan.lateness_weight * late_s / step_s).round() as u64;
                let outranked = u64::from(top - task.priority) << PRIORITY_SHIFT;
                row.push(empty.saturating_add(late).saturating_add(outranked));
            }
            costs.push(row);
        }
        let pairs = assign(DispatchPolicy::MinEmptyTravel, &costs);
        let mut given = vec![None; offered.len()];
        let mut placed = vec![false; pool.len()];
        for (o, k) in pairs {
            given[o] = Some(pool[k]);
            placed[k] = true;
        }
        self.open = pool
            .iter()
            .zip(&placed)
            .filter(|&(_, &p)| !p)
            .map(|(&t, _)| t)
            .collect();
        for (o, &(v, _, _)) in offered.iter().enumerate() {
            let job = self.vehicles[v].job;
            let before = self.vehicles[v].assigned.first().copied();
            match (job, given[o]) {
                (Job::Idle | Job::Fetch, Some(t)) => {
                    self.vehicles[v].assigned = vec![t];
                    let capacity = self.plan.types[self.vehicles[v].kind].capacity;
                    self.take_more_at(v, self.tasks[t].from, capacity);
                    if job != Job::Fetch || before != Some(t) {
                        self.set_job(v, Job::Fetch, now);
                    }
                }
                (Job::Fetch, None) => {
                    self.vehicles[v].assigned.clear();
                    self.set_job(v, Job::Idle, now);
                }
                (Job::Carry | Job::Unload(_), t) => {
                    self.vehicles[v].reserved = t.into_iter().collect();
                }
                _ => {}
            }
        }
        self.replan = false;
    }

    /// Gives vehicle `v` more open tasks picked up at `from`, most urgent first, until it
    /// has `capacity` loads.
    fn take_more_at(&mut self, v: usize, from: u32, capacity: u32) {
        let room = (capacity as usize).saturating_sub(self.vehicles[v].assigned.len());
        if room == 0 {
            return;
        }
        let mut here: Vec<usize> = self
            .open
            .iter()
            .copied()
            .filter(|&t| self.tasks[t].from == from)
            .collect();
        here.sort_by_key(|&t| urgency(&self.tasks, t));
        let more = &here[..room.min(here.len())];
        self.open.retain(|t| !more.contains(t));
        self.vehicles[v].assigned.extend_from_slice(more);
    }

    fn needs_charge(&self, v: usize) -> bool {
        self.battery(v)
            .is_some_and(|b| self.vehicles[v].charge_wh < b.charge_below * b.capacity_wh)
    }

    /// Starts the statistics afresh (end of warm-up).
    pub fn reset_statistics(&mut self) {
        let kinds = self.kinds.len();
        self.stats = Stats {
            min_soc: self.stats.min_soc,
            created_by_kind: vec![0; kinds],
            lead_s: vec![Vec::new(); kinds],
            wait_s: vec![Vec::new(); kinds],
            waiting_max: self.open.len() as u64,
            ..Stats::default()
        };
        self.base = self.vehicles.clone();
    }

    /// The fleet's KPIs.
    pub fn kpis(&self) -> FleetKpis {
        let n = self.vehicles.len();
        let mut time = [0.0; 7];
        let (mut distance, mut empty, mut energy) = (0.0, 0.0, 0.0);
        for (v, b) in self.vehicles.iter().zip(&self.base) {
            for (k, t) in time.iter_mut().enumerate() {
                *t += v.time[k] - b.time[k];
            }
            distance += v.distance_m - b.distance_m;
            empty += v.empty_m - b.empty_m;
            energy += v.energy_wh - b.energy_wh;
        }
        let total: f64 = time.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let frac = |k: Use| time[k as usize] / total;
        let (lead_mean, lead_p95) = mean_p95(&self.stats.lead_s.concat());
        let (wait_mean, wait_p95) = mean_p95(&self.stats.wait_s.concat());
        // By type name (two listed tasks may share one).
        let mut by_task: std::collections::BTreeMap<String, (u64, Vec<f64>, Vec<f64>, u64)> =
            std::collections::BTreeMap::new();
        for (k, name) in self.kinds.iter().enumerate() {
            if self.stats.created_by_kind[k] == 0 && self.stats.lead_s[k].is_empty() {
                continue;
            }
            let e = by_task.entry(name.clone()).or_default();
            e.0 += self.stats.created_by_kind[k];
            e.1.extend(&self.stats.lead_s[k]);
            e.2.extend(&self.stats.wait_s[k]);
        }
        for &t in &self.open {
            if let Some(e) = by_task.get_mut(&self.kinds[self.tasks[t].kind]) {
                e.3 += 1;
            }
        }
        let by_task = by_task
            .into_iter()
            .map(|(name, (created, lead, wait, waiting))| {
                let (lead_mean, lead_p95) = mean_p95(&lead);
                let (wait_mean, wait_p95) = mean_p95(&wait);
                let kpis = TaskKpis {
                    created,
                    completed: lead.len() as u64,
                    waiting_at_end: waiting,
                    lead_time_mean_s: lead_mean,
                    lead_time_p95_s: lead_p95,
                    wait_for_vehicle_mean_s: wait_mean,
                    wait_for_vehicle_p95_s: wait_p95,
                };
                (name, kpis)
            })
            .collect();
        FleetKpis {
            vehicles: n,
            tasks_created: self.stats.created,
            tasks_completed: self.stats.completed,
            tasks_waiting_at_end: self.open.len() as u64,
            tasks_late: self.stats.late,
            lead_time_mean_s: lead_mean,
            lead_time_p95_s: lead_p95,
            wait_for_vehicle_mean_s: wait_mean,
            wait_for_vehicle_p95_s: wait_p95,
            time_split: TimeSplit {
                loaded_travel: frac(Use::Loaded),
                empty_travel: frac(Use::Empty),
                loading: frac(Use::Handling),
                charging: frac(Use::Charging),
                idle: frac(Use::Idle),
                waiting_in_traffic: frac(Use::Waiting),
                down: frac(Use::Down),
            },
            distance_km: distance / 1000.0,
            empty_distance_km: empty / 1000.0,
            energy_kwh: energy / 1000.0,
            loads_per_pickup: if self.stats.pickups == 0 {
                0.0
            } else {
                self.stats.loads_picked as f64 / self.stats.pickups as f64
            },
            charges: self.stats.charges,
            redispatched_for_charging: self.stats.redispatched,
            min_state_of_charge: self.stats.min_soc,
            battery_depleted: self.stats.depleted,
            collisions: self.stats.collisions,
            deadlocks: self.stats.deadlocks,
            stalls: self.stats.stalls,
            breakdowns: self.stats.breakdowns,
            maintenance_stops: self.stats.services,
            tasks_waiting_max: self.stats.waiting_max,
            by_task,
        }
    }

    /// Traffic steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// What the traffic's planning has done so far (its share of the run's work).
    pub fn planning_work(&self) -> traffic::PlanningWork {
        self.traffic.planning_work()
    }
}

/// A count of tasks that stood at `rate` at `since`, decayed to `now` with the time
/// constant [`REBALANCE_MEMORY`].
fn decayed(rate: f64, since: SimTime, now: SimTime) -> f64 {
    rate * (-now.since(since).as_secs_f64() / REBALANCE_MEMORY.as_secs_f64()).exp()
}

/// Pickups of equal demand among which a rebalanced vehicle takes the nearest.
const REBALANCE_CANDIDATES: usize = 8;

/// Steps back to its spot within which an idle vehicle pushed off it returns there.
const PUSHED_BACK: u32 = 3;

/// Cost steps by which each priority level below the highest waiting outranks travel
/// (min-empty-travel dispatch): far more than any trip.
const PRIORITY_SHIFT: u32 = 32;

/// Which parking spots are free (nobody stands on one, no idle vehicle rests at or heads
/// for it), kept up to date as idle vehicles settle in a step.
struct ParkingPicture {
    /// By spot: a parking spot.
    parking: Vec<bool>,
    /// By spot: a vehicle stands on it.
    stands: Vec<bool>,
    /// By spot: idle vehicles resting at or heading for it.
    rests: Vec<u32>,
    /// By spot: the idle vehicle that last claimed it (`u32::MAX`: none).
    claimant: Vec<u32>,
    /// Free parking spots: with none left, a search would explore the whole floor for
    /// nothing (a packed floor has none left most of the time).
    left: usize,
}

impl ParkingPicture {
    /// On a floor of `spots` with `parking` spots, vehicles standing on `stands` and idle
    /// ones resting at (or heading for) `rests`.
    fn new(
        spots: usize,
        parking: &[u32],
        stands: &[u32],
        rests: impl Iterator<Item = (usize, u32)>,
    ) -> ParkingPicture {
        let mut picture = ParkingPicture {
            parking: vec![false; spots],
            stands: vec![false; spots],
            rests: vec![0; spots],
            claimant: vec![u32::MAX; spots],
            left: 0,
        };
        for &p in parking {
            picture.parking[p as usize] = true;
        }
        for &s in stands {
            picture.stands[s as usize] = true;
        }
        for (v, s) in rests {
            picture.rests[s as usize] += 1;
            picture.claimant[s as usize] = v as u32;
        }
        picture.left = parking.iter().filter(|&&p| picture.is_free(p)).count();
        picture
    }

    fn is_parking(&self, s: u32) -> bool {
        self.parking[s as usize]
    }

    fn is_free(&self, s: u32) -> bool {
        let s = s as usize;
        self.parking[s] && !self.stands[s] && self.rests[s] == 0
    }

    /// Whether `s` is a parking spot no idle vehicle rests at or heads for.
    fn unclaimed(&self, s: u32) -> bool {
        self.parking[s as usize] && self.rests[s as usize] == 0
    }

    /// The idle vehicle that last claimed `s`.
    fn claimant(&self, s: u32) -> Option<usize> {
        let v = self.claimant[s as usize];
        (v != u32::MAX).then_some(v as usize)
    }

    /// Idle vehicle `v` rests at `to` instead of `from`.
    fn resettle(&mut self, v: usize, from: u32, to: u32) {
        self.claimant[to as usize] = v as u32;
        for (s, by) in [(from, -1i64), (to, 1)] {
            let was = self.is_free(s);
            // A vehicle that fell idle after the picture was taken was not counted at `from`.
            let r = &mut self.rests[s as usize];
            *r = (i64::from(*r) + by).max(0) as u32;
            match (was, self.is_free(s)) {
                (true, false) => self.left -= 1,
                (false, true) => self.left += 1,
                _ => {}
            }
        }
    }

    /// The free parking spot nearest `from` by driving, or `own` (the spot of the vehicle
    /// searching) where that is as near: a breadth-first search along the lanes from
    /// `from` that stops at the first one, so its cost is the floor explored, not the
    /// floor.
    fn nearest(
        &self,
        layout: &traffic::Layout,
        from: u32,
        own: Option<u32>,
        reached: &mut Reached,
    ) -> Option<u32> {
        if self.left == 0 && own.is_none() {
            return None;
        }
        reached.start(layout.spots());
        reached.reach(from);
        reached.queue.push_back(from);
        while let Some(s) = reached.queue.pop_front() {
            if s != from && (Some(s) == own || self.is_free(s)) {
                return Some(s);
            }
            for &n in layout.neighbours(s) {
                if reached.reach(n) {
                    reached.queue.push_back(n);
                }
            }
        }
        None
    }
}

/// Sort key of task `t`, most urgent first: priority, then due time, then age.
fn urgency(tasks: &[Task], t: usize) -> (std::cmp::Reverse<u32>, SimTime, SimTime, usize) {
    let task = &tasks[t];
    (
        std::cmp::Reverse(task.priority),
        task.due.unwrap_or(SimTime(u64::MAX)),
        task.created,
        t,
    )
}

/// Mean and 95th percentile (nearest rank) of `xs`; zeros when empty.
fn mean_p95(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((0.95 * s.len() as f64).ceil() as usize).clamp(1, s.len());
    (s.iter().sum::<f64>() / s.len() as f64, s[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A floor of one row of `width` cells, numbered from the left (spot = column).
    fn row(width: usize) -> traffic::Layout {
        let map = traffic::mapf::GridMap::from_cells(width, 1, vec![true; width]);
        traffic::Layout::from_grid(&map, 3.0).unwrap()
    }

    #[test]
    fn the_nearest_free_parking_spot_or_ones_own_where_that_is_as_near() {
        let layout = row(10);
        let s = |x: usize| layout.grid_spot(x, 0).unwrap();
        // Parking at 0, 1, 2 and 8, 9; vehicles stand on 1 and 5; idle vehicle 0 rests at
        // 2, vehicle 1 at 9.
        let parking: Vec<u32> = [0, 1, 2, 8, 9].map(s).to_vec();
        let mut picture = ParkingPicture::new(
            layout.spots(),
            &parking,
            &[s(1), s(5)],
            [(0, s(2)), (1, s(9))].into_iter(),
        );
        assert_eq!(picture.left, 2, "0 and 8 are free");
        let mut reached = Reached::default();
        // From 5: 8 is three away, 0 five; its own spot 9, four away, loses to 8.
        assert_eq!(
            picture.nearest(&layout, s(5), None, &mut reached),
            Some(s(8))
        );
        assert_eq!(
            picture.nearest(&layout, s(5), Some(s(9)), &mut reached),
            Some(s(8))
        );
        // From 3: its own spot 2 is one away, the free 0 three.
        assert_eq!(
            picture.nearest(&layout, s(3), Some(s(2)), &mut reached),
            Some(s(2))
        );
        // Vehicle 1 moves from 9 to 8: 8 is taken, 9 free.
        picture.resettle(1, s(9), s(8));
        assert_eq!(picture.left, 2);
        assert!(!picture.is_free(s(8)) && picture.is_free(s(9)));
        assert_eq!(picture.claimant(s(8)), Some(1));
        // With every parking spot claimed, nothing is searched, and only one's own spot
        // is found.
        picture.resettle(2, s(7), s(9));
        picture.resettle(3, s(7), s(0));
        assert_eq!(picture.left, 0);
        assert_eq!(picture.nearest(&layout, s(5), None, &mut reached), None);
        assert_eq!(
            picture.nearest(&layout, s(5), Some(s(2)), &mut reached),
            Some(s(2))
        );
        assert!(picture.unclaimed(s(1)) && !picture.unclaimed(s(2)) && !picture.unclaimed(s(5)));
    }
}
