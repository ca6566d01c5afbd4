//! The signal family (kinds 7–10): supply and demand signals, the
//! digest-and-pull exchange that keeps neighbours' sets of them equal, and
//! the capability/subscription filters neighbours route by.
//!
//! | kind | frame | body |
//! |---|---|---|
//! | 7 | signal | hops_left u8, one signed signal ([`crate::signals`]) |
//! | 8 | digest | fingerprint u64, count u16, lo u32, hi u32, n × id prefix u32 (ascending, in `lo..=hi`) |
//! | 9 | pull | target u32, n u8 (≤ [`MAX_PULLS_PER_FRAME`]), n × id prefix u32 |
//! | 10 | filter | head u8 (levels 1..=[`MAX_FILTER_LEVELS`] in bits 0–3, bit 7: deeper levels left out), per level the bits it adds to the level before: n u8 then n × bit index u16 ascending (n ≤ [`MAX_SPARSE_BITS`]), or 0xFF then 128 bytes |
//!
//! A filter frame is a hop-local hint, bound to the link it is heard on
//! (the radio's sender), not signed: level 0 is the sender's own
//! capabilities and subscriptions, level d what is wanted within d hops of
//! it (its level d − 1 and its neighbours', united; see
//! [`crate::signals`]). Levels are nested, so each is sent as the bits it
//! adds (deep levels of a settled mesh add none: one byte). Each delta has
//! one encoding: the sparse list when at most [`MAX_SPARSE_BITS`] bits are
//! new (shorter than the dense form), the dense form otherwise, and never
//! a bit the level before had; any other is refused, so a frame re-encodes
//! to its own bytes.//!
//! The signal bytes a signal frame carries are decoded and verified by the
//! signals layer, which counts each refusal by reason; here they are only
//! required to be present. An id prefix is the low 32 bits of a
//! [`SignalId`](crate::signals::SignalId).

use super::codec::Reader;
use super::{FrameKind, WireError};
use crate::id::NodeId;
use crate::signals::bloom::{FILTER_BITS, FILTER_BYTES, TagFilter};

/// The most id prefixes one digest frame lists.
pub const MAX_DIGEST_IDS: usize = 48;

/// The most id prefixes one pull frame asks for.
pub const MAX_PULLS_PER_FRAME: usize = 32;

/// The most filter levels one advert carries.
pub const MAX_FILTER_LEVELS: usize = 8;

/// The most set bits a level lists sparsely (2 bytes each: beyond 63 the
/// 128-byte dense form is shorter).
pub const MAX_SPARSE_BITS: usize = 63;

/// The subject [`classify`](super::classify) gives filter frames (no
/// signal's id), so reports can count them apart.
pub const FILTER_SUBJECT: u64 = u64::MAX;

const DENSE: u8 = 0xFF;
const TRUNCATED: u8 = 0x80;

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
    /// The sender's filters, by distance: what it and the mesh behind it
    /// may want.
    Filter {
        /// Deeper levels were left out to fit the frame (a receiver takes
        /// them as matching everything).
        truncated: bool,
        /// Level 0: the sender's own interests; level d: what is wanted
        /// within d hops of it. Nested (a level holds the one before it).
        levels: Vec<TagFilter>,
    },
}

impl<'a> SignalFrame<'a> {
    /// The frame's kind.
    pub fn kind(&self) -> FrameKind {
        match self {
            SignalFrame::Signal { .. } => FrameKind::Signal,
            SignalFrame::Digest { .. } => FrameKind::SignalDigest,
            SignalFrame::Pull { .. } => FrameKind::SignalPull,
            SignalFrame::Filter { .. } => FrameKind::SignalFilter,
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
            FrameKind::SignalFilter => {
                let head = r.u8("head")?;
                let n = usize::from(head & 0x0F);
                if n == 0 || n > MAX_FILTER_LEVELS || head & 0x70 != 0 {
                    return Err(r.bad("head"));
                }
                let mut levels: Vec<TagFilter> = Vec::with_capacity(n);
                for _ in 0..n {
                    let prev = levels.last().copied().unwrap_or(TagFilter::EMPTY);
                    let delta = filter_level(r)?;
                    if delta.intersects(&prev) {
                        return Err(r.bad("filter"));
                    }
                    let mut level = prev;
                    level.union(&delta);
                    levels.push(level);
                }
                if !r.rest().is_empty() {
                    return Err(r.bad("trailing bytes"));
                }
                SignalFrame::Filter {
                    truncated: head & TRUNCATED != 0,
                    levels,
                }
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
            SignalFrame::Filter { truncated, levels } => {
                out.push(levels.len().min(0x0F) as u8 | if *truncated { TRUNCATED } else { 0 });
                let mut prev = TagFilter::EMPTY;
                for level in levels {
                    let f = level.minus(&prev);
                    prev.union(level);
                    if f.bits_set() <= MAX_SPARSE_BITS {
                        out.push(f.bits_set() as u8);
                        for i in f.set_bits() {
                            out.extend_from_slice(&i.to_le_bytes());
                        }
                    } else {
                        out.push(DENSE);
                        out.extend_from_slice(&f.to_bytes());
                    }
                }
            }
        }
    }

    /// A filter advert of `levels` (at most [`MAX_FILTER_LEVELS`]) that
    /// fits `max_bytes` of frame: the deepest levels are left out (and the
    /// frame marked truncated) while it does not; `None` when not even
    /// level 0 fits or `levels` is empty.
    pub fn filter_fitting(levels: &[TagFilter], max_bytes: usize) -> Option<SignalFrame<'static>> {
        let mut levels: Vec<TagFilter> = levels.iter().take(MAX_FILTER_LEVELS).copied().collect();
        let mut truncated = false;
        while !levels.is_empty() {
            let f = SignalFrame::Filter {
                truncated,
                levels: levels.clone(),
            };
            if f.encode().len() <= max_bytes {
                return Some(f);
            }
            levels.pop();
            truncated = true;
        }
        None
    }

