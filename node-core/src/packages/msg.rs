//! The swarm's messages and their checked codec: [`SwarmMsg::parse`]
//! borrows from untrusted bytes and never panics; every count is bounded
//! before anything is allocated.
//!
//! Encoding (tag byte, then the body; integers LEB128 varints):
//!
//! | tag | message | body |
//! |---|---|---|
//! | 1 | have | package 32 B, n u8 (≤ [`MAX_RANGES`]), n × (start, length) |
//! | 2 | request | target u32 LE, package 32 B, n u8 (≤ [`MAX_REQUEST_PIECES`]), n × index |
//! | 3 | piece | a [`PieceMsg`] |
//! | 4 | record query | package 32 B, hops left u8 |
//! | 5 | record | an encoded [`PackageRecord`] |
//! | 6 | repair | target u32 LE, message number u16 LE, total varint (2 to [`MAX_MESSAGE_FRAGMENTS`]), a bitmap of ⌈total / 8⌉ bytes (bit `i % 8` of byte `i / 8` set: fragment `i` missing; at least one set, none past `total`) |

use super::piece::PieceMsg;
use super::record::{MAX_PACKAGE_BYTES, PackageId, PackageRecord, PieceError};
use crate::id::NodeId;
use crate::wire::{MAX_MESSAGE_FRAGMENTS, get_varint, put_varint};

/// Most ranges in one have message (a longer list is cut: the rest is
/// advertised next time).
pub const MAX_RANGES: usize = 32;
/// Most pieces in one request.
pub const MAX_REQUEST_PIECES: usize = 16;
/// A swarm message, borrowing from its bytes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SwarmMsg<'a> {
    /// The pieces the sender holds, as `(start, length)` ranges.
    Have {
        /// The package.
        package: PackageId,
        /// Held ranges, ascending and disjoint.
        ranges: Vec<(u32, u32)>,
    },
    /// Asks `target` for pieces.
    Request {
        /// The holder asked.
        target: NodeId,
        /// The package.
        package: PackageId,
        /// Piece indices.
        pieces: Vec<u32>,
    },
    /// A piece with its proof.
    Piece(PieceMsg<'a>),
    /// Asks anyone holding the package for its record.
    RecordQuery {
        /// The package.
        package: PackageId,
        /// Hops the query may still be relayed.
        hops_left: u8,
    },
    /// A package record.
    Record(PackageRecord),
    /// Asks `target` to send again only the fragments of one of its
    /// messages that the sender missed (fragment-level repair: one lost
    /// frame costs one frame, not the whole piece).
    Repair {
        /// The neighbour that sent the message.
        target: NodeId,
        /// Its message number.
        msg: u16,
        /// Fragments in the message.
        total: u32,
        /// The missing fragments, ascending, each below `total`.
        missing: Vec<u32>,
    },
}

/// Why a swarm message could not be decoded.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum SwarmError {
    /// The message is empty.
    #[error("empty swarm message")]
    Empty,
    /// An unknown tag.
    #[error("unknown swarm message tag {0}")]
    Tag(u8),
    /// A field is missing or out of range.
    #[error("swarm {message} message: bad or missing {field}")]
    Field {
        /// The message.
        message: &'static str,
        /// The field.
        field: &'static str,
    },
    /// The piece is malformed.
    #[error(transparent)]
    Piece(#[from] PieceError),
    /// The record is malformed.
    #[error(transparent)]
    Record(#[from] super::record::RecordError),
}

struct Cur<'a> {
    bytes: &'a [u8],
    message: &'static str,
}

impl<'a> Cur<'a> {
    fn bad(&self, field: &'static str) -> SwarmError {
        SwarmError::Field {
            message: self.message,
            field,
        }
    }
    fn id(&mut self) -> Result<PackageId, SwarmError> {
        let (h, r) = self
            .bytes
            .split_first_chunk::<32>()
            .ok_or(self.bad("package"))?;
        self.bytes = r;
        Ok(PackageId(*h))
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, SwarmError> {
        let (b, r) = self.bytes.split_first().ok_or(self.bad(field))?;
        self.bytes = r;
        Ok(*b)
    }
    fn u32v(&mut self, field: &'static str) -> Result<u32, SwarmError> {
        let (v, used) = get_varint(self.bytes).ok_or(self.bad(field))?;
        self.bytes = &self.bytes[used..];
        u32::try_from(v).map_err(|_| self.bad(field))
    }
    fn end(&self) -> Result<(), SwarmError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(self.bad("end (trailing bytes)"))
        }
    }
}

