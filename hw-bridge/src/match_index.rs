//! The persisted match index: every stored manifest's compiled
//! requirements, kept in a file beside the store so that a query reads and
//! parses no manifest.
//!
//! It is a **derived, disposable cache** owned by hw-bridge, never part of
//! the store's format and never trusted over it:
//!
//! * it lives in [`INDEX_FILE`] in the store's folder, and is written only
//!   by a process that holds the store (its `LOCK`);
//! * each entry is keyed by item id **and** content id; a stored item is
//!   taken from the index only when both match its current version, and
//!   compiled from its stored bytes otherwise (a new item, a new version);
//!   entries for items the store no longer holds are dropped;
//! * the file names the taxonomy it was compiled with
//!   ([`Taxonomy::fingerprint`]) and the format version; when either
//!   differs, everything is compiled again;
//! * its body is covered by a BLAKE3 checksum checked on load; a file that
//!   is damaged, truncated or of another format is ignored (and rewritten):
//!   decoding never panics and never trusts a length it has not checked;
//! * it is rewritten (to a temporary file, then renamed) only when it
//!   changed; a store folder that cannot be written just means no cache.
//!
//! Layout (all integers little-endian): `"okmesh-match-index\n"`, format
//! u16, taxonomy fingerprint \[32\], entry count u32, entries, BLAKE3 of
//! everything before it \[32\]. An entry: item id \[16\], content id \[32\],
//! a tag u8 (0 a design, 1 a design read with a note, 2 an item that does
//! not parse), then the note or error (tags 1, 2) and the design (tags 0,
//! 1): title, file, domain u8, requirements (count u32; each: term tag u8
//! with the concept index u16 or the Wikidata id or free text, kind u8,
//! origin u8 with a part index u16, flags u8 for critical and inferred,
//! confidence f32, text, evidence) and parts (count u32; each: name, count
//! u32, requirement indices u32). Strings are a u32 length and UTF-8.

use std::path::{Path, PathBuf};

use catalogue::entry::{read_manifest, stored_note};
use catalogue::id::{ContentId, ItemId};
use catalogue::okh::AtomRole;
use catalogue::ranked::{DesignInfo, Designs};
use catalogue::requirements::{Origin, PartNeeds, Requirement, RequirementSet, Term};
use catalogue::taxonomy::{ConceptId, ConceptKind, Domain, Taxonomy};
use node_core::store::StoredItem;

/// The index file's name in the store folder.
pub const INDEX_FILE: &str = "match-index.okx";
/// Version of the layout above.
pub const FORMAT: u16 = 1;
/// Largest index file read (a store holds at most a few hundred MiB of
/// items; the index is a fraction of it).
pub const MAX_INDEX_BYTES: u64 = 512 << 20;
const MAGIC: &[u8] = b"okmesh-match-index\n";
/// Most requirements or parts one entry may claim.
const MAX_COUNT: u32 = 1 << 16;

/// What loading through the index did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexReport {
    /// Designs taken from the index.
    pub reused: usize,
    /// Designs compiled from the store (not in the index, or stale).
    pub compiled: usize,
    /// Index entries dropped (items the store no longer holds as current).
    pub dropped: usize,
    /// Why the whole index was discarded, if it was.
    pub discarded: Option<String>,
    /// Whether the index file was (re)written.
    pub written: bool,
}

/// One cached item.
#[derive(Clone, Debug)]
enum Cached {
    Design {
        note: Option<String>,
        info: DesignInfo,
        set: RequirementSet,
    },
    Unreadable(String),
}

