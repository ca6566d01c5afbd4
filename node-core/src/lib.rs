//! # node-core — the okmesh mesh protocol, free of I/O
//!
//! How an okmesh node takes part in the mesh: the wire codec, the
//! Meshtastic radio rules, the catalogue store, sync, and the [`Node`]
//! state machine that ties them together. What the catalogue *is* (OKH and
//! OKW documents, ids, matching) is the `catalogue` crate's; this crate
//! moves and keeps it.
//!
//! The crate is *sans-IO*: it reads no clock, draws no OS entropy, opens no
//! socket and never blocks. A driver — the discrete-event simulator (`sim`)
//! or the field driver (`hw-bridge`) — owns time and I/O, feeds the node
//! input through `handle_*(now, …)` calls and carries its output through the
//! [`Transport`] trait. Because of that, the same code runs bit-for-bit
//! identically in a simulated mesh of a thousand nodes and on a Raspberry
//! Pi with a radio.
//!
//! It may import `catalogue` and small, pure crates (hashing, compression,
//! a seeded RNG); never a YAML/TOML parser, an async runtime or another
//! okmesh crate.
//!
//! Layers, bottom up:
//!
//! * [`time`], [`id`], [`rng`] — newtypes for time and ids, and seeded
//!   randomness derived from one root seed;
//! * [`identity`] — Ed25519 keys, signatures and fingerprints, signed item
//!   versions with owned design ids, and the trust policy; `sync` verifies
//!   with it before it stores, serves or relays (a [`RejectReason`] per
//!   failure);
//! * [`transport`] — the [`Transport`] trait and frame types;
//! * [`wire`] — the over-the-air format: the frame header, one module per
//!   frame family ([`wire::ChatFrame`], [`wire::SyncFrame`]) and the
//!   transfer stream header ([`wire::TransferHeader`]);
//! * [`radio`] — LoRa modulation, Meshtastic presets, regions, airtime;
//! * [`store`] — the offline knowledge base: event log, replay, snapshots,
//!   eviction, and the [`Storage`](store::Storage) trait with its in-memory
//!   backend;
//! * [`sync`] — catalogue reconciliation and transfer between neighbours,
//!   driven through [`sync::SyncEngine`];
//! * [`packages`] — design packages: pieces, Merkle proofs, the signed
//!   package record bound to a manifest;
//! * [`node`] — the [`Node`] state machine and its call contract.
//!
//! # Planned
//!
//! Two subsystems are about to land, each in its own module. One that
//! talks over the air slots in the way `sync` does: a frame family in
//! `wire/` (new kind numbers, a module, a variant of [`wire::FrameRepr`]),
//! a sub-state machine with its own `handle_*` and `poll_timeout` owned by
//! [`Node`], and one dispatch arm in [`Node::handle_frame`].
//!
//! * `signals/` — supply and demand signals ("I need", "I can make"),
//!   Bloom-filter summaries of them and subscriptions; a frame family and
//!   a sub-state beside [`sync::SyncEngine`] in [`Node`].
//! * `packages/` — design packages cut into pieces with Merkle proofs and
//!   fetched from several holders (a swarm); a frame family, transfers in
//!   the manner of `sync`'s `transfer` module, and the store's package
//!   cache ([`Store::cache_package`](store::Store::cache_package)).

pub mod id;
pub mod identity;
pub mod node;
pub mod packages;
pub mod radio;
pub mod rng;
pub mod signals;
pub mod store;
pub mod sync;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod transport;
pub mod wire;

pub use catalogue::{ItemId, ItemKind};
pub use id::NodeId;
pub use node::{Node, NodeConfig, NodeEvent, NodeStats, TrafficConfig};
pub use rng::Rng;
pub use sync::{Element, Fingerprint, RejectReason};
pub use time::{Duration, Instant};
pub use transport::{Capabilities, Destination, OutFrame, Priority, RxFrame, SendError, Transport};
