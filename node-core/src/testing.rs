//! Test support: a transport that keeps what a node sends instead of
//! putting it on a radio. node-core's own tests use it; other crates and the
//! fuzz targets get it with the `testing` feature.

use crate::time::Duration;
use crate::transport::{
    Capabilities, MESHTASTIC_MAX_PAYLOAD_BYTES, OutFrame, SendError, Transport,
};

/// Frames a node sent, in order, behind a radio queue of `room` frames.
///
/// `queue_room` is `room` less the frames kept, and `send` refuses with
/// [`SendError::QueueFull`] once nothing is left: `room: 0` is a radio that
/// refuses everything, `usize::MAX` one that never fills. Take or clear
/// `frames` to "transmit" them. Time on air is 200 ms + 4 ms per payload
/// byte, close to LongFast for small frames.
#[derive(Clone, Debug, Default)]
pub struct Outbox {
    /// What was sent and not yet taken, oldest first.
    pub frames: Vec<OutFrame>,
    /// Frames the radio queue holds.
    pub room: usize,
}

impl Outbox {
    /// An empty outbox in front of a queue of `room` frames.
    pub fn new(room: usize) -> Outbox {
        Outbox {
            frames: Vec::new(),
            room,
        }
    }
}

impl Transport for Outbox {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_payload_bytes: MESHTASTIC_MAX_PAYLOAD_BYTES,
            broadcast: true,
            bitrate_bps: 1074,
            max_hop_limit: 7,
        }
    }

    fn airtime(&self, payload_bytes: usize) -> Duration {
        Duration::from_millis(200 + 4 * payload_bytes as u64)
    }

    fn queue_room(&self) -> usize {
        self.room.saturating_sub(self.frames.len())
    }

    fn send(&mut self, frame: OutFrame) -> Result<(), SendError> {
        self.check(&frame)?;
        if self.queue_room() == 0 {
            return Err(SendError::QueueFull);
        }
        self.frames.push(frame);
        Ok(())
    }
}

/// `payload` sent by `from` to `dest`, heard directly (zero hops away) at
/// a fair signal: how the test meshes hand each other frames (the node
/// reads nothing from the signal figures).
pub fn heard(
    from: crate::NodeId,
    dest: crate::transport::Destination,
    payload: &[u8],
) -> crate::transport::RxFrame<'_> {
    crate::transport::RxFrame {
        from,
        dest,
        hops_away: 0,
        rssi_dbm: -90.0,
        snr_db: 5.0,
        payload,
    }
}

/// Hands `payload` to `node` at `now` as a broadcast heard directly from
/// `from`, then fires the node's timer if it is due by
/// `now + step`, and drops what the node sent (`radio`'s frames) and
/// reported (its events); returns that later time. The fuzz targets feed
/// frames this way one after another and look only at the node's state.
pub fn hear_and_step<S: crate::store::Storage>(
    node: &mut crate::Node<S>,
    now: crate::time::Instant,
    step: Duration,
    from: crate::NodeId,
    payload: &[u8],
    radio: &mut Outbox,
) -> crate::time::Instant {
    let rx = heard(from, crate::transport::Destination::Broadcast, payload);
    node.handle_frame(now, &rx, radio);
    let later = now + step;
    if node.poll_timeout().is_some_and(|t| t <= later) {
        node.handle_timeout(later, radio);
    }
    radio.frames.clear();
    while node.poll_event().is_some() {}
    later
}

/// The neighbour lists of `n` nodes in a line (node `i` hears `i - 1` and
/// `i + 1`): the mesh most protocol tests start from.
pub fn line_links(n: usize) -> Vec<Vec<usize>> {
    (0..n)
        .map(|i| {
            [i.checked_sub(1), (i + 1 < n).then_some(i + 1)]
                .into_iter()
                .flatten()
                .collect()
        })
        .collect()
}
