//! The Meshtastic link layer of one simulated radio (firmware
//! `FloodingRouter.cpp`, `RadioInterface.cpp`, `AirTime.cpp`): the transmit
//! queue, contention delays, channel utilisation, and the node-core rules it
//! applies — the managed flood ([`ManagedFlood`]) and the duty-cycle budget
//! ([`DutyCycleBudget`]). The engine (`world`) drives it; this module holds
//! the per-node state.

use std::sync::Arc;

use node_core::radio::meshtastic;
use node_core::radio::{DutyCycleBudget, FloodDecision, FloodHeader, ManagedFlood, Role};
use node_core::transport::{Destination, Priority};
use node_core::{Duration, Instant, NodeId, Rng};

use crate::trace::PacketKey;

/// Channel utilisation is measured over 6 periods of 10 s (firmware
/// `CHANNEL_UTILIZATION_PERIODS`).
const UTIL_PERIODS: usize = 6;
const UTIL_PERIOD_US: u64 = 10_000_000;

/// A packet as it travels: the header fields the flood needs and the payload.
#[derive(Clone, Debug)]
pub struct Packet {
    /// Originator and id.
    pub key: PacketKey,
    /// Addressee.
    pub dest: Destination,
    /// Relays still allowed.
    pub hop_limit: u8,
    /// The hop limit the originator set (Meshtastic `hop_start`).
    pub hop_start: u8,
    /// Queueing priority.
    pub priority: Priority,
    /// Application payload, shared by every copy.
    pub payload: Arc<[u8]>,
}

impl Packet {
    /// The header fields the managed flood decides on.
    pub fn flood_header(&self) -> FloodHeader {
        FloodHeader {
            origin: self.key.origin,
            id: self.key.id,
            dest: self.dest,
            hop_limit: self.hop_limit,
            hop_start: self.hop_start,
        }
    }
}

/// A packet waiting in the transmit queue.
#[derive(Clone, Debug)]
pub struct Queued {
    /// The packet.
    pub packet: Packet,
    /// Whether this node relays it (rather than originating it).
    pub relay: bool,
    /// Not before this time (contention delay, backoff, duty-cycle hold).
    pub ready_at: Instant,
    /// When it entered the queue.
    pub enqueued_at: Instant,
    seq: u64,
}

/// One radio's link-layer state.
#[derive(Debug)]
pub struct Mac {
    /// Random stream for contention delays.
    pub rng: Rng,
    queue: Vec<Queued>,
    capacity: usize,
    next_seq: u64,
    next_packet_id: u32,
    flood: ManagedFlood,
    duty: DutyCycleBudget,
    util_busy_us: [u64; UTIL_PERIODS],
    util_period: u64,
    /// The wake-up currently scheduled (`Instant::MAX`: none) and its generation.
    pub wake_at: Instant,
    /// Bumped whenever `wake_at` changes, so stale wake events are ignored.
    pub wake_gen: u32,
}

impl Mac {
    /// A fresh radio of node `node` in `role`, with a transmit queue of
    /// `capacity` frames, held to `duty`.
    pub fn new(node: NodeId, role: Role, rng: Rng, capacity: usize, duty: DutyCycleBudget) -> Self {
        Mac {
            rng,
            queue: Vec::with_capacity(capacity),
            capacity,
            next_seq: 0,
            next_packet_id: 1,
            flood: ManagedFlood::new(node, role),
            duty,
            util_busy_us: [0; UTIL_PERIODS],
            util_period: 0,
            wake_at: Instant::MAX,
            wake_gen: 0,
        }
    }

    /// A new packet id for a packet this node originates.
    pub fn next_packet_id(&mut self) -> u32 {
        let id = self.next_packet_id;
        self.next_packet_id = self.next_packet_id.wrapping_add(1).max(1);
        id
    }

    /// Free places in the transmit queue.
    pub fn queue_room(&self) -> usize {
        self.capacity - self.queue.len()
    }

