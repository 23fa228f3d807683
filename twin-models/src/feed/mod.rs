//! The feed subsystem: an inventory feed applied through a run (replayed from files, or
//! live), each event at its simulated time (its `ts` since the scenario's `run.start`) to
//! the twin's stock positions.
//!
//! Positions the twin simulates itself, the line-side materials of a line with logistics
//! and the stocks of `[[stock]]` (matched by location name and material name), take cycle
//! counts and adjustments from the feed: a count replaces the twin's figure and the
//! difference is reported as drift. Receipts and consumption there are the twin's own work
//! (deliveries by its fleet, the line's intake, supplier orders), so they are recorded but
//! do not move the twin's stock twice. Every
//! other position follows the feed completely; for those the run keeps stock-outs, the
//! time-weighted stock and turns, forecasts the outflow by exponential smoothing, and
//! raises alerts (projected stock-out within [`ALERT_WITHIN`], stock-out).

//!
//! [`FeedRuntime`] is a resource of the plant's world. It decides what each event does to
//! the twin's own model ([`ModelEffect`]); the plant applies that to the subsystem the
//! position belongs to.

pub mod kpi;

pub use kpi::MachineKpis;

use crate::scenario::Scenario;
use feeds::{EventKind, FeedEvent, PositionKey, StockLedger, Timestamp};
pub use kpi::{FeedAlert, FeedKpis, FeedPositionKpis};
use orchestrator::replenish::ConsumptionForecast;
use sim::{Calendar, Level, SimDuration, SimTime, Spells};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Warn when a position's stock would run out within this long at its current rate.
pub const ALERT_WITHIN: SimDuration = SimDuration(4 * 3600 * 1_000_000_000);

/// A site whose feed is silent this long raises a `feed_gap` alert (by default).
pub const GAP_ALERT: SimDuration = SimDuration(6 * 3600 * 1_000_000_000);

/// Weight of the newest hour in a position's consumption forecast.
const FORECAST_ALPHA: f64 = 0.3;

/// The forecast takes outflow in whole buckets of this many seconds: events of several
/// senders come in bursts, and the gap between two of them says nothing of the rate.
const BUCKET_S: u64 = 3600;

/// A position's stock over simulated time (positions the feed drives alone).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct PositionClock {
    /// On hand as the feed books it (below zero when the books are short).
    on_hand: f64,
    /// On hand floored at zero over time, since the feed first touched the position.
    stock: Level,
    /// Spells with nothing on hand (stock-outs).
    out: Spells,
    outflow: f64,
    forecast: ConsumptionForecast,
    /// The bucket being filled (index from time 0) and its outflow so far.
    bucket: (u64, f64),
    warned: bool,
}

impl PositionClock {
    fn new(now: SimTime) -> Self {
        PositionClock {
            on_hand: 0.0,
            stock: Level::new(now, 0.0),
            out: Spells::new(),
            outflow: 0.0,
            forecast: ConsumptionForecast::new(FORECAST_ALPHA),
            bucket: (now.0 / (BUCKET_S * 1_000_000_000), 0.0),
            warned: false,
        }
    }
}

/// Why a feed cannot be replayed through a scenario.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The scenario does not say what real time simulated time 0 is.
    #[error(
        "the scenario has no `run.start`: replaying a feed needs the real time that simulated time 0 stands for (e.g. start = \"2026-11-23T06:00:00Z\")"
    )]
    NoStart,
}

/// The feed's event: its next events are due. Stale unless it is the wake-up booked
/// ([`FeedRuntime::woken`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeedDue;

/// A feed ready to replay: events in the order they apply, each at its simulated time.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FeedPlan {
    /// (simulated time, event), in (`ts`, `event_id`) order.
    pub events: Vec<(SimTime, FeedEvent)>,
    /// Events dated before `run.start` (they apply at time 0, as the opening state).
    pub before_start: u64,
    /// Events dated after the horizon (not applied).
    pub after_horizon: u64,
}

