//! # sim — a deterministic discrete-event simulator of LoRa mesh networks
//!
//! The simulator runs the real node logic (`node-core`) on simulated
//! Meshtastic radios over a simulated shared channel, for hundreds or
//! thousands of nodes, in simulated time:
//!
//! * [`engine`] — the event queue, ordered by (time, sequence) so that ties
//!   run first-in first-out and every run replays exactly;
//! * [`phy`] — the physics of the air: path loss, receiver sensitivity,
//!   collisions and capture; modulation, airtime and regions come from
//!   `node_core::radio`;
//! * [`radio`] — the run's radio configuration and link budget;
//! * [`topology`] — node placement and the link lists (petgraph for
//!   statistics);
//! * [`mac`] — the Meshtastic link layer under each node: managed flood,
//!   contention windows, relay cancellation, duty cycle;
//! * [`world`] — the [`Simulation`] tying them together, with faults;
//! * [`trace`] — the one stream of typed records a run emits;
//! * [`check`] — invariant checkers that only observe the trace.
//!
//! Determinism: one seed decides everything. Randomness comes from streams
//! derived from the scenario's seed and a stable label (`node`, `mac`,
//! `topology`, `shadowing`, `loss`); there is no wall clock, no OS entropy and
//! no iteration over hash maps. Transcendental functions come from `libm`,
//! so results agree across platforms.

pub mod check;
pub mod engine;
pub mod mac;
pub mod phy;
pub mod radio;
pub mod topology;
pub mod trace;
pub mod world;

pub use radio::RadioSetup;
pub use topology::{Topology, TopologyStats};
pub use trace::{Record, TraceHasher, TraceSink};
pub use world::{BuildError, Progress, RunError, RunStats, Simulation};
