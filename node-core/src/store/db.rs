//! [`Store`]: the catalogue on top of a [`Storage`] backend.

use core::ops::RangeBounds;

use super::event::{Event, MAX_SIGNAL_RECORD_BYTES};
use super::item::{
    CachedPackage, Draft, EntryKey, ItemClass, MAX_ITEM_BYTES, MAX_NAME_BYTES, Origin, StoredItem,
};
use super::outcome::{CacheOutcome, OpenReport, PutOutcome, Reject, StoreError};
use super::state::{Change, KindConflict, NoRoom, State};
use super::storage::{Storage, StorageError};
use catalogue::id::{ContentId, ItemId, ItemKind};

use super::item::VersionStamp;
use crate::identity::{Authorship, Keypair, TOMBSTONE_CONTENT, owned_id};
use crate::time::Instant;

/// Who signs a local publish: the node's publisher key, the time it signs
/// at, and whether it signs an unsigned file it imported (so readers can
/// tell "signed by this node on import" from "published here").
#[derive(Clone, Copy, Debug)]
pub struct Signer<'a> {
    /// The publisher key; it owns the designs it publishes.
    pub key: &'a Keypair,
    /// The timestamp signed into the version.
    pub at: Instant,
    /// Signed on import of an unsigned file rather than authored here.
    pub imported: bool,
}

/// Limits and policies of a [`Store`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StoreConfig {
    /// Capacity: the sum of [`StoredItem::footprint_bytes`] and
    /// [`CachedPackage::footprint_bytes`] of everything held stays at or
    /// below this.
    pub capacity_bytes: u64,
    /// Retention: versions kept per item, current included (≥ 1). The
    /// highest stamps are kept.
    pub max_versions: usize,
    /// Eviction priority: whole entries of the first class go before any of
    /// the second, and so on; least recently used first within a class.
    pub eviction_order: [ItemClass; 3],
    /// Largest item or package body accepted (≤ [`MAX_ITEM_BYTES`]).
    pub max_item_bytes: usize,
    /// A snapshot is written when the log exceeds the larger of this and the
    /// bytes held, which bounds both the log and replay time.
    pub snapshot_min_log_bytes: u64,
}

impl Default for StoreConfig {
    /// 256 MiB, 4 versions per item, manifests → facilities → packages,
    /// 4 MiB bodies, snapshots past 16 MiB of log.
    fn default() -> Self {
        StoreConfig {
            capacity_bytes: 256 << 20,
            max_versions: 4,
            eviction_order: [ItemClass::Manifest, ItemClass::Facility, ItemClass::Package],
            max_item_bytes: 4 << 20,
            snapshot_min_log_bytes: 16 << 20,
        }
    }
}

/// The catalogue store: an event log replayed into state. See the
/// [module docs](super) for the policies.
#[derive(Debug)]
pub struct Store<S: Storage> {
    storage: S,
    state: State,
    config: StoreConfig,
    poisoned: bool,
    scratch: Vec<u8>,
}

impl<S: Storage> Store<S> {
    /// Opens a store on `storage`: loads the snapshot, replays the log (the
    /// backend cuts a torn tail), then evicts if `config` has a smaller
    /// capacity than what is held.
    pub fn open(mut storage: S, config: StoreConfig) -> Result<(Self, OpenReport), StoreError> {
        if config.max_versions == 0 || config.max_versions > u16::MAX as usize {
            return Err(StoreError::InvalidConfig("max_versions must be 1..=65535"));
        }
        if config.max_item_bytes > MAX_ITEM_BYTES {
            return Err(StoreError::InvalidConfig(
                "max_item_bytes above MAX_ITEM_BYTES",
            ));
        }
        let mut order = config.eviction_order;
        order.sort();
        if order != ItemClass::ALL {
            return Err(StoreError::InvalidConfig(
                "eviction_order must list every class once",
            ));
        }
        let snapshot = storage.read_snapshot()?;
        let from_snapshot = snapshot.is_some();
        let mut state = match snapshot {
            Some(bytes) => State::decode_snapshot(&bytes, config.max_versions)
                .map_err(StoreError::CorruptSnapshot)?,
            None => State::default(),
        };
        let mut index = 0u64;
        let mut failure = None;
        let replayed = storage.replay(&mut |record| {
            let outcome = match Event::decode(record) {
                Ok(event) => state.apply(event, config.max_versions).map_err(|c| {
                    StoreError::InconsistentRecord {
                        index,
                        id: c.id,
                        stored: c.stored,
                        offered: c.offered,
                    }
                }),
                Err(source) => Err(StoreError::CorruptRecord { index, source }),
            };
            index += 1;
            match outcome {
                Ok(_) => true,
                Err(e) => {
                    failure = Some(e);
                    false
                }
            }
        });
        let recovery = match replayed {
            Ok(r) => r,
            Err(StorageError::ReplayStopped) => {
                return Err(failure.expect("the visitor stops only on a failure"));
            }
            Err(e) => return Err(e.into()),
        };
        let mut store = Store {
            storage,
            state,
            config,
            poisoned: false,
            scratch: Vec::new(),
        };
        let shrink = store.state.plan_shrink(&store.config);
        let evicted_at_open = shrink.len();
        if !shrink.is_empty() {
            for key in shrink {
                store.commit(Event::Evict(key))?;
            }
            store.finish_write()?;
        }
        let report = OpenReport {
            from_snapshot,
            events_replayed: recovery.records,
            recovery,
            evicted_at_open,
        };
        Ok((store, report))
    }

