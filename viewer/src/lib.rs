//! The twinline viewer: the running twin in a bevy window with egui panels.
//!
//! The plant is drawn from its scenario ([`layout::PlantLayout`]): machines as boxes
//! coloured by state with a state lamp on top, conveyors filling and draining, AGVs
//! gliding between the places the engine puts them with their load and battery, racks,
//! docks, chargers and the fleet's path graph. Around the 3D view: time controls, the
//! inspector, what-if changes, live KPIs and plots, alerts and a station timeline. The
//! engine is the same [`twin_models::Twin`] the headless runs use, so what you
//! watch is what `twinline run` measures.
//!
//! [`run`] opens the window and returns when it closes; with
//! [`ViewerOptions::screenshot`] it renders one frame to a PNG and returns. The viewer is
//! the one library of the workspace that does I/O of its own (the window, the clock for
//! pacing, the screenshot file).
//!
//! The geometry needs no window, so it can be checked anywhere:
//!
//! ```
//! let scenario = twin_models::load_scenario(
//!     "demo.toml",
//!     r#"
//! name = "demo"
//! [run]
//! horizon = "1h"
//! [[lines]]
//! name = "L1"
//! [[lines.stations]]
//! name = "filler"
//! kind = "filler"
//! speed = "36000/h"
//! [[lines.stations]]
//! name = "capper"
//! kind = "capper"
//! speed = "38000/h"
//! [[lines.buffers]]
//! name = "filler-capper"
//! from = "filler"
//! to = "capper"
//! capacity = 500
//! "#,
//! )
//! .unwrap();
//! let layout = twinline_viewer::PlantLayout::of(&scenario);
//! assert_eq!(layout.machines.len(), 2);
//! assert_eq!(layout.belts.len(), 1);
//! // The belt runs from the filler's box to the capper's.
//! assert!(layout.belts[0].from.x > layout.machines[0].at.x);
//! assert!(layout.belts[0].to.x < layout.machines[1].at.x);
//! ```

pub mod camera;
pub mod frames;
pub mod layout;
pub mod panels;
pub mod playback;
pub mod scene;
pub mod screenshot;
pub mod selection;
pub mod sync;

pub use frames::FrameStats;
pub use layout::PlantLayout;
pub use playback::{Command, Playback};
pub use screenshot::PictureMap;
pub use selection::Selection;

use bevy::camera::visibility::RenderLayers;
use bevy::camera::{CameraOutputMode, ClearColorConfig};
use bevy::prelude::*;
use bevy::render::render_resource::BlendState;
use bevy::window::{PresentMode, WindowResolution};
use bevy_egui::{EguiGlobalSettings, EguiPlugin, EguiPrimaryContextPass, PrimaryEguiContext};
use sim::SimTime;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use twin_models::Scenario;

/// Builds the scenario again with fields changed, as (dotted path, TOML value) pairs:
/// the what-if panel's way back to the scenario file. Errors are shown in the panel.
pub type RebuildFn = dyn Fn(&[(String, String)]) -> Result<Scenario, String> + Send + Sync;

/// The rebuild function, as a resource.
#[derive(Resource)]
pub struct Rebuild(pub Box<RebuildFn>);

/// Set when the plant changed shape (a what-if) and the scene must be built again.
#[derive(Resource, Default)]
pub struct SceneStale(pub bool);

/// What to open and how.
pub struct ViewerOptions {
    /// The plant.
    pub scenario: Scenario,
    /// How the what-if panel rebuilds it with changes.
    pub rebuild: Box<RebuildFn>,
    /// Seed of the run (the scenario's when `None`).
    pub seed: Option<u64>,
    /// A snapshot (its bytes) of a run of `scenario` to open at its time instead of
    /// starting at 0.
    pub resume: Option<Vec<u8>>,
    /// Run to this time before the first frame.
    pub at: Option<SimTime>,
    /// Simulated seconds per wall second.
    pub speed: f64,
    /// Start playing at once.
    pub play: bool,
    /// Look straight down (orthographic).
    pub top_down: bool,
    /// Render one frame to this PNG file and return.
    pub screenshot: Option<PathBuf>,
    /// With `screenshot`: also write where each machine and AGV is in the picture (JSON).
    pub screenshot_map: Option<PathBuf>,
    /// Window size, pixels.
    pub size: (u32, u32),
    /// Draw this many frames (after a short warm-up), then close and report frame times.
    pub frames: Option<u32>,
}

