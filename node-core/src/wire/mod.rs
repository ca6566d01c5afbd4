//! The over-the-air frame format.
//!
//! Every okmesh frame starts with a one-byte version and a one-byte kind,
//! then a kind-specific body (integers little-endian, counts as LEB128
//! varints). Kinds come in *families*, one module each, and [`FrameRepr`]
//! has one variant per family:
//!
//! | kind | family | body |
//! |---|---|---|
//! | 1 chat | chat: [`ChatFrame`] | seq u32, filler |
//! | 2 summary | sync: [`SyncFrame`] | fingerprint u64, count varint, syndromes u64… |
//! | 3 sketch request | sync | target u32, fingerprint u32 (low half), first varint, count u8 |
//! | 4 sketch | sync | fingerprint u64, count varint, first varint, syndromes u64… |
//! | 5 want | sync | target u32, n u8 (≤ 24), n × (element u64, fragment bitmap varint) |
//! | 6 data | sync | element u64, index u8, total u8, chunk |
//! | 7 signal | signals: [`SignalFrame`] | hops_left u8, signed signal |
//! | 8 signal digest | signals | fingerprint u64, count u16, lo u32, hi u32, id prefixes u32… |
//! | 9 signal pull | signals | target u32, n u8, id prefixes u32… |
//! | 10 signal filter | signals | head u8, per level: sparse bit list or 128-byte Bloom filter |
//! | 11 package fragment | packages: [`PackageFrame`] | msg u16, index varint, total varint, chunk |
//! | 12 bucket request | sync | target u32, fingerprint u32, count depth u8 (0xff: none) [from varint, n varint], n u8 (≤ 16), n × (depth u8, prefix varint, first varint, count varint) |
//! | 13 bucket counts | sync | fingerprint u32, depth u8, from varint, counts varint… |
//! | 14 bucket sketch | sync | fingerprint u32, runs × (depth u8, prefix varint, first varint, n u8, n × syndrome u64) |
//!
//! The chunks of one element's data frames, put back together, are a
//! transfer stream: a [`TransferHeader`] and the item's compressed bytes.
//!
//! Decoding follows smoltcp's pattern: [`Frame::new_checked`] validates the
//! header of untrusted bytes, then [`FrameRepr::parse`] turns the body into a
//! typed representation; neither ever panics, whatever the input. A new
//! family (signals, packages, identity) takes new kind numbers, a module
//! here with its frame enum, and one variant of [`FrameRepr`].

mod chat;
mod codec;
mod package;
mod signal;
mod sync;
mod transfer;

pub use chat::{CHAT_MIN_LEN, ChatFrame};
pub use codec::{get_varint, put_varint};
pub use package::{FRAGMENT_OVERHEAD, MAX_MESSAGE_FRAGMENTS, PackageFrame, fragment};
pub use signal::{
    FILTER_SUBJECT, MAX_DIGEST_IDS, MAX_FILTER_LEVELS, MAX_PULLS_PER_FRAME, MAX_SPARSE_BITS,
    SignalFrame,
};
pub use sync::{
    BucketAsk, BucketSyndromes, CountAsk, DATA_OVERHEAD, MAX_ASKED_COUNTS, MAX_ASKED_SYNDROMES,
    MAX_BUCKET_ASKS, MAX_FRAGMENTS, MAX_WANTS_PER_FRAME, SyncFrame, Syndromes, Want, data_overhead,
    syndrome_bytes,
};
pub use transfer::{TransferError, TransferHeader};

use codec::Reader;

/// Version of the wire format this build speaks.
pub const WIRE_VERSION: u8 = 1;

/// Bytes taken by the frame header (version, kind).
pub const HEADER_LEN: usize = 2;

