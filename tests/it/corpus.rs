//! The whole shared corpus parses; recipes are tagged as cooking.

use std::path::{Path, PathBuf};

use catalogue::document::ParseError;
use catalogue::okh::parse_manifest;
use catalogue::okw::parse_facilities;
use catalogue::requirements::derive;
use catalogue::taxonomy::{Domain, Taxonomy};
use proptest::prelude::*;

/// The corpus shared by every worktree.
pub(crate) const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus");

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("toml" | "yml" | "yaml" | "json")
        ) {
            out.push(p);
        }
    }
}

pub(crate) fn files(sub: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(&Path::new(CORPUS).join(sub), &mut out);
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(CORPUS).unwrap_or(p).display().to_string()
}

#[test]
fn every_okh_manifest_parses() {
    let tax = Taxonomy::builtin();
    let files = files("okh");
    assert_eq!(files.len(), 269, "SOURCES.md lists 269 OKH files");
    let mut cooking = Vec::new();
    let mut recovered = 0;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let m = parse_manifest(&bytes, &rel(f)).unwrap_or_else(|e| panic!("{e}"));
        assert!(!m.title.is_empty());
        assert_eq!(m.raw, bytes, "the original bytes are kept");
        if m.warnings.iter().any(|w| w.message.contains("recovered")) {
            recovered += 1;
        }
        if derive(&m, tax).domain == Domain::Cooking {
            cooking.push(rel(f));
        }
    }
    assert_eq!(recovered, 1, "only okh-seat-helpful.yml is broken YAML");
    for recipe in [
        "okh-chococolate-chip-cookies-recipe.yml",
        "okh-quaker-oats-oatmeal-recipe.yml",
    ] {
        assert!(
            cooking.iter().any(|c| c.ends_with(recipe)),
            "{recipe} not tagged cooking: {cooking:?}"
        );
    }
    // bread.yml ("Recipe for making a local Ghanaian sugar bread") is a recipe too.
    assert!(
        cooking.iter().any(|c| c.ends_with("bread.yml")),
        "{cooking:?}"
    );
    assert_eq!(cooking.len(), 3, "{cooking:?}");
}

#[test]
fn supply_graph_fixtures_parse() {
    let mut manifests = 0;
    let mut facilities = 0;
    for f in files("fixtures") {
        let bytes = std::fs::read(&f).unwrap();
        let name = rel(&f);
        if name.contains("/okh/") || name.contains("/okh_") {
            parse_manifest(&bytes, &name).unwrap_or_else(|e| panic!("{e}"));
            manifests += 1;
        } else if name.contains("/okw/") || name.contains("okw_") || name.contains("mom_spaces") {
            facilities += parse_facilities(&bytes, &name)
                .unwrap_or_else(|e| panic!("{e}"))
                .len();
        }
    }
    assert_eq!(manifests, 8);
    assert_eq!(facilities, 8 + 1 + 3);
}

#[test]
fn every_okw_facility_parses_and_kitchens_cook() {
    let tax = Taxonomy::builtin();
    let mut kitchens = Vec::new();
    let mut count = 0;
    for f in files("okw/helpfulengineering-library") {
        let name = rel(&f);
        if name.contains("/atoms/") {
            continue; // custom atom definitions, not facilities
        }
        let bytes = std::fs::read(&f).unwrap();
        for fac in parse_facilities(&bytes, &name).unwrap_or_else(|e| panic!("{e}")) {
            count += 1;
            if fac.capabilities(tax).serves(Domain::Cooking) {
                kitchens.push(fac.name.clone());
            }
        }
    }
    assert_eq!(count, 8);
    kitchens.sort();
    assert_eq!(
        kitchens,
        [
            "Generic Grocery",
            "James Kitchen",
            "Rob's Dessert Kitchen",
            "Tim's Tasty Treats Kitchen"
        ]
    );
}

#[test]
fn bad_manifest_error_names_file_line_and_field() {
    let text = "okhv = \"OKH-LOSHv1.0\"\nname = \"Frame\"\nversion = \"1\"\nlicense = \"CC0-1.0\"\nkeywords = { a = 1 }\n";
    let e = parse_manifest(text.as_bytes(), "designs/frame.toml").unwrap_err();
    assert!(matches!(e, ParseError::Field { .. }), "{e}");
    assert_eq!(e.file(), "designs/frame.toml");
    assert_eq!(e.line(), Some(5));
    assert_eq!(e.field(), Some("keywords"));
    assert_eq!(
        e.to_string(),
        "designs/frame.toml:5: field `keywords`: expected a list or text, found a mapping"
    );
    let e = parse_manifest(b"title: Mask\nkeywords:\n  - [a, b]\n", "mask.yml").unwrap_err();
    assert_eq!((e.line(), e.field()), (Some(2), Some("keywords")), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                            ext in prop::sample::select(vec!["a.json", "a.toml", "a.yml", "a"])) {
        let _ = parse_manifest(&bytes, ext);
        let _ = parse_facilities(&bytes, ext);
    }

    #[test]
    fn mutated_corpus_files_never_panic(idx in 0usize..269, pos in any::<prop::sample::Index>(),
                                        byte in any::<u8>(), cut in any::<bool>()) {
        let files = files("okh");
        let mut bytes = std::fs::read(&files[idx]).unwrap();
        let i = pos.index(bytes.len().max(1)).min(bytes.len().saturating_sub(1));
        if cut { bytes.truncate(i) } else if !bytes.is_empty() { bytes[i] = byte }
        let name = rel(&files[idx]);
        if let Ok(m) = parse_manifest(&bytes, &name) {
            let _ = derive(&m, Taxonomy::builtin());
        }
    }
}
