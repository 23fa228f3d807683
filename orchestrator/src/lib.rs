//! # orchestrator — planning decisions, with no ECS inside
//!
//! The orchestrator decides; the models in `twin-models` carry the decisions out in
//! simulated time. It orders production campaigns around a [`ChangeoverMatrix`]
//! ([`sequence_campaigns`]), gives tasks to vehicles ([`assign`]), and decides when to
//! reorder material ([`replenish`]). Routing the fleet is the `traffic` crate's job;
//! taking inventory feeds in, the `feeds` crate's.
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
pub mod replenish;
pub mod sequencing;

pub use changeover::ChangeoverMatrix;
pub use dispatch::{DispatchPolicy, UNREACHABLE, assign, hungarian};
pub use sequencing::{EXACT_LIMIT, SequenceRule, sequence_campaigns, total_changeover};
