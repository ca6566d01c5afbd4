//! The trace's fixed binary form and its hash: [`Record::encode`] writes
//! each record little-endian behind a tag, and [`TraceHasher`] hashes the
//! stream with BLAKE3. Equal hashes mean equal runs, so the layout is
//! versioned ([`TRACE_FORMAT_VERSION`]): changing it changes every hash.

use super::*;

/// Version of [`Record::encode`]'s layout.
pub const TRACE_FORMAT_VERSION: u32 = 1;

impl Record {
    /// Appends a fixed little-endian binary form (the input of the trace
    /// hash; changing it changes every hash, so it is versioned with
    /// [`TRACE_FORMAT_VERSION`]).
    #[inline]
    pub fn encode(&self, out: &mut Vec<u8>) {
        fn put(out: &mut Vec<u8>, tag: u8, at: Instant) {
            out.push(tag);
            out.extend_from_slice(&at.as_micros().to_le_bytes());
        }
        fn key(out: &mut Vec<u8>, k: PacketKey) {
            out.extend_from_slice(&k.origin.0.to_le_bytes());
            out.extend_from_slice(&k.id.to_le_bytes());
        }
        /// Tag, time, node and transmission: the layout of `TxEnd` and the
        /// reception outcomes, nearly every record of a large run, built on
        /// the stack and appended in one copy (field by field, each append
        /// paid a capacity check: about 60 instructions a record). The
        /// bytes are the same.
        #[inline(always)]
        fn fixed(out: &mut Vec<u8>, tag: u8, at: Instant, node: NodeId, tx: TxId) {
            let mut b = [0u8; 21];
            b[0] = tag;
            b[1..9].copy_from_slice(&at.as_micros().to_le_bytes());
            b[9..13].copy_from_slice(&node.0.to_le_bytes());
            b[13..21].copy_from_slice(&tx.to_le_bytes());
            out.extend_from_slice(&b);
        }
        match *self {
            Record::Originate {
                at,
                node,
                packet,
                payload_bytes,
                hop_limit,
                class,
            } => {
                put(out, 1, at);
                out.extend_from_slice(&node.0.to_le_bytes());
                key(out, packet);
                out.extend_from_slice(&payload_bytes.to_le_bytes());
                out.push(hop_limit);
                out.push(class as u8);
            }
            Record::TxStart {
                at,
                node,
                tx,
                packet,
                hop_limit,
                relay,
                bytes_on_air,
                end,
                class,
                subject,
            } => {
                put(out, 2, at);
                out.extend_from_slice(&node.0.to_le_bytes());
                out.extend_from_slice(&tx.to_le_bytes());
                key(out, packet);
                out.push(hop_limit);
                out.push(u8::from(relay));
                out.extend_from_slice(&bytes_on_air.to_le_bytes());
                out.extend_from_slice(&end.as_micros().to_le_bytes());
                out.push(class as u8);
                out.extend_from_slice(&subject.to_le_bytes());
            }
            Record::TxEnd { at, node, tx } => fixed(out, 3, at, node, tx),
            Record::RxOk {
                at,
                node,
                tx,
                sender,
                packet,
                hops_away,
                rssi_cdbm,
                duplicate,
                class,
            } => {
                put(out, 4, at);
                out.extend_from_slice(&node.0.to_le_bytes());
                out.extend_from_slice(&tx.to_le_bytes());
                out.extend_from_slice(&sender.0.to_le_bytes());
                key(out, packet);
                out.push(hops_away);
                out.extend_from_slice(&rssi_cdbm.to_le_bytes());
                out.push(u8::from(duplicate));
                out.push(class as u8);
            }
            Record::Collision { at, node, tx } => fixed(out, 5, at, node, tx),
            Record::BelowSensitivity { at, node, tx } => fixed(out, 6, at, node, tx),
            Record::HalfDuplexMiss { at, node, tx } => fixed(out, 7, at, node, tx),
            Record::Drop {
                at,
                node,
                packet,
                reason,
            } => {
                put(out, 8, at);
                out.extend_from_slice(&node.0.to_le_bytes());
                key(out, packet);
                out.push(reason as u8);
            }
            Record::Node { at, node, event } => {
                put(out, 9, at);
                out.extend_from_slice(&node.0.to_le_bytes());
                match event {
                    NodeRecord::SendFailed => out.push(0),
                    NodeRecord::FrameRejected => out.push(1),
                    NodeRecord::ItemRejected => out.push(4),
                    NodeRecord::Published {
                        item,
                        seq,
                        element,
                        size_bytes,
                        fragments,
                    } => {
                        out.push(2);
                        out.extend_from_slice(&item.0);
                        out.extend_from_slice(&seq.to_le_bytes());
                        out.extend_from_slice(&element.to_le_bytes());
                        out.extend_from_slice(&size_bytes.to_le_bytes());
                        out.extend_from_slice(&fragments.to_le_bytes());
                    }
                    NodeRecord::Stored { item, seq, element } => {
                        out.push(3);
                        out.extend_from_slice(&item.0);
                        out.extend_from_slice(&seq.to_le_bytes());
                        out.extend_from_slice(&element.to_le_bytes());
                    }
                    NodeRecord::Signal(s) => {
                        out.push(5);
                        s.encode(out);
                    }
                }
            }
            Record::Fault { at, fault } => {
                put(out, 10, at);
                match fault {
                    FaultRecord::Partition { groups } => {
                        out.push(0);
                        out.extend_from_slice(&groups.to_le_bytes());
                    }
                    FaultRecord::Heal => out.push(1),
                    FaultRecord::Crash { node }
                    | FaultRecord::Restart { node }
                    | FaultRecord::Join { node } => {
                        out.push(match fault {
                            FaultRecord::Crash { .. } => 2,
                            FaultRecord::Restart { .. } => 3,
                            _ => 4,
                        });
                        out.extend_from_slice(&node.0.to_le_bytes());
                    }
                    FaultRecord::LossStart { rule } | FaultRecord::LossEnd { rule } => {
                        out.push(if matches!(fault, FaultRecord::LossStart { .. }) {
                            5
                        } else {
                            6
                        });
                        out.extend_from_slice(&rule.to_le_bytes());
                    }
                    FaultRecord::Member { node, group } => {
                        out.push(7);
                        out.extend_from_slice(&node.0.to_le_bytes());
                        out.extend_from_slice(&group.to_le_bytes());
                    }
                    FaultRecord::Adversary { node } => {
                        out.push(8);
                        out.extend_from_slice(&node.0.to_le_bytes());
                    }
                }
            }
        }
    }
}

