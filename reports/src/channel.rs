//! Channel utilisation over time, from `TxStart` records.
//!
//! Per time bucket: the share of time with at least one transmission on the
//! air anywhere (the union of all transmission intervals), and the airtime
//! of each frame class (which may add up to more than the bucket when
//! distant nodes transmit at once). Transmissions start in time order, so
//! the union is kept as one open interval; memory is per bucket.

use node_core::wire::FrameClass;

use crate::timeline::Timeline;

/// Frame classes, in table order.
pub const CLASSES: [FrameClass; FrameClass::ALL.len()] = FrameClass::ALL;

/// Channel figures of one bucket.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ChannelBucket {
    /// Time with at least one transmission on the air, µs.
    pub busy_us: u64,
    /// Airtime by class (in [`CLASSES`] order), µs.
    pub airtime_us: [u64; CLASSES.len()],
    /// Transmissions starting in the bucket.
    pub frames: u64,
}

/// Accumulates channel utilisation.
#[derive(Clone, Debug)]
pub struct ChannelMeter {
    timeline: Timeline,
    buckets: Vec<ChannelBucket>,
    /// The union interval still open: [start, end) µs.
    open: Option<(u64, u64)>,
    /// Whole-run totals by class: frames, airtime µs, bytes on air.
    totals: [(u64, u64, u64); CLASSES.len()],
}

fn class_index(c: FrameClass) -> usize {
    CLASSES
        .iter()
        .position(|x| *x == c)
        .expect("every class is listed")
}

impl ChannelMeter {
    /// A meter over `timeline`.
    pub fn new(timeline: Timeline) -> Self {
        ChannelMeter {
            timeline,
            buckets: vec![ChannelBucket::default(); timeline.buckets],
            open: None,
            totals: [(0, 0, 0); CLASSES.len()],
        }
    }

    /// The run's time buckets.
    pub fn timeline(&self) -> Timeline {
        self.timeline
    }

    /// A transmission of `class` over `[start_us, end_us)` with `bytes` on air.
    pub fn on_tx(&mut self, start_us: u64, end_us: u64, class: FrameClass, bytes: u16) {
        let c = class_index(class);
        let t = &mut self.totals[c];
        t.0 += 1;
        t.1 += end_us.saturating_sub(start_us);
        t.2 += u64::from(bytes);
        let b = self.timeline.bucket_of(start_us);
        self.buckets[b].frames += 1;
        let buckets = &mut self.buckets;
        self.timeline
            .split(start_us, end_us, |b, us| buckets[b].airtime_us[c] += us);
        match self.open {
            Some((s, e)) if start_us <= e => self.open = Some((s, e.max(end_us))),
            Some((s, e)) => {
                self.close(s, e);
                self.open = Some((start_us, end_us));
            }
            None => self.open = Some((start_us, end_us)),
        }
    }

    fn close(&mut self, s: u64, e: u64) {
        let buckets = &mut self.buckets;
        self.timeline.split(s, e, |b, us| buckets[b].busy_us += us);
    }

    /// The buckets, with the open interval included.
    pub fn buckets(&self) -> Vec<ChannelBucket> {
        let mut out = self.buckets.clone();
        if let Some((s, e)) = self.open {
            self.timeline.split(s, e, |b, us| out[b].busy_us += us);
        }
        out
    }

    /// Whole-run (frames, airtime µs, bytes on air) of each class, in [`CLASSES`] order.
    pub fn totals(&self) -> [(u64, u64, u64); CLASSES.len()] {
        self.totals
    }

    /// Mean and largest busy share over the buckets, percent.
    pub fn busy_pct(&self) -> (f64, f64) {
        let buckets = self.buckets();
        let mut busy = 0u64;
        let mut max = 0f64;
        for (b, x) in buckets.iter().enumerate() {
            busy += x.busy_us;
            let len = self.timeline.end_of_us(b) - self.timeline.start_us(b);
            max = max.max(100.0 * x.busy_us as f64 / len.max(1) as f64);
        }
        (100.0 * busy as f64 / self.timeline.end_us as f64, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use node_core::Duration;

    #[test]
    fn union_counts_overlaps_once() {
        let mut m = ChannelMeter::new(Timeline::new(Duration::from_secs(600)));
        // Two overlapping frames in bucket 0, one alone across buckets 1–2.
        m.on_tx(0, 2_000_000, FrameClass::Chat, 10);
        m.on_tx(1_000_000, 3_000_000, FrameClass::Data, 20);
        m.on_tx(9_000_000, 11_000_000, FrameClass::Summary, 5);
        let b = m.buckets();
        assert_eq!(b[0].busy_us, 3_000_000);
        assert_eq!(b[0].airtime_us[0], 2_000_000);
        assert_eq!(b[0].airtime_us[3], 2_000_000);
        assert_eq!(b[1].busy_us, 1_000_000);
        assert_eq!(b[2].busy_us, 1_000_000);
        assert_eq!(b[0].frames, 2);
        assert_eq!(m.totals()[3], (1, 2_000_000, 20));
        let (mean, max) = m.busy_pct();
        assert!((mean - 100.0 * 5.0 / 600.0).abs() < 1e-9);
        assert!((max - 60.0).abs() < 1e-9);
    }
}
