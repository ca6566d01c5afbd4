//! The signal layer's state machine: how signals spread between
//! neighbours, owned by the [`Node`](crate::Node) beside the sync engine.
//!
//! # Propagation
//!
//! * **Epidemic** — urgent signals, queries, confirmations and
//!   cancellations are sent to direct neighbours with a relay budget
//!   (`hops_left`, [`SignalConfig::urgent_hops`] at the source). A node that
//!   takes one for the first time rebroadcasts it once, with probability
//!   [`SignalConfig::epidemic_p`], after a random delay of up to
//!   [`SignalConfig::relay_jitter`], unless it overhears
//!   [`SignalConfig::suppress_copies`] copies first. Duplicates are never
//!   relayed (the book knows every id it holds).
//! * **Plain flooding** (the baseline, chosen per signal by its source): the
//!   relay byte's top bit makes every node rebroadcast once, with
//!   probability 1 and no suppression. Metrics compare the two in one run.
//! * **Reconciliation** — every live signal but queries is a member of a set,
//!   like the catalogue: a Trickle timer ([`SignalConfig::trickle`])
//!   broadcasts a digest page (the set's fingerprint and up to
//!   [`MAX_DIGEST_IDS`] id prefixes); a neighbour whose fingerprint differs
//!   pulls what it lacks in the page's range from the sender, which answers
//!   with the signals to its neighbours. Expired signals leave the set on
//!   every node by themselves.
//!
//! # Routing by filters
//!
//! Each node holds a [`TagFilter`] of its own interests (capabilities and
//! subscriptions) and advertises, in one [`SignalFrame::Filter`], levels
//! 0..[`MAX_FILTER_LEVELS`]: level 0 its own filter, level d what may be
//! wanted within d hops of it (its level d − 1 and its neighbours', united).
//! A node that first hears a demand or a query (not a flooded one) takes it
//! (stores, delivers, relays) only if its own full profile wants it
//! ([`concerns`]), or if some neighbour other than the sender may want it
//! ([`TagFilter::may_want`]) within the relays the signal has left (a
//! signal spread by digest and pull: within the deepest level).
//! Otherwise it *declines* it: not stored, delivered or relayed; its id is
//! remembered until expiry, so copies with no more relays left and digests
//! do not bring it back, and its bytes are kept (bounded like the book)
//! only to answer a neighbour's pull, since the id is in this node's digest
//! pages. A node that knows no neighbour filter takes everything (the
//! fallback: broadcast as before). Carriers of a routed signal rebroadcast
//! it with probability [`ROUTED_P`] (there are fewer of them than an
//! epidemic's relays). False positives only cost relays: a node answers a
//! query and reports demand by its full profile, never by a filter.
//!
//! Adverts are sent when the levels change, at most once per
//! [`ADVERT_MIN_GAP`], and every [`ADVERT_PERIOD`]; a neighbour's filter
//! ages out after [`FILTER_MAX_AGE`] unheard, and at most
//! [`MAX_NEIGHBOUR_FILTERS`] are held (the oldest heard goes). A node with
//! no interest anywhere within reach advertises nothing and costs its mesh
//! nothing; one that hears an advert answers with its own, empty or not
//! (so that "nothing wanted here" spreads, and nodes decline instead of
//! falling back to broadcast).
//!
//! The adverts are hop-local hints, bound to the link they are heard on
//! and unsigned. A neighbour that lies can only move relays: claiming
//! everything makes its neighbours carry each filtered signal once, the
//! cost of the flooding baseline and no more (every node takes and relays
//! a signal at most once); claiming nothing hides only what lies behind
//! it; changing its filter every second costs each neighbour at most one
//! advert per [`ADVERT_MIN_GAP`].
//!
//! # Priority
//!
//! Urgent signals and their relays go at [`Priority::Signal`]: behind
//! chat ([`Priority::Normal`]), so people's messages always leave first,
//! and ahead of catalogue catch-up, which sync sends at
//! [`Priority::Background`]; digests, pulls and other signals go at
//! `Background` too and wait while the channel is busy.
//!
//! # Time
//!
//! Every rule is judged on mesh time, the driver's `now` plus
//! [`SignalConfig::epoch_offset`]. A signal is checked again when a
//! rebroadcast or a pull answer is due: one that expired meanwhile is
//! dropped, never sent.

