//! `okmesh match --db` through the persisted match index: the same answers
//! as `--corpus`, the index reused, and (ignored, run by hand) the end-to-end
//! time over a store of 10,000 manifests made by varying the corpus's.
//!
//! ```sh
//! cargo build --release
//! OKMESH_BIN=target/release/okmesh cargo test --test it match_db_10k -- --ignored --nocapture
//! ```

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;

use catalogue::okh::parse_manifest;
use hw_bridge::match_index::INDEX_FILE;

use crate::corpus::{CORPUS, files};
use crate::util::{okmesh, temp_dir};

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn results(o: &Output) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o).1));
    v["results"].clone()
}

#[test]
fn match_db_uses_the_index_and_agrees_with_the_corpus() {
    let dir = temp_dir("match-db-index");
    let db = dir.join("kb");
    let okh = format!("{CORPUS}/okh/losh-list/manually-created");
    let o = okmesh(&["import", &okh, "--db", db.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    let have = "3d printer, PLA, soldering iron, electronics, hand tools";
    let run = |source: &[&str]| {
        let mut args = vec!["match", "--have", have, "--json", "--top", "50"];
        args.extend_from_slice(source);
        okmesh(&args)
    };
    let corpus = results(&run(&["--corpus", &okh]));
    let first = results(&run(&["--db", db.to_str().unwrap()]));
    let index = db.join(INDEX_FILE);
    assert!(index.is_file(), "the first --db match writes the index");
    let written = std::fs::metadata(&index).unwrap().modified().unwrap();
    let second = results(&run(&["--db", db.to_str().unwrap()]));
    assert_eq!(
        std::fs::metadata(&index).unwrap().modified().unwrap(),
        written,
        "an index that matches the store is not rewritten"
    );
    // (score, title), best first; designs that tie keep load order, which
    // is path order for a folder and item id order for a store.
    let titles = |v: &serde_json::Value| -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    format!("{:.4}", 1.0 - r["score"].as_f64().unwrap()),
                    r["title"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        out.sort();
        out
    };
    assert!(!titles(&corpus).is_empty());
    assert_eq!(titles(&first), titles(&corpus));
    assert_eq!(titles(&second), titles(&corpus));
    // A damaged index is not trusted: the answer stays, the file is rebuilt.
    std::fs::write(&index, b"okmesh-match-index\ngarbage").unwrap();
    assert_eq!(
        titles(&results(&run(&["--db", db.to_str().unwrap()]))),
        titles(&corpus)
    );
    assert!(std::fs::read(&index).unwrap().len() > 100);
}

/// The title line of a manifest file with ` no. {i}` added, so that the
/// variant is a new design (a new item id).
fn vary(text: &str, i: usize) -> Option<String> {
    let mut done = false;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if done {
                return l.to_owned();
            }
            let t = l.trim_end();
            let is_title = t.starts_with("name = \"")
                || t.starts_with("name=\"")
                || t.starts_with("title:")
                || t.starts_with("  \"title\": \"");
            if !is_title {
                return l.to_owned();
            }
            done = true;
            if let Some(stripped) = t.strip_suffix("\",").or_else(|| t.strip_suffix('"')) {
                let tail = if t.ends_with(',') { "\"," } else { "\"" };
                format!("{stripped} no. {i}{tail}")
            } else {
                format!("{t} no. {i}")
            }
        })
        .collect();
    done.then(|| out.join("\n") + "\n")
}

/// `n` manifests varied from the corpus's, written under `dir`.
fn variants(dir: &Path, n: usize) -> usize {
    let base: Vec<(PathBuf, String)> = files("okh")
        .into_iter()
        .filter_map(|p| {
            let t = std::fs::read_to_string(&p).ok()?;
            vary(&t, 0).map(|_| (p, t))
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    let mut written = 0;
    let mut i = 0;
    while written < n && i < n * 3 {
        let (p, t) = &base[i % base.len()];
        i += 1;
        let Some(v) = vary(t, i) else { continue };
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("toml");
        let name = format!("okh-{i:05}.{ext}");
        let Ok(m) = parse_manifest(v.as_bytes(), &name) else {
            continue;
        };
        if !ids.insert(m.item_id) {
            continue;
        }
        std::fs::write(dir.join(name), v).unwrap();
        written += 1;
    }
    written
}

#[test]
#[ignore = "builds a 10,000-manifest store; run by hand with OKMESH_BIN set to a release build"]
#[allow(clippy::print_stdout)]
fn match_db_10k_end_to_end() {
    let bin = std::env::var("OKMESH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_okmesh").into());
    let dir = temp_dir("match-db-10k");
    let okh = dir.join("okh");
    std::fs::create_dir_all(&okh).unwrap();
    let n = variants(&okh, 10_000);
    assert_eq!(n, 10_000);
    let db = dir.join("kb");
    let run = |args: &[&str]| {
        let t = Instant::now();
        let o = std::process::Command::new(&bin)
            .args(args)
            .output()
            .unwrap();
        (o, t.elapsed())
    };
    let (o, took) = run(&[
        "import",
        okh.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", text(&o).1);
    println!("import of {n} manifests: {took:?}");
    let have = [
        "match",
        "--have",
        "3d printer, PLA, soldering iron, electronics",
        "--db",
        db.to_str().unwrap(),
    ];
    let (o, first) = run(&have);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    println!("match --db, first run (builds the index): {first:?}");
    let mut times = Vec::new();
    for _ in 0..5 {
        let (o, t) = run(&have);
        assert_eq!(o.status.code(), Some(0));
        times.push(t);
    }
    times.sort();
    println!(
        "match --db over {n} manifests, index reused: median {:?} (min {:?}, max {:?}); {}",
        times[2],
        times[0],
        times[4],
        text(&o).0.lines().next().unwrap_or_default()
    );
}
