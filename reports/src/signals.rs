//! Supply and demand signal figures, from the trace's signal records and
//! the signal frames' transmissions.
//!
//! Signals are grouped by type and *mode*: `epidemic` (urgent signals,
//! queries, confirmations and cancellations: probabilistic relays),
//! `flood` (the plain-flooding baseline, every node relays once) and
//! `gossip` (announcements spread by digest and pull only).
//!
//! | figure | meaning |
//! |---|---|
//! | `delivered_pct` | deliveries within the signal's lifetime to its audience (the nodes it concerns: matching facilities for demand and queries, every node otherwise) in its origin's mesh component ÷ that audience, percent |
//! | `tx_per_signal` | transmissions of signal frames carrying the signal (originals, relays, pull answers), mean per signal |
//! | `airtime_s_per_signal`, `bytes_per_signal` | their airtime and bytes on air, mean per signal |
//! | `irrelevant_deliveries` | deliveries to nodes outside the audience |
//! | `reconciliation_tx` / `_airtime_s` | digest and pull frames (no single signal's) |
//! | `first_confirmation_*_s` | demand publication → first confirmation taken at the demander |
//! | `queries_local_pct` | queries answered from the asker's book without a frame ÷ all queries |
//! | `queries_directed_pct` | queries sent (not flooded) that no node took as a broadcast fallback (every hop routed by neighbours' filters) ÷ those queries |
//! | `bloom_fp_pct` | first hearings of a (not flooded) demand or query where the node's own filter, as its neighbours see it, may want it and its full profile does not ÷ those its profile does not want |
//! | `routed`, `declined`, `routed_fallback_pct` | first hearings routed by filters; of which declined (not taken); taken as a broadcast fallback (no neighbour filter known), percent |
//! | `filter_tx`, `filter_airtime_s`, `filter_bytes_per_advert` | filter adverts on air: transmissions, airtime, mean bytes on air |
//! | `irrelevant_flood_to_filtered_factor` | irrelevant deliveries per demand by plain flooding ÷ per urgent demand routed by filters (same run) |

use std::collections::{BTreeMap, BTreeSet};

use node_core::Instant;
use node_core::signals::SignalType;
use serde::Serialize;
use sim::trace::SignalRecord;

/// How a signal travelled.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Probabilistic relays with a hop budget.
    Epidemic,
    /// Plain flooding: every node relays once (the baseline).
    Flood,
    /// Digest and pull only.
    Gossip,
}

#[derive(Clone, Debug)]
struct Tracked {
    ty: SignalType,
    mode: Mode,
    origin: u32,
    at: Instant,
    expires: Instant,
    refers: u64,
    audience: BTreeSet<u32>,
    delivered: BTreeSet<u32>,
    irrelevant: u64,
    tx: u64,
    airtime_us: u64,
    bytes: u64,
    fallbacks: u64,
}

/// Accumulates the signal figures.
#[derive(Clone, Debug, Default)]
pub struct SignalTracker {
    signals: BTreeMap<u64, Tracked>,
    /// Signal frames whose subject is not a published signal (digests,
    /// pulls) or an unknown one.
    reconciliation_tx: u64,
    reconciliation_airtime_us: u64,
    /// First confirmation latency per demand, µs.
    first_confirmation_us: BTreeMap<u64, u64>,
    queries_local: u64,
    conflicts: u64,
    losers_told: u64,
    refused: BTreeMap<&'static str, u64>,
    skipped: u64,
    routed: u64,
    routed_negatives: u64,
    false_positives: u64,
    declined: u64,
    fallbacks: u64,
    filter_tx: u64,
    filter_airtime_us: u64,
    filter_bytes: u64,
}

/// One group's figures.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct SignalGroup {
    /// The signal type.
    pub ty: SignalType,
    /// How it travelled.
    pub mode: Mode,
    /// Signals published.
    pub signals: u32,
    /// Audience members in their origins' components, summed.
    pub audience: u64,
    /// Of those, delivered within the lifetime.
    pub delivered: u64,
    /// `delivered ÷ audience`, percent (`null` without an audience).
    pub delivered_pct: Option<f64>,
    /// Transmissions per signal.
    pub tx_per_signal: f64,
    /// Airtime per signal, seconds.
    pub airtime_s_per_signal: f64,
    /// Bytes on air per signal.
    pub bytes_per_signal: f64,
    /// Deliveries outside the audience.
    pub irrelevant_deliveries: u64,
}

