//! The on-disk backend of node-core's [`Storage`] trait, for field nodes and
//! the command line (`import`, `match --db`).
//!
//! # Files
//!
//! A store is a directory:
//!
//! ```text
//! LOCK                 held with an exclusive flock(2) while a process has
//!                      the store open (released by the kernel even on SIGKILL)
//! log-<gen>.okl        the current log; <gen> is 16 lowercase hex digits
//! snapshot.oks         the current snapshot (absent until the first one)
//! *.tmp                a snapshot install that did not finish; deleted on open
//! ```
//!
//! Every file is a sequence of node-core record frames (layout in
//! [`node_core::store::record`]): a 12-byte header — `"okR1"`, u32 LE payload
//! length, u32 LE CRC-32C over length and payload — then the payload.
//!
//! * `log-<gen>.okl`: a header frame whose payload is `"okmesh-log"`, format
//!   version u16 LE (1), generation u64 LE; then one frame per log record
//!   (an encoded [`node_core::store::Event`]).
//! * `snapshot.oks`: a header frame `"okmesh-snap"`, version u16, generation
//!   u64; then one frame holding the snapshot. A snapshot of generation *g*
//!   stands for every record of logs before *g*; the log in force is
//!   `log-<g>` (generation 0 and no snapshot for a new store).
//!
//! # Durability
//!
//! [`Storage::append`] writes the frame to the log with one `write_all`;
//! [`Storage::sync`] calls `File::sync_data` (fdatasync). The store calls
//! `sync` before it acknowledges a write. A new file is `sync_all`ed before
//! it is renamed into place and the directory is fsynced after every rename,
//! so a name never points to unsynced bytes. Any I/O error in a write path
//! poisons the backend: after a failed fsync the page cache cannot be
//! trusted, so the only way on is to reopen, which re-reads the disk.
//!
//! # Snapshot install (generation g → g+1)
//!
//! 1. write `snapshot.oks.tmp` (header g+1, snapshot), `sync_all`;
//! 2. write `log-<g+1>.okl.tmp` (header only), `sync_all`, rename to
//!    `log-<g+1>.okl`, fsync the directory;
//! 3. rename `snapshot.oks.tmp` to `snapshot.oks`, fsync the directory — the
//!    commit point;
//! 4. switch appends to `log-<g+1>` and delete `log-<g>`.
//!
//! A crash before 3 leaves snapshot g and `log-<g>` in force (and maybe an
//! empty `log-<g+1>`, deleted on open); after 3, snapshot g+1 and the empty
//! `log-<g+1>` (and maybe `log-<g>`, deleted on open).
//!
//! # Recovery on open
//!
//! Take the lock (or fail with [`StorageError::Locked`]); delete `*.tmp`;
//! read and verify the snapshot header to learn the generation g; delete
//! logs older than g (covered by the snapshot) and newer than g (an
//! unfinished install — they must hold no record, else opening fails); create
//! `log-0` for a new store; refuse a directory that has logs but neither a
//! snapshot nor `log-0` (a lost snapshot). Then [`Storage::replay`] reads the log,
//! (in one piece, into memory: at most [`DiskOptions::max_log_bytes`]),
//! verifies its header and every frame, and cuts a torn tail as node-core's
//! [`replay_frames`] classifies it — truncate, `sync_data` — or fails with
//! [`StorageError::CorruptLog`] on damage followed by valid records. A cut
//! is never silent: it is logged (a `tracing` warning with the file, the
//! byte offset and the bytes cut) and kept for the opener
//! ([`DiskStorage::recovery`], [`DiskStorage::recovery_note`]), which the
//! command line prints.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use node_core::packages::{CacheConfig, CacheError, CacheReport, PackageCache};
use node_core::store::MAX_RECORD_BYTES;
use node_core::store::record::{FRAME_HEADER_BYTES, decode_frame, encode_frame, replay_frames};
use node_core::store::storage::recovery_action;
use node_core::store::{
    OpenReport, Recovery, Storage, StorageError, Store, StoreConfig, StoreError,
};

#[cfg(test)]
mod tests;

