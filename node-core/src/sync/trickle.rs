//! The Trickle algorithm (RFC 6206), sans-IO.
//!
//! A node advertises a summary of its state at a random point in the second
//! half of an interval `I`. Each interval in which everything it hears is
//! consistent doubles `I`, up to `Imax`; hearing `k` consistent summaries in
//! an interval suppresses its own; an inconsistency shrinks `I` back to
//! `Imin`. Steady state costs a handful of summaries per neighbourhood per
//! `Imax`; a change propagates at the speed of `Imin`.

use crate::rng::Rng;
use crate::time::{Duration, Instant};

/// Trickle's parameters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TrickleConfig {
    /// Smallest interval.
    pub imin: Duration,
    /// Largest interval.
    pub imax: Duration,
    /// Redundancy constant: consistent summaries heard that suppress ours.
    pub k: u32,
}

/// One Trickle timer.
#[derive(Clone, Debug)]
pub struct Trickle {
    config: TrickleConfig,
    interval: Duration,
    start: Instant,
    fire_at: Instant,
    fired: bool,
    heard: u32,
}

impl Trickle {
    /// Starts a timer at `now` with the smallest interval (a node that just
    /// booted wants to compare notes soon).
    pub fn new(config: TrickleConfig, now: Instant, rng: &mut Rng) -> Self {
        let mut t = Trickle {
            config,
            interval: config.imin,
            start: now,
            fire_at: now,
            fired: false,
            heard: 0,
        };
        t.begin(now, rng);
        t
    }

    fn begin(&mut self, now: Instant, rng: &mut Rng) {
        self.start = now;
        self.heard = 0;
        self.fired = false;
        let half = self.interval.as_micros() / 2;
        self.fire_at = now + Duration::from_micros(half + rng.below(half.max(1)));
    }

    /// When [`Trickle::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Instant {
        if self.fired {
            self.start + self.interval
        } else {
            self.fire_at
        }
    }

    /// Advances the timer; returns true when the node should transmit its
    /// summary now.
    pub fn handle_timeout(&mut self, now: Instant, rng: &mut Rng) -> bool {
        let mut transmit = false;
        if !self.fired && now >= self.fire_at {
            self.fired = true;
            transmit = self.heard < self.config.k;
        }
        if now >= self.start + self.interval {
            self.interval = Duration::from_micros(
                (self.interval.as_micros() * 2).min(self.config.imax.as_micros()),
            );
            self.begin(now, rng);
        }
        transmit
    }

    /// A neighbour's summary agreed with ours.
    pub fn hear_consistent(&mut self) {
        self.heard = self.heard.saturating_add(1);
    }

    /// Something disagreed with our state (or our state changed): start over
    /// at `Imin` unless already there.
    pub fn hear_inconsistent(&mut self, now: Instant, rng: &mut Rng) {
        if self.interval > self.config.imin {
            self.interval = self.config.imin;
            self.begin(now, rng);
        }
    }

    /// The current interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TrickleConfig {
        TrickleConfig {
            imin: Duration::from_secs(10),
            imax: Duration::from_secs(640),
            k: 1,
        }
    }

    /// Runs a lone timer for `secs`, counting transmissions.
    fn run(t: &mut Trickle, rng: &mut Rng, from: Instant, secs: u64) -> u32 {
        let end = from + Duration::from_secs(secs);
        let mut sent = 0;
        loop {
            let at = t.poll_timeout();
            if at > end {
                return sent;
            }
            sent += u32::from(t.handle_timeout(at, rng));
        }
    }

    #[test]
    fn a_consistent_node_backs_off_to_imax() {
        let mut rng = Rng::derive(1, "trickle", 0);
        let mut t = Trickle::new(config(), Instant::ZERO, &mut rng);
        // Intervals 10, 20, …, 640 s: 7 transmissions in the first 1270 s.
        assert_eq!(run(&mut t, &mut rng, Instant::ZERO, 1270), 7);
        assert_eq!(t.interval(), Duration::from_secs(640));
        // Then one per 640 s.
        let sent = run(
            &mut t,
            &mut rng,
            Instant::ZERO + Duration::from_secs(1270),
            6400,
        );
        assert!((9..=11).contains(&sent), "{sent}");
    }

    #[test]
    fn hearing_k_consistent_summaries_suppresses_ours() {
        let mut rng = Rng::derive(2, "trickle", 0);
        let mut t = Trickle::new(config(), Instant::ZERO, &mut rng);
        t.hear_consistent();
        let at = t.poll_timeout();
        assert!(!t.handle_timeout(at, &mut rng));
    }

    #[test]
    fn an_inconsistency_resets_to_imin() {
        let mut rng = Rng::derive(3, "trickle", 0);
        let mut t = Trickle::new(config(), Instant::ZERO, &mut rng);
        run(&mut t, &mut rng, Instant::ZERO, 2000);
        let now = Instant::ZERO + Duration::from_secs(2000);
        t.hear_inconsistent(now, &mut rng);
        assert_eq!(t.interval(), Duration::from_secs(10));
        let at = t.poll_timeout();
        assert!(at >= now + Duration::from_secs(5) && at < now + Duration::from_secs(10));
    }
}