impl<'a> SwarmMsg<'a> {
    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            SwarmMsg::Have { package, ranges } => {
                out.push(1);
                out.extend_from_slice(&package.0);
                out.push(ranges.len() as u8);
                for (s, l) in ranges {
                    put_varint(&mut out, u64::from(*s));
                    put_varint(&mut out, u64::from(*l));
                }
            }
            SwarmMsg::Request {
                target,
                package,
                pieces,
            } => {
                out.push(2);
                out.extend_from_slice(&target.0.to_le_bytes());
                out.extend_from_slice(&package.0);
                out.push(pieces.len() as u8);
                for p in pieces {
                    put_varint(&mut out, u64::from(*p));
                }
            }
            SwarmMsg::Piece(p) => {
                out.push(3);
                p.encode(&mut out);
            }
            SwarmMsg::RecordQuery { package, hops_left } => {
                out.push(4);
                out.extend_from_slice(&package.0);
                out.push(*hops_left);
            }
            SwarmMsg::Record(r) => {
                out.push(5);
                out.extend_from_slice(&r.encode());
            }
            SwarmMsg::Repair {
                target,
                msg,
                total,
                missing,
            } => {
                out.push(6);
                out.extend_from_slice(&target.0.to_le_bytes());
                out.extend_from_slice(&msg.to_le_bytes());
                put_varint(&mut out, u64::from(*total));
                let mut bits = vec![0u8; (*total as usize).div_ceil(8)];
                for &i in missing {
                    if let Some(b) = bits.get_mut(i as usize / 8) {
                        *b |= 1 << (i % 8);
                    }
                }
                out.extend_from_slice(&bits);
            }
        }
        out
    }

    /// Decodes untrusted bytes; never panics.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, SwarmError> {
        let (&tag, body) = bytes.split_first().ok_or(SwarmError::Empty)?;
        let cur = |message| Cur {
            bytes: body,
            message,
        };
        Ok(match tag {
            1 => {
                let mut c = cur("have");
                let package = c.id()?;
                let n = usize::from(c.u8("range count")?);
                if n > MAX_RANGES {
                    return Err(c.bad("range count"));
                }
                let mut ranges = Vec::with_capacity(n);
                let mut next = 0u64;
                for _ in 0..n {
                    let (s, l) = (c.u32v("range start")?, c.u32v("range length")?);
                    // Ascending, disjoint, non-empty, within u32.
                    if u64::from(s) < next || l == 0 || u64::from(s) + u64::from(l) > 1 << 32 {
                        return Err(c.bad("range"));
                    }
                    next = u64::from(s) + u64::from(l);
                    ranges.push((s, l));
                }
                c.end()?;
                SwarmMsg::Have { package, ranges }
            }
            2 => {
                let mut c = cur("request");
                let (t, r) = body.split_first_chunk::<4>().ok_or(c.bad("target"))?;
                c.bytes = r;
                let target = NodeId(u32::from_le_bytes(*t));
                let package = c.id()?;
                let n = usize::from(c.u8("piece count")?);
                if n > MAX_REQUEST_PIECES {
                    return Err(c.bad("piece count"));
                }
                let pieces = (0..n).map(|_| c.u32v("piece")).collect::<Result<_, _>>()?;
                c.end()?;
                SwarmMsg::Request {
                    target,
                    package,
                    pieces,
                }
            }
            3 => SwarmMsg::Piece(PieceMsg::parse(body)?),
            4 => {
                let mut c = cur("record query");
                let package = c.id()?;
                let hops_left = c.u8("hops left")?;
                c.end()?;
                SwarmMsg::RecordQuery { package, hops_left }
            }
            5 => SwarmMsg::Record(PackageRecord::parse(body, MAX_PACKAGE_BYTES)?),
            6 => {
                let mut c = cur("repair");
                let (t, r) = body.split_first_chunk::<4>().ok_or(c.bad("target"))?;
                let (m, r) = r.split_first_chunk::<2>().ok_or(c.bad("msg"))?;
                c.bytes = r;
                let total = c.u32v("total")?;
                if !(2..=MAX_MESSAGE_FRAGMENTS).contains(&total) {
                    return Err(c.bad("total"));
                }
                let bits = c.bytes;
                if bits.len() != (total as usize).div_ceil(8) {
                    return Err(c.bad("missing bitmap"));
                }
                let missing: Vec<u32> = (0..total)
                    .filter(|i| bits[*i as usize / 8] & (1 << (i % 8)) != 0)
                    .collect();
                // Canonical: something missing, no bit past the end.
                let used = bits.iter().map(|b| b.count_ones()).sum::<u32>();
                if missing.is_empty() || used as usize != missing.len() {
                    return Err(c.bad("missing bitmap"));
                }
                SwarmMsg::Repair {
                    target: NodeId(u32::from_le_bytes(*t)),
                    msg: u16::from_le_bytes(*m),
                    total,
                    missing,
                }
            }
            t => return Err(SwarmError::Tag(t)),
        })
    }
}