/// The signal section of `summary.json`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct SignalSummary {
    /// Per type and mode.
    pub groups: Vec<SignalGroup>,
    /// Digest and pull transmissions.
    pub reconciliation_tx: u64,
    /// Their airtime, seconds.
    pub reconciliation_airtime_s: f64,
    /// Demands with a confirmation seen by the demander.
    pub confirmed_demands: u32,
    /// Median time to the first confirmation, seconds.
    pub first_confirmation_p50_s: Option<f64>,
    /// Longest time to the first confirmation, seconds.
    pub first_confirmation_max_s: Option<f64>,
    /// Queries asked (sent or answered locally).
    pub queries: u64,
    /// Of which answered from the book without a frame, percent.
    pub queries_local_pct: Option<f64>,
    /// Confirmation conflicts seen (one per node and losing confirmation).
    pub conflicts: u64,
    /// Conflicts reported at the losing facility.
    pub losers_told: u64,
    /// Signals refused from the air, by reason.
    pub refused: BTreeMap<&'static str, u64>,
    /// Scheduled actions that did not happen.
    pub skipped: u64,
    /// Of the queries sent, those no node took as a broadcast fallback,
    /// percent.
    pub queries_directed_pct: Option<f64>,
    /// Own-filter false positives ÷ first hearings the profile does not
    /// want, percent.
    pub bloom_fp_pct: Option<f64>,
    /// First hearings routed by filters.
    pub routed: u64,
    /// Of which declined.
    pub declined: u64,
    /// Of which taken with no neighbour filter known, percent.
    pub routed_fallback_pct: Option<f64>,
    /// Filter adverts transmitted.
    pub filter_tx: u64,
    /// Their airtime, seconds.
    pub filter_airtime_s: f64,
    /// Mean bytes on air per advert.
    pub filter_bytes_per_advert: Option<f64>,
}

impl SignalTracker {
    /// A signal record at `node`.
    pub fn on_record(&mut self, at: Instant, node: u32, r: SignalRecord) {
        match r {
            SignalRecord::Published {
                id,
                ty,
                urgent,
                flood,
                ttl_s,
                refers,
                ..
            } => {
                let relays = urgent
                    || matches!(
                        ty,
                        SignalType::Query | SignalType::Confirmation | SignalType::Cancellation
                    );
                let mode = match (flood, relays) {
                    (true, _) => Mode::Flood,
                    (false, true) => Mode::Epidemic,
                    (false, false) => Mode::Gossip,
                };
                self.signals.entry(id).or_insert(Tracked {
                    ty,
                    mode,
                    origin: node,
                    at,
                    expires: at + node_core::Duration::from_secs(u64::from(ttl_s)),
                    refers,
                    audience: BTreeSet::new(),
                    delivered: BTreeSet::new(),
                    irrelevant: 0,
                    tx: 0,
                    airtime_us: 0,
                    bytes: 0,
                    fallbacks: 0,
                });
            }
            SignalRecord::Audience { id } => {
                if let Some(t) = self.signals.get_mut(&id) {
                    t.audience.insert(node);
                }
            }
            SignalRecord::Taken { id, ty, .. } => {
                let Some(t) = self.signals.get_mut(&id) else {
                    return;
                };
                if at < t.expires && t.audience.contains(&node) {
                    t.delivered.insert(node);
                } else if !t.audience.contains(&node) {
                    t.irrelevant += 1;
                }
                let demand = t.refers;
                if ty == SignalType::Confirmation
                    && let Some(d) = self.signals.get(&demand)
                    && d.origin == node
                {
                    let us = at.saturating_since(d.at).as_micros();
                    self.first_confirmation_us
                        .entry(demand)
                        .and_modify(|v| *v = (*v).min(us))
                        .or_insert(us);
                }
            }
            SignalRecord::Refused { reason } => {
                *self.refused.entry(reason.name()).or_default() += 1
            }
            SignalRecord::Relayed { .. } => {}
            SignalRecord::Conflict { ours_lost, .. } => {
                self.conflicts += 1;
                self.losers_told += u64::from(ours_lost);
            }
            SignalRecord::Answered { local, .. } => self.queries_local += u64::from(local),
            SignalRecord::Skipped => self.skipped += 1,
            SignalRecord::Routed {
                id,
                filter_match,
                matches,
                taken,
                fallback,
            } => {
                self.routed += 1;
                self.routed_negatives += u64::from(!matches);
                self.false_positives += u64::from(filter_match && !matches);
                self.declined += u64::from(!taken);
                self.fallbacks += u64::from(fallback);
                if let Some(t) = self.signals.get_mut(&id) {
                    t.fallbacks += u64::from(fallback);
                }
            }
        }
    }

