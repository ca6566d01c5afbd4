//! Channel utilisation per node, as a Meshtastic device reports it.
//!
//! The firmware (`AirTime::logAirtime`, `src/airtime.cpp`) adds to its
//! channel-utilisation counter the airtime of every frame it transmits
//! (`TX_LOG`), every well-formed frame it receives, duplicates and frames
//! for others included (`RX_LOG`), and every frame it started to receive
//! but could not decode (`RX_ALL_LOG`: failed CRC, a collision), and
//! reports the share of the last minute (six 10-second periods) that took.
//! Here, per node and time bucket: its own `TxStart` airtime, plus the
//! airtime of each `RxOk` and `Collision` at it (the transmission's whole
//! interval). Signals below sensitivity are not heard and do not count; a
//! frame missed while transmitting is already counted as transmit time.
//!
//! A radio receives one frame at a time, so a node's intervals are joined:
//! each record adds only the part of its interval after what the node has
//! counted so far (receptions arrive in the order they end, and a node's
//! own transmission never overlaps a frame it receives — that would be a
//! half-duplex miss). Unlike the channel's busy share in `channel.csv`
//! (anything on the air anywhere in the area), this is what one node
//! experiences, so it stays within 0–100 % whatever the area. Memory: one
//! counter per node per time bucket.

use sim::trace::{InFlight, Record, TxId};

use crate::timeline::Timeline;

/// Accumulates per-node channel utilisation.
#[derive(Clone, Debug)]
pub struct UtilisationMeter {
    timeline: Timeline,
    /// `busy_us[node * buckets + bucket]`.
    busy_us: Vec<u64>,
    /// Transmissions on the air: serial → (start, end) µs (lookups only).
    in_flight: InFlight<(u64, u64)>,
    /// Per node: the end of what it has counted, µs.
    counted_until_us: Vec<u64>,
    /// The transmission looked up last and its span: a transmission's
    /// receptions are recorded one after another, so all but the first
    /// find it here.
    last: Option<(TxId, (u64, u64))>,
}

impl UtilisationMeter {
    /// A meter for `nodes` nodes over `timeline`.
    pub fn new(nodes: usize, timeline: Timeline) -> Self {
        UtilisationMeter {
            timeline,
            busy_us: vec![0; nodes * timeline.buckets],
            in_flight: InFlight::new(),
            counted_until_us: vec![0; nodes],
            last: None,
        }
    }

    fn add(&mut self, node: usize, (from_us, to_us): (u64, u64)) {
        let base = node * self.timeline.buckets;
        let Some(counted) = self.counted_until_us.get_mut(node) else {
            return;
        };
        let from_us = from_us.max(*counted);
        if to_us <= from_us {
            return;
        }
        *counted = to_us;
        let busy = &mut self.busy_us;
        self.timeline
            .split(from_us, to_us, |b, us| busy[base + b] += us);
    }

    /// Takes one trace record into account (inlined into the metrics'
    /// pass: it runs for every record, and most are none of its business).
    #[inline(always)]
    pub fn observe(&mut self, r: &Record) {
        match *r {
            Record::TxStart {
                at, node, tx, end, ..
            } => {
                let span = (at.as_micros(), end.as_micros());
                self.in_flight.insert(tx, span);
                if self.last.is_some_and(|(t, _)| t == tx) {
                    self.last = None; // a serial started again (an edited trace)
                }
                self.add(node.index(), span);
            }
            Record::RxOk { node, tx, .. } | Record::Collision { node, tx, .. } => {
                let span = match self.last {
                    Some((t, span)) if t == tx => Some(span),
                    _ => {
                        let span = self.in_flight.get(tx).copied();
                        self.last = span.map(|s| (tx, s));
                        span
                    }
                };
                if let Some(span) = span {
                    self.add(node.index(), span);
                }
            }
            Record::TxEnd { tx, .. } => {
                // Receptions are recorded when the transmission ends, before its end.
                self.in_flight.remove(tx);
                if self.last.is_some_and(|(t, _)| t == tx) {
                    self.last = None;
                }
            }
            _ => {}
        }
    }

    fn nodes(&self) -> usize {
        self.busy_us.len() / self.timeline.buckets.max(1)
    }

    fn bucket_len_us(&self, b: usize) -> f64 {
        (self.timeline.end_of_us(b) - self.timeline.start_us(b)).max(1) as f64
    }

    /// `node`'s utilisation in bucket `b`, percent.
    pub fn pct(&self, node: usize, b: usize) -> f64 {
        100.0 * self.busy_us[node * self.timeline.buckets + b] as f64 / self.bucket_len_us(b)
    }

