//! Reception conservation: every (transmission, receiver) pair ends in exactly one outcome.

use node_core::NodeId;

use crate::trace::{FaultRecord, InFlight, PacketKey, Record, RunInfo, TraceSink, TxId};

use super::CheckOutcome;

/// What one transmission on the air owes its receivers: bit `i` of a set
/// stands for the `i`-th node of the sender's audience (one bit per pair,
/// where a list of receivers cost eight bytes and a search).
#[derive(Clone, Debug)]
struct Owed {
    sender: NodeId,
    packet: PacketKey,
    /// The pairs owed an outcome.
    owed: Vec<u64>,
    /// The pairs that have had theirs.
    got: Vec<u64>,
    /// Where the next outcome is looked for first: the engine reports a
    /// transmission's receivers in the sender's link order, the order of
    /// the audience, so this finds them without a search.
    next: usize,
}

/// Whether bit `i` of `set` is set.
fn bit(set: &[u64], i: usize) -> bool {
    set[i / 64] >> (i % 64) & 1 == 1
}

/// Reception conservation: every (transmission, receiver) pair the physics
/// and the faults allow ends in exactly one outcome record.
///
/// A pair is *owed* an outcome when, at the transmission's `TxStart`, the
/// receiver is in the sender's audience (its signal reaches the receiver at
/// the interference floor or better: [`RunInfo::audience`]), the receiver is
/// up (not initially off, or since switched on, and not crashed — from the
/// `Crash`, `Restart` and `Join` fault records) and in the sender's group
/// under the partition in force (the `Partition` and `Member` fault
/// records). Its outcome is exactly one of: `RxOk`, `Collision`,
/// `BelowSensitivity`, `HalfDuplexMiss` with that transmission's id, or a
/// `Drop` whose reason discards a decoded frame
/// ([`DropReason::at_reception`](crate::trace::DropReason::at_reception)) at the receiver for that packet at the
/// transmission's end — or the receiver's `Crash` record while the frame is
/// on the air. Outcomes precede the transmission's `TxEnd` record.
///
/// Violations: an owed pair with no outcome at `TxEnd`, a second outcome
/// for a pair, an outcome for a pair not owed one (a receiver out of range,
/// down or cut off), and a reception drop matching no pending reception.
/// Transmissions still on the air when the run ends owe nothing yet.
///
/// The checker shares no code with the engine: it rebuilds who is up and who
/// is cut off from the fault records, and takes only the static link lists
/// from the run's description.
#[derive(Clone, Debug)]
pub struct ReceptionConservation {
    audience: Vec<Vec<u32>>,
    up: Vec<bool>,
    group: Vec<u16>,
    in_flight: InFlight<Owed>,
    /// The transmission whose outcome came last, held out of `in_flight`:
    /// the engine records a transmission's outcomes one after another just
    /// before its `TxEnd`, so all but the first find it here without a
    /// lookup. (Any order still works: another transmission's outcome puts
    /// it back.)
    current: Option<(TxId, Owed)>,
    /// Whether every node is up and in one group (no crash, switch-off or
    /// partition in force): then a transmission owes its whole audience.
    all_up_one_group: bool,
    /// Reception drops seen since the last `TxEnd`.
    reception_drops: Vec<(u32, PacketKey, u64)>,
    /// Spent bit sets, reused.
    spare: Vec<Vec<u64>>,
    pairs: u64,
    violation: Option<String>,
}

impl ReceptionConservation {
    /// The checker for a run described by `info`.
    pub fn new(info: &RunInfo) -> Self {
        let n = info.sites.len();
        let mut up = vec![true; n];
        for &i in &info.initially_off {
            if let Some(u) = up.get_mut(i as usize) {
                *u = false;
            }
        }
        assert_eq!(info.audience.len(), n, "an audience per node");
        let all_up_one_group = up.iter().all(|u| *u);
        ReceptionConservation {
            audience: info.audience.clone(),
            up,
            group: vec![0; n],
            in_flight: InFlight::new(),
            current: None,
            all_up_one_group,
            reception_drops: Vec::new(),
            spare: Vec::new(),
            pairs: 0,
            violation: None,
        }
    }

