//! Partitioned reconciliation: differences of any size, for when one set
//! sketch cannot decode (a late joiner missing thousands of items, two
//! halves of a partition that each published hundreds).
//!
//! The element space is cut into [`Bucket`]s by the elements' top bits. A
//! node whose sketch exchange with a neighbour cannot succeed (the sets'
//! sizes differ by more than [`sketch::MAX_CAPACITY`], or the sketch
//! failed to decode at [`BUCKET_SWITCH`] syndromes) opens a **session**
//! with it, one at a time:
//!
//! 1. **Counts.** It asks (bucket request) for the neighbour's element
//!    count in each of `2^k` fine buckets, `k` chosen from what it knows of
//!    the difference (a lower bound) so that each fine bucket holds a few
//!    differences; the answer is one varint per bucket (bucket counts).
//! 2. **Plan.** With its own counts, per fine bucket the count difference
//!    `g` is a lower bound of the bucket's difference, and across buckets
//!    the variance of `g` estimates the whole difference `d` (a one- or
//!    two-sided difference alike adds one to the variance per differing
//!    element). It sketches coarser buckets of about
//!    [`TARGET_PER_BUCKET`] differences each, with a capacity of the
//!    bucket's summed `|g|` plus the pairs `|g|` cannot see (the estimate's
//!    excess, spread evenly) and a small margin — for a one-sided
//!    difference, the exact count.
//! 3. **Sketches.** It asks for bucket sketches (bucket sketch frames,
//!    [`MAX_ASKED_SYNDROMES`](crate::wire::MAX_ASKED_SYNDROMES) per request)
//!    and decodes each bucket as its syndromes arrive; what a decoded
//!    bucket lacks is wanted at once. A bucket that does not decode (or
//!    whose result does not explain its count difference) is extended by
//!    an eighth — sketches are extensible, nothing is sent twice — and one
//!    that fails at the decoder's capacity is split in two.
//! 4. **Check.** When every bucket has decoded, the differences must
//!    explain the neighbour's fingerprint; then the neighbour is resolved.
//!
//! # Limits
//!
//! What one neighbour may cost: a request asks for at most
//! [`MAX_ASKED_COUNTS`](crate::wire::MAX_ASKED_COUNTS) counts and 1,024
//! syndromes; the answers a node owes are merged and capped at
//! [`MAX_REPLY_SYNDROMES`] (the excess is dropped and counted in
//! `SyncStats::bucket_asks_dropped`); a decode is at most
//! [`sketch::MAX_CAPACITY`] syndromes. A session holds at most
//! [`MAX_SESSION_SYNDROMES`] syndromes: a bigger difference is reconciled
//! in part (counted in `SyncStats::sessions_truncated`) and the next
//! summary opens a session for the rest. A session whose first request
//! goes unanswered (as a spoofed origin's would), or whose later requests
//! go unanswered [`MAX_SESSION_RETRIES`] times in a row, or whose buckets
//! cannot be split further, is given up (`SyncStats::sessions_failed`) and the next
//! summary starts over.

use std::collections::BTreeMap;

use super::bucket::{Bucket, MAX_BUCKET_DEPTH};
use super::sketch::{self, MAX_CAPACITY};
use super::{Element, Fingerprint, SyncEngine};
use crate::id::NodeId;
use crate::time::Instant;
use crate::transport::{MESHTASTIC_MAX_PAYLOAD_BYTES, Priority};
use crate::wire::{
    BucketAsk, BucketSyndromes, CountAsk, HEADER_LEN, MAX_ASKED_COUNTS, MAX_ASKED_SYNDROMES,
    MAX_BUCKET_ASKS, SyncFrame, Syndromes, put_varint, syndrome_bytes,
};

/// A failed sketch decode at this many syndromes or more (with sets of
/// similar size) opens a session instead of asking for half as many again:
/// growing one sketch by half each time wastes up to a third of what a
/// large difference costs.
pub(super) const BUCKET_SWITCH: usize = 200;

/// Differences a sketched bucket is planned to hold: large enough that the
/// margin a capacity needs is a small share, small enough that a decode
/// stays cheap.
const TARGET_PER_BUCKET: f64 = 64.0;

/// Fine (counted) buckets per sketched bucket, as a depth: 16.
const COUNT_REFINE: u8 = 4;

