//! What can go wrong in an experiment, each naming what to fix.

use thiserror::Error;

/// An experiment's input was wrong; the message names the file, path or field.
#[derive(Debug, Error)]
pub enum ExperimentError {
    /// A `--set PATH=VALUES` (or a sweep file's parameter) is malformed or names no field.
    #[error("--set {path}: {reason}")]
    Set {
        /// The dotted path as given.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A variant's scenario does not load.
    #[error("variant {variant}: {message}")]
    Variant {
        /// The variant's label (its settings).
        variant: String,
        /// The scenario loader's report.
        message: String,
    },
    /// The scenario itself does not load.
    #[error("{0}")]
    Scenario(#[from] twin_models::scenario::ScenarioError),
    /// A file (sweep file, results, baseline) is malformed.
    #[error("{file}: {reason}")]
    File {
        /// The file's name.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// Inputs that must belong together do not (shards of different sweeps, say).
    #[error("{0}")]
    Mismatch(String),
}

impl ExperimentError {
    pub(crate) fn set(path: &str, reason: impl Into<String>) -> Self {
        ExperimentError::Set {
            path: path.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn file(file: &str, reason: impl Into<String>) -> Self {
        ExperimentError::File {
            file: file.to_string(),
            reason: reason.into(),
        }
    }
}
