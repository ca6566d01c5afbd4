//! Invariant checkers. They only observe the trace — they cannot change a
//! run — and each reports pass or fail with the first violation it saw.
//!
//! * duty cycle: no node transmits more than the regional share in any
//!   window of the regulatory length (the maximum over all windows is
//!   attained by a window that ends at the end of some transmission, so
//!   checking those windows is exact);
//! * half duplex: no node decodes a frame that overlapped one of its own
//!   transmissions;
//! * hop limit: relays only ever decrement the hop limit, nothing is
//!   delivered farther than its originator allowed, and (for a run's
//!   checks, [`Checks::for_run`]) no packet is relayed later than a
//!   flood's lifetime after its origination ([`RunInfo::flood_lifetime`]);
//! * reception conservation ([`ReceptionConservation`]): every
//!   (transmission, receiver in range, up and not cut off) pair ends in
//!   exactly one outcome record — no reception is lost without a trace;
//! * trust ([`TrustCheck`]): no honest node stores a forged or tampered
//!   version (one no node published) or a replayed one (older than a
//!   version of the same item it held before), and how much of what
//!   adversaries published each honest node stored.

use std::collections::{BTreeMap, VecDeque};

use node_core::Duration;
use serde::Serialize;

use node_core::NodeId;

use crate::trace::{
    FaultRecord, InFlight, NodeRecord, PacketKey, Record, RunInfo, TraceSink, TxId,
};

/// Observes who published and stored what, and counts on honest nodes the
/// versions no publisher made (forged or tampered), the versions older
/// than one the node already held (replayed), and the items published by
/// adversary nodes (junk) each one stored.
#[derive(Clone, Debug, Default)]
pub struct TrustCheck {
    /// Versions some node published: (item, element).
    published: std::collections::BTreeSet<(node_core::ItemId, u64)>,
    /// Items adversary nodes published.
    junk: std::collections::BTreeSet<node_core::ItemId>,
    adversaries: std::collections::BTreeSet<NodeId>,
    /// The highest seq each node has held of each item.
    highest: BTreeMap<(NodeId, node_core::ItemId), u32>,
    /// Junk items stored per honest node.
    junk_stored: BTreeMap<NodeId, u64>,
    forged: u64,
    replayed: u64,
    first_violation: Option<String>,
}

impl TrustCheck {
    /// Forged or tampered versions stored on honest nodes.
    pub fn forged(&self) -> u64 {
        self.forged
    }

    /// Replayed (older) versions stored on honest nodes.
    pub fn replayed(&self) -> u64 {
        self.replayed
    }

    /// The most junk items (published by adversaries) any honest node
    /// stored, and which node.
    pub fn max_junk_stored(&self) -> (u64, Option<NodeId>) {
        self.junk_stored
            .iter()
            .max_by_key(|(n, c)| (**c, std::cmp::Reverse(**n)))
            .map_or((0, None), |(n, c)| (*c, Some(*n)))
    }

    /// Whether `node` turned adversary.
    pub fn is_adversary(&self, node: NodeId) -> bool {
        self.adversaries.contains(&node)
    }

    /// The checker's outcome.
    pub fn outcome(&self) -> CheckOutcome {
        let (junk, node) = self.max_junk_stored();
        CheckOutcome {
            name: "trust",
            passed: self.forged == 0 && self.replayed == 0,
            detail: self.first_violation.clone().unwrap_or_else(|| {
                format!(
                    "no forged or replayed version stored on an honest node; most adversary items one honest node stored: {junk}{}",
                    node.map_or(String::new(), |n| format!(" ({n})"))
                )
            }),
        }
    }
}

impl TraceSink for TrustCheck {
    fn observe(&mut self, batch: &[Record]) {
        for r in batch {
            self.observe_one(r);
        }
    }
}

impl TrustCheck {
    /// Takes one record into account (only fault and node records matter).
    #[inline]
    fn observe_one(&mut self, r: &Record) {
        {
            match *r {
                Record::Fault {
                    fault: FaultRecord::Adversary { node },
                    ..
                } => {
                    self.adversaries.insert(node);
                }
                Record::Node {
                    node,
                    event:
                        NodeRecord::Published {
                            item, seq, element, ..
                        },
                    ..
                } => {
                    self.published.insert((item, element));
                    if self.adversaries.contains(&node) {
                        self.junk.insert(item);
                    }
                    let h = self.highest.entry((node, item)).or_insert(0);
                    *h = (*h).max(seq);
                }
                Record::Node {
                    at,
                    node,
                    event: NodeRecord::Stored { item, seq, element },
                } => {
                    if self.adversaries.contains(&node) {
                        return;
                    }
                    let h = self.highest.entry((node, item)).or_insert(0);
                    let (forged, replayed) = (!self.published.contains(&(item, element)), seq < *h);
                    *h = (*h).max(seq);
                    if forged {
                        self.forged += 1;
                    }
                    if replayed {
                        self.replayed += 1;
                    }
                    if (forged || replayed) && self.first_violation.is_none() {
                        self.first_violation = Some(format!(
                            "{node} stored {} version {seq} of {item} at {at}",
                            if forged { "a forged" } else { "an older" }
                        ));
                    }
                    if self.junk.contains(&item) {
                        *self.junk_stored.entry(node).or_insert(0) += 1;
                    }
                }
                _ => {}
            }
        }
    }
}

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
    recent: Vec<OwnTxs>,
    max_us: Vec<u64>,
}

