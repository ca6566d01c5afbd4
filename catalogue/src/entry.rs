//! Files into catalogue entries, and entries read back.
//!
//! An [`Entry`] is one catalogue item as it is stored and sent over the
//! mesh: its kind, ids, title, the bytes of its own document and that
//! document's [`Format`]. [`entries`] is the one way a file becomes entries,
//! for every caller (`okmesh import`, a node's publish, the simulator's
//! workload): a manifest file gives one entry; a facility file gives one
//! entry per facility, and an entry of a list keeps only its own bytes (the
//! entry's text for a JSON list, the entry re-written as JSON for a YAML
//! list), so a node never stores or sends a whole list once per facility.
//!
//! Stored bytes come back with no file name. Because the entry keeps its
//! format, reading back needs no guessing by extension: [`read_manifest`]
//! and [`read_facility`] parse the bytes in their format under
//! [`stored_label`], and report whether the reading gives back the entry's
//! own ids (a reading that does not was made by another parser version).
//! [`Entry::reads_back`] checks that before anything is stored.

use serde_json::Value;

use crate::document::{Format, ParseError, Warning, parse_document};
use crate::id::{ContentId, ItemId, ItemKind};
use crate::okh::{Manifest, parse_manifest, parse_manifest_as};
use crate::okw::{Facility, parse_facilities, parse_facilities_as};

/// Longest entry title kept, in bytes; longer titles are cut on a
/// character boundary (the store refuses longer names).
pub const MAX_NAME_BYTES: usize = 1024;

/// One catalogue item, ready to store or send.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Entry {
    /// Manifest or facility.
    pub kind: ItemKind,
    /// Stable identity across versions.
    pub id: ItemId,
    /// Identity of this version's content.
    pub content: ContentId,
    /// Human title, at most [`MAX_NAME_BYTES`].
    pub name: String,
    /// The syntax of `bytes`.
    pub format: Format,
    /// The item's own document.
    pub bytes: Vec<u8>,
}

/// What one file holds.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct FileEntries {
    /// Its items, in file order.
    pub entries: Vec<Entry>,
    /// What was odd in the input (unknown keys, likely typos, …).
    pub warnings: Vec<Warning>,
}

/// Reads the bytes of a file (`source` names it in errors; its extension,
/// if any, gives the format) as `kind`: one entry for a manifest, one per
/// facility for a facility file or list.
pub fn entries(kind: ItemKind, bytes: &[u8], source: &str) -> Result<FileEntries, ParseError> {
    let mut out = FileEntries::default();
    match kind {
        ItemKind::Manifest => {
            let m = parse_manifest(bytes, source)?;
            out.entries.push(Entry {
                kind,
                id: m.item_id,
                content: m.content_id,
                name: cut_name(&m.title),
                format: m.format,
                bytes: bytes.to_vec(),
            });
            out.warnings = m.warnings;
        }
        ItemKind::Facility => {
            let fs = parse_facilities(bytes, source)?;
            let single = fs.len() == 1 && !bytes.trim_ascii_start().starts_with(b"[");
            let own: Vec<(Format, Vec<u8>)> = if single {
                vec![(fs[0].format, bytes.to_vec())]
            } else {
                list_entries(bytes, source, fs.len())?
            };
            assert_eq!(fs.len(), own.len(), "one entry per facility");
            for (f, (format, bytes)) in fs.into_iter().zip(own) {
                out.warnings.extend(f.warnings);
                out.entries.push(Entry {
                    kind,
                    id: f.item_id,
                    content: f.content_id,
                    name: cut_name(&f.name),
                    format,
                    bytes,
                });
            }
        }
    }
    Ok(out)
}

/// The bytes of each entry of a facility list: the entry's own text for a
/// JSON list, else the entry re-written as JSON (YAML lists).
fn list_entries(
    bytes: &[u8],
    file: &str,
    count: usize,
) -> Result<Vec<(Format, Vec<u8>)>, ParseError> {
    let doc = parse_document(bytes, file)?;
    if doc.format == Format::Json
        && let Ok(raw) = serde_json::from_str::<Vec<&serde_json::value::RawValue>>(doc.text)
        && raw.len() == count
    {
        return Ok(raw
            .iter()
            .map(|r| (Format::Json, r.get().as_bytes().to_vec()))
            .collect());
    }
    let Value::Array(items) = &doc.root else {
        return Err(doc.field_error(&[], "expected a list of facilities"));
    };
    items
        .iter()
        .map(|v| {
            serde_json::to_vec_pretty(v)
                .map(|b| (Format::Json, b))
                .map_err(|e| doc.field_error(&[], e.to_string()))
        })
        .collect()
}

/// Cuts a title to [`MAX_NAME_BYTES`] on a character boundary.
pub fn cut_name(title: &str) -> String {
    cut_to(title, MAX_NAME_BYTES).to_owned()
}

