//! The twin the viewer shows, and simulated time against wall time: play, pause, one
//! event at a time, speed, jumps, restarts, and the history the live plots draw.

use bevy::prelude::Resource;
use sim::{SimDuration, SimTime};
use std::sync::Arc;
use twin_models::Twin;
use twin_models::plant::PlantSnapshot;
use twin_models::{RunSpec, Scenario, SnapshotError};

/// Slowest and fastest playback, simulated seconds per wall second.
pub const SPEEDS: (f64, f64) = (1.0, 10_000.0);

/// Points kept per plotted series; older halves are thinned when it fills.
const HISTORY_POINTS: usize = 4096;

/// The plant over time, sampled for the live plots.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Sample times, hours.
    pub hours: Vec<f64>,
    /// Per line: output rate over the last interval, units per hour.
    pub throughput: Vec<Vec<f64>>,
    /// Per line: OEE of its OEE station since the warm-up, 0–1 (NaN before it ends).
    pub oee: Vec<Vec<f64>>,
    /// Per line, per buffer: units on it.
    pub buffers: Vec<Vec<Vec<f64>>>,
    /// Per stocked material (snapshot order): units on hand.
    pub stock: Vec<Vec<f64>>,
    last_units: Vec<f64>,
}

impl History {
    fn record(&mut self, snap: &PlantSnapshot, oee: &[f64]) {
        let h = snap.time.as_secs_f64() / 3600.0;
        let dt = self.hours.last().map_or(h, |&last| h - last);
        if self.throughput.len() != snap.lines.len() {
            self.throughput = vec![Vec::new(); snap.lines.len()];
            self.oee = vec![Vec::new(); snap.lines.len()];
            self.last_units = vec![0.0; snap.lines.len()];
            self.buffers = snap
                .lines
                .iter()
                .map(|l| vec![Vec::new(); l.buffers.len()])
                .collect();
        }
        if self.stock.len() != snap.stock.len() {
            self.stock = vec![Vec::new(); snap.stock.len()];
        }
        self.hours.push(h);
        for (li, line) in snap.lines.iter().enumerate() {
            let made = line.units_out - self.last_units[li];
            self.last_units[li] = line.units_out;
            self.throughput[li].push(if dt > 0.0 { made / dt } else { 0.0 });
            self.oee[li].push(oee.get(li).copied().unwrap_or(f64::NAN));
            for (b, buf) in line.buffers.iter().enumerate() {
                self.buffers[li][b].push(buf.level);
            }
        }
        for (i, s) in snap.stock.iter().enumerate() {
            self.stock[i].push(s.on_hand);
        }
        if self.hours.len() >= HISTORY_POINTS {
            self.thin();
        }
    }

    /// Drops every other point of the older half, so a long run keeps its shape in
    /// bounded memory.
    fn thin(&mut self) {
        fn thin_one(v: &mut Vec<f64>) {
            let half = v.len() / 2;
            let mut keep = 0;
            for i in 0..v.len() {
                if i >= half || i % 2 == 0 {
                    v[keep] = v[i];
                    keep += 1;
                }
            }
            v.truncate(keep);
        }
        thin_one(&mut self.hours);
        for v in self
            .throughput
            .iter_mut()
            .chain(self.oee.iter_mut())
            .chain(self.buffers.iter_mut().flatten())
            .chain(self.stock.iter_mut())
        {
            thin_one(v);
        }
    }
}

/// What the time controls asked for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Command {
    /// Handle the next event alone.
    StepEvent,
    /// Go to a simulated time (back in time reruns from the start: runs are repeatable).
    JumpTo(SimTime),
    /// Start over with this seed.
    Restart(u64),
}