    /// The outcome: passed, or the first violation.
    pub fn outcome(&self) -> CheckOutcome {
        CheckOutcome {
            name: "reception_conservation",
            passed: self.violation.is_none(),
            detail: self.violation.clone().unwrap_or_else(|| {
                format!(
                    "{} (transmission, receiver) pairs, each with exactly one outcome; {} transmissions still on the air at the end",
                    self.pairs,
                    self.in_flight.len() + usize::from(self.current.is_some())
                )
            }),
        }
    }

    // Out of line: the hot paths stay small (a run checks tens of millions
    // of pairs and fails, if ever, once).
    #[cold]
    #[inline(never)]
    fn fail(&mut self, why: impl FnOnce() -> String) {
        if self.violation.is_none() {
            self.violation = Some(why());
        }
    }

    /// The position of `node` in the audience of `tx`'s sender, looked
    /// for at the hint first.
    #[inline(always)]
    fn position(audience: &[u32], hint: usize, node: u32) -> Option<usize> {
        match audience.get(hint) {
            Some(&r) if r == node => Some(hint),
            _ => audience.binary_search(&node).ok(),
        }
    }

    /// What `tx` owes, made the current transmission (a function of the
    /// two fields, so the audience can be read while it is held).
    #[inline]
    fn owed_mut<'a>(
        current: &'a mut Option<(TxId, Owed)>,
        in_flight: &mut InFlight<Owed>,
        tx: TxId,
    ) -> Option<&'a mut Owed> {
        if !matches!(current, Some((t, _)) if *t == tx) {
            let owed = in_flight.remove(tx)?;
            if let Some((t, previous)) = current.replace((tx, owed)) {
                in_flight.insert(t, previous);
            }
        }
        current.as_mut().map(|(_, owed)| owed)
    }

    /// Takes `tx` out of the transmissions on the air.
    fn take(&mut self, tx: TxId) -> Option<Owed> {
        match self.current.take() {
            Some((t, owed)) if t == tx => Some(owed),
            other => {
                self.current = other;
                self.in_flight.remove(tx)
            }
        }
    }

    /// Marks `(tx, node)` as having its outcome; `what` names the record.
    /// Inlined into the one pass over the records: it runs once per
    /// (transmission, receiver) pair, tens of millions of times a run, and
    /// a call cost a third of it.
    #[inline(always)]
    pub(super) fn resolve(&mut self, tx: TxId, node: NodeId, what: &'static str) {
        let Some(owed) = Self::owed_mut(&mut self.current, &mut self.in_flight, tx) else {
            return self.fail(|| format!("{what} at {node} for tx {tx}, which is not on the air"));
        };
        let audience = &self.audience[owed.sender.index()];
        let slot = Self::position(audience, owed.next, node.0)
            .map(|i| (i, i / 64, 1u64 << (i % 64)))
            .filter(|&(_, w, m)| owed.owed[w] & m != 0);
        match slot {
            Some((i, w, m)) if owed.got[w] & m == 0 => {
                owed.got[w] |= m;
                owed.next = i + 1;
            }
            Some(_) => {
                self.fail(|| format!("a second outcome ({what}) at {node} for tx {tx}"));
            }
            None => self.fail(|| {
                format!("{what} at {node} for tx {tx}, which it is not owed (out of range, down or cut off)")
            }),
        }
    }

    fn on_tx_end(&mut self, tx: TxId, at: u64) {
        let Some(mut owed) = self.take(tx) else {
            return self.fail(|| format!("tx {tx} ended without starting"));
        };
        let sender = owed.sender;
        for k in 0..self.reception_drops.len() {
            let (node, packet, drop_at) = self.reception_drops[k];
            let slot = self.audience[sender.index()]
                .binary_search(&node)
                .ok()
                .filter(|&i| bit(&owed.owed, i) && !bit(&owed.got, i));
            match slot {
                Some(i) if packet == owed.packet && drop_at == at => {
                    owed.got[i / 64] |= 1 << (i % 64);
                }
                _ => self.fail(|| {
                    format!("node {node} dropped {packet:?} on reception with no reception of it pending (tx {tx} ended)")
                }),
            }
        }
        self.reception_drops.clear();
        let missing = owed
            .owed
            .iter()
            .zip(&owed.got)
            .enumerate()
            .find(|(_, (o, g))| *o & !*g != 0)
            .map(|(w, (o, g))| w * 64 + (o & !g).trailing_zeros() as usize);
        if let Some(i) = missing {
            let r = self.audience[sender.index()][i];
            self.fail(|| {
                format!("tx {tx} from {sender}: node {r} got no outcome (lost reception)")
            });
        }
        for mut set in [owed.owed, owed.got] {
            set.clear();
            self.spare.push(set);
        }
    }
}

