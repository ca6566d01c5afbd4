//! Fuzzes the catalogue's document readers: the bytes of a manifest or a
//! facility a node receives over the mesh are a peer's, and they are parsed
//! for matching, import and the API. Whatever the bytes, reading them as
//! YAML, JSON or TOML, as a manifest or a facility list, deriving what a
//! manifest needs and building a facility's capabilities must not panic,
//! and whatever reads must read the same way again.
#![no_main]

use catalogue::entry::entries;
use catalogue::id::ItemKind;
use catalogue::okh::parse_manifest;
use catalogue::okw::{build_profile, parse_facilities};
use catalogue::requirements::derive;
use catalogue::taxonomy::Taxonomy;
use libfuzzer_sys::fuzz_target;

/// File names whose extensions pick each syntax, and one with none (the
/// format is then detected from the text).
const NAMES: [&str; 4] = ["fuzz.yml", "fuzz.json", "fuzz.toml", "fuzz"];

fuzz_target!(|data: &[u8]| {
    let tax = Taxonomy::builtin();
    for name in NAMES {
        if let Ok(m) = parse_manifest(data, name) {
            let needs = derive(&m, tax);
            assert_eq!(derive(&m, tax), needs, "derive is a function of the manifest");
        }
        if let Ok(facilities) = parse_facilities(data, name) {
            for f in &facilities {
                let _ = f.capabilities(tax);
            }
        }
        for kind in [ItemKind::Manifest, ItemKind::Facility] {
            if let Ok(file) = entries(kind, data, name) {
                // Each entry's own bytes read back as one entry of the same id.
                for e in &file.entries {
                    let again = entries(kind, &e.bytes, name).expect("an entry reads back");
                    assert!(again.entries.iter().any(|a| a.id == e.id));
                }
            }
        }
    }
    // What a maker types is short; the reader's cost grows with its length,
    // so the first 256 bytes keep the fuzzer fast.
    if let Ok(text) = std::str::from_utf8(&data[..data.len().min(256)]) {
        let _ = build_profile(text, tax);
    }
});