/// The running twin and its clock.
#[derive(Resource)]
pub struct Playback {
    twin: Twin<Arc<Scenario>>,
    /// The plant at the last refresh.
    pub snapshot: PlantSnapshot,
    /// Sampled history for the plots.
    pub history: History,
    /// Running or paused.
    pub playing: bool,
    /// Simulated seconds per wall second.
    pub speed: f64,
    /// Simulated seconds per wall second actually reached over the last frames (lower
    /// than `speed` when the engine cannot keep up within a frame's budget).
    pub achieved: f64,
    /// The seed of this run.
    pub seed: u64,
    /// Bumped on every restart, so that views of the old run start over.
    pub generation: u64,
    sample_every: SimDuration,
    next_sample: SimTime,
    /// Events handled by this run so far.
    pub events: u64,
    /// The snapshot the run was resumed from, if it was: going back in time or starting
    /// over goes back to it, not to time 0.
    origin: Option<Arc<Vec<u8>>>,
}

impl Playback {
    /// A run of `scenario` with `seed`, at time 0, paused.
    pub fn new(scenario: Arc<Scenario>, seed: u64) -> Self {
        let spec = RunSpec {
            seed,
            ..RunSpec::of(&scenario)
        };
        Self::with_twin(Twin::new(scenario, spec), seed, None)
    }

    /// The run a snapshot holds (its bytes), of `scenario`, at the snapshot's time,
    /// paused: with the snapshot's own seed, its own future; with another, a fork (a fresh
    /// future from the same state).
    pub fn resumed(
        scenario: Arc<Scenario>,
        snapshot: Arc<Vec<u8>>,
        seed: Option<u64>,
    ) -> Result<Self, SnapshotError> {
        let snap = twin_models::plant::save::read(&snapshot)?;
        let own = snap.header.seed;
        let twin = match seed.filter(|&s| s != own) {
            None => Twin::resume(scenario, snap.run)?,
            Some(s) => {
                let left = SimDuration(snap.header.horizon.0 - snap.header.time.0);
                Twin::fork(scenario, snap.run, s, left)?
            }
        };
        Ok(Self::with_twin(twin, seed.unwrap_or(own), Some(snapshot)))
    }

    fn with_twin(mut twin: Twin<Arc<Scenario>>, seed: u64, origin: Option<Arc<Vec<u8>>>) -> Self {
        let sample_every = sample_interval(twin.scenario());
        let snapshot = twin.snapshot();
        let now = twin.now();
        let mut p = Playback {
            twin,
            snapshot,
            history: History::default(),
            playing: false,
            speed: 60.0,
            achieved: 0.0,
            seed,
            generation: 0,
            sample_every,
            next_sample: now,
            events: 0,
            origin,
        };
        p.sample();
        p
    }

    /// The scenario it runs.
    pub fn scenario(&self) -> &Scenario {
        self.twin.scenario()
    }

    /// Simulated time now.
    pub fn now(&self) -> SimTime {
        self.twin.now()
    }

    /// Where the run stopped making progress, if it did (a defect: it goes no further).
    pub fn stalled(&self) -> Option<sim::Stall> {
        self.twin.stalled()
    }

    /// The end of the run.
    pub fn horizon(&self) -> SimTime {
        self.twin.horizon()
    }

    /// Starts over with `seed` on `scenario` (the same one or a what-if variant): from
    /// the snapshot it was resumed from when the scenario is the same, else from time 0.
    pub fn restart(&mut self, scenario: Arc<Scenario>, seed: u64) {
        let (playing, speed, generation) = (self.playing, self.speed, self.generation);
        let again = self
            .origin
            .as_ref()
            .filter(|_| Arc::ptr_eq(&scenario, self.twin_scenario()))
            .and_then(|o| Playback::resumed(Arc::clone(&scenario), Arc::clone(o), Some(seed)).ok());
        *self = again.unwrap_or_else(|| Playback::new(scenario, seed));
        self.playing = playing;
        self.speed = speed;
        self.generation = generation + 1;
    }

    /// Runs on to `t` (at most the horizon), sampling the history on the way, and stops
    /// early once `budget` says so (it is asked between samples). Returns whether `t`
    /// was reached. Back in time, it starts over (from the snapshot a resumed run came
    /// from, so not before that).
    pub fn advance_to(&mut self, t: SimTime, mut budget: impl FnMut() -> bool) -> bool {
        let t = t.min(self.horizon());
        if t < self.now() {
            let (scenario, seed) = (Arc::clone(self.twin_scenario()), self.seed);
            self.restart(scenario, seed);
        }
        // A run that stopped making progress goes no further.
        while self.now() < t && self.twin.stalled().is_none() {
            let next = self.next_sample.min(t);
            self.twin.advance_to(next);
            if self.now() >= self.next_sample {
                self.sample();
            }
            if self.now() < t && !budget() {
                break;
            }
        }
        self.refresh();
        self.now() >= t
    }

