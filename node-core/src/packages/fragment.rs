//! Putting swarm messages back together from their fragment frames
//! ([`PackageFrame::Fragment`](crate::wire::PackageFrame)).
//!
//! On LoRa a receiver misses fragments: to collisions, and while its own
//! half-duplex radio transmits. A message number is therefore a digest of
//! the message's bytes ([`message_number`]), so when a sender sends the
//! same message again (a piece asked for again) its fragments carry the
//! same number and fill the gaps of the partial copy kept from the first
//! time, in any order: a piece of twenty frames needs each frame once, not
//! all twenty in one go.
//!
//! A sender sends its messages one after another, so once a fragment of
//! another message arrives from it, the gaps of its earlier partial
//! messages are losses, not fragments still to come: [`Reassembler::gaps`]
//! names them, for a repair request that asks for just those fragments
//! (at most [`MAX_REPAIRS`] per message; then the swarm's request timeout
//! asks for the whole message again).
//!
//! Memory is bounded: at most [`MAX_PARTIALS_PER_PEER`] partial messages
//! and [`MAX_PEER_BYTES`] per neighbour, [`MAX_MESSAGE_BYTES`] per message,
//! and [`MAX_PEERS`] neighbours with partial messages; the partial touched
//! least recently goes first.
//! Two different messages of one sender with the same number and fragment
//! count in the partials at once (one chance in 65,536 per pair) make a
//! message that fails to decode or to verify, which the swarm drops.

use std::collections::BTreeMap;

use crate::id::NodeId;
use crate::time::Instant;

/// The largest swarm message reassembled: a 64 KiB piece, its proof (at
/// most 32 hashes) and the message header, with room to spare.
pub const MAX_MESSAGE_BYTES: usize = (64 << 10) + 4096;

/// Partial messages kept per neighbour (a requester keeps up to eight
/// pieces in flight).
pub const MAX_PARTIALS_PER_PEER: usize = 8;

/// Bytes of partial messages kept per neighbour.
pub const MAX_PEER_BYTES: usize = 2 * MAX_MESSAGE_BYTES;

/// Neighbours with partial messages at once.
pub const MAX_PEERS: usize = 16;

/// Repair requests per partial message.
pub const MAX_REPAIRS: u8 = 4;

/// The missing fragments of a neighbour's partial message.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Gap {
    /// The message number.
    pub msg: u16,
    /// Fragments in the message.
    pub total: u32,
    /// The missing fragment indices, ascending.
    pub missing: Vec<u32>,
}

/// The message number of `message`: the first two bytes of its BLAKE3
/// digest, so the same message sent again has the same number.
pub fn message_number(message: &[u8]) -> u16 {
    let h = blake3::hash(message);
    u16::from_le_bytes([h.as_bytes()[0], h.as_bytes()[1]])
}

struct Partial {
    touched: Instant,
    chunks: Vec<Option<Vec<u8>>>,
    bytes: usize,
    /// When its gaps were last named for repair, and how often.
    asked: Option<Instant>,
    repairs: u8,
}

/// What one fragment did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Reassembled {
    /// The message is complete: its bytes.
    Message(Vec<u8>),
    /// Kept; more fragments to come.
    Pending,
    /// Dropped: the message would exceed [`MAX_MESSAGE_BYTES`].
    Dropped,
}

/// The partial messages, per neighbour and (number, fragment count).
#[derive(Default)]
pub struct Reassembler {
    partial: BTreeMap<NodeId, BTreeMap<(u16, u32), Partial>>,
    dropped: u64,
}