impl SignalRecord {
    /// Appends the record's bytes (for the trace hash): a tag, then the
    /// fields in order, integers little-endian.
    fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            SignalRecord::Published {
                id,
                ty,
                size_bytes,
                urgent,
                flood,
                ttl_s,
                refers,
            } => {
                out.push(0);
                out.extend_from_slice(&id.to_le_bytes());
                out.push(ty as u8);
                out.extend_from_slice(&size_bytes.to_le_bytes());
                out.push(u8::from(urgent) | u8::from(flood) << 1);
                out.extend_from_slice(&ttl_s.to_le_bytes());
                out.extend_from_slice(&refers.to_le_bytes());
            }
            SignalRecord::Audience { id } | SignalRecord::Relayed { id } => {
                out.push(if matches!(self, SignalRecord::Audience { .. }) {
                    1
                } else {
                    4
                });
                out.extend_from_slice(&id.to_le_bytes());
            }
            SignalRecord::Taken { id, ty, matches } => {
                out.push(2);
                out.extend_from_slice(&id.to_le_bytes());
                out.push(ty as u8);
                out.push(u8::from(matches));
            }
            SignalRecord::Refused { reason } => {
                out.push(3);
                out.extend_from_slice(reason.name().as_bytes());
            }
            SignalRecord::Conflict {
                demand,
                winner,
                loser,
                ours_lost,
            } => {
                out.push(5);
                for v in [demand, winner, loser] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
                out.push(u8::from(ours_lost));
            }
            SignalRecord::Answered {
                query,
                local,
                facilities,
            } => {
                out.push(6);
                out.extend_from_slice(&query.to_le_bytes());
                out.push(u8::from(local));
                out.extend_from_slice(&facilities.to_le_bytes());
            }
            SignalRecord::Skipped => out.push(7),
            SignalRecord::Routed {
                id,
                filter_match,
                matches,
                taken,
                fallback,
            } => {
                out.push(8);
                out.extend_from_slice(&id.to_le_bytes());
                out.push(
                    u8::from(filter_match)
                        | u8::from(matches) << 1
                        | u8::from(taken) << 2
                        | u8::from(fallback) << 3,
                );
            }
        }
    }
}

