//! The signal book: every live signal a node holds, and the rules that turn
//! a pile of signed signals into one answer on every node.
//!
//! # Lifetimes and clock skew
//!
//! Times are *mesh time*: the driver's clock plus
//! [`SignalConfig::epoch_offset`](super::SignalConfig) (Unix time on field
//! nodes, the run's clock in the simulator). A signal is live at mesh time
//! `t` when `created - MAX_CLOCK_SKEW ≤ t < created + ttl`. A node whose
//! clock is at most [`MAX_CLOCK_SKEW`] behind its peer still accepts that
//! peer's fresh signals; one further off refuses them as
//! [`RejectReason::FromFuture`]. Expiry is judged on the local clock only
//! and strictly: at or after `created + ttl` a signal is never stored,
//! forwarded or delivered, so skew can shorten a lifetime by at most the
//! skew, never lengthen it.
//!
//! # Conflict rules (the same result on every node, in any arrival order)
//!
//! * **Supply, latest wins**: one capability announcement per source is
//!   held, the one with the highest `(created, id)`; an older one is
//!   refused as [`RejectReason::Superseded`].
//! * **Demand aggregation**: live, uncancelled demands are summed per
//!   `(design, deadline)` ([`SignalBook::demand_totals`]); a signer
//!   revising a demand cancels the old one.
//! * **First confirmation wins**: of the confirmations of one demand, the
//!   one with the smallest `(created, id)` wins; equal creation seconds are
//!   broken by the smaller [`SignalId`], a hash no signer can choose
//!   cheaply. Every confirmation is kept until it expires, so every node
//!   that has seen the same confirmations names the same winner, and a
//!   node that sees a losing one reports the conflict
//!   ([`Outcome::conflict`]) so the loser is told.
//! * **Cancellation**: only the signer of a signal may cancel it. A
//!   cancellation that arrives before its target is kept, and the target
//!   is refused as [`RejectReason::Cancelled`] when it comes.
//!
//! # Limits
//!
//! At most [`BookLimits::max_signals`] live signals; when full, a newcomer
//! evicts the signal expiring soonest if that expires before it, and is
//! refused as [`RejectReason::CacheFull`] otherwise. Each source may hold
//! at most [`BookLimits::max_per_source`] live signals
//! ([`RejectReason::QuotaExceeded`]) and add at most
//! [`BookLimits::max_new_per_window`] per [`BookLimits::window`]
//! ([`RejectReason::RateLimited`]).

use std::collections::{BTreeMap, BTreeSet};

use catalogue::ItemId;

use super::signal::{Payload, SignalError, SignalId, SignalRepr, SignalType, Tag};
use crate::identity::PublicKey;
use crate::time::{Duration, Instant};

/// How far ahead of the local clock a signal's creation time may be.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// Bounds on what the book holds and what one source may cost.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BookLimits {
    /// Live signals held, in total.
    pub max_signals: usize,
    /// Live signals held from one source.
    pub max_per_source: usize,
    /// New signals accepted from one source per window.
    pub max_new_per_window: u32,
    /// The rate-limit window.
    pub window: Duration,
}

impl Default for BookLimits {
    fn default() -> Self {
        BookLimits {
            max_signals: 4096,
            max_per_source: 64,
            max_new_per_window: 32,
            window: Duration::from_secs(3600),
        }
    }
}

/// Why a signal was not taken. Counted per reason in [`SignalStats`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The bytes do not decode as a signal.
    Malformed,
    /// Larger than [`MAX_SIGNAL_BYTES`](super::MAX_SIGNAL_BYTES).
    Oversized,
    /// The signature does not verify for the source key.
    BadSignature,
    /// At or past `created + ttl` on the local clock.
    Expired,
    /// Created more than [`MAX_CLOCK_SKEW`] ahead of the local clock.
    FromFuture,
    /// An older capability announcement than the one held for its source.
    Superseded,
    /// Its signer has cancelled it.
    Cancelled,
    /// A cancellation of a signal someone else signed.
    NotSigner,
    /// Its source is over its per-window rate.
    RateLimited,
    /// Its source already holds its quota of live signals.
    QuotaExceeded,
    /// The book is full of signals that outlive it.
    CacheFull,
}

