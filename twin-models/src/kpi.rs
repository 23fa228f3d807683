//! Key performance indicators: what a run measured, per station and per line, and their
//! summaries over replications.
//!
//! Definitions (ISO 22400-2 style, measured at the line's OEE station, after the warm-up):
//! - planned busy time = measured time − planned-stop time;
//! - operating time = planned busy time − down time − changeover (setup) time;
//! - availability = operating time / planned busy time;
//! - performance = units processed × ideal cycle time / operating time (micro-stops,
//!   starving, blocking and slow running are performance losses);
//! - quality = good units / units processed;
//! - OEE = availability × performance × quality = good units × ideal cycle / planned busy time.

use crate::engine::{LineEngine, LineRuntime, RunSpec, StationState};
use crate::scenario::{Line, StationKind};
use crate::units::units;
use serde::Serialize;
use sim::SimTime;

/// Fraction of measured time in each state; they sum to 1.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StateFractions {
    pub working: f64,
    pub starved: f64,
    pub blocked: f64,
    pub down: f64,
    pub setup: f64,
    pub micro_stop: f64,
    pub planned_stop: f64,
}

/// KPIs of one station.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StationKpis {
    /// Station name.
    pub name: String,
    /// Machine kind.
    pub kind: StationKind,
    /// Fraction of time per state.
    pub state_fractions: StateFractions,
    /// Units taken in.
    pub units_in: f64,
    /// Good units passed on.
    pub units_out: f64,
    /// Units rejected.
    pub rejects: f64,
    /// Breakdowns.
    pub failures: u64,
    /// Micro-stops.
    pub micro_stops: u64,
    /// Changeovers started.
    pub changeovers: u64,
}

/// OEE and its factors.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Oee {
    /// The station it is measured at.
    pub station: String,
    pub availability: f64,
    pub performance: f64,
    pub quality: f64,
    pub oee: f64,
}

/// KPIs of one line.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LineKpis {
    /// Line name.
    pub name: String,
    /// `fluid` (rates between events) or `discrete` (unit by unit).
    pub engine: &'static str,
    /// Good units out of the last station per hour of measured time.
    pub throughput_per_h: f64,
    /// Units released into the line (taken by the first station, or arrivals let in).
    pub units_in: f64,
    /// Good units out of the last station.
    pub units_out: f64,
    /// Units rejected at any station.
    pub rejects: f64,
    /// Units inside the line when measuring began (end of warm-up).
    pub wip_start: f64,
    /// Units inside the line at the end.
    pub wip_end: f64,
    /// Time-average units inside the line.
    pub wip_mean: f64,
    /// OEE at the OEE station.
    pub oee: Oee,
    /// Changeovers at the OEE station.
    pub changeovers: u64,
    /// Time the OEE station spent in changeovers, seconds.
    pub changeover_time_s: f64,
    /// Mean time from entering to leaving the line, seconds (discrete lines).
    pub mean_time_in_system_s: Option<f64>,
    /// Arrivals (arrival sources).
    pub arrivals: Option<u64>,
    /// Arrivals lost because the queue was full (arrival sources).
    pub lost: Option<u64>,
    /// Fraction of arrivals lost (arrival sources).
    pub blocking_probability: Option<f64>,
    /// Per station, in flow order.
    pub stations: Vec<StationKpis>,
}

/// KPIs of one run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunKpis {
    /// Measured time (horizon − warm-up), seconds.
    pub measured_s: f64,
    /// Per line.
    pub lines: Vec<LineKpis>,
    /// The AGV fleet, when the plant has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetKpis>,
    /// The replayed inventory feed, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed: Option<FeedKpis>,
    /// The network of sites, when the scenario has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkKpis>,
}

/// KPIs of the network beyond the plant.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NetworkKpis {
    /// Per site.
    pub sites: Vec<SiteKpis>,
    /// Per lane.
    pub lanes: Vec<LaneKpis>,
    /// Customer service per region (DCs only), in region order.
    pub regions: Vec<RegionKpis>,
}

