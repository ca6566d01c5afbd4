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
//!
//! ## `nodes.csv`
//!
//! One row per node: `node, x_m, y_m, z_m, role, degree, originated,
//! frames_sent, relays, received` (first receptions), `duplicates,
//! collisions, below_sensitivity, half_duplex_misses, drops, airtime_s,
//! duty_cycle_max_pct`.

pub mod sync;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use node_core::wire::FrameClass;
use serde::Serialize;
use sim::check::{CheckOutcome, DutyCycleMeter};
use sim::trace::{DropReason, RadioSummary, Record, RunInfo, TopologyStats, TraceSink};

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
}

impl Metrics {
    /// Metrics for a run described by `info`.
    pub fn new(info: &RunInfo) -> Self {
        Metrics {
            nodes: vec![NodeMetrics::default(); info.sites.len()],
            drops_by_reason: BTreeMap::new(),
            max_hops_away: 0,
            within_hop_limit: info.within_hop_limit.clone(),
            reachable_sum: 0,
        }
    }

    /// Per-node counters.
    pub fn nodes(&self) -> &[NodeMetrics] {
        &self.nodes
    }

    fn total(&self, f: impl Fn(&NodeMetrics) -> u64) -> u64 {
        self.nodes.iter().map(f).sum()
    }
}

impl TraceSink for Metrics {
    fn observe(&mut self, batch: &[Record]) {
        for r in batch {
            match *r {
                Record::Originate { node, class, .. } => {
                    if class == FrameClass::Chat {
                        self.nodes[node.index()].originated += 1;
                        self.reachable_sum += u64::from(self.within_hop_limit[node.index()]);
                    }
                }
                Record::TxStart {
                    at,
                    node,
                    relay,
                    end,
                    ..
                } => {
                    let m = &mut self.nodes[node.index()];
                    m.frames_sent += 1;
                    m.relays += u64::from(relay);
                    m.airtime_us += (end - at).as_micros();
                }
                Record::RxOk {
                    node,
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
                Record::TxEnd { .. } | Record::Node { .. } | Record::Fault { .. } => {}
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

/// An assertion to evaluate: a metric and its bounds.
#[derive(Clone, PartialEq, Debug)]
pub struct AssertionSpec {
    /// Metric name (a `summary.json` key).
    pub metric: String,
    /// Smallest acceptable value.
    pub min: Option<f64>,
    /// Largest acceptable value.
    pub max: Option<f64>,
}

/// An evaluated assertion.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct AssertionOutcome {
    /// Metric name.
    pub metric: String,
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
        assertions: &[AssertionSpec],
    ) -> Self {
        let n = info.sites.len() as u64;
        let sim_time_s = info.sim_time.as_secs_f64();
        let messages = m.total(|x| x.originated);
        let chat_first = m.total(|x| x.chat_received);
        let first = m.total(|x| x.received);
        let all_rx = first + m.total(|x| x.duplicates);
        let airtime_us = m.total(|x| x.airtime_us);
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
                let value = s.metric(&a.metric);
                let passed = value.is_some_and(|v| {
                    a.min.is_none_or(|lo| v >= lo) && a.max.is_none_or(|hi| v <= hi)
                });
                AssertionOutcome {
                    metric: a.metric.clone(),
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

    /// The value of a named metric, as assertions see it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        Some(match name {
            "nodes" => f64::from(self.nodes),
            "sim_time_s" => self.sim_time_s,
            "events" => self.events as f64,
            "frames_sent" => self.frames_sent as f64,
            "frames_received" => self.frames_received as f64,
            "collisions" => self.collisions as f64,
            "reach_pct" => self.reach_pct,
            "reach_within_hop_limit_pct" => self.reach_within_hop_limit_pct,
            "air_utilisation_pct" => self.air_utilisation_pct,
            "max_hops_away" => f64::from(self.max_hops_away),
            "messages_originated" => self.messages_originated as f64,
            "drops" => self.drops as f64,
            "duty_cycle_max_pct" => self.duty_cycle_max_pct,
            "converged_at_s" => return self.sync.as_ref().and_then(|s| s.converged_at_s),
            "efficiency_ratio" => return self.sync.as_ref().and_then(|s| s.efficiency_ratio),
            "versions_complete_pct" => {
                let s = self.sync.as_ref()?;
                ratio_pct(u64::from(s.versions_complete), u64::from(s.versions))
            }
            "in_sync_summaries_per_node_per_imax" => {
                return self
                    .sync
                    .as_ref()
                    .and_then(|s| s.in_sync_summaries_per_node_per_imax);
            }
            _ => return None,
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

/// `nodes.csv`'s text (columns in the crate docs).
pub fn nodes_csv(info: &RunInfo, m: &Metrics, duty: &DutyCycleMeter) -> String {
    let mut out = String::from(
        "node,x_m,y_m,z_m,role,degree,originated,frames_sent,relays,received,duplicates,collisions,below_sensitivity,half_duplex_misses,drops,airtime_s,duty_cycle_max_pct\n",
    );
    for (i, (site, x)) in info.sites.iter().zip(&m.nodes).enumerate() {
        let _ = writeln!(
            out,
            "{i},{:.1},{:.1},{:.1},{},{},{},{},{},{},{},{},{},{},{},{:.3},{:.3}",
            site.x_m,
            site.y_m,
            site.z_m,
            site.role.name(),
            info.degrees[i],
            x.originated,
            x.frames_sent,
            x.relays,
            x.received,
            x.duplicates,
            x.collisions,
            x.below_sensitivity,
            x.half_duplex_misses,
            x.drops,
            x.airtime_us as f64 / 1e6,
            duty.max_pct(i),
        );
    }
    out
}
