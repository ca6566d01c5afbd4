//! One signal: the signed, compact byte layout every signal type shares,
//! and its checked codec.
//!
//! ```text
//! offset size  field
//!      0    1  type: 1 capability, 2 query, 3 demand, 4 confirmation, 5 cancellation
//!      1    1  flags: bit 0 urgent; the other bits must be 0
//!      2   32  source: the signer's Ed25519 public key
//!     34    v  created_s: mesh time of creation, whole seconds (varint)
//!           v  ttl_s: lifetime in seconds, 1..=MAX_TTL_S (varint)
//!           v  payload length (varint), then the payload (below)
//!          64  Ed25519 signature over SIGNING_DOMAIN ‖ every byte before it
//! ```
//!
//! Payloads (tags are lists: count u8, then per tag len u8 and the tag):
//!
//! | type | payload |
//! |---|---|
//! | capability | tags (what the facility can do, use or make) |
//! | query | tags (all required) |
//! | demand | design id 16 bytes, quantity varint, deadline_s varint, tags |
//! | confirmation | demand id u64, design id 16 bytes, quantity varint |
//! | cancellation | target id u64 |
//!
//! A signal's id ([`SignalId`]) is the first 8 bytes of BLAKE3 over its
//! whole encoding. Verification is strict (one valid signature encoding per
//! key and message), so a signal has exactly one id.
//!
//! Decoding follows the wire codec's pattern: [`SignalBytes::new_checked`]
//! checks the size of untrusted bytes, [`SignalRepr::parse`] decodes and
//! validates every field, [`SignalRepr::verify`] checks the signature;
//! none of them panics, whatever the input.

use std::fmt;

use catalogue::ItemId;
use thiserror::Error;

use crate::identity::{KeyError, Keypair, PublicKey, Signature};
use crate::time::{Duration, Instant};
use crate::wire::{get_varint, put_varint};

/// What a signature covers first: signals cannot be replayed as anything
/// else the same key signs.
pub const SIGNING_DOMAIN: &[u8] = b"okmesh signal v1\0";

/// The largest encoded signal: it must fit one Meshtastic frame with the
/// frame header (2 bytes) and the relay byte (hops left).
pub const MAX_SIGNAL_BYTES: usize = crate::transport::MESHTASTIC_MAX_PAYLOAD_BYTES - 3;

/// The smallest possible encoding (type, flags, key, three one-byte
/// varints, signature).
pub const MIN_SIGNAL_BYTES: usize = 2 + 32 + 3 + 64;

/// The longest lifetime a signal may claim: 30 days.
pub const MAX_TTL_S: u64 = 30 * 24 * 3600;

/// The longest capability tag, in bytes.
pub const MAX_TAG_BYTES: usize = 32;

/// The most tags one signal lists.
pub const MAX_TAGS: usize = 12;

/// The largest quantity a demand or confirmation may name.
pub const MAX_QUANTITY: u32 = 1_000_000;

/// A signal's identity: the first 8 bytes of BLAKE3 over its encoding.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SignalId(pub u64);

impl fmt::Display for SignalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for SignalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignalId({self})")
    }
}

impl serde::Serialize for SignalId {
    /// As 16 hex digits.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl SignalId {
    /// Parses 16 hex digits.
    pub fn from_hex(text: &str) -> Option<SignalId> {
        (text.len() == 16)
            .then(|| u64::from_str_radix(text, 16).ok())
            .flatten()
            .map(SignalId)
    }
}

/// The five signal types.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum SignalType {
    /// Supply: what a facility can do; long-lived, latest wins per source.
    Capability = 1,
    /// Pull: who can meet this requirement set? Short-lived.
    Query = 2,
    /// Push: a design wanted in a quantity by a deadline.
    Demand = 3,
    /// A facility takes on (part of) a demand; the first one wins.
    Confirmation = 4,
    /// Withdraws an earlier signal of the same signer.
    Cancellation = 5,
}

impl SignalType {
    /// Every type, in wire order (for tables).
    pub const ALL: [SignalType; 5] = [
        SignalType::Capability,
        SignalType::Query,
        SignalType::Demand,
        SignalType::Confirmation,
        SignalType::Cancellation,
    ];

    fn from_u8(v: u8) -> Option<SignalType> {
        SignalType::ALL.get(usize::from(v).wrapping_sub(1)).copied()
    }

