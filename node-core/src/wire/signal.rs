//! The signal family (kinds 7–9): supply and demand signals, and the
//! digest-and-pull exchange that keeps neighbours' sets of them equal.
//!
//! | kind | frame | body |
//! |---|---|---|
//! | 7 | signal | hops_left u8, one signed signal ([`crate::signals`]) |
//! | 8 | digest | fingerprint u64, count u16, lo u32, hi u32, n × id prefix u32 (ascending, in `lo..=hi`) |
//! | 9 | pull | target u32, n u8 (≤ [`MAX_PULLS_PER_FRAME`]), n × id prefix u32 |
//!
//! The signal bytes a signal frame carries are decoded and verified by the
//! signals layer, which counts each refusal by reason; here they are only
//! required to be present. An id prefix is the low 32 bits of a
//! [`SignalId`](crate::signals::SignalId).

use super::codec::Reader;
use super::{FrameKind, WireError};
use crate::id::NodeId;

/// The most id prefixes one digest frame lists.
pub const MAX_DIGEST_IDS: usize = 48;

/// The most id prefixes one pull frame asks for.
pub const MAX_PULLS_PER_FRAME: usize = 32;

/// A frame of the signal family.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SignalFrame<'a> {
    /// One signal, with the relays it may still take (epidemic routing).
    Signal {
        /// Rebroadcasts left after this copy.
        hops_left: u8,
        /// The signed signal.
        signal: &'a [u8],
    },
    /// A page of the sender's set of live announcements.
    Digest {
        /// Fingerprint of the sender's whole set (equal: nothing to do).
        fingerprint: u64,
        /// Size of the sender's whole set.
        count: u16,
        /// The page covers id prefixes `lo..=hi`.
        lo: u32,
        /// Upper end of the page.
        hi: u32,
        /// The sender's id prefixes in the page, ascending.
        ids: Vec<u32>,
    },
    /// Asks one neighbour to send the signals with these id prefixes.
    Pull {
        /// The neighbour asked.
        target: NodeId,
        /// Id prefixes wanted.
        ids: Vec<u32>,
    },
}

impl<'a> SignalFrame<'a> {
    /// The frame's kind.
    pub fn kind(&self) -> FrameKind {
        match self {
            SignalFrame::Signal { .. } => FrameKind::Signal,
            SignalFrame::Digest { .. } => FrameKind::SignalDigest,
            SignalFrame::Pull { .. } => FrameKind::SignalPull,
        }
    }

    pub(super) fn parse(kind: FrameKind, r: &mut Reader<'a>) -> Result<Self, WireError> {
        Ok(match kind {
            FrameKind::Signal => {
                let hops_left = r.u8("hops_left")?;
                let signal = r.rest();
                if signal.is_empty() {
                    return Err(r.bad("signal"));
                }
                SignalFrame::Signal { hops_left, signal }
            }
            FrameKind::SignalDigest => {
                let fingerprint = r.u64("fingerprint")?;
                let count = r.u16("count")?;
                let lo = r.u32("lo")?;
                let hi = r.u32("hi")?;
                if lo > hi {
                    return Err(r.bad("hi"));
                }
                let ids = prefixes(r, MAX_DIGEST_IDS, "ids")?;
                if ids.first().is_some_and(|f| *f < lo) || ids.last().is_some_and(|l| *l > hi) {
                    return Err(r.bad("ids"));
                }
                if ids.len() > usize::from(count) {
                    return Err(r.bad("count"));
                }
                SignalFrame::Digest {
                    fingerprint,
                    count,
                    lo,
                    hi,
                    ids,
                }
            }
            FrameKind::SignalPull => {
                let target = NodeId(r.u32("target")?);
                let n = usize::from(r.u8("n")?);
                if n == 0 || n > MAX_PULLS_PER_FRAME {
                    return Err(r.bad("n"));
                }
                let mut ids = Vec::with_capacity(n);
                for _ in 0..n {
                    ids.push(r.u32("ids")?);
                }
                if !r.rest().is_empty() {
                    return Err(r.bad("trailing bytes"));
                }
                SignalFrame::Pull { target, ids }
            }
            // The caller dispatches only this family's kinds here.
            _ => return Err(WireError::Kind(kind as u8)),
        })
    }

