//! Signed item versions: who published a version, and the proof.
//!
//! Every version a node stores, serves or relays carries an [`Authorship`]:
//! its publisher's public key, a signature, the publisher's timestamp, the
//! catalogue id of the document and a few flags. The signature covers the
//! *canonical form* of the version (below), so that changing any of the
//! item's kind, id, seq, content or timestamp makes it fail.
//!
//! # Owned ids
//!
//! A design's mesh id is bound to its owner: [`owned_id`] is BLAKE3 over the
//! owner's public key and the catalogue id (the hash of what names the
//! document, [`catalogue::identify`]), cut to 128 bits as ids are. Two
//! publishers of the same title are therefore two designs, and a version of
//! an id verifies only under the one key the id was made from: no one but
//! the owner can advance a design, so no one else can use up its version
//! numbers.
//!
//! # Canonical form
//!
//! What is signed (integers little-endian):
//!
//! ```text
//! "okmesh signed item v1" (21 bytes, a domain separator)
//! kind u8 (0 manifest, 1 facility)
//! id [16]            the owned id
//! catalogue id [16]
//! seq u32
//! content [32]       BLAKE3 of the canonical document ([`TOMBSTONE_CONTENT`] for a tombstone)
//! timestamp u64      the publisher's clock, µs
//! flags u8           bit 0: signed by this node on import of an unsigned file;
//!                    bit 1: a tombstone (the design is retired)
//! ```
//!
//! # Encoding
//!
//! On the air and in the store an [`Authorship`] is [`AUTHORSHIP_LEN`] bytes:
//! `flags u8, timestamp u64, catalogue id [16], public key [32], signature
//! [64]`. The item's kind, seq and content are not repeated: the receiver
//! has them from the transfer header and recomputes the content from the
//! bytes, so a forger cannot make the two disagree.

use catalogue::{ContentId, ItemId, ItemKind};
use thiserror::Error;

use super::keys::{KeyError, Keypair, PublicKey, Signature};
use super::pinned::PinnedKeys;
use crate::time::Instant;

/// Bytes of an encoded [`Authorship`].
pub const AUTHORSHIP_LEN: usize = 1 + 8 + 16 + 32 + 64;

/// The content id a tombstone is signed with (no document has it: it is not
/// a BLAKE3 output anyone can find bytes for).
pub const TOMBSTONE_CONTENT: ContentId = ContentId([0; 32]);

const DOMAIN: &[u8] = b"okmesh signed item v1";
const FLAG_IMPORTED: u8 = 1;
const FLAG_TOMBSTONE: u8 = 2;

/// The mesh id of the design with `catalogue_id` owned by `owner`.
pub fn owned_id(owner: &PublicKey, catalogue_id: ItemId) -> ItemId {
    let mut h = blake3::Hasher::new_derive_key("okmesh owned item id v1");
    h.update(&owner.0);
    h.update(&catalogue_id.0);
    let mut id = [0u8; 16];
    id.copy_from_slice(&h.finalize().as_bytes()[..16]);
    ItemId(id)
}

/// Who signed a version, and the proof. See the docs of the `identity::signed` module.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Authorship {
    /// The publisher (the design's owner).
    pub publisher: PublicKey,
    /// The signature over the canonical form.
    pub signature: Signature,
    /// The publisher's clock when it signed.
    pub timestamp: Instant,
    /// The document's own id (what [`owned_id`] binds to the key).
    pub catalogue_id: ItemId,
    /// Signed by the node that imported an unsigned file, not by its author.
    pub imported: bool,
    /// The version retires the design: it has no document.
    pub tombstone: bool,
}

/// What a version claims, as signed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct VersionClaim {
    /// Manifest or facility.
    pub kind: ItemKind,
    /// The owned id.
    pub id: ItemId,
    /// The version number.
    pub seq: u32,
    /// The content id.
    pub content: ContentId,
}

/// Why a signed version was refused.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
pub enum SignedError {
    /// The id is not the one the key and catalogue id make: someone else's
    /// design, claimed with another key.
    #[error("id {id} is not owned by key {publisher}")]
    NotOwner {
        /// The id claimed.
        id: ItemId,
        /// The key that signed (its fingerprint).
        publisher: super::keys::Fingerprint,
    },
    /// The signature does not verify (tampered or forged), or the key is
    /// not a valid Ed25519 key.
    #[error("signature by {publisher}: {error}")]
    Signature {
        /// The key that claims to have signed.
        publisher: super::keys::Fingerprint,
        /// What failed.
        error: KeyError,
    },
    /// A tombstone with content, or a version with the tombstone's content.
    #[error("tombstone flag and content disagree")]
    Tombstone,
}

