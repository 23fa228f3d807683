//! One inventory feed event and its parts.

use std::fmt;
use std::sync::Arc;

/// An instant, nanoseconds since 1970-01-01T00:00:00Z (UTC).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Parses RFC 3339 (`2026-11-23T06:00:00Z`, `2026-11-23T07:00:00.250+01:00`).
    pub fn parse(text: &str) -> Result<Timestamp, String> {
        if let Some(nanos) = super::rfc3339::read(text) {
            return Ok(Timestamp(nanos));
        }
        // RFC 3339 joins date and time with `T` (or `t`); the `time` crate takes any
        // character there.
        if let Some(&sep) = text.as_bytes().get(10)
            && !matches!(sep, b'T' | b't')
        {
            return Err(format!(
                "`{text}` is not an RFC 3339 time: the date and the time must be joined by `T`"
            ));
        }
        let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map_err(|e| format!("`{text}` is not an RFC 3339 time ({e})"))?;
        i64::try_from(t.unix_timestamp_nanos())
            .map(Timestamp)
            .map_err(|_| format!("`{text}` is outside the years 1677–2262"))
    }

    /// Seconds from `earlier` to `self`.
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0) as f64 / 1e9
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128)
            .map_err(|_| fmt::Error)?;
        let text = t
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

/// The value named `name` in a table of names.
fn by_name<T: Copy>(names: &[(&'static str, T)], name: &str) -> Option<T> {
    names.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// The name of `value` in a table of names.
fn name_of<T: PartialEq>(names: &[(&'static str, T)], value: T) -> &'static str {
    names
        .iter()
        .find(|(_, v)| *v == value)
        .map_or("?", |(n, _)| n)
}

/// What an event says happened.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum EventKind {
    /// Goods received (quantity added).
    Receipt,
    /// Goods used up, e.g. by a line (quantity taken).
    Consumption,
    /// A booking correction (signed quantity added).
    Adjustment,
    /// A physical count: the quantity on hand, which replaces the book figure.
    CycleCount,
    /// An order or demand to be served (no change to stock until shipped).
    Demand,
    /// Goods shipped out (quantity taken).
    Shipment,
    /// A machine's state (and counters) as the plant reports it: see [`MachineReport`].
    MachineState,
}

impl EventKind {
    /// All kinds, with their names in feeds.
    pub const NAMES: [(&'static str, EventKind); 7] = [
        ("receipt", EventKind::Receipt),
        ("consumption", EventKind::Consumption),
        ("adjustment", EventKind::Adjustment),
        ("cycle_count", EventKind::CycleCount),
        ("demand", EventKind::Demand),
        ("shipment", EventKind::Shipment),
        ("machine_state", EventKind::MachineState),
    ];

    /// The kind named `name` in a feed.
    pub fn from_name(name: &str) -> Option<EventKind> {
        by_name(&Self::NAMES, name)
    }

    /// Its name in feeds.
    pub fn name(self) -> &'static str {
        name_of(&Self::NAMES, self)
    }

    /// The change to stock on hand a quantity of this kind makes (`None`: it sets the level
    /// or does not touch stock).
    pub fn delta(self, qty: f64) -> Option<f64> {
        match self {
            EventKind::Receipt | EventKind::Adjustment => Some(qty),
            EventKind::Consumption | EventKind::Shipment => Some(-qty),
            EventKind::CycleCount | EventKind::Demand | EventKind::MachineState => None,
        }
    }
}

/// A machine's state in the PackML state model (ISA-TR88.00.02), as the plant reports it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum PackmlState {
    Idle,
    Starting,
    Execute,
    Completing,
    Complete,
    Resetting,
    Holding,
    Held,
    Unholding,
    Suspending,
    Suspended,
    Unsuspending,
    Stopping,
    Stopped,
    Aborting,
    Aborted,
    Clearing,
}

impl PackmlState {
    /// Every state, with its name in feeds.
    pub const NAMES: [(&'static str, PackmlState); 17] = [
        ("idle", PackmlState::Idle),
        ("starting", PackmlState::Starting),
        ("execute", PackmlState::Execute),
        ("completing", PackmlState::Completing),
        ("complete", PackmlState::Complete),
        ("resetting", PackmlState::Resetting),
        ("holding", PackmlState::Holding),
        ("held", PackmlState::Held),
        ("unholding", PackmlState::Unholding),
        ("suspending", PackmlState::Suspending),
        ("suspended", PackmlState::Suspended),
        ("unsuspending", PackmlState::Unsuspending),
        ("stopping", PackmlState::Stopping),
        ("stopped", PackmlState::Stopped),
        ("aborting", PackmlState::Aborting),
        ("aborted", PackmlState::Aborted),
        ("clearing", PackmlState::Clearing),
    ];

    /// The state named `name` in a feed.
    pub fn from_name(name: &str) -> Option<PackmlState> {
        by_name(&Self::NAMES, name)
    }

    /// Its name in feeds.
    pub fn name(self) -> &'static str {
        name_of(&Self::NAMES, self)
    }

    /// Whether the machine can produce in it: Execute, or Suspended (and its transitions),
    /// where it waits only on its neighbours — lack of material before it or tailback
    /// after it (Weihenstephan's sub-states), which the twin works out itself. Every other
    /// state (held, stopped, aborted, idle, complete and their transitions) is a stop.
    pub fn producing(self) -> bool {
        matches!(
            self,
            PackmlState::Execute
                | PackmlState::Suspending
                | PackmlState::Suspended
                | PackmlState::Unsuspending
        )
    }
}

/// A machine's state and counters, as a `machine_state` event reports them.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MachineReport {
    /// The line, by name.
    pub line: Arc<str>,
    /// The machine (station), by name.
    pub station: Arc<str>,
    /// Its state since the event's `ts`.
    pub state: PackmlState,
    /// Why it is suspended (Weihenstephan): `lack` (starved) or `tailback` (blocked).
    pub sub_state: Option<Arc<str>>,
    /// For a stop: how long it is expected to last, seconds.
    pub repair_s: Option<f64>,
    /// Units produced, as the machine counts them (cumulative).
    pub produced: Option<f64>,
    /// Units rejected, as the machine counts them (cumulative).
    pub rejected: Option<f64>,
}

/// One inventory event from a feed (replayed file or live stream). Text fields are shared
/// (`Arc<str>`): a feed repeats the same sites, materials and units on every line.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeedEvent {
    /// Unique id: a second event with the same id is a duplicate.
    pub event_id: Arc<str>,
    /// When it happened.
    pub ts: Timestamp,
    /// Plant or distribution centre.
    pub site: Arc<str>,
    /// Region the site belongs to, if given.
    pub region: Option<Arc<str>>,
    /// Material or SKU.
    pub material: Arc<str>,
    /// Where: a warehouse, a line-side point, a dock.
    pub location: Arc<str>,
    /// What happened.
    pub kind: EventKind,
    /// How much, in `unit` (signed for adjustments, at least 0 otherwise).
    pub qty: f64,
    /// Unit of `qty` (e.g. "pcs", "kg", "pallet").
    pub unit: Arc<str>,
    /// The system that sent it, if given.
    pub source: Option<Arc<str>>,
    /// What only some kinds carry (orders, due times, machine reports), out of line so
    /// that the common event stays small (it is moved on every ingestion step).
    pub detail: Option<Box<Detail>>,
}

/// The parts of an event only some kinds have.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Detail {
    /// The customer order a demand opens or a shipment serves (a demand without one is
    /// its own order, named by its `event_id`; a shipment without one serves the oldest
    /// open demand first).
    pub order: Option<Arc<str>>,
    /// When a demand is due to ship (default: at once, its `ts`).
    pub due: Option<Timestamp>,
    /// A machine state event's report (its `material`, `location` and `unit` are empty and
    /// its `qty` 0).
    pub machine: Option<MachineReport>,
}

impl std::hash::Hash for Detail {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.order.hash(h);
        self.due.hash(h);
        if let Some(m) = &self.machine {
            (&m.line, &m.station, m.state, &m.sub_state).hash(h);
            let bits = |x: Option<f64>| x.map(f64::to_bits);
            (bits(m.repair_s), bits(m.produced), bits(m.rejected)).hash(h);
        }
    }
}

