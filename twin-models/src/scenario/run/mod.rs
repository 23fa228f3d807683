//! The run section: `[run]` (horizon, warm-up, seed, sampling, replications, start) and
//! `[[products]]`.

pub mod file;
pub mod model;
pub(crate) mod resolve;

pub use file::{ProductFile, RunFile};
pub use model::{MAX_REPLICATIONS, RunSettings};
