//! The package cache: the records and verified pieces a node holds, with
//! its own capacity, apart from the catalogue [`Store`](crate::store::Store).
//!
//! Packages are large and manifests small, so they do not share a budget:
//! a full package cache never evicts a manifest (it cannot, it holds
//! none), and a burst of manifests never pushes out a half-fetched package.
//! The cache sits on its own [`Storage`] backend — [`MemStorage`](crate::store::MemStorage)
//! in the simulator, `hw_bridge::store::DiskStorage` in its own folder on a
//! field node — with the same durability contract as the store: every
//! write is an event appended and synced before it is acknowledged, the
//! state is the replay of the log, and a snapshot bounds the log.
//!
//! * **Partial packages survive restarts**: each verified piece is logged
//!   with its proof (so a partial holder can serve it on), and replay puts
//!   it back; a resumed transfer asks only for what [`PackageCache::have`]
//!   lacks.
//! * **Only verified bytes are stored**: [`PackageCache::add_piece`]
//!   checks a piece against the signed record before logging it; a corrupt
//!   piece is refused and never touches the log.
//! * **Eviction**: when a write needs room, whole unpinned packages go,
//!   least recently used first (a logical clock ticked by each event, never
//!   the wall clock), never the package being written. Pinned packages stay.
//!
//! Log events (tag byte, then the body):
//!
//! | tag | event | body |
//! |---|---|---|
//! | 1 | record | an encoded [`PackageRecord`] |
//! | 2 | piece | an encoded [`PieceMsg`] |
//! | 3 | pin | package id |
//! | 4 | unpin | package id |
//! | 5 | touch | package id |
//! | 6 | evict | package id |
//!
//! A snapshot is the events that rebuild the state: varint count, then each
//! as varint length and bytes.

use std::collections::BTreeMap;

use super::merkle::Hash;
use super::package::Package;
use super::piece::PieceMsg;
use super::record::{MAX_PACKAGE_BYTES, PackageId, PackageRecord, PieceError, RecordError};
use crate::store::{Recovery, Storage, StorageError};
use crate::wire::{get_varint, put_varint};

const TAG_RECORD: u8 = 1;
const TAG_PIECE: u8 = 2;
const TAG_PIN: u8 = 3;
const TAG_UNPIN: u8 = 4;
const TAG_TOUCH: u8 = 5;
const TAG_EVICT: u8 = 6;

/// Book-keeping bytes charged per package and per piece on top of their
/// bytes, so that many tiny pieces still count.
pub const CACHE_OVERHEAD_BYTES: u64 = 64;

/// Limits of a [`PackageCache`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CacheConfig {
    /// Bytes held (records, pieces, proofs, overhead) stay at or below this.
    pub capacity_bytes: u64,
    /// A snapshot is written when the log exceeds the larger of this and the
    /// bytes held.
    pub snapshot_min_log_bytes: u64,
}

impl Default for CacheConfig {
    /// 1 GiB, snapshots past 64 MiB of log.
    fn default() -> Self {
        CacheConfig {
            capacity_bytes: 1 << 30,
            snapshot_min_log_bytes: 64 << 20,
        }
    }
}

/// Why a cache write was refused or the cache could not open.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The record's signature does not verify or a field is bad.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The piece failed verification; nothing was stored.
    #[error(transparent)]
    Piece(#[from] PieceError),
    /// A piece, pin or touch for a package whose record is not held.
    #[error("package {0} is not in the cache (its record comes first)")]
    Unknown(PackageId),
    /// Not enough room even after evicting every unpinned package.
    #[error("package cache full: {needed_bytes} bytes needed, capacity {capacity_bytes}")]
    Full {
        /// Bytes held after every possible eviction, plus the write.
        needed_bytes: u64,
        /// The capacity.
        capacity_bytes: u64,
    },
    /// The backend failed; reopen the cache.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A log record or the snapshot does not decode.
    #[error("package cache log record {index}: {why}")]
    Corrupt {
        /// Index of the record (snapshot events first).
        index: u64,
        /// What is wrong.
        why: String,
    },
    /// An earlier write failed; reopen the cache.
    #[error("an earlier write failed; reopen the package cache to recover")]
    Poisoned,
}

/// What [`PackageCache::add_piece`] did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PieceOutcome {
    /// Verified and stored; packages evicted to make room, in order.
    Stored {
        /// Evicted packages.
        evicted: Vec<PackageId>,
    },
    /// Already held.
    Duplicate,
}

