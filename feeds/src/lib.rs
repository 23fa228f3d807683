//! # feeds — inventory feeds, with no ECS inside
//!
//! Inventory feeds: the event format, reading it from NDJSON or CSV, the ingestion rules
//! (each event once, in time order within a lateness window, late ones as corrections),
//! and the stock positions the events keep.
//!
//! The event schema (NDJSON, one object per line; CSV with the same names as header):
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `event_id` | string | unique; a repeat is a duplicate, other content under it a conflict |
//! | `ts` | RFC 3339 time | when it happened |
//! | `site`, `region` | string, optional string | plant or DC, and its region |
//! | `material` or `sku` | string | what |
//! | `location` | string | warehouse, line-side point or dock |
//! | `kind` | `receipt`, `consumption`, `adjustment`, `cycle_count`, `demand`, `shipment` | what happened |
//! | `qty` | number | how much (signed only for adjustments) |
//! | `unit` | string | unit of `qty` |
//! | `source` | optional string | sending system |
//! | `order` | optional string | demand and shipment: the customer order |
//! | `due` | optional RFC 3339 time | demand: when it is due to ship |
//!
//! ```
//! use feeds::{Ingestion, Origin, StockLedger, parse_ndjson};
//!
//! let text = r#"
//! {"event_id":"r1","ts":"2026-11-23T06:00:00Z","site":"P1","material":"caps","location":"WH","kind":"receipt","qty":5000,"unit":"pcs"}
//! {"event_id":"c1","ts":"2026-11-23T05:59:00Z","site":"P1","material":"caps","location":"WH","kind":"consumption","qty":200,"unit":"pcs"}
//! {"event_id":"r1","ts":"2026-11-23T06:00:00Z","site":"P1","material":"caps","location":"WH","kind":"receipt","qty":5000,"unit":"pcs"}
//! "#;
//! let mut ingestion = Ingestion::new(300.0); // 5 min lateness window
//! for parsed in parse_ndjson(text) {
//!     let parsed = parsed.expect("valid lines");
//!     let origin = Origin { source: 0, line: parsed.line };
//!     ingestion.offer(parsed.event, origin);
//! }
//! let mut ledger = StockLedger::new();
//! for event in ingestion.flush() {
//!     ledger.apply(&event).unwrap();
//! }
//! assert_eq!(ledger.position("P1", "WH", "caps").unwrap().on_hand, 4800.0);
//! assert_eq!(ingestion.counters().duplicates, 1);
//! assert_eq!(ingestion.counters().reordered, 1);
//! ```

pub mod event;
mod flat;
pub mod ingest;
pub mod parse;
mod rfc3339;
pub mod stock;
mod synthetic;

pub use event::{Detail, EventKind, FeedEvent, MachineReport, PackmlState, Timestamp};
pub use ingest::{Admission, Conflict, Ingestion, IngestionCounters, Origin};
pub use parse::{
    FeedReader, Parsed, Rejection, decode, estimate_lines, parse_csv, parse_ndjson,
    parse_ndjson_line, parse_ndjson_parallel,
};
pub use stock::{Applied, OpenOrder, Position, PositionKey, StockLedger};
pub use synthetic::{ingest_ndjson, synthetic_ndjson};
