//! Catalogue sync over the mesh: every node's catalogue of manifests and
//! facilities converges, spending as little airtime as it can.
//!
//! # Protocol
//!
//! Every node's catalogue is a set of 64-bit [`Element`]s, one per item: a
//! hash of the item's current version ([`element_of`]). A node advertises
//! its set on a Trickle timer with a **summary**: the set's [`Fingerprint`],
//! its size, and the first syndrome of its set sketch — enough for a
//! neighbour that lacks one new item to identify it with no further frame
//! (19 bytes in all).
//!
//! A node that hears a summary unlike its own resets its Trickle timer (so
//! its own summary goes out soon) and XORs the neighbour's syndromes into
//! its own. If the result decodes into a difference that explains the
//! neighbour's fingerprint, it knows exactly which elements the neighbour
//! holds that it lacks. If not, it sends a **sketch request** for more
//! syndromes — growing the capacity by half each time — and the neighbour
//! broadcasts them in **sketch** frames that every other neighbour can use
//! too, since a sketch describes the sender's set alone.
//!
//! A difference one sketch cannot decode (a late joiner missing thousands
//! of items, two halves of a long partition) is reconciled by **buckets**
//! of the element space instead: a **bucket request** asks the neighbour
//! for its element count per fine bucket (**bucket counts**), the counts
//! size one sketch per coarser bucket, and **bucket sketch** frames carry
//! them; a bucket that does not decode is extended, and split if it must.
//! The cost stays near the 8 bytes per difference of the bound (measured
//! in `partition_tests`), and no size of difference stops sync.
//!
//! Missing elements are asked for with a **want** addressed to one holder
//! (sent after a random delay; a node that overhears a want for the same
//! element to a holder it can hear waits for the data instead). The holder
//! broadcasts the item as **data** fragments of a compressed stream, and
//! every neighbour that lacks it takes the same transmission. Lost
//! fragments are asked for again by bitmap. A node never pushes data
//! nobody asked for, so an item crosses the mesh roughly along a dominating
//! set of the nodes that needed it.
//!
//! Items move neighbour to neighbour (hop limit 0): relaying them through
//! the Meshtastic flood would re-send every fragment from every relay.
//!
//! With [`Strategy::Flood`] (the baseline to beat) there are no summaries
//! or wants: every node broadcasts every new item it gets, once.
//!
//! A received stream is decompressed, parsed, and its item id and content
//! id recomputed; it is stored only if they hash to the element that was
//! asked for and its publisher's signature verifies for the design its key
//! owns (`identity::Authorship`), so a corrupt, tampered or forged
//! transfer is dropped ([`RejectReason`]). A version older than the one
//! held (a replay) is dropped too, and so is one signed by a key the
//! node's [`TrustPolicy`] refuses.
//!
//! # Bounded peers
//!
//! Only data that was asked for is stored: a stream whose element this
//! node does not want (learnt from reconciliation) is kept, unverified and
//! bounded, among the partial transfers until it is wanted or times out —
//! so an overheard broadcast of an element found missing a moment later
//! still counts — and is never stored otherwise. Frames per neighbour and
//! versions and bytes per publisher key are bounded per window (`quota`);
//! the excess is dropped and counted.
//!
//! # Modules
//!
//! [`SyncEngine`] (here) ties the sub-states together and is what
//! [`Node`](crate::Node) drives:
//!
//! * `config` — [`Strategy`] and [`SyncConfig`];
//! * `elements` — the element set, its fingerprint and [`element_of`];
//! * `reconcile` — summaries, sketch requests and replies, decoding;
//! * `partition` over [`Bucket`] — sessions of bucket counts and bucket
//!   sketches for differences of any size, and their limits;
//! * `transfer` — wants, serving, partial streams, verification;
//! * `outbox` — sync's queue in front of the radio, priorities and
//!   channel-utilisation gating;
//! * [`trickle`] — RFC 6206 timers;
//! * [`sketch`] over [`gf64`] — set sketches that find `d` differences in
//!   about `8·d` bytes;
//! * [`compress`] — zstd with a dictionary trained on the corpus.
//!
//! The frames themselves are [`crate::wire::SyncFrame`]s.

