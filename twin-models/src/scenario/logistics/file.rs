//! A line's `outfeed` and `materials`, as written.

use schemars::JsonSchema;
use serde::Deserialize;

/// Finished pallets leaving a line's last station.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutfeedFile {
    /// The outfeed location.
    pub at: String,
    /// Units (bottles) per pallet.
    pub units_per_pallet: u64,
    /// Pallets that can wait at the outfeed; the last station stops when they are all taken.
    pub positions: u32,
    /// Where pallets go: a location or a group (e.g. "warehouse").
    pub to: String,
    /// Higher is more urgent. Default 2.
    #[serde(default)]
    pub priority: Option<u32>,
    /// Due this long after the pallet is made. Default: no due time.
    #[serde(default)]
    pub due: Option<String>,
}

/// A material consumed by a station and brought to line side by the fleet.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterialFile {
    /// Material name (e.g. "preforms").
    pub name: String,
    /// Station that uses it.
    pub station: String,
    /// Material units per unit the station makes, in its own unit (film per case at a
    /// packer that takes 24 bottles; per bottle at a filler). Default 1.
    #[serde(default)]
    pub per_unit: Option<f64>,
    /// Material units one vehicle load brings.
    pub load: f64,
    /// Call for a load when stock plus loads on the way fall to this many units.
    pub trigger: f64,
    /// Stock at the start, units. Default `trigger + load`.
    #[serde(default)]
    pub initial: Option<f64>,
    /// Line-side location loads are dropped at.
    pub at: String,
    /// Where loads come from: a location or a group (e.g. "warehouse").
    pub from: String,
    /// Higher is more urgent. Default 3.
    #[serde(default)]
    pub priority: Option<u32>,
    /// Due this long after the call. Default: no due time.
    #[serde(default)]
    pub due: Option<String>,
}