/// Why the viewer stopped short.
#[derive(Debug, thiserror::Error)]
pub enum ViewerError {
    /// The screenshot could not be taken or written.
    #[error("screenshot: {0}")]
    Screenshot(String),
    /// The snapshot to open cannot be resumed.
    #[error("cannot open the snapshot: {0}")]
    Snapshot(String),
    /// There is no display to open a window on.
    #[error(
        "no display to open the window on: DISPLAY is not set (without a screen, run under `xvfb-run -a`; see docs/viewer.md)"
    )]
    NoDisplay,
    /// The window closed with an error (bevy logs the cause).
    #[error("the viewer stopped with an error (see the log above)")]
    App,
}

/// Opens the viewer and returns when its window closes (or the screenshot is written);
/// with [`ViewerOptions::frames`], the frame times measured.
pub fn run(options: ViewerOptions) -> Result<Option<FrameStats>, ViewerError> {
    // The window system would panic deep inside winit; say it plainly instead. (The
    // viewer is built for X11, which Wayland desktops provide through XWayland.)
    if cfg!(target_os = "linux") && std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty()) {
        return Err(ViewerError::NoDisplay);
    }
    let scenario = Arc::new(options.scenario);
    let mut playback = match options.resume {
        Some(bytes) => Playback::resumed(scenario, Arc::new(bytes), options.seed)
            .map_err(|e| ViewerError::Snapshot(e.to_string()))?,
        None => Playback::new(
            Arc::clone(&scenario),
            options.seed.unwrap_or(scenario.run.seed),
        ),
    };
    let seed = playback.seed;
    playback.speed = options.speed.clamp(playback::SPEEDS.0, playback::SPEEDS.1);
    if let Some(at) = options.at {
        playback.advance_to(at, || true);
    }
    playback.playing = options.play && options.screenshot.is_none();
    let knobs = panels::whatif::knobs(playback.scenario());
    let title = format!("twinline — {}", playback.scenario().name);
    let mut panel_state = panels::PanelState::default();
    panel_state.time.seed = seed;
    panel_state.what_if.knobs = knobs;
    let outcome: screenshot::Outcome = Arc::new(Mutex::new(None));

    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title,
                    resolution: WindowResolution::new(options.size.0, options.size.1)
                        .with_scale_factor_override(1.0),
                    present_mode: PresentMode::AutoVsync,
                    ..default()
                }),
                ..default()
            })
            .set(bevy::log::LogPlugin {
                level: bevy::log::Level::WARN,
                filter: "wgpu=error,naga=warn,bevy_render=warn,bevy_winit=warn".into(),
                ..default()
            }),
    )
    .add_plugins(EguiPlugin::default())
    .insert_resource(ClearColor(Color::srgb_u8(0x1e, 0x21, 0x26)))
    .insert_resource(playback)
    .insert_resource(panel_state)
    .insert_resource(Selection::None)
    .insert_resource(SceneStale(true))
    .insert_resource(Rebuild(options.rebuild))
    .insert_resource(StartView {
        top_down: options.top_down,
    })
    .add_systems(Startup, setup)
    .add_systems(
        Update,
        (
            advance,
            rebuild_scene,
            frames::sync_begins,
            (
                sync::machines,
                sync::speed_gauges,
                sync::belts,
                sync::vehicles,
                sync::route,
            ),
            frames::sync_ends,
            selection::click,
            camera::control,
            camera::apply,
        )
            .chain(),
    )
    .add_systems(EguiPrimaryContextPass, panels::ui);
    if let Some(path) = options.screenshot {
        let pending = screenshot::watch_pipelines(&mut app);
        app.insert_resource(pending)
            .insert_resource(screenshot::ScreenshotPlan::new(
                path,
                options.screenshot_map,
                Arc::clone(&outcome),
            ))
            .add_systems(Update, screenshot::take.after(camera::apply));
    }
    let stats = Arc::new(Mutex::new(None));
    if let Some(n) = options.frames {
        app.insert_resource(frames::FrameClock::new(n.max(1), Arc::clone(&stats)));
    }
    let exit = app.run();
    if let Some(result) = outcome.lock().expect("outcome lock").take() {
        return result.map(|()| None).map_err(ViewerError::Screenshot);
    }
    match exit {
        AppExit::Success => Ok(stats.lock().expect("frame stats lock").take()),
        AppExit::Error(_) => Err(ViewerError::App),
    }
}