const LOCK_FILE: &str = "LOCK";
const SNAPSHOT_FILE: &str = "snapshot.oks";
const LOG_PREFIX: &str = "log-";
const LOG_SUFFIX: &str = ".okl";
const TMP_SUFFIX: &str = ".tmp";
const LOG_MAGIC: &[u8] = b"okmesh-log";
const SNAPSHOT_MAGIC: &[u8] = b"okmesh-snap";
const FORMAT_VERSION: u16 = 1;
/// Largest header payload (magic, version, generation).
const MAX_HEADER_PAYLOAD: usize = 32;

/// Limits of a [`DiskStorage`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DiskOptions {
    /// Largest log file; an append past it fails (the store snapshots long
    /// before with sane settings).
    pub max_log_bytes: u64,
    /// Largest snapshot.
    pub max_snapshot_bytes: u64,
    /// How long `open` retries a held lock before giving up. A short wait
    /// rides out a lock briefly inherited by a child process between its
    /// fork and exec; a store really in use stays locked.
    pub lock_wait: std::time::Duration,
}

impl Default for DiskOptions {
    /// 1 GiB each, half a second of lock wait.
    fn default() -> Self {
        DiskOptions {
            max_log_bytes: 1 << 30,
            max_snapshot_bytes: 1 << 30,
            lock_wait: std::time::Duration::from_millis(500),
        }
    }
}

/// A [`Storage`] in a directory. See the module docs for the layout and the
/// recovery procedure.
#[derive(Debug)]
pub struct DiskStorage {
    dir: PathBuf,
    /// Holds the flock for as long as the storage lives.
    _lock: File,
    log: File,
    log_path: PathBuf,
    generation: u64,
    /// Length of the log file, header included.
    log_len: u64,
    header_len: u64,
    snapshot: Option<Vec<u8>>,
    replayed: bool,
    poisoned: bool,
    options: DiskOptions,
    frame: Vec<u8>,
    /// What the last replay found and did.
    recovery: Option<Recovery>,
}

fn io_err<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(io::Error) -> StorageError + 'a {
    move |source| StorageError::Io {
        location: path.display().to_string(),
        op,
        source,
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> StorageError {
    StorageError::Corrupt {
        location: path.display().to_string(),
        reason: reason.into(),
    }
}

fn log_name(generation: u64) -> String {
    format!("{LOG_PREFIX}{generation:016x}{LOG_SUFFIX}")
}

fn parse_log_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix(LOG_PREFIX)?.strip_suffix(LOG_SUFFIX)?;
    if hex.len() != 16
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

fn header_frame(magic: &[u8], generation: u64) -> Vec<u8> {
    let mut payload = magic.to_vec();
    payload.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    payload.extend_from_slice(&generation.to_le_bytes());
    let mut out = Vec::new();
    encode_frame(&payload, &mut out);
    out
}

/// Parses the header frame at the start of `bytes`: returns the generation
/// and the header's length.
fn parse_header(bytes: &[u8], magic: &[u8], path: &Path) -> Result<(u64, usize), StorageError> {
    let (payload, len) = decode_frame(bytes, MAX_HEADER_PAYLOAD)
        .map_err(|e| corrupt(path, format!("bad file header: {e}")))?;
    let Some(rest) = payload.strip_prefix(magic) else {
        return Err(corrupt(path, "not an okmesh store file"));
    };
    if rest.len() != 10 {
        return Err(corrupt(path, "bad file header length"));
    }
    let version = u16::from_le_bytes([rest[0], rest[1]]);
    if version != FORMAT_VERSION {
        return Err(corrupt(
            path,
            format!("format version {version}, this build reads {FORMAT_VERSION}"),
        ));
    }
    let mut generation = [0u8; 8];
    generation.copy_from_slice(&rest[2..10]);
    Ok((u64::from_le_bytes(generation), len))
}

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir, "fsync directory"))
}

/// Writes `bytes` to a new file `path`, syncs it, and renames it to `to`
/// (the directory is synced by the caller).
fn write_new_file(path: &Path, chunks: &[&[u8]], to: Option<&Path>) -> Result<(), StorageError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io_err(path, "create"))?;
    for chunk in chunks {
        file.write_all(chunk).map_err(io_err(path, "write"))?;
    }
    file.sync_all().map_err(io_err(path, "fsync"))?;
    if let Some(to) = to {
        fs::rename(path, to).map_err(io_err(to, "rename"))?;
    }
    Ok(())
}

