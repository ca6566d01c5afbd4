//! Catalogue-sync metrics: when every node held every item, how many
//! transmissions each item cost against the connected-dominating-set bound,
//! airtime by frame class, and the overhead once in sync.
//!
//! | `summary.json` key (under `sync`) | meaning |
//! |---|---|
//! | `strategy` | `reconcile` or `flood` |
//! | `items`, `versions` | distinct items and versions published |
//! | `converged_at_s` | when every node that is up at the end and connected to an item's publisher first held the newest version of every item (`null`: never) |
//! | `completion_s` | per version: publish → held by every such node (p50/p90/max over versions) |
//! | `data_tx_per_version` | mean data frames transmitted per published version (every copy, every retransmission) |
//! | `fragments_per_version` | mean data frames one transfer of a version takes |
//! | `cds_size` | greedy connected dominating set of the largest component |
//! | `efficiency_ratio` | Σ data frames ÷ Σ (CDS size × fragments), over all versions |
//! | `bytes_on_air` | LoRa bytes transmitted, by frame class (`summary`, `request`, `data`, `chat`, `other`) |
//! | `frames_on_air` | transmissions, by class |
//! | `in_sync_summaries_per_node_per_imax` | summary frames per node per Trickle `Imax` after convergence |
//! | `in_sync_bytes_per_node_hour` | summary LoRa bytes per node per hour after convergence |

use std::collections::BTreeMap;

use node_core::catalog::ItemId;
use node_core::wire::FrameClass;
use node_core::{Duration, Instant};
use serde::Serialize;
use sim::trace::{FaultRecord, NodeRecord, Record, RunInfo, TraceSink};

#[derive(Clone, Copy, Debug)]
struct Version {
    element: u64,
    publisher: u32,
    published_at: Instant,
    fragments: u16,
}

/// Accumulates sync metrics from the trace (bounded by nodes × items).
#[derive(Clone, Debug)]
pub struct SyncMetrics {
    versions: BTreeMap<(ItemId, u32), Version>,
    /// Per node: per item, (seq, since) of each version it came to hold.
    held: Vec<BTreeMap<ItemId, Vec<(u32, Instant)>>>,
    data_tx: BTreeMap<u64, u64>,
    bytes: BTreeMap<FrameClass, u64>,
    frames: BTreeMap<FrameClass, u64>,
    /// Summary transmissions (time, bytes), for the in-sync overhead.
    summaries: Vec<(Instant, u16)>,
    alive: Vec<bool>,
}

impl SyncMetrics {
    /// Metrics for a run.
    pub fn new(info: &RunInfo) -> Self {
        let n = info.sites.len();
        let mut alive = vec![true; n];
        for v in &info.initially_off {
            alive[*v as usize] = false;
        }
        SyncMetrics {
            versions: BTreeMap::new(),
            held: vec![BTreeMap::new(); n],
            data_tx: BTreeMap::new(),
            bytes: BTreeMap::new(),
            frames: BTreeMap::new(),
            summaries: Vec::new(),
            alive,
        }
    }
}

