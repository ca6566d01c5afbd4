//! # reports — what a run means, computed from its trace
//!
//! The simulator emits one stream of typed records; this crate turns it
//! into the numbers a planner asks for. [`Metrics`] observes the trace as it
//! is produced (it implements `sim::TraceSink`, so a run of a thousand nodes
//! needs no stored trace) and [`Summary`] assembles the results with the
//! run's description, checks and assertions.
//!
//! ## `summary.json`
//!
//! | key | meaning |
//! |---|---|
//! | `scenario`, `seed` | what ran |
//! | `nodes` | nodes in the mesh |
//! | `sim_time_s` | simulated seconds |
//! | `wall_time_s`, `events_per_s` | how long the run took on this machine (the only fields that differ between identical runs) |
//! | `events` | events the engine processed |
//! | `trace_records`, `trace_hash` | size and BLAKE3 hash of the trace; equal hashes mean identical runs |
//! | `frames_sent` | transmissions started, originals and relays |
//! | `relays` | of which relays |
//! | `frames_received` | frames decoded by some receiver, duplicates included |
//! | `duplicates` | decoded frames the receiver had already seen |
//! | `collisions` | decodable receptions lost to interference |
//! | `below_sensitivity` | signals that arrived too weak to decode |
//! | `half_duplex_misses` | decodable receptions missed because the receiver was transmitting |
//! | `messages_originated` | messages the nodes handed to their radios |
//! | `reach_pct` | mean share of the other nodes that received each originated message |
//! | `reach_within_hop_limit_pct` | first receptions ÷ nodes within the hop limit (hop limit + 1 links) of each originator: how well the flood covers what it may cover |
//! | `usefulness_pct` | first receptions ÷ all receptions |
//! | `air_utilisation_pct` | mean share of time a node spent transmitting |
//! | `duty_cycle_max_pct` | highest transmit share of any node in any duty-cycle window |
//! | `max_hops_away` | most relays any delivered message had passed |
//! | `drops`, `drops_by_reason` | frames dropped, in total and by reason |
//! | `topology` | degree, component and diameter statistics |
//! | `radio` | region, modulation, power, sensitivity, duty-cycle limit |
//! | `checks` | invariant checks, each with `passed` and a detail |
//! | `sync`, `baseline` | catalogue-sync figures of the run and of its flooding baseline (see [`sync`]) |
//! | `assertions` | the scenario's assertions with the measured value |
//! | `passed` | every check and assertion passed |
//! | `message_latency` | chat delivery latency (origination → first decoding at each node): `count, mean_s, p50_s, p90_s, p99_s, max_s`, or `null` |
//! | `item_latency` | item propagation latency (publication of a version → its storing at each node), same fields |
//! | `items`, `items_published` | catalogue items seen, and published during the run |
//! | `items_complete_s` | when the last item's newest version was held by every node up at the end (`null` without items or while one is incomplete) |
//! | `nodes_holding_all_pct` | share of the nodes up at the end that hold every item's newest version |
//! | `nodes_up_at_end` | nodes not down at the end (crashed without restart) |
//! | `channel_busy_mean_pct`, `channel_busy_max_pct` | share of time with at least one transmission on the air: over the run, and in the busiest bucket of `channel.csv` |
//! | `bucket_s` | width of the time buckets of `channel.csv` and `coverage.csv` |
//! | `airtime_by_class_s` | airtime by frame class (`chat`, `summary`, `request`, `data`, `other`) |
//!
//! Every number in the tables below has a fixed number of decimals and
//! every table a fixed row order: the same scenario and seed give the same
//! bytes. Times are seconds from the start of the run; an empty cell means
//! "never" or "none".
//!
//! ## `nodes.csv`
//!
//! One row per node: `node, x_m, y_m, z_m, role, degree, originated,
//! frames_sent, relays, received` (first receptions), `duplicates,
//! collisions, below_sensitivity, half_duplex_misses, drops, airtime_s,
//! duty_cycle_max_pct` (largest share of any duty-cycle window, from the
//! checker's exact meter), `crashes, up_at_end` (1/0), `items_held` (items
//! it holds some version of at the end), `converged_s` (the first time it
//! held the newest version of every item, counted after the last
//! publication; empty if never or without items).
//!
//! ## `items.csv`
//!
//! One row per catalogue item, in order of first appearance: `item` (32 hex
//! digits), `seq` (newest version), `publisher` (of the newest version),
//! `first_published_s, published_s` (first and newest version),
//! `size_bytes, holders_end, coverage_end_pct` (nodes holding the newest
//! version at the end, and their share of all nodes), `completed_s` (when
//! every node up at the end held it), `propagation_s` (completed −
//! published), `data_frames, data_airtime_s, data_bytes` (transmissions of
//! class `data` whose subject is one of the item's elements).
//!
//! ## `coverage.csv`
//!
//! Long format, one row per time bucket and item known by then: `t_s` (end
//! of the bucket), `item, holders, coverage_pct` (share of all nodes
//! holding the newest version at that time). Buckets are 1 s … 1 d wide,
//! at most 240 per run ([`timeline`]).
//!
//! ## `channel.csv`
//!
//! One row per time bucket: `t_start_s, t_end_s, busy_pct` (share of the
//! bucket with at least one transmission on the air anywhere), `frames`
//! (transmissions starting in it), `airtime_chat_s, airtime_summary_s,
//! airtime_request_s, airtime_data_s, airtime_other_s` (airtime of each
//! frame class within the bucket; the sum may exceed the bucket when
//! distant nodes transmit at once).
//!
//! ## `latency.csv`
//!
//! Two rows, `message` and `item`: `kind, count, mean_s, p50_s, p90_s,
//! p99_s, max_s`, from HDR histograms (3 significant digits); empty cells
//! when nothing was recorded.
//!
//! ## Plots and the report
//!
//! [`plot`] draws the map, coverage, channel, airtime and latency plots as
//! PNG and SVG with an embedded font; [`report`] writes them with the
//! tables, `report.html` (self-contained) and `summary.md`. [`sweep`] holds
//! the grid, `runs.csv` and `aggregate.csv` of `okmesh sweep`.
//!
//! Memory is bounded whatever the trace's length: per node, per item, per
//! time bucket, and at most [`latency::MAX_TRACKED_MESSAGES`] messages in
//! flight.

