//! The sync family (kinds 2–6 and 12–14): the frames of catalogue
//! reconciliation and transfer (see [`crate::sync`] for the protocol they
//! carry). Their fields use sync's vocabulary: [`Element`]s, set
//! [`Fingerprint`]s and [`Bucket`]s of the element space.

use super::codec::{Reader, put_varint};
use super::{FrameKind, HEADER_LEN, WIRE_VERSION, WireError};
use crate::id::NodeId;
use crate::sync::sketch::MAX_CAPACITY;
use crate::sync::{Bucket, Element, Fingerprint};

/// Bytes before the chunk in a data frame of a stream of under 128
/// fragments (header, element, one-byte index and total).
pub const DATA_OVERHEAD: usize = data_overhead(1);

/// Bytes before the chunk in a data frame of a stream of `total` fragments:
/// the index and total are varints, two bytes each from 128 fragments.
pub const fn data_overhead(total: usize) -> usize {
    HEADER_LEN + 8 + if total < 128 { 2 } else { 4 }
}

/// Most wants one frame may carry.
pub const MAX_WANTS_PER_FRAME: usize = 24;

/// Most fragments one transfer stream may have: 4,096 fragments of a LoRa
/// frame's 221 bytes carry about 880 KB, over the 256 KB an item may have.
pub const MAX_FRAGMENTS: usize = 4096;

/// Most bucket sketches one bucket request may ask for.
pub const MAX_BUCKET_ASKS: usize = 16;

/// Most syndromes one bucket request may ask for in all (8 KB of
/// answers, about 38 frames): what one request can make a node send.
pub const MAX_ASKED_SYNDROMES: usize = 1024;

/// Most bucket counts one bucket request may ask for (a few kilobytes of
/// answers).
pub const MAX_ASKED_COUNTS: u32 = 4096;

/// Bit 7 of a want frame's count byte: each want carries a base fragment.
/// Without it every base is 0 (the form of streams of up to 64
/// fragments).
const WANTS_BASED: u8 = 0x80;

/// One item (by sync element) asked for: all its fragments, or those in a
/// window of 64 from `base`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Want {
    /// The item version's sync element.
    pub element: Element,
    /// The first fragment `fragments` speaks of.
    pub base: u16,
    /// Bit `i` asks for fragment `base + i`; 0 asks for every fragment.
    pub fragments: u64,
}

/// Syndromes `first..first + count` of one bucket's sketch, asked for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BucketAsk {
    /// The bucket.
    pub bucket: Bucket,
    /// First syndrome wanted.
    pub first: u16,
    /// How many (at least one).
    pub count: u16,
}

/// The element counts of buckets `from..from + n` at `depth`, asked for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CountAsk {
    /// Depth of the buckets.
    pub depth: u8,
    /// First bucket (its prefix).
    pub from: u32,
    /// How many buckets (at least one).
    pub n: u32,
}

/// Syndromes `first..` of one bucket's sketch, in a bucket sketch frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BucketSyndromes<'a> {
    /// The bucket.
    pub bucket: Bucket,
    /// Index of the first syndrome carried.
    pub first: u16,
    /// The syndromes (at least one).
    pub syndromes: Syndromes<'a>,
}