/// Places `events` (already in application order) on the scenario's clock.
pub fn plan_feed(
    start: Option<Timestamp>,
    horizon: SimDuration,
    events: Vec<FeedEvent>,
) -> Result<FeedPlan, ReplayError> {
    let start = start.ok_or(ReplayError::NoStart)?;
    let mut plan = FeedPlan::default();
    for e in events {
        let since = e.ts.0.saturating_sub(start.0);
        if since < 0 {
            plan.before_start += 1;
            plan.events.push((SimTime::ZERO, e));
        } else if since as u64 >= horizon.0 {
            plan.after_horizon += 1;
        } else {
            plan.events.push((SimTime(since as u64), e));
        }
    }
    Ok(plan)
}

/// A position the twin simulates itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Target {
    /// Line `line`'s line-side material `material`.
    Line { line: usize, material: usize },
    /// Stock `k` of the fleet's `[[stock]]`.
    Stock(usize),
    /// Site `k` of the network (its finished goods).
    Site(usize),
    /// Station `station` of line `line` (a machine's state).
    Machine { line: usize, station: usize },
}

/// The positions the twin simulates, by material name and the location names a feed may
/// use for them.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct TwinPositions {
    /// Per line, its line-side materials.
    pub lines: Vec<Vec<(String, Vec<String>)>>,
    /// The stocked materials, in `[[stock]]` order.
    pub stock: Vec<(String, Vec<String>)>,
    /// The network's sites as (site name, product): any location of the site.
    pub sites: Vec<(String, String)>,
    /// Per line, its name and its stations' (for machine states).
    pub machines: Vec<(String, Vec<String>)>,
}

impl TwinPositions {
    /// The positions `scenario` simulates, with the location names feed events may use
    /// for them: each line's line-side materials (the locations at its spot), each stock
    /// (its place's name and, for a group, the names of the locations in it), and each
    /// network site's finished goods.
    pub fn of(scenario: &Scenario) -> TwinPositions {
        let sites = scenario.network.as_ref().map_or(Vec::new(), |n| {
            n.sites
                .iter()
                .map(|s| (s.name.clone(), s.product.clone()))
                .collect()
        });
        let machines = scenario
            .lines
            .iter()
            .map(|l| {
                let stations = l.stations.iter().map(|s| s.name.clone()).collect();
                (l.name.clone(), stations)
            })
            .collect();
        let Some(fleet) = &scenario.fleet else {
            return TwinPositions {
                lines: scenario.lines.iter().map(|_| Vec::new()).collect(),
                stock: Vec::new(),
                sites,
                machines,
            };
        };
        let names_at = |spots: &[u32]| -> Vec<String> {
            fleet
                .layout
                .names()
                .iter()
                .filter(|(_, spot)| spots.contains(spot))
                .map(|(name, _)| name.clone())
                .collect()
        };
        TwinPositions {
            lines: scenario
                .lines
                .iter()
                .map(|line| {
                    line.materials
                        .iter()
                        .map(|m| (m.name.clone(), names_at(&[m.spot])))
                        .collect()
                })
                .collect(),
            stock: scenario
                .stock
                .iter()
                .map(|s| {
                    let mut places = vec![s.at.clone()];
                    if let Some(spots) = fleet.groups.get(&s.at) {
                        places.extend(names_at(spots));
                    }
                    (s.material.clone(), places)
                })
                .collect(),
            sites,
            machines,
        }
    }

    /// The position event `e` is about, if the twin simulates it.
    fn target_of(&self, e: &FeedEvent) -> Option<Target> {
        if let Some(m) = e.machine() {
            return self
                .machines
                .iter()
                .enumerate()
                .find_map(|(line, (name, stations))| {
                    (**name == *m.line)
                        .then(|| stations.iter().position(|s| **s == *m.station))
                        .flatten()
                        .map(|station| Target::Machine { line, station })
                });
        }
        let matches = |(name, places): &(String, Vec<String>)| {
            **name == *e.material && places.iter().any(|p| **p == *e.location)
        };
        self.lines
            .iter()
            .enumerate()
            .find_map(|(line, ms)| {
                ms.iter()
                    .position(matches)
                    .map(|material| Target::Line { line, material })
            })
            .or_else(|| self.stock.iter().position(matches).map(Target::Stock))
            .or_else(|| {
                self.sites
                    .iter()
                    .position(|(site, product)| **site == *e.site && **product == *e.material)
                    .map(Target::Site)
            })
    }
}

