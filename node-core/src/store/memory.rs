//! The in-memory backend, used by the simulator and by tests.
//!
//! It keeps the log as the very bytes the on-disk backend would write
//! (framed records), so the simulator can model a node losing power:
//! [`MemStorage::crash`] drops what was never synced, optionally leaving a
//! torn fragment, and the next open runs the same recovery as a field node.
//! It is deterministic (no maps at all) and does no copying beyond appending
//! to one `Vec`.

use super::record::{FRAME_HEADER_BYTES, encode_frame, replay_frames};
use super::storage::{MAX_RECORD_BYTES, Recovery, Storage, StorageError, recovery_action};

const LOCATION: &str = "memory";

/// Default limit on the in-memory log, in bytes.
pub const DEFAULT_MAX_LOG_BYTES: u64 = 1 << 30;

/// A [`Storage`] that lives in memory.
#[derive(Clone, Debug)]
pub struct MemStorage {
    snapshot: Option<Vec<u8>>,
    log: Vec<u8>,
    synced_len: usize,
    replayed: bool,
    poisoned: bool,
    fail_writes: bool,
    max_log_bytes: u64,
    syncs: u64,
}

impl Default for MemStorage {
    fn default() -> Self {
        MemStorage::new()
    }
}

impl MemStorage {
    /// An empty store with the default log limit.
    pub fn new() -> Self {
        MemStorage::with_max_log_bytes(DEFAULT_MAX_LOG_BYTES)
    }

    /// An empty store whose log may hold at most `max_log_bytes`.
    pub fn with_max_log_bytes(max_log_bytes: u64) -> Self {
        MemStorage {
            snapshot: None,
            log: Vec::new(),
            synced_len: 0,
            replayed: false,
            poisoned: false,
            fail_writes: false,
            max_log_bytes,
            syncs: 0,
        }
    }

    /// Simulates a power loss: bytes appended since the last sync are lost
    /// except the first `keep_unsynced_bytes` of them (a torn write). The
    /// storage must then be opened again (replayed) before use.
    pub fn crash(&mut self, keep_unsynced_bytes: usize) {
        let synced = self.synced_len.min(self.log.len());
        let keep = synced + keep_unsynced_bytes.min(self.log.len() - synced);
        self.log.truncate(keep);
        self.synced_len = keep;
        self.close();
    }

    /// Simulates a clean close: nothing is lost, but the storage must be
    /// opened (replayed) again before use.
    pub fn close(&mut self) {
        self.replayed = false;
        self.poisoned = false;
    }

    /// The framed log bytes, exactly as a disk log would hold them after its
    /// header.
    pub fn log_image(&self) -> &[u8] {
        &self.log
    }

    /// Mutable access to the log bytes, to inject damage in tests. Counts the
    /// whole image as synced and requires reopening.
    pub fn log_image_mut(&mut self) -> &mut Vec<u8> {
        self.close();
        self.synced_len = usize::MAX;
        &mut self.log
    }

    /// Bytes of the log that are durable.
    pub fn synced_bytes(&self) -> usize {
        self.synced_len.min(self.log.len())
    }

    /// Successful syncs so far.
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// Makes every later write fail (a full or broken disk), or stops doing so.
    pub fn set_fail_writes(&mut self, fail: bool) {
        self.fail_writes = fail;
    }

    fn check_writable(&mut self) -> Result<(), StorageError> {
        if !self.replayed {
            return Err(StorageError::NotReplayed);
        }
        if self.poisoned {
            return Err(StorageError::Poisoned);
        }
        if self.fail_writes {
            self.poisoned = true;
            return Err(StorageError::Io {
                location: LOCATION.to_owned(),
                op: "write",
                source: std::io::Error::other("injected write failure"),
            });
        }
        Ok(())
    }
}

impl Storage for MemStorage {
    fn read_snapshot(&mut self) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.snapshot.clone())
    }

    fn replay(&mut self, visit: &mut dyn FnMut(&[u8]) -> bool) -> Result<Recovery, StorageError> {
        let scan =
            replay_frames(&self.log, MAX_RECORD_BYTES, visit).ok_or(StorageError::ReplayStopped)?;
        let mut recovery = Recovery {
            records: scan.frames,
            ..Recovery::default()
        };
        if let Some((offset, bytes)) = recovery_action(scan.tail, 0, LOCATION)? {
            self.log.truncate(offset as usize);
            recovery.truncated_bytes = bytes;
            recovery.torn_at = Some(offset);
        }
        self.synced_len = self.log.len();
        self.replayed = true;
        self.poisoned = false;
        Ok(recovery)
    }

    fn append(&mut self, record: &[u8]) -> Result<(), StorageError> {
        self.check_writable()?;
        let new_len = (self.log.len() + FRAME_HEADER_BYTES + record.len()) as u64;
        if record.len() > MAX_RECORD_BYTES || new_len > self.max_log_bytes {
            return Err(StorageError::TooLarge {
                location: LOCATION.to_owned(),
                what: "log",
                len: new_len,
                max: self.max_log_bytes,
            });
        }
        encode_frame(record, &mut self.log);
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        self.check_writable()?;
        self.synced_len = self.log.len();
        self.syncs += 1;
        Ok(())
    }

    fn install_snapshot(&mut self, snapshot: &[u8]) -> Result<(), StorageError> {
        self.check_writable()?;
        self.snapshot = Some(snapshot.to_vec());
        self.log.clear();
        self.synced_len = 0;
        Ok(())
    }

    fn log_bytes(&self) -> u64 {
        self.log.len() as u64
    }
}
