//! `twinline view`: the headless screenshot shows the plant as the engine has it. Runs the
//! real viewer under Xvfb with Mesa's software Vulkan (lavapipe); `scripts/test.sh`
//! installs both.
#![cfg(feature = "view")]

mod common;

use common::{assert_refused, read_png, root, scratch_dir, text};
use std::process::Command;
use twin_models::Twin;
use twin_models::line::StationState;
use twin_models::{RunSpec, load_scenario_with_files};

const HOUR: u64 = 3_600_000_000_000;

/// Runs `twinline view ARGS` in a virtual X server with software rendering.
fn view_headless(args: &[&str]) -> std::process::Output {
    Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1600x1000x24"])
        .arg(env!("CARGO_BIN_EXE_twinline"))
        .arg("view")
        .args(args)
        .env("WGPU_BACKEND", "vulkan")
        .current_dir(root())
        .output()
        .expect("xvfb-run runs (scripts/test.sh installs the Debian packages xvfb and mesa-vulkan-drivers)")
}

#[derive(serde::Deserialize)]
struct Map {
    width: u32,
    height: u32,
    time_s: f64,
    view: [u32; 4],
    machines: Vec<MachineAt>,
    vehicles: Vec<VehicleAt>,
}

#[derive(serde::Deserialize)]
struct MachineAt {
    line: String,
    station: String,
    state: String,
    rgb: [u8; 3],
    x: f32,
    y: f32,
}

#[derive(serde::Deserialize)]
struct VehicleAt {
    index: usize,
    x: f32,
    y: f32,
}

/// The state the engine had `m` in.
fn state_of(truth: &[(Station, StationState)], m: &MachineAt) -> StationState {
    truth
        .iter()
        .find(|(k, _)| *k == (m.line.clone(), m.station.clone()))
        .map(|(_, s)| *s)
        .unwrap()
}

