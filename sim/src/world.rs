//! The simulation: node-core nodes on simulated Meshtastic radios over a
//! shared simulated air.
//!
//! Every state change happens in an event handler at one instant; handlers
//! emit trace records and schedule later events. The only sources of
//! randomness are streams derived from the scenario's seed, and events at
//! the same instant run in the order they were scheduled, so a run is a
//! pure function of its scenario.
//!
//! Per transmission the engine visits the sender's link list twice (at the
//! start to register the signal with every receiver in interference range,
//! at the end to decide each reception), and compares each new signal only
//! with the handful of signals already on the air at that receiver. There is
//! no all-pairs step anywhere.

use std::sync::Arc;

use node_core::store::MemStorage;
use node_core::transport::{
    Capabilities, Destination, MESHTASTIC_MAX_PAYLOAD_BYTES, OutFrame, SendError, Transport,
};
use node_core::wire::FrameClass;
use node_core::{
    Duration, Instant, Node, NodeConfig, NodeEvent, NodeId, Rng, RxFrame, TrafficConfig,
};
use scenarios::{Fault, Role, Scenario};

use crate::engine::EventQueue;
use crate::mac::{Mac, Packet, Queued};
use crate::phy::capture::Heard;
use crate::radio::RadioSetup;
use crate::topology::{Topology, TopologyError};
use crate::trace::{
    DropReason, FaultRecord, NodeRecord, PacketKey, RadioSummary, Record, RunInfo, TraceSink, TxId,
};

/// Records buffered before they are handed to the sinks.
const TRACE_BATCH: usize = 8_192;

/// How often (in events) the progress callback is called.
const PROGRESS_EVERY_EVENTS: u64 = 1 << 16;

/// Why a simulation could not be set up.
#[derive(Clone, PartialEq, Debug, thiserror::Error)]
pub enum BuildError {
    /// The topology could not be generated.
    #[error(transparent)]
    Topology(#[from] TopologyError),
}

/// Why a run stopped early.
#[derive(Clone, PartialEq, Debug, thiserror::Error)]
pub enum RunError {
    /// `limits.max_events` was reached before the end of the run.
    #[error("event limit of {limit} reached at {at} (raise limits.max_events or shorten the run)")]
    EventLimit {
        /// The limit.
        limit: u64,
        /// Simulated time when it was hit.
        at: Instant,
    },
}

/// Where a run is, for progress displays.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Progress {
    /// Simulated time reached.
    pub now: Instant,
    /// Simulated time the run ends.
    pub end: Instant,
    /// Events processed so far.
    pub events: u64,
}

/// What a finished run did.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct RunStats {
    /// Events processed.
    pub events: u64,
    /// Simulated time covered.
    pub sim_time: Duration,
    /// Trace records emitted.
    pub records: u64,
}

#[derive(Clone, Copy, Debug)]
enum Event {
    /// A node-core timer.
    Timer { node: u32, generation: u32 },
    /// A radio should look at its transmit queue.
    MacWake { node: u32, generation: u32 },
    /// A transmission ends.
    TxEnd { slot: u32 },
    /// A scheduled fault action.
    Fault { index: u32 },
    /// A scheduled publication (index into the workload schedule).
    Publish { index: u32 },
}

#[derive(Clone, Debug)]
enum FaultAction {
    Partition(Vec<u16>),
    Heal,
    Crash(u32),
    Restart(u32),
    Join(u32),
    LossStart(u32),
    LossEnd(u32),
}

#[derive(Clone, Debug)]
struct LossRule {
    probability: f64,
    /// Sorted (low, high) node pairs; `None` means every link.
    links: Option<Vec<(u32, u32)>>,
    active: bool,
}

struct SimNode {
    core: Option<Node>,
    /// The store's storage while the node is down (it survives a crash).
    parked: Option<MemStorage>,
    config: NodeConfig,
    timer_at: Instant,
    timer_gen: u32,
    mac: Mac,
    tx_until: Instant,
    group: u16,
}

impl SimNode {
    /// Switched on: a node-core runs (a crashed or not yet joined node has
    /// only its parked storage).
    fn alive(&self) -> bool {
        self.core.is_some()
    }
}

struct Transmission {
    serial: TxId,
    sender: u32,
    packet: Packet,
    /// What the payload is, classified once for every reception's record.
    class: FrameClass,
    start: Instant,
    end: Instant,
}

/// A signal on the air at one receiver.
#[derive(Clone, Copy, Debug)]
struct OnAir {
    serial: TxId,
    heard: Heard,
    half_duplex: bool,
}