/// What one event does to the twin's own model.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ModelEffect {
    /// Nothing: the position is not one the twin simulates, or the twin does this itself.
    None,
    /// The position was counted at this level.
    Counted { target: Target, qty: f64 },
    /// The position was booked up or down.
    Adjusted { target: Target, delta: f64 },
    /// A supplier delivery reached a stock (stocks fed by the feed take their receipts
    /// from it).
    Received { stock: usize, qty: f64 },
    /// A customer order of `qty` due at `due` reached network site `site`.
    SiteOrder { site: usize, qty: f64, due: SimTime },
    /// Machine `station` of line `line` reported a state since `since`: producing or
    /// stopped (with the stop's expected length, seconds, if given). The twin's counters
    /// of it go back to the feed through [`FeedRuntime::machine_counted`].
    Machine {
        line: usize,
        station: usize,
        producing: bool,
        repair_s: Option<f64>,
        since: SimTime,
    },
}

/// The feed's state during a run (a resource of the plant's world).
#[derive(bevy_ecs::resource::Resource, serde::Serialize, serde::Deserialize)]
pub struct FeedRuntime {
    plan: FeedPlan,
    /// The positions the twin simulates, to match events.
    positions: TwinPositions,
    /// The real time of simulated time 0, if known (for due times).
    pub start: Option<Timestamp>,
    /// A site silent this long raises a `feed_gap` alert.
    pub gap_alert: SimDuration,
    /// Per site: when its last event applied, and whether its silence has been reported.
    heard: BTreeMap<Arc<str>, (SimTime, bool)>,
    /// When the calendar holds the feed's next wake-up; a wake-up at any other time is
    /// stale (events offered since moved it earlier).
    wake: Option<SimTime>,
    /// Per event: the twin's position it is about, if any.
    targets: Vec<Option<Target>>,
    next: usize,
    ledger: StockLedger,
    applied: u64,
    line_side_counts: u64,
    line_side_drift_abs: f64,
    stock_counts: u64,
    stock_drift_abs: f64,
    rejected: Vec<(String, String)>,
    clocks: BTreeMap<PositionKey, PositionClock>,
    #[serde(with = "kpi::saved")]
    alerts: Vec<FeedAlert>,
    /// Machines that reported their state, by (line, station), in order of first report.
    machines: Vec<((usize, usize), MachineKpis)>,
    /// Machine states about machines the twin does not have.
    machines_unmatched: u64,
    /// The report of the machine state being applied (its counters wait for the twin's).
    pending_report: Option<feeds::MachineReport>,
}

impl FeedRuntime {
    /// The runtime of `plan` over the twin's `positions`.
    pub fn new(plan: FeedPlan, positions: TwinPositions) -> Self {
        let targets = plan
            .events
            .iter()
            .map(|(_, e)| positions.target_of(e))
            .collect();
        FeedRuntime {
            plan,
            positions,
            start: None,
            gap_alert: GAP_ALERT,
            heard: BTreeMap::new(),
            wake: None,
            targets,
            next: 0,
            ledger: StockLedger::new(),
            applied: 0,
            line_side_counts: 0,
            line_side_drift_abs: 0.0,
            stock_counts: 0,
            stock_drift_abs: 0.0,
            rejected: Vec::new(),
            clocks: BTreeMap::new(),
            alerts: Vec::new(),
            machines: Vec::new(),
            machines_unmatched: 0,
            pending_report: None,
        }
    }

    /// When the next event applies.
    pub fn next_time(&self) -> Option<SimTime> {
        self.plan.events.get(self.next).map(|(t, _)| *t)
    }

