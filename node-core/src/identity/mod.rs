//! Who published what: Ed25519 keys, signatures and short fingerprints.
//!
//! A mesh with no authority can still tell forgeries from the real thing if
//! every publication is signed by its publisher's key. This module holds the
//! key and signature types node-core signs and verifies with, and the
//! operator's list of pinned publisher keys ([`PinnedKeys`]), signed item
//! versions and owned ids ([`Authorship`], [`owned_id`], in `signed`) and
//! the trust policy ([`TrustPolicy`]).
//!
//! node-core draws no entropy: a [`Keypair`] is made from 32 secret bytes
//! the driver supplies — the field driver from the operating system, the
//! simulator from the run's seed with [`Keypair::derive`], so that every run
//! of a scenario signs with the same keys.
//!
//! Verification is strict ([`PublicKey::verify`] uses `verify_strict`):
//! weak keys and non-canonical signatures are refused, so one public key
//! and message have exactly one valid signature encoding.

mod keys;
mod pinned;
mod signed;

pub use keys::{Fingerprint, KeyError, Keypair, LazyKeypair, PublicKey, Signature};
pub use pinned::{MAX_LABEL_BYTES, MAX_PINNED_KEYS, PinnedKeys, PinnedKeysError};
pub use signed::{
    AUTHORSHIP_LEN, Authorship, AuthorshipError, SignedError, TOMBSTONE_CONTENT, TrustPolicy,
    VersionClaim, owned_id,
};
