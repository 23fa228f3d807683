//! What a station is doing, its time accounts and counters, and the parts of failure,
//! planned-stop and changeover handling that both flow engines share.

use crate::distribution::Distribution;
use crate::scenario::{Campaign, CampaignAmount, FailureBasis, Station};
use crate::units::TICKS_PER_UNIT;
use orchestrator::ChangeoverMatrix;
use rand::RngExt;
use sim::{RngStreams, SimDuration, SimTime, StreamRng};

/// The states a station's time is split into. Listed in reporting order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StationState {
    /// Processing units.
    Working,
    /// Ready, but no input is available.
    Starved,
    /// Holding finished output that the next buffer has no room for.
    Blocked,
    /// Broken down, being repaired.
    Down,
    /// Changing over to another product.
    Setup,
    /// A short jam.
    MicroStop,
    /// Stopped on purpose: shift pattern, CIP cleaning, breaks.
    PlannedStop,
}

impl StationState {
    /// All states, in reporting order.
    pub const ALL: [StationState; 7] = [
        StationState::Working,
        StationState::Starved,
        StationState::Blocked,
        StationState::Down,
        StationState::Setup,
        StationState::MicroStop,
        StationState::PlannedStop,
    ];

    /// The name used in files (`working`, `starved`, ...).
    pub fn name(self) -> &'static str {
        match self {
            StationState::Working => "working",
            StationState::Starved => "starved",
            StationState::Blocked => "blocked",
            StationState::Down => "down",
            StationState::Setup => "setup",
            StationState::MicroStop => "micro_stop",
            StationState::PlannedStop => "planned_stop",
        }
    }

    /// The state named `name` (as [`Self::name`] writes it).
    pub fn from_name(name: &str) -> Option<StationState> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The colour reports and the viewer draw this state in, sRGB: green working, amber
    /// starved, blue blocked, red down, purple setup, orange micro-stop, grey planned stop.
    pub fn rgb(self) -> [u8; 3] {
        match self {
            StationState::Working => [0x2e, 0x7d, 0x32],
            StationState::Starved => [0xf9, 0xa8, 0x25],
            StationState::Blocked => [0x15, 0x65, 0xc0],
            StationState::Down => [0xc6, 0x28, 0x28],
            StationState::Setup => [0x6a, 0x1b, 0x9a],
            StationState::MicroStop => [0xef, 0x6c, 0x00],
            StationState::PlannedStop => [0x75, 0x75, 0x75],
        }
    }
}

/// Quantities a station has counted, in ticks (see [`TICKS_PER_UNIT`]) and seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    /// Units taken in.
    pub taken: u128,
    /// Good units passed on.
    pub good: u128,
    /// Units rejected.
    pub rejected: u128,
    /// Changeovers started.
    pub setups: u64,
    /// Breakdowns (micro-stops excluded).
    pub failures: u64,
    /// Micro-stops.
    pub micro_stops: u64,
    /// Units processed times their ideal cycle time, seconds (for OEE performance).
    pub ideal_secs: f64,
}

/// A station's counts in whole units: in the fluid engine a machine is part way through a
/// unit at most times; that unit counts as taken, and as passed on or rejected only once
/// all of it is through (in the discrete engine counts are whole already).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WholeUnits {
    pub taken: u64,
    pub good: u64,
    pub rejected: u64,
}

impl WholeUnits {
    /// The whole units counted by `c`, since time 0.
    pub fn of(c: &Counters) -> WholeUnits {
        WholeUnits {
            taken: crate::units::units_begun(c.taken),
            good: crate::units::units_done(c.good),
            rejected: crate::units::units_done(c.rejected),
        }
    }

    /// `self - base`.
    pub fn since(&self, base: &WholeUnits) -> WholeUnits {
        WholeUnits {
            taken: self.taken - base.taken,
            good: self.good - base.good,
            rejected: self.rejected - base.rejected,
        }
    }
}

