//! Stock positions kept from feed events: on hand per site, location and material, with
//! cycle counts reconciling the book figure and reporting the drift.

use super::event::{EventKind, FeedEvent, Timestamp};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where stock is: (site, location, material).
pub type PositionKey = (Arc<str>, Arc<str>, Arc<str>);

/// One stock position.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Position {
    /// On hand now, in `unit`.
    pub on_hand: f64,
    /// Unit of every quantity here.
    pub unit: Arc<str>,
    /// The latest cycle count applied: its key (time, id).
    pub last_count: Option<(Timestamp, Arc<str>)>,
    /// Cycle counts applied.
    pub counts: u64,
    /// Sum of |counted − book| over the counts.
    pub drift_abs: f64,
    /// Counted − book at the latest count.
    pub last_drift: f64,
    /// Demand recorded here (not yet a change to stock).
    pub demanded: f64,
}

/// What applying an event did.
#[derive(Clone, Debug, PartialEq)]
pub enum Applied {
    /// On hand changed by this much.
    Changed(f64),
    /// A cycle count set on hand; `drift` = counted − book before it.
    Counted {
        /// Counted minus the book figure.
        drift: f64,
    },
    /// Demand recorded.
    Demand,
    /// A late event older than the position's last cycle count: the count already saw its
    /// effect, so on hand stays (the count's drift is corrected instead).
    Superseded,
}

/// All stock positions of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StockLedger {
    positions: BTreeMap<PositionKey, Position>,
}

impl StockLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `event`; an event in another unit than the position's is refused.
    pub fn apply(&mut self, event: &FeedEvent) -> Result<Applied, String> {
        let key = (
            event.site.clone(),
            event.location.clone(),
            event.material.clone(),
        );
        let pos = self.positions.entry(key).or_insert_with(|| Position {
            unit: event.unit.clone(),
            ..Position::default()
        });
        if pos.unit != event.unit {
            return Err(format!(
                "`unit`: `{}` differs from `{}` used before for {} at {} ({})",
                event.unit, pos.unit, event.material, event.location, event.site
            ));
        }
        let older_than_count = pos
            .last_count
            .as_ref()
            .is_some_and(|(t, id)| (event.ts, &*event.event_id) < (*t, &**id));
        Ok(match event.kind {
            EventKind::Demand => {
                pos.demanded += event.qty;
                Applied::Demand
            }
            EventKind::CycleCount if older_than_count => Applied::Superseded,
            EventKind::CycleCount => {
                let drift = event.qty - pos.on_hand;
                pos.on_hand = event.qty;
                pos.last_count = Some((event.ts, event.event_id.clone()));
                pos.counts += 1;
                pos.drift_abs += drift.abs();
                pos.last_drift = drift;
                Applied::Counted { drift }
            }
            kind => {
                let delta = kind.delta(event.qty).expect("moving kinds have a delta");
                if older_than_count {
                    // Had it come in time, the book before the latest count would have held
                    // it (corrected against that count, the one that matters now).
                    pos.drift_abs -= pos.last_drift.abs();
                    pos.last_drift -= delta;
                    pos.drift_abs += pos.last_drift.abs();
                    Applied::Superseded
                } else {
                    pos.on_hand += delta;
                    Applied::Changed(delta)
                }
            }
        })
    }

    /// The position at (site, location, material).
    pub fn position(&self, site: &str, location: &str, material: &str) -> Option<&Position> {
        self.positions
            .get(&(Arc::from(site), Arc::from(location), Arc::from(material)))
    }

    /// All positions, in key order.
    pub fn positions(&self) -> impl Iterator<Item = (&PositionKey, &Position)> {
        self.positions.iter()
    }
}
