//! # experiments — what-if sweeps, comparisons, regression checks and reports
//!
//! A planner's questions about a scenario, answered with replications:
//! - [`sweep`]: a grid over scenario fields addressed by dotted paths
//!   ([`overrides::parse_set`]), every variant run with the same seeds (common random
//!   numbers), on all cores, optionally as one shard of many ([`sweep::Shard`]);
//! - [`results`]: per-variant summaries (mean, standard deviation, 95% CI, min, max, n) and
//!   the per-replication rows, as JSON and CSV, and the merge of shards;
//! - [`compare`]: two scenarios side by side with a paired t-test per KPI;
//! - [`check`]: KPIs against a stored baseline with per-KPI tolerances, for CI, with JUnit
//!   XML;
//! - [`report`]: a self-contained HTML report with SVG plots of a run or a sweep.
//!
//! Nothing here reads files or prints: callers hand in texts and get texts back.
//!
//! ```
//! use experiments::{overrides::parse_set, results::{SweepHeader, SweepResults}, sweep};
//! use std::sync::atomic::AtomicBool;
//!
//! let base = r#"
//!     name = "two stations"
//!     [run]
//!     horizon = "2h"
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
//!     [[lines.buffers]]
//!     name = "b1"
//!     from = "filler"
//!     to = "capper"
//!     capacity = 1000
//! "#;
//! let speeds = parse_set("lines.L1.stations.capper.speed=24000/h,30000/h").unwrap();
//! let variants = sweep::grid(&[speeds.clone()]).unwrap();
//! assert_eq!(variants[0].label, "speed=24000/h");
//! let no_files = |name: &str| Err(format!("{name}: no files here"));
//! let prepared =
//!     sweep::prepare("two.toml", base, &variants, Default::default(), &no_files).unwrap();
//! let stop = AtomicBool::new(false);
//! let controls = sweep::Controls { threads: 2, on_done: &|| {}, stop: &stop };
//! let runs = sweep::run(&prepared, 3, 7, None, &controls);
//! let header = SweepHeader::new("two", &[speeds.path], &prepared, 3, 7);
//! let results = SweepResults::new(header, None, &runs);
//! // The capper is the bottleneck: the line makes exactly its speed.
//! let slow = results.summary(0, "lines.L1.throughput_per_h").unwrap();
//! let fast = results.summary(1, "lines.L1.throughput_per_h").unwrap();
//! assert_eq!((slow.mean, fast.mean, fast.n), (24_000.0, 30_000.0, 3));
//! ```

pub mod check;
pub mod compare;
pub mod error;
pub mod kpis;
pub mod overrides;
pub mod report;
pub mod results;
pub mod sweep;

pub use error::ExperimentError;