pub mod channel;
pub mod items;
pub mod latency;
pub mod plot;
pub mod report;
pub mod sweep;
pub mod tables;
pub mod timeline;

pub mod observe;
pub mod sync;

use std::collections::BTreeMap;

use node_core::wire::FrameClass;
use scenarios::Metric;
use serde::Serialize;
use sim::check::{CheckOutcome, DutyCycleMeter};
use sim::trace::{
    DropReason, FaultRecord, NodeRecord, RadioSummary, Record, RunInfo, TopologyStats, TraceSink,
};

use crate::channel::ChannelMeter;
use crate::items::ItemTracker;
use crate::latency::{LatencySummary, MessageLatency};
use crate::timeline::Timeline;

pub use tables::nodes_csv;

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

/// Accumulates the metrics from the trace as it streams past (duty-cycle
/// shares come from the checker's [`DutyCycleMeter`], measured once).
#[derive(Clone, Debug)]
pub struct Metrics {
    nodes: Vec<NodeMetrics>,
    drops_by_reason: BTreeMap<DropReason, u64>,
    max_hops_away: u8,
    within_hop_limit: Vec<u32>,
    reachable_sum: u64,
    up: Vec<bool>,
    items: ItemTracker,
    channel: ChannelMeter,
    messages: MessageLatency,
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
            items: ItemTracker::new(n, timeline),
            channel: ChannelMeter::new(timeline),
            messages: MessageLatency::default(),
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

    /// Catalogue items and who holds them.
    pub fn items(&self) -> &ItemTracker {
        &self.items
    }

    /// Channel utilisation over time.
    pub fn channel(&self) -> &ChannelMeter {
        &self.channel
    }

    /// Chat message delivery latencies.
    pub fn messages(&self) -> &MessageLatency {
        &self.messages
    }

