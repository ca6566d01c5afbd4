//! The node state machine: [`Node`] ties the store, sync and the chat
//! load together behind one sans-IO call contract (documented on the type).
//!
//! * `config` — [`NodeConfig`], [`TrafficConfig`];
//! * `event` — [`NodeEvent`], [`NodeStats`];
//! * `publish` — what [`Node::publish`] returns;
//! * `chat` — the background traffic the node generates;
//! * `packages` — the design-package swarm wired to frames and timers.
//!
//! Frames are dispatched by family ([`FrameRepr`]'s variants): each family
//! is one arm of [`Node::handle_frame`] and one sub-state machine that owns
//! its timers (`chat` here, [`SyncEngine`] in `sync`).

mod chat;
mod config;
mod event;
mod packages;
mod publish;

pub use config::{MIN_TRAFFIC_PAYLOAD_BYTES, NodeConfig, TrafficConfig};
pub use event::{NodeEvent, NodeStats};
pub use packages::{
    AddPackageError, PACKAGE_QUEUE_RESERVE, PackageConfig, PackageEvent, PackageStats, check_record,
};
pub use publish::{PublishError, Published};

use std::collections::VecDeque;

use catalogue::ItemKind;
use catalogue::entry::entries;

use crate::id::NodeId;
use crate::identity::LazyKeypair;
use crate::packages::PackageCache;
use crate::packages::swarm::Swarm;
use crate::rng::Rng;
use crate::signals::{PublishSignalError, SignalEngine, SignalId, SignalSpec, Tag};
use crate::store::{Change, MemStorage, Signer, Storage, Store, StoreError};
use crate::sync::{Fingerprint, SyncEngine, SyncEvent, SyncStats};
use crate::time::{Duration, Instant};
use crate::transport::{RxFrame, SendError, Transport};
use crate::wire::FrameRepr;
use chat::Chat;

/// Most events kept before the oldest are dropped (a driver that never polls
/// must not grow the node without bound).
const MAX_PENDING_EVENTS: usize = 1024;

/// One okmesh node: the mesh protocol for one radio, free of I/O.
///
/// The node owns its catalogue [`Store`] over a [`Storage`] backend: the
/// in-memory one in the simulator ([`Node::new`]), the on-disk one on field
/// nodes ([`Node::with_storage`]). It owns no clock, no socket and no
/// entropy source; its driver (the simulator or hw-bridge) owns time and
/// I/O.
///
/// # Call contract
///
/// The methods come in four groups, and the `impl` blocks follow them:
///
/// * **getters** — [`id`](Node::id), [`stats`](Node::stats),
///   [`sync_stats`](Node::sync_stats), [`store`](Node::store),
///   [`catalogue_summary`](Node::catalogue_summary): read state, change
///   nothing, callable at any time;
/// * **inputs**, `handle_*(now, …, tx)` — [`handle_frame`](Node::handle_frame)
///   for every frame the transport delivers,
///   [`handle_timeout`](Node::handle_timeout) once the time
///   [`poll_timeout`](Node::poll_timeout) returned is reached (an early
///   call does nothing), [`handle_send_failed`](Node::handle_send_failed)
///   when the radio refuses a frame it had accepted;
/// * **commands** — [`publish`](Node::publish) new items,
///   [`flush_store`](Node::flush_store) for durability or a clean shutdown,
///   [`into_storage`](Node::into_storage) to stop;
/// * **outputs**, `poll_*` — [`poll_event`](Node::poll_event), drained
///   until `None`, and [`poll_timeout`](Node::poll_timeout), the next
///   deadline.
///
/// A driver must:
///
/// 1. create the node with [`Node::new`] or [`Node::with_storage`] at the
///    current time;
/// 2. feed it inputs and commands as they happen, with a `now` that never
///    decreases from one call to the next;
/// 3. after every input or command, drain [`poll_event`](Node::poll_event)
///    and read [`poll_timeout`](Node::poll_timeout) again: any call may
///    have moved the deadline;
/// 4. pass the [`Transport`] into every call that takes one: outgoing
///    frames go to it during the call, never later, and the node keeps no
///    reference to it.
#[derive(Debug)]
pub struct Node<S: Storage = MemStorage, P: Storage = MemStorage> {
    config: NodeConfig,
    events: VecDeque<NodeEvent>,
    stats: NodeStats,
    store: Store<S>,
    sync: SyncEngine,
    signals: SignalEngine,
    chat: Chat,
    swarm: Swarm<P>,
    pump: packages::Pump,
}