/// A complete simulation, ready to run.
pub struct Simulation {
    radio: RadioSetup,
    topo: Topology,
    nodes: Vec<SimNode>,
    /// Signals on the air at each receiver.
    on_air: Vec<Vec<OnAir>>,
    txs: Vec<Option<Transmission>>,
    free_slots: Vec<u32>,
    queue: EventQueue<Event>,
    trace: Vec<Record>,
    records: u64,
    faults: Vec<FaultAction>,
    loss_rules: Vec<LossRule>,
    loss_rng: Rng,
    next_serial: TxId,
    end: Instant,
    max_events: u64,
    max_hop_limit: u8,
    max_queue_delay: Duration,
    stale: Vec<Queued>,
    cad_time: Duration,
    publications: Vec<scenarios::ScheduledPublish>,
}

impl Simulation {
    /// Sets up the run a scenario describes: topology, radios, nodes,
    /// traffic and the fault schedule.
    pub fn new(s: &Scenario) -> Result<Self, BuildError> {
        let max_height = match &s.topology {
            scenarios::Topology::Csv { nodes, .. } => nodes
                .iter()
                .filter_map(|c| c.z_m)
                .fold(s.radio.antenna_height_m, f64::max),
            _ => s.radio.antenna_height_m,
        };
        let radio = RadioSetup::new(s, max_height);
        let topo = Topology::build(s, &radio)?;
        let n = topo.len() as u32;

        let traffic = s.workload.traffic.as_ref().map(|t| {
            (
                TrafficConfig {
                    mean_period: t.period,
                    payload_bytes: t.payload_bytes,
                    hop_limit: t.hop_limit.unwrap_or(s.mesh.hop_limit),
                },
                t.senders.clone(),
            )
        });
        let late: Vec<u32> = s
            .faults
            .iter()
            .filter_map(|f| match f {
                Fault::Join(j) => Some(j.node),
                _ => None,
            })
            .collect();
        let nodes: Vec<SimNode> = (0..n)
            .map(|i| {
                let sends = traffic
                    .as_ref()
                    .is_some_and(|(_, senders)| senders.as_ref().is_none_or(|l| l.contains(&i)));
                SimNode {
                    core: None,
                    parked: None,
                    config: NodeConfig {
                        traffic: if sends {
                            traffic.as_ref().map(|(t, _)| *t)
                        } else {
                            None
                        },
                        sync: sync_config(s),
                        ..NodeConfig::new(NodeId(i), s.seed)
                    },
                    timer_at: Instant::MAX,
                    timer_gen: 0,
                    mac: Mac::new(
                        topo.sites()[i as usize].role,
                        Rng::derive(s.seed, "mac", u64::from(i)),
                        s.mesh.queue_capacity as usize,
                        radio.region.duty_cycle_window(),
                    ),
                    tx_until: Instant::ZERO,
                    group: 0,
                }
            })
            .collect();

        let mut sim = Simulation {
            on_air: vec![Vec::new(); n as usize],
            txs: Vec::new(),
            free_slots: Vec::new(),
            queue: EventQueue::default(),
            trace: Vec::with_capacity(TRACE_BATCH * 2),
            records: 0,
            faults: Vec::new(),
            loss_rules: Vec::new(),
            loss_rng: Rng::derive(s.seed, "loss", 0),
            next_serial: 0,
            end: Instant::ZERO + s.duration,
            max_events: s.limits.max_events,
            max_hop_limit: node_core::transport::MAX_HOP_LIMIT,
            max_queue_delay: s.mesh.max_queue_delay,
            stale: Vec::new(),
            cad_time: Duration::from_micros(CAD_SYMBOLS * radio.lora.symbol_ns() / 1_000),
            publications: Vec::new(),
            radio,
            topo,
            nodes,
        };
        sim.schedule_faults(s);
        sim.publications = s.workload.schedule.clone();
        for (index, p) in sim.publications.iter().enumerate() {
            sim.queue.schedule(
                Instant::ZERO + p.at,
                Event::Publish {
                    index: index as u32,
                },
            );
        }
        for i in 0..n {
            if !late.contains(&i) {
                sim.boot(Instant::ZERO, i);
            }
        }
        Ok(sim)
    }

    /// The topology the run uses.
    pub fn topology(&self) -> &Topology {
        &self.topo
    }

    /// Node `i`'s node-core state machine, if it is up (for diagnostics and
    /// tests; the trace is the record of what happened).
    pub fn node(&self, i: u32) -> Option<&Node> {
        self.nodes.get(i as usize)?.core.as_ref()
    }