/// KPIs of a site; the fields of the other kind of site are `null`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SiteKpis {
    /// Site name.
    pub site: String,
    /// `plant` or `dc`.
    pub kind: String,
    /// Region.
    pub region: String,
    /// Finished-goods material.
    pub product: String,
    /// Pallets on hand at the end.
    pub on_hand: f64,
    /// Time-weighted mean on hand, pallets.
    pub average_on_hand: f64,
    /// Lowest on hand, pallets.
    pub least_on_hand: f64,
    /// Pallets out (shipped or sold) over average on hand.
    pub turns: f64,
    /// Times demand found too little (customer orders at a DC, DC requests at a plant).
    pub stock_outs: u64,
    /// Minutes with demand waiting.
    pub stock_out_minutes: f64,
    /// Plant: pallets made.
    pub pallets_made: Option<f64>,
    /// Plant: pallets shipped to DCs.
    pub pallets_shipped: Option<f64>,
    /// Plant: pallets DCs asked for and not yet shipped, at the end.
    pub pallets_waiting_to_ship: Option<f64>,
    /// DC: customer orders.
    pub orders: Option<u64>,
    /// DC: share of ordered pallets on hand when ordered.
    pub fill_rate: Option<f64>,
    /// DC: orders shipped in full by their due time over orders due by the end.
    pub otif: Option<f64>,
    /// DC: orders not shipped in full at the end.
    pub open_orders: Option<u64>,
    /// DC: pallets received from its plant.
    pub pallets_received: Option<f64>,
    /// DC: pallets on the road to it at the end.
    pub pallets_in_transit: Option<f64>,
}

/// KPIs of a transport lane.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LaneKpis {
    /// Shipping site.
    pub from: String,
    /// Receiving site.
    pub to: String,
    /// Trucks sent.
    pub trucks: u64,
    /// Pallets sent.
    pub pallets: f64,
    /// Pallets per truck over truck capacity.
    pub truck_fill: f64,
}

/// Customer service of the DCs of one region.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RegionKpis {
    /// Region ("" for sites without one).
    pub region: String,
    /// Customer orders.
    pub orders: u64,
    /// On time in full over orders due.
    pub otif: Option<f64>,
    /// Share of ordered pallets on hand when ordered.
    pub fill_rate: Option<f64>,
}

/// KPIs of a replayed inventory feed.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FeedKpis {
    /// Events applied to the stock positions.
    pub events_applied: u64,
    /// Events dated before `run.start`, applied at time 0 as the opening state.
    pub events_before_start: u64,
    /// Events dated at or after the horizon, not applied.
    pub events_after_horizon: u64,
    /// Cycle counts of line-side material that reset the twin's own figure.
    pub line_side_counts: u64,
    /// Sum of |counted − twin's figure| over those counts.
    pub line_side_drift_abs: f64,
    /// Cycle counts of stocks the twin keeps (`[[stock]]`), which reset its figure.
    pub stock_counts: u64,
    /// Sum of |counted − twin's figure| over those counts, units.
    pub stock_drift_abs: f64,
    /// Events the positions refused: (event_id, reason).
    pub rejected: Vec<(String, String)>,
    /// Alerts raised, in time order.
    pub alerts: Vec<FeedAlert>,
    /// Stock positions at the end, by (site, location, material).
    pub positions: Vec<FeedPositionKpis>,
}

/// One stock position at the end of a replay.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FeedPositionKpis {
    /// Site.
    pub site: String,
    /// Location.
    pub location: String,
    /// Material.
    pub material: String,
    /// Unit of the quantities.
    pub unit: String,
    /// On hand as the feed books it.
    pub on_hand: f64,
    /// Cycle counts.
    pub counts: u64,
    /// Sum of |counted − book| over the counts.
    pub drift_abs: f64,
    /// Demand recorded.
    pub demanded: f64,
    /// Times the stock fell to nothing or below (positions the feed drives alone).
    pub stock_outs: u64,
    /// Minutes with no stock.
    pub stock_out_minutes: f64,
    /// Time-weighted mean on hand since the feed first touched it (`None`: a line-side
    /// position, whose stock the twin keeps).
    pub average_on_hand: Option<f64>,
    /// Outflow (consumption and shipments) over the average on hand.
    pub turns: Option<f64>,
    /// Demand events (customer orders) recorded.
    pub demands: u64,
    /// Share of demanded units on hand when demanded; `None` without demand.
    pub fill_rate: Option<f64>,
    /// On time in full: orders shipped in full by their due time over orders due by the
    /// end; `None` if none was due.
    pub otif: Option<f64>,
    /// Orders not shipped in full at the end.
    pub open_orders: u64,
}

