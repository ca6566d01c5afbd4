//! Transfers: asking for the elements reconciliation found missing, serving
//! the ones neighbours ask for, reassembling what arrives and verifying it
//! before it is stored.
//!
//! Missing elements are asked for with a **want** addressed to one holder
//! (after a random delay, a window of [`WANT_WINDOW`] in flight; a node that
//! overhears a want for the same element waits for that data instead). The
//! holder broadcasts the item's transfer stream — a [`TransferHeader`](crate::wire::TransferHeader) and
//! the compressed bytes — as **data** fragments every neighbour that lacks
//! it takes. Lost fragments are asked for again by bitmap. The stream and
//! its checks are in [`stream`](super::stream).
//!
//! A received stream is decompressed, parsed, and its item id and content
//! id recomputed; it is stored only if they hash to the element that was
//! asked for, its publisher's signature verifies for the design its key
//! owns, it is not older than the version held, the trust policy admits
//! its key and the key is within its quota. Anything else is dropped with
//! a [`RejectReason`] — before it is stored, served or relayed.
//!
//! A complete stream of an element this node does not want (yet) stays
//! among the partials, unverified: if reconciliation finds the element
//! missing before it times out, it is verified and stored then (the
//! managed flood's gain); otherwise it is dropped and never stored.

use std::collections::BTreeMap;

use super::outbox::FLUSH_RETRY;
use super::stream::{RejectReason, encode_stream};
use super::{Element, Strategy, SyncEngine, SyncEvent, element_of};
use crate::id::NodeId;
use crate::store::{Change, Storage, Store};
use crate::time::{Duration, Instant};
use crate::transport::{Priority, Transport};
use catalogue::entry::MAX_NAME_BYTES;

use crate::identity::AUTHORSHIP_LEN;
use crate::wire::{MAX_FRAGMENTS, MAX_WANTS_PER_FRAME, SyncFrame, Want, data_overhead};

/// Fragments a want's bitmap speaks of (from its base).
const WANT_WINDOW_FRAGMENTS: usize = 64;

/// Most elements wanted at once.
const MAX_WANTED: usize = 4096;
/// How long an overheard want for an element keeps us from asking for it.
const OVERHEARD_WANT_HOLD: Duration = Duration::from_secs(30);
/// Elements asked for and not yet received, at most.
const WANT_WINDOW: usize = 8;
/// Requests for one element before it is given up.
const MAX_WANT_ATTEMPTS: u32 = 12;
/// How long an element refused for what it is (stale, untrusted, over
/// quota) is not asked for again.
const REFUSED_HOLD: Duration = Duration::from_secs(3600);

/// The time to wait for data after the `attempts`-th want: longer with
/// each retry (up to four times the base), so a congested holder is not
/// asked faster than it can answer.
fn want_timeout(base: Duration, attempts: u32) -> Duration {
    base.saturating_mul(u64::from(attempts.min(3)) + 1)
}

/// What transfers keep between frames.
#[derive(Debug, Default)]
pub(super) struct Transfers {
    wanted: BTreeMap<Element, Wanted>,
    /// Elements someone else asked a neighbour for, held until the time.
    overheard: BTreeMap<Element, Instant>,
    serving: BTreeMap<Element, Serving>,
    partials: BTreeMap<Element, Partial>,
    /// Transfer streams of elements held, made once.
    streams: BTreeMap<Element, Vec<u8>>,
    /// Complete partials that became wanted, to verify and store.
    ready: Vec<Element>,
    /// Genuine elements this node refused (stale, untrusted, over quota),
    /// not asked for again until the time.
    refused: BTreeMap<Element, Instant>,
}

#[derive(Clone, Debug)]
struct Wanted {
    /// Neighbours known to hold it, most recently learnt first.
    holders: Vec<NodeId>,
    due: Instant,
    asked: Option<(NodeId, Instant)>,
    attempts: u32,
}

#[derive(Clone, Debug)]
struct Serving {
    /// Bit `i % 64` of word `i / 64`: fragment `i` is to go (words past
    /// the end: none).
    fragments: Vec<u64>,
    due: Instant,
}

impl Serving {
    fn wants(&self, index: usize) -> bool {
        self.fragments
            .get(index / 64)
            .is_some_and(|w| w & (1 << (index % 64)) != 0)
    }

    fn is_empty(&self) -> bool {
        self.fragments.iter().all(|w| *w == 0)
    }
}

#[derive(Clone, Debug)]
struct Partial {
    chunks: Vec<Option<Vec<u8>>>,
    received: usize,
    /// Bytes of the chunks received.
    bytes: usize,
    last_progress: Instant,
}

