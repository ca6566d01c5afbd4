//! The Meshtastic link layer of one simulated radio (firmware
//! `FloodingRouter.cpp`, `RadioInterface.cpp`, `AirTime.cpp`): the transmit
//! queue, contention delays, duplicate suppression, relay cancellation and
//! the duty-cycle budget. The engine (`world`) drives it; this module holds
//! the per-node state and the rules.

use std::collections::VecDeque;
use std::sync::Arc;

use node_core::radio::{SEEN_CAPACITY, SeenPackets};
use node_core::transport::{Destination, Priority};
use node_core::{Duration, Instant, Rng};
use scenarios::Role;

use crate::trace::PacketKey;

/// Smallest contention window exponent (firmware `CWmin`).
pub const CW_MIN: u32 = 3;
/// Largest contention window exponent (firmware `CWmax`).
pub const CW_MAX: u32 = 8;
/// SNR mapped to `CW_MIN` (firmware `SNR_MIN`).
const SNR_MIN_DB: i64 = -20;
/// SNR mapped to `CW_MAX` (firmware `SNR_MAX`).
const SNR_MAX_DB: i64 = 10;
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
    /// Meshtastic role.
    pub role: Role,
    /// Random stream for contention delays.
    pub rng: Rng,
    queue: Vec<Queued>,
    capacity: usize,
    next_seq: u64,
    next_packet_id: u32,
    seen: SeenPackets<PacketKey>,
    duty: DutyWindow,
    util_busy_us: [u64; UTIL_PERIODS],
    util_period: u64,
    /// The wake-up currently scheduled (`Instant::MAX`: none) and its generation.
    pub wake_at: Instant,
    /// Bumped whenever `wake_at` changes, so stale wake events are ignored.
    pub wake_gen: u32,
}

