//! Matching benchmarks on workloads made by varying the real corpus:
//!
//! * `match/profile_x_10k_manifests` — one maker profile ranked against
//!   10,000 manifests (target ≤ 10 ms);
//! * `match/reverse_1k_facilities_x_1k_manifests` — every one of 1,000
//!   facilities ranked against 1,000 manifests (target ≤ 1 s);
//! * `match/index_10k_manifests` — deriving requirements and building the
//!   index for 10,000 parsed manifests (load-time cost, for reference).
//!
//! Variants: manifest *i* is corpus manifest `i mod n` with a new title and,
//! depending on *i*, one extra TsDC process and one extra material drawn from
//! fixed lists; facility *j* is corpus facility `j mod m` plus a few tools
//! drawn by *j* from the taxonomy's tool list. Everything is deterministic.

#![allow(clippy::print_stderr, reason = "the bench prints its workload size")]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use catalogue::matching::{MatchIndex, RankOptions};
use catalogue::okh::{Manifest, parse_manifest};
use catalogue::okw::{build_profile, parse_facilities};
use catalogue::requirements::{Capabilities, RequirementSet, Term, derive};
use catalogue::taxonomy::{ConceptKind, Taxonomy};
use criterion::{Criterion, criterion_group, criterion_main};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus");
const PROCESSES: &[&str] = &["3DP", "LAS", "CNC", "PCB", "ASM", "MEC", "WEL", "CIR"];
const MATERIALS: &[&str] = &[
    "PLA",
    "PETG",
    "plywood",
    "steel",
    "acrylic",
    "aluminium",
    "TPU",
];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn corpus_manifests() -> Vec<Manifest> {
    let mut paths = Vec::new();
    files(&Path::new(CORPUS).join("okh"), &mut paths);
    let mut wf = Vec::new();
    files(
        &Path::new(CORPUS).join("fixtures/supply-graph-ai/workflow-data"),
        &mut wf,
    );
    paths.extend(
        wf.into_iter()
            .filter(|p| p.to_string_lossy().contains("/okh/")),
    );
    paths
        .iter()
        .map(|p| parse_manifest(&std::fs::read(p).unwrap(), &p.display().to_string()).unwrap())
        .collect()
}

fn variant(base: &Manifest, i: usize) -> Manifest {
    let mut m = base.clone();
    m.title = format!("{} #{i}", base.title);
    if !i.is_multiple_of(3) {
        m.tsdc.push(PROCESSES[(i / 3) % PROCESSES.len()].to_owned());
    }
    if i.is_multiple_of(2) {
        m.materials
            .push(MATERIALS[(i / 2) % MATERIALS.len()].to_owned());
    }
    m
}

fn manifests(n: usize, tax: &Taxonomy) -> Vec<RequirementSet> {
    let base = corpus_manifests();
    (0..n)
        .map(|i| derive(&variant(&base[i % base.len()], i), tax))
        .collect()
}

fn facilities(n: usize, tax: &Taxonomy) -> Vec<Capabilities> {
    let mut paths = Vec::new();
    files(
        &Path::new(CORPUS).join("okw/helpfulengineering-library/alpha"),
        &mut paths,
    );
    files(
        &Path::new(CORPUS).join("okw/helpfulengineering-library/beta"),
        &mut paths,
    );
    files(
        &Path::new(CORPUS).join("fixtures/supply-graph-ai"),
        &mut paths,
    );
    let mut base = Vec::new();
    for p in paths {
        let s = p.to_string_lossy();
        if s.contains("okw") || s.contains("mom_spaces") {
            base.extend(parse_facilities(&std::fs::read(&p).unwrap(), &s).unwrap());
        }
    }
    let tools: Vec<usize> = (0..tax.len())
        .filter(|&c| tax.concepts()[c].kind == ConceptKind::Tool)
        .collect();
    (0..n)
        .map(|j| {
            let mut caps = base[j % base.len()].capabilities(tax);
            for k in 0..(j % 4) {
                let c = tools[(j * 7 + k * 13) % tools.len()];
                caps.add(Term::from_text(tax, &tax.concepts()[c].key));
            }
            caps.finish();
            caps
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let tax = Taxonomy::builtin();
    let mut g = c.benchmark_group("match");
    g.sample_size(20);

    let sets = manifests(10_000, tax);
    let mut idx = MatchIndex::new(tax);
    for s in &sets {
        idx.add(s).unwrap();
    }
    let maker = build_profile(
        "3d printer, PLA, soldering iron, laser cutter, basic electronics",
        tax,
    );
    let opts = RankOptions {
        top: 20,
        ..RankOptions::default()
    };
    let hits = idx.rank(&idx.profile(&maker.capabilities), &opts);
    eprintln!(
        "profile x 10k: {} designs in the index, top score {:?}",
        idx.len(),
        hits.first().map(|r| r.score.score)
    );
    g.bench_function("profile_x_10k_manifests", |b| {
        b.iter(|| {
            let p = idx.profile(black_box(&maker.capabilities));
            black_box(idx.rank(&p, &opts))
        })
    });

    let sets_1k = manifests(1_000, tax);
    let mut idx_1k = MatchIndex::new(tax);
    for s in &sets_1k {
        idx_1k.add(s).unwrap();
    }
    let facs = facilities(1_000, tax);
    let full = RankOptions {
        complete_only: true,
        ..RankOptions::default()
    };
    let total: usize = facs
        .iter()
        .map(|f| idx_1k.rank(&idx_1k.profile(f), &full).len())
        .sum();
    eprintln!(
        "reverse 1k x 1k: {} facilities, {} (facility, design) full matches",
        facs.len(),
        total
    );
    g.bench_function("reverse_1k_facilities_x_1k_manifests", |b| {
        b.iter(|| {
            let mut n = 0;
            for f in &facs {
                let p = idx_1k.profile(black_box(f));
                n += idx_1k.rank(&p, &full).len();
            }
            black_box(n)
        })
    });

    let base = corpus_manifests();
    let variants: Vec<Manifest> = (0..10_000)
        .map(|i| variant(&base[i % base.len()], i))
        .collect();
    g.bench_function("index_10k_manifests", |b| {
        b.iter(|| {
            let mut idx = MatchIndex::new(tax);
            for m in &variants {
                idx.add(&derive(m, tax)).unwrap();
            }
            black_box(idx.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
