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
#[derive(Resource, Clone, Debug, Default)]
pub struct AlertLog {
    alerts: Vec<PlantAlert>,
}

impl AlertLog {
    /// Records `alert` as the newest.
    pub fn raise(&mut self, alert: PlantAlert) {
        self.alerts.push(alert);
    }

    /// Every alert so far, oldest first.
    pub fn all(&self) -> &[PlantAlert] {
        &self.alerts
    }
}
