//! Stock positions kept from feed events: on hand per site, location and material, with
//! cycle counts reconciling the book figure and reporting the drift, and the service of
//! demand: the fill rate (demand on hand when it came) and OTIF (orders shipped in full by
//! their due time).

use super::event::{EventKind, FeedEvent, Timestamp};
use foldhash::fast::FixedState;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Where stock is: (site, location, material).
pub type PositionKey = (Arc<str>, Arc<str>, Arc<str>);

/// One stock position.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// Demand events (orders) recorded.
    pub demands: u64,
    /// Of the demanded units, those on hand when the demand came (net of open demand
    /// before it).
    pub filled_from_stock: f64,
    /// Orders shipped in full, and of those, by their due time.
    pub shipped_in_full: u64,
    pub on_time_in_full: u64,
    /// Orders not yet shipped in full, oldest first.
    pub open: VecDeque<OpenOrder>,
}

/// A customer order not yet shipped in full.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpenOrder {
    /// Its reference.
    pub order: Arc<str>,
    /// Units still to ship.
    pub left: f64,
    /// When it is due.
    pub due: Timestamp,
}

impl Position {
    /// Share of demanded units on hand when demanded; `None` without demand.
    pub fn fill_rate(&self) -> Option<f64> {
        (self.demanded > 0.0).then(|| self.filled_from_stock / self.demanded)
    }

    /// On time in full: orders shipped in full by their due time, over orders shipped in
    /// full plus orders still open and due by `now`; `None` if none is due yet.
    pub fn otif(&self, now: Timestamp) -> Option<f64> {
        let overdue = self.open.iter().filter(|o| o.due <= now).count() as u64;
        let due = self.shipped_in_full + overdue;
        (due > 0).then(|| self.on_time_in_full as f64 / due as f64)
    }

    fn demand(&mut self, e: &FeedEvent) {
        let backlog: f64 = self.open.iter().map(|o| o.left).sum();
        self.filled_from_stock += e.qty.min((self.on_hand - backlog).max(0.0));
        self.demanded += e.qty;
        self.demands += 1;
        self.open.push_back(OpenOrder {
            order: e.order().cloned().unwrap_or_else(|| e.event_id.clone()),
            left: e.qty,
            due: e.due().unwrap_or(e.ts),
        });
    }

    /// Books a shipment against its order, or the oldest open ones.
    fn ship(&mut self, e: &FeedEvent) {
        let mut qty = e.qty;
        let named = e
            .order()
            .and_then(|o| self.open.iter().position(|x| x.order == *o));
        if let Some(i) = named {
            qty = self.serve(i, qty, e.ts);
        }
        // What is left (or a shipment naming no open order) serves the oldest first.
        while qty > 1e-9 && !self.open.is_empty() {
            qty = self.serve(0, qty, e.ts);
        }
    }

    /// Ships up to `qty` of open order `i` at `ts`; returns what is left of `qty`.
    fn serve(&mut self, i: usize, qty: f64, ts: Timestamp) -> f64 {
        let o = &mut self.open[i];
        let used = qty.min(o.left);
        o.left -= used;
        if o.left <= 1e-9 {
            let o = self.open.remove(i).expect("index found just now");
            self.shipped_in_full += 1;
            if ts <= o.due {
                self.on_time_in_full += 1;
            }
        }
        qty - used
    }
}

/// What applying an event did.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct StockLedger {
    /// The positions, in the order they first appeared.
    positions: Vec<Position>,
    /// Each key's place in `positions`, found from an event's text alone: no shared
    /// string is cloned or dropped to look a position up. Looked up only, never iterated.
    index: hashbrown::HashMap<PositionKey, usize, FixedState>,
    /// The keys in order, for reports.
    order: BTreeMap<PositionKey, usize>,
}

impl PartialEq for StockLedger {
    /// The same positions with the same figures (whatever order they appeared in).
    fn eq(&self, other: &Self) -> bool {
        self.positions().eq(other.positions())
    }
}

/// A position's key as borrowed text, to look it up by.
#[derive(Hash, serde::Serialize, serde::Deserialize)]
struct KeyText<'a>(&'a str, &'a str, &'a str);

impl hashbrown::Equivalent<PositionKey> for KeyText<'_> {
    fn equivalent(&self, key: &PositionKey) -> bool {
        (self.0, self.1, self.2) == (&*key.0, &*key.1, &*key.2)
    }
}

impl StockLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `event`; an event in another unit than the position's is refused.
    pub fn apply(&mut self, event: &FeedEvent) -> Result<Applied, String> {
        let text = KeyText(&event.site, &event.location, &event.material);
        let at = match self.index.get(&text) {
            Some(&at) => at,
            None => {
                let key = (
                    event.site.clone(),
                    event.location.clone(),
                    event.material.clone(),
                );
                let at = self.positions.len();
                self.positions.push(Position {
                    unit: event.unit.clone(),
                    ..Position::default()
                });
                self.index.insert(key.clone(), at);
                self.order.insert(key, at);
                at
            }
        };
        let pos = &mut self.positions[at];
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
                pos.demand(event);
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
                let applied = if older_than_count {
                    // Had it come in time, the book before the latest count would have held
                    // it (corrected against that count, the one that matters now).
                    pos.drift_abs -= pos.last_drift.abs();
                    pos.last_drift -= delta;
                    pos.drift_abs += pos.last_drift.abs();
                    Applied::Superseded
                } else {
                    pos.on_hand += delta;
                    Applied::Changed(delta)
                };
                // A shipment serves its order whether or not a count saw it already.
                if kind == EventKind::Shipment {
                    pos.ship(event);
                }
                applied
            }
        })
    }

    /// The position at (site, location, material).
    pub fn position(&self, site: &str, location: &str, material: &str) -> Option<&Position> {
        let at = *self.index.get(&KeyText(site, location, material))?;
        Some(&self.positions[at])
    }

    /// All positions, in key order.
    pub fn positions(&self) -> impl Iterator<Item = (&PositionKey, &Position)> {
        self.order.iter().map(|(k, &at)| (k, &self.positions[at]))
    }
}
