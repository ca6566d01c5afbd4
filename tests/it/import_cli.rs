//! `okmesh import` and `--db`: the corpus into an on-disk store, idempotent
//! re-import, new versions with history, bad files, and matching from the
//! store agreeing with matching from the folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

use catalogue::id::{ContentId, ItemId, ItemKind};
use catalogue::okh::parse_manifest;
use catalogue::okw::parse_facilities;
use hw_bridge::store::open_store;
use node_core::store::StoreConfig;
use serde_json::Value;

use crate::corpus::{CORPUS, files};
use crate::util::{okmesh, temp_dir};

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What the parsers say the corpus holds: per item id, the kind and the
/// content ids of its files, with the bytes of each.
#[derive(Default)]
struct Expected {
    items: BTreeMap<ItemId, (ItemKind, BTreeMap<ContentId, Vec<u8>>)>,
    files: usize,
    atoms: usize,
}

fn expected_corpus() -> Expected {
    let mut e = Expected::default();
    for f in files("okh") {
        let bytes = std::fs::read(&f).unwrap();
        let m = parse_manifest(&bytes, s(&f)).unwrap();
        e.items
            .entry(m.item_id)
            .or_insert_with(|| (ItemKind::Manifest, BTreeMap::new()))
            .1
            .insert(m.content_id, bytes);
        e.files += 1;
    }
    for f in files("okw") {
        e.files += 1;
        if f.components().any(|c| c.as_os_str() == "atoms") {
            e.atoms += 1;
            continue;
        }
        let bytes = std::fs::read(&f).unwrap();
        for fac in parse_facilities(&bytes, s(&f)).unwrap() {
            e.items
                .entry(fac.item_id)
                .or_insert_with(|| (ItemKind::Facility, BTreeMap::new()))
                .1
                .insert(fac.content_id, bytes.clone());
        }
    }
    e
}

fn import(args: &[&str]) -> (Output, Value) {
    let mut all = vec!["import", "--json"];
    all.extend_from_slice(args);
    let o = okmesh(&all);
    let v = json(&o);
    (o, v)
}