/// Frame kinds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum FrameKind {
    /// Background chat-like traffic (the load generator).
    Chat = 1,
    /// A sync summary: the sender's set fingerprint, size and first sketch
    /// syndromes (a Trickle advertisement).
    Summary = 2,
    /// Asks one neighbour for more syndromes of its set sketch.
    SketchRequest = 3,
    /// Syndromes of the sender's set sketch.
    Sketch = 4,
    /// Asks one neighbour for items (by sync element) or missing fragments.
    Want = 5,
    /// One fragment of an item's transfer stream.
    Data = 6,
    /// A supply or demand signal.
    Signal = 7,
    /// A page of the sender's set of live signal announcements.
    SignalDigest = 8,
    /// Asks one neighbour for signals by id prefix.
    SignalPull = 9,
    /// A neighbour's capability and subscription Bloom filters (a
    /// hop-local routing hint).
    SignalFilter = 10,
    /// One fragment of a package swarm message.
    PackageFragment = 11,
    /// Asks one neighbour for bucket counts and bucket sketch syndromes
    /// (partitioned reconciliation).
    BucketRequest = 12,
    /// Element counts of buckets of the sender's set.
    BucketCounts = 13,
    /// Syndromes of bucket sketches of the sender's set.
    BucketSketch = 14,
}

impl FrameKind {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => FrameKind::Chat,
            2 => FrameKind::Summary,
            3 => FrameKind::SketchRequest,
            4 => FrameKind::Sketch,
            5 => FrameKind::Want,
            6 => FrameKind::Data,
            7 => FrameKind::Signal,
            8 => FrameKind::SignalDigest,
            9 => FrameKind::SignalPull,
            10 => FrameKind::SignalFilter,
            11 => FrameKind::PackageFragment,
            12 => FrameKind::BucketRequest,
            13 => FrameKind::BucketCounts,
            14 => FrameKind::BucketSketch,
            _ => return None,
        })
    }
}

/// What a frame is for, as drivers and reports see it (without decoding
/// the body): the simulator tags every transmission with it so reports can
/// split airtime and bytes by purpose.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameClass {
    /// Background chat traffic.
    Chat,
    /// A sync summary (Trickle advertisement).
    Summary,
    /// A sync request (for a set sketch, or for missing items).
    Request,
    /// Item data (fragments of manifests or facilities).
    Data,
    /// Supply and demand signals and their digests and pulls.
    Signal,
    /// Anything else, including undecodable bytes and package swarm
    /// fragments (reports have no column of their own for them yet).
    #[default]
    Other,
}

impl FrameClass {
    /// Every class, in a fixed order (for tables).
    pub const ALL: [FrameClass; 6] = [
        FrameClass::Chat,
        FrameClass::Summary,
        FrameClass::Request,
        FrameClass::Data,
        FrameClass::Signal,
        FrameClass::Other,
    ];

    /// The name used in CSV files and JSON.
    pub fn name(self) -> &'static str {
        match self {
            FrameClass::Chat => "chat",
            FrameClass::Summary => "summary",
            FrameClass::Request => "request",
            FrameClass::Data => "data",
            FrameClass::Signal => "signal",
            FrameClass::Other => "other",
        }
    }
}

/// Classifies a frame from its header, with the 64-bit subject it concerns
/// (the sync element id of the item a data frame carries; 0 when none).
pub fn classify(bytes: &[u8]) -> (FrameClass, u64) {
    match Frame::new_checked(bytes).map(|f| (f.kind(), f.body())) {
        Ok((FrameKind::Chat, _)) => (FrameClass::Chat, 0),
        Ok((FrameKind::Summary, _)) => (FrameClass::Summary, 0),
        Ok((
            FrameKind::SketchRequest
            | FrameKind::Sketch
            | FrameKind::Want
            | FrameKind::BucketRequest
            | FrameKind::BucketCounts
            | FrameKind::BucketSketch,
            _,
        )) => (FrameClass::Request, 0),
        Ok((FrameKind::Data, body)) => (
            FrameClass::Data,
            body.first_chunk::<8>()
                .map_or(0, |e| u64::from_le_bytes(*e)),
        ),
        // The subject of a signal frame: the signal's id.
        Ok((FrameKind::Signal, body)) => (
            FrameClass::Signal,
            body.get(1..)
                .map_or(0, |s| crate::signals::signal::id_of(s).0),
        ),
        Ok((FrameKind::SignalDigest | FrameKind::SignalPull, _)) => (FrameClass::Signal, 0),
        Ok((FrameKind::SignalFilter, _)) => (FrameClass::Signal, FILTER_SUBJECT),
        Ok((FrameKind::PackageFragment, _)) | Err(_) => (FrameClass::Other, 0),
    }
}