    /// A limit the metrics hit, if any (the figures are then incomplete).
    pub fn limit_hit(&self) -> Option<String> {
        self.items.overflowed().then(|| {
            format!(
                "more than {} distinct catalogue items: the rest are not in the item figures",
                items::MAX_ITEMS
            )
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

    fn total(&self, f: impl Fn(&NodeMetrics) -> u64) -> u64 {
        self.nodes.iter().map(f).sum()
    }
}

impl TraceSink for Metrics {
    fn observe(&mut self, batch: &[Record]) {
        for r in batch {
            self.items.advance(r.at());
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
                    self.channel
                        .on_tx(at.as_micros(), end.as_micros(), class, bytes_on_air);
                    if !relay {
                        self.messages.on_first_tx(packet, class);
                    }
                    if class == node_core::wire::FrameClass::Data {
                        self.items.on_data_tx(subject, airtime_us, bytes_on_air);
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
                        if let Some(up) = self.up.get_mut(node.index()) {
                            *up = true;
                        }
                    }
                    FaultRecord::Partition { .. }
                    | FaultRecord::Heal
                    | FaultRecord::LossStart { .. }
                    | FaultRecord::LossEnd { .. } => {}
                },
                Record::TxEnd { .. } => {}
            }
        }
    }
}

/// Facts about the run besides the metrics: its size, its trace hash and
/// how long it took on this machine (the only non-deterministic input).
#[derive(Clone, PartialEq, Debug)]
pub struct RunFacts {
    /// Events the engine processed.
    pub events: u64,
    /// Trace records emitted.
    pub trace_records: u64,
    /// BLAKE3 of the trace, hex.
    pub trace_hash: String,
    /// Wall-clock seconds the run took.
    pub wall_time_s: f64,
}

/// The sync figures of a run and, if asked for, of its flooding baseline.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct SyncReport {
    /// This run's.
    pub run: Option<sync::SyncSummary>,
    /// The baseline's.
    pub baseline: Option<sync::SyncSummary>,
}

/// An evaluated assertion.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct AssertionOutcome {
    /// The metric.
    pub metric: Metric,
    /// Lower bound.
    pub min: Option<f64>,
    /// Upper bound.
    pub max: Option<f64>,
    /// Measured value (`null` for an unknown metric).
    pub value: Option<f64>,
    /// Whether the value is within the bounds.
    pub passed: bool,
}

/// Everything `summary.json` holds.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Root seed.
    pub seed: u64,
    /// Nodes.
    pub nodes: u32,
    /// Simulated seconds.
    pub sim_time_s: f64,
    /// Wall-clock seconds.
    pub wall_time_s: f64,
    /// Events processed.
    pub events: u64,
    /// Events per wall-clock second.
    pub events_per_s: f64,
    /// Trace records.
    pub trace_records: u64,
    /// BLAKE3 of the trace.
    pub trace_hash: String,
    /// Transmissions.
    pub frames_sent: u64,
    /// Relayed transmissions.
    pub relays: u64,
    /// Decoded frames, duplicates included.
    pub frames_received: u64,
    /// Decoded duplicates.
    pub duplicates: u64,
    /// Receptions lost to interference.
    pub collisions: u64,
    /// Signals too weak to decode.
    pub below_sensitivity: u64,
    /// Receptions missed while transmitting.
    pub half_duplex_misses: u64,
    /// Messages originated.
    pub messages_originated: u64,
    /// Mean share of other nodes reached per message, percent.
    pub reach_pct: f64,
    /// First receptions ÷ nodes within the hop limit of each message's
    /// originator, percent: how well the flood covers what it may cover.
    pub reach_within_hop_limit_pct: f64,
    /// First receptions ÷ all receptions, percent.
    pub usefulness_pct: f64,
    /// Mean share of time transmitting, percent.
    pub air_utilisation_pct: f64,
    /// Largest transmit share of any window, percent.
    pub duty_cycle_max_pct: f64,
    /// Most relays any delivered message passed.
    pub max_hops_away: u8,
    /// Chat delivery latency: origination to first decoding at each node.
    pub message_latency: Option<LatencySummary>,
    /// Item propagation latency: publication to storing at each node.
    pub item_latency: Option<LatencySummary>,
    /// Catalogue items seen (published, or stored from the mesh).
    pub items: u32,
    /// Items published during the run.
    pub items_published: u32,
    /// When the last item's newest version was held by every node up at
    /// the end, s (`null` without items or while one is incomplete).
    pub items_complete_s: Option<f64>,
    /// Share of the nodes up at the end that hold every item's newest
    /// version, percent (`null` without items).
    pub nodes_holding_all_pct: Option<f64>,
    /// Nodes up at the end.
    pub nodes_up_at_end: u32,
    /// Mean share of time with at least one transmission on the air, percent.
    pub channel_busy_mean_pct: f64,
    /// Largest such share of any time bucket (see `channel.csv`), percent.
    pub channel_busy_max_pct: f64,
    /// Width of the time buckets of `channel.csv` and `coverage.csv`, s.
    pub bucket_s: f64,
    /// Airtime by frame class, s.
    pub airtime_by_class_s: BTreeMap<&'static str, f64>,
    /// Frames dropped.
    pub drops: u64,
    /// Frames dropped, by reason.
    pub drops_by_reason: BTreeMap<&'static str, u64>,
    /// Connectivity.
    pub topology: TopologyStats,
    /// The radio.
    pub radio: RadioSummary,
    /// Invariant checks.
    pub checks: Vec<CheckOutcome>,
    /// Catalogue-sync figures (absent when sync is off or nothing was published).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<sync::SyncSummary>,
    /// The same figures for the blind-flooding baseline run of the same scenario.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<sync::SyncSummary>,
    /// Scenario assertions.
    pub assertions: Vec<AssertionOutcome>,
    /// Whether every check and assertion passed.
    pub passed: bool,
}