/// A decoded sync frame. Variable-length parts borrow from the input.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SyncFrame<'a> {
    /// A Trickle advertisement of the sender's catalogue.
    Summary {
        /// Set fingerprint.
        fingerprint: Fingerprint,
        /// Number of elements in the set.
        count: u32,
        /// The first syndromes of the set sketch.
        syndromes: Syndromes<'a>,
    },
    /// Asks `target` for syndromes `first..first + count` of its sketch.
    SketchRequest {
        /// Who should answer.
        target: NodeId,
        /// Low 32 bits of the target's fingerprint the request is about
        /// ([`Fingerprint::low_half`]).
        fingerprint: u32,
        /// First syndrome wanted.
        first: u16,
        /// How many.
        count: u8,
    },
    /// Syndromes `first..` of the sender's set sketch.
    Sketch {
        /// The sender's fingerprint (which set these syndromes describe).
        fingerprint: Fingerprint,
        /// The size of that set.
        count: u32,
        /// Index of the first syndrome carried.
        first: u16,
        /// The syndromes.
        syndromes: Syndromes<'a>,
    },
    /// Asks `target` for items (by sync element) — all fragments, or a
    /// window of them.
    Want {
        /// Who should answer.
        target: NodeId,
        /// What is asked for.
        wants: Vec<Want>,
    },
    /// Fragment `index` of `total` of an item's transfer stream (which
    /// starts with a [`TransferHeader`](super::TransferHeader)).
    Data {
        /// The item version's sync element.
        element: Element,
        /// Fragment number (a varint, one byte below 128).
        index: u16,
        /// Fragments in the stream, at most [`MAX_FRAGMENTS`] (a varint).
        total: u16,
        /// The fragment's bytes.
        chunk: &'a [u8],
    },
    /// Asks `target` for the element counts of some buckets of its set
    /// and for syndromes of some buckets' sketches (partitioned
    /// reconciliation, for differences one sketch cannot decode).
    BucketRequest {
        /// Who should answer.
        target: NodeId,
        /// Low 32 bits of the target's fingerprint the request is about.
        fingerprint: u32,
        /// Bucket counts wanted, if any.
        counts: Option<CountAsk>,
        /// Bucket syndromes wanted (at most [`MAX_BUCKET_ASKS`], at most
        /// [`MAX_ASKED_SYNDROMES`] in all).
        asks: Vec<BucketAsk>,
    },
    /// The element counts of buckets `from..` at `depth` of the sender's set.
    BucketCounts {
        /// Low 32 bits of the sender's fingerprint (the set counted).
        fingerprint: u32,
        /// Depth of the buckets.
        depth: u8,
        /// First bucket counted.
        from: u32,
        /// One count per bucket from `from` (varints to the frame's end).
        counts: Vec<u32>,
    },
    /// Syndromes of some buckets' sketches of the sender's set.
    BucketSketch {
        /// Low 32 bits of the sender's fingerprint (the set sketched).
        fingerprint: u32,
        /// Runs of syndromes, one per bucket (to the frame's end).
        runs: Vec<BucketSyndromes<'a>>,
    },
}

/// A run of 8-byte little-endian sketch syndromes inside a frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Syndromes<'a>(pub(super) &'a [u8]);

impl<'a> Syndromes<'a> {
    /// Wraps encoded syndromes (a multiple of 8 bytes).
    pub fn from_bytes(bytes: &'a [u8]) -> Option<Self> {
        bytes.len().is_multiple_of(8).then_some(Syndromes(bytes))
    }

    /// How many syndromes.
    pub fn len(&self) -> usize {
        self.0.len() / 8
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The syndromes, in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + 'a {
        self.0
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8-byte chunk")))
    }
}

/// Syndromes encoded for a frame.
pub fn syndrome_bytes(syndromes: &[u64]) -> Vec<u8> {
    syndromes.iter().flat_map(|s| s.to_le_bytes()).collect()
}

impl<'a> SyncFrame<'a> {
    /// The kind byte this frame is sent with.
    pub fn kind(&self) -> FrameKind {
        match self {
            SyncFrame::Summary { .. } => FrameKind::Summary,
            SyncFrame::SketchRequest { .. } => FrameKind::SketchRequest,
            SyncFrame::Sketch { .. } => FrameKind::Sketch,
            SyncFrame::Want { .. } => FrameKind::Want,
            SyncFrame::Data { .. } => FrameKind::Data,
            SyncFrame::BucketRequest { .. } => FrameKind::BucketRequest,
            SyncFrame::BucketCounts { .. } => FrameKind::BucketCounts,
            SyncFrame::BucketSketch { .. } => FrameKind::BucketSketch,
        }
    }