impl FeedEvent {
    /// The order events apply in: time, then id.
    pub fn key(&self) -> (Timestamp, &str) {
        (self.ts, &self.event_id)
    }

    /// The customer order it opens or serves, if it names one.
    pub fn order(&self) -> Option<&Arc<str>> {
        self.detail.as_ref()?.order.as_ref()
    }

    /// When a demand is due, if given.
    pub fn due(&self) -> Option<Timestamp> {
        self.detail.as_ref()?.due
    }

    /// A machine state's report.
    pub fn machine(&self) -> Option<&MachineReport> {
        self.detail.as_ref()?.machine.as_ref()
    }

    /// The event as one NDJSON line in the documented format (times in UTC; optional
    /// fields only when given): what was read, where the line itself is not kept.
    pub fn to_ndjson(&self) -> String {
        if let Some(m) = self.machine() {
            let mut doc = serde_json::json!({
                "event_id": &*self.event_id,
                "ts": self.ts.to_string(),
                "site": &*self.site,
                "kind": self.kind.name(),
                "line": &*m.line,
                "station": &*m.station,
                "state": m.state.name(),
            });
            let optional = [
                (
                    "sub_state",
                    m.sub_state.as_deref().map(serde_json::Value::from),
                ),
                ("repair_s", m.repair_s.map(serde_json::Value::from)),
                ("produced", m.produced.map(serde_json::Value::from)),
                ("rejected", m.rejected.map(serde_json::Value::from)),
                (
                    "source",
                    self.source.as_deref().map(serde_json::Value::from),
                ),
            ];
            for (name, value) in optional {
                if let Some(v) = value {
                    doc[name] = v;
                }
            }
            return doc.to_string();
        }
        let mut doc = serde_json::json!({
            "event_id": &*self.event_id,
            "ts": self.ts.to_string(),
            "site": &*self.site,
            "material": &*self.material,
            "location": &*self.location,
            "kind": self.kind.name(),
            "qty": self.qty,
            "unit": &*self.unit,
        });
        let optional = [
            ("region", self.region.as_deref().map(str::to_string)),
            ("source", self.source.as_deref().map(str::to_string)),
            ("order", self.order().map(|o| o.to_string())),
            ("due", self.due().map(|t| t.to_string())),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                doc[name] = v.into();
            }
        }
        doc.to_string()
    }
}
