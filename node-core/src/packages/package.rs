//! A whole package in memory: building one from a design's files, the
//! package file (`.okpkg`) that carries it whole, and its verification.
//!
//! The package file is `OKPF`, the record length (u32 little-endian), the
//! record ([`super::record`]), then the payload: the files' bytes
//! concatenated in table order. A package file that is one byte short or
//! one byte long is refused, as is one whose pieces do not hash to the
//! signed root.

use catalogue::{ItemId, ItemKind};

use super::merkle::{Hash, MerkleTree, leaf_hash};
use super::piece::PieceMsg;
use super::record::{
    FileEntry, MAX_FILES, MAX_PIECE_BYTES, MAX_RECORD_BYTES, MIN_PIECE_BYTES, PackageId,
    PackageRecord, RecordError, check_path,
};
use crate::identity::{Keypair, PublicKey, Signature};

/// The package file's leading bytes.
pub const FILE_MAGIC: [u8; 4] = *b"OKPF";

/// A complete, verified package.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Package {
    record: PackageRecord,
    id: PackageId,
    payload: Vec<u8>,
    tree: MerkleTree,
}

/// Why a package cannot be built from a set of files.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum BuildError {
    /// No files, or more than [`MAX_FILES`].
    #[error("a package holds 1 to {MAX_FILES} files, this one has {0}")]
    FileCount(usize),
    /// Every file is empty.
    #[error("a package needs at least one byte of content")]
    Empty,
    /// A path that a package cannot carry.
    #[error("file {path:?}: {why}")]
    Path {
        /// The path.
        path: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The same path twice.
    #[error("file {0:?} appears twice")]
    Duplicate(String),
    /// The manifest path is not among the files.
    #[error("manifest {0:?} is not among the package's files")]
    NoManifest(String),
    /// The manifest does not parse.
    #[error("manifest {path:?} does not parse: {why}")]
    Manifest {
        /// Its path.
        path: String,
        /// The parser's message.
        why: String,
    },
    /// A piece length that is not a power of two in range.
    #[error(
        "piece length {0} is not a power of two between {MIN_PIECE_BYTES} and {MAX_PIECE_BYTES}"
    )]
    PieceLength(u32),
    /// The package is over a record limit.
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// Why a package file was refused.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum PackageFileError {
    /// The file does not start with `OKPF` and a record length.
    #[error("not an okmesh package file (bad magic or header)")]
    Magic,
    /// The record length is over [`MAX_RECORD_BYTES`] or past the file.
    #[error("package file: record of {record_bytes} bytes does not fit (file has {file_bytes})")]
    RecordLength {
        /// The announced record length.
        record_bytes: u64,
        /// The file length.
        file_bytes: usize,
    },
    /// The record is malformed or its signature does not verify.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Fewer payload bytes than the record announces.
    #[error("package truncated: payload has {got} bytes, the record says {expected}")]
    Truncated {
        /// Payload bytes present.
        got: u64,
        /// Payload bytes announced.
        expected: u64,
    },
    /// More payload bytes than the record announces.
    #[error("package oversized: payload has {got} bytes, the record says {expected}")]
    Oversized {
        /// Payload bytes present.
        got: u64,
        /// Payload bytes announced.
        expected: u64,
    },
    /// The pieces hash to another root.
    #[error("payload does not match the signed Merkle root {expected} (got {got})")]
    Root {
        /// The signed root.
        expected: Hash,
        /// The payload's root.
        got: Hash,
    },
}