impl Partial {
    /// What to ask for again: the window of up to 64 fragments from the
    /// first one missing (from 0 while every missing one is below 64, as
    /// streams of up to 64 fragments always are).
    fn missing(&self, element: Element) -> Want {
        let first = self.chunks.iter().position(Option::is_none).unwrap_or(0);
        let last = self.chunks.iter().rposition(Option::is_none).unwrap_or(0);
        let base = if last < WANT_WINDOW_FRAGMENTS {
            0
        } else {
            first
        };
        let fragments = self.chunks[base..]
            .iter()
            .take(WANT_WINDOW_FRAGMENTS)
            .enumerate()
            .filter(|(_, c)| c.is_none())
            .fold(0u64, |m, (i, _)| m | (1u64 << i));
        Want {
            element,
            base: base as u16,
            fragments,
        }
    }
}

/// How a stream of `len_bytes` is cut into data frames of at most
/// `max_payload_bytes`: the chunk length and the fragment count (a stream
/// of more than [`MAX_FRAGMENTS`] is not sent).
pub(super) fn cut(len_bytes: usize, max_payload_bytes: usize) -> (usize, usize) {
    let small = max_payload_bytes.saturating_sub(data_overhead(1)).max(1);
    let (chunk_len, total) = match len_bytes.div_ceil(small) {
        t if t < 128 => (small, t),
        // Two-byte fragment numbers leave two bytes less for the chunk.
        _ => {
            let large = max_payload_bytes.saturating_sub(data_overhead(128)).max(1);
            (large, len_bytes.div_ceil(large))
        }
    };
    (chunk_len, total)
}

/// The longest transfer stream of an item of at most `max_item_bytes`: a
/// header with a name, the authorship, and the bytes (never compressed
/// to more than themselves).
fn max_stream_bytes(max_item_bytes: usize) -> usize {
    // Kind, seq and length varints, codec, name length and name.
    const HEADER_MAX: usize = 1 + 5 + 10 + 1 + 2 + MAX_NAME_BYTES;
    max_item_bytes + HEADER_MAX + AUTHORSHIP_LEN
}

/// The cut of a stream that can be sent: some fragments, not too many.
fn sendable(len_bytes: usize, max_payload_bytes: usize) -> Option<(usize, usize)> {
    let (chunk_len, total) = cut(len_bytes, max_payload_bytes);
    (total > 0 && total <= MAX_FRAGMENTS).then_some((chunk_len, total))
}

impl Transfers {
    /// The earliest want, serve or partial deadline.
    pub(super) fn poll_timeout(
        &self,
        want_timeout_base: Duration,
        partial_timeout: Duration,
    ) -> Option<Instant> {
        let in_flight = self.wanted.values().filter(|w| w.asked.is_some()).count();
        let wants = self.wanted.values().filter_map(|w| match w.asked {
            Some((_, at)) => Some(at + want_timeout(want_timeout_base, w.attempts)),
            // Waiting ones wake when due, unless the window is full (an
            // arrival or a timeout frees it).
            None if in_flight < WANT_WINDOW => Some(w.due),
            None => None,
        });
        let serves = self.serving.values().map(|s| s.due);
        let partials = self
            .partials
            .values()
            .map(|p| p.last_progress + partial_timeout);
        wants.chain(serves).chain(partials).min()
    }

    /// Drops half-received items that made no progress for `timeout`.
    pub(super) fn expire_partials(&mut self, now: Instant, timeout: Duration) {
        self.partials.retain(|_, p| now < p.last_progress + timeout);
    }

    /// Stops wanting `element` (it is held now).
    pub(super) fn forget_want(&mut self, element: Element) {
        self.wanted.remove(&element);
    }
}

/// The data frames (encoded, in index order) that carry `element`'s
/// transfer `stream` over a transport of `max_payload_bytes` per frame;
/// empty if it would take more than [`MAX_FRAGMENTS`]. What a holder
/// broadcasts when asked for everything.
pub fn data_frames(element: Element, stream: &[u8], max_payload_bytes: usize) -> Vec<Vec<u8>> {
    let Some((chunk_len, total)) = sendable(stream.len(), max_payload_bytes) else {
        return Vec::new();
    };
    stream
        .chunks(chunk_len)
        .enumerate()
        .map(|(index, chunk)| {
            SyncFrame::Data {
                element,
                index: index as u16,
                total: total as u16,
                chunk,
            }
            .encode()
        })
        .collect()
}

