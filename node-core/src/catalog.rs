//! Identity and ordering of catalogue items (OKH manifests, OKW facilities).
//!
//! These few types are shared by the store, matching and sync: an item has a
//! stable [`ItemId`] across its versions, every version has a [`ContentId`]
//! (the BLAKE3 hash of its canonical form), and versions are totally ordered
//! by [`VersionStamp`] so that every node picks the same winner.

use core::fmt;

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

/// Orders the versions of one item.
///
/// The rule, identical on every node: the higher `seq` wins; equal `seq`
/// (two publishers edited concurrently) is broken by the larger content id,
/// an arbitrary but deterministic choice.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct VersionStamp {
    /// The publisher's version counter: 1 for the first version, then one
    /// more than the highest version the publisher had seen.
    pub seq: u32,
    /// Content of this version.
    pub content: ContentId,
}

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
/// errors.
pub fn identify(
    kind: ItemKind,
    bytes: &[u8],
    source: &str,
) -> Result<Vec<Identified>, crate::document::ParseError> {
    Ok(match kind {
        ItemKind::Manifest => {
            let m = crate::okh::parse_manifest(bytes, source)?;
            vec![Identified {
                kind,
                id: m.derive_item_id(),
                content: m.derive_content_id(),
                name: m.display_title().to_string(),
            }]
        }
        ItemKind::Facility => crate::okw::parse_facilities(bytes, source)?
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

/// Identifies bytes that arrive without a file name (a transfer from the
/// mesh): parses them as each format okmesh reads and returns every item
/// any reading yields. Callers pick the one whose ids they expect.
pub fn identify_unnamed(kind: ItemKind, bytes: &[u8]) -> Vec<Identified> {
    let mut out: Vec<Identified> = Vec::new();
    for label in ["item.json", "item.toml", "item.yml"] {
        for it in identify(kind, bytes, label).unwrap_or_default() {
            if !out.contains(&it) {
                out.push(it);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_seq_wins_then_larger_content() {
        let a = VersionStamp {
            seq: 2,
            content: ContentId([0; 32]),
        };
        let b = VersionStamp {
            seq: 1,
            content: ContentId([9; 32]),
        };
        let c = VersionStamp {
            seq: 2,
            content: ContentId([1; 32]),
        };
        assert!(a > b);
        assert!(c > a);
        assert_eq!(ItemId([0xab; 16]).to_string().len(), 32);
    }
}
