//! The scenario format: TOML in, a resolved [`Scenario`] out, and errors that name the
//! file, line, column and field path.
//!
//! Every section has one layout: `file` (its serde mirror of the TOML), `model` (what it
//! resolves to) and `resolve` (the checks between them): [`run`], [`line`], [`logistics`]
//! (a line's outfeed and materials), [`fleet`] (floor, vehicles, tasks), [`stock`] and
//! [`network`]; [`failure`] holds the breakdown modes stations and vehicles share. [`document`] is the whole file's mirror, [`template`] writes out the lines
//! made from line templates, [`fields`] sets a field by dotted path, `load` resolves the
//! document section by section, and `check` holds what they share: field paths, the
//! checker that collects problems, and the common validators.

mod check;
pub mod document;
pub mod error;
pub mod failure;
pub mod fields;
pub mod fleet;
pub mod line;
mod load;
pub mod logistics;
pub mod model;
pub mod network;
pub mod run;
pub mod stock;
pub mod template;

pub use check::FileReader;
pub use document::{ScenarioFile, parse_file};
pub use error::{Diagnostic, ScenarioError};
pub use fields::set_field;
pub use fleet::{Battery, Fleet, ListedTask, Location, LocationKind, VehicleType};
pub use line::{
    Buffer, Campaign, CampaignAmount, CombineRule, Divide, FailureBasis, FailureMode, LevelSwitch,
    Line, PlannedStop, Process, Source, Station, StationKind, WhenFull,
};
pub use load::{json_schema, load_scenario, load_scenario_with_files};
pub use logistics::{Material, Outfeed};
pub use model::Scenario;
pub use network::{Lane, Network, Site, SiteKind};
pub use run::{MAX_REPLICATIONS, RunSettings};
pub use stock::Stock;
pub use template::expand_templates;
