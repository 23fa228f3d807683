//! Scenario errors: each names the file, the line and column where known, the field path
//! and the reason.

use std::fmt;

/// One problem found in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file's name as the caller gave it.
    pub file: String,
    /// 1-based line and column of the offending text, where known.
    pub location: Option<(usize, usize)>,
    /// Field path, such as `lines[0].stations[2].failures[0].tbf` (empty for syntax errors).
    pub path: String,
    /// What is wrong, in words.
    pub reason: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, col)) = self.location {
            write!(f, ":{line}:{col}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Why a scenario could not be loaded. Always fatal for that scenario.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The text is not valid TOML, or does not have the scenario's shape (unknown field,
    /// wrong type, missing field).
    #[error("{0}")]
    Syntax(Diagnostic),
    /// The file has the right shape but says something meaningless (negative time, missing
    /// station, probability above 1, ...). Every such problem found is listed.
    #[error("{}", .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Diagnostic>),
}

impl ScenarioError {
    /// Every diagnostic in this error.
    pub fn diagnostics(&self) -> Vec<&Diagnostic> {
        match self {
            ScenarioError::Syntax(d) => vec![d],
            ScenarioError::Invalid(ds) => ds.iter().collect(),
        }
    }
}

/// 1-based line and column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, col)
}