    // ----- writes -------------------------------------------------------

    /// Publishes a local version of an item and acknowledges it once
    /// durable. The store assigns `seq` = one more than the highest it holds
    /// for the id (1 for a new id). Content equal to the current version's is
    /// a no-op that returns the current stamp. The item becomes pinned.
    pub fn publish(&mut self, draft: Draft) -> Result<PutOutcome, StoreError> {
        let outcome = self.stage_publish(draft)?;
        self.finish_write()?;
        Ok(outcome?)
    }

    /// Publishes a local version signed by `signer`, under the design id
    /// its key owns ([`owned_id`] of the key and the draft's catalogue id):
    /// the same as [`Store::publish`] otherwise.
    pub fn publish_signed(
        &mut self,
        draft: Draft,
        signer: &Signer<'_>,
    ) -> Result<PutOutcome, StoreError> {
        let outcome = self.stage_publish_signed(draft, signer)?;
        self.finish_write()?;
        Ok(outcome?)
    }

    /// Signed [`Store::publish_batch`]: many drafts, one sync.
    pub fn publish_signed_batch(
        &mut self,
        drafts: impl IntoIterator<Item = Draft>,
        signer: &Signer<'_>,
    ) -> Result<Vec<Result<PutOutcome, Reject>>, StoreError> {
        let mut out = Vec::new();
        for draft in drafts {
            out.push(self.stage_publish_signed(draft, signer)?);
        }
        self.finish_write()?;
        Ok(out)
    }

    /// Retires the design `id` (one this signer owns, held here) with a
    /// signed tombstone: a version one above the current with no document,
    /// which replaces the design on every node that verifies it.
    pub fn retire(&mut self, id: ItemId, signer: &Signer<'_>) -> Result<PutOutcome, StoreError> {
        let Some(current) = self.get(id) else {
            return Err(Reject::UnknownItem { id }.into());
        };
        let catalogue_id = current.catalogue_id();
        if owned_id(&signer.key.public(), catalogue_id) != id {
            return Err(Reject::NotOwner { id }.into());
        }
        let kind = current.kind;
        let format = current.format;
        let seq = current
            .stamp
            .seq
            .checked_add(1)
            .ok_or(Reject::SeqExhausted { id })?;
        let (_, author) = Authorship::sign(
            signer.key,
            kind,
            catalogue_id,
            seq,
            TOMBSTONE_CONTENT,
            signer.at,
            signer.imported,
        );
        let item = StoredItem {
            kind,
            id,
            stamp: VersionStamp {
                seq,
                content: TOMBSTONE_CONTENT,
            },
            name: String::new(),
            format,
            bytes: Vec::new(),
            author: Some(author),
        };
        let outcome = self.stage_put(item, Origin::Local)?;
        self.finish_write()?;
        Ok(outcome?)
    }

    /// Stores a version received from a peer under the conflict rule (see
    /// the module docs) and acknowledges it once durable.
    pub fn apply_remote(&mut self, item: StoredItem) -> Result<PutOutcome, StoreError> {
        let outcome = self.stage_put(item, Origin::Remote)?;
        self.finish_write()?;
        Ok(outcome?)
    }

    /// Publishes many drafts with one sync (an import). Each draft gets its
    /// own outcome; the call fails only if the backend does, and then none of
    /// the batch is acknowledged.
    pub fn publish_batch(
        &mut self,
        drafts: impl IntoIterator<Item = Draft>,
    ) -> Result<Vec<Result<PutOutcome, Reject>>, StoreError> {
        let mut out = Vec::new();
        for draft in drafts {
            out.push(self.stage_publish(draft)?);
        }
        self.finish_write()?;
        Ok(out)
    }

