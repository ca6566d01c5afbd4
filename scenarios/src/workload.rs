//! Turning `workload.publish` and `workload.revise` into a schedule of real
//! files: which corpus files, published at which node and when, and the
//! edited bytes of new versions. Everything is drawn from the scenario's
//! seed, so the schedule is part of the deterministic run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use catalogue::entry::entries;
use catalogue::id::{ItemId, ItemKind, identify};
use node_core::{Duration, Rng};

use crate::path::FieldPath;
use sim::config::Publication;

use crate::schema::{CatalogueKind, Scenario};

/// Environment variable naming the corpus folder (holding `okh/` and `okw/`).
pub const CORPUS_ENV: &str = "OKMESH_CORPUS";

/// Most files looked at in one corpus folder.
const MAX_CORPUS_FILES: usize = 100_000;
/// Largest corpus file read.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// The repository's OKH/OKW corpus (`corpus/okh`, `corpus/okw`, a copy of
/// the shared corpus, see `corpus/SOURCES.md`), built into the binary by
/// `build.rs`: (path as `corpus/okh/…`, bytes), sorted by path. An
/// installed `okmesh` needs no source tree to run the library scenarios.
pub static EMBEDDED_CORPUS: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/corpus.rs"));

/// The folder `$OKMESH_CORPUS` names, if set: it replaces the built-in
/// corpus for publications without a `corpus:` of their own.
pub fn default_corpus() -> Option<PathBuf> {
    std::env::var_os(CORPUS_ENV).map(PathBuf::from)
}

/// Where a publication's items come from.
enum Source {
    /// A folder on disk.
    Folder(PathBuf),
    /// The built-in corpus, under `corpus/okh` or `corpus/okw`.
    BuiltIn(&'static str),
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Folder(d) => d.display().to_string(),
            Source::BuiltIn(sub) => format!("the built-in corpus ({sub})"),
        }
    }
}

/// The one place the schema's kind becomes node-core's.
fn kind_of(k: CatalogueKind) -> ItemKind {
    match k {
        CatalogueKind::Manifest => ItemKind::Manifest,
        CatalogueKind::Facility => ItemKind::Facility,
    }
}

/// A usable corpus file.
struct Candidate {
    path: String,
    bytes: Arc<[u8]>,
    id: ItemId,
}

