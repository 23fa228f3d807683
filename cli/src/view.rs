//! `twinline view`: the 3D viewer on a scenario (built with the default `view` feature).

use crate::{Failure, RunOverrides, parse_duration};
use experiments::overrides::{parse_set, parse_value};
use experiments::sweep::{Variant, prepare};
use std::path::{Path, PathBuf};
use twinline_viewer::{ViewerOptions, run};

/// What `twinline view` was asked for.
#[derive(clap::Args)]
pub(crate) struct ViewArgs {
    /// Scenario file (TOML); with --resume, optional (the snapshot holds its scenario;
    /// what-if changes need the file).
    #[arg(required_unless_present = "resume")]
    scenario: Option<PathBuf>,
    /// Open a snapshot (of `run --snapshot`, or a live twin's --state directory) at its
    /// time instead of starting at 0; --seed other than its own shows a fresh future.
    #[arg(long, conflicts_with = "sets")]
    resume: Option<PathBuf>,
    #[command(flatten)]
    overrides: RunOverrides,
    /// Run to this simulated time before showing it, e.g. 2h.
    #[arg(long, value_parser = parse_duration)]
    at: Option<sim::SimDuration>,
    /// Simulated seconds per wall second, 1 to 10000.
    #[arg(long, default_value_t = 60.0, value_parser = view_speed_arg)]
    speed: f64,
    /// Start playing at once.
    #[arg(long)]
    play: bool,
    /// Look straight down (2D, north up).
    #[arg(long)]
    top_down: bool,
    /// Render one frame to this PNG file and exit (works under Xvfb with Mesa).
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// With --screenshot: also write where each machine's state lamp and each AGV is
    /// in the picture, as JSON.
    #[arg(long, requires = "screenshot")]
    screenshot_map: Option<PathBuf>,
    /// Window size in pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720", value_parser = size_arg)]
    size: (u32, u32),
    /// PATH=VALUE — a scenario field by dotted path, as in `sweep --set`
    /// (`fleet.size=500`, `lines.L1.buffers.B2.capacity=800`). Repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
    /// Draw this many frames, then close and print frame times (for measuring).
    #[arg(long)]
    frames: Option<u32>,
}

pub(crate) fn view(args: ViewArgs) -> Result<(), Failure> {
    let resumed = match &args.resume {
        Some(file) => {
            let bytes = crate::snapshot::read_bytes(file)?;
            let snap = crate::snapshot::decode(file, &bytes)?;
            Some((bytes, snap))
        }
        None => None,
    };
    let (rebuild, scenario): (Box<twinline_viewer::RebuildFn>, _) = match &args.scenario {
        Some(path) => {
            let rebuild = rebuilder(path, &args.sets, args.overrides)?;
            let scenario = rebuild(&[]).map_err(Failure::BadInput)?;
            (rebuild, scenario)
        }
        None => {
            let (_, snap) = resumed
                .as_ref()
                .expect("clap asks for a scenario or a snapshot");
            let refuse = |_: &[(String, String)]| -> Result<twin_models::Scenario, String> {
                Err("what-if changes need the scenario file: give it before --resume".into())
            };
            (Box::new(refuse), snap.scenario.clone())
        }
    };
    let (resume, from) = match resumed {
        Some((bytes, snap)) => (Some(bytes), Some(snap.header)),
        None => (None, None),
    };
    if let Some(h) = &from
        && args.overrides.horizon.is_some_and(|x| x != h.horizon)
    {
        return Err(Failure::BadInput(
            "--horizon: a snapshot is opened with the horizon of its run".into(),
        ));
    }
    let horizon = from.as_ref().map_or(scenario.run.horizon, |h| h.horizon);
    if let Some(at) = args.at
        && at > horizon
    {
        return Err(Failure::BadInput(format!(
            "--at {}: past the run's horizon ({})",
            fmt_secs(at.as_secs_f64()),
            fmt_secs(horizon.as_secs_f64())
        )));
    }
    if let Some(shot) = &args.screenshot {
        check_writable(shot)?;
    }
    if let (Some(h), Some(at)) = (&from, args.at)
        && at.0 < h.time.0
    {
        return Err(Failure::BadInput(format!(
            "--at {}: before the snapshot's time ({})",
            fmt_secs(at.as_secs_f64()),
            fmt_secs(h.time.as_secs_f64())
        )));
    }
    let stats = run(ViewerOptions {
        seed: args.overrides.seed,
        resume,
        scenario,
        rebuild,
        at: args.at.map(|d| sim::SimTime(d.0)),
        speed: args.speed,
        play: args.play,
        top_down: args.top_down,
        screenshot: args.screenshot,
        screenshot_map: args.screenshot_map,
        size: args.size,
        frames: args.frames,
    })
    .map_err(|e| Failure::Io(e.to_string()))?;
    if let Some(s) = stats {
        let row = |name: &str, x: &twinline_viewer::frames::Spread| {
            format!(
                "{name:<22} {:>8.2} {:>8.2} {:>8.2} {:>8.2}\n",
                x.mean, x.p50, x.p95, x.max
            )
        };
        let mut text = format!(
            "{} frames, {} machines, {} AGVs, {:.0} simulated s\n{:<22} {:>8} {:>8} {:>8} {:>8}\n",
            s.frames,
            s.machines,
            s.vehicles,
            s.simulated_s,
            "ms per frame",
            "mean",
            "p50",
            "p95",
            "max"
        );
        text += &row("frame (wall)", &s.frame);
        text += &row("engine (advance)", &s.engine);
        text += &row("scene sync", &s.sync);
        crate::say(&text);
    }
    Ok(())
}

