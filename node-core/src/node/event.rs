//! What a [`Node`](super::Node) tells its driver: events to poll and
//! counters to read.

use catalogue::ItemId;

use crate::id::NodeId;
use crate::signals::SignalEvent;
use crate::sync::{Element, RejectReason};
use crate::transport::SendError;
use crate::wire::WireError;

/// Something the driver should know about (logged in the simulator's trace).
#[derive(Clone, PartialEq, Debug)]
pub enum NodeEvent {
    /// The transport refused a frame.
    SendFailed {
        /// Why.
        error: SendError,
    },
    /// Bytes from the air could not be decoded; they were dropped.
    FrameRejected {
        /// The originator of the frame.
        from: NodeId,
        /// Why decoding failed.
        error: WireError,
    },
    /// This node published a new version of an item.
    Published {
        /// The item.
        item: ItemId,
        /// Its version number.
        seq: u32,
        /// Its sync element.
        element: Element,
        /// Size of its bytes.
        size_bytes: u32,
        /// Data frames one transfer of it takes (after compression).
        fragments: u16,
    },
    /// A newer version of an item arrived from the mesh and is now current.
    Stored {
        /// The item.
        item: ItemId,
        /// Its version number.
        seq: u32,
        /// Its sync element.
        element: Element,
    },
    /// An item transfer failed verification and was dropped.
    ItemRejected {
        /// The element that was asked for.
        element: Element,
        /// Why.
        reason: RejectReason,
    },
    /// Something happened in the signal layer.
    Signal(SignalEvent),
    /// Something happened in the package swarm.
    Package(super::PackageEvent),
}

/// Counters a driver can report.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct NodeStats {
    /// Chat messages handed to the transport.
    pub chat_sent: u64,
    /// Distinct chat messages received.
    pub chat_received: u64,
    /// Frames the transport refused.
    pub send_failures: u64,
    /// Undecodable frames dropped.
    pub frames_rejected: u64,
}
