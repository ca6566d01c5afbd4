//! The swarm: how packages move between nodes, sans-IO.
//!
//! Holders advertise which pieces of which packages they hold ([`SwarmMsg::Have`],
//! as ranges); a node that wants a package asks neighbours for its record
//! ([`SwarmMsg::RecordQuery`], flooded a few hops so that nodes on the way
//! start fetching too and forward as they receive), then requests pieces
//! rarest first, a few at a time from each of several holders
//! ([`SwarmMsg::Request`]); holders broadcast the pieces
//! ([`SwarmMsg::Piece`]) so every neighbour overhears them.
//!
//! * **Pipelining** (as Deluge does): a node advertises a piece as soon as
//!   it has verified it, so the next hop requests it while the node is
//!   still receiving others.
//! * **Overhearing**: a piece overheard for a package whose record is held
//!   is verified and kept; a request overheard for pieces this node also
//!   wants holds back its own request for them (they will be broadcast);
//!   a piece queued to serve is dropped from the queue once every node
//!   that asked for it is known to hold it (it sent the piece or
//!   advertised it). Overhearing another sender is not enough: on a chain
//!   the requester may not hear that sender.
//! * **Bad input**: a piece that fails its proof is dropped (never
//!   stored) and its sender counted; past [`SwarmConfig::max_bad_pieces`]
//!   the sender is ignored. A record that does not verify is ignored.
//!
//! Messages travel whole here: the driver (or a later fragmenting layer over
//! 233-byte LoRa frames) carries each [`Outgoing`] as one unit.
//!
//! The messages and their encoding are in [`msg`](super::msg).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::cache::{CacheError, PackageCache};
use super::msg::{MAX_RANGES, MAX_REQUEST_PIECES, SwarmError, SwarmMsg};
use super::record::PackageId;
use crate::id::NodeId;
use crate::store::Storage;
use crate::time::{Duration, Instant};
use crate::transport::Destination;

/// Holders remembered per package.
pub const MAX_HOLDERS: usize = 64;
/// Pieces an advert may name for a package whose record is not held yet.
pub const MAX_UNKNOWN_PIECES: u32 = 1 << 16;
/// Requesters remembered per queued piece (more still get it: the piece
/// is broadcast; they just cannot cancel it).
pub const MAX_PIECE_REQUESTERS: usize = 8;

/// Knobs of the swarm.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SwarmConfig {
    /// Pieces a requester keeps in flight per package.
    pub window_pieces: usize,
    /// Pieces in flight from one holder.
    pub per_holder_pieces: usize,
    /// A requested piece not received by then is asked for again.
    pub request_timeout: Duration,
    /// Interval between unprompted have adverts and record queries.
    pub advert_interval: Duration,
    /// Bad pieces from one sender before it is ignored.
    pub max_bad_pieces: u32,
    /// Hops a record query travels (the nodes on the way fetch too).
    pub query_hops: u8,
    /// Most pieces queued to serve.
    pub max_serve_queue: usize,
}

impl Default for SwarmConfig {
    fn default() -> Self {
        SwarmConfig {
            window_pieces: 8,
            per_holder_pieces: 4,
            request_timeout: Duration::from_secs(120),
            advert_interval: Duration::from_secs(30),
            max_bad_pieces: 3,
            query_hops: 4,
            max_serve_queue: 256,
        }
    }
}

/// A message to send.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Outgoing {
    /// Where to.
    pub dest: Destination,
    /// The encoded [`SwarmMsg`].
    pub bytes: Vec<u8>,
}

/// What one incoming message did, for the driver's counters and trace.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SwarmEvent {
    /// Nothing of note.
    None,
    /// A verified piece was stored.
    PieceStored {
        /// The package.
        package: PackageId,
        /// The piece.
        index: u32,
    },
    /// A piece failed verification and was dropped; the sender was counted.
    BadPiece {
        /// Who sent it.
        from: NodeId,
        /// Why.
        why: String,
    },
    /// The message came from an ignored sender.
    Ignored,
    /// Every piece of a wanted package is held and verified.
    Complete(PackageId),
}

