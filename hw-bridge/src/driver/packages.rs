//! The field node's design packages: the wanted list that survives a
//! restart, what the API shows of each package, and the package events'
//! logs.
//!
//! The package cache itself (records and verified pieces, partial packages
//! included) is node-core's [`PackageCache`](node_core::packages::PackageCache)
//! on its own on-disk store ([`crate::store::open_package_cache`]). What
//! the operator asked for is kept apart, in [`WANTED_FILE`] beside it: one
//! package id per line, replaced whole (written, synced, renamed, the
//! folder synced) before a request or cancel is answered, so a crash
//! leaves either the old list or the new one, never a torn one. On start
//! the driver requests each again; the swarm resumes from the cached
//! pieces.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use node_core::packages::PackageId;
use node_core::packages::estimate::LinkRate;
use node_core::packages::swarm::Progress;
use node_core::store::Storage;
use node_core::{ItemId, Node, NodeId};

/// The wanted list's file name in the data directory.
pub const WANTED_FILE: &str = "packages-wanted";
/// Most packages wanted at once (a request past it is refused).
pub const MAX_WANTED: usize = 256;
/// Largest wanted-list file read (256 lines of 65 bytes fit many times).
const MAX_WANTED_FILE_BYTES: u64 = 64 << 10;
/// Senders counted per package for [`PackageView::sources`].
pub const MAX_SOURCES: usize = 64;

/// Why the wanted list cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WantedError {
    /// Reading, writing, syncing or renaming the file failed.
    #[error("{}: {what}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line is not a package id.
    #[error("{} line {line}: not a package id (64 hex digits)", path.display())]
    BadLine {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
    },
    /// The file is larger than any list this node writes.
    #[error("{}: over {MAX_WANTED_FILE_BYTES} bytes; not a wanted list", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The list is full.
    #[error("{MAX_WANTED} packages are wanted already; cancel one first")]
    Full,
}

/// The packages the operator asked for, and where they are kept (`None`:
/// a node without a data directory, whose wants end with it).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Wanted {
    file: Option<PathBuf>,
    ids: BTreeSet<PackageId>,
}

impl Wanted {
    /// An empty list kept in memory only.
    pub fn in_memory() -> Wanted {
        Wanted::default()
    }

    /// Reads the list kept in `dir` (empty if there is none yet).
    pub fn load(dir: &Path) -> Result<Wanted, WantedError> {
        let path = dir.join(WANTED_FILE);
        let io = |what| {
            let path = path.clone();
            move |source| WantedError::Io { path, what, source }
        };
        let text = match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io("read")(e)),
            Ok(m) if m.len() > MAX_WANTED_FILE_BYTES => {
                return Err(WantedError::TooLarge { path });
            }
            Ok(_) => std::fs::read_to_string(&path).map_err(io("read"))?,
        };
        let mut ids = BTreeSet::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let id = PackageId::from_hex(line).ok_or_else(|| WantedError::BadLine {
                path: path.clone(),
                line: n + 1,
            })?;
            ids.insert(id);
        }
        Ok(Wanted {
            file: Some(path),
            ids,
        })
    }

    /// The packages wanted, in id order.
    pub fn ids(&self) -> impl Iterator<Item = PackageId> + '_ {
        self.ids.iter().copied()
    }

    /// Whether `id` is wanted.
    pub fn contains(&self, id: PackageId) -> bool {
        self.ids.contains(&id)
    }

    /// Replaces the list with `ids` and makes it durable; on failure the
    /// list (in memory and on disk) stays as it was.
    pub fn set(&mut self, ids: BTreeSet<PackageId>) -> Result<(), WantedError> {
        if ids == self.ids {
            return Ok(());
        }
        if ids.len() > MAX_WANTED {
            return Err(WantedError::Full);
        }
        if let Some(path) = &self.file {
            write_durably(path, &ids)?;
        }
        self.ids = ids;
        Ok(())
    }
}

/// Writes `ids` to `path` through a synced temporary file and a rename.
fn write_durably(path: &Path, ids: &BTreeSet<PackageId>) -> Result<(), WantedError> {
    let tmp = path.with_extension("tmp");
    let io = |what| {
        let path = path.to_path_buf();
        move |source| WantedError::Io { path, what, source }
    };
    let mut text = String::with_capacity(ids.len() * 65);
    for id in ids {
        text.push_str(&id.to_string());
        text.push('\n');
    }
    let mut f = std::fs::File::create(&tmp).map_err(io("create"))?;
    f.write_all(text.as_bytes()).map_err(io("write"))?;
    f.sync_all().map_err(io("sync"))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io("rename"))?;
    // The rename is durable only once the folder is.
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("sync the folder of"))?;
    }
    Ok(())
}

/// One package as the API shows it.
#[derive(Clone, PartialEq, Debug)]
pub struct PackageView {
    /// The package.
    pub id: PackageId,
    /// Asked for by the operator (kept across restarts).
    pub wanted: bool,
    /// Fetched for a neighbour's request (a relay), not the operator's.
    pub relay: bool,
    /// Every piece held and verified.
    pub complete: bool,
    /// Pinned in the cache (never evicted).
    pub pinned: bool,
    /// The design and its manifest's name, once the record is held.
    pub design: Option<(ItemId, String)>,
    /// Files in the package (0 until the record is held).
    pub files: usize,
    /// Pieces, bytes, rate, holders and ETA.
    pub progress: Progress,
    /// Verified pieces received per sender since the node started (the
    /// piece that completes a package is reported as the completion, whose
    /// sender node-core does not name, so it is not counted).
    pub sources: BTreeMap<NodeId, u64>,
}