/// Fewest fine buckets counted, as a depth (128): the variance of their
/// count differences estimates the difference to within about 12 %.
const MIN_COUNT_DEPTH: u8 = 7;

/// Deepest buckets counted (`2^12` = [`MAX_ASKED_COUNTS`] counts).
const MAX_COUNT_DEPTH: u8 = 12;

/// Standard deviations of a bucket's unseen pairs planned for: a bucket
/// that needs more is extended, by an eighth.
const MARGIN: f64 = 0.5;

/// Unanswered requests in a row before a session is given up.
pub(super) const MAX_SESSION_RETRIES: u32 = 3;

/// Most syndromes one session holds (1 MiB): bounds the memory one
/// neighbour's session costs.
pub(super) const MAX_SESSION_SYNDROMES: usize = 1 << 17;

/// Most syndromes a node owes in answers at once.
pub(super) const MAX_REPLY_SYNDROMES: usize = 4 * MAX_ASKED_SYNDROMES;

/// The capacity a bucket split off one that failed at [`MAX_CAPACITY`]
/// starts with (it holds about half of more than that).
const SPLIT_CAPACITY: usize = MAX_CAPACITY * 3 / 4;

/// One reconciliation session with a neighbour.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) peer: NodeId,
    /// The neighbour's set this session is about.
    fingerprint: Fingerprint,
    /// A lower bound of the difference when the session opened.
    floor: usize,
    count_depth: u8,
    /// The neighbour's count per fine bucket, as they arrive.
    counts: Vec<Option<u32>>,
    /// The buckets being sketched (empty while counting).
    slots: BTreeMap<Bucket, Slot>,
    /// Elements found that the neighbour holds and we lacked.
    theirs_only: Vec<Element>,
    /// Elements found that we hold and the neighbour lacks.
    mine_only: Vec<Element>,
    /// When the next request is due.
    due: Instant,
    /// When the request in flight was sent.
    sent: Option<Instant>,
    retries: u32,
    /// Whether the neighbour answered anything yet: a session with one
    /// that never does (a spoofed origin's summary) ends at the first
    /// timeout, as a sketch request would.
    answered: bool,
    /// Syndromes received in all (the session's size on the air).
    received: usize,
}

/// One bucket being sketched.
#[derive(Debug)]
struct Slot {
    /// The neighbour's count in it, when known.
    their_count: Option<u32>,
    /// The capacity to decode at next.
    want: usize,
    /// The neighbour's syndromes so far.
    syndromes: Vec<u64>,
    /// Asked for in the request in flight.
    asked: bool,
    done: bool,
}

/// Answers a node owes: merged bucket requests.
#[derive(Debug)]
pub(super) struct BucketReply {
    due: Instant,
    counts: Option<CountAsk>,
    runs: BTreeMap<Bucket, (usize, usize)>,
}

impl BucketReply {
    /// When the answers go out.
    pub(super) fn due(&self) -> Instant {
        self.due
    }

    fn syndromes(&self) -> usize {
        self.runs.values().map(|(f, e)| e - f).sum()
    }
}

impl Session {
    fn new(now: Instant, peer: NodeId, fingerprint: Fingerprint, floor: usize) -> Self {
        // Fine buckets of about TARGET / 16 differences each (at least the
        // lower bound's worth).
        let buckets = (floor as f64 / TARGET_PER_BUCKET).max(1.0);
        let depth =
            (buckets.log2().ceil() as u8 + COUNT_REFINE).clamp(MIN_COUNT_DEPTH, MAX_COUNT_DEPTH);
        Session {
            peer,
            fingerprint,
            floor,
            count_depth: depth,
            counts: vec![None; Bucket::buckets_at(depth) as usize],
            slots: BTreeMap::new(),
            theirs_only: Vec::new(),
            mine_only: Vec::new(),
            due: now,
            sent: None,
            retries: 0,
            answered: false,
            received: 0,
        }
    }

    /// When the session next needs attention.
    pub(super) fn deadline(&self, timeout: crate::time::Duration) -> Instant {
        self.sent.map_or(self.due, |at| at + timeout)
    }

    fn counting(&self) -> bool {
        self.slots.is_empty()
    }
}

