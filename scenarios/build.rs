//! Builds the repository's OKH/OKW corpus (`corpus/okh`, `corpus/okw`) into
//! the crate, so that an installed `okmesh` runs the library scenarios
//! without the source tree (see `scenarios::workload::EMBEDDED_CORPUS`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            // Wikidata atom definitions are not items (as workload.rs skips them).
            if p.file_name().is_some_and(|f| f != "atoms") {
                walk(&p, out);
            }
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml" | "toml" | "json")
        ) {
            out.push(p);
        }
    }
}

#[allow(clippy::print_stdout)]
fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("..").join("corpus");
    let mut code = String::from("&[\n");
    for kind in ["okh", "okw"] {
        let dir = root.join(kind);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files = Vec::new();
        walk(&dir, &mut files);
        files.sort();
        for f in files {
            let rel = f.strip_prefix(&root).expect("under the corpus");
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let abs = f.canonicalize().unwrap_or(f);
            let _ = writeln!(
                code,
                "    ({:?}, include_bytes!({:?})),",
                format!("corpus/{rel}"),
                abs.display().to_string()
            );
        }
    }
    code.push_str("]\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("corpus.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
