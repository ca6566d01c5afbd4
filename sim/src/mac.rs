//! The Meshtastic link layer of one simulated radio (firmware
//! `FloodingRouter.cpp`, `RadioInterface.cpp`, `RadioLibInterface.cpp`,
//! `AirTime.cpp`): the transmit queue, its one transmit timer, contention
//! delays, channel utilisation, and the node-core rules it applies — the
//! managed flood ([`ManagedFlood`]), the transmit-timer discipline
//! ([`meshtastic::TransmitTimer`], [`meshtastic::transmit_delay`]) and the
//! duty-cycle budget ([`DutyCycleBudget`]). The engine (`world`) drives it;
//! this module holds the per-node state.
//!
//! The queue is the firmware's `MeshPacketQueue`: the head is the packet of
//! highest priority, oldest first. Only the head has a timer; when it fires
//! and the channel is free, the head goes out. Where okmesh differs: the
//! firmware refuses to queue a packet over the duty cycle; okmesh holds the
//! head until the budget allows it (or drops it after
//! `mesh.max_queue_delay`), and drops packets that waited longer than that.

use std::sync::Arc;

use node_core::radio::meshtastic;
use node_core::radio::meshtastic::TransmitTimer;
use node_core::radio::{DutyCycleBudget, FloodDecision, FloodHeader, ManagedFlood, Role};
use node_core::transport::{Destination, Priority};
use node_core::{Duration, Instant, NodeId, Rng};

use crate::engine::TimerSlot;
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
    /// The SNR this node heard it at, if it relays it (the firmware's
    /// `rx_snr`; `None`: this node made it).
    pub rx_snr_db: Option<f64>,
    /// When it entered the queue.
    pub enqueued_at: Instant,
    seq: u64,
}