    /// Adds event `e` to apply at `at` (no earlier than the events already applied), after
    /// the pending events of the same time.
    pub fn push(&mut self, at: SimTime, e: FeedEvent) {
        let pending = &self.plan.events[self.next..];
        let i = self.next + pending.partition_point(|(t, _)| *t <= at);
        self.targets.insert(i, self.positions.target_of(&e));
        self.plan.events.insert(i, (at, e));
    }

    /// Counts an event dated past the horizon (not applied).
    pub fn beyond_horizon(&mut self) {
        self.plan.after_horizon += 1;
    }

    /// Counts an event dated before simulated time 0 (applied as the opening state).
    pub fn before_start(&mut self) {
        self.plan.before_start += 1;
    }

    /// The wake-up to put on the calendar, if the next event is earlier than the one there
    /// (or none is there); books it as the one there.
    fn wake_for_next(&mut self) -> Option<SimTime> {
        let next = self.next_time()?;
        if self.wake.is_some_and(|w| w <= next) {
            return None;
        }
        self.wake = Some(next);
        Some(next)
    }

    /// Puts the feed's next wake-up on `cal` when its next event comes before `horizon`
    /// and earlier than the wake-up already there.
    pub fn wake(&mut self, horizon: SimTime, cal: &mut impl Calendar<FeedDue>) {
        if self.next_time().is_some_and(|t| t < horizon)
            && let Some(t) = self.wake_for_next()
        {
            cal.at(t, FeedDue);
        }
    }

    /// Whether a wake-up at `now` is the one booked (and unbooks it); false for a stale one.
    pub fn woken(&mut self, now: SimTime) -> bool {
        if self.wake == Some(now) {
            self.wake = None;
            true
        } else {
            false
        }
    }

    /// Whether any event planned so far is about `target`.
    pub fn addresses(&self, target: Target) -> bool {
        self.targets.contains(&Some(target))
    }

    /// Alerts raised so far, oldest first.
    pub fn alerts(&self) -> &[FeedAlert] {
        &self.alerts
    }

    /// Raises `feed_gap` for every site whose feed has been silent for the gap time at
    /// `now` (once per silence). Called when the feed wakes, before the events due then
    /// apply, and whenever a live twin's clock moves.
    pub fn watch_gaps(&mut self, now: SimTime) {
        for (site, (last, told)) in &mut self.heard {
            let silent = now.since(*last);
            if *told || silent <= self.gap_alert {
                continue;
            }
            *told = true;
            self.alerts.push(FeedAlert {
                at_s: now.as_secs_f64(),
                ts: self
                    .start
                    .map(|s| Timestamp(s.0 + now.0 as i64).to_string())
                    .unwrap_or_default(),
                kind: "feed_gap".into(),
                site: site.to_string(),
                location: String::new(),
                material: String::new(),
                on_hand: None,
                rate_per_h: None,
                silent_s: Some(silent.as_secs_f64()),
                hint: format!(
                    "no event from {site} for {:.1} h: check its senders and the connection; its stock figures are going stale",
                    silent.as_secs_f64() / 3600.0
                ),
            });
        }
    }