    /// The resolved radio configuration.
    pub fn radio(&self) -> &RadioSetup {
        &self.radio
    }

    /// Everything the reports need to know about this run besides the trace.
    pub fn run_info(&self, s: &Scenario) -> RunInfo {
        let r = &self.radio;
        let graph = self.topo.graph();
        RunInfo {
            scenario: s.name.clone(),
            seed: s.seed,
            sim_time: s.duration,
            sites: self.topo.sites().to_vec(),
            degrees: graph
                .node_indices()
                .map(|v| graph.neighbors(v).count() as u32)
                .collect(),
            topology: self.topo.stats(),
            components: self.topo.components(),
            cds_size: self.topo.greedy_cds_size(),
            initially_off: s
                .faults
                .iter()
                .filter_map(|f| match f {
                    Fault::Join(j) => Some(j.node),
                    _ => None,
                })
                .collect(),
            scheduled_publications: s.workload.schedule.len() as u32,
            sync_strategy: match s.sync.strategy {
                scenarios::SyncStrategy::Reconcile => "reconcile",
                scenarios::SyncStrategy::Flood => "flood",
                scenarios::SyncStrategy::Off => "off",
            }
            .into(),
            sync_imax: s.sync.imax,
            within_hop_limit: {
                let hop_limit = s
                    .workload
                    .traffic
                    .as_ref()
                    .and_then(|t| t.hop_limit)
                    .unwrap_or(s.mesh.hop_limit);
                (0..self.topo.len() as u32)
                    .map(|i| {
                        self.topo
                            .hops_from(i)
                            .iter()
                            .filter(|d| **d >= 1 && **d <= u32::from(hop_limit) + 1)
                            .count() as u32
                    })
                    .collect()
            },
            radio: RadioSummary {
                region: r.region.name().to_string(),
                preset: if s.radio.lora.is_some() {
                    "custom".into()
                } else {
                    s.radio.preset.name().into()
                },
                sf: r.lora.sf,
                bandwidth_khz: f64::from(r.lora.bw_hz) / 1000.0,
                coding_rate: format!("4/{}", r.lora.cr + 4),
                frequency_mhz: r.frequency_mhz,
                tx_power_dbm: r.tx_power_dbm,
                sensitivity_dbm: r.sensitivity_dbm,
                path_loss: match s.radio.path_loss {
                    scenarios::PathLoss::LogDistance { .. } => "log_distance",
                    scenarios::PathLoss::FreeSpace => "free_space",
                    scenarios::PathLoss::OkumuraHata { .. } => "okumura_hata",
                    scenarios::PathLoss::ThreeGppMacro { .. } => "3gpp_macro",
                }
                .into(),
                duty_cycle_limit_pct: r.duty_cycle_pct,
                duty_cycle_window: r.region.duty_cycle_window(),
                traffic_frame_airtime_ms: s
                    .workload
                    .traffic
                    .as_ref()
                    .map_or(0.0, |t| r.airtime(t.payload_bytes).as_millis_f64()),
            },
        }
    }