    pub(super) fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            SignalFrame::Signal { hops_left, signal } => {
                out.push(*hops_left);
                out.extend_from_slice(signal);
            }
            SignalFrame::Digest {
                fingerprint,
                count,
                lo,
                hi,
                ids,
            } => {
                out.extend_from_slice(&fingerprint.to_le_bytes());
                out.extend_from_slice(&count.to_le_bytes());
                out.extend_from_slice(&lo.to_le_bytes());
                out.extend_from_slice(&hi.to_le_bytes());
                for id in ids {
                    out.extend_from_slice(&id.to_le_bytes());
                }
            }
            SignalFrame::Pull { target, ids } => {
                out.extend_from_slice(&target.0.to_le_bytes());
                out.push(ids.len() as u8);
                for id in ids {
                    out.extend_from_slice(&id.to_le_bytes());
                }
            }
        }
    }

    /// The whole frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![super::WIRE_VERSION, self.kind() as u8];
        self.encode_body(&mut out);
        out
    }
}

/// Ascending, distinct u32 prefixes filling the rest of the body.
fn prefixes(r: &mut Reader<'_>, max: usize, field: &'static str) -> Result<Vec<u32>, WireError> {
    let rest = r.rest();
    if !rest.len().is_multiple_of(4) || rest.len() / 4 > max {
        return Err(r.bad(field));
    }
    let ids: Vec<u32> = rest
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if ids.windows(2).any(|w| w[0] >= w[1]) {
        return Err(r.bad(field));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::FrameRepr;
    use proptest::prelude::*;

    #[test]
    fn every_signal_frame_round_trips_and_the_layout_is_pinned() {
        let frames = [
            SignalFrame::Signal {
                hops_left: 0x86,
                signal: b"signed",
            },
            SignalFrame::Digest {
                fingerprint: 9,
                count: 3,
                lo: 0,
                hi: u32::MAX,
                ids: vec![1, 7, 9],
            },
            SignalFrame::Pull {
                target: NodeId(0x0403_0201),
                ids: vec![0x0a0b_0c0d],
            },
        ];
        let lens: Vec<usize> = frames.iter().map(|f| f.encode().len()).collect();
        assert_eq!(lens, [9, 32, 11]);
        for f in frames {
            let bytes = f.encode();
            assert_eq!(FrameRepr::decode(&bytes), Ok(FrameRepr::Signal(f.clone())));
            assert_eq!(FrameRepr::Signal(f).encode(), bytes);
        }
        assert_eq!(
            SignalFrame::Pull {
                target: NodeId(0x0403_0201),
                ids: vec![0x0a0b_0c0d],
            }
            .encode(),
            [1, 9, 1, 2, 3, 4, 1, 0x0d, 0x0c, 0x0b, 0x0a]
        );
    }

    #[test]
    fn bad_signal_frames_name_the_field() {
        let bad = |bytes: &[u8], field| {
            assert_eq!(
                FrameRepr::decode(bytes),
                Err(WireError::Field {
                    kind: FrameKind::from_u8(bytes[1]).unwrap(),
                    field
                }),
                "{bytes:?}"
            );
        };
        bad(&[1, 7, 3], "signal");
        bad(&[1, 7], "hops_left");
        let mut digest = SignalFrame::Digest {
            fingerprint: 1,
            count: 2,
            lo: 5,
            hi: 9,
            ids: vec![6, 8],
        }
        .encode();
        digest.extend_from_slice(&7u32.to_le_bytes()); // out of order
        bad(&digest, "ids");
        let mut low = SignalFrame::Digest {
            fingerprint: 1,
            count: 1,
            lo: 5,
            hi: 9,
            ids: vec![6],
        }
        .encode();
        low[20] = 1; // the id below lo
        bad(&low, "ids");
        bad(&[1, 9, 0, 0, 0, 0, 0], "n");
        bad(&[1, 9, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5], "trailing bytes");
    }

    proptest! {
        #[test]
        fn signal_frames_from_arbitrary_bodies_never_panic(kind in 7u8..10, body in proptest::collection::vec(any::<u8>(), 0..240)) {
            let mut bytes = vec![crate::wire::WIRE_VERSION, kind];
            bytes.extend_from_slice(&body);
            if let Ok(f) = FrameRepr::decode(&bytes) {
                prop_assert_eq!(f.encode(), bytes);
            }
        }
    }
}
