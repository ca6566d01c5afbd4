//! # hw-bridge — node-core on real time and real I/O
//!
//! The simulator drives node-core on simulated time; this crate drives the
//! very same code on the wall clock, against real transports and a real disk:
//!
//! * [`store`] — the on-disk backend of node-core's `Storage` trait, used by
//!   field nodes and by the command line's `import` / `match --db`;
//! * a Meshtastic transport (serial and TCP) with its own stream framing;
//! * a UDP transport for multi-process testbeds on one machine;
//! * a Meshtastic device emulator (TCP, shared simulated air) for tests;
//! * [`driver`], the loop that runs a node on the wall clock, and [`http`],
//!   its local JSON API;
//! * [`keys`], the node and publisher key pairs and the API token in the
//!   data directory, and [`logs`], escaping and rate limits for what peers
//!   put in log lines;
//! * [`kb`], stored items read back into designs and facilities for
//!   matching (the ranking itself is `catalogue::ranked`, shared with the
//!   CLI), and [`match_index`], the compiled requirements persisted beside
//!   the store so that a query parses no manifest.
//!
//! hw-bridge may import `node-core` and `catalogue`, and never the
//! simulator, the scenarios or the reports: a field node carries no
//! simulation code.

pub mod driver;
pub mod emulator;
pub mod http;
pub mod kb;
pub mod keys;
pub mod logs;
pub mod match_index;
pub mod meshtastic;
pub mod radio;
pub mod spec;
pub mod store;
pub mod udp;
pub mod web;

/// Sleeps until `deadline`, or forever when there is none (a `select!`
/// branch for a timer that may be unset).
pub(crate) async fn sleep_until_or_forever(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// 32 bits the OS seeded, for packet ids that must differ across restarts
/// (a radio mesh drops a packet whose `(from, id)` it has already seen).
pub fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish() as u32
}