    /// Applies many remote versions with one sync (a sync session).
    pub fn apply_remote_batch(
        &mut self,
        items: impl IntoIterator<Item = StoredItem>,
    ) -> Result<Vec<Result<PutOutcome, Reject>>, StoreError> {
        let mut out = Vec::new();
        for item in items {
            out.push(self.stage_put(item, Origin::Remote)?);
        }
        self.finish_write()?;
        Ok(out)
    }

    /// Caches a design package (evictable) and acknowledges it once durable.
    pub fn cache_package(&mut self, package: CachedPackage) -> Result<CacheOutcome, StoreError> {
        self.check_usable()?;
        if package.bytes.len() > self.config.max_item_bytes {
            return Err(Reject::TooLarge {
                len: package.bytes.len(),
                max: self.config.max_item_bytes,
            }
            .into());
        }
        let key = EntryKey::Package(package.content);
        if self.state.packages.contains_key(&package.content) {
            self.touch(key)?;
            return Ok(CacheOutcome {
                change: Change::Unchanged,
                evicted: Vec::new(),
            });
        }
        let evicted = self
            .state
            .plan_room(package.footprint_bytes(), 0, key, &self.config)
            .map_err(|e| self.no_room(e))?;
        for key in &evicted {
            self.commit(Event::Evict(*key))?;
        }
        let change = self.commit(Event::PackageCached(package))?;
        self.finish_write()?;
        Ok(CacheOutcome { change, evicted })
    }

    /// Marks an entry as just used (LRU). Logged but not synced: a crash may
    /// forget recent uses, which only affects eviction order. No-op for an
    /// unknown key or the entry touched last.
    pub fn touch(&mut self, key: EntryKey) -> Result<(), StoreError> {
        self.check_usable()?;
        let last_used = match key {
            EntryKey::Item(id) => self.state.items.get(&id).map(|e| e.last_used),
            EntryKey::Package(c) => self.state.packages.get(&c).map(|e| e.last_used),
        };
        match last_used {
            Some(t) if t != self.state.clock => {
                self.commit(Event::Touch(key))?;
                self.maybe_snapshot()
            }
            _ => Ok(()),
        }
    }

    /// Logs a signal taken (the signal log, see [`crate::signals`]) and
    /// acknowledges it once durable. A signal already held is a no-op.
    pub fn put_signal(&mut self, id: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.check_usable()?;
        if bytes.len() > MAX_SIGNAL_RECORD_BYTES {
            return Err(Reject::TooLarge {
                len: bytes.len(),
                max: MAX_SIGNAL_RECORD_BYTES,
            }
            .into());
        }
        if self.state.signals.contains_key(&id) {
            return Ok(());
        }
        self.commit(Event::SignalLogged {
            id,
            bytes: bytes.to_vec(),
        })?;
        self.finish_write()
    }

    /// Logs signals dropped (expired, superseded, cancelled, evicted) with
    /// one sync; ids not held are skipped.
    pub fn drop_signals(&mut self, ids: &[u64]) -> Result<(), StoreError> {
        self.check_usable()?;
        let mut any = false;
        for &id in ids {
            if self.state.signals.contains_key(&id) {
                self.commit(Event::SignalDropped(id))?;
                any = true;
            }
        }
        if any {
            self.finish_write()?;
        }
        Ok(())
    }

