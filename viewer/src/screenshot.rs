//! One frame to a PNG, then exit: for CI and docs. The frame is taken once the renderer
//! has compiled every pipeline it asked for (on a software renderer the PBR pipeline takes
//! seconds, and a frame before that shows panels but no meshes). Optionally writes where
//! each machine's state lamp and each AGV landed in the picture, as JSON.

use crate::camera::ViewCamera;
use crate::layout::PlantLayout;
use crate::playback::Playback;
use crate::scene::SceneLayout;
use bevy::prelude::*;
use bevy::render::render_resource::PipelineCache;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::render::{Render, RenderApp};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Frames to draw before looking at the pipelines at all (the scene and panels spawn
/// and queue their pipelines over the first frames).
const WARM_FRAMES: u32 = 8;
/// Frames in a row with no pipeline waiting before the picture is taken.
const SETTLED_FRAMES: u32 = 4;
/// Frames after which the picture is given up on.
const GIVE_UP_FRAMES: u32 = 3_000;

/// Pipelines the render world is still compiling (`usize::MAX` until it has looked).
#[derive(Resource, Clone)]
pub struct PendingPipelines(pub Arc<AtomicUsize>);

fn count_pending(cache: Res<PipelineCache>, pending: Res<PendingPipelines>) {
    pending
        .0
        .store(cache.waiting_pipelines().count(), Ordering::Relaxed);
}

/// Puts the pipeline count where the main world can read it.
pub fn watch_pipelines(app: &mut App) -> PendingPipelines {
    let pending = PendingPipelines(Arc::new(AtomicUsize::new(usize::MAX)));
    if let Some(render) = app.get_sub_app_mut(RenderApp) {
        render.insert_resource(pending.clone());
        render.add_systems(Render, count_pending);
    }
    pending
}

/// The outcome of a screenshot run, read by [`crate::run`] once the app has exited.
pub type Outcome = Arc<Mutex<Option<Result<(), String>>>>;

/// A picture to take.
#[derive(Resource)]
pub struct ScreenshotPlan {
    /// PNG file.
    pub path: PathBuf,
    /// Where to write the positions of things in the picture, if wanted.
    pub map: Option<PathBuf>,
    /// How it went.
    pub outcome: Outcome,
    frames: u32,
    settled: u32,
    taken: bool,
}

impl ScreenshotPlan {
    /// A plan to write `path` (and `map`), reporting into `outcome`.
    pub fn new(path: PathBuf, map: Option<PathBuf>, outcome: Outcome) -> Self {
        ScreenshotPlan {
            path,
            map,
            outcome,
            frames: 0,
            settled: 0,
            taken: false,
        }
    }
}

/// A machine in the picture.
#[derive(Serialize, Debug, Clone)]
pub struct MachineInPicture {
    /// Line name.
    pub line: String,
    /// Station name.
    pub station: String,
    /// Its state when the picture was taken.
    pub state: String,
    /// The state colour, sRGB.
    pub rgb: [u8; 3],
    /// Centre of its state lamp, pixels from the top left.
    pub x: f32,
    /// Centre of its state lamp, pixels from the top left.
    pub y: f32,
}

/// An AGV in the picture.
#[derive(Serialize, Debug, Clone)]
pub struct VehicleInPicture {
    /// Vehicle number.
    pub index: usize,
    /// Centre, pixels from the top left.
    pub x: f32,
    /// Centre, pixels from the top left.
    pub y: f32,
}

/// Where things are in a screenshot.
#[derive(Serialize, Debug, Clone)]
pub struct PictureMap {
    /// Picture width, pixels.
    pub width: u32,
    /// Picture height, pixels.
    pub height: u32,
    /// Simulated time shown, seconds.
    pub time_s: f64,
    /// The 3D view's rectangle: x, y, width, height in pixels.
    pub view: [u32; 4],
    /// Every machine inside the view.
    pub machines: Vec<MachineInPicture>,
    /// Every AGV inside the view.
    pub vehicles: Vec<VehicleInPicture>,
}

/// Where each machine's lamp and AGV falls in the picture through `camera`.
pub fn picture_map(
    layout: &PlantLayout,
    playback: &Playback,
    camera: &Camera,
    gt: &GlobalTransform,
    size: UVec2,
) -> PictureMap {
    let view = camera
        .viewport
        .as_ref()
        .map_or([0, 0, size.x, size.y], |v| {
            [
                v.physical_position.x,
                v.physical_position.y,
                v.physical_size.x,
                v.physical_size.y,
            ]
        });
    let inside = |p: Vec2| {
        p.x >= view[0] as f32
            && p.y >= view[1] as f32
            && p.x < (view[0] + view[2]) as f32
            && p.y < (view[1] + view[3]) as f32
    };
    let snap = &playback.snapshot;
    let mut machines = Vec::new();
    for m in &layout.machines {
        let (Some(line), Ok(p)) = (
            snap.lines.get(m.line),
            camera.world_to_viewport(gt, m.top() + Vec3::Y * 0.1),
        ) else {
            continue;
        };
        let st = &line.stations[m.station];
        if inside(p) {
            machines.push(MachineInPicture {
                line: line.name.clone(),
                station: st.name.clone(),
                state: st.state.name().to_string(),
                rgb: st.state.rgb(),
                x: p.x,
                y: p.y,
            });
        }
    }
    let mut vehicles = Vec::new();
    for v in &snap.vehicles {
        if let Ok(p) = camera.world_to_viewport(gt, crate::layout::floor(v.at) + Vec3::Y * 0.4)
            && inside(p)
        {
            vehicles.push(VehicleInPicture {
                index: v.index,
                x: p.x,
                y: p.y,
            });
        }
    }
    PictureMap {
        width: size.x,
        height: size.y,
        time_s: playback.now().as_secs_f64(),
        view,
        machines,
        vehicles,
    }
}

/// Waits for the renderer, then asks for the picture and writes it (and the map) when it
/// comes back, and exits.
#[allow(clippy::too_many_arguments)]
pub fn take(
    mut commands: Commands,
    mut plan: ResMut<ScreenshotPlan>,
    pending: Res<PendingPipelines>,
    playback: Res<Playback>,
    layout: Option<Res<SceneLayout>>,
    camera: Single<(&Camera, &GlobalTransform), With<ViewCamera>>,
    window: Single<&Window>,
    mut exit: MessageWriter<AppExit>,
) {
    if plan.taken {
        return;
    }
    plan.frames += 1;
    if plan.frames > GIVE_UP_FRAMES {
        *plan.outcome.lock().expect("outcome lock") = Some(Err(format!(
            "the renderer still had pipelines to compile after {GIVE_UP_FRAMES} frames; no screenshot taken"
        )));
        exit.write(AppExit::error());
        return;
    }
    let waiting = pending.0.load(Ordering::Relaxed);
    plan.settled = if plan.frames > WARM_FRAMES && waiting == 0 {
        plan.settled + 1
    } else {
        0
    };
    if plan.settled < SETTLED_FRAMES {
        return;
    }
    let Some(layout) = layout else {
        return;
    };
    plan.taken = true;
    let (cam, gt) = *camera;
    let size = UVec2::new(window.physical_width(), window.physical_height());
    let map = picture_map(&layout.0, &playback, cam, gt, size);
    let (path, map_path, outcome) = (
        plan.path.clone(),
        plan.map.clone(),
        Arc::clone(&plan.outcome),
    );
    commands.spawn(Screenshot::primary_window()).observe(
        move |shot: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| {
            let result = write_png(&path, &shot.image).and_then(|()| match &map_path {
                Some(p) => {
                    let text = serde_json::to_string_pretty(&map).expect("the map serialises");
                    std::fs::write(p, text + "\n")
                        .map_err(|e| format!("{}: cannot write the picture map: {e}", p.display()))
                }
                None => Ok(()),
            });
            let failed = result.is_err();
            *outcome.lock().expect("outcome lock") = Some(result);
            exit.write(if failed {
                AppExit::error()
            } else {
                AppExit::Success
            });
        },
    );
}

/// Writes an 8-bit RGB PNG of a captured frame (the alpha channel is dropped: with HDR it
/// holds brightness, not coverage).
fn write_png(path: &std::path::Path, image: &Image) -> Result<(), String> {
    let rgb = image
        .clone()
        .try_into_dynamic()
        .map_err(|e| format!("the captured frame cannot be read: {e}"))?
        .to_rgb8();
    let (w, h) = rgb.dimensions();
    let file = std::fs::File::create(path)
        .map_err(|e| format!("{}: cannot write the screenshot: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(rgb.as_raw()))
        .map_err(|e| format!("{}: cannot write the screenshot: {e}", path.display()))
}
