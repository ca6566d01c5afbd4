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
//! | `data_reach` | where data frames went: receptions at nodes that lacked the version (decoded, and lost to collisions or half-duplex) and at nodes that held it, and the share of data frames no node lacking the version decoded |

use std::collections::{BTreeMap, BTreeSet};

use node_core::wire::FrameClass;
use node_core::{Duration, Instant};
use serde::Serialize;
use sim::trace::{NodeRecord, Record, RunInfo, TraceSink, TxId};

use crate::Metrics;

/// Counts bytes and frames by class and remembers summary transmissions.
#[derive(Clone, Debug, Default)]
pub struct SyncMetrics {
    bytes: BTreeMap<FrameClass, u64>,
    frames: BTreeMap<FrameClass, u64>,
    /// Summary transmissions (time, LoRa bytes), for the in-sync overhead.
    summaries: Vec<(Instant, u16)>,
    /// (node, sync element) of every version a node published or stored.
    held: BTreeSet<(u32, u64)>,
    /// Data frames on the air: the element each carries, and whether a
    /// node lacking it has decoded it yet.
    data_on_air: BTreeMap<TxId, (u64, bool)>,
    reach: DataReach,
}

/// Where data frames went, counted per (transmission, receiver in range
/// that could demodulate it): what separates a protocol that sends too
/// much from a channel that loses what is sent.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize)]
pub struct DataReach {
    /// Decoded by a node that lacked the version (it may already have
    /// had that fragment from an earlier copy).
    pub lacking_decoded: u64,
    /// Lost to a collision or to the receiver's own transmission at a
    /// node that lacked the version.
    pub lacking_lost: u64,
    /// Decoded by a node that already held the version.
    pub holding_decoded: u64,
    /// Data frames that no node lacking the version decoded.
    pub frames_unhelpful: u64,
    /// Data frames transmitted.
    pub frames: u64,
}

impl DataReach {
    /// Share of data frames no node lacking the version decoded, percent.
    pub fn unhelpful_pct(&self) -> Option<f64> {
        (self.frames > 0).then(|| self.frames_unhelpful as f64 * 100.0 / self.frames as f64)
    }

    /// Share of receptions at nodes lacking the version that were lost,
    /// percent.
    pub fn lacking_lost_pct(&self) -> Option<f64> {
        let all = self.lacking_decoded + self.lacking_lost;
        (all > 0).then(|| self.lacking_lost as f64 * 100.0 / all as f64)
    }
}

impl SyncMetrics {
    /// A reception of `tx` at `node` ended: decoded, or lost.
    fn data_heard(&mut self, tx: TxId, node: u32, decoded: bool) {
        let Some((element, helped)) = self.data_on_air.get_mut(&tx) else {
            return; // not a data frame
        };
        let lacking = !self.held.contains(&(node, *element));
        let r = &mut self.reach;
        match (lacking, decoded) {
            (true, true) => {
                r.lacking_decoded += 1;
                *helped = true;
            }
            (true, false) => r.lacking_lost += 1,
            (false, true) => r.holding_decoded += 1,
            (false, false) => {}
        }
    }
}