/// An alert raised during a replay, with the numbers behind it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FeedAlert {
    /// Simulated time, seconds.
    pub at_s: f64,
    /// The real time of the event that raised it (RFC 3339).
    pub ts: String,
    /// `projected_stock_out`, `stock_out` or `feed_gap`.
    pub kind: String,
    /// Site.
    pub site: String,
    /// Location (none for a feed gap).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// Material (none for a feed gap).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub material: String,
    /// On hand then (none for a feed gap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_hand: Option<f64>,
    /// Forecast outflow, units per hour (none for a feed gap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_per_h: Option<f64>,
    /// Feed gap: seconds since the site's last event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub silent_s: Option<f64>,
    /// What to do about it, in one line.
    pub hint: String,
}

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
    /// Vehicles that got no nearer their goal for the deadlock time.
    pub deadlocks: u64,
    /// Minutes lines stood because transports came late (full outfeeds, empty line side),
    /// summed over lines.
    pub line_minutes_lost: f64,
    /// Per line with logistics.
    pub lines: Vec<LineLogisticsKpis>,
    /// Per stocked material (`[[stock]]`).
    pub stock: Vec<StockKpis>,
    /// Alerts the plant raised (lines starved, transports late, stock running out), in
    /// time order.
    pub alerts: Vec<PlantAlert>,
}

/// KPIs of a stocked material (e.g. preforms in the warehouse).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StockKpis {
    /// Material.
    pub material: String,
    /// Where it is held (location or group).
    pub at: String,
    /// Units on hand at the end.
    pub on_hand: f64,
    /// Units ordered and not yet received at the end.
    pub on_order: f64,
    /// Lowest on hand, units.
    pub least_on_hand: f64,
    /// Time-weighted mean on hand, units.
    pub average_on_hand: f64,
    /// Units taken by the lines' calls.
    pub withdrawn: f64,
    /// Withdrawn over average on hand.
    pub turns: f64,
    /// Lines' calls for a load.
    pub calls: u64,
    /// Share of calls served from stock at once (the fill rate).
    pub fill_rate: f64,
    /// Times a call found too little on hand.
    pub stock_outs: u64,
    /// Minutes with calls waiting for stock.
    pub stock_out_minutes: f64,
    /// Calls still waiting at the end.
    pub calls_waiting_at_end: u64,
    /// Supplier orders placed.
    pub orders_placed: u64,
    /// Units ordered.
    pub units_ordered: f64,
    /// Supplier orders received.
    pub receipts: u64,
}

/// An alert raised by the plant's own model, with the numbers that raised it and a hint.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PlantAlert {
    /// Simulated time, seconds.
    pub at_s: f64,
    /// `line_starved`, `late_transport`, `stock_out` or `projected_stock_out`.
    pub kind: String,
    /// The line concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// The material concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub material: Option<String>,
    /// Where (a stock's place, a task's pickup and drop-off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Units on hand when raised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_hand: Option<f64>,
    /// Forecast withdrawal rate, units per hour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_per_h: Option<f64>,
    /// Seconds until the next supplier receipt, if one is on order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_receipt_in_s: Option<f64>,
    /// What to do about it.
    pub hint: String,
}

/// A line's logistics KPIs.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LineLogisticsKpis {
    /// Line name.
    pub line: String,
    /// Pallets finished.
    pub pallets_made: u64,
    /// Minutes the last station stood because the outfeed was full.
    pub minutes_blocked_by_outfeed: f64,
    /// Minutes stations stood for want of material.
    pub minutes_starved_for_material: f64,
    /// Times a material ran out.
    pub material_stock_outs: u64,
    /// Lowest line-side stock of any material, units.
    pub least_material_stock: Option<f64>,
}