/// Transfer progress of one wanted package.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Progress {
    /// Pieces held.
    pub pieces: u32,
    /// Pieces in the package (0 until the record is known).
    pub piece_count: u32,
    /// Payload bytes held.
    pub bytes: u64,
    /// Payload bytes in the package.
    pub total_bytes: u64,
    /// Payload bytes received since the request, per second.
    pub rate_bytes_per_s: f64,
    /// Neighbours known to hold pieces of it.
    pub holders: usize,
    /// Remaining time at the current rate, if there is a rate.
    pub eta: Option<Duration>,
}

struct Want {
    started: Instant,
    received_bytes: u64,
    /// Piece → (asked holder, deadline); `None` holder: someone else asked.
    in_flight: BTreeMap<u32, (Option<NodeId>, Instant)>,
    next_query: Instant,
    /// A relay fetch started by a neighbour's query, not the user.
    relay: bool,
}

/// The swarm state of one node over its package cache.
pub struct Swarm<S: Storage> {
    me: NodeId,
    config: SwarmConfig,
    cache: PackageCache<S>,
    wants: BTreeMap<PackageId, Want>,
    haves: BTreeMap<PackageId, BTreeMap<NodeId, BTreeSet<u32>>>,
    bad: BTreeMap<NodeId, u32>,
    /// Pieces to broadcast, with who asked and may not hold them yet.
    serve: VecDeque<(PackageId, u32, BTreeSet<NodeId>)>,
    records_to_send: BTreeSet<PackageId>,
    queries_to_send: VecDeque<(PackageId, u8)>,
    adverts_due: BTreeSet<PackageId>,
    next_advert: Instant,
    out: VecDeque<Outgoing>,
}

impl<S: Storage> std::fmt::Debug for Swarm<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Swarm")
            .field("me", &self.me)
            .field("wants", &self.wants.len())
            .field("packages", &self.cache.ids().count())
            .field("bad", &self.bad)
            .finish_non_exhaustive()
    }
}

impl<S: Storage> Swarm<S> {
    /// A swarm over `cache` for node `me`.
    pub fn new(me: NodeId, config: SwarmConfig, cache: PackageCache<S>) -> Self {
        Swarm {
            me,
            config,
            cache,
            wants: BTreeMap::new(),
            haves: BTreeMap::new(),
            bad: BTreeMap::new(),
            serve: VecDeque::new(),
            records_to_send: BTreeSet::new(),
            queries_to_send: VecDeque::new(),
            adverts_due: BTreeSet::new(),
            next_advert: Instant::ZERO,
            out: VecDeque::new(),
        }
    }

    /// The package cache.
    pub fn cache(&self) -> &PackageCache<S> {
        &self.cache
    }

    /// The package cache, to add packages built locally.
    pub fn cache_mut(&mut self) -> &mut PackageCache<S> {
        &mut self.cache
    }

    /// Closes the swarm and returns its cache.
    pub fn into_cache(self) -> PackageCache<S> {
        self.cache
    }

    /// Starts fetching a package (resuming from the pieces already cached).
    pub fn request(&mut self, now: Instant, id: PackageId) {
        self.want(now, id, false);
    }

    fn want(&mut self, now: Instant, id: PackageId, relay: bool) {
        if self.is_complete(id) {
            return;
        }
        self.wants.entry(id).or_insert(Want {
            started: now,
            received_bytes: 0,
            in_flight: BTreeMap::new(),
            next_query: now,
            relay,
        });
    }

    /// Stops fetching a package (the pieces held stay cached).
    pub fn cancel(&mut self, id: PackageId) -> bool {
        self.wants.remove(&id).is_some()
    }

