//! Time buckets for the over-time tables (`coverage.csv`, `channel.csv`).
//!
//! A run is cut into equal buckets of a "round" width (1 s … 1 d) chosen so
//! that there are at most [`MAX_BUCKETS`] of them: enough resolution for a
//! plot, and memory bounded by the bucket count whatever the run's length.

use node_core::Duration;

/// Most buckets a run is cut into.
pub const MAX_BUCKETS: u64 = 240;

/// The candidate widths, seconds.
const WIDTHS_S: [u64; 20] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200,
    86_400, 172_800, 604_800,
];

/// A run's time axis cut into buckets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Timeline {
    /// Width of one bucket, µs.
    pub bucket_us: u64,
    /// Number of buckets (the last may be partly past the end of the run).
    pub buckets: usize,
    /// Length of the run, µs.
    pub end_us: u64,
}

impl Timeline {
    /// The timeline of a run of `sim_time`.
    pub fn new(sim_time: Duration) -> Self {
        let end_us = sim_time.as_micros().max(1);
        let bucket_us = WIDTHS_S
            .iter()
            .map(|s| s * 1_000_000)
            .find(|w| end_us.div_ceil(*w) <= MAX_BUCKETS)
            .unwrap_or(end_us.div_ceil(MAX_BUCKETS));
        Timeline {
            bucket_us,
            buckets: end_us.div_ceil(bucket_us) as usize,
            end_us,
        }
    }

    /// The bucket holding instant `t_us` (clamped to the last).
    pub fn bucket_of(&self, t_us: u64) -> usize {
        ((t_us / self.bucket_us) as usize).min(self.buckets - 1)
    }

    /// Start of bucket `b`, µs.
    pub fn start_us(&self, b: usize) -> u64 {
        b as u64 * self.bucket_us
    }

    /// End of bucket `b`, µs (the run's end for the last bucket).
    pub fn end_of_us(&self, b: usize) -> u64 {
        ((b as u64 + 1) * self.bucket_us).min(self.end_us)
    }

    /// Calls `f(bucket, overlap_us)` for every bucket the interval
    /// `[from_us, to_us)` overlaps (clipped to the run).
    pub fn split(&self, from_us: u64, to_us: u64, mut f: impl FnMut(usize, u64)) {
        let to_us = to_us.min(self.end_us);
        let mut t = from_us;
        while t < to_us {
            let b = self.bucket_of(t);
            let until = self.end_of_us(b).min(to_us).max(t + 1);
            f(b, until - t);
            t = until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_round_and_bounded() {
        let t = Timeline::new(Duration::from_secs(6 * 3600));
        assert_eq!(t.bucket_us, 120_000_000);
        assert_eq!(t.buckets, 180);
        let t = Timeline::new(Duration::from_secs(600));
        assert_eq!((t.bucket_us, t.buckets), (5_000_000, 120));
        let t = Timeline::new(Duration::from_secs(30 * 86_400));
        assert!(t.buckets as u64 <= MAX_BUCKETS);
    }

    #[test]
    fn split_covers_the_interval_exactly() {
        let t = Timeline::new(Duration::from_secs(600));
        let mut got = Vec::new();
        t.split(4_000_000, 11_000_000, |b, us| got.push((b, us)));
        assert_eq!(got, vec![(0, 1_000_000), (1, 5_000_000), (2, 1_000_000)]);
        let mut total = 0;
        t.split(599_000_000, 700_000_000, |_, us| total += us);
        assert_eq!(total, 1_000_000, "clipped at the end of the run");
    }
}