/// Why bytes could not be decoded as a frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum WireError {
    /// Fewer bytes than the header or body needs.
    #[error("frame truncated: {len} bytes, need at least {needed}")]
    Truncated {
        /// Bytes present.
        len: usize,
        /// Bytes required.
        needed: usize,
    },
    /// A version this build does not speak.
    #[error("unsupported wire version {0}")]
    Version(u8),
    /// A kind byte this build does not know.
    #[error("unknown frame kind {0}")]
    Kind(u8),
    /// A field holds a value outside its range.
    #[error("bad {field} in a {kind:?} frame")]
    Field {
        /// The frame kind.
        kind: FrameKind,
        /// The field.
        field: &'static str,
    },
}

/// A view of a frame's bytes with a validated header.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    kind: FrameKind,
    body: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Validates the header of `bytes`.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, WireError> {
        let [version, kind, body @ ..] = bytes else {
            return Err(WireError::Truncated {
                len: bytes.len(),
                needed: HEADER_LEN,
            });
        };
        if *version != WIRE_VERSION {
            return Err(WireError::Version(*version));
        }
        let kind = FrameKind::from_u8(*kind).ok_or(WireError::Kind(*kind))?;
        Ok(Frame { kind, body })
    }

    /// The frame's kind.
    pub fn kind(&self) -> FrameKind {
        self.kind
    }

    /// The bytes after the header.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
}