    /// The signal log's live records, `(id, bytes)` in id order.
    pub fn signals(&self) -> impl Iterator<Item = (u64, &[u8])> + '_ {
        self.state.signals.iter().map(|(id, b)| (*id, b.as_slice()))
    }

    /// Makes every logged event durable (e.g. at shutdown, after touches).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.check_usable()?;
        self.storage.sync().map_err(|e| self.poison(e))
    }

    /// Writes a snapshot now and empties the log.
    pub fn snapshot(&mut self) -> Result<(), StoreError> {
        self.check_usable()?;
        self.scratch.clear();
        self.state.encode_snapshot(&mut self.scratch);
        let result = self.storage.install_snapshot(&self.scratch);
        self.scratch = Vec::new();
        result.map_err(|e| self.poison(e))
    }

    // ----- reads --------------------------------------------------------

    /// The current version of `id`.
    pub fn get(&self, id: ItemId) -> Option<&StoredItem> {
        self.state.items.get(&id).map(|e| e.current())
    }

    /// A given version of `id`, if retained.
    pub fn version(&self, id: ItemId, stamp: VersionStamp) -> Option<&StoredItem> {
        let versions = &self.state.items.get(&id)?.versions;
        let at = versions.binary_search_by(|v| v.stamp.cmp(&stamp)).ok()?;
        Some(&versions[at])
    }

    /// The retained versions of `id`, oldest first; the last is current.
    /// Empty for an unknown id.
    pub fn history(&self, id: ItemId) -> &[StoredItem] {
        self.state.items.get(&id).map_or(&[], |e| &e.versions)
    }

    /// Current versions of every item, in ascending [`ItemId`] order.
    pub fn items(&self) -> impl DoubleEndedIterator<Item = &StoredItem> + '_ {
        self.state.items.values().map(|e| e.current())
    }

    /// Current versions of the items of one kind, in ascending id order.
    pub fn items_of(&self, kind: ItemKind) -> impl Iterator<Item = &StoredItem> + '_ {
        self.items().filter(move |i| i.kind == kind)
    }

    /// Current versions of the items whose id is in `range`, in id order
    /// (for digests over id ranges).
    pub fn range<R: RangeBounds<ItemId>>(
        &self,
        range: R,
    ) -> impl DoubleEndedIterator<Item = &StoredItem> + '_ {
        self.state.items.range(range).map(|(_, e)| e.current())
    }

    /// `(id, current stamp)` of every item in ascending id order: what sync
    /// builds its digest over.
    pub fn stamps(&self) -> impl DoubleEndedIterator<Item = (ItemId, VersionStamp)> + '_ {
        self.state
            .items
            .iter()
            .map(|(id, e)| (*id, e.current().stamp))
    }

    /// Number of items (not versions).
    pub fn len(&self) -> usize {
        self.state.items.len()
    }

    /// Whether no item is held.
    pub fn is_empty(&self) -> bool {
        self.state.items.is_empty()
    }

    /// Whether `id` is held.
    pub fn contains(&self, id: ItemId) -> bool {
        self.state.items.contains_key(&id)
    }

    /// Whether `id` has a local version and so is never evicted.
    pub fn is_pinned(&self, id: ItemId) -> bool {
        self.state.items.get(&id).is_some_and(|e| e.pinned)
    }

    /// A cached package.
    pub fn package(&self, content: ContentId) -> Option<&CachedPackage> {
        self.state.packages.get(&content).map(|e| &e.package)
    }

    /// Cached packages in ascending content order.
    pub fn packages(&self) -> impl Iterator<Item = &CachedPackage> + '_ {
        self.state.packages.values().map(|e| &e.package)
    }

    /// Evictable entries in the order they would be evicted.
    pub fn eviction_queue(&self) -> impl Iterator<Item = EntryKey> + '_ {
        self.state.eviction_queue(&self.config.eviction_order)
    }

    /// Bytes charged against capacity.
    pub fn used_bytes(&self) -> u64 {
        self.state.used_bytes
    }

    /// The configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The logical clock: events applied since the store was created.
    pub fn clock(&self) -> u64 {
        self.state.clock
    }

    /// BLAKE3 of the snapshot encoding of the whole state (items, versions,
    /// packages, LRU clock): equal digests mean equal states.
    pub fn state_digest(&self) -> [u8; 32] {
        let mut bytes = Vec::new();
        self.state.encode_snapshot(&mut bytes);
        *blake3::hash(&bytes).as_bytes()
    }

    /// The backend.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Closes the store and returns the backend (staged, unsynced events
    /// stay staged).
    pub fn into_storage(self) -> S {
        self.storage
    }

    // ----- internals ----------------------------------------------------

    fn check_usable(&self) -> Result<(), StoreError> {
        if self.poisoned {
            Err(StoreError::Poisoned)
        } else {
            Ok(())
        }
    }

    fn poison(&mut self, e: StorageError) -> StoreError {
        self.poisoned = true;
        e.into()
    }

    fn no_room(&self, e: NoRoom) -> StoreError {
        Reject::CapacityExceeded {
            needed_bytes: e.needed_bytes,
            capacity_bytes: self.config.capacity_bytes,
        }
        .into()
    }

    /// Appends `event` to the log, then applies it.
    fn commit(&mut self, event: Event) -> Result<Change, StoreError> {
        self.scratch.clear();
        event.encode(&mut self.scratch);
        if let Err(e) = self.storage.append(&self.scratch) {
            return Err(self.poison(e));
        }
        let change = self
            .state
            .apply(event, self.config.max_versions)
            .unwrap_or_else(|c: KindConflict| panic!("planned event conflicts on {:?}", c.id));
        Ok(change)
    }

    /// Syncs staged events (acknowledging them), then snapshots if due.
    fn finish_write(&mut self) -> Result<(), StoreError> {
        self.storage.sync().map_err(|e| self.poison(e))?;
        self.maybe_snapshot()
    }

    fn maybe_snapshot(&mut self) -> Result<(), StoreError> {
        let threshold = self
            .config
            .snapshot_min_log_bytes
            .max(self.state.used_bytes);
        if self.storage.log_bytes() > threshold {
            self.snapshot()?;
        }
        Ok(())
    }

    fn check_body(&self, name: &str, bytes: &[u8]) -> Result<(), Reject> {
        if bytes.len() > self.config.max_item_bytes {
            return Err(Reject::TooLarge {
                len: bytes.len(),
                max: self.config.max_item_bytes,
            });
        }
        if name.len() > MAX_NAME_BYTES {
            return Err(Reject::NameTooLong {
                len: name.len(),
                max: MAX_NAME_BYTES,
            });
        }
        Ok(())
    }

    /// Stages a publish: `Ok(Err(_))` is a rejected draft, `Err(_)` a backend
    /// failure.
    fn stage_publish(&mut self, draft: Draft) -> Result<Result<PutOutcome, Reject>, StoreError> {
        self.stage_publish_with(draft, None)
    }

    /// Stages a publish, signing the version with `sign(seq)` if given.
    fn stage_publish_with(
        &mut self,
        draft: Draft,
        sign: Option<&dyn Fn(u32) -> Authorship>,
    ) -> Result<Result<PutOutcome, Reject>, StoreError> {
        self.check_usable()?;
        let seq = match self.state.items.get(&draft.id) {
            None => 1,
            Some(entry) => {
                if entry.kind != draft.kind {
                    return Ok(Err(Reject::KindMismatch {
                        id: draft.id,
                        stored: entry.kind,
                        offered: draft.kind,
                    }));
                }
                let current = entry.current();
                if current.stamp.content == draft.content {
                    return Ok(Ok(PutOutcome {
                        stamp: current.stamp,
                        change: Change::Unchanged,
                        evicted: Vec::new(),
                    }));
                }
                // Versions are sorted by stamp, so the current one has the
                // highest seq held.
                match current.stamp.seq.checked_add(1) {
                    Some(seq) => seq,
                    None => return Ok(Err(Reject::SeqExhausted { id: draft.id })),
                }
            }
        };
        let item = StoredItem {
            kind: draft.kind,
            id: draft.id,
            stamp: VersionStamp {
                seq,
                content: draft.content,
            },
            name: draft.name,
            format: draft.format,
            bytes: draft.bytes,
            author: sign.map(|f| f(seq)),
        };
        self.stage_put(item, Origin::Local)
    }

    /// Stages a signed publish: the draft under the id its key owns, then
    /// the version signed once its seq is known.
    fn stage_publish_signed(
        &mut self,
        mut draft: Draft,
        signer: &Signer<'_>,
    ) -> Result<Result<PutOutcome, Reject>, StoreError> {
        let catalogue_id = draft.id;
        draft.id = owned_id(&signer.key.public(), catalogue_id);
        let (kind, content) = (draft.kind, draft.content);
        let sign = |seq| {
            Authorship::sign(
                signer.key,
                kind,
                catalogue_id,
                seq,
                content,
                signer.at,
                signer.imported,
            )
            .1
        };
        self.stage_publish_with(draft, Some(&sign))
    }

    fn stage_put(
        &mut self,
        item: StoredItem,
        origin: Origin,
    ) -> Result<Result<PutOutcome, Reject>, StoreError> {
        self.check_usable()?;
        if let Err(r) = self.check_body(&item.name, &item.bytes) {
            return Ok(Err(r));
        }
        if let Some(entry) = self.state.items.get(&item.id)
            && entry.kind != item.kind
        {
            return Ok(Err(Reject::KindMismatch {
                id: item.id,
                stored: entry.kind,
                offered: item.kind,
            }));
        }
        let stamp = item.stamp;
        let plan = match self.state.plan_put(&item, &self.config) {
            Ok(plan) => plan,
            Err(e) => {
                return Ok(Err(Reject::CapacityExceeded {
                    needed_bytes: e.needed_bytes,
                    capacity_bytes: self.config.capacity_bytes,
                }));
            }
        };
        if !plan.stores {
            return Ok(Ok(PutOutcome {
                stamp,
                change: Change::Unchanged,
                evicted: Vec::new(),
            }));
        }
        for key in &plan.evict {
            self.commit(Event::Evict(*key))?;
        }
        let change = self.commit(Event::Put { origin, item })?;
        Ok(Ok(PutOutcome {
            stamp,
            change,
            evicted: plan.evict,
        }))
    }
}
