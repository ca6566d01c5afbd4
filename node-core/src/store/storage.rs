//! The byte-level persistence seam under the [`Store`](super::Store).
//!
//! A backend keeps two things: the *log*, an append-only sequence of opaque
//! records, and at most one *snapshot*, an opaque blob that stands for every
//! record appended before it was installed. It frames records with
//! [`record`](super::record) so that a torn or damaged tail can be found.
//!
//! The contract, which both backends meet and the store relies on:
//!
//! * **Open, then replay once.** A backend refuses [`append`](Storage::append)
//!   until [`replay`](Storage::replay) has run; replay visits the records
//!   after the snapshot in append order and then cuts a torn tail (see
//!   [`Tail`]). Damage inside the log is an error, not a
//!   cut: acknowledged records are never dropped silently.
//! * **Durable means synced.** `append` stages a record; it is durable only
//!   once a later [`sync`](Storage::sync) has returned `Ok` (on disk:
//!   `fdatasync`). The store acknowledges a write only after that.
//! * **Snapshots are atomic.** [`install_snapshot`](Storage::install_snapshot)
//!   either replaces the snapshot *and* empties the log, or — after a crash
//!   at any point — leaves the old snapshot and log in force.
//! * **A failed write poisons.** After an error from `append`, `sync` or
//!   `install_snapshot` the backend answers [`StorageError::Poisoned`] until it
//!   is opened again, because the bytes under it (or the kernel's page cache,
//!   after a failed fsync) can no longer be trusted; reopening runs recovery.

use thiserror::Error;

use super::item::{MAX_ITEM_BYTES, MAX_NAME_BYTES};
use super::record::{FrameError, Tail};

/// Largest log record a backend accepts: one event carrying an item of the
/// maximum size, plus its fixed fields.
pub const MAX_RECORD_BYTES: usize = MAX_ITEM_BYTES + MAX_NAME_BYTES + 256;

/// What [`Storage::replay`] found and did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Recovery {
    /// Records visited.
    pub records: u64,
    /// Bytes of a torn tail that were cut (0 if the log ended cleanly).
    pub truncated_bytes: u64,
    /// Offset of the log where the torn tail started, if there was one.
    pub torn_at: Option<u64>,
}

/// A storage failure. `location` names the file (or `memory`).
#[derive(Debug, Error)]
pub enum StorageError {
    /// An operating-system I/O call failed.
    #[error("{location}: {op} failed: {source}")]
    Io {
        /// File or directory.
        location: String,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A damaged record is followed by valid ones: damage inside the log,
    /// which recovery refuses to cut.
    #[error(
        "{location}: log damaged at byte {offset} ({reason}) with a valid record at byte {next_valid}; refusing to drop acknowledged records"
    )]
    CorruptLog {
        /// The log.
        location: String,
        /// Where the damaged record starts.
        offset: u64,
        /// Where the next valid record starts.
        next_valid: u64,
        /// What was wrong.
        reason: FrameError,
    },
    /// A snapshot, a file header or the set of files is damaged or does not
    /// belong together.
    #[error("{location}: {reason}")]
    Corrupt {
        /// File or directory.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// Another process (or another handle in this one) has the store open.
    #[error("{location}: the store is locked by another process")]
    Locked {
        /// The lock file.
        location: String,
    },
    /// A limit on log or snapshot size was hit.
    #[error("{location}: {what} of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// File or memory.
        location: String,
        /// What grew too large.
        what: &'static str,
        /// Size it would have.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// An earlier write failed; reopen the store to recover.
    #[error("an earlier write failed; reopen the store to recover")]
    Poisoned,
    /// `append` or `install_snapshot` was called before `replay`.
    #[error("the log must be replayed before it is written")]
    NotReplayed,
    /// The replay visitor asked to stop.
    #[error("replay stopped by the caller")]
    ReplayStopped,
}

/// A log-plus-snapshot persistence backend. See the module docs for the
/// contract every implementation meets.
pub trait Storage {
    /// The current snapshot, if one was installed. Damage is an error.
    fn read_snapshot(&mut self) -> Result<Option<Vec<u8>>, StorageError>;

    /// Recovery and replay: visits every complete record after the snapshot
    /// in append order, then cuts a torn tail. `visit` returns `false` to
    /// stop, which makes replay return [`StorageError::ReplayStopped`].
    fn replay(&mut self, visit: &mut dyn FnMut(&[u8]) -> bool) -> Result<Recovery, StorageError>;

    /// Stages `record` at the end of the log; durable after the next
    /// successful [`sync`](Storage::sync).
    fn append(&mut self, record: &[u8]) -> Result<(), StorageError>;

    /// Makes every staged record durable.
    fn sync(&mut self) -> Result<(), StorageError>;

    /// Atomically replaces the snapshot with `snapshot` and empties the log.
    /// `snapshot` must stand for every record appended so far.
    fn install_snapshot(&mut self, snapshot: &[u8]) -> Result<(), StorageError>;

    /// Bytes in the log since the last snapshot (records and framing).
    fn log_bytes(&self) -> u64;
}

/// What recovery does with a scan's tail, for backends: `Ok(Some((offset,
/// bytes)))` cuts a torn tail of `bytes` bytes at `offset`, `Ok(None)` when the
/// log ended cleanly, an error for damage inside the log. `base_offset` is
/// added to offsets (where the scanned bytes start in the file).
pub fn recovery_action(
    tail: Tail,
    base_offset: u64,
    location: &str,
) -> Result<Option<(u64, u64)>, StorageError> {
    match tail {
        Tail::Clean => Ok(None),
        Tail::Torn { offset, bytes, .. } => Ok(Some((base_offset + offset, bytes))),
        Tail::Corrupt {
            offset,
            next_valid,
            reason,
        } => Err(StorageError::CorruptLog {
            location: location.to_owned(),
            offset: base_offset + offset,
            next_valid: base_offset + next_valid,
            reason,
        }),
    }
}