impl Counters {
    /// `self - base`, for statistics after a warm-up.
    pub fn since(&self, base: &Counters) -> Counters {
        Counters {
            taken: self.taken - base.taken,
            good: self.good - base.good,
            rejected: self.rejected - base.rejected,
            setups: self.setups - base.setups,
            failures: self.failures - base.failures,
            micro_stops: self.micro_stops - base.micro_stops,
            ideal_secs: self.ideal_secs - base.ideal_secs,
        }
    }
}

/// Per-failure-mode runtime: its random streams and, for operating-time modes, the working
/// time left before it strikes.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FailureClock {
    /// Time between failures.
    pub tbf: Distribution,
    /// Time to repair.
    pub ttr: Distribution,
    /// What time counts.
    pub basis: FailureBasis,
    /// Micro-stop rather than breakdown.
    pub micro: bool,
    /// Working time left before the next failure, nanoseconds (operating basis only).
    pub op_left: f64,
    /// Whether this mode has the station stopped now.
    pub active: bool,
    tbf_rng: StreamRng,
    ttr_rng: StreamRng,
}

impl FailureClock {
    /// Draws the next time between failures.
    pub fn draw_tbf(&mut self) -> SimDuration {
        // A zero draw would strike again at once; a nanosecond keeps time moving.
        SimDuration(self.tbf.sample(&mut self.tbf_rng).0.max(1))
    }

    /// Draws a repair time.
    pub fn draw_ttr(&mut self) -> SimDuration {
        self.ttr.sample(&mut self.ttr_rng)
    }
}

/// A span at a speed step: (start ns, end ns, share of nominal speed).
pub type StepSpan = (u64, u64, f64);

/// Time at the speed steps of a station on a line with level switches: booked when the
/// step changes, so that booking state time costs nothing more.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct StepLog {
    /// Seconds at each step since the statistics started.
    secs: Vec<(f64, f64)>,
    /// Since when the current step is booked (its start, or the end of the warm-up).
    since: SimTime,
    /// When the current step began.
    began: SimTime,
    /// When recording: the spans at a step other than nominal and stop, as (start ns, end
    /// ns, step), in the order they ended.
    timeline: Option<Vec<(u64, u64, f64)>>,
}

impl StepLog {
    /// A log; `record` keeps the spans too.
    pub fn new(record: bool) -> Self {
        StepLog {
            timeline: record.then(Vec::new),
            ..StepLog::default()
        }
    }

    /// Books the time at `step`, left at `now`.
    fn leave(&mut self, step: f64, now: SimTime) {
        let dt = now.since(self.since).as_secs_f64();
        match self.secs.iter_mut().find(|(s, _)| *s == step) {
            Some(entry) => entry.1 += dt,
            None => self.secs.push((step, dt)),
        }
        if let Some(log) = &mut self.timeline
            && step != 0.0
            && step != 1.0
            && now > self.began
        {
            log.push((self.began.0, now.0, step));
        }
        self.since = now;
        self.began = now;
    }

    /// Takes the spans recorded so far (each is closed).
    pub fn take_closed(&mut self) -> Vec<(u64, u64, f64)> {
        self.timeline
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }
}

