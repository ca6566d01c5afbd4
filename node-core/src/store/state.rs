//! The store's state: what replaying the log produces, its snapshot encoding,
//! and the planning of evictions.
//!
//! Snapshot layout (the payload a backend keeps as its snapshot; integers
//! little-endian, item fields as in [`event`](super::event)):
//!
//! ```text
//! u8  format version (4; 3 had no authorship, 2 had no signal log, 1 had no per-version
//!     format byte either, and its versions' formats are read from their
//!     bytes)
//! u64 logical clock
//! u64 used bytes (checked against the entries on load)
//! u32 item count, then per item in ascending id order:
//!     kind u8, id, pinned u8 (0|1), last_used u64, version count u16,
//!     per version in ascending stamp order: seq u32, content,
//!         format u8 (1 JSON, 2 TOML, 3 YAML; from version 2),
//!         name_len u16, name, bytes_len u32, bytes,
//!         signed u8 (0|1) then, if 1, the authorship (121 bytes;
//!         version 4 only)
//! u32 package count, then per package in ascending content order:
//!     design id, content, last_used u64, bytes_len u32, bytes
//! u32 signal count, then per signal in ascending id order (versions 3
//!     and 4): id u64, bytes_len u16, bytes
//! ```

use std::collections::{BTreeMap, BTreeSet};

use super::StoreConfig;
use super::event::{
    DecodeError, Event, Reader, put_bytes, put_kind, put_name, put_signal, put_stamp,
};
use super::item::{CachedPackage, EntryKey, ItemClass, Origin, StoredItem};
use catalogue::id::{ContentId, ItemId, ItemKind};

const SNAPSHOT_VERSION: u8 = 4;
/// The snapshot layout before versions kept their authorship.
const SNAPSHOT_VERSION_3: u8 = 3;
/// The snapshot layout before the signal log.
const SNAPSHOT_VERSION_2: u8 = 2;
/// The snapshot layout before each version kept its format.
const SNAPSHOT_VERSION_1: u8 = 1;

/// What a stored event did to the catalogue.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Change {
    /// The first version of an id: a manifest published, a facility
    /// registered, a package cached.
    Added,
    /// A new current version of a known id (a manifest's new version, a
    /// facility updated); the previous one is kept in history per policy.
    NewVersion,
    /// An older version than the current one, kept in history.
    History,
    /// Nothing stored: the version was already held, or is older than every
    /// version the retention policy keeps.
    Unchanged,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct ItemEntry {
    pub(crate) kind: ItemKind,
    pub(crate) pinned: bool,
    pub(crate) last_used: u64,
    /// Ascending by stamp, never empty; the last is current.
    pub(crate) versions: Vec<StoredItem>,
}

impl ItemEntry {
    fn footprint_bytes(&self) -> u64 {
        self.versions.iter().map(StoredItem::footprint_bytes).sum()
    }

    pub(crate) fn current(&self) -> &StoredItem {
        self.versions
            .last()
            .expect("an item entry holds at least one version")
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct PackageEntry {
    pub(crate) package: CachedPackage,
    pub(crate) last_used: u64,
}

/// A replay error: an event that cannot apply to the state it follows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct KindConflict {
    pub(crate) id: ItemId,
    pub(crate) stored: ItemKind,
    pub(crate) offered: ItemKind,
}

/// Items and packages, with eviction bookkeeping. Equal states compare equal
/// field by field: this is what "replay equals live state" checks.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub(crate) struct State {
    pub(crate) items: BTreeMap<ItemId, ItemEntry>,
    pub(crate) packages: BTreeMap<ContentId, PackageEntry>,
    /// The signal log's live records by id (not charged against capacity:
    /// the signal book bounds them).
    pub(crate) signals: BTreeMap<u64, Vec<u8>>,
    /// Unpinned entries per [`ItemClass`] index, least recently used first.
    lru: [BTreeSet<(u64, EntryKey)>; 3],
    /// Logical clock: one tick per applied event. Never the wall clock.
    pub(crate) clock: u64,
    pub(crate) used_bytes: u64,
}