impl SyncEngine {
    /// Opens a partitioned session with `peer` (whose set is `fingerprint`)
    /// if none is open; `floor` is what is known of the difference's size.
    pub(super) fn open_session(
        &mut self,
        now: Instant,
        peer: NodeId,
        fingerprint: Fingerprint,
        floor: usize,
    ) {
        if self.reconcile.session.is_some() {
            return;
        }
        let jitter = self.jitter(self.config.ask_jitter);
        self.stats.sessions_opened += 1;
        self.reconcile.session = Some(Session::new(now + jitter, peer, fingerprint, floor));
    }

    /// Ends the session (`ok`: it explained the neighbour's set).
    fn close_session(&mut self, ok: bool) {
        let Some(s) = self.reconcile.session.take() else {
            return;
        };
        self.reconcile.settle(s.peer, s.fingerprint, ok);
        if ok {
            self.stats.decodes += 1;
            self.stats.syndromes_used += s.received as u64;
        } else {
            self.stats.sessions_failed += 1;
        }
    }

    /// A summary from `peer` changed its fingerprint: a session about its
    /// old set ends.
    pub(super) fn peer_changed(&mut self, peer: NodeId, fingerprint: Fingerprint) {
        if self
            .reconcile
            .session
            .as_ref()
            .is_some_and(|s| s.peer == peer && s.fingerprint != fingerprint)
        {
            self.close_session(false);
        }
    }

    /// Sends the session's next request if it is due (or its last one went
    /// unanswered).
    pub(super) fn send_due_bucket_request(&mut self, now: Instant) {
        let timeout = self.config.want_timeout;
        let Some(s) = self.reconcile.session.as_mut() else {
            return;
        };
        if let Some(at) = s.sent {
            if now < at + timeout {
                return;
            }
            s.retries += 1;
            s.sent = None;
            for slot in s.slots.values_mut() {
                slot.asked = false;
            }
            if s.retries > MAX_SESSION_RETRIES || !s.answered {
                self.close_session(false);
                return;
            }
            // Asked again after a random delay: two nodes whose requests
            // collided would otherwise collide again.
            s.due = now + jitter(&mut self.rng, self.config.ask_jitter);
            return;
        } else if now < s.due {
            return;
        }
        let mut counts = None;
        let mut asks = Vec::new();
        if s.counting() {
            let first = s.counts.iter().position(Option::is_none);
            let last = s.counts.iter().rposition(Option::is_none);
            if let (Some(first), Some(last)) = (first, last) {
                counts = Some(CountAsk {
                    depth: s.count_depth,
                    from: first as u32,
                    n: ((last - first + 1) as u32).min(MAX_ASKED_COUNTS),
                });
            }
        } else {
            let mut budget = MAX_ASKED_SYNDROMES;
            for (bucket, slot) in &mut s.slots {
                if asks.len() == MAX_BUCKET_ASKS || budget == 0 {
                    break;
                }
                if slot.done || slot.syndromes.len() >= slot.want {
                    continue;
                }
                let count = (slot.want - slot.syndromes.len()).min(budget);
                budget -= count;
                slot.asked = true;
                asks.push(BucketAsk {
                    bucket: *bucket,
                    first: slot.syndromes.len() as u16,
                    count: count as u16,
                });
            }
        }
        if counts.is_none() && asks.is_empty() {
            return;
        }
        s.sent = Some(now);
        let frame = SyncFrame::BucketRequest {
            target: s.peer,
            fingerprint: s.fingerprint.low_half(),
            counts,
            asks,
        };
        self.stats.bucket_requests_sent += 1;
        self.outbox.queue(frame.encode(), Priority::High);
    }

    /// A bucket request heard: if it is for us and about our current set,
    /// the answers are merged into what we owe.
    pub(super) fn on_bucket_request(
        &mut self,
        now: Instant,
        target: NodeId,
        fingerprint: u32,
        counts: Option<CountAsk>,
        asks: &[BucketAsk],
    ) {
        if target != self.me || fingerprint != self.set.fingerprint().low_half() {
            return;
        }
        let due = now + self.config.serve_delay;
        let reply = self
            .reconcile
            .bucket_reply
            .get_or_insert_with(|| BucketReply {
                due,
                counts: None,
                runs: BTreeMap::new(),
            });
        if let Some(c) = counts {
            reply.counts = match reply.counts {
                None => Some(c),
                Some(old) if old.depth == c.depth => {
                    let from = old.from.min(c.from);
                    let end = (old.from + old.n).max(c.from + c.n);
                    Some(CountAsk {
                        depth: c.depth,
                        from,
                        n: (end - from).min(MAX_ASKED_COUNTS),
                    })
                }
                Some(old) => {
                    self.stats.bucket_asks_dropped += 1;
                    Some(old)
                }
            };
        }
        for a in asks {
            let (first, end) = (
                usize::from(a.first),
                usize::from(a.first) + usize::from(a.count),
            );
            if reply.syndromes() + (end - first) > MAX_REPLY_SYNDROMES {
                self.stats.bucket_asks_dropped += 1;
                continue;
            }
            let run = reply.runs.entry(a.bucket).or_insert((first, end));
            *run = (run.0.min(first), run.1.max(end));
        }
    }