impl std::fmt::Debug for Reassembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reassembler")
            .field("held_bytes", &self.held_bytes())
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Partial messages dropped so far (evicted for room, or oversized).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Bytes held in partial messages.
    pub fn held_bytes(&self) -> usize {
        self.partial
            .values()
            .flat_map(|m| m.values())
            .map(|p| p.bytes)
            .sum()
    }

    /// Partial messages held.
    pub fn partials(&self) -> usize {
        self.partial.values().map(BTreeMap::len).sum()
    }

    /// The gaps of `from`'s partial messages other than `(msg, total)`,
    /// the one a fragment just arrived for: the sender has moved on, so
    /// they are losses. Each is named once per sending (again only after
    /// another fragment of it arrived) and at most [`MAX_REPAIRS`] times;
    /// `wanted` sees the message's first fragment, if held, and may skip it.
    pub fn gaps(
        &mut self,
        now: Instant,
        from: NodeId,
        msg: u16,
        total: u32,
        wanted: impl Fn(Option<&[u8]>) -> bool,
    ) -> Vec<Gap> {
        let Some(peer) = self.partial.get_mut(&from) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (&(m, t), p) in peer.iter_mut() {
            let fresh = p.asked.is_none_or(|a| p.touched > a);
            if (m, t) == (msg, total) || !fresh || p.repairs >= MAX_REPAIRS {
                continue;
            }
            if !wanted(p.chunks[0].as_deref()) {
                continue;
            }
            p.asked = Some(now);
            p.repairs += 1;
            let missing = (0..t).filter(|i| p.chunks[*i as usize].is_none()).collect();
            out.push(Gap {
                msg: m,
                total: t,
                missing,
            });
        }
        out
    }

    /// Takes fragment `index` of `total` of `from`'s message `msg`
    /// (`index < total`, as the frame parser guarantees).
    pub fn push(
        &mut self,
        now: Instant,
        from: NodeId,
        msg: u16,
        index: u32,
        total: u32,
        chunk: &[u8],
    ) -> Reassembled {
        if total == 1 {
            return if chunk.len() <= MAX_MESSAGE_BYTES {
                Reassembled::Message(chunk.to_vec())
            } else {
                self.dropped += 1;
                Reassembled::Dropped
            };
        }
        if !self.partial.contains_key(&from) && self.partial.len() >= MAX_PEERS {
            let oldest = self
                .partial
                .iter()
                .map(|(node, m)| (m.values().map(|p| p.touched).max(), *node))
                .min()
                .map(|(_, node)| node);
            if let Some(node) = oldest {
                let gone = self.partial.remove(&node).map_or(0, |m| m.len());
                self.dropped += gone as u64;
            }
        }
        let peer = self.partial.entry(from).or_default();
        let key = (msg, total);
        let peer_bytes = |peer: &BTreeMap<(u16, u32), Partial>| -> usize {
            peer.values().map(|p| p.bytes).sum()
        };
        while !peer.is_empty()
            && ((!peer.contains_key(&key) && peer.len() >= MAX_PARTIALS_PER_PEER)
                || peer_bytes(peer) + chunk.len() > MAX_PEER_BYTES)
        {
            let oldest = peer
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(k, p)| (p.touched, **k))
                .map(|(k, _)| *k);
            let Some(k) = oldest else { break };
            peer.remove(&k);
            self.dropped += 1;
        }
        let p = peer.entry(key).or_insert_with(|| Partial {
            touched: now,
            chunks: vec![None; total as usize],
            bytes: 0,
            asked: None,
            repairs: 0,
        });
        p.touched = now;
        let slot = &mut p.chunks[index as usize];
        if slot.is_none() {
            if p.bytes + chunk.len() > MAX_MESSAGE_BYTES {
                peer.remove(&key);
                self.dropped += 1;
                return Reassembled::Dropped;
            }
            p.bytes += chunk.len();
            *slot = Some(chunk.to_vec());
        }
        if p.chunks.iter().any(Option::is_none) {
            return Reassembled::Pending;
        }
        let p = peer.remove(&key).expect("just filled");
        if peer.is_empty() {
            self.partial.remove(&from);
        }
        Reassembled::Message(p.chunks.into_iter().flatten().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    const T: Instant = Instant::ZERO;

    #[test]
    fn fragments_in_any_order_make_the_message() {
        let mut r = Reassembler::new();
        let a = NodeId(1);
        assert_eq!(r.push(T, a, 5, 2, 3, b"e"), Reassembled::Pending);
        // Another neighbour's fragments interleave freely.
        assert_eq!(
            r.push(T, NodeId(2), 9, 0, 1, b"z"),
            Reassembled::Message(b"z".to_vec())
        );
        assert_eq!(r.push(T, a, 5, 0, 3, b"ab"), Reassembled::Pending);
        assert_eq!(
            r.push(T, a, 5, 1, 3, b"cd"),
            Reassembled::Message(b"abcde".to_vec())
        );
        assert_eq!((r.held_bytes(), r.partials(), r.dropped()), (0, 0, 0));
    }

    #[test]
    fn a_message_sent_again_fills_the_gaps_of_the_first_copy() {
        let message: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
        let frames = crate::wire::fragment(message_number(&message), &message, 231).unwrap();
        let mut r = Reassembler::new();
        let a = NodeId(1);
        let push = |r: &mut Reassembler, f: &[u8]| match crate::wire::FrameRepr::decode(f) {
            Ok(crate::wire::FrameRepr::Package(crate::wire::PackageFrame::Fragment {
                msg,
                index,
                total,
                chunk,
            })) => r.push(T, a, msg, index, total, chunk),
            other => panic!("{other:?}"),
        };
        // The first time every other fragment is lost, the second time the rest.
        for f in frames.iter().step_by(2) {
            assert_eq!(push(&mut r, f), Reassembled::Pending);
        }
        // Another message from the same sender in between.
        assert_eq!(r.push(T, a, 77, 0, 2, b"x"), Reassembled::Pending);
        let mut last = Reassembled::Pending;
        for f in frames.iter().skip(1).step_by(2) {
            last = push(&mut r, f);
        }
        assert_eq!(last, Reassembled::Message(message));
        assert_eq!(r.partials(), 1, "the other message is still pending");
    }

    #[test]
    fn gaps_are_named_once_the_sender_moves_on_and_once_per_sending() {
        let mut r = Reassembler::new();
        let a = NodeId(1);
        let at = |s| T + Duration::from_secs(s);
        let all = |_: Option<&[u8]>| true;
        for i in [0, 1, 3] {
            r.push(at(1), a, 5, i, 5, b"x");
        }
        // Still arriving: nothing to repair yet.
        assert!(r.gaps(at(1), a, 5, 5, all).is_empty());
        // Another message from the same sender: fragments 2 and 4 are lost.
        r.push(at(2), a, 6, 0, 1, b"have");
        let gaps = r.gaps(at(2), a, 6, 1, all);
        assert_eq!(
            gaps,
            [Gap {
                msg: 5,
                total: 5,
                missing: vec![2, 4]
            }]
        );
        // Named once per sending, and only for messages wanted.
        assert!(r.gaps(at(3), a, 6, 1, all).is_empty());
        r.push(at(4), a, 5, 2, 5, b"x");
        assert!(r.gaps(at(5), a, 7, 1, |_| false).is_empty());
        let again = r.gaps(at(5), a, 7, 1, |first| first == Some(b"x".as_slice()));
        assert_eq!(again[0].missing, [4]);
        // Another neighbour's partials are its own.
        assert!(r.gaps(at(6), NodeId(2), 1, 1, all).is_empty());
        // At most MAX_REPAIRS times.
        let mut asked = 2;
        for s in 7..20 {
            r.push(at(s), a, 5, 0, 5, b"x");
            asked += r.gaps(at(s), a, 8, 1, all).len();
        }
        assert_eq!(asked, usize::from(MAX_REPAIRS));
    }

    #[test]
    fn memory_is_bounded_per_message_per_peer_and_in_peers() {
        let mut r = Reassembler::new();
        let chunk = vec![0u8; 1000];
        let a = NodeId(1);
        let mut last = Reassembled::Pending;
        for i in 0..512 {
            last = r.push(T, a, 1, i, 512, &chunk);
            if last == Reassembled::Dropped {
                break;
            }
        }
        assert_eq!(last, Reassembled::Dropped, "over MAX_MESSAGE_BYTES");
        assert_eq!(r.held_bytes(), 0);
        for m in 0..10u16 {
            let at = T + Duration::from_secs(u64::from(m));
            r.push(at, a, m, 0, 2, &chunk);
        }
        assert_eq!(r.partials(), MAX_PARTIALS_PER_PEER);
        for n in 0..(MAX_PEERS as u32 + 10) {
            let at = T + Duration::from_secs(100 + u64::from(n));
            r.push(at, NodeId(100 + n), 1, 0, 2, &chunk);
        }
        assert_eq!(r.partial.len(), MAX_PEERS);
        assert!(r.held_bytes() <= MAX_PEERS * MAX_PEER_BYTES);
        // The least recently touched went first.
        assert!(!r.partial.contains_key(&a));
        assert!(r.partial.contains_key(&NodeId(100 + MAX_PEERS as u32 + 9)));
    }
}