/// What a put would do, computed without changing anything.
pub(crate) struct PutPlan {
    /// Entries to evict first, in order.
    pub(crate) evict: Vec<EntryKey>,
    /// Whether the put stores anything (false: [`Change::Unchanged`]).
    pub(crate) stores: bool,
}

/// Not enough evictable bytes to fit an entry.
pub(crate) struct NoRoom {
    pub(crate) needed_bytes: u64,
}

impl State {
    fn class_of(&self, key: EntryKey) -> Option<ItemClass> {
        match key {
            EntryKey::Item(id) => self.items.get(&id).map(|e| e.kind.into()),
            EntryKey::Package(_) => Some(ItemClass::Package),
        }
    }

    fn footprint_of(&self, key: EntryKey) -> u64 {
        match key {
            EntryKey::Item(id) => self.items.get(&id).map_or(0, ItemEntry::footprint_bytes),
            EntryKey::Package(c) => self
                .packages
                .get(&c)
                .map_or(0, |p| p.package.footprint_bytes()),
        }
    }

    /// Moves `key` to `tick` in its LRU set (if it is evictable).
    fn set_last_used(&mut self, key: EntryKey, tick: u64) {
        let Some(class) = self.class_of(key) else {
            return;
        };
        let set = &mut self.lru[class.index()];
        match key {
            EntryKey::Item(id) => {
                let entry = self.items.get_mut(&id).expect("class_of found it");
                if !entry.pinned {
                    set.remove(&(entry.last_used, key));
                    set.insert((tick, key));
                }
                entry.last_used = tick;
            }
            EntryKey::Package(c) => {
                let entry = self.packages.get_mut(&c).expect("class_of found it");
                set.remove(&(entry.last_used, key));
                set.insert((tick, key));
                entry.last_used = tick;
            }
        }
    }

    /// Applies one event. Errors only on an item whose kind contradicts the
    /// stored one, which planning never produces.
    pub(crate) fn apply(
        &mut self,
        event: Event,
        max_versions: usize,
    ) -> Result<Change, KindConflict> {
        assert!(
            max_versions >= 1,
            "retention keeps at least the current version"
        );
        self.clock += 1;
        let tick = self.clock;
        match event {
            Event::Put { origin, item } => self.apply_put(origin, item, tick, max_versions),
            Event::Touch(key) => {
                self.set_last_used(key, tick);
                Ok(Change::Unchanged)
            }
            Event::Evict(key) => {
                self.remove(key);
                Ok(Change::Unchanged)
            }
            Event::PackageCached(package) => {
                let key = EntryKey::Package(package.content);
                if self.packages.contains_key(&package.content) {
                    self.set_last_used(key, tick);
                    return Ok(Change::Unchanged);
                }
                self.used_bytes += package.footprint_bytes();
                self.lru[ItemClass::Package.index()].insert((tick, key));
                self.packages.insert(
                    package.content,
                    PackageEntry {
                        package,
                        last_used: tick,
                    },
                );
                Ok(Change::Added)
            }
            Event::SignalLogged { id, bytes } => Ok(match self.signals.insert(id, bytes) {
                None => Change::Added,
                Some(_) => Change::Unchanged,
            }),
            Event::SignalDropped(id) => {
                self.signals.remove(&id);
                Ok(Change::Unchanged)
            }
        }
    }

