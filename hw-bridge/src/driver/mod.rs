//! The driver: one node-core [`Node`] on wall-clock time.
//!
//! node-core is sans-IO; this is the loop that gives it a clock and I/O:
//!
//! * time is tokio's monotonic clock mapped to [`node_core::Instant`]
//!   microseconds since the driver started ([`Clock`]), so tests can run it
//!   on tokio's paused clock;
//! * frames from the radio task go to [`Node::handle_frame`], the node's
//!   timer to [`Node::handle_timeout`], and after each call the node's
//!   events are drained into `tracing` logs;
//! * the node sends through [`ChannelTransport`], node-core's synchronous
//!   [`Transport`] implemented by a non-blocking push into the radio task's
//!   bounded channel: a full channel, a full radio or a link that is down
//!   is an immediate [`SendError`];
//! * requests from outside the loop (the local HTTP API) arrive as
//!   [`Request`]s through a [`NodeHandle`]: node-core is single-threaded and
//!   sans-IO, so nothing but this loop ever touches the node; a request is
//!   answered between two node calls;
//! * publish and store events are logged as structured `tracing` events
//!   (`item`, `seq`, `name` fields);
//! * the loop ends when the `shutdown` future completes (SIGTERM, ctrl-c or
//!   a test's signal) and hands the node back, so whoever owns persistence
//!   can flush it ([`Node::flush_store`]).
//!
//! The driver is generic over the node's [`Storage`] backend: the on-disk
//! store on field nodes, the in-memory one without `--data-dir`.
//!
//! By subsystem: `clock` (tokio time as node-core time), `transport`
//! (the node's [`Transport`] and its airtime accounting, node-core's
//! duty-cycle budget), `requests` (the API's way in), `status` (what
//! the status report and listings show), `packages` (the durable list of
//! wanted design packages, requested again at start, and what the API
//! shows of each); this module holds the loop.

mod clock;
mod packages;
mod requests;
mod status;
mod transport;

use std::collections::BTreeMap;
use std::future::Future;

use node_core::ItemId;
use node_core::identity::PinnedKeys;
use node_core::node::PackageEvent;
use node_core::signals::SignalEvent;
use node_core::store::Storage;
use node_core::{Duration, Instant, Node, NodeEvent, NodeId, NodeStats, SendError, Transport};

pub use self::clock::Clock;
pub use self::packages::{
    MAX_SOURCES, MAX_WANTED, PackageView, PackagesView, WANTED_FILE, Wanted, WantedError,
};
pub use self::requests::{
    Asked, MAX_FOUND, NOTICE_BUFFER, NodeHandle, Notice, Request, Requests, SignalView, Stopped,
    handle,
};
pub use self::status::{
    CatalogueStatus, EventKind, ItemDetail, ItemSummary, KeyStatus, MAX_RECENT_EVENTS, Neighbour,
    NodeStatus, RecentEvent, RecentEvents, TrustStatus,
};
pub use self::transport::{ChannelTransport, LORA_DUTY_CYCLE};
use crate::keys::{Keys, KeysOrigin};
use crate::logs::{Escaped, LOG_WINDOW, LogLimiter, esc, log_suppressed};
use crate::radio::{RadioEvent, RadioLink, RxOwned};
/// The window the transmit duty cycle is measured over (node-core's, the
/// Meshtastic hour).
pub use node_core::radio::DUTY_CYCLE_WINDOW;

/// How long sending stops after the radio reported its duty-cycle budget
/// spent. The firmware's budget is hourly; a minute keeps the node from
/// hammering the radio while letting it retry within the hour.
pub const DUTY_CYCLE_HOLD: Duration = Duration::from_secs(60);

/// Distinct senders remembered for the status report.
pub const MAX_HEARD_NODES: usize = 1024;

/// Requests from outside (the HTTP API) queued before senders wait.
pub const REQUEST_QUEUE: usize = 32;

