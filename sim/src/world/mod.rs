//! The simulation: node-core nodes on simulated Meshtastic radios over a
//! shared simulated air. This module builds it, holds its state and runs
//! its event loop; the event handlers live in submodules by subsystem:
//!
//! * `node` — switching nodes on and off and driving their
//!   node-core (timers, events, the transport node-core sends through);
//! * `air` — transmitting, the physics of each reception, and
//!   the managed flood on the receive path;
//! * `workload` — publications, scheduled and
//!   [`Simulation::publish`]ed, and design packages given to nodes and
//!   requested ([`Simulation::give_package`]);
//! * `faults` — fault events taking effect and
//!   [`Simulation::inject`];
//! * `adversary` — what adversary nodes do at each attack.
//!
//! Every state change happens in an event handler at one instant; handlers
//! emit trace records and schedule later events. The only sources of
//! randomness are streams derived from the run's seed, and events at the
//! same instant run in the order they were scheduled, so a run is a pure
//! function of its [`Config`] (and of what is published or injected into
//! it, and when).
//!
//! Per transmission the engine visits the sender's link list twice (at the
//! start to register the signal with every receiver in interference range,
//! at the end to decide each reception), and compares each new signal only
//! with the handful of signals already on the air at that receiver. There is
//! no all-pairs step anywhere.

mod adversary;
mod air;
mod faults;
mod node;
mod signals;
mod workload;

use node_core::radio::DutyCycleBudget;
use node_core::store::MemStorage;
use node_core::{Duration, Instant, Node, NodeConfig, NodeId, Rng};

pub use self::faults::InjectError;
pub use self::workload::{PackageError, PackageLogEntry, PublishError, seeded_package};
use crate::config::{Config, Placement, sync_strategy_name};
use crate::engine::{EventQueue, TimerSlot};
use crate::fault::{Fault, FaultPlan};
use crate::mac::{Mac, Queued};
use crate::radio::RadioSetup;
use crate::topology::{Topology, TopologyError};
use crate::trace::{RadioSummary, Record, RunInfo, TraceSink};

use self::air::{CAD_SYMBOLS, OnAir, Transmission};

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
    /// A fault or a publication names a node the mesh does not have.
    #[error("{what} names node {node}, but the mesh has {nodes} nodes")]
    NoSuchNode {
        /// What names it (`a fault`, `a publication`).
        what: &'static str,
        /// The node id.
        node: u32,
        /// Nodes in the mesh.
        nodes: u32,
    },
}

/// Why a run stopped early.
#[derive(Clone, PartialEq, Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration's `max_events` was reached before the end of the run.
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

/// What a run has done so far.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct RunStats {
    /// Events processed.
    pub events: u64,
    /// Of those, timer events that found nothing to do: an entry carried
    /// over to its timer's later deadline, or left by a disarmed timer.
    pub idle_events: u64,
    /// Simulated time covered.
    pub sim_time: Duration,
    /// Trace records handed to the sinks.
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
    /// A fault action takes effect (index into the fault plan).
    Fault { index: u32 },
    /// A scheduled publication (index into the configured publications).
    Publish { index: u32 },
    /// An adversary attacks (index into the fault plan's adversaries).
    Adversary { index: u32 },
    /// A signal action (index into the signal plan's actions).
    Signal { index: u32 },
    /// A package is given to its holders (index into the packages).
    PackageGive { index: u32 },
    /// A package is requested by its requesters.
    PackageRequest { index: u32 },
}

struct SimNode {
    core: Option<Node>,
    /// The store's storage while the node is down (it survives a crash).
    parked: Option<MemStorage>,
    /// The package cache's storage while the node is down.
    parked_packages: Option<MemStorage>,
    config: NodeConfig,
    /// node-core's timer (`poll_timeout`).
    timer: TimerSlot,
    mac: Mac,
    tx_until: Instant,
    /// Named as an adversary by a fault: it publishes under its own key
    /// and takes no part in the scheduled (honest) workload.
    hostile: bool,
}

impl SimNode {
    /// Switched on: a node-core runs (a crashed or not yet joined node has
    /// only its parked storage).
    fn alive(&self) -> bool {
        self.core.is_some()
    }
}

