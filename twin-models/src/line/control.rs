//! Line control: level switches on buffers that set machines' speed steps.
//!
//! A switch reads its buffer's level (the units on it, conveyor included) as a sensor with
//! hysteresis: a high switch's signal comes on when the level rises to `on` and goes off
//! when it falls to `off` (a low switch the other way round). The switch follows its
//! signal once the signal has held for the switch's delay (the sensor's time-out); a
//! signal that turns back sooner changes nothing. A machine runs at the lowest step of
//! the switches acting on it (a stop, step 0, before any slow-down), at its nominal speed
//! when none acts. Both engines share this: they report levels and apply the steps.

use super::events::LineEvent;
use super::station::StationState;
use crate::scenario::LevelSwitch;
use sim::Calendar;

/// A speed step as people write it: "stop", or a share of nominal speed like "90%".
pub fn step_name(step: f64) -> String {
    if step == 0.0 {
        "stop".to_string()
    } else {
        format!("{}%", (step * 1e6).round() / 1e4)
    }
}

/// One switch's state.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Switch {
    spec: LevelSwitch,
    /// `on` and `off` in the engine's level unit.
    on: u128,
    off: u128,
    /// Whether the level is past `on` (and not yet back past `off`).
    signal: bool,
    /// Whether the switch acts.
    acting: bool,
    /// Stamps the pending time-out; a stale one is ignored.
    epoch: u32,
    /// Times it started or stopped acting.
    switchings: u64,
    /// `switchings` at the end of the warm-up.
    baseline: u64,
}

/// The level switches of a line.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Control {
    switches: Vec<Switch>,
    /// Per buffer, its switches.
    by_buffer: Vec<Vec<u16>>,
    /// Per station, the switches driving it.
    by_machine: Vec<Vec<u16>>,
    /// Per buffer, the levels its switches wait for next ([`Control::next_levels`]),
    /// kept as signals change so that planning the next event only looks them up.
    next: Vec<(Option<u128>, Option<u128>)>,
    /// Whether a switch started or stopped acting since the steps were last applied.
    changed: bool,
}

impl Control {
    /// The switches of a line with `buffers` buffers and `stations` stations; a level of
    /// one unit is `unit` in the engine's level unit.
    pub fn new(switches: &[LevelSwitch], buffers: usize, stations: usize, unit: u128) -> Self {
        let mut by_buffer = vec![Vec::new(); buffers];
        let mut by_machine = vec![Vec::new(); stations];
        for (k, s) in switches.iter().enumerate() {
            by_buffer[s.buffer].push(k as u16);
            by_machine[s.machine].push(k as u16);
        }
        let mut control = Control {
            switches: switches
                .iter()
                .map(|s| Switch {
                    spec: s.clone(),
                    on: u128::from(s.on) * unit,
                    off: u128::from(s.off) * unit,
                    signal: false,
                    acting: false,
                    epoch: 0,
                    switchings: 0,
                    baseline: 0,
                })
                .collect(),
            by_buffer,
            by_machine,
            next: vec![(None, None); buffers],
            changed: false,
        };
        for b in 0..buffers {
            control.next[b] = control.waiting_levels(b);
        }
        control
    }

    /// Takes the levels, steps and delays of `other` (the same switches, built from a
    /// changed scenario); each switch keeps its signal until its buffer is read again.
    pub fn retune(&mut self, other: &Control) {
        for (s, o) in self.switches.iter_mut().zip(&other.switches) {
            debug_assert_eq!(
                (s.spec.buffer, s.spec.machine),
                (o.spec.buffer, o.spec.machine)
            );
            s.spec = o.spec.clone();
            s.on = o.on;
            s.off = o.off;
        }
        for b in 0..self.next.len() {
            self.next[b] = self.waiting_levels(b);
        }
        // A step changed while its switch acts applies at once.
        self.changed = true;
    }

