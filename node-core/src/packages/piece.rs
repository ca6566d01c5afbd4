//! A piece as it travels: the package id, the index, the Merkle proof and
//! the bytes. Over a link with small frames it is cut into fragments the way
//! a sync transfer stream is; this is the reassembled message.
//!
//! | field | encoding |
//! |---|---|
//! | package | 32 bytes: [`PackageId`] |
//! | index | varint (< 2³²) |
//! | proof | u8 n (≤ [`MAX_PROOF_HASHES`]), n × 32 bytes |
//! | data | varint length (≤ [`MAX_PIECE_BYTES`]), then exactly that many bytes |
//!
//! [`PieceMsg::parse`] checks the shape only; whether the piece belongs
//! to a package is [`PackageRecord::verify_piece`](super::PackageRecord::verify_piece),
//! through [`PieceMsg::verify`].

use super::merkle::{Hash, MAX_PROOF_HASHES};
use super::record::{MAX_PIECE_BYTES, PackageId, PackageRecord, PieceError};
use crate::wire::{get_varint, put_varint};

/// One piece with its proof, borrowing its data from the input.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PieceMsg<'a> {
    /// The package.
    pub package: PackageId,
    /// The piece index.
    pub index: u32,
    /// Sibling hashes from the leaf up.
    pub proof: Vec<Hash>,
    /// The piece's bytes.
    pub data: &'a [u8],
}

impl<'a> PieceMsg<'a> {
    /// Encoded length.
    pub fn encoded_len(&self) -> usize {
        32 + 5 + 1 + 32 * self.proof.len() + 5 + self.data.len()
    }

    /// Appends the message to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.extend_from_slice(&self.package.0);
        put_varint(out, u64::from(self.index));
        out.push(self.proof.len() as u8);
        for h in &self.proof {
            out.extend_from_slice(&h.0);
        }
        put_varint(out, self.data.len() as u64);
        out.extend_from_slice(self.data);
    }

    /// Parses untrusted bytes; never panics.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, PieceError> {
        let (package, rest) = bytes
            .split_first_chunk::<32>()
            .ok_or(PieceError::Field("package"))?;
        let (index, used) = get_varint(rest).ok_or(PieceError::Field("index"))?;
        let index = u32::try_from(index).map_err(|_| PieceError::Field("index"))?;
        let rest = &rest[used..];
        let (&n, mut rest) = rest
            .split_first()
            .ok_or(PieceError::Field("proof length"))?;
        if usize::from(n) > MAX_PROOF_HASHES {
            return Err(PieceError::Field("proof length"));
        }
        let mut proof = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let (h, r) = rest
                .split_first_chunk::<32>()
                .ok_or(PieceError::Field("proof"))?;
            proof.push(Hash(*h));
            rest = r;
        }
        let (len, used) = get_varint(rest).ok_or(PieceError::Field("data length"))?;
        let data = &rest[used..];
        if len > u64::from(MAX_PIECE_BYTES) || len != data.len() as u64 {
            return Err(PieceError::Field("data length"));
        }
        Ok(PieceMsg {
            package: PackageId(*package),
            index,
            proof,
            data,
        })
    }

    /// Checks the piece against `record` (whose id is `id`): the package,
    /// the length and the proof.
    pub fn verify(&self, record: &PackageRecord, id: PackageId) -> Result<(), PieceError> {
        if self.package != id {
            return Err(PieceError::Package {
                got: self.package,
                expected: id,
            });
        }
        record.verify_piece(self.index, self.data, &self.proof)
    }
}
