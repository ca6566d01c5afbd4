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

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use catalogue::id::{ItemId, ItemKind};
use node_core::node::{PublishError, Published};
use node_core::store::VersionStamp;
use node_core::store::{Storage, StoredItem};
use node_core::sync::SyncStats;
use node_core::{
    Capabilities, Duration, Instant, Node, NodeEvent, NodeId, NodeStats, OutFrame, SendError,
    Transport,
};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};

use crate::meshtastic::proto::packet_airtime;
use crate::radio::{LinkState, RadioEvent, RadioLink, RxOwned};
use node_core::radio::LoraParams;

/// How long sending stops after the radio reported its duty-cycle budget
/// spent. The firmware's budget is hourly; a minute keeps the node from
/// hammering the radio while letting it retry within the hour.
pub const DUTY_CYCLE_HOLD: Duration = Duration::from_secs(60);

/// Distinct senders remembered for the status report.
pub const MAX_HEARD_NODES: usize = 1024;

/// Requests from outside (the HTTP API) queued before senders wait.
pub const REQUEST_QUEUE: usize = 32;

/// The window the transmit duty cycle is measured over (EU868 rules count
/// airtime per hour).
pub const DUTY_CYCLE_WINDOW: Duration = Duration::from_secs(3600);

/// Buckets of the duty-cycle window (one a minute).
const AIRTIME_BUCKETS: usize = 60;

/// Maps tokio's monotonic clock to node-core time.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: tokio::time::Instant,
}

impl Clock {
    /// A clock whose [`Instant::ZERO`] is now.
    pub fn start() -> Self {
        Clock {
            start: tokio::time::Instant::now(),
        }
    }

    /// Microseconds since the start.
    pub fn now(&self) -> Instant {
        let us = self.start.elapsed().as_micros();
        Instant::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
    }

    /// The tokio instant of `at`, or `None` for [`Instant::MAX`] and other
    /// unrepresentable far futures.
    pub fn deadline(&self, at: Instant) -> Option<tokio::time::Instant> {
        if at == Instant::MAX {
            return None;
        }
        self.start
            .checked_add(std::time::Duration::from_micros(at.as_micros()))
    }
}

/// Airtime of the frames sent over the last [`DUTY_CYCLE_WINDOW`], in
/// one-minute buckets (bounded memory whatever the traffic).
#[derive(Clone, Debug)]
pub struct AirtimeMeter {
    /// Per bucket: the minute it holds and its airtime in µs.
    buckets: [(u64, u64); AIRTIME_BUCKETS],
}

impl Default for AirtimeMeter {
    fn default() -> Self {
        AirtimeMeter {
            buckets: [(u64::MAX, 0); AIRTIME_BUCKETS],
        }
    }
}

impl AirtimeMeter {
    fn minute(at: Instant) -> u64 {
        at.as_micros() / 60_000_000
    }

    /// Counts `airtime` sent at `now`.
    pub fn add(&mut self, now: Instant, airtime: Duration) {
        let m = Self::minute(now);
        let b = &mut self.buckets[(m % AIRTIME_BUCKETS as u64) as usize];
        if b.0 != m {
            *b = (m, 0);
        }
        b.1 = b.1.saturating_add(airtime.as_micros());
    }

    /// Airtime sent in the window ending at `now`.
    pub fn last_window(&self, now: Instant) -> Duration {
        let m = Self::minute(now);
        let us = self
            .buckets
            .iter()
            .filter(|(bm, _)| *bm <= m && m - bm < AIRTIME_BUCKETS as u64)
            .map(|(_, us)| us)
            .sum();
        Duration::from_micros(us)
    }

    /// The share of the window spent transmitting, in percent.
    pub fn duty_cycle_pct(&self, now: Instant) -> f64 {
        self.last_window(now).as_micros() as f64 * 100.0 / DUTY_CYCLE_WINDOW.as_micros() as f64
    }
}

/// node-core's [`Transport`] over a radio task's bounded channel.
#[derive(Debug)]
pub struct ChannelTransport {
    frames: mpsc::Sender<OutFrame>,
    state: Arc<LinkState>,
    capabilities: Capabilities,
    lora: LoraParams,
    now: Instant,
    hold_until: Instant,
    queued: u64,
    airtime: AirtimeMeter,
}