impl TraceSink for SyncMetrics {
    fn observe(&mut self, batch: &[Record]) {
        for r in batch {
            match *r {
                Record::Node { at, node, event } => match event {
                    NodeRecord::Published {
                        item,
                        seq,
                        element,
                        fragments,
                        ..
                    } => {
                        self.versions.insert(
                            (item, seq),
                            Version {
                                element,
                                publisher: node.0,
                                published_at: at,
                                fragments,
                            },
                        );
                        self.held[node.index()]
                            .entry(item)
                            .or_default()
                            .push((seq, at));
                    }
                    NodeRecord::Stored { item, seq, .. } => {
                        self.held[node.index()]
                            .entry(item)
                            .or_default()
                            .push((seq, at));
                    }
                    _ => {}
                },
                Record::TxStart {
                    at,
                    bytes_on_air,
                    class,
                    subject,
                    ..
                } => {
                    *self.bytes.entry(class).or_default() += u64::from(bytes_on_air);
                    *self.frames.entry(class).or_default() += 1;
                    match class {
                        FrameClass::Data => *self.data_tx.entry(subject).or_default() += 1,
                        FrameClass::Summary => self.summaries.push((at, bytes_on_air)),
                        _ => {}
                    }
                }
                Record::Fault { fault, .. } => match fault {
                    FaultRecord::Crash { node } => self.alive[node.index()] = false,
                    FaultRecord::Restart { node } | FaultRecord::Join { node } => {
                        self.alive[node.index()] = true
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
}

/// Percentiles of a list of seconds.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Spread {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Largest.
    pub max: f64,
}

fn spread(mut xs: Vec<f64>) -> Option<Spread> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let at = |q: f64| xs[((xs.len() - 1) as f64 * q).round() as usize];
    Some(Spread {
        p50: at(0.5),
        p90: at(0.9),
        max: xs[xs.len() - 1],
    })
}

/// The sync figures of one run.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct SyncSummary {
    /// Strategy.
    pub strategy: String,
    /// Distinct items published.
    pub items: u32,
    /// Versions published.
    pub versions: u32,
    /// When everything was everywhere (seconds), if it ever was.
    pub converged_at_s: Option<f64>,
    /// Versions held by every relevant node by the end.
    pub versions_complete: u32,
    /// Publish → complete, over complete versions.
    pub completion_s: Option<Spread>,
    /// Mean data transmissions per version.
    pub data_tx_per_version: f64,
    /// Mean fragments per version.
    pub fragments_per_version: f64,
    /// Greedy CDS size.
    pub cds_size: u32,
    /// Σ data frames ÷ Σ (CDS × fragments).
    pub efficiency_ratio: Option<f64>,
    /// LoRa bytes on air by class.
    pub bytes_on_air: BTreeMap<&'static str, u64>,
    /// Transmissions by class.
    pub frames_on_air: BTreeMap<&'static str, u64>,
    /// Summaries per node per Imax after convergence.
    pub in_sync_summaries_per_node_per_imax: Option<f64>,
    /// Summary bytes per node per hour after convergence.
    pub in_sync_bytes_per_node_hour: Option<f64>,
}

impl SyncMetrics {
    /// The figures, at the end of a run of `info`.
    pub fn summary(&self, info: &RunInfo) -> SyncSummary {
        let end = Instant::ZERO + info.sim_time;
        let newest: BTreeMap<ItemId, u32> =
            self.versions
                .keys()
                .fold(BTreeMap::new(), |mut m, (id, seq)| {
                    let e = m.entry(*id).or_insert(*seq);
                    *e = (*e).max(*seq);
                    m
                });
        let mut completion = Vec::new();
        let mut complete = 0u32;
        let mut converged: Option<Instant> = Some(Instant::ZERO);
        for ((id, seq), v) in &self.versions {
            // The nodes that should hold it: up at the end, in the publisher's component.
            let comp = info.components[v.publisher as usize];
            let mut last = Some(v.published_at);
            for (node, held) in self.held.iter().enumerate() {
                if !self.alive[node] || info.components[node] != comp {
                    continue;
                }
                let since = held
                    .get(id)
                    .and_then(|h| h.iter().filter(|(s, _)| s >= seq).map(|(_, at)| *at).min());
                last = match (last, since) {
                    (Some(l), Some(s)) => Some(l.max(s)),
                    _ => None,
                };
            }
            match last {
                Some(t) => {
                    complete += 1;
                    completion.push((t - v.published_at).as_secs_f64());
                    if newest.get(id) == Some(seq) {
                        converged = converged.map(|c| c.max(t));
                    }
                }
                None => {
                    if newest.get(id) == Some(seq) {
                        converged = None;
                    }
                }
            }
        }
        if self.versions.is_empty() {
            converged = None;
        }
        let versions = self.versions.len() as u32;
        let data: u64 = self
            .versions
            .values()
            .map(|v| self.data_tx.get(&v.element).copied().unwrap_or(0))
            .sum();
        let fragments: u64 = self.versions.values().map(|v| u64::from(v.fragments)).sum();
        let cds = u64::from(info.cds_size);
        let n = info.sites.len() as f64;
        let (in_sync_imax, in_sync_hour) = match converged {
            Some(c) if end > c => {
                let span = end - c;
                let (count, bytes) = self
                    .summaries
                    .iter()
                    .filter(|(at, _)| *at >= c)
                    .fold((0u64, 0u64), |(k, b), (_, by)| (k + 1, b + u64::from(*by)));
                let hours = span.as_secs_f64() / 3600.0;
                let imaxes = span.as_secs_f64() / info.sync_imax.as_secs_f64().max(1.0);
                (
                    (span > Duration::from_secs(60)).then(|| count as f64 / n / imaxes),
                    (span > Duration::from_secs(60)).then(|| bytes as f64 / n / hours),
                )
            }
            _ => (None, None),
        };
        SyncSummary {
            strategy: info.sync_strategy.clone(),
            items: newest.len() as u32,
            versions,
            converged_at_s: converged.map(|c| c.as_secs_f64()),
            versions_complete: complete,
            completion_s: spread(completion),
            data_tx_per_version: if versions == 0 {
                0.0
            } else {
                data as f64 / f64::from(versions)
            },
            fragments_per_version: if versions == 0 {
                0.0
            } else {
                fragments as f64 / f64::from(versions)
            },
            cds_size: info.cds_size,
            efficiency_ratio: (cds * fragments > 0).then(|| data as f64 / (cds * fragments) as f64),
            bytes_on_air: self.bytes.iter().map(|(c, b)| (c.name(), *b)).collect(),
            frames_on_air: self.frames.iter().map(|(c, b)| (c.name(), *b)).collect(),
            in_sync_summaries_per_node_per_imax: in_sync_imax,
            in_sync_bytes_per_node_hour: in_sync_hour,
        }
    }
}
