//! The trace: one stream of typed records, everything the simulation did.
//!
//! The engine only emits records; checkers and metrics only observe them
//! (through [`TraceSink`]), so what is measured is exactly what happened.
//! Records are delivered in batches; a run of a thousand nodes produces
//! hundreds of millions of them, so nothing here stores the whole stream
//! unless asked to.

use node_core::ItemId;
use node_core::signals::{RejectReason, SignalType};
use node_core::wire::FrameClass;
use node_core::{Duration, Instant, NodeId};
use serde::Serialize;

mod hash;
pub mod in_flight;

pub use crate::check::CheckOutcome;
pub use crate::topology::{Site, TopologyStats};
pub use hash::{TRACE_FORMAT_VERSION, TraceHasher};
pub use in_flight::InFlight;

/// What a run was, for the reports: everything they need besides the
/// records themselves.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct RunInfo {
    /// Scenario name.
    pub scenario: String,
    /// Root seed.
    pub seed: u64,
    /// Simulated time.
    pub sim_time: Duration,
    /// Node sites, by node id.
    pub sites: Vec<Site>,
    /// Mesh-graph degree of each node.
    pub degrees: Vec<u32>,
    /// Connectivity statistics.
    pub topology: TopologyStats,
    /// For each node, how many other nodes its traffic can reach within the
    /// traffic's hop limit over the mesh graph (hop limit + 1 links), at
    /// the start of the run.
    pub within_hop_limit: Vec<u32>,
    /// The radio, in brief.
    pub radio: RadioSummary,
    /// Component of the mesh graph each node belongs to.
    pub components: Vec<u32>,
    /// Size of a greedy connected dominating set of the largest component.
    pub cds_size: u32,
    /// Nodes switched off at the start (they join later).
    pub initially_off: Vec<u32>,
    /// Items the workload publishes (new versions included).
    pub scheduled_publications: u32,
    /// For each node, the nodes its transmissions reach at the interference
    /// floor or better, sorted (the reception-conservation checker owes each
    /// of them an outcome per transmission). Not serialised.
    #[serde(skip)]
    pub audience: Vec<Vec<u32>>,
    /// The longest after its origination that a packet can still be on the
    /// air: at most hop limit + 1 transmissions, each after at most
    /// `mesh.max_queue_delay` in a queue, each at most a largest frame's
    /// airtime (the hop-limit checker forgets packets older than this).
    /// Not serialised.
    #[serde(skip)]
    pub flood_lifetime: Duration,
    /// The sync strategy (`reconcile`, `flood`, `off`).
    pub sync_strategy: String,
    /// Trickle's largest interval.
    pub sync_imax: Duration,
}

/// The radio configuration in brief.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct RadioSummary {
    /// Region name.
    pub region: String,
    /// Preset name, or `custom`.
    pub preset: String,
    /// Spreading factor.
    pub sf: u8,
    /// Bandwidth, kHz.
    pub bandwidth_khz: f64,
    /// Coding rate as 4/x.
    pub coding_rate: String,
    /// Centre frequency, MHz.
    pub frequency_mhz: f64,
    /// Transmit power, dBm.
    pub tx_power_dbm: f64,
    /// Receiver sensitivity, dBm.
    pub sensitivity_dbm: f64,
    /// Path-loss model name.
    pub path_loss: String,
    /// Duty-cycle limit, percent.
    pub duty_cycle_limit_pct: f64,
    /// Duty-cycle window.
    pub duty_cycle_window: Duration,
    /// Airtime of one background-traffic frame, ms (0 without traffic).
    pub traffic_frame_airtime_ms: f64,
}

/// A packet's identity on the mesh: its originator and the originator's id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize)]
pub struct PacketKey {
    /// The node that originated it.
    pub origin: NodeId,
    /// The originator's packet counter.
    pub id: u32,
}

/// A transmission's serial number, unique within a run.
pub type TxId = u64;

/// Why a frame was dropped.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The transmit queue was full.
    QueueFull,
    /// The frame waited longer than `mesh.max_queue_delay`.
    Stale,
    /// The duty-cycle budget would not allow it within `mesh.max_queue_delay`.
    DutyCycle,
    /// A queued relay was cancelled because another relay was overheard.
    RelayCancelled,
    /// Injected loss (a `loss` fault) discarded a decoded frame.
    InjectedLoss,
    /// The node crashed with the frame in its queue.
    NodeDown,
}

impl DropReason {
    /// Every reason, in a fixed order (for tables).
    pub const ALL: [DropReason; 6] = [
        DropReason::QueueFull,
        DropReason::Stale,
        DropReason::DutyCycle,
        DropReason::RelayCancelled,
        DropReason::InjectedLoss,
        DropReason::NodeDown,
    ];

