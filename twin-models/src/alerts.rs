//! The plant's alerts: what its subsystems raise while a run goes (a line starved of
//! material, a transport late, a stock running out), each with the numbers behind it and
//! a hint of what to do, in the order they were raised.

use bevy_ecs::resource::Resource;
use serde::Serialize;

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

/// The alerts raised so far, oldest first (a resource of the plant's world): subsystems
/// raise theirs here, and runs, replays and live twins read them from here.
#[derive(Resource, Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct AlertLog {
    #[serde(with = "saved")]
    alerts: Vec<PlantAlert>,
    /// How many of `alerts` [`AlertLog::take_new`] has handed out.
    taken: usize,
    /// Alerts handed out and then let go (past the first [`KEPT_ALERTS`]).
    omitted: u64,
}

/// Alerts a log keeps for the KPIs once a writer takes them as they come (see
/// [`AlertLog::take_new`]): the first ones, and a count of the rest, so that a long run
/// costs disk, not memory.
pub const KEPT_ALERTS: usize = 1_000;

/// Alerts as a snapshot keeps them: every field, none left out (the JSON form leaves out
/// empty ones, which a binary encoding cannot read back).
mod saved {
    use super::PlantAlert;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(remote = "PlantAlert")]
    struct Every {
        at_s: f64,
        kind: String,
        line: Option<String>,
        material: Option<String>,
        location: Option<String>,
        on_hand: Option<f64>,
        rate_per_h: Option<f64>,
        next_receipt_in_s: Option<f64>,
        hint: String,
    }

    struct Ref<'a>(&'a PlantAlert);

    impl Serialize for Ref<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            Every::serialize(self.0, s)
        }
    }

    #[derive(Deserialize)]
    struct Own(#[serde(with = "Every")] PlantAlert);

    pub fn serialize<S: Serializer>(alerts: &[PlantAlert], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(alerts.iter().map(Ref))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PlantAlert>, D::Error> {
        Ok(Vec::<Own>::deserialize(d)?
            .into_iter()
            .map(|a| a.0)
            .collect())
    }
}

impl AlertLog {
    /// Records `alert` as the newest.
    pub fn raise(&mut self, alert: PlantAlert) {
        self.alerts.push(alert);
    }

    /// Every alert so far, oldest first; once alerts are taken as they come, the first
    /// [`KEPT_ALERTS`] of those taken and every one since.
    pub fn all(&self) -> &[PlantAlert] {
        &self.alerts
    }

    /// The alerts raised since the last call, oldest first, for a writer that keeps them
    /// (a run's `alerts.ndjson`). From the first call on, the log keeps only the first
    /// [`KEPT_ALERTS`] of those it has handed out, and counts the rest
    /// ([`AlertLog::omitted`]).
    pub fn take_new(&mut self) -> Vec<PlantAlert> {
        let new = self.alerts[self.taken.min(self.alerts.len())..].to_vec();
        if self.alerts.len() > KEPT_ALERTS {
            self.omitted += (self.alerts.len() - KEPT_ALERTS) as u64;
            self.alerts.truncate(KEPT_ALERTS);
        }
        self.taken = self.alerts.len();
        new
    }

    /// Alerts handed out by [`AlertLog::take_new`] and no longer kept.
    pub fn omitted(&self) -> u64 {
        self.omitted
    }
}