impl TraceSink for SyncMetrics {
    fn observe(&mut self, batch: &[Record]) {
        for r in batch {
            match *r {
                Record::TxStart {
                    at,
                    tx,
                    bytes_on_air,
                    class,
                    subject,
                    ..
                } => {
                    *self.bytes.entry(class).or_default() += u64::from(bytes_on_air);
                    *self.frames.entry(class).or_default() += 1;
                    match class {
                        FrameClass::Summary => self.summaries.push((at, bytes_on_air)),
                        FrameClass::Data => {
                            self.data_on_air.insert(tx, (subject, false));
                            self.reach.frames += 1;
                        }
                        _ => {}
                    }
                }
                Record::RxOk {
                    tx,
                    node,
                    class: FrameClass::Data,
                    ..
                } => self.data_heard(tx, node.0, true),
                // These do not say their class: only a data frame on the air counts.
                Record::Collision { tx, node, .. } | Record::HalfDuplexMiss { tx, node, .. }
                    if !self.data_on_air.is_empty() =>
                {
                    self.data_heard(tx, node.0, false);
                }
                // Receptions end before their transmission's end record.
                Record::TxEnd { tx, .. } => {
                    if let Some((_, false)) = self.data_on_air.remove(&tx) {
                        self.reach.frames_unhelpful += 1;
                    }
                }
                Record::Node {
                    node,
                    event:
                        NodeRecord::Published { element, .. } | NodeRecord::Stored { element, .. },
                    ..
                } => {
                    self.held.insert((node.0, element));
                }
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
    /// Where the data frames went.
    pub data_reach: DataReach,
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
            data_reach: self.reach,
        })
    }
}

#[cfg(test)]
mod tests {
    use node_core::{ItemId, NodeId};
    use sim::trace::PacketKey;

    use super::*;

    const ELEMENT: u64 = 0xE1E;

    fn data(tx: TxId, from: u32) -> [Record; 1] {
        [Record::TxStart {
            at: Instant::ZERO,
            node: NodeId(from),
            tx,
            packet: PacketKey {
                origin: NodeId(from),
                id: tx as u32,
            },
            hop_limit: 0,
            relay: false,
            bytes_on_air: 230,
            end: Instant::from_micros(1_900_000),
            class: FrameClass::Data,
            subject: ELEMENT,
        }]
    }

    fn rx(tx: TxId, node: u32) -> Record {
        Record::RxOk {
            at: Instant::from_micros(1_900_000),
            node: NodeId(node),
            tx,
            sender: NodeId(0),
            packet: PacketKey {
                origin: NodeId(0),
                id: tx as u32,
            },
            hops_away: 0,
            rssi_cdbm: -10_000,
            duplicate: false,
            class: FrameClass::Data,
        }
    }

    fn end(tx: TxId) -> Record {
        Record::TxEnd {
            at: Instant::from_micros(1_900_000),
            node: NodeId(0),
            tx,
        }
    }

    fn stored(node: u32) -> Record {
        Record::Node {
            at: Instant::from_micros(1_900_000),
            node: NodeId(node),
            event: NodeRecord::Stored {
                item: ItemId([7; 16]),
                seq: 1,
                element: ELEMENT,
            },
        }
    }

    #[test]
    fn data_reach_tells_needed_receptions_from_lost_and_redundant_ones() {
        let mut m = SyncMetrics::default();
        // Frame 1: node 1 lacks the version and decodes it (its last
        // fragment: it stores the version right after), node 2 lacks it
        // and loses it to a collision.
        m.observe(&data(1, 0));
        let lost = Record::Collision {
            at: Instant::from_micros(1_900_000),
            node: NodeId(2),
            tx: 1,
        };
        m.observe(&[rx(1, 1), lost, stored(1), end(1)]);
        // Frame 2: only node 1 hears it, and it holds the version now.
        m.observe(&data(2, 0));
        m.observe(&[rx(2, 1), end(2)]);
        // A chat frame's receptions are not data receptions.
        let mut chat = data(3, 0);
        if let Record::TxStart { class, .. } = &mut chat[0] {
            *class = FrameClass::Chat;
        }
        m.observe(&chat);
        m.observe(&[rx(3, 2), end(3)]);
        let r = m.reach;
        assert_eq!(
            r,
            DataReach {
                lacking_decoded: 1,
                lacking_lost: 1,
                holding_decoded: 1,
                frames_unhelpful: 1,
                frames: 2,
            }
        );
        assert_eq!(r.unhelpful_pct(), Some(50.0));
        assert_eq!(r.lacking_lost_pct(), Some(50.0));
        assert!(m.data_on_air.is_empty(), "ended frames are forgotten");
        assert_eq!(DataReach::default().unhelpful_pct(), None);
    }
}