impl Mac {
    /// A fresh radio.
    pub fn new(role: Role, rng: Rng, capacity: usize, duty_window: Duration) -> Self {
        Mac {
            role,
            rng,
            queue: Vec::with_capacity(capacity),
            capacity,
            next_seq: 0,
            next_packet_id: 1,
            seen: SeenPackets::new(SEEN_CAPACITY),
            duty: DutyWindow::new(duty_window),
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

    /// Whether `key` was seen before; remembers it either way.
    pub fn check_and_mark_seen(&mut self, key: PacketKey) -> bool {
        !self.seen.insert(key)
    }

    /// Forgets everything volatile (a reboot): the queue and the packet history.
    pub fn reboot(&mut self) {
        self.queue.clear();
        self.seen.clear();
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
    /// channel was busy: random(0, 2^CW) slots, CW growing with channel
    /// utilisation (firmware `getTxDelayMsec`).
    pub fn tx_delay(&mut self, now: Instant, slot: Duration) -> Duration {
        let util = self.channel_util_pct(now);
        let cw = (util * u64::from(CW_MAX - CW_MIN) / 100) as u32 + CW_MIN;
        slot.saturating_mul(self.rng.below(1 << cw))
    }

    /// Delay before relaying a packet heard at `snr_db` (firmware
    /// `getTxDelayMsecWeighted`): the better the SNR, the longer a client
    /// waits, so farther nodes relay first; routers go ahead of clients.
    pub fn relay_delay(&mut self, snr_db: f64, slot: Duration) -> Duration {
        let cw = contention_window(snr_db);
        if self.role == Role::Router {
            slot.saturating_mul(self.rng.below(2 * u64::from(cw)))
        } else {
            slot.saturating_mul(2 * u64::from(CW_MAX) + self.rng.below(1 << cw))
        }
    }

    /// When a frame of `airtime` may start at or after `now` without the
    /// node exceeding `limit_pct` of any duty-cycle window; `None` if never.
    pub fn duty_allowed_at(
        &mut self,
        now: Instant,
        airtime: Duration,
        limit_pct: f64,
    ) -> Option<Instant> {
        self.duty.allowed_at(now, airtime, limit_pct)
    }

    /// Records a transmission for the duty-cycle budget.
    pub fn note_tx(&mut self, start: Instant, end: Instant) {
        self.duty.push(start, end);
    }
}

/// The contention window exponent for an SNR: `CW_MIN` at −20 dB up to
/// `CW_MAX` at +10 dB, linearly with integer arithmetic like Arduino `map()`.
pub fn contention_window(snr_db: f64) -> u32 {
    let snr = (snr_db as i64).clamp(SNR_MIN_DB, SNR_MAX_DB);
    ((snr - SNR_MIN_DB) * i64::from(CW_MAX - CW_MIN) / (SNR_MAX_DB - SNR_MIN_DB)) as u32 + CW_MIN
}

/// A node's own transmissions within the last duty-cycle window.
#[derive(Debug)]
struct DutyWindow {
    window: Duration,
    txs: VecDeque<(Instant, Instant)>,
}

impl DutyWindow {
    fn new(window: Duration) -> Self {
        DutyWindow {
            window,
            txs: VecDeque::new(),
        }
    }

    fn push(&mut self, start: Instant, end: Instant) {
        self.txs.push_back((start, end));
    }

    /// The earliest start `t ≥ now` such that the window ending at `t +
    /// airtime` holds at most the budget. Checking the window that ends with
    /// the new frame suffices: any earlier-ending window holds no more.
    fn allowed_at(&mut self, now: Instant, airtime: Duration, limit_pct: f64) -> Option<Instant> {
        if limit_pct >= 100.0 {
            return Some(now);
        }
        let w = self.window.as_micros();
        let budget = (w as f64 * limit_pct / 100.0) as u64;
        let a = airtime.as_micros();
        let room = budget.checked_sub(a)?; // airtime the past may still use
        while self
            .txs
            .front()
            .is_some_and(|(_, e)| e.as_micros() + w <= now.as_micros())
        {
            self.txs.pop_front();
        }
        let s0 = (now.as_micros() + a).saturating_sub(w);
        let used = |s: u64| -> u64 {
            self.txs
                .iter()
                .map(|(st, en)| en.as_micros().saturating_sub(st.as_micros().max(s)))
                .sum()
        };
        let mut excess = used(s0).saturating_sub(room);
        if excess == 0 {
            return Some(now);
        }
        // Slide the window start past the oldest airtime until it fits.
        let mut s = s0;
        for (st, en) in &self.txs {
            let (st, en) = (st.as_micros().max(s), en.as_micros());
            if en <= st {
                continue;
            }
            let len = en - st;
            if excess >= len {
                excess -= len;
                s = en;
                if excess == 0 {
                    break;
                }
            } else {
                s = st + excess;
                break;
            }
        }
        Some(Instant::from_micros(s + w - a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Instant {
        Instant::from_micros(ms * 1_000)
    }

    #[test]
    fn contention_window_maps_snr_linearly() {
        assert_eq!(contention_window(-30.0), 3);
        assert_eq!(contention_window(-20.0), 3);
        assert_eq!(contention_window(-5.0), 5);
        assert_eq!(contention_window(10.0), 8);
        assert_eq!(contention_window(25.0), 8);
    }

    #[test]
    fn duty_window_holds_until_old_airtime_slides_out() {
        // 10 % of a 100 s window = 10 s budget.
        let mut d = DutyWindow::new(Duration::from_secs(100));
        d.push(t(0), t(6_000));
        d.push(t(10_000), t(13_000));
        // 9 s used; a 2 s frame at 20 s would make 11 s.
        let at = d
            .allowed_at(t(20_000), Duration::from_secs(2), 10.0)
            .unwrap();
        // The window ending at at+2 s must start after 1 s of the first frame has left.
        assert_eq!(at, t(99_000));
        assert_eq!(
            d.allowed_at(t(20_000), Duration::from_secs(1), 10.0),
            Some(t(20_000))
        );
        assert_eq!(d.allowed_at(t(20_000), Duration::from_secs(11), 10.0), None);
        assert_eq!(
            d.allowed_at(t(20_000), Duration::from_secs(50), 100.0),
            Some(t(20_000))
        );
    }

    #[test]
    fn queue_picks_ready_by_priority_then_age_and_cancels_relays() {
        let mut m = Mac::new(
            Role::Client,
            Rng::derive(1, "t", 0),
            3,
            Duration::from_secs(3600),
        );
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

    #[test]
    fn seen_set_is_bounded() {
        let mut m = Mac::new(
            Role::Client,
            Rng::derive(1, "t", 0),
            3,
            Duration::from_secs(3600),
        );
        let k = |id| PacketKey {
            origin: node_core::NodeId(0),
            id,
        };
        assert!(!m.check_and_mark_seen(k(0)));
        assert!(m.check_and_mark_seen(k(0)));
        for id in 1..=SEEN_CAPACITY as u32 {
            m.check_and_mark_seen(k(id));
        }
        assert!(!m.check_and_mark_seen(k(0)), "oldest forgotten");
    }
}