    /// Encodes the whole frame, header included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(WIRE_VERSION);
        out.push(self.kind() as u8);
        self.encode_body(&mut out);
        out
    }

    /// Parses the body of a sync-family frame of `kind`.
    pub(super) fn parse(kind: FrameKind, r: &mut Reader<'a>) -> Result<Self, WireError> {
        let frame = match kind {
            FrameKind::Summary => {
                let fingerprint = Fingerprint(r.u64("fingerprint")?);
                let count = u32::try_from(r.varint("count")?).map_err(|_| r.bad("count"))?;
                let syndromes = syndromes(r)?;
                SyncFrame::Summary {
                    fingerprint,
                    count,
                    syndromes,
                }
            }
            FrameKind::SketchRequest => SyncFrame::SketchRequest {
                target: NodeId(r.u32("target")?),
                fingerprint: r.u32("fingerprint")?,
                first: u16::try_from(r.varint("first")?).map_err(|_| r.bad("first"))?,
                count: r.u8("count")?,
            },
            FrameKind::Sketch => {
                let fingerprint = Fingerprint(r.u64("fingerprint")?);
                let count = u32::try_from(r.varint("count")?).map_err(|_| r.bad("count"))?;
                let first = u16::try_from(r.varint("first")?).map_err(|_| r.bad("first"))?;
                let syndromes = syndromes(r)?;
                SyncFrame::Sketch {
                    fingerprint,
                    count,
                    first,
                    syndromes,
                }
            }
            FrameKind::Want => {
                let target = NodeId(r.u32("target")?);
                let count = r.u8("count")?;
                let based = count & WANTS_BASED != 0;
                let n = usize::from(count & !WANTS_BASED);
                if n > MAX_WANTS_PER_FRAME {
                    return Err(r.bad("count"));
                }
                let mut wants = Vec::with_capacity(n);
                for _ in 0..n {
                    let element = Element(r.u64("element")?);
                    let base = if based {
                        fragment_number(r, "base", MAX_FRAGMENTS - 1)?
                    } else {
                        0
                    };
                    let fragments = r.varint("fragments")?;
                    wants.push(Want {
                        element,
                        base,
                        fragments,
                    });
                }
                SyncFrame::Want { target, wants }
            }
            FrameKind::Data => {
                let element = Element(r.u64("element")?);
                let index = fragment_number(r, "index", MAX_FRAGMENTS - 1)?;
                let total = fragment_number(r, "total", MAX_FRAGMENTS)?;
                if total == 0 || index >= total {
                    return Err(r.bad("index"));
                }
                SyncFrame::Data {
                    element,
                    index,
                    total,
                    chunk: r.rest(),
                }
            }
            FrameKind::BucketRequest => {
                let target = NodeId(r.u32("target")?);
                let fingerprint = r.u32("fingerprint")?;
                let counts = match r.u8("count depth")? {
                    NO_COUNTS => None,
                    depth => {
                        let from = bucket(r, depth, "counts from")?.prefix();
                        let n =
                            u32::try_from(r.varint("counts n")?).map_err(|_| r.bad("counts n"))?;
                        let end = u64::from(from) + u64::from(n);
                        if n == 0 || n > MAX_ASKED_COUNTS || end > Bucket::buckets_at(depth) {
                            return Err(r.bad("counts n"));
                        }
                        Some(CountAsk { depth, from, n })
                    }
                };
                let n = usize::from(r.u8("asks")?);
                if n > MAX_BUCKET_ASKS {
                    return Err(r.bad("asks"));
                }
                let mut asks = Vec::with_capacity(n);
                let mut total = 0usize;
                for _ in 0..n {
                    let depth = r.u8("depth")?;
                    let bucket = bucket(r, depth, "prefix")?;
                    let first = syndrome_index(r, "first")?;
                    let count = syndrome_index(r, "count")?;
                    total += usize::from(count);
                    if count == 0
                        || usize::from(first) + usize::from(count) > MAX_CAPACITY
                        || total > MAX_ASKED_SYNDROMES
                    {
                        return Err(r.bad("count"));
                    }
                    asks.push(BucketAsk {
                        bucket,
                        first,
                        count,
                    });
                }
                SyncFrame::BucketRequest {
                    target,
                    fingerprint,
                    counts,
                    asks,
                }
            }
            FrameKind::BucketCounts => {
                let fingerprint = r.u32("fingerprint")?;
                let depth = r.u8("depth")?;
                let from = bucket(r, depth, "from")?.prefix();
                let mut counts = Vec::new();
                while !r.is_empty() {
                    counts.push(u32::try_from(r.varint("counts")?).map_err(|_| r.bad("counts"))?);
                }
                if counts.is_empty()
                    || u64::from(from) + counts.len() as u64 > Bucket::buckets_at(depth)
                {
                    return Err(r.bad("counts"));
                }
                SyncFrame::BucketCounts {
                    fingerprint,
                    depth,
                    from,
                    counts,
                }
            }
            FrameKind::BucketSketch => {
                let fingerprint = r.u32("fingerprint")?;
                let mut runs = Vec::new();
                while !r.is_empty() {
                    let depth = r.u8("depth")?;
                    let bucket = bucket(r, depth, "prefix")?;
                    let first = syndrome_index(r, "first")?;
                    let n = usize::from(r.u8("syndromes")?);
                    if n == 0 || usize::from(first) + n > MAX_CAPACITY {
                        return Err(r.bad("syndromes"));
                    }
                    let bytes = r.bytes(8 * n, "syndromes")?;
                    runs.push(BucketSyndromes {
                        bucket,
                        first,
                        syndromes: Syndromes(bytes),
                    });
                }
                if runs.is_empty() {
                    return Err(r.bad("syndromes"));
                }
                SyncFrame::BucketSketch { fingerprint, runs }
            }
            // The caller dispatches only this family's kinds here.
            FrameKind::Chat
            | FrameKind::Signal
            | FrameKind::SignalDigest
            | FrameKind::SignalPull
            | FrameKind::SignalFilter
            | FrameKind::PackageFragment => return Err(WireError::Kind(kind as u8)),
        };
        Ok(frame)
    }

    /// Appends the body (everything after the header).
    pub(super) fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            SyncFrame::Summary {
                fingerprint,
                count,
                syndromes,
            } => {
                out.extend_from_slice(&fingerprint.0.to_le_bytes());
                put_varint(out, u64::from(*count));
                out.extend_from_slice(syndromes.0);
            }
            SyncFrame::SketchRequest {
                target,
                fingerprint,
                first,
                count,
            } => {
                out.extend_from_slice(&target.0.to_le_bytes());
                out.extend_from_slice(&fingerprint.to_le_bytes());
                put_varint(out, u64::from(*first));
                out.push(*count);
            }
            SyncFrame::Sketch {
                fingerprint,
                count,
                first,
                syndromes,
            } => {
                out.extend_from_slice(&fingerprint.0.to_le_bytes());
                put_varint(out, u64::from(*count));
                put_varint(out, u64::from(*first));
                out.extend_from_slice(syndromes.0);
            }
            SyncFrame::Want { target, wants } => {
                let wants = &wants[..wants.len().min(MAX_WANTS_PER_FRAME)];
                let based = wants.iter().any(|w| w.base != 0);
                out.extend_from_slice(&target.0.to_le_bytes());
                out.push(wants.len() as u8 | if based { WANTS_BASED } else { 0 });
                for w in wants {
                    out.extend_from_slice(&w.element.0.to_le_bytes());
                    if based {
                        put_varint(out, u64::from(w.base));
                    }
                    put_varint(out, w.fragments);
                }
            }
            SyncFrame::Data {
                element,
                index,
                total,
                chunk,
            } => {
                out.extend_from_slice(&element.0.to_le_bytes());
                put_varint(out, u64::from(*index));
                put_varint(out, u64::from(*total));
                out.extend_from_slice(chunk);
            }
            SyncFrame::BucketRequest {
                target,
                fingerprint,
                counts,
                asks,
            } => {
                out.extend_from_slice(&target.0.to_le_bytes());
                out.extend_from_slice(&fingerprint.to_le_bytes());
                match counts {
                    Some(c) => {
                        out.push(c.depth);
                        put_varint(out, u64::from(c.from));
                        put_varint(out, u64::from(c.n));
                    }
                    None => out.push(NO_COUNTS),
                }
                let asks = &asks[..asks.len().min(MAX_BUCKET_ASKS)];
                out.push(asks.len() as u8);
                for a in asks {
                    out.push(a.bucket.depth());
                    put_varint(out, u64::from(a.bucket.prefix()));
                    put_varint(out, u64::from(a.first));
                    put_varint(out, u64::from(a.count));
                }
            }
            SyncFrame::BucketCounts {
                fingerprint,
                depth,
                from,
                counts,
            } => {
                out.extend_from_slice(&fingerprint.to_le_bytes());
                out.push(*depth);
                put_varint(out, u64::from(*from));
                for c in counts {
                    put_varint(out, u64::from(*c));
                }
            }
            SyncFrame::BucketSketch { fingerprint, runs } => {
                out.extend_from_slice(&fingerprint.to_le_bytes());
                for run in runs {
                    out.push(run.bucket.depth());
                    put_varint(out, u64::from(run.bucket.prefix()));
                    put_varint(out, u64::from(run.first));
                    out.push(run.syndromes.len().min(255) as u8);
                    out.extend_from_slice(&run.syndromes.0[..8 * run.syndromes.len().min(255)]);
                }
            }
        }
    }
}