/// What the driver itself counted.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct DriverStats {
    /// Frames the transport accepted from the node.
    pub frames_queued: u64,
    /// Frames delivered to the node.
    pub frames_received: u64,
    /// Frames refused after acceptance (Routing NAKs, lost links).
    pub late_send_failures: u64,
    /// Times the link went down.
    pub link_downs: u64,
    /// Frames received per originator (at most [`MAX_HEARD_NODES`]).
    pub heard: BTreeMap<NodeId, u64>,
}

/// The outcome of a driver run.
#[derive(Debug)]
pub struct DriverReport<S: Storage, P: Storage = node_core::store::MemStorage> {
    /// The node, handed back for flushing or inspection.
    pub node: Node<S, P>,
    /// Node counters at shutdown.
    pub node_stats: NodeStats,
    /// Driver counters.
    pub stats: DriverStats,
    /// How long the driver ran.
    pub uptime: Duration,
}

/// Driver settings.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// How often a status line is logged.
    pub status_interval: Duration,
    /// The node's key pairs, loaded once at start ([`Keys::load_or_create`]
    /// on the data directory, [`Keys::ephemeral`] without one).
    pub keys: Keys,
    /// Where the keys came from (shown in the status report).
    pub keys_origin: KeysOrigin,
    /// The operator's trust settings (`--trust FILE`, `--refuse-unknown`).
    pub trust: TrustConfig,
    /// The packages the operator asked for ([`Wanted::load`] on the data
    /// directory): requested again at start, kept up to date.
    pub wanted: Wanted,
}

impl DriverConfig {
    /// Settings with these keys, no pinned keys and a status line a minute.
    pub fn new(keys: Keys, keys_origin: KeysOrigin) -> Self {
        DriverConfig {
            status_interval: Duration::from_secs(60),
            keys,
            keys_origin,
            trust: TrustConfig::default(),
            wanted: Wanted::in_memory(),
        }
    }
}

/// What the operator trusts: the publisher keys pinned with `--trust FILE`
/// and whether items from keys neither pinned nor already known are
/// refused (`--refuse-unknown`). The driver validates and shows them
/// (`GET /status`); node-core's trust policy is to take them from here.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct TrustConfig {
    /// The pinned publisher keys (empty without `--trust`).
    pub pinned: PinnedKeys,
    /// The file they were read from.
    pub source: Option<String>,
    /// Refuse items signed by unknown keys.
    pub refuse_unknown: bool,
}

/// What the loop keeps besides the node and the transport.
struct Loop {
    id: NodeId,
    /// The loop's own counters; `frames_queued` and `heard` stay empty here
    /// and are filled in by [`Loop::stats`].
    stats: DriverStats,
    /// Senders heard (at most [`MAX_HEARD_NODES`]); the source of `heard`.
    neighbours: BTreeMap<NodeId, Neighbour>,
    /// The node's public keys, for the status report.
    keys: KeyStatus,
    /// The trust settings, for the status report.
    trust: TrustStatus,
    /// Peer-caused warnings, at most one line per kind per [`LOG_WINDOW`].
    limiter: LogLimiter,
    /// The last events, for the status report.
    recent: RecentEvents,
    /// The packages the operator asked for.
    wanted: Wanted,
    /// Verified pieces received per package and sender.
    sources: packages::Sources,
}

impl Loop {
    /// Drops the operator's wants the swarm has finished (complete) from
    /// the durable list. A failure leaves the longer list, which only
    /// means a finished package is asked for again after a restart.
    fn sync_wanted<S: Storage, P: Storage>(&mut self, node: &Node<S, P>) {
        let still = packages::still_wanted(node, &self.wanted);
        if let Err(e) = self.wanted.set(still) {
            tracing::error!(node = %self.id, error = %e, "cannot update the wanted packages");
        }
    }

