//! The on-disk catalogue store (`--db DIR`) for the command line: opening it
//! with clear errors, and reading its items back into manifests and
//! facilities (with [`hw_bridge::kb`], which the field node's HTTP API
//! shares).

use std::path::Path;

use catalogue::entry::read_manifest;
use catalogue::id::ItemKind;
use catalogue::okh::Manifest;
use catalogue::okw::Facility;
use catalogue::ranked::Designs;
use catalogue::taxonomy::Taxonomy;
use hw_bridge::kb::facilities_from_stored;
use hw_bridge::match_index;
use hw_bridge::store::{DiskStorage, open_store};
use node_core::store::{StorageError, Store, StoreConfig, StoreError, StoredItem};

use super::CliError;

/// The file the on-disk store creates first and holds locked while open
/// (see `hw_bridge::store`): its presence tells a store from another folder.
const LOCK_FILE: &str = "LOCK";

/// The store configuration every command uses, so that no command shrinks
/// what another stored.
pub(crate) fn config() -> StoreConfig {
    StoreConfig::default()
}

/// A store that cannot be opened, explained.
pub(crate) fn store_error(dir: &Path, e: StoreError) -> CliError {
    match e {
        StoreError::Storage(StorageError::Locked { .. }) => CliError::Io(format!(
            "{}: the store is in use by another process (its LOCK is held); try again when it has finished",
            dir.display()
        )),
        other => CliError::Io(format!("{}: cannot open the store: {other}", dir.display())),
    }
}

/// Refuses a folder that holds other files but no store (`flag` names the
/// option in the message), so that a mistyped path is not littered; a
/// missing or empty folder, or a store, is fine.
pub(crate) fn check_store_folder(dir: &Path, flag: &str) -> Result<(), CliError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            let is_store = dir.join(LOCK_FILE).is_file();
            if !is_store && entries.next().is_some() {
                return Err(CliError::BadInput(format!(
                    "{flag} {}: not an okmesh store (no {LOCK_FILE} file) and not empty; give a new or empty folder",
                    dir.display()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::BadInput(format!("{flag} {}: {e}", dir.display()))),
    }
}

/// Opens the store in `dir` for `import`, creating it if `dir` is missing or
/// empty (see [`check_store_folder`]).
pub(crate) fn open_or_create(dir: &Path) -> Result<Store<DiskStorage>, CliError> {
    check_store_folder(dir, "--db")?;
    open_store(dir, config())
        .map(|(s, _)| report_recovery(s))
        .map_err(|e| store_error(dir, e))
}

/// Says on stderr what opening the store cut (a torn last record), if
/// anything: never silent.
fn report_recovery(store: Store<DiskStorage>) -> Store<DiskStorage> {
    if let Some(note) = store.storage().recovery_note() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("warning: {note}");
        }
    }
    store
}

/// Refuses a folder that is missing or holds no store (`flag` names the
/// option in the message); nothing is created.
pub(crate) fn check_existing(dir: &Path, flag: &str) -> Result<(), CliError> {
    if !dir.is_dir() {
        return Err(CliError::BadInput(format!(
            "{flag} {}: no such store folder (create one with `okmesh import FILES… --db {}`)",
            dir.display(),
            dir.display()
        )));
    }
    if !dir.join(LOCK_FILE).is_file() {
        return Err(CliError::BadInput(format!(
            "{flag} {}: not an okmesh store (no {LOCK_FILE} file; create one with `okmesh import`)",
            dir.display()
        )));
    }
    Ok(())
}

/// Opens an existing store for reading; a missing folder or one that holds
/// no store is bad input (nothing is created).
pub(crate) fn open_existing(dir: &Path) -> Result<Store<DiskStorage>, CliError> {
    check_existing(dir, "--db")?;
    open_store(dir, config())
        .map(|(s, _)| report_recovery(s))
        .map_err(|e| store_error(dir, e))
}

/// Loads the current version of every manifest in the store in `dir`, in
/// item id order, through the persisted match index beside it (a design
/// whose id and content id the index holds is not parsed again; see
/// [`hw_bridge::match_index`]). An item that does not parse is listed in
/// `skipped`.
pub(crate) fn load_designs(dir: &Path, tax: &Taxonomy) -> Result<Designs, CliError> {
    let store = open_existing(dir)?;
    let (d, report) = match_index::designs(dir, store.items_of(ItemKind::Manifest), tax);
    tracing::debug!(?report, "match index");
    if d.is_empty() {
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
    facilities_from_stored(store.items_of(ItemKind::Facility))
}

/// Shortest item id prefix `find_manifest` accepts.
const MIN_ID_PREFIX: usize = 8;

/// The manifests of `store` whose item id starts with `query` (at least 8
/// hex digits) or whose title is `query` (case-insensitive, whole title).
pub(crate) fn manifests_named<'a>(
    store: &'a Store<DiskStorage>,
    query: &str,
) -> Vec<&'a StoredItem> {
    let q = query.trim().to_lowercase();
    let by_id = q.len() >= MIN_ID_PREFIX && q.bytes().all(|b| b.is_ascii_hexdigit());
    store
        .items_of(ItemKind::Manifest)
        .filter(|i| {
            (by_id && i.id.to_string().starts_with(&q)) || i.name.trim().to_lowercase() == q
        })
        .collect()
}

/// Finds one manifest in an open store by item id (or a prefix of at least
/// 8 hex digits) or by title (case-insensitive, whole title).
pub(crate) fn find_manifest(
    store: &Store<DiskStorage>,
    dir: &Path,
    query: &str,
) -> Result<Manifest, CliError> {
    let hits = manifests_named(store, query);
    match hits.as_slice() {
        [item] => read_manifest(
            item.catalogue_id(),
            item.stamp.content,
            &item.name,
            item.format,
            &item.bytes,
        )
        .map(|(m, _)| m)
        .map_err(|e| CliError::BadInput(e.to_string())),
        [] => Err(CliError::BadInput(format!(
            "{query}: no such file, and no manifest in the store {} has this title or id",
            dir.display()
        ))),
        many => Err(CliError::BadInput(format!(
            "{query}: {} manifests in the store match ({}); give the item id",
            many.len(),
            listed(many)
        ))),
    }
}

/// The first ten of `many` as `id "title"`, for a message asking which.
pub(crate) fn listed(many: &[&StoredItem]) -> String {
    many.iter()
        .take(10)
        .map(|i| format!("{} \"{}\"", i.id, i.name))
        .collect::<Vec<_>>()
        .join(", ")
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
    /// The store folder, with `--db`.
    pub(crate) fn db_dir(&self) -> Option<&Path> {
        self.db.as_deref()
    }

    /// Loads the designs from the folder or the store.
    pub(crate) fn load(&self, tax: &Taxonomy) -> Result<Designs, CliError> {
        match (&self.corpus, &self.db) {
            (Some(dir), _) => super::kb::load_designs(dir, tax),
            (None, Some(dir)) => load_designs(dir, tax),
            (None, None) => Err(CliError::BadInput("give --corpus DIR or --db DIR".into())),
        }
    }
}