/// The stored manifests `items` as designs, through the index in `dir`
/// (see the module docs): entries that match an item's id and content id
/// are used as they are, the others compiled from the item's bytes; the
/// index is then rewritten if anything changed.
pub fn designs<'a>(
    dir: &Path,
    items: impl IntoIterator<Item = &'a StoredItem>,
    tax: &Taxonomy,
) -> (Designs, IndexReport) {
    let mut report = IndexReport::default();
    let path = dir.join(INDEX_FILE);
    let mut cached = match read_index(&path, tax) {
        Ok(entries) => entries,
        Err(why) => {
            report.discarded = why;
            Vec::new()
        }
    };
    // Sorted by key for look-up; entries are unique per key.
    cached.sort_by_key(|e| (e.0, e.1));
    cached.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    let total_cached = cached.len();
    let mut slots: Vec<Option<Cached>> = cached.iter_mut().map(|e| Some(take(&mut e.2))).collect();
    let mut d = Designs::default();
    let mut notes: Vec<Option<String>> = Vec::new();
    // (key, whether the entry is a design, or the error of one that is not)
    let mut order: Vec<(ItemId, ContentId, Option<String>)> = Vec::new();
    for item in items {
        let key = (item.id, item.stamp.content);
        let hit = cached
            .binary_search_by(|e| (e.0, e.1).cmp(&key))
            .ok()
            .and_then(|i| slots[i].take());
        let entry = match hit {
            Some(e) => {
                report.reused += 1;
                e
            }
            None => {
                report.compiled += 1;
                compile(item, tax)
            }
        };
        match entry {
            Cached::Design { note, info, set } => {
                if let Some(n) = &note {
                    d.skipped.push(n.clone());
                }
                order.push((key.0, key.1, None));
                d.push_compiled(info, set);
                notes.push(note);
            }
            Cached::Unreadable(e) => {
                d.skipped.push(e.clone());
                order.push((key.0, key.1, Some(e)));
                notes.push(None);
            }
        }
    }
    report.dropped = total_cached - report.reused;
    if report.compiled > 0 || report.dropped > 0 || report.discarded.is_some() {
        report.written = write_index(&path, tax, &order, &notes, &d).is_ok();
    }
    (d, report)
}

/// An entry's contents, leaving a cheap placeholder.
fn take(c: &mut Cached) -> Cached {
    std::mem::replace(c, Cached::Unreadable(String::new()))
}

fn compile(item: &StoredItem, tax: &Taxonomy) -> Cached {
    if item.is_tombstone() {
        return Cached::Unreadable(format!(
            "{}: retired by its publisher",
            catalogue::entry::stored_label(item.id, &item.name)
        ));
    }
    match read_manifest(
        item.catalogue_id(),
        item.stamp.content,
        &item.name,
        item.format,
        &item.bytes,
    ) {
        Ok((mut m, exact)) => Cached::Design {
            note: (!exact).then(|| stored_note(item.catalogue_id(), &item.name, "manifest")),
            // Results name the design as the mesh does: by the id its
            // publisher's key owns.
            info: DesignInfo::of({
                m.item_id = item.id;
                &m
            }),
            set: catalogue::requirements::derive(&m, tax),
        },
        Err(e) => Cached::Unreadable(e.to_string()),
    }
}

// ------------------------------------------------------------------ write

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f32(&mut self, v: f32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.bytes(s.as_bytes());
    }
}

fn kind_code(k: ConceptKind) -> u8 {
    match k {
        ConceptKind::Process => 0,
        ConceptKind::Tool => 1,
        ConceptKind::Material => 2,
    }
}

fn origin_code(o: Origin) -> (u8, u16) {
    match o {
        Origin::Process => (0, 0),
        Origin::Tsdc => (1, 0),
        Origin::Part(i) => (2, i),
        Origin::Material => (3, 0),
        Origin::Tool => (4, 0),
        Origin::Atom(r) => (
            5,
            match r {
                AtomRole::Input => 0,
                AtomRole::Tool => 1,
                AtomRole::Product => 2,
                AtomRole::Output => 3,
                AtomRole::Process => 4,
            },
        ),
        Origin::Bom => (6, 0),
        Origin::Text => (7, 0),
    }
}

fn encode_set(w: &mut Writer, info: &DesignInfo, set: &RequirementSet) {
    w.str(&info.title);
    w.str(&info.file);
    w.u8(match set.domain {
        Domain::Manufacturing => 0,
        Domain::Cooking => 1,
    });
    w.u32(set.requirements.len() as u32);
    for r in &set.requirements {
        match &r.term {
            Term::Concept(c) => {
                w.u8(0);
                w.u16(c.0);
            }
            Term::Wikidata(q) => {
                w.u8(1);
                w.str(q);
            }
            Term::Free(s) => {
                w.u8(2);
                w.str(s);
            }
        }
        w.u8(kind_code(r.kind));
        let (o, extra) = origin_code(r.origin);
        w.u8(o);
        w.u16(extra);
        w.u8(u8::from(r.critical) | (u8::from(r.inferred) << 1));
        w.f32(r.confidence);
        w.str(&r.text);
        w.str(&r.evidence);
    }
    w.u32(set.parts.len() as u32);
    for p in &set.parts {
        w.str(&p.name);
        w.u32(p.needs.len() as u32);
        for &n in &p.needs {
            w.u32(n as u32);
        }
    }
}