/// What `GET /packages` shows.
#[derive(Clone, PartialEq, Debug)]
pub struct PackagesView {
    /// Held or wanted packages, in id order.
    pub packages: Vec<PackageView>,
    /// Bytes the cache holds.
    pub used_bytes: u64,
    /// The cache's capacity.
    pub capacity_bytes: u64,
    /// The link the node has, for estimates.
    pub link: LinkRate,
}

/// Verified pieces received per package and sender (bounded).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub(super) struct Sources(BTreeMap<PackageId, BTreeMap<NodeId, u64>>);

impl Sources {
    pub(super) fn count(&mut self, package: PackageId, from: NodeId) {
        if !self.0.contains_key(&package) && self.0.len() >= MAX_WANTED {
            return;
        }
        let per = self.0.entry(package).or_default();
        if let Some(n) = per.get_mut(&from) {
            *n += 1;
        } else if per.len() < MAX_SOURCES {
            per.insert(from, 1);
        }
    }
}

/// The view of package `id`, if the node wants or holds it.
pub(super) fn view<S: Storage, P: Storage>(
    node: &Node<S, P>,
    wanted: &Wanted,
    sources: &Sources,
    now: node_core::Instant,
    id: PackageId,
) -> Option<PackageView> {
    let progress = node.package_progress(now, id)?;
    let swarm = node.swarm();
    let record = swarm.cache().record(id);
    let design = record.map(|r| {
        let item = node_core::identity::owned_id(&r.publisher, r.design);
        let name = node
            .store()
            .get(item)
            .map(|i| i.name.clone())
            .unwrap_or_default();
        (item, name)
    });
    let held = swarm.cache().held(id);
    Some(PackageView {
        id,
        wanted: wanted.contains(id),
        relay: swarm.is_relay(id),
        complete: held.is_some_and(|h| h.pieces == h.piece_count),
        pinned: held.is_some_and(|h| h.pinned),
        design,
        files: record.map_or(0, |r| r.files.len()),
        progress,
        sources: sources.0.get(&id).cloned().unwrap_or_default(),
    })
}

/// Every package the node wants or holds.
pub(super) fn views<S: Storage, P: Storage>(
    node: &Node<S, P>,
    wanted: &Wanted,
    sources: &Sources,
    now: node_core::Instant,
) -> Vec<PackageView> {
    let ids: BTreeSet<PackageId> = node
        .swarm()
        .cache()
        .ids()
        .chain(node.swarm().wanted())
        .chain(wanted.ids())
        .collect();
    ids.into_iter()
        .filter_map(|id| view(node, wanted, sources, now, id))
        .collect()
}

/// The operator's wants the swarm still fetches (a completed package drops
/// out of the swarm's wants, and so out of the list).
pub(super) fn still_wanted<S: Storage, P: Storage>(
    node: &Node<S, P>,
    wanted: &Wanted,
) -> BTreeSet<PackageId> {
    let fetching: BTreeSet<PackageId> = node.swarm().wanted().collect();
    wanted.ids().filter(|id| fetching.contains(id)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(b: u8) -> PackageId {
        PackageId([b; 32])
    }

    #[test]
    fn the_wanted_list_survives_a_reload_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Wanted::load(dir.path()).unwrap();
        assert_eq!(w.ids().count(), 0);
        w.set([id(1), id(2)].into_iter().collect()).unwrap();
        let back = Wanted::load(dir.path()).unwrap();
        assert_eq!(back.ids().collect::<Vec<_>>(), vec![id(1), id(2)]);
        assert!(!dir.path().join("packages-wanted.tmp").exists());
        w.set([id(2)].into_iter().collect()).unwrap();
        assert!(!Wanted::load(dir.path()).unwrap().contains(id(1)));
        std::fs::write(dir.path().join(WANTED_FILE), "abc\n").unwrap();
        let e = Wanted::load(dir.path()).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        let too_many: BTreeSet<PackageId> = (0..=MAX_WANTED)
            .map(|i| {
                let mut b = [0; 32];
                b[..8].copy_from_slice(&(i as u64).to_le_bytes());
                PackageId(b)
            })
            .collect();
        assert!(matches!(w.set(too_many), Err(WantedError::Full)));
        // In memory: nothing is written anywhere.
        let mut m = Wanted::in_memory();
        m.set([id(3)].into_iter().collect()).unwrap();
        assert!(m.contains(id(3)));
    }

    #[test]
    fn sources_are_bounded() {
        let mut s = Sources::default();
        for n in 0..(MAX_SOURCES as u32 + 10) {
            s.count(id(1), NodeId(n));
        }
        s.count(id(1), NodeId(0));
        assert_eq!(s.0[&id(1)].len(), MAX_SOURCES);
        assert_eq!(s.0[&id(1)][&NodeId(0)], 2);
    }
}