    /// Handles the next event alone.
    pub fn step_event(&mut self) {
        self.twin.step();
        if self.now() >= self.next_sample {
            self.sample();
        }
        self.refresh();
    }

    /// Carries out a control command.
    pub fn apply(&mut self, command: Command) {
        match command {
            Command::StepEvent => {
                self.playing = false;
                self.step_event();
            }
            Command::JumpTo(t) => {
                self.advance_to(t, || true);
            }
            Command::Restart(seed) => {
                let scenario = Arc::clone(self.twin_scenario());
                self.restart(scenario, seed);
            }
        }
    }

    fn twin_scenario(&self) -> &Arc<Scenario> {
        self.twin.scenario_handle()
    }

    /// The stop spans of a station so far (see [`Twin::station_timeline`]).
    pub fn timeline(
        &self,
        line: usize,
        station: usize,
    ) -> &[(u64, u64, twin_models::line::StationState)] {
        self.twin.station_timeline(line, station)
    }

    /// Station `station` of line `line`'s spans at a speed step set by a level switch.
    /// Recorded spans, and the one still running (see `Twin::station_steps`).
    pub fn speed_steps(
        &self,
        line: usize,
        station: usize,
    ) -> (
        &[twin_models::line::StepSpan],
        Option<twin_models::line::StepSpan>,
    ) {
        self.twin.station_steps(line, station)
    }

    /// The way vehicle `v` will drive, metres.
    pub fn route_ahead(&self, v: usize) -> Vec<nalgebra::Point2<f64>> {
        self.twin.route_ahead(v)
    }

    fn refresh(&mut self) {
        self.twin.refresh(&mut self.snapshot);
        self.events = self.twin.events();
    }

    fn sample(&mut self) {
        self.refresh();
        let oee: Vec<f64> = match self.twin.kpis() {
            Some(k) => k.lines.iter().map(|l| l.oee.oee).collect(),
            None => Vec::new(),
        };
        self.history.record(&self.snapshot, &oee);
        self.next_sample = SimTime(self.now().0 + self.sample_every.0);
    }
}

