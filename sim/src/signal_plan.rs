//! The signal workload of a run: which nodes are facilities with which
//! capabilities, the signal settings every node runs, and the demands,
//! confirmations and queries made at given times and nodes.

use node_core::signals::{SignalConfig, Tag};
use node_core::{Duration, ItemId};

/// Everything about supply and demand signals in a run.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct SignalPlan {
    /// The signal settings of every node (capabilities come from
    /// `facilities`).
    pub config: SignalConfig,
    /// Facilities: `(node, capabilities)`, in node order, one per node.
    pub facilities: Vec<(u32, Vec<Tag>)>,
    /// What happens, in time order.
    pub actions: Vec<SignalAction>,
}

impl SignalPlan {
    /// The settings node `i` runs with.
    pub fn config_of(&self, i: u32) -> SignalConfig {
        let mut c = self.config.clone();
        if let Ok(k) = self.facilities.binary_search_by_key(&i, |(n, _)| *n) {
            c.capabilities = self.facilities[k].1.clone();
        }
        c
    }
}

/// One action of the workload.
#[derive(Clone, PartialEq, Debug)]
pub struct SignalAction {
    /// When, from the start of the run.
    pub at: Duration,
    /// Which node acts (a node that is down skips it; the skip is in the
    /// trace).
    pub node: u32,
    /// What it does.
    pub what: SignalWhat,
}

/// What a node does.
#[derive(Clone, PartialEq, Debug)]
pub enum SignalWhat {
    /// A facility announces its capabilities (long-lived).
    Announce {
        /// Lifetime.
        ttl: Duration,
    },
    /// A demand: a design wanted by a deadline, gossiped until then.
    Demand {
        /// The design.
        design: ItemId,
        /// How many.
        quantity: u32,
        /// From the action's time to the deadline (also the lifetime).
        deadline_after: Duration,
        /// What making it takes.
        tags: Vec<Tag>,
        /// Urgent: epidemic relays.
        urgent: bool,
        /// Plain flooding, the baseline.
        flood: bool,
    },
    /// A facility confirms an earlier demand action (by index), if it
    /// holds that demand by then.
    Confirm {
        /// Index of the demand's action in [`SignalPlan::actions`].
        demand: usize,
        /// How many it makes.
        quantity: u32,
    },
    /// Who can meet this requirement set?
    Query {
        /// Tags needed.
        need: Vec<Tag>,
        /// Lifetime.
        ttl: Duration,
        /// Sent by plain flooding (the baseline): never answered from the
        /// book, never routed by filters.
        flood: bool,
    },
}
