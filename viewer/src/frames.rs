//! Frame-time measurement: `--frames N` draws N frames (playing or not), then exits and
//! reports how long frames took and how much of that was the engine and the scene sync.

use bevy::prelude::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Frames left out at the start (pipelines compile, the scene spawns).
pub const SKIPPED: u32 = 20;

/// Milliseconds: mean, median, 95th percentile, worst.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Spread {
    /// Mean, ms.
    pub mean: f64,
    /// Median, ms.
    pub p50: f64,
    /// 95th percentile, ms.
    pub p95: f64,
    /// Worst, ms.
    pub max: f64,
}

impl Spread {
    /// The spread of `ms` (sorted in place).
    pub fn of(ms: &mut [f64]) -> Spread {
        if ms.is_empty() {
            return Spread::default();
        }
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
        Spread {
            mean: ms.iter().sum::<f64>() / ms.len() as f64,
            p50: at(0.5),
            p95: at(0.95),
            max: ms[ms.len() - 1],
        }
    }
}

/// What `--frames` measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FrameStats {
    /// Frames measured (after the first [`SKIPPED`]).
    pub frames: u32,
    /// Wall time between frames.
    pub frame: Spread,
    /// Running the engine on (the `advance` system).
    pub engine: Spread,
    /// Bringing the scene in line with the twin (machines, belts, AGVs, route).
    pub sync: Spread,
    /// Simulated seconds covered.
    pub simulated_s: f64,
    /// AGVs drawn.
    pub vehicles: usize,
    /// Machines drawn.
    pub machines: usize,
}

/// The measurement under way.
#[derive(Resource)]
pub struct FrameClock {
    limit: u32,
    seen: u32,
    frame: Vec<f64>,
    engine: Vec<f64>,
    sync: Vec<f64>,
    sync_started: Option<Instant>,
    engine_last: Duration,
    start_s: Option<f64>,
    /// Where the result goes.
    pub out: Arc<Mutex<Option<FrameStats>>>,
}

impl FrameClock {
    /// A measurement of `limit` frames.
    pub fn new(limit: u32, out: Arc<Mutex<Option<FrameStats>>>) -> Self {
        let n = limit as usize;
        FrameClock {
            limit,
            seen: 0,
            frame: Vec::with_capacity(n),
            engine: Vec::with_capacity(n),
            sync: Vec::with_capacity(n),
            sync_started: None,
            engine_last: Duration::ZERO,
            start_s: None,
            out,
        }
    }

    /// Notes how long the engine took this frame.
    pub fn engine_took(&mut self, d: Duration) {
        self.engine_last = d;
    }
}

/// Marks the start of the scene sync.
#[allow(clippy::disallowed_methods)] // frame timing is wall time by definition
pub fn sync_begins(clock: Option<ResMut<FrameClock>>) {
    if let Some(mut c) = clock {
        c.sync_started = Some(Instant::now());
    }
}

/// Books the frame, and ends the run after the last one.
pub fn sync_ends(
    clock: Option<ResMut<FrameClock>>,
    time: Res<Time<Real>>,
    playback: Res<crate::Playback>,
    machines: Query<(), With<crate::scene::Machine>>,
    vehicles: Query<(), With<crate::scene::Vehicle>>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(mut c) = clock else {
        return;
    };
    let sync = c
        .sync_started
        .take()
        .map_or(0.0, |t| t.elapsed().as_secs_f64() * 1e3);
    c.seen += 1;
    if c.seen <= SKIPPED {
        c.start_s = Some(playback.now().as_secs_f64());
        return;
    }
    let (frame, engine) = (
        time.delta_secs_f64() * 1e3,
        c.engine_last.as_secs_f64() * 1e3,
    );
    c.frame.push(frame);
    c.engine.push(engine);
    c.sync.push(sync);
    if c.seen >= c.limit + SKIPPED {
        let stats = FrameStats {
            frames: c.frame.len() as u32,
            frame: Spread::of(&mut c.frame),
            engine: Spread::of(&mut c.engine),
            sync: Spread::of(&mut c.sync),
            simulated_s: playback.now().as_secs_f64() - c.start_s.unwrap_or(0.0),
            vehicles: vehicles.iter().count(),
            machines: machines.iter().count(),
        };
        *c.out.lock().expect("frame stats lock") = Some(stats);
        exit.write(AppExit::Success);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_of_a_hand_worked_sample() {
        let mut ms: Vec<f64> = (1..=20).map(f64::from).collect();
        ms.reverse();
        let s = Spread::of(&mut ms);
        assert_eq!(s.mean, 10.5);
        // Ranks 0..19: the median is rank 9.5 → 10 (rounded), the 95th rank 18.05 → 19.
        assert_eq!((s.p50, s.p95, s.max), (11.0, 19.0, 20.0));
        assert_eq!(Spread::of(&mut []), Spread::default());
    }
}
