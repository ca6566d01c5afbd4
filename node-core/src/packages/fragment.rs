//! Putting swarm messages back together from their fragment frames
//! ([`PackageFrame::Fragment`](crate::wire::PackageFrame)).
//!
//! A sender cuts one message at a time and queues its fragments in order,
//! and a LoRa link neither reorders nor duplicates frames sent with hop
//! limit 0, so each neighbour has at most one message in progress and its
//! fragments arrive in order: a fragment that is not the next one expected
//! (one was lost) drops the partial message, and fragment 0 always starts
//! a new one. The swarm asks again for what never completes.
//!
//! Memory is bounded twice: one message per neighbour, at most
//! [`MAX_MESSAGE_BYTES`] each, and at most [`MAX_PEERS`] neighbours with a
//! message in progress (the one that has waited longest is dropped first).

use std::collections::BTreeMap;

use crate::id::NodeId;
use crate::time::Instant;

/// The largest swarm message reassembled: a 64 KiB piece, its proof (at
/// most 32 hashes) and the message header, with room to spare.
pub const MAX_MESSAGE_BYTES: usize = (64 << 10) + 4096;

/// Neighbours with a message in progress at once.
pub const MAX_PEERS: usize = 32;

struct Partial {
    msg: u16,
    total: u32,
    next: u32,
    started: Instant,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Reassembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reassembler")
            .field("held_bytes", &self.held_bytes())
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

/// What one fragment did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Reassembled {
    /// The message is complete: its bytes.
    Message(Vec<u8>),
    /// Kept; more fragments to come.
    Pending,
    /// Dropped: out of order (a fragment was lost), or over
    /// [`MAX_MESSAGE_BYTES`].
    Dropped,
}

/// The messages in progress, per neighbour.
#[derive(Default)]
pub struct Reassembler {
    partial: BTreeMap<NodeId, Partial>,
    dropped: u64,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Partial messages dropped so far (lost fragments, oversized messages).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Bytes held in partial messages.
    pub fn held_bytes(&self) -> usize {
        self.partial.values().map(|p| p.bytes.len()).sum()
    }

    /// Takes fragment `index` of `total` of `from`'s message `msg`.
    pub fn push(
        &mut self,
        now: Instant,
        from: NodeId,
        msg: u16,
        index: u32,
        total: u32,
        chunk: &[u8],
    ) -> Reassembled {
        if index == 0 {
            if self.partial.remove(&from).is_some() {
                self.dropped += 1;
            }
            if total == 1 {
                return if chunk.len() <= MAX_MESSAGE_BYTES {
                    Reassembled::Message(chunk.to_vec())
                } else {
                    self.dropped += 1;
                    Reassembled::Dropped
                };
            }
            if self.partial.len() >= MAX_PEERS {
                let oldest = self
                    .partial
                    .iter()
                    .min_by_key(|(node, p)| (p.started, **node))
                    .map(|(node, _)| *node);
                if let Some(node) = oldest {
                    self.partial.remove(&node);
                    self.dropped += 1;
                }
            }
            self.partial.insert(
                from,
                Partial {
                    msg,
                    total,
                    next: 0,
                    started: now,
                    bytes: Vec::new(),
                },
            );
        }
        let Some(p) = self.partial.get_mut(&from) else {
            // The start was lost (counted once, at the last fragment).
            self.dropped += u64::from(index + 1 == total);
            return Reassembled::Dropped;
        };
        if p.msg != msg || p.total != total || p.next != index {
            self.partial.remove(&from);
            self.dropped += 1;
            return Reassembled::Dropped;
        }
        if p.bytes.len() + chunk.len() > MAX_MESSAGE_BYTES {
            self.partial.remove(&from);
            self.dropped += 1;
            return Reassembled::Dropped;
        }
        p.bytes.extend_from_slice(chunk);
        p.next += 1;
        if p.next == p.total {
            let p = self.partial.remove(&from).expect("just updated");
            return Reassembled::Message(p.bytes);
        }
        Reassembled::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Instant = Instant::ZERO;

    #[test]
    fn in_order_fragments_make_the_message() {
        let mut r = Reassembler::new();
        let a = NodeId(1);
        assert_eq!(r.push(T, a, 5, 0, 3, b"ab"), Reassembled::Pending);
        // Another neighbour's fragments interleave freely.
        assert_eq!(
            r.push(T, NodeId(2), 9, 0, 1, b"z"),
            Reassembled::Message(b"z".to_vec())
        );
        assert_eq!(r.push(T, a, 5, 1, 3, b"cd"), Reassembled::Pending);
        assert_eq!(
            r.push(T, a, 5, 2, 3, b"e"),
            Reassembled::Message(b"abcde".to_vec())
        );
        assert_eq!(r.held_bytes(), 0);
        assert_eq!(r.dropped(), 0);
    }

    #[test]
    fn a_lost_fragment_drops_the_message_and_the_next_one_starts_clean() {
        let mut r = Reassembler::new();
        let a = NodeId(1);
        r.push(T, a, 5, 0, 3, b"ab");
        assert_eq!(r.push(T, a, 5, 2, 3, b"e"), Reassembled::Dropped);
        assert_eq!(r.dropped(), 1);
        assert_eq!(r.held_bytes(), 0);
        // A fragment of another message, mid-way, with no start.
        assert_eq!(r.push(T, a, 6, 1, 2, b"x"), Reassembled::Dropped);
        r.push(T, a, 7, 0, 2, b"x");
        assert_eq!(
            r.push(T, a, 7, 1, 2, b"y"),
            Reassembled::Message(b"xy".to_vec())
        );
    }

    #[test]
    fn memory_is_bounded_per_peer_and_in_peers() {
        let mut r = Reassembler::new();
        let chunk = vec![0u8; 1000];
        let a = NodeId(1);
        r.push(T, a, 1, 0, 512, &chunk);
        let mut last = Reassembled::Pending;
        for i in 1..512 {
            last = r.push(T, a, 1, i, 512, &chunk);
            if last == Reassembled::Dropped {
                break;
            }
        }
        assert_eq!(last, Reassembled::Dropped, "over MAX_MESSAGE_BYTES");
        assert_eq!(r.held_bytes(), 0);
        for n in 0..(MAX_PEERS as u32 + 10) {
            let at = Instant::ZERO + crate::time::Duration::from_secs(u64::from(n));
            r.push(at, NodeId(100 + n), 1, 0, 2, &chunk);
        }
        assert_eq!(r.partial.len(), MAX_PEERS);
        assert!(r.held_bytes() <= MAX_PEERS * MAX_MESSAGE_BYTES);
        // The oldest went first.
        assert!(!r.partial.contains_key(&NodeId(100)));
        assert!(r.partial.contains_key(&NodeId(100 + MAX_PEERS as u32 + 9)));
    }
}