    /// The name used in CSV files, JSON and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            SignalType::Capability => "capability",
            SignalType::Query => "query",
            SignalType::Demand => "demand",
            SignalType::Confirmation => "confirmation",
            SignalType::Cancellation => "cancellation",
        }
    }
}

/// A capability tag: lowercase ASCII letters, digits and `-._:=+`,
/// 1..=[`MAX_TAG_BYTES`] bytes ("3d-printing", "material=pla").
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    /// Normalises text into a tag (trimmed, lowercased, spaces as `-`), or
    /// says why it cannot be one.
    pub fn new(text: &str) -> Result<Tag, SignalError> {
        let t: String = text
            .trim()
            .chars()
            .map(|c| {
                if c == ' ' {
                    '-'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        Tag::check(t.as_bytes()).map(|()| Tag(t))
    }

    fn check(bytes: &[u8]) -> Result<(), SignalError> {
        if bytes.is_empty() || bytes.len() > MAX_TAG_BYTES {
            return Err(SignalError::Field {
                field: "tag",
                why: "must be 1 to 32 bytes",
            });
        }
        let ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._:=+".contains(b);
        if !bytes.iter().all(ok) {
            return Err(SignalError::Field {
                field: "tag",
                why: "only lowercase letters, digits and -._:=+",
            });
        }
        Ok(())
    }

    /// The tag's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a signal says, by type.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Payload {
    /// A facility's capability summary.
    Capability {
        /// Processes, materials, tools it has.
        tags: Vec<Tag>,
    },
    /// A requirement set: facilities holding every tag answer.
    Query {
        /// The required tags.
        tags: Vec<Tag>,
    },
    /// A design wanted.
    Demand {
        /// The design (an OKH manifest id).
        design: ItemId,
        /// How many.
        quantity: u32,
        /// Wanted by, in mesh time (whole seconds).
        deadline: Instant,
        /// What making it takes (for subscriptions and routing).
        tags: Vec<Tag>,
    },
    /// A facility takes on a demand.
    Confirmation {
        /// The demand confirmed.
        demand: SignalId,
        /// Its design.
        design: ItemId,
        /// How many the facility makes.
        quantity: u32,
    },
    /// Withdraws a signal of the same signer.
    Cancellation {
        /// The signal withdrawn.
        target: SignalId,
    },
}

impl Payload {
    /// The payload's type.
    pub fn signal_type(&self) -> SignalType {
        match self {
            Payload::Capability { .. } => SignalType::Capability,
            Payload::Query { .. } => SignalType::Query,
            Payload::Demand { .. } => SignalType::Demand,
            Payload::Confirmation { .. } => SignalType::Confirmation,
            Payload::Cancellation { .. } => SignalType::Cancellation,
        }
    }

    /// The tags it carries (none for confirmations and cancellations).
    pub fn tags(&self) -> &[Tag] {
        match self {
            Payload::Capability { tags } | Payload::Query { tags } => tags,
            Payload::Demand { tags, .. } => tags,
            Payload::Confirmation { .. } | Payload::Cancellation { .. } => &[],
        }
    }
}

/// Why bytes are not a valid signal. Every variant names where and why.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Error)]
pub enum SignalError {
    /// Fewer bytes than the smallest signal.
    #[error("signal truncated: {len} bytes, need at least {min}")]
    Truncated {
        /// Bytes present.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// More bytes than one signal may have.
    #[error("signal of {len} bytes exceeds the maximum of {max}")]
    Oversized {
        /// Bytes present.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A type byte this build does not know.
    #[error("unknown signal type {0}")]
    Type(u8),
    /// A field is missing or holds a value outside its range.
    #[error("bad {field} in a signal: {why}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Bytes between the payload and the signature.
    #[error("{extra} unexpected bytes after the payload")]
    Trailing {
        /// Count of extra bytes.
        extra: usize,
    },
    /// The signature does not verify for the source key.
    #[error("the signature does not verify for the source key")]
    BadSignature,
}

/// Untrusted bytes whose size is checked: the first step of decoding.
#[derive(Clone, Copy, Debug)]
pub struct SignalBytes<'a>(&'a [u8]);

impl<'a> SignalBytes<'a> {
    /// Checks that `bytes` could be one signal by size.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, SignalError> {
        if bytes.len() < MIN_SIGNAL_BYTES {
            return Err(SignalError::Truncated {
                len: bytes.len(),
                min: MIN_SIGNAL_BYTES,
            });
        }
        if bytes.len() > MAX_SIGNAL_BYTES {
            return Err(SignalError::Oversized {
                len: bytes.len(),
                max: MAX_SIGNAL_BYTES,
            });
        }
        Ok(SignalBytes(bytes))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

/// A decoded signal (the signature not yet checked: see
/// [`SignalRepr::verify`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignalRepr {
    /// What it says.
    pub payload: Payload,
    /// Urgent demand spreads by epidemic rebroadcast.
    pub urgent: bool,
    /// The signer.
    pub source: PublicKey,
    /// Creation, mesh time in whole seconds.
    pub created: Instant,
    /// Lifetime from `created`, whole seconds.
    pub ttl: Duration,
    /// Over [`SIGNING_DOMAIN`] and the bytes before it.
    pub signature: Signature,
}

/// A signal before signing.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Draft {
    /// What it says.
    pub payload: Payload,
    /// Urgent (epidemic rebroadcast).
    pub urgent: bool,
    /// Creation (rounded down to whole seconds).
    pub created: Instant,
    /// Lifetime (rounded down to whole seconds, at least one).
    pub ttl: Duration,
}

impl SignalRepr {
    /// Signs a draft; errors if a field is out of range or the encoding
    /// would not fit [`MAX_SIGNAL_BYTES`] (too many or too long tags).
    pub fn sign(key: &Keypair, draft: Draft) -> Result<SignalRepr, SignalError> {
        let mut repr = SignalRepr {
            payload: draft.payload,
            urgent: draft.urgent,
            source: key.public(),
            created: secs(draft.created),
            ttl: Duration::from_secs(draft.ttl.as_micros() / 1_000_000),
            signature: Signature([0; 64]),
        };
        let unsigned = repr.unsigned_bytes();
        // Validate by decoding what we would send: one set of rules.
        let len = unsigned.len() + 64;
        if len > MAX_SIGNAL_BYTES {
            return Err(SignalError::Oversized {
                len,
                max: MAX_SIGNAL_BYTES,
            });
        }
        repr.signature = key.sign(&signed_message(&unsigned));
        let bytes = repr.encode();
        SignalRepr::parse(&SignalBytes::new_checked(&bytes)?)?;
        Ok(repr)
    }

    /// Decodes and validates every field of checked bytes.
    pub fn parse(bytes: &SignalBytes<'_>) -> Result<SignalRepr, SignalError> {
        let all = bytes.as_bytes();
        let (body, sig) = all.split_at(all.len() - 64);
        let mut r = Reader(body);
        let ty = r.u8("type")?;
        let ty = SignalType::from_u8(ty).ok_or(SignalError::Type(ty))?;
        let flags = r.u8("flags")?;
        if flags & !1 != 0 {
            return Err(bad("flags", "unknown bits set"));
        }
        let source = PublicKey(r.array("source")?);
        let created_s = r.varint("created_s")?;
        if created_s > u64::from(u32::MAX) {
            return Err(bad("created_s", "beyond the year 2106"));
        }
        let ttl_s = r.varint("ttl_s")?;
        if ttl_s == 0 || ttl_s > MAX_TTL_S {
            return Err(bad("ttl_s", "must be 1 s to 30 days"));
        }
        let len = r.varint("payload length")?;
        let payload = r.take(usize::try_from(len).unwrap_or(usize::MAX), "payload")?;
        if !r.0.is_empty() {
            return Err(SignalError::Trailing { extra: r.0.len() });
        }
        let created = Instant::from_micros(created_s * 1_000_000);
        let payload = parse_payload(ty, created, payload)?;
        Ok(SignalRepr {
            payload,
            urgent: flags & 1 == 1,
            source,
            created,
            ttl: Duration::from_secs(ttl_s),
            signature: Signature(sig.try_into().expect("split at 64")),
        })
    }

    /// Checks the signature against the source key.
    pub fn verify(&self) -> Result<(), SignalError> {
        let message = signed_message(&self.unsigned_bytes());
        self.source
            .verify(&message, &self.signature)
            .map_err(|e: KeyError| match e {
                KeyError::BadPublicKey | KeyError::BadSignature | KeyError::BadHex(_) => {
                    SignalError::BadSignature
                }
            })
    }

    /// Size-checks, parses and verifies untrusted bytes.
    pub fn decode_verified(bytes: &[u8]) -> Result<SignalRepr, SignalError> {
        let repr = SignalRepr::parse(&SignalBytes::new_checked(bytes)?)?;
        repr.verify()?;
        Ok(repr)
    }

    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.unsigned_bytes();
        out.extend_from_slice(&self.signature.0);
        out
    }

    /// The id of this signal (over its encoding).
    pub fn id(&self) -> SignalId {
        id_of(&self.encode())
    }

    /// The signal's type.
    pub fn signal_type(&self) -> SignalType {
        self.payload.signal_type()
    }

    /// When it stops being live: a node never stores, forwards or delivers
    /// it at or after this mesh time.
    pub fn expires(&self) -> Instant {
        self.created.checked_add(self.ttl).unwrap_or(Instant::MAX)
    }

    fn unsigned_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_SIGNAL_BYTES);
        out.push(self.signal_type() as u8);
        out.push(u8::from(self.urgent));
        out.extend_from_slice(&self.source.0);
        put_varint(&mut out, self.created.as_micros() / 1_000_000);
        put_varint(&mut out, self.ttl.as_micros() / 1_000_000);
        let mut payload = Vec::new();
        encode_payload(&self.payload, &mut payload);
        put_varint(&mut out, payload.len() as u64);
        out.extend_from_slice(&payload);
        out
    }
}