/// Hashes the trace: equal hashes mean equal runs.
#[derive(Clone, Debug)]
pub struct TraceHasher {
    hasher: blake3::Hasher,
    buf: Vec<u8>,
    records: u64,
}

impl Default for TraceHasher {
    fn default() -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"okmesh trace");
        hasher.update(&TRACE_FORMAT_VERSION.to_le_bytes());
        TraceHasher {
            hasher,
            buf: Vec::with_capacity(1 << 16),
            records: 0,
        }
    }
}

impl TraceHasher {
    /// The hash of everything observed so far, as 64 hex digits.
    pub fn hex(&self) -> String {
        self.hasher.finalize().to_hex().to_string()
    }

    /// Records observed.
    pub fn records(&self) -> u64 {
        self.records
    }
}

impl TraceSink for TraceHasher {
    fn observe(&mut self, batch: &[Record]) {
        self.buf.clear();
        for r in batch {
            r.encode(&mut self.buf);
        }
        self.hasher.update(&self.buf);
        self.records += batch.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use node_core::wire::FrameClass;

    use super::*;

    #[test]
    fn records_encode_to_their_fixed_layout() {
        let at = Instant::from_micros(0x0102_0304_0506_0708);
        let packet = PacketKey {
            origin: NodeId(7),
            id: 0xaabb_ccdd,
        };
        let mut out = Vec::new();
        let mut want = Vec::new();
        for (tag, r) in [
            (
                3u8,
                Record::TxEnd {
                    at,
                    node: NodeId(3),
                    tx: 9,
                },
            ),
            (
                5,
                Record::Collision {
                    at,
                    node: NodeId(3),
                    tx: 9,
                },
            ),
            (
                6,
                Record::BelowSensitivity {
                    at,
                    node: NodeId(3),
                    tx: 9,
                },
            ),
            (
                7,
                Record::HalfDuplexMiss {
                    at,
                    node: NodeId(3),
                    tx: 9,
                },
            ),
        ] {
            r.encode(&mut out);
            want.push(tag);
            want.extend_from_slice(&[8, 7, 6, 5, 4, 3, 2, 1]);
            want.extend_from_slice(&[3, 0, 0, 0]);
            want.extend_from_slice(&[9, 0, 0, 0, 0, 0, 0, 0]);
        }
        Record::TxStart {
            at,
            node: NodeId(3),
            tx: 10,
            packet,
            hop_limit: 2,
            relay: true,
            bytes_on_air: 56,
            end: Instant::from_micros(11),
            class: FrameClass::Chat,
            subject: 12,
        }
        .encode(&mut out);
        want.push(2);
        want.extend_from_slice(&[8, 7, 6, 5, 4, 3, 2, 1]);
        want.extend_from_slice(&[3, 0, 0, 0]);
        want.extend_from_slice(&[10, 0, 0, 0, 0, 0, 0, 0]);
        want.extend_from_slice(&[7, 0, 0, 0, 0xdd, 0xcc, 0xbb, 0xaa]);
        want.extend_from_slice(&[2, 1, 56, 0]);
        want.extend_from_slice(&[11, 0, 0, 0, 0, 0, 0, 0]);
        want.push(FrameClass::Chat as u8);
        want.extend_from_slice(&[12, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(out, want, "each record appended after the one before");
        assert_eq!(out.len(), 4 * 21 + 50);
    }
}