    fn heard(&mut self, now: Instant, rx: &RxOwned) {
        self.stats.frames_received += 1;
        let frames = self.neighbours.get(&rx.from).map_or(0, |n| n.frames);
        if frames == 0 && self.neighbours.len() < MAX_HEARD_NODES {
            self.recent
                .push(now, EventKind::NewNeighbour, rx.from.to_string());
        }
        if frames > 0 || self.neighbours.len() < MAX_HEARD_NODES {
            self.neighbours.insert(
                rx.from,
                Neighbour {
                    frames: frames + 1,
                    hops_away: rx.hops_away,
                    rssi_dbm: rx.rssi_dbm,
                    snr_db: rx.snr_db,
                    last_heard: now,
                },
            );
        }
    }

    /// The driver counters: the loop's own, the transport's and the frames
    /// heard per sender.
    fn stats(&self, tx: &ChannelTransport) -> DriverStats {
        DriverStats {
            frames_queued: tx.queued(),
            heard: self
                .neighbours
                .iter()
                .map(|(node, n)| (*node, n.frames))
                .collect(),
            ..self.stats.clone()
        }
    }
}

/// Runs `node` (created at `clock.now()`) over `link`, answering
/// `requests`, until `shutdown` completes or the radio task ends.
pub async fn run<S: Storage, P: Storage>(
    mut node: Node<S, P>,
    link: RadioLink,
    clock: Clock,
    config: DriverConfig,
    requests: Requests,
    shutdown: impl Future<Output = ()>,
) -> DriverReport<S, P> {
    let RadioLink {
        node_id: _,
        capabilities,
        lora,
        frames,
        mut events,
        state,
        task,
        fixed_rate,
    } = link;
    let mut tx =
        ChannelTransport::new(frames, state, capabilities, lora).with_fixed_rate(fixed_rate);
    let Requests {
        rx: mut requests,
        notices,
    } = requests;
    let mut requests_open = true;
    let id = node.id();
    let mut lp = Loop {
        id,
        stats: DriverStats::default(),
        neighbours: BTreeMap::new(),
        keys: KeyStatus {
            node: config.keys.node.public(),
            publisher: config.keys.publisher.public(),
            origin: config.keys_origin,
        },
        trust: TrustStatus {
            source: config.trust.source.clone(),
            pinned: config.trust.pinned.len(),
            refuse_unknown: config.trust.refuse_unknown,
        },
        limiter: LogLimiter::default(),
        recent: RecentEvents::default(),
        wanted: config.wanted.clone(),
        sources: packages::Sources::default(),
    };
    let mut log_flush =
        tokio::time::interval_at(tokio::time::Instant::now() + LOG_WINDOW, LOG_WINDOW);
    let status_every = std::time::Duration::from_micros(config.status_interval.as_micros().max(1));
    let mut status =
        tokio::time::interval_at(tokio::time::Instant::now() + status_every, status_every);
    tokio::pin!(shutdown);
    let (fingerprint, items) = node.catalogue_summary();
    tracing::info!(node = %id, items, fingerprint = %format_args!("{fingerprint:016x}"),
        node_key = %lp.keys.node.fingerprint(), publisher_key = %lp.keys.publisher.fingerprint(),
        keys = lp.keys.origin.name(), pinned_keys = lp.trust.pinned,
        refuse_unknown = lp.trust.refuse_unknown, "driver started");
    // The operator's requests from before the restart resume from the
    // pieces the cache kept.
    {
        let now = clock.now();
        tx.set_now(now);
        let ids: Vec<_> = lp.wanted.ids().collect();
        for pkg in ids {
            node.request_package(now, pkg, &mut tx);
            let held = node.swarm().cache().held(pkg);
            tracing::info!(node = %id, package = %pkg,
                pieces = held.map_or(0, |h| h.pieces), piece_count = held.map_or(0, |h| h.piece_count),
                "package request resumed");
        }
        lp.sync_wanted(&node);
    }

    loop {
        let timer = node.poll_timeout().and_then(|at| clock.deadline(at));
        tokio::select! {
            biased;
            () = &mut shutdown => {
                tracing::info!(node = %id, "shutdown requested");
                break;
            }
            ev = events.recv() => {
                let Some(ev) = ev else {
                    tracing::warn!(node = %id, "radio task ended");
                    break;
                };
                let now = clock.now();
                tx.set_now(now);
                match ev {
                    RadioEvent::Received(rx) => {
                        lp.heard(now, &rx);
                        tracing::debug!(node = %id, from = %rx.from, len = rx.payload.len(),
                            hops_away = rx.hops_away, rssi_dbm = rx.rssi_dbm, snr_db = rx.snr_db,
                            "frame received");
                        node.handle_frame(now, &rx.as_rx(), &mut tx);
                    }
                    RadioEvent::SendFailed { packet_id, error } => {
                        lp.stats.late_send_failures += 1;
                        lp.recent.push(now, EventKind::SendRefused, error.to_string());
                        if error == SendError::DutyCycle {
                            tx.hold_until(now + DUTY_CYCLE_HOLD);
                        }
                        tracing::warn!(node = %id, packet_id, error = %esc(&error),
                            "radio refused a frame");
                        node.handle_send_failed(now, error, &mut tx);
                    }
                    RadioEvent::Up { node: radio } => {
                        lp.recent.push(now, EventKind::LinkUp, radio.to_string());
                        tracing::info!(node = %id, radio = %radio, "radio link up");
                        if radio != id {
                            tracing::error!(node = %id, radio = %radio,
                                "the radio now reports another node number; frames keep the node's id");
                        }
                    }
                    RadioEvent::Down { reason } => {
                        lp.stats.link_downs += 1;
                        lp.recent.push(now, EventKind::LinkDown, reason.clone());
                        tracing::warn!(node = %id, reason = %esc(&reason),
                            "radio link down, reconnecting");
                    }
                    RadioEvent::DeviceLog(line) => {
                        tracing::debug!(node = %id, device_log = %Escaped(&line), "device");
                    }
                }
            }
            () = crate::sleep_until_or_forever(timer) => {
                let now = clock.now();
                tx.set_now(now);
                node.handle_timeout(now, &mut tx);
            }
            req = requests.recv(), if requests_open => {
                match req {
                    Some(req) => {
                        let now = clock.now();
                        tx.set_now(now);
                        lp.serve(req, &mut node, &mut tx, now);
                    }
                    None => requests_open = false,
                }
            }
            _ = status.tick() => {
                log_status(&lp, &node, &tx, clock.now());
            }
            _ = log_flush.tick() => {
                log_suppressed(&lp.limiter.flush(tokio::time::Instant::now(), false), LOG_WINDOW);
            }
        }
        drain_events(id, &mut node, &mut lp, &notices, clock.now());
    }
    log_suppressed(
        &lp.limiter.flush(tokio::time::Instant::now(), true),
        LOG_WINDOW,
    );

    let stats = lp.stats(&tx);
    drop(tx); // closes the frame channel: the radio task winds down
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), task).await;
    let uptime = clock.now() - Instant::ZERO;
    let node_stats = node.stats();
    let (fingerprint, items) = node.catalogue_summary();
    tracing::info!(node = %id, uptime = %uptime,
        chat_sent = node_stats.chat_sent, chat_received = node_stats.chat_received,
        send_failures = node_stats.send_failures, frames_rejected = node_stats.frames_rejected,
        frames_queued = stats.frames_queued, frames_received = stats.frames_received,
        late_send_failures = stats.late_send_failures, link_downs = stats.link_downs,
        items, fingerprint = %format_args!("{fingerprint:016x}"),
        heard = %format_heard(&stats.heard),
        "node stopped");
    DriverReport {
        node,
        node_stats,
        stats,
        uptime,
    }
}

