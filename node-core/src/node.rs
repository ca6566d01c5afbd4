//! The node state machine.
//!
//! # Driving a [`Node`]
//!
//! A node owns no clock and no socket. Its driver (the simulator or
//! hw-bridge) must:
//!
//! 1. create it with [`Node::new`] at the current time;
//! 2. call [`Node::handle_frame`] for every frame its transport delivers and
//!    [`Node::handle_timeout`] whenever the time returned by
//!    [`Node::poll_timeout`] has been reached;
//! 3. after every `handle_*` call, drain [`Node::poll_event`] and read
//!    [`Node::poll_timeout`] again, because either call may have changed it.
//!
//! Outgoing frames go straight to the [`Transport`] passed into each
//! `handle_*` call. Times passed in must never decrease.

use std::collections::VecDeque;

use catalogue::entry::entries;
use catalogue::{ItemId, ItemKind, ParseError};

use crate::id::NodeId;
use crate::rng::Rng;
use crate::store::{Change, MemStorage, Storage, Store, StoreConfig, StoreError};
use crate::sync::{Sync, SyncConfig, SyncEvent, SyncStats};
use crate::time::{Duration, Instant};
use crate::transport::{Destination, OutFrame, Priority, RxFrame, SendError, Transport};
use crate::wire::{CHAT_MIN_LEN, FrameRepr, WireError};

/// Background traffic like Meshtastic chat or position reports: the node
/// broadcasts fixed-size messages as a Poisson process.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct TrafficConfig {
    /// Mean time between two messages from this node.
    pub mean_period: Duration,
    /// Size of each message's payload in bytes (at least [`CHAT_MIN_LEN`]).
    pub payload_bytes: usize,
    /// Hop limit each message is sent with.
    pub hop_limit: u8,
}

/// Everything a node needs to start.
#[derive(Clone, PartialEq, Debug)]
pub struct NodeConfig {
    /// This node's id.
    pub id: NodeId,
    /// The run's root seed; the node derives its own stream from it.
    pub root_seed: u64,
    /// How many times this node has (re)started; a restarted node draws a
    /// fresh random stream rather than replaying its first life's.
    pub incarnation: u32,
    /// Background traffic, if any.
    pub traffic: Option<TrafficConfig>,
    /// Catalogue sync.
    pub sync: SyncConfig,
    /// The store's limits and policies.
    pub store: StoreConfig,
}

impl NodeConfig {
    /// A node with no application load and default sync and store settings.
    pub fn new(id: NodeId, root_seed: u64) -> Self {
        NodeConfig {
            id,
            root_seed,
            incarnation: 0,
            traffic: None,
            sync: SyncConfig::default(),
            store: StoreConfig::default(),
        }
    }
}

/// Something the driver should know about (logged in the simulator's trace).
#[derive(Clone, PartialEq, Debug)]
pub enum NodeEvent {
    /// The transport refused a frame.
    SendFailed {
        /// Why.
        error: SendError,
    },
    /// Bytes from the air could not be decoded; they were dropped.
    FrameRejected {
        /// The originator of the frame.
        from: NodeId,
        /// Why decoding failed.
        error: WireError,
    },
    /// This node published a new version of an item.
    Published {
        /// The item.
        item: ItemId,
        /// Its version number.
        seq: u32,
        /// Its sync element.
        element: u64,
        /// Size of its bytes.
        size_bytes: u32,
        /// Data frames one transfer of it takes (after compression).
        fragments: u16,
    },
    /// A newer version of an item arrived from the mesh and is now current.
    Stored {
        /// The item.
        item: ItemId,
        /// Its version number.
        seq: u32,
        /// Its sync element.
        element: u64,
    },
    /// An item transfer failed verification and was dropped.
    ItemRejected {
        /// The element that was asked for.
        element: u64,
        /// Why.
        reason: String,
    },
}

/// Why an item could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The bytes are not a manifest / facility.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The file holds no item (an empty facility list).
    #[error("{0}: no item in the file")]
    Empty(String),
    /// An item's bytes, read back alone in their format, would not give the
    /// same item (its id or content would change), so it is not stored.
    #[error("{file}: `{name}` would not read back from the store as the same item")]
    WouldNotReadBack {
        /// The file.
        file: String,
        /// The item's title.
        name: String,
    },
    /// The store refused it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One item a publish call stored.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Published {
    /// The item.
    pub item: ItemId,
    /// The version now current.
    pub seq: u32,
    /// Whether this was a new version (false: the same content was current).
    pub new_version: bool,
}

/// Counters a driver can report.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct NodeStats {
    /// Chat messages handed to the transport.
    pub chat_sent: u64,
    /// Distinct chat messages received.
    pub chat_received: u64,
    /// Frames the transport refused.
    pub send_failures: u64,
    /// Undecodable frames dropped.
    pub frames_rejected: u64,
}

/// Most events kept before the oldest are dropped (a driver that never polls
/// must not grow the node without bound).
const MAX_PENDING_EVENTS: usize = 1024;

