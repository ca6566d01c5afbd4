//! Catalogue items: who holds which version, since when, and how fast
//! versions spread — computed from `Published` and `Stored` node records.
//!
//! An item's *newest* version is the highest `seq` published (or stored)
//! for its [`ItemId`] so far; a node *holds* the item when it holds that
//! seq or a later one. Memory is one entry per (node, item) plus one
//! snapshot per (time bucket, item): it does not grow with the trace.
//!
//! A node's store is taken to survive a crash (field nodes keep their store
//! on flash); a node that is down at the end still counts as holding what it
//! held, but it is left out of an item's completion.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use node_core::ItemId;
use node_core::{Instant, NodeId};
use rustc_hash::FxHashMap;

use crate::latency::new_histogram;
use crate::timeline::Timeline;

/// Most distinct items tracked; more is reported as an error by the run.
pub const MAX_ITEMS: usize = 100_000;

/// What is known about one item.
#[derive(Clone, Debug)]
pub struct ItemState {
    /// The item.
    pub id: ItemId,
    /// Its newest version.
    pub newest_seq: u32,
    /// Sync element id of the newest version (0 if only ever stored, never published).
    pub element: u64,
    /// Who published the newest version (`None` when it was only seen stored).
    pub publisher: Option<NodeId>,
    /// When the newest version was published.
    pub published_at: Option<Instant>,
    /// When the first version was published.
    pub first_published_at: Option<Instant>,
    /// Size of the newest version, bytes.
    pub size_bytes: u32,
    /// Versions published.
    pub versions_published: u32,
    /// Data frames one transfer of each published version takes, summed
    /// over the versions (the CDS bound's "frames per item").
    pub fragments_published: u64,
    /// Versions published: seq → publish time (for propagation latency).
    versions: BTreeMap<u32, Instant>,
    /// Nodes holding the newest version now.
    pub holders: u32,
    /// Data transmissions carrying any version of this item.
    pub data_frames: u64,
    /// Their airtime, µs.
    pub data_airtime_us: u64,
    /// Their LoRa payload bytes.
    pub data_bytes: u64,
}

/// What a `Published` record says about the version.
#[derive(Clone, Copy, Debug)]
pub struct PublishedVersion {
    /// The item.
    pub item: ItemId,
    /// Its version number.
    pub seq: u32,
    /// Its sync element.
    pub element: u64,
    /// Size of its bytes.
    pub size_bytes: u32,
    /// Data frames one transfer takes.
    pub fragments: u16,
}

/// One node's copy of one item: the version held and since when.
#[derive(Clone, Copy, Debug, Default)]
struct Held {
    seq: u32,
    since_us: u64,
}

/// Tracks items across all nodes as the trace streams past.
#[derive(Clone, Debug)]
pub struct ItemTracker {
    nodes: usize,
    items: Vec<ItemState>,
    index: BTreeMap<ItemId, usize>,
    /// Element id → item (lookups only).
    elements: FxHashMap<u64, usize>,
    /// Per node, per item index.
    held: Vec<Vec<Held>>,
    /// Per node: items whose newest version it holds.
    newest_held: Vec<u32>,
    /// Per node: first time it held every item's newest version since the
    /// last change of the item set or of a newest version.
    first_full: Vec<Option<Instant>>,
    latency: Histogram<u64>,
    timeline: Timeline,
    /// Holders of each item at the end of each finished bucket.
    snapshots: Vec<Vec<u32>>,
    /// The end of the bucket the next snapshot is taken at, µs
    /// (`u64::MAX` once every bucket has one): [`ItemTracker::advance`]
    /// runs for every record of the trace, so it compares with this only.
    next_snapshot_us: u64,
    overflow: bool,
}

impl ItemTracker {
    /// A tracker for `nodes` nodes over `timeline`.
    pub fn new(nodes: usize, timeline: Timeline) -> Self {
        ItemTracker {
            nodes,
            items: Vec::new(),
            index: BTreeMap::new(),
            elements: FxHashMap::default(),
            held: vec![Vec::new(); nodes],
            newest_held: vec![0; nodes],
            first_full: vec![None; nodes],
            latency: new_histogram(),
            timeline,
            snapshots: Vec::new(),
            next_snapshot_us: if timeline.buckets == 0 {
                u64::MAX
            } else {
                timeline.end_of_us(0)
            },
            overflow: false,
        }
    }

    /// Every item, in order of first appearance.
    pub fn items(&self) -> &[ItemState] {
        &self.items
    }

    /// Whether more than [`MAX_ITEMS`] items appeared (the rest were ignored).
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Publish → stored latency, µs, one value per `Stored` record of a
    /// published version.
    pub fn latency(&self) -> &Histogram<u64> {
        &self.latency
    }

    /// The first time `node` held the newest version of every item (after
    /// the last publication); `None` if never, or if nothing was published.
    pub fn converged_at(&self, node: usize) -> Option<Instant> {
        if self.items.is_empty() {
            None
        } else {
            self.first_full[node]
        }
    }

    /// Items `node` holds some version of.
    pub fn items_held(&self, node: usize) -> u32 {
        self.held[node].iter().filter(|h| h.seq > 0).count() as u32
    }

    /// Whether `node` holds item `i`'s newest version, and since when.
    pub fn holds_newest(&self, node: usize, i: usize) -> Option<Instant> {
        let h = self.held[node].get(i)?;
        (h.seq > 0 && h.seq >= self.items[i].newest_seq).then(|| Instant::from_micros(h.since_us))
    }

