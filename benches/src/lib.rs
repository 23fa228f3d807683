//! Shared set-up for the benches: the bundled scenarios, loaded from `scenarios/`.

use twin_models::{Scenario, load_scenario};

/// Loads `scenarios/<name>` from the repository.
pub fn bundled(name: &str) -> Scenario {
    let path = format!("{}/../scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    load_scenario(&path, &text).unwrap_or_else(|e| panic!("{e}"))
}