/// The id of an encoded signal.
pub fn id_of(bytes: &[u8]) -> SignalId {
    let h = blake3::hash(bytes);
    SignalId(u64::from_le_bytes(
        *h.as_bytes().first_chunk().expect("32 bytes"),
    ))
}

fn signed_message(unsigned: &[u8]) -> Vec<u8> {
    [SIGNING_DOMAIN, unsigned].concat()
}

/// `t` rounded down to whole seconds.
fn secs(t: Instant) -> Instant {
    Instant::from_micros(t.as_micros() / 1_000_000 * 1_000_000)
}

fn bad(field: &'static str, why: &'static str) -> SignalError {
    SignalError::Field { field, why }
}

fn encode_payload(p: &Payload, out: &mut Vec<u8>) {
    match p {
        Payload::Capability { tags } | Payload::Query { tags } => put_tags(out, tags),
        Payload::Demand {
            design,
            quantity,
            deadline,
            tags,
        } => {
            out.extend_from_slice(&design.0);
            put_varint(out, u64::from(*quantity));
            put_varint(out, deadline.as_micros() / 1_000_000);
            put_tags(out, tags);
        }
        Payload::Confirmation {
            demand,
            design,
            quantity,
        } => {
            out.extend_from_slice(&demand.0.to_le_bytes());
            out.extend_from_slice(&design.0);
            put_varint(out, u64::from(*quantity));
        }
        Payload::Cancellation { target } => out.extend_from_slice(&target.0.to_le_bytes()),
    }
}