impl Node<MemStorage> {
    /// Starts a node with an empty in-memory store at `now`.
    pub fn new(config: NodeConfig, now: Instant) -> Self {
        Node::with_storage(config, MemStorage::new(), now)
            .expect("an empty in-memory store always opens")
    }
}

impl<S: Storage> Node<S> {
    /// Starts a node at `now` on a storage backend, replaying whatever it
    /// holds (a restart keeps every acknowledged item), with an empty
    /// in-memory package cache.
    pub fn with_storage(config: NodeConfig, storage: S, now: Instant) -> Result<Self, StoreError> {
        let (cache, _) = PackageCache::open(MemStorage::new(), config.packages.cache)
            .expect("an empty in-memory package cache always opens");
        Node::with_cache(config, storage, cache, now)
    }
}

impl<S: Storage, P: Storage> Node<S, P> {
    /// Starts a node at `now` on a storage backend and an opened package
    /// cache (whose partial packages resume when requested again).
    pub fn with_cache(
        config: NodeConfig,
        storage: S,
        cache: PackageCache<P>,
        now: Instant,
    ) -> Result<Self, StoreError> {
        let (mut store, _) = Store::open(storage, config.store.clone())?;
        // Each life of each node has its own streams (see `NodeConfig::incarnation`).
        let stream = (u64::from(config.incarnation) << 32) | u64::from(config.id.0);
        let chat = Chat::new(
            config.traffic,
            Rng::derive(config.root_seed, "node", stream),
            now,
        );
        let sync_rng = Rng::derive(config.root_seed, "sync", stream);
        let sync = SyncEngine::new(
            config.id,
            config.sync,
            config.trust.clone(),
            config.publisher.public(),
            &store,
            sync_rng,
            now,
        );
        let key = config.signals.publisher.clone().map_or_else(
            || LazyKeypair::derived(config.root_seed, "signals", u64::from(config.id.0)),
            LazyKeypair::given,
        );
        let signals_rng = Rng::derive(config.root_seed, "signals", stream);
        let signals = SignalEngine::new(
            config.id,
            config.signals.clone(),
            key,
            signals_rng,
            &mut store,
            now,
        );
        let swarm = Swarm::new(config.id, config.packages.swarm, cache);
        Ok(Node {
            config,
            events: VecDeque::new(),
            stats: NodeStats::default(),
            store,
            sync,
            signals,
            chat,
            swarm,
            pump: packages::Pump::default(),
        })
    }
}

/// **Getters**: state, read at any time.
impl<S: Storage, P: Storage> Node<S, P> {
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }

    /// Counters since start.
    pub fn stats(&self) -> NodeStats {
        self.stats
    }

    /// Sync counters.
    pub fn sync_stats(&self) -> SyncStats {
        self.sync.stats()
    }

    /// Neighbours whose last summary matched this node's catalogue, and
    /// neighbours summarised (see [`SyncEngine::peers_in_sync`]).
    pub fn sync_peers(&self) -> (usize, usize) {
        self.sync.peers_in_sync()
    }

    /// The catalogue.
    pub fn store(&self) -> &Store<S> {
        &self.store
    }

    /// The signal layer (its book of live signals, key and counters).
    pub fn signals(&self) -> &SignalEngine {
        &self.signals
    }

    /// The catalogue's sync fingerprint and size (equal fingerprints mean
    /// equal catalogues).
    pub fn catalogue_summary(&self) -> (Fingerprint, u32) {
        self.sync.summary()
    }
}

