//! The over-the-air frame format.
//!
//! Every okmesh frame starts with a one-byte version and a one-byte kind,
//! then a kind-specific body (integers little-endian, counts as LEB128
//! varints):
//!
//! | kind | body |
//! |---|---|
//! | 1 chat | seq u32, filler |
//! | 2 summary | fingerprint u64, count varint, syndromes u64… |
//! | 3 sketch request | target u32, fingerprint u32 (low half), first varint, count u8 |
//! | 4 sketch | fingerprint u64, count varint, first varint, syndromes u64… |
//! | 5 want | target u32, n u8 (≤ 24), n × (element u64, fragment bitmap varint) |
//! | 6 data | element u64, index u8, total u8, chunk |
//!
//! Decoding follows smoltcp's pattern: [`Frame::new_checked`] validates the
//! header of untrusted bytes, then [`FrameRepr::parse`] turns the body into a
//! typed representation; neither ever panics, whatever the input.

use crate::id::NodeId;

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
    /// Anything else, including undecodable bytes.
    #[default]
    Other,
}

impl FrameClass {
    /// Every class, in a fixed order (for tables).
    pub const ALL: [FrameClass; 5] = [
        FrameClass::Chat,
        FrameClass::Summary,
        FrameClass::Request,
        FrameClass::Data,
        FrameClass::Other,
    ];

    /// The name used in CSV files and JSON.
    pub fn name(self) -> &'static str {
        match self {
            FrameClass::Chat => "chat",
            FrameClass::Summary => "summary",
            FrameClass::Request => "request",
            FrameClass::Data => "data",
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
        Ok((FrameKind::SketchRequest | FrameKind::Sketch | FrameKind::Want, _)) => {
            (FrameClass::Request, 0)
        }
        Ok((FrameKind::Data, body)) => (
            FrameClass::Data,
            body.first_chunk::<8>()
                .map_or(0, |e| u64::from_le_bytes(*e)),
        ),
        Err(_) => (FrameClass::Other, 0),
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

/// A decoded frame. Variable-length parts borrow from the input.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum FrameRepr<'a> {
    /// A background chat message: the sender's sequence number; the rest of
    /// the frame is filler that gives the message its configured size.
    Chat {
        /// Per-sender message counter.
        seq: u32,
    },
    /// A Trickle advertisement of the sender's catalogue.
    Summary {
        /// Set fingerprint (see `sync`).
        fingerprint: u64,
        /// Number of elements in the set.
        count: u32,
        /// The first syndromes of the set sketch.
        syndromes: Syndromes<'a>,
    },
    /// Asks `target` for syndromes `first..first + count` of its sketch.
    SketchRequest {
        /// Who should answer.
        target: NodeId,
        /// Low 32 bits of the target's fingerprint the request is about.
        fingerprint: u32,
        /// First syndrome wanted.
        first: u16,
        /// How many.
        count: u8,
    },
    /// Syndromes `first..` of the sender's set sketch.
    Sketch {
        /// The sender's fingerprint (which set these syndromes describe).
        fingerprint: u64,
        /// The size of that set.
        count: u32,
        /// Index of the first syndrome carried.
        first: u16,
        /// The syndromes.
        syndromes: Syndromes<'a>,
    },
    /// Asks `target` for items (by sync element) — all fragments, or those
    /// in a bitmap.
    Want {
        /// Who should answer.
        target: NodeId,
        /// `(element, fragments)`: bit `i` of `fragments` asks for fragment
        /// `i`; 0 asks for all.
        wants: Vec<(u64, u64)>,
    },
    /// Fragment `index` of `total` of an item's transfer stream.
    Data {
        /// The item version's sync element.
        element: u64,
        /// Fragment number.
        index: u8,
        /// Fragments in the stream.
        total: u8,
        /// The fragment's bytes.
        chunk: &'a [u8],
    },
}

/// A run of 8-byte little-endian sketch syndromes inside a frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Syndromes<'a>(&'a [u8]);

impl<'a> Syndromes<'a> {
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

/// Smallest chat frame: header and sequence number.
pub const CHAT_MIN_LEN: usize = HEADER_LEN + 4;

/// Bytes before the chunk in a data frame (header, element, index, total).
pub const DATA_OVERHEAD: usize = HEADER_LEN + 8 + 2;

/// Most wants one frame may carry.
pub const MAX_WANTS_PER_FRAME: usize = 24;

impl<'a> FrameRepr<'a> {
    /// Parses a checked frame's body.
    pub fn parse(frame: &Frame<'a>) -> Result<Self, WireError> {
        let kind = frame.kind();
        let mut r = Reader {
            bytes: frame.body(),
            kind,
        };
        let repr = match kind {
            FrameKind::Chat => FrameRepr::Chat { seq: r.u32("seq")? },
            FrameKind::Summary => {
                let fingerprint = r.u64("fingerprint")?;
                let count = u32::try_from(r.varint("count")?).map_err(|_| r.bad("count"))?;
                let syndromes = r.syndromes()?;
                FrameRepr::Summary {
                    fingerprint,
                    count,
                    syndromes,
                }
            }
            FrameKind::SketchRequest => FrameRepr::SketchRequest {
                target: NodeId(r.u32("target")?),
                fingerprint: r.u32("fingerprint")?,
                first: u16::try_from(r.varint("first")?).map_err(|_| r.bad("first"))?,
                count: r.u8("count")?,
            },
            FrameKind::Sketch => {
                let fingerprint = r.u64("fingerprint")?;
                let count = u32::try_from(r.varint("count")?).map_err(|_| r.bad("count"))?;
                let first = u16::try_from(r.varint("first")?).map_err(|_| r.bad("first"))?;
                let syndromes = r.syndromes()?;
                FrameRepr::Sketch {
                    fingerprint,
                    count,
                    first,
                    syndromes,
                }
            }
            FrameKind::Want => {
                let target = NodeId(r.u32("target")?);
                let n = usize::from(r.u8("count")?);
                if n > MAX_WANTS_PER_FRAME {
                    return Err(r.bad("count"));
                }
                let mut wants = Vec::with_capacity(n);
                for _ in 0..n {
                    wants.push((r.u64("element")?, r.varint("fragments")?));
                }
                FrameRepr::Want { target, wants }
            }
            FrameKind::Data => {
                let element = r.u64("element")?;
                let index = r.u8("index")?;
                let total = r.u8("total")?;
                if total == 0 || index >= total {
                    return Err(r.bad("index"));
                }
                FrameRepr::Data {
                    element,
                    index,
                    total,
                    chunk: r.rest(),
                }
            }
        };
        Ok(repr)
    }

