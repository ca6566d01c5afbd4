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

/// The default corpus: `$OKMESH_CORPUS`, else the `corpus` folder
/// of the repository this binary was built from (a copy of the shared
/// OKH/OKW corpus, see `corpus/SOURCES.md`).
pub fn default_corpus() -> PathBuf {
    std::env::var_os(CORPUS_ENV).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus"),
        PathBuf::from,
    )
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
    path: PathBuf,
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
        let dir = match &spec.corpus {
            Some(c) => base_dir.map_or_else(|| PathBuf::from(c), |d| d.join(c)),
            None => default_corpus().join(match spec.kind {
                CatalogueKind::Manifest => "okh",
                CatalogueKind::Facility => "okw",
            }),
        };
        let field = if spec.corpus.is_some() {
            "corpus"
        } else {
            "kind"
        };
        let mut candidates = candidates(&dir, kind_of(spec.kind)).map_err(|e| {
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
                    dir.display(),
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
                source: c.path.display().to_string(),
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

/// Every file under `dir` that parses as exactly one item of `kind`.
fn candidates(dir: &Path, kind: ItemKind) -> Result<Vec<Candidate>, String> {
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
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for path in files {
        if std::fs::metadata(&path).map_or(true, |m| m.len() > MAX_FILE_BYTES) {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(found) = entries(kind, &bytes, &path.display().to_string()) else {
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
                bytes: bytes.into(),
                id: only.id,
            });
        }
    }
    Ok(out)
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

fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

fn draw_time(rng: &mut Rng, from: Duration, until: Option<Duration>) -> Duration {
    let until = until.unwrap_or(from).max(from);
    Duration::from_micros(rng.range_inclusive(from.as_micros(), until.as_micros()))
}

fn draw_node(rng: &mut Rng, nodes: Option<&[u32]>, n: u32) -> u32 {
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
        let dir = default_corpus().join("okh");
        let cands = candidates(&dir, ItemKind::Manifest).expect("corpus present");
        assert!(cands.len() > 200, "{} manifests", cands.len());
        let mut revised = 0;
        for c in &cands {
            if revise(
                &c.bytes,
                &c.path.display().to_string(),
                ItemKind::Manifest,
                c.id,
                2,
            )
            .is_some()
            {
                revised += 1;
            }
        }
        assert!(
            revised * 10 >= cands.len() * 9,
            "{revised} of {} revisable",
            cands.len()
        );
    }
}
