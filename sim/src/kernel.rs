//! The run loop: a bevy_ecs [`World`] holding the model's state, an [`EventCalendar`], and
//! next-event time advance.
//!
//! Each event is handed to an [`EventHandler`] with direct access to the world; no bevy
//! schedule runs per event, because a schedule costs microseconds and a fast model handles
//! an event in well under one.

use crate::calendar::EventCalendar;
use crate::time::{SimDuration, SimTime};
use bevy_ecs::world::World;

/// Schedules future events from inside a handler.
pub struct Scheduler<'a, E> {
    now: SimTime,
    calendar: &'a mut EventCalendar<E>,
    /// While running to an end: the end, and the count of events handled (a handler may
    /// take the next events itself, see [`Scheduler::take_next_if`]), and the count past
    /// which it may take no more (the run loop's [`ProgressGuard`] then looks). `None` when
    /// stepping one event at a time, or outside the run loop.
    running: Option<(SimTime, &'a mut u64, u64)>,
}

impl<E> Scheduler<'_, E> {
    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `time`; a time in the past is moved to now, so time never runs
    /// backwards.
    // Inlined (as are `after`, `take_next_if` and the calendar's push and pop) on the
    // per-event path: out of line, the event went through the stack, written field by
    // field and read back whole, which stalls the processor; and the build's split into
    // units decided it (a build with debug symbols ran the tandem line 12 % slower).
    #[inline(always)]
    pub fn at(&mut self, time: SimTime, event: E) {
        self.calendar.schedule(time.max(self.now), event);
    }

    /// Schedules `event` after `delay`.
    #[inline(always)]
    pub fn after(&mut self, delay: SimDuration, event: E) {
        self.calendar.schedule(self.now + delay, event);
    }

    /// Takes the next pending event off the calendar when the run loop would hand it over
    /// next anyway (due no later than the run's end) and `wanted` picks it: the clock moves
    /// to its time and it counts as handled, and the caller handles it now. This lets a
    /// model handle a run of one part's events without looking the part up again for each.
    /// Always `None` when the simulation is stepped one event at a time.
    #[inline(always)]
    pub fn take_next_if(&mut self, wanted: impl FnOnce(&E) -> bool) -> Option<E> {
        let (end, handled, most) = self.running.as_mut()?;
        let (t, next) = self.calendar.peek()?;
        if t > *end || **handled >= *most || !wanted(next) {
            return None;
        }
        let (t, event) = self.calendar.pop().expect("peeked just now");
        **handled += 1;
        self.now = t;
        Some(event)
    }
}

/// Where a part of a model puts its future events: the kernel's [`Scheduler`] itself, or a
/// [`Mapped`] view of it that wraps the part's own events into the model's event type, so
/// that a part never names the model's type (the model's parts do not depend on it).
pub trait Calendar<E> {
    /// The current simulated time.
    fn now(&self) -> SimTime;

    /// Schedules `event` at `time`; a time in the past is moved to now.
    fn at(&mut self, time: SimTime, event: E);

    /// Schedules `event` after `delay`.
    fn after(&mut self, delay: SimDuration, event: E) {
        let time = self.now() + delay;
        self.at(time, event);
    }
}

impl<E> Calendar<E> for Scheduler<'_, E> {
    fn now(&self) -> SimTime {
        self.now
    }

    #[inline(always)]
    fn at(&mut self, time: SimTime, event: E) {
        Scheduler::at(self, time, event);
    }

    #[inline(always)]
    fn after(&mut self, delay: SimDuration, event: E) {
        Scheduler::after(self, delay, event);
    }
}

impl<'c, E> Scheduler<'c, E> {
    /// A calendar for events of type `F`, each wrapped by `wrap` into the model's event.
    pub fn map<F, W: Fn(F) -> E>(&mut self, wrap: W) -> Mapped<'_, 'c, E, W> {
        Mapped { sched: self, wrap }
    }
}

/// A [`Scheduler`] seen as a calendar of a part's own events (see [`Scheduler::map`]).
pub struct Mapped<'s, 'c, E, W> {
    sched: &'s mut Scheduler<'c, E>,
    wrap: W,
}