/// **Inputs**: what happened, at `now`.
impl<S: Storage, P: Storage> Node<S, P> {
    /// Handles a frame the transport received.
    pub fn handle_frame<T: Transport>(&mut self, now: Instant, frame: &RxFrame<'_>, tx: &mut T) {
        // One arm per frame family.
        match FrameRepr::decode(frame.payload) {
            Ok(FrameRepr::Chat(_)) => self.stats.chat_received += 1,
            Ok(FrameRepr::Sync(f)) => {
                self.sync.handle_frame(now, frame, f, &mut self.store, tx);
                self.drain_sync_events();
            }
            Ok(FrameRepr::Signal(f)) => {
                self.signals
                    .handle_frame(now, frame, f, &mut self.store, tx);
                self.drain_signal_events();
            }
            Ok(FrameRepr::Package(f)) => self.handle_package_frame(now, frame.from, f, tx),
            Err(error) => {
                self.stats.frames_rejected += 1;
                self.push_event(NodeEvent::FrameRejected {
                    from: frame.from,
                    error,
                });
            }
        }
    }

    /// Handles the timer returned by [`Node::poll_timeout`]; calling it early
    /// does nothing.
    pub fn handle_timeout<T: Transport>(&mut self, now: Instant, tx: &mut T) {
        if self.sync.poll_timeout().is_some_and(|t| t <= now) {
            self.sync.handle_timeout(now, &mut self.store, tx);
            self.drain_sync_events();
        }
        if self.signals.poll_timeout().is_some_and(|t| t <= now) {
            self.signals.handle_timeout(now, &mut self.store, tx);
            self.drain_signal_events();
        }
        match self.chat.handle_timeout(now, tx) {
            None => {}
            Some(Ok(())) => self.stats.chat_sent += 1,
            Some(Err(error)) => self.send_failed(error),
        }
        if self.package_timeout().is_some_and(|t| t <= now) {
            self.pump_packages(now, tx);
        }
    }

    /// Reports that a frame the transport had accepted was refused later by
    /// the radio (a Meshtastic Routing NAK: `TOO_LARGE`, `DUTY_CYCLE_LIMIT`,
    /// `MAX_RETRANSMIT`).
    pub fn handle_send_failed<T: Transport>(
        &mut self,
        _now: Instant,
        error: SendError,
        _tx: &mut T,
    ) {
        self.send_failed(error);
    }
}

/// **Commands**: what the operator or the driver asks for.
impl<S: Storage, P: Storage> Node<S, P> {
    /// Publishes the items in a manifest or facility file (`source` names it
    /// in errors): each becomes a new version here, signed with the node's
    /// publisher key under the design id that key owns, unless its content
    /// is already current, and sync spreads it. A facility list gives one
    /// item per facility, each with its own bytes ([`catalogue::entries`]).
    pub fn publish<T: Transport>(
        &mut self,
        now: Instant,
        kind: ItemKind,
        bytes: &[u8],
        source: &str,
        tx: &mut T,
    ) -> Result<Vec<Published>, PublishError> {
        let found = entries(kind, bytes, source)?.entries;
        if found.is_empty() {
            return Err(PublishError::Empty(source.to_string()));
        }
        if let Some(e) = found.iter().find(|e| !e.reads_back()) {
            return Err(PublishError::WouldNotReadBack {
                file: source.to_string(),
                name: e.name.clone(),
            });
        }
        let mut out = Vec::with_capacity(found.len());
        let owner = self.config.publisher.public();
        for entry in found {
            let id = crate::identity::owned_id(&owner, entry.id);
            let size_bytes = entry.bytes.len() as u32;
            let signer = Signer {
                key: &self.config.publisher,
                at: now,
                imported: false,
            };
            let outcome = self.store.publish_signed(entry, &signer)?;
            let new_version = matches!(outcome.change, Change::Added | Change::NewVersion);
            if new_version {
                let stored = self.store.get(id).expect("just published").clone();
                let max_payload = tx.capabilities().max_payload_bytes;
                let (element, fragments) =
                    self.sync.local_item(now, &stored, &self.store, max_payload);
                self.push_event(NodeEvent::Published {
                    item: id,
                    seq: outcome.stamp.seq,
                    element,
                    size_bytes,
                    fragments,
                });
            }
            out.push(Published {
                item: id,
                seq: outcome.stamp.seq,
                new_version,
            });
        }
        self.sync.handle_timeout(now, &mut self.store, tx);
        self.drain_sync_events();
        Ok(out)
    }