    /// Runs to the end of the scenario, handing every trace record to
    /// `sinks` and calling `progress` now and then.
    pub fn run<'s>(
        &mut self,
        sinks: &mut [&mut (dyn TraceSink + 's)],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RunStats, RunError> {
        let mut events: u64 = 0;
        let mut now = Instant::ZERO;
        while let Some(at) = self.queue.peek_time() {
            if at > self.end {
                break;
            }
            if events == self.max_events {
                self.flush(sinks);
                return Err(RunError::EventLimit {
                    limit: self.max_events,
                    at,
                });
            }
            let (at, event) = self.queue.pop().expect("peeked");
            debug_assert!(at >= now, "time runs forwards");
            now = at;
            events += 1;
            match event {
                Event::Timer { node, generation } => self.on_timer(now, node, generation),
                Event::MacWake { node, generation } => self.on_mac_wake(now, node, generation),
                Event::TxEnd { slot } => self.on_tx_end(now, slot),
                Event::Fault { index } => self.on_fault(now, index),
                Event::Publish { index } => self.on_publish(now, index),
            }
            if self.trace.len() >= TRACE_BATCH {
                self.flush(sinks);
            }
            if events.is_multiple_of(PROGRESS_EVERY_EVENTS) {
                progress(Progress {
                    now,
                    end: self.end,
                    events,
                });
            }
        }
        self.flush(sinks);
        progress(Progress {
            now: self.end,
            end: self.end,
            events,
        });
        Ok(RunStats {
            events,
            sim_time: self.end - Instant::ZERO,
            records: self.records,
        })
    }

    fn flush<'s>(&mut self, sinks: &mut [&mut (dyn TraceSink + 's)]) {
        if self.trace.is_empty() {
            return;
        }
        for sink in sinks.iter_mut() {
            sink.observe(&self.trace);
        }
        self.records += self.trace.len() as u64;
        self.trace.clear();
    }

    // ---- nodes -------------------------------------------------------

    /// Switches a node on with a fresh node-core state machine over the
    /// store it had (replayed, as after a reboot).
    fn boot(&mut self, now: Instant, i: u32) {
        let node = &mut self.nodes[i as usize];
        let storage = node.parked.take().unwrap_or_default();
        let core = Node::with_storage(node.config.clone(), storage, now)
            .expect("an in-memory store written by this run reopens");
        node.core = Some(core);
        self.sync_node(now, i);
    }

    fn shut_down(&mut self, now: Instant, i: u32) {
        let node = &mut self.nodes[i as usize];
        if let Some(core) = node.core.take() {
            // Power loss: acknowledged writes survive, anything unsynced is lost.
            let mut storage = core.into_storage();
            storage.crash(0);
            node.parked = Some(storage);
        }
        node.config.incarnation += 1;
        node.timer_gen += 1;
        node.timer_at = Instant::MAX;
        for q in node.mac.take_all() {
            self.trace.push(Record::Drop {
                at: now,
                node: NodeId(i),
                packet: q.packet.key,
                reason: DropReason::NodeDown,
            });
        }
        node.mac.reboot();
        node.mac.wake_gen += 1;
        node.mac.wake_at = Instant::MAX;
    }

    /// After node-core ran: record its events and re-arm its timer.
    fn sync_node(&mut self, now: Instant, i: u32) {
        let node = &mut self.nodes[i as usize];
        let Some(core) = node.core.as_mut() else {
            return;
        };
        while let Some(event) = core.poll_event() {
            let event = match event {
                NodeEvent::SendFailed { .. } => NodeRecord::SendFailed,
                NodeEvent::FrameRejected { .. } => NodeRecord::FrameRejected,
                NodeEvent::Published {
                    item,
                    seq,
                    element,
                    size_bytes,
                    fragments,
                } => NodeRecord::Published {
                    item,
                    seq,
                    element: element.0,
                    size_bytes,
                    fragments,
                },
                NodeEvent::Stored { item, seq, element } => NodeRecord::Stored {
                    item,
                    seq,
                    element: element.0,
                },
                NodeEvent::ItemRejected { .. } => NodeRecord::ItemRejected,
            };
            self.trace.push(Record::Node {
                at: now,
                node: NodeId(i),
                event,
            });
        }
        let next = core.poll_timeout().unwrap_or(Instant::MAX).max(now);
        if next != node.timer_at {
            node.timer_at = next;
            node.timer_gen += 1;
            if next != Instant::MAX {
                self.queue.schedule(
                    next,
                    Event::Timer {
                        node: i,
                        generation: node.timer_gen,
                    },
                );
            }
        }
    }

    fn on_timer(&mut self, now: Instant, i: u32, generation: u32) {
        let node = &mut self.nodes[i as usize];
        if generation != node.timer_gen || !node.alive() {
            return;
        }
        node.timer_at = Instant::MAX;
        if self
            .drive(now, i, |core, t| core.handle_timeout(now, t))
            .is_some()
        {
            self.sync_node(now, i);
        }
    }

    /// Runs `f` on node `i`'s node-core with its simulated radio as the
    /// transport; `None` (and nothing run) while the node is down.
    fn drive<R>(
        &mut self,
        now: Instant,
        i: u32,
        f: impl FnOnce(&mut Node, &mut SimTransport<'_>) -> R,
    ) -> Option<R> {
        let node = &mut self.nodes[i as usize];
        let core = node.core.as_mut()?;
        let mut transport = SimTransport {
            node: i,
            now,
            mac: &mut node.mac,
            queue: &mut self.queue,
            trace: &mut self.trace,
            radio: &self.radio,
            max_hop_limit: self.max_hop_limit,
        };
        Some(f(core, &mut transport))
    }

    // ---- radio: transmit --------------------------------------------

    fn on_mac_wake(&mut self, now: Instant, i: u32, generation: u32) {
        let node = &mut self.nodes[i as usize];
        if generation != node.mac.wake_gen || !node.alive() {
            return;
        }
        node.mac.wake_at = Instant::MAX;
        if node.tx_until > now {
            arm_wake(&mut self.queue, i, &mut node.mac, node.tx_until);
            return;
        }
        self.stale.clear();
        node.mac
            .take_stale(now, self.max_queue_delay, &mut self.stale);
        for q in self.stale.drain(..) {
            self.trace.push(Record::Drop {
                at: now,
                node: NodeId(i),
                packet: q.packet.key,
                reason: DropReason::Stale,
            });
        }
        loop {
            let node = &mut self.nodes[i as usize];
            let Some(pick) = node.mac.pick_ready(now) else {
                break;
            };
            if self.radio.listen_before_talk
                && channel_busy(&self.on_air[i as usize], now, self.cad_time)
            {
                // Channel activity detected: back off a random number of slots.
                let delay = node.mac.tx_delay(now, self.radio.slot_time);
                node.mac.queued_mut(pick).ready_at = now + delay.max(Duration::from_micros(1));
                break;
            }
            let picked = node.mac.queued_mut(pick);
            let (airtime, enqueued_at) = (
                self.radio.airtime(picked.packet.payload.len()),
                picked.enqueued_at,
            );
            match node
                .mac
                .duty_allowed_at(now, airtime, self.radio.duty_cycle_pct)
            {
                Some(t) if t <= now => {
                    let q = node.mac.take(pick);
                    self.start_tx(now, i, q, airtime);
                    return;
                }
                Some(t) if t - enqueued_at <= self.max_queue_delay => {
                    node.mac.queued_mut(pick).ready_at = t;
                    break;
                }
                _ => {
                    let q = node.mac.take(pick);
                    self.trace.push(Record::Drop {
                        at: now,
                        node: NodeId(i),
                        packet: q.packet.key,
                        reason: DropReason::DutyCycle,
                    });
                }
            }
        }
        let node = &mut self.nodes[i as usize];
        if let Some(t) = node.mac.next_ready() {
            arm_wake(&mut self.queue, i, &mut node.mac, t.max(now));
        }
    }

    fn start_tx(&mut self, now: Instant, i: u32, q: Queued, airtime: Duration) {
        let end = now + airtime;
        let lock_at = now + self.radio.lora.lock_offset();
        let serial = self.next_serial;
        self.next_serial += 1;
        let bytes_on_air = node_core::radio::meshtastic_frame_bytes(q.packet.payload.len()) as u16;
        let (class, subject) = node_core::wire::classify(&q.packet.payload);
        self.trace.push(Record::TxStart {
            at: now,
            node: NodeId(i),
            tx: serial,
            packet: q.packet.key,
            hop_limit: q.packet.hop_limit,
            relay: q.relay,
            bytes_on_air,
            end,
            class,
            subject,
        });
        let sender = &mut self.nodes[i as usize];
        sender.tx_until = end;
        sender.mac.note_tx(now, end);
        sender.mac.note_busy(end, airtime);
        // Half-duplex: whatever the sender was receiving is lost.
        for s in &mut self.on_air[i as usize] {
            if s.heard.end > now {
                s.half_duplex = true;
            }
        }
        let sf = self.radio.lora.sf;
        let group = sender.group;
        for link in self.topo.links_from(i) {
            let r = link.to as usize;
            let receiver = &self.nodes[r];
            if !receiver.alive() || receiver.group != group {
                continue;
            }
            let mut heard = Heard::new(
                now,
                end,
                lock_at,
                link.rssi_dbm,
                link.rssi_mw,
                sf,
                link.decodable,
            );
            let signals = &mut self.on_air[r];
            signals.retain(|s| s.heard.end > now);
            for s in signals.iter_mut() {
                // Both already lost: nothing is left to decide between them.
                if !(s.heard.collided && heard.collided) {
                    self.radio.capture.overlap(&mut s.heard, &mut heard);
                }
            }
            signals.push(OnAir {
                serial,
                heard,
                half_duplex: receiver.tx_until > now,
            });
        }
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                self.txs.push(None);
                (self.txs.len() - 1) as u32
            }
        };
        self.txs[slot as usize] = Some(Transmission {
            serial,
            sender: i,
            packet: q.packet,
            class,
            start: now,
            end,
        });
        self.queue.schedule(end, Event::TxEnd { slot });
    }

    // ---- radio: receive ---------------------------------------------

    fn on_tx_end(&mut self, now: Instant, slot: u32) {
        let tx = self.txs[slot as usize].take().expect("a live transmission");
        self.free_slots.push(slot);
        let airtime = tx.end - tx.start;
        for li in 0..self.topo.links_from(tx.sender).len() {
            let link = self.topo.links_from(tx.sender)[li];
            let r = link.to;
            let signals = &mut self.on_air[r as usize];
            let Some(pos) = signals.iter().position(|s| s.serial == tx.serial) else {
                continue; // the receiver was off or partitioned away
            };
            let s = signals.swap_remove(pos);
            let receiver = &mut self.nodes[r as usize];
            if !receiver.alive() {
                continue;
            }
            let node = NodeId(r);
            if !s.heard.demodulable {
                self.trace.push(Record::BelowSensitivity {
                    at: now,
                    node,
                    tx: tx.serial,
                });
                continue;
            }
            receiver.mac.note_busy(now, airtime);
            if s.half_duplex {
                self.trace.push(Record::HalfDuplexMiss {
                    at: now,
                    node,
                    tx: tx.serial,
                });
                continue;
            }
            if s.heard.collided {
                self.trace.push(Record::Collision {
                    at: now,
                    node,
                    tx: tx.serial,
                });
                continue;
            }
            if self.injected_loss(tx.sender, r) {
                self.trace.push(Record::Drop {
                    at: now,
                    node,
                    packet: tx.packet.key,
                    reason: DropReason::InjectedLoss,
                });
                continue;
            }
            self.receive(now, r, &tx, link.rssi_dbm);
        }
        self.trace.push(Record::TxEnd {
            at: now,
            node: NodeId(tx.sender),
            tx: tx.serial,
        });
        let sender = &mut self.nodes[tx.sender as usize];
        if sender.alive() && sender.mac.next_ready().is_some() {
            arm_wake(&mut self.queue, tx.sender, &mut sender.mac, now);
        }
    }

    /// A receiver decoded `tx`: the Meshtastic flood's receive path.
    fn receive(&mut self, now: Instant, r: u32, tx: &Transmission, rssi_dbm: f64) {
        let p = &tx.packet;
        let node = &mut self.nodes[r as usize];
        let duplicate = p.key.origin.0 == r || node.mac.check_and_mark_seen(p.key);
        let hops_away = p.hop_start.saturating_sub(p.hop_limit);
        self.trace.push(Record::RxOk {
            at: now,
            node: NodeId(r),
            tx: tx.serial,
            sender: NodeId(tx.sender),
            packet: p.key,
            hops_away,
            rssi_cdbm: (rssi_dbm * 100.0)
                .round()
                .clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16,
            duplicate,
            class: tx.class,
        });
        if duplicate {
            // Someone else relayed it: a client need not (routers always do).
            if node.mac.role == Role::Client && node.mac.cancel_relay(p.key) {
                self.trace.push(Record::Drop {
                    at: now,
                    node: NodeId(r),
                    packet: p.key,
                    reason: DropReason::RelayCancelled,
                });
            }
            return;
        }
        let snr_db = self.radio.snr_db(rssi_dbm);
        let for_me = match p.dest {
            Destination::Broadcast => true,
            Destination::Node(d) => d.0 == r,
        };
        if for_me {
            let frame = RxFrame {
                from: p.key.origin,
                dest: p.dest,
                hops_away,
                rssi_dbm: rssi_dbm as f32,
                snr_db: snr_db as f32,
                payload: &p.payload,
            };
            self.drive(now, r, |core, t| core.handle_frame(now, &frame, t));
        }
        let to_me_only = p.dest == Destination::Node(NodeId(r));
        let node = &mut self.nodes[r as usize];
        if p.hop_limit > 0 && node.mac.role != Role::ClientMute && !to_me_only {
            let relay = Packet {
                hop_limit: p.hop_limit - 1,
                ..p.clone()
            };
            let delay = node.mac.relay_delay(snr_db, self.radio.slot_time);
            match node.mac.enqueue(relay, true, now, now + delay) {
                Ok(()) => arm_wake(&mut self.queue, r, &mut node.mac, now + delay),
                Err(relay) => self.trace.push(Record::Drop {
                    at: now,
                    node: NodeId(r),
                    packet: relay.key,
                    reason: DropReason::QueueFull,
                }),
            }
        }
        self.sync_node(now, r);
    }

    fn injected_loss(&mut self, a: u32, b: u32) -> bool {
        let pair = (a.min(b), a.max(b));
        let mut lost = false;
        for rule in &self.loss_rules {
            if rule.active
                && rule
                    .links
                    .as_ref()
                    .is_none_or(|l| l.binary_search(&pair).is_ok())
                && self.loss_rng.chance(rule.probability)
            {
                lost = true;
            }
        }
        lost
    }

    /// A scheduled publication. A node that is down cannot publish; the
    /// next live node (by id, wrapping) does so instead, so the workload
    /// stays the same size whatever the faults.
    fn on_publish(&mut self, now: Instant, index: u32) {
        let p = self.publications[index as usize].clone();
        let n = self.nodes.len() as u32;
        let Some(i) = (0..n)
            .map(|k| (p.node + k) % n)
            .find(|i| self.nodes[*i as usize].alive())
        else {
            return;
        };
        let kind = match p.kind {
            scenarios::CatalogueKind::Manifest => node_core::ItemKind::Manifest,
            scenarios::CatalogueKind::Facility => node_core::ItemKind::Facility,
        };
        // The schedule was checked when the scenario loaded; a refusal here
        // (a full store) is reported by the node as an event.
        let published = self.drive(now, i, |core, t| {
            let _ = core.publish(now, kind, &p.bytes, &p.source, t);
        });
        if published.is_some() {
            self.sync_node(now, i);
        }
    }

    // ---- faults -----------------------------------------------------

    fn schedule_faults(&mut self, s: &Scenario) {
        let push = |sim: &mut Simulation, at: Duration, action: FaultAction| {
            let index = sim.faults.len() as u32;
            sim.faults.push(action);
            sim.queue
                .schedule(Instant::ZERO + at, Event::Fault { index });
        };
        for fault in &s.faults {
            match fault {
                Fault::Partition(p) => {
                    let groups = self.partition_groups(p);
                    push(self, p.at, FaultAction::Partition(groups));
                    if let Some(h) = p.heal_at {
                        push(self, h, FaultAction::Heal);
                    }
                }
                Fault::Heal(h) => push(self, h.at, FaultAction::Heal),
                Fault::Crash(c) => {
                    push(self, c.at, FaultAction::Crash(c.node));
                    if let Some(after) = c.restart_after {
                        push(self, c.at + after, FaultAction::Restart(c.node));
                    }
                }
                Fault::Join(j) => push(self, j.at, FaultAction::Join(j.node)),
                Fault::Loss(l) => {
                    let rule = self.loss_rules.len() as u32;
                    self.loss_rules.push(LossRule {
                        probability: l.probability,
                        links: l.links.as_ref().map(|links| {
                            let mut v: Vec<(u32, u32)> = links
                                .iter()
                                .map(|[a, b]| ((*a).min(*b), (*a).max(*b)))
                                .collect();
                            v.sort_unstable();
                            v
                        }),
                        active: false,
                    });
                    push(self, l.from, FaultAction::LossStart(rule));
                    if let Some(u) = l.until {
                        push(self, u, FaultAction::LossEnd(rule));
                    }
                }
            }
        }
    }

    /// Each node's group under partition `p` (0: in no listed group; for a
    /// line, 0 and 1 are its two sides). Reports draw partitions with it.
    pub fn partition_groups(&self, p: &scenarios::Partition) -> Vec<u16> {
        let n = self.topo.len();
        match (&p.groups, &p.line) {
            (Some(groups), _) => {
                let mut g = vec![0u16; n];
                for (k, ids) in groups.iter().enumerate() {
                    for id in ids {
                        g[*id as usize] = k as u16 + 1;
                    }
                }
                g
            }
            (None, Some([[ax, ay], [bx, by]])) => self
                .topo
                .sites()
                .iter()
                .map(|s| u16::from((bx - ax) * (s.y_m - ay) - (by - ay) * (s.x_m - ax) > 0.0))
                .collect(),
            (None, None) => vec![0; n],
        }
    }

    fn on_fault(&mut self, now: Instant, index: u32) {
        let action = self.faults[index as usize].clone();
        let record = match action {
            FaultAction::Partition(groups) => {
                let count = groups
                    .iter()
                    .copied()
                    .collect::<std::collections::BTreeSet<u16>>()
                    .len() as u32;
                for (node, g) in self.nodes.iter_mut().zip(groups) {
                    node.group = g;
                }
                FaultRecord::Partition { groups: count }
            }
            FaultAction::Heal => {
                for node in &mut self.nodes {
                    node.group = 0;
                }
                FaultRecord::Heal
            }
            FaultAction::Crash(i) => {
                if self.nodes[i as usize].alive() {
                    self.shut_down(now, i);
                }
                FaultRecord::Crash { node: NodeId(i) }
            }
            FaultAction::Restart(i) | FaultAction::Join(i) => {
                if !self.nodes[i as usize].alive() {
                    self.boot(now, i);
                }
                if matches!(action, FaultAction::Join(_)) {
                    FaultRecord::Join { node: NodeId(i) }
                } else {
                    FaultRecord::Restart { node: NodeId(i) }
                }
            }
            FaultAction::LossStart(rule) => {
                self.loss_rules[rule as usize].active = true;
                FaultRecord::LossStart { rule }
            }
            FaultAction::LossEnd(rule) => {
                self.loss_rules[rule as usize].active = false;
                FaultRecord::LossEnd { rule }
            }
        };
        self.trace.push(Record::Fault {
            at: now,
            fault: record,
        });
    }
}

