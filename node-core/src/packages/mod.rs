//! Design packages: the files a manifest points to (CAD, STL, PCB, docs),
//! cut into fixed-size pieces that each verify alone.
//!
//! A manifest is the recipe; its package is what a maker builds from. A
//! package moves only when someone asks for it, piece by piece, over
//! whichever link a node has. This module is the pure format, free of I/O:
//!
//! * [`merkle`] — the Merkle tree over the pieces' BLAKE3 hashes: roots,
//!   proofs, and verification that never panics on hostile input;
//! * [`record`] — the signed [`PackageRecord`] (root, total size, piece
//!   length and count, file table) bound to one manifest version, its
//!   [`PackageId`], and the piece length per [`LinkClass`];
//! * [`piece`] — [`PieceMsg`], one piece with its proof as it travels;
//! * [`package`] — a whole [`Package`]: building it from a design's files,
//!   the `.okpkg` package file, full verification;
//! * [`cache`] — the [`PackageCache`]: records and verified pieces on a
//!   storage backend of their own, with capacity, LRU eviction, pinning,
//!   and partial packages that survive restarts;
//! * [`fragment`] — swarm messages put back together from the fragment
//!   frames they travel in ([`crate::wire::PackageFrame`]), bounded per
//!   neighbour;
//! * [`msg`] — the swarm's messages (have, request, piece, record query,
//!   record) and their checked codec;
//! * [`swarm`] — the sans-IO [`Swarm`](swarm::Swarm): adverts, rarest-first
//!   requests to several holders, pipelined forwarding, overhearing, bad
//!   senders ignored, progress;
//! * [`estimate`] — transfer-time estimates from a link's rate, duty cycle
//!   and holders.
//!
//! Reading folders and writing files is the CLI's (`okmesh package`).

pub mod cache;
pub mod estimate;
pub mod fragment;
pub mod merkle;
pub mod msg;
pub mod package;
pub mod piece;
pub mod record;
pub mod swarm;

pub use cache::{CacheConfig, CacheError, CacheReport, Held, PackageCache, PieceOutcome};
pub use merkle::{Hash, MerkleTree, ProofError};
pub use package::{BuildError, Package, PackageFileError};
pub use piece::PieceMsg;
pub use record::{
    FileEntry, LinkClass, MAX_PACKAGE_BYTES, PackageId, PackageRecord, PieceError, RecordError,
};

#[cfg(test)]
mod tests;
