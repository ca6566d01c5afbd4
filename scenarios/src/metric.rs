//! The names of a run's result figures (`summary.json` keys), as one enum.
//!
//! A scenario's assertions name them, `okmesh sweep` records them as the
//! columns of `runs.csv`, and `--metric` picks one to plot. The enum lives
//! here rather than in `reports` because the scenario schema refers to it
//! and `scenarios` must not depend on `reports`; `reports` computes each
//! figure (`reports::Summary::value`, an exhaustive match, so a new variant
//! cannot be forgotten there).
//!
//! The name strings are part of the file formats: scenario files, CSV
//! headers and `sweep.json` carry them, so they never change.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A result figure of a run, by its `summary.json` name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Metric {
    /// `nodes`.
    Nodes,
    /// `sim_time_s`.
    SimTimeS,
    /// `events`.
    Events,
    /// `frames_sent`.
    FramesSent,
    /// `frames_received`.
    FramesReceived,
    /// `collisions`.
    Collisions,
    /// `reach_pct`.
    ReachPct,
    /// `reach_within_hop_limit_pct`.
    ReachWithinHopLimitPct,
    /// `air_utilisation_pct`.
    AirUtilisationPct,
    /// `max_hops_away`.
    MaxHopsAway,
    /// `messages_originated`.
    MessagesOriginated,
    /// `drops`.
    Drops,
    /// `duty_cycle_max_pct`.
    DutyCycleMaxPct,
    /// `converged_at_s`.
    ConvergedAtS,
    /// `efficiency_ratio`.
    EfficiencyRatio,
    /// `items_complete_pct`.
    ItemsCompletePct,
    /// `in_sync_summaries_per_node_per_imax`.
    InSyncSummariesPerNodePerImax,
    /// `usefulness_pct`.
    UsefulnessPct,
    /// `message_latency_p50_s`.
    MessageLatencyP50S,
    /// `message_latency_p90_s`.
    MessageLatencyP90S,
    /// `message_latency_p99_s`.
    MessageLatencyP99S,
    /// `channel_busy_mean_pct`.
    ChannelBusyMeanPct,
    /// `channel_busy_max_pct`.
    ChannelBusyMaxPct,
    /// `items_published`.
    ItemsPublished,
    /// `reachable_converged_at_s`.
    ReachableConvergedAtS,
    /// `reachable_items_complete_pct`.
    ReachableItemsCompletePct,
    /// `nodes_converged_p50_s`.
    NodesConvergedP50S,
    /// `nodes_converged_p90_s`.
    NodesConvergedP90S,
    /// `nodes_converged_p99_s`.
    NodesConvergedP99S,
    /// `nodes_never_converged`.
    NodesNeverConverged,
    /// `nodes_holding_nothing`.
    NodesHoldingNothing,
    /// `unreachable_nodes`.
    UnreachableNodes,
    /// `islands`.
    Islands,
    /// `channel_utilisation_mean_pct`.
    ChannelUtilisationMeanPct,
    /// `channel_utilisation_max_pct`.
    ChannelUtilisationMaxPct,
    /// `relays`.
    Relays,
    /// `duplicates`.
    Duplicates,
    /// `message_latency_max_s`.
    MessageLatencyMaxS,
    /// `item_latency_p50_s`.
    ItemLatencyP50S,
    /// `item_latency_p90_s`.
    ItemLatencyP90S,
    /// `item_latency_p99_s`.
    ItemLatencyP99S,
    /// `item_latency_max_s`.
    ItemLatencyMaxS,
    /// `items_complete_s`.
    ItemsCompleteS,
    /// `nodes_holding_all_pct`.
    NodesHoldingAllPct,
    /// `nodes_up_at_end`.
    NodesUpAtEnd,
    /// `urgent_demand_delivered_pct`.
    UrgentDemandDeliveredPct,
    /// `flood_demand_delivered_pct`.
    FloodDemandDeliveredPct,
    /// `urgent_demand_tx_to_flood_ratio`.
    UrgentDemandTxToFloodRatio,
    /// `queries_local_pct`.
    QueriesLocalPct,
    /// `queries_directed_pct`.
    QueriesDirectedPct,
    /// `bloom_fp_pct`.
    BloomFpPct,
    /// `irrelevant_flood_to_filtered_factor`.
    IrrelevantFloodToFilteredFactor,
    /// `passed`.
    Passed,
}