/// One cached package: its record and the verified pieces held so far.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Entry {
    record: PackageRecord,
    record_bytes: u64,
    pieces: BTreeMap<u32, (Vec<Hash>, Vec<u8>)>,
    pinned: bool,
    last_used: u64,
    used_bytes: u64,
}

/// The cache state: the replay of its log.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
struct State {
    packages: BTreeMap<PackageId, Entry>,
    clock: u64,
    used_bytes: u64,
}

/// A decoded event.
#[derive(Clone)]
enum Event<'a> {
    Record(PackageRecord),
    Piece(PieceMsg<'a>),
    Pin(PackageId),
    Unpin(PackageId),
    Touch(PackageId),
    Evict(PackageId),
}

fn piece_cost(proof: usize, data: usize) -> u64 {
    CACHE_OVERHEAD_BYTES + 32 * proof as u64 + data as u64
}

impl<'a> Event<'a> {
    fn encode(&self, out: &mut Vec<u8>) {
        let id = |out: &mut Vec<u8>, tag, id: &PackageId| {
            out.push(tag);
            out.extend_from_slice(&id.0);
        };
        match self {
            Event::Record(r) => {
                out.push(TAG_RECORD);
                out.extend_from_slice(&r.encode());
            }
            Event::Piece(p) => {
                out.push(TAG_PIECE);
                p.encode(out);
            }
            Event::Pin(p) => id(out, TAG_PIN, p),
            Event::Unpin(p) => id(out, TAG_UNPIN, p),
            Event::Touch(p) => id(out, TAG_TOUCH, p),
            Event::Evict(p) => id(out, TAG_EVICT, p),
        }
    }

    fn decode(bytes: &'a [u8]) -> Result<Self, String> {
        let (&tag, body) = bytes.split_first().ok_or("empty event")?;
        let id = || {
            body.try_into()
                .map(PackageId)
                .map_err(|_| format!("event {tag}: {} bytes, not a package id", body.len()))
        };
        Ok(match tag {
            TAG_RECORD => Event::Record(
                PackageRecord::parse(body, MAX_PACKAGE_BYTES).map_err(|e| e.to_string())?,
            ),
            TAG_PIECE => Event::Piece(PieceMsg::parse(body).map_err(|e| e.to_string())?),
            TAG_PIN => Event::Pin(id()?),
            TAG_UNPIN => Event::Unpin(id()?),
            TAG_TOUCH => Event::Touch(id()?),
            TAG_EVICT => Event::Evict(id()?),
            t => return Err(format!("unknown event tag {t}")),
        })
    }
}

impl State {
    /// Applies an event; events were checked before they were logged, so
    /// one that does not fit the state is log damage.
    fn apply(&mut self, event: Event<'_>) -> Result<(), String> {
        self.clock += 1;
        let clock = self.clock;
        match event {
            Event::Record(record) => {
                let id = record.id();
                if !self.packages.contains_key(&id) {
                    let record_bytes = record.encode().len() as u64 + CACHE_OVERHEAD_BYTES;
                    self.used_bytes += record_bytes;
                    self.packages.insert(
                        id,
                        Entry {
                            record,
                            record_bytes,
                            pieces: BTreeMap::new(),
                            pinned: false,
                            last_used: clock,
                            used_bytes: record_bytes,
                        },
                    );
                }
            }
            Event::Piece(p) => {
                let e = self
                    .packages
                    .get_mut(&p.package)
                    .ok_or_else(|| format!("piece for unknown package {}", p.package))?;
                if e.record.piece_range(p.index).is_none() {
                    return Err(format!("piece {} past the package's end", p.index));
                }
                if let std::collections::btree_map::Entry::Vacant(slot) = e.pieces.entry(p.index) {
                    let cost = piece_cost(p.proof.len(), p.data.len());
                    slot.insert((p.proof, p.data.to_vec()));
                    e.used_bytes += cost;
                    self.used_bytes += cost;
                }
                e.last_used = clock;
            }
            Event::Pin(id) | Event::Unpin(id) | Event::Touch(id) => {
                let pin = match event {
                    Event::Pin(_) => Some(true),
                    Event::Unpin(_) => Some(false),
                    _ => None,
                };
                let e = self
                    .packages
                    .get_mut(&id)
                    .ok_or_else(|| format!("event for unknown package {id}"))?;
                if let Some(pin) = pin {
                    e.pinned = pin;
                }
                e.last_used = clock;
            }
            Event::Evict(id) => {
                let e = self
                    .packages
                    .remove(&id)
                    .ok_or_else(|| format!("eviction of unknown package {id}"))?;
                self.used_bytes -= e.used_bytes;
            }
        }
        Ok(())
    }