impl RejectReason {
    /// Every reason, in a fixed order (for tables).
    pub const ALL: [RejectReason; 11] = [
        RejectReason::Malformed,
        RejectReason::Oversized,
        RejectReason::BadSignature,
        RejectReason::Expired,
        RejectReason::FromFuture,
        RejectReason::Superseded,
        RejectReason::Cancelled,
        RejectReason::NotSigner,
        RejectReason::RateLimited,
        RejectReason::QuotaExceeded,
        RejectReason::CacheFull,
    ];

    /// The name used in CSV files and JSON.
    pub fn name(self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::Oversized => "oversized",
            RejectReason::BadSignature => "bad_signature",
            RejectReason::Expired => "expired",
            RejectReason::FromFuture => "from_future",
            RejectReason::Superseded => "superseded",
            RejectReason::Cancelled => "cancelled",
            RejectReason::NotSigner => "not_signer",
            RejectReason::RateLimited => "rate_limited",
            RejectReason::QuotaExceeded => "quota_exceeded",
            RejectReason::CacheFull => "cache_full",
        }
    }

    fn index(self) -> usize {
        RejectReason::ALL
            .iter()
            .position(|r| *r == self)
            .expect("listed")
    }

    /// The reason for a decoding error.
    pub fn of(error: SignalError) -> RejectReason {
        match error {
            SignalError::Oversized { .. } => RejectReason::Oversized,
            SignalError::BadSignature => RejectReason::BadSignature,
            SignalError::Truncated { .. }
            | SignalError::Type(_)
            | SignalError::Field { .. }
            | SignalError::Trailing { .. } => RejectReason::Malformed,
        }
    }
}

/// Signals refused, by reason.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Rejections([u64; RejectReason::ALL.len()]);

impl Rejections {
    /// How many were refused for `reason`.
    pub fn get(&self, reason: RejectReason) -> u64 {
        self.0[reason.index()]
    }

    /// How many were refused in all.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    fn add(&mut self, reason: RejectReason) {
        self.0[reason.index()] += 1;
    }
}

/// Counters of the signal layer.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SignalStats {
    /// New signals taken into the book.
    pub accepted: u64,
    /// Copies of signals already held.
    pub duplicates: u64,
    /// Signals refused, by reason.
    pub rejected: Rejections,
    /// Signals dropped at expiry.
    pub expired: u64,
    /// Signal frames this node rebroadcast.
    pub forwarded: u64,
    /// Digest pages sent.
    pub digests_sent: u64,
    /// Pull frames sent.
    pub pulls_sent: u64,
    /// Signals sent in answer to pulls.
    pub served: u64,
    /// Filter adverts sent.
    pub filters_sent: u64,
    /// Demand and queries left untaken: neither this node's profile nor
    /// any neighbour's filter wanted them.
    pub declined: u64,
}

/// A signal that lost a first-confirmation race, and the one that beat it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Conflict {
    /// The demand both confirm.
    pub demand: SignalId,
    /// The confirmation that stands.
    pub winner: SignalId,
    /// The confirmation that lost.
    pub loser: SignalId,
    /// Who signed the loser (to tell it).
    pub loser_source: PublicKey,
}

/// What taking a new signal did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Outcome {
    /// The signal's id.
    pub id: SignalId,
    /// Signals it removed: a superseded capability, a cancelled target, an
    /// entry evicted to make room.
    pub removed: Vec<SignalId>,
    /// A first-confirmation race it took part in.
    pub conflict: Option<Conflict>,
}

/// A signal held, with the bytes it arrived as.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Held {
    /// The decoded, verified signal.
    pub repr: SignalRepr,
    /// Its encoding.
    pub bytes: Vec<u8>,
}

