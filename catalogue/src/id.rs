//! Identity of catalogue items (OKH manifests, OKW facilities).
//!
//! An item has a stable [`ItemId`] across its versions, and every version
//! has a [`ContentId`] (the BLAKE3 hash of its canonical form). How versions
//! are ordered is the mesh's business (`node_core::store::VersionStamp`).

use core::fmt;

use crate::document::{Format, ParseError};
use crate::okh::parse_manifest_as;
use crate::okw::parse_facilities_as;

/// What an item is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum ItemKind {
    /// An Open Know-How design manifest.
    Manifest,
    /// An Open Know-Where facility profile.
    Facility,
}

/// The stable identity of a design or facility, the same for all of its
/// versions (128 bits of a BLAKE3 hash of what names it).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ItemId(pub [u8; 16]);

/// The identity of one version's content: BLAKE3 of its canonical form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ContentId(pub [u8; 32]);

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl serde::Serialize for ItemId {
    /// As 32 hex digits.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Debug for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ItemId({self})")
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentId({self})")
    }
}

impl ContentId {
    /// The content id of `canonical` bytes.
    pub fn of(canonical: &[u8]) -> Self {
        ContentId(*blake3::hash(canonical).as_bytes())
    }
}

/// One catalogue item found in a file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Identified {
    /// Manifest or facility.
    pub kind: ItemKind,
    /// Its stable id.
    pub id: ItemId,
    /// Its content id.
    pub content: ContentId,
    /// Its human title.
    pub name: String,
}

/// Parses `bytes` as `kind` and names the items they hold: one manifest,
/// or one or more facilities (a list file). `source` names the bytes in
/// errors; `format` is the bytes' syntax when known (bytes from the store
/// or the mesh), else it is told from `source`'s extension or the content.
pub fn identify(
    kind: ItemKind,
    bytes: &[u8],
    source: &str,
    format: Option<Format>,
) -> Result<Vec<Identified>, ParseError> {
    Ok(match kind {
        ItemKind::Manifest => {
            let m = parse_manifest_as(bytes, source, format)?;
            vec![Identified {
                kind,
                id: m.item_id,
                content: m.content_id,
                name: m.display_title().to_string(),
            }]
        }
        ItemKind::Facility => parse_facilities_as(bytes, source, format)?
            .into_iter()
            .map(|f| Identified {
                kind,
                id: f.item_id,
                content: f.content_id,
                name: f.name,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_as_hex() {
        assert_eq!(ItemId([0xab; 16]).to_string(), "ab".repeat(16));
        assert_eq!(ContentId([1; 32]).to_string().len(), 64);
    }
}
