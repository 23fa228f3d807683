//! Stage one of loading: the whole file as a serde mirror of the TOML, each section's
//! part from that section's `file` module. Nothing is resolved here: durations, rates and
//! distributions stay text, so that every later error can name the field it came from.
//! Unknown fields are refused everywhere.

use super::error::{Diagnostic, ScenarioError, line_col};
use super::fleet::{FleetFile, LayoutFile, TaskFile};
use super::line::LineFile;
use super::network::{LaneFile as NetworkLaneFile, SiteFile};
use super::run::{ProductFile, RunFile};
use super::stock::StockFile;
use schemars::JsonSchema;
use serde::Deserialize;

/// A scenario file: run settings, products and the plant's lines.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Scenario name, shown in reports.
    pub name: String,
    /// Free text for people.
    #[serde(default)]
    pub description: Option<String>,
    /// How the run is made.
    pub run: RunFile,
    /// Products (SKUs) the lines make; a line with no schedule makes the first one.
    #[serde(default)]
    pub products: Vec<ProductFile>,
    /// Lines defined once, each made into lines by `[[lines]] template = "NAME"`; a
    /// template is written as a line, its `name` being the template's.
    #[serde(default)]
    pub line_templates: Vec<LineFile>,
    /// The plant's lines.
    pub lines: Vec<LineFile>,
    /// The plant floor vehicles drive on.
    #[serde(default)]
    pub layout: Option<LayoutFile>,
    /// The AGV fleet.
    #[serde(default)]
    pub fleet: Option<FleetFile>,
    /// Transport tasks besides the lines' own.
    #[serde(default)]
    pub tasks: Vec<TaskFile>,
    /// Materials held in stock (e.g. the warehouse), with replenishment policies.
    #[serde(default)]
    pub stock: Vec<StockFile>,
    /// Sites of the network: plants and distribution centres.
    #[serde(default)]
    pub sites: Vec<SiteFile>,
    /// Transport lanes from plants to distribution centres.
    #[serde(default)]
    pub lanes: Vec<NetworkLaneFile>,
}

/// Stage one: the serde mirror, with the field path of a shape error.
pub fn parse_file(file: &str, text: &str) -> Result<ScenarioFile, ScenarioError> {
    let de = toml::Deserializer::parse(text).map_err(|e| {
        ScenarioError::Syntax(Diagnostic {
            file: file.to_string(),
            location: e.span().map(|s| line_col(text, s.start)),
            path: String::new(),
            reason: e.message().trim().to_string(),
        })
    })?;
    serde_path_to_error::deserialize::<_, ScenarioFile>(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let path = if path == "." { String::new() } else { path };
        ScenarioError::Syntax(Diagnostic {
            file: file.to_string(),
            location: inner.span().map(|s| line_col(text, s.start)),
            path,
            reason: inner.message().trim().to_string(),
        })
    })
}
