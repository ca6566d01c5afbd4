//! The sync state machine: Trickle summaries, sketch reconciliation,
//! wants and data, with overhearing doing most of the work.
//!
//! # Protocol
//!
//! Every node's catalogue is a set of 64-bit *elements*, one per item: a
//! hash of the item's current version ([`element_of`]). A node advertises
//! its set on a Trickle timer with a **summary**: the set's fingerprint
//! (a sum of mixed elements), its size, and the first syndrome of its set
//! sketch — enough for a neighbour that lacks one new item to identify it
//! with no further frame (19 bytes in all).
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
//! # Verification
//!
//! A received stream is decompressed, parsed, and its item id and content
//! id recomputed; it is stored only if they hash to the element that was
//! asked for, so a corrupt or forged transfer is dropped.

use std::collections::BTreeMap;

use super::compress;
use super::sketch;
use super::trickle::{Trickle, TrickleConfig};
use crate::id::NodeId;
use crate::rng::{Rng, mix64};
use crate::store::{Change, Storage, Store, StoredItem, VersionStamp};
use crate::time::{Duration, Instant};
use crate::transport::{Destination, OutFrame, Priority, RxFrame, SendError, Transport};
use crate::wire::{self, DATA_OVERHEAD, FrameRepr, MAX_WANTS_PER_FRAME, Syndromes};
use catalogue::{Format, ItemId, ItemKind, identify};

/// Syndromes a summary carries when the set has not changed lately:
/// capacity 1, so a neighbour that lacks one new item identifies it from
/// the summary alone (8 bytes), and an in-sync summary stays under 40 bytes.
pub const SUMMARY_SYNDROMES: usize = 1;

/// Most syndromes a summary carries while the set is changing: one more
/// than the elements added lately, so that during dissemination neighbours
/// decode small differences straight from summaries instead of asking.
pub const MAX_SUMMARY_SYNDROMES: usize = 8;

/// How long an added element counts as "lately" for the summary's size.
const RECENT_WINDOW: Duration = Duration::from_secs(600);

/// Most fragments one item's stream may have (the want bitmap is 64 bits).
pub const MAX_FRAGMENTS: usize = 64;

/// Most syndromes one sketch frame carries.
const SYNDROMES_PER_FRAME: usize = 27;

/// How items spread.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Strategy {
    /// Trickle summaries, sketch reconciliation, wants and data.
    Reconcile,
    /// Blind flooding: every node broadcasts every new item once.
    Flood,
    /// No sync: the node keeps what it publishes and sends nothing.
    Off,
}

/// Sync's parameters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SyncConfig {
    /// How items spread.
    pub strategy: Strategy,
    /// Summary timer.
    pub trickle: TrickleConfig,
    /// Longest random delay before asking (spreads out requests from
    /// neighbours that noticed the same difference).
    pub ask_jitter: Duration,
    /// Delay before serving a want, to batch wants from several neighbours.
    pub serve_delay: Duration,
    /// Ask again (for what is still missing) after this long without data.
    pub want_timeout: Duration,
    /// Data of items this recent goes before older catch-up.
    pub fresh_window: Duration,
    /// Frames the node queues itself when the radio's queue is full.
    pub max_outbox: usize,
    /// Item transfers being reassembled at once.
    pub max_partials: usize,
    /// Drop a half-received item after this long without a fragment.
    pub partial_timeout: Duration,
    /// Largest item accepted from the air, in bytes.
    pub max_item_bytes: usize,
}

impl Default for SyncConfig {
    /// Tuned for LongFast meshes of a few hundred nodes: Imin 3 min,
    /// Imax 32 min, k = 1.
    fn default() -> Self {
        SyncConfig {
            strategy: Strategy::Reconcile,
            trickle: TrickleConfig {
                imin: Duration::from_secs(180),
                imax: Duration::from_secs(32 * 60),
                k: 1,
            },
            ask_jitter: Duration::from_secs(8),
            serve_delay: Duration::from_secs(6),
            want_timeout: Duration::from_secs(60),
            fresh_window: Duration::from_secs(600),
            max_outbox: 128,
            max_partials: 32,
            partial_timeout: Duration::from_secs(900),
            max_item_bytes: 64 << 10,
        }
    }
}

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
        element: u64,
    },
    /// A transfer was dropped: it did not verify.
    Rejected {
        /// The element asked for.
        element: u64,
        /// Why.
        reason: String,
    },
}

/// The sync element of an item version: 64 bits of a keyed BLAKE3 hash of
/// its kind, id and stamp, never zero (sketches cannot hold zero).
pub fn element_of(kind: ItemKind, id: ItemId, stamp: VersionStamp) -> u64 {
    let mut h = blake3::Hasher::new_derive_key("okmesh 2026-11 sync element v1");
    h.update(&[kind as u8]);
    h.update(&id.0);
    h.update(&stamp.seq.to_le_bytes());
    h.update(&stamp.content.0);
    let v = u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes"));
    v.max(1)
}

/// The set of elements a node holds, with its fingerprint and the first
/// syndromes of its sketch kept up to date incrementally.
#[derive(Clone, Debug, Default)]
struct ElementSet {
    elements: BTreeMap<u64, (ItemId, Instant)>,
    by_item: BTreeMap<ItemId, u64>,
    fingerprint: u64,
    head: [u64; SUMMARY_SYNDROMES],
    /// Longer sketches, cached for the current fingerprint.
    cache: Option<(u64, Vec<u64>)>,
}