/// Time between history samples: the scenario's sampling interval (a long run's history
/// stays bounded by thinning, see [`History`]).
fn sample_interval(scenario: &Scenario) -> SimDuration {
    SimDuration(scenario.run.sample_interval.0.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled(name: &str) -> Arc<Scenario> {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"));
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let read = |n: &str| std::fs::read_to_string(dir.join(n)).map_err(|e| e.to_string());
        Arc::new(twin_models::load_scenario_with_files(name, &text, &read).unwrap())
    }

    const MIN: u64 = 60_000_000_000;

    #[test]
    fn a_resumed_run_starts_at_its_snapshot_and_goes_back_no_further() {
        let s = bundled("plant-agv.toml");
        let spec = RunSpec::of(&s);
        let mut twin = Twin::new(Arc::clone(&s), spec);
        twin.handle_events_to(SimTime(90 * MIN));
        let bytes = Arc::new(twin.save());
        let mut p = Playback::resumed(Arc::clone(&s), Arc::clone(&bytes), None).unwrap();
        assert_eq!(p.now(), SimTime(90 * MIN));
        assert_eq!(p.seed, spec.seed);
        // The same plant as the run that was saved, going on the same way.
        twin.advance_to(SimTime(120 * MIN));
        p.apply(Command::JumpTo(SimTime(120 * MIN)));
        assert_eq!(p.snapshot, twin.snapshot());
        // Back in time: to the snapshot, not before it.
        p.apply(Command::JumpTo(SimTime(30 * MIN)));
        assert_eq!(p.now(), SimTime(90 * MIN));
        // Another seed: a fresh future from the same state.
        p.apply(Command::Restart(spec.seed + 1));
        assert_eq!(p.now(), SimTime(90 * MIN));
        p.apply(Command::JumpTo(SimTime(120 * MIN)));
        assert_ne!(p.snapshot, twin.snapshot());
    }

    #[test]
    fn a_jump_back_is_the_same_plant_as_going_there_directly() {
        let s = bundled("plant-agv.toml");
        let mut p = Playback::new(Arc::clone(&s), 7);
        p.apply(Command::JumpTo(SimTime(90 * MIN)));
        p.apply(Command::JumpTo(SimTime(40 * MIN)));
        let mut direct = Playback::new(s, 7);
        direct.apply(Command::JumpTo(SimTime(40 * MIN)));
        assert_eq!(p.now(), SimTime(40 * MIN));
        assert_eq!(p.snapshot, direct.snapshot);
        assert_eq!(p.history.hours, direct.history.hours);
        assert_eq!(p.generation, 1, "the jump back started a new run");
    }

    #[test]
    fn one_event_moves_to_the_next_event_and_pauses() {
        let s = bundled("bottling-line-serial.toml");
        let mut p = Playback::new(s, 7);
        p.playing = true;
        for _ in 0..10_000 {
            let before = p.events;
            p.apply(Command::StepEvent);
            assert!(!p.playing);
            assert_eq!(p.events, before + 1, "one event per step");
            if p.now() > SimTime::ZERO {
                return;
            }
        }
        panic!("ten thousand events and still at time 0");
    }

    #[test]
    fn a_budget_stops_the_run_early_and_the_rest_comes_later() {
        let s = bundled("bottling-line-serial.toml");
        let mut p = Playback::new(s, 7);
        let target = SimTime(120 * MIN);
        let mut asks = 0;
        let reached = p.advance_to(target, || {
            asks += 1;
            asks < 3
        });
        assert!(!reached && p.now() < target && p.now() > SimTime::ZERO);
        assert!(p.advance_to(target, || true));
        assert_eq!(p.now(), target);
    }

    #[test]
    fn a_jump_past_where_the_run_stopped_making_progress_returns() {
        let s = bundled("bottling-line-serial.toml");
        let mut p = Playback::new(s, 7);
        // A guard this tight takes the busy line for a stalled one within minutes.
        p.twin.set_progress_guard(sim::ProgressGuard {
            events: 50,
            window: sim::SimDuration(60 * MIN),
        });
        // It returned (a jump asks no budget), short of the target, saying why.
        assert!(!p.advance_to(SimTime(120 * MIN), || true));
        let stall = p.stalled().expect("the guard acted");
        assert_eq!(p.now(), stall.at);
        assert!(p.now() < SimTime(120 * MIN));
    }

    #[test]
    fn the_history_samples_at_the_interval_and_thins_when_full() {
        let s = bundled("bottling-line-serial.toml");
        let every = s.run.sample_interval.0;
        let mut p = Playback::new(s, 7);
        p.apply(Command::JumpTo(SimTime(6 * every)));
        let h = &p.history;
        assert_eq!(h.hours.len(), 7, "time 0 and six intervals");
        assert_eq!(h.throughput[0].len(), 7);
        let step = every as f64 / 3.6e12;
        assert!((h.hours[6] - 6.0 * step).abs() < 1e-9);
        // Output over each interval over its length, in units per hour: some, and never
        // more than the fastest machine's 46,800 an hour.
        assert!(
            h.throughput[0].iter().any(|&r| r > 0.0),
            "{:?}",
            h.throughput[0]
        );
        assert!(h.throughput[0].iter().all(|&r| r <= 46_800.0 + 1e-6));

        let mut full = History {
            hours: (0..HISTORY_POINTS).map(|i| i as f64).collect(),
            ..History::default()
        };
        full.thin();
        assert_eq!(full.hours.len(), HISTORY_POINTS * 3 / 4);
        // The newer half is kept whole, the older one every other point.
        assert_eq!(full.hours[..3], [0.0, 2.0, 4.0]);
        assert_eq!(*full.hours.last().unwrap(), (HISTORY_POINTS - 1) as f64);
    }
}