    /// Sends the bucket counts and sketches owed, if due.
    pub(super) fn send_due_bucket_reply(&mut self, now: Instant) {
        if self
            .reconcile
            .bucket_reply
            .as_ref()
            .is_none_or(|r| r.due > now)
        {
            return;
        }
        let Some(reply) = self.reconcile.bucket_reply.take() else {
            return;
        };
        let fingerprint = self.set.fingerprint().low_half();
        let mut frames = Vec::new();
        if let Some(c) = reply.counts {
            let counts = self.set.bucket_counts(c.depth, c.from, c.n);
            let mut at = 0;
            while at < counts.len() {
                // Header, fingerprint, depth and `from`; then what fits.
                let mut len = HEADER_LEN + 4 + 1 + varint_len((c.from as usize + at) as u64);
                let mut end = at;
                while end < counts.len() && len + varint_len(u64::from(counts[end])) <= FRAME_BYTES
                {
                    len += varint_len(u64::from(counts[end]));
                    end += 1;
                }
                frames.push(
                    SyncFrame::BucketCounts {
                        fingerprint,
                        depth: c.depth,
                        from: c.from + at as u32,
                        counts: counts[at..end].to_vec(),
                    }
                    .encode(),
                );
                at = end;
            }
        }
        // Runs of syndromes packed into full frames.
        let mut runs: Vec<(Bucket, usize, Vec<u8>)> = Vec::new();
        let mut len = HEADER_LEN + 4;
        for (bucket, (first, end)) in reply.runs {
            let all = self.set.bucket_syndromes(bucket, first, end - first);
            let mut at = 0;
            while at < all.len() {
                let overhead =
                    2 + varint_len(u64::from(bucket.prefix())) + varint_len((first + at) as u64);
                let room = FRAME_BYTES.saturating_sub(len + overhead) / 8;
                if room == 0 {
                    frames.push(bucket_sketch(fingerprint, &runs));
                    runs.clear();
                    len = HEADER_LEN + 4;
                    continue;
                }
                let n = room.min(all.len() - at).min(usize::from(u8::MAX));
                runs.push((bucket, first + at, syndrome_bytes(&all[at..at + n])));
                len += overhead + 8 * n;
                at += n;
            }
        }
        if !runs.is_empty() {
            frames.push(bucket_sketch(fingerprint, &runs));
        }
        for f in frames {
            self.stats.bucket_frames_sent += 1;
            self.outbox.queue(f, Priority::High);
        }
    }

    /// Bucket counts from `from` (the session's neighbour, we hope).
    pub(super) fn on_bucket_counts(
        &mut self,
        now: Instant,
        from: NodeId,
        fingerprint: u32,
        depth: u8,
        first: u32,
        counts: &[u32],
    ) {
        let Some(s) = self.reconcile.session.as_mut() else {
            return;
        };
        if s.peer != from
            || s.fingerprint.low_half() != fingerprint
            || s.count_depth != depth
            || !s.counting()
        {
            return;
        }
        for (i, c) in counts.iter().enumerate() {
            if let Some(slot) = s.counts.get_mut(first as usize + i) {
                *slot = Some(*c);
            }
        }
        s.retries = 0;
        s.answered = true;
        if s.counts.iter().all(Option::is_some) {
            self.plan(now);
        }
    }