    /// Retires a design this node's publisher key owns with a signed
    /// tombstone, which sync spreads like any new version.
    pub fn retire<T: Transport>(
        &mut self,
        now: Instant,
        id: catalogue::ItemId,
        tx: &mut T,
    ) -> Result<Published, PublishError> {
        let signer = Signer {
            key: &self.config.publisher,
            at: now,
            imported: false,
        };
        let outcome = self.store.retire(id, &signer)?;
        let stored = self.store.get(id).expect("just retired").clone();
        let max_payload = tx.capabilities().max_payload_bytes;
        let (element, fragments) = self.sync.local_item(now, &stored, &self.store, max_payload);
        self.push_event(NodeEvent::Published {
            item: id,
            seq: outcome.stamp.seq,
            element,
            size_bytes: 0,
            fragments,
        });
        self.sync.handle_timeout(now, &mut self.store, tx);
        self.drain_sync_events();
        Ok(Published {
            item: id,
            seq: outcome.stamp.seq,
            new_version: true,
        })
    }

    /// Signs and sends a supply or demand signal of this node's (see
    /// [`crate::signals`]).
    pub fn publish_signal<T: Transport>(
        &mut self,
        now: Instant,
        spec: SignalSpec,
        tx: &mut T,
    ) -> Result<SignalId, PublishSignalError> {
        let out = self.signals.publish(now, spec, &mut self.store, tx);
        self.drain_signal_events();
        out
    }

    /// Asks who can meet a requirement set: answered from the book when a
    /// known facility matches (`true`: nothing sent), else queried.
    pub fn ask<T: Transport>(
        &mut self,
        now: Instant,
        need: Vec<Tag>,
        ttl: Duration,
        tx: &mut T,
    ) -> Result<(SignalId, bool), PublishSignalError> {
        let out = self.signals.ask(now, need, ttl, &mut self.store, tx);
        self.drain_signal_events();
        out
    }

    /// Makes everything the store has logged durable (the few writes it
    /// does not sync at once, such as LRU touches) and, with `snapshot`,
    /// compacts the log into a snapshot: a driver's clean shutdown.
    pub fn flush_store(&mut self, snapshot: bool) -> Result<(), StoreError> {
        if snapshot {
            self.store.snapshot()
        } else {
            self.store.sync()
        }
    }

    /// Stops the node and hands back its storage (to reopen after a
    /// simulated crash or a restart).
    pub fn into_storage(self) -> S {
        self.store.into_storage()
    }

    /// Stops the node and hands back its catalogue storage and its package
    /// cache's storage.
    pub fn into_storages(self) -> (S, P) {
        (
            self.store.into_storage(),
            self.swarm.into_cache().into_storage(),
        )
    }
}

/// **Outputs**: what the driver must do next, polled after every input or
/// command.
impl<S: Storage, P: Storage> Node<S, P> {
    /// The next event for the driver, oldest first.
    pub fn poll_event(&mut self) -> Option<NodeEvent> {
        self.events.pop_front()
    }