    /// Queues a packet; gives it back if the queue is full.
    pub fn enqueue(
        &mut self,
        packet: Packet,
        relay: bool,
        now: Instant,
        ready_at: Instant,
    ) -> Result<(), Packet> {
        if self.queue.len() >= self.capacity {
            return Err(packet);
        }
        self.queue.push(Queued {
            packet,
            relay,
            ready_at,
            enqueued_at: now,
            seq: self.next_seq,
        });
        self.next_seq += 1;
        Ok(())
    }

    /// Index of the packet to send now: ready, highest priority, then oldest.
    pub fn pick_ready(&self, now: Instant) -> Option<usize> {
        self.queue
            .iter()
            .enumerate()
            .filter(|(_, q)| q.ready_at <= now)
            .max_by_key(|(_, q)| (q.packet.priority, std::cmp::Reverse(q.seq)))
            .map(|(i, _)| i)
    }

    /// When the next queued packet becomes ready.
    pub fn next_ready(&self) -> Option<Instant> {
        self.queue.iter().map(|q| q.ready_at).min()
    }

    /// The queued packet at `i`.
    pub fn queued_mut(&mut self, i: usize) -> &mut Queued {
        &mut self.queue[i]
    }

    /// Removes and returns the queued packet at `i`.
    pub fn take(&mut self, i: usize) -> Queued {
        self.queue.remove(i)
    }

    /// Removes packets that have waited longer than `max_delay`.
    pub fn take_stale(&mut self, now: Instant, max_delay: Duration, out: &mut Vec<Queued>) {
        let mut i = 0;
        while i < self.queue.len() {
            if now - self.queue[i].enqueued_at > max_delay {
                out.push(self.queue.remove(i));
            } else {
                i += 1;
            }
        }
    }

    /// Empties the queue (the node went down).
    pub fn take_all(&mut self) -> Vec<Queued> {
        std::mem::take(&mut self.queue)
    }

    /// Cancels a queued relay of `key`; true if there was one.
    pub fn cancel_relay(&mut self, key: PacketKey) -> bool {
        match self
            .queue
            .iter()
            .position(|q| q.relay && q.packet.key == key)
        {
            Some(i) => {
                self.queue.remove(i);
                true
            }
            None => false,
        }
    }

    /// The radio's Meshtastic role.
    pub fn role(&self) -> Role {
        self.flood.role()
    }

    /// The managed flood's decision on a decoded packet (it is remembered).
    pub fn receive(&mut self, packet: &Packet) -> FloodDecision {
        self.flood.receive(&packet.flood_header())
    }

    /// Forgets everything volatile (a reboot): the queue and the packet history.
    pub fn reboot(&mut self) {
        self.queue.clear();
        self.flood.forget();
    }

    /// Records channel-busy time ending at `end` (for channel utilisation).
    pub fn note_busy(&mut self, end: Instant, busy: Duration) {
        let period = end.as_micros() / UTIL_PERIOD_US;
        self.roll(period);
        self.util_busy_us[(period % UTIL_PERIODS as u64) as usize] += busy.as_micros();
    }

    /// Channel utilisation over the last minute, percent.
    pub fn channel_util_pct(&mut self, now: Instant) -> u64 {
        self.roll(now.as_micros() / UTIL_PERIOD_US);
        let busy: u64 = self.util_busy_us.iter().sum();
        (busy * 100 / (UTIL_PERIOD_US * UTIL_PERIODS as u64)).min(100)
    }

    /// Channel utilisation over the last minute, as [`Mac::channel_util_pct`]
    /// but read-only (buckets older than the window are left out rather
    /// than cleared), percent.
    pub fn channel_util_now_pct(&self, now: Instant) -> f64 {
        let period = now.as_micros() / UTIL_PERIOD_US;
        let oldest = period.saturating_sub(UTIL_PERIODS as u64 - 1);
        let first = oldest.max(self.util_period.saturating_sub(UTIL_PERIODS as u64 - 1));
        let busy: u64 = (first..=self.util_period)
            .map(|p| self.util_busy_us[(p % UTIL_PERIODS as u64) as usize])
            .sum();
        (busy as f64 * 100.0 / (UTIL_PERIOD_US * UTIL_PERIODS as u64) as f64).min(100.0)
    }