    /// A transmission of a signal-family frame about `subject`.
    pub fn on_tx(&mut self, subject: u64, airtime_us: u64, bytes_on_air: u64) {
        if subject == node_core::wire::FILTER_SUBJECT {
            self.filter_tx += 1;
            self.filter_airtime_us += airtime_us;
            self.filter_bytes += bytes_on_air;
            return;
        }
        match self.signals.get_mut(&subject) {
            Some(t) => {
                t.tx += 1;
                t.airtime_us += airtime_us;
                t.bytes += bytes_on_air;
            }
            None => {
                self.reconciliation_tx += 1;
                self.reconciliation_airtime_us += airtime_us;
            }
        }
    }

    /// The figures; `components` is each node's mesh component.
    pub fn summary(&self, components: &[u32]) -> Option<SignalSummary> {
        if self.signals.is_empty() && self.queries_local == 0 {
            return None;
        }
        let comp = |n: u32| components.get(n as usize).copied();
        let mut groups: BTreeMap<(SignalType, Mode), SignalGroup> = BTreeMap::new();
        for t in self.signals.values() {
            let g = groups.entry((t.ty, t.mode)).or_insert(SignalGroup {
                ty: t.ty,
                mode: t.mode,
                signals: 0,
                audience: 0,
                delivered: 0,
                delivered_pct: None,
                tx_per_signal: 0.0,
                airtime_s_per_signal: 0.0,
                bytes_per_signal: 0.0,
                irrelevant_deliveries: 0,
            });
            let reachable: Vec<u32> = t
                .audience
                .iter()
                .copied()
                .filter(|n| comp(*n) == comp(t.origin))
                .collect();
            g.signals += 1;
            g.audience += reachable.len() as u64;
            g.delivered += reachable.iter().filter(|n| t.delivered.contains(n)).count() as u64;
            g.tx_per_signal += t.tx as f64;
            g.airtime_s_per_signal += t.airtime_us as f64 / 1e6;
            g.bytes_per_signal += t.bytes as f64;
            g.irrelevant_deliveries += t.irrelevant;
        }
        let groups = groups
            .into_values()
            .map(|mut g| {
                let n = f64::from(g.signals.max(1));
                g.tx_per_signal /= n;
                g.airtime_s_per_signal /= n;
                g.bytes_per_signal /= n;
                g.delivered_pct =
                    (g.audience > 0).then(|| 100.0 * g.delivered as f64 / g.audience as f64);
                g
            })
            .collect();
        let mut latencies: Vec<u64> = self.first_confirmation_us.values().copied().collect();
        latencies.sort();
        let queries_sent = self
            .signals
            .values()
            .filter(|t| t.ty == SignalType::Query)
            .count() as u64;
        let queries = queries_sent + self.queries_local;
        // Of the queries sent and not flooded (the baseline never routes).
        let routable = self
            .signals
            .values()
            .filter(|t| t.ty == SignalType::Query && t.mode != Mode::Flood);
        let queries_routable = routable.clone().count() as u64;
        let directed = routable.filter(|t| t.fallbacks == 0).count() as u64;
        let pct = |a: u64, b: u64| (b > 0).then(|| 100.0 * a as f64 / b as f64);
        Some(SignalSummary {
            groups,
            reconciliation_tx: self.reconciliation_tx,
            reconciliation_airtime_s: self.reconciliation_airtime_us as f64 / 1e6,
            confirmed_demands: latencies.len() as u32,
            first_confirmation_p50_s: latencies
                .get(latencies.len().saturating_sub(1) / 2)
                .map(|us| *us as f64 / 1e6),
            first_confirmation_max_s: latencies.last().map(|us| *us as f64 / 1e6),
            queries,
            queries_local_pct: (queries > 0)
                .then(|| 100.0 * self.queries_local as f64 / queries as f64),
            conflicts: self.conflicts,
            losers_told: self.losers_told,
            refused: self.refused.clone(),
            skipped: self.skipped,
            queries_directed_pct: pct(directed, queries_routable),
            bloom_fp_pct: pct(self.false_positives, self.routed_negatives),
            routed: self.routed,
            declined: self.declined,
            routed_fallback_pct: pct(self.fallbacks, self.routed),
            filter_tx: self.filter_tx,
            filter_airtime_s: self.filter_airtime_us as f64 / 1e6,
            filter_bytes_per_advert: (self.filter_tx > 0)
                .then(|| self.filter_bytes as f64 / self.filter_tx as f64),
        })
    }
}

