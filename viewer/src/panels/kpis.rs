//! Live KPIs: numbers now, plots of throughput, OEE, buffer levels and stock over time,
//! and the alert list.

use crate::playback::Playback;
use bevy_egui::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints};

/// Which line's buffers the buffer plot shows.
#[derive(Default)]
pub struct KpiPanel {
    /// Line index.
    pub line: usize,
}

fn series(hours: &[f64], values: &[f64]) -> PlotPoints<'static> {
    hours
        .iter()
        .zip(values)
        .filter(|(_, v)| v.is_finite())
        .map(|(&h, &v)| [h, v])
        .collect::<Vec<_>>()
        .into()
}

fn plot(ui: &mut egui::Ui, id: &str, title: &str, lines: Vec<(String, PlotPoints<'static>)>) {
    ui.label(title);
    Plot::new(id)
        .height(110.0)
        .legend(Legend::default())
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .include_y(0.0)
        .x_axis_label("h")
        .show(ui, |p| {
            for (name, points) in lines {
                p.line(Line::new(name, points));
            }
        });
}

/// Draws the panel.
pub fn show(ui: &mut egui::Ui, panel: &mut KpiPanel, playback: &Playback) {
    let snap = &playback.snapshot;
    let h = &playback.history;
    egui::Grid::new("kpi-now")
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            ui.strong("line");
            ui.strong("units out");
            ui.strong("units/h");
            ui.strong("OEE");
            ui.end_row();
            for (li, line) in snap.lines.iter().enumerate() {
                ui.label(&line.name);
                ui.monospace(format!("{:.0}", line.units_out));
                let rate = h.throughput.get(li).and_then(|v| v.last()).copied();
                ui.monospace(rate.map_or("–".into(), |r| format!("{r:.0}")));
                let oee = h.oee.get(li).and_then(|v| v.last()).copied();
                ui.monospace(match oee {
                    Some(o) if o.is_finite() => format!("{:.1} %", 100.0 * o),
                    _ => "warm-up".into(),
                });
                ui.end_row();
            }
        });
    if !snap.vehicles.is_empty() {
        let busy = snap.vehicles.iter().filter(|v| v.doing != "idle").count();
        let loaded = snap.vehicles.iter().filter(|v| v.loads > 0).count();
        let socs: Vec<f64> = snap
            .vehicles
            .iter()
            .filter_map(|v| v.state_of_charge)
            .collect();
        let mut text = format!(
            "AGVs: {} · busy {busy} · loaded {loaded}",
            snap.vehicles.len()
        );
        if !socs.is_empty() {
            let mean = socs.iter().sum::<f64>() / socs.len() as f64;
            let min = socs.iter().copied().fold(f64::INFINITY, f64::min);
            text += &format!(
                " · battery mean {:.0} %, lowest {:.0} %",
                100.0 * mean,
                100.0 * min
            );
        }
        ui.label(text);
    }
    ui.separator();
    let names: Vec<&str> = snap.lines.iter().map(|l| l.name.as_str()).collect();
    plot(
        ui,
        "throughput",
        "Throughput, units/h",
        names
            .iter()
            .enumerate()
            .filter_map(|(li, n)| Some((n.to_string(), series(&h.hours, h.throughput.get(li)?))))
            .collect(),
    );
    plot(
        ui,
        "oee",
        "OEE since the warm-up",
        names
            .iter()
            .enumerate()
            .filter_map(|(li, n)| Some((n.to_string(), series(&h.hours, h.oee.get(li)?))))
            .collect(),
    );
    if !snap.lines.is_empty() {
        panel.line = panel.line.min(snap.lines.len() - 1);
        ui.horizontal(|ui| {
            ui.label("Buffer levels, units, on");
            egui::ComboBox::from_id_salt("buffer-line")
                .selected_text(names[panel.line])
                .show_ui(ui, |ui| {
                    for (li, n) in names.iter().enumerate() {
                        ui.selectable_value(&mut panel.line, li, *n);
                    }
                });
        });
        let line = &snap.lines[panel.line];
        plot(
            ui,
            "buffers",
            "",
            line.buffers
                .iter()
                .enumerate()
                .filter_map(|(b, buf)| {
                    let v = h.buffers.get(panel.line)?.get(b)?;
                    Some((buf.name.clone(), series(&h.hours, v)))
                })
                .collect(),
        );
    }
    if !snap.stock.is_empty() {
        plot(
            ui,
            "stock",
            "Stock on hand, units",
            snap.stock
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    Some((
                        format!("{}@{}", s.material, s.at),
                        series(&h.hours, h.stock.get(i)?),
                    ))
                })
                .collect(),
        );
    }
}

/// Draws the alert list, newest first.
pub fn alerts(ui: &mut egui::Ui, playback: &Playback) {
    let alerts = &playback.snapshot.alerts;
    ui.strong(format!("Alerts ({})", alerts.len()));
    if alerts.is_empty() {
        ui.weak("none so far");
        return;
    }
    egui::ScrollArea::vertical()
        .id_salt("alerts")
        .max_height(160.0)
        .show(ui, |ui| {
            for a in alerts.iter().rev().take(200) {
                let what = [
                    a.line.as_deref(),
                    a.material.as_deref(),
                    a.location.as_deref(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ");
                ui.label(format!(
                    "{}  {}  {what}",
                    super::time::clock(sim::SimTime((a.at_s * 1e9) as u64)),
                    a.kind.replace('_', " ")
                ))
                .on_hover_text(&a.hint);
            }
        });
}