/// A node's transmissions that may still fall in a window.
#[derive(Clone, Debug, Default)]
struct OwnTxs {
    /// (start, end) µs, in the order of their records.
    txs: VecDeque<(u64, u64)>,
    /// Σ (end − start) over `txs`, µs.
    total_us: u64,
    /// Whether every transmission started no earlier than the one before
    /// (always, in a trace the engine wrote).
    in_order: bool,
}

impl DutyCycleMeter {
    /// A meter for `nodes` nodes and the given window.
    pub fn new(nodes: usize, window: Duration) -> Self {
        DutyCycleMeter {
            window_us: window.as_micros().max(1),
            recent: vec![
                OwnTxs {
                    in_order: true,
                    ..OwnTxs::default()
                };
                nodes
            ],
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
        let own = &mut self.recent[node];
        while let Some(&(s, e)) = own.txs.front() {
            if e > from {
                break;
            }
            own.txs.pop_front();
            own.total_us -= e - s;
        }
        own.in_order &= own.txs.back().is_none_or(|&(s, _)| s <= start);
        own.txs.push_back((start, end));
        own.total_us += end - start;
        // The window (from, end]: Σ (e − max(s, from)). In order of start,
        // only the first few started before `from`, so the sum is the
        // total less their parts outside (a node transmits for hours: the
        // full sum cost one step per transmission of the window).
        let used: u64 = if own.in_order {
            let outside: u64 = own
                .txs
                .iter()
                .take_while(|(s, _)| *s < from)
                .map(|(s, _)| from - s)
                .sum();
            own.total_us - outside
        } else {
            own.txs.iter().map(|(s, e)| e - (*s).max(from)).sum()
        };
        self.max_us[node] = self.max_us[node].max(used);
    }
}

impl TraceSink for DutyCycleMeter {
    fn observe(&mut self, batch: &[Record]) {
        for r in batch {
            self.observe_one(r);
        }
    }
}

impl DutyCycleMeter {
    /// Takes one record into account (only `TxStart` matters).
    #[inline]
    fn observe_one(&mut self, r: &Record) {
        if let Record::TxStart { at, node, end, .. } = *r {
            self.on_tx(node.index(), at.as_micros(), end.as_micros());
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
    in_flight: InFlight<(u64, u64)>,
    half_duplex_violation: Option<String>,
    hop_start: HopStarts,
    hop_violation: Option<String>,
    checked_receptions: u64,
    checked_relays: u64,
    conservation: Option<ReceptionConservation>,
    trust: TrustCheck,
}

impl Checks {
    /// Checkers for `nodes` nodes under a duty-cycle limit.
    pub fn new(nodes: usize, duty_limit_pct: f64, duty_window: Duration) -> Self {
        Checks {
            duty: DutyCycleMeter::new(nodes, duty_window),
            duty_limit_pct,
            own_txs: vec![VecDeque::new(); nodes],
            in_flight: InFlight::new(),
            half_duplex_violation: None,
            hop_start: HopStarts::new(None),
            hop_violation: None,
            checked_receptions: 0,
            checked_relays: 0,
            conservation: None,
            trust: TrustCheck::default(),
        }
    }

    /// Every checker for the run described by `info`: those of
    /// [`Checks::new`] and reception conservation.
    pub fn for_run(info: &RunInfo) -> Self {
        Checks {
            conservation: Some(ReceptionConservation::new(info)),
            hop_start: HopStarts::new(Some(info.flood_lifetime)),
            ..Checks::new(
                info.sites.len(),
                info.radio.duty_cycle_limit_pct,
                info.radio.duty_cycle_window,
            )
        }
    }

    /// The duty-cycle measurements (reports reuse them rather than measure twice).
    pub fn duty_meter(&self) -> &DutyCycleMeter {
        &self.duty
    }

    /// The outcome of every checker.
    pub fn outcomes(&self) -> Vec<CheckOutcome> {
        let (max, node) = self.duty.overall_max_pct();
        let mut outcomes = vec![
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
        ];
        outcomes.extend(
            self.conservation
                .as_ref()
                .map(ReceptionConservation::outcome),
        );
        outcomes.push(self.trust.outcome());
        outcomes
    }

    /// The trust checker (forged, replayed and junk versions stored).
    pub fn trust(&self) -> &TrustCheck {
        &self.trust
    }
}

impl TraceSink for Checks {
    /// One pass over the batch for every checker: a 1,000-node hour is
    /// sixteen million records, nearly all of them reception outcomes that
    /// only the conservation check reads, and four passes paid the
    /// dispatch four times.
    fn observe(&mut self, batch: &[Record]) {
        for r in batch {
            match *r {
                Record::BelowSensitivity { node, tx, .. } => {
                    if let Some(c) = &mut self.conservation {
                        c.resolve(tx, node, "a below-sensitivity record");
                    }
                }
                Record::Collision { node, tx, .. } => {
                    if let Some(c) = &mut self.conservation {
                        c.resolve(tx, node, "a collision");
                    }
                }
                _ => self.observe_rest(r),
            }
        }
    }
}

impl Checks {
    /// Every record but the two commonest outcomes: each checker that
    /// reads it.
    fn observe_rest(&mut self, r: &Record) {
        self.duty.observe_one(r);
        self.trust.observe_one(r);
        if let Some(c) = &mut self.conservation {
            c.observe_one(r);
        }
        {
            match *r {
                Record::Originate {
                    at,
                    packet,
                    hop_limit,
                    ..
                } => {
                    self.hop_start.insert(at.as_micros(), packet, hop_limit);
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
                    if let Some(&(_, previous_end)) = own.back()
                        && s < previous_end
                    {
                        self.half_duplex_violation.get_or_insert_with(|| {
                            format!(
                                "{node} started tx {tx} while its previous frame was on the air"
                            )
                        });
                    }
                    if own.len() == HALF_DUPLEX_HISTORY {
                        own.pop_front();
                    }
                    own.push_back((s, e));
                    self.hop_start.expire(s);
                    if relay {
                        self.checked_relays += 1;
                        match self.hop_start.get(packet) {
                            Some(start) if hop_limit < start => {}
                            Some(start) => {
                                self.hop_violation.get_or_insert_with(|| {
                                    format!("{node} relayed {packet:?} with hop limit {hop_limit} (originated with {start})")
                                });
                            }
                            None => {
                                self.hop_violation.get_or_insert_with(|| {
                                    format!("{node} relayed {packet:?}, never originated, or longer than a flood's lifetime before")
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
                    // A node's own transmissions never overlap each other
                    // (checked at `TxStart`), so newest first, the search
                    // stops at the first that ended before the frame began.
                    if let Some(&(s, e)) = self.in_flight.get(tx)
                        && self.own_txs[node.index()]
                            .iter()
                            .rev()
                            .take_while(|(_, oe)| s < *oe)
                            .any(|(os, _)| *os < e)
                    {
                        self.half_duplex_violation.get_or_insert_with(|| {
                            format!("{node} decoded tx {tx} while transmitting")
                        });
                    }
                    if self
                        .hop_start
                        .get(packet)
                        .is_some_and(|start| hops_away > start)
                    {
                        self.hop_violation.get_or_insert_with(|| format!("{node} received {packet:?} {hops_away} hops away, beyond its hop limit"));
                    }
                }
                Record::TxEnd { tx, .. } => {
                    self.in_flight.remove(tx);
                }
                _ => {}
            }
        }
    }
}

/// The hop limit each packet was originated with, for the hop-limit check,
/// kept while the packet can still be on the air: for the flood's lifetime
/// after its origination ([`RunInfo::flood_lifetime`]), after which any
/// relay of it would itself break the queueing rules. A run of a million
/// packets held every one of them to the end before; the window holds only
/// those of the last lifetime (all of them without one, as for a trace
/// checked with [`Checks::new`]).
#[derive(Clone, Debug)]
struct HopStarts {
    lifetime_us: Option<u64>,
    /// Hop start and the time of the origination that set it, µs.
    by_packet: BTreeMap<PacketKey, (u8, u64)>,
    /// Originations in the order they came, to expire the oldest.
    order: VecDeque<(u64, PacketKey)>,
}

impl HopStarts {
    fn new(lifetime: Option<Duration>) -> Self {
        HopStarts {
            lifetime_us: lifetime.map(Duration::as_micros),
            by_packet: BTreeMap::new(),
            order: VecDeque::new(),
        }
    }

    /// `packet` was originated at `at_us` with `hop_limit` (a second
    /// origination of the same key replaces the first).
    fn insert(&mut self, at_us: u64, packet: PacketKey, hop_limit: u8) {
        self.by_packet.insert(packet, (hop_limit, at_us));
        if self.lifetime_us.is_some() {
            self.order.push_back((at_us, packet));
        }
    }

    /// Forgets the packets originated more than a lifetime before `now_us`.
    fn expire(&mut self, now_us: u64) {
        let Some(lifetime) = self.lifetime_us else {
            return;
        };
        while let Some(&(at, packet)) = self.order.front() {
            if at.saturating_add(lifetime) >= now_us {
                break;
            }
            self.order.pop_front();
            // Unless a later origination of the same key replaced it.
            if self
                .by_packet
                .get(&packet)
                .is_some_and(|&(_, set)| set == at)
            {
                self.by_packet.remove(&packet);
            }
        }
    }

    /// The hop limit `packet` was originated with, if it is remembered.
    fn get(&self, packet: PacketKey) -> Option<u8> {
        self.by_packet.get(&packet).map(|&(hop_start, _)| hop_start)
    }

    /// Packets remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_packet.len()
    }
}

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
/// ([`DropReason::at_reception`]) at the receiver for that packet at the
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
    fn resolve(&mut self, tx: TxId, node: NodeId, what: &'static str) {
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
    fn observe_one(&mut self, r: &Record) {
        {
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
}

#[cfg(test)]
mod tests {
    use node_core::wire::FrameClass;
    use node_core::{Instant, NodeId};

    use super::*;

    fn key(id: u32) -> PacketKey {
        PacketKey {
            origin: NodeId(0),
            id,
        }
    }

    fn originate(at_s: u64, packet: PacketKey, hop_limit: u8) -> Record {
        Record::Originate {
            at: Instant::from_micros(at_s * 1_000_000),
            node: packet.origin,
            packet,
            payload_bytes: 33,
            hop_limit,
            class: FrameClass::Chat,
        }
    }

    /// Node 1 relays `packet` with `hop_limit` from `at_s` for a second.
    fn relay(at_s: u64, tx: TxId, packet: PacketKey, hop_limit: u8) -> [Record; 2] {
        let at = Instant::from_micros(at_s * 1_000_000);
        let end = Instant::from_micros(at_s * 1_000_000 + 1_000_000);
        [
            Record::TxStart {
                at,
                node: NodeId(1),
                tx,
                packet,
                hop_limit,
                relay: true,
                bytes_on_air: 56,
                end,
                class: FrameClass::Chat,
                subject: 0,
            },
            Record::TxEnd {
                at: end,
                node: NodeId(1),
                tx,
            },
        ]
    }

    /// Checks with a flood lifetime of `lifetime_s` seconds.
    fn checks(lifetime_s: u64) -> Checks {
        Checks {
            hop_start: HopStarts::new(Some(Duration::from_secs(lifetime_s))),
            ..Checks::new(2, 10.0, Duration::from_secs(3600))
        }
    }

    fn hop_limit_passed(c: &Checks) -> bool {
        c.outcomes()
            .iter()
            .find(|o| o.name == "hop_limit")
            .expect("a hop-limit outcome")
            .passed
    }

    #[test]
    fn the_hop_starts_held_are_those_of_the_last_flood_lifetime() {
        let mut c = checks(100);
        // A packet a second for an hour, each relayed 50 s later.
        for k in 0..3_600u32 {
            let t = u64::from(k);
            c.observe(&[originate(t, key(k), 3)]);
            if k >= 50 {
                c.observe(&relay(t, u64::from(k), key(k - 50), 2));
            }
        }
        assert!(hop_limit_passed(&c), "{:?}", c.outcomes());
        assert!(
            c.hop_start.len() <= 102,
            "{} packets held",
            c.hop_start.len()
        );
        // A relay more than a lifetime after the origination is a violation.
        c.observe(&relay(3_700, 9_000, key(3_500), 2));
        assert!(!hop_limit_passed(&c));
        // Without a lifetime, every packet is held.
        let mut all = Checks::new(2, 10.0, Duration::from_secs(3600));
        for k in 0..500u32 {
            all.observe(&[originate(u64::from(k), key(k), 3)]);
        }
        all.observe(&relay(10_000, 1, key(0), 2));
        assert!(hop_limit_passed(&all));
        assert_eq!(all.hop_start.len(), 500);
    }

    #[test]
    fn a_packet_originated_again_keeps_its_later_hop_start() {
        let mut c = checks(100);
        c.observe(&[originate(0, key(1), 3), originate(90, key(1), 5)]);
        // The first origination expires; the second, with its hop start,
        // stays for its own lifetime.
        c.observe(&relay(150, 1, key(1), 4));
        assert!(hop_limit_passed(&c), "{:?}", c.outcomes());
        assert_eq!(c.hop_start.get(key(1)), Some(5));
        c.observe(&relay(170, 2, key(1), 5));
        assert!(!hop_limit_passed(&c), "a relay must lower the hop limit");
    }
}