mod bucket;
pub mod compress;
mod config;
mod elements;
pub mod gf64;
mod outbox;
mod partition;
mod quota;
mod reconcile;
pub mod sketch;
mod stream;
mod transfer;
pub mod trickle;

#[cfg(test)]
mod partition_tests;
#[cfg(test)]
pub(crate) mod tests;

pub use crate::wire::MAX_FRAGMENTS;
pub use bucket::{Bucket, MAX_BUCKET_DEPTH};
pub use config::{Strategy, SyncConfig};
pub use elements::{Element, Fingerprint, element_of};
pub(crate) use outbox::channel_busy;
pub use quota::{MAX_TRACKED, QuotaConfig};
pub use reconcile::{MAX_SUMMARY_SYNDROMES, SUMMARY_SYNDROMES};
pub use stream::{RejectReason, encode_stream};
pub use transfer::data_frames;
pub use trickle::TrickleConfig;

use catalogue::ItemId;

use crate::id::NodeId;
use crate::identity::{PublicKey, TrustPolicy};
use crate::rng::Rng;
use crate::store::{Storage, Store, StoredItem, VersionStamp};
use crate::time::{Duration, Instant};
use crate::transport::{RxFrame, Transport};
use crate::wire::SyncFrame;
use elements::ElementSet;
use outbox::Outbox;
use quota::Quotas;
use reconcile::Reconciler;
use transfer::Transfers;
use trickle::Trickle;

/// What sync reports to the node.
#[derive(Clone, PartialEq, Debug)]
pub enum SyncEvent {
    /// An item version from the mesh became current here.
    Stored {
        /// The item.
        item: ItemId,
        /// Its version.
        stamp: VersionStamp,
        /// Its sync element.
        element: Element,
    },
    /// A transfer was dropped: it did not verify.
    Rejected {
        /// The element asked for.
        element: Element,
        /// Why.
        reason: RejectReason,
    },
}

/// Counters.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SyncStats {
    /// Summaries sent.
    pub summaries_sent: u64,
    /// Differences decoded from sketches.
    pub decodes: u64,
    /// Sketch decodes that needed more syndromes.
    pub decode_misses: u64,
    /// Syndromes the successful decodes used (8 bytes each on air).
    pub syndromes_used: u64,
    /// Want frames sent.
    pub wants_sent: u64,
    /// Sketch requests sent.
    pub sketch_requests_sent: u64,
    /// Sketch frames sent.
    pub sketches_sent: u64,
    /// Data frames queued.
    pub data_sent: u64,
    /// Items stored from the mesh.
    pub items_received: u64,
    /// Transfers that failed verification (every reason).
    pub rejected: u64,
    /// Of those, versions whose signature or ownership did not verify
    /// (forged or tampered).
    pub forged: u64,
    /// Of those, versions older than the one held (replays).
    pub stale: u64,
    /// Of those, versions signed by a key the trust policy refuses.
    pub untrusted: u64,
    /// Complete transfers of elements nobody here asked for (kept aside
    /// until wanted, never stored otherwise).
    pub unsolicited: u64,
    /// Sync frames dropped because their sender was over its quota.
    pub frames_over_quota: u64,
    /// Versions dropped because their publisher key was over its quota.
    pub items_over_quota: u64,
    /// Partitioned reconciliation sessions opened (differences one sketch
    /// could not decode).
    pub sessions_opened: u64,
    /// Of those, sessions given up (unanswered, or not explaining the
    /// neighbour's set); the next summary starts over.
    pub sessions_failed: u64,
    /// Sessions that reconciled only part of a difference larger than
    /// their memory bound (the rest is left to the next session).
    pub sessions_truncated: u64,
    /// Bucket requests sent.
    pub bucket_requests_sent: u64,
    /// Bucket count and bucket sketch frames sent.
    pub bucket_frames_sent: u64,
    /// Parts of bucket requests not answered: over what a node owes at once.
    pub bucket_asks_dropped: u64,
}