/// How the camera starts.
#[derive(Resource)]
struct StartView {
    top_down: bool,
}

fn setup(
    mut commands: Commands,
    mut egui_settings: ResMut<EguiGlobalSettings>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    // egui gets a camera of its own so the 3D camera can keep to what the panels leave.
    egui_settings.auto_create_primary_context = false;
    commands.spawn((
        PrimaryEguiContext,
        Camera2d,
        RenderLayers::none(),
        Camera {
            order: 1,
            output_mode: CameraOutputMode::Write {
                blend_state: Some(BlendState::ALPHA_BLENDING),
                clear_color: ClearColorConfig::None,
            },
            clear_color: ClearColorConfig::Custom(Color::NONE),
            ..default()
        },
    ));
    commands.insert_resource(scene::Palette::new(&mut meshes, &mut materials));
    scene::lights(&mut commands);
}

/// Builds the scene (at start, and again after a what-if) and frames it.
#[allow(clippy::too_many_arguments)]
fn rebuild_scene(
    mut commands: Commands,
    mut stale: ResMut<SceneStale>,
    playback: Res<Playback>,
    palette: Option<Res<scene::Palette>>,
    start: Res<StartView>,
    roots: Query<Entity, With<scene::SceneRoot>>,
    cameras: Query<Entity, With<camera::ViewCamera>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let Some(palette) = palette else {
        return;
    };
    if !stale.0 {
        return;
    }
    stale.0 = false;
    for e in &roots {
        commands.entity(e).despawn();
    }
    let layout = scene::build(
        &mut commands,
        &playback,
        &palette,
        &mut meshes,
        &mut materials,
    );
    if cameras.is_empty() {
        let mut view = camera::ViewCamera::framing(&layout.bounds, 1.3);
        view.top_down = start.top_down;
        camera::spawn(&mut commands, view);
    }
    commands.insert_resource(scene::SceneLayout(layout));
}

/// Runs the twin on by the frame's wall time times the speed, within a frame's budget.
#[allow(clippy::disallowed_methods)] // the viewer paces to the wall clock by design
fn advance(
    mut playback: ResMut<Playback>,
    time: Res<Time<Real>>,
    clock: Option<ResMut<frames::FrameClock>>,
) {
    let started = std::time::Instant::now();
    advance_by(&mut playback, time.delta_secs_f64(), started);
    if let Some(mut c) = clock {
        c.engine_took(started.elapsed());
    }
}

fn advance_by(playback: &mut Playback, frame_s: f64, started: std::time::Instant) {
    if !playback.playing {
        playback.achieved = 0.0;
        return;
    }
    if playback.now() >= playback.horizon() {
        playback.playing = false;
        return;
    }
    // A long stall (window dragged, machine busy) does not turn into a leap.
    let dt = frame_s.min(0.25);
    let before = playback.now();
    let target = SimTime(before.0 + (dt * playback.speed * 1e9) as u64);
    let budget = std::time::Duration::from_millis(25);
    playback.advance_to(target, || started.elapsed() < budget);
    if dt > 0.0 {
        let rate = playback.now().since(before).as_secs_f64() / dt;
        playback.achieved = if playback.achieved == 0.0 {
            rate
        } else {
            playback.achieved * 0.9 + rate * 0.1
        };
    }
}
