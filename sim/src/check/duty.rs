//! The duty-cycle meter: each node's largest transmit share over any window.

use std::collections::VecDeque;

use node_core::Duration;

use crate::trace::{Record, TraceSink};

/// Measures each node's largest transmit share over any window of a given
/// length (exact, from TxStart records).
#[derive(Clone, Debug)]
pub struct DutyCycleMeter {
    window_us: u64,
    recent: Vec<OwnTxs>,
    max_us: Vec<u64>,
}

/// A node's transmissions that may still fall in a window.
#[derive(Clone, Debug, Default)]
struct OwnTxs {
    /// (start, end) µs, in the order of their records.
    txs: VecDeque<(u64, u64)>,
    /// Σ (end − start) over `txs`, µs.
    total_us: u64,
    /// Whether every transmission started no earlier than the one before
    /// (always, in a trace the engine wrote).
    in_order: bool,
}

impl DutyCycleMeter {
    /// A meter for `nodes` nodes and the given window.
    pub fn new(nodes: usize, window: Duration) -> Self {
        DutyCycleMeter {
            window_us: window.as_micros().max(1),
            recent: vec![
                OwnTxs {
                    in_order: true,
                    ..OwnTxs::default()
                };
                nodes
            ],
            max_us: vec![0; nodes],
        }
    }

    /// A node's largest transmit share of any window, percent.
    pub fn max_pct(&self, node: usize) -> f64 {
        self.max_us[node] as f64 * 100.0 / self.window_us as f64
    }

    /// The largest share of any node, and which node.
    pub fn overall_max_pct(&self) -> (f64, usize) {
        let (node, us) = self
            .max_us
            .iter()
            .enumerate()
            .max_by_key(|(i, us)| (**us, std::cmp::Reverse(*i)))
            .map_or((0, 0), |(i, us)| (i, *us));
        (us as f64 * 100.0 / self.window_us as f64, node)
    }

    fn on_tx(&mut self, node: usize, start: u64, end: u64) {
        let from = end.saturating_sub(self.window_us);
        let own = &mut self.recent[node];
        while let Some(&(s, e)) = own.txs.front() {
            if e > from {
                break;
            }
            own.txs.pop_front();
            own.total_us -= e - s;
        }
        own.in_order &= own.txs.back().is_none_or(|&(s, _)| s <= start);
        own.txs.push_back((start, end));
        own.total_us += end - start;
        // The window (from, end]: Σ (e − max(s, from)). In order of start,
        // only the first few started before `from`, so the sum is the
        // total less their parts outside (a node transmits for hours: the
        // full sum cost one step per transmission of the window).
        let used: u64 = if own.in_order {
            let outside: u64 = own
                .txs
                .iter()
                .take_while(|(s, _)| *s < from)
                .map(|(s, _)| from - s)
                .sum();
            own.total_us - outside
        } else {
            own.txs.iter().map(|(s, e)| e - (*s).max(from)).sum()
        };
        self.max_us[node] = self.max_us[node].max(used);
    }
}

impl TraceSink for DutyCycleMeter {
    fn observe(&mut self, batch: &[Record]) {
        for r in batch {
            self.observe_one(r);
        }
    }
}

impl DutyCycleMeter {
    /// Takes one record into account (only `TxStart` matters).
    #[inline]
    pub(super) fn observe_one(&mut self, r: &Record) {
        if let Record::TxStart { at, node, end, .. } = *r {
            self.on_tx(node.index(), at.as_micros(), end.as_micros());
        }
    }
}
