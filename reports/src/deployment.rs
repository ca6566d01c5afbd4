//! The deployment's view of catalogue sync: which nodes hold everything,
//! which never did, and which could never be reached — counted over every
//! node that is up at the end, islands included.
//!
//! *Converged* (the headline) means every node up at the end holds the
//! newest version of every item. A node is *unreachable* when, over the
//! mesh graph at the start of the run, it shares no component with the
//! publisher of some item's newest version: no protocol can bring it that
//! item. The figures counted only over reachable nodes keep the word
//! `reachable` in their names (see [`crate::sync`]).

use node_core::Instant;
use serde::Serialize;
use sim::trace::RunInfo;

use crate::Metrics;

/// One node's standing at the end of a run.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct NodeStanding {
    /// Up at the end.
    pub up: bool,
    /// First time it held every item's newest version (after the last
    /// publication), if ever.
    pub converged_at: Option<Instant>,
    /// Items whose newest version it holds at the end.
    pub items_held: u32,
    /// Whether some item's newest publisher lies outside its mesh component.
    pub unreachable: bool,
    /// Its mesh component (island) and that island's size.
    pub island: u32,
    /// Nodes on its island.
    pub island_size: u32,
}

/// The share of live nodes that converged by a time.
#[derive(Clone, Copy, PartialEq, Debug, Serialize)]
pub struct ShareTimes {
    /// When half of the nodes up at the end held everything, s.
    pub p50_s: Option<f64>,
    /// When 90 % did, s.
    pub p90_s: Option<f64>,
    /// When 99 % did, s.
    pub p99_s: Option<f64>,
}

/// Catalogue figures over the whole deployment.
#[derive(Clone, PartialEq, Debug)]
pub struct Deployment {
    /// Per node, by id.
    pub nodes: Vec<NodeStanding>,
    /// Items tracked.
    pub items: u32,
    /// Connected components of the mesh graph at the start.
    pub islands: u32,
    /// Nodes up at the end.
    pub live: u32,
    /// Live nodes that hold every item's newest version at the end.
    pub holding_all: u32,
    /// Live nodes that hold no item's newest version at the end.
    pub holding_nothing: u32,
    /// Live nodes that never held everything.
    pub never_converged: u32,
    /// Live nodes some item's publisher cannot reach over the mesh.
    pub unreachable: u32,
    /// When every live node held everything (`None`: never, or no items).
    pub converged_at: Option<Instant>,
    /// When 50/90/99 % of the live nodes did.
    pub share_times: ShareTimes,
    /// The live node that held everything last, if all did.
    pub slowest_node: Option<u32>,
}

impl Deployment {
    /// The figures of a finished run.
    pub fn of(info: &RunInfo, m: &Metrics) -> Self {
        let tracker = m.items();
        let items = tracker.items();
        let up = m.up();
        let n = info.sites.len();
        let mut island_size = std::collections::BTreeMap::<u32, u32>::new();
        for c in &info.components {
            *island_size.entry(*c).or_default() += 1;
        }
        let publishers: Vec<u32> = items
            .iter()
            .filter_map(|s| s.publisher.map(|p| info.components[p.index()]))
            .collect();
        let nodes: Vec<NodeStanding> = (0..n)
            .map(|i| {
                let island = info.components[i];
                NodeStanding {
                    up: up[i],
                    converged_at: tracker.converged_at(i),
                    items_held: (0..items.len())
                        .filter(|k| tracker.holds_newest(i, *k).is_some())
                        .count() as u32,
                    unreachable: publishers.iter().any(|c| *c != island),
                    island,
                    island_size: island_size.get(&island).copied().unwrap_or(0),
                }
            })
            .collect();
        let live: Vec<&NodeStanding> = nodes.iter().filter(|s| s.up).collect();
        let item_count = items.len() as u32;
        let mut times: Vec<Instant> = live.iter().filter_map(|s| s.converged_at).collect();
        times.sort_unstable();
        let share = |q: f64| -> Option<f64> {
            if item_count == 0 || live.is_empty() {
                return None;
            }
            // The k-th live node to converge, k = ceil(q × live).
            let k = (q * live.len() as f64).ceil().max(1.0) as usize;
            times.get(k - 1).map(|t| (*t - Instant::ZERO).as_secs_f64())
        };
        let all = item_count > 0 && !live.is_empty() && times.len() == live.len();
        let slowest_node = all
            .then(|| {
                (0..n)
                    .filter(|i| nodes[*i].up)
                    .max_by_key(|i| (nodes[*i].converged_at, std::cmp::Reverse(*i)))
            })
            .flatten()
            .map(|i| i as u32);
        Deployment {
            items: item_count,
            islands: island_size.len() as u32,
            live: live.len() as u32,
            holding_all: live.iter().filter(|s| s.items_held == item_count).count() as u32,
            holding_nothing: live.iter().filter(|s| s.items_held == 0).count() as u32,
            never_converged: live.iter().filter(|s| s.converged_at.is_none()).count() as u32,
            unreachable: live.iter().filter(|s| s.unreachable).count() as u32,
            converged_at: all.then(|| times.last().copied()).flatten(),
            share_times: ShareTimes {
                p50_s: share(0.5),
                p90_s: share(0.9),
                p99_s: share(0.99),
            },
            slowest_node,
            nodes,
        }
    }

    /// The live nodes served worst, at most `k`: those that never held
    /// everything first (fewest items, unreachable first), then the latest
    /// to converge; ties by node id.
    pub fn worst_served(&self, k: usize) -> Vec<u32> {
        let mut ids: Vec<u32> = (0..self.nodes.len() as u32)
            .filter(|i| self.nodes[*i as usize].up)
            .collect();
        ids.sort_by_key(|i| {
            let s = &self.nodes[*i as usize];
            (
                s.converged_at.is_some(),
                !s.unreachable,
                s.items_held,
                std::cmp::Reverse(s.converged_at),
                *i,
            )
        });
        ids.truncate(k);
        ids
    }
}