    fn apply_put(
        &mut self,
        origin: Origin,
        item: StoredItem,
        tick: u64,
        max_versions: usize,
    ) -> Result<Change, KindConflict> {
        let id = item.id;
        let key = EntryKey::Item(id);
        let Some(entry) = self.items.get_mut(&id) else {
            let pinned = origin == Origin::Local;
            self.used_bytes += item.footprint_bytes();
            if !pinned {
                self.lru[ItemClass::from(item.kind).index()].insert((tick, key));
            }
            self.items.insert(
                id,
                ItemEntry {
                    kind: item.kind,
                    pinned,
                    last_used: tick,
                    versions: vec![item],
                },
            );
            return Ok(Change::Added);
        };
        if entry.kind != item.kind {
            return Err(KindConflict {
                id,
                stored: entry.kind,
                offered: item.kind,
            });
        }
        let class = ItemClass::from(entry.kind).index();
        if origin == Origin::Local && !entry.pinned {
            self.lru[class].remove(&(entry.last_used, key));
            entry.pinned = true;
        }
        let change = match entry
            .versions
            .binary_search_by(|v| v.stamp.cmp(&item.stamp))
        {
            Ok(_) => Change::Unchanged,
            Err(pos) => {
                self.used_bytes += item.footprint_bytes();
                entry.versions.insert(pos, item);
                let is_current = pos + 1 == entry.versions.len();
                // Retention: drop the lowest stamps beyond `max_versions`;
                // the new version itself may be one of them.
                let mut new_at = Some(pos);
                while entry.versions.len() > max_versions {
                    let dropped = entry.versions.remove(0);
                    self.used_bytes -= dropped.footprint_bytes();
                    new_at = new_at.and_then(|at| at.checked_sub(1));
                }
                let kept_new = new_at.is_some();
                match (kept_new, is_current) {
                    (false, _) => Change::Unchanged,
                    (true, true) => Change::NewVersion,
                    (true, false) => Change::History,
                }
            }
        };
        if !entry.pinned {
            self.lru[class].remove(&(entry.last_used, key));
            self.lru[class].insert((tick, key));
        }
        entry.last_used = tick;
        Ok(change)
    }

    fn remove(&mut self, key: EntryKey) {
        match key {
            EntryKey::Item(id) => {
                if let Some(entry) = self.items.remove(&id) {
                    self.used_bytes -= entry.footprint_bytes();
                    if !entry.pinned {
                        self.lru[ItemClass::from(entry.kind).index()]
                            .remove(&(entry.last_used, key));
                    }
                }
            }
            EntryKey::Package(c) => {
                if let Some(entry) = self.packages.remove(&c) {
                    self.used_bytes -= entry.package.footprint_bytes();
                    self.lru[ItemClass::Package.index()].remove(&(entry.last_used, key));
                }
            }
        }
    }

    /// Whether putting `item` would store it (not held, and not older than
    /// every version retention keeps).
    pub(crate) fn would_store(&self, item: &StoredItem, max_versions: usize) -> bool {
        match self.items.get(&item.id) {
            None => true,
            Some(entry) => match entry
                .versions
                .binary_search_by(|v| v.stamp.cmp(&item.stamp))
            {
                Ok(_) => false,
                Err(pos) => !(pos == 0 && entry.versions.len() >= max_versions),
            },
        }
    }

    /// Bytes that putting `item` adds, net of the version retention drops.
    fn put_delta(&self, item: &StoredItem, max_versions: usize) -> (u64, u64) {
        let add = item.footprint_bytes();
        let drop = match self.items.get(&item.id) {
            Some(entry) if entry.versions.len() >= max_versions => {
                entry.versions[0].footprint_bytes()
            }
            _ => 0,
        };
        (add, drop)
    }

