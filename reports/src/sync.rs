//! Catalogue-sync figures: when every node held every item (and, named as
//! such, when every node that could be reached did), how many
//! transmissions the items cost against the connected-dominating-set bound,
//! bytes on air by frame class, and the overhead once in sync. Item
//! holdings come from [`Metrics`]' item tracker; this module adds only the
//! per-class byte counts and the summary transmissions it needs.
//!
//! | `summary.json` key (under `sync` and `baseline`) | meaning |
//! |---|---|
//! | `strategy` | `reconcile` or `flood` |
//! | `items`, `versions` | distinct items and versions published |
//! | `converged_at_s` | when every node that is up at the end held the newest version of every item — islands and nodes no publisher can reach included (`null`: never) |
//! | `items_complete` | items whose newest version every node up at the end holds |
//! | `completion_s` | per complete item: newest version published → held by every node up at the end (p50/p90/max) |
//! | `reachable_converged_at_s` | the same as `converged_at_s`, counting only the nodes in the mesh component of each item's publisher: what the protocol achieved where it could (`null`: never) |
//! | `reachable_items_complete` | items whose newest version every such reachable node holds |
//! | `data_tx_per_version` | data frames transmitted per published version (every copy and retransmission) |
//! | `fragments_per_version` | data frames one transfer of a version takes |
//! | `cds_size` | greedy connected dominating set of the largest component |
//! | `efficiency_ratio` | Σ data frames ÷ Σ over versions (CDS size × fragments) |
//! | `bytes_on_air`, `frames_on_air` | LoRa bytes and transmissions by frame class (`summary`, `request`, `data`, `chat`, `other`) |
//! | `in_sync_summaries_per_node_per_imax` | summary frames per node per Trickle `Imax` after every reachable node held everything (`reachable_converged_at_s`) |
//! | `in_sync_bytes_per_node_hour` | summary LoRa bytes per node per hour after the same time |

use std::collections::BTreeMap;

use node_core::wire::FrameClass;
use node_core::{Duration, Instant};
use serde::Serialize;
use sim::trace::{Record, RunInfo, TraceSink};

use crate::Metrics;

/// Counts bytes and frames by class and remembers summary transmissions.
#[derive(Clone, Debug, Default)]
pub struct SyncMetrics {
    bytes: BTreeMap<FrameClass, u64>,
    frames: BTreeMap<FrameClass, u64>,
    /// Summary transmissions (time, LoRa bytes), for the in-sync overhead.
    summaries: Vec<(Instant, u16)>,
}

impl TraceSink for SyncMetrics {
    fn observe(&mut self, batch: &[Record]) {
        for r in batch {
            if let Record::TxStart {
                at,
                bytes_on_air,
                class,
                ..
            } = *r
            {
                *self.bytes.entry(class).or_default() += u64::from(bytes_on_air);
                *self.frames.entry(class).or_default() += 1;
                if class == FrameClass::Summary {
                    self.summaries.push((at, bytes_on_air));
                }
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
    /// When every node up at the end held every item's newest version
    /// (seconds), if that ever happened.
    pub converged_at_s: Option<f64>,
    /// Items whose newest version every node up at the end holds.
    pub items_complete: u32,
    /// Newest version published → complete, over complete items.
    pub completion_s: Option<Spread>,
    /// When every node that *can* be reached (in the mesh component of
    /// each item's publisher) held everything, if ever.
    pub reachable_converged_at_s: Option<f64>,
    /// Items whose newest version every reachable node up at the end holds.
    pub reachable_items_complete: u32,
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
    /// The figures at the end of a run of `info`, whose items `metrics`
    /// tracked. `None` when sync was off or nothing was published.
    pub fn summary(&self, info: &RunInfo, metrics: &Metrics) -> Option<SyncSummary> {
        let tracker = metrics.items();
        let published: Vec<usize> = (0..tracker.items().len())
            .filter(|i| tracker.items()[*i].versions_published > 0)
            .collect();
        if info.sync_strategy == "off" || published.is_empty() {
            return None;
        }
        let end = Instant::ZERO + info.sim_time;
        let up = metrics.up();
        let mut completion = Vec::new();
        let mut converged = Some(Instant::ZERO);
        let (mut reachable_converged, mut reachable_complete) = (Some(Instant::ZERO), 0);
        for &i in &published {
            let state = &tracker.items()[i];
            // Everyone up at the end must hold it.
            match tracker.completed_at(i, up) {
                Some(t) => {
                    completion.push(state.published_at.map_or(0.0, |p| (t - p).as_secs_f64()));
                    converged = converged.map(|c| c.max(t));
                }
                None => converged = None,
            }
            // The reachable figure: only those in the publisher's component.
            let comp = state.publisher.map(|p| info.components[p.index()]);
            let reachable: Vec<bool> = up
                .iter()
                .enumerate()
                .map(|(n, u)| *u && Some(info.components[n]) == comp)
                .collect();
            match tracker.completed_at(i, &reachable) {
                Some(t) => {
                    reachable_complete += 1;
                    reachable_converged = reachable_converged.map(|c| c.max(t));
                }
                None => reachable_converged = None,
            }
        }
        let versions: u32 = published
            .iter()
            .map(|i| tracker.items()[*i].versions_published)
            .sum();
        let data: u64 = published
            .iter()
            .map(|i| tracker.items()[*i].data_frames)
            .sum();
        let fragments: u64 = published
            .iter()
            .map(|i| tracker.items()[*i].fragments_published)
            .sum();
        let cds = u64::from(info.cds_size);
        let n = info.sites.len() as f64;
        let after = |c: Instant| {
            let span = end - c;
            if span <= Duration::from_secs(60) {
                return (None, None);
            }
            let (count, bytes) = self
                .summaries
                .iter()
                .filter(|(at, _)| *at >= c)
                .fold((0u64, 0u64), |(k, b), (_, by)| (k + 1, b + u64::from(*by)));
            let imaxes = span.as_secs_f64() / info.sync_imax.as_secs_f64().max(1.0);
            let hours = span.as_secs_f64() / 3600.0;
            (
                Some(count as f64 / n / imaxes),
                Some(bytes as f64 / n / hours),
            )
        };
        let (in_sync_imax, in_sync_hour) = reachable_converged.map_or((None, None), after);
        Some(SyncSummary {
            strategy: info.sync_strategy.clone(),
            items: published.len() as u32,
            versions,
            converged_at_s: converged.map(|c| c.as_secs_f64()),
            items_complete: completion.len() as u32,
            completion_s: spread(completion),
            reachable_converged_at_s: reachable_converged.map(|c| c.as_secs_f64()),
            reachable_items_complete: reachable_complete,
            data_tx_per_version: data as f64 / f64::from(versions.max(1)),
            fragments_per_version: fragments as f64 / f64::from(versions.max(1)),
            cds_size: info.cds_size,
            efficiency_ratio: (cds * fragments > 0).then(|| data as f64 / (cds * fragments) as f64),
            bytes_on_air: self.bytes.iter().map(|(c, b)| (c.name(), *b)).collect(),
            frames_on_air: self.frames.iter().map(|(c, b)| (c.name(), *b)).collect(),
            in_sync_summaries_per_node_per_imax: in_sync_imax,
            in_sync_bytes_per_node_hour: in_sync_hour,
        })
    }
}
