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
