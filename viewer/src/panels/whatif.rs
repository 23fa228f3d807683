//! What-if: change a buffer's size, a machine's speed or the fleet's size and restart the
//! run on the changed plant. Changes are scenario fields by dotted path (as in
//! `twinline sweep --set`), applied to the scenario file by the caller's rebuild.

use bevy_egui::egui;
use twin_models::Scenario;
use twin_models::scenario::Process;

/// One field the panel can change.
#[derive(Clone, Debug, PartialEq)]
pub struct Knob {
    /// Dotted path in the scenario, e.g. `lines.L1.buffers.filler-capper.capacity`.
    pub path: String,
    /// What people call it.
    pub label: String,
    /// Group it is listed under (the line, or "fleet").
    pub group: String,
    /// Value in the scenario as loaded.
    pub original: f64,
    /// Value set in the panel.
    pub value: f64,
    /// Unit shown and written: `""` for counts, `/h` for speeds.
    pub unit: &'static str,
}

impl Knob {
    /// The value as the scenario file writes it.
    pub fn text(&self) -> String {
        match self.unit {
            "/h" => format!("\"{}/h\"", self.value.round()),
            _ => format!("{}", self.value.round() as i64),
        }
    }
}

/// The knobs of a scenario: each bounded buffer's capacity, each machine's speed when
/// given as a rate, and the fleet size when the fleet has one vehicle type.
pub fn knobs(scenario: &Scenario) -> Vec<Knob> {
    let mut out = Vec::new();
    for line in &scenario.lines {
        for buf in &line.buffers {
            if let Some(c) = buf.capacity {
                out.push(Knob {
                    path: format!("lines.{}.buffers.{}.capacity", line.name, buf.name),
                    label: format!("{} size", buf.name),
                    group: line.name.clone(),
                    original: c as f64,
                    value: c as f64,
                    unit: "",
                });
            }
        }
        for st in &line.stations {
            if let Process::Rate(milli_per_h) = st.process {
                let per_h = milli_per_h as f64 / 1000.0;
                out.push(Knob {
                    path: format!("lines.{}.stations.{}.speed", line.name, st.name),
                    label: format!("{} speed", st.name),
                    group: line.name.clone(),
                    original: per_h,
                    value: per_h,
                    unit: "/h",
                });
            }
        }
    }
    if let Some(f) = &scenario.fleet
        && f.types.len() == 1
    {
        let n = f.vehicles.len() as f64;
        out.push(Knob {
            path: "fleet.size".into(),
            label: "vehicles".into(),
            group: "fleet".into(),
            original: n,
            value: n,
            unit: "",
        });
    }
    out
}

/// The panel's state.
#[derive(Default)]
pub struct WhatIf {
    /// Every knob.
    pub knobs: Vec<Knob>,
    /// The changes the running plant has.
    pub applied: Vec<(String, String)>,
    /// The last rebuild's error.
    pub error: Option<String>,
}

impl WhatIf {
    /// The changed fields, as (path, value text).
    pub fn changes(&self) -> Vec<(String, String)> {
        self.knobs
            .iter()
            .filter(|k| k.value.round() != k.original.round())
            .map(|k| (k.path.clone(), k.text()))
            .collect()
    }
}

/// Draws the panel; returns true when the user asks to run the plant with the changes.
pub fn show(ui: &mut egui::Ui, what_if: &mut WhatIf) -> bool {
    let mut apply = false;
    let mut group = "";
    egui::Grid::new("what-if").num_columns(2).show(ui, |ui| {
        for k in &mut what_if.knobs {
            if k.group != group {
                ui.strong(&k.group);
                ui.end_row();
            }
            group = &k.group;
            ui.label(&k.label);
            let changed = k.value.round() != k.original.round();
            let speed = (k.original.abs() / 100.0).max(1.0);
            let mut drag = egui::DragValue::new(&mut k.value)
                .range(if k.unit == "/h" { 1.0 } else { 0.0 }..=f64::MAX)
                .speed(speed)
                .max_decimals(0)
                .suffix(k.unit);
            if changed {
                drag = drag.prefix("• ");
            }
            ui.add(drag)
                .on_hover_text(format!("{} (was {}{})", k.path, k.original, k.unit));
            ui.end_row();
        }
    });
    let changes = what_if.changes();
    let pending = changes != what_if.applied;
    ui.horizontal(|ui| {
        if ui
            .add_enabled(pending, egui::Button::new("Apply and restart"))
            .on_hover_text("Rebuild the plant with these values and run it from the start")
            .clicked()
        {
            apply = true;
        }
        if ui
            .add_enabled(!changes.is_empty(), egui::Button::new("Back to the file"))
            .clicked()
        {
            for k in &mut what_if.knobs {
                k.value = k.original;
            }
        }
    });
    if let Some(e) = &what_if.error {
        ui.colored_label(egui::Color32::from_rgb(0xe5, 0x39, 0x35), e);
    }
    apply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knobs_cover_bounded_buffers_rated_machines_and_a_one_type_fleet() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"));
        let text = std::fs::read_to_string(dir.join("plant-agv.toml")).unwrap();
        let read = |n: &str| std::fs::read_to_string(dir.join(n)).map_err(|e| e.to_string());
        let s = twin_models::load_scenario_with_files("plant-agv.toml", &text, &read).unwrap();
        let mut w = WhatIf {
            knobs: knobs(&s),
            ..WhatIf::default()
        };
        // Two lines × (4 buffers + 5 machines), and the fleet.
        assert_eq!(w.knobs.len(), 2 * (4 + 5) + 1);
        let filler = w
            .knobs
            .iter()
            .find(|k| k.path == "lines.L1.stations.filler.speed")
            .unwrap();
        assert_eq!(
            (filler.original, filler.text()),
            (24_000.0, "\"24000/h\"".to_string())
        );
        let fleet = w.knobs.last().unwrap();
        assert_eq!(
            (fleet.path.as_str(), fleet.text()),
            ("fleet.size", "12".to_string())
        );
        assert!(w.changes().is_empty());
        w.knobs.last_mut().unwrap().value = 8.4;
        w.knobs[0].value = 800.0;
        assert_eq!(
            w.changes(),
            vec![
                (w.knobs[0].path.clone(), "800".to_string()),
                ("fleet.size".to_string(), "8".to_string())
            ]
        );
    }
}
