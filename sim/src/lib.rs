//! # sim — a generic discrete-event kernel on bevy_ecs
//!
//! The kernel knows nothing of bottles, conveyors or vehicles. It gives a model:
//! - integer simulated time ([`SimTime`], [`SimDuration`], nanoseconds) with no floating drift;
//! - an [`EventCalendar`] with reproducible tie-breaking and a [`Simulation`] that advances from
//!   event to event, handing each one to an [`EventHandler`] with the bevy_ecs [`World`]; a
//!   model's parts schedule their own event types through a [`Calendar`];
//! - seeded random-number streams ([`RngStreams`]), one per stochastic element;
//! - recorders ([`Tally`], [`TimeWeighted`], [`Level`], [`Spells`], [`TimeSeries`]) and
//!   replication summaries with
//!   Student-t confidence intervals ([`Summary`]);
//! - [`run_replications`], whose results do not depend on the number of threads.
//!
//! ```
//! use sim::{EventHandler, Scheduler, SimDuration, SimTime, Simulation, World};
//! use sim::bevy_ecs::prelude::*;
//!
//! #[derive(Resource, Default)]
//! struct Arrivals(u32);
//!
//! // A source that creates one arrival every 2 s.
//! struct Source;
//! impl EventHandler<()> for Source {
//!     fn handle(&mut self, world: &mut World, sched: &mut Scheduler<'_, ()>, _: ()) {
//!         world.resource_mut::<Arrivals>().0 += 1;
//!         sched.after(SimDuration::from_secs(2), ());
//!     }
//! }
//!
//! let mut sim = Simulation::new();
//! sim.world.init_resource::<Arrivals>();
//! sim.schedule(SimTime::ZERO, ());
//! sim.run_until(SimTime(10 * sim::NANOS_PER_SEC), &mut Source);
//! assert_eq!(sim.world.resource::<Arrivals>().0, 6); // at 0, 2, 4, 6, 8 and 10 s
//! ```

pub mod calendar;
pub mod kernel;
pub mod recorder;
pub mod replication;
pub mod rng;
pub mod stats;
pub mod time;

pub use bevy_ecs;
pub use bevy_ecs::world::World;
pub use calendar::EventCalendar;
pub use kernel::{
    Calendar, EventHandler, Mapped, ProgressGuard, RunEnd, Scheduler, Simulation, Stall,
};
pub use recorder::{SampleValue, TimeSeries};
pub use replication::{replication_seed, run_replications};
pub use rng::{RngStreams, StreamRng, splitmix64};
pub use stats::{Level, Spells, Summary, Tally, TimeWeighted, student_t_cdf, student_t_quantile};
pub use time::{
    NANOS_PER_HOUR, NANOS_PER_SEC, SimDuration, SimTime, ceil_u64, f64_to_u64, round_half_up,
    u64_to_f64,
};