impl Summary {
    /// Builds the summary of a finished run.
    pub fn new(
        info: &RunInfo,
        m: &Metrics,
        duty: &DutyCycleMeter,
        facts: RunFacts,
        checks: Vec<CheckOutcome>,
        sync: SyncReport,
        assertions: &[scenarios::Assertion],
    ) -> Self {
        let n = info.sites.len() as u64;
        let sim_time_s = info.sim_time.as_secs_f64();
        let messages = m.total(|x| x.originated);
        let chat_first = m.total(|x| x.chat_received);
        let first = m.total(|x| x.received);
        let all_rx = first + m.total(|x| x.duplicates);
        let airtime_us = m.total(|x| x.airtime_us);
        let up_count = m.up.iter().filter(|u| **u).count() as u64;
        let mut s = Summary {
            scenario: info.scenario.clone(),
            seed: info.seed,
            nodes: n as u32,
            sim_time_s,
            wall_time_s: facts.wall_time_s,
            events: facts.events,
            events_per_s: facts.events as f64 / facts.wall_time_s.max(1e-9),
            trace_records: facts.trace_records,
            trace_hash: facts.trace_hash,
            frames_sent: m.total(|x| x.frames_sent),
            relays: m.total(|x| x.relays),
            frames_received: all_rx,
            duplicates: m.total(|x| x.duplicates),
            collisions: m.total(|x| x.collisions),
            below_sensitivity: m.total(|x| x.below_sensitivity),
            half_duplex_misses: m.total(|x| x.half_duplex_misses),
            messages_originated: messages,
            reach_pct: ratio_pct(chat_first, messages * n.saturating_sub(1)),
            reach_within_hop_limit_pct: ratio_pct(chat_first, m.reachable_sum),
            usefulness_pct: ratio_pct(first, all_rx),
            air_utilisation_pct: 100.0 * airtime_us as f64 / (n as f64 * sim_time_s * 1e6).max(1.0),
            duty_cycle_max_pct: duty.overall_max_pct().0,
            max_hops_away: m.max_hops_away,
            message_latency: LatencySummary::of(m.messages.histogram()),
            item_latency: LatencySummary::of(m.items.latency()),
            items: m.items.items().len() as u32,
            items_published: m
                .items
                .items()
                .iter()
                .filter(|i| i.first_published_at.is_some())
                .count() as u32,
            items_complete_s: m.items_complete_at(),
            nodes_holding_all_pct: (!m.items.items().is_empty()).then(|| {
                let item_count = m.items.items().len();
                let full = (0..m.up.len())
                    .filter(|&node| {
                        m.up[node]
                            && (0..item_count).all(|i| m.items.holds_newest(node, i).is_some())
                    })
                    .count();
                ratio_pct(full as u64, up_count)
            }),
            nodes_up_at_end: up_count as u32,
            channel_busy_mean_pct: m.channel.busy_pct().0,
            channel_busy_max_pct: m.channel.busy_pct().1,
            bucket_s: m.channel.timeline().bucket_us as f64 / 1e6,
            airtime_by_class_s: channel::CLASSES
                .iter()
                .zip(m.channel.totals())
                .map(|(c, t)| (c.name(), t.1 as f64 / 1e6))
                .collect(),
            drops: m.total(|x| x.drops),
            drops_by_reason: m
                .drops_by_reason
                .iter()
                .map(|(r, c)| (r.name(), *c))
                .collect(),
            topology: info.topology.clone(),
            radio: info.radio.clone(),
            checks,
            sync: sync.run,
            baseline: sync.baseline,
            assertions: Vec::new(),
            passed: true,
        };
        s.assertions = assertions
            .iter()
            .map(|a| {
                let value = s.value(a.metric);
                let passed = value.is_some_and(|v| {
                    a.min.is_none_or(|lo| v >= lo) && a.max.is_none_or(|hi| v <= hi)
                });
                AssertionOutcome {
                    metric: a.metric,
                    min: a.min,
                    max: a.max,
                    value,
                    passed,
                }
            })
            .collect();
        s.passed = s.checks.iter().all(|c| c.passed) && s.assertions.iter().all(|a| a.passed);
        s
    }