/// A complete simulation, ready to run, and steppable: [`Simulation::run_until`]
/// a time, look at the nodes, [`publish`](Simulation::publish) or
/// [`inject`](Simulation::inject) a fault, and carry on.
pub struct Simulation {
    config: Config,
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
    faults: FaultPlan,
    next_serial: u64,
    end: Instant,
    /// Simulated time reached: every event up to it has run.
    now: Instant,
    events: u64,
    idle_events: u64,
    max_hop_limit: u8,
    stale: Vec<Queued>,
    cad_time: Duration,
    /// Every adversary's choices, in attack order.
    adversary_rng: Rng,
    /// The signal each signal action published, by action index.
    signal_ids: Vec<Option<node_core::signals::SignalId>>,
    /// What the nodes' package swarms did, in order.
    package_log: Vec<PackageLogEntry>,
}

impl Simulation {
    /// Sets up the run `config` describes: topology, radios, nodes, traffic,
    /// publications and the fault plan. Nothing runs yet.
    pub fn new(config: &Config) -> Result<Self, BuildError> {
        let nodes = config.node_count();
        let named = config
            .faults
            .iter()
            .flat_map(|f| f.nodes().into_iter().map(|node| ("a fault", node)))
            .chain(
                config
                    .publications
                    .iter()
                    .map(|p| ("a publication", p.node)),
            )
            .chain(config.packages.iter().flat_map(|p| {
                p.holders
                    .iter()
                    .chain(&p.requesters)
                    .map(|n| ("a package transfer", *n))
            }))
            .chain(
                config
                    .signals
                    .actions
                    .iter()
                    .map(|a| ("a signal action", a.node))
                    .chain(
                        config
                            .signals
                            .facilities
                            .iter()
                            .map(|f| ("a facility", f.0)),
                    ),
            );
        for (what, node) in named {
            if node >= nodes {
                return Err(BuildError::NoSuchNode { what, node, nodes });
            }
        }
        let max_height = match &config.placement {
            Placement::Fixed(sites) => sites
                .iter()
                .filter_map(|c| c.z_m)
                .fold(config.radio.antenna_height_m, f64::max),
            _ => config.radio.antenna_height_m,
        };
        let radio = RadioSetup::new(&config.radio, config.seed, max_height);
        let topo = Topology::build(config, &radio)?;
        let n = topo.len() as u32;
        let late = config.initially_off();
        let hostile: Vec<u32> = config
            .faults
            .iter()
            .filter_map(|f| match f {
                Fault::Adversary { node, .. } => Some(*node),
                _ => None,
            })
            .collect();
        // One template: `NodeConfig::new` derives the shared publisher key
        // (an Ed25519 base-point multiplication), which a 1,000-node setup
        // paid twice per node when each node's config was made from scratch.
        let template = NodeConfig::new(NodeId(0), config.seed);
        let nodes: Vec<SimNode> = (0..n)
            .map(|i| SimNode {
                core: None,
                parked: None,
                parked_packages: None,
                config: NodeConfig {
                    id: NodeId(i),
                    traffic: config
                        .traffic
                        .as_ref()
                        .filter(|t| t.sends(i))
                        .map(|t| t.per_node),
                    sync: config.sync,
                    // Honest nodes publish as one organisation (key 0, the
                    // template's); an adversary under a key of its own.
                    publisher: if hostile.contains(&i) {
                        NodeConfig::simulated_publisher(config.seed, 1 + u64::from(i))
                    } else {
                        template.publisher.clone()
                    },
                    trust: config.trust.clone(),
                    signals: config.signals.config_of(i),
                    packages: workload::package_config(&radio),
                    ..template.clone()
                },
                timer: TimerSlot::default(),
                mac: Mac::new(
                    NodeId(i),
                    topo.sites()[i as usize].role,
                    Rng::derive(config.seed, "mac", u64::from(i)),
                    config.mesh.queue_capacity as usize,
                    DutyCycleBudget::new(radio.region.duty_cycle_window(), radio.duty_cycle_pct),
                ),
                tx_until: Instant::ZERO,
                hostile: hostile.contains(&i),
            })
            .collect();

        let mut sim = Simulation {
            on_air: vec![Vec::new(); n as usize],
            txs: Vec::new(),
            free_slots: Vec::new(),
            queue: EventQueue::default(),
            trace: Vec::with_capacity(TRACE_BATCH * 2),
            records: 0,
            faults: FaultPlan::new(topo.sites(), config.seed),
            next_serial: 0,
            end: Instant::ZERO + config.duration,
            now: Instant::ZERO,
            events: 0,
            idle_events: 0,
            max_hop_limit: node_core::transport::MAX_HOP_LIMIT,
            stale: Vec::new(),
            cad_time: Duration::from_micros(CAD_SYMBOLS * radio.lora.symbol_ns() / 1_000),
            adversary_rng: Rng::derive(config.seed, "adversary", 0),
            signal_ids: vec![None; config.signals.actions.len()],
            package_log: Vec::new(),
            config: config.clone(),
            radio,
            topo,
            nodes,
        };
        // Faults first, so at any instant they take effect before anything
        // else happening then.
        for fault in &config.faults {
            for (at, index) in sim.faults.add(fault, sim.topo.sites()) {
                sim.queue.schedule(at, Event::Fault { index });
            }
        }
        for (index, p) in config.publications.iter().enumerate() {
            sim.queue.schedule(
                Instant::ZERO + p.at,
                Event::Publish {
                    index: index as u32,
                },
            );
        }
        for (index, a) in config.signals.actions.iter().enumerate() {
            sim.queue.schedule(
                Instant::ZERO + a.at,
                Event::Signal {
                    index: index as u32,
                },
            );
        }
        for (index, p) in config.packages.iter().enumerate() {
            let index = index as u32;
            sim.queue
                .schedule(Instant::ZERO, Event::PackageGive { index });
            sim.queue
                .schedule(Instant::ZERO + p.at, Event::PackageRequest { index });
        }
        for i in 0..n {
            if !late.contains(&i) {
                sim.boot(Instant::ZERO, i);
            }
        }
        Ok(sim)
    }

