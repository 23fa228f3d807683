//! `twinline mapf`: one-shot MAPF on MovingAI instances, printed and written in the format
//! LaCAM's tools read, so results compare with the research solvers in one command.

use crate::{Failure, say};
use std::path::Path;
use std::time::{Duration, Instant};
use traffic::mapf::{GridMap, MapfReport, Search, lower_bounds, parse_scenario, solve};

/// Solves the first `agents` agents of `scen` on `map` within `limit`.
#[allow(
    clippy::disallowed_methods,
    reason = "the time limit and comp_time are wall-clock by definition"
)]
#[allow(clippy::too_many_arguments)]
pub fn run(
    map_path: &Path,
    scen_path: &Path,
    agents: usize,
    limit: Duration,
    seed: u64,
    anytime: bool,
    scatter: bool,
    out: Option<&Path>,
) -> Result<(), Failure> {
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .map_err(|e| Failure::BadInput(format!("{}: cannot read: {e}", p.display())))
    };
    let map = GridMap::parse(&read(map_path)?)
        .map_err(|e| Failure::BadInput(format!("{}: {e}", map_path.display())))?;
    let pairs = parse_scenario(&read(scen_path)?, &map, agents)
        .map_err(|e| Failure::BadInput(format!("{}: {e}", scen_path.display())))?;
    let (starts, goals): (Vec<u32>, Vec<u32>) = pairs.into_iter().unzip();
    let started = Instant::now();
    let distances = map.distance_tables(&goals);
    let deadline = started + limit;
    let mut first: Option<(u64, f64)> = None;
    let result = solve(
        &map,
        &starts,
        &goals,
        &distances,
        Search {
            seed,
            anytime,
            scatter,
            stop: &mut || Instant::now() >= deadline,
            improved: &mut |soc| {
                if first.is_none() {
                    first = Some((soc, started.elapsed().as_secs_f64() * 1e3));
                }
            },
        },
    );
    let comp_time_ms = started.elapsed().as_secs_f64() * 1e3;
    if let Some((soc, ms)) = first {
        say(&format!("first solution: soc={soc} in {ms:.0} ms\n"));
    }
    let solution = match &result {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("not solved: {e}");
            None
        }
    };
    let map_file = map_path.file_name().map_or_else(
        || map_path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let report = MapfReport {
        map: &map,
        map_file,
        solver: "twinline-lacam".into(),
        starts: &starts,
        goals: &goals,
        lower_bounds: lower_bounds(&distances, &starts),
        comp_time_ms,
        solution,
    };
    let text = report.render();
    let head: String = text.lines().take(9).collect::<Vec<_>>().join("  ");
    say(&format!("{head}\n"));
    if let Some(out) = out {
        std::fs::write(out, &text)
            .map_err(|e| Failure::Io(format!("{}: cannot write: {e}", out.display())))?;
    }
    if result.is_ok() {
        Ok(())
    } else {
        Err(Failure::Unsolved)
    }
}
