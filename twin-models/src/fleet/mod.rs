//! The fleet subsystem: the AGVs in simulated time, with transport tasks, dispatch,
//! traffic steps, batteries and charging, and the safety monitor.
//!
//! The fleet moves in lockstep traffic steps of [`Fleet::step`] (one cell at the fleet's
//! speed), each a [`FleetEvent::Step`]. Each step: timed jobs that are done end (loading,
//! unloading, charging), vehicles low on charge head for a free charger (giving back a
//! task they have not picked up yet), free vehicles get waiting tasks, the orchestrator's
//! [`Traffic`] moves everyone one segment or not at all, arrivals start their jobs, and the
//! [`SafetyMonitor`] checks every footprint through the step. Tasks come from the
//! scenario's list ([`FleetEvent::TaskRelease`]) or from whoever calls
//! [`FleetRuntime::create`]; a step says which tasks' loads were picked up and delivered.

pub mod kpi;
pub mod safety;

use crate::alerts::{AlertLog, PlantAlert};
use crate::scenario::{Fleet, Line};
pub use kpi::{FleetKpis, TimeSplit};
use nalgebra::Point2;
use orchestrator::{UNREACHABLE, assign};
use rand::RngExt;
pub use safety::SafetyMonitor;
use sim::{Calendar, SimDuration, SimTime};
use traffic::Traffic;

/// An event of the fleet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FleetEvent {
    /// The fleet moves one traffic step.
    Step,
    /// A task from the scenario's list is created.
    TaskRelease { task: u16 },
}

/// Where a task came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The scenario's task list, entry `k`.
    Listed(usize),
    /// A finished pallet of line `line`.
    Outfeed(usize),
    /// A load of material `material` for line `line`.
    Material(usize, usize),
}

/// A transport task: one load from a pickup to a drop-off.
#[derive(Clone, Debug)]
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
}

/// What a vehicle is doing. The tasks it serves are its `assigned` ones (to pick up, all
/// at one pickup) and its `cargo` (on board, the next to deliver first).
#[derive(Clone, Copy, Debug, PartialEq)]
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
        }
    }

    /// Whether the vehicle is driving to a goal.
    fn driving(self) -> bool {
        matches!(self, Job::Fetch | Job::Carry | Job::ToCharge(_))
    }
}

/// One vehicle at an instant, for viewers and inspectors.
#[derive(Clone, Debug, PartialEq)]
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
    /// What it is doing: `idle`, `fetch`, `load`, `carry`, `unload`, `to_charger` or
    /// `charging`.
    pub doing: &'static str,
    /// Where it is driving to, metres, while it drives.
    pub goal: Option<Point2<f64>>,
    /// The tasks it serves (to pick up, then on board), by task number.
    pub tasks: Vec<usize>,
}

/// What a vehicle spent a step doing; [`TimeSplit`] order.
#[derive(Clone, Copy)]
enum Use {
    Loaded = 0,
    Empty = 1,
    Handling = 2,
    Charging = 3,
    Idle = 4,
    Waiting = 5,
}

#[derive(Clone, Debug)]
struct Vehicle {
    kind: usize,
    job: Job,
    /// Tasks to pick up (one pickup spot), by index.
    assigned: Vec<usize>,
    /// Tasks on board, the next to deliver first.
    cargo: Vec<usize>,
    home: u32,
    /// Watt-hours left (infinite without a battery).
    charge_wh: f64,
    /// Least steps to the goal seen in the current job, and when.
    best: (u32, SimTime),
    deadlocked: bool,
    /// Seconds per [`Use`].
    time: [f64; 6],
    distance_m: f64,
    energy_wh: f64,
}

/// Counters of the fleet since the end of the warm-up.
#[derive(Clone, Debug, Default)]
struct Stats {
    created: u64,
    completed: u64,
    late: u64,
    lead_s: Vec<f64>,
    wait_s: Vec<f64>,
    deadlocks: u64,
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
#[derive(bevy_ecs::resource::Resource)]
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
}