/// The part of a station both engines share: availability flags, product, time accounts,
/// counters and random streams.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StationCore {
    /// Failure modes with their clocks.
    pub failures: Vec<FailureClock>,
    /// Number of planned stops covering the station now.
    pub planned: u32,
    /// In a changeover.
    pub setup: bool,
    /// Stopped because a material it uses ran out at line side.
    pub material_hold: bool,
    /// Stopped because the outfeed has no room for another pallet.
    pub outfeed_hold: bool,
    /// The product it is set up for.
    pub product: usize,
    /// Seconds spent in each state, in [`StationState::ALL`] order, since the last reset.
    pub times: [f64; 7],
    last_account: SimTime,
    /// Running counters.
    pub counters: Counters,
    /// Counters at the end of the warm-up.
    pub baseline: Counters,
    /// Whether the plant reports this machine's state (a `machine_state` feed): its own
    /// random failures are then off, and its stops are the reported ones.
    pub fed: bool,
    /// Stopped as the plant reported (a PackML state that does not produce).
    pub reported_down: bool,
    /// Bumped at each reported state: a scheduled end of a reported stop from an earlier
    /// report is stale.
    pub report_epoch: u32,
    /// Random stream for processing times.
    pub process_rng: StreamRng,
    /// Random stream for reject decisions.
    pub reject_rng: StreamRng,
    changeover: ChangeoverMatrix,
    /// Why a level switch stops the station (starved or blocked), if one does.
    pub switch_stop: Option<StationState>,
    /// The speed step set by level switches (share of nominal; 0 when stopped).
    pub step: f64,
    /// On a line with level switches: the time at each step (kept out of line: plain
    /// lines do not carry it).
    pub steps: Option<Box<StepLog>>,
    /// When recording: the spans a stop state held the whole station (down, setup,
    /// micro-stop, planned stop, material or outfeed hold), as (start ns, end ns, state),
    /// from time 0, joined where one state runs on.
    pub timeline: Option<Vec<(u64, u64, StationState)>>,
}

/// The stream of station `index` of line `line` for `purpose` (its `j`-th, for failures).
fn stream_of(rng: &RngStreams, line: usize, index: usize, purpose: &str, j: usize) -> StreamRng {
    rng.stream(&[
        line as u64,
        index as u64,
        RngStreams::label(purpose),
        j as u64,
    ])
}

impl StationCore {
    /// The core of `station` number `index` of line `line`, with streams from `rng`.
    pub fn new(
        station: &Station,
        line: usize,
        index: usize,
        rng: &RngStreams,
        first_product: usize,
    ) -> Self {
        let key = |purpose: &str, j: usize| stream_of(rng, line, index, purpose, j);
        let failures = station
            .failures
            .iter()
            .enumerate()
            .map(|(j, f)| {
                let mut clock = FailureClock {
                    tbf: f.tbf.clone(),
                    ttr: f.ttr.clone(),
                    basis: f.basis,
                    micro: f.micro,
                    op_left: f64::INFINITY,
                    active: false,
                    tbf_rng: key("tbf", j),
                    ttr_rng: key("ttr", j),
                };
                if f.basis == FailureBasis::Operating {
                    clock.op_left = clock.draw_tbf().0 as f64;
                }
                clock
            })
            .collect();
        StationCore {
            failures,
            planned: 0,
            setup: false,
            material_hold: false,
            outfeed_hold: false,
            product: first_product,
            times: [0.0; 7],
            last_account: SimTime::ZERO,
            counters: Counters::default(),
            baseline: Counters::default(),
            fed: false,
            reported_down: false,
            report_epoch: 0,
            process_rng: key("process", 0),
            reject_rng: key("reject", 0),
            changeover: station.changeover.clone(),
            switch_stop: None,
            step: 1.0,
            steps: None,
            timeline: None,
        }
    }

    /// Replaces every random stream by the one of the same purpose under `rng` (a fork's
    /// fresh future from the same state); `line` and `index` as given to [`StationCore::new`].
    pub fn reseed(&mut self, rng: &RngStreams, line: usize, index: usize) {
        for (j, f) in self.failures.iter_mut().enumerate() {
            f.tbf_rng = stream_of(rng, line, index, "tbf", j);
            f.ttr_rng = stream_of(rng, line, index, "ttr", j);
        }
        self.process_rng = stream_of(rng, line, index, "process", 0);
        self.reject_rng = stream_of(rng, line, index, "reject", 0);
    }

    /// Setup time from the current product to `to`, nanoseconds.
    pub fn changeover_time(&self, to: usize) -> u64 {
        self.changeover.time(self.product, to)
    }