/// node-core's sync settings for a scenario.
fn sync_config(s: &Scenario) -> node_core::sync::SyncConfig {
    let defaults = node_core::sync::SyncConfig::default();
    node_core::sync::SyncConfig {
        strategy: match s.sync.strategy {
            scenarios::SyncStrategy::Reconcile => node_core::sync::Strategy::Reconcile,
            scenarios::SyncStrategy::Flood => node_core::sync::Strategy::Flood,
            scenarios::SyncStrategy::Off => node_core::sync::Strategy::Off,
        },
        trickle: node_core::sync::TrickleConfig {
            imin: s.sync.imin,
            imax: s.sync.imax,
            k: s.sync.k,
        },
        ..defaults
    }
}

/// Symbols a channel-activity detection needs to see before it reports a
/// signal (SX126x CAD runs over 2 symbols by default): transmissions that
/// start less than this apart cannot hear each other.
const CAD_SYMBOLS: u64 = 2;

/// Whether a receiver senses a decodable signal on the air: channel activity
/// detection reacts to LoRa chirps above the sensitivity once it has seen
/// `cad` worth of them.
fn channel_busy(signals: &[OnAir], now: Instant, cad: Duration) -> bool {
    signals
        .iter()
        .any(|s| s.heard.end > now && s.heard.demodulable && s.heard.start + cad <= now)
}

