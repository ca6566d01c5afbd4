//! The on-disk catalogue store (`--db DIR`) for the command line: opening it
//! with clear errors, and reading its items back into manifests and
//! facilities.
//!
//! The store keeps each item's original bytes but not its file name, and the
//! parsers can depend on the name: the format comes from the extension when
//! there is one (else from the content), and an OKW record without a title
//! is named after its file. [`parse_stored_manifest`] and
//! [`parse_stored_facility`] therefore name a stored item
//! `db:<id prefix>/<name>` and, when that does not give back the item's id
//! and content id, try the `.json`, `.toml` and `.yml` extensions: the
//! content id recorded in the version stamp decides which reading is the
//! original. `okmesh import` runs the same functions on every draft before
//! it publishes it, so what it stores always reads back as the same item.

use std::path::Path;

use hw_bridge::store::{DiskStorage, open_store};
use node_core::catalog::{ContentId, ItemId, ItemKind};
use node_core::document::ParseError;
use node_core::okh::{Manifest, parse_manifest};
use node_core::okw::{Facility, parse_facilities};
use node_core::requirements::derive;
use node_core::store::{StorageError, Store, StoreConfig, StoreError, StoredItem};
use node_core::taxonomy::Taxonomy;

use super::CliError;
use super::kb::Designs;

/// The file the on-disk store creates first and holds locked while open
/// (see `hw_bridge::store`): its presence tells a store from another folder.
const LOCK_FILE: &str = "LOCK";

/// Extensions tried, after none, when reading a stored item back.
const EXTENSIONS: [&str; 4] = ["", ".json", ".toml", ".yml"];

/// The store configuration every command uses, so that no command shrinks
/// what another stored.
pub(crate) fn config() -> StoreConfig {
    StoreConfig::default()
}

fn store_error(dir: &Path, e: StoreError) -> CliError {
    match e {
        StoreError::Storage(StorageError::Locked { .. }) => CliError::Io(format!(
            "{}: the store is in use by another process (its LOCK is held); try again when it has finished",
            dir.display()
        )),
        other => CliError::Io(format!("{}: cannot open the store: {other}", dir.display())),
    }
}