/// Resolves the schedule of `s` in place. Problems name their field.
pub fn resolve(s: &mut Scenario, base_dir: Option<&Path>) -> Result<(), (FieldPath, String)> {
    let n = s.node_count();
    let mut schedule: Vec<Publication> = Vec::new();
    let mut used: BTreeSet<ItemId> = BTreeSet::new();
    let mut published: Vec<(Publication, ItemId)> = Vec::new();
    for (i, spec) in s.workload.publish.iter().enumerate() {
        let at = FieldPath::root().key("workload").key("publish").index(i);
        let sub = match spec.kind {
            CatalogueKind::Manifest => "okh",
            CatalogueKind::Facility => "okw",
        };
        let source = match (&spec.corpus, default_corpus()) {
            (Some(c), _) => {
                Source::Folder(base_dir.map_or_else(|| PathBuf::from(c), |d| d.join(c)))
            }
            (None, Some(env)) => Source::Folder(env.join(sub)),
            (None, None) => Source::BuiltIn(sub),
        };
        let field = if spec.corpus.is_some() {
            "corpus"
        } else {
            "kind"
        };
        let listed = match &source {
            Source::Folder(dir) => folder_files(dir),
            Source::BuiltIn(sub) => Ok(built_in_files(sub)),
        };
        let mut candidates = listed
            .map(|files| candidates(files, kind_of(spec.kind)))
            .map_err(|e| {
                (
                    at.key(field),
                    format!(
                        "{e} (set {CORPUS_ENV} to the folder holding okh/ and okw/, or give `corpus:`)"
                    ),
                )
            })?;
        candidates.retain(|c| !used.contains(&c.id));
        let mut rng = Rng::derive(s.seed, "workload.publish", i as u64);
        shuffle(&mut candidates, &mut rng);
        if candidates.len() < spec.items as usize {
            return Err((
                at.key("items"),
                format!(
                    "{} items asked for, but {} holds only {} usable distinct ones",
                    spec.items,
                    source.describe(),
                    candidates.len()
                ),
            ));
        }
        for c in candidates.into_iter().take(spec.items as usize) {
            used.insert(c.id);
            let p = Publication {
                at: draw_time(&mut rng, spec.from, spec.until),
                node: draw_node(&mut rng, spec.nodes.as_deref(), n),
                kind: kind_of(spec.kind),
                source: c.path,
                bytes: c.bytes,
            };
            published.push((p.clone(), c.id));
            schedule.push(p);
        }
    }
    for (j, spec) in s.workload.revise.iter().enumerate() {
        let at = FieldPath::root().key("workload").key("revise").index(j);
        let mut rng = Rng::derive(s.seed, "workload.revise", j as u64);
        let mut made = 0;
        let mut order: Vec<usize> = (0..published.len()).collect();
        shuffle(&mut order, &mut rng);
        for k in order {
            if made == spec.items {
                break;
            }
            let time = draw_time(&mut rng, spec.from, spec.until);
            let (orig, id) = &published[k];
            if orig.at >= time {
                continue; // not published yet by then
            }
            let revision = j as u32 + 2;
            let Some(bytes) = revise(&orig.bytes, &orig.source, orig.kind, *id, revision) else {
                continue;
            };
            schedule.push(Publication {
                at: time,
                node: draw_node(&mut rng, spec.nodes.as_deref(), n),
                kind: orig.kind,
                source: format!("{} (revision {revision})", orig.source),
                bytes: bytes.into(),
            });
            made += 1;
        }
        if made < spec.items {
            return Err((
                at.key("items"),
                format!(
                    "only {made} of {} items could be revised (published before `from` and editable)",
                    spec.items
                ),
            ));
        }
    }
    schedule.sort_by(|a, b| (a.at, a.node, &a.source).cmp(&(b.at, b.node, &b.source)));
    s.workload.schedule = schedule;
    Ok(())
}

/// A corpus file: its path as shown, and its bytes.
type CorpusFile = (String, Arc<[u8]>);

/// The built-in corpus files under `corpus/<sub>/`, sorted by path.
fn built_in_files(sub: &str) -> Vec<CorpusFile> {
    let prefix = format!("corpus/{sub}/");
    let mut files: Vec<CorpusFile> = EMBEDDED_CORPUS
        .iter()
        .filter(|(p, b)| p.starts_with(&prefix) && b.len() as u64 <= MAX_FILE_BYTES)
        .map(|(p, b)| ((*p).to_string(), Arc::from(*b)))
        .collect();
    files.sort_by(|a, b| Path::new(&a.0).cmp(Path::new(&b.0)));
    files
}

/// Every item file under `dir` (read), sorted by path.
fn folder_files(dir: &Path) -> Result<Vec<CorpusFile>, String> {
    if !dir.is_dir() {
        return Err(format!("corpus folder {} not found", dir.display()));
    }
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| format!("cannot read {}: {e}", d.display()))?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                // Wikidata atom definitions are not items.
                if p.file_name().is_some_and(|f| f != "atoms") {
                    stack.push(p);
                }
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yml" | "yaml" | "toml" | "json")
            ) {
                files.push(p);
            }
            if files.len() > MAX_CORPUS_FILES {
                return Err(format!(
                    "more than {MAX_CORPUS_FILES} files under {}",
                    dir.display()
                ));
            }
        }
    }
    files.sort();
    Ok(files
        .into_iter()
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() <= MAX_FILE_BYTES))
        .filter_map(|p| {
            let bytes = std::fs::read(&p).ok()?;
            Some((p.display().to_string(), Arc::from(bytes)))
        })
        .collect())
}

/// The files that parse as exactly one item of `kind`, in order.
fn candidates(files: Vec<CorpusFile>, kind: ItemKind) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for (path, bytes) in files {
        let Ok(found) = entries(kind, &bytes, &path) else {
            continue;
        };
        // One item per file, one file per design, and only items a node
        // will accept (they read back from its store as themselves).
        if let [only] = found.entries.as_slice()
            && only.reads_back()
            && ids.insert(only.id)
        {
            out.push(Candidate {
                path,
                bytes,
                id: only.id,
            });
        }
    }
    out
}

