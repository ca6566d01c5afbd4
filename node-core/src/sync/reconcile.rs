//! Reconciliation: finding out which elements a neighbour holds that this
//! node lacks, from summaries and set sketches.
//!
//! A summary carries the sender's fingerprint, set size and the first
//! syndromes of its sketch. A node that hears a summary unlike its own XORs
//! the syndromes into its own; if the result decodes into a difference that
//! explains the neighbour's fingerprint, it wants what it lacks (see
//! `transfer`). If not, it sends one sketch request at a time — to the
//! neighbour most likely to hold what it lacks — for as many syndromes as
//! the sets' sizes differ by, or else half as many again, and the
//! neighbour broadcasts them in sketch frames every other neighbour can
//! use too.
//!
//! One sketch cannot do every difference: when the sizes differ by more
//! than [`sketch::MAX_CAPACITY`], when growing the sketch by half would
//! pass [`BUCKET_SWITCH`] syndromes with sets of similar size, or when a
//! sketch at the largest capacity fails, the node opens a partitioned
//! session with that neighbour instead (see `partition`): bucket counts,
//! then a sketch per bucket of the element space. Everything below those
//! thresholds is exactly as before.

use std::collections::BTreeMap;
use std::collections::VecDeque;

use super::partition::{BUCKET_SWITCH, BucketReply, Session};
use super::sketch;
use super::{Element, Fingerprint, Strategy, SyncEngine};
use crate::id::NodeId;
use crate::time::{Duration, Instant};
use crate::transport::Priority;
use crate::wire::{self, SyncFrame, Syndromes};

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

/// Most syndromes one sketch frame carries.
const SYNDROMES_PER_FRAME: usize = 27;

/// Most neighbours remembered.
const MAX_PEERS: usize = 256;

/// What reconciliation keeps between frames.
#[derive(Debug, Default)]
pub(super) struct Reconciler {
    peers: BTreeMap<NodeId, Peer>,
    /// Syndromes `first..end` we will broadcast at `due` (asked for by
    /// sketch requests, merged).
    sketch_reply: Option<(usize, usize, Instant)>,
    /// When elements were added lately (bounded by the largest summary).
    recent: VecDeque<Instant>,
    /// The partitioned session open with one neighbour, if any.
    pub(super) session: Option<Session>,
    /// Bucket counts and sketches we owe.
    pub(super) bucket_reply: Option<BucketReply>,
}

/// A neighbour as we know it from its summaries and sketches.
#[derive(Clone, Debug)]
struct Peer {
    fingerprint: Fingerprint,
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

impl Reconciler {
    /// An element was added to the set at `now` (summaries grow for a while).
    pub(super) fn note_added(&mut self, now: Instant) {
        if self.recent.len() == MAX_SUMMARY_SYNDROMES {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
    }

    /// A partitioned session with `node` about its set `fingerprint` ended:
    /// the neighbour is resolved if it succeeded and its set is unchanged;
    /// either way nothing more is asked of it until its next summary.
    pub(super) fn settle(&mut self, node: NodeId, fingerprint: Fingerprint, ok: bool) {
        if let Some(p) = self.peers.get_mut(&node) {
            p.resolved = ok && p.fingerprint == fingerprint;
            p.needs = 0;
            p.request = None;
        }
    }

    /// Whether `node` is a neighbour we hear summaries from.
    pub(super) fn knows(&self, node: NodeId) -> bool {
        self.peers.contains_key(&node)
    }

    /// The earliest sketch request or reply due (a request that was sent
    /// is due again when its answer is `want_timeout` late).
    pub(super) fn poll_timeout(&self, want_timeout: Duration) -> Option<Instant> {
        let requests = self
            .peers
            .values()
            .filter_map(|p| p.request)
            .map(|a| a.sent.map_or(a.due, |at| at + want_timeout));
        let reply = self.sketch_reply.map(|(_, _, due)| due);
        let session = self.session.as_ref().map(|s| s.deadline(want_timeout));
        let bucket_reply = self.bucket_reply.as_ref().map(BucketReply::due);
        requests
            .chain(reply)
            .chain(session)
            .chain(bucket_reply)
            .min()
    }
}

impl SyncEngine {
    /// How many of the neighbours whose summaries this node keeps showed
    /// its own catalogue fingerprint in their last one (they held every
    /// version this node holds), and how many it keeps: a publisher's
    /// view of how far a new version has spread.
    pub fn peers_in_sync(&self) -> (usize, usize) {
        let ours = self.set.fingerprint();
        let peers = &self.reconcile.peers;
        (
            peers.values().filter(|p| p.fingerprint == ours).count(),
            peers.len(),
        )
    }

