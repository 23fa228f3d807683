//! `twinline lifelong`: a League of Robot Runners 2024 instance run under its rules with
//! twinline's own entry, each step checked by the referee, with the planning time per
//! step and the steps lost to overruns.

use crate::{Failure, say};
use std::path::Path;
use std::time::{Duration, Instant};
use traffic::runners::{Contest, Entry, Instance, InstanceFiles};

/// Runs `problem` for `steps` steps with `limit` per step and the planner's `seed`;
/// writes the result to `out`.
#[allow(
    clippy::disallowed_methods,
    reason = "the per-step planning limit is wall-clock by the competition's rules"
)]
pub fn run(
    problem: &Path,
    steps: u64,
    limit: Duration,
    seed: u64,
    out: Option<&Path>,
) -> Result<(), Failure> {
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .map_err(|e| Failure::BadInput(format!("{}: cannot read: {e}", p.display())))
    };
    let files = InstanceFiles::parse(&read(problem)?)
        .map_err(|e| Failure::BadInput(format!("{}: {e}", problem.display())))?;
    let dir = problem.parent().unwrap_or(Path::new("."));
    let instance = Instance::parse(
        &files,
        &read(&dir.join(&files.map))?,
        &read(&dir.join(&files.agents))?,
        &read(&dir.join(&files.tasks))?,
    )
    .map_err(|e| Failure::BadInput(format!("{}: {e}", problem.display())))?;
    let mut contest = Contest::new(&instance);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut entry = Entry::new(&instance, seed).with_threads(threads);
    let mut times: Vec<f64> = Vec::new();
    let mut lost = 0u64;
    let mut paths: Vec<String> = vec![String::new(); instance.starts.len()];
    let started = Instant::now();
    while contest.steps() < steps {
        let t0 = Instant::now();
        let (actions, schedule) = entry.decide(&contest.view());
        let took = t0.elapsed();
        times.push(took.as_secs_f64());
        // Each full limit that passes is a step in which every robot waits (start-kit
        // 2.1: the late actions are applied afterwards).
        let overruns = (took.as_nanos() / limit.as_nanos().max(1)) as u64;
        for _ in 0..overruns.min(steps - contest.steps()) {
            contest.step_idle();
            lost += 1;
            for p in &mut paths {
                p.push('T');
            }
        }
        if contest.steps() >= steps {
            break;
        }
        contest.step(&actions, &schedule);
        for (p, a) in paths.iter_mut().zip(&actions) {
            p.push(a.letter());
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let p99 = sorted
        .get(((0.99 * sorted.len() as f64).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(0.0);
    let max = sorted.last().copied().unwrap_or(0.0);
    say(&format!(
        "{}: {} robots, {} steps, limit {:.3} s a step\n\
         tasks finished {}\n\
         planning per step: mean {:.2} ms, p99 {:.2} ms, max {:.2} ms\n\
         steps lost to overruns {lost}   invalid joint actions {}   refused schedules {}   wall {wall:.1} s\n",
        problem.display(),
        instance.starts.len(),
        contest.steps(),
        limit.as_secs_f64(),
        contest.finished(),
        mean * 1e3,
        p99 * 1e3,
        max * 1e3,
        contest.planner_errors(),
        contest.schedule_errors(),
    ));
    if let Some(out) = out {
        let doc = serde_json::json!({
            "actionModel": "MAPF_T",
            "version": "2024 LoRR",
            "teamSize": instance.starts.len(),
            "numTaskFinished": contest.finished(),
            "makespan": contest.steps(),
            "numPlannerErrors": contest.planner_errors(),
            "numScheduleErrors": contest.schedule_errors(),
            "numEntryTimeouts": lost,
            "start": instance.starts.iter().map(|&c| serde_json::json!([
                c as usize / instance.width, c as usize % instance.width, "E"
            ])).collect::<Vec<_>>(),
            "actualPaths": paths.iter().map(|p| {
                p.chars().map(String::from).collect::<Vec<_>>().join(",")
            }).collect::<Vec<_>>(),
            "events": contest.events().iter().map(|&(t, r, id, done)| serde_json::json!([t, r, id, done])).collect::<Vec<_>>(),
            "planningTimes": times,
        });
        std::fs::write(out, doc.to_string())
            .map_err(|e| Failure::Io(format!("{}: cannot write: {e}", out.display())))?;
    }
    Ok(())
}