fn put_tags(out: &mut Vec<u8>, tags: &[Tag]) {
    // Lengths are checked when the result is parsed back (`sign`).
    out.push(tags.len().min(255) as u8);
    for t in tags {
        out.push(t.0.len().min(255) as u8);
        out.extend_from_slice(t.0.as_bytes());
    }
}

fn parse_payload(ty: SignalType, created: Instant, bytes: &[u8]) -> Result<Payload, SignalError> {
    let mut r = Reader(bytes);
    let payload = match ty {
        SignalType::Capability => Payload::Capability { tags: r.tags()? },
        SignalType::Query => {
            let tags = r.tags()?;
            if tags.is_empty() {
                return Err(bad("tags", "a query needs at least one tag"));
            }
            Payload::Query { tags }
        }
        SignalType::Demand => {
            let design = ItemId(r.array("design")?);
            let quantity = r.quantity()?;
            let deadline_s = r.varint("deadline_s")?;
            if deadline_s > u64::from(u32::MAX) {
                return Err(bad("deadline_s", "beyond the year 2106"));
            }
            let deadline = Instant::from_micros(deadline_s * 1_000_000);
            if deadline < created {
                return Err(bad("deadline_s", "before the creation time"));
            }
            Payload::Demand {
                design,
                quantity,
                deadline,
                tags: r.tags()?,
            }
        }
        SignalType::Confirmation => Payload::Confirmation {
            demand: SignalId(u64::from_le_bytes(r.array("demand id")?)),
            design: ItemId(r.array("design")?),
            quantity: r.quantity()?,
        },
        SignalType::Cancellation => Payload::Cancellation {
            target: SignalId(u64::from_le_bytes(r.array("target id")?)),
        },
    };
    if !r.0.is_empty() {
        return Err(SignalError::Trailing { extra: r.0.len() });
    }
    Ok(payload)
}