    /// Whether the reason discards a frame a receiver has just decoded (so
    /// the drop is that reception's outcome), rather than a frame waiting in
    /// a transmit queue.
    pub fn at_reception(self) -> bool {
        matches!(self, DropReason::InjectedLoss)
    }

    /// The name used in CSV files.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::Stale => "stale",
            DropReason::DutyCycle => "duty_cycle",
            DropReason::RelayCancelled => "relay_cancelled",
            DropReason::InjectedLoss => "injected_loss",
            DropReason::NodeDown => "node_down",
        }
    }
}

/// Something the node-core state machine reported.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum NodeRecord {
    /// The radio refused a frame.
    SendFailed,
    /// An undecodable frame was dropped.
    FrameRejected,
    /// An item transfer failed verification and was dropped.
    ItemRejected,
    /// The node published a new version of a catalogue item.
    Published {
        /// The item.
        item: ItemId,
        /// Its version number.
        seq: u32,
        /// The version's sync element id (data frames carry it as their subject).
        element: u64,
        /// Size of the item's bytes.
        size_bytes: u32,
        /// Data frames one transfer of it takes (after compression).
        fragments: u16,
    },
    /// The node stored a version of an item it received from the mesh that
    /// is newer than what it held.
    Stored {
        /// The item.
        item: ItemId,
        /// Its version number.
        seq: u32,
        /// The version's sync element id.
        element: u64,
    },
    /// Something in the signal layer (supply and demand signals).
    Signal(SignalRecord),
}

/// A supply or demand signal event; signal ids are the 64-bit
/// [`SignalId`](node_core::signals::SignalId)s that signal frames carry as
/// their subject.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "signal")]
pub enum SignalRecord {
    /// The node published a signal.
    Published {
        /// The signal.
        id: u64,
        /// Its type.
        ty: SignalType,
        /// Its encoded size.
        size_bytes: u16,
        /// Urgent (epidemic relays).
        urgent: bool,
        /// Sent by plain flooding (the baseline).
        flood: bool,
        /// Lifetime, seconds.
        ttl_s: u32,
        /// The signal it refers to (a confirmation's demand; none: 0).
        refers: u64,
    },
    /// The node should get this signal (its facility is concerned, or the
    /// signal is for everyone); written by the simulator when the signal
    /// is published.
    Audience {
        /// The signal.
        id: u64,
    },
    /// The node took a new signal from the mesh (a delivery).
    Taken {
        /// The signal.
        id: u64,
        /// Its type.
        ty: SignalType,
        /// Whether it concerns the node's facility.
        matches: bool,
    },
    /// The node refused a signal from the air.
    Refused {
        /// Why.
        reason: RejectReason,
    },
    /// The node rebroadcast a signal.
    Relayed {
        /// The signal.
        id: u64,
    },
    /// Two confirmations of one demand met at the node.
    Conflict {
        /// The demand.
        demand: u64,
        /// The confirmation that stands.
        winner: u64,
        /// The one that lost.
        loser: u64,
        /// Whether the loser is the node's own.
        ours_lost: bool,
    },
    /// A query of the node's was answered.
    Answered {
        /// The query.
        query: u64,
        /// From the node's book, without sending anything.
        local: bool,
        /// Facilities known to match.
        facilities: u32,
    },
    /// A scheduled signal action did not happen: the node was down, or
    /// (for a confirmation) did not hold the demand.
    Skipped,
    /// A demand or query (not flooded) heard for the first time, routed
    /// by the capability/subscription filters.
    Routed {
        /// The signal.
        id: u64,
        /// The node's own filter (what its neighbours route by) may want it.
        filter_match: bool,
        /// The node's full profile wants it.
        matches: bool,
        /// Taken (wanted here or behind a neighbour), else declined.
        taken: bool,
        /// No neighbour filter was known: taken as a broadcast.
        fallback: bool,
    },
}

/// A fault taking effect.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultRecord {
    /// The mesh was split into this many groups.
    Partition {
        /// Number of groups.
        groups: u32,
    },
    /// Every partition ended.
    Heal,
    /// A node went down.
    Crash {
        /// Which.
        node: NodeId,
    },
    /// A crashed node came back.
    Restart {
        /// Which.
        node: NodeId,
    },
    /// A late node switched on.
    Join {
        /// Which.
        node: NodeId,
    },
    /// A loss rule started.
    LossStart {
        /// Index of the fault in the scenario.
        rule: u32,
    },
    /// A loss rule ended.
    LossEnd {
        /// Index of the fault in the scenario.
        rule: u32,
    },
    /// A node turned adversary: from now on it is not an honest node, and
    /// what it publishes is not an honest item.
    Adversary {
        /// Which.
        node: NodeId,
    },
    /// Under the partition that has just taken effect (the
    /// [`FaultRecord::Partition`] record before it), `node` is in `group`.
    /// One follows the partition record for every node outside group 0;
    /// nodes not named are in group 0. Signals cross only within a group.
    Member {
        /// Which node.
        node: NodeId,
        /// Its group (1 and up).
        group: u16,
    },
}

