//! Key performance indicators of a run, assembled from the subsystems' own: the lines'
//! ([`crate::line::kpi`]), the fleet's, the line logistics', the stocked materials', the
//! feed's and the network's, and the plant's alerts.
//!
//! In `kpis.json` (format `twinline-kpis/1`, see `docs/kpis.md`) the fleet's section also
//! holds the logistics of its lines (`fleet.lines`), the stocked materials
//! (`fleet.stock`), the minutes lines lost to late transports (`fleet.line_minutes_lost`)
//! and the plant's alerts (`fleet.alerts`), as the format has always had them.

pub use crate::alerts::PlantAlert;
pub use crate::feed::{FeedAlert, FeedKpis, FeedPositionKpis};
pub use crate::fleet::{FleetKpis, TimeSplit};
pub use crate::line::{LineKpis, Oee, StateFractions, StationKpis};
pub use crate::logistics::LineLogisticsKpis;
pub use crate::network::{LaneKpis, NetworkKpis, RegionKpis, SiteKpis};
pub use crate::stock::StockKpis;
use serde::{Serialize, Serializer};

/// KPIs of one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunKpis {
    /// Measured time (horizon − warm-up), seconds.
    pub measured_s: f64,
    /// Per line.
    pub lines: Vec<LineKpis>,
    /// The AGV fleet, when the plant has one.
    pub fleet: Option<FleetKpis>,
    /// Per line with logistics (an outfeed or materials the fleet serves).
    pub logistics: Vec<LineLogisticsKpis>,
    /// Per stocked material (`[[stock]]`).
    pub stock: Vec<StockKpis>,
    /// Alerts the plant raised (lines starved, transports late, stock running out), in
    /// the order raised; when a run writes them as they come (`alerts.ndjson`), the
    /// first [`crate::alerts::KEPT_ALERTS`] of those written and the ones raised since.
    pub alerts: Vec<PlantAlert>,
    /// Alerts written as they came and not kept in `alerts` (0 unless a run raised more
    /// than [`crate::alerts::KEPT_ALERTS`] while writing them).
    pub alerts_omitted: u64,
    /// The replayed inventory feed, when there is one.
    pub feed: Option<FeedKpis>,
    /// The network of sites, when the scenario has one.
    pub network: Option<NetworkKpis>,
}

impl RunKpis {
    /// Minutes lines stood because transports came late (full outfeeds, empty line side),
    /// summed over lines.
    pub fn line_minutes_lost(&self) -> f64 {
        self.logistics.iter().map(|l| l.minutes_lost()).sum()
    }
}

/// The fleet's section of the document: the fleet's own KPIs with the plant's logistics.
#[derive(Serialize)]
struct FleetSection<'a> {
    #[serde(flatten)]
    fleet: &'a FleetKpis,
    line_minutes_lost: f64,
    lines: &'a [LineLogisticsKpis],
    stock: &'a [StockKpis],
    alerts: &'a [PlantAlert],
    #[serde(skip_serializing_if = "is_zero")]
    alerts_omitted: u64,
}

/// Whether `key` of the KPIs' JSON form is bookkeeping, not a KPI (how many alerts a run
/// wrote and did not keep): left out of summaries, sweeps and comparisons.
pub fn is_bookkeeping(key: &str) -> bool {
    key == "alerts_omitted"
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct Document<'a> {
    measured_s: f64,
    lines: &'a [LineKpis],
    #[serde(skip_serializing_if = "Option::is_none")]
    fleet: Option<FleetSection<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    feed: Option<&'a FeedKpis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<&'a NetworkKpis>,
}

impl Serialize for RunKpis {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Document {
            measured_s: self.measured_s,
            lines: &self.lines,
            fleet: self.fleet.as_ref().map(|fleet| FleetSection {
                fleet,
                line_minutes_lost: self.line_minutes_lost(),
                lines: &self.logistics,
                stock: &self.stock,
                alerts: &self.alerts,
                alerts_omitted: self.alerts_omitted,
            }),
            feed: self.feed.as_ref(),
            network: self.network.as_ref(),
        }
        .serialize(serializer)
    }
}