/// The count-depth byte of a bucket request that asks for no counts.
const NO_COUNTS: u8 = 0xff;

/// A bucket's prefix (a varint) at `depth`, checked.
fn bucket(r: &mut Reader<'_>, depth: u8, field: &'static str) -> Result<Bucket, WireError> {
    let prefix = r.varint(field)?;
    u32::try_from(prefix)
        .ok()
        .and_then(|p| Bucket::new(depth, p))
        .ok_or_else(|| r.bad(field))
}

/// A syndrome index or count (a varint) below [`MAX_CAPACITY`] + 1.
fn syndrome_index(r: &mut Reader<'_>, field: &'static str) -> Result<u16, WireError> {
    let v = r.varint(field)?;
    usize::try_from(v)
        .ok()
        .filter(|v| *v <= MAX_CAPACITY)
        .and_then(|v| u16::try_from(v).ok())
        .ok_or_else(|| r.bad(field))
}

/// The rest of the body as whole syndromes.
fn syndromes<'a>(r: &mut Reader<'a>) -> Result<Syndromes<'a>, WireError> {
    let rest = r.rest();
    Syndromes::from_bytes(rest).ok_or(r.bad("syndromes"))
}

/// A fragment number or count (a varint) of at most `max`.
fn fragment_number(r: &mut Reader<'_>, field: &'static str, max: usize) -> Result<u16, WireError> {
    let v = r.varint(field)?;
    usize::try_from(v)
        .ok()
        .filter(|v| *v <= max)
        .and_then(|v| u16::try_from(v).ok())
        .ok_or_else(|| r.bad(field))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::MAX_BUCKET_DEPTH;
    use crate::wire::FrameRepr;
    use proptest::prelude::*;

    fn any_bucket() -> impl Strategy<Value = Bucket> {
        (0..=MAX_BUCKET_DEPTH, any::<u32>()).prop_map(|(depth, p)| {
            Bucket::new(depth, (u64::from(p) % Bucket::buckets_at(depth)) as u32).unwrap()
        })
    }

    fn any_ask() -> impl Strategy<Value = BucketAsk> {
        (any_bucket(), 0..MAX_CAPACITY as u16, 1..=64u16).prop_map(|(bucket, first, count)| {
            BucketAsk {
                bucket,
                first: first.min(MAX_CAPACITY as u16 - count),
                count,
            }
        })
    }

    proptest! {
        #[test]
        fn bucket_requests_round_trip(
            target in any::<u32>(),
            fingerprint in any::<u32>(),
            counts in proptest::option::of((0..=12u8, any::<u32>(), 1..=MAX_ASKED_COUNTS)),
            asks in proptest::collection::vec(any_ask(), 0..=MAX_BUCKET_ASKS),
        ) {
            let counts = counts.map(|(depth, from, n)| {
                let all = Bucket::buckets_at(depth) as u32;
                let n = n.min(all);
                CountAsk { depth, from: from % (all - n + 1), n }
            });
            let f = SyncFrame::BucketRequest { target: NodeId(target), fingerprint, counts, asks };
            let bytes = f.encode();
            prop_assert!(bytes.len() <= crate::transport::MESHTASTIC_MAX_PAYLOAD_BYTES);
            prop_assert_eq!(FrameRepr::decode(&bytes), Ok(FrameRepr::Sync(f)));
        }

        #[test]
        fn bucket_counts_and_sketches_round_trip(
            fingerprint in any::<u32>(),
            depth in 0..=MAX_BUCKET_DEPTH,
            counts in proptest::collection::vec(any::<u32>(), 1..40),
            runs in proptest::collection::vec((any_bucket(), 0..480u16, proptest::collection::vec(any::<u64>(), 1..4)), 1..6),
        ) {
            let all = Bucket::buckets_at(depth);
            let counts: Vec<u32> = counts.into_iter().take(all as usize).collect();
            let from = (all - counts.len() as u64) as u32;
            let f = SyncFrame::BucketCounts { fingerprint, depth, from, counts };
            let encoded = f.encode();
            prop_assert_eq!(FrameRepr::decode(&encoded), Ok(FrameRepr::Sync(f)));
            let bytes: Vec<(Bucket, u16, Vec<u8>)> =
                runs.into_iter().map(|(b, first, s)| (b, first, syndrome_bytes(&s))).collect();
            let f = SyncFrame::BucketSketch {
                fingerprint,
                runs: bytes
                    .iter()
                    .map(|(bucket, first, s)| BucketSyndromes {
                        bucket: *bucket,
                        first: *first,
                        syndromes: Syndromes::from_bytes(s).unwrap(),
                    })
                    .collect(),
            };
            let encoded = f.encode();
            prop_assert_eq!(FrameRepr::decode(&encoded), Ok(FrameRepr::Sync(f)));
        }

        #[test]
        fn bucket_frames_from_arbitrary_bodies_never_panic_and_stay_in_bounds(
            kind in 12u8..=14,
            body in proptest::collection::vec(any::<u8>(), 0..240),
        ) {
            let mut bytes = vec![crate::wire::WIRE_VERSION, kind];
            bytes.extend_from_slice(&body);
            match FrameRepr::decode(&bytes) {
                Ok(FrameRepr::Sync(SyncFrame::BucketRequest { counts, asks, .. })) => {
                    prop_assert!(asks.len() <= MAX_BUCKET_ASKS);
                    let total: usize = asks.iter().map(|a| usize::from(a.count)).sum();
                    prop_assert!(total <= MAX_ASKED_SYNDROMES);
                    prop_assert!(asks.iter().all(|a| usize::from(a.first) + usize::from(a.count) <= MAX_CAPACITY));
                    prop_assert!(counts.is_none_or(|c| c.n <= MAX_ASKED_COUNTS && c.depth <= MAX_BUCKET_DEPTH));
                }
                Ok(FrameRepr::Sync(SyncFrame::BucketSketch { runs, .. })) => {
                    prop_assert!(runs.iter().all(|r| usize::from(r.first) + r.syndromes.len() <= MAX_CAPACITY));
                }
                _ => {}
            }
        }
    }

    #[test]
    fn out_of_range_bucket_fields_are_errors() {
        let bad = |body: &[u8]| {
            let mut bytes = vec![crate::wire::WIRE_VERSION, FrameKind::BucketSketch as u8];
            bytes.extend_from_slice(body);
            FrameRepr::decode(&bytes).is_err()
        };
        // Depth 17; prefix 4 at depth 2; syndromes past the capacity; no run.
        assert!(bad(&[0, 0, 0, 0, 17, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]));
        assert!(bad(&[0, 0, 0, 0, 2, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]));
        assert!(bad(&[
            0, 0, 0, 0, 0, 0, 0xff, 0x03, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ]));
        assert!(bad(&[0, 0, 0, 0]));
    }
}