impl Queued {
    /// Whether this node relays it (rather than originating it).
    pub fn relay(&self) -> bool {
        self.rx_snr_db.is_some()
    }
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
    /// The one transmit timer, for the head of the queue.
    timer: TransmitTimer,
    /// The timer's place in the event queue: the engine arms it whenever
    /// `timer` is armed, and it is disarmed with `timer`.
    pub wake: TimerSlot,
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
            timer: TransmitTimer::default(),
            wake: TimerSlot::default(),
        }
    }

    /// The counter the next packet id is made from (what an attacker that
    /// counts this node's packets would predict).
    pub fn peek_packet_id(&self) -> u32 {
        self.next_packet_id
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

    /// Queues a packet, heard at `rx_snr_db` if this node relays it; gives
    /// it back if the queue is full. (The caller then arms the timer: the
    /// firmware's `send` calls `setTransmitDelay`.)
    pub fn enqueue(
        &mut self,
        packet: Packet,
        rx_snr_db: Option<f64>,
        now: Instant,
    ) -> Result<(), Packet> {
        if self.queue.len() >= self.capacity {
            return Err(packet);
        }
        self.queue.push(Queued {
            packet,
            rx_snr_db,
            enqueued_at: now,
            seq: self.next_seq,
        });
        self.next_seq += 1;
        Ok(())
    }

    /// Index of the head of the queue (firmware `MeshPacketQueue::getFront`):
    /// highest priority, then oldest.
    pub fn head(&self) -> Option<usize> {
        // The queue is in the order packets entered it (removals keep the
        // order), so the oldest of the highest priority is the first one
        // of that priority: one comparison of priorities per packet, where
        // comparing (priority, age) pairs cost a fifth of `setTransmitDelay`,
        // which runs after every frame a radio hears.
        debug_assert!(
            self.queue.windows(2).all(|w| w[0].seq < w[1].seq),
            "the queue keeps the order packets entered it"
        );
        let first = self.queue.first()?;
        let mut best = (0, first.packet.priority);
        for (i, q) in self.queue.iter().enumerate().skip(1) {
            if q.packet.priority > best.1 {
                best = (i, q.packet.priority);
            }
        }
        Some(best.0)
    }

    /// Whether the queue is empty.
    pub fn queue_is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The queued packet at `i`.
    pub fn queued(&self, i: usize) -> &Queued {
        &self.queue[i]
    }

    /// When the transmit timer fires, if it is armed.
    pub fn timer_due(&self) -> Option<Instant> {
        self.timer.due()
    }

    /// `setTransmitDelay` (firmware `RadioLibInterface`): unless the timer
    /// is already armed or the queue is empty, draws the head's delay
    /// ([`meshtastic::transmit_delay`]) and arms the timer; returns when it
    /// fires if it was armed now. (The firmware draws even when a timer is
    /// pending and then keeps the pending one; drawing only when arming
    /// gives the same delays.)
    pub fn set_transmit_delay(&mut self, now: Instant, slot: Duration) -> Option<Instant> {
        if self.timer.is_armed() {
            return None;
        }
        let head = self.head()?;
        let snr = self.queue[head].rx_snr_db;
        let util = self.channel_util_pct(now);
        let role = self.flood.role();
        let at = now + meshtastic::transmit_delay(snr, role, util, slot, &mut self.rng);
        self.arm(at).then_some(at)
    }

    /// Arms the timer for `at` unless it is armed; returns whether it was
    /// (the caller then arms [`Mac::wake`]).
    pub fn arm(&mut self, at: Instant) -> bool {
        self.timer.arm(at)
    }

    /// A transmission or reception ended: the pending timer is replaced
    /// (the caller then calls [`Mac::set_transmit_delay`]).
    pub fn reset_timer(&mut self) {
        if self.timer.is_armed() {
            self.timer.reset();
            self.wake.disarm();
        }
    }

    /// The timer fired.
    pub fn fire_timer(&mut self) {
        self.timer.fire();
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
            .position(|q| q.relay() && q.packet.key == key)
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

    /// Forgets everything volatile (a reboot): the queue, its timer and the
    /// packet history.
    pub fn reboot(&mut self) {
        self.queue.clear();
        self.reset_timer();
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

    fn packet(origin: u32, prio: Priority) -> Packet {
        Packet {
            key: PacketKey {
                origin: node_core::NodeId(origin),
                id: 1,
            },
            dest: Destination::Broadcast,
            hop_limit: 3,
            hop_start: 3,
            priority: prio,
            payload: Arc::from(&b"x"[..]),
        }
    }

    #[test]
    fn the_head_is_the_highest_priority_then_oldest_and_relays_cancel() {
        let mut m = mac(3);
        m.enqueue(packet(1, Priority::Normal), Some(3.0), t(0))
            .unwrap();
        m.enqueue(packet(2, Priority::Normal), None, t(1)).unwrap();
        assert_eq!(m.head(), Some(0), "oldest of equal priority");
        m.enqueue(packet(3, Priority::High), None, t(2)).unwrap();
        assert_eq!(m.head(), Some(2), "priority first");
        assert!(
            m.enqueue(packet(4, Priority::High), None, t(3)).is_err(),
            "full"
        );
        assert!(m.cancel_relay(packet(1, Priority::Normal).key));
        assert!(
            !m.cancel_relay(packet(3, Priority::High).key),
            "not a relay"
        );
        assert_eq!(m.queue_room(), 1);
    }

    #[test]
    fn the_head_is_the_oldest_of_the_highest_priority_whatever_left_the_queue() {
        let prios = [
            Priority::Background,
            Priority::Signal,
            Priority::Normal,
            Priority::High,
        ];
        let mut rng = Rng::derive(3, "head", 0);
        let mut m = mac(16);
        let mut heads = 0;
        for step in 0..5_000u32 {
            match rng.below(4) {
                0 | 1 => {
                    let p = prios[rng.below(4) as usize];
                    let relay = rng.chance(0.5).then_some(1.0);
                    let _ = m.enqueue(packet(step, p), relay, t(u64::from(step)));
                }
                2 if !m.queue_is_empty() => {
                    let i = rng.below(m.queue.len() as u64) as usize;
                    m.take(i);
                }
                _ => {
                    let stale_before = t(u64::from(step).saturating_sub(40));
                    let mut out = Vec::new();
                    m.take_stale(stale_before, Duration::ZERO, &mut out);
                }
            }
            let by_definition = m
                .queue
                .iter()
                .enumerate()
                .max_by_key(|(_, q)| (q.packet.priority, std::cmp::Reverse(q.seq)))
                .map(|(i, _)| i);
            assert_eq!(m.head(), by_definition, "step {step}");
            heads += usize::from(by_definition.is_some_and(|i| i > 0));
        }
        assert!(heads > 500, "the head is often not the first: {heads}");
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
    fn the_timer_is_armed_for_the_head_kept_while_pending_and_fresh_after_a_reset() {
        let slot = Duration::from_millis(28);
        let mut m = mac(4);
        assert_eq!(m.set_transmit_delay(t(0), slot), None, "empty queue");
        m.enqueue(packet(1, Priority::Normal), Some(-15.0), t(0))
            .unwrap();
        // A relay heard at -15 dB: 2 CWmax slots + random(2^4) slots.
        let mut replica = m.rng.clone();
        let at = m.set_transmit_delay(t(0), slot).expect("armed");
        assert_eq!(
            at,
            t(0) + meshtastic::relay_delay(Role::Client, -15.0, slot, &mut replica)
        );
        assert!(at >= t(0) + slot.saturating_mul(16));
        // Another packet does not move a pending timer.
        m.enqueue(packet(2, Priority::High), None, t(1)).unwrap();
        assert_eq!(m.set_transmit_delay(t(1), slot), None);
        assert_eq!(m.timer_due(), Some(at));
        // After an operation the head (now the high-priority own packet)
        // gets a fresh delay from the utilisation window.
        m.reset_timer();
        assert_eq!(m.timer_due(), None, "the old timer is gone");
        let mut replica = m.rng.clone();
        let again = m.set_transmit_delay(t(5), slot).expect("armed");
        assert_eq!(again, t(5) + meshtastic::tx_delay(0, slot, &mut replica));
        m.reboot();
        assert_eq!(m.timer_due(), None);
    }

    #[test]
    fn a_reboot_forgets_the_queue_and_the_packets_seen() {
        let mut m = mac(3);
        let packet = Packet {
            key: PacketKey {
                origin: node_core::NodeId(1),
                id: 5,
            },
            ..packet(1, Priority::Normal)
        };
        assert!(!m.receive(&packet).duplicate);
        assert!(m.receive(&packet).duplicate);
        m.enqueue(packet.clone(), Some(0.0), t(0)).unwrap();
        m.reboot();
        assert_eq!(m.queue_room(), 3);
        assert!(!m.receive(&packet).duplicate, "forgotten");
    }
}