/// A node's sync machinery. Owned by [`crate::Node`], which passes it the
/// store and the transport; it follows the same sans-IO contract (inputs
/// through `handle_*`, the next deadline from [`SyncEngine::poll_timeout`],
/// events from [`SyncEngine::take_events`]).
#[derive(Debug)]
pub struct SyncEngine {
    me: NodeId,
    config: SyncConfig,
    /// One stream for every random delay sync draws, in protocol order.
    rng: Rng,
    /// The summary timer (only with [`Strategy::Reconcile`]).
    trickle: Option<Trickle>,
    set: ElementSet,
    reconcile: Reconciler,
    transfer: Transfers,
    outbox: Outbox,
    /// Which publisher keys are accepted.
    trust: TrustPolicy,
    /// This node's publisher key (always accepted, never bounded).
    own_key: PublicKey,
    /// Publisher keys of the versions the store held at start: "already
    /// known", so `refuse_unknown` does not refuse them.
    known_keys: std::collections::BTreeSet<PublicKey>,
    quotas: Quotas,
    events: Vec<SyncEvent>,
    stats: SyncStats,
}

impl SyncEngine {
    /// Sync for node `me`, whose store already holds `store`'s items, which
    /// accepts versions under `trust` and publishes with `own_key`.
    pub fn new<S: Storage>(
        me: NodeId,
        config: SyncConfig,
        trust: TrustPolicy,
        own_key: PublicKey,
        store: &Store<S>,
        mut rng: Rng,
        now: Instant,
    ) -> Self {
        let mut set = ElementSet::default();
        // Unsigned versions (stored before items were signed) are kept but
        // never offered: no neighbour could verify them.
        for item in store.items().filter(|i| i.author.is_some()) {
            set.insert(
                element_of(item.kind, item.id, item.stamp),
                item.id,
                Instant::ZERO,
            );
        }
        let trickle = (config.strategy == Strategy::Reconcile)
            .then(|| Trickle::new(config.trickle, now, &mut rng));
        SyncEngine {
            me,
            config,
            rng,
            trickle,
            set,
            reconcile: Reconciler::default(),
            transfer: Transfers::default(),
            outbox: Outbox::new(config.max_outbox),
            trust,
            own_key,
            known_keys: store
                .items()
                .filter_map(|i| i.author.map(|a| a.publisher))
                .collect(),
            quotas: Quotas::default(),
            events: Vec::new(),
            stats: SyncStats::default(),
        }
    }

    /// Counters since start.
    pub fn stats(&self) -> SyncStats {
        self.stats
    }