    /// Starts a changeover to `product` and counts it. Returns its length when it takes
    /// time (the station is in setup until then), `None` when it is immediate.
    pub fn begin_changeover(&mut self, product: usize) -> Option<SimDuration> {
        let d = self.changeover_time(product);
        self.product = product;
        self.counters.setups += 1;
        self.setup = d > 0;
        self.setup.then_some(SimDuration(d))
    }

    /// Whether a breakdown holds the station.
    pub fn is_down(&self) -> bool {
        self.reported_down || self.failures.iter().any(|f| f.active && !f.micro)
    }

    /// Whether a micro-stop holds the station.
    pub fn is_jammed(&self) -> bool {
        self.failures.iter().any(|f| f.active && f.micro)
    }

    /// Whether the station may work: no stop, failure, jam or changeover holds it.
    #[inline(always)]
    pub fn available(&self) -> bool {
        // The flags at once (no branch each): it is asked at every step of a machine.
        let held = self.setup | self.material_hold | self.outfeed_hold | self.reported_down;
        self.planned == 0
            && !held
            && self.switch_stop.is_none()
            && !self.failures.iter().any(|f| f.active)
    }

    /// Hands the machine's stops over to the plant's reports: its own random failures
    /// end and never strike again.
    pub fn follow_reports(&mut self) {
        self.fed = true;
        for f in &mut self.failures {
            f.active = false;
            f.op_left = f64::INFINITY;
        }
    }

    /// How much longer a stop that began `elapsed` ago lasts, drawn from the repair time
    /// of the machine's first breakdown mode given that it has lasted that long; `None`
    /// when the machine has no breakdown mode (or the draws never pass `elapsed`): the
    /// stop lasts until the plant reports otherwise.
    pub fn remaining_repair(&mut self, elapsed: SimDuration) -> Option<SimDuration> {
        let f = self.failures.iter_mut().find(|f| !f.micro)?;
        // Conditioning by rejection: a thousand draws at most.
        (0..1000).find_map(|_| {
            let d = f.draw_ttr();
            (d > elapsed).then(|| SimDuration(d.0 - elapsed.0))
        })
    }

    /// The state that overrides the flow state, if any (in priority order).
    pub fn overlay(&self) -> Option<StationState> {
        if self.planned > 0 {
            Some(StationState::PlannedStop)
        } else if self.is_down() {
            Some(StationState::Down)
        } else if self.setup {
            Some(StationState::Setup)
        } else if self.is_jammed() {
            Some(StationState::MicroStop)
        } else if self.material_hold {
            Some(StationState::Starved)
        } else if self.outfeed_hold {
            Some(StationState::Blocked)
        } else {
            self.switch_stop
        }
    }

    /// Until when its time is booked.
    #[inline(always)]
    pub fn booked_until(&self) -> SimTime {
        self.last_account
    }

    /// [`Self::account`] of a machine that either works the whole span or not at all (a
    /// line run unit by unit): the same sums, with the usual case (an available machine)
    /// inline.
    #[inline(always)]
    pub fn account_whole(&mut self, now: SimTime, working: bool, rest: StationState) -> f64 {
        let from = self.last_account;
        if now <= from || !self.available() {
            return self.account(now, if working { 1.0 } else { 0.0 }, rest);
        }
        let dt = now.since(from).as_secs_f64();
        self.last_account = now;
        // As `account` books a fraction of 1 or 0: `dt × 1` is `dt`, and the other state
        // gains `dt × 0`, which adds nothing.
        if working {
            self.times[StationState::Working as usize] += dt;
            dt
        } else {
            self.times[rest as usize] += dt;
            0.0
        }
    }

