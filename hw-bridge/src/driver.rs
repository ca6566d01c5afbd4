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
//! * the loop ends when the `shutdown` future completes (SIGTERM, ctrl-c or
//!   a test's signal) and hands the node back, so whoever owns persistence
//!   can flush it.
//!
//! The driver only knows the node's generic API (`handle_*`, `poll_*`,
//! `stats`): new node features (sync, store) change the node and the code
//! that builds it, not this loop.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use node_core::{
    Capabilities, Duration, Instant, Node, NodeEvent, NodeId, NodeStats, OutFrame, SendError,
    Transport,
};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::meshtastic::proto::packet_airtime;
use crate::radio::{LinkState, RadioEvent, RadioLink};
use node_core::radio::LoraParams;

/// How long sending stops after the radio reported its duty-cycle budget
/// spent. The firmware's budget is hourly; a minute keeps the node from
/// hammering the radio while letting it retry within the hour.
pub const DUTY_CYCLE_HOLD: Duration = Duration::from_secs(60);

/// Distinct senders remembered for the status report.
pub const MAX_HEARD_NODES: usize = 1024;

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
        }
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

    fn send(&mut self, frame: OutFrame) -> Result<(), SendError> {
        self.check(&frame)?;
        if !self.state.is_up() {
            return Err(SendError::Unavailable("radio link is down".into()));
        }
        if self.now < self.hold_until {
            return Err(SendError::DutyCycle);
        }
        match self.frames.try_send(frame) {
            Ok(()) => {
                self.queued += 1;
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
pub struct DriverReport {
    /// The node, handed back for flushing or inspection.
    pub node: Node,
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

/// Runs `node` (created at `clock.now()`) over `link` until `shutdown`
/// completes or the radio task ends.
pub async fn run(
    mut node: Node,
    link: RadioLink,
    clock: Clock,
    config: DriverConfig,
    shutdown: impl Future<Output = ()>,
) -> DriverReport {
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
    let mut stats = DriverStats::default();
    let id = node.id();
    let status_every = std::time::Duration::from_micros(config.status_interval.as_micros().max(1));
    let mut status =
        tokio::time::interval_at(tokio::time::Instant::now() + status_every, status_every);
    tokio::pin!(shutdown);
    tracing::info!(node = %id, "driver started");

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
                        stats.frames_received += 1;
                        if let Some(n) = stats.heard.get_mut(&rx.from) {
                            *n += 1;
                        } else if stats.heard.len() < MAX_HEARD_NODES {
                            stats.heard.insert(rx.from, 1);
                        }
                        tracing::debug!(node = %id, from = %rx.from, len = rx.payload.len(),
                            hops_away = rx.hops_away, rssi_dbm = rx.rssi_dbm, snr_db = rx.snr_db,
                            "frame received");
                        node.handle_frame(now, &rx.as_rx(), &mut tx);
                    }
                    RadioEvent::SendFailed { packet_id, error } => {
                        stats.late_send_failures += 1;
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
                        stats.link_downs += 1;
                        tracing::warn!(node = %id, %reason, "radio link down, reconnecting");
                    }
                    RadioEvent::DeviceLog(line) => {
                        tracing::debug!(node = %id, device_log = %line, "device");
                    }
                }
            }
            () = sleep_until(timer) => {
                let now = clock.now();
                tx.set_now(now);
                node.handle_timeout(now, &mut tx);
            }
            _ = status.tick() => {
                log_status(id, &node, &tx, &stats, clock.now());
            }
        }
        drain_events(id, &mut node);
    }

    stats.frames_queued = tx.queued();
    drop(tx); // closes the frame channel: the radio task winds down
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), task).await;
    let uptime = clock.now() - Instant::ZERO;
    let node_stats = node.stats();
    tracing::info!(node = %id, uptime = %uptime,
        chat_sent = node_stats.chat_sent, chat_received = node_stats.chat_received,
        send_failures = node_stats.send_failures, frames_rejected = node_stats.frames_rejected,
        frames_queued = stats.frames_queued, frames_received = stats.frames_received,
        late_send_failures = stats.late_send_failures, link_downs = stats.link_downs,
        heard = %format_heard(&stats.heard),
        "node stopped");
    DriverReport {
        node,
        node_stats,
        stats,
        uptime,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn drain_events(id: NodeId, node: &mut Node) {
    while let Some(event) = node.poll_event() {
        match &event {
            NodeEvent::SendFailed { .. } => tracing::warn!(node = %id, ?event, "node event"),
            _ => tracing::info!(node = %id, ?event, "node event"),
        }
    }
}

fn log_status(id: NodeId, node: &Node, tx: &ChannelTransport, stats: &DriverStats, now: Instant) {
    let s = node.stats();
    tracing::info!(node = %id, %now, chat_sent = s.chat_sent, chat_received = s.chat_received,
        queue_room = tx.queue_room(), frames_received = stats.frames_received,
        neighbours = %format_heard(&stats.heard), "status");
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
    }

    #[tokio::test(start_paused = true)]
    async fn the_node_runs_on_the_clock_and_stops_on_shutdown() {
        let (l, mut ends) = link(true, 16);
        let clock = Clock::start();
        let config = NodeConfig {
            traffic: Some(TrafficConfig {
                mean_period: Duration::from_secs(10),
                payload_bytes: 20,
                hop_limit: 2,
            }),
            ..NodeConfig::new(NodeId(1), 7)
        };
        // Chat only: catalogue sync would add its own summaries.
        let config = NodeConfig {
            sync: node_core::sync::SyncConfig {
                strategy: node_core::sync::Strategy::Off,
                ..config.sync
            },
            ..config
        };
        let node = Node::new(config, clock.now());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let driver = tokio::spawn(run(node, l, clock, DriverConfig::default(), async {
            let _ = stop_rx.await;
        }));
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
        let clock = Clock::start();
        let config = NodeConfig {
            traffic: Some(TrafficConfig {
                mean_period: Duration::from_secs(1),
                payload_bytes: 20,
                hop_limit: 3,
            }),
            ..NodeConfig::new(NodeId(1), 3)
        };
        let node = Node::new(config, clock.now());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let driver = tokio::spawn(run(node, l, clock, DriverConfig::default(), async {
            let _ = stop_rx.await;
        }));
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