    /// Frames dropped per neighbour over its quota, since start.
    pub fn frames_dropped_by_peer(&self) -> impl Iterator<Item = (NodeId, u64)> + '_ {
        self.quotas.frames_dropped.iter().map(|(k, v)| (*k, *v))
    }

    /// Versions dropped per publisher key over its quota, since start.
    pub fn items_dropped_by_key(&self) -> impl Iterator<Item = (PublicKey, u64)> + '_ {
        self.quotas.items_dropped.iter().map(|(k, v)| (*k, *v))
    }

    /// The set's fingerprint and size.
    pub fn summary(&self) -> (Fingerprint, u32) {
        (self.set.fingerprint(), self.set.len())
    }

    /// A local item version became current (published here). Returns its
    /// element and how many data frames of `max_payload_bytes` carry it.
    pub fn local_item<S: Storage>(
        &mut self,
        now: Instant,
        item: &StoredItem,
        store: &Store<S>,
        max_payload_bytes: usize,
    ) -> (Element, u16) {
        let element = element_of(item.kind, item.id, item.stamp);
        self.set.insert(element, item.id, now);
        self.reconcile.note_added(now);
        let fragments =
            self.stream(element, store)
                .map_or(0, |s| transfer::cut(s.len(), max_payload_bytes).1) as u16;
        self.transfer.forget_want(element);
        if let Some(t) = self.trickle.as_mut() {
            t.hear_inconsistent(now, &mut self.rng);
        }
        if self.config.strategy == Strategy::Flood {
            self.serve(now, element, Duration::ZERO);
        }
        (element, fragments)
    }

    /// Handles a sync frame from a neighbour.
    pub fn handle_frame<S: Storage, T: Transport>(
        &mut self,
        now: Instant,
        rx: &RxFrame<'_>,
        frame: SyncFrame<'_>,
        store: &mut Store<S>,
        tx: &mut T,
    ) {
        if self.config.strategy == Strategy::Off {
            return;
        }
        let from = rx.from;
        if !self.quotas.admit_frame(now, from, &self.config.quota) {
            self.stats.frames_over_quota += 1;
            return;
        }
        match frame {
            SyncFrame::Summary {
                fingerprint,
                count,
                syndromes,
            } => self.on_summary(now, from, fingerprint, count, syndromes),
            SyncFrame::SketchRequest {
                target,
                fingerprint,
                first,
                count,
            } => self.on_sketch_request(now, target, fingerprint, first, count),
            SyncFrame::Sketch {
                fingerprint,
                count,
                first,
                syndromes,
            } => self.on_sketch(now, from, fingerprint, count, first, syndromes),
            SyncFrame::Want { target, wants } => self.on_want(now, target, &wants),
            SyncFrame::Data {
                element,
                index,
                total,
                chunk,
            } => self.on_data(now, element, index, total, chunk, store),
            SyncFrame::BucketRequest {
                target,
                fingerprint,
                counts,
                asks,
            } => self.on_bucket_request(now, target, fingerprint, counts, &asks),
            SyncFrame::BucketCounts {
                fingerprint,
                depth,
                from: first,
                counts,
            } => self.on_bucket_counts(now, from, fingerprint, depth, first, &counts),
            SyncFrame::BucketSketch { fingerprint, runs } => {
                self.on_bucket_sketch(now, from, fingerprint, &runs)
            }
        }
        self.finish_ready(now, store);
        self.outbox.flush(now, tx);
    }

    /// Does whatever is due at `now`.
    pub fn handle_timeout<S: Storage, T: Transport>(
        &mut self,
        now: Instant,
        store: &mut Store<S>,
        tx: &mut T,
    ) {
        let busy = outbox::channel_busy(tx);
        if let Some(t) = self.trickle.as_mut()
            && now >= t.poll_timeout()
            && t.handle_timeout(now, &mut self.rng)
            && !busy
        {
            // On a busy channel the summary is skipped, as if suppressed.
            self.send_summary(now);
        }
        self.send_due_sketch_requests(now);
        self.send_due_sketch_reply(now);
        self.send_due_bucket_request(now);
        self.send_due_bucket_reply(now);
        self.finish_ready(now, store);
        self.send_due_wants(now);
        self.send_due_data(now, store, tx);
        self.transfer
            .expire_partials(now, self.config.partial_timeout);
        self.outbox.clear_retry();
        self.outbox.flush(now, tx);
    }

    /// When sync next needs [`SyncEngine::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        let config = &self.config;
        [
            self.trickle.as_ref().map(Trickle::poll_timeout),
            self.transfer
                .poll_timeout(config.want_timeout, config.partial_timeout),
            self.reconcile.poll_timeout(config.want_timeout),
            self.outbox.retry_at(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Takes the events produced since the last call.
    pub fn take_events(&mut self) -> Vec<SyncEvent> {
        std::mem::take(&mut self.events)
    }

    /// A random delay in `0..max`.
    fn jitter(&mut self, max: Duration) -> Duration {
        Duration::from_micros(self.rng.below(max.as_micros().max(1)))
    }
}
