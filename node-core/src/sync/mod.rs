//! Catalogue sync over the mesh: every node's catalogue of manifests and
//! facilities converges, spending as little airtime as it can.
//!
//! * [`engine`] — the protocol (see its docs): Trickle summaries, sketch
//!   reconciliation, wants and data, and the blind-flooding baseline;
//! * [`sketch`] over [`gf64`] — set sketches that find `d` differences in
//!   about `8·d` bytes;
//! * [`trickle`] — RFC 6206 timers;
//! * [`compress`] — zstd with a dictionary trained on the corpus.

pub mod compress;
pub mod engine;
pub mod gf64;
pub mod sketch;
pub mod trickle;

#[cfg(test)]
pub(crate) mod tests;

pub use engine::{Strategy, Sync, SyncConfig, SyncEvent, SyncStats, element_of};
pub use trickle::TrickleConfig;