mod events;
mod filters;
mod reconcile;
mod take;

pub use events::{PublishSignalError, SignalEvent, SignalSpec};

use std::collections::{BTreeMap, BTreeSet};

use super::bloom::TagFilter;
use super::book::{Conflict, RejectReason, SignalBook, check_live, satisfies};
use super::config::SignalConfig;
use super::signal::{Draft, Payload, SignalBytes, SignalError, SignalId, SignalRepr, SignalType};
use crate::id::NodeId;
use crate::identity::{LazyKeypair, PublicKey};
use crate::rng::Rng;
use crate::store::{Storage, Store};
use crate::sync::trickle::Trickle;
use crate::time::{Duration, Instant};
use crate::transport::{Destination, OutFrame, Priority, RxFrame, SendError, Transport};
use crate::wire::{MAX_DIGEST_IDS, MAX_FILTER_LEVELS, MAX_PULLS_PER_FRAME, SignalFrame};

/// The relay byte's flag for plain flooding (the baseline).
pub const FLOOD_FLAG: u8 = 0x80;

/// The largest relay budget the relay byte holds.
pub const MAX_RELAY_HOPS: u8 = 15;

/// Id prefixes per digest page: 16 keep a digest at 84 bytes (about half
/// a second on LongFast), a quarter of the frame limit.
const DIGEST_PAGE: usize = 16;
const _: () = assert!(DIGEST_PAGE <= MAX_DIGEST_IDS);

/// How long a pulled prefix is not pulled again.
const PULL_BACKOFF: Duration = Duration::from_secs(120);

/// How long a served signal is not served again.
const SERVE_BACKOFF: Duration = Duration::from_secs(10);

/// Retry delay while the radio's queue is full.
const RETRY: Duration = Duration::from_secs(2);

/// Rebroadcast probability of a carrier of a routed demand or query:
/// filters leave few carriers, so they relay more surely than the
/// epidemic's P (tuned on `demand`: 0.7 delivered 96.9 %, 1.0 cost more
/// frames than flooding).
pub const ROUTED_P: f64 = 0.85;

/// The shortest time between two filter adverts of one node.
pub const ADVERT_MIN_GAP: Duration = Duration::from_secs(60);

/// Filter adverts are repeated this often while there is anything to say.
pub const ADVERT_PERIOD: Duration = Duration::from_secs(3600);

/// A neighbour's filter unheard this long is forgotten (three periods
/// missed).
pub const FILTER_MAX_AGE: Duration = Duration::from_secs(3 * 3600 + 60);

/// Neighbour filters held at most.
pub const MAX_NEIGHBOUR_FILTERS: usize = 32;

#[derive(Clone, Debug)]
struct Pending {
    /// The signal carried (checked for expiry before sending).
    signal: Option<SignalId>,
    frame: OutFrame,
    relay: bool,
}

/// A signal declined: not in the book, never delivered, its bytes kept
/// only to answer a neighbour's pull (a relay cache, bounded like the
/// book).
#[derive(Clone, Debug)]
struct Declined {
    /// Mesh time.
    expires: Instant,
    ty: SignalType,
    /// The most relays left of a copy heard.
    hops: u8,
    bytes: Vec<u8>,
}

/// A neighbour's advertised filters.
#[derive(Clone, Debug)]
struct Heard {
    levels: Vec<TagFilter>,
    truncated: bool,
    at: Instant,
}

