//! Transfer streams: how a stored version is put on the air, and the
//! checks a received one passes before it is stored.
//!
//! A stream is a [`TransferHeader`], the version's [`Authorship`] and its
//! (compressed) bytes. A receiver decompresses and parses it, recomputes the
//! item id and content id and stores it only if they hash to the element it
//! asked for, the publisher's signature verifies for the design its key
//! owns, and the trust policy admits the key; anything else is a
//! [`RejectReason`].

use catalogue::{ParseError, identify};

use super::compress::{self, DecompressError};
use super::{Element, SyncEngine, element_of};
use crate::identity::{
    AUTHORSHIP_LEN, Authorship, AuthorshipError, Fingerprint as KeyFingerprint, SignedError,
    TOMBSTONE_CONTENT, VersionClaim, owned_id,
};
use crate::store::{Reject, StoreError, StoredItem, VersionStamp};
use crate::wire::{TransferError, TransferHeader};

/// Why a transfer was dropped instead of stored. The display texts are what
/// the node logs.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum RejectReason {
    /// The stream's header does not parse (or announces too large an item).
    #[error(transparent)]
    Header(#[from] TransferError),
    /// The body does not decompress to the announced length.
    #[error(transparent)]
    Decompress(#[from] DecompressError),
    /// The bytes are not a document of the announced kind and format.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The stream's authorship (publisher key and signature) is missing or
    /// malformed.
    #[error(transparent)]
    Authorship(#[from] AuthorshipError),
    /// The document parsed, but no item in it hashes to the element asked
    /// for (corrupt, forged, or another version).
    #[error("content does not match the element asked for")]
    Mismatch,
    /// The signature does not verify, or the signing key does not own the
    /// design: a forged or tampered version.
    #[error(transparent)]
    Signature(#[from] SignedError),
    /// The version is older than the one held (a replay).
    #[error("version {offered} is older than version {held} held")]
    Stale {
        /// The seq offered.
        offered: u32,
        /// The seq held.
        held: u32,
    },
    /// The trust policy refuses the signing key (`--refuse-unknown`).
    #[error("publisher {0} is not trusted here")]
    Untrusted(KeyFingerprint),
    /// The publisher key has used up its quota for this window.
    #[error("publisher {0} is over its quota")]
    OverQuota(KeyFingerprint),
    /// The store refused the item (too large, full of pinned items, …).
    #[error("store refused it: {0}")]
    StoreRefused(Reject),
    /// The store's backend failed while writing it (its message: store
    /// errors carry I/O errors, which cannot be cloned).
    #[error("store refused it: {0}")]
    StoreFailed(String),
}

impl From<StoreError> for RejectReason {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(r) => RejectReason::StoreRefused(r),
            other => RejectReason::StoreFailed(other.to_string()),
        }
    }
}

/// The transfer stream of a stored version: its [`TransferHeader`], its
/// [`Authorship`], then its (compressed) bytes. `None` for an unsigned
/// version, which is never sent.
pub fn encode_stream(item: &StoredItem) -> Option<Vec<u8>> {
    let author = item.author?;
    let (codec, body) = compress::compress(&item.bytes);
    let mut s = Vec::with_capacity(16 + AUTHORSHIP_LEN + body.len());
    TransferHeader {
        kind: item.kind,
        format: item.format,
        seq: item.stamp.seq,
        len_bytes: item.bytes.len(),
        codec: codec as u8,
        name: (!named_by_its_document(item)).then(|| item.name.clone()),
    }
    .encode(&mut s);
    author.encode(&mut s);
    s.extend_from_slice(&body);
    Some(s)
}

/// Whether a receiver, reading `item`'s bytes with no file name (as
/// the receiving [`SyncEngine`] does), finds the item: false for an untitled OKW
/// facility, which is named after the file it was published from.
fn named_by_its_document(item: &StoredItem) -> bool {
    item.bytes.is_empty()
        || identify(item.kind, &item.bytes, UNNAMED, Some(item.format))
            .is_ok_and(|found| found.iter().any(|i| i.id == item.catalogue_id()))
}

/// What received bytes are parsed under when the stream carries no name:
/// it names them in messages.
const UNNAMED: &str = "item";

impl SyncEngine {
    /// Decodes and checks a transfer stream against the element it claims
    /// and its publisher's signature, then the trust policy.
    pub(super) fn verify(
        &self,
        element: Element,
        stream: &[u8],
    ) -> Result<StoredItem, RejectReason> {
        let (header, rest) = TransferHeader::parse(stream, self.config.max_item_bytes)?;
        let (author, body) = Authorship::parse(rest)?;
        let bytes = compress::decompress(header.codec, body, header.len_bytes)?;
        let (kind, seq) = (header.kind, header.seq);
        let id = owned_id(&author.publisher, author.catalogue_id);
        let (content, name) = if author.tombstone {
            if !bytes.is_empty() {
                return Err(SignedError::Tombstone.into());
            }
            (TOMBSTONE_CONTENT, String::new())
        } else {
            // Received bytes have no file name: an untitled facility comes
            // with the name its publisher's file gave it. The item is the
            // one with the signed catalogue id.
            let source = header.name.as_deref().unwrap_or(UNNAMED);
            let it = identify(kind, &bytes, source, Some(header.format))?
                .into_iter()
                .find(|i| i.id == author.catalogue_id)
                .ok_or(RejectReason::Mismatch)?;
            (it.content, catalogue::entry::cut_name(&it.name))
        };
        let stamp = VersionStamp { seq, content };
        if element_of(kind, id, stamp) != element {
            return Err(RejectReason::Mismatch);
        }
        author.verify(&VersionClaim {
            kind,
            id,
            seq,
            content,
        })?;
        if !self.trust.admits(&author.publisher, &self.own_key)
            && !self.known_keys.contains(&author.publisher)
        {
            return Err(RejectReason::Untrusted(author.publisher.fingerprint()));
        }
        Ok(StoredItem {
            kind,
            id,
            stamp,
            name,
            format: header.format,
            bytes,
            author: Some(author),
        })
    }
}
