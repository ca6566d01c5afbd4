//! The package record: what a package is, signed by its publisher and
//! bound to one manifest version.
//!
//! | field | encoding |
//! |---|---|
//! | magic | `OKPR` |
//! | version | u8 = 1 |
//! | design | 16 bytes: the manifest's [`ItemId`] |
//! | manifest | 32 bytes: the manifest version's [`ContentId`] |
//! | manifest file | varint: index of the manifest's own file in the file table |
//! | root | 32 bytes: the Merkle root over the pieces ([`super::merkle`]) |
//! | total | varint: payload bytes (all files, concatenated in table order) |
//! | piece length | varint: bytes per piece (a power of two; the last piece may be shorter) |
//! | piece count | varint: ⌈total / piece length⌉ |
//! | files | varint n, then n × (path length varint, UTF-8 path, length varint) |
//! | publisher | 32 bytes: Ed25519 public key |
//! | signature | 64 bytes over `okmesh package record v1` ‖ every byte above it |
//!
//! Parsing ([`PackageRecord::parse`]) checks every field and every
//! relation between them (piece count against total, file lengths against
//! total, canonical paths) and never panics; the signature and the
//! manifest binding are separate checks ([`PackageRecord::verify_signature`],
//! [`PackageRecord::check_manifest`]) because they need more than the bytes.

use catalogue::{ContentId, ItemId, ItemKind};

use super::merkle::{self, Hash, ProofError};
use crate::identity::{Keypair, PublicKey, Signature};
use crate::wire::{get_varint, put_varint};

/// The record's leading bytes.
pub const RECORD_MAGIC: [u8; 4] = *b"OKPR";
/// The record format this build writes and reads.
pub const RECORD_VERSION: u8 = 1;
/// Domain of the record signature.
const SIGN_CONTEXT: &[u8] = b"okmesh package record v1\0";
/// Domain of the package id.
const ID_CONTEXT: &str = "okmesh package id v1";

/// Most files in one package.
pub const MAX_FILES: usize = 4096;
/// Longest file path in a package, in bytes.
pub const MAX_PATH_BYTES: usize = 255;
/// Largest package payload, in bytes (16 GiB): a hard bound on what any
/// record may announce; receivers pass a lower one to
/// [`PackageRecord::parse`].
pub const MAX_PACKAGE_BYTES: u64 = 16 << 30;
/// Smallest piece length.
pub const MIN_PIECE_BYTES: u32 = 1 << 10;
/// Largest piece length.
pub const MAX_PIECE_BYTES: u32 = 1 << 20;
/// Longest encoded record: the fixed fields plus a full file table.
pub const MAX_RECORD_BYTES: usize = 256 + MAX_FILES * (MAX_PATH_BYTES + 12);

/// The kind of link a package is cut for: it sets the piece length.
///
/// A relay forwards only whole verified pieces, and a lost piece is
/// re-sent whole, so a piece should be a few seconds of a link's airtime;
/// and each piece travels with a proof of 32 bytes per tree level, so it
/// should be large against ⌈log₂ pieces⌉ × 32 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LinkClass {
    /// LoRa (Meshtastic LongFast, ~1 kbit/s, 10 % duty cycle): 4 KiB
    /// pieces. One piece is ~19 frames of ~220 bytes (33 s of airtime at
    /// 1 kbit/s); a 200 KB package has 49 pieces, so a proof is 6 hashes
    /// (192 bytes, one frame, 4.7 %). 1 KiB pieces would cost 8 hashes per
    /// KiB (25 %); 16 KiB pieces would hold a relay back ~2 min of airtime
    /// (20 min of duty cycle) before it can forward.
    LoRa,
    /// A fast local link (Wi-Fi, Ethernet, the UDP transport): 64 KiB
    /// pieces. A 20 MB package has 306 pieces (9 hashes, 288 bytes of proof,
    /// 0.4 %); 1 GiB has 16 384 (a 2 KiB bitfield). At 10 Mbit/s a piece is
    /// 52 ms, so pipelining across hops stays tight. It is also the largest
    /// piece the fragment layer carries (a swarm message is at most
    /// 64 KiB + 4 KiB and 512 fragments: 293 frames of 224 bytes over the
    /// 231-byte frames the UDP testbed shares with Meshtastic), and larger
    /// pieces would gain almost nothing: the proof is already 0.4 %, and
    /// the 25 bytes of datagram and fragment header per frame (10 %) are
    /// what bounds goodput (measured: 87 % of an 8 Mbit/s testbed link for
    /// 20 MB, `tests/it/package_field.rs`).
    Fast,
}

impl LinkClass {
    /// The piece length for this link class.
    pub const fn piece_len_bytes(self) -> u32 {
        match self {
            LinkClass::LoRa => 4 << 10,
            LinkClass::Fast => 64 << 10,
        }
    }

