//! A line's logistics: its `outfeed` (finished pallets for the fleet to take away) and its
//! `materials` (line-side stock the fleet brings, from a place or a stocked material).

pub mod file;
pub mod model;
pub(crate) mod resolve;

pub use file::{MaterialFile, OutfeedFile};
pub use model::{Material, Outfeed};