impl ElementSet {
    /// Makes `element` the current version of `item` (replacing the old one).
    fn insert(&mut self, element: u64, item: ItemId, at: Instant) {
        match self.by_item.insert(item, element) {
            Some(old) if old == element => return,
            Some(old) => {
                self.elements.remove(&old);
                self.toggle(old, false);
            }
            None => {}
        }
        self.elements.insert(element, (item, at));
        self.toggle(element, true);
    }

    /// Updates the fingerprint (a sum of mixed elements) and the sketch head
    /// (adding and removing are the same XOR there).
    fn toggle(&mut self, element: u64, added: bool) {
        let m = mix64(element);
        self.fingerprint = if added {
            self.fingerprint.wrapping_add(m)
        } else {
            self.fingerprint.wrapping_sub(m)
        };
        sketch::add_syndromes(&mut self.head, 0, [element]);
        self.cache = None;
    }

    fn syndromes(&mut self, count: usize) -> Vec<u64> {
        if count <= SUMMARY_SYNDROMES {
            return self.head[..count].to_vec();
        }
        match &self.cache {
            Some((fp, s)) if *fp == self.fingerprint && s.len() >= count => s[..count].to_vec(),
            _ => {
                let want = count
                    .next_power_of_two()
                    .min(sketch::MAX_CAPACITY)
                    .max(count);
                let s = sketch::syndromes(self.elements.keys().copied(), want);
                self.cache = Some((self.fingerprint, s.clone()));
                s[..count].to_vec()
            }
        }
    }

    fn len(&self) -> u32 {
        self.elements.len() as u32
    }
}

/// A neighbour as we know it from its summaries and sketches.
#[derive(Clone, Debug)]
struct Peer {
    fingerprint: u64,
    count: u32,
    syndromes: Vec<u64>,
    last_heard: Instant,
    resolved: bool,
    /// Syndromes needed to try decoding again (0: none needed).
    needs: usize,
    /// A sketch request we will send (or have sent): syndromes up to `upto`.
    request: Option<SketchAsk>,
    /// The last sketch difference decoded with this neighbour and its result.
    /// Decoding is a pure function of the difference, and a neighbour that
    /// is still different is decoded again at each of its summaries: with
    /// nothing changed on either side that costs a comparison, not a decode.
    last_decode: Option<LastDecode>,
}

/// A sketch difference and what decoding it gave.
#[derive(Clone, Debug)]
struct LastDecode {
    diff: Vec<u64>,
    result: Result<Vec<u64>, sketch::DecodeError>,
}

#[derive(Clone, Copy, Debug)]
struct SketchAsk {
    upto: usize,
    due: Instant,
    /// When it was sent (or overheard from someone else); asked again if
    /// no answer came within the want timeout.
    sent: Option<Instant>,
}

#[derive(Clone, Debug)]
struct Wanted {
    /// Neighbours known to hold it, most recently learnt first.
    holders: Vec<NodeId>,
    due: Instant,
    asked: Option<(NodeId, Instant)>,
    attempts: u32,
}

#[derive(Clone, Copy, Debug)]
struct Serving {
    fragments: u64,
    due: Instant,
}

#[derive(Clone, Debug)]
struct Partial {
    chunks: Vec<Option<Vec<u8>>>,
    received: usize,
    last_progress: Instant,
}

/// Most neighbours remembered.
const MAX_PEERS: usize = 256;
/// Most elements wanted at once.
const MAX_WANTED: usize = 4096;
/// How long an overheard want for an element keeps us from asking for it.
const OVERHEARD_WANT_HOLD: Duration = Duration::from_secs(30);
/// Elements asked for and not yet received, at most.
const WANT_WINDOW: usize = 8;

/// The time to wait for data after the `attempts`-th want: longer with
/// each retry (up to four times the base), so a congested holder is not
/// asked faster than it can answer.
fn want_timeout(base: Duration, attempts: u32) -> Duration {
    base.saturating_mul(u64::from(attempts.min(3)) + 1)
}

/// Requests for one element before it is given up.
const MAX_WANT_ATTEMPTS: u32 = 12;
/// How often to try the radio again when its queue was full.
const FLUSH_RETRY: Duration = Duration::from_secs(2);

/// Channel utilisation above which only urgent sync frames go out and no
/// summary is sent (Meshtastic's "polite" level for optional traffic).
const POLITE_UTILISATION_PCT: f64 = 25.0;

/// Channel utilisation above which no sync frame goes out at all
/// (Meshtastic stops optional traffic at 40 %).
const HOLD_UTILISATION_PCT: f64 = 40.0;

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
    /// Transfers that failed verification.
    pub rejected: u64,
}