/// An edited copy of an item: its `version` field becomes `…-rev<n>` (or is
/// added), which changes the content id and keeps the item id. `None` if the
/// edit does not give a new version of the same item.
pub fn revise(
    bytes: &[u8],
    source: &str,
    kind: ItemKind,
    id: ItemId,
    revision: u32,
) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let tag = format!("-okmesh-rev{revision}");
    let lower = source.to_ascii_lowercase();
    let json = lower.ends_with(".json") || text.trim_start().starts_with('{');
    let toml = lower.ends_with(".toml");
    let mut out = String::with_capacity(text.len() + 32);
    let mut done = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let is_version = !done
            && line.len() == t.len() // top level only
            && (t.starts_with("version:") || t.starts_with("version =") || t.starts_with("version=") || t.starts_with("\"version\":"));
        if is_version {
            // Append the tag inside the value, keeping quotes and commas.
            let body = line.trim_end_matches(['\n', '\r']);
            let (value_end, tail) = match body.rfind('"') {
                Some(q) if body[..q].contains(['=', ':']) && body[q..].len() <= 2 => {
                    (q, &body[q..])
                }
                _ => (body.len(), ""),
            };
            out.push_str(&body[..value_end]);
            out.push_str(&tag);
            out.push_str(tail);
            out.push_str(&line[body.len()..]);
            done = true;
        } else {
            out.push_str(line);
        }
    }
    if !done {
        if json {
            let brace = out.find('{')?;
            out.insert_str(brace + 1, &format!("\"version\": \"{}\",", &tag[1..]));
        } else if toml {
            out.insert_str(0, &format!("version = \"{}\"\n", &tag[1..]));
        } else {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("version: {}\n", &tag[1..]));
        }
    }
    let before = identify(kind, bytes, source, None).ok()?;
    let after = identify(kind, out.as_bytes(), source, None).ok()?;
    match (before.as_slice(), after.as_slice()) {
        ([b], [a]) if a.id == id && b.id == id && a.content != b.content => Some(out.into_bytes()),
        _ => None,
    }
}

pub(crate) fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

pub(crate) fn draw_time(rng: &mut Rng, from: Duration, until: Option<Duration>) -> Duration {
    let until = until.unwrap_or(from).max(from);
    Duration::from_micros(rng.range_inclusive(from.as_micros(), until.as_micros()))
}

pub(crate) fn draw_node(rng: &mut Rng, nodes: Option<&[u32]>, n: u32) -> u32 {
    match nodes {
        Some(list) if !list.is_empty() => list[rng.below(list.len() as u64) as usize],
        _ => rng.below(u64::from(n)) as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_corpus_manifest_that_has_a_version_can_be_revised() {
        let cands = candidates(built_in_files("okh"), ItemKind::Manifest);
        assert!(cands.len() > 200, "{} manifests", cands.len());
        let mut revised = 0;
        for c in &cands {
            if revise(&c.bytes, &c.path, ItemKind::Manifest, c.id, 2).is_some() {
                revised += 1;
            }
        }
        assert!(
            revised * 10 >= cands.len() * 9,
            "{revised} of {} revisable",
            cands.len()
        );
    }

    #[test]
    fn the_built_in_corpus_is_the_repository_folder() {
        // Same files, same bytes, same candidates as reading corpus/ from disk.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
        for (sub, kind) in [("okh", ItemKind::Manifest), ("okw", ItemKind::Facility)] {
            let built_in = candidates(built_in_files(sub), kind);
            let disk = candidates(folder_files(&dir.join(sub)).expect("corpus present"), kind);
            assert!(!built_in.is_empty(), "{sub}");
            assert_eq!(built_in.len(), disk.len(), "{sub}");
            for (a, b) in built_in.iter().zip(&disk) {
                assert_eq!(a.id, b.id);
                assert_eq!(a.bytes, b.bytes);
                assert!(
                    b.path.ends_with(a.path.trim_start_matches("corpus")),
                    "{} {}",
                    a.path,
                    b.path
                );
            }
        }
    }
}