    /// The packages being fetched.
    pub fn wanted(&self) -> impl Iterator<Item = PackageId> + '_ {
        self.wants.keys().copied()
    }

    fn is_complete(&self, id: PackageId) -> bool {
        self.cache
            .held(id)
            .is_some_and(|h| h.pieces == h.piece_count)
    }

    /// Whether `node` is ignored for sending bad pieces.
    pub fn is_ignored(&self, node: NodeId) -> bool {
        self.bad
            .get(&node)
            .is_some_and(|n| *n >= self.config.max_bad_pieces)
    }

    /// Bad pieces counted per sender.
    pub fn bad_senders(&self) -> impl Iterator<Item = (NodeId, u32)> + '_ {
        self.bad.iter().map(|(n, c)| (*n, *c))
    }

    /// Progress of a wanted (or cached) package.
    pub fn progress(&self, now: Instant, id: PackageId) -> Option<Progress> {
        let want = self.wants.get(&id);
        let held = self.cache.held(id);
        if want.is_none() && held.is_none() {
            return None;
        }
        let (pieces, piece_count, bytes, total_bytes) = held.map_or((0, 0, 0, 0), |h| {
            (h.pieces, h.piece_count, h.bytes, h.total_bytes)
        });
        let elapsed = want.map_or(0.0, |w| now.saturating_since(w.started).as_secs_f64());
        let received = want.map_or(0, |w| w.received_bytes);
        let rate = if elapsed > 0.0 {
            received as f64 / elapsed
        } else {
            0.0
        };
        let eta = (rate > 0.0 && total_bytes > 0)
            .then(|| Duration::from_micros(((total_bytes - bytes) as f64 / rate * 1e6) as u64));
        Some(Progress {
            pieces,
            piece_count,
            bytes,
            total_bytes,
            rate_bytes_per_s: rate,
            holders: self.haves.get(&id).map_or(0, |h| h.len()),
            eta,
        })
    }

    /// Handles one message from neighbour `from`.
    pub fn handle(
        &mut self,
        now: Instant,
        from: NodeId,
        bytes: &[u8],
    ) -> Result<SwarmEvent, CacheErrorOr> {
        if self.is_ignored(from) {
            return Ok(SwarmEvent::Ignored);
        }
        let msg = SwarmMsg::parse(bytes).map_err(CacheErrorOr::Decode)?;
        match msg {
            SwarmMsg::Have { package, ranges } => {
                // Only packages this node wants or holds, and never past
                // their piece count: a hostile advert costs what a real one does.
                let limit = match self.cache.record(package) {
                    Some(r) => r.piece_count,
                    None if self.wants.contains_key(&package) => MAX_UNKNOWN_PIECES,
                    None => return Ok(SwarmEvent::None),
                };
                let set: BTreeSet<u32> = ranges
                    .iter()
                    .flat_map(|&(s, l)| s..s.saturating_add(l).min(limit))
                    .collect();
                self.served_elsewhere(from, package, |i| set.contains(&i));
                let peers = self.haves.entry(package).or_default();
                if peers.len() < MAX_HOLDERS || peers.contains_key(&from) {
                    peers.insert(from, set);
                }
            }
            SwarmMsg::Request {
                target,
                package,
                pieces,
            } => {
                if target == self.me {
                    for p in pieces {
                        if !self.cache.has_piece(package, p) {
                            continue;
                        }
                        let room = self.serve.len() < self.config.max_serve_queue;
                        let queued = self
                            .serve
                            .iter_mut()
                            .find(|(k, i, _)| (*k, *i) == (package, p));
                        match queued {
                            Some((_, _, who)) if who.len() < MAX_PIECE_REQUESTERS => {
                                who.insert(from);
                            }
                            Some(_) => {}
                            None if room => {
                                self.serve.push_back((package, p, BTreeSet::from([from])));
                            }
                            None => {}
                        }
                    }
                } else if let Some(w) = self.wants.get_mut(&package) {
                    // Overheard: the pieces will be broadcast; wait for them.
                    let deadline = now + self.config.request_timeout;
                    for p in pieces {
                        w.in_flight.entry(p).or_insert((None, deadline));
                    }
                }
            }
            SwarmMsg::Piece(piece) => {
                let (package, index) = (piece.package, piece.index);
                // The sender holds it: it needs it from us no more.
                self.served_elsewhere(from, package, |i| i == index);
                if self.cache.record(package).is_none() || self.cache.has_piece(package, index) {
                    return Ok(SwarmEvent::None);
                }
                match self.cache.add_piece(&piece) {
                    Ok(_) => {}
                    Err(CacheError::Piece(e)) => {
                        *self.bad.entry(from).or_default() += 1;
                        return Ok(SwarmEvent::BadPiece {
                            from,
                            why: e.to_string(),
                        });
                    }
                    Err(e) => return Err(CacheErrorOr::Cache(e)),
                }
                self.haves
                    .entry(package)
                    .or_default()
                    .entry(from)
                    .or_default()
                    .insert(index);
                self.adverts_due.insert(package);
                if let Some(w) = self.wants.get_mut(&package) {
                    w.in_flight.remove(&index);
                    w.received_bytes += piece.data.len() as u64;
                    // The holder is serving: its other pieces queue behind
                    // this one on a slow link, so their clocks restart.
                    let deadline = now + self.config.request_timeout;
                    for (holder, d) in w.in_flight.values_mut() {
                        if *holder == Some(from) {
                            *d = (*d).max(deadline);
                        }
                    }
                }
                if self.is_complete(package) && self.wants.remove(&package).is_some() {
                    return Ok(SwarmEvent::Complete(package));
                }
                return Ok(SwarmEvent::PieceStored { package, index });
            }
            SwarmMsg::RecordQuery { package, hops_left } => {
                if self.cache.record(package).is_some() {
                    self.records_to_send.insert(package);
                } else if hops_left > 0 && !self.wants.contains_key(&package) {
                    // Fetch it too, so it can be forwarded as it arrives.
                    self.want(now, package, true);
                    self.queries_to_send.push_back((package, hops_left - 1));
                }
            }
            // Fragments are the node's business (node::packages repairs
            // them); a repair means nothing to the swarm.
            SwarmMsg::Repair { .. } => {}
            SwarmMsg::Record(record) => {
                let id = record.id();
                if self.wants.contains_key(&id) && self.cache.record(id).is_none() {
                    match self.cache.add_record(record) {
                        Ok(_) => self.adverts_due.insert(id),
                        Err(CacheError::Record(_)) => return Ok(SwarmEvent::None),
                        Err(e) => return Err(CacheErrorOr::Cache(e)),
                    };
                }
            }
        }
        Ok(SwarmEvent::None)
    }

    /// The next message to send, if any: records, queries, requests and
    /// adverts (small), then one served piece.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Outgoing> {
        if self.out.is_empty() {
            self.plan(now);
        }
        self.out.pop_front()
    }

    /// When [`Swarm::poll_transmit`] may next have something without new
    /// input.
    pub fn poll_timeout(&self) -> Instant {
        // A want whose record is held queries no more: its query time is
        // no deadline.
        let deadlines = self.wants.iter().flat_map(|(id, w)| {
            let query = self.cache.record(*id).is_none().then_some(w.next_query);
            w.in_flight.values().map(|(_, d)| *d).chain(query)
        });
        deadlines.fold(self.next_advert, Instant::min)
    }

    fn plan(&mut self, now: Instant) {
        let broadcast = |m: SwarmMsg<'_>| Outgoing {
            dest: Destination::Broadcast,
            bytes: m.encode(),
        };
        // Small control messages first: a relay that serves without pause
        // must still ask upstream and tell downstream what it has.
        while let Some(id) = self.records_to_send.pop_first() {
            if let Some(r) = self.cache.record(id) {
                self.out.push_back(broadcast(SwarmMsg::Record(r.clone())));
            }
        }
        while let Some((package, hops_left)) = self.queries_to_send.pop_front() {
            self.out
                .push_back(broadcast(SwarmMsg::RecordQuery { package, hops_left }));
        }
        let ids: Vec<PackageId> = self.wants.keys().copied().collect();
        for id in ids {
            self.plan_want(now, id);
        }
        if now >= self.next_advert {
            self.next_advert = now + self.config.advert_interval;
            self.adverts_due.extend(self.cache.ids());
        }
        while let Some(id) = self.adverts_due.pop_first() {
            let ranges = ranges(self.cache.have(id));
            if !ranges.is_empty() {
                self.out.push_back(broadcast(SwarmMsg::Have {
                    package: id,
                    ranges,
                }));
            }
        }
        // Then one served piece.
        while let Some((package, index, _)) = self.serve.pop_front() {
            if let Some(p) = self.cache.piece(package, index) {
                self.out.push_back(broadcast(SwarmMsg::Piece(p)));
                break;
            }
        }
    }

    /// Queries for the record, or requests pieces rarest first.
    fn plan_want(&mut self, now: Instant, id: PackageId) {
        let config = self.config;
        let Some(w) = self.wants.get_mut(&id) else {
            return;
        };
        w.in_flight.retain(|_, (_, d)| *d > now);
        let Some(record) = self.cache.record(id) else {
            if now >= w.next_query {
                w.next_query = now + config.advert_interval;
                self.out.push_back(Outgoing {
                    dest: Destination::Broadcast,
                    bytes: SwarmMsg::RecordQuery {
                        package: id,
                        hops_left: config.query_hops,
                    }
                    .encode(),
                });
            }
            return;
        };
        let room = config.window_pieces.saturating_sub(w.in_flight.len());
        if room == 0 {
            return;
        }
        let no_holders = BTreeMap::new();
        let holders = self.haves.get(&id).unwrap_or(&no_holders);
        // Rarest first: fewest holders, then lowest index.
        let mut candidates: Vec<(usize, u32)> = (0..record.piece_count)
            .filter(|i| !self.cache.has_piece(id, *i) && !w.in_flight.contains_key(i))
            .filter_map(|i| {
                let n = holders
                    .iter()
                    .filter(|(node, set)| {
                        set.contains(&i) && !is_ignored(&self.bad, config, **node)
                    })
                    .count();
                (n > 0).then_some((n, i))
            })
            .collect();
        candidates.sort();
        let mut load: BTreeMap<NodeId, usize> = BTreeMap::new();
        for (node, _) in w.in_flight.values() {
            if let Some(n) = node {
                *load.entry(*n).or_default() += 1;
            }
        }
        let mut asks: BTreeMap<NodeId, Vec<u32>> = BTreeMap::new();
        let deadline = now + config.request_timeout;
        for (_, i) in candidates.into_iter() {
            if asks.values().map(Vec::len).sum::<usize>() >= room {
                break;
            }
            // The least loaded holder of this piece.
            let best = holders
                .iter()
                .filter(|(node, set)| set.contains(&i) && !is_ignored(&self.bad, config, **node))
                .map(|(node, _)| (load.get(node).copied().unwrap_or(0), *node))
                .filter(|(l, _)| *l < config.per_holder_pieces)
                .min();
            if let Some((_, node)) = best {
                *load.entry(node).or_default() += 1;
                asks.entry(node).or_default().push(i);
                w.in_flight.insert(i, (Some(node), deadline));
            }
        }
        for (target, pieces) in asks {
            for chunk in pieces.chunks(MAX_REQUEST_PIECES) {
                self.out.push_back(Outgoing {
                    dest: Destination::Node(target),
                    bytes: SwarmMsg::Request {
                        target,
                        package: id,
                        pieces: chunk.to_vec(),
                    }
                    .encode(),
                });
            }
        }
    }

    /// `node` holds the pieces of `package` that `held` names: it needs
    /// them from this node no more, and a queued piece nobody else asked
    /// for is dropped.
    fn served_elsewhere(&mut self, node: NodeId, package: PackageId, held: impl Fn(u32) -> bool) {
        self.serve.retain_mut(|(k, i, who)| {
            if *k == package && held(*i) {
                who.remove(&node);
                return !who.is_empty();
            }
            true
        });
    }

    /// Whether a want is a relay fetch (started by a neighbour's query).
    pub fn is_relay(&self, id: PackageId) -> bool {
        self.wants.get(&id).is_some_and(|w| w.relay)
    }
}

fn is_ignored(bad: &BTreeMap<NodeId, u32>, config: SwarmConfig, node: NodeId) -> bool {
    bad.get(&node).is_some_and(|n| *n >= config.max_bad_pieces)
}

/// Ascending indices as at most [`MAX_RANGES`] `(start, length)` ranges.
fn ranges(indices: impl Iterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for i in indices {
        let full = out.len() == MAX_RANGES;
        match out.last_mut() {
            Some((s, l)) if *s + *l == i => *l += 1,
            _ if full => break,
            _ => out.push((i, 1)),
        }
    }
    out
}

/// A failure of [`Swarm::handle`]: bytes that do not decode, or a cache
/// backend failure.
#[derive(Debug, thiserror::Error)]
pub enum CacheErrorOr {
    /// The message does not decode.
    #[error(transparent)]
    Decode(SwarmError),
    /// The cache's backend failed.
    #[error(transparent)]
    Cache(CacheError),
}
