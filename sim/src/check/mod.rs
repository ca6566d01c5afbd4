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
//!
//! Each checker has a file of its own: `trust.rs` ([`TrustCheck`]),
//! `duty.rs` ([`DutyCycleMeter`]) and `conservation.rs`
//! ([`ReceptionConservation`]); [`Checks`] runs them all with the
//! half-duplex and hop-limit checks.

mod conservation;
mod duty;
mod trust;

pub use conservation::ReceptionConservation;
pub use duty::DutyCycleMeter;
pub use trust::TrustCheck;

use std::collections::{BTreeMap, VecDeque};

use node_core::Duration;
use serde::Serialize;

use crate::trace::{InFlight, PacketKey, Record, RunInfo, TraceSink};

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
                        format!("{node} started tx {tx} while its previous frame was on the air")
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
                    self.hop_violation.get_or_insert_with(|| {
                        format!(
                            "{node} received {packet:?} {hops_away} hops away, beyond its hop limit"
                        )
                    });
                }
            }
            Record::TxEnd { tx, .. } => {
                self.in_flight.remove(tx);
            }
            _ => {}
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

#[cfg(test)]
mod tests {
    use crate::trace::TxId;
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