    /// Decodes untrusted bytes.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, WireError> {
        Self::parse(&Frame::new_checked(bytes)?)
    }

    /// Encodes the frame (a chat frame at its minimum size; see
    /// [`FrameRepr::encode_chat`] for padding).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(WIRE_VERSION);
        match self {
            FrameRepr::Chat { seq } => {
                out.push(FrameKind::Chat as u8);
                out.extend_from_slice(&seq.to_le_bytes());
            }
            FrameRepr::Summary {
                fingerprint,
                count,
                syndromes,
            } => {
                out.push(FrameKind::Summary as u8);
                out.extend_from_slice(&fingerprint.to_le_bytes());
                put_varint(&mut out, u64::from(*count));
                out.extend_from_slice(syndromes.0);
            }
            FrameRepr::SketchRequest {
                target,
                fingerprint,
                first,
                count,
            } => {
                out.push(FrameKind::SketchRequest as u8);
                out.extend_from_slice(&target.0.to_le_bytes());
                out.extend_from_slice(&fingerprint.to_le_bytes());
                put_varint(&mut out, u64::from(*first));
                out.push(*count);
            }
            FrameRepr::Sketch {
                fingerprint,
                count,
                first,
                syndromes,
            } => {
                out.push(FrameKind::Sketch as u8);
                out.extend_from_slice(&fingerprint.to_le_bytes());
                put_varint(&mut out, u64::from(*count));
                put_varint(&mut out, u64::from(*first));
                out.extend_from_slice(syndromes.0);
            }
            FrameRepr::Want { target, wants } => {
                out.push(FrameKind::Want as u8);
                out.extend_from_slice(&target.0.to_le_bytes());
                out.push(wants.len().min(MAX_WANTS_PER_FRAME) as u8);
                for (element, fragments) in wants.iter().take(MAX_WANTS_PER_FRAME) {
                    out.extend_from_slice(&element.to_le_bytes());
                    put_varint(&mut out, *fragments);
                }
            }
            FrameRepr::Data {
                element,
                index,
                total,
                chunk,
            } => {
                out.push(FrameKind::Data as u8);
                out.extend_from_slice(&element.to_le_bytes());
                out.push(*index);
                out.push(*total);
                out.extend_from_slice(chunk);
            }
        }
        out
    }

    /// Encodes a chat frame of exactly `len` bytes (at least [`CHAT_MIN_LEN`]).
    pub fn encode_chat(seq: u32, len: usize) -> Vec<u8> {
        let mut out = FrameRepr::Chat { seq }.encode();
        out.resize(len.max(CHAT_MIN_LEN), 0);
        out
    }
}

/// Syndromes encoded for a frame.
pub fn syndrome_bytes(syndromes: &[u64]) -> Vec<u8> {
    syndromes.iter().flat_map(|s| s.to_le_bytes()).collect()
}

impl<'a> Syndromes<'a> {
    /// Wraps encoded syndromes (a multiple of 8 bytes).
    pub fn from_bytes(bytes: &'a [u8]) -> Option<Self> {
        bytes.len().is_multiple_of(8).then_some(Syndromes(bytes))
    }
}