    fn roll(&mut self, period: u64) {
        if period <= self.util_period {
            return;
        }
        let steps = (period - self.util_period).min(UTIL_PERIODS as u64);
        for k in 1..=steps {
            self.util_busy_us[((self.util_period + k) % UTIL_PERIODS as u64) as usize] = 0;
        }
        self.util_period = period;
    }

    /// Delay before sending an original packet, or retrying after the
    /// channel was busy ([`meshtastic::tx_delay`] at the current channel
    /// utilisation).
    pub fn tx_delay(&mut self, now: Instant, slot: Duration) -> Duration {
        let util = self.channel_util_pct(now);
        meshtastic::tx_delay(util, slot, &mut self.rng)
    }

    /// Delay before relaying a packet heard at `snr_db`
    /// ([`meshtastic::relay_delay`] for this radio's role).
    pub fn relay_delay(&mut self, snr_db: f64, slot: Duration) -> Duration {
        meshtastic::relay_delay(self.flood.role(), snr_db, slot, &mut self.rng)
    }

    /// When a frame of `airtime` may start at or after `now` within the
    /// duty-cycle budget; `None` if never.
    pub fn duty_allowed_at(&mut self, now: Instant, airtime: Duration) -> Option<Instant> {
        self.duty.allowed_at(now, airtime)
    }

    /// Records a transmission for the duty-cycle budget.
    pub fn note_tx(&mut self, start: Instant, airtime: Duration) {
        self.duty.record(start, airtime);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Instant {
        Instant::from_micros(ms * 1_000)
    }

    #[test]
    fn queue_picks_ready_by_priority_then_age_and_cancels_relays() {
        let mut m = mac(3);
        let p = |origin: u32, prio| Packet {
            key: PacketKey {
                origin: node_core::NodeId(origin),
                id: 1,
            },
            dest: Destination::Broadcast,
            hop_limit: 3,
            hop_start: 3,
            priority: prio,
            payload: Arc::from(&b"x"[..]),
        };
        m.enqueue(p(1, Priority::Normal), true, t(0), t(5)).unwrap();
        m.enqueue(p(2, Priority::High), false, t(1), t(50)).unwrap();
        m.enqueue(p(3, Priority::Normal), false, t(2), t(3))
            .unwrap();
        assert!(
            m.enqueue(p(4, Priority::High), false, t(3), t(0)).is_err(),
            "full"
        );
        assert_eq!(m.pick_ready(t(10)), Some(0), "oldest of equal priority");
        assert_eq!(m.pick_ready(t(60)), Some(1), "priority first");
        assert_eq!(m.next_ready(), Some(t(3)));
        assert!(m.cancel_relay(PacketKey {
            origin: node_core::NodeId(1),
            id: 1
        }));
        assert!(
            !m.cancel_relay(PacketKey {
                origin: node_core::NodeId(3),
                id: 1
            }),
            "not a relay"
        );
        assert_eq!(m.queue_room(), 1);
    }

    fn mac(capacity: usize) -> Mac {
        Mac::new(
            node_core::NodeId(9),
            Role::Client,
            Rng::derive(1, "t", 0),
            capacity,
            DutyCycleBudget::new(Duration::from_secs(3600), 10.0),
        )
    }

    #[test]
    fn a_reboot_forgets_the_queue_and_the_packets_seen() {
        let mut m = mac(3);
        let packet = Packet {
            key: PacketKey {
                origin: node_core::NodeId(1),
                id: 5,
            },
            dest: Destination::Broadcast,
            hop_limit: 3,
            hop_start: 3,
            priority: Priority::Normal,
            payload: Arc::from(&b"x"[..]),
        };
        assert!(!m.receive(&packet).duplicate);
        assert!(m.receive(&packet).duplicate);
        m.enqueue(packet.clone(), true, t(0), t(1)).unwrap();
        m.reboot();
        assert_eq!(m.queue_room(), 3);
        assert!(!m.receive(&packet).duplicate, "forgotten");
    }
}