    /// The class a package of `total_bytes` is cut for when the publisher
    /// does not say: up to 1 MiB a package can still cross LoRa (hours to a
    /// day per hop), beyond that only a fast link carries it.
    pub const fn for_size(total_bytes: u64) -> LinkClass {
        if total_bytes <= 1 << 20 {
            LinkClass::LoRa
        } else {
            LinkClass::Fast
        }
    }
}

/// The identity of a package: BLAKE3 (domain-separated) of its record's
/// signed bytes, so it names the contents, the file table, the manifest
/// and the publisher at once.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PackageId(pub [u8; 32]);

impl std::fmt::Display for PackageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::fmt::Debug for PackageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PackageId({self})")
    }
}

impl PackageId {
    /// Reads 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        let t = text.trim().as_bytes();
        if t.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(t.chunks(2)) {
            let s = std::str::from_utf8(pair).ok()?;
            *o = u8::from_str_radix(s, 16).ok()?;
        }
        Some(PackageId(out))
    }
}

/// One file of a package.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FileEntry {
    /// Relative path, `/`-separated, canonical (see [`check_path`]).
    pub path: String,
    /// Length in bytes.
    pub len_bytes: u64,
}

/// A package record (see the module docs for the encoding).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PackageRecord {
    /// The design (manifest item) the package belongs to.
    pub design: ItemId,
    /// The manifest version the package was built with.
    pub manifest: ContentId,
    /// Index of the manifest's own file in `files`.
    pub manifest_file: u32,
    /// Merkle root over the pieces.
    pub root: Hash,
    /// Payload bytes.
    pub total_bytes: u64,
    /// Bytes per piece.
    pub piece_len_bytes: u32,
    /// Number of pieces.
    pub piece_count: u32,
    /// The files, in payload order, paths strictly ascending.
    pub files: Vec<FileEntry>,
    /// Who signed the record.
    pub publisher: PublicKey,
    /// The publisher's signature.
    pub signature: Signature,
}

/// Why a record cannot be used. Display texts name the field and why.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum RecordError {
    /// The bytes do not start with `OKPR`.
    #[error("not a package record (bad magic)")]
    Magic,
    /// A record version this build does not read.
    #[error("unsupported package record version {0}")]
    Version(u8),
    /// A field is missing or malformed.
    #[error("package record: bad or missing {0}")]
    Field(&'static str),
    /// Bytes after the signature.
    #[error("package record: {0} bytes after the signature")]
    Trailing(usize),
    /// The payload is larger than the receiver accepts.
    #[error("package of {total_bytes} bytes is over the limit of {max_bytes}")]
    TooLarge {
        /// Announced payload bytes.
        total_bytes: u64,
        /// The limit.
        max_bytes: u64,
    },
    /// The piece length is not a power of two in range.
    #[error(
        "piece length {0} is not a power of two between {MIN_PIECE_BYTES} and {MAX_PIECE_BYTES}"
    )]
    PieceLength(u64),
    /// The piece count does not match the total and piece length.
    #[error(
        "piece count {got} does not match {total_bytes} bytes in pieces of {piece_len_bytes} (needs {needed})"
    )]
    PieceCount {
        /// Announced count.
        got: u64,
        /// Count the sizes imply.
        needed: u64,
        /// Payload bytes.
        total_bytes: u64,
        /// Piece length.
        piece_len_bytes: u32,
    },
    /// The file lengths do not add up to the total.
    #[error("files add up to {files_bytes} bytes, the record says {total_bytes}")]
    FileTotal {
        /// Sum of the file lengths.
        files_bytes: u64,
        /// The announced total.
        total_bytes: u64,
    },
    /// No files, or more than [`MAX_FILES`].
    #[error("package has {0} files (1 to {MAX_FILES} allowed)")]
    FileCount(u64),
    /// A path that is not canonical, or not after the previous one.
    #[error("file {index}: bad path {path:?}: {why}")]
    Path {
        /// Position in the table.
        index: usize,
        /// The path (lossy UTF-8, cut to 80 characters).
        path: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The manifest file index is past the table.
    #[error("manifest file index {0} is past the file table")]
    ManifestFile(u64),
    /// The signature does not verify under the record's publisher key.
    #[error("package record signature does not verify under publisher {0}")]
    Signature(String),
    /// The record is not bound to this manifest.
    #[error("package record is for manifest {expected} (design {design}), not {got}")]
    ManifestMismatch {
        /// The manifest content the record names.
        expected: ContentId,
        /// The design the record names.
        design: ItemId,
        /// The manifest it was checked against (content id, or why it did not parse).
        got: String,
    },
}