impl SyncEngine {
    /// Wants `element`, which `holder` has.
    pub(super) fn want(&mut self, now: Instant, element: Element, holder: NodeId) {
        if self.set.contains(element) {
            return;
        }
        if self
            .transfer
            .refused
            .get(&element)
            .is_some_and(|until| *until > now)
        {
            return;
        }
        let t = &mut self.transfer;
        if !t.wanted.contains_key(&element) && t.wanted.len() >= MAX_WANTED {
            return;
        }
        let jitter = self.jitter(self.config.ask_jitter);
        let w = self
            .transfer
            .wanted
            .entry(element)
            .or_insert_with(|| Wanted {
                holders: Vec::new(),
                due: now + jitter,
                asked: None,
                attempts: 0,
            });
        w.holders.retain(|h| *h != holder);
        w.holders.insert(0, holder);
        // Already overheard in full: verify and store it now.
        if self
            .transfer
            .partials
            .get(&element)
            .is_some_and(|p| p.received == p.chunks.len())
            && !self.transfer.ready.contains(&element)
        {
            self.transfer.ready.push(element);
        }
    }

    /// Verifies and stores the complete partials that became wanted.
    pub(super) fn finish_ready<S: Storage>(&mut self, now: Instant, store: &mut Store<S>) {
        for element in std::mem::take(&mut self.transfer.ready) {
            let complete = self
                .transfer
                .partials
                .get(&element)
                .is_some_and(|p| p.received == p.chunks.len());
            if complete && self.transfer.wanted.contains_key(&element) {
                let p = self.transfer.partials.remove(&element).expect("present");
                let stream: Vec<u8> = p.chunks.into_iter().flatten().flatten().collect();
                self.finish(now, element, stream, store);
            }
        }
    }