/// A node's sync machinery. Owned by [`crate::Node`], which passes it the
/// store and the transport.
#[derive(Debug)]
pub struct Sync {
    me: NodeId,
    config: SyncConfig,
    rng: Rng,
    trickle: Option<Trickle>,
    set: ElementSet,
    peers: BTreeMap<NodeId, Peer>,
    wanted: BTreeMap<u64, Wanted>,
    overheard: BTreeMap<u64, Instant>,
    serving: BTreeMap<u64, Serving>,
    sketch_reply: Option<(usize, usize, Instant)>,
    partials: BTreeMap<u64, Partial>,
    streams: BTreeMap<u64, Vec<u8>>,
    /// Data fragments in the outbox, so a repeated want does not queue them twice.
    queued_data: std::collections::BTreeSet<(u64, u8)>,
    /// When elements were added lately (bounded by the largest summary).
    recent: std::collections::VecDeque<Instant>,
    outbox: BTreeMap<(std::cmp::Reverse<Priority>, u64), OutFrame>,
    next_seq: u64,
    retry_at: Option<Instant>,
    events: Vec<SyncEvent>,
    stats: SyncStats,
}

impl Sync {
    /// Sync for node `me`, whose store already holds `store`'s items.
    pub fn new<S: Storage>(
        me: NodeId,
        config: SyncConfig,
        store: &Store<S>,
        mut rng: Rng,
        now: Instant,
    ) -> Self {
        let mut set = ElementSet::default();
        for item in store.items() {
            set.insert(
                element_of(item.kind, item.id, item.stamp),
                item.id,
                Instant::ZERO,
            );
        }
        let trickle = (config.strategy == Strategy::Reconcile)
            .then(|| Trickle::new(config.trickle, now, &mut rng));
        Sync {
            me,
            config,
            rng,
            trickle,
            set,
            peers: BTreeMap::new(),
            wanted: BTreeMap::new(),
            overheard: BTreeMap::new(),
            serving: BTreeMap::new(),
            sketch_reply: None,
            partials: BTreeMap::new(),
            streams: BTreeMap::new(),
            recent: std::collections::VecDeque::new(),
            queued_data: std::collections::BTreeSet::new(),
            outbox: BTreeMap::new(),
            next_seq: 0,
            retry_at: None,
            events: Vec::new(),
            stats: SyncStats::default(),
        }
    }

    /// Counters since start.
    pub fn stats(&self) -> SyncStats {
        self.stats
    }

    /// The set's fingerprint and size.
    pub fn summary(&self) -> (u64, u32) {
        (self.set.fingerprint, self.set.len())
    }

    /// Takes the events produced since the last call.
    pub fn take_events(&mut self) -> Vec<SyncEvent> {
        std::mem::take(&mut self.events)
    }

    /// A local item version became current (published here). Returns its
    /// element and how many data frames of `max_payload_bytes` carry it.
    pub fn local_item<S: Storage>(
        &mut self,
        now: Instant,
        item: &StoredItem,
        store: &Store<S>,
        max_payload_bytes: usize,
    ) -> (u64, u16) {
        let element = element_of(item.kind, item.id, item.stamp);
        self.set.insert(element, item.id, now);
        self.note_recent(now);
        let chunk = max_payload_bytes.saturating_sub(DATA_OVERHEAD).max(1);
        let fragments = self
            .stream(element, store)
            .map_or(0, |s| s.len().div_ceil(chunk)) as u16;
        self.wanted.remove(&element);
        if let Some(t) = self.trickle.as_mut() {
            t.hear_inconsistent(now, &mut self.rng);
        }
        if self.config.strategy == Strategy::Flood {
            self.serve(now, element, 0, Duration::ZERO);
        }
        (element, fragments)
    }