    /// Applies the next event to the positions; returns what it asks of the model.
    pub fn apply_next(&mut self) -> ModelEffect {
        let Some((at, e)) = self.plan.events.get(self.next) else {
            return ModelEffect::None;
        };
        let at = *at;
        // Shared text: a cheap copy.
        let e = e.clone();
        self.heard.insert(e.site.clone(), (at, false));
        let target = self.targets[self.next];
        self.next += 1;
        if let Some(report) = e.machine().cloned() {
            // Since its time stamp: an event applied late (live) began before now.
            let since = match self.start {
                Some(s) => SimTime(e.ts.0.saturating_sub(s.0).max(0) as u64).min(at),
                None => at,
            };
            return self.machine_event(since, target, report);
        }
        if let Err(reason) = self.ledger.apply(&e) {
            self.rejected.push((e.event_id.to_string(), reason));
            return ModelEffect::None;
        }
        self.applied += 1;
        if target.is_none() {
            self.track(&e);
        }
        match (target, e.kind) {
            (Some(Target::Stock(stock)), EventKind::Receipt) => {
                ModelEffect::Received { stock, qty: e.qty }
            }
            (Some(Target::Site(site)), EventKind::Demand) => {
                let due = e.due().unwrap_or(e.ts);
                let due = match self.start {
                    Some(s) => SimTime(due.0.saturating_sub(s.0).max(0) as u64),
                    None => SimTime::ZERO,
                };
                ModelEffect::SiteOrder {
                    site,
                    qty: e.qty,
                    due,
                }
            }
            (Some(target), EventKind::CycleCount) => ModelEffect::Counted { target, qty: e.qty },
            (Some(target), EventKind::Adjustment) => ModelEffect::Adjusted {
                target,
                delta: e.qty,
            },
            _ => ModelEffect::None,
        }
    }

    /// A machine state reported for `target` at `since` (simulated time of its `ts`).
    fn machine_event(
        &mut self,
        since: SimTime,
        target: Option<Target>,
        report: feeds::MachineReport,
    ) -> ModelEffect {
        let Some(Target::Machine { line, station }) = target else {
            self.machines_unmatched += 1;
            return ModelEffect::None;
        };
        self.applied += 1;
        let effect = ModelEffect::Machine {
            line,
            station,
            producing: report.state.producing(),
            repair_s: report.repair_s,
            since,
        };
        self.pending_report = Some(report);
        effect
    }

    /// Books the machine state just applied to machine `(line, station)`: whether it began
    /// a stop there, and the twin's counts of the machine then (whole units, since time 0),
    /// for the drift of the counters it reported.
    pub fn machine_counted(
        &mut self,
        (line, station): (usize, usize),
        stop_began: bool,
        good: u64,
        rejected: u64,
    ) {
        let Some(report) = self.pending_report.take() else {
            return;
        };
        let k = match self.machines.iter().position(|m| m.0 == (line, station)) {
            Some(k) => k,
            None => {
                let (name, stations) = &self.positions.machines[line];
                let kpis = MachineKpis {
                    line: name.clone(),
                    station: stations[station].clone(),
                    ..MachineKpis::default()
                };
                self.machines.push(((line, station), kpis));
                self.machines.len() - 1
            }
        };
        let m = &mut self.machines[k].1;
        m.reports += 1;
        m.stops += u64::from(stop_began);
        m.state = Some(report.state.name().to_string());
        if let Some(p) = report.produced {
            m.produced_drift = Some(good as f64 - p);
        }
        if let Some(r) = report.rejected {
            m.rejected_drift = Some(rejected as f64 - r);
        }
    }

    /// Books a count's drift (counted minus the twin's figure) at `target`.
    pub fn counted(&mut self, target: Target, drift: f64) {
        match target {
            Target::Line { .. } => {
                self.line_side_counts += 1;
                self.line_side_drift_abs += drift.abs();
            }
            Target::Stock(_) | Target::Site(_) => {
                self.stock_counts += 1;
                self.stock_drift_abs += drift.abs();
            }
            Target::Machine { .. } => {}
        }
    }

