//! What the [`Store`](super::Store)'s writes report: why one item was
//! refused ([`Reject`], the store unchanged), why the store itself failed
//! ([`StoreError`]), and what an open, a put or a cache did.

use thiserror::Error;

use super::event::DecodeError;
use super::item::{EntryKey, VersionStamp};
use super::state::Change;
use super::storage::{Recovery, StorageError};
use catalogue::id::{ItemId, ItemKind};

/// Why one item or package was not stored. The store is unchanged.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
pub enum Reject {
    /// The body is larger than the configured limit.
    #[error("{len} bytes exceed the item limit of {max} bytes")]
    TooLarge {
        /// Body length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The name is longer than [`MAX_NAME_BYTES`](super::item::MAX_NAME_BYTES).
    #[error("name of {len} bytes exceeds the limit of {max} bytes")]
    NameTooLong {
        /// Name length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The id is held as another kind of item.
    #[error("item {id} is stored as a {stored:?}, not a {offered:?}")]
    KindMismatch {
        /// The item.
        id: ItemId,
        /// Kind held.
        stored: ItemKind,
        /// Kind offered.
        offered: ItemKind,
    },
    /// Even after evicting everything evictable it would not fit: pinned
    /// (locally published) items fill the capacity.
    #[error("store full: {needed_bytes} bytes needed, capacity {capacity_bytes}")]
    CapacityExceeded {
        /// Bytes held plus the new entry, after every possible eviction.
        needed_bytes: u64,
        /// Configured capacity.
        capacity_bytes: u64,
    },
    /// The item's version counter is at its maximum.
    #[error("item {id} has no version number left")]
    SeqExhausted {
        /// The item.
        id: ItemId,
    },
    /// The item is not held.
    #[error("item {id} is not held")]
    UnknownItem {
        /// The item.
        id: ItemId,
    },
    /// The signer's key does not own the design.
    #[error("item {id} is not owned by this publisher key")]
    NotOwner {
        /// The item.
        id: ItemId,
    },
}

/// A store failure. After any [`StoreError::Storage`] from a write the store
/// is poisoned: reopen it (which runs recovery).
#[derive(Debug, Error)]
pub enum StoreError {
    /// The item or package was not stored.
    #[error(transparent)]
    Rejected(#[from] Reject),
    /// The backend failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A log record passed its checksum but does not decode.
    #[error("log record {index} after the snapshot: {source}")]
    CorruptRecord {
        /// Index of the record after the snapshot (0-based).
        index: u64,
        /// Why it does not decode.
        #[source]
        source: DecodeError,
    },
    /// A log record contradicts the state before it.
    #[error(
        "log record {index} after the snapshot puts item {id} as a {offered:?}, held as a {stored:?}"
    )]
    InconsistentRecord {
        /// Index of the record after the snapshot (0-based).
        index: u64,
        /// The item.
        id: ItemId,
        /// Kind held.
        stored: ItemKind,
        /// Kind in the record.
        offered: ItemKind,
    },
    /// The snapshot does not decode.
    #[error("snapshot: {0}")]
    CorruptSnapshot(#[source] DecodeError),
    /// The configuration is unusable.
    #[error("invalid store configuration: {0}")]
    InvalidConfig(&'static str),
    /// An earlier write failed; reopen the store.
    #[error("an earlier write failed; reopen the store to recover")]
    Poisoned,
}

/// What [`Store::open`](super::Store::open) found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OpenReport {
    /// Whether a snapshot was loaded.
    pub from_snapshot: bool,
    /// Log records replayed after the snapshot.
    pub events_replayed: u64,
    /// The backend's recovery (torn tail cut, if any).
    pub recovery: Recovery,
    /// Entries evicted at open because the capacity is now smaller.
    pub evicted_at_open: usize,
}

/// The result of storing one item version.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PutOutcome {
    /// The stamp of the version offered (for a publish: the one assigned, or
    /// the current stamp when the content was already current).
    pub stamp: VersionStamp,
    /// What happened.
    pub change: Change,
    /// Entries evicted to make room, in order.
    pub evicted: Vec<EntryKey>,
}

/// The result of caching one package.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CacheOutcome {
    /// [`Change::Added`], or [`Change::Unchanged`] if already cached.
    pub change: Change,
    /// Entries evicted to make room, in order.
    pub evicted: Vec<EntryKey>,
}
