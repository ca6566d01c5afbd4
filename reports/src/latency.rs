//! Latencies as HDR histograms: message delivery (a chat message's
//! origination to its first decoding at each node) and item propagation
//! (a version's publication to its storing at each node).
//!
//! Histograms hold microseconds with three significant digits; their size
//! is fixed by the range, not by the number of values recorded.

use std::collections::VecDeque;

use hdrhistogram::Histogram;
use node_core::Instant;
use node_core::wire::FrameClass;
use rustc_hash::FxHashMap;
use sim::trace::PacketKey;

/// Largest latency a histogram holds (longer values are clamped): 30 days.
const MAX_LATENCY_US: u64 = 30 * 86_400 * 1_000_000;

/// Messages whose origination time is remembered at once; the oldest are
/// forgotten first (their later receptions are counted as untracked).
pub const MAX_TRACKED_MESSAGES: usize = 1 << 20;

/// An empty latency histogram (µs, 3 significant digits).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// Percentiles of one latency histogram, seconds.
#[derive(Clone, Copy, PartialEq, Debug, serde::Serialize)]
pub struct LatencySummary {
    /// Values recorded.
    pub count: u64,
    /// Mean, s.
    pub mean_s: f64,
    /// Median, s.
    pub p50_s: f64,
    /// 90th percentile, s.
    pub p90_s: f64,
    /// 99th percentile, s.
    pub p99_s: f64,
    /// Largest, s.
    pub max_s: f64,
}

impl LatencySummary {
    /// The summary of `h`; `None` when it is empty.
    pub fn of(h: &Histogram<u64>) -> Option<Self> {
        if h.is_empty() {
            return None;
        }
        let s = |us: u64| us as f64 / 1e6;
        Some(LatencySummary {
            count: h.len(),
            mean_s: h.mean() / 1e6,
            p50_s: s(h.value_at_quantile(0.5)),
            p90_s: s(h.value_at_quantile(0.9)),
            p99_s: s(h.value_at_quantile(0.99)),
            max_s: s(h.max()),
        })
    }
}

/// The cumulative distribution of `h`: (latency s, share of values ≤ it),
/// one point per distinct recorded bucket.
pub fn cdf(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let total = h.len().max(1) as f64;
    let mut seen = 0u64;
    h.iter_recorded()
        .map(|v| {
            seen += v.count_since_last_iteration();
            (
                h.highest_equivalent(v.value_iterated_to()) as f64 / 1e6,
                seen as f64 / total,
            )
        })
        .collect()
}

/// Delivery latency of chat messages.
#[derive(Clone, Debug)]
pub struct MessageLatency {
    /// Packet → (origination µs, class once its first copy went on air).
    origin: FxHashMap<PacketKey, (u64, Option<FrameClass>)>,
    order: VecDeque<PacketKey>,
    histogram: Histogram<u64>,
    forgotten: u64,
}

impl Default for MessageLatency {
    fn default() -> Self {
        MessageLatency {
            origin: FxHashMap::default(),
            order: VecDeque::new(),
            histogram: new_histogram(),
            forgotten: 0,
        }
    }
}

impl MessageLatency {
    /// The delivery latencies, µs.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.histogram
    }

    /// Messages forgotten to stay within [`MAX_TRACKED_MESSAGES`] (their
    /// later receptions are not in the histogram).
    pub fn forgotten(&self) -> u64 {
        self.forgotten
    }

    /// A message was originated.
    pub fn on_originate(&mut self, at: Instant, packet: PacketKey) {
        if self.order.len() == MAX_TRACKED_MESSAGES
            && let Some(old) = self.order.pop_front()
        {
            self.origin.remove(&old);
            self.forgotten += 1;
        }
        self.origin.insert(packet, (at.as_micros(), None));
        self.order.push_back(packet);
    }

    /// The originator's copy went on the air: now its class is known (only
    /// chat messages are remembered further).
    pub fn on_first_tx(&mut self, packet: PacketKey, class: FrameClass) {
        if class != FrameClass::Chat {
            self.origin.remove(&packet);
        } else if let Some(entry) = self.origin.get_mut(&packet) {
            entry.1 = Some(class);
        }
    }

    /// A node decoded the message for the first time.
    pub fn on_first_rx(&mut self, at: Instant, packet: PacketKey) {
        if let Some((from, Some(FrameClass::Chat))) = self.origin.get(&packet) {
            self.histogram
                .saturating_record(at.as_micros().saturating_sub(*from).max(1));
        }
    }
}