    /// When sync next needs [`Sync::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next = self.trickle.as_ref().map(Trickle::poll_timeout);
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        let in_flight = self.wanted.values().filter(|w| w.asked.is_some()).count();
        for w in self.wanted.values() {
            match w.asked {
                Some((_, at)) => consider(at + want_timeout(self.config.want_timeout, w.attempts)),
                // Waiting ones wake when due, unless the window is full (an
                // arrival or a timeout frees it).
                None if in_flight < WANT_WINDOW => consider(w.due),
                None => {}
            }
        }
        for s in self.serving.values() {
            consider(s.due);
        }
        for p in self.peers.values() {
            if let Some(a) = p.request {
                consider(a.sent.map_or(a.due, |at| at + self.config.want_timeout));
            }
        }
        if let Some((_, _, due)) = self.sketch_reply {
            consider(due);
        }
        for p in self.partials.values() {
            consider(p.last_progress + self.config.partial_timeout);
        }
        if let Some(t) = self.retry_at {
            consider(t);
        }
        next
    }

    /// Does whatever is due at `now`.
    pub fn handle_timeout<S: Storage, T: Transport>(
        &mut self,
        now: Instant,
        store: &mut Store<S>,
        tx: &mut T,
    ) {
        let busy = tx.channel_utilisation_pct().unwrap_or(0.0) >= POLITE_UTILISATION_PCT;
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
        self.send_due_wants(now);
        self.send_due_data(now, store, tx);
        let timeout = self.config.partial_timeout;
        self.partials.retain(|_, p| now < p.last_progress + timeout);
        self.retry_at = None;
        self.flush(now, tx);
    }

    /// Handles a sync frame from a neighbour.
    pub fn handle_frame<S: Storage, T: Transport>(
        &mut self,
        now: Instant,
        rx: &RxFrame<'_>,
        repr: FrameRepr<'_>,
        store: &mut Store<S>,
        tx: &mut T,
    ) {
        if self.config.strategy == Strategy::Off {
            return;
        }
        let from = rx.from;
        match repr {
            FrameRepr::Summary {
                fingerprint,
                count,
                syndromes,
            } => self.on_summary(now, from, fingerprint, count, syndromes),
            FrameRepr::SketchRequest {
                target,
                fingerprint,
                first,
                count,
            } => self.on_sketch_request(now, from, target, fingerprint, first, count),
            FrameRepr::Sketch {
                fingerprint,
                count,
                first,
                syndromes,
            } => self.on_sketch(now, from, fingerprint, count, first, syndromes),
            FrameRepr::Want { target, wants } => self.on_want(now, target, &wants),
            FrameRepr::Data {
                element,
                index,
                total,
                chunk,
            } => self.on_data(now, element, index, total, chunk, store),
            FrameRepr::Chat { .. } => {}
        }
        self.flush(now, tx);
    }

    // ---- summaries and sketches ------------------------------------

    fn send_summary(&mut self, now: Instant) {
        if self.config.strategy != Strategy::Reconcile {
            return;
        }
        while self
            .recent
            .front()
            .is_some_and(|t| now.saturating_since(*t) > RECENT_WINDOW)
        {
            self.recent.pop_front();
        }
        let k = (self.recent.len() + SUMMARY_SYNDROMES).min(MAX_SUMMARY_SYNDROMES);
        let syndromes = self.set.syndromes(k);
        let head = wire::syndrome_bytes(&syndromes);
        let frame = FrameRepr::Summary {
            fingerprint: self.set.fingerprint,
            count: self.set.len(),
            syndromes: Syndromes::from_bytes(&head).expect("whole syndromes"),
        };
        self.stats.summaries_sent += 1;
        self.queue(frame.encode(), Priority::High);
    }

    fn on_summary(
        &mut self,
        now: Instant,
        from: NodeId,
        fingerprint: u64,
        count: u32,
        syndromes: Syndromes<'_>,
    ) {
        if self.config.strategy != Strategy::Reconcile {
            return;
        }
        if !self.peers.contains_key(&from) && self.peers.len() >= MAX_PEERS {
            // Forget the neighbour heard from longest ago.
            if let Some(oldest) = self
                .peers
                .iter()
                .min_by_key(|(id, p)| (p.last_heard, **id))
                .map(|(id, _)| *id)
            {
                self.peers.remove(&oldest);
            }
        }
        let peer = self.peers.entry(from).or_insert_with(|| Peer {
            fingerprint: !fingerprint,
            count,
            syndromes: Vec::new(),
            last_heard: now,
            resolved: false,
            needs: 0,
            request: None,
            last_decode: None,
        });
        peer.last_heard = now;
        peer.count = count;
        if peer.fingerprint != fingerprint {
            peer.fingerprint = fingerprint;
            peer.syndromes = syndromes.iter().collect();
            peer.resolved = false;
            peer.needs = 0;
            peer.request = None;
        }
        if fingerprint == self.set.fingerprint {
            peer.resolved = true;
            if let Some(t) = self.trickle.as_mut() {
                t.hear_consistent();
            }
            return;
        }
        // Still different from a neighbour we had worked out: decode again
        // (cheap, from the syndromes we kept) so that wants given up on
        // are made again.
        if peer.resolved {
            peer.resolved = false;
        }
        let idle = peer.request.is_none();
        // Our summary helps a neighbour that may lack what we hold; one that
        // is strictly ahead of us needs nothing from us (if the difference
        // turns out two-sided, decoding it resets the timer then).
        if count <= self.set.len()
            && let Some(t) = self.trickle.as_mut()
        {
            t.hear_inconsistent(now, &mut self.rng);
        }
        if idle {
            self.try_resolve(now, from);
        }
    }

    /// Tries to decode the difference with `peer` from the syndromes
    /// collected; asks for more if that fails.
    fn try_resolve(&mut self, now: Instant, from: NodeId) {
        let Some(peer) = self.peers.get(&from) else {
            return;
        };
        if peer.resolved || peer.syndromes.is_empty() {
            return;
        }
        let theirs = peer.syndromes.clone();
        let (their_fp, their_count) = (peer.fingerprint, peer.count);
        let mine = self.set.syndromes(theirs.len());
        let diff: Vec<u64> = theirs.iter().zip(&mine).map(|(a, b)| a ^ b).collect();
        let decoded = match &peer.last_decode {
            Some(last) if last.diff == diff => last.result.clone(),
            _ => {
                let result = sketch::decode(&diff);
                if let Some(p) = self.peers.get_mut(&from) {
                    p.last_decode = Some(LastDecode {
                        diff,
                        result: result.clone(),
                    });
                }
                result
            }
        };
        if let Ok(elements) = decoded {
            // The difference must explain the neighbour's fingerprint.
            let mut fp = self.set.fingerprint;
            let mut missing = Vec::new();
            for e in &elements {
                if self.set.elements.contains_key(e) {
                    fp = fp.wrapping_sub(mix64(*e));
                } else {
                    fp = fp.wrapping_add(mix64(*e));
                    missing.push(*e);
                }
            }
            if fp == their_fp {
                self.stats.decodes += 1;
                self.stats.syndromes_used += theirs.len() as u64;
                if let Some(p) = self.peers.get_mut(&from) {
                    p.resolved = true;
                    p.needs = 0;
                    p.request = None;
                }
                if missing.len() < elements.len() {
                    // The neighbour lacks some of ours: tell it soon.
                    if let Some(t) = self.trickle.as_mut() {
                        t.hear_inconsistent(now, &mut self.rng);
                    }
                }
                for e in missing {
                    self.want(now, e, from);
                }
                return;
            }
        }
        self.stats.decode_misses += 1;
        // Ask for more: at least as many as the sets' sizes differ by (all a
        // one-sided difference needs), else half as many again.
        let have = theirs.len();
        let size_gap = their_count.abs_diff(self.set.len()) as usize;
        let upto = if size_gap > have {
            size_gap
        } else {
            have + have.div_ceil(2)
        }
        .min(sketch::MAX_CAPACITY);
        if upto <= have {
            return; // beyond what sketches can do; the summary exchange will retry
        }
        if let Some(p) = self.peers.get_mut(&from) {
            p.needs = upto;
            p.request = None;
        }
        self.schedule_request(now);
    }

    /// Reconciles with one neighbour at a time: if no sketch request is
    /// outstanding, asks the neighbour most likely to hold what we lack (the
    /// largest set, then the most recently heard) for the syndromes it
    /// needs. A neighbour with fewer items than us is left to pull from us.
    fn schedule_request(&mut self, now: Instant) {
        if self.peers.values().any(|p| p.request.is_some()) {
            return;
        }
        let mine = self.set.len();
        let best = self
            .peers
            .iter()
            .filter(|(_, p)| !p.resolved && p.needs > p.syndromes.len() && p.count >= mine)
            .max_by_key(|(id, p)| (p.count, p.last_heard, std::cmp::Reverse(**id)))
            .map(|(id, _)| *id);
        let Some(id) = best else { return };
        let jitter = self.jitter(self.config.ask_jitter);
        if let Some(p) = self.peers.get_mut(&id) {
            p.request = Some(SketchAsk {
                upto: p.needs,
                due: now + jitter,
                sent: None,
            });
        }
    }

    fn send_due_sketch_requests(&mut self, now: Instant) {
        let mut frames = Vec::new();
        let timeout = self.config.want_timeout;
        // An unanswered request is given up (the neighbour may have changed or
        // gone); the next summary starts over.
        let mut expired = false;
        for p in self.peers.values_mut() {
            if p.request
                .is_some_and(|a| a.sent.is_some_and(|at| now >= at + timeout))
            {
                p.request = None;
                p.needs = 0;
                expired = true;
            }
        }
        if expired {
            self.schedule_request(now);
        }
        for (id, p) in &mut self.peers {
            let Some(ask) = p.request.as_mut() else {
                continue;
            };
            if ask.due > now || ask.sent.is_some() {
                continue;
            }
            ask.sent = Some(now);
            let first = p.syndromes.len();
            let count = (ask.upto - first).min(usize::from(u8::MAX));
            frames.push(
                FrameRepr::SketchRequest {
                    target: *id,
                    fingerprint: p.fingerprint as u32,
                    first: first as u16,
                    count: count as u8,
                }
                .encode(),
            );
        }
        for f in frames {
            self.stats.sketch_requests_sent += 1;
            self.queue(f, Priority::High);
        }
    }

    fn on_sketch_request(
        &mut self,
        now: Instant,
        _from: NodeId,
        target: NodeId,
        fingerprint: u32,
        first: u16,
        count: u8,
    ) {
        if target != self.me {
            // Someone asked that neighbour already: its answer will serve us too.
            if let Some(p) = self.peers.get_mut(&target)
                && let Some(ask) = p.request.as_mut()
                && ask.sent.is_none()
                && p.fingerprint as u32 == fingerprint
                && usize::from(first) + usize::from(count) >= ask.upto
            {
                ask.sent = Some(now);
            }
            return;
        }
        if fingerprint != self.set.fingerprint as u32 {
            return; // about a state we no longer have; our next summary says so
        }

        let (first, end) = (
            usize::from(first),
            (usize::from(first) + usize::from(count)).min(sketch::MAX_CAPACITY),
        );
        let due = now + self.config.serve_delay;
        self.sketch_reply = Some(match self.sketch_reply {
            Some((f, e, d)) => (f.min(first), e.max(end), d),
            None => (first, end, due),
        });
    }

    fn send_due_sketch_reply(&mut self, now: Instant) {
        let Some((first, end, due)) = self.sketch_reply else {
            return;
        };
        if due > now {
            return;
        }
        self.sketch_reply = None;
        let all = self.set.syndromes(end);
        let mut at = first;
        while at < end {
            let stop = (at + SYNDROMES_PER_FRAME).min(end);
            let bytes = wire::syndrome_bytes(&all[at..stop]);
            let frame = FrameRepr::Sketch {
                fingerprint: self.set.fingerprint,
                count: self.set.len(),
                first: at as u16,
                syndromes: Syndromes::from_bytes(&bytes).expect("whole syndromes"),
            };
            self.stats.sketches_sent += 1;
            self.queue(frame.encode(), Priority::High);
            at = stop;
        }
    }

    fn on_sketch(
        &mut self,
        now: Instant,
        from: NodeId,
        fingerprint: u64,
        count: u32,
        first: u16,
        syndromes: Syndromes<'_>,
    ) {
        let Some(p) = self.peers.get_mut(&from) else {
            return;
        };
        let first = usize::from(first);
        if p.fingerprint != fingerprint {
            // The neighbour's set changed; a sketch from the start describes
            // the new set completely, so adopt it.
            if first != 0 {
                return;
            }
            p.fingerprint = fingerprint;
            p.count = count;
            p.syndromes.clear();
            p.resolved = fingerprint == self.set.fingerprint;
            p.needs = 0;
        }
        if p.resolved {
            return;
        }
        if first > p.syndromes.len() {
            return; // a gap: wait for the frames before it (or ask again)
        }
        for (i, s) in syndromes.iter().enumerate() {
            let at = first + i;
            if at == p.syndromes.len() && at < sketch::MAX_CAPACITY {
                p.syndromes.push(s);
            }
        }
        if p.request.is_some_and(|r| p.syndromes.len() >= r.upto) {
            p.request = None;
        }
        if p.request.is_none() {
            self.try_resolve(now, from);
            self.schedule_request(now);
        }
    }

    // ---- wants and data ---------------------------------------------

    fn want(&mut self, now: Instant, element: u64, holder: NodeId) {
        if self.set.elements.contains_key(&element) {
            return;
        }
        if !self.wanted.contains_key(&element) && self.wanted.len() >= MAX_WANTED {
            return;
        }
        let jitter = self.jitter(self.config.ask_jitter);
        let w = self.wanted.entry(element).or_insert_with(|| Wanted {
            holders: Vec::new(),
            due: now + jitter,
            asked: None,
            attempts: 0,
        });
        w.holders.retain(|h| *h != holder);
        w.holders.insert(0, holder);
    }

    fn send_due_wants(&mut self, now: Instant) {
        // Wants whose request timed out go back to waiting; each retry waits
        // twice as long, so a congested channel is not made busier.
        let base = self.config.want_timeout;
        for w in self.wanted.values_mut() {
            if let Some((holder, at)) = w.asked
                && now >= at + want_timeout(base, w.attempts)
            {
                w.asked = None;
                w.attempts += 1;
                w.due = now;
                // Try the next holder, if there is one.
                if w.holders.len() > 1 && w.holders[0] == holder {
                    w.holders.rotate_left(1);
                }
            }
        }
        let mut batches: BTreeMap<NodeId, Vec<(u64, u64)>> = BTreeMap::new();
        // A want that failed this often is given up; the next summary
        // exchange finds it again if it still matters (the holder may have
        // moved on to a newer version).
        self.wanted.retain(|_, w| w.attempts < MAX_WANT_ATTEMPTS);
        // A window of elements in flight, like a transport's: more would
        // only queue up at the holders and time out.
        let mut in_flight = self.wanted.values().filter(|w| w.asked.is_some()).count();
        for (element, w) in &mut self.wanted {
            if w.asked.is_some() || w.due > now {
                continue;
            }
            if in_flight >= WANT_WINDOW {
                break;
            }
            if let Some(until) = self.overheard.get(element)
                && *until > now
            {
                w.due = *until;
                continue;
            }
            let Some(holder) = w.holders.first().copied() else {
                continue;
            };
            let batch = batches.entry(holder).or_default();
            if batch.len() >= MAX_WANTS_PER_FRAME {
                continue;
            }
            let fragments = self.partials.get(element).map_or(0, missing_bitmap);
            batch.push((*element, fragments));
            w.asked = Some((holder, now));
            in_flight += 1;
        }
        self.overheard.retain(|_, until| *until > now);
        for (target, wants) in batches {
            self.stats.wants_sent += 1;
            self.queue(FrameRepr::Want { target, wants }.encode(), Priority::High);
        }
    }

    fn on_want(&mut self, now: Instant, target: NodeId, wants: &[(u64, u64)]) {
        if target == self.me {
            for (element, fragments) in wants {
                if self.set.elements.contains_key(element) {
                    // A random delay lets wants batch up and lets one of
                    // several asked holders go first and suppress the rest.
                    let quarter = self.config.serve_delay.as_micros() / 4;
                    let delay = Duration::from_micros(quarter + self.rng.below(3 * quarter.max(1)));
                    self.serve(now, *element, *fragments, delay);
                }
            }
            return;
        }
        // Someone asked a neighbour we hear for what we need too: its
        // broadcast will reach us, so hold our own request for a while.
        if self.peers.contains_key(&target) {
            for (element, _) in wants {
                if self.wanted.contains_key(element) {
                    self.overheard.insert(*element, now + OVERHEARD_WANT_HOLD);
                }
            }
        }
    }

    fn serve(&mut self, now: Instant, element: u64, fragments: u64, delay: Duration) {
        let all = if fragments == 0 { u64::MAX } else { fragments };
        let due = now + delay;
        let s = self
            .serving
            .entry(element)
            .or_insert(Serving { fragments: 0, due });
        s.fragments |= all;
        s.due = s.due.min(due);
    }

    fn send_due_data<S: Storage, T: Transport>(
        &mut self,
        now: Instant,
        store: &mut Store<S>,
        tx: &T,
    ) {
        let due: Vec<(u64, u64)> = self
            .serving
            .iter()
            .filter(|(_, s)| s.due <= now)
            .map(|(e, s)| (*e, s.fragments))
            .collect();
        let chunk_len = tx
            .capabilities()
            .max_payload_bytes
            .saturating_sub(DATA_OVERHEAD)
            .max(1);
        for (element, fragments) in due {
            if self.outbox.len() >= self.config.max_outbox {
                // The rest wait until the queue has drained a little.
                if let Some(s) = self.serving.get_mut(&element) {
                    s.due = now + FLUSH_RETRY;
                }
                continue;
            }
            self.serving.remove(&element);
            let Some(stream) = self.stream(element, store) else {
                continue;
            };
            let total = stream.len().div_ceil(chunk_len);
            if total == 0 || total > MAX_FRAGMENTS {
                continue;
            }
            let fresh = self
                .set
                .elements
                .get(&element)
                .is_some_and(|(_, at)| now.saturating_since(*at) <= self.config.fresh_window);
            let priority = if fresh {
                Priority::Normal
            } else {
                Priority::Background
            };
            for (index, chunk) in stream.chunks(chunk_len).enumerate() {
                if fragments & (1u64 << index) == 0
                    || self.queued_data.contains(&(element, index as u8))
                {
                    continue; // not asked for, or already waiting to go
                }
                self.queued_data.insert((element, index as u8));
                let frame = FrameRepr::Data {
                    element,
                    index: index as u8,
                    total: total as u8,
                    chunk,
                };
                self.stats.data_sent += 1;
                self.queue(frame.encode(), priority);
            }
        }
    }

    /// The transfer stream of an element we hold: `kind u8` (the item kind
    /// in the low nibble, its document format code in the high one), `seq
    /// varint, length varint, codec u8`, then the (compressed) bytes.
    fn stream<S: Storage>(&mut self, element: u64, store: &Store<S>) -> Option<Vec<u8>> {
        if let Some(s) = self.streams.get(&element) {
            return Some(s.clone());
        }
        let (item, _) = self.set.elements.get(&element)?;
        let stored = store.get(*item)?;
        if element_of(stored.kind, stored.id, stored.stamp) != element {
            return None;
        }
        let (codec, body) = compress::compress(&stored.bytes);
        let mut s = vec![stored.kind as u8 | stored.format.code() << 4];
        wire::put_varint(&mut s, u64::from(stored.stamp.seq));
        wire::put_varint(&mut s, stored.bytes.len() as u64);
        s.push(codec as u8);
        s.extend_from_slice(&body);
        self.streams.insert(element, s.clone());
        Some(s)
    }

    fn on_data<S: Storage>(
        &mut self,
        now: Instant,
        element: u64,
        index: u8,
        total: u8,
        chunk: &[u8],
        store: &mut Store<S>,
    ) {
        if self.set.elements.contains_key(&element) {
            // We hold it. If we were about to send this fragment, someone
            // else just did: the neighbours who asked us most likely heard
            // it, and ask again for whatever they still miss.
            if let Some(s) = self.serving.get_mut(&element) {
                s.fragments &= !(1u64 << u32::from(index).min(63));
                if s.fragments == 0 {
                    self.serving.remove(&element);
                }
            }
            return;
        }
        let total = usize::from(total);
        if total > MAX_FRAGMENTS {
            return;
        }
        if !self.partials.contains_key(&element) && self.partials.len() >= self.config.max_partials
        {
            // Full: make room for something we asked for by dropping the
            // stalest transfer nobody asked for; otherwise ignore it.
            if !self.wanted.contains_key(&element) {
                return;
            }
            let victim = self
                .partials
                .iter()
                .filter(|(e, _)| !self.wanted.contains_key(e))
                .min_by_key(|(e, p)| (p.last_progress, **e))
                .map(|(e, _)| *e);
            match victim {
                Some(v) => {
                    self.partials.remove(&v);
                }
                None => return,
            }
        }
        let p = self.partials.entry(element).or_insert_with(|| Partial {
            chunks: vec![None; total],
            received: 0,
            last_progress: now,
        });
        if p.chunks.len() != total {
            return; // inconsistent with what we have; the full one wins on retry
        }
        let slot = &mut p.chunks[usize::from(index)];
        if slot.is_none() {
            *slot = Some(chunk.to_vec());
            p.received += 1;
            p.last_progress = now;
        }
        if let Some(w) = self.wanted.get_mut(&element)
            && let Some((holder, _)) = w.asked
        {
            w.asked = Some((holder, now)); // progress: restart the timeout
        }
        if p.received == total {
            let p = self.partials.remove(&element).expect("present");
            let stream: Vec<u8> = p.chunks.into_iter().flatten().flatten().collect();
            self.finish(now, element, stream, store);
        }
    }

    fn finish<S: Storage>(
        &mut self,
        now: Instant,
        element: u64,
        stream: Vec<u8>,
        store: &mut Store<S>,
    ) {
        match self.verify(element, &stream) {
            Ok(item) => {
                let (id, stamp) = (item.id, item.stamp);
                match store.apply_remote(item) {
                    Ok(outcome) => {
                        self.wanted.remove(&element);
                        self.stats.items_received += 1;
                        if matches!(outcome.change, Change::Added | Change::NewVersion) {
                            self.set.insert(element, id, now);
                            self.note_recent(now);
                            self.streams.insert(element, stream);
                            self.events.push(SyncEvent::Stored {
                                item: id,
                                stamp,
                                element,
                            });
                            if let Some(t) = self.trickle.as_mut() {
                                t.hear_inconsistent(now, &mut self.rng);
                            }
                            if self.config.strategy == Strategy::Flood {
                                let jitter = self.jitter(self.config.serve_delay);
                                self.serve(now, element, 0, jitter);
                            }
                        }
                    }
                    Err(e) => self.reject(element, format!("store refused it: {e}")),
                }
            }
            Err(reason) => self.reject(element, reason),
        }
    }

    fn note_recent(&mut self, now: Instant) {
        if self.recent.len() == MAX_SUMMARY_SYNDROMES {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
    }

    fn reject(&mut self, element: u64, reason: String) {
        self.stats.rejected += 1;
        self.events.push(SyncEvent::Rejected { element, reason });
    }

    /// Decodes and checks a transfer stream against the element it claims.
    fn verify(&self, element: u64, stream: &[u8]) -> Result<StoredItem, String> {
        let (&kind_byte, rest) = stream.split_first().ok_or("empty stream")?;
        let kind = match kind_byte & 0x0f {
            0 => ItemKind::Manifest,
            1 => ItemKind::Facility,
            k => return Err(format!("unknown item kind {k}")),
        };
        let format = Format::from_code(kind_byte >> 4)
            .ok_or_else(|| format!("unknown document format {}", kind_byte >> 4))?;
        let (seq, used) = wire::get_varint(rest).ok_or("bad seq")?;
        let rest = &rest[used..];
        let (len, used) = wire::get_varint(rest).ok_or("bad length")?;
        let rest = &rest[used..];
        let seq = u32::try_from(seq).map_err(|_| "seq out of range")?;
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= self.config.max_item_bytes)
            .ok_or("item too large")?;
        let (&codec, body) = rest.split_first().ok_or("missing codec")?;
        let bytes = compress::decompress(codec, body, len).map_err(|e| e.to_string())?;
        // Received bytes have no file name: "item" names them in messages
        // (and names an untitled facility, as on every receiver).
        let it = identify(kind, &bytes, "item", Some(format))
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|i| {
                element_of(
                    kind,
                    i.id,
                    VersionStamp {
                        seq,
                        content: i.content,
                    },
                ) == element
            })
            .ok_or("content does not match the element asked for")?;
        Ok(StoredItem {
            kind,
            id: it.id,
            stamp: VersionStamp {
                seq,
                content: it.content,
            },
            name: catalogue::entry::cut_name(&it.name),
            format,
            bytes,
        })
    }

    // ---- the radio ---------------------------------------------------

    fn queue(&mut self, payload: Vec<u8>, priority: Priority) {
        if self.outbox.len() >= self.config.max_outbox {
            // Full: drop the least urgent, newest frame to make room for a more urgent one.
            let Some((&key, _)) = self.outbox.iter().next_back() else {
                return;
            };
            if key.0.0 >= priority {
                // Dropped: a data fragment may be asked for again.
                self.forget_queued(&payload);
                return;
            }
            if let Some(dropped) = self.outbox.remove(&key) {
                self.forget_queued(&dropped.payload);
            }
        }
        let frame = OutFrame {
            dest: Destination::Broadcast,
            hop_limit: 0,
            priority,
            payload,
        };
        self.outbox
            .insert((std::cmp::Reverse(priority), self.next_seq), frame);
        self.next_seq += 1;
    }

    /// Hands queued frames to the radio while it has room.
    fn flush<T: Transport>(&mut self, now: Instant, tx: &mut T) {
        let util = tx.channel_utilisation_pct().unwrap_or(0.0);
        while let Some(entry) = self.outbox.first_entry() {
            if tx.queue_room() == 0 || util >= HOLD_UTILISATION_PCT {
                break;
            }
            // A busy channel gets only the urgent control frames.
            if util >= POLITE_UTILISATION_PCT && entry.key().0.0 < Priority::High {
                break;
            }
            let frame = entry.remove();
            match tx.send(frame.clone()) {
                Ok(()) => self.forget_queued(&frame.payload),
                Err(SendError::QueueFull | SendError::DutyCycle | SendError::Unavailable(_)) => {
                    self.outbox
                        .insert((std::cmp::Reverse(frame.priority), self.next_seq), frame);
                    self.next_seq += 1;
                    break;
                }
                Err(_) => self.forget_queued(&frame.payload), // malformed for this transport: drop it
            }
        }
        if !self.outbox.is_empty() {
            self.retry_at = Some(
                self.retry_at
                    .map_or(now + FLUSH_RETRY, |t| t.min(now + FLUSH_RETRY)),
            );
        }
    }

    /// A data frame left the outbox (to the radio, or dropped).
    fn forget_queued(&mut self, payload: &[u8]) {
        if let Ok(FrameRepr::Data { element, index, .. }) = FrameRepr::decode(payload) {
            self.queued_data.remove(&(element, index));
        }
    }

    fn jitter(&mut self, max: Duration) -> Duration {
        Duration::from_micros(self.rng.below(max.as_micros().max(1)))
    }
}

/// Bit `i` set for each fragment still missing.
fn missing_bitmap(p: &Partial) -> u64 {
    p.chunks
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_none())
        .fold(0u64, |m, (i, _)| m | (1u64 << i))
}