#[cfg(unix)]
fn lock(file: &File, path: &Path) -> Result<(), StorageError> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(StorageError::Locked {
            location: path.display().to_string(),
        }),
        Err(e) => Err(io_err(path, "lock")(e.into())),
    }
}

#[cfg(not(unix))]
fn lock(_file: &File, _path: &Path) -> Result<(), StorageError> {
    // Field nodes run Linux; elsewhere the store is not guarded against a
    // second process.
    Ok(())
}

/// Opens the catalogue store kept in `dir` (created if missing) with
/// default disk limits: [`DiskStorage::open`] then [`Store::open`].
pub fn open_store(
    dir: impl AsRef<Path>,
    config: StoreConfig,
) -> Result<(Store<DiskStorage>, OpenReport), StoreError> {
    Store::open(DiskStorage::open(dir)?, config)
}

/// Opens the package cache kept in `dir` (created if missing; a folder of
/// its own, beside the catalogue store's): [`DiskStorage::open`] then
/// [`PackageCache::open`], so partial packages are back after a restart.
pub fn open_package_cache(
    dir: impl AsRef<Path>,
    config: CacheConfig,
) -> Result<(PackageCache<DiskStorage>, CacheReport), CacheError> {
    PackageCache::open(DiskStorage::open(dir)?, config)
}

impl DiskStorage {
    /// Opens (creating if needed) the store in `dir` with default limits.
    pub fn open(dir: impl AsRef<Path>) -> Result<DiskStorage, StorageError> {
        DiskStorage::open_with(dir, DiskOptions::default())
    }