impl Heard {
    /// What is wanted within `d` hops of the neighbour: past its last
    /// level, that level (it added nothing deeper), or anything when its
    /// advert was cut short.
    fn level(&self, d: usize) -> TagFilter {
        match self.levels.get(d) {
            Some(f) => *f,
            None if self.truncated => TagFilter::FULL,
            None => self.levels.last().copied().unwrap_or(TagFilter::EMPTY),
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Copies {
    heard: u32,
    pending: Option<(Instant, u64)>,
    expires: Instant,
}

/// The signal layer of one node.
#[derive(Debug)]
pub struct SignalEngine {
    id: NodeId,
    config: SignalConfig,
    key: LazyKeypair,
    book: SignalBook,
    rng: Rng,
    trickle: Trickle,
    page: usize,
    pending: BTreeMap<(Instant, u64), Pending>,
    seq: u64,
    copies: BTreeMap<SignalId, Copies>,
    served: BTreeMap<SignalId, Instant>,
    pulled: BTreeMap<u32, Instant>,
    answered: BTreeSet<SignalId>,
    told: BTreeSet<SignalId>,
    events: Vec<SignalEvent>,
    dropped_sends: u64,
    own_filter: TagFilter,
    neighbours: BTreeMap<NodeId, Heard>,
    /// The levels last advertised (empty: none).
    advertised: Vec<TagFilter>,
    last_advert: Option<Instant>,
    advert_at: Option<Instant>,
    /// Demand and queries declined, until they expire.
    declined: BTreeMap<SignalId, Declined>,
}

impl SignalEngine {
    /// Starts the layer at `now`, taking the store's signal log back into
    /// the book (the expired are dropped from the log).
    pub fn new<S: Storage>(
        id: NodeId,
        config: SignalConfig,
        key: LazyKeypair,
        mut rng: Rng,
        store: &mut Store<S>,
        now: Instant,
    ) -> Self {
        let trickle = Trickle::new(config.trickle, now, &mut rng);
        let own_filter = TagFilter::of(config.capabilities.iter().chain(&config.subscriptions));
        // Only a node with interests starts advertising (spread over the
        // first gap); the others speak once they hear of some.
        let advert_at = (config.filters && !own_filter.is_empty())
            .then(|| now + Duration::from_micros(rng.below(ADVERT_MIN_GAP.as_micros())));
        let mut engine = SignalEngine {
            id,
            book: SignalBook::new(config.limits),
            config,
            key,
            rng,
            trickle,
            page: 0,
            pending: BTreeMap::new(),
            seq: 0,
            copies: BTreeMap::new(),
            served: BTreeMap::new(),
            pulled: BTreeMap::new(),
            answered: BTreeSet::new(),
            told: BTreeSet::new(),
            events: Vec::new(),
            dropped_sends: 0,
            own_filter,
            neighbours: BTreeMap::new(),
            advertised: Vec::new(),
            last_advert: None,
            advert_at,
            declined: BTreeMap::new(),
        };
        let mesh = engine.mesh(now);
        let logged: Vec<(u64, Vec<u8>)> = store.signals().map(|(i, b)| (i, b.to_vec())).collect();
        let mut gone = Vec::new();
        for (id, bytes) in logged {
            match engine.book.restore(mesh, &bytes) {
                Ok(Some(out)) => gone.extend(out.removed.iter().map(|s| s.0)),
                Ok(None) => {}
                Err(_) => gone.push(id),
            }
        }
        // A failing log shows up on the next write; the book is right anyway.
        let _ = store.drop_signals(&gone);
        engine
    }

    /// The book of live signals.
    pub fn book(&self) -> &SignalBook {
        &self.book
    }

    /// This node's signing key.
    pub fn public_key(&self) -> PublicKey {
        self.key.get().public()
    }

    /// The settings.
    pub fn config(&self) -> &SignalConfig {
        &self.config
    }

    /// Mesh time at driver time `now`.
    pub fn mesh(&self, now: Instant) -> Instant {
        now.checked_add(self.config.epoch_offset)
            .unwrap_or(Instant::MAX)
    }

    /// Sends refused or dropped because the layer's queue was full.
    pub fn dropped_sends(&self) -> u64 {
        self.dropped_sends
    }

    /// Events since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<SignalEvent> {
        std::mem::take(&mut self.events)
    }

    /// Whether a signal concerns this node's facility ([`concerns`]).
    pub fn matches(&self, repr: &SignalRepr) -> bool {
        concerns(&self.config, repr)
    }

    /// When [`SignalEngine::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let expiry = self
            .book
            .next_expiry()
            .map(|t| t.saturating_sub(self.config.epoch_offset));
        // No timer at all while nothing is held: a node without signals
        // costs its mesh nothing.
        let digest = (!self.book.is_empty()).then(|| self.trickle.poll_timeout());
        let age_out = self
            .neighbours
            .values()
            .map(|h| h.at + FILTER_MAX_AGE)
            .min();
        [
            digest,
            self.pending.keys().next().map(|(t, _)| *t),
            expiry,
            self.advert_at,
            age_out,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ----- inputs ---------------------------------------------------------

    /// Handles a frame of the signal family.
    pub fn handle_frame<S: Storage, T: Transport>(
        &mut self,
        now: Instant,
        rx: &RxFrame<'_>,
        frame: SignalFrame<'_>,
        store: &mut Store<S>,
        tx: &mut T,
    ) {
        match frame {
            SignalFrame::Signal { hops_left, signal } => {
                self.take(now, rx.from, hops_left, signal, store);
            }
            SignalFrame::Digest {
                fingerprint,
                lo,
                hi,
                ids,
                ..
            } => self.on_digest(now, rx.from, fingerprint, lo, hi, &ids),
            SignalFrame::Pull { target, ids } => {
                if target == self.id {
                    self.serve(now, &ids);
                }
            }
            SignalFrame::Filter { truncated, levels } => {
                self.on_filter(now, rx.from, truncated, levels)
            }
        }
        self.flush(now, tx);
    }

    /// Runs timers due at `now`: expiry, digests, scheduled sends.
    pub fn handle_timeout<S: Storage, T: Transport>(
        &mut self,
        now: Instant,
        store: &mut Store<S>,
        tx: &mut T,
    ) {
        let mesh = self.mesh(now);
        if self.book.next_expiry().is_some_and(|t| t <= mesh) {
            let gone: Vec<u64> = self.book.prune(mesh).iter().map(|s| s.0).collect();
            let _ = store.drop_signals(&gone);
            self.copies.retain(|_, c| c.expires > mesh);
            self.served
                .retain(|_, t| now.saturating_since(*t) < SERVE_BACKOFF);
            self.pulled
                .retain(|_, t| now.saturating_since(*t) < PULL_BACKOFF);
            let book = &self.book;
            self.answered.retain(|id| book.contains(*id));
            self.told.retain(|id| book.contains(*id));
        }
        if self.trickle.poll_timeout() <= now && self.trickle.handle_timeout(now, &mut self.rng) {
            self.send_digest(now);
        }
        self.declined.retain(|_, d| d.expires > mesh);
        let before = self.neighbours.len();
        self.neighbours
            .retain(|_, h| now.saturating_since(h.at) < FILTER_MAX_AGE);
        if self.neighbours.len() != before {
            self.levels_changed(now);
        }
        if self.advert_at.is_some_and(|t| t <= now) {
            self.send_advert(now);
        }
        self.flush(now, tx);
    }

    // ----- commands -------------------------------------------------------

    /// Signs and publishes a signal of this node at `now`.
    pub fn publish<S: Storage, T: Transport>(
        &mut self,
        now: Instant,
        spec: SignalSpec,
        store: &mut Store<S>,
        tx: &mut T,
    ) -> Result<SignalId, PublishSignalError> {
        let SignalSpec {
            payload,
            urgent,
            ttl,
            flood,
        } = spec;
        let mesh = self.mesh(now);
        if let Payload::Cancellation { target } = payload
            && !self.book.contains(target)
        {
            return Err(PublishSignalError::Unknown(target));
        }
        let repr = SignalRepr::sign(
            self.key.get(),
            Draft {
                payload,
                urgent,
                created: mesh,
                ttl,
            },
        )?;
        let bytes = repr.encode();
        let out = match self.book.insert(mesh, &bytes) {
            Ok(Some(out)) => out,
            Ok(None) => return Ok(repr.id()),
            Err(reason) => return Err(PublishSignalError::Refused(reason)),
        };
        store
            .put_signal(out.id.0, &bytes)
            .map_err(|e| PublishSignalError::Store(e.to_string()))?;
        let removed: Vec<u64> = out.removed.iter().map(|s| s.0).collect();
        let _ = store.drop_signals(&removed);
        let ty = repr.signal_type();
        self.events.push(published_event(&repr, bytes.len(), flood));
        let hops = if relays(&repr) || flood {
            self.config.urgent_hops.min(MAX_RELAY_HOPS)
        } else {
            0
        };
        let relay = hops | if flood { FLOOD_FLAG } else { 0 };
        self.schedule(
            now,
            Some(out.id),
            signal_frame(relay, &bytes),
            priority(&repr),
            false,
        );
        if ty != SignalType::Query {
            self.trickle.hear_inconsistent(now, &mut self.rng);
        }
        if let Some(c) = out.conflict {
            self.on_conflict(now, c);
        }
        self.flush(now, tx);
        Ok(out.id)
    }

    /// Asks the mesh for facilities holding every tag of `need`: answered
    /// from the book when a live capability announcement matches (nothing
    /// is sent), else sent as an urgent query.
    pub fn ask<S: Storage, T: Transport>(
        &mut self,
        now: Instant,
        need: Vec<super::signal::Tag>,
        ttl: Duration,
        store: &mut Store<S>,
        tx: &mut T,
    ) -> Result<(SignalId, bool), PublishSignalError> {
        let me = self.key.get().public();
        let known = self
            .book
            .supply()
            .filter(|(k, tags)| *k != me && satisfies(tags, &need))
            .count() as u32;
        let payload = Payload::Query { tags: need };
        if known > 0 {
            // The query that would have been sent, for the record.
            let repr = SignalRepr::sign(
                self.key.get(),
                Draft {
                    payload,
                    urgent: true,
                    created: self.mesh(now),
                    ttl,
                },
            )?;
            self.events.push(SignalEvent::Answered {
                query: repr.id(),
                local: true,
                facilities: known,
            });
            return Ok((repr.id(), true));
        }
        let spec = SignalSpec {
            payload,
            urgent: true,
            ttl,
            flood: false,
        };
        let id = self.publish(now, spec, store, tx)?;
        Ok((id, false))
    }

    // ----- internals ------------------------------------------------------

    /// Queues a broadcast of this layer's own (a digest page, a filter
    /// advert) for `at`, at background priority.
    fn schedule_own(&mut self, at: Instant, payload: Vec<u8>) {
        self.schedule(at, None, broadcast(payload), Priority::Background, false);
    }

    fn jitter(&mut self) -> Duration {
        Duration::from_micros(self.rng.below(self.config.relay_jitter.as_micros().max(1)))
    }

    /// Queues a send for `at`; the layer's queue is bounded: when full, a
    /// background frame gives way to a more urgent one, else the new one is
    /// dropped.
    fn schedule(
        &mut self,
        at: Instant,
        signal: Option<SignalId>,
        mut frame: OutFrame,
        priority: Priority,
        relay: bool,
    ) -> Option<(Instant, u64)> {
        frame.priority = priority;
        if self.pending.len() >= self.config.max_pending {
            let victim = self
                .pending
                .iter()
                .rev()
                .find(|(_, p)| p.frame.priority < priority)
                .map(|(k, _)| *k);
            match victim {
                Some(k) => {
                    self.pending.remove(&k);
                }
                None => {
                    self.dropped_sends += 1;
                    return None;
                }
            }
            self.dropped_sends += 1;
        }
        let key = (at, self.seq);
        self.seq += 1;
        self.pending.insert(
            key,
            Pending {
                signal,
                frame,
                relay,
            },
        );
        Some(key)
    }

    /// Hands due frames to the radio; an expired signal is dropped, never
    /// sent; a full radio queue is retried later.
    fn flush<T: Transport>(&mut self, now: Instant, tx: &mut T) {
        let mesh = self.mesh(now);
        let busy = crate::sync::channel_busy(tx);
        let due: Vec<(Instant, u64)> = self
            .pending
            .range(..=(now, u64::MAX))
            .map(|(k, _)| *k)
            .collect();
        let mut full = false;
        for key in due {
            let p = self.pending.remove(&key).expect("listed");
            if let Some(id) = p.signal {
                let live = self.book.get(id).is_some_and(|h| mesh < h.repr.expires())
                    || self.declined.get(&id).is_some_and(|d| mesh < d.expires);
                if !live {
                    continue;
                }
            }
            if full || (busy && p.frame.priority == Priority::Background) {
                self.pending.insert((now + RETRY, key.1), p);
                continue;
            }
            match tx.send(p.frame.clone()) {
                Ok(()) => {
                    if let (true, Some(id)) = (p.relay, p.signal) {
                        self.book.stats_mut().forwarded += 1;
                        self.events.push(SignalEvent::Relayed { id });
                    }
                }
                Err(SendError::QueueFull | SendError::DutyCycle) => {
                    self.pending.insert((now + RETRY, key.1), p);
                    full = true;
                }
                Err(_) => self.dropped_sends += 1,
            }
        }
    }
}

fn published_event(repr: &SignalRepr, len: usize, flood: bool) -> SignalEvent {
    SignalEvent::Published {
        id: repr.id(),
        ty: repr.signal_type(),
        size_bytes: len as u16,
        urgent: repr.urgent,
        flood,
        ttl: repr.ttl,
        refers: match repr.payload {
            Payload::Confirmation { demand, .. } => demand,
            Payload::Cancellation { target } => target,
            _ => SignalId(0),
        },
    }
}

/// Whether a signal concerns a node with `config`: a query its facility
/// can answer, or demand matching its subscriptions (or, without any, its
/// capabilities).
pub fn concerns(config: &SignalConfig, repr: &SignalRepr) -> bool {
    let caps = &config.capabilities;
    match &repr.payload {
        Payload::Query { tags } => !caps.is_empty() && satisfies(caps, tags),
        Payload::Demand { tags, .. } => {
            if config.subscriptions.is_empty() {
                !caps.is_empty() && satisfies(caps, tags)
            } else {
                tags.iter()
                    .any(|t| config.subscriptions.binary_search(t).is_ok())
            }
        }
        _ => false,
    }
}

/// Whether a signal spreads by epidemic relays (else only by
/// reconciliation).
fn relays(repr: &SignalRepr) -> bool {
    repr.urgent
        || matches!(
            repr.signal_type(),
            SignalType::Query | SignalType::Confirmation | SignalType::Cancellation
        )
}

fn priority(repr: &SignalRepr) -> Priority {
    if relays(repr) {
        Priority::Signal
    } else {
        Priority::Background
    }
}

fn broadcast(payload: Vec<u8>) -> OutFrame {
    OutFrame {
        dest: Destination::Broadcast,
        hop_limit: 0,
        priority: Priority::Background,
        payload,
    }
}

fn signal_frame(relay: u8, bytes: &[u8]) -> OutFrame {
    broadcast(
        SignalFrame::Signal {
            hops_left: relay,
            signal: bytes,
        }
        .encode(),
    )
}
