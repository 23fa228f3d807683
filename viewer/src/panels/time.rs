//! The time bar: play, pause, one event, speed, jump to a time, restart with a seed.

use crate::playback::{Command, Playback, SPEEDS};
use bevy_egui::egui;
use sim::SimTime;

/// `d hh:mm:ss` (days only when there are some).
pub fn clock(t: SimTime) -> String {
    let s = t.0 / 1_000_000_000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}:{sec:02}")
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    }
}

/// What the bar keeps between frames.
#[derive(Default)]
pub struct TimeBar {
    /// The jump target as typed, e.g. `2h30min`.
    pub jump: String,
    /// The seed to restart with.
    pub seed: u64,
    /// Why the last jump was refused.
    pub error: Option<String>,
}

/// Draws the bar; returns the command the user gave, if any.
pub fn show(
    ui: &mut egui::Ui,
    bar: &mut TimeBar,
    playback: &mut Playback,
    fps: f64,
) -> Option<Command> {
    let mut command = None;
    ui.horizontal_wrapped(|ui| {
        ui.strong(&playback.scenario().name);
        ui.separator();
        let now = playback.now();
        ui.monospace(format!("{} / {}", clock(now), clock(playback.horizon())));
        if let Some(stall) = playback.stalled() {
            ui.colored_label(egui::Color32::RED, "⚠ stopped")
                .on_hover_text(stall.to_string());
        }
        let play = if playback.playing {
            "⏸ Pause"
        } else {
            "▶ Play"
        };
        if ui
            .button(play)
            .on_hover_text("Space bar: play or pause")
            .clicked()
        {
            playback.playing = !playback.playing;
        }
        if ui
            .button("⏭ Event")
            .on_hover_text("Handle the next event alone (pauses)")
            .clicked()
        {
            command = Some(Command::StepEvent);
        }
        ui.separator();
        ui.label("Speed");
        ui.add(
            egui::Slider::new(&mut playback.speed, SPEEDS.0..=SPEEDS.1)
                .logarithmic(true)
                .suffix("×")
                .max_decimals(0),
        );
        if playback.playing && playback.achieved + 0.5 < playback.speed * 0.95 {
            ui.colored_label(
                egui::Color32::from_rgb(0xf9, 0xa8, 0x25),
                format!("reaching {:.0}×", playback.achieved),
            )
            .on_hover_text("The engine cannot keep up with this speed within a frame");
        }
        ui.separator();
        ui.label("Jump to");
        let edit = ui.add(
            egui::TextEdit::singleline(&mut bar.jump)
                .desired_width(70.0)
                .hint_text("e.g. 2h30min"),
        );
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Go").clicked() || enter {
            match twin_models::units::parse_duration(bar.jump.trim()) {
                Ok(d) => {
                    bar.error = None;
                    command = Some(Command::JumpTo(SimTime(d.0)));
                }
                Err(e) => bar.error = Some(format!("jump to `{}`: {e}", bar.jump.trim())),
            }
        }
        ui.separator();
        ui.label("Seed");
        ui.add(egui::DragValue::new(&mut bar.seed));
        if ui
            .button("⟲ Restart")
            .on_hover_text("Start the run over with this seed")
            .clicked()
        {
            command = Some(Command::Restart(bar.seed));
        }
        ui.separator();
        ui.weak(format!("{} events · {fps:.0} fps", playback.events));
    });
    if let Some(e) = &bar.error {
        ui.colored_label(egui::Color32::from_rgb(0xe5, 0x39, 0x35), e);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_days_hours_minutes_seconds() {
        assert_eq!(clock(SimTime(0)), "00:00:00");
        assert_eq!(clock(SimTime(3_723_000_000_000)), "01:02:03");
        assert_eq!(
            clock(SimTime((2 * 86_400 + 5 * 3600 + 7) * 1_000_000_000)),
            "2d 05:00:07"
        );
    }
}
