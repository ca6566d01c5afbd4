//! What the store holds: catalogue items and cached design packages.

use catalogue::Format;
use catalogue::id::{ContentId, ItemId, ItemKind};

use crate::identity::{AUTHORSHIP_LEN, Authorship};

/// Orders the versions of one item.
///
/// The rule, identical on every node: the higher `seq` wins; equal `seq`
/// (two publishers edited concurrently) is broken by the larger content id,
/// an arbitrary but deterministic choice.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct VersionStamp {
    /// The publisher's version counter: 1 for the first version, then one
    /// more than the highest version the publisher had seen.
    pub seq: u32,
    /// Content of this version.
    pub content: ContentId,
}

/// Longest item name (human title) the store accepts, in bytes.
pub const MAX_NAME_BYTES: usize = catalogue::entry::MAX_NAME_BYTES;

/// Largest item or package body the store accepts, in bytes (hard limit; a
/// [`StoreConfig`](super::StoreConfig) may set a lower one).
pub const MAX_ITEM_BYTES: usize = 8 << 20;

/// Book-keeping bytes charged per stored version or package on top of its
/// name and body, so that many tiny items still count against capacity.
pub const ENTRY_OVERHEAD_BYTES: u64 = 96;

/// One version of a catalogue item as the store keeps it.
///
/// The store never parses `bytes`: they are the original file, kept so that
/// it can be served, re-parsed and re-hashed exactly.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StoredItem {
    /// Manifest or facility.
    pub kind: ItemKind,
    /// Stable identity across versions.
    pub id: ItemId,
    /// Version order (seq, content id).
    pub stamp: VersionStamp,
    /// Human title, for listings.
    pub name: String,
    /// The syntax of `bytes`, so they read back with no guessing.
    pub format: Format,
    /// The item's own document bytes, as published (empty for a
    /// tombstone).
    pub bytes: Vec<u8>,
    /// Who signed this version, and the proof. `None` only for versions
    /// stored before items were signed: those are kept and read, but never
    /// served or relayed.
    pub author: Option<Authorship>,
}

impl StoredItem {
    /// Bytes charged against the store's capacity for this version.
    pub fn footprint_bytes(&self) -> u64 {
        let signed = if self.author.is_some() {
            AUTHORSHIP_LEN as u64
        } else {
            0
        };
        ENTRY_OVERHEAD_BYTES + self.name.len() as u64 + self.bytes.len() as u64 + signed
    }

    /// The id of the document itself (what the catalogue's parser computes
    /// from the bytes): the signed catalogue id, or the store id of an
    /// unsigned version.
    pub fn catalogue_id(&self) -> ItemId {
        self.author.map_or(self.id, |a| a.catalogue_id)
    }

    /// Whether this version retires its design (a signed tombstone).
    pub fn is_tombstone(&self) -> bool {
        self.author.is_some_and(|a| a.tombstone)
    }
}

/// A local item to publish: a catalogue entry (see
/// [`catalogue::entry::entries`], the one way a file becomes entries); the
/// store assigns its version counter.
pub type Draft = catalogue::Entry;

/// A cached design package (the files a manifest points to), kept as opaque
/// bytes. Issue 4/5's package transfer decides what `bytes` hold; the store
/// only keys them by `content` and charges them against capacity.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CachedPackage {
    /// The design the package belongs to.
    pub design: ItemId,
    /// Identity of the package content (the key in the store).
    pub content: ContentId,
    /// Package bytes.
    pub bytes: Vec<u8>,
}

impl CachedPackage {
    /// Bytes charged against the store's capacity for this package.
    pub fn footprint_bytes(&self) -> u64 {
        ENTRY_OVERHEAD_BYTES + self.bytes.len() as u64
    }
}

/// Who produced a version: this node, or a peer through sync.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Origin {
    /// Published on this node. An item with a local version is pinned: it is
    /// never evicted.
    Local,
    /// Received from a peer.
    Remote,
}

/// Eviction classes. The store evicts whole entries of one class before the
/// next in [`StoreConfig::eviction_order`](super::StoreConfig::eviction_order).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum ItemClass {
    /// Remote OKH manifests.
    Manifest,
    /// Remote OKW facility profiles.
    Facility,
    /// Cached design packages.
    Package,
}

impl ItemClass {
    /// Every class, in index order.
    pub const ALL: [ItemClass; 3] = [ItemClass::Manifest, ItemClass::Facility, ItemClass::Package];

    pub(crate) fn index(self) -> usize {
        match self {
            ItemClass::Manifest => 0,
            ItemClass::Facility => 1,
            ItemClass::Package => 2,
        }
    }
}

impl From<ItemKind> for ItemClass {
    fn from(kind: ItemKind) -> Self {
        match kind {
            ItemKind::Manifest => ItemClass::Manifest,
            ItemKind::Facility => ItemClass::Facility,
        }
    }
}

/// The key of a store entry: an item (all its versions) or a package.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum EntryKey {
    /// A catalogue item.
    Item(ItemId),
    /// A cached package.
    Package(ContentId),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_seq_wins_then_larger_content() {
        let a = VersionStamp {
            seq: 2,
            content: ContentId([0; 32]),
        };
        let b = VersionStamp {
            seq: 1,
            content: ContentId([9; 32]),
        };
        let c = VersionStamp {
            seq: 2,
            content: ContentId([1; 32]),
        };
        assert!(a > b);
        assert!(c > a);
    }
}