impl ChannelTransport {
    /// A transport pushing into `frames`.
    pub fn new(
        frames: mpsc::Sender<OutFrame>,
        state: Arc<LinkState>,
        capabilities: Capabilities,
        lora: LoraParams,
    ) -> Self {
        ChannelTransport {
            frames,
            state,
            capabilities,
            lora,
            now: Instant::ZERO,
            hold_until: Instant::ZERO,
            queued: 0,
            airtime: AirtimeMeter::default(),
        }
    }

    /// Airtime of the frames accepted lately (the node's own estimate of
    /// its transmit duty cycle: LoRa time on air at the link's modem
    /// settings, relays by the radio not included).
    pub fn airtime_meter(&self) -> &AirtimeMeter {
        &self.airtime
    }

    /// Sets the time `send` sees (the driver calls it before each node call).
    pub fn set_now(&mut self, now: Instant) {
        self.now = now;
    }

    /// Refuses frames with [`SendError::DutyCycle`] until `until`.
    pub fn hold_until(&mut self, until: Instant) {
        self.hold_until = self.hold_until.max(until);
    }

    /// Frames accepted so far.
    pub fn queued(&self) -> u64 {
        self.queued
    }
}

impl Transport for ChannelTransport {
    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    fn airtime(&self, payload_bytes: usize) -> Duration {
        packet_airtime(&self.lora, payload_bytes)
    }

    fn queue_room(&self) -> usize {
        if !self.state.is_up() || self.now < self.hold_until {
            return 0;
        }
        self.frames.capacity().min(self.state.room())
    }

    fn channel_utilisation_pct(&self) -> Option<f64> {
        self.state.channel_utilisation_pct()
    }

    fn send(&mut self, frame: OutFrame) -> Result<(), SendError> {
        self.check(&frame)?;
        if !self.state.is_up() {
            return Err(SendError::Unavailable("radio link is down".into()));
        }
        if self.now < self.hold_until {
            return Err(SendError::DutyCycle);
        }
        let airtime = packet_airtime(&self.lora, frame.payload.len());
        match self.frames.try_send(frame) {
            Ok(()) => {
                self.queued += 1;
                self.airtime.add(self.now, airtime);
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(SendError::QueueFull),
            Err(TrySendError::Closed(_)) => {
                Err(SendError::Unavailable("radio task has stopped".into()))
            }
        }
    }
}

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
pub struct DriverReport<S: Storage> {
    /// The node, handed back for flushing or inspection.
    pub node: Node<S>,
    /// Node counters at shutdown.
    pub node_stats: NodeStats,
    /// Driver counters.
    pub stats: DriverStats,
    /// How long the driver ran.
    pub uptime: Duration,
}

/// Driver settings.
#[derive(Clone, Copy, Debug)]
pub struct DriverConfig {
    /// How often a status line is logged.
    pub status_interval: Duration,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            status_interval: Duration::from_secs(60),
        }
    }
}

/// One catalogue item as listings show it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ItemSummary {
    /// Manifest or facility.
    pub kind: ItemKind,
    /// The item.
    pub id: ItemId,
    /// Its current version.
    pub stamp: VersionStamp,
    /// Its title.
    pub name: String,
    /// Size of its file.
    pub size_bytes: usize,
}

impl ItemSummary {
    fn of(item: &StoredItem) -> Self {
        ItemSummary {
            kind: item.kind,
            id: item.id,
            stamp: item.stamp,
            name: item.name.clone(),
            size_bytes: item.bytes.len(),
        }
    }
}

/// One item with its file and the versions the store keeps.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ItemDetail {
    /// The current version, bytes included.
    pub item: StoredItem,
    /// Every version kept, oldest first.
    pub history: Vec<VersionStamp>,
}

/// A sender heard by the radio.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Neighbour {
    /// Frames received from it.
    pub frames: u64,
    /// Relays between it and us on its last frame (0: a direct neighbour).
    pub hops_away: u8,
    /// Signal strength of its last frame, dBm.
    pub rssi_dbm: f32,
    /// Signal-to-noise ratio of its last frame, dB.
    pub snr_db: f32,
    /// When its last frame arrived.
    pub last_heard: Instant,
}

/// The catalogue's size and fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CatalogueStatus {
    /// Sync fingerprint (equal fingerprints: equal catalogues).
    pub fingerprint: u64,
    /// Items held.
    pub items: u32,
    /// Manifests held.
    pub manifests: usize,
    /// Facilities held.
    pub facilities: usize,
    /// Bytes charged against the store's capacity.
    pub used_bytes: u64,
}

