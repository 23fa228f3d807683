//! The inspector: what the picked object is doing and has done.

use crate::layout::PlantLayout;
use crate::playback::Playback;
use crate::selection::Selection;
use bevy_egui::egui;

/// Draws the inspector. Returns whether the user asked to focus the camera on it.
pub fn show(
    ui: &mut egui::Ui,
    selection: Selection,
    playback: &Playback,
    layout: &PlantLayout,
) -> bool {
    let snap = &playback.snapshot;
    let grid = |ui: &mut egui::Ui, rows: &[(&str, String)]| {
        egui::Grid::new("inspector")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                for (k, v) in rows {
                    ui.label(*k);
                    ui.monospace(v);
                    ui.end_row();
                }
            });
    };
    match selection {
        Selection::None => {
            ui.weak("Click a machine, conveyor, AGV or place in the 3D view.");
            return false;
        }
        Selection::Machine(l, s) => {
            let (Some(line), Some(st)) = (
                snap.lines.get(l),
                snap.lines.get(l).and_then(|x| x.stations.get(s)),
            ) else {
                return false;
            };
            ui.heading(format!("{} · {}", line.name, st.name));
            ui.horizontal(|ui| {
                let (rect, _) =
                    ui.allocate_exact_size(egui::vec2(14.0, 14.0), egui::Sense::hover());
                ui.painter()
                    .rect_filled(rect, 2.0, super::state_colour32(st.state));
                ui.strong(st.state.name().replace('_', " "));
            });
            let kind = playback
                .scenario()
                .lines
                .get(l)
                .and_then(|x| x.stations.get(s))
                .map(|x| format!("{:?}", x.kind).to_lowercase())
                .unwrap_or_default();
            grid(
                ui,
                &[
                    ("kind", kind),
                    ("product", st.product.clone()),
                    (
                        "speed step",
                        twin_models::line::control::step_name(st.speed_step),
                    ),
                    ("units out", format!("{:.0}", st.units_out)),
                    ("breakdowns", st.failures.to_string()),
                    ("changeovers", st.changeovers.to_string()),
                ],
            );
        }
        Selection::Belt(l, b) => {
            let Some(buf) = snap.lines.get(l).and_then(|x| x.buffers.get(b)) else {
                return false;
            };
            ui.heading(format!("{} · {}", snap.lines[l].name, buf.name));
            let cap = buf
                .capacity
                .map_or("unlimited".to_string(), |c| c.to_string());
            let fill = buf
                .capacity
                .filter(|&c| c > 0)
                .map_or("–".to_string(), |c| {
                    format!("{:.0} %", 100.0 * buf.level / c as f64)
                });
            grid(
                ui,
                &[
                    ("units on it", format!("{:.0}", buf.level)),
                    ("capacity", cap),
                    ("full", fill),
                ],
            );
        }
        Selection::Vehicle(v) => {
            let Some(veh) = snap.vehicles.get(v) else {
                return false;
            };
            ui.heading(format!("AGV {} ({})", v, veh.kind));
            let soc = veh
                .state_of_charge
                .map_or("no battery".to_string(), |s| format!("{:.0} %", 100.0 * s));
            let tasks = if veh.tasks.is_empty() {
                "none".to_string()
            } else {
                veh.tasks
                    .iter()
                    .map(|t| format!("#{t}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let goal = veh
                .goal
                .map_or("–".to_string(), |g| format!("({:.1}, {:.1}) m", g.x, g.y));
            grid(
                ui,
                &[
                    ("doing", veh.doing.replace('_', " ")),
                    ("at", format!("({:.1}, {:.1}) m", veh.at.x, veh.at.y)),
                    ("driving to", goal),
                    ("loads on board", veh.loads.to_string()),
                    ("battery", soc),
                    ("tasks", tasks),
                ],
            );
            ui.weak("Its planned route is drawn ahead of it in cyan.");
        }
        Selection::Place(i) => {
            let Some(p) = layout.places.get(i) else {
                return false;
            };
            ui.heading(&p.name);
            let mut rows = vec![
                ("kind", format!("{:?}", p.kind).to_lowercase()),
                ("at", format!("({:.1}, {:.1}) m", p.at.x, p.at.z)),
            ];
            let stock: Vec<String> = snap
                .stock
                .iter()
                .filter(|s| s.at == p.name)
                .map(|s| format!("{}: {:.0}", s.material, s.on_hand))
                .collect();
            if !stock.is_empty() {
                rows.push(("stock", stock.join(", ")));
            }
            grid(ui, &rows);
        }
    }
    ui.button("🎯 Focus")
        .on_hover_text("Centre the view on it (F)")
        .clicked()
}