impl Metric {
    /// Every metric, in declaration order (the assertable ones first).
    pub const ALL: [Metric; 53] = [
        Metric::Nodes,
        Metric::SimTimeS,
        Metric::Events,
        Metric::FramesSent,
        Metric::FramesReceived,
        Metric::Collisions,
        Metric::ReachPct,
        Metric::ReachWithinHopLimitPct,
        Metric::AirUtilisationPct,
        Metric::MaxHopsAway,
        Metric::MessagesOriginated,
        Metric::Drops,
        Metric::DutyCycleMaxPct,
        Metric::ConvergedAtS,
        Metric::EfficiencyRatio,
        Metric::ItemsCompletePct,
        Metric::InSyncSummariesPerNodePerImax,
        Metric::UsefulnessPct,
        Metric::MessageLatencyP50S,
        Metric::MessageLatencyP90S,
        Metric::MessageLatencyP99S,
        Metric::ChannelBusyMeanPct,
        Metric::ChannelBusyMaxPct,
        Metric::ItemsPublished,
        Metric::ReachableConvergedAtS,
        Metric::ReachableItemsCompletePct,
        Metric::NodesConvergedP50S,
        Metric::NodesConvergedP90S,
        Metric::NodesConvergedP99S,
        Metric::NodesNeverConverged,
        Metric::NodesHoldingNothing,
        Metric::UnreachableNodes,
        Metric::Islands,
        Metric::ChannelUtilisationMeanPct,
        Metric::ChannelUtilisationMaxPct,
        Metric::Relays,
        Metric::Duplicates,
        Metric::MessageLatencyMaxS,
        Metric::ItemLatencyP50S,
        Metric::ItemLatencyP90S,
        Metric::ItemLatencyP99S,
        Metric::ItemLatencyMaxS,
        Metric::ItemsCompleteS,
        Metric::NodesHoldingAllPct,
        Metric::NodesUpAtEnd,
        Metric::UrgentDemandDeliveredPct,
        Metric::FloodDemandDeliveredPct,
        Metric::UrgentDemandTxToFloodRatio,
        Metric::QueriesLocalPct,
        Metric::QueriesDirectedPct,
        Metric::BloomFpPct,
        Metric::IrrelevantFloodToFilteredFactor,
        Metric::Passed,
    ];