/// Logs the node's events: publish and store events with their item, seq
/// and title as fields. Titles and error texts come from peers and are
/// escaped; warnings a peer causes are rate-limited by kind. New items
/// and signals are announced on `notices` (the event stream's source; no
/// listener is no error). Each also goes to the loop's recent events.
fn drain_events<S: Storage, P: Storage>(
    id: NodeId,
    node: &mut Node<S, P>,
    lp: &mut Loop,
    notices: &tokio::sync::broadcast::Sender<Notice>,
    now: Instant,
) {
    let limiter = &mut lp.limiter;
    let mut completed = false;
    while let Some(event) = node.poll_event() {
        remember(&mut lp.recent, node, &event, now);
        let notice = match &event {
            NodeEvent::Published { item, .. } => Some(Notice::Item {
                id: *item,
                local: true,
            }),
            NodeEvent::Stored { item, .. } => Some(Notice::Item {
                id: *item,
                local: false,
            }),
            NodeEvent::Signal(SignalEvent::Published { id, ty, .. }) => Some(Notice::Signal {
                id: *id,
                ty: *ty,
                local: true,
            }),
            NodeEvent::Signal(SignalEvent::Taken { id, ty, .. }) => Some(Notice::Signal {
                id: *id,
                ty: *ty,
                local: false,
            }),
            _ => None,
        };
        if let Some(n) = notice {
            let _ = notices.send(n);
        }
        let name = |item: ItemId| {
            node.store()
                .get(item)
                .map(|i| esc(&i.name))
                .unwrap_or_else(|| esc(""))
        };
        match &event {
            NodeEvent::Published {
                item,
                seq,
                element,
                size_bytes,
                fragments,
            } => tracing::info!(node = %id, item = %item, seq, name = %name(*item),
                element = %format_args!("{element:016x}"), size_bytes, fragments,
                "published"),
            NodeEvent::Stored { item, seq, element } => {
                tracing::info!(node = %id, item = %item, seq, name = %name(*item),
                    element = %format_args!("{element:016x}"), "stored from the mesh");
            }
            NodeEvent::ItemRejected { element, reason } => {
                if let Some(suppressed) =
                    limiter.admit("item transfer rejected", tokio::time::Instant::now())
                {
                    tracing::warn!(node = %id, element = %format_args!("{element:016x}"),
                        reason = %esc(reason), suppressed, "item transfer rejected");
                }
            }
            NodeEvent::SendFailed { error } => {
                tracing::debug!(node = %id, error = %esc(error), "send refused");
            }
            NodeEvent::FrameRejected { from, error } => {
                if let Some(suppressed) =
                    limiter.admit("frame rejected", tokio::time::Instant::now())
                {
                    tracing::warn!(node = %id, from = %from, error = %esc(error), suppressed,
                        "frame rejected");
                }
            }
            NodeEvent::Signal(e) => log_signal_event(id, e, limiter),
            NodeEvent::Package(e) => {
                if let PackageEvent::PieceStored { package, from, .. } = e {
                    lp.sources.count(*package, *from);
                }
                completed |= matches!(e, PackageEvent::Complete { .. });
                log_package_event(id, e, limiter);
            }
        }
    }
    if completed {
        lp.sync_wanted(node);
    }
}