#[test]
fn whole_corpus_imports_and_reimport_changes_nothing() {
    let db = temp_dir("import-corpus").join("db");
    let okh = format!("{CORPUS}/okh");
    let okw = format!("{CORPUS}/okw");
    let exp = expected_corpus();
    let versions: usize = exp.items.values().map(|(_, c)| c.len()).sum();
    assert!(
        versions > exp.items.len(),
        "the corpus has designs with two files"
    );

    let (o, r) = import(&[&okh, &okw, "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    let t = &r["totals"];
    assert_eq!(t["files"], exp.files);
    assert_eq!(
        t["ignored_files"], exp.atoms,
        "atom definitions are ignored"
    );
    assert_eq!(t["skipped_files"], 0);
    assert_eq!(t["new"], exp.items.len());
    assert_eq!(t["new_versions"], versions - exp.items.len());
    assert_eq!(t["unchanged"], 0);
    assert_eq!(t["batches"], 1, "one fsync for the whole import");

    let manifests = exp
        .items
        .values()
        .filter(|(k, _)| *k == ItemKind::Manifest)
        .count();
    assert_eq!(r["store"]["manifests"], manifests);
    assert_eq!(r["store"]["facilities"], exp.items.len() - manifests);

    let (clock, stamps) = {
        let (store, _) = open_store(&db, StoreConfig::default()).unwrap();
        assert_eq!(store.len(), exp.items.len());
        for (id, (kind, contents)) in &exp.items {
            let history = store.history(owned(&db, *id));
            assert_eq!(history.len(), contents.len(), "{id}: one version per file");
            for v in history {
                assert_eq!(v.kind, *kind);
                assert_eq!(
                    &v.bytes, &contents[&v.stamp.content],
                    "{id}: the original bytes are stored"
                );
            }
        }
        (store.clock(), store.stamps().collect::<Vec<_>>())
    };

    // Again: nothing new, nothing written.
    let (o, r) = import(&[&okh, &okw, "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    assert_eq!(r["totals"]["new"], 0);
    assert_eq!(r["totals"]["new_versions"], 0);
    assert_eq!(r["totals"]["unchanged"], versions);
    assert_eq!(r["totals"]["batches"], 0);
    let (store, _) = open_store(&db, StoreConfig::default()).unwrap();
    assert_eq!(store.clock(), clock, "no event was logged");
    assert_eq!(store.stamps().collect::<Vec<_>>(), stamps);
    drop(store);

    // The text report: one line per file and a total (each warning is a
    // line of its own too, unless --quiet).
    let o = okmesh(&["import", &okh, &okw, "--db", s(&db), "--quiet"]);
    let (out, _) = text(&o);
    assert_eq!(out.lines().count(), exp.files + 2, "{out}");
    assert!(out.contains("ignored      "), "{out}");
    assert!(
        out.contains(&format!(
            "{} files: {} imported, 0 skipped (bad input), {} ignored",
            exp.files,
            exp.files - exp.atoms,
            exp.atoms
        )),
        "{out}"
    );

    // plan reads the design and the facilities from the store.
    let o = okmesh(&["plan", "Chair", "--db", s(&db), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    let p = json(&o);
    assert_eq!(p["design"], "Chair");
    assert_eq!(p["complete"], true, "{p}");
    assert!(!p["steps"].as_array().unwrap().is_empty());
}

#[test]
fn makerspace_list_gives_one_item_per_entry_with_its_own_bytes() {
    let db = temp_dir("import-list").join("db");
    let list = format!("{CORPUS}/fixtures/supply-graph-ai/harness/mom_spaces_3dp.json");
    let original = std::fs::read(&list).unwrap();
    let facilities = parse_facilities(&original, &list).unwrap();
    assert!(facilities.len() > 1);
    let (o, r) = import(&[&list, "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    let items = r["files"][0]["items"].as_array().unwrap();
    assert_eq!(items.len(), facilities.len());
    let (store, _) = open_store(&db, StoreConfig::default()).unwrap();
    assert_eq!(store.items_of(ItemKind::Facility).count(), facilities.len());
    let text = String::from_utf8(original.clone()).unwrap();
    for f in &facilities {
        let stored = store
            .get(owned(&db, f.item_id))
            .expect("each entry is an item");
        assert_eq!(stored.name, f.name);
        assert_eq!(stored.stamp.content, f.content_id);
        // The entry's own text from the file, which parses alone to the same facility.
        let entry = std::str::from_utf8(&stored.bytes).unwrap();
        assert!(entry.starts_with('{') && text.contains(entry), "{entry}");
        let alone = parse_facilities(&stored.bytes, "entry.json").unwrap();
        assert_eq!(alone.len(), 1);
        assert_eq!(
            (alone[0].item_id, alone[0].content_id),
            (f.item_id, f.content_id)
        );
    }
}

const FRAME: &str = "okhv = \"OKH-LOSHv1.0\"\nname = \"Frame\"\nrepo = \"https://example.org/frame\"\nversion = \"1.0\"\nlicense = \"CC0-1.0\"\nlicensor = \"Ann\"\nfunction = \"A frame, 3D printed in PLA\"\n";

#[test]
fn modified_manifest_becomes_a_new_version_with_history() {
    let dir = temp_dir("import-version");
    let db = dir.join("db");
    let file = dir.join("frame.toml");
    std::fs::write(&file, FRAME).unwrap();
    let (o, r) = import(&[s(&file), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(r["files"][0]["items"][0]["outcome"], "new");
    assert_eq!(r["files"][0]["items"][0]["seq"], 1);

    let v2 = FRAME.replace("version = \"1.0\"", "version = \"1.1\"");
    std::fs::write(&file, &v2).unwrap();
    let o = okmesh(&["import", s(&file), "--db", s(&db)]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("new version") && out.contains("\"Frame\" seq 2"),
        "{out}"
    );

    let id = owned(
        &db,
        parse_manifest(FRAME.as_bytes(), "f.toml").unwrap().item_id,
    );
    {
        let (store, _) = open_store(&db, StoreConfig::default()).unwrap();
        let history = store.history(id);
        assert_eq!(history.len(), 2, "the first version is kept");
        assert_eq!(history[0].bytes, FRAME.as_bytes());
        assert_eq!(history[0].stamp.seq, 1);
        assert_eq!(history[1].bytes, v2.as_bytes());
        assert_eq!(store.get(id).unwrap().stamp.seq, 2);
    }

    // Importing the old file again does not put it back over the new one.
    std::fs::write(&file, FRAME).unwrap();
    let (o, r) = import(&[s(&file), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(r["files"][0]["items"][0]["outcome"], "unchanged");
    assert_eq!(r["files"][0]["items"][0]["seq"], 1);

    // Matching from the store sees the current version.
    let o = okmesh(&[
        "match",
        "--have",
        "3d printer, PLA",
        "--db",
        s(&db),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    let m = json(&o);
    let current = parse_manifest(v2.as_bytes(), "f.toml").unwrap().content_id;
    assert_eq!(m["results"][0]["content_id"], current.to_string(), "{m}");
}

/// The id the store keeps a design under: owned by the publisher key of
/// the store's folder, which signed the import.
fn owned(db: &std::path::Path, catalogue_id: catalogue::ItemId) -> catalogue::ItemId {
    let keys = hw_bridge::keys::Keys::load(db).expect("import made the keys");
    node_core::identity::owned_id(&keys.publisher.public(), catalogue_id)
}

/// Match results by (item id, content id): (score, missing).
type ByItem = BTreeMap<(String, String), (f64, Value)>;

/// Results of a match by item, plus the scores in rank order.
fn results(v: &Value) -> (ByItem, Vec<f64>) {
    let mut by_item = BTreeMap::new();
    let mut scores = Vec::new();
    for r in v["results"].as_array().unwrap() {
        let score = r["score"].as_f64().unwrap();
        scores.push(score);
        by_item.insert(
            (
                r["item_id"].as_str().unwrap().to_owned(),
                r["content_id"].as_str().unwrap().to_owned(),
            ),
            (score, r["missing"].clone()),
        );
    }
    (by_item, scores)
}

#[test]
fn match_and_produce_from_the_store_agree_with_the_folder() {
    let db = temp_dir("import-match").join("db");
    let okh = format!("{CORPUS}/okh");
    let (o, _) = import(&[&okh, "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0));
    // The store holds the current version of each design; the folder also
    // holds the older file of designs with two.
    // Results from the store name designs by the ids their (import) key
    // owns; the folder's by the documents' own ids.
    let (current, catalogue_of): (BTreeSet<(String, String)>, BTreeMap<String, String>) = {
        let (store, _) = open_store(&db, StoreConfig::default()).unwrap();
        (
            store
                .items()
                .map(|i| (i.catalogue_id().to_string(), i.stamp.content.to_string()))
                .collect(),
            store
                .items()
                .map(|i| (i.id.to_string(), i.catalogue_id().to_string()))
                .collect(),
        )
    };
    let shop = format!("{CORPUS}/okw/helpfulengineering-library/alpha/okw/RobsArduinoShop.yml");
    let runs: [&[&str]; 3] = [
        &[
            "match",
            "--have",
            "3d printer, PLA, soldering iron, laser cutter, basic electronics",
            "--threshold",
            "0",
        ],
        &["match", "--facility", &shop, "--threshold", "0"],
        &["produce", "--facility", &shop],
    ];
    for args in runs {
        let run = |source: &[&str]| {
            let mut all = args.to_vec();
            all.extend_from_slice(source);
            all.extend_from_slice(&["--top", "100000", "--json"]);
            let o = okmesh(&all);
            assert_eq!(o.status.code(), Some(0), "{all:?}: {}", text(&o).1);
            json(&o)
        };
        let (from_db, db_scores) = results(&run(&["--db", s(&db)]));
        let from_db: ByItem = from_db
            .into_iter()
            .map(|((id, content), v)| ((catalogue_of[&id].clone(), content), v))
            .collect();
        let (from_dir, _) = results(&run(&["--corpus", &okh]));
        assert!(from_db.len() > 3, "{args:?}: {from_db:?}");
        let from_dir: BTreeMap<_, _> = from_dir
            .into_iter()
            .filter(|(k, _)| current.contains(k))
            .collect();
        assert_eq!(from_db, from_dir, "{args:?}");
        // Same ranking (ties may be ordered differently: equal scores).
        let mut dir_scores: Vec<f64> = from_dir.values().map(|(s, _)| *s).collect();
        dir_scores.sort_by(|a, b| b.total_cmp(a));
        assert_eq!(db_scores, dir_scores, "{args:?}");
    }
}

#[test]
fn bad_files_are_reported_with_file_line_field_and_the_rest_imported() {
    let dir = temp_dir("import-bad");
    let src = dir.join("designs");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("frame.toml"), FRAME).unwrap();
    std::fs::write(
        src.join("sub/bad.toml"),
        "okhv = \"OKH-LOSHv1.0\"\nname = \"Bad\"\nversion = \"1\"\nlicense = \"CC0-1.0\"\nkeywords = { a = 1 }\n",
    )
    .unwrap();
    std::fs::write(
        src.join("sub/broken.json"),
        "{\"title\": \"x\",\n  \"keywords\": [\n",
    )
    .unwrap();
    let db = dir.join("db");

    let (o, r) = import(&[s(&src), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(r["totals"]["skipped_files"], 2);
    assert_eq!(r["totals"]["new"], 1, "the good file is imported");
    let files = r["files"].as_array().unwrap();
    let bad = files
        .iter()
        .find(|f| f["file"].as_str().unwrap().ends_with("bad.toml"))
        .unwrap();
    assert_eq!(bad["status"], "skipped");
    assert_eq!(bad["error"]["line"], 5);
    assert_eq!(bad["error"]["field"], "keywords");
    let broken = files
        .iter()
        .find(|f| f["file"].as_str().unwrap().ends_with("broken.json"))
        .unwrap();
    assert!(broken["error"]["line"].as_u64().is_some(), "{broken}");

    let o = okmesh(&["import", s(&src), "--db", s(&db)]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        out.contains(&format!(
            "skipped      {}:5: field `keywords`",
            s(&src.join("sub/bad.toml"))
        )),
        "{out}"
    );
    assert!(
        out.contains("unchanged") && out.contains("\"Frame\" seq 1"),
        "{out}"
    );
    let (store, _) = open_store(&db, StoreConfig::default()).unwrap();
    assert_eq!(store.len(), 1);

    // A missing path is bad input too, the other paths still imported.
    drop(store);
    let (o, r) = import(&["/nonexistent/okmesh-x", s(&src), "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(r["totals"]["skipped_files"], 3);
    assert_eq!(r["totals"]["unchanged"], 1);
}

#[test]
fn missing_locked_or_foreign_store_is_a_clear_error() {
    let dir = temp_dir("import-db-errors");
    let missing = dir.join("nope");
    let have = ["match", "--have", "3d printer"];
    let okh = format!("{CORPUS}/okh");
    let shop = format!("{CORPUS}/okw/helpfulengineering-library/alpha/okw/RobsArduinoShop.yml");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            [&have[..], &["--db", s(&missing)]].concat(),
            format!("--db {}: no such store folder", s(&missing)),
        ),
        (
            vec!["produce", "--facility", &shop, "--db", s(&missing)],
            "no such store folder".into(),
        ),
        (
            [&have[..], &["--db", CORPUS]].concat(),
            "not an okmesh store".into(),
        ),
        (
            [&have[..], &["--db", s(&missing), "--corpus", CORPUS]].concat(),
            "cannot be used with".into(),
        ),
        (have.to_vec(), "<--corpus <DIR>|--db <DIR>>".into()),
        (
            vec!["import", CORPUS, "--db", &okh],
            "not an okmesh store".into(),
        ),
    ];
    for (args, needle) in &cases {
        let o = okmesh(args);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle.as_str()), "{args:?}: {err}");
    }
    assert!(!missing.exists(), "reading never creates a store");

    // A store held open by another process.
    let db = dir.join("db");
    let frame = dir.join("frame.toml");
    std::fs::write(&frame, FRAME).unwrap();
    assert_eq!(
        okmesh(&["import", s(&frame), "--db", s(&db)]).status.code(),
        Some(0)
    );
    let held = open_store(&db, StoreConfig::default()).unwrap();
    for args in [
        [&have[..], &["--db", s(&db)]].concat(),
        vec!["import", s(&frame), "--db", s(&db)],
    ] {
        let o = okmesh(&args);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("in use by another process"), "{err}");
    }
    drop(held);
    let o = okmesh(&[&have[..], &["--db", s(&db)]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
}
