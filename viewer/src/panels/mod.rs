//! The egui panels around the 3D view: time bar on top, inspector and what-if on the
//! left, KPIs and alerts on the right, the station timeline at the bottom; labels and the
//! state legend over the view. The 3D camera draws in what the panels leave free.

pub mod gantt;
pub mod inspector;
pub mod kpis;
pub mod time;
pub mod whatif;

use crate::camera::ViewCamera;
use crate::playback::{Command, Playback};
use crate::scene::{SceneLayout, Vehicle};
use crate::selection::{Selection, selection_point};
use crate::{Rebuild, SceneStale};
use bevy::camera::Viewport;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::{EguiContexts, egui};
use std::sync::Arc;
use twin_models::line::StationState;

/// What the panels keep between frames.
#[derive(Resource, Default)]
pub struct PanelState {
    /// The time bar.
    pub time: time::TimeBar,
    /// The KPI panel.
    pub kpis: kpis::KpiPanel,
    /// The what-if panel.
    pub what_if: whatif::WhatIf,
    /// Gantt window, hours.
    pub window_h: f64,
    /// Smoothed frames per second.
    pub fps: f64,
}

/// A state's colour for egui (the same sRGB as the 3D lamps and the reports).
pub fn state_colour32(state: StationState) -> egui::Color32 {
    let [r, g, b] = state.rgb();
    egui::Color32::from_rgb(r, g, b)
}

/// Draws every panel and gives the camera the rest of the window.
#[allow(clippy::too_many_arguments)]
pub fn ui(
    mut contexts: EguiContexts,
    mut playback: ResMut<Playback>,
    mut state: ResMut<PanelState>,
    mut selection: ResMut<Selection>,
    mut stale: ResMut<SceneStale>,
    rebuild: Res<Rebuild>,
    layout: Option<Res<SceneLayout>>,
    vehicles: Query<&Vehicle>,
    time: Res<Time>,
    window: Single<&Window, With<PrimaryWindow>>,
    mut camera: Single<(&mut Camera, &GlobalTransform, &mut ViewCamera)>,
) -> Result {
    let ctx = contexts.ctx_mut()?.clone();
    let dt = time.delta_secs_f64();
    if dt > 0.0 {
        state.fps = if state.fps == 0.0 {
            1.0 / dt
        } else {
            state.fps * 0.95 + 0.05 / dt
        };
    }
    let mut root = egui::Ui::new(
        ctx.clone(),
        "viewer".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    let state = &mut *state;
    let mut commands: Vec<Command> = Vec::new();
    let mut focus = false;
    egui::Panel::top("time").show(&mut root, |ui| {
        if let Some(c) = time::show(ui, &mut state.time, &mut playback, state.fps) {
            commands.push(c);
        }
    });
    egui::Panel::left("left")
        .default_size(300.0)
        .resizable(true)
        .show(&mut root, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("left-scroll")
                .show(ui, |ui| {
                    ui.heading("Inspector");
                    if let Some(layout) = &layout {
                        focus = inspector::show(ui, *selection, &playback, &layout.0);
                    }
                    ui.horizontal(|ui| {
                        let cam_view = &mut camera.2;
                        ui.checkbox(&mut cam_view.top_down, "Top-down 2D")
                            .on_hover_text("T");
                        if matches!(*selection, Selection::Vehicle(_)) {
                            ui.checkbox(&mut cam_view.follow, "Follow");
                        }
                    });
                    ui.separator();
                    legend(ui);
                    ui.separator();
                    egui::CollapsingHeader::new("What if…")
                        .default_open(false)
                        .show(ui, |ui| {
                            if whatif::show(ui, &mut state.what_if) {
                                let changes = state.what_if.changes();
                                match (rebuild.0)(&changes) {
                                    Ok(scenario) => {
                                        state.what_if.error = None;
                                        state.what_if.applied = changes;
                                        let seed = playback.seed;
                                        playback.restart(Arc::new(scenario), seed);
                                        *selection = Selection::None;
                                        stale.0 = true;
                                    }
                                    Err(e) => state.what_if.error = Some(e),
                                }
                            }
                        });
                });
        });
    egui::Panel::right("right")
        .default_size(340.0)
        .resizable(true)
        .show(&mut root, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("right-scroll")
                .show(ui, |ui| {
                    ui.heading("KPIs");
                    kpis::show(ui, &mut state.kpis, &playback);
                    ui.separator();
                    kpis::alerts(ui, &playback);
                });
        });
    egui::Panel::bottom("gantt")
        .default_size(170.0)
        .resizable(true)
        .show(&mut root, |ui| {
            if state.window_h == 0.0 {
                state.window_h = 8.0;
            }
            if let Some(t) = gantt::show(ui, &playback, &mut state.window_h) {
                commands.push(Command::JumpTo(t));
            }
        });
    // What the panels leave is the 3D view.
    let free = root.available_rect_before_wrap();
    let scale = window.scale_factor();
    let (cam, gt, view) = &mut *camera;
    let win = UVec2::new(window.physical_width(), window.physical_height()).max(UVec2::ONE);
    let pos =
        UVec2::new((free.min.x * scale) as u32, (free.min.y * scale) as u32).min(win - UVec2::ONE);
    let size = UVec2::new(
        (free.width() * scale) as u32,
        (free.height() * scale) as u32,
    )
    .min(win - pos)
    .max(UVec2::ONE);
    let wanted = Viewport {
        physical_position: pos,
        physical_size: size,
        ..default()
    };
    if cam
        .viewport
        .as_ref()
        .map(|v| (v.physical_position, v.physical_size))
        != Some((wanted.physical_position, wanted.physical_size))
    {
        cam.viewport = Some(wanted);
    }
    labels(&ctx, free, cam, gt, &playback, layout.as_deref());
    // Keys, unless a text field has them.
    if !ctx.egui_wants_keyboard_input() {
        ctx.input(|i| {
            if i.key_pressed(egui::Key::Space) {
                playback.playing = !playback.playing;
            }
            if i.key_pressed(egui::Key::T) {
                view.top_down = !view.top_down;
            }
            if i.key_pressed(egui::Key::F) {
                focus = true;
            }
            if i.key_pressed(egui::Key::Escape) {
                *selection = Selection::None;
            }
        });
    }
    if focus
        && let Some(layout) = &layout
        && let Some(p) = selection_point(*selection, layout, &vehicles)
    {
        view.focus = p * Vec3::new(1.0, 0.0, 1.0);
        view.distance = view.distance.min(30.0);
        view.follow = matches!(*selection, Selection::Vehicle(_));
    }
    for c in commands {
        playback.apply(c);
    }
    Ok(())
}