/// Everything the status report shows.
#[derive(Clone, PartialEq, Debug)]
pub struct NodeStatus {
    /// The node.
    pub node: NodeId,
    /// When the status was taken (driver time).
    pub now: Instant,
    /// Whether the radio link is up.
    pub link_up: bool,
    /// Frames the transport can take right now.
    pub queue_room: usize,
    /// Senders heard, by originator.
    pub neighbours: BTreeMap<NodeId, Neighbour>,
    /// Driver counters (`heard` included).
    pub driver: DriverStats,
    /// Node counters.
    pub node_stats: NodeStats,
    /// Sync counters.
    pub sync: SyncStats,
    /// The catalogue.
    pub catalogue: CatalogueStatus,
    /// Airtime of the frames this node queued over the last [`DUTY_CYCLE_WINDOW`].
    pub airtime_last_window: Duration,
    /// That airtime as a share of the window, in percent.
    pub duty_cycle_pct: f64,
    /// The radio's own transmit duty cycle, if it reports one.
    pub radio_air_util_tx_pct: Option<f64>,
    /// The channel utilisation the radio reports, if it does.
    pub channel_utilisation_pct: Option<f64>,
}

/// A request to the driver loop; each carries the channel its answer goes
/// back on. Built by [`NodeHandle`].
#[derive(Debug)]
pub enum Request {
    /// Publish a manifest or facility file.
    Publish {
        /// What the file holds.
        kind: ItemKind,
        /// The file.
        bytes: Vec<u8>,
        /// Its name (the format comes from its extension; errors name it).
        source: String,
        /// The outcome, once durable.
        reply: oneshot::Sender<Result<Vec<Published>, PublishError>>,
    },
    /// List the catalogue.
    List {
        /// Only this kind, or every item.
        kind: Option<ItemKind>,
        /// Items in id order.
        reply: oneshot::Sender<Vec<ItemSummary>>,
    },
    /// Fetch the items whose id starts with a hex prefix.
    Find {
        /// Lowercase hex digits.
        prefix: String,
        /// Matching items (at most [`MAX_FOUND`]).
        reply: oneshot::Sender<Vec<ItemDetail>>,
    },
    /// Every current item of a kind, bytes included (for matching).
    Items {
        /// The kind.
        kind: ItemKind,
        /// The catalogue fingerprint and the items.
        reply: oneshot::Sender<(u64, Vec<StoredItem>)>,
    },
    /// The status report.
    Status {
        /// The report.
        reply: oneshot::Sender<NodeStatus>,
    },
}

/// Most items one [`Request::Find`] returns (a short prefix is ambiguous).
pub const MAX_FOUND: usize = 8;

/// The driver loop has stopped; no request can be served.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("the node is shutting down")]
pub struct Stopped;

/// A cloneable way into a running driver: every call is a [`Request`]
/// answered by the loop.
#[derive(Clone, Debug)]
pub struct NodeHandle {
    tx: mpsc::Sender<Request>,
}

/// The driver's end of the request channel, passed to [`run`].
#[derive(Debug)]
pub struct Requests {
    rx: mpsc::Receiver<Request>,
}

impl Requests {
    /// A request channel nobody can send on (a driver without an API).
    pub fn none() -> Requests {
        handle().1
    }
}

/// A new request channel: the handle for the API, the receiver for [`run`].
pub fn handle() -> (NodeHandle, Requests) {
    let (tx, rx) = mpsc::channel(REQUEST_QUEUE);
    (NodeHandle { tx }, Requests { rx })
}

impl NodeHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Request) -> Result<T, Stopped> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| Stopped)?;
        answer.await.map_err(|_| Stopped)
    }

    /// Publishes a file; answers once the new versions are durable.
    pub async fn publish(
        &self,
        kind: ItemKind,
        bytes: Vec<u8>,
        source: String,
    ) -> Result<Result<Vec<Published>, PublishError>, Stopped> {
        self.ask(|reply| Request::Publish {
            kind,
            bytes,
            source,
            reply,
        })
        .await
    }

    /// The catalogue (one kind or all) in id order.
    pub async fn list(&self, kind: Option<ItemKind>) -> Result<Vec<ItemSummary>, Stopped> {
        self.ask(|reply| Request::List { kind, reply }).await
    }

    /// The items whose id starts with `prefix` (hex, any case).
    pub async fn find(&self, prefix: &str) -> Result<Vec<ItemDetail>, Stopped> {
        let prefix = prefix.to_ascii_lowercase();
        self.ask(|reply| Request::Find { prefix, reply }).await
    }

    /// Every current item of `kind` with the catalogue's fingerprint.
    pub async fn items(&self, kind: ItemKind) -> Result<(u64, Vec<StoredItem>), Stopped> {
        self.ask(|reply| Request::Items { kind, reply }).await
    }

    /// The status report.
    pub async fn status(&self) -> Result<NodeStatus, Stopped> {
        self.ask(|reply| Request::Status { reply }).await
    }
}