    /// When the node next needs [`Node::handle_timeout`], if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.chat.poll_timeout(),
            self.sync.poll_timeout(),
            self.signals.poll_timeout(),
            self.package_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

impl<S: Storage, P: Storage> Node<S, P> {
    fn drain_sync_events(&mut self) {
        for e in self.sync.take_events() {
            let event = match e {
                SyncEvent::Stored {
                    item,
                    stamp,
                    element,
                } => NodeEvent::Stored {
                    item,
                    seq: stamp.seq,
                    element,
                },
                SyncEvent::Rejected { element, reason } => {
                    NodeEvent::ItemRejected { element, reason }
                }
            };
            self.push_event(event);
        }
    }

    fn drain_signal_events(&mut self) {
        for e in self.signals.take_events() {
            self.push_event(NodeEvent::Signal(e));
        }
    }

    fn send_failed(&mut self, error: SendError) {
        self.stats.send_failures += 1;
        self.push_event(NodeEvent::SendFailed { error });
    }

    fn push_event(&mut self, event: NodeEvent) {
        if self.events.len() == MAX_PENDING_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Outbox;
    use crate::time::Duration;
    use crate::transport::Destination;

    fn chatty(id: u32) -> NodeConfig {
        let mut config = NodeConfig {
            traffic: Some(TrafficConfig {
                mean_period: Duration::from_secs(100),
                payload_bytes: 40,
                hop_limit: 3,
            }),
            ..NodeConfig::new(NodeId(id), 44)
        };
        config.sync.strategy = crate::sync::Strategy::Off;
        config
    }

    /// Runs a node alone for `secs` and returns what it sent.
    fn run_alone(config: NodeConfig, secs: u64, tx: &mut Outbox) -> Node {
        let mut node = Node::new(config, Instant::ZERO);
        let end = Instant::ZERO + Duration::from_secs(secs);
        while let Some(at) = node.poll_timeout() {
            if at > end {
                break;
            }
            node.handle_timeout(at, tx);
        }
        node
    }

    #[test]
    fn traffic_follows_the_configured_rate_and_size() {
        // Chat ignores queue room; a queue that never fills keeps every frame.
        let mut tx = Outbox::new(usize::MAX);
        let node = run_alone(chatty(1), 100 * 2_000, &mut tx);
        let n = tx.frames.len() as f64;
        assert!((n - 2_000.0).abs() < 150.0, "{n} messages in 2000 periods");
        assert!(
            tx.frames
                .iter()
                .all(|f| f.payload.len() == 40 && f.hop_limit == 3)
        );
        assert_eq!(node.stats().chat_sent, tx.frames.len() as u64);
    }

    #[test]
    fn same_seed_same_schedule_other_node_other_schedule() {
        let times = |id| {
            let node = Node::new(chatty(id), Instant::ZERO);
            node.poll_timeout()
        };
        assert_eq!(times(1), times(1));
        assert_ne!(times(1), times(2));
    }

    #[test]
    fn a_full_queue_is_reported_not_fatal() {
        let mut tx = Outbox::new(0);
        let mut node = run_alone(chatty(3), 1_000, &mut tx);
        assert!(node.stats().send_failures > 0);
        assert_eq!(
            node.poll_event(),
            Some(NodeEvent::SendFailed {
                error: SendError::QueueFull
            })
        );
        assert!(node.poll_timeout().is_some(), "keeps its schedule");
    }

    #[test]
    fn garbage_from_the_air_is_rejected_with_an_event() {
        let mut tx = Outbox::new(16);
        let mut node = Node::new(NodeConfig::new(NodeId(0), 1), Instant::ZERO);
        let frame = crate::testing::heard(NodeId(9), Destination::Broadcast, &[0xff, 0x00]);
        node.handle_frame(Instant::ZERO, &frame, &mut tx);
        assert!(matches!(
            node.poll_event(),
            Some(NodeEvent::FrameRejected {
                from: NodeId(9),
                ..
            })
        ));
        assert!(tx.frames.is_empty(), "nothing is answered to garbage");
    }
}
