//! Loading manifests and facilities from files for the matching commands,
//! and table helpers. What the field node shares (stored items read back,
//! `--have` profiles, match explanations and JSON) is in [`catalogue::ranked`] and [`hw_bridge::kb`].

use std::path::{Path, PathBuf};

use catalogue::document::MAX_DOCUMENT_BYTES;
use catalogue::okh::parse_manifest;
use catalogue::okw::{Facility, parse_facilities};
pub(crate) use catalogue::ranked::Designs;
use catalogue::taxonomy::Taxonomy;

use super::CliError;

/// Most files one directory walk reads.
pub(crate) const MAX_FILES: usize = 200_000;

fn is_data_file(p: &Path) -> bool {
    matches!(
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("toml" | "yml" | "yaml" | "json")
    )
}

/// Files under `path` (or `path` itself), sorted, data files only.
pub(crate) fn data_files(path: &Path) -> Result<Vec<PathBuf>, CliError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| CliError::BadInput(format!("{}: {e}", path.display())))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir)
            .map_err(|e| CliError::BadInput(format!("{}: {e}", dir.display())))?;
        for entry in rd {
            let p = entry
                .map_err(|e| CliError::Io(format!("{}: {e}", dir.display())))?
                .path();
            if p.is_dir() {
                stack.push(p);
            } else if is_data_file(&p) {
                out.push(p);
                if out.len() > MAX_FILES {
                    return Err(CliError::BadInput(format!(
                        "{}: more than {MAX_FILES} files",
                        path.display()
                    )));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a file, refusing ones over the document size limit.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| CliError::BadInput(format!("{}: {e}", path.display())))?;
    if meta.len() > MAX_DOCUMENT_BYTES as u64 {
        return Err(CliError::BadInput(format!(
            "{}: {} bytes is over the limit of {MAX_DOCUMENT_BYTES} bytes",
            path.display(),
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| CliError::BadInput(format!("{}: {e}", path.display())))
}

/// What a file in a corpus holds, as [`classify`] tells.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// An OKH manifest.
    Manifest,
    /// One OKW facility or a list of them.
    Facility,
    /// Neither (the reason).
    Ignored(&'static str),
}

/// Tells manifests from facilities by path, then content: a file in an
/// `atoms` folder (Wikidata atom definitions) is neither; else the
/// innermost folder named `okw` or `okh` decides; else `okw` or `okh` in
/// the file name; else a top-level list is a list of facilities (a
/// makerspace export) and anything else a manifest.
pub(crate) fn classify(path: &Path, bytes: &[u8]) -> Kind {
    let dirs: Vec<&str> = path
        .parent()
        .into_iter()
        .flat_map(Path::components)
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    if dirs.contains(&"atoms") {
        return Kind::Ignored(
            "Wikidata atom definitions (an `atoms` folder), not a manifest or facility",
        );
    }
    for d in dirs.iter().rev() {
        match *d {
            "okw" => return Kind::Facility,
            "okh" => return Kind::Manifest,
            _ => {}
        }
    }
    let file = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if file.contains("okw") {
        return Kind::Facility;
    }
    if file.contains("okh") {
        return Kind::Manifest;
    }
    let head = bytes
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or(bytes)
        .trim_ascii_start();
    if head.starts_with(b"[") && !file.ends_with(".toml") {
        Kind::Facility
    } else {
        Kind::Manifest
    }
}

/// Loads every design under a corpus folder. Files that [`classify`] does
/// not call manifests are left out;
/// a file that does not parse is listed in `skipped` with its error.
pub(crate) fn load_designs(dir: &Path, tax: &Taxonomy) -> Result<Designs, CliError> {
    let mut d = Designs::default();
    for p in data_files(dir)? {
        let name = p.display().to_string();
        let manifest = read(&p).and_then(|b| {
            if classify(&p, &b) != Kind::Manifest {
                return Ok(None);
            }
            parse_manifest(&b, &name)
                .map(Some)
                .map_err(|e| CliError::BadInput(e.to_string()))
        });
        match manifest {
            Ok(None) => {}
            Ok(Some(m)) => d.push(m, tax),
            Err(e) => d.skipped.push(e.to_string()),
        }
    }
    if d.is_empty() {
        let why = if d.skipped.is_empty() {
            "holds no OKH manifest (.toml, .yml, .yaml or .json outside `okw` and `atoms` folders)"
                .to_owned()
        } else {
            format!(
                "holds no manifest that parses ({} skipped: {})",
                d.skipped.len(),
                d.skipped.first().map(String::as_str).unwrap_or_default()
            )
        };
        return Err(CliError::BadInput(format!(
            "--corpus {}: {why}",
            dir.display()
        )));
    }
    Ok(d)
}

/// Loads facilities from a file or folder; any bad file is an error.
pub(crate) fn load_facilities(path: &Path) -> Result<Vec<Facility>, CliError> {
    let mut out = Vec::new();
    for p in data_files(path)? {
        let name = p.display().to_string();
        let bytes = read(&p)?;
        out.extend(parse_facilities(&bytes, &name).map_err(|e| CliError::BadInput(e.to_string()))?);
    }
    if out.is_empty() {
        return Err(CliError::BadInput(format!(
            "{}: no facility files found",
            path.display()
        )));
    }
    Ok(out)
}

/// Loads exactly one facility from a file.
pub(crate) fn load_one_facility(path: &Path) -> Result<Facility, CliError> {
    let mut fs = load_facilities(path)?;
    if fs.len() != 1 {
        let names: Vec<&str> = fs.iter().map(|f| f.name.as_str()).collect();
        return Err(CliError::BadInput(format!(
            "{}: holds {} facilities ({}); give a file with one",
            path.display(),
            fs.len(),
            names.join(", ")
        )));
    }
    Ok(fs.remove(0))
}

/// Checks a `--threshold` value.
pub(crate) fn check_threshold(t: f32) -> Result<f32, CliError> {
    if (0.0..=1.0).contains(&t) {
        Ok(t)
    } else {
        Err(CliError::BadInput(format!(
            "--threshold {t}: must be between 0 and 1"
        )))
    }
}

/// `a, b, c` or `-`.
pub(crate) fn list(v: &[String]) -> String {
    if v.is_empty() {
        "-".to_owned()
    } else {
        v.join(", ")
    }
}

/// Shortens text to `n` characters for tables.
pub(crate) fn clip(s: &str, n: usize) -> String {
    let s = s.replace(['\n', '\t'], " ");
    if s.chars().count() <= n {
        s
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
