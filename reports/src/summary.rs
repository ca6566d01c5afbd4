//! [`Summary`]: everything `summary.json` holds, assembled from the
//! finished [`Metrics`], the run's facts, the check results and the sync
//! figures; and the value of each [`Metric`] in it.

use std::collections::BTreeMap;

use scenarios::Metric;
use serde::Serialize;
use sim::trace::{RadioSummary, RunInfo, TopologyStats};

use crate::deployment::Deployment;
use crate::latency::LatencySummary;
use crate::{Metrics, channel, sync};

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

/// The outcome of one invariant check, as plain data: the run pipeline
/// converts the simulator's checker results once, so this crate needs
/// nothing of the checker.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct CheckResult {
    /// The invariant, e.g. `duty_cycle`.
    pub name: String,
    /// Whether it held throughout the run.
    pub passed: bool,
    /// What was checked, or the first violation.
    pub detail: String,
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
    /// Measured value (`null` when the run has none).
    pub value: Option<f64>,
    /// Whether the value is within the bounds.
    pub passed: bool,
}

impl AssertionOutcome {
    /// Measures `metric` in `summary` against the bounds.
    pub fn evaluate(summary: &Summary, metric: Metric, min: Option<f64>, max: Option<f64>) -> Self {
        let value = summary.value(metric);
        let passed =
            value.is_some_and(|v| min.is_none_or(|lo| v >= lo) && max.is_none_or(|hi| v <= hi));
        AssertionOutcome {
            metric,
            min,
            max,
            value,
            passed,
        }
    }
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
    /// The (first) node with that share.
    pub duty_cycle_max_node: u32,
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
    /// When half of the nodes up at the end held every item's newest
    /// version, s (`null` without items or if fewer ever did).
    pub nodes_converged_p50_s: Option<f64>,
    /// When 90 % of them did, s.
    pub nodes_converged_p90_s: Option<f64>,
    /// When 99 % of them did, s.
    pub nodes_converged_p99_s: Option<f64>,
    /// The node up at the end that held everything last, when all did.
    pub slowest_node: Option<u32>,
    /// Nodes up at the end that never held every item's newest version
    /// (`null` without items).
    pub nodes_never_converged: Option<u32>,
    /// Nodes up at the end holding no item's newest version (`null`
    /// without items).
    pub nodes_holding_nothing: Option<u32>,
    /// Nodes up at the end outside the mesh component of some item's
    /// publisher, which no protocol can serve (`null` without items).
    pub unreachable_nodes: Option<u32>,
    /// Connected components of the mesh graph at the start.
    pub islands: u32,
    /// Nodes up at the end.
    pub nodes_up_at_end: u32,
    /// Mean share of time with at least one transmission on the air, percent.
    pub channel_busy_mean_pct: f64,
    /// Largest such share of any time bucket (see `channel.csv`), percent.
    pub channel_busy_max_pct: f64,
    /// Channel utilisation as a Meshtastic device reports it (its
    /// transmissions and every frame it received or lost to a collision),
    /// mean over nodes and time, percent.
    pub channel_utilisation_mean_pct: f64,
    /// The highest of any node in any time bucket, percent.
    pub channel_utilisation_max_pct: f64,
    /// The (first) node with it.
    pub channel_utilisation_max_node: u32,
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
    pub checks: Vec<CheckResult>,
    /// Catalogue-sync figures (absent when sync is off or nothing was published).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<sync::SyncSummary>,
    /// The same figures for the blind-flooding baseline run of the same scenario.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<sync::SyncSummary>,
    /// Supply and demand signal figures (absent when no signal was sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signals: Option<crate::signals::SignalSummary>,
    /// Scenario assertions.
    pub assertions: Vec<AssertionOutcome>,
    /// Whether every check and assertion passed.
    pub passed: bool,
}

