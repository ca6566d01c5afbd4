//! The transmit duty-cycle budget of one radio (firmware `AirTime.cpp`;
//! EU868 rules: at most a share of any sliding window spent transmitting),
//! the one accounting every driver uses: the simulator's link layer holds
//! frames back with it, the device emulator refuses packets with it, and
//! hw-bridge's driver reports the node's own airtime with it.
//!
//! The budget is exact: it keeps each transmission's interval and measures
//! the window that would end with the frame being considered. It reads no
//! clock; every call says what time it is, and calls come in time order.

use std::collections::VecDeque;

use crate::time::{Duration, Instant};

/// The window over which Meshtastic measures the duty cycle: one hour.
pub const DUTY_CYCLE_WINDOW: Duration = Duration::from_secs(3_600);

/// Most transmissions one budget keeps apart. Beyond it the two oldest are
/// merged into one interval of their total airtime ending where the later
/// ended: it leaves the window no sooner, so the budget only errs on the
/// safe side. (A radio at a 10 % limit cannot send this many frames within
/// an hour at any LoRa setting; the bound keeps memory fixed for drivers
/// that only measure.)
pub const MAX_RECORDED_TRANSMISSIONS: usize = 65_536;

/// One radio's transmissions within the last window, and its limit.
#[derive(Clone, Debug)]
pub struct DutyCycleBudget {
    window: Duration,
    limit_pct: f64,
    /// (start, end) of each transmission, oldest first.
    txs: VecDeque<(Instant, Instant)>,
}

impl DutyCycleBudget {
    /// A budget allowing `limit_pct` percent of any `window` (100 or more:
    /// no limit, the budget only measures).
    pub fn new(window: Duration, limit_pct: f64) -> Self {
        DutyCycleBudget {
            window,
            limit_pct,
            txs: VecDeque::new(),
        }
    }

    /// The window the limit applies to.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The limit, percent of the window.
    pub fn limit_pct(&self) -> f64 {
        self.limit_pct
    }

    /// Records a transmission of `airtime` starting at `start`.
    pub fn record(&mut self, start: Instant, airtime: Duration) {
        self.forget_before(start);
        if self.txs.len() >= MAX_RECORDED_TRANSMISSIONS
            && let (Some((s1, e1)), Some((s2, e2))) = (self.txs.pop_front(), self.txs.pop_front())
        {
            let total = (e1 - s1).saturating_add(e2 - s2);
            self.txs.push_front((e2.saturating_sub(total), e2));
        }
        self.txs.push_back((start, start + airtime));
    }

    /// The earliest start `t ≥ now` at which a frame of `airtime` keeps
    /// every window within the limit; `None` if no time ever does (the
    /// frame alone is over budget).
    ///
    /// Checking the window that ends with the new frame suffices: any
    /// earlier-ending window holds no more. If it is over, its start slides
    /// past the oldest airtime until the excess has left it.
    pub fn allowed_at(&mut self, now: Instant, airtime: Duration) -> Option<Instant> {
        if self.limit_pct >= 100.0 {
            return Some(now);
        }
        let w = self.window.as_micros();
        let budget = (w as f64 * self.limit_pct / 100.0) as u64;
        let a = airtime.as_micros();
        let room = budget.checked_sub(a)?; // airtime the past may still use
        self.forget_before(now);
        let s0 = (now.as_micros() + a).saturating_sub(w);
        let mut excess = self.used_since(s0).saturating_sub(room);
        if excess == 0 {
            return Some(now);
        }
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

    /// Whether a frame of `airtime` may start at `now`.
    pub fn may_send(&mut self, now: Instant, airtime: Duration) -> bool {
        self.allowed_at(now, airtime) == Some(now)
    }

    /// Airtime within the window ending at `now`; a transmission still on
    /// the air counts whole.
    pub fn used(&self, now: Instant) -> Duration {
        let start = now.as_micros().saturating_sub(self.window.as_micros());
        Duration::from_micros(self.used_since(start))
    }

    /// [`DutyCycleBudget::used`] as a share of the window, percent.
    pub fn used_pct(&self, now: Instant) -> f64 {
        let w = self.window.as_micros();
        if w == 0 {
            return 0.0;
        }
        self.used(now).as_micros() as f64 * 100.0 / w as f64
    }

    /// Airtime from `start_us` on.
    fn used_since(&self, start_us: u64) -> u64 {
        self.txs
            .iter()
            .map(|(st, en)| en.as_micros().saturating_sub(st.as_micros().max(start_us)))
            .sum()
    }

    /// Drops transmissions that ended a whole window before `now`: no
    /// window considered from now on reaches back to them.
    fn forget_before(&mut self, now: Instant) {
        let w = self.window.as_micros();
        while self
            .txs
            .front()
            .is_some_and(|(_, e)| e.as_micros().saturating_add(w) <= now.as_micros())
        {
            self.txs.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Instant {
        Instant::from_micros(ms * 1_000)
    }
    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_frame_waits_until_old_airtime_slides_out() {
        // 10 % of a 100 s window = 10 s budget.
        let mut d = DutyCycleBudget::new(secs(100), 10.0);
        d.record(t(0), secs(6));
        d.record(t(10_000), secs(3));
        // 9 s used; a 2 s frame at 20 s would make 11 s. The window ending
        // with it must start after 1 s of the first frame has left.
        assert_eq!(d.allowed_at(t(20_000), secs(2)), Some(t(99_000)));
        assert!(!d.may_send(t(20_000), secs(2)));
        assert!(d.may_send(t(20_000), secs(1)));
        assert_eq!(d.allowed_at(t(20_000), secs(11)), None, "over budget alone");
        let mut free = DutyCycleBudget::new(secs(100), 100.0);
        assert_eq!(free.allowed_at(t(20_000), secs(50)), Some(t(20_000)));
    }

    #[test]
    fn used_airtime_leaves_the_window_as_it_slides() {
        let mut d = DutyCycleBudget::new(DUTY_CYCLE_WINDOW, 100.0);
        let at = |s: u64| Instant::ZERO + secs(s);
        d.record(at(10), secs(36));
        d.record(at(70), secs(36));
        assert_eq!(d.used(at(100)), secs(72));
        assert!((d.used_pct(at(100)) - 2.0).abs() < 1e-9);
        // The window ending at 3,630 s starts at 30 s: 16 s of the first
        // frame are left in it.
        assert_eq!(d.used(at(3_630)), secs(16 + 36));
        assert_eq!(d.used(at(3_706)), Duration::ZERO);
        // A frame on the air counts whole.
        d.record(at(4_000), secs(2));
        assert_eq!(d.used(at(4_000)), secs(2));
    }

    #[test]
    fn memory_is_bounded_and_merging_never_undercounts() {
        let mut d = DutyCycleBudget::new(DUTY_CYCLE_WINDOW, 100.0);
        let n = MAX_RECORDED_TRANSMISSIONS as u64 + 10;
        for i in 0..n {
            d.record(Instant::from_micros(i * 20), Duration::from_micros(10));
        }
        assert!(d.txs.len() <= MAX_RECORDED_TRANSMISSIONS);
        let now = Instant::from_micros(n * 20);
        assert_eq!(d.used(now), Duration::from_micros(n * 10));
    }

    #[test]
    fn a_zero_window_never_refuses() {
        let mut d = DutyCycleBudget::new(Duration::ZERO, 10.0);
        d.record(t(5), Duration::ZERO);
        assert!(d.may_send(t(5), Duration::ZERO));
        assert_eq!(d.used_pct(t(5)), 0.0);
    }
}