/// Opens the store in `dir` for `import`, creating it if `dir` is missing or
/// empty. A folder that holds other files but no store is refused, so that
/// a mistyped `--db` does not litter it.
pub(crate) fn open_or_create(dir: &Path) -> Result<Store<DiskStorage>, CliError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            let is_store = dir.join(LOCK_FILE).is_file();
            if !is_store && entries.next().is_some() {
                return Err(CliError::BadInput(format!(
                    "--db {}: not an okmesh store (no {LOCK_FILE} file) and not empty; give a new or empty folder",
                    dir.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(CliError::BadInput(format!("--db {}: {e}", dir.display()))),
    }
    open_store(dir, config())
        .map(|(s, _)| s)
        .map_err(|e| store_error(dir, e))
}

/// Opens an existing store for reading; a missing folder or one that holds
/// no store is bad input (nothing is created).
pub(crate) fn open_existing(dir: &Path) -> Result<Store<DiskStorage>, CliError> {
    if !dir.is_dir() {
        return Err(CliError::BadInput(format!(
            "--db {}: no such store folder (create one with `okmesh import FILES… --db {}`)",
            dir.display(),
            dir.display()
        )));
    }
    if !dir.join(LOCK_FILE).is_file() {
        return Err(CliError::BadInput(format!(
            "--db {}: not an okmesh store (no {LOCK_FILE} file; create one with `okmesh import`)",
            dir.display()
        )));
    }
    open_store(dir, config())
        .map(|(s, _)| s)
        .map_err(|e| store_error(dir, e))
}

/// The name a stored item is parsed under (messages and the OKW
/// name-from-file rule): `db:<first 8 hex digits of id>/<name><ext>`, with
/// path separators in the name replaced.
fn label(id: ItemId, name: &str, ext: &str) -> String {
    let id = id.to_string();
    let name = name.replace(['/', '\\'], "_");
    format!("db:{}/{name}{ext}", &id[..8])
}

/// Reads stored manifest bytes back. `Ok((m, true))` when `m` has the
/// given id and content id; `Ok((m, false))` when the bytes parse but to
/// another identity (an item made by another parser version); the error of
/// the first reading when no reading parses.
pub(crate) fn parse_stored_manifest(
    id: ItemId,
    content: ContentId,
    name: &str,
    bytes: &[u8],
) -> Result<(Manifest, bool), ParseError> {
    let mut first: Option<Result<Manifest, ParseError>> = None;
    for ext in EXTENSIONS {
        match parse_manifest(bytes, &label(id, name, ext)) {
            Ok(m) if m.item_id == id && m.content_id == content => return Ok((m, true)),
            other => {
                if first.as_ref().is_none_or(|f| f.is_err() && other.is_ok()) {
                    first = Some(other);
                }
            }
        }
    }
    first.expect("EXTENSIONS is not empty").map(|m| (m, false))
}

/// As [`parse_stored_manifest`], for a facility. Stored bytes hold one
/// facility; if they hold a list, the entry with the item's id is taken.
pub(crate) fn parse_stored_facility(
    id: ItemId,
    content: ContentId,
    name: &str,
    bytes: &[u8],
) -> Result<(Facility, bool), ParseError> {
    let mut first: Option<Result<Facility, ParseError>> = None;
    for ext in EXTENSIONS {
        let parsed = parse_facilities(bytes, &label(id, name, ext));
        let parsed = match parsed {
            Ok(mut fs) => {
                if let Some(at) = fs
                    .iter()
                    .position(|f| f.item_id == id && f.content_id == content)
                {
                    return Ok((fs.swap_remove(at), true));
                }
                let at = fs.iter().position(|f| f.item_id == id).unwrap_or(0);
                // parse_facilities never returns an empty list for a mapping,
                // but a stored `[]` would be one.
                if fs.is_empty() {
                    continue;
                }
                Ok(fs.swap_remove(at))
            }
            Err(e) => Err(e),
        };
        if first.as_ref().is_none_or(|f| f.is_err() && parsed.is_ok()) {
            first = Some(parsed);
        }
    }
    match first {
        Some(r) => r.map(|f| (f, false)),
        None => Err(ParseError::NotAMapping {
            file: label(id, name, ""),
            line: 1,
            found: "an empty list",
        }),
    }
}

fn stored_note(item: &StoredItem, what: &str) -> String {
    format!(
        "{}: stored {what} does not parse back to its id and content id (made by another okmesh version?); used as parsed",
        label(item.id, &item.name, "")
    )
}

/// Loads the current version of every manifest in the store in `dir`, in
/// item id order. An item that does not parse is listed in `skipped`.
pub(crate) fn load_designs(dir: &Path, tax: &Taxonomy) -> Result<Designs, CliError> {
    let store = open_existing(dir)?;
    let mut d = Designs {
        manifests: Vec::new(),
        sets: Vec::new(),
        skipped: Vec::new(),
    };
    for item in store.items_of(ItemKind::Manifest) {
        match parse_stored_manifest(item.id, item.stamp.content, &item.name, &item.bytes) {
            Ok((m, exact)) => {
                if !exact {
                    d.skipped.push(stored_note(item, "manifest"));
                }
                d.sets.push(derive(&m, tax));
                d.manifests.push(m);
            }
            Err(e) => d.skipped.push(e.to_string()),
        }
    }
    if d.manifests.is_empty() {
        return Err(CliError::BadInput(format!(
            "--db {}: the store holds no manifest that parses (import some with `okmesh import`)",
            dir.display()
        )));
    }
    Ok(d)
}

/// The current version of every facility in an open store, with a note
/// for each item that could not be used.
pub(crate) fn facilities_in(store: &Store<DiskStorage>) -> (Vec<Facility>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for item in store.items_of(ItemKind::Facility) {
        match parse_stored_facility(item.id, item.stamp.content, &item.name, &item.bytes) {
            Ok((f, exact)) => {
                if !exact {
                    notes.push(stored_note(item, "facility"));
                }
                out.push(f);
            }
            Err(e) => notes.push(e.to_string()),
        }
    }
    (out, notes)
}

/// Shortest item id prefix `find_manifest` accepts.
const MIN_ID_PREFIX: usize = 8;

/// Finds one manifest in an open store by item id (or a prefix of at least
/// 8 hex digits) or by title (case-insensitive, whole title).
pub(crate) fn find_manifest(
    store: &Store<DiskStorage>,
    dir: &Path,
    query: &str,
) -> Result<Manifest, CliError> {
    let q = query.trim().to_lowercase();
    let by_id = q.len() >= MIN_ID_PREFIX && q.bytes().all(|b| b.is_ascii_hexdigit());
    let hits: Vec<&StoredItem> = store
        .items_of(ItemKind::Manifest)
        .filter(|i| {
            (by_id && i.id.to_string().starts_with(&q)) || i.name.trim().to_lowercase() == q
        })
        .collect();
    match hits.as_slice() {
        [item] => parse_stored_manifest(item.id, item.stamp.content, &item.name, &item.bytes)
            .map(|(m, _)| m)
            .map_err(|e| CliError::BadInput(e.to_string())),
        [] => Err(CliError::BadInput(format!(
            "{query}: no such file, and no manifest in the store {} has this title or id",
            dir.display()
        ))),
        many => Err(CliError::BadInput(format!(
            "{query}: {} manifests in the store match ({}); give the item id",
            many.len(),
            many.iter()
                .take(10)
                .map(|i| format!("{} \"{}\"", i.id, i.name))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Where the designs to match come from: exactly one of `--corpus` and
/// `--db`.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
pub(crate) struct DesignSource {
    /// Folder of OKH manifests to match against (read recursively; facility files are left out).
    #[arg(long, value_name = "DIR")]
    corpus: Option<std::path::PathBuf>,
    /// Store made by `okmesh import`: match against the current version of every manifest in it.
    #[arg(long, value_name = "DIR")]
    db: Option<std::path::PathBuf>,
}

impl DesignSource {
    /// Loads the designs from the folder or the store.
    pub(crate) fn load(&self, tax: &Taxonomy) -> Result<Designs, CliError> {
        match (&self.corpus, &self.db) {
            (Some(dir), _) => super::kb::load_designs(dir, tax),
            (None, Some(dir)) => load_designs(dir, tax),
            (None, None) => Err(CliError::BadInput("give --corpus DIR or --db DIR".into())),
        }
    }
}