    /// Books the time since the last booking: a `working` fraction of it as working and the
    /// rest as `rest`, unless an overlay state holds the whole span. Returns the seconds
    /// booked as working.
    pub fn account(&mut self, now: SimTime, working: f64, rest: StationState) -> f64 {
        let from = self.last_account;
        // Booked already (a station is booked several times at one instant).
        if now <= from {
            self.last_account = now;
            return 0.0;
        }
        let dt = now.since(from).as_secs_f64();
        self.last_account = now;
        // No overlay holds an available station (the usual case, one look at the failures).
        let overlay = if self.available() {
            None
        } else {
            self.overlay()
        };
        if let (Some(state), Some(log)) = (overlay, &mut self.timeline) {
            match log.last_mut() {
                Some(last) if last.1 == from.0 && last.2 == state => last.1 = now.0,
                _ => log.push((from.0, now.0, state)),
            }
        }
        match overlay {
            Some(s) => {
                self.times[s as usize] += dt;
                0.0
            }
            None => {
                let w = working.clamp(0.0, 1.0);
                self.times[StationState::Working as usize] += dt * w;
                if w < 1.0 {
                    self.times[rest as usize] += dt * (1.0 - w);
                }
                dt * w
            }
        }
    }

    /// Starts the statistics afresh at `now` (end of warm-up).
    pub fn reset_statistics(&mut self, now: SimTime) {
        self.times = [0.0; 7];
        if let Some(log) = &mut self.steps {
            log.secs.clear();
            log.since = now;
        }
        self.last_account = now;
        self.baseline = self.counters;
    }

    /// Follows what level switches set at `now` (`Control::setting`): the speed step,
    /// booking the time at the one before, and the stop. Returns whether anything changed.
    pub fn follow(&mut self, now: SimTime, (step, stop): (f64, Option<StationState>)) -> bool {
        if step == self.step && stop == self.switch_stop {
            return false;
        }
        if step != self.step {
            if let Some(log) = &mut self.steps {
                log.leave(self.step, now);
            }
            self.step = step;
        }
        self.switch_stop = stop;
        true
    }

    /// The speed-step spans recorded, with the one still running closed at `end`.
    pub fn step_spans_to(&self, end: SimTime) -> Vec<(u64, u64, f64)> {
        let (closed, open) = self.step_spans(end);
        closed.iter().copied().chain(open).collect()
    }

    /// The speed-step spans recorded (in the order they ended), and the one still running
    /// closed at `end`, without copying them.
    pub fn step_spans(&self, end: SimTime) -> (&[StepSpan], Option<StepSpan>) {
        let Some((log, closed)) = self
            .steps
            .as_deref()
            .and_then(|log| Some((log, log.timeline.as_deref()?)))
        else {
            return (&[], None);
        };
        let open = (self.step != 0.0 && self.step != 1.0 && end > log.began).then_some((
            log.began.0,
            end.0,
            self.step,
        ));
        (closed, open)
    }

    /// Seconds at speed step `step` since the statistics started, up to `end`.
    pub fn secs_at_step(&self, step: f64, end: SimTime) -> f64 {
        let Some(log) = &self.steps else {
            return 0.0;
        };
        let booked = log
            .secs
            .iter()
            .find(|(s, _)| *s == step)
            .map_or(0.0, |e| e.1);
        if step == self.step {
            booked + end.since(log.since).as_secs_f64()
        } else {
            booked
        }
    }

    /// Whole units since the end of the warm-up (each total rounded, then the difference
    /// taken, so that counts over periods add up).
    pub fn measured_units(&self) -> WholeUnits {
        WholeUnits::of(&self.counters).since(&WholeUnits::of(&self.baseline))
    }

    /// Counters since the end of the warm-up.
    pub fn measured(&self) -> Counters {
        self.counters.since(&self.baseline)
    }

    /// Whether the next unit is rejected (one draw per unit).
    pub fn draw_reject(&mut self, rate: f64) -> bool {
        rate > 0.0 && self.reject_rng.random::<f64>() < rate
    }
}

/// Where a line is in its production schedule.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CampaignCursor {
    campaigns: Vec<Campaign>,
    repeat: bool,
    index: usize,
    /// The last campaign of a non-repeating schedule runs on without end.
    exhausted: bool,
    /// Ticks released into the line in this campaign.
    pub released: u128,
    /// Generation of the duration timer; a timer event with another generation is stale.
    pub timer_epoch: u32,
}