fn pixel(rgb: &[u8], width: u32, x: u32, y: u32) -> [u8; 3] {
    let i = ((y * width + x) * 3) as usize;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

/// Pixels within `r` of (x, y) that satisfy `want`.
fn around(
    rgb: &[u8],
    w: u32,
    h: u32,
    x: f32,
    y: f32,
    r: i32,
    want: impl Fn([u8; 3]) -> bool,
) -> usize {
    let mut n = 0;
    for dy in -r..=r {
        for dx in -r..=r {
            let (px, py) = (x as i32 + dx, y as i32 + dy);
            if px >= 0
                && py >= 0
                && (px as u32) < w
                && (py as u32) < h
                && want(pixel(rgb, w, px as u32, py as u32))
            {
                n += 1;
            }
        }
    }
    n
}

fn near(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
    a.iter()
        .zip(b)
        .all(|(&x, y)| (x as i32 - y as i32).abs() <= tol)
}

/// A station by line and station name.
type Station = (String, String);

fn load(file: &str) -> twin_models::Scenario {
    let path = root().join("scenarios").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let dir = path.parent().unwrap().to_path_buf();
    let read = move |n: &str| std::fs::read_to_string(dir.join(n)).map_err(|e| e.to_string());
    load_scenario_with_files(file, &text, &read).unwrap()
}

/// The first whole minute from `from_h` hours on at which the engine (alone, without the
/// viewer) has machines in at least three states, and those states by (line, station).
fn mixed_moment(file: &str, from_h: u64) -> (u64, Vec<(Station, StationState)>) {
    let s = load(file);
    let mut twin = Twin::new(&s, RunSpec::of(&s));
    let minute = 60_000_000_000;
    let mut t = from_h * HOUR;
    loop {
        twin.advance_to(sim::SimTime(t));
        let snap = twin.snapshot();
        let states: Vec<_> = snap
            .lines
            .iter()
            .flat_map(|l| {
                l.stations
                    .iter()
                    .map(|st| ((l.name.clone(), st.name.clone()), st.state))
            })
            .collect();
        let distinct: std::collections::BTreeSet<_> =
            states.iter().map(|(_, s)| *s as usize).collect();
        if distinct.len() >= 3 {
            return (t / 1_000_000_000, states);
        }
        t += minute;
        assert!(
            t < twin.horizon().0,
            "no moment with three machine states in {file}"
        );
    }
}

#[test]
fn the_screenshot_shows_each_machine_in_its_state_colour_where_it_stands() {
    let dir = scratch_dir("viewer", "agv");
    let (png, map) = (dir.join("plant.png"), dir.join("plant.json"));
    let (at_s, truth) = mixed_moment("plant-agv.toml", 2);
    let at = format!("{at_s}s");
    let o = view_headless(&[
        "scenarios/plant-agv.toml",
        "--at",
        &at,
        "--screenshot",
        png.to_str().unwrap(),
        "--screenshot-map",
        map.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let (rgb, w, h) = read_png(&png);
    assert_eq!((w, h), (1280, 720), "the default window size");
    let map: Map = serde_json::from_str(&std::fs::read_to_string(&map).unwrap()).unwrap();
    assert_eq!(
        (map.width, map.height, map.time_s),
        (1280, 720, at_s as f64)
    );
    // The 3D view is what the panels leave: inside the window, and most of its middle.
    let [vx, vy, vw, vh] = map.view;
    assert!(
        vx > 0 && vy > 0 && vx + vw < w && vy + vh < h && vw > w / 3 && vh > h / 3,
        "{:?}",
        map.view
    );

    // Every machine of both lines is in the picture, in the state the engine has then
    // (worked out above with the engine alone), and its lamp shows that state's colour.
    assert_eq!(map.machines.len(), truth.len(), "all 10 machines framed");
    let mut colours = std::collections::BTreeSet::new();
    for m in &map.machines {
        let state = state_of(&truth, m);
        assert_eq!(m.state, state.name(), "{} {}", m.line, m.station);
        assert_eq!(m.rgb, state.rgb());
        let hits = around(&rgb, w, h, m.x, m.y, 2, |p| near(p, m.rgb, 3));
        assert!(
            hits >= 20,
            "{} {} ({}): only {hits} of 25 pixels around ({}, {}) have its colour {:?}; centre is {:?}",
            m.line,
            m.station,
            m.state,
            m.x,
            m.y,
            m.rgb,
            pixel(&rgb, w, m.x as u32, m.y as u32)
        );
        colours.insert(m.rgb);
    }
    assert!(colours.len() >= 3, "three state colours in the picture");
    // The state colours appear nowhere else in the lamps' rows by accident: a machine's
    // lamp colour is not the floor's.
    let floor = pixel(&rgb, w, vx + 4, vy + vh - 4);
    assert!(colours.iter().all(|c| !near(*c, floor, 12)));

    // All 12 AGVs are drawn where the map says: yellow bodies (or a load on them).
    assert_eq!(map.vehicles.len(), 12);
    for v in &map.vehicles {
        let yellow = around(&rgb, w, h, v.x, v.y, 4, |[r, g, b]| {
            r > 150 && g > 90 && b < 80
        });
        assert!(
            yellow > 0,
            "AGV {} at ({}, {}) is not drawn",
            v.index,
            v.x,
            v.y
        );
    }
}

#[test]
fn a_snapshot_opens_in_the_viewer_at_its_time_with_its_machines_as_they_were() {
    let dir = scratch_dir("viewer", "resume");
    let (png, map, snap) = (
        dir.join("resumed.png"),
        dir.join("resumed.json"),
        dir.join("agv.snap"),
    );
    let (at_s, truth) = mixed_moment("plant-agv.toml", 3);
    let run = common::twinline(&[
        "run",
        "scenarios/plant-agv.toml",
        "--snapshot-at",
        &format!("{at_s}s"),
        "--snapshot",
        snap.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    // The snapshot alone: its scenario comes with it.
    let o = view_headless(&[
        "--resume",
        snap.to_str().unwrap(),
        "--screenshot",
        png.to_str().unwrap(),
        "--screenshot-map",
        map.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let map: Map = serde_json::from_str(&std::fs::read_to_string(&map).unwrap()).unwrap();
    assert_eq!(map.time_s, at_s as f64, "opened at the snapshot's time");
    assert_eq!(map.machines.len(), truth.len());
    for m in &map.machines {
        let state = state_of(&truth, m);
        assert_eq!(m.state, state.name(), "{} {}", m.line, m.station);
    }
    assert_refused(
        &[
            "view",
            "--resume",
            snap.to_str().unwrap(),
            "--at",
            "1h",
            "--screenshot",
            "x.png",
        ],
        "before the snapshot's time",
    );
}

#[test]
fn a_screenshot_past_the_horizon_or_into_a_missing_folder_is_refused_before_any_window() {
    let view = "scenarios/bottling-line-serial.toml";
    assert_refused(
        &["view", view, "--at", "999d", "--screenshot", "x.png"],
        "past the run's horizon",
    );
    assert_refused(
        &["view", view, "--screenshot", "/no/such/dir/x.png"],
        "no directory /no/such/dir",
    );
    assert_refused(&["view", view, "--speed", "50000"], "from 1 to 10000");
    // Without a display: a plain message and status 1, not a panic.
    let o = Command::new(env!("CARGO_BIN_EXE_twinline"))
        .args(["view", view])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("no display to open the window on"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains("panicked"), "{}", text(&o));
    // `--set` takes one value of a field that exists.
    let agv = "scenarios/plant-agv.toml";
    assert_refused(&["view", agv, "--set", "fleet.size=4,8"], "one value only");
    assert_refused(
        &["view", agv, "--set", "lines.L1.buffers.nope.capacity=5"],
        "no `lines.L1.buffers` entry named `nope`",
    );
    assert!(!root().join("x.png").exists());
}

#[test]
fn frames_are_measured_on_the_stress_plant_with_a_set_field() {
    // 500 AGVs cut to 40 with --set (the field the what-if panel changes), ten lines,
    // playing at 600×: the viewer draws the frames asked for and reports them.
    let o = view_headless(&[
        "scenarios/stress/viewer-500.toml",
        "--set",
        "fleet.size=40",
        "--play",
        "--speed",
        "600",
        "--frames",
        "10",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("10 frames, 70 machines, 40 AGVs"), "{out}");
    let simulated: f64 = out
        .split(" AGVs, ")
        .nth(1)
        .and_then(|r| r.split(" simulated").next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(simulated > 0.0, "playing moves time: {out}");
    for row in ["frame (wall)", "engine (advance)", "scene sync"] {
        assert!(out.contains(row), "{out}");
    }
}
