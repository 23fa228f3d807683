//! # traffic — the plant floor, fleet routing and multi-agent path finding, with no ECS
//!
//! The floor is a [`Layout`]: a petgraph graph of spots (grid cells, or waypoints with
//! lanes cut into cells), with positions and named locations. [`Traffic`] moves a fleet on
//! it one step at a time without collisions or deadlocks (lifelong PIBT with lacam2's swap
//! technique, detours around held vehicles, slow moves that hold both ends of a segment;
//! [`travel_time`] gives segment times with acceleration). [`mapf`] reads MovingAI maps
//! and scenarios and solves one-shot instances (LaCAM-style search over scattered paths,
//! large neighbourhood search in anytime mode). [`runners`] plays the League of Robot
//! Runners lifelong benchmark. All three plan each step with one PIBT; they differ in how
//! an agent ranks its moves.
//!
//! ```
//! use traffic::mapf::GridMap;
//! use traffic::{Layout, Traffic};
//!
//! // A corridor of five cells, one vehicle at each end, each going to the other end.
//! let map = GridMap::parse("type octile\nheight 3\nwidth 5\nmap\n@@@@@\n.....\n@@.@@\n").unwrap();
//! let layout = Layout::from_grid(&map, 1.0).unwrap();
//! let (west, east) = (layout.grid_spot(0, 1).unwrap(), layout.grid_spot(4, 1).unwrap());
//! let mut fleet = Traffic::new(layout, &[west, east], 0).unwrap();
//! fleet.set_goal(0, east);
//! fleet.set_goal(1, west);
//! for _ in 0..20 {
//!     fleet.step();
//! }
//! // They pass each other through the side pocket at column 2.
//! assert_eq!(fleet.positions(), &[east, west]);
//! ```

mod costs;
pub mod layout;
pub mod lifelong;
pub mod mapf;
pub mod motion;
mod pibt;
pub mod runners;
mod swap;

pub use layout::{Lane, Layout, LayoutError, Waypoint};
pub use lifelong::{Coordination, PlanningWork, Traffic, TrafficError};
pub use motion::travel_time;
