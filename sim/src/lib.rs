//! # sim — a deterministic discrete-event simulator of LoRa mesh networks
//!
//! The simulator runs the real node logic (`node-core`) on simulated
//! Meshtastic radios over a simulated shared channel, for hundreds or
//! thousands of nodes, in simulated time. A run is described by a
//! [`Config`] (built in code, or compiled from a scenario file by the
//! `scenarios` crate), built into a [`Simulation`], and either run to its
//! end ([`Simulation::run`]) or stepped ([`Simulation::run_until`], with
//! [`Simulation::publish`] and [`Simulation::inject`] in between).
//!
//! The layers, bottom up:
//!
//! * [`engine`] — the event queue, ordered by (time, sequence) so that ties
//!   run first-in first-out and every run replays exactly, and the timer
//!   slots that let a timer be re-armed without an event per re-arm;
//! * [`phy`] — the physics of the air: path loss, receiver sensitivity,
//!   collisions and capture; modulation, airtime and regions come from
//!   `node_core::radio`;
//! * [`radio`] — the run's radio setup and link budget;
//! * [`topology`] — node placement and the link lists (petgraph for
//!   statistics);
//! * [`mac`] — the Meshtastic link layer under each node: transmit queue,
//!   contention delays, channel utilisation, applying node-core's managed
//!   flood and duty-cycle budget (`node_core::radio`);
//! * [`fault`] — the fault plan, the one seam every reception asks about
//!   partitions and injected loss, and the source of crash/restart/join
//!   events;
//! * [`config`] — the simulator's own configuration types;
//! * [`world`] — the [`Simulation`] tying them together: build, event loop,
//!   node driving, the air, workload, faults taking effect;
//! * [`trace`] — the one stream of typed records a run emits;
//! * [`check`] — invariant checkers that only observe the trace (they
//!   deliberately share no code with what they check).
//!
//! Dependencies: `sim` imports `node-core` and general-purpose crates only.
//! It never imports `scenarios` (the scenario schema compiles *into*
//! [`Config`]) nor `reports` (which reads the trace); hw-bridge never
//! imports `sim`.
//!
//! Determinism: one seed decides everything. Randomness comes from streams
//! derived from the run's seed and a stable label (`node`, `mac`,
//! `topology`, `shadowing`, `loss`); there is no wall clock, no OS entropy and
//! no iteration over hash maps (`clippy.toml` bans them). Transcendental
//! functions come from `libm`, so results agree across platforms.

pub mod check;
pub mod config;
pub mod engine;
pub mod fault;
pub mod mac;
pub mod phy;
pub mod radio;
pub mod signal_plan;
pub mod topology;
pub mod trace;
pub mod world;

pub use config::Config;
pub use fault::{Fault, FaultPlan, Split};
pub use radio::RadioSetup;
pub use topology::{Topology, TopologyStats};
pub use trace::{Record, TraceHasher, TraceSink};
pub use world::{BuildError, InjectError, Progress, PublishError, RunError, RunStats, Simulation};