/// The longest start of `text` of at most `max_bytes` that ends on a
/// character boundary.
pub fn cut_to(text: &str, max_bytes: usize) -> &str {
    let mut end = text.len().min(max_bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl Entry {
    /// Whether the entry's bytes, read back as the store will read them
    /// ([`read_manifest`], [`read_facility`]), give back this entry's ids.
    pub fn reads_back(&self) -> bool {
        let (id, content, name) = (self.id, self.content, self.name.as_str());
        match self.kind {
            ItemKind::Manifest => matches!(
                read_manifest(id, content, name, self.format, &self.bytes),
                Ok((_, true))
            ),
            ItemKind::Facility => matches!(
                read_facility(id, content, name, self.format, &self.bytes),
                Ok((_, true))
            ),
        }
    }
}

/// The name a stored item is parsed under (in messages, and for the OKW
/// rule that names an untitled facility after its file):
/// `db:<first 8 hex digits of id>/<name>`, path separators in the name
/// replaced.
pub fn stored_label(id: ItemId, name: &str) -> String {
    let id = id.to_string();
    let name = name.replace(['/', '\\'], "_");
    format!("db:{}/{name}", &id[..8])
}

/// Reads stored manifest bytes back in their format. `Ok((m, true))` when
/// `m` has the given id and content id; `Ok((m, false))` when the bytes
/// parse to another identity (an item made by another parser version).
pub fn read_manifest(
    id: ItemId,
    content: ContentId,
    name: &str,
    format: Format,
    bytes: &[u8],
) -> Result<(Manifest, bool), ParseError> {
    let m = parse_manifest_as(bytes, &stored_label(id, name), Some(format))?;
    let own = m.item_id == id && m.content_id == content;
    Ok((m, own))
}

/// As [`read_manifest`], for a facility. Stored bytes hold one facility;
/// if they hold a list (stored by an older okmesh), the entry with the
/// item's id is taken.
pub fn read_facility(
    id: ItemId,
    content: ContentId,
    name: &str,
    format: Format,
    bytes: &[u8],
) -> Result<(Facility, bool), ParseError> {
    let label = stored_label(id, name);
    let mut fs = parse_facilities_as(bytes, &label, Some(format))?;
    if fs.is_empty() {
        return Err(ParseError::NotAMapping {
            file: label,
            line: 1,
            found: "an empty list",
        });
    }
    let own = fs
        .iter()
        .position(|f| f.item_id == id && f.content_id == content);
    let at = own
        .or_else(|| fs.iter().position(|f| f.item_id == id))
        .unwrap_or(0);
    Ok((fs.swap_remove(at), own.is_some()))
}

/// The note for a stored item that parses, but not to its own identity.
pub fn stored_note(id: ItemId, name: &str, what: &str) -> String {
    format!(
        "{}: stored {what} does not parse back to its id and content id (made by another okmesh version?); used as parsed",
        stored_label(id, name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = r#"[
  {"name": "Lab A", "manufacturing-processes": ["3DP"]},
  {"name": "Lab B", "manufacturing-processes": ["Laser cutting"]}
]"#;

    #[test]
    fn a_facility_list_gives_one_entry_per_facility_with_its_own_bytes() {
        let read = entries(ItemKind::Facility, LIST.as_bytes(), "labs.json").unwrap();
        assert_eq!(read.entries.len(), 2);
        for (e, name) in read.entries.iter().zip(["Lab A", "Lab B"]) {
            assert_eq!(e.name, name);
            assert_eq!(e.format, Format::Json);
            assert!(e.bytes.len() < LIST.len() / 2 + 10, "only its own bytes");
            assert!(e.reads_back(), "{name} reads back as itself");
        }
        assert_ne!(read.entries[0].id, read.entries[1].id);
    }

    #[test]
    fn a_yaml_list_entry_is_rewritten_as_json_and_reads_back() {
        let yaml = "- name: Lab A\n  manufacturing-processes: [3DP]\n- name: Lab B\n";
        let read = entries(ItemKind::Facility, yaml.as_bytes(), "labs.yml").unwrap();
        assert_eq!(read.entries.len(), 2);
        assert!(read.entries.iter().all(|e| e.format == Format::Json));
        assert!(read.entries.iter().all(Entry::reads_back));
    }

    #[test]
    fn the_format_is_kept_so_read_back_needs_no_extension() {
        let toml =
            "okhv = \"OKH-LOSHv1.0\"\nname = \"Lamp\"\nrepo = \"https://example.org/lamp\"\n";
        let read = entries(ItemKind::Manifest, toml.as_bytes(), "lamp.toml").unwrap();
        let e = &read.entries[0];
        assert_eq!(e.format, Format::Toml);
        assert!(e.reads_back());
        let (m, own) = read_manifest(e.id, e.content, &e.name, e.format, &e.bytes).unwrap();
        assert!(own);
        assert_eq!(m.file, stored_label(e.id, &e.name));
    }

    #[test]
    fn long_titles_are_cut_on_a_character_boundary() {
        let title = "é".repeat(MAX_NAME_BYTES);
        let cut = cut_name(&title);
        assert!(cut.len() <= MAX_NAME_BYTES);
        assert!(title.starts_with(&cut));
        assert_eq!(cut_name("short"), "short");
    }

    #[test]
    fn codes_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::from_code(f.code()), Some(f));
        }
        assert_eq!(Format::from_code(0), None);
    }
}