impl Package {
    /// Builds a package from `files` (path, bytes) with pieces of
    /// `piece_len_bytes`, bound to the manifest at `manifest_path` (one of
    /// the files), signed by `key`. Files are stored in path order.
    pub fn build(
        mut files: Vec<(String, Vec<u8>)>,
        manifest_path: &str,
        piece_len_bytes: u32,
        key: &Keypair,
    ) -> Result<Package, BuildError> {
        if files.is_empty() || files.len() > MAX_FILES {
            return Err(BuildError::FileCount(files.len()));
        }
        if !piece_len_bytes.is_power_of_two()
            || !(MIN_PIECE_BYTES..=MAX_PIECE_BYTES).contains(&piece_len_bytes)
        {
            return Err(BuildError::PieceLength(piece_len_bytes));
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        for pair in files.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(BuildError::Duplicate(pair[0].0.clone()));
            }
        }
        for (path, _) in &files {
            check_path(path).map_err(|why| BuildError::Path {
                path: path.clone(),
                why,
            })?;
        }
        let manifest_file = files
            .iter()
            .position(|(p, _)| p == manifest_path)
            .ok_or_else(|| BuildError::NoManifest(manifest_path.to_owned()))?;
        let manifest_bytes = &files[manifest_file].1;
        let parsed = catalogue::entries(ItemKind::Manifest, manifest_bytes, manifest_path)
            .map_err(|e| BuildError::Manifest {
                path: manifest_path.to_owned(),
                why: e.to_string(),
            })?;
        let entry = parsed.entries.first().ok_or_else(|| BuildError::Manifest {
            path: manifest_path.to_owned(),
            why: "no manifest in the file".into(),
        })?;
        let (design, manifest): (ItemId, _) = (entry.id, entry.content);
        let total_bytes: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
        if total_bytes == 0 {
            return Err(BuildError::Empty);
        }
        let entries: Vec<FileEntry> = files
            .iter()
            .map(|(path, b)| FileEntry {
                path: path.clone(),
                len_bytes: b.len() as u64,
            })
            .collect();
        let payload: Vec<u8> = files.into_iter().flat_map(|(_, b)| b).collect();
        let tree = tree_of(&payload, piece_len_bytes);
        let mut record = PackageRecord {
            design,
            manifest,
            manifest_file: manifest_file as u32,
            root: tree.root(),
            total_bytes,
            piece_len_bytes,
            piece_count: tree.leaf_count() as u32,
            files: entries,
            publisher: PublicKey([0; 32]),
            signature: Signature([0; 64]),
        };
        record.sign(key);
        // What we build must be what a receiver accepts.
        let encoded = record.encode();
        PackageRecord::parse(&encoded, u64::MAX)?;
        Ok(Package {
            id: record.id(),
            record,
            payload,
            tree,
        })
    }

    /// The package file bytes.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let record = self.record.encode();
        let mut out = Vec::with_capacity(8 + record.len() + self.payload.len());
        out.extend_from_slice(&FILE_MAGIC);
        out.extend_from_slice(&(record.len() as u32).to_le_bytes());
        out.extend_from_slice(&record);
        out.extend_from_slice(&self.payload);
        out
    }

    /// Reads and fully verifies a package file: the record's fields and
    /// signature, the exact payload length, every piece against the root,
    /// and the manifest binding.
    pub fn from_file_bytes(
        bytes: &[u8],
        max_total_bytes: u64,
    ) -> Result<Package, PackageFileError> {
        let (magic, rest) = bytes
            .split_first_chunk::<4>()
            .ok_or(PackageFileError::Magic)?;
        if *magic != FILE_MAGIC {
            return Err(PackageFileError::Magic);
        }
        let (len, rest) = rest
            .split_first_chunk::<4>()
            .ok_or(PackageFileError::Magic)?;
        let record_bytes = u32::from_le_bytes(*len) as usize;
        if record_bytes > MAX_RECORD_BYTES || record_bytes > rest.len() {
            return Err(PackageFileError::RecordLength {
                record_bytes: record_bytes as u64,
                file_bytes: bytes.len(),
            });
        }
        let (record, payload) = rest.split_at(record_bytes);
        let record = PackageRecord::parse(record, max_total_bytes)?;
        Package::from_parts(record, payload.to_vec())
    }

    /// A package from a parsed record and its payload, fully verified: the
    /// signature, the exact payload length, every piece against the root,
    /// and the manifest binding.
    pub fn from_parts(
        record: PackageRecord,
        payload: Vec<u8>,
    ) -> Result<Package, PackageFileError> {
        record.verify_signature()?;
        let (got, expected) = (payload.len() as u64, record.total_bytes);
        if got < expected {
            return Err(PackageFileError::Truncated { got, expected });
        }
        if got > expected {
            return Err(PackageFileError::Oversized { got, expected });
        }
        let tree = tree_of(&payload, record.piece_len_bytes);
        if tree.root() != record.root {
            return Err(PackageFileError::Root {
                expected: record.root,
                got: tree.root(),
            });
        }
        let package = Package {
            id: record.id(),
            payload,
            record,
            tree,
        };
        package
            .record
            .check_manifest(package.file(package.record.manifest_file as usize))?;
        Ok(package)
    }

    /// The signed record.
    pub fn record(&self) -> &PackageRecord {
        &self.record
    }

    /// The package id.
    pub fn id(&self) -> PackageId {
        self.id
    }

    /// The payload (all files concatenated).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The bytes of file `index` of the table.
    ///
    /// # Panics
    /// Past the table.
    pub fn file(&self, index: usize) -> &[u8] {
        let (_, range) = self
            .record
            .file_ranges()
            .nth(index)
            .expect("file index within the table");
        &self.payload[range.start as usize..range.end as usize]
    }

    /// Each file's path and bytes, in table order.
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.record.file_ranges().map(|(f, r)| {
            (
                f.path.as_str(),
                &self.payload[r.start as usize..r.end as usize],
            )
        })
    }

    /// The bytes of piece `index`, or `None` past the last.
    pub fn piece_data(&self, index: u32) -> Option<&[u8]> {
        let r = self.record.piece_range(index)?;
        Some(&self.payload[r.start as usize..r.end as usize])
    }

    /// Piece `index` with its proof, ready to send.
    pub fn piece(&self, index: u32) -> Option<PieceMsg<'_>> {
        Some(PieceMsg {
            package: self.id,
            index,
            proof: self.tree.proof(u64::from(index))?,
            data: self.piece_data(index)?,
        })
    }
}

/// The Merkle tree over `payload` cut into `piece_len_bytes` pieces.
fn tree_of(payload: &[u8], piece_len_bytes: u32) -> MerkleTree {
    MerkleTree::new(
        payload
            .chunks(piece_len_bytes as usize)
            .map(leaf_hash)
            .collect(),
    )
}