impl LineLogisticsKpis {
    /// Minutes lost to late transports.
    pub fn minutes_lost(&self) -> f64 {
        self.minutes_blocked_by_outfeed + self.minutes_starved_for_material
    }
}

pub(crate) fn measure(
    lines: &[&Line],
    runtimes: &[LineRuntime],
    spec: RunSpec,
    end: SimTime,
) -> RunKpis {
    let measured_s = (spec.horizon.0 - spec.warmup.0.min(spec.horizon.0)) as f64 / 1e9;
    let lines = lines
        .iter()
        .zip(runtimes)
        .map(|(line, rt)| {
            let n = line.stations.len();
            let stations: Vec<StationKpis> = (0..n)
                .map(|i| {
                    let core = rt.core(i);
                    let c = core.measured();
                    let total: f64 = core.times.iter().sum();
                    let frac = |s: StationState| {
                        if total > 0.0 {
                            core.times[s as usize] / total
                        } else {
                            0.0
                        }
                    };
                    StationKpis {
                        name: line.stations[i].name.clone(),
                        kind: line.stations[i].kind,
                        state_fractions: StateFractions {
                            working: frac(StationState::Working),
                            starved: frac(StationState::Starved),
                            blocked: frac(StationState::Blocked),
                            down: frac(StationState::Down),
                            setup: frac(StationState::Setup),
                            micro_stop: frac(StationState::MicroStop),
                            planned_stop: frac(StationState::PlannedStop),
                        },
                        units_in: units(c.taken),
                        units_out: units(c.good),
                        rejects: units(c.rejected),
                        failures: c.failures,
                        micro_stops: c.micro_stops,
                        changeovers: c.setups,
                    }
                })
                .collect();
            let o = line.oee_station;
            let core = rt.core(o);
            let c = core.measured();
            let t = |s: StationState| core.times[s as usize];
            let pbt = measured_s - t(StationState::PlannedStop);
            let operating = pbt - t(StationState::Down) - t(StationState::Setup);
            let processed = units(c.good + c.rejected);
            let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
            let (availability, performance, quality) = (
                ratio(operating, pbt),
                ratio(c.ideal_secs, operating),
                ratio(units(c.good), processed),
            );
            let last = rt.core(n - 1).measured();
            let rejects: f64 = stations.iter().map(|s| s.rejects).sum();
            let (wip_end, wip_mean, time_in_system, arrivals) = match &rt.engine {
                LineEngine::Fluid(f) => (units(f.wip_ticks()), f.wip_mean(end), None, None),
                LineEngine::Discrete(d) => {
                    let ft = d.flow_time();
                    (
                        d.wip_units() as f64,
                        d.wip_mean(end),
                        (ft.count() > 0).then(|| ft.mean()),
                        d.arrivals(),
                    )
                }
            };
            let units_in = match arrivals {
                Some((arrived, lost)) => (arrived - lost) as f64,
                None => stations[0].units_in,
            };
            LineKpis {
                name: line.name.clone(),
                engine: if matches!(rt.engine, LineEngine::Fluid(_)) {
                    "fluid"
                } else {
                    "discrete"
                },
                throughput_per_h: units(last.good) / (measured_s / 3600.0),
                units_in,
                units_out: units(last.good),
                rejects,
                wip_start: rt.wip_at_warmup,
                wip_end,
                wip_mean,
                oee: Oee {
                    station: line.stations[o].name.clone(),
                    availability,
                    performance,
                    quality,
                    oee: availability * performance * quality,
                },
                changeovers: c.setups,
                changeover_time_s: t(StationState::Setup),
                mean_time_in_system_s: time_in_system,
                arrivals: arrivals.map(|a| a.0),
                lost: arrivals.map(|a| a.1),
                blocking_probability: arrivals
                    .map(|(a, l)| if a > 0 { l as f64 / a as f64 } else { 0.0 }),
                stations,
            }
        })
        .collect();
    RunKpis {
        measured_s,
        lines,
        fleet: None,
        feed: None,
        network: None,
    }
}