/// The index of `order` (item keys in load order, with the error of an
/// item that does not parse), whose designs are `d` in the same order.
fn encode(
    tax: &Taxonomy,
    order: &[(ItemId, ContentId, Option<String>)],
    notes: &[Option<String>],
    d: &Designs,
) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(order.len() * 512 + 128));
    w.bytes(MAGIC);
    w.u16(FORMAT);
    w.bytes(&tax.fingerprint());
    w.u32(order.len() as u32);
    let mut designs = d.info.iter().zip(&d.sets);
    for ((id, content, error), note) in order.iter().zip(notes) {
        w.bytes(&id.0);
        w.bytes(&content.0);
        match error {
            Some(err) => {
                w.u8(2);
                w.str(err);
            }
            None => {
                let Some((info, set)) = designs.next() else {
                    break;
                };
                match note {
                    None => w.u8(0),
                    Some(n) => {
                        w.u8(1);
                        w.str(n);
                    }
                }
                encode_set(&mut w, info, set);
            }
        }
    }
    let sum = *blake3::hash(&w.0).as_bytes();
    w.bytes(&sum);
    w.0
}

/// Writes the index next to the store: a temporary file renamed over the
/// old one.
fn write_index(
    path: &Path,
    tax: &Taxonomy,
    order: &[(ItemId, ContentId, Option<String>)],
    notes: &[Option<String>],
    d: &Designs,
) -> std::io::Result<()> {
    let bytes = encode(tax, order, notes, d);
    let mut tmp = PathBuf::from(path);
    tmp.set_extension("okx.part");
    std::fs::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, path)
}

// ------------------------------------------------------------------- read

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

type R<T> = Result<T, String>;

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| format!("truncated at byte {}", self.at))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> R<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> R<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn f32(&mut self) -> R<f32> {
        let b = self.take(4)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn array<const N: usize>(&mut self) -> R<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn str(&mut self) -> R<String> {
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| format!("bad text at byte {}", self.at))
    }
    fn count(&mut self) -> R<u32> {
        let n = self.u32()?;
        if n > MAX_COUNT {
            return Err(format!("count {n} over {MAX_COUNT} at byte {}", self.at));
        }
        Ok(n)
    }
}