    /// The value of a metric (`None`: the run has none, e.g. no item was
    /// published or sync never converged).
    pub fn value(&self, metric: Metric) -> Option<f64> {
        let sync = self.sync.as_ref();
        Some(match metric {
            Metric::Nodes => f64::from(self.nodes),
            Metric::SimTimeS => self.sim_time_s,
            Metric::Events => self.events as f64,
            Metric::FramesSent => self.frames_sent as f64,
            Metric::FramesReceived => self.frames_received as f64,
            Metric::Collisions => self.collisions as f64,
            Metric::ReachPct => self.reach_pct,
            Metric::ReachWithinHopLimitPct => self.reach_within_hop_limit_pct,
            Metric::AirUtilisationPct => self.air_utilisation_pct,
            Metric::MaxHopsAway => f64::from(self.max_hops_away),
            Metric::MessagesOriginated => self.messages_originated as f64,
            Metric::Drops => self.drops as f64,
            Metric::DutyCycleMaxPct => self.duty_cycle_max_pct,
            Metric::ConvergedAtS => return sync.and_then(|s| s.converged_at_s),
            Metric::EfficiencyRatio => return sync.and_then(|s| s.efficiency_ratio),
            Metric::ItemsCompletePct => {
                let s = sync?;
                ratio_pct(u64::from(s.items_complete), u64::from(s.items))
            }
            Metric::InSyncSummariesPerNodePerImax => {
                return sync.and_then(|s| s.in_sync_summaries_per_node_per_imax);
            }
            Metric::Relays => self.relays as f64,
            Metric::Duplicates => self.duplicates as f64,
            Metric::UsefulnessPct => self.usefulness_pct,
            Metric::MessageLatencyP50S => self.message_latency?.p50_s,
            Metric::MessageLatencyP90S => self.message_latency?.p90_s,
            Metric::MessageLatencyP99S => self.message_latency?.p99_s,
            Metric::MessageLatencyMaxS => self.message_latency?.max_s,
            Metric::ItemLatencyP50S => self.item_latency?.p50_s,
            Metric::ItemLatencyP90S => self.item_latency?.p90_s,
            Metric::ItemLatencyP99S => self.item_latency?.p99_s,
            Metric::ItemLatencyMaxS => self.item_latency?.max_s,
            Metric::ItemsPublished => f64::from(self.items_published),
            Metric::ItemsCompleteS => self.items_complete_s?,
            Metric::NodesHoldingAllPct => self.nodes_holding_all_pct?,
            Metric::NodesUpAtEnd => f64::from(self.nodes_up_at_end),
            Metric::ChannelBusyMeanPct => self.channel_busy_mean_pct,
            Metric::ChannelBusyMaxPct => self.channel_busy_max_pct,
            Metric::Passed => {
                if self.passed {
                    1.0
                } else {
                    0.0
                }
            }
        })
    }

    /// `summary.json`'s text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("summaries always serialise")
    }
}

fn ratio_pct(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        100.0 * num as f64 / den as f64
    }
}