impl FleetRuntime {
    /// The fleet of `plan` parked at its parking spots, serving `lines`, for a run to
    /// `horizon`; `seed` breaks the planner's ties.
    pub fn new(plan: &Fleet, lines: &[&Line], seed: u64, horizon: SimTime) -> Self {
        let n = plan.vehicles.len();
        let starts: Vec<u32> = plan.parking[..n].to_vec();
        let mut traffic = Traffic::new(plan.layout.clone(), &starts, seed)
            .expect("validation keeps parking spots distinct");
        traffic.set_coordinated(plan.coordinated);
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
        let vehicles: Vec<Vehicle> = plan
            .vehicles
            .iter()
            .zip(&starts)
            .map(|(&kind, &home)| Vehicle {
                kind,
                job: Job::Idle,
                assigned: Vec::new(),
                cargo: Vec::new(),
                home,
                charge_wh: plan.types[kind]
                    .battery
                    .as_ref()
                    .map_or(f64::INFINITY, |b| b.capacity_wh * b.initial),
                best: (u32::MAX, SimTime::ZERO),
                deadlocked: false,
                time: [0.0; 6],
                distance_m: 0.0,
                energy_wh: 0.0,
            })
            .collect();
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
                ..Stats::default()
            },
            steps: 0,
            draws: sim::RngStreams::new(seed).stream(&[sim::RngStreams::label("fleet-places")]),
            line_names: lines.iter().map(|l| l.name.clone()).collect(),
            material_names: lines
                .iter()
                .map(|l| l.materials.iter().map(|m| m.name.clone()).collect())
                .collect(),
            due_watch: std::collections::BinaryHeap::new(),
            horizon,
            plan: plan.clone(),
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
            snap.doing = veh.job.name();
            snap.goal = veh
                .job
                .driving()
                .then(|| self.plan.layout.position(self.traffic.goal(v)));
            snap.tasks.clear();
            snap.tasks
                .extend(veh.assigned.iter().chain(&veh.cargo).copied());
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
        self.tasks.push(Task {
            origin,
            from,
            to,
            priority,
            created: now,
            due: due.map(|d| now + d),
            delivered: None,
        });
        self.stats.created += 1;
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
        for (k, t) in self.plan.tasks.iter().enumerate() {
            if t.first.0 < self.horizon.0 {
                cal.at(
                    SimTime(t.first.0),
                    FleetEvent::TaskRelease { task: k as u16 },
                );
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
                if let Some(every) = t.every
                    && now + every <= self.horizon
                {
                    cal.after(every, FleetEvent::TaskRelease { task });
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
        let done = self.end_timed_jobs(now);
        self.watch_due(now, alerts);
        self.send_low_batteries_to_charge(now);
        self.dispatch(now);
        let (from_m, to_m) = self.drive();
        let arrive = now + self.plan.step;
        for v in 0..self.vehicles.len() {
            self.account(v, (to_m[v] - from_m[v]).norm());
            self.start_arrival_jobs(v, arrive);
            self.watch_for_deadlock(v, arrive);
        }
        done
    }

    /// Ends loading, unloading and charging that are over (and charges for one step).
    fn end_timed_jobs(&mut self, now: SimTime) -> (Vec<Origin>, Vec<Origin>) {
        let dt_s = self.plan.step.as_secs_f64();
        let (mut picked, mut delivered) = (Vec::new(), Vec::new());
        for v in 0..self.vehicles.len() {
            match self.vehicles[v].job {
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
            let free_to_go = matches!(self.vehicles[v].job, Job::Idle | Job::Fetch);
            if low && free_to_go {
                let at = self.traffic.positions()[v];
                let charger = (0..self.plan.chargers.len())
                    .filter(|&c| !self.charger_taken[c])
                    .min_by_key(|&c| (self.traffic.steps(at, self.plan.chargers[c]), c));
                if let Some(c) = charger {
                    let given_back = std::mem::take(&mut self.vehicles[v].assigned);
                    self.stats.redispatched += given_back.len() as u64;
                    self.open.extend(given_back);
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
            let (goal, held) = match self.vehicles[v].job {
                Job::Idle => (self.vehicles[v].home, false),
                Job::Fetch => (self.tasks[self.vehicles[v].assigned[0]].from, false),
                Job::Carry => (self.tasks[self.vehicles[v].cargo[0]].to, false),
                Job::ToCharge(c) => (self.plan.chargers[c], false),
                Job::Load(..) | Job::Unload(..) | Job::Charge(_) => {
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
        let wants_to_move = matches!(job, Job::Fetch | Job::Carry | Job::ToCharge(_))
            || (job == Job::Idle && self.traffic.positions()[v] != self.vehicles[v].home);
        let use_ = match job {
            _ if moved && loaded => Use::Loaded,
            _ if moved => Use::Empty,
            Job::Load(..) | Job::Unload(..) => Use::Handling,
            Job::Charge(_) => Use::Charging,
            _ if wants_to_move => Use::Waiting,
            _ => Use::Idle,
        };
        let battery = self.battery(v).cloned();
        let veh = &mut self.vehicles[v];
        veh.time[use_ as usize] += dt_s;
        veh.distance_m += metres;
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
                    self.stats.wait_s.push(waited);
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
            _ => None,
        };
        if let Some(j) = next {
            self.set_job(v, j, arrive);
        }
    }

    /// Counts a deadlock when a vehicle with somewhere to be gets no nearer for too long.
    fn watch_for_deadlock(&mut self, v: usize, arrive: SimTime) {
        if !matches!(
            self.vehicles[v].job,
            Job::Fetch | Job::Carry | Job::ToCharge(_)
        ) {
            return;
        }
        let d = self.traffic.steps_to_goal(v);
        let veh = &mut self.vehicles[v];
        if d < veh.best.0 {
            veh.best = (d, arrive);
            veh.deadlocked = false;
        } else if !veh.deadlocked && arrive.since(veh.best.1) >= self.plan.deadlock_after {
            veh.deadlocked = true;
            self.stats.deadlocks += 1;
        }
    }

    fn set_job(&mut self, v: usize, job: Job, now: SimTime) {
        let ty = &self.plan.types[self.vehicles[v].kind];
        let loaded = !self.vehicles[v].cargo.is_empty();
        self.traffic
            .set_speed(v, if loaded { ty.speed_loaded } else { ty.speed });
        let veh = &mut self.vehicles[v];
        veh.job = job;
        veh.best = (u32::MAX, now);
        veh.deadlocked = false;
    }

    fn finish(&mut self, t: usize, now: SimTime) {
        self.tasks[t].delivered = Some(now);
        let task = &self.tasks[t];
        self.stats.completed += 1;
        self.stats
            .lead_s
            .push(now.since(task.created).as_secs_f64());
        if task.due.is_some_and(|d| now > d) {
            self.stats.late += 1;
        }
    }

    fn dispatch(&mut self, now: SimTime) {
        if self.open.is_empty() {
            return;
        }
        let free: Vec<usize> = (0..self.vehicles.len())
            .filter(|&v| self.vehicles[v].job == Job::Idle && !self.needs_charge(v))
            .collect();
        if free.is_empty() {
            return;
        }
        let tasks = &self.tasks;
        self.open.sort_by_key(|&t| urgency(tasks, t));
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
        self.stats = Stats {
            min_soc: self.stats.min_soc,
            ..Stats::default()
        };
        self.base = self.vehicles.clone();
    }

    /// The fleet's KPIs.
    pub fn kpis(&self) -> FleetKpis {
        let n = self.vehicles.len();
        let mut time = [0.0; 6];
        let (mut distance, mut energy) = (0.0, 0.0);
        for (v, b) in self.vehicles.iter().zip(&self.base) {
            for (k, t) in time.iter_mut().enumerate() {
                *t += v.time[k] - b.time[k];
            }
            distance += v.distance_m - b.distance_m;
            energy += v.energy_wh - b.energy_wh;
        }
        let total: f64 = time.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let frac = |k: Use| time[k as usize] / total;
        let (lead_mean, lead_p95) = mean_p95(&self.stats.lead_s);
        let (wait_mean, wait_p95) = mean_p95(&self.stats.wait_s);
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
            },
            distance_km: distance / 1000.0,
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
        }
    }

    /// Traffic steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
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