/// A decoded frame, by family. Variable-length parts borrow from the input.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum FrameRepr<'a> {
    /// Background chat traffic.
    Chat(ChatFrame),
    /// Catalogue sync: summaries, sketches, wants and data.
    Sync(SyncFrame<'a>),
    /// Supply and demand signals, digests and pulls.
    Signal(SignalFrame<'a>),
    /// Package swarm messages, in fragments.
    Package(PackageFrame<'a>),
}

impl<'a> FrameRepr<'a> {
    /// Parses a checked frame's body.
    pub fn parse(frame: &Frame<'a>) -> Result<Self, WireError> {
        let kind = frame.kind();
        let mut r = Reader::new(kind, frame.body());
        Ok(match kind {
            FrameKind::Chat => FrameRepr::Chat(ChatFrame::parse(&mut r)?),
            FrameKind::Summary
            | FrameKind::SketchRequest
            | FrameKind::Sketch
            | FrameKind::Want
            | FrameKind::Data
            | FrameKind::BucketRequest
            | FrameKind::BucketCounts
            | FrameKind::BucketSketch => FrameRepr::Sync(SyncFrame::parse(kind, &mut r)?),
            FrameKind::Signal
            | FrameKind::SignalDigest
            | FrameKind::SignalPull
            | FrameKind::SignalFilter => FrameRepr::Signal(SignalFrame::parse(kind, &mut r)?),
            FrameKind::PackageFragment => FrameRepr::Package(PackageFrame::parse(kind, &mut r)?),
        })
    }

    /// Decodes untrusted bytes.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, WireError> {
        Self::parse(&Frame::new_checked(bytes)?)
    }

    /// The frame's kind.
    pub fn kind(&self) -> FrameKind {
        match self {
            FrameRepr::Chat(_) => FrameKind::Chat,
            FrameRepr::Sync(f) => f.kind(),
            FrameRepr::Signal(f) => f.kind(),
            FrameRepr::Package(f) => f.kind(),
        }
    }

    /// Encodes the frame (a chat frame at its minimum size; see
    /// [`FrameRepr::encode_chat`] for padding).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(WIRE_VERSION);
        out.push(self.kind() as u8);
        match self {
            FrameRepr::Chat(f) => f.encode_body(&mut out),
            FrameRepr::Sync(f) => f.encode_body(&mut out),
            FrameRepr::Signal(f) => f.encode_body(&mut out),
            FrameRepr::Package(f) => f.encode_body(&mut out),
        }
        out
    }

    /// Encodes a chat frame of exactly `len` bytes (at least [`CHAT_MIN_LEN`]).
    pub fn encode_chat(seq: u32, len: usize) -> Vec<u8> {
        ChatFrame { seq }.encode_padded(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::NodeId;
    use crate::sync::{Element, Fingerprint};
    use proptest::prelude::*;

    #[test]
    fn chat_round_trips_at_the_requested_size() {
        let bytes = FrameRepr::encode_chat(77, 40);
        assert_eq!(bytes.len(), 40);
        assert_eq!(
            FrameRepr::decode(&bytes),
            Ok(FrameRepr::Chat(ChatFrame { seq: 77 }))
        );
    }

    #[test]
    fn bad_headers_are_errors() {
        assert_eq!(
            FrameRepr::decode(&[]),
            Err(WireError::Truncated { len: 0, needed: 2 })
        );
        assert_eq!(FrameRepr::decode(&[9, 1]), Err(WireError::Version(9)));
        assert_eq!(FrameRepr::decode(&[1, 200]), Err(WireError::Kind(200)));
        assert_eq!(
            FrameRepr::decode(&[1, 1, 0]),
            Err(WireError::Field {
                kind: FrameKind::Chat,
                field: "seq"
            })
        );
        // A data frame whose index is not below its total.
        let mut d = SyncFrame::Data {
            element: Element(7),
            index: 0,
            total: 1,
            chunk: b"x",
        }
        .encode();
        d[10] = 1;
        assert!(FrameRepr::decode(&d).is_err());
        // Syndromes must come in whole 8-byte units.
        let mut sk = SyncFrame::Sketch {
            fingerprint: Fingerprint(1),
            count: 3,
            first: 0,
            syndromes: Syndromes(&[0; 8]),
        }
        .encode();
        sk.push(0);
        assert!(FrameRepr::decode(&sk).is_err());
    }

    fn want(element: u64, base: u16, fragments: u64) -> Want {
        Want {
            element: Element(element),
            base,
            fragments,
        }
    }

    fn one_of_each(syn: &[u8]) -> [FrameRepr<'_>; 9] {
        [
            FrameRepr::Chat(ChatFrame { seq: 9 }),
            FrameRepr::Sync(SyncFrame::Summary {
                fingerprint: Fingerprint(42),
                count: 1000,
                syndromes: Syndromes::from_bytes(&syn[..16]).unwrap(),
            }),
            FrameRepr::Sync(SyncFrame::SketchRequest {
                target: NodeId(7),
                fingerprint: 0xdead_beef,
                first: 300,
                count: 20,
            }),
            FrameRepr::Sync(SyncFrame::Sketch {
                fingerprint: Fingerprint(5),
                count: 9,
                first: 2,
                syndromes: Syndromes::from_bytes(syn).unwrap(),
            }),
            FrameRepr::Sync(SyncFrame::Want {
                target: NodeId(3),
                wants: vec![
                    want(11, 0, 0),
                    want(12, 0, 0b1010),
                    want(u64::MAX, 0, u64::MAX),
                ],
            }),
            FrameRepr::Sync(SyncFrame::Data {
                element: Element(77),
                index: 2,
                total: 3,
                chunk: b"hello",
            }),
            FrameRepr::Sync(SyncFrame::BucketRequest {
                target: NodeId(4),
                fingerprint: 0xfeed,
                counts: Some(CountAsk {
                    depth: 8,
                    from: 0,
                    n: 256,
                }),
                asks: vec![BucketAsk {
                    bucket: crate::sync::Bucket::new(3, 5).unwrap(),
                    first: 40,
                    count: 27,
                }],
            }),
            FrameRepr::Sync(SyncFrame::BucketCounts {
                fingerprint: 0xfeed,
                depth: 8,
                from: 250,
                counts: vec![0, 1, 200, 70_000, 3, 4],
            }),
            FrameRepr::Sync(SyncFrame::BucketSketch {
                fingerprint: 0xfeed,
                runs: vec![
                    BucketSyndromes {
                        bucket: crate::sync::Bucket::ROOT,
                        first: 0,
                        syndromes: Syndromes::from_bytes(&syn[..8]).unwrap(),
                    },
                    BucketSyndromes {
                        bucket: crate::sync::Bucket::new(16, 65_535).unwrap(),
                        first: 511,
                        syndromes: Syndromes::from_bytes(&syn[16..]).unwrap(),
                    },
                ],
            }),
        ]
    }

    #[test]
    fn every_kind_round_trips() {
        let syn = syndrome_bytes(&[1, u64::MAX, 0x0123_4567_89ab_cdef]);
        for f in one_of_each(&syn) {
            let bytes = f.encode();
            assert!(bytes.len() <= crate::transport::MESHTASTIC_MAX_PAYLOAD_BYTES);
            assert_eq!(FrameRepr::decode(&bytes), Ok(f.clone()), "{f:?}");
            if let FrameRepr::Sync(s) = &f {
                assert_eq!(s.encode(), bytes, "a sync frame encodes alone the same");
            }
        }
    }

    #[test]
    fn the_layout_is_pinned_byte_for_byte() {
        // Wire version 1: a change here is a new wire version.
        let syn = syndrome_bytes(&[1, u64::MAX, 0x0123_4567_89ab_cdef]);
        let lens: Vec<usize> = one_of_each(&syn).iter().map(|f| f.encode().len()).collect();
        assert_eq!(lens, [6, 28, 13, 36, 43, 17, 19, 18, 33]);
        let one = FrameRepr::Sync(SyncFrame::Want {
            target: NodeId(0x0403_0201),
            wants: vec![want(0x1122_3344_5566_7788, 0, 0x81)],
        });
        assert_eq!(
            one.encode(),
            [
                1, 5, 1, 2, 3, 4, 1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x81, 0x01
            ]
        );
        // A want of fragments past the 64th carries bases (bit 7 of the
        // count), for every want in the frame.
        let based = FrameRepr::Sync(SyncFrame::Want {
            target: NodeId(0x0403_0201),
            wants: vec![want(7, 0, 1), want(8, 300, 0b11)],
        });
        assert_eq!(
            based.encode(),
            [
                1, 5, 1, 2, 3, 4, 0x82, 7, 0, 0, 0, 0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0, 0, 0, 0xac,
                0x02, 0b11
            ]
        );
        assert_eq!(FrameRepr::decode(&based.encode()), Ok(based));
        let data = SyncFrame::Data {
            element: Element(0x0102_0304_0506_0708),
            index: 1,
            total: 2,
            chunk: b"ab",
        };
        assert_eq!(
            data.encode(),
            [1, 6, 8, 7, 6, 5, 4, 3, 2, 1, 1, 2, b'a', b'b']
        );
        assert_eq!(data.encode().len(), DATA_OVERHEAD + 2);
        // From 128 fragments the numbers take two bytes each.
        let big = SyncFrame::Data {
            element: Element(1),
            index: 300,
            total: MAX_FRAGMENTS as u16,
            chunk: b"ab",
        };
        assert_eq!(&big.encode()[10..14], [0xac, 0x02, 0x80, 0x20]);
        assert_eq!(big.encode().len(), data_overhead(MAX_FRAGMENTS) + 2);
        let too_many = SyncFrame::Data {
            element: Element(1),
            index: 300,
            total: MAX_FRAGMENTS as u16 + 1,
            chunk: b"ab",
        };
        assert!(FrameRepr::decode(&too_many.encode()).is_err());
    }

    #[test]
    fn summaries_with_two_syndromes_fit_in_forty_bytes() {
        let syn = syndrome_bytes(&[u64::MAX, u64::MAX]);
        let f = SyncFrame::Summary {
            fingerprint: Fingerprint(u64::MAX),
            count: 100_000,
            syndromes: Syndromes::from_bytes(&syn).unwrap(),
        };
        assert!(f.encode().len() <= 40, "{}", f.encode().len());
    }

    #[test]
    fn classification_names_the_purpose_and_subject() {
        let data = SyncFrame::Data {
            element: Element(99),
            index: 0,
            total: 1,
            chunk: b"",
        }
        .encode();
        assert_eq!(classify(&data), (FrameClass::Data, 99));
        assert_eq!(
            classify(&FrameRepr::Chat(ChatFrame { seq: 1 }).encode()).0,
            FrameClass::Chat
        );
        assert_eq!(classify(&[0xff]).0, FrameClass::Other);
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = FrameRepr::decode(&bytes);
            let _ = classify(&bytes);
        }

        #[test]
        fn decoding_any_kind_with_arbitrary_bodies_never_panics(kind in 0u8..16, body in proptest::collection::vec(any::<u8>(), 0..240)) {
            let mut bytes = vec![WIRE_VERSION, kind];
            bytes.extend_from_slice(&body);
            if let Ok(f) = FrameRepr::decode(&bytes) {
                // Whatever decodes re-encodes to something that decodes the same.
                let again = f.encode();
                prop_assert_eq!(FrameRepr::decode(&again).ok(), Some(f));
            }
        }
    }
}