    /// Unpinned packages other than `keep`, least recently used first,
    /// to evict until `need_bytes` more fit in `capacity_bytes`.
    fn plan_room(
        &self,
        need_bytes: u64,
        keep: Option<PackageId>,
        capacity_bytes: u64,
    ) -> Result<Vec<PackageId>, CacheError> {
        let mut free = capacity_bytes.saturating_sub(self.used_bytes);
        if free >= need_bytes {
            return Ok(Vec::new());
        }
        let mut queue: Vec<(u64, PackageId, u64)> = self
            .packages
            .iter()
            .filter(|(id, e)| !e.pinned && Some(**id) != keep)
            .map(|(id, e)| (e.last_used, *id, e.used_bytes))
            .collect();
        queue.sort();
        let mut out = Vec::new();
        for (_, id, bytes) in queue {
            if free >= need_bytes {
                break;
            }
            free += bytes;
            out.push(id);
        }
        if free >= need_bytes {
            Ok(out)
        } else {
            Err(CacheError::Full {
                needed_bytes: capacity_bytes - free + need_bytes,
                capacity_bytes,
            })
        }
    }

    /// The events that rebuild this state (a snapshot's content).
    fn encode_snapshot(&self, out: &mut Vec<u8>) {
        let mut events: Vec<Vec<u8>> = Vec::new();
        let mut push = |e: Event<'_>| {
            let mut b = Vec::new();
            e.encode(&mut b);
            events.push(b);
        };
        // Oldest use first, so replaying the snapshot keeps the LRU order.
        let mut order: Vec<(&PackageId, &Entry)> = self.packages.iter().collect();
        order.sort_by_key(|(id, e)| (e.last_used, **id));
        for (id, e) in order {
            push(Event::Record(e.record.clone()));
            for (index, (proof, data)) in &e.pieces {
                push(Event::Piece(PieceMsg {
                    package: *id,
                    index: *index,
                    proof: proof.clone(),
                    data,
                }));
            }
            if e.pinned {
                push(Event::Pin(*id));
            }
        }
        put_varint(out, events.len() as u64);
        for e in events {
            put_varint(out, e.len() as u64);
            out.extend_from_slice(&e);
        }
    }

    fn decode_snapshot(bytes: &[u8]) -> Result<State, CacheError> {
        let corrupt = |index, why: &str| CacheError::Corrupt {
            index,
            why: format!("snapshot: {why}"),
        };
        let mut state = State::default();
        let (n, used) = get_varint(bytes).ok_or_else(|| corrupt(0, "bad count"))?;
        let mut rest = &bytes[used..];
        for index in 0..n {
            let (len, used) = get_varint(rest).ok_or_else(|| corrupt(index, "bad length"))?;
            rest = &rest[used..];
            let len = usize::try_from(len)
                .ok()
                .filter(|l| *l <= rest.len())
                .ok_or_else(|| corrupt(index, "event past the end"))?;
            let (event, tail) = rest.split_at(len);
            rest = tail;
            let event = Event::decode(event).map_err(|w| corrupt(index, &w))?;
            state.apply(event).map_err(|w| corrupt(index, &w))?;
        }
        if !rest.is_empty() {
            return Err(corrupt(n, "bytes after the last event"));
        }
        Ok(state)
    }
}

/// What [`PackageCache::open`] found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CacheReport {
    /// Whether a snapshot was loaded.
    pub from_snapshot: bool,
    /// The backend's recovery of the log after the snapshot.
    pub recovery: Recovery,
}

/// Progress of one cached package.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Held {
    /// Pieces held.
    pub pieces: u32,
    /// Pieces in the package.
    pub piece_count: u32,
    /// Payload bytes held.
    pub bytes: u64,
    /// Payload bytes in the package.
    pub total_bytes: u64,
    /// Whether the package is pinned.
    pub pinned: bool,
}