    /// The configuration the run was built from.
    pub fn config(&self) -> &Config {
        &self.config
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

    /// Simulated time reached: every event up to it has run.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Simulated time the run ends ([`Config::duration`] after the start).
    pub fn end(&self) -> Instant {
        self.end
    }

    /// Each node's group under the run's first configured partition (empty
    /// without one), for drawing it.
    pub fn partition_groups(&self) -> Vec<u16> {
        self.config
            .faults
            .iter()
            .find_map(|f| match f {
                Fault::Partition { split, .. } => Some(split.groups(self.topo.sites())),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Everything the reports need to know about this run besides the trace.
    pub fn run_info(&self) -> RunInfo {
        let (c, r) = (&self.config, &self.radio);
        let graph = self.topo.graph();
        let hop_limit = c
            .traffic
            .as_ref()
            .map_or(c.mesh.hop_limit, |t| t.per_node.hop_limit);
        let profile = self.topo.hop_profile(Some(hop_limit));
        RunInfo {
            scenario: c.name.clone(),
            seed: c.seed,
            sim_time: c.duration,
            sites: self.topo.sites().to_vec(),
            degrees: graph
                .node_indices()
                .map(|v| graph.neighbors(v).count() as u32)
                .collect(),
            topology: profile.stats,
            components: profile.components,
            cds_size: self.topo.greedy_cds_size(),
            initially_off: c.initially_off(),
            scheduled_publications: c.publications.len() as u32,
            audience: (0..self.topo.len() as u32)
                .map(|i| self.topo.links_from(i).iter().map(|l| l.to).collect())
                .collect(),
            flood_lifetime: c
                .mesh
                .max_queue_delay
                .saturating_add(r.airtime(node_core::transport::MESHTASTIC_MAX_PAYLOAD_BYTES))
                .saturating_mul(u64::from(self.max_hop_limit) + 1),
            sync_strategy: sync_strategy_name(c.sync.strategy).into(),
            sync_imax: c.sync.trickle.imax,
            within_hop_limit: profile.within_hops,
            radio: RadioSummary {
                region: r.region.name().to_string(),
                preset: c.radio.modem.name().into(),
                sf: r.lora.sf,
                bandwidth_khz: f64::from(r.lora.bw_hz) / 1000.0,
                coding_rate: format!("4/{}", r.lora.cr + 4),
                frequency_mhz: r.frequency_mhz,
                tx_power_dbm: r.tx_power_dbm,
                sensitivity_dbm: r.sensitivity_dbm,
                path_loss: r.path_loss.name().into(),
                duty_cycle_limit_pct: r.duty_cycle_pct,
                duty_cycle_window: r.region.duty_cycle_window(),
                traffic_frame_airtime_ms: c
                    .traffic
                    .as_ref()
                    .map_or(0.0, |t| r.airtime(t.per_node.payload_bytes).as_millis_f64()),
            },
        }
    }

    /// Runs every event up to simulated time `until` (at most the end of the
    /// run), handing the trace records to `sinks` and calling `progress`
    /// now and then; a later call carries on from there. Records made
    /// between calls ([`Simulation::publish`]) reach the next call's sinks.
    pub fn run_until<'s>(
        &mut self,
        until: Instant,
        sinks: &mut [&mut (dyn TraceSink + 's)],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RunStats, RunError> {
        let until = until.min(self.end);
        while let Some(at) = self.queue.peek_time() {
            if at > until {
                break;
            }
            if self.events == self.config.max_events {
                self.flush(sinks);
                return Err(RunError::EventLimit {
                    limit: self.config.max_events,
                    at,
                });
            }
            let (at, event) = self.queue.pop().expect("peeked");
            debug_assert!(at >= self.now, "time runs forwards");
            let now = at;
            self.now = now;
            self.events += 1;
            match event {
                Event::Timer { node, generation } => self.on_timer(now, node, generation),
                Event::MacWake { node, generation } => self.on_mac_wake(now, node, generation),
                Event::TxEnd { slot } => self.on_tx_end(now, slot),
                Event::Fault { index } => self.on_fault(now, index),
                Event::Publish { index } => self.on_publish(now, index),
                Event::Adversary { index } => self.on_adversary(now, index),
                Event::Signal { index } => self.on_signal(now, index),
                Event::PackageGive { index } => self.on_package_give(index),
                Event::PackageRequest { index } => self.on_package_request(index),
            }
            if self.trace.len() >= TRACE_BATCH {
                self.flush(sinks);
            }
            if self.events.is_multiple_of(PROGRESS_EVERY_EVENTS) {
                progress(Progress {
                    now,
                    end: self.end,
                    events: self.events,
                });
            }
        }
        self.now = self.now.max(until);
        self.flush(sinks);
        Ok(self.stats())
    }

    /// Runs to the end of the run (from wherever it is), handing every
    /// trace record to `sinks` and calling `progress` now and then and once
    /// at the end.
    pub fn run<'s>(
        &mut self,
        sinks: &mut [&mut (dyn TraceSink + 's)],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RunStats, RunError> {
        let stats = self.run_until(self.end, sinks, progress)?;
        progress(Progress {
            now: self.end,
            end: self.end,
            events: stats.events,
        });
        Ok(stats)
    }

    /// What the run has done so far.
    pub fn stats(&self) -> RunStats {
        RunStats {
            events: self.events,
            idle_events: self.idle_events,
            sim_time: self.now - Instant::ZERO,
            records: self.records,
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Publication;
    use crate::trace::TraceSink;

    fn chain(nodes: u32) -> Config {
        Config::new(
            "t",
            Placement::Chain {
                nodes,
                spacing_m: 100.0,
            },
        )
    }

    #[test]
    fn faults_and_publications_must_name_existing_nodes() {
        let mut c = chain(3);
        c.faults.push(Fault::Crash {
            at: Duration::from_secs(1),
            node: 3,
            restart_after: None,
        });
        assert_eq!(
            Simulation::new(&c).err(),
            Some(BuildError::NoSuchNode {
                what: "a fault",
                node: 3,
                nodes: 3
            })
        );
        let mut c = chain(3);
        c.publications.push(Publication {
            at: Duration::ZERO,
            node: 7,
            kind: node_core::ItemKind::Manifest,
            source: "x".into(),
            bytes: std::sync::Arc::from(&b""[..]),
        });
        assert!(matches!(
            Simulation::new(&c),
            Err(BuildError::NoSuchNode { node: 7, .. })
        ));
    }

    #[test]
    fn each_node_config_is_the_one_made_for_it_alone() {
        let mut c = chain(4);
        c.faults.push(Fault::Adversary {
            from: Duration::from_secs(60),
            node: 2,
            every: Duration::from_secs(600),
            kind: crate::fault::Adversary::Forger,
        });
        let sim = c.build().expect("builds");
        for i in 0..4u32 {
            let key = if i == 2 { 3 } else { 0 };
            let alone = NodeConfig {
                traffic: None,
                sync: c.sync,
                publisher: NodeConfig::simulated_publisher(c.seed, key),
                trust: c.trust.clone(),
                signals: c.signals.config_of(i),
                packages: workload::package_config(&sim.radio),
                ..NodeConfig::new(NodeId(i), c.seed)
            };
            assert_eq!(sim.nodes[i as usize].config, alone, "node {i}");
        }
        assert_ne!(sim.nodes[2].config.publisher, sim.nodes[0].config.publisher);
    }

    /// Node 0 of a quiet two-node chain queues two frames at once; returns
    /// when its two transmissions started and ended, and the delays a
    /// replica of its random stream draws for them.
    fn two_queued_frames(seed: u64) -> ([(Instant, Instant); 2], [Duration; 2]) {
        use node_core::transport::{Destination, OutFrame, Priority, Transport};
        let mut c = chain(2);
        c.seed = seed;
        c.duration = Duration::from_secs(60);
        c.sync.strategy = node_core::sync::Strategy::Off;
        let mut sim = c.build().expect("builds");
        let mut replica = sim.nodes[0].mac.rng.clone();
        let slot = sim.radio.slot_time;
        // Nothing else is on the air: both delays come from the
        // utilisation window at 0 % (CWmin).
        let expected = [
            node_core::radio::meshtastic::tx_delay(0, slot, &mut replica),
            node_core::radio::meshtastic::tx_delay(0, slot, &mut replica),
        ];
        let frame = |b: u8| OutFrame {
            dest: Destination::Broadcast,
            hop_limit: 0,
            priority: Priority::Normal,
            payload: vec![b; 40],
        };
        sim.drive(Instant::ZERO, 0, |_, t| {
            t.send(frame(1)).unwrap();
            t.send(frame(2)).unwrap();
        });
        struct Txs(Vec<(Instant, Instant)>);
        impl TraceSink for Txs {
            fn observe(&mut self, batch: &[Record]) {
                for r in batch {
                    if let Record::TxStart { at, node, end, .. } = *r
                        && node.0 == 0
                    {
                        self.0.push((at, end));
                    }
                }
            }
        }
        let mut txs = Txs(Vec::new());
        sim.run(&mut [&mut txs], &mut |_| {}).unwrap();
        assert_eq!(txs.0.len(), 2, "both frames went out");
        ([txs.0[0], txs.0[1]], expected)
    }

    #[test]
    fn a_second_queued_frame_leaves_a_fresh_contention_delay_after_the_first() {
        let mut gaps = Vec::new();
        for seed in 1..=40 {
            let ([(s1, e1), (s2, _)], [d1, d2]) = two_queued_frames(seed);
            // One timer for the head: the first waits its delay, and the
            // second's timer is drawn afresh when the first ends (the
            // firmware's ISR_TX → setTransmitDelay), not run in parallel.
            assert_eq!(s1, Instant::ZERO + d1, "seed {seed}");
            assert_eq!(s2, e1 + d2, "seed {seed}: a fresh delay after the first");
            assert!(s2 >= e1, "never during the first");
            gaps.push(d2);
        }
        // The delays are really drawn: not back to back every time.
        let nonzero = gaps.iter().filter(|g| **g > Duration::ZERO).count();
        assert!(nonzero >= 25, "{nonzero} of 40 gaps above zero");
    }

    #[test]
    fn a_simulation_steps_to_the_times_asked_and_stops_at_its_end() {
        let mut c = chain(2);
        c.duration = Duration::from_secs(120);
        let mut sim = c.build().expect("builds");
        let t = |s| Instant::ZERO + Duration::from_secs(s);
        sim.run_until(t(30), &mut [], &mut |_| {}).unwrap();
        assert_eq!(sim.now(), t(30));
        sim.run_until(t(10), &mut [], &mut |_| {}).unwrap();
        assert_eq!(sim.now(), t(30), "time never goes back");
        let stats = sim.run_until(t(1_000), &mut [], &mut |_| {}).unwrap();
        assert_eq!(sim.now(), sim.end());
        assert_eq!(stats.sim_time, Duration::from_secs(120));
    }
}
