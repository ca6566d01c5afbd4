//! Per-node duty-cycle accounting from `TxStart` records: each node's
//! largest airtime in any window of the regional length (one hour in
//! EU868).
//!
//! The simulator's invariant checker measures the same thing on its own
//! (`sim::check`); the two share no code, so the report is an independent
//! second measurement rather than a copy of the checker's.
//!
//! Exact: a window's airtime can only grow while its end moves through a
//! transmission, so the largest window of a node ends at the end of one of
//! its transmissions, and those are the only windows measured.

use std::collections::VecDeque;

use node_core::Duration;

/// One node's transmissions that may still fall in a window.
#[derive(Clone, Debug, Default)]
struct Recent {
    /// (start, end) µs, in order of start.
    txs: VecDeque<(u64, u64)>,
    /// Σ (end − start) over `txs`, µs.
    total_us: u64,
    /// Largest airtime of any window so far, µs.
    max_us: u64,
}

/// Each node's largest airtime in any window of a given length.
#[derive(Clone, Debug)]
pub struct DutyMeter {
    window_us: u64,
    nodes: Vec<Recent>,
}

impl DutyMeter {
    /// A meter for `nodes` nodes over windows of `window`.
    pub fn new(nodes: usize, window: Duration) -> Self {
        DutyMeter {
            window_us: window.as_micros().max(1),
            nodes: vec![Recent::default(); nodes],
        }
    }

    /// Counts a transmission of `node` from `start_us` to `end_us`
    /// (transmissions arrive in order of start, as the trace has them).
    pub fn on_tx(&mut self, node: usize, start_us: u64, end_us: u64) {
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        // The window (from, end_us].
        let from = end_us.saturating_sub(self.window_us);
        while let Some(&(s, e)) = n.txs.front() {
            if e > from {
                break;
            }
            n.txs.pop_front();
            n.total_us -= e - s;
        }
        n.txs.push_back((start_us, end_us));
        n.total_us += end_us - start_us;
        // Only transmissions that started before the window are partly
        // outside it; they are at the front.
        let outside_us: u64 = n
            .txs
            .iter()
            .take_while(|(s, _)| *s < from)
            .map(|(s, _)| from - s)
            .sum();
        n.max_us = n.max_us.max(n.total_us - outside_us);
    }

    /// A node's largest share of any window, percent.
    pub fn max_pct(&self, node: usize) -> f64 {
        self.pct(self.nodes.get(node).map_or(0, |n| n.max_us))
    }

    /// The largest share of any node, and the first node with it.
    pub fn overall_max_pct(&self) -> (f64, usize) {
        let mut best = (0u64, 0usize);
        for (i, n) in self.nodes.iter().enumerate() {
            if n.max_us > best.0 {
                best = (n.max_us, i);
            }
        }
        (self.pct(best.0), best.1)
    }

    fn pct(&self, us: u64) -> f64 {
        us as f64 * 100.0 / self.window_us as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, window by window: the largest overlap of the
    /// transmissions with any window (t − W, t] ending at a transmission end.
    fn brute_force_us(txs: &[(u64, u64)], window_us: u64) -> u64 {
        txs.iter()
            .map(|&(_, end)| {
                let from = end.saturating_sub(window_us);
                txs.iter()
                    .filter(|(s, e)| *e > from && *s < end)
                    .map(|(s, e)| (*e).min(end) - (*s).max(from))
                    .sum()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn matches_the_definition_on_irregular_transmissions() {
        let window = Duration::from_secs(10);
        let mut txs = Vec::new();
        let mut t = 0u64;
        // A deterministic mix of short and long frames and gaps.
        for k in 0..200u64 {
            let len = 100_000 + (k * 7_919) % 1_900_000;
            let gap = (k * 104_729) % 6_000_000;
            txs.push((t, t + len));
            t += len + gap;
        }
        let mut m = DutyMeter::new(2, window);
        for &(s, e) in &txs {
            m.on_tx(1, s, e);
        }
        let want = brute_force_us(&txs, window.as_micros());
        assert_eq!(m.max_pct(1), want as f64 * 100.0 / 10e6);
        assert_eq!(m.max_pct(0), 0.0);
        assert_eq!(m.overall_max_pct(), (want as f64 * 100.0 / 10e6, 1));
    }

    #[test]
    fn a_window_counts_only_its_part_of_a_long_frame() {
        let mut m = DutyMeter::new(1, Duration::from_secs(1));
        m.on_tx(0, 0, 3_000_000);
        assert_eq!(m.max_pct(0), 100.0);
        let mut m = DutyMeter::new(2, Duration::from_secs(100));
        m.on_tx(0, 0, 1_000_000);
        m.on_tx(1, 0, 1_000_000);
        m.on_tx(0, 150_000_000, 151_000_000);
        // Ties go to the first node; unknown nodes are ignored.
        m.on_tx(7, 0, 1);
        assert_eq!(m.overall_max_pct(), (1.0, 0));
    }
}