/// What the loop keeps besides the node and the transport.
struct Loop {
    id: NodeId,
    /// The loop's own counters; `frames_queued` and `heard` stay empty here
    /// and are filled in by [`Loop::stats`].
    stats: DriverStats,
    /// Senders heard (at most [`MAX_HEARD_NODES`]); the source of `heard`.
    neighbours: BTreeMap<NodeId, Neighbour>,
}

impl Loop {
    fn heard(&mut self, now: Instant, rx: &RxOwned) {
        self.stats.frames_received += 1;
        let frames = self.neighbours.get(&rx.from).map_or(0, |n| n.frames);
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

    fn serve<S: Storage>(
        &self,
        req: Request,
        node: &mut Node<S>,
        tx: &mut ChannelTransport,
        now: Instant,
    ) {
        // A requester that gave up (closed connection) is no error.
        match req {
            Request::Publish {
                kind,
                bytes,
                source,
                reply,
            } => {
                let outcome = node.publish(now, kind, &bytes, &source, tx);
                if let Err(e) = &outcome {
                    tracing::warn!(node = %self.id, source = %source, error = %e, "publish refused");
                }
                let _ = reply.send(outcome);
            }
            Request::List { kind, reply } => {
                let items = node
                    .store()
                    .items()
                    .filter(|i| kind.is_none_or(|k| i.kind == k))
                    .map(ItemSummary::of)
                    .collect();
                let _ = reply.send(items);
            }
            Request::Find { prefix, reply } => {
                let store = node.store();
                let found = store
                    .items()
                    .filter(|i| i.id.to_string().starts_with(&prefix))
                    .take(MAX_FOUND)
                    .map(|i| ItemDetail {
                        item: i.clone(),
                        history: store.history(i.id).iter().map(|v| v.stamp).collect(),
                    })
                    .collect();
                let _ = reply.send(found);
            }
            Request::Items { kind, reply } => {
                let items = node.store().items_of(kind).cloned().collect();
                let (fingerprint, _) = node.catalogue_summary();
                let _ = reply.send((fingerprint.0, items));
            }
            Request::Status { reply } => {
                let _ = reply.send(self.status(node, tx, now));
            }
        }
    }

    fn status<S: Storage>(
        &self,
        node: &Node<S>,
        tx: &ChannelTransport,
        now: Instant,
    ) -> NodeStatus {
        let (fingerprint, items) = node.catalogue_summary();
        let store = node.store();
        let meter = tx.airtime_meter();
        NodeStatus {
            node: self.id,
            now,
            link_up: tx.state.is_up(),
            queue_room: tx.queue_room(),
            neighbours: self.neighbours.clone(),
            driver: self.stats(tx),
            node_stats: node.stats(),
            sync: node.sync_stats(),
            catalogue: CatalogueStatus {
                fingerprint: fingerprint.0,
                items,
                manifests: store.items_of(ItemKind::Manifest).count(),
                facilities: store.items_of(ItemKind::Facility).count(),
                used_bytes: store.used_bytes(),
            },
            airtime_last_window: meter.last_window(now),
            duty_cycle_pct: meter.duty_cycle_pct(now),
            radio_air_util_tx_pct: tx.state.air_util_tx_pct(),
            channel_utilisation_pct: tx.state.channel_utilisation_pct(),
        }
    }
}

/// Runs `node` (created at `clock.now()`) over `link`, answering
/// `requests`, until `shutdown` completes or the radio task ends.
pub async fn run<S: Storage>(
    mut node: Node<S>,
    link: RadioLink,
    clock: Clock,
    config: DriverConfig,
    requests: Requests,
    shutdown: impl Future<Output = ()>,
) -> DriverReport<S> {
    let RadioLink {
        node_id: _,
        capabilities,
        lora,
        frames,
        mut events,
        state,
        task,
    } = link;
    let mut tx = ChannelTransport::new(frames, state, capabilities, lora);
    let Requests { rx: mut requests } = requests;
    let mut requests_open = true;
    let id = node.id();
    let mut lp = Loop {
        id,
        stats: DriverStats::default(),
        neighbours: BTreeMap::new(),
    };
    let status_every = std::time::Duration::from_micros(config.status_interval.as_micros().max(1));
    let mut status =
        tokio::time::interval_at(tokio::time::Instant::now() + status_every, status_every);
    tokio::pin!(shutdown);
    let (fingerprint, items) = node.catalogue_summary();
    tracing::info!(node = %id, items, fingerprint = %format_args!("{fingerprint:016x}"),
        "driver started");

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
                        if error == SendError::DutyCycle {
                            tx.hold_until(now + DUTY_CYCLE_HOLD);
                        }
                        tracing::warn!(node = %id, packet_id, %error, "radio refused a frame");
                        node.handle_send_failed(now, error, &mut tx);
                    }
                    RadioEvent::Up { node: radio } => {
                        tracing::info!(node = %id, radio = %radio, "radio link up");
                        if radio != id {
                            tracing::error!(node = %id, radio = %radio,
                                "the radio now reports another node number; frames keep the node's id");
                        }
                    }
                    RadioEvent::Down { reason } => {
                        lp.stats.link_downs += 1;
                        tracing::warn!(node = %id, %reason, "radio link down, reconnecting");
                    }
                    RadioEvent::DeviceLog(line) => {
                        tracing::debug!(node = %id, device_log = %line, "device");
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
        }
        drain_events(id, &mut node);
    }

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
/// and title as fields.
fn drain_events<S: Storage>(id: NodeId, node: &mut Node<S>) {
    while let Some(event) = node.poll_event() {
        let name = |item: ItemId| {
            node.store()
                .get(item)
                .map(|i| i.name.clone())
                .unwrap_or_default()
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
                tracing::warn!(node = %id, element = %format_args!("{element:016x}"),
                    reason = %reason, "item transfer rejected");
            }
            NodeEvent::SendFailed { error } => {
                tracing::debug!(node = %id, error = %error, "send refused");
            }
            NodeEvent::FrameRejected { from, error } => {
                tracing::warn!(node = %id, from = %from, error = %error, "frame rejected");
            }
        }
    }
}

