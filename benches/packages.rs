//! Package benchmarks: verification throughput of single pieces with their
//! Merkle proofs (what a receiver does for every piece it hears), for the
//! LoRa (4 KiB) and fast-link (64 KiB) piece lengths, and of a whole
//! 20 MB package file (`okmesh package verify`). Figures are bytes of piece
//! data verified per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use node_core::identity::Keypair;
use node_core::packages::{LinkClass, Package, PieceMsg};

const MANIFEST: &[u8] = b"title: Bench lamp\ndescription: a lamp\nlicense: CC0-1.0\nproject-link: https://example.org/lamp\n";

fn package(total_bytes: usize, piece_len_bytes: u32) -> Package {
    let body: Vec<u8> = (0..total_bytes).map(|i| (i * 131 % 251) as u8).collect();
    let files = vec![
        ("okh.yaml".to_string(), MANIFEST.to_vec()),
        ("cad/lamp.step".to_string(), body),
    ];
    Package::build(
        files,
        "okh.yaml",
        piece_len_bytes,
        &Keypair::derive(0, "bench", 0),
    )
    .expect("the bench package builds")
}

fn pieces(c: &mut Criterion) {
    let mut g = c.benchmark_group("package_piece_verify");
    for (name, total, class) in [
        ("lora_4k_of_200k", 200_000, LinkClass::LoRa),
        ("fast_64k_of_20m", 20_000_000, LinkClass::Fast),
    ] {
        let p = package(total, class.piece_len_bytes());
        let mut wire = Vec::new();
        p.piece(7).expect("piece 7 exists").encode(&mut wire);
        g.throughput(Throughput::Bytes(u64::from(class.piece_len_bytes())));
        g.bench_function(name, |b| {
            b.iter(|| {
                let msg = PieceMsg::parse(black_box(&wire)).expect("parses");
                msg.verify(p.record(), p.id()).expect("verifies");
            })
        });
    }
    g.finish();
}

fn whole(c: &mut Criterion) {
    let file = package(20_000_000, LinkClass::Fast.piece_len_bytes()).to_file_bytes();
    let mut g = c.benchmark_group("package_file_verify");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(file.len() as u64));
    g.bench_function("20m", |b| {
        b.iter(|| Package::from_file_bytes(black_box(&file), u64::MAX).expect("verifies"))
    });
    g.finish();
}

criterion_group!(benches, pieces, whole);
criterion_main!(benches);