    /// Whether a switch started or stopped acting since the steps were last taken.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// As [`Control::changed`], and the change counts as taken.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// The switches driving station `i`.
    fn driving(&self, i: usize) -> impl Iterator<Item = &Switch> {
        self.by_machine
            .get(i)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&k| &self.switches[k as usize])
    }

    /// The machine switch `switch` drives.
    pub fn machine_of(&self, switch: u16) -> Option<usize> {
        self.switches.get(switch as usize).map(|s| s.spec.machine)
    }

    /// Whether switches read buffer `b`.
    pub fn watches(&self, b: usize) -> bool {
        self.by_buffer.get(b).is_some_and(|l| !l.is_empty())
    }

    /// Whether the line has no switches.
    pub fn is_empty(&self) -> bool {
        self.switches.is_empty()
    }

    /// What the switches acting on station `i` set: its step and why it is stopped, if
    /// it is (see [`super::StationCore::follow`]).
    pub fn setting(&self, i: usize) -> (f64, Option<StationState>) {
        (self.step(i), self.stop_state(i))
    }

    /// Reads buffer `b`'s `level` (within `tolerance` of a threshold counts as reaching
    /// it). Switches whose signal changed schedule their time-out, or follow it now when
    /// they have none ([`Control::take_changed`] then says so).
    pub fn sense(
        &mut self,
        b: usize,
        level: u128,
        tolerance: u128,
        cal: &mut impl Calendar<LineEvent>,
    ) {
        let Some(list) = self.by_buffer.get(b) else {
            return;
        };
        let mut signalled = false;
        for &k in list {
            let s = &mut self.switches[k as usize];
            let high = s.spec.is_high();
            let signal = if high {
                if s.signal {
                    level > s.off + tolerance
                } else {
                    level + tolerance >= s.on
                }
            } else if s.signal {
                level + tolerance < s.off
            } else {
                level <= s.on + tolerance
            };
            if signal == s.signal {
                continue;
            }
            signalled = true;
            s.signal = signal;
            s.epoch = s.epoch.wrapping_add(1);
            if signal == s.acting {
                // Turned back within the time-out: the pending change is void.
                continue;
            }
            if s.spec.delay.0 == 0 {
                s.acting = signal;
                s.switchings += 1;
                self.changed = true;
            } else {
                cal.after(
                    s.spec.delay,
                    LineEvent::SwitchDue {
                        switch: k,
                        epoch: s.epoch,
                    },
                );
            }
        }
        if signalled {
            self.next[b] = self.waiting_levels(b);
        }
    }

    /// A time-out ran out: the switch follows its signal if the time-out is still the
    /// pending one ([`Control::take_changed`] then says so).
    pub fn due(&mut self, switch: u16, epoch: u32) {
        let Some(s) = self.switches.get_mut(switch as usize) else {
            return;
        };
        if s.epoch == epoch && s.signal != s.acting {
            s.acting = s.signal;
            s.switchings += 1;
            self.changed = true;
        }
    }

    /// The step machine `i` runs at now: the lowest of the switches acting on it, 1 when
    /// none acts.
    pub fn step(&self, i: usize) -> f64 {
        self.driving(i)
            .filter(|s| s.acting)
            .map(|s| s.spec.step)
            .reduce(f64::min)
            .unwrap_or(1.0)
    }

    /// Why machine `i` is stopped by a switch, if it is: blocked ("tailback") when the
    /// switch reads a buffer after it, starved ("lack") when it reads one before it.
    pub fn stop_state(&self, i: usize) -> Option<StationState> {
        self.driving(i)
            .find(|s| s.acting && s.spec.step == 0.0)
            .map(|s| {
                if s.spec.downstream {
                    StationState::Blocked
                } else {
                    StationState::Starved
                }
            })
    }

    /// The levels at which a switch of buffer `b` changes its signal next, in the
    /// direction the level must move: (rising to, falling to). Each is `None` when no
    /// switch waits for a level that way.
    pub fn next_levels(&self, b: usize) -> (Option<u128>, Option<u128>) {
        self.next[b]
    }

    fn waiting_levels(&self, b: usize) -> (Option<u128>, Option<u128>) {
        let (mut rise, mut fall): (Option<u128>, Option<u128>) = (None, None);
        for &k in self.by_buffer.get(b).map_or(&[][..], Vec::as_slice) {
            let s = &self.switches[k as usize];
            let (target, rising) = match (s.spec.is_high(), s.signal) {
                (true, false) => (s.on, true),
                (true, true) => (s.off, false),
                (false, false) => (s.on, false),
                (false, true) => (s.off, true),
            };
            if rising {
                rise = Some(rise.map_or(target, |r| r.min(target)));
            } else {
                fall = Some(fall.map_or(target, |f| f.max(target)));
            }
        }
        (rise, fall)
    }

    /// Per switch: (the switchings since the statistics started, the switch).
    pub fn switchings(&self) -> impl Iterator<Item = (u64, &LevelSwitch)> {
        self.switches
            .iter()
            .map(|s| (s.switchings - s.baseline, &s.spec))
    }

    /// Restarts the counts (end of warm-up).
    pub fn reset_statistics(&mut self) {
        for s in &mut self.switches {
            s.baseline = s.switchings;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::{SimDuration, SimTime};

    /// A calendar that keeps what is scheduled.
    struct Log {
        now: SimTime,
        events: Vec<(SimTime, LineEvent)>,
    }

    impl Calendar<LineEvent> for Log {
        fn now(&self) -> SimTime {
            self.now
        }
        fn at(&mut self, time: SimTime, event: LineEvent) {
            self.events.push((time, event));
        }
    }

    fn high(delay_s: u64) -> Control {
        let spec = LevelSwitch {
            buffer: 0,
            on: 80,
            off: 30,
            delay: SimDuration::from_secs(delay_s),
            machine: 0,
            step: 0.0,
            downstream: true,
        };
        Control::new(&[spec], 1, 2, 1)
    }

    /// Whether reading `level` on buffer 0 made a switch start or stop acting.
    fn sensed(c: &mut Control, level: u128, cal: &mut Log) -> bool {
        c.sense(0, level, 0, cal);
        c.take_changed()
    }

    /// Whether a time-out made a switch start or stop acting.
    fn fired(c: &mut Control, (switch, epoch): (u16, u32)) -> bool {
        c.due(switch, epoch);
        c.take_changed()
    }

    fn due_of(e: &(SimTime, LineEvent)) -> (u16, u32) {
        match e.1 {
            LineEvent::SwitchDue { switch, epoch } => (switch, epoch),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hysteresis_holds_the_signal_between_the_levels() {
        let mut c = high(0);
        let mut cal = Log {
            now: SimTime::ZERO,
            events: Vec::new(),
        };
        assert!(!sensed(&mut c, 79, &mut cal));
        assert!(sensed(&mut c, 80, &mut cal), "acts at `on`");
        assert_eq!(c.stop_state(0), Some(StationState::Blocked));
        assert!(!sensed(&mut c, 31, &mut cal), "holds above `off`");
        assert!(sensed(&mut c, 30, &mut cal), "lets go at `off`");
        assert_eq!(c.step(0), 1.0);
        assert!(!sensed(&mut c, 79, &mut cal));
        assert_eq!(c.switchings().next().unwrap().0, 2);
        assert!(cal.events.is_empty());
    }

    #[test]
    fn a_signal_shorter_than_the_delay_changes_nothing() {
        let mut c = high(5);
        let mut cal = Log {
            now: SimTime::ZERO,
            events: Vec::new(),
        };
        assert!(!sensed(&mut c, 80, &mut cal), "waits for its time-out");
        let first = due_of(&cal.events[0]);
        assert_eq!(cal.events[0].0, SimTime(5_000_000_000));
        // The level falls to `off` before the time-out: the pending change is void.
        cal.now = SimTime(2_000_000_000);
        assert!(!sensed(&mut c, 30, &mut cal));
        assert!(!fired(&mut c, first));
        assert_eq!(c.step(0), 1.0);
        // Rising again, the new time-out runs out with the level still high: it acts.
        assert!(!sensed(&mut c, 85, &mut cal));
        let second = due_of(&cal.events[1]);
        assert!(fired(&mut c, second));
        assert_eq!(c.step(0), 0.0);
        assert_eq!(c.switchings().next().unwrap().0, 1);
    }

    #[test]
    fn a_machine_runs_at_the_lowest_acting_step() {
        let spec = |buffer, on, off, step| LevelSwitch {
            buffer,
            on,
            off,
            delay: SimDuration::ZERO,
            machine: 1,
            step,
            downstream: buffer >= 1,
        };
        let mut c = Control::new(&[spec(0, 10, 50, 0.9), spec(1, 80, 30, 1.15)], 2, 3, 1);
        let mut cal = Log {
            now: SimTime::ZERO,
            events: Vec::new(),
        };
        c.sense(1, 80, 0, &mut cal);
        assert_eq!(c.step(1), 1.15);
        sensed(&mut c, 5, &mut cal);
        assert_eq!(c.step(1), 0.9);
        assert_eq!(c.step(0), 1.0, "drives machine 1 only");
        assert_eq!(c.stop_state(1), None, "slowed, not stopped");
    }
}
