//! # node-core — the okmesh node, free of I/O
//!
//! Everything an okmesh node does lives here: the catalogue of Open Know-How
//! manifests and Open Know-Where facilities, matching, the wire codec, sync,
//! and the [`Node`] state machine that ties them together. The crate is
//! *sans-IO*: it reads no clock, draws no OS entropy, opens no socket and
//! never blocks. A driver — the discrete-event simulator (`sim`) or the field
//! driver (`hw-bridge`) — owns time and I/O, feeds the node input through
//! `handle_*(now, …)` calls and carries its output through the [`Transport`]
//! trait. Because of that, the same code runs bit-for-bit identically in a
//! simulated mesh of a thousand nodes and on a Raspberry Pi with a radio.
//!
//! Layers, bottom up:
//!
//! * [`time`], [`id`], [`rng`] — newtypes for time and ids, and seeded
//!   randomness derived from one root seed;
//! * [`transport`] — the [`Transport`] trait and frame types;
//! * [`wire`] — the over-the-air frame format;
//! * [`radio`] — LoRa modulation, Meshtastic presets, regions, airtime;
//! * [`catalog`] — identity and version order of catalogue items;
//! * [`store`] — the offline knowledge base: event log, replay, snapshots,
//!   eviction, and the [`Storage`](store::Storage) trait with its in-memory
//!   backend;
//! * [`document`] — reading JSON/TOML/YAML bytes into one tree, with
//!   errors that name file, line and field;
//! * [`okh`] — Open Know-How manifests of every dialect, one model;
//! * [`okw`] — Open Know-Where facilities and informal capability profiles;
//! * [`requirements`] — what a design needs and what a facility has;
//! * [`matching`] — scores, ranking, reverse matching and multi-facility
//!   plans over pre-compiled tables;
//! * [`taxonomy`] — the matching vocabulary (processes, tools, materials,
//!   substitutions) loaded from `data/taxonomy.toml`;
//! * [`node`] — the [`Node`] state machine.

pub mod catalog;
pub mod document;
mod fields;
pub mod id;
pub mod matching;
pub mod node;
pub mod okh;
pub mod okw;
pub mod radio;
pub mod requirements;
pub mod rng;
pub mod store;
pub mod sync;
pub mod taxonomy;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod transport;
pub mod wire;

pub use id::NodeId;
pub use node::{Node, NodeConfig, NodeEvent, NodeStats, TrafficConfig};
pub use rng::Rng;
pub use time::{Duration, Instant};
pub use transport::{Capabilities, Destination, OutFrame, Priority, RxFrame, SendError, Transport};