/// How the viewer builds `path`'s scenario with `sets` and then the what-if panel's
/// changes.
fn rebuilder(
    path: &Path,
    sets: &[String],
    overrides: RunOverrides,
) -> Result<Box<twinline_viewer::RebuildFn>, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::BadInput(format!("{}: cannot read the scenario: {e}", path.display()))
    })?;
    let file = path.display().to_string();
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    // `--set PATH=VALUE` fields, under whatever the what-if panel changes later.
    let mut base: Vec<(String, String)> = Vec::new();
    for set in sets {
        let p = parse_set(set).map_err(|e| Failure::BadInput(e.to_string()))?;
        let [value] = &p.values[..] else {
            return Err(Failure::BadInput(format!(
                "--set {set}: one value only (the viewer runs one plant; use `twinline sweep` for several)"
            )));
        };
        base.push((p.path, experiments::sweep::value_text(value)));
    }
    Ok(Box::new(move |changes: &[(String, String)]| {
        let changes: Vec<(String, String)> = base.iter().chain(changes).cloned().collect();
        let variant = Variant {
            label: changes
                .iter()
                .map(|(p, v)| format!("{p}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            settings: changes
                .iter()
                .map(|(p, v)| (p.clone(), parse_value(v)))
                .collect(),
        };
        let dir = dir.clone();
        let read = move |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| format!("{}: {e}", dir.join(name).display()))
        };
        let mut prepared = prepare(
            &file,
            &text,
            &[variant],
            twin_models::RunOverrides::default(),
            &read,
        )
        .map_err(|e| e.to_string())?;
        let mut scenario = prepared.remove(0).scenario;
        with_run_settings(&mut scenario, &overrides)?;
        Ok(scenario)
    }))
}

/// The command line's horizon and warm-up, checked against each other, put into the
/// scenario the viewer runs.
fn with_run_settings(scenario: &mut twin_models::Scenario, o: &RunOverrides) -> Result<(), String> {
    let spec = experiments::sweep::spec_of(scenario, o.runs()).map_err(|e| e.to_string())?;
    scenario.run.horizon = spec.horizon;
    scenario.run.warmup = spec.warmup;
    Ok(())
}

fn fmt_secs(s: f64) -> String {
    if s >= 3600.0 {
        format!("{:.6}h", s / 3600.0)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{s}s")
    }
}

/// Fails before the window opens when the picture could not be written anyway.
fn check_writable(path: &Path) -> Result<(), Failure> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Failure::BadInput(format!(
            "--screenshot {}: no directory {}",
            path.display(),
            dir.display()
        )));
    }
    Ok(())
}

fn view_speed_arg(s: &str) -> Result<f64, String> {
    s.trim_end_matches(['x', '×'])
        .parse::<f64>()
        .ok()
        .filter(|v| (1.0..=10_000.0).contains(v))
        .ok_or_else(|| {
            format!("`{s}`: a speed from 1 to 10000 (simulated seconds per wall second)")
        })
}

/// `WIDTHxHEIGHT`, e.g. `1280x720`.
pub(crate) fn size_arg(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{s}`: expected WIDTHxHEIGHT, e.g. 1280x720"))?;
    let parse = |t: &str| {
        t.trim()
            .parse::<u32>()
            .ok()
            .filter(|&v| (320..=8192).contains(&v))
            .ok_or_else(|| format!("`{s}`: sizes are whole numbers of pixels from 320 to 8192"))
    };
    Ok((parse(w)?, parse(h)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_bad_ones_say_why() {
        assert_eq!(size_arg("1280x720"), Ok((1280, 720)));
        assert!(size_arg("1280").unwrap_err().contains("WIDTHxHEIGHT"));
        assert!(size_arg("10x720").unwrap_err().contains("320 to 8192"));
    }
}