impl TraceSink for ReceptionConservation {
    fn observe(&mut self, batch: &[Record]) {
        for r in batch {
            self.observe_one(r);
        }
    }
}

impl ReceptionConservation {
    /// Takes one record into account.
    #[inline]
    pub(super) fn observe_one(&mut self, r: &Record) {
        match *r {
            Record::TxStart {
                node, tx, packet, ..
            } => {
                let s = node.index();
                let audience = &self.audience[s];
                let words = audience.len().div_ceil(64);
                let mut owed = self.spare.pop().unwrap_or_default();
                let mut got = self.spare.pop().unwrap_or_default();
                owed.resize(words, 0);
                got.resize(words, 0);
                if self.all_up_one_group {
                    // The common case: the whole audience, a word at a time.
                    owed.fill(u64::MAX);
                    if let Some(last) = owed.last_mut()
                        && !audience.len().is_multiple_of(64)
                    {
                        *last = (1 << (audience.len() % 64)) - 1;
                    }
                } else {
                    for (i, &b) in audience.iter().enumerate() {
                        let b = b as usize;
                        if self.up[b] && self.group[b] == self.group[s] {
                            owed[i / 64] |= 1 << (i % 64);
                        }
                    }
                }
                self.pairs += owed.iter().map(|w| u64::from(w.count_ones())).sum::<u64>();
                // A serial started again (an edited trace) replaces
                // the first, wherever it is held.
                if matches!(self.current, Some((t, _)) if t == tx) {
                    self.current = None;
                }
                self.in_flight.insert(
                    tx,
                    Owed {
                        sender: node,
                        packet,
                        owed,
                        got,
                        next: 0,
                    },
                );
            }
            Record::RxOk { node, tx, .. } => self.resolve(tx, node, "a reception"),
            Record::Collision { node, tx, .. } => self.resolve(tx, node, "a collision"),
            Record::BelowSensitivity { node, tx, .. } => {
                self.resolve(tx, node, "a below-sensitivity record");
            }
            Record::HalfDuplexMiss { node, tx, .. } => {
                self.resolve(tx, node, "a half-duplex miss");
            }
            Record::Drop {
                at,
                node,
                packet,
                reason,
            } if reason.at_reception() => {
                self.reception_drops.push((node.0, packet, at.as_micros()));
            }
            Record::TxEnd { at, tx, .. } => self.on_tx_end(tx, at.as_micros()),
            Record::Fault { fault, .. } => {
                match fault {
                    FaultRecord::Crash { node } => {
                        let i = node.index();
                        if self.up[i] {
                            self.up[i] = false;
                            // Whatever it was receiving ends with the crash.
                            let current = self.current.as_mut().map(|(_, owed)| owed);
                            for owed in self.in_flight.values_mut().chain(current) {
                                if let Ok(k) =
                                    self.audience[owed.sender.index()].binary_search(&node.0)
                                    && bit(&owed.owed, k)
                                {
                                    owed.got[k / 64] |= 1 << (k % 64);
                                }
                            }
                        }
                    }
                    FaultRecord::Restart { node } | FaultRecord::Join { node } => {
                        self.up[node.index()] = true;
                    }
                    FaultRecord::Partition { .. } | FaultRecord::Heal => self.group.fill(0),
                    FaultRecord::Member { node, group } => self.group[node.index()] = group,
                    FaultRecord::LossStart { .. }
                    | FaultRecord::LossEnd { .. }
                    | FaultRecord::Adversary { .. } => {}
                }
                self.all_up_one_group =
                    self.up.iter().all(|u| *u) && self.group.iter().all(|g| *g == 0);
            }
            _ => {}
        }
    }
}