/// A cursor over untrusted bytes; every shortfall is an error naming the
/// field.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], SignalError> {
        if n > self.0.len() {
            return Err(bad(field, "truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], SignalError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(bad(field, "truncated"))?;
        self.0 = rest;
        Ok(*head)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, SignalError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn varint(&mut self, field: &'static str) -> Result<u64, SignalError> {
        let (v, used) = get_varint(self.0).ok_or(bad(field, "not a varint"))?;
        self.0 = &self.0[used..];
        Ok(v)
    }

    fn quantity(&mut self) -> Result<u32, SignalError> {
        let q = self.varint("quantity")?;
        if q == 0 || q > u64::from(MAX_QUANTITY) {
            return Err(bad("quantity", "must be 1 to 1,000,000"));
        }
        Ok(q as u32)
    }

    fn tags(&mut self) -> Result<Vec<Tag>, SignalError> {
        let n = usize::from(self.u8("tag count")?);
        if n > MAX_TAGS {
            return Err(bad("tag count", "more than 12 tags"));
        }
        let mut tags: Vec<Tag> = Vec::with_capacity(n);
        for _ in 0..n {
            let len = usize::from(self.u8("tag length")?);
            let raw = self.take(len, "tag")?;
            Tag::check(raw)?;
            let tag = Tag(String::from_utf8(raw.to_vec()).expect("checked ASCII"));
            // Sorted and unique: one encoding per tag set.
            if tags.last().is_some_and(|last| *last >= tag) {
                return Err(bad("tags", "not sorted or repeated"));
            }
            tags.push(tag);
        }
        Ok(tags)
    }
}

/// Tags from text, normalised, sorted and deduplicated (the order the
/// encoding requires).
pub fn tags_from<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<Vec<Tag>, SignalError> {
    let mut tags = texts
        .into_iter()
        .map(Tag::new)
        .collect::<Result<Vec<_>, _>>()?;
    tags.sort();
    tags.dedup();
    if tags.len() > MAX_TAGS {
        return Err(bad("tag count", "more than 12 tags"));
    }
    Ok(tags)
}

/// Tags from comma-separated text (`3d printing, material=pla`), as the
/// CLI and the HTTP API take them: parts trimmed, empty ones skipped (so a
/// text naming nothing gives no tags, which the caller explains).
pub fn tags_from_list(text: &str) -> Result<Vec<Tag>, SignalError> {
    tags_from(text.split(',').map(str::trim).filter(|p| !p.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> Keypair {
        Keypair::derive(1, "signal test", 0)
    }

    #[test]
    fn a_tag_list_skips_empty_parts_and_sorts() {
        let tags = tags_from_list(" pla , ,3d printing,pla").unwrap();
        assert_eq!(tags, tags_from(["3d printing", "pla"]).unwrap());
        assert_eq!(tags_from_list(" , "), Ok(Vec::new()));
        assert!(tags_from_list("pla/abs").is_err());
    }

    fn draft(payload: Payload) -> Draft {
        Draft {
            payload,
            urgent: false,
            created: Instant::from_micros(1_000_000_500),
            ttl: Duration::from_secs(3600),
        }
    }

    pub(crate) fn one_of_each() -> Vec<Payload> {
        vec![
            Payload::Capability {
                tags: tags_from(["3d-printing", "material=pla", "cnc"]).unwrap(),
            },
            Payload::Query {
                tags: tags_from(["laser-cutting", "plywood-6mm"]).unwrap(),
            },
            Payload::Demand {
                design: ItemId([7; 16]),
                quantity: 40,
                deadline: Instant::from_micros(2_000_000_000),
                tags: tags_from(["3d-printing"]).unwrap(),
            },
            Payload::Confirmation {
                demand: SignalId(99),
                design: ItemId([7; 16]),
                quantity: 10,
            },
            Payload::Cancellation {
                target: SignalId(u64::MAX),
            },
        ]
    }

    #[test]
    fn every_type_round_trips_signed_and_fits_a_frame() {
        let mut lens = Vec::new();
        for p in one_of_each() {
            let s = SignalRepr::sign(&key(), draft(p)).unwrap();
            let bytes = s.encode();
            assert!(bytes.len() <= MAX_SIGNAL_BYTES);
            assert_eq!(SignalRepr::decode_verified(&bytes), Ok(s.clone()));
            assert_eq!(
                s.created,
                Instant::from_micros(1_000_000_000),
                "whole seconds"
            );
            lens.push(bytes.len());
        }
        // Pinned layout: a change here is a new signal format.
        assert_eq!(lens, [133, 130, 135, 128, 111]);
    }

    #[test]
    fn tampering_breaks_the_signature_and_ids_differ() {
        let s = SignalRepr::sign(&key(), draft(one_of_each().remove(2))).unwrap();
        let mut bytes = s.encode();
        let at = bytes.len() - 70;
        bytes[at] ^= 1;
        match SignalRepr::decode_verified(&bytes) {
            Err(SignalError::BadSignature) | Err(SignalError::Field { .. }) => {}
            other => panic!("tampered signal accepted: {other:?}"),
        }
        let other = SignalRepr::sign(
            &Keypair::derive(1, "signal test", 1),
            draft(one_of_each().remove(2)),
        )
        .unwrap();
        assert_ne!(s.id(), other.id());
        assert_eq!(other.verify(), Ok(()));
    }

    #[test]
    fn bad_fields_are_named() {
        assert_eq!(
            SignalBytes::new_checked(&[0; 10]).unwrap_err(),
            SignalError::Truncated {
                len: 10,
                min: MIN_SIGNAL_BYTES
            }
        );
        assert!(matches!(
            SignalBytes::new_checked(&[0; 300]),
            Err(SignalError::Oversized { len: 300, .. })
        ));
        let tags: Vec<String> = (0..12)
            .map(|i| format!("a-rather-long-capability-tag-{i:02}"))
            .collect();
        let big = Payload::Capability {
            tags: tags_from(tags.iter().map(String::as_str)).unwrap(),
        };
        assert!(matches!(
            SignalRepr::sign(&key(), draft(big)),
            Err(SignalError::Oversized { .. })
        ));
        let mut d = draft(one_of_each().remove(0));
        d.ttl = Duration::from_secs(MAX_TTL_S + 1);
        assert_eq!(
            SignalRepr::sign(&key(), d).unwrap_err(),
            SignalError::Field {
                field: "ttl_s",
                why: "must be 1 s to 30 days"
            }
        );
        let mut bytes = SignalRepr::sign(&key(), draft(one_of_each().remove(0)))
            .unwrap()
            .encode();
        bytes[0] = 9;
        assert_eq!(
            SignalRepr::decode_verified(&bytes),
            Err(SignalError::Type(9))
        );
        assert!(Tag::new("Laser Cutting").is_ok_and(|t| t.as_str() == "laser-cutting"));
        assert!(Tag::new("pla/abs").is_err());
        assert!(Tag::new("").is_err());
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..260)) {
            if let Ok(checked) = SignalBytes::new_checked(&bytes)
                && let Ok(repr) = SignalRepr::parse(&checked)
            {
                // Whatever parses re-encodes to the same bytes.
                prop_assert_eq!(repr.encode(), bytes.clone());
                let _ = repr.verify();
            }
        }

        #[test]
        fn mutated_signals_never_verify(
            which in 0usize..5, at in 0usize..MAX_SIGNAL_BYTES, bit in 0u8..8
        ) {
            let s = SignalRepr::sign(&key(), draft(one_of_each().remove(which))).unwrap();
            let mut bytes = s.encode();
            let at = at % bytes.len();
            bytes[at] ^= 1 << bit;
            // Strict verification: no changed byte yields a valid signal.
            prop_assert!(SignalRepr::decode_verified(&bytes).is_err());
        }
    }
}
