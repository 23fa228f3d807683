//! What the CLI's test binaries share: the repository root, running the binary, and
//! scratch directories.
#![allow(dead_code, reason = "each test binary uses its own part")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (scenarios, baselines and docs are found from here).
pub fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Runs `twinline` with `args` in the repository root.
pub fn twinline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twinline"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

/// Standard output then standard error, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `twinline` with `args` and checks that it refuses them: exit status 2 and a
/// message containing `says`.
pub fn assert_refused(args: &[&str], says: &str) {
    let o = twinline(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    assert!(text(&o).contains(says), "{args:?}: {}", text(&o));
}

/// An empty scratch directory `twinline-<group>-<pid>-<name>` under the system's temp dir.
pub fn scratch_dir(group: &str, name: &str) -> Scratch {
    let dir = Scratch::new(group, name);
    std::fs::create_dir_all(&*dir).unwrap();
    dir
}

/// A test's folder under the system's temporary folder (`twinline-GROUP-PID-NAME`),
/// empty at first (not created) and removed with all in it when the test ends, passed or
/// failed, so that test runs leave nothing behind.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(group: &str, name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("twinline-{group}-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The pixels of a PNG file as RGB bytes, with its width and height.
pub fn read_png(path: &Path) -> (Vec<u8>, u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let rgb: Vec<u8> = buf[..info.buffer_size()]
        .chunks(channels)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    (rgb, info.width, info.height)
}

/// The bundled AGV plant with `vehicles` AGVs instead of its twelve, written to
/// `agv-<vehicles>.toml` in `dir` (made if missing): its file and its text. With few
/// vehicles, late transports raise alerts by the thousand over some days.
pub fn short_of_vehicles(dir: &Path, vehicles: usize) -> (PathBuf, String) {
    let text = std::fs::read_to_string(root().join("scenarios/plant-agv.toml"))
        .unwrap()
        .replacen("count = 12", &format!("count = {vehicles}"), 1);
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join(format!("agv-{vehicles}.toml"));
    std::fs::write(&file, &text).unwrap();
    (file, text)
}