    /// The name, as in `summary.json`, scenario files and CSV headers.
    pub const fn name(self) -> &'static str {
        match self {
            Metric::Nodes => "nodes",
            Metric::SimTimeS => "sim_time_s",
            Metric::Events => "events",
            Metric::FramesSent => "frames_sent",
            Metric::FramesReceived => "frames_received",
            Metric::Collisions => "collisions",
            Metric::ReachPct => "reach_pct",
            Metric::ReachWithinHopLimitPct => "reach_within_hop_limit_pct",
            Metric::AirUtilisationPct => "air_utilisation_pct",
            Metric::MaxHopsAway => "max_hops_away",
            Metric::MessagesOriginated => "messages_originated",
            Metric::Drops => "drops",
            Metric::DutyCycleMaxPct => "duty_cycle_max_pct",
            Metric::ConvergedAtS => "converged_at_s",
            Metric::EfficiencyRatio => "efficiency_ratio",
            Metric::ItemsCompletePct => "items_complete_pct",
            Metric::InSyncSummariesPerNodePerImax => "in_sync_summaries_per_node_per_imax",
            Metric::UsefulnessPct => "usefulness_pct",
            Metric::MessageLatencyP50S => "message_latency_p50_s",
            Metric::MessageLatencyP90S => "message_latency_p90_s",
            Metric::MessageLatencyP99S => "message_latency_p99_s",
            Metric::ChannelBusyMeanPct => "channel_busy_mean_pct",
            Metric::ChannelBusyMaxPct => "channel_busy_max_pct",
            Metric::ItemsPublished => "items_published",
            Metric::ReachableConvergedAtS => "reachable_converged_at_s",
            Metric::ReachableItemsCompletePct => "reachable_items_complete_pct",
            Metric::NodesConvergedP50S => "nodes_converged_p50_s",
            Metric::NodesConvergedP90S => "nodes_converged_p90_s",
            Metric::NodesConvergedP99S => "nodes_converged_p99_s",
            Metric::NodesNeverConverged => "nodes_never_converged",
            Metric::NodesHoldingNothing => "nodes_holding_nothing",
            Metric::UnreachableNodes => "unreachable_nodes",
            Metric::Islands => "islands",
            Metric::ChannelUtilisationMeanPct => "channel_utilisation_mean_pct",
            Metric::ChannelUtilisationMaxPct => "channel_utilisation_max_pct",
            Metric::Relays => "relays",
            Metric::Duplicates => "duplicates",
            Metric::MessageLatencyMaxS => "message_latency_max_s",
            Metric::ItemLatencyP50S => "item_latency_p50_s",
            Metric::ItemLatencyP90S => "item_latency_p90_s",
            Metric::ItemLatencyP99S => "item_latency_p99_s",
            Metric::ItemLatencyMaxS => "item_latency_max_s",
            Metric::ItemsCompleteS => "items_complete_s",
            Metric::NodesHoldingAllPct => "nodes_holding_all_pct",
            Metric::NodesUpAtEnd => "nodes_up_at_end",
            Metric::UrgentDemandDeliveredPct => "urgent_demand_delivered_pct",
            Metric::FloodDemandDeliveredPct => "flood_demand_delivered_pct",
            Metric::UrgentDemandTxToFloodRatio => "urgent_demand_tx_to_flood_ratio",
            Metric::QueriesLocalPct => "queries_local_pct",
            Metric::QueriesDirectedPct => "queries_directed_pct",
            Metric::BloomFpPct => "bloom_fp_pct",
            Metric::IrrelevantFloodToFilteredFactor => "irrelevant_flood_to_filtered_factor",
            Metric::Passed => "passed",
        }
    }

    /// What it measures.
    pub const fn description(self) -> &'static str {
        match self {
            Metric::Nodes => "nodes in the mesh",
            Metric::SimTimeS => "simulated seconds",
            Metric::Events => "events the engine processed",
            Metric::FramesSent => "transmissions started, originals and relays",
            Metric::FramesReceived => "frames decoded by some receiver, duplicates included",
            Metric::Collisions => "receptions lost to interference",
            Metric::ReachPct => "mean share of the other nodes that received each chat message",
            Metric::ReachWithinHopLimitPct => {
                "chat first receptions per node within the hop limit of each message's originator"
            }
            Metric::AirUtilisationPct => "mean share of time a node spent transmitting",
            Metric::MaxHopsAway => "largest number of relays any delivered chat message had passed",
            Metric::MessagesOriginated => "chat messages the nodes handed to their radios",
            Metric::Drops => "frames dropped before transmission (queue, duty cycle, crash)",
            Metric::DutyCycleMaxPct => "highest share of any one-hour window a node transmitted",
            Metric::ConvergedAtS => {
                "when every node that is up at the end first held the newest version of every item, islands and unreachable nodes included (unset: never)"
            }
            Metric::EfficiencyRatio => {
                "data transmissions per item version / (greedy CDS size x fragments per version)"
            }
            Metric::ItemsCompletePct => {
                "share of published items whose newest version every node up at the end holds"
            }
            Metric::InSyncSummariesPerNodePerImax => {
                "summary frames per node per Trickle Imax after convergence"
            }
            Metric::UsefulnessPct => "first receptions as a share of all receptions",
            Metric::MessageLatencyP50S => {
                "median chat delivery latency, origination to first decoding"
            }
            Metric::MessageLatencyP90S => "90th percentile chat delivery latency",
            Metric::MessageLatencyP99S => "99th percentile chat delivery latency",
            Metric::ChannelBusyMeanPct => "share of time with at least one transmission on the air",
            Metric::ChannelBusyMaxPct => "that share in the busiest time bucket of channel.csv",
            Metric::ItemsPublished => "catalogue items published during the run",
            Metric::ReachableConvergedAtS => {
                "when every node that can be reached (in the mesh component of each item's publisher) and is up first held the newest version of every item (unset: never)"
            }
            Metric::ReachableItemsCompletePct => {
                "share of published items whose newest version every reachable, live node holds at the end"
            }
            Metric::NodesConvergedP50S => {
                "when half of the nodes up at the end held the newest version of every item (unset: never)"
            }
            Metric::NodesConvergedP90S => {
                "when 90 % of the nodes up at the end held the newest version of every item (unset: never)"
            }
            Metric::NodesConvergedP99S => {
                "when 99 % of the nodes up at the end held the newest version of every item (unset: never)"
            }
            Metric::NodesNeverConverged => {
                "nodes up at the end that never held the newest version of every item"
            }
            Metric::NodesHoldingNothing => "nodes up at the end that hold no item's newest version",
            Metric::UnreachableNodes => {
                "nodes up at the end outside the mesh component of some item's publisher: no protocol can bring them that item"
            }
            Metric::Islands => {
                "connected components of the mesh graph at the start (1: everyone can reach everyone)"
            }
            Metric::ChannelUtilisationMeanPct => {
                "channel utilisation as a Meshtastic device reports it (its own transmissions plus every frame it received or lost to a collision), mean over nodes and time"
            }
            Metric::ChannelUtilisationMaxPct => {
                "the highest channel utilisation any node had in any time bucket of channel.csv"
            }
            Metric::Relays => "transmissions that were relays",
            Metric::Duplicates => "decoded frames the receiver had already seen",
            Metric::MessageLatencyMaxS => "largest chat delivery latency",
            Metric::ItemLatencyP50S => "median item propagation latency, publication to storing",
            Metric::ItemLatencyP90S => "90th percentile item propagation latency",
            Metric::ItemLatencyP99S => "99th percentile item propagation latency",
            Metric::ItemLatencyMaxS => "largest item propagation latency",
            Metric::ItemsCompleteS => {
                "when the last item's newest version was held by every node up at the end"
            }
            Metric::NodesHoldingAllPct => {
                "share of the nodes up at the end that hold every item's newest version"
            }
            Metric::NodesUpAtEnd => "nodes not down at the end",
            Metric::UrgentDemandDeliveredPct => {
                "share of the connected facilities an urgent demand by epidemic relays concerns that took it within its lifetime"
            }
            Metric::FloodDemandDeliveredPct => {
                "the same share for demands sent by plain flooding (the baseline)"
            }
            Metric::UrgentDemandTxToFloodRatio => {
                "transmissions per urgent demand by epidemic relays / per demand by plain flooding"
            }
            Metric::QueriesLocalPct => {
                "share of capability queries answered from the asker's own signal book, without a frame"
            }
            Metric::QueriesDirectedPct => {
                "share of the queries sent that every node routed by its neighbours' filters (none fell back to broadcast)"
            }
            Metric::BloomFpPct => {
                "share of the demand and queries a node's profile does not want that its own Bloom filter may want (false positives)"
            }
            Metric::IrrelevantFloodToFilteredFactor => {
                "irrelevant deliveries per demand by plain flooding / per urgent demand routed by subscription filters"
            }
            Metric::Passed => "1 when every check and assertion passed, else 0",
        }
    }

    /// Whether it is a figure of supply and demand signals, which only a
    /// run with `workload.signals` has.
    pub const fn needs_signals(self) -> bool {
        matches!(
            self,
            Metric::UrgentDemandDeliveredPct
                | Metric::FloodDemandDeliveredPct
                | Metric::UrgentDemandTxToFloodRatio
                | Metric::QueriesLocalPct
                | Metric::QueriesDirectedPct
                | Metric::BloomFpPct
                | Metric::IrrelevantFloodToFilteredFactor
        )
    }

    /// Whether a scenario assertion may name it: the set scenarios have
    /// always accepted (the first 24 in [`Metric::ALL`]) and the
    /// whole-deployment figures added since.
    pub const fn assertable(self) -> bool {
        !matches!(
            self,
            Metric::Relays
                | Metric::Duplicates
                | Metric::MessageLatencyMaxS
                | Metric::ItemLatencyP50S
                | Metric::ItemLatencyP90S
                | Metric::ItemLatencyP99S
                | Metric::ItemLatencyMaxS
                | Metric::ItemsCompleteS
                | Metric::NodesHoldingAllPct
                | Metric::NodesUpAtEnd
                | Metric::Passed
        )
    }

    /// Whether it is a time until something happens, which may never
    /// happen: [`Metric::is_time_to_event`] metrics have the value
    /// "never" (`f64::INFINITY` in code, `never` in CSV and text) when the
    /// run had items and the event did not happen.
    pub const fn is_time_to_event(self) -> bool {
        matches!(
            self,
            Metric::ConvergedAtS
                | Metric::ReachableConvergedAtS
                | Metric::ItemsCompleteS
                | Metric::NodesConvergedP50S
                | Metric::NodesConvergedP90S
                | Metric::NodesConvergedP99S
        )
    }

    /// How its values read: seconds, percent or a plain number (from the
    /// name's unit suffix).
    pub fn unit(self) -> MetricUnit {
        let n = self.name();
        if n.ends_with("_s") {
            MetricUnit::Seconds
        } else if n.ends_with("_pct") {
            MetricUnit::Percent
        } else {
            MetricUnit::Number
        }
    }

    /// The metrics an assertion may name, in [`Metric::ALL`] order.
    pub fn assertable_metrics() -> impl Iterator<Item = Metric> {
        Metric::ALL.into_iter().filter(|m| m.assertable())
    }
}