impl<E, F, W: Fn(F) -> E> Calendar<F> for Mapped<'_, '_, E, W> {
    fn now(&self) -> SimTime {
        self.sched.now
    }

    #[inline(always)]
    fn at(&mut self, time: SimTime, event: F) {
        self.sched.at(time, (self.wrap)(event));
    }

    #[inline(always)]
    fn after(&mut self, delay: SimDuration, event: F) {
        self.sched.after(delay, (self.wrap)(event));
    }
}

/// What a model does with its events.
pub trait EventHandler<E> {
    /// Handles `event` at `sched.now()`.
    fn handle(&mut self, world: &mut World, sched: &mut Scheduler<'_, E>, event: E);
}

/// Why [`Simulation::run_until`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// The clock reached the end time; later events stay pending.
    Horizon,
    /// No event was left before the end time; the clock was moved to the end time.
    Exhausted,
    /// The model stopped making progress (see [`ProgressGuard`]); the clock stays where
    /// it stood, and the run handles nothing more.
    Stalled(Stall),
}

/// How a run that no longer moves its clock is told from one that is busy: more than
/// `events` events while the clock passes less than `window`. A model whose loop waits for
/// a time that never comes (an event rescheduled at the same instant, or a nanosecond later
/// for ever) would otherwise run for ever, and often grow memory as it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgressGuard {
    /// Events, at most, within one window.
    pub events: u64,
    /// Simulated time the events must move the clock by.
    pub window: SimDuration,
}

impl ProgressGuard {
    /// Twenty million events within one simulated second: no plant needs that (a
    /// machine at 100,000 units an hour makes 28 a second; a fleet steps a few times a
    /// second), and at the engine's speed it is caught within a few seconds.
    pub const DEFAULT: ProgressGuard = ProgressGuard {
        events: 20_000_000,
        window: SimDuration(crate::time::NANOS_PER_SEC),
    };
}

/// Where and how a run stopped making progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stall {
    /// The clock when the guard acted.
    pub at: SimTime,
    /// Events handled since the clock was last a whole window earlier.
    pub events: u64,
    /// The guard's window.
    pub window: SimDuration,
}

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the model stopped making progress at {}: {} events while the clock moved less than {} s (a loop that waits for a time that never comes)",
            self.at,
            self.events,
            self.window.as_secs_f64()
        )
    }
}

/// A discrete-event simulation: world, calendar and clock.
pub struct Simulation<E> {
    /// The model's entities and state.
    pub world: World,
    calendar: EventCalendar<E>,
    now: SimTime,
    events_processed: u64,
    guard: ProgressGuard,
    /// The guard's current window: it ends at this time, and began with this many events
    /// handled.
    window_end: SimTime,
    window_base: u64,
    stalled: Option<Stall>,
}

impl<E> Default for Simulation<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Simulation<E> {
    /// An empty world at time zero.
    pub fn new() -> Self {
        Self {
            world: World::new(),
            calendar: EventCalendar::new(),
            now: SimTime::ZERO,
            events_processed: 0,
            guard: ProgressGuard::DEFAULT,
            window_end: SimTime::ZERO,
            window_base: 0,
            stalled: None,
        }
    }

    /// Sets how [`Simulation::run_until`] tells a stalled model (see [`ProgressGuard`]).
    pub fn set_progress_guard(&mut self, guard: ProgressGuard) {
        self.guard = guard;
        self.window_end = SimTime::ZERO;
    }