fn decode_set(
    r: &mut Reader<'_>,
    tax: &Taxonomy,
    id: ItemId,
    content: ContentId,
) -> R<(DesignInfo, RequirementSet)> {
    let title = r.str()?;
    let file = r.str()?;
    let domain = match r.u8()? {
        0 => Domain::Manufacturing,
        1 => Domain::Cooking,
        d => return Err(format!("bad domain {d}")),
    };
    let n = r.count()?;
    let mut requirements = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let term = match r.u8()? {
            0 => {
                let c = r.u16()?;
                if usize::from(c) >= tax.len() {
                    return Err(format!("concept {c} outside the taxonomy"));
                }
                Term::Concept(ConceptId(c))
            }
            1 => Term::Wikidata(r.str()?),
            2 => Term::Free(r.str()?),
            t => return Err(format!("bad term tag {t}")),
        };
        let kind = match r.u8()? {
            0 => ConceptKind::Process,
            1 => ConceptKind::Tool,
            2 => ConceptKind::Material,
            k => return Err(format!("bad kind {k}")),
        };
        let o = r.u8()?;
        let extra = r.u16()?;
        let origin = match (o, extra) {
            (0, _) => Origin::Process,
            (1, _) => Origin::Tsdc,
            (2, i) => Origin::Part(i),
            (3, _) => Origin::Material,
            (4, _) => Origin::Tool,
            (5, 0) => Origin::Atom(AtomRole::Input),
            (5, 1) => Origin::Atom(AtomRole::Tool),
            (5, 2) => Origin::Atom(AtomRole::Product),
            (5, 3) => Origin::Atom(AtomRole::Output),
            (5, 4) => Origin::Atom(AtomRole::Process),
            (6, _) => Origin::Bom,
            (7, _) => Origin::Text,
            (o, e) => return Err(format!("bad origin {o}/{e}")),
        };
        let flags = r.u8()?;
        let confidence = r.f32()?;
        if !(confidence > 0.0 && confidence <= 1.0) {
            return Err(format!("bad confidence {confidence}"));
        }
        let text = r.str()?;
        let evidence = r.str()?;
        requirements.push(Requirement {
            term,
            kind,
            text,
            origin,
            critical: flags & 1 != 0,
            inferred: flags & 2 != 0,
            confidence,
            evidence,
        });
    }
    let np = r.count()?;
    let mut parts = Vec::with_capacity(np as usize);
    for _ in 0..np {
        let name = r.str()?;
        let k = r.count()?;
        let mut needs = Vec::with_capacity(k as usize);
        for _ in 0..k {
            let i = r.u32()? as usize;
            if i >= requirements.len() {
                return Err(format!("part need {i} out of range"));
            }
            needs.push(i);
        }
        parts.push(PartNeeds { name, needs });
    }
    Ok((
        DesignInfo {
            title,
            file,
            item_id: id,
            content_id: content,
        },
        RequirementSet {
            domain,
            requirements,
            parts,
        },
    ))
}

fn decode(bytes: &[u8], tax: &Taxonomy) -> R<Vec<(ItemId, ContentId, Cached)>> {
    if bytes.len() < MAGIC.len() + 2 + 32 + 4 + 32 {
        return Err("too short".into());
    }
    let (body, sum) = bytes.split_at(bytes.len() - 32);
    if blake3::hash(body).as_bytes() != sum {
        return Err("checksum mismatch (damaged or truncated)".into());
    }
    let mut r = Reader { b: body, at: 0 };
    if r.take(MAGIC.len())? != MAGIC {
        return Err("not a match index".into());
    }
    let format = r.u16()?;
    if format != FORMAT {
        return Err(format!("format {format}, this okmesh reads {FORMAT}"));
    }
    let fp: [u8; 32] = r.array()?;
    if fp != tax.fingerprint() {
        return Err("compiled with another taxonomy version".into());
    }
    let n = r.u32()?;
    let mut out = Vec::new();
    for _ in 0..n {
        let id = ItemId(r.array()?);
        let content = ContentId(r.array()?);
        let entry = match r.u8()? {
            0 => {
                let (info, set) = decode_set(&mut r, tax, id, content)?;
                Cached::Design {
                    note: None,
                    info,
                    set,
                }
            }
            1 => {
                let note = r.str()?;
                let (info, set) = decode_set(&mut r, tax, id, content)?;
                Cached::Design {
                    note: Some(note),
                    info,
                    set,
                }
            }
            2 => Cached::Unreadable(r.str()?),
            t => return Err(format!("bad entry tag {t}")),
        };
        out.push((id, content, entry));
    }
    if r.at != body.len() {
        return Err("trailing bytes".into());
    }
    Ok(out)
}