/// How a metric's values read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MetricUnit {
    /// Seconds (names ending in `_s`).
    Seconds,
    /// Percent (names ending in `_pct`).
    Percent,
    /// A count or a ratio.
    Number,
}

/// Joins metric names with `, ` (for "known: …" lists).
pub fn names(metrics: impl IntoIterator<Item = Metric>) -> String {
    metrics
        .into_iter()
        .map(Metric::name)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no metric.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("unknown metric `{name}` (known: {})", names(Metric::ALL))]
pub struct UnknownMetric {
    /// The name as given.
    pub name: String,
}

impl FromStr for Metric {
    type Err = UnknownMetric;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownMetric {
                name: s.to_string(),
            })
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Serde adapter for an assertion's metric: only [`Metric::assertable`]
/// ones, and the message lists exactly those.
pub(crate) mod assertable {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{Metric, names};

    pub(crate) fn serialize<S: Serializer>(m: &Metric, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(m.name())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Metric, D::Error> {
        let text = String::deserialize(d)?;
        match text.parse::<Metric>() {
            Ok(m) if m.assertable() => Ok(m),
            _ => Err(serde::de::Error::custom(format!(
                "unknown metric `{text}` (known: {})",
                names(Metric::assertable_metrics())
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for m in Metric::ALL {
            assert_eq!(m.name().parse::<Metric>(), Ok(m));
            assert_eq!(m.to_string(), m.name());
            assert!(seen.insert(m.name()), "{m} twice");
            assert!(!m.description().is_empty());
        }
        let e = "happiness".parse::<Metric>().unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unknown metric `happiness` (known: nodes, "),
            "{e}"
        );
    }

    #[test]
    fn the_assertable_set_is_the_historic_one_and_the_deployment_figures() {
        // Scenario files written before the enum accept these names, and
        // the whole-deployment and then the signal figures come after them.
        assert_eq!(
            names(Metric::assertable_metrics()),
            "nodes, sim_time_s, events, frames_sent, frames_received, collisions, reach_pct, \
             reach_within_hop_limit_pct, air_utilisation_pct, max_hops_away, messages_originated, \
             drops, duty_cycle_max_pct, converged_at_s, efficiency_ratio, items_complete_pct, \
             in_sync_summaries_per_node_per_imax, usefulness_pct, message_latency_p50_s, \
             message_latency_p90_s, message_latency_p99_s, channel_busy_mean_pct, \
             channel_busy_max_pct, items_published, reachable_converged_at_s, \
             reachable_items_complete_pct, nodes_converged_p50_s, nodes_converged_p90_s, \
             nodes_converged_p99_s, nodes_never_converged, nodes_holding_nothing, \
             unreachable_nodes, islands, channel_utilisation_mean_pct, channel_utilisation_max_pct, \
             urgent_demand_delivered_pct, flood_demand_delivered_pct, \
             urgent_demand_tx_to_flood_ratio, queries_local_pct, queries_directed_pct, \
             bloom_fp_pct, irrelevant_flood_to_filtered_factor"
        );
        assert!(Metric::ConvergedAtS.is_time_to_event());
        assert!(!Metric::ReachPct.is_time_to_event());
        assert_eq!(Metric::NodesConvergedP90S.unit(), MetricUnit::Seconds);
        assert_eq!(Metric::Islands.unit(), MetricUnit::Number);
    }
}
