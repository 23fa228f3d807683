//! The changeover Gantt: one row per station, its setups, breakdowns, micro-stops and
//! planned stops over a window that ends now and scrolls with time. A click jumps there.

use crate::playback::Playback;
use bevy_egui::egui;
use sim::SimTime;
use twin_models::line::StationState;

/// Window lengths offered, hours.
pub const WINDOWS: [f64; 5] = [1.0, 4.0, 8.0, 24.0, 168.0];

const ROW: f32 = 14.0;
const NAME_WIDTH: f32 = 150.0;

/// The time under pixel column `x` of a bar from `left` to `right` showing `[t0, t1]`.
pub fn time_at(x: f32, left: f32, right: f32, t0: u64, t1: u64) -> SimTime {
    let f = ((x - left) / (right - left).max(1.0)).clamp(0.0, 1.0) as f64;
    SimTime(t0 + ((t1 - t0) as f64 * f) as u64)
}

/// Draws the chart; returns a time the user clicked.
pub fn show(ui: &mut egui::Ui, playback: &Playback, window_h: &mut f64) -> Option<SimTime> {
    let mut jump = None;
    ui.horizontal(|ui| {
        ui.strong("Station timeline");
        for w in WINDOWS {
            let label = if w >= 24.0 {
                format!("{}d", w / 24.0)
            } else {
                format!("{w}h")
            };
            ui.selectable_value(window_h, w, label);
        }
        ui.separator();
        for s in [
            StationState::Setup,
            StationState::Down,
            StationState::MicroStop,
            StationState::PlannedStop,
        ] {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            ui.painter()
                .rect_filled(rect, 1.0, super::state_colour32(s));
            ui.label(s.name().replace('_', " "));
        }
        let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
        ui.painter().rect_filled(rect, 1.0, running());
        ui.label("running");
        ui.weak("· click to jump there");
    });
    let now = playback.now().0;
    let span = (*window_h * 3600e9) as u64;
    let t0 = now.saturating_sub(span);
    let t1 = t0 + span;
    egui::ScrollArea::vertical().show(ui, |ui| {
        let snap = &playback.snapshot;
        for (li, line) in snap.lines.iter().enumerate() {
            for (si, st) in line.stations.iter().enumerate() {
                let (rect, response) = ui.allocate_exact_size(
                    egui::vec2(ui.available_width(), ROW),
                    egui::Sense::click(),
                );
                let painter = ui.painter_at(rect);
                painter.text(
                    rect.left_center(),
                    egui::Align2::LEFT_CENTER,
                    format!("{} · {}", line.name, st.name),
                    egui::FontId::proportional(11.0),
                    ui.visuals().text_color(),
                );
                let bar = egui::Rect::from_min_max(
                    egui::pos2(rect.left() + NAME_WIDTH, rect.top() + 1.0),
                    egui::pos2(rect.right() - 4.0, rect.bottom() - 1.0),
                );
                let x_of = |t: u64| {
                    let f = (t.saturating_sub(t0)) as f32 / span.max(1) as f32;
                    bar.left() + f.clamp(0.0, 1.0) * bar.width()
                };
                // Running unless a stop covers it.
                painter.rect_filled(
                    egui::Rect::from_x_y_ranges(x_of(t0)..=x_of(now), bar.y_range()),
                    0.0,
                    running(),
                );
                let spans = playback.timeline(li, si);
                let first = spans.partition_point(|&(_, end, _)| end < t0);
                for &(a, b, s) in &spans[first..] {
                    if a > t1 {
                        break;
                    }
                    let (xa, xb) = (x_of(a), x_of(b).max(x_of(a) + 1.0));
                    painter.rect_filled(
                        egui::Rect::from_x_y_ranges(xa..=xb, bar.y_range()),
                        0.0,
                        super::state_colour32(s),
                    );
                }
                // Speed steps set by level switches: a narrow band through the middle.
                let middle = bar.center().y;
                let (closed, open) = playback.speed_steps(li, si);
                // Spans end in order: those before the window are skipped by a search.
                let first = closed.partition_point(|&(_, end, _)| end < t0);
                for (a, b, step) in closed[first..].iter().copied().chain(open) {
                    if a > t1 {
                        continue;
                    }
                    let (xa, xb) = (x_of(a), x_of(b).max(x_of(a) + 1.0));
                    let colour = if step < 1.0 {
                        egui::Color32::from_rgb(0x1f, 0x3a, 0x93)
                    } else {
                        egui::Color32::from_rgb(0x76, 0xb7, 0xb2)
                    };
                    painter.rect_filled(
                        egui::Rect::from_x_y_ranges(xa..=xb, middle - 2.0..=middle + 2.0),
                        0.0,
                        colour,
                    );
                }
                if response.clicked()
                    && let Some(p) = response.interact_pointer_pos()
                    && p.x >= bar.left()
                {
                    jump = Some(time_at(p.x, bar.left(), bar.right(), t0, t1));
                }
                if response.hovered()
                    && let Some(p) = response.hover_pos()
                    && p.x >= bar.left()
                {
                    let t = time_at(p.x, bar.left(), bar.right(), t0, t1);
                    let at = spans
                        .iter()
                        .find(|&&(a, b, _)| a <= t.0 && t.0 < b)
                        .map_or("running".to_string(), |s| s.2.name().replace('_', " "));
                    response.on_hover_text(format!("{} · {at}", super::time::clock(t)));
                }
            }
        }
    });
    jump
}

fn running() -> egui::Color32 {
    egui::Color32::from_rgb(0x3b, 0x5e, 0x3d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_maps_back_to_its_time() {
        // A bar 100 px wide from x = 50 showing 1 h to 2 h: its middle is 1 h 30 min.
        let h = 3_600_000_000_000;
        assert_eq!(time_at(100.0, 50.0, 150.0, h, 2 * h), SimTime(h + h / 2));
        assert_eq!(time_at(0.0, 50.0, 150.0, h, 2 * h), SimTime(h));
        assert_eq!(time_at(999.0, 50.0, 150.0, h, 2 * h), SimTime(2 * h));
    }
}
