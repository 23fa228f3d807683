//! `[[stock]]`: materials held in the warehouse (or any location or group the fleet serves),
//! each with a replenishment policy and a supplier lead time. Lines whose material loads
//! come `from` that place draw on the stock; when it cannot serve a call, the call waits
//! for the next supplier receipt.

pub mod file;
pub mod model;
pub(crate) mod resolve;

pub use file::{PolicyFile, StockFile};
pub use model::Stock;