/// The index's entries; `Err(None)` when there is no index yet,
/// `Err(Some(why))` when it was unusable.
fn read_index(
    path: &Path,
    tax: &Taxonomy,
) -> Result<Vec<(ItemId, ContentId, Cached)>, Option<String>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(None),
        Err(e) => return Err(Some(format!("{}: {e}", path.display()))),
    };
    if meta.len() > MAX_INDEX_BYTES {
        return Err(Some(format!(
            "{}: {} bytes, over {MAX_INDEX_BYTES}",
            path.display(),
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Some(format!("{}: {e}", path.display())))?;
    decode(&bytes, tax).map_err(|e| Some(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalogue::document::Format;
    use catalogue::entry::entries;
    use catalogue::id::ItemKind;
    use node_core::store::VersionStamp;

    fn stored(file: &str, text: &str) -> StoredItem {
        let e = entries(ItemKind::Manifest, text.as_bytes(), file)
            .unwrap()
            .entries
            .remove(0);
        StoredItem {
            kind: e.kind,
            id: e.id,
            stamp: VersionStamp {
                seq: 1,
                content: e.content,
            },
            name: e.name,
            format: Format::Toml,
            bytes: e.bytes,
            author: None,
        }
    }

    fn items() -> Vec<StoredItem> {
        vec![
            stored(
                "a.toml",
                "okhv = \"2.0\"\nname = \"Clip\"\nrepo = \"https://x.org/clip\"\nfunction = \"A 3D printed clip made of PLA\"\n",
            ),
            stored(
                "b.toml",
                "okhv = \"2.0\"\nname = \"Frame\"\nrepo = \"https://x.org/frame\"\ntsdc = [\"WEL\", \"MEC\"]\n[[part]]\nname = \"Foot\"\ntsdc = \"3DP\"\nmaterial = \"PLA\"\n",
            ),
        ]
    }

    #[test]
    fn a_second_load_reuses_every_entry_and_gives_the_same_designs() {
        let tax = Taxonomy::builtin();
        let dir = tempfile::tempdir().unwrap();
        let items = items();
        let (first, r1) = designs(dir.path(), &items, tax);
        assert_eq!((r1.reused, r1.compiled, r1.written), (0, 2, true));
        let (second, r2) = designs(dir.path(), &items, tax);
        assert_eq!((r2.reused, r2.compiled, r2.written), (2, 0, false));
        assert_eq!(first.info, second.info);
        assert_eq!(first.sets, second.sets);
    }

    #[test]
    fn a_new_version_or_a_removed_item_is_recompiled_or_dropped() {
        let tax = Taxonomy::builtin();
        let dir = tempfile::tempdir().unwrap();
        let mut items = items();
        designs(dir.path(), &items, tax);
        items[0] = stored(
            "a.toml",
            "okhv = \"2.0\"\nname = \"Clip\"\nrepo = \"https://x.org/clip\"\nfunction = \"A laser cut clip\"\n",
        );
        items.pop();
        let (d, r) = designs(dir.path(), &items, tax);
        assert_eq!((r.reused, r.compiled, r.dropped), (0, 1, 2));
        let key = tax.by_key("laser_cutting").unwrap();
        assert!(
            d.sets[0]
                .requirements
                .iter()
                .any(|q| q.term == Term::Concept(key))
        );
    }

    #[test]
    fn a_damaged_index_is_discarded_and_rewritten_never_trusted() {
        let tax = Taxonomy::builtin();
        let dir = tempfile::tempdir().unwrap();
        let items = items();
        let (want, _) = designs(dir.path(), &items, tax);
        let path = dir.path().join(INDEX_FILE);
        let good = std::fs::read(&path).unwrap();
        // Every truncation and a flipped byte anywhere: discarded, no panic.
        for cut in (0..good.len()).step_by(7) {
            std::fs::write(&path, &good[..cut]).unwrap();
            let (d, r) = designs(dir.path(), &items, tax);
            assert!(r.discarded.is_some() || cut == 0, "{cut}: {r:?}");
            assert_eq!(d.sets, want.sets);
        }
        let mut bad = good.clone();
        bad[good.len() / 2] ^= 0x40;
        std::fs::write(&path, &bad).unwrap();
        let (d, r) = designs(dir.path(), &items, tax);
        assert!(r.discarded.unwrap().contains("checksum"));
        assert_eq!(d.sets, want.sets);
        assert_eq!(std::fs::read(&path).unwrap(), good, "rewritten");
    }

    #[test]
    fn an_unreadable_item_is_remembered_as_skipped() {
        let tax = Taxonomy::builtin();
        let dir = tempfile::tempdir().unwrap();
        let mut items = items();
        items[1].bytes = b"name = [1, 2]\n".to_vec();
        let (d, _) = designs(dir.path(), &items, tax);
        let (again, r) = designs(dir.path(), &items, tax);
        assert_eq!(r.reused, 2);
        assert_eq!(d.skipped, again.skipped);
        assert_eq!(again.len(), 1);
        assert!(again.skipped[0].contains("name"), "{:?}", again.skipped);
    }
}