/// One okmesh node. See the module docs for the call order.
///
/// The node owns its catalogue [`Store`] over a [`Storage`] backend: the
/// in-memory one in the simulator (see [`Node::new`]), the on-disk one on
/// field nodes ([`Node::with_storage`]).
#[derive(Debug)]
pub struct Node<S: Storage = MemStorage> {
    config: NodeConfig,
    rng: Rng,
    next_chat_at: Option<Instant>,
    chat_seq: u32,
    events: VecDeque<NodeEvent>,
    stats: NodeStats,
    store: Store<S>,
    sync: Sync,
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
    /// holds (a restart keeps every acknowledged item).
    pub fn with_storage(config: NodeConfig, storage: S, now: Instant) -> Result<Self, StoreError> {
        let (store, _) = Store::open(storage, config.store.clone())?;
        let stream = (u64::from(config.incarnation) << 32) | u64::from(config.id.0);
        let mut rng = Rng::derive(config.root_seed, "node", stream);
        let next_chat_at = config.traffic.map(|t| now + next_gap(&mut rng, &t));
        let sync_rng = Rng::derive(config.root_seed, "sync", stream);
        let sync = Sync::new(config.id, config.sync, &store, sync_rng, now);
        Ok(Node {
            config,
            rng,
            next_chat_at,
            chat_seq: 0,
            events: VecDeque::new(),
            stats: NodeStats::default(),
            store,
            sync,
        })
    }

    /// The catalogue.
    pub fn store(&self) -> &Store<S> {
        &self.store
    }

    /// Sync counters.
    pub fn sync_stats(&self) -> SyncStats {
        self.sync.stats()
    }

    /// The catalogue's sync fingerprint and size (equal fingerprints mean
    /// equal catalogues).
    pub fn catalogue_summary(&self) -> (u64, u32) {
        self.sync.summary()
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

    /// Publishes the items in a manifest or facility file (`source` names it
    /// in errors): each becomes a new version here, unless its content is
    /// already current, and sync spreads it. A facility list gives one item
    /// per facility, each with its own bytes ([`catalogue::entries`]).
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
        for entry in found {
            let (id, size_bytes) = (entry.id, entry.bytes.len() as u32);
            let outcome = self.store.publish(entry)?;
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

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }

    /// Counters since start.
    pub fn stats(&self) -> NodeStats {
        self.stats
    }

    /// Handles a frame the transport received.
    pub fn handle_frame<T: Transport>(&mut self, now: Instant, frame: &RxFrame<'_>, tx: &mut T) {
        match FrameRepr::decode(frame.payload) {
            Ok(FrameRepr::Chat { .. }) => self.stats.chat_received += 1,
            Ok(repr) => {
                self.sync
                    .handle_frame(now, frame, repr, &mut self.store, tx);
                self.drain_sync_events();
            }
            Err(error) => {
                self.stats.frames_rejected += 1;
                self.push_event(NodeEvent::FrameRejected {
                    from: frame.from,
                    error,
                });
            }
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
        self.stats.send_failures += 1;
        self.push_event(NodeEvent::SendFailed { error });
    }

    /// Handles the timer returned by [`Node::poll_timeout`]; calling it early
    /// does nothing.
    pub fn handle_timeout<T: Transport>(&mut self, now: Instant, tx: &mut T) {
        if self.sync.poll_timeout().is_some_and(|t| t <= now) {
            self.sync.handle_timeout(now, &mut self.store, tx);
            self.drain_sync_events();
        }
        self.chat(now, tx);
    }

    fn chat<T: Transport>(&mut self, now: Instant, tx: &mut T) {
        let (Some(at), Some(traffic)) = (self.next_chat_at, self.config.traffic) else {
            return;
        };
        if now < at {
            return;
        }
        let payload = FrameRepr::encode_chat(self.chat_seq, traffic.payload_bytes);
        self.chat_seq = self.chat_seq.wrapping_add(1);
        let frame = OutFrame {
            dest: Destination::Broadcast,
            hop_limit: traffic.hop_limit,
            priority: Priority::Normal,
            payload,
        };
        match tx.send(frame) {
            Ok(()) => self.stats.chat_sent += 1,
            Err(error) => {
                self.stats.send_failures += 1;
                self.push_event(NodeEvent::SendFailed { error });
            }
        }
        self.next_chat_at = Some(now + next_gap(&mut self.rng, &traffic));
    }

    /// When the node next needs [`Node::handle_timeout`], if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.next_chat_at, self.sync.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next event for the driver, oldest first.
    pub fn poll_event(&mut self) -> Option<NodeEvent> {
        self.events.pop_front()
    }

    fn push_event(&mut self, event: NodeEvent) {
        if self.events.len() == MAX_PENDING_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}

/// Time to the next message of a Poisson process, at least 1 µs so that a
/// node never schedules two messages at the same instant.
fn next_gap(rng: &mut Rng, t: &TrafficConfig) -> Duration {
    let us = rng.exponential(t.mean_period.as_micros() as f64);
    Duration::from_micros((us as u64).max(1))
}

/// Smallest payload a [`TrafficConfig`] may ask for.
pub const MIN_TRAFFIC_PAYLOAD_BYTES: usize = CHAT_MIN_LEN;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Outbox;

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
        let frame = RxFrame {
            from: NodeId(9),
            dest: Destination::Broadcast,
            hops_away: 0,
            rssi_dbm: -100.0,
            snr_db: 3.0,
            payload: &[0xff, 0x00],
        };
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