/// The summed live demand for one design and deadline.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize)]
pub struct DemandTotal {
    /// The design.
    pub design: ItemId,
    /// The deadline (mesh time).
    pub deadline: Instant,
    /// Quantity summed over the live demands.
    pub quantity: u64,
    /// Quantity summed over their winning confirmations.
    pub confirmed: u64,
    /// The demands summed, in id order.
    pub demands: Vec<SignalId>,
}

#[derive(Clone, Copy, Debug, Default)]
struct SourceUse {
    live: usize,
    window: u64,
    new_in_window: u32,
}

/// Live signals and the state derived from them (see the module docs).
#[derive(Clone, Debug)]
pub struct SignalBook {
    limits: BookLimits,
    live: BTreeMap<SignalId, Held>,
    by_expiry: BTreeSet<(Instant, SignalId)>,
    sources: BTreeMap<PublicKey, SourceUse>,
    /// The capability announcement held per source.
    supply: BTreeMap<PublicKey, SignalId>,
    /// Confirmations per demand, ordered by the winning rule.
    confirmations: BTreeMap<SignalId, BTreeSet<(Instant, SignalId)>>,
    /// Cancellations per target: `(signer, cancellation)`.
    cancels: BTreeMap<SignalId, BTreeSet<(PublicKey, SignalId)>>,
    stats: SignalStats,
}

impl SignalBook {
    /// An empty book.
    pub fn new(limits: BookLimits) -> Self {
        SignalBook {
            limits,
            live: BTreeMap::new(),
            by_expiry: BTreeSet::new(),
            sources: BTreeMap::new(),
            supply: BTreeMap::new(),
            confirmations: BTreeMap::new(),
            cancels: BTreeMap::new(),
            stats: SignalStats::default(),
        }
    }

    /// Counters since start.
    pub fn stats(&self) -> SignalStats {
        self.stats
    }

    pub(crate) fn stats_mut(&mut self) -> &mut SignalStats {
        &mut self.stats
    }

    /// Counts a refusal decided outside the book (e.g. a bad frame).
    pub fn count_rejection(&mut self, reason: RejectReason) {
        self.stats.rejected.add(reason);
    }

    /// A live signal.
    pub fn get(&self, id: SignalId) -> Option<&Held> {
        self.live.get(&id)
    }

    /// Whether `id` is held.
    pub fn contains(&self, id: SignalId) -> bool {
        self.live.contains_key(&id)
    }