/// Logs a package event; refusals a peer causes are rate-limited.
fn log_package_event(id: NodeId, e: &PackageEvent, limiter: &mut LogLimiter) {
    let now = tokio::time::Instant::now();
    match e {
        PackageEvent::PieceStored {
            package,
            index,
            from,
        } => {
            tracing::debug!(node = %id, package = %package, index, from = %from,
                "package piece stored");
        }
        PackageEvent::Complete { package } => {
            tracing::info!(node = %id, package = %package, "package complete and verified");
        }
        PackageEvent::BadPiece { from, why } => {
            if let Some(suppressed) = limiter.admit("package piece refused", now) {
                tracing::warn!(node = %id, from = %from, reason = %esc(why), suppressed,
                    "package piece failed its proof; dropped");
            }
        }
        PackageEvent::RecordRefused { package, from, why } => {
            if let Some(suppressed) = limiter.admit("package record refused", now) {
                tracing::warn!(node = %id, package = %package, from = %from,
                    reason = %esc(why), suppressed, "package record refused");
            }
        }
        PackageEvent::CacheFailed { why } => {
            if let Some(suppressed) = limiter.admit("package cache failed", now) {
                tracing::error!(node = %id, error = %esc(why), suppressed,
                    "package cache refused a write");
            }
        }
    }
}

