//! Self-contained HTML reports with SVG plots: of a run ([`run_report`]) and of a sweep
//! ([`sweep_report`]). One file, no scripts, no external assets: it opens anywhere and
//! archives as a CI artefact.

pub mod charts;
mod page;
mod run;
mod sweep;

pub use run::{RunInputs, run_report};
pub use sweep::sweep_report;