/// Why encoded authorship bytes could not be read.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Error)]
pub enum AuthorshipError {
    /// Fewer than [`AUTHORSHIP_LEN`] bytes.
    #[error("authorship truncated: {len} of {AUTHORSHIP_LEN} bytes")]
    Truncated {
        /// Bytes present.
        len: usize,
    },
    /// The flags byte has bits this version does not know.
    #[error("unknown authorship flags {0:#04x}")]
    Flags(u8),
}

impl VersionClaim {
    /// The bytes that are signed (see the docs of the `identity::signed` module).
    pub fn canonical(&self, a: &Authorship) -> Vec<u8> {
        let mut out = Vec::with_capacity(DOMAIN.len() + 1 + 16 + 16 + 4 + 32 + 8 + 1);
        out.extend_from_slice(DOMAIN);
        out.push(match self.kind {
            ItemKind::Manifest => 0,
            ItemKind::Facility => 1,
        });
        out.extend_from_slice(&self.id.0);
        out.extend_from_slice(&a.catalogue_id.0);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.content.0);
        out.extend_from_slice(&a.timestamp.as_micros().to_le_bytes());
        out.push(a.flags());
        out
    }
}

impl Authorship {
    /// Signs a version of the design `catalogue_id` with `key`; returns the
    /// owned id and the authorship. `content` is [`TOMBSTONE_CONTENT`] for a
    /// tombstone.
    pub fn sign(
        key: &Keypair,
        kind: ItemKind,
        catalogue_id: ItemId,
        seq: u32,
        content: ContentId,
        timestamp: Instant,
        imported: bool,
    ) -> (ItemId, Authorship) {
        let id = owned_id(&key.public(), catalogue_id);
        let mut a = Authorship {
            publisher: key.public(),
            signature: Signature([0; 64]),
            timestamp,
            catalogue_id,
            imported,
            tombstone: content == TOMBSTONE_CONTENT,
        };
        let claim = VersionClaim {
            kind,
            id,
            seq,
            content,
        };
        a.signature = key.sign(&claim.canonical(&a));
        (id, a)
    }

    /// Checks that this authorship proves `claim`: the id is the key's
    /// design, the tombstone flag matches the content, and the signature
    /// verifies.
    pub fn verify(&self, claim: &VersionClaim) -> Result<(), SignedError> {
        let publisher = self.publisher.fingerprint();
        if owned_id(&self.publisher, self.catalogue_id) != claim.id {
            return Err(SignedError::NotOwner {
                id: claim.id,
                publisher,
            });
        }
        if self.tombstone != (claim.content == TOMBSTONE_CONTENT) {
            return Err(SignedError::Tombstone);
        }
        self.publisher
            .verify(&claim.canonical(self), &self.signature)
            .map_err(|error| SignedError::Signature { publisher, error })
    }

    fn flags(&self) -> u8 {
        (u8::from(self.imported) * FLAG_IMPORTED) | (u8::from(self.tombstone) * FLAG_TOMBSTONE)
    }

    /// Appends the [`AUTHORSHIP_LEN`]-byte encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.flags());
        out.extend_from_slice(&self.timestamp.as_micros().to_le_bytes());
        out.extend_from_slice(&self.catalogue_id.0);
        out.extend_from_slice(&self.publisher.0);
        out.extend_from_slice(&self.signature.0);
    }

    /// Reads an authorship from the front of untrusted `bytes`; returns it
    /// with the bytes after it. Never panics.
    pub fn parse(bytes: &[u8]) -> Result<(Authorship, &[u8]), AuthorshipError> {
        let Some((head, rest)) = bytes.split_first_chunk::<AUTHORSHIP_LEN>() else {
            return Err(AuthorshipError::Truncated { len: bytes.len() });
        };
        let flags = head[0];
        if flags & !(FLAG_IMPORTED | FLAG_TOMBSTONE) != 0 {
            return Err(AuthorshipError::Flags(flags));
        }
        let take = |from: usize, to: usize| &head[from..to];
        let mut ts = [0u8; 8];
        ts.copy_from_slice(take(1, 9));
        let mut catalogue_id = [0u8; 16];
        catalogue_id.copy_from_slice(take(9, 25));
        let mut publisher = [0u8; 32];
        publisher.copy_from_slice(take(25, 57));
        let mut signature = [0u8; 64];
        signature.copy_from_slice(take(57, AUTHORSHIP_LEN));
        let a = Authorship {
            publisher: PublicKey(publisher),
            signature: Signature(signature),
            timestamp: Instant::from_micros(u64::from_le_bytes(ts)),
            catalogue_id: ItemId(catalogue_id),
            imported: flags & FLAG_IMPORTED != 0,
            tombstone: flags & FLAG_TOMBSTONE != 0,
        };
        Ok((a, rest))
    }
}