    /// When every node in `up` holds item `i`'s newest version (the latest
    /// of their acquisition times); `None` if some up node lacks it.
    pub fn completed_at(&self, i: usize, up: &[bool]) -> Option<Instant> {
        let mut last = Instant::ZERO;
        for (node, is_up) in up.iter().enumerate() {
            if *is_up {
                last = last.max(self.holds_newest(node, i)?);
            }
        }
        Some(last)
    }

    /// Holders of each item at the end of each bucket (the buckets not yet
    /// passed get the current state, which at the end of a run is final).
    pub fn coverage(&self) -> Vec<Vec<u32>> {
        let now: Vec<u32> = self.items.iter().map(|s| s.holders).collect();
        let mut out = self.snapshots.clone();
        out.resize(self.timeline.buckets, now);
        out
    }

    /// Brings the bucket snapshots up to instant `at` (called before the
    /// record at `at` is applied).
    #[inline]
    pub fn advance(&mut self, at: Instant) {
        if at.as_micros() > self.next_snapshot_us {
            self.take_snapshots(at.as_micros());
        }
    }

    /// Snapshots every bucket that ends before `t` µs.
    fn take_snapshots(&mut self, t: u64) {
        while self.snapshots.len() < self.timeline.buckets
            && t > self.timeline.end_of_us(self.snapshots.len())
        {
            self.snapshots
                .push(self.items.iter().map(|s| s.holders).collect());
        }
        self.next_snapshot_us = if self.snapshots.len() < self.timeline.buckets {
            self.timeline.end_of_us(self.snapshots.len())
        } else {
            u64::MAX
        };
    }

    /// A data frame started.
    pub fn on_data_tx(&mut self, subject: u64, airtime_us: u64, bytes: u16) {
        if let Some(&i) = self.elements.get(&subject) {
            let s = &mut self.items[i];
            s.data_frames += 1;
            s.data_airtime_us += airtime_us;
            s.data_bytes += u64::from(bytes);
        }
    }

    /// `node` published version `seq` of `item`.
    pub fn on_published(&mut self, at: Instant, node: NodeId, v: PublishedVersion) {
        let PublishedVersion {
            item,
            seq,
            element,
            size_bytes,
            fragments,
        } = v;
        let Some(i) = self.item_index(item) else {
            return;
        };
        self.elements.insert(element, i);
        let s = &mut self.items[i];
        if !s.versions.contains_key(&seq) {
            s.versions_published += 1;
            s.fragments_published += u64::from(fragments);
        }
        s.versions.entry(seq).or_insert(at);
        s.first_published_at.get_or_insert(at);
        if seq >= s.newest_seq {
            s.publisher = Some(node);
            s.published_at = Some(at);
            s.size_bytes = size_bytes;
            s.element = element;
        }
        self.raise_newest(i, seq);
        self.set_held(node.index(), i, seq, at);
    }

    /// `node` stored version `seq` of `item` received from the mesh.
    pub fn on_stored(&mut self, at: Instant, node: NodeId, item: ItemId, seq: u32, element: u64) {
        let Some(i) = self.item_index(item) else {
            return;
        };
        self.elements.entry(element).or_insert(i);
        if let Some(published) = self.items[i].versions.get(&seq) {
            self.latency
                .saturating_record((at - *published).as_micros().max(1));
        }
        if seq > self.items[i].newest_seq {
            self.items[i].element = element;
        }
        self.raise_newest(i, seq);
        self.set_held(node.index(), i, seq, at);
    }

    fn item_index(&mut self, item: ItemId) -> Option<usize> {
        if let Some(i) = self.index.get(&item) {
            return Some(*i);
        }
        if self.items.len() == MAX_ITEMS {
            self.overflow = true;
            return None;
        }
        let i = self.items.len();
        self.index.insert(item, i);
        self.items.push(ItemState {
            id: item,
            newest_seq: 0,
            element: 0,
            publisher: None,
            published_at: None,
            first_published_at: None,
            size_bytes: 0,
            versions_published: 0,
            fragments_published: 0,
            versions: BTreeMap::new(),
            holders: 0,
            data_frames: 0,
            data_airtime_us: 0,
            data_bytes: 0,
        });
        for h in &mut self.held {
            h.push(Held::default());
        }
        // A new item: nobody holds everything any more.
        self.first_full.iter_mut().for_each(|f| *f = None);
        Some(i)
    }

    /// Makes `seq` item `i`'s newest version if it is newer.
    fn raise_newest(&mut self, i: usize, seq: u32) {
        let old = self.items[i].newest_seq;
        if seq <= old {
            return;
        }
        let mut holders = 0;
        for n in 0..self.nodes {
            let h = self.held[n][i];
            let was = h.seq > 0 && h.seq >= old;
            let now = h.seq >= seq;
            if was && !now {
                self.newest_held[n] -= 1;
            }
            holders += u32::from(now);
            self.first_full[n] = None;
        }
        self.items[i].newest_seq = seq;
        self.items[i].holders = holders;
    }

    fn set_held(&mut self, node: usize, i: usize, seq: u32, at: Instant) {
        if node >= self.nodes {
            return;
        }
        let newest = self.items[i].newest_seq;
        let h = &mut self.held[node][i];
        if seq <= h.seq {
            return;
        }
        let was = h.seq > 0 && h.seq >= newest;
        *h = Held {
            seq,
            since_us: at.as_micros(),
        };
        if !was && seq >= newest {
            self.newest_held[node] += 1;
            self.items[i].holders += 1;
            if self.newest_held[node] as usize == self.items.len() {
                self.first_full[node].get_or_insert(at);
            }
        }
    }
}