    /// Follows a position the feed drives alone through event `e` (already booked):
    /// stock-outs, time-weighted stock, outflow, and alerts.
    fn track(&mut self, e: &FeedEvent) {
        let now = self
            .plan
            .events
            .get(self.next - 1)
            .map_or(SimTime::ZERO, |(t, _)| *t);
        let key = (e.site.clone(), e.location.clone(), e.material.clone());
        let Some(pos) = self.ledger.position(&e.site, &e.location, &e.material) else {
            return;
        };
        let level = pos.on_hand;
        let clock = self
            .clocks
            .entry(key)
            .or_insert_with(|| PositionClock::new(now));
        if matches!(e.kind, EventKind::Consumption | EventKind::Shipment) {
            clock.outflow += e.qty;
            // Close the buckets that are over (empty ones count as hours without outflow).
            let index = now.0 / (BUCKET_S * 1_000_000_000);
            while clock.bucket.0 < index {
                clock.forecast.observe(clock.bucket.1, BUCKET_S as f64);
                clock.bucket = (clock.bucket.0 + 1, 0.0);
            }
            clock.bucket.1 += e.qty;
        }
        let was = clock.on_hand;
        clock.on_hand = level;
        clock.stock.set(now, level.max(0.0));
        let alert = |kind: &str, hint: String, rate: f64| FeedAlert {
            at_s: now.as_secs_f64(),
            ts: e.ts.to_string(),
            kind: kind.to_string(),
            site: e.site.to_string(),
            location: e.location.to_string(),
            material: e.material.to_string(),
            on_hand: Some(level),
            rate_per_h: Some(rate * 3600.0),
            silent_s: None,
            hint,
        };
        let rate = clock.forecast.rate.unwrap_or(0.0);
        if was > 0.0 && level <= 0.0 {
            clock.out.set(true, now);
            self.alerts.push(alert(
                "stock_out",
                format!(
                    "{} at {} is out: receive or move stock there before it is needed",
                    e.material, e.location
                ),
                rate,
            ));
        } else if was <= 0.0 && level > 0.0 {
            clock.out.set(false, now);
        }
        let within = ALERT_WITHIN.as_secs_f64();
        if level > 0.0 && rate > 0.0 {
            let left_s = level / rate;
            if left_s < within && !clock.warned {
                clock.warned = true;
                self.alerts.push(alert(
                    "projected_stock_out",
                    format!(
                        "at {:.0} {}/h, {} at {} runs out in {:.1} h: order now or bring the next receipt forward",
                        rate * 3600.0,
                        e.unit,
                        e.material,
                        e.location,
                        left_s / 3600.0
                    ),
                    rate,
                ));
            } else if left_s >= 2.0 * within {
                clock.warned = false;
            }
        }
    }

    /// The feed's KPIs at `end`.
    pub fn kpis(&self, end: SimTime) -> FeedKpis {
        FeedKpis {
            events_applied: self.applied,
            events_before_start: self.plan.before_start,
            events_after_horizon: self.plan.after_horizon,
            line_side_counts: self.line_side_counts,
            line_side_drift_abs: self.line_side_drift_abs,
            stock_counts: self.stock_counts,
            stock_drift_abs: self.stock_drift_abs,
            rejected: self.rejected.clone(),
            positions: self
                .ledger
                .positions()
                .map(|(key, p)| {
                    let (site, location, material) = key;
                    let clock = self.clocks.get(key);
                    let (stock_outs, out_min, average, turns) = match clock {
                        Some(c) => {
                            let average = c.stock.mean(end);
                            let turns = if average > 0.0 {
                                c.outflow / average
                            } else {
                                0.0
                            };
                            (
                                c.out.count(),
                                c.out.total_s(end) / 60.0,
                                Some(average),
                                Some(turns),
                            )
                        }
                        None => (0, 0.0, None, None),
                    };
                    FeedPositionKpis {
                        site: site.to_string(),
                        location: location.to_string(),
                        material: material.to_string(),
                        unit: p.unit.to_string(),
                        on_hand: p.on_hand,
                        counts: p.counts,
                        drift_abs: p.drift_abs,
                        demanded: p.demanded,
                        stock_outs,
                        stock_out_minutes: out_min,
                        average_on_hand: average,
                        turns,
                        demands: p.demands,
                        fill_rate: p.fill_rate(),
                        otif: self
                            .start
                            .and_then(|s| p.otif(Timestamp(s.0 + end.0 as i64))),
                        open_orders: p.open.len() as u64,
                    }
                })
                .collect(),
            alerts: self.alerts.clone(),
            machines: self.machines.iter().map(|(_, m)| m.clone()).collect(),
            machine_states_unmatched: self.machines_unmatched,
        }
    }
}