    /// Where the run stopped making progress, if it did.
    pub fn stalled(&self) -> Option<Stall> {
        self.stalled
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Events handled so far.
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    /// Schedules `event` at `time` (not before now).
    pub fn schedule(&mut self, time: SimTime, event: E) {
        self.calendar.schedule(time.max(self.now), event);
    }

    /// Runs `f` with the world and a scheduler at the current time: for setting a model up
    /// before the run, or poking it from outside between runs.
    pub fn with_scheduler<R>(
        &mut self,
        f: impl FnOnce(&mut World, &mut Scheduler<'_, E>) -> R,
    ) -> R {
        let mut sched = Scheduler {
            now: self.now,
            calendar: &mut self.calendar,
            running: None,
        };
        f(&mut self.world, &mut sched)
    }

    /// The calendar of pending events, for saving the run's state.
    pub fn calendar(&self) -> &EventCalendar<E> {
        &self.calendar
    }

    /// The calendar of pending events, to withdraw some (a fork changing its plans).
    pub fn calendar_mut(&mut self) -> &mut EventCalendar<E> {
        &mut self.calendar
    }

    /// Puts the clock, the count of events handled and the calendar back as a saved run
    /// had them; the world is the model's to restore.
    pub fn restore(&mut self, now: SimTime, events_processed: u64, calendar: EventCalendar<E>) {
        self.now = now;
        self.events_processed = events_processed;
        self.calendar = calendar;
        self.window_end = SimTime::ZERO;
        self.stalled = None;
    }

    /// When the next pending event is due, if any.
    pub fn next_time(&self) -> Option<SimTime> {
        self.calendar.peek_time()
    }

    /// Handles the next pending event alone (for stepping a model one event at a time)
    /// and returns its time; `None`, with nothing done, when no event is pending.
    pub fn step<H: EventHandler<E>>(&mut self, handler: &mut H) -> Option<SimTime> {
        self.handle_next(handler, None)
    }

    /// Hands the next pending event to `handler` and returns its time; while running to
    /// `end`, the handler may take the events after it too ([`Scheduler::take_next_if`]).
    fn handle_next<H: EventHandler<E>>(
        &mut self,
        handler: &mut H,
        end: Option<SimTime>,
    ) -> Option<SimTime> {
        let (t, event) = self.calendar.pop()?;
        self.events_processed += 1;
        let mut sched = Scheduler {
            now: t,
            calendar: &mut self.calendar,
            running: end.map(|end| {
                // A handler taking events itself stops where the guard would look again.
                let most = (self.window_base.saturating_add(self.guard.events + 1))
                    .max(self.events_processed);
                (end, &mut self.events_processed, most)
            }),
        };
        handler.handle(&mut self.world, &mut sched, event);
        self.now = sched.now;
        Some(t)
    }

    /// Handles every event up to and including `end`, then sets the clock to `end`; or
    /// stops where the model stopped making progress (see [`ProgressGuard`]), and from then
    /// on handles nothing.
    pub fn run_until<H: EventHandler<E>>(&mut self, end: SimTime, handler: &mut H) -> RunEnd {
        if let Some(stall) = self.stalled {
            return RunEnd::Stalled(stall);
        }
        while let Some(t) = self.calendar.peek_time() {
            if t > end {
                self.now = end;
                return RunEnd::Horizon;
            }
            if t >= self.window_end {
                self.window_end = t.saturating_add(self.guard.window);
                self.window_base = self.events_processed;
            } else if self.events_processed - self.window_base > self.guard.events {
                let stall = Stall {
                    at: self.now,
                    events: self.events_processed - self.window_base,
                    window: self.guard.window,
                };
                self.stalled = Some(stall);
                return RunEnd::Stalled(stall);
            }
            self.handle_next(handler, Some(end));
        }
        self.now = end;
        RunEnd::Exhausted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo(Vec<(SimTime, u32)>);
    impl EventHandler<u32> for Echo {
        fn handle(&mut self, _: &mut World, sched: &mut Scheduler<'_, u32>, event: u32) {
            self.0.push((sched.now(), event));
            if event < 3 {
                sched.after(SimDuration(10), event + 1);
            }
        }
    }

    /// Handles even events, and takes the even ones after them itself while it may.
    struct Batcher(Vec<(SimTime, u32)>, u32);
    impl EventHandler<u32> for Batcher {
        fn handle(&mut self, _: &mut World, sched: &mut Scheduler<'_, u32>, event: u32) {
            let mut event = event;
            loop {
                self.0.push((sched.now(), event));
                if event < 20 {
                    sched.after(SimDuration(10 + u64::from(event % 3)), event + 2);
                }
                match sched.take_next_if(|e| e % 2 == 0) {
                    Some(next) => {
                        self.1 += 1;
                        event = next;
                    }
                    None => break,
                }
            }
        }
    }

    #[test]
    fn a_handler_that_takes_the_next_events_sees_what_the_loop_would_hand_it() {
        let start = |sim: &mut Simulation<u32>| {
            sim.schedule(SimTime(0), 0);
            sim.schedule(SimTime(5), 1);
        };
        let mut a = Simulation::new();
        start(&mut a);
        let mut run = Batcher(Vec::new(), 0);
        a.run_until(SimTime(60), &mut run);
        let mut b = Simulation::new();
        start(&mut b);
        let mut stepped = Batcher(Vec::new(), 0);
        while b.next_time().is_some_and(|t| t <= SimTime(60)) {
            b.step(&mut stepped);
        }
        assert_eq!(run.0, stepped.0);
        assert!(run.1 > 0, "the run took events itself");
        assert_eq!(stepped.1, 0, "a step is one event");
        assert_eq!(a.events_processed(), b.events_processed());
        assert_eq!(a.events_processed(), run.0.len() as u64);
        // The end of the run is respected: nothing after 60 was taken.
        assert!(run.0.iter().all(|(t, _)| *t <= SimTime(60)));
        assert_eq!(a.now(), SimTime(60));
    }

    #[test]
    fn stepping_handles_one_event_at_a_time_as_a_run_would() {
        let mut a = Simulation::new();
        a.schedule(SimTime(5), 0u32);
        let mut stepped = Echo(Vec::new());
        assert_eq!(a.next_time(), Some(SimTime(5)));
        assert_eq!(a.step(&mut stepped), Some(SimTime(5)));
        assert_eq!((a.now(), a.next_time()), (SimTime(5), Some(SimTime(15))));
        while a.step(&mut stepped).is_some() {}
        assert_eq!(a.step(&mut stepped), None);
        let mut b = Simulation::new();
        b.schedule(SimTime(5), 0u32);
        let mut run = Echo(Vec::new());
        b.run_until(SimTime(100), &mut run);
        assert_eq!(stepped.0, run.0);
        assert_eq!(a.events_processed(), 4);
    }
    #[derive(Debug, PartialEq)]
    enum Model {
        Part(u32),
        Other,
    }

    fn schedule_part(cal: &mut impl Calendar<u32>) {
        cal.after(SimDuration(7), 1);
        cal.at(SimTime(0), 2);
    }

    struct Recorder(Vec<(SimTime, Model)>);
    impl EventHandler<Model> for Recorder {
        fn handle(&mut self, _: &mut World, sched: &mut Scheduler<'_, Model>, event: Model) {
            if event == Model::Other {
                schedule_part(&mut sched.map(Model::Part));
            }
            self.0.push((sched.now(), event));
        }
    }

    #[test]
    fn a_mapped_calendar_wraps_a_parts_events_into_the_models() {
        let mut sim = Simulation::new();
        sim.schedule(SimTime(5), Model::Other);
        let mut rec = Recorder(Vec::new());
        sim.run_until(SimTime(100), &mut rec);
        // The part's event "at 0" comes at 5: never before now.
        assert_eq!(
            rec.0,
            vec![
                (SimTime(5), Model::Other),
                (SimTime(5), Model::Part(2)),
                (SimTime(12), Model::Part(1)),
            ]
        );
    }

    use bevy_ecs::component::Component;

    #[derive(Component)]
    struct Counter(u32);

    struct Tick;
    impl EventHandler<u32> for Tick {
        fn handle(&mut self, world: &mut World, sched: &mut Scheduler<'_, u32>, event: u32) {
            let mut q = world.query::<&mut Counter>();
            for mut c in q.iter_mut(world) {
                c.0 += event;
            }
            if event < 5 {
                sched.after(SimDuration(10), event + 1);
            }
        }
    }

    #[test]
    fn runs_in_time_order_and_stops_at_horizon() {
        let mut sim = Simulation::new();
        let e = sim.world.spawn(Counter(0)).id();
        sim.schedule(SimTime(0), 1);
        assert_eq!(sim.run_until(SimTime(25), &mut Tick), RunEnd::Horizon);
        // events 1 @0, 2 @10, 3 @20
        assert_eq!(sim.world.get::<Counter>(e).unwrap().0, 6);
        assert_eq!(sim.now(), SimTime(25));
        assert_eq!(sim.run_until(SimTime(1000), &mut Tick), RunEnd::Exhausted);
        assert_eq!(sim.world.get::<Counter>(e).unwrap().0, 15);
        assert_eq!(sim.events_processed(), 5);
    }

    /// Reschedules itself `step` nanoseconds later for ever; a second kind of event, every
    /// millisecond, is a model that is busy but moves on.
    struct Spinner {
        step: u64,
        busy: u64,
    }
    impl EventHandler<u32> for Spinner {
        fn handle(&mut self, _: &mut World, sched: &mut Scheduler<'_, u32>, event: u32) {
            match event {
                0 => sched.after(SimDuration(self.step), 0),
                _ => {
                    self.busy += 1;
                    // Many events a window, each 1 ms apart: the clock moves.
                    sched.after(SimDuration(1_000_000), 1);
                }
            }
        }
    }

    const SMALL: ProgressGuard = ProgressGuard {
        events: 5_000,
        window: SimDuration(crate::time::NANOS_PER_SEC),
    };

    #[test]
    fn a_loop_that_does_not_move_the_clock_is_stopped_where_it_stands() {
        for step in [0, 1, 2_000] {
            let mut sim = Simulation::new();
            sim.set_progress_guard(SMALL);
            sim.schedule(SimTime(7), 0u32);
            let mut model = Spinner { step, busy: 0 };
            let end = sim.run_until(SimTime(3_600 * crate::time::NANOS_PER_SEC), &mut model);
            let RunEnd::Stalled(stall) = end else {
                panic!("step {step} ns: {end:?}")
            };
            // Stopped as soon as the window held more events than the guard allows.
            assert_eq!(stall.events, SMALL.events + 1, "step {step}");
            assert_eq!(sim.events_processed(), SMALL.events + 1);
            assert_eq!(stall.at, SimTime(7 + step * SMALL.events), "step {step}");
            assert_eq!(sim.now(), stall.at);
            // It stays stopped.
            assert_eq!(
                sim.run_until(SimTime(u64::MAX), &mut model),
                RunEnd::Stalled(stall)
            );
            assert_eq!(sim.events_processed(), SMALL.events + 1);
            assert!(stall.to_string().contains("stopped making progress"));
        }
    }

    #[test]
    fn a_busy_model_whose_clock_moves_is_not_stopped() {
        // 1,000 events a simulated second, 5,000 allowed: an hour runs to its end.
        let mut sim = Simulation::new();
        sim.set_progress_guard(SMALL);
        sim.schedule(SimTime(0), 1u32);
        let mut model = Spinner { step: 0, busy: 0 };
        let hour = SimTime(3_600 * crate::time::NANOS_PER_SEC);
        assert_eq!(sim.run_until(hour, &mut model), RunEnd::Horizon);
        assert_eq!(model.busy, 3_600_001);
    }

    /// Takes every next event itself: a handler's own loop is bounded by the guard too.
    struct Greedy;
    impl EventHandler<u32> for Greedy {
        fn handle(&mut self, _: &mut World, sched: &mut Scheduler<'_, u32>, _: u32) {
            loop {
                sched.after(SimDuration::ZERO, 0);
                if sched.take_next_if(|_| true).is_none() {
                    return;
                }
            }
        }
    }

    #[test]
    fn a_handler_taking_events_itself_cannot_escape_the_guard() {
        let mut sim = Simulation::new();
        sim.set_progress_guard(SMALL);
        sim.schedule(SimTime(0), 0u32);
        let end = sim.run_until(SimTime(10), &mut Greedy);
        assert!(matches!(end, RunEnd::Stalled(_)), "{end:?}");
        assert_eq!(sim.events_processed(), SMALL.events + 1);
    }
}