    /// The whole frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![super::WIRE_VERSION, self.kind() as u8];
        self.encode_body(&mut out);
        out
    }
}

/// One level of a filter frame, in its one valid encoding.
fn filter_level(r: &mut Reader<'_>) -> Result<TagFilter, WireError> {
    let form = r.u8("level")?;
    if form == DENSE {
        let mut bytes = [0u8; FILTER_BYTES];
        for b in bytes.iter_mut() {
            *b = r.u8("filter")?;
        }
        let f = TagFilter::from_bytes(&bytes);
        if f.bits_set() <= MAX_SPARSE_BITS {
            return Err(r.bad("filter")); // the sparse form is the one
        }
        return Ok(f);
    }
    let n = usize::from(form);
    if n > MAX_SPARSE_BITS {
        return Err(r.bad("level"));
    }
    let mut f = TagFilter::EMPTY;
    let mut last: Option<u16> = None;
    for _ in 0..n {
        let i = r.u16("bits")?;
        if usize::from(i) >= FILTER_BITS || last.is_some_and(|l| l >= i) {
            return Err(r.bad("bits"));
        }
        f.set(i);
        last = Some(i);
    }
    Ok(f)
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
    fn filter_frames_round_trip_in_one_encoding_and_fit_a_frame() {
        let tags = crate::signals::tags_from(["3d-printing", "material=pla"]).unwrap();
        let small = TagFilter::of(&tags);
        let dense = TagFilter::of(
            &(0..40)
                .map(|i| crate::signals::Tag::new(&format!("tag-{i}")).unwrap())
                .collect::<Vec<_>>(),
        );
        assert!(dense.bits_set() > MAX_SPARSE_BITS);
        let mut both = small;
        both.union(&dense);
        let f = SignalFrame::Filter {
            truncated: false,
            levels: vec![small, small, both],
        };
        let bytes = f.encode();
        // Head, 2 tags × 5 bits sparse, nothing new, the dense rest.
        assert_eq!(bytes.len(), 2 + 1 + (1 + 20) + 1 + (1 + 128));
        assert_eq!(FrameRepr::decode(&bytes), Ok(FrameRepr::Signal(f)));
        // Three levels each adding a dense part do not fit 233 bytes: the
        // deepest go.
        let more = |from: usize| {
            let mut f = TagFilter::of(
                &(from..from + 40)
                    .map(|i| crate::signals::Tag::new(&format!("tag-{i}")).unwrap())
                    .collect::<Vec<_>>(),
            );
            f.union(&dense);
            f
        };
        let (two, three) = (more(100), more(200));
        let mut three_all = two;
        three_all.union(&three);
        let fit = SignalFrame::filter_fitting(&[dense, two, three_all], 233).unwrap();
        assert_eq!(
            fit,
            SignalFrame::Filter {
                truncated: true,
                levels: vec![dense]
            }
        );
        assert!(fit.encode().len() <= 233);
        // A level repeating a bit of the one before.
        let i = small.set_bits().next().unwrap().to_le_bytes();
        assert!(FrameRepr::decode(&[1, 10, 2, 1, i[0], i[1], 1, i[0], i[1]]).is_err());
        // A dense level that should be sparse, bits out of order or range.
        let mut d = vec![1, 10, 1, DENSE];
        d.extend_from_slice(&small.to_bytes());
        assert!(FrameRepr::decode(&d).is_err());
        assert!(FrameRepr::decode(&[1, 10, 1, 2, 5, 0, 4, 0]).is_err());
        assert!(FrameRepr::decode(&[1, 10, 1, 1, 0, 4]).is_err());
        assert!(FrameRepr::decode(&[1, 10, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(FrameRepr::decode(&[1, 10, 1, 0, 0]).is_err());
        assert_eq!(
            FrameRepr::decode(&[1, 10, 0x81, 0]),
            Ok(FrameRepr::Signal(SignalFrame::Filter {
                truncated: true,
                levels: vec![TagFilter::EMPTY]
            }))
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
        fn signal_frames_from_arbitrary_bodies_never_panic(kind in 7u8..11, body in proptest::collection::vec(any::<u8>(), 0..240)) {
            let mut bytes = vec![crate::wire::WIRE_VERSION, kind];
            bytes.extend_from_slice(&body);
            if let Ok(f) = FrameRepr::decode(&bytes) {
                prop_assert_eq!(f.encode(), bytes);
            }
        }
    }
}