impl CampaignCursor {
    /// A cursor at the first campaign.
    pub fn new(campaigns: Vec<Campaign>, repeat: bool) -> Self {
        CampaignCursor {
            campaigns,
            repeat,
            index: 0,
            exhausted: false,
            released: 0,
            timer_epoch: 0,
        }
    }

    /// The product of the current campaign.
    pub fn product(&self) -> usize {
        self.campaigns[self.index].product
    }

    fn amount(&self) -> CampaignAmount {
        if self.exhausted {
            CampaignAmount::Endless
        } else {
            self.campaigns[self.index].amount
        }
    }

    /// Ticks left to release in a quantity campaign.
    pub fn remaining_ticks(&self) -> Option<u128> {
        match self.amount() {
            CampaignAmount::Quantity(q) => {
                Some((q as u128 * TICKS_PER_UNIT).saturating_sub(self.released))
            }
            _ => None,
        }
    }

    /// The length of a duration campaign.
    pub fn duration(&self) -> Option<SimDuration> {
        match self.amount() {
            CampaignAmount::Duration(d) => Some(d),
            _ => None,
        }
    }

    /// Moves to the next campaign (or marks the last one endless). Returns whether the
    /// product changed.
    pub fn advance(&mut self) -> bool {
        let before = self.product();
        self.released = 0;
        self.timer_epoch = self.timer_epoch.wrapping_add(1);
        if self.index + 1 < self.campaigns.len() {
            self.index += 1;
        } else if self.repeat {
            self.index = 0;
        } else {
            self.exhausted = true;
        }
        self.product() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_scenario;

    /// Booking spans whole (working or not) gives, to the bit, the sums and timeline that
    /// booking them as a working fraction of 1 or 0 gives: available or stopped (down, in
    /// a changeover), spans of uneven length, and a second booking at one instant.
    #[test]
    fn booking_whole_spans_sums_as_booking_fractions_of_one_or_none() {
        let text = r#"
name = "t"
[run]
horizon = "1h"
[[lines]]
name = "L"
[[lines.stations]]
name = "m"
kind = "generic"
processing_time = "exp(1s)"
failures = [{ tbf = "exp(1h)", ttr = "exp(1min)" }]
"#;
        let scenario = load_scenario("t.toml", text).expect("a valid scenario");
        let mut whole =
            StationCore::new(&scenario.lines[0].stations[0], 0, 0, &RngStreams::new(1), 0);
        whole.timeline = Some(Vec::new());
        let mut fraction = whole.clone();
        let mut t = 0u64;
        for k in 0..400u64 {
            // Spans of 1 ns to a second, and now and then none.
            if k % 11 != 3 {
                t += 1 + (k * 7_919_993) % 1_000_000_007;
            }
            if k % 17 == 5 {
                let down = !whole.failures[0].active;
                whole.failures[0].active = down;
                fraction.failures[0].active = down;
            }
            if k % 29 == 0 {
                whole.setup = !whole.setup;
                fraction.setup = whole.setup;
            }
            let working = k % 3 != 0;
            let rest = if k % 2 == 0 {
                StationState::Starved
            } else {
                StationState::Blocked
            };
            let a = whole.account_whole(SimTime(t), working, rest);
            let b = fraction.account(SimTime(t), if working { 1.0 } else { 0.0 }, rest);
            assert_eq!(a.to_bits(), b.to_bits(), "span {k}");
        }
        let bits = |c: &StationCore| c.times.map(f64::to_bits);
        assert_eq!(bits(&whole), bits(&fraction));
        assert_eq!(whole.timeline, fraction.timeline);
        assert!(whole.times[StationState::Working as usize] > 0.0);
        assert!(whole.times[StationState::Down as usize] > 0.0);
        assert!(whole.times[StationState::Setup as usize] > 0.0);
    }
}