    /// Opens (creating if needed) the store in `dir`. Runs the file-level
    /// part of recovery; the log itself is checked by [`Storage::replay`].
    pub fn open_with(
        dir: impl AsRef<Path>,
        options: DiskOptions,
    ) -> Result<DiskStorage, StorageError> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(io_err(&dir, "create directory"))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_err(&lock_path, "open"))?;
        let started = std::time::Instant::now();
        loop {
            match lock(&lock_file, &lock_path) {
                Err(StorageError::Locked { .. }) if started.elapsed() < options.lock_wait => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                other => break other?,
            }
        }

        // Inventory: delete leftovers of unfinished installs, find the logs.
        let mut logs = Vec::new();
        let mut removed = false;
        for entry in fs::read_dir(&dir).map_err(io_err(&dir, "list directory"))? {
            let entry = entry.map_err(io_err(&dir, "list directory"))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(TMP_SUFFIX) {
                let path = entry.path();
                fs::remove_file(&path).map_err(io_err(&path, "remove"))?;
                removed = true;
            } else if let Some(generation) = parse_log_name(name) {
                logs.push(generation);
            }
        }
        logs.sort_unstable();

        let snapshot_path = dir.join(SNAPSHOT_FILE);
        let snapshot = read_snapshot_file(&snapshot_path, options.max_snapshot_bytes)?;
        let generation = match &snapshot {
            Some((generation, _)) => *generation,
            // Without a snapshot only log-0 can hold records; a store that
            // has other logs but no log-0 has lost its snapshot.
            None if !logs.is_empty() && !logs.contains(&0) => {
                return Err(corrupt(
                    &snapshot_path,
                    "snapshot missing but the logs are past generation 0",
                ));
            }
            None => 0,
        };
        for &g in &logs {
            let path = dir.join(log_name(g));
            if g > generation {
                // An unfinished install: its log must not hold records.
                let len = fs::metadata(&path).map_err(io_err(&path, "stat"))?.len();
                if len > header_frame(LOG_MAGIC, g).len() as u64 {
                    return Err(corrupt(
                        &path,
                        format!(
                            "log newer than the snapshot (generation {generation}) holds records"
                        ),
                    ));
                }
            }
            if g != generation {
                fs::remove_file(&path).map_err(io_err(&path, "remove"))?;
                removed = true;
            }
        }
        let log_path = dir.join(log_name(generation));
        if !logs.contains(&generation) {
            if generation > 0 {
                return Err(corrupt(&log_path, "the snapshot's log is missing"));
            }
            let tmp = dir.join(format!("{}{TMP_SUFFIX}", log_name(0)));
            write_new_file(&tmp, &[&header_frame(LOG_MAGIC, 0)], Some(&log_path))?;
            removed = true;
        }
        if removed {
            sync_dir(&dir)?;
        }
        let log = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&log_path)
            .map_err(io_err(&log_path, "open"))?;
        Ok(DiskStorage {
            dir,
            _lock: lock_file,
            log,
            log_path,
            generation,
            log_len: 0,
            header_len: 0,
            snapshot: snapshot.map(|(_, bytes)| bytes),
            replayed: false,
            poisoned: false,
            options,
            frame: Vec::new(),
            recovery: None,
        })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The current log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// What the last [`Storage::replay`] found and did (`None` before it).
    pub fn recovery(&self) -> Option<Recovery> {
        self.recovery
    }

    /// A sentence about the torn tail the last replay cut, naming the file,
    /// the byte offset and the bytes cut; `None` if the log ended cleanly.
    /// (The cut is also logged as a `tracing` warning when it happens.)
    pub fn recovery_note(&self) -> Option<String> {
        let r = self.recovery?;
        let offset = r.torn_at?;
        Some(format!(
            "{}: cut a torn last record at byte {offset} ({} bytes: an append that was never acknowledged); {} records kept",
            self.log_path.display(),
            r.truncated_bytes,
            r.records
        ))
    }

    /// The current generation (how many snapshots were installed).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn check_writable(&self) -> Result<(), StorageError> {
        if !self.replayed {
            return Err(StorageError::NotReplayed);
        }
        if self.poisoned {
            return Err(StorageError::Poisoned);
        }
        Ok(())
    }

    fn poison(&mut self, e: StorageError) -> StorageError {
        self.poisoned = true;
        e
    }

    fn install(&mut self, snapshot: &[u8]) -> Result<(), StorageError> {
        let next = self.generation + 1;
        let snapshot_path = self.dir.join(SNAPSHOT_FILE);
        let snapshot_tmp = self.dir.join(format!("{SNAPSHOT_FILE}{TMP_SUFFIX}"));
        let mut body = Vec::with_capacity(snapshot.len() + FRAME_HEADER_BYTES);
        encode_frame(snapshot, &mut body);
        write_new_file(
            &snapshot_tmp,
            &[&header_frame(SNAPSHOT_MAGIC, next), &body],
            None,
        )?;
        drop(body);

        let log_path = self.dir.join(log_name(next));
        let log_tmp = self.dir.join(format!("{}{TMP_SUFFIX}", log_name(next)));
        let header = header_frame(LOG_MAGIC, next);
        write_new_file(&log_tmp, &[&header], Some(&log_path))?;
        sync_dir(&self.dir)?;

        fs::rename(&snapshot_tmp, &snapshot_path).map_err(io_err(&snapshot_path, "rename"))?;
        sync_dir(&self.dir)?; // committed

        let mut log = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&log_path)
            .map_err(io_err(&log_path, "open"))?;
        log.seek(SeekFrom::End(0))
            .map_err(io_err(&log_path, "seek"))?;
        let old = std::mem::replace(&mut self.log_path, log_path);
        self.log = log;
        self.generation = next;
        self.log_len = header.len() as u64;
        self.header_len = self.log_len;
        // The old log is covered by the snapshot; if this fails the next open
        // deletes it.
        let _ = fs::remove_file(&old);
        Ok(())
    }
}

/// Reads and verifies `snapshot.oks`: its generation and payload.
fn read_snapshot_file(path: &Path, max_bytes: u64) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path, "open")(e)),
    };
    let len = file.metadata().map_err(io_err(path, "stat"))?.len();
    let limit = max_bytes + (2 * FRAME_HEADER_BYTES + MAX_HEADER_PAYLOAD) as u64;
    if len > limit {
        return Err(StorageError::TooLarge {
            location: path.display().to_string(),
            what: "snapshot",
            len,
            max: limit,
        });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.read_to_end(&mut bytes).map_err(io_err(path, "read"))?;
    let (generation, header_len) = parse_header(&bytes, SNAPSHOT_MAGIC, path)?;
    let rest = &bytes[header_len..];
    let (payload, used) = decode_frame(rest, max_bytes as usize)
        .map_err(|e| corrupt(path, format!("snapshot damaged: {e}")))?;
    if used != rest.len() {
        return Err(corrupt(path, "bytes after the snapshot"));
    }
    Ok(Some((generation, payload.to_vec())))
}

