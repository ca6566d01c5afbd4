//! Sync's own queue in front of the radio's: frames wait here by priority
//! (then age) while the radio's queue is full or the channel is busy, the
//! least urgent newest one giving way when it overflows; and the data
//! fragments waiting, so a repeated want does not queue one twice.
//!
//! Channel utilisation gates what leaves, as Meshtastic gates optional
//! traffic: above [`POLITE_UTILISATION_PCT`] only urgent frames go and no
//! summary is sent, above [`HOLD_UTILISATION_PCT`] nothing goes.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::Element;
use crate::time::{Duration, Instant};
use crate::transport::{Destination, OutFrame, Priority, SendError, Transport};
use crate::wire::{FrameRepr, SyncFrame};

/// Channel utilisation above which only urgent sync frames go out and no
/// summary is sent (Meshtastic's "polite" level for optional traffic).
pub(super) const POLITE_UTILISATION_PCT: f64 = 25.0;

/// Channel utilisation above which no sync frame goes out at all
/// (Meshtastic stops optional traffic at 40 %).
pub(super) const HOLD_UTILISATION_PCT: f64 = 40.0;

/// How often to try the radio again when its queue was full.
pub(super) const FLUSH_RETRY: Duration = Duration::from_secs(2);

/// Whether the channel is too busy for optional sync traffic.
pub(crate) fn channel_busy<T: Transport>(tx: &T) -> bool {
    tx.channel_utilisation_pct().unwrap_or(0.0) >= POLITE_UTILISATION_PCT
}

/// Frames waiting for the radio, most urgent first, then oldest first.
#[derive(Debug)]
pub(super) struct Outbox {
    frames: BTreeMap<(Reverse<Priority>, u64), OutFrame>,
    max_frames: usize,
    /// Data fragments among `frames`.
    queued_data: BTreeSet<(Element, u16)>,
    next_seq: u64,
    retry_at: Option<Instant>,
}

impl Outbox {
    /// An empty outbox of at most `max_frames` frames.
    pub(super) fn new(max_frames: usize) -> Self {
        Outbox {
            frames: BTreeMap::new(),
            max_frames,
            queued_data: BTreeSet::new(),
            next_seq: 0,
            retry_at: None,
        }
    }

    /// Whether another frame would push one out.
    pub(super) fn is_full(&self) -> bool {
        self.frames.len() >= self.max_frames
    }

    /// Whether fragment `index` of `element` is waiting to go.
    pub(super) fn holds_data(&self, element: Element, index: u16) -> bool {
        self.queued_data.contains(&(element, index))
    }

    /// When to try the radio again, if frames are waiting.
    pub(super) fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }

    /// Forgets the retry time (the timer it asked for has fired).
    pub(super) fn clear_retry(&mut self) {
        self.retry_at = None;
    }

    /// Queues a data fragment (remembered until it leaves).
    pub(super) fn queue_data(
        &mut self,
        element: Element,
        index: u16,
        payload: Vec<u8>,
        priority: Priority,
    ) {
        self.queued_data.insert((element, index));
        self.queue(payload, priority);
    }

    /// Queues a frame for neighbours (hop limit 0).
    pub(super) fn queue(&mut self, payload: Vec<u8>, priority: Priority) {
        if self.is_full() {
            // Full: drop the least urgent, newest frame to make room for a more urgent one.
            let Some((&key, _)) = self.frames.iter().next_back() else {
                return;
            };
            if key.0.0 >= priority {
                // Dropped: a data fragment may be asked for again.
                self.forget_queued(&payload);
                return;
            }
            if let Some(dropped) = self.frames.remove(&key) {
                self.forget_queued(&dropped.payload);
            }
        }
        let frame = OutFrame {
            dest: Destination::Broadcast,
            hop_limit: 0,
            priority,
            payload,
        };
        self.frames
            .insert((Reverse(priority), self.next_seq), frame);
        self.next_seq += 1;
    }

    /// Hands queued frames to the radio while it has room.
    pub(super) fn flush<T: Transport>(&mut self, now: Instant, tx: &mut T) {
        let util = tx.channel_utilisation_pct().unwrap_or(0.0);
        while let Some(entry) = self.frames.first_entry() {
            if tx.queue_room() == 0 || util >= HOLD_UTILISATION_PCT {
                break;
            }
            // A busy channel gets only the urgent control frames.
            if util >= POLITE_UTILISATION_PCT && entry.key().0.0 < Priority::High {
                break;
            }
            let frame = entry.remove();
            match tx.send(frame.clone()) {
                Ok(()) => self.forget_queued(&frame.payload),
                Err(SendError::QueueFull | SendError::DutyCycle | SendError::Unavailable(_)) => {
                    self.frames
                        .insert((Reverse(frame.priority), self.next_seq), frame);
                    self.next_seq += 1;
                    break;
                }
                Err(_) => self.forget_queued(&frame.payload), // malformed for this transport: drop it
            }
        }
        if !self.frames.is_empty() {
            self.retry_at = Some(
                self.retry_at
                    .map_or(now + FLUSH_RETRY, |t| t.min(now + FLUSH_RETRY)),
            );
        }
    }

    /// A data frame left the outbox (to the radio, or dropped).
    fn forget_queued(&mut self, payload: &[u8]) {
        if let Ok(FrameRepr::Sync(SyncFrame::Data { element, index, .. })) =
            FrameRepr::decode(payload)
        {
            self.queued_data.remove(&(element, index));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Outbox as Radio;

    fn data(element: u64, index: u16) -> Vec<u8> {
        SyncFrame::Data {
            element: Element(element),
            index,
            total: 2,
            chunk: b"x",
        }
        .encode()
    }

    #[test]
    fn a_full_outbox_gives_way_to_more_urgent_frames_only() {
        let mut q = Outbox::new(2);
        q.queue_data(Element(1), 0, data(1, 0), Priority::Background);
        q.queue(vec![1], Priority::Normal);
        assert!(q.is_full());
        // As urgent as the least urgent queued: dropped, and forgotten.
        q.queue_data(Element(2), 0, data(2, 0), Priority::Background);
        assert!(!q.holds_data(Element(2), 0));
        // More urgent: the background fragment gives way.
        q.queue(vec![2], Priority::High);
        assert!(!q.holds_data(Element(1), 0));
        let mut radio = Radio::new(8);
        q.flush(Instant::ZERO, &mut radio);
        let sent: Vec<_> = radio.frames.iter().map(|f| f.payload.clone()).collect();
        assert_eq!(sent, [vec![2], vec![1]], "most urgent first");
        assert!(radio.frames.iter().all(|f| f.hop_limit == 0));
        assert_eq!(q.retry_at(), None, "nothing left to retry");
    }

    #[test]
    fn a_full_radio_keeps_frames_and_asks_to_retry() {
        let mut q = Outbox::new(8);
        q.queue_data(Element(1), 0, data(1, 0), Priority::Normal);
        q.queue_data(Element(1), 1, data(1, 1), Priority::Normal);
        let mut radio = Radio::new(1);
        let now = Instant::ZERO + Duration::from_secs(5);
        q.flush(now, &mut radio);
        assert_eq!(radio.frames.len(), 1);
        assert!(!q.holds_data(Element(1), 0), "sent");
        assert!(q.holds_data(Element(1), 1), "still waiting");
        assert_eq!(q.retry_at(), Some(now + FLUSH_RETRY));
    }
}
