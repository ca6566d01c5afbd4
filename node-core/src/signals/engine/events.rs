//! What the signal layer reports ([`SignalEvent`]) and what a node asks
//! of it ([`SignalSpec`], [`PublishSignalError`]).

use super::*;

/// What the signal layer tells the node (and the driver's trace).
#[derive(Clone, PartialEq, Debug)]
pub enum SignalEvent {
    /// This node published a signal.
    Published {
        /// Its id.
        id: SignalId,
        /// Its type.
        ty: SignalType,
        /// Its encoded size.
        size_bytes: u16,
        /// Whether it is urgent.
        urgent: bool,
        /// Whether it travels by plain flooding (the baseline).
        flood: bool,
        /// Its lifetime.
        ttl: Duration,
        /// The signal it refers to: a confirmation's demand, a
        /// cancellation's target (none: 0).
        refers: SignalId,
    },
    /// A new signal from the mesh was taken (delivered).
    Taken {
        /// Its id.
        id: SignalId,
        /// Its type.
        ty: SignalType,
        /// The neighbour or originator it came from.
        from: NodeId,
        /// Whether it matches this node's facility or subscriptions.
        matches: bool,
    },
    /// A signal from the air was refused.
    Refused {
        /// The neighbour or originator it came from.
        from: NodeId,
        /// Why.
        reason: RejectReason,
    },
    /// This node rebroadcast a signal.
    Relayed {
        /// Its id.
        id: SignalId,
    },
    /// Two confirmations of one demand met here.
    Conflict {
        /// Who won and who lost.
        conflict: Conflict,
        /// Whether the loser is this node's own confirmation.
        ours_lost: bool,
    },
    /// A demand or query (not flooded) was heard for the first time and
    /// routed by the filters.
    Routed {
        /// Its id.
        id: SignalId,
        /// Its type.
        ty: SignalType,
        /// Whether this node's own filter (what its neighbours see) may
        /// want it.
        filter_match: bool,
        /// Whether its full profile wants it ([`concerns`]).
        matches: bool,
        /// Whether it was taken (wanted here or behind a neighbour), else
        /// declined.
        taken: bool,
        /// Whether no neighbour filter was known (taken as a broadcast).
        fallback: bool,
    },
    /// A query was answered: from the book (no frame sent) or by a
    /// facility's reply from the mesh.
    Answered {
        /// The query (for a local answer: the query that was not sent).
        query: SignalId,
        /// Whether the answer came from the book without a broadcast.
        local: bool,
        /// Facilities known to match.
        facilities: u32,
    },
}

/// A signal this node is to publish.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignalSpec {
    /// What it says.
    pub payload: Payload,
    /// Urgent: spread by epidemic relays (and sent ahead of catch-up).
    pub urgent: bool,
    /// Lifetime (whole seconds, 1 s to 30 days).
    pub ttl: Duration,
    /// Send it by plain flooding, the measurement baseline.
    pub flood: bool,
}

/// Why a local signal could not be published.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum PublishSignalError {
    /// The signal does not encode (a field out of range, too big).
    #[error("invalid signal: {0}")]
    Invalid(#[from] SignalError),
    /// The book refused it (a quota, an expired lifetime, a cancelled id…).
    #[error("signal refused: {0:?}")]
    Refused(RejectReason),
    /// A cancellation names a signal this node does not hold.
    #[error("no signal {0} is held")]
    Unknown(SignalId),
    /// The store could not log it.
    #[error("the signal log failed: {0}")]
    Store(String),
}