    pub(super) fn send_due_wants(&mut self, now: Instant) {
        let t = &mut self.transfer;
        // Wants whose request timed out go back to waiting; each retry waits
        // longer, so a congested channel is not made busier.
        let base = self.config.want_timeout;
        for w in t.wanted.values_mut() {
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
        let mut batches: BTreeMap<NodeId, Vec<Want>> = BTreeMap::new();
        // A want that failed this often is given up; the next summary
        // exchange finds it again if it still matters (the holder may have
        // moved on to a newer version).
        t.wanted.retain(|_, w| w.attempts < MAX_WANT_ATTEMPTS);
        // A window of elements in flight, like a transport's: more would
        // only queue up at the holders and time out.
        let mut in_flight = t.wanted.values().filter(|w| w.asked.is_some()).count();
        for (element, w) in &mut t.wanted {
            if w.asked.is_some() || w.due > now {
                continue;
            }
            if in_flight >= WANT_WINDOW {
                break;
            }
            if let Some(until) = t.overheard.get(element)
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
            let want = t.partials.get(element).map_or(
                Want {
                    element: *element,
                    base: 0,
                    fragments: 0,
                },
                |p| p.missing(*element),
            );
            batch.push(want);
            w.asked = Some((holder, now));
            in_flight += 1;
        }
        t.overheard.retain(|_, until| *until > now);
        for (target, wants) in batches {
            self.stats.wants_sent += 1;
            self.outbox
                .queue(SyncFrame::Want { target, wants }.encode(), Priority::High);
        }
    }

    pub(super) fn on_want(&mut self, now: Instant, target: NodeId, wants: &[Want]) {
        if target == self.me {
            for w in wants {
                if self.set.contains(w.element) {
                    // A random delay lets wants batch up and lets one of
                    // several asked holders go first and suppress the rest.
                    let quarter = self.config.serve_delay.as_micros() / 4;
                    let delay = Duration::from_micros(quarter + self.rng.below(3 * quarter.max(1)));
                    self.serve_window(now, w.element, w.base, w.fragments, delay);
                }
            }
            return;
        }
        // Someone asked a neighbour we hear for what we need too: its
        // broadcast will reach us, so hold our own request for a while.
        if self.reconcile.knows(target) {
            for w in wants {
                if self.transfer.wanted.contains_key(&w.element) {
                    self.transfer
                        .overheard
                        .insert(w.element, now + OVERHEARD_WANT_HOLD);
                }
            }
        }
    }

    /// Broadcasts every fragment of `element` after `delay`.
    pub(super) fn serve(&mut self, now: Instant, element: Element, delay: Duration) {
        self.serve_window(now, element, 0, 0, delay);
    }

    /// Broadcasts the fragments `base + i` of `element` for each bit `i` of
    /// `fragments` (0: every fragment) after `delay`.
    fn serve_window(
        &mut self,
        now: Instant,
        element: Element,
        base: u16,
        fragments: u64,
        delay: Duration,
    ) {
        let due = now + delay;
        let s = self.transfer.serving.entry(element).or_insert(Serving {
            fragments: Vec::new(),
            due,
        });
        if fragments == 0 {
            s.fragments = vec![u64::MAX; MAX_FRAGMENTS / 64];
        } else {
            // The window straddles at most two words.
            let (word, shift) = (usize::from(base) / 64, usize::from(base) % 64);
            if s.fragments.len() < word + 2 {
                s.fragments.resize(word + 2, 0);
            }
            s.fragments[word] |= fragments << shift;
            if shift > 0 {
                s.fragments[word + 1] |= fragments >> (64 - shift);
            }
        }
        s.due = s.due.min(due);
    }

    pub(super) fn send_due_data<S: Storage, T: Transport>(
        &mut self,
        now: Instant,
        store: &mut Store<S>,
        tx: &T,
    ) {
        let due: Vec<Element> = self
            .transfer
            .serving
            .iter()
            .filter(|(_, s)| s.due <= now)
            .map(|(e, _)| *e)
            .collect();
        let max_payload_bytes = tx.capabilities().max_payload_bytes;
        for element in due {
            if self.outbox.is_full() {
                // The rest wait until the queue has drained a little.
                if let Some(s) = self.transfer.serving.get_mut(&element) {
                    s.due = now + FLUSH_RETRY;
                }
                continue;
            }
            let Some(serving) = self.transfer.serving.remove(&element) else {
                continue;
            };
            let Some(stream) = self.stream(element, store) else {
                continue;
            };
            let Some((chunk_len, total)) = sendable(stream.len(), max_payload_bytes) else {
                continue;
            };
            let fresh = self
                .set
                .get(element)
                .is_some_and(|(_, at)| now.saturating_since(at) <= self.config.fresh_window);
            let priority = if fresh {
                Priority::Normal
            } else {
                Priority::Background
            };
            for (index, chunk) in stream.chunks(chunk_len).enumerate() {
                if !serving.wants(index) {
                    continue; // not asked for
                }
                let index = index as u16;
                if self.outbox.holds_data(element, index) {
                    continue; // already waiting to go
                }
                let frame = SyncFrame::Data {
                    element,
                    index,
                    total: total as u16,
                    chunk,
                };
                self.stats.data_sent += 1;
                self.outbox
                    .queue_data(element, index, frame.encode(), priority);
            }
        }
    }

    /// The transfer stream of an element we hold: its [`TransferHeader`](crate::wire::TransferHeader),
    /// then the (compressed) bytes.
    pub(super) fn stream<S: Storage>(
        &mut self,
        element: Element,
        store: &Store<S>,
    ) -> Option<Vec<u8>> {
        if let Some(s) = self.transfer.streams.get(&element) {
            return Some(s.clone());
        }
        let (item, _) = self.set.get(element)?;
        let stored = store.get(item)?;
        if element_of(stored.kind, stored.id, stored.stamp) != element {
            return None;
        }
        // Unsigned versions are never served: no one could verify them.
        let s = encode_stream(stored)?;
        self.transfer.streams.insert(element, s.clone());
        Some(s)
    }

    pub(super) fn on_data<S: Storage>(
        &mut self,
        now: Instant,
        element: Element,
        index: u16,
        total: u16,
        chunk: &[u8],
        store: &mut Store<S>,
    ) {
        let t = &mut self.transfer;
        if self.set.contains(element) {
            // We hold it. If we were about to send this fragment, someone
            // else just did: the neighbours who asked us most likely heard
            // it, and ask again for whatever they still miss.
            if let Some(s) = t.serving.get_mut(&element) {
                let index = usize::from(index);
                if let Some(w) = s.fragments.get_mut(index / 64) {
                    *w &= !(1 << (index % 64));
                }
                if s.is_empty() {
                    t.serving.remove(&element);
                }
            }
            return;
        }
        let total = usize::from(total);
        if !t.partials.contains_key(&element) && t.partials.len() >= self.config.max_partials {
            // Full: make room for something we asked for by dropping the
            // stalest transfer nobody asked for; otherwise ignore it.
            if !t.wanted.contains_key(&element) {
                return;
            }
            let victim = t
                .partials
                .iter()
                .filter(|(e, _)| !t.wanted.contains_key(e))
                .min_by_key(|(e, p)| (p.last_progress, **e))
                .map(|(e, _)| *e);
            match victim {
                Some(v) => {
                    t.partials.remove(&v);
                }
                None => return,
            }
        }
        let p = t.partials.entry(element).or_insert_with(|| Partial {
            chunks: vec![None; total],
            received: 0,
            bytes: 0,
            last_progress: now,
        });
        if p.chunks.len() != total {
            return; // inconsistent with what we have; the full one wins on retry
        }
        let slot = &mut p.chunks[usize::from(index)];
        let slot_filled = slot.is_none();
        if slot_filled && p.bytes + chunk.len() > max_stream_bytes(self.config.max_item_bytes) {
            // Longer than any item this node takes could be: a sender's
            // lie, dropped before it costs more memory.
            t.partials.remove(&element);
            return;
        }
        if slot_filled {
            p.bytes += chunk.len();
            *slot = Some(chunk.to_vec());
            p.received += 1;
            p.last_progress = now;
        }
        if let Some(w) = t.wanted.get_mut(&element)
            && let Some((holder, _)) = w.asked
        {
            w.asked = Some((holder, now)); // progress: restart the timeout
        }
        if p.received == total && slot_filled {
            // With blind flooding nothing is asked for: every item is taken.
            if !t.wanted.contains_key(&element) && self.config.strategy != Strategy::Flood {
                // Nobody here asked for it: keep it aside (bounded, like
                // any partial) in case reconciliation finds it missing.
                self.stats.unsolicited += 1;
                return;
            }
            let p = t.partials.remove(&element).expect("present");
            let stream: Vec<u8> = p.chunks.into_iter().flatten().flatten().collect();
            self.finish(now, element, stream, store);
        }
    }

    fn finish<S: Storage>(
        &mut self,
        now: Instant,
        element: Element,
        stream: Vec<u8>,
        store: &mut Store<S>,
    ) {
        let item = match self.verify(element, &stream) {
            Ok(item) => item,
            Err(reason) => return self.reject(now, element, reason),
        };
        let (id, stamp) = (item.id, item.stamp);
        if let Some(held) = store.get(id)
            && held.stamp > stamp
        {
            let reason = RejectReason::Stale {
                offered: stamp.seq,
                held: held.stamp.seq,
            };
            return self.reject(now, element, reason);
        }
        let key = item.author.expect("verified items are signed").publisher;
        let bounded = key != self.own_key && !self.trust.pinned.contains(&key);
        if bounded
            && !self
                .quotas
                .admit_item(now, key, item.bytes.len(), &self.config.quota)
        {
            self.stats.items_over_quota += 1;
            return self.reject(now, element, RejectReason::OverQuota(key.fingerprint()));
        }
        let outcome = match store.apply_remote(item) {
            Ok(outcome) => outcome,
            Err(e) => return self.reject(now, element, e.into()),
        };
        self.transfer.wanted.remove(&element);
        self.stats.items_received += 1;
        if matches!(outcome.change, Change::Added | Change::NewVersion) {
            self.set.insert(element, id, now);
            self.reconcile.note_added(now);
            self.transfer.streams.insert(element, stream);
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
                self.serve(now, element, jitter);
            }
        }
    }