/// Puts an event the operator cares about in the recent events.
fn remember<S: Storage, P: Storage>(
    recent: &mut RecentEvents,
    node: &Node<S, P>,
    event: &NodeEvent,
    now: Instant,
) {
    let item = |item: &ItemId, seq: u32| {
        let name = node
            .store()
            .get(*item)
            .map(|i| i.name.clone())
            .unwrap_or_default();
        format!("{name} ({item}, version {seq})")
    };
    let (kind, detail) = match event {
        NodeEvent::Published { item: i, seq, .. } => (EventKind::Published, item(i, *seq)),
        NodeEvent::Stored { item: i, seq, .. } => (EventKind::Stored, item(i, *seq)),
        NodeEvent::ItemRejected { reason, .. } => (EventKind::ItemRejected, reason.to_string()),
        NodeEvent::FrameRejected { from, error } => {
            (EventKind::FrameRejected, format!("{from}: {error}"))
        }
        NodeEvent::Signal(SignalEvent::Published { id, ty, .. }) => {
            (EventKind::SignalPublished, format!("{} {id}", ty.name()))
        }
        NodeEvent::Signal(SignalEvent::Taken { id, ty, from, .. }) => (
            EventKind::SignalTaken,
            format!("{} {id} from {from}", ty.name()),
        ),
        NodeEvent::Package(PackageEvent::Complete { package }) => {
            (EventKind::PackageComplete, package.to_string())
        }
        NodeEvent::Package(PackageEvent::BadPiece { from, why }) => (
            EventKind::PackageRefused,
            format!("piece from {from}: {why}"),
        ),
        NodeEvent::Package(PackageEvent::RecordRefused { package, from, why }) => (
            EventKind::PackageRefused,
            format!("record of {package} from {from}: {why}"),
        ),
        NodeEvent::Package(PackageEvent::CacheFailed { why }) => {
            (EventKind::PackageCacheFailed, why.clone())
        }
        _ => return,
    };
    recent.push(now, kind, detail);
}

/// Logs a signal-layer event; refusals a peer causes are rate-limited.
fn log_signal_event(id: NodeId, e: &SignalEvent, limiter: &mut LogLimiter) {
    match e {
        SignalEvent::Published { id: s, ty, .. } => {
            tracing::info!(node = %id, signal = %s, ty = ty.name(), "signal published");
        }
        SignalEvent::Taken {
            id: s,
            ty,
            from,
            matches,
        } => {
            tracing::info!(node = %id, signal = %s, ty = ty.name(), from = %from, matches,
                "signal taken");
        }
        SignalEvent::Refused { from, reason } => {
            if let Some(suppressed) = limiter.admit("signal refused", tokio::time::Instant::now()) {
                tracing::warn!(node = %id, from = %from, reason = reason.name(), suppressed,
                    "signal refused");
            }
        }
        SignalEvent::Relayed { id: s } => {
            tracing::debug!(node = %id, signal = %s, "signal relayed")
        }
        SignalEvent::Conflict {
            conflict,
            ours_lost,
        } => {
            tracing::info!(node = %id, demand = %conflict.demand, winner = %conflict.winner,
                loser = %conflict.loser, ours_lost, "confirmation conflict");
        }
        SignalEvent::Answered {
            query,
            local,
            facilities,
        } => {
            tracing::info!(node = %id, query = %query, local, facilities, "query answered");
        }
        SignalEvent::Routed {
            id: s,
            ty,
            filter_match,
            matches,
            taken,
            fallback,
        } => {
            tracing::debug!(node = %id, signal = %s, ty = ty.name(), filter_match, matches, taken,
                fallback, "signal routed by filters");
        }
    }
}

