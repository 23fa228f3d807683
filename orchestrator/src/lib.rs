//! # orchestrator — planning decisions, with no ECS inside
//!
//! The orchestrator decides; the models in `twin-models` carry the decisions out in
//! simulated time. It orders production campaigns around a [`ChangeoverMatrix`], holds the
//! plant floor as a [`Layout`] graph, moves a fleet on it without collisions ([`Traffic`],
//! lifelong PIBT), gives tasks to vehicles ([`assign`]), solves one-shot MAPF benchmark
//! instances ([`mapf`]), takes inventory feed events in once each, in time order
//! ([`feed`]), and decides when to reorder material ([`replenish`]).
//!
//! ```
//! use orchestrator::{ChangeoverMatrix, SequenceRule, sequence_campaigns, total_changeover};
//!
//! // Two products; going from 1 back to 0 takes an hour, 0 → 1 ten minutes.
//! let mut m = ChangeoverMatrix::uniform(2, 0);
//! m.set(0, 1, 600);
//! m.set(1, 0, 3600);
//! let campaigns = [0, 1, 0];
//! let order = sequence_campaigns(&m, &campaigns, SequenceRule::MinChangeover);
//! assert_eq!(total_changeover(&m, &campaigns, &order), 600);
//! ```

pub mod changeover;
pub mod dispatch;
pub mod feed;
pub mod layout;
pub mod mapf;
pub mod motion;
pub mod replenish;
pub mod sequencing;
mod swap;
pub mod traffic;

pub use changeover::ChangeoverMatrix;
pub use dispatch::{DispatchPolicy, UNREACHABLE, assign, hungarian};
pub use layout::{Lane, Layout, LayoutError, Waypoint};
pub use motion::travel_time;
pub use sequencing::{EXACT_LIMIT, SequenceRule, sequence_campaigns, total_changeover};
pub use traffic::{Traffic, TrafficError};
