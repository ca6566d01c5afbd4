//! The chat family on the node's side: the background traffic it
//! generates (a Poisson process of fixed-size broadcasts, the simulator's
//! load). Chat frames received are only counted.

use super::TrafficConfig;
use crate::rng::Rng;
use crate::time::{Duration, Instant};
use crate::transport::{Destination, OutFrame, Priority, SendError, Transport};
use crate::wire::FrameRepr;

/// The background traffic schedule.
#[derive(Debug)]
pub(super) struct Chat {
    traffic: Option<TrafficConfig>,
    /// Draws only the gaps between messages.
    rng: Rng,
    next_at: Option<Instant>,
    seq: u32,
}

impl Chat {
    /// The schedule from `now` (none without `traffic`).
    pub(super) fn new(traffic: Option<TrafficConfig>, mut rng: Rng, now: Instant) -> Self {
        let next_at = traffic.map(|t| now + next_gap(&mut rng, &t));
        Chat {
            traffic,
            rng,
            next_at,
            seq: 0,
        }
    }

    /// When the next message is due, if ever.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.next_at
    }

    /// Sends the message due at `now`, if one is, and schedules the next:
    /// `None` when nothing was due, else what the transport said.
    pub(super) fn handle_timeout<T: Transport>(
        &mut self,
        now: Instant,
        tx: &mut T,
    ) -> Option<Result<(), SendError>> {
        let (Some(at), Some(traffic)) = (self.next_at, self.traffic) else {
            return None;
        };
        if now < at {
            return None;
        }
        let payload = FrameRepr::encode_chat(self.seq, traffic.payload_bytes);
        self.seq = self.seq.wrapping_add(1);
        let frame = OutFrame {
            dest: Destination::Broadcast,
            hop_limit: traffic.hop_limit,
            priority: Priority::Normal,
            payload,
        };
        let sent = tx.send(frame);
        self.next_at = Some(now + next_gap(&mut self.rng, &traffic));
        Some(sent)
    }
}

/// Time to the next message of a Poisson process, at least 1 µs so that a
/// node never schedules two messages at the same instant.
fn next_gap(rng: &mut Rng, t: &TrafficConfig) -> Duration {
    let us = rng.exponential(t.mean_period.as_micros() as f64);
    Duration::from_micros((us as u64).max(1))
}
