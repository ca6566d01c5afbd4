//! Invariant checkers. They only observe the trace — they cannot change a
//! run — and each reports pass or fail with the first violation it saw.
//!
//! * duty cycle: no node transmits more than the regional share in any
//!   window of the regulatory length (the maximum over all windows is
//!   attained by a window that ends at the end of some transmission, so
//!   checking those windows is exact);
//! * half duplex: no node decodes a frame that overlapped one of its own
//!   transmissions;
//! * hop limit: relays only ever decrement the hop limit, and nothing is
//!   delivered farther than its originator allowed.

use std::collections::{BTreeMap, VecDeque};

use node_core::Duration;
use serde::Serialize;

use crate::trace::{PacketKey, Record, TraceSink, TxId};

/// The result of one checker.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct CheckOutcome {
    /// The invariant.
    pub name: &'static str,
    /// Whether it held throughout the run.
    pub passed: bool,
    /// What was checked, or the first violation.
    pub detail: String,
}

/// Measures each node's largest transmit share over any window of a given
/// length (exact, from TxStart records).
#[derive(Clone, Debug)]
pub struct DutyCycleMeter {
    window_us: u64,
    recent: Vec<VecDeque<(u64, u64)>>,
    max_us: Vec<u64>,
}

impl DutyCycleMeter {
    /// A meter for `nodes` nodes and the given window.
    pub fn new(nodes: usize, window: Duration) -> Self {
        DutyCycleMeter {
            window_us: window.as_micros().max(1),
            recent: vec![VecDeque::new(); nodes],
            max_us: vec![0; nodes],
        }
    }

    /// A node's largest transmit share of any window, percent.
    pub fn max_pct(&self, node: usize) -> f64 {
        self.max_us[node] as f64 * 100.0 / self.window_us as f64
    }

    /// The largest share of any node, and which node.
    pub fn overall_max_pct(&self) -> (f64, usize) {
        let (node, us) = self
            .max_us
            .iter()
            .enumerate()
            .max_by_key(|(i, us)| (**us, std::cmp::Reverse(*i)))
            .map_or((0, 0), |(i, us)| (i, *us));
        (us as f64 * 100.0 / self.window_us as f64, node)
    }

    fn on_tx(&mut self, node: usize, start: u64, end: u64) {
        let from = end.saturating_sub(self.window_us);
        let q = &mut self.recent[node];
        while q.front().is_some_and(|(_, e)| *e <= from) {
            q.pop_front();
        }
        q.push_back((start, end));
        let used: u64 = q.iter().map(|(s, e)| e - (*s).max(from)).sum();
        self.max_us[node] = self.max_us[node].max(used);
    }
}

impl TraceSink for DutyCycleMeter {
    fn observe(&mut self, batch: &[Record]) {
        for r in batch {
            if let Record::TxStart { at, node, end, .. } = *r {
                self.on_tx(node.index(), at.as_micros(), end.as_micros());
            }
        }
    }
}

/// Transmissions of a node remembered for the half-duplex check.
const HALF_DUPLEX_HISTORY: usize = 8;

/// All invariant checkers of a run.
#[derive(Clone, Debug)]
pub struct Checks {
    duty: DutyCycleMeter,
    duty_limit_pct: f64,
    own_txs: Vec<VecDeque<(u64, u64)>>,
    in_flight: BTreeMap<TxId, (u64, u64)>,
    half_duplex_violation: Option<String>,
    hop_start: BTreeMap<PacketKey, u8>,
    hop_violation: Option<String>,
    checked_receptions: u64,
    checked_relays: u64,
}

impl Checks {
    /// Checkers for `nodes` nodes under a duty-cycle limit.
    pub fn new(nodes: usize, duty_limit_pct: f64, duty_window: Duration) -> Self {
        Checks {
            duty: DutyCycleMeter::new(nodes, duty_window),
            duty_limit_pct,
            own_txs: vec![VecDeque::new(); nodes],
            in_flight: BTreeMap::new(),
            half_duplex_violation: None,
            hop_start: BTreeMap::new(),
            hop_violation: None,
            checked_receptions: 0,
            checked_relays: 0,
        }
    }

    /// The duty-cycle measurements (reports reuse them rather than measure twice).
    pub fn duty_meter(&self) -> &DutyCycleMeter {
        &self.duty
    }

    /// The outcome of every checker.
    pub fn outcomes(&self) -> Vec<CheckOutcome> {
        let (max, node) = self.duty.overall_max_pct();
        vec![
            CheckOutcome {
                name: "duty_cycle",
                passed: max <= self.duty_limit_pct,
                detail: format!(
                    "largest share of any window: {max:.3} % (node {node}), limit {} %",
                    self.duty_limit_pct
                ),
            },
            CheckOutcome {
                name: "half_duplex",
                passed: self.half_duplex_violation.is_none(),
                detail: self.half_duplex_violation.clone().unwrap_or_else(|| {
                    format!(
                        "{} receptions, none overlapping the receiver's own transmission",
                        self.checked_receptions
                    )
                }),
            },
            CheckOutcome {
                name: "hop_limit",
                passed: self.hop_violation.is_none(),
                detail: self.hop_violation.clone().unwrap_or_else(|| {
                    format!(
                        "{} relays and {} receptions within their hop limits",
                        self.checked_relays, self.checked_receptions
                    )
                }),
            },
        ]
    }
}

impl TraceSink for Checks {
    fn observe(&mut self, batch: &[Record]) {
        self.duty.observe(batch);
        for r in batch {
            match *r {
                Record::Originate {
                    packet, hop_limit, ..
                } => {
                    self.hop_start.insert(packet, hop_limit);
                }
                Record::TxStart {
                    at,
                    node,
                    tx,
                    packet,
                    hop_limit,
                    relay,
                    end,
                    ..
                } => {
                    let (s, e) = (at.as_micros(), end.as_micros());
                    self.in_flight.insert(tx, (s, e));
                    let own = &mut self.own_txs[node.index()];
                    if own.len() == HALF_DUPLEX_HISTORY {
                        own.pop_front();
                    }
                    own.push_back((s, e));
                    if relay {
                        self.checked_relays += 1;
                        match self.hop_start.get(&packet) {
                            Some(start) if hop_limit < *start => {}
                            found => {
                                self.hop_violation.get_or_insert_with(|| {
                                    format!("{node} relayed {packet:?} with hop limit {hop_limit} (originated with {found:?})")
                                });
                            }
                        }
                    }
                }
                Record::RxOk {
                    node,
                    tx,
                    packet,
                    hops_away,
                    ..
                } => {
                    self.checked_receptions += 1;
                    if let Some((s, e)) = self.in_flight.get(&tx)
                        && self.own_txs[node.index()]
                            .iter()
                            .any(|(os, oe)| os < e && s < oe)
                    {
                        self.half_duplex_violation.get_or_insert_with(|| {
                            format!("{node} decoded tx {tx} while transmitting")
                        });
                    }
                    if self
                        .hop_start
                        .get(&packet)
                        .is_some_and(|start| hops_away > *start)
                    {
                        self.hop_violation.get_or_insert_with(|| format!("{node} received {packet:?} {hops_away} hops away, beyond its hop limit"));
                    }
                }
                Record::TxEnd { tx, .. } => {
                    self.in_flight.remove(&tx);
                }
                _ => {}
            }
        }
    }
}