/// The state colours.
fn legend(ui: &mut egui::Ui) {
    ui.strong("Machine states");
    egui::Grid::new("legend").num_columns(2).show(ui, |ui| {
        for s in StationState::ALL {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            ui.painter().rect_filled(rect, 2.0, state_colour32(s));
            ui.label(s.name().replace('_', " "));
            ui.end_row();
        }
    });
    ui.weak("AGVs: yellow (cyan when picked), brown box = load, bar = battery.");
    ui.weak("Mouse: left drag orbit, right drag pan, wheel zoom, click to inspect.");
}

/// Station names over their machines, where they fit.
fn labels(
    ctx: &egui::Context,
    free: egui::Rect,
    cam: &Camera,
    gt: &GlobalTransform,
    playback: &Playback,
    layout: Option<&SceneLayout>,
) {
    let Some(layout) = layout else {
        return;
    };
    let painter = ctx
        .layer_painter(egui::LayerId::new(
            egui::Order::Background,
            egui::Id::new("labels"),
        ))
        .with_clip_rect(free);
    let mut placed: Vec<egui::Rect> = Vec::with_capacity(layout.0.machines.len());
    for m in &layout.0.machines {
        // Above the lamp, never over it: the lamp is the state.
        let Ok(p) = cam.world_to_viewport(gt, m.top() + Vec3::Y * 1.5) else {
            continue;
        };
        let Some(st) = playback
            .snapshot
            .lines
            .get(m.line)
            .and_then(|l| l.stations.get(m.station))
        else {
            continue;
        };
        let text = if m.station == 0 {
            format!("{} · {}", playback.snapshot.lines[m.line].name, st.name)
        } else {
            st.name.clone()
        };
        let galley =
            painter.layout_no_wrap(text, egui::FontId::proportional(12.0), egui::Color32::WHITE);
        let size = galley.size() + egui::vec2(4.0, 4.0);
        let rect = egui::Rect::from_min_size(egui::pos2(p.x - size.x / 2.0, p.y - size.y), size);
        if !free.contains_rect(rect) || placed.iter().any(|r| r.intersects(rect)) {
            continue;
        }
        placed.push(rect);
        painter.rect_filled(rect, 3.0, egui::Color32::from_black_alpha(150));
        painter.galley(
            rect.min + egui::vec2(2.0, 2.0),
            galley,
            egui::Color32::WHITE,
        );
    }
}