    pub(super) fn send_summary(&mut self, now: Instant) {
        if self.config.strategy != Strategy::Reconcile {
            return;
        }
        let recent = &mut self.reconcile.recent;
        while recent
            .front()
            .is_some_and(|t| now.saturating_since(*t) > RECENT_WINDOW)
        {
            recent.pop_front();
        }
        let k = (recent.len() + SUMMARY_SYNDROMES).min(MAX_SUMMARY_SYNDROMES);
        let syndromes = self.set.syndromes(k);
        let head = wire::syndrome_bytes(&syndromes);
        let frame = SyncFrame::Summary {
            fingerprint: self.set.fingerprint(),
            count: self.set.len(),
            syndromes: Syndromes::from_bytes(&head).expect("whole syndromes"),
        };
        self.stats.summaries_sent += 1;
        self.outbox.queue(frame.encode(), Priority::High);
    }

    pub(super) fn on_summary(
        &mut self,
        now: Instant,
        from: NodeId,
        fingerprint: Fingerprint,
        count: u32,
        syndromes: Syndromes<'_>,
    ) {
        if self.config.strategy != Strategy::Reconcile {
            return;
        }
        let peers = &mut self.reconcile.peers;
        if !peers.contains_key(&from) && peers.len() >= MAX_PEERS {
            // Forget the neighbour heard from longest ago.
            if let Some(oldest) = peers
                .iter()
                .min_by_key(|(id, p)| (p.last_heard, **id))
                .map(|(id, _)| *id)
            {
                peers.remove(&oldest);
            }
        }
        let peer = peers.entry(from).or_insert_with(|| Peer {
            // Unlike any fingerprint heard, so the first summary is adopted.
            fingerprint: Fingerprint(!fingerprint.0),
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
        let changed = peer.fingerprint != fingerprint;
        if changed {
            peer.fingerprint = fingerprint;
            peer.syndromes = syndromes.iter().collect();
            peer.resolved = false;
            peer.needs = 0;
            peer.request = None;
        }
        if changed {
            self.peer_changed(from, fingerprint);
        }
        let Some(peer) = self.reconcile.peers.get_mut(&from) else {
            return;
        };
        if fingerprint == self.set.fingerprint() {
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
        let idle = peer.request.is_none()
            && self
                .reconcile
                .session
                .as_ref()
                .is_none_or(|s| s.peer != from);
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
        let Some(peer) = self.reconcile.peers.get(&from) else {
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
                if let Some(p) = self.reconcile.peers.get_mut(&from) {
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
            let mut fp = self.set.fingerprint();
            let mut missing = Vec::new();
            for e in elements.iter().map(|e| Element(*e)) {
                if self.set.contains(e) {
                    fp = fp.without(e);
                } else {
                    fp = fp.with(e);
                    missing.push(e);
                }
            }
            if fp == their_fp {
                self.stats.decodes += 1;
                self.stats.syndromes_used += theirs.len() as u64;
                if let Some(p) = self.reconcile.peers.get_mut(&from) {
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
        };
        // Beyond what one sketch can do, or growing it by half would cost
        // more than partitioning: a session by buckets (`partition`), with
        // a neighbour that is not behind us.
        if size_gap > sketch::MAX_CAPACITY || (size_gap <= have && upto > BUCKET_SWITCH) {
            if their_count >= self.set.len() {
                self.open_session(now, from, their_fp, size_gap.max(have + 1));
            }
            return;
        }
        let upto = upto.min(sketch::MAX_CAPACITY);
        if upto <= have {
            // One sketch at its largest did not decode.
            if their_count >= self.set.len() {
                self.open_session(now, from, their_fp, have + 1);
            }
            return;
        }
        if let Some(p) = self.reconcile.peers.get_mut(&from) {
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
        if self.reconcile.peers.values().any(|p| p.request.is_some())
            || self.reconcile.session.is_some()
        {
            return;
        }
        let mine = self.set.len();
        let best = self
            .reconcile
            .peers
            .iter()
            .filter(|(_, p)| !p.resolved && p.needs > p.syndromes.len() && p.count >= mine)
            .max_by_key(|(id, p)| (p.count, p.last_heard, std::cmp::Reverse(**id)))
            .map(|(id, _)| *id);
        let Some(id) = best else { return };
        let jitter = self.jitter(self.config.ask_jitter);
        if let Some(p) = self.reconcile.peers.get_mut(&id) {
            p.request = Some(SketchAsk {
                upto: p.needs,
                due: now + jitter,
                sent: None,
            });
        }
    }

    pub(super) fn send_due_sketch_requests(&mut self, now: Instant) {
        let mut frames = Vec::new();
        let timeout = self.config.want_timeout;
        // An unanswered request is given up (the neighbour may have changed or
        // gone); the next summary starts over.
        let mut expired = false;
        for p in self.reconcile.peers.values_mut() {
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
        for (id, p) in &mut self.reconcile.peers {
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
                SyncFrame::SketchRequest {
                    target: *id,
                    fingerprint: p.fingerprint.low_half(),
                    first: first as u16,
                    count: count as u8,
                }
                .encode(),
            );
        }
        for f in frames {
            self.stats.sketch_requests_sent += 1;
            self.outbox.queue(f, Priority::High);
        }
    }

    pub(super) fn on_sketch_request(
        &mut self,
        now: Instant,
        target: NodeId,
        fingerprint: u32,
        first: u16,
        count: u8,
    ) {
        if target != self.me {
            // Someone asked that neighbour already: its answer will serve us too.
            if let Some(p) = self.reconcile.peers.get_mut(&target)
                && let Some(ask) = p.request.as_mut()
                && ask.sent.is_none()
                && p.fingerprint.low_half() == fingerprint
                && usize::from(first) + usize::from(count) >= ask.upto
            {
                ask.sent = Some(now);
            }
            return;
        }
        if fingerprint != self.set.fingerprint().low_half() {
            return; // about a state we no longer have; our next summary says so
        }

        let (first, end) = (
            usize::from(first),
            (usize::from(first) + usize::from(count)).min(sketch::MAX_CAPACITY),
        );
        let due = now + self.config.serve_delay;
        self.reconcile.sketch_reply = Some(match self.reconcile.sketch_reply {
            Some((f, e, d)) => (f.min(first), e.max(end), d),
            None => (first, end, due),
        });
    }

    pub(super) fn send_due_sketch_reply(&mut self, now: Instant) {
        let Some((first, end, due)) = self.reconcile.sketch_reply else {
            return;
        };
        if due > now {
            return;
        }
        self.reconcile.sketch_reply = None;
        let all = self.set.syndromes(end);
        let mut at = first;
        while at < end {
            let stop = (at + SYNDROMES_PER_FRAME).min(end);
            let bytes = wire::syndrome_bytes(&all[at..stop]);
            let frame = SyncFrame::Sketch {
                fingerprint: self.set.fingerprint(),
                count: self.set.len(),
                first: at as u16,
                syndromes: Syndromes::from_bytes(&bytes).expect("whole syndromes"),
            };
            self.stats.sketches_sent += 1;
            self.outbox.queue(frame.encode(), Priority::High);
            at = stop;
        }
    }

    pub(super) fn on_sketch(
        &mut self,
        now: Instant,
        from: NodeId,
        fingerprint: Fingerprint,
        count: u32,
        first: u16,
        syndromes: Syndromes<'_>,
    ) {
        let mine = self.set.fingerprint();
        let Some(p) = self.reconcile.peers.get_mut(&from) else {
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
            p.resolved = fingerprint == mine;
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
}
