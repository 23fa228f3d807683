//! ARCHITECTURE.md names every crate, and the dependency rules it states hold.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn members() -> Vec<String> {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    manifest["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect()
}

fn dependencies(krate: &str) -> Vec<String> {
    let manifest: toml::Table = read(&format!("{krate}/Cargo.toml")).parse().unwrap();
    manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn every_crate_has_a_section() {
    let arch = read("ARCHITECTURE.md");
    for m in members() {
        assert!(
            arch.contains(&format!("### `{m}/`")),
            "ARCHITECTURE.md has no section for `{m}/`"
        );
    }
}

#[test]
fn dependencies_point_one_way() {
    let sim = dependencies("sim");
    assert!(
        !sim.iter()
            .any(|d| ["orchestrator", "twin-models", "bevy"].contains(&d.as_str())),
        "{sim:?}"
    );
    let orch = dependencies("orchestrator");
    assert!(
        !orch
            .iter()
            .any(|d| ["sim", "twin-models", "bevy", "bevy_ecs"].contains(&d.as_str())),
        "{orch:?}"
    );
    let models = dependencies("twin-models");
    assert!(
        !models.iter().any(|d| d == "bevy" || d == "experiments"),
        "{models:?}"
    );
    let experiments = dependencies("experiments");
    assert!(
        !experiments
            .iter()
            .any(|d| ["bevy", "twinline", "indicatif", "rumqttc", "ctrlc"].contains(&d.as_str())),
        "{experiments:?}"
    );
}
