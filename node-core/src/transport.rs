//! The `Transport` trait: how a node puts frames on the air.
//!
//! node-core is written against this trait only. The simulator implements it
//! with a model of a Meshtastic radio (managed flood, airtime, duty cycle);
//! hw-bridge implements it over a real Meshtastic device or UDP. A transport
//! is synchronous and never blocks: a full queue is an error the node handles.

use crate::id::NodeId;
use crate::time::Duration;

/// The largest okmesh payload one Meshtastic packet carries on
/// `PRIVATE_APP`: a LoRa frame holds 255 bytes; the radio header takes 16
/// and the `Data` protobuf 8 (portnum 256: 3, the payload's tag and length:
/// 3, the `bitfield` the firmware adds: 2), leaving 231 — two under the
/// protobuf's `DATA_PAYLOAD_LEN` of 233.
pub const MESHTASTIC_MAX_PAYLOAD_BYTES: usize = 231;

/// The Meshtastic default hop limit.
pub const DEFAULT_HOP_LIMIT: u8 = 3;

/// The largest hop limit Meshtastic accepts.
pub const MAX_HOP_LIMIT: u8 = 7;

/// Where a frame goes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Destination {
    /// Every node in range (and beyond, up to the hop limit).
    Broadcast,
    /// One node.
    Node(NodeId),
}

/// How urgently a frame should leave; higher goes first when the queue holds
/// several. Mirrors Meshtastic's `MeshPacket.Priority` classes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub enum Priority {
    /// Bulk catch-up and chatter that may wait.
    Background,
    /// Urgent supply-and-demand signals and their relays: ahead of
    /// catalogue catch-up, behind people's messages (chat is `Normal`).
    Signal,
    /// Ordinary traffic.
    #[default]
    Normal,
    /// Fresh updates and control frames.
    High,
}

/// What a transport can do, so the node can size and pace its frames.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Capabilities {
    /// The largest payload one frame may carry, in bytes.
    pub max_payload_bytes: usize,
    /// Whether [`Destination::Broadcast`] is supported.
    pub broadcast: bool,
    /// Raw channel bit rate in bits per second (for pacing and estimates).
    pub bitrate_bps: u32,
    /// The largest hop limit the transport accepts.
    pub max_hop_limit: u8,
}

/// A frame handed to [`Transport::send`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OutFrame {
    /// Who should receive it.
    pub dest: Destination,
    /// How many times relays may re-send it (0: direct neighbours only).
    pub hop_limit: u8,
    /// Queueing priority.
    pub priority: Priority,
    /// The application payload (at most `max_payload_bytes`).
    pub payload: Vec<u8>,
}

/// A frame delivered to the node by its transport.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct RxFrame<'a> {
    /// The node that originated the frame.
    pub from: NodeId,
    /// Where the originator addressed it.
    pub dest: Destination,
    /// Relays between the originator and us (0: heard directly), as in
    /// Meshtastic's `hopsAway`.
    pub hops_away: u8,
    /// Received signal strength of the copy we decoded, in dBm.
    pub rssi_dbm: f32,
    /// Signal-to-noise ratio of that copy, in dB.
    pub snr_db: f32,
    /// The application payload.
    pub payload: &'a [u8],
}

/// Why a transport refused a frame.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum SendError {
    /// The transmit queue has no room; try again after frames have left.
    #[error("transmit queue full")]
    QueueFull,
    /// The payload is larger than the transport's maximum.
    #[error("payload of {len} bytes exceeds the maximum of {max}")]
    TooLarge {
        /// Bytes offered.
        len: usize,
        /// Bytes allowed.
        max: usize,
    },
    /// The hop limit is above what the transport allows.
    #[error("hop limit {hop_limit} exceeds the maximum of {max}")]
    HopLimit {
        /// Hop limit asked for.
        hop_limit: u8,
        /// Largest allowed.
        max: u8,
    },
    /// The transport does not support broadcast.
    #[error("broadcast is not supported by this transport")]
    NoBroadcast,
    /// The regional duty-cycle budget is spent (a Meshtastic `DUTY_CYCLE_LIMIT` NAK).
    #[error("duty-cycle limit reached")]
    DutyCycle,
    /// The radio or link is down or refused the frame for another reason.
    #[error("link unavailable: {0}")]
    Unavailable(String),
}

/// A radio or network interface as seen by a node.
///
/// Implementations must not block: `send` either queues the frame or returns
/// an error at once.
pub trait Transport {
    /// What this transport can carry.
    fn capabilities(&self) -> Capabilities;

    /// Estimated time on air of one frame carrying `payload_bytes`.
    fn airtime(&self, payload_bytes: usize) -> Duration;

    /// How many more frames the transmit queue accepts right now.
    fn queue_room(&self) -> usize;

    /// Queues a frame for transmission.
    fn send(&mut self, frame: OutFrame) -> Result<(), SendError>;

    /// How busy the channel has been lately, in percent of time (Meshtastic
    /// radios report this as `channel_utilization`), if the transport knows.
    /// Nodes hold back optional traffic on a busy channel.
    fn channel_utilisation_pct(&self) -> Option<f64> {
        None
    }

    /// Checks `frame` against [`Transport::capabilities`]; transports call this
    /// first in `send` so that every implementation rejects the same frames.
    fn check(&self, frame: &OutFrame) -> Result<(), SendError> {
        let caps = self.capabilities();
        if frame.payload.len() > caps.max_payload_bytes {
            return Err(SendError::TooLarge {
                len: frame.payload.len(),
                max: caps.max_payload_bytes,
            });
        }
        if frame.hop_limit > caps.max_hop_limit {
            return Err(SendError::HopLimit {
                hop_limit: frame.hop_limit,
                max: caps.max_hop_limit,
            });
        }
        if frame.dest == Destination::Broadcast && !caps.broadcast {
            return Err(SendError::NoBroadcast);
        }
        Ok(())
    }
}