fn arm_wake(queue: &mut EventQueue<Event>, node: u32, mac: &mut Mac, at: Instant) {
    if at < mac.wake_at {
        mac.wake_at = at;
        mac.wake_gen += 1;
        queue.schedule(
            at,
            Event::MacWake {
                node,
                generation: mac.wake_gen,
            },
        );
    }
}

/// node-core's view of its simulated Meshtastic radio.
struct SimTransport<'a> {
    node: u32,
    now: Instant,
    mac: &'a mut Mac,
    queue: &'a mut EventQueue<Event>,
    trace: &'a mut Vec<Record>,
    radio: &'a RadioSetup,
    max_hop_limit: u8,
}

impl Transport for SimTransport<'_> {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_payload_bytes: MESHTASTIC_MAX_PAYLOAD_BYTES,
            broadcast: true,
            bitrate_bps: self.radio.lora.bitrate_bps() as u32,
            max_hop_limit: self.max_hop_limit,
        }
    }

    fn airtime(&self, payload_bytes: usize) -> Duration {
        self.radio.airtime(payload_bytes)
    }

    fn queue_room(&self) -> usize {
        self.mac.queue_room()
    }

    fn channel_utilisation_pct(&self) -> Option<f64> {
        Some(self.mac.channel_util_now_pct(self.now))
    }

    fn send(&mut self, frame: OutFrame) -> Result<(), SendError> {
        self.check(&frame)?;
        let key = PacketKey {
            origin: NodeId(self.node),
            id: self.mac.next_packet_id(),
        };
        let packet = Packet {
            key,
            dest: frame.dest,
            hop_limit: frame.hop_limit,
            hop_start: frame.hop_limit,
            priority: frame.priority,
            payload: Arc::from(frame.payload),
        };
        let payload_bytes = packet.payload.len() as u16;
        let class = node_core::wire::classify(&packet.payload).0;
        let delay = self.mac.tx_delay(self.now, self.radio.slot_time);
        let ready_at = self.now + delay;
        if self.mac.enqueue(packet, false, self.now, ready_at).is_err() {
            self.trace.push(Record::Drop {
                at: self.now,
                node: NodeId(self.node),
                packet: key,
                reason: DropReason::QueueFull,
            });
            return Err(SendError::QueueFull);
        }
        self.trace.push(Record::Originate {
            at: self.now,
            node: NodeId(self.node),
            packet: key,
            payload_bytes,
            hop_limit: frame.hop_limit,
            class,
        });
        arm_wake(self.queue, self.node, self.mac, ready_at);
        Ok(())
    }
}