    /// With every count in, chooses the buckets to sketch and their
    /// capacities.
    fn plan(&mut self, now: Instant) {
        let Some(s) = self.reconcile.session.as_mut() else {
            return;
        };
        let fine_depth = s.count_depth;
        let n = s.counts.len();
        let mine = self.set.bucket_counts(fine_depth, 0, n as u32);
        let gaps: Vec<i64> = s
            .counts
            .iter()
            .zip(&mine)
            .map(|(t, m)| i64::from(t.unwrap_or(0)) - i64::from(*m))
            .collect();
        let seen: i64 = gaps.iter().map(|g| g.abs()).sum();
        // Each differing element adds one to the variance of a fine
        // bucket's count difference, whichever side holds it.
        let mean = gaps.iter().sum::<i64>() as f64 / n as f64;
        let variance =
            gaps.iter().map(|g| (*g as f64 - mean).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64;
        // A difference all on one side shows no fine bucket against the
        // overall gap: then the count differences are the difference.
        let total: i64 = gaps.iter().sum();
        let one_sided = gaps.iter().all(|g| g.signum() * total.signum() >= 0);
        let estimate = if one_sided {
            seen as f64
        } else {
            (variance * n as f64).max(seen as f64).max(s.floor as f64)
        };
        // Pairs a count difference cannot see, per fine bucket.
        let hidden = (estimate - seen as f64) / 2.0 / n as f64;
        let sketch_depth = ((estimate / TARGET_PER_BUCKET).max(1.0).log2().ceil() as u8)
            .min(fine_depth)
            .min(MAX_BUCKET_DEPTH);
        let per = 1usize << (fine_depth - sketch_depth);
        let mut budget = MAX_SESSION_SYNDROMES;
        for prefix in 0..Bucket::buckets_at(sketch_depth) as usize {
            let fine = prefix * per..(prefix + 1) * per;
            let base: i64 = gaps[fine.clone()].iter().map(|g| g.abs()).sum();
            let their: u32 = s.counts[fine].iter().map(|c| c.unwrap_or(0)).sum();
            let extra = 2.0 * hidden * per as f64;
            let want = ((base as f64 + extra + MARGIN * extra.sqrt()).ceil() as usize + 1)
                .clamp(1, MAX_CAPACITY);
            if want > budget {
                self.stats.sessions_truncated += 1;
                break;
            }
            budget -= want;
            let bucket = Bucket::new(sketch_depth, prefix as u32).expect("in range");
            s.slots.insert(
                bucket,
                Slot {
                    their_count: Some(their),
                    want,
                    syndromes: Vec::new(),
                    asked: false,
                    done: false,
                },
            );
        }
        s.sent = None;
        // Neighbours that heard the same counts plan at the same moment.
        s.due = now + jitter(&mut self.rng, self.config.ask_jitter);
    }

    /// Bucket sketch syndromes from `from`.
    pub(super) fn on_bucket_sketch(
        &mut self,
        now: Instant,
        from: NodeId,
        fingerprint: u32,
        runs: &[BucketSyndromes<'_>],
    ) {
        let Some(s) = self.reconcile.session.as_mut() else {
            return;
        };
        if s.peer != from || s.fingerprint.low_half() != fingerprint {
            return;
        }
        let mut ready = Vec::new();
        for run in runs {
            let Some(slot) = s.slots.get_mut(&run.bucket) else {
                continue;
            };
            let first = usize::from(run.first);
            if slot.done || first > slot.syndromes.len() {
                continue; // a gap: asked again when the request times out
            }
            let had = slot.syndromes.len();
            for (i, v) in run.syndromes.iter().enumerate() {
                if first + i == slot.syndromes.len() && slot.syndromes.len() < slot.want {
                    slot.syndromes.push(v);
                }
            }
            s.received += slot.syndromes.len() - had;
            if slot.syndromes.len() >= slot.want {
                slot.asked = false;
                ready.push(run.bucket);
            }
        }
        s.retries = 0;
        s.answered = true;
        for bucket in ready {
            self.decode_bucket(now, bucket);
        }
        let Some(s) = self.reconcile.session.as_mut() else {
            return;
        };
        if s.slots.values().all(|slot| slot.done) {
            self.finish_session(now);
        } else if s.sent.is_some() && !s.slots.values().any(|slot| slot.asked) {
            // The request is answered: ask for the next buckets soon.
            s.sent = None;
            s.due = now + jitter(&mut self.rng, self.config.ask_jitter);
        }
    }

    /// Decodes one bucket's difference; on failure extends or splits it.
    fn decode_bucket(&mut self, now: Instant, bucket: Bucket) {
        let Some((peer, theirs, their_count)) = self.reconcile.session.as_ref().and_then(|s| {
            let slot = s.slots.get(&bucket)?;
            Some((s.peer, slot.syndromes.clone(), slot.their_count))
        }) else {
            return;
        };
        let mine = self.set.bucket_syndromes(bucket, 0, theirs.len());
        let diff: Vec<u64> = theirs.iter().zip(&mine).map(|(a, b)| a ^ b).collect();
        let found = sketch::decode(&diff).ok().and_then(|elements| {
            let elements: Vec<Element> = elements.into_iter().map(Element).collect();
            if !elements.iter().all(|e| bucket.contains(*e)) {
                return None;
            }
            let lacked = elements.iter().filter(|e| !self.set.contains(**e)).count() as i64;
            let held = elements.len() as i64 - lacked;
            // The difference must explain the bucket's count difference.
            let counts_agree = their_count.is_none_or(|t| {
                i64::from(t) - i64::from(self.set.bucket_len(bucket)) == lacked - held
            });
            counts_agree.then_some(elements)
        });
        let Some(s) = self.reconcile.session.as_mut() else {
            return;
        };
        let Some(slot) = s.slots.get_mut(&bucket) else {
            return;
        };
        match found {
            Some(elements) => {
                slot.done = true;
                slot.syndromes = Vec::new();
                let mut missing = Vec::new();
                for e in elements {
                    if self.set.contains(e) {
                        s.mine_only.push(e);
                    } else {
                        s.theirs_only.push(e);
                        missing.push(e);
                    }
                }
                for e in missing {
                    self.want(now, e, peer);
                }
            }
            None if slot.want < MAX_CAPACITY => {
                self.stats.decode_misses += 1;
                slot.want = (slot.want + (slot.want / 8).max(4)).min(MAX_CAPACITY);
            }
            None => {
                self.stats.decode_misses += 1;
                let Some(children) = bucket.children() else {
                    self.close_session(false);
                    return;
                };
                s.slots.remove(&bucket);
                for child in children {
                    s.slots.insert(
                        child,
                        Slot {
                            their_count: None,
                            want: SPLIT_CAPACITY,
                            syndromes: Vec::new(),
                            asked: false,
                            done: false,
                        },
                    );
                }
            }
        }
    }

    /// Every bucket decoded: the differences must explain the neighbour's
    /// fingerprint (as our set is now, items received since included).
    fn finish_session(&mut self, now: Instant) {
        let Some(s) = self.reconcile.session.as_ref() else {
            return;
        };
        let mut fp = self.set.fingerprint();
        for e in &s.theirs_only {
            if !self.set.contains(*e) {
                fp = fp.with(*e);
            }
        }
        for e in &s.mine_only {
            if self.set.contains(*e) {
                fp = fp.without(*e);
            }
        }
        let ok = fp == s.fingerprint;
        if ok && !s.mine_only.is_empty() {
            // The neighbour lacks some of ours: tell it soon.
            if let Some(t) = self.trickle.as_mut() {
                t.hear_inconsistent(now, &mut self.rng);
            }
        }
        self.close_session(ok);
    }
}

/// A random delay in `0..max` ([`SyncEngine::jitter`] on the engine's
/// stream, for where the engine is borrowed in part).
fn jitter(rng: &mut crate::rng::Rng, max: crate::time::Duration) -> crate::time::Duration {
    crate::time::Duration::from_micros(rng.below(max.as_micros().max(1)))
}

/// The largest frame sent.
const FRAME_BYTES: usize = MESHTASTIC_MAX_PAYLOAD_BYTES;

/// Bytes of `v` as a varint.
fn varint_len(v: u64) -> usize {
    let mut out = Vec::new();
    put_varint(&mut out, v);
    out.len()
}

/// A bucket sketch frame of `runs`.
fn bucket_sketch(fingerprint: u32, runs: &[(Bucket, usize, Vec<u8>)]) -> Vec<u8> {
    SyncFrame::BucketSketch {
        fingerprint,
        runs: runs
            .iter()
            .map(|(bucket, first, bytes)| BucketSyndromes {
                bucket: *bucket,
                first: *first as u16,
                syndromes: Syndromes::from_bytes(bytes).expect("whole syndromes"),
            })
            .collect(),
    }
    .encode()
}
