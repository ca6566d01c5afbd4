//! The cost of trust: Ed25519 verification of signed item versions.
//!
//! * `verify a signed version`: one [`Authorship::verify`] (owned-id check,
//!   canonical form, strict Ed25519) — its inverse is the items verified
//!   per second on this machine;
//! * `sign a version`: what a publish adds;
//! * what verification adds to 1,000-node runs: the 1,000-node case of
//!   `benches/sim.rs` (`disaster-zone` at 1,000 nodes for one hour with
//!   chat every 15 min) and the same mesh for three hours with the
//!   library's light chat. The bench counts the transfers each run
//!   verifies (every version stored or refused after reassembly) and
//!   prints their count times the measured cost of one, beside the run's
//!   own wall time.

use std::time::Instant as WallInstant;

use catalogue::{ContentId, ItemId, ItemKind};
use criterion::{Criterion, criterion_group, criterion_main};
use node_core::Instant;
use node_core::identity::{Authorship, Keypair, VersionClaim};
use sim::trace::{NodeRecord, Record, TraceSink};

/// Counts verified transfers in a trace.
#[derive(Default)]
struct Verified(u64);

impl TraceSink for Verified {
    fn observe(&mut self, batch: &[Record]) {
        self.0 += batch
            .iter()
            .filter(|r| {
                matches!(
                    r,
                    Record::Node {
                        event: NodeRecord::Stored { .. } | NodeRecord::ItemRejected,
                        ..
                    }
                )
            })
            .count() as u64;
    }
}

fn signed() -> (VersionClaim, Authorship) {
    let key = Keypair::derive(1, "bench", 0);
    let content = ContentId([7; 32]);
    let (id, a) = Authorship::sign(
        &key,
        ItemKind::Manifest,
        ItemId([3; 16]),
        5,
        content,
        Instant::from_micros(1),
        false,
    );
    let claim = VersionClaim {
        kind: ItemKind::Manifest,
        id,
        seq: 5,
        content,
    };
    (claim, a)
}

#[allow(clippy::print_stderr)]
fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("trust");
    let (claim, a) = signed();
    g.bench_function("verify a signed version", |b| {
        b.iter(|| std::hint::black_box(a.verify(std::hint::black_box(&claim))))
    });
    let key = Keypair::derive(1, "bench", 0);
    g.bench_function("sign a version", |b| {
        b.iter(|| {
            Authorship::sign(
                &key,
                ItemKind::Manifest,
                ItemId([3; 16]),
                std::hint::black_box(5),
                ContentId([7; 32]),
                Instant::ZERO,
                false,
            )
        })
    });
    g.finish();

    // The share of 1,000-node runs: each run once, its verifications
    // counted, times the cost of one measured here again outside criterion.
    let n = 20_000u32;
    let started = WallInstant::now();
    for _ in 0..n {
        std::hint::black_box(a.verify(std::hint::black_box(&claim))).expect("verifies");
    }
    let per_verify_s = started.elapsed().as_secs_f64() / f64::from(n);
    eprintln!("trust: {:.0} verifications/s", 1.0 / per_verify_s);
    let runs: [(&str, &[&str]); 2] = [
        // The 1,000-node case of benches/sim.rs.
        (
            "disaster-zone 1000 nodes 1 h, chat every 15 min",
            &[
                "topology.nodes=1000",
                "duration=1h",
                "workload.traffic.period=15m",
            ],
        ),
        // The same mesh with the library's light chat, long enough for
        // the catalogue to spread.
        (
            "disaster-zone 1000 nodes 3 h",
            &["topology.nodes=1000", "duration=3h"],
        ),
    ];
    for (label, sets) in runs {
        let overrides: Vec<scenarios::Override> =
            sets.iter().map(|s| s.parse().expect("valid")).collect();
        let s = scenarios::resolve("disaster-zone", &overrides).expect("loads");
        let mut count = Verified::default();
        let started = WallInstant::now();
        okmesh::Prepared::new(&s)
            .expect("builds")
            .run(Some(&mut count), &mut |_| {})
            .expect("runs");
        let run_s = started.elapsed().as_secs_f64();
        eprintln!(
            "trust: {label}: {} transfers verified, {:.1} ms of the run's {:.2} s ({:.2} %)",
            count.0,
            count.0 as f64 * per_verify_s * 1e3,
            run_s,
            count.0 as f64 * per_verify_s * 100.0 / run_s
        );
    }
}

criterion_group!(trust_benches, benches);
criterion_main!(trust_benches);