/// The package cache over a [`Storage`] backend of its own.
#[derive(Debug)]
pub struct PackageCache<S: Storage> {
    storage: S,
    state: State,
    config: CacheConfig,
    poisoned: bool,
}

impl<S: Storage> PackageCache<S> {
    /// Opens the cache: loads the snapshot and replays the log (the backend
    /// cuts a torn tail), so every acknowledged piece is back.
    pub fn open(mut storage: S, config: CacheConfig) -> Result<(Self, CacheReport), CacheError> {
        let snapshot = storage.read_snapshot()?;
        let from_snapshot = snapshot.is_some();
        let mut state = match snapshot {
            Some(b) => State::decode_snapshot(&b)?,
            None => State::default(),
        };
        let mut failure = None;
        let mut index = 0u64;
        let replayed = storage.replay(&mut |record| {
            let r = Event::decode(record).and_then(|e| state.apply(e));
            index += 1;
            match r {
                Ok(()) => true,
                Err(why) => {
                    failure = Some(CacheError::Corrupt {
                        index: index - 1,
                        why,
                    });
                    false
                }
            }
        });
        let recovery = match replayed {
            Ok(r) => r,
            Err(StorageError::ReplayStopped) => {
                return Err(failure.expect("replay stops only on a failure"));
            }
            Err(e) => return Err(e.into()),
        };
        let cache = PackageCache {
            storage,
            state,
            config,
            poisoned: false,
        };
        Ok((
            cache,
            CacheReport {
                from_snapshot,
                recovery,
            },
        ))
    }

    /// Adds a package record after checking its fields and signature
    /// (whether it matches the manifest is the caller's check, with
    /// [`PackageRecord::check_manifest`]). Returns the id; a record already
    /// held is touched.
    pub fn add_record(&mut self, record: PackageRecord) -> Result<PackageId, CacheError> {
        self.check_usable()?;
        record.verify_signature()?;
        let id = record.id();
        if self.state.packages.contains_key(&id) {
            self.write(&[Event::Touch(id)])?;
            return Ok(id);
        }
        let need = record.encode().len() as u64 + CACHE_OVERHEAD_BYTES;
        let evict = self
            .state
            .plan_room(need, None, self.config.capacity_bytes)?;
        let mut events: Vec<Event<'_>> = evict.into_iter().map(Event::Evict).collect();
        events.push(Event::Record(record));
        self.write(&events)?;
        Ok(id)
    }

    /// Verifies `piece` against its package's record and stores it with
    /// its proof. A piece that fails is refused and nothing is written.
    pub fn add_piece(&mut self, piece: &PieceMsg<'_>) -> Result<PieceOutcome, CacheError> {
        self.check_usable()?;
        let e = self
            .state
            .packages
            .get(&piece.package)
            .ok_or(CacheError::Unknown(piece.package))?;
        piece.verify(&e.record, piece.package)?;
        if e.pieces.contains_key(&piece.index) {
            return Ok(PieceOutcome::Duplicate);
        }
        let need = piece_cost(piece.proof.len(), piece.data.len());
        let evict = self
            .state
            .plan_room(need, Some(piece.package), self.config.capacity_bytes)?;
        let mut events: Vec<Event<'_>> = evict.iter().copied().map(Event::Evict).collect();
        events.push(Event::Piece(piece.clone()));
        self.write(&events)?;
        Ok(PieceOutcome::Stored { evicted: evict })
    }

    /// Adds a whole package (its record and every piece), e.g. one built
    /// or read from a file locally.
    pub fn add_package(&mut self, package: &Package) -> Result<PackageId, CacheError> {
        let id = self.add_record(package.record().clone())?;
        for i in 0..package.record().piece_count {
            let piece = package.piece(i).expect("index below the piece count");
            self.add_piece(&piece)?;
        }
        Ok(id)
    }

    /// Pins a package: it is never evicted until unpinned.
    pub fn pin(&mut self, id: PackageId) -> Result<(), CacheError> {
        self.set_pin(id, true)
    }

    /// Unpins a package.
    pub fn unpin(&mut self, id: PackageId) -> Result<(), CacheError> {
        self.set_pin(id, false)
    }

    fn set_pin(&mut self, id: PackageId, pin: bool) -> Result<(), CacheError> {
        self.check_usable()?;
        if !self.state.packages.contains_key(&id) {
            return Err(CacheError::Unknown(id));
        }
        self.write(&[if pin {
            Event::Pin(id)
        } else {
            Event::Unpin(id)
        }])
    }