fn log_status<S: Storage>(lp: &Loop, node: &Node<S>, tx: &ChannelTransport, now: Instant) {
    let s = node.stats();
    let sync = node.sync_stats();
    let (fingerprint, items) = node.catalogue_summary();
    tracing::info!(node = %lp.id, %now, chat_sent = s.chat_sent, chat_received = s.chat_received,
        queue_room = tx.queue_room(), frames_received = lp.stats.frames_received,
        items, fingerprint = %format_args!("{fingerprint:016x}"),
        summaries_sent = sync.summaries_sent, data_sent = sync.data_sent,
        items_received = sync.items_received,
        duty_cycle_pct = tx.airtime_meter().duty_cycle_pct(now),
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
    use node_core::wire::FrameRepr;
    use node_core::{Destination, NodeConfig, Priority, TrafficConfig};

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
            DriverConfig::default(),
            Requests::none(),
            async {
                let _ = stop_rx.await;
            },
        ));
        (driver, stop_tx)
    }

    #[test]
    fn the_airtime_meter_keeps_one_hour() {
        let mut m = AirtimeMeter::default();
        let at = |s: u64| Instant::ZERO + Duration::from_secs(s);
        m.add(at(10), Duration::from_secs(36));
        m.add(at(70), Duration::from_secs(36));
        assert_eq!(m.last_window(at(100)), Duration::from_secs(72));
        assert!((m.duty_cycle_pct(at(100)) - 2.0).abs() < 1e-9);
        // The first minute leaves the window after an hour, the second a
        // minute later; a bucket reused for a new minute starts from zero.
        assert_eq!(m.last_window(at(3600 + 10)), Duration::from_secs(36));
        m.add(at(3600 + 20), Duration::from_secs(1));
        assert_eq!(m.last_window(at(3600 + 30)), Duration::from_secs(37));
        assert_eq!(m.last_window(at(2 * 3600 - 1)), Duration::from_secs(1));
        assert_eq!(m.last_window(at(2 * 3600)), Duration::ZERO);
        assert_eq!(m.last_window(at(3 * 3600)), Duration::ZERO);
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
            tx.airtime_meter().last_window(Instant::from_micros(5)),
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