/// Appends `v` as LEB128.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 value from the front of `bytes`: (value, bytes used).
pub fn get_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, b) in bytes.iter().enumerate().take(10) {
        let part = u64::from(b & 0x7f);
        if i == 9 && part > 1 {
            return None; // more than 64 bits
        }
        v |= part << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// A cursor over a frame body that turns every shortfall into an error.
struct Reader<'a> {
    bytes: &'a [u8],
    kind: FrameKind,
}

impl<'a> Reader<'a> {
    fn bad(&self, field: &'static str) -> WireError {
        WireError::Field {
            kind: self.kind,
            field,
        }
    }

    fn take<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], WireError> {
        let (head, rest) = self.bytes.split_first_chunk::<N>().ok_or(self.bad(field))?;
        self.bytes = rest;
        Ok(*head)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(self.take::<1>(field)?[0])
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.take(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.take(field)?))
    }

    fn varint(&mut self, field: &'static str) -> Result<u64, WireError> {
        let (v, used) = get_varint(self.bytes).ok_or(self.bad(field))?;
        self.bytes = &self.bytes[used..];
        Ok(v)
    }

    fn syndromes(&mut self) -> Result<Syndromes<'a>, WireError> {
        let rest = self.rest();
        Syndromes::from_bytes(rest).ok_or(self.bad("syndromes"))
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn chat_round_trips_at_the_requested_size() {
        let bytes = FrameRepr::encode_chat(77, 40);
        assert_eq!(bytes.len(), 40);
        assert_eq!(FrameRepr::decode(&bytes), Ok(FrameRepr::Chat { seq: 77 }));
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
        let mut d = FrameRepr::Data {
            element: 7,
            index: 0,
            total: 1,
            chunk: b"x",
        }
        .encode();
        d[10] = 1;
        assert!(FrameRepr::decode(&d).is_err());
        // Syndromes must come in whole 8-byte units.
        let mut sk = FrameRepr::Sketch {
            fingerprint: 1,
            count: 3,
            first: 0,
            syndromes: Syndromes(&[0; 8]),
        }
        .encode();
        sk.push(0);
        assert!(FrameRepr::decode(&sk).is_err());
    }

    #[test]
    fn every_kind_round_trips() {
        let syn = syndrome_bytes(&[1, u64::MAX, 0x0123_4567_89ab_cdef]);
        let frames = [
            FrameRepr::Chat { seq: 9 },
            FrameRepr::Summary {
                fingerprint: 42,
                count: 1000,
                syndromes: Syndromes::from_bytes(&syn[..16]).unwrap(),
            },
            FrameRepr::SketchRequest {
                target: NodeId(7),
                fingerprint: 0xdead_beef,
                first: 300,
                count: 20,
            },
            FrameRepr::Sketch {
                fingerprint: 5,
                count: 9,
                first: 2,
                syndromes: Syndromes::from_bytes(&syn).unwrap(),
            },
            FrameRepr::Want {
                target: NodeId(3),
                wants: vec![(11, 0), (12, 0b1010), (u64::MAX, u64::MAX)],
            },
            FrameRepr::Data {
                element: 77,
                index: 2,
                total: 3,
                chunk: b"hello",
            },
        ];
        for f in frames {
            let bytes = f.encode();
            assert!(bytes.len() <= crate::transport::MESHTASTIC_MAX_PAYLOAD_BYTES);
            assert_eq!(FrameRepr::decode(&bytes), Ok(f.clone()), "{f:?}");
        }
    }

    #[test]
    fn summaries_with_two_syndromes_fit_in_forty_bytes() {
        let syn = syndrome_bytes(&[u64::MAX, u64::MAX]);
        let f = FrameRepr::Summary {
            fingerprint: u64::MAX,
            count: 100_000,
            syndromes: Syndromes::from_bytes(&syn).unwrap(),
        };
        assert!(f.encode().len() <= 40, "{}", f.encode().len());
    }

    #[test]
    fn varints_reject_overlong_input() {
        let mut out = Vec::new();
        put_varint(&mut out, u64::MAX);
        assert_eq!(get_varint(&out), Some((u64::MAX, 10)));
        assert_eq!(get_varint(&[0xff; 11]), None);
        assert_eq!(get_varint(&[0x80]), None);
    }

    #[test]
    fn classification_names_the_purpose_and_subject() {
        let data = FrameRepr::Data {
            element: 99,
            index: 0,
            total: 1,
            chunk: b"",
        }
        .encode();
        assert_eq!(classify(&data), (FrameClass::Data, 99));
        assert_eq!(
            classify(&FrameRepr::Chat { seq: 1 }.encode()).0,
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
        fn decoding_any_kind_with_arbitrary_bodies_never_panics(kind in 0u8..8, body in proptest::collection::vec(any::<u8>(), 0..240)) {
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
