//! The offline knowledge base: an append-only event log replayed into a
//! catalogue of OKH manifests, OKW facilities and cached design packages.
//!
//! # Layers
//!
//! * [`record`] — checksummed, length-prefixed frames (the byte layout and
//!   the choice of CRC-32C are documented there) and the recovery scan;
//! * [`event`] — log events (an item version stored, an entry used, an entry
//!   evicted, a package cached) and their binary encoding;
//! * [`storage`] — the [`Storage`] trait, the seam between the store and the
//!   bytes: append, sync, replay, snapshot; [`memory`] is the in-memory
//!   backend (the simulator), `hw_bridge::store` the on-disk one;
//! * [`Store`] — the catalogue: writes become events, the log is the source
//!   of truth, and the state is its replay, with snapshots so replay does not
//!   start from zero.
//!
//! The store never parses manifests: it holds [`StoredItem`]s whose `bytes`
//! are the original files, identified by the caller-computed
//! [`ItemId`](catalogue::ItemId) and [`VersionStamp`].
//!
//! Nor does it verify: a version's [`Authorship`](crate::identity::Authorship)
//! (publisher key and signature) is kept as given, in the log and the
//! snapshot. Sync verifies before it calls [`Store::apply_remote`]; a local
//! publish is signed here ([`Store::publish_signed`], under the design id
//! the [`Signer`]'s key owns). Versions stored before items were signed
//! have no authorship and are never served.
//!
//! # Durability
//!
//! Every write — [`Store::publish`], [`Store::apply_remote`], the batch forms,
//! [`Store::cache_package`] — appends its events, then syncs (on disk:
//! `fdatasync`), and only then returns `Ok`: an `Ok` is an acknowledgement
//! that the write survives a crash. [`Store::touch`] is logged without a
//! sync; losing a recent touch only changes eviction order. If the backend
//! fails, the store is poisoned and must be reopened.
//!
//! # Recovery
//!
//! Opening a store: (1) the backend finds its current snapshot and log (the
//! on-disk backend also clears half-finished snapshot installs, see
//! `hw_bridge::store`); (2) the snapshot is decoded, all its consistency rules
//! checked; (3) the log's frames are read in order, each checked against its
//! checksum, decoded and applied; (4) at the first frame that is incomplete or
//! fails its checksum the backend looks for any valid frame after it: if there
//! is none, this is the torn tail of an append that was never acknowledged,
//! and the log is truncated there (and synced) — reported in [`Recovery`]; if
//! there is one, the damage is inside the log, and opening fails with
//! [`StorageError::CorruptLog`] rather than drop acknowledged records. A
//! record that passes its checksum but does not decode is also an error.
//!
//! # Conflict rule
//!
//! Versions of one item are totally ordered by
//! [`VersionStamp`]: the higher
//! `seq` wins, equal `seq` (concurrent edits) is won by the larger content
//! id. The current version is the highest stamp held. A local publish takes
//! `seq` one above the highest held. Because the rule is an order and the
//! retention policy keeps a set defined by that order, every node that has
//! received the same versions — in any order, with duplicates — holds the
//! same current version and the same history.
//!
//! # Retention
//!
//! Per item, the [`StoreConfig::max_versions`] highest stamps are kept (the
//! current one and the newest history); a version older than all of those
//! is not stored, and storing a newer one drops the oldest. Publishing the
//! content that is already current is a no-op.
//!
//! # Capacity and eviction
//!
//! Every version and package is charged its body, its name and
//! [`ENTRY_OVERHEAD_BYTES`]; the total stays under
//! [`StoreConfig::capacity_bytes`]. When a write needs room, whole entries
//! (an item with all its versions, or a package) are evicted in this order:
//!
//! 1. by class, in [`StoreConfig::eviction_order`] — by default remote
//!    manifests first, then remote facilities, then cached packages: a
//!    manifest is small and a peer re-sends it in a few frames, while a
//!    design package costs minutes of LoRa airtime to fetch again;
//! 2. within a class, least recently used first, by a logical clock that
//!    ticks once per logged event (put, touch, eviction) — never the wall
//!    clock, so replay reproduces it exactly.
//!
//! Locally published items are pinned and never evicted; a write that cannot
//! fit even after every possible eviction is rejected with
//! [`Reject::CapacityExceeded`]. Evictions are logged, so replay does not
//! re-decide them. The log itself is bounded by snapshotting when it grows
//! past the larger of [`StoreConfig::snapshot_min_log_bytes`] and the bytes
//! held.

pub mod event;
pub mod item;
pub mod memory;
pub mod record;
pub mod storage;

mod db;
mod outcome;
mod state;

#[cfg(test)]
mod tests;

pub use db::{Signer, Store, StoreConfig};
pub use event::{DecodeError, Event, MAX_SIGNAL_RECORD_BYTES};
pub use item::{
    CachedPackage, Draft, ENTRY_OVERHEAD_BYTES, EntryKey, ItemClass, MAX_ITEM_BYTES,
    MAX_NAME_BYTES, Origin, StoredItem, VersionStamp,
};
pub use memory::MemStorage;
pub use outcome::{CacheOutcome, OpenReport, PutOutcome, Reject, StoreError};
pub use record::{FrameError, Tail};
pub use state::Change;
pub use storage::{MAX_RECORD_BYTES, Recovery, Storage, StorageError};