    /// `node`'s utilisation over the whole run, percent.
    pub fn node_mean_pct(&self, node: usize) -> f64 {
        let k = self.timeline.buckets;
        let sum: u64 = self.busy_us[node * k..(node + 1) * k].iter().sum();
        100.0 * sum as f64 / self.timeline.end_us.max(1) as f64
    }

    /// `node`'s highest utilisation in any bucket, percent.
    pub fn node_max_pct(&self, node: usize) -> f64 {
        (0..self.timeline.buckets)
            .map(|b| self.pct(node, b))
            .fold(0.0, f64::max)
    }

    /// Per bucket: the mean over `nodes` (those `keep` accepts) and the
    /// highest single node's utilisation, percent.
    pub fn per_bucket(&self, keep: impl Fn(usize) -> bool) -> Vec<(f64, f64)> {
        let kept: Vec<usize> = (0..self.nodes()).filter(|n| keep(*n)).collect();
        (0..self.timeline.buckets)
            .map(|b| {
                let (sum, max) = kept.iter().fold((0.0, 0f64), |(s, m), n| {
                    let v = self.pct(*n, b);
                    (s + v, m.max(v))
                });
                (sum / kept.len().max(1) as f64, max)
            })
            .collect()
    }

    /// Mean over nodes and time, percent; the highest of any node in any
    /// bucket, percent, and the (first) node with it.
    pub fn overall_pct(&self) -> (f64, f64, usize) {
        let n = self.nodes();
        if n == 0 {
            return (0.0, 0.0, 0);
        }
        let mean = (0..n).map(|i| self.node_mean_pct(i)).sum::<f64>() / n as f64;
        let (max, node) = (0..n)
            .map(|i| (self.node_max_pct(i), i))
            .fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a });
        (mean, max, node)
    }
}

#[cfg(test)]
mod tests {
    use node_core::wire::FrameClass;
    use node_core::{Duration, Instant, NodeId};
    use sim::trace::PacketKey;

    use super::*;

    fn at(s: f64) -> Instant {
        Instant::from_micros((s * 1e6) as u64)
    }

    #[test]
    fn a_node_counts_its_transmissions_and_what_it_hears() {
        let mut m = UtilisationMeter::new(3, Timeline::new(Duration::from_secs(600)));
        let packet = PacketKey {
            origin: NodeId(0),
            id: 1,
        };
        m.observe(&Record::TxStart {
            at: at(0.0),
            node: NodeId(0),
            tx: 1,
            packet,
            hop_limit: 3,
            relay: false,
            bytes_on_air: 40,
            end: at(2.0),
            class: FrameClass::Chat,
            subject: 0,
        });
        m.observe(&Record::RxOk {
            at: at(2.0),
            node: NodeId(1),
            tx: 1,
            sender: NodeId(0),
            packet,
            hops_away: 0,
            rssi_cdbm: -10_000,
            duplicate: false,
            class: FrameClass::Chat,
        });
        m.observe(&Record::Collision {
            at: at(2.0),
            node: NodeId(2),
            tx: 1,
        });
        m.observe(&Record::TxEnd {
            at: at(2.0),
            node: NodeId(0),
            tx: 1,
        });
        // Buckets of 5 s: 2 s busy in the first one for all three.
        for node in 0..3 {
            assert!((m.pct(node, 0) - 40.0).abs() < 1e-9, "node {node}");
            assert_eq!(m.pct(node, 1), 0.0);
        }
        let (mean, max, node) = m.overall_pct();
        assert!((max - 40.0).abs() < 1e-9);
        assert_eq!(node, 0);
        assert!((mean - 100.0 * 2.0 / 600.0).abs() < 1e-9);
        // A record for a transmission that has ended counts nothing.
        m.observe(&Record::Collision {
            at: at(3.0),
            node: NodeId(2),
            tx: 1,
        });
        assert!((m.pct(2, 0) - 40.0).abs() < 1e-9);
        // Overlapping receptions count once: 1..3 s and 2..4 s make 3 s.
        for (tx, from, to) in [(2, 1.0, 3.0), (3, 2.0, 4.0)] {
            m.observe(&Record::TxStart {
                at: at(from),
                node: NodeId(0),
                tx,
                packet,
                hop_limit: 3,
                relay: false,
                bytes_on_air: 40,
                end: at(to),
                class: FrameClass::Chat,
                subject: 0,
            });
        }
        for (tx, to) in [(2, 3.0), (3, 4.0)] {
            m.observe(&Record::Collision {
                at: at(to),
                node: NodeId(1),
                tx,
            });
        }
        assert!((m.pct(1, 0) - 100.0 * 4.0 / 5.0).abs() < 1e-9);
    }
}
