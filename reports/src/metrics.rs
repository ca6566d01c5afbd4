//! [`Metrics`]: the figures of a run, accumulated from its trace records
//! as they stream past (per node, per item, per time bucket; never per
//! record).

use std::collections::BTreeMap;

use node_core::wire::FrameClass;
use serde::Serialize;
use sim::trace::{DropReason, FaultRecord, NodeRecord, Record, RunInfo, TraceSink};

use crate::channel::ChannelMeter;
use crate::duty::DutyMeter;
use crate::items::{self, ItemTracker};
use crate::latency::MessageLatency;
use crate::signals::SignalTracker;
use crate::timeline::Timeline;
use crate::utilisation::UtilisationMeter;

/// A limit the metrics hit: the figures are incomplete.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum LimitHit {
    /// More distinct catalogue items than the item tracker keeps.
    #[error("more than {max} distinct catalogue items: the rest are not in the item figures")]
    Items {
        /// The most items tracked.
        max: usize,
    },
}

/// Per-node counters.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize)]
pub struct NodeMetrics {
    /// Chat messages originated.
    pub originated: u64,
    /// First receptions of chat messages.
    pub chat_received: u64,
    /// Transmissions, originals and relays.
    pub frames_sent: u64,
    /// Of which relays.
    pub relays: u64,
    /// First receptions of a packet.
    pub received: u64,
    /// Receptions of packets already seen.
    pub duplicates: u64,
    /// Receptions lost to interference.
    pub collisions: u64,
    /// Signals too weak to decode.
    pub below_sensitivity: u64,
    /// Receptions missed while transmitting.
    pub half_duplex_misses: u64,
    /// Frames dropped.
    pub drops: u64,
    /// Time spent transmitting, µs.
    pub airtime_us: u64,
    /// Times the node crashed.
    pub crashes: u32,
}

/// Accumulates the metrics from the trace as it streams past.
#[derive(Clone, Debug)]
pub struct Metrics {
    nodes: Vec<NodeMetrics>,
    pub(crate) drops_by_reason: BTreeMap<DropReason, u64>,
    pub(crate) max_hops_away: u8,
    within_hop_limit: Vec<u32>,
    pub(crate) reachable_sum: u64,
    up: Vec<bool>,
    /// Nodes that turned adversary: counted as down (they are not part of
    /// the honest deployment), and what they publish is not an item.
    hostile: Vec<bool>,
    /// Items adversaries published (left out of every item figure).
    junk: std::collections::BTreeSet<node_core::ItemId>,
    duty: DutyMeter,
    items: ItemTracker,
    channel: ChannelMeter,
    utilisation: UtilisationMeter,
    messages: MessageLatency,
    signals: SignalTracker,
}

impl Metrics {
    /// Metrics for a run described by `info`.
    pub fn new(info: &RunInfo) -> Self {
        let n = info.sites.len();
        let timeline = Timeline::new(info.sim_time);
        Metrics {
            nodes: vec![NodeMetrics::default(); n],
            drops_by_reason: BTreeMap::new(),
            max_hops_away: 0,
            within_hop_limit: info.within_hop_limit.clone(),
            reachable_sum: 0,
            up: {
                // Late joiners are down until their Join record.
                let mut up = vec![true; n];
                for v in &info.initially_off {
                    up[*v as usize] = false;
                }
                up
            },
            hostile: vec![false; n],
            junk: std::collections::BTreeSet::new(),
            duty: DutyMeter::new(n, info.radio.duty_cycle_window),
            items: ItemTracker::new(n, timeline),
            channel: ChannelMeter::new(timeline),
            utilisation: UtilisationMeter::new(n, timeline),
            messages: MessageLatency::default(),
            signals: SignalTracker::default(),
        }
    }

    /// Per-node counters.
    pub fn nodes(&self) -> &[NodeMetrics] {
        &self.nodes
    }

    /// Whether each node is up at the end (crashed nodes that did not
    /// restart are down).
    pub fn up(&self) -> &[bool] {
        &self.up
    }

    /// Each node's largest share of any duty-cycle window.
    pub fn duty(&self) -> &DutyMeter {
        &self.duty
    }

    /// Catalogue items and who holds them.
    pub fn items(&self) -> &ItemTracker {
        &self.items
    }

    /// Channel utilisation over time.
    pub fn channel(&self) -> &ChannelMeter {
        &self.channel
    }

    /// Channel utilisation per node, as Meshtastic devices report it.
    pub fn utilisation(&self) -> &UtilisationMeter {
        &self.utilisation
    }

    /// Supply and demand signal figures.
    pub fn signals(&self) -> &SignalTracker {
        &self.signals
    }

    /// Chat message delivery latencies.
    pub fn messages(&self) -> &MessageLatency {
        &self.messages
    }

    /// A limit the metrics hit, if any (the figures are then incomplete).
    pub fn limit_hit(&self) -> Option<LimitHit> {
        self.items.overflowed().then_some(LimitHit::Items {
            max: items::MAX_ITEMS,
        })
    }

