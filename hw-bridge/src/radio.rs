//! The seam between the driver and a radio task.
//!
//! Every transport (a Meshtastic device, the UDP testbed) runs as its own
//! tokio task and talks to the [driver](crate::driver) through a
//! [`RadioLink`]: a bounded channel of frames to send, a bounded channel of
//! [`RadioEvent`]s back, and a little shared state the node-side
//! [`Transport`](node_core::Transport) reads without blocking (is the link
//! up, how much room does the radio have).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use node_core::{Capabilities, Destination, NodeId, OutFrame, RxFrame, SendError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use node_core::radio::LoraParams;

use crate::meshtastic::proto;

/// Frames the driver may queue towards a radio task before `send` reports
/// [`SendError::QueueFull`].
pub const OUT_QUEUE_FRAMES: usize = 16;
/// Events a radio task may queue towards the driver before it waits.
pub const EVENT_QUEUE: usize = 256;

/// A received frame that owns its payload.
#[derive(Clone, PartialEq, Debug)]
pub struct RxOwned {
    /// The originator.
    pub from: NodeId,
    /// Where the originator addressed it.
    pub dest: Destination,
    /// Relays between the originator and us.
    pub hops_away: u8,
    /// Received signal strength, dBm.
    pub rssi_dbm: f32,
    /// Signal-to-noise ratio, dB.
    pub snr_db: f32,
    /// The application payload.
    pub payload: Vec<u8>,
}

impl RxOwned {
    /// The borrowed form node-core takes.
    pub fn as_rx(&self) -> RxFrame<'_> {
        RxFrame {
            from: self.from,
            dest: self.dest,
            hops_away: self.hops_away,
            rssi_dbm: self.rssi_dbm,
            snr_db: self.snr_db,
            payload: &self.payload,
        }
    }
}

/// What a radio task reports to the driver.
#[derive(Clone, PartialEq, Debug)]
pub enum RadioEvent {
    /// A frame for the node.
    Received(RxOwned),
    /// A frame already accepted by `send` was refused later (a Routing NAK,
    /// a lost connection).
    SendFailed {
        /// The radio's packet id, if it had one.
        packet_id: Option<u32>,
        /// Why.
        error: SendError,
    },
    /// The link is (again) usable.
    Up {
        /// The radio's node number.
        node: NodeId,
    },
    /// The link went down; the task is reconnecting.
    Down {
        /// Why.
        reason: String,
    },
    /// A line of the device's own log.
    DeviceLog(String),
}

/// What kind of link carries the node's frames.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum LinkKind {
    /// The UDP testbed: datagrams between processes, no radio at all.
    #[default]
    UdpTestbed,
    /// A Meshtastic device over serial or TCP.
    Meshtastic,
}

impl LinkKind {
    /// The name the API reports (`udp` or `meshtastic`).
    pub fn name(self) -> &'static str {
        match self {
            LinkKind::UdpTestbed => "udp",
            LinkKind::Meshtastic => "meshtastic",
        }
    }
}

/// What the link says about itself, for the operator's radio check.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct RadioReport {
    /// UDP testbed or Meshtastic device.
    pub kind: LinkKind,
    /// Where it is: the device address, or the UDP bind address and peers.
    pub address: String,
    /// The LoRa region the device is set to (e.g. `EU_868`), as it said
    /// in its config; `None` when it did not (and always on UDP).
    pub region: Option<String>,
    /// The device's modem preset (e.g. `LONG_FAST`), or `CUSTOM` when it
    /// uses its own bandwidth and spreading factor; `None` when it did not
    /// say (and always on UDP).
    pub preset: Option<String>,
    /// The device's firmware version, if it said.
    pub firmware: Option<String>,
}

/// State a radio task shares with the node-side transport.
#[derive(Debug)]
pub struct LinkState {
    up: AtomicBool,
    room: AtomicUsize,
    /// Bits of an `f64` percentage; NaN until the radio reported one.
    channel_util: AtomicU64,
    /// Bits of an `f64` percentage; NaN until the radio reported one.
    air_util_tx: AtomicU64,
    /// What the link said about itself (the status report's radio check).
    report: Mutex<RadioReport>,
}