fn log_status<S: Storage, P: Storage>(
    lp: &Loop,
    node: &Node<S, P>,
    tx: &ChannelTransport,
    now: Instant,
) {
    let s = node.stats();
    let sync = node.sync_stats();
    let (fingerprint, items) = node.catalogue_summary();
    tracing::info!(node = %lp.id, %now, chat_sent = s.chat_sent, chat_received = s.chat_received,
        queue_room = tx.queue_room(), frames_received = lp.stats.frames_received,
        items, fingerprint = %format_args!("{fingerprint:016x}"),
        summaries_sent = sync.summaries_sent, data_sent = sync.data_sent,
        items_received = sync.items_received,
        duty_cycle_pct = tx.duty_cycle().used_pct(now),
        neighbours = %format_heard(&lp.stats(tx).heard), "status");
}

/// `n1:12,n2:7` — who was heard and how often.
pub fn format_heard(heard: &BTreeMap<NodeId, u64>) -> String {
    heard
        .iter()
        .map(|(n, c)| format!("{n}:{c}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meshtastic::proto::capabilities;
    use crate::radio::{RadioEnds, RxOwned, channels};
    use node_core::OutFrame;
    use node_core::wire::FrameRepr;
    use node_core::{Destination, NodeConfig, Priority, TrafficConfig};
    use tokio::sync::oneshot;

    fn link(up: bool, room: usize) -> (RadioLink, RadioEnds) {
        let (frames, events, ends) = channels(up, room);
        let state = ends.state.clone();
        let link = RadioLink {
            node_id: NodeId(1),
            capabilities: capabilities(),
            lora: crate::meshtastic::proto::DEFAULT_PRESET.params(),
            frames,
            events,
            state,
            task: tokio::spawn(async {}),
            fixed_rate: None,
        };
        (link, ends)
    }

    fn frame(len: usize) -> OutFrame {
        OutFrame {
            dest: Destination::Broadcast,
            hop_limit: 3,
            priority: Priority::Normal,
            payload: vec![0; len],
        }
    }

    /// A node that sends 20-byte chat frames every `mean_period`.
    fn chat_config(mean_period: Duration, hop_limit: u8, seed: u64) -> NodeConfig {
        NodeConfig {
            traffic: Some(TrafficConfig {
                mean_period,
                payload_bytes: 20,
                hop_limit,
            }),
            ..NodeConfig::new(NodeId(1), seed)
        }
    }

    /// Runs a node made from `config` over `l` until the returned sender
    /// fires.
    fn spawn_driver(
        l: RadioLink,
        config: NodeConfig,
    ) -> (
        tokio::task::JoinHandle<DriverReport<node_core::store::MemStorage>>,
        oneshot::Sender<()>,
    ) {
        let clock = Clock::start();
        let node = Node::new(config, clock.now());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let driver = tokio::spawn(run(
            node,
            l,
            clock,
            DriverConfig::new(
                crate::keys::Keys::ephemeral().unwrap(),
                crate::keys::KeysOrigin::Ephemeral,
            ),
            Requests::none(),
            async {
                let _ = stop_rx.await;
            },
        ));
        (driver, stop_tx)
    }

    #[tokio::test]
    async fn the_transport_never_blocks_and_reports_why_it_refuses() {
        let (l, mut ends) = link(true, 2);
        let mut tx = ChannelTransport::new(l.frames, l.state.clone(), l.capabilities, l.lora);
        assert_eq!(tx.queue_room(), 2);
        assert_eq!(
            tx.send(frame(232)),
            Err(SendError::TooLarge { len: 232, max: 231 })
        );
        for _ in 0..crate::radio::OUT_QUEUE_FRAMES {
            tx.send(frame(10)).unwrap();
        }
        assert_eq!(tx.send(frame(10)), Err(SendError::QueueFull));
        assert_eq!(tx.queue_room(), 0);
        ends.frames.recv().await.unwrap();
        assert_eq!(tx.queue_room(), 1);
        tx.hold_until(Instant::from_micros(5));
        assert_eq!(tx.send(frame(10)), Err(SendError::DutyCycle));
        tx.set_now(Instant::from_micros(5));
        tx.send(frame(10)).unwrap();
        l.state.set_up(false);
        assert!(matches!(tx.send(frame(10)), Err(SendError::Unavailable(_))));
        drop(ends);
        l.state.set_up(true);
        assert!(tx.airtime(231) > tx.airtime(10));
        // Accepted frames count towards the duty cycle, refused ones do not.
        assert_eq!(
            tx.duty_cycle().used(Instant::from_micros(5)),
            tx.airtime(10)
                .saturating_mul(crate::radio::OUT_QUEUE_FRAMES as u64 + 1)
        );
        assert_eq!(tx.channel_utilisation_pct(), None);
        l.state.set_utilisation(Some(12.5), Some(f64::NAN));
        assert_eq!(tx.channel_utilisation_pct(), Some(12.5));
        assert_eq!(l.state.air_util_tx_pct(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_node_runs_on_the_clock_and_stops_on_shutdown() {
        let (l, mut ends) = link(true, 16);
        let config = chat_config(Duration::from_secs(10), 2, 7);
        // Chat only: catalogue sync would add its own summaries.
        let config = NodeConfig {
            sync: node_core::sync::SyncConfig {
                strategy: node_core::sync::Strategy::Off,
                ..config.sync
            },
            ..config
        };
        let (driver, stop_tx) = spawn_driver(l, config);
        // The node's chat traffic arrives at the radio end on the paused clock.
        let mut sent = 0;
        while sent < 5 {
            let f = ends.frames.recv().await.unwrap();
            assert_eq!(f.hop_limit, 2);
            sent += 1;
        }
        // A frame from the radio reaches the node.
        let chat = FrameRepr::encode_chat(9, 20);
        ends.events
            .send(RadioEvent::Received(RxOwned {
                from: NodeId(2),
                dest: Destination::Broadcast,
                hops_away: 0,
                rssi_dbm: -90.0,
                snr_db: 5.0,
                payload: chat,
            }))
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        stop_tx.send(()).unwrap();
        let report = driver.await.unwrap();
        assert_eq!(report.node_stats.chat_received, 1);
        assert!(report.node_stats.chat_sent >= 5);
        assert_eq!(report.stats.heard.get(&NodeId(2)), Some(&1));
        assert!(report.uptime >= Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_duty_cycle_nak_holds_sending_and_is_counted() {
        let (l, mut ends) = link(true, 16);
        let (driver, stop_tx) = spawn_driver(l, chat_config(Duration::from_secs(1), 3, 3));
        ends.frames.recv().await.unwrap();
        ends.events
            .send(RadioEvent::SendFailed {
                packet_id: Some(7),
                error: SendError::DutyCycle,
            })
            .await
            .unwrap();
        // During the hold nothing reaches the radio; the node sees refusals.
        let held = tokio::time::timeout(
            std::time::Duration::from_micros(DUTY_CYCLE_HOLD.as_micros() - 1_000_000),
            ends.frames.recv(),
        )
        .await;
        assert!(held.is_err(), "a frame left during the duty-cycle hold");
        // After it, traffic flows again.
        tokio::time::timeout(std::time::Duration::from_secs(30), ends.frames.recv())
            .await
            .expect("sending resumes")
            .unwrap();
        stop_tx.send(()).unwrap();
        let report = driver.await.unwrap();
        assert_eq!(report.stats.late_send_failures, 1);
        assert!(
            report.node_stats.send_failures >= 30,
            "{:?}",
            report.node_stats
        );
    }
}
