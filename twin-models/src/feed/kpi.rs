//! The KPIs of a feed applied through a run: what was applied and refused, counts and
//! drift, alerts, and every stock position at the end.

use serde::Serialize;

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
    /// Machines that reported their state (`machine_state` events), in order of first
    /// report.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub machines: Vec<MachineKpis>,
    /// Machine states about machines the twin does not have (not applied).
    #[serde(skip_serializing_if = "is_zero")]
    pub machine_states_unmatched: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A machine whose state the plant reports.
#[derive(Clone, Debug, Default, Serialize, PartialEq, serde::Deserialize)]
pub struct MachineKpis {
    /// Line.
    pub line: String,
    /// Station.
    pub station: String,
    /// States reported.
    pub reports: u64,
    /// Stops reported (reports that stopped a machine the twin had running).
    pub stops: u64,
    /// The last state reported (PackML name).
    pub state: Option<String>,
    /// The twin's good units of the machine minus the count it last reported (`None`
    /// without a count).
    pub produced_drift: Option<f64>,
    /// The twin's rejects of the machine minus the count it last reported.
    pub rejected_drift: Option<f64>,
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

/// Feed alerts as a snapshot keeps them: every field, none left out (the JSON form leaves
/// out empty ones, which a binary encoding cannot read back).
pub(crate) mod saved {
    use super::FeedAlert;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(remote = "FeedAlert")]
    struct Every {
        at_s: f64,
        ts: String,
        kind: String,
        site: String,
        location: String,
        material: String,
        on_hand: Option<f64>,
        rate_per_h: Option<f64>,
        silent_s: Option<f64>,
        hint: String,
    }

    struct Ref<'a>(&'a FeedAlert);

    impl Serialize for Ref<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            Every::serialize(self.0, s)
        }
    }

    #[derive(Deserialize)]
    struct Own(#[serde(with = "Every")] FeedAlert);

    pub fn serialize<S: Serializer>(alerts: &[FeedAlert], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(alerts.iter().map(Ref))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<FeedAlert>, D::Error> {
        Ok(Vec::<Own>::deserialize(d)?
            .into_iter()
            .map(|a| a.0)
            .collect())
    }
}