impl LinkState {
    /// A link that is up with `room` frames of radio room.
    pub fn new(up: bool, room: usize) -> Self {
        LinkState {
            up: AtomicBool::new(up),
            room: AtomicUsize::new(room),
            channel_util: AtomicU64::new(f64::NAN.to_bits()),
            air_util_tx: AtomicU64::new(f64::NAN.to_bits()),
            report: Mutex::new(RadioReport::default()),
        }
    }
    /// What the link last said about itself.
    pub fn report(&self) -> RadioReport {
        self.report
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
    /// Records what the link says about itself.
    pub fn set_report(&self, report: RadioReport) {
        *self
            .report
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = report;
    }
    /// The channel utilisation the radio last reported (percent of time
    /// the channel was busy, all senders), if it reports one.
    pub fn channel_utilisation_pct(&self) -> Option<f64> {
        let v = f64::from_bits(self.channel_util.load(Ordering::Relaxed));
        v.is_finite().then_some(v)
    }
    /// The radio's own transmit duty cycle over the last hour, as it last
    /// reported it (percent), if it reports one.
    pub fn air_util_tx_pct(&self) -> Option<f64> {
        let v = f64::from_bits(self.air_util_tx.load(Ordering::Relaxed));
        v.is_finite().then_some(v)
    }
    /// Records the radio's channel figures (non-finite values are ignored).
    pub fn set_utilisation(&self, channel_pct: Option<f64>, air_tx_pct: Option<f64>) {
        if let Some(v) = channel_pct.filter(|v| v.is_finite()) {
            self.channel_util.store(v.to_bits(), Ordering::Relaxed);
        }
        if let Some(v) = air_tx_pct.filter(|v| v.is_finite()) {
            self.air_util_tx.store(v.to_bits(), Ordering::Relaxed);
        }
    }
    /// Whether frames can be sent.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }
    /// Marks the link up or down.
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::Relaxed);
    }
    /// Frames the radio itself can take right now (beyond the channel).
    pub fn room(&self) -> usize {
        self.room.load(Ordering::Relaxed)
    }
    /// Updates the radio's room.
    pub fn set_room(&self, room: usize) {
        self.room.store(room, Ordering::Relaxed);
    }
}

/// The driver's end of a running radio task.
#[derive(Debug)]
pub struct RadioLink {
    /// The node id this radio gives the node (the radio's node number).
    pub node_id: NodeId,
    /// What the radio carries.
    pub capabilities: Capabilities,
    /// Modem settings, for airtime estimates.
    pub lora: LoraParams,
    /// Frames to send.
    pub frames: mpsc::Sender<OutFrame>,
    /// Events from the radio.
    pub events: mpsc::Receiver<RadioEvent>,
    /// Shared link state.
    pub state: Arc<LinkState>,
    /// The radio task; it ends when `frames` is dropped.
    pub task: JoinHandle<()>,
    /// A link of known capacity (the UDP testbed with `rate=`): frames
    /// take their bits over this rate, not LoRa time on air.
    pub fixed_rate: Option<FixedRate>,
}

/// A link that carries a fixed number of bits per second.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FixedRate {
    /// Bits per second.
    pub bitrate_bps: u64,
    /// Bytes each frame costs besides its payload (the link's own header).
    pub frame_overhead_bytes: usize,
}

impl FixedRate {
    /// Time a frame of `payload_bytes` occupies the link.
    pub fn airtime(&self, payload_bytes: usize) -> node_core::Duration {
        let bits = (payload_bytes + self.frame_overhead_bytes) as u64 * 8;
        node_core::Duration::from_micros((bits * 1_000_000).div_ceil(self.bitrate_bps.max(1)))
    }
}

impl RadioLink {
    /// Starts `task` on the radio end of new channels (link up, `room`
    /// frames of radio room) and returns the driver's end, for a radio that
    /// carries Meshtastic frames at the default preset (a Meshtastic device,
    /// or the UDP testbed that mimics one).
    pub(crate) fn spawn_meshtastic<F>(
        node_id: NodeId,
        room: usize,
        report: RadioReport,
        task: impl FnOnce(RadioEnds) -> F,
    ) -> RadioLink
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (frames, events, ends) = channels_sized(true, room, room.max(OUT_QUEUE_FRAMES));
        ends.state.set_report(report);
        let state = ends.state.clone();
        RadioLink {
            node_id,
            capabilities: proto::capabilities(),
            lora: proto::DEFAULT_PRESET.params(),
            frames,
            events,
            state,
            task: tokio::spawn(task(ends)),
            fixed_rate: None,
        }
    }
}

/// The radio task's end of the channels.
#[derive(Debug)]
pub struct RadioEnds {
    /// Frames the node wants sent.
    pub frames: mpsc::Receiver<OutFrame>,
    /// Events for the driver.
    pub events: mpsc::Sender<RadioEvent>,
    /// Shared link state.
    pub state: Arc<LinkState>,
}

/// Creates the channels between a driver and a radio task.
pub fn channels(
    up: bool,
    room: usize,
) -> (
    mpsc::Sender<OutFrame>,
    mpsc::Receiver<RadioEvent>,
    RadioEnds,
) {
    channels_sized(up, room, OUT_QUEUE_FRAMES)
}

/// [`channels`] with a frame queue of `queue` frames.
pub fn channels_sized(
    up: bool,
    room: usize,
    queue: usize,
) -> (
    mpsc::Sender<OutFrame>,
    mpsc::Receiver<RadioEvent>,
    RadioEnds,
) {
    let (ftx, frx) = mpsc::channel(queue.max(1));
    let (etx, erx) = mpsc::channel(EVENT_QUEUE);
    let state = Arc::new(LinkState::new(up, room));
    (
        ftx,
        erx,
        RadioEnds {
            frames: frx,
            events: etx,
            state,
        },
    )
}