/// One thing that happened.
#[derive(Clone, Copy, PartialEq, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// The node handed a new message to its radio.
    Originate {
        /// When.
        at: Instant,
        /// Which node.
        node: NodeId,
        /// The new packet.
        packet: PacketKey,
        /// Application payload, bytes.
        payload_bytes: u16,
        /// Hop limit it was sent with.
        hop_limit: u8,
        /// What the frame is for.
        class: FrameClass,
    },
    /// A transmission starts.
    TxStart {
        /// When.
        at: Instant,
        /// The transmitter.
        node: NodeId,
        /// Transmission serial.
        tx: TxId,
        /// The packet carried.
        packet: PacketKey,
        /// Hop limit in the header of this copy.
        hop_limit: u8,
        /// Whether this is a relay (not the originator's copy).
        relay: bool,
        /// LoRa payload bytes on air.
        bytes_on_air: u16,
        /// When it will end.
        end: Instant,
        /// What the frame is for.
        class: FrameClass,
        /// What it concerns (the item's sync element id for data; else 0).
        subject: u64,
    },
    /// A transmission ends.
    TxEnd {
        /// When.
        at: Instant,
        /// The transmitter.
        node: NodeId,
        /// Transmission serial.
        tx: TxId,
    },
    /// A receiver decoded a transmission.
    RxOk {
        /// When (the end of the transmission).
        at: Instant,
        /// The receiver.
        node: NodeId,
        /// Transmission serial.
        tx: TxId,
        /// The transmitter of this copy.
        sender: NodeId,
        /// The packet.
        packet: PacketKey,
        /// Relays between the originator and this receiver.
        hops_away: u8,
        /// Received power, centi-dBm.
        rssi_cdbm: i16,
        /// Whether the receiver had already seen the packet.
        duplicate: bool,
        /// What the frame is for.
        class: FrameClass,
    },
    /// A decodable signal was destroyed by interference.
    Collision {
        /// When.
        at: Instant,
        /// The receiver.
        node: NodeId,
        /// Transmission serial.
        tx: TxId,
    },
    /// A signal arrived too weak to decode.
    BelowSensitivity {
        /// When.
        at: Instant,
        /// The receiver.
        node: NodeId,
        /// Transmission serial.
        tx: TxId,
    },
    /// A decodable signal was missed because the receiver was transmitting.
    HalfDuplexMiss {
        /// When.
        at: Instant,
        /// The receiver.
        node: NodeId,
        /// Transmission serial.
        tx: TxId,
    },
    /// A frame was dropped.
    Drop {
        /// When.
        at: Instant,
        /// Where.
        node: NodeId,
        /// Which packet.
        packet: PacketKey,
        /// Why.
        reason: DropReason,
    },
    /// The node-core state machine reported something.
    Node {
        /// When.
        at: Instant,
        /// Which node.
        node: NodeId,
        /// What.
        event: NodeRecord,
    },
    /// A fault took effect.
    Fault {
        /// When.
        at: Instant,
        /// What.
        fault: FaultRecord,
    },
}

impl Record {
    /// When it happened.
    pub fn at(&self) -> Instant {
        match *self {
            Record::Originate { at, .. }
            | Record::TxStart { at, .. }
            | Record::TxEnd { at, .. }
            | Record::RxOk { at, .. }
            | Record::Collision { at, .. }
            | Record::BelowSensitivity { at, .. }
            | Record::HalfDuplexMiss { at, .. }
            | Record::Drop { at, .. }
            | Record::Node { at, .. }
            | Record::Fault { at, .. } => at,
        }
    }
}

/// Something that observes the trace. Sinks see every record, in order, in
/// batches; they must not influence the run.
pub trait TraceSink {
    /// Observes the next records.
    fn observe(&mut self, batch: &[Record]);
}

/// Writes the trace as JSON Lines (one record per line).
pub struct JsonLinesWriter<W: std::io::Write> {
    out: W,
    error: Option<std::io::Error>,
}

impl<W: std::io::Write> JsonLinesWriter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        JsonLinesWriter { out, error: None }
    }

    /// Flushes and returns the first write error, if any.
    pub fn finish(mut self) -> std::io::Result<W> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: std::io::Write> TraceSink for JsonLinesWriter<W> {
    fn observe(&mut self, batch: &[Record]) {
        if self.error.is_some() {
            return;
        }
        for r in batch {
            let line = serde_json::to_string(r).expect("records always serialise");
            if let Err(e) = writeln!(self.out, "{line}") {
                self.error = Some(e);
                return;
            }
        }
    }
}