impl Summary {
    /// Builds the summary of a finished run, without assertions (see
    /// [`Summary::set_assertions`]).
    pub fn new(
        info: &RunInfo,
        m: &Metrics,
        facts: RunFacts,
        checks: Vec<CheckResult>,
        sync: SyncReport,
    ) -> Self {
        let n = info.sites.len() as u64;
        let sim_time_s = info.sim_time.as_secs_f64();
        let messages = m.total(|x| x.originated);
        let chat_first = m.total(|x| x.chat_received);
        let first = m.total(|x| x.received);
        let all_rx = first + m.total(|x| x.duplicates);
        let airtime_us = m.total(|x| x.airtime_us);
        let up = m.up();
        let up_count = up.iter().filter(|u| **u).count() as u64;
        let passed = checks.iter().all(|c| c.passed);
        let d = Deployment::of(info, m);
        let with_items = |v: u32| (d.items > 0).then_some(v);
        let (util_mean, util_max, util_node) = m.utilisation().overall_pct();
        Summary {
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
            duty_cycle_max_pct: m.duty().overall_max_pct().0,
            duty_cycle_max_node: m.duty().overall_max_pct().1 as u32,
            max_hops_away: m.max_hops_away,
            message_latency: LatencySummary::of(m.messages().histogram()),
            item_latency: LatencySummary::of(m.items().latency()),
            items: m.items().items().len() as u32,
            items_published: m
                .items()
                .items()
                .iter()
                .filter(|i| i.first_published_at.is_some())
                .count() as u32,
            items_complete_s: m.items_complete_at(),
            nodes_holding_all_pct: (!m.items().items().is_empty()).then(|| {
                let item_count = m.items().items().len();
                let full = (0..up.len())
                    .filter(|&node| {
                        up[node]
                            && (0..item_count).all(|i| m.items().holds_newest(node, i).is_some())
                    })
                    .count();
                ratio_pct(full as u64, up_count)
            }),
            nodes_converged_p50_s: d.share_times.p50_s,
            nodes_converged_p90_s: d.share_times.p90_s,
            nodes_converged_p99_s: d.share_times.p99_s,
            slowest_node: d.slowest_node,
            nodes_never_converged: with_items(d.never_converged),
            nodes_holding_nothing: with_items(d.holding_nothing),
            unreachable_nodes: with_items(d.unreachable),
            islands: d.islands,
            nodes_up_at_end: up_count as u32,
            channel_busy_mean_pct: m.channel().busy_pct().0,
            channel_busy_max_pct: m.channel().busy_pct().1,
            channel_utilisation_mean_pct: util_mean,
            channel_utilisation_max_pct: util_max,
            channel_utilisation_max_node: util_node as u32,
            bucket_s: m.channel().timeline().bucket_us as f64 / 1e6,
            airtime_by_class_s: channel::CLASSES
                .iter()
                .zip(m.channel().totals())
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
            signals: m.signals().summary(&info.components),
            assertions: Vec::new(),
            passed,
        }
    }

    /// Sets the evaluated assertions; the run passed when every check
    /// and every assertion did.
    pub fn set_assertions(&mut self, assertions: Vec<AssertionOutcome>) {
        self.assertions = assertions;
        self.passed =
            self.checks.iter().all(|c| c.passed) && self.assertions.iter().all(|a| a.passed);
    }

    /// The value of a metric (`None`: the run has none, e.g. no item was
    /// published or sync was off). A time until something that never
    /// happened ([`Metric::is_time_to_event`]) is `f64::INFINITY`: "never"
    /// is a value, which fails any `max` bound.
    pub fn value(&self, metric: Metric) -> Option<f64> {
        let sync = self.sync.as_ref();
        let items = self.items > 0;
        // A time that may never come: never (∞) when the run had items.
        let when = |t: Option<f64>, had: bool| had.then(|| t.unwrap_or(f64::INFINITY));
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
            Metric::ConvergedAtS => return sync.and_then(|s| when(s.converged_at_s, true)),
            Metric::ReachableConvergedAtS => {
                return sync.and_then(|s| when(s.reachable_converged_at_s, true));
            }
            Metric::ReachableItemsCompletePct => {
                let s = sync?;
                ratio_pct(u64::from(s.reachable_items_complete), u64::from(s.items))
            }
            Metric::NodesConvergedP50S => return when(self.nodes_converged_p50_s, items),
            Metric::NodesConvergedP90S => return when(self.nodes_converged_p90_s, items),
            Metric::NodesConvergedP99S => return when(self.nodes_converged_p99_s, items),
            Metric::NodesNeverConverged => f64::from(self.nodes_never_converged?),
            Metric::NodesHoldingNothing => f64::from(self.nodes_holding_nothing?),
            Metric::UnreachableNodes => f64::from(self.unreachable_nodes?),
            Metric::Islands => f64::from(self.islands),
            Metric::ChannelUtilisationMeanPct => self.channel_utilisation_mean_pct,
            Metric::ChannelUtilisationMaxPct => self.channel_utilisation_max_pct,
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
            Metric::ItemsCompleteS => return when(self.items_complete_s, items),
            Metric::NodesHoldingAllPct => self.nodes_holding_all_pct?,
            Metric::NodesUpAtEnd => f64::from(self.nodes_up_at_end),
            Metric::ChannelBusyMeanPct => self.channel_busy_mean_pct,
            Metric::ChannelBusyMaxPct => self.channel_busy_max_pct,
            Metric::UrgentDemandDeliveredPct => {
                use crate::signals::Mode;
                let s = self.signals.as_ref()?;
                s.group(node_core::signals::SignalType::Demand, Mode::Epidemic)?
                    .delivered_pct?
            }
            Metric::FloodDemandDeliveredPct => {
                use crate::signals::Mode;
                let s = self.signals.as_ref()?;
                s.group(node_core::signals::SignalType::Demand, Mode::Flood)?
                    .delivered_pct?
            }
            Metric::UrgentDemandTxToFloodRatio => {
                self.signals.as_ref()?.epidemic_to_flood_tx_ratio()?
            }
            Metric::QueriesLocalPct => self.signals.as_ref()?.queries_local_pct?,
            Metric::QueriesDirectedPct => self.signals.as_ref()?.queries_directed_pct?,
            Metric::BloomFpPct => self.signals.as_ref()?.bloom_fp_pct?,
            Metric::IrrelevantFloodToFilteredFactor => self
                .signals
                .as_ref()?
                .irrelevant_flood_to_filtered_factor()?,
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