    /// Entries in eviction order: classes in `order`, least recently used
    /// first within a class. Pinned items are never listed.
    pub(crate) fn eviction_queue<'a>(
        &'a self,
        order: &'a [ItemClass; 3],
    ) -> impl Iterator<Item = EntryKey> + 'a {
        order
            .iter()
            .flat_map(move |class| self.lru[class.index()].iter().map(|(_, key)| *key))
    }

    /// The evictions that make room for `add` more bytes (after `drop` are
    /// freed), never evicting `keep`.
    pub(crate) fn plan_room(
        &self,
        add: u64,
        drop: u64,
        keep: EntryKey,
        config: &StoreConfig,
    ) -> Result<Vec<EntryKey>, NoRoom> {
        let needed = (self.used_bytes - drop).saturating_add(add);
        let mut over = needed.saturating_sub(config.capacity_bytes);
        let mut evict = Vec::new();
        if over == 0 {
            return Ok(evict);
        }
        for key in self.eviction_queue(&config.eviction_order) {
            if key == keep {
                continue;
            }
            over = over.saturating_sub(self.footprint_of(key));
            evict.push(key);
            if over == 0 {
                return Ok(evict);
            }
        }
        Err(NoRoom {
            needed_bytes: needed,
        })
    }

    /// Plans storing `item`.
    pub(crate) fn plan_put(
        &self,
        item: &StoredItem,
        config: &StoreConfig,
    ) -> Result<PutPlan, NoRoom> {
        if !self.would_store(item, config.max_versions) {
            return Ok(PutPlan {
                evict: Vec::new(),
                stores: false,
            });
        }
        let (add, drop) = self.put_delta(item, config.max_versions);
        let evict = self.plan_room(add, drop, EntryKey::Item(item.id), config)?;
        Ok(PutPlan {
            evict,
            stores: true,
        })
    }

    /// Evictions that bring the state under `config.capacity_bytes` (after a
    /// capacity reduction); as many as possible if pinned items alone exceed it.
    pub(crate) fn plan_shrink(&self, config: &StoreConfig) -> Vec<EntryKey> {
        let mut over = self.used_bytes.saturating_sub(config.capacity_bytes);
        let mut evict = Vec::new();
        for key in self.eviction_queue(&config.eviction_order) {
            if over == 0 {
                break;
            }
            over = over.saturating_sub(self.footprint_of(key));
            evict.push(key);
        }
        evict
    }

    /// Appends the snapshot encoding of the state to `out`.
    pub(crate) fn encode_snapshot(&self, out: &mut Vec<u8>) {
        out.push(SNAPSHOT_VERSION);
        out.extend_from_slice(&self.clock.to_le_bytes());
        out.extend_from_slice(&self.used_bytes.to_le_bytes());
        out.extend_from_slice(&(self.items.len() as u32).to_le_bytes());
        for (id, entry) in &self.items {
            put_kind(out, entry.kind, None);
            out.extend_from_slice(&id.0);
            out.push(u8::from(entry.pinned));
            out.extend_from_slice(&entry.last_used.to_le_bytes());
            out.extend_from_slice(&(entry.versions.len() as u16).to_le_bytes());
            for v in &entry.versions {
                put_stamp(out, &v.stamp);
                out.push(v.format.code());
                put_name(out, &v.name);
                put_bytes(out, &v.bytes);
                match &v.author {
                    None => out.push(0),
                    Some(a) => {
                        out.push(1);
                        a.encode(out);
                    }
                }
            }
        }
        out.extend_from_slice(&(self.packages.len() as u32).to_le_bytes());
        for (content, entry) in &self.packages {
            out.extend_from_slice(&entry.package.design.0);
            out.extend_from_slice(&content.0);
            out.extend_from_slice(&entry.last_used.to_le_bytes());
            put_bytes(out, &entry.package.bytes);
        }
        out.extend_from_slice(&(self.signals.len() as u32).to_le_bytes());
        for (id, bytes) in &self.signals {
            put_signal(out, *id, bytes);
        }
    }

    /// Rebuilds a state from its snapshot encoding, keeping at most
    /// `max_versions` per item. Checks every ordering rule; never panics.
    pub(crate) fn decode_snapshot(bytes: &[u8], max_versions: usize) -> Result<State, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("snapshot version")?;
        if ![
            SNAPSHOT_VERSION,
            SNAPSHOT_VERSION_3,
            SNAPSHOT_VERSION_2,
            SNAPSHOT_VERSION_1,
        ]
        .contains(&version)
        {
            return Err(r.invalid("snapshot version", version as u64));
        }
        let mut state = State {
            clock: r.u64("clock")?,
            ..State::default()
        };
        let claimed_used = r.u64("used bytes")?;
        let mut total_used = 0u64;
        let items = r.u32("item count")?;
        for _ in 0..items {
            let (kind, _) = r.kind()?;
            let id = ItemId(r.array("item id")?);
            let pinned = match r.u8("pinned")? {
                0 => false,
                1 => true,
                v => return Err(r.invalid("pinned", v as u64)),
            };
            let last_used = r.u64("last used")?;
            let count = r.u16("version count")?;
            if count == 0 {
                return Err(DecodeError::Inconsistent("an item without versions"));
            }
            let mut versions: Vec<StoredItem> = Vec::new();
            for _ in 0..count {
                let stamp = r.stamp()?;
                let format = if version == SNAPSHOT_VERSION_1 {
                    None
                } else {
                    Some(r.format()?)
                };
                let mut v = r.version_body(kind, id, stamp, format)?;
                if version == SNAPSHOT_VERSION {
                    v.author = match r.u8("signed")? {
                        0 => None,
                        1 => Some(r.authorship()?),
                        s => return Err(r.invalid("signed", s as u64)),
                    };
                }
                if versions.last().is_some_and(|last| last.stamp >= v.stamp) {
                    return Err(DecodeError::Inconsistent("versions out of order"));
                }
                total_used += v.footprint_bytes();
                versions.push(v);
            }
            if last_used > state.clock {
                return Err(DecodeError::Inconsistent("last use after the clock"));
            }
            if state
                .items
                .last_key_value()
                .is_some_and(|(last, _)| *last >= id)
            {
                return Err(DecodeError::Inconsistent("items out of order"));
            }
            let excess = versions.len().saturating_sub(max_versions);
            versions.drain(..excess);
            let entry = ItemEntry {
                kind,
                pinned,
                last_used,
                versions,
            };
            state.used_bytes += entry.footprint_bytes();
            if !pinned {
                state.lru[ItemClass::from(kind).index()].insert((last_used, EntryKey::Item(id)));
            }
            state.items.insert(id, entry);
        }
        let packages = r.u32("package count")?;
        for _ in 0..packages {
            let package = CachedPackage {
                design: ItemId(r.array("design id")?),
                content: ContentId(r.array("package content")?),
                bytes: Vec::new(),
            };
            let last_used = r.u64("last used")?;
            let package = CachedPackage {
                bytes: r.bytes("package bytes")?,
                ..package
            };
            if last_used > state.clock {
                return Err(DecodeError::Inconsistent("last use after the clock"));
            }
            if state
                .packages
                .last_key_value()
                .is_some_and(|(last, _)| *last >= package.content)
            {
                return Err(DecodeError::Inconsistent("packages out of order"));
            }
            total_used += package.footprint_bytes();
            state.used_bytes += package.footprint_bytes();
            let key = EntryKey::Package(package.content);
            state.lru[ItemClass::Package.index()].insert((last_used, key));
            state
                .packages
                .insert(package.content, PackageEntry { package, last_used });
        }
        if version >= SNAPSHOT_VERSION_3 {
            let signals = r.u32("signal count")?;
            for _ in 0..signals {
                let (id, bytes) = r.signal()?;
                if state
                    .signals
                    .last_key_value()
                    .is_some_and(|(last, _)| *last >= id)
                {
                    return Err(DecodeError::Inconsistent("signals out of order"));
                }
                state.signals.insert(id, bytes);
            }
        }
        r.finish()?;
        if total_used != claimed_used {
            return Err(DecodeError::Inconsistent("used bytes do not add up"));
        }
        Ok(state)
    }
}