    /// Marks a package as just used (LRU).
    pub fn touch(&mut self, id: PackageId) -> Result<(), CacheError> {
        self.check_usable()?;
        if !self.state.packages.contains_key(&id) {
            return Err(CacheError::Unknown(id));
        }
        self.write(&[Event::Touch(id)])
    }

    /// Drops a package and its pieces (pinned or not).
    pub fn remove(&mut self, id: PackageId) -> Result<(), CacheError> {
        self.check_usable()?;
        if !self.state.packages.contains_key(&id) {
            return Err(CacheError::Unknown(id));
        }
        self.write(&[Event::Evict(id)])
    }

    // ----- reads --------------------------------------------------------

    /// The record of a cached package.
    pub fn record(&self, id: PackageId) -> Option<&PackageRecord> {
        self.state.packages.get(&id).map(|e| &e.record)
    }

    /// Cached package ids in ascending order.
    pub fn ids(&self) -> impl Iterator<Item = PackageId> + '_ {
        self.state.packages.keys().copied()
    }

    /// The piece indices held, ascending.
    pub fn have(&self, id: PackageId) -> impl Iterator<Item = u32> + '_ {
        self.state
            .packages
            .get(&id)
            .into_iter()
            .flat_map(|e| e.pieces.keys().copied())
    }

    /// Whether piece `index` of `id` is held.
    pub fn has_piece(&self, id: PackageId, index: u32) -> bool {
        self.state
            .packages
            .get(&id)
            .is_some_and(|e| e.pieces.contains_key(&index))
    }

    /// A held piece with its proof, ready to send.
    pub fn piece(&self, id: PackageId, index: u32) -> Option<PieceMsg<'_>> {
        let (proof, data) = self.state.packages.get(&id)?.pieces.get(&index)?;
        Some(PieceMsg {
            package: id,
            index,
            proof: proof.clone(),
            data,
        })
    }

    /// How much of a package is held.
    pub fn held(&self, id: PackageId) -> Option<Held> {
        let e = self.state.packages.get(&id)?;
        Some(Held {
            pieces: e.pieces.len() as u32,
            piece_count: e.record.piece_count,
            bytes: e.pieces.values().map(|(_, d)| d.len() as u64).sum(),
            total_bytes: e.record.total_bytes,
            pinned: e.pinned,
        })
    }

    /// The whole package once every piece is held (verified again as a
    /// package file would be).
    pub fn package(&self, id: PackageId) -> Option<Package> {
        let e = self.state.packages.get(&id)?;
        if e.pieces.len() as u32 != e.record.piece_count {
            return None;
        }
        let payload: Vec<u8> = e
            .pieces
            .values()
            .flat_map(|(_, d)| d.iter().copied())
            .collect();
        Package::from_parts(e.record.clone(), payload).ok()
    }

    /// Bytes charged against the capacity.
    pub fn used_bytes(&self) -> u64 {
        self.state.used_bytes
    }

    /// The configuration.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// The backend.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Closes the cache and returns the backend.
    pub fn into_storage(self) -> S {
        self.storage
    }

    // ----- internals ----------------------------------------------------

    fn check_usable(&self) -> Result<(), CacheError> {
        if self.poisoned {
            Err(CacheError::Poisoned)
        } else {
            Ok(())
        }
    }

    /// Appends the events, syncs, applies them, then snapshots if due.
    fn write(&mut self, events: &[Event<'_>]) -> Result<(), CacheError> {
        let mut buf = Vec::new();
        for e in events {
            buf.clear();
            e.encode(&mut buf);
            if let Err(err) = self.storage.append(&buf) {
                self.poisoned = true;
                return Err(err.into());
            }
        }
        if let Err(err) = self.storage.sync() {
            self.poisoned = true;
            return Err(err.into());
        }
        for e in events {
            self.state
                .apply(e.clone())
                .unwrap_or_else(|w| panic!("a checked event does not apply: {w}"));
        }
        let threshold = self
            .config
            .snapshot_min_log_bytes
            .max(self.state.used_bytes);
        if self.storage.log_bytes() > threshold {
            let mut snap = Vec::new();
            self.state.encode_snapshot(&mut snap);
            if let Err(err) = self.storage.install_snapshot(&snap) {
                self.poisoned = true;
                return Err(err.into());
            }
        }
        Ok(())
    }
}
