//! Replaying an inventory feed through a run: each event applies at its simulated time
//! (its `ts` since the scenario's `run.start`) to the twin's stock positions.
//!
//! Positions the twin simulates itself, the line-side materials of a line with logistics
//! (matched by location name and material name), take cycle counts and adjustments from
//! the feed: a count replaces the twin's figure and the difference is reported as drift.
//! Receipts and consumption there are the twin's own work (deliveries by its fleet, the
//! line's intake), so they are recorded but do not move the twin's stock twice. Every
//! other position follows the feed completely.

use crate::kpi::{FeedKpis, FeedPositionKpis};
use orchestrator::feed::{EventKind, FeedEvent, StockLedger, Timestamp};
use sim::{SimDuration, SimTime};

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

/// A feed ready to replay: events in the order they apply, each at its simulated time.
#[derive(Clone, Debug, Default)]
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

/// What one event does to the twin's own model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ModelEffect {
    /// Nothing: the position is not one the twin simulates, or the twin does this itself.
    None,
    /// Line `line`'s material `material` was counted at this level.
    Counted {
        line: usize,
        material: usize,
        qty: f64,
    },
    /// Line `line`'s material `material` was booked up or down.
    Adjusted {
        line: usize,
        material: usize,
        delta: f64,
    },
}

/// The feed's state during a run (a resource of the plant's world).
#[derive(bevy_ecs::resource::Resource)]
pub struct FeedRuntime {
    plan: FeedPlan,
    /// Per event: the line material it is about, if any.
    targets: Vec<Option<(usize, usize)>>,
    next: usize,
    ledger: StockLedger,
    applied: u64,
    line_side_counts: u64,
    line_side_drift_abs: f64,
    rejected: Vec<(String, String)>,
}

impl FeedRuntime {
    /// The runtime of `plan`; `materials[l]` lists line `l`'s line-side materials as
    /// (material name, location names of its spot).
    pub fn new(plan: FeedPlan, materials: &[Vec<(String, Vec<String>)>]) -> Self {
        let targets = plan
            .events
            .iter()
            .map(|(_, e)| {
                materials.iter().enumerate().find_map(|(l, ms)| {
                    ms.iter()
                        .position(|(name, places)| {
                            **name == *e.material && places.iter().any(|p| **p == *e.location)
                        })
                        .map(|m| (l, m))
                })
            })
            .collect();
        FeedRuntime {
            plan,
            targets,
            next: 0,
            ledger: StockLedger::new(),
            applied: 0,
            line_side_counts: 0,
            line_side_drift_abs: 0.0,
            rejected: Vec::new(),
        }
    }

    /// When the next event applies.
    pub fn next_time(&self) -> Option<SimTime> {
        self.plan.events.get(self.next).map(|(t, _)| *t)
    }

    /// Applies the next event to the positions; returns what it asks of the model.
    pub fn apply_next(&mut self) -> ModelEffect {
        let Some((_, e)) = self.plan.events.get(self.next) else {
            return ModelEffect::None;
        };
        let target = self.targets[self.next];
        self.next += 1;
        if let Err(reason) = self.ledger.apply(e) {
            self.rejected.push((e.event_id.to_string(), reason));
            return ModelEffect::None;
        }
        self.applied += 1;
        match (target, e.kind) {
            (Some((line, material)), EventKind::CycleCount) => ModelEffect::Counted {
                line,
                material,
                qty: e.qty,
            },
            (Some((line, material)), EventKind::Adjustment) => ModelEffect::Adjusted {
                line,
                material,
                delta: e.qty,
            },
            _ => ModelEffect::None,
        }
    }

    /// Books a line-side count's drift (counted minus the twin's figure).
    pub fn counted(&mut self, drift: f64) {
        self.line_side_counts += 1;
        self.line_side_drift_abs += drift.abs();
    }

    /// The feed's KPIs.
    pub fn kpis(&self) -> FeedKpis {
        FeedKpis {
            events_applied: self.applied,
            events_before_start: self.plan.before_start,
            events_after_horizon: self.plan.after_horizon,
            line_side_counts: self.line_side_counts,
            line_side_drift_abs: self.line_side_drift_abs,
            rejected: self.rejected.clone(),
            positions: self
                .ledger
                .positions()
                .map(|((site, location, material), p)| FeedPositionKpis {
                    site: site.to_string(),
                    location: location.to_string(),
                    material: material.to_string(),
                    unit: p.unit.to_string(),
                    on_hand: p.on_hand,
                    counts: p.counts,
                    drift_abs: p.drift_abs,
                    demanded: p.demanded,
                })
                .collect(),
        }
    }
}