    /// When every item's newest version was held by every node up at the
    /// end (the last item completion); `None` without items or while some
    /// item is incomplete.
    pub fn items_complete_at(&self) -> Option<f64> {
        let items = self.items.items();
        if items.is_empty() {
            return None;
        }
        let mut last = 0f64;
        for i in 0..items.len() {
            let t = self.items.completed_at(i, &self.up)?;
            last = last.max((t - node_core::Instant::ZERO).as_secs_f64());
        }
        Some(last)
    }

    pub(crate) fn total(&self, f: impl Fn(&NodeMetrics) -> u64) -> u64 {
        self.nodes.iter().map(f).sum()
    }
}

impl TraceSink for Metrics {
    fn observe(&mut self, batch: &[Record]) {
        for r in batch {
            self.items.advance(r.at());
            self.utilisation.observe(r);
            match *r {
                Record::Originate {
                    at,
                    node,
                    packet,
                    class,
                    ..
                } => {
                    self.messages.on_originate(at, packet);
                    if class == FrameClass::Chat {
                        self.nodes[node.index()].originated += 1;
                        self.reachable_sum += u64::from(self.within_hop_limit[node.index()]);
                    }
                }
                Record::TxStart {
                    at,
                    node,
                    packet,
                    relay,
                    end,
                    class,
                    subject,
                    bytes_on_air,
                    ..
                } => {
                    let airtime_us = (end - at).as_micros();
                    let m = &mut self.nodes[node.index()];
                    m.frames_sent += 1;
                    m.relays += u64::from(relay);
                    m.airtime_us += airtime_us;
                    self.duty
                        .on_tx(node.index(), at.as_micros(), end.as_micros());
                    self.channel
                        .on_tx(at.as_micros(), end.as_micros(), class, bytes_on_air);
                    if !relay {
                        self.messages.on_first_tx(packet, class);
                    }
                    if class == FrameClass::Data {
                        self.items.on_data_tx(subject, airtime_us, bytes_on_air);
                    }
                    if class == FrameClass::Signal {
                        self.signals
                            .on_tx(subject, airtime_us, u64::from(bytes_on_air));
                    }
                }
                Record::RxOk {
                    at,
                    node,
                    packet,
                    duplicate,
                    hops_away,
                    class,
                    ..
                } => {
                    let m = &mut self.nodes[node.index()];
                    if duplicate {
                        m.duplicates += 1;
                    } else {
                        m.received += 1;
                        if class == FrameClass::Chat {
                            m.chat_received += 1;
                            self.max_hops_away = self.max_hops_away.max(hops_away);
                        }
                        self.messages.on_first_rx(at, packet);
                    }
                }
                Record::Collision { node, .. } => self.nodes[node.index()].collisions += 1,
                Record::BelowSensitivity { node, .. } => {
                    self.nodes[node.index()].below_sensitivity += 1
                }
                Record::HalfDuplexMiss { node, .. } => {
                    self.nodes[node.index()].half_duplex_misses += 1
                }
                Record::Drop { node, reason, .. } => {
                    self.nodes[node.index()].drops += 1;
                    *self.drops_by_reason.entry(reason).or_default() += 1;
                }
                Record::Node {
                    node,
                    event: NodeRecord::Published { item, .. },
                    ..
                } if self.hostile[node.index()] => {
                    self.junk.insert(item);
                }
                Record::Node {
                    node,
                    event: NodeRecord::Stored { item, .. },
                    ..
                } if self.hostile[node.index()] || self.junk.contains(&item) => {}
                Record::Node { at, node, event } => match event {
                    NodeRecord::Published {
                        item,
                        seq,
                        element,
                        size_bytes,
                        fragments,
                    } => self.items.on_published(
                        at,
                        node,
                        items::PublishedVersion {
                            item,
                            seq,
                            element,
                            size_bytes,
                            fragments,
                        },
                    ),
                    NodeRecord::Stored { item, seq, element } => {
                        self.items.on_stored(at, node, item, seq, element)
                    }
                    NodeRecord::Signal(s) => self.signals.on_record(at, node.0, s),
                    NodeRecord::SendFailed
                    | NodeRecord::FrameRejected
                    | NodeRecord::ItemRejected => {}
                },
                Record::Fault { fault, .. } => match fault {
                    FaultRecord::Crash { node } => {
                        if let Some(up) = self.up.get_mut(node.index()) {
                            *up = false;
                            self.nodes[node.index()].crashes += 1;
                        }
                    }
                    FaultRecord::Restart { node } | FaultRecord::Join { node } => {
                        if let Some(up) = self.up.get_mut(node.index())
                            && !self.hostile[node.index()]
                        {
                            *up = true;
                        }
                    }
                    FaultRecord::Adversary { node } => {
                        if let Some(h) = self.hostile.get_mut(node.index()) {
                            *h = true;
                            self.up[node.index()] = false;
                        }
                    }
                    FaultRecord::Partition { .. }
                    | FaultRecord::Heal
                    | FaultRecord::LossStart { .. }
                    | FaultRecord::LossEnd { .. }
                    | FaultRecord::Member { .. } => {}
                },
                Record::TxEnd { .. } => {}
            }
        }
    }
}