/// Which publisher keys a node accepts versions from.
///
/// Trust on first use per design is built into owned ids: the first
/// version of a design any node accepts fixes its key, because the id is
/// made from it, and no other key's versions of that id verify. On top of
/// that an operator pins keys ([`PinnedKeys`]) and may refuse every other
/// key ([`TrustPolicy::refuse_unknown`]); the node's own publisher key is
/// always accepted.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct TrustPolicy {
    /// Keys trusted outright.
    pub pinned: PinnedKeys,
    /// Refuse versions signed by keys that are not pinned.
    pub refuse_unknown: bool,
}

impl TrustPolicy {
    /// Whether a version signed by `key` may be stored by a node whose own
    /// publisher key is `own`.
    pub fn admits(&self, key: &PublicKey, own: &PublicKey) -> bool {
        !self.refuse_unknown || key == own || self.pinned.contains(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim_of(key: &Keypair, seq: u32) -> (VersionClaim, Authorship) {
        let (id, a) = Authorship::sign(
            key,
            ItemKind::Manifest,
            ItemId([7; 16]),
            seq,
            ContentId([seq as u8; 32]),
            Instant::from_micros(1_000),
            false,
        );
        let claim = VersionClaim {
            kind: ItemKind::Manifest,
            id,
            seq,
            content: ContentId([seq as u8; 32]),
        };
        (claim, a)
    }

    #[test]
    fn a_signed_version_verifies_and_round_trips() {
        let key = Keypair::derive(1, "publisher", 0);
        let (claim, a) = claim_of(&key, 3);
        assert_eq!(a.verify(&claim), Ok(()));
        let mut bytes = Vec::new();
        a.encode(&mut bytes);
        assert_eq!(bytes.len(), AUTHORSHIP_LEN);
        bytes.extend_from_slice(b"body");
        assert_eq!(Authorship::parse(&bytes), Ok((a, &b"body"[..])));
    }

    #[test]
    fn changing_any_signed_field_breaks_the_signature() {
        let key = Keypair::derive(1, "publisher", 0);
        let (claim, a) = claim_of(&key, 3);
        let bad_seq = VersionClaim { seq: 4, ..claim };
        assert!(matches!(
            a.verify(&bad_seq),
            Err(SignedError::Signature { .. })
        ));
        let bad_content = VersionClaim {
            content: ContentId([9; 32]),
            ..claim
        };
        assert!(a.verify(&bad_content).is_err());
        let later = Authorship {
            timestamp: Instant::from_micros(2_000),
            ..a
        };
        assert!(later.verify(&claim).is_err());
        let imported = Authorship {
            imported: true,
            ..a
        };
        assert!(imported.verify(&claim).is_err());
    }

    #[test]
    fn another_key_cannot_sign_for_a_design_it_does_not_own() {
        let owner = Keypair::derive(1, "publisher", 0);
        let forger = Keypair::derive(1, "forger", 0);
        let (claim, _) = claim_of(&owner, 1);
        // The forger signs the owner's id with its own key.
        let (_, mut a) = claim_of(&forger, 1);
        a.signature = forger.sign(&claim.canonical(&a));
        assert!(matches!(
            a.verify(&claim),
            Err(SignedError::NotOwner { .. })
        ));
        // Its own version of the same document is another design.
        let (theirs, _) = claim_of(&forger, 1);
        assert_ne!(theirs.id, claim.id);
    }

    #[test]
    fn tombstones_carry_the_tombstone_content_only() {
        let key = Keypair::derive(1, "publisher", 0);
        let (id, a) = Authorship::sign(
            &key,
            ItemKind::Facility,
            ItemId([1; 16]),
            9,
            TOMBSTONE_CONTENT,
            Instant::ZERO,
            false,
        );
        assert!(a.tombstone);
        let claim = VersionClaim {
            kind: ItemKind::Facility,
            id,
            seq: 9,
            content: TOMBSTONE_CONTENT,
        };
        assert_eq!(a.verify(&claim), Ok(()));
        let not = Authorship {
            tombstone: false,
            ..a
        };
        assert_eq!(not.verify(&claim), Err(SignedError::Tombstone));
    }

    #[test]
    fn bad_bytes_are_typed_errors() {
        assert_eq!(
            Authorship::parse(&[0; 10]),
            Err(AuthorshipError::Truncated { len: 10 })
        );
        let mut b = vec![0u8; AUTHORSHIP_LEN];
        b[0] = 0x80;
        assert_eq!(Authorship::parse(&b), Err(AuthorshipError::Flags(0x80)));
    }

    #[test]
    fn refuse_unknown_admits_pinned_and_own_keys_only() {
        let own = Keypair::derive(1, "publisher", 0).public();
        let pinned = Keypair::derive(1, "publisher", 1).public();
        let other = Keypair::derive(1, "publisher", 2).public();
        let mut p = TrustPolicy::default();
        assert!(p.admits(&other, &own), "trust on first use by default");
        p.pinned.insert(pinned, "friend");
        p.refuse_unknown = true;
        assert!(p.admits(&own, &own) && p.admits(&pinned, &own));
        assert!(!p.admits(&other, &own));
    }
}