    /// Live signals, in id order (those past expiry are left out even
    /// before [`SignalBook::prune`] runs).
    pub fn live(&self, now: Instant) -> impl Iterator<Item = (SignalId, &Held)> + '_ {
        self.live
            .iter()
            .filter(move |(_, h)| now < h.repr.expires())
            .map(|(id, h)| (*id, h))
    }

    /// Live signals held.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// The soonest expiry, if any.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.by_expiry.first().map(|(t, _)| *t)
    }

    /// Decodes, verifies and takes untrusted bytes at mesh time `now`.
    /// `Ok(None)`: already held.
    pub fn insert(&mut self, now: Instant, bytes: &[u8]) -> Result<Option<Outcome>, RejectReason> {
        self.insert_with(now, bytes, true)
    }

    /// Takes signals back from the store at open, without rate limits (they
    /// were applied when the signals first came); the expired are refused.
    pub fn restore(&mut self, now: Instant, bytes: &[u8]) -> Result<Option<Outcome>, RejectReason> {
        self.insert_with(now, bytes, false)
    }

    fn insert_with(
        &mut self,
        now: Instant,
        bytes: &[u8],
        limited: bool,
    ) -> Result<Option<Outcome>, RejectReason> {
        let result = self.try_insert(now, bytes, limited);
        match &result {
            Ok(Some(_)) => self.stats.accepted += 1,
            Ok(None) => self.stats.duplicates += 1,
            Err(reason) => self.stats.rejected.add(*reason),
        }
        result
    }

    fn try_insert(
        &mut self,
        now: Instant,
        bytes: &[u8],
        limited: bool,
    ) -> Result<Option<Outcome>, RejectReason> {
        let id = super::signal::id_of(bytes);
        if self.live.contains_key(&id) {
            return Ok(None);
        }
        let repr = SignalRepr::decode_verified(bytes).map_err(RejectReason::of)?;
        check_live(&repr, now)?;
        let source = repr.source;
        if self
            .cancels
            .get(&id)
            .is_some_and(|c| c.iter().any(|(k, _)| *k == source))
        {
            return Err(RejectReason::Cancelled);
        }
        let mut removed = Vec::new();
        // Rule checks first, so a refused signal changes nothing.
        match &repr.payload {
            Payload::Capability { .. } => {
                let held = self
                    .supply
                    .get(&source)
                    .and_then(|h| Some((*h, self.live.get(h)?)));
                if let Some((held_id, held)) = held
                    && (held.repr.created, held_id) > (repr.created, id)
                {
                    return Err(RejectReason::Superseded);
                }
            }
            Payload::Cancellation { target } => {
                if let Some(t) = self.live.get(target)
                    && t.repr.source != source
                {
                    return Err(RejectReason::NotSigner);
                }
            }
            _ => {}
        }
        let window = now.as_micros() / self.limits.window.as_micros().max(1);
        let use_ = self.sources.get(&source).copied().unwrap_or_default();
        if limited {
            if use_.live >= self.limits.max_per_source {
                return Err(RejectReason::QuotaExceeded);
            }
            if use_.window == window && use_.new_in_window >= self.limits.max_new_per_window {
                return Err(RejectReason::RateLimited);
            }
        }
        if self.live.len() >= self.limits.max_signals {
            match self.by_expiry.first().copied() {
                Some((at, victim)) if at < repr.expires() => {
                    self.remove(victim);
                    removed.push(victim);
                }
                _ => return Err(RejectReason::CacheFull),
            }
        }
        // Taken: apply the rules.
        let mut conflict = None;
        match &repr.payload {
            Payload::Capability { .. } => {
                if let Some(old) = self.supply.insert(source, id)
                    && self.remove(old)
                {
                    removed.push(old);
                }
            }
            Payload::Cancellation { target } => {
                self.cancels
                    .entry(*target)
                    .or_default()
                    .insert((source, id));
                if self.remove(*target) {
                    removed.push(*target);
                }
            }
            Payload::Confirmation { demand, .. } => {
                let set = self.confirmations.entry(*demand).or_default();
                let before = set.first().copied();
                set.insert((repr.created, id));
                let winner = set.first().copied().expect("just inserted").1;
                if let Some((_, previous)) = before {
                    let loser = if winner == id { previous } else { id };
                    let loser_source = if loser == id {
                        source
                    } else {
                        self.live[&loser].repr.source
                    };
                    conflict = Some(Conflict {
                        demand: *demand,
                        winner,
                        loser,
                        loser_source,
                    });
                }
            }
            Payload::Query { .. } | Payload::Demand { .. } => {}
        }
        let entry = self.sources.entry(source).or_default();
        entry.live += 1;
        if entry.window != window {
            entry.window = window;
            entry.new_in_window = 0;
        }
        entry.new_in_window += 1;
        self.by_expiry.insert((repr.expires(), id));
        self.live.insert(
            id,
            Held {
                repr,
                bytes: bytes.to_vec(),
            },
        );
        Ok(Some(Outcome {
            id,
            removed,
            conflict,
        }))
    }

    /// Drops every signal expired at `now`; returns their ids.
    pub fn prune(&mut self, now: Instant) -> Vec<SignalId> {
        let mut gone = Vec::new();
        while let Some(&(at, id)) = self.by_expiry.first() {
            if at > now {
                break;
            }
            self.remove(id);
            gone.push(id);
        }
        self.stats.expired += gone.len() as u64;
        self.sources.retain(|_, u| u.live > 0);
        gone
    }

    /// Removes a held signal and what it implies; false if not held.
    fn remove(&mut self, id: SignalId) -> bool {
        let Some(held) = self.live.remove(&id) else {
            return false;
        };
        let repr = &held.repr;
        self.by_expiry.remove(&(repr.expires(), id));
        if let Some(u) = self.sources.get_mut(&repr.source) {
            u.live = u.live.saturating_sub(1);
        }
        match &repr.payload {
            Payload::Capability { .. } => {
                if self.supply.get(&repr.source) == Some(&id) {
                    self.supply.remove(&repr.source);
                }
            }
            Payload::Confirmation { demand, .. } => {
                if let Some(set) = self.confirmations.get_mut(demand) {
                    set.remove(&(repr.created, id));
                    if set.is_empty() {
                        self.confirmations.remove(demand);
                    }
                }
            }
            Payload::Cancellation { target } => {
                if let Some(set) = self.cancels.get_mut(target) {
                    set.remove(&(repr.source, id));
                    if set.is_empty() {
                        self.cancels.remove(target);
                    }
                }
            }
            Payload::Query { .. } | Payload::Demand { .. } => {}
        }
        true
    }

    // ----- derived state -------------------------------------------------

    /// The winning confirmation of a demand.
    pub fn winner(&self, demand: SignalId) -> Option<SignalId> {
        self.confirmations
            .get(&demand)
            .and_then(|s| s.first())
            .map(|(_, id)| *id)
    }

    /// Every confirmation of a demand, winner first.
    pub fn confirmations_of(&self, demand: SignalId) -> impl Iterator<Item = SignalId> + '_ {
        self.confirmations
            .get(&demand)
            .into_iter()
            .flatten()
            .map(|(_, id)| *id)
    }

    /// The capability tags each source announces (latest wins), by source.
    pub fn supply(&self) -> impl Iterator<Item = (PublicKey, &[Tag])> + '_ {
        self.supply
            .iter()
            .filter_map(|(k, id)| Some((*k, self.live.get(id)?.repr.payload.tags())))
    }

    /// Live demand summed per `(design, deadline)`, in that order.
    pub fn demand_totals(&self, now: Instant) -> Vec<DemandTotal> {
        let mut totals: BTreeMap<(ItemId, Instant), DemandTotal> = BTreeMap::new();
        for (id, held) in self.live(now) {
            let Payload::Demand {
                design,
                quantity,
                deadline,
                ..
            } = &held.repr.payload
            else {
                continue;
            };
            let t = totals
                .entry((*design, *deadline))
                .or_insert_with(|| DemandTotal {
                    design: *design,
                    deadline: *deadline,
                    quantity: 0,
                    confirmed: 0,
                    demands: Vec::new(),
                });
            t.quantity += u64::from(*quantity);
            t.demands.push(id);
            if let Some(w) = self.winner(id).and_then(|w| self.live.get(&w))
                && let Payload::Confirmation { quantity, .. } = w.repr.payload
            {
                t.confirmed += u64::from(quantity);
            }
        }
        totals.into_values().collect()
    }

    /// The live signals of one type, in id order.
    pub fn of_type(
        &self,
        now: Instant,
        ty: SignalType,
    ) -> impl Iterator<Item = (SignalId, &Held)> + '_ {
        self.live(now)
            .filter(move |(_, h)| h.repr.signal_type() == ty)
    }
}

/// Refuses a signal that is not live at `now` (see the module docs).
pub fn check_live(repr: &SignalRepr, now: Instant) -> Result<(), RejectReason> {
    if now >= repr.expires() {
        return Err(RejectReason::Expired);
    }
    if repr.created > now.checked_add(MAX_CLOCK_SKEW).unwrap_or(Instant::MAX) {
        return Err(RejectReason::FromFuture);
    }
    Ok(())
}

/// Whether a facility with `have` meets a requirement set `need`: every
/// needed tag is held.
pub fn satisfies(have: &[Tag], need: &[Tag]) -> bool {
    need.iter().all(|t| have.binary_search(t).is_ok())
}