/// Checks that `path` is a canonical relative path: non-empty, at most
/// [`MAX_PATH_BYTES`], `/`-separated components that are neither empty,
/// `.` nor `..`, with no backslash, NUL or other control character — so
/// that extracting it can never leave the target folder.
pub fn check_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("empty");
    }
    if path.len() > MAX_PATH_BYTES {
        return Err("too long");
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Err("control character or backslash");
    }
    if path
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err("empty, '.' or '..' component (or leading/trailing '/')");
    }
    Ok(())
}

/// A cursor over record bytes whose errors name the field.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], RecordError> {
        if self.0.len() < n {
            return Err(RecordError::Field(field));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], RecordError> {
        let b = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    fn varint(&mut self, field: &'static str) -> Result<u64, RecordError> {
        let (v, used) = get_varint(self.0).ok_or(RecordError::Field(field))?;
        self.0 = &self.0[used..];
        Ok(v)
    }
}

impl PackageRecord {
    /// The bytes the signature covers (everything before it).
    fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(192 + self.files.len() * 24);
        out.extend_from_slice(&RECORD_MAGIC);
        out.push(RECORD_VERSION);
        out.extend_from_slice(&self.design.0);
        out.extend_from_slice(&self.manifest.0);
        put_varint(&mut out, u64::from(self.manifest_file));
        out.extend_from_slice(&self.root.0);
        put_varint(&mut out, self.total_bytes);
        put_varint(&mut out, u64::from(self.piece_len_bytes));
        put_varint(&mut out, u64::from(self.piece_count));
        put_varint(&mut out, self.files.len() as u64);
        for f in &self.files {
            put_varint(&mut out, f.path.len() as u64);
            out.extend_from_slice(f.path.as_bytes());
            put_varint(&mut out, f.len_bytes);
        }
        out.extend_from_slice(&self.publisher.0);
        out
    }

    fn message(signed: &[u8]) -> Vec<u8> {
        let mut m = SIGN_CONTEXT.to_vec();
        m.extend_from_slice(signed);
        m
    }

    /// Signs the record with `key` (sets `publisher` and `signature`).
    pub fn sign(&mut self, key: &Keypair) {
        self.publisher = key.public();
        self.signature = key.sign(&Self::message(&self.signed_bytes()));
    }

    /// Checks the signature under the record's own publisher key (whether
    /// that publisher is trusted is the trust policy's question).
    pub fn verify_signature(&self) -> Result<(), RecordError> {
        self.publisher
            .verify(&Self::message(&self.signed_bytes()), &self.signature)
            .map_err(|_| RecordError::Signature(self.publisher.fingerprint().to_string()))
    }

    /// The package id.
    pub fn id(&self) -> PackageId {
        let mut h = blake3::Hasher::new_derive_key(ID_CONTEXT);
        h.update(&self.signed_bytes());
        PackageId(*h.finalize().as_bytes())
    }

    /// The encoded record.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.signed_bytes();
        out.extend_from_slice(&self.signature.0);
        out
    }

    /// Parses untrusted bytes, refusing a payload over `max_total_bytes`
    /// (and over [`MAX_PACKAGE_BYTES`]) before anything else is read.
    /// Checks every field and their relations; not the signature.
    pub fn parse(bytes: &[u8], max_total_bytes: u64) -> Result<Self, RecordError> {
        let mut c = Cursor(bytes);
        if c.take(4, "magic").ok() != Some(&RECORD_MAGIC[..]) {
            return Err(RecordError::Magic);
        }
        let [version] = c.array::<1>("version")?;
        if version != RECORD_VERSION {
            return Err(RecordError::Version(version));
        }
        let design = ItemId(c.array("design")?);
        let manifest = ContentId(c.array("manifest")?);
        let manifest_file = c.varint("manifest file")?;
        let root = Hash(c.array("root")?);
        let total_bytes = c.varint("total")?;
        let max_bytes = max_total_bytes.min(MAX_PACKAGE_BYTES);
        if total_bytes > max_bytes {
            return Err(RecordError::TooLarge {
                total_bytes,
                max_bytes,
            });
        }
        let piece_len = c.varint("piece length")?;
        if !piece_len.is_power_of_two()
            || !(u64::from(MIN_PIECE_BYTES)..=u64::from(MAX_PIECE_BYTES)).contains(&piece_len)
        {
            return Err(RecordError::PieceLength(piece_len));
        }
        let piece_len_bytes = piece_len as u32;
        let got = c.varint("piece count")?;
        let needed = total_bytes.div_ceil(piece_len);
        if got != needed || got == 0 {
            return Err(RecordError::PieceCount {
                got,
                needed,
                total_bytes,
                piece_len_bytes,
            });
        }
        let n = c.varint("file count")?;
        if n == 0 || n > MAX_FILES as u64 {
            return Err(RecordError::FileCount(n));
        }
        let mut files: Vec<FileEntry> = Vec::with_capacity(n as usize);
        let mut files_bytes: u64 = 0;
        for index in 0..n as usize {
            let len = c.varint("path length")?;
            if len > MAX_PATH_BYTES as u64 {
                return Err(RecordError::Field("path length"));
            }
            let raw = c.take(len as usize, "path")?;
            let bad = |why| RecordError::Path {
                index,
                path: String::from_utf8_lossy(raw).chars().take(80).collect(),
                why,
            };
            let path = std::str::from_utf8(raw).map_err(|_| bad("not UTF-8"))?;
            check_path(path).map_err(bad)?;
            if files.last().is_some_and(|p| p.path.as_str() >= path) {
                return Err(bad("not after the previous path"));
            }
            let len_bytes = c.varint("file length")?;
            files_bytes = files_bytes.saturating_add(len_bytes);
            files.push(FileEntry {
                path: path.to_owned(),
                len_bytes,
            });
        }
        if files_bytes != total_bytes {
            return Err(RecordError::FileTotal {
                files_bytes,
                total_bytes,
            });
        }
        if manifest_file >= n {
            return Err(RecordError::ManifestFile(manifest_file));
        }
        let publisher = PublicKey(c.array("publisher")?);
        let signature = Signature(c.array("signature")?);
        if !c.0.is_empty() {
            return Err(RecordError::Trailing(c.0.len()));
        }
        Ok(PackageRecord {
            design,
            manifest,
            manifest_file: manifest_file as u32,
            root,
            total_bytes,
            piece_len_bytes,
            piece_count: got as u32,
            files,
            publisher,
            signature,
        })
    }

    /// Checks that the record belongs to the manifest whose document bytes
    /// are `manifest_bytes`: same design id and same content id.
    pub fn check_manifest(&self, manifest_bytes: &[u8]) -> Result<(), RecordError> {
        let path = &self.files[self.manifest_file as usize].path;
        let mismatch = |got| RecordError::ManifestMismatch {
            expected: self.manifest,
            design: self.design,
            got,
        };
        let parsed = catalogue::entries(ItemKind::Manifest, manifest_bytes, path)
            .map_err(|e| mismatch(format!("a manifest that does not parse ({e})")))?;
        match parsed.entries.first() {
            Some(e) if e.id == self.design && e.content == self.manifest => Ok(()),
            Some(e) => Err(mismatch(format!("{} (design {})", e.content, e.id))),
            None => Err(mismatch("a file with no manifest".into())),
        }
    }

    /// Byte range of piece `index` in the payload, or `None` past the end.
    pub fn piece_range(&self, index: u32) -> Option<std::ops::Range<u64>> {
        if index >= self.piece_count {
            return None;
        }
        let start = u64::from(index) * u64::from(self.piece_len_bytes);
        Some(start..(start + u64::from(self.piece_len_bytes)).min(self.total_bytes))
    }

    /// Byte range of each file in the payload, in table order.
    pub fn file_ranges(&self) -> impl Iterator<Item = (&FileEntry, std::ops::Range<u64>)> {
        self.files.iter().scan(0u64, |at, f| {
            let start = *at;
            *at += f.len_bytes;
            Some((f, start..*at))
        })
    }

    /// Checks that `data` with `proof` is piece `index` of this package:
    /// its exact length, then its Merkle proof against the root.
    pub fn verify_piece(&self, index: u32, data: &[u8], proof: &[Hash]) -> Result<(), PieceError> {
        let range = self
            .piece_range(index)
            .ok_or(PieceError::Proof(ProofError::Index {
                index: u64::from(index),
                count: u64::from(self.piece_count),
            }))?;
        let needed = (range.end - range.start) as usize;
        if data.len() != needed {
            return Err(PieceError::Length {
                index,
                got: data.len(),
                needed,
            });
        }
        merkle::verify(
            &self.root,
            u64::from(index),
            u64::from(self.piece_count),
            data,
            proof,
        )
        .map_err(PieceError::Proof)
    }
}

/// Why a piece was refused.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum PieceError {
    /// The piece message is malformed.
    #[error("piece message: bad or missing {0}")]
    Field(&'static str),
    /// The piece is for another package.
    #[error("piece for package {got}, expected {expected}")]
    Package {
        /// The package the piece names.
        got: PackageId,
        /// The package it was checked against.
        expected: PackageId,
    },
    /// The piece's data has the wrong length for its index.
    #[error("piece {index} has {got} bytes, the package says {needed}")]
    Length {
        /// The piece index.
        index: u32,
        /// Bytes present.
        got: usize,
        /// Bytes the record implies.
        needed: usize,
    },
    /// The Merkle proof does not check.
    #[error(transparent)]
    Proof(ProofError),
}
