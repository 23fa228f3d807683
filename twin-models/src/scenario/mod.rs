//! The scenario format: TOML in (stage one, [`file`]), a resolved [`Scenario`] out (stage
//! two, [`model`]), and errors that name the file, line, column and field path.

pub mod error;
pub mod file;
pub mod fleet;
pub mod fleet_file;
pub mod model;
pub mod network;
pub mod resolve;
pub mod stock;

pub use error::{Diagnostic, ScenarioError};
pub use fleet::FileReader;
pub use model::*;
pub use network::{Lane, Network, Site, SiteKind};
pub use resolve::{json_schema, load_scenario, load_scenario_with_files};
pub use stock::Stock;
