//! The fleet's KPIs: tasks, lead times, how vehicles spent their time, distance, energy,
//! charging and incidents, measured after the warm-up.

use serde::Serialize;

/// Fractions of the fleet's vehicle time, summing to 1.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TimeSplit {
    /// Driving with a load.
    pub loaded_travel: f64,
    /// Driving empty (to a pickup, a charger or parking).
    pub empty_travel: f64,
    /// Picking up or setting down loads.
    pub loading: f64,
    /// At a charger.
    pub charging: f64,
    /// Nothing to do.
    pub idle: f64,
    /// Somewhere to be, but held up by other vehicles.
    pub waiting_in_traffic: f64,
    /// Broken down or in planned maintenance.
    pub down: f64,
}

/// KPIs of one type of transport task (a listed task's name, `pallets from LINE`, or
/// `MATERIAL to LINE`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TaskKpis {
    /// Tasks created.
    pub created: u64,
    /// Tasks delivered.
    pub completed: u64,
    /// Tasks still waiting for a vehicle at the end.
    pub waiting_at_end: u64,
    /// Mean time from creation to delivery, seconds.
    pub lead_time_mean_s: f64,
    /// 95th percentile of that, seconds.
    pub lead_time_p95_s: f64,
    /// Mean time from creation to a vehicle at the pickup, seconds.
    pub wait_for_vehicle_mean_s: f64,
    /// 95th percentile of that, seconds.
    pub wait_for_vehicle_p95_s: f64,
}

/// KPIs of the AGV fleet.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FleetKpis {
    /// Vehicles in the fleet.
    pub vehicles: usize,
    /// Transport tasks created.
    pub tasks_created: u64,
    /// Transport tasks delivered.
    pub tasks_completed: u64,
    /// Tasks still waiting for a vehicle at the end.
    pub tasks_waiting_at_end: u64,
    /// Most tasks waiting for a vehicle at once (the queue's peak).
    pub tasks_waiting_max: u64,
    /// Tasks delivered after their due time.
    pub tasks_late: u64,
    /// Mean time from a task's creation to its delivery, seconds.
    pub lead_time_mean_s: f64,
    /// 95th percentile of that, seconds.
    pub lead_time_p95_s: f64,
    /// Mean time from a task's creation to a vehicle at its pickup, seconds.
    pub wait_for_vehicle_mean_s: f64,
    /// 95th percentile of that, seconds.
    pub wait_for_vehicle_p95_s: f64,
    /// How the vehicles spent their time.
    pub time_split: TimeSplit,
    /// Distance driven by all vehicles, kilometres.
    pub distance_km: f64,
    /// Of that, driven empty (to pickups, chargers, parking), kilometres.
    pub empty_distance_km: f64,
    /// Energy used by all vehicles, kilowatt-hours.
    pub energy_kwh: f64,
    /// Loads picked up per stop at a pickup, mean (above 1 only for vehicles that carry
    /// several loads).
    pub loads_per_pickup: f64,
    /// Charging sessions started.
    pub charges: u64,
    /// Tasks handed back because the vehicle had to charge first.
    pub redispatched_for_charging: u64,
    /// Lowest state of charge any vehicle reached (fraction); `None` without batteries.
    pub min_state_of_charge: Option<f64>,
    /// Times a battery would have gone below empty (must be 0).
    pub battery_depleted: u64,
    /// Physical contacts between vehicles seen by the safety monitor.
    pub collisions: u64,
    /// Real deadlocks: cycles of vehicles each waiting for a spot the next one stands
    /// on, lasting `deadlock_after` (counted once each).
    pub deadlocks: u64,
    /// Vehicles with somewhere to be that got no nearer their goal for `stall_after`
    /// (queues and detours as well as deadlocks).
    pub stalls: u64,
    /// Vehicle breakdowns.
    pub breakdowns: u64,
    /// Planned maintenance stops begun.
    pub maintenance_stops: u64,
    /// By task type, in name order.
    pub by_task: std::collections::BTreeMap<String, TaskKpis>,
}