    /// Stops wanting a genuine element this node will not keep, for
    /// [`REFUSED_HOLD`].
    fn refuse(&mut self, now: Instant, element: Element) {
        let t = &mut self.transfer;
        t.wanted.remove(&element);
        if t.refused.len() >= MAX_WANTED {
            t.refused.retain(|_, until| *until > now);
        }
        if t.refused.len() < MAX_WANTED {
            t.refused.insert(element, now + REFUSED_HOLD);
        }
    }

    fn reject(&mut self, now: Instant, element: Element, reason: RejectReason) {
        self.stats.rejected += 1;
        match &reason {
            // A forged or tampered copy: stop asking for it (the sender
            // named a spoofed holder, or is the forger); if a real version
            // has this element, the next summary from one of its holders
            // makes it wanted again.
            RejectReason::Signature(_) | RejectReason::Mismatch => {
                self.stats.forged += 1;
                self.transfer.wanted.remove(&element);
            }
            // A genuine version this node will not keep: stop asking.
            RejectReason::Stale { .. } => {
                self.stats.stale += 1;
                self.refuse(now, element);
            }
            RejectReason::Untrusted(_) => {
                self.stats.untrusted += 1;
                self.refuse(now, element);
            }
            RejectReason::OverQuota(_) => self.refuse(now, element),
            _ => {}
        }
        self.events.push(SyncEvent::Rejected { element, reason });
    }
}