impl SignalSummary {
    /// The group of one type and mode.
    pub fn group(&self, ty: SignalType, mode: Mode) -> Option<&SignalGroup> {
        self.groups.iter().find(|g| g.ty == ty && g.mode == mode)
    }

    /// Transmissions per urgent demand by epidemic relays ÷ per demand by
    /// plain flooding (`null` unless both ran).
    pub fn epidemic_to_flood_tx_ratio(&self) -> Option<f64> {
        let e = self.group(SignalType::Demand, Mode::Epidemic)?;
        let f = self.group(SignalType::Demand, Mode::Flood)?;
        (f.tx_per_signal > 0.0).then(|| e.tx_per_signal / f.tx_per_signal)
    }

    /// Irrelevant deliveries per demand by plain flooding ÷ per urgent
    /// demand routed by filters, in the same run (`null` unless both ran
    /// and the filtered ones had any; none at all is reported as the
    /// flooding figure over one).
    pub fn irrelevant_flood_to_filtered_factor(&self) -> Option<f64> {
        let e = self.group(SignalType::Demand, Mode::Epidemic)?;
        let f = self.group(SignalType::Demand, Mode::Flood)?;
        let per = |g: &SignalGroup| g.irrelevant_deliveries as f64 / f64::from(g.signals.max(1));
        Some(per(f) / per(e).max(1.0 / f64::from(e.signals.max(1))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_figures_count_false_positives_declines_and_adverts() {
        let mut t = SignalTracker::default();
        let at = Instant::ZERO;
        t.on_record(
            at,
            0,
            SignalRecord::Published {
                id: 7,
                ty: SignalType::Query,
                size_bytes: 130,
                urgent: true,
                flood: false,
                ttl_s: 600,
                refers: 0,
            },
        );
        let routed = |filter_match, matches, taken, fallback| SignalRecord::Routed {
            id: 7,
            filter_match,
            matches,
            taken,
            fallback,
        };
        // Four nodes the query does not concern: one false positive, one
        // carrier, two declines; one wanting node.
        for (n, r) in [
            (1, routed(true, false, false, false)),
            (2, routed(false, false, true, false)),
            (3, routed(false, false, false, false)),
            (4, routed(false, false, false, false)),
            (5, routed(true, true, true, false)),
        ] {
            t.on_record(at, n, r);
        }
        t.on_tx(node_core::wire::FILTER_SUBJECT, 500_000, 60);
        t.on_tx(node_core::wire::FILTER_SUBJECT, 300_000, 40);
        let s = t.summary(&[0; 6]).unwrap();
        assert_eq!(s.bloom_fp_pct, Some(25.0));
        assert_eq!((s.routed, s.declined), (5, 3));
        assert_eq!(s.routed_fallback_pct, Some(0.0));
        assert_eq!(s.queries_directed_pct, Some(100.0));
        assert_eq!(s.filter_tx, 2);
        assert_eq!(s.filter_bytes_per_advert, Some(50.0));
        assert!((s.filter_airtime_s - 0.8).abs() < 1e-9);
        assert_eq!(s.reconciliation_tx, 0, "adverts are not reconciliation");
        // One fallback makes the query a broadcast.
        t.on_record(at, 6, routed(false, false, true, true));
        assert_eq!(t.summary(&[0; 7]).unwrap().queries_directed_pct, Some(0.0));
    }
}
