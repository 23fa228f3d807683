//! # twin-models — the bottling plant on the `sim` kernel
//!
//! A scenario (TOML) describes lines of stations joined by buffers; [`load_scenario`] checks
//! it and resolves it, [`simulate`] or [`replicate`] runs it, and the KPIs come back as
//! [`kpi::RunKpis`] or as the `kpis.json` document ([`kpis_document`]).
//!
//! ```text
//!   source ──▶ [filler] ──▶ ▒▒ buffer ▒▒ ──▶ [capper] ──▶ ▒▒ buffer ▒▒ ──▶ [labeller] ──▶ sink
//! ```
//!
//! A line with unlimited supply and fixed-cycle machines runs as **fluid flow**: rates that
//! change only at events (failures, repairs, buffers filling or emptying, changeovers), exact
//! to the unit, with no event per bottle. Lines with random arrivals or random processing
//! times run **unit by unit** with exact blocking after service. See [`engine`].
//!
//! ```
//! use twin_models::{load_scenario, simulate, RunSpec};
//!
//! let scenario = load_scenario("three-stations.toml", r#"
//!     name = "three stations"
//!     [run]
//!     horizon = "8h"
//!     warmup = "1h"
//!
//!     [[lines]]
//!     name = "L1"
//!     [[lines.stations]]
//!     name = "filler"
//!     kind = "filler"
//!     speed = "36000/h"
//!     [[lines.stations]]
//!     name = "capper"
//!     kind = "capper"
//!     speed = "30000/h"
//!     [[lines.stations]]
//!     name = "labeller"
//!     kind = "labeller"
//!     speed = "39600/h"
//!     [[lines.buffers]]
//!     name = "b1"
//!     from = "filler"
//!     to = "capper"
//!     capacity = 1000
//!     [[lines.buffers]]
//!     name = "b2"
//!     from = "capper"
//!     to = "labeller"
//!     capacity = 1000
//! "#).unwrap();
//!
//! let out = simulate(&scenario, RunSpec::of(&scenario));
//! let line = &out.kpis.lines[0];
//! // The capper is the bottleneck: the line makes exactly its 30,000 bottles an hour.
//! assert_eq!(line.throughput_per_h, 30_000.0);
//! assert_eq!(line.oee.station, "filler");
//! ```

pub mod alerts;
pub mod distribution;
pub mod feed;
pub mod fleet;
pub mod kpi;
pub mod line;
pub mod logistics;
pub mod network;
pub mod plant;
pub mod report;
pub mod scenario;
pub mod stock;
pub mod units;

pub use distribution::Distribution;
pub use feed::{FeedPlan, ReplayError, plan_feed};
pub use plant::twin::{Twin, fork_replications, fork_run, fork_seed, simulate_replay};
pub use plant::work::{RUN_BUDGET, WORK_BUDGET, WorkEstimate, estimate};
pub use plant::{
    RunOutput, RunOverrides, RunSpec, RunSpecError, SavedRun, Snapshot, SnapshotError,
    SnapshotHeader, simulate,
};
pub use report::{Replications, Timing, kpis_document, replicate, replicate_with};
pub use scenario::{
    MAX_REPLICATIONS, Scenario, ScenarioError, load_scenario, load_scenario_with_files,
};
