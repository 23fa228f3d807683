pub mod distribution;
pub mod engine;
pub mod kpi;
pub mod report;
pub mod scenario;
pub mod units;

pub use engine::{RunOutput, RunSpec, simulate};
pub use report::{Replications, Timing, kpis_document, replicate};
pub use scenario::{Scenario, ScenarioError, load_scenario};