impl Storage for DiskStorage {
    fn read_snapshot(&mut self) -> Result<Option<Vec<u8>>, StorageError> {
        // Hand over the copy read at open; read the file again if asked twice.
        match self.snapshot.take() {
            Some(bytes) => Ok(Some(bytes)),
            None => Ok(read_snapshot_file(
                &self.dir.join(SNAPSHOT_FILE),
                self.options.max_snapshot_bytes,
            )?
            .map(|(_, bytes)| bytes)),
        }
    }

    fn replay(&mut self, visit: &mut dyn FnMut(&[u8]) -> bool) -> Result<Recovery, StorageError> {
        self.snapshot = None;
        let path = self.log_path.clone();
        let len = self.log.metadata().map_err(io_err(&path, "stat"))?.len();
        if len > self.options.max_log_bytes {
            return Err(StorageError::TooLarge {
                location: path.display().to_string(),
                what: "log",
                len,
                max: self.options.max_log_bytes,
            });
        }
        let mut bytes = Vec::with_capacity(len as usize);
        self.log
            .seek(SeekFrom::Start(0))
            .map_err(io_err(&path, "seek"))?;
        (&self.log)
            .read_to_end(&mut bytes)
            .map_err(io_err(&path, "read"))?;
        let (generation, header_len) = parse_header(&bytes, LOG_MAGIC, &path)?;
        if generation != self.generation {
            return Err(corrupt(
                &path,
                format!(
                    "header says generation {generation}, file name {}",
                    self.generation
                ),
            ));
        }
        let scan = replay_frames(&bytes[header_len..], MAX_RECORD_BYTES, visit)
            .ok_or(StorageError::ReplayStopped)?;
        let mut recovery = Recovery {
            records: scan.frames,
            ..Recovery::default()
        };
        let mut end = bytes.len() as u64;
        if let Some((offset, cut)) =
            recovery_action(scan.tail, header_len as u64, &path.display().to_string())?
        {
            self.log
                .set_len(offset)
                .map_err(io_err(&path, "truncate"))?;
            self.log.sync_data().map_err(io_err(&path, "fsync"))?;
            recovery.truncated_bytes = cut;
            recovery.torn_at = Some(offset);
            end = offset;
            tracing::warn!(file = %path.display(), offset, cut_bytes = cut,
                records = recovery.records,
                "store: cut a torn last record (an append that was never acknowledged)");
        }
        self.recovery = Some(recovery);
        self.log
            .seek(SeekFrom::Start(end))
            .map_err(io_err(&path, "seek"))?;
        self.log_len = end;
        self.header_len = header_len as u64;
        self.replayed = true;
        Ok(recovery)
    }

    fn append(&mut self, record: &[u8]) -> Result<(), StorageError> {
        self.check_writable()?;
        let new_len = self.log_len + (FRAME_HEADER_BYTES + record.len()) as u64;
        if record.len() > MAX_RECORD_BYTES || new_len > self.options.max_log_bytes {
            return Err(StorageError::TooLarge {
                location: self.log_path.display().to_string(),
                what: "log",
                len: new_len,
                max: self.options.max_log_bytes,
            });
        }
        self.frame.clear();
        encode_frame(record, &mut self.frame);
        if let Err(e) = self.log.write_all(&self.frame) {
            let e = io_err(&self.log_path, "append")(e);
            return Err(self.poison(e));
        }
        self.log_len = new_len;
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        self.check_writable()?;
        if let Err(e) = self.log.sync_data() {
            let e = io_err(&self.log_path, "fsync")(e);
            return Err(self.poison(e));
        }
        Ok(())
    }

    fn install_snapshot(&mut self, snapshot: &[u8]) -> Result<(), StorageError> {
        self.check_writable()?;
        if snapshot.len() as u64 > self.options.max_snapshot_bytes {
            return Err(StorageError::TooLarge {
                location: self.dir.join(SNAPSHOT_FILE).display().to_string(),
                what: "snapshot",
                len: snapshot.len() as u64,
                max: self.options.max_snapshot_bytes,
            });
        }
        self.install(snapshot).map_err(|e| self.poison(e))
    }

    fn log_bytes(&self) -> u64 {
        self.log_len.saturating_sub(self.header_len)
    }
}
