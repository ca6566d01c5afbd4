//! The trust checker: forged, replayed and adversary versions stored on honest nodes.

use std::collections::BTreeMap;

use node_core::NodeId;

use crate::trace::{FaultRecord, NodeRecord, Record, TraceSink};

use super::CheckOutcome;

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
    pub(super) fn observe_one(&mut self, r: &Record) {
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
